"""The outbox suite: http.enqueue(), the delivery workers, http.await().

It needs a server with pg_http in shared_preload_libraries, and it kills
that server, so it runs its own cluster next to the main one (same build,
same mock server).  Every wait is bounded; the mock server's per-path
counters (/__stats) prove what reached the wire.
"""

import hashlib
import json
import os
import signal
import subprocess
import time
import traceback
import urllib.request

import cluster

DB = "pg_http_async"


class SqlError(Exception):
    def __init__(self, sqlstate, message):
        super().__init__("%s: %s" % (sqlstate, message))
        self.sqlstate = sqlstate


class AsyncCluster:
    """A cluster that preloads pg_http, with one delivery worker for db.
    Its postmaster resolves through tests/slowdns.so (names under
    .slow.test hang for 5 s, then fail), like the main cluster's."""

    def __init__(self, env, free_port, name="async", db=None):
        self.env = env
        self.name = name
        self.db = db or DB
        self.data = os.path.join(env.work, name + "-data")
        self.port = free_port()
        self.log = os.path.join(env.work, name + "-postgres.log")
        self.started = False

    def start(self, first=False):
        env = self.env
        if first:
            env.init_cluster(self.data, self.port, 30, """
shared_preload_libraries = 'pg_http'
pg_http.worker_databases = '{db}'
pg_http.allowed_hosts = '127.0.0.1'
pg_http.secrets_dir = '{secrets}'
restart_after_crash = on
""".format(db=self.db, secrets=env.secrets))
        slowdns = os.path.join(env.build_dir, "tests", "slowdns.so")
        if not os.path.exists(slowdns):
            raise RuntimeError("%s is not built" % slowdns)
        cluster.start(env.bindir, self.data, self.log, env=dict(os.environ, LD_PRELOAD=slowdns),
                      keep_env=("LD_PRELOAD",), retry_for=60)
        self.started = True

    def stop(self):
        if self.started:
            cluster.stop(self.env.bindir, self.data)
            self.started = False

    def postmaster_pid(self):
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            return int(f.readline())

    def kill9_postmaster(self):
        """kill -9 the postmaster (ours: its pid file is in our data dir) and
        wait for it and its children to go."""
        pid = self.postmaster_pid()
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                  text=True).stdout.split()
        os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 30
        for p in [pid] + [int(c) for c in children]:
            while time.time() < deadline:
                try:
                    os.kill(p, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
        self.started = False

    def psql(self, sql, user="postgres", db=None, timeout=120):
        env = self.env
        db = db or self.db
        r = subprocess.run([os.path.join(env.bindir, "psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                            "-h", env.work, "-p", str(self.port), "-U", user, "-d", db],
                           input=sql, text=True, capture_output=True, timeout=timeout)
        if r.returncode != 0:
            err = r.stderr.strip()
            state = ""
            for line in err.splitlines():
                if line.startswith("ERROR:"):
                    state = line.split()[1].rstrip(":")
                    break
            raise SqlError(state, err)
        return r.stdout.strip()

    def row(self, sql, **kw):
        out = self.psql(sql, **kw)
        return out.split("|") if out else []


def mock_get(env, path):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (env.mock_port, path),
                                timeout=10) as r:
        return r.read()


def mock_counts(env):
    return json.loads(mock_get(env, "/__stats"))["requests"]


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def expect_error(fn, sqlstate, what):
    try:
        fn()
    except SqlError as e:
        expect(e.sqlstate == sqlstate, "%s: expected SQLSTATE %s, got %s" % (what, sqlstate, e))
        return str(e)
    raise AssertionError("%s: expected SQLSTATE %s, got no error" % (what, sqlstate))


def wait_for(fn, what, timeout=60.0, step=0.05):
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.time() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(step)


class Suite:
    def __init__(self, env, pg, free_port):
        self.env = env
        self.pg = pg
        self.free_port = free_port
        self.mock = "http://127.0.0.1:%d" % env.mock_port

    def enqueue(self, path, user="postgres", options=None, method="GET", body=None,
                headers=None):
        return int(self.pg.psql(
            "SELECT http.enqueue(%s, %s, %s, %s, %s);" % (
                lit(method), lit(self.mock + path), lit(body),
                lit(json.dumps(headers)) + "::jsonb" if headers else "NULL",
                lit(json.dumps(options)) + "::jsonb" if options else "NULL"),
            user=user))

    def await_row(self, id, user="postgres", timeout_ms=30000):
        out = self.pg.psql(
            "SELECT json_build_object('state', state, 'status', status, 'attempts', attempts,"
            " 'error_code', error_code, 'error', error, 'body', body, 'callback_error',"
            " callback_error, 'possible_duplicate', possible_duplicate,"
            " 'wait_s', extract(epoch FROM finished_at - first_sent_at),"
            " 'queued_s', extract(epoch FROM first_sent_at - created_at))"
            " FROM http.await(%d, %d);" % (id, timeout_ms), user=user)
        return json.loads(out)

    def await_callbacks(self, ids, timeout=30):
        """Callbacks run after the outcome commits, in the callback worker:
        wait until those of ids have run."""
        wait_for(lambda: self.pg.psql(
            "SELECT count(*) FROM http.queue WHERE callback_pending AND id IN (%s);"
            % ",".join(map(str, ids))) == "0", "callbacks of %r" % ids, timeout=timeout)

    # -- the tests -----------------------------------------------------------

    def test_commit_sends(self):
        mock_get(self.env, "/__reset")
        id = self.enqueue("/sink/commit-1")
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["status"] == 200, "delivered 200: %r" % r)
        expect(r["body"] == "ok commit-1", "response body recorded: %r" % r)
        expect(mock_counts(self.env).get("/sink/commit-1") == 1, "the server saw it once")
        return "id %d delivered in %.1f ms after commit" % (id, 1000 * (r["queued_s"] or 0))

    def test_rollback_and_savepoint(self):
        mock_get(self.env, "/__reset")
        self.pg.psql("BEGIN; SELECT http.enqueue('GET', '%s/sink/rolled-back'); ROLLBACK;"
                     % self.mock)
        out = self.pg.psql(
            "BEGIN;"
            "SELECT http.enqueue('GET', '%s/sink/kept');"
            "SAVEPOINT s;"
            "SELECT http.enqueue('GET', '%s/sink/dropped');"
            "ROLLBACK TO SAVEPOINT s;"
            "COMMIT;"
            "SELECT id FROM http.queue WHERE request->>'url' LIKE '%%/sink/kept';"
            % (self.mock, self.mock))
        kept = int(out.splitlines()[-1])
        expect(self.await_row(kept)["state"] == "delivered", "the kept request was delivered")
        # a later request, delivered too, shows the worker has moved on
        later = self.enqueue("/sink/later")
        expect(self.await_row(later)["state"] == "delivered", "the later request was delivered")
        c = mock_counts(self.env)
        expect(c.get("/sink/kept") == 1, "kept sent once: %r" % c)
        expect("/sink/rolled-back" not in c, "a rolled-back transaction sends nothing: %r" % c)
        expect("/sink/dropped" not in c, "a rolled-back savepoint sends nothing: %r" % c)
        n = self.pg.psql("SELECT count(*) FROM http.queue WHERE request->>'url' LIKE '%/sink/rolled-back'"
                         " OR request->>'url' LIKE '%/sink/dropped';")
        expect(n == "0", "no queue rows for rolled-back requests")

    def test_retries_with_backoff(self):
        mock_get(self.env, "/__reset")
        id = self.enqueue("/flaky/a?fail=2&status=503",
                          options={"max_attempts": 5, "backoff_ms": 100})
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["attempts"] == 3,
               "two 503s then 200 in three attempts: %r" % r)
        expect(mock_counts(self.env).get("/flaky/a") == 3, "the server saw three attempts")
        # exponential: about 100 ms then 200 ms, each half fixed half random
        expect(r["wait_s"] >= 0.15, "backoff waited between attempts: %r" % r)
        return "3 attempts over %.2f s" % r["wait_s"]

    def test_retry_after_honoured(self):
        mock_get(self.env, "/__reset")
        id = self.enqueue("/flaky/b?fail=1&status=429&retry_after=2",
                          options={"max_attempts": 3, "backoff_ms": 10})
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["attempts"] == 2, "429 then 200: %r" % r)
        expect(r["wait_s"] >= 1.9, "waited the 2 s Retry-After asked for, not the 10 ms backoff: %r" % r)
        return "second attempt %.2f s after the first" % r["wait_s"]

    def test_exhausted_attempts_fail(self):
        mock_get(self.env, "/__reset")
        id = self.enqueue("/status/500", options={"max_attempts": 3, "backoff_ms": 20})
        r = self.await_row(id)
        expect(r["state"] == "failed" and r["status"] == 500 and r["attempts"] == 3,
               "three 500s end as failed: %r" % r)
        expect(mock_counts(self.env).get("/status/500") == 3, "exactly three attempts sent")

    def test_4xx_not_retried_unless_asked(self):
        mock_get(self.env, "/__reset")
        a = self.enqueue("/status/404", options={"max_attempts": 3, "backoff_ms": 20})
        ra = self.await_row(a)
        expect(ra["state"] == "failed" and ra["attempts"] == 1, "404 is final: %r" % ra)
        b = self.enqueue("/status/418", options={"max_attempts": 2, "backoff_ms": 20,
                                                 "retry_4xx": True})
        rb = self.await_row(b)
        expect(rb["state"] == "failed" and rb["attempts"] == 2, "retry_4xx retries 418: %r" % rb)
        c = mock_counts(self.env)
        expect(c.get("/status/404") == 1 and c.get("/status/418") == 2, "server counts: %r" % c)

    def test_connection_errors_retried(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()       # nothing listens there now
        id = int(self.pg.psql(
            "SELECT http.enqueue('GET', 'http://127.0.0.1:%d/', NULL, NULL,"
            " '{\"max_attempts\": 2, \"backoff_ms\": 20}');" % port))
        r = self.await_row(id)
        expect(r["state"] == "failed" and r["attempts"] == 2 and r["status"] is None,
               "refused twice, then failed: %r" % r)
        expect(r["error_code"].startswith("08"), "a connection error code: %r" % r)
        expect(r["possible_duplicate"] is False, "never connected: not a possible duplicate: %r" % r)
        # a timeout may have reached the server: its retry is a possible duplicate
        t = self.enqueue("/delay/1000", options={"timeout_ms": 200, "max_attempts": 2,
                                                 "backoff_ms": 20})
        rt = self.await_row(t)
        expect(rt["state"] == "failed" and rt["attempts"] == 2 and rt["error_code"] == "08T00"
               and rt["possible_duplicate"] is True, "timed out twice, marked: %r" % rt)
        return r["error"]

    def set_header_limit(self, n):
        """ALTER SYSTEM and reload; wait until the worker runs with it."""
        self.pg.psql("ALTER SYSTEM SET pg_http.max_header_bytes = %d; SELECT pg_reload_conf();" % n)
        # the worker reloads at the top of its loop: wait for its pass
        time.sleep(0.5)

    def test_reload_mid_flight_keeps_request_limits(self):
        """A reload that changes pg_http.max_header_bytes while requests are
        in flight in the worker: each finishes under the limit it started
        with, in both directions; the next request gets the new one."""
        slow = "/late-long-header?n=30000&delay_ms=1500"
        try:
            self.set_header_limit(40000)
            fits = self.enqueue(slow)
            wait_for(lambda: self.pg.psql("SELECT state FROM http.queue WHERE id = %d;" % fits)
                     == "sending", "the request in flight", timeout=10)
            self.set_header_limit(8192)       # lowered mid-flight
            r = self.await_row(fits)
            expect(r["state"] == "delivered" and r["status"] == 200,
                   "started under 40000 bytes, a 30000-byte header fits: %r" % r)

            over = self.enqueue(slow, options={"max_attempts": 1})
            wait_for(lambda: self.pg.psql("SELECT state FROM http.queue WHERE id = %d;" % over)
                     == "sending", "the request in flight", timeout=10)
            self.set_header_limit(65536)      # raised mid-flight
            r = self.await_row(over)
            expect(r["state"] == "failed" and r["error_code"] == "54000",
                   "started under 8192 bytes, the header is over its limit: %r" % r)

            after = self.enqueue(slow)
            r = self.await_row(after)
            expect(r["state"] == "delivered", "the next request runs under 65536: %r" % r)
        finally:
            self.pg.psql("ALTER SYSTEM RESET pg_http.max_header_bytes; SELECT pg_reload_conf();")

    def test_not_before_and_delay(self):
        id = self.enqueue("/sink/later-1", options={"delay_ms": 1000})
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["queued_s"] >= 0.95,
               "not sent before its delay: %r" % r)
        # await returns the row as it is when its timeout passes
        id2 = int(self.pg.psql("SELECT http.enqueue('GET', '%s/sink/far', NULL, NULL,"
                               " jsonb_build_object('not_before', now() + interval '1 hour'));"
                               % self.mock))
        r2 = self.await_row(id2, timeout_ms=200)
        expect(r2["state"] == "queued" and r2["attempts"] == 0, "still queued: %r" % r2)
        self.pg.psql("DELETE FROM http.queue WHERE id = %d;" % id2)

    def test_idempotency_key(self):
        id = self.enqueue("/echo", method="POST", body='{"a":1}',
                          options={"idempotency_key": "order-42"})
        r = self.await_row(id)
        doc = json.loads(r["body"])
        expect(["Idempotency-Key", "order-42"] in doc["headers"], "header sent: %r" % doc)
        expect(doc.get("body") == '{"a":1}', "body sent: %r" % doc)

    def test_credentials_live_as_long_as_the_request(self):
        """A queued request keeps its credentials while it may be sent, and
        not after; http.results never shows URL credentials."""
        url = "http://user:pa55-w0rd@127.0.0.1:%d/echo" % self.env.mock_port
        id = int(self.pg.psql(
            "SELECT http.enqueue('GET', %s, NULL, %s, '{\"delay_ms\": 800}');"
            % (lit(url), lit(json.dumps({"Authorization": "Bearer T0k3n-queued",
                                          "Cookie": "s=c00kie", "X-Keep": "kept"})))))
        queued = self.pg.psql("SELECT request::text FROM http.queue WHERE id = %d;" % id)
        expect("T0k3n-queued" in queued and "pa55-w0rd" in queued,
               "while queued, the request keeps what it needs to be sent")
        shown = self.pg.psql("SELECT url FROM http.results WHERE id = %d;" % id)
        expect("pa55-w0rd" not in shown and shown.startswith("http://127.0.0.1:"),
               "http.results shows no URL credentials: %s" % shown)
        r = self.await_row(id)
        sent = json.loads(r["body"])["headers"]
        expect(["Authorization", "Bearer T0k3n-queued"] in sent,
               "the credentials were sent: %r" % sent)
        kept = self.pg.psql("SELECT request::text FROM http.queue WHERE id = %d;" % id)
        for secret in ("T0k3n-queued", "c00kie", "pa55-w0rd"):
            expect(secret not in kept, "a finished row keeps no %s: %s" % (secret, kept))
        expect("kept" in kept, "other headers stay: %s" % kept)

    def test_cancel_and_redrive(self):
        """http.cancel stops a queued request before it is sent; http.retry
        and http.retry_failed send failed or cancelled ones again with fresh
        attempts, counted in redriven; another role can do neither."""
        env, pg = self.env, self.pg
        pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice') THEN CREATE ROLE alice LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dave') THEN CREATE ROLE dave LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION http.enqueue(jsonb), http.enqueue(text, text, text, jsonb, jsonb),
  http.await(bigint, integer) TO alice;
