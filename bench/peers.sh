#!/usr/bin/env bash
# shellcheck disable=SC2154 # $token, $T, $port... come from bench/lib.sh
# bench/peers.sh: hookpipe against the receivers a user would pick
# instead, all in one run so that the ratios hold on a noisy machine.
#   usage: bench/peers.sh [--quick] [BUILD-DIR]
# For every scenario below, at 1, 8 and 32 connections (--quick: 8 only),
# a warm-up then a timed wrk run POSTing ~1 KB JSON events with unique
# ids to 127.0.0.1. Writes bench/results/peers-DATE.tsv and .md (the
# table with the ratios of issue 6) and prints the table.
#
#   noop                    lighttpd + bench/noop-fcgi.c: reads, answers 200
#   noop-spool              the same, write+fsync+rename+fsync(dir) each
#   webhook-sync            adnanh/webhook, /bin/true, output in the answer
#   webhook-async           adnanh/webhook, /bin/true, answers first
#   hookpipe-reject         hookpipe.fcgi under lighttpd, wrong token (401)
#   hookpipe-accept         ... valid events, runner held off
#   hookpipe-accept-process ... with [hookpipe] durability = process
#   hookpipe-e2e            ... handler /bin/true, runner on, until drained
#   hookpipe-apache         hookpipe.fcgi under Apache mod_fcgid, as accept
#
# Environment (for development): BENCH_SECS, BENCH_WARM (seconds),
# BENCH_CONNS ("1 8 32"), BENCH_ONLY (space-separated scenario names),
# BENCH_DRAIN_MAX (seconds to wait for e2e delivery, default 600).
set -u
here=$(cd "$(dirname "$0")" && pwd)

quick=0
if [ "${1:-}" = --quick ]; then
	quick=1
	shift
fi
case ${1:-} in
-*)	echo "usage: bench/peers.sh [--quick] [BUILD-DIR]" >&2; exit 2 ;;
esac

# The tools, checked before anything starts; bench tools are not in
# scripts/deps so that CI does not install them.
missing=""
need() {	# need TEST PACKAGE
	eval "$1" >/dev/null 2>&1 || case " $missing " in
	*" $2 "*) ;;
	*) missing="$missing $2" ;;
	esac
}
need 'command -v wrk' wrk
need 'command -v lighttpd' lighttpd
need 'command -v webhook' webhook
need 'command -v apache2 || [ -x /usr/sbin/apache2 ]' apache2
need '[ -r /usr/lib/apache2/modules/mod_fcgid.so ]' libapache2-mod-fcgid
need 'command -v cc' gcc
need 'command -v pkg-config' pkg-config
need 'pkg-config --exists fcgi' libfcgi-dev
need 'command -v python3' python3
need 'command -v curl' curl
need 'command -v flock' util-linux
if [ -n "$missing" ]; then
	echo "bench: missing tools; install them with:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi
PATH=$PATH:/usr/sbin

# shellcheck source=bench/lib.sh disable=SC2154 # $token, $T, $port, ... come from it
. "$here/lib.sh"
build=$(cd "${1:-$top/build}" 2>/dev/null && pwd) ||
    { echo "bench: no build folder ${1:-$top/build}; build hookpipe first" >&2; exit 1; }
for p in hookpipe.fcgi hookpipe-run hookpipe; do
	[ -x "$build/$p" ] ||
	    { echo "bench: $build/$p missing; run make in $build" >&2; exit 1; }
done

if [ "$quick" = 1 ]; then
	conns_list=${BENCH_CONNS:-8} secs=${BENCH_SECS:-3} warm=${BENCH_WARM:-1}
else
	conns_list=${BENCH_CONNS:-1 8 32} secs=${BENCH_SECS:-10} warm=${BENCH_WARM:-2}
