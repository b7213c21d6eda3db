#!/usr/bin/env bash
# bundle.sh: scripts/make-bundle makes the FTP-only tarball: its contents
# and modes, static programs (no ELF interpreter), and, unpacked into a
# fresh folder and set up as README-BUNDLE.txt says, the bundled
# responder serves events as plain CGI, and under lighttpd as FastCGI
# and as CGI; the bundled example handlers get the exact bytes.
# shellcheck disable=SC2034 # BODY and STATUS are read by lib.sh helpers
. "$(dirname "$0")/lib.sh"

if [ -n "${HOOKPIPE_SAN_CFLAGS:-}" ]; then
	# make-bundle builds its own static copy without sanitizers.
	echo "1..0 # SKIP the sanitizer build does not build the packaging twice"
	exit 0
fi
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

version=$("$BUILD/hookpipe" -V | sed 's/^hookpipe //')
name=hookpipe-$version-linux-$(uname -m)
mkdir -p "$T/tmp" "$T/out"
TMPDIR=$T/tmp "$SRC/scripts/make-bundle" "$T/out" > "$T/make-bundle.out" 2>&1
rc=$?
is "$rc" 0 "make-bundle exits 0"
[ "$rc" != 0 ] && diag "$(tail -n 30 "$T/make-bundle.out")"
tgz=$T/out/$name.tar.gz
[ -s "$tgz" ]
ok $? "make-bundle wrote $name.tar.gz"
diag "$(grep -h 'link warnings\|bytes)' "$T/make-bundle.out")"
is "$(ls -A "$T/tmp")" "" "make-bundle removed its work folder"

list=$(tar tzvf "$tgz" 2>&1)
files=$(tar tzf "$tgz" 2>&1)
want="README-BUNDLE.txt bin/hookpipe.fcgi bin/hookpipe-run bin/hookpipe
etc/hookpipe.ini var/spool/ var/log/ handlers/booking.updated
handlers/payment.processed handlers/php/booking.updated.php
conf/hookpipe.ini conf/hookpipe-run.cron conf/lighttpd.conf
man/hookpipe.1.txt man/hookpipe.ini.5.txt man/hookpipe-spool.5.txt
man/hookpipe-handler.7.txt
man/hookpipe-run.8.txt man/hookpipe.fcgi.8.txt"
[ -f "$SRC/conf/htaccess" ] && want="$want conf/htaccess"
for f in $want; do
	printf '%s\n' "$files" | grep -qx -- "$name/$f"
	ok $? "tarball has $name/$f"
done
unlike "$files" "^$name/etc/token" "tarball ships no token"
unlike "$files" "^[^h]|^hookpipe-[^/]*/.*/\.\.(/|$)" "every entry is under $name/"
for p in hookpipe.fcgi hookpipe-run hookpipe; do
	like "$list" "^-rwxr-xr-x [^ ]+ +[0-9]+ [^ ]+ [^ ]+ $name/bin/$p\$" "bin/$p is mode 755 in the tarball"
done
like "$list" "^-rw------- [^ ]+ +[0-9]+ [^ ]+ [^ ]+ $name/etc/hookpipe.ini\$" "etc/hookpipe.ini is mode 600"
like "$list" "^drwx------ [^ ]+ +[0-9]+ [^ ]+ [^ ]+ $name/var/spool/\$" "var/spool/ is mode 700"

# --- unpack, as README-BUNDLE.txt says ---------------------------------
mkdir "$T/home"
tar -C "$T/home" -xzf "$tgz" && mv "$T/home/$name" "$T/home/hookpipe"
ok $? "unpacks into a fresh folder"
D=$T/home/hookpipe
for p in hookpipe.fcgi hookpipe-run hookpipe; do
	interp=$(readelf -l "$D/bin/$p" 2>&1 | grep -c 'program interpreter')
	dyn=$(readelf -d "$D/bin/$p" 2>&1 | grep -c 'NEEDED')
	is "$interp $dyn" "0 0" "bin/$p: no ELF interpreter, no NEEDED libraries"
	if command -v file >/dev/null; then
		like "$(file -b "$D/bin/$p")" 'statically linked' "file(1) says bin/$p is statically linked"
	fi
done
is "$("$D/bin/hookpipe" -V)" "hookpipe $version" "bundled hookpipe -V runs"
"$D/bin/hookpipe" send http://127.0.0.1:1/ > "$T/send.out" 2>&1
is "$?" 1 "bundled hookpipe send fails (no libcurl in the static build)"
like "$(cat "$T/send.out")" 'curl' "and names curl instead"
readme=$(cat "$D/README-BUNDLE.txt")
like "$readme" "hookpipe $version" "README-BUNDLE.txt names the version"
like "$readme" '\* \* \* \* \* /home/YOU/hookpipe/bin/hookpipe-run -q -c /home/YOU/hookpipe/etc/hookpipe.ini' \
    "README-BUNDLE.txt has the hookpipe-run crontab line"
man=$(cat "$D/man/hookpipe-run.8.txt")
like "$man" '^HOOKPIPE-RUN\(8\)' "man page text starts with its title"
unlike "$man" $'\b' "man page text has no overstrike backspaces"

