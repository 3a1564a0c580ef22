//! Call forwarding rules, one row per extension (absent: no forwarding).

use chrono::{DateTime, Utc};

use crate::error::{query_err, Result, StorageError, Subject};
use crate::row::{Dialect, RowExt};
use crate::store::{with_pool, Store};

/// Default seconds of ringing before no-answer forwarding.
pub const DEFAULT_NO_ANSWER_SECS: u32 = 20;

/// The forwarding rules of one extension. Targets are extension numbers; `None` is off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    /// Every call goes to this number instead.
    pub always: Option<String>,
    /// Calls answered busy go to this number.
    pub busy: Option<String>,
    /// Calls not answered within `no_answer_secs` go to this number.
    pub no_answer: Option<String>,
    /// Seconds of ringing before no-answer forwarding (5 to 300).
    pub no_answer_secs: u32,
    /// Last change (`None`: never set, the defaults).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for Forwarding {
    fn default() -> Self {
        Forwarding {
            always: None,
            busy: None,
            no_answer: None,
            no_answer_secs: DEFAULT_NO_ANSWER_SECS,
            updated_at: None,
        }
    }
}

const COLUMNS: &str = "forward_always, forward_busy, forward_no_answer, no_answer_secs, updated_at";

fn from_row(r: &impl RowExt) -> Result<Forwarding> {
    Ok(Forwarding {
        always: r.opt_text("forward_always")?,
        busy: r.opt_text("forward_busy")?,
        no_answer: r.opt_text("forward_no_answer")?,
        no_answer_secs: r.u32("no_answer_secs")?,
        updated_at: Some(r.ts("updated_at")?),
    })
}

fn check(number: &str, f: &Forwarding) -> Result<()> {
    if !(5..=300).contains(&f.no_answer_secs) {
        return Err(StorageError::InvalidInput {
            field: "no_answer_secs",
            reason: "must be 5 to 300".to_owned(),
        });
    }
    for (field, target) in [
        ("forward_always", &f.always),
        ("forward_busy", &f.busy),
        ("forward_no_answer", &f.no_answer),
    ] {
        match target.as_deref() {
            Some("") => {
                return Err(StorageError::InvalidInput {
                    field,
                    reason: "must not be empty".to_owned(),
                })
            }
            Some(t) if t == number => {
                return Err(StorageError::InvalidInput {
                    field,
                    reason: "cannot forward an extension to itself".to_owned(),
                })
            }
            _ => {}
        }
    }
    Ok(())
}

impl Store {
    /// The forwarding rules of extension `number` (the defaults when none were set).
    pub async fn get_forwarding(&self, number: &str) -> Result<Forwarding> {
        let sql = format!("SELECT {COLUMNS} FROM call_forwarding WHERE extension = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(number).fetch_optional(pool).await.map_err(query_err)?;
            Ok(row.as_ref().map(from_row).transpose()?.unwrap_or_default())
        })
    }

    /// Sets the forwarding rules of extension `number` (which must exist); returns them as
    /// stored.
    pub async fn set_forwarding(&self, number: &str, f: &Forwarding) -> Result<Forwarding> {
        check(number, f)?;
        let sql = format!(
            "INSERT INTO call_forwarding (extension, forward_always, forward_busy, \
             forward_no_answer, no_answer_secs, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (extension) DO UPDATE SET forward_always = excluded.forward_always, \
             forward_busy = excluded.forward_busy, forward_no_answer = excluded.forward_no_answer, \
             no_answer_secs = excluded.no_answer_secs, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(number)
                .bind(&f.always)
                .bind(&f.busy)
                .bind(&f.no_answer)
                .bind(i64::from(f.no_answer_secs))
                .bind(pool.ts(now))
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(Subject { entity: "extension", key: number })))?;
            from_row(&row)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::backend_tests;
    use crate::{NewExtension, StorageError};

    use super::*;

    backend_tests! {
        async fn forwarding_defaults_set_overwrite_and_cascade(store) {
            store.create_extension(&NewExtension::new("1002", "Bob", "bob-secret-1")).await.unwrap();
            assert_eq!(store.get_forwarding("1002").await.unwrap(), Forwarding::default());

            let rules = Forwarding {
                always: Some("1003".into()),
                busy: Some("1004".into()),
                no_answer: None,
                no_answer_secs: 15,
                updated_at: None,
            };
            let stored = store.set_forwarding("1002", &rules).await.unwrap();
            assert!(stored.updated_at.is_some());
            assert_eq!(Forwarding { updated_at: None, ..stored.clone() }, rules);
            assert_eq!(store.get_forwarding("1002").await.unwrap(), stored);

            let off = Forwarding { always: None, ..rules.clone() };
            let stored = store.set_forwarding("1002", &off).await.unwrap();
            assert_eq!(stored.always, None);
            assert_eq!(stored.busy.as_deref(), Some("1004"));

            // Bad input is refused before the database.
            let err = store.set_forwarding("1002", &Forwarding { no_answer_secs: 2, ..off.clone() }).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "no_answer_secs", .. }), "{err:?}");
            let err = store.set_forwarding("1002", &Forwarding { always: Some("1002".into()), ..off.clone() }).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "forward_always", .. }), "{err:?}");

            // An unknown extension cannot have rules; deleting the extension deletes them.
            assert!(store.set_forwarding("1999", &off).await.is_err());
            store.delete_extension("1002").await.unwrap();
            assert_eq!(store.get_forwarding("1002").await.unwrap(), Forwarding::default());
        }
    }
}
