//! From UCI sections to the typed model: every option is checked against
//! its section's list (a typo must not be silently ignored), every value
//! against its form, then the section as a whole.

use std::net::Ipv4Addr;

use super::ConfigError;
use super::model::{
    ClientCfg, Config, HelperCfg, IpPool, KeyBits, Mppe, Routes, Security, ServerCfg, UserCfg,
};
use super::uci::{Section, Value};
use super::value::{self as val, *};

const HELPER_OPTIONS: &str =
    "enabled, wan, lan, queue_num, backend, idle_timeout, element_timeout, gre_guard";
const SERVER_OPTIONS: &str = "enabled, listen, chap_secrets, local_ip, pool_start, pool_end, \
     dns, wins, proxy_arp, mss_clamp, data_path, max_sessions, max_pending_auth, auth_fail_limit, lockout, \
     idle_timeout, ipv6, ipv6_prefix, ipv6_dns, radius_server, radius_secret, radius_accounting, \
     radius_interim, radius_nas_identifier, radius_fallback, radius_require_message_authenticator, \
     radius_dae_port, radius_dae_client, auth, mppe, mppe_bits, mppe_stateful";
const USER_OPTIONS: &str = "enabled, name, password, address";
const CLIENT_OPTIONS: &str = "server, username, password, auth, mppe, mppe_bits, mppe_stateful, \
     routes, route, dns_file, autoconnect, reconnect, reconnect_min, reconnect_max, mtu, ipv6, \
     data_path";

/// Parses the text of the config file; `file_name` only names it in errors.
pub fn parse(file_name: &str, text: &str) -> Result<Config, ConfigError> {
    let sections = super::uci::parse_uci(file_name, text)?;
    config(file_name, &sections)
}

/// Reads and parses the config file.
pub fn load(path: &std::path::Path) -> Result<Config, ConfigError> {
    let (file, text) = super::read(path)?;
    parse(&file, &text)
}

/// The model of a parsed file; sections in any order.
pub fn config(file: &str, sections: &[Section]) -> Result<Config, ConfigError> {
    let mut cfg = Config::default();
    let (mut helper_line, mut server_line) = (None, None);
    let mut users_seen: Vec<(String, usize)> = Vec::new();
    for s in sections {
        let what = match (s.kind.as_str(), &s.name) {
            ("client", Some(name)) => format!("client '{name}'"),
            ("user", Some(name)) => format!("user '{name}'"),
            (kind, _) => format!("{kind} section"),
        };
        let ctx = Ctx { file, s, what };
        match s.kind.as_str() {
            "helper" => {
                ctx.once(&mut helper_line)?;
                cfg.helper = Some(helper(&ctx)?);
            }
            "server" => {
                ctx.once(&mut server_line)?;
                cfg.server = Some(server(&ctx)?);
            }
            "client" => {
                let Some(name) = &s.name else {
                    return Err(
                        ctx.invalid(s.line, "expected a profile name, config client 'NAME'")
                    );
                };
                cfg.clients.push(client(&ctx, name)?);
            }
            "user" => {
                let u = user(&ctx)?;
                if let Some(first) = users_seen.iter().find(|(n, _)| *n == u.name) {
                    return Err(ctx.invalid(
                        ctx.line_of("name"),
                        format!("user {:?} is already defined on line {}", u.name, first.1),
                    ));
                }
                users_seen.push((u.name.clone(), ctx.line_of("name")));
                cfg.users.push(u);
            }
            _ => {
                return Err(ConfigError::UnknownSection {
                    file: file.to_string(),
                    line: s.line,
                    kind: s.kind.clone(),
                });
            }
        }
    }
    Ok(cfg)
}

/// Error context: the file and the section being read.
struct Ctx<'a> {
    file: &'a str,
    s: &'a Section,
    what: String,
}

type R<T> = Result<T, ConfigError>;

