//! The helper's whole control-segment handler (`nat::Tracker`, what the
//! NFQUEUE loop in `cli/helper.rs` calls) as a pure function: IPv4/TCP
//! segments in, both directions, several control connections, simulated time
//! advancing; verdicts, rewritten segments and kernel map changes out.
//!
//! The fuzz input is a script of operations: append control messages (or
//! garbage) to a connection's byte stream, send the next chunk of it (in
//! order, retransmitted, or from beyond a gap, with SYN/FIN/RST), let time
//! pass, change the WAN address, or queue an arbitrary packet.
//!
//! Invariants checked after every step:
//! - no panic; every queued segment gets exactly one verdict, at once or
//!   when it is released (never two, never one for an unknown id);
//! - a rewritten segment has the original's length, the same IP header and
//!   TCP header apart from the checksum, and a valid TCP checksum;
//! - map changes are consistent: Promote/Unexpect only for an expected call,
//!   Remove/Refresh only for a mapped one, public Call IDs never 0 and never
//!   shared by two live calls towards the same server, and the tracker's own
//!   list of mappings equals the one built from the changes;
//! - once the hold time has passed, nothing is held; once the idle timeout
//!   has passed, no connection, call or mapping is left;
//! - Call IDs stay bounded: a connection never tracks two calls for one LAN
//!   Call ID.
#![no_main]

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use etherparse::{Ipv4Slice, PacketBuilder, TcpSlice};
use libfuzzer_sys::fuzz_target;
use pptp_passthrough::nat::{Change, Config, Dir, Mapping, Output, Tracker, Verdict};
use pptp_passthrough::wire::pptp::{ControlType, MAGIC_COOKIE};

const MAX_OPS: usize = 96;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Cid {
    /// A small ID, so that requests and replies meet.
    Small(u8),
    /// A public Call ID the tracker handed out earlier.
    Known(u8),
    Raw(u16),
}

