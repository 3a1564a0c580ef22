//! The configuration schema: one struct per YAML section, every key with a
//! default so that Warden runs with no file at all.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::types::{cores_serde, ListenSpec, LogFormat, PortRange, Transport};

/// The whole Warden configuration (the root of the YAML file).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory for the database file, recordings and voicemail
    /// (default `./data`).
    pub data_dir: PathBuf,
    /// Worker threads of the control plane's runtime (SIP, the API, the database); 0 (the
    /// default): the CPUs the media cores leave free, at least one. See
    /// [`Config::resolve_control_threads`].
    pub control_threads: usize,
    /// SIP signalling.
    pub sip: SipConfig,
    /// Media (RTP) plane.
    pub media: MediaConfig,
    /// Calls between extensions (the B2BUA).
    pub calls: CallsConfig,
    /// HTTP management API.
    pub api: ApiConfig,
    /// Database connection.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// Extensions seeded into the database at start-up (default: none).
    pub extensions: Vec<ExtensionConfig>,
    /// Password of the initial administrator account. Never read from or
    /// written to YAML: it only comes from the `WARDEN_ADMIN_PASSWORD`
    /// environment variable (see [`Config::apply_env`]).
    #[serde(skip)]
    pub admin_password: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            control_threads: 0,
            sip: SipConfig::default(),
            media: MediaConfig::default(),
            calls: CallsConfig::default(),
            api: ApiConfig::default(),
            database: DatabaseConfig::default(),
            log: LogConfig::default(),
            extensions: Vec::new(),
            admin_password: None,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("control_threads", &self.control_threads)
            .field("sip", &self.sip)
            .field("media", &self.media)
            .field("calls", &self.calls)
            .field("api", &self.api)
            .field("database", &self.database)
            .field("log", &self.log)
            .field("extensions", &self.extensions)
            .field(
                "admin_password",
                &self.admin_password.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

impl Config {
    /// The control plane's worker threads, given the CPU ids available to the process: the
    /// configured number, or every available CPU the media cores do not take (a pinned media
    /// core shares its CPU with nothing), at least one.
    pub fn resolve_control_threads(&self, available: &[usize]) -> usize {
        if self.control_threads > 0 {
            return self.control_threads;
        }
        let media = self.media.resolve_cores(available);
        available
            .iter()
            .filter(|c| !media.contains(c))
            .count()
            .max(1)
    }

    /// Where recordings go: `media.recording_dir`, else
    /// `<data_dir>/recordings`.
    pub fn recording_dir(&self) -> PathBuf {
        self.media
            .recording_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("recordings"))
    }

    /// Where prompts are loaded from: `media.prompts_dir`, else
    /// `<data_dir>/prompts`.
    pub fn prompts_dir(&self) -> PathBuf {
        self.media
            .prompts_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("prompts"))
    }

    /// The database URL in effect: `database.url` when set, otherwise the
    /// SQLite file `warden.db` inside `data_dir`
    /// (`sqlite://<data_dir>/warden.db?mode=rwc`).
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}/warden.db?mode=rwc",
                self.data_dir.display().to_string().trim_end_matches('/')
            ),
        }
    }
}

pub(crate) const REDACTED: &str = "<redacted>";

/// SIP signalling settings (`sip:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Listeners, e.g. `"udp:0.0.0.0:5060"` (default: UDP and TCP on
    /// 0.0.0.0:5060). At least one is required.
    pub listen: Vec<ListenSpec>,
    /// SIP domain served: the digest realm and the host of local AORs
    /// (default `pbx.local`).
    pub domain: String,
    /// Value of the `User-Agent` / `Server` headers (default `Warden`).
    pub user_agent: String,
    /// Largest SIP message accepted, in bytes (default 65535, allowed
    /// 1024..=1048576).
    pub max_message_size: usize,
    /// Registrar timers.
    pub registrar: RegistrarConfig,
    /// Brute-force protection and rate limiting.
    pub security: SecurityConfig,
}

