-- The two calls pg_http must serve verbatim, against the local httpbin.
SELECT current_setting('pg_http_test.httpbin') AS httpbin,
       current_setting('pg_http_test.httpbin_port')::int AS httpbin_port \gset

SELECT (r).status, (r).body::jsonb->'headers'->>'Authorization' AS authorization,
       (r).content_type, (r).http_version, t.scrub((r).url) AS url
  FROM (SELECT http_request('127.0.0.1', :httpbin_port, '/headers', 'GET', NULL, '{"Authorization":"Bearer demo-token"}'::jsonb, false, 30) AS r) s;

SELECT (r).status, (r).body::jsonb->'json' AS json,
       (r).body::jsonb->'headers'->>'Content-Type' AS sent_content_type
  FROM (SELECT http.post(:'httpbin' || '/post', '{"data":{"a": 1,"b": 2}}') AS r) s;

-- The same first call by name: "localhost" is resolved (in a helper thread),
-- and if it resolves to ::1 first, where httpbin does not listen, the next
-- address is tried.
SELECT (r).status, (r).body::jsonb->'headers'->>'Host' AS host_header
  FROM (SELECT http_request('localhost', :httpbin_port, '/headers', 'GET', NULL, '{"Authorization":"Bearer demo-token"}'::jsonb, false, 30) AS r) s
  \gset seed_
SELECT :seed_status AS status, t.scrub(:'seed_host_header') AS host_header;

-- NULL path, method and timeout take their defaults.
SELECT (http_request('127.0.0.1', :httpbin_port, NULL, NULL, NULL, NULL, false, NULL)).status;
