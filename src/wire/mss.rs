//! TCP MSS clamping for IPv4 and IPv6 packets crossing a tunnel.
//!
//! A tunnel's MTU is smaller than the LAN's and ICMP "fragmentation needed"
//! is often filtered, so TCP connections stall on full-size segments. The
//! fix routers use: lower the MSS option (RFC 9293 §3.7.1) in SYN segments
//! to what fits the tunnel. Checksums are recomputed by etherparse.

use etherparse::{Ipv4HeaderSlice, Ipv6HeaderSlice, TcpHeader};

use super::{put, read_u16};

/// The MSS that fits an interface of `mtu` bytes (IPv4 20 + TCP 20).
pub fn mss_for_mtu(mtu: u16) -> u16 {
    mtu.saturating_sub(40)
}

/// The IPv6 header is 20 bytes longer than IPv4's (RFC 8200 §3).
const IPV6_EXTRA: u16 = 20;

/// Lower the MSS option of a TCP SYN in `pkt` (a whole IPv4 or IPv6
/// packet) to at most `max`, the IPv4 MSS of [`mss_for_mtu`]; an IPv6 SYN
/// gets 20 less, for its longer header. True if the packet was changed.
/// Anything that is not an unfragmented TCP SYN with a well-formed MSS
/// option (for IPv6: TCP right after the fixed header) is left alone.
pub fn clamp_mss(pkt: &mut [u8], max: u16) -> bool {
    match pkt.first().map(|b| b >> 4) {
        Some(4) => clamp_mss_v4(pkt, max),
        Some(6) => clamp_mss_v6(pkt, max.saturating_sub(IPV6_EXTRA)),
        _ => false,
    }
}

fn clamp_mss_v6(pkt: &mut [u8], max: u16) -> bool {
    let Ok(ip) = Ipv6HeaderSlice::from_slice(pkt) else {
        return false;
    };
    if ip.next_header() != etherparse::IpNumber::TCP {
        return false;
    }
    let (src, dst) = (ip.source(), ip.destination());
    let Some(end) = usize::from(ip.payload_length()).checked_add(40) else {
        return false;
    };
    lower(pkt, 40, end, max, |tcp, payload| {
        tcp.calc_checksum_ipv6_raw(src, dst, payload).ok()
    })
}

fn clamp_mss_v4(pkt: &mut [u8], max: u16) -> bool {
    let Ok(ip) = Ipv4HeaderSlice::from_slice(pkt) else {
        return false;
    };
    if ip.protocol() != etherparse::IpNumber::TCP
        || ip.is_fragmenting_payload()
        || usize::from(ip.total_len()) > pkt.len()
    {
        return false;
    }
    let (src, dst) = (ip.source(), ip.destination());
    let ihl = ip.slice().len();
    let end = usize::from(ip.total_len());
    lower(pkt, ihl, end, max, |tcp, payload| {
        tcp.calc_checksum_ipv4_raw(src, dst, payload).ok()
    })
}

/// Lower the MSS of the TCP SYN at `pkt[ihl..end]` and set its checksum
/// with `sum` (which knows the IP pseudo-header).
fn lower(
    pkt: &mut [u8],
    ihl: usize,
    end: usize,
    max: u16,
    sum: impl Fn(&TcpHeader, &[u8]) -> Option<u16>,
) -> bool {
    let Some(Ok((tcp, _))) = pkt.get(ihl..end).map(TcpHeader::from_slice) else {
        return false;
    };
    if !tcp.syn {
        return false;
    }
    let opts = ihl.saturating_add(20)..ihl.saturating_add(tcp.header_len());
    let Some(at) = pkt
        .get(opts.clone())
        .and_then(find_mss)
        .map(|o| opts.start.saturating_add(o))
    else {
        return false;
    };
    match read_u16(pkt, at) {
        Some(mss) if mss > max => put(pkt, at, &max.to_be_bytes()),
        _ => return false,
    }
    let Some(Ok((tcp, payload))) = pkt.get(ihl..end).map(TcpHeader::from_slice) else {
        return false;
    };
    let Some(sum) = sum(&tcp, payload) else {
        return false;
    };
    // The TCP checksum field, 16 bytes into the TCP header.
    put(pkt, ihl.saturating_add(16), &sum.to_be_bytes());
    true
}

