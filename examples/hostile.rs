//! Hostile PPTP traffic for the end-to-end tests (not shipped): garbage and
//! lying control messages, call-request bursts, RST storms, silent
//! connections, SCCRQ floods and GRE floods. Every mode is bounded in count
//! and time. Prints one JSON line: what was sent and what came back (for
//! `ocrq-burst`, also what the call replies told the caller).
//!
//! `hostile MODE --to IP [--count N] [--secs S] [--bind IP] [--hold S] [--key ID]
//! [--per-conn K] [--hosts H]`

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::{Duration, Instant};

use pptp_passthrough::wire::pptp::{
    Message, OutgoingCallRequest, Reassembler, StartControl, Str64,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

struct Args {
    mode: String,
    to: Ipv4Addr,
    count: u32,
    secs: u64,
    bind: Option<Ipv4Addr>,
    /// ocrq-burst: keep the connection (and its calls) this long.
    hold: u64,
    /// gre-flood: this Call ID in every packet (random otherwise).
    key: Option<u16>,
    /// ocrq-burst: call requests per connection (all on one by default);
    /// the connections run at once.
    per_conn: u32,
    /// ocrq-burst: connections round-robin from this many addresses, the
    /// `--bind` one and those after it.
    hosts: u8,
}

fn args() -> Args {
    let v: Vec<String> = std::env::args().skip(1).collect();
    let get = |k: &str| v.iter().position(|a| a == k).and_then(|i| v.get(i + 1));
    Args {
        mode: v.first().cloned().unwrap_or_default(),
        to: get("--to").and_then(|s| s.parse().ok()).expect("--to IP"),
        count: get("--count").and_then(|s| s.parse().ok()).unwrap_or(100),
        secs: get("--secs").and_then(|s| s.parse().ok()).unwrap_or(10),
        bind: get("--bind").and_then(|s| s.parse().ok()),
        hold: get("--hold").and_then(|s| s.parse().ok()).unwrap_or(0),
        key: get("--key").and_then(|s| s.parse().ok()),
        per_conn: get("--per-conn")
            .and_then(|s| s.parse().ok())
            .filter(|k| *k > 0)
            .unwrap_or(u32::MAX),
        hosts: get("--hosts")
            .and_then(|s| s.parse().ok())
            .filter(|h| *h > 0)
            .unwrap_or(1),
    }
}

/// Deterministic bytes (xorshift), so a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn connect(a: &Args) -> std::io::Result<TcpStream> {
    connect_from(a.bind, a.to)
}

fn connect_from(bind: Option<Ipv4Addr>, to: Ipv4Addr) -> std::io::Result<TcpStream> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    if let Some(b) = bind {
        s.bind(&SockAddr::from(SocketAddrV4::new(b, 0)))?;
    }
    s.connect_timeout(
        &SockAddr::from(SocketAddrV4::new(to, 1723)),
        Duration::from_secs(3),
    )?;
    let t: TcpStream = s.into();
    t.set_read_timeout(Some(Duration::from_millis(50)))?;
    Ok(t)
}

fn sccrq() -> Vec<u8> {
    Message::StartControlConnectionRequest(StartControl {
        protocol_version: 0x0100,
        framing_capabilities: 3,
        bearer_capabilities: 3,
        host_name: Str64::new(b"hostile"),
        vendor: Str64::new(b"hostile"),
        ..StartControl::default()
    })
    .to_bytes()
}

fn ocrq(id: u16) -> Vec<u8> {
    Message::OutgoingCallRequest(OutgoingCallRequest::vpn(id)).to_bytes()
}

/// Read whatever comes back within the socket's timeout.
fn drain(s: &mut TcpStream) -> usize {
    let mut buf = [0u8; 65536];
    let mut n = 0;
    while let Ok(k) = s.read(&mut buf) {
        if k == 0 {
            break;
        }
        n += k;
    }
    n
}

/// The Outgoing-Call-Replies of one burst, by what they told the caller.
#[derive(Default)]
struct Replies {
    /// Result 1 (connected), to one of the burst's Call IDs.
    connected: u64,
    /// Result 2 with error 4 (General Error, No-Resource), to one of them.
    no_resource: u64,
    /// Anything else: another result, or a Call ID the burst never sent
    /// (a refusal that came back as Call ID 0 leaves its caller waiting).
    unmatched: u64,
}

