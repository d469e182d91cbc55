//! IPv6 Router Solicitation and Router Advertisement (RFC 4861 §4.1, §4.2)
//! as whole IPv6 packets, for the tunnel's two ends: the server announces
//! a session's /64 with Prefix Information (§4.6.2), MTU (§4.6.4) and
//! Recursive DNS Server (RFC 8106 §5.1) options; the client takes them for
//! SLAAC (RFC 4862 §5.5.3). PPP has no link-layer address, so no
//! link-layer address option is sent (RFC 5072 §5).

use std::net::Ipv6Addr;

use super::{put, read_u16, read_u32};

/// IPv6 fixed header length (RFC 8200 §3).
pub const IPV6_HEADER_LEN: usize = 40;
/// ICMPv6's Next Header value (RFC 4443 §1).
const ICMPV6: u8 = 58;
const ROUTER_SOLICITATION: u8 = 133;
const ROUTER_ADVERTISEMENT: u8 = 134;
/// Hop limit of every Neighbor Discovery packet, checked on receipt so
/// that none comes from beyond the link (RFC 4861 §6.1).
const ND_HOP_LIMIT: u8 = 255;
const OPT_PREFIX_INFO: u8 = 3;
const OPT_MTU: u8 = 5;
const OPT_RDNSS: u8 = 25;
/// MaxRtrAdvInterval's default (RFC 4861 §6.2.1); the router and DNS
/// lifetimes sent are 3 times it (RFC 8106 §5.1).
pub const MAX_RTR_ADV_INTERVAL_SECS: u32 = 600;
/// Most RDNSS addresses taken from or put in one advertisement.
pub const MAX_RDNSS: usize = 3;
/// Most Prefix Information options taken from one advertisement: a
/// server cannot make a client add addresses without end.
pub const MAX_PREFIXES: usize = 4;

/// `ff02::1`, all nodes (RFC 4291 §2.7.1).
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// `ff02::2`, all routers.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// An on-link, autonomous prefix (Prefix Information, L and A set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixInfo {
    pub prefix: Ipv6Addr,
    pub len: u8,
    /// Seconds; `u32::MAX` is infinity.
    pub valid: u32,
    pub preferred: u32,
    /// The A flag: hosts form addresses from it (RFC 4862 §5.5.3).
    pub autonomous: bool,
}

/// What a Router Advertisement says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouterAdvert {
    /// Seconds the sender is a default router; 0: not one (§4.2).
    pub router_lifetime: u16,
    pub prefixes: Vec<PrefixInfo>,
    pub mtu: Option<u32>,
    /// DNS servers with their lifetime in seconds (RFC 8106 §5.1).
    pub dns: Vec<Ipv6Addr>,
    pub dns_lifetime: u32,
}

/// Source and destination of an IPv6 packet.
pub fn addresses(pkt: &[u8]) -> Option<(Ipv6Addr, Ipv6Addr)> {
    if pkt.first()? >> 4 != 6 {
        return None;
    }
    let a = |at: usize| -> Option<Ipv6Addr> {
        let b: [u8; 16] = pkt.get(at..at.checked_add(16)?)?.try_into().ok()?;
        Some(Ipv6Addr::from(b))
    };
    Some((a(8)?, a(24)?))
}

