//! What the HTTP handlers can see: the state server.rs hands over ([`ApiState`]) and the
//! API's own services built from it ([`AppState`]).

use std::sync::Arc;
use std::time::Instant;

use warden_config::{ApiConfig, Config};

use super::auth::AuthService;
use super::calls::CallControl;
use super::media::MediaStats;
use super::system::ConfigSummary;
use crate::events::EventBus;
use crate::metrics::Metrics;

/// The control plane's handles, passed in by server.rs.
#[derive(Clone)]
pub(crate) struct ApiState {
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) store: warden_storage::Store,
    pub(crate) started: Instant,
    pub(crate) events: EventBus,
    /// The API's part of the configuration.
    pub(crate) settings: Arc<ApiSettings>,
    /// Live calls: list and hang up.
    pub(crate) calls: Arc<dyn CallControl>,
    /// Per-core media-plane load.
    pub(crate) media: Arc<dyn MediaStats>,
}

/// The configuration the API needs, taken once at start.
#[derive(Clone, Debug)]
pub(crate) struct ApiSettings {
    /// `api:` (listen address, CORS origins, TLS files).
    pub(crate) api: ApiConfig,
    /// Password of the first administrator (`WARDEN_ADMIN_PASSWORD`), if given.
    pub(crate) admin_password: Option<String>,
    /// What `GET /api/v1/system` shows of the configuration (no secrets).
    pub(crate) summary: ConfigSummary,
}

impl ApiSettings {
    /// Extracts the API's settings from the configuration.
    pub(crate) fn from_config(config: &Config) -> Self {
        ApiSettings {
            api: config.api.clone(),
            admin_password: config.admin_password.clone(),
            summary: ConfigSummary::from_config(config),
        }
    }
}

/// The state of every handler: the control plane's handles plus the API's services.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) base: ApiState,
    pub(crate) auth: Arc<AuthService>,
}

impl AppState {
    /// Builds the API services (a fresh token signing key, the login limiter).
    pub(crate) fn new(base: ApiState) -> Self {
        AppState {
            base,
            auth: Arc::new(AuthService::new()),
        }
    }

    /// The database.
    pub(crate) fn store(&self) -> &warden_storage::Store {
        &self.base.store
    }
}