impl Default for SipConfig {
    fn default() -> Self {
        let any = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5060);
        Self {
            listen: vec![
                ListenSpec::new(Transport::Udp, any),
                ListenSpec::new(Transport::Tcp, any),
            ],
            domain: "pbx.local".to_owned(),
            user_agent: "Warden".to_owned(),
            max_message_size: 65535,
            registrar: RegistrarConfig::default(),
            security: SecurityConfig::default(),
        }
    }
}

/// Registrar settings (`sip.registrar:`), all in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarConfig {
    /// Shortest registration accepted; shorter requests get 423 Interval
    /// Too Brief (default 60, at least 1).
    pub min_expires: u32,
    /// Longest registration granted; longer requests are shortened
    /// (default 3600, at least `min_expires`).
    pub max_expires: u32,
    /// Registration length when the request does not ask for one
    /// (default 3600, between `min_expires` and `max_expires`).
    pub default_expires: u32,
    /// Lifetime of a digest nonce (default 300, at least 1).
    pub nonce_ttl_secs: u32,
    /// Interval between sweeps of expired bindings (default 30, at least 1).
    pub sweep_interval_secs: u32,
    /// Digest challenges offered, most preferred first (RFC 8760; default
    /// `["SHA-256", "MD5"]`). Phones use the first algorithm they support;
    /// some old ones only look at the first challenge, so an operator with
    /// such phones can put MD5 first.
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

/// A digest algorithm offered in challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DigestAlgorithm {
    /// SHA-256 (RFC 8760).
    #[serde(rename = "SHA-256")]
    Sha256,
    /// MD5 (RFC 3261).
    #[serde(rename = "MD5")]
    Md5,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            nonce_ttl_secs: 300,
            sweep_interval_secs: 30,
            digest_algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Md5],
        }
    }
}

/// Brute-force protection and rate limiting (`sip.security:`), applied per
/// source address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Failed authentications within `failure_window_secs` after which the
    /// source is slowed down (default 3, at least 1).
    pub auth_failures_before_throttle: u32,
    /// Failed authentications within `failure_window_secs` after which the
    /// source is banned (default 6, at least `auth_failures_before_throttle`).
    pub auth_failures_before_ban: u32,
    /// Window over which failures are counted (default 60 s, at least 1).
    pub failure_window_secs: u32,
    /// Length of a ban (default 600 s, at least 1).
    pub ban_secs: u32,
    /// Sustained messages per second accepted from one source (default 200,
    /// at least 1).
    pub rate_limit_per_sec: u32,
    /// Burst of messages accepted above the sustained rate (default 400, at
    /// least 1).
    pub rate_limit_burst: u32,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            auth_failures_before_throttle: 3,
            auth_failures_before_ban: 6,
            failure_window_secs: 60,
            ban_secs: 600,
            rate_limit_per_sec: 200,
            rate_limit_burst: 400,
        }
    }
}

/// Largest `media.wake_interval_us`: one 20 ms packet time (the media plane's own limit).
pub const MAX_WAKE_INTERVAL_US: u32 = 20_000;

