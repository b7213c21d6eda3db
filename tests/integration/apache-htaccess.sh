#!/usr/bin/env bash
# apache-htaccess.sh: the shared-hosting recipe on a real Apache 2.4:
# mod_fcgid, hookpipe.fcgi copied into the document root and the shipped
# conf/htaccess as the only configuration the site owner writes. Config,
# token, spool and handlers live outside the document root. Also what
# the owner sees when the host lacks AllowOverride or a large enough
# FcgidMaxRequestLen, and Apache's header rules (underscores,
# Authorization and CGIPassAuth).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"
. "$(dirname "$0")/requests.sh"
apache_require fcgid rewrite

TOKEN=htaccess-token-0123456789abcdef
HOME_DIR=$T/home/site	# the site owner's files, outside the docroot
WWW=$T/apache/www
mkdir -p "$HOME_DIR/etc" "$HOME_DIR/handlers" "$HOME_DIR/capture" "$WWW"
printf '%s\n' "$TOKEN" > "$HOME_DIR/etc/token"
chmod 600 "$HOME_DIR/etc/token"
core_handler "$HOME_DIR/handlers/booking.updated"
ini() {	# ini SPOOL [AUTH-LINE]
	cat <<EOF
[hookpipe]
spool_dir = ../$1
handlers_dir = ../handlers
max_body = 1100K
require_https = no
[auth]
token_file = token
${2:-}
[delivery]
runner = $BUILD/hookpipe-run
[env]
CAPTURE = $HOME_DIR/capture
EOF
}
ini spool > "$HOME_DIR/etc/hookpipe.ini"
GHTOKEN=htaccess-gh-token-0123456789abcdef
endpoint_setup "$HOME_DIR/handlers" gh "$HOME_DIR/etc/token-gh" "$GHTOKEN" \
    >> "$HOME_DIR/etc/hookpipe.ini"
ini auth-spool 'header = authorization' > "$HOME_DIR/etc/auth.ini"

# The document root: the binary and the shipped .htaccess, nothing else.
install -m 755 "$BUILD/hookpipe.fcgi" "$WWW/hookpipe.fcgi"
sed "s|/home/USER/hookpipe/etc/hookpipe.ini|$HOME_DIR/etc/hookpipe.ini|" \
    "$SRC/conf/htaccess" > "$WWW/.htaccess"
grep -q "^SetEnv HOOKPIPE_CONFIG $HOME_DIR/" "$WWW/.htaccess"
ok $? "conf/htaccess names HOOKPIPE_CONFIG where the test put it"
# Two sub-sites with header = authorization: with and without CGIPassAuth.
for d in pass nopass; do
	mkdir -p "$WWW/$d"
	install -m 755 "$BUILD/hookpipe.fcgi" "$WWW/$d/hookpipe.fcgi"
	sed -e "s|/home/USER/hookpipe/etc/hookpipe.ini|$HOME_DIR/etc/auth.ini|" \
	    "$SRC/conf/htaccess" > "$WWW/$d/.htaccess"
done
sed -i 's/^#CGIPassAuth On/CGIPassAuth On/' "$WWW/pass/.htaccess"
# CGIPassAuth where the host allows no AuthConfig.
mkdir -p "$WWW/noauthconfig"
install -m 755 "$BUILD/hookpipe.fcgi" "$WWW/noauthconfig/hookpipe.fcgi"
cp "$WWW/pass/.htaccess" "$WWW/noauthconfig/.htaccess"
# The same files where the host allows no .htaccess, and where it has
# not even mapped .fcgi to mod_fcgid.
for d in off bare; do
	mkdir -p "$T/apache/$d"
	cp -p "$WWW/hookpipe.fcgi" "$WWW/.htaccess" "$T/apache/$d/"
done
apache_share
apache_own "$T/home" "$WWW" "$T/apache/off" "$T/apache/bare"

PORT=$(free_port)
SMALL=$(free_port)	# a vhost with mod_fcgid's default request limit
while [ "$SMALL" = "$PORT" ]; do SMALL=$(free_port); done
CONF=$T/httpd.conf
apache_conf "$CONF" "$PORT" fcgid rewrite
cat >> "$CONF" <<EOF
Listen 127.0.0.1:$SMALL
# As Debian's fcgid.conf has it, server-wide.
AddHandler fcgid-script .fcgi
FcgidIPCDir "$T/apache/run/fcgid"
FcgidProcessTableFile "$T/apache/run/fcgid_shm"
FcgidInitialEnv ASAN_OPTIONS "$ASAN_OPTIONS"
FcgidInitialEnv UBSAN_OPTIONS "$UBSAN_OPTIONS"
FcgidMaxProcessesPerClass 2
# The host's side of the recipe: the minimal AllowOverride, and a
# request limit above max_body.
<Directory "$WWW">
	AllowOverride FileInfo Options=ExecCGI
	Require all granted
</Directory>
<Directory "$WWW/pass">
	AllowOverride FileInfo Options=ExecCGI AuthConfig
