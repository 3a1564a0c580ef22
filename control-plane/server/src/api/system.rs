//! System information: version, uptime, counts and a summary of the configuration (no
//! secrets: no database password, no extension secrets).

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use warden_config::Config;
use warden_storage::BackendKind;

use super::error::{ApiResult, ErrorBody};
use super::state::AppState;

/// The configuration in effect, as shown to operators.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ConfigSummary {
    /// SIP domain (digest realm).
    pub(crate) sip_domain: String,
    /// SIP listeners, e.g. `udp:0.0.0.0:5060`.
    pub(crate) sip_listen: Vec<String>,
    /// Registration lengths: shortest, longest, default (seconds).
    pub(crate) registrar_expires: [u32; 3],
    /// Address advertised in SDP.
    pub(crate) media_address: String,
    /// RTP port range.
    pub(crate) rtp_ports: String,
    /// Media cores: `auto` or a list of CPU ids.
    pub(crate) media_cores: String,
    /// API listen address.
    pub(crate) api_listen: String,
    /// Whether the API is served over TLS.
    pub(crate) api_tls: bool,
    /// CORS origins allowed.
    pub(crate) cors_origins: Vec<String>,
    /// Log level filter.
    pub(crate) log_level: String,
    /// Extensions seeded from the configuration file.
    pub(crate) configured_extensions: usize,
}

impl ConfigSummary {
    pub(crate) fn from_config(c: &Config) -> Self {
        let r = &c.sip.registrar;
        ConfigSummary {
            sip_domain: c.sip.domain.clone(),
            sip_listen: c.sip.listen.iter().map(ToString::to_string).collect(),
            registrar_expires: [r.min_expires, r.max_expires, r.default_expires],
            media_address: c.media.address.to_string(),
            rtp_ports: c.media.rtp_ports.to_string(),
            media_cores: match &c.media.cores {
                None => "auto".to_owned(),
                Some(list) => list
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            },
            api_listen: c.api.listen.to_string(),
            api_tls: c.api.tls_cert.is_some(),
            cors_origins: c.api.cors_origins.clone(),
            log_level: c.log.level.clone(),
            configured_extensions: c.extensions.len(),
        }
    }
}

/// Counts of things right now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SystemCounts {
    pub(crate) extensions: u64,
    /// Unexpired registrations.
    pub(crate) registrations: u64,
    pub(crate) live_calls: u64,
    pub(crate) users: u64,
}

/// The system's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SystemInfo {
    /// Warden version.
    #[schema(example = "0.1.0")]
    pub(crate) version: &'static str,
    /// When the process started.
    pub(crate) started_at: DateTime<Utc>,
    /// Seconds since start.
    pub(crate) uptime_secs: u64,
    /// `sqlite` or `postgres`.
    pub(crate) database: &'static str,
    pub(crate) counts: SystemCounts,
    pub(crate) config: ConfigSummary,
}

/// Version, uptime, counts and configuration summary.
#[utoipa::path(get, path = "/api/v1/system", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = SystemInfo), (status = 403, body = ErrorBody)))]
pub(crate) async fn system_info(State(state): State<AppState>) -> ApiResult<Json<SystemInfo>> {
    let store = state.store();
    let now = Utc::now();
    let uptime = state.base.started.elapsed();
    let started_at = now - chrono::Duration::from_std(uptime).unwrap_or_default();
    let counts = SystemCounts {
        extensions: store.count_extensions().await?,
        registrations: store.count_bindings(now).await?,
        live_calls: state.base.calls.list().len() as u64,
        users: store.count_users().await?,
    };
    Ok(Json(SystemInfo {
        version: env!("CARGO_PKG_VERSION"),
        started_at,
        uptime_secs: uptime.as_secs(),
        database: match store.kind() {
            BackendKind::Sqlite => "sqlite",
            BackendKind::Postgres => "postgres",
        },
        counts,
        config: state.base.settings.summary.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::api::testkit::TestApp;

    #[tokio::test]
    async fn system_and_media_cores() {
        let app = TestApp::new().await;
        let ops = app.token("ops").await;
        let (status, v) = app.get("/api/v1/system", &ops).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["database"], "sqlite");
        assert_eq!(
            (
                v["counts"]["extensions"].as_u64(),
                v["counts"]["users"].as_u64()
            ),
            (Some(2), Some(3))
        );
        assert_eq!(v["config"]["sip_domain"], "pbx.local");
        let (status, v) = app.get("/api/v1/media/cores", &ops).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (v[0]["core"].as_u64(), v[0]["busy_pct"].as_f64()),
            (Some(1), Some(12.5))
        );
    }

    #[test]
    fn summary_has_no_secrets() {
        let yaml = "database:\n  url: postgres://warden:hunter22@db/warden\nextensions:\n  - { number: \"1\", name: One, secret: one-secret-value }\n";
        let mut c = Config::from_yaml_str(yaml).unwrap();
        c.admin_password = Some("admin-secret-value".into());
        let s = ConfigSummary::from_config(&c);
        let text = serde_json::to_string(&s).unwrap();
        for secret in ["hunter22", "one-secret-value", "admin-secret-value"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert_eq!(s.configured_extensions, 1);
        assert_eq!(s.media_cores, "auto");
        assert_eq!(s.sip_listen, ["udp:0.0.0.0:5060", "tcp:0.0.0.0:5060"]);
    }
}
