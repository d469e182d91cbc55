//! The IP Control Protocol (RFC 1332) with the name server options of
//! RFC 1877. Only IP-Address (3) and options 129-132 are negotiated;
//! IP-Addresses (1), IP-Compression-Protocol (2) and anything else are
//! Configure-Rejected.

use std::net::Ipv4Addr;

use super::error::Error;
use super::frame::Protocol;
use super::fsm::{self, Fsm, Options, Verdict};
use super::packet::Opt;

/// IP-Compression-Protocol (RFC 1332 §3.2), always rejected.
pub const OPT_IP_COMPRESSION: u8 = 2;
/// IP-Address (RFC 1332 §3.3).
pub const OPT_IP_ADDRESS: u8 = 3;
/// Primary DNS server (RFC 1877 §1.1).
pub const OPT_PRIMARY_DNS: u8 = 129;
/// Primary NBNS server (RFC 1877 §1.2).
pub const OPT_PRIMARY_NBNS: u8 = 130;
/// Secondary DNS server (RFC 1877 §1.3).
pub const OPT_SECONDARY_DNS: u8 = 131;
/// Secondary NBNS server (RFC 1877 §1.4).
pub const OPT_SECONDARY_NBNS: u8 = 132;

const NAME_SERVER_OPTS: [u8; 4] = [
    OPT_PRIMARY_DNS,
    OPT_PRIMARY_NBNS,
    OPT_SECONDARY_DNS,
    OPT_SECONDARY_NBNS,
];

/// IPCP policy. A server sets `local`, `remote` and the name servers; a
/// client leaves `local` empty (asking for 0.0.0.0) and sets `request_dns`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpcpConfig {
    /// Our address, requested as is; `None` asks the peer to assign one.
    pub local: Option<Ipv4Addr>,
    /// The address the peer must use (Nak'd to it otherwise); `None`
    /// accepts any non-zero address the peer asks for.
    pub remote: Option<Ipv4Addr>,
    /// Primary and secondary DNS servers to hand out (RFC 1877).
    pub dns: [Option<Ipv4Addr>; 2],
    /// Primary and secondary NBNS servers to hand out.
    pub nbns: [Option<Ipv4Addr>; 2],
    /// Ask the peer for DNS servers (options 129 and 131).
    pub request_dns: bool,
    /// Ask the peer for NBNS servers (options 130 and 132).
    pub request_nbns: bool,
}

impl IpcpConfig {
    /// The configured value for a name server option.
    fn name_server(&self, kind: u8) -> Option<Ipv4Addr> {
        match kind {
            OPT_PRIMARY_DNS => self.dns[0],
            OPT_SECONDARY_DNS => self.dns[1],
            OPT_PRIMARY_NBNS => self.nbns[0],
            OPT_SECONDARY_NBNS => self.nbns[1],
            _ => None,
        }
    }
}

/// The negotiated addresses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IpcpParams {
    /// Our address, as Acked by the peer.
    pub local: Option<Ipv4Addr>,
    /// The peer's address, as Acked by us.
    pub remote: Option<Ipv4Addr>,
    /// DNS servers the peer gave us.
    pub dns: [Option<Ipv4Addr>; 2],
    /// NBNS servers the peer gave us.
    pub nbns: [Option<Ipv4Addr>; 2],
}

/// The IPCP half of the automaton.
#[derive(Debug, Clone)]
pub struct IpcpOptions {
    config: IpcpConfig,
    /// IP-Address to request, `None` once rejected.
    want_addr: Option<Ipv4Addr>,
    /// Name server options to request, with the value to ask for.
    want_ns: Vec<(u8, Ipv4Addr)>,
    params: IpcpParams,
}

/// IPCP: the automaton with [`IpcpOptions`].
pub type Ipcp = Fsm<IpcpOptions>;

impl IpcpOptions {
    pub fn new(config: IpcpConfig) -> Self {
        let mut o = IpcpOptions {
            config,
            want_addr: None,
            want_ns: Vec::new(),
            params: IpcpParams::default(),
        };
        o.reset();
        o
    }

    /// The negotiated addresses (meaningful once Opened).
    pub fn params(&self) -> &IpcpParams {
        &self.params
    }

    /// Judge the peer's IP-Address (RFC 1332 §3.3).
    fn judge_address(&self, o: &Opt, nak: &mut Vec<Opt>, reject: &mut Vec<Opt>) {
        match (o.as_ipv4(), self.config.remote) {
            (Some(a), Some(assigned)) if a == assigned => {}
            (_, Some(assigned)) => nak.push(Opt::ipv4(OPT_IP_ADDRESS, assigned)),
            (Some(a), None) if !a.is_unspecified() => {}
            // Asked to assign, with nothing to assign.
            (_, None) => reject.push(o.clone()),
        }
    }
}

