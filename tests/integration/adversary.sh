#!/usr/bin/env bash
# adversary.sh: what a second local user, a dying disk and a wrong clock
# can do to hookpipe (issue 16). Each section plays one adversary and
# asserts the defence; each assertion was seen failing on the code from
# before its fix. The other user is "nobody", so the sections that need
# one are skipped unless the test runs as root.
. "$(dirname "$0")/lib.sh"

HP="$BUILD/hookpipe"
RUN="$BUILD/hookpipe-run"
FCGI="$BUILD/hookpipe.fcgi"
TOKEN=adversary-token-0123456789ab
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
# as_nobody COMMAND...: run as the other local user.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

# cgi_post CONFIG BODY [VAR=VALUE...]: one CGI request to the responder,
# no web server; prints the status line's code (nothing when it did not
# answer within 20 s) and keeps the whole answer in $T/cgi.out.
cgi_post() {
	local cfg=$1 body=$2
	shift 2
	printf '%s' "$body" > "$T/cgi.body"
	timeout 20 env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$cfg" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$T/cgi.body")" \
	    HTTP_X_AUTH_TOKEN="$TOKEN" "$@" \
	    "$FCGI" < "$T/cgi.body" > "$T/cgi.out" 2> "$T/cgi.err"
	sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/cgi.out" | tr -d '\r'
}

# ---------------------------------------------------------------------
# 1. A spool created first by another user (squatted).
# sq_ini SPOOL: a config whose spool is SPOOL (handlers in $T/h).
sq_ini() {
	mkdir -p "$T/h"
	printf '#!/bin/sh\ncat > /dev/null\necho ran >> %s/sq.ran\n' "$T" \
	    > "$T/h/sq.event"
	chmod 755 "$T/h/sq.event"
	printf '[hookpipe]\nspool_dir = %s\nhandlers_dir = %s/h\n' "$1" "$T" \
	    > "$T/sq.ini"
	printf 'log_file = %s/sq.log\n[auth]\ntoken_file = %s/token\n' \
	    "$T" "$T" >> "$T/sq.ini"
	printf '[delivery]\nrunner = /bin/true\n' >> "$T/sq.ini"
}
adv_squatted_spool() {
	local out rc
	if [ "$ROOT" != 1 ]; then
		skip "squatted spool" "needs root to play another user"
		return
	fi
	# A shared folder others may write, reachable by nobody.
	chmod 711 "$T"
	mkdir -m 1777 "$T/pub"
	printf 'SECRET\n' > "$T/victim"
	chmod 600 "$T/victim"
	as_nobody sh -c "umask 0; mkdir -m 777 $T/pub/spool &&
	    for d in tmp new cur retry done dead ids hist; do
	        mkdir -m 777 $T/pub/spool/\$d; done &&
	    ln -s $T/victim $T/pub/spool/run.lock &&
	    ln -s $T/victim $T/pub/spool/sync.state"
	sq_ini "$T/pub/spool"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"sq-1"}')" 503 \
	    "squatted spool: the responder answers 503"
	like "$(cat "$T/cgi.out")" '"status":"error"|"reason"' \
	    "squatted spool: the answer carries a JSON reason"
	like "$(cat "$T/cgi.err" "$T/cgi.out")" 'belongs to uid|refused' \
	    "squatted spool: the reason names the foreign owner"
	is "$(find "$T/pub/spool" -type f | wc -l)" 0 \
	    "squatted spool: nothing was stored in it"
	# A forged event, dropped in by the other user.
	as_nobody sh -c "printf '%s\n%s' '{\"event\":\"sq.event\",\"id\":\"forged\",\"endpoint\":null}' '{}' > $T/pub/spool/new/0000000001.000000.1.000001.forged"
	out=$(timeout 20 "$RUN" -c "$T/sq.ini" 2>&1)
	rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ]
	ok $? "squatted spool: hookpipe-run refuses it (exit $rc)"
	like "$out" '^hookpipe-run: fatal: .*belongs to uid' "squatted spool: hookpipe-run says why"
	[ ! -e "$T/sq.ran" ]
	ok $? "squatted spool: the forged event's handler never ran"
	is "$(cat "$T/victim")" SECRET \
	    "squatted spool: nothing was written through the planted links"
	out=$(timeout 20 "$HP" -c "$T/sq.ini" check 2>&1)
	rc=$?
	[ "$rc" != 0 ]
	ok $? "squatted spool: hookpipe check fails (exit $rc)"
	like "$out" '^hookpipe: error: .*spool_dir: .*belongs to uid' \
	    "squatted spool: hookpipe check names the foreign owner"

	# Control: a spool hookpipe makes itself in the same shared folder.
	sq_ini "$T/pub/own"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"sq-2"}')" 200 \
	    "own spool in a shared folder: accepted"
	is "$(find "$T/pub/own/new" -type f | wc -l)" 1 \
	    "own spool: the event is in new/ (the runner is held off)"
	out=$(timeout 20 "$HP" -c "$T/sq.ini" check 2>&1)
	is "$?" 0 "own spool: hookpipe check passes"

	# Our own spool, made group-writable, or with a planted link for
	# run.lock (O_NOFOLLOW): refused.
	chmod g+w "$T/pub/own/new"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"sq-3"}')" 503 \
	    "group-writable new/: 503"
	out=$(timeout 20 "$HP" -c "$T/sq.ini" check 2>&1)
	like "$out" '^hookpipe: error: .*new is writable by its group' \
	    "group-writable new/: hookpipe check says so"
	chmod g-w "$T/pub/own/new"
	rm -f "$T/pub/own/run.lock"
	ln -s "$T/victim" "$T/pub/own/run.lock"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"sq-4"}')" 503 \
	    "run.lock as a symbolic link: 503"
	out=$(timeout 20 "$RUN" -c "$T/sq.ini" 2>&1)
	like "$out" '^hookpipe-run: fatal: .*run.lock is a symbolic link' \
	    "run.lock as a symbolic link: hookpipe-run refuses it"
	is "$(cat "$T/victim")" SECRET \
	    "run.lock as a symbolic link: the file it names is untouched"
	rm -f "$T/pub/own/run.lock"
}

