#!/usr/bin/env python3
"""Scripted HTTP/1.1 server for pg_http's tests (standard library only).

It does what httpbin cannot: delays, slow drips, resets, malformed framing,
huge headers, interim-response storms and keep-alive connections that die
at awkward moments.  It listens on 127.0.0.1 only and counts connections and
requests, which tests read back from /__stats to prove what reached it.
It also checks signed requests (/signed/webhook, /signed/hmac, /signed/aws/...)
with tests/signcheck.py, and plays an OAuth 2.0 client-credentials server
(/oauth/token, /oauth/api, /oauth/revoke-all).

Usage: mockserver.py --port-file FILE [--port N] [--tls-cert C --tls-key K]
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import socket
import ssl
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import signcheck  # noqa: E402

MAX_HEAD = 1 << 20

stats = {"connections": 0, "requests": {}, "bodies": {}}

# OAuth 2.0 client credentials: tokens "tok-<n>" issued (token -> expiry,
# None for none) and revoked; /__reset empties both, n counts on regardless
oauth_issued = {}
oauth_revoked = set()
oauth_count = [0]


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # list of (name, value), order kept
        self.body = body
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path
        self.query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


class Conn:
    """State of one client connection."""

    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer
        self.drop_next = False

    def sock(self):
        return self.writer.get_extra_info("socket")

    def reset(self):
        """Abort with a TCP RST (SO_LINGER 0), not an orderly FIN."""
        s = self.sock()
        if s is not None:
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()


async def read_request(conn):
    """Read one request; None at a clean end of stream."""
    try:
        head = await conn.reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = []
    for line in lines[1:]:
        if line:
            k, v = line.split(":", 1)
            headers.append((k.strip(), v.strip()))
    req = Request(method, target, version, headers, b"")
    te = req.header("Transfer-Encoding")
    cl = req.header("Content-Length")
    if te and "chunked" in te.lower():
        body = b""
        while True:
            size = int((await conn.reader.readline()).split(b";")[0], 16)
            if size == 0:
                while (await conn.reader.readline()) not in (b"\r\n", b""):
                    pass
                break
            body += await conn.reader.readexactly(size)
            await conn.reader.readline()
        req.body = body
    elif cl:
        if req.path.startswith("/never-read"):
            return req  # leave the body unread on purpose
        req.body = await conn.reader.readexactly(int(cl))
    return req


def response(status, body=b"", headers=None, reason=None, close=False):
    reasons = {200: "OK", 201: "Created", 204: "No Content", 304: "Not Modified",
               400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
               405: "Method Not Allowed", 418: "I'm a teapot",
               500: "Internal Server Error", 503: "Service Unavailable"}
    out = ["HTTP/1.1 %d %s" % (status, reason or reasons.get(status, "Status"))]
    hs = list(headers or [])
    if status not in (204, 304) and not any(k.lower() == "content-length" for k, _ in hs):
        hs.append(("Content-Length", str(len(body))))
    if close:
        hs.append(("Connection", "close"))
    for k, v in hs:
        out.append("%s: %s" % (k, v))
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body


def pattern_bytes(n, seed):
    rnd = random.Random(seed)
    return bytes(rnd.getrandbits(8) for _ in range(n)) if n < 65536 else \
        rnd.randbytes(n)


def md5(b):
    return hashlib.md5(b).hexdigest()


def text_body(n):
    line = b"pg_http test line 0123456789 abcdefghijklmnopqrstuvwxyz\n"
    return (line * (n // len(line) + 1))[:n]


# -- signed requests: the checks live in signcheck.py ----------------------------


def json_response(status, doc, headers=None):
    return response(status, json.dumps(doc).encode(),
                    [("Content-Type", "application/json")] + list(headers or []))


def denied(why, headers=None):
    return json_response(401, {"ok": False, "why": why}, headers)


class KeyfileError(Exception):
    """The test set the server up wrong (a 500), not a signature failure."""


def read_keyfile(path):
    """A secret file's bytes, one trailing newline stripped."""
    if not path:
        raise KeyfileError("no keyfile given")
    try:
        with open(path, "rb") as f:
            key = f.read()
    except OSError as e:
        raise KeyfileError("keyfile %s: %s" % (path, e.strerror))
    if key.endswith(b"\n"):
        key = key[:-2] if key.endswith(b"\r\n") else key[:-1]
    return key


