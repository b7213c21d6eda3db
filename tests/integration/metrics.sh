#!/usr/bin/env bash
# metrics.sh: /hooks/_metrics scraped by a real Prometheus (the Debian
# binary, on a free loopback port, its storage in $T, a 1 s scrape with
# the bearer token from a credentials_file) after a scripted mix: the
# values read back through its query API are exact; promtool finds the
# text clean; a scrape without the token, or from an address outside
# allow_from, is refused with a JSON reason. /hooks/_health: 200 (and
# HEAD), 503 naming the check when the runner's stamp is too old or the
# free-space floor is not met. TRACEPARENT reaches the handler and its
# trace id the log. hookpipe metrics --textfile writes a valid file.
. "$(dirname "$0")/lib.sh"

PROMETHEUS=$(command -v prometheus || echo /usr/bin/prometheus)
PROMTOOL=$(command -v promtool || echo /usr/bin/promtool)
if [ ! -x "$PROMETHEUS" ] || [ ! -x "$PROMTOOL" ]; then
	skip "metrics with Prometheus" "prometheus is not installed (scripts/deps)"
	echo "1..$TAP_N"
	exit 0
fi

PY=/usr/bin/python3
TOKEN='metrics-token-0123456789abcdef'
SCRAPE='scrape-token-0123456789abcdef'
TP='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
mkdir -p "$T/h" "$T/tf"
printf '%s\n' "$TOKEN" > "$T/token"
printf '%s\n' "$SCRAPE" > "$T/scrape.token"
chmod 600 "$T/token" "$T/scrape.token"
cat > "$T/h/good" <<'SH'
#!/bin/sh
echo "${TRACEPARENT:-none}" >> "$REC/trace"
SH
cat > "$T/h/perm" <<'SH'
#!/bin/sh
exit 100
SH
# A temporary failure first, then a success.
cat > "$T/h/flaky" <<'SH'
#!/bin/sh
[ "$HOOKPIPE_ATTEMPT" -gt 1 ] || exit 75
SH
chmod 755 "$T/h/good" "$T/h/perm" "$T/h/flaky"

ini() {	# ini [HEALTH-KEYS...]: a configuration on stdout
	cat <<EOF
[hookpipe]
spool_dir = $T/spool
handlers_dir = h
require_https = no
[auth]
token_file = token
[event flaky]
backoff = 1s
[env]
REC = $T
[metrics]
token_file = scrape.token
[health]
min_free = 1M
EOF
	printf '%s\n' "$@"
}
ini 'runner_max_age = 1h' > "$T/m.ini"
ini 'runner_max_age = 1s' > "$T/old.ini"
ini 'min_free = 1000000G' | sed '/^min_free = 1M$/d' > "$T/full.ini"
cat > "$T/off.ini" <<EOF
[hookpipe]
spool_dir = $T/spool
handlers_dir = h
require_https = no
[auth]
token_file = token
EOF

PORT=$(free_port)
lighttpd_conf "$T/l.conf" "$PORT" "$T/m.ini"
start_lighttpd "$T/l.conf" "$PORT" || { fail "lighttpd starts"; finish; }
URL="http://127.0.0.1:$PORT/hooks"

# cgi INI METHOD PATH REMOTE [HEADER=VALUE...]: the responder as CGI;
# sets STATUS and BODY.
cgi() {
	local out
	out=$(env -i HOOKPIPE_CONFIG="$1" REQUEST_METHOD="$2" PATH_INFO="$3" \
	    REMOTE_ADDR="$4" "${@:5}" "$BUILD/hookpipe.fcgi" </dev/null | tr -d '\r')
	STATUS=$(printf '%s\n' "$out" | sed -n 's/^Status: \([0-9]*\).*/\1/p')
	BODY=$(printf '%s\n' "$out" | sed '1,/^$/d')
}

