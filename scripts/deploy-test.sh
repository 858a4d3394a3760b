#!/usr/bin/env bash
# The deployment proof (issue 24): builds the Debian package, checks what it
# holds, installs it, verifies the systemd unit, and runs the installed
# binary the way the unit runs it (its user and group, only its
# capabilities, its umask, no-new-privs, LimitMEMLOCK if it sets one: every
# one read from the installed unit, so a change to the unit changes this
# test) on the mirror port of the namespace testbed, with real HTTP and
# ICMP traffic; AF_XDP and AF_PACKET. Then the same without each of the
# unit's capabilities (each refused with its one-line error: none is
# granted that is not needed), the system calls, socket families and
# written paths of a capture against the unit's SystemCallFilter,
# RestrictAddressFamilies and ProtectSystem, and a purge that leaves nothing.
#
# PID 1 here is not systemd, so the unit is never started: setpriv and
# prlimit stand in for it. Needs root; leaves the machine as it found it
# (a trap purges the package and removes the testbed, also on failure).
#
#   scripts/deploy-test.sh            build the package, then test it
#   WIRELOG_BIN=PATH scripts/deploy-test.sh   package a binary already built
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "$(id -u)" != 0 ]; then echo "deploy-test: skipped (not root)"; exit 0; fi

fail() { echo "deploy-test: FAILED: $*" >&2; exit 1; }
ok() { echo "deploy-test: ok: $*"; }
note() { echo "deploy-test: note: $*"; }
for t in systemd-analyze dpkg-deb setpriv prlimit capsh strace jq curl ip lintian; do
  command -v "$t" >/dev/null || fail "$t is missing (scripts/setup.sh installs it)"
done
[ -x /usr/bin/python3 ] || fail "/usr/bin/python3 is missing"

# Never touch an installation that was here before.
if dpkg-query -W -f='${Status}' wirelog 2>/dev/null | grep -q installed; then
  fail "a wirelog package is installed on this machine: this test installs and purges its own; remove it first"
fi
getent passwd wirelog >/dev/null && fail "a user wirelog exists already; this test would remove it"
[ -e /etc/wirelog ] && fail "/etc/wirelog exists already; this test would remove it"
[ -e /var/log/wirelog ] && fail "/var/log/wirelog exists already; this test would remove it"

id=$((80 + $$ % 20))
eval "$(scripts/testbed.sh env $id)"
tmp=$(mktemp -d /tmp/wl-deploy-XXXXXX)
chmod 0755 "$tmp"
installed=0
pids=()
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/testbed.sh down $id || true
  if [ $installed = 1 ]; then dpkg --purge wirelog >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
  [ $rc = 0 ] || echo "deploy-test: FAILED (cleaned up)" >&2
}
trap cleanup EXIT
# Any command that fails outside a check says where, before the cleanup.
set -E
trap 'echo "deploy-test: FAILED: line $LINENO: $BASH_COMMAND" >&2' ERR

