#!/usr/bin/env bash
# faults.sh: every system call of the spool commit fails in turn (an
# LD_PRELOAD shim: the entry's write, its rename, the exclusive create,
# the journal's append (the second writev) and its group flush
# (fdatasync)) and each time the answer is 503 with Retry-After, nothing
# is left in new/ or tmp/, the sender's retry then succeeds, and a
# runner's recovery afterwards brings back nothing that was refused.
# With durability = process nothing is flushed: a failing flush is
# never called.
. "$(dirname "$0")/lib.sh"

SHIM=$BUILD/tests/fault/fault.so
if [ ! -f "$SHIM" ]; then
	skip "fault injection" "tests/fault/fault.so was not built"
	finish
fi
TOKEN='fault-token-0123456789abcdef'
mkdir -p "$T/h"
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = h\n[auth]\ntoken_file = token\n[delivery]\nrunner = /bin/true\n' > "$T/f.ini"

cgi() {	# cgi FAULT BODY: sets STATUS, OUT
	printf '%s' "$2" > "$T/body"
	env -i PATH=/usr/bin:/bin HOOKPIPE_FAULT="$1" LD_PRELOAD="$SHIM" \
	    ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$T/f.ini" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$T/body")" HTTP_X_AUTH_TOKEN="$TOKEN" \
	    "$BUILD/hookpipe.fcgi" < "$T/body" > "$T/out"
	OUT=$(tr -d '\r' < "$T/out")
	STATUS=$(printf '%s\n' "$OUT" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
}
n=0
for fault in writev:ENOSPC writev:EIO writev:ENOSPC:2 fdatasync:EIO \
    fdatasync:ENOSPC renameat:EIO openat_excl:EACCES openat_excl:EDQUOT; do
	n=$((n + 1))
	cgi "$fault" "{\"event\":\"x.y\",\"id\":\"f$n\"}"
	is "$STATUS" 503 "$fault: 503"
	like "$OUT" 'Retry-After: [0-9]+' "$fault: Retry-After set"
	is "$(find "$T/spool/new" "$T/spool/tmp" -type f | wc -l | tr -d ' ')" 0 \
	    "$fault: nothing committed, no partial file left"
	cgi "" "{\"event\":\"x.y\",\"id\":\"f$n\"}"
	is "$STATUS" 200 "$fault: the sender's retry is stored"
	unlike "$OUT" '"duplicate"' "$fault: and is not taken for a duplicate"
	rm -f "$T/spool/new/"*
done
echo "# faults injected: $n"
# Every refused commit whose record reached the journal left a
# tombstone: recovery restores only the retries (which were removed
# from new/ above), so new/ stays empty.
"$BUILD/hookpipe-run" -q -c "$T/f.ini" 2> "$T/run.err"
is "$?" 0 "hookpipe-run: recovery and drain succeed"
is "$(find "$T/spool/new" "$T/spool/cur" "$T/spool/retry" "$T/spool/done" "$T/spool/dead" -type f | wc -l | tr -d ' ')" "$n" \
    "recovery restored the $n stored retries, and none of the refused commits"

printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = h\ndurability = process\n[auth]\ntoken_file = token\n[delivery]\nrunner = /bin/true\n' > "$T/f.ini"
cgi fdatasync:EIO '{"event":"x.y","id":"p1"}'
is "$STATUS" 200 "durability = process: no flush, so no flush failure"
is "$(find "$T/spool/new" -type f | wc -l | tr -d ' ')" 1 \
    "durability = process: the event is in new/"

# A kernel without memfd_create (before 3.17): the body goes to an
# unlinked temporary file, handed on read-only.
printf '#!/bin/sh\ncat > "%s/got"\nif (printf x >&0) 2>/dev/null; then echo writable; else echo readonly; fi > "%s/stdin"\nreadlink /proc/self/fd/0 > "%s/what"\n' "$T" "$T" "$T" > "$T/h/m.sync"
chmod 755 "$T/h/m.sync"
printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = h\n[auth]\ntoken_file = token\n[delivery]\nrunner = /bin/true\n[event m.sync]\nmode = sync\n' > "$T/f.ini"
cgi memfd_create:ENOSYS:0 '{"event":"m.sync","id":"m1","x":"\u00e9"}'
is "$STATUS" 200 "memfd_create ENOSYS: the sync handler still ran"
is "$(cat "$T/got" 2>/dev/null)" '{"event":"m.sync","id":"m1","x":"\u00e9"}' \
    "memfd_create ENOSYS: the handler got the exact body"
is "$(cat "$T/stdin" 2>/dev/null)" readonly "memfd_create ENOSYS: its stdin is read-only"
like "$(cat "$T/what" 2>/dev/null)" '/hookpipe-body\.[A-Za-z0-9]{6} \(deleted\)$' \
    "memfd_create ENOSYS: stdin is the unlinked temporary file"

finish
