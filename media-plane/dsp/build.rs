//! Enables the AVX-512 G.711 kernels (`cfg(warden_avx512)`) when the compiler is new enough.
//!
//! The AVX-512 intrinsics and `target_feature` names became stable in Rust 1.89, above the
//! workspace's minimum supported version; older compilers build the AVX2/SSE2 kernels only.

use std::process::Command;

/// First Rust release with stable AVX-512 intrinsics.
const AVX512_MINOR: u32 = 89;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(warden_avx512)");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let minor = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|v| rust_minor(&v));
    if minor.is_some_and(|m| m >= AVX512_MINOR) {
        println!("cargo:rustc-cfg=warden_avx512");
    }
}

/// The minor version from `rustc 1.MINOR.PATCH (…)`.
fn rust_minor(version: &str) -> Option<u32> {
    let number = version.split_whitespace().nth(1)?;
    let mut parts = number.split('.');
    if parts.next()? != "1" {
        return None;
    }
    parts.next()?.parse().ok()
}
