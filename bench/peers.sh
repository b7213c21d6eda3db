#!/usr/bin/env bash
# shellcheck disable=SC2154 # $token, $T, $port... come from bench/lib.sh
# bench/peers.sh: hookpipe against the receivers a user would pick
# instead, all in one run so that the ratios hold on a noisy machine.
#   usage: bench/peers.sh [--quick] [BUILD-DIR]
# Each point below is a named scenario, run at 1, 8 and 32 connections
# (--quick: 8 only; the -noisy and backlog ones: always 8 only): a
# warm-up, then a timed wrk run POSTing ~1 KB JSON events with unique
# ids to 127.0.0.1. Writes bench/results/peers-DATE.tsv and .md (the
# targets of issue 12 with PASS/MISS, the diagnostic points apart, then
# every point) and prints the .md.
#
#   noop                    lighttpd + bench/noop-fcgi.c: reads, answers 200
#   noop-spool              the same, write+fsync+rename+fsync(dir) each
#   webhook-sync            adnanh/webhook, /bin/true, output in the answer
#   webhook-async           adnanh/webhook, /bin/true, answers first
#   hookpipe-reject         hookpipe.fcgi under lighttpd, wrong token (401)
#   hookpipe-accept         valid events, runner on as shipped, no handler
#   hookpipe-accept-metrics hookpipe-accept with [metrics] and [health]
#                           (counters in SPOOL/metrics; target: within 5%)
#   hookpipe-accept-process (diagnostic) ... with durability = process
#   hookpipe-accept-nojournal (diagnostic) ... with journal_max = 0: each
#                           commit flushes its own entry (noop-spool's way)
#   hookpipe-e2e            ... handler /bin/true; delivered/s until drained
#   noop-spool-noisy        noop-spool while dd writes 4 GB beside the spool
#   hookpipe-accept-noisy   hookpipe-accept under the same writer
#   hookpipe-accept-nojournal-noisy (diagnostic) the same, journal_max = 0
#   hookpipe-accept-held    (diagnostic) accept with the runner held off
#   hookpipe-backlog        accept-held over a 1,000,000-entry new/
#   hookpipe-apache         hookpipe.fcgi under Apache mod_fcgid, held off
#
# Environment (for development): BENCH_SECS, BENCH_WARM (seconds),
# BENCH_CONNS ("1 8 32"), BENCH_ONLY (space-separated scenario names),
# BENCH_DRAIN_MAX (seconds to wait for a runner to drain, default 600),
# BENCH_BACKLOG (entries generated for hookpipe-backlog, default
# 1000000), BENCH_NOISE_MB (MiB the noisy writer writes, default 4096).
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
need 'command -v python3 && [ -x /usr/bin/python3 ]' python3
need 'command -v curl' curl
need 'command -v flock' util-linux
need 'command -v dd && command -v sync' coreutils
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
backlog_n=${BENCH_BACKLOG:-1000000}
noise_mb=${BENCH_NOISE_MB:-4096}
apache_warm=$((quick ? 3 : 5))
# The order keeps the points a ratio compares next to each other: the
# two noisy ones, and the backlog after its empty-spool twin (-held).
all_scens="noop noop-spool webhook-sync webhook-async hookpipe-reject
hookpipe-accept hookpipe-accept-metrics hookpipe-accept-process
hookpipe-accept-nojournal hookpipe-e2e
noop-spool-noisy hookpipe-accept-noisy hookpipe-accept-nojournal-noisy
hookpipe-accept-held hookpipe-backlog hookpipe-apache"
all_scens=$(printf '%s' "$all_scens" | tr '\n' ' ')
only=${BENCH_ONLY:-$all_scens}
for scen in $only; do
	case " $all_scens " in
	*" $scen "*) ;;
	*) echo "bench: unknown scenario $scen (known: $all_scens)" >&2
	   exit 2 ;;
	esac
done

# conns_of SCENARIO: the connections it runs at. The noisy writer and
# the backlog are one-shot states of the disk: one point each, at 8.
conns_of() {
	case $1 in
	*-noisy|hookpipe-backlog) echo 8 ;;
	*) echo "$conns_list" ;;
	esac
}
maxconns=8
for c in $conns_list; do [ "$c" -gt "$maxconns" ] && maxconns=$c; done

