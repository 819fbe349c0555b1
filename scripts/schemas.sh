#!/usr/bin/env bash
# Regenerates schemas/*.yml from the code (the test tests/it/schemas.rs checks they match).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
for t in access audit firewall mws postgres security; do
  name=$(./target/debug/jwas schema --log-type "$t" | sed -n 's/^schema: //p')
  ./target/debug/jwas schema --log-type "$t" > "schemas/$name.yml"
done
