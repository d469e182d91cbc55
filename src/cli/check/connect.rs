//! `check connect`: probe the PPTP path step by step and give a verdict.

use std::collections::HashMap;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use socket2::{Domain, SockAddr, Socket, Type};

use super::{MAGIC, is_listener};
use crate::diag::{Report, Step, TcpOutcome, verdict};
use crate::os::gre::set_dont_fragment;
use crate::os::probe::{gre_socket, parse_gre, read_msg, send_msg, start_control};
use crate::wire::gre;
use crate::wire::pptp::{Message, OutgoingCallRequest, Reassembler};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Host name or IPv4 address of a `check listen` instance or PPTP server.
    host: String,
    /// Simultaneous calls, each on its own control connection.
    #[arg(long, default_value_t = 1)]
    calls: u32,
    /// Give every call the same Call ID (as identical PPTP clients would).
    #[arg(long)]
    same_call_id: bool,
    /// Call ID of the first call.
    #[arg(long, default_value_t = 4660)]
    call_id: u16,
    /// Seconds each step may take.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
    /// Skip the path-MTU probes.
    #[arg(long)]
    no_mtu: bool,
    /// Print the report and verdict as JSON.
    #[arg(long)]
    json: bool,
}

/// GRE seen by the receiver thread.
#[derive(Default)]
struct Rx {
    /// Per call index (from the echo text) or per Call ID (other GRE).
    echoes: HashMap<u32, u32>,
    any_for_cid: HashMap<u16, u32>,
    sizes: Vec<usize>,
}

struct Conn {
    stream: TcpStream,
    reasm: Reassembler,
    call_id: u16,
    /// The server's own Call ID (OCRP): GRE towards it carries this.
    peer_cid: u16,
}

pub fn run(a: Args) -> i32 {
    let mut rep = Report::new(&a.host, a.calls.max(1));
    probe(&a, &mut rep);
    let v = verdict(&rep);
    if a.json {
        let doc =
            serde_json::json!({ "report": rep, "verdict": v, "nat_detected": rep.nat_detected() });
        println!("{doc}");
    } else {
        println!("VERDICT: {}", v.message);
    }
    v.exit_code
}

fn step(rep: &mut Report, name: &str, s: Step) {
    let (mark, text) = match &s {
        Step::Ok(t) => ("ok", t),
        Step::Failed(t) => ("FAILED", t),
        Step::Skipped(t) => ("skipped", t),
    };
    eprintln!("  {name:<22} {mark:<7} {text}");
    rep.steps.push((name.to_string(), s));
}

fn resolve(host: &str, limit: Duration) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse() {
        return Some(ip);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let h = host.to_string();
    std::thread::spawn(move || {
        let r = (h.as_str(), 1723)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| {
                it.find_map(|a| match a {
                    SocketAddr::V4(v) => Some(*v.ip()),
                    SocketAddr::V6(_) => None,
                })
            });
        let _ = tx.send(r);
    });
    rx.recv_timeout(limit).ok().flatten()
}

fn probe(a: &Args, rep: &mut Report) {
    let t = Duration::from_secs(a.timeout.max(1));
    eprintln!(
        "checking the PPTP path to {} ({} call(s))",
        a.host, rep.calls_requested
    );
    let Some(ip) = resolve(&a.host, t) else {
        step(
            rep,
            "DNS",
            Step::Failed(format!("{} does not resolve to IPv4", a.host)),
        );
        return;
    };
    rep.resolved = Some(ip);
    step(rep, "DNS", Step::Ok(ip.to_string()));
    // The local address the route to the server uses (UDP connect sends nothing).
    let local = UdpSocket::bind("0.0.0.0:0")
        .and_then(|u| u.connect((ip, 1723)).map(|_| u))
        .and_then(|u| u.local_addr())
        .ok()
        .and_then(|a| match a {
            SocketAddr::V4(v) => Some(*v.ip()),
            SocketAddr::V6(_) => None,
        });
    rep.local_address = local;
    let raw = match gre_socket(local.unwrap_or(Ipv4Addr::UNSPECIFIED)) {
        Ok(r) => r,
        Err(e) => {
            step(
                rep,
                "GRE socket",
                Step::Failed(format!("{e} (raw sockets need root)")),
            );
            return;
        }
    };
    let mut conns = Vec::new();
    for i in 0..rep.calls_requested {
        let cid = if a.same_call_id {
            a.call_id
        } else {
            a.call_id.wrapping_add(i as u16)
        };
        match open_call(rep, ip, cid, t, i) {
            Some(c) => conns.push(c),
            None => break,
        }
    }
    if conns.len() < rep.calls_requested as usize || rep.tcp != Some(TcpOutcome::Connected) {
        finish(&mut conns);
        return;
    }
    gre_probes(a, rep, ip, &raw, &mut conns, t);
    finish(&mut conns);
}