GRANT EXECUTE ON FUNCTION http.cancel(bigint), http.retry(bigint),
  http.retry_failed(text, timestamptz) TO alice, dave;
""")
        mock_get(env, "/__reset")
        since = pg.psql("SELECT now();")

        def row(id):
            return dict(zip(("state", "attempts", "redriven", "error_code", "status"), pg.row(
                "SELECT state, attempts, redriven, error_code, status FROM http.results WHERE id = %d;" % id,
                user="alice")))

        id1 = self.enqueue("/sink/cancel-me", user="alice", options={"delay_ms": 1500})
        expect_error(lambda: pg.psql("SELECT http.cancel(%d);" % id1, user="dave"), "P0002",
                     "another role cannot cancel it")
        expect(pg.psql("SELECT http.cancel(%d);" % id1, user="alice") == "t", "its owner cancels it")
        r = self.await_row(id1, user="alice", timeout_ms=5000)
        expect(r["state"] == "cancelled" and r["error_code"] == "57014" and r["attempts"] == 0,
               "cancelled, never attempted: %r" % r)
        expect(pg.psql("SELECT http.cancel(%d);" % id1, user="alice") == "f", "a finished request stays")
        time.sleep(2.0)
        expect("/sink/cancel-me" not in mock_counts(env), "a cancelled request is never sent")

        expect(pg.psql("SELECT http.retry(%d);" % id1, user="alice") == "t", "a cancelled request is redriven")
        r = self.await_row(id1, user="alice")
        expect(r["state"] == "delivered" and r["attempts"] == 1, "then delivered: %r" % r)
        expect(row(id1)["redriven"] == "1", "counted as redriven: %r" % row(id1))
        expect(mock_counts(env).get("/sink/cancel-me") == 1, "sent once")
        expect(pg.psql("SELECT http.retry(%d);" % id1, user="alice") == "f", "a delivered request is not")

        ids = [self.enqueue(p, user="alice", options={"max_attempts": 1}) for p in ("/status/500", "/status/503")]
        for id in ids:
            expect(self.await_row(id, user="alice")["state"] == "failed", "fails once")
        expect_error(lambda: pg.psql("SELECT http.retry(%d);" % ids[0], user="dave"), "P0002",
                     "another role cannot retry it")
        expect(pg.psql("SELECT http.retry_failed('other.example', %s);" % lit(since), user="alice") == "0",
               "a pattern matching no host retries nothing")
        expect(pg.psql("SELECT http.retry_failed('*', %s);" % lit(since), user="dave") == "0",
               "another role's failures are not its own")
        n = pg.psql("SELECT http.retry_failed('127.0.0.1:%d', %s);" % (env.mock_port, lit(since)), user="alice")
        expect(n == "2", "both failures retried: %s" % n)
        for id in ids:
            r = self.await_row(id, user="alice")
            expect(r["state"] == "failed" and r["attempts"] == 1 and row(id)["redriven"] == "1",
                   "sent again with fresh attempts: %r %r" % (r, row(id)))
        c = mock_counts(env)
        expect(c.get("/status/500") == 2 and c.get("/status/503") == 2, "each sent twice: %r" % c)

        # literal credentials are gone once it finished: a retry would go without them
        lit_id = self.enqueue("/status/500", user="alice", options={"max_attempts": 1},
                              headers={"Authorization": "Bearer l1teral"})
        self.await_row(lit_id, user="alice")
        expect_error(lambda: pg.psql("SELECT http.retry(%d);" % lit_id, user="alice"), "55000",
                     "a request whose credentials were removed")
        expect_error(lambda: pg.psql("SELECT http.retry_failed('***', %s);" % lit(since), user="alice"),
                     "22023", "a bad pattern")
        return "cancelled before sending; redriven: 1 cancelled, 2 failed"

    # -- host controls --------------------------------------------------------

    def second_mock(self):
        """Another mock server: another host:port, for a host running free."""
        if not getattr(self, "mock2_port", None):
            self.mock2_port = self.env.start_mock("mock2")
        return "http://127.0.0.1:%d" % self.mock2_port

    def test_rate_limit_holds_while_another_host_runs_free(self):
        """http.host_limit(host, 50/s): deliveries to it keep to 50 per second
        (within 10% over 5 s, from the send times the workers recorded) while
        requests to another host go at once."""
        env, pg = self.env, self.pg
        free = self.second_mock()
        mock_get(env, "/__reset")
        pg.psql("SELECT http.host_limit('127.0.0.1:%d', 50, 5);" % env.mock_port)
        try:
            pg.psql("SELECT http.enqueue('GET', %s || '/sink/limited-' || g) FROM generate_series(1, 300) g;"
                    "SELECT http.enqueue('GET', %s || '/sink/free-' || g) FROM generate_series(1, 300) g;"
                    % (lit(self.mock), lit(free)))
            wait_for(lambda: pg.psql("SELECT count(*) FROM http.queue WHERE state IN ('queued', 'sending');")
                     == "0", "all 600 delivered", timeout=30)
            limited = pg.row(
                "WITH s AS (SELECT first_sent_at t FROM http.queue WHERE request->>'url' LIKE '%%/sink/limited-%%')"
                " SELECT count(*) FILTER (WHERE t < (SELECT min(t) FROM s) + interval '5 s'),"
                "        extract(epoch FROM max(t) - min(t)), count(*) FROM s;")
            freed = pg.row(
                "SELECT extract(epoch FROM max(first_sent_at) - min(created_at)), count(*)"
                " FROM http.queue WHERE request->>'url' LIKE '%/sink/free-%';")
            states = pg.psql("SELECT requests_per_second || ' ' || burst FROM http.host_states"
                             " WHERE host = '127.0.0.1:%d';" % env.mock_port)
        finally:
            pg.psql("SELECT http.host_unlimit('127.0.0.1:%d');" % env.mock_port)
        in5 = int(limited[0])
        # a full bucket of 5 at once, then 50 a second: 255 in the first 5 s
        rate = (in5 - 5) / 5.0
        expect(45 <= rate <= 55, "50/s within 10%% over 5 s: %d sent in the first 5 s (%.1f/s)" % (in5, rate))
        expect(float(freed[0]) < 2.0 and freed[1] == "300",
               "the other host ran free: its 300 all sent %.2f s after queuing" % float(freed[0]))
        expect(states == "50 5", "http.host_states shows the limit: %r" % states)
        c = mock_counts(env)
        expect(sum(v for k, v in c.items() if k.startswith("/sink/limited-")) == 300,
               "each limited request sent once")
        return "%.1f/s over the first 5 s at a limit of 50/s (300 over %.2f s); the other host's 300 all sent %.2f s after queuing" % (
            rate, float(limited[1]), float(freed[0]))

    def test_limits_hold_synchronous_calls_back(self):
        """Synchronous calls share the bucket (preloaded): over the limit they
        wait, within their timeout; past it they fail with 08T00."""
        env, pg = self.env, self.pg
        pg.psql("SELECT http.host_limit('127.0.0.1:%d', 5, 1);" % env.mock_port)
        try:
            t = pg.psql("DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN"
                        " PERFORM http.get(%s || '/status/200', NULL, '{\"timeout_ms\": 5000}')"
                        "   FROM generate_series(1, 6);"
                        " RAISE NOTICE '%%', extract(epoch FROM clock_timestamp() - t0); END $$;"
                        " SELECT 1;" % lit(self.mock))
            err = expect_error(lambda: pg.psql(
                "SELECT http.get(%s || '/status/200', NULL, '{\"timeout_ms\": 50}')"
                " FROM generate_series(1, 3);" % lit(self.mock)), "08T00", "held back past its timeout")
            # a 429 empties the bucket (from a full one of 5, a call would leave 4)
            other = self.second_mock()
            pg.psql("SELECT http.host_limit('127.0.0.1:%d', 1, 5);" % self.mock2_port)
            pg.psql("SELECT http.get(%s || '/status/429');" % lit(other))
            tokens = float(pg.psql("SELECT tokens FROM http.host_states WHERE host = '127.0.0.1:%d';"
                                   % self.mock2_port))
        finally:
            pg.psql("SELECT http.host_unlimit('127.0.0.1:%d');" % env.mock_port)
            pg.psql("SELECT http.host_unlimit('127.0.0.1:%d');" % self.mock2_port)
        expect("held back by its host's limits" in err, "the error says why: %s" % err)
        expect(tokens < 1.0, "a 429 empties the bucket: %.2f tokens left" % tokens)
        return "6 calls at 5/s; a call with 50 ms to spare fails 08T00"

    def test_pause_resume_and_who_may(self):
        """http.pause holds queued requests (no attempt spent) and fails calls;
        http.resume lets them go; roles not granted the controls cannot."""
        env, pg = self.env, self.pg
        mock_get(env, "/__reset")
        pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice') THEN CREATE ROLE alice LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION http.enqueue(jsonb), http.get(text, jsonb, jsonb) TO alice;""")
        for q in ("SELECT http.pause('*');", "SELECT http.resume('*');",
                  "SELECT http.host_limit('*', 1);", "SELECT http.host_unlimit('*');",
                  "SELECT * FROM http.host_states;"):
            expect_error(lambda: pg.psql(q, user="alice"), "42501", "alice may not: " + q)
        expect_error(lambda: pg.psql("SELECT http.pause('bad host');"), "22023", "a bad pattern")
        pg.psql("SELECT http.pause('127.0.0.1');")
        try:
            id = self.enqueue("/sink/paused")
            time.sleep(1.5)
            r = pg.row("SELECT state, attempts FROM http.queue WHERE id = %d;" % id)
            expect(r == ["queued", "0"], "held in the queue, no attempt spent: %r" % r)
            waited = float(pg.psql("SELECT extract(epoch FROM oldest_due_waiting) FROM http.queue_stats"
                                   " WHERE host = '127.0.0.1:%d';" % env.mock_port))
            expect(waited >= 1.0, "http.queue_stats shows how long it has waited: %.2f s" % waited)
            expect_error(lambda: pg.psql("SELECT http.get(%s);" % lit(self.mock + "/status/200"), user="alice"),
                         "55000", "a call to a paused host")
            expect(pg.psql("SELECT paused FROM http.host_states WHERE host = '127.0.0.1:%d';"
                           % env.mock_port) == "t", "http.host_states shows it paused")
        finally:
            expect(pg.psql("SELECT http.resume('127.0.0.1');") == "t", "resumed")
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["attempts"] == 1, "sent once resumed: %r" % r)
        expect(mock_counts(env).get("/sink/paused") == 1, "sent once")

    def test_circuit_breaker_opens_probes_and_closes(self):
        """After pg_http.breaker_failures consecutive 5xx the breaker opens:
        nothing is sent there (calls fail 08001) until pg_http.breaker_open has
        passed; one request probes; its success closes the breaker."""
        env, pg = self.env, self.pg
        mock_get(env, "/__reset")
        pg.psql("ALTER SYSTEM SET pg_http.breaker_failures = 3;"
                "ALTER SYSTEM SET pg_http.breaker_open = '1500ms'; SELECT pg_reload_conf();")
        time.sleep(0.5)
        try:
            for i in range(3):
                r = self.await_row(self.enqueue("/status/500", options={"max_attempts": 1}))
                expect(r["state"] == "failed", "a 500: %r" % r)
            state = pg.psql("SELECT breaker || ' ' || consecutive_failures FROM http.host_states"
                            " WHERE host = '127.0.0.1:%d';" % env.mock_port)
            expect(state == "open 3", "open after 3 failures: %r" % state)
            expect_error(lambda: pg.psql("SELECT http.get(%s);" % lit(self.mock + "/status/200")),
                         "08001", "a call while it is open")
            t0 = time.time()
            id = self.enqueue("/sink/probe")
            r = self.await_row(id)
            waited = time.time() - t0
            expect(r["state"] == "delivered" and r["attempts"] == 1,
                   "the probe, once the breaker let it: %r" % r)
            expect(waited >= 0.8, "held while open: sent after %.2f s" % waited)
            state = pg.psql("SELECT breaker || ' ' || consecutive_failures FROM http.host_states"
                            " WHERE host = '127.0.0.1:%d';" % env.mock_port)
            expect(state == "closed 0", "closed after the probe: %r" % state)
            expect(mock_counts(env).get("/status/500") == 3, "nothing more was sent to it while open")
        finally:
            pg.psql("ALTER SYSTEM RESET pg_http.breaker_failures;"
                    "ALTER SYSTEM RESET pg_http.breaker_open; SELECT pg_reload_conf();")
            time.sleep(0.3)
        return "open after 3 failures, probe sent %.2f s later, closed" % waited

    def test_stats_agree_with_the_server(self):
        """http.stats counts what the mock server saw: calls and deliveries,
        answers by class, timeouts as 08 errors, connections, latency
        percentiles in order; a role sees only its own rows."""
        env, pg = self.env, self.pg
        base = self.second_mock()
        host = "127.0.0.1:%d" % self.mock2_port
        with urllib.request.urlopen(base + "/__reset", timeout=10) as r:
            r.read()
        pg.psql("SELECT http.stats_reset();")
        pg.psql("SELECT http.get(%s || '/status/200') FROM generate_series(1, 20);"
                "SELECT http.get(%s || '/status/503') FROM generate_series(1, 5);" % (lit(base), lit(base)))
        for _ in range(3):
            expect_error(lambda: pg.psql("SELECT http.get(%s || '/delay/1000', NULL, '{\"timeout_ms\": 100}');"
                                         % lit(base)), "08T00", "a timeout")
        ids = pg.psql("SELECT http.enqueue('POST', %s || '/sink/st-' || g, 'body-' || g)"
                      " FROM generate_series(1, 10) g;" % lit(base)).split()
        for id in ids:
            expect(self.await_row(int(id))["state"] == "delivered", "delivered")
        with urllib.request.urlopen(base + "/__stats", timeout=10) as r:
            seen = json.loads(r.read())["requests"]
        rows = {r.split("|")[0]: r.split("|") for r in pg.psql(
            "SELECT kind, calls, errors, timeouts, responses, bytes_sent, connections_opened + connections_reused,"
            " p50_ms <= p95_ms AND p95_ms <= p99_ms AND p99_ms <= max_ms"
            " AND (SELECT sum(v::bigint) FROM jsonb_each_text(histogram) AS e(k, v)) = calls, scope"
            " FROM http.stats WHERE host = %s;" % lit(host)).splitlines()}
        call, dlv = rows.get("call"), rows.get("delivery")
        expect(call is not None and dlv is not None, "a row per kind: %r" % rows)
        expect(int(call[1]) == seen.get("/status/200", 0) + seen.get("/status/503", 0) + seen.get("/delay/1000", 0)
               == 28, "calls agree with the server: %r vs %r" % (call, seen))
        expect(json.loads(call[2]) == {"08": 3} and call[3] == "3", "3 timeouts, counted as 08: %r" % call)
        expect(json.loads(call[4]) == {"2xx": 20, "5xx": 5}, "answers by class: %r" % call)
        expect(int(call[6]) >= 28 and call[7] == "t" and call[8] == "server",
               "connections counted, percentiles in order, shared: %r" % call)
        sinks = sum(v for k, v in seen.items() if k.startswith("/sink/st-"))
        expect(int(dlv[1]) == sinks == 10 and json.loads(dlv[4]) == {"2xx": 10},
               "deliveries agree with the server: %r vs %d" % (dlv, sinks))
        expect(int(dlv[5]) == sum(len("body-%d" % g) for g in range(1, 11)), "body bytes sent: %r" % dlv)
        t = json.loads(pg.psql("SELECT timings FROM http.results WHERE id = %s;" % ids[0]))
        phases = sum(t[k] for k in ("before_ms", "dns_ms", "connect_ms", "tls_ms", "first_byte_ms", "transfer_ms"))
        expect(abs(phases - t["total_ms"]) <= 1.0 and t["first_byte_ms"] > 0,
               "a delivery's timings add up: %r" % t)
        pg.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice')"
                " THEN CREATE ROLE alice LOGIN; END IF; END $$;")
        expect(pg.psql("SELECT count(*) FROM http.stats WHERE host = %s;" % lit(host), user="alice") == "0",
               "another role does not see them")
        expect_error(lambda: pg.psql("SELECT http.stats_reset();", user="alice"), "42501", "nor reset them")
        return "calls %s, deliveries %s, as the server saw" % (call[1], dlv[1])

    # -- secrets and signing (issue: credentials) ---------------------------

    def secrets_setup(self):
        """Secrets bound to 127.0.0.1, granted to the role "carol"."""
        self.pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'carol') THEN CREATE ROLE carol LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION http.enqueue(jsonb), http.get(text, jsonb, jsonb),
  http.await(bigint, integer) TO carol;
