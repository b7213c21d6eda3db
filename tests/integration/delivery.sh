#!/usr/bin/env bash
# delivery.sh: the delivery engine: retry schedule and dead-letter,
# permanent failures, replay, per-handler tracking in EVENT.d, the
# concurrency bound, serialize, cron mode, --watch, and the operator
# commands (status, ls, show, replay, purge, send).
. "$(dirname "$0")/lib.sh"

TOKEN=delivery-token-0123456789ab
mkdir -p "$T/h" "$T/rec"
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"
HP="$BUILD/hookpipe"
RUN="$BUILD/hookpipe-run"

# post CONFIG JSON: one CGI request (no web server; the runner is not
# started when the config says runner = /bin/true).
post() {
	printf '%s' "$2" > "$T/body"
	env -i PATH=/usr/bin:/bin ASAN_OPTIONS="$ASAN_OPTIONS" \
	    UBSAN_OPTIONS="$UBSAN_OPTIONS" HOOKPIPE_CONFIG="$1" \
	    REQUEST_METHOD=POST HTTPS=on CONTENT_TYPE=application/json \
	    CONTENT_LENGTH="$(wc -c < "$T/body")" HTTP_X_AUTH_TOKEN="$TOKEN" \
	    "$BUILD/hookpipe.fcgi" < "$T/body" | head -n1 | tr -d '\r'
}
cat > "$T/h/always-fail" <<'SH'
#!/bin/sh
echo "attempt $HOOKPIPE_ATTEMPT" >> "$REC/$HOOKPIPE_ID.attempts"
echo "database unreachable" >&2
exit 3
SH
cat > "$T/h/perm" <<'SH'
#!/bin/sh
echo "attempt $HOOKPIPE_ATTEMPT" >> "$REC/$HOOKPIPE_ID.attempts"
exit 100
SH
cat > "$T/h/fixable" <<'SH'
#!/bin/sh
echo "attempt $HOOKPIPE_ATTEMPT" >> "$REC/$HOOKPIPE_ID.attempts"
[ -e "$REC/fixed" ] || exit 100
cat > "$REC/$HOOKPIPE_ID.body"
SH
mkdir -p "$T/h/parts.d"
printf '#!/bin/sh\necho "$HOOKPIPE_ID a $HOOKPIPE_ATTEMPT" >> "$REC/parts.log"\n' > "$T/h/parts.d/10-a"
cat > "$T/h/parts.d/20-b" <<'SH'
#!/bin/sh
echo "$HOOKPIPE_ID b $HOOKPIPE_ATTEMPT" >> "$REC/parts.log"
[ "$HOOKPIPE_ATTEMPT" -ge 2 ]
SH
cat > "$T/h/slow" <<'SH'
#!/bin/sh
# Start and stop times, to count how many ran at once.
echo "$(date +%s.%N) start $HOOKPIPE_ID" >> "$REC/slow.log"
sleep 0.3
echo "$(date +%s.%N) stop $HOOKPIPE_ID" >> "$REC/slow.log"
SH
cat > "$T/h/ordered" <<'SH'
#!/bin/sh
echo "$(date +%s.%N) start $HOOKPIPE_ID" >> "$REC/ser.log"
sleep 0.1
echo "$(date +%s.%N) stop $HOOKPIPE_ID" >> "$REC/ser.log"
SH
printf '#!/bin/sh\ncat > "$REC/$HOOKPIPE_ID.body"\n' > "$T/h/ok"
chmod 755 "$T/h/"* "$T/h/parts.d/"*

