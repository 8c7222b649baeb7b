-- https with verification on, against servers with a test CA made for this
-- run (pg_http.ca_file points at it).  Transports with TLS only.
SELECT current_setting('pg_http_test.httpbin_tls_port') AS tls_port,
       current_setting('pg_http_test.mock_tls_port') AS mock_tls_port,
       current_setting('pg_http_test.expired_port') AS expired_port,
       current_setting('pg_http_test.untrusted_port') AS untrusted_port,
       current_setting('pg_http_test.h2_port') AS h2_port \gset

-- the seed call, over TLS, verbatim
SELECT (r).status, (r).body::jsonb->'headers'->>'Authorization' AS authorization, t.scrub((r).url) AS url
  FROM (SELECT http_request('localhost', :tls_port, '/headers', 'GET', NULL, '{"Authorization":"Bearer demo-token"}'::jsonb, true, 30) AS r) s;
SELECT (r).status, (r).body::jsonb->'json' AS json
  FROM (SELECT http.post('https://localhost:' || :'tls_port' || '/post', '{"data":{"a": 1,"b": 2}}') AS r) s;

-- what fails, fails clearly
SELECT what, t.err(format('SELECT http.get(%L)', url))
  FROM (VALUES ('wrong host name', 'https://127.0.0.1:' || :'tls_port' || '/get'),
               ('expired', 'https://localhost:' || :'expired_port' || '/status/200'),
               ('untrusted', 'https://localhost:' || :'untrusted_port' || '/status/200'),
               ('plain http to a TLS port', 'http://localhost:' || :'tls_port' || '/get')) v(what, url);
-- https to a plain HTTP server that waits for a request: no handshake, ever
SELECT t.errmsg(format('SELECT http.get(%L, NULL, ''{"connect_timeout_ms": 500}'')',
                       'https://localhost:' || current_setting('pg_http_test.httpbin_port') || '/get'));

-- without the test CA nothing verifies (the system bundle does not know it)
SET pg_http.ca_file = '';
SELECT t.errmsg(format('SELECT http.get(%L)', 'https://localhost:' || :'tls_port' || '/get'));
RESET pg_http.ca_file;

-- connection reuse over TLS, counted on the server: 1,000 calls, one connection
SELECT t.mock_tls_reset();
SELECT count(*) FILTER (WHERE (http.get('https://localhost:' || :'mock_tls_port' || '/status/200')).status = 200)
  FROM generate_series(1, 1000);
SELECT (t.mock_tls_stats()->>'connections')::int AS connections;

-- bodies and binary exactness over TLS
SELECT length((r).body), md5((r).body) = (r).headers->>'x-body-md5' AS md5_matches
  FROM (SELECT http.request_bytes('GET', 'https://localhost:' || :'mock_tls_port' || '/bytes/2000000?seed=3') r) s;
SELECT count(*) FILTER (WHERE status = 200) AS ok
  FROM http.batch((SELECT jsonb_agg(jsonb_build_object('url', 'https://localhost:' || :'mock_tls_port' || '/delay/200'))
                     FROM generate_series(1, 20)));

-- timeouts and cancels work inside TLS too
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"timeout_ms": 300}'')',
                    'https://localhost:' || :'mock_tls_port' || '/delay/3000'));
SELECT clock_timestamp() AS t0 \gset
SET statement_timeout = '300ms';
SELECT http.get('https://localhost:' || :'mock_tls_port' || '/delay/3000');
RESET statement_timeout;
SELECT clock_timestamp() - :'t0'::timestamptz < '1s' AS canceled_on_time;

-- redirects between http and https go through the same checks
SELECT (r).status, t.scrub((r).url) AS url
  FROM (SELECT http.get(current_setting('pg_http_test.mock') || '/redir/x?to=https://localhost:' || :'tls_port' || '/get',
                        NULL, '{"max_redirects": 1}') r) s;

-- a non-superuser cannot loosen TLS
CREATE ROLE regress_http_tls;
GRANT USAGE ON SCHEMA t TO regress_http_tls;
GRANT EXECUTE ON FUNCTION t.err(text) TO regress_http_tls;
SET ROLE regress_http_tls;
SELECT s, t.err(format('SET %s = %L', s, '/tmp/x'))
  FROM unnest(ARRAY['pg_http.ca_file', 'pg_http.client_cert', 'pg_http.client_key', 'pg_http.proxy']) s;
RESET ROLE;
REVOKE ALL ON SCHEMA t FROM regress_http_tls;
REVOKE ALL ON FUNCTION t.err(text) FROM regress_http_tls;
DROP ROLE regress_http_tls;

-- servers that break the handshake: clear errors, on time
SELECT what, t.errmsg(format('SELECT http.get(%L, NULL, ''{"timeout_ms": 3000}'')', url))
  FROM (VALUES ('garbage instead of a ServerHello', 'https://localhost:' || current_setting('pg_http_test.tls_garbage_port') || '/'),
               ('dropped during the handshake', 'https://localhost:' || current_setting('pg_http_test.tls_drop_port') || '/')) v(what, url);

-- a new connection to a host resumes the last TLS session (counted by the server)
SELECT t.mock_tls_reset();
SELECT count(*) FROM generate_series(1, 3)
 WHERE (http.get('https://localhost:' || :'mock_tls_port' || '/status/200', NULL, '{"keepalive": false}')).status = 200;
SELECT (t.mock_tls_stats()->>'tls_resumed')::int >= 3 AS resumed;


-- pgsql_http_compat (installed by compat_pgsql_http): a superuser's
-- CURLOPT_CAINFO stands in for pg_http.ca_file, for the calls it is set for
SELECT phc.http_set_curlopt('CURLOPT_CAINFO', current_setting('pg_http_test.tls_dir') || '/untrusted.pem');
SELECT t.errmsg(format('SELECT phc.http_get(%L)', 'https://localhost:' || :'tls_port' || '/get')) AS other_ca;
SELECT phc.http_set_curlopt('CURLOPT_CAINFO', current_setting('pg_http_test.tls_dir') || '/ca.pem');
SELECT status FROM phc.http_get('https://localhost:' || :'tls_port' || '/get');
SELECT phc.http_reset_curlopt();
SELECT status FROM phc.http_get('https://localhost:' || :'tls_port' || '/get');
