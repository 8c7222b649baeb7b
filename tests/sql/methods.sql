-- Every method and every calling form, against httpbin and the mock's /echo.
SELECT current_setting('pg_http_test.httpbin') AS httpbin,
       current_setting('pg_http_test.mock') AS mock \gset

-- httpbin's /anything echoes method, JSON body and form data
SELECT 'get' AS call, (r).status, (r).body::jsonb->>'method' AS method
  FROM (SELECT http.get(:'httpbin' || '/anything?x=1') r) s
UNION ALL
SELECT 'delete', (r).status, (r).body::jsonb->>'method'
  FROM (SELECT http.delete(:'httpbin' || '/anything') r) s
UNION ALL
SELECT 'request PUT', (r).status, (r).body::jsonb->>'method'
  FROM (SELECT http.request('PUT', :'httpbin' || '/anything', 'x') r) s
UNION ALL
SELECT 'request lower-case patch', (r).status, (r).body::jsonb->>'method'
  FROM (SELECT http.request('patch', :'httpbin' || '/anything') r) s;

-- JSON bodies: post, put, patch with jsonb
SELECT m, (r).status, (r).body::jsonb->>'method' AS method, (r).body::jsonb->'json' AS json,
       (r).body::jsonb->'headers'->>'Content-Type' AS content_type
  FROM (SELECT 'post' m, http.post(:'httpbin' || '/anything', '{"k": [1, 2]}'::jsonb) r
        UNION ALL
        SELECT 'put', http.put(:'httpbin' || '/anything', '{"k": "v"}'::jsonb)
        UNION ALL
        SELECT 'patch', http.patch(:'httpbin' || '/anything', '"scalar"'::jsonb)) s;

-- text bodies with a content type
SELECT m, (r).status, (r).body::jsonb->>'data' AS data,
       (r).body::jsonb->'headers'->>'Content-Type' AS content_type
  FROM (SELECT 'post' m, http.post(:'httpbin' || '/anything', 'plain text', 'text/plain') r
        UNION ALL
        SELECT 'put', http.put(:'httpbin' || '/anything', '<a/>', 'application/xml')
        UNION ALL
        SELECT 'patch', http.patch(:'httpbin' || '/anything', 'a,b', 'text/csv')) s;

-- form data arrives as form fields
SELECT (http.post(:'httpbin' || '/post', 'a=1&b=two', 'application/x-www-form-urlencoded')).body::jsonb->'form' AS form;

-- HEAD: no body, but the headers of a GET
SELECT (r).status, (r).body = '' AS empty_body, (r).headers ? 'content-length' AS has_length
  FROM (SELECT http.head(:'httpbin' || '/get') r) s;

-- methods httpbin does not route, through the mock's echo
SELECT m, (r).status, (r).body::jsonb->>'method' AS method
  FROM (SELECT m, http.request(m, :'mock' || '/echo') r
          FROM unnest(ARRAY['OPTIONS', 'PROPFIND', 'TRACE', 'GET']) m) s;

-- a POST without body says Content-Length: 0; a GET without body says nothing
SELECT m, (SELECT v->>1 FROM jsonb_array_elements((r).body::jsonb->'headers') v
            WHERE lower(v->>0) = 'content-length') AS content_length
  FROM (SELECT m, http.request(m, :'mock' || '/echo') r FROM unnest(ARRAY['POST', 'GET']) m) s;

-- the document form
SELECT (r).status, (r).body::jsonb->>'method' AS method, (r).body::jsonb->'json' AS json,
       (r).body::jsonb->'headers'->>'X-Doc' AS x_doc
  FROM (SELECT http.request(jsonb_build_object(
          'method', 'POST', 'url', :'httpbin' || '/anything',
          'headers', '{"X-Doc": "yes"}'::jsonb,
          'body', '{"from": "document"}'::jsonb,
          'options', '{"timeout_ms": 5000}'::jsonb)) r) s;
SELECT (r).body::jsonb->>'data' AS data
  FROM (SELECT http.request(jsonb_build_object('method', 'PUT', 'url', :'httpbin' || '/anything',
                                               'body', 'text as is')) r) s;
SELECT (r).body::jsonb->>'method' AS method
  FROM (SELECT http.request(jsonb_build_object('url', :'httpbin' || '/anything')) r) s;

-- bytea in and out: the exact bytes arrive, and the response bytes are exact
SELECT (r).status,
       convert_from((r).body, 'UTF8')::jsonb->>'body_md5' = md5(decode(repeat('00ff10', 1000), 'hex')) AS md5_matches,
       (convert_from((r).body, 'UTF8')::jsonb->>'body_len')::int AS body_len
  FROM (SELECT http.request_bytes('POST', :'mock' || '/echo', decode(repeat('00ff10', 1000), 'hex')) r) s;
SELECT (r).status, md5((r).body) = (r).headers->>'x-body-md5' AS md5_matches, length((r).body)
  FROM (SELECT http.request_bytes('GET', :'mock' || '/bytes/1000000?seed=7') r) s;
SELECT pg_typeof((http.request_bytes('GET', :'mock' || '/bytes/1')).body);

-- One request after another in the same session: whatever the one before
-- set (a HEAD, a body, another method, its own User-Agent or Accept), the
-- next one sends only what it asks for.  (The curl transport reuses its
-- handles and a handle's parsed URL between requests.)
SELECT n, (r).status, j->>'method' AS method, j->>'data' AS data,
       j->>'url' LIKE '%?second=url' AS second_url,
       replace(coalesce(j->'headers'->>'User-Agent', '(none)'), http.version(), 'VERSION') AS user_agent,
       j->'headers'->>'Accept' AS accept,
       j->'headers' ? 'Content-Type' AS has_content_type
  FROM (SELECT n, r, nullif((r).body, '')::jsonb AS j
          FROM (SELECT 1 n, http.head(:'httpbin' || '/anything') r
                UNION ALL SELECT 2, http.post(:'httpbin' || '/anything', 'one', 'text/plain')
                UNION ALL SELECT 3, http.get(:'httpbin' || '/anything')
                UNION ALL SELECT 4, http.request('DELETE', :'httpbin' || '/anything', 'gone')
                UNION ALL SELECT 5, http.request('POST', :'httpbin' || '/anything')
                UNION ALL SELECT 6, http.get(:'httpbin' || '/anything',
                                             '{"User-Agent": "mine/1", "Accept": "text/csv"}')
                UNION ALL SELECT 7, http.get(:'httpbin' || '/anything')
                UNION ALL SELECT 8, http.get(:'httpbin' || '/anything', '{"User-Agent": ""}')
                UNION ALL SELECT 9, http.get(:'httpbin' || '/anything?second=url')) s) t
 ORDER BY n;
