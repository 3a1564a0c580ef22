//! The media engine's error type.

use warden_shared::ErrorCode;

/// Everything the media plane can report to the control plane.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A configuration value is unusable.
    #[error("invalid media configuration `{field}`: {reason}")]
    Config {
        /// The offending setting.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The locked-memory limit is too low for the io_uring buffers of the configured cores.
    #[error(
        "RLIMIT_MEMLOCK is {current} bytes but the media plane needs {needed} bytes \
         ({cores} cores x 3 rings x io_memory); raise it with `ulimit -l {needed_kib}` \
         (or `unlimited`), systemd `LimitMEMLOCK={needed_kib}K`, or docker \
         `--ulimit memlock={needed}:{needed}`, or lower `media.io_memory`"
    )]
    MemlockTooLow {
        /// Bytes needed.
        needed: u64,
        /// The same in KiB, as `ulimit -l` takes it.
        needed_kib: u64,
        /// The soft limit after trying to raise it to the hard limit.
        current: u64,
        /// Number of media cores.
        cores: usize,
    },
    /// A media core could not be started.
    #[error("media core {core} failed to start: {reason}")]
    Startup {
        /// Index of the core in the configured list.
        core: usize,
        /// What failed.
        reason: String,
    },
    /// In-kernel forwarding is required and the kernel refused it.
    #[error("in-kernel forwarding is required but unavailable: {0}")]
    Kernel(#[source] warden_kfwd::KfwdError),
    /// The core's command ring is full: back off and retry (nothing was queued).
    #[error("command ring of media core {core} is full")]
    RingFull {
        /// Index of the core.
        core: usize,
    },
    /// The media plane has stopped (or the core died) before answering.
    #[error("media plane stopped")]
    Stopped,
    /// The core refused the command.
    #[error("media core refused the command: {0}")]
    Refused(ErrorCode),
    /// Two endpoints of different sessions' cores cannot be bridged.
    #[error("endpoints live on different media cores ({a} and {b})")]
    CrossCore {
        /// Core of the first endpoint.
        a: usize,
        /// Core of the second endpoint.
        b: usize,
    },
    /// An identifier names a core that does not exist.
    #[error("no media core {0}")]
    NoSuchCore(usize),
    /// The core answered with an event that does not fit the command (a bug).
    #[error("unexpected reply from media core")]
    UnexpectedReply,
}
