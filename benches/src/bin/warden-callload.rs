//! Call load benchmark.
//!
//! A SIPp caller and a SIPp callee place calls through Warden at fixed rates: the full B2BUA
//! with media anchored in the media plane (INVITE, 407 challenge, INVITE with credentials,
//! 180, 200, ACK, G.711 RTP played by the caller and echoed by the callee for the hold time,
//! BYE), one call record per call. For each rate it reports whether every call succeeded and
//! Warden's CPU time per call (from /proc, split into the media cores and the rest). In the
//! same run the same scenario goes through two references: Kamailio set up as a plain
//! stateful proxy (no media, no authentication; benches/kamailio/kamailio.cfg), and the same
//! proxy with the media anchored in rtpengine, userspace forwarding
//! (benches/kamailio/kamailio-rtpengine.cfg), whose CPU counts as media.
//!
//! ```text
//! cargo build --release -p warden -p warden-benches
//! target/release/warden-callload --warden target/release/warden --rates 20,50,100,200
//! ```

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The callee every caller dials.
const CALLEE: &str = "2000";
const CALLEE_SECRET: &str = "callee-2000-secret";

struct Args {
    warden: PathBuf,
    kamailio: Option<PathBuf>,
    /// rtpengine for the second reference (`None`: not measured).
    rtpengine: Option<PathBuf>,
    rates: Vec<u32>,
    seconds: u32,
    hold_ms: u32,
    callers: u32,
    database: Option<String>,
    /// `media.wake_interval_us` for Warden (`None`: its default).
    wake_interval_us: Option<u32>,
    /// Also measure Warden with `media.kernel_forwarding: off` (every packet through the
    /// media cores).
    userspace_run: bool,
    /// Times the whole measurement runs, Warden and the references taking turns; the
    /// summary compares medians (these machines are noisy).
    rounds: u32,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        warden: PathBuf::from("target/release/warden"),
        kamailio: Some(PathBuf::from("kamailio")),
        rtpengine: Some(PathBuf::from("rtpengine")),
        rates: vec![20, 50, 100, 200],
        seconds: 10,
        hold_ms: 1000,
        callers: 100,
        database: None,
        wake_interval_us: None,
        userspace_run: true,
        rounds: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--warden" => a.warden = PathBuf::from(val()?),
            "--kamailio" => a.kamailio = Some(PathBuf::from(val()?)),
            "--no-kamailio" => a.kamailio = None,
            "--rtpengine" => a.rtpengine = Some(PathBuf::from(val()?)),
            "--no-rtpengine" => a.rtpengine = None,
            "--rates" => {
                a.rates = val()?
                    .split(',')
                    .map(|r| r.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--seconds" => a.seconds = val()?.parse()?,
            "--hold-ms" => a.hold_ms = val()?.parse()?,
            "--callers" => a.callers = val()?.parse()?,
            "--database" => a.database = Some(val()?),
            "--wake-interval-us" => a.wake_interval_us = Some(val()?.parse()?),
            "--no-userspace-run" => a.userspace_run = false,
            "--rounds" => a.rounds = val()?.parse()?,
            "-h" | "--help" => {
                println!(
                    "warden-callload [--warden PATH] [--kamailio PATH | --no-kamailio] [--rtpengine PATH | --no-rtpengine] [--rates 20,50,100] \
                     [--seconds N] [--hold-ms MS] [--callers N] [--database URL] [--wake-interval-us US] [--no-userspace-run] [--rounds N]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    if a.rates.is_empty() || a.rates.contains(&0) {
        bail!("--rates needs positive rates");
    }
    if a.rounds == 0 {
        bail!("--rounds needs at least 1");
    }
    Ok(a)
}

fn free_port() -> Result<u16> {
    for _ in 0..100 {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        // The same number may be taken for UDP (a media port): take another.
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no port free for both TCP and UDP")
}

/// An even port with the next three free (SIPp's media port: RTP, RTCP, video).
fn free_media_port() -> Result<u16> {
    for _ in 0..500 {
        let p = free_port()? & !1;
        if p > 1024 && (p..p + 4).all(|q| std::net::UdpSocket::bind(("127.0.0.1", q)).is_ok()) {
            return Ok(p);
        }
    }
    bail!("no free media port")
}

/// Clock ticks per second of /proc CPU times.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions and only reads a system value.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// (name, utime + stime in seconds) of a /proc stat file.
fn stat_cpu(path: &Path) -> Option<(String, f64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (head, after) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((name, (utime + stime) / clock_ticks()))
}

/// CPU seconds of Warden's threads: (media cores, everything else).
fn warden_cpu(pid: u32) -> Result<(f64, f64)> {
    let (mut media, mut rest) = (0.0, 0.0);
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = entry?.path().join("stat");
        if let Some((name, cpu)) = stat_cpu(&path) {
            if name.starts_with("warden-media") {
                media += cpu;
            } else {
                rest += cpu;
            }
        }
    }
    Ok((media, rest))
}

/// CPU seconds of a process and its direct children (Kamailio's workers).
fn tree_cpu(pid: u32) -> f64 {
    let mut total = 0.0;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    for entry in dir.flatten() {
        let Ok(other) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{other}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if other == pid || ppid == Some(pid) {
            // Threads are summed in the process line.
            if let Some((_, cpu)) = stat_cpu(&PathBuf::from(format!("/proc/{other}/stat"))) {
                total += cpu;
            }
        }
    }
    total
}

/// Packets in the capture the caller plays: one per 20 ms of the hold time (1 to 3000).
fn pcap_packets(hold_ms: u32) -> u16 {
    u16::try_from((hold_ms / 20).clamp(1, 3000)).unwrap_or(3000)
}

/// A G.711 capture of `packets` 20 ms RTP packets (Ethernet/IPv4/UDP) for SIPp.
fn write_pcap(path: &Path, packets: u16) -> Result<()> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0]);
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for seq in 0..packets {
        let mut rtp = vec![0x80, 0x00];
        rtp.extend_from_slice(&seq.to_be_bytes());
        rtp.extend_from_slice(&(u32::from(seq) * 160).to_be_bytes());
        rtp.extend_from_slice(&0x0bad_cafeu32.to_be_bytes());
        rtp.extend((0..160).map(|i| if (i / 10) % 2 == 0 { 0x1f } else { 0x9f }));
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip[2..4].copy_from_slice(&u16::try_from(ip_len)?.to_be_bytes());
        let sum: u32 = ip
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
            .sum();
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        let mut frame = vec![0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00];
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&10000u16.to_be_bytes());
        frame.extend_from_slice(&20000u16.to_be_bytes());
        frame.extend_from_slice(&u16::try_from(udp_len)?.to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes());
        frame.extend_from_slice(&rtp);
        let micros = u32::from(seq) * 20_000;
        out.extend_from_slice(&(micros / 1_000_000).to_le_bytes());
        out.extend_from_slice(&(micros % 1_000_000).to_le_bytes());
        let len = u32::try_from(frame.len())?;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&frame);
    }
    std::fs::write(path, out)?;
    Ok(())
}

