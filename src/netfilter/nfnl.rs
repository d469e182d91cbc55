//! nfnetlink framing shared by the nf_tables batches (`nlmsg`) and the
//! NFQUEUE messages (`nfqmsg`): the netlink header and attribute headers in
//! the host's byte order (netlink(7)), then `struct nfgenmsg` whose
//! `res_id` is big-endian (linux/netfilter/nfnetlink.h). Payloads of the
//! netfilter attributes themselves are big-endian; each caller encodes them.
//
// Offsets and lengths here come from peer bytes: no silent wrap-around.
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

use netlink_packet_core::{Emitable, NLA_F_NESTED, NetlinkBuffer, NetlinkHeader, Nla};

pub const NLM_F_REQUEST: u16 = 1;
pub const NLM_F_ACK: u16 = 4;
pub const NLM_F_CREATE: u16 = 0x400;
/// NLM_F_ROOT | NLM_F_MATCH: every object of the request's kind.
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
/// Length of `struct nlmsghdr` plus `struct nfgenmsg`.
pub const HEADERS: usize = 16 + 4;

/// An attribute: bytes, or nested attributes.
#[derive(Debug, Clone)]
pub enum Attr {
    Bytes(u16, Vec<u8>),
    Nested(u16, Vec<Attr>),
}

