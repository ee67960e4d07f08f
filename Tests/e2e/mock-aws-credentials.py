#!/usr/bin/env python3
"""A MOCK of the three AWS endpoints that hand out temporary credentials, which cannot run on
this machine for real: the EC2 instance metadata service (IMDSv2: token PUT, role list,
role credentials), the container credentials endpoint (ECS / EKS Pod Identity, with an
authorization token), and STS AssumeRoleWithWebIdentity (EKS IAM roles for service accounts).
The credentials it serves are REAL: each fetch asks the S3 server (Ceph's radosgw) for new
temporary credentials with STS GetSessionToken, so the S3 server verifies the session
tokens Berth signs with. Every fetch is counted per endpoint in COUNT_FILE (JSON).
The expiration it reports is EXPIRES_IN seconds away (the real credentials live 15 minutes),
so a client renewing 5 minutes ahead renews often.
Usage: mock-aws-credentials.py PORT S3_ENDPOINT ACCESS_KEY SECRET_KEY EXPIRES_IN COUNT_FILE
       CONTAINER_TOKEN WEB_IDENTITY_TOKEN ROLE_ARN"""
import datetime, http.server, json, sys, threading, urllib.parse, uuid
import boto3

port, endpoint, access, secret, expires_in, count_file, container_token, web_token, role_arn = sys.argv[1:10]
sts = boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access, aws_secret_access_key=secret)
lock, counts, imds_tokens = threading.Lock(), {}, set()


def fresh():
    c = sts.get_session_token(DurationSeconds=900)["Credentials"]
    expiration = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=int(expires_in))
    return c, expiration.strftime("%Y-%m-%dT%H:%M:%SZ")


def count(name):
    with lock:
        counts[name] = counts.get(name, 0) + 1
        with open(count_file, "w") as f:
            json.dump(counts, f)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, content_type="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def document(self, name):
        c, expiration = fresh()
        count(name)
        return json.dumps({"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": c["AccessKeyId"],
                           "SecretAccessKey": c["SecretAccessKey"], "Token": c["SessionToken"], "Expiration": expiration})

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            token = uuid.uuid4().hex
            with lock:
                imds_tokens.add(token)
            return self.answer(200, token, "text/plain")
        self.answer(400, "")

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/latest/meta-data/iam/security-credentials/"):
            # IMDSv2 only, as instances configured with HttpTokens=required.
            if self.headers.get("X-aws-ec2-metadata-token") not in imds_tokens:
                return self.answer(401, "")
            role = url.path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.answer(200, "berth-instance-role", "text/plain")
            if role != "berth-instance-role":
                return self.answer(404, "")
            return self.answer(200, self.document("imds"))
        if url.path == "/container-credentials":
            if self.headers.get("Authorization") != container_token:
                return self.answer(403, "")
            return self.answer(200, self.document("container"))
        self.answer(404, "")

    def do_POST(self):
        # STS takes its parameters in a form body, as the SDKs send them (never in the URL).
        if self.path != "/sts/" or not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self.answer(400, "")
        q = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()))
        if q.get("Action") != "AssumeRoleWithWebIdentity" or q.get("RoleArn") != role_arn or q.get("WebIdentityToken") != web_token:
            return self.answer(403, "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>", "text/xml")
        c, expiration = fresh()
        count("web-identity")
        return self.answer(200, f"""<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <Credentials>
      <AccessKeyId>{c["AccessKeyId"]}</AccessKeyId>
      <SecretAccessKey>{c["SecretAccessKey"]}</SecretAccessKey>
      <SessionToken>{c["SessionToken"]}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
</AssumeRoleWithWebIdentityResponse>""", "text/xml")


http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler).serve_forever()
