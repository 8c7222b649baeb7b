-- wrk: POST the same 1 KB JSON body as bench/sql/post.sql
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
