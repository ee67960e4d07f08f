#!/usr/bin/env python3
"""A webhook receiver for the end-to-end tests: refuses the first N deliveries with a 500,
then appends each accepted envelope's events (one JSON object per line) to OUT, with the
request's Content-Type and Authorization added under "_received"."""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, fail_first, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
state = {"failures_left": fail_first}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            if state["failures_left"] > 0:
                state["failures_left"] -= 1
                self.send_response(500)
                self.end_headers()
                return
            envelope = json.loads(body)
            with open(out, "a") as f:
                for event in envelope["events"]:
                    event["_received"] = {"contentType": self.headers.get("Content-Type"),
                                          "authorization": self.headers.get("Authorization")}
                    f.write(json.dumps(event) + "\n")
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
