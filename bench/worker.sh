#!/usr/bin/env bash
# bench/worker.sh [BUILD]: broker -> handled per second with one and with
# two hookpipe-worker processes (shard exchange, one queue and spool
# each), handler /bin/true, default durability. M messages are
# published first (tests/unit/amqp-pub, persistent, confirmed) while the
# workers are stopped; the clock runs from the workers' start until
# every event is in a done/. A private RabbitMQ, as in the tests
# (tests/integration/rabbitmq-lib.sh), stopped by pid at the end.
top=$(cd "$(dirname "$0")/.." && pwd)
abs_top_builddir=$(cd "${1:-$top/build}" && pwd)
abs_top_srcdir=$top
export abs_top_builddir abs_top_srcdir
. "$top/tests/integration/lib.sh"
. "$top/tests/integration/rabbitmq-lib.sh"
M=${BENCH_MESSAGES:-5000}
[ -x "$BUILD/hookpipe-worker" ] && [ -x "$BUILD/tests/unit/amqp-pub" ] ||
    { echo "bench: build hookpipe-worker and tests/unit/amqp-pub first (make check TESTS=)" >&2; exit 1; }
start_rabbitmq > "$T/rmq.out" || { cat "$T/rmq.out"; exit 1; }
printf '%s\n' "$RMQ_PASS" > "$T/secret"; chmod 600 "$T/secret"
printf 'tok-0123456789abcdef\n' > "$T/token"; chmod 600 "$T/token"
mkdir -p "$T/h"

ini() {	# ini ROUND NAME
	cat > "$T/$1$2.ini" <<EOI
[hookpipe]
spool_dir = spool-$1$2
handlers_dir = h
[auth]
token_file = token
[event k]
handler = /bin/true
[worker]
broker = amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/
secret_file = secret
exchange = bench$1
exchange_type = shard
queue = q$1$2
EOI
	if [ "$1" = 2 ]; then
		echo "bindings = $([ "$2" = a ] && echo 0-31 || echo 32-63)" >> "$T/$1$2.ini"
	fi
}
done_count() { cat "$@" 2>/dev/null | grep -c '"state":"done"'; }

for n in 1 2; do
	names=(a); [ "$n" = 2 ] && names=(a b)
	pids=()
	for w in "${names[@]}"; do
		ini "$n" "$w"
		"$BUILD/hookpipe-worker" -q -c "$T/$n$w.ini" > /dev/null 2>&1 & pids+=($!)
	done
	for _ in $(seq 100); do
		[ "$(rmqctl list_queues name | grep -c "^q$n")" = "$n" ] && break; sleep 0.2
	done
	kill -TERM "${pids[@]}"; wait "${pids[@]}"
	for i in $(seq "$M"); do
		printf 'k\t-\tb%d\tb%d\t{"event":"k","id":"b%d","pad":"0123456789abcdef0123456789abcdef"}\n' "$i" "$i" "$i"
	done | "$BUILD/tests/unit/amqp-pub" 127.0.0.1 "$RMQ_PORT" "$RMQ_USER" "$RMQ_PASS" "bench$n" > /dev/null
	t0=$(date +%s%N)
	pids=()
	for w in "${names[@]}"; do
		"$BUILD/hookpipe-worker" -q -c "$T/$n$w.ini" > /dev/null 2>&1 & pids+=($!)
	done
	logs=()
	for w in "${names[@]}"; do logs+=("$T/spool-$n$w/delivery.log"); done
	# At most 600 s: messages no queue took (a stale amqp-pub without
	# the shard header) would never come.
	for _ in $(seq 3000); do
		[ "$(done_count "${logs[@]}")" -ge "$M" ] && break
		sleep 0.2
	done
	[ "$(done_count "${logs[@]}")" -ge "$M" ] ||
	    echo "bench: only $(done_count "${logs[@]}") of $M handled after 600 s" >&2
	t1=$(date +%s%N)
	kill -TERM "${pids[@]}"; wait "${pids[@]}"
	awk -v m="$M" -v n="$n" -v t="$(( (t1 - t0) / 1000000 ))" \
	    'BEGIN { printf "workers=%d messages=%d time=%.1fs handled/s=%.0f\n", n, m, t / 1000, m * 1000 / t }'
done
stop_rabbitmq
