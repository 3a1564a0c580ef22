//! Sans-IO SIP (RFC 3261) and SDP (RFC 8866) parsing and serialisation.
//!
//! * [`parse_message`] parses a datagram (or a deframed stream message)
//!   into a zero-copy [`Message`] with typed, lazily parsed accessors;
//!   [`validate_request`] adds the checks left to the receiving element and
//!   [`salvage_for_error_response`] rescues what is needed to answer an
//!   unparsable request with `400 Bad Request`.
//! * [`parse_uri`] parses `sip:`, `sips:`, `tel:` and opaque URIs;
//!   [`Uri::equivalent`] compares them per RFC 3261 §19.1.4.
//! * [`response_to`], [`Response::builder`] and [`RequestBuilder`] build
//!   messages; [`Message::write`] serialises a parsed one.
//! * [`Deframer`] cuts messages out of a TCP/TLS byte stream.
//! * [`sdp`] parses and writes session descriptions.
//!
//! Nothing here reads the clock, spawns, or touches sockets or files.

#![warn(missing_docs)]

mod access;
mod builder;
mod chars;
mod deframe;
mod error;
mod header;
mod message;
mod method;
mod name_addr;
mod params;
pub mod sdp;
mod start_line;
mod text;
mod typed;
mod uri;
mod uri_cmp;
mod validate;
mod via;
mod write;

pub use builder::{response_to, RequestBuilder, Response, ResponseBuilder};
pub use deframe::{Deframer, Frame, DEFAULT_MAX_HEADER_SIZE};
pub use error::{FrameError, ParseError, SdpError};
pub use header::{Header, HeaderKind};
pub use message::{parse_message, Message, StartLine, MAX_HEADERS};
pub use method::Method;
pub use name_addr::{Contact, NameAddr};
pub use params::{Param, ParamIter, Params};
pub use text::{percent_decode, unfold};
pub use typed::{CSeq, MediaType};
pub use uri::{parse_uri, Host, Scheme, Uri};
pub use validate::{salvage_for_error_response, validate_request, Salvaged};
pub use via::{RPort, Transport, Via};