SELECT http.secret_define(n, ARRAY['127.0.0.1'], '1-65535', allow_http => true)
  FROM unnest(ARRAY['test_token', 'webhook_key', 'oauth_client']) AS n;
SELECT http.secret_grant(n, 'carol') FROM unnest(ARRAY['test_token', 'webhook_key', 'oauth_client']) AS n;
""")

    def test_secrets_stay_out_of_tables_dumps_activity_and_log(self):
        """A secret named by a call or a queued request never reaches
        http.queue, http.results, pg_dump, pg_stat_activity or the server
        log (log_statement = 'all'); a queued signed webhook keeps one
        webhook-id across attempts, each signature checked by the mock."""
        import run
        env, pg = self.env, self.pg
        token = run.TEST_SECRETS["test_token"].strip()
        whkey = run.TEST_SECRETS["webhook_key"].strip()
        self.secrets_setup()
        mock_get(env, "/__reset")
        pg.psql("ALTER SYSTEM SET log_statement = 'all'; SELECT pg_reload_conf();")
        log_start = os.path.getsize(pg.log)
        try:
            ref = json.dumps({"X-Api-Key": {"secret": "test_token"}})
            # a call that reaches the server with the value ...
            got = pg.psql("SELECT body FROM http.get(%s, %s);" % (lit(self.mock + "/echo"), lit(ref)),
                          user="carol")
            expect(["X-Api-Key", token] in json.loads(got)["headers"], "the value was sent")
            # ... one refused (another host), and one seen while it runs
            pg.psql("SELECT http.secret_define('hmac_key', ARRAY['api.example.com']);"
                    "SELECT http.secret_grant('hmac_key', 'carol');")
            err = expect_error(lambda: pg.psql("SELECT http.get(%s, %s);" % (
                lit(self.mock + "/echo"), lit(json.dumps({"X-Sig": {"secret": "hmac_key"}}))), user="carol"),
                "42501", "a host the secret is not bound to")
            expect("hmac_key" in err and run.TEST_SECRETS["hmac_key"] not in err,
                   "the error names the secret only: %s" % err)
            import threading
            slow = threading.Thread(target=lambda: pg.psql(
                "SELECT http.get(%s, %s);" % (lit(self.mock + "/delay/1500"), lit(ref)), user="carol"))
            slow.start()
            activity = wait_for(lambda: pg.psql(
                "SELECT string_agg(query, E'\\n') FROM pg_stat_activity WHERE query LIKE '%/delay/1500%'"
                " AND pid <> pg_backend_pid();"), "the slow call in pg_stat_activity", timeout=5)
            slow.join(10)
            # a queued signed webhook: the first attempt answered 503, the second 200
            doc = {"method": "POST",
                   "url": self.mock + "/signed/webhook?tag=leak&fail=1&keyfile=" + env.secrets + "/webhook_key",
                   "headers": {"X-Api-Key": {"secret": "test_token"}}, "body": {"event": "paid"},
                   "options": {"sign": {"type": "webhook", "secret": "webhook_key"},
                               "max_attempts": 3, "backoff_ms": 50}}
            id = int(pg.psql("SELECT http.enqueue(%s);" % lit(json.dumps(doc)), user="carol"))
            r = self.await_row(id, user="carol")
            expect(r["state"] == "delivered" and r["attempts"] == 2, "503 then 200: %r" % r)
            seen = json.loads(mock_get(env, "/__stats"))["webhooks"]["leak"]
            expect(len(seen) == 2 and seen[0]["id"] == seen[1]["id"] and seen[0]["id"].startswith("msg_"),
                   "one webhook-id for both attempts, both signatures valid: %r" % seen)
            queued = pg.psql("SELECT q::text FROM http.queue q WHERE id = %d;" % id)
            ref_kept = pg.psql("SELECT request->'headers'->'X-Api-Key'->>'secret' FROM http.queue WHERE id = %d;" % id)
            expect(ref_kept == "test_token", "the queue keeps the reference: %s" % queued)
            results = pg.psql("SELECT r::text FROM http.results r;")
            dump = subprocess.run([os.path.join(env.bindir, "pg_dump"), "-h", env.work,
                                   "-p", str(pg.port), "-U", "postgres", pg.db],
                                  capture_output=True, text=True, timeout=120)
            expect(dump.returncode == 0, "pg_dump ran: %s" % dump.stderr[-300:])
            expect("test_token" in dump.stdout, "the dump keeps the secret's binding (by name)")
        finally:
            pg.psql("ALTER SYSTEM RESET log_statement; SELECT pg_reload_conf();")
        with open(pg.log, errors="replace") as f:
            f.seek(log_start)
            log = f.read()
        expect("/delay/1500" in log and "http.enqueue" in log, "log_statement logged the statements")
        for where, text in (("http.queue", queued), ("http.results", results), ("pg_dump", dump.stdout),
                            ("pg_stat_activity", activity), ("the server log", log)):
            for name, value in (("test_token", token), ("webhook_key", whkey),
                                ("hmac_key", run.TEST_SECRETS["hmac_key"])):
                expect(value not in text, "the value of %s is in %s" % (name, where))
        return "value absent from queue, results, dump (%d kB), activity and %d kB of log" % (
            len(dump.stdout) // 1024, len(log) // 1024)

    def test_secret_revoked_before_sending(self):
        """A grant taken back while a request waits in the queue: it fails
        at its next claim, unsent."""
        self.secrets_setup()
        mock_get(self.env, "/__reset")
        doc = {"url": self.mock + "/sink/revoked", "headers": {"X-Api-Key": {"secret": "test_token"}},
               "options": {"delay_ms": 1500}}
        id = int(self.pg.psql("SELECT http.enqueue(%s);" % lit(json.dumps(doc)), user="carol"))
        self.pg.psql("SELECT http.secret_revoke('test_token', 'carol');")
        try:
            r = self.await_row(id, user="carol")
        finally:
            self.pg.psql("SELECT http.secret_grant('test_token', 'carol');")
        expect(r["state"] == "failed" and r["error_code"] == "42501", "refused at send: %r" % r)
        expect("/sink/revoked" not in mock_counts(self.env), "nothing was sent")

    def test_oauth_token_fetched_once_by_the_worker(self):
        """Queued requests with OAuth 2.0 client credentials: the worker asks
        the token endpoint once for many requests, and once more after the
        API answers 401."""
        env, pg = self.env, self.pg
        env.write_secret("oauth_client", "c1ient-s3cret")
        self.secrets_setup()
        mock_get(env, "/__reset")
        auth = {"type": "oauth2", "token_url": self.mock + "/oauth/token?keyfile=%s/oauth_client" % env.secrets,
                "client_id": "pg_http", "client_secret": {"secret": "oauth_client"}, "scope": "read"}

        def enqueue_many(n):
            doc = {"url": self.mock + "/oauth/api", "options": {"auth": auth}}
            ids = pg.psql("SELECT http.enqueue(%s) FROM generate_series(1, %d);" % (lit(json.dumps(doc)), n),
                          user="carol").split()
            return [self.await_row(int(i), user="carol") for i in ids]

        rows = enqueue_many(8)
        expect(all(r["state"] == "delivered" and r["status"] == 200 for r in rows), "all 200: %r" % rows)
        c = mock_counts(env)
        expect(c.get("/oauth/token") == 1, "one token request for 8 deliveries: %r" % c)
        mock_get(env, "/oauth/revoke-all")
        rows = enqueue_many(4)
        expect(all(r["state"] == "delivered" and r["status"] == 200 for r in rows), "all 200: %r" % rows)
        c = mock_counts(env)
        expect(c.get("/oauth/token") == 2, "one more token request after the 401: %r" % c)
        requests = pg.psql("SELECT string_agg(request::text || coalesce(error, ''), ' ') FROM http.queue;")
        expect("tok-" not in requests and "c1ient-s3cret" not in requests,
               "no token or client secret is stored with the requests")
        return "token endpoint asked %d times for 12 deliveries" % c.get("/oauth/token")

    def test_callback_once_per_delivery(self):
        self.pg.psql("""
