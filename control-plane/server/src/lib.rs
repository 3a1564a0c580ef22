//! Warden's control plane: SIP transports, the SIP core and registrar, storage wiring, metrics
//! and the HTTP API. The protocol logic lives in the sans-IO crates (`warden-sip-proto`,
//! `warden-sip-txn`, `warden-sip-auth`); this crate owns the tokio runtime side.

mod api;
mod calls;
mod core;
mod error;
mod events;
pub mod logging;
mod media;
mod metrics;
mod registrar;
mod request;
mod server;
mod transport;

pub use error::ControlError;
pub use events::{CallEvent, EventBus, PbxEvent};
pub use media::available_cpus;
pub use metrics::Metrics;
pub use server::{new_extension, open_store, run, start, Running};
pub use transport::{Flow, Transport};
