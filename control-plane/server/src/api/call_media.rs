//! Call recording and prompt playback on a call in progress: start a recording, play a
//! prompt or a tone into one leg, stop it (the barge-in hook, e.g. on a DTMF digit), and
//! read the playback state (its completion).
//!
//! The routes are written against [`CallControl::media_op`], which the call core implements.

use std::future::Future;
use std::pin::Pin;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use warden_media::{PromptName, RecordMode};

use super::audit::record;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ClientIp};
use super::state::AppState;

/// Which leg of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Side {
    /// The calling party's leg.
    Caller,
    /// The called party's leg.
    Callee,
}

impl Side {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Side::Caller => "caller",
            Side::Callee => "callee",
        }
    }
}

/// What to play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlaySource {
    /// A prompt of `media.prompts_dir`.
    Prompt(PromptName),
    /// A steady tone.
    Tone { freqs: [u16; 2], duration_ms: u32 },
}

/// An operation on a call's media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaOp {
    /// Start recording the call (both legs).
    Record { mode: Option<RecordMode> },
    /// Play into a leg.
    Play { leg: Side, source: PlaySource },
    /// Stop a leg's playback now.
    StopPlay { leg: Side },
    /// Report the playbacks of the call.
    PlayStatus,
}

/// The state of a leg's latest playback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub(crate) struct PlaybackStatus {
    /// The leg played to.
    pub(crate) leg: Side,
    /// `prompt:<name>` or `tone:<hz>`.
    #[schema(example = "prompt:goodbye")]
    pub(crate) what: String,
    /// `playing`, `finished` (played to the end) or `stopped` (barge-in, replaced, call end).
    #[schema(example = "finished")]
    pub(crate) state: &'static str,
    /// 20 ms frames sent (known once it ended).
    pub(crate) frames: Option<u32>,
}

/// What a media operation gave back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaOpOk {
    /// The recording runs and will be written to this file.
    Recording { path: String, mode: RecordMode },
    /// Done.
    Accepted,
    /// Playback states.
    Status(Vec<PlaybackStatus>),
}

/// Why a media operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MediaOpError {
    /// No call has this id.
    NotFound,
    /// The call has no media (yet) or is not answered; or the media plane refused.
    Conflict(String),
    /// This call core cannot do it.
    Unsupported,
    /// The media plane failed (the reason goes to the log).
    Failed(String),
}

/// The boxed future [`CallControl::media_op`] returns.
pub(crate) type MediaOpFuture<'a> =
    Pin<Box<dyn Future<Output = Result<MediaOpOk, MediaOpError>> + Send + 'a>>;

fn result(id: &str, r: Result<MediaOpOk, MediaOpError>) -> ApiResult<MediaOpOk> {
    r.map_err(|e| match e {
        MediaOpError::NotFound => ApiError::not_found("call", id),
        MediaOpError::Conflict(why) => ApiError::conflict("media_unavailable", why),
        MediaOpError::Unsupported => ApiError::new(
            StatusCode::NOT_IMPLEMENTED,
            "not_supported",
            "call media operations are not available",
        ),
        MediaOpError::Failed(why) => ApiError::internal("call media", &why),
    })
}

/// Recording request (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecordRequest {
    /// `stereo` (caller left, callee right) or `mono`; default `calls.record_mode`.
    #[schema(example = "stereo")]
    pub(crate) mode: Option<String>,
}

/// A started recording.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordingDto {
    /// The WAV file on the server; also stored in the call record.
    pub(crate) path: String,
    /// `stereo` or `mono`.
    pub(crate) mode: &'static str,
}

