#!/usr/bin/env bash
# Run every cargo-fuzz target in fuzz/ for SECONDS each (default 60), one at
# a time, and print a table of target, runs and result. Exits non-zero when a
# target finds a crash (the artifact and the command that replays it are
# printed) or when the fuzzing toolchain cannot be set up.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain (installed with rustup when missing) and
# cargo-fuzz (installed from crates.io when missing). New corpus entries go
# to fuzz/corpus-work/ (not committed); fuzz/corpus/ holds the seeds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

secs="${1:-60}"
shift || true
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
    echo "usage: $0 [SECONDS] [TARGET...]" >&2
    exit 2
fi

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v rustup >/dev/null 2>&1; then
    echo "fuzz: rustup not found; cargo-fuzz needs a nightly toolchain managed by rustup (https://rustup.rs)." >&2
    exit 1
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "==> installing the nightly toolchain (cargo-fuzz needs it)"
    if ! rustup toolchain install nightly --profile minimal; then
        echo "fuzz: the nightly toolchain is not installed and could not be installed" >&2
        echo "fuzz: (no access to static.rust-lang.org?); install it with" >&2
        echo "fuzz:   rustup toolchain install nightly --profile minimal" >&2
        exit 1
    fi
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    if ! cargo install cargo-fuzz --locked; then
        echo "fuzz: cargo-fuzz is missing and 'cargo install cargo-fuzz --locked' failed" >&2
        exit 1
    fi
fi

cd fuzz
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Debug assertions on: integer overflow is a finding too.
echo "==> building ${#targets[@]} fuzz target(s)"
cargo +nightly fuzz build --debug-assertions

mkdir -p target/fuzz-logs
failed=0
rows=()
for t in "${targets[@]}"; do
    log="target/fuzz-logs/$t.log"
    mkdir -p "corpus-work/$t" "corpus/$t"
    echo "==> $t: ${secs}s"
    result=ok
    if ! cargo +nightly fuzz run --debug-assertions "$t" "corpus-work/$t" "corpus/$t" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        result=FAILED
        failed=1
    fi
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
    rows+=("$(printf '%-18s %12s  %s' "$t" "${runs:-?}" "$result")")
    if [ "$result" = FAILED ]; then
        artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
        grep -E '^(==[0-9]+==|thread |panicked|SUMMARY)' "$log" | head -n 20 >&2 || true
        if [ -n "$artifact" ]; then
            case "$artifact" in
            /*) ;;
            *) artifact="$PWD/$artifact" ;;
            esac
            echo "fuzz: $t failed; artifact $artifact" >&2
            echo "fuzz: replay with: (cd fuzz && cargo +nightly fuzz run --debug-assertions $t $artifact)" >&2
        else
            echo "fuzz: $t failed without an artifact; see fuzz/$log" >&2
        fi
    fi
done

echo
printf '%-18s %12s  %s\n' TARGET RUNS RESULT
printf '%s\n' "${rows[@]}"
if [ "$failed" -ne 0 ]; then
    echo "fuzz: at least one target failed" >&2
    exit 1
fi
