#!/usr/bin/env bash
# The demo: installs what is missing, builds wirelog, brings up the
# namespace testbed (client, server, and a sensor on an emulated SPAN port),
# starts real servers (nginx, dnsmasq, a TCP and a UDP echo), runs wirelog
# with AF_XDP on the mirror port and drives traffic (HTTP, DNS, ICMP, raw
# TCP and UDP) while the flow records print as they arrive. SIGINT then
# ends the capture: the flows still open are flushed, the summary printed.
# Everything is removed afterwards, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/testbed-session.sh
testbed_session 1 99 wl-demo

mkdir -p "$work/www"
head -c 300000 /dev/urandom > "$work/www/blob.bin"
echo '<h1>wirelog demo</h1>' > "$work/www/index.html"
cat > "$work/nginx.conf" <<EOF
user root; worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 64; }
http { access_log off; server { listen $SRV_IP:80; root $work/www; } }
EOF
ip netns exec "$SRV" nginx -p "$work/" -c "$work/nginx.conf" &
ip netns exec "$SRV" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address="$SRV_IP" --user=root --pid-file= --address=/demo.test/10.99.0.7 --local=/demo.test/ &
ip netns exec "$SRV" python3 -c "
import socket, threading
u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('$SRV_IP',5353))
def udp():
    while True:
        d,a=u.recvfrom(2048); u.sendto(d[::-1],a)
threading.Thread(target=udp,daemon=True).start()
t=socket.socket(); t.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); t.bind(('$SRV_IP',7000)); t.listen()
while True:
    c,_=t.accept(); c.sendall(c.recv(4096).upper()); c.close()" &
sleep 1

echo "demo: wirelog captures on $P_IF (AF_XDP); HTTP and DNS records print as transactions end, flow records as flows end" >&2
# Short close/idle timeouts so the demo's flows end while you watch.
scripts/testbed.sh sensor $id ./target/release/wirelog capture -i "$P_IF" --source afxdp \
  --tcp-close-timeout 1 --udp-idle-timeout 3 --icmp-idle-timeout 3 --sensor-name demo --out 'stdout?records=flow,http,dns' \
  > >(jq -c --unbuffered 'if .type == "http" then {type, src_ip, src_port, method, host, uri, status_code, response_body_len, latency_us, load_us}
      elif .type == "dns" then {type, src_ip, src_port, query, qtype_name, rcode_name, answers, latency_us}
      else {type, proto, src_ip, src_port, dst_ip, dst_port, conn_state, history, src_pkts, dst_pkts, src_bytes, dst_bytes, rtt_server_us, app_response_avg_us, reason} end') &
wl_pid=$!
sleep 2

echo "demo: driving traffic from $CLI_IP to $SRV_IP" >&2
ip netns exec "$CLI" ping -c 3 -i 0.2 "$SRV_IP" >/dev/null
for p in / /index.html /blob.bin /missing; do
  ip netns exec "$CLI" curl -s -o /dev/null "http://$SRV_IP$p" || true
done
ip netns exec "$CLI" dig @"$SRV_IP" +short www.demo.test api.demo.test >/dev/null
ip netns exec "$CLI" python3 -c "
import socket
for i in range(3):
    s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(1)
    s.sendto(b'hello wirelog %d' % i,('$SRV_IP',5353)); s.recv(100)
t=socket.create_connection(('$SRV_IP',7000)); t.sendall(b'raw tcp hello'); t.recv(100); t.close()"
sleep 5
echo "demo: stopping (SIGINT): open flows are flushed" >&2
kill -INT "$wl_pid"
wait "$wl_pid" || true
wl_pid=
sleep 0.5
