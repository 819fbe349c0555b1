#!/usr/bin/env bash
# Runs fuzz targets one after another (never in parallel), each for SECONDS seconds.
#   fuzz/run.sh [SECONDS] [TARGET...]     default: 150 seconds, every target
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-150}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(access audit firewall mws postgres security block)
fi
for t in "${targets[@]}"; do
    case $t in
        block) max_len=16384 ;;
        *) max_len=4096 ;;
    esac
    mkdir -p "corpus/$t"
    echo "== $t (${secs}s, -max_len=$max_len)"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -max_len="$max_len"
done
