//! The program's configuration: one OpenWrt UCI file
//! (`/etc/config/pptp-passthrough`) for the passthrough helper, the
//! embedded PPTP server and client profiles, plus pppd's `chap-secrets`.
//!
//! Everything here is pure parsing of text; only [`load`] and
//! [`load_secrets`] touch the file system, so the parsers can be tested and
//! fuzzed without files. Errors always say `file:line: what was expected`
//! and never contain a password or secret.

mod convert;
mod defaults;
pub mod model;
pub mod secrets;
pub mod uci;
pub mod value;
mod warn;

#[cfg(test)]
mod check_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod policy_tests;
#[cfg(test)]
mod robust_tests;
#[cfg(test)]
mod secrets_tests;
#[cfg(test)]
mod uci_tests;

pub use convert::{load, parse};
pub use defaults::DEFAULT_CONFIG;
pub use model::{
    AuthMethod, Backend, ClientCfg, Config, DataPath, GreGuard, HelperCfg, Host, IpPool,
    Ipv4Prefix, Ipv6Prefix, KeyBits, Mppe, RadiusCfg, RadiusServer, RoutePrefix, Routes, Security,
    ServerCfg, UserCfg,
};
pub use secrets::{Secret, Secrets, load_secrets, parse_secrets};

/// Where the file lives on OpenWrt.
pub const DEFAULT_PATH: &str = "/etc/config/pptp-passthrough";

/// Why a configuration or secrets file was rejected. Every variant names
/// the file and, for content errors, the 1-based line, so the message alone
/// is enough to fix the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// The text does not follow the file's syntax.
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: String,
        line: usize,
        message: String,
    },
    /// A `config TYPE` this program does not know (likely a typo).
    #[error(
        "{file}:{line}: unknown section type '{kind}', expected 'helper', 'server' or 'client'"
    )]
    UnknownSection {
        file: String,
        line: usize,
        kind: String,
    },
    /// An option the section does not have (likely a typo).
    #[error("{file}:{line}: unknown option '{option}' in {section}, expected one of: {expected}")]
    UnknownOption {
        file: String,
        line: usize,
        section: String,
        option: String,
        expected: String,
    },
    /// A value of the wrong form. Never built for secret values.
    #[error("{file}:{line}: {what}: expected {expected}, found {value:?}")]
    InvalidValue {
        file: String,
        line: usize,
        what: String,
        expected: String,
        value: String,
    },
    /// Values that are fine alone but wrong together, missing required
    /// options, duplicate sections.
    #[error("{file}:{line}: {section}: {message}")]
    Invalid {
        file: String,
        line: usize,
        section: String,
        message: String,
    },
}

impl ConfigError {
    /// The 1-based line the error is about (`None` for I/O errors).
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Io { .. } => None,
            ConfigError::Syntax { line, .. }
            | ConfigError::UnknownSection { line, .. }
            | ConfigError::UnknownOption { line, .. }
            | ConfigError::InvalidValue { line, .. }
            | ConfigError::Invalid { line, .. } => Some(*line),
        }
    }
}

/// Reads a file for one of the parsers; the only I/O in this module.
fn read(path: &std::path::Path) -> Result<(String, String), ConfigError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Io {
        file: file.clone(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => Ok((file, text)),
        Err(e) => {
            // Lossy decoding would silently change passwords: refuse instead.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + good.iter().filter(|&&b| b == b'\n').count();
            Err(ConfigError::Syntax {
                file,
                line,
                message: "expected UTF-8 text, found invalid bytes".into(),
            })
        }
    }
}

/// Whether an option or word names something secret, so that its value is
/// left out of error excerpts and Debug output.
fn is_sensitive(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["password", "passwd", "secret", "key"]
        .iter()
        .any(|s| n.contains(s))
}
