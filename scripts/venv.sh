#!/usr/bin/env bash
# Creates (once) the project's Python venv in .venv with pinned tools: duckdb for the
# query scripts, moto (a local S3/SQS server) for the S3 tests, awscli for docs/guide.md's
# S3 walk-through, cargo-lambda (its local Lambda runtime emulator) for the Lambda tests,
# cfn-lint for deploy/'s template; with --bench also polars, for benches/compare.sh's
# Polars peer.
# Prints the venv's python path. Needs only Python 3 (with venv/pip).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
REQS="duckdb==1.5.6 pytz==2026.6 moto[server]==5.2.5 awscli==1.46.3 boto3==1.44.5 botocore==1.44.5 cargo-lambda==1.9.2 cfn-lint==1.58.0"
BENCH_REQS="polars==2.1.0 polars-runtime-32==2.1.0"
# One creator at a time (test binaries may ask at once): flock where there is one (Linux),
# else a lock directory (stock macOS has no flock).
if command -v flock >/dev/null; then
  exec 9>".venv.lock"
  flock 9
else
  until mkdir .venv.lockdir 2>/dev/null; do sleep 0.2; done
  trap 'rmdir .venv.lockdir' EXIT
fi
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.jwas-requirements" 2>/dev/null)" != "$REQS" ]; then
  command -v python3 >/dev/null || { echo "scripts/venv.sh: python3 is required (apt-get install python3 python3-venv)" >&2; exit 1; }
  echo "scripts/venv.sh: setting up .venv ($REQS) from PyPI, once; this takes a minute or so" >&2
  python3 -m venv "$VENV" >&2 || { echo "scripts/venv.sh: 'python3 -m venv' failed: install python3-venv" >&2; exit 1; }
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $REQS >&2
  echo "$REQS" > "$VENV/.jwas-requirements"
fi
if [ "${1:-}" = --bench ] && [ "$(cat "$VENV/.jwas-bench-requirements" 2>/dev/null)" != "$BENCH_REQS" ]; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check $BENCH_REQS >&2
  echo "$BENCH_REQS" > "$VENV/.jwas-bench-requirements"
fi
echo "$PWD/$VENV/bin/python"
