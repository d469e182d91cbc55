//! NFQUEUE messages (linux/netfilter/nfnetlink_queue.h), sans-IO: the
//! configuration the helper sends when it binds its queue, the verdicts,
//! and the packets the kernel queues. Structures inside the attributes are
//! big-endian; netlink and attribute headers are in the host's byte order
//! (`nfnl`). The socket is `os::nfqueue`.
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use netlink_packet_core::NlasIterator;

use super::nfnl::{Attr, HEADERS, NLM_F_ACK, NLM_F_REQUEST, NLMSG_ERROR, NfGen, be32};
use super::nfnl::{each_message, message};
use super::uapi::{NF_ACCEPT, NF_DROP, NF_STOP};

const NFNL_SUBSYS_QUEUE: u16 = 3;
const NFQNL_MSG_PACKET: u16 = 0;
const NFQNL_MSG_VERDICT: u16 = 1;
const NFQNL_MSG_CONFIG: u16 = 2;

// enum nfqnl_attr_type
const NFQA_PACKET_HDR: u16 = 1;
const NFQA_VERDICT_HDR: u16 = 2;
const NFQA_IFINDEX_INDEV: u16 = 5;
const NFQA_IFINDEX_OUTDEV: u16 = 6;
const NFQA_PAYLOAD: u16 = 10;

// enum nfqnl_attr_config, nfqnl_msg_config_cmds, nfqnl_config_mode
const NFQA_CFG_CMD: u16 = 1;
const NFQA_CFG_PARAMS: u16 = 2;
const NFQA_CFG_QUEUE_MAXLEN: u16 = 3;
const NFQA_CFG_MASK: u16 = 4;
const NFQA_CFG_FLAGS: u16 = 5;
const NFQNL_CFG_CMD_BIND: u8 = 1;
const NFQNL_COPY_PACKET: u8 = 2;
/// NFQA_CFG_F_FAIL_OPEN: when the queue is full, packets pass.
const F_FAIL_OPEN: u32 = 1;

/// One configuration request for queue `queue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Config {
    Bind,
    /// Copy whole packets, up to this many bytes.
    CopyPacket(u32),
    /// Let packets pass (rather than drop them) when the queue is full.
    FailOpen,
    /// Packets the kernel holds for this queue before it fails open.
    MaxLen(u32),
}

fn nfgen(queue: u16) -> NfGen {
    NfGen {
        family: 0, // AF_UNSPEC: bound per queue, not per protocol family
        res_id: queue,
    }
}

/// A configuration message, acknowledged by the kernel.
pub fn config(queue: u16, c: Config, seq: u32) -> Vec<u8> {
    let attrs = match c {
        // struct nfqnl_msg_config_cmd: command, pad, pf (__be16).
        Config::Bind => vec![Attr::Bytes(NFQA_CFG_CMD, vec![NFQNL_CFG_CMD_BIND, 0, 0, 0])],
        // struct nfqnl_msg_config_params (packed): copy_range (__be32), copy_mode.
        Config::CopyPacket(range) => {
            let mut v = range.to_be_bytes().to_vec();
            v.push(NFQNL_COPY_PACKET);
            vec![Attr::Bytes(NFQA_CFG_PARAMS, v)]
        }
        Config::FailOpen => vec![
            be32(NFQA_CFG_FLAGS, F_FAIL_OPEN),
            be32(NFQA_CFG_MASK, F_FAIL_OPEN),
        ],
        Config::MaxLen(n) => vec![be32(NFQA_CFG_QUEUE_MAXLEN, n)],
    };
    let mut out = Vec::new();
    let ty = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_CONFIG;
    message(
        &mut out,
        ty,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        nfgen(queue),
        &attrs,
    );
    out
}

