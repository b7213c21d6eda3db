#!/usr/bin/env bash
# apache-proxy.sh: hookpipe.fcgi as its own FastCGI server on a unix
# socket (spawn-fcgi hands it the listening socket on standard input,
# as conf/hookpipe-fcgi.socket + .service do with StandardInput=socket)
# behind a real Apache 2.4 with mod_proxy_fcgi, configured by the
# shipped conf/apache-proxy-fcgi.conf: the core request set, the socket's
# owner and mode, Apache's header rules, and the systemd units verified.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"
. "$(dirname "$0")/requests.sh"
apache_require proxy proxy_fcgi
SPAWN_FCGI=$(command -v spawn-fcgi) ||
    { echo "1..0 # SKIP spawn-fcgi is not installed"; exit 0; }

TOKEN=proxy-token-0123456789abcdef
S=$T/site
mkdir -p "$T/run"
GHTOKEN=proxy-gh-token-0123456789abcdef
socket_site "$S" "$TOKEN" "$GHTOKEN"

# hookpipe runs as its own user, not Apache's: as root "nobody", whose
# group is not Apache's, so only the socket's group lets Apache in.
if [ "$(id -u)" = 0 ]; then
	HP_USER=nobody
	HP_GROUP=$(id -gn nobody)
	chown -R "$HP_USER:$HP_GROUP" "$S"
	# The sanitizer reports of both users land in $T/san.*.
	chmod 1777 "$T"
	chmod 755 "$T/run"
else
	HP_USER=$(id -un)
fi
spawn() {	# spawn NAME: hookpipe.fcgi for $S/NAME.ini on $T/run/NAME.sock
	local sock=$T/run/$1.sock pid
	local own=()
	[ "$(id -u)" = 0 ] && own=(-U "$HP_USER" -G "$AP_GROUP" -u "$HP_USER" -g "$HP_GROUP")
	HOOKPIPE_CONFIG=$S/$1.ini "$SPAWN_FCGI" -n -s "$sock" -M 0660 \
	    "${own[@]}" -- "$BUILD/hookpipe.fcgi" > "$T/spawn-$1.out" 2>&1 &
	pid=$!
	STARTED_PIDS+=("$pid")
	SERVER_PIDS+=("$pid")
	wait_file "$sock" 10
}
spawn hookpipe
spawn auth
is "$(stat -c '%a %U %G' "$T/run/hookpipe.sock")" "660 $HP_USER $AP_GROUP" \
    "the socket is mode 0660, owned by hookpipe's user and Apache's group"
is "$(ps -o user= -p "${SERVER_PIDS[0]}" | tr -d ' ')" "$HP_USER" \
    "hookpipe.fcgi runs as its own user ($HP_USER)"

PORT=$(free_port)
sed -e "s|unix:/run/hookpipe/fcgi.sock|unix:$T/run/hookpipe.sock|" \
    "$SRC/conf/apache-proxy-fcgi.conf" > "$T/hookpipe-proxy.conf"
grep -q "^ProxyPass /hooks \"unix:$T/run/hookpipe.sock|fcgi://hookpipe\"" \
    "$T/hookpipe-proxy.conf"
ok $? "conf/apache-proxy-fcgi.conf names the socket where the test put it"
# Two more mounts on the second socket, each with its own worker name.
sed -e "s|$T/run/hookpipe.sock|$T/run/auth.sock|" -e 's|/hooks|/auth|g' \
    -e 's|fcgi://hookpipe"|fcgi://auth"|' \
    "$T/hookpipe-proxy.conf" > "$T/auth-proxy.conf"
sed -e 's|/auth |/passauth |' -e 's|/auth>|/passauth>|' -e 's|"\^/auth(|"^/passauth(|' \
    -e 's|fcgi://auth"|fcgi://passauth"|' -e 's|#CGIPassAuth On|CGIPassAuth On|' \
    "$T/auth-proxy.conf" > "$T/authpass-proxy.conf"
CONF=$T/httpd.conf
apache_conf "$CONF" "$PORT" proxy proxy_fcgi setenvif
cat >> "$CONF" <<EOF
Include "$T/hookpipe-proxy.conf"
Include "$T/auth-proxy.conf"
Include "$T/authpass-proxy.conf"
EOF
start_apache "$CONF" "$PORT" ||
    { echo "Bail out! apache2 did not start"; exit 1; }

URL=http://127.0.0.1:$PORT
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")

# --- the core request set ---------------------------------------------
core_requests "$URL/hooks" "$TOKEN" "$S/hookpipe-spool" "$S/capture"
like "$(cat "$S/capture/runs.log")" " $HP_USER\$" \
    "the handler ran as hookpipe's user ($HP_USER), not Apache's"
endpoint_requests "$URL/hooks" gh "$GHTOKEN" "$TOKEN" "$S/hookpipe-spool" "$S/capture"
post "$URL/hooks/booking/updated" "${J[@]}" "${A[@]}" \
    --data-binary '{"event":"booking.updated","id":"sub-path"}'
is "$STATUS:$(json_get reason)" "404:no such endpoint" \
    "/hooks/booking/updated reaches hookpipe, which knows no such endpoint"
unlike "$(apache_log)" 'worker sharing' "each mount has its own proxy worker"

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

# --- the systemd units: valid, and they say what spawn-fcgi did ----------
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/units"
	for u in socket service; do
		sed -e "s|/usr/local/bin/hookpipe.fcgi|$BUILD/hookpipe.fcgi|" \
		    "$SRC/conf/hookpipe-fcgi.$u" > "$T/units/hookpipe-fcgi.$u"
	done
	out=$(cd "$T/units" && systemd-analyze verify ./hookpipe-fcgi.socket \
	    ./hookpipe-fcgi.service 2>&1)
	is "$?:$out" "0:" "systemd-analyze verify accepts the socket and service units"
else
	skip "systemd-analyze verify accepts the socket and service units" \
	    "systemd-analyze is not installed"
fi
like "$(cat "$SRC/conf/hookpipe-fcgi.socket")" 'SocketMode=0660' "the socket unit has mode 0660"
like "$(cat "$SRC/conf/hookpipe-fcgi.service")" 'StandardInput=socket' \
    "the service unit hands over the socket on standard input, like spawn-fcgi"

stop_apache
finish
