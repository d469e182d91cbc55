//! What `/etc/config/pptp-passthrough` means: one section per component.
//! The `Default` impls below are the single place where defaults are
//! decided; [`super::DEFAULT_CONFIG`] documents them for users and a test
//! keeps the two in step.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

/// The whole file. Sections that are absent are `None`/empty, so callers
/// can tell "not configured" from "configured with defaults".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    /// `config helper` (one at most).
    pub helper: Option<HelperCfg>,
    /// `config server` (one at most).
    pub server: Option<ServerCfg>,
    /// `config client 'NAME'`, in file order.
    pub clients: Vec<ClientCfg>,
    /// `config user`: the server's logins kept in UCI (LuCI's Users page),
    /// with or instead of the chap-secrets file; in file order.
    pub users: Vec<UserCfg>,
}

/// One `config user` section.
#[derive(Clone, PartialEq, Eq)]
pub struct UserCfg {
    /// `name`: the login, required.
    pub name: String,
    /// `password`, required; never printed.
    pub password: String,
    /// `address`: a fixed tunnel address instead of one from the pool.
    pub address: Option<std::net::Ipv4Addr>,
    /// `enabled`, default on: off keeps the user but refuses the login.
    pub enabled: bool,
}

/// Hand-written so that the password never reaches a log.
impl std::fmt::Debug for UserCfg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCfg")
            .field("name", &self.name)
            .field("password", &format_args!("<redacted>"))
            .field("address", &self.address)
            .field("enabled", &self.enabled)
            .finish()
    }
}

impl Config {
    /// The client profile with this name.
    pub fn client(&self, name: &str) -> Option<&ClientCfg> {
        self.clients.iter().find(|c| c.name == name)
    }
}

/// `config helper 'passthrough'`: the PPTP passthrough NAT helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperCfg {
    /// `enabled`, default off: installing it changes the firewall.
    pub enabled: bool,
    /// `wan`: the masquerading interface; required when enabled.
    pub wan: Option<String>,
    /// `list lan`: empty (the default) means every interface but the WAN.
    pub lan: Vec<String>,
    /// `queue_num`, default 1723 (easy to recognise in the ruleset).
    pub queue_num: u16,
    /// `backend`, default auto.
    pub backend: Backend,
    /// `idle_timeout`, default 300 s: a control connection silent this long
    /// is dead (peers send echoes every 60 s).
    pub idle_timeout: Duration,
    /// `element_timeout`, default 18000 s: lifetime of kernel map elements,
    /// a safety net refreshed while the call lives.
    pub element_timeout: Duration,
    /// `gre_guard`, default auto.
    pub gre_guard: GreGuard,
}

impl Default for HelperCfg {
    fn default() -> Self {
        HelperCfg {
            enabled: false,
            wan: None,
            lan: Vec::new(),
            queue_num: 1723,
            backend: Backend::Auto,
            idle_timeout: Duration::from_secs(300),
            element_timeout: Duration::from_secs(18000),
            gre_guard: GreGuard::Auto,
        }
    }
}

/// How control segments reach the helper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// nftables if the kernel has it, else xtables.
    #[default]
    Auto,
    Nft,
    Xtables,
}

/// Where the helper stops GRE whose Call ID names no call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GreGuard {
    /// `raw` when this process also runs the server or a client profile
    /// (tunnels that end on the router), `flow` otherwise.
    #[default]
    Auto,
    /// Once per flow, in the NAT chain; drops it.
    Flow,
    /// Every packet, before conntrack; leaves it untracked, for tunnels
    /// that end on the router (pptpd, this program's server in another
    /// process).
    Raw,
}

/// Where an embedded endpoint's data (GRE, PPP framing, MPPE) runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DataPath {
    /// Userspace: a raw GRE socket and a TUN device; works everywhere.
    #[default]
    Tun,
    /// The kernel's `pptp`, `ppp_generic` and `ppp_mppe` modules; the
    /// endpoint refuses to start without them.
    Kernel,
    /// The kernel's path when the modules are there, else TUN.
    Auto,
}

