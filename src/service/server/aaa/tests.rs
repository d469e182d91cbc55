//! Framed-Route parsing and the MPPE policy of an Access-Accept.

use super::*;

#[test]
fn framed_routes_parse_as_rfc_2865_writes_them() {
    assert_eq!(
        framed_route(b"192.168.5.0/24 0.0.0.0 1"),
        Some(("192.168.5.0".parse().unwrap(), 24))
    );
    assert_eq!(
        framed_route(b"10.1.2.3"),
        Some(("10.1.2.3".parse().unwrap(), 32))
    );
    assert_eq!(framed_route(b"10.1.2.3/24 x"), None, "host bits set");
    assert_eq!(framed_route(b"10.1.2.0/33"), None);
    assert_eq!(framed_route(b"\xff"), None);
    assert_eq!(framed_route(b""), None);
}

#[test]
fn encryption_policy_and_types_are_honoured() {
    let m128 = crate::ppp::ccp::MppePolicy {
        allow_128: true,
        allow_56: false,
        allow_40: false,
        stateless: true,
        required: true,
    };
    let with = |policy: Option<u32>, types: Option<u32>| {
        let mut p = Packet::new(Code::AccessAccept, 1);
        if let Some(v) = policy {
            p.add_ms(ms::MPPE_ENCRYPTION_POLICY, &v.to_be_bytes());
        }
        if let Some(v) = types {
            p.add_ms(ms::MPPE_ENCRYPTION_TYPES, &v.to_be_bytes());
        }
        p
    };
    assert!(mppe_allowed(&with(Some(2), Some(4)), Some(m128)).is_ok());
    assert!(mppe_allowed(&with(Some(2), None), None).is_err());
    assert!(mppe_allowed(&with(Some(1), None), None).is_ok());
    assert!(
        mppe_allowed(&with(None, Some(2)), Some(m128)).is_err(),
        "40-bit only"
    );
    assert!(mppe_allowed(&with(None, Some(6)), Some(m128)).is_ok());
    assert!(mppe_allowed(&with(None, None), None).is_ok());
}
