#!/usr/bin/env bash
# Checks of the OpenWrt package and the LuCI app that need no OpenWrt: the
# init script through shellcheck, the init script's decisions and generated
# fw4 rules (with rc.common stubbed), syntax of every LuCI view, every JSON
# file, the exact ACL, the package Makefile's required fields, and the
# default config through the daemon's own parser.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

PKG=openwrt/pptp-passthrough
APP=openwrt/luci-app-pptp-passthrough
# The files the app installs on the router (its root/ directory).
FS="$APP"/root
INIT=$PKG/files/pptp-passthrough.init
ACL=$FS/usr/share/rpcd/acl.d/luci-app-pptp-passthrough.json

failures=0
pass() { echo "  ok    $*"; }
fail() { echo "  FAIL  $*"; failures=$((failures + 1)); }

if ! command -v node >/dev/null 2>&1 || ! command -v shellcheck >/dev/null 2>&1; then
    need_root "$@"
    # Debian 12 has nodejs 18, enough for syntax checks.
    install_packages nodejs shellcheck
fi

echo "==> shellcheck of the init script (-s sh)"
if shellcheck -s sh "$INIT"; then pass "$INIT"; else fail "$INIT"; fi

echo "==> init script: decisions and fw4 rules (rc.common stubbed)"
# Runs start_service with a fake UCI state; prints what it would do.
# $1: helper enabled, $2: server enabled, $3: server listen list,
# $4: client sections ("name:autoconnect ..."), $5: non-empty to start
# twice (a reload with the same config), $6: pptpclient interfaces that are
# up ("name:server-ip ..."). Output: the procd command and environment
# (or "not started") and the generated fw4 include files. T_QUEUE=1: the
# kernel has nft `queue`; T_BACKEND: the helper's option backend;
# T_WANDOWN=1|2: `fw4-rules` cannot resolve the interfaces (from the first
# or the second start on); its output is a stand-in (its own text is
# checked with nft below).
run_init() {
    local tmp
    tmp=$(mktemp -d)
    # The T_* names must not collide with the init script's variables.
    # shellcheck disable=SC2016 # the stubs are expanded by the inner shell
    T_HELPER="$1" T_SERVER="$2" T_LISTEN="$3" T_CLIENTS="$4" T_TWICE="${5:-}" T_UP="${6:-}" T="$tmp" sh -c '
        config_load() { :; }
        config_foreach() {
            case "$2" in
                helper) "$1" passthrough ;;
                server) "$1" server ;;
                client) for c in $T_CLIENTS; do "$1" "${c%%:*}"; done ;;
            esac
        }
        config_get_bool() {
            case "$2.$3" in
                passthrough.enabled) eval "$1=\$T_HELPER" ;;
                server.enabled) eval "$1=\$T_SERVER" ;;
                *.autoconnect) for c in $T_CLIENTS; do [ "${c%%:*}" = "$2" ] && eval "$1=\${c#*:}"; done ;;
                *) eval "$1=\$4" ;;
            esac
        }
        config_get() {
            case "$2.$3" in
                server.listen) eval "$1=\$T_LISTEN" ;;
                passthrough.backend) eval "$1=\${T_BACKEND:-\$4}" ;;
            esac
        }
        logger() { :; }
        fw4() { echo "fw4 $*" >>"$T/fw4.log"; }
        procd_open_instance() { :; }
        procd_running() { [ "${T_RUNNING:-0}" = 1 ]; }
        procd_kill() { echo "killed: $1"; }
        procd_set_param() {
            case "$1" in
                command) shift; echo "command: $*" | sed "s#^command: $T/prog #command: /usr/sbin/pptp-passthrough #" ;;
                env) shift; echo "env: $*" ;;
            esac
        }
        procd_close_instance() { :; }
        . "$0"
        RUNDIR="$T/run"; FW4_RUN="$RUNDIR/fw4"; KERNEL_HELPER_NOTE="$RUNDIR/kernel-helper"
        SERVERS="$RUNDIR/servers"; mkdir -p "$SERVERS"
        NFT_QUEUE_MODULE="$T/nft_queue"
        [ "${T_QUEUE:-0}" = 1 ] && mkdir "$NFT_QUEUE_MODULE"
        PROG="$T/prog"
        printf "%s\n" "#!/bin/sh" "[ -e $T/wan-down ] && exit 1" \
            "[ \"\$1 \$4 \$5\" = \"fw4-rules --part chains\" ] && echo \"chain stand_in_chains {\" && echo }" \
            "[ \"\$1 \$4 \$5\" = \"fw4-rules --part dispatch\" ] && echo \"meta l4proto tcp jump stand_in\"" \
            "exit 0" >"$PROG"
        chmod +x "$PROG"
        [ "${T_WANDOWN:-0}" = 1 ] && : >"$T/wan-down"
        for u in $T_UP; do echo "${u#*:}" >"$SERVERS/${u%%:*}"; done
        start_service
        [ "${T_WANDOWN:-0}" = 2 ] && : >"$T/wan-down"
        [ -n "$T_TWICE" ] && start_service
        # fw4_sync runs in a shell of its own: nothing of start_service left.
        [ -n "${T_SYNC:-}" ] && { DISPATCH=own; fw4_sync; }
        for f in "$FW4_RUN"/*.nft; do [ -e "$f" ] && { echo "--- ${f##*/}"; cat "$f"; }; done
        [ -e "$T/fw4.log" ] && cat "$T/fw4.log"
        true
    ' "$INIT"
    rm -rf "$tmp"
}

