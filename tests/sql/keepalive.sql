-- Connection reuse, proven by the mock server's connection counter.
SELECT current_setting('pg_http_test.mock') AS mock \gset

-- 50 sequential calls share one connection
SELECT t.mock_reset();
SELECT count(*) FILTER (WHERE (http.get(:'mock' || '/status/200')).status = 200) FROM generate_series(1, 50);
SELECT (t.mock_stats()->>'connections')::int AS connections;

-- keepalive off, by option or setting: a connection per call
SELECT t.mock_reset();
SELECT count(*) FROM generate_series(1, 5) WHERE (http.get(:'mock' || '/status/200', NULL, '{"keepalive": false}')).status = 200;
SELECT (t.mock_stats()->>'connections')::int AS connections;
SET pg_http.keepalive = off;
SELECT t.mock_reset();
SELECT count(*) FROM generate_series(1, 5) WHERE (http.get(:'mock' || '/status/200')).status = 200;
SELECT (t.mock_stats()->>'connections')::int AS connections;
RESET pg_http.keepalive;

-- the server closes an idle pooled connection: the next call notices and reconnects
SELECT (http.get(:'mock' || '/ka-close-later?after=0.05')).status;
SELECT pg_sleep(0.3);
SELECT (http.get(:'mock' || '/status/200')).status;

-- the server drops the next request on a pooled connection without answering:
-- an idempotent request is retried once on a fresh connection...
SELECT t.mock_reset();
SELECT (http.get(:'mock' || '/ka-drop-next')).body;
SELECT (http.get(:'mock' || '/status/203')).status;
SELECT t.mock_stats()->'requests'->'/status/203' AS received;
-- ...a POST is not: the server may have acted on it
SELECT (http.get(:'mock' || '/ka-drop-next')).body;
SELECT t.err($$SELECT http.post('$$ || :'mock' || $$/echo', '{"once": true}'::jsonb)$$);
SELECT t.mock_stats()->'requests'->'/echo' AS received;

-- a call cut short by a timeout does not leave its connection in the pool
SELECT t.mock_reset();
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/delay/1000', NULL, '{"timeout_ms": 100}')$$);
SELECT (http.get(:'mock' || '/status/200')).status;
SELECT (t.mock_stats()->>'connections')::int AS connections;
