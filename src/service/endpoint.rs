//! What the embedded server and client services share at the I/O edge: the
//! session policy from its words, random numbers, and moving a link's
//! output to the GRE socket and the TUN device.

use std::net::Ipv4Addr;
use std::time::Instant;

use crate::config::DataPath;
use crate::os::gre::GreSocket;
use crate::os::pppk::KernelCall;
use crate::os::tun::Tun;
use crate::ppp::auth::Rng;
use crate::ppp::ccp::MppePolicy;
use crate::ppp::lcp::AuthMethod;
use crate::ppp::session::{Session, SessionEvent};
use crate::pptp::link::Link;

/// Randomness from the OS (challenges, magic numbers, Call IDs).
#[derive(Clone, Copy, Default)]
pub struct OsRng;

impl Rng for OsRng {
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if getrandom::fill(dest).is_err() {
            // The kernel always has entropy after boot; never hand out zeros.
            let t = Instant::now().elapsed().subsec_nanos().to_le_bytes();
            for (i, b) in dest.iter_mut().enumerate() {
                *b = t[i % 4] ^ (i as u8).wrapping_mul(151);
            }
        }
    }
}

/// A random non-zero Call ID.
pub fn random_call_id() -> u16 {
    let mut b = [0u8; 2];
    OsRng.fill_bytes(&mut b);
    u16::from_be_bytes(b).max(1)
}

/// Authentication methods by name, strongest first; weak ones are warned about.
pub fn auth_methods(names: &[String]) -> Result<Vec<AuthMethod>, String> {
    names
        .iter()
        .map(|n| match n.as_str() {
            "mschapv2" => Ok(AuthMethod::MsChapV2),
            "mschapv1" => {
                tracing::warn!(
                    "MS-CHAPv1 allowed: its LM/NT responses are cracked offline in minutes"
                );
                Ok(AuthMethod::MsChapV1)
            }
            "chap" => {
                tracing::warn!(
                    "CHAP-MD5 allowed: it gives no MPPE keys, so traffic is not encrypted"
                );
                Ok(AuthMethod::ChapMd5)
            }
            "pap" => {
                tracing::warn!("PAP allowed: it sends the password in clear text");
                Ok(AuthMethod::Pap)
            }
            other => Err(format!(
                "unknown authentication method {other:?} (mschapv2, mschapv1, chap, pap)"
            )),
        })
        .collect()
}

/// MPPE policy by name: require-128 (default), require, optional, none.
pub fn mppe_policy(name: &str, stateful: bool) -> Result<Option<MppePolicy>, String> {
    let p = |allow_56, allow_40, required| MppePolicy {
        allow_128: true,
        allow_56,
        allow_40,
        stateless: !stateful,
        required,
    };
    match name {
        "require-128" => Ok(Some(p(false, false, true))),
        "require" => {
            tracing::warn!("MPPE 40/56-bit allowed: those keys fall to brute force");
            Ok(Some(p(true, true, true)))
        }
        "optional" => {
            tracing::warn!("MPPE optional: the link may carry data unencrypted");
            Ok(Some(p(true, true, false)))
        }
        "none" => {
            tracing::warn!("MPPE off: all tunnel traffic is unencrypted");
            Ok(None)
        }
        other => Err(format!(
            "unknown MPPE policy {other:?} (require-128, require, optional, none)"
        )),
    }
}

/// Send everything a link has queued; returns its events, and the number
/// of IP packets written to the TUN device and their octets. SYNs are
/// MSS-clamped to `mss`.
pub fn flush(
    link: &mut Link,
    now: Instant,
    gre: &GreSocket,
    tun: &Tun,
    mss: Option<u16>,
) -> (Vec<SessionEvent>, usize, u64) {
    while let Some(pkt) = link.poll_gre(now) {
        gre.try_send(link.peer, &pkt);
    }
    let (mut n, mut octets) = (0, 0u64);
    while let Some(mut ip) = link.ppp.poll_ip() {
        if let Some(m) = mss {
            crate::wire::mss::clamp_mss(&mut ip, m);
        }
        tun.try_send(&ip);
        n += 1;
        octets += ip.len() as u64;
    }
    let mut ev = Vec::new();
    while let Some(e) = link.ppp.poll_event() {
        ev.push(e);
    }
    (ev, n, octets)
}

