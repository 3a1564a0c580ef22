//! The forwarding program attached to the loopback interface, with real UDP sockets: a
//! flow with a rule reaches the far phone from our other port, rewritten, and never
//! reaches the socket it was sent to; without a rule it does.
//!
//! Needs `CAP_BPF` and `CAP_NET_ADMIN` and Linux 6.6 (see `tests/program.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use warden_kfwd::{FlowKey, Forwarder, Rule, Seed, NO_PT};

fn attached() -> Option<Forwarder> {
    let required = std::env::var("WARDEN_REQUIRE_BPF").as_deref() == Ok("1");
    let result = Forwarder::load(16).and_then(|mut f| f.attach(&["lo".to_string()]).map(|()| f));
    match result {
        Ok(f) => Some(f),
        Err(e) if !required => {
            eprintln!("skipped: the forwarding program cannot be attached here: {e}");
            None
        }
        Err(e) => panic!("WARDEN_REQUIRE_BPF=1 and the program cannot be attached: {e}"),
    }
}

fn bind() -> UdpSocket {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    s
}

fn v4(s: &UdpSocket) -> SocketAddrV4 {
    match s.local_addr().unwrap() {
        std::net::SocketAddr::V4(a) => a,
        other => panic!("not IPv4: {other}"),
    }
}

fn rtp(seq: u16) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&[0x11; 160]);
    p
}

#[test]
fn a_flow_with_a_rule_goes_straight_to_the_far_phone() {
    let Some(fwd) = attached() else { return };
    let (phone_a, port_a, port_b, phone_b) = (bind(), bind(), bind(), bind());
    let mut payload_types = [NO_PT; 128];
    payload_types[0] = 0;
    fwd.insert(
        FlowKey {
            source: v4(&phone_a),
            local_port: v4(&port_a).port(),
        },
        &Rule {
            in_ssrc: 0xaabb_ccdd,
            out_ssrc: 0x0102_0304,
            seq_offset: 7,
            ts_offset: 0,
            clock_rate: 8000,
            source_ip: None,
            source_port: v4(&port_b).port(),
            destination: v4(&phone_b),
            egress: None,
            payload_types,
            seed: Seed {
                highest_seq_ext: 1,
                ..Seed::default()
            },
        },
    )
    .unwrap();

    for seq in 2..12u16 {
        phone_a.send_to(&rtp(seq), v4(&port_a)).unwrap();
        let mut buf = [0u8; 512];
        let (n, from) = phone_b.recv_from(&mut buf).unwrap();
        assert_eq!(
            from,
            std::net::SocketAddr::V4(v4(&port_b)),
            "sent from our port B"
        );
        assert_eq!(n, 172);
        assert_eq!(u16::from_be_bytes([buf[2], buf[3]]), seq + 7);
        assert_eq!(&buf[8..12], &[1, 2, 3, 4]);
        assert_eq!(&buf[12..n], &[0x11; 160][..]);
    }
    port_a.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 512];
    assert!(
        port_a.recv_from(&mut buf).is_err(),
        "port A saw none of them"
    );

    // The media core takes the flow back: packets reach port A again.
    let state = fwd
        .remove(FlowKey {
            source: v4(&phone_a),
            local_port: v4(&port_a).port(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(state.packets, 10);
    assert_eq!(state.highest_seq_ext, 11);
    phone_a.send_to(&rtp(12), v4(&port_a)).unwrap();
    port_a.set_nonblocking(false).unwrap();
    port_a
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let (n, _) = port_a.recv_from(&mut buf).unwrap();
    assert_eq!(n, 172);
}