impl Ctx<'_> {
    fn invalid(&self, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            file: self.file.to_string(),
            line,
            section: self.what.clone(),
            message: message.into(),
        }
    }

    fn bad(&self, line: usize, option: &str, expected: &str, value: &str) -> ConfigError {
        ConfigError::InvalidValue {
            file: self.file.to_string(),
            line,
            what: format!("option '{option}'"),
            expected: expected.to_string(),
            value: value.to_string(),
        }
    }

    fn unknown(&self, line: usize, option: &str, expected: &str) -> ConfigError {
        ConfigError::UnknownOption {
            file: self.file.to_string(),
            line,
            section: self.what.clone(),
            option: option.to_string(),
            expected: expected.to_string(),
        }
    }

    /// Helper and server exist once; a second one is most likely a copy
    /// and paste whose settings would silently replace the first.
    fn once(&self, seen: &mut Option<usize>) -> R<()> {
        match *seen {
            Some(first) => Err(self.invalid(
                self.s.line,
                format!(
                    "expected one 'config {}' section, found another (the first is at line {first})",
                    self.s.kind
                ),
            )),
            None => {
                *seen = Some(self.s.line);
                Ok(())
            }
        }
    }

    /// The line of an option, or of the section if it is absent.
    fn line_of(&self, option: &str) -> usize {
        self.s
            .options
            .iter()
            .find(|(n, _, _)| n == option)
            .map_or(self.s.line, |(_, _, l)| *l)
    }

    /// The value of a single-valued option (no value is echoed: it could be
    /// a password).
    fn one<'v>(&self, name: &str, v: &'v Value, line: usize) -> R<&'v str> {
        match v {
            Value::Single(s) => Ok(s),
            Value::List(_) => Err(self.invalid(
                line,
                format!("expected 'option {name} VALUE', found 'list {name}' (it takes one value)"),
            )),
        }
    }

    fn get<T>(&self, n: &str, v: &Value, l: usize, f: fn(&str) -> Option<T>, e: &str) -> R<T> {
        let s = self.one(n, v, l)?;
        f(s).ok_or_else(|| self.bad(l, n, e, s))
    }

    /// Every item of a list option, parsed; repeats are dropped.
    fn all<T: PartialEq>(
        &self,
        n: &str,
        v: &Value,
        l: usize,
        f: fn(&str) -> Option<T>,
        e: &str,
    ) -> R<Vec<T>> {
        let mut out = Vec::new();
        for s in v.items() {
            let x = f(s).ok_or_else(|| self.bad(l, n, e, s))?;
            if !out.contains(&x) {
                out.push(x);
            }
        }
        Ok(out)
    }

    /// A required option that is missing.
    fn require<T>(&self, x: Option<T>, option: &str, when: &str) -> R<T> {
        x.ok_or_else(|| self.missing(self.s.line, option, when))
    }

    fn missing(&self, line: usize, option: &str, when: &str) -> ConfigError {
        self.invalid(line, format!("option '{option}' is required{when}"))
    }
}

fn helper(ctx: &Ctx) -> R<HelperCfg> {
    let mut h = HelperCfg::default();
    for (n, v, l) in &ctx.s.options {
        let l = *l;
        match n.as_str() {
            "enabled" => h.enabled = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "wan" => h.wan = Some(ctx.get(n, v, l, ifname, EXPECT_IFNAME)?),
            "lan" => h.lan = ctx.all(n, v, l, ifname, EXPECT_IFNAME)?,
            "queue_num" => h.queue_num = ctx.get(n, v, l, val::u16, EXPECT_U16)?,
            "backend" => h.backend = ctx.get(n, v, l, backend, EXPECT_BACKEND)?,
            "idle_timeout" => h.idle_timeout = ctx.get(n, v, l, secs_pos, EXPECT_SECS_POS)?,
            "element_timeout" => {
                h.element_timeout = ctx.get(n, v, l, secs_pos, EXPECT_SECS_POS)?;
            }
            "gre_guard" => h.gre_guard = ctx.get(n, v, l, gre_guard, EXPECT_GRE_GUARD)?,
            _ => return Err(ctx.unknown(l, n, HELPER_OPTIONS)),
        }
    }
    if h.enabled {
        ctx.require(h.wan.as_ref(), "wan", " when enabled")?;
    }
    if let Some(wan) = h.wan.as_ref().filter(|w| h.lan.contains(w)) {
        return Err(ctx.invalid(
            ctx.line_of("lan"),
            format!("interface '{wan}' is both 'wan' and 'lan', expected different interfaces"),
        ));
    }
    Ok(h)
}

