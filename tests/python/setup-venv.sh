#!/usr/bin/env bash
# Makes the Python environment tests/tests/python_client.rs runs
# tests/python/client.py in: a virtual environment with the pinned grpcio,
# grpcio-tools, grpcio-health-checking and protobuf of requirements.txt, and
# Python stubs generated from proto/ (never committed).
#
#   bash tests/python/setup-venv.sh
#
# The environment goes to $FOCAL_PYTHON_VENV, by default
# ${CARGO_TARGET_DIR:-target}/python-venv; the stubs to its focal-stubs/,
# put on its sys.path by a .pth file. Running it again brings an existing
# environment up to date (packages, stubs). Needs python3 with venv; on
# Debian, where `python3 -m venv` fails without python3-venv, the script
# installs that package with apt-get (sudo unless root).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-target}
case $target in /*) ;; *) target=$root/$target ;; esac
venv=${FOCAL_PYTHON_VENV:-$target/python-venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  rm -rf "$venv"
  if ! "$python" -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 has no ensurepip without python3-venv: the venv is
    # left half-made. Install the package, then try again.
    rm -rf "$venv"
    echo "python3 -m venv failed: installing python3-venv with apt-get" >&2
    sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      python3-venv >/dev/null
    "$python" -m venv "$venv"
  fi
fi

"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
  -r tests/python/requirements.txt

# Stubs from the .proto files, regenerated every time (they follow proto/).
stubs=$venv/focal-stubs
rm -rf "$stubs"
mkdir -p "$stubs"
"$venv/bin/python" -m grpc_tools.protoc -I proto --python_out="$stubs" \
  --grpc_python_out="$stubs" proto/focal/v1/*.proto
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$stubs" >"$site/focal-stubs.pth"
# What the stubs were made from: the Rust test refuses stale stubs.
(cd proto && LC_ALL=C sha256sum focal/v1/*.proto) >"$venv/focal-stubs.sha256"

"$venv/bin/python" -c 'import grpc, grpc_health.v1.health_pb2, focal.v1.records_pb2_grpc'
echo "Python environment ready: $venv (grpcio $("$venv/bin/python" -c 'import grpc; print(grpc.__version__)'))"
