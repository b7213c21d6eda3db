#!/bin/bash
# forward.sh: forward = URL, delivered by the runner like a handler.
# A local HTTPS receiver (forward_server.py, its own throw-away CA given
# by ca_file) checks each Standard Webhooks signature with Python's hmac
# and answers from a plan: 500, 500, 200 (three attempts, the same bytes
# each time); 410 (dead at once); 503 with Retry-After (the retry's due
# time); a redirect (not followed: a failure); a wrong CA (a retry with
# the TLS reason). A fake SQS checks each SigV4 signature with botocore
# and stores the messages (FIFO deduplication id, 500 then 200). Events
# enter through hookpipe.fcgi as CGI; hookpipe-run is run by hand.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
if ! "$PY" -c 'import botocore.auth' 2>/dev/null; then
	skip "forwarding" "python3-botocore is not installed (scripts/deps)"
	finish
fi
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# The receiver's certificate names 127.0.0.1; a second one is the wrong CA.
for c in tls other; do
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	    -addext subjectAltName=IP:127.0.0.1 -keyout "$T/$c.key" \
	    -out "$T/$c.crt" 2>/dev/null || { fail "openssl makes a certificate"; finish; }
done
SECRET=whsec_$(head -c 24 /dev/urandom | base64)
printf '%s\n' "$SECRET" > "$T/whsec"
printf '[default]\naws_access_key_id = AKIDTESTFORWARD\naws_secret_access_key = %s\n' \
    "$(head -c 30 /dev/urandom | base64)" > "$T/creds"
printf 'tok-forward\n' > "$T/token"
chmod 600 "$T/whsec" "$T/creds" "$T/token"
mkdir -p "$T/handlers"
chmod 755 "$T/handlers"

cat > "$T/plan.json" <<'EOF'
{"/a": [500, 500, 200], "/gone": [410],
 "/ra": [[503, {"Retry-After": "30"}], 200],
 "/redir": [[302, {"Location": "https://127.0.0.1:1/elsewhere"}]],
 "sqs:hooks.fifo": [500, 200], "sqs:plain": [200]}
EOF
"$PY" "$SRC/tests/integration/forward_server.py" "$T/port" "$T/tls.crt" \
    "$T/tls.key" "$T/plan.json" "$T/received" "$T/whsec" "$T/creds" \
    2>"$T/server.err" &
STARTED_PIDS+=($!)
wait_file "$T/port" 10
PORT=$(cat "$T/port")
U=https://127.0.0.1:$PORT

cat > "$T/h.ini" <<EOF
[hookpipe]
spool_dir = $T/spool
handlers_dir = $T/handlers
[auth]
token_file = $T/token
[delivery]
runner = /bin/true
retries = 3
backoff = 1s
timeout = 10
EOF
ev() {	# ev NAME URL [KEY = VALUE...]
	local name=$1 url=$2
	shift 2
	printf '[event %s]\nforward = %s\n' "$name" "$url"
	case $url in
	sqs:*) printf 'credentials_file = %s\nendpoint_url = %s\n' "$T/creds" "$U" ;;
	*) printf 'secret_file = %s\n' "$T/whsec" ;;
	esac
	[ $# -gt 0 ] && printf '%s\n' "$@"
	return 0
}
{
	ev fwd.a "$U/a" "ca_file = $T/tls.crt"
	ev fwd.gone "$U/gone" "ca_file = $T/tls.crt"
	ev fwd.ra "$U/ra" "ca_file = $T/tls.crt"
	ev fwd.redir "$U/redir" "ca_file = $T/tls.crt"
	ev fwd.badca "$U/badca" "ca_file = $T/other.crt"
	ev sqs.fifo sqs://eu-west-1/123456789012/hooks.fifo "ca_file = $T/tls.crt"
	ev sqs.plain sqs://eu-west-1/123456789012/plain "ca_file = $T/tls.crt"
} >> "$T/h.ini"

out=$("$BUILD/hookpipe" -c "$T/h.ini" check 2>&1)
is "$?" 0 "hookpipe check accepts the destinations"
diag "$out"

