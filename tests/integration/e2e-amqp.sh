#!/usr/bin/env bash
# e2e-amqp.sh: the whole path of DESIGN.md's "past one machine": two
# receivers (two lighttpd + hookpipe.fcgi, each its own spool and
# runner, forward = amqp:// with every AMQP key left at its default) and
# two hookpipe-worker processes (their own spools and handlers) on one
# real RabbitMQ, the exchange declared by the workers as a shard exchange
# (worker a owns shards 0-31, b 32-63).
#  a. 2,000 events through the receivers, half to each: every handler
#     ran exactly once on a worker, byte-exact, with the single-host
#     environment (HOOKPIPE_EVENT, HOOKPIPE_ID, HOOKPIPE_ENDPOINT);
#  b. the same 500 ids sent to both receivers (a sender retrying through
#     a load balancer): each ran once;
#  c. the broker killed -9 mid-load and started again: no acknowledged
#     event lost, none ran twice, none twice at once (a republished
#     copy reaches the worker its id's shard names, whose ids/ drops
#     it, whatever the broker rebuilt). While it is down: hookpipe
#     status names the backlog and the connection failure per
#     destination, hookpipe check --connect fails; up again: it passes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rabbitmq-lib.sh"

PY=/usr/bin/python3
export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"	# kill -9 below
if [ ! -x "$BUILD/hookpipe-worker" ]; then
	skip "e2e-amqp" "built without librabbitmq"
	finish
fi
if ! rabbitmq_available; then
	skip "e2e-amqp" "rabbitmq-server not installed (scripts/deps)"
	finish
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
start_rabbitmq || { echo "Bail out! rabbitmq-server did not start"; exit 1; }

TOKEN=tok-e2e-0123456789abcdef
GHTOKEN=tok-gh-0123456789abcdef
printf '%s\n' "$RMQ_PASS" > "$T/broker.secret"
printf '%s\n' "$TOKEN" > "$T/token"
printf '%s\n' "$GHTOKEN" > "$T/gh.token"
chmod 600 "$T/broker.secret" "$T/token" "$T/gh.token"
mkdir -p "$T/h/gh" "$T/rh/gh" "$T/rec/locks" "$T/rec/out" "$T/wa" "$T/wb"
chmod 755 "$T/h" "$T/h/gh" "$T/rh" "$T/rh/gh"
: > "$T/rec/runs.log"
# The workers' handler: the lock proves no other run of this id is
# alive; it keeps the payload and the environment of each run.
cat > "$T/h/k" <<'SH'
#!/bin/sh
exec 9>>"$REC/locks/${HOOKPIPE_ENDPOINT:-_}.$HOOKPIPE_ID"
if ! flock -n 9; then
	echo "$HOOKPIPE_ID" >> "$REC/concurrent.log"
	exit 3
fi
cat > "$REC/out/${HOOKPIPE_ENDPOINT:-_}.$HOOKPIPE_ID.$$"
echo "${HOOKPIPE_ENDPOINT:-_} $HOOKPIPE_ID $HOOKPIPE_EVENT ${HOOKPIPE_ENDPOINT+set} $WORKER" >> "$REC/runs.log"
SH
chmod 755 "$T/h/k"
cp "$T/h/k" "$T/h/gh/k"

# Two workers: nothing about the exchange but its type and the shards
# each owns (the name is the default both sides share).
declare -A SHARDS=([a]=0-31 [b]=32-63)
for w in a b; do
	cat > "$T/$w.ini" <<EOF
[hookpipe]
spool_dir = $T/w$w/spool
handlers_dir = $T/h
[auth]
token_file = $T/token
[endpoint gh]
token_file = $T/gh.token
[delivery]
retries = 1000
backoff = 1s
concurrency = 4
[env]
REC = $T/rec
WORKER = $w
[event k]
handler = k
[worker]
broker = amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/%2F
secret_file = $T/broker.secret
exchange_type = shard
bindings = ${SHARDS[$w]}
queue = q$w
EOF
done
# Two receivers: forward only, to the same broker, nothing else of AMQP.
for r in 1 2; do
	mkdir -p "$T/r$r"
	cat > "$T/r$r.ini" <<EOF
