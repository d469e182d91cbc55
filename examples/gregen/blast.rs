//! GRE on raw sockets: `blast` with sendmmsg, `count` with recvmmsg.

use super::*;

/// A raw GRE socket that sees only packets for `bind`, with a big receive
/// buffer (capped by net.core.rmem_max) and a short read timeout.
pub(crate) fn gre_socket(bind: Ipv4Addr) -> Res<Socket> {
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

pub(crate) fn sockaddr(to: Ipv4Addr) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(to).to_be(),
        },
        sin_zero: [0; 8],
    }
}

pub(crate) fn empty_msg() -> libc::mmsghdr {
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

/// The iovecs and message headers of one sendmmsg/recvmmsg batch, to be
/// pointed at the packets before each call.
fn batch_slots() -> (Vec<libc::iovec>, Vec<libc::mmsghdr>) {
    let iov = vec![
        libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0
        };
        BATCH
    ];
    (iov, (0..BATCH).map(|_| empty_msg()).collect())
}

/// The calls one raw socket sends on towards one address.
pub(crate) struct Flows<'a> {
    pub(crate) from: &'a Socket,
    pub(crate) to: Ipv4Addr,
    pub(crate) keys: Vec<u16>,
}

/// Send GRE until --secs or --max-packets: each batch from the next group
/// of `groups` in turn, round-robin over that group's Call IDs.
pub(crate) fn blast(groups: &[Flows], o: Opts) -> Res<String> {
    let groups: Vec<&Flows> = groups.iter().filter(|g| !g.keys.is_empty()).collect();
    if groups.is_empty() {
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
    let (mut iov, mut msgs) = batch_slots();
    // Per group: the next call and each call's sequence number.
    let mut next = vec![0usize; groups.len()];
    let mut seq: Vec<Vec<u32>> = groups.iter().map(|g| vec![0u32; g.keys.len()]).collect();
    let (mut turn, mut sent, mut errors) = (0usize, 0u64, 0u64);
    let secs = Duration::from_secs_f64(o.secs.clamp(0.0, 3600.0));
    // A profiler started on this line sees the packets, not the set-up.
    eprintln!("blasting for {:.1} s", secs.as_secs_f64());
    let t0 = Instant::now();
    while sent < o.max_packets && t0.elapsed() < secs {
        let g = turn % groups.len();
        turn = turn.wrapping_add(1);
        let (keys, seq) = (&groups[g].keys, &mut seq[g]);
        let n = BATCH.min((o.max_packets - sent) as usize);
        for chunk in buf.chunks_mut(stride).take(n) {
            let k = next[g] % keys.len();
            next[g] = next[g].wrapping_add(1);
            seq[k] = seq[k].wrapping_add(1);
            let h = gre::Repr {
                call_id: keys[k],
                seq: Some(seq[k]),
                ack: None,
                payload_len: o.size,
            };
            h.emit(chunk).map_err(|e| e.to_string())?;
        }
        let mut addr = sockaddr(groups[g].to);
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
        let r = unsafe {
            libc::sendmmsg(
                groups[g].from.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as libc::c_uint,
                0,
            )
        };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR) => {
                    errors += 1;
                    std::thread::yield_now();
                }
                _ => return Err(format!("sendmmsg to {}: {e}", groups[g].to)),
            }
        } else {
            sent += r as u64;
        }
    }
    let secs = t0.elapsed().as_secs_f64();
    let bytes = sent * (IP_HEADER + stride) as u64;
    let keys: Vec<u16> = groups.iter().flat_map(|g| g.keys.iter().copied()).collect();
    Ok(format!(
        "sent={sent} bytes={bytes} secs={secs:.3} errors={errors} calls={} keys={}",
        keys.len(),
        keys.iter().collect::<std::collections::HashSet<_>>().len()
    ))
}

/// The Call ID of an IPv4 packet carrying PPTP GRE.
pub(crate) fn gre_key(pkt: &[u8]) -> Option<u16> {
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
pub(crate) fn count(s: &Socket, live: &[u16], o: Opts) -> Res<String> {
    let mut is_live = vec![false; 1 << 16];
    let mut seen = vec![false; 1 << 16];
    live.iter().for_each(|&k| is_live[usize::from(k)] = true);
    let mut buf = vec![0u8; BATCH * SLOT];
    let (mut iov, mut msgs) = batch_slots();
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
        // Spinning starts with the first packet: not during the set-up.
        let flags = if o.spin && first.is_some() {
            libc::MSG_DONTWAIT
        } else {
            libc::MSG_WAITFORONE
        };
        // SAFETY: `msgs` holds BATCH initialised mmsghdrs without names or
        // control data, each pointing to one iovec in `iov` that covers its
        // own SLOT bytes of `buf`; all stay alive and unborrowed until the
        // call returns. No timeout pointer: SO_RCVTIMEO bounds the wait.
        let r = unsafe {
            libc::recvmmsg(
                s.as_raw_fd(),
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                flags as _, // c_int in glibc, c_uint in musl
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
    use crate::latency::percentile;

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
