//! OpenWrt's UCI file syntax (as libuci's `file.c` reads `/etc/config/*`),
//! without any meaning attached: sections of options and lists.
//!
//! Words are unquoted, `'single'` (no escapes) or `"double"` quoted (`\`
//! escapes the next character); adjacent parts concatenate like in a shell
//! (`a'b c'"d"` is `ab cd`). `#` outside quotes starts a comment, `;` ends
//! a statement, `\` at the end of a line joins the next one. Two deviations
//! from libuci, both stricter: a quote must close on its own line (libuci
//! would swallow the following lines into the value, hiding a typo) and
//! extra words after a statement are an error (libuci's strict mode).

use std::fmt;

use super::{ConfigError, is_sensitive};

/// An option's value: `option` sets a single value, `list` appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Single(String),
    List(Vec<String>),
}

impl Value {
    /// The values whether written with `option` or `list`, so that list
    /// options also accept the single-value form, as UCI scripts do.
    pub fn items(&self) -> &[String] {
        match self {
            Value::Single(s) => std::slice::from_ref(s),
            Value::List(v) => v,
        }
    }
}

/// One `config TYPE ['NAME']` block. Sections sharing a name are merged, as
/// libuci does; `line` is where the section first appears.
#[derive(Clone, PartialEq, Eq)]
pub struct Section {
    pub kind: String,
    pub name: Option<String>,
    pub line: usize,
    /// `(name, value, line)` in order of first appearance.
    pub options: Vec<(String, Value, usize)>,
}

impl Section {
    /// The value of an option, if set.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.options
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v)
    }
}

/// Hand-written so that values of options like `password` never reach logs.
impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Shown<'a>(&'a str, &'a Value);
        impl fmt::Debug for Shown<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                if is_sensitive(self.0) {
                    f.write_str("<redacted>")
                } else {
                    self.1.fmt(f)
                }
            }
        }
        let options: Vec<_> = self
            .options
            .iter()
            .map(|(n, v, l)| (n, Shown(n, v), l))
            .collect();
        f.debug_struct("Section")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("line", &self.line)
            .field("options", &options)
            .finish()
    }
}

/// Parses UCI text into sections. `file` only names the file in errors.
pub fn parse_uci(file: &str, text: &str) -> Result<Vec<Section>, ConfigError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut current: Option<usize> = None;
    for st in lex(file, text)? {
        let err = |message: String| ConfigError::Syntax {
            file: file.to_string(),
            line: st.line,
            message,
        };
        let found = excerpt(&st.words);
        let Some((cmd, args)) = st.words.split_first() else {
            continue;
        };
        match cmd.as_str() {
            "package" | "p" => match args {
                [name] if is_name(name, true) => {}
                _ => return Err(err(format!("expected 'package NAME', found {found}"))),
            },
            "config" | "c" => {
                let (kind, name) = match args {
                    [kind] => (kind, None),
                    [kind, name] => (kind, Some(name).filter(|n| !n.is_empty())),
                    _ => return Err(err(format!("expected 'config TYPE [NAME]', found {found}"))),
                };
                if !is_name(kind, false) {
                    return Err(err(format!(
                        "expected a section type of letters, digits and '_', found {kind:?}"
                    )));
                }
                if let Some(name) = name.filter(|n| !is_name(n, false)) {
                    return Err(err(format!(
                        "expected a section name of letters, digits and '_', found {name:?}"
                    )));
                }
                let same = name.and_then(|n| {
                    sections
                        .iter()
                        .position(|s| s.name.as_deref() == Some(n.as_str()))
                });
                if let Some(i) = same {
                    let first = &sections[i];
                    if first.kind != *kind {
                        return Err(err(format!(
                            "section '{}' is declared as 'config {}' at line {}, expected the same type, found '{kind}'",
                            name.map_or("", |n| n.as_str()),
                            first.kind,
                            first.line,
                        )));
                    }
                    current = Some(i);
                } else {
                    sections.push(Section {
                        kind: kind.clone(),
                        name: name.cloned(),
                        line: st.line,
                        options: Vec::new(),
                    });
                    current = Some(sections.len() - 1);
                }
            }
            "option" | "o" | "list" | "l" => {
                let list = cmd.starts_with('l');
                let form = if list {
                    "'list NAME VALUE'"
                } else {
                    "'option NAME VALUE'"
                };
                let Some(section) = current.and_then(|i| sections.get_mut(i)) else {
                    return Err(err(format!(
                        "expected 'config TYPE [NAME]' before the first option, found {found}"
                    )));
                };
                let [name, value] = args else {
                    return Err(err(format!("expected {form}, found {found}")));
                };
                if !is_name(name, false) {
                    return Err(err(format!(
                        "expected an option name of letters, digits and '_', found {name:?}"
                    )));
                }
                set(section, name, value, list, st.line);
            }
            _ => {
                let expected = if current.is_some() {
                    "'option NAME VALUE', 'list NAME VALUE' or 'config TYPE [NAME]'"
                } else {
                    "'config TYPE [NAME]' or 'package NAME'"
                };
                return Err(err(format!("expected {expected}, found {found}")));
            }
        }
    }
    Ok(sections)
}

