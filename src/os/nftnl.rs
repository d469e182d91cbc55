//! The helper's own nf_tables netlink socket: call map changes go to the
//! kernel as one batch per drain (see `netfilter::nlmsg`) with no listing
//! and no cache, about one system call each way. `PPTP_PASSTHROUGH_NFT`
//! set to `libnftables` or `binary` turns it off (for comparison and
//! tests); refreshes always take the JSON path. The xtables back-end's
//! queue rules go over a socket of their own (see `netfilter::rulemsg`).

use std::sync::Mutex;

use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};

use crate::nat::Change;
use crate::netfilter::nlmsg::{self, DnatElem};
use crate::netfilter::rulesetmsg::{self, PptpHelper, Table};
use crate::netfilter::{Dump, NFPROTO_INET, NFPROTO_IPV4, Setup, TABLE, rulemsg};

struct NfSock {
    s: Socket,
    seq: u32,
    /// For acknowledgements; kept, so a batch allocates nothing here.
    buf: Vec<u8>,
}

/// `None`: not tried yet; `Some(None)`: not available or turned off.
static SOCK: Mutex<Option<Option<NfSock>>> = Mutex::new(None);

fn open() -> Option<NfSock> {
    if std::env::var("PPTP_PASSTHROUGH_NFT").is_ok_and(|v| v == "binary" || v == "libnftables") {
        return None;
    }
    let mut s = Socket::new(NETLINK_NETFILTER).ok()?;
    s.bind_auto().ok()?;
    // Acknowledgements carry only the header of what they answer.
    s.set_cap_ack(true).ok()?;
    // The kernel answers a batch before sendmsg returns; never wait.
    s.set_non_blocking(true).ok()?;
    // A batch is one datagram and must fit the send buffer.
    force_sndbuf(&s, SNDBUF).ok()?;
    let seq = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1);
    Some(NfSock {
        s,
        seq,
        buf: vec![0; 16 * 1024],
    })
}

/// Send buffer, and the largest batch sent this way (a drain of 64 full
/// segments of call requests needs about 0.5 MiB); larger ones take the
/// JSON path, which libnftables splits.
const SNDBUF: usize = 4 << 20;

fn force_sndbuf(s: &Socket, bytes: usize) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SO_SNDBUFFORCE ignores wmem_max (the helper has CAP_NET_ADMIN).
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    super::setsockopt_int(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, v)
}

/// Whether batches go over the helper's own socket.
pub fn available() -> bool {
    let mut g = SOCK.lock().unwrap_or_else(|e| e.into_inner());
    g.get_or_insert_with(open).is_some()
}

/// Send `changes` as one transaction; `None` when this path cannot take
/// them (turned off, no socket, or a refresh among them).
pub fn apply(
    changes: &[Change],
    gre_lookup: Option<crate::netfilter::GreLookup>,
    element_timeout: u32,
) -> Option<Result<(), String>> {
    if !nlmsg::encodable(changes) {
        return None;
    }
    let mut g = SOCK.lock().unwrap_or_else(|e| e.into_inner());
    let sock = g.get_or_insert_with(open).as_mut()?;
    let (bytes, want) = nlmsg::batch(changes, gre_lookup, element_timeout, sock.seq);
    if bytes.len() > SNDBUF / 2 {
        return None;
    }
    let msgs = bytes.len() as u32; // an upper bound on the messages in it
    sock.seq = sock.seq.wrapping_add(msgs);
    if want == 0 {
        return Some(Ok(()));
    }
    Some(exchange(&sock.s, &bytes, want, &mut sock.buf))
}

