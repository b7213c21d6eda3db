# shellcheck shell=bash
# bench/lib.sh: start lighttpd with hookpipe (or another FastCGI program)
# on a free loopback port for a benchmark, and stop exactly what was
# started.
set -u
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
command -v wrk >/dev/null || { echo "bench: needs wrk (apt-get install wrk)" >&2; exit 1; }
T=$(mktemp -d /tmp/hookpipe-bench.XXXXXX)
W=$T		# the folder the start_* functions work in
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	if [ "${BENCH_KEEP:-0}" = 1 ]; then
		echo "bench: kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
export token=bench-token-0123456789abcdef

# stop PID...: stop processes started here (and listed in pids).
stop() {
	local p q keep
	for p in "$@"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		keep=()
		for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
		pids=("${keep[@]}")
	done
}

free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT WHAT: until something listens on 127.0.0.1:PORT (5 s).
wait_port() {
	for _ in $(seq 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench: $2 did not start on port $1" >&2
	exit 1
}

# hookpipe_ini DIR [HOOKPIPE-LINES] [MORE-SECTIONS]: write DIR/hookpipe.ini
# and DIR/token (printf %b escapes in the extra lines).
hookpipe_ini() {
	mkdir -p "$1/handlers"
	printf '%s\n' "$token" > "$1/token"
	chmod 600 "$1/token"
	printf '[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\nrequire_https = no\n%b[auth]\ntoken_file = token\n%b' \
	    "${2:-}" "${3:-}" > "$1/hookpipe.ini"
}

# start_lighttpd_fcgi PROGRAM [VAR=VALUE...]: lighttpd on a free port with
# PROGRAM behind /hooks ($BENCH_PROCS processes, default 8 as in
# conf/lighttpd.conf; noop and noop-spool get the same), the variables in
# its environment. Works in $W; sets $port and $server_pid.
start_lighttpd_fcgi() {
	local prog=$1 env="" kv
	shift
	for kv in "$@"; do
		env="$env${env:+, }\"${kv%%=*}\" => \"${kv#*=}\""
	done
	mkdir -p "$W/www"
	port=$(free_port)
	cat > "$W/lighttpd.conf" <<EOF
server.document-root = "$W/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$W/error.log"
server.modules = ( "mod_fastcgi" )
fastcgi.server = ( "/hooks" => (( "socket" => "$W/fcgi.sock",
  "bin-path" => "$prog",
  "bin-environment" => ( $env ),
  "check-local" => "disable", "max-procs" => ${BENCH_PROCS:-8} )) )
EOF
	lighttpd -D -f "$W/lighttpd.conf" & server_pid=$!
	pids+=("$server_pid")
	wait_port "$port" lighttpd
}

# start_hookpipe BUILD-DIR [EXTRA-INI-LINES]: hookpipe.fcgi under lighttpd
# in $W; sets $port and $server_pid.
start_hookpipe() {
	hookpipe_ini "$W" "" "${2:-}"
	start_lighttpd_fcgi "$1/hookpipe.fcgi" "HOOKPIPE_CONFIG=$W/hookpipe.ini"
}

# hold_runner DIR: hold DIR/run.lock (a spool's runner lock) so that no
# hookpipe-run starts; the holder is the pid in $holder_pid (in pids).
hold_runner() {
	mkdir -p "$1"
	bash -c 'exec 9>>"$1" && flock 9 && exec sleep 3600' hold "$1/run.lock" &
	holder_pid=$!
	pids+=("$holder_pid")
	for _ in $(seq 50); do
		flock -n "$1/run.lock" true || return 0
		sleep 0.1
	done
	echo "bench: could not hold $1/run.lock" >&2
	exit 1
}

# load NAME TOKEN SECONDS CONNECTIONS: one wrk run; prints a result line.
load() {
	local out
	out=$(BENCH_TOKEN=$2 BENCH_NONCE="$1-$4-$RANDOM$RANDOM" \
	    wrk -t"$(( $4 < 2 ? 1 : 2 ))" -c"$4" -d"$3s" \
	    -s "$top/bench/post.lua" "http://127.0.0.1:$port/hooks" 2>&1)
	printf '%-16s c=%-2s %10s req/s  %s\n' "$1" "$4" \
	    "$(printf '%s\n' "$out" | awk '/Requests\/sec/ { print $2 }')" \
	    "$(printf '%s\n' "$out" | grep '^RESULT' | cut -d' ' -f2-)"
}