/// `config server 'server'`: the embedded PPTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCfg {
    /// `enabled`, default off.
    pub enabled: bool,
    /// `list listen`, default 0.0.0.0 (every address).
    pub listen: Vec<Ipv4Addr>,
    /// `chap_secrets`, default /etc/ppp/chap-secrets (shared with pppd).
    pub chap_secrets: PathBuf,
    /// `local_ip`: the server's tunnel address; required when enabled.
    pub local_ip: Option<Ipv4Addr>,
    /// `pool_start`..=`pool_end`: peer addresses; required when enabled.
    pub pool: Option<IpPool>,
    /// `list dns` (at most 2), offered to peers; default none.
    pub dns: Vec<Ipv4Addr>,
    /// `list wins` (at most 2), offered to peers; default none.
    pub wins: Vec<Ipv4Addr>,
    /// `proxy_arp`, default off: answer ARP for peers on the LAN.
    pub proxy_arp: bool,
    /// `mss_clamp`, default on: tunnels have a smaller MTU and ICMP is
    /// often filtered, so TCP must be told.
    pub mss_clamp: bool,
    /// `data_path`: `tun` (default), `kernel` or `auto`.
    pub data_path: DataPath,
    /// `max_sessions`, default 100.
    pub max_sessions: u32,
    /// `max_pending_auth`, default 16: bounds work done for strangers.
    pub max_pending_auth: u32,
    /// `auth_fail_limit`, default 5 failures before a lockout.
    pub auth_fail_limit: u32,
    /// `lockout`, default 60 s; see [`ServerCfg::lockout_for`].
    pub lockout: Duration,
    /// `idle_timeout`, default 0 = `None`: never hang up idle sessions.
    pub idle_timeout: Option<Duration>,
    /// `ipv6`, default on: IPV6CP with link-local addresses (RFC 5072).
    pub ipv6: bool,
    /// `ipv6_prefix` (length 32-64): each session gets the next free /64
    /// of it, announced by Router Advertisements; default none.
    pub ipv6_prefix: Option<Ipv6Prefix>,
    /// `list ipv6_dns` (at most 3), announced as RDNSS (RFC 8106).
    pub ipv6_dns: Vec<std::net::Ipv6Addr>,
    /// `radius_*`: logins, accounting and disconnects through RADIUS.
    pub radius: RadiusCfg,
    /// `auth`, `mppe`, `mppe_bits`, `mppe_stateful`.
    pub security: Security,
}

/// One `list radius_server` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RadiusServer {
    pub addr: Ipv4Addr,
    /// Authentication port, 1812 unless given.
    pub auth_port: u16,
    /// Accounting port, 1813 unless given.
    pub acct_port: u16,
}

/// The server's RADIUS options; off while `servers` is empty.
#[derive(Clone, PartialEq, Eq)]
pub struct RadiusCfg {
    /// `list radius_server 'ADDR[:AUTHPORT[:ACCTPORT]]'`, in order of
    /// preference (failover and back).
    pub servers: Vec<RadiusServer>,
    /// `radius_secret`: shared with every server; never printed.
    pub secret: String,
    /// `radius_accounting`, default on.
    pub accounting: bool,
    /// `radius_interim`, default 0: Interim-Updates only when the server
    /// sends Acct-Interim-Interval; otherwise every this many seconds.
    pub interim: Option<Duration>,
    /// `radius_nas_identifier`, default `pptp-passthrough`.
    pub nas_identifier: String,
    /// `radius_fallback`, default off: the local users when no RADIUS
    /// server answers.
    pub fallback: bool,
    /// `radius_require_message_authenticator`, default on (the BlastRADIUS
    /// mitigation).
    pub require_message_authenticator: bool,
    /// `radius_dae_port`, default 0 (off): Disconnect and CoA Requests
    /// (RFC 5176) on this UDP port.
    pub dae_port: u16,
    /// `list radius_dae_client`: who may send them.
    pub dae_clients: Vec<Ipv4Addr>,
}

impl Default for RadiusCfg {
    fn default() -> Self {
        RadiusCfg {
            servers: Vec::new(),
            secret: String::new(),
            accounting: true,
            interim: None,
            nas_identifier: "pptp-passthrough".into(),
            fallback: false,
            require_message_authenticator: true,
            dae_port: 0,
            dae_clients: Vec::new(),
        }
    }
}

/// Hand-written so that the secret never reaches a log.
impl fmt::Debug for RadiusCfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RadiusCfg")
            .field("servers", &self.servers)
            .field("secret", &format_args!("<redacted>"))
            .field("accounting", &self.accounting)
            .field("interim", &self.interim)
            .field("nas_identifier", &self.nas_identifier)
            .field("fallback", &self.fallback)
            .field(
                "require_message_authenticator",
                &self.require_message_authenticator,
            )
            .field("dae_port", &self.dae_port)
            .field("dae_clients", &self.dae_clients)
            .finish()
    }
}