cgi() {	# cgi BODY-FILE: one event through hookpipe.fcgi as CGI
	env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$T/h.ini" \
	    GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST HTTPS=on \
	    REMOTE_ADDR=127.0.0.1 CONTENT_TYPE="application/json; charset=utf-8" \
	    CONTENT_LENGTH="$(wc -c < "$1")" HTTP_X_AUTH_TOKEN=tok-forward \
	    timeout 10 "$BUILD/hookpipe.fcgi" < "$1" > "$T/out" 2>"$T/err"
	grep -q '^Status: 200' "$T/out"
}
for e in fwd.a fwd.gone fwd.ra fwd.redir fwd.badca sqs.fifo sqs.plain; do
	# Odd spacing and a non-ASCII character: bytes, not a re-encoding.
	printf '{"event":"%s",  "id":"id-%s","data":{"n":1,"s":"caf\xc3\xa9"}}\n' \
	    "$e" "${e/./_}" > "$T/body.$e"
	cgi "$T/body.$e" || fail "event $e accepted" "$(cat "$T/out" "$T/err")"
done

entry() {	# entry EVENT: the spool name of its entry, in any folder
	grep -l "\"event\":\"$1\"" "$T"/spool/{new,cur,retry,done,dead}/* 2>/dev/null |
	    head -n1 | xargs -r basename
}
in_dir() { [ -n "$(entry "$1")" ] && [ -e "$T/spool/$2/$(entry "$1")" ]; }

# Run the runner until only the entry waiting out its Retry-After is in
# retry/ (backoff 1s), at most 25 passes.
RA=$(entry fwd.ra)
for _ in $(seq 25); do
	"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
	left=$(find "$T/spool/retry" "$T/spool/new" -type f ! -name "$RA" | wc -l)
	[ "$left" = 0 ] && break
	sleep 1.1
done
spool_settled "$T/spool" 10
is "$left" 0 "every event but the one told to wait has settled"

rec() { grep "\"key\": \"$1\"" "$T/received"; }
n=$(rec /a | wc -l)
is "$n" 3 "500, 500, 200: three attempts"
in_dir fwd.a "done"; ok $? "fwd.a is in done/"
bodies=$(rec /a | "$PY" -c 'import json,sys; print(len({json.loads(l)["body"] for l in sys.stdin}))')
is "$bodies" 1 "the same body each attempt"
rec /a | tail -n1 | "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
want = open(sys.argv[1], "rb").read().decode()
sys.exit(0 if r["body"] == want else 1)' "$T/body.fwd.a"
ok $? "the body arrived byte for byte"
is "$(rec /a | grep -c '"sig_ok": true')" 3 "each attempt has a valid Standard Webhooks signature (Python hmac)"
like "$(rec /a | tail -n1)" '"webhook-id": "id-fwd_a"' "webhook-id is the event's id"
like "$(rec /a | tail -n1)" '"content-type": "application/json; charset=utf-8"' "the sender's Content-Type is kept"

is "$(rec /gone | wc -l)" 1 "410: one attempt"
in_dir fwd.gone dead; ok $? "410: dead at once"

is "$(rec /ra | wc -l)" 1 "503 + Retry-After: one attempt so far"
in_dir fwd.ra retry; ok $? "503: in retry/"
# The due time (retry/'s mtime) against the time the retry was logged.
due=$(stat -c %Y "$T/spool/retry/$RA" 2>/dev/null || echo 0)
at=$(grep '"state":"retry"' "$T/spool/delivery.log" | grep fwd.ra | head -n1 |
    "$PY" -c 'import json,sys,datetime
t = json.loads(sys.stdin.read())["time"]
print(int(datetime.datetime.strptime(t[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()))')
wait_s=$(( due - ${at:-0} ))
[ "$wait_s" -ge 29 ] && [ "$wait_s" -le 31 ]
ok $? "Retry-After: 30 sets the due time (due ${wait_s}s after the attempt, backoff is 1s)"
like "$(grep '"state":"retry"' "$T/spool/delivery.log" | grep fwd.ra)" \
    'HTTP 503; Retry-After 30s.*next attempt in 30s' "the log says Retry-After and the wait"

n=$(rec /redir | wc -l)
is "$n" 4 "a redirect is not followed: 4 attempts (retries = 3), none elsewhere"
in_dir fwd.redir dead; ok $? "redirects exhausted the retries: dead"
like "$(grep '"handler":"'"$U"'/redir"' "$T/spool/delivery.log" | head -n1)" \
    'redirect \(to https://127.0.0.1:1/elsewhere\) is not followed' "the log names the redirect"

is "$(rec /badca | wc -l)" 0 "wrong CA: nothing is sent"
in_dir fwd.badca dead; ok $? "wrong CA: retried, then dead"
like "$(grep '"handler":"'"$U"'/badca"' "$T/spool/delivery.log" | head -n1)" \
    '"exit":1,.*"stderr":"TLS: [^"]*(certificate|verif)' "wrong CA: the log gives the TLS reason"

is "$(rec sqs:hooks.fifo | wc -l)" 2 "SQS FIFO: 500 then 200, two requests"
is "$(rec sqs:hooks.fifo | grep -c '"sig_ok": true')" 2 "SQS: each SigV4 signature verifies (botocore)"
like "$(rec sqs:hooks.fifo | tail -n1)" '"MessageDeduplicationId": "id-sqs_fifo"' "FIFO: the event id is the deduplication id"
like "$(rec sqs:hooks.fifo | tail -n1)" '"MessageGroupId": "sqs.fifo"' "FIFO: a message group id"
# The fake server's records of two requests need not be in their order.
like "$(rec sqs:hooks.fifo)" '"attempt": \{"DataType": "Number", "StringValue": "2"\}' "SQS: the attempt attribute"
in_dir sqs.fifo "done"; ok $? "SQS FIFO: done"
rec sqs:plain | "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
m = r["sqs"]
ok = (r["sig_ok"] and "MessageDeduplicationId" not in m and
      m["MessageBody"] == open(sys.argv[1], "rb").read().decode() and
      m["MessageAttributes"]["event"]["StringValue"] == "sqs.plain" and
      m["QueueUrl"].endswith("/123456789012/plain"))
sys.exit(0 if ok else 1)' "$T/body.sqs.plain"
ok $? "SQS standard queue: signed, the body as MessageBody, event attribute, no dedup id"

# The history: every attempt of fwd.a with its result, like a handler's.
show=$("$BUILD/hookpipe" -c "$T/h.ini" show "$(entry fwd.a)" 2>&1)
is "$(grep -c "$U/a: exit 75" <<< "$show")" 2 "hookpipe show: both failed attempts (exit 75: retry)"
like "$show" "$U/a: exit 0" "hookpipe show: the success"
like "$show" "stderr: HTTP 200" "hookpipe show: its HTTP status"
unlike "$show" 'next attempt in 0s' "a 500 without Retry-After waits the backoff"

# A replayed event is forwarded again (handlers and destinations alike).
"$BUILD/hookpipe" -c "$T/h.ini" replay "$(entry fwd.gone)" >/dev/null 2>&1
"$BUILD/hookpipe-run" -c "$T/h.ini" >>"$T/run.out" 2>>"$T/run.err"
is "$(rec /gone | wc -l)" 2 "replay forwards again"

# check: one mistake at a time.
bad() {	# bad DESCRIPTION REGEX INI-LINES...
	local what=$1 re=$2
	shift 2
	{ sed -n '1,/^timeout = 10$/p' "$T/h.ini"; printf '%s\n' "$@"; } > "$T/bad.ini"
	out=$("$BUILD/hookpipe" -c "$T/bad.ini" check 2>&1)
	[ $? -ne 0 ] && [[ $out =~ $re ]]
	ok $? "check refuses $what"
	[[ $out =~ $re ]] || diag "$out"
}
bad "http:// to another host" 'plain http://.*loopback' '[event x]' \
    'forward = http://example.com/h' "secret_file = $T/whsec"
chmod 644 "$T/whsec"
bad "a secret file others may read" 'secret_file .* may be read by others' \
    '[event x]' "forward = $U/a" "secret_file = $T/whsec"
chmod 600 "$T/whsec"
bad "https without secret_file" 'needs secret_file' '[event x]' "forward = $U/a"
bad "sqs without credentials" 'needs credentials_file' '[event x]' \
    'forward = sqs://eu-west-1/123456789012/q'
bad "a bad sqs URL" 'ACCOUNT/QUEUE' '[event x]' 'forward = sqs://eu-west-1/q' \
    "credentials_file = $T/creds"
bad "forward from a sync event" 'sync' '[event x]' 'mode = sync' \
    "forward = $U/a" "secret_file = $T/whsec"
bad "an option without forward" 'option of forward' '[event x]' "ca_file = $T/tls.crt"
{ sed -n '1,/^timeout = 10$/p' "$T/h.ini"; printf '[event y]\nforward = http://127.0.0.1:9/h\nsecret_file = %s\n' "$T/whsec"; } > "$T/lo.ini"
"$BUILD/hookpipe" -c "$T/lo.ini" check >/dev/null 2>&1
ok $? "http:// to a loopback host is allowed"

finish
