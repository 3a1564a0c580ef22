//! The forwarding program, loaded into the running kernel and run on crafted frames with
//! `BPF_PROG_TEST_RUN`: what it forwards, how it rewrites, the checksums it leaves, what
//! it counts, and what it leaves to the media core.
//!
//! Needs `CAP_BPF`. Without it the tests say so and pass, unless `WARDEN_REQUIRE_BPF=1`
//! (set by the project's test script), which makes them fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddrV4};

use warden_kfwd::{FlowKey, Forwarder, Rule, Seed, Verdict, NO_PT};

const PHONE_A: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 6000);
const PHONE_B: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 7000);
const PORT_A: u16 = 40000;
const PORT_B: u16 = 40002;

fn forwarder() -> Option<Forwarder> {
    match Forwarder::load(64) {
        Ok(f) => Some(f),
        Err(e) if std::env::var("WARDEN_REQUIRE_BPF").as_deref() != Ok("1") => {
            eprintln!("skipped: the forwarding program cannot be loaded here: {e}");
            None
        }
        Err(e) => panic!("WARDEN_REQUIRE_BPF=1 and the program cannot be loaded: {e}"),
    }
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ones(bytes: &[u8]) -> u32 {
    bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// UDP checksum over the pseudo-header and datagram (0 in the field means "none").
fn udp_checksum_ok(frame: &[u8]) -> bool {
    let ip = &frame[14..34];
    let udp = &frame[34..];
    if udp[6..8] == [0, 0] {
        return true;
    }
    let pseudo = ones(&ip[12..20]) + 17 + udp.len() as u32;
    fold(pseudo + ones(udp)) == 0
}

fn ip_checksum_ok(frame: &[u8]) -> bool {
    fold(ones(&frame[14..34])) == 0
}

struct Rtp {
    pt: u8,
    marker: bool,
    seq: u16,
    ts: u32,
    ssrc: u32,
}

/// An Ethernet/IPv4/UDP frame carrying RTP with a 160-byte payload, checksums valid.
fn frame(from: SocketAddrV4, to: SocketAddrV4, rtp: Rtp) -> Vec<u8> {
    let payload = [0x55u8; 160];
    let udp_len = 8 + 12 + payload.len();
    let mut f = vec![0u8; 14];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + udp_len) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&from.ip().octets());
    ip[16..20].copy_from_slice(&to.ip().octets());
    let c = fold(ones(&ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut udp = Vec::new();
    udp.extend_from_slice(&from.port().to_be_bytes());
    udp.extend_from_slice(&to.port().to_be_bytes());
    udp.extend_from_slice(&(udp_len as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.push(0x80);
    udp.push(rtp.pt | if rtp.marker { 0x80 } else { 0 });
    udp.extend_from_slice(&rtp.seq.to_be_bytes());
    udp.extend_from_slice(&rtp.ts.to_be_bytes());
    udp.extend_from_slice(&rtp.ssrc.to_be_bytes());
    udp.extend_from_slice(&payload);
    let pseudo = ones(&f[26..34]) + 17 + udp_len as u32;
    let c = fold(pseudo + ones(&udp));
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&udp);
    f
}

fn key() -> FlowKey {
    FlowKey {
        source: PHONE_A,
        local_port: PORT_A,
    }
}

fn rule() -> Rule {
    let mut payload_types = [NO_PT; 128];
    payload_types[0] = 0;
    payload_types[101] = 96;
    Rule {
        in_ssrc: 0x1111_1111,
        out_ssrc: 0x2222_2222,
        seq_offset: 1000,
        ts_offset: 0x1_0000,
        clock_rate: 8000,
        source_ip: None,
        source_port: PORT_B,
        destination: PHONE_B,
        egress: None,
        payload_types,
        seed: Seed {
            highest_seq_ext: 0x1_0009,
            last_arrival_ns: 0,
            last_ts: 1440,
            jitter_x16: 0,
        },
    }
}

fn to_port_a(seq: u16, pt: u8, ssrc: u32) -> Vec<u8> {
    plain(PHONE_A, PORT_A, seq, pt, ssrc)
}

/// Plain RTP (no marker, timestamp 160 per sequence number) from `from` to our `port`.
fn plain(from: SocketAddrV4, port: u16, seq: u16, pt: u8, ssrc: u32) -> Vec<u8> {
    frame(
        from,
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
        Rtp {
            pt,
            marker: false,
            seq,
            ts: u32::from(seq) * 160,
            ssrc,
        },
    )
}

#[test]
fn a_plain_rtp_packet_is_rewritten_with_valid_checksums_and_counted() {
    let Some(fwd) = forwarder() else { return };
    fwd.insert(key(), &rule()).unwrap();
    let input = frame(
        PHONE_A,
        SocketAddrV4::new(Ipv4Addr::LOCALHOST, PORT_A),
        Rtp {
            pt: 101,
            marker: true,
            seq: 10,
            ts: 1600,
            ssrc: 0x1111_1111,
        },
    );
    let (verdict, out) = fwd.test_run(&input).unwrap();
    assert_eq!(verdict, Verdict::Deliver);
    assert_eq!(out.len(), input.len());
    // Addresses and ports: from our port B (address the packet came to), to phone B.
    assert_eq!(&out[26..30], &[127, 0, 0, 1]);
    assert_eq!(&out[30..34], &PHONE_B.ip().octets());
    assert_eq!(u16::from_be_bytes([out[34], out[35]]), PORT_B);
    assert_eq!(u16::from_be_bytes([out[36], out[37]]), PHONE_B.port());
    // RTP: marker kept, payload type mapped, offsets applied, SSRC replaced.
    assert_eq!(out[42], 0x80);
    assert_eq!(out[43], 0x80 | 96);
    assert_eq!(u16::from_be_bytes([out[44], out[45]]), 1010);
    assert_eq!(
        u32::from_be_bytes([out[46], out[47], out[48], out[49]]),
        1600 + 0x1_0000
    );
    assert_eq!(
        u32::from_be_bytes([out[50], out[51], out[52], out[53]]),
        0x2222_2222
    );
    assert_eq!(&out[54..], &input[54..], "payload untouched");
    assert!(ip_checksum_ok(&out), "IP header checksum");
    assert!(udp_checksum_ok(&out), "UDP checksum");
    assert_ne!(&out[40..42], &[0, 0]);

    let state = fwd.peek(key()).unwrap().unwrap();
    assert_eq!(state.packets, 1);
    assert_eq!(state.payload_bytes, 160);
    assert_eq!(state.highest_seq_ext, 0x1_000a);
    assert_eq!(state.last_ts, 1600);
    assert!(state.last_arrival_ns > 0);
}

#[test]
fn jitter_follows_rfc_3550() {
    let Some(fwd) = forwarder() else { return };
    fwd.insert(key(), &rule()).unwrap();
    // Back-to-back test runs arrive microseconds apart while the timestamps say 20 ms:
    // |D| is 160 units each time after the first.
    for seq in 10..14 {
        let (verdict, _) = fwd.test_run(&to_port_a(seq, 0, 0x1111_1111)).unwrap();
        assert_eq!(verdict, Verdict::Deliver);
    }
    let state = fwd.remove(key()).unwrap().unwrap();
    assert_eq!(state.packets, 4);
    assert_eq!(state.highest_seq_ext, 0x1_000d);
    // J(x16) after three steps of |D| ~ 160 from 0: 160, 310, 451 (integer A.8), give or
    // take the microseconds between runs.
    assert!(
        (440..=460).contains(&state.jitter_x16),
        "jitter x16 {}",
        state.jitter_x16
    );
    assert_eq!(fwd.peek(key()).unwrap(), None, "removed");
}

#[test]
fn anything_unusual_is_left_to_the_media_core() {
    let Some(fwd) = forwarder() else { return };
    fwd.insert(key(), &rule()).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("another SSRC", to_port_a(10, 0, 0x3333_3333)),
        ("an unmapped payload type", to_port_a(10, 8, 0x1111_1111)),
        ("a duplicate of the highest", to_port_a(9, 0, 0x1111_1111)),
        ("a reordered packet", to_port_a(5, 0, 0x1111_1111)),
        ("a jump of 3000", to_port_a(9 + 3000, 0, 0x1111_1111)),
        (
            "another sender",
            plain(
                SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 9), 6000),
                PORT_A,
                10,
                0,
                0x1111_1111,
            ),
        ),
        (
            "another local port",
            plain(PHONE_A, PORT_A + 2, 10, 0, 0x1111_1111),
        ),
        ("RTCP on the RTP port (rtcp-mux)", {
            let mut f = to_port_a(10, 0, 0x1111_1111);
            f[43] = 200; // SR
            f
        }),
        ("RTP with a header extension", {
            let mut f = to_port_a(10, 0, 0x1111_1111);
            f[42] = 0x90;
            f
        }),
        (
            "a truncated datagram",
            to_port_a(10, 0, 0x1111_1111)[..50].to_vec(),
        ),
    ];
    for (what, input) in cases {
        let (verdict, out) = fwd.test_run(&input).unwrap();
        assert_eq!(verdict, Verdict::NotOurs, "{what}");
        assert_eq!(out, input, "{what} is left unchanged");
    }
    assert_eq!(fwd.peek(key()).unwrap().unwrap().packets, 0);
}

#[test]
fn a_removed_rule_forwards_nothing() {
    let Some(fwd) = forwarder() else { return };
    fwd.insert(key(), &rule()).unwrap();
    assert!(fwd.remove(key()).unwrap().is_some());
    let (verdict, _) = fwd.test_run(&to_port_a(10, 0, 0x1111_1111)).unwrap();
    assert_eq!(verdict, Verdict::NotOurs);
    assert_eq!(fwd.remove(key()).unwrap(), None);
}

#[test]
fn a_fixed_source_address_is_used() {
    let Some(fwd) = forwarder() else { return };
    let mut r = rule();
    r.source_ip = Some(Ipv4Addr::new(127, 0, 0, 5));
    fwd.insert(key(), &r).unwrap();
    let (verdict, out) = fwd.test_run(&to_port_a(10, 0, 0x1111_1111)).unwrap();
    assert_eq!(verdict, Verdict::Deliver);
    assert_eq!(&out[26..30], &[127, 0, 0, 5]);
    assert!(ip_checksum_ok(&out));
    assert!(udp_checksum_ok(&out));
}