/// What becomes of a queued packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    Accept,
    /// Accept with these bytes in place of the packet.
    AcceptAs(&'a [u8]),
    /// Accept and skip the rest of the hook (`NF_STOP`).
    Stop,
    /// `Stop` with these bytes in place of the packet.
    StopAs(&'a [u8]),
    Drop,
}

/// Append the verdict for packet `id` of queue `queue` to `out`; not
/// acknowledged (errors still come back).
pub fn verdict(out: &mut Vec<u8>, queue: u16, id: u32, d: Decision<'_>) {
    let (code, bytes) = match d {
        Decision::Accept => (NF_ACCEPT, None),
        Decision::AcceptAs(b) => (NF_ACCEPT, Some(b)),
        Decision::Stop => (NF_STOP, None),
        Decision::StopAs(b) => (NF_STOP, Some(b)),
        Decision::Drop => (NF_DROP, None),
    };
    // struct nfqnl_msg_verdict_hdr: verdict, id (both __be32).
    let mut hdr = code.to_be_bytes().to_vec();
    hdr.extend(id.to_be_bytes());
    let mut attrs = vec![Attr::Bytes(NFQA_VERDICT_HDR, hdr)];
    if let Some(bytes) = bytes {
        attrs.push(Attr::Bytes(NFQA_PAYLOAD, bytes.to_vec()));
    }
    let ty = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_VERDICT;
    message(out, ty, NLM_F_REQUEST, 0, nfgen(queue), &attrs);
}

/// A queued packet: the kernel's id, the interfaces, the IP packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub queue: u16,
    pub id: u32,
    /// Input interface index (0: none, e.g. locally generated).
    pub indev: u32,
    /// Output interface index (0: not yet routed).
    pub outdev: u32,
    pub payload: Vec<u8>,
}

/// One message of what the queue socket received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Packet(Packet),
    /// An acknowledgement: 0, or a negative errno.
    Ack(i32),
}

fn be32_of(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?))
}

fn packet(queue: u16, attrs: &[u8]) -> Option<Packet> {
    let (mut id, mut indev, mut outdev, mut payload) = (None, 0, 0, None);
    for a in NlasIterator::new(attrs) {
        let a = a.ok()?;
        match a.kind() {
            // struct nfqnl_msg_packet_hdr (packed): packet_id (__be32),
            // hw_protocol (__be16), hook.
            NFQA_PACKET_HDR => id = be32_of(a.value()),
            NFQA_IFINDEX_INDEV => indev = be32_of(a.value())?,
            NFQA_IFINDEX_OUTDEV => outdev = be32_of(a.value())?,
            NFQA_PAYLOAD => payload = Some(a.value().to_vec()),
            _ => {}
        }
    }
    Some(Packet {
        queue,
        id: id?,
        indev,
        outdev,
        payload: payload.unwrap_or_default(),
    })
}

