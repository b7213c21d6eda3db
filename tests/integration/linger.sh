#!/usr/bin/env bash
# linger.sh: the runner the responder starts stays for [delivery] linger
# seconds once the spool is drained, so that a burst under lighttpd
# (several FastCGI processes, concurrent clients) is served by one
# runner, not one per request; a retry that falls due meanwhile runs;
# the runner then exits. linger = 0: it exits as soon as it is drained.
# By hand (no --linger, as cron runs it) it never lingers; SIGTERM ends
# a linger at once.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
TOKEN='linger-token-0123456789abcdef'
mkdir -p "$T/h" "$T/rec" "$T/rec0" "$T/rec2"
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
# Each run of a handler is one line: the event's id and the attempt.
cat > "$T/h/burst" <<'SH'
#!/bin/sh
echo "$HOOKPIPE_ID $HOOKPIPE_ATTEMPT" >> "$REC/runs"
SH
# Fails its first attempt (a temporary failure: retry/), then succeeds.
cat > "$T/h/flaky" <<'SH'
#!/bin/sh
echo "$HOOKPIPE_ID $HOOKPIPE_ATTEMPT" >> "$REC/runs"
[ "$HOOKPIPE_ATTEMPT" -gt 1 ]
SH
# The runner the responders start: one line per start (its pid, which
# the exec keeps), then the real one with the responder's arguments.
cat > "$T/runner" <<EOF
#!/bin/sh
echo \$\$ >> "$T/starts"
exec "$BUILD/hookpipe-run" "\$@"
EOF
chmod 755 "$T/h/burst" "$T/h/flaky" "$T/runner"

ini() {	# ini SPOOL REC LINGER: a configuration on stdout
	cat <<EOF
[hookpipe]
spool_dir = $1
handlers_dir = h
require_https = no
[auth]
token_file = token
[delivery]
runner = $T/runner
linger = $3
[event flaky]
backoff = 1s
[env]
REC = $T/$2
EOF
}
# 5 s rather than the default 2: a loaded machine does not end the
# linger between two requests of the burst.
ini spool rec 5 > "$T/l.ini"
ini spool0 rec0 0 > "$T/l0.ini"

serve() {	# serve NAME INI PORT: lighttpd with 4 FastCGI responders
	cat > "$T/$1.conf" <<EOF
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $3
server.errorlog = "$T/$1.error.log"
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/hooks" => (( "socket" => "$T/$1.sock", "bin-path" => "$BUILD/hookpipe.fcgi", "bin-environment" => ( "HOOKPIPE_CONFIG" => "$2", "ASAN_OPTIONS" => "$ASAN_OPTIONS", "UBSAN_OPTIONS" => "$UBSAN_OPTIONS" ), "check-local" => "disable", "max-procs" => 4 )) )
EOF
	start_lighttpd "$T/$1.conf" "$3"
}

# send PORT EVENT PREFIX N CLIENTS: prints how many got 200. Each client
# pauses 30 ms after each answer, as a sender's queue does between its
# posts: a runner that exits once drained then exits between two events,
# and the next one starts another (with 8 clients, the pauses are short
# against the linger).
send() {
	"$PY" - "$@" "$TOKEN" <<'PY'
import http.client, sys, threading, time
port, event, prefix, n, clients, token = sys.argv[1:7]
n, clients = int(n), int(clients)
ok = []
def client(k):
    for i in range(k, n, clients):
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
        body = '{"event":"%s","id":"%s-%d"}' % (event, prefix, i)
        c.request("POST", "/hooks", body, {"Content-Type": "application/json",
                                            "x-auth-token": token})
        r = c.getresponse()
        r.read()
        if r.status == 200:
            ok.append(i)
        c.close()
        time.sleep(0.03)
ts = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
for t in ts: t.start()
for t in ts: t.join()
print(len(ok))
PY
}

starts() { cat "$T/starts" 2>/dev/null | wc -l | tr -d ' '; }

# alive PID: running (a zombie its parent has not reaped has exited).
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }		# the state, after the command's name
	[ "${st%% *}" != Z ]
}

# runners_gone: every runner the wrapper started has exited, at most
# 10 s.
runners_gone() {
	local pid left
	for _ in $(seq 100); do
		left=
		for pid in $(cat "$T/starts" 2>/dev/null); do
			alive "$pid" && left="$left $pid"
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	diag "runners still running:$left"
	return 1
}

# drained SPOOL N: until N entries are in done/ and new/ cur/ are empty
# (the runner may go on lingering), at most 60 s.
drained() {
	for _ in $(seq 600); do
		[ "$(count_files "$1/done")" -ge "$2" ] &&
		    [ -z "$(find "$1/new" "$1/cur" -mindepth 1 2>/dev/null)" ] &&
		    return 0
		sleep 0.1
	done
	diag "drained: $(count_files "$1/done") of $2 in $1/done"
	return 1
}

