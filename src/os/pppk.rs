//! The kernel's PPTP data path: a PPPoX socket of protocol PX_PROTO_PPTP
//! carries a call's GRE (the `pptp` module), a `/dev/ppp` channel and unit
//! carry its PPP frames (`ppp_generic`), and MPPE runs in `ppp_mppe`.
//!
//! The session stays in userspace: it reads every control frame (LCP from
//! the channel, the rest from the unit) and writes them back the same way
//! (LCP, PAP and CHAP to the channel, CCP and the NCPs to the unit, RFC 1661
//! §3.2's order). The kernel compresses (encrypts) only what passes the
//! unit after it has seen CCP's Configure-Ack go by with the start keys
//! already set; IPv4 and IPv6 then flow between the unit's interface and
//! GRE without leaving the kernel.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;

use tokio::io::unix::AsyncFd;

use super::OsError;
use super::tun::owned_async_fd;
use crate::ppp::frame::Frame;

mod filter;

/// `PX_PROTO_PPTP` of `<linux/if_pppox.h>`.
const PX_PROTO_PPTP: u32 = 2;
/// `struct sockaddr_pppox` is packed: family (2), protocol (4), then a
/// 24-byte union whose PPTP member is a Call ID (host order) and, after
/// 2 bytes of padding, an IPv4 address (network order).
const SOCKADDR_PPPOX_LEN: usize = 30;

const T: u32 = b't' as u32;
const PPPIOCGCHAN: libc::Ioctl = libc::_IOR::<libc::c_int>(T, 55);
const PPPIOCATTCHAN: libc::Ioctl = libc::_IOW::<libc::c_int>(T, 56);
const PPPIOCCONNECT: libc::Ioctl = libc::_IOW::<libc::c_int>(T, 58);
const PPPIOCNEWUNIT: libc::Ioctl = libc::_IOWR::<libc::c_int>(T, 62);
const PPPIOCSNPMODE: libc::Ioctl = libc::_IOW::<NpIoctl>(T, 75);
const PPPIOCSCOMPRESS: libc::Ioctl = libc::_IOW::<OptionData>(T, 77);
const PPPIOCSFLAGS: libc::Ioctl = libc::_IOW::<libc::c_int>(T, 89);
const PPPIOCGFLAGS: libc::Ioctl = libc::_IOR::<libc::c_int>(T, 90);

/// Look at CCP packets (`SC_CCP_OPEN`).
const SC_CCP_OPEN: libc::c_int = 0x40;
/// Compressed packets may flow (`SC_CCP_UP`).
const SC_CCP_UP: libc::c_int = 0x80;
/// No uncompressed packet may be sent or received (`SC_MUST_COMP`).
const SC_MUST_COMP: libc::c_int = 0x0040_0000;
/// The unit's compressor runs (`SC_COMP_RUN`; read with the flags).
const SC_COMP_RUN: libc::c_int = 0x1000;
/// The unit's decompressor runs (`SC_DECOMP_RUN`; read with the flags).
const SC_DECOMP_RUN: libc::c_int = 0x2000;
/// `NPMODE_PASS`.
const NPMODE_PASS: libc::c_int = 0;
/// `NPMODE_DROP`.
const NPMODE_DROP: libc::c_int = 1;

/// MPPE's CCP option type and length (RFC 3078 §2).
const CI_MPPE: u8 = 18;
const CILEN_MPPE: u8 = 6;

/// `struct ppp_option_data`.
#[repr(C)]
struct OptionData {
    ptr: *mut u8,
    length: u32,
    transmit: libc::c_int,
}

/// `struct npioctl`.
#[repr(C)]
struct NpIoctl {
    protocol: libc::c_int,
    mode: libc::c_int,
}

/// `struct sockaddr_pppox` for a PPTP call end.
pub fn sockaddr_pptp(call_id: u16, addr: Ipv4Addr) -> [u8; SOCKADDR_PPPOX_LEN] {
    let mut sa = [0u8; SOCKADDR_PPPOX_LEN];
    sa[0..2].copy_from_slice(&(libc::AF_PPPOX as u16).to_ne_bytes());
    sa[2..6].copy_from_slice(&PX_PROTO_PPTP.to_ne_bytes());
    sa[6..8].copy_from_slice(&call_id.to_ne_bytes());
    sa[10..14].copy_from_slice(&addr.octets());
    sa
}