fi
drain_max=${BENCH_DRAIN_MAX:-600}
apache_warm=$((quick ? 3 : 5))
only=${BENCH_ONLY:-noop noop-spool webhook-sync webhook-async hookpipe-reject hookpipe-accept hookpipe-accept-process hookpipe-e2e hookpipe-apache}
maxconns=1
for c in $conns_list; do [ "$c" -gt "$maxconns" ] && maxconns=$c; done

mkdir -p "$top/bench/results"
stamp=$(date +%Y-%m-%d-%H%M%S)
base=$top/bench/results/peers-$stamp
[ "$quick" = 1 ] && base=$top/bench/results/peers-quick-$stamp
tsv=$base.tsv
printf 'scenario\tconns\tsecs\trequests\treq_s\tp50_ms\tp99_ms\terrors\tstatuses\tcpu_s\tcpu_us_per_req\ttree_rss_mib\ttree_pss_mib\tproc_rss_max_mib\tresponder_hwm_mib\tresponder_pss_mib\tprocs_max\thwm_kb\tdelivered\tdelivered_s\tacked\tstored\tload1\tnote\n' > "$tsv"

# shellcheck disable=SC2046 # pkg-config's flags are meant to split
cc -O2 -Wall -Wextra $(pkg-config --cflags fcgi) -o "$T/noop-fcgi" \
    "$top/bench/noop-fcgi.c" $(pkg-config --libs fcgi) ||
    { echo "bench: could not build bench/noop-fcgi.c" >&2; exit 1; }

# The server tree of the running scenario: its root pid(s), URL, the
# token to send and the status that counts as success.
roots="" url="" send_token="" expect=2xx spool="" kind="" responder=""
nonce=0

# tree_pids ROOT...: the pids of the processes under ROOT (ROOT included).
tree_pids() {
	python3 - "$@" <<'EOF'
import os, sys
kids = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            s = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        kids.setdefault(int(s[s.rindex(")") + 2:].split()[1]), []).append(int(d))
todo, seen = [int(a) for a in sys.argv[1:]], set()
while todo:
    p = todo.pop()
    if p not in seen:
        seen.add(p)
        todo.extend(kids.get(p, []))
print(" ".join(str(p) for p in sorted(seen)))
EOF
}

# stop_server: stop the scenario's server, then any process of its tree
# that outlived it (noted before the stop; all started by this script).
stop_server() {
	local left p st
	# shellcheck disable=SC2086 # roots is a list of pids
	left=$(tree_pids $roots)
	# shellcheck disable=SC2086
	stop $roots
	for p in $left; do
		# dead and waiting to be reaped (by init) does not count
		st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
		case $st in ''|Z) continue ;; esac
		echo "bench: $scen: pid $p outlived its server; stopping it" >&2
		kill "$p" 2>/dev/null
	done
	[ -n "${holder_pid:-}" ] && stop "$holder_pid"
	holder_pid=""
	roots=""
}

