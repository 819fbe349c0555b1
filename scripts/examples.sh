#!/usr/bin/env bash
# Builds and runs every example of examples/ as the crate docs show them; files_to_s3
# writes to a bucket of a moto server started (and stopped) here. Fails if any fails.
set -euo pipefail
cd "$(dirname "$0")/.."
run() { cargo run --locked -q --features lambda --example "$@"; }
tmp=$(mktemp -d)
port_file=""
cleanup() {
  [ -n "$port_file" ] && scripts/moto.sh --stop "$(cat "$port_file")" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
echo "examples: parse_line"
run parse_line > "$tmp/parse_line.txt"
grep -q "Juniper.Security" "$tmp/parse_line.txt"
echo "examples: files_to_parquet"
run files_to_parquet -- testdata/ "$tmp/out" > "$tmp/local.txt"
grep -q "0 input(s) failed" "$tmp/local.txt"
ls "$tmp/out/juniper_access" >/dev/null
echo "examples: files_to_s3 (moto)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
scripts/moto.sh --background "$port" >/dev/null
port_file="$tmp/port"; echo "$port" > "$port_file"
py=$(scripts/venv.sh)
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
"$py" -c 'import boto3; boto3.client("s3").create_bucket(Bucket="examples")'
run files_to_s3 -- testdata/ s3://examples/jwas > "$tmp/s3.txt"
grep -q "0 input(s) failed" "$tmp/s3.txt"
echo "examples: all ran"