/// The CCP option data `PPPIOCSCOMPRESS` takes for MPPE: the option as
/// negotiated (its bits matter only at the Configure-Ack) and the 16-byte
/// start key (RFC 3079 §3).
pub fn mppe_option(key: &[u8; 16]) -> [u8; 22] {
    let mut o = [0u8; 22];
    o[0] = CI_MPPE;
    o[1] = CILEN_MPPE;
    // Stateless, 128-bit: the kernel reads the real bits from the Ack.
    o[2] = 0x01;
    o[5] = 0x40;
    o[6..].copy_from_slice(key);
    o
}

/// Where a frame is written: LCP and authentication (protocols from 0xC000)
/// to the channel, everything else through the unit (where CCP is seen and
/// network packets are compressed), as pppd does.
pub fn to_channel(protocol: u16) -> bool {
    protocol >= 0xc000
}

/// What a session's reader needs: userspace sees control frames only,
/// which are at most the MRU (1500) plus headers.
pub const FRAME_BUF: usize = 4096;

/// One call on the kernel's data path.
pub struct KernelCall {
    /// The PPPoX socket: the call (GRE) itself; closing it ends the call.
    sock: OwnedFd,
    chan: AsyncFd<File>,
    unit: AsyncFd<File>,
    /// The unit's interface name (`ppp<N>` unless renamed).
    name: String,
}

fn ioctl_ptr<T>(fd: &impl AsRawFd, req: libc::Ioctl, arg: *mut T) -> std::io::Result<()> {
    // SAFETY: every caller passes the argument type its request is
    // defined with (an int or one of the repr(C) structs above), alive for
    // the call, and `fd` is open.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), req, arg) };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn ioctl_int(fd: &impl AsRawFd, req: libc::Ioctl, mut v: libc::c_int) -> std::io::Result<i32> {
    ioctl_ptr(fd, req, &mut v)?;
    Ok(v)
}

/// `bind` or `connect` with a `struct sockaddr_pppox`.
fn address(
    sock: &OwnedFd,
    call: unsafe extern "C" fn(libc::c_int, *const libc::sockaddr, libc::socklen_t) -> libc::c_int,
    sa: &[u8; SOCKADDR_PPPOX_LEN],
) -> std::io::Result<()> {
    // SAFETY: `sa` is SOCKADDR_PPPOX_LEN bytes, the size the kernel checks,
    // alive for the call, and `sock` is open.
    let rc = unsafe {
        call(
            sock.as_raw_fd(),
            sa.as_ptr().cast(),
            SOCKADDR_PPPOX_LEN as libc::socklen_t,
        )
    };
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn open_ppp() -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open("/dev/ppp")
}

fn missing(what: &str, e: std::io::Error) -> OsError {
    OsError::Command {
        cmd: what.into(),
        detail: e.to_string(),
    }
}

impl KernelCall {
    /// Open the call `local_call` at `local` to `peer_call` at `peer`, a
    /// channel and a new unit (interface `ppp<N>`), connected. Fails when
    /// the kernel lacks `pptp` or `ppp_generic` (the caller then uses TUN).
    pub fn open(
        local: Ipv4Addr,
        local_call: u16,
        peer: Ipv4Addr,
        peer_call: u16,
    ) -> Result<KernelCall, OsError> {
        let sock =
            pptp_socket().map_err(|e| missing("PPPoX PPTP socket (kernel module pptp)", e))?;
        let me = sockaddr_pptp(local_call, local);
        let them = sockaddr_pptp(peer_call, peer);
        address(&sock, libc::bind, &me)
            .map_err(|e| missing(&format!("bind PPTP call {local_call}"), e))?;
        address(&sock, libc::connect, &them)
            .map_err(|e| missing(&format!("connect PPTP call to {peer}"), e))?;
        let index = ioctl_int(&sock, PPPIOCGCHAN, 0).map_err(|e| missing("PPPIOCGCHAN", e))?;
        let chan = open_ppp().map_err(|e| missing("/dev/ppp (kernel module ppp_generic)", e))?;
        ioctl_int(&chan, PPPIOCATTCHAN, index).map_err(|e| missing("PPPIOCATTCHAN", e))?;
        let unit = open_ppp().map_err(|e| missing("/dev/ppp", e))?;
        let unit_no =
            ioctl_int(&unit, PPPIOCNEWUNIT, -1).map_err(|e| missing("PPPIOCNEWUNIT", e))?;
        ioctl_int(&chan, PPPIOCCONNECT, unit_no).map_err(|e| missing("PPPIOCCONNECT", e))?;
        let call = KernelCall {
            sock,
            chan: owned_async_fd(chan)?,
            unit: owned_async_fd(unit)?,
            name: format!("ppp{unit_no}"),
        };
        // A new unit passes IP; until the session is Up none may (RFC 1661
        // §3.6: network-layer packets only once their NCP is Opened), even
        // with the interface up before then.
        call.set_npmode(NPMODE_DROP)?;
        Ok(call)
    }

