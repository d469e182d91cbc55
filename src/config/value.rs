//! Parsers for single option values. Each returns `None` for a malformed
//! value; the caller reports it with the matching `EXPECT_*` text.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use super::model::{
    AuthMethod, Backend, DataPath, GreGuard, Host, Ipv4Prefix, Ipv6Prefix, KeyBits, Mppe,
    RoutePrefix, Routes,
};

pub const EXPECT_BOOL: &str = "a boolean ('1', '0', 'true', 'false', 'yes', 'no', 'on' or 'off')";
pub const EXPECT_U16: &str = "a whole number from 0 to 65535";
pub const EXPECT_U32: &str = "a whole number from 0 to 4294967295";
pub const EXPECT_SECS: &str = "a whole number of seconds from 0 to 4294967295";
pub const EXPECT_SECS_POS: &str = "a whole number of seconds from 1 to 4294967295";
pub const EXPECT_IPV4: &str = "an IPv4 address a.b.c.d";
pub const EXPECT_ROUTE: &str =
    "an IPv4 prefix a.b.c.d/len or an IPv6 prefix such as 2001:db8::/32 (no host bits set)";
pub const EXPECT_PREFIX6_POOL: &str =
    "an IPv6 prefix of length 32 to 64 with no host bits set, such as 2001:db8:1::/48";
pub const EXPECT_IPV6: &str = "an IPv6 address such as 2001:db8::53";
pub const EXPECT_RADIUS_SERVER: &str =
    "an IPv4 address with optional ports, ADDRESS[:AUTHPORT[:ACCTPORT]] (1812 and 1813 by default)";
pub const EXPECT_SECRET: &str = "a shared secret of 1 to 128 characters";
pub const EXPECT_NAS_ID: &str = "1 to 64 printable characters";
pub const EXPECT_HOST: &str = "a DNS name or an IPv4 address";
pub const EXPECT_IFNAME: &str = "an interface name (1-15 characters, no '/', ':' or whitespace)";
pub const EXPECT_PATH: &str = "an absolute path";
pub const EXPECT_BACKEND: &str = "'auto', 'nft' or 'xtables'";
pub const EXPECT_DATA_PATH: &str = "'tun', 'kernel' or 'auto'";
pub const EXPECT_GRE_GUARD: &str = "'auto', 'flow' or 'raw'";
pub const EXPECT_AUTH: &str = "'mschapv2', 'mschapv1', 'chap' or 'pap'";
pub const EXPECT_MPPE: &str = "'require-128', 'require', 'optional' or 'none'";
pub const EXPECT_BITS: &str = "'40', '56' or '128'";
pub const EXPECT_ROUTES: &str = "'none', 'default' or 'prefixes'";
pub const EXPECT_USER: &str = "a user name of 1 to 255 bytes without control characters";
pub const EXPECT_MTU: &str = "an MTU from 576 to 1500";

/// OpenWrt's `config_get_bool` spellings (case-insensitive here).
pub fn bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Plain decimal digits only: `str::parse` would also take a `+` sign.
fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

pub fn u16(s: &str) -> Option<u16> {
    digits(s)?.parse().ok()
}

pub fn u32(s: &str) -> Option<u32> {
    digits(s)?.parse().ok()
}

/// Seconds as a `u32`, so that every accepted value also fits the kernel's
/// 32-bit timeouts.
pub fn secs(s: &str) -> Option<Duration> {
    u32(s).map(|n| Duration::from_secs(n.into()))
}

/// Seconds, at least one: for timers where zero would spin or expire
/// everything at once.
pub fn secs_pos(s: &str) -> Option<Duration> {
    secs(s).filter(|d| !d.is_zero())
}

/// Dotted quad; the standard parser already rejects leading zeros, which
/// other tools would read as octal.
pub fn ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

pub fn prefix(s: &str) -> Option<Ipv4Prefix> {
    let (addr, len) = s.split_once('/')?;
    Ipv4Prefix::new(ipv4(addr)?, u8::try_from(u32(len)?).ok()?)
}

/// `ADDRESS[:AUTHPORT[:ACCTPORT]]`; ports from 1.
pub fn radius_server(s: &str) -> Option<super::model::RadiusServer> {
    let mut it = s.split(':');
    let addr = ipv4(it.next()?)?;
    let port = |p: Option<&str>, d: u16| match p {
        None => Some(d),
        Some(p) => u16(p).filter(|p| *p > 0),
    };
    let auth_port = port(it.next(), 1812)?;
    let acct_port = port(it.next(), 1813)?;
    it.next().is_none().then_some(super::model::RadiusServer {
        addr,
        auth_port,
        acct_port,
    })
}

