#!/usr/bin/env bash
# presets.sh: the README's sender table, as written. Each row's INI lines
# are taken from README.md (so the README cannot drift from what is
# tested) into one configuration; every preset of the key table has a
# row. For each sender a request signed by sign.py (an independent
# Python implementation of each sender's documentation) goes through
# lighttpd and through Apache (mod_fcgid, conf/apache-fcgid.conf): 200,
# the handler gets the body byte for byte, with the sender's event and id
# in HOOKPIPE_EVENT and HOOKPIPE_ID; the same request under another
# secret answers 401. Form bodies (Twilio, Slack's interactive messages)
# included; Slack's and Zoom's handshakes and Meta's subscription GET are
# answered through both servers.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"

PY3=/usr/bin/python3
SIGN=$SRC/tests/integration/sign.py
WHSEC=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
VTOKEN=meta-verify-token-1

# --- the rows of the README ---------------------------------------------
# One line per row: its INI lines, tab-separated.
"$PY3" - "$SRC/README.md" > "$T/rows" <<'PY' || fail "README.md has a sender table"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
sec = text.split("\n## Senders\n", 1)[1].split("\n## ", 1)[0]
for line in sec.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 3 or not cells[1].startswith("`["):
        continue
    print("\t".join(re.fullmatch(r"`([^`]*)`", p.strip()).group(1)
                    for p in cells[1].split("<br>")))
PY
declare -A EP	# preset -> the row's endpoint name
declare -A URLOF	# preset -> the row's public_url, if any
while IFS=$'\t' read -r -a lines; do
	name='' preset=''
	for l in "${lines[@]}"; do
		case $l in
		'[endpoint '*']') name=${l#'[endpoint '}; name=${name%']'} ;;
		'preset = '*) preset=${l#'preset = '} ;;
		'public_url = '*) URLOF[$preset]=${l#'public_url = '} ;;
		esac
	done
	[ -n "$name" ] && [ -n "$preset" ] && EP[$preset]=$name
done < "$T/rows"
if [ -x "$BUILD/tests/unit/conf-keys" ]; then
	presets=$("$BUILD/tests/unit/conf-keys" | awk -F'\t' '$2 == "preset" { print $3 }' |
	    sed 's/ | /\n/g')
	missing=''
	for p in $presets; do
		[ -n "${EP[$p]:-}" ] || missing="$missing $p"
	done
	is "$missing" "" "every preset of the key table ($(echo $presets | wc -w)) has a row in README.md"
else
	fail "tests/unit/conf-keys is built" "run make check (or make tests/unit/conf-keys) first"
fi

# site DIR: a configuration of every row, below DIR, with the secrets
# (and Meta's verify token) the rows' files name, and a handler for each
# event that records its body and its HOOKPIPE_EVENT and HOOKPIPE_ID.
site() {
	local dir=$1 l f
	mkdir -p "$dir/rec" "$dir/handlers"
	{
		printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n'
		printf 'require_https = no\n'
		printf '[delivery]\nrunner = %s/hookpipe-run\n' "$BUILD"
		printf '[env]\nREC = %s/rec\n' "$dir"
	} > "$dir/hookpipe.ini"
	while IFS=$'\t' read -r -a lines; do
		for l in "${lines[@]}"; do
			printf '%s\n' "$l"
			case $l in '[endpoint '*']') p=${l#'[endpoint '}; p=${p%']'} ;; esac
			case $l in
			'secret_file = '* | 'token_file = '*)
				f=$dir/${l#*= }
				case $p in
				standard-webhooks | svix) echo "$WHSEC" > "$f" ;;
				*) echo "sec-0123456789abcdef-$p" > "$f" ;;
				esac
				chmod 600 "$f" ;;
			'verify_token_file = '*)
				echo "$VTOKEN" > "$dir/${l#*= }"
				chmod 600 "$dir/${l#*= }" ;;
			esac
		done
		echo
	done < "$T/rows" >> "$dir/hookpipe.ini"
}

