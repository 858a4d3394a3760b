#!/usr/bin/env bash
# Replays every pcap of ../shared/corpus with two wirelog binaries and
# reports each file whose records differ (stats records left out; with
# --sorted, lines are compared as sets, for changes that only reorder).
# A performance change should print nothing.
#
#   scripts/same-records.sh [--sorted] OLD_BINARY NEW_BINARY
set -euo pipefail
sorted=cat
if [ "${1:-}" = --sorted ]; then sorted=sort; shift; fi
[ $# -eq 2 ] || { sed -n 2,7p "$0"; exit 2; }
a=$1 b=$2
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 diff=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    "$a" replay -o - "$f" 2>/dev/null | grep -v '"type":"stats"' | $sorted > "$tmp/a" || true
    "$b" replay -o - "$f" 2>/dev/null | grep -v '"type":"stats"' | $sorted > "$tmp/b" || true
    if ! cmp -s "$tmp/a" "$tmp/b"; then
        echo "differs: $f"
        diff=$((diff + 1))
    fi
done < <(find ../shared/corpus -name '*.pcap*' -print0 | sort -z)
echo "$n files, $diff differ"
[ "$diff" -eq 0 ]
