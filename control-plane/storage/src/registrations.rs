//! Registrar bindings: which contacts an extension is reachable at, until
//! when.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{query_err, Result, StorageError, Subject};
use crate::row::{Dialect, RowExt};
use crate::store::{with_pool, Store};

/// A stored binding of an address of record to a contact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Binding {
    /// Database id.
    pub id: i64,
    /// Address of record: the extension number.
    pub aor: String,
    /// Contact URI the extension is reachable at.
    pub contact_uri: String,
    /// Contact preference (`q` parameter), when given.
    pub q: Option<f64>,
    /// When the binding lapses.
    pub expires_at: DateTime<Utc>,
    /// Call-ID of the REGISTER that created or refreshed it.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Source of that REGISTER, as `ip:port`.
    pub source: String,
    /// Transport it arrived on (`udp`, `tcp`...).
    pub transport: String,
    /// `User-Agent` of the phone.
    pub user_agent: Option<String>,
    /// `Path` header value, when a proxy inserted one.
    pub path: Option<String>,
    /// `+sip.instance` of the device, when given.
    pub instance_id: Option<String>,
    /// First registration time.
    pub created_at: DateTime<Utc>,
    /// Last refresh time.
    pub updated_at: DateTime<Utc>,
}

/// A binding to create or refresh with [`Store::upsert_binding`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewBinding {
    /// Extension number; it must exist ([`StorageError::Constraint`]
    /// otherwise).
    pub aor: String,
    /// Contact URI.
    pub contact_uri: String,
    /// Contact preference.
    pub q: Option<f64>,
    /// When the binding lapses.
    pub expires_at: DateTime<Utc>,
    /// Call-ID of the REGISTER.
    pub call_id: String,
    /// CSeq number of the REGISTER.
    pub cseq: u32,
    /// Source `ip:port`.
    pub source: String,
    /// Transport name.
    pub transport: String,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
    /// `Path` header.
    pub path: Option<String>,
    /// `+sip.instance` value.
    pub instance_id: Option<String>,
}

const COLUMNS: &str = "id, aor, contact_uri, q, expires_at, call_id, cseq, source, transport, \
                       user_agent, path, instance_id, created_at, updated_at";

