#!/usr/bin/env bash
# signatures.sh: requests signed by an independent implementation
# (Python's hmac module, and Debian's python3-cryptography for Ed25519)
# verify under each scheme of the table, through lighttpd for every one
# whose body is JSON; stale, future, modified, unsigned and wrongly keyed
# ones answer 401; each scheme's default event and id sources are used;
# hookpipe check names the keys a scheme does not use or lacks.
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

# --- every scheme of the table, through lighttpd ---------------------------
# One endpoint per scheme; each request signed by Python (hmac, hashlib,
# and Debian's python3-cryptography for Ed25519), as its sender documents
# it. Twilio's JSON form (bodySHA256) goes through row; its form bodies,
# and the handshakes, follow.
PY3=/usr/bin/python3
SIGN=$SRC/tests/integration/sign.py	# the signers, shared with presets.sh
have_ed25519=0
"$PY3" -c 'from cryptography.hazmat.primitives.asymmetric import ed25519' \
    2>/dev/null && have_ed25519=1
# RFC 8032 test 1's key pair: the v1a endpoint trusts its public key.
ED_SK=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
ED_PK=whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
TW_URL=https://hooks.example.com/hooks/twilio	# as Twilio would see it
SEC=sec-0123456789abcdef-
printf 'whsec_c2VjcmV0LW9sZA==\n%s\n' "$S" > "$T/all-stdwh.secret"
cp "$T/all-stdwh.secret" "$T/all-svix.secret"
printf 'whsec_c2VjcmV0LW90aGVy\n%s\n' "$ED_PK" > "$T/all-v1a.secret"
for s in github stripe hmac shopify slack twilio gitlab paddle zoom meta mailgun; do
	printf 'old-%s%s\n%s%s\n' "$SEC" "$s" "$SEC" "$s" > "$T/all-$s.secret"
done
chmod 600 "$T"/all-*.secret
{
	printf '[hookpipe]\nspool_dir = all-spool\nhandlers_dir = h\nrequire_https = no\n'
	printf '[delivery]\nrunner = /bin/true\n[env]\nREC = %s\n' "$T/rec"
	for s in stdwh v1a svix github stripe hmac shopify slack twilio gitlab paddle zoom meta mailgun; do
		v=$s
		case $s in stdwh | v1a) v=standard-webhooks ;; esac
		printf '[endpoint %s]\nverify = %s\nsecret_file = all-%s.secret\nhandlers_dir = h\n' \
		    "$s" "$v" "$s"
		case $s in
		stripe) printf 'event_field = type\n' ;;
		hmac) printf 'signature_header = X-Signature\nalgorithm = sha512\nencoding = base64\nprefix = sha512=\n' ;;
		twilio) printf 'public_url = %s\n' "$TW_URL" ;;
		meta) printf 'verify_token_file = all-meta.vtok\n' ;;
		esac
	done
} > "$T/all.ini"
printf 'old-verify-token\nmeta-verify-token-1\n' > "$T/all-meta.vtok"
chmod 600 "$T/all-meta.vtok"
# Twilio's form events (no EventType) are "twilio": what the handler got.
printf '#!/bin/sh\nprintf %%s "$HOOKPIPE_CONTENT_TYPE" > "$REC/twilio.ct"\ncat > "$REC/twilio.$HOOKPIPE_ID"\n' \
    > "$T/h/twilio"
chmod 755 "$T/h/twilio"
out=$("$BUILD/hookpipe" -c "$T/all.ini" check 2>&1)
like "$out" 'configuration OK' "an endpoint per scheme: hookpipe check passes"

APORT=$(free_port)
lighttpd_conf "$T/lt-all.conf" "$APORT" "$T/all.ini"
start_lighttpd "$T/lt-all.conf" "$APORT" || fail "lighttpd for every scheme starts"
# spost SCHEME BODY [sign.py options] [-- curl arguments]: one request to
# /hooks/SCHEME, signed by sign.py; sets STATUS and BODY.
spost() {
	local scheme=$1 body=$2 secret url=http://127.0.0.1:$APORT/hooks/$1 h
	local args=() opts=() ct=application/json
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		[ "$1" = form=1 ] && ct=application/x-www-form-urlencoded
		opts+=("$1")
		shift
	done
	args=(-H "Content-Type: $ct")
	[ "${1:-}" = -- ] && shift
	case $scheme in
	stdwh | svix) secret=$S ;;
	v1a) secret=sk:$ED_SK ;;
	*) secret=$SEC$scheme ;;
	esac
	printf '%s' "$body" > "$T/sbody"
	while IFS= read -r h; do
		case $h in
		'') ;;
		'?'*) url=$url$h ;;
		*) args+=(-H "$h") ;;
		esac
	done < <("$PY3" "$SIGN" "${scheme/v1a/stdwh}" "$secret" "$T/sbody" \
	    "$T/sbody.out" url="$TW_URL" "${opts[@]}")
	post "$url" "${args[@]}" "$@" --data-binary "@$T/sbody.out"
}

