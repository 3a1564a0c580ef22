//! Tests of the whole pipeline: YAML text in, `Config` or a located error
//! out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::*;

const EXAMPLE: &str = include_str!("../warden.example.yaml");

fn err(yaml: &str) -> ConfigError {
    match Config::from_yaml_str(yaml) {
        Ok(c) => panic!("expected an error for {yaml:?}, got {c:?}"),
        Err(e) => e,
    }
}

fn line_col(e: &ConfigError) -> (usize, usize) {
    let loc = e.location().unwrap_or_else(|| panic!("no location in {e}"));
    (loc.line, loc.column)
}

#[test]
fn empty_documents_give_the_defaults() {
    for yaml in ["", "\n\n", "# nothing here\n", "---\n", "~\n", "null"] {
        assert_eq!(
            Config::from_yaml_str(yaml).unwrap(),
            Config::default(),
            "{yaml:?}"
        );
    }
}

#[test]
fn example_file_documents_the_defaults() {
    assert_eq!(Config::from_yaml_str(EXAMPLE).unwrap(), Config::default());
}

#[test]
fn example_file_mentions_every_key() {
    let printed = Config::default().to_yaml().unwrap();
    for line in printed.lines() {
        let key = line
            .trim_start()
            .trim_start_matches("- ")
            .split(':')
            .next()
            .unwrap_or("");
        if key.is_empty()
            || key.starts_with('"')
            || key.chars().next().is_some_and(|c| !c.is_ascii_lowercase())
        {
            continue;
        }
        assert!(
            EXAMPLE.contains(&format!("{key}:")),
            "key {key:?} missing from the example file"
        );
    }
    for key in ["number:", "name:", "secret:", "voicemail_pin:", "url:"] {
        assert!(EXAMPLE.contains(key), "{key} missing from the example file");
    }
}

#[test]
fn schema_from_the_brief_parses() {
    let yaml = r#"
data_dir: ./data                       # database file, recordings, voicemail
sip:
  listen: ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]
  domain: pbx.local                    # digest realm / default domain
media:
  address: 127.0.0.1                   # address advertised in SDP
  rtp_ports: "10000-20000"
  cores: [1]
api:
  listen: "0.0.0.0:9000"
database:
  url: "sqlite://./data/warden.db"     # or postgres://user:pass@host/db
extensions:
  - { number: "1001", name: "Alice", secret: "change-me-1001" }
"#;
    let c = Config::from_yaml_str(yaml).unwrap();
    assert_eq!(c.media.cores, Some(vec![1]));
    assert_eq!(c.database_url(), "sqlite://./data/warden.db");
    assert_eq!(c.extensions.len(), 1);
    assert_eq!(c.extensions[0].number, "1001");
    assert_eq!(c.extensions[0].name, "Alice");
    assert_eq!(c.extensions[0].secret, "change-me-1001");
    assert_eq!(c.extensions[0].voicemail_pin, None);
}