# The mix: 3 accepted (good, perm, flaky), a wrong token, bad JSON, a
# duplicate.
send() {	# send BODY [TOKEN] [curl args]
	post "$URL" -H 'Content-Type: application/json' \
	    -H "x-auth-token: ${2:-$TOKEN}" --data-binary "$1" "${@:3}"
}
B1='{"event":"good","id":"m-1"}'
B2='{"event":"perm","id":"m-2"}'
B3='{"event":"flaky","id":"m-3"}'
send "$B1" "$TOKEN" -H "traceparent: $TP"; is "$STATUS" 200 "good accepted"
send "$B2"; is "$STATUS" 200 "perm accepted"
send "$B3"; is "$STATUS" 200 "flaky accepted"
send "$B1" wrong-token-0123456789; is "$STATUS" 401 "wrong token refused"
send '{"event":'; is "$STATUS" 400 "bad JSON refused"
send "$B1"; is "$(json_get duplicate)" true "duplicate answered as such"
BYTES=$(( ${#B1} + ${#B2} + ${#B3} ))

# Settled: good and flaky in done/ (flaky after its retry), perm in dead/.
for _ in $(seq 300); do
	[ "$(count_files "$T/spool/done")" = 2 ] &&
	    [ "$(count_files "$T/spool/dead")" = 1 ] && break
	sleep 0.1
done
spool_settled "$T/spool"
is "$(count_files "$T/spool/done") $(count_files "$T/spool/dead")" "2 1" \
    "two events done, one dead"
is "$(cat "$T/trace" 2>/dev/null)" "$TP" "TRACEPARENT reaches the handler"
like "$(grep '"handler":".*good"' "$T/spool/delivery.log")" \
    '"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"' \
    "the trace id is in the handler's log line"

# Prometheus, scraping the responder under lighttpd with the token.
PPORT=$(free_port)
cat > "$T/prom.yml" <<EOF
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: hookpipe
    metrics_path: /hooks/_metrics
    authorization:
      type: Bearer
      credentials_file: $T/scrape.token
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
"$PROMETHEUS" --config.file="$T/prom.yml" --storage.tsdb.path="$T/prom" \
    --web.listen-address="127.0.0.1:$PPORT" >"$T/prom.log" 2>&1 &
PROM_PID=$!
STARTED_PIDS+=("$PROM_PID")
wait_port "$PPORT" || fail "prometheus listens" "$(tail -5 "$T/prom.log")"

promq() {	# promq EXPR: the value of a one-sample instant query, or none
	curl -s --max-time 5 "http://127.0.0.1:$PPORT/api/v1/query" \
	    --data-urlencode "query=$1" | "$PY" -c 'import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if len(r) == 1 else "none")
except Exception:
    print("none")'
}

declare -A WANT=(
	['hookpipe_requests_total{endpoint="_default",code="200"}']=4
	['hookpipe_requests_total{endpoint="_default",code="401"}']=1
	['hookpipe_requests_total{endpoint="_default",code="400"}']=1
	['hookpipe_refusals_total{reason="auth"}']=1
	['hookpipe_refusals_total{reason="json"}']=1
	['hookpipe_refusals_total{reason="address"}']=0
	['hookpipe_duplicates_total']=1
	['hookpipe_accepted_bytes_total']=$BYTES
	['hookpipe_handler_runs_total{result="ok"}']=2
	['hookpipe_handler_runs_total{result="temporary"}']=1
	['hookpipe_handler_runs_total{result="permanent"}']=1
	['hookpipe_handler_runs_total{result="timeout"}']=0
	['hookpipe_events_dead_total']=1
	['hookpipe_events_done_total']=2
	['hookpipe_request_duration_seconds_count']=6
	['hookpipe_handler_duration_seconds_count']=4
	['hookpipe_event_latency_seconds_count']=2
	['hookpipe_events{state="done"}']=2
	['hookpipe_events{state="dead"}']=1
	['hookpipe_events{state="new"}']=0
	['hookpipe_journal_commits_total']=3
	['hookpipe_journal_bypassed_total']=0
	['hookpipe_journal_limit_bytes']=67108864
	['up{job="hookpipe"}']=1
)
# Until a scrape has them all, at most 60 s.
for _ in $(seq 120); do
	miss=0
	for q in "${!WANT[@]}"; do
		[ "$(promq "$q")" = "${WANT[$q]}" ] || { miss=1; break; }
	done
	[ "$miss" = 0 ] && break
	sleep 0.5
done
for q in $(printf '%s\n' "${!WANT[@]}" | sort); do
	is "$(promq "$q")" "${WANT[$q]}" "prometheus: $q"
done

kill "$PROM_PID" 2>/dev/null
wait "$PROM_PID" 2>/dev/null
ok $? "prometheus stopped by its pid"

# The text itself, as scraped.
post "$URL/_metrics" -H "Authorization: Bearer $SCRAPE"
is "$STATUS" 200 "scrape with the token"
like "$(header content-type)" '^text/plain; version=0.0.4' "exposition content type"
cp "$T/resp.body" "$T/scrape.prom"
out=$("$PROMTOOL" check metrics < "$T/scrape.prom" 2>&1)
ok $? "promtool check metrics: clean"
is "$out" "" "promtool: no complaints"
like "$BODY" '# TYPE hookpipe_handler_duration_seconds histogram' "HELP/TYPE lines"

post "$URL/_metrics"
is "$STATUS" 401 "a scrape without the token is refused"
is "$(json_get reason)" "authentication failed" "with a JSON reason"
post "$URL/_metrics" -H "Authorization: Bearer $TOKEN"
is "$STATUS" 401 "another token is refused"
cgi "$T/m.ini" GET /_metrics 192.0.2.7 HTTP_AUTHORIZATION="Bearer $SCRAPE"
is "$STATUS" 403 "a scrape from outside allow_from is refused"
like "$BODY" '"reason":"source address not allowed"' "with a JSON reason"
cgi "$T/off.ini" GET /_metrics 127.0.0.1
is "$STATUS" 404 "no [metrics]: /_metrics is no path"
cgi "$T/off.ini" GET /_health 127.0.0.1
is "$STATUS" 404 "no [health]: /_health is no path"
post "$URL/_other"
is "$STATUS" 404 "other reserved names are no endpoint"

# Health.
post "$URL/_health"
is "$STATUS" 200 "health: 200"
is "$(json_get status)" ok "health: status ok"
like "$BODY" '"checks":\{"config":"ok","spool":"ok","space":"ok","inodes":"ok","runner":"ok"\}' \
    "health: every check named"
STATUS=$(curl -s -I -o "$T/head.out" -w '%{http_code}' --max-time 10 "$URL/_health")
is "$STATUS" 200 "HEAD /_health: 200"
is "$(tr -d '\r' < "$T/head.out" | sed '1,/^$/d')" "" "HEAD: no body"
like "$(tr -d '\r' < "$T/head.out")" 'Content-Length: [1-9]' "HEAD: GET's length"
cgi "$T/m.ini" GET /_health 192.0.2.7
is "$STATUS" 403 "health from outside allow_from is refused"
runner_idle "$T/spool"
sleep 2		# the runner's stamp is now older than 1 s
cgi "$T/old.ini" GET /_health 127.0.0.1
is "$STATUS" 503 "health: 503 when the runner ran too long ago"
like "$BODY" '"status":"fail".*"runner":"last run [0-9]+s ago' "the runner check says why"
cgi "$T/full.ini" GET /_health 127.0.0.1
is "$STATUS" 503 "health: 503 below the free-space floor"
like "$BODY" '"space":"[0-9]+ bytes free, below min_free' "the space check says why"

# The textfile collector's file.
"$BUILD/hookpipe" -c "$T/m.ini" metrics --textfile "$T/tf" 2>"$T/tf.err"
ok $? "hookpipe metrics --textfile"
is "$(ls -A "$T/tf")" "hookpipe.prom" "only hookpipe.prom left in the folder"
"$PROMTOOL" check metrics < "$T/tf/hookpipe.prom" >/dev/null 2>&1
ok $? "the file passes promtool"
like "$(cat "$T/tf/hookpipe.prom")" 'hookpipe_events_dead_total 1' "with the counters"

finish
