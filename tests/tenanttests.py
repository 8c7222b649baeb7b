"""Tenant faults: no role can crash, stall or starve the delivery workers.

Each case runs the faulty requests as the role "hostile", beside the role
"innocent", on a cluster of its own that preloads pg_http, and asserts all
three of:

- the server was not restarted: no "terminated by signal" or
  "reinitializing" in the server log since the case began (cases that
  kill -9 a worker on purpose expect exactly that one restart);
- the faulty request ended in a clear state (its row says what happened);
- the innocent role's requests, queued at the same time, were delivered
  promptly (the latency is reported; the bound is generous because these
  machines are shared, the typical figure is milliseconds).

Every wait is bounded; the mock server's per-path counters prove what
reached the wire.
"""

import base64
import json
import os
import signal
import socket
import subprocess
import time
import uuid

from asynctests import AsyncCluster, SqlError, expect, expect_error, lit, mock_counts, \
    mock_get, run_tests, wait_for

DB = "pg_http_tenant"

# An innocent request must be delivered within this many seconds of being
# queued, whatever the hostile role does (typically a few milliseconds).
PROMPT_S = 3.0


class TenantSuite:
    def __init__(self, env, pg):
        self.env = env
        self.pg = pg
        self.mock = "http://127.0.0.1:%d" % env.mock_port
        self.latencies = []
        self.holes = []

    # -- helpers -------------------------------------------------------------

    def crash_marks(self):
        """Lines of the server log that mean a process crashed or the server
        reinitialized, so far."""
        with open(self.pg.log, errors="replace") as f:
            return sum(1 for l in f if "terminated by signal" in l or "reinitializing" in l
                       or "was terminated by" in l)

    def enqueue(self, url, user="hostile", options=None, method="GET", body=None, headers=None):
        return int(self.pg.psql(
            "SELECT http.enqueue(%s, %s, %s, %s, %s);" % (
                lit(method), lit(url), lit(body),
                lit(json.dumps(headers)) + "::jsonb" if headers else "NULL",
                lit(json.dumps(options)) + "::jsonb" if options else "NULL"),
            user=user))

    def row(self, id, timeout_ms=60000):
        out = self.pg.psql(
            "SELECT json_build_object('state', state, 'status', status, 'attempts', attempts,"
            " 'error_code', error_code, 'error', error, 'callback_error', callback_error,"
            " 'callback_pending', callback_pending, 'interrupted', interrupted,"
            " 'possible_duplicate', possible_duplicate, 'final_url', final_url,"
            " 'latency_s', extract(epoch FROM finished_at - created_at),"
            " 'queued_s', extract(epoch FROM first_sent_at - created_at))"
            " FROM http.await(%d, %d);" % (id, timeout_ms))
        return json.loads(out)

    def innocent_send(self, n=3, tag="probe", server=None):
        """Queue n requests as the innocent role at once; return their ids.
        server: another base URL, when the mock server is busy on purpose."""
        if server:
            return [self.enqueue("%s/anything/innocent-%s-%d" % (server, tag, i), user="innocent")
                    for i in range(n)]
        return [self.enqueue("%s/sink/innocent-%s-%s" % (self.mock, tag, uuid.uuid4().hex[:8]),
                             user="innocent") for _ in range(n)]

    def innocent_check(self, ids, what):
        """The innocent requests were delivered promptly; returns the worst
        latency (queued to delivered), in seconds."""
        worst = 0.0
        rows = []
        for id in ids:
            r = self.row(id)
            expect(r["state"] == "delivered" and r["status"] == 200,
                   "%s: the innocent role's request was delivered: %r" % (what, r))
            worst = max(worst, r["latency_s"])
            rows.append(r)
        expect(worst < PROMPT_S, "%s: the innocent role's requests were delivered within %.0f s"
               " (worst %.3f s): %r" % (what, PROMPT_S, worst, rows))
        self.latencies.append((what, worst))
        return worst

    def no_restart(self, marks, what):
        now = self.crash_marks()
        expect(now == marks, "%s: the server was not restarted (%d new crash lines in the log)"
               % (what, now - marks))

    def reload(self, **settings):
        for k, v in settings.items():
            if v is None:
                self.pg.psql("ALTER SYSTEM RESET pg_http.%s;" % k)
            else:
                self.pg.psql("ALTER SYSTEM SET pg_http.%s = %s;" % (k, lit(v)))
        self.pg.psql("SELECT pg_reload_conf();")
        time.sleep(0.3)     # the worker reloads at the top of its loop

    def black_hole(self):
        """A loopback port whose listener never accepts and whose backlog is
        full: connects to it hang until they time out."""
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        fill = []
        for _ in range(4):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fill.append(c)
        self.holes.append((s, fill))
        return port

    def worker_pid(self):
        return int(wait_for(lambda: self.pg.psql(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_http worker';"),
            "the delivery worker", timeout=60))

    def kill9_worker(self):
        """kill -9 the delivery worker; the server restarts every backend
        (that is what a crash does).  Wait until it serves again."""
        pid = self.worker_pid()
        os.kill(pid, signal.SIGKILL)
        time.sleep(1)

        def up():
            try:
                return self.pg.psql("SELECT pid FROM pg_stat_activity"
                                    " WHERE backend_type = 'pg_http worker';") not in ("", str(pid))
            except SqlError:
                return False
        wait_for(up, "the server back with a new delivery worker", timeout=60, step=0.2)

    def clear_hostile(self):
        self.pg.psql("DELETE FROM http.queue WHERE owner = 'hostile'::regrole;")
        wait_for(lambda: self.pg.psql("SELECT count(*) FROM pg_stat_activity a"
                                      " WHERE backend_type = 'pg_http worker';") == "1",
                 "the worker", timeout=30)

    # -- the cases -----------------------------------------------------------

    def test_setup(self):
        self.pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hostile') THEN CREATE ROLE hostile LOGIN; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'innocent') THEN CREATE ROLE innocent LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION http.enqueue(jsonb), http.enqueue(text, text, text, jsonb, jsonb),
  http.await(bigint, integer), http.get(text, jsonb, jsonb) TO hostile, innocent;
GRANT USAGE, CREATE ON SCHEMA public TO hostile, innocent;
CREATE TABLE IF NOT EXISTS public.innocent_log (id bigint, at timestamptz DEFAULT clock_timestamp());
GRANT INSERT, SELECT ON public.innocent_log TO innocent;
CREATE OR REPLACE FUNCTION public.innocent_cb(id bigint, r http.response, err text)
  RETURNS void LANGUAGE sql AS $$ INSERT INTO public.innocent_log (id) VALUES (id) $$;
ALTER FUNCTION public.innocent_cb(bigint, http.response, text) OWNER TO innocent;
""")
        self.innocent_check(self.innocent_send(1, "setup"), "setup")

    def test_redirect_refused_by_acl(self):
        """The reported crash: a redirect hop refused by the role's ACL."""
        marks = self.crash_marks()
        hole = self.black_hole()
        self.pg.psql("SELECT http.acl_grant('hostile', '127.0.0.1', '%d');"
                     "SELECT http.acl_grant('innocent', '127.0.0.1', '%d');"
                     % (self.env.mock_port, self.env.mock_port))
        try:
            bad = self.enqueue("%s/redir/x?to=http://127.0.0.1:%d/ok" % (self.mock, hole),
                               options={"max_redirects": 1})
            ids = self.innocent_send(3, "acl")
            r = self.row(bad)
            expect(r["state"] == "failed" and r["error_code"] == "42501" and
                   'not granted to role "hostile"' in r["error"],
                   "the hop is refused by the ACL, and the role is named: %r" % r)
            self.innocent_check(ids, "redirect refused by ACL")
        finally:
            self.pg.psql("DELETE FROM http.acl; SELECT http.acl_enforce(false);")
        self.no_restart(marks, "redirect refused by ACL")
        return r["error"]

    def test_redirect_refused_by_host_list(self):
        marks = self.crash_marks()
        hole = self.black_hole()
        self.reload(denied_hosts="127.0.0.1:%d" % hole)
        try:
            bad = self.enqueue("%s/redir/x?to=http://127.0.0.1:%d/ok" % (self.mock, hole),
                               options={"max_redirects": 1})
            ids = self.innocent_send(3, "deny")
            r = self.row(bad)
            expect(r["state"] == "failed" and r["error_code"] == "42501" and
                   "denied_hosts" in r["error"], "the hop is refused by the deny list: %r" % r)
            self.innocent_check(ids, "redirect refused by host list")
        finally:
            self.reload(denied_hosts=None)
        self.no_restart(marks, "redirect refused by host list")

    def test_redirect_refused_by_address_guard(self):
        marks = self.crash_marks()
        hole = self.black_hole()
        # the name is allowed, the address it resolves to is not (other port)
        self.reload(allowed_hosts="127.0.0.1:%d, localhost" % self.env.mock_port)
        try:
            bad = self.enqueue("%s/redir/x?to=http://localhost:%d/ok" % (self.mock, hole),
                               options={"max_redirects": 1})
            ids = self.innocent_send(3, "guard")
            r = self.row(bad)
            expect(r["state"] == "failed" and r["error_code"] == "42501" and
                   "private-address guard" in r["error"],
                   "the hop is refused by the address guard: %r" % r)
            self.innocent_check(ids, "redirect refused by address guard")
        finally:
            self.reload(allowed_hosts="127.0.0.1")
        self.no_restart(marks, "redirect refused by address guard")

    def test_redirect_loop(self):
        marks = self.crash_marks()
        mock_get(self.env, "/__reset")
        bad = self.enqueue(self.mock + "/redir-loop", options={"max_redirects": 5})
        ids = self.innocent_send(3, "loop")
        r = self.row(bad)
        expect(r["state"] == "delivered" and r["status"] == 302 and
               r["final_url"].endswith("/redir-loop"),
               "the loop ends at the redirect limit, its last 302 the outcome: %r" % r)
        expect(mock_counts(self.env).get("/redir-loop") == 6, "1 request + 5 hops reached the server")
        self.innocent_check(ids, "redirect loop")
        self.no_restart(marks, "redirect loop")

    def hostile_callback(self, name, body, lang="plpgsql"):
        self.pg.psql(("CREATE OR REPLACE FUNCTION public.%s(id bigint, r http.response, err text)"
                      " RETURNS void LANGUAGE %s AS $cb$ %s $cb$;" % (name, lang, body)),
                     user="hostile")

    def callback_case(self, name, body, what, expect_error_text, n=3):
        """n requests with a hostile callback, then the innocent role's (with
        a callback of its own); both kinds of work go on."""
        marks = self.crash_marks()
        self.hostile_callback(name, body)
        bad = [self.enqueue("%s/sink/%s-%d" % (self.mock, name, i),
                            options={"callback": "public." + name}) for i in range(n)]
        ids = self.innocent_send(3, name)
        cb = self.enqueue("%s/sink/innocent-cb-%s" % (self.mock, name), user="innocent",
                          options={"callback": "public.innocent_cb"})
        self.innocent_check(ids + [cb], what)
        # the innocent callback runs, at most a few hostile callbacks later
        t0 = time.time()
        wait_for(lambda: self.pg.psql("SELECT count(*) FROM public.innocent_log WHERE id = %d;"
                                      % cb) == "1", "the innocent role's callback", timeout=60)
        waited = time.time() - t0
        for id in bad:
            wait_for(lambda: not self.row(id)["callback_pending"], "the hostile callback",
                     timeout=60)
            r = self.row(id)
            expect(r["state"] == "delivered",
                   "%s: the delivery stands: %r" % (what, r))
            if expect_error_text is None:
                expect(r["callback_error"] is None, "%s: the callback ran: %r" % (what, r))
            else:
                expect(expect_error_text in (r["callback_error"] or ""),
                       "%s: the callback's error is recorded: %r" % (what, r))
        self.no_restart(marks, what)
        return bad, "innocent callback ran %.2f s after its delivery" % waited

    def test_callback_raises(self):
        _, note = self.callback_case("cb_raise", "BEGIN RAISE EXCEPTION 'hostile callback'; END",
                                     "callback raises", "hostile callback")
        return note

    def test_callback_sleeps_past_its_limit(self):
        self.reload(callback_timeout="300ms")
        try:
            _, note = self.callback_case("cb_sleep", "BEGIN PERFORM pg_sleep(60); END",
                                         "callback sleeps past its limit",
                                         "canceling statement due to statement timeout")
        finally:
            self.reload(callback_timeout=None)
        return note

    def test_callback_awaits(self):
        far = self.enqueue(self.mock + "/sink/far-away", options={"delay_ms": 3600000})
        self.reload(callback_timeout="300ms")
        try:
            _, note = self.callback_case("cb_await", "BEGIN PERFORM http.await(%d, 600000); END" % far,
                                         "callback calls http.await",
                                         "canceling statement due to statement timeout", n=2)
        finally:
            self.reload(callback_timeout=None)
            self.pg.psql("DELETE FROM http.queue WHERE id = %d;" % far)
        return note

    def test_callback_changes_settings(self):
        """A callback's SETs are its own: the deliveries in flight beside it,
        and the next ones, keep their settings and connections."""
        slow = self.enqueue(self.mock + "/sink/innocent-inflight?ms=1500", user="innocent")
        bad, note = self.callback_case(
            "cb_settings",
            "BEGIN SET pg_http.keepalive = off; PERFORM set_config('pg_http.timeout', '1', false);"
            " PERFORM set_config('search_path', 'nowhere', false); END",
            "callback changes pg_http settings", None, n=2)
        r = self.row(slow)
        expect(r["state"] == "delivered" and r["attempts"] == 1 and not r["possible_duplicate"],
               "the innocent request in flight meanwhile was delivered once: %r" % r)
        # a later one with the default timeout still works (1 ms would fail it)
        later = self.enqueue(self.mock + "/sink/innocent-after?ms=50", user="innocent")
        rl = self.row(later)
        expect(rl["state"] == "delivered", "later deliveries keep the settings: %r" % rl)
        return note

    def test_callback_makes_its_own_http_call(self):
        mock_get(self.env, "/__reset")
        _, note = self.callback_case(
            "cb_call", "BEGIN PERFORM http.get('%s/sink/from-callback'); END" % self.mock,
            "callback makes its own HTTP call", None, n=2)
        expect(mock_counts(self.env).get("/sink/from-callback") == 2,
               "each callback's own call reached the server once")
        # and its own call obeys the policy like any other: refused here
        marks = self.crash_marks()
        self.hostile_callback("cb_call_refused", "BEGIN PERFORM http.get('http://10.9.9.9/'); END")
        bad = self.enqueue(self.mock + "/sink/cb-call-refused",
                           options={"callback": "public.cb_call_refused"})
        self.row(bad)
        wait_for(lambda: not self.row(bad)["callback_pending"], "the callback", timeout=30)
        r = self.row(bad)
        expect("not allowed by pg_http.allowed_hosts" in (r["callback_error"] or ""),
               "the callback's call is refused by the policy: %r" % r)
        self.no_restart(marks, "callback's refused call")
        return note

    def test_large_responses_finishing_together(self):
        """17 responses of almost 64 MB, finishing together: recorded in
        bounded chunks, not one allocation for all."""
        marks = self.crash_marks()
        pid = self.worker_pid()
        size = 64 * 1024 * 1024 - 1024
        big = [self.enqueue("%s/text/%d?i=%d" % (self.mock, size, i)) for i in range(17)]
        time.sleep(0.2)
        # the mock server is busy writing 1 GB: the innocent role asks httpbin
        ids = self.innocent_send(3, "large", server="http://127.0.0.1:%d" % self.env.httpbin_port)
        for id in big:
            r = self.row(id, timeout_ms=120000)
            expect(r["state"] == "delivered" and r["status"] == 200,
                   "a large response was delivered: %r" % r)
        n = self.pg.psql("SELECT count(*) FROM http.queue WHERE id IN (%s) AND"
                         " pg_catalog.length(response_body) = %d;"
                         % (",".join(map(str, big)), size))
        expect(n == "17", "every body recorded whole: %s of 17" % n)
        self.innocent_check(ids, "17 large responses finishing together")
        expect(self.worker_pid() == pid, "the same worker delivered them all")
        self.pg.psql("DELETE FROM http.queue WHERE id IN (%s);" % ",".join(map(str, big)))
        self.no_restart(marks, "large responses")

    def test_black_hole_flood(self):
        """10,000 requests to black holes from one role (on five ports, so
        the per-host cap does not save the day), 10 normal ones from
        another."""
        marks = self.crash_marks()
        ports = [self.black_hole() for _ in range(5)]
        self.pg.psql("SELECT http.enqueue('GET', 'http://127.0.0.1:' || (ARRAY[%s])[1 + i %% 5]"
                     " || '/x' || i, NULL, NULL,"
                     " '{\"connect_timeout_ms\": 4000, \"max_attempts\": 1}')"
                     " FROM generate_series(1, 10000) i;" % ",".join(map(str, ports)),
                     user="hostile")
        wait_for(lambda: int(self.pg.psql(
            "SELECT count(*) FROM http.queue WHERE state = 'sending'"
            " AND owner = 'hostile'::regrole;")) >= 50, "the hostile role's requests in flight")
        held = int(self.pg.psql("SELECT count(*) FROM http.queue WHERE state = 'sending'"
                                " AND owner = 'hostile'::regrole;"))
        ids = self.innocent_send(10, "flood")
        worst = self.innocent_check(ids, "10,000 requests to black holes")
        expect(held <= 112, "the hostile role held at most its share of slots: %d" % held)
        self.clear_hostile()
        self.no_restart(marks, "black-hole flood")
        return "hostile role held %d slots; innocent worst %.3f s" % (held, worst)

    def test_dns_flood(self):
        """Hundreds of names whose resolution hangs, from one role, beside
        another role's requests to a name."""
        marks = self.crash_marks()
        self.reload(allowed_hosts="127.0.0.1, *.slow.test, localhost")
        try:
            self.pg.psql("SELECT http.enqueue('GET', 'http://h' || i || '.slow.test/', NULL, NULL,"
                         " '{\"max_attempts\": 1}') FROM generate_series(1, 300) i;",
                         user="hostile")
            time.sleep(0.5)
            ids = [self.enqueue("http://localhost:%d/sink/innocent-dns-%d" % (self.env.mock_port, i),
                                user="innocent", options={"max_attempts": 1}) for i in range(5)]
            worst = self.innocent_check(ids, "300 hanging name resolutions")
            # the hostile role's lookups beyond its share of the resolver fail at once
            shares = wait_for(lambda: int(self.pg.psql(
                "SELECT count(*) FROM http.queue WHERE owner = 'hostile'::regrole"
                " AND error_code = '53000';")), "the hostile role refused resolver slots",
                timeout=15)
        finally:
            self.clear_hostile()
            self.reload(allowed_hosts="127.0.0.1")
        self.no_restart(marks, "DNS flood")
        return "hostile requests refused a resolver slot: %s; innocent worst %.3f s" % (shares, worst)

    def test_bad_values_at_the_door(self):
        for opts, what in (({"delay_ms": 10 ** 15}, "a huge delay_ms"),
                           ({"delay_ms": 366 * 86400 * 1000}, "delay_ms over a year"),
                           ({"not_before": "infinity"}, "not_before infinity"),
                           ({"not_before": "2999-01-01 00:00:00+00"}, "not_before centuries ahead")):
            expect_error(lambda: self.enqueue(self.mock + "/sink/never", options=opts),
                         "22023", what)
        n = self.pg.psql("SELECT count(*) FROM http.queue WHERE request->>'url' LIKE '%/sink/never';")
        expect(n == "0", "nothing queued by refused calls")
        ok = self.enqueue(self.mock + "/sink/in-a-month", options={"delay_ms": 30 * 86400 * 1000})
        self.pg.psql("DELETE FROM http.queue WHERE id = %d;" % ok)

    def test_invalid_utf8_in_a_header(self):
        marks = self.crash_marks()
        raw = (b"HTTP/1.1 200 OK\r\nX-Bad: caf\xe9 \xff\xfe end\r\nContent-Type: text/plain\r\n"
               b"Content-Length: 2\r\n\r\nok")
        bad = self.enqueue("%s/raw?b=%s" % (self.mock, base64.urlsafe_b64encode(raw).decode()))
        ids = self.innocent_send(2, "utf8")
        r = self.row(bad)
        expect(r["state"] == "delivered", "a response with bytes that are not UTF-8 is delivered: %r" % r)
        v = self.pg.psql("SELECT headers->>'x-bad' FROM http.results WHERE id = %d;" % bad)
        expect(v == "caf\u00e9 \u00ff\u00fe end",
               "the header's bytes are read as ISO-8859-1, valid text now: %r" % v)
        self.innocent_check(ids, "invalid UTF-8 header")
        self.no_restart(marks, "invalid UTF-8 header")

    def test_owner_dropped(self):
        marks = self.crash_marks()
        self.pg.psql("""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'leaver') THEN CREATE ROLE leaver LOGIN; END IF;
END $$;
GRANT EXECUTE ON FUNCTION http.enqueue(jsonb), http.enqueue(text, text, text, jsonb, jsonb) TO leaver;
""")
        ids = [self.enqueue(self.mock + "/sink/leaver-%d" % i, user="leaver",
                            options={"delay_ms": 1500}) for i in range(3)]
        self.pg.psql("DROP OWNED BY leaver; DROP ROLE leaver;")
        probe = self.innocent_send(2, "dropped")
        for id in ids:
            r = self.row(id)
            expect(r["state"] == "failed" and r["error_code"] == "42704" and
                   "no longer exists" in r["error"], "a dropped owner's request fails: %r" % r)
        self.innocent_check(probe, "owner dropped")
        self.no_restart(marks, "owner dropped")

    def test_kill9_mid_fault(self):
        """kill -9 of the delivery worker in the middle of each kind of
        fault: the server restarts once, every faulty request ends in a
        clear state, the innocent role's are delivered."""
        self.hostile_callback("cb_slow", "BEGIN PERFORM pg_sleep(60); END")
        self.reload(callback_timeout="300ms")
        hole = self.black_hole()
        notes = []
        try:
            for name, make in (
                    ("redirect refused", lambda: [self.enqueue(
                        "%s/redir/x?to=http://10.1.1.1/" % self.mock, options={"max_redirects": 1})]),
                    ("black holes", lambda: [self.enqueue(
                        "http://127.0.0.1:%d/x%d" % (hole, i),
                        options={"connect_timeout_ms": 2000, "max_attempts": 2, "backoff_ms": 10})
                        for i in range(20)]),
                    ("slow callbacks", lambda: [self.enqueue(
                        "%s/sink/k9-cb-%d?ms=300" % (self.mock, i),
                        options={"callback": "public.cb_slow"}) for i in range(3)]),
                    ("large responses", lambda: [self.enqueue(
                        "%s/text/%d?k=%d" % (self.mock, 32 << 20, i)) for i in range(4)]),
                    ("redirect loop", lambda: [self.enqueue(
                        self.mock + "/redir-loop", options={"max_redirects": 5})])):
                marks = self.crash_marks()
                bad = make()
                probe = self.innocent_send(2, "k9")
                time.sleep(0.15)
                self.kill9_worker()
                after = self.innocent_send(2, "k9-after")
                for id in bad:
                    r = self.row(id, timeout_ms=120000)
                    expect(r["state"] in ("delivered", "failed") and
                           (r["state"] == "delivered" or r["error_code"]),
                           "%s: a clear final state after the kill: %r" % (name, r))
                for id in probe:
                    r = self.row(id)
                    expect(r["state"] == "delivered", "%s: queued before the kill, delivered: %r"
                           % (name, r))
                self.innocent_check(after, "after kill -9 (%s)" % name)
                new = self.crash_marks() - marks
                expect(1 <= new <= 3, "%s: the kill restarted the server once (%d crash lines)"
                       % (name, new))
                notes.append(name)
        finally:
            self.reload(callback_timeout=None)
            self.pg.psql("DELETE FROM http.queue WHERE state IN ('delivered', 'failed')"
                         " AND request->>'url' LIKE '%/text/%';")
        return ", ".join(notes)

    def test_worker_that_keeps_dying(self):
        """A request in flight at three abnormal worker exits is failed, not
        sent forever, and the worker backs off and says so."""
        marks = self.crash_marks()
        mock_get(self.env, "/__reset")
        bad = self.enqueue(self.mock + "/sink/poison?ms=20000", options={"max_attempts": 10})
        for k in range(3):
            wait_for(lambda: self.pg.psql("SELECT state FROM http.queue WHERE id = %d;" % bad)
                     == "sending", "the request in flight", timeout=90, step=0.1)
            self.kill9_worker()
        r = self.row(bad, timeout_ms=60000)
        expect(r["state"] == "failed" and r["error_code"] == "57P02" and r["interrupted"] == 3
               and "3 times" in r["error"], "failed after three interruptions: %r" % r)
        with open(self.pg.log, errors="replace") as f:
            log = f.read()
        expect("waiting" in log and "before sending again" in log,
               "the worker logged its back-off")
        expect(mock_counts(self.env).get("/sink/poison", 0) == 3,
               "sent three times, not forever")
        self.innocent_check(self.innocent_send(2, "poison"), "after the poison request")
        expect(self.crash_marks() - marks <= 9, "three restarts, no storm")
        return r["error"]

    def test_dump_and_restore(self):
        """pg_dump of the database with a used queue restores cleanly."""
        env = self.env
        dump = os.path.join(env.work, "tenant.dump")
        if os.path.exists(dump):
            os.unlink(dump)
        subprocess.run([os.path.join(env.bindir, "pg_dump"), "-Fc", "-h", env.work, "-p",
                        str(self.pg.port), "-U", "postgres", "-f", dump, DB], check=True,
                       capture_output=True)
        self.pg.psql("DROP DATABASE IF EXISTS pg_http_restored;", db="postgres")
        self.pg.psql("CREATE DATABASE pg_http_restored;", db="postgres")
        r = subprocess.run([os.path.join(env.bindir, "pg_restore"), "-h", env.work, "-p",
                            str(self.pg.port), "-U", "postgres", "-d", "pg_http_restored",
                            "--exit-on-error", dump], capture_output=True, text=True)
        expect(r.returncode == 0, "pg_restore succeeded: %s" % r.stderr[-500:])
        q = ("SELECT count(*), md5(string_agg(id || state || coalesce(response_headers::text, '')"
             " || coalesce(error, ''), ',' ORDER BY id)) FROM http.queue;")
        a = self.pg.psql(q)
        b = self.pg.psql(q, db="pg_http_restored")
        expect(a == b and not a.startswith("0|"), "the restored queue is the same: %s vs %s" % (a, b))
        self.pg.psql("DROP DATABASE pg_http_restored;", db="postgres")
        return "%s rows" % a.split("|")[0]


def run_tenant(env, results, free_port):
    import traceback
    pg = AsyncCluster(env, free_port, name="tenant", db=DB)
    suite = "tenant-" + env.transport
    s = None
    try:
        pg.start(first=True)
        pg.psql("CREATE DATABASE %s;" % DB, db="postgres")
        pg.psql("CREATE EXTENSION pg_http;")
        s = TenantSuite(env, pg)
        wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity"
                                 " WHERE backend_type IN ('pg_http worker', 'pg_http callback worker');")
                 == "2", "the delivery and callback workers", timeout=30)
        run_tests(s, pg, suite, results)
        print("# innocent role's worst delivery latency per case: " +
              "; ".join("%s %.1f ms" % (w, 1000 * l) for w, l in s.latencies), flush=True)
    except Exception as e:
        traceback.print_exc()
        results.add(suite, "setup", False, str(e)[:300])
    finally:
        pg.stop()
        if s:
            for sock, fill in s.holes:
                for c in fill:
                    c.close()
                sock.close()
