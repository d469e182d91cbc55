#!/usr/bin/env bash
# Builds the shipped binary for the routers people own, and runs the unit
# and property tests on other kinds of CPU under qemu-user.
#
#   scripts/cross.sh [--test] [--tests-only] [--bench] [--vm] [--json] [TARGET ...]
#
# Targets (default: all five), all musl as on OpenWrt, linked statically:
#   mips-unknown-linux-musl          ath79 (mips_24kc), 32-bit big-endian
#   mipsel-unknown-linux-musl        ramips (mipsel_24kc), 32-bit little-endian
#   armv7-unknown-linux-musleabihf   arm_cortex-a7/a9
#   aarch64-unknown-linux-musl       aarch64_cortex-a53
#   x86_64-unknown-linux-musl        x86/64
# mips and mipsel are tier 3 and rustup ships no std for armv7 musl: those
# three build std from source (nightly, rust-src, -Zbuild-std) and link
# against musl built here from Debian's source package with Debian's cross
# gcc (the way OpenWrt builds std for its targets). aarch64 and x86_64 use
# rustup's std and its bundled musl.
#
# Per target it prints the binary's size and its size compressed with
# xz -9e (what a router's squashfs stores), and with --json one JSON object
# per line. Output binaries: target/TARGET/release/pptp-passthrough.
#
# --test: also the whole unit and property suite (`cargo test --lib
# --bins`) on powerpc-unknown-linux-gnu (32-bit big-endian, no 64-bit
# atomics) and aarch64-unknown-linux-musl under qemu-user. Property tests
# run PROPTEST_CASES (default 32 here, 256 natively) cases there: emulation
# is some 20 times slower; nothing is skipped.
# --tests-only: the tests without the five builds.
# --bench: also the in-memory data path (examples/datapath.rs, shipped
# profile, 1 400-byte packets, MPPE off / stateless / stateful) on each
# target under qemu-user, as ratios to x86_64 under the same emulator and to
# MPPE off (emulation says nothing absolute); BENCH_PACKETS per run (20000).
# scripts/bench.sh --only cross runs this.
# --vm: also scripts/vm-lab.sh (the lab on real kernels in qemu-system:
# the nft queue back-end on x86-64, and big-endian s390x).
#
# Downloads and musl builds are cached in target/cross.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
. scripts/lib.sh

ALL=(mips-unknown-linux-musl mipsel-unknown-linux-musl armv7-unknown-linux-musleabihf
    aarch64-unknown-linux-musl x86_64-unknown-linux-musl)
TEST=0 VM=0 JSON=0 BUILD=1 BENCH=0 TARGETS=()
for a in "$@"; do
    case "$a" in
        --test) TEST=1 ;;
        --tests-only) TEST=1 BUILD=0 ;;
        --bench) BENCH=1 ;;
        --vm) VM=1 ;;
        --json) JSON=1 ;;
        -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "cross.sh: unknown option $a (see --help)" >&2; exit 64 ;;
        *)
            case " ${ALL[*]} " in
                *" $a "*) TARGETS+=("$a") ;;
                *) echo "cross.sh: unknown target $a; one of: ${ALL[*]}" >&2; exit 64 ;;
            esac
            ;;
    esac
done
[ "${#TARGETS[@]}" -gt 0 ] || TARGETS=("${ALL[@]}")
[ "$BUILD" -eq 1 ] || [ "$BENCH" -eq 1 ] || TARGETS=()
need_root "$@"

START=$SECONDS
say() { echo "==> [cross $((SECONDS - START))s] $*" >&2; }

CACHE=$PWD/target/cross
mkdir -p "$CACHE"

