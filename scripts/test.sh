#!/usr/bin/env bash
# Runs every test: unit, integration (the built binary on testdata/, Parquet read back)
# and doc tests. The README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"
