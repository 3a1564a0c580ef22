//! `MediaPlane`: the control plane's handle on the media cores.
//!
//! Commands go through a `std::sync::Mutex` around each core's ring producer (locks exist
//! only on the control side), replies come back through one oneshot per request id,
//! completed by the event pump (its own thread, or the caller's: [`MediaPlane::start_with_pump`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};
use tokio::sync::{broadcast, oneshot};
use warden_shared::{
    core_rings, Command, CommandProducer, Direction, DtmfSpec, EndpointHandle, Event, LegFormat,
    PromptName, RecordMode, RemoteSpec, RequestId, StreamStats,
};

use crate::config::EngineConfig;
use crate::core::{Core, CoreSetup};
use crate::doorbell::Doorbell;
use crate::error::MediaError;
use crate::ids::{EndpointId, EndpointInfo, MediaEvent, SessionId};
use crate::load::{CoreLoad, CoreLoadSnapshot};
use crate::memlock;
use crate::playback::Prompts;
use crate::pump::{self, EventPump, Pending, Shared};
use crate::sys::EventFd;

/// Subscribers' channel depth; a subscriber that falls further behind sees `Lagged`.
const EVENT_CHANNEL: usize = 4096;
/// How long `start` waits for every core to report ready.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);

struct CoreControl {
    cpu: usize,
    commands: Mutex<CommandProducer>,
    wake: Arc<Doorbell>,
    load: Arc<CoreLoad>,
    executor: Mutex<Option<ExecutorJoinHandle<()>>>,
}

struct Inner {
    shared: Arc<Shared>,
    cores: Vec<CoreControl>,
    config: EngineConfig,
    next_req: AtomicU64,
    next_session: AtomicU64,
    stopped: AtomicBool,
    pump: Mutex<Option<JoinHandle<()>>>,
}

/// Handle on the running media plane. Cheap to clone, `Send + Sync`, usable from async code;
/// the cores stop on [`MediaPlane::shutdown`] or when the last clone is dropped.
#[derive(Clone)]
pub struct MediaPlane {
    inner: Arc<Inner>,
}

/// A reply not yet received: await it (or drop it to stop caring; nothing leaks).
pub struct PendingReply {
    rx: oneshot::Receiver<Event>,
}

impl Future for PendingReply {
    type Output = Result<Event, MediaError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.map_err(|_| MediaError::Stopped))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the control plane learns of a new endpoint: RTCP is on the port after RTP's.
fn endpoint_info(core: usize, handle: EndpointHandle, local: SocketAddr) -> EndpointInfo {
    EndpointInfo {
        id: EndpointId { core, handle },
        rtp: local,
        rtcp: SocketAddr::new(local.ip(), local.port().wrapping_add(1)),
    }
}

fn done(event: Event) -> Result<(), MediaError> {
    match event {
        Event::Done { .. } => Ok(()),
        Event::Failed { code, .. } => Err(MediaError::Refused(code)),
        _ => Err(MediaError::UnexpectedReply),
    }
}

impl MediaPlane {
    /// Checks the configuration and the locked-memory limit, starts one pinned glommio
    /// executor per configured core and the event pump's thread, and waits until every core
    /// is ready.
    pub fn start(config: EngineConfig) -> Result<MediaPlane, MediaError> {
        let (plane, pump) = Self::start_with_pump(config)?;
        let pump = std::thread::Builder::new()
            .name("warden-media-events".into())
            .spawn(move || pump::run(pump))
            .map_err(|e| MediaError::Startup {
                core: 0,
                reason: format!("event pump thread: {e}"),
            })?;
        *lock(&plane.inner.pump) = Some(pump);
        Ok(plane)
    }