fn open_call(rep: &mut Report, ip: Ipv4Addr, cid: u16, t: Duration, i: u32) -> Option<Conn> {
    let tag = if rep.calls_requested > 1 {
        format!(" #{}", i + 1)
    } else {
        String::new()
    };
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    let started = Instant::now();
    if let Err(e) = sock.connect_timeout(&SockAddr::from(SocketAddrV4::new(ip, 1723)), t) {
        let outcome = match e.kind() {
            std::io::ErrorKind::ConnectionRefused => TcpOutcome::Refused,
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => TcpOutcome::TimedOut,
            _ => TcpOutcome::Unreachable,
        };
        rep.tcp = Some(outcome);
        step(rep, &format!("TCP 1723{tag}"), Step::Failed(format!("{e}")));
        return None;
    }
    rep.tcp = Some(TcpOutcome::Connected);
    step(
        rep,
        &format!("TCP 1723{tag}"),
        Step::Ok(format!("connected in {} ms", started.elapsed().as_millis())),
    );
    let mut stream: TcpStream = sock.into();
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(t));
    let mut reasm = Reassembler::new();
    let sccrq = Message::StartControlConnectionRequest(start_control(false, b"pptp-passthrough"));
    let reply = send_msg(&mut stream, &sccrq).and_then(|_| read_msg(&mut stream, &mut reasm));
    match reply {
        Ok(Message::StartControlConnectionReply(sc)) if sc.result == 1 => {
            rep.control = Some(true);
            rep.listener = is_listener(&sc.vendor);
            let what = if rep.listener {
                "a check listener".to_string()
            } else {
                format!("PPTP server \"{}\"", sc.vendor)
            };
            step(
                rep,
                &format!("control handshake{tag}"),
                Step::Ok(format!("SCCRP from {what}")),
            );
        }
        other => {
            rep.control = Some(false);
            step(
                rep,
                &format!("control handshake{tag}"),
                Step::Failed(describe(other)),
            );
            return None;
        }
    }
    let ocrq = Message::OutgoingCallRequest(OutgoingCallRequest::vpn(cid));
    let reply = send_msg(&mut stream, &ocrq).and_then(|_| read_msg(&mut stream, &mut reasm));
    match reply {
        Ok(Message::OutgoingCallReply(o)) if o.result == 1 && o.peer_call_id == cid => {
            rep.calls_up += 1;
            step(
                rep,
                &format!("outgoing call{tag}"),
                Step::Ok(format!("Call ID {cid}, server's Call ID {}", o.call_id)),
            );
            let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
            Some(Conn {
                stream,
                reasm,
                call_id: cid,
                peer_cid: o.call_id,
            })
        }
        other => {
            step(
                rep,
                &format!("outgoing call{tag}"),
                Step::Failed(describe(other)),
            );
            None
        }
    }
}

fn describe(r: std::io::Result<Message>) -> String {
    match r {
        Ok(m) => format!("unexpected {}", m.control_type().abbrev()),
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            "no answer (timed out)".into()
        }
        Err(e) => e.to_string(),
    }
}

