//! Live calls: list (legs, codec, quality) and hang up.
//!
//! Calls are owned by the B2BUA: the routes are written against the [`CallControl`] trait,
//! which the call core (`crate::calls`) implements.

use std::future::Future;
use std::pin::Pin;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::audit::record;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::ClientIp;
use super::state::AppState;

/// What the API needs from the call core.
pub(crate) trait CallControl: Send + Sync + 'static {
    /// A snapshot of the calls in progress.
    fn list(&self) -> Vec<LiveCall>;

    /// Hangs up call `id` (both legs).
    fn hangup<'a>(
        &'a self,
        id: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<(), HangupError>> + Send + 'a>>;

    /// Calls started since the process started (drives the calls-per-second chart).
    fn calls_started(&self) -> u64;

    /// Extension `number` or its forwarding rules changed: lookups cached for placing
    /// calls must not be reused. Nothing is cached by default.
    fn directory_changed(&self, number: &str) {
        let _ = number;
    }

    /// Recording and playback on call `id` (see `call_media`); none by default.
    fn media_op<'a>(
        &'a self,
        id: &'a str,
        op: super::call_media::MediaOp,
    ) -> super::call_media::MediaOpFuture<'a> {
        let _ = (id, op);
        super::call_media::unsupported()
    }
}

/// Why a hang-up did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HangupError {
    /// No call has this id (or it already ended).
    NotFound,
    /// The call core could not act on it (the reason goes to the log).
    #[allow(dead_code)] // constructed by the call core's implementation
    Failed(String),
}

/// A call in progress.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct LiveCall {
    /// Call id (used to hang up).
    pub(crate) id: String,
    /// Calling party (number or URI).
    #[schema(example = "1001")]
    pub(crate) caller: String,
    /// Called party.
    #[schema(example = "1002")]
    pub(crate) callee: String,
    /// `ringing`, `answered`, `held`...
    #[schema(example = "answered")]
    pub(crate) state: String,
    /// When the call started.
    pub(crate) started_at: DateTime<Utc>,
    /// When it was answered.
    pub(crate) answered_at: Option<DateTime<Utc>>,
    /// The negotiated codec, e.g. `PCMU`.
    pub(crate) codec: Option<String>,
    /// Media core handling the call.
    pub(crate) media_core: Option<u32>,
    /// Both legs (caller side first).
    pub(crate) legs: Vec<CallLeg>,
}

/// One leg of a call.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct CallLeg {
    /// SIP Call-ID of the leg.
    pub(crate) call_id: String,
    /// The party on this leg.
    pub(crate) party: String,
    /// Signalling peer (`ip:port`).
    pub(crate) remote: Option<String>,
    /// Codec on this leg.
    pub(crate) codec: Option<String>,
    /// Quality of the media received on this leg.
    pub(crate) quality: Option<LegQuality>,
}

/// Media quality of a leg: what the media plane received from this leg's party, as of its
/// last statistics report (every few seconds while media flows; absent before the first
/// packet).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub(crate) struct LegQuality {
    /// RTP packets received from the party.
    pub(crate) packets_received: u64,
    /// RTP packets lost (expected minus received; negative with duplicates).
    pub(crate) packets_lost: i64,
    /// RTP packets sent to the party.
    pub(crate) packets_sent: u64,
    /// Packets lost, in percent.
    pub(crate) loss_pct: f64,
    /// Interarrival jitter, in milliseconds.
    pub(crate) jitter_ms: f64,
    /// Estimated MOS (1 to 5).
    pub(crate) mos: f64,
}

impl LiveCall {
    fn involves(&self, number: &str) -> bool {
        self.caller == number
            || self.callee == number
            || self.legs.iter().any(|l| l.party == number)
    }
}

/// Lists calls in progress (a `user` account sees its own extension's calls).
#[utoipa::path(get, path = "/api/v1/calls", tag = "calls", security(("bearer" = [])),
    responses((status = 200, body = Vec<LiveCall>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list_calls(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<LiveCall>>> {
    let own = caller.own_extension_scope()?;
    let calls = state
        .base
        .calls
        .list()
        .into_iter()
        .filter(|c| own.is_none_or(|o| c.involves(o)))
        .collect();
    Ok(Json(calls))
}

/// Hangs up a call in progress (administrators and operators).
#[utoipa::path(post, path = "/api/v1/calls/{id}/hangup", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")),
    responses(
        (status = 204, description = "Hung up"),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
    ))]
pub(crate) async fn hangup_call(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    match state.base.calls.hangup(&id).await {
        Ok(()) => {
            record(
                &state,
                &caller.username,
                ip,
                "call.hangup",
                Some(id),
                json!({}),
            )
            .await;
            Ok(StatusCode::NO_CONTENT)
        }
        Err(HangupError::NotFound) => Err(ApiError::not_found("call", &id)),
        Err(HangupError::Failed(reason)) => Err(ApiError::internal("call hangup", &reason)),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::*;
    use crate::api::testkit::TestApp;

    fn call(id: &str, caller: &str, callee: &str) -> LiveCall {
        LiveCall {
            id: id.into(),
            caller: caller.into(),
            callee: callee.into(),
            state: "answered".into(),
            started_at: Utc::now(),
            answered_at: Some(Utc::now()),
            codec: Some("PCMU".into()),
            media_core: Some(1),
            legs: vec![CallLeg {
                call_id: format!("{id}-a"),
                party: caller.into(),
                remote: Some("192.0.2.1:5060".into()),
                codec: Some("PCMU".into()),
                quality: Some(LegQuality {
                    packets_received: 999,
                    packets_lost: 1,
                    packets_sent: 1000,
                    loss_pct: 0.1,
                    jitter_ms: 2.0,
                    mos: 4.3,
                }),
            }],
        }
    }

    #[tokio::test]
    async fn list_scope_and_hangup() {
        let app = TestApp::new().await;
        *app.calls.calls.lock().unwrap() =
            vec![call("c1", "1001", "1002"), call("c2", "2001", "2002")];
        let ops = app.token("ops").await;
        let alice = app.token("alice").await;
        let (status, v) = app.get("/api/v1/calls", &ops).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v.as_array().unwrap().len(), 2);
        assert_eq!(v[0]["legs"][0]["quality"]["mos"], 4.3);
        let (_, v) = app.get("/api/v1/calls", &alice).await;
        assert_eq!(
            v.as_array().unwrap().len(),
            1,
            "a user sees the calls of its extension: {v}"
        );

        let (status, _, _) = app
            .send(Method::POST, "/api/v1/calls/c1/hangup", Some(&alice), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = app
            .send(Method::POST, "/api/v1/calls/c1/hangup", Some(&ops), None)
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(*app.calls.hung_up.lock().unwrap(), ["c1"]);
        let (status, _, v) = app
            .send(Method::POST, "/api/v1/calls/c1/hangup", Some(&ops), None)
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
    }
}
