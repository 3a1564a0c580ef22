//! Voicemail of an extension: the box settings and the messages left in it. Administrators
//! read and change any extension's, operators read them, and a `user` account reads and
//! changes its own extension's only (403 otherwise). A message's audio is served as
//! `audio/wav`; deleting a message deletes its file too. Changes are audited.
//!
//! Calls use the box when the callee would fail busy, unanswered (after the forwarding
//! page's `no_answer_secs`) or unregistered and no forwarding rule applied first (see
//! `crate::calls::voicemail`).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use warden_storage::{
    Role, StorageError, VoicemailBox, VoicemailMessage, DEFAULT_MAX_MESSAGE_SECS,
};

use super::audit::record;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ClientIp};
use super::state::AppState;

/// The voicemail settings of an extension.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VoicemailBoxDto {
    /// The extension.
    #[schema(example = "1002")]
    pub(crate) number: String,
    /// Calls that would fail busy, unanswered or unregistered are answered by voicemail.
    pub(crate) enabled: bool,
    /// A message is cut (and the caller hung up on) after this many seconds (5 to 600).
    #[schema(example = 120)]
    pub(crate) max_message_secs: u32,
    /// Last change; `null` when never set.
    pub(crate) updated_at: Option<DateTime<Utc>>,
}

/// New voicemail settings.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetVoicemailBox {
    pub(crate) enabled: bool,
    /// Default 120.
    #[serde(default)]
    pub(crate) max_message_secs: Option<u32>,
}

/// A message left in a voicemail box.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VoicemailMessageDto {
    pub(crate) id: i64,
    /// The box.
    #[schema(example = "1002")]
    pub(crate) extension: String,
    /// Who left it.
    #[schema(example = "1001")]
    pub(crate) caller: String,
    /// SIP Call-ID of the caller's call.
    pub(crate) call_id: String,
    /// When the recording started.
    pub(crate) received_at: DateTime<Utc>,
    /// Length of the audio in milliseconds.
    pub(crate) duration_ms: u64,
    /// Marked as heard.
    pub(crate) heard: bool,
}

impl From<VoicemailMessage> for VoicemailMessageDto {
    fn from(m: VoicemailMessage) -> Self {
        VoicemailMessageDto {
            id: m.id,
            extension: m.extension,
            caller: m.caller,
            call_id: m.call_id,
            received_at: m.received_at,
            duration_ms: m.duration_ms,
            heard: m.heard,
        }
    }
}

/// Marks a message heard or not.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateVoicemailMessage {
    pub(crate) heard: bool,
}

fn check_own(caller: &Caller, number: &str) -> ApiResult<()> {
    match caller.own_extension_scope()? {
        Some(own) if own != number => Err(ApiError::forbidden(
            "you can only see your own extension's voicemail",
        )),
        _ => Ok(()),
    }
}

fn check_change(caller: &Caller, number: &str) -> ApiResult<()> {
    if caller.role == Role::Operator {
        return Err(ApiError::forbidden(
            "the operator role may not change voicemail",
        ));
    }
    check_own(caller, number)
}

async fn existing(state: &AppState, number: &str) -> ApiResult<()> {
    match state.store().get_extension(number).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("extension", number)),
    }
}