fn server(ctx: &Ctx) -> R<ServerCfg> {
    let mut s = ServerCfg::default();
    let (mut start, mut end) = (None, None);
    for (n, v, l) in &ctx.s.options {
        let l = *l;
        match n.as_str() {
            "enabled" => s.enabled = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "listen" => s.listen = ctx.all(n, v, l, ipv4, EXPECT_IPV4)?,
            "chap_secrets" => s.chap_secrets = ctx.get(n, v, l, path, EXPECT_PATH)?,
            "local_ip" => s.local_ip = Some(ctx.get(n, v, l, ipv4, EXPECT_IPV4)?),
            "pool_start" => start = Some(ctx.get(n, v, l, ipv4, EXPECT_IPV4)?),
            "pool_end" => end = Some(ctx.get(n, v, l, ipv4, EXPECT_IPV4)?),
            "dns" | "wins" => {
                let ips = ctx.all(n, v, l, ipv4, EXPECT_IPV4)?;
                if ips.len() > 2 {
                    let msg = format!(
                        "'list {n}': expected at most 2 addresses, found {}",
                        ips.len()
                    );
                    return Err(ctx.invalid(l, msg));
                }
                *if n == "dns" { &mut s.dns } else { &mut s.wins } = ips;
            }
            "proxy_arp" => s.proxy_arp = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "mss_clamp" => s.mss_clamp = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "data_path" => s.data_path = ctx.get(n, v, l, data_path, EXPECT_DATA_PATH)?,
            "max_sessions" => s.max_sessions = ctx.get(n, v, l, val::u32, EXPECT_U32)?,
            "max_pending_auth" => s.max_pending_auth = ctx.get(n, v, l, val::u32, EXPECT_U32)?,
            "auth_fail_limit" => s.auth_fail_limit = ctx.get(n, v, l, val::u32, EXPECT_U32)?,
            "lockout" => s.lockout = ctx.get(n, v, l, secs, EXPECT_SECS)?,
            "ipv6" => s.ipv6 = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "ipv6_prefix" => {
                s.ipv6_prefix = Some(ctx.get(n, v, l, prefix6_pool, EXPECT_PREFIX6_POOL)?);
            }
            "ipv6_dns" => {
                s.ipv6_dns = ctx.all(n, v, l, ipv6, EXPECT_IPV6)?;
                if s.ipv6_dns.len() > crate::wire::nd::MAX_RDNSS {
                    let msg = format!(
                        "'list ipv6_dns': expected at most {} addresses, found {}",
                        crate::wire::nd::MAX_RDNSS,
                        s.ipv6_dns.len()
                    );
                    return Err(ctx.invalid(l, msg));
                }
            }
            "radius_server" => {
                s.radius.servers = ctx.all(n, v, l, radius_server, EXPECT_RADIUS_SERVER)?
            }
            "radius_secret" => s.radius.secret = ctx.get(n, v, l, secret, EXPECT_SECRET)?,
            "radius_accounting" => {
                s.radius.accounting = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?
            }
            "radius_interim" => {
                s.radius.interim =
                    Some(ctx.get(n, v, l, secs, EXPECT_SECS)?).filter(|d| !d.is_zero());
            }
            "radius_nas_identifier" => {
                s.radius.nas_identifier = ctx.get(n, v, l, nas_id, EXPECT_NAS_ID)?;
            }
            "radius_fallback" => s.radius.fallback = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "radius_require_message_authenticator" => {
                s.radius.require_message_authenticator =
                    ctx.get(n, v, l, val::bool, EXPECT_BOOL)?;
            }
            "radius_dae_port" => s.radius.dae_port = ctx.get(n, v, l, val::u16, EXPECT_U16)?,
            "radius_dae_client" => s.radius.dae_clients = ctx.all(n, v, l, ipv4, EXPECT_IPV4)?,
            "idle_timeout" => {
                s.idle_timeout =
                    Some(ctx.get(n, v, l, secs, EXPECT_SECS)?).filter(|d| !d.is_zero());
            }
            _ if security(ctx, &mut s.security, n, v, l)? => {}
            _ => return Err(ctx.unknown(l, n, SERVER_OPTIONS)),
        }
    }
    if s.listen.len() > 1 && s.listen.contains(&Ipv4Addr::UNSPECIFIED) {
        return Err(ctx.invalid(
            ctx.line_of("listen"),
            "'list listen': 0.0.0.0 already covers every address, expected it alone",
        ));
    }
    s.pool = match (start, end) {
        (None, None) => None,
        (Some(start), Some(end)) if start <= end => Some(IpPool { start, end }),
        (Some(start), Some(end)) => {
            return Err(ctx.invalid(
                ctx.line_of("pool_end"),
                format!("expected pool_start <= pool_end, found {start} > {end}"),
            ));
        }
        (Some(_), None) => {
            return Err(ctx.missing(ctx.line_of("pool_start"), "pool_end", " with pool_start"));
        }
        (None, Some(_)) => {
            return Err(ctx.missing(ctx.line_of("pool_end"), "pool_start", " with pool_end"));
        }
    };
    if let (Some(ip), Some(pool)) = (s.local_ip, s.pool) {
        if pool.contains(ip) {
            return Err(ctx.invalid(
                ctx.line_of("local_ip"),
                format!(
                    "local_ip {ip} lies in the pool {}-{}, expected an address outside it",
                    pool.start, pool.end
                ),
            ));
        }
    }
    if !s.radius.servers.is_empty() && s.radius.secret.is_empty() {
        return Err(ctx.missing(
            ctx.line_of("radius_server"),
            "radius_secret",
            " with radius_server",
        ));
    }
    if s.radius.dae_port != 0 && s.radius.dae_clients.is_empty() {
        return Err(ctx.missing(
            ctx.line_of("radius_dae_port"),
            "radius_dae_client",
            " with radius_dae_port",
        ));
    }
    if s.enabled {
        ctx.require(s.local_ip, "local_ip", " when enabled")?;
        ctx.require(s.pool, "pool_start", " when enabled")?;
    }
    check_security(ctx, &s.security)?;
    Ok(s)
}

