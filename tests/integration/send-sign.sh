#!/usr/bin/env bash
# send-sign.sh: `hookpipe send --sign SCHEME` against one endpoint per
# scheme under lighttpd: 200, the handler gets the body byte for byte
# (Mailgun's: the body with the signature object put in front), --event
# and --id land where the scheme reads them; signed with a wrong
# --secret-file, send prints the 401 and exits 1.
. "$(dirname "$0")/lib.sh"

HP=$BUILD/hookpipe
if "$HP" send http://127.0.0.1:1/ --token-file /dev/null </dev/null 2>&1 |
    grep -q 'not in this build'; then
	skip "send --sign" "built --without-curl"
	finish
fi

mkdir -p "$T/h" "$T/rec"
printf '#!/bin/sh\ncat > "$REC/$HOOKPIPE_ENDPOINT"\n' > "$T/h/ping"
chmod 755 "$T/h/ping"
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/hooks
SCHEMES="token standard-webhooks v1a svix github stripe hmac shopify slack twilio gitlab paddle zoom meta mailgun"
# RFC 8032 test 1's key pair: send signs with the private key, the
# endpoint trusts the public one.
printf 'whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=\n' > "$T/v1a.sk"
for s in $SCHEMES; do
	case $s in
	standard-webhooks | svix) printf 'whsec_%s\n' "$(printf 'send-sign-%s' "$s" | base64)" ;;
	v1a) printf 'whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n' ;;
	*) printf 'send-sign-secret-0123456789-%s\n' "$s" ;;
	esac > "$T/$s.secret"
	printf 'another-secret-0123456789\n' > "$T/$s.bad"