# ---------------------------------------------------------------------
# 2. Check-then-exec race on handlers (RENAME_EXCHANGE loop).
adv_exchange_race() {
	local i out n_evil n_good
	if [ "$ROOT" != 1 ]; then
		skip "handler exchange race" "needs root to play another user"
		return
	fi
	chmod 711 "$T"
	# The runner's program lives in a folder the other user may write
	# (named by absolute path in the INI: hookpipe does not own it).
	mkdir -m 1777 "$T/pub2"
	mkdir -m 777 "$T/pub2/bin"
	printf '#!/bin/sh\necho good >> %s/race.good\n' "$T" \
	    > "$T/pub2/bin/prog"
	chmod 755 "$T/pub2/bin/prog"
	as_nobody sh -c "printf '#!/bin/sh\necho EVIL >> $T/pub2/evil.ran\n' \
	    > $T/pub2/bin/evil && chmod 755 $T/pub2/bin/evil"
	mkdir -p "$T/race-h"
	{
		printf '[hookpipe]\nspool_dir = %s/race-spool\n' "$T"
		printf 'handlers_dir = %s/race-h\nlog_file = %s/race.log\n' \
		    "$T" "$T"
		printf '[auth]\ntoken_file = %s/token\n' "$T"
		printf '[delivery]\nrunner = /bin/true\nretries = 0\n'
		printf 'concurrency = 1\n'
		printf '[event race]\nhandler = %s/pub2/bin/prog\n' "$T"
	} > "$T/race.ini"
	for i in $(seq 150); do
		cgi_post "$T/race.ini" "{\"event\":\"race\",\"id\":\"r-$i\"}" \
		    > /dev/null
	done
	is "$(find "$T/race-spool/new" -type f | wc -l)" 150 \
	    "exchange race: 150 events queued"
	# The other user swaps the two programs as fast as it can.
	as_nobody /usr/bin/python3 -c '
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, stop = (s.encode() for s in sys.argv[1:4])
end = time.time() + 60
while not os.path.exists(stop) and time.time() < end:
    libc.renameat2(-100, a, -100, b, 2)
' "$T/pub2/bin/prog" "$T/pub2/bin/evil" "$T/pub2/stop" &
	local swapper=$!
	STARTED_PIDS+=("$swapper")
	timeout 120 "$RUN" -c "$T/race.ini" > "$T/race.out" 2>&1
	touch "$T/pub2/stop"
	wait "$swapper"
	n_evil=$(cat "$T/pub2/evil.ran" 2>/dev/null | wc -l)
	n_good=$(cat "$T/race.good" 2>/dev/null | wc -l)
	is "$n_evil" 0 "exchange race: the other user's program never ran"
	[ "$n_good" -gt 0 ]
	ok $? "exchange race: the real program ran ($n_good of 150 events)"
	like "$(cat "$T/race.log")" 'refused to run|belongs to uid' \
	    "exchange race: a swapped-in program is refused, with the reason"

	# A handlers_dir others may write is refused at run time.
	chmod 777 "$T/race-h"
	printf '#!/bin/sh\necho ran >> %s/race.inside\n' "$T" \
	    > "$T/race-h/inside"
	chmod 755 "$T/race-h/inside"
	cgi_post "$T/race.ini" '{"event":"inside","id":"in-1"}' > /dev/null
	out=$(timeout 30 "$RUN" -c "$T/race.ini" 2>&1)
	[ ! -e "$T/race.inside" ]
	ok $? "writable handlers_dir: its program does not run"
	like "$(cat "$T/race.log")" 'handlers_dir .*race-h is writable by others' \
	    "writable handlers_dir: the log says why"
	chmod 755 "$T/race-h"
}

# ---------------------------------------------------------------------
# 3. The spool's disk fails under a running runner (EIO).

# alive PID: running, not a zombie.
alive() {
	[ -r "/proc/$1/stat" ] && ! awk '{ exit !($3 == "Z") }' "/proc/$1/stat" 2>/dev/null
}

