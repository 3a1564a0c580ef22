//! End-to-end tests: the real `warden` binary against SIPp, on SQLite and PostgreSQL.
//!
//! Each test starts its own server on free ports with its own database, so tests run in
//! parallel. Logs and SIPp traces land in `$WARDEN_TEST_ARTIFACTS` (default
//! `target/test-artifacts`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod audio;
mod calls;
mod cli;
mod digest;
mod harness;
mod live;
mod protocol;
mod register;
