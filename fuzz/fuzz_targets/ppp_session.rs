//! A whole PPP session (LCP, authentication, IPCP, IPV6CP with Router
//! Solicitation and Advertisement, CCP, MPPE data) as a
//! client and a server joined by a link the fuzzer controls: it delivers,
//! drops, duplicates and corrupts their frames, injects its own, makes them
//! send IP and lets time pass.
//!
//! Invariants: no panic; every frame sent parses; a few frames at most in
//! answer to one event; a side that
//! requires MPPE never sends IPv4 or IPv6 in clear and delivers IP only
//! after it reported Up with MPPE; IPv6 only after `Ipv6Up`, which comes
//! after `Up`; with MS-CHAPv2 and a client that does not know
//! the password, neither side ever reports Authenticated or Up.
#![no_main]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pptp_passthrough::ppp::auth::{AuthConfig, AuthMethod, Credentials, Secret};
use pptp_passthrough::ppp::ccp::MppePolicy;
use pptp_passthrough::ppp::frame::{Frame, Protocol};
use pptp_passthrough::ppp::ipcp::IpcpConfig;
use pptp_passthrough::ppp::ipv6cp::Ipv6cpConfig;
use pptp_passthrough::ppp::session::{Session, SessionConfig, SessionEvent};
use pptp_passthrough::wire::nd::{PrefixInfo, RouterAdvert};

/// Frames one session may send in answer to one event: a few, never a flood.
const MAX_PER_STEP: usize = 16;

#[derive(Arbitrary, Debug)]
enum Op {
    Deliver {
        from_client: bool,
        corrupt: Option<(u8, u8)>,
        twice: bool,
    },
    Drop {
        from_client: bool,
    },
    Inject {
        to_client: bool,
        bytes: Vec<u8>,
    },
    SendIp {
        from_client: bool,
        len: u8,
        v6: bool,
    },
    Wait {
        millis: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    right_password: bool,
    mppe: u8,
    /// Bit 0: the client runs IPv6; bit 1: the server does.
    ipv6: u8,
    ops: Vec<Op>,
}

fn rng(mut s: u64) -> impl FnMut(&mut [u8]) + Send + 'static {
    s |= 1;
    move |buf: &mut [u8]| {
        for b in buf {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = (s >> 24) as u8;
        }
    }
}

fn lookup(user: &str) -> Option<Secret> {
    (user == "alice").then(|| Secret::new("s3cret"))
}

const METHODS: [AuthMethod; 4] = [
    AuthMethod::MsChapV2,
    AuthMethod::MsChapV1,
    AuthMethod::ChapMd5,
    AuthMethod::Pap,
];

struct Side {
    s: Session,
    mppe_required: bool,
    up_with_mppe: bool,
    authenticated: bool,
    up: bool,
    ipv6_up: bool,
    queue: Vec<Vec<u8>>,
}

