#!/usr/bin/env python3
"""report.py: the markdown tables of a bench/peers.sh run, from its TSV.

usage: report.py RESULTS.tsv

Prints the measured points, then the ratios of issue 6, each with its
value, target and PASS / MISS (n/a when a point is missing).
"""
import csv
import sys

ORDER = ["noop", "noop-spool", "webhook-sync", "webhook-async",
         "hookpipe-reject", "hookpipe-accept", "hookpipe-accept-process",
         "hookpipe-e2e", "hookpipe-apache"]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def main():
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    at = {(r["scenario"], r["conns"]): r for r in rows}

    def get(scen, conns, field):
        r = at.get((scen, str(conns)))
        return num(r[field]) if r else None

    def peak(scen, field):
        vals = [num(r[field]) for r in rows if r["scenario"] == scen]
        vals = [v for v in vals if v is not None]
        return max(vals) if vals else None

    print("| scenario | conns | req/s | p50 ms | p99 ms | errors | "
          "CPU µs/req | tree RSS MiB | tree PSS MiB | max proc RSS MiB | "
          "responder HWM MiB | responder PSS MiB | procs | delivered/s | acked / stored | "
          "load | note |")
    print("| --- " * 17 + "|")
    rows.sort(key=lambda r: (ORDER.index(r["scenario"])
                             if r["scenario"] in ORDER else 99,
                             int(r["conns"])))
    for r in rows:
        if r["requests"] == "":
            print("| %s | %s | %s |%s" % (r["scenario"], r["conns"],
                                          r["note"], " |" * 14))
            continue
        acked = ("%s / %s" % (r["acked"], r["stored"])
                 if r["stored"] else "")
        print("| " + " | ".join([
            r["scenario"], r["conns"], "%.0f" % num(r["req_s"]),
            r["p50_ms"], r["p99_ms"],
            r["errors"] + ("" if r["errors"] == "0" else
                           " (" + r["statuses"] + ")"),
            r["cpu_us_per_req"], r["tree_rss_mib"], r["tree_pss_mib"],
            r["proc_rss_max_mib"], r["responder_hwm_mib"],
            r["responder_pss_mib"], r["procs_max"],
            r["delivered_s"], acked, r["load1"], r["note"]]) + " |")

    checks = []

    def ratio(name, a, b, target, le=False, fmt="%.2f", unit="x"):
        want = ("<= " if le else ">= ") + fmt % target + unit
        if a is None or b is None or b == 0:
            checks.append((name, "n/a", want, "n/a"))
            return
        v = a / b
        ok = v <= target if le else v >= target
        checks.append((name, fmt % v + unit, want,
                       "PASS" if ok else "MISS"))

    def absolute(name, v, limit, unit, fmt="%.1f"):
        if v is None:
            checks.append((name, "n/a", "< %s %s" % (limit, unit), "n/a"))
            return
        checks.append((name, (fmt % v) + " " + unit,
                       "< %s %s" % (limit, unit),
                       "PASS" if v < limit else "MISS"))

    rps = lambda s: get(s, 8, "req_s")
    ratio("hookpipe-reject / noop, req/s at 8", rps("hookpipe-reject"),
          rps("noop"), 0.8)
    ratio("hookpipe-accept / noop-spool, req/s at 8", rps("hookpipe-accept"),
          rps("noop-spool"), 2)
    ratio("hookpipe-accept / webhook-sync, req/s at 8",
          rps("hookpipe-accept"), rps("webhook-sync"), 3)
    ratio("hookpipe-accept-process / noop, req/s at 8",
          rps("hookpipe-accept-process"), rps("noop"), 0.5)
    ratio("hookpipe-accept-process / webhook-async, req/s at 8",
          rps("hookpipe-accept-process"), rps("webhook-async"), 2)
    ratio("hookpipe-e2e delivered/s / webhook-sync req/s, at 8",
          get("hookpipe-e2e", 8, "delivered_s"), rps("webhook-sync"), 1.5)
    ratio("p99 hookpipe-accept / p99 noop-spool, at 8",
          get("hookpipe-accept", 8, "p99_ms"), get("noop-spool", 8, "p99_ms"),
          1.2, le=True)
    absolute("p99 hookpipe-accept at 32", get("hookpipe-accept", 32,
                                              "p99_ms"), 50, "ms")
    vals = [peak(s, "responder_hwm_mib") for s in ORDER
            if s.startswith("hookpipe")]
    vals = [v for v in vals if v is not None]
    hwm = max(vals) if vals else None
    if hwm is None:
        checks.append(("RSS per responder (max VmHWM of hookpipe.fcgi)",
                       "n/a", "<= 2 MiB", "n/a"))
    else:
        checks.append(("RSS per responder (max VmHWM of hookpipe.fcgi)",
                       "%.1f MiB" % hwm, "<= 2 MiB",
                       "PASS" if hwm <= 2 else "MISS"))
    ratio("tree RSS hookpipe-accept / webhook-sync (peaks)",
          peak("hookpipe-accept", "tree_rss_mib"),
          peak("webhook-sync", "tree_rss_mib"), 0.5, le=True)
    ratio("tree RSS hookpipe-accept / webhook-async (peaks)",
          peak("hookpipe-accept", "tree_rss_mib"),
          peak("webhook-async", "tree_rss_mib"), 0.05, le=True, fmt="%.3f")
    absolute("p99 hookpipe-apache at 32", get("hookpipe-apache", 32,
                                              "p99_ms"), 50, "ms")

    print()
    print("| target (issue 6) | measured | wanted | |")
    print("| --- | --- | --- | --- |")
    for c in checks:
        print("| %s | %s | %s | %s |" % c)


if __name__ == "__main__":
    main()