/// Send GRE probes on every call, collect echoes and the listener's reports.
fn gre_probes(
    a: &Args,
    rep: &mut Report,
    ip: Ipv4Addr,
    raw: &Socket,
    conns: &mut [Conn],
    t: Duration,
) {
    let rx = Arc::new(Mutex::new(Rx::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let thread = {
        let (rx, stop) = (rx.clone(), stop.clone());
        let sock = raw.try_clone().ok();
        std::thread::spawn(move || {
            let Some(sock) = sock else { return };
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                let Ok(n) = (&sock).read(&mut buf) else {
                    continue;
                };
                let Some((_, cid, _, payload)) = parse_gre(&buf[..n]) else {
                    continue;
                };
                let Ok(mut st) = rx.lock() else { return };
                *st.any_for_cid.entry(cid).or_default() += 1;
                let text = String::from_utf8_lossy(&payload).to_string();
                if payload.starts_with(MAGIC) {
                    if let Some(i) = text
                        .split("call=")
                        .nth(1)
                        .and_then(|x| x.split(' ').next()?.parse().ok())
                    {
                        *st.echoes.entry(i).or_default() += 1;
                    }
                    st.sizes.push(n);
                }
            }
        })
    };
    let dst = SockAddr::from(SocketAddrV4::new(ip, 0));
    let deadline = Instant::now() + t.min(Duration::from_secs(3));
    let mut seen_out: HashMap<usize, u32> = HashMap::new();
    for round in 0..3u32 {
        for (i, c) in conns.iter().enumerate() {
            let peer_cid = c.peer_cid;
            let mut payload = format!(
                "{}probe call={i} seq={round} ",
                String::from_utf8_lossy(MAGIC)
            )
            .into_bytes();
            payload.resize(64, b'.');
            let _ = raw.send_to(&gre::build(peer_cid, Some(round + 1), None, &payload), &dst);
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    loop {
        for (i, c) in conns.iter_mut().enumerate() {
            while let Ok(m) = read_msg(&mut c.stream, &mut c.reasm) {
                if let Message::WanErrorNotify(w) = m {
                    seen_out.insert(i, w.crc_errors);
                    rep.seen_address = Some(Ipv4Addr::from(w.framing_errors));
                }
            }
        }
        let back = count_back(rep, &rx, conns);
        let out_done = !rep.listener || seen_out.len() == conns.len();
        if (back == conns.len() as u32 && out_done) || Instant::now() > deadline {
            break;
        }
    }
    rep.gre_out_ok = seen_out.len() as u32;
    rep.gre_back_ok = count_back(rep, &rx, conns);
    if rep.listener {
        let s = if rep.gre_out_ok == conns.len() as u32 {
            Step::Ok(format!(
                "the listener received probes on {} call(s)",
                rep.gre_out_ok
            ))
        } else {
            Step::Failed(format!(
                "the listener received probes on {} of {} call(s)",
                rep.gre_out_ok,
                conns.len()
            ))
        };
        step(rep, "GRE out", s);
    } else {
        step(
            rep,
            "GRE out",
            Step::Skipped("not a check listener: cannot tell whether GRE reached it".into()),
        );
    }
    let s = if rep.gre_back_ok == conns.len() as u32 {
        Step::Ok(format!("GRE came back on {} call(s)", rep.gre_back_ok))
    } else {
        Step::Failed(format!(
            "GRE came back on {} of {} call(s)",
            rep.gre_back_ok,
            conns.len()
        ))
    };
    step(rep, "GRE back", s);
    match (rep.seen_address, rep.nat_detected()) {
        (Some(seen), Some(true)) => step(
            rep,
            "address seen",
            Step::Ok(format!("{seen}: NAT between you and the server")),
        ),
        (Some(seen), _) => step(rep, "address seen", Step::Ok(format!("{seen}: no NAT"))),
        (None, _) => step(
            rep,
            "address seen",
            Step::Skipped("only a check listener reports it".into()),
        ),
    }
    if rep.listener && rep.gre_back_ok > 0 && !a.no_mtu {
        path_mtu(rep, raw, &dst, &rx, conns);
    }
    stop.store(true, Ordering::Relaxed);
    let _ = thread.join();
}

fn count_back(rep: &Report, rx: &Arc<Mutex<Rx>>, conns: &[Conn]) -> u32 {
    let Ok(st) = rx.lock() else { return 0 };
    (0..conns.len())
        .filter(|&i| {
            if rep.listener {
                st.echoes.get(&(i as u32)).copied().unwrap_or(0) > 0
            } else {
                st.any_for_cid.get(&conns[i].call_id).copied().unwrap_or(0) > 0
            }
        })
        .count() as u32
}

/// Largest GRE packet (IP total length) with DF that makes the round trip:
/// a binary search between 576 and 1500 bytes, one probe at a time.
fn path_mtu(rep: &mut Report, raw: &Socket, dst: &SockAddr, rx: &Arc<Mutex<Rx>>, conns: &[Conn]) {
    if set_dont_fragment(raw).is_err() {
        step(
            rep,
            "path MTU",
            Step::Skipped("cannot set Don't Fragment".into()),
        );
        return;
    }
    let (mut lo, mut hi) = (576usize, 1500usize);
    let peer_cid = conns[0].peer_cid;
    let mut best = None;
    let mut seq = 100;
    while lo <= hi {
        let size = (lo + hi) / 2;
        // IP header 20 + GRE with sequence number 12.
        let mut payload =
            format!("{}mtu call=0 size={size} ", String::from_utf8_lossy(MAGIC)).into_bytes();
        payload.resize(size - 32, b'.');
        seq += 1;
        let sent = raw
            .send_to(&gre::build(peer_cid, Some(seq), None, &payload), dst)
            .is_ok();
        let until = Instant::now() + Duration::from_millis(400);
        let mut ok = false;
        while sent && Instant::now() < until && !ok {
            std::thread::sleep(Duration::from_millis(10));
            ok = rx.lock().map(|s| s.sizes.contains(&size)).unwrap_or(false);
        }
        if ok {
            best = Some(size);
            lo = size + 1;
        } else {
            hi = size - 1;
        }
    }
    rep.path_mtu = best.map(|b| b as u32);
    match best {
        Some(b) => step(
            rep,
            "path MTU",
            Step::Ok(format!(
                "{b} bytes: GRE packets up to this size pass unfragmented"
            )),
        ),
        None => step(
            rep,
            "path MTU",
            Step::Failed("no probe of 576 bytes or more made the round trip".into()),
        ),
    }
}

fn finish(conns: &mut [Conn]) {
    for c in conns {
        let _ = send_msg(
            &mut c.stream,
            &Message::CallClearRequest { call_id: c.call_id },
        );
        let _ = send_msg(
            &mut c.stream,
            &Message::StopControlConnectionRequest { reason: 1 },
        );
    }
}
