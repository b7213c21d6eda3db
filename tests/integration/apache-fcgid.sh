#!/usr/bin/env bash
# apache-fcgid.sh: hookpipe.fcgi under a real Apache 2.4 with mod_fcgid in
# a vhost, configured by the shipped conf/apache-fcgid.conf (paths
# replaced), over HTTPS (mod_ssl sets HTTPS=on) and plain HTTP: the core
# request set, Apache's header rules (underscores, Authorization and
# CGIPassAuth), and a request that finds the whole pool busy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"
. "$(dirname "$0")/requests.sh"
apache_require fcgid ssl

TOKEN=fcgid-token-0123456789abcdef
S=$T/site	# config, token, spool, handlers: outside any docroot
mkdir -p "$S/handlers" "$S/capture"
printf '%s\n' "$TOKEN" > "$S/token"
chmod 600 "$S/token"
core_handler "$S/handlers/booking.updated"
printf '#!/bin/sh\ncat >/dev/null\necho "$HOOKPIPE_ID" >> "$CAPTURE/slow.log"\nsleep 2\n' \
    > "$S/handlers/slow"
chmod 755 "$S/handlers/slow"
cat > "$S/hookpipe.ini" <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = handlers
max_body = 1100K
[auth]
token_file = token
[delivery]
runner = $BUILD/hookpipe-run
[env]
CAPTURE = $S/capture
EOF
GHTOKEN=fcgid-gh-token-0123456789abcdef
endpoint_setup "$S/handlers" gh "$S/token-gh" "$GHTOKEN" >> "$S/hookpipe.ini"
cat > "$S/auth.ini" <<EOF
[hookpipe]
spool_dir = auth-spool
handlers_dir = handlers
require_https = no
[auth]
token_file = token
header = authorization
[delivery]
runner = $BUILD/hookpipe-run
[env]
CAPTURE = $S/capture
[event slow]
handler = slow
mode = sync
EOF
apache_share
apache_own "$S"
make_tls || { echo "Bail out! openssl could not make a certificate"; exit 1; }

PORT=$(free_port)	# HTTPS
PLAIN=$(free_port)	# plain HTTP, same snippet
AUTH=$(free_port)	# plain HTTP, header = authorization, a pool of one
while [ "$PLAIN" = "$PORT" ]; do PLAIN=$(free_port); done
while [ "$AUTH" = "$PORT" ] || [ "$AUTH" = "$PLAIN" ]; do AUTH=$(free_port); done
sed -e "s|/usr/local/bin/hookpipe.fcgi|$BUILD/hookpipe.fcgi|" \
    -e "s|/etc/hookpipe/hookpipe.ini|$S/hookpipe.ini|" \
    "$SRC/conf/apache-fcgid.conf" > "$T/hookpipe-fcgid.conf"
grep -q "^Alias /hooks $BUILD/hookpipe.fcgi\$" "$T/hookpipe-fcgid.conf" &&
    grep -q "^FcgidInitialEnv HOOKPIPE_CONFIG $S/hookpipe.ini\$" "$T/hookpipe-fcgid.conf"
ok $? "conf/apache-fcgid.conf names the binary and the config where the test put them"
sed -e "s|$S/hookpipe.ini|$S/auth.ini|" -e 's|/hooks|/auth|g' \
    "$T/hookpipe-fcgid.conf" > "$T/auth-fcgid.conf"

CONF=$T/httpd.conf
apache_conf "$CONF" "$PORT" fcgid ssl
cat >> "$CONF" <<EOF
Listen 127.0.0.1:$PLAIN
Listen 127.0.0.1:$AUTH
FcgidIPCDir "$T/apache/run/fcgid"
FcgidProcessTableFile "$T/apache/run/fcgid_shm"
FcgidInitialEnv ASAN_OPTIONS "$ASAN_OPTIONS"
FcgidInitialEnv UBSAN_OPTIONS "$UBSAN_OPTIONS"
<VirtualHost 127.0.0.1:$PORT>
	SSLEngine on
	SSLCertificateFile "$T/tls.crt"
	SSLCertificateKeyFile "$T/tls.key"
	Include "$T/hookpipe-fcgid.conf"