# cpu_ticks PID: user + system clock ticks so far (empty when gone).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# failing_disk MODE: three events on a spool of its own ext4 image, a
# runner (once, or MODE=watch) in its slow first handler, then the file
# system shuts down under it (EXT4_IOC_SHUTDOWN, NOLOGFLUSH): every
# open and rename answers EIO while the folders still list.
failing_disk() {
	local mode=$1 d=$T/disk-$1 pid c0 c1 c rc i n hz
	hz=$(getconf CLK_TCK)
	mkdir -p "$d/mnt" "$d/h"
	truncate -s 64M "$d/img" && mkfs.ext4 -q "$d/img" &&
	    mount -o loop "$d/img" "$d/mnt" 2>"$d/mount.err" || {
		skip "$mode: a spool on a failing disk" "cannot mount an ext4 image: $(head -c 200 "$d/mount.err")"
		return
	}
	MOUNTS+=("$d/mnt")
	printf '#!/bin/sh\n: > %s/started\nsleep 2\n' "$d" > "$d/h/slow.ev"
	chmod 755 "$d/h/slow.ev"
	printf '[hookpipe]\nspool_dir = %s/mnt/spool\nhandlers_dir = %s/h\nlog_file = %s/delivery.log\n[auth]\ntoken_file = %s/token\n[delivery]\nrunner = /bin/true\nconcurrency = 1\n' \
	    "$d" "$d" "$d" "$T" > "$d/f.ini"
	for i in 1 2 3; do
		cgi_post "$d/f.ini" "{\"event\":\"slow.ev\",\"id\":\"d$i\"}" > /dev/null
	done
	n=$(find "$d/mnt/spool/new" -type f | wc -l)
	[ "$n" = 3 ] || diag "$mode: $n events queued, not 3: $(cat "$T/cgi.out")"
	if [ "$mode" = watch ]; then
		"$RUN" -q --watch -c "$d/f.ini" > "$d/out" 2> "$d/err" &
	else
		"$RUN" -q -c "$d/f.ini" > "$d/out" 2> "$d/err" &
	fi
	pid=$!
	STARTED_PIDS+=("$pid")
	wait_file "$d/started" 10 || diag "$mode: the first handler did not start"
	/usr/bin/python3 -c 'import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.ioctl(fd, 0x8004587d, struct.pack("I", 2))' "$d/mnt" ||
	    diag "$mode: EXT4_IOC_SHUTDOWN failed"
	if [ "$mode" = once ]; then
		# The CPU it uses over the next 6 s (the last reading while
		# it runs; a runner that exited uses no more).
		c0=$(cpu_ticks "$pid")
		c1=$c0
		for _ in $(seq 12); do
			sleep 0.5
			c=$(cpu_ticks "$pid")
			[ -n "$c" ] && c1=$c
		done
		c=$((${c1:-0} - ${c0:-0}))
		ok "$([ "$c" -lt "$hz" ]; echo $?)" \
		    "once: under 1 s of CPU in the 6 s after the disk failed ($c ticks of $hz)"
	else
		# Its handler ends, the move to done/ fails; then at least
		# one pause and claim again before it is told to stop.
		for _ in $(seq 100); do
			grep -q '"state":"failing"' "$d/delivery.log" && break
			sleep 0.1
		done
		sleep 1.5
	fi
	alive "$pid" && kill -TERM "$pid"
	for _ in $(seq 20); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		kill -KILL "$pid"
		[ "$mode" = once ] && fail "once: gone within 2 s of SIGTERM"
	elif [ "$mode" = once ]; then
		pass "once: gone within 2 s of SIGTERM"
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$mode" = watch ]; then
		# 137 (killed) here means SIGTERM did not end it.
		is "$rc" 111 "watch: ends within 2 s of SIGTERM, exit 111 (temporary failure)"
	else
		is "$rc" 111 "once: exit 111 (temporary failure)"
	fi
	like "$(cat "$d/err")" "^hookpipe-run: fatal: .*keeps failing: unable to move .*Input/output error" \
	    "$mode: and says why on stderr"
	is "$(grep -c '"type":"spool",.*"state":"failing"' "$d/delivery.log")" 1 \
	    "$mode: the delivery log says once that the spool fails"
}

adv_failing_disk() {
	if [ "$ROOT" != 1 ]; then
		skip "a spool on a failing disk" "needs root (mount)"
		return
	fi
	if ! command -v mkfs.ext4 > /dev/null || [ ! -x /usr/bin/python3 ]; then
		skip "a spool on a failing disk" "needs mkfs.ext4 and /usr/bin/python3"
		return
	fi
	failing_disk once
	failing_disk watch
}

# ---------------------------------------------------------------------
# 4. FIFOs where hookpipe expects files.

