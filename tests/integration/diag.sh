#!/usr/bin/env bash
# diag.sh: the three programs speak in one form, "PROG: fatal|error|
# warning: what: why", and exit with the codes of one table (0 ok,
# 1 failure, 2 usage, 75 busy, 111 temporary): a real failure of each, a
# busy runner lock in both of hookpipe-run's modes, and a handler that
# cannot be started, told so under the name of the program that started
# it (hookpipe.fcgi, hookpipe-run, hookpipe replay --run).
. "$(dirname "$0")/lib.sh"

HP="$BUILD/hookpipe"
RUN="$BUILD/hookpipe-run"
FCGI="$BUILD/hookpipe.fcgi"
TOKEN=diag-token-0123456789abcdef
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1

# one_form PROG TEXT DESCRIPTION: TEXT is not empty and each of its lines
# is a diagnostic of PROG in the one form, or a delivery log record (JSON)
# that had nowhere else to go.
one_form() {
	local bad
	bad=$(printf '%s\n' "$2" | grep -Ev "^$1: (fatal|error|warning): [^ ]" |
	    grep -v '^{"time":')
	if [ -n "$2" ] && [ -z "$bad" ]; then
		pass "$3"
	else
		fail "$3" "$(printf 'not in the form: %s' "${bad:-(nothing said)}" | head -c 600)"
	fi
}

# cgi_post CONFIG BODY [COMMAND...]: one CGI request to the responder,
# no web server, run through COMMAND when given (setpriv); prints the
# status line's code, keeps its stderr in $T/cgi.err.
cgi_post() {
	local cfg=$1
	printf '%s' "$2" > "$T/cgi.body"
	shift 2
	timeout 20 "$@" env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$cfg" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$T/cgi.body")" \
	    HTTP_X_AUTH_TOKEN="$TOKEN" \
	    "$FCGI" < "$T/cgi.body" > "$T/cgi.out" 2> "$T/cgi.err"
	sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/cgi.out" | tr -d '\r'
}

# ini NAME SPOOL: a configuration whose responder starts no runner.
ini() {
	cat > "$T/$1.ini" <<EOF
[hookpipe]
spool_dir = $2
handlers_dir = $T/h
log_file = $T/$1.log
[auth]
token_file = $T/token
[delivery]
runner = /bin/true
retries = 0
[event noexec.sync]
mode = sync
handler = noexec.ev
EOF
}
# A handler whose #! interpreter does not exist: it passes every check
# made before the spawn (a regular executable file of ours, in
# handlers_dir), and its exec fails with ENOENT.
mkdir -p "$T/h"
printf '#!%s/no-such-interpreter\n' "$T" > "$T/h/noexec.ev"
chmod 755 "$T/h/noexec.ev"
ini d "$T/spool"

# --- a real failure of each program: one fatal line in the form --------
out=$("$HP" -c "$T/missing.ini" status 2>&1)
rc=$?
like "$rc:$out" '^1:' "hookpipe, a missing configuration: exit 1"
like "$out" "^hookpipe: fatal: unable to load $T/missing.ini: 1 error: fix it" \
    "hookpipe: the fatal line is 'hookpipe: fatal: what: why'"
one_form hookpipe "$out" "hookpipe: every line it says is in the form"
out=$("$RUN" -c "$T/missing.ini" 2>&1)
rc=$?
like "$rc:$out" '^1:' "hookpipe-run, a missing configuration: exit 1"
like "$out" "^hookpipe-run: fatal: unable to load $T/missing.ini: 1 error" \
    "hookpipe-run: the fatal line is 'hookpipe-run: fatal: what: why'"
like "$out" "^hookpipe-run: error: $T/missing.ini: cannot read the configuration: No such file or directory" \
    "hookpipe-run: the configuration's problem as an error line, with errno's text"
one_form hookpipe-run "$out" "hookpipe-run: every line it says is in the form"
out=$("$FCGI" -x 2>&1 >/dev/null)
rc=$?
like "$rc:$out" '^2:hookpipe.fcgi: fatal: unknown option -x' \
    "hookpipe.fcgi, an unknown option: exit 2, 'hookpipe.fcgi: fatal: unknown option -x'"
out=$("$HP" ls --nope 2>&1 >/dev/null)
rc=$?
like "$rc:$out" '^2:hookpipe: fatal: unknown or ambiguous option --nope' \
    "hookpipe ls, an unknown option: exit 2, in the form (not 'ls: unrecognized option')"

