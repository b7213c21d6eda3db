#!/usr/bin/env bash
# bench/e2e.sh: accepted-and-delivered events per second, end to end:
# lighttpd + hookpipe.fcgi + hookpipe-run started on demand + a trivial
# handler (/bin/true), for 1, 2, 4 and 8 concurrent senders. Delivered/s
# counts from the start of the load until the spool has drained.
#   usage: bench/e2e.sh [BUILD-DIR] [SECONDS]
# shellcheck source=bench/lib.sh disable=SC2154 # $token and $T come from it
. "$(dirname "$0")/lib.sh"
build=$(cd "${1:-$top/build}" && pwd) || exit 1
secs=${2:-10}

start_hookpipe "$build" '[delivery]\nconcurrency = 2\n[event bench.event]\nhandler = /bin/true\n'
echo "hookpipe end to end under lighttpd, ${secs}s per point, $(nproc) cores"
for c in 1 2 4 8; do
	before=$(find "$T/spool/done" -type f 2>/dev/null | wc -l)
	t0=$(date +%s.%N)
	load accept-200 "$token" "$secs" "$c"
	while [ -n "$(find "$T/spool/new" "$T/spool/cur" -type f | head -n1)" ]; do
		sleep 0.05
	done
	t1=$(date +%s.%N)
	after=$(find "$T/spool/done" -type f | wc -l)
	awk -v n=$((after - before)) -v a="$t0" -v b="$t1" -v c="$c" \
	    'BEGIN { printf "delivered        c=%-2s %10.1f events/s (%d events, %.1fs to drain)\n", c, n / (b - a), n, b - a }'
done
