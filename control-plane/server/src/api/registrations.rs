//! Registrations (registrar bindings): list, and force an extension's phones off.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use warden_storage::Binding;

use super::audit::record;
use super::auth::Caller;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiQuery, ClientIp};
use super::page::{page_of, PageParams};
use super::state::AppState;
use crate::events::PbxEvent;

/// A phone registered to an extension.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationDto {
    pub(crate) id: i64,
    /// The extension.
    #[schema(example = "1001")]
    pub(crate) aor: String,
    /// Where the phone is reached.
    #[schema(example = "sip:1001@192.0.2.10:5060")]
    pub(crate) contact: String,
    /// Where the REGISTER came from (`ip:port`).
    pub(crate) source: String,
    /// `udp` or `tcp`.
    pub(crate) transport: String,
    pub(crate) user_agent: Option<String>,
    /// When the binding lapses.
    pub(crate) expires_at: DateTime<Utc>,
    /// Seconds left.
    pub(crate) expires_in: i64,
    /// First registration.
    pub(crate) registered_at: DateTime<Utc>,
    /// Last refresh.
    pub(crate) refreshed_at: DateTime<Utc>,
}

impl RegistrationDto {
    fn new(b: Binding, now: DateTime<Utc>) -> Self {
        RegistrationDto {
            id: b.id,
            expires_in: (b.expires_at - now).num_seconds().max(0),
            aor: b.aor,
            contact: b.contact_uri,
            source: b.source,
            transport: b.transport,
            user_agent: b.user_agent,
            expires_at: b.expires_at,
            registered_at: b.created_at,
            refreshed_at: b.updated_at,
        }
    }
}

page_of!(RegistrationPage, RegistrationDto);

/// Filters of the registration list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct RegistrationQuery {
    /// Only this extension.
    pub(crate) aor: Option<String>,
    /// Case-insensitive part of the extension, contact, source or user agent.
    pub(crate) search: Option<String>,
    /// Rows per page (1 to 1000, default 100).
    pub(crate) limit: Option<u32>,
    /// Rows to skip.
    pub(crate) offset: Option<u32>,
}

/// Which contact to remove.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UnregisterQuery {
    /// Only this contact URI (default: every contact of the extension).
    pub(crate) contact: Option<String>,
}

/// What a forced unregistration removed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Unregistered {
    /// Number of bindings removed.
    pub(crate) removed: u64,
}

/// Lists unexpired registrations, by extension then contact (a `user` account sees its own).
#[utoipa::path(get, path = "/api/v1/registrations", tag = "registrations", security(("bearer" = [])),
    params(RegistrationQuery), responses((status = 200, body = RegistrationPage), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_registrations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<RegistrationQuery>,
) -> ApiResult<Json<RegistrationPage>> {
    let now = Utc::now();
    let own = caller.own_extension_scope()?.map(str::to_owned);
    let search = q.search.map(|s| s.to_lowercase()).filter(|s| !s.is_empty());
    let matches = |b: &Binding| {
        search.as_ref().is_none_or(|s| {
            [
                Some(&b.aor),
                Some(&b.contact_uri),
                Some(&b.source),
                b.user_agent.as_ref(),
            ]
            .into_iter()
            .flatten()
            .any(|v| v.to_lowercase().contains(s))
        })
    };
    let rows: Vec<RegistrationDto> = state
        .store()
        .list_bindings(now)
        .await?
        .into_iter()
        .filter(|b| own.as_ref().is_none_or(|o| &b.aor == o))
        .filter(|b| q.aor.as_ref().is_none_or(|a| a.is_empty() || &b.aor == a))
        .filter(|b| matches(b))
        .map(|b| RegistrationDto::new(b, now))
        .collect();
    let (items, total, limit, offset) = PageParams {
        limit: q.limit,
        offset: q.offset,
    }
    .slice(rows)?;
    Ok(Json(RegistrationPage {
        items,
        total,
        limit,
        offset,
    }))
}

/// Removes an extension's registrations (all, or one contact). The phone re-registers when
/// its own timer fires, if it still has valid credentials.
#[utoipa::path(delete, path = "/api/v1/registrations/{aor}", tag = "registrations", security(("bearer" = [])),
    params(("aor" = String, Path, description = "Extension number"), UnregisterQuery),
    responses((status = 200, body = Unregistered), (status = 404, description = "No such registration", body = ErrorBody)))]
