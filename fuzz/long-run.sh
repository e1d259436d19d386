#!/usr/bin/env bash
# The long runs of FUZZING.md: each target in turn (one process, one job,
# under nice) for RUNS executions (default 10 million) or at most
# MAX_SECONDS (default 5400), from its corpus; then the corpus is replaced by
# the minimised union of itself and what the run found (`-set_cover_merge=1`, like
# `cargo fuzz cmin` does), so new coverage is kept and the repository stays
# small. Each target's libFuzzer log is kept in fuzz/logs/<target>.log and a
# summary line (execs, exec/s, cov, ft, corpus) is printed at the end.
#
#   fuzz/long-run.sh                      # every target, 10 M runs each
#   fuzz/long-run.sh 10000000 record_json # one target
#
# A crash stops that target's run (its input is in fuzz/artifacts/<target>/)
# and makes the script exit non-zero after the other targets have run.
# Targets listed in KEEP_GOING (comma-separated) run in libFuzzer's fork mode
# with crashes, timeouts and OOMs counted and saved but not stopping the run:
# for a target with crashes already known and being fixed.
set -uo pipefail

runs=${1:-10000000}
shift || true
max_seconds=${MAX_SECONDS:-5400}
cd "$(dirname "$0")"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
nice -n 19 cargo +nightly fuzz build --sanitizer none || exit 1

mkdir -p logs
failed=()
summary=()
for target in "${targets[@]}"; do
    binary=target/x86_64-unknown-linux-gnu/release/$target
    found=$(mktemp -d)
    mkdir -p "artifacts/$target" "corpus/$target"
    echo "== $target: $runs runs (at most ${max_seconds}s)"
    started=$(date +%s)
    mode=()
    if [[ ",${KEEP_GOING:-}," == *",$target,"* ]]; then
        mode=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
    fi
    nice -n 19 "$binary" "${mode[@]}" -runs="$runs" -max_total_time="$max_seconds" \
        -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
        -artifact_prefix="artifacts/$target/" "$found" "corpus/$target" \
        >"logs/$target.log" 2>&1
    status=$?
    elapsed=$(( $(date +%s) - started ))
    [[ $status -eq 0 ]] || failed+=("$target")
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$target.log" | tail -1 | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "logs/$target.log" | tail -1 | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+.*cov: ' "logs/$target.log" | grep -v MERGE | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*')
    # Fork mode prints no final stats: its status lines count the runs.
    execs=${execs:-$(grep -o '^#[0-9]*' <<<"$last" | tr -d '#')}
    rate=${rate:-$(grep -o 'exec/s: [0-9]*' <<<"$last" | grep -o '[0-9]*$')}
    crashes=$(find "artifacts/$target" -type f | wc -l)
    # Keep the minimised union of the old corpus and the new finds.
    merged=$(mktemp -d)
    nice -n 19 "$binary" -set_cover_merge=1 -rss_limit_mb=2048 -timeout=30 "$merged" \
        "corpus/$target" "$found" >"logs/$target.merge.log" 2>&1 &&
        rm -rf "corpus/$target" && mv "$merged" "corpus/$target" && chmod 755 "corpus/$target"
    rm -rf "$found" "$merged"
    files=$(find "corpus/$target" -type f | wc -l)
    size=$(( $(cat "corpus/$target"/* | wc -c) / 1024 ))
    line=$(printf '%-18s exit %-3s %10s execs %7s exec/s %6ss cov %-6s ft %-6s corpus %s files %s kB, %s crash inputs' \
        "$target" "$status" "${execs:-?}" "${rate:-?}" "$elapsed" "${cov:-?}" "${ft:-?}" "$files" "$size" "$crashes")
    echo "$line"
    summary+=("$line")
done
echo
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "crashed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
    exit 1
fi