fn user(ctx: &Ctx) -> R<UserCfg> {
    let (mut name, mut pass, mut address, mut enabled) = (None, None, None, true);
    for (n, v, l) in &ctx.s.options {
        let l = *l;
        match n.as_str() {
            "name" => name = Some(ctx.get(n, v, l, username, EXPECT_USER)?),
            "password" => pass = Some(password(ctx, ctx.one(n, v, l)?, l)?),
            "address" => address = Some(ctx.get(n, v, l, ipv4, EXPECT_IPV4)?),
            "enabled" => enabled = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            _ => return Err(ctx.unknown(l, n, USER_OPTIONS)),
        }
    }
    Ok(UserCfg {
        name: ctx.require(name, "name", "")?,
        password: ctx.require(pass, "password", "")?,
        address,
        enabled,
    })
}

fn client(ctx: &Ctx, name: &str) -> R<ClientCfg> {
    let mut c = ClientCfg {
        name: name.to_string(),
        ..ClientCfg::default()
    };
    let (mut server, mut user, mut pass) = (None, None, None);
    let (mut routes, mut prefixes) = (None, Vec::new());
    for (n, v, l) in &ctx.s.options {
        let l = *l;
        match n.as_str() {
            "server" => server = Some(ctx.get(n, v, l, host, EXPECT_HOST)?),
            "username" => user = Some(ctx.get(n, v, l, username, EXPECT_USER)?),
            "password" => pass = Some(password(ctx, ctx.one(n, v, l)?, l)?),
            "routes" => routes = Some(ctx.get(n, v, l, routes_kind, EXPECT_ROUTES)?),
            "route" => prefixes = ctx.all(n, v, l, route, EXPECT_ROUTE)?,
            "dns_file" => c.dns_file = Some(ctx.get(n, v, l, path, EXPECT_PATH)?),
            "autoconnect" => c.autoconnect = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "reconnect" => c.reconnect = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "reconnect_min" => c.reconnect_min = ctx.get(n, v, l, secs_pos, EXPECT_SECS_POS)?,
            "reconnect_max" => c.reconnect_max = ctx.get(n, v, l, secs_pos, EXPECT_SECS_POS)?,
            "mtu" => c.mtu = ctx.get(n, v, l, mtu, EXPECT_MTU)?,
            "ipv6" => c.ipv6 = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
            "data_path" => c.data_path = ctx.get(n, v, l, data_path, EXPECT_DATA_PATH)?,
            _ if security(ctx, &mut c.security, n, v, l)? => {}
            _ => return Err(ctx.unknown(l, n, CLIENT_OPTIONS)),
        }
    }
    c.server = ctx.require(server, "server", "")?;
    c.username = ctx.require(user, "username", "")?;
    c.password = ctx.require(pass, "password", "")?;
    c.routes = match (routes.unwrap_or(Routes::None), prefixes.is_empty()) {
        (Routes::Prefixes(_), false) => Routes::Prefixes(prefixes),
        (Routes::Prefixes(_), true) => {
            return Err(ctx.invalid(
                ctx.line_of("routes"),
                "routes 'prefixes' expected at least one 'list route' prefix",
            ));
        }
        (_, false) => {
            return Err(ctx.invalid(
                ctx.line_of("route"),
                "'list route' has no effect, expected option routes 'prefixes' with it",
            ));
        }
        (r, true) => r,
    };
    if c.reconnect_min > c.reconnect_max {
        return Err(ctx.invalid(
            ctx.line_of("reconnect_max"),
            format!(
                "expected reconnect_min <= reconnect_max, found {} > {}",
                c.reconnect_min.as_secs(),
                c.reconnect_max.as_secs()
            ),
        ));
    }
    check_security(ctx, &c.security)?;
    Ok(c)
}

