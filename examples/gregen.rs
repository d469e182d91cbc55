//! GRE load generator for `scripts/bench.sh` (not shipped): PPTP calls are
//! set up through the router under test, then enhanced GRE (RFC 2637 §4.1)
//! is blasted in one direction with `sendmmsg` and counted with `recvmmsg`
//! on raw GRE sockets, 64 packets per system call.
//!
//! ```text
//! gregen peer --listen IP --calls N --dir in|out [--size B] [--secs S] ...
//! gregen pns  --server IP --calls N --dir in|out [--per-conn K] ...
//! ```
//!
//! `peer` (internet side) is a minimal PAC on IP:1723: it answers every
//! SCCRQ and Outgoing-Call-Request (its own Call IDs 1..N) and records the
//! caller's Call ID of each request: after the router's NAT, the public
//! one. `pns` (LAN side) opens N / K control connections (K = `--per-conn`,
//! default 1: one call per connection, as PPTP clients do and the only
//! layout the kernel's helper handles), sends SCCRQ, then after the SCCRP
//! the connection's K requests (its Call IDs 1..N), on `--window`
//! connections at a time, reading every connection while it writes the
//! others; once every reply is back it sends an Echo-Request: the "go".
//!
//! `--dir out`: `pns` sends to the peer with the peer's Call IDs, `peer`
//! counts. `--dir in`: on the go, `peer` sends to the address the control
//! connections came from (the router's public address behind NAT) with the
//! recorded Call IDs, `pns` counts. Calls are used round-robin. The sender
//! stops after `--secs` or `--max-packets`; the receiver counts packets
//! whose Call ID is one of its live calls and stops after `--quiet-ms`
//! without packets (or a deadline). Each side prints one line (`keys`:
//! distinct Call IDs sent on / received on):
//!
//! ```text
//! sent=P bytes=B secs=S errors=E calls=N keys=K
//! received=P bytes=B secs=S other=O calls=N keys=K
//! ```
//!
//! Bytes are whole IP packets (20 + 12 + size); the receiver's seconds run
//! from its first counted packet to its last. Every wait has a deadline.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, TcpStream};
use std::os::fd::AsRawFd;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand, ValueEnum};
use pptp_passthrough::wire::gre;
use pptp_passthrough::wire::pptp::{
    Message, OutgoingCallReply, OutgoingCallRequest, Reassembler, StartControl, Str64,
};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Packets per sendmmsg/recvmmsg.
const BATCH: usize = 64;
/// Receive slot per packet: more than the MTU of the bench links.
const SLOT: usize = 2048;
/// IPv4 header without options, as the kernel builds it for raw sockets.
const IP_HEADER: usize = 20;
/// GRE header with a sequence number and no acknowledgment.
const GRE_HEADER: usize = 12;

#[derive(Parser, Debug)]
#[command(about = "GRE forwarding load generator (scripts/bench.sh)")]
struct Cli {
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand, Debug)]
enum Role {
    /// Internet side: a minimal PAC on LISTEN:1723.
    Peer {
        #[arg(long)]
        listen: Ipv4Addr,
        #[command(flatten)]
        o: Opts,
    },
    /// LAN side: dial SERVER:1723 and open the calls.
    Pns {
        #[arg(long)]
        server: Ipv4Addr,
        #[command(flatten)]
        o: Opts,
    },
    /// Control-plane round trips to any PPTP server on SERVER:1723, one at
    /// a time: COUNT Outgoing-Call-Request/Reply pairs on one reused
    /// connection, then COUNT fresh connections each doing TCP connect,
    /// SCCRQ/SCCRP and OCRQ/OCRP. Prints percentiles in microseconds.
    Latency {
        #[arg(long)]
        server: Ipv4Addr,
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..))]
        count: u16,
        /// Seconds for the whole run at most.
        #[arg(long, default_value_t = 60)]
        wait: u64,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Dir {
    /// Internet to LAN: the peer sends, the PNS counts.
    In,
    /// LAN to internet: the PNS sends, the peer counts.
    Out,
}

