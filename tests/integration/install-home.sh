#!/usr/bin/env bash
# install-home.sh: scripts/install-home run by an unprivileged site owner
# from a release copy of the source (make distdir) into a folder of its
# HOME: programs, man pages, examples, a private config and token, the
# check; a second run keeps config, token and spool; the installed
# responder, copied into a docroot, serves a real event under lighttpd
# (running as that user) and the installed example handler gets it.
# shellcheck disable=SC2034 # BODY and STATUS are read by lib.sh helpers
. "$(dirname "$0")/lib.sh"

if [ -n "${HOOKPIPE_SAN_CFLAGS:-}" ]; then
	# install-home builds its own copy without sanitizers: nothing to add.
	echo "1..0 # SKIP the sanitizer build does not build the packaging twice"
	exit 0
fi
# The scripts run their own make: not a sub-make of the one running us.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

H=$T/home
P=$H/hookpipe
mkdir -p "$H/tmp" "$H/public_html/hooks"
if ! make -s -C "$BUILD" distdir distdir="$H/src" > "$T/distdir.out" 2>&1; then
	cat "$T/distdir.out" >&2
	echo "Bail out! make distdir failed in $BUILD"
	exit 1
fi

# The site owner: nobody when we are root (the folders above it stay
# traversable only), else ourselves.
AS=()
if [ "$(id -u)" = 0 ]; then
	chmod 711 "$T"
	chown -R nobody:nogroup "$H"
	AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
owner() {	# owner COMMAND...: as the site owner, with its HOME
	"${AS[@]}" env -i HOME="$H" TMPDIR="$H/tmp" LANG=C.UTF-8 \
	    PATH=/usr/local/bin:/usr/bin:/bin "$@"
}
owner_uid=$(owner id -u)
has_line() {	# has_line TEXT LINE DESCRIPTION: LINE is one whole line of TEXT
	if printf '%s\n' "$1" | grep -qxF -- "$2"; then
		pass "$3"
	else
		fail "$3" "no line: $2"
	fi
}

owner "$H/src/scripts/install-home" > "$T/install1.out" 2>&1
rc=$?
is "$rc" 0 "install-home exits 0 (as uid $owner_uid, default prefix \$HOME/hookpipe)"
out=$(cat "$T/install1.out")
if [ "$rc" != 0 ]; then
	diag "$(tail -n 30 "$T/install1.out")"
fi
like "$out" 'configuration OK' "install-home ends with hookpipe check: configuration OK"

for p in hookpipe.fcgi hookpipe-run hookpipe; do
	[ -x "$P/bin/$p" ]
	ok $? "installed $P/bin/$p"
done
for m in man1/hookpipe.1 man5/hookpipe.ini.5 man5/hookpipe-spool.5 \
    man7/hookpipe-handler.7 man8/hookpipe-run.8 man8/hookpipe.fcgi.8; do
	cmp -s "$H/src/man/${m#*/}" "$P/share/man/$m"
	ok $? "man page installed: share/man/$m"
done
E=$P/share/doc/hookpipe/examples
for f in conf/hookpipe.ini conf/lighttpd.conf conf/hookpipe-run.cron \
    conf/hookpipe-run.service handlers/booking.updated handlers/payment.processed; do
	[ -s "$E/$f" ]
	ok $? "example installed: share/doc/hookpipe/examples/$f"
done

is "$(stat -c '%a %u' "$P/etc/hookpipe.ini")" "600 $owner_uid" "etc/hookpipe.ini: mode 600, owned by the site owner"
is "$(stat -c '%a %u' "$P/etc/token")" "600 $owner_uid" "etc/token: mode 600, owned by the site owner"
is "$(stat -c '%a' "$P/etc")" 700 "etc/ is private"
is "$(stat -c '%a' "$P/var/spool")" 700 "var/spool exists and is private"
token=$(cat "$P/etc/token")
like "$token" '^[0-9a-f]{48}$' "the token is 48 random hex digits"
ini=$(cat "$P/etc/hookpipe.ini")
has_line "$ini" "spool_dir = $P/var/spool" "ini: spool_dir under var/"
has_line "$ini" "handlers_dir = $P/handlers" "ini: handlers_dir"
has_line "$ini" "log_file = $P/var/log/delivery.log" "ini: log_file under var/log"
has_line "$ini" "token_file = $P/etc/token" "ini: token_file"
has_line "$ini" "runner = $P/bin/hookpipe-run" "ini: runner"
for h in booking.updated payment.processed php/booking.updated.php; do
	[ -x "$P/handlers/$h" ]
	ok $? "example handler $h copied, executable"
done
[ ! -e "$P/handlers/README.md" ]
ok $? "no README.md among the handlers"
has_line "$out" "     * * * * * $P/bin/hookpipe-run -q -c $P/etc/hookpipe.ini" \
    "prints the crontab line for hookpipe-run"
