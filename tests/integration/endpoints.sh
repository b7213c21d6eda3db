#!/usr/bin/env bash
# endpoints.sh: several senders in one configuration under real
# lighttpd: [endpoint NAME] sections picked by the path after the mount,
# each with its own verification, fields, handlers folder and dedupe ids;
# an unknown path is 404; rate_limit answers 429 with Retry-After;
# max_headers answers 431; a secret from the environment (env:NAME).
. "$(dirname "$0")/lib.sh"

TOKEN='default-token-0123456789abcdef'
RHTOKEN='rh-token-0123456789abcdef0123'
GHSECRET='gh-secret-0123456789abcdef'
mkdir -p "$T/h" "$T/h/rh" "$T/h/github" "$T/rec"
# Each handler records which folder it was run from, what it got, and
# the endpoint it was told.
for d in h h/rh h/github; do
	for ev in booking.updated push; do
		printf '#!/bin/sh\n{ echo "dir=%s"; echo "endpoint=${HOOKPIPE_ENDPOINT:-}"; } > "$REC/%s.$HOOKPIPE_EVENT.$HOOKPIPE_ID.meta"\ncat > "$REC/%s.$HOOKPIPE_EVENT.$HOOKPIPE_ID"\n' \
		    "$d" "${d//\//_}" "${d//\//_}" > "$T/$d/$ev"
		chmod 755 "$T/$d/$ev"
	done
done
printf '%s\n' "$TOKEN" > "$T/token"
printf '%s\n' "$GHSECRET" > "$T/gh.secret"
chmod 600 "$T/token" "$T/gh.secret"
cat > "$T/e.ini" <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = h
require_https = no
[auth]
token_file = token
[delivery]
runner = $BUILD/hookpipe-run
[env]
REC = $T/rec
[endpoint rh]
token = env:HP_RH_TOKEN
event_field = type
[endpoint github]
verify = github
secret_file = gh.secret
[endpoint limited]
token_file = token
handlers_dir = h
rate_limit = 3/m
[endpoint fewheaders]
token_file = token
handlers_dir = h
max_headers = 8
EOF

PORT=$(free_port)
mkdir -p "$T/www"
cat > "$T/lighttpd.conf" <<EOF
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $PORT
server.errorlog = "$T/lighttpd.error.log"
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/hooks" => (( "socket" => "$T/hp.sock", "bin-path" => "$BUILD/hookpipe.fcgi", "bin-environment" => ( "HOOKPIPE_CONFIG" => "$T/e.ini", "HP_RH_TOKEN" => "$RHTOKEN", "ASAN_OPTIONS" => "$ASAN_OPTIONS", "UBSAN_OPTIONS" => "$UBSAN_OPTIONS" ), "check-local" => "disable", "max-procs" => 2 )) )
EOF
start_lighttpd "$T/lighttpd.conf" "$PORT" || { fail "lighttpd starts"; finish; }
U="http://127.0.0.1:$PORT/hooks"
J=(-H 'Content-Type: application/json')

post "$U" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"event":"booking.updated","id":"same-1","n":1}'
is "$STATUS" 200 "default endpoint (/hooks): accepted"
post "$U/rh" "${J[@]}" -H "x-auth-token: $RHTOKEN" --data-binary '{"type":"booking.updated","id":"same-1","n":2}'
is "$STATUS" 200 "/hooks/rh with its token (env:HP_RH_TOKEN): accepted"
is "$(json_get event)" booking.updated "/hooks/rh: event from its event_field (type)"
is "$(json_get duplicate)" "" "/hooks/rh: the default endpoint's id same-1 is not its duplicate"
post "$U/rh/" "${J[@]}" -H "x-auth-token: $RHTOKEN" --data-binary '{"type":"booking.updated","id":"same-1","n":3}'
is "$STATUS" 200 "/hooks/rh/ (trailing slash): same endpoint"
is "$(json_get duplicate)" true "/hooks/rh: its own id again is a duplicate"
post "$U/rh" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"type":"booking.updated","id":"x"}'
is "$STATUS" 401 "/hooks/rh with the default endpoint's token: 401"
post "$U" "${J[@]}" -H "x-auth-token: $RHTOKEN" --data-binary '{"event":"booking.updated","id":"x"}'
is "$STATUS" 401 "/hooks with rh's token: 401"

