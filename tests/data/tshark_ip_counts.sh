#!/usr/bin/env bash
# Writes tcpdump_tshark_ip.tsv: for each of tcpdump's test captures, how many frames tshark
# finds IPv4 or IPv6 in. tests/tcpdump_captures_test.ts holds pad's counts against these.
# Usage: tests/data/tshark_ip_counts.sh [DIR]   (default ../shared/pcaps/tcpdump-tests)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/../../../shared/pcaps/tcpdump-tests}
out=$here/tcpdump_tshark_ip.tsv
{
  echo "# $(tshark --version | head -1)"
  echo "# tshark -n -r FILE -Y 'ip or ipv6' -T fields -e frame.number | wc -l"
  for name in $(ls "$dir" | grep -E '\.pcap(ng)?$' | LC_ALL=C sort); do
    n=$(timeout 60 tshark -n -r "$dir/$name" -Y 'ip or ipv6' -T fields -e frame.number \
      2>/dev/null | wc -l)
    printf '%s\t%s\n' "$name" "$n"
  done
} >"$out"
