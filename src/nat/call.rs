//! Calls of one control connection and what each control message does to
//! them: the Call ID rewrites (from `rules`) and the data-path mappings the
//! kernel needs (RFC 2637 §2.7-§2.16 for who sends which message).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

use super::alloc::{Allocator, MAX_LIVE_PER_HOST, Owner, Refused};
use super::rules::{Action, Dir, Role, rule_for};
use crate::wire::pptp::{ControlType, Header};

/// PPTP result code "General Error" and error code "No-Resource" (§2.8),
/// written into a reply whose call could not get a public Call ID.
const RESULT_GENERAL_ERROR: u8 = 2;
const ERROR_NO_RESOURCE: u8 = 4;

/// Calls one control connection may hold. A client holds one call per
/// connection; past this bound a request is refused.
pub const MAX_CALLS_PER_CONN: usize = 64;

/// Refused requests of one connection that wait for their reply. Each
/// went out with Call ID 0, and a reply names its request only by that ID
/// (§2.8), so the replies are matched to them in the order they were sent
/// (a control connection is one ordered stream, and a PAC answers its
/// requests in order). Past this bound the oldest is forgotten: its reply
/// goes to the next, which is refused the same way, and the oldest's
/// client is never told.
pub const MAX_REFUSED_PER_CONN: usize = 64;

/// What the kernel needs to carry one call's GRE: inbound GRE from `remote`
/// with `public_cid` goes to `lan` with its Call ID set back to `lan_cid`;
/// outbound GRE to `remote` carries `peer_cid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Mapping {
    pub role: Role,
    /// LAN end of the control connection.
    pub lan: SocketAddrV4,
    /// Outside end of the control connection.
    pub remote: SocketAddrV4,
    pub lan_cid: u16,
    pub public_cid: u16,
    pub peer_cid: u16,
}

impl std::fmt::Display for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let role = match self.role {
            Role::Pns => "LAN client",
            Role::Pac => "LAN server",
        };
        write!(
            f,
            "{role} {} Call ID {} <-> {} Call ID {}, public Call ID {}",
            self.lan.ip(),
            self.lan_cid,
            self.remote.ip(),
            self.peer_cid,
            self.public_cid
        )
    }
}

impl Mapping {
    pub fn lan_ip(&self) -> Ipv4Addr {
        *self.lan.ip()
    }
    pub fn remote_ip(&self) -> Ipv4Addr {
        *self.remote.ip()
    }
}

/// A change the kernel maps must see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// A call is up: all of its elements.
    Add(Mapping),
    Remove(Mapping),
    /// Re-add with a fresh timeout.
    Refresh(Mapping),
    /// Our side asked for a call: install the inbound path now (short
    /// timeout; `peer_cid` unknown, 0), because the outside peer may send
    /// GRE right behind its reply, while the reply is still in our queue.
    Expect(Mapping),
    /// The expected call is up: replace its inbound elements by the full set.
    Promote(Mapping),
    /// The expected call failed: remove its inbound elements.
    Unexpect(Mapping),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CallState {
    /// Our side asked (OCRQ or ICRQ sent), no reply yet.
    Requested,
    /// LAN client accepted an incoming call (ICRP), waiting for ICCN.
    Replied,
    /// GRE flows.
    Established,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub lan_cid: u16,
    /// Never 0: a refused request holds no call, only its LAN Call ID in
    /// `Calls::refused`.
    pub public_cid: u16,
    pub peer_cid: Option<u16>,
    pub state: CallState,
    pub since: Instant,
    /// Inbound elements were installed ahead of the reply (`Change::Expect`).
    pub expected: bool,
    /// All elements are installed (`Change::Add` or `Change::Promote`).
    pub mapped: bool,
}

/// The calls of one control connection.
#[derive(Debug)]
pub struct Calls {
    pub role: Role,
    pub lan: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub list: Vec<Call>,
    /// LAN Call IDs of refused requests, oldest first, until their replies
    /// come back ([`MAX_REFUSED_PER_CONN`]).
    refused: VecDeque<u16>,
}

