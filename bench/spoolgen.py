#!/usr/bin/python3
"""spoolgen.py: fill a hookpipe spool's new/ with a backlog, fast, for
bench/peers.sh (the hookpipe-backlog point).

usage: spoolgen.py SPOOL COUNT [ID-PREFIX]

Writes COUNT entries into SPOOL/new/ in the format of hookpipe-spool(5)
(entry name, envelope line of version 1 with `bytes' and `crc32c', the
body), each with an ids/ record naming it, as the responder leaves them
for an event of the default endpoint with the id ID-PREFIX-N (default
prefix "backlog"). The bodies are ~1 KB JSON events of the shape
bench/post.lua sends. Prints the name of the last entry and its id.

It writes straight into new/ and ids/, without tmp/ and without an fsync
per file, which hookpipe-spool(5) forbids a feeder: no runner may be at
work on SPOOL meanwhile (peers.sh holds run.lock), and it ends with one
syncfs(2) of the spool's file system (through sync -f) so that the
backlog is on disk before the point starts, not written back during it.

The names carry times in the past (one microsecond apart, ending now),
so they sort before anything the responder stores afterwards.
"""
import os
import random
import subprocess
import sys
import time


def crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


TABLE = crc32c_table()


def crc32c_update(state, data):
    """The raw (inverted) CRC-32C state after data; start from 0xffffffff."""
    for b in data:
        state = TABLE[(state ^ b) & 0xFF] ^ (state >> 8)
    return state


def crc32c(data):
    return crc32c_update(0xFFFFFFFF, data) ^ 0xFFFFFFFF


def fmt_time(us):
    s, u = divmod(us, 1000000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + \
        ".%06dZ" % u


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: spoolgen.py SPOOL COUNT [ID-PREFIX]\n")
        return 2
    spool, count = sys.argv[1], int(sys.argv[2])
    prefix = sys.argv[3] if len(sys.argv) == 4 else "backlog"
    # The check value of CRC-32C (RFC 3720, B.4): a wrong table or a
    # wrong final XOR would store entries every reader finds torn.
    assert crc32c(b"123456789") == 0xE3069283
    new, ids = os.path.join(spool, "new"), os.path.join(spool, "ids")
    for d in ("", "tmp", "new", "cur", "retry", "done", "dead", "ids",
              "hist"):
        os.makedirs(os.path.join(spool, d), mode=0o700, exist_ok=True)
    newfd = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    idsfd = os.open(ids, os.O_RDONLY | os.O_DIRECTORY)

    # The id comes last in the body, so the CRC of everything before it
    # is computed once: per entry only the tail is fed to the pure
    # Python CRC (a 1 KB body each would take minutes for 10^6).
    head = ('{"event":"bench.event","data":{"pad":"%s"},"id":"'
            % ("x" * 910)).encode()
    head_state = crc32c_update(0xFFFFFFFF, head)
    rnd = random.Random(os.urandom(16))
    pid = os.getpid()
    now = time.time_ns() // 1000
    first = now - count
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    name = evid = ""
    for i in range(count):
        us = first + i
        evid = "%s-%d" % (prefix, i)
        tail = (evid + '"}').encode()
        body = head + tail
        crc = crc32c_update(head_state, tail) ^ 0xFFFFFFFF
        name = "%010d.%06d.%d.%06u.%016x" % (us // 1000000, us % 1000000,
                                             pid, i, rnd.getrandbits(64))
        env = ('{"v":1,"endpoint":null,"event":"bench.event","id":"%s",'
               '"request_id":"%016x","received_at":"%s","received_us":%d,'
               '"remote":"127.0.0.1","mode":"queue","bytes":%d,'
               '"crc32c":"%08x","headers":{"content-type":'
               '"application/json","user-agent":"spoolgen"}}\n'
               % (evid, rnd.getrandbits(64), fmt_time(us), us, len(body),
                  crc)).encode()
        fd = os.open(name, flags, 0o600, dir_fd=newfd)
        data = env + body
        if os.write(fd, data) != len(data):
            raise OSError("short write to new/" + name)
        os.close(fd)
        fd = os.open(evid, flags, 0o600, dir_fd=idsfd)
        rec = (name + "\n").encode()
        if os.write(fd, rec) != len(rec):
            raise OSError("short write to ids/" + evid)
        os.close(fd)
    os.close(newfd)
    os.close(idsfd)
    subprocess.run(["sync", "-f", new], check=True)
    print(name, evid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
