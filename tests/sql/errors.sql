-- Bad input is refused before anything is sent, with a clear error.
SELECT current_setting('pg_http_test.mock') AS mock \gset
SELECT t.mock_reset();

-- malformed URLs
SELECT u, t.err(format('SELECT http.get(%L)', u))
  FROM unnest(ARRAY[
    'example.com/path', 'ftp://example.com/', 'file:///etc/passwd', 'http://', 'http://:80/',
    'http://host:0/', 'http://host:65536/', 'http://host:8x/', 'http://ho st/',
    'http://a..b/', 'http://[::1/', 'http://[fe80::1%25eth0]/', 'http://256.1.1.1/',
    'http://example.123/', 'http://host/a b', 'http://host/%zz', 'http://host/caf' || chr(233),
    'http://us er:secret@host/', 'http://host/x#frag ment']) u;
-- userinfo is never echoed, not even when it is what is wrong
SELECT t.err($$SELECT http.get('http://user:top%secret@127.0.0.1/')$$) AS err,
       t.err($$SELECT http.get('http://user:top%secret@127.0.0.1/')$$) LIKE '%secret%' AS leaks;

-- headers
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/never', h))
  FROM unnest(ARRAY[
    '{"X-Bad": "a\r\nInjected: yes"}', '{"X-Bad": "a\nb"}', '{"X-Bad": "nul\u0000"}',
    '{"Bad Name": "v"}', '{"": "v"}', '{"X-Num": 1}', '{"X-Null": null}', '{"X-Obj": {"a": 1}}',
    '{"X-Arr": ["ok", 2]}', '{"X-Arr": [["nested"]]}', '["X-A", "b"]', '"X-A: b"',
    '{"Content-Length": "5"}', '{"transfer-encoding": "chunked"}']) h;

-- NULL arguments
SELECT t.err('SELECT http.get(NULL)');
SELECT t.err('SELECT http.request(NULL, ''http://127.0.0.1/'')');
SELECT t.err('SELECT http.request(NULL::jsonb)');
SELECT t.err('SELECT http_request(NULL, 80, ''/'', ''GET'', NULL, NULL, false, 30)');
SELECT t.err('SELECT http_request(''127.0.0.1'', 80, ''/'', ''GET'', NULL, NULL, NULL, 30)');
SELECT t.err('SELECT * FROM http.batch(NULL)');

-- http_request's parts
SELECT t.err(format('SELECT http_request(%L, %s, %L, %L, NULL, NULL, false, %s)', h, p, path, m, tmo))
  FROM (VALUES ('127.0.0.1', 0, '/', 'GET', 30), ('127.0.0.1', 65536, '/', 'GET', 30),
               ('127.0.0.1', 80, 'relative', 'GET', 30), ('127.0.0.1', 80, '/a b', 'GET', 30),
               ('127.0.0.1', 80, '/', 'GE T', 30), ('127.0.0.1', 80, '/', '', 30),
               ('127.0.0.1', 80, '/', 'GET', 0), ('127.0.0.1', 80, '/', 'GET', -1),
               ('127.0.0.1', 80, '/', 'GET', 3000000), ('bad host', 80, '/', 'GET', 30),
               ('[::1', 80, '/', 'GET', 30)) v(h, p, path, m, tmo);

-- options
SELECT o, t.err(format('SELECT http.get(%L, NULL, %L)', :'mock' || '/never', o))
  FROM unnest(ARRAY[
    '{"timeout": 5}', '{"timeout_ms": 0}', '{"timeout_ms": 1.5}', '{"timeout_ms": "5"}',
    '{"connect_timeout_ms": -1}', '{"keepalive": "yes"}', '{"max_response_bytes": -1}',
    '{"max_response_bytes": 1e12}', '{"max_redirects": 1000}', '[]']) o;

-- request documents
SELECT t.err(format('SELECT http.request(%L::jsonb)', d))
  FROM unnest(ARRAY[
    '[]', '"http://x/"', '{}', '{"url": 5}', '{"url": "http://127.0.0.1/", "method": 1}',
    '{"url": "http://127.0.0.1/", "verb": "GET"}', '{"url": "http://127.0.0.1/", "headers": "x"}',
    '{"url": "http://127.0.0.1/", "options": {"bogus": 1}}']) d;

-- nothing reached the mock server
SELECT (t.mock_stats()->'requests') ? '/never' AS anything_sent;
