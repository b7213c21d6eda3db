#!/usr/bin/env bash
# bench/accept.sh: requests per second of hookpipe under lighttpd on
# 127.0.0.1, measured with wrk: accepted events (durable: fsync of the
# file and of new/) and refused ones (wrong token). A first benchmark;
# the comparison with the peers lives in the performance milestone.
#   usage: bench/accept.sh [BUILD-DIR] [SECONDS] [CONNECTIONS]
#   BENCH_RUNNER=off  accept only: the runner lock is held for the whole
#                     run, so no hookpipe-run competes for the CPU
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd) || exit 1
secs=${2:-10}
conns=${3:-8}
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }
T=$(mktemp -d /tmp/hookpipe-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

mkdir -p "$T/handlers" "$T/www"
printf '#!/bin/sh\nexit 0\n' > "$T/handlers/bench.event"
chmod 755 "$T/handlers/bench.event"
token=bench-token-0123456789abcdef
printf '%s\n' "$token" > "$T/token"
chmod 600 "$T/token"
printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\nrequire_https = no\n[auth]\ntoken_file = token\n' > "$T/hookpipe.ini"
port=$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$T/lighttpd.conf" <<EOF
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$T/error.log"
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/hooks" => (( "socket" => "$T/hp.sock",
  "bin-path" => "$build/hookpipe.fcgi",
  "bin-environment" => ( "HOOKPIPE_CONFIG" => "$T/hookpipe.ini" ),
  "check-local" => "disable", "max-procs" => 2 )) )
EOF
if [ "${BENCH_RUNNER:-on}" = off ]; then
	mkdir -p "$T/spool"
	flock "$T/spool/run.lock" sleep 3600 & pids+=($!)
fi
lighttpd -D -f "$T/lighttpd.conf" & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

run() {	# run NAME TOKEN
	local out
	out=$(BENCH_TOKEN=$2 wrk -t2 -c"$conns" -d"${secs}s" -s "$top/bench/post.lua" \
	    "http://127.0.0.1:$port/hooks" 2>&1)
	printf '%-16s %s req/s  %s\n' "$1" \
	    "$(printf '%s\n' "$out" | awk '/Requests\/sec/ { print $2 }')" \
	    "$(printf '%s\n' "$out" | grep '^RESULT' | cut -d' ' -f2-)"
}
echo "hookpipe under lighttpd, $conns connections, ${secs}s each, $(nproc) cores"
run reject-401 wrong-token
run accept-200 "$token"
sleep 2
echo "events in spool: $(find "$T/spool/new" "$T/spool/cur" "$T/spool/done" -type f | wc -l)" \
    "(done: $(find "$T/spool/done" -type f | wc -l))"
