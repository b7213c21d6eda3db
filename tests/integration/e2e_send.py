#!/usr/bin/python3
# e2e_send.py: the sender side of e2e-amqp.sh, and its check of what the
# workers' handlers received. The bodies are made here, byte for byte.
#
#   e2e_send.py send TOKEN GHTOKEN OUT < LIST
#       LIST: "ID PORT ENDPOINT" lines (ENDPOINT "-": the default one);
#       posts each body to 127.0.0.1:PORT/hooks[/ENDPOINT], 4 keep-alive
#       connections per port; appends "ID PORT STATUS" to OUT as each
#       answer comes (flushed: the test watches the count grow).
#   e2e_send.py verify OUTDIR < LIST
#       every ID of LIST has exactly one file OUTDIR/EP.ID.* holding its
#       body exactly; prints the count of those that do not, and the
#       first few of them.
import http.client
import os
import sys
import threading


def body(ident):
    return (b'{"event":"k",  "id":"%s","n":"%s","s":"caf\xc3\xa9 '
            b'\\u00e9 \\"q\\" \\\\ %s"}\n' % ((ident.encode(),) * 3))


def send(token, ghtoken, out):
    jobs = {}
    for line in sys.stdin:
        ident, port, ep = line.split()
        jobs.setdefault(port, []).append((ident, ep))
    lock = threading.Lock()
    f = open(out, "a")

    def worker(port, items):
        conn = None
        for ident, ep in items:
            path = "/hooks" if ep == "-" else "/hooks/" + ep
            hdrs = {"Content-Type": "application/json",
                    "x-auth-token": token if ep == "-" else ghtoken}
            status = 0
            for _ in range(3):	# a dropped keep-alive: reconnect
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(
                            "127.0.0.1", int(port), timeout=30)
                    conn.request("POST", path, body(ident), hdrs)
                    r = conn.getresponse()
                    r.read()
                    status = r.status
                    break
                except (OSError, http.client.HTTPException):
                    conn = None
            with lock:
                f.write("%s %s %d\n" % (ident, port, status))
                f.flush()

    threads = []
    for port, items in jobs.items():
        for k in range(4):
            t = threading.Thread(target=worker, args=(port, items[k::4]))
            t.start()
            threads.append(t)
    for t in threads:
        t.join()
    f.close()


def verify(outdir):
    files = {}
    for name in os.listdir(outdir):
        ep, ident = name.split(".")[0:2]
        files.setdefault((ep, ident), []).append(name)
    bad = []
    for line in sys.stdin:
        ident, _, ep = line.split()
        ep = "_" if ep == "-" else ep
        got = files.get((ep, ident), [])
        if len(got) != 1:
            bad.append("%s.%s: %d files" % (ep, ident, len(got)))
            continue
        with open(os.path.join(outdir, got[0]), "rb") as g:
            if g.read() != body(ident):
                bad.append("%s.%s: other bytes" % (ep, ident))
    print(len(bad))
    for b in bad[:3]:
        print(b)


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        verify(sys.argv[2])
