//! Control connections of the generator: the PAC (`peer`) and the PNS
//! (`pns`) that set the calls up before GRE flows.

use super::*;

pub(crate) fn start_control(reply: bool) -> StartControl {
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

pub(crate) fn would_block(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
    )
}

/// A nonblocking control connection: what came in, what waits to go out.
pub(crate) struct Conn {
    pub(crate) s: TcpStream,
    pub(crate) r: Reassembler,
    pub(crate) out: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(s: TcpStream) -> Res<Self> {
        s.set_nodelay(true).map_err(|e| e.to_string())?;
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            s,
            r: Reassembler::new(),
            out: Vec::new(),
        })
    }

    /// Write what is queued, as far as it goes; true if anything went.
    pub(crate) fn flush(&mut self) -> Res<bool> {
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
    pub(crate) fn pull(&mut self) -> Res<bool> {
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

    pub(crate) fn next(&mut self) -> Res<Option<Message>> {
        match self.r.next_message() {
            None => Ok(None),
            Some(Ok(m)) => Ok(Some(m)),
            Some(Err(e)) => Err(format!("bad control message: {e}")),
        }
    }
}

pub(crate) fn listener(listen: Ipv4Addr) -> Res<Socket> {
    let l =
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(|e| e.to_string())?;
    l.set_reuse_address(true).map_err(|e| e.to_string())?;
    l.bind(&SockAddr::from(SocketAddrV4::new(listen, 1723)))
        .map_err(|e| format!("listening on {listen}:1723: {e}"))?;
    l.listen(4096).map_err(|e| e.to_string())?;
    l.set_nonblocking(true).map_err(|e| e.to_string())?;
    Ok(l)
}

pub(crate) fn peer(listen: Ipv4Addr, o: Opts) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(o.wait);
    // Before the calls, so that nothing sent early is missed.
    let raw = gre_socket(listen)?;
    let l = listener(listen)?;
    let n = usize::from(o.calls);
    // Each connection and the address it came from (after NAT, the
    // router's public address; routed, the LAN host's).
    let mut conns: Vec<(Conn, Ipv4Addr)> = Vec::new();
    // The caller's address and Call ID of our call k + 1.
    let mut theirs: Vec<(Ipv4Addr, u16)> = Vec::with_capacity(n);
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
                    let ip = a
                        .as_socket_ipv4()
                        .map(|a| *a.ip())
                        .ok_or("a caller that is not IPv4")?;
                    conns.push((Conn::new(s.into())?, ip));
                    busy = true;
                }
                Err(e) if would_block(&e) => break,
                Err(e) => return Err(format!("accept: {e}")),
            }
        }
        for (c, from) in &mut conns {
            busy |= c.pull()?;
            while let Some(m) = c.next()? {
                let reply = match m {
                    Message::StartControlConnectionRequest(_) => {
                        Message::StartControlConnectionReply(start_control(true))
                    }
                    Message::OutgoingCallRequest(q) if theirs.len() < n => {
                        theirs.push((*from, q.call_id));
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
    let ours: Vec<u16> = (1..=o.calls).collect();
    let line = match o.dir {
        Dir::In => {
            // One group per caller address, in the order they came.
            let mut groups: Vec<Flows> = Vec::new();
            for &(to, key) in &theirs {
                match groups.iter_mut().find(|g| g.to == to) {
                    Some(g) => g.keys.push(key),
                    None => groups.push(Flows {
                        from: &raw,
                        to,
                        keys: vec![key],
                    }),
                }
            }
            blast(&groups, o)?
        }
        Dir::Out => count(&raw, &ours, o)?,
    };
    drop(conns);
    Ok(line)
}

/// Connect to `server`:1723 from `from` (or the address the route picks),
/// retrying while nobody listens yet.
pub(crate) fn dial(server: Ipv4Addr, from: Option<Ipv4Addr>, deadline: Instant) -> Res<TcpStream> {
    loop {
        let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| format!("TCP socket (raise `ulimit -n` for many calls): {e}"))?;
        if let Some(a) = from {
            s.bind(&SockAddr::from(SocketAddrV4::new(a, 0)))
                .map_err(|e| format!("binding a control connection to {a}: {e}"))?;
        }
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

/// The LAN side. `sources` empty: every connection from the address the
/// route picks; otherwise connection i comes from `sources[i % len]` (one
/// LAN host holds only so many calls to one server through the helper).
pub(crate) fn pns(server: Ipv4Addr, sources: &[Ipv4Addr], o: Opts) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(o.wait);
    let n = usize::from(o.calls);
    let per = usize::from(o.per_conn);
    // Our Call IDs 1..=N, `per` of them on each connection.
    let ids: Vec<Vec<u16>> = (1..=o.calls)
        .collect::<Vec<_>>()
        .chunks(per)
        .map(<[u16]>::to_vec)
        .collect();
    let from = |i: usize| (!sources.is_empty()).then(|| sources[i % sources.len()]);
    // Raw sockets before the calls, so that nothing sent early is missed:
    // one per source to send from; to count, one that sees them all.
    let mut raws: Vec<Socket> = match (o.dir, sources.len()) {
        (_, 0) => Vec::new(),
        (Dir::In, _) => vec![gre_socket(Ipv4Addr::UNSPECIFIED)?],
        (Dir::Out, _) => sources
            .iter()
            .take(ids.len())
            .map(|&a| gre_socket(a))
            .collect::<Res<_>>()?,
    };
    let mut conns = Vec::with_capacity(ids.len());
    for i in 0..ids.len() {
        let s = dial(server, from(i), deadline)?;
        if raws.is_empty() {
            let me = match s.local_addr().map_err(|e| e.to_string())?.ip() {
                IpAddr::V4(a) => a,
                IpAddr::V6(a) => return Err(format!("unexpected local address {a}")),
            };
            raws.push(gre_socket(me)?);
        }
        conns.push(Conn::new(s)?);
    }
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
    let ours: Vec<u16> = (1..=o.calls).collect();
    let line = match o.dir {
        Dir::Out => {
            // Each call's packets from the address its connection came from.
            let mut groups: Vec<Flows> = raws
                .iter()
                .map(|s| Flows {
                    from: s,
                    to: server,
                    keys: Vec::new(),
                })
                .collect();
            for (i, mine) in ids.iter().enumerate() {
                let g = &mut groups[i % raws.len()];
                g.keys
                    .extend(mine.iter().filter_map(|&k| theirs[usize::from(k) - 1]));
            }
            blast(&groups, o)?
        }
        Dir::In => count(&raws[0], &ours, o)?,
    };
    drop(conns);
    Ok(line)
}
