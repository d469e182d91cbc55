#!/usr/bin/env bash
# Benchmarks in network namespaces (root). Alternates the contenders inside
# one run, reports medians of the rounds and ratios, and writes
# docs/BENCHMARKS.md. Timing lives here, never in the tests.
#
#   scripts/bench.sh [--quick] [--only gre|gre-vm|control|memory|tunnel|vm|cross|scale]
#
# --quick: one round, shorter runs (a few minutes in all); the numbers are
# only a smoke test. --only SECTION: run one section and print its rows,
# without writing docs/BENCHMARKS.md.
#
# Sections: 1. GRE forwarding through the router with 1 / 100 / 1 000 /
# 10 000 calls spread over LAN addresses, 200 calls each
# (examples/gregen/: sendmmsg/recvmmsg on raw GRE sockets), plain routing
# vs masquerade + the kernel's "pptp" helper vs masquerade + this helper
# (flow guard, raw guard) vs the conntrack floor (masquerade + one static
# GRE DNAT); GRE_CALLS, GRE_SIZES, GRE_DIRS and BENCH_ROUNDS narrow it,
# GRE_PERF=DIR records each of its runs with `perf record -a -g` there
# while the packets flow and prints, per contender, the CPU samples per
# 1 000 delivered packets in the path and in netfilter's parts; GRE_WHO
# picks contenders, among them `iptables`
# (this helper with its NFQUEUE rules in iptables' `mangle FORWARD`, its
# fallback where the kernel refuses them in its own table), `chain` (the
# floor and one empty base chain in the forward hook: what any rule set
# there costs), `prechain` (the same chain in the prerouting hook, where
# the kernel helper's sits), `frozen` (this helper, stopped with SIGSTOP
# while the packets flow: its table without its process) and `base` (the
# helper binary BASE_BIN, say a build of an earlier commit, side by side);
# 1b. (gre-vm) the same cells in a VM that counts instructions
# (scripts/vm-lab.sh --bench: qemu TCG with -icount, Debian 12's kernel):
# the instructions one packet costs per contender, the same from run to
# run whatever the host does, with the floor and one empty base chain in
# the forward and in the prerouting hook beside them; GRE_VM_CALLS (1 100),
# GRE_VM_ROUNDS (3) and GRE_VM_FIREWALL=1 (a firewall's forward chain in
# front of every contender, as on OpenWrt, and the contender `fwdispatch`:
# this helper with `--dispatch firewall`, its two protocol tests in that
# chain, as the OpenWrt package runs it) narrow or change it;
# 2. control-plane call set-ups (kernel helper vs this helper); 3. the
# helper's memory with 0 / 1 000 / 10 000 calls; 4. TCP goodput and CPU per
# GB through the embedded client and server (MPPE off, 128-bit stateless,
# 128-bit stateful); 5. the same client against pptpd + pppd and against
# this server in the interop VM (scripts/interop.sh --bench; qemu TCG);
# 6. the binary size; 7. the router targets (scripts/cross.sh --bench):
# size and xz size per target, the data path under qemu-user as ratios;
# 8. the server at scale: 1 000 sessions from one load generator
# (examples/loadgen.rs), set-ups per second, memory per session, CPU per
# Gbit/s.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root "$@"
# shellcheck disable=SC2119
install_packages
install_packages iperf3 conntrack xz-utils gzip
[ -z "${GRE_PERF:-}" ] || install_packages linux-perf

QUICK='' ONLY=''
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --only)
            ONLY=${2:-}
            case "$ONLY" in
                gre | gre-vm | control | memory | tunnel | vm | cross | scale) ;;
                *) echo "--only needs one of: gre, gre-vm, control, memory, tunnel, vm, cross, scale" >&2; exit 2 ;;
            esac
            shift
            ;;
        *) echo "usage: scripts/bench.sh [--quick] [--only gre|gre-vm|control|memory|tunnel|vm|cross|scale]" >&2; exit 2 ;;
    esac
    shift
done
want() { [ -z "$ONLY" ] || [ "$ONLY" = "$1" ]; }

ROUNDS=${BENCH_ROUNDS:-5} BURST=2000 IPERF_SECS=5 MANY=10000 GRE_SECS=3 LAT_COUNT=500 VM_ROUNDS=5 VM_MB=16
SCALE_SESSIONS=${SCALE_SESSIONS:-1000} SCALE_MB=${SCALE_MB:-200}
GRE_CALLS=${GRE_CALLS:-1 100 1000 10000} GRE_SIZES=${GRE_SIZES:-64 1400} GRE_DIRS=${GRE_DIRS:-in out}
GRE_WHO=${GRE_WHO:-plain kernel ours raw floor}
read -ra WHO <<<"$GRE_WHO"
case " $GRE_WHO " in *" base "*)
    [ -x "${BASE_BIN:-}" ] || { echo "bench: the contender base needs BASE_BIN, an executable helper binary" >&2; exit 2; } ;;
esac
if [ -n "$QUICK" ]; then ROUNDS=1 BURST=500 IPERF_SECS=2 MANY=2000 GRE_SECS=1 LAT_COUNT=100 VM_ROUNDS=1 VM_MB=4 SCALE_SESSIONS=200 SCALE_MB=20; fi
# gregen opens one control connection per call.
ulimit -n 65536 2>/dev/null || true
# One LAN host holds at most 256 calls to one server through the helper,
# so gregen spreads the calls over LAN addresses, 200 calls each.
gre_hosts() { echo $((($1 + 199) / 200)); }
# The helper takes at most 64 calls on one control connection and 256 from
# one LAN host towards one server: call bursts (`hostile ocrq-burst`) go
# on connections of 64, round-robin from as many addresses as they need.
burst_hosts() { echo $((($1 + 255) / 256)); }
burst_args() { # $1 calls: the arguments in BA
    BA=(ocrq-burst --to 198.51.100.10 --count "$1" --per-conn 64
        --bind 192.168.1.10 --hosts "$(burst_hosts "$1")")
}
MAX_HOSTS=1
for n in $GRE_CALLS; do [ "$(gre_hosts "$n")" -gt "$MAX_HOSTS" ] && MAX_HOSTS=$(gre_hosts "$n"); done
for n in $BURST $MANY; do [ "$(burst_hosts "$n")" -gt "$MAX_HOSTS" ] && MAX_HOSTS=$(burst_hosts "$n"); done
if [ "$MAX_HOSTS" -gt 200 ]; then echo "GRE_CALLS: at most 40000 calls (200 per LAN address)" >&2; exit 2; fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "==> building the release binary and the traffic generator (load average: $LOAD_START)"
cargo build --release --locked -q
cargo build --release --locked -q --example hostile --example lab-peer
cargo build --release --locked -q --example gregen
cargo build --release --locked -q --example datapath --example loadgen
if want tunnel; then
    echo "==> building the speed-optimised profile (cargo build --profile fast) for the tunnel rows"
    cargo build --profile fast --locked -q --bin pptp-passthrough --example datapath
fi
BIN=$PWD/target/release/pptp-passthrough
GEN=$PWD/target/release/examples/hostile
PEER=$PWD/target/release/examples/lab-peer
GREGEN=$PWD/target/release/examples/gregen
DATAPATH=$PWD/target/release/examples/datapath
LOADGEN=$PWD/target/release/examples/loadgen
FAST_BIN=$PWD/target/fast/pptp-passthrough
FAST_DATAPATH=$PWD/target/fast/examples/datapath

P="pptpbench$$"
LAN="$P-lan" RTR="$P-rtr" NET="$P-net"
PIDS=()
WORK=$(mktemp -d)
# shellcheck disable=SC2317  # called through the trap
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for ns in "$LAN" "$RTR" "$NET"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

