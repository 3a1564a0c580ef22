//! The core's recording and playback commands and its 20 ms media tick (kept apart from
//! the relay loop in `core.rs`).

use std::time::{Duration, Instant};

use warden_shared::{Command, EndpointHandle, ErrorCode, Event, RecordMode};

use super::Core;
use crate::playback::{self, Playback};

/// Media tick period: one 20 ms frame per recording leg and per playback.
const TICK: Duration = Duration::from_millis(20);
/// Further behind than this, the tick skips ahead instead of bursting to catch up.
const MAX_LAG: Duration = Duration::from_millis(100);

impl Core {
    /// Applies a recording or playback command; `None` when `command` is not one.
    pub(super) fn apply_media_op(
        &mut self,
        command: Command,
        now: Instant,
    ) -> Option<Result<(), ErrorCode>> {
        let result = match command {
            Command::StartRecording { a, b, id, mode, .. } => self.start_recording(a, b, id, mode),
            Command::StopRecording { endpoint, .. } => self.stop_recording(endpoint),
            Command::PlayPrompt {
                endpoint, prompt, ..
            } => match self.prompts.get(prompt.as_str()) {
                Some((pcm, rate)) => self.start_playback(endpoint, |voice_pt, ssrc| {
                    Playback::prompt(pcm, rate, voice_pt, ssrc)
                }),
                None => Err(ErrorCode::UnknownPrompt),
            },
            Command::PlayTone {
                endpoint,
                freqs,
                duration_ms,
                ..
            } => self.start_playback(endpoint, |voice_pt, ssrc| {
                Playback::tone(freqs, duration_ms, voice_pt, ssrc)
            }),
            Command::SetVoicePt {
                endpoint,
                payload_type,
                ..
            } => match self.table.get_mut(endpoint) {
                Some(ep) => {
                    // What the phone actually sends wins over what it agreed to.
                    ep.voice_pt.get_or_insert(payload_type);
                    Ok(())
                }
                None => Err(ErrorCode::UnknownEndpoint),
            },
            Command::StopPlayback { endpoint, .. } => {
                if !self.table.contains(endpoint) {
                    Err(ErrorCode::UnknownEndpoint)
                } else if self.end_playback(endpoint, true) {
                    Ok(())
                } else {
                    Err(ErrorCode::NotActive)
                }
            }
            _ => return None,
        };
        if !(self.recorders.is_empty() && self.playbacks.is_empty()) && self.next_tick.is_none() {
            self.next_tick = Some(now + TICK);
        }
        Some(result)
    }

    fn start_recording(
        &mut self,
        a: EndpointHandle,
        b: EndpointHandle,
        id: u64,
        mode: RecordMode,
    ) -> Result<(), ErrorCode> {
        if a == b {
            return Err(ErrorCode::SameEndpoint);
        }
        for h in [a, b] {
            let ep = self.table.get(h).ok_or(ErrorCode::UnknownEndpoint)?;
            if ep.tap.is_some() {
                return Err(ErrorCode::AlreadyRecording);
            }
            // Any clock rate: a transcoded leg is recorded from the bridge's decoded PCM
            // (the bridge may be set up just after the recording starts); a leg that is
            // neither G.711 nor transcoded records silence.
        }
        let writer = self.writer.as_ref().ok_or(ErrorCode::Busy)?;
        let taps = self
            .recorders
            .start(id, [a, b], mode, writer)
            .ok_or(ErrorCode::Busy)?;
        for (h, tap) in [a, b].into_iter().zip(taps) {
            if let Some(ep) = self.table.get_mut(h) {
                ep.tap = Some(tap);
            }
        }
        tracing::info!(
            core = self.index,
            recording = id,
            ?mode,
            "recording started"
        );
        Ok(())
    }

    /// Stops the recording `endpoint` feeds (also called on unbridge and destroy).
    pub(super) fn stop_recording(&mut self, endpoint: EndpointHandle) -> Result<(), ErrorCode> {
        let ep = self.table.get(endpoint).ok_or(ErrorCode::UnknownEndpoint)?;
        let tap = ep.tap.ok_or(ErrorCode::NotActive)?;
        let Some(writer) = self.writer.as_ref() else {
            return Err(ErrorCode::Busy);
        };
        if let Some(rec) = self.recorders.stop(tap.recording, writer) {
            for h in rec.legs {
                if let Some(ep) = self.table.get_mut(h) {
                    ep.tap = None;
                }
            }
        }
        Ok(())
    }