# --- 1. the package ---------------------------------------------------------
deb=$(scripts/build-deb.sh | tail -1)
[ -f "$deb" ] || fail "build-deb.sh made no package"
version=$(cargo metadata --no-deps --format-version 1 | jq -r '.packages[] | select(.name == "sensor") | .version')
arch=$(dpkg --print-architecture)
[ "$(basename "$deb")" = "wirelog_${version}_${arch}.deb" ] || fail "package named $(basename "$deb"), not wirelog_${version}_${arch}.deb"
field() { dpkg-deb --field "$deb" "$1"; }
[ "$(field Package)" = wirelog ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version $(field Version), the crate's is $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture $(field Architecture)"
for d in adduser libc6 libelf1 zlib1g; do
  field Depends | grep -q "\b$d\b" || fail "Depends lacks $d: $(field Depends)"
done
dpkg-deb --info "$deb" conffiles >"$tmp/conffiles"
printf '/etc/wirelog/wirelog.toml\n/etc/wirelog/profile.toml\n' | cmp -s - "$tmp/conffiles" ||
  fail "conffiles are $(tr '\n' ' ' <"$tmp/conffiles")"
for s in postinst prerm postrm; do dpkg-deb --info "$deb" "$s" >/dev/null || fail "no $s script"; done
dpkg-deb --contents "$deb" >"$tmp/contents"
expect=(
  "-rwxr-xr-x root/root ./usr/bin/wirelog"
  "-rw-r--r-- root/root ./lib/systemd/system/wirelog.service"
  "-rw-r--r-- root/root ./etc/wirelog/wirelog.toml"
  "-rw-r--r-- root/root ./etc/wirelog/profile.toml"
  "-rw-r--r-- root/root ./usr/share/man/man1/wirelog.1.gz"
  "-rw-r--r-- root/root ./usr/share/doc/wirelog/copyright"
  "-rw-r--r-- root/root ./usr/share/doc/wirelog/changelog.gz"
  "-rw-r--r-- root/root ./usr/share/doc/wirelog/schema.md"
  "-rw-r--r-- root/root ./usr/share/doc/wirelog/README.md"
)
for p in tuning/profiles/*.toml; do expect+=("-rw-r--r-- root/root ./usr/share/wirelog/profiles/$(basename "$p")"); done
for p in docs/deploy/*.md; do expect+=("-rw-r--r-- root/root ./usr/share/doc/wirelog/deploy/$(basename "$p")"); done
for e in "${expect[@]}"; do
  set -- $e
  awk -v m="$1" -v o="$2" -v p="$3" '$1==m && $2==o && $6==p {f=1} END {exit !f}' "$tmp/contents" ||
    fail "the package lacks $3 with mode $1 owner $2"
done
files=$(grep -c '^-' "$tmp/contents")
[ "$files" = "${#expect[@]}" ] || fail "the package holds $files files, ${#expect[@]} expected: $(awk '/^-/ {print $6}' "$tmp/contents" | tr '\n' ' ')"
# lintian as an unprivileged user (it warns against root), warnings fail.
cp "$deb" "$tmp/"
setpriv --reuid nobody --regid nogroup --clear-groups env HOME="$tmp" \
  lintian --fail-on warning "$tmp/$(basename "$deb")" >"$tmp/lintian" 2>&1 ||
  fail "lintian: $(cat "$tmp/lintian")"
ok "package $(basename "$deb"): $files files, conffiles, maintainer scripts, Depends: $(field Depends); lintian clean at warning level"

# --- 2. installed -----------------------------------------------------------
installed=1
dpkg -i "$deb" >"$tmp/dpkg-i" 2>&1 || fail "dpkg -i: $(cat "$tmp/dpkg-i")"
for e in "${expect[@]}"; do
  set -- $e
  p=${3#.}
  [ -f "$p" ] || fail "$p not installed"
  [ "$(stat -c '%A %U:%G' "$p")" = "$1 root:root" ] || fail "$p is $(stat -c '%A %U:%G' "$p")"
done
cmp -s /etc/wirelog/wirelog.toml deploy/wirelog.toml || fail "/etc/wirelog/wirelog.toml differs from deploy/wirelog.toml"
cmp -s /etc/wirelog/profile.toml "tuning/profiles/${WIRELOG_PROFILE:-cloud-2vcpu.toml}" || fail "/etc/wirelog/profile.toml is not the default profile"
for c in /etc/wirelog/wirelog.toml /etc/wirelog/profile.toml; do
  dpkg-query -W -f='${Conffiles}\n' wirelog | grep -q "^ $c [0-9a-f]\{32\}$" || fail "$c is not a registered conffile"
done
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd wirelog) || fail "no user wirelog"
[ "$uid" -lt 1000 ] || fail "wirelog is uid $uid, not a system user"
[ "$(getent group wirelog | cut -d: -f3)" = "$gid" ] || fail "wirelog's primary group is not group wirelog"
[ "$home" = /nonexistent ] || fail "wirelog's home is $home"
case "$shell" in */nologin|*/false) ;; *) fail "wirelog's shell is $shell" ;; esac
[ "$(stat -c '%U:%G %a' /var/log/wirelog)" = "wirelog:wirelog 750" ] || fail "/var/log/wirelog is $(stat -c '%U:%G %a' /var/log/wirelog)"
ok "installed: files root-owned with their modes, conffiles registered, system user wirelog (uid $uid, $shell), /var/log/wirelog wirelog:wirelog 750"