# The gcc that links each target (and builds its musl), and qemu-user.
gcc_of() {
    case "$1" in
        mips-*) echo mips-linux-gnu ;;
        mipsel-*) echo mipsel-linux-gnu ;;
        armv7-*) echo arm-linux-gnueabihf ;;
        aarch64-*) echo aarch64-linux-gnu ;;
        powerpc-*) echo powerpc-linux-gnu ;;
        s390x-*) echo s390x-linux-gnu ;;
        x86_64-*) echo "" ;;
    esac
}
needs_build_std() {
    case "$1" in
        mips-* | mipsel-* | armv7-*) return 0 ;;
        *) return 1 ;;
    esac
}
pkgs=(xz-utils qemu-user file)
for t in "${TARGETS[@]}"; do
    g=$(gcc_of "$t")
    if [ -n "$g" ]; then pkgs+=("gcc-$g"); fi
    if needs_build_std "$t"; then pkgs+=("g++-$g"); fi
done
[ "$TEST" -eq 0 ] || pkgs+=(gcc-powerpc-linux-gnu libc6-dev-powerpc-cross gcc-aarch64-linux-gnu)
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
install_packages "${pkgs[@]}"

# Rust: stable std for the tier-2 targets, nightly with rust-src for the rest.
stable_targets=()
nightly=0
for t in "${TARGETS[@]}"; do
    if needs_build_std "$t"; then nightly=1; else stable_targets+=("$t"); fi
done
[ "$TEST" -eq 0 ] || stable_targets+=(powerpc-unknown-linux-gnu aarch64-unknown-linux-musl)
installed=$(rustup target list --installed)
for t in "${stable_targets[@]}"; do
    grep -qx "$t" <<<"$installed" || { say "rustup target add $t"; rustup target add "$t"; }
done
if [ "$nightly" -eq 1 ]; then
    if ! rustup run nightly rustc --version >/dev/null 2>&1; then
        say "installing the nightly toolchain (for -Zbuild-std)"
        rustup toolchain install nightly --profile minimal
    fi
    rustup component list --toolchain nightly --installed | grep -q '^rust-src' ||
        rustup component add rust-src --toolchain nightly
fi

# musl for the build-std targets, from Debian's source package (the same
# musl release Debian ships), built with Debian's cross gcc. The compiler
# flags match Rust's target specifications: MIPS32r2 soft-float (OpenWrt's
# mips_24kc and mipsel_24kc), ARMv7-A hard-float VFPv3-D16 with Thumb-2.
musl_src() {
    local dir=$CACHE/musl-src
    if [ ! -f "$dir/.ready" ]; then
        say "fetching musl's source (Debian source package)"
        rm -rf "$dir" && mkdir -p "$dir/lists/partial" "$dir/archives/partial" "$dir/etc"
        cat >"$dir/etc/src.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        # A private source list and state: the system's apt lists stay as they are.
        local apt=(-o "Dir::Etc::SourceParts=$dir/etc" -o Dir::Etc::SourceList=/dev/null
            -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache::Archives=$dir/archives"
            -o APT::Sandbox::User=root -qq)
        apt-get "${apt[@]}" update
        (cd "$dir" && apt-get "${apt[@]}" source --download-only musl >/dev/null)
        tar -xzf "$dir"/musl_*.orig.tar.gz -C "$dir"
        touch "$dir/.ready"
    fi
    find "$dir" -maxdepth 1 -type d -name 'musl-[0-9]*' | head -n 1
}

musl_for() {
    local t=$1 g cflags out src
    g=$(gcc_of "$t")
    case "$t" in
        mips-* | mipsel-*) cflags="-march=mips32r2 -msoft-float" ;;
        armv7-*) cflags="-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard -mthumb" ;;
    esac
    out=$CACHE/musl-$t
    if [ ! -f "$out/.ready" ]; then
        src=$(musl_src)
        say "building musl for $t"
        rm -rf "$out" "$CACHE/build-$t"
        cp -a "$src" "$CACHE/build-$t"
        (
            cd "$CACHE/build-$t"
            ./configure --quiet --prefix="$out" --target="$g" --disable-shared \
                CC="$g-gcc" CFLAGS="$cflags -Os" >/dev/null
            make -s -j"$(nproc)" >/dev/null
            make -s install >/dev/null
        )
        rm -rf "$CACHE/build-$t"
        # gcc and g++ that compile and link against this musl instead of
        # glibc: musl's headers and start files, no libgcc (Rust's
        # compiler_builtins has the helpers) and no crtbegin/crtend (Rust and
        # musl use init_array).
        cat >"$out/lib/musl.specs" <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $out/include -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $out/include -isystem include%s