mkdir -p "$top/bench/results"
stamp=$(date +%Y-%m-%d-%H%M%S)
base=$top/bench/results/peers-$stamp
[ "$quick" = 1 ] && base=$top/bench/results/peers-quick-$stamp
tsv=$base.tsv
# One row per point; report.py reads the columns by name.
cols="scenario conns secs requests req_s p50_ms p99_ms errors statuses
cpu_s cpu_us_per_req tree_rss_mib tree_pss_mib proc_rss_max_mib
responder_hwm_mib responder_pss_mib procs_max hwm_kb delivered delivered_s
acked stored spawns spawns_s noise_mib backlog gen_s status_s load1 note"
printf '%s' "$cols" | tr ' \n' '\t\t' > "$tsv"
echo >> "$tsv"
declare -A R

# emit_row: append the fields in R as one row of the TSV.
emit_row() {
	local col line="" sep=""
	for col in $cols; do
		line="$line$sep${R[$col]:-}"
		sep=$'\t'
	done
	printf '%s\n' "$line" >> "$tsv"
}

# shellcheck disable=SC2046 # pkg-config's flags are meant to split
cc -O2 -Wall -Wextra $(pkg-config --cflags fcgi) -o "$T/noop-fcgi" \
    "$top/bench/noop-fcgi.c" $(pkg-config --libs fcgi) ||
    { echo "bench: could not build bench/noop-fcgi.c" >&2; exit 1; }

# The server tree of the running scenario: its root pid(s), URL, the
# token to send and the status that counts as success; runner is "on"
# (started by the responders, counted), "held" (run.lock held by the
# bench) or "" (not hookpipe).
roots="" url="" send_token="" expect=2xx spool="" kind="" responder=""
runner="" noisy=0 base_stored=0 gen_s="" status_s="" backlog_id=""
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

# alive PID: the process runs (a zombie waiting to be reaped does not).
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	case $st in ''|Z) return 1 ;; esac
	return 0
}

