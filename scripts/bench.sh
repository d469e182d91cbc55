#!/usr/bin/env bash
# Benchmarks in network namespaces (root). Alternates the contenders inside
# one run, reports medians of the rounds and ratios, and writes
# docs/BENCHMARKS.md. Timing lives here, never in the tests.
#
#   scripts/bench.sh [--quick]
#
# Measured so far: control-plane call set-ups through the router (kernel
# helper vs this helper), the helper's memory with 0 / 1 000 / 10 000 calls,
# TCP goodput and CPU per GB through the embedded client and server (MPPE
# off, 128-bit stateless, 128-bit stateful), and the binary size. GRE
# forwarding with 1/100/1000 calls needs the sendmmsg load generator, which
# is not written yet (see docs/BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root "$@"
# shellcheck disable=SC2119
install_packages
install_packages iperf3

ROUNDS=5 BURST=2000 IPERF_SECS=5 MANY=10000
if [ "${1:-}" = "--quick" ]; then ROUNDS=1 BURST=500 IPERF_SECS=2 MANY=2000; fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "==> building the release binary and the traffic generator (load average: $LOAD_START)"
cargo build --release --locked -q
cargo build --release --locked -q --example hostile
BIN=$PWD/target/release/pptp-passthrough
GEN=$PWD/target/release/examples/hostile

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
ip -n "$LAN" link set eth0 up
ip -n "$LAN" route add default via 192.168.1.1
ip -n "$RTR" addr add 192.168.1.1/24 dev lan0
ip -n "$RTR" addr add 203.0.113.2/24 dev wan0
ip -n "$RTR" link set lan0 up
ip -n "$RTR" link set wan0 up
ip -n "$RTR" route add default via 203.0.113.1
ip netns exec "$RTR" sysctl -qw net.ipv4.ip_forward=1
ip -n "$NET" addr add 203.0.113.1/24 dev eth0
ip -n "$NET" addr add 198.51.100.10/32 dev lo
ip -n "$NET" addr add 198.51.100.11/32 dev lo
ip -n "$NET" link set eth0 up
ip netns exec "$RTR" nft -f - <<'NFT'
table ip bench_masq {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
NFT

ip netns exec "$NET" "$BIN" lab-peer server --listen 198.51.100.10 2>/dev/null &
PIDS+=($!)
SOCK="/run/$P.sock"
HELPER=

kernel_on() {
    ip netns exec "$RTR" nft -f - <<'NFT'
table ip bench_kernel {
    ct helper pptp-h {
        type "pptp" protocol tcp
    }
    chain pre {
        type filter hook prerouting priority filter; policy accept;
        tcp dport 1723 ct helper set "pptp-h"
    }
}
NFT
}
kernel_off() { ip netns exec "$RTR" nft delete table ip bench_kernel 2>/dev/null || true; }
ours_on() {
    ip netns exec "$RTR" "$BIN" helper --wan wan0 --lan lan0 --socket "$SOCK" 2>>"$WORK/helper.log" &
    HELPER=$!
    PIDS+=("$HELPER")
    for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.1; done
    echo "the helper did not start" >&2
    cat "$WORK/helper.log" >&2
    exit 1
}
ours_off() {
    [ -n "$HELPER" ] && kill "$HELPER" 2>/dev/null && wait "$HELPER" 2>/dev/null
    HELPER=
    rm -f "$SOCK"
}
flush_ct() { ip netns exec "$RTR" conntrack -F >/dev/null 2>&1 || true; }

median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print 0; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# --- 2. control plane: call set-ups per second through the router --------
echo "==> control plane: $BURST call set-ups (SCCRQ + OCRQs on one connection), $ROUNDS round(s), contenders alternated"
: >"$WORK/cp.kernel"; : >"$WORK/cp.ours"
for r in $(seq "$ROUNDS"); do
    for who in kernel ours; do
        flush_ct
        if [ "$who" = kernel ]; then kernel_on; else ours_on; fi
        ms=$(ip netns exec "$LAN" "$GEN" ocrq-burst --to 198.51.100.10 --count "$BURST" 2>&1 >/dev/null |
            sed -n 's/^replies_ms=//p')
        rate=$(awk -v n="$BURST" -v ms="${ms:-0}" 'BEGIN {print (ms > 0) ? int(n * 1000 / ms) : 0}')
        echo "$rate" >>"$WORK/cp.$who"
        echo "    round $r $who: $BURST set-ups in ${ms:-?} ms = $rate/s"
        if [ "$who" = kernel ]; then kernel_off; else ours_off; fi
    done
done
CP_K=$(median <"$WORK/cp.kernel"); CP_O=$(median <"$WORK/cp.ours")

# --- 3. helper memory ------------------------------------------------------
echo "==> helper memory with 0, 1 000 and 10 000 tracked calls"
flush_ct
ours_on
sleep 0.5
RSS0=$(rss_kib "$HELPER")
calls() { ip netns exec "$RTR" "$BIN" status --json --socket "$SOCK" | grep -o '"public_call_id"' | wc -l; }
# Hold N calls open until the helper tracks them all (at most 110 s).
hold_calls() {
    ip netns exec "$LAN" "$GEN" ocrq-burst --to 198.51.100.10 --count "$1" --hold 120 >/dev/null 2>&1 &
    GP=$!
    PIDS+=("$GP")
    local t0
    t0=$(date +%s)
    HELD=0
    while [ "$HELD" -lt "$1" ] && [ $(($(date +%s) - t0)) -lt 110 ]; do sleep 1; HELD=$(calls); done
}
hold_calls 1000
N1K=$HELD
RSS1K=$(rss_kib "$HELPER")
kill "$GP" 2>/dev/null || true
wait "$GP" 2>/dev/null || true
sleep 1
hold_calls "$MANY"
CALLS10K=$HELD
RSS10K=$(rss_kib "$HELPER")
kill "$GP" 2>/dev/null || true
wait "$GP" 2>/dev/null || true
echo "    RSS: ${RSS0} KiB idle, ${RSS1K} KiB at $N1K calls, ${RSS10K} KiB at $CALLS10K calls"

# --- 4. embedded tunnel ----------------------------------------------------
echo "==> tunnel: TCP goodput through our client and server (iperf3, ${IPERF_SECS} s), MPPE off / 128 stateless / 128 stateful"
printf 'bench * "bench pass" *\n' >"$WORK/secrets"
ticks=$(getconf CLK_TCK)
cpu_s() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
tunnel_round() { # $1: none|stateless|stateful; prints "Mbit/s cpu_s_per_GB"
    local mppe=() srv cli
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
    c0=$(cpu_s "$cli" 2>/dev/null || echo 0); s0=$(cpu_s "$srv" 2>/dev/null || echo 0)
    bytes=$(ip netns exec "$LAN" iperf3 -c 10.99.0.1 -t "$IPERF_SECS" -J 2>/dev/null |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bytes"])' 2>/dev/null ||
        echo 0)
    c1=$(cpu_s "$cli" 2>/dev/null || echo "$c0"); s1=$(cpu_s "$srv" 2>/dev/null || echo "$s0")
    if [ "${bytes:-0}" = 0 ]; then
        echo "    tunnel $1 failed; client and server said:" >&2
        tail -n 5 "$WORK/client.out" "$WORK/client.log" "$WORK/server.log" >&2
    fi
    kill "$cli" "$srv" "$ip3" 2>/dev/null || true
    wait "$cli" "$srv" "$ip3" 2>/dev/null || true
    awk -v b="$bytes" -v t="$IPERF_SECS" -v c="$c0" -v C="$c1" -v s="$s0" -v S="$s1" \
        'BEGIN {printf "%d %.1f\n", b * 8 / t / 1e6, (b > 0) ? ((C - c) + (S - s)) / (b / 1e9) : 0}'
}
declare -A TP CPU
for mode in none stateless stateful; do : >"$WORK/tp.$mode"; : >"$WORK/cpu.$mode"; done
ours_on
for r in $(seq "$ROUNDS"); do
    for mode in none stateless stateful; do
        read -r mbit cpu < <(tunnel_round "$mode")
        echo "$mbit" >>"$WORK/tp.$mode"; echo "$cpu" >>"$WORK/cpu.$mode"
        echo "    round $r MPPE $mode: $mbit Mbit/s, $cpu CPU s/GB"
    done
done
ours_off
for mode in none stateless stateful; do
    TP[$mode]=$(median <"$WORK/tp.$mode"); CPU[$mode]=$(median <"$WORK/cpu.$mode")
done

# --- 5. binary size ---------------------------------------------------------
SIZE=$(stat -c %s "$BIN")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {print (b > 0) ? sprintf("%.2f", a / b) : "-"}'; }
TABLE=$(cat <<EOF
| measurement | kernel helper | this project | ratio / target |
|---|---|---|---|
| call set-ups per second through the router (median of $ROUNDS) | $CP_K | $CP_O | $(ratio "$CP_O" "$CP_K") (target ≥ 5 000/s) |
| helper RSS, idle / $N1K / $CALLS10K calls | - | $RSS0 / $RSS1K / $RSS10K KiB | target ≤ 8 MiB at 10 000 |
| tunnel goodput, MPPE off | - | ${TP[none]} Mbit/s, ${CPU[none]} CPU s/GB | |
| tunnel goodput, MPPE-128 stateless | - | ${TP[stateless]} Mbit/s, ${CPU[stateless]} CPU s/GB | target ≥ 1 Gbit/s per core |
| tunnel goodput, MPPE-128 stateful | - | ${TP[stateful]} Mbit/s, ${CPU[stateful]} CPU s/GB | |
| stripped release binary | - | $SIZE bytes | target ≤ 1 572 864 |
EOF
)
echo
echo "$TABLE"
mkdir -p docs
{
    echo "# Benchmarks"
    echo
    echo "Written by \`scripts/bench.sh$( [ "$ROUNDS" = 1 ] && echo ' --quick')\` on $(date -u +%Y-%m-%d)."
    echo "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r);"
    echo "load average at the start: $LOAD_START (other work on the machine makes the numbers noisy)."
    echo
    echo "$TABLE"
    echo
    cat <<'EOF'
## Method

All traffic stays in network namespaces: a LAN host, a router that
masquerades it behind 203.0.113.2, and an internet side with a PPTP peer at
198.51.100.10. Contenders are alternated inside each round; the table shows
medians.

- Call set-ups: one control connection sends SCCRQ and then N
  Outgoing-Call-Requests in one burst (`examples/hostile.rs ocrq-burst`); the
  time until every Outgoing-Call-Reply is back, through the kernel's `ct
  helper` "pptp" or through this helper (NFQUEUE, Call ID rewriting, nft map
  elements per call).
- Helper memory: VmRSS of the helper process while N calls are held open.
- Tunnel: `iperf3` TCP from the LAN host through this project's client, the
  router running the helper, to this project's server; CPU is user + system
  time of the client and the server processes per GB received.

## Not measured yet

- GRE forwarding packets/s with 1, 100 and 1 000 calls (plain routing vs the
  kernel helper vs this helper) needs a sendmmsg/recvmmsg load generator.
- Added latency per control message (p50/p99).
- pptpd + pppd in the interop VMs with the same client.
EOF
} >docs/BENCHMARKS.md
echo
echo "==> wrote docs/BENCHMARKS.md"
