//! Thread-per-core media plane on glommio: RTP/RTCP relay between bridged endpoints.
//!
//! [`MediaPlane::start`] runs one pinned glommio executor per configured core. Each core
//! owns a slice of the RTP port range, its sockets and endpoints, and talks to the control
//! plane only through its pair of rtrb rings (`warden-shared`). The control plane drives it
//! through the async methods of [`MediaPlane`] and listens to [`MediaEvent`]s.

mod config;
mod core;
mod doorbell;
mod dtmf;
mod endpoint;
mod error;
mod handle;
mod ids;
mod kernel;
mod load;
mod memlock;
mod notify;
mod playback;
mod ports;
mod pump;
mod record;
mod relay;
mod sys;
mod timers;
mod transcode;
mod writer;

pub use config::{default_cores, EngineConfig, KernelForwarding, MAX_WAKE_INTERVAL};
pub use error::MediaError;
pub use handle::{MediaPlane, PendingReply};
pub use ids::{EndpointId, EndpointInfo, MediaEvent, SessionId};
pub use load::{CoreLoad, CoreLoadSnapshot, DropReason, DROP_REASONS};
pub use pump::{EventPump, PumpBell, Pumped};
#[doc(hidden)]
pub use transcode::FramePath;
pub use warden_shared::{
    recording_file_name, Direction, DtmfDigit, DtmfSource, DtmfSpec, ErrorCode, LegFormat,
    PromptName, PtMap, RecordMode, RemoteSpec, StreamStats, WireCodec,
};
