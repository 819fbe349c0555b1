#!/usr/bin/env bash
# Many small inputs against the same bytes as one file:
#
#   benches/many_inputs.sh [--mb 100] [--files 500] [--runs 3] [--dir DIR] [--baseline BIN]
#
# Generates ../shared/bench's busy-day corpus (gen_corpus.py --type mixed --mb MB --seed 42
# --days 1) once into DIR, splits it at line boundaries into FILES files of about MB/FILES
# each, builds jwas in release mode, and runs `jwas parse` with 2 threads on the directory
# of small files and on the one file, RUNS times each, alternating, under /usr/bin/time.
# With --baseline BIN, also runs another jwas build (e.g. the previous release, which
# parsed inputs one after another) on the directory. Prints median time, MB/s, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=100 FILES=500 RUNS=3 DIR=${TMPDIR:-/tmp}/jwas-many BASELINE=
while [ $# -gt 0 ]; do
  case "$1" in
    --mb) MB=$2; shift 2 ;;
    --files) FILES=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --baseline) BASELINE=$2; shift 2 ;;
    *) echo "usage: benches/many_inputs.sh [--mb N] [--files N] [--runs N] [--dir DIR] [--baseline BIN]" >&2; exit 2 ;;
  esac
done
source benches/common.sh
one=$DIR/busy-${MB}mb-seed42.log
[ -s "$one" ] || python3 "$SHARED/gen_corpus.py" --type mixed --mb "$MB" --seed 42 --days 1 --out "$one" >&2
parts=$DIR/parts-$FILES
if [ ! -d "$parts" ]; then
  mkdir -p "$parts"
  bytes=$(stat -c %s "$one")
  (cd "$parts" && split -C $(( (bytes + FILES - 1) / FILES )) -d -a 4 --additional-suffix=.log "$one" part-)
fi
bytes=$(stat -c %s "$one")
n=$(ls "$parts" | wc -l)
contenders=("$n files, side by side|target/release/jwas|$parts" "one file|target/release/jwas|$one")
[ -n "$BASELINE" ] && contenders+=("$n files, baseline build|$BASELINE|$parts")
declare -A times rss
for run in $(seq "$RUNS"); do
  for c in "${contenders[@]}"; do
    IFS='|' read -r name bin input <<<"$c"
    out=$DIR/out
    rm -rf "$out"
    sync
    timed "$name" "$bin" parse "$input" --out "$out" --threads 2 \
      --reference-time 2023-12-31T23:59:59Z
  done
done
o=$(median "${times[one file]}")
echo "corpus: $one ($bytes bytes) and $parts ($n files); $RUNS runs each, alternating; median time, largest peak RSS"
echo
echo "| contender | median s | MB/s | peak RSS MiB | time vs one file |"
echo "|---|---:|---:|---:|---:|"
for c in "${contenders[@]}"; do
  IFS='|' read -r name _ _ <<<"$c"
  m=$(median "${times[$name]}")
  awk -v l="$name" -v m="$m" -v b="$bytes" -v r="${rss[$name]}" -v o="$o" \
    'BEGIN { printf "| %s | %.2f | %.1f | %d | %.2fx |\n", l, m, b / 1e6 / m, r, m / o }'
done
rm -rf "$DIR/out"
