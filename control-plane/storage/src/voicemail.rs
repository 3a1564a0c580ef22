//! Voicemail: one box per extension (absent: off) and the messages left in it.

use chrono::{DateTime, Utc};

use crate::error::{query_err, Result, StorageError, Subject};
use crate::row::{to_i64, Dialect, RowExt};
use crate::store::{with_pool, Store};

/// Default longest message, in seconds.
pub const DEFAULT_MAX_MESSAGE_SECS: u32 = 120;

/// The voicemail settings of one extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailBox {
    /// Calls that would fail busy, unanswered or unregistered go to voicemail.
    pub enabled: bool,
    /// A message is cut (and the caller hung up on) after this many seconds (5 to 600).
    pub max_message_secs: u32,
    /// Last change (`None`: never set, the defaults).
    pub updated_at: Option<DateTime<Utc>>,
}

impl Default for VoicemailBox {
    fn default() -> Self {
        VoicemailBox {
            enabled: false,
            max_message_secs: DEFAULT_MAX_MESSAGE_SECS,
            updated_at: None,
        }
    }
}

/// A message to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoicemailMessage {
    /// The extension whose box it is in.
    pub extension: String,
    /// Who left it (the caller's user part or URI).
    pub caller: String,
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// When the recording started.
    pub received_at: DateTime<Utc>,
    /// Length of the recorded audio in milliseconds.
    pub duration_ms: u64,
    /// The WAV file.
    pub file_path: String,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailMessage {
    /// Row id.
    pub id: i64,
    /// The extension whose box it is in.
    pub extension: String,
    /// Who left it.
    pub caller: String,
    /// The SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// When the recording started.
    pub received_at: DateTime<Utc>,
    /// Length of the recorded audio in milliseconds.
    pub duration_ms: u64,
    /// The WAV file.
    pub file_path: String,
    /// Marked as heard.
    pub heard: bool,
}

const BOX_COLUMNS: &str = "enabled, max_message_secs, updated_at";
const MSG_COLUMNS: &str =
    "id, extension, caller, call_id, received_at, duration_ms, file_path, heard";

fn box_from_row(r: &impl RowExt) -> Result<VoicemailBox> {
    Ok(VoicemailBox {
        enabled: r.flag("enabled")?,
        max_message_secs: r.u32("max_message_secs")?,
        updated_at: Some(r.ts("updated_at")?),
    })
}

fn msg_from_row(r: &impl RowExt) -> Result<VoicemailMessage> {
    Ok(VoicemailMessage {
        id: r.int("id")?,
        extension: r.text("extension")?,
        caller: r.text("caller")?,
        call_id: r.text("call_id")?,
        received_at: r.ts("received_at")?,
        duration_ms: r.u64("duration_ms")?,
        file_path: r.text("file_path")?,
        heard: r.flag("heard")?,
    })
}

fn not_found(id: i64) -> StorageError {
    StorageError::NotFound {
        entity: "voicemail message",
        key: id.to_string(),
    }
}

