#!/usr/bin/env bash
# apache-suexec.sh: hookpipe under a real Apache 2.4 with suEXEC
# (apache2-suexec-pristine) and mod_fcgid: the responder and its
# handlers run as the site owner, not as www-data. suexec's rules are
# compiled in (suexec -V): the program under /var/www (or ~/public_html),
# owned by the target user, not writable by group or others, the target
# uid/gid >= 100, and only Apache's user (www-data) may run suexec.
#
# Needs root: it uses the fixed account "hookpipe-test" (created once,
# idempotently, with useradd --system; never removed: delete it with
# "userdel hookpipe-test") and a folder /var/www/hookpipe-test.XXXXXX
# that it removes at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apache-lib.sh"
. "$(dirname "$0")/requests.sh"
apache_require fcgid suexec rewrite
SUEXEC=/usr/lib/apache2/suexec
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP suexec needs Apache started as root (run the tests as root)"
	exit 0
fi
if [ ! -u "$SUEXEC" ] || [ "$(stat -L -c %U "$SUEXEC")" != root ]; then
	echo "1..0 # SKIP $SUEXEC is not a setuid-root program (apt-get install apache2-suexec-pristine)"
	exit 0
fi
SX=$("$SUEXEC" -V 2>&1)
docroot=$(printf '%s\n' "$SX" | sed -n 's/.*AP_DOC_ROOT="\(.*\)"/\1/p')
httpd_user=$(printf '%s\n' "$SX" | sed -n 's/.*AP_HTTPD_USER="\(.*\)"/\1/p')
uid_min=$(printf '%s\n' "$SX" | sed -n 's/.*AP_UID_MIN=\([0-9]*\).*/\1/p')
if [ "$httpd_user" != "$AP_USER" ] || [ ! -d "$docroot" ]; then
	echo "1..0 # SKIP suexec is built for user '$httpd_user' and docroot '$docroot'; this test runs Apache as $AP_USER"
	exit 0
fi

OWNER=hookpipe-test
if ! id -u "$OWNER" >/dev/null 2>&1; then
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin --comment "hookpipe test site owner" "$OWNER" ||
	    { echo "Bail out! useradd $OWNER failed"; exit 1; }
fi
OWNER_GROUP=$(id -gn "$OWNER")
is "$(( $(id -u "$OWNER") >= uid_min && $(id -g "$OWNER") >= uid_min ))" 1 \
    "$OWNER's uid and gid are at least suexec's minimum ($uid_min)"

# The site owner's docroot under suexec's AP_DOC_ROOT.
VW=$(mktemp -d "$docroot/hookpipe-test.XXXXXX")
trap 'cleanup; rm -rf "$VW"' EXIT
TOKEN=suexec-token-0123456789abcdef
S=$T/site
mkdir -p "$S/handlers" "$S/capture"
printf '%s\n' "$TOKEN" > "$S/token"
chmod 600 "$S/token"
core_handler "$S/handlers/booking.updated"
cat > "$S/hookpipe.ini" <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = handlers
max_body = 1100K
require_https = no
[auth]
token_file = token
[delivery]
runner = $BUILD/hookpipe-run
[env]
CAPTURE = $S/capture
EOF
GHTOKEN=suexec-gh-token-0123456789abcdef
endpoint_setup "$S/handlers" gh "$S/token-gh" "$GHTOKEN" >> "$S/hookpipe.ini"
install -m 755 "$BUILD/hookpipe.fcgi" "$VW/hookpipe.fcgi"
# suexec cleans the environment (FcgidInitialEnv does not get through),
# but SetEnv travels with each FastCGI request: the .htaccess recipe
# works unchanged.
sed "s|/home/USER/hookpipe/etc/hookpipe.ini|$S/hookpipe.ini|" \
    "$SRC/conf/htaccess" > "$VW/.htaccess"
mkdir -p "$VW/groupw" "$VW/symlink"
install -m 775 "$BUILD/hookpipe.fcgi" "$VW/groupw/hookpipe.fcgi"
cp "$VW/.htaccess" "$VW/groupw/.htaccess"
cp "$VW/.htaccess" "$VW/symlink/.htaccess"
ln -s "$VW/hookpipe.fcgi" "$VW/symlink/hookpipe.fcgi"
chown -R -h "$OWNER:$OWNER_GROUP" "$S" "$VW"
chmod 755 "$VW" "$VW/groupw" "$VW/symlink"
apache_share

PORT=$(free_port)
CONF=$T/httpd.conf
apache_conf "$CONF" "$PORT" fcgid suexec rewrite
cat >> "$CONF" <<EOF
FcgidIPCDir "$T/apache/run/fcgid"
FcgidProcessTableFile "$T/apache/run/fcgid_shm"
FcgidMaxRequestLen 2097152
<VirtualHost 127.0.0.1:$PORT>
	DocumentRoot "$VW"
	SuexecUserGroup $OWNER $OWNER_GROUP
	<Directory "$VW">
		AllowOverride FileInfo Options=ExecCGI
		Require all granted
	</Directory>
</VirtualHost>
EOF
start_apache "$CONF" "$PORT" ||
    { echo "Bail out! apache2 did not start"; exit 1; }
like "$(apache_log_when 'suEXEC mechanism enabled')" 'suEXEC mechanism enabled' "Apache found suexec and enabled it"

URL=http://127.0.0.1:$PORT
core_requests "$URL/hooks" "$TOKEN" "$S/spool" "$S/capture"
endpoint_requests "$URL/hooks" gh "$GHTOKEN" "$TOKEN" "$S/spool" "$S/capture"
like "$(cat "$S/capture/runs.log" 2>/dev/null)" " $OWNER\$" \
    "the handler ran as the site owner ($OWNER), not $AP_USER"
is "$(stat -c %U "$(find "$S/spool/done" "$S/spool/new" "$S/spool/cur" -type f | head -n1)")" \
    "$OWNER" "the spool entry belongs to the site owner"
users=$(ps -eo uid=,args= | awk -v p="$VW/hookpipe.fcgi" '$2 == p || $2 == "hookpipe.fcgi" { print $1 }' | sort -u)
is "$users" "$(id -u "$OWNER")" "hookpipe.fcgi runs as $OWNER, and as no one else"

# suexec refuses a group-writable program; the sender sees a 500.
post "$URL/groupw/hooks" -H 'Content-Type: application/json' \
    -H "x-auth-token: $TOKEN" --data-binary '{"event":"x","id":"groupw"}'
is "$STATUS" 500 "a group-writable hookpipe.fcgi is refused by suexec: 500"
suexec_log=$(cat /var/log/apache2/suexec.log 2>/dev/null)
if [ -n "$suexec_log" ]; then
	like "$suexec_log" "writable by others: \\($VW/groupw/hookpipe.fcgi\\)|file is writable by (group|others).*$VW/groupw" \
	    "suexec.log says why (the file is writable by others)"
else
	skip "suexec.log says why" "no /var/log/apache2/suexec.log"
fi

post "$URL/symlink/hooks" -H 'Content-Type: application/json' \
    -H "x-auth-token: $TOKEN" --data-binary '{"event":"x","id":"symlink"}'
is "$STATUS" 500 "a symlink to hookpipe.fcgi, even the owner's, is refused by suexec: 500"

stop_apache
# suexec drops ASAN_OPTIONS: sanitizer reports would be in the error log.
unlike "$(apache_log)" 'AddressSanitizer|LeakSanitizer|runtime error:' \
    "no sanitizer report in the error log"
finish