/// libuci's rules: `option` replaces, `list` appends (turning an earlier
/// single value into the list's first item).
fn set(section: &mut Section, name: &str, value: &str, list: bool, line: usize) {
    let slot = section.options.iter_mut().find(|(n, _, _)| n == name);
    match (slot, list) {
        (Some((_, v, l)), false) => {
            *v = Value::Single(value.to_string());
            *l = line;
        }
        (Some((_, v, _)), true) => {
            let mut items = std::mem::replace(v, Value::List(Vec::new()))
                .items()
                .to_vec();
            items.push(value.to_string());
            *v = Value::List(items);
        }
        (None, list) => {
            let v = if list {
                Value::List(vec![value.to_string()])
            } else {
                Value::Single(value.to_string())
            };
            section.options.push((name.to_string(), v, line));
        }
    }
}

/// UCI names are `[A-Za-z0-9_]+`; package names may also contain `-`.
fn is_name(s: &str, package: bool) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || (package && b == b'-'))
}

/// The statement quoted for an error message: short, and cut after any word
/// that names a secret so that the secret itself is not echoed.
fn excerpt(words: &[String]) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        parts.push(w);
        if is_sensitive(w) && i + 1 < words.len() {
            parts.push("<redacted>");
            break;
        }
    }
    let text = parts.join(" ");
    const MAX: usize = 60;
    if text.chars().count() > MAX {
        let cut: String = text.chars().take(MAX - 3).collect();
        format!("{:?}", cut + "...")
    } else {
        format!("{text:?}")
    }
}

/// One statement: its decoded words and the line it starts on.
struct Stmt {
    line: usize,
    words: Vec<String>,
}

/// C's `isspace` without the newline, which ends statements.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
}

/// Length of a line break at `i` (`\n` or `\r\n`), for `\` continuations.
fn line_break(b: &[u8], i: usize) -> Option<usize> {
    match (b.get(i), b.get(i + 1)) {
        (Some(b'\n'), _) => Some(1),
        (Some(b'\r'), Some(b'\n')) => Some(2),
        _ => None,
    }
}

/// Splits the text into statements of decoded words.
fn lex(file: &str, text: &str) -> Result<Vec<Stmt>, ConfigError> {
    let b = text.as_bytes();
    let (mut i, mut line) = (0, 1);
    let mut out = Vec::new();
    let mut cur: Option<Stmt> = None;
    while let Some(&c) = b.get(i) {
        match c {
            b'\n' | b';' => {
                out.extend(cur.take());
                if c == b'\n' {
                    line += 1;
                }
                i += 1;
            }
            b'#' => {
                while b.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'\\' if line_break(b, i + 1).is_some() => {
                i += 1 + line_break(b, i + 1).unwrap_or(0);
                line += 1;
            }
            c if is_blank(c) => i += 1,
            _ => {
                let start = line;
                let w = word(file, b, &mut i, &mut line)?;
                cur.get_or_insert(Stmt {
                    line: start,
                    words: Vec::new(),
                })
                .words
                .push(w);
            }
        }
    }
    out.extend(cur);
    Ok(out)
}

/// Reads one word starting at `*i`, concatenating quoted and unquoted parts.
fn word(file: &str, b: &[u8], i: &mut usize, line: &mut usize) -> Result<String, ConfigError> {
    let mut buf = Vec::new();
    while let Some(&c) = b.get(*i) {
        match c {
            b'\'' | b'"' => {
                let open = *line;
                *i += 1;
                loop {
                    match b.get(*i) {
                        None | Some(b'\n') => {
                            return Err(ConfigError::Syntax {
                                file: file.to_string(),
                                line: open,
                                message: format!(
                                    "expected a closing {} before the end of the line",
                                    c as char
                                ),
                            });
                        }
                        Some(&q) if q == c => {
                            *i += 1;
                            break;
                        }
                        Some(b'\\') if c == b'"' => escape(b, i, line, &mut buf),
                        Some(&x) => {
                            buf.push(x);
                            *i += 1;
                        }
                    }
                }
            }
            b'\\' => escape(b, i, line, &mut buf),
            b'#' | b';' | b'\n' => break,
            c if is_blank(c) => break,
            c => {
                buf.push(c);
                *i += 1;
            }
        }
    }
    // Splitting only at ASCII bytes keeps UTF-8 intact; lossy is a no-op.
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `\` at `*i`: a line continuation, or the next byte taken literally.
fn escape(b: &[u8], i: &mut usize, line: &mut usize, buf: &mut Vec<u8>) {
    if let Some(n) = line_break(b, *i + 1) {
        *i += 1 + n;
        *line += 1;
    } else if let Some(&x) = b.get(*i + 1) {
        buf.push(x);
        *i += 2;
    } else {
        *i += 1;
    }
}
