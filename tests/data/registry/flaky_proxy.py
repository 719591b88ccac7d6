#!/usr/bin/env python3
"""A loopback HTTP/1.1 proxy for tests that breaks one request: `flaky_proxy.py PORT_FILE
UPSTREAM_PORT METHOD N [half]` forwards every request to 127.0.0.1:UPSTREAM_PORT, except the
Nth request with METHOD, whose connection it closes after reading its head, before anything
reaches the registry (with `half`: after forwarding its head and half its body, so the
registry sees a request cut short). Writes its own port to PORT_FILE once listening. Standard
library only.
"""
import socket
import sys
import threading

port_file, upstream, method, nth = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
half = sys.argv[5:] == ["half"]
seen = 0
lock = threading.Lock()


def read_head(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return None
        lines.append(line)
        if line in (b"\r\n", b"\n"):
            return lines


def serve(client):
    global seen
    f = client.makefile("rb")
    try:
        while True:
            head = read_head(f)
            if head is None:
                return
            length = 0
            for line in head[1:]:
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if head[0].startswith(method + b" "):
                with lock:
                    seen += 1
                    drop = seen == nth
                if drop and half:
                    body = f.read(length)
                    up = socket.create_connection(("127.0.0.1", upstream))
                    up.sendall(b"".join(head) + body[: length // 2])
                    up.shutdown(socket.SHUT_WR)
                    up.recv(65536)
                    up.close()
                    return
                if drop:
                    return
            body = f.read(length) if length else b""
            up = socket.create_connection(("127.0.0.1", upstream))
            out = [head[0]] + [l for l in head[1:-1] if not l.lower().startswith(b"connection:")]
            up.sendall(b"".join(out) + b"Connection: close\r\n\r\n" + body)
            while True:
                data = up.recv(65536)
                if not data:
                    break
                client.sendall(data)
            up.close()
    finally:
        client.close()


listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(16)
with open(port_file + ".tmp", "w") as out:
    out.write(str(listener.getsockname()[1]))
import os

os.rename(port_file + ".tmp", port_file)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