# item 4: config side. fifo_ini [AUTH-LINES] [HOOKPIPE-LINES]: an INI
# for the FIFO cases on stdout.
fifo_ini() {
	printf '[hookpipe]\nspool_dir = %s\nhandlers_dir = %s\n%s\n' \
	    "$T/fifo/spool" "$T/fifo/handlers" "${2:-}"
	printf '[auth]\n%s\n' "${1:-token_file = $T/token}"
	# No runner is started by a request that gets through.
	printf '[delivery]\nrunner = /bin/true\n'
}
# fifo_cgi CONFIG: one CGI request, at most 10 s; sets FIFO_RC (124:
# it hung), FIFO_STATUS, FIFO_OUT (the answer), FIFO_ERR (its stderr).
fifo_cgi() {
	printf '{"event":"x","id":"fifo-1"}' > "$T/fifo/body"
	timeout 10 env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$1" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$T/fifo/body")" \
	    HTTP_X_AUTH_TOKEN="$TOKEN" \
	    "$FCGI" < "$T/fifo/body" > "$T/fifo/out" 2> "$T/fifo/err"
	FIFO_RC=$?
	FIFO_OUT=$(cat "$T/fifo/out")
	FIFO_ERR=$(cat "$T/fifo/err")
	FIFO_STATUS=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/fifo/out" |
	    tr -d '\r')
}
# fifo_refused CONFIG WHAT REGEX: the responder answers 503 with a JSON
# reason at once, hookpipe check and hookpipe-run fail at once; the
# responder's log line and both programs' messages match REGEX.
fifo_refused() {
	local cfg=$1 what=$2 re=$3 out rc

	fifo_cgi "$cfg"
	out=$(printf '%s' "$FIFO_OUT" | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p')
	like "$FIFO_RC:$FIFO_STATUS:$out:$FIFO_ERR" \
	    "^0:503:receiver configuration error:.*$re" \
	    "$what: the CGI responder answers 503 at once, with a JSON reason, and logs why"
	out=$(timeout 10 "$HP" -c "$cfg" check 2>&1)
	rc=$?
	like "$rc:$out" "^1:.*$re" "$what: hookpipe check fails at once, naming it"
	out=$(timeout 10 "$RUN" -c "$cfg" 2>&1)
	rc=$?
	like "$rc:$out" "^1:.*$re" "$what: hookpipe-run fails at once, naming it"
}

adv_fifos() {
	local out rc
	# item 4: config side
	local f=$T/fifo reader
	mkdir -p "$f/spool" "$f/handlers"
	mkfifo -m 600 "$f/token.fifo" "$f/secret.fifo" "$f/log.fifo" \
	    "$f/ini.fifo"
	fifo_ini "token_file = $f/token.fifo" > "$f/token.ini"
	fifo_ini "verify = github
secret_file = $f/secret.fifo" > "$f/secret.ini"
	fifo_ini "" "log_file = $f/log.fifo" > "$f/log.ini"

	fifo_refused "$f/token.ini" "token_file a FIFO" \
	    "token\\.ini:6: \\[auth\\] token_file: $f/token\\.fifo is not a regular file \\(a FIFO\\)"
	out=$(timeout 10 "$HP" -c "$f/secret.ini" check 2>&1)
	like "$?:$out" "^1:.*secret\\.ini:7: \\[auth\\] secret_file: $f/secret\\.fifo is not a regular file \\(a FIFO\\)" \
	    "secret_file a FIFO: hookpipe check fails at once, naming it"
	fifo_refused "$f/ini.fifo" "the INI a FIFO" \
	    "ini\\.fifo: not a regular file \\(a FIFO\\)"
	# Opening a FIFO to write waits for a reader: without one, every
	# program that opens the log would hang.
	fifo_refused "$f/log.ini" "log_file a FIFO" \
	    "log\\.ini:4: \\[hookpipe\\] log_file: $f/log\\.fifo is not a regular file \\(a FIFO\\)"
	# With a reader the open succeeds; a FIFO is still no log (a slow
	# reader would stall every writer).
	timeout 30 cat "$f/log.fifo" > /dev/null &
	reader=$!
	STARTED_PIDS+=("$reader")
	fifo_cgi "$f/log.ini"
	like "$FIFO_RC:$FIFO_STATUS:$FIFO_ERR" "^0:503:.*log\\.fifo is not a regular file" \
	    "log_file a FIFO with a reader: still refused (503)"
	kill "$reader" 2>/dev/null
	wait "$reader" 2>/dev/null

	# item 4: spool side. A FIFO in new/, in ids/ and in hist/: every
	# program answers promptly, the regular event beside it is run.
	sq_ini "$T/fifo-spool"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"f-1"}')" 200 \
	    "fifo: a regular event accepted"
	mkfifo "$T/fifo-spool/new/0000000001.000000.1.000001.fifo"
	mkfifo "$T/fifo-spool/ids/f-2"
	out=$(timeout 20 "$HP" -c "$T/sq.ini" ls 2>&1)
	rc=$?
	[ "$rc" != 124 ]
	ok $? "fifo in new/: hookpipe ls returns (exit $rc)"
	out=$(timeout 20 "$HP" -c "$T/sq.ini" status 2>&1)
	rc=$?
	[ "$rc" != 124 ]
	ok $? "fifo in new/: hookpipe status returns (exit $rc)"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"f-2"}')" 503 \
	    "fifo in ids/: the responder answers 503 at once"
	out=$(timeout 20 "$RUN" -c "$T/sq.ini" 2>&1)
	rc=$?
	[ "$rc" != 124 ]
	ok $? "fifo in new/: hookpipe-run returns (exit $rc)"
	is "$(cat "$T/sq.ran" 2>/dev/null | wc -l)" 1 \
	    "fifo in new/: the regular event beside it ran"
	[ -p "$T/fifo-spool/quarantine/0000000001.000000.1.000001.fifo" ]
	ok $? "fifo in new/: set aside in quarantine/ (no event, not a failed one)"
	like "$(cat "$T/sq.log")" 'fifo.*not a regular file' \
	    "fifo in new/: the log says why"
}

# ---------------------------------------------------------------------
# 5. Terminal escapes in sender- or handler-controlled text; an
#    X-Forwarded-For entry that is not an address.

# ctl_bytes FILE: the bytes of FILE a terminal acts on (ESC, BEL, CR,
# DEL, C1 0x9b, 0xff), in hex, one per line; nothing when it is safe.
ctl_bytes() {
	od -An -v -tx1 "$1" | tr -s ' ' '\n' | grep -Ex '1b|07|0d|7f|9b|ff'
}

