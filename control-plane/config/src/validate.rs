//! Semantic validation: ranges, uniqueness and consistency between keys.
//! Each rule names the key path it is about.

use std::collections::HashMap;

use crate::error::ConfigError;
use crate::schema::{Config, ExtensionConfig, MAX_WAKE_INTERVAL_US};

type Result = std::result::Result<(), ConfigError>;

/// Largest accepted `sip.max_message_size`.
const MAX_MESSAGE_SIZE: usize = 1 << 20;
/// Most control-plane worker threads.
const MAX_CONTROL_THREADS: usize = 1024;
/// Smallest accepted `sip.max_message_size`.
const MIN_MESSAGE_SIZE: usize = 1024;

impl Config {
    /// Checks every rule of the schema and returns the first violation,
    /// naming its key path. The error has no line/column (use
    /// [`Config::from_yaml_str`], which validates and locates the key in
    /// the text).
    pub fn validate(&self) -> Result {
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("data_dir", "must not be empty"));
        }
        if self.control_threads > MAX_CONTROL_THREADS {
            return Err(ConfigError::invalid(
                "control_threads",
                format!("must be 0 (automatic) to {MAX_CONTROL_THREADS}"),
            ));
        }
        self.validate_sip()?;
        self.validate_media()?;
        self.validate_calls()?;
        self.validate_api()?;
        if let Some(url) = &self.database.url {
            validate_database_url(url)?;
        }
        validate_log_level(&self.log.level)?;
        validate_extensions(&self.extensions)
    }

    fn validate_sip(&self) -> Result {
        let sip = &self.sip;
        if sip.listen.is_empty() {
            return Err(ConfigError::invalid(
                "sip.listen",
                "at least one listen address is required",
            ));
        }
        for (i, spec) in sip.listen.iter().enumerate() {
            let earlier = sip.listen.iter().take(i).position(|o| o == spec);
            if let (Some(j), true) = (earlier, spec.addr.port() != 0) {
                return Err(ConfigError::invalid(
                    format!("sip.listen[{i}]"),
                    format!("duplicate listen address \"{spec}\" (same as sip.listen[{j}])"),
                ));
            }
        }
        if sip.domain.is_empty() || sip.domain.len() > 253 {
            return Err(ConfigError::invalid(
                "sip.domain",
                "must be 1 to 253 characters",
            ));
        }
        if let Some(c) = sip.domain.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
        }) {
            return Err(ConfigError::invalid(
                "sip.domain",
                format!(
                    "invalid character {c:?} in domain {:?} (expected a host name or IP address)",
                    sip.domain
                ),
            ));
        }
        if sip.user_agent.is_empty() || sip.user_agent.len() > 200 {
            return Err(ConfigError::invalid(
                "sip.user_agent",
                "must be 1 to 200 characters",
            ));
        }
        if sip.user_agent.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                "sip.user_agent",
                "must not contain control characters",
            ));
        }
        if !(MIN_MESSAGE_SIZE..=MAX_MESSAGE_SIZE).contains(&sip.max_message_size) {
            return Err(ConfigError::invalid(
                "sip.max_message_size",
                format!(
                    "{} is out of range (allowed {MIN_MESSAGE_SIZE} to {MAX_MESSAGE_SIZE} bytes)",
                    sip.max_message_size
                ),
            ));
        }
        let r = &sip.registrar;
        at_least_one("sip.registrar.min_expires", r.min_expires)?;
        if r.max_expires < r.min_expires {
            return Err(ConfigError::invalid(
                "sip.registrar.max_expires",
                format!(
                    "{} is lower than min_expires ({})",
                    r.max_expires, r.min_expires
                ),
            ));
        }
        if !(r.min_expires..=r.max_expires).contains(&r.default_expires) {
            return Err(ConfigError::invalid(
                "sip.registrar.default_expires",
                format!(
                    "{} is outside min_expires..max_expires ({}..{})",
                    r.default_expires, r.min_expires, r.max_expires
                ),
            ));
        }
        at_least_one("sip.registrar.nonce_ttl_secs", r.nonce_ttl_secs)?;
        at_least_one("sip.registrar.sweep_interval_secs", r.sweep_interval_secs)?;
        if r.digest_algorithms.is_empty() {
            return Err(ConfigError::invalid(
                "sip.registrar.digest_algorithms",
                "at least one algorithm is required (SHA-256, MD5)",
            ));
        }
        for (i, a) in r.digest_algorithms.iter().enumerate() {
            if r.digest_algorithms[..i].contains(a) {
                return Err(ConfigError::invalid(
                    format!("sip.registrar.digest_algorithms[{i}]"),
                    format!("{a:?} is listed twice"),
                ));
            }
        }
        let s = &sip.security;
        at_least_one(
            "sip.security.auth_failures_before_throttle",
            s.auth_failures_before_throttle,
        )?;
        if s.auth_failures_before_ban < s.auth_failures_before_throttle {
            return Err(ConfigError::invalid(
                "sip.security.auth_failures_before_ban",
                format!(
                    "{} is lower than auth_failures_before_throttle ({})",
                    s.auth_failures_before_ban, s.auth_failures_before_throttle
                ),
            ));
        }
        at_least_one("sip.security.failure_window_secs", s.failure_window_secs)?;
        at_least_one("sip.security.ban_secs", s.ban_secs)?;
        at_least_one("sip.security.rate_limit_per_sec", s.rate_limit_per_sec)?;
        at_least_one("sip.security.rate_limit_burst", s.rate_limit_burst)
    }

    fn validate_media(&self) -> Result {
        let m = &self.media;
        if m.address.is_unspecified() || m.address.is_multicast() {
            return Err(ConfigError::invalid(
                "media.address",
                format!(
                    "{} cannot be advertised in SDP (use the unicast address peers should send RTP to)",
                    m.address
                ),
            ));
        }
        m.rtp_ports
            .check()
            .map_err(|msg| ConfigError::invalid("media.rtp_ports", msg))?;
        if let Some(cores) = &m.cores {
            if cores.is_empty() {
                return Err(ConfigError::invalid(
                    "media.cores",
                    "must list at least one CPU id (or be \"auto\")",
                ));
            }
            for (i, id) in cores.iter().enumerate() {
                if cores.iter().take(i).any(|o| o == id) {
                    return Err(ConfigError::invalid(
                        format!("media.cores[{i}]"),
                        format!("duplicate CPU id {id}"),
                    ));
                }
            }
        }
        at_least_one("media.rtp_timeout_secs", m.rtp_timeout_secs)?;
        if !(1..=1024).contains(&m.io_memory_mib) {
            return Err(ConfigError::invalid(
                "media.io_memory_mib",
                format!("{} is out of range (allowed 1 to 1024)", m.io_memory_mib),
            ));
        }
        if m.wake_interval_us > MAX_WAKE_INTERVAL_US {
            return Err(ConfigError::invalid(
                "media.wake_interval_us",
                format!(
                    "{} is out of range (allowed 0 to {MAX_WAKE_INTERVAL_US})",
                    m.wake_interval_us
                ),
            ));
        }
        for (i, name) in m.kernel_interfaces.iter().enumerate() {
            // IFNAMSIZ is 16 with the terminating NUL.
            if name.is_empty() || name.len() > 15 || name.contains(['/', ' ', '\0']) {
                return Err(ConfigError::invalid(
                    format!("media.kernel_interfaces[{i}]"),
                    format!("{name:?} is not an interface name (1 to 15 characters)"),
                ));
            }
        }
        Ok(())
    }

    fn validate_calls(&self) -> Result {
        let c = &self.calls;
        at_least_one("calls.ring_timeout_secs", c.ring_timeout_secs)?;
        if c.min_se_secs < 90 {
            return Err(ConfigError::invalid(
                "calls.min_se_secs",
                format!(
                    "{} is too small (RFC 4028 requires at least 90)",
                    c.min_se_secs
                ),
            ));
        }
        if c.session_expires_secs != 0 && c.session_expires_secs < c.min_se_secs {
            return Err(ConfigError::invalid(
                "calls.session_expires_secs",
                format!(
                    "{} is below calls.min_se_secs ({}); use 0 to turn session timers off",
                    c.session_expires_secs, c.min_se_secs
                ),
            ));
        }
        Ok(())
    }

    fn validate_api(&self) -> Result {
        for (i, origin) in self.api.cors_origins.iter().enumerate() {
            let ok = origin == "*"
                || ["http://", "https://"].iter().any(|p| {
                    origin.strip_prefix(p).is_some_and(|host| {
                        !host.is_empty()
                            && !host.contains('/')
                            && !host.chars().any(|c| c.is_whitespace() || c.is_control())
                    })
                });
            if !ok {
                return Err(ConfigError::invalid(
                    format!("api.cors_origins[{i}]"),
                    format!("invalid origin {origin:?} (expected \"*\" or http(s)://host[:port])"),
                ));
            }
        }
        match (&self.api.tls_cert, &self.api.tls_key) {
            (Some(_), None) => Err(ConfigError::invalid(
                "api.tls_key",
                "is required when api.tls_cert is set (set both or neither)",
            )),
            (None, Some(_)) => Err(ConfigError::invalid(
                "api.tls_cert",
                "is required when api.tls_key is set (set both or neither)",
            )),
            (Some(cert), Some(key)) => {
                if cert.as_os_str().is_empty() {
                    return Err(ConfigError::invalid("api.tls_cert", "must not be empty"));
                }
                if key.as_os_str().is_empty() {
                    return Err(ConfigError::invalid("api.tls_key", "must not be empty"));
                }
                Ok(())
            }
            (None, None) => Ok(()),
        }
    }
}

