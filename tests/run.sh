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
#   (tests/python/setup-venv.sh), for tests/tests/python_client.rs;
# - Debian's chromium and chromium-driver (chromedriver), and axe-core,
#   pinned by tests/web/package-lock.json and installed by `npm ci` into
#   tests/web/node_modules, for the browser tests (tests/src/browser.rs).
# No test passes by skipping: without a tool, the test that needs it fails
# and says which.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v ip >/dev/null || missing+=(iproute2)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v npm >/dev/null || missing+=(npm)
# A font for Chinese, so that screenshots of the Chinese interface (and the
# language switcher) show characters rather than boxes.
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)
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

# axe-core as tests/web/package-lock.json pins it (again if another version
# is installed).
axe_pinned=$(node -p 'require("./tests/web/package-lock.json").packages["node_modules/axe-core"].version')
axe_installed=$(node -p 'require("./tests/web/node_modules/axe-core/package.json").version' 2>/dev/null || true)
if [ "$axe_installed" != "$axe_pinned" ] || [ ! -f tests/web/node_modules/axe-core/axe.min.js ]; then
  echo "== axe-core $axe_pinned for the browser tests (npm ci in tests/web)"
  (cd tests/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi

echo "== Python environment for the grpcio client test"
bash tests/python/setup-venv.sh

echo "== cargo test --workspace"
cargo test --workspace --locked "$@"
