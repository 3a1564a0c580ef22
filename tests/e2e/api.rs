//! The admin REST API end to end: the real binary over HTTP, on SQLite and PostgreSQL.
//! Logins, token refresh and reuse, lockout and rate limiting, roles, validation errors,
//! extension CRUD, registrations (with SIPp), call-record search and CSV export, the live
//! events stream, the OpenAPI document and the security headers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use warden_storage::{Disposition, HangupSide, NewCallRecord, Store};

use crate::harness::{Backend, Sip, Warden, ADMIN_PASSWORD, EXT};

/// An HTTP response: status, headers (names lower-cased) and body.
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    /// The first value of a header.
    fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// HTTP/1.1 against the API of `w`.
trait Http {
    fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<&str>,
    ) -> anyhow::Result<HttpResponse>;
}

impl Http for Warden {
    fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        json: Option<&str>,
    ) -> anyhow::Result<HttpResponse> {
        http_request(("127.0.0.1", self.api_port), method, path, token, json)
    }
}

/// Sends one request (Connection: close) and reads the whole response, decoding a chunked
/// body.
fn http_request(
    addr: (&str, u16),
    method: &str,
    path: &str,
    token: Option<&str>,
    json: Option<&str>,
) -> anyhow::Result<HttpResponse> {
    use anyhow::Context;
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    if let Some(t) = token {
        req.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = json.unwrap_or("");
    if json.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").context("no end of headers")?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .context("no status")?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_owned()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &str) -> anyhow::Result<String> {
    use anyhow::Context;
    let mut out = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n").context("bad chunk header")?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)?;
        if n == 0 {
            return Ok(out);
        }
        out.push_str(after.get(..n).context("short chunk")?);
        rest = after.get(n + 2..).context("short chunk")?;
    }
}

fn call(
    w: &Warden,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value, HttpResponse) {
    let text = body.map(|b| b.to_string());
    let res = w.http(method, path, token, text.as_deref()).unwrap();
    let json = serde_json::from_str(&res.body).unwrap_or(Value::Null);
    (res.status, json, res)
}

fn login(w: &Warden, user: &str, password: &str) -> (u16, Value) {
    let (s, v, _) = call(
        w,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": user, "password": password})),
    );
    (s, v)
}

fn admin_token(w: &Warden) -> String {
    let (s, v) = login(w, "admin", ADMIN_PASSWORD);
    assert_eq!(s, 200, "admin login on {:?}: {v}\n{}", w.backend, w.log());
    v["access_token"].as_str().unwrap().to_owned()
}

/// Creates an account through the API and returns its access token.
fn account(w: &Warden, admin: &str, name: &str, role: &str, ext: Option<&str>) -> String {
    let body = json!({"username": name, "password": format!("{name}-password"), "role": role, "extension": ext});
    let (s, v, _) = call(w, "POST", "/api/v1/users", Some(admin), Some(body));
    assert_eq!(s, 201, "{v}");
    let (s, v) = login(w, name, &format!("{name}-password"));
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_owned()
}