fn exchange(s: &Socket, bytes: &[u8], want: u32, buf: &mut [u8]) -> Result<(), String> {
    // What an earlier batch left (its last acknowledgement after an error)
    // must not be taken for this batch's answer.
    for _ in 0..64 {
        if s.recv(&mut &mut buf[..], 0).is_err() {
            break;
        }
    }
    let kernel = netlink_sys::SocketAddr::new(0, 0);
    s.send_to(bytes, &kernel, 0)
        .map_err(|e| format!("nf_tables batch not sent: {e}"))?;
    // Errors of failing messages come first, then the last message's
    // acknowledgement; the kernel has queued them all before send returns.
    let (mut seen, mut first_err) = (0, None);
    while seen < want && first_err.is_none() {
        let n = match s.recv(&mut &mut buf[..], 0) {
            Ok(n) => n,
            Err(e) => {
                return Err(format!(
                    "nf_tables: {seen} of {want} acknowledgements, then: {e}"
                ));
            }
        };
        let (k, err) = nlmsg::acks(&buf[..n]);
        seen += k;
        first_err = first_err.or(err);
    }
    match first_err {
        None => Ok(()),
        Some(code) => Err(format!(
            "nf_tables rejected the batch: {}",
            std::io::Error::from_raw_os_error(-code)
        )),
    }
}

/// A socket of its own for one request apart from the element batches:
/// the queue rules (sent at start and on a restore, looked at every few
/// seconds) and the status dump, whatever path the batches take.
fn request_socket() -> Result<Socket, String> {
    let mut s = Socket::new(NETLINK_NETFILTER).map_err(|e| format!("netlink socket: {e}"))?;
    s.bind_auto().map_err(|e| format!("netlink bind: {e}"))?;
    s.set_cap_ack(true).map_err(|e| format!("netlink: {e}"))?;
    s.set_non_blocking(true)
        .map_err(|e| format!("netlink: {e}"))?;
    Ok(s)
}

fn request_seq() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(1)
}

