//! The HTTP side of the control plane: the only module that knows axum and JSON.
//!
//! It serves `/metrics` (Prometheus text), `/healthz`, the admin REST API under `/api/v1`
//! (JSON, documented by the OpenAPI document at `/api/v1/openapi.json`), the live-events
//! stream (`/api/v1/events`, server-sent events) and the embedded web dashboard at `/`
//! (with the API docs page at `/api/docs/`).
//!
//! Layout: [`routes`] is the table of every API route with the roles allowed on it; one file
//! per resource holds its handlers and JSON shapes; [`auth`] holds logins, tokens and the
//! first administrator; [`security`] the headers and CORS; [`tls`] the optional rustls
//! listener; [`assets`] the embedded dashboard.

mod assets;
mod audit;
mod auth;
mod call_media;
mod calls;
mod error;
mod events;
mod extensions;
mod extract;
mod forwarding;
mod media;
mod openapi;
mod ops;
mod page;
mod records;
mod registrations;
mod routes;
mod security;
mod state;
mod system;
mod tls;
mod users;
mod voicemail;

#[cfg(test)]
mod testkit;

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tracing::info;

use crate::error::ControlError;

#[allow(unused_imports)] // the call and media providers are plugged in by server.rs
pub(crate) use call_media::{
    MediaOp, MediaOpError, MediaOpFuture, MediaOpOk, PlaySource, PlaybackStatus, Side,
};
#[allow(unused_imports)] // the call and media providers are plugged in by server.rs
pub(crate) use calls::{CallControl, CallLeg, HangupError, LegQuality, LiveCall};
#[allow(unused_imports)]
pub(crate) use media::{CoreLoad, MediaStats};
pub(crate) use state::{ApiSettings, ApiState};

/// Builds the whole HTTP application: API routes, ops endpoints, dashboard, headers, CORS.
pub(crate) fn router(state: state::AppState) -> axum::Router {
    let cors = security::cors_layer(&state.base.settings.api.cors_origins);
    let tls = state.base.settings.api.tls_cert.is_some();
    let app = routes::api_routes()
        .into_router(&state)
        .merge(ops::router())
        .merge(assets::router())
        .with_state(state)
        .layer(axum::middleware::from_fn(move |req, next| {
            security::headers(tls, req, next)
        }));
    match cors {
        Some(cors) => app.layer(cors),
        None => app,
    }
}

/// Creates the first administrator if needed, binds the API listener (plain TCP or TLS) and
/// serves it in the background. Returns the bound address.
pub(crate) async fn serve(addr: SocketAddr, state: ApiState) -> Result<SocketAddr, ControlError> {
    auth::bootstrap_admin(
        &state.store,
        state.settings.admin_password.as_deref(),
        &mut std::io::stderr(),
    )
    .await?;
    let tls_config = tls::server_config(&state.settings.api)?;
    let app_state = state::AppState::new(state);
    auth::spawn_housekeeping(app_state.clone());
    let app = router(app_state);
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    let local = listener
        .local_addr()
        .map_err(|e| ControlError::Bind { addr, source: e })?;
    match tls_config {
        Some(config) => {
            info!(%local, tls = true, "api listening");
            let listener = tls::TlsListener::spawn(listener, config);
            let app = app.into_make_service_with_connect_info::<tls::TlsPeer>();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "api server stopped");
                }
            });
        }
        None => {
            info!(%local, tls = false, "api listening");
            let app = app.into_make_service_with_connect_info::<SocketAddr>();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "api server stopped");
                }
            });
        }
    }
    Ok(local)
}
