#!/usr/bin/env bash
# Builds every fuzz target, replays the saved crash inputs
# (fuzz/regressions/<target>/), then fuzzes each target for SECONDS from its
# corpus (fuzz/corpus/<target>/, read only: new inputs go to a scratch
# directory). Exits non-zero as soon as a target crashes, leaks, times out
# or runs out of memory; libFuzzer's reproducer is then under
# fuzz/artifacts/<target>/.
#
#   fuzz/run-all.sh 20            # CI: 20 s per target
#   fuzz/run-all.sh 600 automerge_change record_json   # some targets only
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs
# cargo-fuzz if it is missing. Set FUZZ_NICE=19 to run under nice, and
# FUZZ_SKIP_REGRESSIONS=1 to skip the replay of saved crashes (while their
# fixes are still on their way).
set -euo pipefail

if [[ $# -lt 1 || ! $1 =~ ^[0-9]+$ ]]; then
    echo "usage: $0 SECONDS [TARGET …]" >&2
    exit 2
fi
seconds=$1
shift
cd "$(dirname "$0")"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# No sanitizer: the node forbids unsafe code, and ASan halves the rate.
# Debug assertions and overflow checks stay on (cargo-fuzz's default).
flags=(--sanitizer none)
nice_cmd=(nice -n "${FUZZ_NICE:-0}")

targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

"${nice_cmd[@]}" cargo +nightly fuzz build "${flags[@]}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for target in "${targets[@]}"; do
    binary=target/x86_64-unknown-linux-gnu/release/$target
    if [[ -z ${FUZZ_SKIP_REGRESSIONS:-} ]] && compgen -G "regressions/$target/*" >/dev/null; then
        echo "== $target: replaying regressions/$target/"
        "${nice_cmd[@]}" "$binary" -rss_limit_mb=2048 -timeout=30 regressions/"$target"/*
    fi
    echo "== $target: fuzzing for ${seconds}s"
    mkdir -p "$scratch/$target" "corpus/$target"
    "${nice_cmd[@]}" cargo +nightly fuzz run "${flags[@]}" "$target" \
        "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -print_final_stats=1
done
echo "== all ${#targets[@]} targets ran ${seconds}s each without a crash"
