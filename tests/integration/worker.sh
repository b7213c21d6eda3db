#!/usr/bin/env bash
# worker.sh: hookpipe-worker against a real RabbitMQ (its own broker,
# started and stopped by pid). 2,000 events through a shard exchange
# (a headers exchange on hookpipe-shard) to two workers on two spools while the workers are killed -9
# at random and restarted: every handler ran exactly once, byte-exact,
# with the single-host environment, never twice at once. Then the same
# 500 ids published twice (two receivers' copies): each ran once. A
# worker whose spool is full does not ack; once space is back the
# messages flow. Messages that are no hookpipe events are rejected.
# The messages are published by tests/unit/amqp-pub in the format of
# hookpipe-worker(8), as the runner's forward = amqp:// does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rabbitmq-lib.sh"

N=${WORKER_EVENTS:-2000}
export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"	# kill -9 below
if [ ! -x "$BUILD/hookpipe-worker" ] || [ ! -x "$BUILD/tests/unit/amqp-pub" ]; then
	skip "hookpipe-worker" "built without librabbitmq"
	finish
fi
if ! rabbitmq_available; then
	skip "hookpipe-worker" "rabbitmq-server not installed (apt-get install rabbitmq-server)"
	finish
fi
start_rabbitmq || { echo "Bail out! rabbitmq-server did not start"; exit 1; }
printf '%s\n' "$RMQ_PASS" > "$T/broker.secret"
chmod 600 "$T/broker.secret"

mkdir -p "$T/h/gh" "$T/rec/locks" "$T/rec/out"
# The handler: the lock proves no other run of this event is alive; it
# keeps the payload and the environment of each run.
cat > "$T/h/k" <<'SH'
#!/bin/sh
exec 9>>"$REC/locks/${HOOKPIPE_ENDPOINT:-_}.$HOOKPIPE_ID"
if ! flock -n 9; then
	echo "$HOOKPIPE_ID" >> "$REC/concurrent.log"
	exit 3
fi
cat > "$REC/out/${HOOKPIPE_ENDPOINT:-_}.$HOOKPIPE_ID.$$"
echo "${HOOKPIPE_ENDPOINT:-_} $HOOKPIPE_ID $HOOKPIPE_EVENT $WORKER" >> "$REC/runs.log"
SH
chmod 755 "$T/h/k"
cp "$T/h/k" "$T/h/gh/k"
printf '%s\n' 'gh-secret-0123456789abcdef' > "$T/gh.secret"
printf '%s\n' 'token-0123456789abcdef' > "$T/token"
chmod 600 "$T/gh.secret" "$T/token"

# worker_ini NAME QUEUE EXCHANGE TYPE SPOOL [BINDINGS]
worker_ini() {
	cat > "$T/$1.ini" <<EOF
[hookpipe]
spool_dir = $5
handlers_dir = h
[auth]
token_file = token
[endpoint gh]
preset = github
secret_file = gh.secret
[delivery]
retries = 1000
backoff = 1s
concurrency = 4
[env]
REC = $T/rec
WORKER = $1
[event k]
handler = k
[worker]
broker = amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/%2F
secret_file = broker.secret
exchange = $3
exchange_type = $4
queue = $2
EOF
	[ -n "${6:-}" ] && echo "bindings = $6" >> "$T/$1.ini"
	return 0
}
worker_ini a qa hp shard spool-a 0-31
worker_ini b qb hp shard spool-b 32-63

