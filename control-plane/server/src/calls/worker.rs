//! One media worker per call: opens the media session (two endpoints, bridged), applies the
//! B2BUA's media commands in order (switching the bridge to transcoding when the legs share
//! no codec), and at the end reads the endpoints' statistics, frees
//! them and stores the call record.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::future::join_all;

use tokio::sync::mpsc;
use tracing::{debug, error, warn};
use warden_b2bua::{
    CallId, CallRecord, Disposition as B2bDisposition, HangupSide as B2bSide, Leg, LegCodec,
    MediaAddrs, MediaDirection, RemoteMedia, VoiceCodec,
};
use warden_media::{
    Direction, EndpointInfo, LegFormat, MediaError, PtMap, RemoteSpec, SessionId, StreamStats,
    WireCodec,
};
use warden_storage::{Disposition, HangupSide, NewCallRecord, RtpQuality};

use super::Calls;

/// Work for a call's media worker.
pub(super) enum Job {
    /// Open the session and its two endpoints.
    Open,
    /// Point the endpoint of `leg` at the party and set its direction.
    Update {
        leg: Leg,
        remote: Option<RemoteMedia>,
        direction: MediaDirection,
    },
    /// The legs share no codec: bridge the endpoints in transcoding mode.
    Transcode { a: LegCodec, b: LegCodec },
    /// The B2BUA answered the caller for a voicemail box: greet, beep, record.
    Voicemail {
        mailbox: String,
        caller: String,
        /// What the caller was answered with: the greeting goes out in it.
        codec: VoiceCodec,
    },
    /// The call is over: release the media and store the record.
    Finish(CallRecord),
    /// Messages that wait for the media changes queued before them.
    Send(Vec<warden_b2bua::Transmit>),
}

/// What the media plane needs to know about a leg's codec.
fn leg_format(c: &LegCodec) -> LegFormat {
    LegFormat {
        codec: match c.codec {
            VoiceCodec::Pcmu => WireCodec::Pcmu,
            VoiceCodec::Pcma => WireCodec::Pcma,
            VoiceCodec::G722 => WireCodec::G722,
            VoiceCodec::Opus => WireCodec::Opus,
            VoiceCodec::L16 => WireCodec::L16,
        },
        payload_type: c.payload_type & 0x7f,
        clock_rate: c.clock_rate,
        ptime_ms: c.ptime_ms,
        telephone_event: c.telephone_event.map(|pt| pt & 0x7f),
    }
}

/// An open media session and the direction in force on each endpoint.
struct Open {
    session: SessionId,
    a: EndpointInfo,
    b: EndpointInfo,
    a_dir: Direction,
    b_dir: Direction,
    /// DTMF detection per leg.
    dtmf: super::dtmf::DtmfLegs,
}

fn direction(d: MediaDirection) -> Direction {
    match d {
        MediaDirection::SendRecv => Direction::SendRecv,
        MediaDirection::SendOnly => Direction::SendOnly,
        MediaDirection::RecvOnly => Direction::RecvOnly,
        MediaDirection::Inactive => Direction::Inactive,
    }
}

/// The quality summary of what an endpoint received; `None` when nothing arrived.
pub(super) fn quality(s: &StreamStats) -> Option<RtpQuality> {
    if s.packets_received == 0 {
        return None;
    }
    let lost = s.packets_lost.max(0) as f64;
    let received = s.packets_received as f64;
    Some(RtpQuality {
        loss_pct: 100.0 * lost / (received + lost),
        jitter_ms: f64::from(s.jitter_us) / 1000.0,
        mos: f64::from(s.mos_x100) / 100.0,
    })
}

