//! The GRE data channel (RFC 2637 §4.1-§4.4) on simulated time.

use std::time::{Duration, Instant};

use super::testutil::Lcg;
use super::{Error, GreChannel, GreConfig, GreStats};
use crate::wire::gre::{self, Packet, Repr};

const OURS: u16 = 0x1234;
const PEERS: u16 = 0x00;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn chan() -> GreChannel {
    GreChannel::new(OURS, PEERS, GreConfig::default())
}

/// A data packet from the peer with sequence number `seq`, payload `[b]`.
fn data(seq: u32, b: u8) -> Vec<u8> {
    gre::build(OURS, Some(seq), None, &[b])
}

fn header(p: &[u8]) -> Repr {
    Repr::parse(&Packet::new_checked(p).expect("valid GRE"))
}

fn frames(v: &[u8]) -> Vec<Vec<u8>> {
    v.iter().map(|&b| vec![b]).collect()
}

#[test]
fn sends_numbered_packets_from_one() {
    let t = Instant::now();
    let mut c = chan();
    for (i, seq) in [1u32, 2, 3].into_iter().enumerate() {
        let p = c.send(t, &[0xff, 0x03, i as u8]);
        let r = header(&p);
        assert_eq!(
            (r.call_id, r.seq, r.ack, r.payload_len),
            (PEERS, Some(seq), None, 3)
        );
        assert_eq!(
            Packet::new_checked(&p[..]).map(|p| p.payload().to_vec()),
            Ok(vec![0xff, 0x03, i as u8])
        );
    }
    let s = c.stats();
    assert_eq!((s.packets_out, s.bytes_out), (3, 9));
    assert_eq!(c.in_flight(), 3);
}

#[test]
fn delivers_in_order() {
    let t = Instant::now();
    let mut c = chan();
    for seq in 1..=5u32 {
        assert_eq!(
            c.receive(t, &data(seq, seq as u8)),
            Ok(frames(&[seq as u8]))
        );
    }
    assert_eq!(c.last_received(), Some(5));
    let s = c.stats();
    assert_eq!(
        (s.packets_in, s.bytes_in, s.lost, s.reordered),
        (5, 5, 0, 0)
    );
}

#[test]
fn any_first_sequence_number() {
    for first in [0u32, 1, 0x7FFF_FFF0, 0xFFFF_FFFF] {
        let t = Instant::now();
        let mut c = chan();
        assert_eq!(c.receive(t, &data(first, 1)), Ok(frames(&[1])));
        assert_eq!(
            c.receive(t, &data(first.wrapping_add(1), 2)),
            Ok(frames(&[2]))
        );
        assert_eq!(c.stats().lost, 0);
    }
}

#[test]
fn reorders_within_the_window() {
    let t = Instant::now();
    let mut c = chan();
    assert_eq!(c.receive(t, &data(1, 1)), Ok(frames(&[1])));
    assert_eq!(c.receive(t, &data(4, 4)), Ok(vec![]));
    assert_eq!(c.receive(t, &data(3, 3)), Ok(vec![]));
    assert_eq!(c.poll_timeout(), Some(t + ms(100)));
    assert_eq!(c.receive(t + ms(10), &data(2, 2)), Ok(frames(&[2, 3, 4])));
    assert_eq!(c.receive(t + ms(10), &data(5, 5)), Ok(frames(&[5])));
    let s = c.stats();
    assert_eq!((s.reordered, s.lost, s.packets_in), (2, 0, 5));
}

#[test]
fn skips_a_gap_after_the_timeout() {
    let t = Instant::now();
    let mut c = chan();
    c.receive(t, &data(1, 1)).expect("valid");
    assert_eq!(c.receive(t, &data(3, 3)), Ok(vec![]));
    assert_eq!(c.receive(t + ms(50), &data(4, 4)), Ok(vec![]));
    assert_eq!(c.handle_timeout(t + ms(99)), Vec::<Vec<u8>>::new());
    assert_eq!(c.handle_timeout(t + ms(100)), frames(&[3, 4]));
    assert_eq!(c.stats().lost, 1);
    // Packet 2 turns up after all: too late.
    assert_eq!(c.receive(t + ms(120), &data(2, 2)), Ok(vec![]));
    assert_eq!(c.stats().late, 1);
    // A new packet also releases expired ones first.
    assert_eq!(c.receive(t + ms(130), &data(7, 7)), Ok(vec![]));
    assert_eq!(c.receive(t + ms(300), &data(8, 8)), Ok(frames(&[7, 8])));
    assert_eq!(c.stats().lost, 3);
}