/// Media plane settings (`media:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Address advertised in SDP (default 127.0.0.1; must be a concrete
    /// unicast address, not 0.0.0.0 / :: or multicast).
    pub address: IpAddr,
    /// UDP ports for RTP/RTCP (default `"10000-20000"`).
    pub rtp_ports: PortRange,
    /// CPU ids that run media executors. `None` (written `auto`, null or
    /// left out) means every core but the first, or core 0 on a one-core
    /// machine; see [`MediaConfig::resolve_cores`].
    #[serde(with = "cores_serde")]
    pub cores: Option<Vec<usize>>,
    /// A call leg that receives no RTP for this long is hung up (default
    /// 30 s, at least 1).
    pub rtp_timeout_secs: u32,
    /// io_uring buffer memory per media executor, in MiB (default 1,
    /// allowed 1..=1024).
    pub io_memory_mib: u32,
    /// Shortest time between two wake-ups of a busy media executor, in
    /// microseconds (default 1000, allowed 0..=20000; 0 wakes on every
    /// packet). Packets arriving meanwhile are taken in one pass: fewer
    /// wake-ups under load for at most this much added delay.
    pub wake_interval_us: u32,
    /// Forwarding of plain RTP in the kernel (default `auto`): `off`, `auto`
    /// (when the kernel allows it: Linux 6.6 with `CAP_BPF` and
    /// `CAP_NET_ADMIN`), or `required` (Warden does not start without it).
    pub kernel_forwarding: KernelForwarding,
    /// Interfaces the in-kernel forwarder attaches to (default: empty, every
    /// interface present at start).
    pub kernel_interfaces: Vec<String>,
    /// Directory call recordings are written to (default
    /// `<data_dir>/recordings`; see [`Config::recording_dir`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording_dir: Option<PathBuf>,
    /// Directory of prompts made by `scripts/make-prompts.sh` (`<name>.wav`,
    /// or its `8000/` and `16000/` subdirectories), loaded at start (default
    /// `<data_dir>/prompts`; see [`Config::prompts_dir`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts_dir: Option<PathBuf>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_ports: PortRange {
                start: 10000,
                end: 20000,
            },
            cores: None,
            rtp_timeout_secs: 30,
            io_memory_mib: 1,
            wake_interval_us: 1000,
            kernel_forwarding: KernelForwarding::Auto,
            kernel_interfaces: Vec::new(),
            recording_dir: None,
            prompts_dir: None,
        }
    }
}

impl MediaConfig {
    /// The CPU ids to run media executors on, given the ids available to
    /// the process: the configured list, or (automatic) every available id
    /// but the lowest, or the only one when there is just one. Returns an
    /// empty list only when `available` is empty and nothing is configured.
    pub fn resolve_cores(&self, available: &[usize]) -> Vec<usize> {
        if let Some(list) = &self.cores {
            return list.clone();
        }
        let mut ids = available.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() > 1 {
            ids.remove(0);
        }
        ids
    }
}

/// Call settings (`calls:`), all in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    /// An unanswered call is given up after this long (480 to the caller;
    /// default 60, at least 1).
    pub ring_timeout_secs: u32,
    /// An answered call is hung up after this long (default 14400, 0 for no
    /// limit).
    pub max_duration_secs: u32,
    /// Session interval asked for and granted (RFC 4028 session timers;
    /// default 1800, 0 turns them off; otherwise at least `min_se_secs`).
    pub session_expires_secs: u32,
    /// Smallest session interval accepted; shorter requests get 422
    /// (default 90, at least 90 as RFC 4028 requires).
    pub min_se_secs: u32,
    /// Which answered calls are recorded: `none` (default; recording can
    /// still be started through the API) or `all`.
    pub record: RecordCalls,
    /// How recordings are written: `stereo` (caller left, callee right;
    /// default) or `mono` (both mixed).
    pub record_mode: RecordingMode,
    /// Transcode calls whose parties share no codec (default true): the
    /// callee is also offered the codecs the media plane can transcode, and
    /// the media plane converts between the legs. `false`: such calls are
    /// refused with 488.
    pub transcoding: bool,
}

/// `media.kernel_forwarding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KernelForwarding {
    /// The media executors relay every packet.
    Off,
    /// In the kernel when it allows it, else by the media executors.
    #[default]
    Auto,
    /// In the kernel, or Warden does not start.
    Required,
}

/// `calls.record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordCalls {
    /// Only calls recorded on request (API).
    #[default]
    None,
    /// Every answered call.
    All,
}

/// `calls.record_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingMode {
    /// Two channels: caller left, callee right.
    #[default]
    Stereo,
    /// One channel, both parties mixed.
    Mono,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            ring_timeout_secs: 60,
            max_duration_secs: 14_400,
            session_expires_secs: 1800,
            min_se_secs: 90,
            record: RecordCalls::None,
            record_mode: RecordingMode::Stereo,
            transcoding: true,
        }
    }
}

