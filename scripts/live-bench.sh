#!/usr/bin/env bash
# Captured packets/s on a veth: wlgen (PACKET_MMAP TX, qdisc bypass) puts
# seeded 64-byte TCP frames straight onto the mirror veth M for SECONDS
# while wirelog captures on its peer P; prints one JSON line with what was
# offered, what wirelog captured, the drops at each stage (the veth link
# itself, then wirelog's own), and the CPU seconds of each wirelog lane.
#
#   scripts/live-bench.sh SECONDS PPS WIRELOG-CAPTURE-ARGS...
#   scripts/live-bench.sh 10 0 --source afxdp --xdp-mode skb --poll busy
#
# PPS 0 sends as fast as the TX ring goes. Needs root; cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:?seconds}; pps=${2:?pps}; shift 2
id=$((150 + $$ % 40))
eval "$(scripts/testbed.sh env $id)"
out=$(mktemp -d /tmp/wl-bench-XXXX)
trap 'scripts/testbed.sh down $id; rm -rf "$out"' EXIT
scripts/testbed.sh up $id >/dev/null
wl=./target/release/wirelog gen=./target/release/wlgen
[ -x "$wl" ] && [ -x "$gen" ] || cargo build --release -q -p sensor -p benches
m_drops() {
  ip netns exec "$SRV" cat "/sys/class/net/$M_IF/statistics/tx_dropped"
}
scripts/testbed.sh sensor $id "$wl" capture -i "$P_IF" --records flow -o /dev/null "$@" \
  2>"$out/wl.err" &
wl_pid=$!
for _ in $(seq 100); do grep -q 'worker(s),' "$out/wl.err" 2>/dev/null && break; sleep 0.1; done
sleep 0.5
d0=$(m_drops)
ip netns exec "$SRV" "$gen" --iface "$M_IF" --seconds "$secs" --pps "$pps" --flows 10000 >"$out/gen.json"
sleep 1
d1=$(m_drops)
kill -INT $wl_pid
wait $wl_pid
summary=$(tail -1 "$out/wl.err")
jq -c -n --argjson gen "$(cat "$out/gen.json")" --argjson wl "$summary" --arg args "$*" \
  --argjson link $((d1 - d0)) '{
    args: $args,
    offered_pps: $gen.pps,
    sent: $gen.sent,
    seconds: $gen.seconds,
    link_dropped: $link,
    captured: $wl.frames,
    captured_pps: (($wl.frames / $gen.seconds) | round),
    wirelog_drops: $wl.drops,
    sources: $wl.sources,
    captures: [$wl.captures[] | {frames, cpu_s: ((.cpu_s * 100 | round) / 100), busy_fraction}],
    workers: [$wl.workers[] | {packets, cpu_s: ((.cpu_s * 100 | round) / 100), busy_fraction}]
  }'