cat > "$T/d.ini" <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = h
[auth]
token_file = token
[delivery]
runner = /bin/true
retries = 2
backoff = 1s
concurrency = 2
[env]
REC = $T/rec
[event fail.ev]
handler = always-fail
[event perm.ev]
handler = perm
[event fix.ev]
handler = fixable
[event slow.ev]
handler = slow
[event ser.ev]
handler = ordered
serialize = yes
[event parts]
retries = 3
EOF
SP=$T/spool
entry_of() { grep -l "\"id\":\"$1\"" "$SP"/new/* "$SP"/cur/* "$SP"/retry/* "$SP"/done/* "$SP"/dead/* 2>/dev/null | head -n1; }

# --- retry schedule, cron style: exactly retries + 1 attempts, then dead/
is "$(post "$T/d.ini" '{"event":"fail.ev","id":"r1"}')" "Status: 200 OK" "event accepted"
out=$("$RUN" -c "$T/d.ini")
like "$out" '0 done, 1 retry, 0 dead.*next retry in [0-9]+s' "attempt 1 failed: waits in retry/"
# The due time is the entry's mtime: set it rather than sleep.
touch -d '1 hour' "$(entry_of r1)"
out=$("$RUN" -c "$T/d.ini")
like "$out" '0 done, 0 retry, 0 dead.*next retry in [0-9]+s' "a retry that is not due yet is left alone"
touch "$(entry_of r1)"
"$RUN" -q -c "$T/d.ini"
touch "$(entry_of r1)"
out=$("$RUN" -c "$T/d.ini")
like "$out" '0 done, 0 retry, 1 dead' "after the last retry the event is dead"
is "$(tr '\n' '|' < "$T/rec/r1.attempts")" "attempt 1|attempt 2|attempt 3|" \
    "exactly retries + 1 = 3 attempts, HOOKPIPE_ATTEMPT counting up"
like "$(entry_of r1)" '/dead/' "entry is in dead/"
show=$("$HP" -c "$T/d.ini" show r1)
is "$(printf '%s\n' "$show" | grep -c 'always-fail: exit 3')" 3 "show lists the three attempts with exit codes"
like "$show" 'stderr: database unreachable' "show has the stderr tail"
like "$show" '-> dead: retries exhausted' "show has the final state and why"
like "$show" '"event": "fail.ev"' "show pretty-prints the payload"

# --- exit 100: straight to dead/, one attempt --------------------------
post "$T/d.ini" '{"event":"perm.ev","id":"p1"}' >/dev/null
"$RUN" -q -c "$T/d.ini"
is "$(wc -l < "$T/rec/p1.attempts")" 1 "exit 100 is not retried"
like "$(entry_of p1)" '/dead/' "exit 100 goes straight to dead/"

# --- replay brings it back; the fixed handler succeeds ------------------
post "$T/d.ini" '{"event":"fix.ev","id":"x1","data":"Zoë — ok"}' >/dev/null
"$RUN" -q -c "$T/d.ini"
like "$(entry_of x1)" '/dead/' "broken handler: dead"
touch "$T/rec/fixed"
out=$("$HP" -c "$T/d.ini" replay x1)
like "$out" 'replayed .* \(fix.ev, from dead\)' "replay names what it moved"
like "$(entry_of x1)" '/new/' "replayed entry is back in new/"
"$RUN" -q -c "$T/d.ini"
like "$(entry_of x1)" '/done/' "the fixed handler succeeded"
is "$(tail -n1 "$T/rec/x1.attempts")" "attempt 1" "a replay starts counting attempts afresh"
printf '{"event":"fix.ev","id":"x1","data":"Zoë — ok"}' | cmp -s - "$T/rec/x1.body"
ok $? "the replayed handler got the original bytes"
like "$(grep '"id":"x1"' "$SP/delivery.log")" 'replay from dead' "replay is logged as such"
"$HP" -c "$T/d.ini" replay nope-no-such >/dev/null 2>"$T/err"
is "$?" 1 "replay of an unknown id fails"
like "$(cat "$T/err")" "^hookpipe: error: no event 'nope-no-such'" "and says which"

# --- EVENT.d: a retry reruns only the handlers that did not succeed -----
post "$T/d.ini" '{"event":"parts","id":"pt1"}' >/dev/null
"$RUN" -q -c "$T/d.ini"
sleep 1.2
"$RUN" -q -c "$T/d.ini"
is "$(tr '\n' '|' < "$T/rec/parts.log")" "pt1 a 1|pt1 b 1|pt1 b 2|" \
    "10-a ran once; only 20-b was retried"
like "$(entry_of pt1)" '/done/' "both handlers done: event done"

# --- concurrency = 2: never more than two handlers alive ----------------
for i in $(seq 20); do post "$T/d.ini" "{\"event\":\"slow.ev\",\"id\":\"c$i\"}" >/dev/null; done
"$RUN" -q -c "$T/d.ini"
peak=$(sort -n "$T/rec/slow.log" | awk '$2 == "start" { n++; if (n > m) m = n } $2 == "stop" { n-- } END { print m }')
is "$peak" 2 "20 slow events, concurrency 2: at most (and at best) 2 at once"
is "$(grep -c ' stop ' "$T/rec/slow.log")" 20 "all 20 ran"

# --- serialize: one at a time, in arrival order ------------------------
sed 's/^concurrency = 2/concurrency = 4/' "$T/d.ini" > "$T/d4.ini"
for i in $(seq 8); do post "$T/d4.ini" "{\"event\":\"ser.ev\",\"id\":\"s$i\"}" >/dev/null; done
post "$T/d4.ini" '{"event":"slow.ev","id":"other"}' >/dev/null
"$RUN" -q -c "$T/d4.ini"
is "$(awk '$2 == "start" { printf "%s ", $3 }' "$T/rec/ser.log")" "s1 s2 s3 s4 s5 s6 s7 s8 " "serialized events ran in arrival order"
peak=$(sort -n "$T/rec/ser.log" | awk '$2 == "start" { n++; if (n > m) m = n } $2 == "stop" { n-- } END { print m }')
is "$peak" 1 "serialized events never overlapped"

# --- status, ls, purge -----------------------------------------------
st=$("$HP" -c "$T/d.ini" status --json)
like "$st" '"dead":2' "status --json counts dead events"
like "$st" '"runner":\{"running":false' "status says no runner is at work"
like "$st" '"failures_last_hour":[1-9]' "status counts recent failures"
like "$("$HP" -c "$T/d.ini" status)" 'dead +2' "status for people"
# The runner checkpointed when it had drained the spool: the journal's
# generations retired, one empty generation left.
like "$st" '"journal":\{"bytes":0,"generations":1,"limit":67108864,"bypassed":0\}' \
    "status --json: the journal retired"
like "$("$HP" -c "$T/d.ini" status)" 'journal +0 bytes in 1 generation, limit 64.0 MiB' \
    "status for people: the journal"
# journal_max = 0: the commit flushes its own entry, appends nothing.
sed 's/^\[hookpipe\]$/[hookpipe]\njournal_max = 0/' "$T/d.ini" > "$T/d0.ini"
is "$(post "$T/d0.ini" '{"event":"ok","id":"nojournal"}')" "Status: 200 OK" "journal_max = 0: accepted"
like "$("$HP" -c "$T/d0.ini" status --json)" '"journal":\{"bytes":0,"generations":1,"limit":0,"bypassed":1\}' \
    "journal_max = 0: the commit bypassed the journal"
like "$("$HP" -c "$T/d0.ini" status)" 'limit 0 bytes, 1 commit bypassed it' \
    "status for people: ... said"
"$RUN" -q -c "$T/d0.ini"
is "$(cat "$T/rec/nojournal.body" 2>/dev/null)" '{"event":"ok","id":"nojournal"}' "... and it ran"
is "$("$HP" -c "$T/d.ini" ls dead | tail -n +2 | wc -l)" 2 "ls dead lists the dead"
is "$("$HP" -c "$T/d.ini" ls --event slow.ev | tail -n +2 | wc -l)" 21 "ls --event filters"
is "$("$HP" -c "$T/d.ini" ls --since 1h "done" | tail -n +2 | wc -l)" "$(find "$SP/done" -type f | wc -l)" "ls --since includes recent events"
is "$("$HP" -c "$T/d.ini" ls --since 2099-01-01 | tail -n +2 | wc -l)" 0 "ls --since a future date lists none"
"$HP" -c "$T/d.ini" ls bogus >/dev/null 2>&1
is "$?" 2 "ls with a bad state: usage error"
"$HP" -c "$T/d.ini" show --raw x1 > "$T/raw"
printf '{"event":"fix.ev","id":"x1","data":"Zoë — ok"}' | cmp -s - "$T/raw"
ok $? "show --raw prints the exact bytes"
out=$("$HP" -c "$T/d.ini" replay --dead --run)
like "$out" '2 events replayed' "replay --dead takes every dead event"
"$HP" -c "$T/d.ini" purge --older-than 0s --state dead >/dev/null
before=$(find "$SP/done" -type f | wc -l)
out=$("$HP" -c "$T/d.ini" purge --older-than 1h)
like "$out" '^0 events purged from done/' "purge keeps what is younger than the limit"
out=$("$HP" -c "$T/d.ini" purge --older-than 0s)
like "$out" "^$before events purged from done/" "purge --older-than 0s empties done/"
is "$(find "$SP/done" -type f | wc -l)" 0 "done/ is empty"
"$HP" -c "$T/d.ini" purge >/dev/null 2>&1
is "$?" 2 "purge without --older-than: usage error"
for cmd in check status ls show replay purge send; do
	"$HP" "$cmd" --help > "$T/help" 2>&1
	ok $? "hookpipe $cmd --help exits 0"
done

# --- retention: done/ and ids/ after keep, dead/ never -----------------
sed 's/^concurrency = 2/concurrency = 2\nkeep = 1h/' "$T/d.ini" > "$T/keep.ini"
old=1000000000.000000.1.000001.0123456789abcdef
printf '{"event":"ok","id":"old-1"}\n{}' > "$SP/done/$old"
printf '{"event":"ok","id":"old-2"}\n{}' > "$SP/dead/$old.x"
printf '%s\n' "$old" > "$SP/ids/old-1"
touch -d '2 hours ago' "$SP/ids/old-1"
post "$T/keep.ini" '{"event":"ok","id":"young-1"}' >/dev/null
rm -f "$SP/prune.stamp"
"$RUN" -q -c "$T/keep.ini"
[ ! -e "$SP/done/$old" ] && [ ! -e "$SP/ids/old-1" ]
ok $? "done/ entries and ids older than keep are pruned"
[ -e "$SP/dead/$old.x" ] && [ -e "$SP/ids/young-1" ] && [ -n "$(entry_of young-1)" ]
ok $? "dead/ and recent events and ids are kept"

# --- --watch: handles new events at once, retries when due, stops on TERM
sed 's|^runner = /bin/true|runner = /bin/true|' "$T/d.ini" > "$T/w.ini"
"$RUN" --watch -c "$T/w.ini" > "$T/watch.out" 2>&1 &
wpid=$!
STARTED_PIDS+=("$wpid")
sleep 0.3
post "$T/w.ini" '{"event":"ok","id":"w1"}' >/dev/null
wait_file "$T/rec/w1.body" 5
ok $? "watch mode ran a new event without being started for it"
rm -f "$T/rec/fixed"
post "$T/w.ini" '{"event":"fail.ev","id":"w2"}' >/dev/null
for _ in $(seq 60); do [ "$(wc -l < "$T/rec/w2.attempts" 2>/dev/null)" = 3 ] && break; sleep 0.1; done
is "$(wc -l < "$T/rec/w2.attempts" 2>/dev/null | tr -d ' ')" 3 "watch mode ran the retries when they fell due"
like "$("$HP" -c "$T/w.ini" status)" "runner +running \(pid $wpid\)" "status shows the watching runner's pid"
out=$("$RUN" -c "$T/w.ini")
like "$out" 'another runner is at work' "a second runner leaves the watcher alone"
kill -TERM "$wpid"
for _ in $(seq 50); do kill -0 "$wpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$wpid" 2>/dev/null; then fail "watch mode did not stop on SIGTERM"; else pass "watch mode stopped on SIGTERM"; fi
wait "$wpid"
is "$?" 0 "and exited 0"

# --- send: the test sender, through a real lighttpd ---------------------
# --- a killed runner: its handler dies with it (PDEATHSIG), and what the
# handler started in the background is stopped by the next runner, found
# through the "run" record the handler's process wrote before its exec
cat > "$T/h/spawner" <<'SH'
#!/bin/sh
# The rerun after the crash finds its work done.
[ -e "$REC/grandchild.pid" ] && exit 0
sleep 300 &
echo "$!" > "$REC/grandchild.tmp"
echo "$$" > "$REC/spawner.pid"
mv "$REC/grandchild.tmp" "$REC/grandchild.pid"
wait
SH
chmod 755 "$T/h/spawner"
sed 's/^spool_dir = spool/spool_dir = kspool/' "$T/d.ini" > "$T/k.ini"
printf '[event spawn.ev]\nhandler = spawner\n' >> "$T/k.ini"
is "$(post "$T/k.ini" '{"event":"spawn.ev","id":"k1"}')" "Status: 200 OK" "spawner event accepted"
"$RUN" -c "$T/k.ini" > "$T/k.out" 2>&1 &
kpid=$!
wait_file "$T/rec/grandchild.pid" 10
sp=$(cat "$T/rec/spawner.pid" 2>/dev/null)
gc=$(cat "$T/rec/grandchild.pid" 2>/dev/null)
like "$(cat "$T"/kspool/hist/* 2>/dev/null)" "\"type\":\"run\",\"pgid\":${sp:-none},\"start\":[1-9][0-9]*}" \
    "the run record names the handler's process group and start time"
kill -KILL "$kpid"
wait "$kpid" 2>/dev/null
for _ in $(seq 50); do kill -0 "${sp:-0}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${sp:-0}" 2>/dev/null; then fail "the handler outlived its killed runner"; else pass "the handler died with its killed runner"; fi
ok "$(kill -0 "${gc:-0}" 2>/dev/null; echo $?)" "what it started in the background is still running (the case to clean up)"
"$RUN" -q -c "$T/k.ini" > "$T/k2.out" 2>&1
is "$?" 0 "the next runner ran the interrupted event again"
for _ in $(seq 50); do kill -0 "${gc:-0}" 2>/dev/null || break; sleep 0.1; done
if kill -0 "${gc:-0}" 2>/dev/null; then
	fail "the next runner left the interrupted handler's background process running"
	kill -KILL "$gc" 2>/dev/null
else
	pass "the next runner stopped the interrupted handler's background process"
fi
like "$(cat "$T/kspool/delivery.log" 2>/dev/null)" "stopped what was left of an interrupted handler" \
    "and logged it"
is "$(count_files "$T/kspool/done")" 1 "the event is done"

PORT=$(free_port)
lighttpd_conf "$T/lighttpd.conf" "$PORT" "$T/s.ini" 1
sed 's|^runner = /bin/true|runner = '"$RUN"'|; s/^\[hookpipe\]/[hookpipe]\nrequire_https = no/' "$T/d.ini" > "$T/s.ini"
start_lighttpd "$T/lighttpd.conf" "$PORT" || echo "Bail out! lighttpd did not start"
printf '{"id":"snd-1","data":{"guest":"Ana Martín"}}' > "$T/send.json"
out=$("$HP" send "http://127.0.0.1:$PORT/hooks" --event ok --file "$T/send.json" --token-file "$T/token")
is "$?" 0 "send exits 0 on 200"
like "$out" '^200' "send prints the status"
like "$out" '"status":"accepted"' "send prints the body"
wait_file "$T/rec/snd-1.body" 5
spool_settled "$SP"	# the handler writes the file in place: until it is done
like "$(cat "$T/rec/snd-1.body" 2>/dev/null)" '"event":"ok"' "send set the event field"
like "$(cat "$T/rec/snd-1.body" 2>/dev/null)" 'Ana Martín' "send kept the payload's bytes"
out=$(printf '{"event":"ok","id":"snd-2"}' | "$HP" -c "$T/s.ini" send "http://127.0.0.1:$PORT/hooks")
like "$out" '^200' "send reads stdin and takes the token from -c"
printf 'nope\n' > "$T/badtoken"
out=$("$HP" send "http://127.0.0.1:$PORT/hooks" --event ok --file "$T/send.json" --token-file "$T/badtoken")
is "$?" 1 "send exits 1 on a non-2xx answer"
like "$out" '^401' "and prints the status"

finish
