//! Registration load benchmark.
//!
//! Starts a `warden` binary with N seeded extensions, has SIPp register every one of them with
//! digest auth (REGISTER → 401 → REGISTER with credentials → 200) at a target rate, and reports
//! registrations per second and Warden's CPU time per registration (from /proc/PID/stat). In the
//! same run it measures an OPTIONS load (one transaction, no auth, no database) as the baseline,
//! so the figure that matters is the ratio, not the absolute time on a shared machine.
//!
//! ```text
//! cargo build --release -p warden -p warden-benches
//! target/release/warden-regload --warden target/release/warden --users 2000 --rate 1000
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

struct Args {
    warden: PathBuf,
    users: u32,
    rate: u32,
    database: Option<String>,
    transport: String,
}

fn parse_args() -> Result<Args> {
    let mut a = Args {
        warden: PathBuf::from("target/release/warden"),
        users: 2000,
        rate: 1000,
        database: None,
        transport: "u1".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--warden" => a.warden = PathBuf::from(val()?),
            "--users" => a.users = val()?.parse()?,
            "--rate" => a.rate = val()?.parse()?,
            "--database" => a.database = Some(val()?),
            "--tcp" => a.transport = "t1".into(),
            "-h" | "--help" => {
                println!("warden-regload [--warden PATH] [--users N] [--rate R] [--database URL] [--tcp]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, r)| r).context("bad stat")?;
    let f: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = f.get(11).context("no utime")?.parse()?;
    let stime: f64 = f.get(12).context("no stime")?.parse()?;
    // SAFETY-free: sysconf via getconf would need libc; CLK_TCK is 100 on Linux x86_64/arm64.
    Ok((utime + stime) / 100.0)
}

struct Server {
    child: Child,
    sip: u16,
    api: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &Args, dir: &Path) -> Result<Server> {
    let sip = free_port()?;
    let api = free_port()?;
    let mut yaml = format!(
        "data_dir: {d}\nsip:\n  listen: [\"udp:127.0.0.1:{sip}\", \"tcp:127.0.0.1:{sip}\"]\n  domain: load.test\n  security: {{ rate_limit_per_sec: 1000000, rate_limit_burst: 1000000 }}\n  registrar: {{ digest_algorithms: [MD5, SHA-256] }}\napi:\n  listen: \"127.0.0.1:{api}\"\nlog:\n  level: warn\n",
        d = dir.display()
    );
    if let Some(db) = &args.database {
        yaml.push_str(&format!("database:\n  url: \"{db}\"\n"));
    }
    yaml.push_str("extensions:\n");
    for i in 0..args.users {
        yaml.push_str(&format!(
            "  - {{ number: \"{}\", name: \"Load {i}\", secret: \"pw-{i}-secret\" }}\n",
            100000 + i
        ));
    }
    let cfg = dir.join("warden.yaml");
    std::fs::write(&cfg, yaml)?;
    let child = Command::new(&args.warden)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.warden.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", api)).is_ok() {
            return Ok(Server { child, sip, api });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("warden did not start")
}

struct Phase {
    calls: u32,
    wall: Duration,
    cpu: f64,
    failed: u32,
}

fn run_sipp(
    server: &Server,
    args: &Args,
    scenario: &str,
    inf: Option<&Path>,
    calls: u32,
) -> Result<Phase> {
    let scen = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sipp")
        .join(scenario);
    let before = cpu_seconds(server.child.id())?;
    let t0 = Instant::now();
    let mut cmd = Command::new("sipp");
    cmd.arg(format!("127.0.0.1:{}", server.sip))
        .arg("-sf")
        .arg(&scen)
        .args([
            "-m",
            &calls.to_string(),
            "-r",
            &args.rate.to_string(),
            "-rp",
            "1000",
        ])
        .args([
            "-l",
            "2000",
            "-i",
            "127.0.0.1",
            "-p",
            &free_port()?.to_string(),
            "-t",
            &args.transport,
        ])
        .args(["-timeout", "120s", "-nostdin", "-trace_err", "-error_file"])
        .arg(std::env::temp_dir().join(format!("warden-regload-{scenario}.errors.log")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(f) = inf {
        cmd.arg("-inf").arg(f);
    }
    let status = cmd.status().context("running sipp")?;
    let wall = t0.elapsed();
    let cpu = cpu_seconds(server.child.id())? - before;
    // SIPp exits 0 when every call succeeded, 1 when some failed.
    let failed = if status.success() { 0 } else { 1 };
    Ok(Phase {
        calls,
        wall,
        cpu,
        failed,
    })
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let dir = std::env::temp_dir().join(format!("warden-regload-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let server = start(&args, &dir)?;
    let inf = dir.join("users.csv");
    let mut f = std::fs::File::create(&inf)?;
    writeln!(f, "SEQUENTIAL")?;
    for i in 0..args.users {
        writeln!(f, "{};pw-{i}-secret", 100000 + i)?;
    }
    drop(f);

    let base = run_sipp(&server, &args, "options.xml", None, args.users)?;
    let reg = run_sipp(&server, &args, "regload.xml", Some(&inf), args.users)?;
    let _ = server.api;

    let per = |p: &Phase| p.cpu * 1e6 / f64::from(p.calls);
    println!(
        "transport            {}",
        if args.transport == "t1" { "TCP" } else { "UDP" }
    );
    println!(
        "database             {}",
        args.database.as_deref().unwrap_or("SQLite (embedded)")
    );
    println!("users                {}", args.users);
    println!("target rate          {}/s", args.rate);
    println!(
        "OPTIONS baseline     {:.0}/s, {:.1} us CPU each{}",
        f64::from(base.calls) / base.wall.as_secs_f64(),
        per(&base),
        if base.failed > 0 {
            " (SOME FAILED)"
        } else {
            ""
        }
    );
    println!(
        "registrations        {:.0}/s, {:.1} us CPU each{}",
        f64::from(reg.calls) / reg.wall.as_secs_f64(),
        per(&reg),
        if reg.failed > 0 { " (SOME FAILED)" } else { "" }
    );
    println!(
        "CPU ratio            {:.2}x the OPTIONS transaction",
        per(&reg) / per(&base).max(1e-9)
    );
    let _ = std::fs::remove_dir_all(&dir);
    if reg.failed > 0 || base.failed > 0 {
        bail!("some SIPp calls failed; lower --rate");
    }
    Ok(())
}