/// Offset of the MSS value (kind 2, length 4) inside TCP options.
fn find_mss(opts: &[u8]) -> Option<usize> {
    let mut i = 0usize;
    while let Some(&kind) = opts.get(i) {
        match kind {
            0 => return None,
            1 => i = i.checked_add(1)?,
            kind => {
                let len = usize::from(*opts.get(i.checked_add(1)?)?);
                let next = i.checked_add(len)?;
                if len < 2 || next > opts.len() {
                    return None;
                }
                if kind == 2 && len == 4 {
                    return i.checked_add(2);
                }
                i = next;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn syn(mss: Option<u16>, syn: bool) -> Vec<u8> {
        let mut tcp = TcpHeader::new(40000, 80, 1, 65535);
        tcp.syn = syn;
        tcp.ack = !syn;
        if let Some(m) = mss {
            tcp.set_options(&[
                etherparse::TcpOptionElement::Noop,
                etherparse::TcpOptionElement::MaximumSegmentSize(m),
                etherparse::TcpOptionElement::Noop,
                etherparse::TcpOptionElement::Noop,
            ])
            .unwrap();
        }
        let b = PacketBuilder::ipv4([192, 168, 1, 10], [10, 0, 0, 1], 64).tcp_header(tcp);
        let mut out = Vec::new();
        b.write(&mut out, &[]).unwrap();
        out
    }

    fn parsed(pkt: &[u8]) -> (u16, bool) {
        let s = etherparse::SlicedPacket::from_ip(pkt).unwrap();
        let Some(etherparse::TransportSlice::Tcp(t)) = s.transport else {
            panic!("not tcp")
        };
        let ip = Ipv4HeaderSlice::from_slice(pkt).unwrap();
        let hdr = t.to_header();
        let ok = hdr.calc_checksum_ipv4_raw(ip.source(), ip.destination(), &[]) == Ok(t.checksum());
        let mss = t
            .options_iterator()
            .find_map(|o| match o {
                Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
                _ => None,
            })
            .unwrap_or(0);
        (mss, ok)
    }

    #[test]
    fn syn_above_the_limit_is_lowered_with_a_valid_checksum() {
        let mut p = syn(Some(1460), true);
        assert!(clamp_mss(&mut p, mss_for_mtu(1400)));
        assert_eq!(parsed(&p), (1360, true));
    }

    #[test]
    fn ipv6_syn_is_lowered_20_bytes_more_with_a_valid_checksum() {
        let mut tcp = TcpHeader::new(40000, 80, 1, 65535);
        tcp.syn = true;
        tcp.set_options(&[etherparse::TcpOptionElement::MaximumSegmentSize(1440)])
            .unwrap();
        let (src, dst) = (
            [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 2],
            [0xfd; 16],
        );
        let b = PacketBuilder::ipv6(src, dst, 64).tcp_header(tcp);
        let mut p = Vec::new();
        b.write(&mut p, &[]).unwrap();
        assert!(clamp_mss(&mut p, mss_for_mtu(1400)));
        let read = p.clone();
        let s = etherparse::SlicedPacket::from_ip(&read).unwrap();
        let Some(etherparse::TransportSlice::Tcp(t)) = s.transport else {
            panic!("not tcp")
        };
        let mss = t.options_iterator().find_map(|o| match o {
            Ok(etherparse::TcpOptionElement::MaximumSegmentSize(m)) => Some(m),
            _ => None,
        });
        // 1400 - 40 (IPv6) - 20 (TCP).
        assert_eq!(mss, Some(1340));
        let want = t.to_header().calc_checksum_ipv6_raw(src, dst, &[]).unwrap();
        assert_eq!(t.checksum(), want);
        // Already small enough: untouched.
        let before = p.clone();
        assert!(!clamp_mss(&mut p, mss_for_mtu(1400)));
        assert_eq!(p, before);
    }

    #[test]
    fn small_mss_non_syn_and_missing_option_are_left_alone() {
        for (mss, is_syn) in [(Some(1200), true), (Some(1460), false), (None, true)] {
            let mut p = syn(mss, is_syn);
            let before = p.clone();
            assert!(!clamp_mss(&mut p, 1360));
            assert_eq!(p, before);
        }
    }

    #[test]
    fn garbage_and_truncated_packets_never_panic() {
        let p = syn(Some(1460), true);
        for n in 0..p.len() {
            let mut t = p[..n].to_vec();
            assert!(!clamp_mss(&mut t, 1000));
        }
        for seed in 0..2000u32 {
            let mut g: Vec<u8> = (0..64)
                .map(|i| (seed.wrapping_mul(2654435761) >> (i % 24)) as u8)
                .collect();
            g[0] = 0x45;
            let _ = clamp_mss(&mut g, 500);
        }
        // Options with a lying length.
        assert_eq!(find_mss(&[3, 40, 2, 4, 5, 0]), None);
        assert_eq!(find_mss(&[1, 1, 2, 4, 5, 0xb4]), Some(4));
    }
}