[hookpipe]
spool_dir = $T/r$r/spool
handlers_dir = $T/rh
require_https = no
[auth]
token_file = $T/token
[endpoint gh]
token_file = $T/gh.token
[delivery]
retries = 1000
backoff = 1s
timeout = 10
concurrency = 16
[event k]
forward = amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/
secret_file = $T/broker.secret
EOF
	out=$("$BUILD/hookpipe" -c "$T/r$r.ini" check 2>&1)
	like "$out" "configuration OK" "receiver $r: hookpipe check"
done
like "$("$BUILD/hookpipe" -c "$T/a.ini" check 2>&1)" "configuration OK" "worker a: hookpipe check"

declare -A WPID
start_worker() {	# start_worker NAME
	"$BUILD/hookpipe-worker" -c "$T/$1.ini" >> "$T/$1.out" 2>&1 &
	WPID[$1]=$!
	STARTED_PIDS+=("$!")
}
queue_of() {	# queue_of QUEUE FIELD: a column of rabbitmqctl list_queues
	rmqctl list_queues name "$2" 2>/dev/null | awk -v q="$1" '$1 == q { print $2 }'
}
wait_queue() {	# wait_queue QUEUE: until it is declared, at most 30 s
	for _ in $(seq 150); do
		[ -n "$(queue_of "$1" messages)" ] && return 0
		sleep 0.2
	done
	return 1
}
start_worker a
start_worker b
wait_queue qa && wait_queue qb
is "$?" 0 "both workers declared the exchange and their queues"

# Each receiver: its own lighttpd, FastCGI socket and error log, and
# its own long-running runner for the retries (the responder's runner
# starts on demand and lingers; this one comes back for retry/).
declare -A PORT
for r in 1 2; do
	PORT[$r]=$(free_port)
	cat > "$T/r$r/lighttpd.conf" <<EOF
server.document-root = "$T/rh"
server.bind = "127.0.0.1"
server.port = ${PORT[$r]}
server.errorlog = "$T/r$r/error.log"
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/hooks" => (( "socket" => "$T/r$r/hp.sock", "bin-path" => "$BUILD/hookpipe.fcgi", "bin-environment" => ( "HOOKPIPE_CONFIG" => "$T/r$r.ini" ), "check-local" => "disable", "max-procs" => 2 )) )
EOF
	start_lighttpd "$T/r$r/lighttpd.conf" "${PORT[$r]}" ||
	    { echo "Bail out! lighttpd $r did not start"; exit 1; }
done

# check --connect: the receivers' destination and the worker's broker.
out=$("$BUILD/hookpipe" -c "$T/r1.ini" check --connect 2>&1)
rc=$?
is "$rc" 0 "check --connect, broker up: exit 0"
like "$out" "^amqp://127\.0\.0\.1:$RMQ_PORT/: OK" "check --connect: the destination OK, without its user"
out=$("$BUILD/hookpipe" -c "$T/a.ini" check --connect 2>&1)
is "$?" 0 "check --connect on a worker: exit 0"
like "$out" "\[worker\] broker amqp://127\.0\.0\.1:$RMQ_PORT/%2F: OK" "check --connect: the worker's broker OK"

for r in 1 2; do
	"$BUILD/hookpipe-run" -c "$T/r$r.ini" --watch -q >> "$T/r$r/run.out" 2>&1 &
	STARTED_PIDS+=("$!")
done

