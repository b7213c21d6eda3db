#!/bin/bash
# amqp.sh: how fast one runner empties a pre-filled spool into RabbitMQ
# (forward = amqp://, each event done on the broker's confirm), against
# the same backlog delivered locally to /bin/true, in the same run.
#
#   bench/amqp.sh [BUILD-DIR] [EVENTS]     (default: build, 10000)
#
# A private broker (tests/integration/rabbitmq-lib.sh), a durable queue
# bound to the exchange the runner publishes to by default (hookpipe); bench/spoolgen.py writes EVENTS ~1 KB events
# into new/ of each spool; hookpipe-run drains each with the default
# concurrency of 2 (BENCH_CONCURRENCY=N for another): the local handler
# runs 2 at a time, while the publishes, which take no handler slot,
# have a window of the runner's 64 slots. Prints events/s for both and the publish
# latency (start of the attempt to the broker's confirm, the "ms" of the
# delivery log's handler lines) p50 / p99. Runs well under 3 minutes.
set -u
here=$(cd "$(dirname "$0")" && pwd)
abs_top_srcdir=$(cd "$here/.." && pwd)
abs_top_builddir=$(cd "${1:-$abs_top_srcdir/build}" && pwd)
N=${2:-10000}
export abs_top_srcdir abs_top_builddir
. "$abs_top_srcdir/tests/integration/lib.sh"
. "$abs_top_srcdir/tests/integration/rabbitmq-lib.sh"
PY=/usr/bin/python3

rabbitmq_available || { echo "bench/amqp.sh: rabbitmq-server is missing (scripts/deps)" >&2; exit 1; }
start_rabbitmq >/dev/null || { echo "bench/amqp.sh: the broker did not start" >&2; exit 1; }
printf '%s\n' "$RMQ_PASS" > "$T/pass"
printf 'bench-token-0123456789abcdef\n' > "$T/token"
chmod 600 "$T/pass" "$T/token"
"$PY" "$SRC/tests/integration/amqp_tool.py" "$RMQ_PORT" "$RMQ_USER" "$T/pass" \
    declare hookpipe hp.bench hp.bench >/dev/null || { echo "declare failed" >&2; exit 1; }
mkdir -p "$T/handlers"
chmod 755 "$T/handlers"

ini() {	# ini NAME EVENT-LINES...
	local name=$1
	shift
	{
		printf '[hookpipe]\nspool_dir = %s\nhandlers_dir = %s\n' "$T/$name" "$T/handlers"
		printf '[auth]\ntoken_file = %s\n' "$T/token"
		# The default concurrency (2) unless BENCH_CONCURRENCY says:
		# a forward-only event takes no handler slot, so the publish
		# window is the runner's 64 slots either way.
		printf '[delivery]\nconcurrency = %s\ntimeout = 30\n[event bench.event]\n' "${BENCH_CONCURRENCY:-2}"
		printf '%s\n' "$@"
	} > "$T/$name.ini"
}
ini amqp "forward = amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/" \
    "routing_key = hp.bench" "secret_file = $T/pass"
ini local "handler = /bin/true"

run() {	# run NAME: fill, drain, print "events/s p50 p99"
	local name=$1 t0 t1
	mkdir -p "$T/$name"; chmod 700 "$T/$name"
	"$BUILD/hookpipe-run" -c "$T/$name.ini" >/dev/null 2>&1	# makes the spool
	"$PY" "$SRC/bench/spoolgen.py" "$T/$name" "$N" "$name" >/dev/null
	t0=$(date +%s.%N)
	"$BUILD/hookpipe-run" -c "$T/$name.ini" > "$T/$name.out" 2>&1 ||
	    { echo "hookpipe-run failed: $(cat "$T/$name.out")"; return 1; }
	t1=$(date +%s.%N)
	"$PY" - "$T/$name/delivery.log" "$t0" "$t1" "$N" <<'EOF'
import json, sys
ms = sorted(r["ms"] for r in map(json.loads, open(sys.argv[1]))
            if r.get("type") == "handler" and r.get("exit") == 0)
t = float(sys.argv[3]) - float(sys.argv[2])
n = int(sys.argv[4])
pct = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))] if ms else -1
print("%d done of %d in %.2f s: %.0f events/s; per event ms p50 %s p99 %s" %
      (len(ms), n, t, len(ms) / t, pct(0.50), pct(0.99)))
EOF
}
echo "commit $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null), $(date -u +%Y-%m-%d), $N events of ~1 KB, concurrency ${BENCH_CONCURRENCY:-2}"
printf 'amqp://   (confirm)  : %s\n' "$(run amqp)"
printf 'local /bin/true      : %s\n' "$(run local)"
printf 'queue holds          : %s\n' "$("$PY" "$SRC/tests/integration/amqp_tool.py" "$RMQ_PORT" "$RMQ_USER" "$T/pass" count hp.bench)"
stop_rabbitmq