/// Context the message handler needs from the tracker.
pub struct Ctx<'a> {
    pub alloc: &'a mut Allocator,
    /// Bounds log lines caused by remote input.
    pub log: &'a mut crate::ratelimit::LogLimit,
    pub public: Ipv4Addr,
    pub now: Instant,
    pub changes: &'a mut Vec<Change>,
}

impl Ctx<'_> {
    /// Whether a log line caused by remote input may be written now; also
    /// reports how many were held back in the last window.
    pub fn log_allowed(&mut self) -> bool {
        let (ok, suppressed) = self.log.allow(self.now);
        if let Some(n) = suppressed {
            tracing::warn!(
                suppressed = n,
                "similar log lines suppressed in the last 10 s"
            );
        }
        ok
    }
}

fn u16_at(m: &[u8], at: usize) -> u16 {
    crate::wire::read_u16(m, at).unwrap_or(0)
}

/// The byte at `at` (0 past the end: the caller checked the length).
fn u8_at(m: &[u8], at: usize) -> u8 {
    m.get(at).copied().unwrap_or(0)
}

impl Calls {
    pub fn new(role: Role, lan: SocketAddrV4, remote: SocketAddrV4) -> Self {
        Calls {
            role,
            lan,
            remote,
            list: Vec::new(),
            refused: VecDeque::new(),
        }
    }

    fn mapping(&self, c: &Call) -> Option<Mapping> {
        Some(Mapping {
            role: self.role,
            lan: self.lan,
            remote: self.remote,
            lan_cid: c.lan_cid,
            public_cid: c.public_cid,
            peer_cid: c.peer_cid?,
        })
    }

    /// A public ID for the LAN side's call `own` (its own when free), or 0
    /// when the call is refused.
    fn alloc(&self, cx: &mut Ctx, own: u16) -> u16 {
        if self.full(cx) {
            return 0;
        }
        let owner = Owner::Lan(*self.lan.ip());
        match cx
            .alloc
            .alloc_keeping(cx.public, *self.remote.ip(), owner, own, cx.now)
        {
            Ok(id) => id,
            Err(why) => {
                if cx.log_allowed() {
                    let lan = self.lan;
                    let remote = self.remote;
                    match why {
                        Refused::Exhausted => tracing::warn!(
                            %lan, %remote,
                            "no free public Call ID towards this peer: refusing the call"
                        ),
                        Refused::HostLimit => tracing::warn!(
                            %lan, %remote, limit = MAX_LIVE_PER_HOST,
                            "this LAN host holds the most calls allowed towards this peer: \
                             refusing the call"
                        ),
                    }
                }
                0
            }
        }
    }

    /// The connection holds [`MAX_CALLS_PER_CONN`] calls: a new one is
    /// refused.
    fn full(&self, cx: &mut Ctx) -> bool {
        let full = self.list.len() >= MAX_CALLS_PER_CONN;
        if full && cx.log_allowed() {
            tracing::warn!(
                lan = %self.lan, remote = %self.remote, limit = MAX_CALLS_PER_CONN,
                "control connection holds the most calls allowed: refusing the call"
            );
        }
        full
    }

    /// A request of the LAN side's call `own` went out refused (Call ID 0):
    /// its reply is to be rewritten back to `own`.
    fn refuse(&mut self, own: u16) {
        if self.refused.len() >= MAX_REFUSED_PER_CONN {
            self.refused.pop_front();
        }
        self.refused.push_back(own);
    }

    /// Remove call `i`, its mapping and its public ID.
    fn end(&mut self, i: usize, cx: &mut Ctx) {
        let c = self.list.remove(i);
        if c.mapped {
            if let Some(m) = self.mapping(&c) {
                cx.changes.push(Change::Remove(m));
            }
        } else if c.expected {
            cx.changes.push(Change::Unexpect(self.expect_mapping(&c)));
        }
        cx.alloc
            .release(cx.public, *self.remote.ip(), c.public_cid, cx.now);
    }

