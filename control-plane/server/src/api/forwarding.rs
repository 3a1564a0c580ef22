//! Call forwarding of an extension: unconditional, on busy, on no answer. Administrators read
//! and change any extension's rules, operators read them, and a `user` account reads and
//! changes those of its own extension only. Targets must be existing extensions.
//!
//! Calls honour `forward_always` when the callee is looked up (see `crate::calls::lookup`,
//! chains followed); the busy and no-answer rules are applied by the B2BUA while the callee
//! rings (one retarget per call, only while `no_answer_secs` is shorter than the ring
//! timeout).

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use warden_storage::{Forwarding, Role, DEFAULT_NO_ANSWER_SECS};

use super::audit::record;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ClientIp};
use super::state::AppState;

/// The forwarding rules of an extension. A target is an extension number; `null` is off.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ForwardingDto {
    /// The extension the rules belong to.
    #[schema(example = "1002")]
    pub(crate) number: String,
    /// Every call goes here instead of ringing the extension.
    #[schema(example = "1003")]
    pub(crate) forward_always: Option<String>,
    /// Calls the extension answers busy (486 or 600 from every phone) go here.
    pub(crate) forward_busy: Option<String>,
    /// Calls not answered within `no_answer_secs` go here (when that is shorter than the
    /// ring timeout); the extension's phones are cancelled.
    pub(crate) forward_no_answer: Option<String>,
    /// Seconds of ringing before no-answer forwarding (5 to 300).
    #[schema(example = 20)]
    pub(crate) no_answer_secs: u32,
    /// Last change; `null` when never set.
    pub(crate) updated_at: Option<DateTime<Utc>>,
}

impl ForwardingDto {
    fn new(number: String, f: Forwarding) -> Self {
        ForwardingDto {
            number,
            forward_always: f.always,
            forward_busy: f.busy,
            forward_no_answer: f.no_answer,
            no_answer_secs: f.no_answer_secs,
            updated_at: f.updated_at,
        }
    }
}

/// New forwarding rules (all of them: an absent target is off).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetForwarding {
    #[serde(default)]
    #[schema(example = "1003")]
    pub(crate) forward_always: Option<String>,
    #[serde(default)]
    pub(crate) forward_busy: Option<String>,
    #[serde(default)]
    pub(crate) forward_no_answer: Option<String>,
    /// Default 20.
    #[serde(default)]
    pub(crate) no_answer_secs: Option<u32>,
}

/// A `user` account may only touch its own extension.
fn check_own(caller: &Caller, number: &str) -> ApiResult<()> {
    match caller.own_extension_scope()? {
        Some(own) if own != number => Err(ApiError::forbidden(
            "you can only see your own extension's forwarding",
        )),
        _ => Ok(()),
    }
}

async fn existing(state: &AppState, number: &str) -> ApiResult<()> {
    match state.store().get_extension(number).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("extension", number)),
    }
}

/// The forwarding rules of an extension.
#[utoipa::path(get, path = "/api/v1/extensions/{number}/forwarding", tag = "extensions",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")),
    responses(
        (status = 200, body = ForwardingDto),
        (status = 403, description = "A user account asked for another extension", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub(crate) async fn get_forwarding(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<ForwardingDto>> {
    check_own(&caller, &number)?;
    existing(&state, &number).await?;
    let f = state.store().get_forwarding(&number).await?;
    Ok(Json(ForwardingDto::new(number, f)))
}

/// Sets the forwarding rules of an extension (administrators, or a `user` account for its
/// own extension).
#[utoipa::path(put, path = "/api/v1/extensions/{number}/forwarding", tag = "extensions",
    security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")), request_body = SetForwarding,
    responses(
        (status = 200, body = ForwardingDto),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "A target is not an extension, is the extension itself, or the seconds are out of range", body = ErrorBody),
    ))]
