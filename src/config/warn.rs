//! Settings that work but weaken security. They stay allowed (old peers
//! may need them) but are named, with the risk, every time they are used.

use super::model::{AuthMethod, Config, KeyBits, Mppe, Security};

impl Config {
    /// Settings that work but weaken security, one sentence each, to be
    /// logged at startup and shown by configuration checks.
    pub fn warnings(&self) -> Vec<String> {
        warnings(self)
    }
}

fn warnings(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(s) = &cfg.server {
        security("server", &s.security, &mut out);
        let r = &s.radius;
        if !r.servers.is_empty() && !r.require_message_authenticator {
            out.push(
                "server: radius_require_message_authenticator is off: a forged Access-Accept \
                 (BlastRADIUS) can log anyone in; sign answers on the RADIUS server instead"
                    .into(),
            );
        }
        if !r.servers.is_empty() && r.fallback {
            out.push(
                "server: radius_fallback is on: while no RADIUS server answers, the local \
                 users log in (and RADIUS's lockouts and disabled accounts do not apply)"
                    .into(),
            );
        }
    }
    for c in &cfg.clients {
        security(&format!("client '{}'", c.name), &c.security, &mut out);
    }
    out
}

fn security(who: &str, sec: &Security, out: &mut Vec<String>) {
    for a in &sec.auth {
        let risk = match a {
            AuthMethod::MsChapV2 => continue,
            AuthMethod::Pap => "PAP sends the password in clear text",
            AuthMethod::Chap => {
                "CHAP (MD5) gives no MPPE keys and its exchange allows offline password guessing"
            }
            AuthMethod::MsChapV1 => {
                "MS-CHAPv1 is broken: its responses reveal the password hash to an eavesdropper"
            }
        };
        out.push(format!("{who}: {risk}"));
    }
    let mppe = match sec.mppe {
        Mppe::Require128 | Mppe::Require => None,
        Mppe::Optional => Some("MPPE is optional: a peer can choose an unencrypted tunnel"),
        Mppe::None => Some("MPPE is off: tunnel traffic is not encrypted"),
    };
    out.extend(mppe.map(|m| format!("{who}: {m}")));
    if sec.mppe != Mppe::None {
        for b in sec.mppe_bits.iter().filter(|b| **b != KeyBits::B128) {
            out.push(format!(
                "{who}: {}-bit MPPE keys can be found by brute force",
                b.bits()
            ));
        }
    }
}
