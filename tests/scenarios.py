"""Scenarios that need more than one session, or a look at the backend
from outside (/proc): run by tests/run.py after the pg_regress suites.

Each scenario_* function takes the runner's Environment, raises on failure
and may return a short note (a measurement) for the report.
"""

import base64
import json
import os
import threading
import time

import psycopg2
import psycopg2.errors



class Skip(Exception):
    """A scenario that does not apply to this transport: reported as such,
    never counted as passed."""

DB = "pg_http_scenarios"


def connect(env):
    conn = psycopg2.connect(host=env.work, port=env.pg_port, user="postgres", dbname=DB)
    conn.autocommit = True
    return conn


def one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        if cur.description is None:
            return None
        row = cur.fetchone()
        return row[0] if row and len(row) == 1 else row


def mock_url(env, path):
    return "http://127.0.0.1:%d%s" % (env.mock_port, path)


def backend_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def backend_rss_kb(pid):
    """(RssAnon, VmRSS) of a backend in kB: private heap, and everything."""
    vals = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("RssAnon", "VmRSS"):
                vals[k] = int(v.split()[0])
    return vals["RssAnon"], vals["VmRSS"]


def needs_tls(env):
    if env.transport == "mock":
        raise Skip("the mock transport has no TLS")


def cancel_during(env, path, phase_wait=0.3):
    """Run http.get(path) in one session, cancel it from another while it
    waits; return (seconds from cancel to error, wait_event_type, wait_event).
    path is a mock server path, or a whole URL."""
    victim = connect(env)
    watcher = connect(env)
    pid = one(victim, "SELECT pg_backend_pid()")
    outcome = {}
    url = path if "://" in path else mock_url(env, path)

    def run():
        try:
            one(victim, "SELECT http.get(%s)", (url,))
            outcome["error"] = None
        except psycopg2.Error as e:
            outcome["error"] = e
        outcome["t"] = time.monotonic()

    th = threading.Thread(target=run)
    th.start()
    # wait until the backend is inside pg_http's wait
    wait = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        wait = one(watcher, "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
                   (pid,))
        if wait and wait[0] == "Extension":
            break
        time.sleep(0.01)
    time.sleep(phase_wait)
    t0 = time.monotonic()
    assert one(watcher, "SELECT pg_cancel_backend(%s)", (pid,)) is True
    th.join(10)
    assert not th.is_alive(), "the cancelled call did not return within 10 s"
    err = outcome["error"]
    assert err is not None, "the call finished instead of being cancelled"
    assert err.pgcode == "57014", "SQLSTATE %s: %s" % (err.pgcode, err)
    assert "canceling statement due to user request" in str(err), str(err)
    # the backend is usable afterwards
    assert one(victim, "SELECT (http.get(%s)).status", (mock_url(env, "/status/200"),)) == 200
    victim.close()
    watcher.close()
    return outcome["t"] - t0, wait


def scenario_cancel_backend_while_waiting(env):
    """pg_cancel_backend ends a call waiting for a 5 s response at once, with
    57014, and the wait is visible in pg_stat_activity meanwhile."""
    took, wait = cancel_during(env, "/delay/5000")
    assert wait is not None and wait[0] == "Extension", "wait event was %r" % (wait,)
    assert took < 0.5, "cancel took %.3f s" % took
    return "cancel returned after %.1f ms; wait event %s/%s" % (took * 1000, wait[0], wait[1])


def scenario_cancel_backend_while_reading_body(env):
    """The same while the body drips in, one byte every 100 ms."""
    took, _ = cancel_during(env, "/drip?bytes=100&interval_ms=100")
    assert took < 0.5, "cancel took %.3f s" % took
    return "cancel returned after %.1f ms" % (took * 1000)


def scenario_cancel_backend_while_resolving(env):
    """The same while the resolver hangs (*.slow.test, tests/slowdns.c)."""
    took, _ = cancel_during(env, "http://cancel.slow.test/")
    assert took < 0.5, "cancel took %.3f s" % took
    return "cancel returned after %.1f ms" % (took * 1000)


def scenario_cancel_backend_during_tls_handshake(env):
    """The same while a server never answers the ClientHello."""
    needs_tls(env)
    took, _ = cancel_during(env, "https://localhost:%d/" % env.tls_silent_port)
    assert took < 0.5, "cancel took %.3f s" % took
    return "cancel returned after %.1f ms" % (took * 1000)


def scenario_tls_failures_leave_no_descriptors(env):
    """Every kind of TLS failure, 20 times each in one backend: descriptors
    come back to where they were."""
    needs_tls(env)
    conn = connect(env)
    pid = one(conn, "SELECT pg_backend_pid()")
    urls = {
        "untrusted": "https://localhost:%d/" % env.untrusted_port,
        "expired": "https://localhost:%d/" % env.expired_port,
        "wrong name": "https://127.0.0.1:%d/get" % env.httpbin_tls_port,
        "garbage": "https://localhost:%d/" % env.tls_garbage_port,
        "dropped": "https://localhost:%d/" % env.tls_drop_port,
        "silent": "https://localhost:%d/" % env.tls_silent_port,
    }
    one(conn, "SELECT http.get(%s)", ("https://localhost:%d/status/200" % env.mock_tls_port,))
    fds0 = backend_fds(pid)
    seen = {}
    for _ in range(20):
        for what, url in urls.items():
            try:
                one(conn, "SELECT http.get(%s, NULL, '{\"timeout_ms\": 200, \"keepalive\": false}')", (url,))
                raise AssertionError("%s: no error" % what)
            except psycopg2.Error as e:
                assert e.pgcode in ("08001", "08T00"), "%s: %s %s" % (what, e.pgcode, e)
                seen[what] = e.pgcode
    fds1 = backend_fds(pid)
    assert one(conn, "SELECT (http.get(%s)).status",
               ("https://localhost:%d/status/200" % env.mock_tls_port,)) == 200
    conn.close()
    assert fds1 == fds0, "descriptors went from %d to %d" % (fds0, fds1)
    return "fds %d -> %d after 120 failed handshakes; %s" % (fds0, fds1, seen)


def scenario_statement_timeout_overshoot(env):
    """statement_timeout ends a call on time (5 runs, worst overshoot)."""
    conn = connect(env)
    worst = 0.0
    for _ in range(5):
        one(conn, "SET statement_timeout = '200ms'")
        t0 = time.monotonic()
        try:
            one(conn, "SELECT http.get(%s)", (mock_url(env, "/delay/5000"),))
            raise AssertionError("no timeout")
        except psycopg2.errors.QueryCanceled:
            pass
        worst = max(worst, time.monotonic() - t0 - 0.2)
        one(conn, "RESET statement_timeout")
    conn.close()
    assert worst < 0.3, "worst overshoot %.1f ms" % (worst * 1000)
    return "worst overshoot %.1f ms over 5 runs" % (worst * 1000)


def scenario_hundred_thousand_calls_leave_no_trace(env):
    """100,000 calls in one backend (successes, 404s, refused connections,
    request timeouts, statement cancels, policy refusals) leave its
    descriptors unchanged and its private memory within 1 MB."""
    conn = connect(env)
    pid = one(conn, "SELECT pg_backend_pid()")
    ok_url = mock_url(env, "/status/200")
    kinds = {"ok": 0, "404": 0, "refused": 0, "timeout": 0, "cancel": 0, "policy": 0}

    def call(i):
        k = i % 200
        try:
            if k == 0:
                one(conn, "SELECT http.get(%s, NULL, '{\"timeout_ms\": 5}')", (mock_url(env, "/delay/200"),))
            elif k == 1:
                one(conn, "SELECT http.get('http://127.0.0.1:1/')")
            elif k == 2:
                assert one(conn, "SELECT (http.get(%s)).status", (mock_url(env, "/status/404"),)) == 404
                kinds["404"] += 1
            elif k == 3:
                one(conn, "SET pg_http.allowed_hosts = ''")
                try:
                    one(conn, "SELECT http.get(%s)", (ok_url,))
                finally:
                    one(conn, "RESET pg_http.allowed_hosts")
            elif k == 4:
                one(conn, "SET statement_timeout = '5ms'")
                try:
                    one(conn, "SELECT http.get(%s)", (mock_url(env, "/delay/200"),))
                finally:
                    one(conn, "RESET statement_timeout")
            else:
                assert one(conn, "SELECT (http.get(%s)).status", (ok_url,)) == 200
                kinds["ok"] += 1
        except psycopg2.Error as e:
            kind = {"08T00": "timeout", "08001": "refused", "42501": "policy",
                    "57014": "cancel"}.get(e.pgcode)
            assert kind is not None, "unexpected error %s: %s" % (e.pgcode, e)
            kinds[kind] += 1

    for i in range(2000):         # warm up caches, the pool, the allocator
        call(i)
    fds0 = backend_fds(pid)
    anon0, rss0 = backend_rss_kb(pid)
    for k in kinds:
        kinds[k] = 0
    t0 = time.monotonic()
    for i in range(100000):
        call(i)
    took = time.monotonic() - t0
    fds1 = backend_fds(pid)
    anon1, rss1 = backend_rss_kb(pid)
    conn.close()
    assert all(kinds[k] == 500 for k in ("timeout", "refused", "policy", "cancel", "404")), kinds
    assert fds1 == fds0, "descriptors went from %d to %d" % (fds0, fds1)
    assert anon1 - anon0 < 1024, "private memory grew by %d kB" % (anon1 - anon0)
    return "100,000 calls in %.0f s: fds %d -> %d; RssAnon %+d kB, VmRSS %+d kB; %s" % (
        took, fds0, fds1, anon1 - anon0, rss1 - rss0, kinds)


