#!/usr/bin/env bash
# The demo: builds wirelog and replays a public capture (a 2011 browsing
# session from the Zeek corpus) over two workers, printing the flow records.
# Live capture on a namespace testbed replaces this when it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -q
trace=../shared/corpus/zeek/Traces/workshop_2011_browse.pcap
[ -f "$trace" ] || { echo "demo: $trace not found (../shared must sit beside the project)" >&2; exit 1; }
./target/release/wirelog replay --workers 2 "$trace" | jq -c '{ts, src_ip, src_port, dst_ip, dst_port, proto, conn_state, history, src_pkts, dst_pkts, src_bytes, dst_bytes, community_id}'