for ns in "$LAN" "$RTR" "$NET"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add "${P}a" netns "$LAN" type veth peer name lan0 netns "$RTR"
ip link add "${P}b" netns "$RTR" type veth peer name wan0 netns "$NET"
ip -n "$LAN" link set "${P}a" name eth0
ip -n "$RTR" link set "${P}b" name wan0
ip -n "$NET" link set wan0 name eth0
ip -n "$LAN" addr add 192.168.1.10/24 dev eth0
for i in $(seq 11 $((9 + MAX_HOSTS))); do ip -n "$LAN" addr add "192.168.1.$i/24" dev eth0; done
ip -n "$LAN" link set eth0 up
ip -n "$LAN" route add default via 192.168.1.1
ip -n "$RTR" addr add 192.168.1.1/24 dev lan0
ip -n "$RTR" addr add 203.0.113.2/24 dev wan0
ip -n "$RTR" link set lan0 up
ip -n "$RTR" link set wan0 up
ip -n "$RTR" route add default via 203.0.113.1
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1
# Conntrack accounting on for every contender, as OpenWrt sets it
# (nf_conntrack_acct=1): the helper turns it on for its per-call counters,
# and it must not stay on for only the contenders that run after it.
ip netns exec "$RTR" sysctl -qw net.netfilter.nf_conntrack_acct=1
ip -n "$NET" addr add 203.0.113.1/24 dev eth0
ip -n "$NET" addr add 198.51.100.10/32 dev lo
ip -n "$NET" addr add 198.51.100.11/32 dev lo
ip -n "$NET" addr add 198.51.100.12/32 dev lo
ip -n "$NET" link set eth0 up
# Only used while the router routes without NAT (GRE section, contender a).
ip -n "$NET" route add 192.168.1.0/24 via 203.0.113.2
# The contenders' rule sets are files that scripts/vm-lab.sh --bench
# loads too (scripts/nft/).
masq_on() { ip netns exec "$RTR" nft -f scripts/nft/bench-masq.nft; }
masq_off() { ip netns exec "$RTR" nft delete table ip bench_masq 2>/dev/null || true; }
masq_on

ip netns exec "$NET" "$PEER" server --listen 198.51.100.10 2>/dev/null &
PIDS+=($!)
SOCK="/run/$P.sock"
HELPER=

