//! Blocking PPTP and raw GRE helpers shared by `check` and the lab peer
//! (`examples/lab-peer.rs`):
//! test and diagnostic tools, where a thread per connection is plenty.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::OsError;
use crate::wire::gre;
use crate::wire::pptp::{Message, OutgoingCallReply, Reassembler, StartControl, Str64};

/// A raw GRE socket that only sees packets for `bind`. Until bind() it
/// sees every GRE packet of the namespace: those are drained here.
pub fn gre_socket(bind: Ipv4Addr) -> Result<Socket, OsError> {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47)))?;
    s.bind(&SockAddr::from(SocketAddrV4::new(bind, 0)))?;
    s.set_nonblocking(true)?;
    let mut buf = [0u8; 2048];
    while (&s).read(&mut buf).is_ok() {}
    s.set_nonblocking(false)?;
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    Ok(s)
}

/// (source, GRE call id, seq, payload) of a received raw IPv4 GRE packet.
pub fn parse_gre(buf: &[u8]) -> Option<(Ipv4Addr, u16, Option<u32>, Vec<u8>)> {
    let ihl = usize::from(buf.first()? & 0x0f) * 4;
    let src = Ipv4Addr::new(*buf.get(12)?, *buf.get(13)?, *buf.get(14)?, *buf.get(15)?);
    let p = gre::Packet::new_checked(buf.get(ihl..)?).ok()?;
    Some((src, p.call_id(), p.seq(), p.payload().to_vec()))
}

pub fn send_msg(s: &mut TcpStream, m: &Message) -> std::io::Result<()> {
    s.write_all(&m.to_bytes())
}

pub fn read_msg(s: &mut TcpStream, r: &mut Reassembler) -> std::io::Result<Message> {
    let mut buf = [0u8; 2048];
    loop {
        match r.next_message() {
            Some(Ok(m)) => return Ok(m),
            Some(Err(e)) => return Err(std::io::Error::other(e.to_string())),
            None => {}
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        r.push(&buf[..n]);
    }
}

pub fn start_control(reply: bool, vendor: &[u8]) -> StartControl {
    StartControl {
        protocol_version: 0x0100,
        result: u8::from(reply),
        framing_capabilities: 3,
        bearer_capabilities: 3,
        host_name: Str64::new(b"pptp-passthrough"),
        vendor: Str64::new(vendor),
        ..StartControl::default()
    }
}

/// OCRP accepting a call: our Call ID `own` for the caller's `peer` (§2.8).
pub fn accept_call(own: u16, peer: u16) -> Message {
    Message::OutgoingCallReply(OutgoingCallReply {
        call_id: own,
        peer_call_id: peer,
        result: 1,
        connect_speed: 64000,
        packet_recv_window_size: 64,
        ..OutgoingCallReply::default()
    })
}
