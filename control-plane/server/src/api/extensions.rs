//! Extensions: list, search, create, change, delete. The SIP secret and the voicemail PIN are
//! write-only: responses only say whether a PIN is set. The rules are those of the
//! configuration file (`warden-config`), so an extension valid in one place is valid in both.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use warden_config::{Config, ExtensionConfig};
use warden_storage::{Extension, ExtensionFilter, ExtensionUpdate, NewExtension, Role};

use super::audit::record;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiQuery, ClientIp};
use super::page::{page_of, PageParams};
use super::state::AppState;
use super::users::double_option;
use crate::events::PbxEvent;

/// An extension (its secret and PIN are never shown).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ExtensionDto {
    /// Extension number, also the SIP user name.
    #[schema(example = "1001")]
    pub(crate) number: String,
    /// Display name.
    #[schema(example = "Alice")]
    pub(crate) name: String,
    /// Disabled extensions cannot register or call.
    pub(crate) enabled: bool,
    /// Largest number of simultaneous calls; `null` means no limit.
    pub(crate) max_concurrent_calls: Option<u32>,
    /// Whether a voicemail PIN is set.
    pub(crate) has_voicemail_pin: bool,
    /// Unexpired registrations (contacts) right now.
    pub(crate) registrations: u32,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl ExtensionDto {
    fn new(e: Extension, registrations: u32) -> Self {
        ExtensionDto {
            number: e.number,
            name: e.display_name,
            enabled: e.enabled,
            max_concurrent_calls: e.max_concurrent_calls,
            has_voicemail_pin: e.voicemail_pin.is_some(),
            registrations,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

page_of!(ExtensionPage, ExtensionDto);

/// Filters of the extension list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExtensionQuery {
    /// Case-insensitive part of the number or the name.
    pub(crate) search: Option<String>,
    /// Only enabled (`true`) or disabled (`false`) extensions.
    pub(crate) enabled: Option<bool>,
    /// Rows per page (1 to 1000, default 100).
    pub(crate) limit: Option<u32>,
    /// Rows to skip.
    pub(crate) offset: Option<u32>,
}

/// An extension to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateExtension {
    /// 1 to 32 characters from `0-9 A-Z a-z _ . + -`.
    #[schema(example = "1003")]
    pub(crate) number: String,
    /// 1 to 64 characters.
    #[schema(example = "Carol")]
    pub(crate) name: String,
    /// SIP digest password, 8 to 128 characters (write-only).
    #[schema(write_only)]
    pub(crate) secret: String,
    /// 4 to 12 digits (write-only).
    #[serde(default)]
    #[schema(write_only)]
    pub(crate) voicemail_pin: Option<String>,
    /// Default `true`.
    #[serde(default)]
    pub(crate) enabled: Option<bool>,
    /// Largest number of simultaneous calls; absent or `null` for no limit.
    #[serde(default)]
    pub(crate) max_concurrent_calls: Option<u32>,
}

/// A partial change: absent fields are left alone; `null` clears a nullable one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateExtension {
    pub(crate) name: Option<String>,
    /// New SIP password (write-only).
    #[schema(write_only)]
    pub(crate) secret: Option<String>,
    /// New PIN, or `null` to remove it (write-only).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, write_only)]
    pub(crate) voicemail_pin: Option<Option<String>>,
    pub(crate) enabled: Option<bool>,
    /// New limit, or `null` for no limit.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>)]
    pub(crate) max_concurrent_calls: Option<Option<u32>>,
}

/// Checks the fields with the configuration file's rules; `None` fields get a valid stand-in.
fn check_fields(
    number: &str,
    name: Option<&str>,
    secret: Option<&str>,
    pin: Option<&str>,
) -> ApiResult<()> {
    let probe = ExtensionConfig {
        number: number.to_owned(),
        name: name.unwrap_or("x").to_owned(),
        secret: secret.unwrap_or("stand-in-secret").to_owned(),
        voicemail_pin: pin.map(str::to_owned),
    };
    let config = Config {
        extensions: vec![probe],
        ..Config::default()
    };
    config.validate().map_err(|e| {
        let field = e
            .path()
            .and_then(|p| p.strip_prefix("extensions[0]."))
            .unwrap_or("number")
            .to_owned();
        let message = e.to_string();
        let message = message
            .split_once(": ")
            .map_or(message.as_str(), |(_, m)| m)
            .to_owned();
        ApiError::validation(field, message)
    })
}