impl Calls {
    /// Runs a call's media jobs until its record is stored. Consecutive updates are sent
    /// together (the core takes them in one wake-up) and a direction already in force is
    /// not sent again.
    pub(super) async fn worker(
        self: Arc<Self>,
        call: CallId,
        mut jobs: mpsc::UnboundedReceiver<Job>,
    ) {
        let mut open: Option<Open> = None;
        let mut backlog: VecDeque<Job> = VecDeque::new();
        loop {
            let job = match backlog.pop_front() {
                Some(j) => j,
                None => match jobs.recv().await {
                    Some(j) => j,
                    None => break,
                },
            };
            match job {
                Job::Open => {
                    open = self.open(call).await;
                    let addrs = open.as_ref().map(|o| MediaAddrs {
                        a: o.a.rtp,
                        b: o.b.rtp,
                    });
                    self.input(|b, now| {
                        let _ = b.on_media_opened(now, call, addrs);
                    });
                }
                Job::Update {
                    leg,
                    remote,
                    direction,
                } => {
                    let mut batch = vec![(leg, remote, direction)];
                    while let Ok(next) = jobs.try_recv() {
                        match next {
                            Job::Update {
                                leg,
                                remote,
                                direction,
                            } => batch.push((leg, remote, direction)),
                            other => {
                                backlog.push_back(other);
                                break;
                            }
                        }
                    }
                    if let Some(o) = open.as_mut() {
                        self.update(call, o, batch).await;
                    }
                }
                Job::Transcode { a, b } => {
                    if let Some(o) = open.as_ref() {
                        let (fa, fb) = (leg_format(&a), leg_format(&b));
                        match self.media.transcode(o.a.id, o.b.id, fa, fb).await {
                            Ok(()) => {
                                debug!(%call, a = a.codec.name(), b = b.codec.name(), "media transcoding")
                            }
                            Err(e) => error!(error = %e, %call, "media transcoding not set up"),
                        }
                    }
                }
                Job::Voicemail {
                    mailbox,
                    caller,
                    codec,
                } => {
                    if let Some(o) = open.as_mut() {
                        // Static payload types: the answer kept the caller's 0 or 8.
                        let pt = if codec == VoiceCodec::Pcma { 8 } else { 0 };
                        if let Err(e) = self.media.set_voice_pt(o.a.id, pt).await {
                            warn!(error = %e, %call, "voicemail codec not set");
                        }
                        // Detect the caller's RFC 4733 events as if the other side had
                        // them too (the answer to the caller offered them).
                        o.dtmf.mirror(Leg::A, Leg::B);
                        for (leg, spec) in o.dtmf.changes() {
                            let ep = if leg == Leg::A { o.a.id } else { o.b.id };
                            if let Err(e) = self.media.set_dtmf(ep, spec).await {
                                warn!(error = %e, %call, "voicemail key detection not set");
                            }
                        }
                        let eps = (o.a.id, o.b.id);
                        tokio::spawn(self.clone().run_voicemail(call, mailbox, caller, eps));
                    }
                }
                Job::Send(transmits) => self.send_now(transmits),
                Job::Finish(record) => {
                    let voicemail = self.take_voicemail(call);
                    let recording = self.recording_of(call);
                    let (qa, qb) = match open.take() {
                        Some(o) => self.close(call, o).await,
                        None => (None, None),
                    };
                    let recording = match recording {
                        Some((rec, events)) => self.recording_result(rec, events).await,
                        None => None,
                    };
                    if let Some(vm) = voicemail {
                        self.store_voicemail(call, vm, recording.as_ref()).await;
                    }
                    self.store_record(record, qa, qb, recording).await;
                    break;
                }
            }
        }
        if let Some(o) = open.take() {
            let _ = self.close(call, o).await;
        }
        if let Ok(mut calls) = self.calls.lock() {
            calls.remove(&call);
        }
        // Messages queued behind the end of the call still go out (new ones no longer
        // find this worker and are sent at once).
        jobs.close();
        while let Ok(job) = jobs.try_recv() {
            if let Job::Send(transmits) = job {
                self.send_now(transmits);
            }
        }
    }

    /// Applies a batch of updates, submitted in order and awaited together.
    async fn update(
        &self,
        call: CallId,
        o: &mut Open,
        batch: Vec<(Leg, Option<RemoteMedia>, MediaDirection)>,
    ) {
        type Pending<'a> = Pin<Box<dyn Future<Output = Result<(), MediaError>> + Send + 'a>>;
        let mut futures: Vec<Pending<'_>> = Vec::new();
        for (leg, remote, d) in batch {
            let (ep, current) = match leg {
                Leg::A => (o.a.id, &mut o.a_dir),
                Leg::B => (o.b.id, &mut o.b_dir),
            };
            if let Some(r) = remote {
                o.dtmf.note(leg, r.dtmf);
                let spec = RemoteSpec {
                    rtp: r.rtp,
                    rtcp_port: r.rtcp_port,
                    pt_map: PtMap::new(),
                    ptime_ms: r.ptime_ms,
                    rtcp_mux: false,
                    clock_rate: r.clock_rate,
                };
                futures.push(Box::pin(self.media.set_remote(ep, spec)));
            }
            let d = direction(d);
            if d != *current {
                *current = d;
                futures.push(Box::pin(self.media.set_direction(ep, d)));
            }
        }
        for (leg, spec) in o.dtmf.changes() {
            let ep = match leg {
                Leg::A => o.a.id,
                Leg::B => o.b.id,
            };
            futures.push(Box::pin(self.media.set_dtmf(ep, spec)));
        }
        for result in join_all(futures).await {
            if let Err(e) = result {
                warn!(error = %e, %call, "media update not applied");
            }
        }
    }

