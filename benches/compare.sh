#!/usr/bin/env bash
# End-to-end comparison with the DuckDB peer on the shared 1 GB corpus.
#
#   benches/compare.sh [--mb 1000] [--runs 3] [--dir /tmp/jwas-bench] [--out-root DIR]
#
# Generates ../shared/bench's corpus (mixed, seed 42) once, builds jwas in release mode,
# sets up .venv with duckdb, then runs, alternating, RUNS times each:
#   jwas parse --threads 2, jwas parse --threads 1, peer_duckdb.py --threads 2
# under /usr/bin/time -v, and prints the median MB/s, peak RSS and the ratios. Finally it
# checks that the 1- and 2-thread outputs hold the same rows (p_parse_time aside) and the
# same file names. The machine is shared: compare the ratios of one run, not absolute
# numbers across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=1000 RUNS=3 DIR=${TMPDIR:-/tmp}/jwas-bench OUT_ROOT=
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --out-root) OUT_ROOT=$2; shift 2 ;;
    *) echo "usage: benches/compare.sh [--mb N] [--runs N] [--dir DIR] [--out-root DIR]" >&2; exit 2 ;;
  esac
done
SHARED=${JWAS_SHARED_BENCH:-../shared/bench}
[ -f "$SHARED/gen_corpus.py" ] || { echo "compare.sh: $SHARED/gen_corpus.py not found (set JWAS_SHARED_BENCH)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
mkdir -p "$DIR"
CORPUS="$DIR/mixed-${MB}mb-seed42.log"
if [ ! -s "$CORPUS" ]; then
  echo "generating $CORPUS ..." >&2
  python3 "$SHARED/gen_corpus.py" --type mixed --mb "$MB" --seed 42 --out "$CORPUS.part" >&2
  mv "$CORPUS.part" "$CORPUS"
fi
cargo build --release --locked --quiet
PY=$(scripts/venv.sh)
exec "$PY" benches/compare.py --corpus "$CORPUS" --runs "$RUNS" --dir "$DIR" \
  --jwas target/release/jwas --peer "$SHARED/peer_duckdb.py" ${OUT_ROOT:+--out-root "$OUT_ROOT"}
