//! pppd's `chap-secrets`: one `client server secret [address...]` per line,
//! so that the embedded server and pppd can share one file.
//!
//! Words follow pppd's `getword`: separated by blanks, `'` or `"` quotes
//! (which may cover part of a word), `\` escapes (`\n`, `\t`, `\s`, octal,
//! `\xHH`, `\^C`, else the character itself) even inside quotes, `#` starting
//! a comment only at the start of a word, `*` as a wildcard client or
//! server. An address field of `*`, `-` or `""` means "no fixed address":
//! the peer gets one from the pool. Error messages never quote the file's
//! content, since any word might be a secret typed in the wrong place.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::Path;

use super::ConfigError;

/// One line of the file.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    /// The peer's user name, or `*` for any.
    pub client: String,
    /// The authenticator's name, or `*` for any.
    pub server: String,
    /// The shared secret; never printed.
    pub secret: String,
    /// A fixed address for this peer, instead of one from the pool.
    pub address: Option<Ipv4Addr>,
}

/// Hand-written so that the secret never reaches a log.
impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("client", &self.client)
            .field("server", &self.server)
            .field("secret", &format_args!("<redacted>"))
            .field("address", &self.address)
            .finish()
    }
}

/// The whole file, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    entries: Vec<Secret>,
}

impl Secrets {
    pub fn entries(&self) -> &[Secret] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `user` authenticating to `server_name`, chosen as pppd
    /// does: an exact client beats `*`, then an exact server beats `*`,
    /// then the earlier line wins.
    pub fn lookup(&self, user: &str, server_name: &str) -> Option<&Secret> {
        let mut best: Option<(u8, &Secret)> = None;
        for e in &self.entries {
            let client_exact = e.client == user;
            let server_exact = e.server == server_name;
            if !(client_exact || e.client == "*") || !(server_exact || e.server == "*") {
                continue;
            }
            let score = u8::from(client_exact) * 2 + u8::from(server_exact);
            if best.is_none_or(|(b, _)| score > b) {
                best = Some((score, e));
            }
        }
        best.map(|(_, e)| e)
    }
}

/// Reads and parses a chap-secrets file.
pub fn load_secrets(path: &Path) -> Result<Secrets, ConfigError> {
    let (file, text) = super::read(path)?;
    parse_secrets(&file, &text)
}

/// Parses chap-secrets text; `file_name` only names it in errors.
pub fn parse_secrets(file_name: &str, text: &str) -> Result<Secrets, ConfigError> {
    let err = |line: usize, message: String| ConfigError::Syntax {
        file: file_name.to_string(),
        line,
        message,
    };
    let mut entries = Vec::new();
    for (line, words) in lex(text).map_err(|(line, m)| err(line, m))? {
        let mut it = words.into_iter();
        let (Some(client), Some(server), Some(secret)) = (it.next(), it.next(), it.next()) else {
            return Err(err(
                line,
                "expected 'client server secret [address]', found fewer than 3 fields".into(),
            ));
        };
        if secret.starts_with('@') {
            return Err(err(
                line,
                "expected the secret itself, found a '@file' reference (not supported)".into(),
            ));
        }
        let mut address = None;
        for (i, w) in it.enumerate() {
            if matches!(w.as_str(), "*" | "-" | "") {
                continue;
            }
            let Ok(ip) = w.parse::<Ipv4Addr>() else {
                return Err(err(
                    line,
                    format!(
                        "field {}: expected an IPv4 address, '*' or '-' (quote a secret that contains spaces)",
                        i + 4
                    ),
                ));
            };
            if address.replace(ip).is_some() {
                return Err(err(
                    line,
                    "expected at most one IPv4 address, found more".into(),
                ));
            }
        }
        entries.push(Secret {
            client,
            server,
            secret,
            address,
        });
    }
    Ok(Secrets { entries })
}

type Lines = Vec<(usize, Vec<String>)>;

/// Splits the text into lines of words; errors carry the line number.
fn lex(text: &str) -> Result<Lines, (usize, String)> {
    let b = text.as_bytes();
    let (mut i, mut line) = (0, 1);
    let mut out: Lines = Vec::new();
    let mut cur: Option<(usize, Vec<String>)> = None;
    while let Some(&c) = b.get(i) {
        match c {
            b'\n' => {
                out.extend(cur.take());
                line += 1;
                i += 1;
            }
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                let start = line;
                let Some(w) = word(b, &mut i, &mut line)? else {
                    continue;
                };
                let w = w.map_err(|_| (start, "expected UTF-8 text after escapes".into()))?;
                match &mut cur {
                    Some((_, words)) => words.push(w),
                    None => cur = Some((start, vec![w])),
                }
            }
        }
    }
    out.extend(cur);
    Ok(out)
}

type Word = Result<String, std::string::FromUtf8Error>;

/// One word from `*i`: `None` if it was only a `\` line continuation, an
/// inner error if an escape made bad UTF-8.
fn word(b: &[u8], i: &mut usize, line: &mut usize) -> Result<Option<Word>, (usize, String)> {
    let mut buf = Vec::new();
    let mut quote: Option<(u8, usize)> = None;
    let mut quoted = false;
    while let Some(&c) = b.get(*i) {
        *i += 1;
        match (c, quote) {
            (b'\\', _) => escape(b, i, line, &mut buf),
            (b'\n', Some((q, open))) => {
                return Err((
                    open,
                    format!(
                        "expected a closing {} before the end of the line",
                        q as char
                    ),
                ));
            }
            (c, Some((q, _))) if c == q => quote = None,
            (c, Some(_)) => buf.push(c),
            (b'"' | b'\'', None) => {
                quote = Some((c, *line));
                quoted = true;
            }
            (c, None) if c.is_ascii_whitespace() => {
                *i -= 1;
                break;
            }
            (c, None) => buf.push(c),
        }
    }
    if let Some((q, open)) = quote {
        return Err((
            open,
            format!(
                "expected a closing {} before the end of the line",
                q as char
            ),
        ));
    }
    Ok((quoted || !buf.is_empty()).then(|| String::from_utf8(buf)))
}

/// The escape after a `\` (already consumed), as pppd decodes it.
fn escape(b: &[u8], i: &mut usize, line: &mut usize, buf: &mut Vec<u8>) {
    let Some(&c) = b.get(*i) else { return };
    *i += 1;
    if c == b'\r' && b.get(*i) == Some(&b'\n') {
        // A continuation in a file with CRLF line ends.
        *i += 1;
        *line += 1;
        return;
    }
    let digits = |i: &mut usize, radix: u32, max: usize| {
        let mut v: u32 = 0;
        let mut n = 0;
        while n < max {
            let Some(d) = b.get(*i).and_then(|&d| (d as char).to_digit(radix)) else {
                break;
            };
            v = v * radix + d;
            *i += 1;
            n += 1;
        }
        (n > 0).then_some(v)
    };
    let byte = match c {
        b'\n' => {
            *line += 1;
            return;
        }
        b'a' => 7,
        b'b' => 8,
        b'f' => 12,
        b'n' => b'\n',
        b'r' => b'\r',
        b's' => b' ',
        b't' => b'\t',
        b'v' => 11,
        b'0'..=b'7' => {
            *i -= 1;
            digits(i, 8, 3).map_or(c, |v| (v & 0xff) as u8)
        }
        b'x' => digits(i, 16, 2).map_or(b'x', |v| v as u8),
        b'^' => match b.get(*i) {
            Some(&x) => {
                *i += 1;
                x & 0x1f
            }
            None => b'^',
        },
        c => c,
    };
    buf.push(byte);
}
