//! The I/O edge: running nft and iptables, the NFQUEUE socket, rtnetlink
//! and the status socket. Everything that touches the system lives here.

pub mod addr;
pub mod conntrack;
pub mod ctl;
pub mod gre;
pub mod libnft;
pub mod netifd;
pub mod nfqueue;
pub mod nft;
pub mod nftnl;
pub mod pppk;
pub mod probe;
pub mod rtmsg;
pub mod syslog;
pub mod tun;

/// Failures of the I/O edge.
#[derive(Debug, thiserror::Error)]
pub enum OsError {
    #[error("{cmd} failed: {detail}")]
    Command { cmd: String, detail: String },
    #[error("cannot run {cmd}: {source} (is it installed?)")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("nft: {0}")]
    Nft(String),
    #[error("NFQUEUE: {0}")]
    Queue(std::io::Error),
    #[error("netlink: {0}")]
    Netlink(String),
    #[error("interface {0} not found")]
    NoInterface(String),
    /// Nobody answers on the control socket.
    #[error("pptp-passthrough is not running (no daemon on {0})")]
    NotRunning(String),
    #[error("interface {0} is down (no layer-3 device now)")]
    InterfaceDown(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Give freed heap pages back to the kernel. glibc keeps them otherwise,
/// so one burst of calls (NFQUEUE buffers of 68 KiB per queued segment, a
/// large table listing) would leave the resident size high for good.
/// musl (OpenWrt) returns memory by itself: nothing to do there.
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only walks the allocator's
    // own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Set an integer socket option (the few the crates in use do not offer:
/// SO_RCVBUFFORCE, SO_SNDBUFFORCE, IP_MTU_DISCOVER).
pub fn setsockopt_int(
    fd: std::os::fd::RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> std::io::Result<()> {
    // SAFETY: setsockopt reads a c_int of the given size from a live local;
    // a bad descriptor is reported as an error.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Run a program, returning stdout; stderr becomes the error text.
pub fn run(prog: &str, args: &[String], stdin: Option<&str>) -> Result<String, OsError> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let cmd = format!("{prog} {}", args.join(" "));
    let mut child = Command::new(prog)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| OsError::Spawn {
            cmd: prog.to_string(),
            source,
        })?;
    if let (Some(input), Some(mut w)) = (stdin, child.stdin.take()) {
        w.write_all(input.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(OsError::Command {
            cmd,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}
