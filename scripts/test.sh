#!/usr/bin/env bash
# Every test: unit and property tests (no root needed), a short run of every
# fuzz target, the end-to-end tests in network namespaces (root; Debian's
# FreeRADIUS for the RADIUS ones), the router targets (five musl builds; the
# unit and property tests on 32-bit big-endian PowerPC and on AArch64 under
# qemu-user), the lab on real
# kernels in qemu (nft queue on x86-64, big-endian s390x), shellcheck, the
# OpenWrt/LuCI checks, interop with real pppd/pptpd in qemu, and the lab.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
need_root "$@"
install_packages shellcheck iputils-ping netcat-openbsd tcpdump freeradius freeradius-utils

echo "==> unit tests (the crate and crates/mppe-cipher)"
cargo test --locked --lib --bins
cargo test --locked -p mppe-cipher

echo "==> fuzzing (every target 20 s; scripts/fuzz.sh SECONDS for longer runs)"
scripts/fuzz.sh 20

echo "==> end-to-end tests (network namespaces; one at a time)"
cargo build --locked --examples   # the hostile-traffic generator they use
cargo test --locked --test e2e -- --test-threads=1

echo "==> the tunnel data path in memory (examples/datapath.rs; it checks every packet, no timing)"
for mode in none stateless stateful; do
    target/debug/examples/datapath --mppe "$mode" --packets 3000 --secs 30
done

echo "==> router targets: five musl builds, the tests on big-endian PowerPC and AArch64 (scripts/cross.sh --test)"
scripts/cross.sh --test

echo "==> the lab on Debian 12's kernels in qemu: nft queue back-end (x86-64), big-endian (s390x) (scripts/vm-lab.sh)"
scripts/vm-lab.sh

echo "==> shellcheck"
shellcheck -x scripts/*.sh .ci/run
shellcheck -s sh openwrt/pptp-passthrough/files/pptp-passthrough.init

echo "==> OpenWrt package and LuCI app (scripts/check-openwrt.sh)"
scripts/check-openwrt.sh

echo "==> interop with real pppd, pptp-linux and pptpd in qemu (scripts/interop.sh)"
scripts/interop.sh

echo "==> the lab (scripts/lab.sh)"
scripts/lab.sh
