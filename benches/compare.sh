#!/usr/bin/env bash
# End-to-end comparison with every peer of ../shared/bench (DuckDB, Polars, DuckDB writing
# jwas's Hive layout) and the `zstd -1 -T2` ceiling, on the shared corpora:
#
#   benches/compare.sh [--mb 1000] [--runs 3] [--dir DIR] [--corpus busy|quiet|both]
#                      [--baseline-rev REV] [--no-hive] [--scale 4]
#
# busy:  gen_corpus.py --type mixed --mb MB --seed 42 --days 1   (a busy appliance's day)
# quiet: gen_corpus.py --type mixed --mb MB --seed 42             (a quiet appliance's year)
# Builds jwas in release mode, sets up .venv with DuckDB and Polars (scripts/venv.sh --bench),
# generates the corpora once into DIR, then per corpus runs every contender RUNS times,
# alternating, under /usr/bin/time -v, and prints the median MB/s, peak RSS and ratios; then
# jwas on the corpus SCALE times over from standard input (memory must not grow), and checks
# that 1 and 2 threads give the same files and rows. With --baseline-rev, also builds that
# revision of jwas (a git worktree in DIR), runs it as one more contender (before and after
# in the same run) and checks its NDJSON rows equal these.
# The machine is shared: compare ratios within one run, not absolute numbers across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=1000 RUNS=3 DIR=${TMPDIR:-/tmp}/jwas-bench CORPORA=both BASELINE_REV= HIVE= SCALE=4
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --corpus) CORPORA=$2; shift 2 ;;
    --baseline-rev) BASELINE_REV=$2; shift 2 ;;
    --no-hive) HIVE=--no-hive; shift ;;
    --scale) SCALE=$2; shift 2 ;;
    *) echo "usage: benches/compare.sh [--mb N] [--runs N] [--dir DIR] [--corpus busy|quiet|both] [--baseline-rev REV] [--no-hive] [--scale N]" >&2; exit 2 ;;
  esac
done
SHARED=${JWAS_SHARED_BENCH:-../shared/bench}
[ -f "$SHARED/gen_corpus.py" ] || { echo "compare.sh: $SHARED/gen_corpus.py not found (set JWAS_SHARED_BENCH)" >&2; exit 1; }
for tool in /usr/bin/time zstd; do
  command -v "$tool" >/dev/null || { echo "compare.sh: $tool is required (apt-get install time zstd)" >&2; exit 1; }
done
mkdir -p "$DIR"
cargo build --release --locked --quiet
PY=$(scripts/venv.sh --bench)

corpus() { # name, extra gen_corpus.py arguments
  local file="$DIR/$1-${MB}mb-seed42.log"
  if [ ! -s "$file" ]; then
    echo "generating $file ..." >&2
    python3 "$SHARED/gen_corpus.py" --type mixed --mb "$MB" --seed 42 "${@:2}" --out "$file.part" >&2
    mv "$file.part" "$file"
  fi
  echo "$1=$file"
}
ARGS=()
case "$CORPORA" in
  busy) ARGS+=(--corpus "$(corpus busy --days 1)") ;;
  quiet) ARGS+=(--corpus "$(corpus quiet)") ;;
  both) ARGS+=(--corpus "$(corpus quiet)" --corpus "$(corpus busy --days 1)") ;;
  *) echo "compare.sh: --corpus busy|quiet|both" >&2; exit 2 ;;
esac

if [ -n "$BASELINE_REV" ]; then
  WT="$DIR/baseline-$BASELINE_REV"
  if [ ! -x "$WT/target/release/jwas" ]; then
    git worktree add --force --detach "$WT" "$BASELINE_REV" >&2
    (cd "$WT" && cargo build --release --locked --quiet)
  fi
  ARGS+=(--baseline "$WT/target/release/jwas")
fi
exec "$PY" benches/compare.py "${ARGS[@]}" --runs "$RUNS" --dir "$DIR/outputs" \
  --jwas "$PWD/target/release/jwas" --peers "$SHARED" --python "$PY" --scale "$SCALE" $HIVE
