//! An IPv4/TCP control segment as the helper sees it from NFQUEUE: parsed
//! with etherparse, patched in place, TCP checksum recomputed on the way out.
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use std::net::SocketAddrV4;

use etherparse::{IpNumber, Ipv4Slice, TcpSlice};

/// A parsed segment that owns its bytes.
#[derive(Debug, Clone)]
pub struct TcpPacket {
    data: Vec<u8>,
    ip_hlen: usize,
    payload_off: usize,
    payload_len: usize,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
    pub seq: u32,
    pub syn: bool,
    pub fin: bool,
    pub rst: bool,
    modified: bool,
}

impl TcpPacket {
    /// Parse an IPv4 packet carrying a whole TCP segment. Anything else
    /// (fragments, other protocols, broken headers) is handed back.
    pub fn parse(data: Vec<u8>) -> Result<TcpPacket, Vec<u8>> {
        let Ok(ip) = Ipv4Slice::from_slice(&data) else {
            return Err(data);
        };
        if ip.payload_ip_number() != IpNumber::TCP || ip.is_payload_fragmented() {
            return Err(data);
        }
        let ip_hlen = ip.header().slice().len();
        let (src_ip, dst_ip) = (ip.header().source_addr(), ip.header().destination_addr());
        let Ok(tcp) = TcpSlice::from_slice(ip.payload().payload) else {
            return Err(data);
        };
        let payload_off = ip_hlen.saturating_add(tcp.header_len());
        let payload_len = tcp.payload().len();
        let p = TcpPacket {
            ip_hlen,
            payload_off,
            payload_len,
            src: SocketAddrV4::new(src_ip, tcp.source_port()),
            dst: SocketAddrV4::new(dst_ip, tcp.destination_port()),
            seq: tcp.sequence_number(),
            syn: tcp.syn(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            modified: false,
            data,
        };
        Ok(p)
    }

    /// The TCP payload.
    /// The whole packet's length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn payload(&self) -> &[u8] {
        self.data.get(self.payload_range()).unwrap_or(&[])
    }

    /// Where the payload lies in `data` (inside it: checked by `parse`).
    fn payload_range(&self) -> std::ops::Range<usize> {
        self.payload_off..self.payload_off.saturating_add(self.payload_len)
    }

    /// Sequence number just past this segment's payload.
    pub fn end_seq(&self) -> u32 {
        self.seq.wrapping_add(self.payload_len as u32)
    }

    /// Write `bytes` at stream sequence number `at`, clipped to the part of
    /// the stream this segment carries. Returns whether anything changed.
    pub fn patch(&mut self, at: u32, bytes: &[u8]) -> bool {
        let mut changed = false;
        for (i, b) in bytes.iter().enumerate() {
            let pos = at.wrapping_add(i as u32).wrapping_sub(self.seq) as usize;
            if pos >= self.payload_len {
                continue;
            }
            if let Some(slot) = self.data.get_mut(self.payload_off.saturating_add(pos)) {
                if *slot != *b {
                    *slot = *b;
                    changed = true;
                }
            }
        }
        self.modified |= changed;
        changed
    }

    /// Whether any byte was patched.
    pub fn is_modified(&self) -> bool {
        self.modified
    }

    /// The packet bytes, with a fresh TCP checksum if it was patched.
    pub fn into_bytes(mut self) -> Vec<u8> {
        if self.modified {
            let sum = {
                let seg = self.data.get(self.ip_hlen..self.payload_range().end);
                seg.and_then(|seg| TcpSlice::from_slice(seg).ok())
                    .and_then(|t| {
                        t.calc_checksum_ipv4(self.src.ip().octets(), self.dst.ip().octets())
                            .ok()
                    })
            };
            if let Some(sum) = sum {
                // The TCP checksum field, 16 bytes into the TCP header.
                crate::wire::put(
                    &mut self.data,
                    self.ip_hlen.saturating_add(16),
                    &sum.to_be_bytes(),
                );
            }
        }
        self.data
    }
}

/// Build an IPv4/TCP packet with valid checksums (tests).
#[cfg(test)]
pub fn build_segment(
    src: SocketAddrV4,
    dst: SocketAddrV4,
    seq: u32,
    flags: (bool, bool, bool),
    payload: &[u8],
) -> Vec<u8> {
    let (syn, fin, rst) = flags;
    let b = etherparse::PacketBuilder::ipv4(src.ip().octets(), dst.ip().octets(), 64);
    let mut b = b.tcp(src.port(), dst.port(), seq, 65535).ack(1);
    if syn {
        b = b.syn();
    }
    if fin {
        b = b.fin();
    }
    if rst {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    // Writing into a Vec cannot fail for sizes under 64 KiB.
    let _ = b.write(&mut out, payload);
    out
}

/// Whether a TCP checksum verifies (tests).
#[cfg(test)]
pub fn checksum_ok(data: &[u8]) -> bool {
    let Ok(ip) = Ipv4Slice::from_slice(data) else {
        return false;
    };
    let Ok(tcp) = TcpSlice::from_slice(ip.payload().payload) else {
        return false;
    };
    let s = ip.header().source_addr();
    let d = ip.header().destination_addr();
    tcp.calc_checksum_ipv4(s.octets(), d.octets()).ok() == Some(tcp.checksum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn patch_clips_to_segment_and_fixes_checksum() {
        let a = SocketAddrV4::new(Ipv4Addr::new(192, 168, 1, 10), 40000);
        let b = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, 10), 1723);
        let pkt = build_segment(a, b, 1000, (false, false, false), &[1, 2, 3, 4]);
        assert!(checksum_ok(&pkt));
        let mut p = TcpPacket::parse(pkt).unwrap();
        assert_eq!((p.src, p.dst, p.seq, p.end_seq()), (a, b, 1000, 1004));
        assert!(!p.patch(1004, &[9, 9]), "past the end");
        assert!(p.patch(1003, &[7, 7]), "straddles the end");
        assert!(p.patch(999, &[8, 6]), "straddles the start");
        assert_eq!(p.payload(), &[6, 2, 3, 7]);
        let out = p.into_bytes();
        assert!(checksum_ok(&out));
    }

    #[test]
    fn non_tcp_is_handed_back() {
        let v = vec![
            0x45u8, 0, 0, 20, 0, 0, 0, 0, 64, 47, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        assert!(TcpPacket::parse(v).is_err());
        assert!(TcpPacket::parse(vec![1, 2, 3]).is_err());
    }
}
