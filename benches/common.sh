# Shared by benches/partition.sh and benches/many_inputs.sh (sourced, from the repository
# root): the shared corpus generator, /usr/bin/time, a release build, and medians.
SHARED=${JWAS_SHARED_BENCH:-../shared/bench}
[ -f "$SHARED/gen_corpus.py" ] || { echo "$0: $SHARED/gen_corpus.py not found (set JWAS_SHARED_BENCH)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "$0: /usr/bin/time is required (apt-get install time)" >&2; exit 1; }
mkdir -p "$DIR"
cargo build --release --locked --quiet

# The median of the numbers in $1 (separated by spaces).
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timed OUT_VAR_TIMES OUT_VAR_RSS NAME COMMAND...: runs COMMAND under /usr/bin/time (its
# stderr discarded) and appends its seconds to times[NAME] and its peak RSS (MiB, the
# largest so far) to rss[NAME]; prints a progress line to stderr.
timed() {
  local name=$1; shift
  /usr/bin/time -o "$DIR/time" -f '%e %M' "$@" 2>/dev/null
  local secs kib
  read -r secs kib < "$DIR/time"
  times[$name]+="$secs "
  rss[$name]=$(( kib / 1024 > ${rss[$name]:-0} ? kib / 1024 : ${rss[$name]:-0} ))
  echo "$name: $secs s" >&2
}