/// A server under test.
struct Server {
    child: Child,
    sip: u16,
    /// Warden: per-thread CPU (media vs the rest); Kamailio: the process tree.
    warden: bool,
    /// rtpengine beside Kamailio: its CPU counts as media.
    media: Option<Child>,
    /// Where the relay's count of relayed packets is read.
    counter: Option<RelayCounter>,
}

/// Where a media relay says how many packets it has relayed.
#[derive(Clone, Copy)]
enum RelayCounter {
    /// Warden's `/metrics` on this API port (`warden_media_packets_out_total`, refreshed
    /// once a second).
    WardenMetrics(u16),
    /// rtpengine's command-line interface on this port (`list totals`: sessions that ended).
    RtpengineCli(u16),
}

/// Everything a TCP peer sends after `request`, until it closes or pauses for a second.
fn ask(port: u16, request: &str) -> Option<String> {
    use std::io::Read;
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    c.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
    c.write_all(request.as_bytes()).ok()?;
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Warden's media drop counters by reason, summed over cores.
fn warden_drops(port: u16) -> Vec<(String, u64)> {
    let Some(text) = ask(port, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n") else {
        return Vec::new();
    };
    let mut out: Vec<(String, u64)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("warden_media_drops_total{"))
    {
        let reason = line
            .split("reason=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("?");
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        match out.iter_mut().find(|(r, _)| r == reason) {
            Some((_, total)) => *total += n,
            None => out.push((reason.to_string(), n)),
        }
    }
    out
}

impl RelayCounter {
    /// Packets relayed so far.
    fn read(self) -> Option<u64> {
        match self {
            RelayCounter::WardenMetrics(port) => {
                let text = ask(port, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")?;
                // Sent by the media cores, and forwarded by the kernel for them.
                let lines = text.lines().filter(|l| {
                    l.starts_with("warden_media_packets_out_total")
                        || l.starts_with("warden_media_kernel_packets_total")
                });
                lines
                    .map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                    .sum()
            }
            RelayCounter::RtpengineCli(port) => {
                let text = ask(port, "list totals\n")?;
                let line = text
                    .lines()
                    .find(|l| l.trim_start().starts_with("Total relayed packets "))?;
                line.rsplit(':').next()?.trim().parse().ok()
            }
        }
    }
}

impl Server {
    /// (media, signalling) CPU seconds so far.
    fn cpu(&self) -> Result<(f64, f64)> {
        if self.warden {
            warden_cpu(self.child.id())
        } else {
            let media = self.media.as_ref().map_or(0.0, |m| tree_cpu(m.id()));
            Ok((media, tree_cpu(self.child.id())))
        }
    }
}

/// Asks a process to stop, then kills it if it has not after 5 s.
fn stop(child: &mut Child) {
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

impl Drop for Server {
    fn drop(&mut self) {
        stop(&mut self.child);
        if let Some(m) = self.media.as_mut() {
            stop(m);
        }
    }
}

fn wait_port(port: u16, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not start")
}

/// Starts Warden; `kernel` is its `media.kernel_forwarding`. Each start gets a data
/// directory of its own: a database kept from the last start would hold the callee's last
/// registration too, and every call would also ring that dead contact.
fn start_warden(args: &Args, dir: &Path, kernel: &str) -> Result<Server> {
    static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let start = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let data = dir.join(format!("warden-{start}"));
    std::fs::create_dir_all(&data)?;
    let sip = free_port()?;
    let api = free_port()?;
    let mut yaml = format!(
        "data_dir: {d}\nsip:\n  listen: [\"udp:127.0.0.1:{sip}\", \"tcp:127.0.0.1:{sip}\"]\n  domain: load.test\n  \
         registrar: {{ digest_algorithms: [MD5, SHA-256] }}\n  \
         security: {{ rate_limit_per_sec: 1000000, rate_limit_burst: 1000000 }}\n\
         media:\n  address: 127.0.0.1\n  rtp_ports: \"40000-59998\"\n  kernel_forwarding: {kernel}\n{wake}\
         api:\n  listen: \"127.0.0.1:{api}\"\nlog:\n  level: warn\n",
        d = data.display(),
        wake = args
            .wake_interval_us
            .map(|us| format!("  wake_interval_us: {us}\n"))
            .unwrap_or_default(),
    );
    if let Some(db) = &args.database {
        yaml.push_str(&format!("database:\n  url: \"{db}\"\n"));
    }
    yaml.push_str(&format!(
        "extensions:\n  - {{ number: \"{CALLEE}\", name: \"Callee\", secret: \"{CALLEE_SECRET}\" }}\n"
    ));
    for i in 0..args.callers {
        yaml.push_str(&format!(
            "  - {{ number: \"{}\", name: \"Caller {i}\", secret: \"pw-{i}-secret\" }}\n",
            100_000 + i
        ));
    }
    let cfg = data.join("warden.yaml");
    std::fs::write(&cfg, yaml)?;
    let child = Command::new(&args.warden)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.warden.display()))?;
    let server = Server {
        child,
        sip,
        warden: true,
        media: None,
        counter: Some(RelayCounter::WardenMetrics(api)),
    };
    wait_port(api, "warden")?;
    Ok(server)
}

/// Starts rtpengine (userspace forwarding only) with its control socket on `ng` and its
/// command-line interface on `cli`.
fn start_rtpengine(bin: &Path, dir: &Path, ng: u16, cli: u16) -> Result<Child> {
    let child = Command::new(bin)
        .args([
            "--interface=127.0.0.1",
            &format!("--listen-ng=127.0.0.1:{ng}"),
            &format!("--listen-cli=127.0.0.1:{cli}"),
            "--port-min=20000",
            "--port-max=29999",
            "--table=-1",
            "--foreground",
            "--log-stderr",
            "--log-level=3",
            "--num-threads=2",
        ])
        .arg(format!("--pidfile={}", dir.join("rtpengine.pid").display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    // Its control socket is UDP: give it a moment to bind.
    std::thread::sleep(Duration::from_millis(500));
    Ok(child)
}

/// Starts Kamailio with `config` from benches/kamailio, and with `rtpengine` beside it when
/// given (the config then talks to it).
fn start_kamailio(
    bin: &Path,
    config: &str,
    rtpengine: Option<&Path>,
    dir: &Path,
    callee_port: u16,
) -> Result<Server> {
    let sip = free_port()?;
    let ng = free_port()?;
    let cli = free_port()?;
    let media = rtpengine
        .map(|r| start_rtpengine(r, dir, ng, cli))
        .transpose()?;
    let counter = media.as_ref().map(|_| RelayCounter::RtpengineCli(cli));
    let template = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("kamailio")
        .join(config);
    let cfg = std::fs::read_to_string(&template)
        .with_context(|| format!("reading {}", template.display()))?
        .replace("@LISTEN@", &format!("127.0.0.1:{sip}"))
        .replace("@CALLEE@", &format!("sip:127.0.0.1:{callee_port}"))
        .replace("@NG@", &ng.to_string());
    let path = dir.join(config);
    std::fs::write(&path, cfg)?;
    let child = Command::new(bin)
        .args(["-DD", "-E", "-m", "64", "-M", "8", "-f"])
        .arg(&path)
        .args(["-P"])
        .arg(dir.join("kamailio.pid"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        child,
        sip,
        warden: false,
        media,
        counter,
    };
    wait_port(sip, "kamailio")?;
    Ok(server)
}

fn sipp(scenario: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sipp")
        .join(scenario)
}

/// Final counters of a SIPp statistics file: (successful, failed) calls.
fn sipp_counts(stats: &Path) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(stats).ok()?;
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last: Vec<&str> = lines.next_back()?.split(';').collect();
    let col = |name: &str| -> Option<u64> {
        let i = header.iter().position(|h| *h == name)?;
        last.get(i)?.trim().parse().ok()
    };
    Some((col("SuccessfulCall(C)")?, col("FailedCall(C)")?))
}

/// The callee's listening port; it registers first when the server is Warden.
fn register_callee(server: &Server, port: u16) -> Result<()> {
    let status = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip))
        .arg("-sf")
        .arg(sipp("call_register.xml"))
        .args(["-s", CALLEE, "-au", CALLEE, "-ap", CALLEE_SECRET])
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
        .args(["-timeout", "10s", "-timeout_error", "-nostdin"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running sipp")?;
    if !status.success() {
        bail!("registering the callee failed");
    }
    Ok(())
}

/// One load step.
struct Phase {
    rate: u32,
    calls: u64,
    ok: u64,
    failed: u64,
    wall: Duration,
    media_cpu: f64,
    sip_cpu: f64,
    /// CPU time of the whole machine (every process, the kernel's soft interrupts, the
    /// SIPp phones), seconds: where forwarding costs land that no process is charged for.
    machine_cpu: f64,
    /// RTP packets the relay relayed against the packets the phones sent (`None`: no relay,
    /// or its count could not be read).
    relayed: Option<(u64, u64)>,
    /// Warden's media drops during the phase, by reason (only the non-zero ones).
    drops: Vec<(String, u64)>,
}

impl Phase {
    fn clean(&self) -> bool {
        self.failed == 0 && self.ok == self.calls
    }

    /// At most 1 % of the calls failed: the CPU per call still compares (a saturated
    /// machine's phones time out a call now and then).
    fn nearly_clean(&self) -> bool {
        self.ok * 100 >= self.calls * 99
    }

    /// Media CPU per call, µs.
    fn media_us(&self) -> f64 {
        self.media_cpu * 1e6 / self.calls.max(1) as f64
    }

    /// Signalling CPU per call, µs.
    fn sip_us(&self) -> f64 {
        self.sip_cpu * 1e6 / self.calls.max(1) as f64
    }

    fn us_per_call(&self) -> f64 {
        self.media_us() + self.sip_us()
    }

    /// The whole machine's CPU per call, µs.
    fn machine_us(&self) -> f64 {
        self.machine_cpu * 1e6 / self.calls.max(1) as f64
    }
}

fn run_phase(
    server: &Server,
    args: &Args,
    dir: &Path,
    callee_port: u16,
    rate: u32,
) -> Result<Phase> {
    let calls = u64::from(rate) * u64::from(args.seconds);
    let limit = (rate * (args.hold_ms / 1000 + 3)).max(10);
    let uas_stats = dir.join(format!("uas-{rate}.csv"));
    let uac_stats = dir.join(format!("uac-{rate}.csv"));
    let mut uas = Command::new("sipp")
        .arg("-sf")
        .arg(sipp("call_uas.xml"))
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &callee_port.to_string(),
            "-t",
            "u1",
        ])
        .args([
            "-m",
            &calls.to_string(),
            "-rtp_echo",
            "-mp",
            &free_media_port()?.to_string(),
        ])
        .args(["-timeout", &format!("{}s", args.seconds + 60), "-nostdin"])
        .args(["-trace_stat", "-fd", "1", "-stf"])
        .arg(&uas_stats)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("running the callee sipp")?;
    std::thread::sleep(Duration::from_millis(300));
    let (scenario, auth) = if server.warden {
        ("call_uac.xml", true)
    } else {
        ("call_uac_plain.xml", false)
    };
    let mut cmd = Command::new("sipp");
    cmd.arg(format!("127.0.0.1:{}", server.sip))
        .arg("-sf")
        .arg(sipp(scenario))
        .args(["-s", CALLEE, "-inf"])
        .arg(dir.join("callers.csv"))
        .args([
            "-r",
            &rate.to_string(),
            "-rp",
            "1000",
            "-m",
            &calls.to_string(),
        ])
        .args(["-l", &limit.to_string(), "-d", &args.hold_ms.to_string()])
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &free_port()?.to_string(),
            "-t",
            "u1",
        ])
        .args(["-mp", &free_media_port()?.to_string()])
        .args(["-timeout", &format!("{}s", args.seconds + 60), "-nostdin"])
        .args(["-trace_stat", "-fd", "1", "-stf"])
        .arg(&uac_stats)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if auth {
        cmd.args(["-auth_uri", &format!("{CALLEE}@127.0.0.1:{}", server.sip)]);
    }
    let before = server.cpu()?;
    let machine_before = machine_cpu();
    let relayed_before = server.counter.and_then(RelayCounter::read);
    let drops_before = match server.counter {
        Some(RelayCounter::WardenMetrics(port)) => warden_drops(port),
        _ => Vec::new(),
    };
    let t0 = Instant::now();
    cmd.status().context("running the caller sipp")?;
    let wall = t0.elapsed();
    // Let the last BYEs and the call records finish before reading the CPU.
    std::thread::sleep(Duration::from_millis(500));
    let after = server.cpu()?;
    let machine_after = machine_cpu();
    // Warden publishes its media counters once a second.
    std::thread::sleep(Duration::from_millis(1500));
    let relayed_after = server.counter.and_then(RelayCounter::read);
    let drops = match server.counter {
        Some(RelayCounter::WardenMetrics(port)) => warden_drops(port)
            .into_iter()
            .map(|(reason, n)| {
                let before = drops_before
                    .iter()
                    .find(|(r, _)| *r == reason)
                    .map_or(0, |(_, b)| *b);
                (reason, n.saturating_sub(before))
            })
            .filter(|(_, n)| *n > 0)
            .collect(),
        _ => Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline && uas.try_wait()?.is_none() {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = uas.kill();
    let _ = uas.wait();
    let (ok, failed) = sipp_counts(&uac_stats).unwrap_or((0, calls));
    // Each answered call: the caller's packets to the callee and the callee's echo back.
    let sent = ok * 2 * u64::from(pcap_packets(args.hold_ms));
    let relayed = relayed_before
        .zip(relayed_after)
        .map(|(b, a)| (a.saturating_sub(b), sent));
    Ok(Phase {
        rate,
        calls,
        ok,
        failed,
        wall,
        media_cpu: after.0 - before.0,
        sip_cpu: after.1 - before.1,
        machine_cpu: machine_after
            .zip(machine_before)
            .map_or(0.0, |(a, b)| a - b),
        relayed,
        drops,
    })
}

/// CPU seconds the whole machine has spent busy since boot (`/proc/stat`: everything but
/// idle and I/O wait).
fn machine_cpu() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum();
    Some(busy as f64 / clock_ticks())
}

