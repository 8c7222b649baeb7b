-- Redirects: off unless asked for; each hop through the same checks.
SELECT current_setting('pg_http_test.httpbin') AS httpbin,
       current_setting('pg_http_test.mock') AS mock,
       current_setting('pg_http_test.mock_port') AS mock_port \gset

-- relative and absolute chains
SELECT (r).status, t.scrub((r).url) AS url
  FROM (SELECT http.get(:'httpbin' || '/redirect/3', NULL, '{"max_redirects": 3}') r) s;
SELECT (r).status, t.scrub((r).url) AS url
  FROM (SELECT http.get(:'httpbin' || '/absolute-redirect/2', NULL, '{"max_redirects": 5}') r) s;
-- a chain longer than allowed returns its last redirect as a row
SELECT (r).status, t.scrub((r).url) AS url, (r).headers->>'location' AS location
  FROM (SELECT http.get(:'httpbin' || '/redirect/3', NULL, '{"max_redirects": 2}') r) s;
-- not followed by default
SELECT (http.get(:'httpbin' || '/redirect/1')).status;

-- methods: 301/302/303 continue a POST as GET without its body; 307/308 keep both
SELECT code, (r).body::jsonb->>'method' AS method, (r).body::jsonb->>'data' AS data,
       (r).body::jsonb->'headers'->>'Content-Type' AS content_type
  FROM unnest(ARRAY[301, 302, 303, 307, 308]) code,
       LATERAL (SELECT http.post(:'httpbin' || '/redirect-to?url=/anything&status_code=' || code,
                                 'payload', 'text/plain', NULL, '{"max_redirects": 1}') r) s
 ORDER BY code;

-- reference resolution: dot segments, query-only, scheme-relative
SELECT loc, t.scrub((http.get(:'mock' || '/redir/a/b/c?to=' || loc, NULL, '{"max_redirects": 1}')).url) AS url
  FROM unnest(ARRAY['../x', './y', 'z', '/abs', '%3Fq%3D1', '..%2F..%2F..%2Ftop']) loc;

-- credentials stay with their origin
SELECT (http.get(:'mock' || '/redir/x?to=' || :'httpbin' || '/headers', '{"Authorization": "Bearer t", "Cookie": "c=1", "X-Other": "kept"}',
                 '{"max_redirects": 1}')).body::jsonb->'headers' ?| ARRAY['Authorization', 'Cookie'] AS credentials_sent_on,
       (http.get(:'mock' || '/redir/x?to=' || :'httpbin' || '/headers', '{"X-Other": "kept"}',
                 '{"max_redirects": 1}')).body::jsonb->'headers'->>'X-Other' AS other_header;
SELECT (http.get(:'httpbin' || '/redirect-to?url=/headers', '{"Authorization": "Bearer t"}',
                 '{"max_redirects": 1}')).body::jsonb->'headers'->>'Authorization' AS same_origin_keeps;

-- every hop is checked like the first
SET pg_http.allowed_hosts = '127.0.0.1';
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 3}'')',
                    :'mock' || '/redir/x?to=http://[::1]:' || :'mock_port' || '/status/200'));
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 3}'')',
                    :'mock' || '/redir/x?to=http://localhost:' || :'mock_port' || '/status/200'));
RESET pg_http.allowed_hosts;
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 3}'')', :'mock' || '/redir/x?to=ftp://127.0.0.1/f'));
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 3}'')', :'mock' || '/redir/x?to=http://bad%20host/'));
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 3}'')', :'mock' || '/redir/x?to=/a%20b'));

-- a redirect loop ends at the limit: the last redirect is the row
SELECT t.mock_reset();
SELECT (r).status, (r).headers->>'location' AS location
  FROM (SELECT http.get(:'mock' || '/redir-loop', NULL, '{"max_redirects": 10}') r) s;
SELECT t.mock_stats()->'requests'->'/redir-loop' AS hops_requested;
