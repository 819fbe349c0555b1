#!/usr/bin/env bash
# Runs every test: the examples (examples/, the S3 one against moto), then unit,
# integration (the built binary on testdata/, Parquet read back; S3 and SQS on moto; the
# Lambda function on cargo-lambda's emulator, hence --features lambda) and doc tests.
# The README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/examples.sh
cargo test --locked --features lambda "$@"