#[test]
fn login_refresh_rotation_and_logout() {
    for backend in Backend::all() {
        let w = Warden::start("api_auth", backend, "").unwrap();
        assert!(
            w.log().contains("first administrator created"),
            "{}",
            w.log()
        );
        assert!(
            !w.log().contains(ADMIN_PASSWORD),
            "the password never reaches the log"
        );

        let (s, v) = login(&w, "admin", "not-the-password");
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
        let (s, v) = login(&w, "nobody", "not-the-password");
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (401, Some("invalid_credentials"))
        );

        let (s, session) = login(&w, "admin", ADMIN_PASSWORD);
        assert_eq!(s, 200, "{session}");
        assert_eq!(
            (
                session["token_type"].as_str(),
                session["expires_in"].as_i64()
            ),
            (Some("Bearer"), Some(900))
        );
        let access = session["access_token"].as_str().unwrap();
        let (s, me, _) = call(&w, "GET", "/api/v1/me", Some(access), None);
        assert_eq!((s, me["role"].as_str()), (200, Some("admin")));

        // Rotation: each refresh token works once; reusing one ends the whole session.
        let r1 = session["refresh_token"].as_str().unwrap();
        let (s, second, _) = call(
            &w,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        );
        assert_eq!(s, 200, "{second}");
        let r2 = second["refresh_token"].as_str().unwrap();
        assert_ne!(r1, r2);
        let (s, v, _) = call(
            &w,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        );
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (401, Some("invalid_refresh_token"))
        );
        let (s, _, _) = call(
            &w,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": r2})),
        );
        assert_eq!(s, 401, "the successor of a reused token is revoked too");

        // Logout; and refresh tokens survive a restart (access tokens do not).
        let (_, third) = login(&w, "admin", ADMIN_PASSWORD);
        let (_, fourth) = login(&w, "admin", ADMIN_PASSWORD);
        let (s, _, _) = call(
            &w,
            "POST",
            "/api/v1/auth/logout",
            None,
            Some(json!({"refresh_token": third["refresh_token"]})),
        );
        assert_eq!(s, 204);
        let (s, _, _) = call(
            &w,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": third["refresh_token"]})),
        );
        assert_eq!(s, 401);
        let mut w = w;
        w.restart().unwrap();
        let (s, v, _) = call(
            &w,
            "GET",
            "/api/v1/me",
            fourth["access_token"].as_str(),
            None,
        );
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (401, Some("invalid_token")),
            "signing key is per process"
        );
        let (s, v, _) = call(
            &w,
            "POST",
            "/api/v1/auth/refresh",
            None,
            Some(json!({"refresh_token": fourth["refresh_token"]})),
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            w.log().matches("first administrator created").count(),
            1,
            "created once, not at every start"
        );

        let admin = v["access_token"].as_str().unwrap();
        let (s, audit, _) = call(
            &w,
            "GET",
            "/api/v1/audit?action=auth.login_failed",
            Some(admin),
            None,
        );
        assert_eq!((s, audit["total"].as_u64()), (200, Some(2)), "{audit}");
        assert_eq!(audit["items"][0]["source_ip"], "127.0.0.1");
    }
}

