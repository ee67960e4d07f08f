#!/usr/bin/env python3
"""Requests a normal client cannot make, on raw sockets, against an open `berth serve`
(arguments: its port, and the http.limits it runs with: header timeout in seconds and
connections per address). Prints one line per check; exits 1 if any failed."""
import http.client
import json
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
HEADER_TIMEOUT = float(sys.argv[2])
PER_ADDRESS = int(sys.argv[3])
FAILED = 0


def check(name, ok, detail=""):
    global FAILED
    print(f"  {'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f"\n       {detail}"))
    if not ok:
        FAILED += 1


def exchange(request, body=b"", wait=10):
    """Sends a request (and a body, as far as the server lets it), then reads until the
    server closes or `wait` seconds pass. Returns (response bytes, closed, seconds)."""
    s = socket.create_connection(("127.0.0.1", PORT))
    started = time.time()
    s.sendall(request)
    s.settimeout(wait)
    sent = 0
    try:
        while sent < len(body):
            sent += s.send(body[sent:sent + 65536])
    except OSError:
        pass
    data, closed = b"", False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed = True
    s.close()
    return data, closed, time.time() - started


def status_lines(data):
    return [line.split(b" ")[1].decode() for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.")]


def response_statuses(data, methods):
    """Statuses of consecutive responses (with Content-Length bodies) to requests made with
    `methods`, in order; stops at the first incomplete one."""
    statuses = []
    for method in methods:
        head, separator, rest = data.partition(b"\r\n\r\n")
        if not separator:
            break
        lines = head.split(b"\r\n")
        statuses.append(lines[0].split(b" ")[1].decode())
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if method == "HEAD":
            length = 0
        data = rest[length:]
    return statuses


def new_upload(repository="raw/app"):
    c = http.client.HTTPConnection("127.0.0.1", PORT)
    c.request("POST", f"/v2/{repository}/blobs/uploads/")
    r = c.getresponse()
    r.read()
    return r.getheader("Location")


def upload_range(location):
    c = http.client.HTTPConnection("127.0.0.1", PORT)
    c.request("GET", location)
    r = c.getresponse()
    r.read()
    return r.status, r.getheader("Range")


data, closed, took = exchange(b"GET /v2/ HTTP/1.0\r\n\r\n", wait=5)
check("HTTP/1.0 without keep-alive: answered, then the connection is closed", status_lines(data) == ["200"] and closed,
      f"{data[:80]!r} closed={closed} after {took:.1f}s")
data, closed, took = exchange(b"GET /v2/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", wait=2)
check("HTTP/1.0 with keep-alive: answered, the connection stays open", status_lines(data) == ["200"] and not closed,
      f"{data[:80]!r} closed={closed}")

big = b"x" * (12 * 1024 * 1024)
# Pipelining (RFC 9112 §9.3.2): every request gets its response, in order, and
# `Connection: close` applies after the request that carries it.
pipelined = b"".join(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % (b"/v2/" if i % 2 == 0 else b"/v2/no/such/tags/list")
                     for i in range(9)) + b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
data, closed, took = exchange(pipelined, wait=10)
check("ten pipelined GETs, the last with Connection: close: ten responses in order, then the connection closes",
      response_statuses(data, ["GET"] * 11) == ["200", "404"] * 4 + ["200", "200"] and closed, f"{response_statuses(data, ['GET'] * 11)} closed={closed}")
data, closed, took = exchange(b"HEAD /v2/ HTTP/1.1\r\nHost: x\r\n\r\n"
                              b"POST /v2/raw/pipelined/blobs/uploads/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
                              b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", wait=10)
check("HEAD, POST and GET pipelined: 200, 202, 200 in order, then the connection closes",
      response_statuses(data, ["HEAD", "POST", "GET", "GET"]) == ["200", "202", "200"] and closed,
      f"{response_statuses(data, ['HEAD', 'POST', 'GET', 'GET'])} closed={closed}")
data, closed, took = exchange(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                              b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n", wait=10)
check("a request pipelined after Connection: close is not answered; the connection closes",
      response_statuses(data, ["GET"] * 2) == ["200"] and closed, f"{response_statuses(data, ['GET'] * 2)} closed={closed}")
data, closed, took = exchange(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n" * 3, wait=2)
check("three pipelined keep-alive GETs: three responses, the connection stays open",
      response_statuses(data, ["GET"] * 4) == ["200"] * 3 and not closed, f"{response_statuses(data, ['GET'] * 4)} closed={closed}")

manifest_put = (b"PUT /v2/raw/app/manifests/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                b"Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: %d\r\n" % len(big))
data, closed, took = exchange(manifest_put + b"\r\n", big)
check("a 12 MiB manifest sent whole with Connection: close gets its 413 and the connection closes",
      status_lines(data) == ["413"] and closed, f"{status_lines(data)} closed={closed} after {took:.1f}s")
data, closed, took = exchange(manifest_put + b"Expect: 100-continue\r\n\r\n", big)
check("the same after 100 Continue", status_lines(data) == ["100", "413"] and closed,
      f"{status_lines(data)} closed={closed} after {took:.1f}s")
data, closed, took = exchange(b"PATCH /v2/raw/app/blobs/uploads/no-such-upload HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(big), big)
check("a PATCH to an unknown upload with a 12 MiB body gets its 404 and the connection closes",
      status_lines(data) == ["404"] and closed, f"{status_lines(data)} closed={closed} after {took:.1f}s")

for name, chunked in [("a chunk size that is not hex", b"zz\r\nabc\r\n0\r\n\r\n"),
                      ("a negative chunk size", b"-5\r\nabcde\r\n0\r\n\r\n"),
                      ("a chunk size that overflows", b"ffffffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
                      ("a good chunk, then garbage", b"3\r\nabc\r\nqq\r\n")]:
    location = new_upload()
    data, closed, took = exchange(b"PATCH %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s" % (location.encode(), chunked), wait=5)
    head, _, body = data.partition(b"\r\n\r\n")
    try:
        code = json.loads(body)["errors"][0]["code"]
    except ValueError:
        code = None
    status, received = upload_range(location)
    expected = "0-2" if name.startswith("a good") else "0-0"
    check(f"{name}: 400 in the spec's JSON, the upload intact ({received})",
          status_lines(data) == ["400"] and code == "BLOB_UPLOAD_INVALID" and status == 204 and received == expected,
          f"{head[:60]!r} {body[:100]!r} upload {status} {received}")

# Eight PATCHes of one upload, all starting at 0: one may write, the others get 416.
location = new_upload()
part = 4 * 1024 * 1024
results = []


def patch(byte):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=60)
    c.request("PATCH", location, body=bytes([byte]) * part,
              headers={"Content-Type": "application/octet-stream", "Content-Range": f"0-{part - 1}"})
    r = c.getresponse()
    r.read()
    results.append(r.status)


threads = [threading.Thread(target=patch, args=(65 + i,)) for i in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
status, received = upload_range(location)
check(f"eight concurrent PATCHes at offset 0: exactly one 202, seven 416 ({sorted(results)}), the upload holds one chunk ({received})",
      sorted(results) == [202] + [416] * 7 and received == f"0-{part - 1}", f"{sorted(results)} {received}")

# Slowloris: 200 connections from another loopback address trickle a header one byte at a
# time. Beyond the per-address bound they are closed at once, the rest when the header
# timeout passes; clients from other addresses are served all along.
import select

attackers = []
opened = {}
for _ in range(200):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", PORT))
    s.send(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n")
    opened[s] = time.time()
    s.setblocking(False)
    attackers.append(s)
started = time.time()
closed_at = {}
served, asked, slowest = 0, 0, 0.0
# Bounded generously: the checks below are about which connections close and in what order
# relative to the header timeout, not about how busy the machine is.
while time.time() - started < HEADER_TIMEOUT + 20 and len(closed_at) < len(attackers):
    for s in attackers:
        if s in closed_at:
            continue
        try:
            if s.recv(4096) == b"":
                closed_at[s] = time.time() - opened[s]
                continue
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed_at[s] = time.time() - opened[s]
            continue
        try:
            s.send(b"X")
        except OSError:
            closed_at[s] = time.time() - opened[s]
    t = time.time()
    asked += 1
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
    c.request("GET", "/v2/")
    if c.getresponse().status == 200:
        served += 1
    c.close()
    slowest = max(slowest, time.time() - t)
    time.sleep(0.5)
# Only connections beyond the bound can close before their header timeout has passed
# (each counted from its own first byte).
early = sum(1 for t in closed_at.values() if t < HEADER_TIMEOUT)
check(f"of 200 trickling connections from one address, the {200 - PER_ADDRESS} beyond its bound of {PER_ADDRESS} are closed at once ({early})",
      early == 200 - PER_ADDRESS, f"closed before the header timeout: {early}")
check(f"and the other {PER_ADDRESS} when the {HEADER_TIMEOUT:g} s header timeout passes",
      len(closed_at) == 200, f"closed: {len(closed_at)}, last after {max(closed_at.values(), default=0):.1f}s")
check(f"meanwhile every request of another client was served ({served} of {asked}, slowest {slowest * 1000:.0f} ms)",
      served == asked and served > 0, f"served {served} of {asked}, slowest {slowest:.2f}s")
for s in attackers:
    s.close()
time.sleep(0.5)
s = socket.socket()
s.bind(("127.0.0.2", 0))
s.connect(("127.0.0.1", PORT))
s.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
s.settimeout(5)
reply = s.recv(4096)
check("once they are gone, that address is served again", reply.startswith(b"HTTP/1.1 200"), repr(reply[:60]))
s.close()

sys.exit(1 if FAILED else 0)
