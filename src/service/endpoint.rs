//! What the embedded server and client services share at the I/O edge: the
//! session policy from its words, random numbers, and moving a link's
//! output to the GRE socket and the TUN device.

use std::net::Ipv4Addr;
use std::time::Instant;

use crate::os::gre::GreSocket;
use crate::os::tun::Tun;
use crate::ppp::auth::Rng;
use crate::ppp::ccp::MppePolicy;
use crate::ppp::lcp::AuthMethod;
use crate::ppp::session::SessionEvent;
use crate::pptp::link::Link;

/// Randomness from the OS (challenges, magic numbers, Call IDs).
#[derive(Clone, Copy, Default)]
pub struct OsRng;

impl Rng for OsRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            // The kernel always has entropy after boot; never hand out zeros.
            let t = Instant::now().elapsed().subsec_nanos().to_le_bytes();
            for (i, b) in dest.iter_mut().enumerate() {
                *b = t[i % 4] ^ (i as u8).wrapping_mul(151);
            }
        }
    }
}

/// A random non-zero Call ID.
pub fn random_call_id() -> u16 {
    let mut b = [0u8; 2];
    OsRng.fill_bytes(&mut b);
    u16::from_be_bytes(b).max(1)
}

/// Authentication methods by name, strongest first; weak ones are warned about.
pub fn auth_methods(names: &[String]) -> Result<Vec<AuthMethod>, String> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "mschapv2" => Ok(AuthMethod::MsChapV2),
            "mschapv1" => {
                tracing::warn!(
                    "MS-CHAPv1 allowed: its LM/NT responses are cracked offline in minutes"
                );
                Ok(AuthMethod::MsChapV1)
            }
            "chap" => {
                tracing::warn!(
                    "CHAP-MD5 allowed: it gives no MPPE keys, so traffic is not encrypted"
                );
                Ok(AuthMethod::ChapMd5)
            }
            "pap" => {
                tracing::warn!("PAP allowed: it sends the password in clear text");
                Ok(AuthMethod::Pap)
            }
            other => Err(format!(
                "unknown authentication method {other:?} (mschapv2, mschapv1, chap, pap)"
            )),
        })
        .collect()
}

/// MPPE policy by name: require-128 (default), require, optional, none.
pub fn mppe_policy(name: &str, stateful: bool) -> Result<Option<MppePolicy>, String> {
    let p = |allow_56, allow_40, required| MppePolicy {
        allow_128: true,
        allow_56,
        allow_40,
        stateless: !stateful,
        required,
    };
    match name {
        "require-128" => Ok(Some(p(false, false, true))),
        "require" => {
            tracing::warn!("MPPE 40/56-bit allowed: those keys fall to brute force");
            Ok(Some(p(true, true, true)))
        }
        "optional" => {
            tracing::warn!("MPPE optional: the link may carry data unencrypted");
            Ok(Some(p(true, true, false)))
        }
        "none" => {
            tracing::warn!("MPPE off: all tunnel traffic is unencrypted");
            Ok(None)
        }
        other => Err(format!(
            "unknown MPPE policy {other:?} (require-128, require, optional, none)"
        )),
    }
}

/// Send everything a link has queued; returns its events, and the number
/// of IP packets written to the TUN device and their octets. SYNs are
/// MSS-clamped to `mss`.
pub fn flush(
    link: &mut Link,
    now: Instant,
    gre: &GreSocket,
    tun: &Tun,
    mss: Option<u16>,
) -> (Vec<SessionEvent>, usize, u64) {
    while let Some(pkt) = link.poll_gre(now) {
        gre.try_send(link.peer, &pkt);
    }
    let (mut n, mut octets) = (0, 0u64);
    while let Some(mut ip) = link.ppp.poll_ip() {
        if let Some(m) = mss {
            crate::wire::mss::clamp_mss(&mut ip, m);
        }
        tun.try_send(&ip);
        n += 1;
        octets += ip.len() as u64;
    }
    let mut ev = Vec::new();
    while let Some(e) = link.ppp.poll_event() {
        ev.push(e);
    }
    (ev, n, octets)
}

/// Destination address of an IPv4 packet.
pub fn ipv4_dst(pkt: &[u8]) -> Option<Ipv4Addr> {
    (pkt.len() >= 20 && pkt[0] >> 4 == 4).then(|| Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]))
}

/// Authentication methods and MPPE policy from a config section (its
/// risks are logged once from [`crate::config::Config::warnings`]).
pub fn security_policy(s: &crate::config::Security) -> (Vec<AuthMethod>, Option<MppePolicy>) {
    use crate::config::{AuthMethod as A, KeyBits, Mppe};
    let methods = s
        .auth
        .iter()
        .map(|m| match m {
            A::MsChapV2 => AuthMethod::MsChapV2,
            A::MsChapV1 => AuthMethod::MsChapV1,
            A::Chap => AuthMethod::ChapMd5,
            A::Pap => AuthMethod::Pap,
        })
        .collect();
    let bits = |b| s.mppe_bits.contains(&b);
    let mppe = match s.mppe {
        Mppe::None => None,
        Mppe::Require128 => Some(MppePolicy {
            allow_128: true,
            allow_56: false,
            allow_40: false,
            stateless: !s.mppe_stateful,
            required: true,
        }),
        m => Some(MppePolicy {
            allow_128: bits(KeyBits::B128),
            allow_56: bits(KeyBits::B56),
            allow_40: bits(KeyBits::B40),
            stateless: !s.mppe_stateful,
            required: m.required(),
        }),
    };
    (methods, mppe)
}