indent() { printf '%s\n' "$1" | while IFS= read -r l; do echo "        $l"; done; }

expect() {
    local what="$1" out="$2" pattern="$3"
    if grep -qE -- "$pattern" <<<"$out"; then pass "$what"; else
        fail "$what: no line matching /$pattern/ in:"; indent "$out"; fi
}
expect_not() {
    local what="$1" out="$2" pattern="$3"
    if grep -qE -- "$pattern" <<<"$out"; then
        fail "$what: unexpected /$pattern/ in:"; indent "$out"; else pass "$what"; fi
}

out=$(run_init 0 0 "" "")
expect_not "nothing enabled: daemon not started" "$out" '^command:'
expect_not "nothing enabled: no forward rule" "$out" 'forward_wan.nft'

out=$(run_init 0 0 "" "office:0")
expect "a client profile alone: daemon started (client connect dials through it)" "$out" '^command: '
expect_not "a client profile alone: no forward rule" "$out" 'forward_wan.nft'
expect "a client profile alone: GRE accepted on input_wan" "$out" '^meta nfproto ipv4 meta l4proto gre accept'

out=$(run_init 1 0 "" "")
expect "helper on: daemon started with run --config and the socket" "$out" \
    '^command: /usr/sbin/pptp-passthrough run --syslog --config /etc/config/pptp-passthrough --socket /var/run/pptp-passthrough.sock$'
expect "helper on: dnat'ed GRE accepted in forward_wan" "$out" 'l4proto gre ct status dnat accept'
expect_not "helper only: nothing opened on input_wan" "$out" 'input_wan.nft'
expect "helper on: fw4 reloaded once" "$out" '^fw4 -q reload$'

out=$(run_init 1 0 "" "" twice)
if [ "$(grep -c '^fw4 -q reload$' <<<"$out")" -eq 1 ]; then
    pass "same config again: fw4 not reloaded a second time"
else
    fail "same config again: fw4 reloaded more than once"
fi

# The helper's dispatch in fw4's mangle_forward: where fw4 runs (stubbed
# here), the kernel has nft `queue` and the interfaces resolve.
out=$(T_QUEUE=1 run_init 1 0 "" "")
expect "dispatch: the helper told" "$out" '^env: PPTP_PASSTHROUGH_DISPATCH=firewall$'
expect "dispatch: chains for the end of fw4's table" "$out" '^--- table-post\.nft$'
expect "dispatch: fw4-rules' chains written" "$out" '^chain stand_in_chains \{$'
expect "dispatch: rules for the end of mangle_forward" "$out" '^--- mangle_forward\.nft$'
expect "dispatch: fw4-rules' dispatch written" "$out" '^meta l4proto tcp jump stand_in$'
expect "dispatch: fw4 reloaded" "$out" '^fw4 -q reload$'
out=$(run_init 1 0 "" "")
expect "no nft queue: the helper's own chain" "$out" '^env: PPTP_PASSTHROUGH_DISPATCH=own$'
expect_not "no nft queue: nothing for mangle_forward" "$out" 'mangle_forward\.nft|table-post\.nft'
out=$(T_QUEUE=1 T_BACKEND=xtables run_init 1 0 "" "")
expect "backend xtables: the helper's own chain" "$out" '^env: PPTP_PASSTHROUGH_DISPATCH=own$'
out=$(T_QUEUE=1 T_WANDOWN=1 run_init 1 0 "" "")
expect "wan down at the first start: the helper's own chain" "$out" '^env: PPTP_PASSTHROUGH_DISPATCH=own$'
expect_not "wan down at the first start: no dispatch files" "$out" 'mangle_forward\.nft'
out=$(T_QUEUE=1 T_WANDOWN=2 run_init 1 0 "" "" twice)
if [ "$(grep -c '^env: PPTP_PASSTHROUGH_DISPATCH=firewall$' <<<"$out")" = 2 ] &&
    grep -q '^meta l4proto tcp jump stand_in$' <<<"$out" &&
    [ "$(grep -c '^fw4 -q reload$' <<<"$out")" = 1 ]; then
    pass "wan down later: the dispatch and its files stay, fw4 not reloaded"
else
    fail "wan down later: the dispatch or its files changed:"
    indent "$out"