impl Replies {
    /// The replies in the control stream `bytes` to requests with Call IDs
    /// 1 to `n` (the Start-Control-Connection-Reply is skipped; a stream
    /// that stops parsing ends the tally as one unmatched reply).
    fn tally(bytes: &[u8], n: u32) -> Replies {
        let mut r = Reassembler::new();
        r.push(bytes);
        let mut t = Replies::default();
        while let Some(m) = r.next_message() {
            match m {
                Ok(Message::StartControlConnectionReply(_)) => {}
                Ok(Message::OutgoingCallReply(o)) => {
                    let ours = (1..=n.min(65535)).contains(&u32::from(o.peer_call_id));
                    match (ours, o.result, o.error) {
                        (true, 1, _) => t.connected += 1,
                        (true, 2, 4) => t.no_resource += 1,
                        _ => t.unmatched += 1,
                    }
                }
                Ok(_) => t.unmatched += 1,
                Err(_) => {
                    t.unmatched += 1;
                    break;
                }
            }
        }
        t
    }

    fn add(&mut self, o: &Replies) {
        self.connected += o.connected;
        self.no_resource += o.no_resource;
        self.unmatched += o.unmatched;
    }
}

/// One connection: SCCRQ, then `n` call requests (Call IDs 1 to `n`) in
/// one write, their replies read as they come. Returns the connection
/// (held open by the caller), the requests sent, the bytes back and what
/// the replies said.
fn burst(
    bind: Option<Ipv4Addr>,
    to: Ipv4Addr,
    n: u32,
) -> std::io::Result<(TcpStream, u64, usize, Replies)> {
    let mut s = connect_from(bind, to)?;
    let mut m = sccrq();
    for i in 0..n {
        m.extend(ocrq((i % 65535) as u16 + 1));
    }
    // Write from a second thread while this one reads: the replies must
    // be drained or both ends block on full buffers.
    let mut w = s.try_clone()?;
    let writer = std::thread::spawn(move || {
        let _ = w.set_write_timeout(Some(Duration::from_secs(30)));
        w.write_all(&m).is_ok()
    });
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    // Every reply is 32 bytes (OCRP) after the 156-byte SCCRP.
    let want = 156 + 32 * n as usize;
    let (mut got, mut buf) = (Vec::new(), [0u8; 65536]);
    while got.len() < want {
        match s.read(&mut buf) {
            Ok(k) if k > 0 => got.extend_from_slice(&buf[..k]),
            _ => break,
        }
    }
    let sent = if writer.join().unwrap_or(false) {
        u64::from(n)
    } else {
        0
    };
    Ok((s, sent, got.len(), Replies::tally(&got, n)))
}

