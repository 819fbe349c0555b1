#!/usr/bin/env bash
# Starts a local S3/SQS server (moto, from the project's venv, installed on first use) on
# 127.0.0.1 and prints its URL.
#   scripts/moto.sh [PORT]               in the foreground until Ctrl-C (default port 5000)
#   scripts/moto.sh --background [PORT]  returns once it is up
#   scripts/moto.sh --stop [PORT]        stops a server started with --background
# PORT 0 takes a free port.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--stop" ]; then
  PID=.venv/moto-${2:-5000}.pid
  [ -f "$PID" ] || { echo "scripts/moto.sh: no server started on port ${2:-5000} ($PID not found)" >&2; exit 1; }
  kill "$(cat "$PID")" 2>/dev/null || true
  rm -f "$PID"
  exit 0
fi
PY=$(scripts/venv.sh)
if [ "${1:-}" != "--background" ]; then
  exec "$PY" scripts/moto_server.py --port "${1:-5000}"
fi
PORT=${2:-5000}
LOG=.venv/moto-$PORT.log
nohup "$PY" scripts/moto_server.py --port "$PORT" > "$LOG" 2>&1 &
echo $! > ".venv/moto-$PORT.pid"
for _ in $(seq 100); do
  if grep -q '^http://' "$LOG"; then
    echo "$(head -1 "$LOG") (pid $(cat ".venv/moto-$PORT.pid"); stop: scripts/moto.sh --stop $PORT)"
    exit 0
  fi
  kill -0 "$(cat ".venv/moto-$PORT.pid")" 2>/dev/null || break
  sleep 0.2
done
echo "scripts/moto.sh: moto did not start; its output:" >&2
cat "$LOG" >&2
exit 1
