//! Test harness: starts the real `warden` binary on free ports with a throwaway database
//! (SQLite file, or a fresh PostgreSQL database when `WARDEN_TEST_PG_URL` is set), and runs
//! SIPp scenarios against it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backends available here: SQLite always, PostgreSQL when configured.
    pub fn all() -> Vec<Backend> {
        let mut v = vec![Backend::Sqlite];
        if std::env::var("WARDEN_TEST_PG_URL").is_ok() {
            v.push(Backend::Postgres);
        } else {
            eprintln!("note: WARDEN_TEST_PG_URL not set; PostgreSQL variant skipped");
        }
        v
    }
}

/// SIP transport for SIPp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sip {
    Udp,
    Tcp,
}

impl Sip {
    pub fn both() -> [Sip; 2] {
        [Sip::Udp, Sip::Tcp]
    }
    fn sipp_flag(self) -> &'static str {
        match self {
            Sip::Udp => "u1",
            Sip::Tcp => "t1",
        }
    }
}

/// The seeded test extension.
pub const EXT: &str = "1001";
pub const SECRET: &str = "secret-1001-pass";
pub const EXT2: &str = "1002";
pub const SECRET2: &str = "secret-1002-pass";

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Finds a port free for both UDP and TCP on 127.0.0.1.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let Ok(t) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = t.local_addr() else { continue };
        if UdpSocket::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free port");
}

fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("WARDEN_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// Creates a fresh PostgreSQL database and returns its URL.
fn fresh_pg_database(admin_url: &str, name: &str) -> Result<String> {
    let out = Command::new("psql")
        .arg(admin_url)
        .args([
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .context("running psql")?;
    if !out.status.success() {
        bail!(
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Replace the database path of the admin URL.
    let (base, _) = admin_url
        .rsplit_once('/')
        .context("PostgreSQL URL has no database")?;
    Ok(format!("{base}/{name}"))
}

/// A running Warden.
pub struct Warden {
    pub name: String,
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pub sip_port: u16,
    pub api_port: u16,
    pub db_url: String,
    /// This instance's RTP port range (disjoint from other instances of the test run).
    pub rtp_ports: (u16, u16),
    extra_yaml: String,
    /// Also listen on [::1] (IPv6 loopback).
    dual_stack: bool,
    child: Option<Child>,
    log_path: PathBuf,
}

impl Warden {
    /// Starts Warden with two seeded extensions plus `extra_yaml` appended under `sip:`
    /// (indented by the caller) — e.g. registrar or security settings.
    pub fn start(name: &str, backend: Backend, sip_extra: &str) -> Result<Warden> {
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{name}_{}_{seq}_{}",
            std::process::id(),
            backend_tag(backend)
        );
        let dir = tempfile::tempdir()?;
        let db_url = match backend {
            Backend::Sqlite => format!("sqlite://{}/warden.db?mode=rwc", dir.path().display()),
            Backend::Postgres => {
                let admin = std::env::var("WARDEN_TEST_PG_URL")?;
                fresh_pg_database(&admin, &format!("e2e_{}", name.to_lowercase()))?
            }
        };
        let mut w = Warden {
            log_path: artifacts_dir().join(format!("{name}.log")),
            name,
            backend,
            dir,
            sip_port: free_port(),
            api_port: free_port(),
            db_url,
            rtp_ports: rtp_range(seq),
            extra_yaml: sip_extra.to_string(),
            dual_stack: false,
            child: None,
        };
        w.spawn()?;
        Ok(w)
    }

    /// Like [`Warden::start`], also listening on the IPv6 loopback [::1] (same port).
    pub fn start_dual_stack(name: &str, backend: Backend) -> Result<Warden> {
        let mut w = Warden::start(name, backend, "")?;
        w.dual_stack = true;
        w.restart()?;
        Ok(w)
    }

    /// The SIP address on the IPv6 loopback (with [`Warden::start_dual_stack`]).
    pub fn sip_addr_v6(&self) -> SocketAddr {
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, self.sip_port))
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("warden.yaml")
    }

    fn spawn(&mut self) -> Result<()> {
        // SIPp 3.6 answers only the first challenge and only knows MD5, so the tests offer MD5
        // first unless they set the registrar up themselves; the SHA-256 path has its own test.
        let registrar = if self.extra_yaml.contains("registrar:") {
            ""
        } else {
            "  registrar: { digest_algorithms: [MD5, SHA-256] }\n"
        };
        let yaml = format!(
            "data_dir: {dir}\n\
             sip:\n  listen: [\"udp:127.0.0.1:{p}\", \"tcp:127.0.0.1:{p}\"{v6}]\n  domain: pbx.test\n{registrar}{extra}\n\
             media:\n  address: 127.0.0.1\n  rtp_ports: \"{rtp_lo}-{rtp_hi}\"\n  rtp_timeout_secs: 5\n\
             api:\n  listen: \"127.0.0.1:{api}\"\n\
             database:\n  url: \"{db}\"\n\
             log:\n  level: debug\n\
             extensions:\n  - {{ number: \"{EXT}\", name: \"Alice\", secret: \"{SECRET}\" }}\n  - {{ number: \"{EXT2}\", name: \"Bob\", secret: \"{SECRET2}\" }}\n",
            dir = self.dir.path().display(),
            p = self.sip_port,
            v6 = if self.dual_stack {
                format!(", \"udp:[::1]:{0}\", \"tcp:[::1]:{0}\"", self.sip_port)
            } else {
                String::new()
            },
            extra = self.extra_yaml,
            api = self.api_port,
            db = self.db_url,
            rtp_lo = self.rtp_ports.0,
            rtp_hi = self.rtp_ports.1,
        );
        std::fs::write(self.config_path(), yaml)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)?;
        let child = Command::new(env!("CARGO_BIN_EXE_warden"))
            .arg("--config")
            .arg(self.config_path())
            .env_remove("RUST_LOG")
            // The first administrator of the API (tests/e2e/api.rs logs in with it).
            .env("WARDEN_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("spawning warden")?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("warden exited early ({status}); log: {}", self.log());
                }
            }
            if let Ok((200, _)) = self.http_get("/healthz") {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        bail!("warden did not become ready; log: {}", self.log())
    }

    /// Kills and starts Warden again on the same ports and database.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }

    /// Stops Warden (SIGTERM, then SIGKILL).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.sip_port))
    }

    /// A plain HTTP/1.1 GET against the API; returns (status, body).
    pub fn http_get(&self, path: &str) -> Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.api_port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )?;
        let mut buf = String::new();
        s.read_to_string(&mut buf)?;
        let status = buf
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .context("no HTTP status")?;
        let body = buf
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// The value of one metric sample line (exact name with labels), or 0 when absent.
    pub fn metric(&self, sample: &str) -> f64 {
        let Ok((_, body)) = self.http_get("/metrics") else {
            return 0.0;
        };
        body.lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// The sum of a metric over all its label sets (0 when absent).
    pub fn metric_sum(&self, name: &str) -> f64 {
        let Ok((_, body)) = self.http_get("/metrics") else {
            return 0.0;
        };
        body.lines()
            .filter(|l| {
                l.strip_prefix(name)
                    .is_some_and(|r| r.starts_with('{') || r.starts_with(' '))
            })
            .filter_map(|l| l.rsplit(' ').next()?.trim().parse::<f64>().ok())
            .sum()
    }

    /// Runs a SIPp scenario (file name under tests/e2e/scenarios) for one call.
    pub fn sipp(&self, scenario: &str, transport: Sip, args: &[&str]) -> SippRun {
        self.sipp_from("127.0.0.1", scenario, transport, args)
    }

    /// Like [`Warden::sipp`], from a given local address (another loopback IP keeps bans apart).
    pub fn sipp_from(
        &self,
        local_ip: &str,
        scenario: &str,
        transport: Sip,
        args: &[&str],
    ) -> SippRun {
        self.sipp_at(local_ip, free_port(), scenario, transport, args)
    }

    /// Like [`Warden::sipp`], from a given local address and port (the same phone again).
    pub fn sipp_at(
        &self,
        local_ip: &str,
        port: u16,
        scenario: &str,
        transport: Sip,
        args: &[&str],
    ) -> SippRun {
        self.sipp_to(self.sip_addr(), local_ip, port, scenario, transport, args)
    }

    /// Runs a SIPp scenario against `target` (e.g. the IPv6 listener) from `local_ip:port`.
    pub fn sipp_to(
        &self,
        target: SocketAddr,
        local_ip: &str,
        port: u16,
        scenario: &str,
        transport: Sip,
        args: &[&str],
    ) -> SippRun {
        let scen = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e/scenarios")
            .join(scenario);
        let port = port.to_string();
        let tag = format!(
            "{}_{}_{}",
            self.name,
            scenario.trim_end_matches(".xml"),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let err_file = artifacts_dir().join(format!("{tag}.sipp-errors.log"));
        let msg_file = artifacts_dir().join(format!("{tag}.sipp-messages.log"));
        let out = Command::new("sipp")
            .arg(target.to_string())
            .args(["-sf"])
            .arg(&scen)
            .args([
                "-m",
                "1",
                "-l",
                "1",
                "-i",
                local_ip,
                "-p",
                &port,
                "-t",
                transport.sipp_flag(),
            ])
            .args(["-timeout", "20s", "-timeout_error", "-nostdin"])
            .args(["-trace_err", "-error_file"])
            .arg(&err_file)
            .args(["-trace_msg", "-message_file"])
            .arg(&msg_file)
            .args(args)
            .stdin(Stdio::null())
            .output();
        SippRun {
            output: out.map_err(|e| e.to_string()),
            err_file,
            msg_file,
        }
    }
}

impl Drop for Warden {
    fn drop(&mut self) {
        self.stop();
    }
}

/// 200 ports per instance from 20000 up, wrapping after 150 instances.
fn rtp_range(seq: u32) -> (u16, u16) {
    let lo = 20000 + (seq % 150) as u16 * 200;
    (lo, lo + 199)
}

fn backend_tag(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "pg",
    }
}

