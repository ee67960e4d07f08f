#!/usr/bin/env python3
"""Benchmarks Berth against Debian's docker-registry (CNCF Distribution 2.8) in one run and
prints each figure side by side. Not part of the tests.

    scripts/bench.py [--berth .build/release/berth] [--blob-mib 1024] [--repos 10000] [--tags 5000]

Needs: docker-registry and wrk (apt-get install docker-registry wrk). Everything runs on
loopback with fresh data directories under $TMPDIR."""
import argparse, hashlib, http.client, urllib.parse, urllib.request, json, os, random, re, shutil, socket, subprocess, sys, tempfile, threading, time
from concurrent.futures import ThreadPoolExecutor

CHUNK = 1 << 20


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


def s3_storage(server, bucket):
    """A storage section for the benchmark's S3 server (the same for Berth and Distribution)."""
    return (f"  s3:\n    region: us-east-1\n    regionendpoint: {server.endpoint}\n    forcepathstyle: true\n    secure: false\n"
            f"    bucket: {bucket}\n    rootdirectory: /bench\n    accesskey: {server.access_key}\n    secretkey: {server.secret_key}\n")


class S3Server:
    """Ceph's radosgw on a private one-node cluster (Tests/support/radosgw.sh, held open by a
    shell that stops it when its stdin closes), or moto's standalone server."""
    def __init__(self, kind):
        self.kind = kind
        if kind == "moto":
            if not shutil.which("moto_server"): sys.exit("moto_server is required: pip install 'moto[server]'")
            port = free_port()
            self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.endpoint, self.access_key, self.secret_key = f"http://127.0.0.1:{port}", "bench", "bench-secret"
            for _ in range(100):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/"); c.getresponse().read(); break
                except OSError:
                    time.sleep(0.1)
            return
        support = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../Tests/support/radosgw.sh")
        script = (f'source "{support}"; start_test_radosgw >&2 || exit 1; trap stop_test_radosgw EXIT; '
                  'echo "$BERTH_TEST_S3 $BERTH_TEST_S3_ACCESS_KEY $BERTH_TEST_S3_SECRET_KEY"; cat >/dev/null')
        self.proc = subprocess.Popen(["bash", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 3: sys.exit("radosgw did not start (Tests/support/radosgw.sh)")
        self.endpoint, self.access_key, self.secret_key = line

    def make_bucket(self, bucket):
        import boto3
        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=self.access_key,
                     aws_secret_access_key=self.secret_key).create_bucket(Bucket=bucket)

    def stop(self):
        if self.kind == "moto":
            self.proc.terminate()
        else:
            self.proc.stdin.close()
        self.proc.wait(60)


class Server:
    def __init__(self, kind, binary, root, work, storage=None, extra=""):
        self.kind, self.port = kind, free_port()
        self.log = open(os.path.join(work, f"{kind}-{self.port}.log"), "w")
        storage = storage or f"  filesystem:\n    rootdirectory: {root}\n"
        level = "warn" if kind == "berth" else "error"
        cfg = os.path.join(work, f"{kind}-{self.port}.yml")
        with open(cfg, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: {level}\n  accesslog:\n    disabled: true\n"
                    f"storage:\n{storage}  delete:\n    enabled: true\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n  secret: benchsecret\n" + extra)
        cmd = [binary, "serve", "--config", cfg] if kind == "berth" else ["docker-registry", "serve", cfg]
        env = dict(os.environ)
        # Distribution's AWS SDK cannot combine AWS_CA_BUNDLE with its own transport.
        env.pop("AWS_CA_BUNDLE", None)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=env)
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2); c.request("GET", "/v2/"); c.getresponse().read(); c.close(); return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{kind} did not start")

    def rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class RSSSampler:
    def __init__(self, server):
        self.server, self.peak, self.base, self.stop_flag = server, 0, server.rss_mib(), False
        self.thread = threading.Thread(target=self.run, daemon=True); self.thread.start()

    def run(self):
        while not self.stop_flag:
            self.peak = max(self.peak, self.server.rss_mib()); time.sleep(0.02)

    def growth(self):
        self.stop_flag = True; self.thread.join(); return max(0, self.peak - self.base)


def cpu_seconds(server):
    """The server process's user and system CPU seconds so far (/proc/PID/stat)."""
    if server is None: return (0.0, 0.0)
    fields = open(f"/proc/{server.proc.pid}/stat").read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def timed_push(r, label, server, size, push):
    """Runs `push`, recording MB/s and the server's CPU seconds per GiB (user, and user + system:
    system time includes the kernel's copy into the page cache and the fsyncs' writeback)."""
    settle(); before = cpu_seconds(server); t = time.time()
    push()
    elapsed, after = time.time() - t, cpu_seconds(server)
    r[f"{label} (MB/s)"] = size / elapsed / 1e6
    if server is not None:
        gib, kind = size / (1 << 30), "chunked" if "chunk" in label else "monolithic"
        r[f"- server CPU s/GiB, {kind}, user"] = (after[0] - before[0]) / gib
        r[f"- server CPU s/GiB, {kind}, user+sys"] = (after[0] + after[1] - before[0] - before[1]) / gib


def settle():
    """Flushes earlier writes so one scenario's writeback does not slow the next."""
    os.sync(); time.sleep(1)


def conn(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=600, blocksize=CHUNK)


def location_path(resp):
    loc = resp.getheader("Location")
    return re.sub(r"^https?://[^/]+", "", loc)


def start_upload(port, repo):
    c = conn(port); c.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    r = c.getresponse(); r.read(); assert r.status == 202, r.status
    return c, location_path(r)