/// Longest lockout: a repeat offender is slowed down, never banned forever.
pub const LOCKOUT_MAX: Duration = Duration::from_secs(3600);

impl ServerCfg {
    /// Lockout after the `n`th (1-based) lockout in a row: `lockout`
    /// doubled per repeat, capped at [`LOCKOUT_MAX`] (or at `lockout` if
    /// that is set higher).
    pub fn lockout_for(&self, n: u32) -> Duration {
        let cap = self.lockout.max(LOCKOUT_MAX);
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.lockout.saturating_mul(factor).min(cap)
    }
}

impl Default for ServerCfg {
    fn default() -> Self {
        ServerCfg {
            enabled: false,
            listen: vec![Ipv4Addr::UNSPECIFIED],
            chap_secrets: PathBuf::from("/etc/ppp/chap-secrets"),
            local_ip: None,
            pool: None,
            dns: Vec::new(),
            wins: Vec::new(),
            proxy_arp: false,
            mss_clamp: true,
            data_path: DataPath::Tun,
            max_sessions: 100,
            max_pending_auth: 16,
            auth_fail_limit: 5,
            lockout: Duration::from_secs(60),
            idle_timeout: None,
            ipv6: true,
            ipv6_prefix: None,
            ipv6_dns: Vec::new(),
            radius: RadiusCfg::default(),
            security: Security::default(),
        }
    }
}

/// An inclusive range of IPv4 addresses, `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPool {
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

impl IpPool {
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (self.start..=self.end).contains(&ip)
    }

    /// Number of addresses (at least 1).
    pub fn size(&self) -> u64 {
        u64::from(u32::from(self.end)).saturating_sub(u32::from(self.start).into()) + 1
    }
}

/// Authentication and encryption, shared by the server and client profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Security {
    /// `list auth`, default mschapv2 only; in preference order, no repeats.
    pub auth: Vec<AuthMethod>,
    /// `mppe`, default require-128.
    pub mppe: Mppe,
    /// `list mppe_bits`, default 128 only; no repeats.
    pub mppe_bits: Vec<KeyBits>,
    /// `mppe_stateful`, default off: stateless mode survives packet loss.
    pub mppe_stateful: bool,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            auth: vec![AuthMethod::MsChapV2],
            mppe: Mppe::Require128,
            mppe_bits: vec![KeyBits::B128],
            mppe_stateful: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `mschapv2`
    MsChapV2,
    /// `mschapv1`
    MsChapV1,
    /// `chap` (MD5)
    Chap,
    /// `pap`
    Pap,
}

