#!/usr/bin/env bash
# status.sh: the status page (/hooks/_status) under lighttpd: in a real
# browser (headless Chromium through selenium: log in, find the dead
# event, hostile text inert, replay until done, screenshots), then with
# curl: the cookie's attributes, the security headers, the raw body, the
# refused replays (no CSRF token, foreign origin, GET, no session) that
# change nothing, allow_from, wrong passwords rate limited; `hookpipe
# passwd`; and the shipped .htaccess recipe under Apache.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"

PY=/usr/bin/python3
TOKEN=status-token-0123456789abcdef
PASSWORD='correct horse battery staple'
SHOTS=$BUILD/tests/integration/status.out
mkdir -p "$T/etc" "$T/handlers" "$SHOTS"
printf '%s\n' "$TOKEN" > "$T/etc/token"
chmod 600 "$T/etc/token"

# --- hookpipe passwd ----------------------------------------------------
printf '%s\n' "$PASSWORD" | "$BUILD/hookpipe" passwd --stdin "$T/etc/status.pw" > "$T/passwd.out" 2>&1
ok $? "hookpipe passwd --stdin writes the password file"
is "$(stat -c %a "$T/etc/status.pw")" 600 "the password file is 0600"
HASH=$(cat "$T/etc/status.pw")
like "$HASH" '^\$y\$' "it holds a yescrypt hash"
is "$(HP_PW=$PASSWORD HP_HASH=$HASH $PY -W ignore -c 'import crypt, os
print(crypt.crypt(os.environ["HP_PW"], os.environ["HP_HASH"]) == os.environ["HP_HASH"])')" True \
    "crypt(3) (Python's crypt module) verifies the password against it"
"$BUILD/hookpipe" passwd --stdin "$T/etc/empty.pw" < /dev/null > /dev/null 2>&1
is "$?:$(test -e "$T/etc/empty.pw" && echo there)" "1:" "no password on stdin: exit 1, nothing written"

# A handler that fails for good until $T/fixed exists, saying so in HTML.
printf '#!/bin/sh\ncat > /dev/null\n[ -e "%s/fixed" ] && exit 0\necho "<b>db down</b>" >&2\nexit 100\n' \
    "$T" > "$T/handlers/order.paid"
chmod 755 "$T/handlers/order.paid"

ini() {	# ini [STATUS-LINES]
	printf '[hookpipe]\nspool_dir = %s/spool\nhandlers_dir = %s/handlers\n' "$T" "$T"
	printf 'require_https = no\n[auth]\ntoken_file = token\n'
	printf '[delivery]\nrunner = %s/hookpipe-run\nlinger = 0\n%s\n' "$BUILD" "${1:-}"
}
ini "[status]
password_file = status.pw
login_attempts = 5
allow_from = 127.0.0.0/8, ::1" > "$T/etc/hookpipe.ini"
ini "" > "$T/etc/off.ini"

PORT=$(free_port)
lighttpd_conf "$T/lighttpd.conf" "$PORT" "$T/etc/hookpipe.ini"
start_lighttpd "$T/lighttpd.conf" "$PORT" || { echo "Bail out! lighttpd did not start"; exit 1; }
URL=http://127.0.0.1:$PORT/hooks
BASE=$URL/_status
J=(-H 'Content-Type: application/json')
A=(-H "x-auth-token: $TOKEN")

# The dead event: its payload closes the <pre> and opens a script, its
# User-Agent (a header kept in the envelope) is an <img>.
printf '%s' '{"event":"order.paid","id":"dead-1","note":"</pre><script>alert(1)</script>"}' > "$T/dead1.json"
post "$URL" "${J[@]}" "${A[@]}" -A '<img src=x onerror=alert(3)>' --data-binary @"$T/dead1.json"
is "$STATUS" 200 "the first event is accepted"
spool_settled "$T/spool"
is "$(find "$T/spool/dead" -type f | wc -l)" 1 "its handler exited 100: it is dead"
DEAD1=$(ls "$T/spool/dead")
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"<b>x</b>","id":"html-name"}'
is "$STATUS" 422 "an event name with HTML is refused at the door (it never reaches the spool)"