has_line "$out" "     17 6 * * * $P/bin/hookpipe -c $P/etc/hookpipe.ini check >/dev/null" \
    "prints the daily check crontab line"
like "$out" "$E/conf/htaccess" "names the example .htaccess"

# The build tree also installs under DESTDIR (the man pages included).
hbuild=$H/src/build-home
owner make -s -C "$hbuild" install DESTDIR="$H/dest" > "$T/destdir.out" 2>&1
ok $? "make install DESTDIR=... in the build tree"
n=$(find "$H/dest$P/share/man" -type f | wc -l)
want=$(find "$SRC/man" -name 'hookpipe*.[1-8]' | wc -l)
is "$n" "$want" "DESTDIR install has the $want man pages of man/"

# --- the installed responder behind lighttpd, as the site owner ----------
make_tls || { echo "Bail out! openssl could not make a certificate"; exit 1; }
chmod 644 "$T/tls.pem"
owner cp "$P/bin/hookpipe.fcgi" "$H/public_html/hooks/hookpipe.fcgi"
TLSPORT=$(free_port)
{
	echo "server.document-root = \"$H/public_html\""
	echo "server.bind = \"127.0.0.1\""
	echo "server.port = $TLSPORT"
	echo "server.errorlog = \"$H/tmp/lighttpd.error.log\""
	if [ "$(id -u)" = 0 ]; then
		echo 'server.username = "nobody"'
		echo 'server.groupname = "nogroup"'
	fi
	echo 'server.modules = ( "mod_openssl", "mod_fastcgi" )'
	echo 'ssl.engine = "enable"'
	echo "ssl.pemfile = \"$T/tls.pem\""
	echo 'fastcgi.server = ( "/hooks/" => (( '
	echo "  \"socket\" => \"$H/tmp/hookpipe.sock\","
	echo "  \"bin-path\" => \"$H/public_html/hooks/hookpipe.fcgi\","
	echo "  \"bin-environment\" => ( \"HOOKPIPE_CONFIG\" => \"$P/etc/hookpipe.ini\" ),"
	echo '  "check-local" => "disable", "max-procs" => 1 )) )'
} > "$T/lighttpd.conf"
start_lighttpd "$T/lighttpd.conf" "$TLSPORT" ||
    { echo "Bail out! lighttpd did not start"; exit 1; }

B=$SAMPLES/booking.updated.json
post "https://127.0.0.1:$TLSPORT/hooks/" -H 'Content-Type: application/json' \
    -H "x-auth-token: $token" --data-binary "@$B"
is "$STATUS" 200 "installed hookpipe.fcgi accepts the sample event (200)"
is "$(json_get status)" accepted "answer says accepted"
# The installed example handler logs the byte count and sha256 of what
# it read on stdin.
wait_file "$P/var/log/events.log" 15
spool_settled "$P/var/spool"	# the line written, the entry in done/
line=$(cat "$P/var/log/events.log" 2>/dev/null)
like "$line" "booking.updated id=evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B bytes=$(wc -c < "$B") sha256=$(sha256sum < "$B" | cut -d' ' -f1)" \
    "the installed example handler got the exact payload"
[ "$(find "$P/var/spool/done" -type f | wc -l)" -ge 1 ]
ok $? "the event is in spool/done"
post "https://127.0.0.1:$TLSPORT/hooks/" -H 'Content-Type: application/json' \
    -H "x-auth-token: wrong-$token" --data-binary "@$B"
is "$STATUS" 401 "a wrong token is refused (401)"
stop_servers
if [ -n "$(find "$P/var" "$P/etc" ! -uid "$owner_uid")" ]; then
	fail "everything under var/ and etc/ belongs to the site owner" \
	    "$(find "$P/var" "$P/etc" ! -uid "$owner_uid")"
else
	pass "everything under var/ and etc/ belongs to the site owner"
fi

# --- a second run upgrades and keeps what is there ----------------------
printf '; edited by the site owner\n' >> "$P/etc/hookpipe.ini"
cp -p "$P/etc/hookpipe.ini" "$T/ini.before"
done_before=$(find "$P/var/spool" -type f | sort)
owner "$H/src/scripts/install-home" > "$T/install2.out" 2>&1
rc=$?
is "$rc" 0 "a second install-home run exits 0"
[ "$rc" != 0 ] && diag "$(tail -n 30 "$T/install2.out")"
is "$(cat "$P/etc/token")" "$token" "the second run keeps the token"
cmp -s "$T/ini.before" "$P/etc/hookpipe.ini"
ok $? "the second run keeps the edited hookpipe.ini"
is "$(find "$P/var/spool" -type f | sort)" "$done_before" "the second run keeps the spool"
like "$(cat "$T/install2.out")" "keeping $P/etc/token" "it says it keeps the token"
like "$(cat "$T/install2.out")" 'configuration OK' "the check passes after the second run"

finish