def scenario_acl_change_reaches_running_backends(env):
    """A grant or revoke in one session applies at once in another session
    that already cached the ACL entries (the trigger's invalidation)."""
    a, b = connect(env), connect(env)
    url = mock_url(env, "/status/200")
    try:
        one(b, "SELECT http.acl_grant('public', '127.0.0.1', %s)", (str(env.mock_port),))
        assert one(a, "SELECT (http.get(%s)).status", (url,)) == 200      # a caches it
        one(b, "SELECT http.acl_revoke('public', '127.0.0.1')")
        one(b, "SELECT http.acl_grant('public', 'example.invalid')")      # still in use
        try:
            one(a, "SELECT http.get(%s)", (url,))
            raise AssertionError("the revoke did not reach the running backend")
        except psycopg2.Error as e:
            assert e.pgcode == "42501", "%s: %s" % (e.pgcode, e)
        one(b, "SELECT http.acl_grant('public', '127.0.0.1', %s)", (str(env.mock_port),))
        assert one(a, "SELECT (http.get(%s)).status", (url,)) == 200
    finally:
        one(b, "DELETE FROM http.acl")
        one(b, "SELECT http.acl_enforce(false)")
        a.close()
        b.close()


def scenario_reload_mid_batch_keeps_request_limits(env):
    """A reload that lowers pg_http.max_header_bytes while http.batch() has
    requests in flight: each finishes under the limits it started with,
    and the same session's next call runs under the new limit."""
    a, b = connect(env), connect(env)
    slow = mock_url(env, "/late-long-header?n=30000&delay_ms=1500")

    def limit_is(conn, n):
        deadline = time.time() + 10
        while one(conn, "SELECT setting FROM pg_settings"
                        " WHERE name = 'pg_http.max_header_bytes'") != n:
            assert time.time() < deadline, "the reload did not reach the session"
            time.sleep(0.05)

    try:
        for c in (a, b):
            one(c, "LOAD 'pg_http'")       # its settings exist once it is loaded
        one(b, "ALTER SYSTEM SET pg_http.max_header_bytes = 40000")
        one(b, "SELECT pg_reload_conf()")
        limit_is(a, "40000")
        out = {}

        def batch():
            with a.cursor() as c:
                c.execute("SELECT status, sqlstate FROM http.batch(jsonb_build_array("
                          "jsonb_build_object('url', %s::text), jsonb_build_object('url', %s::text)))",
                          (slow, slow))
                out["rows"] = [tuple(r) for r in c.fetchall()]
        t = threading.Thread(target=batch)
        t.start()
        time.sleep(0.5)
        one(b, "ALTER SYSTEM SET pg_http.max_header_bytes = 8192")
        one(b, "SELECT pg_reload_conf()")
        t.join(30)
        assert out.get("rows") == [(200, None), (200, None)], \
            "both started under 40000 bytes: %r" % out.get("rows")
        limit_is(a, "8192")
        try:
            one(a, "SELECT http.get(%s)", (slow,))
            raise AssertionError("the call after the reload did not get the new limit")
        except psycopg2.Error as e:
            assert e.pgcode == "54000", "%s: %s" % (e.pgcode, e)
    finally:
        one(b, "ALTER SYSTEM RESET pg_http.max_header_bytes")
        one(b, "SELECT pg_reload_conf()")
        a.close()
        b.close()


def scenario_acl_revoke_seen_in_repeatable_read(env):
    """A REPEATABLE READ transaction whose snapshot predates a revoke does
    not bring the revoked entry back when the ACL cache is read again, and
    a membership revoked in another session applies at once."""
    a, b = connect(env), connect(env)
    url = mock_url(env, "/status/200")
    try:
        one(b, "CREATE ROLE regress_rr_group; CREATE ROLE regress_rr_member IN ROLE regress_rr_group;"
               "GRANT EXECUTE ON FUNCTION http.get(text, jsonb, jsonb) TO regress_rr_member")
        one(b, "SELECT http.acl_grant('regress_rr_group', '127.0.0.1', %s)", (str(env.mock_port),))
        a.autocommit = False
        with a.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SELECT count(*) FROM http.acl")     # the snapshot is taken here
            cur.execute("SET LOCAL ROLE regress_rr_member")
            cur.execute("SELECT (http.get(%s)).status", (url,))
            assert cur.fetchone()[0] == 200, "granted through the group"
            one(b, "SELECT http.acl_revoke('regress_rr_group', '127.0.0.1')")
            one(b, "SELECT http.acl_grant('public', 'example.invalid')")
            cur.execute("SAVEPOINT s")
            try:
                cur.execute("SELECT http.get(%s)", (url,))
                raise AssertionError("the revoked entry came back from the transaction's snapshot")
            except psycopg2.Error as e:
                assert e.pgcode == "42501", "%s: %s" % (e.pgcode, e)
                cur.execute("ROLLBACK TO SAVEPOINT s")
        a.rollback()
        a.autocommit = True
        # a membership revoked elsewhere applies at once here
        one(b, "SELECT http.acl_grant('regress_rr_group', '127.0.0.1', %s)", (str(env.mock_port),))
        one(a, "SET ROLE regress_rr_member")
        assert one(a, "SELECT (http.get(%s)).status", (url,)) == 200
        one(b, "REVOKE regress_rr_group FROM regress_rr_member")
        try:
            one(a, "SELECT http.get(%s)", (url,))
            raise AssertionError("the revoked membership still granted access")
        except psycopg2.Error as e:
            assert e.pgcode == "42501", "%s: %s" % (e.pgcode, e)
        one(a, "RESET ROLE")
    finally:
        a.close()
        one(b, "DELETE FROM http.acl")
        one(b, "SELECT http.acl_enforce(false)")
        one(b, "REVOKE EXECUTE ON FUNCTION http.get(text, jsonb, jsonb) FROM regress_rr_member;"
               "DROP ROLE IF EXISTS regress_rr_member; DROP ROLE IF EXISTS regress_rr_group")
        b.close()