fn at_least_one(path: &str, v: u32) -> Result {
    if v == 0 {
        return Err(ConfigError::invalid(path, "must be at least 1"));
    }
    Ok(())
}

fn validate_database_url(url: &str) -> Result {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if !known.iter().any(|p| url.starts_with(p)) || known.contains(&url) {
        return Err(ConfigError::invalid(
            "database.url",
            "expected sqlite://<path> or postgres://user:pass@host/db",
        ));
    }
    Ok(())
}

/// Accepts a level or a `tracing` filter made of `level` and
/// `target=level` directives separated by commas.
fn validate_log_level(level: &str) -> Result {
    const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];
    let bad = |why: String| ConfigError::invalid("log.level", why);
    if level.trim().is_empty() {
        return Err(bad("must not be empty".into()));
    }
    for directive in level.split(',').map(str::trim) {
        let (target, lvl) = match directive.split_once('=') {
            Some((t, l)) => (Some(t), l),
            None => (None, directive),
        };
        if !LEVELS.contains(&lvl.to_ascii_lowercase().as_str()) {
            return Err(bad(format!(
                "invalid level {lvl:?} in {level:?} (expected trace, debug, info, warn, error or off, optionally as target=level)"
            )));
        }
        if let Some(t) = target {
            if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'))
            {
                return Err(bad(format!("invalid target {t:?} in {level:?}")));
            }
        }
    }
    Ok(())
}

