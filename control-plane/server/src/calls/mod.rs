//! Calls: the tokio side of the B2BUA.
//!
//! [`Calls`] owns the sans-IO [`B2bua`] behind a short-lived lock (never held across an
//! await). The SIP core hands it every call message in arrival order; after each input the
//! lock is released and the outputs are carried out: transmits go to one sender task (so a
//! call's messages leave in order), actions become tasks (authentication and lookups in the
//! database), per-call media workers (the media plane's commands for one call run in order,
//! and the last one stores the call record), events and metrics. One timer task drives
//! `handle_timeout`, and one task turns media-plane events (RTP timeout, statistics) into
//! inputs.

mod cache;
mod dtmf;
mod flows;
mod live;
mod lookup;
mod media_ops;
mod metrics;
mod records;
mod spares;
mod voicemail;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use tokio::sync::{mpsc, Notify};
use tracing::{debug, info};
use warden_b2bua::{Action, B2bua, CallEvent as B2bEvent, CallId, Leg, Transmit, TxId};
use warden_media::{EndpointId, MediaEvent, MediaPlane, StreamStats};
use warden_sip_proto::Message;
use warden_storage::Store;

pub(crate) use flows::is_call_message;
pub(crate) use media_ops::{recording_settings, RecordingSettings};
pub(crate) use metrics::CallMetrics;

use crate::events::{CallEvent, EventBus};
use crate::metrics::Metrics;
use crate::registrar::Authenticator;
use crate::transport::{Flow, Transports};
use worker::Job;

/// Least time from one run of the B2BUA's due timers to the next. SIP's timers are hundreds
/// of milliseconds or more (T1 is 500 ms; the deferred 100 Trying waits 200 ms), so under
/// load the timers falling due within this time run together, a wake-up for all of them
/// rather than one each.
const TIMER_GRANULARITY: Duration = Duration::from_millis(50);

/// The B2BUA's settings from the configuration.
pub(crate) fn b2bua_config(config: &warden_config::Config) -> warden_b2bua::Config {
    let c = &config.calls;
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    warden_b2bua::Config {
        domain: config.sip.domain.clone(),
        user_agent: config.sip.user_agent.clone(),
        advertise_ip: Some(config.media.address),
        ring_timeout: secs(c.ring_timeout_secs),
        max_duration: secs(c.max_duration_secs),
        session_expires: secs(c.session_expires_secs),
        min_se: secs(c.min_se_secs),
        transcoding: c.transcoding,
        ..warden_b2bua::Config::default()
    }
}

/// The media of one call, as the glue tracks it.
struct CallMedia {
    worker: mpsc::UnboundedSender<Job>,
    core: Option<usize>,
    endpoints: Option<(EndpointId, EndpointId)>,
    /// Recording and playback on the call.
    ops: media_ops::CallMediaOps,
}

/// What one input produced.
#[derive(Default)]
struct Produced {
    transmits: Vec<Transmit>,
    actions: Vec<Action>,
    next: Option<Instant>,
}

/// The parties of a started call, for events.
#[derive(Clone)]
struct Parties {
    caller: String,
    callee: String,
    /// SIP Call-ID of the caller's leg.
    call_id: String,
}

/// The call service.
pub(crate) struct Calls {
    me: Weak<Calls>,
    b2bua: Mutex<B2bua>,
    wake: Notify,
    /// The deadline the timer task sleeps until (nanoseconds after `epoch`; `u64::MAX`:
    /// none), so an input wakes it only when the next deadline moved earlier.
    armed: AtomicU64,
    sends: mpsc::UnboundedSender<Transmit>,
    /// Transmits waiting in the sender task: while any wait, new ones queue behind them.
    queued: AtomicUsize,
    sends_rx: Mutex<Option<mpsc::UnboundedReceiver<Transmit>>>,
    transports: Transports,
    store: Store,
    media: MediaPlane,
    auth: Authenticator,
    metrics: Arc<Metrics>,
    events: EventBus,
    flows: flows::FlowTable,
    directory: cache::Directory,
    spares: spares::Spares,
    calls: Mutex<HashMap<CallId, CallMedia>>,
    endpoints: Mutex<HashMap<EndpointId, (CallId, Leg)>>,
    stats: Mutex<HashMap<EndpointId, StreamStats>>,
    parties: Mutex<HashMap<CallId, Parties>>,
    /// A fixed point to turn the B2BUA's instants into wall-clock times.
    epoch: (Instant, DateTime<Utc>),
    /// Call records being written.
    writing: AtomicUsize,
    records: records::RecordQueue,
    written: Notify,
    recording: RecordingSettings,
}

