#!/bin/sh
# netifd protocol handler "pptpclient": the router's own PPTP client (this
# package's userspace client) as a network interface, like OpenWrt's pptp,
# l2tp or wireguard protocols:
#
#   config interface 'vpn'
#   	option proto 'pptpclient'
#   	option server 'vpn.example.com'
#   	option username 'alice'
#   	option password 'secret'
#
# netifd owns the tunnel: it runs the client (proto_run_command), the
# client's hook reports the addresses, the default route and the DNS
# servers (proto_send_update), and ifdown ends it (proto_kill_command).
# GRE from the server is let through fw4's wan input for as long as the
# interface is up (the package's init script writes that rule).
#
# About the directives below (the file is checked with `shellcheck -s sh`):
# netifd-proto.sh provides init_proto, json_get_vars and the proto_*
# functions, which shellcheck cannot see.
# shellcheck disable=SC2034 # available, no_device, lasterror are read by netifd-proto.sh
# shellcheck disable=SC3043 # `local` exists in busybox ash

[ -n "$INCLUDE_ONLY" ] || {
	# shellcheck source=/dev/null
	. /lib/functions.sh
	# shellcheck source=/dev/null
	. ../netifd-proto.sh
	init_proto "$@"
}

PPTPCLIENT_PROG=/usr/sbin/pptp-passthrough
PPTPCLIENT_HOOK=/lib/netifd/pptpclient-hook
PPTPCLIENT_RUN=/var/run/pptp-passthrough
PPTPCLIENT_INIT=/etc/init.d/pptp-passthrough

proto_pptpclient_init_config() {
	proto_config_add_string server
	proto_config_add_string username
	proto_config_add_string password
	proto_config_add_boolean defaultroute
	proto_config_add_boolean peerdns
	proto_config_add_int metric
	proto_config_add_int mtu
	proto_config_add_array 'auth:list(string)'
	proto_config_add_string mppe
	proto_config_add_boolean mppe_stateful
	proto_config_add_boolean ipv6
	proto_config_add_string data_path
	available=1
	no_device=1
	lasterror=1
}

# The server's IPv4 address: as given, or its name resolved now.
pptpclient_resolve() {
	case "$1" in
	*[!0-9.]*) resolveip -4 -t 5 "$1" 2>/dev/null | head -n 1 ;;
	*) echo "$1" ;;
	esac
}

# Let GRE from server $2 in for interface $1 (fw4 rule by the init script).
pptpclient_gre() {
	mkdir -p "$PPTPCLIENT_RUN/servers"
	if [ -n "$2" ]; then
		echo "$2" >"$PPTPCLIENT_RUN/servers/$1"
	else
		rm -f "$PPTPCLIENT_RUN/servers/$1"
	fi
	[ -x "$PPTPCLIENT_INIT" ] && "$PPTPCLIENT_INIT" fw4_sync
	return 0
}

proto_pptpclient_setup() {
	local config="$1"
	local server username password defaultroute peerdns metric mtu mppe mppe_stateful auth ipv6
	local data_path ip secret
	json_get_vars server username password defaultroute peerdns metric mtu mppe mppe_stateful ipv6 data_path
	json_get_values auth auth
	if [ -z "$server" ] || [ -z "$username" ] || [ -z "$password" ]; then
		proto_notify_error "$config" MISSING_SERVER_USERNAME_OR_PASSWORD
		proto_block_restart "$config"
		return 1
	fi
	ip=$(pptpclient_resolve "$server")
	if [ -z "$ip" ]; then
		proto_notify_error "$config" RESOLVE_FAILED
		sleep 5
		proto_setup_failed "$config"
		return 1
	fi
	# GRE to the server keeps going through the WAN, also once this
	# interface brings a default route.
	proto_add_host_dependency "$config" "$ip"
	pptpclient_gre "$config" "$ip"
	# The password in a root-only file, not on the command line.
	secret="$PPTPCLIENT_RUN/pptpclient-$config.secret"
	mkdir -p "$PPTPCLIENT_RUN"
	(umask 077 && printf '%s\n' "$password" >"$secret")
	proto_export "INTERFACE=$config"
	proto_export "DEFAULTROUTE=${defaultroute:-1}"
	proto_export "PEERDNS=${peerdns:-1}"
	proto_export "METRIC=${metric:-0}"
	set -- client connect "$ip" --user "$username" --password-file "$secret" \
		--tun "$(echo "pptp-$config" | cut -c 1-15)" \
		--socket "$PPTPCLIENT_RUN/pptpclient-$config.sock" --hook "$PPTPCLIENT_HOOK"
	[ -n "$mtu" ] && set -- "$@" --mtu "$mtu"
	[ -n "$auth" ] && set -- "$@" --auth "$(echo "$auth" | tr ' ' ',')"
	[ -n "$mppe" ] && set -- "$@" --mppe "$mppe"
	[ "$mppe_stateful" = 1 ] && set -- "$@" --mppe-stateful
	[ "$ipv6" = 0 ] && set -- "$@" --no-ipv6
	[ -n "$data_path" ] && set -- "$@" --data-path "$data_path"
	proto_run_command "$config" "$PPTPCLIENT_PROG" "$@"
}

proto_pptpclient_teardown() {
	local config="$1"
	proto_kill_command "$config"
	rm -f "$PPTPCLIENT_RUN/pptpclient-$config.secret"
	pptpclient_gre "$config" ""
}

[ -n "$INCLUDE_ONLY" ] || add_protocol pptpclient
