//! The web dashboard, embedded in the binary at compile time (so running Warden needs no
//! Node.js). build.rs copies `admin/dist` (building it with npm when it is missing or stale and
//! npm is available) or, failing that, a fallback page that says how to build it.
//!
//! `/` is the dashboard; `/api/docs/` the browsable API documentation (from the same bundle);
//! hashed files under `/assets/` are cached for a year, everything else is revalidated.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use include_dir::{include_dir, Dir};

use super::state::AppState;

static DASHBOARD: Dir<'_> = include_dir!("$OUT_DIR/admin-dist");

/// The dashboard routes: `/api/docs` redirects to `/api/docs/`, anything else not routed is
/// looked up in the bundle.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/docs",
            get(|| async { Redirect::permanent("/api/docs/") }),
        )
        .fallback(serve)
}

async fn serve(uri: Uri) -> Response {
    lookup(uri.path())
}

/// The response for a request path.
pub(crate) fn lookup(path: &str) -> Response {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_owned()
    };
    if rel.split('/').any(|seg| seg == ".." || seg.is_empty()) {
        return not_found();
    }
    match DASHBOARD.get_file(&rel) {
        Some(file) => {
            let cache = if rel.starts_with("assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            (
                [
                    (header::CONTENT_TYPE, mime(&rel)),
                    (header::CACHE_CONTROL, cache),
                ],
                file.contents(),
            )
                .into_response()
        }
        None => not_found(),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found\n",
    )
        .into_response()
}

fn mime(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_and_types() {
        let res = lookup("/");
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(
            res.headers()[header::CONTENT_TYPE],
            "text/html; charset=utf-8"
        );
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-cache");
        assert_eq!(lookup("/../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(lookup("/nope.js").status(), StatusCode::NOT_FOUND);
        assert_eq!(
            mime("assets/index-abc.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(mime("x.unknown"), "application/octet-stream");
    }

    #[test]
    fn index_has_no_inline_script() {
        let index = DASHBOARD
            .get_file("index.html")
            .expect("index.html is always embedded");
        let html = std::str::from_utf8(index.contents()).unwrap();
        for tag in html.split("<script").skip(1) {
            let open = tag.split('>').next().unwrap_or("");
            assert!(
                open.contains("src="),
                "inline script in index.html: <script{open}>"
            );
        }
        assert!(
            !html.contains("style="),
            "inline style attribute in index.html"
        );
    }
}