def push_monolithic(port, repo, path, digest):
    c, loc = start_upload(port, repo)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        c.request("PUT", f"{loc}&digest={digest}", body=f, headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
        r = c.getresponse(); r.read(); assert r.status == 201, (r.status, r.read())
    c.close()


def push_chunked(port, repo, path, digest, chunk):
    c, loc = start_upload(port, repo)
    size, offset = os.path.getsize(path), 0
    with open(path, "rb") as f:
        while offset < size:
            n = min(chunk, size - offset)
            c.request("PATCH", loc, body=LimitedReader(f, n), headers={
                "Content-Length": str(n), "Content-Range": f"{offset}-{offset + n - 1}", "Content-Type": "application/octet-stream"})
            r = c.getresponse(); r.read(); assert r.status == 202, r.status
            loc = location_path(r); offset += n
    c.request("PUT", f"{loc}&digest={digest}", headers={"Content-Length": "0"})
    r = c.getresponse(); r.read(); assert r.status == 201, r.status
    c.close()


class LimitedReader:
    def __init__(self, f, n): self.f, self.left = f, n
    def read(self, size=-1):
        if self.left <= 0: return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.f.read(size); self.left -= len(data); return data


def pull(port, repo, digest, mbps=0):
    c = conn(port); c.request("GET", f"/v2/{repo}/blobs/{digest}")
    r = c.getresponse()
    if r.status in (302, 307):  # redirected to the object store, as clients follow it
        r.read(); c.close()
        target = urllib.parse.urlsplit(r.getheader("Location"))
        c = http.client.HTTPConnection(target.hostname, target.port, timeout=600, blocksize=CHUNK)
        c.request("GET", target.path + ("?" + target.query if target.query else ""))
        r = c.getresponse()
    assert r.status == 200, r.status
    total, start = 0, time.time()
    while True:
        b = r.read(CHUNK)
        if not b: break
        total += len(b)
        if mbps:
            ahead = total / (mbps * 1e6) - (time.time() - start)
            if ahead > 0: time.sleep(ahead)
    c.close(); return total


def put_blob(c, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    c.request("POST", f"/v2/{repo}/blobs/uploads/", headers={"Content-Length": "0"})
    r = c.getresponse(); r.read(); assert r.status == 202
    c.request("PUT", f"{location_path(r)}&digest={digest}", body=data, headers={"Content-Type": "application/octet-stream"})
    r = c.getresponse(); r.read(); assert r.status == 201, r.status
    return digest


def push_small_image(port, repo, tag, seed):
    c = conn(port)
    rnd = random.Random(seed)
    layer = rnd.randbytes(20000)
    config = json.dumps({"architecture": "amd64", "os": "linux", "seed": seed}).encode()
    ld, cd = put_blob(c, repo, layer), put_blob(c, repo, config)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": len(layer)}]}).encode()
    c.request("PUT", f"/v2/{repo}/manifests/{tag}", body=manifest, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse(); r.read(); assert r.status == 201, r.status
    c.close()


def walk(port, first):
    c, path, count = conn(port), first, 0
    while path:
        c.request("GET", path); r = c.getresponse(); body = json.loads(r.read()); assert r.status == 200, (r.status, body)
        count += len(body.get("repositories", body.get("tags", [])))
        link = r.getheader("Link")
        path = re.match(r"<([^>]+)>", link).group(1) if link else None
    c.close(); return count


def populate_layout(root, repos, tags):
    """Writes repositories and tags straight into Distribution's layout, identically for both servers."""
    base = os.path.join(root, "docker/registry/v2")
    blob = b"x"
    d = hashlib.sha256(blob).hexdigest()
    os.makedirs(f"{base}/blobs/sha256/{d[:2]}/{d}", exist_ok=True)
    open(f"{base}/blobs/sha256/{d[:2]}/{d}/data", "wb").write(blob)
    for i in range(repos):
        p = f"{base}/repositories/ns{i % 100:02d}/repo{i:05d}/_layers/sha256/{d}"
        os.makedirs(p, exist_ok=True); open(f"{p}/link", "w").write("sha256:" + d)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + d, "size": 1},
                           "layers": []}).encode()
    md = hashlib.sha256(manifest).hexdigest()
    os.makedirs(f"{base}/blobs/sha256/{md[:2]}/{md}", exist_ok=True)
    open(f"{base}/blobs/sha256/{md[:2]}/{md}/data", "wb").write(manifest)
    repo = f"{base}/repositories/many/tags"
    os.makedirs(f"{repo}/_layers/sha256/{d}", exist_ok=True); open(f"{repo}/_layers/sha256/{d}/link", "w").write("sha256:" + d)
    os.makedirs(f"{repo}/_manifests/revisions/sha256/{md}", exist_ok=True)
    open(f"{repo}/_manifests/revisions/sha256/{md}/link", "w").write("sha256:" + md)
    for t in range(tags):
        tp = f"{repo}/_manifests/tags/t{t:05d}"
        os.makedirs(f"{tp}/current", exist_ok=True); open(f"{tp}/current/link", "w").write("sha256:" + md)
        os.makedirs(f"{tp}/index/sha256/{md}", exist_ok=True); open(f"{tp}/index/sha256/{md}/link", "w").write("sha256:" + md)


def wrk_manifest(port, seconds):
    script = "wrk.headers['Accept'] = 'application/vnd.oci.image.manifest.v1+json'\n"
    path = os.path.join(tempfile.gettempdir(), "berth-bench.lua"); open(path, "w").write(script)
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--latency", "-s", path,
                          f"http://127.0.0.1:{port}/v2/many/tags/manifests/t00001"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    def lat(p):
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, lat("50"), lat("99"), int(non2xx.group(1)) if non2xx else 0


