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

-- The environment names the http proxy in upper case only (libcurl itself
-- ignores HTTP_PROXY for http) and NO_PROXY lists loopback and the metadata
-- address.  With pg_http.proxy_from_environment on, pg_http reads them the
-- same way for every request: HTTP_PROXY serves http, and a NO_PROXY host
-- is reached directly, judged by the address guard like any direct
-- connection.
SET pg_http.proxy_from_environment = on;
SELECT t.scrub((http.get('http://named.invalid/x', NULL, '{"keepalive": false}')).body) AS upper_case_http_proxy;
SELECT (http.get(:'httpbin' || '/get')).body::jsonb ? 'url' AS no_proxy_goes_direct;
SELECT t.err('SELECT http.get(''http://169.254.169.254/latest/meta-data/iam/security-credentials/'')') AS metadata_via_no_proxy;
-- a literal address is judged before it is handed to the proxy
SELECT t.err('SELECT http.get(''http://10.1.2.3/'')') AS literal_to_proxy;
RESET pg_http.proxy_from_environment;
-- pg_http.proxy: every request goes through it, NO_PROXY or not; literal
-- addresses are judged first, names by the host lists and ACLs
SELECT set_config('pg_http.proxy', current_setting('pg_http_test.mock'), false) IS NOT NULL AS set;
SELECT t.scrub((http.get(:'httpbin' || '/get', NULL, '{"keepalive": false}')).body) AS loopback_via_proxy;
SELECT t.err('SELECT http.get(''http://169.254.169.254/latest/meta-data/'')') AS metadata_via_proxy;
SELECT t.err('SELECT http.get(''http://[::ffff:169.254.169.254]/'')') AS mapped_metadata_via_proxy;
SET pg_http.denied_hosts = '*.denied.invalid';
SELECT t.err('SELECT http.get(''http://api.denied.invalid/'')') AS name_via_proxy;
RESET pg_http.denied_hosts;
-- proxy credentials from a secret (pg_http.proxy_secret, "user:password"),
-- sent only to a proxy the secret is bound to
SELECT http.secret_define('proxy_cred', ARRAY['127.0.0.1'], '1-65535');
SET pg_http.proxy_secret = 'proxy_cred';
SELECT t.scrub((http.get('http://named.invalid/x', NULL, '{"keepalive": false}')).body) AS proxy_credentials;
SELECT http.secret_define('proxy_cred', ARRAY['proxy.example.com'], '1-65535');
SELECT t.err('SELECT http.get(''http://named.invalid/x'', NULL, ''{"keepalive": false}'')') AS proxy_not_bound;
SELECT t.err('SET pg_http.proxy_secret = ''../proxy''') AS bad_name;
RESET pg_http.proxy_secret;
SELECT http.secret_drop('proxy_cred');
RESET pg_http.proxy;
-- through a proxy that forwards: a redirect hop is judged the same way,
-- before it is handed to the proxy
SELECT set_config('pg_http.proxy', 'http://127.0.0.1:' || current_setting('pg_http_test.tunnel_port'), false) IS NOT NULL AS set;
SELECT (http.get(current_setting('pg_http_test.mock') || '/status/200', NULL, '{"keepalive": false}')).status AS forwarded;
SELECT t.err(format('SELECT http.get(%L, NULL, %L)', current_setting('pg_http_test.mock') || '/redir/x?to=http://169.254.169.254/',
                    '{"max_redirects": 1, "keepalive": false}')) AS hop_via_proxy;
RESET pg_http.proxy;

-- an HTTPS origin through a tunnelling proxy: its header limits hold (the
-- proxy's CONNECT answer is not what they are applied to)
SELECT set_config('pg_http.proxy', 'http://127.0.0.1:' || current_setting('pg_http_test.tunnel_port'), false) IS NOT NULL AS set;
SELECT (http.get('https://localhost:' || current_setting('pg_http_test.mock_tls_port') || '/status/200')).status AS through_tunnel;
SELECT t.err(format('SELECT http.get(%L)', 'https://localhost:' || current_setting('pg_http_test.mock_tls_port') || '/many-headers?n=150')) AS header_count_through_tunnel;
SELECT t.err(format('SELECT http.get(%L)', 'https://localhost:' || current_setting('pg_http_test.mock_tls_port') || '/long-header?n=70000')) AS header_size_through_tunnel;
RESET pg_http.proxy;

-- HTTP/2 responses obey the header count limit as HTTP/1.1 ones do
SELECT t.err(format('SELECT http.get(%L)', 'https://localhost:' || :'h2_port' || '/many-headers'));
SET pg_http.max_headers = 200;
SELECT (r).http_version, (r).status FROM (SELECT http.get('https://localhost:' || :'h2_port' || '/many-headers') r) s;
RESET pg_http.max_headers;

-- pgsql_http_compat (installed by compat_pgsql_http): what needs curl.  A
-- superuser's CURLOPT_PROXY stands in for pg_http.proxy (bare host:port,
-- as curl takes it), and its client certificate for pg_http.client_cert
SELECT phc.http_set_curlopt('CURLOPT_PROXY', '127.0.0.1'),
       phc.http_set_curlopt('CURLOPT_PROXYPORT', current_setting('pg_http_test.mock_port'));
SELECT t.scrub((phc.http_get('http://anything.invalid/compat')).content) AS via_curlopt_proxy;
SELECT phc.http_reset_curlopt();
SELECT t.errmsg('SELECT phc.http_get(''http://anything.invalid/compat'')') AS without_proxy;
SELECT phc.http_set_curlopt('CURLOPT_SSLCERT', :'tls_dir' || '/client.pem'),
       phc.http_set_curlopt('CURLOPT_SSLKEY', :'tls_dir' || '/client.key');
SELECT status, content FROM phc.http_get('https://localhost:' || :'mtls_port' || '/');
SELECT phc.http_reset_curlopt();
-- content-encoding is decoded, as pgsql-http asks curl to
SELECT status, content::jsonb->>'gzipped' AS gzipped FROM phc.http_get(:'httpbin' || '/gzip');