# The runners the accepted events started empty new/: let them finish
# before counting it.
spool_settled "$T/spool"
before=$(count_files "$T/spool/new")
for p in 'rh/x' 'RH' '.hidden' nope; do
	post "$U/$p" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"event":"booking.updated","id":"y"}'
	is "$STATUS" 404 "/hooks/$p: 404"
done
like "$BODY" '"reason":"no such endpoint"' "404 says why, in JSON"
post "$U/%2e%2e" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"event":"booking.updated","id":"y"}'
is "$STATUS" 403 "/hooks/%2e%2e: lighttpd resolves it above the mount and refuses it (403)"
is "$(count_files "$T/spool/new")" "$before" "unknown paths stored nothing"

printf '{"action":"opened","number":7}' > "$T/gh.json"
sig=$(python3 -c 'import hmac,hashlib,sys; print("sha256="+hmac.new(sys.argv[1].encode(), open(sys.argv[2],"rb").read(), hashlib.sha256).hexdigest())' "$GHSECRET" "$T/gh.json")
post "$U/github" "${J[@]}" -H "X-Hub-Signature-256: $sig" -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: d-1' --data-binary "@$T/gh.json"
is "$STATUS" 200 "/hooks/github signed by Python's hmac: accepted"
post "$U/github" "${J[@]}" -H "x-auth-token: $TOKEN" -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: d-2' --data-binary "@$T/gh.json"
is "$STATUS" 401 "/hooks/github with a token instead of a signature: 401"

# The runner delivers each to its endpoint's handlers folder.
"$BUILD/hookpipe-run" -q -c "$T/e.ini"
# One the responder started may hold the spool (this one then leaves at
# once): wait for it, and for the handlers' files to be complete.
spool_settled "$T/spool"
is "$(cat "$T/rec/h.booking.updated.same-1" 2>/dev/null)" '{"event":"booking.updated","id":"same-1","n":1}' \
    "default endpoint: handlers_dir/booking.updated got the exact payload"
like "$(cat "$T/rec/h.booking.updated.same-1.meta" 2>/dev/null)" '^dir=h' "default endpoint: run from handlers_dir"
is "$(cat "$T/rec/h_rh.booking.updated.same-1" 2>/dev/null)" '{"type":"booking.updated","id":"same-1","n":2}' \
    "rh: handlers_dir/rh/booking.updated got its payload (not the duplicate)"
like "$(cat "$T/rec/h_rh.booking.updated.same-1.meta" 2>/dev/null)" 'endpoint=rh' "rh: HOOKPIPE_ENDPOINT=rh"
is "$(cat "$T/rec/h_github.push.d-1" 2>/dev/null)" "$(cat "$T/gh.json")" \
    "github: handlers_dir/github/push got the body, id from X-GitHub-Delivery"
is "$(find "$T/rec" -name '*.meta' | wc -l | tr -d ' ')" 3 "exactly three handler runs"

# rate_limit = 3/m: a burst of 1 (one second's worth, at least 1), then
# one every 20 s from this address.
codes=""
for i in 1 2 3; do
	post "$U/limited" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary "{\"event\":\"booking.updated\",\"id\":\"r$i\"}"
	codes="$codes$STATUS "
	[ "$i" = 2 ] && { ra=$(header Retry-After); rbody=$BODY; }
done
is "$codes" "200 429 429 " "rate_limit 3/m: the second request within the second is 429"
ok "$([ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 20 ]; echo $?)" "429 carries Retry-After of 1-20 s (got '$ra')"
like "$rbody" '"reason":"too many requests from this address"' "429 says why"
post "$U" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"event":"booking.updated","id":"r-other"}'
is "$STATUS" 200 "the limit is per endpoint: /hooks still accepts"
is "$(cd "$T/spool/ids" && ls -d limited+r* 2>/dev/null | tr '\n' ' ')" "limited+r1 " \
    "429s stored nothing (of r1-r3 only r1 has an id record)"

H=()
for i in $(seq 1 10); do H+=(-H "X-Extra-$i: v"); done
post "$U/fewheaders" "${J[@]}" "${H[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"event":"booking.updated","id":"h1"}'
is "$STATUS" 431 "max_headers = 8: a request with 13 headers is 431"
post "$U/fewheaders" "${J[@]}" -H "x-auth-token: $TOKEN" --data-binary '{"event":"booking.updated","id":"h2"}'
is "$STATUS" 200 "max_headers = 8: an ordinary request passes"

grep -q '"endpoint":"rh"' "$T/spool/delivery.log"
ok $? "the request log names the endpoint"
finish
