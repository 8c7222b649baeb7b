#!/usr/bin/env python3
"""pg_http benchmarks: latency and throughput, with floors and peers.

  bench/run                       every transport, 5 s x 3 repetitions per item
  bench/run --transport mbedtls   one transport (repeat the flag for more)
  bench/run --smoke               a few seconds per item: proves the scripts work
  bench/run --duration 10 --reps 5

It sets up everything on loopback: a throwaway cluster (or --pg-host/--pg-port
for a given one), nginx with bench/nginx.conf.in (tiny fixed response,
keep-alive; HTTP, HTTPS and HTTP/2 with a certificate made for the run) and
the mock server's delay endpoint for fan-out.  It builds and installs each
transport in turn, runs the pgbench scripts in bench/sql (-n -M prepared,
fixed duration, the median of the repetitions), and always measures in the
same run: the database floor (SELECT 1), the HTTP floor (wrk against the
same URL with the same connection count) and the peers users would pick
instead: PL/Python (urllib in a plpython3u function) always, and with
--peers DIR, pgsql-http (DIR/pgsql-http, the "http" extension; new
connection per call as it does by default, and with http.keepalive on) and
pg_net (DIR/pg_net; its background worker against the outbox), built from
those source trees with PGXS and installed into the bench's server.  Get the
trees from github.com/pramsey/pgsql-http (tag v1.7.x) and
github.com/supabase/pg_net (tag v0.20.x); without --peers, their rows say
"not installed".

Output: a markdown table printed and written to bench/results/latest.md (or
smoke.md), with the machine described, and a PNG plot (latest.png).
Absolute times vary from run to run on shared machines: read the ratios.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
sys.path.insert(0, os.path.join(ROOT, "tests"))
import cluster  # noqa: E402
from run import free_port, make_test_pki, wait_port  # noqa: E402

TRANSPORTS = ["mock", "mbedtls", "curl"]
def _body_1k():
    """A JSON document of exactly 1024 bytes."""
    doc = {"data": [{"id": i, "name": "item %03d" % i, "ok": True} for i in range(21)], "pad": ""}
    doc["pad"] = "x" * (1024 - len(json.dumps(doc)))
    return json.dumps(doc)


BODY = _body_1k()
assert len(BODY) == 1024

# (key, title, clients, script, url kind, wrk extras)
ITEMS = [
    ("get1", "GET keep-alive, 1 client", 1, "get.sql", "http", {}),
    ("get8", "GET keep-alive, 8 clients", 8, "get.sql", "http", {}),
    ("post1k", "POST 1 KB JSON, 1 client", 1, "post.sql", "http", {"lua": "post.lua"}),
    ("https1", "HTTPS GET keep-alive, 1 client", 1, "get.sql", "https", {}),
    ("https_new", "HTTPS GET, new connection per call", 1, "get_new_connection.sql", "https",
     {"headers": ["Connection: close"]}),
    ("batch100", "batch of 100 requests to a 100 ms endpoint", 1, "batch.sql", "delay", None),
    ("compat1", "GET keep-alive, 1 client, through pgsql_http_compat (http_get)", 1,
     "compat_get.sql", "http", None),
]

# The peers' scripts per pg_http script, and the session settings they run
# with (PGOPTIONS; pgsql-http is loaded with session_preload_libraries so
# that its settings are in place before its first call).
PGSQL_HTTP_OPTS = "-c session_preload_libraries=http -c http.curlopt_cainfo={tls}/ca.pem"
PEERS = {
    "PL/Python": ({"get.sql": "plpython_get.sql", "post.sql": "plpython_post.sql",
                   "get_new_connection.sql": "plpython_get.sql"}, ""),
    "pgsql-http": ({"get.sql": "pgsql_http_get.sql", "post.sql": "pgsql_http_post.sql",
                    "get_new_connection.sql": "pgsql_http_get.sql"}, PGSQL_HTTP_OPTS),
    "pgsql-http keep-alive": ({"get.sql": "pgsql_http_get.sql", "post.sql": "pgsql_http_post.sql"},
                              PGSQL_HTTP_OPTS + " -c http.keepalive=on"),
}


def sh(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


class Bench:
    def __init__(self, args):
        self.args = args
        self.procs = []
        self.pg_started = False
        self.work = os.path.join(ROOT, "build-bench-work")
        pg_config = shutil.which("pg_config") or "/usr/lib/postgresql/15/bin/pg_config"
        self.bindir = sh([pg_config, "--bindir"]).strip()
        self.results = []          # dicts: item, who, lat_ms, tps
        self.async_rows = []       # dicts: who, burst_n, rate, errors, steady_rate, p50, p99
        self.stream_rows = []      # dicts: who, rows, mb, secs, floor_secs
        self.floors = {}           # (item, what) -> (lat_ms, tps)
        self.profiles = {}         # transport -> {"total": Ir, "by_object": {...}}
        self.missing = []          # peers asked about but not installed
        self.compat_ratio = {}     # transport -> pgsql_http_compat http_get / http.get latency
        self.peer_built = {}

    # -- set-up ----------------------------------------------------------------
    def start_process(self, args, name):
        log = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.work,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def setup(self):
        if os.path.exists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(os.path.join(self.work, "tmp"))
        os.chmod(self.work, 0o755)
        self.build_peers()
        self.tls = os.path.join(self.work, "tls")
        make_test_pki(self.tls)

        self.http_port, self.https_port, self.h2_port = free_port(), free_port(), free_port()
        with open(os.path.join(BENCH, "nginx.conf.in")) as f:
            conf = f.read()
        for k, v in (("@WORK@", self.work), ("@TLS@", self.tls), ("@HTTP_PORT@", self.http_port),
                     ("@HTTPS_PORT@", self.https_port), ("@H2_PORT@", self.h2_port)):
            conf = conf.replace(k, str(v))
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(conf)
        # a large NDJSON body for http.get_lines (static, served by nginx)
        files = os.path.join(self.work, "files")
        os.makedirs(files)
        self.stream_n = 200000 if self.args.smoke else 2000000
        with open(os.path.join(files, "rows.ndjson"), "wb") as f:
            for start in range(0, self.stream_n, 10000):
                f.write(b"".join(b'{"id":%d,"name":"row %d","tags":["a","b"],"pad":"%s"}\n'
                                 % (i, i, b"x" * 64) for i in range(start, start + 10000)))
        self.stream_bytes = os.path.getsize(os.path.join(files, "rows.ndjson"))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        ngx = self.start_process([nginx, "-c", os.path.join(self.work, "nginx.conf"),
                                  "-e", os.path.join(self.work, "nginx-error.log")], "nginx")
        wait_port(self.http_port, ngx, "nginx")

        port_file = os.path.join(self.work, "mock.port")
        mock = self.start_process([sys.executable, os.path.join(ROOT, "tests", "mockserver.py"),
                                   "--port-file", port_file], "mockserver")
        deadline = time.time() + 15
        while not os.path.exists(port_file):
            if mock.poll() is not None or time.time() > deadline:
                raise RuntimeError("the mock server did not start")
            time.sleep(0.05)
        self.mock_port = int(open(port_file).read())

        if self.args.pg_host:
            self.pg_host, self.pg_port = self.args.pg_host, self.args.pg_port
        else:
            self.start_cluster()
        self.psql("DROP DATABASE IF EXISTS pg_http_bench", db="postgres")
        self.psql("CREATE DATABASE pg_http_bench", db="postgres")
        with open(os.path.join(BENCH, "sql", "setup.sql")) as f:
            self.psql(f.read())
        # pg_net_compat has a database of its own (pg_net, with --peers, owns
        # schema net in pg_http_bench)
        self.psql("DROP DATABASE IF EXISTS pg_http_bench_net", db="postgres")
        self.psql("CREATE DATABASE pg_http_bench_net", db="postgres")
        self.psql("CREATE EXTENSION pg_http; CREATE EXTENSION pg_net_compat;", db="pg_http_bench_net")
        self.has_pgsql_http = self.psql(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'http'").strip() == "1"
        if self.has_pgsql_http:
            self.psql("CREATE EXTENSION IF NOT EXISTS http")
        # pg_net runs only where it is preloaded (the bench's own cluster, with --peers)
        self.has_pg_net = self.psql(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_net'").strip() == "1" \
            and "pg_net" in self.psql("SHOW shared_preload_libraries")
        if self.has_pg_net:
            self.psql("CREATE EXTENSION IF NOT EXISTS pg_net")

    def start_cluster(self):
        data = os.path.join(self.work, "data")
        cluster.own_workdir(self.work)
        self.pg_host, self.pg_port = self.work, free_port()
        cluster.initdb(self.bindir, data, self.work, self.pg_port, 50, """
