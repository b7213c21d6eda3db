#!/usr/bin/env bash
# powercut.sh: the power-cut test (kill -9 is not a power loss). The spool
# lives on a loop-mounted ext4 image; several senders load a real
# lighttpd; at a random moment the file system is cut off as xfstests'
# godown does (EXT4_IOC_SHUTDOWN, EXT4_GOING_FLAGS_NOLOGFLUSH: nothing not
# yet flushed reaches the disk); everything left is killed, the image is
# unmounted and mounted again (the journal replay of a reboot) and
# hookpipe-run recovers. Every event that got a 200 must then be stored
# intact and run its handler with exactly the bytes sent; every event
# that did not, sent again as a sender would, must be stored and run (not
# answered "duplicate" of an entry that is not intact). The cut hits the
# acceptance (no runner), acceptance and delivery together (the
# responders start runners), and a runner's recovery and delivery of a
# backlog. With durability = process the same cut must lose acknowledged
# events: the test is shown able to fail.
#
# The assertions look at behaviour only (HTTP answers, the entries'
# envelope line and bytes, handler runs), not at how the commit works.
#
# POWERCUT_ROUNDS (6): rounds of four cuts with durability = full;
# POWERCUT_TIGHT (3): cuts with durability = full and a journal full
# after a few commits (journal_max = 8K), so that the commits
# before the cut bypass it (flush their own entry) but for the first;
# POWERCUT_PROCESS (3): cuts with durability = process (up to twice as
# many while none lost anything).
. "$(dirname "$0")/lib.sh"

# Torn entries (never acknowledged: empty or NUL-filled after the cut)
# fail their checksum: hookpipe-run restores from the journal those that
# were acknowledged and moves the others to quarantine/, so none is left
# among the events.

ROUNDS=${POWERCUT_ROUNDS:-6}
TIGHT_CUTS=${POWERCUT_TIGHT:-3}
PROCESS_CUTS=${POWERCUT_PROCESS:-3}
PY=/usr/bin/python3

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP mounting an ext4 image needs root"
	exit 0
fi
for tool in mkfs.ext4 mount umount losetup "$PY" "$LIGHTTPD"; do
	command -v "$tool" >/dev/null 2>&1 ||
	    { echo "1..0 # SKIP $tool is not installed"; exit 0; }
done
# A killed responder's runner may be in LeakSanitizer's exit scan (see
# crash.sh): no leak scan here.
export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"

TOKEN=powercut-token-0123456789ab
MNT=$T/mnt
IMG=$T/spool.img
REC=$T/rec
mkdir -p "$MNT" "$T/h" "$REC/locks"
printf '%s\n' "$TOKEN" > "$T/token"
chmod 600 "$T/token"

# The handler records, outside the image, each run's id and the sha256
# of the body it got; a lock per id (a leftover run still holding it)
# shows two runs of one event at the same time.
cat > "$T/h/k" <<'SH'
#!/bin/bash
sum=$(sha256sum) || exit 75
exec 9>>"$REC/locks/$HOOKPIPE_ID"
if ! flock -n 9; then
	echo "$HOOKPIPE_ID" >> "$REC/concurrent.log"
	exit 3
fi
echo "start $HOOKPIPE_ID $$" >> "$REC/runs.log"
read -r -t 0.003 -u 8 _ 8<> "$REC/never"
echo "done $HOOKPIPE_ID ${sum%% *}" >> "$REC/runs.log"
SH
chmod 755 "$T/h/k"
mkfifo "$REC/never"
: > "$REC/concurrent.log"
: > "$REC/runs.log"

# The senders, the cut, the checks.
cat > "$T/pc.py" <<'PY'
import fcntl, hashlib, http.client, json, os, struct, sys
import threading, time

