//! The live-events stream (server-sent events) for the dashboard and for integrations.
//!
//! `GET /api/v1/events` (token in `Authorization` or, for `EventSource`, `?access_token=`)
//! answers `text/event-stream`. Each event's `event:` line is its type and its `data:` line a
//! JSON object:
//!
//! * `hello` once: `{user, role}`;
//! * `registration` on every bus event: `{kind: "registered"|"unregistered", aor, contact,
//!   source?, expires?, reason?}`;
//! * `stats` every second: `{at, active_calls, calls_started, registrations, cores}`;
//! * `calls` when the set of live calls changed (and once at start): `{calls: [...]}`;
//! * `lagged` when this subscriber fell behind the bus: `{missed}`;
//! * `expired` when the access token's lifetime is over; the stream then ends and the client
//!   reconnects with a fresh token.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use utoipa::ToSchema;

use super::auth::{Caller, ACCESS_TTL_SECS};
use super::calls::LiveCall;
use super::error::ErrorBody;
use super::media::CoreLoad;
use super::state::AppState;
use crate::events::PbxEvent;

/// Interval of `stats` events.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// A registration change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationEvent {
    /// `registered` or `unregistered`.
    pub(crate) kind: &'static str,
    pub(crate) aor: String,
    /// The contact; absent when every contact of the extension went.
    pub(crate) contact: Option<String>,
    /// Where the REGISTER came from (registered only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) source: Option<String>,
    /// Seconds granted (registered only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires: Option<u32>,
    /// `phone`, `admin` or `expired` (unregistered only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<&'static str>,
}

/// The periodic figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StatsEvent {
    pub(crate) at: DateTime<Utc>,
    pub(crate) active_calls: u64,
    /// Calls started since the process started (the rate gives calls per second).
    pub(crate) calls_started: u64,
    /// Unexpired registrations.
    pub(crate) registrations: u64,
    /// Per-core media load.
    pub(crate) cores: Vec<CoreLoad>,
}

/// The live calls after a change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CallsEvent {
    pub(crate) calls: Vec<LiveCall>,
}

/// Maps a bus event to its JSON.
pub(crate) fn registration_event(ev: &PbxEvent) -> RegistrationEvent {
    match ev {
        PbxEvent::Registered {
            aor,
            contact,
            source,
            expires,
        } => RegistrationEvent {
            kind: "registered",
            aor: aor.clone(),
            contact: Some(contact.clone()),
            source: Some(source.to_string()),
            expires: Some(*expires),
            reason: None,
        },
        PbxEvent::Unregistered {
            aor,
            contact,
            reason,
        } => RegistrationEvent {
            kind: "unregistered",
            aor: aor.clone(),
            contact: contact.clone(),
            source: None,
            expires: None,
            reason: Some(reason),
        },
    }
}

fn json_event(kind: &'static str, data: &impl Serialize) -> Event {
    match serde_json::to_string(data) {
        Ok(json) => Event::default().event(kind).data(json),
        Err(e) => Event::default()
            .event("error")
            .data(format!("{{\"message\":{:?}}}", e.to_string())),
    }
}

struct Subscription {
    state: AppState,
    bus: broadcast::Receiver<PbxEvent>,
    tick: Interval,
    ends_at: Instant,
    last_calls: Option<String>,
    pending: VecDeque<Event>,
    done: bool,
}

impl Subscription {
    async fn stats(&mut self) {
        let base = &self.state.base;
        let calls = base.calls.list();
        let registrations = match base.store.count_bindings(Utc::now()).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "events: cannot count registrations");
                0
            }
        };
        let stats = StatsEvent {
            at: Utc::now(),
            active_calls: calls.len() as u64,
            calls_started: base.calls.calls_started(),
            registrations,
            cores: base.media.cores(),
        };
        self.pending.push_back(json_event("stats", &stats));
        let snapshot = serde_json::to_string(&calls).unwrap_or_default();
        if self.last_calls.as_deref() != Some(snapshot.as_str()) {
            self.pending
                .push_back(json_event("calls", &CallsEvent { calls }));
            self.last_calls = Some(snapshot);
        }
    }

    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some((Ok(ev), self));
            }
            if self.done {
                return None;
            }
            tokio::select! {
                r = self.bus.recv() => match r {
                    Ok(ev) => {
                        let event = json_event("registration", &registration_event(&ev));
                        return Some((Ok(event), self));
                    }
                    Err(RecvError::Lagged(missed)) => {
                        self.pending.push_back(json_event("lagged", &serde_json::json!({ "missed": missed })));
                    }
                    Err(RecvError::Closed) => self.done = true,
                },
                _ = self.tick.tick() => self.stats().await,
                _ = tokio::time::sleep_until(self.ends_at) => {
                    self.pending.push_back(json_event("expired", &serde_json::json!({})));
                    self.done = true;
                }
            }
        }
    }
}

