#!/usr/bin/env bash
# ctest: a real ppsimd on loopback, driven by the Python client. usage: PPSIMD PROTO_DIR
source "$(dirname "$0")/daemon.sh"
start_ppsimd "$1"
/usr/bin/python3 "$(dirname "$0")/python_client.py" "$2" "$GRPC_TARGET"