    /// End every call (Stop-Control-Connection, FIN/RST, idle, address change).
    pub fn end_all(&mut self, cx: &mut Ctx) {
        while !self.list.is_empty() {
            self.end(self.list.len() - 1, cx);
        }
    }

    fn expect_mapping(&self, c: &Call) -> Mapping {
        Mapping {
            role: self.role,
            lan: self.lan,
            remote: self.remote,
            lan_cid: c.lan_cid,
            public_cid: c.public_cid,
            peer_cid: 0,
        }
    }

    /// Install call `i`'s full mapping (replacing its expected inbound half).
    fn map(&mut self, i: usize, peer: u16, cx: &mut Ctx) {
        let Some(c) = self.list.get_mut(i) else {
            return;
        };
        c.peer_cid = Some(peer);
        let was_expected = c.expected;
        (c.expected, c.mapped) = (false, true);
        let c = c.clone();
        if let Some(m) = self.mapping(&c) {
            cx.changes.push(if was_expected {
                Change::Promote(m)
            } else {
                Change::Add(m)
            });
        }
    }

    /// The first call `f` accepts: its index and a copy.
    fn find(&self, f: impl Fn(&Call) -> bool) -> Option<(usize, Call)> {
        let (i, c) = self.list.iter().enumerate().find(|(_, c)| f(c))?;
        Some((i, c.clone()))
    }

    fn set_state(&mut self, i: usize, state: CallState) {
        if let Some(c) = self.list.get_mut(i) {
            c.state = state;
        }
    }