/// What the service is built from.
pub(crate) struct CallsSetup {
    pub(crate) config: warden_b2bua::Config,
    pub(crate) transports: Transports,
    pub(crate) store: Store,
    pub(crate) media: MediaPlane,
    pub(crate) auth: Authenticator,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) events: EventBus,
    pub(crate) recording: RecordingSettings,
}

impl Calls {
    /// Builds the service (call [`Calls::start`] once a tokio runtime runs).
    pub(crate) fn new(setup: CallsSetup) -> Arc<Self> {
        let (sends, rx) = mpsc::unbounded_channel();
        Arc::new_cyclic(|me| Calls {
            me: me.clone(),
            b2bua: Mutex::new(B2bua::new(setup.config, rand::random())),
            wake: Notify::new(),
            armed: AtomicU64::new(u64::MAX),
            sends,
            queued: AtomicUsize::new(0),
            sends_rx: Mutex::new(Some(rx)),
            transports: setup.transports,
            store: setup.store,
            media: setup.media,
            auth: setup.auth,
            metrics: setup.metrics,
            events: setup.events,
            flows: flows::FlowTable::default(),
            directory: cache::Directory::default(),
            spares: spares::Spares::default(),
            calls: Mutex::new(HashMap::new()),
            endpoints: Mutex::new(HashMap::new()),
            stats: Mutex::new(HashMap::new()),
            parties: Mutex::new(HashMap::new()),
            epoch: (Instant::now(), Utc::now()),
            writing: AtomicUsize::new(0),
            records: records::RecordQueue::default(),
            written: Notify::new(),
            recording: setup.recording,
        })
    }

