#!/usr/bin/env bash
# Data portability: the Automerge documents `focal export` writes load in the
# JavaScript implementation (@automerge/automerge, from the npm registry) and
# hold exactly the records of records.json. Needs node and npm; run by .ci/run
# after the Rust tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill -TERM "$node_pid" 2>/dev/null && wait "$node_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet --bins
bin="${CARGO_TARGET_DIR:-target}/debug"
npm install --silent --no-audit --no-fund --prefix "$work/js" @automerge/automerge@3 >/dev/null \
  || npm install --silent --no-audit --no-fund --prefix "$work/js" @automerge/automerge@3 >/dev/null

"$bin/focal-node" init --data "$work/node" --member NAM >/dev/null
sed -i 's/^listen = .*/listen = "127.0.0.1:0"/' "$work/node/focal.toml"
"$bin/focal-node" run --data "$work/node" 2>"$work/node.log" &
node_pid=$!
for _ in $(seq 1 300); do [ -f "$work/node/focal-node.addr" ] && break; sleep 0.1; done
[ -f "$work/node/focal-node.addr" ] || { cat "$work/node.log"; echo "the node did not start" >&2; exit 1; }
addr=$(cat "$work/node/focal-node.addr")
conn=$("$bin/focal-node" token create --data "$work/node" --name js | grep -o 'focal://[^ ]*')
export FOCAL_NODE="focal://$addr?${conn#*\?}"

id=$("$bin/focal" --json practice add --kind best-practice --title "Invented practice" \
      --theme capacity-building | sed -E 's/.*"id":"([^"]+)".*/\1/')
"$bin/focal" edit "$id" --summary "First summary" >/dev/null
"$bin/focal" edit "$id" --title "Pratique inventée" --lang fr >/dev/null
"$bin/focal" nap add --kind nap --title "Invented NAP" --status in-force --start 2024-01-01 \
      --end 2028-12-31 --pillar participation >/dev/null
"$bin/focal" export --out "$work/export" >/dev/null
cp tests/js/check.mjs "$work/js/check.mjs"
node "$work/js/check.mjs" "$work/export"