def token_bench(binary, work, cost, users, requests):
    """Tokens per second for one account asking again and again (the verified-credential
    cache) and for many accounts asking once each (a bcrypt check every time)."""
    import base64
    hashes = [subprocess.run([binary, "hash-password", "--cost", str(cost)], input=f"pw{i}", capture_output=True, text=True).stdout.strip()
              for i in range(users)]
    port = free_port()
    cfg = os.path.join(work, f"tokens-{cost}.yml")
    with open(cfg, "w") as f:
        f.write("token:\n  issuer: bench\n  expiration: 900\nusers:\n")
        for i, h in enumerate(hashes):
            f.write(f'  "u{i}":\n    password: "{h}"\n')
        f.write('acl:\n  - match: {account: "/.+/"}\n    actions: ["*"]\n')
    server_cfg = os.path.join(work, f"tokens-{cost}-berth.yml")
    with open(server_cfg, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  inmemory: {{}}\n"
                f"http:\n  addr: 127.0.0.1:{port}\nauth:\n  token:\n    service: bench\n    authconfig: {cfg}\n")
    log = open(os.path.join(work, f"tokens-{cost}.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--config", server_cfg], stdout=log, stderr=log)
    try:
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/v2/"); c.getresponse().read(); break
            except OSError:
                time.sleep(0.05)
        def fetch(user, n):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            auth = "Basic " + base64.b64encode(f"u{user}:pw{user}".encode()).decode()
            for _ in range(n):
                c.request("GET", "/auth/token?service=bench&scope=repository:team/app:pull,push", headers={"Authorization": auth})
                r = c.getresponse(); r.read(); assert r.status == 200, r.status
        t = time.time()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: fetch(i, 1), range(users)))
        fresh = users / (time.time() - t)
        fetch(0, 1)
        t = time.time()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: fetch(0, requests // 8), range(8)))
        repeated = requests / (time.time() - t)
        return fresh, repeated
    finally:
        proc.terminate(); proc.wait(10); log.close()


def openssl_signs_per_second(algorithm):
    """What this machine's OpenSSL signs per second on one core (the token endpoint's floor
    is the signature), for `rsa2048` or `ecdsap256`."""
    out = subprocess.run(["openssl", "speed", "-seconds", "3", algorithm], capture_output=True, text=True).stdout
    line = next((l for l in out.splitlines() if l.strip().startswith(("rsa 2048", "256 bits ecdsa", "rsa  2048"))), "")
    numbers = re.findall(r"([\d.]+)", line.split("bits")[-1] if "ecdsa" in line else line)
    return float(numbers[-2]) if len(numbers) >= 2 else 0.0


def database_token_bench(binary, work, algorithm, seconds, workload=False):
    """Tokens/s from wrk (2 threads, 32 connections) for one database account (bcrypt cost
    10, repeated credentials) and one database rule, signed RS256 or ES256. With `workload`,
    the credential is a CI system's token instead (workload_auth, from the test issuer the
    e2e tests use; its key set fetched once and cached)."""
    import base64
    root = os.path.join(work, f"db-tokens-{algorithm}{'-workload' if workload else ''}")
    os.makedirs(root, exist_ok=True)
    issuer = None
    # The database is made here, before any server ran on this root (--accounts creates it).
    accounts = f"sqlite:{root}/berth/accounts/accounts.sqlite"
    subprocess.run([binary, "user", "add", "bench", "--password-stdin", "--cost", "10", "--accounts", accounts],
                   input="bench-password", capture_output=True, text=True, check=True)
    subprocess.run([binary, "acl", "add", "--accounts", accounts, "--account", "bench", "--name", "team/*", "--actions", "pull,push"],
                   capture_output=True, check=True)
    port = free_port()
    token = f"    accounts: sqlite:{root}/berth/accounts/accounts.sqlite\n"
    credentials = b"bench:bench-password"
    if workload:
        issuer = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "../Tests/e2e/oidc-test-issuer.py"), "bench"],
                                  stdout=subprocess.PIPE, text=True)
        issuer_url = f"http://127.0.0.1:{issuer.stdout.readline().strip()}"
        token += f"    workload_auth:\n      - issuer: {issuer_url}\n        audience: bench\n"
        subprocess.run([binary, "acl", "add", "--accounts", accounts, "--account", "repo:bench", "--name", "team/*", "--actions", "pull,push"],
                       capture_output=True, check=True)
        claims = urllib.parse.quote(json.dumps({"sub": "repo:bench", "exp": int(time.time()) + 3600}))
        jwt = urllib.request.urlopen(f"{issuer_url}/mint?claims={claims}").read().decode()
        credentials = f"ci:{jwt}".encode()
    if algorithm == "RS256":
        key, cert = os.path.join(root, "token.key"), os.path.join(root, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "30", "-subj", "/CN=bench"], capture_output=True, check=True)
        authconfig = os.path.join(root, "auth_config.yml")
        with open(authconfig, "w") as f:
            f.write(f"token:\n  issuer: bench\n  expiration: 900\n  certificate: {cert}\n  key: {key}\nusers: {{}}\nacl: []\n")
        token += f"    authconfig: {authconfig}\n"
    cfg = os.path.join(root, "config.yml")
    with open(cfg, "w") as f:
        f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {root}\n"
                f"http:\n  addr: 127.0.0.1:{port}\nauth:\n  token:\n    service: bench\n{token}")
    log = open(os.path.join(root, "serve.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--config", cfg], stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}/auth/token?service=bench&scope=repository:team/app:pull,push"
        auth = "Basic " + base64.b64encode(credentials).decode()
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", url[len(f"http://127.0.0.1:{port}"):], headers={"Authorization": auth})
                r = c.getresponse(); body = r.read()
                if r.status == 200 and b"token" in body: break
            except OSError:
                pass
            time.sleep(0.05)
        out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"Authorization: {auth}", url],
                             capture_output=True, text=True).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), int(non2xx.group(1)) if non2xx else 0
    finally:
        proc.terminate(); proc.wait(10); log.close()
        if issuer: issuer.terminate(); issuer.wait(10)