#[test]
fn lockout_and_login_rate_limit() {
    for backend in Backend::all() {
        let w = Warden::start("api_lockout", backend, "").unwrap();
        let admin = admin_token(&w);
        account(&w, &admin, "ops", "operator", None);
        for _ in 0..5 {
            assert_eq!(login(&w, "ops", "wrong-password").0, 401);
        }
        let res = w
            .http(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(&json!({"username": "ops", "password": "ops-password"}).to_string()),
            )
            .unwrap();
        assert_eq!(
            res.status, 423,
            "locked even with the right password: {}",
            res.body
        );
        assert!(res
            .header("retry-after")
            .is_some_and(|v| v.parse::<u64>().unwrap() > 800));
        let (_, users, _) = call(&w, "GET", "/api/v1/users?search=ops", Some(&admin), None);
        assert!(users["items"][0]["locked_until"].is_string(), "{users}");

        // This address has now tried 8 logins (burst 10): the limiter stops it soon.
        let mut limited = None;
        for i in 0..6 {
            let res = w
                .http(
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    Some(r#"{"username":"ops","password":"x"}"#),
                )
                .unwrap();
            if res.status == 429 {
                limited = Some((i, res));
                break;
            }
            assert_eq!(res.status, 423);
        }
        let (_, res) = limited.expect("login attempts are rate-limited");
        assert!(res.body.contains("rate_limited") && res.header("retry-after").is_some());
    }
}

#[test]
fn roles_are_enforced() {
    for backend in Backend::all() {
        let w = Warden::start("api_roles", backend, "").unwrap();
        let admin = admin_token(&w);
        let ops = account(&w, &admin, "ops", "operator", None);
        let alice = account(&w, &admin, "alice", "user", Some(EXT));
        let cases: &[(&str, &str, &str, Option<Value>, u16)] = &[
            ("ops", "GET", "/api/v1/extensions", None, 200),
            (
                "ops",
                "POST",
                "/api/v1/extensions",
                Some(json!({"number": "3000", "name": "x", "secret": "long-enough"})),
                403,
            ),
            ("ops", "DELETE", "/api/v1/extensions/1002", None, 403),
            ("ops", "GET", "/api/v1/users", None, 403),
            ("ops", "GET", "/api/v1/audit", None, 403),
            ("ops", "GET", "/api/v1/system", None, 200),
            ("ops", "POST", "/api/v1/calls/nope/hangup", None, 404),
            ("alice", "GET", "/api/v1/extensions/1001", None, 200),
            ("alice", "GET", "/api/v1/extensions/1002", None, 403),
            (
                "alice",
                "PATCH",
                "/api/v1/extensions/1001",
                Some(json!({"voicemail_pin": "1357"})),
                200,
            ),
            (
                "alice",
                "PATCH",
                "/api/v1/extensions/1001",
                Some(json!({"secret": "stolen-secret"})),
                403,
            ),
            ("alice", "GET", "/api/v1/system", None, 403),
            ("alice", "GET", "/api/v1/users", None, 403),
            ("alice", "POST", "/api/v1/calls/nope/hangup", None, 403),
            (
                "alice",
                "GET",
                "/api/v1/call-records?number=1002",
                None,
                403,
            ),
            ("alice", "GET", "/api/v1/call-records", None, 200),
            ("alice", "GET", "/api/v1/events", None, 403),
        ];
        for (who, method, path, body, want) in cases {
            let token = if *who == "ops" { &ops } else { &alice };
            let (s, v, _) = call(&w, method, path, Some(token), body.clone());
            assert_eq!(s, *want, "{who} {method} {path} on {backend:?}: {v}");
            if s == 403 {
                assert_eq!(v["error"]["code"], "forbidden", "{v}");
            }
        }
        let (s, v, _) = call(&w, "GET", "/api/v1/extensions", None, None);
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (401, Some("missing_token"))
        );

        // Demoting takes effect on the next request, not at token expiry.
        let (_, users, _) = call(&w, "GET", "/api/v1/users?search=ops", Some(&admin), None);
        let id = users["items"][0]["id"].as_i64().unwrap();
        let (s, _, _) = call(
            &w,
            "PATCH",
            &format!("/api/v1/users/{id}"),
            Some(&admin),
            Some(json!({"role": "user", "extension": "1002"})),
        );
        assert_eq!(s, 200);
        assert_eq!(call(&w, "GET", "/api/v1/system", Some(&ops), None).0, 403);
    }
}

#[test]
fn validation_errors_name_the_field() {
    for backend in Backend::all() {
        let w = Warden::start("api_validation", backend, "").unwrap();
        let admin = admin_token(&w);
        let cases = [
            (
                json!({"number": "", "name": "x", "secret": "long-enough"}),
                "number",
            ),
            (
                json!({"number": "12 3", "name": "x", "secret": "long-enough"}),
                "number",
            ),
            (
                json!({"number": "3000", "name": "x", "secret": "short"}),
                "secret",
            ),
            (
                json!({"number": "3000", "name": "x", "secret": "long-enough", "voicemail_pin": "abc"}),
                "voicemail_pin",
            ),
            (json!({"number": "3000", "secret": "long-enough"}), "name"),
            (
                json!({"number": "3000", "name": "x", "secret": "long-enough", "enabled": "yes"}),
                "enabled",
            ),
        ];
        for (body, field) in cases {
            let (s, v, _) = call(
                &w,
                "POST",
                "/api/v1/extensions",
                Some(&admin),
                Some(body.clone()),
            );
            assert_eq!(s, 422, "{body}: {v}");
            assert_eq!(
                (v["error"]["code"].as_str(), v["error"]["field"].as_str()),
                (Some("validation_failed"), Some(field)),
                "{v}"
            );
            assert!(v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()));
        }
        let res = w
            .http(
                "POST",
                "/api/v1/extensions",
                Some(&admin),
                Some("{not json"),
            )
            .unwrap();
        assert_eq!(res.status, 400);
        assert!(res.body.contains("invalid_json"), "{}", res.body);
        let (s, v, _) = call(
            &w,
            "GET",
            "/api/v1/extensions?limit=5000",
            Some(&admin),
            None,
        );
        assert_eq!((s, v["error"]["field"].as_str()), (400, Some("limit")));
        let (s, v, _) = call(
            &w,
            "GET",
            "/api/v1/call-records?disposition=weird",
            Some(&admin),
            None,
        );
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (400, Some("disposition"))
        );
        let (s, v, _) = call(
            &w,
            "POST",
            "/api/v1/users",
            Some(&admin),
            Some(json!({"username": "u", "password": "long-password", "role": "user"})),
        );
        assert_eq!((s, v["error"]["field"].as_str()), (422, Some("extension")));
        let (s, v, _) = call(&w, "GET", "/api/v1/no-such-thing", Some(&admin), None);
        assert_eq!((s, v["error"]["code"].as_str()), (404, Some("not_found")));
    }
}

