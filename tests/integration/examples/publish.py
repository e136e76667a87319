# SPDX-License-Identifier: ISC
import os, socket, struct, msgpack

def send(sock, msg):
    payload = msgpack.packb(msg)
    sock.sendall(struct.pack(">I", len(payload)) + payload)

def recv(sock):
    def exactly(n):
        b = b""
        while len(b) < n:
            chunk = sock.recv(n - len(b))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            b += chunk
        return b
    (n,) = struct.unpack(">I", exactly(4))
    return msgpack.unpackb(exactly(n), raw=False)

sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
sock.connect(os.environ.get("FASTSSE_SOCKET", "/run/fastsse/fastsse.sock"))
send(sock, [1, 1, 1])                                # HELLO: version 1, publisher
assert recv(sock)[0] == 2                            # WELCOME
send(sock, [10, 1, "news", "update", {"price": 42}]) # PUBLISH: a dict arrives as JSON
reply = recv(sock)                                   # [11, ref, id] or [3, ref, code, why]
print("published as", reply[2]) if reply[0] == 11 else print("refused:", reply[3])