def scenario_secrets_stay_out_of_errors_and_log(env):
    """Failing requests that carry an Authorization header, a cookie or URL
    credentials: the secrets appear neither in the error nor in the server log."""
    secrets = ["SeCrEtToKeN-4711", "c00kie-S3cret", "pa55-w0rd-XYZ"]
    conn = connect(env)
    log = os.path.join(env.work, "postgres.log")
    before = os.path.getsize(log)
    calls = [
        ("SELECT http.get('http://127.0.0.1:1/', %s)",
         ('{"Authorization": "Bearer SeCrEtToKeN-4711", "Cookie": "s=c00kie-S3cret"}',)),
        ("SELECT http.get('http://user:pa55-w0rd-XYZ@127.0.0.1:1/')", None),
        ("SELECT http.get('http://user:pa55-w0rd-XYZ@127.0.0.1:%s/delay/2000', NULL, '{\"timeout_ms\": 50}')"
         % env.mock_port, None),
        ("SELECT http.get('http://127.0.0.1:1/', '{\"Authorization\": \"Bearer SeCrEtToKeN-4711\\r\\nX: y\"}')", None),
        ("SELECT http.get('http://user:pa55-w0rd-XYZ@[bad/')", None),
        ("SELECT http_request('127.0.0.1', 1, '/', 'GET', NULL, "
         "'{\"Authorization\": \"Bearer SeCrEtToKeN-4711\"}'::jsonb, false, 5)", None),
        # errors raised before anything is sent, by every kind of check, for
        # calls whose arguments carry credentials
        ("SELECT http.get('http://127.0.0.1:1/', %s, '{\"no_such_option\": 1}')",
         ('{"Authorization": "Bearer SeCrEtToKeN-4711"}',)),
        ("SELECT http.get('http://user:pa55-w0rd-XYZ@127.0.0.1:1/', NULL, '{\"timeout_ms\": \"x\"}')", None),
        ("SELECT http.request('BAD METHOD', 'http://127.0.0.1:1/', NULL, %s)",
         ('{"Cookie": "s=c00kie-S3cret"}',)),
        ("SELECT http.get('http://127.0.0.1:1/', %s)",
         ('{"Authorization": "Bearer SeCrEtToKeN-4711", "Content-Length": "5"}',)),
        ("SELECT http.request('{\"url\": \"http://user:pa55-w0rd-XYZ@127.0.0.1:1/\", \"bogus\": 1}'::jsonb)",
         None),
        ("SELECT http.get('http://10.9.8.7/', %s)", ('{"Authorization": "Bearer SeCrEtToKeN-4711"}',)),
        ("SELECT * FROM http.batch('[{\"url\": \"http://127.0.0.1:1/\", \"headers\": "
         "{\"Authorization\": \"Bearer SeCrEtToKeN-4711\"}}]', '{\"bad\": 1}')", None),
        ("SELECT http.enqueue('{\"url\": \"http://user:pa55-w0rd-XYZ@127.0.0.1:1/\", "
         "\"options\": {\"max_attempts\": 0}}'::jsonb)", None),
    ]
    seen = []
    for sql, args in calls:
        try:
            one(conn, sql, args)
            raise AssertionError("no error for %s" % sql)
        except psycopg2.Error as e:
            text = "%s %s %s" % (e.pgerror, e.diag.message_detail, e.diag.message_hint)
            for s in secrets:
                assert s not in text, "secret in the error: %s" % text
            seen.append(e.pgcode)
    conn.close()
    time.sleep(0.5)     # let the log catch up
    with open(log, errors="replace") as f:
        f.seek(before)
        logged = f.read()
    for s in secrets:
        assert s not in logged, "secret %s in the server log:\n%s" % (s, logged[-3000:])
    assert "ERROR:" in logged, "the failures were not logged at all"
    return "%d failing calls (%s); the log grew by %d bytes, none of them a secret" % (
        len(calls), ",".join(seen), len(logged))


def scenario_resolver_flood_is_bounded(env):
    """With the resolver hanging, a batch of 100 names starts at most 64
    lookups; the rest fail at once with 53000; calls by address still work;
    once the lookups return, names resolve again."""
    conn = connect(env)
    try:
        rows = None
        with conn.cursor() as cur:
            cur.execute("""SELECT count(*) FILTER (WHERE sqlstate = '53000'),
                                  count(*) FILTER (WHERE sqlstate = '08T00'), count(*)
                             FROM http.batch((SELECT jsonb_agg(jsonb_build_object(
                                     'url', 'http://n' || g || '.slow.test/',
                                     'options', '{"timeout_ms": 300}'::jsonb))
                                   FROM generate_series(1, 100) g))""")
            rows = cur.fetchone()
        refused, timed_out, total = rows
        assert total == 100 and timed_out == 64 and refused == 36, rows
        assert one(conn, "SELECT (http.get(%s)).status", (mock_url(env, "/status/200"),)) == 200
        time.sleep(5.5)     # the hung lookups give up (tests/slowdns.c sleeps 5 s)
        assert one(conn, "SELECT (http.get(%s)).status",
                   ("http://localhost:%d/status/200" % env.mock_port,)) == 200
        return "64 lookups started, 36 refused at once, addresses unaffected"
    finally:
        conn.close()


def measure_phase(env, conn, watcher, pid, url, kind, body=None):
    """One call stopped by kind ("statement_timeout", "cancel" or "timeout"),
    200 ms after it began: returns how late it ended, in ms."""
    sql = "SELECT http.get(%s, NULL, %s)" if body is None else \
        "SELECT http.post(%s, repeat('x', 10000000), 'text/plain', NULL, %s)"
    opts = '{"timeout_ms": 200, "connect_timeout_ms": 200}' if kind == "timeout" else '{}'
    if kind == "statement_timeout":
        one(conn, "SET statement_timeout = '200ms'")
    outcome = {}

    def run():
        try:
            one(conn, sql, (url, opts))
            outcome["code"] = None
        except psycopg2.Error as e:
            outcome["code"] = e.pgcode
        outcome["t"] = time.monotonic()

    if body is not None and kind == "timeout":
        # the request timeout starts with the request, after the 10 MB body is
        # built: time it inside the server, from just before the call
        del conn.notices[:]
        # PL/pgSQL copies a 10 MB argument before any function sees it: time
        # that on octet_length() (O(1) on the value) and take it off
        one(conn, """DO $$
            DECLARE b text := repeat('x', 10000000); t0 timestamptz; pass interval; code text;
            BEGIN
              t0 := clock_timestamp();
              PERFORM octet_length(b);
              pass := clock_timestamp() - t0;
              t0 := clock_timestamp();
              BEGIN
                PERFORM http.post(@URL@, b, 'text/plain', NULL, '{"timeout_ms": 200}');
              EXCEPTION WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE;
              END;
              RAISE NOTICE 'late % %', code,
                extract(epoch FROM clock_timestamp() - t0 - pass) * 1000 - 200;
            END $$""".replace("@URL@", psycopg2.extensions.adapt(url).getquoted().decode()))
        note = conn.notices[-1]
        code, late = note.split("late ", 1)[1].split()
        assert code == "08T00", "timeout while sending the body: got %s" % code
        return float(late)
    prep = 0.0
    t0 = time.monotonic()
    th = threading.Thread(target=run)
    th.start()
    if kind == "cancel":
        time.sleep(0.2)
        deadline = time.monotonic()
        one(watcher, "SELECT pg_cancel_backend(%s)", (pid,))
    else:
        deadline = t0 + prep + 0.2
    th.join(10)
    if kind == "statement_timeout":
        one(conn, "RESET statement_timeout")
    want = "08T00" if kind == "timeout" else "57014"
    assert outcome.get("code") == want, "%s: got %s" % (kind, outcome.get("code"))
    return (outcome["t"] - deadline) * 1000


def scenario_cancel_and_timeout_precision_per_phase(env):
    """statement_timeout, pg_cancel_backend and the request timeout end a
    call close to their deadline in every phase of an exchange.  The goal is
    10 ms; the check allows 25 ms for this shared machine's scheduling
    spikes (a missed interrupt check would cost hundreds), and the note
    reports what was measured."""
    phases = [
        ("DNS", "http://precision.slow.test/", None),
        ("connect", "http://127.0.0.1:%d/" % env.blackhole_port, None),
        ("TLS handshake", "https://localhost:%d/" % env.tls_silent_port, None),
        ("sending the body", mock_url(env, "/never-read?hold=5"), True),
        ("waiting for headers", mock_url(env, "/delay/3000"), None),
        ("reading the body", mock_url(env, "/drip?bytes=100&interval_ms=50"), None),
    ]
    conn, watcher = connect(env), connect(env)
    pid = one(conn, "SELECT pg_backend_pid()")
    report = []
    worst_all = 0.0
    for phase, url, body in phases:
        if phase == "TLS handshake" and env.transport == "mock":
            continue
        worst = 0.0
        lates = []
        for kind in ("statement_timeout", "cancel", "timeout"):
            late = measure_phase(env, conn, watcher, pid, url, kind, body)
            lates.append("%.1f" % late)
            worst = max(worst, late)
        worst_all = max(worst_all, worst)
        report.append("%s %s" % (phase, "/".join(lates)))
    conn.close()
    watcher.close()
    assert worst_all <= 25.0, "worst overshoot %.1f ms (%s)" % (worst_all, ", ".join(report))
    return "ms late (statement_timeout/cancel/request timeout) per phase: " + ", ".join(report)


