#!/usr/bin/env bash
# Size of the stripped release binary against the 1.5 MiB goal for routers.
# A measurement, not a test: it exits 0 whether or not the goal is met (and
# non-zero only when the build fails). --json prints one JSON object.
#
# This measures the host build. OpenWrt builds with opt-level z, LTO, one
# codegen unit and (in the package Makefile) panic=abort, as Cargo.toml's
# release profile does, but for the router's target, so sizes differ
# somewhat by architecture.
set -euo pipefail
cd "$(dirname "$0")/.."

json=0
case "${1:-}" in
    --json) json=1 ;;
    "") ;;
    *) echo "usage: $0 [--json]" >&2; exit 64 ;;
esac

if [ "$json" -eq 1 ]; then
    cargo build --release --locked --quiet >&2
else
    cargo build --release --locked
fi

bin=target/release/pptp-passthrough
measured=$bin
# Cargo.toml strips already; strip a copy anyway so the number never
# depends on that setting.
if command -v strip >/dev/null 2>&1; then
    measured=$(mktemp)
    trap 'rm -f "$measured"' EXIT
    strip -o "$measured" "$bin"
fi

bytes=$(stat -c %s "$measured")
goal=$((3 * 1024 * 1024 / 2))
mib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')
if [ "$bytes" -le "$goal" ]; then meets=true; else meets=false; fi

if [ "$json" -eq 1 ]; then
    printf '{"binary":"%s","bytes":%d,"mib":%s,"goal_bytes":%d,"meets_goal":%s}\n' \
        "$bin" "$bytes" "$mib" "$goal" "$meets"
else
    echo "stripped release binary: $bytes bytes ($mib MiB)"
    if [ "$meets" = true ]; then
        echo "goal 1.5 MiB ($goal bytes): met"
    else
        echo "goal 1.5 MiB ($goal bytes): missed by $((bytes - goal)) bytes"
    fi
fi
