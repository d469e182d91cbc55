//! The unix control socket `status` talks to: one JSON document per
//! connection.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::OsError;

/// Default socket path.
pub const DEFAULT_SOCKET: &str = "/run/pptp-passthrough.sock";

/// Bind the control socket, replacing a stale one.
pub fn listen(path: &Path) -> Result<UnixListener, OsError> {
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

/// Fetch the status document from a running helper.
pub async fn fetch(path: &Path) -> Result<String, OsError> {
    let mut s = UnixStream::connect(path)
        .await
        .map_err(|e| OsError::Command {
            cmd: format!("connect {}", path.display()),
            detail: format!("{e}: is the helper running?"),
        })?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    Ok(out)
}
