//! Login, token refresh (rotating), logout, and the caller's own account.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use warden_storage::{AdminUser, NewRefreshToken, UserUpdate};

use super::password::{check_new_password, hash_password_async, verify_password_async};
use super::token::{
    hash_refresh_token, new_family, new_refresh_token, ACCESS_TTL_SECS, REFRESH_TTL_SECS,
};
use super::{Caller, LOCKOUT_SECS, MAX_FAILED_LOGINS};
use crate::api::audit::record;
use crate::api::error::{ApiError, ApiResult, ErrorBody};
use crate::api::extract::{ApiJson, ClientIp};
use crate::api::state::AppState;
use crate::api::users::UserDto;

/// Credentials.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    /// Account name (case-insensitive).
    #[schema(example = "admin")]
    pub(crate) username: String,
    /// Password.
    pub(crate) password: String,
}

/// A refresh token to exchange or revoke.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    pub(crate) refresh_token: String,
}

/// A change of the caller's own password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordChange {
    /// The password in use now.
    pub(crate) current_password: String,
    /// The new password (8 to 256 characters, not the user name).
    pub(crate) new_password: String,
}

/// Tokens for a session.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenResponse {
    /// Bearer token for `Authorization: Bearer ...`, valid `expires_in` seconds.
    pub(crate) access_token: String,
    /// Always `Bearer`.
    pub(crate) token_type: &'static str,
    /// Seconds until the access token expires.
    pub(crate) expires_in: i64,
    /// Single-use token for `POST /api/v1/auth/refresh`; each use returns a new one.
    pub(crate) refresh_token: String,
    /// Seconds until the refresh token expires.
    pub(crate) refresh_expires_in: i64,
    /// The account logged in.
    pub(crate) user: UserDto,
}

/// Logs in with a user name and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "Wrong user name or password", body = ErrorBody),
        (status = 403, description = "Account disabled", body = ErrorBody),
        (status = 422, description = "Missing field", body = ErrorBody),
        (status = 423, description = "Account locked after repeated failures", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address", body = ErrorBody),
    ))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    if !state.auth.allow_login(ip.0) {
        return Err(ApiError::retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many login attempts from this address; try again later",
            30,
        ));
    }
    let username = req.username.trim();
    if username.is_empty() {
        return Err(ApiError::validation("username", "must not be empty"));
    }
    if req.password.is_empty() {
        return Err(ApiError::validation("password", "must not be empty"));
    }
    let store = state.store();
    let user = store.get_user_by_name(username).await?;
    let now = Utc::now();
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|t| *t > now)
    {
        let secs = u64::try_from((until - now).num_seconds()).unwrap_or(1);
        record(
            &state,
            username,
            ip,
            "auth.login_refused",
            Some(username.to_owned()),
            json!({"reason": "locked"}),
        )
        .await;
        return Err(ApiError::retry_later(
            StatusCode::LOCKED,
            "account_locked",
            "the account is locked after repeated failed logins; try again later",
            secs,
        ));
    }
    let ok =
        verify_password_async(req.password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|_| ok) else {
        return Err(failed_login(&state, ip, username).await);
    };
    if user.disabled {
        record(
            &state,
            &user.username,
            ip,
            "auth.login_refused",
            Some(user.username.clone()),
            json!({"reason": "disabled"}),
        )
        .await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "account_disabled",
            "the account is disabled",
        ));
    }
    let user = if user.failed_logins > 0 || user.locked_until.is_some() {
        let reset = UserUpdate {
            failed_logins: Some(0),
            locked_until: Some(None),
            ..Default::default()
        };
        store.update_user(user.id, &reset).await?
    } else {
        user
    };
    let tokens = issue_tokens(&state, &user, new_family(), ip).await?;
    record(
        &state,
        &user.username,
        ip,
        "auth.login",
        Some(user.username.clone()),
        json!({}),
    )
    .await;
    Ok(Json(tokens))
}

/// Counts a failed login against the account (if it exists) and locks it at the threshold.
async fn failed_login(state: &AppState, ip: ClientIp, username: &str) -> ApiError {
    let store = state.store();
    if let Ok(Some(user)) = store.get_user_by_name(username).await {
        let failed = user.failed_logins.saturating_add(1);
        let update = if failed >= MAX_FAILED_LOGINS {
            tracing::warn!(username = %user.username, ip = ?ip.0, "account locked after failed logins");
            UserUpdate {
                failed_logins: Some(0),
                locked_until: Some(Some(Utc::now() + Duration::seconds(LOCKOUT_SECS))),
                ..Default::default()
            }
        } else {
            UserUpdate {
                failed_logins: Some(failed),
                ..Default::default()
            }
        };
        if let Err(e) = store.update_user(user.id, &update).await {
            tracing::warn!(error = %e, "cannot record a failed login");
        }
        let locked = failed >= MAX_FAILED_LOGINS;
        record(
            state,
            username,
            ip,
            "auth.login_failed",
            Some(user.username.clone()),
            json!({"locked": locked}),
        )
        .await;
    } else {
        record(
            state,
            username,
            ip,
            "auth.login_failed",
            Some(username.to_owned()),
            json!({"unknown_user": true}),
        )
        .await;
    }
    ApiError::unauthorized("invalid_credentials", "wrong user name or password")
}

