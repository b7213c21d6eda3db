# shellcheck shell=bash disable=SC2034
# (the variables set here are read by the scripts that source this file)
# lib.sh: what every integration test shares: TAP output, a private
# work folder, free loopback ports, starting and stopping exactly the
# servers a test started, and HTTP helpers around curl.

set -u

: "${abs_top_builddir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${abs_top_srcdir:=$abs_top_builddir}"
BUILD=$abs_top_builddir
SRC=$abs_top_srcdir
SAMPLES=${HOOKPIPE_SAMPLES:-$SRC/tests/samples}
: "${LIGHTTPD:=$(command -v lighttpd || echo /usr/sbin/lighttpd)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/hookpipe-test.XXXXXX")
# Every path a test writes is under $T: without it, stop right here
# (an empty $T would turn "$T/bin/sh" into /bin/sh).
case $T in
/?*/hookpipe-test.*) [ -d "$T" ] || { echo "Bail out! no work folder"; exit 1; } ;;
*) echo "Bail out! mktemp failed: '$T'"; exit 1 ;;
esac
TAP_N=0
TAP_FAILED=0
STARTED_PIDS=()
MOUNTS=()

# Sanitizer reports of every process of the test land in $T/san.*.
export ASAN_OPTIONS="log_path=$T/san:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$T/san:print_stacktrace=1:halt_on_error=1"

# HOOKPIPE_VALGRIND=1: hookpipe.fcgi, hookpipe-run and hookpipe run under
# valgrind (-q: a log says something only when it found something), one
# log per process in $T/vg.PID. BUILD then names a folder of wrappers;
# the responder runs from a copy in $T/vg/bin beside a wrapped
# hookpipe-run, because it starts the runner it finds beside itself.
VALGRIND_LOGS=0
vg_wrap() {	# vg_wrap SCRIPT PROGRAM
	printf '#!/bin/sh\nexec %s -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --child-silent-after-fork=yes --log-file=%s/vg.%%p %s "$@"\n' \
	    "$(command -v valgrind)" "$T" "$2" > "$1" && chmod 755 "$1"
}
if [ "${HOOKPIPE_VALGRIND:-0}" = 1 ]; then
	command -v valgrind >/dev/null || { echo "Bail out! valgrind not found"; exit 1; }
	mkdir -p "$T/vg/bin"
	cp "$BUILD/hookpipe.fcgi" "$T/vg/bin/hookpipe.fcgi"
	vg_wrap "$T/vg/hookpipe.fcgi" "$T/vg/bin/hookpipe.fcgi"
	vg_wrap "$T/vg/hookpipe-run" "$BUILD/hookpipe-run"
	vg_wrap "$T/vg/hookpipe" "$BUILD/hookpipe"
	ln -s ../hookpipe-run "$T/vg/bin/hookpipe-run"
	ln -s "$BUILD/tests" "$T/vg/tests"
	BUILD=$T/vg
	VALGRIND_LOGS=1
fi