</VirtualHost>
<VirtualHost 127.0.0.1:$PLAIN>
	Include "$T/hookpipe-fcgid.conf"
</VirtualHost>
<VirtualHost 127.0.0.1:$AUTH>
	Include "$T/auth-fcgid.conf"
	FcgidMaxProcessesPerClass 1
	<Location /authpass>
		CGIPassAuth On
	</Location>
	Alias /authpass "$BUILD/hookpipe.fcgi"
</VirtualHost>
EOF
# The second Location reuses the first's handler settings.
sed -i 's|^\t<Location /authpass>|\t<Location /authpass>\n\t\tSetHandler fcgid-script\n\t\tOptions +ExecCGI\n\t\tRequire all granted|' "$CONF"
start_apache "$CONF" "$PORT" ||
    { echo "Bail out! apache2 did not start"; exit 1; }

URL=https://127.0.0.1:$PORT/hooks
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")

# --- the core request set, over HTTPS ----------------------------------
core_requests "$URL" "$TOKEN" "$S/spool" "$S/capture"
like "$(cat "$S/capture/runs.log")" " $AP_USER\$" \
    "the handler ran as Apache's user ($AP_USER)"
endpoint_requests "$URL" gh "$GHTOKEN" "$TOKEN" "$S/spool" "$S/capture"
post "$URL/booking/updated" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"sub-path"}'
is "$STATUS:$(json_get reason)" "404:no such endpoint" \
    "/hooks/booking/updated reaches hookpipe, which knows no such endpoint"
post "http://127.0.0.1:$PLAIN/hooks" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"plain-http"}'
is "$STATUS" 403 "plain HTTP is refused (require_https; mod_ssl's HTTPS=on is what lets HTTPS in)"

# --- Apache's header rules ----------------------------------------------
post "$URL" "${J[@]}" -H "X_Auth_Token: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"underscore"}'
is "$STATUS" 401 "X_Auth_Token (underscores) does not reach hookpipe as the token"
post "$URL" "${J[@]}" -H "X-AUTH-TOKEN: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"upper-case"}'
is "$STATUS" 200 "X-AUTH-TOKEN (any case) is the token"
AU=http://127.0.0.1:$AUTH
post "$AU/auth" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-hidden"}'
is "$STATUS" 401 "Authorization is hidden from hookpipe without CGIPassAuth"
like "$(cat "$S/auth-spool/delivery.log" 2>/dev/null)" '"status":401' \
    "that 401 came from the endpoint with header = authorization"
post "$AU/authpass" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-passed"}'
is "$STATUS" 200 "Authorization reaches hookpipe with CGIPassAuth On"

# --- the pool is busy: the request waits (mod_fcgid polls each second) --
post "$AU/authpass" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"slow","id":"warm-up"}'
is "$STATUS" 200 "a sync handler answers through a pool of one process"
curl -s -o "$T/slow1.body" -w '%{http_code}' --max-time 30 "${J[@]}" \
    -H "Authorization: $TOKEN" --data-binary '{"event":"slow","id":"busy-1"}' \
    "$AU/authpass" > "$T/slow1.status" &
bg=$!
STARTED_PIDS+=("$bg")
for _ in $(seq 50); do
	grep -q busy-1 "$S/capture/slow.log" 2>/dev/null && break
	sleep 0.1
done
post "$AU/authpass" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"slow","id":"busy-2"}'
wait "$bg"
is "$(cat "$T/slow1.status")" 200 "the request that held the only process: 200"
is "$STATUS" 200 "the request that found the pool busy waited and got 200, not 503"
unlike "$(apache_log)" "can't apply process slot" "mod_fcgid did not give up on it"

stop_apache
finish