"$BUILD/hookpipe" -c "$T/a.ini" check > "$T/check.out" 2>&1
is "$?" 0 "hookpipe check accepts the [worker] configuration"
chmod 644 "$T/broker.secret"
like "$("$BUILD/hookpipe" -c "$T/a.ini" check 2>&1)" 'secret_file .* may be read by others' "check: a broker password others may read"
chmod 600 "$T/broker.secret"
sed -e 's/^queue = qa/queue = amq.qa/' -e 's/^bindings.*//' -e 's|^broker = amqp://|broker = amqp://u:pw@|' "$T/a.ini" > "$T/bad.ini"
echo 'bindings = "booking.#"' >> "$T/bad.ini"
like "$("$BUILD/hookpipe" -c "$T/bad.ini" check 2>&1)" "queue: 'amq.qa': a queue name" "check: a queue name the broker reserves"
like "$("$BUILD/hookpipe" -c "$T/bad.ini" check 2>&1)" "bindings: 'booking.#' is not a shard" "check: a topic pattern on a shard exchange"
sed -e 's/^bindings.*/bindings = 0-31, 60-64/' "$T/a.ini" > "$T/bad2.ini"
like "$("$BUILD/hookpipe" -c "$T/bad2.ini" check 2>&1)" "bindings: '60-64' is not a shard: write a number from 0 to 63" "check: a shard past 63"
like "$("$BUILD/hookpipe" -c "$T/bad.ini" check 2>&1)" 'broker: .* no password in the URL' "check: no password in the broker URL"

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
wait_count() {	# wait_count QUEUE WANT: until list_queues says WANT messages
	# (the broker updates its counts every few seconds), at most 30 s
	for _ in $(seq 60); do
		[ "$(queue_of "$1" messages)" = "$2" ] && return 0
		sleep 0.5
	done
	return 1
}
drained() {	# drained SPOOL: new/ and cur/ empty, at most 30 s
	for _ in $(seq 300); do
		[ -z "$(find "$1/new" "$1/cur" -mindepth 1 2>/dev/null)" ] && return 0
		sleep 0.1
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
start_worker a
start_worker b
wait_queue qa && wait_queue qb
is "$?" 0 "both workers declared their queues"
is "$(queue_of qa type)" quorum "a quorum queue"

# A third worker given shards a holds is refused by the broker (a's
# exclusive claim queues): it binds nothing and keeps trying.
worker_ini x qx hp shard xspool 20-40
start_worker x
for _ in $(seq 150); do
	grep -q 'held by another worker' "$T/x.out" && break
	sleep 0.2
done
like "$(cat "$T/x.out")" 'shard 20 is held by another worker connected to the broker \(queue hp.shard.20\): give each shard to one worker' "a second worker for shard 20: refused, with the reason"
is "$(queue_of qx messages)" "" "it declared and bound no queue"
kill -TERM "${WPID[x]}"; wait "${WPID[x]}"

# --- 2,000 events, kill -9 of the workers at random ----------------
body() {	# body I: a payload with escapes and non-ASCII, byte for byte
	printf '{"event":"k","id":"e%d","n":%d,"s":"caf\xc3\xa9 \\u00e9 \\"q\\" \\\\ %d"}' "$1" "$1" "$1"
}
for i in $(seq "$N"); do
	if [ $((i % 10)) = 0 ]; then
		printf 'k\tgh\te%d\tgh+e%d\t%s\n' "$i" "$i" "$(body "$i")"
	else
		printf 'k\t-\te%d\te%d\t%s\n' "$i" "$i" "$(body "$i")"
	fi
done > "$T/load.spec"
"$BUILD/tests/unit/amqp-pub" 127.0.0.1 "$RMQ_PORT" "$RMQ_USER" "$RMQ_PASS" hp \
    < "$T/load.spec" > "$T/pub.out" 2>&1 &
PUB=$!
STARTED_PIDS+=("$PUB")
kills=0
for _ in $(seq 8); do
	sleep "0.$((RANDOM % 7 + 2))"
	w=$([ $((RANDOM % 2)) = 0 ] && echo a || echo b)
	kill -KILL "${WPID[$w]}" 2>/dev/null && kills=$((kills + 1))
	wait "${WPID[$w]}" 2>/dev/null
	start_worker "$w"
done
wait "$PUB"
is "$?" 0 "the broker confirmed the $N messages"
diag "$kills workers killed -9 and restarted"
wait_runs "$N" 120
is "$(wc -l < "$T/rec/runs.log")" "$N" "every event's handler ran ($N runs)"
is "$(cut -d' ' -f1,2 "$T/rec/runs.log" | sort | uniq -d | head -3)" "" "no event ran twice"
is "$(cat "$T/rec/concurrent.log" 2>/dev/null)" "" "no handler ran twice at once"
bad=0
for i in $(seq "$N"); do
	ep=_; [ $((i % 10)) = 0 ] && ep=gh
	f=$(ls "$T/rec/out/$ep.e$i."* 2>/dev/null | head -1)
	if [ -z "$f" ] || [ "$(body "$i" | cmp - "$f" 2>&1)" != "" ]; then
		bad=$((bad + 1))
		[ "$bad" -le 3 ] && diag "e$i ($ep): ${f:-no output}"
	fi
done
is "$bad" 0 "every payload byte-exact"
is "$(grep -c '^gh e[0-9]* k ' "$T/rec/runs.log")" "$((N / 10))" "HOOKPIPE_ENDPOINT=gh for the endpoint's events"
is "$(grep -c '^_ e[0-9]* k ' "$T/rec/runs.log")" "$((N - N / 10))" "no HOOKPIPE_ENDPOINT for the default endpoint's, HOOKPIPE_EVENT=k"
na=$(grep -c ' a$' "$T/rec/runs.log"); nb=$(grep -c ' b$' "$T/rec/runs.log")
ok "$([ "$na" -gt 0 ] && [ "$nb" -gt 0 ]; echo $?)" "the shards spread the ids over both workers ($na, $nb)"
wait_count qa 0 && wait_count qb 0
is "$?" 0 "both queues drained"
drained "$T/spool-a"; drained "$T/spool-b"
done_a=$(find "$T/spool-a/done" -type f | wc -l)
done_b=$(find "$T/spool-b/done" -type f | wc -l)
is "$((done_a + done_b))" "$N" "each event is in one worker spool's done/"
st=$("$BUILD/hookpipe" -c "$T/a.ini" show e1 2>&1 || "$BUILD/hookpipe" -c "$T/b.ini" show e1 2>&1)
like "$st" 'req-e1' "hookpipe show finds an event by id on a worker spool, with its request id"

# --- the same 500 ids from two receivers ---------------------------
: > "$T/rec/runs.log"
for i in $(seq 500); do
	printf 'k\t-\td%d\td%d\t%s\n' "$i" "$i" "$(body "$i")"
done > "$T/dup.spec"
"$BUILD/tests/unit/amqp-pub" 127.0.0.1 "$RMQ_PORT" "$RMQ_USER" "$RMQ_PASS" hp < "$T/dup.spec" > /dev/null &&
"$BUILD/tests/unit/amqp-pub" 127.0.0.1 "$RMQ_PORT" "$RMQ_USER" "$RMQ_PASS" hp < "$T/dup.spec" > /dev/null
is "$?" 0 "500 ids published twice, as two receivers forward them"
for _ in $(seq 300); do
	[ "$(( $(grep -c '"state":"duplicate"' "$T/spool-a/delivery.log") + \
	    $(grep -c '"state":"duplicate"' "$T/spool-b/delivery.log") ))" -ge 500 ] && break
	sleep 0.2
done
wait_runs 500 60
drained "$T/spool-a"; drained "$T/spool-b"
is "$(wc -l < "$T/rec/runs.log")" 500 "each of the 500 ids ran once"
is "$(cut -d' ' -f2 "$T/rec/runs.log" | sort | uniq -d | head -3)" "" "none twice"

# --- not hookpipe messages: rejected, not stored ---------------------
printf -- '-\t-\t-\tjunk-1\t{"x":1}\n..bad\t-\tx1\tx1\t{}\n' > "$T/junk.spec"
"$BUILD/tests/unit/amqp-pub" 127.0.0.1 "$RMQ_PORT" "$RMQ_USER" "$RMQ_PASS" hp < "$T/junk.spec" > /dev/null
for _ in $(seq 100); do
	[ "$(cat "$T"/spool-?/delivery.log | grep -c '"state":"rejected"')" -ge 2 ] && break
	sleep 0.2
done
is "$(cat "$T"/spool-?/delivery.log | grep -c '"state":"rejected"')" 2 "a message without hookpipe event headers and one with an invalid event name: rejected and logged"
wait_count qa 0 && wait_count qb 0
is "$?" 0 "rejected messages left the queues (requeue=false)"

# --- SIGTERM: clean stop, the runner with it ------------------------
ra=$(lock_holders "$T/spool-a/run.lock" | head -1)
kill -TERM "${WPID[a]}"
wait "${WPID[a]}"
is "$?" 0 "SIGTERM: the worker exits 0"
like "$(tail -1 "$T/a.out")" 'stopped: [0-9]+ stored' "it says what it took"
ok "$( [ -z "$ra" ] || ! kill -0 "$ra" 2>/dev/null; echo $?)" "its runner stopped with it"

# --- fewer shards: the bindings of the ones given up go --------------
worker_ini a qa hp shard spool-a 0-15
start_worker a
for _ in $(seq 150); do
	[ "$(grep -c 'consuming qa' "$T/a.out")" -ge 2 ] && break
	sleep 0.2
done
is "$(rmqctl list_bindings source_name destination_name 2>/dev/null | awk '$1 == "hp" && $2 == "qa"' | wc -l)" 16 "restarted with bindings = 0-15: qa keeps 16 shard bindings of 32"
kill -TERM "${WPID[a]}"; wait "${WPID[a]}"

# --- a full spool: no ack; the messages flow once space is back ------
if [ "$(id -u)" = 0 ] && mkdir -p "$T/fullfs" &&
    mount -t tmpfs -o size=512k tmpfs "$T/fullfs" 2>/dev/null; then
	MOUNTS+=("$T/fullfs")
	worker_ini c qc hp.topic topic fullfs/spool
	start_worker c
	wait_queue qc
	for _ in $(seq 50); do [ -d "$T/fullfs/spool/new" ] && break; sleep 0.1; done
	dd if=/dev/zero of="$T/fullfs/filler" bs=4k 2>/dev/null
	for i in $(seq 20); do
		printf 'k\t-\tf%d\tf%d\t%s\n' "$i" "$i" "$(body "$i")"
	done > "$T/full.spec"
	: > "$T/rec/runs.log"
	"$BUILD/tests/unit/amqp-pub" 127.0.0.1 "$RMQ_PORT" "$RMQ_USER" "$RMQ_PASS" hp.topic < "$T/full.spec" > /dev/null
	# What the assertion below reads: the worker's own message (the
	# delivery log's "not-stored" line can come first).
	for _ in $(seq 150); do
		grep -q 'unable to store' "$T/c.out" && break
		sleep 0.2
	done
	like "$(cat "$T/c.out")" 'unable to store a message, not acknowledged: .*No space left' "ENOSPC: the worker says it did not ack"
	wait_count qc 20
	is "$(queue_of qc messages)" 20 "the 20 messages stay in the queue (rabbitmqctl list_queues)"
	is "$(find "$T/fullfs/spool/new" "$T/fullfs/spool/done" -type f 2>/dev/null | wc -l)" 0 "nothing stored"
	rm -f "$T/fullfs/filler"
	wait_runs 20 60
	is "$(wc -l < "$T/rec/runs.log")" 20 "space back: the 20 flow and run"
	wait_count qc 0
	is "$?" 0 "the queue drained"
	kill -TERM "${WPID[c]}"; wait "${WPID[c]}"
else
	skip "full spool" "needs root to mount a small tmpfs"
fi

kill -TERM "${WPID[b]}"; wait "${WPID[b]}"
is "$?" 0 "worker b stops on SIGTERM"
stop_rabbitmq
is "$?" 0 "the broker and its helpers stopped"
finish
