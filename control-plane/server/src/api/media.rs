//! Media-plane load per core: sessions, packets per second, drops, busy time.
//!
//! The route is written against the [`MediaStats`] trait; server.rs plugs in the media
//! plane's per-core counters (`crate::media::MediaMetrics`).

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiResult, ErrorBody};
use super::state::AppState;

/// What the API needs from the media plane.
pub(crate) trait MediaStats: Send + Sync + 'static {
    /// The latest load figures of every media core (cheap: read from counters).
    fn cores(&self) -> Vec<CoreLoad>;
}

/// Load of one media core.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub(crate) struct CoreLoad {
    /// CPU id the executor is pinned to.
    pub(crate) core: u32,
    /// RTP sessions (call legs) on the core.
    pub(crate) sessions: u64,
    /// Packets received per second (last interval).
    pub(crate) packets_in_per_sec: f64,
    /// Packets sent per second (last interval).
    pub(crate) packets_out_per_sec: f64,
    /// Packets dropped since start (malformed, unlatched, ring full).
    pub(crate) dropped_total: u64,
    /// RTP packets the kernel forwarded for the core since start (counted as calls end or
    /// change; see `media.kernel_forwarding`).
    pub(crate) kernel_packets_total: u64,
    /// Share of time the executor was busy in the last interval, 0 to 100.
    pub(crate) busy_pct: f64,
}

/// Per-core media load (empty while the media plane is not reporting).
#[utoipa::path(get, path = "/api/v1/media/cores", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = Vec<CoreLoad>), (status = 403, body = ErrorBody)))]
pub(crate) async fn media_cores(State(state): State<AppState>) -> ApiResult<Json<Vec<CoreLoad>>> {
    Ok(Json(state.base.media.cores()))
}
