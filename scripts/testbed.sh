#!/usr/bin/env bash
# The namespace testbed: a client and a server joined by a veth pair, and a
# sensor namespace receiving a SPAN copy of both directions of the server's
# veth (tc mirred onto a dedicated veth pair, offloads off on it; see
# ../shared/TESTBED.md). Traffic stays inside the namespaces made here.
#
#   scripts/testbed.sh up   [ID]   create (ID: 1-200, default 1; MIRROR_QUEUES=N
#                                  gives the mirror link N queues)
#   scripts/testbed.sh down [ID]   remove (idempotent)
#   scripts/testbed.sh env  [ID]   print the names and addresses as shell variables
#   scripts/testbed.sh sensor ID CMD...  run CMD in the sensor namespace
#                                  (exec: same pid)
#
# Namespaces: wl<ID>-cli (10.<ID>.0.1), wl<ID>-srv (10.<ID>.0.2), wl<ID>-sen
# (mirror port wl<ID>p). Callers run `down` from a trap so a failure cleans up.
set -euo pipefail

cmd=${1:-}
id=${2:-1}
[[ "$id" =~ ^[0-9]+$ ]] && (( id >= 1 && id <= 200 )) || { echo "testbed: ID must be 1-200" >&2; exit 2; }

CLI=wl$id-cli SRV=wl$id-srv SEN=wl$id-sen
C_IF=wl${id}c S_IF=wl${id}s M_IF=wl${id}m P_IF=wl${id}p
NET=10.$id.0
CLI_IP=$NET.1 SRV_IP=$NET.2

down() {
  for ns in "$CLI" "$SRV" "$SEN"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  [ "$(id -u)" = 0 ] || { echo "testbed: must run as root" >&2; exit 1; }
  command -v ethtool >/dev/null || { echo "testbed: ethtool missing (scripts/setup.sh installs it)" >&2; exit 1; }
  down
  trap 'down' ERR
  for ns in "$CLI" "$SRV" "$SEN"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  ip link add "$C_IF" netns "$CLI" type veth peer name "$S_IF" netns "$SRV"
  # MIRROR_QUEUES (default 1) queues on the mirror link: M spreads flows over
  # its TX queues, which become P's RX queues (a multi-queue capture NIC).
  local q=${MIRROR_QUEUES:-1}
  ip link add "$M_IF" netns "$SRV" numtxqueues "$q" numrxqueues "$q" type veth \
    peer name "$P_IF" netns "$SEN" numtxqueues "$q" numrxqueues "$q"
  ip -n "$CLI" addr add "$CLI_IP/24" dev "$C_IF"
  ip -n "$SRV" addr add "$SRV_IP/24" dev "$S_IF"
  for x in "$CLI $C_IF" "$SRV $S_IF" "$SRV $M_IF" "$SEN $P_IF"; do
    set -- $x
    ip -n "$1" link set "$2" up
  done
  # Real frame sizes and checksums on the mirror (GSO super-frames otherwise).
  ip netns exec "$SRV" ethtool -K "$M_IF" tso off gso off tx off >/dev/null
  ip netns exec "$CLI" ethtool -K "$C_IF" tso off gso off >/dev/null
  ip netns exec "$SRV" ethtool -K "$S_IF" tso off gso off >/dev/null
  # A queue in front of the mirror link: veth pushes back into a qdisc when
  # the receiver's ring (256 frames under native XDP) is full, instead of
  # dropping; veth's default noqueue has nowhere to push back to.
  tc -n "$SRV" qdisc replace dev "$M_IF" root pfifo limit 10000
  # The mirror port takes everything, and answers nothing.
  ip -n "$SEN" link set "$P_IF" promisc on
  ip netns exec "$SEN" sysctl -qw "net.ipv6.conf.$P_IF.disable_ipv6=1"
  ip netns exec "$SRV" sysctl -qw "net.ipv6.conf.$M_IF.disable_ipv6=1"
  tc -n "$SRV" qdisc add dev "$S_IF" clsact
  tc -n "$SRV" filter add dev "$S_IF" ingress protocol all u32 match u32 0 0 action mirred egress mirror dev "$M_IF"
  tc -n "$SRV" filter add dev "$S_IF" egress protocol all u32 match u32 0 0 action mirred egress mirror dev "$M_IF"
  trap - ERR
}

case "$cmd" in
  up) up ;;
  down) down ;;
  env)
    echo "CLI=$CLI SRV=$SRV SEN=$SEN C_IF=$C_IF S_IF=$S_IF M_IF=$M_IF P_IF=$P_IF CLI_IP=$CLI_IP SRV_IP=$SRV_IP"
    ;;
  sensor)
    shift 2
    # wirelog's XDP program is attached through a link it pins nowhere: no
    # bpffs is needed in the namespace's view.
    exec ip netns exec "$SEN" "$@"
    ;;
  *) echo "usage: $0 up|down|env [ID] | sensor ID CMD..." >&2; exit 2 ;;
esac