# last_request DIR: the last request line of DIR/spool's delivery log.
last_request() {
	grep '"type":"request"' "$1/spool/delivery.log" | tail -n 1
}

# answer_raw PORTFILE: answer one HTTP request on a free port (written
# to PORTFILE once listening) with a body of raw terminal escapes.
answer_raw() {
	python3 - "$1" <<'PY'
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(10)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
c.settimeout(10)
data = b""
while b"\r\n\r\n" not in data:
    data += c.recv(4096)
head, _, rest = data.partition(b"\r\n\r\n")
n = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
     if l.lower().startswith(b"content-length:")]
while len(rest) < (n[0] if n else 0):
    rest += c.recv(4096)
body = b'{"ok":1}\xff\x1b]0;pwned\x07\xc2\x9b2J\x7f\n'
c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
c.close()
PY
}

adv_escapes() {
	local d=$T/esc py st out srvpid
	py=$(python3 -c 'import sys; print(sys.executable)')
	mkdir -p "$d/h"
	# A handler as they are written: it prints a payload field to
	# stderr (then raw bytes of its own) and fails temporarily.
	{
		printf '#!%s\n' "$py"
		printf '%s\n' 'import json, sys' \
		    'msg = json.load(sys.stdin)["msg"]' \
		    'sys.stderr.buffer.write(msg.encode() + b"\n\xff\x1b[2J\xc2\x9b31mALL EVENTS DELIVERED OK\r\n")' \
		    'sys.exit(3)'
	} > "$d/h/echo.ev"
	chmod 755 "$d/h/echo.ev"
	printf '%s\n' '[hookpipe]' "spool_dir = $d/spool" "handlers_dir = $d/h" \
	    'require_https = no' '[auth]' "token_file = $T/token" \
	    'trusted_proxies = 127.0.0.1' '[delivery]' 'runner = /bin/true' \
	    > "$d/e.ini"
	st=$(cgi_post "$d/e.ini" '{"event":"echo.ev","id":"esc-1","msg":"\u001b]0;pwned\u0007 \u001b[2J\u009b31m\u007f done"}' REMOTE_ADDR=192.0.2.5)
	[ "$st" = 200 ] || fail "escapes: the event is accepted" "status $st: $(cat "$T/cgi.out" "$T/cgi.err")"
	"$RUN" -q -c "$d/e.ini"	# runs it once: exit 3, to retry/
	{
		"$HP" -c "$d/e.ini" show esc-1
		"$HP" -c "$d/e.ini" ls
		"$HP" -c "$d/e.ini" status
	} > "$T/esc.out" 2>&1
	out=$(ctl_bytes "$T/esc.out" | sort -u | tr '\n' ' ')
	is "$out" "" "show, ls, status: no ESC, BEL, CR, DEL, 0x9b or 0xff byte reaches the terminal"
	out=$(cat "$T/esc.out")
	like "$out" 'stderr: \\x1b\]0;pwned\\x07 \\x1b\[2J\\u009b31m\\x7f done' \
	    "show: the handler's stderr line, its escapes visible"
	like "$out" '^      stderr: .*\\x1b\[2J\\u009b31mALL EVENTS DELIVERED OK\\x0d$' \
	    "show: its next line is marked stderr too, CR visible"
	like "$out" '"msg": "\\u001b\]0;pwned\\u0007 \\u001b\[2J\\u009b31m\\x7f done"' \
	    "show: the payload's C1 and DEL (json-c writes them raw) escaped"

	# Whatever answers `hookpipe send` writes the body it prints.
	if "$HP" send http://127.0.0.1:1/ --token-file "$T/token" </dev/null 2>&1 |
	    grep -q 'not in this build'; then
		skip "send: the answer's bytes escaped" "built --without-curl"
	else
		answer_raw "$T/esc-srv.port" > "$T/esc-srv.log" 2>&1 &
		srvpid=$!
		STARTED_PIDS+=("$srvpid")
		if wait_file "$T/esc-srv.port"; then
			echo '{"event":"x"}' | "$HP" send \
			    "http://127.0.0.1:$(cat "$T/esc-srv.port")/" \
			    --token-file "$T/token" > "$T/send.out" 2>&1
			out=$(ctl_bytes "$T/send.out" | sort -u | tr '\n' ' ')
			is "$out" "" "send: no raw control byte of the answer reaches the terminal"
			like "$(cat "$T/send.out")" '\{"ok":1\}\\xff\\x1b\]0;pwned\\x07\\u009b2J\\x7f' \
			    "send: the answer's bytes escaped, visibly"
		else
			fail "send: the test server starts" "$(cat "$T/esc-srv.log")"
		fi
		wait "$srvpid" 2>/dev/null
	fi

	# X-Forwarded-For from the trusted proxy: what is not an address is
	# not the client.
	st=$(cgi_post "$d/e.ini" '{"event":"echo.ev","id":"xff-1","msg":"x"}' \
	    REMOTE_ADDR=127.0.0.1 HTTP_X_FORWARDED_FOR='not-an-address')
	is "$st" 400 "X-Forwarded-For 'not-an-address' from the trusted proxy: 400"
	like "$(last_request "$d")" '"remote":"127\.0\.0\.1"' \
	    "and the log names the proxy, not that text"
	st=$(cgi_post "$d/e.ini" '{"event":"echo.ev","id":"xff-2","msg":"x"}' \
	    REMOTE_ADDR=127.0.0.1 HTTP_X_FORWARDED_FOR='1.2.3.4, <script>')
	is "$st" 400 "X-Forwarded-For '1.2.3.4, <script>': 400"
	st=$(cgi_post "$d/e.ini" '{"event":"echo.ev","id":"xff-3","msg":"x"}' \
	    REMOTE_ADDR=127.0.0.1 HTTP_X_FORWARDED_FOR=$'\e]0;pwned\a')
	is "$st" 400 "X-Forwarded-For of terminal escapes: 400"
	out=$(grep -rlE 'not-an-address|script|pwned' "$d/spool/new" 2>/dev/null)
	is "$out" "" "no stored event has any of that text as its remote"
	st=$(cgi_post "$d/e.ini" '{"event":"echo.ev","id":"xff-4","msg":"x"}' \
	    REMOTE_ADDR=127.0.0.1 HTTP_X_FORWARDED_FOR='192.0.2.7:4711')
	out=$("$HP" -c "$d/e.ini" show xff-4 2>&1)
	like "$out" '^remote +192\.0\.2\.7$' \
	    "an address with a port: the client is the address (status $st)"
}