pub(crate) async fn set_forwarding(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(number): Path<String>,
    ApiJson(req): ApiJson<SetForwarding>,
) -> ApiResult<Json<ForwardingDto>> {
    if caller.role == Role::Operator {
        return Err(ApiError::forbidden(
            "the operator role may not change forwarding",
        ));
    }
    check_own(&caller, &number)?;
    existing(&state, &number).await?;
    let clean = |t: Option<String>| t.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty());
    let rules = Forwarding {
        always: clean(req.forward_always),
        busy: clean(req.forward_busy),
        no_answer: clean(req.forward_no_answer),
        no_answer_secs: req.no_answer_secs.unwrap_or(DEFAULT_NO_ANSWER_SECS),
        updated_at: None,
    };
    for (field, target) in [
        ("forward_always", &rules.always),
        ("forward_busy", &rules.busy),
        ("forward_no_answer", &rules.no_answer),
    ] {
        if let Some(t) = target {
            if t != &number && state.store().get_extension(t).await?.is_none() {
                return Err(ApiError::validation(
                    field,
                    format!("extension \"{t}\" does not exist"),
                ));
            }
        }
    }
    let stored = state.store().set_forwarding(&number, &rules).await?;
    state.base.calls.directory_changed(&number);
    record(
        &state,
        &caller.username,
        ip,
        "extension.forwarding",
        Some(number.clone()),
        json!({
            "forward_always": stored.always,
            "forward_busy": stored.busy,
            "forward_no_answer": stored.no_answer,
            "no_answer_secs": stored.no_answer_secs,
        }),
    )
    .await;
    Ok(Json(ForwardingDto::new(number, stored)))
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use serde_json::json;

    use crate::api::testkit::TestApp;

    #[tokio::test]
    async fn roles_own_extension_and_validation() {
        let app = TestApp::new().await;
        let admin = app.token("admin").await;
        let ops = app.token("ops").await;
        let alice = app.token("alice").await; // user of 1001
        let url = "/api/v1/extensions/1001/forwarding";

        // Defaults before anything is set; a user reads its own, not another's.
        let (status, v) = app.get(url, &alice).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(
            (v["forward_always"].clone(), v["no_answer_secs"].clone()),
            (json!(null), json!(20))
        );
        let (status, _) = app.get("/api/v1/extensions/1002/forwarding", &alice).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = app.get("/api/v1/extensions/1999/forwarding", &admin).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // The user sets its own; an operator reads but may not change.
        let body =
            json!({"forward_always": "1002", "forward_no_answer": "1002", "no_answer_secs": 15});
        let (status, _, v) = app
            .send(Method::PUT, url, Some(&alice), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(v["forward_always"], "1002");
        assert_eq!(v["no_answer_secs"], 15);
        let (status, v) = app.get(url, &ops).await;
        assert_eq!(
            (status, v["forward_no_answer"].as_str()),
            (StatusCode::OK, Some("1002"))
        );
        let (status, _, _) = app
            .send(Method::PUT, url, Some(&ops), Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = app
            .send(
                Method::PUT,
                "/api/v1/extensions/1002/forwarding",
                Some(&alice),
                Some(json!({"forward_always": "1001"})),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "a user cannot change another extension"
        );

        // The administrator changes any; targets must exist and not be the extension itself.
        let (status, _, v) = app
            .send(
                Method::PUT,
                "/api/v1/extensions/1002/forwarding",
                Some(&admin),
                Some(json!({"forward_busy": "1003"})),
            )
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("forward_busy")),
            "{v}"
        );
        let (status, _, v) = app
            .send(
                Method::PUT,
                "/api/v1/extensions/1002/forwarding",
                Some(&admin),
                Some(json!({"forward_always": "1002"})),
            )
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("forward_always")),
            "{v}"
        );
        let (status, _, v) = app
            .send(
                Method::PUT,
                "/api/v1/extensions/1002/forwarding",
                Some(&admin),
                Some(json!({"no_answer_secs": 1})),
            )
            .await;
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("no_answer_secs")),
            "{v}"
        );
        // Setting all rules again: what is absent is off.
        let (status, _, v) = app
            .send(Method::PUT, url, Some(&admin), Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::OK, "{v}");
        assert_eq!(
            (
                v["forward_always"].clone(),
                v["forward_no_answer"].clone(),
                v["no_answer_secs"].clone()
            ),
            (json!(null), json!(null), json!(20))
        );

        // Every change is audited.
        let (_, audit) = app
            .get("/api/v1/audit?action=extension.forwarding", &admin)
            .await;
        assert_eq!(audit["total"], 2, "{audit}");
    }
}
