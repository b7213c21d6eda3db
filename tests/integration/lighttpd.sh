#!/usr/bin/env bash
# lighttpd.sh: hookpipe.fcgi under a real lighttpd (mod_fastcgi) on free
# loopback ports, over HTTPS and plain HTTP: every row of the HTTP answers
# table, byte-exact payloads at real handlers, dedupe, sync mode,
# timeouts, the handler environment and ENOSPC.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/requests.sh"

TOKEN=tok-current-0123456789abcdef
TOKEN2=tok-previous-fedcba9876543210
CAP=$T/capture
mkdir -p "$CAP" "$T/handlers" "$T/www"
printf '# rotation: both accepted\n%s\n\n%s\n' "$TOKEN" "$TOKEN2" > "$T/token"
chmod 600 "$T/token"

# --- handlers -------------------------------------------------------
cat > "$T/handlers/capture" <<'SH'
#!/bin/sh
# Keep exactly what arrived on stdin, and the environment.
cat > "$CAPTURE/$HOOKPIPE_ID.body.tmp" || exit 75
env > "$CAPTURE/$HOOKPIPE_ID.env"
mv "$CAPTURE/$HOOKPIPE_ID.body.tmp" "$CAPTURE/$HOOKPIPE_ID.body"
echo "$HOOKPIPE_ID $HOOKPIPE_EVENT" >> "$CAPTURE/runs.log"
SH
cp "$T/handlers/capture" "$T/handlers/booking.updated"
cp "$T/handlers/capture" "$T/handlers/big.event"
mkdir -p "$T/handlers/payment.processed.d"
for n in 20-second 10-first; do
	printf '#!/bin/sh\necho "$HOOKPIPE_ID %s" >> "$CAPTURE/parts.log"\n' \
	    "$n" > "$T/handlers/payment.processed.d/$n"
done
printf '#!/bin/sh\necho "$HOOKPIPE_ID not-executable" >> "$CAPTURE/parts.log"\n' \
    > "$T/handlers/payment.processed.d/30-disabled"
printf '#!/bin/sh\ncat >/dev/null; printf %%s "{\\"handled\\":\\"$HOOKPIPE_EVENT\\"}"\n' \
    > "$T/handlers/sync-ok"
printf '#!/bin/sh\necho "busy, try later" >&2; exit 75\n' > "$T/handlers/sync-retry"
printf '#!/bin/sh\necho "it broke" >&2; exit 2\n' > "$T/handlers/sync-fail"
printf '#!/bin/sh\nexec sleep 20\n' > "$T/handlers/sync-slow"
printf '#!/bin/sh\necho "no such booking" >&2; exit 100\n' > "$T/handlers/perm-fail"
printf '#!/bin/sh\necho "database down" >&2; exit 3\n' > "$T/handlers/temp-fail"
cat > "$T/handlers/group" <<'SH'
#!/bin/sh
# Leaves a grandchild behind: the timeout must take it too.
sleep 300 &
echo $! > "$CAPTURE/group.pid"
sleep 300
SH
chmod 755 "$T/handlers/"* "$T/handlers/payment.processed.d/"[12]*

# --- configurations ---------------------------------------------------
cat > "$T/main.ini" <<EOF
; the main endpoint: HTTPS only, any source
[hookpipe]
spool_dir = spool
handlers_dir = handlers
max_body = 1100K
[auth]
token_file = token
[delivery]
timeout = 20s
kill_grace = 1s
[env]
CAPTURE = $CAP
[event sync.ok]
handler = sync-ok
mode = sync
sync_output = yes
[event sync.retry]
handler = sync-retry
mode = sync
[event sync.fail]
handler = sync-fail
mode = sync
[event sync.slow]
handler = sync-slow
mode = sync
timeout = 1
[event slow.group]
handler = group
timeout = 1
[event perm.fail]
handler = perm-fail
[event temp.fail]
handler = temp-fail
EOF
cat > "$T/strict.ini" <<EOF
[hookpipe]
spool_dir = strict-spool
handlers_dir = handlers
require_https = no
required = data.booking_id
unknown_events = reject
[auth]
token_file = token
allow_from = 192.0.2.0/24, 127.0.0.0/8, ::1
[env]
CAPTURE = $CAP
EOF
cat > "$T/denied.ini" <<EOF
[hookpipe]
spool_dir = denied-spool
handlers_dir = handlers
require_https = no
[auth]
token_file = token
allow_from = 192.0.2.0/24, 2001:db8::/32
EOF
cat > "$T/broken.ini" <<EOF
[hookpipe]
spool_dir = broken-spool
handlers_dir = handlers
spool_dri = typo
[auth]
token_file = token
EOF
# The core request set every web server runs (requests.sh).
mkdir -p "$T/core/handlers" "$T/core/capture"
core_handler "$T/core/handlers/booking.updated"
printf '[hookpipe]\nspool_dir = core/spool\nhandlers_dir = core/handlers\nmax_body = 1100K\n[auth]\ntoken_file = token\n[env]\nCAPTURE = %s\n' \
    "$T/core/capture" > "$T/core.ini"