impl AuthMethod {
    /// Only MS-CHAP derives the keys MPPE needs.
    pub fn gives_mppe_keys(self) -> bool {
        matches!(self, AuthMethod::MsChapV2 | AuthMethod::MsChapV1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mppe {
    /// `require-128`: 128-bit MPPE or no session.
    #[default]
    Require128,
    /// `require`: MPPE with any allowed key length, or no session.
    Require,
    /// `optional`: MPPE if the peer agrees.
    Optional,
    /// `none`: never encrypt.
    None,
}

impl Mppe {
    pub fn required(self) -> bool {
        matches!(self, Mppe::Require128 | Mppe::Require)
    }
}

/// MPPE session key length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyBits {
    B40,
    B56,
    B128,
}

impl KeyBits {
    pub fn bits(self) -> u16 {
        match self {
            KeyBits::B40 => 40,
            KeyBits::B56 => 56,
            KeyBits::B128 => 128,
        }
    }
}

/// `config client 'NAME'`: a profile for dialing out.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCfg {
    /// The section name; required, it is how the profile is chosen.
    pub name: String,
    /// `server`: required.
    pub server: Host,
    /// `username`: required.
    pub username: String,
    /// `password`: required; never printed.
    pub password: String,
    /// `auth`, `mppe`, `mppe_bits`, `mppe_stateful`.
    pub security: Security,
    /// `routes` with its `list route` prefixes; default none.
    pub routes: Routes,
    /// `dns_file`: where to write the server's DNS servers; default none.
    pub dns_file: Option<PathBuf>,
    /// `autoconnect`, default off: dial when the daemon starts.
    pub autoconnect: bool,
    /// `reconnect`, default on: dial again after the link drops.
    pub reconnect: bool,
    /// `reconnect_min`, default 5 s: first retry delay, doubled up to max.
    pub reconnect_min: Duration,
    /// `reconnect_max`, default 300 s.
    pub reconnect_max: Duration,
    /// `mtu`, default 1400: fits PPP, GRE and IP inside a 1500-byte link.
    pub mtu: u16,
    /// `ipv6`, default on: IPV6CP, then SLAAC from the server's Router
    /// Advertisements.
    pub ipv6: bool,
    /// `data_path`: `tun` (default), `kernel` or `auto`.
    pub data_path: DataPath,
}

/// Placeholders for the required options, documented defaults for the rest.
impl Default for ClientCfg {
    fn default() -> Self {
        ClientCfg {
            name: String::new(),
            server: Host::Name(String::new()),
            username: String::new(),
            password: String::new(),
            security: Security::default(),
            routes: Routes::None,
            dns_file: None,
            autoconnect: false,
            reconnect: true,
            reconnect_min: Duration::from_secs(5),
            reconnect_max: Duration::from_secs(300),
            mtu: 1400,
            ipv6: true,
            data_path: DataPath::Tun,
        }
    }
}

/// Hand-written so that the password never reaches a log.
impl fmt::Debug for ClientCfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCfg")
            .field("name", &self.name)
            .field("server", &self.server)
            .field("username", &self.username)
            .field("password", &format_args!("<redacted>"))
            .field("security", &self.security)
            .field("routes", &self.routes)
            .field("dns_file", &self.dns_file)
            .field("autoconnect", &self.autoconnect)
            .field("reconnect", &self.reconnect)
            .field("reconnect_min", &self.reconnect_min)
            .field("reconnect_max", &self.reconnect_max)
            .field("mtu", &self.mtu)
            .field("ipv6", &self.ipv6)
            .finish()
    }
}

/// A server address as written: resolving is left to the I/O edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ip(Ipv4Addr),
    Name(String),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// What to route through a client tunnel (`routes` + `list route`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Routes {
    /// `none`: only the peer address.
    #[default]
    None,
    /// `default`: everything (the server itself stays outside).
    Default,
    /// `prefixes`: the `list route` prefixes (at least one), IPv4 or
    /// IPv6 (routed once IPv6 is up).
    Prefixes(Vec<RoutePrefix>),
}

/// One `list route` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoutePrefix {
    V4(Ipv4Prefix),
    V6(Ipv6Prefix),
}

/// An IPv6 prefix `addr/len` with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Prefix {
    addr: std::net::Ipv6Addr,
    len: u8,
}

impl Ipv6Prefix {
    /// `None` if `len > 128` or `addr` has bits set beyond `len`.
    pub fn new(addr: std::net::Ipv6Addr, len: u8) -> Option<Self> {
        let mask = u128::MAX
            .checked_shl(128 - u32::from(len.min(128)))
            .unwrap_or(0);
        (len <= 128 && u128::from(addr) & !mask == 0).then_some(Ipv6Prefix { addr, len })
    }

    pub fn addr(&self) -> std::net::Ipv6Addr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }

    /// The `i`th /64 inside this prefix (`len` at most 64), if there is one.
    pub fn subnet64(&self, i: u64) -> Option<std::net::Ipv6Addr> {
        let spare = 64u32.checked_sub(u32::from(self.len))?;
        if spare < 64 && i >> spare != 0 {
            return None;
        }
        let base = u128::from(self.addr);
        Some(std::net::Ipv6Addr::from(base | (u128::from(i) << 64)))
    }
}

impl fmt::Display for Ipv6Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// `a.b.c.d/len` with no host bits set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Prefix {
    addr: Ipv4Addr,
    len: u8,
}

impl Ipv4Prefix {
    /// `None` if `len > 32` or `addr` has bits set beyond `len`, which
    /// `ip route` would refuse too.
    pub fn new(addr: Ipv4Addr, len: u8) -> Option<Self> {
        let mask = u32::MAX
            .checked_shl(32 - u32::from(len.min(32)))
            .unwrap_or(0);
        (len <= 32 && u32::from(addr) & !mask == 0).then_some(Ipv4Prefix { addr, len })
    }

    pub fn addr(&self) -> Ipv4Addr {
        self.addr
    }

    pub fn prefix_len(&self) -> u8 {
        self.len
    }
}

impl fmt::Display for Ipv4Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