# receivers_drained SECONDS: new/ cur/ retry/ of both receivers empty,
# their runners idle or lingering
receivers_drained() {
	local n=$(( $1 * 5 ))
	for _ in $(seq "$n"); do
		[ -z "$(find "$T"/r[12]/spool/new "$T"/r[12]/spool/cur \
		    "$T"/r[12]/spool/retry -mindepth 1 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	return 1
}
wait_runs() {	# wait_runs COUNT [SECONDS]: until runs.log has COUNT lines
	local n=$(( ${2:-90} * 5 ))
	for _ in $(seq "$n"); do
		[ "$(wc -l < "$T/rec/runs.log" 2>/dev/null || echo 0)" -ge "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
# workers_settled: both worker spools' new/ and cur/ empty, at most 60 s
# (their runners are --watch: they never linger "idle"; the handler
# records counted before are the rest of the settled state)
workers_settled() {
	for _ in $(seq 300); do
		[ -z "$(find "$T"/w[ab]/spool/new "$T"/w[ab]/spool/cur \
		    -mindepth 1 2>/dev/null)" ] && return 0
		sleep 0.2
	done
	diag "workers_settled: entries left in new/ or cur/"
	return 1
}
sent() { "$PY" "$SRC/tests/integration/e2e_send.py" send "$TOKEN" "$GHTOKEN" "$@"; }
verify() { "$PY" "$SRC/tests/integration/e2e_send.py" verify "$T/rec/out" < "$1"; }

# --- a. 2,000 events, half to each receiver ----------------------------
N=2000
for i in $(seq "$N"); do
	r=$(( i % 2 + 1 ))
	ep=-; [ $((i % 10)) = 0 ] && ep=gh
	echo "a$i ${PORT[$r]} $ep"
done > "$T/a.list"
sent "$T/a.codes" < "$T/a.list"
is "$(awk '$3 == 200' "$T/a.codes" | wc -l)" "$N" "a: the receivers answered 200 to the $N events"
receivers_drained 90
is "$?" 0 "a: both receivers' spools drained (new/ cur/ retry/ empty)"
wait_runs "$N" 90
workers_settled
is "$(wc -l < "$T/rec/runs.log")" "$N" "a: $N handler runs on the workers"
is "$(cut -d' ' -f1,2 "$T/rec/runs.log" | sort | uniq -d | head -3)" "" "a: no event ran twice"
is "$(cat "$T/rec/concurrent.log" 2>/dev/null)" "" "a: no handler ran twice at once"
v=$(verify "$T/a.list")
is "$(printf '%s\n' "$v" | head -1)" 0 "a: every payload byte-exact, one output each"
[ "$(printf '%s\n' "$v" | head -1)" = 0 ] || diag "$v"
is "$(grep -c '^gh a[0-9]* k set ' "$T/rec/runs.log")" "$((N / 10))" "a: HOOKPIPE_ENDPOINT=gh, HOOKPIPE_EVENT=k for the endpoint's events"
is "$(grep -c '^_ a[0-9]* k  ' "$T/rec/runs.log")" "$((N - N / 10))" "a: no HOOKPIPE_ENDPOINT for the default endpoint's, as on a single host"
na=$(grep -c ' a$' "$T/rec/runs.log"); nb=$(grep -c ' b$' "$T/rec/runs.log")
ok "$([ "$na" -gt 0 ] && [ "$nb" -gt 0 ]; echo $?)" "a: the shards spread the ids over both workers ($na, $nb)"
d1=$(find "$T/r1/spool/done" -type f | wc -l); d2=$(find "$T/r2/spool/done" -type f | wc -l)
is "$d1 $d2" "$((N / 2)) $((N / 2))" "a: each receiver forwarded its half (done/)"

# --- b. the same 500 ids to both receivers -----------------------------
: > "$T/rec/runs.log"
for i in $(seq 500); do
	echo "b$i ${PORT[1]} -"
	echo "b$i ${PORT[2]} -"
done > "$T/b.list"
sent "$T/b.codes" < "$T/b.list"
is "$(awk '$3 == 200' "$T/b.codes" | wc -l)" 1000 "b: both receivers answered 200 to each of the 500 ids"
receivers_drained 90
is "$?" 0 "b: both receivers forwarded their copies"
d1=$(find "$T/r1/spool/done" -type f | wc -l); d2=$(find "$T/r2/spool/done" -type f | wc -l)
is "$d1 $d2" "$((N / 2 + 500)) $((N / 2 + 500))" "b: each receiver published all 500 (no dedupe between receivers before the broker)"
wait_runs 500 60
for _ in $(seq 150); do
	[ "$(cat "$T"/w[ab]/spool/delivery.log 2>/dev/null | grep -c '"state":"duplicate"')" -ge 500 ] && break
	sleep 0.2
done
workers_settled
is "$(wc -l < "$T/rec/runs.log")" 500 "b: each of the 500 ids ran once"
is "$(cut -d' ' -f2 "$T/rec/runs.log" | sort | uniq -d | head -3)" "" "b: none twice"
ok "$([ "$(cat "$T"/w[ab]/spool/delivery.log 2>/dev/null | grep -c '"state":"duplicate"')" -ge 500 ]; echo $?)" \
    "b: the second copies were dropped by the worker their shard names (ids/)"
sed -n '1~2p' "$T/b.list" > "$T/b1.list"
is "$(verify "$T/b1.list" | head -1)" 0 "b: byte-exact"

# --- c. kill -9 of the broker mid-load ---------------------------------
: > "$T/rec/runs.log"
M=1000
for i in $(seq "$M"); do
	echo "c$i ${PORT[$(( i % 2 + 1 ))]} -"
done > "$T/c.list"
: > "$T/c.codes"
sent "$T/c.codes" < "$T/c.list" &
SENDER=$!
STARTED_PIDS+=("$SENDER")
for _ in $(seq 600); do
	[ "$(wc -l < "$T/c.codes")" -ge 250 ] && break
	sleep 0.05
done
kill_rabbitmq
diag "broker killed after $(wc -l < "$T/c.codes") answers"
# While it is down: the receivers keep answering 200; status says where
# the backlog waits and why.
st=
for _ in $(seq 150); do
	st=$("$BUILD/hookpipe" -c "$T/r1.ini" status --json 2>/dev/null)
	printf '%s' "$st" | "$PY" -c 'import json, sys
d = json.load(sys.stdin)["destinations"][0]
sys.exit(not (d["backlog"] > 0 and d["last_error"]))' 2>/dev/null && break
	sleep 0.2
done
dest=$(printf '%s' "$st" | "$PY" -c 'import json, sys
d = json.load(sys.stdin)["destinations"]
print(len(d), d[0]["url"], d[0]["backlog"] > 0)
print(d[0]["last_error"])' 2>&1)
like "$(printf '%s\n' "$dest" | head -1)" "^1 amqp://127\.0\.0\.1:$RMQ_PORT/ True$" "c: status --json: one destination, its URL without the user, a backlog"
like "$(printf '%s\n' "$dest" | sed -n 2p)" "127\.0\.0\.1:$RMQ_PORT.*(cannot connect|connection lost|unreachable)" "c: status --json: the last error names the connection failure"
txt=$("$BUILD/hookpipe" -c "$T/r1.ini" status 2>&1)
like "$txt" "forward +amqp://127\.0\.0\.1:$RMQ_PORT/ +backlog [1-9][0-9]*" "c: status: the destination's backlog"
like "$txt" "last error .*(cannot connect|connection lost|unreachable)" "c: status: its last error"
out=$("$BUILD/hookpipe" -c "$T/r2.ini" check --connect 2>&1)
is "$?" 1 "c: check --connect, broker down: exit 1"
like "$out" "amqp://127\.0\.0\.1:$RMQ_PORT/: cannot connect" "c: check --connect names the failure"
out=$("$BUILD/hookpipe" -c "$T/b.ini" check --connect 2>&1)
is "$?" 1 "c: check --connect on a worker, broker down: exit 1"
for _ in $(seq 600); do
	[ "$(wc -l < "$T/c.codes")" -ge 600 ] && break
	sleep 0.05
done
start_rabbitmq || { echo "Bail out! rabbitmq-server did not start again"; exit 1; }
diag "broker back after $(wc -l < "$T/c.codes") answers"
wait "$SENDER"
awk '$3 == 200 { print $1 }' "$T/c.codes" | sort > "$T/c.acked"
is "$(wc -l < "$T/c.acked")" "$M" "c: the receivers answered 200 to all $M, broker or not"
receivers_drained 120
is "$?" 0 "c: both receivers drained once the broker is back"
wait_runs "$(wc -l < "$T/c.acked")" 90
workers_settled
cut -d' ' -f2 "$T/rec/runs.log" | sort -u > "$T/c.ran"
is "$(comm -23 "$T/c.acked" "$T/c.ran" | head -5 | tr '\n' ' ')" "" "c: no acknowledged event lost"
is "$(sort -u "$T/rec/concurrent.log" 2>/dev/null | head -5 | tr '\n' ' ')" "" "c: none ran twice at once"
is "$(cut -d' ' -f2 "$T/rec/runs.log" | sort | uniq -d | head -5 | tr '\n' ' ')" "" "c: none ran twice"
is "$(find "$T"/r[12]/spool/dead -type f | wc -l)" 0 "c: nothing dead on the receivers"
st=$("$BUILD/hookpipe" -c "$T/r1.ini" status --json)
like "$st" '"destinations":\[\{"url":"amqp://127\.0\.0\.1:[0-9]+/","backlog":0,' "c: status: no backlog once drained"

# --- the end: everything started here, by pid --------------------------
for w in a b; do
	kill -TERM "${WPID[$w]}"; wait "${WPID[$w]}"
done
stop_servers
stop_runners
stop_rabbitmq
is "$?" 0 "the broker and its helpers stopped"
finish
