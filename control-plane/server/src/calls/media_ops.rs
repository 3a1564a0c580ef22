//! Recording and playback on calls: started by `calls.record` when a call is answered or
//! through the API, carried out by the media plane on the call's endpoints. The recording's
//! file path (derived from a random id, like the media side derives it) goes into the call
//! record once the media plane reports the file closed.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::broadcast;
use tracing::{debug, info, warn};
use warden_b2bua::{CallId, Leg};
use warden_config::{Config, RecordCalls, RecordingMode};
use warden_media::{recording_file_name, EndpointId, MediaError, MediaEvent, RecordMode};

use super::Calls;
use crate::api::{
    MediaOp, MediaOpError, MediaOpFuture, MediaOpOk, PlaySource, PlaybackStatus, Side,
};

/// How long the call record waits for the media plane to close a recording's file.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// The recording settings of the configuration.
#[derive(Debug, Clone)]
pub(crate) struct RecordingSettings {
    pub(crate) all: bool,
    pub(crate) mode: RecordMode,
    pub(crate) dir: PathBuf,
}

/// `calls.record`, `calls.record_mode` and the recording directory.
pub(crate) fn recording_settings(config: &Config) -> RecordingSettings {
    RecordingSettings {
        all: config.calls.record == RecordCalls::All,
        mode: match config.calls.record_mode {
            RecordingMode::Stereo => RecordMode::Stereo,
            RecordingMode::Mono => RecordMode::Mono,
        },
        dir: config.recording_dir(),
    }
}

/// A call's recording.
#[derive(Debug, Clone)]
pub(super) struct Recording {
    id: u64,
    path: String,
    mode: RecordMode,
}

/// A leg's latest playback.
#[derive(Debug, Clone, Default)]
struct LegPlayback {
    what: String,
    /// `None` while playing, else (interrupted, frames).
    ended: Option<(bool, u32)>,
    /// Completion reports still due for playbacks this one replaced.
    superseded: u32,
}

/// Recording and playback state of one call.
#[derive(Debug, Default)]
pub(super) struct CallMediaOps {
    recording: Option<Recording>,
    playback: [Option<LegPlayback>; 2],
    /// The message being left, when the call went to voicemail.
    pub(super) voicemail: Option<super::voicemail::Pending>,
}

fn index(leg: Side) -> usize {
    match leg {
        Side::Caller => 0,
        Side::Callee => 1,
    }
}

fn refused(e: MediaError) -> MediaOpError {
    match e {
        MediaError::Refused(code) => MediaOpError::Conflict(code.to_string()),
        other => MediaOpError::Failed(other.to_string()),
    }
}

impl Calls {
    /// The API's entry point (see `CallControl::media_op`).
    pub(super) fn media_op_boxed<'a>(&'a self, id: &'a str, op: MediaOp) -> MediaOpFuture<'a> {
        Box::pin(async move {
            let call = CallId::parse(id).ok_or(MediaOpError::NotFound)?;
            self.media_op(call, op).await
        })
    }

