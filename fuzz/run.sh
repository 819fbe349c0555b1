#!/usr/bin/env bash
# Runs fuzz targets one after another (never in parallel), each for SECONDS seconds.
#   fuzz/run.sh [SECONDS] [TARGET...]     default: 150 seconds, every target
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-150}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(access audit firewall mws postgres security block linear)
fi
for t in "${targets[@]}"; do
    # linear: a short fragment repeated into a 1 MiB event; an input that takes more than
    # 20 s is a finding (quadratic work per event).
    extra=()
    case $t in
        block) max_len=16384 ;;
        linear) max_len=256; extra=(-timeout=20) ;;
        *) max_len=4096 ;;
    esac
    mkdir -p "corpus/$t"
    echo "== $t (${secs}s, -max_len=$max_len ${extra[*]})"
    RUSTC_BOOTSTRAP=1 cargo fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -max_len="$max_len" "${extra[@]}"
done
