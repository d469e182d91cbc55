//! A raw IPPROTO_GRE socket (the kernel has no PPTP or GRE tunnel support
//! here): receives whole IPv4 packets, sends GRE with the kernel building
//! the IP header.

use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use super::OsError;
use super::tun::owned_async_fd;

/// IP protocol number of GRE.
pub const IPPROTO_GRE: i32 = 47;

pub struct GreSocket {
    fd: AsyncFd<Socket>,
}

impl GreSocket {
    /// Open, bound to `local` (0.0.0.0 for every address).
    pub fn bind(local: Ipv4Addr) -> Result<GreSocket, OsError> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_GRE)))?;
        s.bind(&SockAddr::from(SocketAddrV4::new(local, 0)))?;
        s.set_nonblocking(true)?;
        // Whatever arrived between socket() and bind() is not for us.
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 2048];
        while s.recv(&mut buf).is_ok() {}
        s.set_recv_buffer_size(4 << 20)?;
        Ok(GreSocket {
            fd: owned_async_fd(s)?,
        })
    }

    /// Next packet: (source address, GRE header and payload).
    pub async fn recv(
        &self,
        buf: &mut [u8],
    ) -> Result<(Ipv4Addr, std::ops::Range<usize>), OsError> {
        use std::io::Read;
        loop {
            let mut g = self.fd.readable().await?;
            let n = match g.try_io(|s| s.get_ref().read(buf)) {
                Ok(r) => r?,
                Err(_would_block) => continue,
            };
            let ihl = usize::from(buf.first().copied().unwrap_or(0) & 0x0f) * 4;
            if n < ihl.max(20) {
                continue;
            }
            let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
            return Ok((src, ihl..n));
        }
    }

    /// Receive nothing more: the kernel's PPTP module carries every call,
    /// and a raw socket would still get a copy of each packet (a classic
    /// BPF filter that accepts 0 bytes of everything).
    pub fn mute(&self) -> Result<(), OsError> {
        use std::os::fd::AsRawFd;
        let mut drop_all = [libc::sock_filter {
            code: 0x06, // BPF_RET | BPF_K
            jt: 0,
            jf: 0,
            k: 0,
        }];
        let prog = libc::sock_fprog {
            len: 1,
            filter: drop_all.as_mut_ptr(),
        };
        // SAFETY: SO_ATTACH_FILTER reads a sock_fprog and the one filter
        // instruction it points to, both alive for the call.
        let rc = unsafe {
            libc::setsockopt(
                self.fd.get_ref().as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(OsError::Io(std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Send now, or drop when the socket buffer is full.
    pub fn try_send(&self, dst: Ipv4Addr, pkt: &[u8]) -> bool {
        let to = SockAddr::from(SocketAddrV4::new(dst, 0));
        self.fd.get_ref().send_to(pkt, &to).is_ok()
    }
}

/// Set Don't Fragment on a raw socket (IP_MTU_DISCOVER = IP_PMTUDISC_DO), so
/// path-MTU probes are not fragmented on the way.
pub fn set_dont_fragment(s: &Socket) -> Result<(), OsError> {
    use std::os::fd::AsRawFd;
    super::setsockopt_int(
        s.as_raw_fd(),
        libc::IPPROTO_IP,
        libc::IP_MTU_DISCOVER,
        libc::IP_PMTUDISC_DO,
    )
    .map_err(OsError::Io)
}