# Every object of the extension, described with its definition, ownership
# by the extension, privileges and comment: two databases whose texts are
# equal have the same pg_http.
EXTENSION_OBJECTS = r"""
WITH e AS (SELECT oid FROM pg_extension WHERE extname = 'pg_http'),
members AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, e
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid AND d.deptype = 'e'),
described AS (
  SELECT pg_describe_object(m.classid, m.objid, m.objsubid) AS what,
    CASE m.classid
      WHEN 'pg_proc'::regclass THEN
        (SELECT pg_get_functiondef(p.oid) || ' acl=' || coalesce(p.proacl::text, '')
           FROM pg_proc p WHERE p.oid = m.objid)
      WHEN 'pg_class'::regclass THEN
        (SELECT c.relkind::text || ' acl=' || coalesce(c.relacl::text, '') || ' rls=' || c.relrowsecurity
                || coalesce(' view=' || pg_get_viewdef(c.oid), '')
                || coalesce(' opts=' || c.reloptions::text, '')
                || ' cols=' || coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                       || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
                       || coalesce(' identity ' || nullif(a.attidentity::text, ''), ''), ', ' ORDER BY a.attnum)
                     FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
                || ' idx=' || coalesce((SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY pg_get_indexdef(i.indexrelid))
                     FROM pg_index i WHERE i.indrelid = c.oid), '')
                || ' con=' || coalesce((SELECT string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), '; ' ORDER BY co.conname)
                     FROM pg_constraint co WHERE co.conrelid = c.oid), '')
                || ' trg=' || coalesce((SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY t.tgname)
                     FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '')
                || ' pol=' || coalesce((SELECT string_agg(po.polname || ' ' || po.polcmd::text || ' ' || pg_get_expr(po.polqual, po.polrelid), '; ' ORDER BY po.polname)
                     FROM pg_policy po WHERE po.polrelid = c.oid), '')
           FROM pg_class c WHERE c.oid = m.objid)
      WHEN 'pg_type'::regclass THEN
        (SELECT format_type(t.oid, NULL) || ' ' || t.typtype::text FROM pg_type t WHERE t.oid = m.objid)
      ELSE '' END AS def,
    obj_description(m.objid, (SELECT relname FROM pg_class WHERE oid = m.classid)) AS comment
  FROM members m)
SELECT string_agg(what || E'\n  ' || coalesce(def, '') || E'\n  comment: ' || coalesce(comment, ''),
                  E'\n' ORDER BY what)
  FROM described
"""


def scenario_upgrade_matches_fresh_install(env):
    """Installing each earlier release then ALTER EXTENSION pg_http UPDATE
    gives the same objects as a fresh install of this one."""
    conn = connect(env)
    starts = ("0.1.0", "0.2.0", "0.3.0", "0.4.0")
    dbs = ["pg_http_fresh"] + ["pg_http_from_" + v.replace(".", "_") for v in starts]
    for db in dbs:
        one(conn, "DROP DATABASE IF EXISTS %s" % db)
        one(conn, "CREATE DATABASE %s" % db)
    texts = {}
    versions = {}
    hows = [("pg_http_fresh", ["CREATE EXTENSION pg_http"])] + \
        [(db, ["CREATE EXTENSION pg_http VERSION '%s'" % v, "ALTER EXTENSION pg_http UPDATE"])
         for db, v in zip(dbs[1:], starts)]
    for db, how in hows:
        c = psycopg2.connect(host=env.work, port=env.pg_port, user="postgres", dbname=db)
        c.autocommit = True
        for stmt in how:
            one(c, stmt)
        versions[db] = one(c, "SELECT extversion FROM pg_extension WHERE extname = 'pg_http'")
        texts[db] = one(c, EXTENSION_OBJECTS)
        c.close()
    for db in dbs:
        one(conn, "DROP DATABASE %s" % db)
    a = texts["pg_http_fresh"].splitlines()
    for db in dbs[1:]:
        if versions[db] != versions["pg_http_fresh"]:
            raise AssertionError("versions differ: %r" % versions)
        b = texts[db].splitlines()
        if a != b:
            import difflib
            diff = "\n".join(list(difflib.unified_diff(a, b, "fresh", db, lineterm=""))[:60])
            raise AssertionError("the upgraded extension differs from a fresh install:\n" + diff)
    return "%s -> %s: %d objects the same" % (" and ".join(starts), versions["pg_http_fresh"],
                                              sum(1 for l in a if not l.startswith(" ")))


def scenario_secret_files_read_when_used(env):
    """A secret's file is read for each request: a new value counts at once;
    a file others may read, or one owned by another user, is refused (and
    root's with group read is accepted, as PostgreSQL does for key files)."""
    conn = connect(env)
    url = "http://127.0.0.1:%d/anything" % env.httpbin_port
    ref = '{"X-Api-Key": {"secret": "rot"}}'

    def sent():
        return one(conn, "SELECT (body::jsonb)->'headers'->>'X-Api-Key' FROM http.get(%s, %s)", (url, ref))

    def refused():
        try:
            sent()
        except psycopg2.Error as e:
            return e.pgcode, e.pgerror
        raise AssertionError("expected the secret to be refused")

    one(conn, "SELECT http.secret_define('rot', ARRAY['127.0.0.1'], '1-65535', allow_http => true)")
    try:
        env.write_secret("rot", "first\n")
        if sent() != "first":
            raise AssertionError("the first value was not sent")
        env.write_secret("rot", "second")
        if sent() != "second":
            raise AssertionError("a new value did not count at once")
        path = os.path.join(env.secrets, "rot")
        os.chmod(path, 0o644)
        code, msg = refused()
        if code != "F0000" or "second" in msg:
            raise AssertionError("a file others may read: %s %s" % (code, msg))
        os.chmod(path, 0o600)
        if os.geteuid() == 0:
            import pwd
            os.chown(path, 0, pwd.getpwnam("postgres").pw_gid)
            os.chmod(path, 0o640)
            if sent() != "second":
                raise AssertionError("root's file with group read was refused")
            os.chown(path, 65534, 65534)
            os.chmod(path, 0o644)
            code, msg = refused()
            if code != "F0000":
                raise AssertionError("a file of another user: %s %s" % (code, msg))
        os.unlink(path)
        code, msg = refused()
        if code != "58P01":
            raise AssertionError("a missing file: %s %s" % (code, msg))
    finally:
        one(conn, "SELECT http.secret_drop('rot')")
        if os.path.exists(os.path.join(env.secrets, "rot")):
            os.unlink(os.path.join(env.secrets, "rot"))
    return "new value used at once; 0644, foreign owner and missing file refused"


class fresh_conn:
    """A new session (an empty token cache), closed after the block."""

    def __init__(self, env):
        self.conn = connect(env)

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        self.conn.close()