def file_token_bench(binary, work, algorithm, seconds):
    """Tokens/s from wrk (2 threads, 32 connections) against `berth auth-server` with a
    docker_auth auth_config.yml holding the user (bcrypt cost 10) and the acl."""
    import base64
    root = os.path.join(work, f"file-tokens-{algorithm}")
    os.makedirs(root, exist_ok=True)
    key, cert = os.path.join(root, "token.key"), os.path.join(root, "token.crt")
    newkey = ["-newkey", "rsa:2048"] if algorithm == "RS256" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=bench"],
                   capture_output=True, check=True)
    hashed = subprocess.run([binary, "hash-password", "--cost", "10", "--password-stdin"], input="bench-password",
                            capture_output=True, text=True, check=True).stdout.strip()
    port = free_port()
    config = os.path.join(root, "auth_config.yml")
    with open(config, "w") as f:
        f.write(f"server:\n  addr: 127.0.0.1:{port}\ntoken:\n  issuer: bench\n  expiration: 900\n  certificate: {cert}\n  key: {key}\n"
                f"users:\n  bench:\n    password: \"{hashed}\"\nacl:\n  - match: {{account: bench, name: \"team/*\"}}\n"
                f"    actions: [\"pull\", \"push\"]\n")
    log = open(os.path.join(root, "auth-server.log"), "w")
    proc = subprocess.Popen([binary, "auth-server", "--config", config, "--data", os.path.join(root, "data")], stdout=log, stderr=log)
    try:
        path = "/auth?service=bench&scope=repository:team/app:pull,push"
        auth = "Basic " + base64.b64encode(b"bench:bench-password").decode()
        for _ in range(200):
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5); c.request("GET", path, headers={"Authorization": auth})
                r = c.getresponse(); body = r.read()
                if r.status == 200 and b"token" in body: break
            except OSError:
                pass
            time.sleep(0.05)
        out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "-H", f"Authorization: {auth}", f"http://127.0.0.1:{port}{path}"],
                             capture_output=True, text=True).stdout
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), int(non2xx.group(1)) if non2xx else 0
    finally:
        proc.terminate(); proc.wait(10); log.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--berth", default=os.path.join(os.path.dirname(__file__), "../.build/release/berth"))
    ap.add_argument("--blob-mib", type=int, default=1024)
    ap.add_argument("--s3-server", choices=["radosgw", "moto"], default="radosgw",
                    help="the S3 server of --only s3: Ceph's radosgw (real, verifies signatures) or moto's")
    ap.add_argument("--repos", type=int, default=10000)
    ap.add_argument("--tags", type=int, default=5000)
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--tokens", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--before", help="an earlier Berth binary: its figures are printed beside this one's (hot-path, mirror-first)")
    ap.add_argument("--rounds", type=int, default=3, help="--only mirror-first: interleaved rounds")
    ap.add_argument("--client-mbps", type=float, default=0,
                    help="--only mirror-first: the client reads at most this many MB/s (a network slower than the disk)")
    ap.add_argument("--only", choices=["hot-path", "tokens", "ui", "writes", "s3", "mirror", "mirror-first", "retention", "cdn"],
                    help="run only the manifest GET comparison, the token scenarios or the web UI pages")
    a = ap.parse_args()
    if a.only:
        return partial(a)
    for tool in ("docker-registry", "wrk"):
        if not shutil.which(tool): sys.exit(f"{tool} is required: apt-get install {tool}")
    work = tempfile.mkdtemp(prefix="berth-bench-")
    results = {}
    try:
        def make_blob(name):
            path, h = os.path.join(work, name), hashlib.sha256()
            with open(path, "wb") as f:
                for _ in range(a.blob_mib):
                    b = os.urandom(CHUNK); h.update(b); f.write(b)
            return path, "sha256:" + h.hexdigest()
        # Two different blobs, so the chunked push is a real new blob, not a duplicate.
        blob, digest = make_blob("blob.bin")
        blob2, digest2 = make_blob("blob2.bin")
        size = a.blob_mib * CHUNK
        dd = subprocess.run(["dd", "if=/dev/zero", f"of={work}/dd.bin", "bs=1M", "count=1024", "conv=fdatasync"],
                            capture_output=True, text=True).stderr
        disk_mbps = (1 << 30) / float(re.search(r"copied, ([\d.]+) s", dd).group(1)) / 1e6
        os.remove(f"{work}/dd.bin")
        listing = os.path.join(work, "listing")
        populate_layout(listing, a.repos, a.tags)
        for kind in ("berth", "distribution"):
            r = results[kind] = {}
            root = os.path.join(work, f"{kind}-data")
            s = Server(kind, os.path.abspath(a.berth), root, work)
            try:
                sampler = RSSSampler(s)
                timed_push(r, "push 1 GiB monolithic", s, size, lambda: push_monolithic(s.port, "bench/big", blob, digest))
                r["peak RSS growth during push (MiB)"] = sampler.growth()
                r["- blob verified on disk"] = os.path.getsize(f"{root}/docker/registry/v2/blobs/sha256/{digest[7:9]}/{digest[7:]}/data") == size
                timed_push(r, "push 1 GiB in 64 MiB chunks", s, size, lambda: push_chunked(s.port, "bench/chunked", blob2, digest2, 64 * CHUNK))
                settle(); sampler = RSSSampler(s)
                t = time.time(); n = pull(s.port, "bench/big", digest); r["pull 1 GiB (MB/s)"] = n / (time.time() - t) / 1e6
                r["peak RSS growth during pull (MiB)"] = sampler.growth()
                settle(); t = time.time()
                with ThreadPoolExecutor(16) as pool:
                    list(pool.map(lambda i: push_small_image(s.port, f"small/img{i % 20}", f"v{i}", i), range(200)))
                r["200 small images, 16 workers (s)"] = time.time() - t
            finally:
                s.stop()
            s = Server(kind, os.path.abspath(a.berth), listing, work)
            try:
                walk(s.port, "/v2/_catalog?n=100")  # warm-up, as a client's second walk
                t = time.time(); n = walk(s.port, "/v2/_catalog?n=100"); r[f"catalog walk, {n} repos, n=100 (s)"] = time.time() - t
                t = time.time(); n = walk(s.port, "/v2/many/tags/tags/list"); r[f"tags list, {n} tags (s)"] = time.time() - t
                rps, p50, p99, errors = wrk_manifest(s.port, a.wrk_seconds)
                r["manifest GET, 64 connections (req/s)"] = rps
                r["manifest GET p50 (ms)"] = p50
                r["manifest GET p99 (ms)"] = p99
                r["- manifest GET non-2xx"] = errors
            finally:
                s.stop()
        print(f"\n{'scenario':44} {'Berth':>12} {'Dist 2.8':>12} {'ratio':>8}")
        for key in results["berth"]:
            b, d = results["berth"][key], results["distribution"].get(key)
            ratio = ""
            if isinstance(b, float) and isinstance(d, float) and d and b:
                ratio = f"{(b / d if ('MB/s' in key or 'req/s' in key) else d / b):.2f}x"
            fmt = lambda v: f"{v:12.3f}" if isinstance(v, float) else f"{str(v):>12}"
            print(f"{key:44} {fmt(b)} {fmt(d) if d is not None else '':>12} {ratio:>8}")
        print("\nratio > 1 means Berth is better (faster or smaller).")
        if a.tokens:
            print(f"\n{'token endpoint (Berth; Distribution has none)':44} {'fresh':>12} {'repeated':>12}")
            for cost in (5, 10):
                fresh, repeated = token_bench(os.path.abspath(a.berth), work, cost, 64 if cost == 5 else 24, 4000)
                print(f"{f'tokens/s, bcrypt cost {cost}':44} {fresh:12.1f} {repeated:12.1f}")
        print("Berth fsyncs every blob before answering 201; Distribution 2.8 never fsyncs.")
        print(f"reference: this disk writes {disk_mbps:.0f} MB/s with fdatasync (dd, 1 GiB).")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def timed_catalog(port, runs=11):
    """Median and worst milliseconds of reading the whole catalog, 1,000 names a page (what
    the web UI's repository list reads), one connection per walk."""
    times = []
    for i in range(runs + 1):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started, last, size = time.perf_counter(), None, 0
        while True:
            c.request("GET", "/v2/_catalog?n=1000" + (f"&last={last}" if last else ""))
            r = c.getresponse(); body = r.read(); size += len(body)
            names = json.loads(body)["repositories"]
            if len(names) < 1000 or not r.getheader("Link"):
                break
            last = names[-1]
        elapsed = (time.perf_counter() - started) * 1000
        c.close()
        if i:
            times.append(elapsed)
    times.sort()
    return times[len(times) // 2], times[-1], size


def timed_get(port, path, runs=11):
    """Median and worst milliseconds of `runs` GETs (after one warm-up), one at a time."""
    times = []
    for i in range(runs + 1):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        started = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse(); body = r.read()
        elapsed = (time.perf_counter() - started) * 1000
        c.close()
        if r.status != 200:
            raise RuntimeError(f"GET {path}: {r.status} {body[:200]!r}")
        if i:
            times.append(elapsed)
    times.sort()
    return times[len(times) // 2], times[-1], len(body)


def ui_pages(a, work):
    """The web UI's heaviest pages beside the /v2/ listings of the same data: 10,000
    repositories, one repository with 5,000 tags."""
    root = os.path.join(work, "ui")
    populate_layout(root, 10_000, 5_000)
    s = Server("berth", os.path.abspath(a.berth), root, work)
    try:
        print(f"\n{'web UI page (open registry)':52} {'median ms':>10} {'worst ms':>10} {'bytes':>9}")
        for label, path in [("/v2/_catalog?n=1000 (first 1,000 of 10,001 names)", "/v2/_catalog?n=1000"),
                            ("/ui/ repository list, page 1 of 201", "/ui/"),
                            ("/ui/?q=repo0999 (filtered)", "/ui/?q=repo0999"),
                            ("/v2/many/tags/tags/list (5,000 tags)", "/v2/many/tags/tags/list"),
                            ("/ui/repo/many/tags by name, page 1 of 50", "/ui/repo/many/tags"),
                            ("/ui/repo/many/tags by date, page 1 of 50", "/ui/repo/many/tags?sort=date")]:
            median, worst, size = timed_get(s.port, path)
            print(f"{label:52} {median:10.1f} {worst:10.1f} {size:9d}")
            if path == "/v2/_catalog?n=1000":
                median, worst, size = timed_catalog(s.port)
                print(f"{'/v2/_catalog, all 10,001 names (11 pages)':52} {median:10.1f} {worst:10.1f} {size:9d}")
    finally:
        s.stop()


def write_scenarios(port, work, blob, digest, blob2, digest2, size, server=None):
    """Push 1 GiB in one request and in 64 MiB chunks, pull it, 200 small images with 16
    workers: the write side a storage driver carries."""
    r = {}
    sampler = RSSSampler(server) if server else None
    timed_push(r, "push monolithic", server, size, lambda: push_monolithic(port, "bench/big", blob, digest))
    if sampler: r["peak RSS growth during push (MiB)"] = sampler.growth()
    timed_push(r, "push in 64 MiB chunks", server, size, lambda: push_chunked(port, "bench/chunked", blob2, digest2, 64 * CHUNK))
    settle(); sampler = RSSSampler(server) if server else None
    t = time.time(); n = pull(port, "bench/big", digest); r["pull (MB/s)"] = n / (time.time() - t) / 1e6
    if sampler: r["peak RSS growth during pull (MiB)"] = sampler.growth()
    settle(); t = time.time()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: push_small_image(port, f"small/img{i % 20}", f"v{i}", i), range(200)))
    r["200 small images, 16 workers (s)"] = time.time() - t
    return r


