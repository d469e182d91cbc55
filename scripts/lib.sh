#!/usr/bin/env bash
# Shared by scripts/lab.sh and scripts/test.sh: root, packages, the build.

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            exec sudo -E "$0" "$@"
        fi
        echo "$(basename "$0"): needs root (network namespaces, nftables) and sudo is not available: run it as root." >&2
        exit 1
    fi
}

# Install the named Debian packages plus nft, iptables, ip and cargo when missing.
# shellcheck disable=SC2120
install_packages() {
    local missing=()
    command -v nft >/dev/null 2>&1 || missing+=(nftables)
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "==> installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            # Debian 12's plain `cargo` (1.63) is too old for edition 2024;
            # cargo-web (the Rust that Debian keeps current for Firefox) is not.
            echo "==> installing Rust (Debian's cargo-web)"
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cargo-web >/dev/null
        fi
    fi
}
