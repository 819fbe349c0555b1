#!/usr/bin/env bash
# Shows jwas output with DuckDB: events per log type and each table's column types.
# Usage: scripts/query.sh [OUT_DIR]   (sets up .venv with duckdb on first use)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(scripts/venv.sh)
exec "$PY" scripts/query.py "${1:-out}"
