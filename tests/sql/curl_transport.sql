-- What only the curl transport does: HTTP/2, decompression.
SELECT current_setting('pg_http_test.h2_port') AS h2_port,
       current_setting('pg_http_test.httpbin') AS httpbin \gset

-- HTTP/2 when the server offers it over ALPN
SELECT (r).status, (r).http_version, (r).body
  FROM (SELECT http.get('https://localhost:' || :'h2_port' || '/') r) s;
-- a batch multiplexes over HTTP/2
SELECT count(*) FILTER (WHERE status = 200 AND http_version = '2') AS over_h2
  FROM http.batch((SELECT jsonb_agg(jsonb_build_object('url', 'https://localhost:' || :'h2_port' || '/n' || g))
                     FROM generate_series(1, 50) g));
-- HTTP/1.1 on request
SELECT (http.get('https://localhost:' || :'h2_port' || '/', NULL, '{"http_version": "1.1", "keepalive": false}')).http_version;
-- response headers arrive lower-case either way
SELECT (http.get('https://localhost:' || :'h2_port' || '/')).headers ? 'content-type' AS lower_case;

-- decompression when asked; the limit applies to the decoded bytes
SELECT (r).status, (r).body::jsonb->>'gzipped' AS gzipped, (r).headers->>'content-encoding' AS encoding
  FROM (SELECT http.get(:'httpbin' || '/gzip', NULL, '{"decompress": true}') r) s;
SELECT (r).body::jsonb->>'deflated' AS deflated
  FROM (SELECT http.get(:'httpbin' || '/deflate', NULL, '{"decompress": true}') r) s;
SELECT t.err($$SELECT http.get('$$ || :'httpbin' || $$/gzip', NULL, '{"decompress": true, "max_response_bytes": 100}')$$);
-- without it, nothing is asked for and nothing is decoded
SELECT (http.get(:'httpbin' || '/headers')).body::jsonb->'headers' ? 'Accept-Encoding' AS asked;

-- the limit applies to the decoded bytes: a limit between the compressed and
-- the decoded size passes without decoding and fails with it
SELECT length((http.request_bytes('GET', :'httpbin' || '/gzip')).body) AS c,
       length((http.get(:'httpbin' || '/gzip', NULL, '{"decompress": true}')).body) AS d \gset
SELECT :c < :d AS compressed_is_smaller;
SELECT (http.request_bytes('GET', :'httpbin' || '/gzip', NULL, NULL,
                           jsonb_build_object('max_response_bytes', (:c + :d) / 2))).status AS without_decoding;
SELECT t.errmsg(format('SELECT http.get(%L, NULL, %L)', :'httpbin' || '/gzip',
                       jsonb_build_object('decompress', true, 'max_response_bytes', (:c + :d) / 2)));

-- client certificates (pg_http.client_cert/client_key, superuser settings)
SELECT current_setting('pg_http_test.mtls_port') AS mtls_port,
       current_setting('pg_http_test.tls_dir') AS tls_dir \gset
SELECT (r).status, (r).body FROM (SELECT http.get('https://localhost:' || :'mtls_port' || '/') r) s;
SELECT set_config('pg_http.client_cert', :'tls_dir' || '/client.pem', false) IS NOT NULL AS cert,
       set_config('pg_http.client_key', :'tls_dir' || '/client.key', false) IS NOT NULL AS key;
SELECT (r).status, (r).body FROM (SELECT http.get('https://localhost:' || :'mtls_port' || '/', NULL, '{"keepalive": false}') r) s;
SET pg_http.client_key = '/nonexistent/client.key';
SELECT t.errmsg(format('SELECT http.get(%L, NULL, ''{"keepalive": false}'')', 'https://localhost:' || :'mtls_port' || '/'));
RESET pg_http.client_cert;
RESET pg_http.client_key;

-- proxies: the server's environment names one (the mock server, which answers
-- proxy-form requests itself), and it is ignored unless a superuser says so
SELECT (http.get(:'httpbin' || '/get')).status AS direct;
SET pg_http.proxy_from_environment = on;
SELECT t.scrub((http.get('http://anything.invalid/path', NULL, '{"keepalive": false}')).body) AS via_environment;
RESET pg_http.proxy_from_environment;
SELECT set_config('pg_http.proxy', current_setting('pg_http_test.mock'), false) IS NOT NULL AS set;
SELECT t.scrub((http.get('http://anything.invalid/other', NULL, '{"keepalive": false}')).body) AS via_setting;
RESET pg_http.proxy;
SELECT t.errmsg('SELECT http.get(''http://anything.invalid/path'')') AS without_proxy;
