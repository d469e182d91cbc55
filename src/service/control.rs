//! The control socket's protocol, one module for both ends: the daemon
//! answers, the command line asks. One request per connection, as one line
//! (`status`, `connect NAME`, `disconnect NAME`, `hangup CALL_ID`); one JSON document in
//! answer: the status document, or an [`Answer`].

use serde::{Deserialize, Serialize};

/// What a client of the control socket asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The status document (also what an empty line asks for).
    Status,
    /// Dial the named client profile.
    Connect(String),
    /// Hang up the named client profile.
    Disconnect(String),
    /// Hang up the server's session of this call ID (from `status`).
    Hangup(u16),
}

impl Request {
    /// Read one request line.
    pub fn parse(line: &str) -> Result<Request, String> {
        let line = line.trim();
        let (verb, arg) = line.split_once(' ').unwrap_or((line, ""));
        let arg = arg.trim().to_string();
        match verb {
            "" | "status" => Ok(Request::Status),
            "connect" => Ok(Request::Connect(arg)),
            "disconnect" => Ok(Request::Disconnect(arg)),
            "hangup" => arg
                .parse()
                .map(Request::Hangup)
                .map_err(|_| format!("hangup expects a call ID (0-65535), not {arg:?}")),
            other => Err(format!("unknown request {other:?}")),
        }
    }

    /// The request line.
    pub fn line(&self) -> String {
        match self {
            Request::Status => "status".into(),
            Request::Connect(n) => format!("connect {n}"),
            Request::Disconnect(n) => format!("disconnect {n}"),
            Request::Hangup(id) => format!("hangup {id}"),
        }
    }
}

/// The answer to `connect` and `disconnect` (and to a request the daemon
/// does not know).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `connect` of a profile that is already up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub already: Option<bool>,
    /// That profile's status row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<serde_json::Value>,
}

impl Answer {
    pub fn ok() -> Answer {
        Answer {
            ok: true,
            ..Answer::default()
        }
    }

    pub fn refused(error: impl Into<String>) -> Answer {
        Answer {
            ok: false,
            error: Some(error.into()),
            ..Answer::default()
        }
    }
}

/// The status document: the helper's fields at the top level (as the
/// `helper` command has always printed them), then the server's sessions,
/// the client profiles and the configuration's warnings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(flatten)]
    pub helper: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub helper_enabled: bool,
    /// Enabled, but waiting for its interface (down or missing): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helper_waiting: Option<String>,
    #[serde(default)]
    pub server: Option<serde_json::Value>,
    #[serde(default)]
    pub clients: Vec<serde_json::Value>,
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_unknown_is_refused() {
        for r in [
            Request::Status,
            Request::Connect("work".into()),
            Request::Disconnect("home vpn".into()),
            Request::Hangup(4660),
        ] {
            assert_eq!(Request::parse(&r.line()), Ok(r));
        }
        assert_eq!(Request::parse(""), Ok(Request::Status));
        assert_eq!(
            Request::parse("connect  x \n"),
            Ok(Request::Connect("x".into()))
        );
        assert!(Request::parse("reboot").unwrap_err().contains("reboot"));
        assert!(
            Request::parse("hangup 65536")
                .unwrap_err()
                .contains("call ID")
        );
        assert!(Request::parse("hangup").is_err());
    }

    #[test]
    fn answers_and_status_as_json() {
        assert_eq!(
            serde_json::to_string(&Answer::ok()).unwrap(),
            r#"{"ok":true}"#
        );
        let r = Answer::refused("no client profile named \"x\"");
        let back: Answer = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        let mut s = Status {
            helper_enabled: true,
            ..Status::default()
        };
        s.helper.insert("calls".into(), serde_json::json!([]));
        let v = serde_json::to_value(&s).unwrap();
        // The helper's fields stay at the top level.
        assert_eq!(v["calls"], serde_json::json!([]));
        assert_eq!(v["helper_enabled"], true);
        assert_eq!(v["server"], serde_json::Value::Null);
        let back: Status = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
    }
}
