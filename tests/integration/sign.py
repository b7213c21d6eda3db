#!/usr/bin/python3
# sign.py SCHEME SECRET BODY OUT [opt=value...]: the headers of a request
# signed as SCHEME's sender does, one per line ("?QUERY" for the query
# string); OUT gets the body to send (Mailgun's carries the signature).
# Written from each sender's documentation, independently of hookpipe's
# C code: tests/integration/signatures.sh and presets.sh use it. Schemes:
# stdwh, svix, github, meta, stripe, hmac (sha512, base64, "sha512="),
# shopify, slack, zoom, twilio (JSON; form=1 for a form), gitlab, paddle,
# mailgun, woocommerce, typeform, gitea, harmonics (x-auth-token).
# Options: off=SECONDS (timestamp offset), key=SECRET (sign with it),
# tamper=1 (change the body after signing), nosig=1 (no signature).
import base64, hashlib, hmac, json, sys, time
scheme, secret, path, out = sys.argv[1:5]
opt = dict(a.split("=", 1) for a in sys.argv[5:])
body = open(path, "rb").read()
key = opt.get("key", secret)
ts = str(int(time.time()) + int(opt.get("off", "0")))
hdr = []
def mac(k, msg, md=hashlib.sha256):
    return hmac.new(k.encode() if isinstance(k, str) else k, msg, md)
def stdwh(k, msgid):
    if k.startswith("whpk_") or k.startswith("sk:"):
        from cryptography.hazmat.primitives.asymmetric import ed25519
        sk = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(k[3:]))
        sig = sk.sign(msgid.encode() + b"." + ts.encode() + b"." + body)
        return "v1a," + base64.b64encode(sig).decode()
    raw = base64.b64decode(k.removeprefix("whsec_"))
    d = mac(raw, msgid.encode() + b"." + ts.encode() + b"." + body).digest()
    return "v1," + base64.b64encode(d).decode()
if scheme in ("stdwh", "svix"):
    p = "webhook" if scheme == "stdwh" else "svix"
    hdr += [p + "-id: msg_" + ts, p + "-timestamp: " + ts,
            p + "-signature: v1,AAAA " + stdwh(key, "msg_" + ts)]
elif scheme in ("github", "meta"):
    hdr.append("X-Hub-Signature-256: sha256=" + mac(key, body).hexdigest())
elif scheme == "stripe":
    hdr.append("Stripe-Signature: t=%s,v1=%s" % (ts, mac(key, ts.encode() + b"." + body).hexdigest()))
elif scheme == "hmac":
    hdr.append("X-Signature: sha512=" + base64.b64encode(mac(key, body, hashlib.sha512).digest()).decode())
elif scheme == "shopify":
    hdr.append("X-Shopify-Hmac-Sha256: " + base64.b64encode(mac(key, body).digest()).decode())
elif scheme in ("slack", "zoom"):
    sig = "v0=" + mac(key, b"v0:" + ts.encode() + b":" + body).hexdigest()
    if scheme == "slack":
        hdr += ["X-Slack-Request-Timestamp: " + ts, "X-Slack-Signature: " + sig]
    else:
        hdr += ["x-zm-request-timestamp: " + ts, "x-zm-signature: " + sig]
elif scheme == "twilio" and "form" in opt:
    from urllib.parse import parse_qsl
    pairs = sorted(parse_qsl(body.decode(), keep_blank_values=True))
    msg = opt["url"] + "".join(n + v for n, v in pairs)
    hdr.append("X-Twilio-Signature: " + base64.b64encode(mac(key, msg.encode(), hashlib.sha1).digest()).decode())
elif scheme == "twilio":
    q = "a=b&bodySHA256=" + hashlib.sha256(body).hexdigest()
    url = opt["url"] + "?" + q
    hdr += ["?" + q, "X-Twilio-Signature: " + base64.b64encode(mac(key, url.encode(), hashlib.sha1).digest()).decode()]
elif scheme == "gitlab":
    hdr.append("X-Gitlab-Token: " + key)
elif scheme == "paddle":
    hdr.append("Paddle-Signature: ts=%s;h1=%s" % (ts, mac(key, ts.encode() + b":" + body).hexdigest()))
elif scheme == "woocommerce":
    hdr.append("X-WC-Webhook-Signature: " + base64.b64encode(mac(key, body).digest()).decode())
elif scheme == "typeform":
    hdr.append("Typeform-Signature: sha256=" + base64.b64encode(mac(key, body).digest()).decode())
elif scheme == "gitea":
    hdr.append("X-Gitea-Signature: " + mac(key, body).hexdigest())
elif scheme == "harmonics":
    hdr.append("x-auth-token: " + key)
elif scheme == "mailgun":
    d = json.loads(body)
    import os	# a token per request, as Mailgun's
    tok = "tok" + hashlib.sha256(body + ts.encode() + os.urandom(8)).hexdigest()[:40]
    d["signature"] = {"timestamp": ts, "token": tok,
                      "signature": mac(key, (ts + tok).encode()).hexdigest()}
    body = json.dumps(d).encode()
if "nosig" in opt:
    hdr = [h for h in hdr if not h.lower().split(":")[0].endswith(("signature", "hmac-sha256", "token", "signature-256"))]
    if scheme == "mailgun":
        del d["signature"]
        body = json.dumps(d).encode()
if "tamper" in opt and scheme == "mailgun":	# what its MAC covers
    d["signature"]["token"] += "x"
    body = json.dumps(d).encode()
elif "tamper" in opt:
    body = body.replace(b"AAAA", b"AAAB")
open(out, "wb").write(body)
print("\n".join(hdr))
