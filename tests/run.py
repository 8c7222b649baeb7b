#!/usr/bin/env python3
"""Run pg_http's test suites against real components it starts itself.

  tests/run.py --build-dir build [--suites unit,regress,scenarios] [--keep]

unit       the standalone codec/URL/policy tests built in the build dir
regress    pg_regress suites (tests/sql, tests/expected) in a throwaway cluster
scenarios  Python-driven checks that need more than one session or /proc
           (tests/scenarios.py)

For regress and scenarios it creates a throwaway cluster under the build
directory (initdb as the postgres user when run as root, unix socket only),
a real httpbin (Debian python3-httpbin under gunicorn) and tests/mockserver.py
on free loopback ports, and stops all of them when done.  The module must be
installed from this build dir first (ninja -C build install): the runner
checks, and fails loudly if it is not.  The last line is "N passed, M failed".
"""

import argparse
import filecmp
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import cluster  # noqa: E402


def run_matrix(env, results):
    import matrix
    for name, ok, note in matrix.run(env):
        if ok is None:
            results.skip("matrix-" + env.transport, name, note)
        else:
            results.add("matrix-" + env.transport, name, ok, note)
# Every tests/sql/NAME.sql is a suite, found, not listed: install and seed
# first, the rest in name order.  NAME_transport.sql runs only under the
# transport NAME; tls.sql only under transports with TLS.
REGRESS_FIRST = ["install", "seed"]
TLS_TRANSPORTS = ("curl", "mbedtls")


