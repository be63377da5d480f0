#!/usr/bin/env python3
"""Lists a Tollgate server's services through gRPC server reflection with the
reference Python client (grpcio-reflection), then resolves
tollgate.v1.PlanChangeRequest the way grpcurl-style tools do.

Usage: list_services.py HOST:PORT

Prints one service name per line, then `resolved <message> <fields>`.
Exits 1 when an expected service is missing or the message cannot be resolved.
Run by `tests/python_reflection.rs` (`cargo test --test python_reflection`).
"""

import signal
import sys

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

EXPECTED = {
    "tollgate.v1.DecisionService",
    "tollgate.v1.BundleService",
    "grpc.health.v1.Health",
}


def main() -> int:
    # Never hang the test run.
    signal.alarm(20)
    target = sys.argv[1]
    # Talk to 127.0.0.1 directly, whatever *_proxy variables say.
    channel = grpc.insecure_channel(target, options=[("grpc.enable_http_proxy", 0)])
    grpc.channel_ready_future(channel).result(timeout=10)
    database = ProtoReflectionDescriptorDatabase(channel)
    services = set(database.get_services())
    for name in sorted(services):
        print(name)
    message = DescriptorPool(database).FindMessageTypeByName(
        "tollgate.v1.PlanChangeRequest"
    )
    print("resolved", message.full_name, ",".join(f.name for f in message.fields))
    missing = EXPECTED - services
    if missing:
        print("missing:", ", ".join(sorted(missing)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
