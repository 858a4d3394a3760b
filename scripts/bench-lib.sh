# Sourced by bench-ab.sh and l7-rounds.sh, from the project's root: the
# traces of issue 5's HTTP+DNS corpus mix, and replay timing.
# shellcheck shell=bash

T=../shared/corpus/zeek/Traces
TR=("$T"/http/*.pcap "$T"/dns*.pcap "$T"/dns/*.pcap "$T"/wikipedia.pcap "$T"/workshop_2011_browse.pcap)

# replay_ns BIN FILE [OPTION...]: the worker's CPU per frame replaying FILE,
# in ns.
replay_ns() {
    "$1" replay --memory 1G -o /dev/null "${@:3}" "$2" 2>&1 | tail -1 | jq '.worker_cpu_s[0] * 1e9 / .frames'
}

# read_in BIN FILE: drops FILE from the page cache and replays it once, so
# it is read back in through wirelog's mapping, in huge folios, as a
# capture file from disk is. A file written moments before (by corpus-mix,
# say) sits in 4 KiB pages and replays ~15 % slower (docs/benchmarks.md).
read_in() {
    sync "$2"
    dd if="$2" iflag=nocache count=0 status=none
    replay_ns "$1" "$2" >/dev/null
}
