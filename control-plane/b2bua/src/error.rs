//! The crate's error type.

use thiserror::Error;

use crate::CallId;

/// Why a request made to the [`crate::B2bua`] by its caller could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum B2buaError {
    /// No call has this id, or it has already ended.
    #[error("no call {0}")]
    NoSuchCall(CallId),
    /// The call is not waiting for this input (a late or duplicated answer from the glue).
    #[error("call {call} is not waiting for {input}")]
    UnexpectedInput {
        /// The call.
        call: CallId,
        /// What was given.
        input: &'static str,
    },
}
