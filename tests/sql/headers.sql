-- Request headers in, response headers out.
SELECT current_setting('pg_http_test.httpbin') AS httpbin,
       current_setting('pg_http_test.mock') AS mock \gset

-- request headers as given, plus pg_http's defaults
SELECT ((r).body::jsonb->'headers') - 'Host'::text - 'User-Agent'::text AS headers,
       (r).body::jsonb->'headers'->>'User-Agent' = 'pg_http/' || http.version() AS default_user_agent
  FROM (SELECT http.get(:'httpbin' || '/headers', '{"X-One": "1", "X-Two": "two words"}') r) s;

-- Host carries the port unless it is the scheme's default
SELECT t.scrub((http.get(:'httpbin' || '/headers')).body::jsonb->'headers'->>'Host') AS host;

-- an array repeats a header, in order (the mock echoes the raw field list)
SELECT jsonb_path_query_array((http.get(:'mock' || '/echo', '{"X-Rep": ["a", "b", "c"]}')).body::jsonb,
                              'strict $.headers[*] ? (@[0] == "X-Rep")') AS repeated;

-- the request's own headers win over defaults, case-insensitively
SELECT (r).body::jsonb->'headers'->>'User-Agent' AS ua, (r).body::jsonb->'headers'->>'Accept' AS accept
  FROM (SELECT http.get(:'httpbin' || '/headers', '{"user-agent": "mine/1", "ACCEPT": "text/csv"}') r) s;
SELECT (http.post(:'httpbin' || '/anything', '{"a": 1}'::jsonb, '{"Content-Type": "application/vnd.x+json"}')).body::jsonb->'headers'->>'Content-Type' AS content_type;

-- Host may be overridden
SELECT jsonb_path_query_first((http.get(:'mock' || '/echo', '{"Host": "virtual.example"}')).body::jsonb,
                              'strict $.headers[*] ? (@[0] == "Host")') AS host;

-- pg_http.user_agent; empty sends none
SET pg_http.user_agent = 'custom-agent/2';
SELECT (http.get(:'httpbin' || '/headers')).body::jsonb->'headers'->>'User-Agent' AS ua;
SET pg_http.user_agent = '';
SELECT (http.get(:'httpbin' || '/headers')).body::jsonb->'headers' ? 'User-Agent' AS has_ua;
RESET pg_http.user_agent;

-- URL credentials become Basic authentication and never show up in the URL
SELECT (r).status, (r).body::jsonb->>'authenticated' AS authenticated, t.scrub((r).url) AS url
  FROM (SELECT http.get(replace(:'httpbin', '://', '://user:p%40ss@') || '/basic-auth/user/p@ss') r) s;
SELECT (http.get(replace(:'httpbin', '://', '://user:wrong@') || '/basic-auth/user/p@ss')).status;
-- an explicit Authorization header wins over URL credentials
SELECT (http.get(replace(:'httpbin', '://', '://user:p%40ss@') || '/headers',
                 '{"Authorization": "Bearer explicit"}')).body::jsonb->'headers'->>'Authorization' AS authorization;

-- response headers: lower-case names; a repeated name becomes an array in order
SELECT (http.get(:'mock' || '/repeated-headers')).headers;
SELECT (r).headers->>'content-type' AS ct, (r).content_type
  FROM (SELECT http.get(:'httpbin' || '/response-headers?Content-Type=text/x-custom;%20charset=utf-8') r) s;
SELECT jsonb_typeof((http.get(:'mock' || '/repeated-headers')).headers->'set-cookie') AS repeated_type,
       jsonb_typeof((http.get(:'mock' || '/repeated-headers')).headers->'x-one') AS single_type;
