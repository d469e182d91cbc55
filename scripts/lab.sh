#!/usr/bin/env bash
# The lab: three LAN hosts whose PPTP clients all pick Call ID 4660 dial one
# PPTP server through a router that masquerades them behind one public IP
# and runs the passthrough helper. Everything lives in network namespaces
# made for this run and removed at the end (also on Ctrl-C).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root "$@"
# shellcheck disable=SC2119
install_packages

echo "==> building the release binary and the lab peer (examples/lab-peer.rs, not shipped)"
cargo build --release --locked -q --bin pptp-passthrough --example lab-peer
BIN=$PWD/target/release/pptp-passthrough
PEER=$PWD/target/release/examples/lab-peer

P="pptplab$$"
LAN="$P-lan" RTR="$P-rtr" NET="$P-net"
PIDS=()
# shellcheck disable=SC2317  # called through the trap
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for ns in "$LAN" "$RTR" "$NET"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -f "${OUT:-}" "${LOG:-}"
}
trap cleanup EXIT INT TERM

echo "==> namespaces: LAN hosts 192.168.1.10-12, router 203.0.113.2 (public), server 198.51.100.10"
for ns in "$LAN" "$RTR" "$NET"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add "${P}a" netns "$LAN" type veth peer name lan0 netns "$RTR"
ip link add "${P}b" netns "$RTR" type veth peer name wan0 netns "$NET"
ip -n "$LAN" link set "${P}a" name eth0
ip -n "$RTR" link set "${P}b" name wan0
ip -n "$NET" link set wan0 name eth0
for h in 10 11 12; do ip -n "$LAN" addr add "192.168.1.$h/24" dev eth0; done
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
table ip lab_masq {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        oifname "wan0" masquerade
    }
}
NFT

echo "==> starting the PPTP server (lab peer) and the helper on the router"
ip netns exec "$NET" "$PEER" server --listen 198.51.100.10 2>/dev/null &
PIDS+=($!)
SOCK="/run/$P.sock"
LOG=$(mktemp)
ip netns exec "$RTR" "$BIN" helper --wan wan0 --lan lan0 --socket "$SOCK" 2>"$LOG" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { echo "the helper did not start:" >&2; cat "$LOG" >&2; exit 1; }

echo "==> three LAN clients, all with Call ID 4660, dial 198.51.100.10 and send GRE"
OUT=$(mktemp)
ip netns exec "$LAN" "$PEER" client --server 198.51.100.10 \
    --from 192.168.1.10,192.168.1.11,192.168.1.12 --call-id 4660 \
    --packets 200 --interval-ms 5 --linger 3 --human >"$OUT" &
CLIENT=$!
PIDS+=("$CLIENT")
sleep 2.5
echo
echo "==> call table on the router while the calls are up (pptp-passthrough status)"
ip netns exec "$RTR" "$BIN" status --socket "$SOCK"
RC=0
wait "$CLIENT" || RC=$?
echo
echo "==> what every LAN host got back (all three used Call ID 4660; the server saw one public IP, 203.0.113.2)"
cat "$OUT"
echo
echo "==> diagnostics from a LAN host: pptp-passthrough check connect (against check listen on 198.51.100.11)"
ip netns exec "$NET" "$BIN" check listen --bind 198.51.100.11 >/dev/null &
PIDS+=($!)
sleep 0.3
ip netns exec "$LAN" "$BIN" check connect 198.51.100.11 --calls 2 --same-call-id || RC=$?
echo
echo "==> the helper's log"
sed -E 's/^[0-9TZ:.-]+ +//; s/pptp_passthrough::service::helper: //' "$LOG"
exit "$RC"
