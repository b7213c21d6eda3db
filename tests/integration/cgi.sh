#!/usr/bin/env bash
# cgi.sh: the same binary as plain CGI, run directly with a CGI
# environment and no web server: answers, limits before reading, the
# runner it starts, and hookpipe-run by hand (crash recovery, tmp/).
# shellcheck disable=SC2034 # BODY and STATUS are read by lib.sh helpers
. "$(dirname "$0")/lib.sh"

TOKEN=cgi-token-0123456789abcdef
mkdir -p "$T/handlers" "$T/capture"
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
cat > "$T/handlers/booking.updated" <<'SH'
#!/bin/sh
cat > "$CAPTURE/$HOOKPIPE_ID.body"
echo "$HOOKPIPE_ID $HOOKPIPE_ATTEMPT" >> "$CAPTURE/runs.log"
SH
chmod 755 "$T/handlers/booking.updated"
cat > "$T/hookpipe.ini" <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = handlers
max_body = 64K
[auth]
token_file = token
[env]
CAPTURE = $T/capture
EOF
# A second config whose responder starts no runner: hookpipe-run is
# then run by hand, as cron would.
sed 's/^\[auth\]/[delivery]\nrunner = \/bin\/true\n[auth]/' "$T/hookpipe.ini" |
    sed 's/^spool_dir = spool/spool_dir = manual-spool/' > "$T/manual.ini"

