//! The table of every `/api/v1` route: method, path, who may call it, handler.
//!
//! Routes are added only through [`RouteTable`], which records each one; a test checks the
//! recorded table against the OpenAPI document both ways, so a route cannot exist without
//! documentation (or be documented without existing), and checks that every protected route
//! declares the bearer security scheme.

use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::from_fn_with_state;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;

use super::auth::{self, guard, Access, ADMIN, ANY, STAFF};
use super::state::AppState;
use super::{
    audit, call_media, calls, events, extensions, forwarding, media, openapi, records,
    registrations, system, users, voicemail,
};

/// One route of the table.
pub(crate) struct Route {
    #[cfg_attr(not(test), allow(dead_code))] // read by the OpenAPI test
    pub(crate) method: Method,
    pub(crate) path: &'static str,
    pub(crate) access: Access,
    handler: MethodRouter<AppState>,
}

/// Every API route, recorded as it is added.
#[derive(Default)]
pub(crate) struct RouteTable {
    pub(crate) routes: Vec<Route>,
}

impl RouteTable {
    fn add<H, T>(mut self, method: Method, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = match method {
            Method::POST => MethodFilter::POST,
            Method::PUT => MethodFilter::PUT,
            Method::PATCH => MethodFilter::PATCH,
            Method::DELETE => MethodFilter::DELETE,
            _ => MethodFilter::GET,
        };
        self.routes.push(Route {
            method,
            path,
            access,
            handler: on(filter, handler),
        });
        self
    }

    fn get<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::GET, path, access, h)
    }

    fn post<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::POST, path, access, h)
    }

    fn put<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::PUT, path, access, h)
    }

    fn patch<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::PATCH, path, access, h)
    }

    fn delete<H: Handler<T, AppState>, T: 'static>(
        self,
        path: &'static str,
        access: Access,
        h: H,
    ) -> Self {
        self.add(Method::DELETE, path, access, h)
    }

    /// The axum router, each route behind its access check. Unknown `/api/v1/...` paths answer
    /// a JSON 404.
    pub(crate) fn into_router(self, state: &AppState) -> Router<AppState> {
        let mut router = Router::new();
        for r in self.routes {
            let access = r.access;
            let checked = r
                .handler
                .route_layer(from_fn_with_state(state.clone(), move |s, req, next| {
                    guard(s, access, req, next)
                }));
            router = router.route(r.path, checked);
        }
        router.route("/api/v1/{*rest}", axum::routing::any(not_found))
    }
}

async fn not_found() -> super::error::ApiError {
    super::error::ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "no such API route",
    )
}