/// Starts recording a call in progress (administrators and operators). The recording
/// stops when the call ends; the call record then holds the file path.
#[utoipa::path(post, path = "/api/v1/calls/{id}/record", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")),
    request_body(content = RecordRequest, description = "Optional"),
    responses(
        (status = 200, body = RecordingDto),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
        (status = 409, description = "No media yet, already recorded, or codec not supported", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn record_call(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Json<RecordingDto>> {
    let req: RecordRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RecordRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_body", e.to_string()))?
    };
    let mode = match req.mode.as_deref() {
        None => None,
        Some("stereo") => Some(RecordMode::Stereo),
        Some("mono") => Some(RecordMode::Mono),
        Some(_) => return Err(ApiError::validation("mode", "must be stereo or mono")),
    };
    let done = result(
        &id,
        state
            .base
            .calls
            .media_op(&id, MediaOp::Record { mode })
            .await,
    )?;
    let MediaOpOk::Recording { path, mode } = done else {
        return Err(ApiError::internal("call media", &"unexpected reply"));
    };
    let mode = match mode {
        RecordMode::Stereo => "stereo",
        RecordMode::Mono => "mono",
    };
    record(
        &state,
        &caller.username,
        ip,
        "call.record",
        Some(id),
        json!({ "path": path, "mode": mode }),
    )
    .await;
    Ok(Json(RecordingDto { path, mode }))
}

/// What to play, and to whom: exactly one of `prompt` or `tone_hz`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlayRequest {
    /// A prompt name (`<name>.wav` in `media.prompts_dir`).
    #[schema(example = "goodbye")]
    pub(crate) prompt: Option<String>,
    /// A tone frequency in Hz (1 to 4000).
    #[schema(example = 1000)]
    pub(crate) tone_hz: Option<u16>,
    /// A second tone frequency (dual tone), 1 to 4000.
    pub(crate) tone_hz2: Option<u16>,
    /// Tone length in milliseconds (20 to 600000, default 1000).
    pub(crate) duration_ms: Option<u32>,
    /// The leg to play to (its party hears it instead of the other party).
    pub(crate) leg: Side,
}

impl PlayRequest {
    fn source(&self) -> ApiResult<PlaySource> {
        let freq = |f: u16, field: &str| {
            if (1..=4000).contains(&f) {
                Ok(f)
            } else {
                Err(ApiError::validation(field, "must be 1 to 4000 Hz"))
            }
        };
        match (&self.prompt, self.tone_hz) {
            (Some(name), None) => PromptName::new(name)
                .map(PlaySource::Prompt)
                .ok_or_else(|| {
                    ApiError::validation(
                    "prompt",
                    "1 to 32 letters, digits, '-' or '_' (a file stem in the prompts directory)",
                )
                }),
            (None, Some(hz)) => {
                let duration_ms = self.duration_ms.unwrap_or(1000);
                if !(20..=600_000).contains(&duration_ms) {
                    return Err(ApiError::validation("duration_ms", "must be 20 to 600000"));
                }
                let second = match self.tone_hz2 {
                    Some(f) => freq(f, "tone_hz2")?,
                    None => 0,
                };
                Ok(PlaySource::Tone {
                    freqs: [freq(hz, "tone_hz")?, second],
                    duration_ms,
                })
            }
            _ => Err(ApiError::validation(
                "prompt",
                "give exactly one of prompt or tone_hz",
            )),
        }
    }
}

/// Plays a prompt or a tone into one leg of a call (administrators and operators). The
/// party hears it instead of the other party until it ends or is stopped; its completion
/// shows in `GET /api/v1/calls/{id}/play`.
#[utoipa::path(post, path = "/api/v1/calls/{id}/play", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")),
    request_body = PlayRequest,
    responses(
        (status = 202, description = "Playing"),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
        (status = 409, description = "No media yet, unknown prompt, or codec not supported", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn play(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<PlayRequest>,
) -> ApiResult<StatusCode> {
    let source = req.source()?;
    let op = MediaOp::Play {
        leg: req.leg,
        source,
    };
    result(&id, state.base.calls.media_op(&id, op).await)?;
    let what = match source {
        PlaySource::Prompt(p) => json!({ "prompt": p.as_str() }),
        PlaySource::Tone { freqs, duration_ms } => {
            json!({ "tone_hz": freqs, "duration_ms": duration_ms })
        }
    };
    record(
        &state,
        &caller.username,
        ip,
        "call.play",
        Some(id),
        json!({ "leg": req.leg.as_str(), "what": what }),
    )
    .await;
    Ok(StatusCode::ACCEPTED)
}

/// The leg whose playback to stop.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StopPlayRequest {
    /// The leg.
    pub(crate) leg: Side,
}

/// Stops a leg's playback now: the barge-in hook (e.g. when the party presses a digit).
#[utoipa::path(post, path = "/api/v1/calls/{id}/play/stop", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")),
    request_body = StopPlayRequest,
    responses(
        (status = 204, description = "Stopped"),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
        (status = 409, description = "Nothing playing", body = ErrorBody),
    ))]
pub(crate) async fn stop_play(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StopPlayRequest>,
) -> ApiResult<StatusCode> {
    let op = MediaOp::StopPlay { leg: req.leg };
    result(&id, state.base.calls.media_op(&id, op).await)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest playback of each leg of a call and whether it completed.
#[utoipa::path(get, path = "/api/v1/calls/{id}/play", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "Call id")),
    responses(
        (status = 200, body = Vec<PlaybackStatus>),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such call", body = ErrorBody),
    ))]
pub(crate) async fn play_status(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<PlaybackStatus>>> {
    match result(
        &id,
        state.base.calls.media_op(&id, MediaOp::PlayStatus).await,
    )? {
        MediaOpOk::Status(list) => Ok(Json(list)),
        _ => Err(ApiError::internal("call media", &"unexpected reply")),
    }
}

/// The default of [`CallControl::media_op`] for call cores without media operations.
pub(crate) fn unsupported<'a>() -> MediaOpFuture<'a> {
    Box::pin(async { Err(MediaOpError::Unsupported) })
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use serde_json::json;

    use super::*;
    use crate::api::testkit::TestApp;

    #[tokio::test]
    async fn roles_and_bodies_are_checked_before_the_call_core() {
        let app = TestApp::new().await;
        let ops = app.token("ops").await;
        let alice = app.token("alice").await;
        let (status, _, _) = app
            .send(Method::POST, "/api/v1/calls/c1/record", Some(&alice), None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let body = json!({ "prompt": "../x", "leg": "caller" });
        let (status, _, v) = app
            .send(
                Method::POST,
                "/api/v1/calls/c1/play",
                Some(&ops),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["field"], "prompt");
        let body = json!({ "tone_hz": 5000, "leg": "callee" });
        let (status, _, v) = app
            .send(
                Method::POST,
                "/api/v1/calls/c1/play",
                Some(&ops),
                Some(body),
            )
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("tone_hz"))
        );
        let body = json!({ "mode": "quad" });
        let (status, _, _) = app
            .send(
                Method::POST,
                "/api/v1/calls/c1/record",
                Some(&ops),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        // The test call core has no media: a valid request reaches it and is refused.
        let body = json!({ "tone_hz": 1000, "leg": "callee" });
        let (status, _, _) = app
            .send(
                Method::POST,
                "/api/v1/calls/c1/play",
                Some(&ops),
                Some(body),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED);
    }
}