#[test]
fn every_key_is_read() {
    let yaml = r#"
data_dir: /var/lib/warden
sip:
  listen:
    - "udp:10.0.0.1:5070"
    - "tcp:[::]:5080"
  domain: voip.example.com
  user_agent: "Warden test"
  max_message_size: 8192
  registrar:
    min_expires: 30
    max_expires: 7200
    default_expires: 600
    nonce_ttl_secs: 120
    sweep_interval_secs: 5
    digest_algorithms: [MD5, SHA-256]
  security:
    auth_failures_before_throttle: 2
    auth_failures_before_ban: 4
    failure_window_secs: 10
    ban_secs: 30
    rate_limit_per_sec: 50
    rate_limit_burst: 60
media:
  address: 192.0.2.10
  rtp_ports: "30000-30999"
  cores: [2, 3]
  rtp_timeout_secs: 12
  io_memory_mib: 16
  wake_interval_us: 0
api:
  listen: "127.0.0.1:8080"
  cors_origins: ["http://localhost:5173"]
database:
  url: "postgres://warden:pw@db/warden"
log:
  format: json
  level: debug
extensions:
  - number: "2001"
    name: Carol
    secret: carol-secret
    voicemail_pin: "2468"
"#;
    let c = Config::from_yaml_str(yaml).unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/warden"));
    assert_eq!(
        c.sip.listen,
        [
            ListenSpec::new(Transport::Udp, "10.0.0.1:5070".parse().unwrap()),
            ListenSpec::new(Transport::Tcp, "[::]:5080".parse().unwrap()),
        ]
    );
    assert_eq!(c.sip.domain, "voip.example.com");
    assert_eq!(c.sip.user_agent, "Warden test");
    assert_eq!(c.sip.max_message_size, 8192);
    assert_eq!(
        c.sip.registrar,
        RegistrarConfig {
            min_expires: 30,
            max_expires: 7200,
            default_expires: 600,
            nonce_ttl_secs: 120,
            sweep_interval_secs: 5,
            digest_algorithms: vec![DigestAlgorithm::Md5, DigestAlgorithm::Sha256],
        }
    );
    assert_eq!(
        c.sip.security,
        SecurityConfig {
            auth_failures_before_throttle: 2,
            auth_failures_before_ban: 4,
            failure_window_secs: 10,
            ban_secs: 30,
            rate_limit_per_sec: 50,
            rate_limit_burst: 60
        }
    );
    assert_eq!(c.media.address, "192.0.2.10".parse::<IpAddr>().unwrap());
    assert_eq!(
        c.media.rtp_ports,
        PortRange {
            start: 30000,
            end: 30999
        }
    );
    assert_eq!(c.media.cores, Some(vec![2, 3]));
    assert_eq!(c.media.rtp_timeout_secs, 12);
    assert_eq!(c.media.io_memory_mib, 16);
    assert_eq!(c.media.wake_interval_us, 0);
    assert_eq!(c.api.listen, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(c.api.cors_origins, ["http://localhost:5173"]);
    assert_eq!(c.database_url(), "postgres://warden:pw@db/warden");
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.log.level, "debug");
    assert_eq!(c.extensions[0].voicemail_pin.as_deref(), Some("2468"));
    assert_eq!(c.extensions[0].name, "Carol");
}

#[test]
fn partial_sections_keep_other_defaults() {
    let c = Config::from_yaml_str("sip:\n  registrar:\n    min_expires: 120\nmedia:\n").unwrap();
    assert_eq!(c.sip.registrar.min_expires, 120);
    assert_eq!(c.sip.registrar.max_expires, 3600);
    assert_eq!(c.sip.domain, "pbx.local");
    assert_eq!(c.media, MediaConfig::default());
}

#[test]
fn default_database_url_follows_data_dir() {
    let c = Config::from_yaml_str("data_dir: /srv/pbx\n").unwrap();
    assert_eq!(c.database.url, None);
    assert_eq!(c.database_url(), "sqlite:///srv/pbx/warden.db?mode=rwc");
}

#[test]
fn cores_accepts_auto_and_null() {
    for yaml in [
        "media:\n  cores: auto\n",
        "media:\n  cores: ~\n",
        "media:\n  cores:\n",
    ] {
        assert_eq!(
            Config::from_yaml_str(yaml).unwrap().media.cores,
            None,
            "{yaml:?}"
        );
    }
    let e = err("media:\n  cores: all\n");
    assert_eq!(e.path(), Some("media.cores"));
    assert_eq!(line_col(&e), (2, 10));
    let e = err("media:\n  cores: [1, -2]\n");
    assert_eq!(e.path(), Some("media.cores[1]"));
    assert_eq!(line_col(&e), (2, 14));
}

#[test]
fn bad_listen_address_names_item_and_position() {
    let yaml = "sip:\n  listen:\n    - udp:0.0.0.0:5060\n    - \"tcp:nope\"\n";
    let e = err(yaml);
    assert_eq!(
        e.to_string(),
        "sip.listen[1]: invalid listen address \"tcp:nope\" (expected transport:host:port) at line 4 column 7"
    );
    let e = err("sip:\n  listen: [\"udp:0.0.0.0:5060\", \"sctp:0.0.0.0:1\"]\n");
    assert_eq!(e.path(), Some("sip.listen[1]"));
    assert_eq!(line_col(&e), (2, 32));
    assert!(e.to_string().contains("unknown transport \"sctp\""), "{e}");
}

