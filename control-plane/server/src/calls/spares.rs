//! Endpoint pairs made ahead of calls. A call's media opens with a pair made earlier on the
//! call's core, so the INVITE to the callee does not wait for a round trip to the media
//! core. When a core's spares run out, the call makes its own pair and [`BATCH`] more are
//! asked for at once: the core wakes once for all of them, and so does the event pump.
//!
//! Spares are idle, bridged endpoints on their core: they count among its endpoints and
//! hold their ports (two pairs of ports each). A spare that could not be made is skipped.
//! At shutdown the media plane closes them with every other endpoint.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::task::JoinHandle;
use tracing::debug;
use warden_media::{EndpointInfo, MediaError, MediaPlane, SessionId};

/// Pairs asked for at once when a core has none left.
pub(super) const BATCH: usize = 4;

type Pair = (EndpointInfo, EndpointInfo);
type Pending = JoinHandle<Result<Pair, MediaError>>;

/// Spare pairs per media core, oldest first.
#[derive(Default)]
pub(super) struct Spares {
    cores: Mutex<Vec<VecDeque<Pending>>>,
}

impl Spares {
    /// A bridged pair on `session`'s core: a spare when one is left, else a new one. Taking
    /// the last spare (or finding none) asks for [`BATCH`] more.
    pub(super) async fn take(
        &self,
        media: &MediaPlane,
        session: SessionId,
    ) -> Result<Pair, MediaError> {
        let spare = self.pop_and_refill(media, session);
        if let Some(pending) = spare {
            match pending.await {
                Ok(Ok(pair)) => return Ok(pair),
                Ok(Err(error)) => debug!(%error, core = session.core(), "spare pair not made"),
                Err(error) => debug!(%error, core = session.core(), "spare pair task failed"),
            }
        }
        media.create_pair(session).await
    }

    fn pop_and_refill(&self, media: &MediaPlane, session: SessionId) -> Option<Pending> {
        let core = session.core();
        let mut cores = self.cores.lock().ok()?;
        if cores.len() <= core {
            cores.resize_with(core + 1, VecDeque::new);
        }
        let spares = cores.get_mut(core)?;
        let spare = spares.pop_front();
        if spares.is_empty() {
            for _ in 0..BATCH {
                let media = media.clone();
                spares.push_back(tokio::spawn(
                    async move { media.create_pair(session).await },
                ));
            }
        }
        spare
    }

    /// Spares asked for on `core` (made or still coming).
    #[cfg(test)]
    fn len(&self, core: usize) -> usize {
        self.cores
            .lock()
            .map(|c| c.get(core).map_or(0, VecDeque::len))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use warden_media::{EngineConfig, ErrorCode, KernelForwarding};

    fn plane(ports: (u16, u16)) -> MediaPlane {
        let mut cfg = EngineConfig::new("127.0.0.1".parse().unwrap_or_else(|_| unreachable!()));
        cfg.bind = cfg.address;
        cfg.cores = vec![*warden_media::default_cores().last().unwrap_or(&0)];
        cfg.rtp_ports = ports;
        cfg.stats_interval = Duration::ZERO;
        cfg.io_memory_bytes = 128 * 1024;
        cfg.kernel_forwarding = KernelForwarding::Off;
        MediaPlane::start(cfg).unwrap_or_else(|e| panic!("media plane: {e}"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_take_pairs_made_ahead_and_the_last_one_asks_for_more() {
        let media = plane((40900, 40979));
        let spares = Spares::default();
        let session = media.open_session();
        // None yet: the first call makes its own, and a batch is asked for.
        let first = spares.take(&media, session).await.unwrap();
        assert_eq!(spares.len(0), BATCH);
        let mut seen = vec![first.0.rtp, first.1.rtp];
        for left in (0..BATCH).rev() {
            let (a, b) = spares.take(&media, session).await.unwrap();
            assert_ne!(a.rtp, b.rtp);
            assert!(
                !seen.contains(&a.rtp) && !seen.contains(&b.rtp),
                "a pair is used once"
            );
            seen.extend([a.rtp, b.rtp]);
            // Taking the last one asks for the next batch.
            assert_eq!(spares.len(0), if left == 0 { BATCH } else { left });
        }
        // The spares are real, bridged endpoints.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while media.load()[0].endpoints < 2 * (1 + 2 * BATCH as u64) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{:?}",
                media.load()[0]
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    // One thread: the spares' tasks run only when the call waits, so the call's own
    // CreatePair reaches the core before theirs.
    #[tokio::test(flavor = "current_thread")]
    async fn a_spare_that_could_not_be_made_is_skipped() {
        // Ports for two pairs: the first call's own and one spare; three spares fail.
        let media = plane((40980, 40987));
        let spares = Spares::default();
        let session = media.open_session();
        let first = spares.take(&media, session).await.unwrap();
        let second = spares.take(&media, session).await.unwrap();
        assert_ne!(first.0.rtp, second.0.rtp);
        // The next spare failed and no port is free: the call's own attempt fails too.
        let third = spares.take(&media, session).await;
        assert!(
            matches!(third, Err(MediaError::Refused(ErrorCode::NoFreePort))),
            "{third:?}"
        );
        // With the first call's ports back, a call skips the next failed spare and makes
        // its own pair.
        media.release(first.0.id).await.unwrap();
        media.release(first.1.id).await.unwrap();
        let fourth = spares.take(&media, session).await.unwrap();
        assert_ne!(fourth.0.rtp, second.0.rtp);
        assert_eq!(spares.len(0), 1, "one failed spare left");
    }
}