/// HTTP management API settings (`api:`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address the HTTP API binds (default `0.0.0.0:9000`).
    pub listen: SocketAddr,
    /// Origins allowed by CORS: `"*"` or `http(s)://host[:port]` values
    /// (default: none, so browsers only reach the API from its own origin).
    pub cors_origins: Vec<String>,
    /// PEM file with the certificate chain of the API, leaf first. When set
    /// (together with `tls_key`) the API is served over HTTPS only
    /// (default: none, plain HTTP).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// PEM file with the private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1).
    /// Set both or neither (default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9000),
            cors_origins: Vec::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Database settings (`database:`).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://user:pass@host/db`. When absent the
    /// SQLite file `<data_dir>/warden.db` is used (see
    /// [`Config::database_url`]); `WARDEN_DATABASE_URL` overrides it.
    pub url: Option<String>,
}

impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_deref().map(redact_url_password))
            .finish()
    }
}

/// Replaces the password of a `scheme://user:password@host` URL.
pub(crate) fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let Some((userinfo, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let Some((user, _)) = userinfo.split_once(':') else {
        return url.to_owned();
    };
    format!("{scheme}://{user}:{REDACTED}@{host}{path}")
}

/// Logging settings (`log:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `text` or `json` (default `text`).
    pub format: LogFormat,
    /// A level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or a
    /// comma-separated filter such as `info,warden_control=debug`
    /// (default `info`).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: "info".to_owned(),
        }
    }
}

/// One extension to seed into the database (`extensions: [...]`).
///
/// Rules: `number` is 1 to 32 characters from `0-9 A-Z a-z _ . + -`
/// (usable as a SIP user part without escaping); `name` is 1 to 64
/// characters without control characters; `secret` (the SIP digest
/// password) is 8 to 128 characters without control characters;
/// `voicemail_pin`, when present, is 4 to 12 digits. Numbers are unique.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionConfig {
    /// Extension number, also the SIP user name.
    pub number: String,
    /// Display name.
    pub name: String,
    /// SIP digest password.
    pub secret: String,
    /// Voicemail PIN (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voicemail_pin: Option<String>,
}