# --- the browser ----------------------------------------------------------
BROWSER=yes
for f in /usr/bin/chromium /usr/bin/chromedriver; do
	[ -x "$f" ] || BROWSER="$f is missing (scripts/deps installs it)"
done
[ "$BROWSER" = yes ] && ! $PY -c 'import selenium' 2>/dev/null &&
    BROWSER="python3-selenium is missing (scripts/deps installs it)"
if [ "$BROWSER" = yes ]; then
	: > "$T/fixed"	# the replay will succeed
	mkdir -p "$T/chrome/profile"
	timeout 180 $PY "$SRC/tests/integration/status-browser.py" "$BASE" \
	    "$PASSWORD" "$SHOTS" "$T/chrome/profile" "$T/chrome/pids" "dead-1" \
	    > "$T/browser.out" 2> "$T/browser.err"
	rc=$?
	while IFS=$'\t' read -r verdict what detail; do
		case $verdict in
		ok) pass "browser: $what" ;;
		"not ok") fail "browser: $what" "$detail" ;;
		shot) diag "screenshot: $what" ;;
		esac
	done < "$T/browser.out"
	is "$rc" 0 "the browser script exited 0"
	[ "$rc" = 0 ] || diag "$(tail -n 20 "$T/browser.err")"
	# driver.quit() stops chromedriver and its browsers; any left is a
	# failure, stopped here by its pid.
	left=""
	for _ in $(seq 100); do
		left=""
		while read -r p; do
			[ -n "$p" ] && kill -0 "$p" 2>/dev/null && left="$left $p"
		done < "$T/chrome/pids"
		[ -z "$left" ] && break
		sleep 0.1
	done
	is "$left" "" "no chromium or chromedriver process of the test is left"
	for p in $left; do kill -KILL "$p" 2>/dev/null; done
	spool_settled "$T/spool"
	is "$(ls "$T/spool/done")" "$DEAD1" "the spool agrees: the replayed entry is in done/"
	rm -f "$T/fixed"
else
	skip "the status page in a browser" "$BROWSER"
fi

# --- curl: login, cookie, headers ----------------------------------------
JAR=$T/jar
post "$BASE/" -c "$JAR"
is "$STATUS" 401 "without a session: 401 and the login form"
like "$BODY" 'name="password"' "the login form asks for the password"
post "$BASE/login" -c "$JAR" -b "$JAR" --data-urlencode "password=$PASSWORD"
is "$STATUS" 303 "the right password: 303"
is "$(header Location)" "/hooks/_status/" "to the overview, under the mount"
COOKIE=$(header Set-Cookie)
like "$COOKIE" '^hookpipe_status=[0-9]+\.[0-9a-f]{32}\.[0-9a-f]{64}; Path=/hooks/_status; Max-Age=28800; HttpOnly; SameSite=Strict$' \
    "the session cookie: signed, Path the mount, 8 h, HttpOnly, SameSite=Strict, no Secure on HTTP"
is "$(stat -c %a "$T/spool/status.key")" 600 "the session key is in the spool, 0600"
post "$BASE/" -b "$JAR"
is "$STATUS" 200 "with the session: the overview"
is "$(header Content-Type)" "text/html; charset=utf-8" "as HTML"
is "$(header Content-Security-Policy)" "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" \
    "Content-Security-Policy: nothing but inline style, forms to itself, no frames"
is "$(header X-Content-Type-Options)" nosniff "X-Content-Type-Options: nosniff"
is "$(header Cache-Control)" no-store "Cache-Control: no-store"
is "$(header Referrer-Policy)" no-referrer "Referrer-Policy: no-referrer"
CVAL=$(awk '$6 == "hookpipe_status" { print $7 }' "$JAR")
KEY=$(cat "$T/spool/status.key")
like "$CVAL" '^[0-9]+\.' "the cookie jar holds the session"
case $BODY in
*"$CVAL"* | *"$KEY"* | *"$HASH"* | *"$TOKEN"*) fail "no cookie, key, hash or token in the page" ;;
*) pass "no cookie, key, hash or token in the page" ;;
esac
CSRF=$(printf '%s' "$BODY" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' | head -n 1)
like "$CSRF" '^[0-9a-f]{64}$' "the page carries the CSRF token"
case $CVAL in *0) BADC=${CVAL%?}1 ;; *) BADC=${CVAL%?}0 ;; esac
post "$BASE/" -b "hookpipe_status=$BADC"
is "$STATUS" 401 "a tampered cookie is no session"