/// The ICMPv6 checksum over the pseudo-header (RFC 8200 §8.1) and `msg`.
fn checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    let mut sum: u64 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = match c {
                [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                [hi] => u16::from_be_bytes([*hi, 0]),
                _ => 0,
            };
            sum = sum.wrapping_add(u64::from(w));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    add(&len.to_be_bytes());
    add(&[0, 0, 0, ICMPV6]);
    add(msg);
    while sum > 0xffff {
        sum = (sum & 0xffff).wrapping_add(sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// An IPv6 packet around the ICMPv6 message `msg` (its checksum is set).
fn ipv6_icmp(src: Ipv6Addr, dst: Ipv6Addr, mut msg: Vec<u8>) -> Vec<u8> {
    put(&mut msg, 2, &[0, 0]);
    let sum = checksum(src, dst, &msg);
    put(&mut msg, 2, &sum.to_be_bytes());
    let len = u16::try_from(msg.len()).unwrap_or(u16::MAX);
    let mut p = Vec::with_capacity(IPV6_HEADER_LEN.saturating_add(msg.len()));
    p.extend_from_slice(&[0x60, 0, 0, 0]);
    p.extend_from_slice(&len.to_be_bytes());
    p.extend_from_slice(&[ICMPV6, ND_HOP_LIMIT]);
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.extend_from_slice(&msg);
    p
}

/// A Router Solicitation from `src` to all routers (§4.1).
pub fn router_solicitation(src: Ipv6Addr) -> Vec<u8> {
    ipv6_icmp(
        src,
        ALL_ROUTERS,
        vec![ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0],
    )
}

/// The ICMPv6 message of an ND packet of `kind` that passes the checks of
/// RFC 4861 §6.1: no extension headers, hop limit 255, code 0, checksum,
/// whole length, and options of non-zero length.
fn nd_message(pkt: &[u8], kind: u8) -> Option<(Ipv6Addr, &[u8])> {
    let (src, dst) = addresses(pkt)?;
    let len = usize::from(read_u16(pkt, 4)?);
    if *pkt.get(6)? != ICMPV6 || *pkt.get(7)? != ND_HOP_LIMIT {
        return None;
    }
    let msg = pkt.get(IPV6_HEADER_LEN..IPV6_HEADER_LEN.checked_add(len)?)?;
    if msg.first() != Some(&kind) || msg.get(1) != Some(&0) || checksum(src, dst, msg) != 0 {
        return None;
    }
    Some((src, msg))
}

/// Whether `pkt` is a valid Router Solicitation.
pub fn is_router_solicitation(pkt: &[u8]) -> bool {
    nd_message(pkt, ROUTER_SOLICITATION).is_some_and(|(_, m)| m.len() >= 8)
}

/// A Router Advertisement from `src` (a link-local address) to `dst`.
pub fn router_advertisement(src: Ipv6Addr, dst: Ipv6Addr, ra: &RouterAdvert) -> Vec<u8> {
    let mut m = vec![ROUTER_ADVERTISEMENT, 0, 0, 0, 64, 0];
    m.extend_from_slice(&ra.router_lifetime.to_be_bytes());
    m.extend_from_slice(&[0; 8]); // Reachable Time, Retrans Timer: unspecified
    for p in &ra.prefixes {
        let flags = if p.autonomous { 0xc0 } else { 0x80 };
        m.extend_from_slice(&[OPT_PREFIX_INFO, 4, p.len, flags]);
        m.extend_from_slice(&p.valid.to_be_bytes());
        m.extend_from_slice(&p.preferred.to_be_bytes());
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(&p.prefix.octets());
    }
    if let Some(mtu) = ra.mtu {
        m.extend_from_slice(&[OPT_MTU, 1, 0, 0]);
        m.extend_from_slice(&mtu.to_be_bytes());
    }
    let dns: Vec<&Ipv6Addr> = ra.dns.iter().take(MAX_RDNSS).collect();
    if !dns.is_empty() {
        // Length in 8-octet units: 1 for the header, 2 per address.
        let units = u8::try_from(dns.len()).unwrap_or(0).saturating_mul(2);
        m.extend_from_slice(&[OPT_RDNSS, units.saturating_add(1), 0, 0]);
        m.extend_from_slice(&ra.dns_lifetime.to_be_bytes());
        for a in dns {
            m.extend_from_slice(&a.octets());
        }
    }
    ipv6_icmp(src, dst, m)
}

/// A valid Router Advertisement's source and content (§6.1.2: also from a
/// link-local source). Unknown options are skipped (§4.6); a malformed one
/// makes the whole packet invalid.
pub fn parse_router_advertisement(pkt: &[u8]) -> Option<(Ipv6Addr, RouterAdvert)> {
    let (src, msg) = nd_message(pkt, ROUTER_ADVERTISEMENT)?;
    if src.segments().first() != Some(&0xfe80) {
        return None;
    }
    let mut ra = RouterAdvert {
        router_lifetime: read_u16(msg, 6)?,
        ..RouterAdvert::default()
    };
    let mut opts = msg.get(16..)?;
    while !opts.is_empty() {
        let kind = *opts.first()?;
        let len = usize::from(*opts.get(1)?).checked_mul(8)?;
        if len == 0 {
            return None;
        }
        let (o, rest) = opts.split_at_checked(len)?;
        opts = rest;
        match kind {
            OPT_PREFIX_INFO if len == 32 => {
                let flags = *o.get(3)?;
                let b: [u8; 16] = o.get(16..32)?.try_into().ok()?;
                // Only on-link prefixes are of use on a point-to-point link.
                if flags & 0x80 != 0 && ra.prefixes.len() < MAX_PREFIXES {
                    ra.prefixes.push(PrefixInfo {
                        prefix: Ipv6Addr::from(b),
                        len: *o.get(2)?,
                        valid: read_u32(o, 4)?,
                        preferred: read_u32(o, 8)?,
                        autonomous: flags & 0x40 != 0,
                    });
                }
            }
            OPT_MTU if len == 8 => ra.mtu = Some(read_u32(o, 4)?),
            OPT_RDNSS if len >= 24 => {
                ra.dns_lifetime = read_u32(o, 4)?;
                for a in o.get(8..)?.chunks_exact(16).take(MAX_RDNSS) {
                    let b: [u8; 16] = a.try_into().ok()?;
                    ra.dns.push(Ipv6Addr::from(b));
                }
            }
            _ => {}
        }
    }
    Some((src, ra))
}

#[cfg(test)]
pub(crate) mod tests;