# --- 3. the unit ------------------------------------------------------------
unit=/lib/systemd/system/wirelog.service
# Clean = exit 0 and nothing said: verify reports unknown keys and bad
# values as warnings with exit 0.
verify_clean() { local o; o=$(systemd-analyze verify "$1" 2>&1) && [ -z "$o" ] || { echo "$o"; return 1; }; }
out=$(verify_clean "$unit") || fail "systemd-analyze verify $unit: $out"
mkdir -p "$tmp/bad1" "$tmp/bad2"
sed 's/^ProtectSystem=/ProtectSystm=/' "$unit" >"$tmp/bad1/wirelog.service"
out=$(verify_clean "$tmp/bad1/wirelog.service") && fail "verify took a unit with a misspelt key"
echo "$out" | grep -q "Unknown key" || fail "verify of a misspelt key said: $out"
sed 's#^ExecStart=/usr/bin/wirelog #ExecStart=/usr/bin/wirelog-missing #' "$unit" >"$tmp/bad2/wirelog.service"
grep -q wirelog-missing "$tmp/bad2/wirelog.service" || fail "could not break ExecStart"
out=$(verify_clean "$tmp/bad2/wirelog.service") && fail "verify took a unit whose binary is missing"
echo "$out" | grep -q "is not executable" || fail "verify of a missing binary said: $out"
ok "systemd-analyze verify: the installed unit is clean; a misspelt key and a missing binary are refused"

# The unit's settings (a key given twice: lists accumulate, scalars: the last wins).
all() { sed -n "s/^$1=//p" "$unit" | paste -sd' ' -; }
last() { sed -n "s/^$1=//p" "$unit" | tail -1; }
user=$(last User); group=$(last Group)
[ -n "$user" ] && [ -n "$group" ] || fail "the unit names no User= and Group="
ambient=$(all AmbientCapabilities); bounding=$(all CapabilityBoundingSet)
[ -n "$ambient" ] || fail "the unit grants no capability"
setcaps() { local s="-all" c; for c in $1; do c=${c,,}; s+=",+${c#cap_}"; done; echo "$s"; }
[ "$(setcaps "$ambient")" = "$(setcaps "$bounding")" ] || fail "ambient ($ambient) and bounding ($bounding) sets differ"
# LimitMEMLOCK, when the unit sets one, is applied with prlimit; without it
# the service gets the manager's default, as the capture here gets the
# limit this shell has.
memlock=$(last LimitMEMLOCK)
case "$memlock" in
  '') ;;
  infinity) memlock=unlimited ;;
  *[0-9]K) memlock=$(( ${memlock%K} << 10 )) ;;
  *[0-9]M) memlock=$(( ${memlock%M} << 20 )) ;;
  *[0-9]G) memlock=$(( ${memlock%G} << 30 )) ;;
  *[!0-9]*) fail "LimitMEMLOCK=$memlock: not understood here" ;;
esac
umask_=$(last UMask); umask_=${umask_:-0022}
nnp=(); [ "$(last NoNewPrivileges)" = yes ] && nnp=(--no-new-privs)
read -r -a execstart <<<"$(last ExecStart)"
[ "${execstart[0]}" = /usr/bin/wirelog ] || fail "ExecStart runs ${execstart[0]}"
pre=$(last ExecStartPre)
[ "${pre:0:1}" = - ] || fail "ExecStartPre is not marked '-': a finding would block the start"
read -r -a execpre <<<"${pre#-}"
note "the unit's way: user $user:$group, capabilities $ambient (bounding the same), LimitMEMLOCK=${memlock:-unset, here $(ulimit -Hl) KiB}, UMask=$umask_, ${nnp[*]:-} ExecStart=${execstart[*]}"

