#!/usr/bin/env bash
# Sets up and runs every check: formatting, clippy, unit, property and
# integration tests (the Zeek, Community ID and tshark comparisons need
# ../shared/corpus beside the project).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
# --nocapture: the Zeek, Community ID and tshark comparisons print their match rates.
cargo test --workspace -- --nocapture 2>&1 | tee /tmp/wirelog-test.log
bash scripts/testbed-test.sh
# Every fuzz target for 30 s from seeds made of the corpus traces (a crash
# fails); long fuzzing: scripts/fuzz.sh 3600 [TARGET...].
bash scripts/fuzz.sh 30
