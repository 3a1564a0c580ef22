//! Helpers that let one piece of code serve both backends: converting
//! timestamps for binding ([`Dialect`]) and reading typed columns
//! ([`RowExt`]) with errors that name the column.
//!
//! Timestamps are `DateTime<Utc>` in the API, INTEGER milliseconds since
//! the epoch in SQLite and TIMESTAMPTZ in PostgreSQL. Both are truncated to
//! whole milliseconds so that a value reads back identically everywhere.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::postgres::{PgPool, PgRow};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::Row;

use crate::error::{Result, StorageError};

/// Per-backend conversion of values whose column type differs.
pub(crate) trait Dialect {
    /// The type a timestamp is bound as.
    type Ts;

    /// Converts a timestamp for binding.
    fn ts(&self, t: DateTime<Utc>) -> Self::Ts;

    /// Converts an optional timestamp for binding.
    fn opt_ts(&self, t: Option<DateTime<Utc>>) -> Option<Self::Ts> {
        t.map(|t| self.ts(t))
    }
}

impl Dialect for SqlitePool {
    type Ts = i64;

    fn ts(&self, t: DateTime<Utc>) -> i64 {
        t.timestamp_millis()
    }
}

impl Dialect for PgPool {
    type Ts = DateTime<Utc>;

    fn ts(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        truncate_ms(t)
    }
}

/// Drops the sub-millisecond part of a timestamp.
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

fn decode_err(column: &'static str, e: impl std::fmt::Display) -> StorageError {
    StorageError::Decode {
        column,
        reason: e.to_string(),
    }
}

/// Typed column access shared by both row types.
pub(crate) trait RowExt {
    fn text(&self, col: &'static str) -> Result<String>;
    fn opt_text(&self, col: &'static str) -> Result<Option<String>>;
    fn int(&self, col: &'static str) -> Result<i64>;
    fn opt_int(&self, col: &'static str) -> Result<Option<i64>>;
    fn real(&self, col: &'static str) -> Result<Option<f64>>;
    fn flag(&self, col: &'static str) -> Result<bool>;
    fn ts(&self, col: &'static str) -> Result<DateTime<Utc>>;
    fn opt_ts(&self, col: &'static str) -> Result<Option<DateTime<Utc>>>;

    fn u32(&self, col: &'static str) -> Result<u32> {
        u32::try_from(self.int(col)?).map_err(|e| decode_err(col, e))
    }

    fn opt_u32(&self, col: &'static str) -> Result<Option<u32>> {
        self.opt_int(col)?
            .map(|v| u32::try_from(v).map_err(|e| decode_err(col, e)))
            .transpose()
    }

    fn u64(&self, col: &'static str) -> Result<u64> {
        u64::try_from(self.int(col)?).map_err(|e| decode_err(col, e))
    }
}

macro_rules! common_row_ext {
    () => {
        fn text(&self, col: &'static str) -> Result<String> {
            self.try_get(col).map_err(|e| decode_err(col, e))
        }

        fn opt_text(&self, col: &'static str) -> Result<Option<String>> {
            self.try_get(col).map_err(|e| decode_err(col, e))
        }

        fn int(&self, col: &'static str) -> Result<i64> {
            self.try_get(col).map_err(|e| decode_err(col, e))
        }

        fn opt_int(&self, col: &'static str) -> Result<Option<i64>> {
            self.try_get(col).map_err(|e| decode_err(col, e))
        }

        fn real(&self, col: &'static str) -> Result<Option<f64>> {
            self.try_get(col).map_err(|e| decode_err(col, e))
        }

        fn flag(&self, col: &'static str) -> Result<bool> {
            self.try_get(col).map_err(|e| decode_err(col, e))
        }
    };
}

impl RowExt for SqliteRow {
    common_row_ext!();

    fn ts(&self, col: &'static str) -> Result<DateTime<Utc>> {
        let ms = self.int(col)?;
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| decode_err(col, format!("timestamp {ms} out of range")))
    }

    fn opt_ts(&self, col: &'static str) -> Result<Option<DateTime<Utc>>> {
        match self.opt_int(col)? {
            None => Ok(None),
            Some(ms) => DateTime::from_timestamp_millis(ms)
                .map(Some)
                .ok_or_else(|| decode_err(col, format!("timestamp {ms} out of range"))),
        }
    }
}

impl RowExt for PgRow {
    common_row_ext!();

    fn ts(&self, col: &'static str) -> Result<DateTime<Utc>> {
        self.try_get(col).map_err(|e| decode_err(col, e))
    }

    fn opt_ts(&self, col: &'static str) -> Result<Option<DateTime<Utc>>> {
        self.try_get(col).map_err(|e| decode_err(col, e))
    }
}

/// Default number of rows in a page.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest number of rows a page may hold.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// One page of a listing plus the number of rows matching the filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// How many rows match the filter in total (all pages).
    pub total: u64,
}

/// Page bounds as bound parameters: `limit` (default
/// [`DEFAULT_PAGE_SIZE`], at most [`MAX_PAGE_SIZE`]) and `offset`.
pub(crate) fn page_bounds(limit: Option<u32>, offset: u32) -> (i64, i64) {
    let limit = limit.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE);
    (i64::from(limit), i64::from(offset))
}

/// A case-insensitive `LIKE` pattern matching `needle` anywhere, with the
/// pattern characters escaped (use with `ESCAPE '\'`).
pub(crate) fn contains_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Converts an unsigned value to the signed integer the databases store.
pub(crate) fn to_i64(field: &'static str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StorageError::InvalidInput {
        field,
        reason: format!("{v} is too large"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_bounds_are_clamped() {
        assert_eq!(page_bounds(None, 0), (100, 0));
        assert_eq!(page_bounds(Some(5), 10), (5, 10));
        assert_eq!(page_bounds(Some(1_000_000), 0), (1000, 0));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(contains_pattern("Ali"), "%ali%");
        assert_eq!(contains_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }

    #[test]
    fn truncation_keeps_milliseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(truncate_ms(t).timestamp_subsec_nanos(), 123_000_000);
        assert_eq!(truncate_ms(t).timestamp(), 1_700_000_000);
    }

    #[test]
    fn large_unsigned_values_are_rejected() {
        assert_eq!(to_i64("x", 5).unwrap(), 5);
        assert!(matches!(
            to_i64("x", u64::MAX),
            Err(StorageError::InvalidInput { field: "x", .. })
        ));
    }
}
