-- Responses as rows while they stream: http.get_lines, http.get_json_rows,
-- http.get_pages.  The large body, the memory bound and cancels are in the
-- scenarios (streams_*); here: rows, framings, errors and pages.
SELECT current_setting('pg_http_test.mock') AS mock \gset

-- lines: LF and CRLF, a last line with no LF, empty lines kept
SELECT * FROM http.get_lines(:'mock' || '/ndjson?rows=3&pad=2');
SELECT l, length(l) FROM http.get_lines(:'mock' || '/ndjson?rows=2&crlf=1') l;
SELECT l FROM http.get_lines(t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\na\n\nb\r\nc\nlast')) l;
SELECT count(*) FROM http.get_lines(t.raw(E'HTTP/1.1 204 No Content\r\n\r\n'));
-- many rows across many reads, in order, none lost (chunked, blocks of 2000)
SELECT count(*), sum((l::jsonb->>'i')::bigint) = 19999 * 20000 / 2 AS all_rows,
       bool_and((l::jsonb->>'i')::int = n - 1) AS in_order
  FROM http.get_lines(:'mock' || '/ndjson?rows=20000&pad=20') WITH ORDINALITY AS s(l, n);
-- a close-delimited body, and a body with a Content-Length
SELECT count(*), sum(length(l)) FROM http.get_lines(:'mock' || '/close-delimited/100000') l;
SELECT count(*), sum(length(l)) FROM http.get_lines(:'mock' || '/text/100000') l;
-- charset: rows are converted as bodies are, from the first row on (a
-- large body: the charset is known before the transfer ends)
SELECT l FROM http.get_lines(:'mock' || '/charset?cs=latin1') l;
SELECT count(*), bool_and(l LIKE '%ééé%') AS converted
  FROM http.get_lines(:'mock' || '/ndjson?rows=20000&pad=50&latin1=1') l;
-- in the select list, LIMIT stops reading (in FROM, the rows are stored
-- first); the next call works
SELECT http.get_lines(:'mock' || '/ndjson?rows=1000000&pad=100') LIMIT 2;
SELECT count(*) FROM http.get_lines(:'mock' || '/ndjson?rows=10');

-- JSON arrays: the document, or the array at a path of keys
SELECT * FROM http.get_json_rows(:'mock' || '/jsonarray?rows=3&pad=1');
SELECT j->'i' FROM http.get_json_rows(:'mock' || '/jsonarray?rows=3&wrap=1', '{data}') j;
SELECT * FROM http.get_json_rows(:'mock' || '/jsonarray?rows=3&wrap=1', '{meta,n}');
SELECT count(*), sum((j->>'i')::bigint) = 29999 * 30000 / 2 AS all_rows
  FROM http.get_json_rows(:'mock' || '/jsonarray?rows=30000&wrap=1&pad=7', ARRAY['data']) j;
SELECT * FROM http.get_json_rows(t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 59\r\n\r\n [ "a,]\\"[{" , 1.5e3,null, {"k":[1,{"x":"]"}]}, [] ,true ] '));
SELECT * FROM http.get_json_rows(t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 41\r\n\r\n{"d\\u0061ta": [1, 2], "data": "not this"}'), '{data}');
SELECT count(*) FROM http.get_json_rows(t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]'));
-- what is around the array must be JSON too
SELECT t.errmsg($$SELECT count(*) FROM http.get_json_rows('$$ || t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{"data":0, 5:[1,2]}') || $$', '{data}')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n[1,]') || $$')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n[1] [2,3]') || $$')$$);
-- nesting outside the elements is bounded (nothing of it is kept)
SELECT count(*) FROM http.get_json_rows(:'mock' || '/deep?n=9000', '{data}');
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || :'mock' || $$/deep?n=20000', '{data}')$$);

-- errors: the statement fails, no partial result
SELECT t.err($$SELECT count(*) FROM http.get_lines('$$ || :'mock' || $$/status/404')$$);
SELECT t.err($$SELECT count(*) FROM http.get_lines('$$ || :'mock' || $$/status/503')$$);
SELECT t.err($$SELECT count(*) FROM http.get_lines('$$ || :'mock' || $$/ndjson?rows=100000&break_at=30000')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || :'mock' || $$/jsonarray?rows=100000&break_at=30000')$$);
SELECT t.err($$SELECT count(*) FROM http.get_lines('$$ || :'mock' || $$/ndjson?rows=10&pad=100', NULL, '{"max_response_bytes": 50}')$$);
-- a line that never ends is refused once it is longer than the limit
SELECT t.err($$SELECT count(*) FROM http.get_lines('$$ || :'mock' || $$/ndjson?rows=1&pad=3000000', NULL, '{"max_response_bytes": 1000000}')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || :'mock' || $$/jsonarray?rows=3&wrap=1')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || :'mock' || $$/jsonarray?rows=3&wrap=1', '{meta}')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || :'mock' || $$/jsonarray?rows=3&wrap=1', '{nothing}')$$);
SELECT t.err($$SELECT count(*) FROM http.get_json_rows('$$ || :'mock' || $$/ndjson?rows=3')$$);
SELECT t.errmsg($$SELECT count(*) FROM http.get_json_rows('$$ || t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n[1, {"a"]') || $$')$$);
SELECT t.err($$SELECT count(*) FROM http.get_lines('$$ || :'mock' || $$/invalid-utf8')$$);
SELECT t.err($$SELECT count(*) FROM http.get_lines(NULL)$$);
-- a statement that fails inserts nothing
CREATE TEMP TABLE loaded (i int);
SELECT t.err($$INSERT INTO loaded SELECT (l::jsonb->>'i')::int FROM http.get_lines('$$ || :'mock' || $$/ndjson?rows=50000&break_at=40000') l$$);
SELECT count(*) FROM loaded;
INSERT INTO loaded SELECT (l::jsonb->>'i')::int FROM http.get_lines(:'mock' || '/ndjson?rows=5000') l;
SELECT count(*), max(i) FROM loaded;

-- pages: Link rel="next" (relative), up to max_pages, one response each
SELECT n, status, body::jsonb->0->'page' AS page, url ~ '/pages/\d+\?of=4&size=3$' AS url_ok
  FROM http.get_pages(:'mock' || '/pages/1?of=4&size=3') WITH ORDINALITY AS p(status, headers, body, content_type, url, http_version, elapsed_ms, timings, n);
SELECT count(*), sum(jsonb_array_length(body::jsonb)) FROM http.get_pages(:'mock' || '/pages/1?of=10&size=5', 100);
SELECT count(*) FROM http.get_pages(:'mock' || '/pages/1?of=10', 3);
SELECT t.err($$SELECT count(*) FROM http.get_pages('$$ || :'mock' || $$/pages/1?of=4&other=2')$$);
SELECT t.err($$SELECT count(*) FROM http.get_pages('$$ || :'mock' || $$/pages/1', 0)$$);
-- an error status is a page like any (http.get's rows), and ends the walk
SELECT status FROM http.get_pages(:'mock' || '/status/404');

-- no PUBLIC execute
SELECT p::regprocedure, has_function_privilege('public', p, 'EXECUTE') AS public_execute
  FROM unnest(ARRAY['http.get_lines(text,jsonb,jsonb)', 'http.get_json_rows(text,text[],jsonb,jsonb)',
                    'http.get_pages(text,integer,jsonb,jsonb)']::regprocedure[]) p;