    /// [`MediaPlane::start`] without the event pump's thread: the caller runs the returned
    /// [`EventPump`] (calling [`EventPump::pump`] whenever its bell is readable, until it
    /// says [`Pumped::Stopped`](crate::Pumped::Stopped)). Until it does, no request completes.
    pub fn start_with_pump(config: EngineConfig) -> Result<(MediaPlane, EventPump), MediaError> {
        config.validate()?;
        memlock::ensure(config.memlock_needed(), config.cores.len())?;
        let bell = Arc::new(EventFd::new().map_err(|e| MediaError::Startup {
            core: 0,
            reason: format!("eventfd: {e}"),
        })?);
        let (events, _) = broadcast::channel(EVENT_CHANNEL);
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            events,
            stop: AtomicBool::new(false),
            bell: bell.clone(),
            bad_events: AtomicU64::new(0),
        });
        let prompts = Arc::new(Prompts::load(config.prompts_dir.as_deref()));
        let kernel = crate::kernel::start(&config)?;
        // A quarter of the descriptors for pairs resting between calls, the rest for live
        // endpoints, SIP, the database and files.
        let open_files = crate::sys::raise_open_files();
        let resting_pairs = crate::ports::IDLE_LIMIT
            .min((open_files / 8 / config.cores.len().max(1) as u64) as usize);
        tracing::debug!(open_files, resting_pairs, "open-file limit");
        let mut cores = Vec::with_capacity(config.cores.len());
        let mut consumers = Vec::with_capacity(config.cores.len());
        let mut readiness = Vec::with_capacity(config.cores.len());
        for (index, &cpu) in config.cores.iter().enumerate() {
            let ((cmd_tx, evt_rx), (cmd_rx, evt_tx)) = core_rings(config.ring_capacity);
            let wake = Arc::new(Doorbell::new().map_err(|e| MediaError::Startup {
                core: index,
                reason: format!("eventfd: {e}"),
            })?);
            let load = Arc::new(CoreLoad::default());
            let setup = CoreSetup {
                index,
                cpu,
                bind: config.bind,
                address: config.address,
                ports: config.core_ports(index),
                resting_pairs,
                rtp_timeout: config.rtp_timeout,
                wake_interval: config.wake_interval,
                stats_interval: config.stats_interval,
                commands: cmd_rx,
                events: evt_tx,
                load: load.clone(),
                wake: wake.clone(),
                event_bell: bell.clone(),
                recording_dir: config.recording_dir.clone(),
                prompts: prompts.clone(),
                kernel: kernel.clone(),
            };
            let (ready_tx, ready_rx) = mpsc::sync_channel::<Result<(), String>>(1);
            let spawned = LocalExecutorBuilder::new(Placement::Fixed(cpu))
                .name(&format!("warden-media-{index}"))
                .io_memory(config.io_memory_bytes)
                .spawn(move || async move {
                    match Core::new(setup) {
                        Ok(core) => {
                            let _ = ready_tx.send(Ok(()));
                            core.run().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                        }
                    }
                });
            let executor = match spawned {
                Ok(handle) => handle,
                Err(e) => {
                    stop_started(&cores);
                    return Err(MediaError::Startup {
                        core: index,
                        reason: e.to_string(),
                    });
                }
            };
            readiness.push(ready_rx);
            consumers.push(evt_rx);
            cores.push(CoreControl {
                cpu,
                commands: Mutex::new(cmd_tx),
                wake,
                load,
                executor: Mutex::new(Some(executor)),
            });
        }
        for (index, ready) in readiness.into_iter().enumerate() {
            let failure = match ready.recv_timeout(STARTUP_TIMEOUT) {
                Ok(Ok(())) => None,
                Ok(Err(reason)) => Some(reason),
                Err(_) => {
                    // The executor died before running the core: its join tells why.
                    let joined = lock(&cores[index].executor).take().map(|h| h.join());
                    Some(match joined {
                        Some(Err(e)) => e.to_string(),
                        _ => "executor did not start".to_string(),
                    })
                }
            };
            if let Some(reason) = failure {
                stop_started(&cores);
                return Err(MediaError::Startup {
                    core: index,
                    reason,
                });
            }
        }
        let pump = EventPump::new(shared.clone(), consumers);
        tracing::info!(cores = ?config.cores, ports = ?config.rtp_ports, "media plane started");
        let plane = MediaPlane {
            inner: Arc::new(Inner {
                shared,
                cores,
                config,
                next_req: AtomicU64::new(1),
                next_session: AtomicU64::new(1),
                stopped: AtomicBool::new(false),
                pump: Mutex::new(None),
            }),
        };
        Ok((plane, pump))
    }

    /// The configuration the plane runs with.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Number of media cores.
    pub fn core_count(&self) -> usize {
        self.inner.cores.len()
    }

    /// Places a new session on the core with the fewest sessions.
    pub fn open_session(&self) -> SessionId {
        let core = self
            .inner
            .cores
            .iter()
            .enumerate()
            .min_by_key(|(_, c)| c.load.sessions.load(Ordering::Relaxed))
            .map_or(0, |(i, _)| i);
        if let Some(c) = self.inner.cores.get(core) {
            c.load.sessions.fetch_add(1, Ordering::Relaxed);
        }
        SessionId {
            core,
            id: self.inner.next_session.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Releases a session's place on its core (destroy its endpoints first).
    pub fn close_session(&self, session: SessionId) {
        if let Some(c) = self.inner.cores.get(session.core) {
            let _ = c
                .load
                .sessions
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        }
    }

    /// Queues a command for `core` without waiting. Fails at once with
    /// [`MediaError::RingFull`] when the core's command ring is full (nothing was queued).
    pub fn submit(
        &self,
        core: usize,
        command: impl FnOnce(RequestId) -> Command,
    ) -> Result<PendingReply, MediaError> {
        let ctl = self
            .inner
            .cores
            .get(core)
            .ok_or(MediaError::NoSuchCore(core))?;
        if self.inner.stopped.load(Ordering::Acquire) {
            return Err(MediaError::Stopped);
        }
        let req = RequestId(self.inner.next_req.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.inner
            .shared
            .pending()
            .insert(req.0, Pending { core, tx });
        let pushed = lock(&ctl.commands).push(&command(req));
        if pushed.is_err() {
            self.inner.shared.pending().remove(&req.0);
            return Err(MediaError::RingFull { core });
        }
        ctl.wake.ring();
        Ok(PendingReply { rx })
    }

    async fn request(
        &self,
        core: usize,
        command: impl FnOnce(RequestId) -> Command,
    ) -> Result<Event, MediaError> {
        self.submit(core, command)?.await
    }

    /// Sends a command about one endpoint to its core and waits for the `Done`.
    async fn on_endpoint(
        &self,
        endpoint: EndpointId,
        command: impl FnOnce(RequestId, EndpointHandle) -> Command,
    ) -> Result<(), MediaError> {
        let handle = endpoint.handle;
        done(
            self.request(endpoint.core, |req| command(req, handle))
                .await?,
        )
    }

    /// Sends a command about two endpoints, which must share a core, and waits for the
    /// `Done`.
    async fn on_pair(
        &self,
        a: EndpointId,
        b: EndpointId,
        command: impl FnOnce(RequestId, EndpointHandle, EndpointHandle) -> Command,
    ) -> Result<(), MediaError> {
        if a.core != b.core {
            return Err(MediaError::CrossCore {
                a: a.core,
                b: b.core,
            });
        }
        done(
            self.request(a.core, |req| command(req, a.handle, b.handle))
                .await?,
        )
    }

    /// Allocates an endpoint (an RTP/RTCP port pair) on the session's core.
    pub async fn create_endpoint(&self, session: SessionId) -> Result<EndpointInfo, MediaError> {
        let core = session.core;
        match self
            .request(core, |req| Command::CreateEndpoint { req })
            .await?
        {
            Event::Created {
                endpoint, local, ..
            } => Ok(endpoint_info(core, endpoint, local)),
            Event::Failed { code, .. } => Err(MediaError::Refused(code)),
            _ => Err(MediaError::UnexpectedReply),
        }
    }

    /// Allocates two endpoints on the session's core and bridges them, in one round trip
    /// (a call's two legs). On failure neither endpoint is left behind.
    pub async fn create_pair(
        &self,
        session: SessionId,
    ) -> Result<(EndpointInfo, EndpointInfo), MediaError> {
        let core = session.core;
        match self
            .request(core, |req| Command::CreatePair { req })
            .await?
        {
            Event::PairCreated {
                a,
                b,
                a_local,
                b_local,
                ..
            } => Ok((
                endpoint_info(core, a, a_local),
                endpoint_info(core, b, b_local),
            )),
            Event::Failed { code, .. } => Err(MediaError::Refused(code)),
            _ => Err(MediaError::UnexpectedReply),
        }
    }

    /// Sets or renegotiates where the endpoint sends media and how.
    pub async fn set_remote(
        &self,
        endpoint: EndpointId,
        remote: RemoteSpec,
    ) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::SetRemote {
            req,
            endpoint,
            remote,
        })
        .await
    }

    /// Relays media between two endpoints of the same core.
    pub async fn bridge(&self, a: EndpointId, b: EndpointId) -> Result<(), MediaError> {
        self.on_pair(a, b, |req, a, b| Command::Bridge { req, a, b })
            .await
    }

    /// Bridges two endpoints of the same core in transcoding mode: what `a`'s party sends
    /// in `a_format` reaches `b`'s party in `b_format`, and the other way round.
    pub async fn transcode(
        &self,
        a: EndpointId,
        b: EndpointId,
        a_format: LegFormat,
        b_format: LegFormat,
    ) -> Result<(), MediaError> {
        self.on_pair(a, b, |req, a, b| Command::Transcode {
            req,
            a,
            b,
            a_format,
            b_format,
        })
        .await
    }

    /// Undoes the bridge the endpoint is part of.
    pub async fn unbridge(&self, endpoint: EndpointId) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::Unbridge {
            req,
            endpoint,
        })
        .await
    }

    /// Changes the endpoint's media direction.
    pub async fn set_direction(
        &self,
        endpoint: EndpointId,
        direction: Direction,
    ) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::SetDirection {
            req,
            endpoint,
            direction,
        })
        .await
    }

    /// Detects DTMF in what the endpoint receives (reported as [`MediaEvent::Dtmf`]); the
    /// default spec turns detection off. The packets are relayed unchanged either way.
    pub async fn set_dtmf(&self, endpoint: EndpointId, spec: DtmfSpec) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::SetDtmf {
            req,
            endpoint,
            spec,
        })
        .await
    }

    /// Closes the endpoint and frees its ports.
    pub async fn destroy(&self, endpoint: EndpointId) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::Destroy { req, endpoint })
            .await
    }

    /// The endpoint's current statistics.
    pub async fn stats(&self, endpoint: EndpointId) -> Result<StreamStats, MediaError> {
        self.endpoint_stats(endpoint, |req, endpoint| Command::QueryStats {
            req,
            endpoint,
        })
        .await
    }

    /// Frees the endpoint and returns its final statistics (one round trip for what
    /// [`MediaPlane::stats`] then [`MediaPlane::destroy`] would do). The endpoint is gone at
    /// once; the statistics may take up to the core's housekeeping interval (100 ms at
    /// most) to come back, as the reply does not wake the control plane by itself.
    pub async fn release(&self, endpoint: EndpointId) -> Result<StreamStats, MediaError> {
        self.endpoint_stats(endpoint, |req, endpoint| Command::Release { req, endpoint })
            .await
    }

    /// Sends a command about one endpoint that is answered with its statistics.
    async fn endpoint_stats(
        &self,
        endpoint: EndpointId,
        command: impl FnOnce(RequestId, EndpointHandle) -> Command,
    ) -> Result<StreamStats, MediaError> {
        let handle = endpoint.handle;
        match self
            .request(endpoint.core, |req| command(req, handle))
            .await?
        {
            Event::Stats { stats, .. } => Ok(stats),
            Event::Failed { code, .. } => Err(MediaError::Refused(code)),
            _ => Err(MediaError::UnexpectedReply),
        }
    }

    /// Records two endpoints of one core (`a` left, `b` right, or mixed) into the file
    /// named by `id` in the recording directory; `MediaEvent::RecordingDone` follows the end.
    pub async fn start_recording(
        &self,
        a: EndpointId,
        b: EndpointId,
        id: u64,
        mode: RecordMode,
    ) -> Result<(), MediaError> {
        self.on_pair(a, b, |req, a, b| Command::StartRecording {
            req,
            a,
            b,
            id,
            mode,
        })
        .await
    }

    /// Stops the recording the endpoint takes part in.
    pub async fn stop_recording(&self, endpoint: EndpointId) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::StopRecording {
            req,
            endpoint,
        })
        .await
    }

    /// Plays a loaded prompt to the endpoint's remote; `MediaEvent::PlaybackDone` follows.
    pub async fn play_prompt(
        &self,
        endpoint: EndpointId,
        prompt: PromptName,
    ) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::PlayPrompt {
            req,
            endpoint,
            prompt,
        })
        .await
    }

    /// Plays a steady tone (Hz; second frequency 0 for one) for `duration_ms`.
    pub async fn play_tone(
        &self,
        endpoint: EndpointId,
        freqs: [u16; 2],
        duration_ms: u32,
    ) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::PlayTone {
            req,
            endpoint,
            freqs,
            duration_ms,
        })
        .await
    }

    /// The payload type of the voice codec the endpoint's remote agreed to (0 PCMU, 8 PCMA):
    /// prompts and tones go out in it until the remote has sent audio itself.
    pub async fn set_voice_pt(
        &self,
        endpoint: EndpointId,
        payload_type: u8,
    ) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::SetVoicePt {
            req,
            endpoint,
            payload_type,
        })
        .await
    }

    /// Stops the endpoint's playback now (the barge-in hook).
    pub async fn stop_playback(&self, endpoint: EndpointId) -> Result<(), MediaError> {
        self.on_endpoint(endpoint, |req, endpoint| Command::StopPlayback {
            req,
            endpoint,
        })
        .await
    }

    /// Subscribes to unsolicited events (first packet, RTP timeout, SSRC change, periodic
    /// statistics). Only events raised after subscribing are delivered.
    pub fn subscribe(&self) -> broadcast::Receiver<MediaEvent> {
        self.inner.shared.events.subscribe()
    }

    /// Load counters of every core, in core order (lock-free reads).
    pub fn load(&self) -> Vec<CoreLoadSnapshot> {
        self.inner.cores.iter().map(|c| c.load.snapshot()).collect()
    }

    /// The CPU each core is pinned to, in core order.
    pub fn cpus(&self) -> Vec<usize> {
        self.inner.cores.iter().map(|c| c.cpu).collect()
    }

    /// Event frames from the cores that failed to decode (should stay 0).
    pub fn bad_events(&self) -> u64 {
        self.inner.shared.bad_events.load(Ordering::Relaxed)
    }

    /// Stops every core (closing all endpoints) and the event pump, and waits for them.
    /// Pending requests fail with [`MediaError::Stopped`]. Idempotent; blocks briefly.
    pub fn shutdown(&self) {
        self.inner.shutdown();
    }
}