CREATE TABLE IF NOT EXISTS cb_log (id bigint, status int, error text, by_role text);
TRUNCATE cb_log;
CREATE OR REPLACE FUNCTION record_result(id bigint, r http.response, err text)
RETURNS void LANGUAGE sql AS $$ INSERT INTO public.cb_log VALUES (id, r.status, err, current_user) $$;
CREATE OR REPLACE FUNCTION broken_callback(id bigint, r http.response, err text)
RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'callback says no'; END $$;
""")
        mock_get(self.env, "/__reset")
        ids = [self.enqueue("/sink/cb-%d" % i, options={"callback": "record_result"})
               for i in range(5)]
        flaky = self.enqueue("/flaky/cb?fail=1&status=503",
                             options={"callback": "record_result", "backoff_ms": 20})
        failed = self.enqueue("/status/500", options={"callback": "record_result",
                                                      "max_attempts": 1})
        broken = self.enqueue("/sink/cb-broken", options={"callback": "broken_callback"})
        for id in ids + [flaky, failed]:
            self.await_row(id)
        self.await_row(broken)
        self.await_callbacks(ids + [flaky, failed, broken])
        rb = self.await_row(broken)
        expect(rb["state"] == "delivered" and "callback says no" in (rb["callback_error"] or ""),
               "a failing callback is recorded, the delivery stands: %r" % rb)
        rows = self.pg.psql("SELECT id, status, coalesce(error, '') FROM cb_log ORDER BY id;")
        got = [l.split("|") for l in rows.splitlines()]
        want = [[str(i), "200", ""] for i in ids + [flaky]] + [[str(failed), "500", ""]]
        expect(got == sorted(want, key=lambda r: int(r[0])),
               "one call per final outcome (the retried one once): %r" % got)

    def test_callback_cannot_harm_the_worker(self):
        """What a callback SETs ends with it; a deferred constraint it breaks
        is its own error, not the worker's commit's."""
        self.pg.psql("""
CREATE TABLE IF NOT EXISTS cb_parent (id int PRIMARY KEY);
CREATE TABLE IF NOT EXISTS cb_child (pid int REFERENCES cb_parent DEFERRABLE INITIALLY DEFERRED);
CREATE OR REPLACE FUNCTION leaky_callback(id bigint, r http.response, err text)
RETURNS void LANGUAGE plpgsql AS $$ BEGIN
  PERFORM set_config('search_path', 'nowhere', false);
  PERFORM set_config('default_transaction_read_only', 'on', false);