# ---------------------------------------------------------------------
# 6. A clock stepped back (rate limiter); wall-clock values from disk
#    far in the future (prune.stamp, retry due times).
adv_clock() {
	local d=$T/clock codes i ft name
	mkdir -p "$d/h"
	# The rate limiter: 2/s (a burst of 2), one request every 0.7 s,
	# then the wall clock steps back an hour, as NTP may do; the
	# monotonic clock does not move (DONT_FAKE_MONOTONIC=1).
	if ft=$(command -v faketime); then
		printf '[hookpipe]\nspool_dir = %s/spool\nhandlers_dir = %s/h\n[auth]\ntoken_file = %s/token\nrate_limit = 2/s\n[delivery]\nrunner = /bin/true\n' \
		    "$d" "$d" "$T" > "$d/rate.ini"
		printf '#!/bin/sh\nASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" DONT_FAKE_MONOTONIC=1 exec %s -f -1h %s "$@"\n' \
		    "$ft" "$FCGI" > "$d/fcgi-1h"
		chmod 755 "$d/fcgi-1h"
		codes=""
		for i in 1 2 3 4 5 6 7; do
			if [ "$i" -le 3 ]; then
				codes="$codes$(cgi_post "$d/rate.ini" "{\"event\":\"a.b\",\"id\":\"c$i\"}") "
			else
				codes="$codes$(FCGI=$d/fcgi-1h cgi_post "$d/rate.ini" "{\"event\":\"a.b\",\"id\":\"c$i\"}") "
			fi
			sleep 0.7
		done
		is "$codes" "200 200 200 200 200 200 200 " \
		    "rate_limit 2/s at 1 request per 0.7 s, the clock stepped back an hour after 3: no 429"
		grep -q "\"received_at\":\"$(date -u -d '-1 hour' +%Y-%m-%dT%H)" \
		    "$d/spool/new/"* 2>/dev/null ||
		    diag "the requests under faketime did not run an hour behind"
	else
		skip "rate limiter under a clock stepped back" "faketime is not installed (scripts/deps)"
	fi

	# Left while the clock ran a year ahead: a prune.stamp and a retry
	# due time. Neither holds the runner back for a year.
	printf '[hookpipe]\nspool_dir = %s/spool2\nhandlers_dir = %s/h\n[auth]\ntoken_file = %s/token\n[delivery]\nrunner = /bin/true\n' \
	    "$d" "$d" "$T" > "$d/run.ini"
	printf '#!/bin/sh\n: > %s/ran\n' "$d" > "$d/h/r.t"
	chmod 755 "$d/h/r.t"
	[ "$(cgi_post "$d/run.ini" '{"event":"r.t","id":"y1"}')" = 200 ] ||
	    diag "the event for the retry was not stored: $(cat "$T/cgi.out")"
	name=$(ls "$d/spool2/new")
	mv "$d/spool2/new/$name" "$d/spool2/retry/$name"
	touch -d '+1 year' "$d/spool2/retry/$name"
	# A done/ entry received in 2001: past any keep.
	printf '{"event":"old","id":"o1"}\n{}' > "$d/spool2/done/1000000000.000000.1.000001.0123456789abcdef"
	printf x > "$d/spool2/prune.stamp"
	touch -d '+1 year' "$d/spool2/prune.stamp"
	"$RUN" -q -c "$d/run.ini" > "$d/run.out" 2>&1
	if [ -e "$d/ran" ] && [ -e "$d/spool2/done/$name" ]; then
		pass "a retry due a year ahead runs now"
	else
		fail "a retry due a year ahead runs now" \
		    "$("$HP" -c "$d/run.ini" show y1 2>&1 | head -n 20)"
	fi
	ok "$([ ! -e "$d/spool2/done/1000000000.000000.1.000001.0123456789abcdef" ]; echo $?)" \
	    "a prune.stamp a year ahead does not stop pruning"
}

