#!/usr/bin/env bash
# The soak: wirelog captures the testbed's mirror port (AF_XDP by default)
# for DURATION seconds (default 600) with every analyzer on, while the
# client namespace mixes real traffic (HTTP to nginx, DNS to dnsmasq) with
# hostile traffic: malformed frames of every layer, floods of new flows
# (SYNs from random ports and spoofed addresses), oversized messages (HTTP
# heads of 64 KiB, DNS over TCP with an impossible length, garbage on the
# DNS port). Every 2 s it samples wirelog's resident size. It passes when
# wirelog ran to the end and exited 0 on SIGINT, its peak resident size
# stayed under the budget plus what the process held before the budget
# (both printed at start and in the summary), and every drop is counted in
# the summary. Not part of scripts/test.sh (it takes the whole duration):
#
#   bash scripts/soak.sh [DURATION] [-- capture options]
#
# Traffic stays inside the namespaces it makes; they are removed at the end,
# also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600}
shift || true
[ "${1:-}" = "--" ] && shift
extra=("$@")
. scripts/testbed-session.sh
testbed_session 100 50 wl-soak

mkdir -p "$work/www"
head -c 300000 /dev/urandom > "$work/www/blob.bin"
for i in $(seq 1 2000); do echo "wirelog soak line $i"; done > "$work/www/text.txt"
cat > "$work/nginx.conf" <<EOF
user root; worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/error.log;
events { worker_connections 1024; }
http { access_log off; gzip on; gzip_types text/plain; server { listen $SRV_IP:80; root $work/www; } }
EOF
ip netns exec "$SRV" nginx -p "$work/" -c "$work/nginx.conf" &
ip netns exec "$SRV" dnsmasq -k --conf-file=/dev/null --no-resolv --no-hosts --bind-interfaces \
  --listen-address="$SRV_IP" --user=root --pid-file= --address=/soak.test/10.99.0.7 --local=/soak.test/ &
sleep 1

scripts/testbed.sh sensor $id ./target/release/wirelog capture -i "$P_IF" \
  --stats-interval 10 --sensor-name soak -o /dev/null --out "file:$work/stats.json?records=stats" \
  "${extra[@]}" 2> "$work/wirelog.err" &
wl_pid=$!
for _ in $(seq 1 100); do
  grep -q "worker(s)," "$work/wirelog.err" 2>/dev/null && break
  sleep 0.1
done
grep -q "worker(s)," "$work/wirelog.err" || { cat "$work/wirelog.err" >&2; echo "soak: wirelog did not start" >&2; exit 1; }
grep "wirelog: memory:" "$work/wirelog.err" >&2

end=$(( $(date +%s) + duration ))
# Real traffic: HTTP (small, 300 KB, gzip), DNS.
( while [ "$(date +%s)" -lt $end ]; do
    ip netns exec "$CLI" curl -s -o /dev/null "http://$SRV_IP/blob.bin" || true
    ip netns exec "$CLI" curl -s --compressed -o /dev/null "http://$SRV_IP/text.txt" || true
    ip netns exec "$CLI" dig @"$SRV_IP" +short +tries=1 +time=1 a$RANDOM.soak.test >/dev/null || true
  done ) &
