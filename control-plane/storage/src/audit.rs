//! Append-only audit log of administrative actions.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{query_err, Result, StorageError};
use crate::row::{page_bounds, Dialect, Page, RowExt};
use crate::store::{with_pool, Store};

/// An audit entry to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// When the action happened.
    pub at: DateTime<Utc>,
    /// Who did it (user name, `system`...).
    pub actor: String,
    /// What was done, e.g. `extension.create`.
    pub action: String,
    /// What it was done to, e.g. an extension number.
    pub target: Option<String>,
    /// Free-form details.
    pub detail: serde_json::Value,
    /// Address the request came from.
    pub source_ip: Option<String>,
}

impl NewAuditEntry {
    /// An entry stamped now, with no target, details or source.
    pub fn new(actor: impl Into<String>, action: impl Into<String>) -> Self {
        Self {
            at: Utc::now(),
            actor: actor.into(),
            action: action.into(),
            target: None,
            detail: serde_json::Value::Object(serde_json::Map::new()),
            source_ip: None,
        }
    }
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Database id (increasing in insertion order).
    pub id: i64,
    /// When the action happened.
    pub at: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// Free-form details.
    pub detail: serde_json::Value,
    /// Address the request came from.
    pub source_ip: Option<String>,
}

/// Which entries [`Store::list_audit`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditFilter {
    /// Only entries at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this time.
    pub to: Option<DateTime<Utc>>,
    /// Only entries by this actor.
    pub actor: Option<String>,
    /// Only entries with this action.
    pub action: Option<String>,
    /// Only entries about this target.
    pub target: Option<String>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: u32,
}

const COLUMNS: &str = "id, at, actor, action, target, detail, source_ip";

fn from_row(r: &impl RowExt) -> Result<AuditEntry> {
    let detail = r.text("detail")?;
    Ok(AuditEntry {
        id: r.int("id")?,
        at: r.ts("at")?,
        actor: r.text("actor")?,
        action: r.text("action")?,
        target: r.opt_text("target")?,
        detail: serde_json::from_str(&detail).map_err(|e| StorageError::Decode {
            column: "detail",
            reason: e.to_string(),
        })?,
        source_ip: r.opt_text("source_ip")?,
    })
}

