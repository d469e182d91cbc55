//! Load generator for the embedded server (not shipped): many PPTP client
//! sessions in one process, on this project's client stack (the control
//! connection, PPP with MS-CHAPv2 and MPPE, the GRE channel) over one raw
//! GRE socket and no TUN device.
//!
//! `loadgen --server IP --user U --password P --sessions N [--rate N/s]
//!  [--inflight K] [--mbytes M] [--size B] [--sink IP] [--hold S]`
//!
//! Dials N calls (at most `rate` new ones a second, at most K still setting
//! up at a time, as a server's pending-login limit wants), waits until every
//! link is up, then sends M MiB of UDP (B-byte IP packets, to port 9 of
//! `sink`) spread over the sessions, holds them `hold` seconds and hangs
//! up. Prints one JSON line: sessions up and failed, the set-up span and
//! rate, the traffic phase's duration and bytes. `scripts/bench.sh` reads
//! the server's memory and CPU time around it.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use pptp_passthrough::os::gre::GreSocket;
use pptp_passthrough::ppp::auth::{AuthConfig, AuthMethod};
use pptp_passthrough::ppp::ccp::MppePolicy;
use pptp_passthrough::ppp::ipcp::IpcpConfig;
use pptp_passthrough::ppp::session::{Session, SessionConfig, SessionEvent};
use pptp_passthrough::pptp::control::{Control, ControlConfig, ControlEvent};
use pptp_passthrough::pptp::gre::{GreChannel, GreConfig};
use pptp_passthrough::pptp::link::Link;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

struct Args {
    server: Ipv4Addr,
    user: String,
    password: String,
    sessions: usize,
    rate: f64,
    inflight: usize,
    mbytes: f64,
    size: usize,
    sink: Ipv4Addr,
    hold: f64,
}

fn args() -> Args {
    let v: Vec<String> = std::env::args().skip(1).collect();
    let get = |k: &str| {
        v.iter()
            .position(|a| a == k)
            .and_then(|i| v.get(i + 1))
            .cloned()
    };
    let num = |k: &str, d: f64| get(k).map_or(d, |s| s.parse().expect(k));
    Args {
        server: get("--server")
            .expect("--server")
            .parse()
            .expect("--server"),
        user: get("--user").unwrap_or_else(|| "load".into()),
        password: get("--password").unwrap_or_else(|| "load pass".into()),
        sessions: num("--sessions", 100.0) as usize,
        rate: num("--rate", 200.0),
        inflight: num("--inflight", 128.0) as usize,
        mbytes: num("--mbytes", 0.0),
        size: num("--size", 1400.0) as usize,
        sink: get("--sink").map_or(Ipv4Addr::new(10, 99, 0, 1), |s| s.parse().expect("--sink")),
        hold: num("--hold", 0.0),
    }
}

/// A call the control task set up: our Call ID, the server's.
struct CallUp {
    call_id: u16,
    peer_call_id: u16,
}

/// One control connection with one call; it stays open until `stop`.
async fn control(
    server: Ipv4Addr,
    call_id: u16,
    up: mpsc::UnboundedSender<Result<CallUp, String>>,
    mut stop: watch::Receiver<bool>,
) {
    let r = async {
        let mut tcp = TcpStream::connect((server, 1723)).await.map_err(|e| e.to_string())?;
        tcp.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut ctl = Control::client(ControlConfig::default(), Instant::now());
        let mut buf = vec![0u8; 4096];
        let mut requested = false;
        let mut reported = false;
        loop {
            while let Some(b) = ctl.poll_transmit() {
                tcp.write_all(&b).await.map_err(|e| e.to_string())?;
            }
            while let Some(ev) = ctl.poll_event() {
                match ev {
                    ControlEvent::CallUp { call_id, peer_call_id, .. } if !reported => {
                        reported = true;
                        let _ = up.send(Ok(CallUp { call_id, peer_call_id }));
                    }
                    ControlEvent::CallDown { reason, .. } if !reported => {
                        return Err(format!("call refused: {reason:?}"));
                    }
                    ControlEvent::Closed { error } if !reported => {
                        return Err(format!("control connection closed: {error:?}"));
                    }
                    _ => {}
                }
            }
            if ctl.is_established() && !requested {
                requested = true;
                let mut id = || call_id;
                ctl.open_call(&mut id, Instant::now()).map_err(|e| e.to_string())?;
                continue;
            }
            tokio::select! {
                r = tcp.read(&mut buf) => match r {
                    Ok(0) | Err(_) => return if reported { Ok(()) } else { Err("closed".into()) },
                    Ok(n) => ctl.handle_bytes(Instant::now(), &buf[..n]),
                },
                _ = tokio::time::sleep(Duration::from_millis(500)) => ctl.handle_timeout(Instant::now()),
                _ = stop.changed() => {
                    ctl.stop(Instant::now());
                    while let Some(b) = ctl.poll_transmit() {
                        let _ = tcp.write_all(&b).await;
                    }
                    return Ok(());
                }
            }
        }
    }
    .await;
    if let Err(e) = r {
        let _ = up.send(Err(e));
    }
}