cgi() {	# cgi CONFIG METHOD BODY-FILE [VAR=VALUE...]: runs hookpipe.fcgi
	local cfg=$1 method=$2 file=$3
	shift 3
	env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$cfg" \
	    GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD="$method" HTTPS=on \
	    REMOTE_ADDR=127.0.0.1 CONTENT_TYPE=application/json \
	    HTTP_X_AUTH_TOKEN="$TOKEN" "$@" \
	    timeout 10 "$BUILD/hookpipe.fcgi" < "$file" > "$T/out" 2>"$T/err"
	CGI_RC=$?
	OUT=$(tr -d '\r' < "$T/out")
	STATUS=$(printf '%s\n' "$OUT" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
	BODY=$(printf '%s\n' "$OUT" | sed '1,/^$/d')
}
B=$SAMPLES/booking.updated.json
LEN=$(wc -c < "$B")

cgi "$T/hookpipe.ini" POST "$B" CONTENT_LENGTH="$LEN"
is "$CGI_RC" 0 "CGI run exits 0"
is "$STATUS" 200 "CGI: 200 for a valid event"
like "$OUT" '^Status: 200 OK' "CGI answer starts with a Status line"
like "$OUT" 'Content-Type: application/json' "CGI answer is JSON"
like "$OUT" 'X-Request-Id: [0-9a-f]{16}' "CGI answer carries X-Request-Id"
is "$(json_get status)" accepted "CGI body says accepted"
wait_file "$T/capture/evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B.body" 10
spool_settled "$T/spool"	# the handler writes the file in place: until it is done
cmp -s "$B" "$T/capture/evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B.body"
ok $? "the runner started by the CGI run delivered the exact bytes"
# It got the lock the responder took for it: with standard output
# closed, that lock was once opened as descriptor 1, set to /dev/null
# by the spawn, and the runner raced the exiting responder for it.
is "$(grep -c '"type":"error","lock":' "$T/spool/delivery.log")" 0 "the runner started by the CGI run adopted the lock handed to it"

cgi "$T/hookpipe.ini" POST "$B"
is "$STATUS" 411 "CGI: no CONTENT_LENGTH -> 411"
like "$(json_get reason)" 'Content-Length' "411 reason is JSON"

# 413 comes before reading: stdin is a pipe nobody ever writes to, so a
# read would hang until the timeout.
mkfifo "$T/never"
exec 7<>"$T/never"
cgi "$T/hookpipe.ini" POST /dev/fd/7 CONTENT_LENGTH=9999999
exec 7>&-
is "$STATUS" 413 "CGI: CONTENT_LENGTH over max_body -> 413 without reading the body"
is "$CGI_RC" 0 "413 answered at once (no read, no timeout)"

printf '{"event":"x"}' > "$T/short"
cgi "$T/hookpipe.ini" POST "$T/short" CONTENT_LENGTH=100
is "$STATUS" 400 "CGI: body shorter than CONTENT_LENGTH -> 400"
like "$(json_get reason)" 'shorter' "400 says the body was short"

cgi "$T/hookpipe.ini" POST "$B" CONTENT_LENGTH=12abc
is "$STATUS" 400 "CGI: CONTENT_LENGTH not a number -> 400"

cgi "" POST "$B" CONTENT_LENGTH="$LEN"
is "$STATUS" 503 "CGI: no HOOKPIPE_CONFIG -> 503"
like "$OUT" 'Retry-After: [0-9]+' "503 sets Retry-After"

cgi "$T/hookpipe.ini" DELETE /dev/null
is "$STATUS" 405 "CGI: DELETE -> 405"
like "$OUT" 'Allow: POST' "405 sends Allow: POST"

cgi "$T/hookpipe.ini" POST "$B" CONTENT_LENGTH="$LEN" HTTPS= REQUEST_SCHEME=http
is "$STATUS" 403 "CGI: not HTTPS -> 403"
cgi "$T/hookpipe.ini" POST "$B" CONTENT_LENGTH="$LEN" HTTPS= REQUEST_SCHEME=https
is "$STATUS" 200 "CGI: REQUEST_SCHEME=https counts as HTTPS"

# --- X-Forwarded-For: believed only from a trusted proxy ---------------
sed 's/^\[auth\]/[auth]\ntrusted_proxies = 127.0.0.1\nallow_from = 192.0.2.0\/24/' "$T/hookpipe.ini" > "$T/proxy.ini"
printf '{"event":"booking.updated","id":"xff-1"}' > "$T/x1"
cgi "$T/proxy.ini" POST "$T/x1" CONTENT_LENGTH="$(wc -c < "$T/x1")" HTTP_X_FORWARDED_FOR=192.0.2.7
is "$STATUS" 200 "trusted proxy: the forwarded client address is allowed"
like "$(grep '"id":"xff-1"' "$T/spool/delivery.log" | grep '"remote"' | head -n1)" '"remote":"192.0.2.7"' "and logged as the client"
cgi "$T/proxy.ini" POST "$T/x1" CONTENT_LENGTH="$(wc -c < "$T/x1")" HTTP_X_FORWARDED_FOR="192.0.2.7, 198.51.100.9"
is "$STATUS" 403 "a spoofed entry left of the real one does not help"
cgi "$T/proxy.ini" POST "$T/x1" CONTENT_LENGTH="$(wc -c < "$T/x1")" REMOTE_ADDR=198.51.100.1 HTTP_X_FORWARDED_FOR=192.0.2.7
is "$STATUS" 403 "X-Forwarded-For from an untrusted client is ignored"
# The runner xff-1 started logs its run under that id too: let it end
# first, so that the last xff-1 line is this request's.
spool_settled "$T/spool"
cgi "$T/hookpipe.ini" POST "$T/x1" CONTENT_LENGTH="$(wc -c < "$T/x1")" HTTP_X_FORWARDED_FOR=192.0.2.7
like "$(grep '"id":"xff-1"' "$T/spool/delivery.log" | tail -n1)" '"remote":"127.0.0.1"' "without trusted_proxies the header is ignored"

# --- hookpipe-run by hand: cron mode, recovery, stale tmp/ -------------
M=$T/manual-spool
printf '{"event":"booking.updated","id":"m-1"}' > "$T/m1"
cgi "$T/manual.ini" POST "$T/m1" CONTENT_LENGTH="$(wc -c < "$T/m1")"
is "$STATUS" 200 "manual spool: accepted"
sleep 0.3
is "$(count_files "$M/new")" 1 "without a runner the event waits in new/"
printf '{"event":"booking.updated","id":"m-2"}' > "$T/m2"
cgi "$T/manual.ini" POST "$T/m2" CONTENT_LENGTH="$(wc -c < "$T/m2")"
# Pretend a runner died while running m-2: its entry sits in cur/.
m2=$(grep -l '"id":"m-2"' "$M"/new/*)
mv "$m2" "$M/cur/"
touch "$M/tmp/stale" "$M/tmp/fresh"
touch -d '2 hours ago' "$M/tmp/stale"
run_out=$("$BUILD/hookpipe-run" -c "$T/manual.ini" 2>&1)
is "$?" 0 "hookpipe-run exits 0"
like "$run_out" '2 done, 0 retry, 0 dead, 1 re-queued' "hookpipe-run reports what it did"
is "$(count_files "$M/new")$(count_files "$M/cur")$(count_files "$M/done")" 002 "both events done, nothing left in new/ or cur/"
cmp -s "$T/m2" "$T/capture/m-2.body"
ok $? "the re-queued event ran with its exact body"
[ ! -e "$M/tmp/stale" ] && [ -e "$M/tmp/fresh" ]
ok $? "stale tmp/ file removed, a fresh one kept"
like "$(cat "$M/delivery.log")" '"state":"new","reason":"re-queued after an interrupted run"' "re-queue logged"
run_out=$("$BUILD/hookpipe-run" -c "$T/manual.ini" 2>&1)
like "$run_out" '0 done' "a second run finds nothing to do"
run_out=$(HOOKPIPE_LOCK_FD=3 "$BUILD/hookpipe-run" -c "$T/manual.ini" 3<"$M/run.lock" 2>&1)
is "$run_out" "hookpipe-run: 0 done, 0 retry, 0 dead, 0 re-queued" "a lock handed over on run.lock is taken without a word"
run_out=$(HOOKPIPE_LOCK_FD=3 "$BUILD/hookpipe-run" -c "$T/manual.ini" 3</dev/null 2>&1)
like "$run_out" "warning: HOOKPIPE_LOCK_FD=3 is not a descriptor open on $M/run.lock" "a handed-over descriptor that is not run.lock is named"
like "$run_out" '0 done, 0 retry' "and the runner takes the lock itself"
is "$(grep -c '"type":"error","lock":' "$M/delivery.log")" 1 "the refused handover is in the log"
is "$(grep -c '^m-' "$T/capture/runs.log")" 2 "each event ran exactly once"

# Two runners at once: one works, the other leaves at once.
for i in 3 4 5; do
	printf '{"event":"booking.updated","id":"m-%s"}' "$i" > "$T/m$i"
	cgi "$T/manual.ini" POST "$T/m$i" CONTENT_LENGTH="$(wc -c < "$T/m$i")"
done
"$BUILD/hookpipe-run" -q -c "$T/manual.ini" & r1=$!
"$BUILD/hookpipe-run" -q -c "$T/manual.ini" & r2=$!
wait "$r1"; wait "$r2"
is "$(grep -c '^m-[345] ' "$T/capture/runs.log")" 3 "two concurrent runners ran each event once"

printf '[oops\n' > "$T/bad.ini"
run_out=$("$BUILD/hookpipe-run" -c "$T/bad.ini" 2>&1)
is "$?" 1 "hookpipe-run with a broken config exits 1"
like "$run_out" '^hookpipe-run: error: .*bad.ini:1: malformed section header' "and names file and line"
"$BUILD/hookpipe-run" -x >/dev/null 2>&1
is "$?" 2 "hookpipe-run usage error exits 2"

finish