impl Store {
    /// Appends an entry to the audit log.
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> Result<AuditEntry> {
        let detail =
            serde_json::to_string(&entry.detail).map_err(|e| StorageError::InvalidInput {
                field: "detail",
                reason: e.to_string(),
            })?;
        let sql = format!(
            "INSERT INTO audit_log (at, actor, action, target, detail, source_ip) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(pool.ts(entry.at))
                .bind(&entry.actor)
                .bind(&entry.action)
                .bind(&entry.target)
                .bind(&detail)
                .bind(&entry.source_ip)
                .fetch_one(pool)
                .await
                .map_err(query_err)?;
            from_row(&row)
        })
    }

    /// A page of audit entries matching `filter`, newest first.
    pub async fn list_audit(&self, filter: &AuditFilter) -> Result<Page<AuditEntry>> {
        const WHERE: &str = "WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR at < $2) \
                             AND ($3 IS NULL OR actor = $3) AND ($4 IS NULL OR action = $4) \
                             AND ($5 IS NULL OR target = $5)";
        let list_sql = format!(
            "SELECT {COLUMNS} FROM audit_log {WHERE} ORDER BY at DESC, id DESC LIMIT $6 OFFSET $7"
        );
        let count_sql = format!("SELECT COUNT(*) AS n FROM audit_log {WHERE}");
        let (limit, offset) = page_bounds(filter.limit, filter.offset);
        with_pool!(self, pool => {
            let rows = sqlx::query(&list_sql)
                .bind(pool.opt_ts(filter.from))
                .bind(pool.opt_ts(filter.to))
                .bind(&filter.actor)
                .bind(&filter.action)
                .bind(&filter.target)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await
                .map_err(query_err)?;
            let total = sqlx::query(&count_sql)
                .bind(pool.opt_ts(filter.from))
                .bind(pool.opt_ts(filter.to))
                .bind(&filter.actor)
                .bind(&filter.action)
                .bind(&filter.target)
                .fetch_one(pool)
                .await
                .map_err(query_err)?
                .u64("n")?;
            Ok(Page {
                items: rows.iter().map(from_row).collect::<Result<_>>()?,
                total,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;
    use serde_json::json;

    use super::*;
    use crate::testing::backend_tests;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_700_000_000_000 + s * 1000).unwrap()
    }

    fn entry(s: i64, actor: &str, action: &str, target: &str) -> NewAuditEntry {
        NewAuditEntry {
            at: at(s),
            target: Some(target.into()),
            detail: json!({ "seq": s }),
            source_ip: Some("198.51.100.7".into()),
            ..NewAuditEntry::new(actor, action)
        }
    }

    backend_tests! {
        async fn append_round_trips(store) {
            let mut e = entry(0, "admin", "extension.create", "1001");
            e.detail = json!({ "name": "Alice", "nested": { "list": [1, 2.5, null, "x"] }, "quote": "it's \"ok\"" });
            let stored = store.append_audit(&e).await.unwrap();
            assert!(stored.id > 0);
            assert_eq!(stored.at, e.at);
            assert_eq!(stored.actor, "admin");
            assert_eq!(stored.action, "extension.create");
            assert_eq!(stored.target.as_deref(), Some("1001"));
            assert_eq!(stored.detail, e.detail);
            assert_eq!(stored.source_ip.as_deref(), Some("198.51.100.7"));

            let bare = store.append_audit(&NewAuditEntry::new("system", "startup")).await.unwrap();
            assert_eq!(bare.detail, json!({}));
            assert_eq!(bare.target, None);
            assert!(bare.id > stored.id);
        }

        async fn list_filters_and_pages(store) {
            let entries = [
                entry(0, "admin", "login", "admin"),
                entry(10, "admin", "extension.create", "1001"),
                entry(20, "ops", "extension.update", "1001"),
                entry(30, "ops", "extension.create", "1002"),
                entry(40, "admin", "user.create", "ops"),
            ];
            for e in &entries {
                store.append_audit(e).await.unwrap();
            }
            let seqs = |p: Page<AuditEntry>| p.items.into_iter().map(|e| e.detail["seq"].as_i64().unwrap()).collect::<Vec<_>>();

            let all = store.list_audit(&AuditFilter::default()).await.unwrap();
            assert_eq!(all.total, 5);
            assert_eq!(seqs(all), [40, 30, 20, 10, 0]);

            let f = AuditFilter { actor: Some("ops".into()), ..Default::default() };
            assert_eq!(seqs(store.list_audit(&f).await.unwrap()), [30, 20]);
            let f = AuditFilter { action: Some("extension.create".into()), ..Default::default() };
            assert_eq!(seqs(store.list_audit(&f).await.unwrap()), [30, 10]);
            let f = AuditFilter { target: Some("1001".into()), ..Default::default() };
            assert_eq!(seqs(store.list_audit(&f).await.unwrap()), [20, 10]);
            let f = AuditFilter { from: Some(at(10)), to: Some(at(30)), ..Default::default() };
            assert_eq!(seqs(store.list_audit(&f).await.unwrap()), [20, 10]);
            let f = AuditFilter { from: Some(at(10) + Duration::milliseconds(1)), actor: Some("admin".into()), ..Default::default() };
            assert_eq!(seqs(store.list_audit(&f).await.unwrap()), [40]);

            let f = AuditFilter { limit: Some(2), offset: 1, ..Default::default() };
            let page = store.list_audit(&f).await.unwrap();
            assert_eq!(page.total, 5);
            assert_eq!(seqs(page), [30, 20]);
        }
    }
}