/// The result of one SIPp run.
pub struct SippRun {
    output: std::result::Result<Output, String>,
    err_file: PathBuf,
    msg_file: PathBuf,
}

impl SippRun {
    /// True when SIPp exited 0 (every call succeeded).
    pub fn ok(&self) -> bool {
        matches!(&self.output, Ok(o) if o.status.success())
    }

    /// What SIPp said, for assertion messages.
    pub fn explain(&self) -> String {
        let errors = std::fs::read_to_string(&self.err_file).unwrap_or_default();
        let msgs = std::fs::read_to_string(&self.msg_file).unwrap_or_default();
        let status = match &self.output {
            Ok(o) => format!("exit {:?}", o.status.code()),
            Err(e) => format!("did not run: {e}"),
        };
        format!("sipp {status}\n--- errors ---\n{errors}\n--- messages ---\n{msgs}")
    }

    /// The SIP messages SIPp exchanged.
    pub fn messages(&self) -> String {
        std::fs::read_to_string(&self.msg_file).unwrap_or_default()
    }

    /// The Contact values of the last 200 OK SIPp received.
    pub fn final_contacts(&self) -> Vec<String> {
        let msgs = self.messages();
        let Some(at) = msgs.rfind("SIP/2.0 200") else {
            return Vec::new();
        };
        msgs[at..]
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .filter_map(|l| l.strip_prefix("Contact: "))
            .map(str::to_string)
            .collect()
    }
}

/// Sends one datagram built for the bound local port from `from_ip` and waits for a reply.
pub fn udp_exchange(
    from_ip: &str,
    to: SocketAddr,
    build: impl FnOnce(u16) -> Vec<u8>,
    wait: Duration,
) -> Option<String> {
    let sock = UdpSocket::bind((from_ip, 0)).ok()?;
    sock.set_read_timeout(Some(wait)).ok()?;
    let port = sock.local_addr().ok()?.port();
    sock.send_to(&build(port), to).ok()?;
    let mut buf = vec![0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// A minimal OPTIONS request from `ip:port`.
pub fn options_request(to: SocketAddr, ip: &str, port: u16, branch: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:{to} SIP/2.0\r\nVia: SIP/2.0/UDP {ip}:{port};branch=z9hG4bK{branch};rport\r\n\
         From: <sip:probe@{ip}>;tag=t{branch}\r\nTo: <sip:{to}>\r\nCall-ID: {branch}@{ip}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Password of the `admin` account Warden creates at first start (passed as
/// `WARDEN_ADMIN_PASSWORD` by [`Warden::start`]; tests/e2e/api.rs logs in with it).
pub const ADMIN_PASSWORD: &str = "e2e-admin-password";