</Directory>
<VirtualHost 127.0.0.1:$PORT>
	FcgidMaxRequestLen 2097152
	Alias /off "$T/apache/off"
	Alias /bare "$T/apache/bare"
	<Directory "$T/apache/off">
		AllowOverride None
		Require all granted
	</Directory>
	<Directory "$T/apache/bare">
		AllowOverride None
		RemoveHandler .fcgi
		Require all granted
	</Directory>
</VirtualHost>
<VirtualHost 127.0.0.1:$SMALL>
</VirtualHost>
EOF
if ! start_apache "$CONF" "$PORT" || ! wait_port "$SMALL"; then
	echo "Bail out! apache2 did not start"
	exit 1
fi

URL=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")

# --- the core request set ---------------------------------------------
core_requests "$URL/hooks" "$TOKEN" "$HOME_DIR/spool" "$HOME_DIR/capture"
like "$(cat "$HOME_DIR/capture/runs.log")" " $AP_USER\$" \
    "the handler ran as Apache's user ($AP_USER)"

# --- the rewrite: /hooks/anything, and nothing else --------------------
endpoint_requests "$URL/hooks" gh "$GHTOKEN" "$TOKEN" "$HOME_DIR/spool" "$HOME_DIR/capture"
post "$URL/hooks/booking/updated" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"sub-path"}'
is "$STATUS:$(json_get reason)" "404:no such endpoint" \
    "/hooks/booking/updated reaches hookpipe (path info kept), which knows no such endpoint"
post "$URL/hookpipe.fcgi" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"by-file-name"}'
is "$STATUS" 403 "the program's own file name is refused (only /hooks)"
post "$URL/hooksx" "${J[@]}" "${A[@]}" --data-binary '{}'
is "$STATUS" 404 "/hooksx is not /hooks"
post "$URL/.htaccess"
is "$STATUS" 403 ".htaccess itself is not served"

# --- Apache's header rules ----------------------------------------------
post "$URL/hooks" "${J[@]}" -H "X_Auth_Token: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"underscore"}'
is "$STATUS" 401 "X_Auth_Token (underscores) does not reach hookpipe as the token"
post "$URL/nopass/hooks" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-hidden"}'
is "$STATUS" 401 "Authorization is hidden from hookpipe without CGIPassAuth"
like "$(cat "$HOME_DIR/auth-spool/delivery.log" 2>/dev/null)" '"status":401' \
    "that 401 came from the endpoint with header = authorization"
post "$URL/pass/hooks" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-passed"}'
is "$STATUS" 200 "Authorization reaches hookpipe with CGIPassAuth On in .htaccess"
post "$URL/noauthconfig/hooks" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-noconfig"}'
is "$STATUS" 500 "CGIPassAuth without AllowOverride AuthConfig: 500"
like "$(apache_log_when 'CGIPassAuth not allowed here')" 'CGIPassAuth not allowed here' "the error log says CGIPassAuth is not allowed"

# --- a host without AllowOverride: the .htaccess is ignored -------------
post "$URL/off/hooks" "${J[@]}" "${A[@]}" --data-binary '{"event":"x","id":"off-1"}'
is "$STATUS" 404 "AllowOverride None: /hooks is 404 (the .htaccess is ignored)"
post "$URL/off/hookpipe.fcgi" "${J[@]}" "${A[@]}" --data-binary '{"event":"x","id":"off-2"}'
is "$STATUS" 403 "AllowOverride None: the program is 403 (ExecCGI off)"
like "$(apache_log_when 'does not have ExecCGI enabled')" 'does not have ExecCGI enabled' \
    "the error log says ExecCGI is not enabled"
curl -s -o "$T/bare.out" "$URL/bare/hookpipe.fcgi"
cmp -s "$T/bare.out" "$BUILD/hookpipe.fcgi"
ok $? "without a .fcgi handler either, Apache serves the binary as a download"

# --- a host with mod_fcgid's default FcgidMaxRequestLen (128 KiB) -------
python3 - "$T/200k.json" <<'PY'
import json, sys
doc = {"event": "booking.updated", "id": "big-200k", "pad": "x" * 200000}
open(sys.argv[1], "w").write(json.dumps(doc))
PY
post "http://127.0.0.1:$SMALL/hooks" "${J[@]}" "${A[@]}" --data-binary "@$T/200k.json"
is "$STATUS" 500 "a 200 KB body over FcgidMaxRequestLen 128 KiB: Apache answers 500"
unlike "$BODY" '"status"' "the 500 is Apache's page, not hookpipe's answer"
like "$(apache_log_when 'exceeds MaxRequestLen \(131072\)')" 'exceeds MaxRequestLen \(131072\)' \
    "the error log names the request length limit"
post "$URL/hooks" "${J[@]}" "${A[@]}" --data-binary "@$T/200k.json"
is "$STATUS" 200 "the same body with FcgidMaxRequestLen 2 MiB: 200"
wait_file "$HOME_DIR/capture/big-200k.body" 10
cmp -s "$T/200k.json" "$HOME_DIR/capture/big-200k.body"
ok $? "the 200 KB body reached the handler byte for byte"

stop_apache
finish
