//! A server whose verdicts come from elsewhere (RADIUS): the session hands
//! out the credentials, waits, and answers the client with what it is
//! given: MS-CHAPv2 keys and `S=` text, or a Failure text as is.

use std::time::Duration;

use super::testnet::*;
use super::{SessionConfig, SessionEvent};
use crate::ppp::auth::{AuthError, AuthMethod, Verdict, VerifyRequest};
use crate::ppp::ccp::KeyLength;
use crate::ppp::crypto::chap::verify_chap_md5;
use crate::ppp::crypto::messages::SuccessMessage;
use crate::ppp::crypto::mppe_keys::mschapv2_start_keys;
use crate::ppp::crypto::mschap::{hash_nt_password_hash, nt_password_hash};
use crate::ppp::crypto::mschapv2::MsChapV2Response;

const PASSWORD: &str = "hunter2";

fn external(mut cfg: SessionConfig) -> SessionConfig {
    cfg.auth.external = true;
    cfg
}

/// What a RADIUS server that knows bob's password would answer.
fn judge(req: &VerifyRequest) -> Verdict {
    let reject = Verdict::Reject {
        message: None,
        why: "refused",
    };
    match req {
        VerifyRequest::Pap { name, password } => {
            if name == "bob" && password == PASSWORD.as_bytes() {
                Verdict::Accept {
                    keys: None,
                    address: None,
                    message: b"welcome".to_vec(),
                }
            } else {
                reject
            }
        }
        VerifyRequest::Chap {
            method: AuthMethod::ChapMd5,
            identifier,
            challenge,
            response,
            ..
        } => {
            if verify_chap_md5(*identifier, PASSWORD.as_bytes(), challenge, response) {
                Verdict::Accept {
                    keys: None,
                    address: None,
                    message: Vec::new(),
                }
            } else {
                reject
            }
        }
        VerifyRequest::Chap {
            method: AuthMethod::MsChapV2,
            name,
            challenge,
            response,
            ..
        } => {
            let challenge: [u8; 16] = challenge.as_slice().try_into().unwrap();
            let r = MsChapV2Response::parse(response).unwrap();
            let hash = nt_password_hash(PASSWORD);
            if !r.verify_with_hash(&challenge, name.as_bytes(), &hash) {
                return Verdict::Reject {
                    message: Some(
                        b"E=691 R=0 C=00000000000000000000000000000000 V=3 M=refused by RADIUS"
                            .to_vec(),
                    ),
                    why: "refused by RADIUS",
                };
            }
            let success = SuccessMessage {
                authenticator_response: r.authenticator_response(
                    &challenge,
                    name.as_bytes(),
                    &hash,
                ),
                message: None,
            };
            Verdict::Accept {
                keys: Some(mschapv2_start_keys(
                    &hash_nt_password_hash(&hash),
                    &r.nt_response,
                    true,
                )),
                address: Some(ALICE_IP),
                message: success.to_text().into_bytes(),
            }
        }
        _ => reject,
    }
}

/// Run the pair, answering every Verify after `delay` of simulated time.
fn run(net: &mut Net, delay: Duration) -> usize {
    let mut verified = 0;
    let end = net.now + Duration::from_secs(20);
    while net.now < end
        && !net.both_up()
        && super::testnet::down_reason(&net.client_events).is_none()
    {
        let asks: Vec<VerifyRequest> = net
            .server_events
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Verify(r) => Some(r.clone()),
                _ => None,
            })
            .skip(verified)
            .collect();
        if !asks.is_empty() {
            net.run_for(delay);
            for r in asks {
                verified += 1;
                let now = net.now;
                net.server.complete_auth(now, judge(&r));
            }
        }
        net.run_for(Duration::from_millis(10));
    }
    verified
}

#[test]
fn mschapv2_with_keys_from_the_verdict_carries_data() {
    let policy = Some(mppe(KeyLength::Bits128, true));
    let mut net = Net::new(
        client_cfg(AuthMethod::MsChapV2, policy, "bob", PASSWORD),
        external(server_cfg(AuthMethod::MsChapV2, policy)),
        CLEAN,
        7,
    );
    // The verdict takes 2 s (a slow RADIUS server): the client waits.
    assert_eq!(run(&mut net, Duration::from_secs(2)), 1);
    assert!(net.both_up(), "{:?}", net.client_events);
    let up = last_up(&net.client_events).unwrap();
    // The address came with the verdict.
    assert!(
        matches!(up, SessionEvent::Up { local_ip, mppe: Some(_), .. } if *local_ip == ALICE_IP)
    );
    for i in 0..20 {
        net.client.send_ip(&packet(1, i)).unwrap();
        net.server.send_ip(&packet(2, i)).unwrap();
    }
    net.run_for(Duration::from_millis(200));
    assert_eq!(
        net.server_ip,
        (0..20).map(|i| packet(1, i)).collect::<Vec<_>>()
    );
    assert_eq!(
        net.client_ip,
        (0..20).map(|i| packet(2, i)).collect::<Vec<_>>()
    );
}

#[test]
fn a_rejection_reaches_the_client_with_the_verdicts_text() {
    let policy = Some(mppe(KeyLength::Bits128, true));
    let mut net = Net::new(
        client_cfg(AuthMethod::MsChapV2, policy, "bob", "wrong"),
        external(server_cfg(AuthMethod::MsChapV2, policy)),
        CLEAN,
        8,
    );
    run(&mut net, Duration::from_millis(100));
    net.run_for(Duration::from_secs(5));
    let failed = net.client_events.iter().find_map(|e| match e {
        SessionEvent::AuthFailed { reason } => Some(reason.clone()),
        _ => None,
    });
    match failed {
        Some(AuthError::Rejected { code, message }) => {
            assert_eq!(code, Some(691));
            assert_eq!(message, "refused by RADIUS");
        }
        other => panic!("{other:?} {:?}", net.client_events),
    }
}

#[test]
fn pap_and_chap_md5_are_handed_out_too() {
    for method in [AuthMethod::Pap, AuthMethod::ChapMd5] {
        let mut net = Net::new(
            client_cfg(method, None, "bob", PASSWORD),
            external(server_cfg(method, None)),
            LOSSY,
            9,
        );
        assert!(run(&mut net, Duration::from_millis(500)) >= 1);
        assert!(net.both_up(), "{method:?}: {:?}", net.client_events);
        // Exactly one request went out although the client resent.
        let asks = net
            .server_events
            .iter()
            .filter(|e| matches!(e, SessionEvent::Verify(_)))
            .count();
        assert_eq!(asks, 1, "{method:?}");
    }
}