# row SCHEME EVENT ID TS BODY [-- curl arguments]: the scheme's checks.
# EVENT and ID (a regular expression): what the answer names, from the
# scheme's default sources ("-": no id);
# TS: 1 when the scheme signs a timestamp.
row() {
	local scheme=$1 event=$2 id=$3 ts=$4 body=$5 bad
	shift 5
	spost "$scheme" "$body" "$@"
	is "$STATUS" 200 "$scheme: signed by Python: 200"
	is "$(json_get event)" "$event" "$scheme: the event name from its default source"
	[ "$id" = - ] || like "$(json_get id)" "^$id\$" "$scheme: the id from its default source"
	spost "$scheme" "$body" "$@"
	if [ "$id" = - ]; then
		is "$(json_get duplicate)" "" "$scheme: no id: the same event again is stored again"
	elif [ "$scheme" = stdwh ] || [ "$scheme" = v1a ] || [ "$scheme" = svix ]; then
		:	# a new id each time the request is signed
	else
		is "$(json_get duplicate)" true "$scheme: the same id again: a duplicate"
	fi
	case $scheme in
	stdwh | svix) bad=whsec_c2VjcmV0LXRoaXJk ;;
	v1a) bad=sk:4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb ;;
	*) bad=not-the-secret-0123456789 ;;
	esac
	spost "$scheme" "$body" key="$bad" "$@"
	is "$STATUS" 401 "$scheme: signed with another secret: 401"
	spost "$scheme" "$body" tamper=1 "$@"
	if [ "$scheme" = gitlab ]; then
		is "$STATUS" 200 "$scheme: a changed body passes (the token signs nothing)"
	else
		is "$STATUS" 401 "$scheme: a body changed after signing: 401"
	fi
	spost "$scheme" "$body" nosig=1 "$@"
	is "$STATUS" 401 "$scheme: without its signature: 401"
	if [ "$ts" = 1 ]; then
		spost "$scheme" "$body" off=-400 "$@"
		is "$STATUS" 401 "$scheme: timestamp 400 s old: 401"
		spost "$scheme" "$body" off=400 "$@"
		is "$STATUS" 401 "$scheme: timestamp 400 s ahead: 401"
	fi
}
B='{"event":"booking.updated","id":"AAAA"}'
row stdwh booking.updated 'msg_[0-9]+' 1 "$B"
if [ "$have_ed25519" = 1 ]; then
	row v1a booking.updated 'msg_[0-9]+' 1 "$B"
else
	skip "standard-webhooks v1a" "python3-cryptography is not installed (scripts/deps)"
fi
row svix booking.updated 'msg_[0-9]+' 1 "$B"
row github push d-1 0 '{"ref":"refs/heads/AAAA"}' -- \
    -H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: d-1'
row stripe payment.succeeded evt_AAAA 1 '{"id":"evt_AAAA","type":"payment.succeeded"}'
row hmac booking.updated h-AAAA 0 '{"event":"booking.updated","id":"h-AAAA"}'
row slack app_mention Ev1 1 \
    '{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","text":"AAAA"}}'
row twilio com.twilio.inbound idem-1 0 '{"EventType":"com.twilio.inbound","Body":"AAAA"}' -- \
    -H 'I-Twilio-Idempotency-Token: idem-1'
row gitlab push uuid-1 0 '{"object_kind":"push","ref":"AAAA"}' -- \
    -H 'X-Gitlab-Event: Push Hook' -H 'X-Gitlab-Event-UUID: uuid-1'
row paddle transaction.completed evt_AAAA 1 \
    '{"event_id":"evt_AAAA","event_type":"transaction.completed"}'