def print_columns(title, columns):
    labels = list(columns)
    print(f"\n{title:44} " + " ".join(f"{l:>16}" for l in labels))
    keys = list(dict.fromkeys(k for l in labels for k in columns[l]))
    for key in keys:
        print(f"{key:44} " + " ".join(f"{columns[l].get(key, float('nan')):16.2f}" for l in labels))


def write_bench(a, work):
    blob, digest = make_blob(work, "blob.bin", a.blob_mib)
    blob2, digest2 = make_blob(work, "blob2.bin", a.blob_mib)
    size = a.blob_mib * CHUNK
    columns = {}
    if a.only == "writes":
        kinds = [("berth", os.path.abspath(a.berth), "Berth")]
        if a.before: kinds.append(("berth", os.path.abspath(a.before), "Berth before"))
        kinds.append(("distribution", "", "Distribution 2.8"))
        for kind, binary, label in kinds:
            s = Server(kind, binary, os.path.join(work, f"data-{len(columns)}"), work)
            try:
                columns[label] = write_scenarios(s.port, work, blob, digest, blob2, digest2, size, s)
            finally:
                s.stop()
        print_columns(f"filesystem, {a.blob_mib} MiB blobs", columns)
        print("Berth fsyncs every blob before answering 201; Distribution 2.8 never fsyncs.")
        return
    server = S3Server(a.s3_server)
    try:
        kinds = [("berth", os.path.abspath(a.berth), "Berth S3")]
        kinds.append(("distribution", "", "Distribution 2.8 S3"))
        for kind, binary, label in kinds:
            bucket = f"bench-{kind}"
            server.make_bucket(bucket)
            s = Server(kind, binary, None, work, storage=s3_storage(server, bucket))
            try:
                columns[label] = write_scenarios(s.port, work, blob, digest, blob2, digest2, size, s)
                # Each column as it ends, so a run stopped later still leaves its figures.
                print(f"{label}: " + ", ".join(f"{k} {v:.2f}" for k, v in columns[label].items()), flush=True)
            finally:
                s.stop()
        if shutil.which("nginx"):
            bucket = "bench-replicas"
            server.make_bucket(bucket)
            replicas = [Server("berth", os.path.abspath(a.berth), None, work, storage=s3_storage(server, bucket)) for _ in range(2)]
            balancer = Nginx(work, [r.port for r in replicas])
            try:
                columns["2 Berth S3 + nginx"] = write_scenarios(balancer.port, work, blob, digest, blob2, digest2, size)
            finally:
                balancer.stop()
                for r in replicas: r.stop()
        name = "Ceph's radosgw 16 (one node, in-memory OSD)" if a.s3_server == "radosgw" else "moto's server"
        print_columns(f"S3 on {name}, {a.blob_mib} MiB blobs", columns)
        print(f"Both against the same local {name}: its speed bounds both columns.")
    finally:
        server.stop()