fn from_row(r: &impl RowExt) -> Result<Binding> {
    Ok(Binding {
        id: r.int("id")?,
        aor: r.text("aor")?,
        contact_uri: r.text("contact_uri")?,
        q: r.real("q")?,
        expires_at: r.ts("expires_at")?,
        call_id: r.text("call_id")?,
        cseq: r.u32("cseq")?,
        source: r.text("source")?,
        transport: r.text("transport")?,
        user_agent: r.opt_text("user_agent")?,
        path: r.opt_text("path")?,
        instance_id: r.opt_text("instance_id")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

impl Store {
    /// Creates the binding of `(aor, contact_uri)` or refreshes it with the
    /// new expiry, Call-ID, CSeq, source and headers. Ordering checks on
    /// Call-ID/CSeq are the registrar's job (read the binding first).
    pub async fn upsert_binding(&self, b: &NewBinding) -> Result<Binding> {
        if let Some(q) = b.q.filter(|q| !(0.0..=1.0).contains(q)) {
            return Err(StorageError::InvalidInput {
                field: "q",
                reason: format!("{q} is outside 0..=1"),
            });
        }
        let sql = format!(
            "INSERT INTO registrations (aor, contact_uri, q, expires_at, call_id, cseq, source, \
             transport, user_agent, path, instance_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             ON CONFLICT (aor, contact_uri) DO UPDATE SET q = excluded.q, \
             expires_at = excluded.expires_at, call_id = excluded.call_id, cseq = excluded.cseq, \
             source = excluded.source, transport = excluded.transport, \
             user_agent = excluded.user_agent, path = excluded.path, \
             instance_id = excluded.instance_id, updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&b.aor)
                .bind(&b.contact_uri)
                .bind(b.q)
                .bind(pool.ts(b.expires_at))
                .bind(&b.call_id)
                .bind(i64::from(b.cseq))
                .bind(&b.source)
                .bind(&b.transport)
                .bind(&b.user_agent)
                .bind(&b.path)
                .bind(&b.instance_id)
                .bind(pool.ts(now))
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(Subject { entity: "extension", key: &b.aor })))?;
            from_row(&row)
        })
    }

    /// Unexpired bindings of `aor` at `now`, most preferred (`q`) first,
    /// then most recently refreshed.
    pub async fn bindings_for(&self, aor: &str, now: DateTime<Utc>) -> Result<Vec<Binding>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM registrations WHERE aor = $1 AND expires_at > $2 \
             ORDER BY q DESC NULLS LAST, updated_at DESC, id"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql)
                .bind(aor)
                .bind(pool.ts(now))
                .fetch_all(pool)
                .await
                .map_err(query_err)?;
            rows.iter().map(from_row).collect()
        })
    }

    /// Removes one binding; returns whether it existed.
    pub async fn remove_binding(&self, aor: &str, contact_uri: &str) -> Result<bool> {
        let n = with_pool!(self, pool => sqlx::query("DELETE FROM registrations WHERE aor = $1 AND contact_uri = $2")
            .bind(aor)
            .bind(contact_uri)
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected());
        Ok(n > 0)
    }

    /// Removes every binding of `aor` (a `Contact: *` unregistration);
    /// returns how many there were.
    pub async fn remove_all_bindings(&self, aor: &str) -> Result<u64> {
        with_pool!(self, pool => Ok(sqlx::query("DELETE FROM registrations WHERE aor = $1")
            .bind(aor)
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected()))
    }

    /// Deletes the bindings expired at `now` (`expires_at <= now`); returns
    /// how many.
    pub async fn sweep_expired(&self, now: DateTime<Utc>) -> Result<u64> {
        let n = with_pool!(self, pool => sqlx::query("DELETE FROM registrations WHERE expires_at <= $1")
            .bind(pool.ts(now))
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected());
        if n > 0 {
            tracing::debug!(removed = n, "expired registrations swept");
        }
        Ok(n)
    }

    /// Every unexpired binding at `now`, ordered by AOR then contact.
    pub async fn list_bindings(&self, now: DateTime<Utc>) -> Result<Vec<Binding>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM registrations WHERE expires_at > $1 ORDER BY aor, contact_uri"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(pool.ts(now)).fetch_all(pool).await.map_err(query_err)?;
            rows.iter().map(from_row).collect()
        })
    }

    /// Number of unexpired bindings at `now`.
    pub async fn count_bindings(&self, now: DateTime<Utc>) -> Result<u64> {
        with_pool!(self, pool => sqlx::query("SELECT COUNT(*) AS n FROM registrations WHERE expires_at > $1")
            .bind(pool.ts(now))
            .fetch_one(pool)
            .await
            .map_err(query_err)?
            .u64("n"))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::testing::backend_tests;
    use crate::{truncate_ms, NewExtension};

    fn binding(aor: &str, contact: &str, expires_at: DateTime<Utc>) -> NewBinding {
        NewBinding {
            aor: aor.into(),
            contact_uri: contact.into(),
            q: None,
            expires_at,
            call_id: format!("call-{contact}"),
            cseq: 1,
            source: "192.0.2.1:5060".into(),
            transport: "udp".into(),
            user_agent: Some("TestPhone/1.0".into()),
            path: None,
            instance_id: None,
        }
    }

    async fn extensions(store: &Store, numbers: &[&str]) {
        for n in numbers {
            store
                .create_extension(&NewExtension::new(*n, *n, "some-secret"))
                .await
                .unwrap();
        }
    }

    backend_tests! {
        async fn upsert_creates_then_refreshes(store) {
            extensions(&store, &["1001"]).await;
            let now = truncate_ms(Utc::now());
            let mut b = binding("1001", "sip:1001@192.0.2.1:5060", now + Duration::seconds(3600));
            b.q = Some(0.5);
            b.path = Some("<sip:proxy.example;lr>".into());
            b.instance_id = Some("<urn:uuid:00000000-0000-0000-0000-000000000001>".into());
            let first = store.upsert_binding(&b).await.unwrap();
            assert_eq!(first.aor, "1001");
            assert_eq!(first.q, Some(0.5));
            assert_eq!(first.expires_at, b.expires_at);
            assert_eq!(first.cseq, 1);
            assert_eq!(first.path, b.path);
            assert_eq!(first.instance_id, b.instance_id);
            assert_eq!(first.user_agent.as_deref(), Some("TestPhone/1.0"));

            b.cseq = 2;
            b.expires_at = now + Duration::seconds(60);
            b.source = "192.0.2.1:5070".into();
            b.transport = "tcp".into();
            b.q = None;
            b.user_agent = None;
            let second = store.upsert_binding(&b).await.unwrap();
            assert_eq!(second.id, first.id);
            assert_eq!(second.cseq, 2);
            assert_eq!(second.expires_at, now + Duration::seconds(60));
            assert_eq!(second.source, "192.0.2.1:5070");
            assert_eq!(second.transport, "tcp");
            assert_eq!(second.q, None);
            assert_eq!(second.user_agent, None);
            assert_eq!(second.created_at, first.created_at);
            assert_eq!(store.bindings_for("1001", now).await.unwrap(), vec![second]);
        }

        async fn bindings_need_an_existing_extension(store) {
            let err = store.upsert_binding(&binding("404", "sip:x@y", Utc::now())).await.unwrap_err();
            assert!(matches!(err, StorageError::Constraint(_)), "{err:?}");
            extensions(&store, &["1"]).await;
            let mut b = binding("1", "sip:x@y", Utc::now());
            b.q = Some(1.5);
            let err = store.upsert_binding(&b).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "q", .. }), "{err:?}");
        }

        async fn expiry_ordering_and_removal(store) {
            extensions(&store, &["1001", "1002"]).await;
            let now = truncate_ms(Utc::now());
            let mut low = binding("1001", "sip:a@h1", now + Duration::seconds(100));
            low.q = Some(0.1);
            let mut high = binding("1001", "sip:b@h2", now + Duration::seconds(100));
            high.q = Some(0.9);
            let none = binding("1001", "sip:c@h3", now + Duration::seconds(100));
            let expired = binding("1001", "sip:d@h4", now - Duration::seconds(1));
            let at_now = binding("1002", "sip:e@h5", now);
            let other = binding("1002", "sip:f@h6", now + Duration::seconds(5));
            for b in [&low, &none, &high, &expired, &at_now, &other] {
                store.upsert_binding(b).await.unwrap();
            }
            let contacts = |v: Vec<Binding>| v.into_iter().map(|b| b.contact_uri).collect::<Vec<_>>();
            assert_eq!(contacts(store.bindings_for("1001", now).await.unwrap()), ["sip:b@h2", "sip:a@h1", "sip:c@h3"]);
            assert_eq!(contacts(store.bindings_for("1002", now).await.unwrap()), ["sip:f@h6"]);
            assert!(store.bindings_for("1003", now).await.unwrap().is_empty());
            assert_eq!(store.count_bindings(now).await.unwrap(), 4);
            assert_eq!(
                contacts(store.list_bindings(now).await.unwrap()),
                ["sip:a@h1", "sip:b@h2", "sip:c@h3", "sip:f@h6"]
            );
            // Later, the 5-second binding has expired too.
            let later = now + Duration::seconds(10);
            assert_eq!(store.count_bindings(later).await.unwrap(), 3);

            assert_eq!(store.sweep_expired(now).await.unwrap(), 2);
            assert_eq!(store.sweep_expired(now).await.unwrap(), 0);
            assert_eq!(store.sweep_expired(later).await.unwrap(), 1);

            assert!(store.remove_binding("1001", "sip:a@h1").await.unwrap());
            assert!(!store.remove_binding("1001", "sip:a@h1").await.unwrap());
            assert_eq!(store.remove_all_bindings("1001").await.unwrap(), 2);
            assert_eq!(store.remove_all_bindings("1001").await.unwrap(), 0);
            assert_eq!(store.count_bindings(now - Duration::days(1)).await.unwrap(), 0);
        }

        async fn deleting_an_extension_drops_its_bindings(store) {
            extensions(&store, &["7", "8"]).await;
            let later = Utc::now() + Duration::seconds(600);
            store.upsert_binding(&binding("7", "sip:7@h", later)).await.unwrap();
            store.upsert_binding(&binding("8", "sip:8@h", later)).await.unwrap();
            store.delete_extension("7").await.unwrap();
            let left = store.list_bindings(Utc::now()).await.unwrap();
            assert_eq!(left.len(), 1);
            assert_eq!(left[0].aor, "8");
        }

        async fn same_contact_for_two_aors_is_two_bindings(store) {
            extensions(&store, &["1", "2"]).await;
            let later = Utc::now() + Duration::seconds(600);
            store.upsert_binding(&binding("1", "sip:shared@h", later)).await.unwrap();
            store.upsert_binding(&binding("2", "sip:shared@h", later)).await.unwrap();
            assert_eq!(store.count_bindings(Utc::now()).await.unwrap(), 2);
        }
    }
}
