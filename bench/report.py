#!/usr/bin/env python3
"""report.py: the markdown tables of a bench/peers.sh run, from its TSV.

usage: report.py RESULTS.tsv

Prints, in this order:
  - the targets of issue 12, each with the measured values, their ratio,
    the target and PASS / MISS (n/a when a point is missing);
  - the diagnostic points (runner held off, durability = process, no
    journal) against hookpipe-accept (the noisy one against
    hookpipe-accept-noisy), labelled diagnostic: they explain, they are no
    target;
  - every point measured.
"""
import csv
import sys

ORDER = ["noop", "noop-spool", "webhook-sync", "webhook-async",
         "hookpipe-reject", "hookpipe-accept", "hookpipe-accept-process",
         "hookpipe-accept-nojournal", "hookpipe-e2e", "noop-spool-noisy",
         "hookpipe-accept-noisy", "hookpipe-accept-nojournal-noisy",
         "hookpipe-accept-held", "hookpipe-backlog", "hookpipe-apache"]

# The points whose responders start the runner as shipped (spawns counted).
RUNNER_ON = ["hookpipe-accept", "hookpipe-accept-process", "hookpipe-e2e",
             "hookpipe-accept-noisy", "hookpipe-accept-nojournal",
             "hookpipe-accept-nojournal-noisy"]

# The acceptance points the targets apply to: runner on as shipped,
# default durability, with no handler and with a /bin/true handler.
ACCEPT = [("hookpipe-accept", "no handler"),
          ("hookpipe-e2e", "handler /bin/true")]


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def fmt(v, f="%.1f"):
    return "n/a" if v is None else f % v