# Hostile traffic from the client's veth, raw frames, bounded by $end.
ip netns exec "$CLI" /usr/bin/env python3 - "$C_IF" "$CLI_IP" "$SRV_IP" "$end" <<'PY' &
import os, random, socket, struct, sys, time
ifname, cli, srv, end = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
dmac = b"\x02\x00\x00\x00\x00\x02"
smac = b"\x02\x00\x00\x00\x00\x01"
cs = lambda b: (lambda x: ~((x & 0xffff) + (x >> 16)) & 0xffff)(sum(struct.unpack("!%dH" % (len(b) // 2), b + b"\0" * (len(b) % 2))))
def ip4(src, dst, proto, payload, ihl=5, tot=None, frag=0x4000):
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot if tot is not None else 20 + len(payload), random.randrange(65536), frag, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", cs(h)) + h[12:] + payload
def eth(p, et=0x0800):
    return dmac + smac + struct.pack("!H", et) + p
net = srv.rsplit(".", 1)[0]
sent = 0
while time.time() < end:
    for _ in range(200):
        k = random.randrange(8)
        if k == 0:   # a SYN from a random port and spoofed address: a new flow
            src = "%s.%d" % (net, random.randrange(3, 250))
            tcp = struct.pack("!HHIIBBHHH", random.randrange(1024, 65535), 80, random.randrange(1 << 32), 0, 0x50, 0x02, 1024, 0, 0)
            f = eth(ip4(src, srv, 6, tcp))
        elif k == 1:  # truncated IPv4 header
            f = eth(os.urandom(random.randrange(0, 19)))
        elif k == 2:  # bogus IHL and total length
            f = eth(ip4(cli, srv, 6, os.urandom(30), ihl=random.choice([1, 4, 15]), tot=random.choice([0, 3, 65535])))
        elif k == 3:  # TCP with a data offset below 5, or beyond the segment
            tcp = struct.pack("!HHIIBBHHH", 4000, 80, 1, 0, random.choice([0x10, 0xf0]), 0x18, 1024, 0, 0) + os.urandom(8)
            f = eth(ip4(cli, srv, 6, tcp))
        elif k == 4:  # IPv6 with a payload length past the frame
            f = eth(struct.pack("!IHBB", 0x60000000, 60000, 17, 64) + os.urandom(32) + os.urandom(16), 0x86dd)
        elif k == 5:  # a tower of VLAN tags
            f = dmac + smac + b"\x81\x00\x00\x05" * 20 + b"\x08\x00" + os.urandom(40)
        elif k == 6:  # garbage to the DNS port, and fragments that never complete
            f = eth(ip4(cli, srv, 17, struct.pack("!HHHH", 5353, 53, 8 + 40, 0) + os.urandom(40)))
            s.send(f)
            f = eth(ip4(cli, srv, 17, os.urandom(64), frag=0x2000 | random.randrange(1, 100)))
        else:         # random bytes of a random length
            f = os.urandom(random.randrange(14, 1514))
        try:
            s.send(f)
            sent += 1
        except OSError:
            pass
    time.sleep(0.02)
print("hostile frames sent:", sent, file=sys.stderr)
PY
# Oversized messages: HTTP heads of 64 KiB, DNS over TCP with an impossible
# length and a truncated message.
ip netns exec "$CLI" /usr/bin/env python3 - "$SRV_IP" "$end" <<'PY' &
import socket, struct, sys, time
srv, end = sys.argv[1], int(sys.argv[2])
while time.time() < end:
    try:
        c = socket.create_connection((srv, 80), timeout=2)
        c.sendall(b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 65536 + b"\r\n\r\n")
        c.recv(65536)
        c.close()
    except OSError:
        pass
    try:
        d = socket.create_connection((srv, 53), timeout=2)
        d.sendall(struct.pack("!H", 65535) + b"\x12\x34" + b"\x01\x00" * 100)
        d.close()
    except OSError:
        pass
    time.sleep(0.05)
PY

peak=0
while [ "$(date +%s)" -lt $end ]; do
  kill -0 $wl_pid 2>/dev/null || { cat "$work/wirelog.err" >&2; echo "soak: wirelog died" >&2; exit 1; }
  pid=$(pgrep -f "wirelog capture -i $P_IF" | head -1)
  rss=$(awk '/VmRSS/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
  [ "${rss:-0}" -gt "$peak" ] && peak=$rss
  sleep 2
done
wait_jobs=$(jobs -p | grep -v "^$wl_pid$" || true)
kill -INT $wl_pid
wait $wl_pid
status=$?
wl_pid=
summary=$(tail -1 "$work/wirelog.err")
echo "$summary" | jq -c '{frames, packets, records, malformed, drops, flows_created, flows_evicted, peak_rss_bytes, memory_budget_bytes, rss_before_budget_bytes, app: {http: .app.http, dns: .app.dns, http_errors: .app.http_errors, dns_errors: .app.dns_errors, sessions_full: .app.sessions_full}}'
budget=$(echo "$summary" | jq .memory_budget_bytes)
before=$(echo "$summary" | jq .rss_before_budget_bytes)
hwm=$(echo "$summary" | jq .peak_rss_bytes)
echo "soak: ${duration} s; exit $status; peak RSS $((hwm >> 20)) MiB (sampled peak $((peak >> 10)) MiB); budget $((budget >> 20)) MiB + $((before >> 20)) MiB held before it; $(wc -l < "$work/stats.json") stats records"
[ "$status" = 0 ] || { echo "soak: wirelog exited $status" >&2; exit 1; }
[ "$hwm" -le $((budget + before)) ] || { echo "soak: peak RSS over the budget plus the overhead printed at start" >&2; exit 1; }
echo "soak: passed"
