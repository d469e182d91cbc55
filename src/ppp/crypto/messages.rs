//! The text of MS-CHAP Success and Failure packets (RFC 2759 §5, §6;
//! RFC 2433 §8). Parsing is lenient because servers differ: pppd sends
//! `E=691 R=1 C=<32 hex> V=3 M=...`, accel-ppp leaves out `C=`, others
//! reorder fields. Keys may come in any order and case, unknown keys and
//! malformed values are ignored, and `M=` takes the rest of the text.

use super::CryptoError;
use super::{hex_decode, hex_upper};

/// ERROR_RESTRICTED_LOGON_HOURS (RFC 2759 §6).
pub const ERROR_RESTRICTED_LOGON_HOURS: u32 = 646;
/// ERROR_ACCT_DISABLED.
pub const ERROR_ACCT_DISABLED: u32 = 647;
/// ERROR_PASSWD_EXPIRED.
pub const ERROR_PASSWD_EXPIRED: u32 = 648;
/// ERROR_NO_DIALIN_PERMISSION.
pub const ERROR_NO_DIALIN_PERMISSION: u32 = 649;
/// ERROR_AUTHENTICATION_FAILURE.
pub const ERROR_AUTHENTICATION_FAILURE: u32 = 691;
/// ERROR_CHANGING_PASSWORD.
pub const ERROR_CHANGING_PASSWORD: u32 = 709;

/// Splits `K=V` fields separated by spaces; a field starting `M=` swallows
/// the rest of the text, spaces included (the human-readable message).
fn fields(text: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = text;
    core::iter::from_fn(move || {
        loop {
            rest = rest.trim_ascii_start();
            if rest.is_empty() {
                return None;
            }
            if let [m, b'=', msg @ ..] = rest {
                if m.eq_ignore_ascii_case(&b'M') {
                    rest = &[];
                    return Some((&b"M"[..], msg));
                }
            }
            // The field runs to the next whitespace, or to the end.
            let (field, tail) = rest
                .iter()
                .position(|b| b.is_ascii_whitespace())
                .and_then(|end| rest.split_at_checked(end))
                .unwrap_or((rest, &[]));
            rest = tail;
            let mut key_value = field.splitn(2, |&b| b == b'=');
            if let (Some(key), Some(value)) = (key_value.next(), key_value.next()) {
                return Some((key, value));
            }
        }
    })
}

fn key_is(key: &[u8], name: u8) -> bool {
    matches!(key, [k] if k.eq_ignore_ascii_case(&name))
}

fn decimal(value: &[u8]) -> Option<u32> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    core::str::from_utf8(value).ok()?.parse().ok()
}

fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value).into_owned()
}

/// The MS-CHAPv2 Success message: `S=<40 hex> [M=<text>]` (RFC 2759 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuccessMessage {
    /// The authenticator response digest carried after `S=`.
    pub authenticator_response: [u8; 20],
    /// The human-readable text, if any.
    pub message: Option<String>,
}

impl SuccessMessage {
    /// A Success message without text.
    pub fn new(authenticator_response: [u8; 20]) -> Self {
        Self {
            authenticator_response,
            message: None,
        }
    }

    /// Parses the message; hex digits of either case are accepted. Without
    /// a valid `S=` there is nothing to verify, hence an error.
    pub fn parse(text_bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut response = None;
        let mut message = None;
        for (key, value) in fields(text_bytes) {
            if key_is(key, b'S') && response.is_none() {
                response = Some(hex_decode::<20>(value).ok_or(CryptoError::MalformedSuccess)?);
            } else if key_is(key, b'M') {
                message = Some(text(value));
            }
        }
        Ok(Self {
            authenticator_response: response.ok_or(CryptoError::MalformedSuccess)?,
            message,
        })
    }

    /// `S=` and 40 uppercase hex digits, then ` M=<text>` when there is text.
    pub fn to_text(&self) -> String {
        let mut out = format!("S={}", hex_upper(&self.authenticator_response));
        if let Some(m) = &self.message {
            out.push_str(" M=");
            out.push_str(m);
        }
        out
    }
}

/// The challenge in a Failure message's `C=`: 16 hex digits for MS-CHAPv1
/// (RFC 2433 §8), 32 for MS-CHAPv2 (RFC 2759 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureChallenge {
    /// 8-byte MS-CHAPv1 challenge.
    V1([u8; 8]),
    /// 16-byte MS-CHAPv2 challenge.
    V2([u8; 16]),
}

/// An MS-CHAP Failure message; every field is optional because peers omit
/// some (accel-ppp sends no `C=`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureMessage {
    /// `E=`: the Windows error code, e.g. [`ERROR_AUTHENTICATION_FAILURE`].
    pub error: Option<u32>,
    /// `R=`: whether the authenticator allows a retry.
    pub retry: Option<bool>,
    /// `C=`: the challenge a retry must answer.
    pub challenge: Option<FailureChallenge>,
    /// `V=`: the password-change protocol version.
    pub version: Option<u32>,
    /// `M=`: the human-readable text.
    pub message: Option<String>,
}