    async fn media_op(&self, call: CallId, op: MediaOp) -> Result<MediaOpOk, MediaOpError> {
        let endpoints = self
            .calls
            .lock()
            .ok()
            .and_then(|c| c.get(&call).map(|m| m.endpoints))
            .ok_or(MediaOpError::NotFound)?;
        let (a, b) =
            endpoints.ok_or_else(|| MediaOpError::Conflict("the call has no media yet".into()))?;
        let leg_ep = |leg: Side| match leg {
            Side::Caller => a,
            Side::Callee => b,
        };
        match op {
            MediaOp::Record { mode } => {
                let mode = mode.unwrap_or(self.recording.mode);
                let path = self.start_recording(call, a, b, mode).await?;
                Ok(MediaOpOk::Recording { path, mode })
            }
            MediaOp::Play { leg, source } => {
                let ep = leg_ep(leg);
                let what = match source {
                    PlaySource::Prompt(p) => format!("prompt:{}", p.as_str()),
                    PlaySource::Tone { freqs, .. } => format!("tone:{}", freqs[0]),
                };
                self.with_ops(call, |ops| {
                    let superseded = ops.playback[index(leg)]
                        .as_ref()
                        .map_or(0, |p| p.superseded + u32::from(p.ended.is_none()));
                    ops.playback[index(leg)] = Some(LegPlayback {
                        what,
                        ended: None,
                        superseded,
                    });
                });
                let played = match source {
                    PlaySource::Prompt(p) => self.media.play_prompt(ep, p).await,
                    PlaySource::Tone { freqs, duration_ms } => {
                        self.media.play_tone(ep, freqs, duration_ms).await
                    }
                };
                if let Err(e) = played {
                    self.with_ops(call, |ops| {
                        if let Some(p) = &mut ops.playback[index(leg)] {
                            p.ended = Some((true, 0));
                        }
                    });
                    return Err(refused(e));
                }
                info!(%call, leg = leg.as_str(), "playback started");
                Ok(MediaOpOk::Accepted)
            }
            MediaOp::StopPlay { leg } => {
                self.media
                    .stop_playback(leg_ep(leg))
                    .await
                    .map_err(refused)?;
                Ok(MediaOpOk::Accepted)
            }
            MediaOp::PlayStatus => {
                let list = self
                    .with_ops(call, |ops| {
                        [Side::Caller, Side::Callee]
                            .into_iter()
                            .filter_map(|leg| {
                                let p = ops.playback[index(leg)].as_ref()?;
                                Some(PlaybackStatus {
                                    leg,
                                    what: p.what.clone(),
                                    state: match p.ended {
                                        None => "playing",
                                        Some((false, _)) => "finished",
                                        Some((true, _)) => "stopped",
                                    },
                                    frames: p.ended.map(|(_, f)| f),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(MediaOpOk::Status(list))
            }
        }
    }

    fn with_ops<T>(&self, call: CallId, f: impl FnOnce(&mut CallMediaOps) -> T) -> Option<T> {
        let mut calls = self.calls.lock().ok()?;
        calls.get_mut(&call).map(|m| f(&mut m.ops))
    }

    pub(super) fn with_call_ops<T>(
        &self,
        call: CallId,
        f: impl FnOnce(&mut CallMediaOps) -> T,
    ) -> Option<T> {
        self.with_ops(call, f)
    }

    /// Starts recording both endpoints of a call; returns the file path.
    pub(super) async fn start_recording(
        &self,
        call: CallId,
        a: EndpointId,
        b: EndpointId,
        mode: RecordMode,
    ) -> Result<String, MediaOpError> {
        let id: u64 = rand::random();
        let path = self
            .recording
            .dir
            .join(recording_file_name(id))
            .display()
            .to_string();
        let rec = Recording {
            id,
            path: path.clone(),
            mode,
        };
        let claimed = self
            .with_ops(call, |ops| match ops.recording {
                Some(_) => false,
                None => {
                    ops.recording = Some(rec);
                    true
                }
            })
            .ok_or(MediaOpError::NotFound)?;
        if !claimed {
            return Err(MediaOpError::Conflict(
                "the call is already being recorded".into(),
            ));
        }
        if let Err(e) = self.media.start_recording(a, b, id, mode).await {
            self.with_ops(call, |ops| {
                if ops.recording.as_ref().is_some_and(|r| r.id == id) {
                    ops.recording = None;
                }
            });
            warn!(%call, error = %e, "recording not started");
            return Err(refused(e));
        }
        info!(%call, recording = id, %path, ?mode, "recording started");
        Ok(path)
    }

    /// `calls.record: all`: records a call once it is answered.
    pub(super) fn on_answered(&self, call: CallId) {
        if !self.recording.all {
            return;
        }
        let Some(me) = self.me.upgrade() else {
            return;
        };
        tokio::spawn(async move {
            let op = MediaOp::Record { mode: None };
            if let Err(e) = me.media_op(call, op).await {
                warn!(%call, error = ?e, "call not recorded");
            }
        });
    }

    /// Barge-in: a key pressed by the party a prompt or tone is playing to stops it (the
    /// completion event then reports it interrupted).
    pub(super) fn barge_in(&self, call: CallId, leg: Leg) {
        let side = match leg {
            Leg::A => Side::Caller,
            Leg::B => Side::Callee,
        };
        let playing = self
            .with_ops(call, |ops| {
                ops.playback[index(side)]
                    .as_ref()
                    .is_some_and(|p| p.ended.is_none())
            })
            .unwrap_or(false);
        if !playing {
            return;
        }
        let endpoints = self
            .calls
            .lock()
            .ok()
            .and_then(|c| c.get(&call).and_then(|m| m.endpoints));
        let Some((a, b)) = endpoints else {
            return;
        };
        let endpoint = match leg {
            Leg::A => a,
            Leg::B => b,
        };
        let media = self.media.clone();
        tokio::spawn(async move {
            match media.stop_playback(endpoint).await {
                Ok(()) => info!(%call, leg = side.as_str(), "playback stopped by a key press"),
                // Already over (played out, or stopped by an earlier report of the press).
                Err(e) => debug!(%call, leg = side.as_str(), error = %e, "barge-in not applied"),
            }
        });
    }

    /// A playback ended on one of our endpoints.
    pub(super) fn on_playback_done(&self, endpoint: EndpointId, interrupted: bool, frames: u32) {
        let owner = self
            .endpoints
            .lock()
            .ok()
            .and_then(|e| e.get(&endpoint).copied());
        let Some((call, leg)) = owner else {
            return;
        };
        let side = match leg {
            Leg::A => Side::Caller,
            Leg::B => Side::Callee,
        };
        self.with_ops(call, |ops| {
            if let Some(p) = &mut ops.playback[index(side)] {
                if p.superseded > 0 {
                    p.superseded -= 1;
                } else if p.ended.is_none() {
                    p.ended = Some((interrupted, frames));
                }
            }
        });
        info!(%call, leg = side.as_str(), interrupted, frames, "playback ended");
    }

    /// The call's recording, and a subscription to learn when its file is closed (taken
    /// before the endpoints are destroyed, which ends the recording).
    pub(super) fn recording_of(
        &self,
        call: CallId,
    ) -> Option<(Recording, broadcast::Receiver<MediaEvent>)> {
        let rec = self.with_ops(call, |ops| ops.recording.clone())??;
        Some((rec, self.media.subscribe()))
    }

    /// Waits (briefly) for the media plane to close the recording; returns the path and
    /// the audio length for the call record (the path alone if the close was not seen;
    /// nothing if the file could not be written).
    pub(super) async fn recording_result(
        &self,
        rec: Recording,
        mut events: broadcast::Receiver<MediaEvent>,
    ) -> Option<(String, Option<u64>)> {
        let wait = async {
            loop {
                match events.recv().await {
                    Ok(MediaEvent::RecordingDone {
                        id,
                        data_bytes,
                        failed,
                        ..
                    }) if id == rec.id => return Some((data_bytes, failed)),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        };
        match tokio::time::timeout(CLOSE_WAIT, wait).await {
            Ok(Some((_, true))) => {
                warn!(recording = rec.id, path = %rec.path, "recording file not written");
                None
            }
            Ok(Some((bytes, false))) => {
                let per_ms = match rec.mode {
                    RecordMode::Stereo => 32,
                    RecordMode::Mono => 16,
                };
                Some((rec.path, Some(bytes / per_ms)))
            }
            _ => {
                warn!(recording = rec.id, "recording close not reported in time");
                Some((rec.path, None))
            }
        }
    }
}
