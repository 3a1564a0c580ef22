//! A cache of the directory lookups a call makes (the caller's and the callee's extension,
//! the callee's forwarding rules, voicemail box and registrations): under load most calls
//! then cost no database round trip before they ring.
//!
//! - Extensions, forwarding rules and voicemail boxes are kept while the directory's
//!   version (a counter that database triggers move on with every change to them, whoever
//!   makes it) stands still. The version is read again at most every [`TTL`], one small
//!   query for all the entries, so a change made outside this process (the `warden extension`
//!   command, another program) is seen within [`TTL`]. The API's own changes drop the
//!   entries at once ([`Directory::forget_number`]). Nothing is kept longer than
//!   [`MAX_AGE`].
//! - Registrations are kept for [`TTL`] and dropped as soon as the registrar reports a
//!   change for the extension; expired bindings are never used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;
use warden_storage::{Binding, Extension, Forwarding, StorageError, Store, VoicemailBox};

use super::Calls;
use crate::events::PbxEvent;

/// How long a registration lookup, or a reading of the directory's version, is trusted.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// Longest a directory entry is kept, even while the version stands still.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(300);

/// Most entries kept per table; past it the table starts over.
const MAX_ENTRIES: usize = 10_000;

/// An entry: when it was read, the directory version it was read under, and the value.
type Table<T> = Mutex<HashMap<String, (Instant, i64, T)>>;

/// The directory's version as last read, and when.
#[derive(Clone, Copy)]
struct Version {
    read_at: Instant,
    version: i64,
}

/// Cached extensions and bindings.
#[derive(Default)]
pub(crate) struct Directory {
    extensions: Table<Option<Extension>>,
    forwarding: Table<Forwarding>,
    voicemail: Table<VoicemailBox>,
    bindings: Table<Vec<Binding>>,
    version: Mutex<Option<Version>>,
}

/// The entry for `key`, if it is younger than `max_age` and was read under `version`
/// (`None`: any version).
fn cached<T: Clone>(
    table: &Table<T>,
    key: &str,
    max_age: Duration,
    version: Option<i64>,
) -> Option<T> {
    let t = table.lock().ok()?;
    let (at, read_under, value) = t.get(key)?;
    let current = version.is_none_or(|v| v == *read_under);
    (current && at.elapsed() < max_age).then(|| value.clone())
}

fn keep<T>(table: &Table<T>, key: &str, version: i64, value: T) {
    if let Ok(mut t) = table.lock() {
        if t.len() >= MAX_ENTRIES {
            t.clear();
        }
        t.insert(key.to_string(), (Instant::now(), version, value));
    }
}

impl Directory {
    /// The directory's version, read again when the last reading is older than [`TTL`];
    /// `None` when it cannot be read (nothing cached is used then).
    async fn version(&self, store: &Store) -> Option<i64> {
        let last = self.version.lock().ok().and_then(|v| *v);
        if let Some(v) = last.filter(|v| v.read_at.elapsed() < TTL) {
            return Some(v.version);
        }
        let read_at = Instant::now();
        match store.directory_version().await {
            Ok(version) => {
                if let Ok(mut v) = self.version.lock() {
                    *v = Some(Version { read_at, version });
                }
                Some(version)
            }
            Err(error) => {
                tracing::debug!(%error, "directory version not read");
                None
            }
        }
    }

    /// A directory entry from `table`, or `read` from the database and kept. The version
    /// is taken before the read: a change after it moves the version on and drops the
    /// entry.
    async fn lookup<T: Clone, F>(
        &self,
        store: &Store,
        table: &Table<T>,
        key: &str,
        read: F,
    ) -> Result<T, StorageError>
    where
        F: std::future::Future<Output = Result<T, StorageError>>,
    {
        let version = self.version(store).await;
        if let Some(v) = version {
            if let Some(value) = cached(table, key, MAX_AGE, Some(v)) {
                return Ok(value);
            }
        }
        let value = read.await?;
        if let Some(v) = version {
            keep(table, key, v, value.clone());
        }
        Ok(value)
    }

