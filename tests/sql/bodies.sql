-- Response bodies: framings, sizes, exact bytes, charsets, limits.
SELECT current_setting('pg_http_test.mock') AS mock \gset

-- Content-Length, chunked, chunked with trailers, close-delimited; 10 MB each way
SELECT path, (r).status, length((r).body) AS length, md5((r).body) = (r).headers->>'x-body-md5' AS md5_matches,
       (r).headers ? 'x-trailer' AS trailer_in_headers
  FROM unnest(ARRAY['/text/10000000', '/chunked/10000000', '/chunked/100000?chunk=7&trailers=1',
                    '/chunked/30000?chunk=1000&slow=1', '/close-delimited/1000000', '/text/0']) path,
       LATERAL (SELECT http.get(:'mock' || path) r) s;

-- binary bodies come through bytea exactly
SELECT size, md5((r).body) = (r).headers->>'x-body-md5' AS md5_matches, length((r).body) = size AS length_matches
  FROM unnest(ARRAY[0, 1, 255, 65536, 10000000]) size,
       LATERAL (SELECT http.request_bytes('GET', :'mock' || '/bytes/' || size || '?seed=' || size) r) s;

-- a large request body arrives whole
SELECT (convert_from((r).body, 'UTF8')::jsonb->>'body_len')::int AS body_len,
       convert_from((r).body, 'UTF8')::jsonb->>'body_md5' = md5(repeat('x', 3000000)) AS md5_matches
  FROM (SELECT http.request_bytes('PUT', :'mock' || '/echo', convert_to(repeat('x', 3000000), 'UTF8')) r) s;

-- 1xx interim responses are skipped
SELECT (r).status, (r).body FROM (SELECT http.get(:'mock' || '/interim?n=3') r) s;

-- charsets: converted to the database encoding (UTF8 here)
SELECT cs, (http.get(:'mock' || '/charset?cs=' || cs)).body
  FROM unnest(ARRAY['latin1', 'utf-8', 'ISO-8859-1', 'windows-1252', 'utf8']) cs;
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/charset?cs=utf-16')$$);
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/invalid-utf8')$$);
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/nul-byte')$$);
-- the bytea variant takes any bytes
SELECT (http.request_bytes('GET', :'mock' || '/invalid-utf8')).body;

-- body limits, known in advance or found while reading
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/text/1000', options => '{"max_response_bytes": 999}')$$);
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/chunked/1000?chunk=100', options => '{"max_response_bytes": 999}')$$);
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/close-delimited/1000', options => '{"max_response_bytes": 500}')$$);
SELECT length((http.get(:'mock' || '/text/1000', options => '{"max_response_bytes": 1000}')).body);
SET pg_http.max_response_bytes = '2kB';
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/text/4096')$$);
RESET pg_http.max_response_bytes;
-- and the backend goes on
SELECT (http.get(:'mock' || '/status/200')).status;
