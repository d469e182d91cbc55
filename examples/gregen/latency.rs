//! `latency`: control-plane round trips one at a time.

use super::*;

/// Send `m` and wait (blocking, until `deadline`) for the next message.
pub(crate) fn round_trip(
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
pub(crate) fn control(server: Ipv4Addr, deadline: Instant) -> Res<(TcpStream, Reassembler)> {
    let mut s = dial(server, None, deadline)?;
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
pub(crate) fn call(s: &mut TcpStream, r: &mut Reassembler, id: u16, deadline: Instant) -> Res<()> {
    let ocrq = Message::OutgoingCallRequest(OutgoingCallRequest::vpn(id));
    match round_trip(s, r, ocrq, deadline)? {
        Message::OutgoingCallReply(p) if p.peer_call_id == id => Ok(()),
        m => Err(format!("expected the OCRP of call {id}, got {m:?}")),
    }
}

/// The p-th percentile (0..=100) of sorted samples, in microseconds.
pub(crate) fn percentile(sorted: &[Duration], p: usize) -> u128 {
    let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
    sorted.get(i).map_or(0, Duration::as_micros)
}

pub(crate) fn latency(server: Ipv4Addr, count: u16, wait: u64) -> Res<String> {
    let deadline = Instant::now() + Duration::from_secs(wait);
    let (mut s, mut r) = control(server, deadline)?;
    let mut reused = Vec::with_capacity(usize::from(count));
    for id in 1..=count {
        let t = Instant::now();
        call(&mut s, &mut r, id, deadline)?;
        reused.push(t.elapsed());
        // Cleared (not timed): a helper takes at most 64 calls on one
        // control connection.
        let ccrq = Message::CallClearRequest { call_id: id };
        match round_trip(&mut s, &mut r, ccrq, deadline)? {
            Message::CallDisconnectNotify(_) => {}
            m => return Err(format!("expected the CDN of call {id}, got {m:?}")),
        }
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