    /// Apply one whole control message travelling in `dir`; returns the
    /// in-place rewrites as (offset in message, new bytes).
    pub fn on_message(&mut self, dir: Dir, msg: &[u8], cx: &mut Ctx) -> Vec<(usize, [u8; 2])> {
        let Ok(h) = Header::new_checked(msg) else {
            return Vec::new();
        };
        let ty = h.control_type();
        let mut patches = Vec::new();
        use ControlType::*;
        use Role::*;
        // The rewritten field and its value come from the rule table only;
        // the arms below add what each message does to the calls.
        let rule = rule_for(self.role, dir, ty);
        let (off, val) = rule.map_or((0, 0), |r| (r.offset, u16_at(msg, r.offset)));
        match (self.role, dir, ty) {
            // Our side's own Call ID leaves in a request: allocate its alias.
            (Pns, Dir::Outbound, OutgoingCallRequest)
            | (Pac, Dir::Outbound, IncomingCallRequest) => {
                let own = val;
                if let Some((i, _)) = self.find(|c| c.lan_cid == own) {
                    self.end(i, cx); // the host reused the ID: the old call is gone
                }
                let public = self.alloc(cx, own);
                patches.push((off, public.to_be_bytes()));
                if public == 0 {
                    self.refuse(own);
                    return patches;
                }
                let call = Call {
                    lan_cid: own,
                    public_cid: public,
                    peer_cid: None,
                    state: CallState::Requested,
                    since: cx.now,
                    expected: true,
                    mapped: false,
                };
                cx.changes.push(Change::Expect(self.expect_mapping(&call)));
                self.list.push(call);
            }
            // The outside peer answers our request: own ID @12, ours @14.
            (Pns, Dir::Inbound, OutgoingCallReply) | (Pac, Dir::Inbound, IncomingCallReply) => {
                // The sender's own Call ID @12, the result @16 (§2.8, §2.10).
                let (peer, public, result) = (u16_at(msg, 12), val, u8_at(msg, 16));
                let want = |c: &Call| c.state == CallState::Requested && c.public_cid == public;
                if public == 0 {
                    // The reply to the oldest refused request: whatever
                    // the peer said, the call has no public ID.
                    if let Some(own) = self.refused.pop_front() {
                        patches.push((off, own.to_be_bytes()));
                        patches.push((16, [RESULT_GENERAL_ERROR, ERROR_NO_RESOURCE]));
                    }
                } else if let Some((i, c)) = self.find(want) {
                    patches.push((off, c.lan_cid.to_be_bytes()));
                    if result == 1 {
                        self.set_state(i, CallState::Established);
                        self.map(i, peer, cx);
                    } else {
                        self.end(i, cx);
                    }
                }
            }
            // Our side answers the outside peer's request: ours @12, peer @14.
            (Pns, Dir::Outbound, IncomingCallReply) | (Pac, Dir::Outbound, OutgoingCallReply) => {
                // The outside peer's Call ID @14, the result @16.
                let (own, peer, result) = (val, u16_at(msg, 14), u8_at(msg, 16));
                if let Some((i, _)) = self.find(|c| c.lan_cid == own) {
                    self.end(i, cx);
                }
                let public = self.alloc(cx, own);
                patches.push((off, public.to_be_bytes()));
                if public == 0 {
                    patches.push((16, [RESULT_GENERAL_ERROR, ERROR_NO_RESOURCE]));
                } else {
                    // A LAN client still waits for the PAC's ICCN.
                    let state = if self.role == Pns {
                        CallState::Replied
                    } else {
                        CallState::Established
                    };
                    self.list.push(Call {
                        lan_cid: own,
                        public_cid: public,
                        peer_cid: Some(peer),
                        state,
                        since: cx.now,
                        expected: false,
                        mapped: false,
                    });
                    let i = self.list.len() - 1;
                    if result != 1 {
                        self.end(i, cx);
                    } else {
                        // Map now: the outside peer may send GRE as soon as
                        // it reads this reply (PAC role) or right behind its
                        // ICCN (PNS role), while that is still queued here.
                        self.map(i, peer, cx);
                    }
                }
            }
            // PAC outside tells our LAN client the call is up.
            (Pns, Dir::Inbound, IncomingCallConnected) => {
                let public = val;
                let want = |c: &Call| c.state == CallState::Replied && c.public_cid == public;
                if let Some((i, c)) = self.find(want) {
                    patches.push((off, c.lan_cid.to_be_bytes()));
                    // Mapped when the ICRP went out.
                    self.set_state(i, CallState::Established);
                }
            }
            // An outside PAC ends a call: CDN carries its own ID (§2.13).
            (Pns, Dir::Inbound, CallDisconnectNotify) => {
                let peer = u16_at(msg, 12);
                if let Some((i, _)) = self.find(|c| c.peer_cid == Some(peer)) {
                    self.end(i, cx);
                }
            }
            // Our LAN PAC ends a call.
            (Pac, Dir::Outbound, CallDisconnectNotify) => {
                if let Some((i, c)) = self.find(|c| c.lan_cid == val) {
                    patches.push((off, c.public_cid.to_be_bytes()));
                    self.end(i, cx);
                }
            }
            (_, _, StopControlConnectionReply) => self.end_all(cx),
            // Remaining rules: plain alias / de-alias of a known call.
            _ => match rule.map(|r| r.action) {
                Some(Action::Alias) => {
                    if let Some((_, c)) = self.find(|c| c.lan_cid == val) {
                        patches.push((off, c.public_cid.to_be_bytes()));
                    }
                }
                Some(Action::DeAlias) => {
                    if let Some((_, c)) = self.find(|c| c.public_cid == val && val != 0) {
                        patches.push((off, c.lan_cid.to_be_bytes()));
                    }
                }
                None => {}
            },
        }
        patches
    }

    /// Mappings of the established calls.
    pub fn mappings(&self) -> Vec<Mapping> {
        self.list
            .iter()
            .filter(|c| c.mapped)
            .filter_map(|c| self.mapping(c))
            .collect()
    }
}
