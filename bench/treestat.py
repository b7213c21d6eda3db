#!/usr/bin/env python3
"""treestat.py: CPU time and memory of a server's process tree, for
bench/peers.sh.

usage: treestat.py OUT INTERVAL ROOT-PID...

The tree is every process whose parent chain reaches a ROOT-PID, found
afresh from /proc/*/stat at each look. At the start it notes the tree's
CPU time, writes OUT.ready, then samples memory every INTERVAL seconds
until SIGTERM; then it notes the CPU time again and writes one line to OUT:

  cpu_s=S rss_peak_kb=N pss_peak_kb=N proc_rss_max_kb=N procs_max=N
  hwm=COMM:KB,... pss=COMM:KB,...

CPU time of the tree = sum over its live (and zombie) processes of
utime + stime + cutime + cstime. cutime/cstime hold the time of children
that exited and were waited for, so short-lived children (handlers,
runners) still count once they are reaped by a process of the tree; the
difference end - start is the tree's CPU over the window. A child that
exits unreaped stays a zombie with its own times, also counted.

Memory: rss_peak = largest sum of VmRSS over the tree at one sample (shared
pages counted once per process), pss_peak = the same with Pss from
smaps_rollup (shared pages divided among their users), proc_rss_max =
largest VmRSS of one process, hwm = per command name, the largest VmHWM
(the kernel's own peak RSS of a process, so peaks between samples count
for processes alive at some sample), pss = per command name, the largest
Pss of one process at a sample.
"""
import os
import signal
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


def procs():
    """pid -> (comm, ppid, ticks) for every process readable now."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d, "rb") as f:
                s = f.read().decode("ascii", "replace")
        except OSError:
            continue
        lp, rp = s.index("("), s.rindex(")")
        f = s[rp + 2:].split()
        # fields after comm: state(3) ppid(4) ... utime(14) stime(15)
        # cutime(16) cstime(17); f[0] is field 3
        ticks = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        out[int(d)] = (s[lp + 1:rp], int(f[1]), ticks)
    return out


def tree(roots):
    ps = procs()
    kids = {}
    for pid, (_, ppid, _) in ps.items():
        kids.setdefault(ppid, []).append(pid)
    seen, todo = [], [r for r in roots if r in ps]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(kids.get(p, []))
    return {p: ps[p] for p in seen}


def status_kb(pid, keys):
    vals = dict.fromkeys(keys, 0)
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k = line.split(":", 1)[0]
                if k in vals:
                    vals[k] = int(line.split()[1])
    except OSError:
        pass
    return vals


def pss_kb(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def by_comm(d):
    return ",".join("%s:%d" % (k.replace(" ", "_"), v)
                    for k, v in sorted(d.items()))


def main():
    out, interval, roots = sys.argv[1], float(sys.argv[2]), \
        [int(a) for a in sys.argv[3:]]
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    t0 = sum(v[2] for v in tree(roots).values())
    with open(out + ".ready", "w") as f:
        f.write("%d\n" % t0)
    rss_peak = pss_peak = proc_max = procs_max = 0
    hwm, pssmax = {}, {}
    while not stop:
        t = tree(roots)
        rss = pss = 0
        for pid, (comm, _, _) in t.items():
            v = status_kb(pid, ("VmRSS", "VmHWM"))
            rss += v["VmRSS"]
            p = pss_kb(pid)
            pss += p
            proc_max = max(proc_max, v["VmRSS"])
            hwm[comm] = max(hwm.get(comm, 0), v["VmHWM"])
            pssmax[comm] = max(pssmax.get(comm, 0), p)
        rss_peak = max(rss_peak, rss)
        pss_peak = max(pss_peak, pss)
        procs_max = max(procs_max, len(t))
        time.sleep(interval)
    t1 = sum(v[2] for v in tree(roots).values())
    with open(out, "w") as f:
        f.write("cpu_s=%.3f rss_peak_kb=%d pss_peak_kb=%d proc_rss_max_kb=%d "
                "procs_max=%d hwm=%s pss=%s\n" % (
                    (t1 - t0) / TCK, rss_peak, pss_peak, proc_max, procs_max,
                    by_comm(hwm), by_comm(pssmax)))


if __name__ == "__main__":
    main()
