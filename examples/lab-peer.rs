//! `lab-peer` (not shipped): the small PPTP peer of the lab, the
//! end-to-end tests and the benchmarks.
//! The server answers the control protocol and echoes GRE back to the
//! caller's Call ID; the client opens calls from one or more source
//! addresses and checks that every echo comes back to the right host with
//! its own Call ID. Blocking sockets and threads: this is test tooling.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use clap::Parser;
use pptp_passthrough::os::OsError;
use pptp_passthrough::os::probe::{
    accept_call, gre_socket, parse_gre, read_msg, send_msg, start_control,
};
use pptp_passthrough::wire::gre;
use pptp_passthrough::wire::pptp::{
    CallDisconnectNotify, Message, OutgoingCallRequest, Reassembler,
};

/// Test peer for the namespace lab, the end-to-end tests and the
/// benchmarks: a minimal PPTP client or server that also sends and echoes
/// GRE.
#[derive(Parser, Debug)]
#[command(name = "lab-peer")]
struct Args {
    #[command(subcommand)]
    role: Role,
}

fn main() {
    if let Err(e) = run(Args::parse()) {
        eprintln!("lab-peer: {e}");
        std::process::exit(1);
    }
}

#[derive(clap::Subcommand, Debug)]
enum Role {
    /// Answer PPTP on ADDR:1723 and echo GRE.
    Server {
        #[arg(long)]
        listen: Ipv4Addr,
    },
    /// Dial SERVER from every --from address and check the GRE echoes.
    Client(ClientArgs),
}

#[derive(clap::Args, Debug, Clone)]
struct ClientArgs {
    #[arg(long)]
    server: Ipv4Addr,
    /// Source addresses, one simulated LAN host each.
    #[arg(long, value_delimiter = ',', required = true)]
    from: Vec<Ipv4Addr>,
    /// Call ID of the first call (every host uses the same ones).
    #[arg(long, default_value_t = 4660)]
    call_id: u16,
    /// Calls per control connection.
    #[arg(long, default_value_t = 1)]
    calls: u16,
    /// GRE packets per call.
    #[arg(long, default_value_t = 50)]
    packets: u32,
    /// Milliseconds between GRE packets of a call.
    #[arg(long, default_value_t = 5)]
    interval_ms: u64,
    /// GRE payload bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// How control messages are cut into segments: none, header (split
    /// inside the header), field (split inside the Call ID), coalesce (all
    /// requests in one segment).
    #[arg(long, default_value = "none")]
    split: String,
    /// How calls end: ccrq, stop, close, rst, none.
    #[arg(long, default_value = "ccrq")]
    teardown: String,
    /// Seconds to wait after the last packet before teardown.
    #[arg(long, default_value_t = 0)]
    linger: u64,
    /// Print a table for people instead of JSON; exit 1 unless delivery
    /// was exact.
    #[arg(long)]
    human: bool,
}

fn run(a: Args) -> Result<(), OsError> {
    match a.role {
        Role::Server { listen } => server(listen),
        Role::Client(c) => client(c),
    }
}

/// Calls the server knows: its own Call ID → (caller address, caller's ID).
type Calls = Arc<Mutex<Vec<(u16, Ipv4Addr, u16)>>>;

