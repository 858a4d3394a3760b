#!/usr/bin/env bash
# Issue 5's throughput figures on the HTTP+DNS corpus mix, in rounds: each
# round runs every configuration back to back (memory mode: metadata, flows
# only, 1 KiB bodies; replay of the 256-copy file: metadata, 1 KiB bodies),
# so a busy spell of this shared machine falls on all of them alike. Prints
# ns per frame of the worker's CPU (min / median / max) and Gbit/s per core
# of frame bytes at the median.
#
#   scripts/l7-rounds.sh N [BINARY]      (default target/release/wirelog)
#
# Builds /tmp/l7mix.pcap with corpus-mix when it is missing, drops it from
# the page cache and does one warm-up replay, which reads it back in.
set -euo pipefail
[ $# -ge 1 ] || { sed -n 2,12p "$0"; exit 2; }
n=$1
cd "$(dirname "$0")/.."
bin=$(realpath "${2:-target/release/wirelog}")
. scripts/bench-lib.sh
mix=/tmp/l7mix.pcap
if [ ! -s "$mix" ]; then
    cargo build --release -q -p benches --bin corpus-mix
    target/release/corpus-mix "$mix" 256 "${TR[@]}"
fi
mem() { "$bin" bench memory --memory 1G "$@" "${TR[@]}" 2>/dev/null | jq .per_core.ns_per_frame; }
# Bytes per frame of the mix (the file holds the same frames), for Gbit/s.
bpf=$("$bin" bench memory --memory 1G --records flow "${TR[@]}" 2>/dev/null | jq '.frame_bytes / .frames')
rep() { replay_ns "$bin" "$mix" "$@"; }
read_in "$bin" "$mix"
declare -A r
names=(memory_metadata memory_flows memory_1k_bodies replay_metadata replay_1k_bodies)
for _ in $(seq "$n"); do
    r[memory_metadata]+="$(mem) "
    r[memory_flows]+="$(mem --records flow) "
    r[memory_1k_bodies]+="$(mem --http-body-bytes 1K) "
    r[replay_metadata]+="$(rep) "
    r[replay_1k_bodies]+="$(rep --http-body-bytes 1K) "
done
for k in "${names[@]}"; do
    # shellcheck disable=SC2086
    printf '%s\n' ${r[$k]} | sort -g | awk -v k="$k" -v bpf="$bpf" '{v[NR]=$1} END {
        m = v[int((NR+1)/2)];
        printf "%-18s ns/frame %6.1f / %6.1f / %6.1f  median %.1f Gbit/s per core (n=%d)\n",
            k, v[1], m, v[NR], 8 * bpf / m, NR }'
done
