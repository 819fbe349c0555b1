#!/usr/bin/env bash
# Starts a local S3/SQS server (moto, from the project's venv) on 127.0.0.1 and prints its
# URL. Usage: scripts/moto.sh [PORT]   (default 5000; 0 takes a free port). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(scripts/venv.sh)
exec "$PY" scripts/moto_server.py --port "${1:-5000}" "${@:2}"
