//! Helpers of the call tests: SIPp callers and callees with their traces, the media
//! addresses the scenarios report, RTP and G.711 captures, call records, the live-calls API.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use warden_storage::{CallRecord, CallRecordFilter, Store};

use crate::harness::{free_port, Backend, Sip, Warden, ADMIN_PASSWORD, EXT, EXT2, SECRET, SECRET2};

pub(super) static SEQ: AtomicU32 = AtomicU32::new(0);

/// A server for one test (the harness gives each its own RTP range and a 5 s RTP timeout).
pub(super) fn start(name: &str, backend: Backend) -> Warden {
    Warden::start(name, backend, "").unwrap()
}

pub(super) fn artifacts() -> PathBuf {
    let dir = std::env::var_os("WARDEN_TEST_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}

pub(super) fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/e2e/scenarios")
        .join(name)
}

/// An even port with the next three free too (SIPp's -mp takes RTP and RTCP, audio and
/// video).
pub(super) fn free_media_port() -> u16 {
    for _ in 0..500 {
        let p = free_port() & !1;
        if p > 1024 && (p..p + 4).all(|q| UdpSocket::bind(("127.0.0.1", q)).is_ok()) {
            return p;
        }
    }
    panic!("no free media port");
}

/// One SIPp process (caller or callee) with its traces.
pub(super) struct Sipp {
    child: Child,
    tag: String,
    msg_file: PathBuf,
    err_file: PathBuf,
}

/// How to run SIPp.
pub(super) struct SippSpec<'a> {
    scenario: &'a str,
    /// The server to call (`None` for a callee, which only answers).
    remote: Option<SocketAddr>,
    port: u16,
    transport: Sip,
    args: Vec<String>,
    cwd: Option<&'a Path>,
}

