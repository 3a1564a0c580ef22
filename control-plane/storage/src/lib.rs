//! Warden storage: sqlx on SQLite (embedded default) and PostgreSQL
//! (chosen by URL scheme).
//!
//! [`Store`] is a cheap, cloneable handle; its async methods are grouped
//! by table: extensions, call forwarding, registrar bindings, call records, voicemail, admin users
//! and the audit log. The API speaks plain domain structs and [`StorageError`];
//! nothing of the database driver leaks out. The schema lives in
//! `migrations/sqlite` and `migrations/postgres` at the repository root and
//! is embedded at build time ([`Store::migrate`]).

mod api_queries;
mod audit;
mod calls;
mod error;
mod extensions;
mod forwarding;
mod registrations;
mod row;
mod store;
mod users;
mod voicemail;

#[cfg(test)]
mod testing;

pub use api_queries::{NewRefreshToken, RefreshToken};
pub use audit::{AuditEntry, AuditFilter, NewAuditEntry};
pub use calls::{CallRecord, CallRecordFilter, Disposition, HangupSide, NewCallRecord, RtpQuality};
pub use error::{BoxError, Result, StorageError};
pub use extensions::{Extension, ExtensionFilter, ExtensionUpdate, NewExtension, SeedReport};
pub use forwarding::{Forwarding, DEFAULT_NO_ANSWER_SECS};
pub use registrations::{Binding, NewBinding};
pub use row::{truncate_ms, Page, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use store::{BackendKind, Store, StoreOptions};
pub use users::{AdminUser, NewAdminUser, Role, UserUpdate};
pub use voicemail::{
    NewVoicemailMessage, VoicemailBox, VoicemailMessage, DEFAULT_MAX_MESSAGE_SECS,
};
