#!/usr/bin/env bash
# bench/reqcost.sh: the request path's CPU with and without [metrics] and
# [health] (issue 14: the counters within 5% of accept without them),
# measured in process by bench/reqcost.c against the library of a
# configured build: PAIRS pairs of blocks, A then B in even pairs, B then
# A in odd ones, one process per block, so that a machine whose speed
# drifts (a shared VM) slows both sides of a pair alike. Both sides:
# default durability, no handler for the event, no runner started.
# Prints the median CPU µs per request of each side and the median of
# the pairs' ratios B/A. Another B: REQCOST_B_EXTRA='[section]\nkey = v\n';
# both sides without the flush (the code path alone, a diagnostic):
# REQCOST_DURABILITY=process.
#   usage: bench/reqcost.sh [BUILD-DIR] [PAIRS [REQUESTS-PER-BLOCK]]
#          (default 20 pairs of 1000)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) ||
    { echo "reqcost: no build folder ${1:-$top/build}: build first" >&2; exit 2; }
pairs=${2:-20} k=${3:-1000}
lib=$build/lib/libhookpipe.a
[ -f "$lib" ] || { echo "reqcost: $lib missing: run make in $build" >&2; exit 2; }
T=$(mktemp -d /tmp/hookpipe-reqcost.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
read -ra libs <<< "$(pkg-config --libs json-c)"
${CC:-cc} -O2 -I"$top/lib" -I"$build" -o "$T/reqcost" "$top/bench/reqcost.c" \
    "$lib" "${libs[@]}" -liniparser -lcrypt -ldl ||
    { echo "reqcost: build failed" >&2; exit 2; }
token=reqcost-token-0123456789abcdef
printf '%s\n' "$token" > "$T/token"
chmod 600 "$T/token"
mkdir -p "$T/h"
extra=${REQCOST_B_EXTRA:-'[metrics]\n[health]\n'}
for side in a b; do
	{
		# One spool for both: the file system's state (where ext4
		# finds free inodes, which dominates a create) is then the
		# same on both sides of a pair.
		printf '[hookpipe]\nspool_dir = %s/spool\nhandlers_dir = %s/h\n' "$T" "$T"
		printf 'durability = %s\n' "${REQCOST_DURABILITY:-full}"
		printf 'require_https = no\n[auth]\ntoken_file = %s/token\n' "$T"
		printf '[delivery]\nrunner = %s/hookpipe-run\n' "$build"
		[ "$side" = b ] && printf '%b' "$extra"
	} > "$T/$side.ini"
done
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $pairs pairs of $k requests; durability = ${REQCOST_DURABILITY:-full}; B adds: $(printf '%b' "$extra" | tr '\n' ' ')"
one() { HOOKPIPE_CONFIG=$T/$1.ini REQCOST_TOKEN=$token "$T/reqcost" "$T/$1.ini" "$k"; }
for i in $(seq "$pairs"); do
	if [ $((i % 2)) = 0 ]; then a=$(one a) && b=$(one b); else b=$(one b) && a=$(one a); fi ||
	    { echo "reqcost: a block failed" >&2; exit 1; }
	echo "$a $b"
done > "$T/pairs"
awk '
function median(v, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{ a[NR] = $1; b[NR] = $2; r[NR] = $2 / $1 }
END {
	ma = median(a, NR); mb = median(b, NR); mr = median(r, NR)
	printf "A (without): %.1f µs CPU per request (median of %d blocks)\n", ma, NR
	printf "B (with):    %.1f µs CPU per request\n", mb
	printf "B/A: %.3f, median of the pairs; pairs from %.3f to %.3f\n", mr, r[1], r[NR]
}' "$T/pairs"
[ -n "${REQCOST_SHOW:-}" ] && cat "$T/pairs"
