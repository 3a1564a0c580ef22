//! The forwarding program's remote path: a flow whose destination is on another host is
//! sent out of the route's interface, the kernel resolving the next hop
//! (`bpf_redirect_neigh`). The other host is a
//! network namespace behind a veth pair; a Python listener inside it reports what arrives.
//!
//! Needs root (namespaces, `CAP_BPF`, `CAP_NET_ADMIN`), Linux 6.6, `ip` and `python3`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::{Command, Stdio};
use std::time::Duration;

use warden_kfwd::{Egress, FlowKey, Forwarder, Routes, Rule, Seed, NO_PT};

fn required() -> bool {
    std::env::var("WARDEN_REQUIRE_BPF").as_deref() == Ok("1")
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A namespace with one veth link to this one, removed on drop.
struct Peer {
    ns: String,
    here: String,
}

impl Peer {
    fn new(here_ip: &str, there_ip: &str) -> Option<Peer> {
        let id = std::process::id();
        let peer = Peer {
            ns: format!("wkf{id}"),
            here: format!("wkfa{id}"),
        };
        let there = format!("wkfb{id}");
        let ok = ip(&["netns", "add", &peer.ns])
            && ip(&[
                "link", "add", &peer.here, "type", "veth", "peer", "name", &there,
            ])
            && ip(&["link", "set", &there, "netns", &peer.ns])
            && ip(&["addr", "add", &format!("{here_ip}/24"), "dev", &peer.here])
            && ip(&["link", "set", &peer.here, "up"])
            && ip(&[
                "-n",
                &peer.ns,
                "addr",
                "add",
                &format!("{there_ip}/24"),
                "dev",
                &there,
            ])
            && ip(&["-n", &peer.ns, "link", "set", &there, "up"])
            && ip(&["-n", &peer.ns, "link", "set", "lo", "up"]);
        ok.then_some(peer)
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        ip(&["link", "del", &self.here]);
        ip(&["netns", "del", &self.ns]);
    }
}

#[test]
fn a_flow_to_another_host_is_routed_out_of_its_interface() {
    let octet = 100 + (std::process::id() % 100) as u8;
    let (here_ip, there_ip) = (
        Ipv4Addr::new(10, 199, octet, 1),
        Ipv4Addr::new(10, 199, octet, 2),
    );
    let Some(peer) = Peer::new(&here_ip.to_string(), &there_ip.to_string()) else {
        assert!(
            !required(),
            "WARDEN_REQUIRE_BPF=1 and no network namespace could be made"
        );
        eprintln!("skipped: no network namespace could be made here");
        return;
    };
    let loaded = Forwarder::load(16)
        .and_then(|mut f| f.attach(&["lo".to_string(), peer.here.clone()]).map(|()| f));
    let fwd = match loaded {
        Ok(f) => f,
        Err(e) if !required() => {
            eprintln!("skipped: the forwarding program cannot be attached here: {e}");
            return;
        }
        Err(e) => panic!("WARDEN_REQUIRE_BPF=1 and the program cannot be attached: {e}"),
    };
    // The far phone: one datagram, printed as "address port hex".
    let mut listener = Command::new("ip")
        .args(["netns", "exec", &peer.ns, "python3", "-c"])
        .arg(format!(
            "import socket,sys\n\
             s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
             s.bind(('{there_ip}',7000))\n\
             print('ready',flush=True)\n\
             s.settimeout(5)\n\
             d,a=s.recvfrom(2048)\n\
             print(a[0],a[1],d.hex(),flush=True)\n"
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(listener.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert_eq!(line.trim(), "ready");

    let bind = |port| UdpSocket::bind((here_ip, port)).unwrap();
    let (phone_a, port_a, port_b) = (bind(0), bind(0), bind(0));
    let local = |s: &UdpSocket| match s.local_addr().unwrap() {
        std::net::SocketAddr::V4(a) => a,
        other => panic!("{other}"),
    };
    let mut payload_types = [NO_PT; 128];
    payload_types[8] = 8;
    fwd.insert(
        FlowKey {
            source: local(&phone_a),
            local_port: local(&port_a).port(),
        },
        &Rule {
            in_ssrc: 7,
            out_ssrc: 9,
            seq_offset: 100,
            ts_offset: 0,
            clock_rate: 8000,
            source_ip: None,
            source_port: local(&port_b).port(),
            destination: SocketAddrV4::new(there_ip, 7000),
            egress: match Routes::new().egress(there_ip) {
                Some(Egress::Interface(index)) => Some(index),
                other => panic!("no way out to {there_ip}: {other:?}"),
            },
            payload_types,
            seed: Seed {
                highest_seq_ext: 0,
                ..Seed::default()
            },
        },
    )
    .unwrap();
    // The first packet may wait for ARP; send a few.
    for seq in 1..=5u16 {
        let mut p = vec![0x80, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
        p[2..4].copy_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&[0xAB; 160]);
        phone_a.send_to(&p, local(&port_a)).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    line.clear();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "the far phone got nothing: {line:?}");
    assert_eq!(fields[0], here_ip.to_string(), "from our address");
    assert_eq!(
        fields[1],
        local(&port_b).port().to_string(),
        "from our port B"
    );
    let got: Vec<u8> = (0..fields[2].len() / 2)
        .map(|i| u8::from_str_radix(&fields[2][2 * i..2 * i + 2], 16).unwrap())
        .collect();
    assert_eq!(got.len(), 172);
    assert_eq!(got[1], 8);
    assert!((101..=105).contains(&u16::from_be_bytes([got[2], got[3]])));
    assert_eq!(&got[8..12], &[0, 0, 0, 9]);
    let state = fwd
        .peek(FlowKey {
            source: local(&phone_a),
            local_port: local(&port_a).port(),
        })
        .unwrap()
        .unwrap();
    assert_eq!(state.packets, 5);
    let _ = listener.kill();
    let _ = listener.wait();
}
