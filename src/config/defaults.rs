//! The file shipped as OpenWrt's `/etc/config/pptp-passthrough`. Every
//! option appears, set to its default or commented out with an example, so
//! the file doubles as the reference; only the helper's `wan` is set, to
//! OpenWrt's logical WAN, so that ticking the helper on works on a stock
//! router. A test checks that it parses to the `Default` values of the
//! model but for that one.

/// Default configuration file text: the file the OpenWrt package installs,
/// so the package and the binary cannot drift apart.
pub const DEFAULT_CONFIG: &str =
    include_str!("../../openwrt/pptp-passthrough/files/pptp-passthrough.config");