/// A call on the kernel's data path and what the session has handed it.
pub struct KernelLink {
    pub call: std::rc::Rc<KernelCall>,
    pub ifindex: u32,
    /// The MPPE start keys are in the kernel.
    pub keys_set: bool,
    /// The policy requires MPPE: once it is up, no network packet may
    /// leave the unit in clear (`SC_MUST_COMP`).
    pub mppe_required: bool,
    /// `SC_CCP_UP` is set on the unit (MPPE was Opened and still is).
    pub ccp_up: bool,
    /// Reads the unit's and channel's frames into the session.
    pub reader: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for KernelLink {
    fn drop(&mut self) {
        if let Some(r) = &self.reader {
            r.abort();
        }
    }
}

/// [`flush`] for a call on the kernel's path: the start keys go to the
/// kernel before any frame the session made with them (its CCP
/// Configure-Request follows authentication in the same batch), then the
/// frames to the channel or the unit. Returns the session's events.
///
/// When CCP has left Opened (a renegotiation), `SC_CCP_UP` is cleared
/// before the batch and set again, after the batch's CCP frames, once CCP
/// is Opened; `ppp_generic` starts MPPE from the Configure-Acks it
/// sees only while it is clear, and stops a direction on any
/// Configure-Request, Opened or not. The batch in which the session
/// comes Up goes out in three steps, from how `ppp_generic` treats a unit
/// with MPPE:
/// 1. its CCP frames: the unit starts its compressor when it sees this
///    side's Configure-Ack go out, and only while `SC_CCP_UP` is clear;
/// 2. `SC_CCP_UP` (and `SC_MUST_COMP` when MPPE is required), a check
///    that MPPE runs both ways, the socket filter, and IP let through:
///    with the compressor running and `SC_CCP_UP` clear the unit drops
///    every packet it sends (a reply to the peer's first packet was lost
///    that way), with `SC_CCP_UP` set before the Configure-Ack its
///    compressor would never start, and without a compressor it sends IP
///    in clear;
/// 3. the other frames: one may be the Configure-Ack that opens the peer's
///    side, and the peer may send at once (a side opens once it has sent
///    and received a Configure-Ack, RFC 1661 §4.1).
///
/// The decompressor started when the peer's Configure-Ack came in.
pub fn flush_kernel(ppp: &mut Session, k: &mut KernelLink) -> Vec<SessionEvent> {
    if !k.keys_set {
        if let Some(keys) = ppp.start_keys() {
            k.keys_set = true;
            if let Err(e) = k.call.set_mppe(&keys.send, &keys.receive) {
                tracing::warn!(error = %e, "MPPE keys not accepted by the kernel");
            }
        }
    }
    let frames: Vec<Vec<u8>> = std::iter::from_fn(|| ppp.poll_transmit()).collect();
    while ppp.poll_ip().is_some() {}
    let events: Vec<SessionEvent> = std::iter::from_fn(|| ppp.poll_event()).collect();
    let up = events.iter().find_map(|e| match e {
        SessionEvent::Up { mppe, .. } => Some(mppe.is_some()),
        _ => None,
    });
    let (down, step) = kernel_step(up, ppp.mppe_mode().is_some(), k.ccp_up, ppp.is_up());
    if down {
        // CCP left Opened (the peer's Configure-Request while Opened,
        // RFC 1661 §4.2): let this batch's CCP frames restart MPPE.
        k.ccp_up = false;
        if let Err(e) = k.call.ccp_down() {
            tracing::warn!(error = %e, "kernel PPP unit");
        }
    }
    if step == KernelStep::InOrder {
        for f in &frames {
            k.call.send(f);
        }
        return events;
    }
    let (ccp, rest) = ccp_first(&frames);
    for f in ccp {
        k.call.send(f);
    }
    k.ccp_up = match step {
        KernelStep::Open { mppe } => open_network(k, mppe) && mppe,
        _ => match start_mppe(k) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "MPPE not restarted in the kernel");
                false
            }
        },
    };
    for f in rest {
        k.call.send(f);
    }
    events
}

/// What a batch on the kernel's path does besides sending its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelStep {
    /// The frames in the session's order: a CCP frame must not pass the
    /// CHAP Success of its batch (the peer would drop it, RFC 1661 §3.5).
    InOrder,
    /// The session came Up: the three steps of [`flush_kernel`].
    Open { mppe: bool },
    /// CCP is Opened again after a renegotiation: its frames, then
    /// `SC_CCP_UP`, then the rest.
    Reopen,
}

/// [`flush_kernel`]'s decision, from the batch's `Up` (with MPPE or not),
/// whether MPPE is in force now, whether `SC_CCP_UP` is set and whether
/// the session is up: whether to clear `SC_CCP_UP` first (CCP left
/// Opened), and the step.
pub fn kernel_step(
    up: Option<bool>,
    mppe_now: bool,
    ccp_up: bool,
    is_up: bool,
) -> (bool, KernelStep) {
    let down = ccp_up && !mppe_now;
    let ccp_up = ccp_up && !down;
    let step = match up {
        Some(mppe) => KernelStep::Open { mppe },
        None if mppe_now && !ccp_up && is_up => KernelStep::Reopen,
        None => KernelStep::InOrder,
    };
    (down, step)
}