#[derive(clap::Args, Debug, Clone, Copy)]
struct Opts {
    /// Calls in all (1..=65535).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    calls: u16,
    /// pns: calls per control connection (the kernel's helper tracks one).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    per_conn: u16,
    /// pns: control connections with a request outstanding at a time (a
    /// thousand clients do not all dial in the same millisecond).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    window: u16,
    /// Which side sends the GRE.
    #[arg(long, value_enum)]
    dir: Dir,
    /// GRE payload bytes per packet.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1460))]
    size: u16,
    /// Seconds the sender sends.
    #[arg(long, default_value_t = 3.0)]
    secs: f64,
    /// Packets the sender sends at most.
    #[arg(long, default_value_t = 100_000_000)]
    max_packets: u64,
    /// Seconds to wait for the connection, the calls and the first packet.
    #[arg(long, default_value_t = 20)]
    wait: u64,
    /// The receiver stops after this many milliseconds without a packet.
    #[arg(long, default_value_t = 1000)]
    quiet_ms: u64,
}

type Res<T> = Result<T, String>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, r) = match cli.role {
        Role::Peer { listen, o } => ("peer", peer(listen, o)),
        Role::Pns { server, o } => ("pns", pns(server, o)),
        Role::Latency {
            server,
            count,
            wait,
        } => ("latency", latency(server, count, wait)),
    };
    match r {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gregen {name}: {e}");
            ExitCode::FAILURE
        }
    }
}

// --- control connections ------------------------------------------------

fn start_control(reply: bool) -> StartControl {
    StartControl {
        protocol_version: 0x0100,
        result: u8::from(reply),
        framing_capabilities: 3,
        bearer_capabilities: 3,
        host_name: Str64::new(b"gregen"),
        vendor: Str64::new(b"gregen"),
        ..StartControl::default()
    }
}

fn would_block(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

/// A nonblocking control connection: what came in, what waits to go out.
struct Conn {
    s: TcpStream,
    r: Reassembler,
    out: Vec<u8>,
}

impl Conn {
    fn new(s: TcpStream) -> Res<Self> {
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            s,
            r: Reassembler::new(),
            out: Vec::new(),
        })
    }

    /// Write what is queued, as far as it goes; true if anything went.
    fn flush(&mut self) -> Res<bool> {
        let mut done = 0;
        while done < self.out.len() {
            match self.s.write(&self.out[done..]) {
                Ok(0) => return Err("the control connection was closed".into()),
                Ok(k) => done += k,
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(format!("writing a control connection: {e}")),
            }
        }
        self.out.drain(..done);
        Ok(done > 0)
    }

    /// Read what has arrived; true if anything did.
    fn pull(&mut self) -> Res<bool> {
        let mut buf = [0u8; 16384];
        match self.s.read(&mut buf) {
            Ok(0) => Err("the control connection was closed".into()),
            Ok(k) => {
                self.r.push(&buf[..k]);
                Ok(true)
            }
            Err(e) if would_block(&e) => Ok(false),
            Err(e) => Err(format!("reading a control connection: {e}")),
        }
    }

    fn next(&mut self) -> Res<Option<Message>> {
        match self.r.next_message() {
            None => Ok(None),
            Some(Ok(m)) => Ok(Some(m)),
            Some(Err(e)) => Err(format!("bad control message: {e}")),
        }
    }
}

fn listener(listen: Ipv4Addr) -> Res<Socket> {
    let l =
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(|e| e.to_string())?;
    l.set_reuse_address(true).map_err(|e| e.to_string())?;
    l.bind(&SockAddr::from(SocketAddrV4::new(listen, 1723)))
        .map_err(|e| format!("listening on {listen}:1723: {e}"))?;
    l.listen(4096).map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(l)
}