#[test]
fn unknown_keys_name_path_position_and_alternatives() {
    let e = err("data_dir: ./data\nsip:\n  lisen: [\"udp:0.0.0.0:5060\"]\n");
    assert_eq!(
        e.to_string(),
        "unknown key \"sip.lisen\" at line 3 column 3 (expected one of: listen, domain, user_agent, max_message_size, registrar, security)"
    );
    let e = err("bogus: 1\n");
    assert!(
        matches!(&e, ConfigError::UnknownKey { path, .. } if path == "bogus"),
        "{e:?}"
    );
    assert_eq!(line_col(&e), (1, 1));
    assert!(
        e.to_string().contains(
            "expected one of: data_dir, control_threads, sip, media, calls, api, database, log, extensions"
        ),
        "{e}"
    );
    let e = err("sip:\n  security:\n    ban_sec: 5\n");
    assert_eq!(e.path(), Some("sip.security.ban_sec"));
    assert_eq!(line_col(&e), (3, 5));
    let e = err("extensions:\n  - { number: \"1\", nam: x, secret: abcdefgh }\n");
    assert_eq!(e.path(), Some("extensions[0].nam"));
    assert_eq!(line_col(&e), (2, 20));
    assert!(
        e.to_string()
            .contains("expected one of: number, name, secret, voicemail_pin"),
        "{e}"
    );
    // A password given in the file is refused: it only comes from the environment.
    let e = err("admin_password: x\n");
    assert_eq!(e.path(), Some("admin_password"));
}

#[test]
fn wrong_types_and_formats_are_located() {
    let cases: &[(&str, &str, (usize, usize), &str)] = &[
        (
            "sip:\n  max_message_size: big\n",
            "sip.max_message_size",
            (2, 21),
            "invalid type",
        ),
        (
            "sip:\n  registrar:\n    min_expires: -5\n",
            "sip.registrar.min_expires",
            (3, 18),
            "expected u32",
        ),
        (
            "media:\n  rtp_ports: \"20000-10000\"\n",
            "media.rtp_ports",
            (2, 14),
            "start must be lower than end",
        ),
        (
            "media:\n  rtp_ports: \"10001-20000\"\n",
            "media.rtp_ports",
            (2, 14),
            "start must be even",
        ),
        (
            "media:\n  rtp_ports: 10000\n",
            "media.rtp_ports",
            (2, 14),
            "expected start-end",
        ),
        (
            "media:\n  address: localhost\n",
            "media.address",
            (2, 12),
            "invalid IP address",
        ),
        (
            "api:\n  listen: \"0.0.0.0\"\n",
            "api.listen",
            (2, 11),
            "invalid socket address",
        ),
        (
            "log:\n  format: xml\n",
            "log.format",
            (2, 11),
            "unknown variant",
        ),
        ("sip: [1, 2]\n", "sip", (1, 6), "invalid type: sequence"),
        (
            "extensions:\n  - { number: \"1\", name: A }\n",
            "extensions[0]",
            (2, 5),
            "missing field `secret`",
        ),
        (
            "sip:\n  listen: \"udp:0.0.0.0:5060\"\n",
            "sip.listen",
            (2, 11),
            "invalid type",
        ),
    ];
    for (yaml, path, pos, needle) in cases {
        let e = err(yaml);
        assert!(
            matches!(e, ConfigError::InvalidValue { .. }),
            "{yaml:?}: {e:?}"
        );
        assert_eq!(e.path(), Some(*path), "{yaml:?}: {e}");
        assert_eq!(line_col(&e), *pos, "{yaml:?}: {e}");
        assert!(e.to_string().contains(needle), "{yaml:?}: {e}");
        assert!(e.to_string().starts_with(&format!("{path}: ")), "{e}");
    }
}

#[test]
fn validation_errors_are_located_in_the_text() {
    let cases: &[(&str, &str, (usize, usize))] = &[
        ("sip:\n  listen: []\n", "sip.listen", (2, 11)),
        (
            "sip:\n  listen:\n    - udp:0.0.0.0:5060\n    - tcp:0.0.0.0:5060\n    - udp:0.0.0.0:5060\n",
            "sip.listen[2]",
            (5, 7),
        ),
        ("sip:\n  domain: \"a b\"\n", "sip.domain", (2, 11)),
        ("sip:\n  max_message_size: 10\n", "sip.max_message_size", (2, 21)),
        ("sip:\n  registrar:\n    max_expires: 30\n", "sip.registrar.max_expires", (3, 18)),
        // default_expires is not written: the error points at its section.
        ("sip:\n  registrar:\n    max_expires: 600\n", "sip.registrar.default_expires", (2, 3)),
        ("sip:\n  security:\n    auth_failures_before_ban: 1\n", "sip.security.auth_failures_before_ban", (3, 31)),
        ("media:\n  address: 0.0.0.0\n", "media.address", (2, 12)),
        ("media:\n  cores: [0, 1, 0]\n", "media.cores[2]", (2, 17)),
        ("media:\n  cores: []\n", "media.cores", (2, 10)),
        ("media:\n  io_memory_mib: 0\n", "media.io_memory_mib", (2, 18)),
        ("media:\n  wake_interval_us: 50000\n", "media.wake_interval_us", (2, 21)),
        ("api:\n  cors_origins:\n  - \"*\"\n  - example.com\n", "api.cors_origins[1]", (4, 5)),
        ("database:\n  url: mysql://db/x\n", "database.url", (2, 8)),
        ("log:\n  level: verbose\n", "log.level", (2, 10)),
        (
            "extensions:\n  - { number: \"1001\", name: Alice, secret: short }\n",
            "extensions[0].secret",
            (2, 44),
        ),
        (
            "extensions:\n  - number: \"1001\"\n    name: Alice\n    secret: long-enough\n  - number: \"1001\"\n    name: Bob\n    secret: long-enough\n",
            "extensions[1].number",
            (5, 13),
        ),
        (
            "extensions:\n  - number: \"10 01\"\n    name: Alice\n    secret: long-enough\n",
            "extensions[0].number",
            (2, 13),
        ),
    ];
    for (yaml, path, pos) in cases {
        let e = err(yaml);
        assert_eq!(e.path(), Some(*path), "{yaml:?}: {e}");
        assert_eq!(line_col(&e), *pos, "{yaml:?}: {e}");
        let at = format!(" at line {} column {}", pos.0, pos.1);
        assert!(e.to_string().starts_with(&format!("{path}: ")), "{e}");
        assert!(e.to_string().ends_with(&at), "{e}");
    }
}