# stop_server: stop the scenario's server, then any process of its tree
# that outlived it (noted before the stop; all started by this script).
stop_server() {
	local left p
	# shellcheck disable=SC2086 # roots is a list of pids
	left=$(tree_pids $roots)
	# shellcheck disable=SC2086
	stop $roots
	for p in $left; do
		alive "$p" || continue
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

count_lines() {	# count_lines FILE: its lines, 0 when missing
	if [ -e "$1" ]; then wc -l < "$1"; else echo 0; fi
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

# noise_start: the noisy writer, dd of $noise_mb MiB of zeros into a file
# beside the spool (the same file system), flushed at its end
# (conv=fsync); until then the kernel writes its dirty pages back.
noise_start() {
	rm -f "$W/noise"
	dd if=/dev/zero of="$W/noise" bs=1M count="$noise_mb" conv=fsync \
	    status=none & noise_pid=$!
	pids+=("$noise_pid")
}

# noise_stop: stop the writer (by its pid), note how much it wrote and
# whether it was done, remove its file, then wait (120 s at most) until
# the kernel's dirty and write-back pages are back under 64 MiB, so that
# the next point does not pay for this one's writes.
noise_stop() {
	local size state kb
	size=$(stat -c %s "$W/noise" 2>/dev/null || echo 0)
	if alive "$noise_pid"; then
		state="still writing at the end of the load, stopped"
	else
		state="done before the end of the load"
	fi
	stop "$noise_pid"
	rm -f "$W/noise"
	R[noise_mib]=$((size / 1048576))
	note="$note noisy writer: ${R[noise_mib]} MiB written, $state;"
	for _ in $(seq 1200); do
		kb=$(awk '/^(Dirty|Writeback):/ { s += $2 } END { print s }' /proc/meminfo)
		[ "$kb" -lt 65536 ] && return 0
		sleep 0.1
	done
	note="$note write-back not settled after 120 s;"
}

# by_comm LIST: the value for the responder in a COMM:KB,... list.
by_comm() {
	printf '%s\n' "$1" | tr ',' '\n' | awk -F: -v r="$responder" '$1 == r { print $2 }'
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# point CONNECTIONS: warm up, then measure one point and write its row.
point() {
	local c=$1 stat=$W/stat.$1 sampler kv t0 t1 delivered="" rate=""
	local stored="" done0=0 note="" kvs sp0=0 sp1=0
	R=([scenario]=$scen [conns]=$c [secs]=$secs)
	# mod_fcgid grows its pool on demand, with requests sleeping 1 s
	# while it does: the warm-up there lasts long enough to build it.
	local w=$warm
	[ "$scen" = hookpipe-apache ] && [ "$w" -lt "$apache_warm" ] && w=$apache_warm
	wrk_run "$w" "$c" || { row_na "$c" "wrk failed (warm-up)"; return; }
	acked=$((acked + r_ok))
	if [ "$runner" = on ]; then
		drain || note="warm-up did not drain in ${drain_max}s;"
		done0=$(count_files "$spool/done")
	fi
	R[load1]=$(cut -d' ' -f1 /proc/loadavg)
	rm -f "$stat" "$stat.ready"
	# shellcheck disable=SC2086 # roots is a list of pids
	python3 "$top/bench/treestat.py" "$stat" 0.2 $roots & sampler=$!
	pids+=("$sampler")
	for _ in $(seq 200); do
		[ -e "$stat.ready" ] && break
		sleep 0.05
	done
	[ "$noisy" = 1 ] && noise_start
	sp0=$(count_lines "$W/spawns")
	t0=$(date +%s.%N)
	if ! wrk_run "$secs" "$c"; then
		[ "$noisy" = 1 ] && noise_stop
		stop "$sampler"
		row_na "$c" "wrk failed"
		return
	fi
	sp1=$(count_lines "$W/spawns")
	acked=$((acked + r_ok))
	[ "$noisy" = 1 ] && noise_stop
	if [ "$runner" = on ]; then
		R[spawns]=$((sp1 - sp0))
		R[spawns_s]=$(awk -v n="${R[spawns]}" -v d="$r_dur_us" 'BEGIN { printf "%.2f", n * 1e6 / d }')
		drain || note="$note not drained after ${drain_max}s;"
		t1=${drained_at:-$(date +%s.%N)}
		stored=$(count_files "$spool/new" "$spool/cur" "$spool/retry" "$spool/done" "$spool/dead")
		[ "$(count_files "$spool/retry" "$spool/dead")" -gt 0 ] &&
		    note="$note $(count_files "$spool/retry") in retry/, $(count_files "$spool/dead") in dead/;"
		if [ "$kind" = e2e ]; then
			delivered=$(($(count_files "$spool/done") - done0))
			rate=$(awk -v n="$delivered" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
			note="$note drained $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s after start;"
		fi
	elif [ -n "$spool" ]; then
		stored=$(($(count_files "$spool/new") - base_stored))
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
		R[acked]=$acked R[stored]=$stored
	fi
	[ "$scen" = hookpipe-backlog ] &&
	    R[backlog]=$base_stored R[gen_s]=$gen_s R[status_s]=$status_s
	R[requests]=$r_req R[errors]=$r_errors R[statuses]=$r_statuses
	R[req_s]=$(awk -v n="$r_req" -v d="$r_dur_us" 'BEGIN { printf "%.1f", n * 1e6 / d }')
	R[p50_ms]=$(awk -v u="$r_p50_us" 'BEGIN { printf "%.2f", u / 1000 }')
	R[p99_ms]=$(awk -v u="$r_p99_us" 'BEGIN { printf "%.2f", u / 1000 }')
	R[cpu_s]=$cpu_s
	R[cpu_us_per_req]=$(awk -v s="$cpu_s" -v n="${delivered:-$r_req}" 'BEGIN { if (n > 0) printf "%.1f", s * 1e6 / n; else print "" }')
	# shellcheck disable=SC2154 # set from the sampler's line above
	R[tree_rss_mib]=$(mib "$rss_peak_kb") R[tree_pss_mib]=$(mib "$pss_peak_kb")
	R[proc_rss_max_mib]=$(mib "$proc_rss_max_kb")
	R[responder_hwm_mib]=$(mib "$(by_comm "$hwm")")
	R[responder_pss_mib]=$(mib "$(by_comm "$pss")")
	R[procs_max]=$procs_max R[hwm_kb]=$hwm
	R[delivered]=$delivered R[delivered_s]=$rate
	R[note]=$(printf '%s' "$note" | sed 's/^ *//; s/;$//')
	emit_row
	printf '  %-24s c=%-2s %9s req/s  p50 %6s ms  p99 %7s ms  errors %s%s%s%s\n' \
	    "$scen" "$c" "${R[req_s]}" "${R[p50_ms]}" "${R[p99_ms]}" "$r_errors" \
	    "${rate:+  delivered $rate/s}" \
	    "${R[spawns]:+  runner spawns ${R[spawns]}}" \
	    "${R[noise_mib]:+  noise ${R[noise_mib]} MiB}"
}

row_na() {	# row_na CONNECTIONS WHY: a row with only the reason
	R=([scenario]=$scen [conns]=$1 [secs]=$secs [note]=$2)
	emit_row
	printf '  %-24s c=%-2s %s\n' "$scen" "$1" "$2"
}

# post_event ID: one valid event with that id, by curl; its answer in
# $W/check.out, its status printed.
post_event() {
	curl -s -o "$W/check.out" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' -H "x-auth-token: $send_token" \
	    --data "{\"id\":\"$1\",\"event\":\"bench.event\",\"data\":{}}" "$url"
}

# check_once: one request by curl before loading, so that a scenario
# set up wrong stops here with its answer instead of filling the table.
check_once() {
	local got
	got=$(post_event bench-check)
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
	# The generated backlog is what hookpipe itself would have stored:
	# an event with the id of one of its entries is a duplicate, which
	# the responder answers only after checking that entry's bytes and
	# CRC-32C against its envelope.
	if [ "$scen" = hookpipe-backlog ]; then
		got=$(post_event "$backlog_id")
		if [ "$got" != 200 ] || ! grep -q '"duplicate":true' "$W/check.out"; then
			echo "bench: $scen: $backlog_id, in the generated backlog, was not a duplicate ($got):" >&2
			head -c 400 "$W/check.out" >&2
			why="n/a (the generated backlog is not read as hookpipe's own)"
			return 1
		fi
	fi
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

# runner_wrapper: $W/runner, named in [delivery] runner: appends a line
# to $W/spawns at each start, then executes the real hookpipe-run with
# the same arguments (one exec of dash more per spawn).
runner_wrapper() {
	printf '#!/bin/sh\necho x >> '\''%s/spawns'\''\nexec '\''%s/hookpipe-run'\'' "$@"\n' \
	    "$W" "$build" > "$W/runner"
	chmod 755 "$W/runner"
}

# make_backlog: fill $spool/new (and ids/) with $backlog_n entries, as
# the responder writes them; time it, then time hookpipe status on it.
make_backlog() {
	local a b out
	a=$(date +%s.%N)
	out=$(/usr/bin/python3 "$top/bench/spoolgen.py" "$spool" "$backlog_n") ||
	    { why="n/a (bench/spoolgen.py failed)"; return 1; }
	b=$(date +%s.%N)
	gen_s=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", b - a }')
	backlog_id=${out#* }
	base_stored=$(count_files "$spool/new")
	a=$(date +%s.%N)
	"$build/hookpipe" -c "$W/hookpipe.ini" status > "$W/status.txt" 2>&1 ||
	    { cat "$W/status.txt" >&2; why="n/a (hookpipe status failed on the backlog)"; return 1; }
	b=$(date +%s.%N)
	status_s=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }')
	"$build/hookpipe" -c "$W/hookpipe.ini" show "${out%% *}" > "$W/show.txt" 2>&1 ||
	    { cat "$W/show.txt" >&2; why="n/a (hookpipe show refused a generated entry)"; return 1; }
	echo "  $scen: $base_stored entries generated in ${gen_s}s; hookpipe status on them: ${status_s}s"
}

# hookpipe_setup HOOKPIPE-LINES MORE-SECTIONS: write and check the
# configuration in $W; 1 (with $why) when hookpipe check refuses it.
hookpipe_setup() {
	spool=$W/spool
	hookpipe_ini "$W" "$1" "$2"
	"$build/hookpipe" -c "$W/hookpipe.ini" check > "$W/check.txt" 2>&1 && return 0
	if grep -q "unknown key 'durability'" "$W/check.txt"; then
		why="n/a (not supported by this build)"
	else
		why="n/a (hookpipe check refused the config)"
		cat "$W/check.txt" >&2
	fi
	return 1
}

# setup SCENARIO: start its server; 1 when it cannot run here (row n/a).
setup() {
	local extra more
	W=$T/$scen
	mkdir -p "$W"
	send_token=$token expect=2xx spool="" kind=load responder=hookpipe.fcgi
	acked=0 holder_pid="" runner="" noisy=0 base_stored=0 roots=""
	case $scen in
	*-noisy) noisy=1 ;;
	esac
	case $scen in
	noop|noop-spool|noop-spool-noisy)
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
	hookpipe-accept|hookpipe-accept-metrics|hookpipe-accept-process|hookpipe-accept-noisy|hookpipe-e2e|hookpipe-accept-nojournal*)
		# The runner as shipped: started by the responders when
		# they find run.lock free, through the counting wrapper.
		runner=on extra="" more="[delivery]\nrunner = $W/runner\n"
		[ "$scen" = hookpipe-accept-process ] && extra='durability = process\n'
		case $scen in hookpipe-accept-nojournal*)
			extra='journal_max = 0\n' ;;
		esac
		# The counters on: each request adds to SPOOL/metrics.
		[ "$scen" = hookpipe-accept-metrics ] &&
		    more="${more}[metrics]\n[health]\n"
		if [ "$scen" = hookpipe-e2e ]; then
			kind=e2e
			more="${more}[event bench.event]\nhandler = /bin/true\n"
		fi
		runner_wrapper
		hookpipe_setup "$extra" "$more" || return 1
		start_lighttpd_fcgi "$build/hookpipe.fcgi" "HOOKPIPE_CONFIG=$W/hookpipe.ini"
		url=http://127.0.0.1:$port/hooks ;;
	hookpipe-accept-held|hookpipe-backlog)
		# No runner: the bench holds run.lock, as a runner busy
		# elsewhere would, so the responders find it taken and start
		# nothing (a runner that exits at once, such as /bin/true,
		# would be started by every request instead).
		runner=held
		hookpipe_setup "" "" || return 1
		hold_runner "$spool"
		if [ "$scen" = hookpipe-backlog ]; then
			make_backlog || return 1
		fi
		start_lighttpd_fcgi "$build/hookpipe.fcgi" "HOOKPIPE_CONFIG=$W/hookpipe.ini"
		url=http://127.0.0.1:$port/hooks ;;
	hookpipe-apache)
		spool=$W/spool
		start_apache ;;
	esac
	roots=$server_pid
	why="n/a (first request failed)"
	check_once
}

