#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small HTTP server for the tests: serves a directory on 127.0.0.1 with Range support,
and misbehaves on request.

Usage: httpd.py --root DIR --port-file FILE [--rules FILE] [--log FILE]

The port (chosen by the kernel) is written to --port-file once the server listens.
--rules is re-read on every request, so a test can change behaviour between commands.
Each non-empty, non-# line is "GLOB ACTION [ARGS...]"; the first line whose GLOB
(fnmatch) matches the request path applies:

  GLOB status CODE              answer CODE (404, 500, ...) with a short body
  GLOB fail-first N CODE        answer CODE to the first N matching requests, then serve
  GLOB drop BYTES               send the headers (full Content-Length) and BYTES of the
                                body, then cut the connection
  GLOB drop-first N BYTES       the same, for the first N matching requests only
  GLOB corrupt OFFSET           flip one byte of the body at OFFSET (wrong bytes)
  GLOB truncate BYTES           serve only the first BYTES, with a matching Content-Length
  GLOB redirect FROM TO         302 to TO + the path with its FROM prefix removed
  GLOB no-range                 ignore Range headers (answer 200 with the whole file)

--log gets one line per request: "METHOD PATH RANGE-HEADER STATUS".
"""
import argparse
import fnmatch
import os
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit


class State:
    def __init__(self, root, rules, log):
        self.root = os.path.realpath(root)
        self.rules = rules
        self.log = log
        self.counts = {}
        self.lock = threading.Lock()

    def rule_for(self, path):
        if not self.rules or not os.path.exists(self.rules):
            return None
        with open(self.rules) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                words = line.split()
                if fnmatch.fnmatch(path, words[0]):
                    return line, words[1], words[2:]
        return None

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def write_log(self, text):
        if not self.log:
            return
        with self.lock, open(self.log, "a") as f:
            f.write(text + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kmbuild-test-httpd/1"

    def log_message(self, fmt, *args):  # quiet: the --log file is the record
        pass

    def _status(self, code, extra_headers=()):
        body = ("%d\n" % code).encode()
        self.send_response(code)
        for k, v in extra_headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return code

    def _serve(self):
        st = self.server.state
        path = unquote(urlsplit(self.path).path)
        rng = self.headers.get("Range", "-")
        code = self._handle(st, path)
        st.write_log("%s %s %s %s" % (self.command, path, rng.replace(" ", ""), code))

    def _handle(self, st, path):
        rule = st.rule_for(path)
        action, args = (rule[1], rule[2]) if rule else (None, [])
        if action == "status":
            return self._status(int(args[0]))
        if action == "fail-first":
            if st.count(rule[0]) <= int(args[0]):
                return self._status(int(args[1]))
            action = None
        if action == "drop-first":
            if st.count(rule[0]) <= int(args[0]):
                action, args = "drop", args[1:]
            else:
                action = None
        if action == "redirect":
            rest = path[len(args[0]):] if path.startswith(args[0]) else path
            return self._status(302, [("Location", args[1] + rest)])

        full = os.path.realpath(os.path.join(st.root, path.lstrip("/")))
        if not (full == st.root or full.startswith(st.root + os.sep)) or not os.path.isfile(full):
            return self._status(404)
        with open(full, "rb") as f:
            data = f.read()
        if action == "corrupt":
            off = min(int(args[0]), len(data) - 1)
            data = data[:off] + bytes([data[off] ^ 0xFF]) + data[off + 1:]
        if action == "truncate":
            data = data[: int(args[0])]

        start, end, code = 0, len(data), 200
        rng = self.headers.get("Range")
        if rng and action != "no-range" and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a) if a else 0
            end = int(b) + 1 if b else len(data)
            if start >= len(data):
                return self._status(416, [("Content-Range", "bytes */%d" % len(data))])
            end = min(end, len(data))
            code = 206
        body = data[start:end]
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return code
        if action == "drop":
            self.wfile.write(body[: int(args[0])])
            self.wfile.flush()
            # An abrupt end: RST rather than a clean FIN where the OS allows it.
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            self.close_connection = True
            self.connection.close()
            return "dropped"
        self.wfile.write(body)
        return code

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._serve()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--rules")
    ap.add_argument("--log")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.state = State(a.root, a.rules, a.log)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