# The administrator enables the unit (what `systemctl enable` does, without
# a running systemd: the [Install] link); the purge must remove it.
systemctl --root=/ enable wirelog.service >"$tmp/enable" 2>&1 || fail "systemctl --root=/ enable: $(cat "$tmp/enable")"
[ -L /etc/systemd/system/multi-user.target.wants/wirelog.service ] || fail "enable made no link"

# The operator's one edit: the mirror port.
grep -c '^interface = ' /etc/wirelog/wirelog.toml | grep -qx 1 || fail "the config has not exactly one interface line"
sed -i "s/^interface = .*/interface = \"$P_IF\"/" /etc/wirelog/wirelog.toml
records=/var/log/wirelog/wirelog.json

# run_unit NAME CAPS MEMLOCK ARGS...: the unit's command with ARGS added, in
# the sensor namespace, as the unit runs it (MEMLOCK empty: the limit this
# shell has); stdout/stderr in $tmp/NAME.*. Sets $wl (the pid: every step
# execs in place, so it is wirelog's).
run_unit() {
  local name=$1 caps=$2 ml=$3; shift 3
  local limit=()
  [ -z "$ml" ] || limit=(prlimit --memlock="$ml:$ml")
  ( cd / && exec ip netns exec "$SEN" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      "${limit[@]}" \
      sh -c 'umask "$0" && exec "$@"' "$umask_" \
      setpriv --reuid "$user" --regid "$group" --init-groups "${nnp[@]}" \
        --inh-caps "$caps" --ambient-caps "$caps" --bounding-set "$caps" -- \
        "$@" ) >"$tmp/$name.out" 2>"$tmp/$name.err" &
  wl=$!
  pids+=("$wl")
}
# Waits until the capture said it runs (or ended).
wait_ready() {
  local i
  for i in $(seq 100); do
    grep -q 'worker(s),' "$tmp/$1.err" 2>/dev/null && return 0
    kill -0 "$wl" 2>/dev/null || fail "$1: wirelog ended at start: $(cat "$tmp/$1.err")"
    sleep 0.1
  done
  fail "$1: wirelog did not start in 10 s: $(cat "$tmp/$1.err")"
}
# Ends the capture with SIGTERM, as systemd stops it; exit code must be 0.
stop() {
  kill -TERM "$wl" || fail "$1: wirelog was gone before SIGTERM: $(tail -5 "$tmp/$1.err")"
  local rc=0
  wait "$wl" || rc=$?
  [ $rc = 0 ] || fail "$1: wirelog exited $rc after SIGTERM: $(tail -5 "$tmp/$1.err")"
}
unit_caps=$(setcaps "$ambient")

scripts/testbed.sh up $id

# The wrapper itself: wirelog runs under it, as the unit's user.
run_unit version "$unit_caps" "$memlock" /usr/bin/wirelog --version
rc=0; wait "$wl" || rc=$?
[ $rc = 0 ] || fail "the unit's way of running wirelog fails: $(cat "$tmp/version.err")"

# --- 4. ExecStartPre: `tune check` ----------------------------------------------
run_unit pre "$unit_caps" "$memlock" "${execpre[@]}"
rc=0; wait "$wl" || rc=$?
# It must be able to check as the unit's user: exit 0 (nothing wrong) or 1
# (findings printed); 2 would mean it could not read what it checks.
[ $rc -le 1 ] || fail "ExecStartPre '${execpre[*]}' exited $rc (0 or 1 expected): $(cat "$tmp/pre.err")"
grep -q "^wirelog tune check: $P_IF, profile " "$tmp/pre.out" || fail "ExecStartPre printed no check summary: $(cat "$tmp/pre.out" "$tmp/pre.err")"
ok "ExecStartPre '${execpre[*]}' ran as $user with the unit's capabilities: exit $rc, $(head -1 "$tmp/pre.out")"

