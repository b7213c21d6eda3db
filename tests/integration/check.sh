#!/usr/bin/env bash
# check.sh: `hookpipe check` catches each kind of mistake at deploy time,
# naming file, line and the fix, and passes a good configuration.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/handlers"
printf 'check-token-0123456789abcdef\n' > "$T/token"
chmod 600 "$T/token"
printf '#!/bin/sh\nexit 0\n' > "$T/handlers/booking.updated"
chmod 755 "$T/handlers/booking.updated"
base() {
	cat <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = handlers
[auth]
token_file = token
EOF
}
check() {	# check INI-TEXT: sets OUT and RC
	printf '%s\n' "$1" > "$T/c.ini"
	OUT=$("$BUILD/hookpipe" -c "$T/c.ini" check 2>&1)
	RC=$?
}

check "$(base)"
is "$RC" 0 "a good configuration passes"
like "$OUT" '^configuration OK' "and says configuration OK"

check "$(base; printf '[event booking.updated]\nmode = sync\ntimeout = 5\n')"
is "$RC" 0 "a sync event with its handler by name passes"

check "$(base; printf 'max_bodyy = 1M\n')"
is "$RC" 1 "a misspelt key fails"
like "$OUT" "^hookpipe: error: .*c.ini:6: unknown key 'max_bodyy' in \[auth\]" "names file, line and key"

check "$(base; printf '[hooks]\n')"
like "$OUT" 'c.ini:6: unknown section \[hooks\]' "unknown section named"
check "$(base | sed 's/^handlers_dir.*/handlers_dir = handlers\nmax_body = lots/')"
like "$OUT" "c.ini:4: \[hookpipe\] max_body: 'lots' is not a size" "bad size named with its line"
check "$(base | sed 's/^\[auth\]/require_https = maybe\n[auth]/')"
like "$OUT" "require_https: 'maybe' is not a boolean: write yes or no" "bad boolean explained"
check "$(base; printf 'allow_from = 10.0.0.1/8\n')"
like "$OUT" 'allow_from: item 1 is not' "CIDR with host bits refused"
check "$(base | sed 's/^token_file.*/token_file = nope/')"
like "$OUT" "token_file: .*nope: No such file" "missing token file named"
chmod 644 "$T/token"
check "$(base)"
like "$OUT" 'readable by others: chmod o-rwx' "world-readable token file refused with the fix"
chmod 600 "$T/token"
check "$(base; printf '[event booking.updated]\nhandler = missing\n')"
is "$RC" 1 "a missing handler fails"
like "$OUT" 'handler .*/handlers/missing: No such file' "and is named"
printf '#!/bin/sh\n' > "$T/handlers/noexec"
chmod 644 "$T/handlers/noexec"
check "$(base; printf '[event booking.updated]\nhandler = noexec\n')"
like "$OUT" 'not executable: chmod 755' "a non-executable handler is named with the fix"
check "$(base; printf '[event no.handler]\n')"
like "$OUT" '^hookpipe: warning: .*c.ini: \[event no.handler\] has no handler' "an event without a handler is a warning"
check "$(base; printf '[event ../x]\n')"
like "$OUT" 'an event name is' "bad event name in a section refused"
check "$(base; printf '[event x]\nmode = sync\ntimeout = 2h\n')"
like "$OUT" 'sync event answers only after its handler' "sync timeout beyond the limit refused"
check "$(base; printf '# just a comment \\\nallow_from = 192.0.2.0/24\n')"
like "$OUT" "comment ends in '\\\\'" "a comment that would swallow the next line is refused"
check "$(base; printf 'allow_from = 192.0.2.0/24 \\\n')"
like "$OUT" "c.ini:6: the last line ends in '\\\\'" "a value continued past the last line (iniparser drops it) is refused"
check "$(base; printf '[event Booking.Updated]\nhandler = /bin/true\n[event booking.updated]\nmode = sync\ntimeout = 5\n')"
is "$RC" 0 "two events whose names differ only in case are two events"
check "$(base; printf '[hookpipe:spool_dir]\n')"
is "$RC" 1 "a section named like section:key (CVE-2023-33461 shape) is an error, not a crash"
check "$(printf 'spool_dir = x\n')"
like "$OUT" 'outside a section' "key outside a section"