/// The message `id` of box `number` (404 when it is in another box).
async fn message_of(state: &AppState, number: &str, id: i64) -> ApiResult<VoicemailMessage> {
    match state.store().get_voicemail_message(id).await {
        Ok(m) if m.extension == number => Ok(m),
        Ok(_) | Err(StorageError::NotFound { .. }) => {
            Err(ApiError::not_found("voicemail message", &id.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

fn box_dto(number: String, b: VoicemailBox) -> VoicemailBoxDto {
    VoicemailBoxDto {
        number,
        enabled: b.enabled,
        max_message_secs: b.max_message_secs,
        updated_at: b.updated_at,
    }
}

/// The voicemail settings of an extension.
#[utoipa::path(get, path = "/api/v1/extensions/{number}/voicemail", tag = "extensions",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")),
    responses(
        (status = 200, body = VoicemailBoxDto),
        (status = 403, description = "A user account asked for another extension", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn get_voicemail_box(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<VoicemailBoxDto>> {
    check_own(&caller, &number)?;
    existing(&state, &number).await?;
    let b = state.store().get_voicemail_box(&number).await?;
    Ok(Json(box_dto(number, b)))
}

/// Sets the voicemail settings of an extension (administrators, or a `user` account for
/// its own extension).
#[utoipa::path(put, path = "/api/v1/extensions/{number}/voicemail", tag = "extensions",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")), request_body = SetVoicemailBox,
    responses(
        (status = 200, body = VoicemailBoxDto),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "The longest message length is out of range", body = ErrorBody),
    ))]
pub(crate) async fn set_voicemail_box(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(number): Path<String>,
    ApiJson(req): ApiJson<SetVoicemailBox>,
) -> ApiResult<Json<VoicemailBoxDto>> {
    check_change(&caller, &number)?;
    existing(&state, &number).await?;
    let b = VoicemailBox {
        enabled: req.enabled,
        max_message_secs: req.max_message_secs.unwrap_or(DEFAULT_MAX_MESSAGE_SECS),
        updated_at: None,
    };
    let stored = state.store().set_voicemail_box(&number, &b).await?;
    state.base.calls.directory_changed(&number);
    record(
        &state,
        &caller.username,
        ip,
        "extension.voicemail",
        Some(number.clone()),
        json!({"enabled": stored.enabled, "max_message_secs": stored.max_message_secs}),
    )
    .await;
    Ok(Json(box_dto(number, stored)))
}

/// The messages of an extension's voicemail box, newest first.
#[utoipa::path(get, path = "/api/v1/extensions/{number}/voicemail/messages", tag = "extensions",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")),
    responses(
        (status = 200, body = [VoicemailMessageDto]),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn list_voicemail_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<Vec<VoicemailMessageDto>>> {
    check_own(&caller, &number)?;
    existing(&state, &number).await?;
    let list = state.store().list_voicemail_messages(&number).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// The audio of a message (a mono 16-bit WAV file).
#[utoipa::path(get, path = "/api/v1/extensions/{number}/voicemail/messages/{id}/audio", tag = "extensions",
    security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "Extension number"),
        ("id" = i64, Path, description = "Message id"),
    ),
    responses(
        (status = 200, description = "The WAV file", content_type = "audio/wav", body = Vec<u8>),
        (status = 403, body = ErrorBody),
        (status = 404, description = "No such message in this box, or its file is gone", body = ErrorBody),
    ))]
pub(crate) async fn voicemail_audio(
    State(state): State<AppState>,
    caller: Caller,
    Path((number, id)): Path<(String, i64)>,
) -> ApiResult<Response> {
    check_own(&caller, &number)?;
    let m = message_of(&state, &number, id).await?;
    let bytes = match tokio::fs::read(&m.file_path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ApiError::not_found("voicemail audio", &id.to_string()))
        }
        Err(e) => return Err(ApiError::internal("voicemail audio read", &e)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"voicemail-{number}-{id}.wav\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Marks a message heard (or not heard).
#[utoipa::path(patch, path = "/api/v1/extensions/{number}/voicemail/messages/{id}", tag = "extensions",
    security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "Extension number"),
        ("id" = i64, Path, description = "Message id"),
    ),
    request_body = UpdateVoicemailMessage,
    responses(
        (status = 200, body = VoicemailMessageDto),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn update_voicemail_message(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path((number, id)): Path<(String, i64)>,
    ApiJson(req): ApiJson<UpdateVoicemailMessage>,
) -> ApiResult<Json<VoicemailMessageDto>> {
    check_change(&caller, &number)?;
    message_of(&state, &number, id).await?;
    let m = state.store().set_voicemail_heard(id, req.heard).await?;
    record(
        &state,
        &caller.username,
        ip,
        "voicemail.heard",
        Some(format!("{number}/{id}")),
        json!({"heard": m.heard}),
    )
    .await;
    Ok(Json(m.into()))
}

/// Deletes a message and its audio file.
#[utoipa::path(delete, path = "/api/v1/extensions/{number}/voicemail/messages/{id}", tag = "extensions",
    security(("bearer" = [])),
    params(
        ("number" = String, Path, description = "Extension number"),
        ("id" = i64, Path, description = "Message id"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn delete_voicemail_message(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path((number, id)): Path<(String, i64)>,
) -> ApiResult<axum::http::StatusCode> {
    check_change(&caller, &number)?;
    message_of(&state, &number, id).await?;
    let m = state.store().delete_voicemail_message(id).await?;
    match tokio::fs::remove_file(&m.file_path).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, path = %m.file_path, "voicemail file not deleted"),
    }
    record(
        &state,
        &caller.username,
        ip,
        "voicemail.delete",
        Some(format!("{number}/{id}")),
        json!({"caller": m.caller, "received_at": m.received_at}),
    )
    .await;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "voicemail_tests.rs"]
mod tests;