# --- 5. capture the way the unit runs it ----------------------------------------
ip netns exec "$SRV" /usr/bin/python3 -m http.server 8000 --bind "$SRV_IP" --directory "$tmp" >/dev/null 2>&1 &
pids+=($!)
for i in $(seq 50); do
  ip netns exec "$CLI" curl -s -o /dev/null "http://$SRV_IP:8000/" && break
  sleep 0.1
done
echo hello >"$tmp/hello.txt"

# traffic NAME: five HTTP connections and three pings from the client; the
# clients' own account of them (local ports) is the oracle.
traffic() {
  : >"$tmp/$1.ports"
  for i in 1 2 3 4 5; do
    ip netns exec "$CLI" curl -sS -o /dev/null -w '%{local_port} %{http_code}\n' \
      "http://$SRV_IP:8000/hello.txt" >>"$tmp/$1.ports" || fail "$1: curl failed"
  done
  ip netns exec "$CLI" ping -q -c 3 -i 0.2 "$SRV_IP" >/dev/null || fail "$1: ping failed"
  awk '$2 != 200 {exit 1}' "$tmp/$1.ports" || fail "$1: a request did not get 200: $(cat "$tmp/$1.ports")"
  sleep 1  # the mirror's last frames reach the capture
}

# check NAME: the records of that run, in the service's record file.
check() {
  local name=$1 port n
  [ -f "$records" ] || fail "$name: no $records"
  [ "$(stat -c '%U:%G %a' "$records")" = "$user:$group $(printf '%o' $((0666 & ~8#$umask_)))" ] ||
    fail "$name: $records is $(stat -c '%U:%G %a' "$records") (the unit's user and UMask expected)"
  jq -e . "$records" >/dev/null || fail "$name: $records is not JSON lines"
  while read -r port _; do
    n=$(jq -c --arg c "$CLI_IP" --arg s "$SRV_IP" --argjson p "$port" \
      'select(.type=="flow" and .src_ip==$c and .src_port==$p and .dst_ip==$s and .dst_port==8000 and .proto=="tcp" and .conn_state=="SF")' \
      "$records" | wc -l)
    [ "$n" = 1 ] || fail "$name: $n SF flow records for $CLI_IP:$port -> $SRV_IP:8000 (1 expected)"
    n=$(jq -c --arg c "$CLI_IP" --argjson p "$port" \
      'select(.type=="http" and .src_ip==$c and .src_port==$p and .method=="GET" and .uri=="/hello.txt" and .status_code==200)' \
      "$records" | wc -l)
    [ "$n" = 1 ] || fail "$name: $n http records for $CLI_IP:$port GET /hello.txt 200 (1 expected)"
  done <"$tmp/$name.ports"
  n=$(jq -c --arg c "$CLI_IP" --arg s "$SRV_IP" \
    'select(.type=="flow" and .proto=="icmp" and .src_ip==$c and .dst_ip==$s and .src_pkts==3 and .dst_pkts==3)' \
    "$records" | wc -l)
  [ "$n" = 1 ] || fail "$name: $n ICMP flows of 3 echo requests and 3 replies (1 expected)"
  local st
  st=$(jq -c 'select(.type=="stats")' "$records" | tail -1)
  [ -n "$st" ] || fail "$name: no stats record in $records"
  [ "$(jq '.drops.total' <<<"$st")" = 0 ] || fail "$name: drops in the final stats record: $(jq -c .drops <<<"$st")"
  grep -q '"type":"stats"' "$tmp/$name.out" || fail "$name: no stats record on stdout (the journal)"
  [ "$(grep -vc '"type":"stats"' "$tmp/$name.out")" = 0 ] || fail "$name: stdout (the journal) got other records than stats"
  grep -q '"drops"' "$tmp/$name.err" || fail "$name: no summary on stderr"
}

