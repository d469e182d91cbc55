'use strict';
'require view';
'require fs';
'require ui';
'require poll';
'require dom';
'require uci';

// Live status from the running daemon (`pptp-passthrough status --json`),
// refreshed every 5 seconds, with connect/disconnect for client profiles.
// The command lines here must match the ACL in
// /usr/share/rpcd/acl.d/luci-app-pptp-passthrough.json word for word.

var PROG = '/usr/sbin/pptp-passthrough';
var SOCKET = '/var/run/pptp-passthrough.sock';
var KERNEL_HELPER_NOTE = '/var/run/pptp-passthrough/kernel-helper';
// `status` exits with this code when no daemon answers (not an error: the
// service runs only while something is enabled).
var EXIT_NOT_RUNNING = 3;

// Whether the config enables anything the daemon would run for.
function somethingEnabled() {
	var on = false;
	uci.sections('pptp-passthrough', 'helper', function(s) { if (s.enabled == '1') on = true; });
	uci.sections('pptp-passthrough', 'server', function(s) { if (s.enabled == '1') on = true; });
	uci.sections('pptp-passthrough', 'client', function() { on = true; });
	return on;
}

function fetchStatus() {
	return fs.exec(PROG, [ 'status', '--json', '--socket', SOCKET ]).then(function(res) {
		if (res.code === EXIT_NOT_RUNNING)
			return { stopped: true };
		if (res.code !== 0)
			return { error: (res.stderr || '').trim().replace(/^pptp-passthrough: /, '') ||
				_('exit code %d').format(res.code) };
		try {
			return { status: JSON.parse(res.stdout) };
		}
		catch (e) {
			return { error: _('Unreadable status: %s').format(e.message) };
		}
	}).catch(function(e) {
		return { error: e.message };
	});
}

function dash(v) {
	return (v === null || v === undefined || v === '') ? '-' : String(v);
}

function traffic(packets, bytes) {
	return '%s / %1024mB'.format(dash(packets), bytes || 0);
}

function age(secs) {
	return (secs === null || secs === undefined) ? '-' : '%t'.format(secs);
}

function table(headers) {
	return E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, headers.map(function(h) {
			return E('th', { 'class': 'th' }, h);
		}))
	]);
}

