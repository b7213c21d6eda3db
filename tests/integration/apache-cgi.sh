#!/usr/bin/env bash
# apache-cgi.sh: the same binary as plain CGI (hookpipe.cgi) under a real
# Apache 2.4 with mod_cgid and no mod_fcgid: the vhost recipe
# conf/apache-cgi.conf and the shared-hosting recipe conf/htaccess-cgi,
# each with the core request set; one process per request; Apache's
# header rules; and what the FastCGI .htaccess does on a host without
# mod_fcgid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"
. "$(dirname "$0")/requests.sh"
apache_require cgid rewrite

TOKEN=cgi-token-0123456789abcdef
S=$T/site
mkdir -p "$S/handlers" "$S/capture" "$S/capture2" "$T/lib"
printf '%s\n' "$TOKEN" > "$S/token"
chmod 600 "$S/token"
core_handler "$S/handlers/booking.updated"
printf '#!/bin/sh\ncat >/dev/null\necho "$PPID" >> "$CAPTURE/ppid.log"\n' \
    > "$S/handlers/ppid"
chmod 755 "$S/handlers/ppid"
ini() {	# ini SPOOL CAPTURE [AUTH-LINE]
	cat <<EOF
[hookpipe]
spool_dir = $1
handlers_dir = handlers
max_body = 1100K
require_https = no
[auth]
token_file = token
${3:-}
[delivery]
runner = $BUILD/hookpipe-run
[env]
CAPTURE = $2
[event ppid]
handler = ppid
mode = sync
EOF
}
ini spool "$S/capture" > "$S/hookpipe.ini"
ini auth-spool "$S/capture" 'header = authorization' > "$S/auth.ini"
ini htaccess-spool "$S/capture2" > "$S/htaccess.ini"
GHTOKEN=cgi-gh-token-0123456789abcdef
endpoint_setup "$S/handlers" gh "$S/token-gh" "$GHTOKEN" > "$T/gh.ini"
cat "$T/gh.ini" >> "$S/hookpipe.ini"
cat "$T/gh.ini" >> "$S/htaccess.ini"
install -m 755 "$BUILD/hookpipe.fcgi" "$T/lib/hookpipe.cgi"

# The shared-hosting flavour: a second docroot with hookpipe.cgi and
# conf/htaccess-cgi; below it, the FastCGI .htaccess on this host that
# has no mod_fcgid.
WWW2=$T/apache/www2
mkdir -p "$WWW2/nofcgid"
install -m 755 "$BUILD/hookpipe.fcgi" "$WWW2/hookpipe.cgi"
install -m 755 "$BUILD/hookpipe.fcgi" "$WWW2/nofcgid/hookpipe.fcgi"
sed "s|/home/USER/hookpipe/etc/hookpipe.ini|$S/htaccess.ini|" \
    "$SRC/conf/htaccess-cgi" > "$WWW2/.htaccess"
sed "s|/home/USER/hookpipe/etc/hookpipe.ini|$S/htaccess.ini|" \
    "$SRC/conf/htaccess" > "$WWW2/nofcgid/.htaccess"
apache_share
apache_own "$S" "$WWW2"

PORT=$(free_port)
PORT2=$(free_port)
while [ "$PORT2" = "$PORT" ]; do PORT2=$(free_port); done
sed -e "s|/usr/local/lib/hookpipe/hookpipe.cgi|$T/lib/hookpipe.cgi|" \
    -e "s|/etc/hookpipe/hookpipe.ini|$S/hookpipe.ini|" \
    "$SRC/conf/apache-cgi.conf" > "$T/hookpipe-cgi.conf"
grep -q "^ScriptAlias /hooks $T/lib/hookpipe.cgi\$" "$T/hookpipe-cgi.conf" &&
    grep -q "SetEnv HOOKPIPE_CONFIG $S/hookpipe.ini\$" "$T/hookpipe-cgi.conf"
ok $? "conf/apache-cgi.conf names the program and the config where the test put them"
sed -e 's|/hooks|/auth|g' -e "s|$S/hookpipe.ini|$S/auth.ini|" \
    "$T/hookpipe-cgi.conf" > "$T/auth-cgi.conf"
sed -e 's|Alias /auth |Alias /passauth |' -e 's|<Location /auth>|<Location /passauth>|' \
    -e 's|#CGIPassAuth On|CGIPassAuth On|' \
    "$T/auth-cgi.conf" > "$T/passauth-cgi.conf"