fn validate_extensions(exts: &[ExtensionConfig]) -> Result {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, ext) in exts.iter().enumerate() {
        let key = |field: &str| format!("extensions[{i}].{field}");
        let n = &ext.number;
        if n.is_empty() || n.len() > 32 {
            return Err(ConfigError::invalid(
                key("number"),
                "must be 1 to 32 characters",
            ));
        }
        if let Some(c) = n
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')))
        {
            return Err(ConfigError::invalid(
                key("number"),
                format!("invalid character {c:?} in extension number {n:?} (allowed: 0-9 A-Z a-z _ . + -)"),
            ));
        }
        if let Some(j) = seen.insert(n.as_str(), i) {
            return Err(ConfigError::invalid(
                key("number"),
                format!("duplicate extension number {n:?} (same as extensions[{j}])"),
            ));
        }
        let name_len = ext.name.chars().count();
        if ext.name.trim().is_empty() || name_len > 64 {
            return Err(ConfigError::invalid(
                key("name"),
                "must be 1 to 64 characters",
            ));
        }
        if ext.name.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                key("name"),
                "must not contain control characters",
            ));
        }
        let secret_len = ext.secret.chars().count();
        if !(8..=128).contains(&secret_len) {
            return Err(ConfigError::invalid(
                key("secret"),
                format!("must be 8 to 128 characters (got {secret_len})"),
            ));
        }
        if ext.secret.chars().any(char::is_control) {
            return Err(ConfigError::invalid(
                key("secret"),
                "must not contain control characters",
            ));
        }
        if let Some(pin) = &ext.voicemail_pin {
            if !(4..=12).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::invalid(
                    key("voicemail_pin"),
                    "must be 4 to 12 digits",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{ListenSpec, PortRange};

    fn path_of(c: &Config) -> String {
        let err = c.validate().unwrap_err();
        assert_eq!(err.location(), None);
        err.path().unwrap().to_owned()
    }

    fn ext(number: &str) -> ExtensionConfig {
        ExtensionConfig {
            number: number.into(),
            name: "Someone".into(),
            secret: "long-enough".into(),
            voicemail_pin: None,
        }
    }

    #[test]
    fn default_config_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn each_rule_names_its_key() {
        type Mutate = fn(&mut Config);
        let cases: Vec<(Mutate, &str)> = vec![
            (|c| c.data_dir = "".into(), "data_dir"),
            (|c| c.sip.listen.clear(), "sip.listen"),
            (
                |c| {
                    c.sip
                        .listen
                        .push("udp:0.0.0.0:5060".parse::<ListenSpec>().unwrap())
                },
                "sip.listen[2]",
            ),
            (|c| c.sip.domain = String::new(), "sip.domain"),
            (|c| c.sip.domain = "pbx local".into(), "sip.domain"),
            (
                |c| c.sip.user_agent = "a\r\nX-Injected: 1".into(),
                "sip.user_agent",
            ),
            (|c| c.sip.user_agent = String::new(), "sip.user_agent"),
            (|c| c.sip.max_message_size = 100, "sip.max_message_size"),
            (|c| c.sip.max_message_size = 2 << 20, "sip.max_message_size"),
            (
                |c| c.sip.registrar.min_expires = 0,
                "sip.registrar.min_expires",
            ),
            (
                |c| c.sip.registrar.max_expires = 30,
                "sip.registrar.max_expires",
            ),
            (
                |c| c.sip.registrar.default_expires = 7200,
                "sip.registrar.default_expires",
            ),
            (
                |c| c.sip.registrar.nonce_ttl_secs = 0,
                "sip.registrar.nonce_ttl_secs",
            ),
            (
                |c| c.sip.registrar.sweep_interval_secs = 0,
                "sip.registrar.sweep_interval_secs",
            ),
            (
                |c| c.sip.security.auth_failures_before_throttle = 0,
                "sip.security.auth_failures_before_throttle",
            ),
            (
                |c| c.sip.security.auth_failures_before_ban = 2,
                "sip.security.auth_failures_before_ban",
            ),
            (
                |c| c.sip.security.failure_window_secs = 0,
                "sip.security.failure_window_secs",
            ),
            (|c| c.sip.security.ban_secs = 0, "sip.security.ban_secs"),
            (
                |c| c.sip.security.rate_limit_per_sec = 0,
                "sip.security.rate_limit_per_sec",
            ),
            (
                |c| c.sip.security.rate_limit_burst = 0,
                "sip.security.rate_limit_burst",
            ),
            (
                |c| c.media.address = "0.0.0.0".parse().unwrap(),
                "media.address",
            ),
            (|c| c.media.address = "::".parse().unwrap(), "media.address"),
            (
                |c| c.media.address = "239.1.1.1".parse().unwrap(),
                "media.address",
            ),
            (
                |c| {
                    c.media.rtp_ports = PortRange {
                        start: 10001,
                        end: 20000,
                    }
                },
                "media.rtp_ports",
            ),
            (|c| c.media.cores = Some(vec![]), "media.cores"),
            (|c| c.media.cores = Some(vec![1, 2, 1]), "media.cores[2]"),
            (|c| c.media.rtp_timeout_secs = 0, "media.rtp_timeout_secs"),
            (|c| c.media.io_memory_mib = 0, "media.io_memory_mib"),
            (|c| c.media.io_memory_mib = 4096, "media.io_memory_mib"),
            (
                |c| c.media.wake_interval_us = MAX_WAKE_INTERVAL_US + 1,
                "media.wake_interval_us",
            ),
            (
                |c| c.media.kernel_interfaces = vec!["lo".into(), String::new()],
                "media.kernel_interfaces[1]",
            ),
            (
                |c| c.media.kernel_interfaces = vec!["a-very-long-name0".into()],
                "media.kernel_interfaces[0]",
            ),
            (|c| c.calls.ring_timeout_secs = 0, "calls.ring_timeout_secs"),
            (|c| c.calls.min_se_secs = 89, "calls.min_se_secs"),
            (
                |c| c.calls.session_expires_secs = 60,
                "calls.session_expires_secs",
            ),
            (
                |c| c.api.cors_origins = vec!["*".into(), "ftp://x".into()],
                "api.cors_origins[1]",
            ),
            (
                |c| c.api.cors_origins = vec!["https://".into()],
                "api.cors_origins[0]",
            ),
            (
                |c| c.database.url = Some("mysql://x".into()),
                "database.url",
            ),
            (
                |c| c.database.url = Some("postgres://".into()),
                "database.url",
            ),
            (|c| c.log.level = "loud".into(), "log.level"),
            (|c| c.log.level = "info,=debug".into(), "log.level"),
            (|c| c.log.level = " ".into(), "log.level"),
            (|c| c.extensions = vec![ext("")], "extensions[0].number"),
            (
                |c| c.extensions = vec![ext("10 01")],
                "extensions[0].number",
            ),
            (
                |c| c.extensions = vec![ext(&"9".repeat(33))],
                "extensions[0].number",
            ),
            (
                |c| c.extensions = vec![ext("1"), ext("2"), ext("1")],
                "extensions[2].number",
            ),
            (
                |c| {
                    c.extensions = vec![
                        ext("1"),
                        ExtensionConfig {
                            name: " ".into(),
                            ..ext("2")
                        },
                    ]
                },
                "extensions[1].name",
            ),
            (
                |c| {
                    c.extensions = vec![ExtensionConfig {
                        name: "a\u{7}".into(),
                        ..ext("2")
                    }]
                },
                "extensions[0].name",
            ),
            (
                |c| {
                    c.extensions = vec![ExtensionConfig {
                        secret: "short".into(),
                        ..ext("2")
                    }]
                },
                "extensions[0].secret",
            ),
            (
                |c| {
                    c.extensions = vec![ExtensionConfig {
                        secret: "x".repeat(129),
                        ..ext("2")
                    }]
                },
                "extensions[0].secret",
            ),
            (
                |c| {
                    c.extensions = vec![ExtensionConfig {
                        secret: "long\nenough".into(),
                        ..ext("2")
                    }]
                },
                "extensions[0].secret",
            ),
            (
                |c| {
                    c.extensions = vec![ExtensionConfig {
                        voicemail_pin: Some("12a4".into()),
                        ..ext("2")
                    }]
                },
                "extensions[0].voicemail_pin",
            ),
            (
                |c| {
                    c.extensions = vec![ExtensionConfig {
                        voicemail_pin: Some("123".into()),
                        ..ext("2")
                    }]
                },
                "extensions[0].voicemail_pin",
            ),
        ];
        for (mutate, want) in cases {
            let mut c = Config::default();
            mutate(&mut c);
            assert_eq!(path_of(&c), want);
        }
    }

    #[test]
    fn accepted_edge_values() {
        let mut c = Config::default();
        c.sip.listen = vec![
            "udp:127.0.0.1:0".parse().unwrap(),
            "udp:127.0.0.1:0".parse().unwrap(),
            "tcp:[::1]:5060".parse().unwrap(),
        ];
        c.sip.domain = "192.168.1.10".into();
        c.sip.registrar = crate::RegistrarConfig {
            min_expires: 1,
            max_expires: 1,
            default_expires: 1,
            ..Default::default()
        };
        c.sip.security.auth_failures_before_ban = 3;
        c.sip.max_message_size = 1024;
        c.media.cores = Some(vec![0]);
        c.media.address = "::1".parse().unwrap();
        c.calls.max_duration_secs = 0;
        c.calls.session_expires_secs = 0;
        c.api.cors_origins = vec![
            "*".into(),
            "http://localhost:5173".into(),
            "https://pbx.example.com".into(),
        ];
        c.database.url = Some("postgresql://warden@db/warden".into());
        c.log.level = "warn,warden_control=debug,sqlx=off".into();
        c.extensions = vec![
            ext("1001"),
            ext("alice.smith+x_1-2"),
            ExtensionConfig {
                secret: "12345678".into(),
                voicemail_pin: Some("0000".into()),
                name: "Zoë Ünicode".into(),
                ..ext("1002")
            },
        ];
        c.validate().unwrap();
    }
}
