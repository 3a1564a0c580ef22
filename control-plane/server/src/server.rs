//! Start-up and shutdown: open storage, seed extensions, bind transports and the API, run.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{info, warn};
use warden_config::{Config, ExtensionConfig, Transport as ListenTransport};
use warden_sip_auth::RateLimitConfig;
use warden_storage::{NewExtension, Store};

use crate::api::{self, ApiState};
use crate::calls::{self, Calls, CallsSetup};
use crate::core::{CoreSettings, SipCore};
use crate::error::ControlError;
use crate::events::EventBus;
use crate::media;
use crate::metrics::Metrics;
use crate::registrar::{Authenticator, Registrar};
use crate::transport::{spawn_tcp_listener, spawn_udp_listener, TransportObserver, Transports};

/// Depth of the queue between transports and the SIP core.
const INBOUND_QUEUE: usize = 8192;

/// A running control plane: the addresses actually bound (useful with port 0).
#[derive(Clone)]
pub struct Running {
    /// SIP listeners as (transport, bound address).
    pub sip: Vec<(ListenTransport, SocketAddr)>,
    /// The HTTP API address.
    pub api: SocketAddr,
    /// The media plane.
    media: warden_media::MediaPlane,
    /// The call service (ended at shutdown, with a record per call in flight).
    calls: Arc<Calls>,
}

/// Maps a configured extension onto the storage row.
pub fn new_extension(ext: &ExtensionConfig) -> NewExtension {
    NewExtension {
        voicemail_pin: ext.voicemail_pin.clone(),
        ..NewExtension::new(&ext.number, &ext.name, &ext.secret)
    }
}

/// Opens the database named by the configuration and applies migrations.
pub async fn open_store(config: &Config) -> Result<Store, ControlError> {
    if config.database.url.is_none() {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            ControlError::Config(format!("data_dir {}: {e}", config.data_dir.display()))
        })?;
    }
    let store = Store::connect(&config.database_url()).await?;
    store.migrate().await?;
    Ok(store)
}

/// Starts everything and returns once all listeners are bound.
pub async fn start(config: Config) -> Result<Running, ControlError> {
    let started = Instant::now();
    let store = open_store(&config).await?;
    let seeds: Vec<NewExtension> = config.extensions.iter().map(new_extension).collect();
    if !seeds.is_empty() {
        store.seed_extensions(&seeds).await?;
    }

    let metrics = Metrics::new();
    let media = media::start(&config)?;
    media::spawn_metrics(media.clone(), metrics.media.clone());
    let reg = &config.sip.registrar;
    let auth = Authenticator::new(
        &config.sip.domain,
        &reg.digest_algorithms,
        Duration::from_secs(u64::from(reg.nonce_ttl_secs)),
        &config.sip.security,
    );
    let events = EventBus::default();
    let transports = Transports::default();
    let calls = Calls::new(CallsSetup {
        config: calls::b2bua_config(&config),
        transports: transports.clone(),
        store: store.clone(),
        media: media.clone(),
        auth: auth.clone(),
        metrics: metrics.clone(),
        events: events.clone(),
        recording: calls::recording_settings(&config),
    });
    let registrar = Registrar::new(reg.clone(), store.clone(), auth, events.clone());
    let sec = &config.sip.security;
    let core = SipCore::new(
        transports.clone(),
        metrics.clone(),
        registrar,
        calls.clone(),
        CoreSettings {
            server_header: config.sip.user_agent.clone(),
            rate_limit: RateLimitConfig {
                rate_per_sec: f64::from(sec.rate_limit_per_sec),
                burst: sec.rate_limit_burst,
                ..RateLimitConfig::default()
            },
        },
    );

    let (tx, rx) = mpsc::channel(INBOUND_QUEUE);
    let observer: Arc<dyn TransportObserver> = core.clone();
    let mut sip = Vec::new();
    for spec in &config.sip.listen {
        let bound = match spec.transport {
            ListenTransport::Udp => {
                spawn_udp_listener(spec.addr, transports.clone(), tx.clone(), observer.clone())
                    .await?
            }
            ListenTransport::Tcp => {
                spawn_tcp_listener(
                    spec.addr,
                    config.sip.max_message_size,
                    transports.clone(),
                    tx.clone(),
                    observer.clone(),
                )
                .await?
            }
        };
        info!(transport = %spec.transport, local = %bound, "sip listening");
        sip.push((spec.transport, bound));
    }
    drop(tx);
    if sip.is_empty() {
        return Err(ControlError::Config(
            "sip.listen: no listener configured".into(),
        ));
    }

    // Sweep expired bindings now (a restart may have left some) and then periodically.
    let sweep_every = Duration::from_secs(u64::from(reg.sweep_interval_secs.max(1)));
    let sweeper = core.clone();
    let sweep_metrics = metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sweep_every);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.registrar().sweep(&sweep_metrics).await {
                warn!(error = %e, "binding sweep failed");
            }
        }
    });
    calls.start(
        &sip.iter()
            .filter(|(t, _)| *t == ListenTransport::Udp)
            .map(|(_, a)| *a)
            .collect::<Vec<_>>(),
    );
    tokio::spawn(core.run(rx));

    let media_stats = metrics.media.clone();
    let api_state = ApiState {
        metrics,
        store,
        started,
        events,
        settings: Arc::new(api::ApiSettings::from_config(&config)),
        calls: calls.clone(),
        media: media_stats,
    };
    let api = api::serve(config.api.listen, api_state).await?;
    Ok(Running {
        sip,
        api,
        media,
        calls,
    })
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(config: Config) -> Result<(), ControlError> {
    let running = start(config).await?;
    info!(api = %running.api, "warden started");
    shutdown_signal().await;
    info!("warden stopping");
    running.calls.shutdown().await;
    running.media.shutdown();
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
