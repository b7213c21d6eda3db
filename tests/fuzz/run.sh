#!/usr/bin/env bash
# tests/fuzz/run.sh: build the libFuzzer harnesses with clang (ASan +
# UBSan) and run each for a bounded time on a copy of its seed corpus,
# with the dictionary. Prints TAP: one line per harness, then a summary.
#   usage: tests/fuzz/run.sh [SECONDS-PER-HARNESS]    (default 7)
#   FUZZ_BUILD=DIR   build and work folder (default build-fuzz/)
#   FUZZ_ONLY="json conf"   run only these harnesses
#   CLANG=clang-14   the compiler (default clang-14, else clang)
# The committed corpora are never modified: what a run finds stays in
# FUZZ_BUILD/run/NAME/corpus.
set -u
# Braces: bash reads the whole script before running it, so an edit
# during a long run cannot derail it.
{
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-7}
case $secs in
'' | *[!0-9]*) echo "usage: tests/fuzz/run.sh [SECONDS-PER-HARNESS]" >&2; exit 2 ;;
esac
out=${FUZZ_BUILD:-$top/build-fuzz}
src=$top/tests/fuzz
harnesses=${FUZZ_ONLY:-json conf verify request}
# shellcheck disable=SC2086 # a word list
set -- $harnesses
echo "1..$#"

bail() {
	echo "Bail out! $*"
	exit 1
}

cc=${CLANG:-}
if [ -z "$cc" ]; then
	for c in clang-14 clang; do
		command -v "$c" >/dev/null && { cc=$c; break; }
	done
fi
{ [ -n "$cc" ] && command -v "$cc" >/dev/null; } || bail "clang not found: install it with 'apt-get install clang libclang-rt-14-dev' (or scripts/deps)"
mkdir -p "$out/obj" || bail "cannot create $out"
out=$(cd "$out" && pwd)

# libFuzzer is a separate package (libclang-rt-14-dev): try it first so
# its absence is said plainly rather than as a link error.
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
    > "$out/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined -o "$out/probe" \
    "$out/probe.c" > "$out/probe.log" 2>&1 ||
    bail "$cc cannot build a libFuzzer program (see $out/probe.log): install libclang-rt-14-dev (scripts/deps)"

# config.h: the one of a configured build/ when there is one, else a
# configure run of our own.
if [ -f "$top/build/config.h" ]; then
	cmp -s "$top/build/config.h" "$out/config.h" ||
	    cp "$top/build/config.h" "$out/config.h" || bail "cannot copy build/config.h"
elif [ ! -f "$out/config.h" ]; then
	[ -x "$top/configure" ] || bail "no configure script: run 'autoreconf -fi' in $top first"
	mkdir -p "$out/cfg"
	(cd "$out/cfg" && CC=$cc "$top/configure" > "$out/configure.log" 2>&1) ||
	    bail "configure failed (see $out/configure.log)"
	cp "$out/cfg/config.h" "$out/config.h" || bail "no config.h from configure"
fi

deps=(json-c libcrypto)
pkg-config --exists "${deps[@]}" || bail "pkg-config does not find ${deps[*]}: run scripts/deps"
read -ra pkg_cflags <<< "$(pkg-config --cflags "${deps[@]}")"
read -ra pkg_libs <<< "$(pkg-config --libs "${deps[@]}")"
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
cflags=(-g -O1 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wformat=2 -Wundef -Wvla
    -fsanitize=address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -I"$out" -I"$top/lib" -I"$src" "${pkg_cflags[@]}"
    -DSYSCONFDIR='"/etc"' -DBINDIR='"/usr/local/bin"')
[ -f /usr/include/iniparser/iniparser.h ] && cflags+=(-I/usr/include/iniparser)
libs=("${pkg_libs[@]}" -liniparser)