class NginxProcess:
    """Debian's nginx on a free loopback port with its own directory, running `http_block`
    (the `http { }` contents; `{port}` and `{dir}` filled in) until `stop`."""
    def __init__(self, work, name, http_block, probe="/"):
        self.port = free_port()
        d = os.path.join(work, f"{name}-{self.port}"); os.makedirs(d)
        # Its workers write temporary and cache files into the benchmark's private directory, as its owner.
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(f"{user}worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n"
                    f"  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n"
                    f"  fastcgi_temp_path {d}/f;\n  uwsgi_temp_path {d}/u;\n  scgi_temp_path {d}/s;\n"
                    + http_block.replace("{port}", str(self.port)).replace("{dir}", d) + "}\n")
        self.proc = subprocess.Popen(["nginx", "-c", f"{d}/nginx.conf", "-p", d, "-g", "daemon off;"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2); c.request("GET", probe); c.getresponse().read(); return
            except OSError:
                time.sleep(0.05)

    def stop(self):
        self.proc.terminate(); self.proc.wait(10)


class Nginx(NginxProcess):
    """nginx balancing round-robin over `ports`, streaming both ways."""
    def __init__(self, work, ports):
        upstreams = "".join(f"    server 127.0.0.1:{p};\n" for p in ports)
        super().__init__(work, "nginx",
                         f"  client_max_body_size 0;\n  upstream berth {{\n{upstreams}  }}\n"
                         "  server {\n    listen 127.0.0.1:{port};\n    location / {\n"
                         "      proxy_pass http://berth;\n      proxy_http_version 1.1;\n      proxy_request_buffering off;\n"
                         "      proxy_buffering off;\n      proxy_set_header Host $http_host;\n      proxy_read_timeout 900;\n    }\n  }\n",
                         probe="/v2/")


class CachingNginx(NginxProcess):
    """nginx as a CDN in front of an S3 server: GET /PATH is the object ORIGIN/PATH (ORIGIN:
    a bucket and a directory in it), read anonymously (a public-read bucket, as a CDN's
    origin), kept in nginx's cache after the first request."""
    def __init__(self, work, endpoint, origin_path):
        origin = urllib.parse.urlsplit(endpoint)
        host = f"{origin.hostname}:{origin.port}"
        super().__init__(work, "cdn",
                         "  proxy_cache_path {dir}/cache levels=1:2 keys_zone=cdn:10m max_size=8g inactive=1h use_temp_path=off;\n"
                         "  server {\n    listen 127.0.0.1:{port};\n    location / {\n"
                         f"      proxy_pass http://{host}/{origin_path}/;\n      proxy_http_version 1.1;\n"
                         f"      proxy_set_header Host {host};\n      proxy_cache cdn;\n"
                         "      proxy_cache_valid 200 1h;\n      proxy_cache_lock on;\n      proxy_read_timeout 900;\n"
                         "      add_header X-Cache $upstream_cache_status;\n    }\n  }\n")


def verified_pull(port, repo, digest):
    """A pull whose bytes are checked against the digest, and where it was redirected to."""
    c = conn(port); c.request("GET", f"/v2/{repo}/blobs/{digest}")
    r = c.getresponse(); r.read(); c.close()
    assert r.status in (302, 307), r.status
    location = r.getheader("Location")
    target = urllib.parse.urlsplit(location)
    c = http.client.HTTPConnection(target.hostname, target.port, timeout=600, blocksize=CHUNK)
    c.request("GET", target.path + ("?" + target.query if target.query else ""))
    r = c.getresponse(); assert r.status == 200, r.status
    h = hashlib.sha256()
    while True:
        b = r.read(CHUNK)
        if not b: break
        h.update(b)
    c.close()
    assert "sha256:" + h.hexdigest() == digest, "the CDN served other bytes"
    return location


def cdn_bench(a, work):
    """Blobs from a CDN (`middleware.storage: redirect`): Berth and Distribution 2.8 on
    radosgw, each redirecting blob GETs to nginx acting as the CDN in front of the bucket;
    pulls through the CDN first (nginx fetches from radosgw) and cached, beside the default
    presigned redirect straight to radosgw."""
    import boto3, botocore
    blob, digest = make_blob(work, "blob.bin", a.blob_mib)
    size = a.blob_mib * CHUNK
    server = S3Server(a.s3_server)
    columns = {}
    try:
        client = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=server.access_key,
                              aws_secret_access_key=server.secret_key)
        for kind, label in (("berth", "Berth"), ("distribution", "Distribution 2.8")):
            bucket = f"cdn-{kind}"
            server.make_bucket(bucket)
            client.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}]}))
            cdn = CachingNginx(work, server.endpoint, f"{bucket}/bench")
            storage = s3_storage(server, bucket)
            # Both append the path below the storage's rootdirectory; the CDN's origin is that
            # directory of the bucket (Distribution 2.8 ignores a path in baseurl).
            redirect = f"middleware:\n  storage:\n    - name: redirect\n      options:\n        baseurl: http://127.0.0.1:{cdn.port}/\n"
            direct = Server(kind, os.path.abspath(a.berth), None, work, storage=storage)
            through = Server(kind, os.path.abspath(a.berth), None, work, storage=storage, extra=redirect)
            r = columns[label] = {}
            try:
                push_monolithic(direct.port, "bench/big", blob, digest)
                verified_pull(direct.port, "bench/big", digest)
                settle(); t = time.time(); n = pull(direct.port, "bench/big", digest); r["pull, presigned redirect to radosgw (MB/s)"] = n / (time.time() - t) / 1e6
                settle(); t = time.time(); n = pull(through.port, "bench/big", digest); r["pull through the CDN, first (MB/s)"] = n / (time.time() - t) / 1e6
                settle(); t = time.time(); n = pull(through.port, "bench/big", digest); r["pull through the CDN, cached (MB/s)"] = n / (time.time() - t) / 1e6
                location = verified_pull(through.port, "bench/big", digest)
                assert location.startswith(f"http://127.0.0.1:{cdn.port}/docker/registry/v2/blobs/"), location
                r["- CDN bytes verified"] = 1.0
                print(f"{label}: " + ", ".join(f"{k} {v:.2f}" for k, v in r.items()), flush=True)
            finally:
                direct.stop(); through.stop(); cdn.stop()
        print_columns(f"blobs from a CDN (nginx caching radosgw), {a.blob_mib} MiB blob", columns)
        print("The client follows each 307 as docker does; 'first' is nginx fetching from radosgw while it serves.")
    finally:
        server.stop()