# Zoom and Meta send no id: a hash of the body (Meta: of its entry).
row zoom meeting.started '[0-9a-f]{64}' 1 '{"event":"meeting.started","payload":{"id":"AAAA"}}'
row meta page.feed '[0-9a-f]{64}' 0 '{"object":"page","entry":[{"id":"AAAA","changes":[{"field":"feed"}]}]}'
row meta instagram '[0-9a-f]{64}' 0 '{"object":"instagram","entry":[{"id":"AAAA","messaging":[]}]}'
row mailgun delivered mg-1 1 '{"event-data":{"event":"delivered","id":"mg-1","x":"AAAA"}}'
# Mailgun signs its token and timestamp, not the event: the same
# signature over another event-data passes (each token is to be accepted
# once: the receiver's to keep).
printf '{"event-data":{"event":"delivered","id":"mg-2"}}' > "$T/mg"
"$PY3" "$SIGN" mailgun "${SEC}mailgun" "$T/mg" "$T/mg.out" > /dev/null
sed 's/"mg-2"/"mg-3"/' "$T/mg.out" > "$T/mg.out2"
post "http://127.0.0.1:$APORT/hooks/mailgun" -H 'Content-Type: application/json' \
    --data-binary "@$T/mg.out2"
is "$STATUS" 200 "mailgun: event-data is not signed: a changed one passes"
post "http://127.0.0.1:$APORT/hooks/mailgun" -H 'Content-Type: application/json' \
    --data-binary "@$T/mg.out2"
is "$STATUS" 401 "mailgun: its token a second time: 401"
like "$BODY" 'token replayed' "mailgun: the answer says the token was replayed"

# --- handshakes and form bodies, through lighttpd -----------------------------
nnew() { find "$T/all-spool/new" -type f | wc -l; }
n0=$(nnew)
spost slack '{"type":"url_verification","token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}'
is "$STATUS" 200 "slack url_verification: 200"
is "$(json_get challenge)" 3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P \
    "slack url_verification: the challenge echoed"
like "$(header Content-Type)" '^application/json' "slack url_verification: as JSON"
spost slack '{"type":"url_verification","challenge":"c2"}' nosig=1
is "$STATUS" 401 "slack url_verification unsigned: 401"
spost zoom '{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1}'
is "$STATUS" 200 "zoom endpoint.url_validation: 200"
is "$(json_get plainToken)" qgg8vlvZRS6UYooatFL8Aw "zoom: plainToken echoed"
want=$("$PY3" -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest())' "old-${SEC}zoom")
is "$(json_get encryptedToken)" "$want" "zoom: encryptedToken is Python's HMAC-SHA256 of it (first secret)"
spost zoom '{"event":"endpoint.url_validation","payload":{"plainToken":"p"}}' key=not-the-secret-0123456789
is "$STATUS" 401 "zoom endpoint.url_validation signed with another secret: 401"
MQ="hub.mode=subscribe&hub.challenge=1158201444"
post "http://127.0.0.1:$APORT/hooks/meta?$MQ&hub.verify_token=meta-verify-token-1"
is "$STATUS" 200 "meta subscription GET: 200"
is "$BODY" 1158201444 "meta subscription GET: the challenge, exactly"
like "$(header Content-Type)" '^text/plain' "meta subscription GET: as text/plain"
post "http://127.0.0.1:$APORT/hooks/meta?$MQ&hub.verify_token=meta-verify-token-2"
is "$STATUS" 403 "meta subscription GET with another token: 403"
post "http://127.0.0.1:$APORT/hooks/github?$MQ&hub.verify_token=meta-verify-token-1"
is "$STATUS" 405 "a GET to another scheme's endpoint: still 405"
is "$(nnew)" "$n0" "handshakes store nothing"
like "$(cat "$T/all-spool/delivery.log")" '"handshake":"meta subscribe"' \
    "the delivery log names the handshake"
F='MessageSid=SM0123&AccountSid=AC9&From=%2B15551234567&Body=Gr%C3%BC%C3%9Fe+AAAA%21&NumMedia=0'
spost twilio "$F" form=1
is "$STATUS" 200 "twilio form body signed by Python: 200"
is "$(json_get event)" twilio "twilio form: no EventType: the event is twilio"
is "$(json_get id)" SM0123 "twilio form: the id is MessageSid"
cp "$T/sbody.out" "$T/twilio.form"
spost twilio "$F" form=1 tamper=1
is "$STATUS" 401 "twilio form changed after signing: 401"
post "http://127.0.0.1:$APORT/hooks/github" --data-binary "$F" \
    -H 'Content-Type: application/x-www-form-urlencoded' -H 'X-GitHub-Event: push'