def scenario_oauth_one_token_for_many_calls(env):
    """OAuth 2.0 client credentials: one token request for many calls of a
    backend, one for a batch running at once in a new backend, and one
    refresh after the API answers 401; the token is never shown."""
    conn = connect(env)
    env.write_secret("oauth_client", "c1ient-s3cret")
    one(conn, "SELECT http.secret_define('oauth_client', ARRAY['127.0.0.1'], '1-65535', allow_http => true)")
    api = mock_url(env, "/oauth/api")
    opts = json.dumps({"auth": {
        "type": "oauth2", "client_id": "pg_http", "client_secret": {"secret": "oauth_client"},
        "token_url": mock_url(env, "/oauth/token?keyfile=%s/oauth_client&expires_in=3600" % env.secrets)}})

    def stats():
        c = psycopg2.connect(host=env.work, port=env.pg_port, user="postgres", dbname=DB)
        try:
            return json.loads(one(c, "SELECT body FROM http.get(%s, NULL, '{\"keepalive\": false}')",
                                  (mock_url(env, "/__stats"),)))["requests"]
        finally:
            c.close()

    try:
        one(conn, "SELECT http.get(%s)", (mock_url(env, "/__reset"),))
        for _ in range(5):
            status = one(conn, "SELECT status FROM http.get(%s, NULL, %s)", (api, opts))
            if status != 200:
                raise AssertionError("call with a token: %s" % status)
        n = stats().get("/oauth/token")
        if n != 1:
            raise AssertionError("5 calls asked the token endpoint %s times, not once" % n)
        one(conn, "SELECT http.get(%s)", (mock_url(env, "/oauth/revoke-all"),))
        status = one(conn, "SELECT status FROM http.get(%s, NULL, %s)", (api, opts))
        s = stats()
        if status != 200 or s.get("/oauth/token") != 2 or s.get("/oauth/api") != 7:
            raise AssertionError("after a 401: status %s, %r" % (status, s))
        # a new backend (an empty cache) runs a batch of 8 at once: one fetch
        fresh = connect(env)
        items = json.dumps([{"url": api, "options": json.loads(opts)}] * 8)
        statuses = one(fresh, "SELECT array_agg(status) FROM http.batch(%s)",
                       (items,))
        s = stats()
        if statuses != [200] * 8 or s.get("/oauth/token") != 3:
            raise AssertionError("a batch of 8: %r, %r" % (statuses, s))
        fresh.close()
        # a token that expires at once is still used for the call that got it
        short = opts.replace("expires_in=3600", "expires_in=1")
        for _ in range(2):
            status = one(conn, "SELECT status FROM http.get(%s, NULL, %s)", (api, short))
            if status != 200:
                raise AssertionError("a call with a 1 s token: %s" % status)
        s = stats()
        if s.get("/oauth/token") != 5:
            raise AssertionError("a 1 s token: one token request per call, not more: %r" % s)
        # a token endpoint that never answers: the batch's 6 requests wait for
        # one fetch and fail with it (or their own deadline, the same), within
        # about one timeout, not six
        dead = json.loads(opts)
        dead["auth"]["token_url"] = "http://127.0.0.1:%d/token" % env.blackhole_port
        dead["timeout_ms"] = 1000
        items = json.dumps([{"url": api, "options": dead}] * 6)
        t0 = time.monotonic()
        rows = None
        with fresh_conn(env) as c:
            with c.cursor() as cur:
                cur.execute("SELECT sqlstate, error FROM http.batch(%s)", (items,))
                rows = cur.fetchall()
        took = time.monotonic() - t0
        if took > 3.0 or any(r[0] != "08T00" for r in rows) or \
                not any("OAuth 2.0 token request failed" in r[1] for r in rows):
            raise AssertionError("a dead token endpoint: %.1f s, %r" % (took, rows))
        # never shown: not in a response, an error or the settings
        try:
            one(conn, "SELECT http.get(%s, NULL, %s)", (api, opts.replace("keyfile=", "keyfile=/nonexistent")))
        except psycopg2.Error as e:
            if "tok-" in str(e) or "c1ient-s3cret" in str(e):
                raise AssertionError("an error shows a credential: %s" % e)
    finally:
        one(conn, "SELECT http.secret_drop('oauth_client')")
    return ("token endpoint asked 3 times for 5 calls, a refresh after 401 and a batch of 8;"
            " a dead endpoint failed a batch of 6 in %.1f s" % took)


def scenario_signature_checker_matches_published_vectors(env):
    """The test server's own signature checks (tests/signcheck.py) agree
    with the values AWS, Standard Webhooks, GitHub and Slack publish."""
    import subprocess
    import sys
    r = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "signcheck.py")],
                       capture_output=True, text=True, timeout=120)
    oks = sum(1 for l in r.stdout.splitlines() if l.startswith("ok "))
    if r.returncode != 0 or oks == 0:
        raise AssertionError("signcheck self-test failed:\n" + (r.stdout + r.stderr)[-2000:])
    return "%d published vectors and checks" % oks