/// The queue rules of the xtables back-end: (chain, queue) for each.
fn queue_rules(s: &Setup) -> [(&'static str, u16); 2] {
    let [est, new] = rulemsg::QUEUE_CHAINS;
    [(est, s.established_queue()), (new, s.queue_num)]
}

/// Put the xtables back-end's NFQUEUE rules into the helper's table (its
/// queue chains must exist: `install_table` declares them), replacing
/// whatever those chains held, in one transaction. Fails where the kernel
/// has no nft_compat or no xt_NFQUEUE.
pub fn install_queue_rules(s: &Setup) -> Result<(), String> {
    let sock = request_socket()?;
    let bytes = rulemsg::install(&queue_rules(s), request_seq());
    let mut buf = vec![0; 16 * 1024];
    exchange(&sock, &bytes, 1, &mut buf)
}

/// Datagrams a dump may take: at 10 000 calls the one of `gre_dnat` takes
/// about 60 (the kernel fills each up to the 32 KiB read).
const MAX_DUMP_DATAGRAMS: usize = 4096;

/// Send a dump `request` on `sock` and read every datagram of the answer
/// with `read`: the items, or the kernel's error (a negative errno).
fn dump<T>(
    sock: &Socket,
    request: &[u8],
    read: impl Fn(&[u8]) -> Dump<T>,
) -> Result<Result<Vec<T>, i32>, String> {
    // A dump's datagrams are as large as the reads that take them, up to
    // 32 KiB: one larger read never sees a datagram cut. The kernel fills
    // the first before send returns and each next one as one is read.
    let mut buf = vec![0; 64 * 1024];
    let kernel = netlink_sys::SocketAddr::new(0, 0);
    sock.send_to(request, &kernel, 0)
        .map_err(|e| format!("dump not sent: {e}"))?;
    let mut items = Vec::new();
    for _ in 0..MAX_DUMP_DATAGRAMS {
        let n = sock
            .recv(&mut &mut buf[..], 0)
            .map_err(|e| format!("dump: {e}"))?;
        let d = read(&buf[..n]);
        items.extend(d.items);
        if let Some(code) = d.error {
            return Ok(Err(code));
        }
        if d.done {
            return Ok(Ok(items));
        }
    }
    Err(format!("dump: no end after {MAX_DUMP_DATAGRAMS} datagrams"))
}

/// Whether each queue chain holds exactly its one NFQUEUE rule, with the
/// right queue; false when a chain or the table is gone.
pub fn queue_rules_present(s: &Setup) -> Result<bool, String> {
    let sock = request_socket()?;
    for (chain, queue) in queue_rules(s) {
        let request = rulemsg::rules_request(NFPROTO_IPV4, TABLE, chain, request_seq());
        let rules =
            dump(&sock, &request, rulemsg::dumped).map_err(|e| format!("rules of {chain}: {e}"))?;
        if rules.ok().as_deref() != Some(&[(chain.to_string(), Some(queue))][..]) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Every `gre_dnat` element, dumped over a socket of its own (none when
/// the table or map is gone); None when the helper's own socket is turned
/// off (then the caller lists the table with nft).
pub fn dnat_elements() -> Option<Result<Vec<DnatElem>, String>> {
    if !available() {
        return None;
    }
    Some(dump_dnat())
}

fn dump_dnat() -> Result<Vec<DnatElem>, String> {
    let request = nlmsg::dnat_dump_request(request_seq());
    match own_dump(&request, nlmsg::dnat_dumped, "elements")? {
        Ok(elems) => Ok(elems),
        // The table or the map is gone (a ruleset flush): no calls in it.
        Err(code) if code == -libc::ENOENT => Ok(Vec::new()),
        Err(code) => Err(errno_text("element dump", code)),
    }
}

/// Every table of the ruleset, every family, over a socket of its own;
/// None when the helper's own socket is turned off.
pub fn tables() -> Option<Result<Vec<Table>, String>> {
    if !available() {
        return None;
    }
    let request = rulesetmsg::tables_request(request_seq());
    let r = own_dump(&request, rulesetmsg::tables_dumped, "tables");
    Some(r.and_then(|r| r.map_err(|code| errno_text("tables", code))))
}

/// The ct helper objects of the kernel's PPTP helper in any table; None
/// when the helper's own socket is turned off.
pub fn pptp_helper_objects() -> Option<Result<Vec<PptpHelper>, String>> {
    if !available() {
        return None;
    }
    let what = "ct helper objects";
    let request = rulesetmsg::ct_helpers_request(request_seq());
    let r = own_dump(&request, rulesetmsg::pptp_helpers_dumped, what);
    Some(r.and_then(|r| r.map_err(|code| errno_text(what, code))))
}

/// Whether the firewall's part of the helper's dispatch is loaded and
/// reached: one `inet` table holds its chains, and rules of that table's
/// base chains in the forward hook jump to each (a chain's use count
/// would not tell: it counts the chain's own rules too). One dump of the
/// chains, one of each such base chain's rules (fw4 has two). None when
/// the helper's own socket is turned off.
pub fn firewall_dispatch() -> Option<Result<bool, String>> {
    available().then(firewall_dispatch_reached)
}

fn firewall_dispatch_reached() -> Result<bool, String> {
    let [tcp, _, icmp] = crate::netfilter::FW_CHAINS;
    let names = [tcp, icmp];
    let what = "the firewall's chains";
    let request = rulesetmsg::inet_chains_request(request_seq());
    let chains = own_dump(&request, rulesetmsg::chains_dumped, what)?
        .map_err(|code| errno_text(what, code))?;
    for (table, bases) in rulesetmsg::dispatch_tables(&chains, &names) {
        let mut reached = Vec::new();
        for base in bases {
            let what = "the firewall's rules";
            let request = rulemsg::rules_request(NFPROTO_INET, &table, &base, request_seq());
            let rules = own_dump(&request, rulesetmsg::jump_targets_dumped, what)?
                .map_err(|code| errno_text(what, code))?;
            reached.extend(rules.into_iter().flatten());
        }
        if names.iter().all(|n| reached.iter().any(|r| r == n)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// [`dump`] on a socket of its own.
fn own_dump<T>(
    request: &[u8],
    read: impl Fn(&[u8]) -> Dump<T>,
    what: &str,
) -> Result<Result<Vec<T>, i32>, String> {
    let sock = request_socket()?;
    dump(&sock, request, read).map_err(|e| format!("{what} {e}"))
}

/// The kernel's error `code` (a negative errno) in words.
fn errno_text(what: &str, code: i32) -> String {
    format!("{what}: {}", std::io::Error::from_raw_os_error(-code))
}
