#!/usr/bin/env bash
# End-to-end comparison with the DuckDB peer on the shared 1 GB corpus.
#
#   benches/compare.sh [--mb 1000] [--runs 3] [--dir /tmp/jwas-bench] [--out-root DIR] [--dense] [--scale N]
#
# Generates ../shared/bench's corpus (mixed, seed 42; its timestamps run through all of
# 2023, so 1 GB becomes about 52k hourly files) once, or with --dense a corpus of the same
# size from `jwas gen` (200 events/s from 2023-06-01: a busy appliance, a few hours of log
# time, so a few dozen files). Builds jwas in release mode,
# sets up .venv with duckdb, then runs, alternating, RUNS times each:
#   jwas parse --threads 2, jwas parse --threads 1 pinned to one core, peer_duckdb.py --threads 2
# under /usr/bin/time -v, and prints the median MB/s, peak RSS and the ratios. Then it runs
# jwas on the corpus repeated SCALE times (default 4) from stdin, to show peak memory does
# not grow with the input, and checks that 1 and 2 threads give the same output: rows per
# table, Parquet file names, and the NDJSON rows (p_parse_time aside) byte for byte.
# The machine is shared: compare the ratios of one run, not absolute numbers across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=1000 RUNS=3 DIR=${TMPDIR:-/tmp}/jwas-bench OUT_ROOT= DENSE= SCALE=4
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --out-root) OUT_ROOT=$2; shift 2 ;;
    --dense) DENSE=1; shift ;;
    --scale) SCALE=$2; shift 2 ;;
    *) echo "usage: benches/compare.sh [--mb N] [--runs N] [--dir DIR] [--out-root DIR] [--dense] [--scale N]" >&2; exit 2 ;;
  esac
done
SHARED=${JWAS_SHARED_BENCH:-../shared/bench}
[ -f "$SHARED/gen_corpus.py" ] || { echo "compare.sh: $SHARED/gen_corpus.py not found (set JWAS_SHARED_BENCH)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
mkdir -p "$DIR"
cargo build --release --locked --quiet
if [ -n "$DENSE" ]; then
  CORPUS="$DIR/dense-${MB}mb-seed42.log"
  if [ ! -s "$CORPUS" ]; then
    echo "generating $CORPUS ..." >&2
    target/release/jwas gen --mb "$MB" --seed 42 --out "$CORPUS.part"
    mv "$CORPUS.part" "$CORPUS"
  fi
else
  CORPUS="$DIR/mixed-${MB}mb-seed42.log"
  if [ ! -s "$CORPUS" ]; then
    echo "generating $CORPUS ..." >&2
    python3 "$SHARED/gen_corpus.py" --type mixed --mb "$MB" --seed 42 --out "$CORPUS.part" >&2
    mv "$CORPUS.part" "$CORPUS"
  fi
fi
PY=$(scripts/venv.sh)
exec "$PY" benches/compare.py --corpus "$CORPUS" --runs "$RUNS" --dir "$DIR" \
  --jwas target/release/jwas --peer "$SHARED/peer_duckdb.py" --scale "$SCALE" ${OUT_ROOT:+--out-root "$OUT_ROOT"}
