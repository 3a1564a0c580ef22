//! The forwarding program: a TC ingress classifier that relays steady-state RTP of the
//! flows in its map without waking the media core.
//!
//! For an IPv4/UDP datagram whose (source address, source port, destination port) is a key
//! of the map, and whose RTP header is plain (version 2, no padding, extension or CSRCs),
//! whose SSRC is the rule's, whose payload type the rule maps, and whose sequence number
//! moves forward by 1–2999, the program:
//!
//! 1. counts it (packets, payload bytes, highest sequence number, RFC 3550 jitter);
//! 2. rewrites addresses, ports, payload type, sequence number, timestamp and SSRC as the
//!    media core would, and patches the IP and UDP checksums through the kernel's helpers
//!    (which handle every checksum state an skb can be in);
//! 3. hands it to the local stack (destination on this host) or sends it out of the rule's
//!    interface, the kernel resolving the next hop (`bpf_redirect_neigh`).
//!
//! Anything else, including RTCP, reordered or duplicate packets and a new SSRC, goes up
//! unchanged to the media core, which takes the flow back.

use crate::insn::{Alu, Asm, AsmError, Cond, Size, FP, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9};
use crate::rule::{
    V_BYTES, V_CLOCK, V_DST_IP, V_EGRESS, V_EXT_MAX, V_IN_SSRC, V_JITTER, V_LAST_NS, V_LAST_SEQ,
    V_LAST_TS, V_OUT_SSRC, V_PACKETS, V_PORTS, V_PT_MAP, V_SEQ_OFF, V_SRC_IP, V_TS_OFF,
};

/// `TC_ACT_OK`: deliver the (rewritten) packet.
const PASS: i32 = 0;
/// `TC_ACT_UNSPEC` / `TCX_NEXT`: not ours, on to whatever comes next.
const NEXT: i32 = -1;
/// Largest forward step of the sequence number taken in the kernel (RFC 3550 MAX_DROPOUT).
const MAX_STEP: i32 = 3000;

// Kernel helper ids.
const MAP_LOOKUP_ELEM: i32 = 1;
const KTIME_GET_NS: i32 = 5;
const L3_CSUM_REPLACE: i32 = 10;
const L4_CSUM_REPLACE: i32 = 11;
const REDIRECT_NEIGH: i32 = 152;
/// `bpf_l4_csum_replace` flags: the field is in the pseudo-header; keep a zero UDP checksum.
const F_PSEUDO_HDR: i32 = 0x10;
const F_MARK_MANGLED_0: i32 = 0x20;

// `struct __sk_buff` fields.
const SKB_DATA: i16 = 76;
const SKB_DATA_END: i16 = 80;

// Frame layout: Ethernet, IPv4 without options, UDP, RTP fixed header.
const ETH_TYPE: i16 = 12;
const IP: i16 = 14;
const IP_VHL: i16 = IP;
const IP_FRAG: i16 = IP + 6;
const IP_PROTO: i16 = IP + 9;
const IP_CSUM: i32 = IP as i32 + 10;
const IP_SRC: i16 = IP + 12;
const IP_DST: i16 = IP + 16;
const UDP: i16 = IP + 20;
const UDP_PORTS: i16 = UDP;
const UDP_LEN: i16 = UDP + 4;
const UDP_CSUM: i32 = UDP as i32 + 6;
const RTP: i16 = UDP + 8;
const RTP_PT: i16 = RTP + 1;
const RTP_SEQ: i16 = RTP + 2;
const RTP_TS: i16 = RTP + 4;
const RTP_SSRC: i16 = RTP + 8;
const FRAME_MIN: i32 = RTP as i32 + 12;

// Stack slots (offsets from the frame pointer).
const S_KEY: i16 = -8;
const S_PAYLOAD: i16 = -16;
const S_PT_BYTE: i16 = -24;
const S_SEQ: i16 = -32;
const S_STEP: i16 = -40;
const S_TS: i16 = -48;
const S_EGRESS: i16 = -120;
/// Old and new value of each rewritten 32-bit word, for the checksum helpers.
const S_WORDS: i16 = -216;

