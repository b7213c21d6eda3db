#!/usr/bin/env bash
# signatures.sh: requests signed by an independent implementation
# (Python's hmac module) verify under each scheme; stale, future,
# modified and wrongly keyed ones answer 401; GitHub's and Standard
# Webhooks' header-borne event names and ids are used.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/h" "$T/rec"
printf '#!/bin/sh\ncat > "$REC/$HOOKPIPE_EVENT.$HOOKPIPE_ID"\n' > "$T/h/push"
cp "$T/h/push" "$T/h/payment.succeeded"
cp "$T/h/push" "$T/h/booking.updated"
chmod 755 "$T/h/"*
secret_ini() {	# secret_ini NAME SECRET AUTH-LINES...
	local name=$1 secret=$2
	shift 2
	printf '%s\n' "$secret" > "$T/$name.secret"
	chmod 600 "$T/$name.secret"
	{
		printf '[hookpipe]\nspool_dir = %s-spool\nhandlers_dir = h\n' "$name"
		printf '[delivery]\nrunner = /bin/true\n[env]\nREC = %s\n' "$T/rec"
		printf '[auth]\nsecret_file = %s.secret\n' "$name"
		printf '%s\n' "$@"
	} > "$T/$name.ini"
}
secret_ini stdwh whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw 'verify = standard-webhooks'
secret_ini github gh-secret-0123456789abcdef 'verify = github'
secret_ini stripe whsec_stripe0123456789abcdef 'verify = stripe'
secret_ini hmac hmac-secret-0123456789abcdef 'verify = hmac' \
    'signature_header = X-Signature' 'algorithm = sha512' 'encoding = base64' \
    'prefix = sha512='

# cgi CONFIG BODY-FILE VAR=VALUE...: one request, sets STATUS and BODY.
cgi() {
	local cfg=$1 file=$2
	shift 2
	env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$cfg" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$file")" "$@" \
	    "$BUILD/hookpipe.fcgi" < "$file" > "$T/out"
	STATUS=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/out")
	BODY=$(sed '1,/^\r$/d' "$T/out")
}
# sign SCHEME SECRET BODY-FILE [ID] [TIMESTAMP]: the header value, by Python.
sign() {
	python3 - "$@" <<'PY'
import base64, hashlib, hmac, sys
scheme, secret, path = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(path, "rb").read()
if scheme == "stdwh":
    key = base64.b64decode(secret.removeprefix("whsec_"))
    msg = sys.argv[4].encode() + b"." + sys.argv[5].encode() + b"." + body
    print("v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode())
elif scheme == "github":
    print("sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest())
elif scheme == "stripe":
    sig = hmac.new(secret.encode(), sys.argv[5].encode() + b"." + body, hashlib.sha256).hexdigest()
    print("t=%s,v1=%s,v0=%s" % (sys.argv[5], "00" * 32, "ab" * 32) if len(sys.argv) > 6 else "t=%s,v1=%s" % (sys.argv[5], sig))
    if len(sys.argv) > 6:
        sys.exit(0)
elif scheme == "stripe2":
    sig = hmac.new(secret.encode(), sys.argv[5].encode() + b"." + body, hashlib.sha256).hexdigest()
    print("t=%s,v1=%s,v1=%s" % (sys.argv[5], "00" * 32, sig))
elif scheme == "hmac":
    print("sha512=" + base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha512).digest()).decode())
PY
}
now=$(date +%s)
printf '{"event":"booking.updated","data":{"guest":"Zoë"}}' > "$T/b1"

# --- Standard Webhooks ---------------------------------------------------
S=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
cgi "$T/stdwh.ini" "$T/b1" HTTP_WEBHOOK_ID=msg_1 HTTP_WEBHOOK_TIMESTAMP="$now" \
    HTTP_WEBHOOK_SIGNATURE="$(sign stdwh "$S" "$T/b1" msg_1 "$now")"