impl Side {
    fn pump(&mut self) {
        let mut sent = 0;
        while let Some(f) = self.s.poll_transmit() {
            let frame = Frame::parse(&f).expect("a session sent a malformed frame");
            if self.mppe_required {
                assert!(
                    frame.protocol != Protocol::IPV4 && frame.protocol != Protocol::IPV6,
                    "IP in clear with MPPE required"
                );
            }
            self.queue.push(f);
            sent += 1;
        }
        assert!(sent <= MAX_PER_STEP, "{sent} frames in answer to one event");
        // Undelivered frames pile up when the fuzzer only injects.
        if self.queue.len() > 256 {
            self.queue.drain(..128);
        }
        while let Some(e) = self.s.poll_event() {
            match e {
                SessionEvent::Up { mppe, .. } => {
                    self.up = true;
                    self.up_with_mppe |= mppe.is_some();
                }
                SessionEvent::Authenticated { .. } => self.authenticated = true,
                SessionEvent::Ipv6Up { local_id, .. } => {
                    assert!(self.up, "Ipv6Up before Up");
                    assert_ne!(local_id, 0, "a zero interface identifier");
                    self.ipv6_up = true;
                }
                _ => {}
            }
        }
        while let Some(ip) = self.s.poll_ip() {
            if self.mppe_required {
                assert!(self.up_with_mppe, "IP delivered before MPPE was up");
            }
            if ip.first().map(|b| b >> 4) == Some(6) {
                assert!(self.ipv6_up, "IPv6 delivered before Ipv6Up");
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let t0 = Instant::now();
    let method = METHODS[usize::from(input.method % 4)];
    let mppe = match input.mppe % 4 {
        0 => Some(MppePolicy::default()),
        1 => Some(MppePolicy {
            stateless: false,
            ..MppePolicy::default()
        }),
        2 => Some(MppePolicy {
            allow_40: true,
            allow_56: true,
            required: false,
            ..MppePolicy::default()
        }),
        _ => None,
    };
    let required = mppe.is_some_and(|p| p.required);
    let client_cfg = SessionConfig {
        auth: AuthConfig {
            methods: vec![method],
            name: "alice".into(),
            password: if input.right_password {
                "s3cret"
            } else {
                "guess"
            }
            .into(),
            max_tries: 3,
            ..AuthConfig::default()
        },
        mppe,
        ipcp: IpcpConfig {
            request_dns: true,
            ..IpcpConfig::default()
        },
        ipv6: (input.ipv6 & 1 != 0).then(Ipv6cpConfig::default),
        solicit: true,
        ..SessionConfig::default()
    };
    let server_cfg = SessionConfig {
        auth: AuthConfig {
            methods: vec![method],
            name: "pptpd".into(),
            max_tries: 3,
            ..AuthConfig::default()
        },
        mppe,
        ipcp: IpcpConfig {
            local: Some(Ipv4Addr::new(10, 0, 0, 1)),
            remote: Some(Ipv4Addr::new(10, 0, 0, 100)),
            dns: [Some(Ipv4Addr::new(10, 0, 0, 53)), None],
            ..IpcpConfig::default()
        },
        ipv6: (input.ipv6 & 2 != 0).then(|| Ipv6cpConfig {
            local: Some(1),
            ..Ipv6cpConfig::default()
        }),
        advertise: Some(RouterAdvert {
            router_lifetime: 1800,
            prefixes: vec![PrefixInfo {
                prefix: "2001:db8:7::".parse().unwrap(),
                len: 64,
                valid: 86400,
                preferred: 14400,
                autonomous: true,
            }],
            mtu: None,
            dns: vec!["2001:db8::53".parse().unwrap()],
            dns_lifetime: 1800,
        }),
        ..SessionConfig::default()
    };
    let creds: Arc<dyn Credentials + Send + Sync> = Arc::new(lookup);
    let side = |s| Side {
        s,
        mppe_required: required,
        up_with_mppe: false,
        authenticated: false,
        up: false,
        ipv6_up: false,
        queue: Vec::new(),
    };
    let mut sides = [
        side(Session::client(client_cfg, t0, rng(1))),
        side(Session::server(server_cfg, t0, rng(2), creds)),
    ];
    let forbid = !input.right_password && method == AuthMethod::MsChapV2;
    let mut now = t0;
    for op in input.ops.into_iter().take(160) {
        for s in &mut sides {
            s.pump();
        }
        match op {
            Op::Deliver {
                from_client,
                corrupt,
                twice,
            } => {
                let from = usize::from(!from_client);
                if sides[from].queue.is_empty() {
                    continue;
                }
                let mut f = sides[from].queue.remove(0);
                if let Some((at, x)) = corrupt {
                    let at = usize::from(at) % f.len();
                    f[at] ^= x;
                }
                let to = &mut sides[1 - from].s;
                to.handle_frame(now, &f);
                if twice {
                    to.handle_frame(now, &f);
                }
            }
            Op::Drop { from_client } => {
                let q = &mut sides[usize::from(!from_client)].queue;
                if !q.is_empty() {
                    q.remove(0);
                }
            }
            Op::Inject { to_client, bytes } => {
                sides[usize::from(!to_client)].s.handle_frame(now, &bytes);
            }
            Op::SendIp {
                from_client,
                len,
                v6,
            } => {
                let mut ip = vec![if v6 { 0x60u8 } else { 0x45 }; usize::from(len) + 40];
                ip[1] = len;
                let _ = sides[usize::from(!from_client)].s.send_ip(&ip);
            }
            Op::Wait { millis } => {
                now += Duration::from_millis(u64::from(millis) * 4);
                for s in &mut sides {
                    s.s.handle_timeout(now);
                }
            }
        }
        for s in &mut sides {
            s.pump();
            if forbid {
                assert!(!s.authenticated, "MS-CHAPv2 accepted without the password");
                assert!(!s.up, "link up without the password");
            }
        }
    }
});