/// Every configured rate in turn, up to the first where more than 1 % of the calls failed.
fn run_phases(server: &Server, args: &Args, dir: &Path, callee_port: u16) -> Result<Vec<Phase>> {
    let mut phases = Vec::new();
    for &rate in &args.rates {
        let p = run_phase(server, args, dir, callee_port, rate)?;
        let stop = !p.nearly_clean();
        phases.push(p);
        if stop {
            break;
        }
    }
    Ok(phases)
}

fn print_phases(name: &str, phases: &[Phase]) {
    println!("{name}");
    println!(
        "  rate/s  calls   ok      failed  wall s   CPU us/call  (media, signalling)  machine us/call  RTP relayed"
    );
    for p in phases {
        println!(
            "  {:<7} {:<7} {:<7} {:<7} {:<8.1} {:<12.0} {:<20} {:<16.0} {}{}",
            p.rate,
            p.calls,
            p.ok,
            p.failed,
            p.wall.as_secs_f64(),
            p.us_per_call(),
            format!("({:.0}, {:.0})", p.media_us(), p.sip_us()),
            p.machine_us(),
            p.relayed.map_or("-".to_string(), |(got, sent)| format!(
                "{:.1} % of {sent}",
                100.0 * got as f64 / sent.max(1) as f64
            )),
            if p.clean() { "" } else { "  <- failures" }
        );
        if !p.drops.is_empty() {
            let list: Vec<String> = p.drops.iter().map(|(r, n)| format!("{r} {n}")).collect();
            println!("          media drops: {}", list.join(", "));
        }
    }
}

