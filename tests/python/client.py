"""A client app of a Focal node on a stock gRPC stack: Python's grpcio (on
BoringSSL, which offers no ed25519), over TLS, trusting only the
certificates `focal-node client-cert` printed, authenticating with a bearer
token. Run by tests/tests/python_client.rs with the interpreter of the
environment tests/python/setup-venv.sh makes.

    client.py session  --address HOST:PORT --roots PEM --token TOKEN --node-key HEX
    client.py handshake --address HOST:PORT --roots PEM

`session` checks health, the node's identity, that a call without a token
is refused, lists practices, creates one and reads it back, and prints what
it saw as one JSON object. `handshake` makes one call and prints its status
(the test expects a refused handshake with a wrong root certificate).
"""

import argparse
import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from focal.v1 import node_pb2, node_pb2_grpc, records_pb2, records_pb2_grpc

# The name in every node certificate (subjectAltName).
TARGET_NAME = "focal-node"
# Seconds any one call may take.
DEADLINE = 20


def open_channel(address, roots_path):
    with open(roots_path, "rb") as f:
        roots = f.read()
    credentials = grpc.ssl_channel_credentials(root_certificates=roots)
    return grpc.secure_channel(
        address, credentials, options=[("grpc.ssl_target_name_override", TARGET_NAME)]
    )


def session(args):
    auth = (("authorization", f"Bearer {args.token}"),)
    seen = {}
    with open_channel(args.address, args.roots) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "focal.v1.NodeService"):
            answer = health.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=DEADLINE
            )
            seen[f"health[{service}]"] = health_pb2.HealthCheckResponse.ServingStatus.Name(
                answer.status
            )

        info = node_pb2_grpc.NodeServiceStub(channel).GetInfo(
            node_pb2.GetInfoRequest(), timeout=DEADLINE
        )
        if info.node_key != args.node_key:
            raise SystemExit(f"reached node key {info.node_key}, expected {args.node_key}")
        seen["member"] = info.member

        records = records_pb2_grpc.RecordServiceStub(channel)
        try:
            records.List(records_pb2.ListRequest(type="practice"), timeout=DEADLINE)
            raise SystemExit("a List without a token was answered")
        except grpc.RpcError as e:
            seen["without_token"] = e.code().name

        before = records.List(
            records_pb2.ListRequest(type="practice"), metadata=auth, timeout=DEADLINE
        )
        seen["listed_before"] = before.total

        fields = {
            "kind": "best-practice",
            "title": "Written from Python over grpcio",
            "themes": ["capacity-building"],
        }
        created = records.Create(
            records_pb2.CreateRequest(type="practice", fields_json=json.dumps(fields)),
            metadata=auth,
            timeout=DEADLINE,
        )
        seen["created"] = created.id
        again = records.Get(
            records_pb2.GetRequest(id=created.id), metadata=auth, timeout=DEADLINE
        )
        seen["read_back_title"] = again.title

        after = records.List(
            records_pb2.ListRequest(type="practice"), metadata=auth, timeout=DEADLINE
        )
        seen["listed_after"] = after.total
    print(json.dumps(seen))


def handshake(args):
    with open_channel(args.address, args.roots) as channel:
        try:
            health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=DEADLINE
            )
            print(json.dumps({"code": "OK", "details": ""}))
        except grpc.RpcError as e:
            print(json.dumps({"code": e.code().name, "details": e.details()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("session", "handshake"):
        p = sub.add_parser(name)
        p.add_argument("--address", required=True)
        p.add_argument("--roots", required=True, help="PEM file of the trusted roots")
        if name == "session":
            p.add_argument("--token", required=True)
            p.add_argument("--node-key", required=True)
    args = parser.parse_args()
    {"session": session, "handshake": handshake}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
