#!/usr/bin/python3
# forward_server.py PORTFILE CERT KEY PLAN LOG SECRET CREDS: the receiver
# of tests/integration/forward.sh, over HTTPS on 127.0.0.1 (a free port,
# written to PORTFILE once it listens). Written independently of
# hookpipe's C code:
# - a webhook POST (any path) has its Standard Webhooks signature checked
#   with Python's hmac against the whsec_ SECRET (webhook-id.timestamp.
#   body, base64 HMAC-SHA256, "v1," in a space-separated list);
# - a request with X-Amz-Target: AmazonSQS.SendMessage is a fake Amazon
#   SQS: its SigV4 signature is computed again with botocore's SigV4Auth
#   from the request as received (the headers it says it signed, the
#   body, its x-amz-date) and the access key of CREDS, and compared.
# PLAN is JSON {"KEY": [status or [status, {header: value}], ...]}, KEY
# the path or "sqs:QUEUE"; each request takes the next answer (the last
# one repeats; none: 200). Every request is one JSON line in LOG: key,
# status answered, sig_ok, headers, body (and the SQS message).
import base64, hashlib, hmac, json, re, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, cert, keyfile, planfile, logfile, secretfile, credsfile = sys.argv[1:8]
plan = json.load(open(planfile))
secret = open(secretfile).read().split()[0]
creds = dict(re.findall(r"^\s*(\w+)\s*=\s*(\S+)", open(credsfile).read(), re.M))
counts = {}
lock = threading.Lock()


def stdwh_ok(h, body):
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        msg = (h["webhook-id"] + "." + h["webhook-timestamp"] + ".").encode() + body
        want = base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
        return any(s == "v1," + want for s in h["webhook-signature"].split(" "))
    except (KeyError, ValueError):
        return False


def sigv4_ok(h, body, path):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    m = re.match(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
                 r" ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]+)$", h.get("authorization", ""))
    if not m:
        return False
    akid, _, region, service, signed, sig = m.groups()
    if akid != creds.get("aws_access_key_id") or service != "sqs":
        return False
    req = AWSRequest(method="POST", url="https://" + h["host"] + path, data=body,
                     headers={n: h[n] for n in signed.split(";")})
    req.context["timestamp"] = h["x-amz-date"]
    auth = SigV4Auth(Credentials(akid, creds["aws_secret_access_key"]), service, region)
    want = auth.signature(auth.string_to_sign(req, auth.canonical_request(req)), req)
    return hmac.compare_digest(want, sig)


class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        h = {k.lower(): v for k, v in self.headers.items()}
        rec = {"path": self.path, "headers": h, "body": body.decode("utf-8", "replace")}
        if h.get("x-amz-target") == "AmazonSQS.SendMessage":
            msg = json.loads(body)
            key = "sqs:" + msg["QueueUrl"].rsplit("/", 1)[1]
            try:
                rec["sig_ok"] = sigv4_ok(h, body, self.path)
            except Exception as e:  # a signed header missing, ...
                rec["sig_ok"], rec["sig_error"] = False, repr(e)
            rec["sqs"] = msg
        else:
            key = self.path
            rec["sig_ok"] = stdwh_ok(h, body)
        with lock:
            n = counts.get(key, 0)
            counts[key] = n + 1
        answers = plan.get(key, [200])
        a = answers[min(n, len(answers) - 1)]
        status, extra = (a, {}) if isinstance(a, int) else a
        rec.update(key=key, n=n + 1, status=status)
        out = b"{}"
        if key.startswith("sqs:") and status == 200:
            out = json.dumps({"MessageId": "m-%d" % (n + 1),
                              "MD5OfMessageBody": hashlib.md5(rec["sqs"]["MessageBody"].encode()).hexdigest()}).encode()
        elif key.startswith("sqs:"):
            out = json.dumps({"__type": "com.amazonaws.sqs#InternalError", "message": "try again"}).encode()
        with lock, open(logfile, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, keyfile)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
import os
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