kernel_on() { ip netns exec "$RTR" nft -f scripts/nft/bench-kernel.nft; }
kernel_off() { ip netns exec "$RTR" nft delete table ip bench_kernel 2>/dev/null || true; }
# $GUARD: the helper's --gre-guard (its default, flow, when empty).
ours_on() {
    ip netns exec "$RTR" env ${QUEUE_RULES:+PPTP_PASSTHROUGH_QUEUE_RULES="$QUEUE_RULES"} \
        "${HBIN:-$BIN}" helper --wan wan0 --lan lan0 --socket "$SOCK" ${GUARD:+--gre-guard "$GUARD"} \
        2>>"$WORK/helper.log" &
    HELPER=$!
    PIDS+=("$HELPER")
    for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
    echo "the helper did not start" >&2
    cat "$WORK/helper.log" >&2
    exit 1
}
ours_off() {
    [ -n "$HELPER" ] && kill "$HELPER" 2>/dev/null && kill -CONT "$HELPER" && wait "$HELPER" 2>/dev/null
    HELPER=
    rm -f "$SOCK"
    # The `iptables` contender's helper removed its rules and iptables-nft's
    # then empty mangle table; should it not have ended cleanly, the empty
    # base chain (mangle FORWARD) would cost every contender after it a
    # chain call per packet.
    ip netns exec "$RTR" nft delete table ip mangle 2>/dev/null || true
}
# The conntrack floor: masquerade, and every inbound GRE packet DNATed to
# the LAN host by one static rule.
floor_on() { ip netns exec "$RTR" nft -f scripts/nft/bench-floor.nft; }
floor_off() { ip netns exec "$RTR" nft delete table ip bench_floor 2>/dev/null || true; }
# The floor and one empty base chain: in the forward hook (`chain`), where
# the helper's chain sits, what any rule set there costs every packet; in
# the prerouting hook (`prechain`), where the kernel helper's chain sits
# (conntrack and NAT already hook there, while the forward hook has no
# other hook function on this router).
empty_chain_on() { # $1 hook, $2 priority
    floor_on
    ip netns exec "$RTR" nft -f - <<NFT
table ip bench_chain {
    chain c {
        type filter hook $1 priority $2; policy accept;
    }
}
NFT
}
chain_off() {
    floor_off
    ip netns exec "$RTR" nft delete table ip bench_chain 2>/dev/null || true
}
flush_ct() {
    ip netns exec "$RTR" conntrack -F >/dev/null 2>&1 || true
    ip netns exec "$RTR" conntrack -F expect >/dev/null 2>&1 || true
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# CPU milliseconds a process and the children it waited for have used
# (utime, stime, cutime, cstime of /proc/PID/stat, in clock ticks).
cpu_ms() {
    local hz
    hz=$(getconf CLK_TCK)
    sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$hz" '{print int(($12 + $13 + $14 + $15) * 1000 / hz)}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {print (b > 0) ? sprintf("%.2f", a / b) : "-"}'; }
ROWS=()

# --- 1. GRE forwarding through the router -------------------------------
# One gregen run: N calls (one control connection each) between the LAN
# host and a PAC at 198.51.100.12, then GRE one way for GRE_SECS.
# Prints "packets/s Gbit/s loss% keys": delivered rate, loss against what
# was sent, and how many calls' Call IDs the receiver saw.
gre_run() { # $1 calls, $2 payload bytes, $3 in|out, $4 perf file
    local o=(--calls "$1" --size "$2" --dir "$3" --secs "$GRE_SECS" --quiet-ms 500 --wait $((30 + $1 / 100)) --spin)
    local lim=$((GRE_SECS + 60 + $1 / 100)) pp tx rx
    ip netns exec "$NET" timeout "$lim" "$GREGEN" peer --listen 198.51.100.12 "${o[@]}" \
        >"$WORK/gre.peer" 2>"$WORK/gre.peer.err" &
    pp=$!
    PIDS+=("$pp")
    # The watcher below waits for this run's "blasting", not the last one's.
    : >"$WORK/gre.hcpu"
    : >"$WORK/gre.peer.err"
    : >"$WORK/gre.pns.err"
    local watch=${4:-}${HELPER:-}
    if [ -n "$watch" ]; then
        # Once the sender blasts (it says so on stderr), not while the
        # calls are set up: GRE_PERF's record of the whole machine;
        # and the CPU the helper (with the commands it waited for) took
        # meanwhile, on the cores the packets need.
        local err=$WORK/gre.peer.err
        [ "$3" = out ] && err=$WORK/gre.pns.err
        (
            for ((i = 0; i < lim * 20; i++)); do
                grep -q '^blasting' "$err" 2>/dev/null && break
                sleep 0.05
            done
            local h0=
            [ -n "$HELPER" ] && h0=$(cpu_ms "$HELPER")
            # The `frozen` contender: the helper's process does nothing
            # while the packets flow (ours_off wakes it to end it).
            [ -n "${FREEZE:-}" ] && kill -STOP "$HELPER"
            if [ -n "${4:-}" ]; then
                perf record -q -a -g -o "$4" -- sleep "$GRE_SECS" >/dev/null 2>&1
            else
                # One second short of the sender's end: the calls' tear-down
                # after it (every control connection closing through the
                # queue) is no part of the packets' path.
                sleep "$((GRE_SECS > 1 ? GRE_SECS - 1 : 1))"
            fi
            [ -n "${FREEZE:-}" ] && kill -CONT "$HELPER"
            if [ -n "$h0" ]; then echo $(($(cpu_ms "$HELPER") - h0)) >"$WORK/gre.hcpu"; fi
        ) &
        PIDS+=("$!")
    fi
    ip netns exec "$LAN" timeout "$lim" "$GREGEN" pns --server 198.51.100.12 "${o[@]}" \
        --from 192.168.1.10 --hosts "$(gre_hosts "$1")" \
        >"$WORK/gre.pns" 2>"$WORK/gre.pns.err" || true
    wait "$pp" || true
    if [ -n "$watch" ]; then wait "${PIDS[-1]}" || true; fi
    if [ "$3" = out ]; then tx=$WORK/gre.pns rx=$WORK/gre.peer; else tx=$WORK/gre.peer rx=$WORK/gre.pns; fi
    if ! grep -q '^sent=' "$tx" || ! grep -q '^received=' "$rx"; then
        echo "    gregen failed; it said:" >&2
        cat "$WORK/gre.pns.err" "$WORK/gre.peer.err" >&2
    fi
    cat "$tx" "$rx" | awk '
        { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[$1 ~ /^sent=/ ? "tx_" kv[1] : "rx_" kv[1]] = kv[2] } }
        END {
            t = v["rx_secs"] + 0; r = v["rx_received"] + 0; s = v["tx_sent"] + 0
            printf "%d %.3f %.1f %d\n", (t > 0) ? r / t : 0, (t > 0) ? v["rx_bytes"] * 8 / t / 1e9 : 0,
                (s > 0) ? (s - r) * 100 / s : 100, v["rx_keys"] + 0
        }'
}
# gre_profile FILE PPS: one run's profile as CPU samples per 1 000
# delivered packets, in the chains of the sender's system call (on veth
# the router's whole path runs on the sending CPU), netfilter's hooks,
# nf_tables' rule sets, conntrack and NAT (scripts/perf-breakdown.awk).
gre_profile() {
    perf script -i "$1" -F comm,ip,sym 2>/dev/null | awk -f scripts/perf-breakdown.awk |
        awk -v k="$(awk -v p="$2" -v s="$GRE_SECS" 'BEGIN { print p * s / 1000 }')" \
            '{ for (i = 1; i <= NF; i++) printf "%.4f%s", (k > 0) ? $i / k : 0, (i < NF) ? " " : "\n" }'
}
# gre_paired A B: per round, A's packets/s over B's in the same round (the
# rounds alternate the contenders, so a drift of the machine between
# rounds cancels out), and their median.
gre_paired() {
    paste -d' ' "$1" "$2" | awk '$4 > 0 { printf "%.2f\n", $1 / $4 }' >"$WORK/paired"
    printf '%s (rounds: %s)' "$(median <"$WORK/paired" | xargs printf '%.2f')" "$(tr '\n' ' ' <"$WORK/paired" | sed 's/ $//')"
}
gre_cell() { # $1 file of "pps gbps loss" lines: medians
    printf '%s pkt/s, %s Gbit/s, %s %% loss' "$(cut -d' ' -f1 <"$1" | median)" \
        "$(cut -d' ' -f2 <"$1" | median)" "$(cut -d' ' -f3 <"$1" | median)"
}
if want gre; then
    echo "==> GRE forwarding: calls $GRE_CALLS x payload $GRE_SIZES B x direction $GRE_DIRS, ${GRE_SECS} s each,"
    echo "    $ROUNDS round(s); contenders alternated: plain routing, masquerade + kernel helper, masquerade + this helper"
    echo "    (flow guard, the default; and raw guard), the conntrack floor (masquerade + one static GRE DNAT)"
    for n in $GRE_CALLS; do
        for size in $GRE_SIZES; do
            for dir in $GRE_DIRS; do
                k="$n.$size.$dir"
                for who in plain kernel ours raw floor chain prechain iptables base frozen; do : >"$WORK/gre.$k.$who"; : >"$WORK/gre.$k.$who.perf"; done
                for r in $(seq "$ROUNDS"); do
                    # Each round starts one contender further on: with
                    # ROUNDS a multiple of their number, every contender
                    # runs in every place as often, and whatever drifts
                    # within a round favours none of them.
                    shift_by=$(((r - 1) % ${#WHO[@]}))
                    for who in "${WHO[@]:shift_by}" "${WHO[@]:0:shift_by}"; do
                        flush_ct
                        case $who in
                            plain) masq_off ;; kernel) kernel_on ;; ours) ours_on ;;
                            raw) GUARD=raw ours_on ;; floor) floor_on ;; chain) empty_chain_on forward mangle ;; prechain) empty_chain_on prerouting filter ;; frozen) ours_on ;; iptables) QUEUE_RULES=iptables ours_on ;;
                            base) HBIN=$BASE_BIN ours_on ;;
                        esac
                        FREEZE=; [ "$who" = frozen ] && FREEZE=1
                        read -r pps gbps loss keys < <(gre_run "$n" "$size" "$dir" \
                            "${GRE_PERF:+$GRE_PERF/$k.$who.r$r.data}")
                        case $who in
                            plain) masq_on ;; kernel) kernel_off ;; ours | raw | iptables | base | frozen) ours_off ;; floor) floor_off ;; chain | prechain) chain_off ;;
                        esac
                        echo "$pps $gbps $loss" >>"$WORK/gre.$k.$who"
                        if [ -n "${GRE_PERF:-}" ]; then
                            gre_profile "$GRE_PERF/$k.$who.r$r.data" "$pps" >>"$WORK/gre.$k.$who.perf"
                        fi
                        hcpu=$(cat "$WORK/gre.hcpu")
                        echo "    round $r $dir $n call(s) ${size} B $who: $pps pkt/s, $gbps Gbit/s, $loss % loss, $keys/$n calls reached${hcpu:+, helper CPU while the packets flowed: $hcpu ms}"
                    done
                done
                K_=$(cut -d' ' -f1 <"$WORK/gre.$k.kernel" | median)
                O_=$(cut -d' ' -f1 <"$WORK/gre.$k.ours" | median)
                R_=$(cut -d' ' -f1 <"$WORK/gre.$k.raw" | median)
                F_=$(cut -d' ' -f1 <"$WORK/gre.$k.floor" | median)
                PK_=$(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.kernel")
                PF_=$(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.floor")
                echo "    paired, the flow guard over the kernel helper: $PK_; over the floor: $PF_"
                if [ -s "$WORK/gre.$k.iptables" ]; then
                    echo "    paired, the queue rules in iptables over the kernel helper: $(gre_paired "$WORK/gre.$k.iptables" "$WORK/gre.$k.kernel");" \
                        "over the floor: $(gre_paired "$WORK/gre.$k.iptables" "$WORK/gre.$k.floor"); the flow guard over them: $(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.iptables")"
                fi
                if [ -s "$WORK/gre.$k.chain" ]; then
                    echo "    paired, the floor with an empty forward chain over the floor: $(gre_paired "$WORK/gre.$k.chain" "$WORK/gre.$k.floor");" \
                        "the flow guard over it: $(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.chain"); the kernel helper over it: $(gre_paired "$WORK/gre.$k.kernel" "$WORK/gre.$k.chain")"
                fi
                if [ -s "$WORK/gre.$k.prechain" ]; then
                    echo "    paired, the floor with an empty prerouting chain over the floor: $(gre_paired "$WORK/gre.$k.prechain" "$WORK/gre.$k.floor");" \
                        "the empty forward chain over it: $(gre_paired "$WORK/gre.$k.chain" "$WORK/gre.$k.prechain"); the flow guard over it: $(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.prechain"); the kernel helper over it: $(gre_paired "$WORK/gre.$k.kernel" "$WORK/gre.$k.prechain")"
                fi
                if [ -s "$WORK/gre.$k.frozen" ]; then
                    echo "    paired, the helper stopped while the packets flow over the empty chain: $(gre_paired "$WORK/gre.$k.frozen" "$WORK/gre.$k.chain"); the running helper over the stopped one: $(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.frozen")"
                fi
                if [ -s "$WORK/gre.$k.base" ]; then
                    echo "    paired, the base build over the kernel helper: $(gre_paired "$WORK/gre.$k.base" "$WORK/gre.$k.kernel");" \
                        "over the floor: $(gre_paired "$WORK/gre.$k.base" "$WORK/gre.$k.floor"); this build over it: $(gre_paired "$WORK/gre.$k.ours" "$WORK/gre.$k.base")"
                fi
                if [ -n "${GRE_PERF:-}" ]; then
                    echo "    CPU samples per 1 000 delivered packets, medians (the sending CPU's path / netfilter / rule sets / conntrack / NAT):"
                    for who in "${WHO[@]}"; do
                        [ -s "$WORK/gre.$k.$who.perf" ] || continue
                        echo "      $who: $(for c in 1 2 3 4 5; do cut -d' ' -f$c <"$WORK/gre.$k.$who.perf" | median | xargs printf '%.3f'; echo; done | paste -sd/)"
                    done
                fi
                ROWS+=("| GRE $dir, $n call(s), ${size} B payload, delivered (plain routing: $(gre_cell "$WORK/gre.$k.plain"); conntrack floor: $(gre_cell "$WORK/gre.$k.floor")) | $(gre_cell "$WORK/gre.$k.kernel") | flow guard: $(gre_cell "$WORK/gre.$k.ours"); raw guard: $(gre_cell "$WORK/gre.$k.raw") | $(ratio "$O_" "$K_") (raw guard: $(ratio "$R_" "$K_")); of the floor: $(ratio "$O_" "$F_") (raw: $(ratio "$R_" "$F_")); paired per round: $PK_ and of the floor $PF_; target 1.0 and 0.95 |")
            done
        done
    done
    flush_ct
