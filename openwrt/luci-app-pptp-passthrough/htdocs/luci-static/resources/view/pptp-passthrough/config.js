'use strict';
'require view';
'require form';
'require fs';
'require ui';
'require tools.widgets as widgets';

// Settings for /etc/config/pptp-passthrough. The daemon's parser rejects
// unknown options, so every option here is one the daemon knows (see the
// comments in the default config file for their meaning and defaults).

var KERNEL_HELPER_NOTE = '/var/run/pptp-passthrough/kernel-helper';

// auth, mppe, mppe_bits, mppe_stateful: shared by the server and the client
// profiles, on the given tab.
/* Where the data runs: userspace (TUN) or the kernel's PPTP modules. */
function dataPath(s, tab, modal) {
	var o = s.taboption(tab, form.ListValue, 'data_path', _('Data path'),
		_('Kernel: GRE, PPP and MPPE in the kernel (install kmod-pptp and kmod-mppe), several times faster; no MSS clamping by this service there. Auto: the kernel when those modules are loaded.'));
	o.value('tun', _('Userspace (TUN)'));
	o.value('kernel', _('Kernel'));
	o.value('auto', _('Auto'));
	o.default = 'tun';
	o.modalonly = modal;
	return o;
}

function securityOptions(s, tab, modalonly) {
	var o = s.taboption(tab, form.MultiValue, 'auth', _('Logins'),
		_('MS-CHAPv2 is the only one that gives MPPE keys without handing an eavesdropper something directly usable; the others log a warning.'));
	o.value('mschapv2', 'MS-CHAPv2');
	o.value('mschapv1', _('MS-CHAPv1 (broken)'));
	o.value('chap', _('CHAP-MD5 (no encryption keys)'));
	o.value('pap', _('PAP (clear-text password)'));
	o.default = 'mschapv2';
	o.modalonly = modalonly;

	o = s.taboption(tab, form.ListValue, 'mppe', _('Encryption (MPPE)'));
	o.value('require-128', _('Require 128-bit'));
	o.value('require', _('Require (any allowed key length)'));
	o.value('optional', _('Optional'));
	o.value('none', _('None'));
	o.default = 'require-128';
	o.modalonly = modalonly;

	o = s.taboption(tab, form.MultiValue, 'mppe_bits', _('MPPE key lengths'));
	o.value('128', _('128 bit'));
	o.value('56', _('56 bit'));
	o.value('40', _('40 bit'));
	o.default = '128';
	o.modalonly = modalonly;

	o = s.taboption(tab, form.Flag, 'mppe_stateful', _('Stateful MPPE'),
		_('Less CPU, but recovers slowly from packet loss.'));
	o.default = '0';
	o.modalonly = modalonly;
}

function seconds(s, name, title, placeholder, description) {
	var o = s.option(form.Value, name, title, description);
	o.datatype = 'uinteger';
	o.placeholder = placeholder;
	return o;
}