GHTOKEN=tok-gh-0123456789abcdef0123
endpoint_setup "$T/core/handlers" gh "$T/core/token-gh" "$GHTOKEN" >> "$T/core.ini"
FULL_OK=0
if [ "$(id -u)" = 0 ] && mkdir -p "$T/fullfs" &&
    mount -t tmpfs -o size=256k tmpfs "$T/fullfs" 2>/dev/null; then
	MOUNTS+=("$T/fullfs")
	FULL_OK=1
fi
cat > "$T/full.ini" <<EOF
[hookpipe]
spool_dir = fullfs/spool
handlers_dir = handlers
require_https = no
log_file = full.log
[auth]
token_file = token
EOF

PORT=$(free_port)
TLSPORT=$(free_port)
while [ "$TLSPORT" = "$PORT" ]; do TLSPORT=$(free_port); done
make_tls || { echo "Bail out! openssl could not make a certificate"; exit 1; }
fcgi() {	# fcgi MOUNT INI PROCS
	printf '"%s" => (( "socket" => "%s/%s.sock", "bin-path" => "%s/hookpipe.fcgi", "bin-environment" => ( "HOOKPIPE_CONFIG" => "%s/%s" ), "check-local" => "disable", "max-procs" => %s )),\n' \
	    "$1" "$T" "${1#/}" "$BUILD" "$T" "$2" "$3"
}
{
	echo "server.document-root = \"$T/www\""
	echo "server.bind = \"127.0.0.1\""
	echo "server.port = $PORT"
	echo "server.errorlog = \"$T/lighttpd.error.log\""
	echo 'server.modules = ( "mod_openssl", "mod_fastcgi" )'
	echo 'server.max-request-size = 4096'
	echo "\$SERVER[\"socket\"] == \"127.0.0.1:$TLSPORT\" {"
	echo '  ssl.engine = "enable"'
	echo "  ssl.pemfile = \"$T/tls.pem\""
	echo '}'
	echo 'fastcgi.server = ('
	fcgi /hooks main.ini 2
	fcgi /strict strict.ini 1
	fcgi /denied denied.ini 1
	fcgi /broken broken.ini 1
	fcgi /core core.ini 1
	[ "$FULL_OK" = 1 ] && fcgi /full full.ini 1
	echo ')'
} > "$T/lighttpd.conf"
start_lighttpd "$T/lighttpd.conf" "$PORT" "$TLSPORT" ||
    { echo "Bail out! lighttpd did not start"; exit 1; }

URL=https://127.0.0.1:$TLSPORT/hooks
PLAIN=http://127.0.0.1:$PORT
SP=$T/spool
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")

core_requests "https://127.0.0.1:$TLSPORT/core" "$TOKEN" "$T/core/spool" "$T/core/capture" core
endpoint_requests "https://127.0.0.1:$TLSPORT/core" gh "$GHTOKEN" "$TOKEN" "$T/core/spool" "$T/core/capture" core

# --- the shipped conf/lighttpd.conf (paths replaced) routes endpoints --
mkdir -p "$T/ship/handlers" "$T/ship/capture"
core_handler "$T/ship/handlers/booking.updated"
printf '[hookpipe]\nspool_dir = ship/spool\nhandlers_dir = ship/handlers\nrequire_https = no\n[auth]\ntoken_file = token\n[env]\nCAPTURE = %s\n' \
    "$T/ship/capture" > "$T/ship.ini"
endpoint_setup "$T/ship/handlers" gh "$T/ship/token-gh" "$GHTOKEN" >> "$T/ship.ini"
SHIPPORT=$(free_port)
sed -e "s|/run/lighttpd/hookpipe.sock|$T/ship.sock|" \
    -e "s|/usr/local/bin/hookpipe.fcgi|$BUILD/hookpipe.fcgi|" \
    -e "s|/etc/hookpipe/hookpipe.ini|$T/ship.ini|" \
    "$SRC/conf/lighttpd.conf" > "$T/ship-include.conf"
