# SPDX-License-Identifier: ISC
"""FastCGI requests for publishing over HTTP, sent straight to the
responder's socket as a web server would (records built here from the
specification), and a broker that welcomes but never answers.

  httppub_peer.py post SOCK QUERY KEY BODY [IDEM] [--no-length] [--ctype T]
      prints "STATUS BODY" of the answer
  httppub_peer.py big SOCK KEY       STDIN of 300 KiB without its end: says
                                     whether the 413 came before the end
  httppub_peer.py abort SOCK KEY MARK
                                     POST, then once MARK exists (the mute
                                     broker got it) ABORT_REQUEST
  httppub_peer.py flood SOCK KEY N   N POSTs at once: counts of the answers
  httppub_peer.py mute SOCK MARK     a broker that sends WELCOME only, and
                                     creates MARK when a request arrives
"""
import os
import selectors
import socket
import struct
import sys
import time

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT = 1, 2, 3, 4, 5, 6


def record(rtype, content, rid=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", 1, rtype, rid, len(content), pad, 0) + \
        content + b"\0" * pad


def nv(name, value):
    out = b""
    for s in (name, value):
        out += bytes([len(s)]) if len(s) < 128 else \
            struct.pack(">I", len(s) | 0x80000000)
    return out + name + value


def head(params):
    body = b"".join(nv(k.encode(), v.encode()) for k, v in params.items())
    return record(BEGIN, struct.pack(">HB5x", 1, 0)) + \
        record(PARAMS, body) + record(PARAMS, b"")


def stdin(data, chunk=4096):
    return b"".join(record(STDIN, data[i:i + chunk])
                    for i in range(0, len(data), chunk))


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(path)
    return s


def read_answer(s):
    """STDOUT bytes and whether END_REQUEST came, until EOF."""
    buf, out, ended = b"", b"", False
    while True:
        try:
            d = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not d:
            break
        buf += d
        while len(buf) >= 8:
            _, t, _, clen, plen, _ = struct.unpack(">BBHHBB", buf[:8])
            if len(buf) < 8 + clen + plen:
                break
            if t == STDOUT:
                out += buf[8:8 + clen]
            elif t == END:
                ended = True
            buf = buf[8 + clen + plen:]
    return out, ended


def status_of(out):
    hdr, _, body = out.partition(b"\r\n\r\n")
    for line in hdr.split(b"\r\n"):
        if line.startswith(b"Status: "):
            return line[8:11].decode(), hdr.decode(), body.decode()
    return "???", hdr.decode(), body.decode()


def took(t0):
    """Writes the seconds since t0 to $HTTPPUB_TOOK, when it is set."""
    if os.environ.get("HTTPPUB_TOOK"):
        with open(os.environ["HTTPPUB_TOOK"], "w") as f:
            f.write("%.1f\n" % (time.monotonic() - t0))


def params(query, key, extra=None):
    p = {"REQUEST_METHOD": "POST", "QUERY_STRING": query,
         "CONTENT_TYPE": "text/plain"}
    if key:
        p["HTTP_AUTHORIZATION"] = "Bearer " + key
    p.update(extra or {})
    return p


def post(path, query, key, body, *opts):
    extra, nolength, i = {}, False, 0
    while i < len(opts):
        if opts[i] == "--no-length":
            nolength = True
        elif opts[i] == "--ctype":
            i += 1
            extra["CONTENT_TYPE"] = opts[i]
        else:
            extra["HTTP_IDEMPOTENCY_KEY"] = opts[i]
        i += 1
    data = body.encode()
    if not nolength:
        extra["CONTENT_LENGTH"] = str(len(data))
    t0 = time.monotonic()
    s = connect(path)
    s.sendall(head(params(query, key, extra)) + stdin(data, 7) +
              record(STDIN, b""))
    st, _, text = status_of(read_answer(s)[0])
    print(st, text.strip())
    took(t0)


def big(path, key):
    s = connect(path)
    s.sendall(head(params("channel=big", key)))
    try:
        s.sendall(stdin(b"x" * (300 * 1024)))
    except (BrokenPipeError, ConnectionResetError):
        pass    # it stopped reading: the answer is what counts
    out, ended = read_answer(s)
    st, _, text = status_of(out)
    print(st, "ended" if ended else "not-ended", text.strip())


def abort(path, key, mark):
    s = connect(path)
    s.sendall(head(params("channel=ab", key)) + stdin(b"x") +
              record(STDIN, b""))
    end = time.monotonic() + 10
    while not os.path.exists(mark) and time.monotonic() < end:
        time.sleep(0.01)    # polls for the broker's side, with a deadline
    t0 = time.monotonic()
    s.sendall(record(ABORT, b""))
    out, ended = read_answer(s)
    print("ended" if ended else "not-ended", len(out))
    took(t0)


def flood(path, key, n):
    """N POSTs at once, each on its own connection and thread."""
    import collections
    import threading
    counts = collections.Counter()
    lock = threading.Lock()
    socks = []
    for i in range(int(n)):
        s = connect(path)
        s.sendall(head(params("channel=flood", key)) + stdin(b"x") +
                  record(STDIN, b""))
        socks.append(s)

    def one(s):
        st, _, text = status_of(read_answer(s)[0])
        with lock:
            counts[st + " " + text.strip()] += 1
    threads = [threading.Thread(target=one, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k, v in sorted(counts.items()):
        print(v, k)


def mute(path, mark):
    """Answers each HELLO with WELCOME, then reads and says nothing."""
    welcome = b"\x93\x02\x01\xaahons0qif6a"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    greeted = set()
    while True:
        for k, _ in sel.select():
            if k.fileobj is srv:
                c, _ = srv.accept()
                sel.register(c, selectors.EVENT_READ)
                continue
            c = k.fileobj
            d = c.recv(65536)
            if not d:
                sel.unregister(c)
                c.close()
                greeted.discard(c)
            elif c not in greeted:
                greeted.add(c)
                c.sendall(struct.pack(">I", len(welcome)) + welcome)
                if len(d) > 16:     # more than HELLO came with it
                    open(mark, "w").close()
            else:
                open(mark, "w").close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"post": post, "big": big, "abort": abort, "flood": flood,
     "mute": mute}[cmd](*args)
    sys.stdout.flush()
    os._exit(0)