# --- the raw body ---------------------------------------------------------
post "$BASE/raw?n=$DEAD1" -b "$JAR"
is "$STATUS" 200 "the raw body"
is "$(header Content-Type)" application/octet-stream "as application/octet-stream"
is "$(header Content-Disposition)" "attachment; filename=\"$DEAD1.body\"" "as an attachment"
is "$(header X-Content-Type-Options)" nosniff "not sniffed"
cmp -s "$T/resp.body" "$T/dead1.json"
ok $? "byte for byte the payload"
post "$BASE/raw?n=../status.key" -b "$JAR"
is "$STATUS" 404 "raw?n=../status.key: 404"

# --- refused replays change nothing --------------------------------------
post "$URL" "${J[@]}" "${A[@]}" --data-binary '{"event":"order.paid","id":"dead-2"}'
spool_settled "$T/spool"
DEAD2=$(find "$T/spool/dead" -type f ! -name "$DEAD1" -printf "%f\n")
is "$(printf '%s\n' "$DEAD2" | wc -l)" 1 "a second event is dead"
NDEAD=$(find "$T/spool/dead" -type f | wc -l)	# 2 when the browser did not replay the first
snap() { (cd "$T/spool" && find new cur retry "done" dead -type f | sort; cat "hist/$DEAD2") | md5sum; }
BEFORE=$(snap)
refused() {	# refused STATUS REASON DESCRIPTION [curl args]
	local st=$1 re=$2 what=$3
	shift 3
	post "$BASE/replay" "$@"
	is "$STATUS:$(json_get reason)" "$st:$re" "$what: $st, $re"
	is "$(snap)" "$BEFORE" "$what: the spool is unchanged"
}
refused 403 "CSRF token missing or wrong" "replay without the CSRF token" \
    -b "$JAR" --data "n=$DEAD2"
# The last digit changed for sure (replacing it by 0 kept a token that
# ended in 0 right: one run in 16 replayed).
case $CSRF in *0) BADCSRF=${CSRF%?}1 ;; *) BADCSRF=${CSRF%?}0 ;; esac
refused 403 "CSRF token missing or wrong" "replay with a wrong CSRF token" \
    -b "$JAR" --data "n=$DEAD2&csrf=$BADCSRF"
refused 403 "cross-origin request refused" "replay from a foreign Origin" \
    -b "$JAR" -H 'Origin: http://evil.example' --data "n=$DEAD2&csrf=$CSRF"
refused 403 "cross-origin request refused" "replay with Sec-Fetch-Site: cross-site" \
    -b "$JAR" -H 'Sec-Fetch-Site: cross-site' --data "n=$DEAD2&csrf=$CSRF"
refused 403 "not logged in" "replay without a session" --data "n=$DEAD2&csrf=$CSRF"
post "$BASE/replay?n=$DEAD2&csrf=$CSRF" -b "$JAR"
is "$STATUS:$(header Allow)" "405:POST" "replay by GET: 405, Allow: POST"
is "$(snap)" "$BEFORE" "replay by GET: the spool is unchanged"
# The same POST, right: it goes.
post "$BASE/replay" -b "$JAR" -H "Origin: http://127.0.0.1:$PORT" --data "event=order.paid&csrf=$CSRF"
is "$STATUS:$(header Location)" "303:/hooks/_status/?replayed=$NDEAD" "replay all dead order.paid with the token, same origin: 303, $NDEAD replayed"
spool_settled "$T/spool"
like "$(cat "$T/spool/hist/$DEAD2")" '"type":"replay".*"by":"status page \(127\.0\.0\.1\)"' \
    "the history says who replayed it"

# --- off, allow_from (CGI, no server needed) ------------------------------
cgi() {	# cgi INI REMOTE: GET /_status as plain CGI; the status line
	env -i HOOKPIPE_CONFIG="$1" REMOTE_ADDR="$2" REQUEST_METHOD=GET \
	    PATH_INFO=/_status SCRIPT_NAME=/hooks GATEWAY_INTERFACE=CGI/1.1 \
	    "$BUILD/hookpipe.fcgi" < /dev/null | head -n 1 | tr -d '\r'
}
is "$(cgi "$T/etc/off.ini" 127.0.0.1)" "Status: 404 Not Found" "without [status]: 404"
is "$(cgi "$T/etc/hookpipe.ini" 192.0.2.7)" "Status: 403 Forbidden" "an address outside allow_from: 403"