END $$;
CREATE OR REPLACE FUNCTION deferred_violation(id bigint, r http.response, err text)
RETURNS void LANGUAGE sql AS $$ INSERT INTO public.cb_child VALUES (-1) $$;
""")
        a = self.enqueue("/sink/leaky", options={"callback": "leaky_callback"})
        self.await_row(a)
        self.await_callbacks([a])
        ra = self.await_row(a)
        expect(ra["state"] == "delivered" and ra["callback_error"] is None, "leaky ran: %r" % ra)
        b = self.enqueue("/sink/deferred", options={"callback": "deferred_violation"})
        self.await_row(b)
        self.await_callbacks([b])
        rb = self.await_row(b)
        expect(rb["state"] == "delivered" and "deferred trigger" in (rb["callback_error"] or ""),
               "a deferred constraint is the callback's error, not the worker's commit's: %r" % rb)
        # the worker still records outcomes and runs callbacks normally
        c = self.enqueue("/sink/after-leaky", options={"callback": "record_result"})
        self.await_row(c)
        self.await_callbacks([c])
        rc = self.await_row(c)
        expect(rc["state"] == "delivered" and rc["callback_error"] is None,
               "later deliveries unaffected: %r" % rc)
        expect(self.pg.psql("SELECT count(*) FROM cb_log WHERE id = %d;" % c) == "1",
               "its callback ran")
        expect(self.pg.psql("SELECT count(*) FROM cb_child;") == "0", "nothing of the failed callback kept")

    def test_await(self):
        id = self.enqueue("/sink/slow?ms=300")
        t0 = time.time()
        r = self.await_row(id)
        expect(r["state"] == "delivered", "awaited until delivered: %r" % r)
        expect_error(lambda: self.pg.psql("SELECT * FROM http.await(-5, 100);"), "P0002",
                     "an unknown id")
        expect_error(lambda: self.pg.psql(
            "BEGIN; SELECT http.await(http.enqueue('GET', '%s/sink/x'), 100); COMMIT;" % self.mock),
            "55000", "awaiting a request of the same transaction")
        expect_error(lambda: self.pg.psql(
            "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT http.await(%d, 100); COMMIT;" % id),
            "25000", "awaiting in REPEATABLE READ")
        # cancellable: statement_timeout ends a long await with 57014
        id2 = int(self.pg.psql("SELECT http.enqueue('GET', '%s/sink/far2', NULL, NULL,"
                               " jsonb_build_object('delay_ms', 3600000));" % self.mock))
        t0 = time.time()
        expect_error(lambda: self.pg.psql("SET statement_timeout = 200;"
                                          " SELECT http.await(%d, 60000);" % id2),
                     "57014", "statement_timeout during await")
        expect(time.time() - t0 < 10, "the cancel ended the await")
        self.pg.psql("DELETE FROM http.queue WHERE id = %d;" % id2)

    def test_validation(self):
        expect_error(lambda: self.pg.psql("SELECT http.get('%s/sink/v', NULL,"
                                          " '{\"max_attempts\": 2}');" % self.mock),
                     "22023", "a queue option on a synchronous call")
        expect_error(lambda: self.pg.psql("SELECT http.enqueue('GET', '%s/sink/v', NULL, NULL,"
                                          " '{\"callback\": \"no_such_fn\"}');" % self.mock),
                     "42883", "an unknown callback")
        expect_error(lambda: self.pg.psql("SELECT http.enqueue('GET', 'ftp://x/');"),
                     "22023", "an unsupported scheme")
        expect_error(lambda: self.pg.psql("SELECT http.enqueue('GET', 'http://10.1.2.3/');"),
                     "42501", "a host the policy refuses, at enqueue time")
        expect_error(lambda: self.pg.psql("SELECT http.enqueue('GET', '%s/', NULL, NULL,"
                                          " '{\"max_attempts\": 0}');" % self.mock),
                     "22023", "max_attempts out of range")
        n = self.pg.psql("SELECT count(*) FROM http.queue WHERE request->>'url' LIKE '%/sink/v'"
                         " OR request->>'url' LIKE 'ftp:%';")
        expect(n == "0", "nothing queued by failed calls")

    def test_roles_and_row_security(self):
        self.pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice') THEN CREATE ROLE alice LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bob') THEN CREATE ROLE bob LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION http.enqueue(jsonb), http.enqueue(text, text, text, jsonb, jsonb),
  http.await(bigint, integer) TO alice;
GRANT EXECUTE ON FUNCTION http.await(bigint, integer) TO bob;
""")
        expect_error(lambda: self.enqueue("/sink/bob", user="bob"), "42501",
                     "a role without EXECUTE cannot queue")
        id = self.enqueue("/sink/alice", user="alice")
        r = self.await_row(id, user="alice")
        expect(r["state"] == "delivered", "alice's request delivered: %r" % r)
        expect(self.pg.psql("SELECT count(*) FROM http.results WHERE id = %d;" % id,
                            user="bob") == "0", "bob cannot see alice's result")
        expect(self.pg.psql("SELECT owner FROM http.results WHERE id = %d;" % id,
                            user="alice") == "alice", "alice sees her own")
        expect_error(lambda: self.await_row(id, user="bob"), "P0002", "bob cannot await it")
        expect_error(lambda: self.pg.psql("UPDATE http.queue SET state = 'queued';", user="alice"),
                     "42501", "roles cannot write the queue")

    def test_policy_rechecked_at_send(self):
        mock_get(self.env, "/__reset")
        port = self.env.mock_port
        self.pg.psql("SELECT http.acl_grant('alice', '127.0.0.1', '%d');" % port)
        try:
            ok = self.enqueue("/sink/acl-ok", user="alice")
            expect(self.await_row(ok, user="alice")["state"] == "delivered",
                   "sent while the ACL allows it")
            # queued while allowed, sent after the grant is gone
            id = self.enqueue("/sink/acl-revoked", user="alice", options={"delay_ms": 1500})
            self.pg.psql("SELECT http.acl_revoke('alice', '127.0.0.1', '%d');" % port)
            self.pg.psql("SELECT http.acl_grant('bob', '127.0.0.1', '%d');" % port)
            r = self.await_row(id, user="alice")
            expect(r["state"] == "failed" and r["error_code"] == "42501" and r["attempts"] == 1,
                   "refused at send time: %r" % r)
            # and a role that lost EXECUTE on http.enqueue
            self.pg.psql("SELECT http.acl_grant('alice', '127.0.0.1', '%d');" % port)
            id2 = self.enqueue("/sink/acl-noexec", user="alice", options={"delay_ms": 1000})
            self.pg.psql("REVOKE EXECUTE ON FUNCTION http.enqueue(jsonb) FROM alice;")
            r2 = self.await_row(id2, user="alice")
            expect(r2["state"] == "failed" and r2["error_code"] == "42501",
                   "refused once EXECUTE is revoked: %r" % r2)
            c = mock_counts(self.env)
            expect("/sink/acl-revoked" not in c and "/sink/acl-noexec" not in c,
                   "refused requests never reached the server: %r" % c)
            return r["error"]
        finally:
            self.pg.psql("GRANT EXECUTE ON FUNCTION http.enqueue(jsonb) TO alice;"
                         "DELETE FROM http.acl; SELECT http.acl_enforce(false);")

    def test_queue_stats(self):
        out = self.pg.psql("SELECT queued, delivered, failed FROM http.queue_stats WHERE host IS NULL;")
        q, d, f = [int(x) for x in out.split("|")]
        n = self.pg.psql("SELECT count(*) FILTER (WHERE state = 'delivered'),"
                         " count(*) FILTER (WHERE state = 'failed') FROM http.queue;")
        expect("%d|%d" % (d, f) == n, "totals agree with the table: %s vs %s" % (out, n))
        per = self.pg.psql("SELECT delivered FROM http.queue_stats WHERE host = '127.0.0.1:%d';"
                           % self.env.mock_port)
        expect(int(per) > 0, "per-host row for the mock server")

    def test_retention(self):
        """Finished rows older than pg_http.queue_retention are deleted."""
        old = [self.enqueue("/sink/ret-%d" % i) for i in range(3)]
        for id in old:
            self.await_row(id)
        keep = self.enqueue("/sink/ret-new")
        self.await_row(keep)
        waiting = int(self.pg.psql("SELECT http.enqueue('GET', '%s/sink/ret-later', NULL, NULL,"
                                   " '{\"delay_ms\": 3600000}');" % self.mock))
        self.pg.psql("UPDATE http.queue SET finished_at = now() - interval '2 hours'"
                     " WHERE id IN (%s);" % ",".join(map(str, old)))
        self.pg.psql("UPDATE http.queue SET created_at = now() - interval '2 hours' WHERE id = %d;"
                     % waiting)
        try:
            self.pg.psql("ALTER SYSTEM SET pg_http.queue_retention = '1h'; SELECT pg_reload_conf();")
            wait_for(lambda: self.pg.psql("SELECT count(*) FROM http.queue WHERE id IN (%s);"
                                          % ",".join(map(str, old))) == "0",
                     "old outcomes deleted", timeout=30, step=0.2)
            left = self.pg.psql("SELECT count(*) FROM http.queue WHERE id IN (%d, %d);"
                                % (keep, waiting))
            expect(left == "2", "a recent outcome and a queued request stay: %s of 2" % left)
        finally:
            self.pg.psql("ALTER SYSTEM RESET pg_http.queue_retention; SELECT pg_reload_conf();"
                         "DELETE FROM http.queue WHERE id = %d;" % waiting)

    def test_slow_request_holds_up_nobody(self):
        """A slow request to a host the worker has no connection to yet does
        not hold up the next requests to that host (queued in transactions
        of their own): they get connections of their own."""
        pid = self.pg.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_http worker';")
        self.pg.psql("SELECT pg_terminate_backend(%s);" % pid)      # no pooled connections
        wait_for(lambda: self.pg.psql("SELECT count(*) FROM pg_stat_activity"
                                      " WHERE backend_type = 'pg_http worker' AND pid <> %s;" % pid) == "1",
                 "the worker back", timeout=30)
        slow = self.enqueue("/delay/2500", options={"timeout_ms": 10000})
        wait_for(lambda: self.pg.psql("SELECT state FROM http.queue WHERE id = %d;" % slow) == "sending",
                 "the slow request sent")
        fast = [self.enqueue("/sink/after-slow-%d" % i, options={"timeout_ms": 1500, "max_attempts": 1})
                for i in range(3)]
        for id in fast:
            r = self.await_row(id)
            expect(r["state"] == "delivered" and r["status"] == 200,
                   "a request behind a slow one to the same host: %r" % r)
        expect(self.await_row(slow)["status"] == 200, "the slow one too")

    # -- pg_net_compat: pg_net code on the outbox ------------------------------

    def net_collect(self, id, user="postgres"):
        """net._http_collect_response(id, async := false) as a dict."""
        out = self.pg.psql(
            "SELECT json_build_object('status', (r).status, 'message', (r).message,"
            " 'code', ((r).response).status_code, 'headers', ((r).response).headers,"
            " 'body', ((r).response).body)"
            " FROM (SELECT net._http_collect_response(%d, async := false) r) s;" % id,
            user=user, timeout=60)
        return json.loads(out)

    def net_row(self, id, user="postgres"):
        out = self.pg.psql("SELECT row_to_json(r) FROM net._http_response r WHERE id = %d;" % id,
                           user=user)
        return json.loads(out) if out else None

    def test_pg_net_compat_calls_and_responses(self):
        """net.http_get/post/delete queue requests that the workers send after
        commit; net._http_response has pg_net's columns; DELETE forgets."""
        self.pg.psql("CREATE EXTENSION IF NOT EXISTS pg_net_compat;")
        mock_get(self.env, "/__reset")
        ids = self.pg.row(
            "BEGIN;"
            "SELECT net.http_get(%s, params := '{\"q\": \"a b&c\", \"n\": 1}',"
            "  headers := '{\"X-Trace\": \"t1\", \"X-Num\": 5}');"
            "SELECT net.http_post(%s, '{\"event\": \"created\", \"id\": 7}'::jsonb);"
            "SELECT net.http_delete(%s, body := '{\"gone\": true}'::jsonb);"
            "SELECT string_agg(id::text || ':' || method, ',' ORDER BY id) FROM net.http_request_queue;"
            "COMMIT;" % (lit(self.mock + "/echo?x=1"), lit(self.mock + "/echo"),
                         lit(self.mock + "/echo")))
        lines = self.pg.psql(
            "SELECT string_agg(id::text, ',') FROM (SELECT id FROM http.queue"
            " WHERE request->'options'->>'tag' = 'pg_net' ORDER BY id DESC LIMIT 3) s;").split(",")
        get_id, post_id, delete_id = sorted(int(x) for x in lines)
        get = self.net_collect(get_id)
        expect(get["status"] == "SUCCESS" and get["message"] == "ok" and get["code"] == 200,
               "GET collected: %r" % get)
        echo = json.loads(get["body"])
        # in jsonb's key order, as pg_net's jsonb_each_text() gives them
        expect(echo["target"] == "/echo?x=1&n=1&q=a%20b%26c", "params appended: %r" % echo["target"])
        sent = dict((k, v) for k, v in echo["headers"])
        expect(sent.get("X-Trace") == "t1" and sent.get("X-Num") == "5", "headers sent: %r" % sent)
        expect(get["headers"].get("content-type") == "application/json",
               "response headers as jsonb: %r" % get["headers"])
        post = json.loads(self.net_collect(post_id)["body"])
        expect(post["method"] == "POST" and json.loads(post["body"]) == {"event": "created", "id": 7}
               and dict(post["headers"]).get("Content-Type") == "application/json",
               "POST sends the JSON body: %r" % post)
        delete = json.loads(self.net_collect(delete_id)["body"])
        expect(delete["method"] == "DELETE" and json.loads(delete["body"]) == {"gone": True},
               "DELETE with a body: %r" % delete)
        row = self.net_row(get_id)
        expect(row["status_code"] == 200 and row["content_type"] == "application/json" and
               row["timed_out"] is False and row["error_msg"] is None and row["created"],
               "net._http_response row: %r" % row)
        expect(self.pg.psql("SELECT count(*) FROM net.http_request_queue WHERE id IN (%d, %d, %d);"
                            % (get_id, post_id, delete_id)) == "0", "the queue view is empty")
        # pg_net's life cycle: read, then delete what was read
        n = self.pg.psql("DELETE FROM net._http_response WHERE id IN (%d, %d) RETURNING id;"
                         % (get_id, post_id)).split()
        expect(len(n) == 2, "deleted through the view: %r" % n)
        expect(self.pg.psql("SELECT count(*) FROM http.queue WHERE id IN (%d, %d);"
                            % (get_id, post_id)) == "0", "and gone from http.queue")
        gone = self.pg.row("SELECT (r).status, (r).message FROM"
                           " (SELECT net._http_collect_response(%d) r) s;" % get_id)
        expect(gone == ["ERROR", "request matching request_id not found"], "collected after delete: %r" % gone)
        expect_error(lambda: self.pg.psql("SELECT net.http_post(%s, '{}', headers := '{\"Content-Type\": \"text/plain\"}');"
                                          % lit(self.mock + "/echo")), "22023",
                     "net.http_post sends JSON only, as pg_net")
        # the deprecated collector says so, and works
        out = subprocess.run([os.path.join(self.env.bindir, "psql"), "-X", "-A", "-t", "-h", self.env.work,
                              "-p", str(self.pg.port), "-U", "postgres", "-d", self.pg.db, "-c",
                              "SELECT (net.http_collect_response(%d)).status;" % delete_id],
                             capture_output=True, text=True, timeout=60)
        expect("deprecated" in out.stderr and out.stdout.strip() == "SUCCESS",
               "net.http_collect_response: %r %r" % (out.stdout, out.stderr))
        return "ids %d-%d" % (get_id, delete_id)

    def test_pg_net_compat_one_attempt_timeouts_errors(self):
        """One attempt, as pg_net makes (a 503 is a response, not a retry);
        timeouts and connection failures in timed_out and error_msg;
        pg_net_compat.max_attempts allows retries."""
        mock_get(self.env, "/__reset")
        flaky = self.mock + "/flaky/net-once?fail=1&status=503"
        id = int(self.pg.psql("SELECT net.http_get(%s);" % lit(flaky)))
        r = self.net_collect(id)
        expect(r["status"] == "SUCCESS" and r["code"] == 503, "the 503 is the response: %r" % r)
        expect(mock_counts(self.env).get("/flaky/net-once") == 1, "sent once: %r" % mock_counts(self.env))
        id = int(self.pg.psql("SET pg_net_compat.max_attempts = 3;"
                              "SELECT net.http_get(%s);" % lit(self.mock + "/flaky/net-retry?fail=1&status=503")))
        r = self.net_collect(id)
        expect(r["code"] == 200, "retried when asked: %r" % r)
        id = int(self.pg.psql("SELECT net.http_get(%s, timeout_milliseconds := 300);"
                              % lit(self.mock + "/delay/3000")))
        r = self.net_collect(id)
        row = self.net_row(id)
        expect(r["status"] == "ERROR" and row["timed_out"] is True and row["status_code"] is None
               and "timed out" in row["error_msg"], "a timeout: %r" % row)
        closed = self.free_port()
        id = int(self.pg.psql("SELECT net.http_get('http://127.0.0.1:%d/');" % closed))
        r = self.net_collect(id)
        row = self.net_row(id)
        expect(r["status"] == "ERROR" and row["timed_out"] is False and row["error_msg"],
               "a refused connection: %r" % row)
        # redirects are followed, as pg_net has curl do
        id = int(self.pg.psql("SELECT net.http_get(%s);" % lit(self.mock + "/redir/x?code=301&to=/status/200")))
        expect(self.net_collect(id)["code"] == 200, "a redirect is followed")
        return "refused: %s" % row["error_msg"][:60]

    def test_pg_net_compat_collect_never_misses_an_outcome(self):
        """net._http_collect_response(id, async := false) right after the
        commit, many times: it must never say "not found" for a request that
        is being delivered (one read per look, no gap between two)."""
        url = lit(self.mock + "/status/200")
        script = "".join("SELECT net.http_get(%s) AS id \\gset\n"
                         "SELECT (r).status FROM (SELECT net._http_collect_response(:id, async := false) r) s;\n"
                         % url for _ in range(300))
        out = self.pg.psql(script, timeout=120).split()
        expect(len(out) == 300 and set(out) == {"SUCCESS"},
               "300 collections: %r" % {k: out.count(k) for k in set(out)})

    def test_pg_net_compat_drop_and_create_again(self):
        """DROP EXTENSION pg_net_compat removes schema net (pg_net's does):
        it can be created again, or a schema net of one's own."""
        self.pg.psql("DROP DATABASE IF EXISTS pg_http_net_scratch;", db="postgres")
        self.pg.psql("CREATE DATABASE pg_http_net_scratch;", db="postgres")
        try:
            self.pg.psql("CREATE EXTENSION pg_http; CREATE EXTENSION pg_net_compat;"
                         " DROP EXTENSION pg_net_compat;", db="pg_http_net_scratch")
            expect(self.pg.psql("SELECT count(*) FROM pg_namespace WHERE nspname = 'net';",
                                db="pg_http_net_scratch") == "0", "schema net is gone")
            self.pg.psql("CREATE EXTENSION pg_net_compat; DROP EXTENSION pg_net_compat;"
                         " CREATE SCHEMA net;", db="pg_http_net_scratch")
            expect_error(lambda: self.pg.psql("CREATE EXTENSION pg_net_compat;", db="pg_http_net_scratch"),
                         "42P06", "a schema net that is not the layer's is not taken over")
        finally:
            self.pg.psql("DROP DATABASE pg_http_net_scratch;", db="postgres")

    def test_pg_net_compat_webhook_trigger(self):
        """A Supabase-style database webhook: a trigger calls net.http_post
        with the new row; sent only if the insert commits, as the role that
        inserts (which needs the grants)."""
        self.pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'webapp') THEN CREATE ROLE webapp LOGIN; END IF;