pub(crate) async fn unregister(
    State(state): State<AppState>,
    caller: Caller,
    ip: ClientIp,
    Path(aor): Path<String>,
    ApiQuery(q): ApiQuery<UnregisterQuery>,
) -> ApiResult<Json<Unregistered>> {
    let store = state.store();
    let contact = q.contact.filter(|c| !c.is_empty());
    let removed = match &contact {
        Some(c) => u64::from(store.remove_binding(&aor, c).await?),
        None => store.remove_all_bindings(&aor).await?,
    };
    if removed == 0 {
        return Err(ApiError::not_found("registration", &aor));
    }
    let now = Utc::now();
    state
        .base
        .metrics
        .set_bindings_active(store.count_bindings(now).await?);
    state.base.events.publish(PbxEvent::Unregistered {
        aor: aor.clone(),
        contact: contact.clone(),
        reason: "admin",
    });
    record(
        &state,
        &caller.username,
        ip,
        "registration.remove",
        Some(aor),
        json!({"contact": contact, "removed": removed}),
    )
    .await;
    Ok(Json(Unregistered { removed }))
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};
    use chrono::Duration;
    use warden_storage::NewBinding;

    use super::*;
    use crate::api::testkit::TestApp;

    fn binding(aor: &str, contact: &str, expires_in: i64) -> NewBinding {
        NewBinding {
            aor: aor.into(),
            contact_uri: contact.into(),
            q: None,
            expires_at: Utc::now() + Duration::seconds(expires_in),
            call_id: format!("cid-{contact}"),
            cseq: 1,
            source: "192.0.2.7:5060".into(),
            transport: "udp".into(),
            user_agent: Some("Desk Phone 2".into()),
            path: None,
            instance_id: None,
        }
    }

    #[tokio::test]
    async fn list_filter_and_force_unregister() {
        let app = TestApp::new().await;
        let store = app.state.store();
        store
            .upsert_binding(&binding("1001", "sip:1001@192.0.2.7:5060", 300))
            .await
            .unwrap();
        store
            .upsert_binding(&binding("1001", "sip:1001@192.0.2.8:5060", 300))
            .await
            .unwrap();
        store
            .upsert_binding(&binding("1002", "sip:1002@192.0.2.9:5060", 300))
            .await
            .unwrap();
        store
            .upsert_binding(&binding("1002", "sip:1002@192.0.2.10:5060", -5))
            .await
            .unwrap();
        let admin = app.token("admin").await;
        let (status, v) = app.get("/api/v1/registrations", &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["total"], 3, "expired bindings are not listed: {v}");
        let first = &v["items"][0];
        assert_eq!(
            (first["aor"].as_str(), first["transport"].as_str()),
            (Some("1001"), Some("udp"))
        );
        assert!(first["expires_in"].as_i64().unwrap() > 290);
        assert_eq!(
            app.get("/api/v1/registrations?aor=1002", &admin).await.1["total"],
            1
        );
        assert_eq!(
            app.get("/api/v1/registrations?search=192.0.2.8", &admin)
                .await
                .1["total"],
            1
        );
        let alice = app.token("alice").await;
        assert_eq!(
            app.get("/api/v1/registrations", &alice).await.1["total"],
            2,
            "users see their own"
        );

        let mut bus = app.state.base.events.subscribe();
        let path = "/api/v1/registrations/1001?contact=sip%3A1001%40192.0.2.8%3A5060";
        let (status, _, v) = app.send(Method::DELETE, path, Some(&admin), None).await;
        assert_eq!(
            (status, v["removed"].as_u64()),
            (StatusCode::OK, Some(1)),
            "{v}"
        );
        match bus.try_recv().unwrap() {
            PbxEvent::Unregistered {
                aor,
                contact,
                reason,
            } => {
                assert_eq!(
                    (aor.as_str(), contact.as_deref(), reason),
                    ("1001", Some("sip:1001@192.0.2.8:5060"), "admin")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let (status, _, v) = app
            .send(
                Method::DELETE,
                "/api/v1/registrations/1001",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!((status, v["removed"].as_u64()), (StatusCode::OK, Some(1)));
        let (status, _, _) = app
            .send(
                Method::DELETE,
                "/api/v1/registrations/1001",
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(app.state.base.metrics.bindings_active.get(), 1);
        let filter = warden_storage::AuditFilter {
            action: Some("registration.remove".into()),
            ..Default::default()
        };
        assert_eq!(store.list_audit(&filter).await.unwrap().total, 2);
    }
}