/// The highest rate of the unbroken run of clean rates from the first.
fn highest_clean(phases: &[Phase]) -> Option<u32> {
    phases
        .iter()
        .take_while(|p| p.clean())
        .map(|p| p.rate)
        .max()
}

/// One round: Warden (and Warden without kernel forwarding), then the references, at
/// every rate.
fn measure(args: &Args, dir: &Path, callee_port: u16) -> Result<HashMap<&'static str, Vec<Phase>>> {
    let mut results: HashMap<&'static str, Vec<Phase>> = HashMap::new();
    let mut wardens = vec![("warden", "auto")];
    if args.userspace_run {
        wardens.push(("warden-userspace", "off"));
    }
    for (name, kernel) in wardens {
        let server = start_warden(args, dir, kernel)?;
        // The same contact every time: with a shared `--database` the REGISTER replaces
        // the last start's binding instead of adding one.
        register_callee(&server, callee_port)?;
        results.insert(name, run_phases(&server, args, dir, callee_port)?);
    }
    if let Some(bin) = &args.kamailio {
        let mut references = vec![("kamailio", "kamailio.cfg", None)];
        if let Some(r) = args.rtpengine.as_deref() {
            references.push(("kamailio+rtpengine", "kamailio-rtpengine.cfg", Some(r)));
        }
        for (name, config, rtpengine) in references {
            match start_kamailio(bin, config, rtpengine, dir, callee_port) {
                Ok(server) => {
                    results.insert(name, run_phases(&server, args, dir, callee_port)?);
                }
                Err(e) => eprintln!("{name} not measured: {e:#}"),
            }
        }
    }
    Ok(results)
}