*link_libgcc:
-L$out/lib

*libgcc:


*startfile:
%{!shared: $out/lib/crt1.o} $out/lib/crti.o

*endfile:
$out/lib/crtn.o

*link:
-nostdlib %{static:-static}
EOF
        printf '#!/bin/sh\nexec %s "$@" %s -specs %s\n' "$g-gcc" "$cflags" "$out/lib/musl.specs" >"$out/bin-cc"
        printf '#!/bin/sh\nexec %s "$@" %s -specs %s\n' "$g-g++" "$cflags" "$out/lib/musl.specs" >"$out/bin-cxx"
        chmod +x "$out/bin-cc" "$out/bin-cxx"
        # std links -lunwind for static musl: LLVM's libunwind from rust-src,
        # as Rust's own musl targets ship it.
        say "building libunwind for $t"
        local u o f
        u=$(rustc +nightly --print sysroot)/lib/rustlib/src/rust/src/llvm-project/libunwind
        o=$CACHE/unwind-$t
        rm -rf "$o" && mkdir -p "$o"
        local flags=(-O2 -fstrict-aliasing -funwind-tables -fvisibility=hidden
            -D_LIBUNWIND_IS_NATIVE_ONLY -DNDEBUG -I"$u/include")
        for f in UnwindLevel1.c UnwindLevel1-gcc-ext.c Unwind-sjlj.c \
            UnwindRegistersRestore.S UnwindRegistersSave.S; do
            "$out/bin-cc" -c -std=c99 "${flags[@]}" "$u/src/$f" -o "$o/${f%.*}.o"
        done
        for f in libunwind.cpp Unwind-EHABI.cpp; do
            "$out/bin-cxx" -c -std=c++17 -fno-exceptions -fno-rtti -nostdinc++ "${flags[@]}" \
                "$u/src/$f" -o "$o/${f%.*}.o"
        done
        "$g-ar" rcs "$out/lib/libunwind.a" "$o"/*.o
        rm -rf "$o"
        touch "$out/.ready"
    fi
    echo "$out"
}

# cargo's per-target environment variable prefix: CARGO_TARGET_<TRIPLE>_
envname() { echo "CARGO_TARGET_$(tr 'a-z.-' 'A-Z__' <<<"$1")"; }

# $PROFILE (default release, the shipped one) picks the cargo profile.
build() {
    local t=$1 v g p=${PROFILE:-release}
    shift
    local what=("$@")
    [ "${#what[@]}" -gt 0 ] || what=(--bin pptp-passthrough)
    v=$(envname "$t")
    g=$(gcc_of "$t")
    if needs_build_std "$t"; then
        local m
        m=$(musl_for "$t")
        say "building for $t (nightly, -Zbuild-std)"
        env "${v}_LINKER=$m/bin-cc" \
            "${v}_RUSTFLAGS=-C target-feature=+crt-static -C link-self-contained=no -L $m/lib" \
            cargo +nightly build --profile "$p" --locked -q --target "$t" \
            -Zbuild-std=std,panic_abort -Zbuild-std-features=llvm-libunwind "${what[@]}"
    else
        say "building for $t"
        if [ -n "$g" ]; then
            env "${v}_LINKER=$g-gcc" cargo build --profile "$p" --locked -q --target "$t" "${what[@]}"
        else
            cargo build --profile "$p" --locked -q --target "$t" "${what[@]}"
        fi
    fi
}

# The in-memory data path (examples/datapath.rs, the shipped release
# profile) on each target under qemu-user, MPPE off / stateless / stateful.
# Emulation says nothing absolute: what counts is each target against
# x86_64 under the same emulator, and MPPE's cost against MPPE off.
qemu_of() {
    case "$1" in
        mips-*) echo qemu-mips ;;
        mipsel-*) echo qemu-mipsel ;;
        armv7-*) echo qemu-arm ;;
        aarch64-*) echo qemu-aarch64 ;;
        x86_64-*) echo qemu-x86_64 ;;
    esac
}
# Both the shipped profile and `fast` (opt-level 3 throughout), runs
# alternated: the shipped build's MPPE against the speed-optimised one.
bench() {
    local t=$1 mode line p
    for p in release fast; do PROFILE=$p build "$t" --example datapath; done
    for mode in none stateless stateful; do
        for p in release fast; do
            line=$("$(qemu_of "$t")" "target/$t/$p/examples/datapath" --mppe "$mode" \
                --size 1400 --packets "${BENCH_PACKETS:-20000}" --secs 60)
            printf '{"target":"%s","profile":"%s","mppe":"%s","datapath":%s}\n' "$t" "$p" "$mode" "$line"
        done
    done
}

report() {
    local t=$1 bin bytes xzb
    bin=target/$t/release/pptp-passthrough
    bytes=$(stat -c %s "$bin")
    xzb=$(xz -9e -c "$bin" | wc -c)
    if [ "$JSON" -eq 1 ]; then
        printf '{"target":"%s","bytes":%d,"xz_bytes":%d}\n' "$t" "$bytes" "$xzb"
    else
        printf '%-32s %9d bytes  xz -9e %8d bytes  %s\n' "$t" "$bytes" "$xzb" \
            "$(file -b "$bin" 2>/dev/null | cut -d, -f1-2 || true)"
    fi
}

if [ "$BUILD" -eq 1 ]; then
    for t in "${TARGETS[@]}"; do build "$t"; done
    [ "$JSON" -eq 1 ] || echo "stripped release binaries (static, musl):"
    for t in "${TARGETS[@]}"; do report "$t"; done
fi

if [ "$TEST" -eq 1 ]; then
    cases=${PROPTEST_CASES:-32}
    for t in powerpc-unknown-linux-gnu aarch64-unknown-linux-musl; do
        v=$(envname "$t")
        g=$(gcc_of "$t")
        case "$t" in
            powerpc-*) runner="qemu-ppc -L /usr/$g" ;;
            aarch64-*) runner="qemu-aarch64" ;;
        esac
        say "unit and property tests on $t under qemu-user ($cases property cases)"
        env "${v}_LINKER=$g-gcc" "${v}_RUNNER=$runner" PROPTEST_CASES="$cases" \
            cargo test --locked -q --target "$t" --lib --bins
    done
fi

if [ "$BENCH" -eq 1 ]; then
    say "the data path in memory under qemu-user (examples/datapath.rs, shipped profile)"
    for t in "${TARGETS[@]}"; do bench "$t"; done >"$CACHE/bench.jsonl"
    if [ "$JSON" -eq 1 ]; then
        cat "$CACHE/bench.jsonl"
    else
        python3 - "$CACHE/bench.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
g = {(r["target"], r["mppe"]): r["datapath"]["send_gbit_per_core"] for r in rows if r["profile"] == "release"}
f = {(r["target"], r["mppe"]): r["datapath"]["send_gbit_per_core"] for r in rows if r["profile"] == "fast"}
base = {m: g.get(("x86_64-unknown-linux-musl", m)) for m in ("none", "stateless", "stateful")}
print("data path under qemu-user, send side, ratios (emulation: no absolute figures)")
print(f'{"target":32} {"vs x86_64 (off/stateless/stateful)":36} {"stateless/off":>13} {"stateful/off":>12} {"shipped/fast (stateless/stateful)":>34}')
for t in dict.fromkeys(r["target"] for r in rows):
    vs = "/".join(f'{g[(t, m)] / base[m]:.2f}' if base[m] else "-" for m in ("none", "stateless", "stateful"))
    sf = "/".join(f'{g[(t, m)] / f[(t, m)]:.2f}' for m in ("stateless", "stateful"))
    print(f'{t:32} {vs:36} {g[(t, "stateless")] / g[(t, "none")]:13.2f} {g[(t, "stateful")] / g[(t, "none")]:12.2f} {sf:>34}')
PY
    fi
fi

if [ "$VM" -eq 1 ]; then
    scripts/vm-lab.sh
fi
say "done"
