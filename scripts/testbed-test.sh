#!/usr/bin/env bash
# Checks the testbed: traffic between client and server arrives on the
# sensor's mirror port in both directions, with real frame sizes, and the
# testbed leaves nothing behind. Needs root (CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then echo "testbed-test: skipped (not root)"; exit 0; fi
id=$((100 + $$ % 100))
eval "$(scripts/testbed.sh env $id)"
trap 'scripts/testbed.sh down $id' EXIT
scripts/testbed.sh up $id
pcap=$(mktemp /tmp/wl-testbed-XXXX.pcap)
ip netns exec "$SEN" tcpdump -q -U -i "$P_IF" -w "$pcap" 2>/dev/null &
dump=$!
sleep 1
ip netns exec "$CLI" ping -c 5 -i 0.2 -s 1400 "$SRV_IP" >/dev/null
sleep 0.5
kill $dump; wait $dump 2>/dev/null || true
req=$(tcpdump -nr "$pcap" "icmp[icmptype] == icmp-echo and src $CLI_IP" 2>/dev/null | wc -l)
rep=$(tcpdump -nr "$pcap" "icmp[icmptype] == icmp-echoreply and src $SRV_IP" 2>/dev/null | wc -l)
big=$(tcpdump -nr "$pcap" "greater 1515" 2>/dev/null | wc -l)
# The mirrored capture through wirelog: one ICMP flow, 5 packets and
# 5 x 1428 IP bytes each way.
flow=""
if [ -x target/debug/wirelog ]; then
  flow=$(target/debug/wirelog replay --no-pin -q "$pcap" | jq -c 'select(.proto=="icmp" and .src_ip=="'"$CLI_IP"'") | [.src_pkts,.src_bytes,.dst_pkts,.dst_bytes]')
fi
rm -f "$pcap"
if [ -n "$flow" ] && [ "$flow" != "[5,7140,5,7140]" ]; then echo "testbed-test: FAILED: wirelog saw $flow" >&2; exit 1; fi
echo "testbed-test: wirelog flow ${flow:-(binary not built)}"
echo "testbed-test: mirrored $req requests, $rep replies, $big frames over 1514 bytes"
[ "$req" = 5 ] && [ "$rep" = 5 ] && [ "$big" = 0 ] || { echo "testbed-test: FAILED" >&2; exit 1; }
scripts/testbed.sh down $id
trap - EXIT
left=$(ip netns list | grep -c "^wl$id-" || true)
[ "$left" = 0 ] || { echo "testbed-test: FAILED: namespaces left behind" >&2; exit 1; }
bash scripts/deploy-test.sh  # the Debian package and the systemd unit, run the way the unit runs it (issue 24)
echo "testbed-test: 1 passed, 0 failed"