/// Prints one round's tables and comparisons.
fn report(args: &Args, results: &HashMap<&'static str, Vec<Phase>>) {
    println!(
        "scenario   INVITE{} 180 200 ACK, G.711 RTP both ways for {} ms, BYE; {} s per rate",
        if args.kamailio.is_some() {
            " (Warden: +407 challenge)"
        } else {
            " 407"
        },
        args.hold_ms,
        args.seconds
    );
    println!(
        "database   {}",
        args.database.as_deref().unwrap_or("SQLite (embedded)")
    );
    let warden = results.get("warden").map(Vec::as_slice).unwrap_or_default();
    print_phases(
        "Warden (B2BUA, digest auth, media anchored, call records; kernel_forwarding: auto)",
        warden,
    );
    let userspace = results
        .get("warden-userspace")
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !userspace.is_empty() {
        print_phases(
            "Warden, every packet through the media cores (kernel_forwarding: off)",
            userspace,
        );
    }
    let reference = |name: &str| results.get(name).map(Vec::as_slice).unwrap_or_default();
    let kamailio = reference("kamailio");
    let anchored = reference("kamailio+rtpengine");
    if !kamailio.is_empty() {
        print_phases("Kamailio (stateful proxy, no media, no auth)", kamailio);
    }
    if !anchored.is_empty() {
        print_phases(
            "Kamailio + rtpengine (stateful proxy, media anchored in rtpengine userspace; media = rtpengine's CPU)",
            anchored,
        );
    }
    let highest = |phases: &[Phase], none: &str| {
        highest_clean(phases).map_or(none.to_string(), |r| format!("{r}/s"))
    };
    println!(
        "highest rate with zero failed calls: Warden {}, Kamailio {}, Kamailio + rtpengine {}",
        highest(warden, "none"),
        highest(kamailio, "-"),
        highest(anchored, "-"),
    );
    for p in warden.iter().filter(|p| p.clean()) {
        for (name, phases) in [
            ("Warden without kernel forwarding", userspace),
            ("Kamailio", kamailio),
            ("Kamailio + rtpengine", anchored),
        ] {
            if let Some(k) = phases.iter().find(|k| k.rate == p.rate && k.clean()) {
                println!(
                    "at {}/s: Warden {:.0} us/call ({:.0} media, {:.0} signalling) vs {name} {:.0} us/call ({:.0} media): {:.2}x; whole machine {:.0} vs {:.0} us/call: {:.2}x",
                    p.rate,
                    p.us_per_call(),
                    p.media_us(),
                    p.sip_us(),
                    k.us_per_call(),
                    k.media_us(),
                    p.us_per_call() / k.us_per_call().max(1e-9),
                    p.machine_us(),
                    k.machine_us(),
                    p.machine_us() / k.machine_us().max(1e-9)
                );
            }
        }
    }
}