# wrk_run SECONDS CONNECTIONS: one load run against $url; sets r_* from
# the RESULT line of post.lua.
wrk_run() {
	local out line kv
	nonce=$((nonce + 1))
	r_req=0 r_errors=0 r_p50_us=0 r_p99_us=0 r_ok=0 r_dur_us=1 r_statuses=none
	out=$(BENCH_TOKEN=$send_token BENCH_EXPECT=$expect \
	    BENCH_NONCE="$scen-$2-$nonce-$$" timeout $(($1 + 30)) \
	    wrk -t"$(($2 < 2 ? 1 : 2))" -c"$2" -d"$1s" --timeout 10s \
	    -s "$top/bench/post.lua" "$url" 2>&1)
	line=$(printf '%s\n' "$out" | grep '^RESULT ')
	if [ -z "$line" ]; then
		echo "bench: $scen: wrk gave no result:" >&2
		printf '%s\n' "$out" | tail -n 5 >&2
		return 1
	fi
	for kv in ${line#RESULT }; do
		printf -v "r_${kv%%=*}" '%s' "${kv#*=}"
	done
}

count_files() {	# count_files DIR...: regular files in them
	find "$@" -maxdepth 1 -type f 2>/dev/null | wc -l
}

# drain: wait until the spool has nothing new or claimed, then until the
# runner has let go of its lock; 1 when drain_max passes first.
drain() {
	local end=$((SECONDS + drain_max))
	drained_at=""
	while [ -n "$(find "$spool/new" "$spool/cur" -type f -print -quit 2>/dev/null)" ]; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
	drained_at=$(date +%s.%N)
	while ! flock -n "$spool/run.lock" true; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.1
	done
	return 0
}

# by_comm LIST: the value for the responder in a COMM:KB,... list.
by_comm() {
	printf '%s\n' "$1" | tr ',' '\n' | awk -F: -v r="$responder" '$1 == r { print $2 }'
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# point CONNECTIONS: warm up, then measure one point and write its row.
point() {
	local c=$1 stat=$W/stat.$1 sampler kv load1 t0 t1 delivered="" rate=""
	local stored="" done0=0 note="" cpu_per kvs
	# mod_fcgid grows its pool on demand, with requests sleeping 1 s
	# while it does: the warm-up there lasts long enough to build it.
	local w=$warm
	[ "$scen" = hookpipe-apache ] && [ "$w" -lt "$apache_warm" ] && w=$apache_warm
	wrk_run "$w" "$c" || { row_na "$c" "wrk failed (warm-up)"; return; }
	acked=$((acked + r_ok))
	if [ "$kind" = e2e ]; then
		drain || note="warm-up did not drain in ${drain_max}s;"
		done0=$(count_files "$spool/done")
	fi
	load1=$(cut -d' ' -f1 /proc/loadavg)
	rm -f "$stat" "$stat.ready"
	# shellcheck disable=SC2086 # roots is a list of pids
	python3 "$top/bench/treestat.py" "$stat" 0.2 $roots & sampler=$!
	pids+=("$sampler")
	for _ in $(seq 200); do
		[ -e "$stat.ready" ] && break
		sleep 0.05
	done
	t0=$(date +%s.%N)
	if ! wrk_run "$secs" "$c"; then
		stop "$sampler"
		row_na "$c" "wrk failed"
		return
	fi
	acked=$((acked + r_ok))
	if [ "$kind" = e2e ]; then
		drain || note="$note not drained after ${drain_max}s;"
		t1=${drained_at:-$(date +%s.%N)}
		delivered=$(($(count_files "$spool/done") - done0))
		rate=$(awk -v n="$delivered" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
		note="$note drained $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s after start;"
		stored=$(count_files "$spool/new" "$spool/cur" "$spool/retry" "$spool/done" "$spool/dead")
		[ "$(count_files "$spool/retry" "$spool/dead")" -gt 0 ] &&
		    note="$note $(count_files "$spool/retry") in retry/, $(count_files "$spool/dead") in dead/;"
	elif [ -n "$spool" ]; then
		stored=$(count_files "$spool/new")
	fi
	# webhook-async runs the commands after answering: count their CPU
	# too, by waiting (60 s at most) until it has no child left.
	if [ "$scen" = webhook-async ]; then
		for _ in $(seq 600); do
			[ -z "$(ps -o pid= --ppid "$server_pid")" ] && break
			sleep 0.1
		done
	fi
	kill -TERM "$sampler" 2>/dev/null
	stop "$sampler"
	[ -s "$stat" ] || { row_na "$c" "no CPU/RSS sample"; return; }
	cpu_s="" rss_peak_kb=0 pss_peak_kb=0 proc_rss_max_kb=0 procs_max=0 hwm="" pss=""
	read -r -a kvs < "$stat"
	for kv in "${kvs[@]}"; do
		printf -v "${kv%%=*}" '%s' "${kv#*=}"
	done
	if [ -n "$stored" ]; then
		if [ "$stored" -lt "$acked" ]; then
			note="$note LOST $((acked - stored)) acknowledged events;"
		else
			note="$note every 200 stored ($((stored - acked)) more stored: answers in flight when wrk stopped);"
		fi
	fi
	cpu_per=$(awk -v s="$cpu_s" -v n="${delivered:-$r_req}" 'BEGIN { if (n > 0) printf "%.1f", s * 1e6 / n; else print "" }')
	# shellcheck disable=SC2154 # set from the sampler's line above
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
	    "$scen" "$c" "$secs" "$r_req" \
	    "$(awk -v n="$r_req" -v d="$r_dur_us" 'BEGIN { printf "%.1f", n * 1e6 / d }')" \
	    "$(awk -v u="$r_p50_us" 'BEGIN { printf "%.2f", u / 1000 }')" \
	    "$(awk -v u="$r_p99_us" 'BEGIN { printf "%.2f", u / 1000 }')" \
	    "$r_errors" "$r_statuses" "$cpu_s" "$cpu_per" \
	    "$(mib "$rss_peak_kb")" "$(mib "$pss_peak_kb")" "$(mib "$proc_rss_max_kb")" \
	    "$(mib "$(by_comm "$hwm")")" "$(mib "$(by_comm "$pss")")" \
	    "$procs_max" "$hwm" "$delivered" "$rate" "${stored:+$acked}" "$stored" "$load1" \
	    "$(printf '%s' "$note" | sed 's/^ *//; s/;$//')" >> "$tsv"
	printf '  %-24s c=%-2s %9s req/s  p50 %6s ms  p99 %7s ms  errors %s  %s\n' "$scen" "$c" \
	    "$(tail -n 1 "$tsv" | cut -f5)" "$(tail -n 1 "$tsv" | cut -f6)" \
	    "$(tail -n 1 "$tsv" | cut -f7)" "$r_errors" "${rate:+delivered $rate/s}"
}

row_na() {	# row_na CONNECTIONS WHY: a row with only the reason
	{
		printf '%s\t%s\t%s' "$scen" "$1" "$secs"
		printf '\t%.0s' $(seq 20)
		printf '\t%s\n' "$2"
	} >> "$tsv"
	printf '  %-24s c=%-2s %s\n' "$scen" "$1" "$2"
}

# check_once: one request by curl before loading, so that a scenario
# set up wrong stops here with its answer instead of filling the table.
check_once() {
	local got
	got=$(curl -s -o "$W/check.out" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' -H "x-auth-token: $send_token" \
	    --data '{"id":"bench-check","event":"bench.event","data":{}}' "$url")
	case $expect:$got in
	2xx:2??|401:401) ;;
	*)	echo "bench: $scen: a first request got $got, not $expect:" >&2
		head -c 400 "$W/check.out" >&2
		return 1 ;;
	esac
	if grep -q 'not satisfied' "$W/check.out"; then
		echo "bench: $scen: webhook's trigger rule did not match" >&2
		return 1
	fi
	[ "$expect" = 2xx ] && acked=$((acked + 1))
	return 0
}

start_webhook() {	# start_webhook sync|async
	local out=false
	[ "$1" = sync ] && out=true
	port=$(free_port)
	cat > "$W/hooks.json" <<EOF
[
  {
    "id": "bench",
    "execute-command": "/bin/true",
    "command-working-directory": "$W",
    "include-command-output-in-response": $out,
    "trigger-rule": {
      "match": {
        "type": "value",
        "value": "$token",
        "parameter": { "source": "header", "name": "x-auth-token" }
      }
    }
  }
]
EOF
	webhook -hooks "$W/hooks.json" -ip 127.0.0.1 -port "$port" \
	    > "$W/webhook.log" 2>&1 & server_pid=$!
	pids+=("$server_pid")
	wait_port "$port" webhook
	url=http://127.0.0.1:$port/hooks/bench
}

start_apache() {
	local bin=$W/bin
	mkdir -p "$bin" "$W/www" "$W/fcgid"
	cp "$build/hookpipe.fcgi" "$build/hookpipe-run" "$bin/"
	hookpipe_ini "$W" "" '[event bench.event]\nhandler = /bin/true\n'
	hold_runner "$W/spool"
	chown -R www-data:www-data "$W"
	chmod 711 "$T"
	port=$(free_port)
	BENCH_DIR=$W BENCH_BIN=$bin BENCH_PORT=$port BENCH_PROCS=$maxconns \
	    apache2 -f "$top/bench/apache-fcgid.conf" -D FOREGROUND \
	    > "$W/apache.out" 2>&1 & server_pid=$!
	pids+=("$server_pid")
	wait_port "$port" apache2
	url=http://127.0.0.1:$port/hooks
}

# setup SCENARIO: start its server; 1 when it cannot run here (row n/a).
setup() {
	W=$T/$scen
	mkdir -p "$W"
	send_token=$token expect=2xx spool="" kind=load responder=hookpipe.fcgi
	acked=0 holder_pid=""
	case $scen in
	noop|noop-spool)
		responder=noop-fcgi
		if [ "$scen" = noop ]; then
			start_lighttpd_fcgi "$T/noop-fcgi"
		else
			spool=$W/spool
			start_lighttpd_fcgi "$T/noop-fcgi" "NOOP_SPOOL=$spool"
		fi
		url=http://127.0.0.1:$port/hooks ;;
	webhook-sync|webhook-async)
		responder=webhook
		start_webhook "${scen#webhook-}" ;;
	hookpipe-reject)
		send_token=wrong-token-0123456789abcdef expect=401
		start_hookpipe "$build" '[event bench.event]\nhandler = /bin/true\n'
		url=http://127.0.0.1:$port/hooks ;;
	hookpipe-accept|hookpipe-accept-process)
		local extra=""
		[ "$scen" = hookpipe-accept-process ] && extra='durability = process\n'
		spool=$W/spool
		hookpipe_ini "$W" "$extra" '[event bench.event]\nhandler = /bin/true\n'
		if ! "$build/hookpipe" -c "$W/hookpipe.ini" check > "$W/check.txt" 2>&1; then
			if grep -q "unknown key 'durability'" "$W/check.txt"; then
				why="n/a (not supported by this build)"
			else
				why="n/a (hookpipe check refused the config)"
				cat "$W/check.txt" >&2
			fi
			return 1
		fi
		hold_runner "$spool"
		start_lighttpd_fcgi "$build/hookpipe.fcgi" "HOOKPIPE_CONFIG=$W/hookpipe.ini"
		url=http://127.0.0.1:$port/hooks ;;
	hookpipe-e2e)
		kind=e2e spool=$W/spool
		start_hookpipe "$build" '[event bench.event]\nhandler = /bin/true\n'
		url=http://127.0.0.1:$port/hooks ;;
	hookpipe-apache)
		spool=$W/spool
		start_apache ;;
	*)	echo "bench: unknown scenario $scen" >&2
		exit 2 ;;
	esac
	roots=$server_pid
	why="n/a (first request failed)"
	check_once
}

echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${secs}s per point after ${warm}s warm-up (Apache ${apache_warm}s), connections: $conns_list"
for scen in $only; do
	if ! setup; then
		[ -n "$roots" ] && stop_server
		for c in $conns_list; do row_na "$c" "$why"; done
		continue
	fi
	for c in $conns_list; do point "$c"; done
	stop_server
done

md=$base.md
{
	echo "# bench/peers.sh, $(date '+%Y-%m-%d %H:%M')"
	echo
	echo "Command: \`bench/peers.sh$([ "$quick" = 1 ] && echo ' --quick')\`;" \
	    "hookpipe $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?');" \
	    "$(nproc) cores; $(uname -r); ${secs}s per point after a ${warm}s" \
	    "warm-up at the same concurrency (Apache: ${apache_warm}s, to grow" \
	    "the mod_fcgid pool); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	python3 "$top/bench/report.py" "$tsv"
} > "$md"
cat "$md"
echo
echo "bench: wrote $tsv and $md"