def seconds(q, name, default):
    """An optional tolerance in seconds from the query; "none" turns it off."""
    v = q.get(name, default)
    return None if v == "none" else int(v)


def signed_webhook(req):
    """Standard Webhooks: webhook-id, webhook-timestamp (within "tolerance"
    seconds of now, 300 unless given) and webhook-signature."""
    key = read_keyfile(req.query.get("keyfile")).decode("utf-8")
    mid, ts, sig = (req.header(h) for h in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if mid is None or ts is None or sig is None:
        return denied("missing webhook-id, webhook-timestamp or webhook-signature")
    if not ts.isdigit():
        return denied("webhook-timestamp %r is not an integer" % ts)
    tolerance = seconds(req.query, "tolerance", "300")
    if tolerance is not None and abs(time.time() - int(ts)) > tolerance:
        return denied("webhook-timestamp %s is more than %ds from now" % (ts, tolerance))
    try:
        ok = signcheck.standard_webhooks_verify(key, mid, ts, req.body, sig)
    except ValueError as e:
        raise KeyfileError(str(e))
    if not ok:
        return denied("no v1 signature in %r matches" % sig)
    # tag=T: verified arrivals are recorded under T (/__stats "webhooks"),
    # and the first "fail" of them answered 503, so retries can be checked
    tag = req.query.get("tag")
    if tag is not None:
        seen = stats.setdefault("webhooks", {}).setdefault(tag, [])
        seen.append({"id": mid, "timestamp": int(ts), "signature": sig})
        if len(seen) <= int(req.query.get("fail", "0")):
            return json_response(503, {"ok": True, "retry": True})
    return json_response(200, {"ok": True, "id": mid, "timestamp": int(ts)})


HMAC_HEADERS = {"body": "X-Hub-Signature-256", "stripe": "Stripe-Signature",
                "slack": "X-Slack-Signature"}


def signed_hmac(req):
    """An HMAC in one header.  payload=body: header = prefix + hmac(body);
    stripe: "t=<ts>,v1=<hmac of '<ts>.<body>'>"; slack: "v0=<hex hmac-sha256
    of 'v0:<ts>:<body>'>" with X-Slack-Request-Timestamp (stripe and slack:
    the timestamp within "tolerance" seconds of now, 300 unless given)."""
    q = req.query
    key = read_keyfile(q.get("keyfile"))
    algo, enc, mode = q.get("algo", "sha256"), q.get("encoding", "hex"), q.get("payload", "body")
    if algo not in ("sha256", "sha512") or enc not in ("hex", "base64") or mode not in HMAC_HEADERS:
        return json_response(400, {"ok": False, "why": "bad algo, encoding or payload"})
    name = q.get("header") or HMAC_HEADERS[mode]
    value = req.header(name)
    if value is None:
        return denied("no %s header" % name)
    tolerance = seconds(q, "tolerance", "300")
    if mode == "body":
        mac = (signcheck.hmac_hex if enc == "hex" else signcheck.hmac_b64)(key, req.body, algo)
        if not signcheck.same(q.get("prefix", "") + mac, value):
            return denied("%s: %r does not match" % (name, value))
        return json_response(200, {"ok": True, "header": name})
    if mode == "stripe":
        ok, why, ts = signcheck.stripe_verify(key, value, req.body, algo, enc, tolerance)
    else:
        ts = req.header("X-Slack-Request-Timestamp")
        ok, why = signcheck.slack_verify(key, value, ts, req.body, tolerance)
    if not ok:
        return denied("%s: %s" % (name, why))
    return json_response(200, {"ok": True, "header": name, "timestamp": int(ts)})


def without_keyfile(target):
    """The target with every keyfile= query parameter taken out."""
    path, _, query = target.partition("?")
    rest = [p for p in query.split("&")
            if p and urllib.parse.unquote(p.partition("=")[0]) != "keyfile"]
    return path + ("?" + "&".join(rest) if rest else "")


def signed_aws(req):
    """AWS Signature V4 on anything under /signed/aws/.  The secret key comes
    from $PG_HTTP_TEST_SECRETS_DIR/aws_secret_key when the server runs with
    that variable set; otherwise from the file the keyfile query parameter
    names, and then the request passes whether the client signed keyfile
    with the rest of the query or left it out.  Every other parameter is
    part of the signed query, max_skew included (seconds X-Amz-Date may be
    off now, 900 as at AWS unless given; "none" turns the check off)."""
    secrets_dir = os.environ.get("PG_HTTP_TEST_SECRETS_DIR")
    if secrets_dir:
        key = read_keyfile(os.path.join(secrets_dir, "aws_secret_key"))
        targets = [req.target]
    else:
        key = read_keyfile(req.query.get("keyfile"))
        targets = [req.target, without_keyfile(req.target)]
    max_skew = seconds(req.query, "max_skew", "900")
    # the head was read as latin-1: hand its raw bytes over as UTF-8 with
    # surrogate escapes, so that non-ASCII octets are hashed as they came
    raw = lambda s: s.encode("latin-1").decode("utf-8", "surrogateescape")  # noqa: E731
    headers = [(k, raw(v)) for k, v in req.headers]
    whys = []
    for target in dict.fromkeys(targets):  # once each, in order
        ok, why = signcheck.sigv4_verify(req.method, raw(target), headers, req.body,
                                         key.decode("utf-8"), max_skew=max_skew)
        if ok:
            a = signcheck.sigv4_parse_authorization(req.header("Authorization"))
            doc = {"ok": True, "signed_headers": a["signed_headers"],
                   "access_key": a["access_key"], "region": a["region"], "service": a["service"]}
            if not secrets_dir:
                doc["keyfile_signed"] = target == req.target
            return json_response(200, doc)
        whys.append("as %s: %s" % (target, why))
    return denied("\n".join(whys))


def oauth_error(status, error, why, headers=None):
    return json_response(status, {"error": error, "error_description": why},
                         [("Cache-Control", "no-store")] + list(headers or []))


def oauth_token(req):
    """RFC 6749 4.4: client credentials by HTTP Basic (id and secret each
    form-urlencoded first, 2.3.1) or client_id/client_secret in the form
    body, never both; the secret must be the keyfile's, any non-empty id
    will do.  expires_in (query, 3600 unless given, "none" to leave it out)
    is also when the token stops working at /oauth/api."""
    if req.method != "POST":
        return oauth_error(405, "invalid_request", "the token endpoint takes POST",
                           [("Allow", "POST")])
    secret = read_keyfile(req.query.get("keyfile"))
    form = dict(urllib.parse.parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True))
    auth = req.header("Authorization") or ""
    basic = auth[:6].lower() == "basic "
    if basic and ("client_id" in form or "client_secret" in form):
        return oauth_error(400, "invalid_request", "more than one client authentication method")
    challenge = [("WWW-Authenticate", 'Basic realm="mock"')] if basic else []
    if basic:
        try:
            pair = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return oauth_error(401, "invalid_client", "Basic credentials are not base64", challenge)
        cid, _, csecret = pair.partition(":")
        cid, csecret = urllib.parse.unquote_plus(cid), urllib.parse.unquote_plus(csecret)
    else:
        cid, csecret = form.get("client_id", ""), form.get("client_secret", "")
    if not cid or not signcheck.same(csecret, secret):
        return oauth_error(401, "invalid_client", "client authentication failed", challenge)
    grant = form.get("grant_type")
    if grant is None:
        return oauth_error(400, "invalid_request", "no grant_type")
    if grant != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "grant_type %r" % grant)
    expires = req.query.get("expires_in", "3600")
    oauth_count[0] += 1
    token = "tok-%d" % oauth_count[0]
    doc = {"access_token": token, "token_type": "Bearer"}
    if expires == "none":
        oauth_issued[token] = None
    else:
        doc["expires_in"] = int(expires)
        oauth_issued[token] = time.time() + int(expires)
    if "scope" in form:
        doc["scope"] = form["scope"]
    return json_response(200, doc, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def oauth_api(req):
    """A resource: "Authorization: Bearer tok-<n>" for a token issued, not
    revoked and not expired."""
    scheme, _, token = (req.header("Authorization") or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or token not in oauth_issued:
        why = "no such token %r" % token
    elif token in oauth_revoked:
        why = "token %s revoked" % token
    elif oauth_issued[token] is not None and time.time() > oauth_issued[token]:
        why = "token %s expired" % token
    else:
        return json_response(200, {"ok": True, "token": token})
    return denied(why, [("WWW-Authenticate", 'Bearer error="invalid_token"')])


def parse_multipart(content_type, body):
    """A multipart/form-data body (RFC 7578, RFC 2046 5.1.1) parsed strictly
    by hand (no cgi or email module, which are lenient): a list of parts,
    each {"name", "filename", "content_type", "headers", "base64"}.  Raises
    ValueError for anything malformed: a missing or misplaced delimiter, a
    delimiter not followed by CRLF or "--", data after the close delimiter,
    a part without a header block or with an unquoted name."""
    ct, _, params = content_type.partition(";")
    if ct.strip().lower() != "multipart/form-data":
        raise ValueError("Content-Type is %r" % content_type)
    boundary = None
    for param in params.split(";"):
        k, _, v = param.strip().partition("=")
        if k.lower() == "boundary":
            boundary = v[1:-1] if v.startswith('"') else v
    if not boundary or len(boundary) > 70:
        raise ValueError("bad boundary %r" % boundary)
    delim = b"--" + boundary.encode("latin-1")
    if not body.startswith(delim + b"\r\n"):
        raise ValueError("the body does not start with the delimiter")
    pos = len(delim) + 2
    parts = []
    while True:
        end = body.find(b"\r\n" + delim, pos)
        if end < 0:
            raise ValueError("part %d has no closing delimiter" % (len(parts) + 1))
        head, sep, content = body[pos:end].partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("part %d has no blank line after its headers" % (len(parts) + 1))
        part = {"headers": [], "name": None, "filename": None, "content_type": None,
                "base64": base64.b64encode(content).decode()}
        for line in head.decode("utf-8").split("\r\n"):
            k, colon, v = line.partition(":")
            if not colon:
                raise ValueError("bad header line %r" % line)
            part["headers"].append([k, v.strip()])
            if k.lower() == "content-type":
                part["content_type"] = v.strip()
            elif k.lower() == "content-disposition":
                kind, _, rest = v.strip().partition(";")
                if kind != "form-data":
                    raise ValueError("disposition %r" % kind)
                while rest.strip():
                    rest = rest.strip()
                    if not rest.startswith(";") and part["name"] is not None:
                        raise ValueError("bad disposition parameters %r" % rest)
                    rest = rest.lstrip(";").strip()
                    pname, eq, rest = rest.partition("=")
                    if not eq or not rest.startswith('"') or '"' not in rest[1:]:
                        raise ValueError("unquoted disposition parameter %r" % pname)
                    value, rest = rest[1:].split('"', 1)
                    part[pname.strip()] = value
        if part["name"] is None:
            raise ValueError("part %d has no name" % (len(parts) + 1))
        parts.append(part)
        after = end + 2 + len(delim)
        if body[after:after + 2] == b"--":
            if body[after + 2:] not in (b"", b"\r\n"):
                raise ValueError("data after the close delimiter")
            return parts
        if body[after:after + 2] != b"\r\n":
            raise ValueError("a delimiter is not followed by CRLF")
        pos = after + 2


async def handle(conn, req):
    """Serve one request.  Returns False to close the connection."""
    w = conn.writer
    p = req.path
    q = req.query
    n = int(q.get("n", "0") or 0)

    if req.target.startswith("http://") or req.method == "CONNECT":
        # acting as a forward proxy: say what was asked, never forward it
        auth = req.header("Proxy-Authorization")
        w.write(response(200, ("proxied %s %s%s" % (req.method, req.target,
                                                    " with " + auth if auth else "")).encode(),
                         [("Content-Type", "text/plain")]))
        return True

    if p == "/__stats":
        w.write(response(200, json.dumps(stats).encode(),
                         [("Content-Type", "application/json")]))
        return True
    if p == "/__reset":
        stats["connections"] = 1  # this one
        stats["requests"] = {}
        stats["bodies"] = {}
        stats["tls_resumed"] = 0
        stats["webhooks"] = {}
        oauth_issued.clear()
        oauth_revoked.clear()
        w.write(response(200, b"reset"))
        return True

    if p == "/redir-loop":
        w.write(response(302, b"", [("Location", "/redir-loop")]))
        return True

    if p.startswith("/redir/"):
        # a redirect to whatever "to" says, with status "code"
        code = int(q.get("code", "302"))
        w.write(response(code, b"", [("Location", q.get("to", "/"))]))
        return True

    if p.startswith("/sink/"):
        # one path per queued request, so /__stats counts each one's arrivals
        ms = int(q.get("ms", "0") or 0)
        if ms:
            await asyncio.sleep(ms / 1000.0)
        w.write(response(200, b"ok " + p[6:].encode(), [("Content-Type", "text/plain")]))
        return True

    if p == "/multipart":
        # the parts of a multipart/form-data body as this server's own
        # strict parser reads them (400 with why, if it cannot)
        try:
            parts = parse_multipart(req.header("Content-Type") or "", req.body)
        except ValueError as e:
            w.write(json_response(400, {"ok": False, "why": str(e)}))
            return True
        w.write(json_response(200, {"ok": True, "method": req.method, "query": req.query,
                                    "content_type": req.header("Content-Type"),
                                    "parts": parts}))
        return True

    if p.startswith("/flaky/"):
        # fails the first "fail" arrivals at this path with "status"
        # (and Retry-After if asked), then answers 200
        seen = stats["requests"][p]
        if seen <= int(q.get("fail", "1")):
            extra = [("Content-Type", "text/plain")]
            if "retry_after" in q:
                extra.append(("Retry-After", q["retry_after"]))
            w.write(response(int(q.get("status", "503")), b"not yet %d" % seen, extra))
        else:
            w.write(response(200, b"ok after %d" % seen, [("Content-Type", "text/plain")]))
        return True

    if p.startswith("/delay/"):
        ms = int(p.split("/")[2])
        await asyncio.sleep(ms / 1000.0)
        w.write(response(200, b"delayed %d" % ms, [("Content-Type", "text/plain")]))
        return True

    if p.startswith("/status/"):
        code = int(p.split("/")[2])
        body = b"" if code in (204, 304) else b"status %d" % code
        w.write(response(code, body, [("Content-Type", "text/plain")]))
        return True

    if p == "/echo":
        doc = {
            "method": req.method,
            "target": req.target,
            "headers": [[k, v] for k, v in req.headers],
            "body_md5": md5(req.body),
            "body_len": len(req.body),
        }
        try:
            text = req.body.decode("utf-8")
            if "\x00" not in text:
                doc["body"] = text
        except UnicodeDecodeError:
            pass
        w.write(response(200, json.dumps(doc).encode(), [("Content-Type", "application/json")]))
        return True

    if p.startswith("/bytes/"):
        size = int(p.split("/")[2])
        body = pattern_bytes(size, q.get("seed", "1"))
        w.write(response(200, body, [("Content-Type", "application/octet-stream"),
                                     ("X-Body-MD5", md5(body))]))
        return True

    if p.startswith("/text/"):
        size = int(p.split("/")[2])
        body = text_body(size)
        w.write(response(200, body, [("Content-Type", "text/plain; charset=utf-8"),
                                     ("X-Body-MD5", md5(body))]))
        return True

    if p.startswith("/chunked/"):
        size = int(p.split("/")[2])
        chunk = int(q.get("chunk", "8192"))
        body = text_body(size)
        head = ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Body-MD5: %s\r\n"
                "Transfer-Encoding: chunked\r\n\r\n" % md5(body)).encode()
        w.write(head)
        for i in range(0, len(body), chunk):
            part = body[i:i + chunk]
            w.write(b"%x\r\n" % len(part) + part + b"\r\n")
            if q.get("slow"):
                await w.drain()
                await asyncio.sleep(0.001)
        trailer = b"X-Trailer: done\r\n" if q.get("trailers") else b""
        w.write(b"0\r\n" + trailer + b"\r\n")
        return True

    if p.startswith("/close-delimited-abort/"):
        # a body only the close ends, then the TCP connection cut without
        # TLS's close_notify: what an attacker truncating the body does
        size = int(p.split("/")[2])
        w.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n").encode() + text_body(size))
        await w.drain()
        await asyncio.sleep(0.2)
        # a FIN on the raw socket, under the TLS layer: no alert goes out
        raw = socket.socket(fileno=os.dup(w.get_extra_info("socket").fileno()))
        raw.shutdown(socket.SHUT_RDWR)
        raw.close()
        await asyncio.sleep(0.2)
        conn.writer.transport.abort()
        return False

    if p.startswith("/close-delimited/"):
        size = int(p.split("/")[2])
        body = text_body(size)
        w.write(("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Body-MD5: %s\r\n\r\n"
                 % md5(body)).encode() + body)
        return False

    if p in ("/ndjson", "/jsonarray"):
        # a long body of rows, made as it is sent: NDJSON lines
        # {"i":k,"pad":"xxx"} or one JSON array of such objects (at the top,
        # or at ["data"] with wrap=1).  break_at=k cuts the connection after
        # k rows; drip_ms waits between blocks; streams[] records how each
        # ended: "sent" (all), "broken" (break_at) or "gone" (the client
        # stopped reading and closed).
        rows = int(q.get("rows", "10"))
        # latin1=1: the pad is e-acute in ISO-8859-1, and the charset says so
        pad = (b"\xe9" if q.get("latin1") else b"x") * int(q.get("pad", "0"))
        block = int(q.get("block", "2000"))
        nl = b"\r\n" if q.get("crlf") else b"\n"
        arr = p == "/jsonarray"
        wrap = arr and q.get("wrap")
        break_at = int(q.get("break_at", "-1"))
        drip = int(q.get("drip_ms", "0")) / 1000.0
        rec = {"path": p, "rows_sent": 0, "end": "running"}
        stats.setdefault("streams", []).append(rec)
        ctype = ("application/json" if arr else "application/x-ndjson") + \
            ("; charset=iso-8859-1" if q.get("latin1") else "")
        w.write(("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                 % ctype).encode())
        first = b'{"meta":{"note":"rows in data, not [here]","n":[1,2]},"data":[' if wrap \
            else (b"[" if arr else b"")
        last = b"]}" if wrap else (b"]" if arr else b"")
        try:
            if first:
                w.write(b"%x\r\n" % len(first) + first + b"\r\n")
            for start in range(0, rows, block):
                end = min(rows, start + block)
                if 0 <= break_at < end:
                    end = break_at
                if arr:
                    part = b",".join(b'{"i":%d,"pad":"%s"}' % (i, pad) for i in range(start, end))
                    if start > 0 and part:
                        part = b"," + part
                else:
                    part = b"".join(b'{"i":%d,"pad":"%s"}' % (i, pad) + nl for i in range(start, end))
                if part:
                    w.write(b"%x\r\n" % len(part) + part + b"\r\n")
                await w.drain()
                rec["rows_sent"] = end
                if end == break_at:
                    rec["end"] = "broken"
                    w.transport.abort()
                    return False
                if drip:
                    await asyncio.sleep(drip)
            if last:
                w.write(b"%x\r\n" % len(last) + last + b"\r\n")
            w.write(b"0\r\n\r\n")
            await w.drain()
            rec["end"] = "sent"
        except (ConnectionError, asyncio.CancelledError):
            rec["end"] = "gone"
            raise ConnectionResetError("client went away")
        return True

    if p == "/deep":
        # {"x": [[[...]]]} nested n deep: what no array path should follow
        n = int(q.get("n", "10"))
        body = b'{"x": ' + b"[" * n + b"]" * n + b', "data": [1]}'
        w.write(response(200, body, [("Content-Type", "application/json")]))
        return True

    if p.startswith("/pages/"):
        # page k of n: a JSON array of its rows, Link rel="next" (relative)
        # to page k+1 and rel="last"; other=k sends page k's next link to
        # another origin (localhost instead of 127.0.0.1)
        k = int(p.split("/")[2])
        total = int(q.get("of", "10"))
        size = int(q.get("size", "3"))
        body = json.dumps([{"page": k, "i": k * size + j} for j in range(size)]).encode()
        links = []
        if k < total:
            nxt = "/pages/%d?of=%d&size=%d" % (k + 1, total, size)
            if q.get("other") == str(k):
                nxt = "http://localhost:%d%s" % (w.get_extra_info("sockname")[1], nxt)
            elif q.get("other"):
                nxt += "&other=" + q["other"]
            links.append('<%s>; rel="next"' % nxt)
        links.append('</pages/%d?of=%d&size=%d>; rel="last"' % (total, total, size))
        w.write(response(200, body, [("Content-Type", "application/json"),
                                     ("Link", ", ".join(links))]))
        return True

    if p == "/drip":
        # headers at once, then the body one byte per interval
        count = int(q.get("bytes", "10"))
        interval = int(q.get("interval_ms", "1000")) / 1000.0
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % count)
        for _ in range(count):
            await w.drain()
            await asyncio.sleep(interval)
            w.write(b"x")
        return True

    if p == "/drip-headers":
        # an endless header section, one line per interval
        interval = int(q.get("interval_ms", "100")) / 1000.0
        w.write(b"HTTP/1.1 200 OK\r\n")
        for i in range(int(q.get("lines", "100000"))):
            await w.drain()
            await asyncio.sleep(interval)
            w.write(b"X-Drip-%d: y\r\n" % i)
        return False

    if p == "/close-before-response":
        return False

    if p == "/reset-before-response":
        conn.reset()
        return False

    if p == "/reset-headers":
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
        await w.drain()
        await asyncio.sleep(0.05)
        conn.reset()
        return False

    if p == "/reset-body":
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 100)
        await w.drain()
        await asyncio.sleep(0.05)
        conn.reset()
        return False

    if p == "/raw":
        # send the base64 "b" parameter verbatim, then close (or hold)
        w.write(base64.urlsafe_b64decode(q.get("b", "")))
        if q.get("hold"):
            await w.drain()
            await asyncio.sleep(float(q["hold"]))
        return False

    if p == "/late-long-header":
        # the status line at once, a long header field (n bytes) after delay_ms
        w.write(b"HTTP/1.1 200 OK\r\n")
        await w.drain()
        await asyncio.sleep(int(q.get("delay_ms", "1000")) / 1000.0)
        w.write(b"X-Long: " + b"a" * n + b"\r\nContent-Length: 2\r\n\r\nok")
        return True

    if p == "/long-header":
        w.write(response(200, b"ok", [("X-Long", "a" * n)]))
        return True

    if p == "/many-headers":
        w.write(response(200, b"ok", [("X-H-%d" % i, "v") for i in range(n)]))
        return True

    if p == "/repeated-headers":
        w.write(response(200, b"ok", [("Set-Cookie", "a=1"), ("X-One", "1"),
                                      ("Set-Cookie", "b=2"), ("set-cookie", "c=3")]))
        return True

    if p == "/interim":
        for _ in range(n):
            w.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        w.write(response(200, b"after interim"))
        return True

    if p == "/charset":
        cs = q.get("cs", "latin1")
        text = "caf\u00e9 \u00fcber"
        w.write(response(200, text.encode(cs), [("Content-Type", "text/plain; charset=%s" % cs)]))
        return True

    if p == "/invalid-utf8":
        w.write(response(200, b"ok \xff\xfe not utf-8", [("Content-Type", "text/plain")]))
        return True

    if p == "/nul-byte":
        w.write(response(200, b"a\x00b", [("Content-Type", "text/plain")]))
        return True

    if p == "/ka-drop-next":
        # answer with keep-alive, then drop the next request on this connection
        w.write(response(200, b"first"))
        conn.drop_next = True
        return True

    if p == "/ka-close-later":
        # answer with keep-alive, then close the idle connection shortly after
        w.write(response(200, b"ok"))
        await w.drain()
        await asyncio.sleep(float(q.get("after", "0.05")))
        return False

    if p == "/trailers-huge":
        w.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n")
        for i in range(n):
            w.write(b"X-Trailer-%d: %s\r\n" % (i, b"t" * 1000))
        w.write(b"\r\n")
        return True

    if p == "/100-then-hang":
        w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await w.drain()
        await asyncio.sleep(float(q.get("hold", "5")))
        return False

    if p == "/gzip-bomb":
        import gzip
        size = int(q.get("mb", "10")) << 20
        body = gzip.compress(b"\0" * size, compresslevel=9)
        w.write(response(200, body, [("Content-Type", "application/octet-stream"),
                                     ("Content-Encoding", "gzip")]))
        return True

    if p == "/half-close":
        # a close-delimited response, then only our side is shut down
        w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhalf-closed body")
        await w.drain()
        w.write_eof()
        await asyncio.sleep(0.5)
        return False

    if p == "/half-close-before":
        # shut down our side without answering, keep reading
        w.write_eof()
        await asyncio.sleep(0.5)
        return False

    if p.startswith("/never-read"):
        await asyncio.sleep(float(q.get("hold", "5")))
        return False

    # signature checks: 200 {"ok": true, ...} or 401 {"ok": false, "why": ...};
    # a keyfile that cannot be read (a broken test, not a bad signature): 500
    signed = {"/signed/webhook": signed_webhook, "/signed/hmac": signed_hmac,
              "/oauth/token": oauth_token, "/oauth/api": oauth_api}
    if p in signed or p.startswith("/signed/aws/"):
        try:
            w.write(signed.get(p, signed_aws)(req))
        except (KeyfileError, ValueError) as e:
            w.write(json_response(500, {"ok": False, "error": "server_error", "why": str(e)}))
        return True

    if p == "/oauth/revoke-all":
        # every token issued so far stops working; new ones still do
        oauth_revoked.update(oauth_issued)
        w.write(json_response(200, {"ok": True, "revoked": len(oauth_issued)}))
        return True

    w.write(response(404, b"no such mock endpoint", [("Content-Type", "text/plain")]))
    return True


async def client(reader, writer):
    stats["connections"] += 1
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is not None and ssl_object.session_reused:
        stats["tls_resumed"] = stats.get("tls_resumed", 0) + 1
    conn = Conn(reader, writer)
    try:
        while True:
            req = await read_request(conn)
            if req is None:
                break
            key = req.path
            stats["requests"][key] = stats["requests"].get(key, 0) + 1
            if req.body:
                stats["bodies"][key] = md5(req.body)
            if conn.drop_next and not req.path.startswith("/__"):
                conn.drop_next = False
                break  # close without answering
            keep = await handle(conn, req)
            await writer.drain()
            if not keep or (req.header("Connection") or "").lower() == "close":
                break
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def tunnel_client(reader, writer):
    """A forward proxy, for loopback targets only (127.0.0.1, ::1,
    localhost): CONNECT host:port tunnels bytes both ways; a proxy-form
    request is sent on to its origin and the answer passed back as is."""
    stats["connections"] += 1
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        first, rest = head.decode("latin-1").split("\r\n", 1)
        method, target, _ = first.split(" ", 2)
        if method != "CONNECT":
            # a plain forward proxy for http: the origin's answer, as is
            u = urllib.parse.urlsplit(target)
            if u.hostname not in ("127.0.0.1", "::1", "localhost"):
                writer.write(response(403, b"loopback only", close=True))
                await writer.drain()
                return
            stats["requests"]["PROXY " + target] = stats["requests"].get("PROXY " + target, 0) + 1
            lines = [l for l in rest.split("\r\n") if l and
                     not l.lower().startswith(("connection:", "proxy-"))]
            length = 0
            for l in lines:
                if l.lower().startswith("content-length:"):
                    length = int(l.split(":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            up_r, up_w = await asyncio.open_connection(u.hostname, u.port or 80)
            path = (u.path or "/") + ("?" + u.query if u.query else "")
            up_w.write(("%s %s HTTP/1.1\r\n%s\r\nConnection: close\r\n\r\n"
                        % (method, path, "\r\n".join(lines))).encode("latin-1") + body)
            await up_w.drain()
            while True:
                data = await up_r.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            up_w.close()
            return
        host, _, port = target.rpartition(":")
        host = host.strip("[]")
        if host not in ("127.0.0.1", "::1", "localhost"):
            writer.write(response(403, b"loopback only", close=True))
            await writer.drain()
            return
        stats["requests"]["CONNECT " + target] = stats["requests"].get("CONNECT " + target, 0) + 1
        up_r, up_w = await asyncio.open_connection(host, int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()

        async def pipe(src, dst):
            try:
                while True:
                    data = await src.read(65536)
                    if not data:
                        break
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    dst.close()
                except Exception:
                    pass
        await asyncio.gather(pipe(reader, up_w), pipe(up_r, writer))
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def raw_client(mode, reader, writer):
    """Misbehave at the TLS layer: the client speaks first (ClientHello)."""
    stats["connections"] += 1
    try:
        await reader.read(1)        # the ClientHello has started
        if mode == "garbage":
            writer.write(b"HTTP/1.1 200 OK\r\n\r\nthis is no ServerHello" * 4)
            await writer.drain()
            await asyncio.sleep(2)
        elif mode == "drop":
            await asyncio.sleep(0.05)
        elif mode == "silent":
            await asyncio.sleep(30)
    except ConnectionError:
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--raw", choices=["garbage", "drop", "silent"],
                    help="no HTTP at all: misbehave as soon as a client speaks")
    ap.add_argument("--tunnel", action="store_true",
                    help="be a forward proxy that tunnels CONNECT to loopback")
    args = ap.parse_args()

    if args.tunnel:
        server = await asyncio.start_server(tunnel_client, "127.0.0.1", args.port)
        port = server.sockets[0].getsockname()[1]
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
        async with server:
            await server.serve_forever()
        return

    if args.raw:
        server = await asyncio.start_server(lambda r, w: raw_client(args.raw, r, w),
                                            "127.0.0.1", args.port)
        port = server.sockets[0].getsockname()[1]
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        os.replace(args.port_file + ".tmp", args.port_file)
        async with server:
            await server.serve_forever()
        return

    ctx = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)

    server = await asyncio.start_server(client, "127.0.0.1", args.port, ssl=ctx,
                                        limit=MAX_HEAD, backlog=512)
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.replace(tmp, args.port_file)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