/// The median of `v` (the lower middle for an even count); `None` when empty.
fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len().saturating_sub(1) / 2).copied()
}

/// Medians over the rounds of Warden's and Kamailio's CPU per call, rate by rate.
fn summarise(args: &Args, rounds: &[HashMap<&'static str, Vec<Phase>>]) {
    println!(
        "==== over {} rounds, Warden and Kamailio taking turns: CPU us/call, median (each round; phases with at most 1 % failed calls)",
        rounds.len()
    );
    println!("  rate/s  Warden                     Kamailio                   Warden / Kamailio");
    let in_round = |r: &HashMap<&'static str, Vec<Phase>>, name: &str, rate: u32| {
        r.get(name)?
            .iter()
            .find(|p| p.rate == rate && p.nearly_clean())
            .map(Phase::us_per_call)
    };
    let per_round = |name: &str, rate: u32| -> Vec<f64> {
        rounds
            .iter()
            .filter_map(|r| in_round(r, name, rate))
            .collect()
    };
    let list = |v: &[f64], digits: usize| {
        v.iter()
            .map(|x| format!("{x:.digits$}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for &rate in &args.rates {
        let (w, k) = (per_round("warden", rate), per_round("kamailio", rate));
        // Only rounds where both ran clean at this rate.
        let ratios: Vec<f64> = rounds
            .iter()
            .filter_map(|r| Some(in_round(r, "warden", rate)? / in_round(r, "kamailio", rate)?))
            .collect();
        let (Some(wm), Some(km)) = (median(w.clone()), median(k.clone())) else {
            continue;
        };
        println!(
            "  {:<7} {:<26} {:<26} {:.2}x ({})",
            rate,
            format!("{wm:.0} ({})", list(&w, 0)),
            format!("{km:.0} ({})", list(&k, 0)),
            wm / km.max(1e-9),
            list(&ratios, 2)
        );
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dir = std::env::temp_dir().join(format!("warden-callload-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    write_pcap(&dir.join("g711.pcap"), pcap_packets(args.hold_ms))?;
    let mut f = std::fs::File::create(dir.join("callers.csv"))?;
    writeln!(f, "SEQUENTIAL")?;
    for i in 0..args.callers {
        writeln!(f, "{};pw-{i}-secret", 100_000 + i)?;
    }
    drop(f);

    let callee_port = free_port()?;
    let mut rounds = Vec::new();
    for _ in 0..args.rounds {
        rounds.push(measure(&args, &dir, callee_port)?);
    }
    for (i, results) in rounds.iter().enumerate() {
        if args.rounds > 1 {
            println!("==== round {} of {}", i + 1, args.rounds);
        }
        report(&args, results);
    }
    if args.rounds > 1 {
        summarise(&args, &rounds);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
