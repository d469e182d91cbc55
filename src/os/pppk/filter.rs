//! A classic BPF socket filter for a call's PPPoX socket while MPPE is in
//! use. The kernel runs it on each GRE packet of the call (the `pptp`
//! module hands the packet to the socket with the GRE header first) before
//! the packet reaches `ppp_generic`, whose receive path passes IP that
//! arrives in clear even with `SC_MUST_COMP` set: only its transmit path
//! insists on compression. Without this filter anyone who spoofs the
//! client's address and guesses the Call ID could put unencrypted packets
//! into the server's network through a session that requires MPPE.
//!
//! What it drops: a GRE packet with a payload (S bit, RFC 2637 §4.1) whose
//! PPP protocol (after an optional `ff 03`, RFC 1662 §3.2; one byte when
//! compressed, RFC 1661 §6.5) is a network-layer protocol (below 0x4000,
//! RFC 1661 §2) other than 0x00fd, compressed datagrams (RFC 1962 §2).
//! LCP, authentication, the NCPs and CCP pass, as does a packet without
//! a payload (an acknowledgement).

/// `BPF_LD | BPF_B | BPF_ABS`: A = byte at k.
const LDB_ABS: u16 = 0x30;
/// `BPF_LD | BPF_H | BPF_IND`: A = 16 bits at X + k.
const LDH_IND: u16 = 0x48;
/// `BPF_LD | BPF_B | BPF_IND`: A = byte at X + k.
const LDB_IND: u16 = 0x50;
/// `BPF_LDX | BPF_IMM`: X = k.
const LDX_IMM: u16 = 0x01;
/// `BPF_ALU | BPF_ADD | BPF_K`: A += k.
const ADD_K: u16 = 0x04;
/// `BPF_MISC | BPF_TAX`: X = A.
const TAX: u16 = 0x07;
/// `BPF_MISC | BPF_TXA`: A = X.
const TXA: u16 = 0x87;
/// `BPF_JMP | BPF_JEQ | BPF_K`.
const JEQ: u16 = 0x15;
/// `BPF_JMP | BPF_JGE | BPF_K`.
const JGE: u16 = 0x35;
/// `BPF_JMP | BPF_JSET | BPF_K`.
const JSET: u16 = 0x45;
/// `BPF_RET | BPF_K`.
const RET: u16 = 0x06;

/// The whole packet is kept.
const ACCEPT: u32 = u32::MAX;