/// Drops the command producers of already started cores so they exit, and joins them.
fn stop_started(cores: &[CoreControl]) {
    for c in cores {
        let _ = lock(&c.commands).push(&Command::Shutdown {
            req: RequestId::UNSOLICITED,
        });
        c.wake.ring();
    }
    for c in cores {
        if let Some(h) = lock(&c.executor).take() {
            let _ = h.join();
        }
    }
}

impl Inner {
    fn shutdown(&self) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        for (index, c) in self.cores.iter().enumerate() {
            // Retry briefly if the ring is full: the core drains it quickly.
            let mut tries = 0;
            while lock(&c.commands)
                .push(&Command::Shutdown {
                    req: RequestId::UNSOLICITED,
                })
                .is_err()
                && tries < 1000
            {
                c.wake.ring();
                std::thread::sleep(Duration::from_millis(1));
                tries += 1;
            }
            c.wake.ring();
            tracing::debug!(core = index, "media core asked to stop");
        }
        for c in &self.cores {
            if let Some(h) = lock(&c.executor).take() {
                if let Err(error) = h.join() {
                    tracing::warn!(%error, "media core ended with an error");
                }
            }
        }
        self.shared.stop.store(true, Ordering::Release);
        self.shared.bell.signal();
        if let Some(pump) = lock(&self.pump).take() {
            let _ = pump.join();
        }
        tracing::info!("media plane stopped");
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_is_send_and_sync() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<MediaPlane>();
        fn check_future<T: Send + 'static>() {}
        check_future::<PendingReply>();
    }

    #[test]
    fn bad_configuration_is_refused_before_anything_starts() {
        let mut cfg = EngineConfig::new("127.0.0.1".parse().unwrap());
        cfg.cores = vec![];
        assert!(matches!(
            MediaPlane::start(cfg),
            Err(MediaError::Config { field: "cores", .. })
        ));
    }
}