    /// The extension `number` (or `None`), from the cache or the database.
    pub(crate) async fn extension(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<Option<Extension>, StorageError> {
        self.lookup(store, &self.extensions, number, store.get_extension(number))
            .await
    }

    /// The forwarding rules of extension `number`, from the cache or the database.
    pub(crate) async fn forwarding(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<Forwarding, StorageError> {
        self.lookup(
            store,
            &self.forwarding,
            number,
            store.get_forwarding(number),
        )
        .await
    }

    /// The voicemail box settings of extension `number`, from the cache or the database.
    pub(crate) async fn voicemail_box(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<VoicemailBox, StorageError> {
        self.lookup(
            store,
            &self.voicemail,
            number,
            store.get_voicemail_box(number),
        )
        .await
    }

    /// Forgets the cached extension, forwarding rules and voicemail box of `number` (after
    /// an API change).
    pub(crate) fn forget_number(&self, number: &str) {
        if let Ok(mut t) = self.extensions.lock() {
            t.remove(number);
        }
        if let Ok(mut t) = self.forwarding.lock() {
            t.remove(number);
        }
        if let Ok(mut t) = self.voicemail.lock() {
            t.remove(number);
        }
    }

    /// The unexpired bindings of `aor`, from the cache or the database.
    pub(crate) async fn bindings(
        &self,
        store: &Store,
        aor: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Binding>, StorageError> {
        if let Some(list) = cached(&self.bindings, aor, TTL, None) {
            return Ok(list.into_iter().filter(|b| b.expires_at > now).collect());
        }
        let list = store.bindings_for(aor, now).await?;
        keep(&self.bindings, aor, 0, list.clone());
        Ok(list)
    }

    /// Forgets the bindings of `aor` (all of them for `None`).
    pub(crate) fn forget_bindings(&self, aor: Option<&str>) {
        if let Ok(mut t) = self.bindings.lock() {
            match aor {
                Some(aor) => {
                    t.remove(aor);
                }
                None => t.clear(),
            }
        }
    }
}

impl Calls {
    /// Drops cached registrations when the registrar (or the API) changes them.
    pub(super) async fn registrations(self: Arc<Self>) {
        let mut rx = self.events.subscribe();
        loop {
            match rx.recv().await {
                Ok(PbxEvent::Registered { aor, .. } | PbxEvent::Unregistered { aor, .. }) => {
                    self.directory.forget_bindings(Some(&aor));
                }
                Err(RecvError::Lagged(_)) => self.directory.forget_bindings(None),
                Err(RecvError::Closed) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_storage::{ExtensionUpdate, NewExtension};

    #[test]
    fn entries_are_good_while_young_enough_and_read_under_the_version() {
        let d = Directory::default();
        keep(&d.bindings, "1001", 0, Vec::new());
        assert_eq!(cached(&d.bindings, "1001", TTL, None), Some(Vec::new()));
        d.forget_bindings(Some("1001"));
        assert_eq!(cached(&d.bindings, "1001", TTL, None), None);

        keep(&d.extensions, "1002", 7, None);
        assert_eq!(cached(&d.extensions, "1002", MAX_AGE, Some(7)), Some(None));
        assert_eq!(
            cached(&d.extensions, "1002", MAX_AGE, Some(8)),
            None,
            "read under another version"
        );
        let age = |by: Duration| {
            if let Ok(mut t) = d.extensions.lock() {
                if let Some(entry) = t.get_mut("1002") {
                    entry.0 = Instant::now() - by;
                }
            }
        };
        age(TTL);
        assert_eq!(
            cached(&d.extensions, "1002", MAX_AGE, Some(7)),
            Some(None),
            "older than the TTL, but the version stood still"
        );
        age(MAX_AGE);
        assert_eq!(cached(&d.extensions, "1002", MAX_AGE, Some(7)), None);

        keep(&d.extensions, "1003", 7, None);
        keep(&d.forwarding, "1003", 7, Forwarding::default());
        keep(&d.forwarding, "1004", 7, Forwarding::default());
        d.forget_number("1003");
        assert_eq!(cached(&d.extensions, "1003", MAX_AGE, Some(7)), None);
        assert_eq!(cached(&d.forwarding, "1003", MAX_AGE, Some(7)), None);
        assert_eq!(
            cached(&d.forwarding, "1004", MAX_AGE, Some(7)),
            Some(Forwarding::default())
        );
    }

    #[tokio::test]
    async fn a_change_made_outside_the_api_is_seen_once_the_version_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("d.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
            .create_extension(&NewExtension::new("1001", "Alice", "first-secret"))
            .await
            .unwrap();
        let d = Directory::default();
        let secret = |e: Option<Extension>| e.map(|e| e.secret);
        let first = d.extension(&store, "1001").await.unwrap();
        assert_eq!(secret(first), Some("first-secret".into()));

        // As the `warden extension` command would: straight to the database.
        let update = ExtensionUpdate {
            secret: Some("second-secret".into()),
            ..Default::default()
        };
        store.update_extension("1001", &update).await.unwrap();
        let cached_one = d.extension(&store, "1001").await.unwrap();
        assert_eq!(
            secret(cached_one),
            Some("first-secret".into()),
            "the version was read less than a TTL ago"
        );
        if let Ok(mut v) = d.version.lock() {
            if let Some(v) = v.as_mut() {
                v.read_at = Instant::now() - TTL;
            }
        }
        let seen = d.extension(&store, "1001").await.unwrap();
        assert_eq!(secret(seen), Some("second-secret".into()));

        // A version that stands still keeps the entry past the TTL.
        if let Ok(mut t) = d.extensions.lock() {
            if let Some(entry) = t.get_mut("1001") {
                entry.0 = Instant::now() - TTL;
            }
        }
        if let Ok(mut v) = d.version.lock() {
            if let Some(v) = v.as_mut() {
                v.read_at = Instant::now() - TTL;
            }
        }
        let (at_before, _, _) = d.extensions.lock().unwrap()["1001"].clone();
        assert!(d.extension(&store, "1001").await.unwrap().is_some());
        let (at_after, _, _) = d.extensions.lock().unwrap()["1001"].clone();
        assert_eq!(at_before, at_after, "not read again");
        store.close().await;
    }
}