echo "bench: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ${secs}s per point after ${warm}s warm-up (Apache ${apache_warm}s), connections: $conns_list (noisy and backlog: 8); backlog $backlog_n entries, noisy writer $noise_mb MiB"
for scen in $only; do
	# One flush of the file system first: else the first flushes
	# (syncfs) of the scenario's responders would write back what came
	# before, such as the removal of the previous scenario's spool
	# (2-3x fewer req/s in a 3 s point when it was not done).
	sync -f "$T"
	if ! setup; then
		[ -n "$roots" ] && stop_server
		for c in $(conns_of "$scen"); do row_na "$c" "$why"; done
	else
		for c in $(conns_of "$scen"); do point "$c"; done
		stop_server
	fi
	# The spools are removed as soon as they are measured: the backlog
	# alone takes ~8 GB and two million inodes.
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "${T:?}/$scen"
done

md=$base.md
{
	echo "# bench/peers.sh, $(date '+%Y-%m-%d %H:%M')"
	echo
	echo "Command: \`bench/peers.sh$([ "$quick" = 1 ] && echo ' --quick')\`;" \
	    "hookpipe $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?');" \
	    "$(nproc) cores; $(uname -r); ${secs}s per point after a ${warm}s" \
	    "warm-up at the same concurrency (Apache: ${apache_warm}s, to grow" \
	    "the mod_fcgid pool); backlog $backlog_n entries; noisy writer" \
	    "$noise_mb MiB; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)."
	echo
	python3 "$top/bench/report.py" "$tsv"
} > "$md"
cat "$md"
echo
echo "bench: wrote $tsv and $md"
