//! Accounts of the API and dashboard (administrators only; everyone can change their own
//! password through `/api/v1/me/password`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use warden_storage::{AdminUser, NewAdminUser, Role, UserUpdate};

use super::audit::record;
use super::auth::{check_new_password, hash_password_async, Caller};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, ClientIp};
use super::page::{page_of, PageParams};
use super::state::AppState;

/// An account's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RoleDto {
    /// Everything.
    Admin,
    /// Read everything, plus call control.
    Operator,
    /// Their own extension: voicemail PIN, call history.
    User,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => RoleDto::Admin,
            Role::Operator => RoleDto::Operator,
            Role::User => RoleDto::User,
        }
    }
}

impl From<RoleDto> for Role {
    fn from(r: RoleDto) -> Self {
        match r {
            RoleDto::Admin => Role::Admin,
            RoleDto::Operator => Role::Operator,
            RoleDto::User => Role::User,
        }
    }
}

/// An account (the password hash is never shown).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserDto {
    pub(crate) id: i64,
    #[schema(example = "admin")]
    pub(crate) username: String,
    pub(crate) role: RoleDto,
    /// The extension a `user` account manages.
    pub(crate) extension: Option<String>,
    /// Disabled accounts cannot log in.
    pub(crate) disabled: bool,
    /// Consecutive failed logins.
    pub(crate) failed_logins: u32,
    /// Locked until this time after repeated failed logins.
    pub(crate) locked_until: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl From<&AdminUser> for UserDto {
    fn from(u: &AdminUser) -> Self {
        UserDto {
            id: u.id,
            username: u.username.clone(),
            role: u.role.into(),
            extension: u.extension.clone(),
            disabled: u.disabled,
            failed_logins: u.failed_logins,
            locked_until: u.locked_until.filter(|t| *t > Utc::now()),
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

page_of!(UserPage, UserDto);

/// Filters of the account list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserQuery {
    /// Case-insensitive part of the user name.
    pub(crate) search: Option<String>,
    /// Only this role.
    pub(crate) role: Option<RoleDto>,
    /// Rows per page (1 to 1000, default 100).
    pub(crate) limit: Option<u32>,
    /// Rows to skip.
    pub(crate) offset: Option<u32>,
}

/// An account to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    /// 1 to 64 characters from `A-Z a-z 0-9 . _ @ -`, unique regardless of case.
    pub(crate) username: String,
    /// 8 to 256 characters, not the user name.
    pub(crate) password: String,
    pub(crate) role: RoleDto,
    /// Required for the `user` role: the extension the account manages.
    #[serde(default)]
    pub(crate) extension: Option<String>,
}

/// A partial change to an account: absent fields are left alone.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateUser {
    /// New password (ends the account's sessions).
    pub(crate) password: Option<String>,
    pub(crate) role: Option<RoleDto>,
    /// New extension, or `null` to unlink.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub(crate) extension: Option<Option<String>>,
    /// Disable (ends the account's sessions) or enable.
    pub(crate) disabled: Option<bool>,
    /// `true` clears a lockout and the failed-login count.
    pub(crate) unlock: Option<bool>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

fn check_username(name: &str) -> ApiResult<()> {
    let n = name.chars().count();
    if !(1..=64).contains(&n) {
        return Err(ApiError::validation(
            "username",
            "must be 1 to 64 characters",
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-')))
    {
        return Err(ApiError::validation(
            "username",
            format!("invalid character {c:?} (allowed: A-Z a-z 0-9 . _ @ -)"),
        ));
    }
    Ok(())
}

async fn check_extension_link(
    state: &AppState,
    role: Role,
    extension: Option<&str>,
) -> ApiResult<()> {
    match extension {
        None if role == Role::User => Err(ApiError::validation(
            "extension",
            "is required for the user role",
        )),
        None => Ok(()),
        Some(number) => match state.store().get_extension(number).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::validation(
                "extension",
                format!("extension {number:?} does not exist"),
            )),
        },
    }
}

/// Lists accounts, ordered by name.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(UserQuery),
    responses((status = 200, body = UserPage), (status = 403, description = "Not an administrator", body = ErrorBody)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<UserQuery>,
) -> ApiResult<Json<UserPage>> {
    let search = q.search.map(|s| s.to_lowercase()).filter(|s| !s.is_empty());
    let role: Option<Role> = q.role.map(Into::into);
    let users: Vec<UserDto> = state
        .store()
        .list_users()
        .await?
        .iter()
        .filter(|u| {
            search
                .as_ref()
                .is_none_or(|s| u.username.to_lowercase().contains(s))
        })
        .filter(|u| role.is_none_or(|r| u.role == r))
        .map(UserDto::from)
        .collect();
    let (items, total, limit, offset) = PageParams {
        limit: q.limit,
        offset: q.offset,
    }
    .slice(users)?;
    Ok(Json(UserPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Creates an account.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUser,
    responses(
        (status = 201, body = UserDto),
        (status = 409, description = "User name taken", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    ApiJson(req): ApiJson<CreateUser>,
) -> ApiResult<(StatusCode, Json<UserDto>)> {
    let username = req.username.trim().to_owned();
    check_username(&username)?;
    check_new_password(&req.password, &username, "password")?;
    let role: Role = req.role.into();
    let extension = req.extension.filter(|e| !e.is_empty());
    check_extension_link(&state, role, extension.as_deref()).await?;
    let password_hash = hash_password_async(req.password).await?;
    let user = state
        .store()
        .create_user(&NewAdminUser {
            username,
            password_hash,
            role,
            extension: extension.clone(),
        })
        .await?;
    record(
        &state,
        &caller.username,
        ip,
        "user.create",
        Some(user.username.clone()),
        json!({"role": role.as_str(), "extension": extension}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(UserDto::from(&user))))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = UserDto), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> ApiResult<Json<UserDto>> {
    let user = state
        .store()
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &id.to_string()))?;
    Ok(Json(UserDto::from(&user)))
}

/// Changes an account. The last active administrator cannot be demoted or disabled.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")), request_body = UpdateUser,
    responses(
        (status = 200, body = UserDto),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Would leave no active administrator", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<UpdateUser>,
) -> ApiResult<Json<UserDto>> {
    let store = state.store();
    let user = store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &id.to_string()))?;
    let role: Role = req.role.map(Into::into).unwrap_or(user.role);
    let disabled = req.disabled.unwrap_or(user.disabled);
    if user.role == Role::Admin && !user.disabled && (role != Role::Admin || disabled) {
        ensure_another_admin(&state).await?;
    }
    let extension = match &req.extension {
        Some(e) => e.clone().filter(|e| !e.is_empty()),
        None => user.extension.clone(),
    };
    if req.extension.is_some() || req.role.is_some() {
        check_extension_link(&state, role, extension.as_deref()).await?;
    }
    let mut update = UserUpdate {
        role: req.role.map(Into::into),
        extension: req.extension.as_ref().map(|_| extension.clone()),
        disabled: req.disabled,
        ..Default::default()
    };
    if let Some(pw) = &req.password {
        check_new_password(pw, &user.username, "password")?;
        update.password_hash = Some(hash_password_async(pw.clone()).await?);
    }
    if req.unlock == Some(true) {
        update.failed_logins = Some(0);
        update.locked_until = Some(None);
    }
    let updated = store.update_user(id, &update).await?;
    if req.password.is_some() || (disabled && !user.disabled) {
        store.revoke_user_refresh_tokens(id, Utc::now()).await?;
    }
    let detail = json!({
        "role": req.role.map(|r| Role::from(r).as_str()),
        "extension": req.extension,
        "disabled": req.disabled,
        "password_changed": req.password.is_some(),
        "unlocked": req.unlock == Some(true),
    });
    record(
        &state,
        &caller.username,
        ip,
        "user.update",
        Some(updated.username.clone()),
        detail,
    )
    .await;
    Ok(Json(UserDto::from(&updated)))
}

async fn ensure_another_admin(state: &AppState) -> ApiResult<()> {
    if state
        .store()
        .count_active_users_with_role(Role::Admin)
        .await?
        <= 1
    {
        return Err(ApiError::conflict(
            "last_admin",
            "this is the last active administrator",
        ));
    }
    Ok(())
}

/// Deletes an account (not your own, not the last active administrator).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    let store = state.store();
    let user = store
        .get_user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &id.to_string()))?;
    if user.id == caller.id {
        return Err(ApiError::conflict(
            "cannot_delete_self",
            "you cannot delete your own account",
        ));
    }
    if user.role == Role::Admin && !user.disabled {
        ensure_another_admin(&state).await?;
    }
    store.delete_user(id).await?;
    record(
        &state,
        &caller.username,
        ip,
        "user.delete",
        Some(user.username.clone()),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
