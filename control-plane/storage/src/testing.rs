//! Test harness: runs each test body against a fresh SQLite database in a
//! temporary directory and, when `WARDEN_TEST_PG_URL` names a PostgreSQL
//! server (see `scripts/pg-test-server.sh`), against a fresh database
//! created on that server for the test and dropped afterwards.

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use crate::store::StoreOptions;
use crate::Store;

/// Environment variable with the admin URL of a PostgreSQL test server.
pub(crate) const PG_URL_VAR: &str = "WARDEN_TEST_PG_URL";

pub(crate) type BoxFut = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Declares `#[tokio::test]` functions whose body runs on every backend.
macro_rules! backend_tests {
    ($(async fn $name:ident($store:ident) $body:block)+) => {
        $(
            #[tokio::test]
            async fn $name() {
                fn body($store: $crate::Store) -> $crate::testing::BoxFut {
                    Box::pin(async move $body)
                }
                $crate::testing::on_all_backends(stringify!($name), body).await;
            }
        )+
    };
}
pub(crate) use backend_tests;

/// Runs `body` on SQLite, then on PostgreSQL when configured.
pub(crate) async fn on_all_backends(name: &str, body: fn(Store) -> BoxFut) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    if let Err(e) = outcome {
        eprintln!("{name}: failed on sqlite");
        std::panic::resume_unwind(e.into_panic());
    }

    match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => on_postgres(name, url.trim(), body).await,
        _ => eprintln!("note: {name}: {PG_URL_VAR} is not set, skipping the PostgreSQL run"),
    }
}

async fn on_postgres(name: &str, admin_url: &str, body: fn(Store) -> BoxFut) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin = PgConnectOptions::from_str(admin_url).unwrap();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let db = format!(
        "warden_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    let mut conn = PgConnection::connect_with(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .unwrap();

    let options = StoreOptions {
        max_connections: Some(4),
        ..StoreOptions::default()
    };
    let store = Store::connect_postgres(admin.clone().database(&db), &options)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let outcome = tokio::spawn(body(store.clone())).await;
    store.close().await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    if let Err(e) = outcome {
        eprintln!("{name}: failed on postgres");
        std::panic::resume_unwind(e.into_panic());
    }
}