return view.extend({
	load: function() {
		return L.resolveDefault(fs.read(KERNEL_HELPER_NOTE), '');
	},

	render: function(kernelHelperNote) {
		var m, s, o;

		m = new form.Map('pptp-passthrough', _('PPTP Passthrough'),
			_('Lets several LAN hosts use PPTP VPNs through this router at the same time, and runs a PPTP server and PPTP client profiles on the router itself.') + '<br />' +
			_('PPTP is broken: MS-CHAPv2 logins can be cracked from one captured handshake and MPPE has no integrity protection. Use it only for servers you cannot change; prefer WireGuard or IPsec.'));

		// The passthrough helper.
		s = m.section(form.TypedSection, 'helper', _('Passthrough'));
		s.anonymous = true;
		s.addremove = false;

		if (kernelHelperNote)
			s.description = E('div', { 'class': 'alert-message warning' }, [ kernelHelperNote ]);

		o = s.option(form.Flag, 'enabled', _('VPN Passthrough'),
			_('Rewrite PPTP Call IDs so that any number of LAN clients can reach PPTP servers through this router\'s masquerading. Changes the firewall (own nftables table plus an fw4 rule for the GRE it forwards).'));
		o.rmempty = false;
		o.default = '0';

		// Logical interfaces, as other OpenWrt packages name the WAN: the
		// daemon follows the interface's device (pppoe-wan comes and goes).
		o = s.option(widgets.NetworkSelect, 'wan', _('WAN interface'),
			_('The interface that masquerades to the public address, usually wan. The helper follows its device, also across PPPoE reconnects, and waits while it is down.'));
		o.nocreate = true;
		o.default = 'wan';
		o.validate = function(section_id, value) {
			var on = this.section.formvalue(section_id, 'enabled');
			if (on == '1' && !value)
				return _('Required when the passthrough is enabled');
			return true;
		};

		o = s.option(widgets.NetworkSelect, 'lan', _('LAN interfaces'),
			_('Interfaces with PPTP clients. None selected: every interface but the WAN.'));
		o.multiple = true;
		o.nocreate = true;

		o = s.option(form.Value, 'queue_num', _('NFQUEUE number'),
			_('The next number is used too, for established connections (kept out of flow offloading).'));
		o.datatype = 'range(0,65535)';
		o.placeholder = '1723';

		o = s.option(form.ListValue, 'backend', _('Firewall backend'),
			_('How control segments reach the helper. Auto uses nftables queue, which OpenWrt has.'));
		o.value('auto', _('Auto'));
		o.value('nft', 'nftables');
		o.value('xtables', _('xtables NFQUEUE target (kernels without nftables queue)'));
		o.default = 'auto';

		o = seconds(s, 'idle_timeout', _('Control connection idle timeout (s)'), '300');
		o = seconds(s, 'element_timeout', _('GRE mapping lifetime (s)'), '18000',
			_('Safety net only: refreshed while a call lives.'));

		o = s.option(form.ListValue, 'gre_guard', _('GRE of unknown calls'),
			_('Per flow costs nothing per packet but drops GRE for PPTP tunnels that end on this router. Auto checks every packet when this router also runs the PPTP server or a client profile here; choose per packet when another PPTP server (pptpd) runs on it.'));
		o.value('auto', _('Auto'));
		o.value('flow', _('Dropped, decided per flow'));
		o.value('raw', _('Left untracked, checked per packet'));
		o.default = 'auto';

		// The embedded server.
		s = m.section(form.TypedSection, 'server', _('PPTP server'),
			_('Users are managed on the Users page. A pppd-style secrets file (below; one line per user: <code>username * password *</code>, or a fixed address instead of the last <code>*</code>) works beside them; a user of the Users page replaces its line. Both are re-read on Save & Apply without dropping sessions.'));
		s.anonymous = true;
		s.addremove = false;

		s.tab('general', _('General'));
		s.tab('security', _('Security'));
		s.tab('limits', _('Limits'));
		s.tab('radius', _('RADIUS'));

		o = s.taboption('general', form.Flag, 'enabled', _('Enable server'),
			_('Also opens TCP port 1723 and GRE on the wan zone of the firewall.'));
		o.rmempty = false;
		o.default = '0';

		o = s.taboption('general', form.DynamicList, 'listen', _('Listen addresses'),
			_('0.0.0.0 means every address.'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = '0.0.0.0';

		o = s.taboption('general', form.Value, 'chap_secrets', _('Secrets file'));
		o.placeholder = '/etc/ppp/chap-secrets';

		o = s.taboption('general', form.Value, 'local_ip', _('Server tunnel address'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = '192.168.200.1';

		o = s.taboption('general', form.Value, 'pool_start', _('First client address'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = '192.168.200.10';

		o = s.taboption('general', form.Value, 'pool_end', _('Last client address'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = '192.168.200.50';

		o = s.taboption('general', form.DynamicList, 'dns', _('DNS servers for clients'), _('At most 2.'));
		o.datatype = 'ip4addr("nomask")';

		o = s.taboption('general', form.DynamicList, 'wins', _('WINS servers for clients'), _('At most 2.'));
		o.datatype = 'ip4addr("nomask")';

		o = s.taboption('general', form.Flag, 'proxy_arp', _('Proxy ARP'),
			_('Answer ARP on the LAN for client addresses from the LAN\'s subnet.'));
		o.default = '0';

		o = s.taboption('general', form.Flag, 'mss_clamp', _('Clamp TCP MSS'),
			_('Needed when ICMP is filtered somewhere on the path.'));
		o.default = '1';

		dataPath(s, 'general', false);

		o = s.taboption('general', form.Flag, 'ipv6', _('IPv6'),
			_('IPv6 in the tunnels: link-local addresses, and a /64 per session from the prefix below.'));
		o.default = '1';

		o = s.taboption('general', form.Value, 'ipv6_prefix', _('IPv6 prefix'),
			_('Each session gets the next /64 of it by Router Advertisement; /32 to /64. Needs IPv6 forwarding.'));
		o.datatype = 'cidr6';
		o.placeholder = '2001:db8:1::/48';
		o.depends('ipv6', '1');

		o = s.taboption('general', form.DynamicList, 'ipv6_dns', _('IPv6 DNS servers'),
			_('Announced with the prefix (at most 3).'));
		o.datatype = 'ip6addr("nomask")';
		o.depends('ipv6', '1');

		securityOptions(s, 'security', false);

		o = s.taboption('limits', form.Value, 'max_sessions', _('Most sessions'));
		o.datatype = 'uinteger';
		o.placeholder = '100';
		o = s.taboption('limits', form.Value, 'max_pending_auth', _('Most logins in progress'));
		o.datatype = 'uinteger';
		o.placeholder = '16';
		o = s.taboption('limits', form.Value, 'auth_fail_limit', _('Failed logins before lockout'));
		o.datatype = 'uinteger';
		o.placeholder = '5';
		o = s.taboption('limits', form.Value, 'lockout', _('First lockout (s)'),
			_('Doubled on each repeat, up to an hour.'));
		o.datatype = 'uinteger';
		o.placeholder = '60';
		o = s.taboption('limits', form.Value, 'idle_timeout', _('Idle session timeout (s)'), _('0: never.'));
		o.datatype = 'uinteger';
		o.placeholder = '0';

		o = s.taboption('radius', form.DynamicList, 'radius_server', _('RADIUS servers'),
			_('ADDRESS[:AUTHPORT[:ACCTPORT]], first preferred; with any, logins, accounting and disconnects go through RADIUS.'));
		o.placeholder = '192.168.1.5:1812:1813';
		o.validate = function(section_id, value) {
			return (value == null || value === '' || /^\d{1,3}(\.\d{1,3}){3}(:\d{1,5}){0,2}$/.test(value)) ? true
				: _('Expected ADDRESS[:AUTHPORT[:ACCTPORT]]');
		};
		o = s.taboption('radius', form.Value, 'radius_secret', _('Shared secret'));
		o.password = true;
		o = s.taboption('radius', form.Flag, 'radius_accounting', _('Accounting'));
		o.default = '1';
		o = s.taboption('radius', form.Value, 'radius_interim', _('Interim updates (s)'),
			_('0: only when the RADIUS server sends Acct-Interim-Interval; at least 60.'));
		o.datatype = 'uinteger';
		o.placeholder = '0';
		o = s.taboption('radius', form.Value, 'radius_nas_identifier', _('NAS-Identifier'));
		o.placeholder = 'pptp-passthrough';
		o = s.taboption('radius', form.Flag, 'radius_fallback', _('Local users when RADIUS is down'));
		o.default = '0';
		o = s.taboption('radius', form.Flag, 'radius_require_message_authenticator', _('Require Message-Authenticator'),
			_('The BlastRADIUS protection: keep it on and have the RADIUS server sign its answers.'));
		o.default = '1';
		o = s.taboption('radius', form.Value, 'radius_dae_port', _('Disconnect/CoA port'),
			_('UDP port for RFC 5176 Disconnect and CoA requests (usually 3799); 0: off.'));
		o.datatype = 'port';
		o.placeholder = '0';
		o = s.taboption('radius', form.DynamicList, 'radius_dae_client', _('Disconnect/CoA clients'));
		o.datatype = 'ip4addr("nomask")';

		// Client profiles.
		s = m.section(form.GridSection, 'client', _('PPTP client profiles'),
			_('One profile per server to dial from the router. The name picks the profile (letters, digits and _) and names its tunnel device (pptp-NAME), so keep it short.'));
		s.anonymous = false;
		s.addremove = true;
		s.nodescriptions = true;
		s.addbtntitle = _('Add profile');

		s.tab('general', _('General'));
		s.tab('security', _('Security'));
		s.tab('routing', _('Routing and reconnect'));

		o = s.taboption('general', form.Value, 'server', _('Server'), _('DNS name or IPv4 address.'));
		o.datatype = 'host';
		o.rmempty = false;

		o = s.taboption('general', form.Value, 'username', _('Username'));
		o.rmempty = false;

		o = s.taboption('general', form.Value, 'password', _('Password'),
			_('Stored in /etc/config/pptp-passthrough; keep that file readable by root only.'));
		o.password = true;
		o.rmempty = false;
		o.modalonly = true;

		o = s.taboption('general', form.Flag, 'autoconnect', _('Connect at start'));
		o.default = '0';

		o = s.taboption('general', form.Flag, 'ipv6', _('IPv6'),
			_('IPv6 in the tunnel: link-local addresses, then an address from the server\'s Router Advertisement.'));
		o.default = '1';
		o.modalonly = true;

		dataPath(s, 'general', true);

		securityOptions(s, 'security', true);

		o = s.taboption('routing', form.ListValue, 'routes', _('Routes via the tunnel'));
		o.value('none', _('Only the peer address'));
		o.value('default', _('Everything (default route)'));
		o.value('prefixes', _('These prefixes'));
		o.default = 'none';

		o = s.taboption('routing', form.DynamicList, 'route', _('Prefixes'),
			_('IPv4 or IPv6; IPv6 ones are routed once IPv6 is up.'));
		o.datatype = 'cidr';
		o.depends('routes', 'prefixes');
		o.modalonly = true;

		o = s.taboption('routing', form.Value, 'dns_file', _('DNS file'),
			_('Where to write the server\'s DNS servers (resolv.conf format), for example /tmp/resolv.conf.d/pptp-NAME.'));
		o.modalonly = true;

		o = s.taboption('routing', form.Flag, 'reconnect', _('Reconnect'));
		o.default = '1';
		o.modalonly = true;
		o = s.taboption('routing', form.Value, 'reconnect_min', _('First retry delay (s)'));
		o.datatype = 'uinteger';
		o.placeholder = '5';
		o.depends('reconnect', '1');
		o.modalonly = true;
		o = s.taboption('routing', form.Value, 'reconnect_max', _('Longest retry delay (s)'));
		o.datatype = 'uinteger';
		o.placeholder = '300';
		o.depends('reconnect', '1');
		o.modalonly = true;
		o = s.taboption('routing', form.Value, 'mtu', _('Tunnel MTU'));
		o.datatype = 'range(576,1500)';
		o.placeholder = '1400';
		o.modalonly = true;

		return m.render();
	}
});
