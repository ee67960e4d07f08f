#!/usr/bin/env python3
"""A reverse proxy in front of an S3 server that answers every Nth signed request with a
503 SlowDown (as S3 does when throttling), to show that Berth's S3 driver retries.
Presigned requests (clients following a redirect) pass untouched.
Usage: flaky-s3-proxy.py LISTEN_PORT UPSTREAM_URL EVERY COUNT_FILE"""
import http.client, http.server, sys, threading, urllib.parse

port, upstream, every, count_file = int(sys.argv[1]), urllib.parse.urlsplit(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock, seen, injected = threading.Lock(), [0], [0]

class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if "Authorization" in self.headers:
            with lock:
                seen[0] += 1
                fail = seen[0] % every == 0
                if fail:
                    injected[0] += 1
                    open(count_file, "w").write(str(injected[0]))
            if fail:
                error = b"<?xml version='1.0'?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(error)
                return
        c = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "transfer-encoding")}
        c.request(self.command, self.path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                self.send_header(k, v)
        # A HEAD answers with the object's length, not its (empty) body's.
        self.send_header("Content-Length", r.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        c.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy).serve_forever()
