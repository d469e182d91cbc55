//! Which Call ID field of which control message the helper rewrites.
//!
//! The rule (libalias' rule, from the field meanings of RFC 2637 §2): a
//! message leaving the LAN that carries the inside host's *own* Call ID is
//! aliased to the public Call ID; a message arriving from outside that names
//! the inside host's Call ID is de-aliased. A field that names the outside
//! peer's own ID is never touched: rewriting it (the outbound SLI, say)
//! breaks calls (Windows error 619). CDN carries the sending PAC's own Call ID
//! (§2.13), so an inbound CDN is left alone, unlike the kernel helper.

use crate::wire::pptp::ControlType;

/// Which end of the PPTP session sits on the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The LAN host is the client (PNS) dialling a server outside.
    Pns,
    /// The LAN host is a server (PAC) reached through a port forward.
    Pac,
}

/// Direction of a control segment relative to the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the LAN host towards the internet.
    Outbound,
    /// From the internet towards the LAN host.
    Inbound,
}

/// What to do with the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Inside host's own Call ID → public Call ID.
    Alias,
    /// Public Call ID → inside host's own Call ID.
    DeAlias,
}

/// One row of the rewrite table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub role: Role,
    pub dir: Dir,
    pub ty: ControlType,
    /// Offset of the 2-byte Call ID field from the start of the message.
    pub offset: usize,
    pub action: Action,
}

use Action::*;
use ControlType::*;
use Dir::*;
use Role::*;

const fn r(role: Role, dir: Dir, ty: ControlType, offset: usize, action: Action) -> Rule {
    Rule {
        role,
        dir,
        ty,
        offset,
        action,
    }
}

/// The whole rewrite rule. Offsets: RFC 2637 §2.7-§2.16.
pub const RULES: &[Rule] = &[
    // LAN client (PNS): its own Call ID goes out in OCRQ, ICRP and CCRQ.
    r(Pns, Outbound, OutgoingCallRequest, 12, Alias),
    r(Pns, Outbound, IncomingCallReply, 12, Alias),
    r(Pns, Outbound, CallClearRequest, 12, Alias),
    // ...and comes back as the peer Call ID of OCRP, ICCN, WEN and SLI.
    r(Pns, Inbound, OutgoingCallReply, 14, DeAlias),
    r(Pns, Inbound, IncomingCallConnected, 12, DeAlias),
    r(Pns, Inbound, WanErrorNotify, 12, DeAlias),
    r(Pns, Inbound, SetLinkInfo, 12, DeAlias),
    // LAN server (PAC): its own Call ID goes out in OCRP, ICRQ and CDN.
    r(Pac, Outbound, OutgoingCallReply, 12, Alias),
    r(Pac, Outbound, IncomingCallRequest, 12, Alias),
    r(Pac, Outbound, CallDisconnectNotify, 12, Alias),
    // ...and comes back as the peer Call ID of ICRP and SLI.
    r(Pac, Inbound, IncomingCallReply, 14, DeAlias),
    r(Pac, Inbound, SetLinkInfo, 12, DeAlias),
];

/// The rule for a message, if any field of it is rewritten.
pub fn rule_for(role: Role, dir: Dir, ty: ControlType) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|x| x.role == role && x.dir == dir && x.ty == ty)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_types() -> impl Iterator<Item = ControlType> {
        (1..=15).filter_map(ControlType::from_u16)
    }

    /// The table, written out field by field: every (role, direction, type)
    /// combination is listed, so adding or dropping a rule fails this test.
    #[test]
    fn table_field_by_field() {
        let expect = |role, dir, ty| -> Option<(usize, Action)> {
            match (role, dir, ty) {
                (Pns, Outbound, OutgoingCallRequest) => Some((12, Alias)),
                (Pns, Outbound, IncomingCallReply) => Some((12, Alias)),
                (Pns, Outbound, CallClearRequest) => Some((12, Alias)),
                (Pns, Inbound, OutgoingCallReply) => Some((14, DeAlias)),
                (Pns, Inbound, IncomingCallConnected) => Some((12, DeAlias)),
                (Pns, Inbound, WanErrorNotify) => Some((12, DeAlias)),
                (Pns, Inbound, SetLinkInfo) => Some((12, DeAlias)),
                (Pac, Outbound, OutgoingCallReply) => Some((12, Alias)),
                (Pac, Outbound, IncomingCallRequest) => Some((12, Alias)),
                (Pac, Outbound, CallDisconnectNotify) => Some((12, Alias)),
                (Pac, Inbound, IncomingCallReply) => Some((14, DeAlias)),
                (Pac, Inbound, SetLinkInfo) => Some((12, DeAlias)),
                _ => None,
            }
        };
        let mut n = 0;
        for role in [Pns, Pac] {
            for dir in [Outbound, Inbound] {
                for ty in all_types() {
                    let got = rule_for(role, dir, ty).map(|x| (x.offset, x.action));
                    assert_eq!(got, expect(role, dir, ty), "{role:?} {dir:?} {ty:?}");
                    n += got.is_some() as usize;
                }
            }
        }
        assert_eq!(n, RULES.len(), "duplicate rows in RULES");
    }

    #[test]
    fn never_touches_the_outside_peers_own_id() {
        // Inbound CDN (a server's own ID, §2.13) and outbound SLI (names the
        // server's ID; rewriting it causes Windows error 619) stay untouched.
        assert!(rule_for(Pns, Inbound, CallDisconnectNotify).is_none());
        assert!(rule_for(Pns, Outbound, SetLinkInfo).is_none());
        assert!(rule_for(Pac, Inbound, OutgoingCallRequest).is_none());
        assert!(rule_for(Pac, Inbound, CallClearRequest).is_none());
        assert!(rule_for(Pac, Outbound, SetLinkInfo).is_none());
    }

    #[test]
    fn fields_lie_inside_the_message() {
        for x in RULES {
            assert!(x.offset + 2 <= x.ty.fixed_len() as usize);
        }
    }
}