impl Store {
    /// The voicemail box of extension `number` (the defaults, off, when none was set).
    pub async fn get_voicemail_box(&self, number: &str) -> Result<VoicemailBox> {
        let sql = format!("SELECT {BOX_COLUMNS} FROM voicemail_boxes WHERE extension = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(number).fetch_optional(pool).await.map_err(query_err)?;
            Ok(row.as_ref().map(box_from_row).transpose()?.unwrap_or_default())
        })
    }

    /// Sets the voicemail box of extension `number` (which must exist); returns it as stored.
    pub async fn set_voicemail_box(&self, number: &str, b: &VoicemailBox) -> Result<VoicemailBox> {
        if !(5..=600).contains(&b.max_message_secs) {
            return Err(StorageError::InvalidInput {
                field: "max_message_secs",
                reason: "must be 5 to 600".to_owned(),
            });
        }
        let sql = format!(
            "INSERT INTO voicemail_boxes (extension, enabled, max_message_secs, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (extension) DO UPDATE SET \
             enabled = excluded.enabled, max_message_secs = excluded.max_message_secs, \
             updated_at = excluded.updated_at RETURNING {BOX_COLUMNS}"
        );
        let now = Utc::now();
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(number)
                .bind(b.enabled)
                .bind(i64::from(b.max_message_secs))
                .bind(pool.ts(now))
                .fetch_one(pool)
                .await
                .map_err(|e| StorageError::from_sqlx(e, Some(Subject { entity: "extension", key: number })))?;
            box_from_row(&row)
        })
    }

    /// Stores a message.
    pub async fn insert_voicemail_message(
        &self,
        m: &NewVoicemailMessage,
    ) -> Result<VoicemailMessage> {
        let duration = to_i64("duration_ms", m.duration_ms)?;
        let sql = format!(
            "INSERT INTO voicemail_messages (extension, caller, call_id, received_at, \
             duration_ms, file_path) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {MSG_COLUMNS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(&m.extension)
                .bind(&m.caller)
                .bind(&m.call_id)
                .bind(pool.ts(m.received_at))
                .bind(duration)
                .bind(&m.file_path)
                .fetch_one(pool)
                .await
                .map_err(query_err)?;
            msg_from_row(&row)
        })
    }

    /// The messages of extension `number`, newest first.
    pub async fn list_voicemail_messages(&self, number: &str) -> Result<Vec<VoicemailMessage>> {
        let sql = format!(
            "SELECT {MSG_COLUMNS} FROM voicemail_messages WHERE extension = $1 \
             ORDER BY received_at DESC, id DESC"
        );
        with_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(number).fetch_all(pool).await.map_err(query_err)?;
            rows.iter().map(msg_from_row).collect()
        })
    }

    /// One message by id.
    pub async fn get_voicemail_message(&self, id: i64) -> Result<VoicemailMessage> {
        let sql = format!("SELECT {MSG_COLUMNS} FROM voicemail_messages WHERE id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(msg_from_row).transpose()?.ok_or_else(|| not_found(id))
        })
    }

    /// Marks a message heard (or not); returns it as stored.
    pub async fn set_voicemail_heard(&self, id: i64, heard: bool) -> Result<VoicemailMessage> {
        let sql = format!(
            "UPDATE voicemail_messages SET heard = $2 WHERE id = $1 RETURNING {MSG_COLUMNS}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).bind(heard).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(msg_from_row).transpose()?.ok_or_else(|| not_found(id))
        })
    }

    /// Deletes a message row; returns it (the caller deletes its file).
    pub async fn delete_voicemail_message(&self, id: i64) -> Result<VoicemailMessage> {
        let sql = format!("DELETE FROM voicemail_messages WHERE id = $1 RETURNING {MSG_COLUMNS}");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql).bind(id).fetch_optional(pool).await.map_err(query_err)?;
            row.as_ref().map(msg_from_row).transpose()?.ok_or_else(|| not_found(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::backend_tests;
    use crate::{NewExtension, StorageError};

    use super::*;

    backend_tests! {
        async fn voicemail_box_defaults_set_and_cascade(store) {
            store.create_extension(&NewExtension::new("1002", "Bob", "bob-secret-1")).await.unwrap();
            assert_eq!(store.get_voicemail_box("1002").await.unwrap(), VoicemailBox::default());

            let on = VoicemailBox { enabled: true, max_message_secs: 30, updated_at: None };
            let stored = store.set_voicemail_box("1002", &on).await.unwrap();
            assert!(stored.updated_at.is_some());
            assert_eq!(VoicemailBox { updated_at: None, ..stored.clone() }, on);
            assert_eq!(store.get_voicemail_box("1002").await.unwrap(), stored);

            let off = VoicemailBox { enabled: false, ..on.clone() };
            assert!(!store.set_voicemail_box("1002", &off).await.unwrap().enabled);

            let err = store.set_voicemail_box("1002", &VoicemailBox { max_message_secs: 1, ..on.clone() }).await.unwrap_err();
            assert!(matches!(err, StorageError::InvalidInput { field: "max_message_secs", .. }), "{err:?}");
            assert!(store.set_voicemail_box("1999", &on).await.is_err());
            store.delete_extension("1002").await.unwrap();
            assert_eq!(store.get_voicemail_box("1002").await.unwrap(), VoicemailBox::default());
        }

        async fn voicemail_messages_insert_list_heard_delete(store) {
            let t0 = crate::truncate_ms(Utc::now());
            let new = |ext: &str, caller: &str, secs: i64| NewVoicemailMessage {
                extension: ext.into(),
                caller: caller.into(),
                call_id: format!("{caller}-{secs}@test"),
                received_at: t0 + chrono::Duration::seconds(secs),
                duration_ms: 3_020,
                file_path: format!("/var/rec/vm-{caller}-{secs}.wav"),
            };
            let a = store.insert_voicemail_message(&new("1002", "1001", 0)).await.unwrap();
            let b = store.insert_voicemail_message(&new("1002", "1003", 5)).await.unwrap();
            store.insert_voicemail_message(&new("1004", "1001", 1)).await.unwrap();
            assert_eq!(a.extension, "1002");
            assert_eq!(a.received_at, t0);
            assert_eq!(a.duration_ms, 3_020);
            assert!(!a.heard);

            let list = store.list_voicemail_messages("1002").await.unwrap();
            assert_eq!(list.iter().map(|m| m.id).collect::<Vec<_>>(), vec![b.id, a.id]);
            assert_eq!(store.get_voicemail_message(a.id).await.unwrap(), a);

            let heard = store.set_voicemail_heard(a.id, true).await.unwrap();
            assert!(heard.heard);
            assert!(store.get_voicemail_message(a.id).await.unwrap().heard);

            let gone = store.delete_voicemail_message(a.id).await.unwrap();
            assert_eq!(gone.file_path, a.file_path);
            assert_eq!(store.list_voicemail_messages("1002").await.unwrap().len(), 1);
            let err = store.get_voicemail_message(a.id).await.unwrap_err();
            assert!(matches!(err, StorageError::NotFound { .. }), "{err:?}");
            assert!(matches!(store.delete_voicemail_message(a.id).await.unwrap_err(), StorageError::NotFound { .. }));
            assert!(matches!(store.set_voicemail_heard(a.id, false).await.unwrap_err(), StorageError::NotFound { .. }));
        }
    }
}
