//! Types both planes speak: the command/event protocol carried over per-core rtrb SPSC rings.
//!
//! The control plane pushes [`Command`]s to a media core and the core answers with [`Event`]s
//! on a second ring. Both travel as fixed-size, `Copy` [`Frame`]s with an explicit
//! `encode`/`decode`, so nothing on the media side owns heap memory or runs `Drop`, and the
//! core validates every frame it reads. A full ring is reported to the caller as [`RingFull`];
//! nothing is dropped silently.

mod codec;
mod command;
mod dtmf;
mod error;
mod event;
mod frame;
mod media_ops;
mod ring;
mod transcode;
mod types;

pub use command::{Command, RemoteSpec};
pub use dtmf::{DtmfDigit, DtmfSource, DtmfSpec};
pub use error::{DecodeError, RingFull};
pub use event::{ErrorCode, Event, StreamStats};
pub use frame::{Frame, FRAME_LEN};
pub use media_ops::{recording_file_name, PromptName, RecordMode, PROMPT_NAME_MAX};
pub use ring::{core_rings, CommandConsumer, CommandProducer, EventConsumer, EventProducer};
pub use transcode::{LegFormat, WireCodec};
pub use types::{Direction, EndpointHandle, PtMap, RequestId, PT_MAP_CAPACITY};
