#!/usr/bin/env bash
# bench/accept.sh: requests per second of hookpipe under lighttpd on
# 127.0.0.1, measured with wrk: refused requests (wrong token) and
# accepted events (durable: fsync of the file and of new/).
#   usage: bench/accept.sh [BUILD-DIR] [SECONDS] [CONNECTIONS]
#   BENCH_RUNNER=off  accept only: the runner lock is held for the whole
#                     run, so no hookpipe-run competes for the CPU
# shellcheck source=bench/lib.sh disable=SC2154 # $token and $T come from it
. "$(dirname "$0")/lib.sh"
build=$(cd "${1:-$top/build}" && pwd) || exit 1
secs=${2:-10}
conns=${3:-8}

printf '#!/bin/sh\nexit 0\n' > "$T/bench.event"
[ "${BENCH_RUNNER:-on}" = off ] && hold_runner "$T/spool"
start_hookpipe "$build" '[event bench.event]\nhandler = /bin/true\n'
echo "hookpipe under lighttpd, $conns connections, ${secs}s each, $(nproc) cores"
BENCH_EXPECT=401 load reject-401 wrong-token "$secs" "$conns"
load accept-200 "$token" "$secs" "$conns"
sleep 2
echo "events in spool: $(find "$T/spool/new" "$T/spool/cur" "$T/spool/done" -type f | wc -l)" \
    "(done: $(find "$T/spool/done" -type f | wc -l))"
