//! Receive statistics and call-quality estimation.

pub mod quality;
mod recv;

pub use quality::{Codec, Quality};
pub use recv::{
    Continuation, RecvStats, SeqOutcome, StreamStats, MAX_DROPOUT, MAX_MISORDER, MIN_SEQUENTIAL,
};