printf 'server.document-root = "%s/www"\nserver.bind = "127.0.0.1"\nserver.port = %s\nserver.errorlog = "%s/ship.error.log"\ninclude "%s/ship-include.conf"\n' \
    "$T" "$SHIPPORT" "$T" "$T" > "$T/ship-lighttpd.conf"
if start_lighttpd "$T/ship-lighttpd.conf" "$SHIPPORT"; then
	endpoint_requests "http://127.0.0.1:$SHIPPORT/hooks" gh "$GHTOKEN" "$TOKEN" \
	    "$T/ship/spool" "$T/ship/capture" "conf/lighttpd.conf"
	post "http://127.0.0.1:$SHIPPORT/hooksx" "${J[@]}" "${A[@]}" \
	    --data-binary '{"event":"booking.updated","id":"hooksx"}'
	is "$STATUS:$(json_get status)" "404:" \
	    "conf/lighttpd.conf: /hooksx is not /hooks (lighttpd's own 404)"
else
	fail "conf/lighttpd.conf: lighttpd starts with the shipped snippet"
fi

# --- 200: stored, answered, handled with the exact bytes --------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
is "$STATUS" 200 "200 for a valid event over HTTPS"
is "$(json_get status)" accepted "answer says accepted"
is "$(json_get id)" evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B "answer carries the sender's id"
rid=$(header X-Request-Id)
like "$rid" '^[0-9a-f]{16}$' "X-Request-Id header present"
is "$(json_get request_id)" "$rid" "request_id in the body equals the header"
is "$(header Content-Type)" application/json "answer is JSON"
wait_file "$CAP/evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B.body" 10
cmp -s "$SAMPLES/booking.updated.json" "$CAP/evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B.body"
ok $? "handler got the payload byte for byte (non-ASCII included)"
ENVT=$(cat "$CAP/evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B.env" 2>/dev/null)
unlike "$ENVT" '^HTTP_' "no HTTP_ variable reaches the handler"
unlike "$ENVT" "$TOKEN" "the token does not reach the handler"
like "$ENVT" '^HOOKPIPE_EVENT=booking.updated$' "HOOKPIPE_EVENT set"
like "$ENVT" "^HOOKPIPE_REQUEST_ID=$rid$" "HOOKPIPE_REQUEST_ID is the request's id"
like "$ENVT" '^PATH=/usr/local/bin:/usr/bin:/bin$' "PATH is the configured one"
like "$ENVT" '^HOOKPIPE_SPOOL_FILE=.*/cur/' "HOOKPIPE_SPOOL_FILE names the claimed entry"
spool_settled "$SP"
is "$(count_files "$SP/done")" 1 "the event moved to done/"
ENTRY=$(find "$SP/done" -type f | head -n1)
like "$(head -n1 "$ENTRY")" '"event":"booking.updated"' "spool entry starts with its envelope"
tail -c +"$(( $(head -n1 "$ENTRY" | wc -c) + 1 ))" "$ENTRY" | cmp -s - "$SAMPLES/booking.updated.json"
ok $? "spool entry holds the raw body after the envelope"

# --- dedupe -----------------------------------------------------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
is "$STATUS" 200 "200 for a duplicate"
is "$(json_get duplicate)" true "answer marks the duplicate"
spool_settled "$SP"	# a duplicate stored by mistake has run by now
is "$(grep -c evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B "$CAP/runs.log")" 1 "duplicate did not run the handler again"
is "$(count_files "$SP/done")" 1 "duplicate was not stored again"

# --- second rotation token, run-parts folder --------------------------
post "$URL" "${J[@]}" -H "x-auth-token: $TOKEN2" --data-binary "@$SAMPLES/payment.processed.json"
is "$STATUS" 200 "200 with the second (rotation) token"
spool_settled "$SP"	# every part has run, however slow the runner (valgrind)
is "$(tr '\n' '|' < "$CAP/parts.log" 2>/dev/null)" \
    "evt_01JDX7RCT2QH7M0P4S6N8K2D3F 10-first|evt_01JDX7RCT2QH7M0P4S6N8K2D3F 20-second|" \
    "EVENT.d handlers ran in lexical order, non-executable skipped"

