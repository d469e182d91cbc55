//! Packet captures for the end-to-end tests: a tcpdump in a namespace,
//! ended by PID.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A tcpdump in a namespace, its text output in a file; ended (by PID) when
/// finished or dropped, so a failing test leaves none running.
pub struct Capture {
    child: Option<Child>,
    path: PathBuf,
}

impl Capture {
    /// Start capturing `filter` in namespace `ns` (full name); waits until
    /// tcpdump listens.
    pub fn start(ns: &str, filter: &str, path: PathBuf) -> Capture {
        let child = Command::new("ip")
            .args([
                "netns", "exec", ns, "tcpdump", "-i", "any", "-n", "-l", "-U", filter,
            ])
            .stdout(std::fs::File::create(&path).expect("capture file"))
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump (scripts/test.sh installs it)");
        std::thread::sleep(Duration::from_millis(1500));
        Capture {
            child: Some(child),
            path,
        }
    }

    /// Stop; the lines captured.
    pub fn finish(mut self) -> String {
        self.stop();
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let _ = std::fs::remove_file(&self.path);
        text
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_file(&self.path);
    }
}