    /// Starts the sender, timer, media-event and metrics tasks.
    /// `udp` lists our UDP listeners (to reach phones not heard from since start).
    pub(crate) fn start(self: &Arc<Self>, udp: &[SocketAddr]) {
        self.flows.set_udp_listeners(udp.to_vec());
        if let Some(rx) = self.sends_rx.lock().ok().and_then(|mut r| r.take()) {
            tokio::spawn(self.clone().sender(rx));
        }
        tokio::spawn(self.clone().timers());
        self.start_record_writer();
        tokio::spawn(self.clone().media_events());
        tokio::spawn(self.clone().registrations());
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                metrics.calls.tick();
            }
        });
    }

    /// Notes the flow a message arrived on (phones are reached where they talk from).
    pub(crate) fn note_flow(&self, flow: Flow) {
        self.flows.note(flow);
    }

    /// Handles a call message (request or response) that arrived on `flow`.
    pub(crate) fn handle(&self, flow: Flow, msg: &Message<'_>) {
        let flow = flows::to_b2b(flow);
        self.input(|b, now| {
            if msg.is_request() {
                b.handle_request(now, msg, flow);
            } else {
                b.handle_response(now, msg);
            }
        });
    }

    /// Runs one input on the B2BUA, then carries out what it produced.
    fn input(&self, f: impl FnOnce(&mut B2bua, Instant)) {
        if let Some(out) = self.run(f) {
            self.carry_out(out);
        }
    }

    /// Runs `f` under the lock and takes what the B2BUA produced.
    fn run(&self, f: impl FnOnce(&mut B2bua, Instant)) -> Option<Produced> {
        let mut b = self.b2bua.lock().ok()?;
        f(&mut b, Instant::now());
        let mut out = Produced::default();
        while let Some(t) = b.poll_transmit() {
            out.transmits.push(t);
        }
        while let Some(a) = b.poll_action() {
            out.actions.push(a);
        }
        out.next = b.poll_timeout();
        Some(out)
    }

    /// Wakes the timer task if needed, sends, acts, and reports failed sends back.
    fn carry_out(&self, mut out: Produced) {
        loop {
            if out
                .next
                .is_some_and(|at| self.nanos(at) < self.armed.load(Ordering::Acquire))
            {
                self.wake.notify_one();
            }
            // When the input changed a call's media, its messages wait for the media core
            // to apply the change: a party told of the new media (a relayed 200 OK, say)
            // must not send RTP into a relay that does not yet know where it goes.
            let media_first = out.actions.iter().find_map(|a| match a {
                Action::Media { call, .. } => Some(*call),
                _ => None,
            });
            let mut transmits = std::mem::take(&mut out.transmits);
            for a in out.actions {
                self.act(a);
            }
            if let Some(call) = media_first {
                match self.send_after_media(call, transmits) {
                    Ok(()) => transmits = Vec::new(),
                    Err(back) => transmits = back,
                }
            }
            let failed: Vec<TxId> = transmits
                .into_iter()
                .filter_map(|t| self.transmit(t))
                .collect();
            if failed.is_empty() {
                return;
            }
            let report = |b: &mut B2bua, now: Instant| {
                for tx in &failed {
                    b.on_transport_error(now, *tx);
                }
            };
            match self.run(report) {
                Some(next) => out = next,
                None => return,
            }
        }
    }

    /// Sends at once when the socket or connection takes it without waiting (and nothing
    /// is queued before it); otherwise hands it to the sender task. Returns the
    /// transaction of a send that failed.
    fn transmit(&self, t: Transmit) -> Option<TxId> {
        if self.queued.load(Ordering::Acquire) == 0 {
            let flow = flows::from_b2b(t.dest.flow);
            match self
                .transports
                .send(&flow, t.dest.to, t.bytes.clone())
                .now_or_never()
            {
                Some(Ok(())) => {
                    self.count_out(&t.bytes);
                    return None;
                }
                Some(Err(e)) => {
                    debug!(error = %e, to = %t.dest.to, "call message not sent");
                    return t.tx;
                }
                None => {}
            }
        }
        self.queued.fetch_add(1, Ordering::AcqRel);
        if self.sends.send(t).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        None
    }

    fn count_out(&self, bytes: &[u8]) {
        if let Some((method, status)) = flows::describe(bytes) {
            match status {
                Some(s) => self.metrics.response("out", method, s),
                None => self.metrics.request("out", method),
            }
        }
    }

    /// Nanoseconds from `epoch` to `at` (0 before it).
    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch.0).as_nanos()).unwrap_or(u64::MAX - 1)
    }

    fn act(&self, action: Action) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        match action {
            Action::Authenticate { call, request } => {
                tokio::spawn(me.authenticate(call, request));
            }
            Action::Locate { call, number } => {
                tokio::spawn(me.locate(call, number));
            }
            Action::OpenMedia { call } => {
                let (tx, rx) = mpsc::unbounded_channel();
                let _ = tx.send(Job::Open);
                if let Ok(mut calls) = self.calls.lock() {
                    calls.insert(
                        call,
                        CallMedia {
                            worker: tx,
                            core: None,
                            endpoints: None,
                            ops: media_ops::CallMediaOps::default(),
                        },
                    );
                }
                tokio::spawn(me.worker(call, rx));
            }
            Action::Media {
                call,
                leg,
                remote,
                direction,
            } => self.job(
                call,
                Job::Update {
                    leg,
                    remote,
                    direction,
                },
            ),
            Action::Event(event) => self.event(event),
            Action::Transcode { call, a, b } => self.job(call, Job::Transcode { a, b }),
            Action::Voicemail {
                call,
                mailbox,
                caller,
                codec,
            } => self.job(
                call,
                Job::Voicemail {
                    mailbox,
                    caller,
                    codec,
                },
            ),
            Action::Finished { call, record } => {
                self.writing.fetch_add(1, Ordering::AcqRel);
                match self.worker_of(call) {
                    Some(w) => {
                        if let Err(mpsc::error::SendError(Job::Finish(record))) =
                            w.send(Job::Finish(record))
                        {
                            tokio::spawn(
                                async move { me.store_record(record, None, None, None).await },
                            );
                        }
                    }
                    None => {
                        tokio::spawn(
                            async move { me.store_record(record, None, None, None).await },
                        );
                    }
                }
            }
        }
    }

    /// Hands `transmits` to the call's media worker, which sends them once the media
    /// changes queued before them are applied; gives them back when the call has no worker.
    fn send_after_media(
        &self,
        call: CallId,
        transmits: Vec<Transmit>,
    ) -> Result<(), Vec<Transmit>> {
        if transmits.is_empty() {
            return Ok(());
        }
        match self.worker_of(call) {
            Some(w) => w.send(Job::Send(transmits)).map_err(|e| match e.0 {
                Job::Send(t) => t,
                _ => Vec::new(),
            }),
            None => Err(transmits),
        }
    }

    /// Sends messages held back by [`Calls::send_after_media`].
    fn send_now(&self, transmits: Vec<Transmit>) {
        self.carry_out(Produced {
            transmits,
            ..Produced::default()
        });
    }

    /// The queue of a call's media worker, while it runs.
    fn worker_of(&self, call: CallId) -> Option<mpsc::UnboundedSender<Job>> {
        self.calls
            .lock()
            .ok()
            .and_then(|c| c.get(&call).map(|m| m.worker.clone()))
    }

    /// Queues a media job for a call's worker.
    fn job(&self, call: CallId, job: Job) {
        if let Some(w) = self.worker_of(call) {
            let _ = w.send(job);
        }
    }

    fn event(&self, event: B2bEvent) {
        let parties = |call: CallId| self.parties.lock().ok().and_then(|p| p.get(&call).cloned());
        let published = match event {
            B2bEvent::Started {
                call,
                caller,
                callee,
                call_id,
            } => {
                self.metrics.calls.call_started();
                info!(%call, %caller, %callee, %call_id, "call started");
                if let Ok(mut p) = self.parties.lock() {
                    p.insert(
                        call,
                        Parties {
                            caller: caller.clone(),
                            callee: callee.clone(),
                            call_id: call_id.clone(),
                        },
                    );
                }
                CallEvent::CallStarted {
                    call: call.to_string(),
                    caller,
                    callee,
                    call_id,
                }
            }
            B2bEvent::Ringing { call } => {
                let Some(p) = parties(call) else { return };
                CallEvent::CallRinging {
                    call: call.to_string(),
                    caller: p.caller,
                    callee: p.callee,
                }
            }
            B2bEvent::Answered { call, codec } => {
                self.metrics.calls.call_answered();
                info!(%call, codec = codec.as_deref().unwrap_or("-"), "call answered");
                self.on_answered(call);
                let Some(p) = parties(call) else { return };
                CallEvent::CallAnswered {
                    call: call.to_string(),
                    caller: p.caller,
                    callee: p.callee,
                    codec,
                }
            }
            B2bEvent::Ended {
                call,
                disposition,
                cause,
                side,
            } => {
                let p = self.parties.lock().ok().and_then(|mut p| p.remove(&call));
                self.metrics
                    .calls
                    .call_ended(disposition.as_str(), p.is_some());
                info!(%call, disposition = disposition.as_str(), %cause, "call ended");
                let Some(p) = p else { return };
                CallEvent::CallEnded {
                    call: call.to_string(),
                    caller: p.caller,
                    callee: p.callee,
                    disposition: disposition.as_str(),
                    cause,
                    side: side.map(|s| s.as_str()),
                }
            }
            B2bEvent::Info {
                call,
                leg,
                content_type,
                body,
            } => {
                if self.info_dtmf(call, leg, &content_type, &body) {
                    self.barge_in(call, leg);
                }
                return;
            }
        };
        self.events.publish_call(published);
    }

    /// Sends the B2BUA's messages in order.
    async fn sender(self: Arc<Self>, mut rx: mpsc::UnboundedReceiver<Transmit>) {
        while let Some(t) = rx.recv().await {
            self.count_out(&t.bytes);
            let flow = flows::from_b2b(t.dest.flow);
            let sent = self.transports.send(&flow, t.dest.to, t.bytes).await;
            self.queued.fetch_sub(1, Ordering::AcqRel);
            if let Err(e) = sent {
                debug!(error = %e, to = %t.dest.to, "call message not sent");
                if let Some(tx) = t.tx {
                    self.input(|b, now| b.on_transport_error(now, tx));
                }
            }
        }
    }

    /// Drives the B2BUA's timers.
    async fn timers(self: Arc<Self>) {
        let mut last_run: Option<Instant> = None;
        loop {
            // Inputs racing this read see "nothing armed" and wake us again.
            self.armed.store(u64::MAX, Ordering::Release);
            let next = self.b2bua.lock().ok().and_then(|b| b.poll_timeout());
            if let Some(at) = next {
                self.armed.store(self.nanos(at), Ordering::Release);
            }
            match next {
                Some(at) => {
                    let at = last_run.map_or(at, |last| at.max(last + TIMER_GRANULARITY));
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {
                            last_run = Some(Instant::now());
                            self.input(|b, now| b.handle_timeout(now));
                        }
                        _ = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    /// Turns media-plane events into inputs: RTP timeouts end calls, statistics are kept
    /// for the live listing.
    async fn media_events(self: Arc<Self>) {
        let mut rx = self.media.subscribe();
        loop {
            match rx.recv().await {
                Ok(MediaEvent::RtpTimeout { endpoint, idle }) => {
                    let owner = self
                        .endpoints
                        .lock()
                        .ok()
                        .and_then(|e| e.get(&endpoint).copied());
                    if let Some((call, leg)) = owner {
                        debug!(%call, leg = leg.as_str(), idle_ms = idle.as_millis() as u64, "rtp timeout");
                        self.input(|b, now| {
                            let _ = b.on_rtp_timeout(now, call, leg);
                        });
                    }
                }
                Ok(MediaEvent::Stats { endpoint, stats }) => {
                    let known = self
                        .endpoints
                        .lock()
                        .is_ok_and(|e| e.contains_key(&endpoint));
                    if known {
                        if let Ok(mut s) = self.stats.lock() {
                            s.insert(endpoint, stats);
                        }
                    }
                }
                Ok(MediaEvent::Dtmf { endpoint, digit }) => {
                    let owner = self
                        .endpoints
                        .lock()
                        .ok()
                        .and_then(|e| e.get(&endpoint).copied());
                    if let Some((call, leg)) = owner {
                        self.barge_in(call, leg);
                    }
                    self.media_dtmf(endpoint, digit);
                }
                Ok(MediaEvent::PlaybackDone {
                    endpoint,
                    interrupted,
                    frames,
                }) => self.on_playback_done(endpoint, interrupted, frames),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    /// Ends every call in progress and waits (briefly) until their records are stored.
    pub(crate) async fn shutdown(&self) {
        self.input(|b, now| b.shutdown(now));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while self.writing.load(Ordering::Acquire) > 0 {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                tracing::warn!(
                    pending = self.writing.load(Ordering::Acquire),
                    "call records still being written at shutdown"
                );
                break;
            }
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(50)), self.written.notified())
                    .await;
        }
        // Let the sender put the BYEs on the wire.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// The wall-clock time of a B2BUA instant.
    fn utc(&self, at: Instant) -> DateTime<Utc> {
        let (i0, u0) = self.epoch;
        match at.checked_duration_since(i0) {
            Some(d) => u0 + d,
            None => u0 - i0.duration_since(at),
        }
    }
}
