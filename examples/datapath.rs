//! The tunnel's data path in memory (not shipped): a client and a server
//! [`Link`] negotiate over an in-memory wire, then the client sends IPv4
//! packets through PPP framing, MPPE and GRE to the server, which checks
//! and delivers them. No sockets, so this is the cost of this project's
//! code alone; `scripts/bench.sh` adds the kernel's share with iperf3.
//!
//! `datapath [--mppe none|stateless|stateful] [--size BYTES] [--packets N] [--secs S]`
//!
//! Prints one JSON line: packets, and for each end the CPU time per packet
//! and the Gbit/s (whole IPv4 packets) one core would carry at that cost.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pptp_passthrough::ppp::auth::{AuthConfig, AuthMethod, Secret};
use pptp_passthrough::ppp::ccp::MppePolicy;
use pptp_passthrough::ppp::ipcp::IpcpConfig;
use pptp_passthrough::ppp::session::{Session, SessionConfig};
use pptp_passthrough::pptp::gre::{GreChannel, GreConfig};
use pptp_passthrough::pptp::link::Link;

const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
const SERVER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 21);

struct Args {
    mppe: String,
    size: usize,
    packets: u64,
    secs: f64,
}

fn args() -> Args {
    let v: Vec<String> = std::env::args().skip(1).collect();
    let get = |k: &str| v.iter().position(|a| a == k).and_then(|i| v.get(i + 1));
    let num = |k: &str, d: f64| get(k).map_or(d, |s| s.parse().expect(k));
    Args {
        mppe: get("--mppe").cloned().unwrap_or_else(|| "stateless".into()),
        size: num("--size", 1400.0) as usize,
        packets: num("--packets", 2_000_000.0) as u64,
        secs: num("--secs", 3.0),
    }
}

/// A deterministic Rng (xorshift64): the benchmark needs no entropy.
fn rng(mut s: u64) -> impl FnMut(&mut [u8]) + Send + 'static {
    move |buf: &mut [u8]| {
        for b in buf {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = (s >> 24) as u8;
        }
    }
}

fn configs(mppe: &str) -> (SessionConfig, SessionConfig) {
    let policy = match mppe {
        "none" => None,
        "stateless" | "stateful" => Some(MppePolicy {
            allow_128: true,
            allow_56: false,
            allow_40: false,
            stateless: mppe == "stateless",
            required: true,
        }),
        other => panic!("--mppe {other}: none, stateless or stateful"),
    };
    let auth = |name: &str, password: &str| AuthConfig {
        methods: vec![AuthMethod::MsChapV2],
        name: name.into(),
        password: password.into(),
        ..AuthConfig::default()
    };
    let client = SessionConfig {
        auth: auth("bench", "bench pass"),
        mppe: policy,
        ..SessionConfig::default()
    };
    let server = SessionConfig {
        auth: auth("pptpd", ""),
        mppe: policy,
        ipcp: IpcpConfig {
            local: Some(Ipv4Addr::new(10, 99, 0, 1)),
            remote: Some(Ipv4Addr::new(10, 99, 0, 10)),
            ..IpcpConfig::default()
        },
        ..SessionConfig::default()
    };
    (client, server)
}

/// Move every queued GRE packet from `a` to `b`; returns how many moved.
fn carry(a: &mut Link, b: &mut Link, now: Instant) -> usize {
    let mut n = 0;
    while let Some(p) = a.poll_gre(now) {
        b.on_gre(now, &p);
        n += 1;
    }
    while b.ppp.poll_ip().is_some() {}
    n
}

/// An IPv4 header (RFC 791) and `size - 20` bytes of UDP-ish payload.
fn packet(size: usize) -> Vec<u8> {
    let mut p = vec![0x5a; size.max(20)];
    p[..20].copy_from_slice(&[
        0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 99, 0, 10, 10, 99, 0, 1,
    ]);
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}

fn main() {
    let a = args();
    let (ccfg, scfg) = configs(&a.mppe);
    let mut now = Instant::now();
    let creds = Arc::new(|u: &str| (u == "bench").then(|| Secret::new("bench pass")));
    let mut client = Link::new(
        GreChannel::new(1, 2, GreConfig::default()),
        Session::client(ccfg, now, rng(7)),
        SERVER,
    );
    let mut server = Link::new(
        GreChannel::new(2, 1, GreConfig::default()),
        Session::server(scfg, now, rng(11), creds),
        CLIENT,
    );
    for _ in 0..10_000 {
        if client.ppp.is_up() && server.ppp.is_up() {
            break;
        }
        now += Duration::from_millis(10);
        client.on_timeout(now);
        server.on_timeout(now);
        carry(&mut client, &mut server, now);
        carry(&mut server, &mut client, now);
    }
    assert!(
        client.ppp.is_up() && server.ppp.is_up(),
        "the in-memory link did not come up"
    );

    let pkt = packet(a.size);
    let (mut sent, mut delivered, mut bytes) = (0u64, 0u64, 0u64);
    let (mut t_client, mut t_server) = (Duration::ZERO, Duration::ZERO);
    let mut wire: Vec<Vec<u8>> = Vec::with_capacity(64);
    let mut intact = true;
    let start = Instant::now();
    while sent < a.packets && start.elapsed().as_secs_f64() < a.secs {
        // The client: frame, encrypt, GRE header; 64 packets per timing.
        let t = Instant::now();
        for _ in 0..64 {
            client.ppp.send_ip(&pkt).expect("the link is up");
            while let Some(g) = client.poll_gre(now) {
                wire.push(g);
            }
        }
        t_client += t.elapsed();
        sent += 64;
        // The server: GRE, decrypt, PPP; every packet must come out whole.
        let t = Instant::now();
        for g in wire.drain(..) {
            server.on_gre(now, &g);
            while let Some(ip) = server.ppp.poll_ip() {
                delivered += 1;
                bytes += ip.len() as u64;
                intact &= ip == pkt;
            }
        }
        t_server += t.elapsed();
    }
    assert_eq!(delivered, sent, "packets lost in memory");
    assert_eq!(bytes, sent * pkt.len() as u64, "packets changed in memory");
    assert!(intact, "packets changed in memory");
    let per = |t: Duration| t.as_secs_f64() * 1e6 / sent as f64;
    let gbit = |t: Duration| (bytes * 8) as f64 / t.as_secs_f64() / 1e9;
    println!(
        "{{\"mppe\":\"{}\",\"size\":{},\"packets\":{sent},\"send_us\":{:.3},\"send_gbit_per_core\":{:.3},\"receive_us\":{:.3},\"receive_gbit_per_core\":{:.3}}}",
        a.mppe,
        pkt.len(),
        per(t_client),
        gbit(t_client),
        per(t_server),
        gbit(t_server),
    );
}