fn peer(listen: Ipv4Addr, o: Opts) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(o.wait);
    // Before the calls, so that nothing sent early is missed.
    let raw = gre_socket(listen)?;
    let l = listener(listen)?;
    let n = usize::from(o.calls);
    let mut conns: Vec<Conn> = Vec::new();
    let mut caller: Option<Ipv4Addr> = None;
    // The caller's Call ID of our call k + 1.
    let mut theirs: Vec<u16> = Vec::with_capacity(n);
    let mut go = false;
    // dir out: count as soon as every call is answered; dir in: send on the go.
    while !(theirs.len() == n && (go || o.dir == Dir::Out)) {
        if Instant::now() > deadline {
            return Err(format!(
                "{} connection(s), {} of {n} calls{} before the deadline",
                conns.len(),
                theirs.len(),
                if theirs.len() == n { ", no go" } else { "" }
            ));
        }
        let mut busy = false;
        loop {
            match l.accept() {
                Ok((s, a)) => {
                    let ip = a.as_socket_ipv4().map(|a| *a.ip());
                    if caller.is_some() && ip != caller {
                        return Err(format!("a second caller address {ip:?}"));
                    }
                    caller = ip;
                    conns.push(Conn::new(s.into())?);
                    busy = true;
                }
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(format!("accept: {e}")),
            }
        }
        for c in &mut conns {
            busy |= c.pull()?;
            while let Some(m) = c.next()? {
                let reply = match m {
                    Message::StartControlConnectionRequest(_) => {
                        Message::StartControlConnectionReply(start_control(true))
                    }
                    Message::OutgoingCallRequest(q) if theirs.len() < n => {
                        theirs.push(q.call_id);
                        Message::OutgoingCallReply(OutgoingCallReply {
                            call_id: theirs.len() as u16,
                            peer_call_id: q.call_id,
                            result: 1,
                            connect_speed: 100_000_000,
                            packet_recv_window_size: 64,
                            ..OutgoingCallReply::default()
                        })
                    }
                    Message::EchoRequest { identifier } => {
                        go = true;
                        Message::EchoReply {
                            identifier,
                            result: 1,
                            error: 0,
                        }
                    }
                    _ => continue,
                };
                c.out.extend(reply.to_bytes());
            }
            busy |= c.flush()?;
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let caller = caller.ok_or("no caller")?;
    let ours: Vec<u16> = (1..=o.calls).collect();
    let line = match o.dir {
        Dir::In => blast(&raw, caller, &theirs, o)?,
        Dir::Out => count(&raw, &ours, o)?,
    };
    drop(conns);
    Ok(line)
}

/// Connect to `server`:1723, retrying while nobody listens yet.
fn dial(server: Ipv4Addr, deadline: Instant) -> Res<TcpStream> {
    loop {
        let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| format!("TCP socket (raise `ulimit -n` for many calls): {e}"))?;
        match s.connect_timeout(
            &SockAddr::from(SocketAddrV4::new(server, 1723)),
            Duration::from_secs(2),
        ) {
            Ok(()) => {
                // Close with a RST: no TIME_WAIT left behind by many runs.
                s.set_linger(Some(Duration::ZERO))
                    .map_err(|e| e.to_string())?;
                return Ok(s.into());
            }
            Err(e)
                if Instant::now() < deadline
                    && e.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(format!("connecting to {server}:1723: {e}")),
        }
    }
}

