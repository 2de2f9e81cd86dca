#!/usr/bin/python3
"""fcgi_time.py: time GET requests against perkd's FastCGI socket directly.

Usage: fcgi_time.py SOCKET KEY CALLS NAME PATH[?QUERY] [NAME PATH ...]
       fcgi_time.py SOCKET KEY body PATH     (prints one answer's body)

For each endpoint: one warm-up call, then CALLS timed calls, each on a new
connection (as nginx makes them); prints "NAME median_ms p99_ms status"
on one line. Talks the FastCGI protocol itself (standard library only), so
the figures are perkd's and MariaDB's time plus a local socket round trip,
with no HTTP server or process start in between.
"""
import socket
import struct
import sys
import time

FCGI_BEGIN, FCGI_END, FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT = 1, 3, 4, 5, 6


def record(rtype, content, req_id=1):
    pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", 1, rtype, req_id, len(content), pad) + \
        content + b"\0" * pad


def nv(name, value):
    def ln(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return ln(len(name)) + ln(len(value)) + name + value


def call(sock_path, key, path):
    uri, _, query = path.partition("?")
    params = {"REQUEST_METHOD": "GET", "DOCUMENT_URI": uri,
              "REQUEST_URI": path, "QUERY_STRING": query,
              "SCRIPT_NAME": uri, "CONTENT_LENGTH": "0",
              "HTTP_AUTHORIZATION": "Bearer " + key,
              "REMOTE_ADDR": "127.0.0.1", "SERVER_PROTOCOL": "HTTP/1.1"}
    body = b"".join(nv(k, v) for k, v in params.items())
    msg = record(FCGI_BEGIN, struct.pack(">HB5x", 1, 0)) + \
        record(FCGI_PARAMS, body) + record(FCGI_PARAMS, b"") + \
        record(FCGI_STDIN, b"")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(msg)
    out, buf = b"", b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
        while len(buf) >= 8:
            _, rtype, _, clen, pad = struct.unpack(">BBHHBx", buf[:8])
            if len(buf) < 8 + clen + pad:
                break
            if rtype == FCGI_STDOUT:
                out += buf[8:8 + clen]
            buf = buf[8 + clen + pad:]
            if rtype == FCGI_END:
                s.close()
                return out
    s.close()
    return out


def main():
    if len(sys.argv) == 5 and sys.argv[3] == "body":
        out = call(sys.argv[1], sys.argv[2], sys.argv[4])
        sys.stdout.write(out.split(b"\r\n\r\n", 1)[-1].decode())
        return
    if len(sys.argv) < 6 or (len(sys.argv) - 4) % 2:
        sys.exit(__doc__)
    sock_path, key, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pairs = sys.argv[4:]
    for i in range(0, len(pairs), 2):
        name, path = pairs[i], pairs[i + 1]
        first = call(sock_path, key, path)
        status = first.split(b"\r\n", 1)[0].decode(errors="replace")
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            call(sock_path, key, path)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        med = times[len(times) // 2]
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print("%-28s median %7.2f ms  p99 %7.2f ms  (%d calls, %s)" %
              (name, med, p99, calls, status))


if __name__ == "__main__":
    main()