def pull_small_image(port, repo, tag):
    c = conn(port)
    c.request("GET", f"/v2/{repo}/manifests/{tag}", headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    r = c.getresponse(); body = r.read(); assert r.status == 200, r.status
    m = json.loads(body)
    for d in [m["config"]["digest"]] + [l["digest"] for l in m["layers"]]:
        c.request("GET", f"/v2/{repo}/blobs/{d}"); r = c.getresponse(); data = r.read()
        assert r.status == 200 and "sha256:" + hashlib.sha256(data).hexdigest() == d, (r.status, d)
    c.close()


def bytes_written(server):
    """What the process has written through write(2) and friends so far, sockets included
    (/proc/PID/io's wchar): for an upstream registry, about the bytes it has served."""
    for line in open(f"/proc/{server.proc.pid}/io"):
        if line.startswith("wchar:"): return int(line.split()[1])
    return 0


def pull_scenarios(port, prefix, digest, size, server=None, upstream=None):
    """A big blob and 100 small images (16 workers), pulled through `port`; with `server`, its
    memory and CPU during the big blob; with `upstream`, how many times the upstream sent it."""
    r = {}
    settle(); sampler = RSSSampler(server) if server else None
    sent = bytes_written(upstream) if upstream else 0
    c0 = cpu_seconds(server)
    t = time.time(); n = pull(port, prefix + "bench/big", digest); assert n == size
    r["pull the big blob (MB/s)"] = n / (time.time() - t) / 1e6
    c1 = cpu_seconds(server)
    if sampler: r["peak RSS growth during it (MiB)"] = sampler.growth()
    if server: r["server CPU during it, user+sys (s/GiB)"] = (sum(c1) - sum(c0)) / (size / 2**30)
    t = time.time()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: pull_small_image(port, prefix + f"small/img{i % 20}", f"v{i}"), range(100)))
    r["100 small images, 16 workers (s)"] = time.time() - t
    if upstream:
        # A proxy may still be fetching in the background: counted once the upstream is quiet.
        r["upstream sent, big blob and small images (GiB)"] = (until_quiet(upstream) - sent) / 2**30
    return r


def until_quiet(upstream):
    """Waits until the upstream has sent nothing for a second (a proxy's background fetch,
    Distribution's second one or Berth's catch-up, is over); returns what it sent so far."""
    quiet, last = 0, bytes_written(upstream)
    while quiet < 5:
        time.sleep(0.2); now = bytes_written(upstream); quiet = quiet + 1 if now == last else 0; last = now
    return last


def mirror_bench(a, work):
    """First and cached pulls through Berth's pull-through cache and through Distribution's
    proxy, beside pulling from the upstream directly (Distribution 2.8 on loopback)."""
    blob, digest = make_blob(work, "blob.bin", a.blob_mib)
    size = a.blob_mib * CHUNK
    upstream = Server("distribution", "", os.path.join(work, "upstream"), work)
    try:
        push_monolithic(upstream.port, "bench/big", blob, digest)
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: push_small_image(upstream.port, f"small/img{i % 20}", f"v{i}", i), range(100)))
        columns = {"direct from upstream": pull_scenarios(upstream.port, "", digest, size, upstream, upstream)}
        mirrors = [(label, *proxy_server(label, a, os.path.join(work, f"{label}-mirror"), work, upstream)) for label in ("Berth", "Distribution")]
        for label, server, prefix in mirrors:
            try:
                columns[f"{label} first pull"] = pull_scenarios(server.port, prefix, digest, size, server, upstream)
                # Cached means stored: whatever the proxy still fetches in the background is done.
                until_quiet(upstream)
                columns[f"{label} cached"] = pull_scenarios(server.port, prefix, digest, size, server, upstream)
            finally:
                server.stop()
        print_columns(f"pull-through cache, {a.blob_mib} MiB blob", columns)
        print("Upstream: Distribution 2.8 on loopback. Berth's mirror checks tags against the upstream after 60 s "
              "(here: within it); Distribution's proxy checks on every pull.")
        print("Berth hands the upstream's bytes to the client as they arrive, hashing them, and the last byte only "
              "once the digest matched; its storage writer follows as far as it keeps up, and what it missed is "
              "fetched again (a ranged GET) after the client's pull and verified before it is stored (hence upstream "
              "bytes over 1). Distribution 2.8's proxy streams the upstream's bytes to the client unverified and "
              "fetches the whole blob a second time in the background to store it.")
    finally:
        upstream.stop()


def proxy_server(label, a, root, work, upstream):
    """Berth's mirror of `upstream` (under the prefix `up/`; "Berth before": a.before's) or
    Distribution's proxy of it; with the prefix its repositories have there."""
    remote = f"http://127.0.0.1:{upstream.port}"
    if label.startswith("Berth"):
        return Server("berth", os.path.abspath(a.before if label == "Berth before" else a.berth), root, work,
                      extra=f"proxy:\n  upstreams:\n    - prefix: up\n      remoteurl: {remote}\n"), "up/"
    return Server("distribution", "", root, work, extra=f"proxy:\n  remoteurl: {remote}\n"), ""


def mirror_first_bench(a, work):
    """The big blob's first pull alone, through a fresh Berth mirror and a fresh Distribution
    proxy in turn, --rounds times (this VM's figures swing from one minute to the next, so
    only interleaved pairs compare). Beside the client's rate, each server's CPU during the
    pull and until the blob is stored (a proxy may leave work for after the client's last
    byte: Distribution fetches the blob a second time to store it, Berth's writer may catch
    up), and what the upstream sent for it."""
    blob, digest = make_blob(work, "blob.bin", a.blob_mib)
    size = a.blob_mib * CHUNK
    upstream = Server("distribution", "", os.path.join(work, "upstream"), work)
    results = {"Berth": []} | ({"Berth before": []} if a.before else {}) | {"Distribution": []}
    try:
        push_monolithic(upstream.port, "bench/big", blob, digest)
        for round in range(a.rounds):
            for label in results:
                root = os.path.join(work, f"first-{label}-{round}")
                server, prefix = proxy_server(label, a, root, work, upstream)
                try:
                    settle(); c0 = cpu_seconds(server); sent0 = until_quiet(upstream); t = time.time()
                    n = pull(server.port, prefix + "bench/big", digest, a.client_mbps); assert n == size, n
                    took = time.time() - t; c1 = cpu_seconds(server)
                    sent = until_quiet(upstream) - sent0
                    stored = os.path.join(root, "docker/registry/v2/blobs/sha256", digest[7:9], digest[7:], "data")
                    while not os.path.exists(stored): time.sleep(0.1)
                    c2 = cpu_seconds(server)
                    gib = size / 2**30
                    results[label].append((n / took / 1e6, (sum(c1) - sum(c0)) / gib, (sum(c2) - sum(c0)) / gib, sent / size))
                finally:
                    server.stop(); shutil.rmtree(root, ignore_errors=True)
    finally:
        upstream.stop()
    pace = f", the client reading at most {a.client_mbps:.0f} MB/s" if a.client_mbps else ""
    print(f"\nfirst pull of a {a.blob_mib} MiB blob through a fresh mirror, {a.rounds} interleaved rounds{pace}")
    print(f"{'':20} {'client MB/s':>14} {'CPU s/GiB, pull':>16} {'until stored':>13} {'upstream sent (blobs)':>22}")
    for label, runs in results.items():
        for rate, during, stored, sent in runs:
            print(f"{label:20} {rate:14.0f} {during:16.2f} {stored:13.2f} {sent:22.2f}")


