#!/usr/bin/env bash
# Runs the fuzz targets, each for SECONDS (default 30), from seeds made of
# the public traces in ../shared/corpus; a crash fails the run and leaves
# its input under fuzz/artifacts/. CI runs it briefly (scripts/test.sh);
# for long fuzzing give hours: scripts/fuzz.sh 3600 redis http
#
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
shift || true
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
# Only the stable toolchain is installed: cargo-fuzz's sanitizer flags
# need RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^wirelog-fuzz$')
fi
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
/usr/bin/python3 fuzz/seeds.py ../shared/corpus "$seeds"
cd fuzz
cargo fuzz build -O
log=$(mktemp)
for t in "${targets[@]}"; do
    mkdir -p "$seeds/$t" "corpus/$t"
    echo "fuzz: $t for ${secs}s from $(ls "$seeds/$t" | wc -l) seeds" >&2
    # -rss_limit_mb: every buffer is sized at start, so growth is a bug.
    if ! cargo fuzz run -O "$t" "corpus/$t" "$seeds/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "fuzz: $t failed (its input is in fuzz/artifacts/$t)" >&2
        rm -f "$log"
        exit 1
    fi
    grep -E 'stat::number_of_executed_units' "$log" >&2 || true
done
rm -f "$log"