def body(i):
    """The bytes sent for id i: a function of the id alone, so that any
    stored entry or handler run can be checked against it. Sizes from
    under one block to three blocks."""
    h = hashlib.sha256(i.encode()).hexdigest()
    size = (90, 1040, 4200, 12300)[int(h[:2], 16) % 4]
    head = '{"event":"k","id":"%s","pad":"' % i
    n = max(0, size - len(head) - 2)
    return (head + (h * (n // 64 + 1))[:n] + '"}').encode()

def sha(i):
    return hashlib.sha256(body(i)).hexdigest()

def post(conn, port, token, i):
    """(status, duplicate) or (None, reason); conn is a one-item list."""
    try:
        if conn[0] is None:
            conn[0] = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn[0].request("POST", "/hooks", body(i),
                        {"Content-Type": "application/json",
                         "x-auth-token": token})
        r = conn[0].getresponse()
        data = r.read()
        dup = 0
        if r.status == 200:
            try:
                dup = 1 if json.loads(data).get("duplicate") is True else 0
            except ValueError:
                pass
        return r.status, dup
    except Exception as ex:
        conn[0] = None
        return None, type(ex).__name__

class Rec:
    """One record file: a line per step, each one write on O_APPEND, so
    a sender killed at any moment leaves whole lines."""
    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    def put(self, line):
        os.write(self.fd, (line + "\n").encode())

def load(port, token, prefix, nclients, most, secs, stop, recdir):
    """nclients senders, most events each, for at most secs seconds or
    until the stop file exists. S id: about to send; A id dup: got 200;
    N id why: anything else, after which the sender stops (the power is
    out). No retry here: that comes after the cut."""
    end = time.time() + secs
    def sender(k):
        rec, conn = Rec("%s/%s.c%d" % (recdir, prefix, k)), [None]
        for n in range(most):
            if time.time() > end or os.path.exists(stop):
                break
            i = "%s-%d-%d" % (prefix, k, n)
            rec.put("S " + i)
            st, x = post(conn, port, token, i)
            if st == 200:
                rec.put("A %s %d %.6f" % (i, x, time.monotonic()))
            else:
                rec.put("N %s %s" % (i, st or x))
            if st != 200:
                break
    ts = [threading.Thread(target=sender, args=(k,)) for k in range(nclients)]
    [t.start() for t in ts]
    [t.join() for t in ts]

def records(recdir, prefix):
    """For ids whose name starts with prefix: sent, acked (id -> the
    duplicate flag of its 200), in record order. A 200 that reached the
    sender after the cut began (PREFIX.cut holds its moment) is not
    counted as acknowledged: no answer arrives after a real power loss,
    and ext4's shutdown lets an fsync that races with it return 0 for
    data it drops (shown with plain appends and fdatasync by several
    processes; none taken before the cut was ever lost). Such an event
    is sent again like any other without a 200."""
    sent, acked, cuts = {}, {}, {}
    late = records.late = {}
    for f in os.listdir(recdir):
        if f.endswith(".cut"):
            with open(os.path.join(recdir, f)) as fh:
                cuts[f[:-4]] = float(fh.read().split()[0])
    for f in sorted(os.listdir(recdir)):
        if not f.startswith(prefix) or ".c" not in f or f.endswith(".cut"):
            continue
        with open(os.path.join(recdir, f)) as fh:
            for line in fh:
                p = line.split()
                if len(p) < 2 or not p[1].startswith(prefix):
                    continue
                if p[0] == "S":
                    sent[p[1]] = 1
                elif p[0] == "A" and len(p) == 4:
                    cut_at = cuts.get(p[1].rsplit("-", 2)[0])
                    if cut_at is None or float(p[3]) < cut_at:
                        acked[p[1]] = int(p[2])
                    else:
                        late[p[1]] = 1
    return sent, acked

def resend(port, token, recdir, prefix):
    """Send once more, as a sender would, every id of prefix (one cut)
    that never got a 200: recorded as R id dup, or N id why."""
    sent, acked = records(recdir, prefix)
    rec, conn = Rec("%s/%s.r" % (recdir, prefix)), [None]
    n = 0
    for i in sent:
        if i in acked:
            continue
        for attempt in range(3):    # a refused connection is retried
            st, x = post(conn, port, token, i)
            if st is not None:
                break
            time.sleep(0.2)
        rec.put(("R %s %d" if st == 200 else "N %s %s") % (i, x if st == 200 else (st or x)))
        n += 1
    print(n)

def scan(spool):
    """Every entry in new/ cur/ retry/ done/ dead/: id -> [folders where
    it is intact], and the torn ones (folder/name: why)."""
    intact, torn = {}, []
    for d in ("new", "cur", "retry", "done", "dead"):
        try:
            names = os.listdir(os.path.join(spool, d))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(spool, d, name), "rb") as fh:
                    data = fh.read()
            except OSError as ex:
                torn.append("%s/%s: unreadable (%s)" % (d, name, ex.strerror))
                continue
            why = None
            nl = data.find(b"\n")
            env = None
            if len(data) == 0:
                why = "empty"
            elif data.count(0) == len(data):
                why = "%d NUL bytes" % len(data)
            elif nl < 0:
                why = "no envelope line (%d bytes)" % len(data)
            else:
                try:
                    env = json.loads(data[:nl])
                except ValueError:
                    why = "the envelope is not JSON (%d bytes)" % len(data)
            if why is None:
                b, i = data[nl + 1:], env.get("id")
                if env.get("bytes") != len(b):
                    why = "%d body bytes, the envelope says %s" % (len(b), env.get("bytes"))
                elif not isinstance(i, str) or b != body(i):
                    why = "the body is not what was sent for %s%s" % (i, " (NUL bytes in it)" if b.count(0) else "")
            if why is None:
                intact.setdefault(i, []).append(d)
            else:
                torn.append("%s/%s: %s" % (d, name, why))
    return intact, torn

def where(spool, i):
    """A lost id, with what is left of it: the files whose envelope names
    it in any folder (quarantine/ and tmp/ too), and whether a journal
    generation still holds it, for the diagnosis."""
    needle, seen = ('"id":"%s"' % i).encode(), []
    for d in ("new", "cur", "retry", "done", "dead", "quarantine", "tmp", "journal"):
        try:
            names = os.listdir(os.path.join(spool, d))
        except OSError:
            continue
        for name in names:
            try:
                with open(os.path.join(spool, d, name), "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if needle in (data if d == "journal" else data[:data.find(b"\n") + 1]):
                seen.append("%s/%s (%d bytes)" % (d, name, len(data)))
    return "%s: %s" % (i, ", ".join(seen) if seen else "nowhere")

def check(spool, recdir, mode, out):
    """After recovery: one line of numbers for the whole mode (every cut
    so far), the details in files beside out."""
    sent, acked = records(recdir, mode)
    resent = {}
    for f in os.listdir(recdir):
        if f.startswith(mode) and f.endswith(".r"):
            with open(os.path.join(recdir, f)) as fh:
                for line in fh:
                    p = line.split()
                    if len(p) == 3 and p[0] == "R":
                        resent[p[1]] = int(p[2])
    intact, torn = scan(spool)
    ran, ranbad = {}, []
    try:
        with open(os.path.join(recdir, "runs.log")) as fh:
            for line in fh:
                p = line.split()
                if len(p) == 3 and p[0] == "done" and p[1].startswith(mode):
                    if p[2] == sha(p[1]):
                        ran[p[1]] = 1
                    else:
                        ranbad.append("%s ran with a body of sha256 %s" % (p[1], p[2]))
    except OSError:
        pass
    def done(i):
        return "done" in intact.get(i, [])
    lost = sorted(where(spool, i) for i in acked if not done(i))
    notrun = sorted(i for i in acked if i not in ran)
    rlost = sorted(i for i in resent if not done(i) or i not in ran)
    wrongdup = sorted(i for i in resent if resent[i] and not done(i))
    rfail = sorted(i for i in sent if i not in acked and i not in resent)
    twice = sorted(i for i in intact if len(intact[i]) > 1)
    for name, v in (("lost", lost), ("notrun", notrun), ("torn", torn),
                    ("ranbad", ranbad), ("rlost", rlost),
                    ("wrongdup", wrongdup), ("rfail", rfail),
                    ("twice", twice)):
        with open("%s.%s" % (out, name), "w") as fh:
            fh.write("".join(x + "\n" for x in v))
    print("acked=%d sent=%d unacked=%d lost=%d notrun=%d torn=%d torn_empty=%d "
          "torn_nul=%d ranbad=%d resent=%d resent_dup=%d rlost=%d "
          "wrongdup=%d rfail=%d twice=%d late=%d" % (
          len(acked), len(sent), len(sent) - len(acked), len(lost), len(notrun), len(torn),
          sum(1 for t in torn if t.endswith(": empty")),
          sum(1 for t in torn if "NUL" in t), len(ranbad), len(resent),
          sum(resent.values()), len(rlost), len(wrongdup), len(rfail),
          len(twice), len(records.late)))

def cut(mnt, at):
    """The cut; its moment (CLOCK_MONOTONIC, the senders' clock) goes
    to the file at first, just before."""
    if at:
        with open(at, "w") as fh:
            fh.write("%.6f\n" % time.monotonic())
    fd = os.open(mnt, os.O_RDONLY)
    # EXT4_IOC_SHUTDOWN = _IOR('X', 125, __u32); EXT4_GOING_FLAGS_NOLOGFLUSH
    fcntl.ioctl(fd, 0x8004587D, struct.pack("I", 2))
    os.close(fd)

def users(*prefixes):
    """Processes that hold anything under the prefixes (working folder,
    root, open files, mappings): the mount point and the handlers'
    folder are this test's own, so are they."""
    me = (os.getpid(), os.getppid())
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) in me:
            continue
        paths = []
        try:
            for l in ("cwd", "root"):
                paths.append(os.readlink("/proc/%s/%s" % (p, l)))
            for fd in os.listdir("/proc/%s/fd" % p):
                try:
                    paths.append(os.readlink("/proc/%s/fd/%s" % (p, fd)))
                except OSError:
                    pass
            with open("/proc/%s/maps" % p) as fh:
                paths += [l.split(None, 5)[-1].strip() for l in fh if "/" in l]
        except OSError:
            continue
        if any(x == q or x.startswith(q + "/") for x in paths for q in prefixes):
            print(p)

cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "load":
    load(int(a[0]), a[1], a[2], int(a[3]), int(a[4]), float(a[5]), a[6], a[7])
elif cmd == "resend":
    resend(int(a[0]), a[1], a[2], a[3])
elif cmd == "check":
    check(a[0], a[1], a[2], a[3])
elif cmd == "cut":
    cut(a[0], a[1] if len(a) > 1 else None)
elif cmd == "users":
    users(*a)
PY

# The image and its mount: commit=60 so that ext4's periodic journal
# commit saves nothing a flush of hookpipe's did not (with process, a
# cut then loses every event acknowledged since the last mount).
mount_image() {
	mount -o loop,commit=60 "$IMG" "$MNT" 2> "$T/mount.err"
}

umount_image() {	# at most 10 s: a killed process may still be exiting
	for _ in $(seq 100); do
		umount "$MNT" 2> "$T/umount.err" && return 0
		sleep 0.1
	done
	diag "umount $MNT: $(cat "$T/umount.err")" \
	    "still using it: $("$PY" "$T/pc.py" users "$MNT" | tr '\n' ' ')"
	return 1
}

new_image() {
	rm -f "$IMG"
	# 256 MiB and an inode per 4 KiB: each event is an entry, an id and
	# a history.
	truncate -s 256M "$IMG" && mkfs.ext4 -q -i 4096 "$IMG" && mount_image
}

new_image || {
	echo "1..0 # SKIP cannot mount an ext4 image on a loop device: $(head -c 300 "$T/mount.err")"
	exit 0
}
MOUNTS+=("$MNT")
if ! "$PY" "$T/pc.py" cut "$MNT" 2> "$T/cut.err"; then
	umount "$MNT"
	echo "1..0 # SKIP EXT4_IOC_SHUTDOWN is refused: $(tail -n 1 "$T/cut.err")"
	exit 0
fi
if ! umount_image || ! mount_image; then
	echo "Bail out! cannot mount $IMG again: $(cat "$T/mount.err")"
	exit 1
fi

# ini NAME DURABILITY RUNNER [LINE]: RUNNER /bin/true keeps the
# responders from starting a runner (the cut then hits acceptance only);
# default starts the one beside hookpipe.fcgi. LINE goes into
# [hookpipe].
ini() {
	{
		printf '[hookpipe]\nspool_dir = %s/spool\nhandlers_dir = %s/h\n' "$MNT" "$T"
		printf 'require_https = no\ndurability = %s\n' "$2"
		[ -n "${4:-}" ] && printf '%s\n' "$4"
		printf '[auth]\ntoken_file = %s/token\n' "$T"
		printf '[delivery]\nretries = 1000\nbackoff = 1s\nconcurrency = 4\ntimeout = 10s\n'
		[ "$3" = default ] || printf 'runner = %s\n' "$3"
		printf '[env]\nREC = %s\n[event k]\nhandler = k\n' "$REC"
	} > "$T/$1.ini"
}
ini accept-full full /bin/true
ini deliver-full full default
ini accept-process process /bin/true
ini accept-tight full /bin/true "journal_max = 8K"

LPID=
PORT=
serve() {	# serve INI: lighttpd with 4 responders configured by INI
	PORT=$(free_port)
	rm -f "$T"/hp.sock*
	lighttpd_conf "$T/lighttpd.conf" "$PORT" "$T/$1.ini" 4
	SERVER_PIDS=()
	start_lighttpd "$T/lighttpd.conf" "$PORT" || return 1
	LPID=${SERVER_PIDS[0]}
}

# stop_serve: lighttpd stopped, and its responders waited for (at most
# 5 s, then killed): none may keep a file of the mount open.
stop_serve() {
	local kids=() p
	[ -n "$LPID" ] && mapfile -t kids < <(pgrep -P "$LPID")
	stop_servers
	for p in "${kids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null
	done
	kill_orphans
	LPID=
}

# kill_orphans: responders lighttpd started just before it was killed
# (it restarts a backend that died), too late for pgrep -P: each is ours
# when its environment names a config of this test's folder.
kill_orphans() {
	local p
	for p in $(pgrep -f -- "$BUILD/hookpipe.fcgi"); do
		tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null |
		    grep -q "^HOOKPIPE_CONFIG=$T/" && kill -9 "$p" 2>/dev/null
	done
}

# kill_all: the power is gone: everything of ours still running is
# killed at once, each by its pid: lighttpd, its responders, the runners
# they started (command line -c $T/...), our own runner, and whatever
# still holds a file of the mount or works in the handlers' folder (a
# handler).
LOADER=
BGRUN=
kill_all() {
	local pids=() p
	[ -n "$LPID" ] && mapfile -t pids < <(pgrep -P "$LPID")
	[ -n "$LPID" ] && pids+=("$LPID")
	[ -n "$BGRUN" ] && pids+=("$BGRUN")
	mapfile -t -O "${#pids[@]}" pids < <(pgrep -f -- "-q -c $T/")
	mapfile -t -O "${#pids[@]}" pids < <("$PY" "$T/pc.py" users "$MNT" "$T/h")
	[ "${#pids[@]}" -gt 0 ] && kill -9 "${pids[@]}" 2>/dev/null
	# Our own children waited for at once: reaped anywhere else, bash
	# would report them "Killed".
	[ -n "$LPID" ] && wait "$LPID" 2>/dev/null
	[ -n "$BGRUN" ] && wait "$BGRUN" 2>/dev/null
	kill_orphans
	# Twice: a runner may have started a handler meanwhile.
	mapfile -t pids < <(pgrep -f -- "-q -c $T/"; "$PY" "$T/pc.py" users "$MNT" "$T/h")
	[ "${#pids[@]}" -gt 0 ] && kill -9 "${pids[@]}" 2>/dev/null
	SERVER_PIDS=()
	LPID=
	BGRUN=
}

# The senders stop by themselves (the stop file, their time bound);
# killed after 15 s at most.
stop_loader() {
	: > "$T/stop"
	for _ in $(seq 150); do
		kill -0 "$LOADER" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$LOADER" 2>/dev/null
	wait "$LOADER" 2>/dev/null
	LOADER=
}

# cut_now: the cut, then the reboot: nothing of ours left, unmount,
# mount (the journal is replayed).
cut_now() {
	[ -n "$T_CUT" ] || T_CUT=$EPOCHREALTIME
	"$PY" "$T/pc.py" cut "$MNT" ${LOADP:+"$REC/$LOADP.cut"} ||
	    { echo "Bail out! EXT4_IOC_SHUTDOWN failed"; exit 1; }
	LOADP=
	: > "$T/stop"
	kill_all
	[ -n "$LOADER" ] && stop_loader
	umount_image || { echo "Bail out! cannot unmount $MNT"; exit 1; }
	mount_image || { echo "Bail out! cannot mount $IMG again: $(cat "$T/mount.err")"; exit 1; }
}

# drain INI: hookpipe-run, cron style, until new/ cur/ retry/ are empty
# (an event whose handler found a leftover run still at work is retried
# after 1 s); at most 60 rounds. A runner that fails, or a spool that
# does not drain, is counted in DRAIN_ERRORS.
DRAIN_ERRORS=0
drain() {
	local left=0 rc
	for _ in $(seq 60); do
		"$BUILD/hookpipe-run" -q -c "$T/$1.ini" 2>> "$T/run.stderr"
		rc=$?
		if [ "$rc" != 0 ]; then
			DRAIN_ERRORS=$((DRAIN_ERRORS + 1))
			diag "hookpipe-run -c $1.ini exited $rc: $(tail -n 2 "$T/run.stderr")"
		fi
		left=$(find "$MNT/spool/new" "$MNT/spool/cur" "$MNT/spool/retry" -type f 2>/dev/null | wc -l)
		[ "$left" -eq 0 ] && return 0
		sleep 1
	done
	DRAIN_ERRORS=$((DRAIN_ERRORS + 1))
	diag "drain: $left entries still pending after 60 rounds"
}

acked_now() { cat "$REC/$1".c* 2>/dev/null | grep -c '^A '; }

# load INI PREFIX MOST SECS: four senders, in the background.
LOADP=
load() {
	T_LOAD=$EPOCHREALTIME
	LOADP=$2
	rm -f "$T/stop"
	serve "$1" || { echo "Bail out! lighttpd did not start"; exit 1; }
	"$PY" "$T/pc.py" load "$PORT" "$TOKEN" "$2" 4 "$3" "$4" "$T/stop" "$REC" &
	LOADER=$!
	STARTED_PIDS+=("$LOADER")
}

# wait_acked PREFIX N: until N events of this load are acknowledged (at
# most 20 s); then a random further 0 to 0.99 s, the moment of the cut
# (the senders are not paced: by then a few hundred more).
wait_acked() {
	for _ in $(seq 200); do
		[ "$(acked_now "$1")" -ge "$2" ] && break
		kill -0 "$LOADER" 2>/dev/null || break
		sleep 0.1
	done
	sleep "0.$((RANDOM % 10))$((RANDOM % 10))"
}

# after_cut INI PREFIX: recovery (hookpipe-run), the senders' retry of
# what got no 200 (through a server that starts no runner), a second
# drain; the numbers go to $T/check.PREFIX.
after_cut() {
	drain "$1"
	serve "${1/deliver/accept}" || { echo "Bail out! lighttpd did not start"; exit 1; }
	"$PY" "$T/pc.py" resend "$PORT" "$TOKEN" "$REC" "$2" > /dev/null
	stop_serve
	drain "$1"
}

# secs FROM TO: seconds between two $EPOCHREALTIME, one decimal.
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
T_LOAD=
T_CUT=
# A failure half-way (Bail out) leaves nothing of ours running, so that
# lib.sh's clean-up can unmount the image.
trap 'kill_all 2>/dev/null; cleanup' EXIT

declare -A TOT=()
CUTS=0
# account MODE KIND: the numbers for the whole mode after this cut;
# the new ones since the previous cut of the mode are this cut's.
NOTE=
account() {	# account MODE CUTS KIND
	local mode=$1 n=$2 kind=$3 line k v cut
	line=$("$PY" "$T/pc.py" check "$MNT/spool" "$REC" "$mode" "$T/check.$mode")
	declare -A now=()
	for kv in $line; do
		k=${kv%%=*}
		v=${kv#*=}
		now[$k]=$v
	done
	cut=$((CUTS + 1))
	[ "$n" -gt 1 ] && cut="$cut-$((CUTS + n))"
	CUTS=$((CUTS + n))
	local pa=${TOT[$mode.acked]:-0} pl=${TOT[$mode.lost]:-0} pt=${TOT[$mode.torn]:-0} pu=${TOT[$mode.unacked]:-0}
	echo "# cut $cut ($mode, $kind): $((now[acked] - pa)) acked, $((now[unacked] - pu)) unacked," \
	    "$((now[lost] - pl)) lost, torn left $((now[torn] - pt)) (empty ${now[torn_empty]}, NUL ${now[torn_nul]} in all)," \
	    "sent again and answered duplicate ${now[resent_dup]} in all$NOTE;" \
	    "load $(secs "$T_LOAD" "$T_CUT") s, recovery and checks $(secs "$T_CUT" "$EPOCHREALTIME") s"
	NOTE=
	T_CUT=
	for k in "${!now[@]}"; do
		TOT[$mode.$k]=${now[$k]}
	done
	TOT[$mode.cuts]=$((${TOT[$mode.cuts]:-0} + n))
	# A cut that came before the senders got going tests little.
	[ $((now[acked] - pa)) -ge 20 ] ||
	    TOT[$mode.idle]=$((${TOT[$mode.idle]:-0} + 1))
}

# bg_runner: one hookpipe-run at work in the background (cut after a
# random delay); what it has to do and what ran before is noted.
bg_runner() {
	PENDING=$(find "$MNT/spool/new" "$MNT/spool/cur" -type f 2>/dev/null | wc -l)
	RAN0=$(grep -c "^done " "$REC/runs.log")
	"$BUILD/hookpipe-run" -q -c "$T/accept-full.ini" 2>> "$T/run.stderr" &
	BGRUN=$!
	STARTED_PIDS+=("$BGRUN")
}

# cut_runner after SECS | cut_runner runs N: the cut, SECS after
# bg_runner, or once its handlers ran N times (polled every 10 ms, at
# most 10 s); whether the runner was still at work then goes into the
# cut's summary and the count of cuts that hit a runner at work.
cut_runner() {
	local ran at=finished
	if [ "$1" = after ]; then
		sleep "$2"
	else
		for _ in $(seq 1000); do
			ran=$(grep -c '^done ' "$REC/runs.log")
			[ $((ran - RAN0)) -ge "$2" ] && break
			kill -0 "$BGRUN" 2>/dev/null || break
			sleep 0.01
		done
	fi
	if kill -0 "$BGRUN" 2>/dev/null; then
		at="at work"
		TOT[f.midrun]=$((${TOT[f.midrun]:-0} + 1))
	fi
	ran=$(grep -c "^done " "$REC/runs.log")
	NOTE="$NOTE; runner $at at the cut ($((ran - RAN0)) of $PENDING run)"
	cut_now
}

START=$SECONDS
echo "# durability = full: $ROUNDS rounds of four cuts"
for r in $(seq "$ROUNDS"); do
	# 1. Acceptance only: no runner while the senders load.
	p=f$r.a
	load accept-full "$p" 1000 6
	wait_acked "$p" 30
	cut_now
	after_cut accept-full "$p"
	account f 1 "acceptance"

	# 2. Acceptance and delivery: the responders start runners. Then
	# 3. the recovery of what that cut left (entries claimed in cur/,
	# a backlog in new/) by one runner, cut again soon after its start.
	p=f$r.d
	load deliver-full "$p" 1000 6
	wait_acked "$p" 30
	cut_now
	bg_runner
	cut_runner after "0.$((RANDOM % 3))$((RANDOM % 10))"
	after_cut deliver-full "$p"
	account f 2 "acceptance and delivery, then recovery"

	# 4. Delivery of a backlog: 400 events accepted (no cut), then one
	# runner at work on them, cut after a random number of runs.
	p=f$r.r
	load accept-full "$p" 100 4
	for _ in $(seq 100); do
		kill -0 "$LOADER" 2>/dev/null || break
		sleep 0.1
	done
	stop_loader
	stop_serve
	bg_runner
	cut_runner runs $((RANDOM % 400))
	after_cut accept-full "$p"
	account f 1 "delivery of a backlog"
done
# 5. Acceptance while the journal is full: the commits bypass it.
# How many did by the moment of the cut is read from journal.state (its
# `direct` counter, at offset 40) before the load and just before the
# cut.
bypassed() { od -An -t u8 -j 40 -N 8 "$MNT/spool/journal.state" 2>/dev/null | tr -d ' '; }
echo "# durability = full, journal_max = 8K: $TIGHT_CUTS cuts"
BYPASSED=0 FEWEST=
for r in $(seq "$TIGHT_CUTS"); do
	p=f$r.t
	n0=$(bypassed)
	load accept-tight "$p" 1000 6
	wait_acked "$p" 60
	n=$(bypassed)
	cut_now
	n=$((${n:-0} - ${n0:-0}))
	BYPASSED=$((BYPASSED + n))
	[ -z "$FEWEST" ] || [ "$n" -lt "$FEWEST" ] && FEWEST=$n
	NOTE="; $n commits had bypassed the full journal"
	after_cut accept-tight "$p"
	account f 1 "acceptance, the journal full"
done
FULL_SECS=$((SECONDS - START))

is "${TOT[f.cuts]}" "$((ROUNDS * 4 + TIGHT_CUTS))" "durability = full: $((ROUNDS * 4 + TIGHT_CUTS)) cuts (acceptance, acceptance and delivery, recovery, delivery of a backlog; acceptance past journal_max)"
ok "$(( ${FEWEST:-0} < 20 ))" "each cut past journal_max came after at least 20 commits that bypassed the journal ($BYPASSED in all, ${FEWEST:-0} the fewest)"
ok "$(( ${TOT[f.midrun]:-0} < ROUNDS ))" "at least half of the cuts after a runner's start hit it at work (${TOT[f.midrun]:-0} of $((ROUNDS * 2)))"
is "${TOT[f.idle]:-0}" 0 "each cut came after at least 20 events of its load were acknowledged (${TOT[f.acked]} in all)"
is "${TOT[f.lost]}" 0 "every acknowledged event is stored intact (done/) after recovery"
[ "${TOT[f.lost]}" = 0 ] || diag "$(head -n 20 "$T/check.f.lost")"
is "${TOT[f.notrun]}" 0 "every acknowledged event ran its handler with exactly its body"
[ "${TOT[f.notrun]}" = 0 ] || diag "$(head -n 20 "$T/check.f.notrun")"
is "$(wc -l < "$REC/concurrent.log")" 0 "no event ever ran twice at the same time"
[ -s "$REC/concurrent.log" ] && diag "$(sort -u "$REC/concurrent.log" | head -n 10)"
is "${TOT[f.rfail]}" 0 "every event that got no 200 got one when sent again after the cut"
[ "${TOT[f.rfail]}" = 0 ] || diag "$(head -n 20 "$T/check.f.rfail")"
is "${TOT[f.rlost]}" 0 "every event sent again after a cut is stored intact and ran"
[ "${TOT[f.rlost]}" = 0 ] || diag "$(head -n 20 "$T/check.f.rlost")"
ok "$(( ${TOT[f.torn]} != 0 ))" "no torn entry (empty, NUL bytes, body not as sent) is left in new/ cur/ retry/ done/ dead/ (${TOT[f.torn]} left)"
[ "${TOT[f.torn]}" = 0 ] || diag "$(head -n 10 "$T/check.f.torn")"
ok "$(( ${TOT[f.ranbad]} != 0 ))" "no handler ran with a body other than the one sent"
[ "${TOT[f.ranbad]}" = 0 ] || diag "$(head -n 10 "$T/check.f.ranbad")"
ok "$(( ${TOT[f.wrongdup]} != 0 ))" "no retry was answered \"duplicate\" of an event that is not stored intact (${TOT[f.wrongdup]} were)"
[ "${TOT[f.wrongdup]}" = 0 ] || diag "$(head -n 10 "$T/check.f.wrongdup")"
umount_image || { echo "Bail out! cannot unmount $MNT"; exit 1; }
# KEEP=1: the full mode's image stays beside the test's folder for a look.
[ "${KEEP:-0}" = 1 ] && cp --sparse=always "$IMG" "$T/full.img"

# durability = process: the same cut must lose acknowledged events.
START=$SECONDS
new_image || { echo "Bail out! cannot mount a new image: $(cat "$T/mount.err")"; exit 1; }
echo "# durability = process: $PROCESS_CUTS cuts (up to $((PROCESS_CUTS * 2)) while none loses anything)"
for r in $(seq $((PROCESS_CUTS * 2))); do
	p=p$r.a
	load accept-process "$p" 1000 6
	wait_acked "$p" 30
	cut_now
	after_cut accept-process "$p"
	account p 1 acceptance
	[ "$r" -ge "$PROCESS_CUTS" ] && [ "${TOT[p.lost]}" -gt 0 ] && break
done
PROCESS_SECS=$((SECONDS - START))
is "$DRAIN_ERRORS" 0 "hookpipe-run recovered and drained the spool after every cut, without an error"
ok "$(( ${TOT[p.lost]} == 0 ))" "durability = process loses acknowledged events in a power cut (${TOT[p.lost]} of ${TOT[p.acked]}): the test can fail"

echo "# totals: $CUTS cuts; full: ${TOT[f.acked]} acknowledged before a cut began (${TOT[f.late]:-0} more answered 200 after it, counted as sent only), ${TOT[f.lost]} lost, ${TOT[f.resent]} sent again (${TOT[f.resent_dup]} answered duplicate, ${TOT[f.wrongdup]} of an entry not intact), torn entries left ${TOT[f.torn]} (empty ${TOT[f.torn_empty]}, NUL-filled ${TOT[f.torn_nul]}), handlers run on a wrong body ${TOT[f.ranbad]}, ids stored twice ${TOT[f.twice]}; process: ${TOT[p.acked]} acknowledged, ${TOT[p.lost]} lost; ${FULL_SECS} s + ${PROCESS_SECS} s"
umount_image || { echo "Bail out! cannot unmount $MNT"; exit 1; }
MOUNTS=()
# mount -o loop sets the loop device to detach itself when unmounted.
is "$(losetup -j "$IMG")" "" "no loop device is left attached to the image"
finish