/// Registration counts per extension, right now.
async fn registration_counts(state: &AppState) -> ApiResult<HashMap<String, u32>> {
    let mut counts = HashMap::new();
    for b in state.store().list_bindings(Utc::now()).await? {
        *counts.entry(b.aor).or_insert(0u32) += 1;
    }
    Ok(counts)
}

/// Lists extensions ordered by number (a `user` account sees its own only).
#[utoipa::path(get, path = "/api/v1/extensions", tag = "extensions", security(("bearer" = [])), params(ExtensionQuery),
    responses((status = 200, body = ExtensionPage), (status = 400, description = "Bad query parameter", body = ErrorBody)))]
pub(crate) async fn list_extensions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ExtensionQuery>,
) -> ApiResult<Json<ExtensionPage>> {
    let page = PageParams {
        limit: q.limit,
        offset: q.offset,
    };
    let counts = registration_counts(&state).await?;
    let dto = |e: Extension| {
        let n = counts.get(&e.number).copied().unwrap_or(0);
        ExtensionDto::new(e, n)
    };
    if let Some(own) = caller.own_extension_scope()? {
        let own = state
            .store()
            .get_extension(own)
            .await?
            .into_iter()
            .map(dto)
            .collect();
        let (items, total, limit, offset) = page.slice(own)?;
        return Ok(Json(ExtensionPage {
            items,
            total,
            limit,
            offset,
        }));
    }
    let (limit, offset) = page.bounds()?;
    let filter = ExtensionFilter {
        search: q.search.filter(|s| !s.is_empty()),
        enabled: q.enabled,
        limit: Some(limit),
        offset,
    };
    let found = state.store().list_extensions(&filter).await?;
    Ok(Json(ExtensionPage {
        items: found.items.into_iter().map(dto).collect(),
        total: found.total,
        limit,
        offset,
    }))
}

/// Creates an extension.
#[utoipa::path(post, path = "/api/v1/extensions", tag = "extensions", security(("bearer" = [])),
    request_body = CreateExtension,
    responses(
        (status = 201, body = ExtensionDto),
        (status = 409, description = "Number taken", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ))]
pub(crate) async fn create_extension(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    ApiJson(req): ApiJson<CreateExtension>,
) -> ApiResult<(StatusCode, Json<ExtensionDto>)> {
    let pin = req.voicemail_pin.filter(|p| !p.is_empty());
    check_fields(
        &req.number,
        Some(&req.name),
        Some(&req.secret),
        pin.as_deref(),
    )?;
    let new = NewExtension {
        voicemail_pin: pin,
        enabled: req.enabled.unwrap_or(true),
        max_concurrent_calls: req.max_concurrent_calls,
        ..NewExtension::new(&req.number, req.name.trim(), &req.secret)
    };
    let ext = state.store().create_extension(&new).await?;
    state.base.calls.directory_changed(&ext.number);
    let detail = json!({"name": ext.display_name, "enabled": ext.enabled, "max_concurrent_calls": ext.max_concurrent_calls});
    record(
        &state,
        &caller.username,
        ip,
        "extension.create",
        Some(ext.number.clone()),
        detail,
    )
    .await;
    Ok((StatusCode::CREATED, Json(ExtensionDto::new(ext, 0))))
}