# The library, instrumented for coverage but without libFuzzer's main.
# An object is rebuilt when its source, a header, config.h or this
# script is newer.
stale() {	# stale OBJECT SOURCE
	local f
	[ -f "$1" ] || return 0
	for f in "$2" "$top"/lib/*.h "$src/fuzzutil.h" "$out/config.h" "$0"; do
		[ "$f" -nt "$1" ] && return 0
	done
	return 1
}
build_lib() {
	local f o pids=() rc=0 jobs
	jobs=$(nproc 2>/dev/null || echo 2)
	for f in "$top"/lib/*.c "$src/fuzzutil.c"; do
		o=$out/obj/$(basename "$f" .c).o
		stale "$o" "$f" || continue
		rm -f "$o"
		"$cc" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$f" -o "$o" &
		pids+=($!)
		if [ "${#pids[@]}" -ge "$jobs" ]; then
			wait "${pids[0]}" || rc=1
			pids=("${pids[@]:1}")
		fi
	done
	for f in "${pids[@]}"; do wait "$f" || rc=1; done
	[ "$rc" = 0 ] || return 1
	rm -f "$out/libhookpipe-fuzz.a"
	ar cr "$out/libhookpipe-fuzz.a" "$out"/obj/*.o
}
build_lib > "$out/build.log" 2>&1 || { sed 's/^/# /' "$out/build.log" | tail -n 30; bail "building lib/ with $cc failed (see $out/build.log)"; }
for h in "$@"; do
	[ -f "$src/fuzz-$h.c" ] || bail "no harness tests/fuzz/fuzz-$h.c"
	"$cc" "${cflags[@]}" -fsanitize=fuzzer -o "$out/fuzz-$h" \
	    "$src/fuzz-$h.c" "$out/libhookpipe-fuzz.a" "${libs[@]}" \
	    >> "$out/build.log" 2>&1 ||
	    { tail -n 30 "$out/build.log" | sed 's/^/# /'; bail "building fuzz-$h failed (see $out/build.log)"; }
done
if grep -q 'warning:' "$out/build.log"; then
	grep 'warning:' "$out/build.log" | sed 's/^/# /'
	rm -f "$out"/obj/*.o	# so the next run shows them again
	bail "compiler warnings (see $out/build.log)"
fi

n=0
total=0
failed=0
for h in "$@"; do
	n=$((n + 1))
	work=$out/run/$h
	rm -rf "$work"
	mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
	if [ -d "$src/corpus/$h" ]; then
		cp "$src/corpus/$h"/* "$work/corpus/" 2>/dev/null
	fi
	# The harness's own scratch files go to work/tmp, gone after the run
	# even when a crash skips the harness's clean-up.
	TMPDIR=$work/tmp \
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    "$out/fuzz-$h" -max_total_time="$secs" -dict="$src/hookpipe.dict" \
	    -artifact_prefix="$work/artifacts/" -print_final_stats=1 \
	    -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	    "$work/corpus" > "$work/log" 2>&1
	rc=$?
	rm -rf "$work/tmp"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
	execs=${execs:-0}
	total=$((total + execs))
	crashes=$(find "$work/artifacts" -type f | wc -l)
	if [ "$rc" = 0 ] && [ "$crashes" = 0 ]; then
		echo "ok $n - fuzz-$h: $execs execs, 0 crashes"
	else
		failed=$((failed + 1))
		[ "$crashes" -gt 0 ] || crashes=1
		echo "not ok $n - fuzz-$h: $execs execs, $crashes crash(es), exit $rc"
		grep -E 'ERROR: |SUMMARY: |invariant broken|runtime error' "$work/log" |
		    head -n 5 | sed 's/^/#   /'
		for f in "$work"/artifacts/*; do
			[ -f "$f" ] || continue
			echo "#   input: $f"
			echo "#   reproduce: $out/fuzz-$h $f"
		done
		echo "#   log: $work/log"
	fi
done
echo "# fuzz: $# harnesses, $total executions, ${secs}s each, $failed failed"
[ "$failed" = 0 ]
exit
}