/// `SC_CCP_UP` set, and both MPPE directions checked running.
fn start_mppe(k: &KernelLink) -> Result<(), crate::os::OsError> {
    k.call
        .ccp_up(k.mppe_required)
        .and_then(|()| k.call.mppe_running())
}

/// Step 2 of [`flush_kernel`]. With MPPE in use the unit would take IP in
/// clear, drop what it sends without `SC_CCP_UP`, and send in clear if its
/// compressor had not started: a session whose filter or flags cannot be
/// set, or whose unit runs no MPPE, passes no IP at all. Whether IP passes.
fn open_network(k: &KernelLink, mppe: bool) -> bool {
    if mppe && let Err(e) = start_mppe(k).and_then(|()| k.call.require_encrypted()) {
        tracing::error!(error = %e, "the session passes no IP");
        return false;
    }
    if let Err(e) = k.call.network_up() {
        tracing::warn!(error = %e, "the kernel's PPP unit does not pass IP");
        return false;
    }
    true
}

/// A batch's CCP frames, then the others, each in their order: frames of
/// different protocols are independent (RFC 1661 §3.2).
pub fn ccp_first(frames: &[Vec<u8>]) -> (Vec<&[u8]>, Vec<&[u8]>) {
    use crate::ppp::frame::{Frame, Protocol};
    frames
        .iter()
        .map(Vec::as_slice)
        .partition(|f| Frame::parse(f).is_ok_and(|f| f.protocol == Protocol::CCP))
}

/// Whether the endpoint runs its data on the kernel's path, from the
/// configured choice: an error when `kernel` is asked for and missing.
/// The kernel's `ppp_mppe` only does 128-bit keys in recent kernels, and
/// only stateless mode interoperates (see [`kernel_policy`]), so `auto`
/// keeps the TUN path for a policy that allows 40 or 56 bits or stateful
/// mode.
pub fn use_kernel(choice: DataPath, mppe: Option<MppePolicy>) -> Result<bool, String> {
    choose_kernel(choice, mppe, crate::os::pppk::available())
}

/// The MPPE policy on the kernel's path: stateless only. Linux's
/// `ppp_mppe` changes the key when it flushes after a CCP Reset-Request,
/// where RFC 3078 §8.2 re-initialises RC4 with the current key, so
/// stateful mode could not resynchronise with a peer that follows the RFC.
pub fn kernel_policy(mppe: Option<MppePolicy>) -> Option<MppePolicy> {
    mppe.map(|p| {
        if !p.stateless {
            tracing::warn!("stateful MPPE is not offered on the kernel's data path (Linux's ppp_mppe resynchronises differently from RFC 3078 §8.2): stateless only");
        }
        MppePolicy {
            stateless: true,
            ..p
        }
    })
}

/// [`use_kernel`] with what the kernel has given.
pub fn choose_kernel(
    choice: DataPath,
    mppe: Option<MppePolicy>,
    modules: bool,
) -> Result<bool, String> {
    let short_keys = mppe.is_some_and(|p| p.allow_40 || p.allow_56);
    let stateful = mppe.is_some_and(|p| !p.stateless);
    match choice {
        DataPath::Tun => Ok(false),
        DataPath::Kernel if !modules => Err(
            "data path 'kernel': this kernel has no PPTP PPPoX sockets or /dev/ppp (modules pptp, ppp_generic, ppp_mppe; OpenWrt: kmod-pptp, kmod-mppe)".into(),
        ),
        DataPath::Kernel => {
            if short_keys {
                tracing::warn!("data path 'kernel' with 40/56-bit MPPE allowed: recent kernels only do 128-bit");
            }
            Ok(true)
        }
        DataPath::Auto => {
            let ok = modules;
            if !ok {
                tracing::info!("kernel PPTP modules missing: data on the TUN path");
            }
            Ok(ok && !short_keys && !stateful)
        }
    }
}

/// Destination address of an IPv4 packet.
pub fn ipv4_dst(pkt: &[u8]) -> Option<Ipv4Addr> {
    (pkt.len() >= 20 && pkt[0] >> 4 == 4).then(|| Ipv4Addr::new(pkt[16], pkt[17], pkt[18], pkt[19]))
}

