//! The call table driven through whole IPv4 segments, as NFQUEUE hands them:
//! shared helpers here, calls in `calls.rs`, the TCP stream (segments split,
//! held, retransmitted, reordered) in `segments.rs`.

mod calls;
mod lookup;
mod segments;
mod timers;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use super::packet::{TcpPacket, build_segment, checksum_ok};
use super::*;

use crate::wire::pptp::{ControlType, MAGIC_COOKIE};
use ControlType::*;
use Dir::*;

const PUB: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 2);
const SRV: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);

fn lan(host: u8, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, host), port)
}
fn srv(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(SRV, port)
}

/// A control message of type `ty` with 16-bit fields set at offsets.
fn msg(ty: ControlType, fields: &[(usize, u16)]) -> Vec<u8> {
    let len = ty.fixed_len() as usize;
    let mut m = vec![0u8; len];
    m[0..2].copy_from_slice(&(len as u16).to_be_bytes());
    m[2..4].copy_from_slice(&1u16.to_be_bytes());
    m[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[8..10].copy_from_slice(&(ty as u16).to_be_bytes());
    for &(off, v) in fields {
        m[off..off + 2].copy_from_slice(&v.to_be_bytes());
    }
    m
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// One TCP connection between a LAN host and an outside peer, with the
/// sequence numbers of both directions, fed through a tracker.
struct Conn {
    lan: SocketAddrV4,
    remote: SocketAddrV4,
    seq: [u32; 2],
    next_id: u64,
}

impl Conn {
    fn new(lan: SocketAddrV4, remote: SocketAddrV4) -> Self {
        Conn {
            lan,
            remote,
            seq: [1000, 50000],
            next_id: 1,
        }
    }

    fn seg(&mut self, dir: Dir, payload: &[u8]) -> (u64, Vec<u8>) {
        let i = if dir == Dir::Outbound { 0 } else { 1 };
        let (s, d) = if i == 0 {
            (self.lan, self.remote)
        } else {
            (self.remote, self.lan)
        };
        let p = build_segment(s, d, self.seq[i], (false, false, false), payload);
        self.seq[i] = self.seq[i].wrapping_add(payload.len() as u32);
        self.next_id += 1;
        (self.next_id, p)
    }

    /// The SYN that opens the connection (from the LAN side), as the
    /// helper sees it before any data.
    fn open(&mut self, t: &mut Tracker, now: Instant) {
        let syn = build_segment(
            self.lan,
            self.remote,
            self.seq[0].wrapping_sub(1),
            (true, false, false),
            &[],
        );
        self.next_id += 1;
        let mut out = Output::default();
        t.handle(now, self.next_id, Outbound, syn, &mut out);
        assert_eq!(out.verdicts, vec![(self.next_id, Verdict::Accept(None))]);
    }

    /// Send `payload` in one segment; returns the payload as released.
    fn send(
        &mut self,
        t: &mut Tracker,
        now: Instant,
        dir: Dir,
        payload: &[u8],
    ) -> (Output, Vec<u8>) {
        let (id, p) = self.seg(dir, payload);
        let mut out = Output::default();
        t.handle(now, id, dir, p.clone(), &mut out);
        let released = released_payload(&out, id, &p);
        (out, released)
    }
}

fn released_payload(out: &Output, id: u64, orig: &[u8]) -> Vec<u8> {
    let v = out
        .verdicts
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(_, v)| v.clone())
        .expect("segment released");
    let bytes = match v {
        Verdict::Accept(Some(b)) => b,
        Verdict::Accept(None) => orig.to_vec(),
        Verdict::Drop => panic!("dropped"),
    };
    assert!(checksum_ok(&bytes), "bad TCP checksum after rewrite");
    TcpPacket::parse(bytes).unwrap().payload().to_vec()
}

/// A tracker whose calls never keep their own Call ID: what these tests
/// check is the rewriting (`calls::a_call_keeps_its_own_call_id_when_free`
/// checks the other case).
fn tracker() -> Tracker {
    let ids = super::alloc::Allocator::new(42, Config::default().quarantine)
        .rewrite_every_call()
        .shared();
    let mut t = Tracker::with_allocator(Config::default(), ids);
    let mut out = Output::default();
    t.set_public_ip(Some(PUB), Instant::now(), &mut out);
    t
}

/// OCRQ out / OCRP in for a LAN client; returns (public id, output of OCRP).
fn dial(t: &mut Tracker, c: &mut Conn, now: Instant, own: u16, srv_cid: u16) -> (u16, Output) {
    let (req, out) = c.send(t, now, Outbound, &msg(OutgoingCallRequest, &[(12, own)]));
    let public = u16_at(&out, 12);
    assert_ne!(public, 0);
    // The inbound path is installed before the request leaves: the server
    // may send GRE right behind its reply.
    assert!(
        matches!(req.changes[..], [Change::Expect(m)] if m.public_cid == public && m.lan_cid == own),
        "{:?}",
        req.changes
    );
    let (o, back) = c.send(
        t,
        now,
        Inbound,
        &msg(
            OutgoingCallReply,
            &[(12, srv_cid), (14, public), (16, 0x0100)],
        ),
    );
    assert_eq!(u16_at(&back, 14), own, "OCRP peer Call ID de-aliased");
    assert_eq!(u16_at(&back, 12), srv_cid, "OCRP's own Call ID untouched");
    (public, o)
}
