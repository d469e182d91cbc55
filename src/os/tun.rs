//! A TUN device (IFF_TUN | IFF_NO_PI): whole IPv4 packets in and out, which
//! is what PPP carries. /dev/net/tun works where the kernel has no PPP.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use super::OsError;

/// `_IOW('T', 202, int)`: its number depends on the architecture (MIPS
/// and PowerPC encode the direction differently), so it comes from libc.
const TUNSETIFF: libc::Ioctl = libc::TUNSETIFF;
const IFF_TUN: libc::c_short = 0x0001;
const IFF_NO_PI: libc::c_short = 0x1000;

/// An open TUN interface, pollable by tokio.
pub struct Tun {
    fd: AsyncFd<File>,
    name: String,
}

/// Register a descriptor the value itself owns with tokio's reactor.
pub fn owned_async_fd<T: std::os::fd::AsFd + AsRawFd>(t: T) -> Result<AsyncFd<T>, OsError> {
    // SAFETY: `T` owns its descriptor (AsFd), and the AsyncFd owns `T`, so the
    // descriptor stays open for as long as it is registered.
    unsafe { AsyncFd::register_with_interest(t, Interest::READABLE | Interest::WRITABLE) }
        .map_err(|e| OsError::Io(e.into()))
}

impl Tun {
    /// Create (or attach to) the TUN interface `name` ("ppt%d" picks one).
    pub fn open(name: &str) -> Result<Tun, OsError> {
        if name.len() >= 16 {
            return Err(OsError::NoInterface(format!(
                "{name}: name longer than 15 bytes"
            )));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")?;
        // struct ifreq: 16-byte name, then the flags (a short).
        let mut ifr = [0u8; 40];
        ifr[..name.len()].copy_from_slice(name.as_bytes());
        ifr[16..18].copy_from_slice(&(IFF_TUN | IFF_NO_PI).to_ne_bytes());
        // SAFETY: TUNSETIFF reads and writes a struct ifreq (40 bytes on
        // Linux), which `ifr` is, and `file` is an open /dev/net/tun.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, ifr.as_mut_ptr()) };
        if rc < 0 {
            return Err(OsError::Io(std::io::Error::last_os_error()));
        }
        let end = ifr[..16].iter().position(|&b| b == 0).unwrap_or(16);
        let name = String::from_utf8_lossy(&ifr[..end]).into_owned();
        Ok(Tun {
            fd: owned_async_fd(file)?,
            name,
        })
    }

    /// The kernel's name for the interface.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Read one IPv4 packet.
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, OsError> {
        loop {
            let mut g = self.fd.readable().await?;
            match g.try_io(|f| f.get_ref().read(buf)) {
                Ok(r) => return Ok(r?),
                Err(_would_block) => continue,
            }
        }
    }

    /// Write one IPv4 packet now, or drop it when the device is busy (as a
    /// full interface queue would).
    pub fn try_send(&self, pkt: &[u8]) -> bool {
        self.fd.get_ref().write(pkt).is_ok()
    }
}

#[cfg(test)]
mod tests {
    /// TUNSETIFF as `<linux/if_tun.h>` defines it on this architecture: a
    /// fixed x86 number would be an unknown request on MIPS routers.
    #[test]
    fn tunsetiff_is_the_kernels_number_on_this_architecture() {
        let mips_or_ppc = cfg!(any(
            target_arch = "mips",
            target_arch = "mips64",
            target_arch = "powerpc",
            target_arch = "powerpc64"
        ));
        let want: u32 = if mips_or_ppc {
            0x8004_54ca
        } else {
            0x4004_54ca
        };
        assert_eq!(super::TUNSETIFF as u32, want);
    }
}
