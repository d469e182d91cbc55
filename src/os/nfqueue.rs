//! The NFQUEUE socket, made pollable by tokio.
//!
//! The nfq crate does not expose its socket; the descriptor is found as the
//! one socket that appeared in /proc/self/fd while the queue was opened
//! (at start-up, before any other thread exists).

use std::collections::HashSet;
use std::os::fd::{AsRawFd, RawFd};

use super::OsError;

fn socket_fds() -> HashSet<RawFd> {
    let mut out = HashSet::new();
    if let Ok(rd) = std::fs::read_dir("/proc/self/fd") {
        for e in rd.flatten() {
            let is_sock = std::fs::read_link(e.path())
                .map(|l| l.to_string_lossy().starts_with("socket:"))
                .unwrap_or(false);
            if let (true, Ok(fd)) = (is_sock, e.file_name().to_string_lossy().parse()) {
                out.insert(fd);
            }
        }
    }
    out
}

/// The descriptor of the queue's netlink socket, for readiness polling only.
#[derive(Debug)]
pub struct QueueFd(RawFd);

impl AsRawFd for QueueFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0
    }
}

/// A bound queue whose readiness tokio can wait for.
pub struct Nfq {
    // Declared first: deregistered from the reactor before the queue
    // (which owns the descriptor) closes it.
    pub fd: tokio::io::unix::AsyncFd<QueueFd>,
    pub queue: nfq::Queue,
}

/// Open and bind a queue with fail-open, registered with tokio.
pub fn open_async(num: u16) -> Result<Nfq, OsError> {
    let (queue, fd) = open(num)?;
    // SAFETY: `fd` is the queue's own socket, which `Nfq` keeps open for as
    // long as the registration lives (field order above).
    let fd =
        unsafe { tokio::io::unix::AsyncFd::register(fd) }.map_err(|e| OsError::Queue(e.into()))?;
    Ok(Nfq { fd, queue })
}

/// Open and bind a queue with fail-open, and find its descriptor.
fn open(num: u16) -> Result<(nfq::Queue, QueueFd), OsError> {
    let before = socket_fds();
    let mut q = nfq::Queue::open().map_err(OsError::Queue)?;
    let new: Vec<RawFd> = socket_fds().difference(&before).copied().collect();
    let [fd] = new[..] else {
        return Err(OsError::Queue(std::io::Error::other(
            "cannot identify the NFQUEUE socket",
        )));
    };
    q.bind(num).map_err(OsError::Queue)?;
    // Fail open in the kernel too: when the queue is full, packets pass.
    q.set_fail_open(num, true).map_err(OsError::Queue)?;
    q.set_queue_max_len(num, 4096).map_err(OsError::Queue)?;
    set_rcvbuf(fd, RCVBUF)?;
    q.set_nonblocking(true);
    Ok((q, QueueFd(fd)))
}

/// Receive buffer of the queue socket. With the default (about 200 KiB,
/// some 50 queued segments) a burst of calls overflowed it, and fail-open
/// then let control segments pass without their Call IDs rewritten. This
/// bounds kernel memory, not the helper's.
const RCVBUF: usize = 8 << 20;

fn set_rcvbuf(fd: RawFd, bytes: usize) -> Result<(), OsError> {
    // SO_RCVBUFFORCE ignores rmem_max (the helper has CAP_NET_ADMIN).
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    super::setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, v).map_err(OsError::Queue)
}