impl Nla for Attr {
    fn value_len(&self) -> usize {
        match self {
            Attr::Bytes(_, v) => v.len(),
            Attr::Nested(_, v) => v.iter().map(Emitable::buffer_len).sum(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            Attr::Bytes(k, _) => *k,
            Attr::Nested(k, _) => *k | NLA_F_NESTED,
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            Attr::Bytes(_, v) => buffer.copy_from_slice(v),
            Attr::Nested(_, v) => {
                let mut rest = buffer;
                for a in v {
                    let Some((this, tail)) = rest.split_at_mut_checked(a.buffer_len()) else {
                        return; // the caller sized the buffer from value_len
                    };
                    a.emit(this);
                    rest = tail;
                }
            }
        }
    }
}

/// A NUL-terminated string attribute.
pub fn string(kind: u16, s: &str) -> Attr {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    Attr::Bytes(kind, v)
}

/// A string attribute's text: up to its first NUL.
pub fn string_of(v: &[u8]) -> String {
    let v = v.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(v).into_owned()
}

/// A `comment "…"` of a rule or set element as nft stores it: user data
/// in libnftnl's TLV (NFTNL_UDATA_RULE_COMMENT and _SET_ELEM_COMMENT are
/// both type 0): type, length with the NUL, text, NUL. nft keeps comments
/// short; longer text is cut at 126 bytes so the length fits its byte.
pub fn udata_comment(kind: u16, text: &str) -> Attr {
    let text = text.as_bytes();
    let text = text.get(..126).unwrap_or(text);
    let mut v = vec![0, text.len().saturating_add(1) as u8];
    v.extend(text);
    v.push(0);
    Attr::Bytes(kind, v)
}

/// The text of the comment in user data written like [`udata_comment`]
/// (its TLVs walked until type 0); None when there is none or it is cut.
pub fn udata_comment_text(v: &[u8]) -> Option<String> {
    let mut rest = v;
    while let [ty, len, tail @ ..] = rest {
        let value = tail.get(..usize::from(*len))?;
        if *ty == 0 {
            return Some(string_of(value));
        }
        rest = tail.get(usize::from(*len)..)?;
    }
    None
}

/// A big-endian 32-bit attribute (NLA_BE32, as netfilter's are).
pub fn be32(kind: u16, v: u32) -> Attr {
    Attr::Bytes(kind, v.to_be_bytes().to_vec())
}

/// What goes after the netlink header: `struct nfgenmsg`.
#[derive(Debug, Clone, Copy)]
pub struct NfGen {
    pub family: u8,
    /// Resource id: the subsystem on batch markers, the queue number on
    /// NFQUEUE messages (big-endian on the wire).
    pub res_id: u16,
}

const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;

/// One transaction of subsystem `subsys`: `msgs` (type, flags,
/// attributes, each with `nfgen`) between NFNL_MSG_BATCH_BEGIN and _END,
/// whose nfgenmsg names the subsystem. Sequence numbers from `seq`; only
/// the last message asks for the acknowledgement (a failing message is
/// reported anyway, before it).
pub fn transaction(subsys: u16, msgs: &[(u16, u16, Vec<Attr>)], nfgen: NfGen, seq: u32) -> Vec<u8> {
    let marker = NfGen {
        family: 0,
        res_id: subsys,
    };
    let mut out = Vec::new();
    let mut s = seq;
    message(
        &mut out,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        s,
        marker,
        &[],
    );
    for (i, (ty, flags, attrs)) in msgs.iter().enumerate() {
        s = s.wrapping_add(1);
        let ack = if i.saturating_add(1) == msgs.len() {
            NLM_F_ACK
        } else {
            0
        };
        message(&mut out, *ty, flags | ack, s, nfgen, attrs);
    }
    s = s.wrapping_add(1);
    message(&mut out, NFNL_MSG_BATCH_END, NLM_F_REQUEST, s, marker, &[]);
    out
}

/// A dump request (NLM_F_REQUEST | NLM_F_DUMP) of message type `ty`.
pub fn dump_request(ty: u16, seq: u32, nfgen: NfGen, attrs: &[Attr]) -> Vec<u8> {
    let mut out = Vec::new();
    message(&mut out, ty, NLM_F_REQUEST | NLM_F_DUMP, seq, nfgen, attrs);
    out
}

/// Append one netlink message: header, nfgenmsg, attributes.
pub fn message(out: &mut Vec<u8>, ty: u16, flags: u16, seq: u32, nfgen: NfGen, attrs: &[Attr]) {
    let body = attrs
        .iter()
        .map(Emitable::buffer_len)
        .fold(0usize, usize::saturating_add);
    let mut hdr = NetlinkHeader::default();
    hdr.length = u32::try_from(HEADERS.saturating_add(body)).unwrap_or(u32::MAX);
    hdr.message_type = ty;
    hdr.flags = flags;
    hdr.sequence_number = seq;
    emit_into(out, &hdr);
    out.extend_from_slice(&[nfgen.family, 0]); // NFNETLINK_V0
    out.extend_from_slice(&nfgen.res_id.to_be_bytes());
    for a in attrs {
        emit_into(out, a);
    }
}

/// Append what `e` emits.
fn emit_into(out: &mut Vec<u8>, e: &impl Emitable) {
    let start = out.len();
    out.resize(start.saturating_add(e.buffer_len()), 0);
    if let Some(b) = out.get_mut(start..) {
        e.emit(b);
    }
}

/// The netlink messages in one datagram, in order (each padded to 4
/// bytes, netlink(7)); the walk stops at the first malformed header. Never
/// panics on short or bad input.
pub fn each_message(buf: &[u8]) -> impl Iterator<Item = NetlinkBuffer<&[u8]>> {
    let (mut at, mut stuck) = (0usize, false);
    std::iter::from_fn(move || {
        if stuck {
            return None;
        }
        let m = NetlinkBuffer::new_checked(buf.get(at..)?).ok()?;
        let len = m.length() as usize;
        // A zero length would never move on.
        stuck = len == 0;
        at = at.saturating_add(len.saturating_add(3) & !3);
        Some(m)
    })
}

/// The errno of an NLMSG_ERROR message (`struct nlmsgerr`: 0 for an
/// acknowledgement, else negative; a truncated one reads as -1), or None
/// for any other message.
pub fn error_code(m: &NetlinkBuffer<&[u8]>) -> Option<i32> {
    (m.message_type() == NLMSG_ERROR).then(|| {
        m.payload()
            .get(..4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map_or(-1, i32::from_ne_bytes)
    })
}

/// What one datagram of a dump holds.
#[derive(Debug, PartialEq, Eq)]
pub struct Dump<T> {
    /// What `item` read from each message of the dumped kind (the ones it
    /// could not read are skipped).
    pub items: Vec<T>,
    /// The dump ended (NLMSG_DONE).
    pub done: bool,
    /// The first error (a negative errno).
    pub error: Option<i32>,
}

impl<T> Default for Dump<T> {
    fn default() -> Self {
        Dump {
            items: Vec::new(),
            done: false,
            error: None,
        }
    }
}

/// Read one datagram of a dump of messages of type `ty`: `item` gets each
/// one's attributes (after `struct nfgenmsg`). Never panics on short or
/// bad input.
pub fn read_dump<T>(buf: &[u8], ty: u16, item: impl Fn(&[u8]) -> Option<T>) -> Dump<T> {
    read_dump_family(buf, ty, |_, attrs| item(attrs))
}

/// [`read_dump`] where `item` also gets each message's family (the
/// `nfgen_family` of `struct nfgenmsg`: a table's, in an nf_tables dump).
pub fn read_dump_family<T>(buf: &[u8], ty: u16, item: impl Fn(u8, &[u8]) -> Option<T>) -> Dump<T> {
    let mut d = Dump::default();
    for m in each_message(buf) {
        if let Some(code) = error_code(&m) {
            if code != 0 {
                d.error = d.error.or(Some(code));
            }
        } else if m.message_type() == NLMSG_DONE {
            d.done = true;
        } else if m.message_type() == ty {
            let p = m.payload();
            let x = p
                .first()
                .zip(p.get(HEADERS - 16..))
                .and_then(|(&family, attrs)| item(family, attrs));
            if let Some(x) = x {
                d.items.push(x);
            }
        }
    }
    d
}

/// Read the acknowledgements in `buf`: the number seen and the first error
/// (a negative errno) if any. Never panics on short or bad input.
pub fn acks(buf: &[u8]) -> (u32, Option<i32>) {
    let (mut seen, mut err) = (0, None);
    for code in each_message(buf).filter_map(|m| error_code(&m)) {
        seen = u32::saturating_add(seen, 1);
        if code != 0 && err.is_none() {
            err = Some(code);
        }
    }
    (seen, err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_walks_padded_messages_and_stops_at_garbage() {
        let nfgen = NfGen {
            family: 2,
            res_id: 0,
        };
        let mut b = Vec::new();
        message(&mut b, 0x0a06, NLM_F_REQUEST, 1, nfgen, &[]);
        // The first claims 18 bytes: the next starts at 20, its padded end.
        b[..4].copy_from_slice(&18u32.to_ne_bytes());
        message(&mut b, 0x0a07, NLM_F_REQUEST, 2, nfgen, &[]);
        let seqs =
            |b: &[u8]| -> Vec<u32> { each_message(b).map(|m| m.sequence_number()).collect() };
        assert_eq!(seqs(&b), [1, 2]);
        b.extend([0xff; 7]);
        assert_eq!(seqs(&b), [1, 2], "a short tail is no message");
        assert!(seqs(&b[..15]).is_empty());
        assert!(seqs(&[]).is_empty());
        let ack = |code: i32| {
            let mut v = vec![0u8; 36];
            v[..4].copy_from_slice(&36u32.to_ne_bytes());
            v[4..6].copy_from_slice(&2u16.to_ne_bytes());
            v[16..20].copy_from_slice(&code.to_ne_bytes());
            v
        };
        let codes =
            |b: &[u8]| -> Vec<Option<i32>> { each_message(b).map(|m| error_code(&m)).collect() };
        let mut both = ack(-2);
        both.extend(&b[..20]);
        assert_eq!(codes(&both), [Some(-2), None]);
    }

    #[test]
    fn comments_are_libnftnl_user_data_cut_to_fit_their_length_byte() {
        let Attr::Bytes(7, v) = udata_comment(7, "queue 3") else {
            panic!("not a plain attribute of kind 7");
        };
        assert_eq!(v, b"\x00\x08queue 3\x00");
        let Attr::Bytes(_, v) = udata_comment(6, &"x".repeat(300)) else {
            panic!("not a plain attribute");
        };
        assert_eq!((v.len(), v[1], v[v.len() - 1]), (129, 127, 0));
    }

    #[test]
    fn acks_count_and_first_error() {
        // struct nlmsgerr after the header: error (host order), then the
        // header of the message it answers; all host order.
        let ack = |code: i32| {
            let mut v = vec![0u8; 36];
            v[..4].copy_from_slice(&36u32.to_ne_bytes());
            v[4..6].copy_from_slice(&2u16.to_ne_bytes());
            v[16..20].copy_from_slice(&code.to_ne_bytes());
            v
        };
        let mut b = ack(0);
        b.extend(ack(-2));
        b.extend(ack(-17));
        assert_eq!(acks(&b), (3, Some(-2)));
        assert_eq!(acks(&ack(0)), (1, None));
        assert_eq!(acks(&[1, 2, 3]), (0, None));
    }

    /// One message with a nested attribute, its bytes pinned for each byte
    /// order: length, type, flags, seq and pid in the host's order, res_id
    /// big-endian, attribute headers in the host's order.
    #[test]
    fn framing_bytes_per_host_byte_order() {
        let mut out = Vec::new();
        let nfgen = NfGen {
            family: 2,
            res_id: 0x0102,
        };
        let attrs = [Attr::Nested(3, vec![be32(1, 0x0a0b_0c0d)])];
        message(
            &mut out,
            0x0a0c,
            NLM_F_REQUEST | NLM_F_ACK,
            0x1122_3344,
            nfgen,
            &attrs,
        );
        #[cfg(target_endian = "little")]
        let want: [u8; 32] = [
            32, 0, 0, 0, // nlmsg_len
            0x0c, 0x0a, // nlmsg_type
            5, 0, // nlmsg_flags
            0x44, 0x33, 0x22, 0x11, // nlmsg_seq
            0, 0, 0, 0, // nlmsg_pid
            2, 0, 0x01, 0x02, // nfgenmsg: family, version, res_id (big-endian)
            12, 0, 3, 0x80, // nla_len 12, nla_type 3 | NLA_F_NESTED
            8, 0, 1, 0, // nla_len 8, nla_type 1
            0x0a, 0x0b, 0x0c, 0x0d, // the value, big-endian
        ];
        #[cfg(target_endian = "big")]
        let want: [u8; 32] = [
            0, 0, 0, 32, // nlmsg_len
            0x0a, 0x0c, // nlmsg_type
            0, 5, // nlmsg_flags
            0x11, 0x22, 0x33, 0x44, // nlmsg_seq
            0, 0, 0, 0, // nlmsg_pid
            2, 0, 0x01, 0x02, // nfgenmsg: family, version, res_id (big-endian)
            0, 12, 0x80, 3, // nla_len 12, nla_type 3 | NLA_F_NESTED
            0, 8, 0, 1, // nla_len 8, nla_type 1
            0x0a, 0x0b, 0x0c, 0x0d, // the value, big-endian
        ];
        assert_eq!(out, want);
    }
}