fn session_config(a: &Args) -> SessionConfig {
    SessionConfig {
        auth: AuthConfig {
            methods: vec![AuthMethod::MsChapV2],
            name: a.user.clone(),
            password: a.password.clone(),
            ..AuthConfig::default()
        },
        mppe: Some(MppePolicy::default()),
        ipcp: IpcpConfig {
            request_dns: false,
            ..IpcpConfig::default()
        },
        ..SessionConfig::default()
    }
}

/// An IPv4 UDP packet of `size` bytes from `src` to port 9 of `dst`.
fn udp(src: Ipv4Addr, dst: Ipv4Addr, size: usize) -> Vec<u8> {
    let size = size.clamp(28, 1400);
    let mut p = vec![0u8; size];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(size as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let mut sum: u32 = 0;
    for c in p[..20].chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    p[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    p[20..22].copy_from_slice(&4000u16.to_be_bytes());
    p[22..24].copy_from_slice(&9u16.to_be_bytes());
    p[24..26].copy_from_slice(&((size - 20) as u16).to_be_bytes());
    p
}

struct Sess {
    link: Link,
    ip: Option<Ipv4Addr>,
}

fn flush(s: &mut Sess, gre: &GreSocket, server: Ipv4Addr, now: Instant) -> Vec<SessionEvent> {
    while let Some(p) = s.link.poll_gre(now) {
        gre.try_send(server, &p);
    }
    while s.link.ppp.poll_ip().is_some() {}
    std::iter::from_fn(|| s.link.ppp.poll_event()).collect()
}

async fn run(a: Args) -> serde_json::Value {
    let local = match TcpStream::connect((a.server, 1723))
        .await
        .and_then(|t| t.local_addr())
    {
        Ok(SocketAddr::V4(v)) => *v.ip(),
        other => panic!("cannot reach the server: {other:?}"),
    };
    let gre = GreSocket::bind(local).expect("raw GRE socket (root)");
    let (up_tx, mut up_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = Instant::now();
    let mut dialed = 0usize;
    let mut sessions: HashMap<u16, Sess> = HashMap::new();
    let (mut failed, mut up) = (0usize, 0usize);
    let mut last_up = t0;
    let mut buf = vec![0u8; 65536];
    // GRE that arrives before its call's link exists (the server's first
    // LCP packet follows its Outgoing-Call-Reply at once): kept a moment.
    let mut early: HashMap<u16, Vec<Vec<u8>>> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let deadline = t0 + Duration::from_secs_f64(a.sessions as f64 / a.rate + 60.0);
    // Set-up: dial at `rate`, until every call is up or failed.
    while up + failed < a.sessions && Instant::now() < deadline {
        let due = ((t0.elapsed().as_secs_f64() * a.rate) as usize + 1).min(a.sessions);
        while dialed < due && dialed - up - failed < a.inflight {
            dialed += 1;
            let id = u16::try_from(dialed).unwrap_or(u16::MAX);
            tokio::spawn(control(a.server, id, up_tx.clone(), stop_rx.clone()));
        }
        tokio::select! {
            m = up_rx.recv() => match m {
                Some(Ok(c)) => {
                    let ppp = Session::client(session_config(&a), Instant::now(), pptp_passthrough::service::endpoint::OsRng);
                    let link = Link::new(GreChannel::new(c.call_id, c.peer_call_id, GreConfig::default()), ppp, a.server);
                    let mut s = Sess { link, ip: None };
                    let now = Instant::now();
                    for pkt in early.remove(&c.call_id).unwrap_or_default() {
                        s.link.on_gre(now, &pkt);
                    }
                    let _ = flush(&mut s, &gre, a.server, now);
                    sessions.insert(c.call_id, s);
                }
                Some(Err(e)) => {
                    failed += 1;
                    if failed <= 5 {
                        eprintln!("loadgen: {e}");
                    }
                }
                None => break,
            },
            r = gre.recv(&mut buf) => if let Ok((src, range)) = r {
                let pkt = &buf[range];
                if src == a.server && pkt.len() >= 8 {
                    let cid = u16::from_be_bytes([pkt[6], pkt[7]]);
                    if !sessions.contains_key(&cid) && early.len() < 4096 {
                        let q = early.entry(cid).or_default();
                        if q.len() < 8 {
                            q.push(pkt.to_vec());
                        }
                    }
                    if let Some(s) = sessions.get_mut(&cid) {
                        let now = Instant::now();
                        s.link.on_gre(now, pkt);
                        for ev in flush(s, &gre, a.server, now) {
                            match ev {
                                SessionEvent::Up { local_ip, .. } if s.ip.is_none() => {
                                    s.ip = Some(local_ip);
                                    up += 1;
                                    last_up = now;
                                }
                                SessionEvent::Down { reason } => {
                                    failed += 1;
                                    if failed <= 5 {
                                        eprintln!("loadgen: link down: {reason}");
                                    }
                                }
                                _ => {}
                            }
                        }
                    }
                }
            },
            _ = tick.tick() => {
                let now = Instant::now();
                for s in sessions.values_mut() {
                    s.link.on_timeout(now);
                    let _ = flush(s, &gre, a.server, now);
                }
            }
        }
    }
    let setup = last_up.duration_since(t0).as_secs_f64();
    eprintln!("loadgen: {up} sessions up, {failed} failed, in {setup:.1} s");
    println!("{}", serde_json::json!({"phase": "up", "sessions_up": up}));
    // Traffic: M MiB round-robin over the sessions that are up.
    let total = (a.mbytes * 1_048_576.0) as u64;
    let ids: Vec<u16> = sessions
        .iter()
        .filter(|(_, s)| s.ip.is_some())
        .map(|(c, _)| *c)
        .collect();
    let t1 = Instant::now();
    let mut sent = 0u64;
    let mut i = 0usize;
    while sent < total && !ids.is_empty() {
        let now = Instant::now();
        for _ in 0..64 {
            let cid = ids[i % ids.len()];
            i += 1;
            if let Some(s) = sessions.get_mut(&cid) {
                let p = udp(s.ip.unwrap_or(Ipv4Addr::UNSPECIFIED), a.sink, a.size);
                if s.link.ppp.send_ip(&p).is_ok() {
                    sent += p.len() as u64;
                }
                let _ = flush(s, &gre, a.server, now);
            }
        }
        // Keep acks and echoes going without waiting.
        while let Ok(Ok((src, range))) =
            tokio::time::timeout(Duration::ZERO, gre.recv(&mut buf)).await
        {
            let pkt = &buf[range];
            if src == a.server && pkt.len() >= 8 {
                let cid = u16::from_be_bytes([pkt[6], pkt[7]]);
                if let Some(s) = sessions.get_mut(&cid) {
                    s.link.on_gre(now, pkt);
                    let _ = flush(s, &gre, a.server, now);
                }
            }
        }
        tokio::task::yield_now().await;
    }
    let traffic = t1.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({"phase": "sent", "bytes": sent}));
    // Hold, answering echoes, then hang up.
    let hold_until = Instant::now() + Duration::from_secs_f64(a.hold);
    while Instant::now() < hold_until {
        tokio::select! {
            r = gre.recv(&mut buf) => if let Ok((src, range)) = r {
                let pkt = &buf[range];
                if src == a.server && pkt.len() >= 8 {
                    let cid = u16::from_be_bytes([pkt[6], pkt[7]]);
                    if let Some(s) = sessions.get_mut(&cid) {
                        let now = Instant::now();
                        s.link.on_gre(now, pkt);
                        let _ = flush(s, &gre, a.server, now);
                    }
                }
            },
            _ = tick.tick() => {
                let now = Instant::now();
                for s in sessions.values_mut() {
                    s.link.on_timeout(now);
                    let _ = flush(s, &gre, a.server, now);
                }
            }
        }
    }
    let now = Instant::now();
    for s in sessions.values_mut() {
        s.link.ppp.close(now);
        let _ = flush(s, &gre, a.server, now);
    }
    let _ = stop_tx.send(true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    serde_json::json!({
        "sessions": a.sessions,
        "sessions_up": up,
        "failed": failed,
        "setup_secs": setup,
        "setups_per_sec": if setup > 0.0 { up as f64 / setup } else { 0.0 },
        "traffic_secs": traffic,
        "traffic_bytes": sent,
        "mbit_per_sec": if traffic > 0.0 { sent as f64 * 8.0 / traffic / 1e6 } else { 0.0 },
    })
}

fn main() {
    let a = args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = rt.block_on(run(a));
    println!("{out}");
}
