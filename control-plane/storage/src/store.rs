//! The [`Store`] handle: a connection pool to SQLite or PostgreSQL chosen by
//! the URL scheme, and the embedded schema migrations.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{query_err, Result, StorageError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// Embedded SQLite file (or in-memory database).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// Pool settings for [`Store::connect_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Largest number of pooled connections (default 8 for SQLite, 16 for
    /// PostgreSQL when `None`). An in-memory SQLite database always uses a
    /// single connection.
    pub max_connections: Option<u32>,
    /// How long to wait for a free connection (default 10 s).
    pub acquire_timeout: Duration,
    /// How long SQLite waits on a locked database before failing
    /// (default 5 s).
    pub busy_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            acquire_timeout: Duration::from_secs(10),
            busy_timeout: Duration::from_secs(5),
        }
    }
}

/// Handle to the database. Cloning is cheap (the pool is shared).
#[derive(Clone)]
pub struct Store {
    pub(crate) backend: Backend,
}

#[derive(Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.kind())
            .finish()
    }
}

/// Runs `$body` with `$pool` bound to the concrete pool of `$store`. The
/// body is compiled once per backend, so it may use backend-specific types
/// through the [`crate::row`] helper traits while sharing the SQL text.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::store::Backend::Sqlite($pool) => $body,
            $crate::store::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Opens a pool for `url` with default settings.
    ///
    /// * `sqlite://path/to/file.db` (or `sqlite:path`, `sqlite::memory:`):
    ///   the file and its parent directory are created if missing; the
    ///   connection uses WAL journaling, a busy timeout and foreign keys.
    /// * `postgres://user:pass@host:port/db` (or `postgresql://`).
    ///
    /// Call [`Store::migrate`] before use.
    pub async fn connect(url: &str) -> Result<Store> {
        Self::connect_with(url, &StoreOptions::default()).await
    }

    /// [`Store::connect`] with explicit pool settings.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store> {
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pg = PgConnectOptions::from_str(url).map_err(|e| StorageError::InvalidUrl {
                url: redact(url),
                reason: e.to_string(),
            })?;
            Self::connect_postgres(pg, options).await
        } else {
            Err(StorageError::InvalidUrl {
                url: redact(url),
                reason: "expected a sqlite: or postgres:// URL".to_owned(),
            })
        }
    }

    async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<Store> {
        let opts = SqliteConnectOptions::from_str(url)
            .map_err(|e| StorageError::InvalidUrl {
                url: redact(url),
                reason: e.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            if let Some(dir) = opts
                .get_filename()
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| StorageError::Connect(Box::new(e)))?;
            }
        }
        let mut pool = SqlitePoolOptions::new().acquire_timeout(options.acquire_timeout);
        pool = if in_memory {
            // Every connection to `:memory:` is a separate database: keep
            // exactly one, forever.
            pool.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool.max_connections(options.max_connections.unwrap_or(8))
        };
        // An in-process connection cannot go away under the pool: skip the ping round trip
        // to the connection's worker thread that would precede every query.
        let pool = pool.test_before_acquire(false);
        let pool = pool
            .connect_with(opts)
            .await
            .map_err(|e| StorageError::Connect(Box::new(e)))?;
        tracing::debug!(in_memory, "sqlite database opened");
        Ok(Store {
            backend: Backend::Sqlite(pool),
        })
    }

    pub(crate) async fn connect_postgres(
        opts: PgConnectOptions,
        options: &StoreOptions,
    ) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.unwrap_or(16))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(opts)
            .await
            .map_err(|e| StorageError::Connect(Box::new(e)))?;
        tracing::debug!("postgres database connected");
        Ok(Store {
            backend: Backend::Postgres(pool),
        })
    }

    /// Applies the embedded migrations that have not run yet. Safe to call
    /// at every start and from several processes at once.
    pub async fn migrate(&self) -> Result<()> {
        let res = match &self.backend {
            Backend::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Backend::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        };
        res.map_err(|e| StorageError::Migrate(Box::new(e)))?;
        tracing::info!(backend = ?self.kind(), "database schema up to date");
        Ok(())
    }

    /// Which engine this store uses.
    pub fn kind(&self) -> BackendKind {
        match &self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Checks that the database answers (for health endpoints).
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()).map_err(query_err))
    }

    /// Closes every pooled connection; later calls fail.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

/// Removes the password from a URL before it goes into an error message.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_file_and_parent_dirs_are_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a/b/warden.db");
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        store.migrate().await.unwrap(); // idempotent
        store.ping().await.unwrap();
        assert_eq!(store.kind(), BackendKind::Sqlite);
        assert!(file.exists());
        store.close().await;
        assert!(store.ping().await.is_err());
    }

    #[tokio::test]
    async fn sqlite_connection_settings_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.db").display());
        let store = Store::connect(&url).await.unwrap();
        let Backend::Sqlite(pool) = &store.backend else {
            unreachable!()
        };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(busy, 5000);
    }

    #[tokio::test]
    async fn in_memory_database_keeps_its_data() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let again = store.clone();
        again.ping().await.unwrap();
        let Backend::Sqlite(pool) = &store.backend else {
            unreachable!()
        };
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM extensions")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn bad_urls_are_rejected_without_leaking_passwords() {
        let err = Store::connect("mysql://root:hunter2@db/x")
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::InvalidUrl { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(err.to_string().contains("root:***@db/x"), "{err}");
        let err = Store::connect("postgres://u:p@host:notaport/db")
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::InvalidUrl { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn unreachable_postgres_is_a_connect_error() {
        let opts = StoreOptions {
            acquire_timeout: Duration::from_millis(500),
            ..StoreOptions::default()
        };
        // Port 1 on localhost: nothing listens there.
        let err = Store::connect_with("postgres://u@127.0.0.1:1/db", &opts)
            .await
            .unwrap_err();
        assert!(matches!(err, StorageError::Connect(_)), "{err:?}");
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("postgres://a:b@h:5/d?x=1"),
            "postgres://a:***@h:5/d?x=1"
        );
        assert_eq!(redact("postgres://h/d"), "postgres://h/d");
        assert_eq!(redact("nonsense"), "nonsense");
    }
}
