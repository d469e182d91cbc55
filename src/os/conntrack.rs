//! The helper's ctnetlink socket: the conntrack entries of its calls' GRE,
//! read for their counters (`netfilter::ctmsg`), and the two sysctls that
//! counting depends on.

use std::time::Duration;

use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};

use crate::netfilter::ctmsg::{self, Answer, GreTuple, Side};

/// Requests sent in one datagram: the kernel answers each before the send
/// returns, and the answers must fit the receive buffer.
const CHUNK: usize = 64;

pub struct Conntrack {
    s: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Conntrack {
    pub fn open() -> std::io::Result<Self> {
        let mut s = Socket::new(NETLINK_NETFILTER)?;
        s.bind_auto()?;
        s.set_non_blocking(true)?;
        Ok(Conntrack {
            s,
            seq: 1,
            buf: vec![0; 64 * 1024],
        })
    }

    /// The entry for each request, in order (`Answer::Error` for one the
    /// kernel did not answer).
    pub fn lookup(&mut self, reqs: &[(Side, GreTuple)]) -> Vec<Answer> {
        let mut out = Vec::with_capacity(reqs.len());
        for chunk in reqs.chunks(CHUNK) {
            let first = self.seq;
            let mut bytes = Vec::new();
            for (i, (side, t)) in chunk.iter().enumerate() {
                bytes.extend(ctmsg::get(first.wrapping_add(i as u32), *side, t));
            }
            self.seq = first.wrapping_add(chunk.len() as u32);
            let mut got: Vec<Option<Answer>> = vec![None; chunk.len()];
            // Answers an earlier chunk left behind must not count here.
            while self.s.recv(&mut &mut self.buf[..], 0).is_ok() {}
            let kernel = netlink_sys::SocketAddr::new(0, 0);
            if self.s.send_to(&bytes, &kernel, 0).is_ok() {
                let mut left = chunk.len();
                while left > 0 {
                    let Ok(n) = self.s.recv(&mut &mut self.buf[..], 0) else {
                        break;
                    };
                    for (seq, a) in ctmsg::answers(&self.buf[..n]) {
                        let i = seq.wrapping_sub(first) as usize;
                        if let Some(slot @ None) = got.get_mut(i) {
                            *slot = Some(a);
                            left -= 1;
                        }
                    }
                }
            }
            out.extend(
                got.into_iter()
                    .map(|a| a.unwrap_or(Answer::Error(-libc::EIO))),
            );
        }
        out
    }
}

const ACCT: &str = "/proc/sys/net/netfilter/nf_conntrack_acct";
const GRE_TIMEOUT: &str = "/proc/sys/net/netfilter/nf_conntrack_gre_timeout";

/// Turn conntrack's per-entry counters on (this network namespace); true
/// if they were off. Entries made before have none.
pub fn accounting_on() -> std::io::Result<bool> {
    if std::fs::read_to_string(ACCT)?.trim() == "1" {
        return Ok(false);
    }
    std::fs::write(ACCT, "1")?;
    Ok(true)
}

/// How long a GRE entry lives after its last packet (each direction of a
/// call is its own, never-answered entry), if the kernel says.
pub fn gre_timeout() -> Option<Duration> {
    let s = std::fs::read_to_string(GRE_TIMEOUT).ok()?;
    s.trim().parse().ok().map(Duration::from_secs)
}
