-- Forms, query strings and multipart bodies built from jsonb (0.5.0):
-- http.urlencode(), http.url() and the request document's "query", "form"
-- and "multipart", checked against published examples and against what a
-- real server (httpbin) parses back.
SELECT current_setting('pg_http_test.httpbin') AS httpbin \gset

-- WHATWG URL standard, application/x-www-form-urlencoded serializer: a
-- space is "+", only alphanumerics and *-._ stay, every other byte of the
-- UTF-8 text is %XX.  The spec's URLSearchParams example: "b ~" serializes
-- as "b+%7E" in a form, but stays "b%20~" in a URL's query.
SELECT http.urlencode('{"a": "b c", "ü": "€"}') AS form;
SELECT http.urlencode('{"a": "b ~"}') AS form,
       http.url('https://example.com/', '{"a": "b ~"}') AS url;
SELECT http.urlencode(jsonb_build_object('k', '*-._~!''()+&=/?#%')) AS form;

-- RFC 3986 2.3: unreserved characters (ALPHA DIGIT -._~) are never encoded;
-- 2.5: LATIN CAPITAL LETTER A WITH GRAVE is %C3%80, KATAKANA LETTER A is
-- %E3%82%A2; 2.1: a space is %20 and hex digits are upper case.
SELECT http.url('http://example.com/', jsonb_build_object(
         'u', 'AZaz09-._~', 'g', chr(192), 'k', chr(12450), 's', 'a b+c&d=e/f?g#h%')) AS url;

-- Values: arrays repeat the key, numbers and booleans are their JSON text,
-- null is the key with an empty value, an empty array sends nothing.
SELECT http.urlencode('{"a": [1, 2], "b": true, "c": null, "d": 1.50, "e": [], "f": ["x y", null]}') AS form;
-- jsonb sorts object keys (shorter first); [key, value] pairs keep their order
SELECT http.urlencode('{"zz": 1, "b": 2, "a": 3}') AS sorted,
       http.urlencode('[["zz", 1], ["b", 2], ["a", 3], ["zz", [4, 5]]]') AS pairs;
SELECT http.urlencode('{}') AS empty_form, http.urlencode('[]') AS empty_pairs,
       http.urlencode('{"": "v"}') AS empty_key;

-- http.url: "?" or "&" as the base needs, the query before any fragment
SELECT b, http.url(b, '{"q": "x y", "n": [1, 2]}') AS url
  FROM unnest(ARRAY['http://h/p', 'http://h/p?a=1', 'http://h/p?', 'http://h/p?a=1&',
                    'http://h/p#frag', 'http://h/p?a=1#frag?x', 'http://h/p#', '']) b;
SELECT http.url('http://h/p#frag', '{}') AS no_params;
SELECT http.url(NULL, '{}') IS NULL AS strict_base, http.url('http://h/', NULL) IS NULL AS strict_params;

-- What has no encoding is refused, with SQLSTATE 22023
SELECT t.err($$SELECT http.urlencode('{"a": {"b": 1}}')$$);
SELECT t.err($$SELECT http.urlencode('{"a": [1, [2]]}')$$);
SELECT t.err($$SELECT http.url('http://h/', '{"a": [{"b": 1}]}')$$);
SELECT t.err($$SELECT http.urlencode('"a=b"')$$);
SELECT t.err($$SELECT http.urlencode('[["a", 1, 2]]')$$);
SELECT t.err($$SELECT http.urlencode('[[1, "a"]]')$$);
SELECT t.err($$SELECT http.urlencode('[{"a": 1}]')$$);

-- The request document: "query" joins the URL's own query, "form" is the
-- body with its Content-Type, parsed back by httpbin
SELECT (r).status, (r).body::jsonb->'args' AS args, (r).body::jsonb->'form' AS form,
       (r).body::jsonb->'headers'->>'Content-Type' AS content_type,
       t.scrub((r).body::jsonb->>'url') AS url
  FROM (SELECT http.request(jsonb_build_object(
          'method', 'POST', 'url', :'httpbin' || '/post?x=0#ignored',
          'query', '{"q": "a b&c", "t": ["1", "2"], "é": "~"}'::jsonb,
          'form', '{"name": "Zoë + Bob", "tag": ["x", "y"], "e": "", "n": null}'::jsonb)) AS r) s;
