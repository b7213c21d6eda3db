#!/bin/bash
# amqp.sh: forward = amqp:// against a real RabbitMQ (rabbitmq-lib.sh),
# the messages read back with an independent client (pika). Events enter
# through lighttpd + hookpipe.fcgi, whose runners publish them:
#  1. 500 events, the broker killed (-9) mid-load and started again:
#     every event arrives, byte for byte, with the headers of
#     hookpipe-amqp(7); none is lost, none dead;
#  2. the broker stopped for longer than several retries: the events
#     wait in retry/, then flow;
#  3. an unroutable routing key: returned, retried (not lost, not done)
#     until a binding appears, then delivered;
#  4. basic.nack (a queue full with overflow = reject-publish): retried
#     until there is room;
#  5. an exchange that does not exist (the broker closes the channel):
#     retried until it is declared;
#  and check: the URL rules, the responder never maps librabbitmq, and
#  every process of the broker is gone at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rabbitmq-lib.sh"

PY=/usr/bin/python3
if ! rabbitmq_available; then
	skip "amqp" "rabbitmq-server is not installed (scripts/deps)"
	finish
fi
if ! "$PY" -c 'import pika' 2>/dev/null; then
	skip "amqp" "python3-pika is not installed (scripts/deps)"
	finish
fi
if ! ldd "$BUILD/hookpipe-run" 2>/dev/null | grep -q librabbitmq &&
    ! grep -q 'HAVE_RABBITMQ 1' "$BUILD/config.h" 2>/dev/null; then
	skip "amqp" "built without librabbitmq"
	finish
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# The responder never maps librabbitmq; the runner does.
# shellcheck disable=SC2154 # lib.sh sets it
ldd "$abs_top_builddir/hookpipe.fcgi" | grep -q rabbitmq
ok $((!$?)) "hookpipe.fcgi does not link librabbitmq"
ldd "$abs_top_builddir/hookpipe-run" | grep -q librabbitmq
ok $? "hookpipe-run links librabbitmq"

start_rabbitmq || { fail "rabbitmq-server starts"; finish; }
printf '%s\n' "$RMQ_PASS" > "$T/pass"
printf 'tok-amqp-0123456789abcdef\n' > "$T/token"
chmod 600 "$T/pass" "$T/token"
mkdir -p "$T/handlers"
chmod 755 "$T/handlers"
tool() { "$PY" "$SRC/tests/integration/amqp_tool.py" "$RMQ_PORT" "$RMQ_USER" "$T/pass" "$@"; }
tool declare hp hp.events ev.a >/dev/null &&
    tool declare hp hp.small ev.small x-max-length=2 x-overflow=reject-publish >/dev/null
ok $? "exchange and queues declared (pika)"

URL=amqp://$RMQ_USER@127.0.0.1:$RMQ_PORT/
cat > "$T/h.ini" <<EOF
[hookpipe]
spool_dir = $T/spool
handlers_dir = $T/handlers
require_https = no
[auth]
token_file = $T/token
[delivery]
retries = 200
backoff = 1s
timeout = 10
concurrency = 16
[event ev.a]
forward = $URL
exchange = hp
secret_file = $T/pass
[event ev.late]
forward = $URL
exchange = hp
routing_key = nobody.yet
secret_file = $T/pass
[event ev.small]
forward = $URL
exchange = hp
secret_file = $T/pass
[event ev.noex]
forward = $URL
exchange = hp.later
routing_key = ev.a
secret_file = $T/pass
EOF
out=$("$BUILD/hookpipe" -c "$T/h.ini" check 2>&1)
like "$out" "configuration OK" "hookpipe check accepts amqp:// destinations"

PORT=$(free_port)
lighttpd_conf "$T/lighttpd.conf" "$PORT" "$T/h.ini" 4
start_lighttpd "$T/lighttpd.conf" "$PORT" || { fail "lighttpd starts"; finish; }