# A spool it may not use: the other user's, mode 700.
if [ "$ROOT" = 1 ]; then
	chmod 711 "$T"
	mkdir -m 700 "$T/rootspool"
	cp "$T/token" "$T/ntoken"
	chown nobody "$T/ntoken"
	ini n "$T/rootspool"
	sed -i "s|^token_file = .*|token_file = $T/ntoken|" "$T/n.ini"
	chmod 644 "$T/n.ini"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    "$RUN" -c "$T/n.ini" 2>&1)
	rc=$?
	like "$rc:$out" "^1:hookpipe-run: fatal: .*rootspool.*: Permission denied" \
	    "hookpipe-run, a spool it may not use: exit 1, 'hookpipe-run: fatal: ...: Permission denied'"
	one_form hookpipe-run "$out" "hookpipe-run: nothing else is said"
	out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
	    "$HP" -c "$T/n.ini" ls 2>&1 >/dev/null)
	rc=$?
	like "$rc:$out" "^1:hookpipe: fatal: .*rootspool.*: Permission denied" \
	    "hookpipe ls, a spool it may not use: exit 1, in the form"
	is "$(cgi_post "$T/n.ini" '{"event":"x"}' setpriv --reuid=nobody \
	    --regid=nogroup --clear-groups --)" 503 \
	    "hookpipe.fcgi, a spool it may not use: 503"
	err=$(cat "$T/cgi.err")
	like "$err" "^hookpipe.fcgi: error: .*rootspool.*: Permission denied" \
	    "hookpipe.fcgi: the spool's problem as an error line, in the form"
	like "$err" "^hookpipe.fcgi: error: unable to load $T/n.ini: every request will be answered 503" \
	    "hookpipe.fcgi: then what follows (it goes on: error, not fatal)"
	one_form hookpipe.fcgi "$err" "hookpipe.fcgi: every line it says is in the form"
else
	for d in "hookpipe-run" "hookpipe ls" "hookpipe.fcgi"; do
		skip "$d, a spool it may not use" "needs root to run as nobody"
	done
fi

# --- a busy runner lock: exit 75, in both modes --------------------------
ini b "$T/bspool"
"$RUN" -q --watch -c "$T/b.ini" > "$T/w.out" 2>&1 &
wpid=$!
STARTED_PIDS+=("$wpid")
for _ in $(seq 100); do
	lock_holders "$T/bspool/run.lock" 2>/dev/null | grep -qx "$wpid" && break
	sleep 0.1
done
lock_holders "$T/bspool/run.lock" 2>/dev/null | grep -qx "$wpid" ||
    diag "the watching runner $wpid did not take the lock within 10 s"
out=$("$RUN" -c "$T/b.ini" 2>&1)
rc=$?
is "$rc" 75 "once, another runner holds the lock: exit 75 (busy), not 0"
like "$out" "^hookpipe-run: another runner is at work on $T/bspool$" \
    "once: and says so on standard output"
out=$("$RUN" -q --watch -c "$T/b.ini" 2>&1)
rc=$?
like "$rc:$out" "^75:hookpipe-run: fatal: not watching $T/bspool: another runner is at work on it$" \
    "--watch, another runner holds the lock: exit 75 (busy), not 1 (failure), in the form"
kill -TERM "$wpid"
wait "$wpid"
is "$?" 0 "the watching runner, stopped by SIGTERM: exit 0"
out=$("$RUN" -c "$T/b.ini" 2>&1)
is "$?" 0 "once, with the lock free: exit 0"

# --- a handler that cannot be started, under its spawner's name ----------
# handler_line LOG ID: the last handler line of that event's attempts.
handler_line() {
	grep '"type":"handler"' "$1" | grep "\"id\":\"$2\"" | tail -n1
}
is "$(cgi_post "$T/d.ini" '{"event":"noexec.sync","id":"s1"}')" 500 \
    "a sync handler that cannot be started: 500"
like "$(handler_line "$T/d.log" s1)" "\"stderr\":\"hookpipe.fcgi: fatal: unable to run $T/h/noexec.ev: No such file or directory" \
    "its stderr says 'hookpipe.fcgi: fatal: unable to run', not 'hookpipe:'"
is "$(cgi_post "$T/d.ini" '{"event":"noexec.ev","id":"q1"}')" 200 \
    "a queued event for that handler: 200"
"$RUN" -q -c "$T/d.ini"
is "$?" 0 "hookpipe-run: a handler that failed does not change the exit status"
like "$(handler_line "$T/d.log" q1)" "\"stderr\":\"hookpipe-run: fatal: unable to run $T/h/noexec.ev: No such file or directory" \
    "run by hookpipe-run, it says 'hookpipe-run: fatal: unable to run'"
like "$("$HP" -c "$T/d.ini" show q1)" "stderr: hookpipe-run: fatal: unable to run $T/h/noexec.ev" \
    "hookpipe show prints that line with the attempt"
"$HP" -c "$T/d.ini" replay --run q1 > /dev/null
like "$(handler_line "$T/d.log" q1)" "\"stderr\":\"hookpipe: fatal: unable to run $T/h/noexec.ev: No such file or directory" \
    "run by hookpipe replay --run, it says 'hookpipe: fatal: unable to run'"

finish
