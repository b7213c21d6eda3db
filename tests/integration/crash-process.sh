#!/usr/bin/env bash
# crash-process.sh: the kill -9 loop of crash.sh with durability =
# process (no flush before the 200): killing responders and runners at
# random must still lose no acknowledged event.
CRASH_DURABILITY=process CRASH_EVENTS=${CRASH_EVENTS:-1000} \
    exec bash "$(dirname "$0")/crash.sh"