END $$;
CREATE TABLE IF NOT EXISTS public.orders (id int PRIMARY KEY, item text);
GRANT INSERT, SELECT ON public.orders TO webapp;
CREATE OR REPLACE FUNCTION public.orders_webhook() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM net.http_post(
    url := %s,
    body := jsonb_build_object('type', TG_OP, 'table', TG_TABLE_NAME, 'record', to_jsonb(NEW)),
    params := '{}'::jsonb,
    headers := '{"Content-Type": "application/json", "X-Hook": "orders"}'::jsonb,
    timeout_milliseconds := 1000);
  RETURN NEW;
END $f$;
DROP TRIGGER IF EXISTS orders_webhook ON public.orders;
CREATE TRIGGER orders_webhook AFTER INSERT ON public.orders
  FOR EACH ROW EXECUTE FUNCTION public.orders_webhook();
""" % lit(self.mock + "/echo?hook=orders"))
        mock_get(self.env, "/__reset")
        base = int(self.pg.psql("SELECT coalesce(max(id), 0) FROM http.queue;"))
        expect_error(lambda: self.pg.psql("INSERT INTO public.orders VALUES (1, 'denied');", user="webapp"),
                     "42501", "without EXECUTE the webhook's insert fails")
        self.pg.psql("GRANT EXECUTE ON FUNCTION net.http_post(text, jsonb, jsonb, jsonb, integer),"
                     " http.enqueue(jsonb) TO webapp;")
        self.pg.psql("BEGIN; INSERT INTO public.orders VALUES (2, 'rolled back'); ROLLBACK;", user="webapp")
        self.pg.psql("INSERT INTO public.orders VALUES (3, 'book');", user="webapp")
        ids = self.pg.psql("SELECT string_agg(id::text, ',' ORDER BY id) FROM http.queue WHERE id > %d;"
                           % base, user="webapp")
        expect(ids and "," not in ids, "one request, for the committed insert: %r" % ids)
        r = self.net_collect(int(ids), user="webapp")
        echo = json.loads(r["body"])
        payload = json.loads(echo["body"])
        expect(payload == {"type": "INSERT", "table": "orders", "record": {"id": 3, "item": "book"}}
               and dict(echo["headers"]).get("X-Hook") == "orders", "the webhook: %r" % echo)
        expect(self.pg.psql("SELECT pg_get_userbyid(owner) FROM http.queue WHERE id = %s;" % ids)
               == "webapp", "queued as the inserting role")
        expect(mock_counts(self.env).get("/echo", 0) == 1, "only the committed insert reached the wire")

    def test_pg_net_compat_roles(self):
        """Each role sees and deletes only its own: responses, and queued
        requests not being sent."""
        self.pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice') THEN CREATE ROLE alice LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bob') THEN CREATE ROLE bob LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION net.http_get(text, jsonb, jsonb, integer), http.enqueue(jsonb) TO alice;
""")
        expect_error(lambda: self.pg.psql("SELECT net.http_get(%s);" % lit(self.mock + "/status/200"),
                                          user="bob"), "42501", "bob has no grant")
        done = int(self.pg.psql("SELECT net.http_get(%s);" % lit(self.mock + "/status/200"), user="alice"))
        self.net_collect(done, user="alice")
        expect(self.pg.psql("SELECT count(*) FROM net._http_response WHERE id = %d;" % done, user="bob")
               == "0", "bob cannot see alice's response")
        expect(self.pg.psql("DELETE FROM net._http_response WHERE id = %d RETURNING id;" % done,
                            user="bob") == "", "bob cannot delete it")
        slow = int(self.pg.psql("SELECT net.http_get(%s, timeout_milliseconds := 10000);"
                                % lit(self.mock + "/delay/2500"), user="alice"))
        wait_for(lambda: self.pg.psql("SELECT state FROM http.queue WHERE id = %d;" % slow) == "sending",
                 "the slow request being sent")
        expect(self.pg.psql("DELETE FROM net.http_request_queue WHERE id = %d RETURNING id;" % slow,
                            user="alice") == "", "a request being sent cannot be deleted")
        expect(self.net_collect(slow, user="alice")["code"] == 200, "and is delivered")
        # a request deleted before commit is never sent
        mock_get(self.env, "/__reset")
        self.pg.psql("BEGIN; SELECT net.http_get(%s);"
                     " DELETE FROM net.http_request_queue WHERE url LIKE '%%/sink/net-cancelled';"
                     " COMMIT;" % lit(self.mock + "/sink/net-cancelled"), user="alice")
        time.sleep(1.0)
        expect("/sink/net-cancelled" not in mock_counts(self.env), "the cancelled request was not sent")
        expect(self.pg.psql("DELETE FROM net._http_response WHERE id IN (%d, %d) RETURNING id;"
                            % (done, slow), user="alice").split() == [str(done), str(slow)],
               "alice deletes her own")

    def test_pg_net_compat_worker_functions(self):
        """net.check_worker_is_up, net.wake, net.worker_restart and
        net.wait_until_running on pg_http's delivery worker."""
        self.pg.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice')"
                     " THEN CREATE ROLE alice LOGIN; END IF; END $$;"
                     " SELECT net.check_worker_is_up(); SELECT net.wake();")
        pid = self.pg.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_http worker';")
        expect(self.pg.psql("SELECT net.worker_restart();") == "t", "the worker was stopped")
        expect_error(lambda: self.pg.psql("SELECT net.worker_restart();", user="alice"), "42501",
                     "only roles granted it may restart workers")
        self.pg.psql("SELECT net.wait_until_running();", timeout=60)
        new = self.pg.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_http worker';")
        expect(new and new != pid, "a new worker runs: %s -> %s" % (pid, new))
        id = int(self.pg.psql("SELECT net.http_get(%s);" % lit(self.mock + "/status/200")))
        expect(self.net_collect(id)["code"] == 200, "and delivers")

    def test_pg_net_settings_stand_in(self):
        """Without pg_net loaded, pg_net.ttl and pg_net.batch_size in
        postgresql.conf stand in for pg_http's queue_retention and
        worker_max_inflight in the workers (and stop when removed)."""
        mock_get(self.env, "/__reset")
        conf = os.path.join(self.pg.data, "postgresql.conf")
        with open(conf) as f:
            saved = f.read()
        try:
            with open(conf, "a") as f:
                f.write("\npg_net.batch_size = 1\npg_net.ttl = '1 hour'\n")
            self.pg.psql("SELECT pg_reload_conf();")
            time.sleep(1.0)
            ids = [int(self.pg.psql("SELECT net.http_get(%s, timeout_milliseconds := 5000);"
                                    % lit(self.mock + "/delay/400?n=%d" % i))) for i in range(3)]
            for id in ids:
                self.net_collect(id)
            spread = float(self.pg.psql(
                "SELECT extract(epoch FROM max(first_sent_at) - min(first_sent_at)) FROM http.queue"
                " WHERE id IN (%s);" % ",".join(map(str, ids))))
            expect(spread >= 0.7, "one at a time with pg_net.batch_size = 1: %.2f s apart" % spread)
            self.pg.psql("UPDATE http.queue SET finished_at = now() - interval '2 hours' WHERE id IN (%s);"
                         " SELECT pg_reload_conf();" % ",".join(map(str, ids[:2])))
            keep = ids[2]
            wait_for(lambda: self.pg.psql("SELECT count(*) FROM http.queue WHERE id IN (%s);"
                                          % ",".join(map(str, ids[:2]))) == "0",
                     "outcomes older than pg_net.ttl deleted", timeout=30, step=0.2)
            expect(self.pg.psql("SELECT count(*) FROM http.queue WHERE id = %d;" % keep) == "1",
                   "a recent outcome stays")
            return "%.2f s between sends" % spread
        finally:
            with open(conf, "w") as f:
                f.write(saved)
            self.pg.psql("SELECT pg_reload_conf();")

    def test_pg_net_settings_only_from_the_configuration(self):
        """A database owner's ALTER DATABASE ... SET pg_net.ttl reaches the
        worker (it connects to that database) but is ignored: only the
        configuration files may shorten every role's retention."""
        db = self.pg.db
        self.pg.psql("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'dbowner')"
                     " THEN CREATE ROLE dbowner LOGIN; END IF; END $$;"
                     " ALTER DATABASE %s OWNER TO dbowner;" % db)
        try:
            # 16 and later let an owner set a placeholder as USER SET; 15 has
            # no such clause and lets only superusers set placeholders
            try:
                self.pg.psql("ALTER DATABASE %s SET pg_net.ttl = '1 hour' USER SET;" % db, user="dbowner")
            except SqlError as e:
                if e.sqlstate != "42601":
                    raise
                try:
                    self.pg.psql("ALTER DATABASE %s SET pg_net.ttl = '1 hour';" % db, user="dbowner")
                except SqlError as e2:
                    expect(e2.sqlstate == "42501", "15 refuses a database owner's placeholder: %s" % e2)
                    return "this major lets no database owner set pg_net.ttl (42501)"
            # the worker reads database settings when it connects
            self.pg.psql("SELECT net.worker_restart(); SELECT net.wait_until_running();", timeout=60)
            ids = [int(self.pg.psql("SELECT net.http_get(%s);" % lit(self.mock + "/status/200")))
                   for _ in range(2)]
            for id in ids:
                self.net_collect(id)
            self.pg.psql("UPDATE http.queue SET finished_at = now() - interval '2 hours'"
                         " WHERE id IN (%d, %d); SELECT pg_reload_conf();" % tuple(ids))
            time.sleep(3)
            left = self.pg.psql("SELECT count(*) FROM http.queue WHERE id IN (%d, %d);" % tuple(ids))
            expect(left == "2", "a database owner's pg_net.ttl is ignored: %s of 2 left" % left)
        finally:
            self.pg.psql("ALTER DATABASE %s RESET pg_net.ttl; ALTER DATABASE %s OWNER TO postgres;"
                         " SELECT net.worker_restart(); SELECT net.wait_until_running();" % (db, db),
                         timeout=60)

    def test_multipart_delivered(self):
        """A queued multipart request (and a queued form with a query) is
        delivered with its body built when it is sent: the mock server's
        strict parser gets every part back byte for byte (every byte 0..255,
        delimiter-like lines, a name that tries to inject a header)."""
        from scenarios import check_multipart_echo, multipart_test_parts
        parts = [p[0] for p in multipart_test_parts()]
        id = int(self.pg.psql("SELECT http.enqueue(%s::jsonb);" % lit(json.dumps(
            {"method": "POST", "url": self.mock + "/multipart?via=enqueue", "multipart": parts}))))
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["status"] == 200, "delivered: %r" % r)
        check_multipart_echo(json.loads(r["body"]), "http.enqueue")
        # a form and a query in a queued document: what reached the server
        id = int(self.pg.psql("SELECT http.enqueue(%s::jsonb);" % lit(json.dumps(
            {"method": "POST", "url": self.mock + "/sink/queued-form", "query": {"a": "b c"},
             "form": {"x": ["1", "2"], "y": "~"}}))))
        r = self.await_row(id)
        expect(r["state"] == "delivered" and r["body"] == "ok queued-form", "form delivered: %r" % r)
        sent = json.loads(mock_get(self.env, "/__stats"))["bodies"].get("/sink/queued-form")
        expect(sent == hashlib.md5(b"x=1&x=2&y=%7E").hexdigest(),
               "the queued form's body on the wire (md5 %s)" % sent)
        return "parts parsed back, form body as encoded"

    def test_crash_loses_nothing(self):
        """kill -9 the postmaster while 5,000 requests are being delivered."""
        mock_get(self.env, "/__reset")
        n = 5000
        self.pg.psql("TRUNCATE http.queue;")
        self.pg.psql("SELECT http.enqueue('GET', '%s/sink/crash-' || i || '?ms=20')"
                     " FROM generate_series(1, %d) i;" % (self.mock, n))
        wait_for(lambda: int(self.pg.psql("SELECT count(*) FROM http.queue WHERE state = 'delivered';"))
                 >= 500, "500 deliveries before the crash")
        before = self.pg.psql("SELECT count(*) FILTER (WHERE state = 'delivered'),"
                              " count(*) FILTER (WHERE state = 'sending') FROM http.queue;")
        self.pg.kill9_postmaster()
        self.pg.start()
        wait_for(lambda: self.pg.psql("SELECT count(*) FROM http.queue"
                                      " WHERE state IN ('queued', 'sending');") == "0",
                 "every request finished after the restart", timeout=180, step=0.5)
        total, delivered, marked = [int(x) for x in self.pg.psql(
            "SELECT count(*), count(*) FILTER (WHERE state = 'delivered'),"
            " count(*) FILTER (WHERE possible_duplicate) FROM http.queue;").split("|")]
        expect(total == n and delivered == n, "all %d delivered: %d of %d" % (n, delivered, total))
        c = mock_counts(self.env)
        ids = self.pg.psql("SELECT id, possible_duplicate, request->>'url' FROM http.queue;")
        missing, unmarked, dups = [], [], 0
        for line in ids.splitlines():
            id, dup, url = line.split("|")
            path = url.split(str(self.env.mock_port), 1)[1].split("?")[0]
            seen = c.get(path, 0)
            if seen == 0:
                missing.append(id)
            if seen >= 2:
                dups += 1
                if dup != "t":
                    unmarked.append(id)
        expect(not missing, "every request reached the server: %d never did" % len(missing))
        expect(not unmarked, "every duplicate is marked possible_duplicate: %d are not"
               % len(unmarked))
        d, s = before.split("|")
        return ("%d requests, killed with %s delivered and %s sending; after restart all "
                "delivered; %d sent twice, %d marked possible duplicates"
                % (n, d, s, dups, marked))

    def test_worker_kill(self):
        """kill -9 a delivery worker alone: the server restarts it, nothing is lost."""
        mock_get(self.env, "/__reset")
        n = 1000
        self.pg.psql("TRUNCATE http.queue;")
        self.pg.psql("SELECT http.enqueue('GET', '%s/sink/wk-' || i || '?ms=20')"
                     " FROM generate_series(1, %d) i;" % (self.mock, n))
        wait_for(lambda: int(self.pg.psql("SELECT count(*) FROM http.queue WHERE state = 'delivered';"))
                 >= 100, "100 deliveries before the kill")
        pid = int(self.pg.psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_http worker';"))
        os.kill(pid, signal.SIGKILL)
        # the postmaster resets every backend after a child's crash: reconnect
        time.sleep(1)

        def finished():
            try:
                return self.pg.psql("SELECT count(*) FROM http.queue"
                                    " WHERE state IN ('queued', 'sending');") == "0"
            except SqlError:
                return False
        wait_for(finished, "every request finished after the worker's restart",
                 timeout=180, step=0.5)
        total, delivered = [int(x) for x in self.pg.psql(
            "SELECT count(*), count(*) FILTER (WHERE state = 'delivered') FROM http.queue;"
        ).split("|")]
        c = mock_counts(self.env)
        never = sum(1 for i in range(1, n + 1) if c.get("/sink/wk-%d" % i, 0) == 0)
        expect(total == n and delivered == n and never == 0,
               "all delivered: %d of %d, %d never sent" % (delivered, total, never))

    def test_two_workers_share_the_queue(self):
        """Two workers on one database: SKIP LOCKED splits the work, each
        request is sent exactly once, and both take part."""
        self.pg.psql("ALTER SYSTEM SET pg_http.workers = 2;")
        self.pg.stop()
        self.pg.start()
        wait_for(lambda: self.pg.psql("SELECT count(*) FROM pg_stat_activity"
                                      " WHERE backend_type = 'pg_http worker';") == "2",
                 "two delivery workers", timeout=30)
        mock_get(self.env, "/__reset")
        n = 2000
        self.pg.psql("TRUNCATE http.queue;")
        self.pg.psql("SELECT http.enqueue('GET', '%s/sink/two-' || i || '?ms=5')"
                     " FROM generate_series(1, %d) i;" % (self.mock, n))
        seen = set()

        def sample():
            for w in self.pg.psql("SELECT DISTINCT worker FROM http.queue WHERE state = 'sending';"
                                  ).split():
                seen.add(w)
            return self.pg.psql("SELECT count(*) FROM http.queue WHERE state IN ('queued', 'sending');") == "0"
        wait_for(sample, "2,000 requests delivered by two workers", timeout=120, step=0.02)
        c = mock_counts(self.env)
        counts = [c.get("/sink/two-%d" % i, 0) for i in range(1, n + 1)]
        delivered = self.pg.psql("SELECT count(*) FROM http.queue WHERE state = 'delivered';")
        expect(delivered == str(n), "all delivered: %s" % delivered)
        expect(all(x == 1 for x in counts), "each sent exactly once: %d not once"
               % sum(1 for x in counts if x != 1))
        expect(len(seen) == 2, "both workers were seen sending: %r" % sorted(seen))
        return "workers seen sending: %s" % ", ".join(sorted(seen))

    def test_ordering_key_under_two_workers_and_retries(self):
        """Requests of one role with one ordering_key go one at a time, in
        enqueue order, with two workers and retries: each is sent only after
        the one before it is delivered or has failed for good (a failure
        does not stop the rest).  Other keys run alongside."""
        pg = self.pg
        expect(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_http worker';") == "2",
               "two workers (from the test before)")
        mock_get(self.env, "/__reset")
        docs = []
        for i in range(1, 13):
            if i == 6:
                url, opts = "/status/500", {"max_attempts": 2, "backoff_ms": 50}
            elif i % 2:
                url, opts = "/flaky/ord-%d?fail=1&status=503" % i, {"max_attempts": 3, "backoff_ms": 50}
            else:
                url, opts = "/sink/ord-%d?ms=20" % i, {}
            opts["ordering_key"] = "invoice-7"
            docs.append({"url": self.mock + url, "options": opts})
        others = [{"url": self.mock + "/sink/other-%d?ms=20" % i, "options": {"ordering_key": "other-%d" % (i % 3)}}
                  for i in range(12)]
        pg.psql("SELECT http.enqueue(d) FROM jsonb_array_elements(%s) d;" % lit(json.dumps(docs + others)))
        wait_for(lambda: pg.psql("SELECT count(*) FROM http.queue WHERE state IN ('queued', 'sending');") == "0",
                 "all delivered or failed", timeout=60)
        rows = [r.split("|") for r in pg.psql(
            "SELECT id, state, attempts, extract(epoch FROM first_sent_at), extract(epoch FROM finished_at)"
            " FROM http.queue WHERE ordering_key = 'invoice-7' ORDER BY id;").splitlines()]
        expect(len(rows) == 12, "12 ordered requests: %r" % rows)
        for prev, cur in zip(rows, rows[1:]):
            expect(float(cur[3]) >= float(prev[4]),
                   "request %s sent before %s had finished: %r %r" % (cur[0], prev[0], prev, cur))
        states = [(r[1], r[2]) for r in rows]
        expect(states[5] == ("failed", "2") and all(s == "delivered" for s, _ in states[:5] + states[6:]),
               "the sixth failed for good, the rest went on: %r" % states)
        expect(all(states[i][1] == "2" for i in range(0, 12, 2)),
               "the flaky ones took a retry each: %r" % states)
        span = pg.row("SELECT extract(epoch FROM max(finished_at) - min(first_sent_at)) FROM http.queue"
                      " WHERE ordering_key LIKE 'other-%';")
        chain = float(rows[-1][4]) - float(rows[0][3])
        expect(float(span[0]) < chain, "other keys ran alongside: %.2f s vs %.2f s" % (float(span[0]), chain))
        return "12 in order over %.2f s with 7 retries and a failure; 12 of 3 other keys in %.2f s" % (
            chain, float(span[0]))

    def test_standby_then_promotion(self):
        """On a hot standby made with pg_basebackup -R: synchronous calls
        work, http.enqueue fails at once with 25006, no delivery worker runs;
        after promotion (no restart) the workers deliver what was queued on
        the primary and what is queued now.  Last: it stops the primary."""
        env = self.env
        mock_get(env, "/__reset")
        queued = self.enqueue("/sink/before-promotion", options={"delay_ms": 8000})
        standby = AsyncCluster(env, self.free_port, name="standby")
        r = subprocess.run(env.pg_cmd([os.path.join(env.bindir, "pg_basebackup"), "-h", env.work,
                                       "-p", str(self.pg.port), "-U", "postgres", "-D",
                                       standby.data, "-R", "-X", "stream", "-c", "fast"]),
                           capture_output=True, text=True)
        expect(r.returncode == 0, "pg_basebackup -R: %s" % r.stderr[-500:])
        with open(os.path.join(standby.data, "postgresql.conf"), "a") as f:
            f.write("\nport = %d\n" % standby.port)
        try:
            standby.start()
            # the primary stops before the queued request falls due: only a
            # promoted standby can deliver it
            self.pg.stop()
            expect(standby.psql("SELECT pg_is_in_recovery();") == "t", "a standby")
            got = standby.psql("SELECT (http.get('%s/sink/on-standby')).status;" % self.mock)
            expect(got == "200", "a synchronous call works on a standby: %s" % got)
            err = expect_error(lambda: standby.psql(
                "SELECT http.enqueue('GET', '%s/sink/never');" % self.mock), "25006",
                "http.enqueue on a standby")
            expect("primary" in err, "the hint names the primary: %s" % err)
            time.sleep(1)
            workers = standby.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type"
                                   " IN ('pg_http worker', 'pg_http callback worker');")
            expect(workers == "0", "no worker runs on a standby: %s" % workers)
            expect("/sink/before-promotion" not in mock_counts(env), "nothing sent yet")
            r = subprocess.run(env.pg_cmd([os.path.join(env.bindir, "pg_ctl"), "-D", standby.data,
                                           "-w", "promote"]), capture_output=True, text=True)
            expect(r.returncode == 0, "promoted: %s" % r.stderr)
            wait_for(lambda: int(standby.psql("SELECT count(*) FROM pg_stat_activity"
                                              " WHERE backend_type = 'pg_http worker';")) >= 1,
                     "the delivery workers after promotion", timeout=60)
            row = standby.psql("SELECT state FROM http.await(%d, 30000);" % queued)
            expect(row == "delivered", "the request queued on the primary is delivered: %s" % row)
            new = int(standby.psql("SELECT http.enqueue('GET', '%s/sink/after-promotion');"
                                   % self.mock))
            row = standby.psql("SELECT state FROM http.await(%d, 30000);" % new)
            expect(row == "delivered", "a request queued after promotion is delivered: %s" % row)
            c = mock_counts(env)
            expect(c.get("/sink/before-promotion") == 1 and c.get("/sink/after-promotion") == 1
                   and "/sink/never" not in c, "each sent once: %r" % c)
        finally:
            standby.stop()
        return "standby %d, promoted without a restart" % standby.port


