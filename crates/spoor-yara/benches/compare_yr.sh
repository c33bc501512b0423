#!/usr/bin/env bash
# Side-by-side scan throughput of spoor-yara and the YARA-X CLI (`yr`) with the same built-in
# rules on the same generated folder. Needs `yr` on PATH (`cargo install yara-x-cli --locked`,
# a long build) and hyperfine (`apt-get install -y hyperfine`).
# Usage: bash crates/spoor-yara/benches/compare_yr.sh [CORPUS_DIR]
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
corpus="${1:-${TMPDIR:-/tmp}/spoor-yara-bench-corpus}"
cd "$root"
cargo build -p spoor-yara --profile bench --example scan_dir
scan_dir="$root/target/release/examples/scan_dir"
if [ ! -d "$corpus" ]; then
  "$scan_dir" --generate "$corpus"
fi
rules="$root/rules/yara/webshells.yar"
echo "yr:    $(yr scan -r "$rules" "$corpus" | wc -l) matches"
echo "spoor: $("$scan_dir" --no-hash "$corpus")"
hyperfine -N -w 3 -r 30 \
  "yr scan -r $rules $corpus" \
  "$scan_dir --no-hash $corpus" \
  "$scan_dir $corpus"