pg_http.allowed_hosts = '127.0.0.1, localhost'
pg_http.ca_file = '{tls}/ca.pem'
shared_preload_libraries = '{preload}'
pg_http.worker_databases = 'pg_http_bench, pg_http_bench_net'
pg_net.database_name = 'pg_http_bench'
""".format(tls=self.tls, preload="pg_http, pg_net" if self.peer_built.get("pg_net") else "pg_http"),
                       shared_buffers="128MB", fsync=True)
        cluster.start(self.bindir, data, os.path.join(self.work, "postgres.log"))
        self.data = data
        self.pg_started = True

    def stop(self):
        if self.pg_started:
            cluster.stop(self.bindir, self.data)
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(10)

    def psql(self, sql, db="pg_http_bench"):
        return sh([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                   "-h", self.pg_host, "-p", str(self.pg_port), "-U", "postgres", "-d", db], input=sql)

    def build(self, transport):
        b = os.path.join(ROOT, self.args.build_prefix + transport)
        if not self.args.no_build:
            if not os.path.exists(os.path.join(b, "build.ninja")):
                sh(["meson", "setup", b, "-Dtransport=" + transport])
            sh(["ninja", "-C", b])
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        sh(sudo + ["ninja", "-C", b, "install"])
        if self.pg_started:
            # the server preloads pg_http (for the delivery worker): restart it
            subprocess.run(cluster.server_cmd([os.path.join(self.bindir, "pg_ctl"), "-D", self.data, "-w",
                                               "-l", os.path.join(self.work, "postgres.log"), "restart"]),
                           check=True, stdout=subprocess.DEVNULL)
        got = self.psql("SELECT http.transport()").strip()
        if got != transport:
            raise RuntimeError("installed transport is %s, not %s" % (got, transport))

    # -- measuring ---------------------------------------------------------------
    def url(self, kind):
        return {"http": "http://127.0.0.1:%d/" % self.http_port,
                "https": "https://localhost:%d/" % self.https_port,
                "delay": "http://127.0.0.1:%d/delay/100" % self.mock_port}[kind]

    def defines(self, kind):
        d = ["-D", "url=" + self.url(kind), "-D", "body=" + BODY]
        if kind == "delay":
            d += ["-D", "requests=" + json.dumps([{"url": self.url("delay")}] * 100)]
        return d

    def pgbench_once(self, script, clients, defines, extra=(), pgoptions=""):
        env = dict(os.environ, PGOPTIONS=pgoptions) if pgoptions else None
        r = subprocess.run([os.path.join(self.bindir, "pgbench"), "-n", "-M", "prepared"] + list(extra) +
                           ["-c", str(clients), "-j", str(min(clients, 2)), "-T", str(self.args.duration),
                            "-f", os.path.join(BENCH, "sql", script), "-h", self.pg_host,
                            "-p", str(self.pg_port), "-U", "postgres"] + defines + ["pg_http_bench"],
                           capture_output=True, text=True, env=env)
        out = r.stdout
        if r.returncode != 0:
            raise RuntimeError("pgbench %s failed:\n%s%s" % (script, r.stdout[-2000:], r.stderr[-2000:]))
        lat = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", out)
        if failed and int(failed.group(1)) > 0:
            raise RuntimeError("%s had failed transactions:\n%s" % (script, out))
        return lat, tps

    def wrk_once(self, url, conns, extra):
        args = ["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", "%ds" % self.args.duration, url]
        env = dict(os.environ)
        if extra.get("lua"):
            args += ["-s", os.path.join(BENCH, extra["lua"])]
            env["BENCH_BODY"] = BODY
        for h in extra.get("headers", []):
            args += ["-H", h]
        out = sh(args, env=env)
        m = re.search(r"Latency\s+([\d.]+)(us|ms|s)\b", out)
        lat = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        if re.search(r"Non-2xx or 3xx responses|Socket errors", out):
            raise RuntimeError("wrk saw errors:\n" + out)
        return lat, rps

    def median(self, fn):
        runs = [fn() for _ in range(self.args.reps)]
        return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)

    def record(self, item, who, lat, tps):
        self.results.append({"item": item, "who": who, "lat_ms": lat, "tps": tps})
        print("  %-10s %-22s %9.3f ms %10.1f calls/s" % (item, who, lat, tps), flush=True)

    def measure_floors(self):
        print("floors:", flush=True)
        for c in (1, 8):
            self.floors[("select1", c)] = self.median(
                lambda: self.pgbench_once("select1.sql", c, []))
            print("  SELECT 1, %d client(s): %.3f ms, %.0f tps" % ((c,) + self.floors[("select1", c)]))
        for key, _, clients, script, kind, extra in ITEMS:
            if extra is None:
                continue
            self.floors[("wrk", key)] = self.median(lambda: self.wrk_once(self.url(kind), clients, extra))
            print("  wrk %-10s %.3f ms, %.0f req/s" % ((key,) + self.floors[("wrk", key)]))

    def build_peers(self):
        """Build and install pgsql-http and pg_net from --peers DIR (PGXS,
        in a copy under the work directory), before the cluster starts."""
        self.peer_built = {"pgsql-http": False, "pg_net": False}
        if not self.args.peers:
            return
        pg_config = shutil.which("pg_config") or "/usr/lib/postgresql/15/bin/pg_config"
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        for name in ("pgsql-http", "pg_net"):
            src = os.path.join(self.args.peers, name)
            if not os.path.isdir(src):
                print("peers: %s not found; its rows say \"not installed\"" % src)
                continue
            dst = os.path.join(self.work, "peers", name)
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".git"))
            sh(["make", "-C", dst, "PG_CONFIG=" + pg_config])
            sh(sudo + ["make", "-C", dst, "PG_CONFIG=" + pg_config, "install"])
            self.peer_built[name] = True
            print("peers: built and installed %s" % name, flush=True)

    def measure_peers(self):
        peers = ["PL/Python"] + (["pgsql-http", "pgsql-http keep-alive"] if self.has_pgsql_http else [])
        for peer in peers:
            print("%s:" % peer, flush=True)
            scripts, opts = PEERS[peer]
            opts = opts.format(tls=self.tls)
            for key, _, clients, script, kind, extra in ITEMS:
                pscript = scripts.get(script)
                if pscript is None:
                    continue
                lat, tps = self.median(lambda: self.pgbench_once(pscript, clients, self.defines(kind),
                                                                 pgoptions=opts))
                self.record(key, peer, lat, tps)
        for peer in ("pgsql-http", "pgsql-http keep-alive"):
            if not self.has_pgsql_http:
                self.missing.append(peer)
        self.measure_pg_net()

    def measure_pg_net(self):
        """pg_net's background worker against the same URL: a burst of N
        net.http_get() calls committed at once, delivered/s until the last
        response is stored, with its defaults and with pg_net.batch_size
        1000; errors are responses that are not a 200."""
        if not self.has_pg_net:
            self.missing.append("pg_net")
            return
        print("pg_net:", flush=True)
        n = 2000 if self.args.smoke else 20000
        url = self.url("http")
        for label, batch in (("pg_net", None), ("pg_net, batch_size 1000", 1000)):
            self.psql("ALTER SYSTEM %s; SELECT pg_reload_conf();" % (
                "SET pg_net.batch_size = %d" % batch if batch else "RESET pg_net.batch_size"))
            time.sleep(1)
            rates, errors = [], 0
            for _ in range(self.args.reps):
                self.psql("DELETE FROM net._http_response")
                out = self.psql("SELECT count(net.http_get('%s')) FROM generate_series(1, %d);\n"
                                "SELECT extract(epoch FROM clock_timestamp());" % (url, n))
                committed = float(out.split()[-1])
                deadline = time.time() + 600
                while int(self.psql("SELECT count(*) FROM net._http_response")) < n:
                    if time.time() > deadline:
                        raise RuntimeError("pg_net did not answer %d requests within 600 s" % n)
                    time.sleep(0.05)
                done = time.time()
                errors += int(self.psql("SELECT count(*) FROM net._http_response"
                                        " WHERE status_code IS DISTINCT FROM 200"))
                rates.append(n / (done - committed))
            row = {"who": label, "burst_n": n, "rate": statistics.median(rates), "errors": errors,
                   "steady_target": None, "steady_rate": None, "p50_ms": None, "p99_ms": None}
            self.async_rows.append(row)
            print("  %-10s %-26s %9.0f delivered/s (burst of %d), %d errors"
                  % ("async", label, row["rate"], n, errors), flush=True)
        self.psql("ALTER SYSTEM RESET pg_net.batch_size; SELECT pg_reload_conf();")

    def measure_transport(self, t):
        print("%s:" % t, flush=True)
        self.build(t)
        for key, _, clients, script, kind, extra in ITEMS:
            if kind == "https" and t == "mock":
                continue                # no TLS in the mock transport
            if key == "compat1":
                self.measure_compat(t, script, kind)
                continue
            lat, tps = self.median(lambda: self.pgbench_once(script, clients, self.defines(kind)))
            self.record(key, t, lat, tps)
        if t == "curl":
            # HTTP/2 over TLS, keep-alive: what curl adds over the others
            h2 = ["-D", "url=https://localhost:%d/" % self.h2_port]
            lat, tps = self.median(lambda: self.pgbench_once("get.sql", 1, h2))
            self.record("h2", t, lat, tps)
        self.measure_async(t)
        self.measure_stream(t)
        if not self.args.smoke and t in ("curl", "mbedtls"):
            self.profile(t)

    def measure_stream(self, t):
        """Rows/s of http.get_lines over a large NDJSON body from nginx
        (count(*) in SQL: the rows cross the executor), against the HTTP
        floor: curl fetching the same bytes to /dev/null.  Median of reps."""
        url = "http://127.0.0.1:%d/files/rows.ndjson" % self.http_port
        sql = "SELECT count(*) FROM http.get_lines('%s')" % url

        def ours():
            t0 = time.monotonic()
            n = int(self.psql(sql).strip())
            if n != self.stream_n:
                raise RuntimeError("http.get_lines gave %d rows of %d" % (n, self.stream_n))
            return time.monotonic() - t0

        def floor():
            t0 = time.monotonic()
            sh(["curl", "-s", "-o", "/dev/null", url])
            return time.monotonic() - t0

        secs = statistics.median(ours() for _ in range(self.args.reps))
        fsecs = statistics.median(floor() for _ in range(self.args.reps))
        self.stream_rows.append({"who": t, "rows": self.stream_n, "mb": self.stream_bytes / 1e6,
                                 "secs": secs, "floor_secs": fsecs})

    def measure_compat(self, t, script, kind):
        """The drop-in layer against pg_http's own call, alternating the two
        (get.sql, then the layer's script, reps x 2 times): the ratio of the
        medians is what the layer costs, without the drift of a shared
        machine between two runs far apart."""
        own, compat = [], []
        for _ in range(2 * self.args.reps):
            own.append(self.pgbench_once("get.sql", 1, self.defines(kind)))
            compat.append(self.pgbench_once(script, 1, self.defines(kind)))
        lat = statistics.median(r[0] for r in compat)
        self.record("compat1", t, lat, statistics.median(r[1] for r in compat))
        self.compat_ratio[t] = lat / statistics.median(r[0] for r in own)

    def profile(self, t):
        """Instructions per http.get() call in steady state, by object, under
        callgrind: a cluster of its own runs under valgrind (backends are
        forks of the postmaster, so each is profiled), collecting only
        inside pg_http_get; two sessions make 200 and 1200 keep-alive calls
        and the difference over 1000 calls is one call without the setup."""
        valgrind = shutil.which("valgrind")
        annotate = shutil.which("callgrind_annotate")
        if not valgrind or not annotate:
            print("  profile: skipped (valgrind is not installed)")
            return
        work = os.path.join(self.work, "callgrind-" + t)
        os.makedirs(work)
        cluster.own_workdir(work)
        data, port = os.path.join(work, "data"), free_port()
        cluster.initdb(self.bindir, data, work, port, 10,
                       "pg_http.allowed_hosts = '127.0.0.1'\n")
        log = open(os.path.join(work, "postgres.log"), "w")
        proc = subprocess.Popen(
            cluster.server_cmd([valgrind, "--tool=callgrind", "--collect-atstart=no",
                                "--toggle-collect=pg_http_get",
                                "--callgrind-out-file=%s/callgrind.%%p" % work,
                                os.path.join(self.bindir, "postgres"), "-D", data]),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        psql = [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", work, "-p", str(port), "-U", "postgres", "-d", "postgres"]
        try:
            deadline = time.time() + 300
            while subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", work,
                                  "-p", str(port)]).returncode != 0:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("postgres under callgrind did not start")
                time.sleep(1)
            sh(psql, input="CREATE EXTENSION pg_http;")
            costs = {}
            for n in (200, 1200):
                pid = sh(psql, input="SELECT pg_backend_pid();\n"
                         "SELECT count(http.get('%s')) FROM generate_series(1, %d);"
                         % (self.url("http"), n)).split()[0]
                out = os.path.join(work, "callgrind." + pid)
                deadline = time.time() + 120
                while not (os.path.exists(out) and os.path.getsize(out) > 0 and
                           not os.path.exists("/proc/" + pid)):
                    if time.time() > deadline:
                        raise RuntimeError("no callgrind output for backend %s" % pid)
                    time.sleep(0.5)
                costs[n] = self.callgrind_by_object(annotate, out)
        finally:
            cluster.stop(self.bindir, data)
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        per = {k: (costs[1200].get(k, 0) - costs[200].get(k, 0)) / 1000.0
               for k in set(costs[1200]) | set(costs[200])}
        total = sum(per.values())
        self.profiles[t] = {"total": total, "by_object": per}
        print("  profile %-8s %.0f instructions per call (%s)" % (
            t, total, ", ".join("%s %.0f" % (k, v) for k, v in
                                sorted(per.items(), key=lambda kv: -kv[1]) if v >= 500)), flush=True)

    @staticmethod
    def callgrind_by_object(annotate, path):
        """Instructions (Ir, exclusive) per shared object of a callgrind file."""
        out = subprocess.run([annotate, "--threshold=100", "--inclusive=no", "--auto=no", path],
                             capture_output=True, text=True).stdout
        by = {}
        for line in out.splitlines():
            m = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*)$", line)
            if not m or ":" not in m.group(2):
                continue
            where = m.group(2)
            o = re.search(r"\[([^\]]+)\]\s*$", where)
            obj = os.path.basename(o.group(1)) if o else "postgres"
            for short, pat in (("pg_http", "pg_http"), ("libcurl", "libcurl"),
                               ("TLS", "libssl|libcrypto|libmbed"), ("libc", "libc\\.|libc-"),
                               ("postgres", "postgres")):
                if re.search(pat, obj):
                    obj = short
                    break
            else:
                obj = "other"
            by[obj] = by.get(obj, 0) + int(m.group(1).replace(",", ""))
        return by

    def wait_drained(self, what, timeout=300):
        deadline = time.time() + timeout
        while self.psql("SELECT count(*) FROM http.queue WHERE state IN ('queued', 'sending')"
                        ).strip() != "0":
            if time.time() > deadline:
                raise RuntimeError("the outbox did not drain within %d s (%s)" % (timeout, what))
            time.sleep(0.1)

    def measure_async(self, t):
        """The outbox: a burst queued in one transaction (delivered/s from its
        commit to the last delivery), then a steady enqueue rate from pgbench
        (latency from enqueue, i.e. commit, to delivery)."""
        if not self.pg_started:
            print("  async: skipped (needs the bench's own cluster, which preloads pg_http)")
            return
        deadline = time.time() + 30
        while self.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_http worker'"
                        " AND datname = current_database()").strip() != "1":
            if time.time() > deadline:
                raise RuntimeError("no pg_http delivery worker for the bench database")
            time.sleep(0.2)
        url = self.url("http")
        n = 2000 if self.args.smoke else 100000
        rates, errors = [], 0
        for _ in range(self.args.reps):
            self.psql("TRUNCATE http.queue")
            out = self.psql("SELECT count(http.enqueue('GET', '%s')) FROM generate_series(1, %d);\n"
                            "SELECT extract(epoch FROM clock_timestamp());" % (url, n))
            committed = float(out.split()[-1])
            self.wait_drained("burst")
            ok, bad, last = self.psql(
                "SELECT count(*) FILTER (WHERE state = 'delivered' AND status = 200),"
                " count(*) FILTER (WHERE state <> 'delivered' OR status <> 200),"
                " extract(epoch FROM max(finished_at)) FROM http.queue").split("|")
            errors += int(bad)
            rates.append(int(ok) / (float(last) - committed))
        rate = statistics.median(rates)
        steady = 1000
        self.psql("TRUNCATE http.queue")
        self.pgbench_once("enqueue.sql", 4, ["-D", "url=" + url], extra=["-R", str(steady)])
        self.wait_drained("steady")
        cnt, bad, p50, p99, span = self.psql(
            "SELECT count(*), count(*) FILTER (WHERE state <> 'delivered' OR status <> 200),"
            " percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)),"
            " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)),"
            " extract(epoch FROM max(finished_at) - min(created_at)) FROM http.queue").split("|")
        errors += int(bad)
        row = {"who": t, "burst_n": n, "rate": rate, "errors": errors,
               "steady_target": steady, "steady_rate": int(cnt) / float(span),
               "p50_ms": float(p50) * 1000, "p99_ms": float(p99) * 1000}
        self.async_rows.append(row)
        print("  %-10s %-22s %9.0f delivered/s (burst of %d), steady %d/s: p50 %.2f ms, p99 %.2f ms,"
              " %d errors" % ("async", t, rate, n, steady, row["p50_ms"], row["p99_ms"], errors),
              flush=True)
        self.measure_pg_net_compat(t)

    def measure_pg_net_compat(self, t):
        """pg_net code on pg_http's outbox: the burst pg_net gets (N
        net.http_get() calls committed at once), through pg_net_compat, in
        its own database, delivered/s until the last response is stored."""
        db = "pg_http_bench_net"
        url = self.url("http")
        n = 2000 if self.args.smoke else 20000
        deadline = time.time() + 30
        while self.psql("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_http worker'"
                        " AND datname = current_database()", db=db).strip() != "1":
            if time.time() > deadline:
                raise RuntimeError("no pg_http delivery worker for %s" % db)
            time.sleep(0.2)
        rates, errors = [], 0
        for _ in range(self.args.reps):
            self.psql("TRUNCATE http.queue", db=db)
            out = self.psql("SELECT count(net.http_get('%s')) FROM generate_series(1, %d);\n"
                            "SELECT extract(epoch FROM clock_timestamp());" % (url, n), db=db)
            committed = float(out.split()[-1])
            deadline = time.time() + 600
            while int(self.psql("SELECT count(*) FROM net._http_response", db=db)) < n:
                if time.time() > deadline:
                    raise RuntimeError("pg_net_compat did not answer %d requests within 600 s" % n)
                time.sleep(0.05)
            done = time.time()
            errors += int(self.psql("SELECT count(*) FROM net._http_response"
                                    " WHERE status_code IS DISTINCT FROM 200", db=db))
            rates.append(n / (done - committed))
        label = "pg_net_compat (%s)" % t
        row = {"who": label, "burst_n": n, "rate": statistics.median(rates), "errors": errors,
               "steady_target": None, "steady_rate": None, "p50_ms": None, "p99_ms": None}
        self.async_rows.append(row)
        print("  %-10s %-26s %9.0f delivered/s (burst of %d), %d errors"
              % ("async", label, row["rate"], n, errors), flush=True)

    # -- report ----------------------------------------------------------------
    def lookup(self, item, who):
        for r in self.results:
            if r["item"] == item and r["who"] == who:
                return r
        return None

    def evaluate(self):
        """Ratios and the issue's targets, row by row."""
        s1 = self.floors[("select1", 1)][0]
        rows = []
        for r in self.results:
            item, who = r["item"], r["who"]
            row = dict(r)
            row["floor"] = row["ratio"] = row["vs_py"] = None
            row["target"] = ""
            row["met"] = None
            if ("wrk", item) in self.floors and item != "get8":
                row["floor"] = s1 + self.floors[("wrk", item)][0]
                row["ratio"] = r["lat_ms"] / row["floor"]
            py = self.lookup(item, "PL/Python")
            if py and who != "PL/Python":
                row["vs_py"] = py["lat_ms"] / r["lat_ms"]
            if who in TRANSPORTS:
                if item == "get1":
                    limit = 1.5 if who == "curl" else 1.3
                    row["target"] = "<= %.1fx floor, >= 2x faster than PL/Python" % limit
                    row["met"] = row["ratio"] <= limit and (row["vs_py"] or 0) >= 2
                elif item == "get8":
                    combined = 1.0 / (1.0 / self.floors[("select1", 8)][1] +
                                      1.0 / self.floors[("wrk", "get8")][1])
                    row["floor_tps"] = combined
                    row["ratio"] = r["tps"] / combined
                    row["target"] = ">= 0.6 x combined floor throughput"
                    row["met"] = row["ratio"] >= 0.6
                elif item == "https1":
                    plain = self.lookup("get1", who)
                    row["vs_plain"] = r["lat_ms"] / plain["lat_ms"]
                    row["target"] = "<= 1.3x own plain-HTTP latency (%.2fx)" % row["vs_plain"]
                    row["met"] = row["vs_plain"] <= 1.3
                elif item == "batch100":
                    row["target"] = "<= 150 ms per call"
                    row["met"] = r["lat_ms"] <= 150
                elif item == "compat1":
                    row["vs_plain"] = self.compat_ratio[who]
                    row["target"] = "<= 1.10x http.get() latency, alternating runs (%.2fx)" % row["vs_plain"]
                    row["met"] = row["vs_plain"] <= 1.10
            rows.append(row)
        return rows

    def machine(self):
        cpu = "?"
        for line in sh(["lscpu"]).splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
        mbed = "?"
        try:
            with open("/usr/include/mbedtls/version.h") as f:
                mbed = re.search(r'MBEDTLS_VERSION_STRING\s+"([^"]+)"', f.read()).group(1)
        except OSError:
            pass
        return {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "postgres": self.psql("SHOW server_version").strip(),
            "libcurl": sh(["curl-config", "--version"]).strip(),
            "mbedtls": mbed,
            "nginx": subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip(),
            "pg_http": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                      capture_output=True, text=True).stdout.strip(),
        }

    def report(self, rows):
        m = self.machine()
        titles = {k: t for k, t, *_ in ITEMS}
        titles["h2"] = "HTTPS GET over HTTP/2, keep-alive, 1 client"
        out = ["# pg_http benchmark%s" % (" (smoke run: not for quoting)" if self.args.smoke else ""),
               "",
               "%s; %s, %d cores, Linux %s; PostgreSQL %s; %s; mbedTLS %s; %s; pg_http %s." % (
                   m["date"], m["cpu"], m["cores"], m["kernel"], m["postgres"], m["libcurl"],
                   m["mbedtls"], m["nginx"], m["pg_http"]),
               "pgbench -n -M prepared, %d s per run, median of %d; wrk with the same connection "
               "count against the same URL (nginx, tiny response, keep-alive)." % (
                   self.args.duration, self.args.reps),
               "",
               "Floors: SELECT 1 = %.3f ms (1 client), %.0f tps (8 clients)." % (
                   self.floors[("select1", 1)][0], self.floors[("select1", 8)][1]),
               "A 1-client floor is SELECT 1 latency + wrk latency for the same URL.",
               "",
               "| work | who | latency ms | calls/s | floor ms | ratio to floor | x faster than PL/Python | target | met |",
               "|---|---|---:|---:|---:|---:|---:|---|---|"]
        for key, _, *_ in ITEMS + [("h2", None)]:
            for r in rows:
                if r["item"] != key:
                    continue
                out.append("| %s | %s | %.3f | %.0f | %s | %s | %s | %s | %s |" % (
                    titles[key], r["who"], r["lat_ms"], r["tps"],
                    "%.3f" % r["floor"] if r["floor"] else (
                        "%.0f/s" % r["floor_tps"] if r.get("floor_tps") else ""),
                    "%.2f" % r["ratio"] if r["ratio"] else "",
                    "%.1f" % r["vs_py"] if r["vs_py"] else "",
                    r["target"], "" if r["met"] is None else ("yes" if r["met"] else "**no**")))
        if self.async_rows:
            out += ["", "Outbox (http.enqueue, delivered by one background worker with the default "
                    "settings: 128 in flight, 64 per host) to the same nginx URL. Burst: N requests "
                    "queued in one transaction, delivered/s from its commit to the last delivery "
                    "(median of %d). Steady: pgbench -R enqueues one request per transaction at a rate "
                    "well below the burst figure; latency from enqueue (commit) to delivery, so "
                    "it shows the pipeline, not a queue backing up. pg_net rows (with --peers): "
                    "the same burst through net.http_get() and pg_net's own worker, delivered/s "
                    "from the commit until the last response is stored (polled every 50 ms), "
                    "with its default batch_size (200) and with 1000." % self.args.reps, "",
                    "| transport | burst | delivered/s | steady enqueue rate | delivered/s | "
                    "commit to delivery p50 ms | p99 ms | errors | target >= 5000/s, 0 errors | met |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
            ours = [a for a in self.async_rows if a["who"] in TRANSPORTS]
            for a in ours + [a for a in self.async_rows if a not in ours]:
                if a["who"] not in TRANSPORTS:
                    # a peer: the same burst, its own delivery; no target
                    out.append("| %s | %d | %.0f | | | | | %d | | |" % (
                        a["who"], a["burst_n"], a["rate"], a["errors"]))
                    continue
                met = a["rate"] >= 5000 and a["errors"] == 0
                out.append("| %s | %d | %.0f | %d/s | %.0f | %.2f | %.2f | %d | | %s |" % (
                    a["who"], a["burst_n"], a["rate"], a["steady_target"], a["steady_rate"],
                    a["p50_ms"], a["p99_ms"], a["errors"], "yes" if met else "**no**"))
            if "pg_net" in self.missing:
                out.append("| pg_net | not installed (bench/run --peers DIR) | | | | | | | | |")
        if self.stream_rows:
            out += ["", "Streaming rows: `SELECT count(*) FROM http.get_lines(url)` over a %.0f MB "
                    "NDJSON body (%d lines) from nginx, one backend, median of %d; the floor is curl "
                    "fetching the same bytes to /dev/null (psql's own start is in our time)." % (
                        self.stream_rows[0]["mb"], self.stream_rows[0]["rows"], self.args.reps), "",
                    "| transport | rows/s | MB/s | seconds | curl floor s | ratio to floor |",
                    "|---|---:|---:|---:|---:|---:|"]
            for r in self.stream_rows:
                out.append("| %s | %.0f | %.0f | %.2f | %.2f | %.2f |" % (
                    r["who"], r["rows"] / r["secs"], r["mb"] / r["secs"], r["secs"],
                    r["floor_secs"], r["secs"] / r["floor_secs"]))
        out += ["", "wrk floors: " + "; ".join(
            "%s %.3f ms, %.0f req/s" % (k[1], v[0], v[1]) for k, v in self.floors.items() if k[0] == "wrk")]
        for peer in reversed(self.missing):     # each goes in just below the header
            if peer.startswith("pgsql-http"):
                out.insert(out.index("|---|---|---:|---:|---:|---:|---:|---|---|") + 1,
                           "| (all) | %s | not installed (bench/run --peers DIR) | | | | | | |" % peer)
        if self.profiles:
            out += ["", "Instructions per http.get() call, keep-alive, steady state (callgrind, inside "
                    "pg_http_get, exclusive cost by object): " + "; ".join(
                        "%s %.0f (%s)" % (t, p["total"], ", ".join(
                            "%s %.0f" % (k, v) for k, v in sorted(p["by_object"].items(),
                                                                 key=lambda kv: -kv[1]) if v >= 500))
                        for t, p in self.profiles.items())]
        text = "\n".join(out) + "\n"
        print(text)
        name = "smoke" if self.args.smoke else "latest"
        os.makedirs(os.path.join(BENCH, "results"), exist_ok=True)
        with open(os.path.join(BENCH, "results", name + ".md"), "w") as f:
            f.write(text)
        with open(os.path.join(BENCH, "results", name + ".json"), "w") as f:
            json.dump({"machine": m, "rows": rows, "async": self.async_rows,
                       "streams": self.stream_rows,
                       "profiles": self.profiles,
                       "floors": {"%s/%s" % k: v for k, v in self.floors.items()}}, f, indent=1)
        self.plot(rows, name, titles)
        if not self.args.smoke and not self.args.transport:
            self.update_readme(text)

    @staticmethod
    def update_readme(text):
        """Replace the README's table between its bench markers with this run's."""
        path = os.path.join(BENCH, "..", "README.md")
        begin, end = "<!-- bench:begin -->\n", "<!-- bench:end -->"
        readme = open(path).read()
        if begin not in readme or end not in readme:
            print("bench: README has no bench markers; not updated", file=sys.stderr)
            return
        head, rest = readme.split(begin, 1)
        tail = rest.split(end, 1)[1]
        body = text.split("\n", 2)[2].strip()   # without the title line
        with open(path, "w") as f:
            f.write(head + begin + body + "\n\n![latency per call](bench/results/latest.png)\n"
                    + end + tail)

    def plot(self, rows, name, titles):
        """Latency per work item, one bar per transport and peer (log scale)."""
        whos = [w for w in TRANSPORTS + ["PL/Python", "pgsql-http", "pgsql-http keep-alive"]
                if any(r["who"] == w for r in rows)]
        items = [k for k, *_ in ITEMS]
        dat = os.path.join(self.work, "plot.dat")
        with open(dat, "w") as f:
            f.write("item floor " + " ".join('"%s"' % w for w in whos) + "\n")
            for k in items:
                floor = next((r["floor"] for r in rows if r["item"] == k and r["floor"]), None)
                vals = []
                for w in whos:
                    r = self.lookup(k, w)
                    vals.append("%.4f" % r["lat_ms"] if r else "NaN")
                f.write('"%s" %s %s\n' % (k, "%.4f" % floor if floor else "NaN", " ".join(vals)))
        png = os.path.join(BENCH, "results", name + ".png")
        script = """
set terminal pngcairo size 1100,560 font "Sans,10"
set output "{png}"
set title "pg_http: latency per call (lower is better; log scale)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set ylabel "ms per call"
set key outside right top
set grid ytics
set xtics rotate by -20
plot for [i=2:{n}] "{dat}" using i:xtic(1) title columnhead(i)
""".format(png=png, dat=dat, n=2 + len(whos))
        subprocess.run(["gnuplot"], input=script, text=True, check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transport", action="append", choices=TRANSPORTS)
    ap.add_argument("--duration", type=int, default=5, help="seconds per run")
    ap.add_argument("--reps", type=int, default=3, help="runs per measurement (median)")
    ap.add_argument("--smoke", action="store_true", help="2 s, 1 run: prove the scripts work")
    ap.add_argument("--build-prefix", default="build-bench-",
                    help="build directory per transport: <prefix><transport>")
    ap.add_argument("--no-build", action="store_true", help="install existing builds as they are")
    ap.add_argument("--pg-host", help="use this cluster (socket dir or host) instead of a new one")
    ap.add_argument("--pg-port", type=int, default=5432)
    ap.add_argument("--peers", metavar="DIR",
                    help="build pgsql-http and pg_net from DIR/pgsql-http and DIR/pg_net and measure them")
    args = ap.parse_args()
    if args.smoke:
        args.duration, args.reps = 2, 1
    transports = args.transport or TRANSPORTS

    b = Bench(args)
    try:
        b.setup()
        b.measure_floors()
        b.measure_peers()
        for t in transports:
            b.measure_transport(t)
        b.report(b.evaluate())
    finally:
        b.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