is "$STATUS" 415 "a form body to github: still 415"
"$BUILD/hookpipe-run" -q -c "$T/all.ini"
cmp -s "$T/twilio.form" "$T/rec/twilio.SM0123"
ok $? "twilio form: the handler got the body byte for byte"
is "$(cat "$T/rec/twilio.ct" 2>/dev/null)" application/x-www-form-urlencoded \
    "twilio form: HOOKPIPE_CONTENT_TYPE"
# Shopify's topic "orders/create": a '/' in a header's event reads as
# '.', so the event is orders.create.
spost shopify '{"id":1,"note":"AAAA"}' -- -H 'X-Shopify-Topic: orders/create' \
    -H 'X-Shopify-Webhook-Id: w-1'
is "$STATUS" 200 "shopify: signed by Python: accepted"
like "$BODY" '"event":"orders.create"' "shopify: the topic orders/create is the event orders.create"
like "$BODY" '"id":"w-1"' "shopify: the id is X-Shopify-Webhook-Id"
spost shopify '{"id":1,"note":"AAAA"}' key=not-the-secret -- \
    -H 'X-Shopify-Topic: orders/create'
is "$STATUS" 401 "shopify: signed with another secret: 401"
spost shopify '{"id":1,"note":"AAAA"}' tamper=1 -- -H 'X-Shopify-Topic: orders/create'
is "$STATUS" 401 "shopify: a body changed after signing: 401"
spost shopify '{"id":1,"note":"AAAA"}' nosig=1 -- -H 'X-Shopify-Topic: orders/create'
is "$STATUS" 401 "shopify: without its signature: 401"
log=$(cat "$T/all-spool/delivery.log" 2>/dev/null)
like "$log" 'timestamp outside the tolerance' "the log says why a stale request was refused"
like "$log" 'signature header missing \(X-Slack-Signature\)' "and names a missing header"
stop_servers

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

# The keys a scheme does not use, or lacks, are named by hookpipe check
# (which schemes take which key is the table's).
printf 'whsk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n' > "$T/whsk.secret"
chmod 600 "$T/whsk.secret"
bad_conf() {	# bad_conf N REGEX DESCRIPTION AUTH-LINES...
	local n=$1 re=$2 what=$3
	shift 3
	{
		printf '[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n'
		printf '%s\n' "$@"
	} > "$T/bad$n.ini"
	out=$("$BUILD/hookpipe" -c "$T/bad$n.ini" check 2>&1)
	like "$out" "$re" "$what"
}
bad_conf 5 'bad5.ini:6: \[auth\] tolerance: applies to verify = standard-webhooks, stripe, slack, paddle, zoom, mailgun or svix only' \
    "tolerance with a scheme that signs no timestamp is an error" \
    'verify = github' 'tolerance = 1m' 'secret_file = hmac.secret'
bad_conf 6 '\[auth\] verify = twilio needs public_url' \
    "twilio without public_url is an error" 'verify = twilio' 'secret_file = hmac.secret'
bad_conf 7 'public_url: .*has a query' "a public_url with a query is an error" \
    'verify = twilio' 'public_url = https://example.com/t?a=1' 'secret_file = hmac.secret'
bad_conf 8 'bad8.ini:6: \[auth\] header: applies to verify = token only' \
    "the token's header with a signature scheme is an error" \
    'verify = slack' 'header = x-auth-token' 'secret_file = hmac.secret'
bad_conf 9 'bad9.ini:6: \[auth\] prefix: applies to verify = github or hmac only' \
    "prefix with a scheme of fixed syntax is an error" \
    'verify = zoom' 'prefix = v0=' 'secret_file = hmac.secret'
bad_conf 10 'public_url: applies to verify = twilio only' \
    "public_url with another scheme is an error" \
    'verify = stripe' 'public_url = https://example.com/t' 'secret_file = hmac.secret'
bad_conf 11 'token_file: verify = gitlab checks its secret with secret_file' \
    "gitlab's secret token goes in secret_file" 'verify = gitlab' 'token_file = hmac.secret'
bad_conf 12 'secret_file: secret 1 is a whsk_ private key: .*whpk_ public key' \
    "a Standard Webhooks private key is refused" \
    'verify = standard-webhooks' 'secret_file = whsk.secret'

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