fn server(listen: Ipv4Addr) -> Result<(), OsError> {
    let calls: Calls = Arc::default();
    let next = Arc::new(AtomicU16::new(1000 + (std::process::id() % 1000) as u16));
    let raw = gre_socket(listen)?;
    let tx = raw.try_clone()?;
    let gre_calls = calls.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let mut seq = 0u32;
        loop {
            let Ok(n) = (&raw).read(&mut buf) else {
                continue;
            };
            let Some((src, cid, rseq, payload)) = parse_gre(&buf[..n]) else {
                continue;
            };
            let peer = gre_calls.lock().ok().and_then(|c| {
                c.iter()
                    .find(|(own, ip, _)| *own == cid && *ip == src)
                    .map(|x| x.2)
            });
            if let Some(peer) = peer {
                seq = seq.wrapping_add(1);
                let pkt = gre::build(peer, Some(seq), rseq, &payload);
                let _ = tx.send_to(&pkt, &SockAddr::from(SocketAddrV4::new(src, 0)));
            }
        }
    });
    let l = TcpListener::bind(SocketAddrV4::new(listen, 1723))?;
    eprintln!("lab-peer server listening on {listen}:1723");
    for s in l.incoming() {
        let Ok(s) = s else { continue };
        let (calls, next) = (calls.clone(), next.clone());
        std::thread::spawn(move || {
            // The calls of this connection: a Call-Clear-Request names one
            // of them (another connection from the same address may use
            // the same Call IDs); they go when the connection ends.
            let mut mine = Vec::new();
            let _ = serve(s, &calls, next, &mut mine);
            if let Ok(mut c) = calls.lock() {
                c.retain(|(own, _, _)| !mine.contains(own));
            }
        });
    }
    Ok(())
}

fn serve(
    mut s: TcpStream,
    calls: &Calls,
    next: Arc<AtomicU16>,
    mine: &mut Vec<u16>,
) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let peer = match s.peer_addr()? {
        SocketAddr::V4(a) => *a.ip(),
        SocketAddr::V6(_) => return Ok(()),
    };
    let mut r = Reassembler::new();
    loop {
        let m = read_msg(&mut s, &mut r)?;
        let reply = match m {
            Message::StartControlConnectionRequest(_) => {
                Message::StartControlConnectionReply(start_control(true, b"pptp-passthrough"))
            }
            Message::EchoRequest { identifier } => Message::EchoReply {
                identifier,
                result: 1,
                error: 0,
            },
            Message::OutgoingCallRequest(o) => {
                let own = next.fetch_add(1, Ordering::Relaxed);
                mine.push(own);
                calls
                    .lock()
                    .map_err(|_| std::io::Error::other("lock"))?
                    .push((own, peer, o.call_id));
                accept_call(own, o.call_id)
            }
            Message::CallClearRequest { call_id } => {
                let mut c = calls.lock().map_err(|_| std::io::Error::other("lock"))?;
                let Some(i) = c
                    .iter()
                    .position(|(own, ip, id)| *ip == peer && *id == call_id && mine.contains(own))
                else {
                    continue;
                };
                let (own, _, _) = c.remove(i);
                mine.retain(|m| *m != own);
                Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id: own,
                    result: 3,
                    ..CallDisconnectNotify::default()
                })
            }
            Message::StopControlConnectionRequest { .. } => {
                send_msg(
                    &mut s,
                    &Message::StopControlConnectionReply {
                        result: 1,
                        error: 0,
                    },
                )?;
                return Ok(());
            }
            _ => continue,
        };
        send_msg(&mut s, &reply)?;
    }
}

/// Per-host counters of the client.
#[derive(Default, serde::Serialize)]
struct HostReport {
    host: String,
    calls: Vec<(u16, u16)>,
    sent: u64,
    received: u64,
    misdelivered: u64,
    /// First few unexpected packets: "source/call id/payload tag".
    samples: Vec<String>,
    error: Option<String>,
}

fn write_split(s: &mut TcpStream, bytes: &[u8], split: &str) -> std::io::Result<()> {
    let at = match split {
        "header" => 6,
        "field" => 13,
        _ => return s.write_all(bytes),
    };
    s.write_all(&bytes[..at])?;
    s.flush()?;
    std::thread::sleep(Duration::from_millis(20));
    s.write_all(&bytes[at..])
}

