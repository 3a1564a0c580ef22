//! Extensions: the phones/users of the PBX, keyed by their number.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::{query_err, Result, StorageError, Subject};
use crate::row::{contains_pattern, page_bounds, Dialect, Page, RowExt};
use crate::store::{with_pool, Store};

/// A stored extension.
#[derive(Clone, PartialEq)]
pub struct Extension {
    /// Database id.
    pub id: i64,
    /// Extension number, unique; also the SIP user name.
    pub number: String,
    /// Display name.
    pub display_name: String,
    /// SIP digest password (stored as is: digest authentication needs it).
    pub secret: String,
    /// Voicemail PIN, if voicemail is set up.
    pub voicemail_pin: Option<String>,
    /// Disabled extensions cannot register or call.
    pub enabled: bool,
    /// Largest number of simultaneous calls; `None` means no limit.
    pub max_concurrent_calls: Option<u32>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last modification time.
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extension")
            .field("id", &self.id)
            .field("number", &self.number)
            .field("display_name", &self.display_name)
            .field("secret", &"<redacted>")
            .field(
                "voicemail_pin",
                &self.voicemail_pin.as_ref().map(|_| "<redacted>"),
            )
            .field("enabled", &self.enabled)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

/// The fields of an extension to create or overwrite.
#[derive(Clone, PartialEq)]
pub struct NewExtension {
    /// Extension number (must not be empty).
    pub number: String,
    /// Display name.
    pub display_name: String,
    /// SIP digest password.
    pub secret: String,
    /// Voicemail PIN.
    pub voicemail_pin: Option<String>,
    /// Whether the extension may register and call.
    pub enabled: bool,
    /// Largest number of simultaneous calls; `None` means no limit.
    pub max_concurrent_calls: Option<u32>,
}

impl NewExtension {
    /// An enabled extension without voicemail PIN or call limit.
    pub fn new(
        number: impl Into<String>,
        display_name: impl Into<String>,
        secret: impl Into<String>,
    ) -> Self {
        Self {
            number: number.into(),
            display_name: display_name.into(),
            secret: secret.into(),
            voicemail_pin: None,
            enabled: true,
            max_concurrent_calls: None,
        }
    }
}

impl fmt::Debug for NewExtension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewExtension")
            .field("number", &self.number)
            .field("display_name", &self.display_name)
            .field("enabled", &self.enabled)
            .field("max_concurrent_calls", &self.max_concurrent_calls)
            .finish_non_exhaustive()
    }
}

/// A partial change to an extension: `None` leaves a field unchanged;
/// for nullable fields `Some(None)` clears the value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtensionUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New SIP password.
    pub secret: Option<String>,
    /// New voicemail PIN, or `Some(None)` to remove it.
    pub voicemail_pin: Option<Option<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// New call limit, or `Some(None)` for no limit.
    pub max_concurrent_calls: Option<Option<u32>>,
}

/// Which extensions [`Store::list_extensions`] returns, ordered by number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtensionFilter {
    /// Case-insensitive substring of the number or display name.
    pub search: Option<String>,
    /// Only enabled (`Some(true)`) or disabled (`Some(false)`) extensions.
    pub enabled: Option<bool>,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: u32,
}

/// What [`Store::seed_extensions`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Extensions that did not exist and were created.
    pub created: u64,
    /// Existing extensions whose name, secret or PIN changed.
    pub updated: u64,
    /// Existing extensions already up to date.
    pub unchanged: u64,
}

const COLUMNS: &str = "id, number, display_name, secret, voicemail_pin, enabled, \
                       max_concurrent_calls, created_at, updated_at";

