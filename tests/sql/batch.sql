-- Many requests in one call: concurrent, in input order, errors in their rows.
SELECT current_setting('pg_http_test.mock') AS mock \gset

-- 20 requests to a 1 s endpoint take about 1 s, not 20
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) AS rows, count(*) FILTER (WHERE status = 200) AS ok,
       array_agg(idx ORDER BY idx) = array(SELECT generate_series(1, 20)) AS all_indexes
  FROM http.batch((SELECT jsonb_agg(jsonb_build_object('url', :'mock' || '/delay/1000'))
                     FROM generate_series(1, 20)));
SELECT clock_timestamp() - :'t0'::timestamptz < '2500ms' AS concurrent;

-- rows come back in input order whatever order the responses finish in
SELECT idx, status, body
  FROM http.batch(jsonb_build_array(
    jsonb_build_object('url', :'mock' || '/delay/300'),
    jsonb_build_object('url', :'mock' || '/delay/10'),
    jsonb_build_object('url', :'mock' || '/delay/150')));

-- one bad request does not abort the others
SELECT idx, status, sqlstate, error, t.scrub(error_detail) AS error_detail
  FROM http.batch(jsonb_build_array(
    jsonb_build_object('url', :'mock' || '/status/201'),
    jsonb_build_object('url', 'not a url'),
    jsonb_build_object('url', 'http://127.0.0.1:1/'),
    jsonb_build_object('url', :'mock' || '/status/404', 'method', 'DELETE'),
    jsonb_build_object('url', :'mock' || '/x', 'bogus', true),
    jsonb_build_object('url', :'mock' || '/x', 'headers', jsonb_build_object('X', E'a\r\nb')),
    '"not an object"'::jsonb,
    jsonb_build_object('url', :'mock' || '/invalid-utf8'),
    jsonb_build_object('url', :'mock' || '/delay/2000', 'options', '{"timeout_ms": 200}'::jsonb),
    jsonb_build_object('method', 'POST', 'url', :'mock' || '/echo', 'body', '{"n": 1}'::jsonb)))
 ORDER BY idx;

-- batch options apply to every request
SELECT idx, status, sqlstate
  FROM http.batch(jsonb_build_array(
    jsonb_build_object('url', :'mock' || '/delay/10'),
    jsonb_build_object('url', :'mock' || '/delay/3000')), '{"timeout_ms": 400}');

-- the concurrency cap makes waves
SET pg_http.max_concurrency = 2;
SELECT clock_timestamp() AS t0 \gset
SELECT count(*) FROM http.batch((SELECT jsonb_agg(jsonb_build_object('url', :'mock' || '/delay/300'))
                                   FROM generate_series(1, 4)));
SELECT clock_timestamp() - :'t0'::timestamptz >= '600ms' AS two_waves;
RESET pg_http.max_concurrency;

-- requests that fail as they start (the address guard refuses loopback at
-- once) do not strand the ones still waiting for a slot
SET pg_http.max_concurrency = 2;
SET pg_http.allowed_hosts = '';
SELECT count(*) AS rows, count(*) FILTER (WHERE sqlstate = '42501') AS refused,
       count(*) FILTER (WHERE sqlstate IS NULL) AS unanswered
  FROM http.batch((SELECT jsonb_agg(jsonb_build_object('url', :'mock' || '/status/200'))
                     FROM generate_series(1, 5)));
RESET pg_http.allowed_hosts;
RESET pg_http.max_concurrency;

-- many at once
SELECT count(*) FILTER (WHERE status = 200) AS ok
  FROM http.batch((SELECT jsonb_agg(jsonb_build_object('url', :'mock' || '/status/200'))
                     FROM generate_series(1, 300)));

-- edge cases
SELECT count(*) FROM http.batch('[]');
SELECT t.err('SELECT * FROM http.batch(''{"url": "x"}'')');
SELECT t.err('SELECT * FROM http.batch(''[]'', ''{"nope": 1}'')');