# Steps 2-4: a token, the responder copied into the docroot.
TOKEN=bundle-token-0123456789abcdef0123
printf '%s\n' "$TOKEN" > "$D/etc/token"
chmod 600 "$D/etc/token"
out=$("$D/bin/hookpipe" -c "$D/etc/hookpipe.ini" check 2>&1)
like "$out" 'configuration OK' "bundled config + a token: hookpipe check passes"
mkdir -p "$T/www/hooks" "$T/www/cgi"
cp "$D/bin/hookpipe.fcgi" "$T/www/hooks/hookpipe.fcgi"
cp "$D/bin/hookpipe.fcgi" "$T/www/cgi/hookpipe.fcgi"
INI=$D/etc/hookpipe.ini
EVLOG=$D/var/log/events.log

expect_run() {	# expect_run FILE ID DESCRIPTION: the example handler's line
	local line="" sum bytes
	bytes=$(wc -c < "$1")
	sum=$(sha256sum < "$1" | cut -d' ' -f1)
	for _ in $(seq 150); do
		line=$(grep -h " id=$2 " "$EVLOG" 2>/dev/null)
		[ -n "$line" ] && break
		sleep 0.1
	done
	like "$line" " id=$2 bytes=$bytes sha256=$sum( |\$)" "$3"
}

# --- plain CGI: environment and stdin, no web server -------------------
B=$SAMPLES/booking.updated.json
env -i PATH=/usr/bin:/bin HOOKPIPE_CONFIG="$INI" GATEWAY_INTERFACE=CGI/1.1 \
    REQUEST_METHOD=POST HTTPS=on REMOTE_ADDR=127.0.0.1 \
    CONTENT_TYPE=application/json CONTENT_LENGTH="$(wc -c < "$B")" \
    HTTP_X_AUTH_TOKEN="$TOKEN" timeout 10 "$T/www/cgi/hookpipe.fcgi" \
    < "$B" > "$T/cgi.out" 2>"$T/cgi.err"
is "$?" 0 "bundled hookpipe.fcgi as plain CGI exits 0"
OUT=$(tr -d '\r' < "$T/cgi.out")
like "$OUT" '^Status: 200 OK' "plain CGI: 200"
BODY=$(printf '%s\n' "$OUT" | sed '1,/^$/d')
is "$(json_get status)" accepted "plain CGI: accepted"
expect_run "$B" evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B \
    "plain CGI: the runner (runner = ../bin/hookpipe-run) ran the handler with the exact bytes"

# --- under lighttpd: FastCGI at /hooks/, CGI at /cgi/ --------------------
make_tls || { echo "Bail out! openssl could not make a certificate"; exit 1; }
TLSPORT=$(free_port)
cat > "$T/lighttpd.conf" <<EOF
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $TLSPORT
server.errorlog = "$T/lighttpd.error.log"
server.modules = ( "mod_openssl", "mod_fastcgi", "mod_cgi", "mod_setenv" )
ssl.engine = "enable"
ssl.pemfile = "$T/tls.pem"
fastcgi.server = ( "/hooks/" => ((
  "socket" => "$T/hp.sock",
  "bin-path" => "$T/www/hooks/hookpipe.fcgi",
  "bin-environment" => ( "HOOKPIPE_CONFIG" => "$INI" ),
  "check-local" => "disable", "max-procs" => 1 )) )
\$HTTP["url"] =~ "^/cgi/" {
  cgi.assign = ( ".fcgi" => "" )
  setenv.add-environment = ( "HOOKPIPE_CONFIG" => "$INI" )
}
EOF
start_lighttpd "$T/lighttpd.conf" "$TLSPORT" ||
    { echo "Bail out! lighttpd did not start"; exit 1; }
J=(-H 'Content-Type: application/json' -H "x-auth-token: $TOKEN")

PAY=$SAMPLES/payment.processed.json
post "https://127.0.0.1:$TLSPORT/hooks/" "${J[@]}" --data-binary "@$PAY"
is "$STATUS" 200 "lighttpd + bundled responder (FastCGI): 200"
is "$(json_get id)" evt_01JDX7RCT2QH7M0P4S6N8K2D3F "FastCGI: the answer names the event id"
expect_run "$PAY" evt_01JDX7RCT2QH7M0P4S6N8K2D3F \
    "FastCGI: the Python example handler got the exact bytes"

sed 's/evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B/evt_bundle_cgi_1/' "$B" > "$T/cgi-event.json"
post "https://127.0.0.1:$TLSPORT/cgi/hookpipe.fcgi" "${J[@]}" --data-binary "@$T/cgi-event.json"
is "$STATUS" 200 "lighttpd + bundled responder (mod_cgi): 200"
is "$(json_get id)" evt_bundle_cgi_1 "mod_cgi: the answer names the event id"
expect_run "$T/cgi-event.json" evt_bundle_cgi_1 \
    "mod_cgi: the sh example handler got the exact bytes"

post "https://127.0.0.1:$TLSPORT/hooks/" -H 'Content-Type: application/json' \
    -H "x-auth-token: not-$TOKEN" --data-binary "@$PAY"
is "$STATUS" 401 "a wrong token is refused (401)"
post "https://127.0.0.1:$TLSPORT/hooks/" "${J[@]}" --data-binary "@$PAY"
is "$STATUS" 200 "the same event again: 200"
is "$(json_get duplicate)" true "and marked duplicate"
stop_servers
spool_settled "$D/var/spool"	# a duplicate stored by mistake has run by now
is "$(grep -c ' id=evt_01JDX7RCT2QH7M0P4S6N8K2D3F ' "$EVLOG")" 1 "the duplicate did not run again"
like "$(cat "$D/var/log/delivery.log" 2>/dev/null)" '"type":"request"' \
    "the delivery log is var/log/delivery.log (relative log_file)"

finish
