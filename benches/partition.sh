#!/usr/bin/env bash
# Files and time by partition level on a quiet appliance's year:
#
#   benches/partition.sh [--mb 20] [--runs 3] [--dir DIR]
#
# Generates ../shared/bench's quiet-year corpus (gen_corpus.py --type mixed --mb MB --seed 42)
# once into DIR, builds jwas in release mode, then runs `jwas parse` to Parquet with 2
# threads at --partition hour, day and month, RUNS times each, alternating, under
# /usr/bin/time, and prints the median time, MB/s, peak RSS, files written and files per
# day of log, and each level's speed-up over hour.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=20 RUNS=3 DIR=${TMPDIR:-/tmp}/jwas-partition
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    *) echo "usage: benches/partition.sh [--mb N] [--runs N] [--dir DIR]" >&2; exit 2 ;;
  esac
done
source benches/common.sh
corpus=$DIR/quiet-${MB}mb-seed42.log
[ -s "$corpus" ] || python3 "$SHARED/gen_corpus.py" --type mixed --mb "$MB" --seed 42 --out "$corpus" >&2
bytes=$(stat -c %s "$corpus")
declare -A times rss files days
for run in $(seq "$RUNS"); do
  for level in hour day month; do
    out=$DIR/out-$level
    rm -rf "$out"
    sync
    timed "$level" target/release/jwas parse "$corpus" --out "$out" \
      --threads 2 --partition "$level" --reference-time 2023-12-31T23:59:59Z
    files[$level]=$(find "$out" -name '*.parquet' | wc -l)
    days[$level]=$(find "$out" -name '*.parquet' | sed -n 's|.*/year=\([0-9]*\)/month=\([0-9]*\)/day=\([0-9]*\)/.*|\1\2\3|p' | sort -u | wc -l)
  done
done
h=$(median "${times[hour]}")
echo "corpus: $corpus ($bytes bytes); $RUNS runs each, alternating; median time, largest peak RSS"
echo
echo "| --partition | median s | MB/s | peak RSS MiB | Parquet files | files per day of log | vs hour |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for level in hour day month; do
  m=$(median "${times[$level]}")
  # month: the files carry no day; divide by the days of the hour run.
  d=${days[$level]}; [ "$level" = month ] && d=${days[hour]}
  awk -v l="$level" -v m="$m" -v b="$bytes" -v r="${rss[$level]}" -v f="${files[$level]}" -v d="$d" -v h="$h" \
    'BEGIN { printf "| %s | %.2f | %.1f | %d | %d | %.1f | %.2fx |\n", l, m, b / 1e6 / m, r, f, f / d, h / m }'
done
rm -rf "$DIR"/out-*
