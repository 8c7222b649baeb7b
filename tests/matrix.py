"""The hostile-server matrix: how pg_http survives servers that misbehave.

Every case runs in one backend of the test cluster, against every
transport, and asserts four things:
  - the exact outcome: a row (status, body) or an error (SQLSTATE, message);
  - that the call ended within its deadline;
  - that the backend's open descriptors came back to their previous count;
  - that the next call on the same backend works.
Cases a transport cannot meet for want of a feature (TLS, decompression)
are reported as skipped, never as passed.
"""

import base64
import os
import time

import psycopg2

from scenarios import connect, backend_fds, mock_url


def raw(env, response, hold=0):
    b = base64.urlsafe_b64encode(response.encode("latin-1")).decode()
    return mock_url(env, "/raw?b=%s%s" % (b, "&hold=%s" % hold if hold else ""))


def https(port, path="/"):
    return "https://localhost:%d%s" % (port, path)


def cases(env):
    m = lambda p: mock_url(env, p)
    T = "'{\"timeout_ms\": %d}'"
    # (name, SQL, expected, seconds allowed, needs)
    # expected: ("row", status, body or None) | ("error", sqlstate, message)
    return [
        ("connection refused", "SELECT http.get('http://127.0.0.1:1/')",
         ("error", "08001", "could not connect to HTTP server"), 2, None),
        ("accept then close", "SELECT http.get('%s')" % m("/close-before-response"),
         ("error", "08006", "server closed the connection without a response"), 2, None),
        ("reset before the response", "SELECT http.get('%s')" % m("/reset-before-response"),
         ("error", "08006", "could not receive HTTP response"), 2, None),
        ("reset mid-headers", "SELECT http.get('%s')" % m("/reset-headers"),
         ("error", "08006", "could not receive HTTP response"), 2, None),
        ("reset mid-body", "SELECT http.get('%s')" % m("/reset-body"),
         ("error", "08006", "could not receive HTTP response"), 2, None),
        ("status line garbage", "SELECT http.get('%s')" % raw(env, "garbage\r\n\r\n"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("HTTP/0.9-style reply", "SELECT http.get('%s')" % raw(env, "just a body", hold=3),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("header line over the limit", "SELECT http.get('%s')" % m("/long-header?n=70000"),
         ("error", "54000", "HTTP response header section too large"), 2, None),
        ("more headers than the limit", "SELECT http.get('%s')" % m("/many-headers?n=200"),
         ("error", "54000", "HTTP response header section too large"), 2, None),
        ("endless headers, slow drip",
         "SELECT http.get('%s', NULL, %s)" % (m("/drip-headers?interval_ms=20"), T % 500),
         ("error", "08T00", "HTTP request timed out"), 1.5, None),
        ("body slower than the timeout",
         "SELECT http.get('%s', NULL, %s)" % (m("/drip?bytes=100&interval_ms=100"), T % 500),
         ("error", "08T00", "HTTP request timed out"), 1.5, None),
        ("Content-Length larger than sent, then close",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"),
         ("error", "08006", "server closed the connection before the response was complete"), 2, None),
        ("Content-Length and Transfer-Encoding both",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n"
                                            "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"),
         ("row", 200, "ok"), 2, None),
        ("negative Content-Length",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("non-numeric Content-Length",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nx"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("overflowing Content-Length",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("chunk size overflow",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                            "ffffffffffffffffffffff\r\n"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("non-hex chunk size",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("missing final chunk",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"),
         ("error", "08006", "server closed the connection before the response was complete"), 2, None),
        ("trailers over the limit", "SELECT http.get('%s')" % m("/trailers-huge?n=80"),
         ("error", "54000", "HTTP response header section too large"), 2, None),
        ("1xx storm",
         "SELECT http.get('%s')" % raw(env, "HTTP/1.1 100 Continue\r\n\r\n" * 20 + "HTTP/1.1 200 OK\r\n\r\n"),
         ("error", "08P01", "invalid HTTP response"), 2, None),
        ("100-continue without a final response",
         "SELECT http.get('%s', NULL, %s)" % (m("/100-then-hang"), T % 500),
         ("error", "08T00", "HTTP request timed out"), 1.5, None),
        ("response over the limit",
         "SELECT http.get('%s', NULL, '{\"max_response_bytes\": 1000}')" % m("/text/2000"),
         ("error", "54000", "HTTP response too large"), 2, None),
        ("chunked response over the limit",
         "SELECT http.get('%s', NULL, '{\"max_response_bytes\": 1000}')" % m("/chunked/2000?chunk=300"),
         ("error", "54000", "HTTP response too large"), 2, None),
        ("gzip bomb",
         "SELECT http.get('%s', NULL, '{\"decompress\": true, \"max_response_bytes\": 1000000}')" % m("/gzip-bomb?mb=50"),
         ("error", "54000", "HTTP response too large"), 3, "decompress"),
        ("server never reads the request body",
         "SELECT http.post('%s', repeat('x', 30000000), 'text/plain', NULL, %s)" % (m("/never-read?hold=5"), T % 700),
         ("error", "08T00", "HTTP request timed out"), 2.5, None),
        ("server half-closes after its response", "SELECT http.get('%s')" % m("/half-close"),
         ("row", 200, "half-closed body"), 2, None),
        ("server half-closes without a response", "SELECT http.get('%s')" % m("/half-close-before"),
         ("error", "08006", "server closed the connection without a response"), 2, None),
        ("keep-alive connection closed between calls",
         ["SELECT http.get('%s')" % m("/ka-close-later?after=0.05"), "SELECT pg_sleep(0.3)",
          "SELECT http.get('%s')" % m("/status/200")],
         ("row", 200, "status 200"), 3, None),
        ("stale keep-alive: GET sent again on a fresh connection",
         ["SELECT http.get('%s')" % m("/ka-drop-next"), "SELECT http.get('%s')" % m("/status/203")],
         ("row", 203, "status 203"), 3, None),
        ("stale keep-alive: POST not sent again",
         ["SELECT http.get('%s')" % m("/ka-drop-next"), "SELECT http.post('%s', '{}'::jsonb)" % m("/echo")],
         ("error", "08006", "server closed the connection without a response"), 3, None),
        ("connect that never completes",
         "SELECT http.get('http://127.0.0.1:%d/', NULL, '{\"connect_timeout_ms\": 300}')" % env.blackhole_port,
         ("error", "08T00", "HTTP connection timed out"), 1.2, None),
        ("resolver that hangs",
         "SELECT http.get('http://matrix.slow.test/', NULL, '{\"connect_timeout_ms\": 300}')",
         ("error", "08T00", "HTTP connection timed out"), 1.2, None),
        ("TLS: untrusted certificate", "SELECT http.get('%s')" % https(env.untrusted_port),
         ("error", "08001", "TLS certificate of the server is not trusted"), 2, "tls"),
        ("TLS: expired certificate", "SELECT http.get('%s')" % https(env.expired_port),
         ("error", "08001", "TLS certificate of the server has expired or is not yet valid"), 2, "tls"),
        ("TLS: certificate for another name",
         "SELECT http.get('https://127.0.0.1:%d/get')" % env.httpbin_tls_port,
         ("error", "08001", "TLS certificate of the server does not match the host name"), 2, "tls"),
        ("TLS: garbage instead of a ServerHello", "SELECT http.get('%s')" % https(env.tls_garbage_port),
         ("error", "08001", "TLS handshake failed"), 3, "tls"),
        ("TLS: dropped during the handshake", "SELECT http.get('%s')" % https(env.tls_drop_port),
         ("error", "08001", "TLS handshake failed"), 2, "tls"),
        ("TLS: server silent after the ClientHello",
         "SELECT http.get('%s', NULL, '{\"connect_timeout_ms\": 300}')" % https(env.tls_silent_port),
         ("error", "08T00", "HTTP connection timed out"), 1.2, "tls"),
    ]


def settle(conn, env):
    """Close pooled connections and check the backend still works; the
    descriptor count is comparable after this.  (The name makes the first
    call set up the per-backend resolver descriptor, which stays.)"""
    with conn.cursor() as cur:
        cur.execute("SET pg_http.keepalive = off")
        cur.execute("SELECT (http.get(%s)).status",
                    ("http://localhost:%d/status/200" % env.mock_port,))
        ok = cur.fetchone()[0] == 200
        cur.execute("RESET pg_http.keepalive")
    return ok


def run(env):
    """Yield (case name, passed: True/False/None for skipped, note)."""
    features = {"mock": set(), "mbedtls": {"tls"}, "curl": {"tls", "decompress"}}[env.transport]
    conn = connect(env)
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    settle(conn, env)
    for name, sql, expected, allowed, needs in cases(env):
        if needs and needs not in features:
            yield name, None, "the %s transport has no %s" % (env.transport, needs)
            continue
        fds0 = backend_fds(pid)
        steps = sql if isinstance(sql, list) else [sql]
        got = None
        t0 = time.monotonic()
        try:
            with conn.cursor() as cur:
                for step in steps:
                    t0 = time.monotonic()
                    cur.execute("SELECT (r).status, (r).body FROM (%s) s(r)" % step
                                if step.startswith("SELECT http.") else step)
                    row = cur.fetchone()
                got = ("row", row[0], row[1])
        except psycopg2.Error as e:
            got = ("error", e.pgcode, e.diag.message_primary)
        took = time.monotonic() - t0
        works = settle(conn, env)
        fds1 = backend_fds(pid)
        problems = []
        if expected[0] != got[0] or expected[1] != got[1] or \
                (expected[2] is not None and expected[2] != got[2]):
            problems.append("expected %r, got %r" % (expected, got))
        if took > allowed:
            problems.append("took %.2f s, allowed %.2f s" % (took, allowed))
        if fds1 != fds0:
            problems.append("descriptors %d -> %d" % (fds0, fds1))
        if not works:
            problems.append("the next call failed")
        note = "; ".join(problems) if problems else "%s %s in %.0f ms" % (got[0], got[1], took * 1000)
        yield name, not problems, note
    conn.close()
