#!/usr/bin/env bash
# Shows jwas output with DuckDB: events per log type and each table's column types.
# Usage: scripts/query.sh [OUT_DIR]   (sets up .venv with duckdb on first use)
set -euo pipefail
# The directory is the caller's: resolve it before moving to the repository.
out=$(realpath -m -- "${1:-out}")
[ -d "$out" ] || { echo "query.sh: $out is not a directory (give jwas parse's --out)" >&2; exit 1; }
cd "$(dirname "$0")/.."
PY=$(scripts/venv.sh)
exec "$PY" scripts/query.py "$out"
