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
//! * `call` on every call lifecycle change: `{kind: "started"|"ringing"|"answered"|"ended",
//!   call, caller, callee, ...}` (see [`CallLifecycleEvent`]), followed by a `calls` snapshot
//!   when the set of live calls changed;
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
use crate::events::{CallEvent, PbxEvent};

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

/// A call's lifecycle change (the `call` event), tagged by `kind`.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum CallLifecycleEvent {
    /// An authenticated caller placed a call.
    Started {
        /// The call's id (as `GET /api/v1/calls` lists it; used to hang up).
        call: String,
        #[schema(example = "1001")]
        caller: String,
        #[schema(example = "1002")]
        callee: String,
        /// SIP Call-ID of the caller's leg.
        call_id: String,
    },
    /// The callee's phone rings.
    Ringing {
        call: String,
        caller: String,
        callee: String,
    },
    /// The callee answered.
    Answered {
        call: String,
        caller: String,
        callee: String,
        /// The voice codec, e.g. `PCMU`.
        codec: Option<String>,
    },
    /// The call ended; its record is in `/api/v1/call-records`.
    Ended {
        call: String,
        caller: String,
        callee: String,
        /// `answered`, `busy`, `no_answer`, `failed` or `cancelled`.
        #[schema(example = "answered")]
        disposition: &'static str,
        /// Why, e.g. `BYE` or `486 Busy Here`.
        cause: String,
        /// `caller`, `callee` or `system`.
        side: Option<&'static str>,
    },
    /// A party pressed a key (one event per press, sent when the key is released).
    Dtmf {
        call: String,
        /// SIP Call-ID of the caller's leg.
        call_id: String,
        /// `a` (the caller's leg) or `b` (the callee's).
        #[schema(example = "a")]
        leg: &'static str,
        /// `0`–`9`, `*`, `#`, `A`–`D`.
        #[schema(value_type = String, example = "5")]
        digit: char,
        /// `rfc4733`, `inband` or `info`.
        #[schema(example = "rfc4733")]
        source: &'static str,
        /// How long the key was held, when known.
        duration_ms: Option<u32>,
    },
}

/// Maps a call event of the bus to its JSON (one arm per variant: a new variant of
/// [`CallEvent`] does not compile until it is mapped here).
pub(crate) fn call_event(ev: &CallEvent) -> CallLifecycleEvent {
    match ev.clone() {
        CallEvent::CallStarted {
            call,
            caller,
            callee,
            call_id,
        } => CallLifecycleEvent::Started {
            call,
            caller,
            callee,
            call_id,
        },
        CallEvent::CallRinging {
            call,
            caller,
            callee,
        } => CallLifecycleEvent::Ringing {
            call,
            caller,
            callee,
        },
        CallEvent::CallAnswered {
            call,
            caller,
            callee,
            codec,
        } => CallLifecycleEvent::Answered {
            call,
            caller,
            callee,
            codec,
        },
        CallEvent::CallEnded {
            call,
            caller,
            callee,
            disposition,
            cause,
            side,
        } => CallLifecycleEvent::Ended {
            call,
            caller,
            callee,
            disposition,
            cause,
            side,
        },
        CallEvent::Dtmf {
            call,
            call_id,
            leg,
            digit,
            source,
            duration_ms,
        } => CallLifecycleEvent::Dtmf {
            call,
            call_id,
            leg,
            digit,
            source,
            duration_ms,
        },
    }
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
    calls_bus: broadcast::Receiver<CallEvent>,
    tick: Interval,
    ends_at: Instant,
    last_calls: Option<String>,
    pending: VecDeque<Event>,
    done: bool,
}

impl Subscription {
    /// Queues a `calls` snapshot when the live calls differ from the last one sent.
    fn calls_snapshot(&mut self, calls: Vec<LiveCall>) {
        let snapshot = serde_json::to_string(&calls).unwrap_or_default();
        if self.last_calls.as_deref() != Some(snapshot.as_str()) {
            self.pending
                .push_back(json_event("calls", &CallsEvent { calls }));
            self.last_calls = Some(snapshot);
        }
    }

    fn lagged(&mut self, missed: u64) {
        self.pending.push_back(json_event(
            "lagged",
            &serde_json::json!({ "missed": missed }),
        ));
    }

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
        self.calls_snapshot(calls);
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
                    Err(RecvError::Lagged(missed)) => self.lagged(missed),
                    Err(RecvError::Closed) => self.done = true,
                },
                r = self.calls_bus.recv() => match r {
                    Ok(ev) => {
                        self.pending.push_back(json_event("call", &call_event(&ev)));
                        // A key press changes no call; lifecycle changes send the new list.
                        if !matches!(ev, CallEvent::Dtmf { .. }) {
                            let calls = self.state.base.calls.list();
                            self.calls_snapshot(calls);
                        }
                    }
                    Err(RecvError::Lagged(missed)) => self.lagged(missed),
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
        (status = 200, description = "An endless `text/event-stream`: hello, registration (`RegistrationEvent`), call (`CallLifecycleEvent`), stats (`StatsEvent`), calls (`CallsEvent`), lagged, expired events",
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
        calls_bus: state.base.events.subscribe_calls(),
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
        app.state.base.events.publish_call(CallEvent::CallStarted {
            call: "c7".into(),
            caller: "1001".into(),
            callee: "1002".into(),
            call_id: "abc@192.0.2.1".into(),
        });
        read_until(&mut stream, &mut text, "event: call\n").await;
        read_until(
            &mut stream,
            &mut text,
            "{\"kind\":\"started\",\"call\":\"c7\",\"caller\":\"1001\",\"callee\":\"1002\",\"call_id\":\"abc@192.0.2.1\"}",
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
    fn call_events_map_to_json() {
        let (call, caller, callee) = ("c1".to_string(), "1001".to_string(), "1002".to_string());
        let cases = [
            (
                CallEvent::CallRinging {
                    call: call.clone(),
                    caller: caller.clone(),
                    callee: callee.clone(),
                },
                serde_json::json!({"kind": "ringing", "call": "c1", "caller": "1001", "callee": "1002"}),
            ),
            (
                CallEvent::CallAnswered {
                    call: call.clone(),
                    caller: caller.clone(),
                    callee: callee.clone(),
                    codec: Some("PCMU".into()),
                },
                serde_json::json!({"kind": "answered", "call": "c1", "caller": "1001", "callee": "1002",
                    "codec": "PCMU"}),
            ),
            (
                CallEvent::CallEnded {
                    call,
                    caller,
                    callee,
                    disposition: "busy",
                    cause: "486 Busy Here".into(),
                    side: None,
                },
                serde_json::json!({"kind": "ended", "call": "c1", "caller": "1001", "callee": "1002",
                    "disposition": "busy", "cause": "486 Busy Here", "side": null}),
            ),
            (
                CallEvent::Dtmf {
                    call: "c1".into(),
                    call_id: "abc@host".into(),
                    leg: "b",
                    digit: '#',
                    source: "rfc4733",
                    duration_ms: Some(120),
                },
                serde_json::json!({"kind": "dtmf", "call": "c1", "call_id": "abc@host", "leg": "b",
                    "digit": "#", "source": "rfc4733", "duration_ms": 120}),
            ),
        ];
        for (ev, want) in cases {
            assert_eq!(serde_json::to_value(call_event(&ev)).unwrap(), want);
        }
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