# --- a ~1 MiB body ----------------------------------------------------
python3 - "$T/big.json" <<'PY'
import json, sys
pad = "é€😀 " * 1000
doc = {"id": "big-1", "event": "big.event", "data": {"rows": []}}
while len(json.dumps(doc, ensure_ascii=False).encode()) < 1024 * 1024 - 12000:
    doc["data"]["rows"].append(pad)
open(sys.argv[1], "wb").write(json.dumps(doc, ensure_ascii=False).encode())
PY
post "$URL" "${J[@]}" "${A[@]}" --data-binary "@$T/big.json"
is "$STATUS" 200 "200 for a ~1 MiB body ($(wc -c < "$T/big.json") bytes)"
wait_file "$CAP/big-1.body" 15
cmp -s "$T/big.json" "$CAP/big-1.body"
ok $? "handler got the ~1 MiB body byte for byte"

# --- refusals: status, JSON reason, nothing stored, nothing run -------
snapshot() { find "$SP/new" "$SP/cur" "$SP/done" "$SP/retry" "$SP/dead" -type f | sort; }
spool_settled "$SP"
BEFORE=$(snapshot)
refuse() {	# refuse WANT DESCRIPTION URL [curl args]
	local want=$1 what=$2
	shift 2
	post "$@"
	is "$STATUS" "$want" "$want: $what"
	like "$(json_get reason)" '.' "$want carries a JSON reason ($what)"
}
refuse 400 "invalid JSON" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"booking.updated",'
refuse 400 "trailing bytes" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"booking.updated"} x'
refuse 400 "invalid UTF-8" "$URL" "${J[@]}" "${A[@]}" --data-binary $'{"event":"booking.updated","x":"\xff"}'
refuse 400 "\\u0000 in a string" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"booking.updated","x":"a\u0000b"}'
refuse 400 "top level is an array" "$URL" "${J[@]}" "${A[@]}" --data-binary '[{"event":"booking.updated"}]'
deep=$(printf '{"a":%.0s' $(seq 33))'1'$(printf '}%.0s' $(seq 33))
refuse 400 "nested 33 deep" "$URL" "${J[@]}" "${A[@]}" --data-binary "$deep"
like "$(json_get reason)" 'deeper than 32' "depth reason names the limit"
ok32=$(printf '{"a":%.0s' $(seq 31))'{"b":1}'$(printf '}%.0s' $(seq 31))
post "$URL" "${J[@]}" "${A[@]}" --data-binary "$ok32"
is "$STATUS" 422 "32 deep parses (then 422: no event at the top)"
refuse 401 "no token" "$URL" "${J[@]}" --data-binary "@$SAMPLES/booking.updated.json"
no_token_body=$(printf '%s' "$BODY" | sed 's/"request_id":"[0-9a-f]*"//')
refuse 401 "wrong token" "$URL" "${J[@]}" -H "x-auth-token: ${TOKEN}x" --data-binary "@$SAMPLES/booking.updated.json"
is "$(printf '%s' "$BODY" | sed 's/"request_id":"[0-9a-f]*"//')" "$no_token_body" "missing and wrong token answer alike"
refuse 401 "token prefix" "$URL" "${J[@]}" -H "x-auth-token: ${TOKEN%?}" --data-binary "@$SAMPLES/booking.updated.json"
refuse 403 "plain HTTP when HTTPS is required" "$PLAIN/hooks" "${J[@]}" "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
refuse 403 "source address outside allow_from" "$PLAIN/denied" "${J[@]}" "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
refuse 405 "GET" "$URL" "${A[@]}"
is "$(header Allow)" POST "405 names Allow: POST"
refuse 405 "PUT" "$URL" -X PUT "${J[@]}" "${A[@]}" --data-binary '{}'
head -c 1200000 /dev/zero | tr '\0' ' ' > "$T/toolarge"
refuse 413 "body over max_body" "$URL" "${J[@]}" "${A[@]}" --data-binary "@$T/toolarge"
refuse 415 "text/plain" "$URL" -H 'Content-Type: text/plain' "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
refuse 415 "no content type" "$URL" -H 'Content-Type:' "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
refuse 422 "no event field" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"id":"x1"}'
refuse 422 "event name ../../bin/sh" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"../../bin/sh","id":"x2"}'
refuse 422 "event name .hidden" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":".hidden","id":"x3"}'
refuse 422 "event name 129 chars" "$URL" "${J[@]}" "${A[@]}" --data-binary "{\"event\":\"$(printf 'a%.0s' $(seq 129))\"}"
refuse 422 "event is a number" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":7}'
refuse 422 "id with a slash" "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"booking.updated","id":"../x"}'
refuse 422 "required field missing" "$PLAIN/strict" "${J[@]}" "${A[@]}" --data-binary '{"event":"booking.updated","id":"s1","data":{}}'
like "$(json_get reason)" 'data.booking_id' "422 names the missing field"
refuse 422 "unknown event when unknown_events = reject" "$PLAIN/strict" "${J[@]}" "${A[@]}" --data-binary '{"event":"no.such.event","id":"s2","data":{"booking_id":"B1"}}'
refuse 503 "configuration error" "$PLAIN/broken" "${J[@]}" "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
like "$(header Retry-After)" '^[0-9]+$' "503 for a configuration error sets Retry-After"
like "$(text_when "broken.ini:4: unknown key 'spool_dri'" "$T/lighttpd.error.log" "$T/lighttpd.stderr")" "broken.ini:4: unknown key 'spool_dri'" "server log names the file, line and key"
spool_settled "$SP"	# one stored by mistake is in its final folder now
is "$(snapshot)" "$BEFORE" "refusals stored nothing"
unlike "$(cat "$CAP/runs.log")" 'x1|x2|x3|\.\./' "no handler ran for a refused event"
is "$(count_files "$T/strict-spool/new")$(count_files "$T/denied-spool/new")" 00 "other endpoints stored nothing either"

