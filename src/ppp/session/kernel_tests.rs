//! A session whose MPPE runs in the kernel (`kernel_mppe`): CCP is
//! negotiated here, the start keys are handed out, IP leaves in clear for
//! the kernel to encrypt, and CCP resets are what the kernel needs.

use std::time::Duration;

use super::testnet::*;
use super::*;
use crate::ppp::ccp::KeyLength;
use crate::ppp::crypto::mppe::Encrypter;
use crate::ppp::frame::{Compression, Frame, Protocol};

fn kernel_pair(stateless: bool) -> Net {
    let policy = Some(mppe(KeyLength::Bits128, stateless));
    let mut client = client_cfg(AuthMethod::MsChapV2, policy, "alice", "s3cret");
    client.kernel_mppe = true;
    let mut net = Net::new(
        client,
        server_cfg(AuthMethod::MsChapV2, policy),
        Impair::default(),
        7,
    );
    assert!(net.run_until(Duration::from_secs(10), Net::both_up));
    net
}

fn frame(protocol: Protocol, payload: &[u8]) -> Vec<u8> {
    Frame { protocol, payload }
        .to_vec(Compression::default())
        .expect("frame")
}

/// What the client put on the wire after `mark` frames.
fn sent_after(net: &Net, mark: usize) -> Vec<Frame<'_>> {
    net.wire[mark..]
        .iter()
        .filter(|(s, _)| *s == Side::Client)
        .filter_map(|(_, f)| Frame::parse(f).ok())
        .collect()
}

#[test]
fn the_kernel_gets_the_start_keys_and_ip_in_clear_that_the_peer_decrypts_after_it() {
    let mut net = kernel_pair(true);
    let Some(SessionEvent::Up { mppe, .. }) = last_up(&net.client_events) else {
        panic!("no Up: {:?}", net.client_events);
    };
    let mode = mppe.expect("MPPE negotiated");
    assert_eq!(mode.key, KeyLength::Bits128);
    let (ck, sk) = (net.client.start_keys(), net.server.start_keys());
    let (ck, sk) = (ck.expect("client keys"), sk.expect("server keys"));
    assert_eq!(ck.send, sk.receive);
    assert_eq!(ck.receive, sk.send);
    // IP leaves the session unencrypted: the kernel's unit encrypts it.
    let mark = net.wire.len();
    let p = packet(1, 3);
    net.client.send_ip(&p).expect("sent");
    net.collect();
    let out = sent_after(&net, mark);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].protocol, Protocol::IPV4);
    assert_eq!(out[0].payload, &p[..]);
    // What the kernel makes of it with those keys is what the peer takes.
    let mut kernel = Encrypter::new(&ck.send, machine::crypto_mode(mode)).expect("key");
    let mut inner = vec![0x00, 0x21];
    inner.extend_from_slice(&p);
    let datagram = kernel.encrypt(&inner);
    let now = net.now;
    net.server
        .handle_frame(now, &frame(Protocol::COMPRESSED, &datagram));
    net.collect();
    assert_eq!(net.server_ip, vec![p]);
}

#[test]
fn a_reset_request_gets_a_reset_ack_which_flushes_the_kernels_encrypter() {
    let mut net = kernel_pair(false);
    let mark = net.wire.len();
    let now = net.now;
    net.client
        .handle_frame(now, &frame(Protocol::CCP, &[14, 0x33, 0, 4]));
    net.collect();
    let acks: Vec<_> = sent_after(&net, mark)
        .into_iter()
        .filter(|f| f.protocol == Protocol::CCP)
        .map(|f| f.payload.to_vec())
        .collect();
    assert_eq!(acks, vec![vec![15, 0x33, 0, 4]]);
}

#[test]
fn a_frame_the_kernel_could_not_decrypt_asks_for_a_reset_in_either_mode() {
    for stateless in [false, true] {
        let mut net = kernel_pair(stateless);
        let mark = net.wire.len();
        let now = net.now;
        net.client
            .handle_frame(now, &frame(Protocol::COMPRESSED, &[0x90, 0x05, 1, 2, 3]));
        net.collect();
        let ccp: Vec<_> = sent_after(&net, mark)
            .into_iter()
            .filter(|f| f.protocol == Protocol::CCP)
            .map(|f| f.payload[0])
            .collect();
        // Linux's unit decrypts nothing more until a Reset-Ack comes in.
        assert_eq!(ccp, vec![14], "stateless {stateless}");
        assert!(net.client.is_up());
    }
}
