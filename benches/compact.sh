#!/usr/bin/env bash
# jwas compact on a worker-like output: 30 files per table and hour.
#
#   benches/compact.sh [--mb 200] [--dir DIR]
#
# Generates ../shared/bench's busy-day corpus (gen_corpus.py --type mixed --days 1 --mb MB
# --seed 42) once into DIR and deals it, in blocks of 1,000 lines, into 30 inputs that each
# span the whole day (as 30 worker batches of an hour each hold a slice of it). Builds jwas
# in release mode, parses the 30 inputs into hourly partitions (30 files per table-hour) and
# into daily ones (30 files per table-day: partitions of MB/6 on average, far larger than
# compact's sorting memory), then runs `jwas compact` on each under /usr/bin/time and
# prints files per partition before and after, rows, time, MB/s (of Parquet read) and peak
# RSS. Finally checks with DuckDB (scripts/venv.sh) that count(*) and count(distinct
# p_row_id) are the same before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=200 DIR=${TMPDIR:-/tmp}/jwas-compact
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    *) echo "usage: benches/compact.sh [--mb N] [--dir DIR]" >&2; exit 2 ;;
  esac
done
source benches/common.sh
corpus=$DIR/busy-${MB}mb-seed42.log
[ -s "$corpus" ] || python3 "$SHARED/gen_corpus.py" --type mixed --days 1 --mb "$MB" --seed 42 --out "$corpus" >&2
inputs=$DIR/inputs-$MB
if [ ! -d "$inputs" ]; then
  mkdir -p "$inputs"
  awk -v dir="$inputs" '{ printf "%s\n", $0 > sprintf("%s/batch-%02d.log", dir, int((NR - 1) / 1000) % 30) }' "$corpus"
fi
PY=$(scripts/venv.sh)
count() {
  "$PY" - "$1" <<'PY'
import duckdb, sys
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
print(*con.sql(f"select count(*), count(distinct p_row_id) from read_parquet('{sys.argv[1]}/juniper_*/**/*.parquet', hive_partitioning=true, union_by_name=true)").fetchone())
PY
}
per_partition() { # files per partition: min max
  find "$1" -name '*.parquet' -printf '%h\n' | sort | uniq -c | awk 'NR==1{min=$1} {if($1<min)min=$1; if($1>max)max=$1} END{print min, max}'
}
echo "corpus: $corpus ($(stat -c %s "$corpus") bytes), dealt into 30 inputs"
declare -A times rss
for level in hour day; do
  out=$DIR/out-$level
  rm -rf "$out"
  target/release/jwas parse "$inputs" --out "$out" --partition "$level" \
    --reference-time 2023-12-31T23:59:59Z 2>/dev/null
  files_before=$(find "$out" -name '*.parquet' | wc -l)
  read -r pmin pmax < <(per_partition "$out")
  bytes=$(du -sb "$out" | cut -f1)
  before=$(count "$out")
  sync
  timed "$level" target/release/jwas compact "$out"
  files_after=$(find "$out" -name '*.parquet' | wc -l)
  read -r amin amax < <(per_partition "$out")
  after=$(count "$out")
  secs=${times[$level]% }
  echo
  echo "--partition $level: $files_before files ($pmin-$pmax per partition, $((bytes / 1000000)) MB) -> $files_after ($amin-$amax per partition)"
  echo "  compact: $secs s, $(awk -v b="$bytes" -v s="$secs" 'BEGIN{printf "%.1f", b/1e6/s}') MB/s of Parquet, peak RSS ${rss[$level]} MiB"
  echo "  count(*), count(distinct p_row_id): before $before, after $after"
  [ "$before" = "$after" ] || { echo "  ROWS CHANGED" >&2; exit 1; }
done