CONF=$T/httpd.conf
apache_conf "$CONF" "$PORT" cgid rewrite
cat >> "$CONF" <<EOF
Listen 127.0.0.1:$PORT2
ScriptSock "$T/apache/run/cgid.sock"
# The sanitizer settings of the test reach every CGI run.
PassEnv ASAN_OPTIONS UBSAN_OPTIONS
<VirtualHost 127.0.0.1:$PORT>
	Include "$T/hookpipe-cgi.conf"
	Include "$T/auth-cgi.conf"
	Include "$T/passauth-cgi.conf"
</VirtualHost>
<VirtualHost 127.0.0.1:$PORT2>
	DocumentRoot "$WWW2"
	<Directory "$WWW2">
		AllowOverride FileInfo Options=ExecCGI
		Require all granted
	</Directory>
</VirtualHost>
EOF
start_apache "$CONF" "$PORT" && wait_port "$PORT2"
ok $? "apache2 started" || { echo "Bail out! apache2 did not start"; exit 1; }

URL=http://127.0.0.1:$PORT
URL2=http://127.0.0.1:$PORT2
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")

# --- the core request set, twice ----------------------------------------
core_requests "$URL/hooks" "$TOKEN" "$S/spool" "$S/capture" "ScriptAlias"
endpoint_requests "$URL/hooks" gh "$GHTOKEN" "$TOKEN" "$S/spool" "$S/capture" "ScriptAlias"
like "$(cat "$S/capture/runs.log")" " $AP_USER\$" \
    "the handler ran as Apache's user ($AP_USER)"
core_requests "$URL2/hooks" "$TOKEN" "$S/htaccess-spool" "$S/capture2" ".htaccess"
endpoint_requests "$URL2/hooks" gh "$GHTOKEN" "$TOKEN" "$S/htaccess-spool" "$S/capture2" ".htaccess"
post "$URL2/hooks/booking/updated" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"sub-path"}'
is "$STATUS:$(json_get reason)" "404:no such endpoint" \
    ".htaccess: /hooks/booking/updated reaches hookpipe, which knows no such endpoint"
post "$URL2/hookpipe.cgi" "${J[@]}" "${A[@]}" --data-binary '{}'
is "$STATUS" 403 ".htaccess: the program's own file name is refused"

# --- one process per request --------------------------------------------
for n in 1 2; do
	post "$URL/hooks" "${J[@]}" "${A[@]}" --data-binary "{\"event\":\"ppid\",\"id\":\"ppid-$n\"}"
	is "$STATUS" 200 "sync request $n answered"
done
pids=$(sort -u "$S/capture/ppid.log" 2>/dev/null | wc -l)
is "$pids" 2 "two requests, two hookpipe.cgi processes"
for p in $(cat "$S/capture/ppid.log" 2>/dev/null); do
	[ -e "/proc/$p" ] && [ "$(readlink "/proc/$p/exe")" = "$T/lib/hookpipe.cgi" ] &&
	    { fail "hookpipe.cgi $p is still running after its request"; continue; }
	pass "hookpipe.cgi $p exited after its request"
done

# --- Apache's header rules ----------------------------------------------
post "$URL/hooks" "${J[@]}" -H "X_Auth_Token: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"underscore"}'
is "$STATUS" 401 "X_Auth_Token (underscores) does not reach hookpipe as the token"
post "$URL/auth" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-hidden"}'
is "$STATUS" 401 "Authorization is hidden from hookpipe without CGIPassAuth"
like "$(cat "$S/auth-spool/delivery.log" 2>/dev/null)" '"status":401' \
    "that 401 came from the endpoint with header = authorization"
post "$URL/passauth" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-passed"}'
is "$STATUS" 200 "Authorization reaches hookpipe with CGIPassAuth On"

# --- the FastCGI .htaccess on a host without mod_fcgid --------------------
post "$URL2/nofcgid/hooks" "${J[@]}" "${A[@]}" --data-binary '{"event":"x","id":"nofcgid"}'
is "$STATUS" 503 "conf/htaccess without mod_fcgid: 503, so the sender retries"
unlike "$(head -c 4 "$T/resp.body" | od -An -c)" 'E +L +F' \
    "and not the program file sent with a 200"

stop_apache
finish