def lit(v):
    if v is None:
        return "NULL"
    return "'" + str(v).replace("'", "''") + "'"


def test_names(cls):
    """The test_* methods of a suite class, in the order they are written."""
    return [n[len("test_"):] for n in vars(cls) if n.startswith("test_")]


def run_tests(s, pg, suite, results):
    """Run every test_* method of suite object s in the order written, one
    result line each; a test that left the cluster stopped gets it
    started again for the next."""
    for name in test_names(type(s)):
        t0 = time.time()
        try:
            note = getattr(s, "test_" + name)() or ""
            results.add(suite, name, True,
                        ("%s; " % note if note else "") + "%.1f s" % (time.time() - t0))
        except Exception as e:
            traceback.print_exc()
            results.add(suite, name, False, str(e)[:400])
            if not pg.started:
                pg.start()


def run_async(env, results, free_port):
    pg = AsyncCluster(env, free_port)
    suite = "async-" + env.transport
    try:
        pg.start(first=True)
        pg.psql("CREATE DATABASE %s;" % DB, db="postgres")
        pg.psql("CREATE EXTENSION pg_http;")
        s = Suite(env, pg, free_port)
        # the worker finds the new extension within its 5 s poll
        wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity"
                                 " WHERE backend_type = 'pg_http worker';") == "1",
                 "the delivery worker", timeout=30)
        run_tests(s, pg, suite, results)
    except Exception as e:
        traceback.print_exc()
        results.add(suite, "setup", False, str(e)[:300])
    finally:
        pg.stop()