/// A RADIUS shared secret.
pub fn secret(s: &str) -> Option<String> {
    (1..=128)
        .contains(&s.chars().count())
        .then(|| s.to_string())
}

/// A NAS-Identifier (RFC 2865 §5.32): printable, short.
pub fn nas_id(s: &str) -> Option<String> {
    (!s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_graphic() || c == ' '))
        .then(|| s.to_string())
}

/// An IPv6 address.
pub fn ipv6(s: &str) -> Option<std::net::Ipv6Addr> {
    s.parse().ok()
}

/// `addr/len` for IPv6.
pub fn prefix6(s: &str) -> Option<Ipv6Prefix> {
    let (addr, len) = s.split_once('/')?;
    Ipv6Prefix::new(ipv6(addr)?, u8::try_from(u32(len)?).ok()?)
}

/// A `list route` entry: an IPv4 or an IPv6 prefix.
pub fn route(s: &str) -> Option<RoutePrefix> {
    prefix(s)
        .map(RoutePrefix::V4)
        .or_else(|| prefix6(s).map(RoutePrefix::V6))
}

/// The server's IPv6 prefix pool: /32 to /64, so that /64s can be cut.
pub fn prefix6_pool(s: &str) -> Option<Ipv6Prefix> {
    prefix6(s).filter(|p| (32..=64).contains(&p.prefix_len()))
}

/// An IPv4 address, or a DNS name by RFC 1123 rules. An all-numeric last
/// label is refused so that a mistyped address is not taken for a name.
pub fn host(s: &str) -> Option<Host> {
    if let Some(ip) = ipv4(s) {
        return Some(Host::Ip(ip));
    }
    let name = s.strip_suffix('.').unwrap_or(s);
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let last = name.rsplit('.').next()?;
    (name.split('.').all(label_ok) && !last.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Host::Name(s.to_string()))
}

/// What Linux's `dev_valid_name` accepts (also fits OpenWrt logical
/// interface names).
pub fn ifname(s: &str) -> Option<String> {
    let ok = (1..16).contains(&s.len())
        && s != "."
        && s != ".."
        && !s
            .bytes()
            .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace())
        && !s.chars().any(char::is_control);
    ok.then(|| s.to_string())
}

/// Absolute, so the meaning does not depend on the daemon's working
/// directory; no NUL, which no path can hold.
pub fn path(s: &str) -> Option<PathBuf> {
    (s.starts_with('/') && !s.contains('\0')).then(|| PathBuf::from(s))
}

/// PAP carries the name in a 1-byte length field.
pub fn username(s: &str) -> Option<String> {
    ((1..=255).contains(&s.len()) && !s.chars().any(char::is_control)).then(|| s.to_string())
}

/// From IPv4's 576-byte minimum up to Ethernet's 1500; the 1400 default
/// leaves room for the outer IP, GRE and PPP headers.
pub fn mtu(s: &str) -> Option<u16> {
    u16(s).filter(|m| (576..=1500).contains(m))
}

pub fn data_path(s: &str) -> Option<DataPath> {
    Some(match s {
        "tun" => DataPath::Tun,
        "kernel" => DataPath::Kernel,
        "auto" => DataPath::Auto,
        _ => return None,
    })
}

pub fn gre_guard(s: &str) -> Option<GreGuard> {
    Some(match s {
        "auto" => GreGuard::Auto,
        "flow" => GreGuard::Flow,
        "raw" => GreGuard::Raw,
        _ => return None,
    })
}

pub fn backend(s: &str) -> Option<Backend> {
    Some(match s {
        "auto" => Backend::Auto,
        "nft" => Backend::Nft,
        "xtables" => Backend::Xtables,
        _ => return None,
    })
}

pub fn auth(s: &str) -> Option<AuthMethod> {
    Some(match s {
        "mschapv2" => AuthMethod::MsChapV2,
        "mschapv1" => AuthMethod::MsChapV1,
        "chap" => AuthMethod::Chap,
        "pap" => AuthMethod::Pap,
        _ => return None,
    })
}

pub fn mppe(s: &str) -> Option<Mppe> {
    Some(match s {
        "require-128" => Mppe::Require128,
        "require" => Mppe::Require,
        "optional" => Mppe::Optional,
        "none" => Mppe::None,
        _ => return None,
    })
}

pub fn bits(s: &str) -> Option<KeyBits> {
    Some(match s {
        "40" => KeyBits::B40,
        "56" => KeyBits::B56,
        "128" => KeyBits::B128,
        _ => return None,
    })
}

pub fn routes_kind(s: &str) -> Option<Routes> {
    Some(match s {
        "none" => Routes::None,
        "default" => Routes::Default,
        "prefixes" => Routes::Prefixes(Vec::new()),
        _ => return None,
    })
}
