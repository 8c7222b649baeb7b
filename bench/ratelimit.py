#!/usr/bin/env python3
"""Delivery under a rate limit, as a picture: bench/results/rate-limit.png.

A throwaway cluster with pg_http preloaded (tests/run.py's environment and
the outbox suite's cluster) queues 500 requests to a host limited by
http.host_limit(host, 50, 5) and 500 to another host, all at once; the
send times the delivery worker recorded (http.queue.first_sent_at) are
counted per 100 ms and drawn as requests per second for each host, with
the limit as a line.  Run ci/deps first; it installs the build it is given.

Usage: bench/ratelimit.py [--build-dir build] [--rate 50] [--burst 5] [--n 500]
"""

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import asynctests  # noqa: E402
import run  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--burst", type=int, default=5)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "rate-limit.png"))
    args = ap.parse_args()

    build = os.path.abspath(args.build_dir)
    subprocess.run(["ninja", "-C", build, "install"], check=True, stdout=subprocess.DEVNULL)
    with run.Environment(build) as env:
        pg = asynctests.AsyncCluster(env, run.free_port, name="ratelimit", db="pg_http_ratelimit")
        pg.start(first=True)
        try:
            pg.psql("CREATE DATABASE pg_http_ratelimit;", db="postgres")
            pg.psql("CREATE EXTENSION pg_http;")
            asynctests.wait_for(lambda: pg.psql("SELECT count(*) FROM pg_stat_activity"
                                                " WHERE backend_type = 'pg_http worker';") == "1",
                                "the delivery worker", timeout=30)
            limited = "http://127.0.0.1:%d" % env.mock_port
            free = "http://127.0.0.1:%d" % env.start_mock("mock-free")
            pg.psql("SELECT http.host_limit('127.0.0.1:%d', %s, %d);" % (env.mock_port, args.rate, args.burst))
            pg.psql("SELECT http.enqueue('GET', '%s/sink/l-' || g) FROM generate_series(1, %d) g;"
                    "SELECT http.enqueue('GET', '%s/sink/f-' || g) FROM generate_series(1, %d) g;"
                    % (limited, args.n, free, args.n))
            deadline = time.time() + args.n / args.rate + 60
            while pg.psql("SELECT count(*) FROM http.queue WHERE state IN ('queued', 'sending');") != "0":
                if time.time() > deadline:
                    raise RuntimeError("the requests were not all delivered in time")
                time.sleep(0.2)
            rows = pg.psql("SELECT extract(epoch FROM first_sent_at - (SELECT min(created_at) FROM http.queue)),"
                           " request->>'url' LIKE '%/sink/l-%' FROM http.queue;").splitlines()
        finally:
            pg.stop()

    step = 0.1
    sends = {"t": [], "f": []}
    for r in rows:
        t, lim = r.split("|")
        sends[lim].append(float(t))
    end = max(sends["t"] + sends["f"]) + step
    nbins = int(end / step) + 1
    work = os.path.join(build, "ratelimit")
    os.makedirs(work, exist_ok=True)
    dat = os.path.join(work, "rate.dat")
    with open(dat, "w") as f:
        counts = {k: [0] * nbins for k in sends}
        for k, ts in sends.items():
            for t in ts:
                counts[k][int(t / step)] += 1
        for i in range(nbins):
            f.write("%.1f %.1f %.1f\n" % (i * step, counts["t"][i] / step, counts["f"][i] / step))
    span = max(sends["t"]) - min(sends["t"])
    script = """
set terminal pngcairo size 1000,420 font "Sans,10" noenhanced
set output "{out}"
set title "pg_http: {n} queued requests to a host limited to {rate:g}/s (burst {burst}) and {n} to another, queued at once"
set xlabel "seconds after queuing (100 ms bins)"
set ylabel "requests sent per second"
set logscale y
set yrange [1:*]
set grid
set key top right
plot "{dat}" using 1:($3 > 0 ? $3 : 1/0) with impulses lw 2 lc rgb "#d95f02" title "another host, unlimited", \\
     "{dat}" using 1:($2 > 0 ? $2 : 1/0) with steps lw 2 lc rgb "#1b9e77" title "the limited host", \\
     {rate:g} with lines dt 2 lc rgb "black" title "the limit"
""".format(out=args.out, n=args.n, rate=args.rate, burst=args.burst, dat=dat)
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print("limited host: %d sent over %.2f s (%.1f/s after the burst); other host: %d in %.2f s; %s"
          % (len(sends["t"]), span, (len(sends["t"]) - args.burst) / span if span else 0,
             len(sends["f"]), max(sends["f"]) - min(sends["f"]), args.out))


if __name__ == "__main__":
    main()
