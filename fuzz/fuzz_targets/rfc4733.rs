#![no_main]
//! RFC 4733 payload parsing plus the receiver state machine fed arbitrary packets and
//! timeouts: nothing panics, every reported end follows a begin of the same event, and no
//! event is ended twice.

use arbitrary::Arbitrary;
use warden_dsp::dtmf::{DtmfEvent, DtmfReceiver, TelephoneEvent};

#[derive(Arbitrary, Debug)]
enum Op {
    Packet { dt: u16, ts: u32, payload: Vec<u8> },
    Poll { dt: u16 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    raw: Vec<u8>,
    clock_rate: u16,
    timeout: u16,
    ops: Vec<Op>,
}

libfuzzer_sys::fuzz_target!(|input: Input| {
    if let Ok(e) = TelephoneEvent::parse(&input.raw) {
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()).ok(), Some(e));
    }
    if let Ok(all) = TelephoneEvent::parse_all(&input.raw) {
        assert_eq!(all.count(), input.raw.len() / 4);
    }
    let mut rx = DtmfReceiver::new(u32::from(input.clock_rate), u64::from(input.timeout));
    let mut now = 0u64;
    let mut open: Option<u8> = None;
    let mut check = |e: DtmfEvent| match e {
        DtmfEvent::Began { event, .. } => {
            assert!(open.is_none(), "began while another event is open");
            open = Some(event);
        }
        DtmfEvent::Ended { event, .. } => {
            assert_eq!(open.take(), Some(event), "end without matching begin");
        }
    };
    for op in input.ops {
        match op {
            Op::Packet { dt, ts, payload } => {
                now += u64::from(dt);
                let _ = rx.on_packet(now, ts, &payload, &mut check);
            }
            Op::Poll { dt } => {
                now += u64::from(dt);
                rx.poll(now, &mut check);
                // After a poll, an event still in progress is due strictly later.
                if let Some(t) = rx.next_timeout() {
                    assert!(t > now);
                }
            }
        }
    }
});