post "$PLAIN/strict" "${J[@]}" "${A[@]}" --data-binary "@$SAMPLES/booking.updated.json"
is "$STATUS" 200 "allow_from admits 127.0.0.1 and the required field is present"
post "$URL" -H 'Content-Type: application/json; charset=utf-8' "${A[@]}" --data-binary '{"event":"charset.ok","id":"cs-1"}'
is "$STATUS" 200 "application/json with a charset parameter is accepted"

# --- unknown events are stored and logged (accept policy) -------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"unknown.kind","id":"u-1"}'
is "$STATUS" 200 "unknown event accepted by default"
for _ in $(seq 300); do
	grep -q '"id":"u-1".*"state":"done"' "$SP/delivery.log" && break
	sleep 0.1
done
like "$(grep '"id":"u-1"' "$SP/delivery.log")" '"state":"done"' "unknown event is stored and marked done"

# --- sync mode --------------------------------------------------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"sync.ok","id":"sy-1"}'
is "$STATUS" 200 "sync handler exit 0 -> 200"
is "$(json_get output)" '{"handled":"sync.ok"}' "sync_output returns the handler's stdout"
is "$(grep -l '"id":"sy-1"' "$SP"/done/* 2>/dev/null | wc -l)" 1 "sync entry kept in done/"
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"sync.retry","id":"sy-2"}'
is "$STATUS" 503 "sync handler exit 75 -> 503"
like "$(header Retry-After)" '^[0-9]+$' "sync 503 sets Retry-After"
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"sync.fail","id":"sy-3"}'
is "$STATUS" 500 "sync handler exit 2 -> 500"
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"sync.fail","id":"sy-3"}'
is "$STATUS" 500 "a failed sync event is not remembered as a duplicate (the retry runs it)"
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"sync.slow","id":"sy-4"}'
is "$STATUS" 504 "sync handler past its timeout -> 504"
like "$(grep '"id":"sy-3"' "$SP/delivery.log" | grep '"type":"handler"' | head -n1)" '"stderr":"it broke\\n"' "handler stderr tail in the delivery log"