# case_of CASE: the request of one sender (CASE is its preset, or
# slack-form): sets PRESET, SCHEME (sign.py's), REQ (the body), CT, HDR
# (curl arguments), OPTS (sign.py's), EV and ID (what the handler must
# see; ID "@NAME": the value of the signed header NAME).
case_of() {
	PRESET=${1%-form} SCHEME=${1%-form} CT=application/json HDR=() OPTS=()
	case $1 in
	harmonics)
		REQ='{"event":"booking.updated","id":"rh-1","data":{"guest":"Zoë"}}'
		EV=booking.updated ID=rh-1 ;;
	standard-webhooks | svix)
		REQ='{"type":"invoice.paid","timestamp":"2024-05-01T10:00:00Z","data":{"n":1}}'
		SCHEME=${SCHEME/standard-webhooks/stdwh}
		EV=invoice.paid ID=@${SCHEME/stdwh/webhook}-id ;;
	github)
		REQ='{"ref":"refs/heads/main","head_commit":{"message":"Zoë"}}'
		HDR=(-H 'X-GitHub-Event: push' -H 'X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958')
		EV=push ID=72d3162e-cc78-11e3-81ab-4c9367dc0958 ;;
	stripe)
		REQ='{"id":"evt_1PqR","object":"event","type":"payment_intent.succeeded","data":{}}'
		EV=payment_intent.succeeded ID=evt_1PqR ;;
	shopify)
		REQ='{"id":820982911946154508,"email":"jon@example.com"}'
		HDR=(-H 'X-Shopify-Topic: orders/create' -H 'X-Shopify-Webhook-Id: b54557e4-bdd9-4b37-8a5f-bf7d70bcd043')
		EV=orders.create ID=b54557e4-bdd9-4b37-8a5f-bf7d70bcd043 ;;
	slack)
		REQ='{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}'
		EV=app_mention ID=Ev08MFMKH6 ;;
	slack-form)	# an interactive message: no event id
		REQ='payload=%7B%22type%22%3A%22block_actions%22%2C%22trigger_id%22%3A%2213345224609.738474920.8088930838d88f008e0%22%7D'
		CT=application/x-www-form-urlencoded
		EV=block_actions ID='' ;;
	twilio)
		REQ='MessageSid=SM1f0e8ae6ade43cb3c0ce4525424e404f&AccountSid=AC0123&From=%2B15551234567&Body=Gr%C3%BC%C3%9Fe%21&NumMedia=0'
		CT=application/x-www-form-urlencoded
		HDR=(-H 'I-Twilio-Idempotency-Token: 8d7b1c56-0f0e-4c3b-9c55-1b3a9f7c4d21')
		OPTS=(form=1 "url=${URLOF[twilio]:-}")
		EV=twilio ID=8d7b1c56-0f0e-4c3b-9c55-1b3a9f7c4d21 ;;
	gitlab)
		REQ='{"object_kind":"push","ref":"refs/heads/main"}'
		HDR=(-H 'X-Gitlab-Event: Push Hook' -H 'X-Gitlab-Event-UUID: 13792a34-cac6-4fda-95a8-c58e00a3954e')
		EV=push ID=13792a34-cac6-4fda-95a8-c58e00a3954e ;;
	paddle)
		REQ='{"event_id":"evt_01h8bzakzx3hm2fmen703n5q45","event_type":"transaction.completed","data":{}}'
		EV=transaction.completed ID=evt_01h8bzakzx3hm2fmen703n5q45 ;;
	zoom)	# no id: the hash of the body
		REQ='{"event":"meeting.started","event_ts":1626230691572,"payload":{"object":{"id":"1234567890"}}}'
		EV=meeting.started
		ID=$(printf '%s' "$REQ" | sha256sum | cut -d' ' -f1) ;;
	meta)	# no id: the hash of entry, as JSON without spaces
		REQ='{"object":"page","entry":[{"id":"0","time":1700000000,"changes":[{"field":"feed","value":{"item":"status"}}]}]}'
		EV=page.feed
		ID=$("$PY3" -c 'import hashlib, json, sys
e = json.loads(sys.argv[1])["entry"]
print(hashlib.sha256(json.dumps(e, separators=(",", ":")).encode()).hexdigest())' "$REQ") ;;
	mailgun)	# sign.py adds the signature object to the body
		REQ='{"event-data":{"event":"delivered","id":"CPgfbmQMTCKtHW6uIWtuVe","recipient":"alice@example.com"}}'
		EV=delivered ID=CPgfbmQMTCKtHW6uIWtuVe ;;
	woocommerce)
		REQ='{"id":727,"status":"processing","total":"29.35"}'
		HDR=(-H 'X-WC-Webhook-Topic: order.created' -H 'X-WC-Webhook-Delivery-ID: 0f3a3c0d5c8b4ad1e2b0c7f1a9d4e6b2')
		EV=order.created ID=0f3a3c0d5c8b4ad1e2b0c7f1a9d4e6b2 ;;
	typeform)
		REQ='{"event_id":"01HXYZ4T6Z0Q2W8K3","event_type":"form_response","form_response":{"form_id":"lT4Z3j"}}'
		EV=form_response ID=01HXYZ4T6Z0Q2W8K3 ;;
	gitea)
		REQ='{"ref":"refs/heads/main","repository":{"full_name":"o/r"}}'
		HDR=(-H 'X-Gitea-Event: push' -H 'X-Gitea-Delivery: 5f2f0ed6-1a7b-4b0e-9a57-6f8b9d9c6e10')
		EV=push ID=5f2f0ed6-1a7b-4b0e-9a57-6f8b9d9c6e10 ;;
	*) EV='' ;;
	esac
}
CASES="harmonics standard-webhooks svix github stripe shopify slack slack-form
    twilio gitlab paddle zoom meta mailgun woocommerce typeform gitea"

