//! The option negotiation of LCP, IPCP and CCP (RFC 1661 §4 automaton with
//! each protocol's option rules) and the PAP/CHAP/MS-CHAP exchanges, each as
//! two honest ends joined by a link the fuzzer controls: it delivers, drops,
//! duplicates and corrupts their packets, injects its own and lets time
//! pass.
//!
//! Invariants: no panic; every packet either end sends parses as a control
//! packet of exactly its length; neither end answers one event with more
//! than a few packets; with
//! MS-CHAP (v1 or v2) or CHAP-MD5 and a peer that does not know the
//! password, the authenticator never accepts, and with MS-CHAPv2 the peer
//! never accepts a server that does not know it either (mutual
//! authentication).
#![no_main]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use pptp_passthrough::ppp::auth::{
    AuthConfig, AuthEvent, AuthMethod, Authenticator, Peer, Rng, Secret,
};
use pptp_passthrough::ppp::ccp::{Ccp, MppePolicy};
use pptp_passthrough::ppp::fsm::{self, Event};
use pptp_passthrough::ppp::ipcp::{Ipcp, IpcpConfig};
use pptp_passthrough::ppp::lcp::{Lcp, LcpConfig};
use pptp_passthrough::ppp::packet::Packet;

/// Packets one end may send in answer to one event: a few, never a flood.
const MAX_PER_STEP: usize = 8;