is "$STATUS" 200 "standard-webhooks: signed by Python's hmac: 200"
like "$BODY" '"id":"msg_1"' "webhook-id is the event id"
cgi "$T/stdwh.ini" "$T/b1" HTTP_WEBHOOK_ID=msg_1 HTTP_WEBHOOK_TIMESTAMP="$now" \
    HTTP_WEBHOOK_SIGNATURE="$(sign stdwh "$S" "$T/b1" msg_1 "$now")"
like "$BODY" '"duplicate":true' "the same webhook-id again is a duplicate"
# The exact 300/301 s boundary is a unit test (with a fixed clock); here
# the clock moves during the test, so the margins are wider.
t=$(( $(date +%s) + 290 ))
cgi "$T/stdwh.ini" "$T/b1" HTTP_WEBHOOK_ID=msg_2 HTTP_WEBHOOK_TIMESTAMP="$t" \
    HTTP_WEBHOOK_SIGNATURE="$(sign stdwh "$S" "$T/b1" msg_2 "$t")"
is "$STATUS" 200 "timestamp +290 s accepted"
for d in 310 -310; do
	t=$(( $(date +%s) + d ))
	cgi "$T/stdwh.ini" "$T/b1" HTTP_WEBHOOK_ID=msg_3 HTTP_WEBHOOK_TIMESTAMP="$t" \
	    HTTP_WEBHOOK_SIGNATURE="$(sign stdwh "$S" "$T/b1" msg_3 "$t")"
	is "$STATUS" 401 "timestamp $d s refused"
done
printf '{"event":"booking.updated","data":{"guest":"Zoe"}}' > "$T/b1x"
cgi "$T/stdwh.ini" "$T/b1x" HTTP_WEBHOOK_ID=msg_4 HTTP_WEBHOOK_TIMESTAMP="$now" \
    HTTP_WEBHOOK_SIGNATURE="$(sign stdwh "$S" "$T/b1" msg_4 "$now")"
is "$STATUS" 401 "signature over a modified body refused"
cgi "$T/stdwh.ini" "$T/b1" HTTP_WEBHOOK_ID=msg_5 HTTP_WEBHOOK_TIMESTAMP="$now" \
    HTTP_WEBHOOK_SIGNATURE="$(sign stdwh whsec_c2VjcmV0LW90aGVy "$T/b1" msg_5 "$now")"
is "$STATUS" 401 "signature with another secret refused"
like "$(cat "$T/stdwh-spool/delivery.log")" 'no signature matched' "the log says why; the client only sees 401"
unlike "$BODY" 'signature|secret|timestamp' "the answer gives no hint"

# --- GitHub ----------------------------------------------------------------
G=gh-secret-0123456789abcdef
printf '{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}' > "$T/b2"
cgi "$T/github.ini" "$T/b2" HTTP_X_GITHUB_EVENT=push \
    HTTP_X_GITHUB_DELIVERY=72d3162e-cc78-11e3-81ab-4c9367dc0958 \
    HTTP_X_HUB_SIGNATURE_256="$(sign github "$G" "$T/b2")"
is "$STATUS" 200 "github: signed push accepted"
like "$BODY" '"event":"push"' "event from X-GitHub-Event"
like "$BODY" '"id":"72d3162e-cc78-11e3-81ab-4c9367dc0958"' "id from X-GitHub-Delivery"
"$BUILD/hookpipe-run" -q -c "$T/github.ini"
cmp -s "$T/b2" "$T/rec/push.72d3162e-cc78-11e3-81ab-4c9367dc0958"
ok $? "the handler got the signed bytes"
cgi "$T/github.ini" "$T/b2" HTTP_X_GITHUB_EVENT=push HTTP_X_GITHUB_DELIVERY=d2 \
    HTTP_X_HUB_SIGNATURE_256="sha256=$(printf '0%.0s' $(seq 64))"
is "$STATUS" 401 "github: wrong signature refused"
cgi "$T/github.ini" "$T/b2" HTTP_X_GITHUB_EVENT=push HTTP_X_GITHUB_DELIVERY=d3
is "$STATUS" 401 "github: no signature refused"
cgi "$T/github.ini" "$T/b2" HTTP_X_GITHUB_EVENT=../../bin/sh HTTP_X_GITHUB_DELIVERY=d4 \
    HTTP_X_HUB_SIGNATURE_256="$(sign github "$G" "$T/b2")"
