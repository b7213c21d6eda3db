#!/usr/bin/env bash
# alerts.sh: [alert] under lighttpd. The alert program records each
# call (its HOOKPIPE_ALERT* variables, its stdin) so that every change is
# counted: `dead` fires once when a handler dead-letters an event (the
# runner's evaluation), not again at later evaluations, and resolves
# once after a replay that succeeds; three dead events in a window make
# one alert with count 3 (the window closed by a clock moved ahead with
# faketime), purge resolves it; `runner` fires when the last run is
# older than [health] runner_max_age (faketime) and resolves after a
# runner pass; an alert program that exits 1 or hangs past its timeout
# changes nothing in delivery, is logged, and its firing is tried again
# at the next evaluation; `refusals` fires once after N+1 wrong tokens.
. "$(dirname "$0")/lib.sh"

FAKETIME=$(command -v faketime || true)
# faketime preloads its library before the sanitizer build's ASan runtime.
FT_ASAN="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
PY3=/usr/bin/python3
TOKEN='alerts-token-0123456789abcdef'
mkdir -p "$T/h"
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
# perm: dead-letters (exit 100) until $T/ok exists.
cat > "$T/h/perm" <<'SH'
#!/bin/sh
[ -e "$REC/ok" ] && exit 0
exit 100
SH
printf '#!/bin/sh\nexit 0\n' > "$T/h/good"
# The recording alert program: one line per call, its stdin beside it.
cat > "$T/alert" <<'SH'
#!/bin/sh
n=$(( $(cat "$REC/n" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$REC/n"
cat > "$REC/call.$n.json"
echo "$HOOKPIPE_ALERT $HOOKPIPE_ALERT_NAME $HOOKPIPE_ALERT_COUNT" >> "$REC/calls"
SH
printf '#!/bin/sh\necho "no mail today" >&2\nexit 1\n' > "$T/alert-fail"
printf '#!/bin/sh\nexec sleep 30\n' > "$T/alert-hang"
chmod 755 "$T/h/perm" "$T/h/good" "$T/alert" "$T/alert-fail" \
    "$T/alert-hang"

ini() {	# ini [KEY = VALUE...]: the configuration, into $T/a.ini; the
	# [alert] keys given replace the defaults here
	local k v line
	declare -A a=([program]="$T/alert" [interval]=0 [backlog_age]=0
	    [refusals_per_minute]=0 [dead_window]=0)
	for line in "$@"; do
		k=${line%% = *}
		v=${line#* = }
		a[$k]=$v
	done
	{
		cat <<EOF
[hookpipe]
spool_dir = $T/spool
handlers_dir = h
require_https = no
[auth]
token_file = token
[delivery]
linger = 0
kill_grace = 1
[env]
REC = $T
[alert]
EOF
		for k in "${!a[@]}"; do
			printf '%s = %s\n' "$k" "${a[$k]}"
		done
	} > "$T/a.ini.new"
	mv "$T/a.ini.new" "$T/a.ini"
}
ini
HP() { "$BUILD/hookpipe" -c "$T/a.ini" "$@"; }
calls() { cat "$T/calls" 2>/dev/null; }
ncalls() { calls | grep -c .; }
settle() {	# settle: until the spool is at rest, every runner gone
	spool_settled "$T/spool"
	runner_idle "$T/spool" >/dev/null
}

PORT=$(free_port)
lighttpd_conf "$T/l.conf" "$PORT" "$T/a.ini"
start_lighttpd "$T/l.conf" "$PORT" || { fail "lighttpd starts"; finish; }
URL="http://127.0.0.1:$PORT/hooks"
send() {	# send BODY [TOKEN]
	post "$URL" -H 'Content-Type: application/json' \
	    -H "x-auth-token: ${2:-$TOKEN}" --data-binary "$1"
}

out=$(HP check 2>&1)
like "$out" 'configuration OK' "hookpipe check accepts [alert]"

# --- dead: fires once, then resolves once after a replay that succeeds.
send '{"event":"perm","id":"d-1"}'; is "$STATUS" 200 "perm accepted"
settle
is "$(count_files "$T/spool/dead")" 1 "the event is dead"
is "$(calls)" "firing dead 1" "the runner's evaluation fired dead once, count 1"
"$PY3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["alert"] == "dead" and d["state"] == "firing", d
assert d["count"] == 1 and d["reminder"] is False, d
assert [e["id"] for e in d["events"]] == ["d-1"], d
assert d["events"][0]["event"] == "perm", d
' "$T/call.1.json" 2>"$T/py.err"
ok $? "its stdin: JSON with the alert, state, count and the dead ids" ||
    diag "$(cat "$T/py.err" "$T/call.1.json")"
HP check --alerts; is $? 0 "check --alerts exits 0"
HP check --alerts
is "$(ncalls)" 1 "further evaluations do not fire again"
like "$(grep '"type":"alert"' "$T/spool/delivery.log")" \
    '"alert":"dead","state":"firing".*"result":"exit 0"' \
    "the delivery log has the alert run"

touch "$T/ok"
HP replay --dead >/dev/null; is $? 0 "replay --dead"
"$BUILD/hookpipe-run" -q -c "$T/a.ini"; is $? 0 "a runner pass"
is "$(count_files "$T/spool/dead")" 0 "dead/ empty after the replay"
is "$(calls | sed -n 2p)" "resolved dead 0" "dead resolved by the runner's evaluation"
HP check --alerts
HP check --alerts
is "$(ncalls)" 2 "resolved once only"
"$PY3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["state"] == "resolved" and d["count"] == 0 and "since" in d, d
' "$T/call.2.json" 2>"$T/py.err"
ok $? "the resolved summary says since when it fired" ||
    diag "$(cat "$T/py.err" "$T/call.2.json")"

# --- dead_window: three dead events make one alert, count 3.
rm -f "$T/ok"
ini 'dead_window = 1h'
for i in 1 2 3; do
	send "{\"event\":\"perm\",\"id\":\"w-$i\"}"
	is "$STATUS" 200 "w-$i accepted"
done
settle
is "$(count_files "$T/spool/dead")" 3 "three events dead"
HP check --alerts
is "$(ncalls)" 2 "within the window: no alert yet"
if [ -n "$FAKETIME" ]; then
	ASAN_OPTIONS=$FT_ASAN "$FAKETIME" -f +2h "$BUILD/hookpipe" -c "$T/a.ini" check --alerts
	is "$(calls | sed -n 3p)" "firing dead 3" "after the window: one alert, count 3"
	is "$(ncalls)" 3 "one alert for the three"
	"$PY3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert sorted(e["id"] for e in d["events"]) == ["w-1", "w-2", "w-3"], d
' "$T/call.3.json" 2>"$T/py.err"
	ok $? "its stdin names the three" || diag "$(cat "$T/py.err")"
	HP check --alerts
	is "$(ncalls)" 3 "no second alert for the same batch"
	HP purge --older-than 0s --state dead >/dev/null
	HP check --alerts
	is "$(calls | sed -n 4p)" "resolved dead 0" "purge: dead resolved"
else
	skip "dead_window" "faketime is not installed (scripts/deps)"
	HP purge --older-than 0s --state dead >/dev/null
	HP check --alerts
fi
ini
HP check --alerts
base=$(ncalls)

# --- runner: [health] runner_max_age, the limit /_health uses too.
ini
printf '[health]\nrunner_max_age = 10m\n' >> "$T/a.ini"
HP check --alerts
is "$(ncalls)" "$base" "a runner ran recently: runner does not fire"
if [ -n "$FAKETIME" ]; then
	ASAN_OPTIONS=$FT_ASAN "$FAKETIME" -f +1h "$BUILD/hookpipe" -c "$T/a.ini" check --alerts
	like "$(calls | sed -n "$((base + 1))p")" '^firing runner [0-9]+$' \
	    "no runner for an hour: runner fires"
	ASAN_OPTIONS=$FT_ASAN "$FAKETIME" -f +1h "$BUILD/hookpipe" -c "$T/a.ini" check --alerts
	is "$(ncalls)" "$((base + 1))" "and only once"
	"$BUILD/hookpipe-run" -q -c "$T/a.ini"
	is "$(calls | sed -n "$((base + 2))p")" "resolved runner 0" \
	    "a runner pass resolves it"
	HP check --alerts
	is "$(ncalls)" "$((base + 2))" "resolved once"
else
	skip "runner alert" "faketime is not installed (scripts/deps)"
fi
ini
base=$(ncalls)

# --- a failing alert program changes nothing in delivery.
for prog in alert-fail alert-hang; do
	ini "program = $T/$prog" 'timeout = 1'
	: > "$T/spool/delivery.log"
	send "{\"event\":\"perm\",\"id\":\"f-$prog\"}"
	send "{\"event\":\"good\",\"id\":\"g-$prog\"}"
	is "$STATUS" 200 "$prog: good accepted"
	settle
	is "$(HP ls "done" | grep -c "g-$prog")" 1 "$prog: the good event is done"
	is "$(HP ls dead | grep -c "f-$prog")" 1 "$prog: the perm event is dead, as without alerts"
	res=$([ "$prog" = alert-fail ] && echo 'exit 1' || echo timeout)
	like "$(grep '"type":"alert"' "$T/spool/delivery.log")" \
	    "\"program\":\"$T/$prog\",\"result\":\"$res\".*\"retry\"" \
	    "$prog: the log names the failure ($res)"
	[ "$prog" = alert-fail ] &&
	    like "$(grep '"type":"alert"' "$T/spool/delivery.log")" \
	    '"stderr":"no mail today' "$prog: with its stderr"
	n1=$(grep -c '"type":"alert"' "$T/spool/delivery.log")
	err=$(HP check --alerts 2>&1); rc=$?
	is "$rc" 0 "$prog: check --alerts still exits 0"
	like "$err" 'failed 1 time' "$prog: and says the program failed"
	is "$(grep -c '"type":"alert"' "$T/spool/delivery.log")" "$((n1 + 1))" \
	    "$prog: the firing is tried again at the next evaluation"
done
is "$(ncalls)" "$base" "no recorded call while the program failed"
ini
HP check --alerts
is "$(calls | sed -n "$((base + 1))p")" "firing dead 2" \
    "the program back: the firing that failed happens, count 2"
HP purge --older-than 0s --state dead >/dev/null
HP check --alerts
base=$(ncalls)

# --- refusals: N+1 wrong tokens in a minute on an endpoint.
ini 'refusals_per_minute = 3'
HP check --alerts
is "$(ncalls)" "$base" "refusals: the first evaluation takes a reading"
for i in 1 2 3 4; do
	send '{"event":"good","id":"r"}' wrong-token-0123456789
	is "$STATUS" 401 "wrong token $i refused"
done
HP check --alerts
is "$(calls | sed -n "$((base + 1))p")" "firing refusals 4" \
    "4 refusals over 3 a minute: refusals fires, count 4"
"$PY3" -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["endpoints"] == [{"endpoint": "_default", "refused": 4,
    "seconds": d["endpoints"][0]["seconds"]}], d
' "$T/call.$(cat "$T/n").json" 2>"$T/py.err"
ok $? "its stdin names the endpoint and the count" || diag "$(cat "$T/py.err")"
HP check --alerts
is "$(ncalls)" "$((base + 1))" "refusals fired once"

# The state file: JSON, the spool's own.
"$PY3" -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["version"] == 1 and d["alerts"]["refusals"]["active"] == 1' \
    "$T/spool/alerts.state"
ok $? "SPOOL/alerts.state is JSON with each condition"
is "$(stat -c %a "$T/spool/alerts.state")" 600 "alerts.state is private"

# check --alerts without [alert]
sed -i '/^\[alert\]/,$d' "$T/a.ini"
HP check --alerts 2>"$T/err"
is $? 1 "check --alerts without [alert]: exit 1"
like "$(cat "$T/err")" 'no \[alert\] section' "and says why"

finish
