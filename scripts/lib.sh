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
        local log codename breakers
        log=$(mktemp)
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$log" 2>&1; then
            # A package installed from outside this release's archives (a
            # backport: qemu-utils 10 beside Debian 12's qemu 7.2) can break
            # what the release's packages need; take the release's own
            # version of each package apt names as breaking, and say so.
            codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
            # (apt names them only when it is not told to be quiet.)
            apt-get install -s "${missing[@]}" >>"$log" 2>&1 || true
            mapfile -t breakers < <(sed -n 's/^ *\([a-z0-9][a-z0-9.+-]*\) : Breaks: .*/\1/p' "$log" | sort -u)
            if [ -z "$codename" ] || [ "${#breakers[@]}" = 0 ]; then
                cat "$log" >&2
                rm -f "$log"
                return 1
            fi
            echo "==> ${breakers[*]}: newer than $codename's and breaking what is needed; installing $codename's"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --allow-downgrades \
                "${missing[@]}" "${breakers[@]/%//$codename}" >/dev/null
        fi
        rm -f "$log"
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