/// The API.
pub(crate) fn api_routes() -> RouteTable {
    use Access::{Public, Roles, RolesQueryToken};
    RouteTable::default()
        .get("/api/v1/openapi.json", Public, openapi::openapi_json)
        // sessions
        .post("/api/v1/auth/login", Public, auth::login)
        .post("/api/v1/auth/refresh", Public, auth::refresh)
        .post("/api/v1/auth/logout", Public, auth::logout)
        .get("/api/v1/me", Roles(ANY), auth::me)
        .put("/api/v1/me/password", Roles(ANY), auth::change_own_password)
        // extensions (user: own, PIN only)
        .get(
            "/api/v1/extensions",
            Roles(ANY),
            extensions::list_extensions,
        )
        .post(
            "/api/v1/extensions",
            Roles(ADMIN),
            extensions::create_extension,
        )
        .get(
            "/api/v1/extensions/{number}",
            Roles(ANY),
            extensions::get_extension,
        )
        .patch(
            "/api/v1/extensions/{number}",
            Roles(ANY),
            extensions::update_extension,
        )
        .delete(
            "/api/v1/extensions/{number}",
            Roles(ADMIN),
            extensions::delete_extension,
        )
        // call forwarding (user: own extension; operator: read only)
        .get(
            "/api/v1/extensions/{number}/forwarding",
            Roles(ANY),
            forwarding::get_forwarding,
        )
        .put(
            "/api/v1/extensions/{number}/forwarding",
            Roles(ANY),
            forwarding::set_forwarding,
        )
        // voicemail (user: own extension; operator: read only)
        .get(
            "/api/v1/extensions/{number}/voicemail",
            Roles(ANY),
            voicemail::get_voicemail_box,
        )
        .put(
            "/api/v1/extensions/{number}/voicemail",
            Roles(ANY),
            voicemail::set_voicemail_box,
        )
        .get(
            "/api/v1/extensions/{number}/voicemail/messages",
            Roles(ANY),
            voicemail::list_voicemail_messages,
        )
        .get(
            "/api/v1/extensions/{number}/voicemail/messages/{id}/audio",
            Roles(ANY),
            voicemail::voicemail_audio,
        )
        .patch(
            "/api/v1/extensions/{number}/voicemail/messages/{id}",
            Roles(ANY),
            voicemail::update_voicemail_message,
        )
        .delete(
            "/api/v1/extensions/{number}/voicemail/messages/{id}",
            Roles(ANY),
            voicemail::delete_voicemail_message,
        )
        // registrations
        .get(
            "/api/v1/registrations",
            Roles(ANY),
            registrations::list_registrations,
        )
        .delete(
            "/api/v1/registrations/{aor}",
            Roles(ADMIN),
            registrations::unregister,
        )
        // calls
        .get("/api/v1/calls", Roles(ANY), calls::list_calls)
        .post(
            "/api/v1/calls/{id}/hangup",
            Roles(STAFF),
            calls::hangup_call,
        )
        .post(
            "/api/v1/calls/{id}/record",
            Roles(STAFF),
            call_media::record_call,
        )
        .post("/api/v1/calls/{id}/play", Roles(STAFF), call_media::play)
        .get(
            "/api/v1/calls/{id}/play",
            Roles(STAFF),
            call_media::play_status,
        )
        .post(
            "/api/v1/calls/{id}/play/stop",
            Roles(STAFF),
            call_media::stop_play,
        )
        .get("/api/v1/call-records", Roles(ANY), records::search_records)
        .get(
            "/api/v1/call-records/export",
            Roles(ANY),
            records::export_records,
        )
        // system
        .get("/api/v1/media/cores", Roles(STAFF), media::media_cores)
        .get("/api/v1/system", Roles(STAFF), system::system_info)
        .get(
            "/api/v1/events",
            RolesQueryToken(STAFF),
            events::event_stream,
        )
        // accounts and audit
        .get("/api/v1/users", Roles(ADMIN), users::list_users)
        .post("/api/v1/users", Roles(ADMIN), users::create_user)
        .get("/api/v1/users/{id}", Roles(ADMIN), users::get_user)
        .patch("/api/v1/users/{id}", Roles(ADMIN), users::update_user)
        .delete("/api/v1/users/{id}", Roles(ADMIN), users::delete_user)
        .get("/api/v1/audit", Roles(ADMIN), audit::list_audit)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{header, Request, StatusCode};
    use tower::ServiceExt;
    use warden_storage::Role;

    use super::*;
    use crate::api::testkit::TestApp;

    /// Sends a request with an empty JSON body where one is expected; returns the status and,
    /// for a 403, whether the access check (not the handler) refused it.
    async fn probe(
        app: &TestApp,
        method: &Method,
        path: &str,
        token: Option<&str>,
    ) -> (StatusCode, bool) {
        let mut req = Request::builder().method(method.clone()).uri(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from("{}")
        } else {
            Body::empty()
        };
        let res = app
            .app
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let by_guard = if status == StatusCode::FORBIDDEN {
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            String::from_utf8_lossy(&bytes).contains("role may not do this")
        } else {
            false
        };
        (status, by_guard)
    }

    #[tokio::test]
    async fn every_route_enforces_its_roles() {
        let app = TestApp::new().await;
        let tokens = [
            (Role::Admin, app.token("admin").await),
            (Role::Operator, app.token("ops").await),
            (Role::User, app.token("alice").await),
        ];
        let admin_id = app
            .state
            .store()
            .get_user_by_name("admin")
            .await
            .unwrap()
            .unwrap()
            .id;
        let mut checked = 0;
        for r in api_routes().routes {
            let path = r
                .path
                .replace("{number}", "1002")
                .replace("{aor}", "1002")
                .replace("{id}", &admin_id.to_string());
            let Some(roles) = r.access.roles() else {
                let (status, _) = probe(&app, &r.method, &path, None).await;
                assert_ne!(
                    status,
                    StatusCode::UNAUTHORIZED,
                    "{} {path} is public",
                    r.method
                );
                continue;
            };
            let (status, _) = probe(&app, &r.method, &path, None).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{} {path} without a token",
                r.method
            );
            for (role, token) in &tokens {
                // Skip requests that would change the data the later probes use.
                let mutating = r.method == Method::DELETE || r.path.contains("/me/password");
                if roles.contains(role) && (mutating || r.path == "/api/v1/events") {
                    continue;
                }
                let (status, by_guard) = probe(&app, &r.method, &path, Some(token)).await;
                if roles.contains(role) {
                    assert!(
                        !by_guard && status != StatusCode::UNAUTHORIZED,
                        "{role} refused on {} {path}: {status}",
                        r.method
                    );
                } else {
                    assert!(
                        by_guard,
                        "{role} must get the access check's 403 on {} {path}, got {status}",
                        r.method
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 50, "{checked}");
    }

    #[tokio::test]
    async fn unknown_api_paths_and_methods_answer_json() {
        let app = TestApp::new().await;
        let (status, _, v) = app.send(Method::GET, "/api/v1/nope", None, None).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
        let (status, headers, v) = app
            .send(Method::PUT, "/api/v1/auth/login", None, None)
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
        );
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            crate::api::security::CSP
        );
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        let (status, _, v) = app
            .send(Method::GET, "/api/v1/openapi.json", None, None)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(v["openapi"].as_str().unwrap().starts_with("3.1"));
        let (status, headers, _) = app.send(Method::GET, "/", None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    }
}