fn pns(server: Ipv4Addr, o: Opts) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(o.wait);
    let n = usize::from(o.calls);
    let per = usize::from(o.per_conn);
    // Our Call IDs 1..=N, `per` of them on each connection.
    let ids: Vec<Vec<u16>> = (1..=o.calls)
        .collect::<Vec<_>>()
        .chunks(per)
        .map(<[u16]>::to_vec)
        .collect();
    let mut conns = Vec::with_capacity(ids.len());
    let mut raw = None;
    for _ in &ids {
        let s = dial(server, deadline)?;
        if raw.is_none() {
            let me = match s.local_addr().map_err(|e| e.to_string())?.ip() {
                IpAddr::V4(a) => a,
                IpAddr::V6(a) => return Err(format!("unexpected local address {a}")),
            };
            // Before the calls, so that nothing sent early is missed.
            raw = Some(gre_socket(me)?);
        }
        conns.push(Conn::new(s)?);
    }
    let raw = raw.ok_or("no connection")?;
    // The peer's Call ID of our call k + 1.
    let mut theirs: Vec<Option<u16>> = vec![None; n];
    // Replies still to come per connection, and connections started.
    let mut pending: Vec<usize> = ids.iter().map(Vec::len).collect();
    let (mut started, mut busy_conns) = (0usize, 0usize);
    let (mut got, mut sccrps) = (0usize, 0usize);
    // SCCRQ on at most --window connections at a time, the requests after
    // the SCCRP; every connection is read while others are written: nothing
    // blocks on full buffers.
    while got < n {
        while busy_conns < usize::from(o.window) && started < conns.len() {
            conns[started].out =
                Message::StartControlConnectionRequest(start_control(false)).to_bytes();
            started += 1;
            busy_conns += 1;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{sccrps} of {} SCCRPs, {got} of {n} Outgoing-Call-Replies before the deadline",
                conns.len()
            ));
        }
        let mut busy = false;
        for (c, mine) in conns.iter_mut().zip(&ids) {
            busy |= c.flush()?;
            busy |= c.pull()?;
            while let Some(m) = c.next()? {
                match m {
                    Message::StartControlConnectionReply(r) if r.result == 1 => {
                        sccrps += 1;
                        for &id in mine {
                            c.out.extend(
                                Message::OutgoingCallRequest(OutgoingCallRequest::vpn(id))
                                    .to_bytes(),
                            );
                        }
                    }
                    Message::StartControlConnectionReply(r) => {
                        return Err(format!("SCCRP result {}", r.result));
                    }
                    Message::OutgoingCallReply(p) => {
                        let slot = usize::from(p.peer_call_id)
                            .checked_sub(1)
                            .and_then(|i| theirs.get_mut(i))
                            .ok_or_else(|| {
                                format!("OCRP for unknown Call ID {}", p.peer_call_id)
                            })?;
                        if p.result != 1 {
                            return Err(format!(
                                "call {} refused: result {}",
                                p.peer_call_id, p.result
                            ));
                        }
                        if slot.replace(p.call_id).is_none() {
                            got += 1;
                            let left = &mut pending[(usize::from(p.peer_call_id) - 1) / per];
                            *left -= 1;
                            if *left == 0 {
                                busy_conns -= 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
            busy |= c.flush()?;
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // The go: every reply has passed the router.
    let c = &mut conns[0];
    c.out
        .extend(Message::EchoRequest { identifier: 1 }.to_bytes());
    while !c.out.is_empty() {
        if Instant::now() > deadline {
            return Err("could not send the go".into());
        }
        if !c.flush()? {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let theirs: Vec<u16> = theirs.into_iter().flatten().collect();
    let ours: Vec<u16> = (1..=o.calls).collect();
    let line = match o.dir {
        Dir::Out => blast(&raw, server, &theirs, o)?,
        Dir::In => count(&raw, &ours, o)?,
    };
    drop(conns);
    Ok(line)
}

// --- control-plane latency ----------------------------------------------

/// Send `m` and wait (blocking, until `deadline`) for the next message.
fn round_trip(
    s: &mut TcpStream,
    r: &mut Reassembler,
    m: Message,
    deadline: Instant,
) -> Res<Message> {
    s.write_all(&m.to_bytes())
        .map_err(|e| format!("writing: {e}"))?;
    let mut buf = [0u8; 4096];
    loop {
        if let Some(m) = r.next_message() {
            return m.map_err(|e| format!("bad control message: {e}"));
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or("no reply before the deadline")?;
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => return Err("the control connection was closed".into()),
            Ok(k) => r.push(&buf[..k]),
            Err(e) => return Err(format!("reading: {e}")),
        }
    }
}

/// Open a connection and start the control connection (SCCRQ/SCCRP).
fn control(server: Ipv4Addr, deadline: Instant) -> Res<(TcpStream, Reassembler)> {
    let mut s = dial(server, deadline)?;
    s.set_nonblocking(false).map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut r = Reassembler::new();
    let sccrq = Message::StartControlConnectionRequest(start_control(false));
    match round_trip(&mut s, &mut r, sccrq, deadline)? {
        Message::StartControlConnectionReply(p) if p.result == 1 => Ok((s, r)),
        m => Err(format!("expected a good SCCRP, got {m:?}")),
    }
}

/// One call request and its reply.
fn call(s: &mut TcpStream, r: &mut Reassembler, id: u16, deadline: Instant) -> Res<()> {
    let ocrq = Message::OutgoingCallRequest(OutgoingCallRequest::vpn(id));
    match round_trip(s, r, ocrq, deadline)? {
        Message::OutgoingCallReply(p) if p.peer_call_id == id => Ok(()),
        m => Err(format!("expected the OCRP of call {id}, got {m:?}")),
    }
}

/// The p-th percentile (0..=100) of sorted samples, in microseconds.
fn percentile(sorted: &[Duration], p: usize) -> u128 {
    let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted.get(i).map_or(0, Duration::as_micros)
}

fn latency(server: Ipv4Addr, count: u16, wait: u64) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(wait);
    let (mut s, mut r) = control(server, deadline)?;
    let mut reused = Vec::with_capacity(usize::from(count));
    for id in 1..=count {
        let t = Instant::now();
        call(&mut s, &mut r, id, deadline)?;
        reused.push(t.elapsed());
    }
    drop(s);
    let mut fresh = Vec::with_capacity(usize::from(count));
    let t0 = Instant::now();
    for _ in 0..count {
        let t = Instant::now();
        let (mut s, mut r) = control(server, deadline)?;
        call(&mut s, &mut r, 1, deadline)?;
        fresh.push(t.elapsed());
    }
    let per_s = f64::from(count) / t0.elapsed().as_secs_f64();
    reused.sort();
    fresh.sort();
    Ok(format!(
        "reused_p50_us={} reused_p99_us={} fresh_p50_us={} fresh_p99_us={} fresh_per_s={per_s:.0}",
        percentile(&reused, 50),
        percentile(&reused, 99),
        percentile(&fresh, 50),
        percentile(&fresh, 99),
    ))
}

// --- GRE ----------------------------------------------------------------

/// A raw GRE socket that sees only packets for `bind`, with a big receive
/// buffer (capped by net.core.rmem_max) and a short read timeout.
fn gre_socket(bind: Ipv4Addr) -> Res<Socket> {
    let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(47)))
        .map_err(|e| format!("raw GRE socket (needs root): {e}"))?;
    s.bind(&SockAddr::from(SocketAddrV4::new(bind, 0)))
        .map_err(|e| format!("binding the GRE socket to {bind}: {e}"))?;
    let _ = s.set_recv_buffer_size(32 << 20);
    let _ = s.set_send_buffer_size(4 << 20);
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| e.to_string())?;
    // Until bind() the socket saw every GRE packet of the namespace.
    let mut drained = 0;
    let mut buf = [0u8; SLOT];
    s.set_nonblocking(true).map_err(|e| e.to_string())?;
    while drained < 100_000 && (&s).read(&mut buf).is_ok() {
        drained += 1;
    }
    s.set_nonblocking(false).map_err(|e| e.to_string())?;
    Ok(s)
}

fn sockaddr(to: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(to).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn empty_msg() -> libc::mmsghdr {
    libc::mmsghdr {
        msg_hdr: libc::msghdr {
            msg_name: std::ptr::null_mut(),
            msg_namelen: 0,
            msg_iov: std::ptr::null_mut(),
            msg_iovlen: 0,
            msg_control: std::ptr::null_mut(),
            msg_controllen: 0,
            msg_flags: 0,
        },
        msg_len: 0,
    }
}

/// Send GRE to `to`, round-robin over `keys`, until --secs or --max-packets.
fn blast(s: &Socket, to: Ipv4Addr, keys: &[u16], o: Opts) -> Res<String> {
    if keys.is_empty() {
        return Err("no calls to send on".into());
    }
    let size = usize::from(o.size);
    let stride = GRE_HEADER + size;
    let mut buf = vec![0u8; BATCH * stride];
    // A PPP frame (address, control, IPv4) and a fixed filler.
    for chunk in buf.chunks_mut(stride) {
        let p = &mut chunk[GRE_HEADER..];
        p.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
        p[..size.min(4)].copy_from_slice(&[0xff, 0x03, 0x00, 0x21][..size.min(4)]);
    }
    let mut addr = sockaddr(to);
    let mut iov = vec![
        libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0
        };
        BATCH
    ];
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| empty_msg()).collect();
    let mut seq = vec![0u32; keys.len()];
    let (mut next, mut sent, mut errors) = (0usize, 0u64, 0u64);
    let secs = Duration::from_secs_f64(o.secs.clamp(0.0, 3600.0));
    let t0 = Instant::now();
    while sent < o.max_packets && t0.elapsed() < secs {
        let n = BATCH.min((o.max_packets - sent) as usize);
        for chunk in buf.chunks_mut(stride).take(n) {
            let k = next % keys.len();
            next = next.wrapping_add(1);
            seq[k] = seq[k].wrapping_add(1);
            let h = gre::Repr {
                call_id: keys[k],
                seq: Some(seq[k]),
                ack: None,
                payload_len: o.size,
            };
            h.emit(chunk).map_err(|e| e.to_string())?;
        }
        // Pointers are taken afresh after the writes above.
        let base = buf.as_mut_ptr();
        let name: *mut libc::sockaddr_in = &mut addr;
        for (i, (m, v)) in msgs.iter_mut().zip(iov.iter_mut()).enumerate().take(n) {
            v.iov_base = base.wrapping_add(i * stride).cast();
            v.iov_len = stride;
            m.msg_hdr.msg_name = name.cast();
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..n]` are initialised mmsghdrs; each points to one
        // iovec in `iov` covering `stride` bytes inside `buf` and to `addr`,
        // all alive and not otherwise borrowed until the call returns; the
        // kernel only reads them (and writes msg_len inside `msgs`).
        let r = unsafe { libc::sendmmsg(s.as_raw_fd(), msgs.as_mut_ptr(), n as libc::c_uint, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR) => {
                    errors += 1;
                    std::thread::yield_now();
                }
                _ => return Err(format!("sendmmsg to {to}: {e}")),
            }
        } else {
            sent += r as u64;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let bytes = sent * (IP_HEADER + stride) as u64;
    Ok(format!(
        "sent={sent} bytes={bytes} secs={secs:.3} errors={errors} calls={} keys={}",
        keys.len(),
        keys.iter().collect::<std::collections::HashSet<_>>().len()
    ))
}

/// The Call ID of an IPv4 packet carrying PPTP GRE.
fn gre_key(pkt: &[u8]) -> Option<u16> {
    let ihl = usize::from(pkt.first()? & 0x0f) * 4;
    if pkt.get(9) != Some(&47) {
        return None;
    }
    gre::Packet::new_checked(pkt.get(ihl..)?)
        .ok()
        .map(|p| p.call_id())
}

/// Count GRE whose Call ID is in `live` until --quiet-ms without one (after
/// the first) or a deadline.
fn count(s: &Socket, live: &[u16], o: Opts) -> Res<String> {
    let mut is_live = vec![false; 1 << 16];
    let mut seen = vec![false; 1 << 16];
    live.iter().for_each(|&k| is_live[usize::from(k)] = true);
    let mut buf = vec![0u8; BATCH * SLOT];
    let mut iov = vec![
        libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0
        };
        BATCH
    ];
    let mut msgs: Vec<libc::mmsghdr> = (0..BATCH).map(|_| empty_msg()).collect();
    let quiet = Duration::from_millis(o.quiet_ms);
    let start = Instant::now();
    let first_by = start + Duration::from_secs(o.wait);
    let mut hard_end = first_by + Duration::from_secs_f64(o.secs.clamp(0.0, 3600.0) + 5.0);
    let (mut received, mut bytes, mut other) = (0u64, 0u64, 0u64);
    let (mut first, mut last): (Option<Instant>, Instant) = (None, start);
    loop {
        let now = Instant::now();
        if now > hard_end || (first.is_none() && now > first_by) {
            break;
        }
        if first.is_some() && now.duration_since(last) > quiet {
            break;
        }
        let base = buf.as_mut_ptr();
        for (i, (m, v)) in msgs.iter_mut().zip(iov.iter_mut()).enumerate() {
            v.iov_base = base.wrapping_add(i * SLOT).cast();
            v.iov_len = SLOT;
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
            m.msg_hdr.msg_flags = 0;
            m.msg_len = 0;
        }
        // SAFETY: `msgs` holds BATCH initialised mmsghdrs without names or
        // control data, each pointing to one iovec in `iov` that covers its
        // own SLOT bytes of `buf`; all stay alive and unborrowed until the
        // call returns. No timeout pointer: SO_RCVTIMEO bounds the wait.
        let r = unsafe {
            libc::recvmmsg(
                s.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN | libc::EINTR) => continue,
                _ => return Err(format!("recvmmsg: {e}")),
            }
        }
        let now = Instant::now();
        for (i, m) in msgs.iter().enumerate().take(r as usize) {
            let len = (m.msg_len as usize).min(SLOT);
            match gre_key(&buf[i * SLOT..i * SLOT + len]) {
                Some(k) if is_live[usize::from(k)] => {
                    seen[usize::from(k)] = true;
                    received += 1;
                    bytes += len as u64;
                    if first.is_none() {
                        first = Some(now);
                        hard_end = now + Duration::from_secs_f64(o.secs.clamp(0.0, 3600.0) + 5.0);
                    }
                    last = now;
                }
                _ => other += 1,
            }
        }
    }
    let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
    Ok(format!(
        "received={received} bytes={bytes} secs={secs:.3} other={other} calls={} keys={}",
        live.len(),
        seen.iter().filter(|&&x| x).count()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_samples() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&v, 50), 50);
        assert_eq!(percentile(&v, 99), 99);
        assert_eq!(percentile(&v[..1], 99), 1);
        assert_eq!(percentile(&[], 50), 0);
    }

    #[test]
    fn key_of_an_ip_gre_packet() {
        let mut p = vec![
            0x45, 0, 0, 0, 0, 0, 0, 0, 64, 47, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        p.extend(gre::build(4660, Some(1), None, &[0xff, 0x03, 0, 0x21]));
        assert_eq!(gre_key(&p), Some(4660));
        p[9] = 6;
        assert_eq!(gre_key(&p), None);
    }
}