#[test]
fn syntax_errors_are_reported_with_position() {
    let cases: &[(&str, usize)] = &[
        ("sip:\n  domain: 'unterminated\n", 3),
        ("sip:\n\tdomain: x\n", 2),
        ("sip:\n  domain: x\n port: 1\n", 3),
        ("data_dir: *nowhere\n", 1),
    ];
    for (yaml, line) in cases {
        let e = err(yaml);
        assert!(matches!(e, ConfigError::Syntax { .. }), "{yaml:?}: {e:?}");
        assert_eq!(e.location().map(|l| l.line), Some(*line), "{yaml:?}: {e}");
        assert!(e.to_string().starts_with("invalid YAML: "), "{e}");
        assert!(e.to_string().contains(&format!("line {line}")), "{e}");
    }
    let e = err("sip:\n  domain: a\n  domain: b\n");
    assert!(e.to_string().contains("duplicate"), "{e}");
    assert!(e.location().is_some(), "{e:?}");
    let e = err("data_dir: a\n---\ndata_dir: b\n");
    assert!(matches!(e, ConfigError::Syntax { .. }), "{e:?}");
}

#[test]
fn to_yaml_round_trips() {
    let yaml = "data_dir: /tmp/w\nsip:\n  listen: [\"tcp:[::1]:5070\"]\nmedia:\n  cores: [1, 2]\nextensions:\n  - { number: \"7\", name: Seven, secret: seven-secret, voicemail_pin: \"7777\" }\n";
    let c = Config::from_yaml_str(yaml).unwrap();
    let printed = c.to_yaml().unwrap();
    assert!(
        printed.contains("sqlite:///tmp/w/warden.db?mode=rwc"),
        "{printed}"
    );
    assert!(printed.contains("tcp:[::1]:5070"), "{printed}");
    let again = Config::from_yaml_str(&printed).unwrap();
    assert_eq!(again.database_url(), c.database_url());
    let mut expected = c.clone();
    expected.database.url = Some(c.database_url());
    assert_eq!(again, expected);

    let printed = Config::default().to_yaml().unwrap();
    assert!(printed.contains("cores: auto"), "{printed}");
    assert!(printed.contains("rtp_ports: 10000-20000"), "{printed}");
    let mut expected = Config::default();
    expected.database.url = Some(expected.database_url());
    assert_eq!(Config::from_yaml_str(&printed).unwrap(), expected);
}

#[test]
fn to_yaml_never_prints_the_admin_password() {
    let c = Config {
        admin_password: Some("top-secret-admin".into()),
        ..Config::default()
    };
    assert!(!c.to_yaml().unwrap().contains("top-secret-admin"));
}