/// Issues an access token and a refresh token of `family`.
async fn issue_tokens(
    state: &AppState,
    user: &AdminUser,
    family: String,
    ip: ClientIp,
) -> ApiResult<TokenResponse> {
    let now = Utc::now();
    let access_token = state.auth.keys().issue(user, now)?;
    let (refresh_token, token_hash) = new_refresh_token();
    state
        .store()
        .insert_refresh_token(&NewRefreshToken {
            user_id: user.id,
            token_hash,
            family,
            created_at: now,
            expires_at: now + Duration::seconds(REFRESH_TTL_SECS),
            source_ip: ip.text(),
        })
        .await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TTL_SECS,
        refresh_token,
        refresh_expires_in: REFRESH_TTL_SECS,
        user: UserDto::from(user),
    })
}

fn invalid_refresh() -> ApiError {
    ApiError::unauthorized(
        "invalid_refresh_token",
        "the refresh token is not valid; log in again",
    )
}

/// Exchanges a refresh token for new tokens. The token presented is used up; presenting it
/// again revokes every token of its login.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "Unknown, expired, used or revoked refresh token", body = ErrorBody),
    ))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let store = state.store();
    let now = Utc::now();
    let token = store
        .get_refresh_token(&hash_refresh_token(req.refresh_token.trim()))
        .await?;
    let Some(token) = token else {
        return Err(invalid_refresh());
    };
    if token.revoked_at.is_some() || !store.revoke_refresh_token(token.id, now).await? {
        // Used twice: someone holds a copy. End the whole login.
        let revoked = store.revoke_refresh_family(&token.family, now).await?;
        tracing::warn!(
            user_id = token.user_id,
            revoked,
            "refresh token reused; session revoked"
        );
        let actor = store
            .get_user(token.user_id)
            .await?
            .map(|u| u.username)
            .unwrap_or_default();
        record(
            &state,
            &actor,
            ip,
            "auth.refresh_reused",
            Some(actor.clone()),
            json!({"revoked": revoked}),
        )
        .await;
        return Err(invalid_refresh());
    }
    if token.expires_at <= now {
        return Err(invalid_refresh());
    }
    let user = store
        .get_user(token.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(invalid_refresh)?;
    Ok(Json(issue_tokens(&state, &user, token.family, ip).await?))
}

/// Ends the session of a refresh token (every token of its login).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out (also when the token was unknown)")))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    ip: ClientIp,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<StatusCode> {
    let store = state.store();
    if let Some(token) = store
        .get_refresh_token(&hash_refresh_token(req.refresh_token.trim()))
        .await?
    {
        store
            .revoke_refresh_family(&token.family, Utc::now())
            .await?;
        if let Some(user) = store.get_user(token.user_id).await? {
            record(
                &state,
                &user.username,
                ip,
                "auth.logout",
                Some(user.username.clone()),
                json!({}),
            )
            .await;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's own account.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = UserDto),
        (status = 401, description = "Not logged in", body = ErrorBody),
    ))]
pub(crate) async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<UserDto>> {
    let user = state
        .store()
        .get_user(caller.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &caller.username))?;
    Ok(Json(UserDto::from(&user)))
}

/// Changes the caller's own password; ends every other session of the account.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "auth", security(("bearer" = [])),
    request_body = PasswordChange,
    responses(
        (status = 204, description = "Changed"),
        (status = 403, description = "Current password wrong", body = ErrorBody),
        (status = 422, description = "New password breaks a rule", body = ErrorBody),
    ))]
pub(crate) async fn change_own_password(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    ApiJson(req): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    check_new_password(&req.new_password, &caller.username, "new_password")?;
    let store = state.store();
    let user = store
        .get_user(caller.id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &caller.username))?;
    if !verify_password_async(req.current_password, Some(user.password_hash.clone())).await {
        return Err(
            ApiError::forbidden("the current password is wrong").with_field("current_password")
        );
    }
    let hash = hash_password_async(req.new_password).await?;
    store
        .update_user(
            user.id,
            &UserUpdate {
                password_hash: Some(hash),
                ..Default::default()
            },
        )
        .await?;
    store
        .revoke_user_refresh_tokens(user.id, Utc::now())
        .await?;
    record(
        &state,
        &caller.username,
        ip,
        "user.password_change",
        Some(caller.username.clone()),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
