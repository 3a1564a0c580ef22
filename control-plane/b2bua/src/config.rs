//! B2BUA settings.

use std::net::IpAddr;
use std::time::Duration;

/// How the B2BUA behaves. [`Config::default`] matches the defaults of the `calls:` section
/// of the configuration file.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The SIP domain: host part of the From/To URIs on the callee's leg.
    pub domain: String,
    /// Value of the `User-Agent` and `Server` headers.
    pub user_agent: String,
    /// Address written in Via and Contact when the local socket is bound to the
    /// unspecified address (0.0.0.0 or ::).
    pub advertise_ip: Option<IpAddr>,
    /// An unanswered call is given up after this long (480 to the caller).
    pub ring_timeout: Duration,
    /// An answered call is hung up after this long; zero means no limit.
    pub max_duration: Duration,
    /// Session interval asked for and granted (RFC 4028); zero turns session timers off.
    pub session_expires: Duration,
    /// Smallest session interval accepted (`Min-SE`); shorter requests get 422.
    pub min_se: Duration,
    /// How long an ended call is kept to absorb late messages (a 2xx crossing a CANCEL, a
    /// retransmitted BYE).
    pub linger: Duration,
    /// Transaction timers.
    pub txn: warden_sip_txn::Config,
    /// Offer the callee the codecs the media plane can transcode that the caller lacks, and
    /// transcode when the legs share no codec.
    pub transcoding: bool,
}

impl Default for Config {
    fn default() -> Self {
        let txn = warden_sip_txn::Config::default();
        Config {
            domain: "pbx.local".to_string(),
            user_agent: "Warden".to_string(),
            advertise_ip: None,
            ring_timeout: Duration::from_secs(60),
            max_duration: Duration::from_secs(14_400),
            session_expires: Duration::from_secs(1800),
            min_se: Duration::from_secs(90),
            linger: txn.t1.saturating_mul(64),
            txn,
            transcoding: true,
        }
    }
}

impl Config {
    /// The session interval in whole seconds (0 when session timers are off).
    pub(crate) fn session_secs(&self) -> u32 {
        u32::try_from(self.session_expires.as_secs()).unwrap_or(u32::MAX)
    }

    /// `Min-SE` in whole seconds.
    pub(crate) fn min_se_secs(&self) -> u32 {
        u32::try_from(self.min_se.as_secs()).unwrap_or(u32::MAX)
    }
}