-- a Content-Type the caller sets is kept for a form
SELECT (r).body::jsonb->'headers'->>'Content-Type' AS content_type, (r).body::jsonb->>'data' AS data
  FROM (SELECT http.request(jsonb_build_object(
          'method', 'POST', 'url', :'httpbin' || '/post',
          'headers', '{"Content-Type": "text/plain"}'::jsonb, 'form', '{"a": "b c"}'::jsonb)) AS r) s;

-- "multipart": text, base64 and bytea parts, parsed back by httpbin
SELECT (r).status, (r).body::jsonb->'form' AS form, (r).body::jsonb->'files' AS files,
       (r).body::jsonb->'headers'->>'Content-Type' ~ '^multipart/form-data; boundary=pg_http-[0-9a-f]{48}$' AS boundary_ok
  FROM (SELECT http.request(jsonb_build_object(
          'method', 'POST', 'url', :'httpbin' || '/post',
          'multipart', jsonb_build_array(
            '{"name": "purpose", "text": "fine-tune"}'::jsonb,
            '{"name": "file", "filename": "train.jsonl", "content_type": "application/jsonl", "text": "{\"a\": 1}\n{\"a\": 2}\n"}'::jsonb,
            '{"name": "b64", "filename": "b.txt", "base64": "aGVsbG8gd29ybGQ="}'::jsonb,
            '{"name": "raw", "filename": "r.txt", "bytes": "\\x6279746561"}'::jsonb,
            jsonb_build_object('name', 'looks like a boundary', 'text', E'--pg_http-0000\r\n--\r\nend--')))) AS r) s;
-- a name cannot inject a header: '"' and CR/LF are escaped as browsers do
SELECT jsonb_object_keys((r).body::jsonb->'form') AS escaped_name
  FROM (SELECT http.request(jsonb_build_object(
          'method', 'POST', 'url', :'httpbin' || '/post',
          'multipart', jsonb_build_array(jsonb_build_object(
            'name', E'a"\r\nX-Injected: yes', 'text', 'v')))) AS r) s;
-- in a batch item too
SELECT idx, status, body::jsonb->'form' AS form, body::jsonb->'args' AS args, sqlstate
  FROM http.batch(jsonb_build_array(
    jsonb_build_object('method', 'POST', 'url', :'httpbin' || '/post',
                       'multipart', '[{"name": "m", "text": "part"}]'::jsonb),
    jsonb_build_object('method', 'POST', 'url', :'httpbin' || '/post', 'query', '{"a": "1"}'::jsonb,
                       'form', '{"f": "2"}'::jsonb),
    jsonb_build_object('url', :'httpbin' || '/get', 'form', '{"f": "2"}'::jsonb, 'body', 'x')))
 ORDER BY idx;

-- Malformed documents are refused before anything is sent
SELECT t.err(format('SELECT http.request(%L::jsonb)', d))
  FROM unnest(ARRAY[
    '{"url": "http://127.0.0.1:1/", "body": "x", "form": {"a": 1}}',
    '{"url": "http://127.0.0.1:1/", "body": "x", "multipart": []}',
    '{"url": "http://127.0.0.1:1/", "form": {"a": 1}, "multipart": []}',
    '{"url": "http://127.0.0.1:1/", "form": "a=1"}',
    '{"url": "http://127.0.0.1:1/", "query": {"a": {"b": 1}}}',
    '{"url": "http://127.0.0.1:1/", "multipart": {"name": "a"}}',
    '{"url": "http://127.0.0.1:1/", "multipart": ["a"]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"text": "a"}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": "a"}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": "a", "text": "a", "bytes": "\\x00"}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": "a", "base64": "%%%"}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": "a", "bytes": "\\xzz"}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": 1, "text": "a"}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": "a", "text": "a", "size": 1}]}',
    '{"url": "http://127.0.0.1:1/", "multipart": [{"name": "a", "text": "a", "content_type": "text/plain\r\nX: y"}]}',
    '{"url": "http://127.0.0.1:1/", "headers": {"content-type": "multipart/form-data"}, "multipart": []}']) d;
