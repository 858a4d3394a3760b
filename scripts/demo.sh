#!/usr/bin/env bash
# The demo: builds wirelog, brings up the namespace testbed (client, server,
# and a sensor on an emulated SPAN port), drives real traffic (HTTP to a
# web server, ICMP, a UDP exchange), records the mirror port, replays the
# recording through wirelog over two workers and prints the flow records.
# Everything is removed afterwards, also on failure. Live AF_XDP capture on
# the mirror port replaces the recording step when it lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
command -v curl >/dev/null || { apt-get install -y -qq curl >/dev/null; }
command -v python3 >/dev/null || { apt-get install -y -qq python3 >/dev/null; }
cargo build --release -q
id=$((1 + $$ % 99))
eval "$(scripts/testbed.sh env $id)"
pcap=$(mktemp /tmp/wl-demo-XXXX.pcap)
www=$(mktemp -d /tmp/wl-www-XXXX)
trap 'scripts/testbed.sh down $id; rm -rf "$pcap" "$www"' EXIT
scripts/testbed.sh up $id
head -c 200000 /dev/urandom > "$www/blob.bin"
echo '<h1>wirelog demo</h1>' > "$www/index.html"
ip netns exec "$SRV" python3 -m http.server 8080 --bind "$SRV_IP" --directory "$www" >/dev/null 2>&1 &
ip netns exec "$SRV" python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(('$SRV_IP',5353))
while True:
    d,a=s.recvfrom(2048); s.sendto(d[::-1],a)" >/dev/null 2>&1 &
ip netns exec "$SEN" tcpdump -q -U -i "$P_IF" -w "$pcap" 2>/dev/null &
sleep 1
echo "demo: driving traffic from $CLI_IP to $SRV_IP" >&2
ip netns exec "$CLI" ping -c 3 -i 0.2 "$SRV_IP" >/dev/null
for p in / /index.html /blob.bin /missing; do
  ip netns exec "$CLI" curl -s -o /dev/null "http://$SRV_IP:8080$p" || true
done
for i in 1 2 3; do
  ip netns exec "$CLI" python3 -c "
import socket
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)
s.sendto(b'hello wirelog $i',('$SRV_IP',5353)); s.recv(100)"
done
sleep 0.5
ip netns pids "$SEN" | xargs -r kill
sleep 0.3
echo "demo: flow records (wirelog replay of the mirror port):" >&2
./target/release/wirelog replay --workers 2 "$pcap" \
  | jq -c '{src_ip, src_port, dst_ip, dst_port, proto, conn_state, history, src_pkts, dst_pkts, src_bytes, dst_bytes, rtt_server_us, app_response_avg_us, community_id}'
