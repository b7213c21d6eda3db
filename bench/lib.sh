# shellcheck shell=bash
# bench/lib.sh: start lighttpd with hookpipe on a free loopback port for a
# benchmark, and stop exactly what was started.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }
T=$(mktemp -d /tmp/hookpipe-bench.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
export token=bench-token-0123456789abcdef

# start_hookpipe BUILD-DIR [EXTRA-INI-LINES]: sets $port.
start_hookpipe() {
	local build=$1 extra=${2:-}
	mkdir -p "$T/handlers" "$T/www"
	printf '%s\n' "$token" > "$T/token"
	chmod 600 "$T/token"
	printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\nrequire_https = no\n[auth]\ntoken_file = token\n%b' "$extra" > "$T/hookpipe.ini"
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
	lighttpd -D -f "$T/lighttpd.conf" & pids+=($!)
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: lighttpd did not start" >&2
	exit 1
}

# load NAME TOKEN SECONDS CONNECTIONS: one wrk run; prints a result line.
load() {
	local out
	out=$(BENCH_TOKEN=$2 wrk -t"$(( $4 < 2 ? 1 : 2 ))" -c"$4" -d"$3s" \
	    -s "$top/bench/post.lua" "http://127.0.0.1:$port/hooks" 2>&1)
	printf '%-16s c=%-2s %10s req/s  %s\n' "$1" "$4" \
	    "$(printf '%s\n' "$out" | awk '/Requests\/sec/ { print $2 }')" \
	    "$(printf '%s\n' "$out" | grep '^RESULT' | cut -d' ' -f2-)"
}