#[test]
fn extension_crud_with_write_only_secrets_and_audit() {
    for backend in Backend::all() {
        let w = Warden::start("api_crud", backend, "").unwrap();
        let admin = admin_token(&w);
        let body = json!({"number": "3001", "name": "Carol", "secret": "carol-sip-pass", "voicemail_pin": "2580", "max_concurrent_calls": 2});
        let (s, v, _) = call(
            &w,
            "POST",
            "/api/v1/extensions",
            Some(&admin),
            Some(body.clone()),
        );
        assert_eq!(s, 201, "{v}");
        assert_eq!(
            (
                v["has_voicemail_pin"].as_bool(),
                v["max_concurrent_calls"].as_u64()
            ),
            (Some(true), Some(2))
        );
        assert!(
            !v.to_string().contains("carol-sip-pass") && !v.to_string().contains("2580"),
            "{v}"
        );
        let (s, v, _) = call(&w, "POST", "/api/v1/extensions", Some(&admin), Some(body));
        assert_eq!((s, v["error"]["field"].as_str()), (409, Some("number")));

        let (_, list, _) = call(
            &w,
            "GET",
            "/api/v1/extensions?search=caro",
            Some(&admin),
            None,
        );
        assert_eq!(
            (list["total"].as_u64(), list["items"][0]["number"].as_str()),
            (Some(1), Some("3001"))
        );
        let (_, list, _) = call(
            &w,
            "GET",
            "/api/v1/extensions?limit=2&offset=0",
            Some(&admin),
            None,
        );
        assert_eq!(
            (
                list["total"].as_u64(),
                list["items"].as_array().unwrap().len()
            ),
            (Some(3), 2)
        );

        let patch = json!({"name": "Carol Smith", "max_concurrent_calls": null, "secret": "carol-new-pass"});
        let (s, v, _) = call(
            &w,
            "PATCH",
            "/api/v1/extensions/3001",
            Some(&admin),
            Some(patch),
        );
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (v["name"].as_str(), v["max_concurrent_calls"].is_null()),
            (Some("Carol Smith"), true)
        );
        // The new secret is the one the registrar checks.
        let run = w.sipp(
            "register_auth.xml",
            Sip::Udp,
            &[
                "-s",
                "3001",
                "-au",
                "3001",
                "-ap",
                "carol-new-pass",
                "-set",
                "expires",
                "60",
            ],
        );
        assert!(
            run.ok(),
            "register with the secret set through the API:\n{}",
            run.explain()
        );
        let (s, v, _) = call(&w, "GET", "/api/v1/extensions/3001", Some(&admin), None);
        assert_eq!(
            (s, v["name"].as_str(), v["registrations"].as_u64()),
            (200, Some("Carol Smith"), Some(1))
        );
        let (s, v, _) = call(
            &w,
            "PATCH",
            "/api/v1/extensions/3001",
            Some(&admin),
            Some(json!({"enabled": false})),
        );
        assert_eq!((s, v["enabled"].as_bool()), (200, Some(false)));
        let (_, list, _) = call(
            &w,
            "GET",
            "/api/v1/extensions?enabled=false",
            Some(&admin),
            None,
        );
        assert_eq!(list["total"], 1);

        let (s, _, _) = call(&w, "DELETE", "/api/v1/extensions/3001", Some(&admin), None);
        assert_eq!(s, 204);
        assert_eq!(
            call(&w, "GET", "/api/v1/extensions/3001", Some(&admin), None).0,
            404
        );
        assert_eq!(
            call(&w, "DELETE", "/api/v1/extensions/3001", Some(&admin), None).0,
            404
        );

        let (_, audit, _) = call(
            &w,
            "GET",
            "/api/v1/audit?target=3001&actor=admin",
            Some(&admin),
            None,
        );
        let actions: Vec<&str> = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        assert!(
            actions.starts_with(&["extension.delete"]) && actions.contains(&"extension.create"),
            "{actions:?}"
        );
        assert!(actions.iter().filter(|a| **a == "extension.update").count() >= 1);
        assert!(
            !audit.to_string().contains("carol-new-pass"),
            "secrets stay out of the audit log"
        );
        assert_eq!(audit["items"][0]["source_ip"], "127.0.0.1");
    }
}

