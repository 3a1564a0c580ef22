//! SHA-256 digest registration end to end (RFC 8760), stale nonces and replay. SIPp 3.6 only
//! speaks MD5, so here the test is the phone: it computes the digest itself.

use std::net::UdpSocket;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::harness::{Backend, Warden, EXT, SECRET};

fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) struct Phone {
    /// The host part used in URIs and Via ("127.0.0.1" or "[::1]").
    host: String,
    sock: UdpSocket,
    port: u16,
    cseq: u32,
    to: std::net::SocketAddr,
}

impl Phone {
    fn new(w: &Warden) -> Phone {
        Phone::at("127.0.0.1", w.sip_addr())
    }

    /// A phone on `ip` (e.g. "::1") talking to `to`.
    pub(crate) fn at(ip: &str, to: std::net::SocketAddr) -> Phone {
        let sock = UdpSocket::bind((ip, 0)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let port = sock.local_addr().unwrap().port();
        let host = if ip.contains(':') {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        Phone {
            host,
            sock,
            port,
            cseq: 0,
            to,
        }
    }

    /// Registers with SHA-256 digest: REGISTER, 401, REGISTER with credentials; the final
    /// response.
    pub(crate) fn register_with_sha256(&mut self) -> String {
        let challenge = self.register(None);
        let Some(nonce) = challenge_param(&challenge, "nonce") else {
            return challenge;
        };
        let auth = authorization_for(&self.host, &nonce, 1);
        self.register(Some(&auth))
    }

    pub(crate) fn register(&mut self, authorization: Option<&str>) -> String {
        self.cseq += 1;
        let auth = authorization
            .map(|a| format!("Authorization: {a}\r\n"))
            .unwrap_or_default();
        let msg = format!(
            "REGISTER sip:{h} SIP/2.0\r\nVia: SIP/2.0/UDP {h}:{p};branch=z9hG4bKsha{c};rport\r\n\
             From: <sip:{EXT}@{h}>;tag=sha\r\nTo: <sip:{EXT}@{h}>\r\nCall-ID: sha256@{h}\r\n\
             CSeq: {c} REGISTER\r\nContact: <sip:{EXT}@{h}:{p}>\r\nExpires: 300\r\n{auth}Content-Length: 0\r\n\r\n",
            h = self.host,
            p = self.port,
            c = self.cseq,
        );
        self.sock.send_to(msg.as_bytes(), self.to).unwrap();
        let mut buf = vec![0u8; 65535];
        let (n, _) = self.sock.recv_from(&mut buf).expect("a response");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// The value of `name="..."` in the SHA-256 challenge of a 401.
fn challenge_param(resp: &str, name: &str) -> Option<String> {
    let line = resp
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("SHA-256"))?;
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[start..];
    let rest = rest.strip_prefix('"').unwrap_or(rest);
    Some(rest.split(['"', ',']).next()?.to_string())
}

fn authorization(nonce: &str, nc: u32) -> String {
    authorization_for("127.0.0.1", nonce, nc)
}

fn authorization_for(host: &str, nonce: &str, nc: u32) -> String {
    let uri = format!("sip:{host}");
    let cnonce = "0a4f113b";
    let nc = format!("{nc:08x}");
    let ha1 = sha256_hex(&format!("{EXT}:pbx.test:{SECRET}"));
    let ha2 = sha256_hex(&format!("REGISTER:{uri}"));
    let response = sha256_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{EXT}\", realm=\"pbx.test\", nonce=\"{nonce}\", uri=\"{uri}\", \
         response=\"{response}\", algorithm=SHA-256, cnonce=\"{cnonce}\", qop=auth, nc={nc}"
    )
}

#[test]
fn sha256_registration_stale_nonce_and_replay() {
    for backend in Backend::all() {
        let w = Warden::start(
            "sha256",
            backend,
            "  registrar: { nonce_ttl_secs: 2, digest_algorithms: [SHA-256, MD5] }",
        )
        .unwrap();
        let mut phone = Phone::new(&w);
        let challenge = phone.register(None);
        assert!(challenge.starts_with("SIP/2.0 401"), "{challenge}");
        let sha_at = challenge
            .find("algorithm=SHA-256")
            .expect("SHA-256 offered");
        let md5_at = challenge.find("algorithm=MD5").expect("MD5 offered too");
        assert!(
            sha_at < md5_at,
            "SHA-256 is preferred by default:\n{challenge}"
        );
        let nonce = challenge_param(&challenge, "nonce").unwrap();

        let ok = phone.register(Some(&authorization(&nonce, 1)));
        assert!(
            ok.starts_with("SIP/2.0 200"),
            "SHA-256 digest accepted:\n{ok}\n{}",
            w.log()
        );

        // The same nonce count again is a replay: challenged, not accepted.
        let replay = phone.register(Some(&authorization(&nonce, 1)));
        assert!(
            replay.starts_with("SIP/2.0 401"),
            "replayed nc refused:\n{replay}"
        );
        // A higher nonce count on the same nonce is fine.
        let again = phone.register(Some(&authorization(&nonce, 2)));
        assert!(
            again.starts_with("SIP/2.0 200"),
            "next nc accepted:\n{again}"
        );

        // After the nonce lifetime the right password gets stale=true, and the new nonce works.
        std::thread::sleep(Duration::from_millis(3100));
        let stale = phone.register(Some(&authorization(&nonce, 3)));
        assert!(stale.starts_with("SIP/2.0 401"), "{stale}");
        assert!(
            stale.contains("stale=true"),
            "stale nonce flagged:\n{stale}"
        );
        let fresh = challenge_param(&stale, "nonce").unwrap();
        assert_ne!(fresh, nonce);
        let ok = phone.register(Some(&authorization(&fresh, 1)));
        assert!(ok.starts_with("SIP/2.0 200"), "{ok}");
        assert!(w.metric(r#"warden_auth_failures_total{reason="replay"}"#) >= 1.0);
    }
}
