//! Voicemail on the media plane: after the B2BUA answered a caller for a callee's box
//! (`Action::Voicemail`), the endpoint facing the caller plays the `leave-message` prompt
//! and a beep, then the call is recorded in mono. The endpoint facing the callee is never
//! pointed at anyone, so the mix holds only what the caller sends. The B2BUA learns when
//! the recording starts (the longest message length counts from then); `#` from the caller
//! ends the message. When the call is over the worker stores the message row with the
//! file's path and length (`store_voicemail`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;
use tracing::{error, info, warn};
use warden_b2bua::{CallId, Leg};
use warden_media::{EndpointId, MediaEvent, PromptName, RecordMode};
use warden_storage::NewVoicemailMessage;

use super::Calls;

/// The greeting prompt (see `scripts/make-prompts.sh`).
const GREETING: &str = "leave-message";
/// The beep after the greeting.
const BEEP_HZ: u16 = 1000;
const BEEP_MS: u32 = 400;
/// Longest wait for a playback's end report.
const PLAYBACK_WAIT: Duration = Duration::from_secs(30);

/// A message being left, kept with the call's media state until the call is over.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    mailbox: String,
    caller: String,
    call_id: String,
    /// Set when the recording started.
    recording_since: Option<DateTime<Utc>>,
}

/// Waits for the end of the playback on `endpoint`; false when none was reported in time.
async fn played(events: &mut broadcast::Receiver<MediaEvent>, endpoint: EndpointId) -> bool {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(MediaEvent::PlaybackDone { endpoint: e, .. }) if e == endpoint => return true,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return false,
            }
        }
    };
    tokio::time::timeout(PLAYBACK_WAIT, wait)
        .await
        .unwrap_or(false)
}

impl Calls {
    /// Plays the greeting and the beep to the caller, then records the message.
    pub(super) async fn run_voicemail(
        self: Arc<Self>,
        call: CallId,
        mailbox: String,
        caller: String,
        (a, b): (EndpointId, EndpointId),
    ) {
        let call_id = self
            .parties
            .lock()
            .ok()
            .and_then(|p| p.get(&call).map(|p| p.call_id.clone()))
            .unwrap_or_default();
        let pending = Pending {
            mailbox: mailbox.clone(),
            caller,
            call_id,
            recording_since: None,
        };
        if self
            .with_call_ops(call, |ops| ops.voicemail = Some(pending))
            .is_none()
        {
            return; // already over
        }
        info!(%call, %mailbox, "voicemail greeting");
        let mut events = self.media.subscribe();
        if let Some(p) = PromptName::new(GREETING) {
            match self.media.play_prompt(a, p).await {
                Ok(()) => {
                    if !played(&mut events, a).await {
                        warn!(%call, "voicemail greeting end not reported");
                    }
                }
                // No prompt set installed: the beep alone.
                Err(e) => warn!(%call, error = %e, "voicemail greeting not played"),
            }
        }
        if !self.is_open(call) {
            return;
        }
        if self.media.play_tone(a, [BEEP_HZ, 0], BEEP_MS).await.is_ok() {
            played(&mut events, a).await;
        }
        drop(events);
        if !self.is_open(call) {
            return;
        }
        match self.start_recording(call, a, b, RecordMode::Mono).await {
            Ok(path) => {
                self.with_call_ops(call, |ops| {
                    if let Some(p) = &mut ops.voicemail {
                        p.recording_since = Some(Utc::now());
                    }
                });
                info!(%call, %mailbox, %path, "voicemail recording");
                self.input(|b, now| {
                    let _ = b.on_voicemail_recording(now, call);
                });
            }
            Err(e) => {
                error!(%call, error = ?e, "voicemail not recorded");
                self.input(|b, now| {
                    let _ = b.hang_up(now, call);
                });
            }
        }
    }

    /// Whether the call's media is still open.
    fn is_open(&self, call: CallId) -> bool {
        self.calls
            .lock()
            .is_ok_and(|c| c.get(&call).is_some_and(|m| m.endpoints.is_some()))
    }

    /// A key press: `#` from the caller ends a message being recorded.
    pub(super) fn voicemail_digit(&self, call: CallId, leg: Leg, digit: char) {
        if leg != Leg::A || digit != '#' {
            return;
        }
        let recording = self
            .with_call_ops(call, |ops| {
                ops.voicemail
                    .as_ref()
                    .is_some_and(|p| p.recording_since.is_some())
            })
            .unwrap_or(false);
        if recording {
            info!(%call, "voicemail ended by key press");
            self.input(|b, now| {
                let _ = b.end_voicemail(now, call);
            });
        }
    }

    /// The voicemail state of a call, taken when it ends.
    pub(super) fn take_voicemail(&self, call: CallId) -> Option<Pending> {
        self.with_call_ops(call, |ops| ops.voicemail.take())
            .flatten()
    }

    /// Stores the message of an ended voicemail call from its recording (path, length).
    pub(super) async fn store_voicemail(
        &self,
        call: CallId,
        vm: Pending,
        recording: Option<&(String, Option<u64>)>,
    ) {
        let (Some(since), Some((path, ms))) = (vm.recording_since, recording) else {
            info!(%call, mailbox = %vm.mailbox, "voicemail ended before a message was recorded");
            return;
        };
        let duration_ms = ms
            .unwrap_or_else(|| u64::try_from((Utc::now() - since).num_milliseconds()).unwrap_or(0));
        let row = NewVoicemailMessage {
            extension: vm.mailbox,
            caller: vm.caller,
            call_id: vm.call_id,
            received_at: since,
            duration_ms,
            file_path: path.clone(),
        };
        match self.store.insert_voicemail_message(&row).await {
            Ok(m) => {
                info!(%call, mailbox = %m.extension, id = m.id, duration_ms, "voicemail message stored")
            }
            Err(e) => error!(%call, error = %e, "voicemail message not stored"),
        }
    }
}
