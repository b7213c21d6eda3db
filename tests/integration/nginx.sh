#!/usr/bin/env bash
# nginx.sh: hookpipe.fcgi on a unix socket (spawn-fcgi) behind a real
# nginx with fastcgi_pass, configured by the shipped conf/nginx.conf
# (paths replaced): the core request set, the socket's mode, and nginx's
# header rules (underscores dropped, Authorization passed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/requests.sh"
: "${NGINX:=$(command -v nginx || echo /usr/sbin/nginx)}"
[ -x "$NGINX" ] ||
    { echo "1..0 # SKIP nginx is not installed (apt-get install nginx-light)"; exit 0; }
SPAWN_FCGI=$(command -v spawn-fcgi) ||
    { echo "1..0 # SKIP spawn-fcgi is not installed"; exit 0; }

TOKEN=nginx-token-0123456789abcdef
S=$T/site
mkdir -p "$T/run" "$T/nginx"
GHTOKEN=nginx-gh-token-0123456789abcdef
socket_site "$S" "$TOKEN" "$GHTOKEN"

# As root: nginx's workers run as www-data, hookpipe as nobody; only
# the socket's group (www-data) joins them.
WEB_USER=$(id -un)
WEB_GROUP=$(id -gn)
HP_USER=$WEB_USER
if [ "$(id -u)" = 0 ]; then
	WEB_USER=www-data
	id -u "$WEB_USER" >/dev/null 2>&1 || WEB_USER=nobody
	WEB_GROUP=$(id -gn "$WEB_USER")
	HP_USER=nobody
	chown -R "$HP_USER:$(id -gn nobody)" "$S"
	chmod 1777 "$T"	# the sanitizer reports of every user land in $T/san.*
	chmod 755 "$T/run"
fi
spawn() {	# spawn NAME: hookpipe.fcgi for $S/NAME.ini on $T/run/NAME.sock
	local sock=$T/run/$1.sock
	local own=()
	[ "$(id -u)" = 0 ] && own=(-U "$HP_USER" -G "$WEB_GROUP" -u "$HP_USER" -g "$(id -gn "$HP_USER")")
	HOOKPIPE_CONFIG=$S/$1.ini "$SPAWN_FCGI" -n -s "$sock" -M 0660 \
	    "${own[@]}" -- "$BUILD/hookpipe.fcgi" > "$T/spawn-$1.out" 2>&1 &
	STARTED_PIDS+=("$!")
	SERVER_PIDS+=("$!")
	wait_file "$sock" 10
}
spawn hookpipe
spawn auth
is "$(stat -c '%a %G' "$T/run/hookpipe.sock")" "660 $WEB_GROUP" \
    "the socket is mode 0660 for nginx's group"

PORT=$(free_port)
params=/etc/nginx/fastcgi_params
[ -f "$params" ] || params=$(dirname "$NGINX")/../share/nginx/fastcgi_params
sed -e "s|unix:/run/hookpipe/fcgi.sock|unix:$T/run/hookpipe.sock|" \
    -e "s|include fastcgi_params;|include $params;|" \
    "$SRC/conf/nginx.conf" > "$T/hookpipe-nginx.conf"
grep -q "fastcgi_pass unix:$T/run/hookpipe.sock;" "$T/hookpipe-nginx.conf"
ok $? "conf/nginx.conf names the socket where the test put it"
sed -e "s|$T/run/hookpipe.sock|$T/run/auth.sock|" -e 's|/hooks|/auth|g' \
    "$T/hookpipe-nginx.conf" > "$T/auth-nginx.conf"
{
	echo "daemon off;"
	echo "pid $T/nginx/nginx.pid;"
	echo "error_log $T/nginx/error.log warn;"
	[ "$(id -u)" = 0 ] && echo "user $WEB_USER $WEB_GROUP;"
	echo "events { worker_connections 64; }"
	echo "http {"
	echo "  access_log $T/nginx/access.log;"
	for p in client_body fastcgi proxy scgi uwsgi; do
		echo "  ${p}_temp_path $T/nginx/$p;"
	done
	echo "  server {"
	echo "    listen 127.0.0.1:$PORT;"
	echo "    include $T/hookpipe-nginx.conf;"
	echo "    include $T/auth-nginx.conf;"
	echo "  }"
	echo "}"
} > "$T/nginx.conf"
"$NGINX" -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx.conf" 2>>"$T/nginx/stderr" &
STARTED_PIDS+=("$!")
SERVER_PIDS+=("$!")
if ! wait_port "$PORT"; then
	cat "$T/nginx/error.log" "$T/nginx/stderr" >&2
	echo "Bail out! nginx did not start"
	exit 1
fi

URL=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")
core_requests "$URL/hooks" "$TOKEN" "$S/hookpipe-spool" "$S/capture"
like "$(cat "$S/capture/runs.log")" " $HP_USER\$" \
    "the handler ran as hookpipe's user ($HP_USER)"
endpoint_requests "$URL/hooks" gh "$GHTOKEN" "$TOKEN" "$S/hookpipe-spool" "$S/capture"
post "$URL/hooks/booking/updated" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"sub-path"}'
is "$STATUS:$(json_get reason)" "404:no such endpoint" \
    "/hooks/booking/updated reaches hookpipe, which knows no such endpoint"
post "$URL/hooksx" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"hooksx"}'
is "$STATUS:$(json_get status)" "404:" "/hooksx is not /hooks (nginx's own 404)"
head -c 2200000 /dev/zero | tr '\0' ' ' > "$T/huge"
post "$URL/hooks" "${J[@]}" "${A[@]}" --data-binary "@$T/huge"
is "$STATUS" 413 "a body over client_max_body_size: 413"
unlike "$BODY" '"status"' "that 413 is nginx's page (hookpipe never saw the body)"

# --- nginx's header rules -----------------------------------------------
post "$URL/hooks" "${J[@]}" -H "X_Auth_Token: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"underscore"}'
is "$STATUS" 401 "X_Auth_Token (underscores) does not reach hookpipe as the token"
post "$URL/auth" "${J[@]}" -H "Authorization: $TOKEN" \
    --data-binary '{"event":"booking.updated","id":"auth-passed"}'
is "$STATUS" 200 "Authorization reaches hookpipe (nginx passes it, unlike Apache)"

finish
