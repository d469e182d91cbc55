//! The file shipped as OpenWrt's `/etc/config/pptp-passthrough`. Every
//! option appears, set to its default or commented out with an example, so
//! the file doubles as the reference. A test checks that it parses to the
//! `Default` values of the model.

/// Default configuration file text.
pub const DEFAULT_CONFIG: &str = r#"# pptp-passthrough configuration (UCI). Values shown are the defaults.
# Booleans take 1/0, true/false, yes/no or on/off. Times are in seconds.

# PPTP passthrough NAT helper: lets several LAN clients reach PPTP servers
# through this router's masquerading.
config helper 'passthrough'
	# Run the helper (it changes the firewall, so it is off by default).
	option enabled '0'
	# WAN interface doing the masquerading; required when enabled.
	#option wan 'eth1'
	# LAN interfaces with PPTP clients (repeat the line); none = all but wan.
	#list lan 'br-lan'
	# NFQUEUE number used for PPTP control connections.
	option queue_num '1723'
	# Firewall backend: 'auto', 'nft' or 'xtables'.
	option backend 'auto'
	# A control connection silent this long is considered dead.
	option idle_timeout '300'
	# Lifetime of kernel GRE mappings (refreshed while a call lives).
	option element_timeout '18000'

# Embedded PPTP server.
config server 'server'
	# Run the server.
	option enabled '0'
	# Addresses to accept connections on (repeat the line).
	list listen '0.0.0.0'
	# pppd-style secrets file: client server secret [address].
	option chap_secrets '/etc/ppp/chap-secrets'
	# Server's own tunnel address; required when enabled.
	#option local_ip '192.168.200.1'
	# First and last address handed to peers; required when enabled.
	#option pool_start '192.168.200.10'
	#option pool_end '192.168.200.50'
	# DNS servers offered to peers (at most 2).
	#list dns '192.168.1.1'
	# WINS servers offered to peers (at most 2).
	#list wins '192.168.1.2'
	# Answer ARP on the LAN for peer addresses from the LAN's subnet.
	option proxy_arp '0'
	# Clamp TCP MSS to the tunnel MTU (needed when ICMP is filtered).
	option mss_clamp '1'
	# Most sessions at once.
	option max_sessions '100'
	# Most connections still authenticating at once.
	option max_pending_auth '16'
	# Failed logins from one address before it is locked out.
	option auth_fail_limit '5'
	# First lockout; doubled on each repeat, up to 3600.
	option lockout '60'
	# Hang up sessions idle this long; 0 = never.
	option idle_timeout '0'
	# Accepted logins: 'mschapv2', 'mschapv1', 'chap', 'pap' (repeat).
	list auth 'mschapv2'
	# Encryption: 'require-128', 'require', 'optional' or 'none'.
	option mppe 'require-128'
	# Allowed MPPE key lengths: '40', '56', '128' (repeat).
	list mppe_bits '128'
	# Stateful MPPE (less CPU, but recovers slowly from packet loss).
	option mppe_stateful '0'

# Client profiles: one section per server to dial; the name picks it.
#config client 'office'
	# Server DNS name or IPv4 address; required.
	#option server 'vpn.example.com'
	# Login name; required.
	#option username 'alice'
	# Password; required. Keep this file readable by root only.
	#option password 'change-me'
	# Offered logins, as for the server.
	#list auth 'mschapv2'
	# Encryption, as for the server.
	#option mppe 'require-128'
	# Allowed MPPE key lengths.
	#list mppe_bits '128'
	# Stateful MPPE.
	#option mppe_stateful '0'
	# Routes via the tunnel: 'none', 'default' or 'prefixes'.
	#option routes 'none'
	# Prefixes for routes 'prefixes' (repeat the line).
	#list route '10.0.0.0/8'
	# File to write the server's DNS servers to (resolv.conf format).
	#option dns_file '/tmp/resolv.conf.d/pptp-office'
	# Dial when the service starts.
	#option autoconnect '0'
	# Dial again after the link drops.
	#option reconnect '1'
	# First retry delay; doubled on each failure up to reconnect_max.
	#option reconnect_min '5'
	#option reconnect_max '300'
	# Tunnel MTU (576-1500).
	#option mtu '1400'
"#;
