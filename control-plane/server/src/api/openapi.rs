//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json`. The browsable page is part of the dashboard bundle (`/api/docs/`).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    audit, auth, call_media, calls, events, extensions, forwarding, media, records, registrations,
    system, users, voicemail,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Warden admin API",
        description = "Management API of the Warden IP-PBX. Log in with `POST /api/v1/auth/login`, then send \
            `Authorization: Bearer <access_token>`. Every error has the body \
            `{\"error\": {\"code\", \"message\", \"field\"}}`; lists take `limit`/`offset` and answer \
            `{items, total, limit, offset}`."
    ),
    paths(
        openapi_json,
        auth::login::login, auth::login::refresh, auth::login::logout, auth::login::me,
        auth::login::change_own_password,
        extensions::list_extensions, extensions::create_extension, extensions::get_extension,
        extensions::update_extension, extensions::delete_extension,
        forwarding::get_forwarding, forwarding::set_forwarding,
        voicemail::get_voicemail_box, voicemail::set_voicemail_box,
        voicemail::list_voicemail_messages, voicemail::voicemail_audio,
        voicemail::update_voicemail_message, voicemail::delete_voicemail_message,
        registrations::list_registrations, registrations::unregister,
        calls::list_calls, calls::hangup_call,
        call_media::record_call, call_media::play, call_media::play_status, call_media::stop_play,
        records::search_records, records::export_records,
        media::media_cores, system::system_info, events::event_stream,
        users::list_users, users::create_user, users::get_user, users::update_user, users::delete_user,
        audit::list_audit,
    ),
    // Types used only in query parameters or event payloads are not collected from the paths.
    components(schemas(
        events::RegistrationEvent, events::StatsEvent, events::CallsEvent, events::CallLifecycleEvent,
        records::DispositionDto, users::RoleDto,
    )),
    modifiers(&Security),
    tags(
        (name = "auth", description = "Login, tokens and the caller's own account"),
        (name = "extensions", description = "Extensions (phones/users of the PBX)"),
        (name = "registrations", description = "Registered phones"),
        (name = "calls", description = "Live calls and call records"),
        (name = "system", description = "Version, configuration, media load"),
        (name = "events", description = "Live events (server-sent events)"),
        (name = "users", description = "Accounts of the API and dashboard"),
        (name = "audit", description = "Audit log of every change"),
        (name = "meta", description = "This document"),
    )
)]
pub(crate) struct ApiDoc;

/// Declares the security schemes: a bearer JWT, and the `access_token` query parameter of the
/// events stream.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "access_token",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "access_token",
                "The access token as a query parameter (only for the events stream)",
            ))),
        );
    }
}

/// The document as JSON text (built once).
pub(crate) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_json()
            .unwrap_or_else(|_| "{}".to_owned())
    })
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::api::auth::Access;
    use crate::api::routes::api_routes;

    fn documented() -> oas3::OpenApiV3Spec {
        oas3::from_json(document()).expect("the document parses as OpenAPI 3.1")
    }

    #[test]
    fn document_is_openapi_3_1() {
        let spec = documented();
        assert!(spec.openapi.starts_with("3.1"), "{}", spec.openapi);
        let json: serde_json::Value = serde_json::from_str(document()).unwrap();
        // Every $ref points at a schema that exists.
        let schemas = &json["components"]["schemas"];
        let text = document();
        for r in text.split("\"$ref\":\"").skip(1) {
            let target = r.split('"').next().unwrap();
            let name = target.strip_prefix("#/components/schemas/").expect(target);
            assert!(schemas.get(name).is_some(), "dangling reference {target}");
        }
        for name in [
            "ErrorBody",
            "ExtensionDto",
            "TokenResponse",
            "RegistrationEvent",
            "StatsEvent",
            "CallLifecycleEvent",
        ] {
            assert!(schemas.get(name).is_some(), "schema {name} missing");
        }
    }

    /// Fails when a route of the router is not in the document, or the document lists an
    /// operation the router does not serve.
    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let spec = documented();
        let mut documented_ops = BTreeSet::new();
        for (path, item) in spec.paths.iter().flatten() {
            for (method, _) in item.methods() {
                documented_ops.insert((method.to_string().to_uppercase(), path.clone()));
            }
        }
        let routed: BTreeSet<(String, String)> = api_routes()
            .routes
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_owned()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented_ops).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document: {missing:?}"
        );
        let extra: Vec<_> = documented_ops.difference(&routed).collect();
        assert!(
            extra.is_empty(),
            "documented operations with no route: {extra:?}"
        );
        assert!(routed.len() >= 25, "{routed:?}");
    }

    #[test]
    fn protected_routes_declare_the_bearer_scheme() {
        let json: serde_json::Value = serde_json::from_str(document()).unwrap();
        for r in api_routes().routes {
            let op = &json["paths"][r.path][r.method.as_str().to_lowercase()];
            let security = op["security"].as_array().cloned().unwrap_or_default();
            let has_bearer = security.iter().any(|s| s.get("bearer").is_some());
            match r.access {
                Access::Public => assert!(!has_bearer, "{} {} is public", r.method, r.path),
                _ => assert!(
                    has_bearer,
                    "{} {} needs `security((\"bearer\" = []))`",
                    r.method, r.path
                ),
            }
        }
    }
}
