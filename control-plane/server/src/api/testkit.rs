//! Test support: the real router over a real (temporary SQLite) database, and small helpers
//! to send requests and log in.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use warden_config::Config;
use warden_storage::{NewAdminUser, NewExtension, Role, Store};

use super::auth::hash_password_async;
use super::calls::{CallControl, HangupError, LiveCall};
use super::media::{CoreLoad, MediaStats};
use super::state::{ApiSettings, ApiState, AppState};
use crate::events::EventBus;
use crate::metrics::Metrics;

/// A call provider driven by the test.
#[derive(Default)]
pub(crate) struct FakeCalls {
    pub(crate) calls: Mutex<Vec<LiveCall>>,
    pub(crate) hung_up: Mutex<Vec<String>>,
}

impl CallControl for FakeCalls {
    fn list(&self) -> Vec<LiveCall> {
        self.calls.lock().unwrap().clone()
    }

    fn hangup<'a>(
        &'a self,
        id: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HangupError>> + Send + 'a>>
    {
        Box::pin(async move {
            let mut calls = self.calls.lock().unwrap();
            let before = calls.len();
            calls.retain(|c| c.id != id);
            if calls.len() == before {
                return Err(HangupError::NotFound);
            }
            self.hung_up.lock().unwrap().push(id.to_owned());
            Ok(())
        })
    }

    fn calls_started(&self) -> u64 {
        7
    }
}

/// A media provider with fixed figures.
pub(crate) struct FakeMedia;

impl MediaStats for FakeMedia {
    fn cores(&self) -> Vec<CoreLoad> {
        vec![CoreLoad {
            core: 1,
            sessions: 4,
            packets_in_per_sec: 200.0,
            packets_out_per_sec: 200.0,
            dropped_total: 3,
            kernel_packets_total: 1200,
            busy_pct: 12.5,
        }]
    }
}

/// A router over a fresh database with one account of each role and extensions 1001/1002.
pub(crate) struct TestApp {
    pub(crate) state: AppState,
    pub(crate) calls: Arc<FakeCalls>,
    pub(crate) app: axum::Router,
    _dir: tempfile::TempDir,
}

/// Password of every test account.
pub(crate) const PASSWORD: &str = "test-password-1";

impl TestApp {
    pub(crate) async fn new() -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::connect(&format!("sqlite://{}", dir.path().join("api.db").display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        for (n, name) in [("1001", "Alice"), ("1002", "Bob")] {
            store
                .create_extension(&NewExtension::new(n, name, format!("secret-{n}-pass")))
                .await
                .unwrap();
        }
        let hash = hash_password_async(PASSWORD.into()).await.unwrap();
        for (name, role, ext) in [
            ("admin", Role::Admin, None),
            ("ops", Role::Operator, None),
            ("alice", Role::User, Some("1001")),
        ] {
            let user = NewAdminUser {
                username: name.into(),
                password_hash: hash.clone(),
                role,
                extension: ext.map(Into::into),
            };
            store.create_user(&user).await.unwrap();
        }
        let calls = Arc::new(FakeCalls::default());
        let base = ApiState {
            metrics: Metrics::new(),
            store,
            started: Instant::now(),
            events: EventBus::default(),
            settings: Arc::new(ApiSettings::from_config(&Config::default())),
            calls: calls.clone(),
            media: Arc::new(FakeMedia),
        };
        let state = AppState::new(base);
        let app = super::router(state.clone());
        TestApp {
            state,
            calls,
            app,
            _dir: dir,
        }
    }

    /// Sends a request; returns status, headers and the body as JSON (or a JSON string).
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        self.send_from([127, 0, 0, 1], method, path, token, body)
            .await
    }

    /// [`TestApp::send`] from a given client address.
    pub(crate) async fn send_from(
        &self,
        ip: [u8; 4],
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let peer = std::net::SocketAddr::from((ip, 40000));
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .extension(axum::extract::ConnectInfo(peer));
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, json)
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self.send(Method::GET, path, Some(token), None).await;
        (s, v)
    }

    /// Logs in; returns the token response.
    pub(crate) async fn login(&self, username: &str, password: &str) -> (StatusCode, Value) {
        let body = serde_json::json!({"username": username, "password": password});
        let (s, _, v) = self
            .send(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await;
        (s, v)
    }

    /// Logs in with the test password and returns the access token.
    pub(crate) async fn token(&self, username: &str) -> String {
        let (s, v) = self.login(username, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["access_token"].as_str().unwrap().to_owned()
    }
}