#[test]
fn environment_overrides() {
    let env: HashMap<&str, &str> = [
        ("WARDEN_DATABASE_URL", "postgres://w:pw@db/w"),
        ("WARDEN_ADMIN_PASSWORD", "admin-pass"),
        ("WARDEN_OTHER", "ignored"),
    ]
    .into();
    let mut c = Config::from_yaml_str("database:\n  url: sqlite://x.db\n").unwrap();
    c.apply_env(|k| env.get(k).map(|v| v.to_string()));
    assert_eq!(c.database_url(), "postgres://w:pw@db/w");
    assert_eq!(c.admin_password.as_deref(), Some("admin-pass"));
    c.validate().unwrap();

    let mut c = Config::default();
    c.apply_env(|_| None);
    assert_eq!(c, Config::default());
    c.apply_env(|_| Some(String::new()));
    assert_eq!(c, Config::default(), "empty variables are ignored");

    let mut c = Config::default();
    c.apply_env(|k| (k == ENV_DATABASE_URL).then(|| "mysql://nope".to_owned()));
    assert_eq!(c.validate().unwrap_err().path(), Some("database.url"));
}

#[test]
fn load_reads_files_and_reports_missing_ones() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warden.yaml");
    std::fs::write(&path, "sip:\n  domain: file.example\n").unwrap();
    assert_eq!(Config::load(&path).unwrap().sip.domain, "file.example");

    let missing = dir.path().join("absent.yaml");
    let e = Config::load(&missing).unwrap_err();
    assert!(matches!(e, ConfigError::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("absent.yaml"), "{e}");

    std::fs::write(&path, "sip:\n  domian: x\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    assert_eq!(e.path(), Some("sip.domian"));
}

#[test]
fn arbitrary_text_never_panics() {
    let samples = [
        "[",
        "{",
        "- - -",
        ": :",
        "? a\n: b\n",
        "sip: !!binary aGVsbG8=\n",
        "sip: &a {}\nmedia: *a\n",
        "\u{feff}sip: {}\n",
        "extensions: [{}]\n",
        "extensions: [1]\n",
        "media: {cores: [99999999999999999999]}\n",
        "sip:\n  listen: [\"udp:[::1\"]\n",
        "media:\n  rtp_ports: \"\u{e9}-1\"\n",
    ];
    for s in samples {
        let _ = Config::from_yaml_str(s);
    }
}

#[test]
fn digest_algorithms_must_be_known_non_empty_and_unique() {
    let err = Config::from_yaml_str("sip:\n  registrar:\n    digest_algorithms: []\n").unwrap_err();
    assert!(
        err.to_string().contains("sip.registrar.digest_algorithms"),
        "{err}"
    );
    let err = Config::from_yaml_str("sip:\n  registrar:\n    digest_algorithms: [MD5, MD5]\n")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("sip.registrar.digest_algorithms[1]"),
        "{err}"
    );
    let err = Config::from_yaml_str("sip:\n  registrar:\n    digest_algorithms: [SHA-512]\n")
        .unwrap_err();
    assert!(err.to_string().contains("digest_algorithms"), "{err}");
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn calls_transcoding_is_on_by_default_and_can_be_turned_off() {
    assert!(Config::default().calls.transcoding);
    assert!(
        Config::from_yaml_str("calls:\n  record: all\n")
            .unwrap()
            .calls
            .transcoding
    );
    let c = Config::from_yaml_str("calls:\n  transcoding: false\n").unwrap();
    assert!(!c.calls.transcoding);
    assert_eq!(
        c.calls.ring_timeout_secs, 60,
        "other keys keep their defaults"
    );
    let e = err("calls:\n  transcoding: sometimes\n");
    assert_eq!(line_col(&e).0, 2, "{e}");
    // Printed and read back unchanged.
    let back = Config::from_yaml_str(&c.to_yaml().unwrap()).unwrap();
    assert!(!back.calls.transcoding);
}

#[test]
fn control_threads_default_to_the_cpus_the_media_cores_leave() {
    let mut c = Config::default();
    assert_eq!(c.resolve_control_threads(&[0, 1]), 1);
    assert_eq!(c.resolve_control_threads(&[0, 1, 2, 3]), 1);
    assert_eq!(
        c.resolve_control_threads(&[0]),
        1,
        "one CPU: shared, still one thread"
    );
    c.media.cores = Some(vec![2, 3]);
    assert_eq!(c.resolve_control_threads(&[0, 1, 2, 3]), 2);
    c.control_threads = 6;
    assert_eq!(c.resolve_control_threads(&[0, 1, 2, 3]), 6);
}

#[test]
fn too_many_control_threads_is_an_error_naming_the_key() {
    let err = Config::from_yaml_str("control_threads: 5000\n").unwrap_err();
    assert!(err.to_string().contains("control_threads"), "{err}");
    let ok = Config::from_yaml_str("control_threads: 3\n").unwrap();
    assert_eq!(ok.control_threads, 3);
}