/// The words the program rewrites, in the order their checksum updates are applied: the
/// packet offset, whether the word is in the UDP pseudo-header, and whether the IP header
/// checksum covers it.
const WORDS: [(i16, bool, bool); 6] = [
    (IP_SRC, true, true),
    (IP_DST, true, true),
    (UDP_PORTS, false, false),
    (RTP, false, false),
    (RTP_TS, false, false),
    (RTP_SSRC, false, false),
];

fn old_slot(i: usize) -> i16 {
    S_WORDS + 16 * i as i16
}

fn new_slot(i: usize) -> i16 {
    old_slot(i) + 8
}

/// Builds the program's instructions; `map_fd` is the flow map.
pub(crate) fn build(map_fd: i32) -> Result<Vec<u8>, AsmError> {
    let mut a = Asm::default();
    let next = a.label();

    // r6 = ctx, r7 = data, r8 = data_end.
    a.mov(R6, R1);
    reload_packet(&mut a, next);
    a.load(Size::H, R2, R7, ETH_TYPE);
    a.jump_imm(Cond::Ne, R2, 0x0008, next); // ETH_P_IP, read little-endian
    a.load(Size::B, R2, R7, IP_VHL);
    a.jump_imm(Cond::Ne, R2, 0x45, next);
    a.load(Size::B, R2, R7, IP_PROTO);
    a.jump_imm(Cond::Ne, R2, 17, next);
    a.load(Size::H, R2, R7, IP_FRAG);
    a.alu_imm(Alu::And, R2, 0xff3f); // more-fragments flag and offset
    a.jump_imm(Cond::Ne, R2, 0, next);
    a.load(Size::B, R2, R7, RTP);
    a.jump_imm(Cond::Ne, R2, 0x80, next);

    // Key: source address, source port, destination port.
    a.load(Size::W, R2, R7, IP_SRC);
    a.store(Size::W, FP, S_KEY, R2);
    a.load(Size::W, R2, R7, UDP_PORTS);
    a.store(Size::W, FP, S_KEY + 4, R2);
    a.load_map_fd(R1, map_fd);
    a.mov(R2, FP);
    a.alu_imm(Alu::Add, R2, i32::from(S_KEY));
    a.call(MAP_LOOKUP_ELEM);
    a.jump_imm(Cond::Eq, R0, 0, next);
    a.mov(R9, R0);

    // The rule's SSRC only.
    a.load(Size::W, R2, R7, RTP_SSRC);
    a.load(Size::W, R3, R9, V_IN_SSRC);
    a.jump_reg(Cond::Ne, R2, R3, next);
    // Payload bytes: UDP length less the UDP and RTP headers.
    a.load(Size::H, R2, R7, UDP_LEN);
    a.swap_be(R2, 16);
    let long_enough = a.label();
    a.jump_imm(Cond::Ge, R2, 20, long_enough);
    a.goto(next);
    a.bind(long_enough);
    a.alu_imm(Alu::Sub, R2, 20);
    a.store(Size::DW, FP, S_PAYLOAD, R2);
    // Payload type through the rule's table; the marker bit is kept.
    a.load(Size::B, R2, R7, RTP_PT);
    a.mov(R3, R2);
    a.alu_imm(Alu::And, R3, 0x7f);
    a.alu_imm(Alu::And, R2, 0x80);
    a.mov(R4, R9);
    a.alu_reg(Alu::Add, R4, R3);
    a.load(Size::B, R4, R4, V_PT_MAP);
    a.jump_imm(Cond::Gt, R4, 127, next);
    a.alu_reg(Alu::Or, R2, R4);
    a.store(Size::DW, FP, S_PT_BYTE, R2);
    // Sequence number: forward by 1..MAX_STEP from the highest one.
    a.load(Size::H, R2, R7, RTP_SEQ);
    a.swap_be(R2, 16);
    a.load(Size::H, R3, R9, V_LAST_SEQ);
    a.mov(R4, R2);
    a.alu_reg(Alu::Sub, R4, R3);
    a.alu_imm(Alu::And, R4, 0xffff);
    a.jump_imm(Cond::Eq, R4, 0, next);
    a.jump_imm(Cond::Ge, R4, MAX_STEP, next);
    a.store(Size::DW, FP, S_SEQ, R2);
    a.store(Size::DW, FP, S_STEP, R4);
    a.load(Size::W, R2, R7, RTP_TS);
    a.swap_be(R2, 32);
    a.store(Size::DW, FP, S_TS, R2);

    // Route: local destinations go up the stack, others out of the rule's interface.
    a.load(Size::W, R2, R9, V_EGRESS);
    a.store(Size::DW, FP, S_EGRESS, R2);
    reload_packet(&mut a, next);

    count(&mut a);
    rewrite_headers(&mut a);
    patch_checksums(&mut a);

    let deliver = a.label();
    a.load(Size::DW, R1, FP, S_EGRESS);
    a.jump_imm(Cond::Eq, R1, 0, deliver);
    a.mov_imm(R2, 0);
    a.mov_imm(R3, 0);
    a.mov_imm(R4, 0);
    a.call(REDIRECT_NEIGH);
    a.exit();
    a.bind(deliver);
    a.mov_imm(R0, PASS);
    a.exit();
    a.bind(next);
    a.mov_imm(R0, NEXT);
    a.exit();
    a.finish()
}