impl fmt::Debug for ExtensionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtensionConfig")
            .field("number", &self.number)
            .field("name", &self.name)
            .field("secret", &REDACTED)
            .field(
                "voicemail_pin",
                &self.voicemail_pin.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tls_needs_both_files_or_neither() {
        let yaml = "api:\n  tls_cert: /etc/warden/api.crt\n  tls_key: /etc/warden/api.key\n";
        let c = Config::from_yaml_str(yaml).unwrap();
        assert_eq!(c.api.tls_cert, Some(PathBuf::from("/etc/warden/api.crt")));
        assert_eq!(c.api.tls_key, Some(PathBuf::from("/etc/warden/api.key")));
        assert!(c
            .to_yaml()
            .unwrap()
            .contains("tls_key: /etc/warden/api.key"));
        assert!(!Config::default().to_yaml().unwrap().contains("tls_"));

        let only_cert = "api:\n  tls_cert: /etc/warden/api.crt\n";
        let err = Config::from_yaml_str(only_cert).unwrap_err();
        assert_eq!(err.path(), Some("api.tls_key"), "{err}");
        let only_key = "api:\n  tls_key: /etc/warden/api.key\n";
        let err = Config::from_yaml_str(only_key).unwrap_err();
        assert_eq!(err.path(), Some("api.tls_cert"), "{err}");

        let mut c = Config::default();
        c.api.tls_cert = Some(PathBuf::new());
        c.api.tls_key = Some(PathBuf::from("k.pem"));
        assert_eq!(c.validate().unwrap_err().path(), Some("api.tls_cert"));
        c.api.tls_cert = Some(PathBuf::from("c.pem"));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn defaults_match_the_documented_schema() {
        let c = Config::default();
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        let listen: Vec<String> = c.sip.listen.iter().map(|l| l.to_string()).collect();
        assert_eq!(listen, ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]);
        assert_eq!(c.sip.domain, "pbx.local");
        assert_eq!(c.sip.user_agent, "Warden");
        assert_eq!(c.sip.max_message_size, 65535);
        let r = &c.sip.registrar;
        assert_eq!(
            (
                r.min_expires,
                r.max_expires,
                r.default_expires,
                r.nonce_ttl_secs,
                r.sweep_interval_secs
            ),
            (60, 3600, 3600, 300, 30)
        );
        let s = &c.sip.security;
        assert_eq!(
            (
                s.auth_failures_before_throttle,
                s.auth_failures_before_ban,
                s.failure_window_secs,
                s.ban_secs,
                s.rate_limit_per_sec,
                s.rate_limit_burst
            ),
            (3, 6, 60, 600, 200, 400)
        );
        assert_eq!(c.media.address, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.media.rtp_ports.to_string(), "10000-20000");
        assert_eq!(c.media.cores, None);
        assert_eq!(c.media.rtp_timeout_secs, 30);
        assert_eq!(c.media.io_memory_mib, 1);
        assert_eq!(c.media.wake_interval_us, 1000);
        assert_eq!(c.api.listen.to_string(), "0.0.0.0:9000");
        assert!(c.api.cors_origins.is_empty());
        assert_eq!(
            (c.api.tls_cert.as_ref(), c.api.tls_key.as_ref()),
            (None, None)
        );
        assert_eq!(c.database.url, None);
        assert_eq!(c.log.format, LogFormat::Text);
        assert_eq!(c.log.level, "info");
        assert!(c.extensions.is_empty());
        assert_eq!(c.admin_password, None);
    }

    #[test]
    fn database_url_is_derived_from_data_dir() {
        let mut c = Config::default();
        assert_eq!(c.database_url(), "sqlite://./data/warden.db?mode=rwc");
        c.data_dir = PathBuf::from("/var/lib/warden/");
        assert_eq!(
            c.database_url(),
            "sqlite:///var/lib/warden/warden.db?mode=rwc"
        );
        c.database.url = Some("postgres://u:p@db/warden".to_owned());
        assert_eq!(c.database_url(), "postgres://u:p@db/warden");
    }

    #[test]
    fn automatic_cores_skip_the_first_one() {
        let mut m = MediaConfig::default();
        assert_eq!(m.resolve_cores(&[0, 1, 2, 3]), [1, 2, 3]);
        assert_eq!(m.resolve_cores(&[3, 2]), [3]);
        assert_eq!(m.resolve_cores(&[0]), [0]);
        assert!(m.resolve_cores(&[]).is_empty());
        m.cores = Some(vec![0, 2]);
        assert_eq!(m.resolve_cores(&[0, 1, 2, 3]), [0, 2]);
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut c = Config {
            admin_password: Some("hunter2-admin".into()),
            ..Config::default()
        };
        c.database.url = Some("postgres://warden:pg-secret@db:5432/warden".into());
        c.extensions.push(ExtensionConfig {
            number: "1001".into(),
            name: "Alice".into(),
            secret: "ext-secret-1001".into(),
            voicemail_pin: Some("4321".into()),
        });
        let dbg = format!("{c:?}");
        for secret in ["hunter2-admin", "pg-secret", "ext-secret-1001", "4321"] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }
        assert!(
            dbg.contains("postgres://warden:<redacted>@db:5432/warden"),
            "{dbg}"
        );
        assert!(dbg.contains("1001"));
    }

    #[test]
    fn url_redaction_leaves_password_free_urls_alone() {
        for url in [
            "sqlite://./data/warden.db",
            "postgres://db/x",
            "postgres://user@db/x",
            "nonsense",
        ] {
            assert_eq!(redact_url_password(url), url);
        }
        assert_eq!(
            redact_url_password("postgresql://a:b@h/db?sslmode=require"),
            "postgresql://a:<redacted>@h/db?sslmode=require"
        );
    }
}