def regress_suites(transport):
    names = sorted(f[:-4] for f in os.listdir(os.path.join(ROOT, "tests", "sql"))
                   if f.endswith(".sql"))
    chosen = []
    for n in names:
        if n.endswith("_transport") and n != transport + "_transport":
            continue
        if n == "tls" and transport not in TLS_TRANSPORTS:
            continue
        chosen.append(n)
    return [n for n in REGRESS_FIRST if n in chosen] + \
        [n for n in chosen if n not in REGRESS_FIRST]


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.skipped = []

    def skip(self, suite, name, why):
        self.skipped.append("%s/%s" % (suite, name))
        print("skip - %s/%s (%s)" % (suite, name, why), flush=True)

    def add(self, suite, name, ok, note=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append("%s/%s" % (suite, name))
        print("%s - %s/%s%s" % ("ok" if ok else "not ok", suite, name,
                                (" (" + note + ")") if note else ""), flush=True)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited early with status %s" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("%s did not listen on port %d within %.0f s" % (what, port, timeout))


def make_test_pki(d):
    """A throwaway CA and server certificates, made fresh for each run:
    server (valid, SAN DNS:localhost only, so 127.0.0.1 is a wrong name),
    expired (same CA and name, validity in 2020), untrusted (self-signed)."""
    os.makedirs(d, exist_ok=True)
    run = lambda *a: subprocess.run(a, cwd=d, check=True, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("openssl", "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "3",
        "-subj", "/CN=pg_http test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", *ec, "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-copy_extensions", "copy")
    # expired: "openssl ca" can set dates in the past
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("""[ca]
default_ca = test
[test]
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
copy_extensions = copy
policy = any
[any]
commonName = supplied
""")
    open(os.path.join(d, "index.txt"), "w").close()
    with open(os.path.join(d, "serial"), "w") as f:
        f.write("1000\n")
    run("openssl", "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key",
        "-in", "server.csr", "-out", "expired.pem", "-startdate", "20200101000000Z",
        "-enddate", "20200102000000Z")
    run("openssl", "req", "-x509", *ec, "-keyout", "untrusted.key", "-out", "untrusted.pem",
        "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost")
    # a client certificate for servers that ask for one
    run("openssl", "req", *ec, "-keyout", "client.key", "-out", "client.csr",
        "-subj", "/CN=pg_http test client")
    run("openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "client.pem", "-days", "2")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-tmp/body;
    proxy_temp_path {work}/nginx-tmp/proxy;
    fastcgi_temp_path {work}/nginx-tmp/fastcgi;
    uwsgi_temp_path {work}/nginx-tmp/uwsgi;
    scgi_temp_path {work}/nginx-tmp/scgi;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {tls}/server.pem;
        ssl_certificate_key {tls}/server.key;
        location / {{ default_type text/plain; return 200 "h2 ok"; }}
        location /many-headers {{ default_type text/plain; {many} return 200 "many"; }}
    }}
    server {{
        listen 127.0.0.1:{mtls_port} ssl;
        ssl_certificate {tls}/server.pem;
        ssl_certificate_key {tls}/server.key;
        ssl_client_certificate {tls}/ca.pem;
        ssl_verify_client optional;
        location / {{
            default_type text/plain;
            if ($ssl_client_verify != SUCCESS) {{ return 403 "no client certificate"; }}
            return 200 "hello $ssl_client_s_dn";
        }}
    }}
}}
"""


def meson_option(build_dir, name):
    path = os.path.join(build_dir, "meson-info", "intro-buildoptions.json")
    with open(path) as f:
        for opt in json.load(f):
            if opt["name"] == name:
                return opt["value"]
    return None


def find_pg_config(build_dir):
    opt = meson_option(build_dir, "pg_config")
    if opt:
        return opt
    return shutil.which("pg_config") or "/usr/lib/postgresql/15/bin/pg_config"


# Secrets the test cluster starts with (tests write more with write_secret).
# The AWS keys are the example credentials of AWS's published SigV4 examples.
TEST_SECRETS = {
    "test_token": "tok-Zq8XvKp3Lm7Rn2Wd\n",
    "aws_example_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "aws_example_id": "AKIDEXAMPLE",
    "aws_s3_example_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "aws_s3_example_id": "AKIAIOSFODNN7EXAMPLE",
    "webhook_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "hmac_key": "It's a Secret to Everybody",
    "aws_session": "FQoGZXIvYXdzEXAMPLESESSIONTOKEN\n",
    "proxy_cred": "proxy-user:p@ss w0rd:x\n",
}


class Environment:
    """The throwaway cluster, httpbin and the mock server."""

    def __init__(self, build_dir, keep=False, valgrind=False):
        self.build_dir = os.path.abspath(build_dir)
        self.keep = keep
        self.valgrind = valgrind
        self.procs = []
        self.pg_started = False
        pg_config = find_pg_config(self.build_dir)
        q = lambda a: subprocess.check_output([pg_config, a], text=True).strip()
        self.bindir = q("--bindir")
        self.pkglibdir = q("--pkglibdir")
        self.sharedir = q("--sharedir")
        self.pgxs = os.path.dirname(q("--pgxs"))
        self.work = os.path.join(self.build_dir, "testrun")
        self.as_postgres = os.geteuid() == 0

    # -- helpers -------------------------------------------------------------
    def pg_cmd(self, args):
        """Run a server-side program (initdb, pg_ctl) as the postgres user."""
        return cluster.server_cmd(args)

    def check_installed(self):
        built = os.path.join(self.build_dir, "pg_http.so")
        installed = os.path.join(self.pkglibdir, "pg_http.so")
        control = os.path.join(self.sharedir, "extension", "pg_http.control")
        if not os.path.exists(installed) or not filecmp.cmp(built, installed, shallow=False) \
                or not filecmp.cmp(os.path.join(self.build_dir, "pg_http.control"), control,
                                   shallow=False):
            raise RuntimeError("the pg_http installed in %s is not the one built in %s; "
                               "run: ninja -C %s install" % (self.pkglibdir, self.build_dir,
                                                             self.build_dir))

    def start_mock(self, name, *extra):
        port_file = os.path.join(self.work, name + ".port")
        p = self.start_process([sys.executable, os.path.join(ROOT, "tests", "mockserver.py"),
                                "--port-file", port_file] + list(extra), name)
        deadline = time.time() + 15
        while not os.path.exists(port_file):
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError("%s did not start (see %s/%s.log)" % (name, self.work, name))
            time.sleep(0.05)
        return int(open(port_file).read())

    def start_process(self, args, name, **kw):
        log = open(os.path.join(self.work, name + ".log"), "w")
        p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=self.work,
                             start_new_session=True, **kw)
        p.name = name
        self.procs.append(p)
        return p

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        if not self.keep:
            self.stop()

    def init_cluster(self, data, port, max_connections, extra_conf):
        """initdb a throwaway cluster (tests/cluster.py) on a socket in the
        work directory, with extra_conf appended to its settings."""
        cluster.initdb(self.bindir, data, self.work, port, max_connections, extra_conf)

    def start(self):
        self.check_installed()
        if os.path.exists(self.work):
            shutil.rmtree(self.work)
        os.makedirs(self.work)
        cluster.own_workdir(self.work)

        # a test CA and certificates, then the mock servers (plain and TLS)
        self.tls = os.path.join(self.work, "tls")
        make_test_pki(self.tls)
        t = lambda f: os.path.join(self.tls, f)
        self.mock_port = self.start_mock("mock")
        self.mock_tls_port = self.start_mock("mock-tls", "--tls-cert", t("server.pem"),
                                             "--tls-key", t("server.key"))
        self.expired_port = self.start_mock("mock-expired", "--tls-cert", t("expired.pem"),
                                            "--tls-key", t("server.key"))
        self.untrusted_port = self.start_mock("mock-untrusted", "--tls-cert", t("untrusted.pem"),
                                              "--tls-key", t("untrusted.key"))
        self.tls_garbage_port = self.start_mock("raw-garbage", "--raw", "garbage")
        self.tls_drop_port = self.start_mock("raw-drop", "--raw", "drop")
        self.tls_silent_port = self.start_mock("raw-silent", "--raw", "silent")
        self.tunnel_port = self.start_mock("tunnel", "--tunnel")

        # a listener that never accepts, its backlog full: connects hang
        self.blackhole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.blackhole.bind(("127.0.0.1", 0))
        self.blackhole.listen(0)
        self.blackhole_port = self.blackhole.getsockname()[1]
        self.blackhole_fill = []
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.blackhole_port))
            self.blackhole_fill.append(s)

        # a real httpbin, over http and over https
        gunicorn = shutil.which("gunicorn") or "/usr/bin/gunicorn"
        if not os.path.exists(gunicorn):
            raise RuntimeError("gunicorn is not installed: run ci/deps")
        self.httpbin_port = free_port()
        hb = self.start_process([gunicorn, "-w", "2", "-k", "gthread", "--threads", "32",
                                 "-b", "127.0.0.1:%d" % self.httpbin_port, "httpbin:app"],
                                "httpbin")
        self.httpbin_tls_port = free_port()
        hbs = self.start_process([gunicorn, "-w", "2", "-k", "gthread", "--threads", "16",
                                  "--certfile", t("server.pem"), "--keyfile", t("server.key"),
                                  "-b", "127.0.0.1:%d" % self.httpbin_tls_port, "httpbin:app"],
                                 "httpbin-tls")

        # nginx for HTTP/2 over TLS
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(nginx):
            raise RuntimeError("nginx is not installed: run ci/deps")
        self.h2_port = free_port()
        self.mtls_port = free_port()
        os.makedirs(os.path.join(self.work, "nginx-tmp"))
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(work=self.work, port=self.h2_port, tls=self.tls,
                                      mtls_port=self.mtls_port,
                                      many=" ".join("add_header X-H-%d v;" % i for i in range(150))))
        ngx = self.start_process([nginx, "-c", os.path.join(self.work, "nginx.conf"),
                                  "-e", os.path.join(self.work, "nginx-error.log")], "nginx")
        wait_port(self.httpbin_port, hb, "httpbin")
        wait_port(self.httpbin_tls_port, hbs, "httpbin over TLS")
        wait_port(self.h2_port, ngx, "nginx")
        wait_port(self.mtls_port, ngx, "nginx (client certificates)")

        # secrets: a directory only the server's user reads, one file per secret
        self.secrets = os.path.join(self.work, "secrets")
        os.makedirs(self.secrets, mode=0o700)
        cluster.own_path(self.secrets)
        for name, value in TEST_SECRETS.items():
            self.write_secret(name, value)

        # the throwaway cluster
        self.data = os.path.join(self.work, "data")
        self.pg_port = free_port()
        self.init_cluster(self.data, self.pg_port, 30, """
