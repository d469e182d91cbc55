'use strict';
'require form';
'require network';

// The "pptpclient" protocol of Network → Interfaces: the router's own PPTP
// client (pptp-passthrough's userspace client) as an interface netifd owns,
// like luci-proto-ppp's pptp. The options are those the protocol handler
// (/lib/netifd/proto/pptpclient.sh) reads.

return network.registerProtocol('pptpclient', {
	getI18n: function() {
		return _('PPTP (pptp-passthrough, no kernel PPP)');
	},

	getIfname: function() {
		return this._ubus('l3_device') || ('pptp-' + this.sid).substring(0, 15);
	},

	getPackageName: function() {
		return 'pptp-passthrough';
	},

	isFloating: function() {
		return true;
	},

	isVirtual: function() {
		return true;
	},

	getDevices: function() {
		return null;
	},

	containsDevice: function(ifname) {
		return (network.getIfnameOf(ifname) == this.getIfname());
	},

	renderFormOptions: function(s) {
		var o;

		o = s.taboption('general', form.Value, 'server', _('VPN Server'));
		o.datatype = 'host(0)';
		o.rmempty = false;

		o = s.taboption('general', form.Value, 'username', _('Username'));
		o.rmempty = false;

		o = s.taboption('general', form.Value, 'password', _('Password'));
		o.password = true;
		o.rmempty = false;

		o = s.taboption('advanced', form.Flag, 'defaultroute', _('Use default gateway'),
			_('If unchecked, no default route is configured'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.Value, 'metric', _('Use gateway metric'));
		o.placeholder = '0';
		o.datatype = 'uinteger';
		o.depends('defaultroute', '1');

		o = s.taboption('advanced', form.Flag, 'peerdns', _('Use DNS servers advertised by peer'),
			_('If unchecked, the advertised DNS server addresses are ignored'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.Value, 'mtu', _('Override MTU'));
		o.placeholder = '1400';
		o.datatype = 'range(576,1500)';

		o = s.taboption('advanced', form.MultiValue, 'auth', _('Logins'),
			_('MS-CHAPv2 is the only one that gives MPPE keys without handing an eavesdropper something directly usable.'));
		o.value('mschapv2', 'MS-CHAPv2');
		o.value('mschapv1', _('MS-CHAPv1 (broken)'));
		o.value('chap', _('CHAP-MD5 (no encryption keys)'));
		o.value('pap', _('PAP (clear-text password)'));
		o.placeholder = 'MS-CHAPv2';

		o = s.taboption('advanced', form.ListValue, 'mppe', _('Encryption (MPPE)'));
		o.value('', _('Require 128-bit (default)'));
		o.value('require', _('Require (any key length)'));
		o.value('optional', _('Optional'));
		o.value('none', _('None'));

		o = s.taboption('advanced', form.Flag, 'mppe_stateful', _('Stateful MPPE'),
			_('Less CPU, but recovers slowly from packet loss.'));
		o.default = o.disabled;

		o = s.taboption('advanced', form.Flag, 'ipv6', _('IPv6'),
			_('IPv6 in the tunnel: link-local addresses, then an address from the server\'s Router Advertisement.'));
		o.default = o.enabled;

		o = s.taboption('advanced', form.ListValue, 'data_path', _('Data path'),
			_('Kernel: GRE, PPP and MPPE in the kernel (kmod-pptp, kmod-mppe), several times faster. Auto: the kernel when those modules are loaded.'));
		o.value('tun', _('Userspace (TUN)'));
		o.value('kernel', _('Kernel'));
		o.value('auto', _('Auto'));
		o.default = 'tun';
	}
});