return view.extend({
	load: function() {
		return Promise.all([
			fetchStatus(),
			L.resolveDefault(fs.read(KERNEL_HELPER_NOTE), ''),
			uci.load('pptp-passthrough')
		]);
	},

	handleClient: function(action, name) {
		return fs.exec(PROG, [ 'client', action, '--socket', SOCKET, name ]).then(function(res) {
			if (res.code !== 0)
				ui.addNotification(null, E('p', (res.stderr || '').trim() ||
					_('"%s %s" failed (exit code %d).').format(action, name, res.code)), 'danger');
			return fetchStatus();
		}).then(L.bind(this.update, this));
	},

	// Hang up one server session (the daemon sends LCP Terminate-Request).
	handleHangup: function(callId, user) {
		return fs.exec(PROG, [ 'hangup', '--socket', SOCKET, String(callId) ]).then(function(res) {
			if (res.code !== 0)
				ui.addNotification(null, E('p', (res.stderr || '').trim() ||
					_('Disconnecting %s failed (exit code %d).').format(user, res.code)), 'danger');
			return fetchStatus();
		}).then(L.bind(this.update, this));
	},

	update: function(data) {
		var st = data.status;

		// One message: why there is no status, if there is none.
		var note = null, level = 'warning';
		if (data.stopped && !somethingEnabled()) {
			note = _('Nothing is enabled yet: tick VPN Passthrough, enable the server or add a client profile on the Settings page.');
			level = 'notice';
		}
		else if (data.stopped) {
			note = _('pptp-passthrough is enabled but not running; the System Log says why.');
		}
		else if (data.error) {
			note = _('No status from pptp-passthrough: %s').format(data.error);
		}
		this.errorBox.className = 'alert-message ' + level;
		this.errorBox.style.display = note ? '' : 'none';
		this.errorBox.firstChild.textContent = note || '';

		st = st || { calls: [], clients: [], server: null, warnings: [] };

		this.summary.textContent = st.helper_enabled
			? _('Passthrough on %s (%s), control path via %s NFQUEUE %d, %d control connection(s).')
				.format(dash(st.wan), dash(st.public_ip), dash(st.backend), st.queue_num || 0, st.connections || 0)
				+ (st.queue_rules == 'iptables'
					? ' ' + _('Its queue rules are in iptables: this kernel refused them in the helper\'s own table, so forwarded packets cross one more chain.')
					: '')
				+ (st.dispatch_missing
					? ' ' + _('Its rules in the firewall are missing (fw4 was reloaded without them): control connections pass unseen. Restart pptp-passthrough.')
					: '')
			: (st.helper_waiting
				? _('Passthrough waiting: %s').format(st.helper_waiting)
				: _('Passthrough is off.'));

		dom.content(this.warnings, (st.warnings || []).map(function(w) {
			return E('div', { 'class': 'alert-message warning' }, w);
		}));

		cbi_update_table(this.calls, (st.calls || []).map(function(c) {
			return [
				c.role == 'pac' ? _('LAN server') : _('LAN client'),
				dash(c.lan),
				dash(c.remote),
				'%s → %s ↔ %s'.format(dash(c.lan_call_id), dash(c.public_call_id), dash(c.peer_call_id)),
				dash(c.state),
				age(c.age_secs),
				traffic(c.in_packets, c.in_bytes),
				traffic(c.out_packets, c.out_bytes)
			];
		}), E('em', _('No PPTP calls through the router.')));

		cbi_update_table(this.sessions, ((st.server && st.server.sessions) || []).map(L.bind(function(s) {
			var addr = dash(s.tunnel_ip) + (s.ipv6_prefix ? ', ' + s.ipv6_prefix : '');
			return [ dash(s.user), dash(s.peer), addr, dash(s.state), age(s.age_secs),
				'%1024mB'.format(s.bytes_in || 0), '%1024mB'.format(s.bytes_out || 0),
				E('button', {
					'class': 'cbi-button cbi-button-reset',
					'click': ui.createHandlerFn(this, 'handleHangup', s.call_id, dash(s.user))
				}, _('Disconnect')) ];
		}, this)), E('em', st.server ? _('No sessions.') : _('The server is off.')));

		cbi_update_table(this.clients, (st.clients || []).map(L.bind(function(c) {
			var up = (c.state == 'connected' || c.state == 'connecting' || c.state == 'waiting');
			return [
				dash(c.name),
				dash(c.server),
				dash(c.state) + (c.last_error ? ' (' + c.last_error + ')' : ''),
				'%s ↔ %s'.format(dash(c.local_ip), dash(c.remote_ip)),
				dash(c.tun),
				age(c.age_secs),
				'%1024mB / %1024mB'.format(c.bytes_in || 0, c.bytes_out || 0),
				E('button', {
					'class': up ? 'cbi-button cbi-button-reset' : 'cbi-button cbi-button-apply',
					'click': ui.createHandlerFn(this, 'handleClient', up ? 'disconnect' : 'connect', c.name)
				}, up ? _('Disconnect') : _('Connect'))
			];
		}, this)), E('em', _('No client profiles.')));
	},

	render: function(data) {
		var kernelHelperNote = data[1];

		this.errorBox = E('div', { 'class': 'alert-message warning', 'style': 'display:none' }, [ E('p') ]);
		this.summary = E('p');
		this.warnings = E('div');
		this.calls = table([ _('Role'), _('LAN host'), _('Server'), _('Call IDs (LAN → public ↔ server)'),
			_('State'), _('Age'), _('GRE in (packets / bytes)'), _('GRE out (packets / bytes)') ]);
		this.sessions = table([ _('User'), _('Peer'), _('Tunnel address'), _('State'), _('Age'), _('Received'), _('Sent'), '' ]);
		this.clients = table([ _('Profile'), _('Server'), _('State'), _('Addresses (local ↔ remote)'),
			_('Device'), _('Age'), _('Received / sent'), '' ]);

		this.update(data[0]);

		poll.add(L.bind(function() {
			return fetchStatus().then(L.bind(this.update, this));
		}, this), 5);

		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('PPTP Passthrough')),
			kernelHelperNote ? E('div', { 'class': 'alert-message warning' }, [ E('p', kernelHelperNote) ]) : '',
			this.errorBox,
			E('div', { 'class': 'cbi-section' }, [
				E('h3', _('Calls through the router')), this.summary, this.warnings, this.calls
			]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Server sessions')), this.sessions ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Client profiles')), this.clients ])
		]);
	},

	handleSave: null,
	handleSaveApply: null,
	handleReset: null
});