/// Reads a server-sent-events stream until `needle` shows up.
struct EventStream {
    sock: TcpStream,
    seen: String,
}

impl EventStream {
    fn open(w: &Warden, token: &str) -> EventStream {
        let mut sock = TcpStream::connect(("127.0.0.1", w.api_port)).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        write!(sock, "GET /api/v1/events?access_token={token} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n").unwrap();
        EventStream {
            sock,
            seen: String::new(),
        }
    }

    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut buf = [0u8; 4096];
        while !self.seen.contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} not in the event stream:\n{}",
                self.seen
            );
            match self.sock.read(&mut buf) {
                Ok(0) => panic!("event stream closed:\n{}", self.seen),
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buf[..n])),
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

#[test]
fn registrations_live_events_and_forced_unregister() {
    for backend in Backend::all() {
        let w = Warden::start("api_registrations", backend, "").unwrap();
        let admin = admin_token(&w);
        let mut events = EventStream::open(&w, &admin);
        events.wait_for("HTTP/1.1 200");
        events.wait_for("text/event-stream");
        events.wait_for("event: hello");
        events.wait_for("event: stats");

        let run = w.sipp(
            "register_auth.xml",
            Sip::Udp,
            &[
                "-s",
                EXT,
                "-au",
                EXT,
                "-ap",
                crate::harness::SECRET,
                "-set",
                "expires",
                "300",
            ],
        );
        assert!(run.ok(), "{}", run.explain());
        events.wait_for("event: registration");
        events.wait_for(&format!("\"kind\":\"registered\",\"aor\":\"{EXT}\""));

        let (s, regs, _) = call(
            &w,
            "GET",
            &format!("/api/v1/registrations?aor={EXT}"),
            Some(&admin),
            None,
        );
        assert_eq!((s, regs["total"].as_u64()), (200, Some(1)), "{regs}");
        let reg = &regs["items"][0];
        assert_eq!(
            (
                reg["transport"].as_str().map(str::to_lowercase).as_deref(),
                reg["user_agent"].as_str()
            ),
            (Some("udp"), Some("SIPp e2e"))
        );
        assert!(reg["expires_in"].as_i64().unwrap() > 250);
        let (_, ext, _) = call(
            &w,
            "GET",
            &format!("/api/v1/extensions/{EXT}"),
            Some(&admin),
            None,
        );
        assert_eq!(ext["registrations"], 1);

        let (s, v, _) = call(
            &w,
            "DELETE",
            &format!("/api/v1/registrations/{EXT}"),
            Some(&admin),
            None,
        );
        assert_eq!((s, v["removed"].as_u64()), (200, Some(1)), "{v}");
        events.wait_for(&format!(
            "\"kind\":\"unregistered\",\"aor\":\"{EXT}\",\"contact\":null,\"reason\":\"admin\""
        ));
        let (_, regs, _) = call(&w, "GET", "/api/v1/registrations", Some(&admin), None);
        assert_eq!(regs["total"], 0);
        assert_eq!(
            call(
                &w,
                "DELETE",
                &format!("/api/v1/registrations/{EXT}"),
                Some(&admin),
                None
            )
            .0,
            404
        );
    }
}

