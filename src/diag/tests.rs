use super::*;

fn good() -> Report {
    let mut r = Report::new("vpn.example", 1);
    r.resolved = Some(Ipv4Addr::new(198, 51, 100, 10));
    r.tcp = Some(TcpOutcome::Connected);
    r.control = Some(true);
    r.listener = true;
    r.calls_up = 1;
    r.gre_out_ok = 1;
    r.gre_back_ok = 1;
    r.local_address = Some(Ipv4Addr::new(192, 168, 1, 10));
    r.seen_address = Some(Ipv4Addr::new(203, 0, 113, 2));
    r
}

#[test]
fn pass_reports_nat() {
    let x = verdict(&good());
    assert_eq!((x.class, x.exit_code), (Class::Pass, 0));
    assert!(
        x.message
            .contains("through NAT (the server sees 203.0.113.2)"),
        "{}",
        x.message
    );
    let mut r = good();
    r.seen_address = r.local_address;
    assert!(verdict(&r).message.contains("no NAT"));
}

#[test]
fn each_failure_has_its_class_and_exit_code() {
    let mut r = good();
    r.resolved = None;
    assert_eq!(verdict(&r).exit_code, 2);

    for (tcp, word) in [
        (TcpOutcome::Refused, "refuses"),
        (TcpOutcome::TimedOut, "does not answer"),
    ] {
        let mut r = good();
        r.tcp = Some(tcp);
        let x = verdict(&r);
        assert_eq!((x.class, x.exit_code), (Class::TcpBlocked, 3));
        assert!(x.message.contains(word));
    }

    let mut r = good();
    r.control = Some(false);
    assert_eq!(verdict(&r).exit_code, 4);

    let mut r = good();
    r.calls_up = 0;
    assert_eq!(verdict(&r).exit_code, 5);

    let mut r = good();
    r.gre_out_ok = 0;
    r.gre_back_ok = 0;
    let x = verdict(&r);
    assert_eq!((x.class, x.exit_code), (Class::GreOutBlocked, 6));
    assert!(
        x.message
            .starts_with("GRE from you never reaches the server")
    );

    let mut r = good();
    r.gre_back_ok = 0;
    let x = verdict(&r);
    assert_eq!((x.class, x.exit_code), (Class::GreBackBlocked, 7));
    assert!(x.message.starts_with(
        "GRE from the server never arrives: your router or ISP blocks protocol 47 or lacks PPTP passthrough"
    ));

    let mut r = good();
    r.calls_requested = 2;
    r.calls_up = 2;
    r.gre_out_ok = 2;
    r.gre_back_ok = 1;
    let x = verdict(&r);
    assert_eq!((x.class, x.exit_code), (Class::OneCallOnly, 8));
    assert!(x.message.contains("only 1 of 2"));
}

#[test]
fn real_server_cannot_verify_gre_out() {
    let mut r = good();
    r.listener = false;
    r.gre_out_ok = 0;
    r.seen_address = None;
    let x = verdict(&r);
    assert_eq!(x.class, Class::Pass);
    assert!(x.message.contains("not verified"));
    r.gre_back_ok = 0;
    let x = verdict(&r);
    assert_eq!(x.class, Class::GreBackBlocked);
    assert!(x.message.contains("could not be verified"));
}