#[derive(Arbitrary, Debug)]
struct MsgSpec {
    ty: u8,
    field12: Cid,
    field14: Cid,
    result: u8,
    /// Corrupt one byte of the message (index, xor) after building it.
    corrupt: Option<(u8, u8)>,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum SeqMode {
    /// The next unsent bytes.
    Next,
    /// Resend from this many bytes back.
    Back(u16),
    /// Start this many bytes ahead of the next unsent byte (a gap).
    Ahead(u8),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Write {
        conn: u8,
        out: bool,
        msgs: Vec<MsgSpec>,
    },
    Garbage {
        conn: u8,
        out: bool,
        bytes: Vec<u8>,
    },
    Send {
        conn: u8,
        out: bool,
        len: u8,
        mode: SeqMode,
        flags: u8,
    },
    Wait {
        millis: u16,
    },
    WaitLong {
        secs: u16,
    },
    SetPublic(Option<u8>),
    Raw {
        out: bool,
        bytes: Vec<u8>,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u64,
    ops: Vec<Op>,
}

/// One direction of one control connection, as the fuzzer's sender sees it.
#[derive(Default)]
struct Side {
    bytes: Vec<u8>,
    sent: usize,
    syn_sent: bool,
}

struct Conn {
    lan: SocketAddrV4,
    remote: SocketAddrV4,
    isn: [u32; 2],
    sides: [Side; 2],
}

fn conn_addrs(i: u8) -> (SocketAddrV4, SocketAddrV4) {
    let i = usize::from(i) % 24;
    let lan_ip = Ipv4Addr::new(192, 168, 1, 10 + (i % 2) as u8);
    let lan_port = [40000, 40001, 1723][(i / 2) % 3];
    let remote_ip = Ipv4Addr::new(198, 51, 100, 10 + ((i / 6) % 2) as u8);
    let remote_port = [1723, 45000][(i / 12) % 2];
    (
        SocketAddrV4::new(lan_ip, lan_port),
        SocketAddrV4::new(remote_ip, remote_port),
    )
}

fn build_msg(spec: &MsgSpec, known: &[u16]) -> Vec<u8> {
    let cid = |c: Cid| match c {
        Cid::Small(v) => u16::from(v % 6),
        Cid::Known(i) if !known.is_empty() => known[usize::from(i) % known.len()],
        Cid::Known(i) => u16::from(i),
        Cid::Raw(v) => v,
    };
    let ty = ControlType::from_u16(u16::from(spec.ty % 15) + 1).expect("1..=15");
    let len = usize::from(ty.fixed_len());
    let mut m = vec![0u8; len];
    m[0..2].copy_from_slice(&ty.fixed_len().to_be_bytes());
    m[2..4].copy_from_slice(&1u16.to_be_bytes());
    m[4..8].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    m[8..10].copy_from_slice(&(ty as u16).to_be_bytes());
    m[12..14].copy_from_slice(&cid(spec.field12).to_be_bytes());
    m[14..16].copy_from_slice(&cid(spec.field14).to_be_bytes());
    if len > 16 {
        m[16] = spec.result % 4;
    }
    if let Some((at, x)) = spec.corrupt {
        let at = usize::from(at) % len;
        m[at] ^= x;
    }
    m
}

fn segment(src: SocketAddrV4, dst: SocketAddrV4, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4(src.ip().octets(), dst.ip().octets(), 64);
    let mut b = b.tcp(src.port(), dst.port(), seq, 65535).ack(1);
    if flags & 1 != 0 {
        b = b.syn();
    }
    if flags & 2 != 0 {
        b = b.fin();
    }
    if flags & 4 != 0 {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    b.write(&mut out, payload).expect("write to a Vec");
    out
}

fn checksum_ok(data: &[u8]) -> bool {
    let Ok(ip) = Ipv4Slice::from_slice(data) else {
        return false;
    };
    let Ok(tcp) = TcpSlice::from_slice(ip.payload().payload) else {
        return false;
    };
    let (s, d) = (ip.header().source_addr(), ip.header().destination_addr());
    tcp.calc_checksum_ipv4(s.octets(), d.octets()).ok() == Some(tcp.checksum())
}

/// Expected-call key: a Promote carries the peer's ID, the Expect did not.
type ExpectKey = (SocketAddrV4, SocketAddrV4, u16, u16);

fn expect_key(m: &Mapping) -> ExpectKey {
    (m.lan, m.remote, m.lan_cid, m.public_cid)
}

struct Harness {
    tracker: Tracker,
    cfg: Config,
    t0: Instant,
    now: Instant,
    next_id: u64,
    /// Queued segments without a verdict: id → (original bytes, built by us).
    pending: HashMap<u64, (Vec<u8>, bool)>,
    answered: HashSet<u64>,
    expected: HashSet<ExpectKey>,
    mapped: HashSet<Mapping>,
    known: Vec<u16>,
    last_segment: Instant,
}

impl Harness {
    fn live_ids_unique(&self) {
        let mut seen = HashSet::new();
        for (_, remote, _, public) in &self.expected {
            assert!(
                seen.insert((*remote.ip(), *public)),
                "public Call ID {public} shared"
            );
        }
        for m in &self.mapped {
            assert!(
                seen.insert((m.remote_ip(), m.public_cid)),
                "public Call ID {} shared: {m}",
                m.public_cid
            );
        }
    }

    fn apply(&mut self, out: Output) {
        for c in &out.changes {
            match *c {
                Change::Expect(m) => {
                    assert_ne!(m.public_cid, 0);
                    assert_eq!(m.peer_cid, 0);
                    assert!(self.expected.insert(expect_key(&m)), "Expect twice: {m}");
                    self.known.push(m.public_cid);
                }
                Change::Add(m) => {
                    assert_ne!(m.public_cid, 0);
                    assert!(self.mapped.insert(m), "Add twice: {m}");
                    self.known.push(m.public_cid);
                }
                Change::Promote(m) => {
                    assert_ne!(m.public_cid, 0);
                    assert!(
                        self.expected.remove(&expect_key(&m)),
                        "Promote unexpected: {m}"
                    );
                    assert!(self.mapped.insert(m), "Promote of a mapped call: {m}");
                }
                Change::Unexpect(m) => {
                    assert!(
                        self.expected.remove(&expect_key(&m)),
                        "Unexpect unexpected: {m}"
                    );
                }
                Change::Remove(m) => {
                    assert!(self.mapped.remove(&m), "Remove of an unmapped call: {m}");
                }
                Change::Refresh(m) => {
                    assert!(self.mapped.contains(&m), "Refresh of an unmapped call: {m}");
                }
            }
            self.live_ids_unique();
        }
        if self.known.len() > 64 {
            self.known.drain(..32);
        }
        for (id, v) in out.verdicts {
            let (orig, built) = self
                .pending
                .remove(&id)
                .unwrap_or_else(|| panic!("verdict for unknown or answered id {id}"));
            assert!(self.answered.insert(id));
            if let Verdict::Accept(Some(new)) = v {
                assert_eq!(new.len(), orig.len(), "rewrite changed the length");
                if built {
                    // IPv4 header 20 bytes, TCP header 20 bytes, checksum at 36.
                    assert_eq!(new[..36], orig[..36], "headers changed");
                    assert_eq!(new[38..40], orig[38..40], "headers changed");
                    assert!(checksum_ok(&new), "bad TCP checksum after rewrite");
                }
            }
        }
        let theirs: HashSet<Mapping> = self.tracker.mappings().into_iter().collect();
        assert_eq!(
            theirs, self.mapped,
            "tracker mappings differ from the changes"
        );
        // One call per LAN Call ID per connection.
        let calls = self.tracker.calls(self.now);
        let mut per_conn = HashSet::new();
        for c in &calls {
            assert!(
                per_conn.insert((c.lan, c.remote, c.lan_call_id)),
                "two calls for one LAN Call ID"
            );
        }
    }

    fn handle(&mut self, dir: Dir, data: Vec<u8>, built: bool) {
        let id = self.next_id;
        self.next_id += 1;
        self.pending.insert(id, (data.clone(), built));
        let mut out = Output::default();
        self.tracker.handle(self.now, id, dir, data, &mut out);
        self.last_segment = self.now;
        self.apply(out);
    }

    fn poll(&mut self) {
        let mut out = Output::default();
        self.tracker.poll(self.now, &mut out);
        self.apply(out);
        if self.now.duration_since(self.last_segment) >= self.cfg.hold_timeout {
            assert!(self.pending.is_empty(), "segments held past the hold time");
        }
        if self.now.duration_since(self.last_segment) >= self.cfg.idle_timeout {
            assert_eq!(self.tracker.connections(), 0);
            assert!(self.tracker.calls(self.now).is_empty());
            assert!(
                self.mapped.is_empty() && self.expected.is_empty(),
                "mappings leaked"
            );
        }
    }
}

fuzz_target!(|input: Input| {
    let cfg = Config {
        idle_timeout: Duration::from_secs(300),
        hold_timeout: Duration::from_secs(2),
        quarantine: Duration::from_secs(300),
        refresh_every: Duration::from_secs(60),
    };
    let t0 = Instant::now();
    let mut h = Harness {
        tracker: Tracker::new(cfg.clone(), input.seed),
        cfg,
        t0,
        now: t0,
        next_id: 0,
        pending: HashMap::new(),
        answered: HashSet::new(),
        expected: HashSet::new(),
        mapped: HashSet::new(),
        known: Vec::new(),
        last_segment: t0,
    };
    let mut out = Output::default();
    h.tracker
        .set_public_ip(Some(Ipv4Addr::new(203, 0, 113, 2)), t0, &mut out);
    h.apply(out);
    let mut conns: HashMap<u8, Conn> = HashMap::new();
    let conn = |conns: &mut HashMap<u8, Conn>, i: u8| -> u8 {
        let k = i % 24;
        conns.entry(k).or_insert_with(|| {
            let (lan, remote) = conn_addrs(k);
            Conn {
                lan,
                remote,
                isn: [
                    [1, 0xffff_ff00, 0x8000_0000][usize::from(k) % 3],
                    [7, 0xffff_fff0, 0x7fff_ffff][usize::from(k / 3) % 3],
                ],
                sides: Default::default(),
            }
        });
        k
    };

    for op in input.ops.into_iter().take(MAX_OPS) {
        match op {
            Op::Write { conn: c, out, msgs } => {
                let k = conn(&mut conns, c);
                let side = &mut conns.get_mut(&k).expect("made").sides[usize::from(!out)];
                for m in msgs.iter().take(8) {
                    side.bytes.extend(build_msg(m, &h.known));
                }
            }
            Op::Garbage {
                conn: c,
                out,
                bytes,
            } => {
                let k = conn(&mut conns, c);
                let side = &mut conns.get_mut(&k).expect("made").sides[usize::from(!out)];
                side.bytes.extend(bytes.iter().take(256));
            }
            Op::Send {
                conn: c,
                out,
                len,
                mode,
                flags,
            } => {
                let k = conn(&mut conns, c);
                let cn = conns.get_mut(&k).expect("made");
                let d = usize::from(!out);
                let isn = cn.isn[d];
                let (src, dst) = if out {
                    (cn.lan, cn.remote)
                } else {
                    (cn.remote, cn.lan)
                };
                let side = &mut cn.sides[d];
                let mut flags = flags & 7;
                if !side.syn_sent {
                    // Usually start with a SYN, but not always (helper restart).
                    if flags & 1 == 0 && side.sent == 0 && len % 4 != 0 {
                        flags |= 1;
                    }
                }
                let (seq, payload): (u32, Vec<u8>) = if flags & 1 != 0 {
                    side.syn_sent = true;
                    (isn, Vec::new())
                } else {
                    let start = match mode {
                        SeqMode::Next => side.sent,
                        SeqMode::Back(b) => side.sent.saturating_sub(usize::from(b)),
                        SeqMode::Ahead(a) => side.sent + usize::from(a),
                    };
                    let n = if len == 0 { 64 } else { usize::from(len) };
                    let end = (start + n).min(side.bytes.len()).max(start);
                    let payload = side.bytes.get(start..end).unwrap_or(&[]).to_vec();
                    if start <= side.sent && end > side.sent {
                        side.sent = end;
                    }
                    // Data starts one past the SYN's sequence number.
                    (isn.wrapping_add(1).wrapping_add(start as u32), payload)
                };
                let dir = if out { Dir::Outbound } else { Dir::Inbound };
                let pkt = segment(src, dst, seq, flags, &payload);
                h.handle(dir, pkt, true);
            }
            Op::Wait { millis } => {
                h.now += Duration::from_millis(u64::from(millis));
                h.poll();
            }
            Op::WaitLong { secs } => {
                h.now += Duration::from_secs(u64::from(secs % 1024));
                h.poll();
            }
            Op::SetPublic(ip) => {
                let ip = ip.map(|o| Ipv4Addr::new(203, 0, 113, 2 + o % 2));
                let mut out = Output::default();
                h.tracker.set_public_ip(ip, h.now, &mut out);
                h.apply(out);
            }
            Op::Raw { out, bytes } => {
                let dir = if out { Dir::Outbound } else { Dir::Inbound };
                h.handle(dir, bytes, false);
            }
        }
    }
    // Let everything expire: every segment answered, nothing left behind.
    h.now += h.cfg.idle_timeout + h.cfg.hold_timeout;
    h.poll();
    assert!(
        h.pending.is_empty(),
        "segments never released: {:?}",
        h.pending.keys()
    );
    let _ = h.t0;
});