fi
out=$(run_init 0 0 "" "")
expect_not "helper off: no dispatch" "$out" 'PPTP_PASSTHROUGH_DISPATCH=firewall'
# A running daemon with the other dispatch stops before fw4 gets the new
# rules (the first start's own, then the firewall's: no helper may run
# with its own chain while fw4 queues too); one with the same goes on.
out=$(T_QUEUE=1 T_RUNNING=1 run_init 1 0 "" "")
if grep -q '^killed: pptp-passthrough$' <<<"$out" &&
    [ "$(grep -n -m1 '^killed:' <<<"$out" | cut -d: -f1)" -lt "$(grep -n -m1 '^command:' <<<"$out" | cut -d: -f1)" ]; then
    pass "dispatch changed while running: the daemon stopped first"
else
    fail "dispatch changed while running: the daemon was not stopped first:"
    indent "$out"
fi
out=$(T_QUEUE=1 T_RUNNING=1 run_init 1 0 "" "" twice)
if [ "$(grep -c '^killed:' <<<"$out")" = 1 ]; then
    pass "same dispatch again while running: the daemon goes on"
else
    fail "same dispatch again while running: stopped $(grep -c '^killed:' <<<"$out") times"
fi
# The protocol handler's fw4_sync keeps the dispatch the helper runs with.
out=$(T_QUEUE=1 T_SYNC=1 run_init 1 0 "" "")
expect "fw4_sync: the dispatch's files stay" "$out" '^meta l4proto tcp jump stand_in$'

out=$(run_init 0 1 "0.0.0.0" "")
expect "server on all addresses: TCP 1723 open" "$out" '^tcp dport 1723 accept'
expect "server on: GRE to the router accepted" "$out" 'l4proto gre accept comment'

out=$(run_init 0 1 "198.51.100.2 198.51.100.3" "")
expect "server on two addresses: only those" "$out" '^ip daddr \{ 198\.51\.100\.2, 198\.51\.100\.3 \} tcp dport 1723 accept'

out=$(run_init 0 0 "" "office:1 home:0")
expect "autoconnect client: daemon started" "$out" '^command: '

# The generated rules must be valid nft inside fw4's chains: check them in
# a table of the same shape with `nft -c` (a dry run, nothing is loaded).
out=$(run_init 0 0 "" "" "" "vpn:198.51.100.10 office:203.0.113.9")
expect "pptpclient interfaces up: GRE from their servers only" "$out" \
    '^ip saddr \{ (198\.51\.100\.10, 203\.0\.113\.9|203\.0\.113\.9, 198\.51\.100\.10) \} meta l4proto gre accept'
expect_not "pptpclient interfaces alone: no daemon" "$out" '^command:'
out=$(run_init 1 1 "198.51.100.2" "office:1" "" "vpn:198.51.100.10")
if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null 2>&1; then
    fwd=$(awk '/^--- forward_wan.nft/{f=1;next} /^(---|command|fw4)/{f=0} f' <<<"$out")
    inp=$(awk '/^--- input_wan.nft/{f=1;next} /^(---|command|fw4)/{f=0} f' <<<"$out")
    if nft -c -f - <<EOF
table inet pptp_check_fw4 {
    chain forward_wan {
        $fwd
    }
    chain input_wan {
        $inp
    }
}
EOF
    then pass "generated fw4 rules pass nft -c"; else fail "generated fw4 rules rejected by nft -c"; fi
else
    # Unchecked rules are not checked rules: without root and nft this
    # check fails (scripts/test.sh runs it as root and installs nftables).
    fail "nft -c of the fw4 rules could not run (needs root and nft)"
fi

echo "==> netifd protocol handler pptpclient (netifd-proto.sh stubbed)"
PROTO=$PKG/files/pptpclient.sh
HOOK=$PKG/files/pptpclient-hook
for f in "$PROTO" "$HOOK"; do
    if shellcheck -s sh "$f"; then pass "shellcheck $f"; else fail "shellcheck $f"; fi
