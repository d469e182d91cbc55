//! Log lines to the system log through `/dev/log`, each with its own
//! priority (facility daemon), as syslog(3) sends them: one datagram
//! `<PRI>ident[pid]: message` per line (RFC 3164 §4.1; the receiver adds
//! the time). OpenWrt's logd, busybox syslogd, rsyslog and journald all
//! read this socket; `logread` then shows info as `daemon.info`, warnings
//! as `daemon.warn` and errors as `daemon.err`.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use tracing::Level;

/// LOG_DAEMON (3) shifted into the facility bits.
const FACILITY_DAEMON: u8 = 3 << 3;

/// The syslog priority of a tracing level: err 3, warning 4, info 6,
/// debug 7 (RFC 5424 §6.2.1, the same numbers as syslog(3)).
pub fn priority(level: &Level) -> u8 {
    let severity = match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    };
    FACILITY_DAEMON | severity
}

/// One datagram: `<PRI>ident[pid]: message`, without a trailing newline;
/// further lines of a message are kept, NUL bytes are not.
pub fn frame(pri: u8, ident: &str, pid: u32, message: &[u8]) -> Vec<u8> {
    let mut out = format!("<{pri}>{ident}[{pid}]: ").into_bytes();
    let end = message
        .iter()
        .rposition(|&b| b != b'\n')
        .map_or(0, |i| i.saturating_add(1));
    out.extend(message.iter().take(end).filter(|&&b| b != 0));
    out
}

/// Makes one writer per log line (for `tracing_subscriber`'s `with_writer`).
#[derive(Clone)]
pub struct Syslog {
    socket: Arc<UnixDatagram>,
    ident: &'static str,
    pid: u32,
}

impl Syslog {
    /// Connect to `/dev/log`.
    pub fn connect(ident: &'static str) -> std::io::Result<Syslog> {
        Self::connect_to(std::path::Path::new("/dev/log"), ident)
    }

    pub fn connect_to(path: &std::path::Path, ident: &'static str) -> std::io::Result<Syslog> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(path)?;
        Ok(Syslog {
            socket: Arc::new(socket),
            ident,
            pid: std::process::id(),
        })
    }
}

/// One line being formatted; sent when dropped.
pub struct Line {
    to: Syslog,
    pri: u8,
    buf: Vec<u8>,
}

impl Write for Line {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let d = frame(self.pri, self.to.ident, self.to.pid, &self.buf);
        // A full or missing log daemon must not stop the service; the
        // line is lost then, as with syslog(3).
        let _ = self.to.socket.send(&d);
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Syslog {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line {
            to: self.clone(),
            pri: priority(&Level::INFO),
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Line {
        Line {
            to: self.clone(),
            pri: priority(meta.level()),
            buf: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_daemon_facility_with_syslog_severities() {
        assert_eq!(priority(&Level::ERROR), 27); // daemon.err
        assert_eq!(priority(&Level::WARN), 28); // daemon.warn
        assert_eq!(priority(&Level::INFO), 30); // daemon.info
        assert_eq!(priority(&Level::DEBUG), 31);
    }

    #[test]
    fn frames_one_line_without_its_newline() {
        assert_eq!(
            frame(30, "pptp-passthrough", 42, b"helper running\n"),
            b"<30>pptp-passthrough[42]: helper running".to_vec()
        );
        assert_eq!(frame(27, "x", 1, b"a\0b\n\n"), b"<27>x[1]: ab".to_vec());
    }

    #[test]
    fn each_level_reaches_the_socket_with_its_priority() {
        let dir = std::env::temp_dir().join(format!("syslog-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        let sub = tracing_subscriber::fmt()
            .with_writer(Syslog::connect_to(&path, "t").unwrap())
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::warn!("w");
            tracing::error!("e");
            tracing::info!("i");
        });
        let pid = std::process::id();
        let mut buf = [0u8; 64];
        for want in [
            format!("<28>t[{pid}]: w"),
            format!("<27>t[{pid}]: e"),
            format!("<30>t[{pid}]: i"),
        ] {
            let n = rx.recv(&mut buf).unwrap();
            assert_eq!(String::from_utf8_lossy(&buf[..n]), want);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