impl Options for IpcpOptions {
    fn reset(&mut self) {
        self.want_addr = Some(self.config.local.unwrap_or(Ipv4Addr::UNSPECIFIED));
        self.want_ns = NAME_SERVER_OPTS
            .iter()
            .filter(|k| match **k {
                OPT_PRIMARY_DNS | OPT_SECONDARY_DNS => self.config.request_dns,
                _ => self.config.request_nbns,
            })
            .map(|k| (*k, Ipv4Addr::UNSPECIFIED))
            .collect();
        self.params = IpcpParams::default();
    }

    fn request(&mut self) -> Vec<Opt> {
        let mut v: Vec<Opt> = self
            .want_addr
            .map(|a| Opt::ipv4(OPT_IP_ADDRESS, a))
            .into_iter()
            .collect();
        v.extend(self.want_ns.iter().map(|(k, a)| Opt::ipv4(*k, *a)));
        v
    }

    fn on_peer_request(&mut self, opts: &[Opt]) -> Verdict {
        let (mut nak, mut reject) = (Vec::new(), Vec::new());
        let mut saw_addr = false;
        for o in opts {
            match o.kind() {
                OPT_IP_ADDRESS => {
                    saw_addr = true;
                    self.judge_address(o, &mut nak, &mut reject);
                }
                k if NAME_SERVER_OPTS.contains(&k) => match self.config.name_server(k) {
                    Some(ns) if o.as_ipv4() == Some(ns) => {}
                    Some(ns) => nak.push(Opt::ipv4(k, ns)),
                    None => reject.push(o.clone()),
                },
                _ => reject.push(o.clone()),
            }
        }
        // §3.3: an address we must assign is appended when not asked for.
        if let (false, Some(assigned)) = (saw_addr, self.config.remote) {
            nak.push(Opt::ipv4(OPT_IP_ADDRESS, assigned));
        }
        Verdict::from_lists(nak, reject)
    }

    fn on_peer_acked(&mut self, opts: &[Opt]) {
        self.params.remote = opts
            .iter()
            .find(|o| o.kind() == OPT_IP_ADDRESS)
            .and_then(Opt::as_ipv4);
    }

    fn on_ack(&mut self, opts: &[Opt]) {
        let nonzero = |o: &Opt| o.as_ipv4().filter(|a| !a.is_unspecified());
        self.params.local = self.config.local;
        for o in opts {
            match o.kind() {
                OPT_IP_ADDRESS => self.params.local = nonzero(o),
                OPT_PRIMARY_DNS => self.params.dns[0] = nonzero(o),
                OPT_SECONDARY_DNS => self.params.dns[1] = nonzero(o),
                OPT_PRIMARY_NBNS => self.params.nbns[0] = nonzero(o),
                OPT_SECONDARY_NBNS => self.params.nbns[1] = nonzero(o),
                _ => {}
            }
        }
    }

    /// Take the addresses the peer suggests (RFC 1332 §3.3, RFC 1877).
    fn on_nak(&mut self, opts: &[Opt]) -> Result<(), Error> {
        for o in opts {
            let Some(a) = o.as_ipv4().filter(|a| !a.is_unspecified()) else {
                continue;
            };
            if o.kind() == OPT_IP_ADDRESS && self.want_addr.is_some() {
                self.want_addr = Some(a);
            } else if let Some(slot) = self.want_ns.iter_mut().find(|(k, _)| *k == o.kind()) {
                slot.1 = a;
            }
        }
        Ok(())
    }

    fn on_reject(&mut self, opts: &[Opt]) -> Result<(), Error> {
        for o in opts {
            if o.kind() == OPT_IP_ADDRESS {
                // Without an address of our own the link is useless.
                self.config.local.ok_or(Error::AddressRefused)?;
                self.want_addr = None;
            } else {
                self.want_ns.retain(|(k, _)| *k != o.kind());
            }
        }
        Ok(())
    }

    fn on_up(&mut self, _now: std::time::Instant) -> Result<(), Error> {
        match self.params.local {
            Some(_) => Ok(()),
            None => Err(Error::AddressRefused),
        }
    }
}

impl Fsm<IpcpOptions> {
    /// An IPCP automaton in the Initial state.
    pub fn with_config(config: IpcpConfig, fsm: fsm::Config) -> Self {
        Fsm::new(Protocol::IPCP, IpcpOptions::new(config), fsm)
    }

    /// The negotiated addresses.
    pub fn params(&self) -> &IpcpParams {
        self.options().params()
    }
}

#[cfg(test)]
mod tests;