/// Live events (server-sent events; see the module description for the event types).
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    security(("bearer" = []), ("access_token" = [])),
    responses(
        (status = 200, description = "An endless `text/event-stream`: hello, registration, stats, calls, lagged, expired events",
            content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ))]
pub(crate) async fn event_stream(
    State(state): State<AppState>,
    caller: Caller,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let mut tick = tokio::time::interval(STATS_EVERY);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let hello = json_event(
        "hello",
        &serde_json::json!({ "user": caller.username, "role": caller.role }),
    );
    let sub = Subscription {
        bus: state.base.events.subscribe(),
        state,
        tick,
        ends_at: Instant::now() + Duration::from_secs(ACCESS_TTL_SECS.unsigned_abs()),
        last_calls: None,
        pending: VecDeque::from([hello]),
        done: false,
    };
    Sse::new(futures_util::stream::unfold(sub, Subscription::next)).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use futures_util::StreamExt;
    use tower::ServiceExt;

    use super::*;
    use crate::api::testkit::TestApp;

    /// Reads the stream until `needle` shows up (or fails after 10 s).
    async fn read_until(
        stream: &mut (impl Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
        text: &mut String,
        needle: &str,
    ) {
        let found = tokio::time::timeout(Duration::from_secs(10), async {
            while !text.contains(needle) {
                match stream.next().await {
                    Some(Ok(chunk)) => text.push_str(&String::from_utf8_lossy(&chunk)),
                    _ => return false,
                }
            }
            true
        })
        .await;
        assert_eq!(found, Ok(true), "{needle:?} not in the stream: {text}");
    }

    #[tokio::test]
    async fn stream_carries_hello_stats_calls_and_registrations() {
        let app = TestApp::new().await;
        let ops = app.token("ops").await;
        let req = Request::get(format!("/api/v1/events?access_token={ops}"))
            .body(Body::empty())
            .unwrap();
        let res = app.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut stream = res.into_body().into_data_stream();
        let mut text = String::new();
        read_until(&mut stream, &mut text, "event: hello").await;
        read_until(&mut stream, &mut text, "event: stats").await;
        read_until(&mut stream, &mut text, "\"busy_pct\":12.5").await;
        read_until(&mut stream, &mut text, "event: calls").await;
        app.state.base.events.publish(PbxEvent::Registered {
            aor: "1001".into(),
            contact: "sip:1001@192.0.2.1".into(),
            source: "192.0.2.1:5060".parse().unwrap(),
            expires: 60,
        });
        read_until(&mut stream, &mut text, "event: registration").await;
        read_until(
            &mut stream,
            &mut text,
            "\"kind\":\"registered\",\"aor\":\"1001\"",
        )
        .await;

        // The query token is accepted only on this route, and a user account may not listen.
        let req = Request::get(format!("/api/v1/me?access_token={ops}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app.app.clone().oneshot(req).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
        let alice = app.token("alice").await;
        let req = Request::get(format!("/api/v1/events?access_token={alice}"))
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app.app.clone().oneshot(req).await.unwrap().status(),
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn bus_events_map_to_json() {
        let ev = PbxEvent::Registered {
            aor: "1001".into(),
            contact: "sip:1001@192.0.2.1:5062".into(),
            source: "192.0.2.1:5062".parse().unwrap(),
            expires: 300,
        };
        let json = serde_json::to_value(registration_event(&ev)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "registered", "aor": "1001", "contact": "sip:1001@192.0.2.1:5062",
                "source": "192.0.2.1:5062", "expires": 300})
        );
        let ev = PbxEvent::Unregistered {
            aor: "1001".into(),
            contact: None,
            reason: "admin",
        };
        let json = serde_json::to_value(registration_event(&ev)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "unregistered", "aor": "1001", "contact": null, "reason": "admin"})
        );
    }
}