done
# Runs proto_pptpclient_$1 for interface "vpn" with the given options
# ("name=value ..."); prints every proto_* call, one per line, and the
# files the handler leaves.
run_proto() {
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2016 # the stubs are expanded by the inner shell
    T_ACTION="$1" T_OPTS="$2" T="$tmp" INCLUDE_ONLY=1 sh -c '
        json_get_vars() { for v in "$@"; do eval "$v=\$(for o in \$T_OPTS; do case \$o in $v=*) echo \"\${o#*=}\";; esac; done)"; done; }
        json_get_values() { json_get_vars "$2"; eval "$1=\$$2"; }
        for f in proto_notify_error proto_block_restart proto_setup_failed proto_add_host_dependency \
            proto_export proto_run_command proto_kill_command; do
            eval "$f() { echo \"$f \$*\"; }"
        done
        resolveip() { echo 198.51.100.10; }
        sleep() { :; }
        . "$0"
        PPTPCLIENT_RUN="$T/run"
        PPTPCLIENT_INIT="$T/init"
        printf "#!/bin/sh\necho \"init \$*\" >>\"%s/init.log\"\n" "$T" >"$T/init"
        chmod +x "$T/init"
        # Teardown finds what setup left.
        if [ "$T_ACTION" = teardown ]; then
            mkdir -p "$T/run/servers"
            echo 198.51.100.10 >"$T/run/servers/vpn"
            echo s3cret >"$T/run/pptpclient-vpn.secret"
        fi
        "proto_pptpclient_$T_ACTION" vpn
        echo "rc $?"
        [ -e "$T/init.log" ] && cat "$T/init.log"
        for f in "$T"/run/servers/* "$T"/run/*.secret; do
            [ -e "$f" ] && echo "file ${f#"$T"/run/} $(stat -c %a "$f") $(cat "$f")"
        done
        true
    ' "$PROTO"
    rm -rf "$tmp"
}
out=$(run_proto setup "server=vpn.example.com username=alice password=s3cret mtu=1300 auth=mschapv2 mppe=require-128 metric=5")
expect "setup: runs the client through netifd with the hook" "$out" \
    '^proto_run_command vpn /usr/sbin/pptp-passthrough client connect 198\.51\.100\.10 --user alice --password-file .*/run/pptpclient-vpn\.secret --tun pptp-vpn --socket .*/run/pptpclient-vpn\.sock --hook /lib/netifd/pptpclient-hook --mtu 1300 --auth mschapv2 --mppe require-128$'
expect "setup: the password in a root-only file, not on the command line" "$out" '^file pptpclient-vpn\.secret 600 s3cret$'
expect_not "setup: no password in the command" "$(grep '^proto_run_command' <<<"$out")" 's3cret'
expect "setup: GRE to the server stays on the WAN" "$out" '^proto_add_host_dependency vpn 198\.51\.100\.10$'
expect "setup: fw4 lets the server's GRE in" "$out" '^file servers/vpn 644 198\.51\.100\.10$'
expect "setup: fw4 rules synced" "$out" '^init fw4_sync$'
expect "setup: defaults for the hook" "$out" '^proto_export DEFAULTROUTE=1$'
expect "setup: metric for the hook" "$out" '^proto_export METRIC=5$'
expect "setup: the interface for the hook" "$out" '^proto_export INTERFACE=vpn$'
out=$(run_proto setup "server=vpn.example.com username=alice password=s3cret ipv6=0")
expect "setup, ipv6 0: the client without IPv6" "$out" '^proto_run_command vpn .* --hook /lib/netifd/pptpclient-hook --no-ipv6$'
out=$(run_proto setup "server=vpn.example.com username=alice")
expect "setup without a password: error, no restart" "$out" '^proto_notify_error vpn MISSING_SERVER_USERNAME_OR_PASSWORD$'
expect "setup without a password: blocked" "$out" '^proto_block_restart vpn$'
expect_not "setup without a password: nothing run" "$out" '^proto_run_command'
out=$(run_proto teardown "")
expect "teardown: the client is ended" "$out" '^proto_kill_command vpn$'
expect_not "teardown: GRE no longer let in" "$out" '^file servers/vpn'
expect_not "teardown: the password file is gone" "$out" '^file pptpclient-vpn\.secret'
expect "teardown: fw4 rules synced" "$out" '^init fw4_sync$'

# The hook, with netifd-proto.sh stubbed: what netifd is told.
run_hook() {
    local tmp
    tmp=$(mktemp -d)
    # shellcheck disable=SC2016 # the stub is expanded by the hook's shell
    printf '%s\n' 'for f in proto_init_update proto_set_keep proto_add_ipv4_address proto_add_ipv4_route proto_add_ipv6_address proto_add_ipv6_route proto_add_dns_server proto_send_update; do eval "$f() { echo \"$f \$*\"; }"; done' >"$tmp/stub.sh"
    sed "s|/lib/netifd/netifd-proto.sh|$tmp/stub.sh|" "$HOOK" >"$tmp/hook"
    env IFNAME=pptp-vpn IPLOCAL=10.99.0.10 IPREMOTE=10.99.0.1 DNS1=10.99.0.1 DNS2=10.99.0.2 \
        INTERFACE=vpn METRIC=5 "$@" sh "$tmp/hook" "$HOOK_ACTION"
    rm -rf "$tmp"
}
out=$(HOOK_ACTION=up run_hook DEFAULTROUTE=1 PEERDNS=1)
expect "hook up: the tunnel's device" "$out" '^proto_init_update pptp-vpn 1 1$'
expect "hook up: the address" "$out" '^proto_add_ipv4_address 10\.99\.0\.10 32  10\.99\.0\.1$'
expect "hook up: the default route with the metric" "$out" '^proto_add_ipv4_route 0\.0\.0\.0 0 10\.99\.0\.1  5$'
expect "hook up: both DNS servers" "$out" '^proto_add_dns_server 10\.99\.0\.2$'
expect "hook up: sent to the interface" "$out" '^proto_send_update vpn$'
out=$(HOOK_ACTION=up run_hook DEFAULTROUTE=0 PEERDNS=0)
expect_not "hook up, defaultroute 0: no default route" "$out" '^proto_add_ipv4_route'
expect_not "hook up, peerdns 0: no DNS" "$out" '^proto_add_dns_server'
expect_not "hook up: no IPv6 before up6" "$out" '^proto_add_ipv6'
out=$(HOOK_ACTION=up6 run_hook DEFAULTROUTE=1 PEERDNS=1 LLLOCAL=fe80::2 LLREMOTE=fe80::1 \
    IP6ADDR=2001:db8:77::2 IP6ROUTER=1 DNS6='2001:db8:77::53 2001:db8:77::54')
expect "hook up6: the IPv4 address stays" "$out" '^proto_add_ipv4_address 10\.99\.0\.10 32  10\.99\.0\.1$'
expect "hook up6: the SLAAC address" "$out" '^proto_add_ipv6_address 2001:db8:77::2 64$'
expect "hook up6: the IPv6 default route via the server's link-local address" "$out" '^proto_add_ipv6_route :: 0 fe80::1 5$'
expect "hook up6: the IPv6 DNS servers" "$out" '^proto_add_dns_server 2001:db8:77::54$'
out=$(HOOK_ACTION=up6 run_hook DEFAULTROUTE=1 PEERDNS=1 LLREMOTE=fe80::1 IP6ADDR=2001:db8:77::2 IP6ROUTER=0)
expect_not "hook up6, not a default router: no IPv6 default route" "$out" '^proto_add_ipv6_route'
out=$(HOOK_ACTION=down run_hook)
expect "hook down: the device is gone" "$out" '^proto_init_update pptp-vpn 0$'
expect "Makefile installs the protocol handler" "$(cat "$PKG/Makefile")" 'pptpclient\.sh \$\(1\)/lib/netifd/proto/pptpclient\.sh$'
expect "Makefile installs the hook" "$(cat "$PKG/Makefile")" 'pptpclient-hook \$\(1\)/lib/netifd/pptpclient-hook$'

echo "==> LuCI views parse"
for f in "$APP"/htdocs/luci-static/resources/view/*/*.js; do
    # Views are function bodies ('use strict'; 'require x'; return ...):
    # compile them as one, without running them.
    if node -e 'new Function(require("fs").readFileSync(process.argv[1], "utf8"))' "$f"; then
        pass "$f"; else fail "$f"; fi
done

echo "==> status view: one message, by what the daemon and the config say"
# Runs the view's update() with LuCI stubbed: which banner (class, text) and
# summary a router owner sees for each answer of `status`.
if node - "$APP/htdocs/luci-static/resources/view/pptp-passthrough/status.js" <<'EOF'
const assert = require('assert');
const src = require('fs').readFileSync(process.argv[2], 'utf8');
let sections = {};
const uci = { sections: (c, t, cb) => (sections[t] || []).forEach(cb), load: () => Promise.resolve() };
const E = (tag, attrs, children) => ({ tag, attrs, style: {}, children,
    firstChild: Array.isArray(children) ? children[0] : null, textContent: '' });
String.prototype.format = function(...a) { let i = 0; return this.replace(/%(1024m)?[sdtB]/g, () => String(a[i++])); };
global.cbi_update_table = () => {};
const L = { bind: (f, t) => f.bind(t), resolveDefault: p => p };
const v = new Function('view', 'fs', 'ui', 'poll', 'dom', 'uci', 'E', '_', 'L', src)(
    { extend: o => o }, {}, {}, { add() {} }, { content() {} }, uci, E, s => s, L);
v.errorBox = E('div', {}, [E('p')]);
v.summary = {}; v.warnings = {}; v.calls = {}; v.sessions = {}; v.clients = {};
const shown = () => v.errorBox.style.display === 'none' ? null :
    [v.errorBox.className, v.errorBox.firstChild.textContent];
v.update({ stopped: true });
assert.strictEqual(shown()[0], 'alert-message notice', 'nothing enabled is not a warning');
assert.match(shown()[1], /Nothing is enabled yet/);
sections = { helper: [{ enabled: '1' }] };
v.update({ stopped: true });
assert.strictEqual(shown()[0], 'alert-message warning');
assert.match(shown()[1], /enabled but not running/);
v.update({ error: 'bad status document' });
assert.strictEqual(shown()[1], 'No status from pptp-passthrough: bad status document');
v.update({ status: { helper_enabled: false, helper_waiting: 'interface wan is down (no layer-3 device now)' } });
assert.strictEqual(shown(), null, 'a running daemon shows no banner');
assert.match(v.summary.textContent, /^Passthrough waiting: interface wan is down/);
const running = { helper_enabled: true, wan: 'wan', public_ip: '203.0.113.2', backend: 'xtables',
    queue_num: 1723, connections: 1, queue_rules: 'table', calls: [] };
v.update({ status: running });
assert.strictEqual(v.summary.textContent,
    'Passthrough on wan (203.0.113.2), control path via xtables NFQUEUE 1723, 1 control connection(s).');
v.update({ status: Object.assign({}, running, { queue_rules: 'iptables' }) });
assert.match(v.summary.textContent, /1 control connection\(s\)\. Its queue rules are in iptables/);
v.update({ status: Object.assign({}, running, { dispatch: 'firewall', dispatch_missing: false }) });
assert.strictEqual(v.summary.textContent,
    'Passthrough on wan (203.0.113.2), control path via xtables NFQUEUE 1723, 1 control connection(s).');
v.update({ status: Object.assign({}, running, { dispatch: 'firewall', dispatch_missing: true }) });
assert.match(v.summary.textContent, /1 control connection\(s\)\. Its rules in the firewall are missing/);
EOF
then pass "status view banners"; else fail "status view banners"; fi
expect "settings pick logical interfaces (NetworkSelect), as OpenWrt packages do" \
    "$(cat "$APP/htdocs/luci-static/resources/view/pptp-passthrough/config.js")" \
    "s\.option\(widgets\.NetworkSelect, 'wan'"
expect "the shipped config names the logical WAN" "$(cat "$PKG/files/pptp-passthrough.config")" \
    "^[[:space:]]option wan 'wan'$"

echo "==> users view: the options the daemon knows, names unique"
if node - "$APP/htdocs/luci-static/resources/view/pptp-passthrough/users.js" <<'EOF'
const assert = require('assert');
const src = require('fs').readFileSync(process.argv[2], 'utf8');
const sections = [];
class Opt { constructor(name) { this.name = name; } }
class Section {
    constructor(type) { this.type = type; this.opts = []; }
    option(cls, name) { const o = new Opt(name); o.map = this.map; this.opts.push(o); return o; }
}
const form = { Map: class { constructor() {} section(cls, type) { const s = new Section(type); s.map = this; sections.push(s); return s; } render() { return this; } },
    GridSection: 'grid', Flag: 'flag', Value: 'value' };
const L = { bind: (f, t) => f.bind(t) };
const v = new Function('view', 'form', '_', 'L', src)({ extend: o => o }, form, s => s, L);
v.render();
assert.strictEqual(sections.length, 1);
assert.strictEqual(sections[0].type, 'user');
// Exactly the daemon's options of `config user` (its parser rejects others).
assert.deepStrictEqual(sections[0].opts.map(o => o.name).sort(), ['address', 'enabled', 'name', 'password']);
const name = sections[0].opts.find(o => o.name == 'name');
const users = [{ '.name': 'cfg1' }, { '.name': 'cfg2' }];
const values = { cfg1: 'alice', cfg2: 'bob' };
name.map.data = { sections: () => users };
name.formvalue = id => values[id];
assert.strictEqual(name.validate('cfg2', 'bob'), true);
assert.notStrictEqual(name.validate('cfg2', 'alice'), true, 'duplicate name accepted');
assert.notStrictEqual(name.validate('cfg2', ''), true, 'empty name accepted');
assert.notStrictEqual(name.validate('cfg2', 'a\nb'), true, 'control character accepted');
EOF
then pass "users view"; else fail "users view"; fi

echo "==> LuCI protocol page: registers the handler's protocol with its options"
if node - "$APP/htdocs/luci-static/resources/protocol/pptpclient.js" "$PKG/files/pptpclient.sh" <<'EOF'
const assert = require('assert');
const fs = require('fs');
const src = fs.readFileSync(process.argv[2], 'utf8');
const handler = fs.readFileSync(process.argv[3], 'utf8');
let registered = null;
const network = { registerProtocol: (name, o) => (registered = { name, o }), getIfnameOf: x => x };
const names = [];
const opt = () => ({ value() {}, depends() {} });
const s = { taboption: (tab, cls, name) => { names.push(name); return opt(); } };
const form = { Value: 1, Flag: 2, MultiValue: 3, ListValue: 4 };
new Function('form', 'network', '_', src)(form, network, x => x);
assert.strictEqual(registered.name, 'pptpclient');
registered.o.renderFormOptions(s);
// Every option of the page is one the protocol handler reads, and back.
const declared = [...handler.matchAll(/proto_config_add_\w+ '?(\w+)/g)].map(m => m[1]).sort();
assert.deepStrictEqual(names.slice().sort(), declared);
assert.ok(/add_protocol pptpclient/.test(handler));
EOF
then pass "protocol page matches the handler"; else fail "protocol page and handler disagree"; fi

echo "==> JSON files parse"
while IFS= read -r f; do
    if node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$f"; then
        pass "$f"; else fail "$f"; fi
done < <(find openwrt -name '*.json' | sort)

echo "==> the ACL grants exactly what the views use"
if node - "$ACL" <<'EOF'
const assert = require('assert');
const acl = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));
const sock = '/var/run/pptp-passthrough.sock';
const expected = {
  'luci-app-pptp-passthrough': {
    description: acl['luci-app-pptp-passthrough'] && acl['luci-app-pptp-passthrough'].description,
    read: {
      file: {
        [`/usr/sbin/pptp-passthrough status --json --socket ${sock}`]: ['exec'],
        '/var/run/pptp-passthrough/kernel-helper': ['read'],
      },
      ubus: { file: ['exec', 'read'] },
      uci: ['pptp-passthrough'],
    },
    write: {
      file: {
        [`/usr/sbin/pptp-passthrough client connect --socket ${sock} *`]: ['exec'],
        [`/usr/sbin/pptp-passthrough client disconnect --socket ${sock} *`]: ['exec'],
        [`/usr/sbin/pptp-passthrough hangup --socket ${sock} *`]: ['exec'],
      },
      ubus: { file: ['exec'] },
      uci: ['pptp-passthrough'],
    },
  },
};
assert.strictEqual(typeof expected['luci-app-pptp-passthrough'].description, 'string', 'description missing');
assert.deepStrictEqual(acl, expected);
EOF
then pass "$ACL"; else fail "$ACL differs from the intended grants"; fi
# The views must call exactly the command lines the ACL grants.
views="$APP/htdocs/luci-static/resources/view/pptp-passthrough"
expect "status view runs 'status --json --socket'" "$(cat "$views/status.js")" \
    "fs\.exec\(PROG, \[ 'status', '--json', '--socket', SOCKET \]\)"
expect "status view runs 'client ACTION --socket SOCKET NAME'" "$(cat "$views/status.js")" \
    "fs\.exec\(PROG, \[ 'client', action, '--socket', SOCKET, name \]\)"
expect "status view runs 'hangup --socket SOCKET CALL_ID'" "$(cat "$views/status.js")" \
    "fs\.exec\(PROG, \[ 'hangup', '--socket', SOCKET, String\(callId\) \]\)"
expect "status view's socket matches the init script" "$(cat "$views/status.js")" \
    "^var SOCKET = '/var/run/pptp-passthrough\.sock';"
expect "menu needs the ACL" "$(cat "$FS/usr/share/luci/menu.d/luci-app-pptp-passthrough.json")" \
    '"acl": \[ "luci-app-pptp-passthrough" \]'
expect "ucitrack reloads the service" "$(cat "$FS/usr/share/ucitrack/luci-app-pptp-passthrough.json")" \
    '"init": "pptp-passthrough"'

echo "==> package Makefiles have the required fields"
mk=$(cat "$PKG/Makefile")
expect "rules.mk first" "$mk" '^include \$\(TOPDIR\)/rules\.mk$'
expect "PKG_BUILD_DEPENDS:=rust/host" "$mk" '^PKG_BUILD_DEPENDS:=rust/host$'
expect "rust-package.mk included" "$mk" '^include .*lang/rust/rust-package\.mk'
expect "RustBinPackage" "$mk" '^\$\(eval \$\(call RustBinPackage,pptp-passthrough\)\)$'
expect "BuildPackage" "$mk" '^\$\(eval \$\(call BuildPackage,pptp-passthrough\)\)$'
deps=$(sed -n '/^  DEPENDS:=/,/^[^\t ]/p' "$PKG/Makefile" | tr -d '\\\n\t')
# shellcheck disable=SC2016 # make variables, not shell ones
for d in '$(RUST_ARCH_DEPENDS)' +kmod-nfnetlink-queue +kmod-nft-queue +kmod-nft-nat +nftables-json +kmod-tun +kmod-nf-conntrack-netlink; do
    if grep -qF -- "$d" <<<"$deps"; then pass "DEPENDS has $d"; else fail "DEPENDS lacks $d"; fi
done
expect "conffiles lists the config" "$(sed -n '/conffiles/,/endef/p' "$PKG/Makefile")" '^/etc/config/pptp-passthrough$'
expect "binary to /usr/sbin" "$mk" 'INSTALL_BIN.*bin/pptp-passthrough \$\(1\)/usr/sbin/'
expect "init script installed" "$mk" 'pptp-passthrough\.init \$\(1\)/etc/init\.d/pptp-passthrough$'
expect "default config installed" "$mk" 'pptp-passthrough\.config \$\(1\)/etc/config/pptp-passthrough$'
# The links fw4 follows to the init script's files (the dispatch's two).
# shellcheck disable=SC2016 # make variables, not shell ones
expect "fw4 link: the dispatch at the end of mangle_forward" "$mk" \
    'LN\) \$\(FW4_RUN\)/mangle_forward\.nft \$\(1\)\$\(FW4_POST\)/mangle_forward/'
# shellcheck disable=SC2016 # make variables, not shell ones
expect "fw4 link: its chains at the end of fw4's table" "$mk" \
    'LN\) \$\(FW4_RUN\)/table-post\.nft \$\(1\)\$\(FW4_TABLE\)/'
expect "fw4 link dirs: chain-post" "$mk" \
    '^FW4_POST:=/usr/share/nftables\.d/chain-post$'
expect "fw4 link dirs: table-post" "$mk" '^FW4_TABLE:=/usr/share/nftables\.d/table-post$'
lm=$(cat "$APP/Makefile")
expect "LuCI app: LUCI_TITLE" "$lm" '^LUCI_TITLE:='
expect "LuCI app: depends on the package" "$lm" '^LUCI_DEPENDS:=.*\+pptp-passthrough'
expect "LuCI app: luci.mk included" "$lm" '^include .*luci\.mk'
expect "init script: USE_PROCD=1" "$(cat "$INIT")" '^USE_PROCD=1$'
# shellcheck disable=SC2016 # regular expressions matching the script's text
for p in 'procd_set_param respawn' 'procd_add_reload_trigger "\$NAME"' \
    'procd_add_interface_trigger "interface\.\*" wan' "procd_send_signal \"\\\$NAME\" '\*' HUP"; do
    expect "init script: $p" "$(cat "$INIT")" "$p"
done

echo "==> the default config passes the daemon's own check (run --config FILE --check)"
# Builds (or finds up to date) the debug binary: the check must use the
# parser of this checkout.
cargo build --locked --quiet
rc=0
target/debug/pptp-passthrough run --config "$PKG/files/pptp-passthrough.config" --check || rc=$?
if [ "$rc" -eq 0 ]; then
    pass "$PKG/files/pptp-passthrough.config"
else
    fail "$PKG/files/pptp-passthrough.config: 'pptp-passthrough run --config FILE --check' exited with $rc"
fi

echo "==> fw4-rules' two include files load into an fw4-like table"
# As fw4 puts them: the chains at the end of `table inet fw4`, the rules at
# the end of mangle_forward. Loaded for real in a namespace of its own
# (nft checks that the kernel knows every expression). This kernel has no
# nft `queue`, so each queue statement is loaded as `accept` here; the VM
# lab loads them as they are and runs calls through them.
if [ "$(id -u)" -eq 0 ] && command -v nft >/dev/null 2>&1; then
    ns="pptp-check-fw4-$$"
    ip netns add "$ns"
    fr() { ip netns exec "$ns" target/debug/pptp-passthrough fw4-rules --wan lo --lan lo --part "$1"; }
    if ! chains=$(fr chains) || ! dispatch=$(fr dispatch); then
        chains="" dispatch=""
    fi
    # shellcheck disable=SC2001 # a pattern, which ${//} has not
    accepting=$(sed 's/queue num [0-9]* bypass/accept/' <<<"$chains")
    if [ -n "$chains" ] && grep -q 'queue num 1723 bypass' <<<"$chains" &&
        ip netns exec "$ns" nft -f - <<NFT
table inet fw4 {
    chain mangle_forward {
        type filter hook forward priority mangle; policy accept;
$dispatch
    }
$accepting
}
NFT
    then
        listed=$(ip netns exec "$ns" nft list chain inet fw4 mangle_forward)
        if grep -q 'meta l4proto tcp jump pptp_passthrough_tcp' <<<"$listed" &&
            grep -q 'meta l4proto icmp jump pptp_passthrough_icmp' <<<"$listed"; then
            pass "fw4-rules' chains and dispatch load, the jumps in mangle_forward"
        else
            fail "fw4-rules' dispatch not in mangle_forward:"
            indent "$listed"
        fi
    else
        fail "fw4-rules' text did not load:"
        indent "$chains"
        indent "$dispatch"
    fi
    ip netns del "$ns"
else
    fail "fw4-rules' text could not be loaded (needs root and nft)"
fi

echo "==> the settings view sets only options the daemon knows"
# The daemon names its options when it meets an unknown one; the view's
# options (those before the first section, securityOptions, belong to the
# server and the client profiles) must all be among them.
known() { # section type -> the daemon's option names, one per line
    printf "config %s 'x'\n\toption not_an_option '1'\n" "$1" >"$tmpconf"
    { target/debug/pptp-passthrough run --config "$tmpconf" --check 2>&1 || true; } |
        sed -n 's/.*expected one of: //p' | tr -d ' ' | tr ',' '\n'
}
tmpconf=$(mktemp)
view_opts=$(grep -oE "section\(form\.[A-Za-z]+, '[a-z]+'|(form|widgets)\.[A-Za-z]+, '[a-z_0-9]+'" \
    "$APP/htdocs/luci-static/resources/view/pptp-passthrough/config.js" |
    awk -F"'" '/^section/ { t = $2; next } { print (t == "" ? "server client" : t), $2 }')
for t in helper server client; do
    names=$(known "$t")
    [ -n "$names" ] || { fail "the daemon listed no options for $t"; continue; }
    unknown_opts=$(echo "$view_opts" | awk -v t="$t" '{ for (i = 1; i < NF; i++) if ($i == t) print $NF }' |
        while read -r o; do echo "$names" | grep -qx "$o" || echo "$o"; done)
    if [ -z "$unknown_opts" ]; then pass "config $t: every option of the view is the daemon's"
    else fail "config $t: the view sets options the daemon rejects: $unknown_opts"; fi
done
rm -f "$tmpconf"

echo
if [ "$failures" -gt 0 ]; then
    echo "check-openwrt: $failures check(s) failed"
    exit 1
fi
echo "check-openwrt: all checks passed"