/// r7 = data, r8 = data_end, with the whole fixed frame in bounds (else `next`).
fn reload_packet(a: &mut Asm, next: crate::insn::Label) {
    a.load(Size::W, R7, R6, SKB_DATA);
    a.load(Size::W, R8, R6, SKB_DATA_END);
    a.mov(R2, R7);
    a.alu_imm(Alu::Add, R2, FRAME_MIN);
    a.jump_reg(Cond::Gt, R2, R8, next);
}

/// `reg` = the address to send from: the rule's, else the one the packet came to.
fn source_ip(a: &mut Asm, reg: crate::insn::Reg) {
    let have = a.label();
    a.load(Size::W, reg, R9, V_SRC_IP);
    a.jump_imm(Cond::Ne, reg, 0, have);
    a.load(Size::W, reg, R7, IP_DST);
    a.bind(have);
}

/// Receive statistics: count, highest sequence, jitter (RFC 3550 A.8 in 1/16 units).
fn count(a: &mut Asm) {
    a.call(KTIME_GET_NS);
    let no_jitter = a.label();
    a.load(Size::DW, R2, R9, V_LAST_NS);
    a.jump_imm(Cond::Eq, R2, 0, no_jitter);
    // D = (arrival difference in timestamp units) - (timestamp difference), as i32.
    a.mov(R3, R0);
    a.alu_reg(Alu::Sub, R3, R2);
    a.load(Size::W, R4, R9, V_CLOCK);
    a.alu_reg(Alu::Mul, R3, R4);
    a.alu_imm(Alu::Div, R3, 1_000_000_000);
    a.load(Size::DW, R4, FP, S_TS);
    a.load(Size::W, R5, R9, V_LAST_TS);
    a.alu_reg(Alu::Sub, R4, R5);
    a.alu_reg(Alu::Sub, R3, R4);
    a.alu_imm(Alu::Lsh, R3, 32);
    a.alu_imm(Alu::Arsh, R3, 32);
    let positive = a.label();
    a.jump_imm(Cond::Sge, R3, 0, positive);
    a.neg(R3);
    a.bind(positive);
    // J += |D| - ((J + 8) >> 4)
    a.load(Size::W, R4, R9, V_JITTER);
    a.mov(R5, R4);
    a.alu_imm(Alu::Add, R5, 8);
    a.alu_imm(Alu::Rsh, R5, 4);
    a.alu_reg(Alu::Sub, R3, R5);
    a.alu_reg(Alu::Add, R4, R3);
    a.store(Size::W, R9, V_JITTER, R4);
    a.bind(no_jitter);
    a.store(Size::DW, R9, V_LAST_NS, R0);
    a.load(Size::DW, R2, FP, S_TS);
    a.store(Size::W, R9, V_LAST_TS, R2);
    a.load(Size::DW, R2, FP, S_SEQ);
    a.store(Size::H, R9, V_LAST_SEQ, R2);
    a.load(Size::W, R2, R9, V_EXT_MAX);
    a.load(Size::DW, R3, FP, S_STEP);
    a.alu_reg(Alu::Add, R2, R3);
    a.store(Size::W, R9, V_EXT_MAX, R2);
    a.mov_imm(R2, 1);
    a.atomic_add64(R9, V_PACKETS, R2);
    a.load(Size::DW, R2, FP, S_PAYLOAD);
    a.atomic_add64(R9, V_BYTES, R2);
}