/// The packets and acknowledgements in one datagram from the queue socket;
/// malformed messages are skipped, and parsing stops at a malformed header.
/// Never panics.
pub fn parse(buf: &[u8]) -> Vec<Incoming> {
    let mut out = Vec::new();
    for m in each_message(buf) {
        let p = m.payload();
        if m.message_type() == NLMSG_ERROR {
            if let Some(b) = p.get(..4).and_then(|b| <[u8; 4]>::try_from(b).ok()) {
                out.push(Incoming::Ack(i32::from_ne_bytes(b)));
            }
        } else if m.message_type() == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET {
            let queue = p
                .get(2..4)
                .and_then(|q| <[u8; 2]>::try_from(q).ok())
                .map_or(0, u16::from_be_bytes);
            if let Some(pkt) = p.get(HEADERS - 16..).and_then(|a| packet(queue, a)) {
                out.push(Incoming::Packet(pkt));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;

    // Every message below is pinned byte for byte for each host byte order:
    // nlmsghdr (len, type, flags, seq, pid) and nlattr (len, type) in the
    // host's order; nfgenmsg's res_id (the queue) and everything inside the
    // attributes big-endian.

    #[test]
    fn config_bytes_per_host_byte_order() {
        let got = [
            config(1723, Config::Bind, 1),
            config(1723, Config::CopyPacket(0xffff), 2),
            config(1723, Config::FailOpen, 3),
            config(1723, Config::MaxLen(4096), 4),
        ];
        #[cfg(target_endian = "little")]
        let want = [
            "1c000000 0203 0500 01000000 00000000  00 00 06bb  0800 0100 01 00 0000",
            "20000000 0203 0500 02000000 00000000  00 00 06bb  0900 0200 0000ffff 02 000000",
            "24000000 0203 0500 03000000 00000000  00 00 06bb  0800 0500 00000001  0800 0400 00000001",
            "1c000000 0203 0500 04000000 00000000  00 00 06bb  0800 0300 00001000",
        ];
        #[cfg(target_endian = "big")]
        let want = [
            "0000001c 0302 0005 00000001 00000000  00 00 06bb  0008 0001 01 00 0000",
            "00000020 0302 0005 00000002 00000000  00 00 06bb  0009 0002 0000ffff 02 000000",
            "00000024 0302 0005 00000003 00000000  00 00 06bb  0008 0005 00000001  0008 0004 00000001",
            "0000001c 0302 0005 00000004 00000000  00 00 06bb  0008 0003 00001000",
        ];
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g, &hex(w), "{w}");
        }
    }

    #[test]
    fn verdict_bytes_per_host_byte_order() {
        let mut out = Vec::new();
        verdict(&mut out, 1723, 0x0102_0304, Decision::Accept);
        verdict(&mut out, 1723, 7, Decision::Drop);
        verdict(&mut out, 1723, 8, Decision::AcceptAs(&[0x45, 0, 0, 20, 9]));
        verdict(&mut out, 1724, 9, Decision::Stop);
        verdict(&mut out, 1724, 10, Decision::StopAs(&[0x45, 0, 0, 20, 9]));
        #[cfg(target_endian = "little")]
        let want = hex("20000000 0103 0100 00000000 00000000  00 00 06bb  0c00 0200 00000001 01020304
                        20000000 0103 0100 00000000 00000000  00 00 06bb  0c00 0200 00000000 00000007
                        2c000000 0103 0100 00000000 00000000  00 00 06bb  0c00 0200 00000001 00000008
                        0900 0a00 45000014 09 000000
                        20000000 0103 0100 00000000 00000000  00 00 06bc  0c00 0200 00000005 00000009
                        2c000000 0103 0100 00000000 00000000  00 00 06bc  0c00 0200 00000005 0000000a
                        0900 0a00 45000014 09 000000");
        #[cfg(target_endian = "big")]
        let want = hex("00000020 0301 0001 00000000 00000000  00 00 06bb  000c 0002 00000001 01020304
                        00000020 0301 0001 00000000 00000000  00 00 06bb  000c 0002 00000000 00000007
                        0000002c 0301 0001 00000000 00000000  00 00 06bb  000c 0002 00000001 00000008
                        0009 000a 45000014 09 000000
                        00000020 0301 0001 00000000 00000000  00 00 06bc  000c 0002 00000005 00000009
                        0000002c 0301 0001 00000000 00000000  00 00 06bc  000c 0002 00000005 0000000a
                        0009 000a 45000014 09 000000");
        assert_eq!(out, want);
    }

    /// What the kernel sends: a packet (header, interfaces, payload, and
    /// attributes the helper does not read), then an acknowledgement.
    #[test]
    fn packets_and_acks_parse_per_host_byte_order() {
        #[cfg(target_endian = "little")]
        let buf = hex("40000000 0003 0000 00000000 00000000  02 00 06bb
                       0b00 0100 0000002a 0800 03 00        # packet id 42, IPv4, hook 3
                       0800 0500 00000002                   # indev 2
                       0800 0600 00000003                   # outdev 3
                       0800 0e00 00000000                   # skb info (ignored)
                       0800 0a00 45000014                   # payload
                       24000000 0200 0000 01000000 00000000  fbffffff
                       10000000 0000 0000 00000000 00000000");
        #[cfg(target_endian = "big")]
        let buf = hex("00000040 0300 0000 00000000 00000000  02 00 06bb
                       000b 0001 0000002a 0800 03 00        # packet id 42, IPv4, hook 3
                       0008 0005 00000002                   # indev 2
                       0008 0006 00000003                   # outdev 3
                       0008 000e 00000000                   # skb info (ignored)
                       0008 000a 45000014                   # payload
                       00000024 0002 0000 00000001 00000000  fffffffb
                       00000010 0000 0000 00000000 00000000");
        assert_eq!(
            parse(&buf),
            vec![
                Incoming::Packet(Packet {
                    queue: 1723,
                    id: 42,
                    indev: 2,
                    outdev: 3,
                    payload: vec![0x45, 0, 0, 0x14],
                }),
                Incoming::Ack(-5),
            ]
        );
    }

    #[test]
    fn parse_survives_truncation_and_garbage() {
        let mut out = Vec::new();
        verdict(&mut out, 1, 1, Decision::AcceptAs(&[1, 2, 3]));
        for n in 0..out.len() {
            let _ = parse(&out[..n]);
        }
        // A packet message without a packet header is skipped.
        let mut b = Vec::new();
        let ty = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
        message(&mut b, ty, 0, 0, nfgen(1), &[be32(NFQA_IFINDEX_INDEV, 1)]);
        assert!(parse(&b).is_empty());
        assert!(parse(&[0xff; 64]).is_empty());
    }
}
