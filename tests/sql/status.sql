-- HTTP status codes are rows, never errors.
SELECT current_setting('pg_http_test.httpbin') AS httpbin,
       current_setting('pg_http_test.mock') AS mock \gset

SELECT code, (r).status, (r).body
  FROM unnest(ARRAY[200, 201, 204, 400, 404, 418, 500, 503]) code,
       LATERAL (SELECT http.get(:'mock' || '/status/' || code) r) s
 ORDER BY code;

SELECT code, (http.get(:'httpbin' || '/status/' || code)).status
  FROM unnest(ARRAY[202, 401, 403, 409, 422, 429, 502, 504]) code ORDER BY code;

-- redirects are returned, not followed, unless asked for
SELECT (r).status, (r).headers->>'location' AS location
  FROM (SELECT http.get(:'httpbin' || '/redirect-to?url=/get&status_code=302') r) s;

-- 304 and 204 have no body even if the server sent framing headers
SELECT (http.get(:'httpbin' || '/status/304')).status, (http.get(:'httpbin' || '/status/304')).body;