fn from_row(r: &impl RowExt) -> Result<Extension> {
    Ok(Extension {
        id: r.int("id")?,
        number: r.text("number")?,
        display_name: r.text("display_name")?,
        secret: r.text("secret")?,
        voicemail_pin: r.opt_text("voicemail_pin")?,
        enabled: r.flag("enabled")?,
        max_concurrent_calls: r.opt_u32("max_concurrent_calls")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

fn check_number(number: &str) -> Result<()> {
    if number.is_empty() {
        return Err(StorageError::InvalidInput {
            field: "number",
            reason: "must not be empty".to_owned(),
        });
    }
    Ok(())
}

fn subject(number: &str) -> Subject<'_> {
    Subject {
        entity: "extension",
        key: number,
    }
}

impl Store {
    /// Creates an extension; [`StorageError::Conflict`] if the number is
    /// taken.
    pub async fn create_extension(&self, ext: &NewExtension) -> Result<Extension> {
        check_number(&ext.number)?;
        let sql = format!(
            "INSERT INTO extensions (number, display_name, secret, voicemail_pin, enabled, \
             max_concurrent_calls, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&ext.number)
                .bind(&ext.display_name)
                .bind(&ext.secret)
                .bind(&ext.voicemail_pin)
                .bind(ext.enabled)
                .bind(ext.max_concurrent_calls.map(i64::from))
                .bind(pool.ts(now))
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(subject(&ext.number))))?;
            from_row(&row)
        })
    }

    /// Creates the extension or overwrites every field of the existing one
    /// with the same number.
    pub async fn upsert_extension(&self, ext: &NewExtension) -> Result<Extension> {
        check_number(&ext.number)?;
        let sql = format!(
            "INSERT INTO extensions (number, display_name, secret, voicemail_pin, enabled, \
             max_concurrent_calls, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (number) DO UPDATE SET display_name = excluded.display_name, \
             secret = excluded.secret, voicemail_pin = excluded.voicemail_pin, \
             enabled = excluded.enabled, max_concurrent_calls = excluded.max_concurrent_calls, \
             updated_at = excluded.updated_at \
             RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&ext.number)
                .bind(&ext.display_name)
                .bind(&ext.secret)
                .bind(&ext.voicemail_pin)
                .bind(ext.enabled)
                .bind(ext.max_concurrent_calls.map(i64::from))
                .bind(pool.ts(now))
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(subject(&ext.number))))?;
            from_row(&row)
        })
    }

    /// The extension with this number, if any.
    pub async fn get_extension(&self, number: &str) -> Result<Option<Extension>> {
        let sql = format!("SELECT {COLUMNS} FROM extensions WHERE number = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(number).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(from_row).transpose()
        })
    }

    /// The directory's version: it moves on with every change to extensions, call
    /// forwarding and voicemail boxes, by whoever makes it (database triggers), so a cache
    /// of those lookups stays good while it stands still.
    pub async fn directory_version(&self) -> Result<i64> {
        with_pool!(self, pool => {
            sqlx::query("SELECT version FROM directory_version WHERE id = 1")
                .fetch_one(pool)
                .await
                .map_err(query_err)?
                .int("version")
        })
    }

    /// A page of extensions matching `filter`, ordered by number.
    pub async fn list_extensions(&self, filter: &ExtensionFilter) -> Result<Page<Extension>> {
        const WHERE: &str = "WHERE ($1 IS NULL OR LOWER(number) LIKE $1 ESCAPE '\\' \
                             OR LOWER(display_name) LIKE $1 ESCAPE '\\') \
                             AND ($2 IS NULL OR enabled = $2)";
        let list_sql =
            format!("SELECT {COLUMNS} FROM extensions {WHERE} ORDER BY number LIMIT $3 OFFSET $4");
        let count_sql = format!("SELECT COUNT(*) AS n FROM extensions {WHERE}");
        let pattern = filter.search.as_deref().map(contains_pattern);
        let (limit, offset) = page_bounds(filter.limit, filter.offset);
        with_pool!(self, pool => {
            let rows = sqlx::query(&list_sql)
                .bind(&pattern)
                .bind(filter.enabled)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await
                .map_err(query_err)?;
            let total = sqlx::query(&count_sql)
                .bind(&pattern)
                .bind(filter.enabled)
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

    /// Applies `update` to the extension; [`StorageError::NotFound`] if the
    /// number does not exist.
    pub async fn update_extension(
        &self,
        number: &str,
        update: &ExtensionUpdate,
    ) -> Result<Extension> {
        let sql = format!(
            "UPDATE extensions SET display_name = COALESCE($2, display_name), \
             secret = COALESCE($3, secret), \
             voicemail_pin = CASE WHEN $4 THEN $5 ELSE voicemail_pin END, \
             enabled = COALESCE($6, enabled), \
             max_concurrent_calls = CASE WHEN $7 THEN $8 ELSE max_concurrent_calls END, \
             updated_at = $9 \
             WHERE number = $1 RETURNING {COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(number)
                .bind(&update.display_name)
                .bind(&update.secret)
                .bind(update.voicemail_pin.is_some())
                .bind(update.voicemail_pin.clone().flatten())
                .bind(update.enabled)
                .bind(update.max_concurrent_calls.is_some())
                .bind(update.max_concurrent_calls.flatten().map(i64::from))
                .bind(pool.ts(now))
                .fetch_optional(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(subject(number))))?;
            match row {
                Some(row) => from_row(&row),
                None => Err(StorageError::NotFound { entity: "extension", key: number.to_owned() }),
            }
        })
    }

    /// Deletes the extension and, through the schema, its registrations;
    /// [`StorageError::NotFound`] if it does not exist.
    pub async fn delete_extension(&self, number: &str) -> Result<()> {
        let done = with_pool!(self, pool => sqlx::query("DELETE FROM extensions WHERE number = $1")
            .bind(number)
            .execute(pool)
            .await
            .map_err(query_err)?
            .rows_affected());
        if done == 0 {
            return Err(StorageError::NotFound {
                entity: "extension",
                key: number.to_owned(),
            });
        }
        Ok(())
    }

    /// Number of extensions.
    pub async fn count_extensions(&self) -> Result<u64> {
        with_pool!(self, pool => sqlx::query("SELECT COUNT(*) AS n FROM extensions")
            .fetch_one(pool)
            .await
            .map_err(query_err)?
            .u64("n"))
    }

    /// Makes the database hold the extensions of the configuration, in one
    /// transaction: missing ones are created; existing ones get the display
    /// name and secret (and the voicemail PIN when one is given) of `exts`.
    /// Other fields and extensions not listed are left alone.
    pub async fn seed_extensions(&self, exts: &[NewExtension]) -> Result<SeedReport> {
        for ext in exts {
            check_number(&ext.number)?;
        }
        let insert =
            "INSERT INTO extensions (number, display_name, secret, voicemail_pin, enabled, \
                      max_concurrent_calls, created_at, updated_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $7)";
        let update = "UPDATE extensions SET display_name = $2, secret = $3, \
                      voicemail_pin = COALESCE($4, voicemail_pin), updated_at = $5 WHERE number = $1";
        let now = Utc::now();
        let mut report = SeedReport::default();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(query_err)?;
            for ext in exts {
                let current = sqlx::query(
                    "SELECT display_name, secret, voicemail_pin FROM extensions WHERE number = $1",
                )
                .bind(&ext.number)
                .fetch_optional(&mut *tx)
                .await
                .map_err(query_err)?;
                match current {
                    None => {
                        sqlx::query(insert)
                            .bind(&ext.number)
                            .bind(&ext.display_name)
                            .bind(&ext.secret)
                            .bind(&ext.voicemail_pin)
                            .bind(ext.enabled)
                            .bind(ext.max_concurrent_calls.map(i64::from))
                            .bind(pool.ts(now))
                            .execute(&mut *tx)
                            .await
                            .map_err(|e| StorageError::from_sqlx(e, Some(subject(&ext.number))))?;
                        report.created += 1;
                    }
                    Some(row) => {
                        let same = row.text("display_name")? == ext.display_name
                            && row.text("secret")? == ext.secret
                            && (ext.voicemail_pin.is_none()
                                || row.opt_text("voicemail_pin")? == ext.voicemail_pin);
                        if same {
                            report.unchanged += 1;
                        } else {
                            sqlx::query(update)
                                .bind(&ext.number)
                                .bind(&ext.display_name)
                                .bind(&ext.secret)
                                .bind(&ext.voicemail_pin)
                                .bind(pool.ts(now))
                                .execute(&mut *tx)
                                .await
                                .map_err(query_err)?;
                            report.updated += 1;
                        }
                    }
                }
            }
            tx.commit().await.map_err(query_err)?;
        });
        tracing::info!(
            created = report.created,
            updated = report.updated,
            unchanged = report.unchanged,
            "extensions seeded from configuration"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::backend_tests;

    backend_tests! {
        async fn every_directory_change_moves_the_version_on(store) {
            let mut versions = vec![store.directory_version().await.unwrap()];
            store.create_extension(&NewExtension::new("1001", "Alice", "alice-secret")).await.unwrap();
            versions.push(store.directory_version().await.unwrap());
            let update = ExtensionUpdate { secret: Some("other-secret".into()), ..Default::default() };
            store.update_extension("1001", &update).await.unwrap();
            versions.push(store.directory_version().await.unwrap());
            let f = crate::Forwarding { always: Some("1002".into()), ..Default::default() };
            store.set_forwarding("1001", &f).await.unwrap();
            versions.push(store.directory_version().await.unwrap());
            let b = crate::VoicemailBox { enabled: true, ..Default::default() };
            store.set_voicemail_box("1001", &b).await.unwrap();
            versions.push(store.directory_version().await.unwrap());
            // A registration is not part of the directory: the version stands still.
            let binding = crate::NewBinding {
                aor: "1001".into(),
                contact_uri: "sip:alice@192.0.2.1".into(),
                q: None,
                expires_at: Utc::now() + chrono::Duration::seconds(60),
                call_id: "reg-1".into(),
                cseq: 1,
                source: "192.0.2.1:5060".into(),
                transport: "udp".into(),
                user_agent: None,
                path: None,
                instance_id: None,
            };
            store.upsert_binding(&binding).await.unwrap();
            assert_eq!(store.directory_version().await.unwrap(), versions[4]);
            store.delete_extension("1001").await.unwrap();
            versions.push(store.directory_version().await.unwrap());
            // New extension, password, forwarding, voicemail box, removal: each moved it on.
            assert!(versions.windows(2).all(|w| w[1] > w[0]), "{versions:?}");
        }

        async fn create_get_and_conflict(store) {
            let mut new = NewExtension::new("1001", "Alice", "alice-secret");
            new.voicemail_pin = Some("1234".into());
            new.max_concurrent_calls = Some(2);
            let before = Utc::now() - chrono::Duration::seconds(1);
            let ext = store.create_extension(&new).await.unwrap();
            assert!(ext.id > 0);
            assert_eq!(ext.number, "1001");
            assert_eq!(ext.display_name, "Alice");
            assert_eq!(ext.secret, "alice-secret");
            assert_eq!(ext.voicemail_pin.as_deref(), Some("1234"));
            assert!(ext.enabled);
            assert_eq!(ext.max_concurrent_calls, Some(2));
            assert!(ext.created_at >= before && ext.created_at <= Utc::now());
            assert_eq!(ext.created_at, ext.updated_at);

            assert_eq!(store.get_extension("1001").await.unwrap(), Some(ext.clone()));
            assert_eq!(store.get_extension("1002").await.unwrap(), None);

            let err = store.create_extension(&NewExtension::new("1001", "Other", "x-secret-x")).await.unwrap_err();
            assert!(
                matches!(&err, StorageError::Conflict { entity: "extension", key } if key == "1001"),
                "{err:?}"
            );
            assert_eq!(store.get_extension("1001").await.unwrap().unwrap().display_name, "Alice");
            assert_eq!(store.count_extensions().await.unwrap(), 1);

            let err = store.create_extension(&NewExtension::new("", "Empty", "secret-12")).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "number", .. }), "{err:?}");
        }

        async fn upsert_overwrites(store) {
            let first = store.upsert_extension(&NewExtension::new("2000", "Bob", "bob-secret")).await.unwrap();
            let mut changed = NewExtension::new("2000", "Robert", "new-secret");
            changed.enabled = false;
            changed.max_concurrent_calls = Some(1);
            let second = store.upsert_extension(&changed).await.unwrap();
            assert_eq!(second.id, first.id);
            assert_eq!(second.display_name, "Robert");
            assert_eq!(second.secret, "new-secret");
            assert!(!second.enabled);
            assert_eq!(second.max_concurrent_calls, Some(1));
            assert_eq!(second.created_at, first.created_at);
            assert!(second.updated_at >= first.updated_at);
            assert_eq!(store.count_extensions().await.unwrap(), 1);
        }

        async fn update_changes_only_given_fields(store) {
            let mut new = NewExtension::new("3000", "Carol", "carol-secret");
            new.voicemail_pin = Some("9999".into());
            new.max_concurrent_calls = Some(3);
            store.create_extension(&new).await.unwrap();

            let ext = store
                .update_extension("3000", &ExtensionUpdate { display_name: Some("Caroline".into()), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(ext.display_name, "Caroline");
            assert_eq!(ext.secret, "carol-secret");
            assert_eq!(ext.voicemail_pin.as_deref(), Some("9999"));
            assert_eq!(ext.max_concurrent_calls, Some(3));
            assert!(ext.enabled);

            let ext = store
                .update_extension(
                    "3000",
                    &ExtensionUpdate {
                        secret: Some("rotated-secret".into()),
                        voicemail_pin: Some(None),
                        enabled: Some(false),
                        max_concurrent_calls: Some(None),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(ext.display_name, "Caroline");
            assert_eq!(ext.secret, "rotated-secret");
            assert_eq!(ext.voicemail_pin, None);
            assert!(!ext.enabled);
            assert_eq!(ext.max_concurrent_calls, None);
            assert_eq!(store.get_extension("3000").await.unwrap(), Some(ext));

            let err = store.update_extension("nope", &ExtensionUpdate::default()).await.unwrap_err();
            assert!(matches!(&err, StorageError::NotFound { entity: "extension", key } if key == "nope"), "{err:?}");
        }

        async fn delete_removes_and_reports_missing(store) {
            store.create_extension(&NewExtension::new("4000", "Dan", "dan-secret")).await.unwrap();
            store.delete_extension("4000").await.unwrap();
            assert_eq!(store.get_extension("4000").await.unwrap(), None);
            let err = store.delete_extension("4000").await.unwrap_err();
            assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
        }

        async fn list_filters_and_paginates(store) {
            for (n, name, enabled) in [
                ("1001", "Alice", true),
                ("1002", "Bob", true),
                ("1003", "alicia", false),
                ("2001", "Zed_100%", true),
            ] {
                let mut e = NewExtension::new(n, name, "long-secret");
                e.enabled = enabled;
                store.create_extension(&e).await.unwrap();
            }
            let all = store.list_extensions(&ExtensionFilter::default()).await.unwrap();
            assert_eq!(all.total, 4);
            let numbers: Vec<_> = all.items.iter().map(|e| e.number.as_str()).collect();
            assert_eq!(numbers, ["1001", "1002", "1003", "2001"]);

            let ali = store
                .list_extensions(&ExtensionFilter { search: Some("ALI".into()), ..Default::default() })
                .await
                .unwrap();
            let numbers: Vec<_> = ali.items.iter().map(|e| e.number.as_str()).collect();
            assert_eq!(numbers, ["1001", "1003"]);
            assert_eq!(ali.total, 2);

            let by_number = store
                .list_extensions(&ExtensionFilter { search: Some("200".into()), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(by_number.total, 1);
            // Wildcards in the search text are literal.
            let pct = store
                .list_extensions(&ExtensionFilter { search: Some("0%".into()), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(pct.items.len(), 1);
            assert_eq!(pct.items[0].number, "2001");
            let underscore = store
                .list_extensions(&ExtensionFilter { search: Some("_".into()), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(underscore.total, 1);

            let disabled = store
                .list_extensions(&ExtensionFilter { enabled: Some(false), ..Default::default() })
                .await
                .unwrap();
            assert_eq!(disabled.items.len(), 1);
            assert_eq!(disabled.items[0].number, "1003");

            let page = store
                .list_extensions(&ExtensionFilter { limit: Some(2), offset: 1, ..Default::default() })
                .await
                .unwrap();
            let numbers: Vec<_> = page.items.iter().map(|e| e.number.as_str()).collect();
            assert_eq!(numbers, ["1002", "1003"]);
            assert_eq!(page.total, 4);

            let enabled_page = store
                .list_extensions(&ExtensionFilter { enabled: Some(true), limit: Some(1), offset: 2, ..Default::default() })
                .await
                .unwrap();
            assert_eq!(enabled_page.items[0].number, "2001");
            assert_eq!(enabled_page.total, 3);
        }

        async fn seeding_creates_updates_and_keeps(store) {
            let mut kept = NewExtension::new("1001", "Alice", "alice-secret");
            kept.max_concurrent_calls = Some(5);
            store.create_extension(&kept).await.unwrap();
            let mut pinned = NewExtension::new("1002", "Bob", "bob-secret");
            pinned.voicemail_pin = Some("1111".into());
            store.create_extension(&pinned).await.unwrap();
            store.create_extension(&NewExtension::new("9999", "Not in config", "other-secret")).await.unwrap();

            let seed = [
                NewExtension::new("1001", "Alice", "alice-secret"),
                NewExtension::new("1002", "Bobby", "bob-new-secret"),
                NewExtension::new("1003", "Carol", "carol-secret"),
            ];
            let report = store.seed_extensions(&seed).await.unwrap();
            assert_eq!(report, SeedReport { created: 1, updated: 1, unchanged: 1 });

            let alice = store.get_extension("1001").await.unwrap().unwrap();
            assert_eq!(alice.max_concurrent_calls, Some(5), "fields not in the config are kept");
            let bob = store.get_extension("1002").await.unwrap().unwrap();
            assert_eq!((bob.display_name.as_str(), bob.secret.as_str()), ("Bobby", "bob-new-secret"));
            assert_eq!(bob.voicemail_pin.as_deref(), Some("1111"), "no PIN in the config keeps the stored one");
            assert!(store.get_extension("1003").await.unwrap().is_some());
            assert!(store.get_extension("9999").await.unwrap().is_some());

            let again = store.seed_extensions(&seed).await.unwrap();
            assert_eq!(again, SeedReport { created: 0, updated: 0, unchanged: 3 });

            let mut with_pin = NewExtension::new("1002", "Bobby", "bob-new-secret");
            with_pin.voicemail_pin = Some("2222".into());
            let report = store.seed_extensions(&[with_pin]).await.unwrap();
            assert_eq!(report.updated, 1);
            assert_eq!(store.get_extension("1002").await.unwrap().unwrap().voicemail_pin.as_deref(), Some("2222"));
            assert_eq!(store.count_extensions().await.unwrap(), 4);
        }

        async fn seeding_validates_before_writing(store) {
            let seed = [NewExtension::new("5001", "Ok", "ok-secret-1"), NewExtension::new("", "Bad", "bad-secret")];
            assert!(store.seed_extensions(&seed).await.is_err());
            assert_eq!(store.count_extensions().await.unwrap(), 0);
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let mut new = NewExtension::new("1", "A", "very-secret");
        new.voicemail_pin = Some("8642".into());
        let dbg = format!("{new:?}");
        assert!(
            !dbg.contains("very-secret") && !dbg.contains("8642"),
            "{dbg}"
        );
        let ext = Extension {
            id: 1,
            number: "1".into(),
            display_name: "A".into(),
            secret: "very-secret".into(),
            voicemail_pin: Some("8642".into()),
            enabled: true,
            max_concurrent_calls: None,
            // Fixed times: the digits of a clock reading could contain the PIN's.
            created_at: DateTime::UNIX_EPOCH,
            updated_at: DateTime::UNIX_EPOCH,
        };
        let dbg = format!("{ext:?}");
        assert!(
            !dbg.contains("very-secret") && !dbg.contains("8642"),
            "{dbg}"
        );
    }
}