fi

# --- 1b. GRE forwarding counted in instructions ----------------------------
# The host's rounds spread by up to a third: they cannot show 1 %. In the
# VM of scripts/vm-lab.sh --bench one guest nanosecond is one instruction,
# so a rate is a cost in instructions, the same from run to run. Its kernel
# is Debian 12's 6.1, not the host's; the ratios are the result.
if want gre-vm; then
    GV_CALLS=${GRE_VM_CALLS:-1 100} GV_ROUNDS=${GRE_VM_ROUNDS:-3}
    [ -z "$QUICK" ] || GV_CALLS=1 GV_ROUNDS=1
    GV_FW=${GRE_VM_FIREWALL:-0}
    echo "==> GRE forwarding counted in instructions (scripts/vm-lab.sh --bench; qemu -icount): calls $GV_CALLS"
    echo "    x payload 64 1400 B x direction in out, $GV_ROUNDS round(s)$([ "$GV_FW" = 1 ] && echo ', a firewall forward chain in front')"
    # Behind a firewall also `fwdispatch`: this helper with its two
    # protocol tests in the firewall's own forward chain (`--dispatch
    # firewall`, `fw4-rules`), as the OpenWrt package runs it.
    GV_WHO="kernel ours floor chain prechain"
    [ "$GV_FW" != 1 ] || GV_WHO="$GV_WHO fwdispatch"
    VM_LAB_BENCH_CALLS=$GV_CALLS VM_LAB_BENCH_ROUNDS=$GV_ROUNDS VM_LAB_BENCH_FIREWALL=$GV_FW \
        VM_LAB_BENCH_WHO="$GV_WHO" \
        scripts/vm-lab.sh --bench 2>&1 | tee "$WORK/gre-vm.log" | sed 's/^/    /' || true
    if ! grep -q '^VMBENCH-CELL ' "$WORK/gre-vm.log"; then
        ROWS+=("| GRE counted in instructions (VM) | - | - | failed: see scripts/vm-lab.sh --bench |")
    fi
    # Instructions per packet: 1e9 over the packets per guest second.
    ipp() { awk -v p="$1" 'BEGIN { print (p > 0) ? int(1e9 / p + 0.5) : "-" }'; }
    # Three places: one batch of 64 packets is 0.08 % of a two-second run.
    ratio3() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > 0) ? sprintf("%.3f", a / b) : "-" }'; }
    while read -r line; do
        gv() { echo "$line" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
        fw=''
        [ "$GV_FW" = 1 ] && fw=', behind a firewall forward chain'
        # A contender that carried fewer calls than asked ("kernel:32/1000")
        # counted other work than the rest: no ratio against it.
        vk=$(ratio3 "$(gv ours)" "$(gv kernel)")
        [ -z "$(gv inside)" ] || fw="$fw; its two tests inside the firewall's chain, nothing else (inside): $(ipp "$(gv inside)"), $(ratio3 "$(gv inside)" "$(gv kernel)") of the kernel helper"
        [ -z "$(gv fwdispatch)" ] || fw="$fw; this helper with the firewall's dispatch (--dispatch firewall, as on OpenWrt): $(ipp "$(gv fwdispatch)"), **$(ratio3 "$(gv fwdispatch)" "$(gv kernel)") of the kernel helper**, $(ratio3 "$(gv fwdispatch)" "$(gv floor)") of the floor"
        [ -z "$(gv short)" ] || fw="$fw; calls reached: $(gv short)"
        case ",$(gv short)" in *,kernel:*) vk='- (not every call reached)' ;; esac
        ROWS+=("| GRE $(gv dir), $(gv calls) call(s), $(gv size) B payload, instructions per packet in the VM$fw (median of $(gv rounds); the floor: $(ipp "$(gv floor)"); the floor and one empty base chain in the forward hook: $(ipp "$(gv chain)"), in the prerouting hook: $(ipp "$(gv prechain)")) | $(ipp "$(gv kernel)") | $(ipp "$(gv ours)") | $vk; of the floor: $(ratio3 "$(gv ours)" "$(gv floor)"); target 1.0 and 0.95 |")
    done < <(grep '^VMBENCH-CELL ' "$WORK/gre-vm.log")
fi

# --- 2. control plane: call set-ups per second through the router --------
if want control; then
    echo "==> control plane: $BURST call set-ups (SCCRQ + 64 OCRQs on each of $(((BURST + 63) / 64)) connections at once, from $(burst_hosts "$BURST") LAN addresses), $ROUNDS round(s), contenders alternated"
    : >"$WORK/cp.kernel"; : >"$WORK/cp.ours"
    for r in $(seq "$ROUNDS"); do
        for who in kernel ours; do
            flush_ct
            if [ "$who" = kernel ]; then kernel_on; else ours_on; fi
            burst_args "$BURST"
            ms=$(ip netns exec "$LAN" "$GEN" "${BA[@]}" 2>&1 >/dev/null |
                sed -n 's/^replies_ms=//p')
            rate=$(awk -v n="$BURST" -v ms="${ms:-0}" 'BEGIN {print (ms > 0) ? int(n * 1000 / ms) : 0}')
            echo "$rate" >>"$WORK/cp.$who"
            echo "    round $r $who: $BURST set-ups in ${ms:-?} ms = $rate/s"
            if [ "$who" = kernel ]; then kernel_off; else ours_off; fi
        done
    done
    CP_K=$(median <"$WORK/cp.kernel"); CP_O=$(median <"$WORK/cp.ours")
    ROWS+=("| call set-ups per second through the router, one burst on $(((BURST + 63) / 64)) connections of 64 calls (median of $ROUNDS) | $CP_K | $CP_O | $(ratio "$CP_O" "$CP_K") (target ≥ 5 000/s) |")

    # Round trips one at a time: the latency each contender adds over plain
    # routing, on a reused connection (OCRQ/OCRP) and on fresh ones (TCP
    # connect + SCCRQ/SCCRP + OCRQ/OCRP).
    echo "==> control plane: $LAT_COUNT round trips one at a time, reused and fresh connections, $ROUNDS round(s)"
    for who in plain kernel ours; do : >"$WORK/lat.$who"; done
    for r in $(seq "$ROUNDS"); do
        for who in plain kernel ours; do
            flush_ct
            case $who in plain) masq_off ;; kernel) kernel_on ;; ours) ours_on ;; esac
            line=$(ip netns exec "$LAN" timeout 120 "$GREGEN" latency --server 198.51.100.10 \
                --count "$LAT_COUNT" --wait 100 2>&1 || true)
            case $who in plain) masq_on ;; kernel) kernel_off ;; ours) ours_off ;; esac
            echo "    round $r $who: $line"
            echo "$line" | awk '{for (i = 1; i <= NF; i++) {split($i, kv, "="); v[kv[1]] = kv[2]}}
                END {print v["reused_p50_us"] + 0, v["reused_p99_us"] + 0, v["fresh_p50_us"] + 0,
                     v["fresh_p99_us"] + 0, v["fresh_per_s"] + 0}' >>"$WORK/lat.$who"
        done
    done
    lat() { cut -d' ' -f"$2" <"$WORK/lat.$1" | median; }
    # Added = contender minus plain routing, per percentile (medians of rounds).
    added() { awk -v a="$(lat "$1" "$2")" -v b="$(lat plain "$2")" 'BEGIN {print a - b}'; }
    ROWS+=("| control message round trip, reused connection, p50 / p99 (plain routing: $(lat plain 1) / $(lat plain 2) µs) | $(lat kernel 1) / $(lat kernel 2) µs | $(lat ours 1) / $(lat ours 2) µs | |")
    ROWS+=("| latency added per round trip (two control messages) over plain routing, p50 / p99 | $(added kernel 1) / $(added kernel 2) µs | $(added ours 1) / $(added ours 2) µs | target p99 < 200 µs per message |")
    ROWS+=("| call set-up on a fresh connection (connect, SCCRQ/RP, OCRQ/RP), p50 / p99 (plain: $(lat plain 3) / $(lat plain 4) µs) | $(lat kernel 3) / $(lat kernel 4) µs | $(lat ours 3) / $(lat ours 4) µs | |")
    ROWS+=("| call set-ups per second on fresh connections, one at a time (plain: $(lat plain 5)) | $(lat kernel 5) | $(lat ours 5) | $(ratio "$(lat ours 5)" "$(lat kernel 5)") |")