def scenario_phase_timings_add_up(env):
    """Every response carries the phases of its last hop: DNS, connect, TLS
    (with TLS), first byte, transfer, and what came before (redirects); they
    add up to the total within a millisecond, and the total is elapsed_ms.
    A pooled connection has no connect or TLS phase."""
    conn = connect(env)
    tls = env.transport != "mock"
    base = ("https://localhost:%d" % env.mock_tls_port) if tls else ("http://localhost:%d" % env.mock_port)
    keys = ("before_ms", "dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "transfer_ms")

    def timings(url, opts):
        t, elapsed = one(conn, "SELECT timings, elapsed_ms FROM http.get(%s, NULL, %s)", (url, opts))
        total = sum(t[k] for k in keys)
        if abs(total - t["total_ms"]) > 1.0 or abs(t["total_ms"] - elapsed) > 1.0:
            raise AssertionError("phases %r do not add up to %.3f (elapsed %.3f)" % (t, total, elapsed))
        return t

    fresh = timings(base + "/status/200", '{"keepalive": false}')
    if fresh["dns_ms"] <= 0 or fresh["connect_ms"] <= 0 or fresh["first_byte_ms"] <= 0 or \
            (tls and fresh["tls_ms"] <= 0) or (not tls and fresh["tls_ms"] != 0):
        raise AssertionError("a fresh connection to a name: %r" % fresh)
    timings(base + "/status/200", '{}')
    pooled = timings(base + "/status/200", '{}')
    if pooled["connect_ms"] != 0 or pooled["tls_ms"] != 0:
        raise AssertionError("a pooled connection has no connect or TLS phase: %r" % pooled)
    hop = timings(base + "/redir/x?to=/status/200", '{"max_redirects": 1, "keepalive": false}')
    if hop["before_ms"] <= 0:
        raise AssertionError("a redirect's first hop is before the last: %r" % hop)
    return "fresh: " + ", ".join("%s %.2f" % (k[:-3], fresh[k]) for k in keys[1:]) + \
        "; total %.2f ms" % fresh["total_ms"]


def scenario_wait_event_is_named(env):
    """While a backend waits on a request, pg_stat_activity says so: the
    custom wait event "HttpRequest" on PostgreSQL 17 and later, the generic
    "Extension" before."""
    a, b = connect(env), connect(env)
    try:
        pid = one(a, "SELECT pg_backend_pid()")
        version = one(b, "SELECT current_setting('server_version_num')::int")
        done = threading.Event()

        def slow():
            try:
                one(a, "SELECT http.get(%s)", (mock_url(env, "/delay/1500"),))
            finally:
                done.set()
        th = threading.Thread(target=slow)
        th.start()
        seen = None
        deadline = time.time() + 5
        while time.time() < deadline and not done.is_set():
            row = one(b, "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s",
                      (pid,))
            if row and row[1] and row[1] != "ClientRead":
                seen = row
                break
            time.sleep(0.05)
        th.join(10)
        want = "HttpRequest" if version >= 170000 else "Extension"
        assert seen is not None and seen[1] == want, \
            "wait event while waiting on a request: %r, expected %s" % (seen, want)
        return "%s / %s (server %d)" % (seen[0], seen[1], version)
    finally:
        a.close()
        b.close()


# -- forms, query strings and multipart bodies (0.5.0) -------------------------

def multipart_test_parts():
    """The parts every multipart round trip sends, as (document part, the
    bytes the server must get back): a text part, a file of every byte 0..255
    (as base64 and as bytea), a part whose content is full of lines that look
    like delimiters, and a name that tries to inject a header."""
    every = bytes(range(256))
    tricky = b"--\r\n--pg_http-\r\n--pg_http-0123456789abcdef--\r\n\r\n--\r\n" \
        b"Content-Disposition: form-data; name=\"evil\"\r\n\r\nx\r\n--"
    return [
        ({"name": "purpose", "text": "fine-tune"}, "purpose", None, b"fine-tune"),
        ({"name": "file", "filename": "train.jsonl", "content_type": "application/jsonl",
          "text": '{"prompt": "é", "completion": "€"}\n'}, "file", "train.jsonl",
         '{"prompt": "é", "completion": "€"}\n'.encode()),
        ({"name": "bin64", "filename": "all.bin", "base64": base64.b64encode(every).decode()},
         "bin64", "all.bin", every),
        ({"name": "binhex", "filename": "all2.bin", "bytes": "\\x" + every.hex()},
         "binhex", "all2.bin", every),
        ({"name": "tricky", "filename": "t.txt", "content_type": "text/plain",
          "text": tricky.decode()}, "tricky", "t.txt", tricky),
        ({"name": 'a"b\r\nX-Injected: yes', "text": ""}, "a%22b%0D%0AX-Injected: yes", None, b""),
    ]


def check_multipart_echo(echo, what):
    """Raise unless the mock server's /multipart echo (a dict) holds exactly
    the parts of multipart_test_parts(), in order, with the right headers."""
    if not echo.get("ok"):
        raise AssertionError("%s: the server could not parse the body: %r" % (what, echo))
    want = multipart_test_parts()
    got = echo["parts"]
    if len(got) != len(want):
        raise AssertionError("%s: %d parts came back, %d sent" % (what, len(got), len(want)))
    for (doc, name, filename, data), g in zip(want, got):
        back = base64.b64decode(g["base64"])
        ctype = doc.get("content_type") or ("application/octet-stream" if filename else None)
        if g["name"] != name or g["filename"] != filename or back != data or \
                g["content_type"] != ctype:
            raise AssertionError("%s: part %r came back as %r (%d bytes, want %d)"
                                 % (what, name, {k: v for k, v in g.items() if k != "base64"},
                                    len(back), len(data)))
        if any(h[0].lower() not in ("content-disposition", "content-type") for h in g["headers"]):
            raise AssertionError("%s: part %r has unexpected headers %r" % (what, name, g["headers"]))
    boundary = echo["content_type"].split("boundary=", 1)[1]
    for _, _, _, data in want:
        if boundary.encode() in data:
            raise AssertionError("%s: the boundary occurs in a part" % what)
    return boundary


def scenario_forms_and_multipart_round_trip(env):
    """Forms, query strings and multipart bodies built from jsonb arrive as
    they were meant: httpbin parses the form and the query back, and the mock
    server's own strict multipart parser gets every part back byte for byte
    (text, every byte 0..255, content full of delimiter-like lines, a name
    that tries to inject a header), through http.request and an http.batch
    item.  (http.enqueue is checked by the async suite, which has a worker:
    test_multipart_delivered.)"""
    conn = connect(env)
    httpbin = "http://127.0.0.1:%d" % env.httpbin_port
    form = {"name": "Zoë & Bob", "tag": ["x", "y"], "math": "1+1=2", "tilde": "~*", "n": None}
    query = {"q": "a b/c?d", "page": 2, "ok": True, "ü": "€"}
    doc = {"method": "POST", "url": httpbin + "/post?pre=1#frag", "query": query, "form": form}
    r = one(conn, "SELECT (r).body::jsonb FROM (SELECT http.request(%s::jsonb) AS r) s",
            (json.dumps(doc),))
    want_form = {"name": "Zoë & Bob", "tag": ["x", "y"], "math": "1+1=2", "tilde": "~*", "n": ""}
    want_args = {"pre": "1", "q": "a b/c?d", "page": "2", "ok": "true", "ü": "€"}
    if r["form"] != want_form or r["args"] != want_args or \
            r["headers"].get("Content-Type") != "application/x-www-form-urlencoded":
        raise AssertionError("form round trip: form %r, args %r, headers %r"
                             % (r["form"], r["args"], r["headers"]))
    # the wire form of the query: RFC 3986 (%20, not +), the form: WHATWG (+, ~ as %7E)
    if "q=a%20b%2Fc%3Fd" not in r["url"] or "pre=1&" not in r["url"]:
        raise AssertionError("query on the wire: %r" % r["url"])
    if one(conn, "SELECT http.urlencode(%s::jsonb)", (json.dumps({"t": "~* "}),)) != "t=%7E*+":
        raise AssertionError("form encoding of ~* and space")

    parts = [p[0] for p in multipart_test_parts()]
    url = mock_url(env, "/multipart?via=request")
    body = one(conn, "SELECT (http.request(%s::jsonb)).body",
               (json.dumps({"method": "POST", "url": url, "multipart": parts}),))
    b1 = check_multipart_echo(json.loads(body), "http.request")
    rows = None
    with conn.cursor() as cur:
        cur.execute("SELECT idx, status, body, sqlstate, error FROM http.batch(%s::jsonb) ORDER BY idx",
                    (json.dumps([{"method": "POST", "url": mock_url(env, "/multipart?via=batch"),
                                  "multipart": parts},
                                 {"method": "PUT", "url": mock_url(env, "/multipart?via=batch2"),
                                  "multipart": parts}]),))
        rows = cur.fetchall()
    boundaries = {b1}
    for idx, status, text, sqlstate, error in rows:
        if status != 200:
            raise AssertionError("batch item %d: %r %r %r" % (idx, status, sqlstate, error))
        echo = json.loads(text)
        boundaries.add(check_multipart_echo(echo, "http.batch item %d" % idx))
    if len(boundaries) != 3:
        raise AssertionError("three bodies shared a boundary: %r" % boundaries)
    conn.close()
    return "form, query and %d parts (%d bytes of binary) parsed back" % (
        len(parts), 2 * 256)


# -- http.check agrees with real requests -------------------------------------
# The policy suites (and any tests/sql/policy*.sql or acl*.sql added later)
# are run as they are, with every http.get, http_request and http.batch call
# routed through a wrapper that also asks http.check about the same URL, as
# the same role, under the same settings, and reports both in a NOTICE.
AGREE_SUITE_PREFIXES = ("policy", "acl")
AGREE_SETUP = r"""
CREATE SCHEMA agree;
GRANT USAGE ON SCHEMA agree TO PUBLIC;
GRANT EXECUTE ON FUNCTION http.check(text, name) TO PUBLIC;
CREATE FUNCTION agree.note(u text, opts jsonb, st text, msg text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'agree %', jsonb_build_object('url', u, 'role', current_user, 'options', opts,
                                             'check', http.check(u), 'sqlstate', st, 'message', msg);
END $$;
CREATE FUNCTION agree.get(u text, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response LANGUAGE plpgsql AS $$
DECLARE
  r http.response; st text; msg text;
BEGIN
  BEGIN
    r := http.get(u, headers, options);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    PERFORM agree.note(u, options, st, msg);
    RAISE;
  END;
  PERFORM agree.note(u, options, NULL, NULL);
  RETURN r;
END $$;
CREATE FUNCTION agree.http_request(host text, port integer, path text, method text, body text,
                                   headers jsonb, tls boolean, timeout integer)
RETURNS http.response LANGUAGE plpgsql AS $$
DECLARE
  r http.response; st text; msg text;
  u text := format('%s://%s:%s%s', CASE WHEN tls THEN 'https' ELSE 'http' END,
                   CASE WHEN host LIKE '%:%' AND host NOT LIKE '[%' THEN '[' || host || ']' ELSE host END,
                   port, coalesce(path, '/'));
BEGIN
  BEGIN
    r := http_request(host, port, path, method, body, headers, tls, timeout);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    PERFORM agree.note(u, NULL, st, msg);
    RAISE;
  END;
  PERFORM agree.note(u, NULL, NULL, NULL);
  RETURN r;
END $$;
CREATE FUNCTION agree.batch(requests jsonb, options jsonb DEFAULT NULL)
RETURNS TABLE (idx integer, status integer, headers jsonb, body text, content_type text, url text,
               http_version text, elapsed_ms double precision, sqlstate text, error text,
               error_detail text)
LANGUAGE sql AS $$
  WITH b AS MATERIALIZED (SELECT * FROM http.batch(requests, options))
  SELECT b.* FROM b,
         LATERAL (SELECT agree.note(requests->(b.idx - 1)->>'url',
                                    coalesce(requests->(b.idx - 1)->'options', options),
                                    b.sqlstate, b.error)) n
   ORDER BY b.idx
$$;
"""


def agree_verdict(n):
    """None if http.check and the request agree on n (a NOTICE's document),
    else why not; "skip" when the request had options http.check does not
    take (a redirect limit or timeout of its own changes what is judged)."""
    c, st = n["check"], n["sqlstate"]
    if n["options"] not in (None, {}) and set(n["options"]) - {"keepalive"}:
        return "skip"
    refusals = ("42501", "22023", "54000", "0A000")
    if c["allowed"]:
        if st in refusals:
            return "http.check allows it, the request was refused: %s %s" % (st, n["message"])
        return None
    if st != c["sqlstate"]:
        return "http.check says %s (%s), the request %s (%s)" % (
            c["sqlstate"], c["message"], st, n["message"])
    if st == "42501" and n["message"] != c["message"]:
        return "same SQLSTATE, other messages: %r and %r" % (c["message"], n["message"])
    return None


def scenario_check_agrees_with_requests(env):
    """For every request of the policy suites, http.check's verdict and
    SQLSTATE (and a refusal's message) are the request's own."""
    import re
    import subprocess
    db = "pg_http_agree"
    conn = connect(env)
    one(conn, "DROP DATABASE IF EXISTS %s" % db)
    one(conn, "CREATE DATABASE %s" % db)
    sqldir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql")
    args = [a for a in env.psql_args(db) if a not in ("-v", "ON_ERROR_STOP=1")]
    # the regress suites' helpers (schema t), then the wrappers
    with open(os.path.join(sqldir, "install.sql")) as f:
        subprocess.run(args, input=f.read(), text=True, capture_output=True, timeout=300)
    env.psql(AGREE_SETUP, db=db)
    suites = sorted(f for f in os.listdir(sqldir)
                    if f.endswith(".sql") and f.startswith(AGREE_SUITE_PREFIXES))
    compared = skipped = 0
    problems = []
    for suite in suites:
        with open(os.path.join(sqldir, suite)) as f:
            text = f.read()
        # the calls, not the GRANTs of the functions
        text = re.sub(r"(?<![\w.])(?<!FUNCTION )http\.get\(", "agree.get(", text)
        text = re.sub(r"(?<![\w.])(?<!FUNCTION )http\.batch\(", "agree.batch(", text)
        text = re.sub(r"(?<![\w.])(?<!FUNCTION )http_request\(", "agree.http_request(", text)
        r = subprocess.run(args, input=text, text=True, capture_output=True, timeout=600)
        seen = 0
        for line in r.stderr.splitlines():
            m = re.search(r"NOTICE:  agree (\{.*\})$", line)
            if not m:
                continue
            seen += 1
            n = json.loads(m.group(1))
            v = agree_verdict(n)
            if v == "skip":
                skipped += 1
                continue
            compared += 1
            if v:
                problems.append("%s: %s as %s: %s" % (suite, n["url"], n["role"], v))
        if seen == 0:
            raise AssertionError("%s: no request was judged (psql said: %s)" % (suite, r.stderr[-500:]))
    one(conn, "DROP DATABASE %s" % db)
    if problems:
        raise AssertionError("http.check disagrees with the request:\n" + "\n".join(problems[:20]))
    if compared < 30:
        raise AssertionError("only %d requests compared" % compared)
    return "%d requests of %s agree (%d with options http.check does not take)" % (
        compared, ", ".join(suites), skipped)


TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


def scenario_traceparent_joins_the_callers_trace(env):
    """pg_http.traceparent: each request carries the session's trace id and
    flags with a span id of its own; the caller's header wins; SET LOCAL
    ends at commit; a queued request keeps the trace it was queued in;
    invalid values are refused (22023)."""
    import re
    conn = connect(env)
    url = "http://127.0.0.1:%d/headers" % env.httpbin_port
    form = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")

    def sent(sql, args=None):
        h = json.loads(one(conn, sql, args))["headers"]
        return {k.lower(): v for k, v in h.items()}

    def get(headers=None):
        return sent("SELECT (http.get(%s, %s)).body", (url, headers))

    one(conn, "SET pg_http.traceparent = %s", ("00-%s-%s-01" % (TRACE_ID, PARENT_ID),))
    spans = []
    for _ in range(2):
        tp = get().get("traceparent")
        m = form.match(tp or "")
        if not m or len(tp) != 55:
            raise AssertionError("traceparent %r is not 55 characters of lower-case hex" % tp)
        if m.group(1) != TRACE_ID or m.group(3) != "01":
            raise AssertionError("traceparent %r is not in the session's trace" % tp)
        spans.append(m.group(2))
    if spans[0] == spans[1] or PARENT_ID in spans or "0" * 16 in spans:
        raise AssertionError("span ids %r: not new for each request" % spans)
    # flags follow the session's; tracestate goes with it
    one(conn, "SET pg_http.traceparent = %s", ("00-%s-%s-00" % (TRACE_ID, PARENT_ID),))
    one(conn, "SET pg_http.tracestate = 'vendor=abc,other=1'")
    h = get()
    if not h["traceparent"].endswith("-00") or h.get("tracestate") != "vendor=abc,other=1":
        raise AssertionError("flags or tracestate not sent: %r" % h)
    # the caller's own header wins, and no second one is added
    mine = "00-%s-%s-01" % ("a" * 32, "b" * 16)
    h = get(json.dumps({"TraceParent": mine, "tracestate": "mine=1"}))
    if h["traceparent"] != mine or h["tracestate"] != "mine=1":
        raise AssertionError("the caller's trace context was replaced: %r" % h)
    # a batch: every item in the trace, each with its own span
    with conn.cursor() as cur:
        cur.execute("SELECT body FROM http.batch(%s::jsonb) ORDER BY idx",
                    (json.dumps([{"url": url}, {"url": url}]),))
        tps = [json.loads(b)["headers"].get("Traceparent") for (b,) in cur.fetchall()]
    if any(not tp or TRACE_ID not in tp for tp in tps) or tps[0] == tps[1]:
        raise AssertionError("batch items' traceparents: %r" % tps)
    # a queued request stores the trace context it was queued in
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SELECT http.enqueue('GET', %s)", (url,))
        cur.execute("SELECT request FROM http.queue WHERE id = %s", (cur.fetchone()[0],))
        doc = cur.fetchone()[0]
        cur.execute("ROLLBACK")
    qtp = (doc.get("headers") or {}).get("traceparent", "")
    if not form.match(qtp) or TRACE_ID not in qtp:
        raise AssertionError("queued request without its trace context: %r" % doc)
    # empty: no trace context
    one(conn, "RESET pg_http.traceparent")
    one(conn, "RESET pg_http.tracestate")
    h = get()
    if "traceparent" in h or "tracestate" in h:
        raise AssertionError("trace context sent with none set: %r" % h)
    # SET LOCAL lasts until the transaction ends
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("SET LOCAL pg_http.traceparent = %s", ("00-%s-%s-01" % (TRACE_ID, PARENT_ID),))
        cur.execute("SELECT (http.get(%s)).body", (url,))
        inside = json.loads(cur.fetchone()[0])["headers"].get("Traceparent", "")
        cur.execute("COMMIT")
    if TRACE_ID not in inside:
        raise AssertionError("SET LOCAL trace context not sent: %r" % inside)
    if "traceparent" in get():
        raise AssertionError("SET LOCAL trace context outlived its transaction")
    # invalid values are refused by the setting
    for bad in ("garbage", "00-%s-%s-01" % (TRACE_ID.upper(), PARENT_ID),
                "00-%s-%s-01" % ("0" * 32, PARENT_ID), "00-%s-%s-01" % (TRACE_ID, "0" * 16),
                "ff-%s-%s-01" % (TRACE_ID, PARENT_ID), "00-%s-%s-01-x" % (TRACE_ID, PARENT_ID)):
        try:
            one(conn, "SET pg_http.traceparent = %s", (bad,))
            raise AssertionError("%r accepted" % bad)
        except psycopg2.Error as e:
            if e.pgcode != "22023":
                raise AssertionError("%r: %s %s" % (bad, e.pgcode, e.pgerror))
    conn.close()
    return "trace %s..., span ids %s and %s" % (TRACE_ID[:8], spans[0], spans[1])


class RssWatch:
    """Samples a backend's private memory (RssAnon) and VmRSS every 20 ms
    from another thread, until stopped: the peaks above the start."""

    def __init__(self, pid):
        self.pid = pid
        self.start_anon, self.start_rss = backend_rss_kb(pid)
        self.peak_anon, self.peak_rss = self.start_anon, self.start_rss
        self.done = threading.Event()
        self.th = threading.Thread(target=self.run)
        self.th.start()

    def run(self):
        while not self.done.is_set():
            try:
                a, v = backend_rss_kb(self.pid)
            except (OSError, KeyError):
                break
            self.peak_anon = max(self.peak_anon, a)
            self.peak_rss = max(self.peak_rss, v)
            time.sleep(0.02)

    def stop(self):
        self.done.set()
        self.th.join()
        return (self.peak_anon - self.start_anon) / 1024.0, (self.peak_rss - self.start_rss) / 1024.0


def backend_sockets(pid):
    """The sockets a backend holds open (pg_http's connections, its client's)."""
    n = 0
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            n += os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
        except OSError:
            pass
    return n


def mock_streams(env):
    """The mock server's record of the NDJSON/JSON streams it sent."""
    conn = connect(env)
    s = json.loads(one(conn, "SELECT (http.get(%s, NULL, '{\"keepalive\": false}')).body",
                       (mock_url(env, "/__stats"),)))
    conn.close()
    return s.get("streams", [])


def scenario_streams_gigabyte_in_bounded_memory(env):
    """A 1 GB NDJSON body loaded with INSERT ... SELECT FROM http.get_lines:
    every row arrives, in order, while the backend's private memory stays
    within 64 MB of what it was at the start (the body is read as rows are
    taken, never held whole)."""
    rows, pad = 1050000, 1000           # 1,072 MB of lines
    conn = connect(env)
    pid = one(conn, "SELECT pg_backend_pid()")
    one(conn, "DROP TABLE IF EXISTS stream_load")
    one(conn, "CREATE TABLE stream_load (i bigint, n int)")
    url = mock_url(env, "/ndjson?rows=%d&pad=%d&block=4000" % (rows, pad))
    one(conn, "SELECT count(*) FROM http.get_lines(%s)", (mock_url(env, "/ndjson?rows=10"),))
    watch = RssWatch(pid)
    t0 = time.monotonic()
    one(conn, "INSERT INTO stream_load SELECT (l::jsonb->>'i')::bigint, length(l) "
              "FROM http.get_lines(%s) l", (url,))
    secs = time.monotonic() - t0
    anon, rss = watch.stop()
    count, total, length, first, last = one(
        conn, "SELECT count(*), sum(i), sum(n::bigint), min(i), max(i) FROM stream_load")
    if count != rows or total != rows * (rows - 1) // 2 or first != 0 or last != rows - 1:
        raise AssertionError("rows lost or repeated: %r" % ((count, total, first, last),))
    if anon > 64:
        raise AssertionError("backend private memory grew %.1f MB loading 1 GB" % anon)
    one(conn, "DROP TABLE stream_load")
    conn.close()
    mb = (int(length) + rows) / 1e6
    return "%d rows, %.0f MB in %.1f s (%.0f rows/s); RssAnon +%.1f MB, VmRSS +%.1f MB" % (
        rows, mb, secs, rows / secs, anon, rss)


def scenario_streams_hold_while_the_query_works(env):
    """Between rows the stream is held: while the query spends time on each
    row (here a slow http.get of its own, on the same process's loop), the
    server is not read further, so what it sent is bounded by the socket
    buffers and a read, not by the body (200 MB here)."""
    conn = connect(env)
    pid = one(conn, "SELECT pg_backend_pid()")
    one(conn, "SELECT http.get(%s)", (mock_url(env, "/status/200"),))
    watch = RssWatch(pid)
    n = one(conn, "SELECT count((http.get(%s)).status) FROM "
                  "(SELECT http.get_lines(%s) AS l LIMIT 150) s",
            (mock_url(env, "/delay/10"), mock_url(env, "/ndjson?rows=200000&pad=1000&block=500")))
    anon, _ = watch.stop()
    if n != 150:
        raise AssertionError("%r rows" % n)
    sent = [s for s in mock_streams(env) if s["path"] == "/ndjson"][-1]
    if sent["rows_sent"] > 40000:
        raise AssertionError("the server got to send %d rows (of 200000) while 150 were taken"
                             % sent["rows_sent"])
    if anon > 64:
        raise AssertionError("backend private memory grew %.1f MB" % anon)
    # two streams in one select list take turns: each is held (its socket
    # full) while the other reads, and resumed with megabytes waiting
    watch = RssWatch(pid)
    t0 = time.monotonic()
    both = one(conn, "SELECT count(*), sum(length(a) + length(b)) FROM "
                     "(SELECT http.get_lines(%s) a, http.get_lines(%s) b) s",
               (mock_url(env, "/ndjson?rows=100000&pad=1000"), mock_url(env, "/ndjson?rows=100000&pad=1000")))
    took = time.monotonic() - t0
    anon2, _ = watch.stop()
    if both[0] != 100000 or int(both[1]) < 2 * 100000 * 1000:
        raise AssertionError("two streams in turn: %r" % (both,))
    if anon2 > 64:
        raise AssertionError("two streams: backend private memory grew %.1f MB" % anon2)
    conn.close()
    return ("150 rows taken over 1.5 s of other calls: the server sent %d rows; RssAnon +%.1f MB; "
            "two 100 MB streams in turn in %.1f s, +%.1f MB") % (sent["rows_sent"], anon, took, anon2)


def scenario_streams_cancel_and_timeouts_mid_stream(env):
    """pg_cancel_backend and statement_timeout end a stream mid-body within
    the usual bound; the connection is closed (the server sees it go), no
    descriptor is left, and the backend works on.  timeout_ms is the wait
    for the next bytes: a slow stream with short pauses completes, a pause
    longer than it fails with 08T00."""
    victim, watcher = connect(env), connect(env)
    pid = one(victim, "SELECT pg_backend_pid()")
    one(victim, "SELECT count(*) FROM http.get_lines(%s, NULL, '{\"keepalive\": false}')",
        (mock_url(env, "/ndjson?rows=10"),))
    fds = backend_sockets(pid)
    outcome = {}

    def run(sql, args):
        try:
            one(victim, sql, args)
            outcome["error"] = None
        except psycopg2.Error as e:
            outcome["error"] = e
        outcome["t"] = time.monotonic()

    def streaming_rows():
        s = [x for x in mock_streams(env) if x["path"] == "/ndjson"]
        return s[-1] if s else None

    notes = []
    for how in ("cancel", "statement_timeout"):
        before = len([x for x in mock_streams(env) if x["path"] == "/ndjson"])
        outcome.clear()
        if how == "statement_timeout":
            one(victim, "SET statement_timeout = 1500")
        th = threading.Thread(target=run, args=(
            "INSERT INTO pg_temp.t SELECT l FROM http.get_lines(%s) l",
            (mock_url(env, "/ndjson?rows=50000000&pad=100&drip_ms=5"),)))
        one(victim, "CREATE TEMP TABLE IF NOT EXISTS t (l text)")
        th.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            s = [x for x in mock_streams(env) if x["path"] == "/ndjson"]
            if len(s) > before and s[-1]["rows_sent"] >= 20000:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the stream did not start")
        if how == "cancel":
            t0 = time.monotonic()
            one(watcher, "SELECT pg_cancel_backend(%s)", (pid,))
        else:
            t0 = None
        th.join(10)
        if th.is_alive():
            raise AssertionError("%s: the stream did not end within 10 s" % how)
        err = outcome["error"]
        if err is None or err.pgcode != "57014":
            raise AssertionError("%s: %r" % (how, err))
        if how == "cancel":
            notes.append("cancel %.0f ms" % ((outcome["t"] - t0) * 1000))
            if outcome["t"] - t0 > 1.0:
                raise AssertionError("cancel took %.2f s" % (outcome["t"] - t0))
        else:
            one(victim, "RESET statement_timeout")
        # the server sees the connection go
        deadline = time.monotonic() + 5
        while streaming_rows()["end"] != "gone" and time.monotonic() < deadline:
            time.sleep(0.05)
        if streaming_rows()["end"] != "gone":
            raise AssertionError("%s: the server's stream did not end: %r" % (how, streaming_rows()))
        if backend_sockets(pid) != fds:
            raise AssertionError("%s: sockets %d, %d before" % (how, backend_sockets(pid), fds))
        if one(victim, "SELECT count(*) FROM pg_temp.t") != 0:
            raise AssertionError("%s: rows of a failed statement were kept" % how)
    # an idle timeout, not a total one
    t0 = time.monotonic()
    n = one(victim, "SELECT count(*) FROM http.get_lines(%s, NULL, '{\"timeout_ms\": 1000}')",
            (mock_url(env, "/ndjson?rows=8&block=1&drip_ms=400"),))
    took = time.monotonic() - t0
    if n != 8 or took < 2.5:
        raise AssertionError("slow stream: %r rows in %.1f s" % (n, took))
    try:
        one(victim, "SELECT count(*) FROM http.get_lines(%s, NULL, '{\"timeout_ms\": 1000}')",
            (mock_url(env, "/ndjson?rows=4&block=1&drip_ms=1600"),))
        raise AssertionError("a 1.6 s pause did not time out")
    except psycopg2.Error as e:
        if e.pgcode != "08T00":
            raise AssertionError("pause: %s %s" % (e.pgcode, e.pgerror))
    if one(victim, "SELECT count(*) FROM http.get_lines(%s)", (mock_url(env, "/ndjson?rows=10"),)) != 10:
        raise AssertionError("the backend does not work after")
    victim.close()
    watcher.close()
    return "; ".join(notes) + "; 8 rows over %.1f s with 1 s timeout_ms" % took