# send BASE CASE [sign.py options]: the case's request to BASE/ENDPOINT,
# signed by sign.py with the secret its row's file holds (or key=...);
# sets STATUS and BODY, SENT (the file of the body sent) and ID.
send() {
	local base=$1 c=$2 secret h url args
	shift 2
	case_of "$c"
	secret=sec-0123456789abcdef-$PRESET
	case $PRESET in standard-webhooks | svix) secret=$WHSEC ;; esac
	printf '%s' "$REQ" > "$T/req"
	url=$base/${EP[$PRESET]:-none}
	args=(-H "Content-Type: $CT" "${HDR[@]}")
	"$PY3" "$SIGN" "$SCHEME" "$secret" "$T/req" "$T/req.out" "${OPTS[@]}" "$@" \
	    > "$T/req.hdr"
	while IFS= read -r h; do
		case $h in
		'') ;;
		'?'*) url=$url$h ;;
		*) args+=(-H "$h") ;;
		esac
		case $ID in "@"*)
			[ "${h%%:*}" = "${ID#@}" ] && ID=${h#*: } ;;
		esac
	done < "$T/req.hdr"
	SENT=$T/sent.$c
	cp "$T/req.out" "$SENT"
	post "$url" "${args[@]}" --data-binary "@$SENT"
}

# handshakes SERVER BASE: Slack's url_verification, Zoom's
# endpoint.url_validation (both signed) and Meta's subscription GET.
handshakes() {
	local srv=$1 base=$2 want l h
	printf '{"type":"url_verification","token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}' > "$T/hs"
	h=(-H 'Content-Type: application/json')
	while IFS= read -r l; do h+=(-H "$l"); done < <("$PY3" "$SIGN" slack \
	    sec-0123456789abcdef-slack "$T/hs" "$T/hs.out")
	post "$base/${EP[slack]}" "${h[@]}" --data-binary "@$T/hs.out"
	is "$STATUS:$(json_get challenge)" 200:3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P \
	    "$srv: slack url_verification: the challenge echoed"
	printf '{"event":"endpoint.url_validation","payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680}' > "$T/hs"
	h=(-H 'Content-Type: application/json')
	while IFS= read -r l; do h+=(-H "$l"); done < <("$PY3" "$SIGN" zoom \
	    sec-0123456789abcdef-zoom "$T/hs" "$T/hs.out")
	post "$base/${EP[zoom]}" "${h[@]}" --data-binary "@$T/hs.out"
	want=$("$PY3" -c 'import hashlib, hmac, sys
print(hmac.new(sys.argv[1].encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest())' \
	    sec-0123456789abcdef-zoom)
	is "$STATUS:$(json_get plainToken):$(json_get encryptedToken)" \
	    "200:qgg8vlvZRS6UYooatFL8Aw:$want" \
	    "$srv: zoom endpoint.url_validation: plainToken and Python's HMAC of it"
	post "$base/${EP[meta]}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=$VTOKEN"
	is "$STATUS:$BODY" 200:1158201444 "$srv: meta subscription GET: the challenge"
	post "$base/${EP[meta]}?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=other"
	is "$STATUS" 403 "$srv: meta subscription GET with another verify token: 403"
}

# run_cases SERVER BASE DIR: every case through one server, then what
# each handler got.
run_cases() {
	local srv=$1 base=$2 dir=$3 c bad f
	for c in $CASES; do
		case $c in standard-webhooks | svix) bad=whsec_c2VjcmV0LXRoaXJk ;;
		*) bad=not-the-secret-0123456789 ;; esac
		send "$base" "$c" key="$bad"
		is "$STATUS" 401 "$srv: $c: signed with another secret: 401"
		send "$base" "$c"
		is "$STATUS" 200 "$srv: $c: signed by Python: 200"
		eval "WANT_${c//-/_}=\$EV/\$ID"
	done
	spool_settled "$dir/spool"
	for c in $CASES; do
		case_of "$c"
		f=$dir/rec/${EP[$PRESET]:-none}.$EV
		cmp -s "$T/sent.$c" "$f.body"
		ok $? "$srv: $c: the handler got the body byte for byte"
		eval "want=\$WANT_${c//-/_}"
		is "$(tr '\n' / 2>/dev/null < "$f.env")" "$want/" \
		    "$srv: $c: HOOKPIPE_EVENT/HOOKPIPE_ID are the sender's"
	done
}