def main():
    with open(sys.argv[1]) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    at = {(r["scenario"], r["conns"]): r for r in rows}

    def get(scen, conns, field):
        r = at.get((scen, str(conns)))
        return num(r[field]) if r else None

    checks = []

    def ratio(name, a, b, target, unit, le=False, f="%.0f"):
        """a / b against target; a and b are shown with their unit."""
        want = ("<= " if le else ">= ") + "%.2fx" % target
        shown = "%s / %s %s" % (fmt(a, f), fmt(b, f), unit)
        if a is None or b is None or b == 0:
            checks.append((name, shown, "n/a", want, "n/a"))
            return
        v = a / b
        ok = v <= target if le else v >= target
        checks.append((name, shown, "%.2fx" % v, want,
                       "PASS" if ok else "MISS"))

    def below(name, v, limit, unit, le=False, f="%.1f"):
        want = ("<= " if le else "< ") + "%s %s" % (limit, unit)
        if v is None:
            checks.append((name, "n/a", "", want, "n/a"))
            return
        ok = v <= limit if le else v < limit
        checks.append((name, "%s %s" % (f % v, unit), "", want,
                       "PASS" if ok else "MISS"))

    rps = lambda s, c=8: get(s, c, "req_s")
    p99 = lambda s, c=8: get(s, c, "p99_ms")
    for scen, what in ACCEPT:
        ratio("%s (%s) / noop-spool, req/s at 8" % (scen, what),
              rps(scen), rps("noop-spool"), 2, "req/s")
        ratio("%s (%s) / webhook-sync, req/s at 8" % (scen, what),
              rps(scen), rps("webhook-sync"), 3, "req/s")
    ratio("hookpipe-accept / hookpipe-accept-process (durability = "
          "process), req/s at 8", rps("hookpipe-accept"),
          rps("hookpipe-accept-process"), 0.7, "req/s")
    for scen, what in ACCEPT:
        ratio("p99 %s (%s) / p99 noop-spool, at 8" % (scen, what),
              p99(scen), p99("noop-spool"), 1.0, "ms", le=True, f="%.1f")
    noise = [(at.get((s, "8"), {}).get("noise_mib") or "?")
             for s in ("hookpipe-accept-noisy", "noop-spool-noisy")]
    ratio("p99 hookpipe-accept-noisy / p99 noop-spool-noisy, at 8, the "
          "noisy writer having written %s / %s MiB in the window"
          % tuple(noise), p99("hookpipe-accept-noisy"),
          p99("noop-spool-noisy"), 1.2, "ms", le=True, f="%.1f")
    for scen, what in ACCEPT:
        below("p99 %s (%s) at 32" % (scen, what), p99(scen, 32), 30, "ms")
    ratio("hookpipe-e2e delivered/s / webhook-sync req/s, at 8",
          get("hookpipe-e2e", 8, "delivered_s"), rps("webhook-sync"), 1.5,
          "/s")
    ratio("hookpipe-backlog / hookpipe-accept-held (empty spool), req/s "
          "at 8", rps("hookpipe-backlog"), rps("hookpipe-accept-held"), 0.8,
          "req/s")
    below("hookpipe status on the backlog (%s entries)"
          % (at.get(("hookpipe-backlog", "8"), {}).get("backlog") or "?"),
          get("hookpipe-backlog", 8, "status_s"), 1, "s", f="%.3f")
    for scen in ("hookpipe-accept", "hookpipe-e2e"):
        vals = [(num(r["spawns_s"]), r["conns"]) for r in rows
                if r["scenario"] == scen and num(r["spawns_s"]) is not None]
        v, c = max(vals) if vals else (None, None)
        below("runner spawns per second of load, %s%s"
              % (scen, " (most, at %s)" % c if c else ""), v, 1, "/s",
              le=True, f="%.2f")
    vals = [(num(r["responder_hwm_mib"]), r["scenario"], r["conns"])
            for r in rows if r["scenario"].startswith("hookpipe")
            and num(r["responder_hwm_mib"]) is not None]
    v, s, c = max(vals) if vals else (None, None, None)
    below("responder VmHWM, largest of hookpipe.fcgi%s"
          % (" (%s at %s)" % (s, c) if s else ""), v, 2, "MiB", le=True)

    print("## Targets (issue 12)")
    print()
    print("| target | measured | ratio | wanted | |")
    print("| --- | --- | --- | --- | --- |")
    for ch in checks:
        print("| %s | %s | %s | %s | %s |" % ch)

    print()
    print("## Diagnostic points (no targets)")
    print()
    print("hookpipe-accept-held: the runner held off (run.lock held by the "
          "bench), as hookpipe-accept measured up to issue 6; also the "
          "empty-spool twin of hookpipe-backlog. hookpipe-accept-process: "
          "durability = process, runner on. hookpipe-accept-nojournal: "
          "journal_max = 0, each commit flushes its own entry as "
          "noop-spool does (its -noisy twin against "
          "hookpipe-accept-noisy).")
    print()
    print("| diagnostic | conns | req/s | p99 ms | against | its req/s "
          "| ratio | its p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for scen in ("hookpipe-accept-held", "hookpipe-accept-process",
                 "hookpipe-accept-nojournal",
                 "hookpipe-accept-nojournal-noisy"):
        base = ("hookpipe-accept-noisy" if scen.endswith("-noisy")
                else "hookpipe-accept")
        for r in sorted((r for r in rows if r["scenario"] == scen),
                        key=lambda r: int(r["conns"])):
            a, b = num(r["req_s"]), rps(base, r["conns"])
            print("| %s (diagnostic) | %s | %s | %s | %s | %s | %s | %s |"
                  % (scen, r["conns"], fmt(a, "%.0f"),
                     fmt(num(r["p99_ms"]), "%.1f"), base, fmt(b, "%.0f"),
                     "n/a" if a is None or not b else "%.2fx" % (a / b),
                     fmt(p99(base, r["conns"]), "%.1f")))

    print()
    print("## Every point")
    print()
    print("| scenario | conns | req/s | p50 ms | p99 ms | errors | "
          "CPU µs/req | tree RSS MiB | tree PSS MiB | max proc RSS MiB | "
          "responder HWM MiB | responder PSS MiB | procs | delivered/s | "
          "runner spawns (/s) | acked / stored | load | note |")
    print("| --- " * 18 + "|")
    rows.sort(key=lambda r: (ORDER.index(r["scenario"])
                             if r["scenario"] in ORDER else 99,
                             int(r["conns"])))
    for r in rows:
        if r["requests"] == "":
            print("| %s | %s | %s |%s" % (r["scenario"], r["conns"],
                                          r["note"], " |" * 15))
            continue
        acked = ("%s / %s" % (r["acked"], r["stored"])
                 if r["stored"] else "")
        spawns = ("%s (%s)" % (r["spawns"], r["spawns_s"])
                  if r["spawns"] else "")
        note = r["note"]
        if r["backlog"]:
            note = ("backlog of %s entries in new/ and ids/ (generated in "
                    "%s s); hookpipe status %s s; " % (
                        r["backlog"], r["gen_s"], r["status_s"])) + note
        print("| " + " | ".join([
            r["scenario"], r["conns"], "%.0f" % num(r["req_s"]),
            r["p50_ms"], r["p99_ms"],
            r["errors"] + ("" if r["errors"] == "0" else
                           " (" + r["statuses"] + ")"),
            r["cpu_us_per_req"], r["tree_rss_mib"], r["tree_pss_mib"],
            r["proc_rss_max_mib"], r["responder_hwm_mib"],
            r["responder_pss_mib"], r["procs_max"],
            r["delivered_s"], spawns, acked, r["load1"], note]) + " |")


if __name__ == "__main__":
    main()
