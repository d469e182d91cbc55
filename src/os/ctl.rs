//! The unix control socket `status` and `client` talk to: one request line
//! (`status`, `connect NAME`, `disconnect NAME`) and one JSON document back
//! per connection. A client that sends nothing gets the status.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::OsError;

/// Default socket path. `/var/run` exists on OpenWrt (a link to /tmp/run) and on Debian (a link
/// to /run).
pub const DEFAULT_SOCKET: &str = "/var/run/pptp-passthrough.sock";

/// Fail if a live process answers on the socket (checked before setting
/// anything up; the socket itself is bound once the process is ready, so
/// a socket that exists means a daemon that works).
pub fn ensure_free(path: &Path) -> Result<(), OsError> {
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(OsError::Command {
            cmd: format!("listen on {}", path.display()),
            detail: "another pptp-passthrough is running there (see `status`)".into(),
        });
    }
    Ok(())
}

/// Bind the control socket, replacing a stale one.
pub fn listen(path: &Path) -> Result<UnixListener, OsError> {
    ensure_free(path)?;
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    Ok(UnixListener::bind(path)?)
}

/// Answer one client with `body`.
pub async fn reply(mut s: UnixStream, body: &str) {
    let _ = s.write_all(body.as_bytes()).await;
    let _ = s.shutdown().await;
}

/// Read the request line (at most 512 bytes, 1 s); empty means `status`.
pub async fn read_request(s: &mut UnixStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
    while buf.len() < 512 && !buf.contains(&b'\n') {
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    let line = String::from_utf8_lossy(&buf);
    line.lines().next().unwrap_or("").trim().to_string()
}

/// Send `request` to the daemon and return its answer.
pub async fn request(path: &Path, request: &str) -> Result<String, OsError> {
    use std::io::ErrorKind;
    let mut s = UnixStream::connect(path)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused => {
                OsError::NotRunning(path.display().to_string())
            }
            _ => OsError::Command {
                cmd: format!("connect {}", path.display()),
                detail: format!("{e}: is pptp-passthrough running?"),
            },
        })?;
    s.write_all(format!("{request}\n").as_bytes()).await?;
    s.shutdown().await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}

/// Fetch the status document from a running daemon.
pub async fn fetch(path: &Path) -> Result<String, OsError> {
    request(path, "status").await
}

/// True if something answers on the socket.
pub async fn alive(path: &Path) -> bool {
    UnixStream::connect(path).await.is_ok()
}