const fn op(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Jumps count the instructions skipped after the jump itself.
pub const MPPE_ONLY: [libc::sock_filter; 21] = [
    op(LDB_ABS, 0, 0, 0),  // 0: GRE flags
    op(JSET, 1, 0, 0x10),  // 1: S: a payload follows
    op(RET, 0, 0, ACCEPT), // 2: an acknowledgement alone
    op(LDX_IMM, 0, 0, 12), // 3: PPP after the sequence number
    op(LDB_ABS, 0, 0, 1),  // 4: GRE flags and version
    op(JSET, 0, 1, 0x80),  // 5: A: an acknowledgement number too
    op(LDX_IMM, 0, 0, 16), // 6
    op(LDH_IND, 0, 0, 0),  // 7
    op(JEQ, 0, 3, 0xff03), // 8: address and control fields
    op(TXA, 0, 0, 0),      // 9
    op(ADD_K, 0, 0, 2),    // 10
    op(TAX, 0, 0, 0),      // 11
    op(LDB_IND, 0, 0, 0),  // 12: the protocol's first byte
    op(JSET, 0, 1, 0x01),  // 13: odd: the whole (compressed) protocol
    op(JEQ, 4, 5, 0xfd),   // 14: compressed datagram, or IP in clear
    op(JGE, 3, 0, 0x40),   // 15: a control protocol
    op(JEQ, 0, 3, 0x00),   // 16: 0x01xx-0x3fxx: network layer
    op(LDB_IND, 0, 0, 1),  // 17
    op(JEQ, 0, 1, 0xfd),   // 18
    op(RET, 0, 0, ACCEPT), // 19
    op(RET, 0, 0, 0),      // 20: dropped
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Classic BPF as the kernel runs a socket filter: a load beyond the
    /// packet ends the program with 0 (dropped).
    fn run(prog: &[libc::sock_filter], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let byte = |at: u32| pkt.get(at as usize).map(|b| u32::from(*b));
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LDB_ABS => match byte(i.k) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LDB_IND => match byte(x + i.k) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LDH_IND => match (byte(x + i.k), byte(x + i.k + 1)) {
                    (Some(h), Some(l)) => a = h << 8 | l,
                    _ => return 0,
                },
                LDX_IMM => x = i.k,
                ADD_K => a = a.wrapping_add(i.k),
                TAX => x = a,
                TXA => a = x,
                JEQ | JGE | JSET => {
                    let taken = match i.code {
                        JEQ => a == i.k,
                        JGE => a >= i.k,
                        _ => a & i.k != 0,
                    };
                    pc += usize::from(if taken { i.jt } else { i.jf });
                }
                RET => return i.k,
                c => panic!("opcode {c:#x} not in the program"),
            }
        }
    }

    /// A GRE packet of call 0x1234 (RFC 2637 §4.1) with sequence number
    /// and, if `ack`, acknowledgement number, carrying `ppp`.
    fn gre(ack: bool, ppp: &[u8]) -> Vec<u8> {
        let mut p = vec![0x30, if ack { 0x81 } else { 0x01 }, 0x88, 0x0b];
        p.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 7]);
        if ack {
            p.extend_from_slice(&[0, 0, 0, 6]);
        }
        p.extend_from_slice(ppp);
        p
    }

    /// Each PPP protocol with and without `ff 03`, in full and (when it
    /// can be) compressed to one byte, with and without an ack number.
    fn frames(protocol: u16) -> Vec<Vec<u8>> {
        let [hi, lo] = protocol.to_be_bytes();
        let mut heads = vec![vec![hi, lo]];
        if hi == 0 && lo & 1 == 1 {
            heads.push(vec![lo]);
        }
        let mut out = Vec::new();
        for head in heads {
            for acf in [false, true] {
                let mut ppp = if acf { vec![0xff, 0x03] } else { vec![] };
                ppp.extend_from_slice(&head);
                ppp.extend_from_slice(&[0x45, 0, 0, 20]);
                for ack in [false, true] {
                    out.push(gre(ack, &ppp));
                }
            }
        }
        out
    }

    #[test]
    fn ip_in_clear_is_dropped_in_every_framing() {
        // IPv4, IPv6, VJ compressed and uncompressed TCP (RFC 1332 §4).
        for protocol in [0x0021, 0x0057, 0x002d, 0x002f, 0x0281, 0x3f01] {
            for f in frames(protocol) {
                assert_eq!(run(&MPPE_ONLY, &f), 0, "{protocol:#06x} passed: {f:02x?}");
            }
        }
    }

    #[test]
    fn compressed_datagrams_and_control_protocols_pass() {
        // MPPE (RFC 3078 §3), LCP, PAP, CHAP, IPCP, IPV6CP, CCP.
        for protocol in [0x00fd, 0xc021, 0xc023, 0xc223, 0x8021, 0x8057, 0x80fd] {
            for f in frames(protocol) {
                assert_eq!(
                    run(&MPPE_ONLY, &f),
                    ACCEPT,
                    "{protocol:#06x} dropped: {f:02x?}"
                );
            }
        }
    }

    #[test]
    fn an_acknowledgement_alone_passes_and_a_truncated_frame_does_not() {
        let ack_only = [0x20, 0x81, 0x88, 0x0b, 0, 0, 0x12, 0x34, 0, 0, 0, 6];
        assert_eq!(run(&MPPE_ONLY, &ack_only), ACCEPT);
        // A payload that ends inside the protocol field.
        assert_eq!(run(&MPPE_ONLY, &gre(false, &[0xff, 0x03])), 0);
        assert_eq!(run(&MPPE_ONLY, &gre(true, &[0x00])), 0);
        assert_eq!(run(&MPPE_ONLY, &[0x30]), 0);
    }
}