# ---------------------------------------------------------------------
# 7. Events of an endpoint found by the sender's id.
adv_endpoint_ids() {
	local d=$T/epids st out rc
	mkdir -p "$d/h/gh"
	printf '#!/bin/sh\nexit 0\n' > "$d/h/ping"
	cp "$d/h/ping" "$d/h/gh/ping"
	chmod 755 "$d/h/ping" "$d/h/gh/ping"
	printf '%s\n' '[hookpipe]' "spool_dir = $d/spool" "handlers_dir = $d/h" \
	    'require_https = no' '[auth]' "token_file = $T/token" \
	    '[delivery]' 'runner = /bin/true' '[endpoint gh]' \
	    "token_file = $T/token" > "$d/e.ini"
	# The same sender id on /hooks/gh and on the default endpoint, and
	# one only /hooks/gh has.
	for req in 'gh-1 /gh' 'gh-1 /' 'only-gh /gh'; do
		set -- $req
		st=$(cgi_post "$d/e.ini" "{\"event\":\"ping\",\"id\":\"$1\"}" PATH_INFO="$2")
		[ "$st" = 200 ] || fail "endpoint ids: $1 on $2 is accepted" "status $st: $(cat "$T/cgi.out")"
	done
	"$RUN" -q -c "$d/e.ini"	# all three to done/, where replay takes them

	out=$("$HP" -c "$d/e.ini" show gh-1 --endpoint gh 2>&1)
	like "$out" '^endpoint +gh$' "show gh-1 --endpoint gh finds the event of /hooks/gh"
	out=$("$HP" -c "$d/e.ini" show only-gh 2>&1)
	like "$out" '^endpoint +gh$' "show only-gh: an endpoint's id alone is found"
	out=$("$HP" -c "$d/e.ini" show gh+gh-1 2>&1)
	like "$out" '^endpoint +gh$' "show gh+gh-1 (the ids/ key) finds it too"
	out=$("$HP" -c "$d/e.ini" show gh-1 2>&1)
	rc=$?
	is "$rc" 1 "show gh-1 alone, which two endpoints have: exit 1"
	like "$out" "^hookpipe: fatal: event id 'gh-1' is in 2 endpoints: the default endpoint, \[endpoint gh\]; pick one with --endpoint" \
	    "and it says so, naming both"
	out=$("$HP" -c "$d/e.ini" show gh-1 --endpoint nosuch 2>&1)
	rc=$?
	like "$rc: $out" "^1: hookpipe: fatal: .*has no \[endpoint nosuch\]" "show --endpoint of an unknown endpoint: exit 1, says so"
	out=$("$HP" -c "$d/e.ini" replay gh-1 --endpoint gh 2>&1)
	rc=$?
	like "$rc: $out" '^0: replayed [^ ]+ \(ping, from done\)' "replay gh-1 --endpoint gh replays it"
	like "$("$HP" -c "$d/e.ini" show gh-1 --endpoint gh 2>&1)" '^state +new$' \
	    "the event of /hooks/gh is back in new/"
	like "$("$HP" -c "$d/e.ini" show gh-1 --endpoint '' 2>&1)" '^state +done$' \
	    "the default endpoint's gh-1 (--endpoint '') stays in done/"
}

# ---------------------------------------------------------------------
# 8. A state folder on another file system.
adv_cross_fs() {
	local shm out
	shm=$(mktemp -d /dev/shm/hookpipe-adv.XXXXXX 2>/dev/null) || {
		skip "state folder on another file system" "no /dev/shm"
		return
	}
	if [ "$(stat -c %d /dev/shm)" = "$(stat -c %d "$T")" ]; then
		rmdir "$shm"
		skip "state folder on another file system" "/dev/shm is $T's"
		return
	fi
	sq_ini "$T/xfs"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"x-1"}')" 200 \
	    "cross-fs: control event accepted"
	rmdir "$T/xfs/done"
	ln -s "$shm" "$T/xfs/done"
	is "$(cgi_post "$T/sq.ini" '{"event":"sq.event","id":"x-2"}')" 503 \
	    "cross-fs: done/ on another file system: 503"
	out=$(timeout 20 "$RUN" -c "$T/sq.ini" 2>&1)
	like "$out" '^hookpipe-run: fatal: .*done is on another file system' \
	    "cross-fs: hookpipe-run refuses the spool, naming done/"
	is "$(find "$T/xfs/cur" -type f | wc -l)" 0 \
	    "cross-fs: no event was claimed into cur/"
	out=$(timeout 20 "$HP" -c "$T/sq.ini" check 2>&1)
	like "$out" '^hookpipe: error: .*done is on another file system' \
	    "cross-fs: hookpipe check names it"
	rm -f "$T/xfs/done"
	rm -rf "$shm"
}

# ---------------------------------------------------------------------
# 9. A trickling client; truncated shared files; documentation.