    /// Opens the session: two endpoints on one core, bridged (made ahead when it can be).
    async fn open(&self, call: CallId) -> Option<Open> {
        let session = self.media.open_session();
        let (a, b) = match self.spares.take(&self.media, session).await {
            Ok(pair) => pair,
            Err(e) => {
                error!(error = %e, %call, "media endpoints not created");
                self.media.close_session(session);
                return None;
            }
        };
        if let Ok(mut eps) = self.endpoints.lock() {
            eps.insert(a.id, (call, Leg::A));
            eps.insert(b.id, (call, Leg::B));
        }
        if let Ok(mut calls) = self.calls.lock() {
            if let Some(m) = calls.get_mut(&call) {
                m.core = Some(session.core());
                m.endpoints = Some((a.id, b.id));
            }
        }
        debug!(%call, a = %a.rtp, b = %b.rtp, core = session.core(), "media opened");
        Some(Open {
            session,
            a,
            b,
            a_dir: Direction::SendRecv,
            b_dir: Direction::SendRecv,
            dtmf: super::dtmf::DtmfLegs::default(),
        })
    }

    /// Frees both endpoints with their final statistics (one batch).
    async fn close(&self, call: CallId, o: Open) -> (Option<RtpQuality>, Option<RtpQuality>) {
        let (qa, qb) = tokio::join!(self.media.release(o.a.id), self.media.release(o.b.id));
        for r in [&qa, &qb] {
            if let Err(e) = r {
                debug!(error = %e, %call, "media endpoint not released");
            }
        }
        self.media.close_session(o.session);
        if let Ok(mut eps) = self.endpoints.lock() {
            eps.remove(&o.a.id);
            eps.remove(&o.b.id);
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.remove(&o.a.id);
            stats.remove(&o.b.id);
        }
        (
            qa.ok().as_ref().and_then(quality),
            qb.ok().as_ref().and_then(quality),
        )
    }

    /// Stores a call record with the media quality of each side (through the record writer).
    pub(super) async fn store_record(
        &self,
        rec: CallRecord,
        caller_quality: Option<RtpQuality>,
        callee_quality: Option<RtpQuality>,
        recording: Option<(String, Option<u64>)>,
    ) {
        let millis = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let row = NewCallRecord {
            call_id: rec.call_id,
            caller: rec.caller,
            callee: rec.callee,
            started_at: self.utc(rec.started_at),
            answered_at: rec.answered_at.map(|a| self.utc(a)),
            ended_at: self.utc(rec.ended_at),
            duration_ms: millis(rec.ended_at.saturating_duration_since(rec.started_at)),
            billable_ms: rec
                .answered_at
                .map(|a| millis(rec.ended_at.saturating_duration_since(a)))
                .unwrap_or(0),
            disposition: match rec.disposition {
                B2bDisposition::Answered => Disposition::Answered,
                B2bDisposition::Busy => Disposition::Busy,
                B2bDisposition::NoAnswer => Disposition::NoAnswer,
                B2bDisposition::Failed => Disposition::Failed,
                B2bDisposition::Cancelled => Disposition::Cancelled,
            },
            hangup_cause: Some(rec.hangup_cause),
            hangup_side: rec.hangup_side.map(|s| match s {
                B2bSide::Caller => HangupSide::Caller,
                B2bSide::Callee => HangupSide::Callee,
                B2bSide::System => HangupSide::System,
            }),
            codec: rec.codec,
            caller_quality,
            callee_quality,
            recording_path: recording.as_ref().map(|(p, _)| p.clone()),
            recording_ms: recording.and_then(|(_, ms)| ms),
        };
        self.queue_record(row).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leg_codecs_map_to_media_formats() {
        let f = leg_format(&LegCodec {
            codec: VoiceCodec::Opus,
            payload_type: 111,
            clock_rate: 48_000,
            ptime_ms: 20,
            telephone_event: Some(101),
        });
        assert_eq!(f.codec, WireCodec::Opus);
        assert_eq!(
            (f.payload_type, f.clock_rate, f.ptime_ms),
            (111, 48_000, 20)
        );
        assert_eq!(f.telephone_event, Some(101));
        for (c, w) in [
            (VoiceCodec::Pcmu, WireCodec::Pcmu),
            (VoiceCodec::Pcma, WireCodec::Pcma),
            (VoiceCodec::G722, WireCodec::G722),
            (VoiceCodec::L16, WireCodec::L16),
        ] {
            let f = leg_format(&LegCodec {
                codec: c,
                payload_type: 0,
                clock_rate: 8000,
                ptime_ms: 20,
                telephone_event: None,
            });
            assert_eq!(f.codec, w);
        }
    }

    #[test]
    fn quality_from_stream_statistics() {
        let none = StreamStats::default();
        assert_eq!(quality(&none), None);
        let s = StreamStats {
            packets_received: 95,
            packets_lost: 5,
            jitter_us: 2500,
            mos_x100: 421,
            ..StreamStats::default()
        };
        let q = quality(&s).unwrap();
        assert!((q.loss_pct - 5.0).abs() < 1e-9);
        assert!((q.jitter_ms - 2.5).abs() < 1e-9);
        assert!((q.mos - 4.21).abs() < 1e-9);
        let dup = StreamStats {
            packets_received: 10,
            packets_lost: -2,
            ..StreamStats::default()
        };
        assert_eq!(quality(&dup).unwrap().loss_pct, 0.0);
    }
}
