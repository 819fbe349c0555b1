#!/usr/bin/env bash
# Shows jwas output with DuckDB: events per log type and each table's column types, or the
# result of your own SQL.
# Usage: scripts/query.sh [OUT_DIR] ['SQL']   (sets up .venv with duckdb on first use)
# OUT_DIR and any relative path in SQL are taken from the directory you run it in.
set -euo pipefail
out=$(realpath -m -- "${1:-out}")
[ -d "$out" ] || { echo "query.sh: $out is not a directory (give jwas parse's --out)" >&2; exit 1; }
root=$(cd "$(dirname "$0")/.." && pwd)
PY=$("$root/scripts/venv.sh")
exec "$PY" "$root/scripts/query.py" "$out" "${@:2}"