    fn start_playback(
        &mut self,
        endpoint: EndpointHandle,
        make: impl FnOnce(Option<u8>, u32) -> Result<Playback, ErrorCode>,
    ) -> Result<(), ErrorCode> {
        let ep = self.table.get(endpoint).ok_or(ErrorCode::UnknownEndpoint)?;
        // A transcoded leg: the bridge encodes the frames in the leg's codec.
        let bridged = ep.xcode.is_some();
        if ep.clock_rate() != 8000 && !bridged {
            return Err(ErrorCode::UnsupportedCodec);
        }
        let voice_pt = if bridged { None } else { ep.voice_pt };
        let ssrc = self.next_ssrc();
        let mut playback = make(voice_pt, ssrc)?;
        playback.bridged = bridged;
        // A new playback replaces the running one (which reports itself interrupted).
        self.end_playback(endpoint, true);
        self.playbacks.by_endpoint.insert(endpoint, playback);
        if let Some(ep) = self.table.get_mut(endpoint) {
            ep.playing = true;
        }
        Ok(())
    }

    /// Ends the endpoint's playback, reporting `PlaybackDone`; false when none was running.
    pub(super) fn end_playback(&mut self, endpoint: EndpointHandle, interrupted: bool) -> bool {
        let Some(p) = self.playbacks.by_endpoint.remove(&endpoint) else {
            return false;
        };
        let replaced = self.table.get_mut(endpoint).map_or(0, |ep| {
            ep.playing = false;
            std::mem::take(&mut ep.replaced_while_playing)
        });
        tracing::debug!(
            core = self.index,
            frames = p.frames,
            replaced,
            interrupted,
            "playback ended"
        );
        self.notifier.send(&Event::PlaybackDone {
            endpoint,
            interrupted,
            frames: p.frames,
        });
        true
    }

    /// The earliest media tick, if recordings or playbacks run.
    pub(super) fn media_deadline(&self) -> Option<Instant> {
        self.next_tick
    }

    /// Reports recordings the writer closed.
    pub(super) fn collect_closed(&mut self) {
        let Some(writer) = self.writer.as_ref() else {
            return;
        };
        for c in writer.take_closed() {
            self.notifier.send(&Event::RecordingDone {
                endpoint: c.endpoint,
                id: c.id,
                data_bytes: c.data_bytes,
                failed: c.failed,
            });
        }
    }

    /// Whether the packet task should yield to the writer's task queue.
    pub(super) fn writer_busy(&self) -> bool {
        self.writer.as_ref().is_some_and(|w| w.busy())
    }

    /// Runs due media ticks: one frame per recording and playback per 20 ms.
    pub(super) fn media_tick(&mut self, now: Instant) {
        let Some(mut due) = self.next_tick else {
            return;
        };
        if self.recorders.is_empty() && self.playbacks.is_empty() {
            self.next_tick = None;
            return;
        }
        if now.saturating_duration_since(due) > MAX_LAG {
            due = now;
        }
        while due <= now {
            let now_ms = due.duration_since(self.epoch).as_millis() as u64;
            if let Some(writer) = self.writer.as_ref() {
                self.recorders.tick(now_ms, writer);
            }
            let now_ns = due.duration_since(self.epoch).as_nanos() as u64;
            self.play_frames(now_ns);
            due += TICK;
        }
        self.next_tick = Some(due);
    }

    fn play_frames(&mut self, now_ns: u64) {
        let mut finished: Vec<EndpointHandle> = Vec::new();
        let mut buf = [0u8; 12 + crate::record::FRAME];
        for (handle, p) in self.playbacks.by_endpoint.iter_mut() {
            let Some(ep) = self.table.get_mut(*handle) else {
                finished.push(*handle);
                continue;
            };
            if p.bridged {
                // The bridge's 20 ms schedule plays it; a bridge that ended ends it.
                if ep.xcode.is_none() {
                    finished.push(*handle);
                }
                continue;
            }
            let Some(n) = p.next_packet(&mut buf) else {
                finished.push(*handle);
                continue;
            };
            let Some(dest) = ep.rtp_destination() else {
                continue;
            };
            if !ep.direction.sends() {
                continue;
            }
            match ep.out.rewrite(&mut buf[..n], now_ns) {
                Ok(outcome) if outcome.is_forwarded() => {
                    if playback::send_to(ep.rtp_fd, &buf[..n], dest) {
                        ep.packets_sent += 1;
                        ep.bytes_sent += (n - 12) as u64;
                        self.counters.packets_out += 1;
                        self.counters.bytes_out += n as u64;
                    } else {
                        self.counters.drop(crate::load::DropReason::SendFailed);
                    }
                }
                _ => self.counters.drop(crate::load::DropReason::Rewrite),
            }
        }
        finished.append(&mut self.xcode.finished);
        for handle in finished {
            self.end_playback(handle, false);
        }
    }
}