# --- wrong passwords, then 429 --------------------------------------------
st=""
for i in $(seq 7); do
	post "$BASE/login" --data "password=wrong-$i"
	st="$st $STATUS"
	[ "$STATUS" = 429 ] && break
done
like "$st" '^ 401( 401)* 429$' "wrong passwords: 401 each, then 429 (login_attempts = 5) ($st)"
like "$(header Retry-After)" '^[0-9]+$' "the 429 says when to come back"
post "$BASE/login" --data-urlencode "password=$PASSWORD"
is "$STATUS" 429 "the right password too is held off while limited"

stop_servers
stop_runners

# --- the .htaccess recipe under Apache --------------------------------------
if [ ! -x "$APACHE2" ] || [ ! -f "$APACHE_MODULES/mod_fcgid.so" ] ||
    [ ! -f "$APACHE_MODULES/mod_rewrite.so" ]; then
	skip "the status page through conf/htaccess" "apache2 with fcgid and rewrite is not installed"
	finish
fi
H=$T/home/site
WWW=$T/apache/www
mkdir -p "$H/etc" "$H/handlers" "$WWW"
cp "$T/etc/token" "$T/etc/status.pw" "$H/etc/"
cp "$T/handlers/order.paid" "$H/handlers/"
{
	printf '[hookpipe]\nspool_dir = ../spool\nhandlers_dir = ../handlers\n'
	printf 'require_https = no\n[auth]\ntoken_file = token\n'
	printf '[delivery]\nrunner = %s/hookpipe-run\nlinger = 0\n' "$BUILD"
	printf '[status]\npassword_file = status.pw\n'
} > "$H/etc/hookpipe.ini"
install -m 755 "$BUILD/hookpipe.fcgi" "$WWW/hookpipe.fcgi"
sed "s|/home/USER/hookpipe/etc/hookpipe.ini|$H/etc/hookpipe.ini|" \
    "$SRC/conf/htaccess" > "$WWW/.htaccess"
apache_share
apache_own "$T/home" "$WWW"
APORT=$(free_port)
apache_conf "$T/httpd.conf" "$APORT" fcgid rewrite
{
	echo "AddHandler fcgid-script .fcgi"
	echo "FcgidIPCDir \"$T/apache/run/fcgid\""
	echo "FcgidProcessTableFile \"$T/apache/run/fcgid_shm\""
	echo "FcgidMaxProcessesPerClass 2"
	echo "<Directory \"$WWW\">"
	echo "	AllowOverride FileInfo Options=ExecCGI"
	echo "	Require all granted"
	echo "</Directory>"
} >> "$T/httpd.conf"
start_apache "$T/httpd.conf" "$APORT" || { echo "Bail out! apache2 did not start"; exit 1; }
AURL=http://127.0.0.1:$APORT/hooks
post "$AURL" "${J[@]}" "${A[@]}" --data-binary '{"event":"order.paid","id":"apache-dead"}'
is "$STATUS" 200 "Apache: an event is accepted"
spool_settled "$H/spool"
AJAR=$T/ajar
post "$AURL/_status/" -c "$AJAR"
is "$STATUS" 401 "Apache: /hooks/_status without a session: the login form"
post "$AURL/_status/login" -c "$AJAR" -b "$AJAR" --data-urlencode "password=$PASSWORD"
is "$STATUS:$(header Location)" "303:/hooks/_status/" "Apache: log in (no CGIPassAuth: the cookie needs none)"
post "$AURL/_status/" -b "$AJAR"
is "$STATUS" 200 "Apache: the overview with the session"
like "$BODY" "apache-dead" "Apache: it lists the dead event"
like "$BODY" 'href="/hooks/_status/event\?n=' "Apache: links go under /hooks, not to hookpipe.fcgi"
ANAME=$(ls "$H/spool/dead")
post "$AURL/_status/event?n=$ANAME" -b "$AJAR"
is "$STATUS" 200 "Apache: the event page"
finish