handlers() {	# handlers DIR: one recording handler per case's event
	local c
	for c in $CASES; do
		case_of "$c"
		mkdir -p "$1/handlers/${EP[$PRESET]:-none}"
		printf '#!/bin/sh\nf="$REC/$HOOKPIPE_ENDPOINT.$HOOKPIPE_EVENT"\ncat > "$f.body"\nprintf "%%s\\n%%s\\n" "$HOOKPIPE_EVENT" "$HOOKPIPE_ID" > "$f.env"\n' \
		    > "$1/handlers/${EP[$PRESET]:-none}/$EV"
		chmod 755 "$1/handlers/${EP[$PRESET]:-none}/$EV"
	done
}

# --- lighttpd ---------------------------------------------------------------
LT=$T/lt
site "$LT"
handlers "$LT"
out=$("$BUILD/hookpipe" -c "$LT/hookpipe.ini" check 2>&1)
like "$out" 'configuration OK' "the README's rows: hookpipe check passes"
{ cat "$LT/hookpipe.ini"; printf '[endpoint bad]\npreset = stripe2\nsecret_file = stripe.secret\n'; } \
    > "$LT/bad.ini"
n=$(grep -n '^preset = stripe2$' "$LT/bad.ini" | cut -d: -f1)
out=$("$BUILD/hookpipe" -c "$LT/bad.ini" check 2>&1)
like "$out" "bad\.ini:$n: \[endpoint bad\] preset: 'stripe2' is no preset: write harmonics, standard-webhooks, .* or gitea" \
    "hookpipe check: an unknown preset, with the file, the line and the presets"
like "$(printf '%s\n' "$out" | grep -c ': error: ')" '^1$' "hookpipe check: one error for it"
PORT=$(free_port)
lighttpd_conf "$T/lt.conf" "$PORT" "$LT/hookpipe.ini"
if start_lighttpd "$T/lt.conf" "$PORT"; then
	run_cases lighttpd "http://127.0.0.1:$PORT/hooks" "$LT"
	handshakes lighttpd "http://127.0.0.1:$PORT/hooks"
else
	fail "lighttpd starts"
fi
stop_servers

# --- Apache, mod_fcgid ------------------------------------------------------
if [ ! -x "$APACHE2" ] || [ ! -f "$APACHE_MODULES/mod_fcgid.so" ]; then
	skip "Apache: every sender" "apache2 or mod_fcgid is not installed"
else
	AP=$T/ap
	site "$AP"
	handlers "$AP"
	apache_share
	apache_own "$AP"
	APORT=$(free_port)
	sed -e "s|/usr/local/bin/hookpipe.fcgi|$BUILD/hookpipe.fcgi|" \
	    -e "s|/etc/hookpipe/hookpipe.ini|$AP/hookpipe.ini|" \
	    "$SRC/conf/apache-fcgid.conf" > "$T/hookpipe-fcgid.conf"
	apache_conf "$T/httpd.conf" "$APORT" fcgid
	cat >> "$T/httpd.conf" <<EOF
FcgidIPCDir "$T/apache/run/fcgid"
FcgidProcessTableFile "$T/apache/run/fcgid_shm"
FcgidInitialEnv ASAN_OPTIONS "$ASAN_OPTIONS"
FcgidInitialEnv UBSAN_OPTIONS "$UBSAN_OPTIONS"
Include "$T/hookpipe-fcgid.conf"
EOF
	if start_apache "$T/httpd.conf" "$APORT"; then
		run_cases apache "http://127.0.0.1:$APORT/hooks" "$AP"
		handshakes apache "http://127.0.0.1:$APORT/hooks"
	else
		fail "apache2 starts"
	fi
	stop_apache
fi

finish