# The handler rules: what the runner would refuse, check reports.
mkdir -p "$T/outside"
printf '#!/bin/sh\nexit 0\n' > "$T/outside/evil"
chmod 755 "$T/outside/evil"
ln -s "$T/outside/evil" "$T/handlers/leak.out"
check "$(base)"
is "$RC" 1 "a handler symlink leading out of handlers_dir fails"
like "$OUT" "handler .*/handlers/leak.out resolves to .*/outside/evil, outside handlers_dir" "and says where it leads"
rm "$T/handlers/leak.out"
check "$(base; printf '[event booking.updated]\nhandler = %s\n' "$T/outside/evil")"
is "$RC" 0 "an absolute [event] handler outside handlers_dir is allowed"
check "$(base; printf '[event booking.updated]\nhandler = ../outside/evil\n')"
like "$OUT" 'outside handlers_dir' "a relative [event] handler climbing out is refused"
chmod 775 "$T/handlers/booking.updated"
check "$(base)"
is "$RC" 1 "a group-writable handler fails"
like "$OUT" 'booking.updated is writable by its group: refused \(chmod go-w' "with the fix"
chmod 755 "$T/handlers/booking.updated"
chmod 777 "$T/handlers"
check "$(base)"
like "$OUT" 'handlers_dir .* is writable by group or others' "a world-writable handlers_dir fails"
chmod 755 "$T/handlers"
mkdir -p "$T/handlers/gh"
check "$(base; printf '[endpoint gh]\ntoken_file = token\n')"
is "$RC" 0 "an endpoint with its handlers folder passes"
check "$(base; printf '[endpoint nohandlers]\ntoken_file = token\n')"
like "$OUT" '\[endpoint nohandlers\] handlers_dir .*/handlers/nohandlers: No such file' "an endpoint's missing handlers folder is named"

# --suexec: what Apache's suexec would refuse.
printf '#!/bin/sh\n' > "$T/prog.fcgi"
chmod 775 "$T/prog.fcgi"
check "$(base)"
OUT=$("$BUILD/hookpipe" -c "$T/c.ini" check --suexec "$T/prog.fcgi" 2>&1)
is "$?" 1 "check --suexec on a program suexec would refuse fails"
like "$OUT" 'neither below /var/www nor in a public_html' "names the docroot rule"
like "$OUT" 'writable by group or others: chmod go-w' "names the permission rule"
if [ "$(id -u)" = 0 ]; then
	like "$OUT" 'belongs to uid 0' "names the owner rule"
else
	skip "names the owner rule" "needs root to own the file as root"
fi

"$BUILD/hookpipe" -c "$T/nonexistent.ini" check >/dev/null 2>"$T/err"
is "$?" 1 "a missing config file fails"
like "$(cat "$T/err")" '^hookpipe: error: .*nonexistent.ini: cannot read the configuration: No such file' "and says so"
"$BUILD/hookpipe" >/dev/null 2>&1
is "$?" 2 "no command: usage, exit 2"
"$BUILD/hookpipe" frobnicate >/dev/null 2>&1
is "$?" 2 "unknown command: exit 2"
HOOKPIPE_CONFIG="$T/c.ini" "$BUILD/hookpipe" check >/dev/null 2>&1
check "$(base)"
HOOKPIPE_CONFIG="$T/c.ini" "$BUILD/hookpipe" check > "$T/out" 2>&1
like "$(cat "$T/out")" 'configuration OK' "HOOKPIPE_CONFIG locates the file without -c"

finish