# AF_XDP (the config's source), exactly the unit's command.
rm -f "$records"
run_unit afxdp "$unit_caps" "$memlock" "${execstart[@]}"
wait_ready afxdp
st=/proc/$wl/status
[ "$(readlink /proc/$wl/exe)" = /usr/bin/wirelog ] || fail "afxdp: pid $wl is $(readlink /proc/$wl/exe)"
[ "$(awk '/^Uid:/ {print $2 $3 $4 $5}' "$st")" = "$uid$uid$uid$uid" ] || fail "afxdp: not running as $user: $(grep ^Uid: "$st")"
want=0; for c in $ambient; do want=$(( want | 16#$(capsh --explain="${c,,}" | sed -n '1s/.*CapXXX: 0x\([0-9a-f]*\)\].*/\1/p') )); done
for s in CapEff CapPrm CapAmb CapBnd; do
  have=$((16#$(awk -v s="$s:" '$1==s {print $2}' "$st")))
  [ "$have" = "$want" ] || fail "afxdp: $s is $(printf '%x' $have), the unit's capabilities are $(printf '%x' $want)"
done
[ "$(awk '/^NoNewPrivs:/ {print $2}' "$st")" = "$([ ${#nnp[@]} = 1 ] && echo 1 || echo 0)" ] || fail "afxdp: NoNewPrivs is not the unit's"
if [ -n "$memlock" ]; then
  grep -q "^Max locked memory *$memlock " /proc/$wl/limits ||
    fail "afxdp: RLIMIT_MEMLOCK is not the unit's: $(grep 'locked memory' /proc/$wl/limits)"
fi
grep -q "attached in .* mode through a BPF link" "$tmp/afxdp.err" || fail "afxdp: no BPF link attach in: $(cat "$tmp/afxdp.err")"
note "afxdp: $(grep -o '[0-9]* worker(s), [0-9]* flows each' "$tmp/afxdp.err") in $(grep -o 'a budget of [0-9]* [KMG]iB' "$tmp/afxdp.err")"
traffic afxdp
stop afxdp
check afxdp
ok "AF_XDP, the unit's ExecStart as $user (uid $uid) with CapEff=CapBnd=CapAmb=$(printf '%x' $want) and nothing else: 5 HTTP flows and their http records and the ICMP flow match the clients', 0 drops, stats to stdout, records $(stat -c '%a' "$records") in /var/log/wirelog; exit 0 on SIGTERM"
ip -n "$SEN" link show "$P_IF" | grep -q xdp && fail "afxdp: an XDP program is left on $P_IF after the exit"

# AF_PACKET, the unit's command with --source afpacket.
rm -f "$records"
run_unit afpacket "$unit_caps" "$memlock" "${execstart[@]}" --source afpacket
wait_ready afpacket
traffic afpacket
stop afpacket
check afpacket
ok "AF_PACKET, the same way: the same flows and records, 0 drops, exit 0 on SIGTERM"

# --- 6. without one of the unit's capabilities ---------------------------------
# Each one is needed: without it the capture is refused with its one-line
# error. CAP_IPC_LOCK's absence shows as a locked-memory limit too low for
# the UMEM (64 KiB here).
for c in $ambient; do
  c=${c,,}
  caps=$(setcaps "$ambient" | sed "s/,+${c#cap_}//")
  ml=$memlock
  case "$c" in
    cap_ipc_lock) ml=65536; why="RLIMIT_MEMLOCK is 64 KiB but the AF_XDP UMEM needs" ;;
    *) why="missing capabilities.*\b$c\b" ;;
  esac
  run_unit "no-$c" "$caps" "$ml" "${execstart[@]}" --duration 3
  rc=0; wait "$wl" || rc=$?
  [ $rc = 2 ] || fail "without $c: exit $rc (2 expected): $(cat "$tmp/no-$c.err")"
  grep -q "$why" "$tmp/no-$c.err" || fail "without $c: $(cat "$tmp/no-$c.err")"
  note "without $c: exit 2, $(grep -o 'wirelog: error: .*' "$tmp/no-$c.err" | cut -c1-150)"
done
ok "without any one of $ambient the capture is refused (exit 2) with its one-line error"

# --- 7. the unit's sandbox against what a capture does -------------------------
# The system calls must be in SystemCallFilter, the socket families in
# RestrictAddressFamilies, and files opened for writing under the paths
# ProtectSystem=strict leaves writable (LogsDirectory).
expand() {
  local x
  for x in "$@"; do
    if [ "${x:0:1}" = @ ]; then
      expand $(systemd-analyze syscall-filter "$x" | tail -n +2 | awk '$1 !~ /^#/ {print $1}')
    else
      echo "$x"
    fi
  done
}
filter=$(all SystemCallFilter)
[ -n "$filter" ] && [ "${filter:0:1}" != "~" ] || fail "the unit has no allow-list SystemCallFilter"
expand $filter | sort -u >"$tmp/allowed"
families=$(all RestrictAddressFamilies)
rm -f "$records"
limit=()
[ -z "$memlock" ] || limit=(prlimit --memlock="$memlock:$memlock")
( cd / && exec strace -f -qq -s 256 -o "$tmp/strace" ip netns exec "$SEN" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    "${limit[@]}" sh -c 'umask "$0" && exec "$@"' "$umask_" \
    setpriv --reuid "$user" --regid "$group" --init-groups "${nnp[@]}" \
      --inh-caps "$unit_caps" --ambient-caps "$unit_caps" --bounding-set "$unit_caps" -- \
      "${execstart[@]}" ) >"$tmp/strace.out" 2>"$tmp/strace.err" &
tracer=$!
pids+=("$tracer")
for i in $(seq 150); do
  wl=$(ps --ppid "$tracer" -o pid= | tr -d ' ' || true)
  [ -n "$wl" ] && [ "$(readlink "/proc/$wl/exe" 2>/dev/null)" = /usr/bin/wirelog ] &&
    grep -q 'worker(s),' "$tmp/strace.err" && break
  kill -0 "$tracer" 2>/dev/null || fail "strace: the capture ended at start: $(cat "$tmp/strace.err")"
  sleep 0.1
done
grep -q 'worker(s),' "$tmp/strace.err" || fail "strace: the capture did not start: $(cat "$tmp/strace.err")"
ip netns exec "$CLI" curl -sS -o /dev/null "http://$SRV_IP:8000/hello.txt" || fail "strace: curl failed"
sleep 1
kill -TERM "$wl" || fail "strace: wirelog was gone before SIGTERM: $(tail -3 "$tmp/strace.err")"
rc=0; wait "$tracer" || rc=$?
[ $rc = 0 ] || fail "strace: wirelog exited $rc: $(tail -3 "$tmp/strace.err")"
# Everything after the exec of wirelog is wirelog's (each step before it execs in place).
start=$(grep -n 'execve("/usr/bin/wirelog".* = 0$' "$tmp/strace" | head -1 | cut -d: -f1 || true)
[ -n "$start" ] || fail "strace: no exec of /usr/bin/wirelog"
tail -n +"$start" "$tmp/strace" >"$tmp/trace"
{ grep -oE '^[0-9]+ +[a-z0-9_]+\(' "$tmp/trace" || true; } | sed -E 's/^[0-9]+ +//; s/\($//' | sort -u >"$tmp/used"
extra=$(comm -23 "$tmp/used" "$tmp/allowed" | tr '\n' ' ')
[ -z "$extra" ] || fail "system calls outside SystemCallFilter=$filter: $extra"
{ grep -oE 'socket\(AF_[A-Z0-9]+' "$tmp/trace" || true; } | sed 's/socket(//' | sort -u >"$tmp/families"
for f in $(cat "$tmp/families"); do
  [[ " $families " == *" $f "* ]] || fail "socket family $f outside RestrictAddressFamilies=$families"
done
{ grep -E 'open(at)?\(.*O_(WRONLY|RDWR|CREAT)' "$tmp/trace" | grep -v ' = -1 ' |
  grep -oE '"[^"]*"' || true; } | tr -d '"' | sort -u >"$tmp/written"
logs=/var/log/$(last LogsDirectory)
while read -r p; do
  case "$p" in "$logs"/*|/dev/null|/proc/self/*|/proc/thread-self/*) ;; *) fail "wrote $p, read-only under ProtectSystem=strict" ;; esac
done <"$tmp/written"
# Files read: nothing that ProtectHome, PrivateDevices or ProtectProc=invisible hide.
{ grep -E 'open(at)?\(' "$tmp/trace" | grep -v ' = -1 ' | grep -oE '"/[^"]*"' || true; } | tr -d '"' | sort -u >"$tmp/opened"
while read -r p; do
  case "$p" in
    /home/*|/root/*|/run/user/*) fail "opened $p, hidden by ProtectHome" ;;
    /dev/null|/dev/zero|/dev/full|/dev/random|/dev/urandom|/dev/tty) ;;
    /dev/*) fail "opened $p, hidden by PrivateDevices" ;;
    /proc/[0-9]*) [[ "$p" == /proc/$wl/* ]] || fail "opened $p, another process's (ProtectProc=invisible)" ;;
  esac
done <"$tmp/opened"
# What MemoryDenyWriteExecute, RestrictNamespaces, RestrictRealtime and
# LockPersonality refuse: none of it may appear.
bad=$(grep -E 'mmap\(.*PROT_WRITE\|PROT_EXEC|mmap\(.*PROT_EXEC\|PROT_WRITE|mprotect\(.*PROT_EXEC|(clone3?|unshare|setns)\(.*CLONE_NEW|sched_setscheduler\(.*SCHED_(FIFO|RR)|personality\(' "$tmp/trace" | head -3 || true)
[ -z "$bad" ] || fail "calls the unit's MemoryDenyWriteExecute/RestrictNamespaces/RestrictRealtime/LockPersonality refuse: $bad"
grep -q 'bpf(BPF_LINK_CREATE' "$tmp/trace" || fail "strace: the XDP program was not attached by a BPF link"
grep -q 'BPF_OBJ_PIN' "$tmp/trace" && fail "strace: something was pinned in bpffs"
ok "a capture under strace: $(wc -l <"$tmp/used") system calls, all in SystemCallFilter=$filter; socket families $(tr '\n' ' ' <"$tmp/families")within RestrictAddressFamilies; files written only in $logs, $(wc -l <"$tmp/opened") opened, none that ProtectHome, PrivateDevices or ProtectProc hide; no W+X mapping, namespace, realtime or personality call; XDP attached by BPF_LINK_CREATE, nothing pinned"

# --- 8. purge -----------------------------------------------------------------
dpkg --purge wirelog >"$tmp/purge" 2>&1 || fail "dpkg --purge: $(cat "$tmp/purge")"
installed=0
for p in /usr/bin/wirelog "$unit" /etc/wirelog /var/log/wirelog /usr/share/wirelog /usr/share/doc/wirelog /usr/share/man/man1/wirelog.1.gz; do
  [ -e "$p" ] && fail "$p is left after the purge"
done
left=$(find /etc/systemd /var/lib/systemd -name '*wirelog*' 2>/dev/null | tr '\n' ' ' || true)
[ -z "$left" ] || fail "left in systemd's directories after the purge: $left"
getent passwd wirelog >/dev/null && fail "user wirelog is left after the purge"
getent group wirelog >/dev/null && fail "group wirelog is left after the purge"
dpkg-query -W -f='${Status}' wirelog 2>/dev/null | grep -q installed && fail "dpkg still lists wirelog"
ok "dpkg --purge: binary, unit, the enable link, /etc/wirelog, /var/log/wirelog, docs, user and group gone"

scripts/testbed.sh down $id
left=$(ip netns list | grep -c "^wl$id-" || true)
[ "$left" = 0 ] || fail "namespaces left behind"
echo "deploy-test: passed"
