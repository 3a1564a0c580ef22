//! A short-lived cache of the directory lookups a call makes (the caller's and the callee's
//! extension, the callee's forwarding rules, voicemail box and registrations): under load most calls then
//! cost no database round trip before they ring. Entries are kept for [`TTL`]; extensions,
//! forwarding rules and voicemail boxes are also dropped when the API changes them
//! ([`Directory::forget_number`]), registrations as soon as the registrar reports a change
//! for the extension, and expired bindings are never used.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::broadcast::error::RecvError;
use warden_storage::{Binding, Extension, Forwarding, StorageError, Store, VoicemailBox};

use super::Calls;
use crate::events::PbxEvent;

/// How long a lookup is reused.
pub(crate) const TTL: Duration = Duration::from_secs(2);

/// Most entries kept per table; past it the table starts over.
const MAX_ENTRIES: usize = 10_000;

type Table<T> = Mutex<HashMap<String, (Instant, T)>>;

/// Cached extensions and bindings.
#[derive(Default)]
pub(crate) struct Directory {
    extensions: Table<Option<Extension>>,
    forwarding: Table<Forwarding>,
    voicemail: Table<VoicemailBox>,
    bindings: Table<Vec<Binding>>,
}

fn cached<T: Clone>(table: &Table<T>, key: &str) -> Option<T> {
    let t = table.lock().ok()?;
    let (at, value) = t.get(key)?;
    (at.elapsed() < TTL).then(|| value.clone())
}

fn keep<T>(table: &Table<T>, key: &str, value: T) {
    if let Ok(mut t) = table.lock() {
        if t.len() >= MAX_ENTRIES {
            t.clear();
        }
        t.insert(key.to_string(), (Instant::now(), value));
    }
}

impl Directory {
    /// The extension `number` (or `None`), from the cache or the database.
    pub(crate) async fn extension(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<Option<Extension>, StorageError> {
        if let Some(ext) = cached(&self.extensions, number) {
            return Ok(ext);
        }
        let ext = store.get_extension(number).await?;
        keep(&self.extensions, number, ext.clone());
        Ok(ext)
    }

    /// The forwarding rules of extension `number`, from the cache or the database.
    pub(crate) async fn forwarding(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<Forwarding, StorageError> {
        if let Some(f) = cached(&self.forwarding, number) {
            return Ok(f);
        }
        let f = store.get_forwarding(number).await?;
        keep(&self.forwarding, number, f.clone());
        Ok(f)
    }

    /// The voicemail box settings of extension `number`, from the cache or the database.
    pub(crate) async fn voicemail_box(
        &self,
        store: &Store,
        number: &str,
    ) -> Result<VoicemailBox, StorageError> {
        if let Some(b) = cached(&self.voicemail, number) {
            return Ok(b);
        }
        let b = store.get_voicemail_box(number).await?;
        keep(&self.voicemail, number, b.clone());
        Ok(b)
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
        if let Some(list) = cached(&self.bindings, aor) {
            return Ok(list.into_iter().filter(|b| b.expires_at > now).collect());
        }
        let list = store.bindings_for(aor, now).await?;
        keep(&self.bindings, aor, list.clone());
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

    #[test]
    fn entries_expire_and_can_be_forgotten() {
        let d = Directory::default();
        keep(&d.bindings, "1001", Vec::new());
        assert_eq!(cached(&d.bindings, "1001"), Some(Vec::new()));
        d.forget_bindings(Some("1001"));
        assert_eq!(cached(&d.bindings, "1001"), None);
        keep(&d.extensions, "1002", None);
        assert_eq!(cached(&d.extensions, "1002"), Some(None));
        if let Ok(mut t) = d.extensions.lock() {
            if let Some(entry) = t.get_mut("1002") {
                entry.0 = Instant::now() - TTL;
            }
        }
        assert_eq!(cached(&d.extensions, "1002"), None, "stale after the TTL");
        keep(&d.extensions, "1003", None);
        keep(&d.forwarding, "1003", Forwarding::default());
        keep(&d.forwarding, "1004", Forwarding::default());
        d.forget_number("1003");
        assert_eq!(cached(&d.extensions, "1003"), None);
        assert_eq!(cached(&d.forwarding, "1003"), None);
        assert_eq!(cached(&d.forwarding, "1004"), Some(Forwarding::default()));
    }
}
