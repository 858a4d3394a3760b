#!/usr/bin/env bash
# Compares two wirelog binaries on a shared, noisy machine: runs
# `bench memory` on the HTTP+DNS corpus mix with each in turn, N times, and
# prints each one's ns per frame (min, median, max) and the median of the
# paired ratios B/A, which cancels most of the drift between rounds.
#
#   scripts/bench-ab.sh N OLD_BINARY NEW_BINARY [bench memory options...]
#   scripts/bench-ab.sh 8 /tmp/wirelog-old target/release/wirelog --memory 1G
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,8p "$0"; exit 2; }
n=$1 a=$2 b=$3
shift 3
cd "$(dirname "$0")/.."
T=../shared/corpus/zeek/Traces
TR=("$T"/http/*.pcap "$T"/dns*.pcap "$T"/dns/*.pcap "$T"/wikipedia.pcap "$T"/workshop_2011_browse.pcap)
ra=() rb=() r=()
for _ in $(seq "$n"); do
    x=$("$a" bench memory "$@" "${TR[@]}" 2>/dev/null | jq .per_core.ns_per_frame)
    y=$("$b" bench memory "$@" "${TR[@]}" 2>/dev/null | jq .per_core.ns_per_frame)
    ra+=("$x") rb+=("$y") r+=("$(jq -n "$y / $x")")
done
stats() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "min %.3f median %.3f max %.3f (n=%d)\n", v[1], v[int((NR+1)/2)], v[NR], NR}'; }
echo "A ns/frame: $(stats "${ra[@]}")"
echo "B ns/frame: $(stats "${rb[@]}")"
echo "B/A paired: $(stats "${r[@]}")"
