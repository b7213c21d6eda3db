# shellcheck shell=bash
# requests.sh: the core request set every web-server test sends, so that
# lighttpd, Apache (mod_fcgid, .htaccess, mod_proxy_fcgi, CGI, suexec)
# and nginx are held to the same cases. Sourced after lib.sh.
#
# The endpoint under test needs: the token TOKEN, max_body below 1 MiB,
# handlers_dir/booking.updated made by core_handler, and [env] CAPTURE
# naming CAPTURE-DIR (written by that handler, so writable by the user
# the handlers run as).

# core_handler FILE: the capture handler: keeps the payload exactly as
# it arrived on stdin and one line per run.
core_handler() {
	cat > "$1" <<'SH'
#!/bin/sh
# Keep exactly what arrived on stdin, then say it ran.
cat > "$CAPTURE/$HOOKPIPE_ID.body.tmp" || exit 75
mv "$CAPTURE/$HOOKPIPE_ID.body.tmp" "$CAPTURE/$HOOKPIPE_ID.body"
echo "$HOOKPIPE_ID $HOOKPIPE_EVENT $(id -un)" >> "$CAPTURE/runs.log"
SH
	chmod 755 "$1"
}

# core_requests URL TOKEN SPOOL CAPTURE-DIR [LABEL]: accepted (200, the
# handler got the exact bytes, the spool holds them), bad token (401),
# bad JSON (400), too large (413), duplicate (200, duplicate, the
# handler ran once).
core_requests() {
	local url=$1 token=$2 spool=$3 cap=$4 label=${5:-}
	local sample=$SAMPLES/booking.updated.json
	local id=evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B
	local j=(-H 'Content-Type: application/json')
	local a=(-H "x-auth-token: $token")
	local entry head

	[ -n "$label" ] && label="$label: "
	post "$url" "${j[@]}" "${a[@]}" --data-binary "@$sample"
	is "$STATUS" 200 "${label}200 for a valid event"
	is "$(json_get status)" accepted "${label}answer says accepted"
	is "$(json_get id)" "$id" "${label}answer carries the sender's id"
	like "$(header X-Request-Id)" '^[0-9a-f]{16}$' \
	    "${label}X-Request-Id header present"
	wait_file "$cap/$id.body" 15
	cmp -s "$sample" "$cap/$id.body"
	ok $? "${label}handler got the payload byte for byte"
	# The runner may still be moving the entry (cur/ -> done/): one
	# glob over three folders could find it in none of them.
	spool_settled "$spool"
	entry=$(grep -l "\"id\":\"$id\"" "$spool"/new/* "$spool"/cur/* \
	    "$spool"/done/* 2>/dev/null | head -n1)
	if [ -n "$entry" ]; then
		head=$(head -n1 "$entry" | wc -c)
		tail -c +"$((head + 1))" "$entry" | cmp -s - "$sample"
		ok $? "${label}spool entry holds the raw body"
	else
		fail "${label}spool entry holds the raw body" \
		    "no entry with id $id under $spool"
	fi

	post "$url" "${j[@]}" -H "x-auth-token: ${token}x" \
	    --data-binary '{"event":"booking.updated","id":"core-bad-token"}'
	is "$STATUS" 401 "${label}401 for a wrong token"
	post "$url" "${j[@]}" --data-binary \
	    '{"event":"booking.updated","id":"core-no-token"}'
	is "$STATUS" 401 "${label}401 without a token"
	post "$url" "${j[@]}" "${a[@]}" \
	    --data-binary '{"event":"booking.updated",'
	is "$STATUS" 400 "${label}400 for invalid JSON"
	like "$(json_get reason)" . "${label}400 carries a JSON reason"
	head -c 1200000 /dev/zero | tr '\0' ' ' > "$T/core-toolarge"
	post "$url" "${j[@]}" "${a[@]}" --data-binary "@$T/core-toolarge"
	is "$STATUS" 413 "${label}413 for a body over max_body"

	post "$url" "${j[@]}" "${a[@]}" --data-binary "@$sample"
	is "$STATUS" 200 "${label}200 for a duplicate"
	is "$(json_get duplicate)" true "${label}answer marks the duplicate"
	# A duplicate stored by mistake would be in new/ now: once the spool
	# is at rest, its run (if any) is in runs.log.
	spool_settled "$spool"
	is "$(grep -c "^$id " "$cap/runs.log" 2>/dev/null)" 1 \
	    "${label}duplicate did not run the handler again"
	is "$(grep -l "\"id\":\"$id\"" "$spool"/new/* "$spool"/cur/* \
	    "$spool"/done/* 2>/dev/null | wc -l)" 1 \
	    "${label}duplicate was not stored again"
	unlike "$(cat "$cap/runs.log" 2>/dev/null)" 'core-' \
	    "${label}no handler ran for a refused request"
}

# Several senders in one configuration: [endpoint NAME] picked by the
# path after the mount (PATH_INFO "/NAME"). The web server must pass
# that path on; these requests fail when it does not.
#
# endpoint_setup HANDLERS-DIR NAME TOKEN-FILE TOKEN: the endpoint's own
# token file (an absolute path) and its capture handler
# HANDLERS-DIR/NAME/booking.updated (keeps the payload and
# HOOKPIPE_ENDPOINT); prints the INI section to append to the
# configuration.
endpoint_setup() {
	local dir=$1/$2
	mkdir -p "$dir"
	printf '%s\n' "$4" > "$3"
	chmod 600 "$3"
	cat > "$dir/booking.updated" <<'SH'
#!/bin/sh
# Keep exactly what arrived on stdin, and the endpoint it was told.
f=$CAPTURE/ep.${HOOKPIPE_ENDPOINT:-default}.$HOOKPIPE_ID
cat > "$f.tmp" || exit 75
mv "$f.tmp" "$f.body"
echo "$HOOKPIPE_ID ${HOOKPIPE_ENDPOINT:-default}" >> "$CAPTURE/endpoints.log"
SH
	chmod 755 "$dir/booking.updated"
	printf '[endpoint %s]\ntoken_file = %s\n' "$2" "$3"
}

# socket_site SITE TOKEN GH-TOKEN: the site of a responder that runs on
# its own socket (spawn-fcgi): token, capture handler, endpoint gh, and
# two configurations, SITE/hookpipe.ini (x-auth-token) and SITE/auth.ini
# (header = authorization), each with its own spool.
socket_site() {
	local site=$1 name
	mkdir -p "$site/handlers" "$site/capture"
	printf '%s\n' "$2" > "$site/token"
	chmod 600 "$site/token"
	core_handler "$site/handlers/booking.updated"
	endpoint_setup "$site/handlers" gh "$site/token-gh" "$3" > "$site/gh.ini"
	for name in hookpipe auth; do
		cat > "$site/$name.ini" <<EOF
[hookpipe]
spool_dir = $name-spool
handlers_dir = handlers
max_body = 1100K
require_https = no
[auth]
token_file = token
$([ "$name" = auth ] && echo 'header = authorization')
[delivery]
runner = $BUILD/hookpipe-run
[env]
CAPTURE = $site/capture
$(cat "$site/gh.ini")
EOF
	done
}

# endpoint_requests URL NAME TOKEN DEFAULT-TOKEN SPOOL CAPTURE-DIR [LABEL]:
# URL/NAME with the endpoint's token: 200 and its handler got the exact
# payload with HOOKPIPE_ENDPOINT=NAME; URL/NAME/ is the same endpoint;
# URL/NAME with the default endpoint's token: 401; URL/nosuch: 404
# "no such endpoint"; URL with NAME's token: 401. SPOOL is the one all
# endpoints share.
endpoint_requests() {
	local url=$1 name=$2 token=$3 dtoken=$4 spool=$5 cap=$6 label=${7:-}
	local j=(-H 'Content-Type: application/json')
	local body='{"event":"booking.updated","id":"ep-1","n":"\u00e9 1"}'

	[ -n "$label" ] && label="$label: "
	post "$url/$name" "${j[@]}" -H "x-auth-token: $token" --data-binary "$body"
	is "$STATUS" 200 "${label}/$name with its own token: 200"
	wait_file "$cap/ep.$name.ep-1.body" 15
	is "$(cat "$cap/ep.$name.ep-1.body" 2>/dev/null)" "$body" \
	    "${label}/$name: handlers_dir/$name/booking.updated got the exact payload, HOOKPIPE_ENDPOINT=$name"
	post "$url/$name/" "${j[@]}" -H "x-auth-token: $token" \
	    --data-binary '{"event":"booking.updated","id":"ep-2"}'
	is "$STATUS" 200 "${label}/$name/ (trailing slash): the same endpoint"
	wait_file "$cap/ep.$name.ep-2.body" 15
	ok "$([ -f "$cap/ep.$name.ep-2.body" ]; echo $?)" \
	    "${label}/$name/: its handler ran with HOOKPIPE_ENDPOINT=$name"
	post "$url/$name" "${j[@]}" -H "x-auth-token: $dtoken" \
	    --data-binary '{"event":"booking.updated","id":"ep-default-token"}'
	is "$STATUS" 401 "${label}/$name with the default endpoint's token: 401"
	post "$url" "${j[@]}" -H "x-auth-token: $token" \
	    --data-binary '{"event":"booking.updated","id":"ep-other-token"}'
	is "$STATUS" 401 "${label}the default endpoint with $name's token: 401"
	post "$url/nosuch" "${j[@]}" -H "x-auth-token: $dtoken" \
	    --data-binary '{"event":"booking.updated","id":"ep-nosuch"}'
	is "$STATUS" 404 "${label}/nosuch: 404"
	is "$(json_get reason)" "no such endpoint" \
	    "${label}/nosuch: JSON reason \"no such endpoint\""
	# Every run the accepted requests started has ended (and one a
	# refused request started by mistake would have).
	spool_settled "$spool"
	is "$(tr '\n' ' ' < "$cap/endpoints.log" 2>/dev/null)" "ep-1 $name ep-2 $name " \
	    "${label}only the accepted requests ran the endpoint's handler"
}
