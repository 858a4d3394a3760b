#!/usr/bin/env bash
# Builds the Debian package of wirelog from this workspace:
#   target/debian/wirelog_<version>_<arch>.deb
# with /usr/bin/wirelog (from `cargo build --release -p sensor`), the
# systemd unit, /etc/wirelog/wirelog.toml and /etc/wirelog/profile.toml
# (conffiles), the shipped profiles in /usr/share/wirelog/profiles/, the
# man page and the docs. The version is the sensor crate's; Depends comes
# from dpkg-shlibdeps. Prints the .deb's path as its last line.
#
# Environment:
#   WIRELOG_BIN=PATH        package this binary instead of building one
#   WIRELOG_PROFILE=NAME    tuning/profiles/NAME becomes /etc/wirelog/profile.toml
#                           (default: the 2-vCPU profile)
#   WIRELOG_MAINTAINER=...  the Maintainer field
#   CARGO_TARGET_DIR, CARGO_BUILD_JOBS as cargo reads them
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

profile=${WIRELOG_PROFILE:-cloud-2vcpu.toml}
maintainer=${WIRELOG_MAINTAINER:-wirelog maintainers <maintainers@wirelog.invalid>}
for tool in dpkg-deb dpkg-shlibdeps jq gzip strip; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (scripts/setup.sh installs it)" >&2; exit 1; }
done
[ -f "tuning/profiles/$profile" ] || { echo "build-deb: no profile tuning/profiles/$profile" >&2; exit 1; }

version=$(cargo metadata --no-deps --format-version 1 --manifest-path Cargo.toml |
  jq -r '.packages[] | select(.name == "sensor") | .version')
[ -n "$version" ] && [ "$version" != null ] || { echo "build-deb: no version for the sensor crate" >&2; exit 1; }
arch=$(dpkg --print-architecture)

if [ -n "${WIRELOG_BIN:-}" ]; then
  bin=$WIRELOG_BIN
else
  cargo build --release -p sensor >&2
  bin=${CARGO_TARGET_DIR:-$root/target}/release/wirelog
fi
[ -x "$bin" ] || { echo "build-deb: no binary at $bin" >&2; exit 1; }

out=$root/target/debian
stage=$(mktemp -d /tmp/wirelog-deb-XXXXXX)
trap 'rm -rf "$stage"' EXIT
pkg=$stage/wirelog
# Reproducible: every file dated by the last commit (else now).
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

install -d "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/wirelog" \
  "$pkg/usr/share/wirelog/profiles" "$pkg/usr/share/man/man1" \
  "$pkg/usr/share/doc/wirelog/deploy"
install -m 0755 "$bin" "$pkg/usr/bin/wirelog"
# As dh_strip does: the debug info stays in the build tree.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/wirelog"
install -m 0644 deploy/wirelog.service "$pkg/lib/systemd/system/wirelog.service"
install -m 0644 deploy/wirelog.toml "$pkg/etc/wirelog/wirelog.toml"
install -m 0644 "tuning/profiles/$profile" "$pkg/etc/wirelog/profile.toml"
install -m 0644 tuning/profiles/*.toml "$pkg/usr/share/wirelog/profiles/"
gzip -9n <deploy/wirelog.1 >"$pkg/usr/share/man/man1/wirelog.1.gz"
install -m 0644 deploy/debian/copyright "$pkg/usr/share/doc/wirelog/copyright"
install -m 0644 README.md docs/schema.md "$pkg/usr/share/doc/wirelog/"
install -m 0644 docs/deploy/*.md "$pkg/usr/share/doc/wirelog/deploy/"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
  echo "wirelog ($version) unstable; urgency=medium"
  echo
  echo "  * Built from the wirelog workspace at commit $commit."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$pkg/usr/share/doc/wirelog/changelog.gz"

install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$pkg/DEBIAN/"
install -m 0644 deploy/debian/conffiles "$pkg/DEBIAN/conffiles"
# dpkg-shlibdeps reads debian/control from the directory it runs in.
mkdir -p "$stage/src/debian"
printf 'Source: wirelog\n\nPackage: wirelog\nArchitecture: any\n' >"$stage/src/debian/control"
shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O -e"$pkg/usr/bin/wirelog" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
size=$(du -k -s --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@INSTALLED_SIZE@/$size/" \
  -e "s/@SHLIBS_DEPENDS@/$shlibs/" -e "s/@MAINTAINER@/$maintainer/" \
  deploy/debian/control.in >"$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/md5sums" "$pkg/DEBIAN/control"
find "$pkg" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb=$out/wirelog_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
