#!/usr/bin/env bash
# Installs what building and testing wirelog needs on Debian, when missing.
set -euo pipefail
need=()
command -v tshark >/dev/null || need+=(tshark)
command -v jq >/dev/null || need+=(jq)
command -v cc >/dev/null || need+=(gcc)
command -v ethtool >/dev/null || need+=(ethtool)
# tuning's ethtool tests compare wirelog's requests with ethtool's under strace.
command -v strace >/dev/null || need+=(strace)
command -v tcpdump >/dev/null || need+=(tcpdump)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v curl >/dev/null || need+=(curl)
command -v dig >/dev/null || need+=(dnsutils)
command -v nginx >/dev/null || need+=(nginx-light)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v python3 >/dev/null || need+=(python3)
# The database testbed (scripts/db-testbed.sh, the drivers, the live
# tests): servers run from scratch in a test's directory, and clients that
# take the protocols' less common paths (psycopg: PostgreSQL's extended
# protocol; DBD::MariaDB with server-side prepare: MySQL's binary one).
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null || need+=(postgresql-client)
command -v mariadbd >/dev/null || need+=(mariadb-server)
command -v mariadb >/dev/null || need+=(mariadb-client)
command -v openssl >/dev/null || need+=(openssl)
for pkg in python3-psycopg libdbd-mariadb-perl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v go >/dev/null || need+=(golang-go)
# The instruction-set check runs the binary on emulated older CPUs.
command -v qemu-x86_64 >/dev/null || need+=(qemu-user)
command -v lstopo-no-graphics >/dev/null || need+=(hwloc) # lstopo: the oracle of the tuning topology tests
[ -d /usr/share/gocode/src/github.com/Graylog2/go-gelf ] || need+=(golang-github-graylog2-go-gelf-dev)
# AF_XDP: xsk-rs builds its vendored libxdp/libbpf, and dataplane/build.rs
# wirelog's own XDP program, with clang (the BPF target's asm/ headers are
# found under the multiarch include directory; gcc-multilib has them too).
command -v clang >/dev/null || need+=(clang)
command -v llc >/dev/null || need+=(llvm)
command -v m4 >/dev/null || need+=(m4)
command -v pkg-config >/dev/null || need+=(pkg-config)
for pkg in libelf-dev zlib1g-dev libpcap-dev gcc-multilib; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
# The deployment test (scripts/deploy-test.sh): the package's tools, the
# unit's checker (and `man`, which it asks about Documentation=), and what
# runs the binary the unit's way (strace, above, watches its system calls).
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v lintian >/dev/null || need+=(lintian)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v man >/dev/null || need+=(man-db)
command -v capsh >/dev/null || need+=(libcap2-bin)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust toolchain) is required" >&2; exit 1; }
# graygelf, the GELF decoder the output tests check against (pinned by the lockfile).
here=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -d "$here/sensor/tests/gelf/node_modules/graygelf" ]; then
  echo "setup: installing graygelf for the GELF tests" >&2
  npm ci --prefix "$here/sensor/tests/gelf" --no-audit --no-fund --loglevel=error >/dev/null
fi
