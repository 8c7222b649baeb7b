-- Name resolution never holds a call past its timeout or a cancel.  In the
-- test cluster, getaddrinfo() of *.slow.test hangs for 5 s (tests/slowdns.c,
-- preloaded into this cluster only).
SELECT current_setting('pg_http_test.mock') AS mock \gset

SELECT clock_timestamp() AS t0 \gset
SELECT t.err('SELECT http.get(''http://x.slow.test/'', NULL, ''{"timeout_ms": 300}'')');
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '300ms' AND '1s' AS timed_out_on_time;

-- a connect timeout shorter than the whole timeout covers resolution too
SELECT clock_timestamp() AS t0 \gset
SELECT t.errmsg('SELECT http.get(''http://y.slow.test/'', NULL, ''{"connect_timeout_ms": 200}'')');
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '200ms' AND '900ms' AS timed_out_on_time;

SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '300ms';
SELECT http.get('http://z.slow.test/');
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < '1s' AS canceled_on_time;

-- a batch with one slow name: the others are not held up
SELECT clock_timestamp() AS t0 \gset
SELECT idx, status, sqlstate FROM http.batch(jsonb_build_array(
  jsonb_build_object('url', 'http://w.slow.test/', 'options', '{"timeout_ms": 500}'::jsonb),
  jsonb_build_object('url', :'mock' || '/status/200'),
  jsonb_build_object('url', 'http://localhost:' || current_setting('pg_http_test.mock_port') || '/status/201')));
SELECT clock_timestamp() - :'t0'::timestamptz < '1500ms' AS not_held_up;

-- names resolve normally
SELECT (http.get('http://localhost:' || current_setting('pg_http_test.mock_port') || '/status/200')).status;