impl FailureMessage {
    /// Parses leniently; never fails (garbage yields all-`None`).
    pub fn parse(text_bytes: &[u8]) -> Self {
        let mut out = Self::default();
        for (key, value) in fields(text_bytes) {
            if key_is(key, b'E') {
                out.error = decimal(value);
            } else if key_is(key, b'R') {
                out.retry = match value {
                    b"1" => Some(true),
                    b"0" => Some(false),
                    _ => None,
                };
            } else if key_is(key, b'C') {
                out.challenge = hex_decode::<16>(value)
                    .map(FailureChallenge::V2)
                    .or_else(|| hex_decode::<8>(value).map(FailureChallenge::V1));
            } else if key_is(key, b'V') {
                out.version = decimal(value);
            } else if key_is(key, b'M') {
                out.message = Some(text(value));
            }
        }
        out
    }

    /// The MS-CHAPv2 retry challenge, if the server sent a 32-digit `C=`.
    pub fn challenge_v2(&self) -> Option<[u8; 16]> {
        match self.challenge {
            Some(FailureChallenge::V2(c)) => Some(c),
            _ => None,
        }
    }

    /// Formats the fields present, in RFC order `E R C V M`, for an
    /// authenticator's Failure packet.
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(e) = self.error {
            parts.push(format!("E={e}"));
        }
        if let Some(r) = self.retry {
            parts.push(format!("R={}", u8::from(r)));
        }
        match &self.challenge {
            Some(FailureChallenge::V1(c)) => parts.push(format!("C={}", hex_upper(c))),
            Some(FailureChallenge::V2(c)) => parts.push(format!("C={}", hex_upper(c))),
            None => {}
        }
        if let Some(v) = self.version {
            parts.push(format!("V={v}"));
        }
        if let Some(m) = &self.message {
            parts.push(format!("M={m}"));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: [u8; 16] = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd,
        0xef,
    ];

    #[test]
    fn pppd_failure_message() {
        let text = b"E=691 R=1 C=0123456789ABCDEF0123456789ABCDEF V=3 M=Authentication failed";
        let f = FailureMessage::parse(text);
        assert_eq!(
            f,
            FailureMessage {
                error: Some(ERROR_AUTHENTICATION_FAILURE),
                retry: Some(true),
                challenge: Some(FailureChallenge::V2(C)),
                version: Some(3),
                message: Some("Authentication failed".into()),
            }
        );
        assert_eq!(f.challenge_v2(), Some(C));
        assert_eq!(f.to_text().as_bytes(), text);
    }

    #[test]
    fn accel_ppp_failure_without_challenge() {
        let f = FailureMessage::parse(b"E=691 R=0 V=3 M=Authentication failed");
        assert_eq!(f.error, Some(691));
        assert_eq!(f.retry, Some(false));
        assert_eq!(f.challenge, None);
        assert_eq!(f.challenge_v2(), None);
        assert_eq!(f.version, Some(3));
        assert_eq!(f.message.as_deref(), Some("Authentication failed"));
    }

    #[test]
    fn failure_any_order_subset_unknown_keys_and_v1_challenge() {
        let f = FailureMessage::parse(b"  r=1 X=zz junk C=0123456789abcdef e=648  ");
        assert_eq!(f.error, Some(ERROR_PASSWD_EXPIRED));
        assert_eq!(f.retry, Some(true));
        assert_eq!(
            f.challenge,
            Some(FailureChallenge::V1([
                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef
            ]))
        );
        assert_eq!(f.version, None);
        assert_eq!(f.message, None);
        let f = FailureMessage::parse(b"M=E=1 R=1 are part of the text");
        assert_eq!(f.error, None);
        assert_eq!(f.message.as_deref(), Some("E=1 R=1 are part of the text"));
    }

    #[test]
    fn failure_garbage_and_bad_values() {
        assert_eq!(FailureMessage::parse(b""), FailureMessage::default());
        assert_eq!(
            FailureMessage::parse(b"\xff\x00=== ="),
            FailureMessage::default()
        );
        let f = FailureMessage::parse(b"E=99999999999999 R=2 C=0123 V=-3 E");
        assert_eq!(f, FailureMessage::default());
        let f = FailureMessage::parse(b"M=\xff\xfe");
        assert_eq!(f.message.as_deref(), Some("\u{fffd}\u{fffd}"));
        const ALPHABET: &[u8] = b"ERCVMS= 0123456789ABCDEF\xff";
        let mut seed = 0x1234_5678u32;
        for len in 0..300 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    ALPHABET[seed as usize % ALPHABET.len()]
                })
                .collect();
            let _ = FailureMessage::parse(&bytes);
            let _ = SuccessMessage::parse(&bytes);
        }
    }

    #[test]
    fn success_message_parse_and_build() {
        let digest = [0xab; 20];
        let s = SuccessMessage {
            authenticator_response: digest,
            message: Some("Welcome home".into()),
        };
        let text = s.to_text();
        assert_eq!(text, format!("S={} M=Welcome home", "AB".repeat(20)));
        assert_eq!(SuccessMessage::parse(text.as_bytes()), Ok(s));
        assert_eq!(
            SuccessMessage::parse(b"M=hello"),
            Err(CryptoError::MalformedSuccess)
        );
        assert_eq!(
            SuccessMessage::parse(b"S=ABAB"),
            Err(CryptoError::MalformedSuccess)
        );
    }
}