#[test]
fn jump_beyond_the_window_skips_at_once() {
    let t = Instant::now();
    let mut c = chan();
    c.receive(t, &data(1, 1)).expect("valid");
    assert_eq!(c.receive(t, &data(3, 3)), Ok(vec![]));
    assert_eq!(c.receive(t, &data(100, 100)), Ok(frames(&[3, 100])));
    assert_eq!(c.stats().lost, 97);
    assert_eq!(c.poll_timeout(), Some(t + ms(500)));
}

#[test]
fn drops_duplicates_and_old_packets() {
    let t = Instant::now();
    let mut c = chan();
    c.receive(t, &data(1, 1)).expect("valid");
    assert_eq!(c.receive(t, &data(1, 1)), Ok(vec![]));
    assert_eq!(c.receive(t, &data(3, 3)), Ok(vec![]));
    assert_eq!(c.receive(t, &data(3, 3)), Ok(vec![]));
    assert_eq!(c.receive(t, &data(2, 2)), Ok(frames(&[2, 3])));
    assert_eq!(c.receive(t, &data(2, 2)), Ok(vec![]));
    // Far in the past by serial-number arithmetic (4 - 100).
    assert_eq!(c.receive(t, &data(0xFFFF_FFA0, 9)), Ok(vec![]));
    let s = c.stats();
    assert_eq!((s.duplicates, s.late, s.packets_in), (3, 1, 3));
}

#[test]
fn follows_a_peer_that_restarts_its_numbering() {
    let t = Instant::now();
    let mut c = chan();
    c.receive(t, &data(1_000_000, 1)).expect("valid");
    let mut got = Vec::new();
    for seq in 1..=40u32 {
        got.extend(c.receive(t, &data(seq, seq as u8)).expect("valid"));
    }
    assert!(!got.is_empty(), "never resynchronised");
    assert_eq!(got.last(), Some(&vec![40]));
}

#[test]
fn sequence_numbers_wrap() {
    let t = Instant::now();
    let cfg = GreConfig {
        initial_seq: 0xFFFF_FFFF,
        ..GreConfig::default()
    };
    let mut tx = GreChannel::new(PEERS, OURS, cfg);
    let seqs: Vec<_> = (0..3).map(|_| header(&tx.send(t, b"x")).seq).collect();
    assert_eq!(seqs, [Some(0xFFFF_FFFF), Some(0), Some(1)]);

    let mut c = chan();
    c.receive(t, &data(0xFFFF_FFFE, 1)).expect("valid");
    assert_eq!(c.receive(t, &data(0, 3)), Ok(vec![]));
    assert_eq!(c.receive(t, &data(0xFFFF_FFFF, 2)), Ok(frames(&[2, 3])));
    assert_eq!(c.receive(t, &data(1, 4)), Ok(frames(&[4])));
    assert_eq!(c.receive(t, &data(0xFFFF_FFFF, 2)), Ok(vec![]));
    let s = c.stats();
    assert_eq!((s.duplicates, s.lost, s.reordered), (1, 0, 1));
    assert_eq!(c.last_received(), Some(1));
}

#[test]
fn piggybacks_acks() {
    let t = Instant::now();
    let mut c = chan();
    // Nothing received yet: no ack.
    assert_eq!(header(&c.send(t, b"a")).ack, None);
    for seq in 1..=3 {
        c.receive(t, &data(seq, 0)).expect("valid");
    }
    assert_eq!(header(&c.send(t, b"b")).ack, Some(3));
    // Already acknowledged: the next packet carries none.
    assert_eq!(header(&c.send(t, b"c")).ack, None);
    assert_eq!(c.poll_timeout(), None);
    c.handle_timeout(t + ms(1000));
    assert_eq!(c.poll_transmit(), None);
}