fi

# --- 3. helper memory ------------------------------------------------------
if want memory; then
    echo "==> helper memory with 0, 1 000 and 10 000 tracked calls"
    flush_ct
    ours_on
    sleep 0.5
    RSS0=$(rss_kib "$HELPER")
    # Calls counted in the kernel map (by nft, not the helper: a status
    # listing of every call has a memory cost of its own, measured apart).
    calls() { ip netns exec "$RTR" nft -j list map ip pptp_passthrough gre_dnat | grep -o '"pns ' | wc -l; }
    # Hold N calls open until the helper tracks them all (at most 110 s).
    hold_calls() {
        burst_args "$1"
        ip netns exec "$LAN" "$GEN" "${BA[@]}" --hold 120 >/dev/null 2>&1 &
        GP=$!
        PIDS+=("$GP")
        local t0
        t0=$(date +%s)
        HELD=0
        while [ "$HELD" -lt "$1" ] && [ $(($(date +%s) - t0)) -lt 110 ]; do sleep 1; HELD=$(calls); done
    }
    hold_calls 1000
    N1K=$HELD
    sleep 1
    RSS1K=$(rss_kib "$HELPER")
    kill "$GP" 2>/dev/null || true
    wait "$GP" 2>/dev/null || true
    sleep 1
    hold_calls "$MANY"
    CALLS10K=$HELD
    sleep 1
    RSS10K=$(rss_kib "$HELPER")
    # One status of every call: its time, and the calls it gave their
    # elements' time left (read from the kernel map).
    T0=$(date +%s%N)
    ip netns exec "$RTR" "$BIN" status --json --socket "$SOCK" >"$WORK/status.json"
    STATUS_MS=$((($(date +%s%N) - T0) / 1000000))
    STATUS_TIMED=$(python3 -c 'import json, sys; print(sum(1 for c in json.load(open(sys.argv[1]))["calls"] if c.get("expires", 0) > 0))' "$WORK/status.json")
    sleep 1
    RSS10KS=$(rss_kib "$HELPER")
    kill "$GP" 2>/dev/null || true
    wait "$GP" 2>/dev/null || true
    echo "    RSS: ${RSS0} KiB idle, ${RSS1K} KiB at $N1K calls, ${RSS10K} KiB at $CALLS10K calls, ${RSS10KS} KiB after one status listing"
    echo "    status --json at $CALLS10K calls: $STATUS_MS ms, $STATUS_TIMED calls with their time left"
    ours_off
    ROWS+=("| helper RSS, idle / $N1K / $CALLS10K calls | - | $RSS0 / $RSS1K / $RSS10K KiB | target ≤ 8 MiB at 10 000 |")
    ROWS+=("| helper RSS at $CALLS10K calls after one \`status --json\` of every call | - | $RSS10KS KiB | |")
    ROWS+=("| one \`status --json\` at $CALLS10K calls: wall time; calls given their elements' time left | - | $STATUS_MS ms; $STATUS_TIMED | |")
fi

