//! Ring round trip: encode a command, push it, pop it, decode it (and the same for the reply
//! event), on one thread and across two threads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use warden_shared::{
    core_rings, Command, EndpointHandle, Event, PtMap, RemoteSpec, RequestId, StreamStats,
};

fn sample_command(req: u64) -> Command {
    let mut remote = RemoteSpec::new(std::net::SocketAddr::from(([192, 0, 2, 10], 4000)));
    remote.pt_map = PtMap::from_pairs(&[(0, 8), (101, 96)]).unwrap_or_default();
    Command::SetRemote {
        req: RequestId(req),
        endpoint: EndpointHandle {
            slot: 7,
            generation: 1,
        },
        remote,
    }
}

fn single_thread(c: &mut Criterion) {
    let ((mut cmd_tx, mut evt_rx), (mut cmd_rx, mut evt_tx)) = core_rings(1024);
    let mut req = 0u64;
    c.bench_function("ring/single_thread_round_trip", |b| {
        b.iter(|| {
            req += 1;
            let _ = cmd_tx.push(&sample_command(req));
            if let Some(Ok(cmd)) = cmd_rx.pop() {
                let _ = evt_tx.push(&Event::Stats {
                    req: cmd.request_id(),
                    endpoint: EndpointHandle::default(),
                    stats: StreamStats::default(),
                });
            }
            std::hint::black_box(evt_rx.pop())
        })
    });
}

fn cross_thread(c: &mut Criterion) {
    let ((mut cmd_tx, mut evt_rx), (mut cmd_rx, mut evt_tx)) = core_rings(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let stop_core = stop.clone();
    // The "core": answers every command with a Done event, spinning while idle.
    let core = std::thread::spawn(move || {
        while !stop_core.load(Ordering::Relaxed) {
            match cmd_rx.pop() {
                Some(Ok(cmd)) => {
                    while evt_tx
                        .push(&Event::Done {
                            req: cmd.request_id(),
                        })
                        .is_err()
                    {
                        std::hint::spin_loop();
                    }
                }
                Some(Err(_)) => {}
                None => std::hint::spin_loop(),
            }
        }
    });
    c.bench_function("ring/cross_thread_round_trip", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                while cmd_tx.push(&sample_command(i + 1)).is_err() {
                    std::hint::spin_loop();
                }
                loop {
                    if let Some(ev) = evt_rx.pop() {
                        std::hint::black_box(ev.ok());
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
            start.elapsed()
        })
    });
    stop.store(true, Ordering::Relaxed);
    let _ = core.join();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = single_thread, cross_thread
}
criterion_main!(benches);