pg_http.allowed_hosts = '*, 127.0.0.1, [::1]'
pg_http.ca_file = '{tls}/ca.pem'
pg_http_test.httpbin = 'http://127.0.0.1:{hb}'
pg_http_test.httpbin_port = '{hb}'
pg_http_test.mock = 'http://127.0.0.1:{mock}'
pg_http_test.mock_port = '{mock}'
pg_http_test.httpbin_tls_port = '{hbs}'
pg_http_test.mock_tls_port = '{mtls}'
pg_http_test.expired_port = '{exp}'
pg_http_test.untrusted_port = '{unt}'
pg_http_test.h2_port = '{h2}'
pg_http_test.mtls_port = '{clientcert}'
pg_http_test.tls_garbage_port = '{garbage}'
pg_http_test.tls_drop_port = '{drop}'
pg_http_test.tls_dir = '{tls}'
pg_http_test.tunnel_port = '{tunnel}'
pg_http.secrets_dir = '{work}/secrets'
pg_http_test.secrets_dir = '{work}/secrets'
""".format(work=self.work, port=self.pg_port, hb=self.httpbin_port, mock=self.mock_port,
           tls=self.tls, hbs=self.httpbin_tls_port, mtls=self.mock_tls_port,
           exp=self.expired_port, unt=self.untrusted_port, h2=self.h2_port,
           clientcert=self.mtls_port, garbage=self.tls_garbage_port, drop=self.tls_drop_port,
           tunnel=self.tunnel_port))
        # Proxies in the server's environment point at the mock server (which
        # answers proxy-form requests): pg_http must ignore them unless
        # pg_http.proxy_from_environment says otherwise.  As on cloud VMs, the
        # http proxy is named in upper case only (which libcurl itself
        # ignores for http) and NO_PROXY names loopback and the metadata
        # address: neither may take a request around the address guard.
        env = dict(os.environ)
        proxy = "http://127.0.0.1:%d" % self.mock_port
        for k in ("http_proxy", "no_proxy", "all_proxy"):
            env.pop(k, None)
        env.update(HTTP_PROXY=proxy, HTTPS_PROXY=proxy, https_proxy=proxy, ALL_PROXY=proxy,
                   NO_PROXY="169.254.169.254,127.0.0.1,localhost")
        # a resolver that hangs on *.slow.test (tests/slowdns.c), for this cluster only
        slowdns = os.path.join(self.build_dir, "tests", "slowdns.so")
        if not os.path.exists(slowdns):
            raise RuntimeError("%s is not built: run ninja -C %s" % (slowdns, self.build_dir))
        env["LD_PRELOAD"] = slowdns
        keep = ("HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "LD_PRELOAD")
        if self.valgrind:
            # every backend is a fork of the postmaster: all run under memcheck
            log = open(os.path.join(self.work, "postgres.log"), "w")
            self.pg_proc = subprocess.Popen(
                cluster.server_cmd(["valgrind", "--tool=memcheck", "--error-limit=no", "--num-callers=40",
                            "--track-origins=yes", "--leak-check=full", "--show-leak-kinds=definite",
                            "--log-file=%s/valgrind.%%p.log" % self.work,
                                    os.path.join(self.bindir, "postgres"), "-D", self.data],
                                   keep),
                stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
            deadline = time.time() + 180
            while subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", self.work,
                                  "-p", str(self.pg_port)]).returncode != 0:
                if self.pg_proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("postgres under valgrind did not start")
                time.sleep(1)
        else:
            cluster.start(self.bindir, self.data, os.path.join(self.work, "postgres.log"),
                          env=env, keep_env=keep)
        self.pg_started = True
        self.transport = self.psql("CREATE EXTENSION pg_http; SELECT http.transport(); "
                                   "DROP EXTENSION pg_http;", db="postgres").strip().splitlines()[-1]
        # the database of the matrix and the scenarios (regress makes its own)
        self.psql("CREATE DATABASE pg_http_scenarios;")
        self.psql("CREATE EXTENSION pg_http;", db="pg_http_scenarios")

    def write_secret(self, name, value, mode=0o600):
        """A secret's file, as an administrator would write it (owned by the
        server's user); value is str or bytes."""
        path = os.path.join(self.secrets, name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(value.encode() if isinstance(value, str) else value)
        os.chmod(tmp, mode)
        cluster.own_path(tmp)
        os.replace(tmp, path)
        return path

    def stop(self):
        if self.pg_started:
            cluster.stop(self.bindir, self.data)
            self.pg_started = False
        for p in reversed(self.procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.procs = []

    # -- clients -------------------------------------------------------------
    def psql_args(self, db="postgres"):
        return [os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                "-h", self.work, "-p", str(self.pg_port), "-U", "postgres", "-d", db]

    def psql(self, sql, db="postgres", check=True, timeout=300):
        r = subprocess.run(self.psql_args(db), input=sql, text=True, capture_output=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("psql failed: %s" % r.stderr.strip())
        return r.stdout if check else r

    def psql_bg(self, sql, db="postgres"):
        return subprocess.Popen(self.psql_args(db) + ["-c", sql], text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_unit(build_dir, results):
    names = sorted(f[:-2] for f in os.listdir(os.path.join(ROOT, "tests", "unit"))
                   if f.startswith("test_") and f.endswith(".c"))
    for name in names:
        exe = os.path.join(build_dir, "tests", name)
        if not os.path.exists(exe):
            results.add("unit", name, False, "not built: run ninja -C %s" % build_dir)
            continue
        r = subprocess.run([exe], capture_output=True, text=True, timeout=600)
        seen = 0
        for line in r.stdout.splitlines():
            m = re.match(r"(not ok|ok) \d+ - (\S+)", line)
            if m:
                seen += 1
                results.add("unit", "%s.%s" % (name, m.group(2)), m.group(1) == "ok")
        if r.returncode != 0 or seen == 0:
            sys.stdout.write(r.stderr[-4000:])
            if seen == 0 or "ERROR: AddressSanitizer" in r.stderr or "runtime error" in r.stderr:
                results.add("unit", name, False, "exit status %d" % r.returncode)


def run_regress(env, results):
    tests = regress_suites(env.transport)
    outdir = os.path.join(env.work, "regress")
    os.makedirs(outdir, exist_ok=True)
    pg_regress = os.path.join(env.pgxs, "..", "test", "regress", "pg_regress")
    if not os.path.exists(pg_regress):
        pg_regress = os.path.join(os.path.dirname(os.path.dirname(env.pgxs)), "pgxs",
                                  "src", "test", "regress", "pg_regress")
    args = [pg_regress, "--inputdir=" + os.path.join(ROOT, "tests"), "--outputdir=" + outdir,
            "--bindir=" + env.bindir, "--host=" + env.work, "--port=%d" % env.pg_port,
            "--user=postgres", "--dbname=pg_http_regress"] + tests
    r = subprocess.run(args, capture_output=True, text=True, timeout=1800)
    seen = set()
    for line in r.stdout.splitlines():
        # PostgreSQL 15: "test name ... ok 12 ms"; 16+: "ok 1 - name 12 ms"
        m = re.match(r"^\s*test (\S+)\s+\.\.\.\s+(ok|FAILED|failed)", line) or \
            re.match(r"^(?:not ok|ok)\s+\d+\s+[-+]\s+(\S+)", line)
        if not m:
            continue
        name = m.group(1)
        ok = line.strip().startswith("ok") or (m.lastindex == 2 and m.group(2) == "ok")
        seen.add(name)
        results.add("regress-" + env.transport, name, ok)
    for name in tests:
        if name not in seen:
            results.add("regress-" + env.transport, name, False, "did not run")
    diffs = os.path.join(outdir, "regression.diffs")
    if r.returncode != 0:
        print(r.stdout[-3000:] + r.stderr[-3000:])
        if os.path.exists(diffs):
            print("---- regression.diffs (first 300 lines) ----")
            with open(diffs) as f:
                for i, line in enumerate(f):
                    if i >= 300:
                        break
                    sys.stdout.write(line)


def run_scenarios(env, results):
    import scenarios
    for name in sorted(n for n in dir(scenarios) if n.startswith("scenario_")):
        fn = getattr(scenarios, name)
        t0 = time.time()
        try:
            note = fn(env) or ""
            results.add("scenarios-" + env.transport, name[len("scenario_"):], True,
                        ("%s; " % note if note else "") + "%.1f s" % (time.time() - t0))
        except scenarios.Skip as e:
            results.skip("scenarios-" + env.transport, name[len("scenario_"):], str(e))
        except Exception as e:
            traceback.print_exc(file=sys.stdout)
            results.add("scenarios-" + env.transport, name[len("scenario_"):], False, str(e)[:300])


class InfoResults(Results):
    """Under valgrind, suite outputs and timings are shown, not judged."""

    def add(self, suite, name, ok, note=""):
        print("info - %s/%s: %s%s" % (suite, name, "as expected" if ok else "differs",
                                       (" (" + note + ")") if note else ""), flush=True)


def valgrind_verdict(build_dir, results):
    """Under valgrind, what counts is memcheck: errors whose stack passes
    through pg_http.so (PostgreSQL's own, like uninitialised padding written
    to disk, are not ours)."""
    import glob
    logs = glob.glob(os.path.join(os.path.abspath(build_dir), "testrun", "valgrind.*.log"))
    ours, theirs, backends = [], 0, 0
    outside = re.compile(r"(vgpreload|/libc\.so|/ld-linux|libc-start|\(in /usr/libexec/valgrind)")
    for path in logs:
        with open(path, errors="replace") as f:
            text = f.read()
        backends += 1
        for record in re.split(r"\n==\d+== \n", text):
            frames = re.findall(r"==\d+==\s+(?:at|by) 0x[0-9A-F]+: (.*)", record)
            if "definitely lost" in record:
                # a block allocated under our call chain and never freed is ours
                mine = any("pg_http.so" in f for f in frames)
            elif re.search(r"(Invalid (read|write|free)|uninitialised|Conditional jump|"
                           r"Mismatched free|overlap|Syscall param)", record):
                inner = [f for f in frames if not outside.search(f)]
                mine = bool(inner) and "pg_http.so" in inner[0]
            else:
                continue
            if mine:
                ours.append(record)
            else:
                theirs += 1
    for rec in ours[:5]:
        print("---- memcheck error in pg_http ----\n" + rec[:4000])
    results.add("valgrind", "processes checked", backends > 0, "%d process logs" % backends)
    results.add("valgrind", "no memcheck errors in pg_http", not ours,
                "%d in pg_http, %d elsewhere (PostgreSQL's own)" % (len(ours), theirs))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--suites", default="unit,regress,matrix,scenarios,async,tenant")
    ap.add_argument("--keep", action="store_true",
                    help="leave the cluster and servers running (for debugging)")
    ap.add_argument("--valgrind", action="store_true",
                    help="run the server under valgrind memcheck; test outputs and timings are "
                         "not judged, only memcheck errors in pg_http's code")
    args = ap.parse_args()
    suites = set(args.suites.split(","))
    results = Results()

    if "unit" in suites:
        run_unit(args.build_dir, results)
    if suites & {"regress", "scenarios", "matrix", "async", "tenant"}:
        try:
            with Environment(args.build_dir, keep=args.keep, valgrind=args.valgrind) as env:
                print("# transport %s; cluster on %s port %d; httpbin port %d; mock port %d"
                      % (env.transport, env.work, env.pg_port, env.httpbin_port, env.mock_port),
                      flush=True)
                judged = InfoResults() if args.valgrind else results
                if "regress" in suites:
                    run_regress(env, judged)
                if "matrix" in suites:
                    run_matrix(env, judged)
                if "scenarios" in suites:
                    run_scenarios(env, judged)
                if "async" in suites:
                    import asynctests
                    asynctests.run_async(env, judged, free_port)
                if "tenant" in suites:
                    import tenanttests
                    tenanttests.run_tenant(env, judged, free_port)
        except Exception as e:
            traceback.print_exc(file=sys.stdout)
            results.add("environment", "setup", False, str(e)[:300])

    if args.valgrind and not results.failures:
        valgrind_verdict(args.build_dir, results)
    if results.skipped:
        print("# skipped (not counted): " + ", ".join(results.skipped))
    if results.failures:
        print("# failed: " + ", ".join(results.failures))
    print("%d passed, %d failed" % (results.passed, results.failed))
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