is "$STATUS" 422 "github: a bad event name from the header is refused"

# --- Stripe ----------------------------------------------------------------
P=whsec_stripe0123456789abcdef
printf '{"id":"evt_1","type":"payment.succeeded","event":"payment.succeeded"}' > "$T/b3"
cgi "$T/stripe.ini" "$T/b3" HTTP_STRIPE_SIGNATURE="$(sign stripe "$P" "$T/b3" - "$now")"
is "$STATUS" 200 "stripe: signed event accepted"
cgi "$T/stripe.ini" "$T/b3" HTTP_STRIPE_SIGNATURE="$(sign stripe2 "$P" "$T/b3" - "$now")"
like "$BODY" '"duplicate":true' "stripe: several v1, one valid: accepted (a duplicate here)"
t=$((now - 400))
cgi "$T/stripe.ini" "$T/b3" HTTP_STRIPE_SIGNATURE="$(sign stripe "$P" "$T/b3" - "$t")"
is "$STATUS" 401 "stripe: stale timestamp refused"
cgi "$T/stripe.ini" "$T/b3" HTTP_STRIPE_SIGNATURE="$(sign stripe "$P" "$T/b3" - "$now" only-v0)"
is "$STATUS" 401 "stripe: only wrong v1/v0 signatures refused"

# --- generic hmac (sha512, base64, prefix) ---------------------------------
H=hmac-secret-0123456789abcdef
cgi "$T/hmac.ini" "$T/b1" HTTP_X_SIGNATURE="$(sign hmac "$H" "$T/b1")"
is "$STATUS" 200 "hmac sha512/base64/prefix: accepted"
cgi "$T/hmac.ini" "$T/b1x" HTTP_X_SIGNATURE="$(sign hmac "$H" "$T/b1")"
is "$STATUS" 401 "hmac: modified body refused"

# --- configuration errors ----------------------------------------------------
printf '[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\nverify = md5\nsecret_file = hmac.secret\n' > "$T/bad1.ini"
out=$("$BUILD/hookpipe" -c "$T/bad1.ini" check 2>&1)
like "$out" "bad1.ini:5: \[auth\] verify: 'md5': write token, standard-webhooks" "an unknown scheme is named with the choices"
printf '[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\nverify = hmac\nsecret_file = hmac.secret\n' > "$T/bad2.ini"
out=$("$BUILD/hookpipe" -c "$T/bad2.ini" check 2>&1)
like "$out" 'needs signature_header' "hmac without a header is an error"

printf '[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\nverify = github\nalgorithm = sha512\nsecret_file = hmac.secret\n' > "$T/bad3.ini"
out=$("$BUILD/hookpipe" -c "$T/bad3.ini" check 2>&1)
like "$out" 'bad3.ini:6: \[auth\] algorithm: applies to verify = hmac only' "a key of another scheme is an error, not ignored"
printf '[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\nverify = stripe\ntoken_file = hmac.secret\n' > "$T/bad4.ini"
out=$("$BUILD/hookpipe" -c "$T/bad4.ini" check 2>&1)
like "$out" 'signs with secret_file' "a token file with a signature scheme is named"

# --- libcrypto: mapped only where a scheme is configured ----------------------
# A build with --with-crypto=link has it in NEEDED: then every responder
# maps it, and a stand-in library cannot be tried without breaking the
# start of the program itself.
linked=0
bin=$BUILD/hookpipe.fcgi
[ "$VALGRIND_LOGS" = 1 ] && bin=$BUILD/bin/hookpipe.fcgi	# the real one
readelf -d "$bin" | grep -q 'NEEDED.*libcrypto' && linked=1
# responder_maps INI NAME: a FastCGI responder under lighttpd, configured
# by INI, answers one request (so its configuration is loaded); MAPS is
# its /proc/PID/maps, read while it waits for the next one.
responder_maps() {
	local ini=$1 port pid lpid
	shift
	port=$(free_port)
	lighttpd_conf "$T/lt-$2.conf" "$port" "$ini" 1
	MAPS=""
	start_lighttpd "$T/lt-$2.conf" "$port" || return 1
	lpid=${SERVER_PIDS[-1]}
	shift
	post "http://127.0.0.1:$port/hooks" "$@"
	for pid in $(pgrep -P "$lpid"); do
		[ "$(readlink "/proc/$pid/exe")" = "$BUILD/hookpipe.fcgi" ] &&
		    MAPS=$(cat "/proc/$pid/maps")
	done
	stop_servers
}
if [ "$VALGRIND_LOGS" = 1 ]; then
	for what in "token-only responder: 200" "its maps read" \
	    "token-only responder maps no libcrypto" "github responder: 200" \
	    "a responder with a scheme maps libcrypto"; do
		skip "$what" "valgrind runs the responder"
	done