    /// The unit's interface name.
    pub fn ifname(&self) -> String {
        self.name.clone()
    }

    /// The interface was renamed.
    pub fn set_ifname(&mut self, name: String) {
        self.name = name;
    }

    /// Next PPP frame from the peer for userspace (protocol field first,
    /// no address and control): control protocols, and compressed frames
    /// the kernel could not decrypt (the sign to ask for a reset). A frame
    /// longer than `buf` is dropped by the kernel and skipped here, so
    /// [`FRAME_BUF`] bytes a session are enough.
    ///
    /// The channel's frames go first. The kernel queues each frame the
    /// peer sent on the channel (LCP, authentication) or the unit (the
    /// rest) as it comes, so whatever the channel holds came before what
    /// the unit holds now; taken the other way, the peer's IPCP and CCP
    /// Configure-Requests sent right behind its CHAP Success would reach
    /// the session before the Success, be discarded (RFC 1661 §3.5: no
    /// NCP during the Authentication phase) and come again only after the peer's
    /// restart timer, 3 s later.
    pub async fn recv(&self, buf: &mut [u8]) -> Result<usize, OsError> {
        loop {
            let r = tokio::select! {
                biased;
                g = self.chan.readable() => g?.try_io(|f| f.get_ref().read(buf)),
                g = self.unit.readable() => match self.chan.get_ref().read(buf) {
                    // The channel got a frame since it was last polled.
                    Ok(n) => Ok(Ok(n)),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        g?.try_io(|f| f.get_ref().read(buf))
                    }
                    Err(e) => Ok(Err(e)),
                },
            };
            match r {
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EOVERFLOW) => continue,
                Ok(Err(e)) => return Err(e.into()),
                Err(_would_block) => continue,
            }
        }
    }

    /// Send one frame the session made (address and control, if any, are
    /// dropped; a compressed protocol field is widened): false when the
    /// kernel refused it.
    pub fn send(&self, frame: &[u8]) -> bool {
        let Ok(f) = Frame::parse(frame) else {
            return false;
        };
        let proto = f.protocol.0;
        let mut out = Vec::with_capacity(f.payload.len() + 2);
        out.extend_from_slice(&proto.to_be_bytes());
        out.extend_from_slice(f.payload);
        let fd = if to_channel(proto) {
            &self.chan
        } else {
            &self.unit
        };
        fd.get_ref().write(&out).is_ok()
    }

    /// Give `ppp_mppe` the start keys of both directions (RFC 3079 §3) and
    /// let the unit watch CCP (`SC_CCP_OPEN` without `SC_CCP_UP`: only then
    /// does a Configure-Ack going by start the cipher).
    pub fn set_mppe(&self, send: &[u8; 16], receive: &[u8; 16]) -> Result<(), OsError> {
        for (key, transmit) in [(send, 1), (receive, 0)] {
            let mut opt = mppe_option(key);
            let mut data = OptionData {
                ptr: opt.as_mut_ptr(),
                length: opt.len() as u32,
                transmit,
            };
            ioctl_ptr(&self.unit, PPPIOCSCOMPRESS, &mut data)
                .map_err(|e| missing("PPPIOCSCOMPRESS (kernel module ppp_mppe)", e))?;
        }
        self.set_flags(SC_CCP_OPEN)
    }

    /// CCP is Opened: compressed packets may flow (the unit drops what its
    /// running compressor made until this is set); with `required`, also
    /// `SC_MUST_COMP`, as pppd sets it. Call it after this side's
    /// Configure-Ack has gone through the unit: with `SC_CCP_UP` set, a
    /// Configure-Ack no longer starts the compressor.
    pub fn ccp_up(&self, required: bool) -> Result<(), OsError> {
        let must = if required { SC_MUST_COMP } else { 0 };
        self.set_flags(SC_CCP_OPEN | SC_CCP_UP | must)
    }

    /// CCP left Opened (a renegotiation): `SC_CCP_UP` cleared, so that the
    /// Configure-Acks that follow start the MPPE directions again, as pppd
    /// does (`SC_MUST_COMP` stays: nothing compressed leaves meanwhile).
    pub fn ccp_down(&self) -> Result<(), OsError> {
        let flags =
            ioctl_int(&self.unit, PPPIOCGFLAGS, 0).map_err(|e| missing("PPPIOCGFLAGS", e))?;
        ioctl_int(&self.unit, PPPIOCSFLAGS, (flags & !SC_CCP_UP) | SC_CCP_OPEN)
            .map_err(|e| missing("PPPIOCSFLAGS", e))?;
        Ok(())
    }

    /// Both of the unit's MPPE directions run: the kernel saw the peer's
    /// Configure-Ack come in and this side's go out (PPPIOCGFLAGS reports
    /// the compressors' state with the flags). Without the compressor the
    /// unit would send IP in clear, `SC_MUST_COMP` or not.
    pub fn mppe_running(&self) -> Result<(), OsError> {
        let flags =
            ioctl_int(&self.unit, PPPIOCGFLAGS, 0).map_err(|e| missing("PPPIOCGFLAGS", e))?;
        let (tx, rx) = (flags & SC_COMP_RUN != 0, flags & SC_DECOMP_RUN != 0);
        if tx && rx {
            return Ok(());
        }
        Err(OsError::Command {
            cmd: "PPPIOCGFLAGS".into(),
            detail: format!(
                "MPPE not started in the kernel's unit (encrypting: {tx}, decrypting: {rx})"
            ),
        })
    }

    fn set_flags(&self, add: libc::c_int) -> Result<(), OsError> {
        let flags =
            ioctl_int(&self.unit, PPPIOCGFLAGS, 0).map_err(|e| missing("PPPIOCGFLAGS", e))?;
        ioctl_int(&self.unit, PPPIOCSFLAGS, flags | add).map_err(|e| missing("PPPIOCSFLAGS", e))?;
        Ok(())
    }

    /// The unit's interface index.
    pub fn ifindex(&self) -> Result<u32, OsError> {
        let name = std::ffi::CString::new(self.ifname())
            .map_err(|_| OsError::NoInterface(self.ifname()))?;
        // SAFETY: `name` is a NUL-terminated string alive for the call.
        match unsafe { libc::if_nametoindex(name.as_ptr()) } {
            0 => Err(OsError::NoInterface(self.ifname())),
            i => Ok(i),
        }
    }

    /// IP counters of the unit's interface: (octets in, packets in,
    /// octets out, packets out).
    pub fn counters(&self) -> (u64, u64, u64, u64) {
        let read = |what: &str| {
            std::fs::read_to_string(format!(
                "/sys/class/net/{}/statistics/{what}",
                self.ifname()
            ))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
        };
        (
            read("rx_bytes"),
            read("rx_packets"),
            read("tx_bytes"),
            read("tx_packets"),
        )
    }

    /// From now on the call's GRE may carry network-layer PPP frames only
    /// compressed (encrypted): the kernel's unit would take IP in clear
    /// even with MPPE required (see the `filter` module). For as long as the call
    /// lives.
    pub fn require_encrypted(&self) -> Result<(), OsError> {
        let prog = libc::sock_fprog {
            len: filter::MPPE_ONLY.len() as u16,
            filter: filter::MPPE_ONLY.as_ptr().cast_mut(),
        };
        // SAFETY: SO_ATTACH_FILTER reads a sock_fprog and the instructions
        // it points to (the kernel copies them; it never writes through the
        // pointer), all alive for the call; `sock` is open.
        let rc = unsafe {
            libc::setsockopt(
                self.sock.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(missing(
                "a socket filter on the PPTP call",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// The network layer is up: IPv4 and IPv6 let through. (The unit's
    /// MRU stays the kernel's 1500, which is also its decryption buffer.)
    pub fn network_up(&self) -> Result<(), OsError> {
        self.set_npmode(NPMODE_PASS)
    }

    /// What the unit does with IPv4 and IPv6, both ways.
    fn set_npmode(&self, mode: libc::c_int) -> Result<(), OsError> {
        for protocol in [0x0021, 0x0057] {
            let mut np = NpIoctl { protocol, mode };
            ioctl_ptr(&self.unit, PPPIOCSNPMODE, &mut np)
                .map_err(|e| missing("PPPIOCSNPMODE", e))?;
        }
        Ok(())
    }
}

/// Whether this kernel can run the PPTP data path: a PPPoX PPTP socket
/// opens and `/dev/ppp` exists.
pub fn available() -> bool {
    pptp_socket().is_ok() && std::path::Path::new("/dev/ppp").exists()
}

/// A new PPPoX socket of protocol PX_PROTO_PPTP.
fn pptp_socket() -> std::io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers; the descriptor is owned next.
    let fd = unsafe {
        libc::socket(
            libc::AF_PPPOX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            PX_PROTO_PPTP as libc::c_int,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket() and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockaddr_pppox_is_packed_with_the_call_id_in_host_order() {
        let sa = sockaddr_pptp(0x1234, Ipv4Addr::new(198, 51, 100, 20));
        assert_eq!(sa.len(), 30);
        assert_eq!(u16::from_ne_bytes([sa[0], sa[1]]), 24);
        assert_eq!(u32::from_ne_bytes([sa[2], sa[3], sa[4], sa[5]]), 2);
        assert_eq!(u16::from_ne_bytes([sa[6], sa[7]]), 0x1234);
        assert_eq!(&sa[8..10], &[0, 0]);
        assert_eq!(&sa[10..14], &[198, 51, 100, 20]);
        assert!(sa[14..].iter().all(|&b| b == 0));
    }

    #[test]
    fn mppe_option_is_the_ccp_option_then_the_key() {
        let o = mppe_option(&[7; 16]);
        assert_eq!(&o[..6], &[18, 6, 0x01, 0, 0, 0x40]);
        assert_eq!(&o[6..], &[7; 16]);
    }

    #[test]
    fn lcp_and_authentication_go_to_the_channel_the_rest_to_the_unit() {
        for p in [0xc021, 0xc023, 0xc223] {
            assert!(to_channel(p), "{p:#x}");
        }
        for p in [0x80fd, 0x8021, 0x8057, 0x0021, 0x0057] {
            assert!(!to_channel(p), "{p:#x}");
        }
    }

    /// The request numbers of `<linux/ppp-ioctl.h>`, whose encoding differs
    /// on MIPS and PowerPC (3 direction bits, write = 4).
    #[test]
    fn ppp_ioctl_numbers_match_the_kernel_on_this_architecture() {
        let n = |r: libc::Ioctl| r as u32;
        if cfg!(any(
            target_arch = "mips",
            target_arch = "mips64",
            target_arch = "powerpc",
            target_arch = "powerpc64"
        )) {
            assert_eq!(n(PPPIOCGCHAN), 0x4004_7437);
            assert_eq!(n(PPPIOCATTCHAN), 0x8004_7438);
            assert_eq!(n(PPPIOCNEWUNIT), 0xc004_743e);
            assert_eq!(n(PPPIOCSFLAGS), 0x8004_7459);
        } else {
            assert_eq!(n(PPPIOCGCHAN), 0x8004_7437);
            assert_eq!(n(PPPIOCATTCHAN), 0x4004_7438);
            assert_eq!(n(PPPIOCNEWUNIT), 0xc004_743e);
            assert_eq!(n(PPPIOCSFLAGS), 0x4004_7459);
        }
        let size = std::mem::size_of::<OptionData>() as u32;
        assert_eq!(
            size,
            if cfg!(target_pointer_width = "64") {
                16
            } else {
                12
            }
        );
        assert_eq!((n(PPPIOCSCOMPRESS) >> 16) & 0x1fff, size);
    }
}
