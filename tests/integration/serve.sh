#!/usr/bin/env bash
# serve.sh: the README's first command works as printed: scripts/serve
# starts lighttpd with hookpipe, the curl line it prints delivers the
# sample, the example handlers (sh, Python, PHP) leave their lines, and
# SIGTERM (Ctrl-C) stops exactly what it started.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
export PORT HOOKPIPE_BUILD=$BUILD HOOKPIPE_SERVE_DIR=$T/serve
"$SRC/scripts/serve" > "$T/serve.out" 2>&1 &
spid=$!
STARTED_PIDS+=("$spid")
for _ in $(seq 100); do
	grep -q '^ready' "$T/serve.out" && break
	sleep 0.1
done
like "$(cat "$T/serve.out")" "listening on http://127.0.0.1:$PORT/hooks" "serve says where it listens"
line=$(grep -m1 "^  curl -i" "$T/serve.out")
like "$line" "x-auth-token: [0-9a-f]{48}" "the printed curl line carries a random token"
out=$(eval "$line" 2>/dev/null)
like "$out" 'HTTP/1.1 200 OK' "the printed curl line gets 200"
wait_file "$T/serve/events.log" 5
for _ in $(seq 50); do [ -s "$T/serve/events.log" ] && break; sleep 0.1; done
want=$(sha256sum < "$SAMPLES/booking.updated.json" | cut -d' ' -f1)
like "$(cat "$T/serve/events.log")" "booking.updated id=evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B bytes=453 sha256=$want" \
    "the sh example handler logged the exact body's digest"
token=$(cat "$T/serve/token")
curl -s -H 'Content-Type: application/json' -H "x-auth-token: $token" \
    --data-binary "@$SAMPLES/payment.processed.json" "http://127.0.0.1:$PORT/hooks" >/dev/null
for _ in $(seq 50); do grep -q payment.processed "$T/serve/events.log" && break; sleep 0.1; done
like "$(cat "$T/serve/events.log")" 'payment.processed id=evt_01JDX7RCT2QH7M0P4S6N8K2D3F bytes=319 .* amount=412.50 GBP' \
    "the Python example handler read the payload"
lpid=$(sed -n 's/.*(lighttpd pid \([0-9]*\)).*/\1/p' "$T/serve.out")
kill -TERM "$spid"
wait "$spid" 2>/dev/null
like "$(cat "$T/serve.out")" 'stopped lighttpd' "SIGTERM stops serve"
sleep 0.2
if [ -n "$lpid" ] && ! kill -0 "$lpid" 2>/dev/null; then
	pass "and the lighttpd it started is gone"
else
	fail "lighttpd $lpid still running"
	kill "$lpid" 2>/dev/null
fi

# The PHP example, through hookpipe (CGI mode, then hookpipe-run).
mkdir -p "$T/php"
printf 'php-token-0123456789abcdef\n' > "$T/php/token"
chmod 600 "$T/php/token"
cat > "$T/php/hookpipe.ini" <<EOF
[hookpipe]
spool_dir = spool
handlers_dir = $SRC/handlers
[auth]
token_file = token
[delivery]
runner = /bin/true
[env]
EXAMPLE_LOG = $T/php/events.log
[event booking.updated]
handler = php/booking.updated.php
EOF
env -i PATH=/usr/bin:/bin HOOKPIPE_CONFIG="$T/php/hookpipe.ini" REQUEST_METHOD=POST \
    HTTPS=on CONTENT_TYPE=application/json HTTP_X_AUTH_TOKEN=php-token-0123456789abcdef \
    CONTENT_LENGTH="$(wc -c < "$SAMPLES/booking.updated.json")" \
    "$BUILD/hookpipe.fcgi" < "$SAMPLES/booking.updated.json" > "$T/php/out"
like "$(head -n1 "$T/php/out")" '^Status: 200' "PHP example: event accepted"
"$BUILD/hookpipe-run" -q -c "$T/php/hookpipe.ini"
like "$(cat "$T/php/events.log" 2>/dev/null)" "booking.updated id=evt_01JDX7Q8M4ZK3R5T6V8W9Y0A1B bytes=453 sha256=$want booking=BK-204811" \
    "the PHP example handler read the payload"

finish
