//! RADIUS from the network: packets parsed, re-emitted and parsed back;
//! answers, Disconnect/CoA requests and hidden attributes checked with a
//! secret; and the client fed datagrams while it waits for answers.
//!
//! Invariants: no panic; parse(emit(p)) = p; an answer the client takes
//! was signed with the secret (Response Authenticator and
//! Message-Authenticator), so random bytes never complete a request.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use pptp_passthrough::radius::client::{Client, ClientConfig, Outcome, Server};
use pptp_passthrough::radius::crypto;
use pptp_passthrough::radius::packet::{Code, Packet, attr, ms};

const SECRET: &[u8] = b"fuzz secret";

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let b = p.to_vec().expect("a parsed packet re-emits");
        assert_eq!(Packet::parse(&b).expect("and parses back"), p);
        let _ = p.get_ms(ms::MPPE_SEND_KEY);
        let _ = p.get_u32(attr::SESSION_TIMEOUT);
    }
    let _ = crypto::verify_response(data, &[1; 16], SECRET);
    let _ = crypto::verify_md5_request(data, SECRET);
    let _ = crypto::decrypt_mppe_key(data, SECRET, &[2; 16]);
    let _ = crypto::unhide(data, SECRET, &[3; 16]);

    let server = Server {
        addr: "192.0.2.1:1812".parse().unwrap(),
        secret: SECRET.to_vec(),
    };
    let mut c = Client::new(ClientConfig {
        servers: vec![server.clone()],
        ..ClientConfig::default()
    });
    c.add_randomness([9; 16]);
    let t0 = Instant::now();
    let mut req = Packet::new(Code::AccessRequest, 0);
    req.add(attr::USER_NAME, b"alice");
    c.send(t0, req, Some(b"pw".to_vec())).unwrap();
    let mut acct = Packet::new(Code::AccountingRequest, 0);
    acct.add_u32(attr::ACCT_STATUS_TYPE, 1);
    c.send(t0, acct, None).unwrap();
    while c.poll_transmit().is_some() {}
    // The datagram as is, and with the Identifier of each request.
    for id in [None, Some(0u8), Some(1)] {
        let mut d = data.to_vec();
        if let (Some(id), Some(b)) = (id, d.get_mut(1)) {
            *b = id;
        }
        c.handle_datagram(server.addr, &d);
    }
    while let Some((_, o)) = c.poll_done() {
        assert!(
            !matches!(o, Outcome::Answer { .. }),
            "an unsigned answer was taken"
        );
    }
    c.handle_timeout(t0 + Duration::from_secs(4));
    while c.poll_transmit().is_some() {}
});
