#!/usr/bin/env bash
# Compares two wirelog binaries on a shared, noisy machine: runs
# `bench memory` on the HTTP+DNS corpus mix with each in turn, N times, and
# prints each one's ns per frame (min, median, max) and the median of the
# paired ratios B/A, which cancels most of the drift between rounds.
# With --replay FILE it replays FILE instead (`replay --memory 1G`, the
# worker's CPU over frames), in ABBA order, after dropping FILE from the
# page cache and one warm-up replay that reads it back in (in huge folios,
# as from disk; the first replay after an idle spell is biased too).
#
#   scripts/bench-ab.sh N OLD_BINARY NEW_BINARY [bench memory options...]
#   scripts/bench-ab.sh N OLD_BINARY NEW_BINARY --replay FILE
#   scripts/bench-ab.sh 8 /tmp/wirelog-old target/release/wirelog --memory 1G
#   scripts/bench-ab.sh 20 /tmp/wirelog-old target/release/wirelog --replay /tmp/l7mix.pcap
set -euo pipefail
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 2; }
[ $# -ge 3 ] || usage
n=$1 a=$2 b=$3
shift 3
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
file=
if [ "${1:-}" = --replay ]; then
    [ $# -eq 2 ] || usage
    file=$2
    run() { replay_ns "$1" "$file"; }
    read_in "$a" "$file"
else
    run() { "$1" bench memory "${@:2}" "${TR[@]}" 2>/dev/null | jq .per_core.ns_per_frame; }
fi
ra=() rb=() r=()
for i in $(seq "$n"); do
    # One assignment a line: `set -e` sees each run's status.
    if [ -n "$file" ] && [ $((i % 2)) = 0 ]; then
        y=$(run "$b")
        x=$(run "$a")
    elif [ -n "$file" ]; then
        x=$(run "$a")
        y=$(run "$b")
    else
        x=$(run "$a" "$@")
        y=$(run "$b" "$@")
    fi
    ra+=("$x") rb+=("$y") r+=("$(jq -n "$y / $x")")
done
stats() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "min %.3f median %.3f max %.3f (n=%d)\n", v[1], v[int((NR+1)/2)], v[NR], NR}'; }
echo "A ns/frame: $(stats "${ra[@]}")"
echo "B ns/frame: $(stats "${rb[@]}")"
echo "B/A paired: $(stats "${r[@]}")"