def make_blob(work, name, mib):
    path, h = os.path.join(work, name), hashlib.sha256()
    with open(path, "wb") as f:
        for _ in range(mib):
            b = os.urandom(CHUNK); h.update(b); f.write(b)
    return path, "sha256:" + h.hexdigest()


def retention_bench(a, work):
    """Retention (Berth only: Distribution has none) over one repository with --tags tags,
    keeping the newest 10: the dry run, then the run that removes the rest, both on the
    storage through the CLI."""
    root = os.path.join(work, "retention")
    data = os.path.join(root, "data")
    populate_layout(data, 0, a.tags)
    berth = os.path.abspath(a.berth)
    # A first start makes the accounts database (where policies live) beside the storage.
    port = free_port()
    env = dict(os.environ, REGISTRY_HTTP_ADDR=f"127.0.0.1:{port}")
    log = open(os.path.join(work, "retention-serve.log"), "w")
    proc = subprocess.Popen([berth, "serve"], cwd=root, env=env, stdout=log, stderr=log)
    try:
        for _ in range(200):
            if os.path.exists(os.path.join(data, "berth/accounts/accounts.sqlite")): break
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        proc.terminate(); proc.wait(10); log.close()
    subprocess.run([berth, "policy", "retention", "add", "--data", data, "--name", "many/*", "--keep-last", "10"],
                   check=True, capture_output=True)
    print(f"\n{'retention, keep the newest 10 of ' + str(a.tags) + ' tags':52} {'seconds':>10} {'removed':>9}")
    for label, extra in [("berth policy retention run --dry-run", ["--dry-run"]), ("berth policy retention run", [])]:
        t = time.time()
        out = subprocess.run([berth, "policy", "retention", "run", "--data", data, "--json", *extra], check=True, capture_output=True, text=True).stdout
        took = time.time() - t
        print(f"{label:52} {took:10.2f} {len(json.loads(out)['removals']):9d}")


def partial(a):
    """The front-door figures alone: manifest GET (this Berth, an earlier one, Distribution)
    and the database-backed token endpoint beside what OpenSSL signs per second."""
    work = tempfile.mkdtemp(prefix="berth-bench-")
    try:
        if a.only == "ui":
            ui_pages(a, work)
        elif a.only in ("writes", "s3"):
            write_bench(a, work)
        elif a.only == "mirror":
            mirror_bench(a, work)
        elif a.only == "mirror-first":
            mirror_first_bench(a, work)
        elif a.only == "cdn":
            cdn_bench(a, work)
        elif a.only == "retention":
            retention_bench(a, work)
        elif a.only == "hot-path":
            listing = os.path.join(work, "listing")
            populate_layout(listing, 10, 10)
            kinds = [("berth", os.path.abspath(a.berth), "Berth")]
            if a.before: kinds.append(("berth", os.path.abspath(a.before), "Berth before"))
            kinds.append(("distribution", os.path.abspath(a.berth), "Distribution 2.8"))
            print(f"\n{'manifest GET, 64 connections':32} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'server CPU us/req':>18}")
            for _ in range(2):
                for kind, binary, label in kinds:
                    s = Server(kind, binary, listing, work)
                    try:
                        settle()
                        before = cpu_seconds(s)
                        rps, p50, p99, errors = wrk_manifest(s.port, a.wrk_seconds)
                        cpu = sum(cpu_seconds(s)) - sum(before)
                        # The requests wrk completed: its rate over the run's length.
                        print(f"{label:32} {rps:10.0f} {p50:8.2f} {p99:8.2f} {errors:8d} {cpu / (rps * a.wrk_seconds) * 1e6:18.1f}")
                    finally:
                        s.stop()
        else:
            rsa, ec = openssl_signs_per_second("rsa2048"), openssl_signs_per_second("ecdsap256")
            print(f"\n{'token endpoint, database account':40} {'tokens/s':>10} {'openssl sign/s':>15} {'ratio':>7}")
            for algorithm, reference in (("RS256", rsa), ("ES256", ec)):
                tps, errors = database_token_bench(os.path.abspath(a.berth), work, algorithm, a.wrk_seconds)
                ratio = f"{tps / reference:.2f}" if reference else ""
                print(f"{algorithm + ' (wrk -t2 -c32, bcrypt cost 10)':40} {tps:10.0f} {reference:15.0f} {ratio:>7}" + (f"  ({errors} non-2xx)" if errors else ""))
            # A CI job's token instead of a password: its signature checked every time (the
            # issuer's keys cached), against a password login whose bcrypt result is cached.
            tps, errors = database_token_bench(os.path.abspath(a.berth), work, "ES256", a.wrk_seconds, workload=True)
            print(f"{'ES256, workload token (JWKS cached)':40} {tps:10.0f} {ec:15.0f} {tps / ec if ec else 0:7.2f}" + (f"  ({errors} non-2xx)" if errors else ""))
            # docker_auth's own setup: `berth auth-server` with the users and acl in the file.
            for algorithm, reference in (("RS256", rsa), ("ES256", ec)):
                tps, errors = file_token_bench(os.path.abspath(a.berth), work, algorithm, a.wrk_seconds)
                print(f"{algorithm + ', berth auth-server, auth_config.yml':40} {tps:10.0f} {reference:15.0f} {tps / reference if reference else 0:7.2f}" + (f"  ({errors} non-2xx)" if errors else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