/// The options shared by server and client; `false` if `n` is not one.
fn security(ctx: &Ctx, sec: &mut Security, n: &str, v: &Value, l: usize) -> R<bool> {
    match n {
        "auth" => sec.auth = ctx.all(n, v, l, auth, EXPECT_AUTH)?,
        "mppe" => sec.mppe = ctx.get(n, v, l, mppe, EXPECT_MPPE)?,
        "mppe_bits" => sec.mppe_bits = ctx.all(n, v, l, bits, EXPECT_BITS)?,
        "mppe_stateful" => sec.mppe_stateful = ctx.get(n, v, l, val::bool, EXPECT_BOOL)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// Combinations that can never bring a session up are errors, not warnings.
fn check_security(ctx: &Ctx, sec: &Security) -> R<()> {
    if sec.mppe.required() && !sec.auth.iter().any(|a| a.gives_mppe_keys()) {
        return Err(ctx.invalid(
            ctx.line_of("auth"),
            "MPPE is required but only MS-CHAP yields its keys, expected 'list auth mschapv2'",
        ));
    }
    if sec.mppe == Mppe::Require128 && sec.mppe_bits.iter().any(|b| *b != KeyBits::B128) {
        return Err(ctx.invalid(
            ctx.line_of("mppe_bits"),
            "mppe 'require-128' allows only 128-bit keys, expected mppe_bits '128' alone \
             or mppe 'require'",
        ));
    }
    Ok(())
}

fn password(ctx: &Ctx, s: &str, line: usize) -> R<String> {
    // 256 characters is MS-CHAP's limit (RFC 2759).
    if s.is_empty() || s.chars().count() > 256 {
        return Err(ctx.invalid(line, "option 'password': expected 1 to 256 characters"));
    }
    Ok(s.to_string())
}