/// Rewrites the headers in place, saving each changed word's old and new value.
fn rewrite_headers(a: &mut Asm) {
    let save_old = |a: &mut Asm, i: usize| {
        a.load(Size::W, R2, R7, WORDS[i].0);
        a.store(Size::DW, FP, old_slot(i), R2);
    };
    let save_new = |a: &mut Asm, i: usize| {
        a.load(Size::W, R2, R7, WORDS[i].0);
        a.store(Size::DW, FP, new_slot(i), R2);
    };
    // Addresses and ports.
    save_old(a, 0);
    source_ip(a, R3);
    a.store(Size::W, R7, IP_SRC, R3);
    save_new(a, 0);
    save_old(a, 1);
    a.load(Size::W, R3, R9, V_DST_IP);
    a.store(Size::W, R7, IP_DST, R3);
    save_new(a, 1);
    save_old(a, 2);
    a.load(Size::W, R3, R9, V_PORTS);
    a.store(Size::W, R7, UDP_PORTS, R3);
    save_new(a, 2);
    // Host-order `field` (saved at `slot`) plus the rule's offset, back in network order.
    let offset = |a: &mut Asm, size: Size, bits: i32, slot: i16, off: i16, field: i16| {
        a.load(Size::DW, R3, FP, slot);
        a.load(size, R4, R9, off);
        a.alu_reg(Alu::Add, R3, R4);
        a.swap_be(R3, bits);
        a.store(size, R7, field, R3);
    };
    // First RTP word: payload type (and marker), sequence number.
    save_old(a, 3);
    a.load(Size::DW, R3, FP, S_PT_BYTE);
    a.store(Size::B, R7, RTP_PT, R3);
    offset(a, Size::H, 16, S_SEQ, V_SEQ_OFF, RTP_SEQ);
    save_new(a, 3);
    // Timestamp.
    save_old(a, 4);
    offset(a, Size::W, 32, S_TS, V_TS_OFF, RTP_TS);
    save_new(a, 4);
    // SSRC.
    save_old(a, 5);
    a.load(Size::W, R3, R9, V_OUT_SSRC);
    a.store(Size::W, R7, RTP_SSRC, R3);
    save_new(a, 5);
}

/// Incremental checksum updates for every rewritten word (RFC 1624, by the kernel).
fn patch_checksums(a: &mut Asm) {
    for (i, &(_, pseudo, ip)) in WORDS.iter().enumerate() {
        if ip {
            a.mov(R1, R6);
            a.mov_imm(R2, IP_CSUM);
            a.load(Size::DW, R3, FP, old_slot(i));
            a.load(Size::DW, R4, FP, new_slot(i));
            a.mov_imm(R5, 4);
            a.call(L3_CSUM_REPLACE);
        }
        let flags = F_MARK_MANGLED_0 | 4 | if pseudo { F_PSEUDO_HDR } else { 0 };
        a.mov(R1, R6);
        a.mov_imm(R2, UDP_CSUM);
        a.load(Size::DW, R3, FP, old_slot(i));
        a.load(Size::DW, R4, FP, new_slot(i));
        a.mov_imm(R5, flags);
        a.call(L4_CSUM_REPLACE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_program_assembles_and_fits_the_stack() {
        let bytes = build(3).unwrap();
        assert_eq!(bytes.len() % 8, 0);
        assert!(bytes.len() / 8 < 4096);
        // The deepest stack slot is within the 512 bytes the kernel allows, and the
        // checksum words end below the egress slot.
        const { assert!(S_WORDS > -512) };
        assert!(new_slot(WORDS.len() - 1) + 8 <= S_EGRESS);
    }
}
