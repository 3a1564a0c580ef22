//! Security headers on every response (a CSP without `unsafe-inline`, no framing, no
//! sniffing, no referrer, HSTS over TLS), JSON bodies for the router's own bare errors, and
//! CORS from `api.cors_origins`.

use std::time::Duration;

use axum::extract::Request;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::error::ApiError;

/// The content security policy: everything from this origin only, no inline script or style.
/// `data:` images are allowed (icons in the API docs' stylesheet), and `blob:` media (voicemail
/// audio, fetched with the access token and played from a blob URL).
pub(crate) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'";

/// Middleware: adds the security headers, and turns a bare 405 under `/api/` into the API's
/// error body.
pub(crate) async fn headers(tls: bool, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/v1/");
    let mut res = next.run(req).await;
    if api && res.status() == StatusCode::METHOD_NOT_ALLOWED && !is_json(&res) {
        let allow = res.headers().get(header::ALLOW).cloned();
        res = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route",
        )
        .into_response();
        if let Some(allow) = allow {
            res.headers_mut().insert(header::ALLOW, allow);
        }
    }
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CSP);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if api && !h.contains_key(header::CACHE_CONTROL) {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    if tls {
        set(h, header::STRICT_TRANSPORT_SECURITY, "max-age=31536000");
    }
    res
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// CORS for the configured origins; `None` (same-origin only) when none are configured.
/// Tokens travel in the `Authorization` header, never in cookies, so credentials are not
/// allowed cross-origin.
pub(crate) fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::RETRY_AFTER, header::CONTENT_DISPOSITION])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_has_no_unsafe_inline() {
        assert!(!CSP.contains("unsafe"), "{CSP}");
        assert!(CSP.contains("script-src 'self'"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }

    #[test]
    fn cors_only_when_configured() {
        assert!(cors_layer(&[]).is_none());
        assert!(cors_layer(&["*".into()]).is_some());
    }

    #[tokio::test]
    async fn configured_origins_pass_the_preflight_and_others_do_not() {
        use axum::body::Body;
        use axum::http::Request;
        use tower::ServiceExt;

        let Some(cors) = cors_layer(&["http://localhost:5173".into()]) else {
            panic!("layer expected")
        };
        let app = axum::Router::new()
            .route("/api/v1/me", axum::routing::get(|| async { "me" }))
            .layer(cors);
        let preflight = |origin: &str| {
            Request::builder()
                .method(Method::OPTIONS)
                .uri("/api/v1/me")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
                .body(Body::empty())
                .unwrap()
        };
        let res = app
            .clone()
            .oneshot(preflight("http://localhost:5173"))
            .await
            .unwrap();
        assert_eq!(
            res.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:5173"
        );
        let allowed = res.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(allowed.contains("authorization"), "{allowed}");
        let res = app
            .oneshot(preflight("https://evil.example"))
            .await
            .unwrap();
        assert!(res
            .headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .is_none());
    }
}
