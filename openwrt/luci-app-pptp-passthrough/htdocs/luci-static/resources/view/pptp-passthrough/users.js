'use strict';
'require view';
'require form';

// The server's logins as `config user` sections of /etc/config/pptp-passthrough:
// a table to add, disable and remove them. Save & Apply reloads the daemon,
// which re-reads the users without dropping other sessions. A chap-secrets
// file (the server's option) keeps working beside them; a user here
// replaces its line of the same name.

return view.extend({
	render: function() {
		var m, s, o;

		m = new form.Map('pptp-passthrough', _('PPTP server users'),
			_('Logins of the router\'s PPTP server. Passwords are stored in /etc/config/pptp-passthrough, as Wi-Fi keys are in /etc/config/wireless.'));

		s = m.section(form.GridSection, 'user');
		s.anonymous = true;
		s.addremove = true;
		s.sortable = true;
		s.nodescriptions = true;
		s.addbtntitle = _('Add user');

		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = '1';
		o.rmempty = false;
		o.editable = true;

		o = s.option(form.Value, 'name', _('User name'));
		o.rmempty = false;
		o.validate = function(section_id, value) {
			if (!value)
				return _('Required');
			if (/[\x00-\x1f\x7f]/.test(value) || value.length > 255)
				return _('1 to 255 characters, no control characters');
			var clash = false;
			this.map.data.sections('pptp-passthrough', 'user').forEach(L.bind(function(u) {
				if (u['.name'] != section_id && this.formvalue(u['.name']) == value)
					clash = true;
			}, this));
			return clash ? _('Another user has this name') : true;
		};

		o = s.option(form.Value, 'password', _('Password'));
		o.password = true;
		o.rmempty = false;
		o.modalonly = true;
		o.validate = function(section_id, value) {
			if (!value || value.length > 256)
				return _('1 to 256 characters');
			return true;
		};

		o = s.option(form.Value, 'address', _('Fixed address'),
			_('A tunnel address for this user instead of one from the pool.'));
		o.datatype = 'ip4addr("nomask")';
		o.placeholder = _('from the pool');

		return m.render();
	}
});