/// One extension.
#[utoipa::path(get, path = "/api/v1/extensions/{number}", tag = "extensions", security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")),
    responses((status = 200, body = ExtensionDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get_extension(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
) -> ApiResult<Json<ExtensionDto>> {
    check_own(&caller, &number)?;
    let ext = state
        .store()
        .get_extension(&number)
        .await?
        .ok_or_else(|| ApiError::not_found("extension", &number))?;
    let n = registration_counts(&state)
        .await?
        .get(&number)
        .copied()
        .unwrap_or(0);
    Ok(Json(ExtensionDto::new(ext, n)))
}

fn check_own(caller: &Caller, number: &str) -> ApiResult<()> {
    match caller.own_extension_scope()? {
        Some(own) if own != number => {
            Err(ApiError::forbidden("you can only see your own extension"))
        }
        _ => Ok(()),
    }
}

/// Changes an extension. Administrators change any field; a `user` account changes only the
/// voicemail PIN of its own extension.
#[utoipa::path(patch, path = "/api/v1/extensions/{number}", tag = "extensions", security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")), request_body = UpdateExtension,
    responses(
        (status = 200, body = ExtensionDto),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub(crate) async fn update_extension(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(number): Path<String>,
    ApiJson(req): ApiJson<UpdateExtension>,
) -> ApiResult<Json<ExtensionDto>> {
    match caller.role {
        Role::Admin => {}
        Role::Operator => {
            return Err(ApiError::forbidden(
                "the operator role may not change extensions",
            ))
        }
        Role::User => {
            check_own(&caller, &number)?;
            let others = [
                ("name", req.name.is_some()),
                ("secret", req.secret.is_some()),
                ("enabled", req.enabled.is_some()),
                ("max_concurrent_calls", req.max_concurrent_calls.is_some()),
            ];
            if let Some((field, _)) = others.iter().find(|(_, set)| *set) {
                return Err(ApiError::forbidden(
                    "a user account may only change its voicemail PIN",
                )
                .with_field(*field));
            }
        }
    }
    let pin = req
        .voicemail_pin
        .clone()
        .map(|p| p.filter(|p| !p.is_empty()));
    check_fields(
        &number,
        req.name.as_deref(),
        req.secret.as_deref(),
        pin.clone().flatten().as_deref(),
    )?;
    let update = ExtensionUpdate {
        display_name: req.name.as_ref().map(|n| n.trim().to_owned()),
        secret: req.secret.clone(),
        voicemail_pin: pin.clone(),
        enabled: req.enabled,
        max_concurrent_calls: req.max_concurrent_calls,
    };
    let ext = state.store().update_extension(&number, &update).await?;
    state.base.calls.directory_changed(&ext.number);
    let detail = json!({
        "name": req.name,
        "secret_changed": req.secret.is_some(),
        "voicemail_pin": pin.map(|p| if p.is_some() { "set" } else { "removed" }),
        "enabled": req.enabled,
        "max_concurrent_calls": req.max_concurrent_calls,
    });
    record(
        &state,
        &caller.username,
        ip,
        "extension.update",
        Some(number.clone()),
        detail,
    )
    .await;
    let n = registration_counts(&state)
        .await?
        .get(&number)
        .copied()
        .unwrap_or(0);
    Ok(Json(ExtensionDto::new(ext, n)))
}

/// Deletes an extension and its registrations.
#[utoipa::path(delete, path = "/api/v1/extensions/{number}", tag = "extensions", security(("bearer" = [])),
    params(("number" = String, Path, description = "Extension number")),
    responses((status = 204, description = "Deleted"), (status = 404, body = ErrorBody)))]
pub(crate) async fn delete_extension(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(number): Path<String>,
) -> ApiResult<StatusCode> {
    let store = state.store();
    let now = Utc::now();
    let had_bindings = !store.bindings_for(&number, now).await?.is_empty();
    store.delete_extension(&number).await?;
    state.base.calls.directory_changed(&number);
    if had_bindings {
        state.base.events.publish(PbxEvent::Unregistered {
            aor: number.clone(),
            contact: None,
            reason: "admin",
        });
        state
            .base
            .metrics
            .set_bindings_active(store.count_bindings(now).await?);
    }
    record(
        &state,
        &caller.username,
        ip,
        "extension.delete",
        Some(number),
        json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
#[path = "extensions_tests.rs"]
mod tests;