fn record(caller: &str, callee: &str, minute: i64, disposition: Disposition) -> NewCallRecord {
    let started_at = DateTime::<Utc>::from_timestamp(1_750_000_000 + minute * 60, 0).unwrap();
    let answered = disposition == Disposition::Answered;
    NewCallRecord {
        call_id: format!("e2e-{minute}@test"),
        caller: caller.into(),
        callee: callee.into(),
        started_at,
        answered_at: answered.then_some(started_at + chrono::Duration::seconds(4)),
        ended_at: started_at + chrono::Duration::seconds(64),
        duration_ms: 64_000,
        billable_ms: if answered { 60_000 } else { 0 },
        disposition,
        hangup_cause: Some(if answered {
            "BYE".into()
        } else {
            "486 Busy Here".into()
        }),
        hangup_side: Some(HangupSide::Caller),
        codec: answered.then(|| "PCMU".into()),
        caller_quality: None,
        callee_quality: None,
        recording_path: None,
        recording_ms: None,
    }
}

#[test]
fn call_record_search_and_csv_export() {
    for backend in Backend::all() {
        let w = Warden::start("api_cdr", backend, "").unwrap();
        // Records come from the call core (not built yet): insert them through the storage
        // crate, into the database the running server uses.
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let store = Store::connect(&w.db_url).await.unwrap();
            for (i, (a, b, d)) in [
                ("1001", "1002", Disposition::Answered),
                ("1002", "1001", Disposition::Busy),
                ("1001", "5551234", Disposition::NoAnswer),
                ("1002", "5559876", Disposition::Answered),
            ]
            .into_iter()
            .enumerate()
            {
                store
                    .insert_call_record(&record(a, b, i as i64 * 10, d))
                    .await
                    .unwrap();
            }
            store.close().await;
        });
        let admin = admin_token(&w);
        let ids = |v: &Value| -> Vec<String> {
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["call_id"].as_str().unwrap().to_owned())
                .collect()
        };
        let (s, all, _) = call(&w, "GET", "/api/v1/call-records", Some(&admin), None);
        assert_eq!((s, all["total"].as_u64()), (200, Some(4)), "{all}");
        assert_eq!(
            ids(&all),
            ["e2e-30@test", "e2e-20@test", "e2e-10@test", "e2e-0@test"]
        );
        let (_, v, _) = call(
            &w,
            "GET",
            "/api/v1/call-records?number=1001",
            Some(&admin),
            None,
        );
        assert_eq!(ids(&v), ["e2e-20@test", "e2e-10@test", "e2e-0@test"]);
        let (_, v, _) = call(
            &w,
            "GET",
            "/api/v1/call-records?number=1001&disposition=answered",
            Some(&admin),
            None,
        );
        assert_eq!(ids(&v), ["e2e-0@test"]);
        assert_eq!(v["items"][0]["billable_ms"], 60_000);
        // Minutes 10 to 30 (exclusive), in RFC 3339.
        let from = DateTime::<Utc>::from_timestamp(1_750_000_000 + 600, 0)
            .unwrap()
            .to_rfc3339()
            .replace('+', "%2B");
        let to = DateTime::<Utc>::from_timestamp(1_750_000_000 + 1800, 0)
            .unwrap()
            .to_rfc3339()
            .replace('+', "%2B");
        let (s, v, _) = call(
            &w,
            "GET",
            &format!("/api/v1/call-records?from={from}&to={to}"),
            Some(&admin),
            None,
        );
        assert_eq!(
            (s, ids(&v)),
            (
                200,
                vec!["e2e-20@test".to_owned(), "e2e-10@test".to_owned()]
            ),
            "{v}"
        );
        let (_, v, _) = call(
            &w,
            "GET",
            "/api/v1/call-records?limit=1&offset=3",
            Some(&admin),
            None,
        );
        assert_eq!(
            (ids(&v), v["total"].as_u64()),
            (vec!["e2e-0@test".to_owned()], Some(4))
        );

        // A user account only sees its extension's calls.
        let alice = account(&w, &admin, "alice", "user", Some("1002"));
        let (_, v, _) = call(&w, "GET", "/api/v1/call-records", Some(&alice), None);
        assert_eq!(ids(&v), ["e2e-30@test", "e2e-10@test", "e2e-0@test"]);

        let res = w
            .http(
                "GET",
                "/api/v1/call-records/export?disposition=answered",
                Some(&admin),
                None,
            )
            .unwrap();
        assert_eq!(res.status, 200);
        assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(res
            .header("content-disposition")
            .is_some_and(|v| v.starts_with("attachment; filename=\"call-records-")));
        let lines: Vec<&str> = res.body.lines().collect();
        assert_eq!(lines.len(), 3, "{}", res.body);
        assert!(
            lines[0].starts_with("id,started_at,answered_at,ended_at,caller,callee,disposition")
        );
        assert!(
            lines[1].contains(",1002,5559876,answered,64.000,60.000,BYE,caller,PCMU,"),
            "{}",
            lines[1]
        );
    }
}

