//! The `warden` command line: check-config, migrate and extension management, end to end.

use std::process::Command;

use crate::harness::{Backend, Sip, Warden};

fn warden(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(args)
        .output()
        .expect("run warden")
}

#[test]
fn check_config_names_the_key_and_line_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "sip:\n  domain: pbx.test\n  listen: [\"udp:0.0.0.0:5060\", \"tcp:nope\"]\n",
    )
    .unwrap();
    let out = warden(&["check-config", bad.to_str().unwrap()]);
    assert!(!out.status.success(), "a bad value must exit non-zero");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sip.listen[1]") && err.contains("line 3"),
        "{err}"
    );

    let typo = dir.path().join("typo.yaml");
    std::fs::write(&typo, "sip:\n  lisen: []\n").unwrap();
    let out = warden(&["check-config", typo.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown key") && err.contains("sip.lisen") && err.contains("line 2"),
        "{err}"
    );

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "sip:\n  domain: pbx.test\n").unwrap();
    let out = warden(&["check-config", good.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --print shows the effective configuration with defaults filled in.
    let out = warden(&["check-config", good.to_str().unwrap(), "--print"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("domain: pbx.test") && text.contains("rtp_ports"),
        "{text}"
    );
}

#[test]
fn extensions_are_managed_from_the_command_line_and_can_register() {
    for backend in Backend::all() {
        // A running server gives us a database (SQLite file or fresh PostgreSQL database).
        let mut w = Warden::start("cli_ext", backend, "").unwrap();
        w.stop();
        let cfg = w.dir.path().join("warden.yaml");
        let cfg = cfg.to_str().unwrap();
        let out = warden(&["--config", cfg, "migrate"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let out = warden(&[
            "--config",
            cfg,
            "extension",
            "add",
            "2001",
            "--name",
            "Carol",
            "--secret",
            "carol-secret-1",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let again = warden(&[
            "--config",
            cfg,
            "extension",
            "add",
            "2001",
            "--name",
            "Carol",
            "--secret",
            "carol-secret-1",
        ]);
        assert!(!again.status.success(), "adding an existing number fails");
        let short = warden(&[
            "--config",
            cfg,
            "extension",
            "add",
            "2002",
            "--name",
            "Dan",
            "--secret",
            "short",
        ]);
        assert!(!short.status.success(), "a too-short secret is refused");
        assert!(String::from_utf8_lossy(&short.stderr).contains("secret"));

        let list = warden(&["--config", cfg, "extension", "list"]);
        let text = String::from_utf8_lossy(&list.stdout);
        assert!(
            text.contains("2001") && text.contains("Carol") && text.contains("1001"),
            "{text}"
        );

        // The new extension registers.
        w.restart().unwrap();
        let run = w.sipp(
            "register_auth.xml",
            Sip::Udp,
            &[
                "-s",
                "2001",
                "-au",
                "2001",
                "-ap",
                "carol-secret-1",
                "-set",
                "expires",
                "60",
            ],
        );
        assert!(run.ok(), "{}", run.explain());
        w.stop();

        let out = warden(&["--config", cfg, "extension", "remove", "2001"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let list = warden(&["--config", cfg, "extension", "list"]);
        assert!(!String::from_utf8_lossy(&list.stdout).contains("2001"));
    }
}
