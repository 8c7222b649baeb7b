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
