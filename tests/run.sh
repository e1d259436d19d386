#!/usr/bin/env bash
# The test command of README.md: installs what the tests need beyond cargo,
# if it is missing, then runs every test of the workspace.
#
#   bash tests/run.sh            # extra arguments go to `cargo test`
#
# - Debian's systemd (systemd-analyze) and docker-compose, which
#   tests/tests/deploy.rs checks the unit and compose files with;
# - iproute2 (`ip`): tests/tests/partition.rs puts nodes in network
#   namespaces of their own (it also needs root);
# - a Python virtual environment with the pinned grpcio
#   (tests/python/setup-venv.sh), for tests/tests/python_client.rs.
# No test passes by skipping: without a tool, the test that needs it fails
# and says which.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v ip >/dev/null || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (Debian packages)"
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
# tests/tests/deploy.rs fails instead of skipping when a tool is missing.
export FOCAL_REQUIRE_DEPLOY_TOOLS=1

echo "== Python environment for the grpcio client test"
bash tests/python/setup-venv.sh

echo "== cargo test --workspace"
cargo test --workspace --locked "$@"
