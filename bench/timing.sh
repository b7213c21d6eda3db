#!/usr/bin/env bash
# bench/timing.sh: is the token comparison constant-time? Builds
# bench/timing.c against the library of a configured build (the very
# objects that ship) and runs it pinned to one CPU. A benchmark, not a
# test: the figures depend on the machine and its load.
#   usage: bench/timing.sh [BUILD-DIR] [ROUNDS-PER-CLASS]  (default build, 1000000)
# Exit status: 0 no dependence found in ours and the naive control leaks;
# 1 ours leaks; 3 the control shows nothing either (too noisy to tell).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) ||
    { echo "timing: no build folder ${1:-$top/build}: build first" >&2; exit 2; }
rounds=${2:-1000000}
lib=$build/lib/libhookpipe.a
[ -f "$lib" ] || { echo "timing: $lib missing: run make in $build" >&2; exit 2; }
T=$(mktemp -d /tmp/hookpipe-timing.XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT
read -ra libs <<< "$(pkg-config --libs json-c libcrypto)"
# The harness at -O2 like the library; the control loop must stay a loop.
${CC:-cc} -O2 -fno-tree-vectorize -I"$top/lib" -o "$T/timing" \
    "$top/bench/timing.c" "$lib" "${libs[@]}" -liniparser -lm ||
    { echo "timing: build failed" >&2; exit 2; }
pin=()
command -v taskset >/dev/null && pin=(taskset -c "$(($(nproc) - 1))")
echo "machine: $(nproc) cores, $(uname -m), load $(cut -d' ' -f1-3 /proc/loadavg)"
"${pin[@]}" "$T/timing" "$rounds"
