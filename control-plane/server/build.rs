//! Embeds the web dashboard (`admin/dist`) into the binary.
//!
//! * When `admin/dist` is missing or older than the dashboard's sources, and `npm` is on the
//!   PATH, runs `npm ci` (only when `node_modules` is missing or older than
//!   `package-lock.json`) and `npm run build` in `admin/`, one build at a time (a lock
//!   directory serialises concurrent cargo builds).
//! * Copies `admin/dist` to `$OUT_DIR/admin-dist`, which `src/api/assets.rs` embeds; when there
//!   is no bundle (no npm, or the build failed) it writes a fallback page there instead, which
//!   says how to build the dashboard, and prints a cargo warning.
//!
//! `WARDEN_ADMIN_BUILD=skip` never runs npm (the existing `admin/dist` or the fallback page is
//! embedded).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Dashboard inputs whose change makes `admin/dist` stale.
const SOURCES: &[&str] = &[
    "src",
    "index.html",
    "api-docs",
    "public",
    "vite.config.ts",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let admin = manifest.join("../../admin");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default()).join("admin-dist");
    let dist = admin.join("dist");
    // Only existing paths: cargo reruns the script on every build for a missing one.
    for p in SOURCES.iter().map(|s| admin.join(s)).chain([dist.clone()]) {
        if p.exists() {
            println!("cargo:rerun-if-changed={}", p.display());
        }
    }
    if !dist.exists() && admin.exists() {
        // Notice when a bundle appears.
        println!("cargo:rerun-if-changed={}", admin.display());
    }
    println!("cargo:rerun-if-env-changed=WARDEN_ADMIN_BUILD");

    let skip = std::env::var("WARDEN_ADMIN_BUILD").is_ok_and(|v| v == "skip");
    if !skip && admin.join("index.html").exists() && is_stale(&admin, &dist) {
        if let Err(e) = build_dashboard(&admin) {
            println!("cargo:warning=dashboard not built ({e}); see admin/README.md");
        }
    }

    let _ = fs::remove_dir_all(&out);
    if dist.join("index.html").exists() && copy_dir(&dist, &out).is_ok() {
        return;
    }
    let _ = fs::remove_dir_all(&out);
    if let Err(e) =
        fs::create_dir_all(&out).and_then(|()| fs::write(out.join("index.html"), FALLBACK))
    {
        println!("cargo:warning=cannot write the fallback dashboard page: {e}");
    }
    println!("cargo:warning=admin/dist is missing: embedding a fallback page (build it with `npm ci && npm run build` in admin/)");
}

fn is_stale(admin: &Path, dist: &Path) -> bool {
    let Some(built) = modified(&dist.join("index.html")) else {
        return true;
    };
    SOURCES
        .iter()
        .filter_map(|s| newest(&admin.join(s)))
        .any(|t| t > built)
}

fn modified(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// Newest modification time of a file or of any file under a directory.
fn newest(p: &Path) -> Option<SystemTime> {
    let meta = fs::metadata(p).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    fs::read_dir(p)
        .ok()?
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .max()
}

fn build_dashboard(admin: &Path) -> Result<(), String> {
    if Command::new("npm")
        .arg("--version")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        return Err("npm is not installed".into());
    }
    let _lock = BuildLock::acquire(&admin.join(".build-lock"))?;
    // Another build may have finished while we waited.
    if !is_stale(admin, &admin.join("dist")) {
        return Ok(());
    }
    let lock_file = admin.join("package-lock.json");
    let installed = admin.join("node_modules/.package-lock.json");
    if modified(&installed).is_none() || modified(&lock_file) > modified(&installed) {
        run(admin, &["ci", "--no-audit", "--no-fund"])?;
    }
    run(admin, &["run", "build"])
}

fn run(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("npm")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("npm: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        Err(format!("npm {} failed: {tail}", args.join(" ")))
    }
}

/// A directory used as a lock between concurrent builds; a lock older than 15 minutes is
/// taken to be left over from a killed build.
struct BuildLock(PathBuf);

impl BuildLock {
    fn acquire(path: &Path) -> Result<Self, String> {
        let start = SystemTime::now();
        loop {
            match fs::create_dir(path) {
                Ok(()) => return Ok(BuildLock(path.to_owned())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = modified(path)
                        .and_then(|t| t.elapsed().ok())
                        .unwrap_or_default();
                    if age > Duration::from_secs(15 * 60) {
                        let _ = fs::remove_dir(path);
                        continue;
                    }
                    if start.elapsed().unwrap_or_default() > Duration::from_secs(15 * 60) {
                        return Err("timed out waiting for another dashboard build".into());
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
            }
        }
    }
}

impl Drop for BuildLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

const FALLBACK: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Warden</title></head>
<body>
<h1>Warden</h1>
<p>The web dashboard was not built into this binary (Node.js/npm was not available when it was compiled).</p>
<p>To include it: install Node.js 20 and npm, then run <code>npm ci &amp;&amp; npm run build</code> in <code>admin/</code>
and rebuild Warden (<code>cargo build --release</code>), or just rebuild with npm on the PATH: the build runs it for you.</p>
<p>The API works without it: <code>/api/v1/openapi.json</code> describes it, <code>/healthz</code> and <code>/metrics</code> are served.</p>
</body>
</html>
"#;