ok() {	# ok CONDITION-STATUS DESCRIPTION
	TAP_N=$((TAP_N + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $TAP_N - $2"
	else
		echo "not ok $TAP_N - $2"
		TAP_FAILED=$((TAP_FAILED + 1))
	fi
}

# ok_todo CONDITION-STATUS DESCRIPTION REASON: ok, except that while
# REASON is set a failure is a TODO (the TAP driver's XFAIL: a known
# defect an issue is to fix) instead of a failure. A pass is always a
# plain ok, never an "ok # TODO" (XPASS, which the driver counts as a
# failure): an assertion that fails only on some runs stays green until
# the fix, which then empties REASON.
ok_todo() {
	if [ "$1" -eq 0 ] || [ -z "$3" ]; then
		ok "$1" "$2"
	else
		TAP_N=$((TAP_N + 1))
		echo "not ok $TAP_N - $2 # TODO $3"
	fi
}

pass() { ok 0 "$1"; }
fail() { ok 1 "$1"; [ $# -gt 1 ] && diag "$2"; return 0; }
diag() { printf '%s\n' "$@" | sed 's/^/#   /'; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }

is() {	# is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "got:  $1" "want: $2"
	fi
}

like() {	# like TEXT REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		diag "text: $(printf '%s' "$1" | head -c 600)" "does not match: $2"
	fi
}

unlike() {	# unlike TEXT REGEX DESCRIPTION
	if printf '%s' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		diag "text matches $2"
	else
		ok 0 "$3"
	fi
}

# stop_runners: the runners that responders of this test started, at
# work or lingering (found by pid: each holds the run.lock of a spool in
# $T), are stopped (SIGTERM, then SIGKILL after 5 s) and waited for, so
# that none outlives the test or writes a sanitizer report after it.
stop_runners() {
	local f p alive pids=()
	while IFS= read -r f; do
		mapfile -t -O "${#pids[@]}" pids < <(lock_holders "$f" | grep -E '^[0-9]+$')
	done < <(find "$T" -name run.lock -type f 2>/dev/null)
	[ "${#pids[@]}" -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null
	for _ in $(seq 50); do
		alive=0
		for p in "${pids[@]}"; do
			kill -0 "$p" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && return 0
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null
}

cleanup() {
	local pid m
	for pid in "${STARTED_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${STARTED_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	stop_runners
	for m in "${MOUNTS[@]}"; do
		umount "$m" 2>/dev/null
	done
	if [ "${KEEP:-0}" = 1 ]; then
		echo "# kept $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT

finish() {
	# Every process this test started has written its sanitizer report
	# by now (servers are stopped first, then the runners they started).
	stop_servers
	stop_runners
	local reports
	reports=$(cat "$T"/san.* 2>/dev/null | head -c 4000)
	is "$reports" "" "no sanitizer reports"
	[ "$VALGRIND_LOGS" = 1 ] && valgrind_verdict
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
	exit $?
}

# valgrind_verdict: one assertion over every valgrind log of the test,
# once the processes writing them (runners, responders the server
# stopped) have exited.
valgrind_verdict() {
	local f pid reports
	for f in "$T"/vg.*; do
		[ -f "$f" ] || continue
		pid=${f##*.}
		for _ in $(seq 600); do
			[ -r "/proc/$pid/stat" ] || break
			awk '{ exit !($3 == "Z") }' "/proc/$pid/stat" && break
			sleep 0.1
		done
	done
	# Reports are "==PID==" lines; "--PID--" lines are valgrind's own
	# notes (3.19 does not know pidfd_open: the polling path runs).
	reports=$(cat "$T"/vg.* 2>/dev/null | grep -v '^--[0-9]*--' | head -c 8000)
	is "$reports" "" "no valgrind errors or leaks ($(find "$T" -maxdepth 1 -name 'vg.*' | wc -l) processes)"
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {	# wait_port PORT: until something listens, at most 10 s
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

wait_file() {	# wait_file PATH [SECONDS]
	local n=$(( ${2:-10} * 10 ))
	for _ in $(seq "$n"); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_gone() {	# wait_gone GLOB-DIR [SECONDS]: until the folder is empty
	local n=$(( ${2:-10} * 10 ))
	for _ in $(seq "$n"); do
		[ -z "$(ls -A "$1" 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	return 1
}

# A runner (hookpipe-run: started on demand by the responder, by a test,
# or --watch) holds flock(LOCK_EX) on SPOOL/run.lock while it moves
# entries (new/ -> cur/ -> done/ retry/ dead/) and its handlers write.
# These helpers look at /proc/locks rather than take that lock: a probe
# holding it even for a moment would make a runner that starts then, or
# the responder's kick, believe another runner is at work and leave the
# event waiting in new/.

lock_holders() {	# lock_holders FILE: pids holding a flock on FILE
	local dev ino key
	[ -r /proc/locks ] || { echo "no-/proc/locks"; return 0; }
	read -r dev ino < <(stat -L -c '%d %i' "$1" 2>/dev/null) || return 0
	# /proc/locks names the file as major:minor:inode, in hex:hex:decimal.
	key=$(printf '%02x:%02x:%s' \
	    $(( ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff) )) \
	    $(( (dev & 0xff) | ((dev >> 12) & ~0xff) )) "$ino")
	# "N: FLOCK ADVISORY WRITE PID DEV:INO ...": held; "N: -> FLOCK"
	# lines are waiters, which hold nothing.
	awk -v k="$key" '$2 == "FLOCK" && $6 == k { print $5 }' /proc/locks
}

runner_idle() {	# runner_idle SPOOL [SECONDS]: until no runner holds run.lock
	local n=$(( ${2:-30} * 10 )) pids
	for _ in $(seq "$n"); do
		pids=$(lock_holders "$1/run.lock")
		[ -z "$pids" ] && return 0
		sleep 0.1
	done
	diag "runner_idle: $1/run.lock still held after ${2:-30} s by pid" \
	    "$(printf '%s\n' "$pids" | sort -u | tr '\n' ' ')"
	return 1
}

# spool_settled SPOOL [SECONDS]: wait, at most SECONDS (30), until the
# spool is at rest: new/ and cur/ empty and no runner holding run.lock,
# or only one lingering with nothing running ("PID idle" in it; looked
# at last: an entry leaves new/ and cur/ only under the lock, and the
# runner says "idle" only with no handler at work).
# Then every entry is in its final folder and every handler the runner
# started has exited, so its files are complete. Use it before looking
# at spool folders or handler output wherever a runner may be at work
# (not where the configuration keeps it off, e.g. runner = /bin/true,
# and the test runs hookpipe-run in the foreground). On time-out it
# says why and marks the test failed (the exit status), without adding
# an assertion.
spool_settled() {
	local sp=$1 s=${2:-30} n left pids
	n=$(( s * 10 ))
	for _ in $(seq "$n"); do
		left=$(find "$sp/new" "$sp/cur" -mindepth 1 2>/dev/null)
		if [ -z "$left" ]; then
			pids=$(lock_holders "$sp/run.lock")
			[ -z "$pids" ] && return 0
			# A runner lingering with nothing running says so.
			[ "$(cut -d' ' -f2 "$sp/run.lock" 2>/dev/null)" = idle ] &&
			    return 0
		fi
		sleep 0.1
	done
	TAP_FAILED=$((TAP_FAILED + 1))
	diag "spool_settled: $sp not at rest after $s s" \
	    "left in new/ cur/: ${left:-none}" \
	    "run.lock held by: $(lock_holders "$sp/run.lock" | tr '\n' ' ')"
	return 1
}

# make_tls: a throw-away self-signed certificate for 127.0.0.1.
make_tls() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	    -keyout "$T/tls.key" -out "$T/tls.crt" 2>/dev/null &&
	cat "$T/tls.crt" "$T/tls.key" > "$T/tls.pem"
}

# lighttpd_conf FILE PORT INI [PROCS]: a server on 127.0.0.1:PORT with
# hookpipe.fcgi mounted at /hooks, configured by INI.
lighttpd_conf() {
	mkdir -p "$T/www"
	cat > "$1" <<EOF
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $2
server.errorlog = "$T/lighttpd.error.log"
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/hooks" => (( "socket" => "$T/hp.sock", "bin-path" => "$BUILD/hookpipe.fcgi", "bin-environment" => ( "HOOKPIPE_CONFIG" => "$3" ), "check-local" => "disable", "max-procs" => ${4:-2} )) )
EOF
}

SERVER_PIDS=()
start_lighttpd() {	# start_lighttpd CONF PORT...
	local conf=$1 pid p
	shift
	"$LIGHTTPD" -D -f "$conf" 2>>"$T/lighttpd.stderr" &
	pid=$!
	STARTED_PIDS+=("$pid")
	SERVER_PIDS+=("$pid")
	for p in "$@"; do
		if ! wait_port "$p"; then
			echo "# lighttpd did not listen on $p" >&2
			cat "$T"/*.error.log >&2 2>/dev/null
			return 1
		fi
	done
}

stop_servers() {
	local pid
	for pid in "${SERVER_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	SERVER_PIDS=()
}

# post URL [curl args...]: sets STATUS, BODY, HEADERS.
post() {
	local url=$1
	shift
	STATUS=$(curl -sk -o "$T/resp.body" -D "$T/resp.headers" \
	    -w '%{http_code}' --max-time 30 "$@" "$url")
	BODY=$(cat "$T/resp.body")
	HEADERS=$(tr -d '\r' < "$T/resp.headers")
}

header() {	# header NAME: its value in the last answer
	printf '%s\n' "$HEADERS" | awk -v n="$1" -F': ' \
	    'tolower($1) == tolower(n) { print $2; exit }'
}

json_get() {	# json_get KEY: a top-level string/number/bool of BODY
	printf '%s' "$BODY" | python3 -c 'import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
print("" if v is None else (json.dumps(v) if isinstance(v, bool) else v))' "$1" 2>/dev/null
}

# text_when REGEX FILE...: the files' text once a line matches REGEX
# (a server may write it after it answered), or as it is after 10 s.
text_when() {
	local re=$1
	shift
	for _ in $(seq 100); do
		cat "$@" 2>/dev/null | grep -Eq -- "$re" && break
		sleep 0.1
	done
	cat "$@" 2>/dev/null
}

count_files() { find "$1" -type f 2>/dev/null | wc -l; }