#[test]
fn standalone_ack_after_the_delay() {
    let t = Instant::now();
    let mut c = chan();
    c.receive(t, &data(7, 0)).expect("valid");
    c.receive(t + ms(200), &data(8, 0)).expect("valid");
    assert_eq!(c.poll_timeout(), Some(t + ms(500)));
    c.handle_timeout(t + ms(499));
    assert_eq!(c.poll_transmit(), None);
    c.handle_timeout(t + ms(500));
    let ack = c.poll_transmit().expect("ack-only packet");
    let r = header(&ack);
    assert_eq!(
        (r.call_id, r.seq, r.ack, r.payload_len),
        (PEERS, None, Some(8), 0)
    );
    assert_eq!(ack.len(), 12);
    assert_eq!(c.poll_transmit(), None);
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.stats().acks_out, 1);
}

#[test]
fn ack_only_packets_update_the_ack_state() {
    let t = Instant::now();
    let mut c = chan();
    for _ in 0..5 {
        c.send(t, b"p");
    }
    assert_eq!(
        c.receive(t, &gre::build(OURS, None, Some(3), &[])),
        Ok(vec![])
    );
    assert_eq!((c.peer_ack(), c.in_flight()), (Some(3), 2));
    // Older acks do not move it back; acks for unsent packets are ignored.
    c.receive(t, &gre::build(OURS, None, Some(2), &[]))
        .expect("valid");
    c.receive(t, &gre::build(OURS, None, Some(9), &[]))
        .expect("valid");
    c.receive(t, &gre::build(OURS, Some(1), Some(5), b"d"))
        .expect("valid");
    assert_eq!((c.peer_ack(), c.in_flight()), (Some(5), 0));
    assert_eq!(c.stats().acks_in, 3);
}

#[test]
fn two_channels_talk() {
    let t = Instant::now();
    let mut a = GreChannel::new(1, 2, GreConfig::default());
    let mut b = GreChannel::new(2, 1, GreConfig::default());
    let p = a.send(t, b"hello");
    assert_eq!(b.receive(t, &p), Ok(vec![b"hello".to_vec()]));
    let q = b.send(t + ms(10), b"world");
    assert_eq!(header(&q).ack, Some(1));
    assert_eq!(a.receive(t + ms(10), &q), Ok(vec![b"world".to_vec()]));
    assert_eq!(a.peer_ack(), Some(1));
    a.handle_timeout(t + ms(510));
    let ack = a.poll_transmit().expect("ack-only");
    assert_eq!(b.receive(t + ms(510), &ack), Ok(vec![]));
    assert_eq!(b.peer_ack(), Some(1));
}

#[test]
fn rejects_wrong_call_id_and_malformed_packets() {
    let t = Instant::now();
    let mut c = chan();
    let wrong = gre::build(OURS + 1, Some(1), None, b"x");
    assert_eq!(
        c.receive(t, &wrong),
        Err(Error::WrongCallId {
            expected: OURS,
            got: OURS + 1
        })
    );
    assert!(matches!(
        c.receive(t, &[0x30, 0x01, 0x88]),
        Err(Error::Gre(_))
    ));
    let mut v0 = data(1, 1);
    v0[1] = 0x00; // GRE version 0
    assert!(matches!(c.receive(t, &v0), Err(Error::Gre(_))));
    assert_eq!(c.stats(), GreStats::default());
}

#[test]
fn arbitrary_packets_never_panic() {
    let t = Instant::now();
    let mut rng = Lcg(0x6e5e);
    let cfg = GreConfig {
        reorder_window: 4,
        ..GreConfig::default()
    };
    let mut c = GreChannel::new(OURS, PEERS, cfg);
    let mut delivered = 0u64;
    for i in 0..20_000u64 {
        let now = t + ms(i);
        let seq = u32::from_be_bytes([rng.next(), rng.next(), rng.next(), rng.next()]) % 64;
        let mut p = gre::build(OURS, Some(seq), (i % 3 == 0).then_some(seq), &[rng.next()]);
        if i % 5 == 0 {
            let at = usize::from(rng.next()) % p.len();
            p[at] = rng.next();
        }
        if let Ok(f) = c.receive(now, &p) {
            delivered += f.len() as u64;
        }
        delivered += c.handle_timeout(now).len() as u64;
        while c.poll_transmit().is_some() {}
        if i % 7 == 0 {
            c.send(now, &[0; 4]);
        }
    }
    assert_eq!(c.stats().packets_in, delivered);
}
