//! What the kernel sends on the NFQUEUE socket (`netfilter::nfqmsg::parse`).
//!
//! Invariants: no panic on any bytes; every packet read back names a
//! payload no longer than its datagram; a verdict built for each packet,
//! with that payload, parses as no packet (verdicts are not packets).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::netfilter::nfqmsg::{Decision, Incoming, parse, verdict};

fuzz_target!(|data: &[u8]| {
    for m in parse(data) {
        if let Incoming::Packet(p) = m {
            assert!(p.payload.len() <= data.len());
            let mut out = Vec::new();
            verdict(&mut out, p.queue, p.id, Decision::AcceptAs(&p.payload));
            assert!(parse(&out).is_empty());
        }
    }
});
