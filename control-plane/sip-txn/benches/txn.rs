//! Transaction layer throughput with a large live population.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use warden_sip_txn::{Bytes, Config, Method, RequestKey, ServerRequest, TransactionLayer};

const LIVE: u32 = 100_000;

fn key(method: Method, i: u32) -> RequestKey {
    RequestKey {
        method,
        branch: format!("z9hG4bK{i:08x}"),
        sent_by: "10.0.0.1:5060".to_owned(),
        call_id: format!("{i}@10.0.0.1"),
        from_tag: Some(format!("f{i}")),
        to_tag: None,
        cseq: 1,
        request_uri: "sip:100@pbx".to_owned(),
        top_via: String::new(),
    }
}

/// A layer holding `LIVE` INVITE server transactions in Completed (Timers G
/// and H armed), as after a burst of rejected calls.
fn populated(now: Instant) -> TransactionLayer<u32> {
    let mut layer = TransactionLayer::new(Config::default());
    for i in 0..LIVE {
        if let ServerRequest::New { tx, .. } =
            layer.on_request(now, key(Method::Invite, i), i, false)
        {
            let _ = layer.send_response(now, tx, 486, Bytes::from_static(b"486"));
        }
    }
    while layer.poll_transmit().is_some() {}
    layer
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("sip_txn");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(20);

    let start = Instant::now();
    let mut layer = populated(start);

    group.bench_function("poll_timeout_100k_live", |b| {
        b.iter(|| black_box(layer.poll_timeout()))
    });

    // One full non-INVITE server transaction over a reliable transport
    // (request in, 200 out, zero Timer J fired) next to 100k live ones.
    let mut i = LIVE;
    group.bench_function("non_invite_server_lifecycle_100k_live", |b| {
        b.iter(|| {
            i += 1;
            if let ServerRequest::New { tx, .. } =
                layer.on_request(start, key(Method::Register, i), i, true)
            {
                let _ = layer.send_response(start, tx, 200, Bytes::from_static(b"200"));
            }
            layer.handle_timeout(start);
            while let Some(t) = layer.poll_transmit() {
                black_box(t);
            }
            while let Some(e) = layer.poll_event() {
                black_box(e);
            }
        })
    });

    // Every G retransmit and H expiry of 100k INVITE server transactions.
    group.sample_size(10);
    group.bench_function("expire_100k_completed_invites", |b| {
        b.iter_batched(
            || populated(start),
            |mut layer| {
                while let Some(at) = layer.poll_timeout() {
                    layer.handle_timeout(at);
                    while layer.poll_transmit().is_some() {}
                    while layer.poll_event().is_some() {}
                }
                assert!(layer.is_empty());
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
