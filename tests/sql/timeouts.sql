-- statement_timeout, cancels and request timeouts end a call on time.
SELECT current_setting('pg_http_test.mock') AS mock \gset

-- statement_timeout during a 5 s response: the standard 57014, on time
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '500ms';
SELECT http.get(:'mock' || '/delay/5000');
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '500ms' AND '1200ms' AS canceled_on_time;

-- the same inside a batch
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '400ms';
SELECT count(*) FROM http.batch(jsonb_build_array(
  jsonb_build_object('url', :'mock' || '/delay/5000'),
  jsonb_build_object('url', :'mock' || '/delay/5000')));
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '400ms' AND '1100ms' AS canceled_on_time;

-- request timeout: its own SQLSTATE (class 08), not a cancel
SELECT clock_timestamp() AS t0 \gset
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/delay/5000', options => '{"timeout_ms": 300}')$$);
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '300ms' AND '1000ms' AS timed_out_on_time;

-- http_request's timeout argument is in seconds
SELECT clock_timestamp() AS t0 \gset
SELECT t.err(format('SELECT http_request(''127.0.0.1'', %s, ''/delay/5000'', ''GET'', NULL, NULL, false, 1)',
                    current_setting('pg_http_test.mock_port')));
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '1s' AND '1700ms' AS timed_out_on_time;

-- pg_http.timeout
SET pg_http.timeout = '250ms';
SELECT clock_timestamp() AS t0 \gset
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/delay/5000')$$);
SELECT clock_timestamp() - :'t0'::timestamptz BETWEEN '250ms' AND '950ms' AS timed_out_on_time;
RESET pg_http.timeout;

-- a body that drips slower than the timeout, and endless headers
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/drip?bytes=20&interval_ms=100', options => '{"timeout_ms": 500}')$$);
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/drip-headers?interval_ms=20', options => '{"timeout_ms": 500}')$$);
-- a drip that ends in time is fine
SELECT (http.get(:'mock' || '/drip?bytes=5&interval_ms=20')).body;

-- after all that, the backend still works
SELECT (http.get(:'mock' || '/status/200')).status;