#[derive(Arbitrary, Debug)]
enum Which {
    Lcp {
        a: LcpPolicy,
        b: LcpPolicy,
    },
    Ipcp {
        server_dns: bool,
        client_nbns: bool,
        fixed_remote: bool,
    },
    Ccp {
        a: CcpPolicy,
        b: CcpPolicy,
    },
    Auth {
        method: u8,
        right_password: bool,
        v2_domain: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct LcpPolicy {
    mru: u16,
    magic: bool,
    pfc: bool,
    acfc: bool,
    require: u8,
    accept: u8,
    echo: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct CcpPolicy {
    bits: u8,
    stateless: bool,
    required: bool,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Deliver the next packet of one end to the other, maybe corrupted or twice.
    Deliver {
        from_a: bool,
        corrupt: Option<(u8, u8)>,
        twice: bool,
    },
    Drop {
        from_a: bool,
    },
    Inject {
        to_a: bool,
        bytes: Vec<u8>,
    },
    Wait {
        millis: u16,
    },
}

#[derive(Arbitrary, Debug)]
struct Input {
    which: Which,
    max_configure: u8,
    max_failure: u8,
    ops: Vec<Op>,
}

/// One end of the link.
trait End {
    fn input(&mut self, now: Instant, buf: &[u8]);
    fn output(&mut self) -> Option<Vec<u8>>;
    fn timeout(&mut self, now: Instant);
    /// Drain events; returns true when the end reports success.
    fn events(&mut self) -> bool;
}

struct FsmEnd<O>(fsm::Fsm<O>);

impl<O: fsm::Options> End for FsmEnd<O> {
    fn input(&mut self, now: Instant, buf: &[u8]) {
        let _ = self.0.handle_packet(now, buf);
    }
    fn output(&mut self) -> Option<Vec<u8>> {
        self.0.poll_transmit()
    }
    fn timeout(&mut self, now: Instant) {
        self.0.handle_timeout(now);
    }
    fn events(&mut self) -> bool {
        let mut up = false;
        while let Some(e) = self.0.poll_event() {
            up |= e == Event::Up;
        }
        up
    }
}

fn rng(mut s: u64) -> impl FnMut(&mut [u8]) {
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

struct AuthEnd {
    a: Authenticator,
    rng: Box<dyn FnMut(&mut [u8])>,
}

fn creds(user: &str) -> Option<Secret> {
    (user == "alice").then(|| Secret {
        password: "correct horse".into(),
        address: Some(Ipv4Addr::new(10, 0, 0, 2)),
    })
}

impl End for AuthEnd {
    fn input(&mut self, now: Instant, buf: &[u8]) {
        self.a.handle_packet(now, buf, &creds);
    }
    fn output(&mut self) -> Option<Vec<u8>> {
        self.a.poll_transmit()
    }
    fn timeout(&mut self, now: Instant) {
        let rng: &mut dyn Rng = &mut self.rng;
        self.a.handle_timeout(now, rng);
    }
    fn events(&mut self) -> bool {
        let mut ok = false;
        while let Some(e) = self.a.poll_event() {
            if let AuthEvent::AuthOk { keys, .. } = e {
                let ms = matches!(self.a.method(), AuthMethod::MsChapV1 | AuthMethod::MsChapV2);
                assert_eq!(keys.is_some(), ms, "MPPE keys only from MS-CHAP");
                ok = true;
            }
        }
        ok
    }
}

struct PeerEnd {
    p: Peer,
    rng: Box<dyn FnMut(&mut [u8])>,
}

impl End for PeerEnd {
    fn input(&mut self, now: Instant, buf: &[u8]) {
        let rng: &mut dyn Rng = &mut self.rng;
        self.p.handle_packet(now, buf, rng);
    }
    fn output(&mut self) -> Option<Vec<u8>> {
        self.p.poll_transmit()
    }
    fn timeout(&mut self, now: Instant) {
        let rng: &mut dyn Rng = &mut self.rng;
        self.p.handle_timeout(now, rng);
    }
    fn events(&mut self) -> bool {
        let mut ok = false;
        while let Some(e) = self.p.poll_event() {
            ok |= matches!(e, AuthEvent::AuthOk { .. });
        }
        ok
    }
}

const METHODS: [AuthMethod; 4] = [
    AuthMethod::MsChapV2,
    AuthMethod::MsChapV1,
    AuthMethod::ChapMd5,
    AuthMethod::Pap,
];

fn methods(mask: u8) -> Vec<AuthMethod> {
    METHODS
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, m)| *m)
        .collect()
}

fn lcp(p: &LcpPolicy, seed: u64, cfg: fsm::Config) -> Lcp {
    let mut l = Lcp::with_config(
        LcpConfig {
            mru: p.mru,
            magic: p.magic,
            magic_seed: seed,
            pfc: p.pfc,
            acfc: p.acfc,
            require_auth: methods(p.require),
            accept_auth: methods(p.accept),
            echo_interval: p.echo.map(|s| Duration::from_secs(u64::from(s % 8) + 1)),
            echo_failures: 3,
        },
        cfg,
    );
    l.open(Instant::now());
    l
}

fn ccp_policy(p: &CcpPolicy) -> MppePolicy {
    MppePolicy {
        allow_128: p.bits & 1 != 0,
        allow_56: p.bits & 2 != 0,
        allow_40: p.bits & 4 != 0,
        stateless: p.stateless,
        required: p.required,
    }
}

fn check_packet(buf: &[u8]) {
    let p = Packet::parse(buf).expect("an end sent a malformed packet");
    assert_eq!(
        p.buffer_len(),
        buf.len(),
        "length field disagrees with the packet"
    );
}

fuzz_target!(|input: Input| {
    let t0 = Instant::now();
    let cfg = fsm::Config {
        restart: Duration::from_secs(3),
        max_terminate: 2,
        max_configure: input.max_configure % 12 + 1,
        max_failure: input.max_failure % 7 + 1,
    };
    let mut forbid_auth_ok = (false, false);
    let (mut a, mut b): (Box<dyn End>, Box<dyn End>) = match &input.which {
        Which::Lcp { a, b } => {
            let mut x = lcp(a, 1, cfg);
            let mut y = lcp(b, 2, cfg);
            x.up(t0);
            y.up(t0);
            (Box::new(FsmEnd(x)), Box::new(FsmEnd(y)))
        }
        Which::Ipcp {
            server_dns,
            client_nbns,
            fixed_remote,
        } => {
            let server = IpcpConfig {
                local: Some(Ipv4Addr::new(10, 0, 0, 1)),
                remote: fixed_remote.then_some(Ipv4Addr::new(10, 0, 0, 100)),
                dns: [server_dns.then_some(Ipv4Addr::new(10, 0, 0, 53)), None],
                nbns: [None, Some(Ipv4Addr::new(10, 0, 0, 54))],
                request_dns: false,
                request_nbns: false,
            };
            let client = IpcpConfig {
                request_dns: true,
                request_nbns: *client_nbns,
                ..IpcpConfig::default()
            };
            let mut x = Ipcp::with_config(server, cfg);
            let mut y = Ipcp::with_config(client, cfg);
            for f in [&mut x, &mut y] {
                f.open(t0);
                f.up(t0);
            }
            (Box::new(FsmEnd(x)), Box::new(FsmEnd(y)))
        }
        Which::Ccp { a, b } => {
            let mut x = Ccp::with_config(ccp_policy(a), cfg);
            let mut y = Ccp::with_config(ccp_policy(b), cfg);
            for f in [&mut x, &mut y] {
                f.open(t0);
                f.up(t0);
            }
            (Box::new(FsmEnd(x)), Box::new(FsmEnd(y)))
        }
        Which::Auth {
            method,
            right_password,
            v2_domain,
        } => {
            let method = METHODS[usize::from(*method % 4)];
            let server_cfg = AuthConfig {
                methods: vec![method],
                name: "server".into(),
                max_tries: 3,
                ..AuthConfig::default()
            };
            let name = if *v2_domain { "CORP\\alice" } else { "alice" };
            let password = if *right_password {
                "correct horse"
            } else {
                "wrong"
            };
            let peer_cfg = AuthConfig {
                methods: vec![method],
                name: name.into(),
                password: password.into(),
                max_tries: 3,
                ..AuthConfig::default()
            };
            if !right_password && method != AuthMethod::Pap {
                // Nobody on the link knows the password: the fuzzer cannot
                // forge a CHAP-family response, nor an MS-CHAPv2 Success.
                forbid_auth_ok = (true, method == AuthMethod::MsChapV2);
            }
            let mut x = AuthEnd {
                a: Authenticator::new(method, &server_cfg),
                rng: Box::new(rng(11)),
            };
            let mut y = PeerEnd {
                p: Peer::new(method, &peer_cfg),
                rng: Box::new(rng(22)),
            };
            x.a.start(t0, &mut x.rng);
            y.p.start(t0, &mut y.rng);
            (Box::new(x), Box::new(y))
        }
    };

    let mut now = t0;
    let mut queues: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
    let mut ok = [false, false];
    for op in input.ops.into_iter().take(128) {
        for (q, end) in queues.iter_mut().zip([&mut a, &mut b]) {
            let mut sent = 0;
            while let Some(p) = end.output() {
                check_packet(&p);
                q.push(p);
                sent += 1;
            }
            assert!(
                sent <= MAX_PER_STEP,
                "{sent} packets in answer to one event"
            );
            // Undelivered packets pile up when the fuzzer only injects.
            if q.len() > 256 {
                q.drain(..128);
            }
        }
        match op {
            Op::Deliver {
                from_a,
                corrupt,
                twice,
            } => {
                let q = &mut queues[usize::from(!from_a)];
                if q.is_empty() {
                    continue;
                }
                let mut p = q.remove(0);
                if let Some((at, x)) = corrupt {
                    let at = usize::from(at) % p.len();
                    p[at] ^= x;
                }
                let to = if from_a { &mut b } else { &mut a };
                to.input(now, &p);
                if twice {
                    to.input(now, &p);
                }
            }
            Op::Drop { from_a } => {
                let q = &mut queues[usize::from(!from_a)];
                if !q.is_empty() {
                    q.remove(0);
                }
            }
            Op::Inject { to_a, bytes } => {
                let to = if to_a { &mut a } else { &mut b };
                to.input(now, &bytes);
            }
            Op::Wait { millis } => {
                now += Duration::from_millis(u64::from(millis));
                a.timeout(now);
                b.timeout(now);
            }
        }
        ok[0] |= a.events();
        ok[1] |= b.events();
        if forbid_auth_ok.0 {
            assert!(!ok[0], "authenticator accepted a peer without the password");
        }
        if forbid_auth_ok.1 {
            assert!(
                !ok[1],
                "MS-CHAPv2 peer accepted a server that does not know the password"
            );
        }
    }
});
