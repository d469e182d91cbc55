//! The NFQUEUE socket, made pollable by tokio. Messages are built and read
//! by `netfilter::nfqmsg`; this edge only sends and receives them.

use std::collections::VecDeque;
use std::io;
use std::os::fd::AsRawFd;

use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};
use tokio::io::unix::AsyncFd;

use super::OsError;
use crate::netfilter::nfqmsg::{self, Config, Decision, Incoming, Packet};

/// Receive buffer of the queue socket. With the default (about 200 KiB,
/// some 50 queued segments) a burst of calls overflowed it, and fail-open
/// then let control segments pass without their Call IDs rewritten. This
/// bounds kernel memory, not the helper's.
const RCVBUF: usize = 8 << 20;
/// Packets the kernel holds for the queue before it fails open.
pub const QUEUE_MAXLEN: u32 = 4096;
/// Largest packet copied to the helper, and the receive buffer: one whole
/// packet plus its metadata, so no datagram is ever truncated.
const COPY_RANGE: u32 = 0xffff;
const RECV_BUF: usize = COPY_RANGE as usize + 8192;

/// Bound queues whose readiness tokio can wait for.
pub struct Nfq {
    pub fd: AsyncFd<Socket>,
    /// Packets read but not yet handed out (one datagram can hold several,
    /// and packets can arrive while the queue is being configured).
    backlog: VecDeque<Packet>,
    buf: Vec<u8>,
    out: Vec<u8>,
}

fn queue_err(e: io::Error) -> OsError {
    OsError::Queue(e)
}

/// Open one socket bound to each of `queues` with fail-open, registered
/// with tokio.
pub fn open_async(queues: &[u16]) -> Result<Nfq, OsError> {
    let mut s = Socket::new(NETLINK_NETFILTER).map_err(queue_err)?;
    s.bind_auto().map_err(queue_err)?;
    // A full socket buffer must not end the helper: the kernel fails open.
    s.set_no_enobufs(true).map_err(queue_err)?;
    // SO_RCVBUFFORCE ignores rmem_max (the helper has CAP_NET_ADMIN).
    let v = libc::c_int::try_from(RCVBUF).unwrap_or(libc::c_int::MAX);
    super::setsockopt_int(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v)
        .map_err(queue_err)?;
    let mut backlog = VecDeque::new();
    let mut buf = vec![0; RECV_BUF];
    // Fail open in the kernel too: when the queue is full, packets pass.
    let steps = [
        Config::Bind,
        Config::CopyPacket(COPY_RANGE),
        Config::FailOpen,
        Config::MaxLen(QUEUE_MAXLEN),
    ];
    let mut seq = 0;
    for &num in queues {
        for c in steps {
            seq += 1;
            configure(&s, num, c, seq, &mut buf, &mut backlog)?;
        }
    }
    s.set_non_blocking(true).map_err(queue_err)?;
    // SAFETY: the AsyncFd owns the socket, so its descriptor stays open for
    // exactly as long as the registration.
    let fd = unsafe { AsyncFd::register(s) }.map_err(|e| queue_err(e.into_parts().1))?;
    Ok(Nfq {
        fd,
        backlog,
        buf,
        out: Vec::with_capacity(RECV_BUF),
    })
}

/// Send one configuration request and wait for its acknowledgement,
/// keeping packets that arrive meanwhile.
fn configure(
    s: &Socket,
    queue: u16,
    c: Config,
    seq: u32,
    buf: &mut [u8],
    backlog: &mut VecDeque<Packet>,
) -> Result<(), OsError> {
    let kernel = netlink_sys::SocketAddr::new(0, 0);
    s.send_to(&nfqmsg::config(queue, c, seq), &kernel, 0)
        .map_err(queue_err)?;
    // The kernel answers before send returns; a few packets may come first.
    for _ in 0..1024 {
        let n = s.recv(&mut &mut buf[..], 0).map_err(queue_err)?;
        for m in nfqmsg::parse(&buf[..n]) {
            match m {
                Incoming::Packet(p) => backlog.push_back(p),
                Incoming::Ack(0) => return Ok(()),
                Incoming::Ack(e) => {
                    let e = io::Error::from_raw_os_error(-e);
                    return Err(OsError::Queue(io::Error::new(
                        e.kind(),
                        format!("NFQUEUE {c:?} for queue {queue}: {e}"),
                    )));
                }
            }
        }
    }
    Err(OsError::Queue(io::Error::other(format!(
        "NFQUEUE {c:?} for queue {queue}: no acknowledgement"
    ))))
}

impl Nfq {
    /// The next queued packet; `WouldBlock` when the socket is drained.
    pub fn recv(&mut self) -> io::Result<Packet> {
        loop {
            if let Some(p) = self.backlog.pop_front() {
                return Ok(p);
            }
            let n = self.fd.get_ref().recv(&mut &mut self.buf[..], 0)?;
            for m in nfqmsg::parse(&self.buf[..n]) {
                match m {
                    Incoming::Packet(p) => self.backlog.push_back(p),
                    // Verdicts are not acknowledged; an error answers one
                    // (for example a packet id the kernel no longer holds).
                    Incoming::Ack(0) => {}
                    Incoming::Ack(e) => return Err(io::Error::from_raw_os_error(-e)),
                }
            }
        }
    }

    /// Give packet `id` of queue `queue` its verdict.
    pub fn verdict(&mut self, queue: u16, id: u32, d: Decision<'_>) -> io::Result<()> {
        self.out.clear();
        nfqmsg::verdict(&mut self.out, queue, id, d);
        let kernel = netlink_sys::SocketAddr::new(0, 0);
        self.fd.get_ref().send_to(&self.out, &kernel, 0).map(|_| ())
    }
}