done
printf 'whsec_YW5vdGhlci1zZWNyZXQ=\n' > "$T/standard-webhooks.bad"
cp "$T/standard-webhooks.bad" "$T/svix.bad"
printf 'whsk_TM0Imyj/ltqdtsNG7BSOD1uKMZ81q6Yk2oz27U+4pvs=\n' > "$T/v1a.bad"
chmod 600 "$T"/*.secret "$T"/*.bad "$T/v1a.sk"
{
	printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = h\nrequire_https = no\n'
	printf '[delivery]\nrunner = /bin/true\n[env]\nREC = %s\n' "$T/rec"
	for s in $SCHEMES; do
		v=$s
		[ "$s" = v1a ] && v=standard-webhooks
		printf '[endpoint %s]\nverify = %s\nhandlers_dir = h\n' "$s" "$v"
		if [ "$s" = token ]; then
			printf 'token_file = %s.secret\n' "$s"
		else
			printf 'secret_file = %s.secret\n' "$s"
		fi
		case $s in
		hmac) printf 'signature_header = X-Signature\nalgorithm = sha512\nencoding = base64\nprefix = sha512=\n' ;;
		twilio) printf 'public_url = %s/twilio\n' "$URL" ;;
		esac
	done
} > "$T/s.ini"
out=$("$HP" -c "$T/s.ini" check 2>&1)
like "$out" 'configuration OK' "an endpoint per scheme: hookpipe check passes"
lighttpd_conf "$T/lt.conf" "$PORT" "$T/s.ini"
start_lighttpd "$T/lt.conf" "$PORT" || fail "lighttpd starts"

# The body each scheme's sender would post, the event "ping" in it
# where the scheme reads it from the body; spaces and a non-ASCII letter
# that a re-serialization would change.
body() {
	case $1 in
	github | shopify) printf '{"x": "Zo\303\253",  "n": 1}' ;;
	slack) printf '{"type": "event_callback", "event_id": "Ev1", "event": {"type": "ping", "x": "Zo\303\253"}}' ;;
	twilio) printf '{"EventType": "ping",  "x": "Zo\303\253"}' ;;
	gitlab) printf '{"object_kind": "ping",  "x": "Zo\303\253"}' ;;
	paddle) printf '{"event_type": "ping", "event_id": "evt_1", "x": "Zo\303\253"}' ;;
	meta) printf '{"object": "ping", "entry": [{"id": "1", "x": "Zo\303\253"}]}' ;;
	mailgun) printf '{"event-data": {"event": "ping", "id": "mg-1"},  "x": "Zo\303\253"}' ;;
	*) printf '{"event": "ping", "id": "%s-1",  "x": "Zo\303\253"}' "$1" ;;
	esac
}
# --event and --id where the scheme reads them from headers (the body
# stays as it is); the id the answer must name.
args() {
	case $1 in
	github | shopify) echo "--event ping --id $1-9" ;;
	standard-webhooks | v1a | svix | twilio | gitlab) echo "--id $1-9" ;;
	esac
}
want_id() {
	case $1 in
	github | shopify | standard-webhooks | v1a | svix | twilio | gitlab) echo "$1-9" ;;
	slack) echo Ev1 ;;
	paddle) echo evt_1 ;;
	mailgun) echo mg-1 ;;
	meta) echo '[0-9a-f]{64}' ;;	# a hash of the entry
	*) echo "$1-1" ;;
	esac
}
for s in $SCHEMES; do
	body "$s" > "$T/$s.body"
	key=()
	[ "$s" = v1a ] && key=(--secret-file "$T/v1a.sk")
	sign=$s
	[ "$s" = v1a ] && sign=standard-webhooks
	# shellcheck disable=SC2046	# args: words on purpose
	out=$("$HP" -c "$T/s.ini" send "$URL/$s" --endpoint "$s" --sign "$sign" \
	    --file "$T/$s.body" "${key[@]}" $(args "$s") 2>&1)
	rc=$?
	is "$rc" 0 "$s: send --sign exits 0"
	like "$out" '^200' "$s: signed by hookpipe send: 200"
	like "$out" '"event":"ping"' "$s: the event where the scheme reads it"
	like "$out" "\"id\":\"$(want_id "$s")\"" "$s: the id where the scheme reads it"
done

"$BUILD/hookpipe-run" -q -c "$T/s.ini"
runner_idle "$T/spool" 10 || fail "the runner finishes"
for s in $SCHEMES; do
	if [ "$s" = mailgun ]; then
		# The signature object first, then the body as given.
		got=$(cat "$T/rec/$s" 2>/dev/null)
		like "$got" '^\{"signature":\{"timestamp":"[0-9]+","token":"[0-9a-f]{50}","signature":"[0-9a-f]{64}"\},' \
		    "$s: the signature object goes in front"
		is "${got#*\},}" "$(tail -c +2 "$T/$s.body")" "$s: and the rest of the body byte for byte"
	else
		cmp -s "$T/$s.body" "$T/rec/$s"
		ok $? "$s: the handler got the body byte for byte"
	fi
done

# Signed with another secret: the receiver's 401, and exit 1.
for s in $SCHEMES; do
	sign=$s
	[ "$s" = v1a ] && sign=standard-webhooks
	out=$("$HP" -c "$T/s.ini" send "$URL/$s" --endpoint "$s" --sign "$sign" \
	    --file "$T/$s.body" --secret-file "$T/$s.bad" 2>&1)
	rc=$?
	is "$rc" 1 "$s: wrong --secret-file: send exits 1"
	like "$out" '^401' "$s: and prints the 401"
done

# Without a configuration: the scheme's own fields; hmac needs --header.
out=$("$HP" -c "$T/none.ini" send "$URL/github" --sign github \
    --secret-file "$T/github.secret" --event ping --id gh-77 --file "$T/github.body" 2>&1)
like "$out" '^200' "no configuration: --sign github with --secret-file: 200"
like "$out" '"id":"gh-77"' "its --id went into X-GitHub-Delivery"
out=$("$HP" -c "$T/none.ini" send "$URL/hmac" --sign hmac \
    --secret-file "$T/hmac.secret" --file "$T/hmac.body" 2>&1)
is "$?" 1 "no configuration: --sign hmac without --header fails"
like "$out" 'signature_header.*-c CONFIG.*--header' "and says what to give"
out=$("$HP" -c "$T/s.ini" send "$URL/github" --endpoint github --sign stripe \
    --file "$T/github.body" 2>&1)
is "$?" 1 "--sign another scheme than the endpoint's: fails"
like "$out" 'verifies github' "and names the endpoint's scheme"
out=$("$HP" -c "$T/s.ini" send "$URL/github" --endpoint github --event ping \
    --id gh-78 --file "$T/github.body" 2>&1)
like "$out" '^200' "no --sign: the endpoint's own scheme signs"
out=$("$HP" -c "$T/s.ini" send "$URL/v1a" --endpoint v1a --file "$T/v1a.body" 2>&1)
is "$?" 1 "v1a from the configuration alone: the public key cannot sign"
like "$out" 'whsk_' "and it names the private key needed"

finish