# --- 4. embedded tunnel ----------------------------------------------------
want tunnel && echo "==> tunnel: TCP goodput through our client and server (iperf3, ${IPERF_SECS} s), MPPE off / 128 stateless / 128 stateful"
printf 'bench * "bench pass" *\n' >"$WORK/secrets"
ticks=$(getconf CLK_TCK)
cpu_us() { awk -v t="$ticks" '{print $14 / t, $15 / t}' "/proc/$1/stat"; }
tunnel_round() { # $1: none|stateless|stateful, $2: binary; prints "Mbit/s user_s_per_GB system_s_per_GB"
    local mppe=() srv cli BIN=$2
    case "$1" in
        none) mppe=(--mppe none) ;;
        stateful) mppe=(--mppe-stateful) ;;
    esac
    ip netns exec "$NET" "$BIN" server --listen 198.51.100.11 --secrets "$WORK/secrets" \
        --local-ip 10.99.0.1 --pool-start 10.99.0.10 --pool-end 10.99.0.20 \
        --socket "$WORK/srv.sock" "${mppe[@]}" 2>>"$WORK/server.log" &
    srv=$!
    sleep 0.5
    ip netns exec "$LAN" "$BIN" client connect 198.51.100.11 --user bench --password "bench pass" \
        --socket "$WORK/cli.sock" "${mppe[@]}" >"$WORK/client.out" 2>>"$WORK/client.log" &
    cli=$!
    for _ in $(seq 100); do grep -q '^connected' "$WORK/client.out" && break; sleep 0.1; done
    ip netns exec "$NET" iperf3 -s -1 -B 10.99.0.1 >/dev/null 2>&1 &
    local ip3=$!
    sleep 0.3
    local c0 s0 c1 s1 bytes
    c0=$(cpu_us "$cli" 2>/dev/null || echo 0 0); s0=$(cpu_us "$srv" 2>/dev/null || echo 0 0)
    bytes=$(ip netns exec "$LAN" iperf3 -c 10.99.0.1 -t "$IPERF_SECS" -J 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' 2>/dev/null ||
        echo 0)
    c1=$(cpu_us "$cli" 2>/dev/null || echo "$c0"); s1=$(cpu_us "$srv" 2>/dev/null || echo "$s0")
    if [ "${bytes:-0}" = 0 ]; then
        echo "    tunnel $1 failed; client and server said:" >&2
        tail -n 5 "$WORK/client.out" "$WORK/client.log" "$WORK/server.log" >&2
    fi
    kill "$cli" "$srv" "$ip3" 2>/dev/null || true
    wait "$cli" "$srv" "$ip3" 2>/dev/null || true
    echo "$bytes $c0 $c1 $s0 $s1" | awk -v t="$IPERF_SECS" '{
        gb = $1 / 1e9; if (gb == 0) gb = 1e-9
        printf "%d %.1f %.1f\n", $1 * 8 / t / 1e6, (($4 - $2) + ($8 - $6)) / gb, (($5 - $3) + ($9 - $7)) / gb }'
}
if want tunnel; then
    # Both builds alternate inside each round: the shipped one (size) and
    # `--profile fast`.
    for b in size fast; do
        for mode in none stateless stateful; do : >"$WORK/tp.$b.$mode"; : >"$WORK/cpu.$b.$mode"; done
    done
    ours_on
    for r in $(seq "$ROUNDS"); do
        for mode in none stateless stateful; do
            for b in size fast; do
                bin=$BIN; [ "$b" = fast ] && bin=$FAST_BIN
                read -r mbit user sys < <(tunnel_round "$mode" "$bin")
                echo "$mbit" >>"$WORK/tp.$b.$mode"; echo "$user $sys" >>"$WORK/cpu.$b.$mode"
                echo "    round $r MPPE $mode, $b build: $mbit Mbit/s, CPU s/GB user $user + system $sys"
            done
        done
    done
    ours_off
    tunnel_cell() { # $1 build, $2 mode
        local u s
        u=$(cut -d' ' -f1 "$WORK/cpu.$1.$2" | median); s=$(cut -d' ' -f2 "$WORK/cpu.$1.$2" | median)
        echo "$(median <"$WORK/tp.$1.$2") Mbit/s, CPU s/GB user $u + system $s"
    }
    for mode in none stateless stateful; do
        case $mode in
            none) what="MPPE off" ;;
            stateless) what="MPPE-128 stateless" ;;
            stateful) what="MPPE-128 stateful" ;;
        esac
        ROWS+=("| tunnel goodput through namespaces (iperf3), $what: shipped build; \`--profile fast\` | - | $(tunnel_cell size "$mode"); $(tunnel_cell fast "$mode") | |")
    done

    echo "==> tunnel data path in memory (examples/datapath.rs, 1400-byte packets): Gbit/s per core"
    for b in size fast; do
        for mode in none stateless stateful; do : >"$WORK/dp.$b.$mode"; done
    done
    for r in $(seq "$ROUNDS"); do
        for mode in none stateless stateful; do
            for b in size fast; do
                dp=$DATAPATH; [ "$b" = fast ] && dp=$FAST_DATAPATH
                "$dp" --mppe "$mode" --size 1400 --secs "$GRE_SECS" |
                    python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["send_gbit_per_core"], d["receive_gbit_per_core"])' \
                        >>"$WORK/dp.$b.$mode"
                echo "    round $r MPPE $mode, $b build: send / receive $(tail -n 1 "$WORK/dp.$b.$mode") Gbit/s per core"
            done
        done
    done
    dp_cell() { # $1 build, $2 mode
        echo "$(cut -d' ' -f1 "$WORK/dp.$1.$2" | median) / $(cut -d' ' -f2 "$WORK/dp.$1.$2" | median)"
    }
    for mode in none stateless stateful; do
        case $mode in
            none) what="MPPE off" target="" ;;
            stateless) what="MPPE-128 stateless" target="target ≥ 1 Gbit/s per core" ;;
            stateful) what="MPPE-128 stateful" target="" ;;
        esac
        ROWS+=("| tunnel data path in memory, $what, 1400-byte packets, Gbit/s per core, send / receive: shipped build; \`--profile fast\` | - | $(dp_cell size "$mode"); $(dp_cell fast "$mode") | $target |")
    done
fi

