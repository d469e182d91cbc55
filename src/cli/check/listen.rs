//! `check listen`: a PPTP server that only answers probes.

use std::collections::HashMap;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use socket2::SockAddr;

use super::{MAGIC, VENDOR};
use crate::os::OsError;
use crate::os::gre::set_dont_fragment;
use crate::os::probe::{accept_call, gre_socket, parse_gre, read_msg, send_msg, start_control};
use crate::wire::gre;
use crate::wire::pptp::{CallDisconnectNotify, Message, Reassembler, WanErrorNotify};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on (TCP 1723 and GRE).
    #[arg(long, default_value = "0.0.0.0")]
    bind: Ipv4Addr,
}

struct Call {
    peer: Ipv4Addr,
    peer_call_id: u16,
    ctrl: Arc<Mutex<TcpStream>>,
    probes: u32,
}

type Calls = Arc<Mutex<HashMap<u16, Call>>>;

pub fn run(a: Args) -> Result<(), OsError> {
    let calls: Calls = Arc::default();
    let raw = gre_socket(a.bind)?;
    set_dont_fragment(&raw)?;
    let tx = raw.try_clone()?;
    let gcalls = calls.clone();
    std::thread::spawn(move || gre_loop(raw, tx, gcalls));
    let l = TcpListener::bind(SocketAddrV4::new(a.bind, 1723))?;
    println!(
        "check listen: waiting for probes on {}:1723 and GRE",
        a.bind
    );
    let mut next = 0x4000u16;
    for s in l.incoming() {
        let Ok(s) = s else { continue };
        let calls = calls.clone();
        let first = next;
        next = next.wrapping_add(64);
        std::thread::spawn(move || {
            if let Err(e) = serve(s, calls, first) {
                println!("  control connection ended: {e}");
            }
        });
    }
    Ok(())
}

fn gre_loop(raw: socket2::Socket, tx: socket2::Socket, calls: Calls) {
    let mut buf = [0u8; 4096];
    let mut seq = 0u32;
    loop {
        let Ok(n) = (&raw).read(&mut buf) else {
            continue;
        };
        let Some((src, cid, rseq, payload)) = parse_gre(&buf[..n]) else {
            continue;
        };
        let Ok(mut map) = calls.lock() else { return };
        let Some(c) = map.get_mut(&cid).filter(|c| c.peer == src) else {
            println!("  GRE from {src} for unknown Call ID {cid} ({n} bytes): ignored");
            continue;
        };
        c.probes += 1;
        println!(
            "  GRE probe from {src} (as seen here) to Call ID {cid}, seq {}, {n} bytes",
            rseq.map_or("-".into(), |s| s.to_string())
        );
        // Echo the same size back, saying whom we saw.
        let mut reply = format!("{}seen={src} ", String::from_utf8_lossy(MAGIC)).into_bytes();
        reply.extend_from_slice(&payload);
        reply.truncate(payload.len().max(40));
        seq = seq.wrapping_add(1);
        // No ack: the echo has the same size as the probe (path-MTU probes).
        let pkt = gre::build(c.peer_call_id, Some(seq), None, &reply);
        let _ = tx.send_to(&pkt, &SockAddr::from(SocketAddrV4::new(src, 0)));
        let wen = Message::WanErrorNotify(WanErrorNotify {
            peer_call_id: c.peer_call_id,
            crc_errors: c.probes,
            framing_errors: u32::from(src),
            ..WanErrorNotify::default()
        });
        if let Ok(mut s) = c.ctrl.lock() {
            let _ = send_msg(&mut s, &wen);
        }
    }
}

fn serve(s: TcpStream, calls: Calls, first_id: u16) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let peer = match s.peer_addr()? {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(_) => return Ok(()),
    };
    println!("control connection from {peer} (as seen here)");
    let ctrl = Arc::new(Mutex::new(s.try_clone()?));
    let mut rd = s;
    let mut r = Reassembler::new();
    let mut next = first_id;
    loop {
        let m = read_msg(&mut rd, &mut r)?;
        let reply = match m {
            Message::StartControlConnectionRequest(sc) => {
                println!("  SCCRQ from {}, vendor {}", sc.host_name, sc.vendor);
                Message::StartControlConnectionReply(start_control(true, VENDOR))
            }
            Message::EchoRequest { identifier } => Message::EchoReply {
                identifier,
                result: 1,
                error: 0,
            },
            Message::OutgoingCallRequest(o) => {
                let own = next;
                next = next.wrapping_add(1);
                println!(
                    "  OCRQ Call ID {} (as seen here) -> our Call ID {own}",
                    o.call_id
                );
                calls
                    .lock()
                    .map_err(|_| std::io::Error::other("lock"))?
                    .insert(
                        own,
                        Call {
                            peer: *peer.ip(),
                            peer_call_id: o.call_id,
                            ctrl: ctrl.clone(),
                            probes: 0,
                        },
                    );
                accept_call(own, o.call_id)
            }
            Message::CallClearRequest { call_id } => {
                let mut map = calls.lock().map_err(|_| std::io::Error::other("lock"))?;
                let own = map
                    .iter()
                    .find(|(_, c)| c.peer == *peer.ip() && c.peer_call_id == call_id)
                    .map(|(k, _)| *k);
                let Some(own) = own else { continue };
                map.remove(&own);
                Message::CallDisconnectNotify(CallDisconnectNotify {
                    call_id: own,
                    result: 3,
                    ..CallDisconnectNotify::default()
                })
            }
            Message::StopControlConnectionRequest { .. } => {
                let mut c = ctrl.lock().map_err(|_| std::io::Error::other("lock"))?;
                send_msg(
                    &mut c,
                    &Message::StopControlConnectionReply {
                        result: 1,
                        error: 0,
                    },
                )?;
                calls
                    .lock()
                    .map_err(|_| std::io::Error::other("lock"))?
                    .retain(|_, c| !Arc::ptr_eq(&c.ctrl, &ctrl));
                println!("  control connection from {peer} stopped");
                return Ok(());
            }
            _ => continue,
        };
        let mut c = ctrl.lock().map_err(|_| std::io::Error::other("lock"))?;
        send_msg(&mut c, &reply)?;
    }
}