impl Sipp {
    pub(super) fn spawn(w: &Warden, spec: SippSpec<'_>) -> Sipp {
        let tag = format!(
            "{}_{}_{}",
            w.name,
            spec.scenario.trim_end_matches(".xml"),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let msg_file = artifacts().join(format!("{tag}.sipp-messages.log"));
        let err_file = artifacts().join(format!("{tag}.sipp-errors.log"));
        let mut cmd = Command::new("sipp");
        if let Some(remote) = spec.remote {
            cmd.arg(remote.to_string());
        }
        cmd.arg("-sf")
            .arg(scenario(spec.scenario))
            .args(["-m", "1", "-i", "127.0.0.1", "-p", &spec.port.to_string()])
            .args([
                "-t",
                if spec.transport == Sip::Tcp {
                    "t1"
                } else {
                    "u1"
                },
            ])
            .args(["-timeout", "30s", "-timeout_error", "-nostdin"])
            .args(["-trace_err", "-error_file"])
            .arg(&err_file)
            .args(["-trace_msg", "-message_file"])
            .arg(&msg_file)
            .args(&spec.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(dir) = spec.cwd {
            cmd.current_dir(dir);
        }
        let child = cmd.spawn().expect("sipp runs");
        Sipp {
            child,
            tag,
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
            "--- {} errors ---\n{errors}\n--- messages ---\n{}",
            self.tag,
            self.messages()
        )
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A call between a SIPp caller (1001) and a SIPp callee (1002), with temporary files for
/// the media addresses each side was given.
pub(super) struct CallSetup {
    dir: tempfile::TempDir,
    pub(super) callee_port: u16,
}

impl CallSetup {
    /// Registers the callee at a fresh port.
    pub(super) fn new(w: &Warden) -> CallSetup {
        let callee_port = free_port();
        let run = w.sipp_at(
            "127.0.0.1",
            callee_port,
            "register_auth.xml",
            Sip::Udp,
            &[
                "-s", EXT2, "-au", EXT2, "-ap", SECRET2, "-set", "expires", "300",
            ],
        );
        assert!(
            run.ok(),
            "callee registration failed:\n{}\n{}",
            run.explain(),
            w.log()
        );
        CallSetup {
            dir: tempfile::tempdir().unwrap(),
            callee_port,
        }
    }

    pub(super) fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts the callee; `rtp` is where its SDP says to send media.
    pub(super) fn callee(
        &self,
        w: &Warden,
        scenario: &str,
        rtp: SocketAddr,
        extra: &[&str],
    ) -> Sipp {
        let mut args = vec![
            "-set".into(),
            "rtp_ip".into(),
            rtp.ip().to_string(),
            "-set".into(),
            "rtp_port".into(),
            rtp.port().to_string(),
            "-set".into(),
            "out".into(),
            self.file("callee.addr").display().to_string(),
            "-mp".into(),
            free_media_port().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let sipp = Sipp::spawn(
            w,
            SippSpec {
                scenario,
                remote: None,
                port: self.callee_port,
                transport: Sip::Udp,
                args,
                cwd: None,
            },
        );
        // Give it time to bind before the INVITE comes.
        std::thread::sleep(Duration::from_millis(300));
        sipp
    }

    /// Starts the caller dialling `number`; `rtp` is where its SDP says to send media.
    pub(super) fn caller(
        &self,
        w: &Warden,
        scenario: &str,
        number: &str,
        transport: Sip,
        rtp: SocketAddr,
        extra: &[&str],
    ) -> Sipp {
        let mut args: Vec<String> = vec![
            "-s".into(),
            number.into(),
            "-au".into(),
            EXT.into(),
            "-ap".into(),
            SECRET.into(),
            "-auth_uri".into(),
            format!("{number}@{}", w.sip_addr()),
            "-set".into(),
            "caller".into(),
            EXT.into(),
            "-set".into(),
            "rtp_ip".into(),
            rtp.ip().to_string(),
            "-set".into(),
            "rtp_port".into(),
            rtp.port().to_string(),
            "-set".into(),
            "out".into(),
            self.file("caller.addr").display().to_string(),
            "-mp".into(),
            free_media_port().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        Sipp::spawn(
            w,
            SippSpec {
                scenario,
                remote: Some(w.sip_addr()),
                port: free_port(),
                transport,
                args,
                cwd: Some(self.dir.path()),
            },
        )
    }

    /// Places a call from EXT to EXT2 over UDP with a real RTP socket for each phone: starts
    /// the `callee` scenario answering and the `caller` scenario dialling (with `extra`
    /// arguments), and waits for the media-plane addresses both phones were given.
    pub(super) fn media_call(
        &self,
        w: &Warden,
        callee: &str,
        caller: &str,
        extra: &[&str],
    ) -> MediaCall {
        let (ta, tb) = (socket(), socket());
        let callee = self.callee(w, callee, tb.local_addr().unwrap(), &[]);
        let caller = self.caller(w, caller, EXT2, Sip::Udp, ta.local_addr().unwrap(), extra);
        let a_ep = self.media_addr("caller.addr", Duration::from_secs(10));
        let b_ep = self.media_addr("callee.addr", Duration::from_secs(10));
        MediaCall {
            ta,
            tb,
            caller,
            callee,
            a_ep,
            b_ep,
        }
    }

    /// The media address written by a scenario, once it is complete.
    pub(super) fn media_addr(&self, name: &str, within: Duration) -> SocketAddr {
        let path = self.file(name);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(addr) = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return addr;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no media address in {}", path.display());
    }
}

/// A call placed by [`CallSetup::media_call`].
pub(super) struct MediaCall {
    /// The caller's RTP socket.
    pub(super) ta: UdpSocket,
    /// The callee's RTP socket.
    pub(super) tb: UdpSocket,
    pub(super) caller: Sipp,
    pub(super) callee: Sipp,
    /// The media-plane endpoint the caller was told to send to.
    pub(super) a_ep: SocketAddr,
    /// The media-plane endpoint the callee was told to send to.
    pub(super) b_ep: SocketAddr,
}

/// Waits for both phones' scenarios to end, failing with their traces when one does not.
pub(super) fn finish(caller: &mut Sipp, callee: &mut Sipp) {
    assert!(
        caller.wait(Duration::from_secs(20)),
        "caller:\n{}",
        caller.explain()
    );
    assert!(
        callee.wait(Duration::from_secs(10)),
        "callee:\n{}",
        callee.explain()
    );
}

/// Reads the call records through warden-storage, waiting until `n` are there.
pub(super) fn records(w: &Warden, n: usize) -> Vec<CallRecord> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::connect(&w.db_url).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let page = store
                .search_call_records(&CallRecordFilter::default())
                .await
                .unwrap();
            if page.items.len() >= n || Instant::now() > deadline {
                store.close().await;
                let mut items = page.items;
                items.reverse();
                return items;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

pub(super) fn assert_media_plane_addr(w: &Warden, addr: SocketAddr) {
    assert_eq!(
        addr.ip().to_string(),
        "127.0.0.1",
        "the media address of the config"
    );
    let (lo, hi) = w.rtp_ports;
    assert!(
        (lo..=hi).contains(&addr.port()) && addr.port() % 2 == 0,
        "{addr} is not an allocated RTP port"
    );
}

/// An RTP packet: PCMU, 20 ms, `tag` and the sequence number as payload prefix.
pub(super) fn rtp(seq: u16, ssrc: u32, tag: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 0x00];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(tag);
    p.extend_from_slice(&seq.to_be_bytes());
    p.resize(12 + 160, 0xd5);
    p
}

/// What one test socket received: (source, payload type, payload).
pub(super) fn drain(sock: &UdpSocket, into: &mut Vec<(SocketAddr, u8, Vec<u8>)>) {
    let mut buf = [0u8; 2048];
    while let Ok((n, from)) = sock.recv_from(&mut buf) {
        if n >= 12 {
            into.push((from, buf[1] & 0x7f, buf[12..n].to_vec()));
        }
    }
}

/// What each phone heard: (source, payload type, payload) per packet.
pub(super) type Heard = Vec<(SocketAddr, u8, Vec<u8>)>;

/// The phones of `call` talk at once, `packets` RTP packets each way every 20 ms (the
/// caller's payloads start with `A2B`, the callee's with `B2A`), then listen 300 ms more.
/// Returns what the caller and the callee heard.
pub(super) fn talk(call: &MediaCall, packets: u16) -> (Heard, Heard) {
    let (mut at_a, mut at_b) = (Vec::new(), Vec::new());
    for seq in 0..packets {
        call.ta
            .send_to(&rtp(seq, 0x1111_1111, b"A2B"), call.a_ep)
            .unwrap();
        call.tb
            .send_to(&rtp(seq, 0x2222_2222, b"B2A"), call.b_ep)
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        drain(&call.ta, &mut at_a);
        drain(&call.tb, &mut at_b);
    }
    std::thread::sleep(Duration::from_millis(300));
    drain(&call.ta, &mut at_a);
    drain(&call.tb, &mut at_b);
    (at_a, at_b)
}

pub(super) fn socket() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_nonblocking(true).unwrap();
    s
}

/// Writes a G.711 (PCMU) capture of `packets` 20 ms RTP packets, Ethernet/IPv4/UDP, for
/// SIPp's `play_pcap_audio`.
pub(super) fn write_pcap(path: &Path, packets: u16) {
    let packets: Vec<Vec<u8>> = (0..packets)
        .map(|seq| {
            let mut payload = rtp(seq, 0x0123_4567, b"PCAP");
            // A 400 Hz-ish tone rather than silence.
            for (i, b) in payload.iter_mut().skip(18).enumerate() {
                *b = if (i / 10) % 2 == 0 { 0x1f } else { 0x9f };
            }
            payload
        })
        .collect();
    write_pcap_packets(path, &packets);
}

/// A pcap file SIPp's `play_pcap_audio` replays: each RTP packet in its own UDP datagram
/// (Ethernet/IPv4), 20 ms apart.
pub(super) fn write_pcap_packets(path: &Path, packets: &[Vec<u8>]) {
    let mut out = Vec::new();
    for v in [0xa1b2_c3d4u32.to_le_bytes(), [2, 0, 4, 0]] {
        out.extend_from_slice(&v);
    }
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    for (seq, payload) in packets.iter().enumerate() {
        let udp_len = 8 + payload.len();
        let ip_len = 20 + udp_len;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        let sum = ip
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum::<u32>();
        let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&10000u16.to_be_bytes());
        frame.extend_from_slice(&20000u16.to_be_bytes());
        frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes());
        frame.extend_from_slice(payload);
        let micros = seq as u32 * 20_000;
        out.extend_from_slice(&(micros / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(micros % 1_000_000).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&out))
        .unwrap();
}

/// Logs in as the administrator and returns a bearer token.
pub(super) fn admin_token(w: &Warden) -> String {
    let (status, body) = http(
        w,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&format!(
            "{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}"
        )),
    );
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// A minimal HTTP/1.1 request (Connection: close) returning status and body.
pub(super) fn http(
    w: &Warden,
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> (u16, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", w.api_port)).unwrap();
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
    // Small JSON bodies may come chunked: keep the JSON part.
    let json_part = match (body.find(['{', '[']), body.rfind(['}', ']'])) {
        (Some(a), Some(b)) if b >= a => body[a..=b].to_string(),
        _ => body,
    };
    (status, json_part)
}

/// The live calls the API lists.
pub(super) fn live_calls(w: &Warden, token: &str) -> Vec<Value> {
    let (status, body) = http(w, "GET", "/api/v1/calls", Some(token), None);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body)
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub(super) fn wait_for(mut cond: impl FnMut() -> bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}
