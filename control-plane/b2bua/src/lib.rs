//! A sans-IO back-to-back user agent: calls between extensions with media anchored in the
//! media plane.
//!
//! [`B2bua`] owns the transaction layer of call signalling and every call (module `call`:
//! one state machine per call, each state a struct). The glue hands it parsed messages and
//! `now`, answers its [`Action`]s (authenticate the caller, locate the callee, open media)
//! and sends its [`Transmit`]s; time only moves through [`B2bua::handle_timeout`].
//! Offer/answer with anchored media is in module `sdp` (and, for legs without a common
//! codec, `transcode`), dialogs in `dialog`, and `sim` (tests
//! only) steps phones, the B2BUA and a scripted glue through simulated time.
//!
//! Nothing here reads the clock, spawns, or touches sockets, files or databases.

mod b2bua;
mod call;
mod config;
mod ctx;
mod dialog;
mod error;
mod ids;
mod io;
mod msg;
mod sdp;
mod timers;
mod transcode;

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

pub use b2bua::B2bua;
pub use config::Config;
pub use error::B2buaError;
pub use ids::{CallId, Dest, Flow, Leg, Transport};
pub use io::{
    Action, AuthRequest, AuthVerdict, CallEvent, CallInfo, CallPhase, CallRecord, Disposition,
    DtmfFormats, ForwardRules, HangupSide, LegCodec, LegInfo, Location, MediaAddrs, MediaDirection,
    Party, RemoteMedia, Reply, Target, Transmit, VoiceCodec, VoicemailRule,
};
pub use msg::request_key;
pub use warden_sip_txn::TxId;