#[test]
fn openapi_document_docs_page_and_security_headers() {
    let w = Warden::start("api_openapi", Backend::Sqlite, "").unwrap();
    let res = w.http("GET", "/api/v1/openapi.json", None, None).unwrap();
    assert_eq!(res.status, 200);
    let doc: Value = serde_json::from_str(&res.body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/auth/login",
        "/api/v1/extensions/{number}",
        "/api/v1/call-records/export",
        "/api/v1/events",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());

    for path in ["/", "/api/v1/openapi.json", "/api/docs/", "/healthz"] {
        let res = w.http("GET", path, None, None).unwrap();
        assert_eq!(res.status, 200, "{path}");
        let csp = res.header("content-security-policy").unwrap_or_default();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}: {csp}"
        );
        assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(res.header("x-frame-options"), Some("DENY"));
        assert_eq!(res.header("referrer-policy"), Some("no-referrer"));
    }
    let index = w.http("GET", "/", None, None).unwrap();
    assert!(
        index.body.contains("<div id=\"app\">") || index.body.contains("npm ci"),
        "{}",
        index.body
    );
    let docs = w.http("GET", "/api/docs/", None, None).unwrap();
    if !index.body.contains("npm ci") {
        assert!(docs.body.contains("swagger-ui-bundle.js") && docs.body.contains("init.js"));
        assert!(!docs.body.contains("<script>"), "no inline script");
    }
    let res = w.http("GET", "/api/docs", None, None).unwrap();
    assert_eq!(
        (res.status, res.header("location")),
        (308, Some("/api/docs/"))
    );
    // No CORS for other origins unless configured.
    assert!(w
        .http("GET", "/api/v1/openapi.json", None, None)
        .unwrap()
        .header("access-control-allow-origin")
        .is_none());
}

#[test]
fn media_cores_report_the_running_media_plane() {
    let w = Warden::start("api_media", Backend::Sqlite, "").unwrap();
    let token = admin_token(&w);
    // The per-core figures are refreshed every second.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (status, cores, _) = call(&w, "GET", "/api/v1/media/cores", Some(&token), None);
    assert_eq!(status, 200, "{cores}");
    let cores = cores.as_array().expect("a list of cores");
    assert!(!cores.is_empty(), "the media plane runs at least one core");
    for c in cores {
        assert!(
            c["core"].is_u64() && c["busy_pct"].is_number() && c["sessions"].is_u64(),
            "{c}"
        );
    }
}
