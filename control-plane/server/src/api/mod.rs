//! The HTTP side of the control plane: the only module that knows axum and JSON.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tracing::info;

use crate::error::ControlError;
use crate::metrics::Metrics;

/// What the HTTP handlers can see.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) store: warden_storage::Store,
    pub(crate) started: Instant,
}

/// Builds the router.
pub(crate) fn router(state: ApiState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(state)
}

/// Binds the API listener and serves it in the background. Returns the bound address.
pub(crate) async fn serve(addr: SocketAddr, state: ApiState) -> Result<SocketAddr, ControlError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    let local = listener
        .local_addr()
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    info!(%local, "api listening");
    let app = router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "api server stopped");
        }
    });
    Ok(local)
}

async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

async fn healthz(State(state): State<ApiState>) -> impl IntoResponse {
    let db_ok = state.store.ping().await.is_ok();
    let body = serde_json::json!({
        "status": if db_ok { "ok" } else { "degraded" },
        "database": if db_ok { "ok" } else { "unreachable" },
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": state.started.elapsed().as_secs(),
    });
    let code = if db_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}
