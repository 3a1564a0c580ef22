//! The live side of the admin API with real calls: the events stream's call lifecycle
//! events, per-leg media quality of live calls, and call forwarding. SIPp is the caller
//! (1001, answering the 407 challenge) and the callee (1002, registered first); the tests
//! talk HTTP to the real server.

mod events;
mod forwarding;
mod quality;
mod voicemail;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{free_port, Sip, Warden, ADMIN_PASSWORD, EXT, SECRET};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("WARDEN_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

/// An even port with the next three free too (SIPp's -mp: RTP and RTCP, audio and video).
fn free_media_port() -> u16 {
    for _ in 0..500 {
        let p = free_port() & !1;
        if p > 1024 && (p..p + 4).all(|q| UdpSocket::bind(("127.0.0.1", q)).is_ok()) {
            return p;
        }
    }
    panic!("no free media port");
}

/// A SIPp process running one call in the background.
pub(super) struct Phone {
    child: Child,
    msg_file: PathBuf,
    err_file: PathBuf,
}

impl Phone {
    /// Starts SIPp on `scenario` at `port`; `remote` is the server for a caller.
    fn spawn(w: &Warden, scenario: &str, port: u16, remote: bool, args: &[String]) -> Phone {
        let tag = format!(
            "{}_{}_{}",
            w.name,
            scenario.trim_end_matches(".xml"),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let msg_file = artifacts().join(format!("{tag}.sipp-messages.log"));
        let err_file = artifacts().join(format!("{tag}.sipp-errors.log"));
        let mut cmd = Command::new("sipp");
        if remote {
            cmd.arg(w.sip_addr().to_string());
        }
        let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e/scenarios")
            .join(scenario);
        cmd.arg("-sf")
            .arg(scenario)
            .args([
                "-m",
                "1",
                "-i",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-t",
                "u1",
            ])
            .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
            .args(["-trace_err", "-error_file"])
            .arg(&err_file)
            .args(["-trace_msg", "-message_file"])
            .arg(&msg_file)
            .args(["-mp", &free_media_port().to_string()])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Phone {
            child: cmd.spawn().expect("sipp runs"),
            msg_file,
            err_file,
        }
    }

    /// Waits for SIPp to end; true when it exited 0.
    pub(super) fn wait(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }

    pub(super) fn messages(&self) -> String {
        std::fs::read_to_string(&self.msg_file).unwrap_or_default()
    }

    pub(super) fn explain(&self) -> String {
        let errors = std::fs::read_to_string(&self.err_file).unwrap_or_default();
        format!(
            "--- errors ---\n{errors}\n--- messages ---\n{}",
            self.messages()
        )
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Registers `number` with SIPp at a fresh port and returns the port.
pub(super) fn register(w: &Warden, number: &str, secret: &str) -> u16 {
    let port = free_port();
    let run = w.sipp_at(
        "127.0.0.1",
        port,
        "register_auth.xml",
        Sip::Udp,
        &[
            "-s", number, "-au", number, "-ap", secret, "-set", "expires", "300",
        ],
    );
    assert!(run.ok(), "registration of {number}:\n{}", run.explain());
    port
}

/// Files where the scenarios write the media address Warden gave each side.
pub(super) struct MediaFiles(tempfile::TempDir);

impl MediaFiles {
    pub(super) fn new() -> MediaFiles {
        MediaFiles(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }

    /// The media address a scenario wrote to `name`, once it is there.
    pub(super) fn addr(&self, name: &str, within: Duration) -> SocketAddr {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(a) = std::fs::read_to_string(self.file(name))
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return a;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no media address in {name}");
    }
}

fn media_args(rtp: SocketAddr, out: String) -> Vec<String> {
    [
        "-set",
        "rtp_ip",
        &rtp.ip().to_string(),
        "-set",
        "rtp_port",
        &rtp.port().to_string(),
        "-set",
        "out",
        &out,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A callee answering on its registered `port` (uas_answer.xml: waits for the BYE); its
/// SDP points at `rtp`. The media address it was offered goes to `callee.addr`.
pub(super) fn callee(w: &Warden, files: &MediaFiles, port: u16, rtp: SocketAddr) -> Phone {
    let args = media_args(rtp, files.file("callee.addr"));
    let phone = Phone::spawn(w, "uas_answer.xml", port, false, &args);
    // Give it time to bind before the INVITE comes.
    std::thread::sleep(Duration::from_millis(300));
    phone
}

/// 1001 calls `number` with `scenario` (call_uac.xml: hangs up after `-d` ms), its SDP
/// pointing at `rtp`. The media address it was answered with goes to `caller.addr`.
pub(super) fn caller(
    w: &Warden,
    files: &MediaFiles,
    scenario: &str,
    number: &str,
    rtp: SocketAddr,
    extra: &[&str],
) -> Phone {
    let mut args: Vec<String> = [
        "-s",
        number,
        "-au",
        EXT,
        "-ap",
        SECRET,
        "-auth_uri",
        &format!("{number}@{}", w.sip_addr()),
        "-set",
        "caller",
        EXT,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(media_args(rtp, files.file("caller.addr")));
    args.extend(extra.iter().map(|s| s.to_string()));
    Phone::spawn(w, scenario, free_port(), true, &args)
}

/// A minimal HTTP/1.1 request (Connection: close) returning status and JSON body.
pub(super) fn http(
    w: &Warden,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> (u16, Value) {
    let mut s = TcpStream::connect(("127.0.0.1", w.api_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = json.unwrap_or("");
    if json.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Small bodies may come chunked: keep the JSON part.
    let json = match (body.find(['{', '[']), body.rfind(['}', ']'])) {
        (Some(a), Some(b)) if b >= a => serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, json)
}

/// Logs in and returns a bearer token.
pub(super) fn login(w: &Warden, user: &str, password: &str) -> String {
    let (status, v) = http(
        w,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&format!(
            "{{\"username\":\"{user}\",\"password\":\"{password}\"}}"
        )),
    );
    assert_eq!(status, 200, "login of {user}: {v}");
    v["access_token"].as_str().unwrap().to_owned()
}

pub(super) fn admin_token(w: &Warden) -> String {
    login(w, "admin", ADMIN_PASSWORD)
}

/// The live calls the API lists.
pub(super) fn live_calls(w: &Warden, token: &str) -> Vec<Value> {
    let (status, v) = http(w, "GET", "/api/v1/calls", Some(token), None);
    assert_eq!(status, 200, "{v}");
    v.as_array().cloned().unwrap_or_default()
}

pub(super) fn wait_for(mut cond: impl FnMut() -> bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// RTP of PCMU, 20 ms, with `tag` at the start of the payload.
pub(super) fn rtp(seq: u16, ssrc: u32, tag: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(tag);
    p.resize(12 + 160, 0xd5);
    p
}

/// The server-sent-events stream, parsed event by event.
pub(super) struct EventStream {
    sock: TcpStream,
    raw: String,
}

impl EventStream {
    pub(super) fn open(w: &Warden, token: &str) -> EventStream {
        let mut sock = TcpStream::connect(("127.0.0.1", w.api_port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        write!(sock, "GET /api/v1/events?access_token={token} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        EventStream {
            sock,
            raw: String::new(),
        }
    }

    /// The `data` of every event of type `kind` so far (each event is one chunk).
    pub(super) fn events(&self, kind: &str) -> Vec<Value> {
        let head = format!("event: {kind}\n");
        self.raw
            .split(head.as_str())
            .skip(1)
            .filter_map(|rest| {
                let data = rest.strip_prefix("data: ")?;
                serde_json::from_str(data.split('\n').next()?).ok()
            })
            .collect()
    }

    /// Reads until the events of type `kind` so far satisfy `pred`; returns them.
    pub(super) fn until(&mut self, kind: &str, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 8192];
        loop {
            let seen = self.events(kind);
            if pred(&seen) {
                return seen;
            }
            assert!(
                Instant::now() < deadline,
                "no matching {kind:?} event in the stream:\n{}",
                self.raw
            );
            match self.sock.read(&mut buf) {
                Ok(0) => panic!("event stream closed:\n{}", self.raw),
                Ok(n) => self.raw.push_str(&String::from_utf8_lossy(&buf[..n])),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("event stream: {e}"),
            }
        }
    }
}