else
	printf 'tok-0123456789abcdef\n' > "$T/tok.token"
	chmod 600 "$T/tok.token"
	printf '[hookpipe]\nspool_dir = tok-spool\nhandlers_dir = h\nrequire_https = no\n[delivery]\nrunner = /bin/true\n[env]\nREC = %s\n[auth]\ntoken_file = tok.token\n' \
	    "$T/rec" > "$T/tok.ini"
	printf '{"event":"push","id":"maps-1"}' > "$T/b4"
	responder_maps "$T/tok.ini" tok -H 'Content-Type: application/json' \
	    -H 'x-auth-token: tok-0123456789abcdef' --data-binary "@$T/b4"
	is "$STATUS" 200 "token-only responder under lighttpd: 200"
	like "$MAPS" 'hookpipe\.fcgi' "its /proc/PID/maps was read"
	if [ "$linked" = 1 ]; then
		skip "token-only responder maps no libcrypto" "built --with-crypto=link"
	else
		unlike "$MAPS" 'libcrypto' "token-only responder maps no libcrypto"
	fi
	sed 's/^\[hookpipe\]$/&\nrequire_https = no/' "$T/github.ini" > "$T/gh-http.ini"
	responder_maps "$T/gh-http.ini" gh -H 'Content-Type: application/json' \
	    -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: maps-2' \
	    -H "X-Hub-Signature-256: $(sign github "$G" "$T/b4")" \
	    --data-binary "@$T/b4"
	is "$STATUS" 200 "github responder under lighttpd: 200"
	like "$MAPS" 'libcrypto\.so' "a responder with a scheme maps libcrypto"
fi

# A libcrypto that cannot be loaded is a configuration error naming it,
# dlopen's reason and the remedy, not a failure at the first request.
if [ "$linked" = 1 ]; then
	for what in "unloadable libcrypto: 503" "unloadable libcrypto: the message" \
	    "libcrypto without the symbols: 503" "libcrypto without the symbols: the message"; do
		skip "$what" "built --with-crypto=link"
	done
else
	mkdir -p "$T/nolib" "$T/nosym"
	echo 'not a library' > "$T/nolib/libcrypto.so.3"
	${CC:-cc} -shared -fPIC -o "$T/nosym/libcrypto.so.3" -x c /dev/null \
	    -Wl,-soname,libcrypto.so.3
	cgi "$T/github.ini" "$T/b2" LD_LIBRARY_PATH="$T/nolib" 2> "$T/nolib.err"
	is "$STATUS" 503 "unloadable libcrypto: 503 (configuration error)"
	like "$(cat "$T/nolib.err")" "github\.ini:[0-9]+: \[auth\] verify: cannot load libcrypto\.so\.3 \(.*nolib/libcrypto\.so\.3: .*\): .*apt-get install libssl3" \
	    "unloadable libcrypto: file:line, the library, dlerror() and the remedy"
	cgi "$T/github.ini" "$T/b2" LD_LIBRARY_PATH="$T/nosym" 2> "$T/nosym.err"
	is "$STATUS" 503 "libcrypto without the symbols: 503 (configuration error)"
	like "$(cat "$T/nosym.err")" "verify: libcrypto\.so\.3 has no EVP_MAC_fetch .*apt-get install libssl3" \
	    "libcrypto without the symbols: the missing one is named"
fi

finish