/// Authentication methods and MPPE policy from a config section (its
/// risks are logged once from [`crate::config::Config::warnings`]).
pub fn security_policy(s: &crate::config::Security) -> (Vec<AuthMethod>, Option<MppePolicy>) {
    use crate::config::{AuthMethod as A, KeyBits, Mppe};
    let methods = s
        .auth
        .iter()
        .map(|m| match m {
            A::MsChapV2 => AuthMethod::MsChapV2,
            A::MsChapV1 => AuthMethod::MsChapV1,
            A::Chap => AuthMethod::ChapMd5,
            A::Pap => AuthMethod::Pap,
        })
        .collect();
    let bits = |b| s.mppe_bits.contains(&b);
    let mppe = match s.mppe {
        Mppe::None => None,
        Mppe::Require128 => Some(MppePolicy {
            allow_128: true,
            allow_56: false,
            allow_40: false,
            stateless: !s.mppe_stateful,
            required: true,
        }),
        m => Some(MppePolicy {
            allow_128: bits(KeyBits::B128),
            allow_56: bits(KeyBits::B56),
            allow_40: bits(KeyBits::B40),
            stateless: !s.mppe_stateful,
            required: m.required(),
        }),
    };
    (methods, mppe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow_40: bool) -> Option<MppePolicy> {
        Some(MppePolicy {
            allow_128: true,
            allow_56: false,
            allow_40,
            stateless: true,
            required: true,
        })
    }

    fn stateful() -> Option<MppePolicy> {
        policy(false).map(|p| MppePolicy {
            stateless: false,
            ..p
        })
    }

    #[test]
    fn only_the_batches_that_bring_ccp_up_are_reordered() {
        use KernelStep::*;
        // Authentication's batch (CHAP Success, then CCP's request): in order.
        assert_eq!(kernel_step(None, false, false, false), (false, InOrder));
        // The session comes Up, with MPPE or without.
        assert_eq!(
            kernel_step(Some(true), true, false, true),
            (false, Open { mppe: true })
        );
        assert_eq!(
            kernel_step(Some(false), false, false, true),
            (false, Open { mppe: false })
        );
        // Up and running: in order.
        assert_eq!(kernel_step(None, true, true, true), (false, InOrder));
        // CCP left Opened: SC_CCP_UP cleared, the renegotiation in order.
        assert_eq!(kernel_step(None, false, true, true), (true, InOrder));
        assert_eq!(kernel_step(None, false, false, true), (false, InOrder));
        // CCP Opened again: reordered, SC_CCP_UP set again.
        assert_eq!(kernel_step(None, true, false, true), (false, Reopen));
        // A session without MPPE never touches CCP's flags.
        assert_eq!(kernel_step(None, false, false, true), (false, InOrder));
    }

    #[test]
    fn a_batch_sends_its_ccp_frames_before_the_others() {
        let ipcp_ack = vec![0xff, 0x03, 0x80, 0x21, 2, 3, 0, 4];
        let ccp_ack = vec![0x80, 0xfd, 2, 2, 0, 4];
        let lcp_echo = vec![0xc0, 0x21, 9, 1, 0, 8, 0, 0, 0, 0];
        let ccp_req = vec![0xff, 0x03, 0x80, 0xfd, 1, 7, 0, 4];
        let ipv6cp_ack = vec![0x80, 0x57, 2, 1, 0, 4];
        let batch = vec![
            ipcp_ack.clone(),
            ccp_ack.clone(),
            lcp_echo.clone(),
            ccp_req.clone(),
            ipv6cp_ack.clone(),
        ];
        let (ccp, rest) = ccp_first(&batch);
        assert_eq!(ccp, vec![&ccp_ack[..], &ccp_req[..]]);
        assert_eq!(rest, vec![&ipcp_ack[..], &lcp_echo[..], &ipv6cp_ack[..]]);
        // IP compressed to one protocol octet (0x21) and MPPE data (0xfd,
        // RFC 1962 §2) are not CCP.
        let data = [vec![0x21, 0x45], vec![0xfd, 0x90, 0x01]];
        let (ccp, rest) = ccp_first(&data);
        assert!(ccp.is_empty());
        assert_eq!(rest.len(), 2);
    }

    #[test]
    fn the_kernels_path_offers_stateless_mppe_only() {
        let p = kernel_policy(stateful()).expect("policy");
        assert!(p.stateless);
        assert_eq!(kernel_policy(None), None);
        assert_eq!(kernel_policy(policy(false)), policy(false));
    }

    #[test]
    fn the_data_path_follows_the_choice_and_what_the_kernel_has() {
        let p128 = policy(false);
        for modules in [false, true] {
            assert_eq!(choose_kernel(DataPath::Tun, p128, modules), Ok(false));
            assert_eq!(choose_kernel(DataPath::Auto, p128, modules), Ok(modules));
            assert_eq!(choose_kernel(DataPath::Auto, None, modules), Ok(modules));
            // Recent kernels' ppp_mppe has no 40/56-bit keys: auto stays on TUN.
            assert_eq!(
                choose_kernel(DataPath::Auto, policy(true), modules),
                Ok(false)
            );
            assert_eq!(
                choose_kernel(DataPath::Auto, stateful(), modules),
                Ok(false)
            );
        }
        assert_eq!(choose_kernel(DataPath::Kernel, p128, true), Ok(true));
        let e = choose_kernel(DataPath::Kernel, p128, false).unwrap_err();
        assert!(e.contains("kmod-pptp") && e.contains("ppp_mppe"), "{e}");
    }
}