mkdir -p "$T/www"
PORT=$(free_port)
serve l "$T/l.ini" "$PORT" || { fail "lighttpd starts"; finish; }

# One event starts the runner; the burst follows while it lingers.
is "$(send "$PORT" burst warm 1 1)" 1 "the first event is accepted"
for _ in $(seq 300); do
	[ -n "$(lock_holders "$T/spool/run.lock")" ] && break
	[ "$(count_files "$T/spool/done")" -ge 1 ] && break
	sleep 0.1
done
is "$(send "$PORT" burst b 200 8)" 200 "a burst of 200 events from 8 clients is accepted"
drained "$T/spool" 201
n=$(starts)
ok "$([ "$n" -ge 1 ] && [ "$n" -le 3 ]; echo $?)" "201 events started at most 3 runners (started $n)"

# A retry that falls due while the runner lingers is run by it.
is "$(send "$PORT" flaky f 1 1)" 1 "an event whose handler fails once is accepted"
runner_idle "$T/spool" 60
ok $? "the runner exits once it lingered (linger = 5)"
runners_gone
ok $? "no runner process is left"
spool_settled "$T/spool"
is "$(count_files "$T/spool/done")" 202 "every event is in done/"
is "$(grep -c '^b-' "$T/rec/runs")" 200 "the burst's handlers ran 200 times"
is "$(grep '^b-' "$T/rec/runs" | cut -d' ' -f1 | sort -u | wc -l | tr -d ' ')" 200 \
    "each event of the burst ran its handler once"
is "$(grep '^f-' "$T/rec/runs" | tr '\n' ' ')" "f-0 1 f-0 2 " \
    "the retry due during the linger ran (attempt 2) without a new event"
is "$(count_files "$T/spool/retry")" 0 "nothing is left in retry/"
n=$(starts)
ok "$([ "$n" -le 3 ]; echo $?)" "still at most 3 runners in all (started $n)"

# A burst that finds no runner: the 8 clients' first requests come
# together to 4 responders, each sees run.lock free, and yet one runner
# starts: the first responder takes the lock and hands it to the runner
# it starts (HOOKPIPE_LOCK_FD), so the others find it held.
: > "$T/starts"
ini spool2 rec2 5 > "$T/l2.ini"
PORT2=$(free_port)
serve l2 "$T/l2.ini" "$PORT2" || { fail "lighttpd starts (cold burst)"; finish; }
is "$(send "$PORT2" burst c 80 8)" 80 "a cold burst of 80 events from 8 clients is accepted"
drained "$T/spool2" 80
is "$(starts)" 1 "the cold burst started one runner"
is "$(sort -u "$T/rec2/runs" | wc -l | tr -d ' ')" 80 "its 80 handlers ran once each"
runner_idle "$T/spool2" 60
runners_gone
ok $? "that runner exits once it lingered"

# linger = 0: the runner leaves as soon as nothing is due; the retry it
# set up waits in retry/ for the next runner.
: > "$T/starts"
PORT0=$(free_port)
serve l0 "$T/l0.ini" "$PORT0" || { fail "lighttpd starts (linger = 0)"; finish; }
is "$(send "$PORT0" flaky z 1 1)" 1 "linger = 0: an event whose handler fails once is accepted"
spool_settled "$T/spool0"
runners_gone
ok $? "linger = 0: no runner process is left after the drain"
is "$(starts)" 1 "linger = 0: one runner started"
is "$(cat "$T/rec0/runs" 2>/dev/null)" "z-0 1" "linger = 0: the handler ran once"
is "$(count_files "$T/spool0/retry")" 1 "linger = 0: the retry waits in retry/ (no runner stayed for it)"

# By hand, as cron runs it (no --linger), it does not linger, however
# long the configuration says; with --linger, SIGTERM ends the wait.
ini spool1 rec 600 > "$T/long.ini"
timeout 60 "$BUILD/hookpipe-run" -q -c "$T/long.ini"
is "$?" 0 "without --linger (cron) it exits once drained, linger = 600 notwithstanding"
"$BUILD/hookpipe-run" -q --linger -c "$T/long.ini" &
pid=$!
STARTED_PIDS+=("$pid")
for _ in $(seq 300); do
	[ -n "$(lock_holders "$T/spool1/run.lock")" ] && break
	alive "$pid" || break
	sleep 0.1
done
like "$(lock_holders "$T/spool1/run.lock")" "^$pid\$" "--linger: the drained runner keeps the lock"
kill -TERM "$pid" 2>/dev/null
for _ in $(seq 100); do
	alive "$pid" || break
	sleep 0.1
done
alive "$pid"
ok "$((! $?))" "SIGTERM ends the linger at once (well before 600 s)"
wait "$pid"
is "$?" 0 "and the runner exits 0"
finish