# item 9: drain. drain_run MODE LENGTH: the CGI responder with its stdin
# a unix socket, as mod_cgid gives it, and CONTENT_LENGTH=LENGTH over
# max_body (413, refused before the body). The sender trickles a byte a
# second (trickle) or writes as fast as it can (fast), for at most 20 s.
# Prints "STATUS SECONDS SENT ERROR": the answer's status, how long the
# responder lived, the bytes the sender got written, and its error.
drain_run() {
	python3 - "$FCGI" "$T/drain.ini" "$T/drain.out" "$TOKEN" "$1" "$2" \
	    2> "$T/drain.py.err" <<'PY'
import os, socket, subprocess, sys, threading, time
fcgi, cfg, out, token, mode, length = sys.argv[1:7]
length = int(length)
a, b = socket.socketpair()
env = {"PATH": "/usr/bin:/bin", "HOOKPIPE_CONFIG": cfg,
       "REQUEST_METHOD": "POST", "HTTPS": "on",
       "CONTENT_TYPE": "application/json",
       "CONTENT_LENGTH": str(length), "HTTP_X_AUTH_TOKEN": token}
for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
    if k in os.environ:
        env[k] = os.environ[k]
with open(out, "wb") as o, open(out + ".err", "wb") as e:
    p = subprocess.Popen([fcgi], stdin=a, stdout=o, stderr=e, env=env)
a.close()
t0 = time.monotonic()
sent, err = 0, "none"


def feed():
    global sent, err
    try:
        if mode == "trickle":
            while p.poll() is None and time.monotonic() - t0 < 20:
                sent += b.send(b"x")
                time.sleep(1)
        else:
            chunk = b" " * 65536
            while sent < length and time.monotonic() - t0 < 20:
                sent += b.send(chunk[:min(len(chunk), length - sent)])
    except OSError as x:
        err = type(x).__name__
    try:
        b.shutdown(socket.SHUT_WR)
    except OSError:
        pass


th = threading.Thread(target=feed, daemon=True)
th.start()
try:
    p.wait(timeout=30)
except subprocess.TimeoutExpired:
    p.kill()
    p.wait()
took = time.monotonic() - t0
th.join(5)
b.close()
with open(out, "rb") as o:
    first = o.readline().decode("latin-1").split()
status = first[1] if len(first) > 1 else "-"
print("%s %d %d %s" % (status, int(took), sent, err))
PY
}

adv_smaller() {
	# item 9: drain
	local r
	mkdir -p "$T/drain/spool" "$T/drain/handlers"
	cat > "$T/drain.ini" <<EOF
[hookpipe]
spool_dir = $T/drain/spool
handlers_dir = $T/drain/handlers
max_body = 1K
[auth]
token_file = $T/token
EOF
	# Before any authentication: a byte a second must not keep the
	# process (the bound is 5 s plus 1 s per 64 KiB announced).
	r=$(drain_run trickle 4096)
	like "$r" '^413 [0-8] ' \
	    "a refused body trickled a byte a second: the responder exits within 9 s ($r)"
	# The mod_cgid fix keeps working: a body sent at once is read to
	# its end, so the sender writes all of it and the 413 reaches it.
	r=$(drain_run fast 524288)
	is "$r" "413 0 524288 none" \
	    "a refused body of 512 KiB sent at once: drained to its end"
	# A sender announcing 64 MiB is cut off after max_body + 1 MiB.
	r=$(drain_run fast 67108864)
	like "$r" '^413 [0-9] [0-9]{1,7} (BrokenPipeError|ConnectionResetError)$' \
	    "a refused body of 64 MiB: the drain stops after max_body + 1 MiB ($r)"

	# item 9: ratelimit
	# SPOOL/ratelimit truncated (to 0, then to 5 bytes) between the
	# requests of a FastCGI responder under lighttpd that has it open:
	# normal answers go on, no responder dies.
	local rd=$T/rl rport rpid codes size j p
	mkdir -p "$rd/h"
	printf '[hookpipe]\nspool_dir = %s/spool\nhandlers_dir = %s/h\nrequire_https = no\n[auth]\ntoken_file = %s/token\nrate_limit = 100/s\n[delivery]\nrunner = /bin/true\n' \
	    "$rd" "$rd" "$T" > "$rd/rl.ini"
	rport=$(free_port)
	lighttpd_conf "$rd/lighttpd.conf" "$rport" "$rd/rl.ini" 1
	sed -i "s|$T/lighttpd.error.log|$rd/error.log|; s|$T/hp.sock|$rd/hp.sock|" "$rd/lighttpd.conf"
	if start_lighttpd "$rd/lighttpd.conf" "$rport"; then
		rpid=${SERVER_PIDS[-1]}
		post "http://127.0.0.1:$rport/hooks" -H 'Content-Type: application/json' \
		    -H "x-auth-token: $TOKEN" --data-binary '{"event":"a.b","id":"t0"}'
		codes="$STATUS "
		for size in 0 5; do
			truncate -s "$size" "$rd/spool/ratelimit"
			for j in 1 2; do
				post "http://127.0.0.1:$rport/hooks" -H 'Content-Type: application/json' \
				    -H "x-auth-token: $TOKEN" --data-binary "{\"event\":\"a.b\",\"id\":\"t$size$j\"}"
				codes="$codes$STATUS "
			done
		done
		is "$codes" "200 200 200 200 200 " \
		    "ratelimit truncated to 0, then 5 bytes, under a running responder: normal answers"
		unlike "$(cat "$rd/error.log" 2>/dev/null)" 'child (signalled|exited)|died|are down' \
		    "and lighttpd saw no responder crash"
		like "$(cat "$rd/spool/delivery.log")" 'rate_limit table .*damaged and started afresh' \
		    "and the delivery log says the table started afresh"
		# Stop this server only: the other blocks may run their own.
		kill "$rpid" 2>/dev/null
		wait "$rpid" 2>/dev/null
		for p in "${!SERVER_PIDS[@]}"; do
			[ "${SERVER_PIDS[$p]}" = "$rpid" ] && unset "SERVER_PIDS[$p]"
		done
	else
		fail "lighttpd starts for the ratelimit block"
	fi
}

adv_squatted_spool
adv_exchange_race
adv_failing_disk
adv_fifos
adv_escapes
adv_clock
adv_endpoint_ids
adv_cross_fs
adv_smaller
finish