fn client(a: ClientArgs) -> Result<(), OsError> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let reports: Vec<HostReport> = std::thread::scope(|sc| {
        let hs: Vec<_> = a
            .from
            .iter()
            .map(|&h| {
                sc.spawn({
                    let a = a.clone();
                    move || host(&a, h, deadline)
                })
            })
            .collect();
        hs.into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let sum = |f: fn(&HostReport) -> u64| reports.iter().map(f).sum::<u64>();
    let doc = serde_json::json!({
        "sent": sum(|r| r.sent),
        "received": sum(|r| r.received),
        "misdelivered": sum(|r| r.misdelivered),
        "errors": reports.iter().filter(|r| r.error.is_some()).count(),
        "hosts": reports,
    });
    if !a.human {
        println!("{doc}");
        return Ok(());
    }
    for r in &reports {
        let calls: Vec<String> = r
            .calls
            .iter()
            .map(|(o, s)| format!("own {o} / server {s}"))
            .collect();
        println!(
            "  {:<15} calls: {:<26} GRE sent {:>5}  echoed back {:>5}  misdelivered {}{}",
            r.host,
            calls.join(", "),
            r.sent,
            r.received,
            r.misdelivered,
            r.error
                .as_ref()
                .map(|e| format!("  ERROR {e}"))
                .unwrap_or_default()
        );
    }
    let exact = doc["errors"] == 0
        && doc["misdelivered"] == 0
        && doc["sent"] != 0
        && doc["received"] == doc["sent"];
    if exact {
        println!(
            "\nRESULT: every GRE packet came back to the host that sent it, with its own Call ID"
        );
        Ok(())
    } else {
        println!("\nRESULT: FAILED: GRE packets were lost or misdelivered, or a call failed");
        Err(OsError::Command {
            cmd: "lab-peer client".into(),
            detail: "delivery was not exact".into(),
        })
    }
}

fn host(a: &ClientArgs, me: Ipv4Addr, deadline: Instant) -> HostReport {
    let mut rep = HostReport {
        host: me.to_string(),
        ..Default::default()
    };
    if let Err(e) = host_inner(a, me, deadline, &mut rep) {
        rep.error = Some(e.to_string());
    }
    rep
}

fn host_inner(
    a: &ClientArgs,
    me: Ipv4Addr,
    deadline: Instant,
    rep: &mut HostReport,
) -> Result<(), OsError> {
    let raw = gre_socket(me)?;
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    sock.bind(&SockAddr::from(SocketAddrV4::new(me, 0)))?;
    sock.connect_timeout(
        &SockAddr::from(SocketAddrV4::new(a.server, 1723)),
        Duration::from_secs(5),
    )?;
    let mut s: TcpStream = sock.into();
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut r = Reassembler::new();
    let ids: Vec<u16> = (0..a.calls).map(|k| a.call_id.wrapping_add(k)).collect();
    let ocrq = |id: u16| Message::OutgoingCallRequest(OutgoingCallRequest::vpn(id));
    let sccrq = Message::StartControlConnectionRequest(start_control(false, b"pptp-passthrough"))
        .to_bytes();
    if a.split == "coalesce" {
        let mut all = sccrq;
        for &id in &ids {
            all.extend(ocrq(id).to_bytes());
        }
        s.write_all(&all)?;
    } else {
        write_split(&mut s, &sccrq, &a.split)?;
    }
    let mut server_ids = Vec::new();
    for (k, &id) in ids.iter().enumerate() {
        if a.split != "coalesce" {
            if k == 0 {
                expect_sccrp(read_msg(&mut s, &mut r)?)?;
            }
            write_split(&mut s, &ocrq(id).to_bytes(), &a.split)?;
        } else if k == 0 {
            expect_sccrp(read_msg(&mut s, &mut r)?)?;
        }
        match read_msg(&mut s, &mut r)? {
            Message::OutgoingCallReply(o) if o.peer_call_id == id && o.result == 1 => {
                server_ids.push(o.call_id);
                rep.calls.push((id, o.call_id));
            }
            other => {
                return Err(OsError::Command {
                    cmd: "OCRQ".into(),
                    detail: format!("expected an OCRP naming Call ID {id}, got {other:?}"),
                });
            }
        }
    }
    // GRE: send on every call, count echoes that come back to us with
    // our own Call ID and our own tag.
    let rx = raw.try_clone()?;
    let done = Arc::new(AtomicBool::new(false));
    let (ok, bad) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let samples = Arc::new(Mutex::new(Vec::new()));
    let rxh = {
        let (done, ok, bad, ids) = (done.clone(), ok.clone(), bad.clone(), ids.clone());
        let samples = samples.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !done.load(Ordering::Relaxed) {
                let Ok(n) = (&rx).read(&mut buf) else {
                    continue;
                };
                let Some((src, cid, _, payload)) = parse_gre(&buf[..n]) else {
                    continue;
                };
                let tag = String::from_utf8_lossy(&payload[..payload.len().min(40)]).to_string();
                let mut it = tag.split('/');
                let good = it.next() == Some(&me.to_string())
                    && it.next().and_then(|x| x.parse::<u16>().ok()) == Some(cid)
                    && ids.contains(&cid);
                if good {
                    ok.fetch_add(1, Ordering::Relaxed);
                } else {
                    bad.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut s) = samples.lock() {
                        if s.len() < 5 {
                            s.push(format!("{src}/{cid}/{tag}"));
                        }
                    }
                }
            }
        })
    };
    let dst = SockAddr::from(SocketAddrV4::new(a.server, 0));
    for i in 0..a.packets {
        if Instant::now() > deadline {
            break;
        }
        for (k, &sid) in server_ids.iter().enumerate() {
            let mut payload = format!("{me}/{}/{i}/", ids[k]).into_bytes();
            payload.resize(a.size.max(payload.len()), b'.');
            raw.send_to(&gre::build(sid, Some(i + 1), None, &payload), &dst)?;
            rep.sent += 1;
        }
        std::thread::sleep(Duration::from_millis(a.interval_ms));
    }
    let wait_until = Instant::now() + Duration::from_secs(3);
    while u64::from(ok.load(Ordering::Relaxed)) + u64::from(bad.load(Ordering::Relaxed)) < rep.sent
        && Instant::now() < wait_until
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    done.store(true, Ordering::Relaxed);
    let _ = rxh.join();
    rep.received = u64::from(ok.load(Ordering::Relaxed));
    rep.misdelivered = u64::from(bad.load(Ordering::Relaxed));
    rep.samples = samples.lock().map(|s| s.clone()).unwrap_or_default();
    std::thread::sleep(Duration::from_secs(a.linger));
    teardown(a, &mut s, &mut r, &ids)
}

fn expect_sccrp(m: Message) -> Result<(), OsError> {
    match m {
        Message::StartControlConnectionReply(_) => Ok(()),
        other => Err(OsError::Command {
            cmd: "SCCRQ".into(),
            detail: format!("got {other:?}"),
        }),
    }
}

fn teardown(
    a: &ClientArgs,
    s: &mut TcpStream,
    r: &mut Reassembler,
    ids: &[u16],
) -> Result<(), OsError> {
    match a.teardown.as_str() {
        "ccrq" => {
            for &id in ids {
                send_msg(s, &Message::CallClearRequest { call_id: id })?;
                let _ = read_msg(s, r)?; // CDN
            }
            send_msg(s, &Message::StopControlConnectionRequest { reason: 1 })?;
            let _ = read_msg(s, r);
        }
        "stop" => {
            send_msg(s, &Message::StopControlConnectionRequest { reason: 1 })?;
            let _ = read_msg(s, r);
        }
        "rst" => {
            let sock = Socket::from(s.try_clone()?);
            sock.set_linger(Some(Duration::ZERO))?;
        }
        "none" => std::thread::sleep(Duration::from_secs(3600)),
        _ => {}
    }
    Ok(())
}