fn main() {
    let a = args();
    let deadline = Instant::now() + Duration::from_secs(a.secs);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut sent, mut errors, mut back) = (0u64, 0u64, 0usize);
    let mut replies = Replies::default();
    let mut held = Vec::new();
    match a.mode.as_str() {
        // Garbage, truncated messages, lying lengths, wrong magic, messages
        // for unknown calls: one connection each.
        "garbage" => {
            for i in 0..a.count {
                if Instant::now() > deadline {
                    break;
                }
                let Ok(mut s) = connect(&a) else {
                    errors += 1;
                    continue;
                };
                let mut m = sccrq();
                match i % 6 {
                    0 => {
                        let n = 1 + (rng.next() % 400) as usize;
                        m = rng.bytes(n);
                    }
                    1 => m.truncate(20),
                    2 => m[0..2].copy_from_slice(&4000u16.to_be_bytes()),
                    3 => m[4] ^= 0xFF,
                    4 => {
                        m.extend(ocrq(7));
                        m.extend(
                            Message::CallClearRequest {
                                call_id: rng.next() as u16,
                            }
                            .to_bytes(),
                        );
                        m.extend(
                            Message::SetLinkInfo {
                                peer_call_id: rng.next() as u16,
                                send_accm: 0,
                                receive_accm: 0,
                            }
                            .to_bytes(),
                        );
                    }
                    _ => {
                        m[0..2].copy_from_slice(&1u16.to_be_bytes());
                        m.extend(rng.bytes(64));
                    }
                }
                if s.write_all(&m).is_ok() {
                    sent += 1;
                } else {
                    errors += 1;
                }
                back += drain(&mut s);
            }
        }
        // `count` call requests in one burst, on connections of
        // `--per-conn` requests each (Call IDs 1 up on each), all at once.
        "ocrq-burst" => {
            let t = Instant::now();
            let per = a.per_conn.min(a.count).max(1);
            let workers: Vec<_> = (0..a.count.div_ceil(per))
                .map(|c| {
                    let n = per.min(a.count - c * per);
                    let bind = a.bind.map(|b| {
                        let last = b.octets()[3].wrapping_add((c % u32::from(a.hosts)) as u8);
                        let [x, y, z, _] = b.octets();
                        Ipv4Addr::new(x, y, z, last)
                    });
                    let to = a.to;
                    std::thread::spawn(move || burst(bind, to, n))
                })
                .collect();
            let mut streams = Vec::new();
            for w in workers {
                match w.join() {
                    Ok(Ok((s, n, k, r))) => {
                        sent += n;
                        back += k;
                        replies.add(&r);
                        streams.push(s);
                    }
                    _ => errors += 1,
                }
            }
            eprintln!("replies_ms={}", t.elapsed().as_millis());
            std::thread::sleep(Duration::from_secs(a.hold.min(600)));
            drop(streams);
        }
        // Connections that send a request and end with a RST.
        "rst-storm" => {
            for i in 0..a.count {
                if Instant::now() > deadline {
                    break;
                }
                let Ok(mut s) = connect(&a) else {
                    errors += 1;
                    continue;
                };
                let _ = s.write_all(&[sccrq(), ocrq(i as u16 | 1)].concat());
                let sock = Socket::from(s);
                let _ = sock.set_linger(Some(Duration::ZERO));
                drop(sock);
                sent += 1;
            }
        }
        // Connections that never say anything, held until --secs.
        "slow" => {
            for _ in 0..a.count {
                match connect(&a) {
                    Ok(s) => held.push(s),
                    Err(_) => errors += 1,
                }
            }
            sent = held.len() as u64;
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        }
        // SCCRQ, wait for the reply, close: as fast as possible.
        "sccrq-flood" => {
            for _ in 0..a.count {
                if Instant::now() > deadline {
                    break;
                }
                let Ok(mut s) = connect(&a) else {
                    errors += 1;
                    continue;
                };
                let _ = s.write_all(&sccrq());
                // One read: the reply (or nothing), then hang up.
                let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
                let mut buf = [0u8; 512];
                back += s.read(&mut buf).unwrap_or(0);
                sent += 1;
            }
        }
        // GRE (PPTP version 1) with random Call IDs and sequence numbers.
        "gre-flood" => {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47)))
                .expect("raw GRE socket (root)");
            let to = SockAddr::from(SocketAddrV4::new(a.to, 0));
            for _ in 0..a.count {
                if Instant::now() > deadline {
                    break;
                }
                let mut p = vec![0x30, 0x81, 0x88, 0x0B, 0, 40];
                match a.key {
                    Some(k) => p.extend(k.to_be_bytes()),
                    None => p.extend(rng.bytes(2)),
                }
                p.extend(rng.bytes(4));
                p.extend(rng.bytes(40));
                if s.send_to(&p, &to).is_ok() {
                    sent += 1;
                } else {
                    errors += 1;
                }
            }
        }
        m => {
            eprintln!(
                "unknown mode {m:?}: garbage, ocrq-burst, rst-storm, slow, sccrq-flood, gre-flood"
            );
            std::process::exit(2);
        }
    }
    let Replies {
        connected,
        no_resource,
        unmatched,
    } = replies;
    println!(
        "{{\"mode\":\"{}\",\"sent\":{sent},\"errors\":{errors},\"bytes_back\":{back},\
         \"connected\":{connected},\"no_resource\":{no_resource},\"unmatched\":{unmatched}}}",
        a.mode
    );
}