# body NAME EVENT ID: a body with odd spacing and a non-ASCII character
body() {
	printf '{"event":"%s",  "id":"%s","data":{"n":"%s","s":"caf\xc3\xa9"}}\n' \
	    "$2" "$3" "$3" > "$T/bodies/$1"
}
# post_all LIST: post the bodies named in LIST, 4 at once; codes in $T/codes
post_all() {
	xargs -P 4 -I{} curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 \
	    -H 'x-auth-token: tok-amqp-0123456789abcdef' \
	    -H 'Content-Type: application/json; charset=utf-8' \
	    --data-binary "@$T/bodies/{}" "http://127.0.0.1:$PORT/hooks" \
	    < "$1" >> "$T/codes"
}
# drain_spool SECONDS: run hookpipe-run until nothing waits in new/,
# cur/ or retry/ (a runner of the responder may hold the lock: then it
# does the work), at most SECONDS.
drain_spool() {
	local i
	for i in $(seq "$1"); do
		"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
		[ "$(find "$T/spool/new" "$T/spool/cur" "$T/spool/retry" -type f | wc -l)" = 0 ] &&
		    spool_settled "$T/spool" 10 && return 0
		sleep 1
	done
	return 1
}
mkdir -p "$T/bodies"

# 1. 500 events; the broker killed with -9 after about 150 of them,
# started again once 300 are in.
N=500
: > "$T/list1"
for i in $(seq "$N"); do
	body "a$i" ev.a "id-$i"
	echo "a$i" >> "$T/list1"
done
: > "$T/codes"
post_all "$T/list1" &
POSTER=$!
for _ in $(seq 600); do
	[ "$(wc -l < "$T/codes")" -ge 150 ] && break
	sleep 0.05
done
kill_rabbitmq
killed_at=$(wc -l < "$T/codes")
for _ in $(seq 600); do
	[ "$(wc -l < "$T/codes")" -ge 300 ] && break
	sleep 0.05
done
start_rabbitmq || fail "rabbitmq-server starts again after kill -9"
wait "$POSTER"
is "$(grep -c '^200$' "$T/codes")" "$N" "all $N events acknowledged (200) by the receiver (broker killed after $killed_at)"
drain_spool 120
ok $? "the spool drains once the broker is back"
is "$(count_files "$T/spool/done")" "$N" "$N events done"
is "$(count_files "$T/spool/dead")" 0 "none dead"
like "$(cat "$T/spool/delivery.log")" '"state":"retry".*' "some events waited in retry/ while the broker was down"
tool drain hp.events "$T/got1" >/dev/null
# Every event is there, exactly once or more (a publish whose confirm
# the crash lost is sent again: at least once), byte for byte, with the
# contract's headers.
"$PY" - "$T/got1" "$T/bodies" "$N" "$T/spool" > "$T/check1" 2>&1 <<'PYEOF'
import base64, json, os, sys
got, bodies, n, spool = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
done = set(os.listdir(os.path.join(spool, "done")))
reqids = {}
with open(os.path.join(spool, "delivery.log")) as f:
    for line in f:
        r = json.loads(line)
        if r.get("type") == "handler" and "request_id" in r:
            reqids[r["spool"]] = r["request_id"]