# --- queue failures: exit 100 -> dead/, other -> retry/ ----------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"perm.fail","id":"pf-1"}'
is "$STATUS" 200 "queued event accepted before its handler runs"
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"temp.fail","id":"tf-1"}'
for _ in $(seq 300); do
	grep -q '"id":"pf-1"' "$SP"/dead/* 2>/dev/null &&
	    grep -q '"id":"tf-1"' "$SP"/retry/* 2>/dev/null && break
	sleep 0.1
done
is "$(grep -l '"id":"pf-1"' "$SP"/dead/* 2>/dev/null | wc -l)" 1 "exit 100 moves the event to dead/"
is "$(grep -l '"id":"tf-1"' "$SP"/retry/* 2>/dev/null | wc -l)" 1 "exit 3 moves the event to retry/"

# --- a timeout takes the handler's whole process group ----------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"slow.group","id":"sg-1"}'
wait_file "$CAP/group.pid" 10
for _ in $(seq 300); do
	grep -q '"id":"sg-1".*"result":"timeout"' "$SP/delivery.log" && break
	sleep 0.1
done
# Read only now: the handler writes group.pid with a plain redirection,
# so the file can be there and still empty while the handler runs.
gpid=$(cat "$CAP/group.pid" 2>/dev/null)
like "$(grep '"id":"sg-1"' "$SP/delivery.log")" '"result":"timeout"' "timeout logged"
alive() {	# a zombie (not reaped by a minimal init) counts as gone
	[ -r "/proc/$1/stat" ] && ! awk '{ exit !($3 == "Z" || $3 == "X") }' "/proc/$1/stat"
}
for _ in $(seq 20); do alive "$gpid" || break; sleep 0.1; done
if [ -n "$gpid" ] && ! alive "$gpid"; then
	pass "the handler's background child was killed too"
else
	fail "background child $gpid still alive"
	kill "$gpid" 2>/dev/null
fi

# --- ENOSPC -----------------------------------------------------------
if [ "$FULL_OK" = 1 ]; then
	post "$PLAIN/full" "${J[@]}" "${A[@]}" --data-binary '{"event":"x.y","id":"before-full"}'
	is "$STATUS" 200 "small spool works before it is full"
	spool_settled "$T/fullfs/spool" 30	# handled before the disk fills
	dd if=/dev/zero of="$T/fullfs/filler" bs=4k 2>/dev/null
	{ printf '{"event":"x.y","id":"full-1","pad":"'; head -c 60000 /dev/zero | tr '\0' a; printf '"}'; } > "$T/fill.json"
	post "$PLAIN/full" "${J[@]}" "${A[@]}" --data-binary "@$T/fill.json"
	is "$STATUS" 503 "ENOSPC -> 503"
	like "$(header Retry-After)" '^[0-9]+$' "ENOSPC 503 sets Retry-After"
	is "$(find "$T/fullfs/spool/new" "$T/fullfs/spool/tmp" -type f | grep -c full)" 0 "no partial file in new/ or tmp/"
	is "$(grep -l full-1 "$T/fullfs/spool/new/"* 2>/dev/null | wc -l)" 0 "the refused event is not in new/"
	like "$(grep '"id":"full-1"' "$T/full.log")" 'No space left on device' "log says why"
	rm -f "$T/fullfs/filler"
	post "$PLAIN/full" "${J[@]}" "${A[@]}" --data-binary "@$T/fill.json"
	is "$STATUS" 200 "the sender's retry succeeds once space is back (id not burnt)"
else
	skip "ENOSPC -> 503" "needs root to mount a small tmpfs"
fi

# --- token rotation and config edits take effect without a restart --
NEWTOKEN=tok-rotated-0123456789abcdef
printf '%s\n' "$NEWTOKEN" > "$T/token.new"
chmod 600 "$T/token.new"
mv "$T/token.new" "$T/token"
for _ in 1 2 3; do	# both responder processes see it
	post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"rot.old","id":"rot-old"}'
	[ "$STATUS" = 401 ] || break
done
is "$STATUS" 401 "the replaced token is refused without a restart"
post "$URL" "${J[@]}" -H "x-auth-token: $NEWTOKEN" --data-binary '{"event":"rot.new","id":"rot-new"}'
is "$STATUS" 200 "the new token is accepted without a restart"
printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\nrequire_https = no\n[auth]\ntoken_file = token\n' > "$T/main.ini.new"
mv "$T/main.ini.new" "$T/main.ini"
post "$PLAIN/hooks" "${J[@]}" -H "x-auth-token: $NEWTOKEN" --data-binary '{"event":"reload.ini","id":"ini-1"}'
is "$STATUS" 200 "an edited INI (require_https = no) applies without a restart"

# --- the delivery log -------------------------------------------------
spool_settled "$SP"	# no runner is still appending a line
LOG=$(cat "$SP/delivery.log")
unlike "$LOG" "$TOKEN|$TOKEN2|$NEWTOKEN" "no token in the delivery log"
like "$(grep "\"request_id\":\"$rid\"" "$SP/delivery.log" | head -n1)" '"status":200.*"us":[0-9]+' "request line has status and microseconds"
python3 -c 'import json, sys
[json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$SP/delivery.log"
ok $? "every delivery log line is valid JSON"

finish