# --- 5. tunnel in the interop VM: pptpd + pppd vs this server ---------------
# scripts/interop.sh --bench boots the interop VM once and alternates pptpd +
# pppd and this server in it; this project's client dials both from a
# namespace. qemu TCG makes every number small: the ratio is what counts.
if want vm; then
    echo "==> tunnel in the interop VM (qemu TCG): pptpd + pppd vs this server, the same client,"
    echo "    $VM_ROUNDS round(s), $VM_MB MiB down and up per call (scripts/interop.sh --bench)"
    if ! command -v qemu-system-x86_64 >/dev/null 2>&1 &&
        ! (install_packages qemu-system-x86 busybox-static) >"$WORK/vm-install.log" 2>&1; then
        echo "    skipped: qemu could not be installed:"
        tail -n 3 "$WORK/vm-install.log" | sed 's/^/      /'
        ROWS+=("| tunnel in the interop VM (qemu TCG), pptpd + pppd vs this server, same client | - | - | skipped: no qemu |")
    else
        INTEROP_BENCH_ROUNDS=$VM_ROUNDS INTEROP_BENCH_MB=$VM_MB scripts/interop.sh --bench 2>&1 |
            tee "$WORK/vm.log" | sed 's/^/    /' || true
        VMB=$(sed -n 's/^INTEROP-BENCH //p' "$WORK/vm.log" | tail -n 1)
        vmb() { echo "$VMB" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
        if [ -n "$VMB" ]; then
            ROWS+=(
                "| tunnel in the interop VM (qemu TCG), pptpd + pppd vs this server, same client (MPPE-128 stateless): download, the server encrypts ($VM_MB MiB, median of $(vmb rounds)) | $(vmb pptpd_down) Mbit/s, $(vmb pptpd_down_cpu) VM CPU ms/MiB | $(vmb ours_down) Mbit/s, $(vmb ours_down_cpu) VM CPU ms/MiB | $(vmb ratio_down) |"
                "| tunnel in the interop VM (qemu TCG), pptpd + pppd vs this server, same client (MPPE-128 stateless): upload, the server decrypts | $(vmb pptpd_up) Mbit/s, $(vmb pptpd_up_cpu) VM CPU ms/MiB | $(vmb ours_up) Mbit/s, $(vmb ours_up_cpu) VM CPU ms/MiB | $(vmb ratio_up) |"
                "| the same, this server on the kernel's data path (\`--data-path kernel\`): download | $(vmb pptpd_down) Mbit/s, $(vmb pptpd_down_cpu) VM CPU ms/MiB | $(vmb kernel_down) Mbit/s, $(vmb kernel_down_cpu) VM CPU ms/MiB | $(vmb kernel_ratio_down); $(vmb kernel_vs_tun_down) x the TUN path; target 2.5 and 2 |"
                "| the same, this server on the kernel's data path: upload | $(vmb pptpd_up) Mbit/s, $(vmb pptpd_up_cpu) VM CPU ms/MiB | $(vmb kernel_up) Mbit/s, $(vmb kernel_up_cpu) VM CPU ms/MiB | $(vmb kernel_ratio_up); $(vmb kernel_vs_tun_up) x the TUN path; target 2.5 and 2 |"
            )
        else
            ROWS+=("| tunnel in the interop VM (qemu TCG), pptpd + pppd vs this server, same client | - | - | failed: see scripts/interop.sh --bench |")
        fi
        # The client's turn: the VM's client dials this server on the host.
        VMC=$(sed -n 's/^INTEROP-BENCH-CLIENT //p' "$WORK/vm.log" | tail -n 1)
        if [ -n "$VMC" ]; then
            VMB=$VMC
            ROWS+=(
                "| client in the interop VM (qemu TCG), pptp-linux + pppd vs this client on the TUN path, same server (this one, on the host): download, the client decrypts ($VM_MB MiB, median of $(vmb rounds)) | $(vmb pppd_down) Mbit/s, $(vmb pppd_down_cpu) VM CPU ms/MiB | $(vmb ours_down) Mbit/s, $(vmb ours_down_cpu) VM CPU ms/MiB | $(vmb ratio_down) |"
                "| client in the interop VM: upload, the client encrypts | $(vmb pppd_up) Mbit/s, $(vmb pppd_up_cpu) VM CPU ms/MiB | $(vmb ours_up) Mbit/s, $(vmb ours_up_cpu) VM CPU ms/MiB | $(vmb ratio_up) |"
                "| the same, this client on the kernel's data path (\`--data-path kernel\`): download | $(vmb pppd_down) Mbit/s, $(vmb pppd_down_cpu) VM CPU ms/MiB | $(vmb kernel_down) Mbit/s, $(vmb kernel_down_cpu) VM CPU ms/MiB | $(vmb kernel_ratio_down); $(vmb kernel_vs_tun_down) x the TUN path; target 2.5 and 2 |"
                "| the same, this client on the kernel's data path: upload | $(vmb pppd_up) Mbit/s, $(vmb pppd_up_cpu) VM CPU ms/MiB | $(vmb kernel_up) Mbit/s, $(vmb kernel_up_cpu) VM CPU ms/MiB | $(vmb kernel_ratio_up); $(vmb kernel_vs_tun_up) x the TUN path; target 2.5 and 2 |"
            )
        else
            ROWS+=("| client in the interop VM (qemu TCG), pptp-linux + pppd vs this client, same server | - | - | failed: see scripts/interop.sh --bench |")
        fi
    fi
fi

# --- 7. router targets (before the host's size row, so --only cross is short)
if want cross; then
    echo "==> router targets: five musl builds, the data path under qemu-user (scripts/cross.sh --bench)"
    scripts/cross.sh --bench --json >"$WORK/cross.jsonl"
    while IFS= read -r row; do ROWS+=("$row"); done < <(python3 - "$WORK/cross.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
for r in rows:
    if "bytes" in r:
        print(f'| {r["target"]}: static release binary; compressed with xz -9e | - | {r["bytes"]} bytes; {r["xz_bytes"]} bytes | |')
g = {(r["target"], r["mppe"]): r["datapath"]["send_gbit_per_core"] for r in rows if r.get("profile") == "release"}
f = {(r["target"], r["mppe"]): r["datapath"]["send_gbit_per_core"] for r in rows if r.get("profile") == "fast"}
x = {m: g.get(("x86_64-unknown-linux-musl", m)) for m in ("none", "stateless", "stateful")}
for t in dict.fromkeys(t for t, _ in g):
    vs = " / ".join(f'{g[(t, m)] / x[m]:.2f}' if x[m] else "-" for m in ("none", "stateless", "stateful"))
    sf = " / ".join(f'{g[(t, m)] / f[(t, m)]:.2f}' for m in ("stateless", "stateful"))
    print(f'| {t}: data path under qemu-user vs x86_64 under qemu, MPPE off / stateless / stateful (ratios only) | - | {vs} | stateless/off {g[(t, "stateless")] / g[(t, "none")]:.2f}; shipped/fast MPPE stateless / stateful {sf} (target ≥ 0.95) |')
PY
)
fi

# --- 8. the server at scale ------------------------------------------------
if want scale; then
    echo "==> server at scale: $SCALE_SESSIONS sessions from one load generator, then $SCALE_MB MiB through them"
    # The generator on the router's own address, straight to the server (no
    # NAT on the way); the server's UDP sink drops what arrives.
    masq_off
    printf 'load * "load pass" *\n' >"$WORK/load-secrets"
    ip netns exec "$NET" nft -f - <<'NFT'
table ip bench_sink {
    chain input {
        type filter hook input priority filter; policy accept;
        udp dport 9 drop
    }
}
NFT
    ip netns exec "$NET" "$BIN" server --listen 198.51.100.11 --secrets "$WORK/load-secrets" \
        --local-ip 10.96.0.1 --pool-start 10.96.0.10 --pool-end 10.96.15.250 \
        --max-sessions 5000 --max-pending-auth 256 --no-ipv6 --tun pptpsc0 \
        --socket "$WORK/scale.sock" 2>"$WORK/scale-server.log" &
    SRV=$!
    PIDS+=("$SRV")
    for _ in $(seq 50); do [ -S "$WORK/scale.sock" ] && break; sleep 0.1; done
    sleep 0.5
    RSS_IDLE=$(rss_kib "$SRV")
    ip netns exec "$RTR" "$LOADGEN" --server 198.51.100.11 --sessions "$SCALE_SESSIONS" --rate 5000 \
        --mbytes "$SCALE_MB" --size 1400 --sink 10.96.0.1 --hold 2 >"$WORK/loadgen.out" 2>"$WORK/loadgen.err" &
    LG=$!
    PIDS+=("$LG")
    for _ in $(seq 1200); do grep -q '"phase":"up"' "$WORK/loadgen.out" 2>/dev/null && break; sleep 0.1; done
    RSS_UP=$(rss_kib "$SRV")
    read -r U0 S0 < <(cpu_us "$SRV")
    for _ in $(seq 3000); do grep -q '"phase":"sent"' "$WORK/loadgen.out" 2>/dev/null && break; sleep 0.1; done
    read -r U1 S1 < <(cpu_us "$SRV")
    wait "$LG" || true
    kill "$SRV" 2>/dev/null || true
    wait "$SRV" 2>/dev/null || true
    ip netns exec "$NET" nft delete table ip bench_sink 2>/dev/null || true
    masq_on
    R=$(tail -n 1 "$WORK/loadgen.out")
    j() { echo "$R" | sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p"; }
    UP=$(j sessions_up) SETUP=$(j setup_secs) RATE=$(j setups_per_sec) BYTES=$(j traffic_bytes) TSECS=$(j traffic_secs)
    PER=$(awk -v a="$RSS_UP" -v b="$RSS_IDLE" -v n="${UP:-0}" 'BEGIN {print (n > 0) ? sprintf("%.1f", (a - b) / n) : "-"}')
    CPU_GB=$(awk -v u0="$U0" -v s0="$S0" -v u1="$U1" -v s1="$S1" -v b="${BYTES:-0}" \
        'BEGIN {bits = b * 8; print (bits > 0) ? sprintf("%.2f", (u1 - u0 + s1 - s0) / (bits / 1e9)) : "-"}')
    echo "    $UP of $SCALE_SESSIONS sessions up in ${SETUP}s ($RATE/s); RSS ${RSS_IDLE} KiB idle, ${RSS_UP} KiB with them up ($PER KiB each); server CPU ${CPU_GB} s per Gbit carried (${BYTES} bytes in ${TSECS}s)"
    grep -v '^loadgen: [0-9]* sessions up' "$WORK/loadgen.err" | head -n 5 | sed 's/^/    /'
    ROWS+=("| server at scale: sessions up of $SCALE_SESSIONS from one load generator (MS-CHAPv2, MPPE-128 stateless), set-up span, set-ups/s | - | $UP in ${SETUP} s, ${RATE}/s | |")
    ROWS+=("| server RSS idle / with $UP sessions up; per session | - | $RSS_IDLE / $RSS_UP KiB; $PER KiB | |")
    ROWS+=("| server CPU (user + system) per Gbit carried, 1 400-byte packets over $UP sessions, MPPE-128 | - | ${CPU_GB} s | |")
fi

# --- 6. binary size ---------------------------------------------------------
SIZE=$(stat -c %s "$BIN")
# What a router's flash holds (squashfs, xz) and what opkg downloads (gzip).
XZ=$(xz -9e -c "$BIN" | wc -c)
GZ=$(gzip -9 -c "$BIN" | wc -c)

ROWS+=("| stripped release binary; compressed with xz -9e (squashfs) / gzip -9 (.ipk) | - | $SIZE bytes; $XZ / $GZ bytes | target ≤ 1 572 864 |")
TABLE=$(
    echo "| measurement | kernel helper (VM rows: pptpd + pppd) | this project | ratio / target |"
    echo "|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
)
echo
echo "$TABLE"
if [ -n "$ONLY" ]; then
    echo
    echo "==> --only $ONLY: docs/BENCHMARKS.md left as it was"
    exit 0
fi
mkdir -p docs
# The hand-written analysis ("## What the numbers say" to the end) is kept.
NOTES=
if [ -f docs/BENCHMARKS.md ]; then
    NOTES=$(sed -n '/^## What the numbers say/,$p' docs/BENCHMARKS.md)
fi
{
    echo "# Benchmarks"
    echo
    echo "Written by \`scripts/bench.sh${QUICK:+ --quick}\` on $(date -u +%Y-%m-%d)."
    echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r);"
    echo "load average at the start: $LOAD_START (other work on the machine makes the numbers noisy)."
    echo
    echo "$TABLE"
    echo
    cat <<'EOF'
## Method

All traffic stays in network namespaces: a LAN host, a router that
masquerades it behind 203.0.113.2, and an internet side with a PPTP peer at
198.51.100.10. Contenders are alternated inside each round (in the GRE
section, since 2026-12-05, each round starts one contender further on);
the table shows medians.

- GRE forwarding: `examples/gregen/` opens N calls between the LAN host
  and a minimal PAC at 198.51.100.12, one control connection per call (the
  kernel's helper tracks one call per control connection; at most 32
  connections in set-up at a time), then sends enhanced GRE (RFC 2637
  §4.1, sequence numbers, 64 or 1 400 payload bytes) round-robin over the
  calls in one direction for a fixed time: `sendmmsg`/`recvmmsg` on raw
  GRE sockets, 64 packets per system call (once packets come the receiver
  spins on non-blocking reads, so that waking it is not charged to the
  path measured; until 2026-12-04 it slept in `recvmmsg`).
  "in" is internet to LAN (the PAC sends to the router's public address
  with the public Call IDs it saw), "out" is LAN to internet. Only packets
  whose Call ID belongs to a live call of the receiver count. Delivered
  packets/s and Gbit/s (whole IP packets: 20 + 12 + payload bytes) are
  taken over the receiver's first to last packet; loss is against what was
  sent. Contenders: plain routing without NAT (the "plain routing" figure
  in the first column), masquerade + the kernel's `ct helper` "pptp" (GRE
  keymap entries and expectations per call), masquerade + this helper (nft
  maps per call, programmed when the Outgoing-Call-Reply passes);
  conntrack is flushed between contenders. The ratio is this helper over
  the kernel helper in delivered packets/s (and over plain routing). On
  veth pairs the router forwards in the softirq of the sending CPU, so the
  rate is the per-packet cost of the whole path on one core; the sender
  sends as fast as that allows, and loss shows only where a queue overflowed.
- GRE counted in instructions (`--only gre-vm`, `scripts/vm-lab.sh
  --bench`): the same router, LAN host and PAC in network namespaces inside
  a qemu VM (TCG, one vCPU, Debian 12's 6.1 kernel) started with `-icount
  shift=0,sleep=off`: the guest's clock advances one nanosecond per
  instruction and skips idle time, so gregen's rates are in instructions,
  and 1e9 over the packets delivered per guest second is what one packet
  costs the whole machine (the sender's system call, the router's path,
  the receiver's). A run gives the same count whatever the host does
  (rounds of one contender differ by at most 0.25 %, a few batches of 64
  packets; the kernel helper's by up to 0.8 %).
  Contenders one at a time, conntrack flushed between them: the kernel
  helper, this helper, the floor, and the floor with one empty base chain
  in the forward hook (where this helper's chain sits) or in the
  prerouting hook (where the kernel helper's sits); medians of three
  rounds. Instructions are not cycles: cache misses and branch
  predictions are not in them, so the host's rows stay the measure of
  speed, and these rows say which contender does more work.
  Behind a firewall (`VM_LAB_BENCH_FIREWALL=1`), `fwdispatch` is this
  helper with `--dispatch firewall`: its two protocol tests at the end of
  the firewall's own forward chain (the text of `fw4-rules`, as the
  OpenWrt package has fw4 include it), and no chain of its own in the
  forward hook while no call's Call ID is rewritten. `inside` (only on
  request) is the floor with just those two tests there. Also on request,
  without a firewall: `post`, the floor and this helper's two protocol
  tests in a base chain of their own in the postrouting hook before the
  masquerade (conntrack and NAT already hook there, and the output
  interface is known), and `postone`, the same with one test for both
  protocols (`ip protocol < 7`).
  Each run's line also says where its window's CPU ticks went
  (`window=`: the machine's user, system, softirq and idle time, and this
  helper's process). Two guest seconds mostly miss the helper's periodic
  work (its read of the calls' counters every 15 s);
  `VM_LAB_BENCH_SECS=15` counts one of each in.
- Call set-ups: one control connection sends SCCRQ and then N
  Outgoing-Call-Requests in one burst (`examples/hostile.rs ocrq-burst`); the
  time until every Outgoing-Call-Reply is back, through the kernel's `ct
  helper` "pptp" or through this helper (NFQUEUE, Call ID rewriting, nft map
  elements per call).
- Control-message latency: `gregen latency` against the PPTP peer, one
  round trip at a time: Outgoing-Call-Request/Reply pairs on one reused
  control connection, and whole set-ups on fresh connections (TCP connect,
  SCCRQ/SCCRP, OCRQ/OCRP). Each round trip crosses the router twice (request
  and reply); "added" is the contender's percentile minus plain routing's.
- Helper memory: VmRSS of the helper process while N calls are held open
  (counted in the kernel map by `nft`, so that no status listing runs),
  and again after one `status --json` that lists every call.
- Tunnel through namespaces: `iperf3` TCP from the LAN host through this
  project's client, the router running the helper, to this project's
  server; CPU is the user and the system time of the client and the server
  processes per GB received. System time includes what the kernel does in
  the sender's softirq on veth: routing, NAT and nft on the router, and
  delivery in the other namespace. The shipped (size-optimised) build and
  `cargo build --profile fast` (opt-level 3) alternate in each round.
- Tunnel data path in memory (`examples/datapath.rs`): a client and a server
  `Link` (GRE channel + PPP session) negotiate MS-CHAPv2 and MPPE over an
  in-memory wire, then the client sends 1 400-byte IPv4 packets (PPP
  framing, MPPE, GRE header) and the server takes them apart and checks
  every one arrives whole. No system calls: this is the CPU cost of this
  project's code per packet, given as the Gbit/s one core would carry at
  that cost, for each end.
- Tunnel in the interop VM (`scripts/interop.sh --bench`): the qemu VM of
  `scripts/interop.sh` (TCG, one vCPU, Debian 12's kernel) runs pptpd 1.4.0
  + pppd 2.4.9 (kernel MPPE, `require-mppe-128`) or this project's server
  (`--mppe require-128`), one at a time and alternated; this project's
  client dials each from a namespace on the host, MS-CHAPv2 and MPPE-128
  stateless on both. Per call a download (the VM sends, the server
  encrypts) and an upload (the VM receives, the server decrypts) of a fixed
  size with busybox `nc` and `dd`, timed on the host; VM CPU is the VM's
  busy time (`/proc/stat`) per MiB moved; the log also shows, per
  transfer, the packets per MiB each way on the VM's tap device (data one
  way, TCP's acknowledgements the other). Emulation makes the VM's CPU
  slow: the absolute numbers are small, and the ratio (this server over
  pptpd + pppd) is the result.
- Server at scale (`examples/loadgen.rs`): one process on the router's
  own address dials the server (this project's, at 198.51.100.11) with this
  project's client stack: a control connection per call, MS-CHAPv2 and
  MPPE-128 stateless, one raw GRE socket for every call, no TUN, as fast as
  the server takes them (at most 128 calls setting up at a time: the
  server's pending-login limit is set to 256). The set-up span runs from
  the first connect to the last link up. Once every link is up it sends UDP (1 400-byte IP
  packets) round-robin over the sessions to a port the server's namespace
  drops. Memory is the server's VmRSS before and with the sessions up; CPU
  is the server's user + system time (its own `/proc` counters) over the
  traffic phase per Gbit of IP carried.
EOF
    if [ -n "$NOTES" ]; then
        echo
        echo "$NOTES"
    fi
} >docs/BENCHMARKS.md
echo
echo "==> wrote docs/BENCHMARKS.md"