seen, bad = {}, []
for line in open(got):
    m = json.loads(line)
    mid = m["message_id"]
    i = mid[3:]
    want = open(os.path.join(bodies, "a" + i), "rb").read()
    h = m["headers"]
    checks = {
        "body": base64.b64decode(m["body"]) == want,
        "id": h.get("hookpipe-id") == mid and mid.startswith("id-"),
        "event": h.get("hookpipe-event") == "ev.a",
        "endpoint": h.get("hookpipe-endpoint") == "",
        "spool": h.get("hookpipe-spool-name") in done,
        "reqid": h.get("hookpipe-request-id") == reqids.get(h.get("hookpipe-spool-name")),
        "received": m["header_types"].get("hookpipe-received-us") == "long"
                    and abs(h["hookpipe-received-us"] // 1000000 - m["timestamp"]) <= 1,
        "attempt": m["header_types"].get("hookpipe-attempt") == "long"
                   and h["hookpipe-attempt"] >= 1,
        "persistent": m["delivery_mode"] == 2,
        "ctype": m["content_type"] == "application/json; charset=utf-8",
        "rkey": m["routing_key"] == "ev.a" and m["exchange"] == "hp",
    }
    for k, v in checks.items():
        if not v:
            bad.append("%s: %s" % (k, line[:300]))
    seen[mid] = seen.get(mid, 0) + 1
missing = [i for i in range(1, n + 1) if "id-%d" % i not in seen]
print("distinct %d" % len(seen))
print("missing %d %s" % (len(missing), missing[:10]))
print("duplicates %d" % sum(c - 1 for c in seen.values()))
print("retried %d" % sum(1 for l in open(got) if json.loads(l)["headers"].get("hookpipe-attempt", 1) > 1))
print("bad %d" % len(bad))
for b in bad[:5]:
    print(b)
PYEOF
like "$(cat "$T/check1")" "missing 0 " "every acknowledged event is in the queue (0 lost)"
like "$(cat "$T/check1")" "distinct $N" "$N distinct messages"
like "$(cat "$T/check1")" "bad 0" "each body byte for byte; headers, message_id, content_type, delivery_mode 2 as hookpipe-amqp(7) says"
diag "$(cat "$T/check1")"

# 2. The broker stopped for longer than several retries (backoff 1s).
stop_rabbitmq_only
: > "$T/list2"
for i in $(seq 20); do
	body "b$i" ev.a "id-b$i"
	echo "b$i" >> "$T/list2"
done
: > "$T/codes"
post_all "$T/list2"
is "$(grep -c '^200$' "$T/codes")" 20 "20 events accepted while the broker is down"
for _ in $(seq 5); do
	"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
	sleep 1.1
done
spool_settled "$T/spool" 10
is "$(count_files "$T/spool/retry")" 20 "they wait in retry/ while the broker is down"
like "$(grep '"state":"retry"' "$T/spool/delivery.log" | grep -c id-b1'"')" '^[3-9]|^[1-9][0-9]' "several attempts were made meanwhile"
like "$(grep '"type":"handler"' "$T/spool/delivery.log" | grep id-b1'"' | tail -n1)" 'cannot connect|unreachable|not sent' "the log says the broker cannot be reached"
start_rabbitmq || fail "rabbitmq-server starts again"
drain_spool 60
ok $? "they flow once it is back"
tool drain hp.events "$T/got2" >/dev/null
is "$("$PY" -c 'import json,sys
print(len({json.loads(l)["message_id"] for l in open(sys.argv[1])}))' "$T/got2")" 20 "all 20 arrive"

# 3. Unroutable: no queue is bound to nobody.yet. Returned (not lost):
# the events stay in retry/, then arrive once a binding appears.
: > "$T/list3"
for i in $(seq 5); do
	body "c$i" ev.late "id-c$i"
	echo "c$i" >> "$T/list3"
done
: > "$T/codes"
post_all "$T/list3"
for _ in $(seq 3); do
	"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
	sleep 1.1
done
spool_settled "$T/spool" 10
is "$(grep -l '"event":"ev.late"' "$T"/spool/retry/* 2>/dev/null | wc -l)" 5 "unroutable events stay in retry/"
is "$(grep -l '"event":"ev.late"' "$T"/spool/done/* 2>/dev/null | wc -l)" 0 "none of them is done"
like "$(grep '"type":"handler"' "$T/spool/delivery.log" | grep '"event":"ev.late"' | head -n1)" \
    'unroutable: returned by the broker \(312 NO_ROUTE\)' "the log says returned, unroutable"
tool declare hp hp.late nobody.yet >/dev/null
drain_spool 60
ok $? "once bound, they are delivered"
is "$(tool count hp.late)" 5 "all 5 arrive in the queue bound late"

# 4. basic.nack: hp.small holds 2 (x-overflow reject-publish); the rest
# is refused and retried until the queue is emptied. Declared again
# (the same arguments: a no-op when it is there): a broker killed -9
# soon after the first declaration may have lost it (seen in CI).
tool declare hp hp.small ev.small x-max-length=2 x-overflow=reject-publish >/dev/null
ok $? "the small queue is there"
: > "$T/list4"
for i in $(seq 5); do
	body "d$i" ev.small "id-d$i"
	echo "d$i" >> "$T/list4"
done
: > "$T/codes"
post_all "$T/list4"
for _ in $(seq 3); do
	"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
	sleep 1.1
done
spool_settled "$T/spool" 10
is "$(tool count hp.small)" 2 "the small queue holds 2"
is "$(grep -l '"event":"ev.small"' "$T"/spool/retry/* 2>/dev/null | wc -l)" 3 "3 nacked events wait in retry/"
like "$(grep '"type":"handler"' "$T/spool/delivery.log" | grep '"event":"ev.small"')" \
    'basic.nack' "the log says basic.nack"
: > "$T/got4"
for _ in $(seq 30); do
	tool drain hp.small "$T/got4" >/dev/null
	"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
	[ "$(grep -l '"event":"ev.small"' "$T"/spool/done/* 2>/dev/null | wc -l)" = 5 ] && break
	sleep 1
done
tool drain hp.small "$T/got4" >/dev/null
is "$("$PY" -c 'import json,sys
print(len({json.loads(l)["message_id"] for l in open(sys.argv[1])}))' "$T/got4")" 5 "all 5 arrive as room is made"

# 5. An exchange that does not exist: the broker closes the channel
# (404); the events are retried until it is declared.
body e1 ev.noex id-e1
echo e1 > "$T/list5"
: > "$T/codes"
post_all "$T/list5"
"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
spool_settled "$T/spool" 10
is "$(grep -l '"event":"ev.noex"' "$T"/spool/retry/* 2>/dev/null | wc -l)" 1 "no such exchange: retried"
like "$(grep '"type":"handler"' "$T/spool/delivery.log" | grep '"event":"ev.noex"' | head -n1)" \
    '404 NOT_FOUND' "the log gives the broker's 404"
tool declare hp.later hp.events ev.a >/dev/null
drain_spool 30
ok $? "delivered once the exchange exists"
tool drain hp.events "$T/got5" >/dev/null
like "$(cat "$T/got5")" '"message_id": "id-e1"' "it arrives"

# check: the URL rules.
bad() {	# bad DESCRIPTION REGEX INI-LINES...
	local what=$1 re=$2
	shift 2
	{ sed -n '1,/^concurrency = 16$/p' "$T/h.ini"; printf '%s\n' "$@"; } > "$T/bad.ini"
	out=$("$BUILD/hookpipe" -c "$T/bad.ini" check 2>&1)
	[ $? -ne 0 ] && [[ $out =~ $re ]]
	ok $? "check refuses $what"
	[[ $out =~ $re ]] || diag "$out"
}
bad "a password in the URL" 'password in the URL' '[event x]' \
    "forward = amqp://u:pw@127.0.0.1/" "secret_file = $T/pass"
bad "an amqp URL without a user" 'user is missing' '[event x]' \
    "forward = amqp://127.0.0.1/" "secret_file = $T/pass"
bad "amqp without secret_file" 'needs secret_file' '[event x]' "forward = $URL"
bad "exchange without forward" 'option of forward' '[event x]' "exchange = hp"
bad "exchange with https" 'does not take exchange' '[event x]' \
    "forward = https://127.0.0.1/x" "secret_file = $T/pass" "exchange = hp"
bad "ca_file with plain amqp" 'does not take ca_file' '[event x]' \
    "forward = $URL" "secret_file = $T/pass" "ca_file = $T/pass"
bad "a bad vhost escape" 'bad %XX' '[event x]' \
    "forward = amqp://u@127.0.0.1/%zz" "secret_file = $T/pass"

stop_servers
stop_runners
stop_rabbitmq
is "$(rmq_procs)" "" "no process of the broker is left (beam, epmd, helpers)"
finish
