//! DTMF: RFC 4733 telephone-events (payload, receiver, generator) and in-band detection.

mod detect;
mod event;
mod generator;
mod goertzel;
mod receiver;

pub use detect::{DtmfDetector, InbandEvent};
pub use event::{Digit, TelephoneEvent};
pub use generator::{DtmfGenerator, DtmfPacket, DtmfPackets};
pub use receiver::{DtmfEvent, DtmfReceiver};
