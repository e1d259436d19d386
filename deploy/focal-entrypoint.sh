#!/bin/sh
# Entry point of the focal-node container.
#
# `run` (the default): on first start, create the node in $FOCAL_DATA
# (a member with FOCAL_MEMBER=CODE, or the secretariat founding a network
# with FOCAL_NETWORK_NAME=NAME), listening on FOCAL_LISTEN (default
# 0.0.0.0:7400), with Prometheus metrics on FOCAL_METRICS_LISTEN if set, the
# web app on FOCAL_WEB_LISTEN if set (default 127.0.0.1:7480, inside the
# container: publish it through a reverse proxy, or set FOCAL_WEB_TLS_CERT
# and FOCAL_WEB_TLS_KEY, PEM files, to listen off loopback), and advertising
# FOCAL_ADVERTISE (host:port other nodes reach it at); then run it. Any other
# command is passed to focal-node (`backup --to /backup/x`, `status`, …).
#
# Demo networks only (compose.yaml): FOCAL_DEMO_JOIN_FILE names a file on a
# volume shared by the demo's nodes. The secretariat writes an admin
# connection string there; a member uses it to add itself to the roster
# (`focal admin member add`) and runs the `focal-node join` that prints. A
# real member sends its join request to the secretariat instead
# (OPERATIONS.md, "Join a network").
set -eu
data=${FOCAL_DATA:-/var/lib/focal}
if [ "$#" -gt 0 ] && [ "$1" != "run" ]; then
  exec focal-node "$@"
fi

if [ ! -e "$data/node.key" ]; then
  if [ -n "${FOCAL_NETWORK_NAME:-}" ]; then
    focal-node init --data "$data" --secretariat --network "$FOCAL_NETWORK_NAME"
  else
    focal-node init --data "$data" --member "${FOCAL_MEMBER:?set FOCAL_MEMBER to the member code, e.g. ESP}"
  fi
  # The first `listen` line is the gRPC service's ([web] has its own).
  sed -i "0,/^listen = .*/s||listen = \"${FOCAL_LISTEN:-0.0.0.0:7400}\"|" "$data/focal.toml"
  if [ -n "${FOCAL_WEB_LISTEN:-}" ]; then
    sed -i "s|^listen = \"127.0.0.1:7480\"|listen = \"$FOCAL_WEB_LISTEN\"|" "$data/focal.toml"
  fi
  if [ -n "${FOCAL_WEB_TLS_CERT:-}" ]; then
    sed -i "s|^# tls_cert = .*|tls_cert = \"$FOCAL_WEB_TLS_CERT\"|; s|^# tls_key = .*|tls_key = \"${FOCAL_WEB_TLS_KEY:?set FOCAL_WEB_TLS_KEY with FOCAL_WEB_TLS_CERT}\"|" "$data/focal.toml"
  fi
  if [ -n "${FOCAL_ADVERTISE:-}" ]; then
    sed -i "s|^#\? *advertise = .*|advertise = \"$FOCAL_ADVERTISE\"|" "$data/focal.toml"
  fi
  if [ -n "${FOCAL_METRICS_LISTEN:-}" ]; then
    # The only `listen` line that is still commented out is the metrics one.
    sed -i "s|^# listen = .*|listen = \"$FOCAL_METRICS_LISTEN\"|" "$data/focal.toml"
  fi
fi

if [ -n "${FOCAL_DEMO_JOIN_FILE:-}" ]; then
  if [ -n "${FOCAL_NETWORK_NAME:-}" ]; then
    if [ ! -s "$FOCAL_DEMO_JOIN_FILE" ]; then
      # An admin token: the members' entry points add themselves with it.
      focal-node token create --data "$data" --name demo-join --role admin \
          --address "${FOCAL_ADVERTISE:?set FOCAL_ADVERTISE}" |
        grep -o 'focal://[^ ]*' >"$FOCAL_DEMO_JOIN_FILE.tmp"
      mv "$FOCAL_DEMO_JOIN_FILE.tmp" "$FOCAL_DEMO_JOIN_FILE"
    fi
  elif ! grep -q '^id = ' "$data/focal.toml"; then
    request=$(focal-node join-request --data "$data" --endpoint "${FOCAL_ADVERTISE:?set FOCAL_ADVERTISE}")
    tries=0
    until [ -s "$FOCAL_DEMO_JOIN_FILE" ] &&
      answer=$(focal --node "$(cat "$FOCAL_DEMO_JOIN_FILE")" admin member add --request "$request"); do
      tries=$((tries + 1))
      if [ "$tries" -gt 120 ]; then
        echo "cannot reach the secretariat to join the demo network" >&2
        exit 1
      fi
      sleep 1
    done
    # The answer's last line is the command to run: `focal-node join --network-id …`.
    join_args=$(printf '%s\n' "$answer" | sed -n 's/^ *focal-node join //p')
    # shellcheck disable=SC2086 # the printed command's words
    focal-node join --data "$data" $join_args
  fi
fi
exec focal-node run --data "$data"
