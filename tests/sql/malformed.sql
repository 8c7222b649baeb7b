-- Malformed and odd responses: every transport refuses the same ones with
-- the same SQLSTATE and message (curl runs its header sections through the
-- same codec).  Details name what was found, in the words of the library
-- that found it, so only SQLSTATE and message are shown here; the codec's
-- own verdicts are pinned by tests/unit/test_http1.c.
SELECT current_setting('pg_http_test.mock') AS mock \gset

SELECT what, t.errmsg(format('SELECT http.get(%L)', t.raw(resp)))
  FROM (VALUES
    ('garbage status line', E'garbage\r\n\r\n'),
    ('HTTP/0.9 style', 'just a body without status line'),
    ('HTTP/2 status line', E'HTTP/2 200\r\n\r\n'),
    ('Content-Length too large for what is sent', E'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort'),
    ('negative Content-Length', E'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'),
    ('conflicting Content-Length', E'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx'),
    ('non-hex chunk size', E'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'),
    ('chunk size overflow', E'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n'),
    ('missing last chunk', E'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'),
    ('gzip transfer coding', E'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'),
    ('101 Switching Protocols', E'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n'),
    ('1xx storm', repeat(E'HTTP/1.1 100 Continue\r\n\r\n', 20) || E'HTTP/1.1 200 OK\r\n\r\n'),
    ('space before colon', E'HTTP/1.1 200 OK\r\nBad : x\r\n\r\n'),
    ('bare CR in a header', E'HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n')) v(what, resp);

-- well-formed oddities are fine
SELECT what, (r).status, (r).body, (r).headers->>'x-f' AS x_f
  FROM (VALUES
    ('close-delimited HTTP/1.0', E'HTTP/1.0 200 OK\r\nX-F: 1\r\n\r\nuntil close'),
    ('bare LF line ends', E'HTTP/1.1 200 OK\nX-F: 2\nContent-Length: 2\n\nok'),
    ('folded header', E'HTTP/1.1 200 OK\r\nX-F: a\r\n b\r\nContent-Length: 0\r\n\r\n'),
    ('no reason phrase', E'HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n!'),
    ('both framings: chunked wins', E'HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'),
    ('equal Content-Length repeats', E'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok')) v(what, resp),
       LATERAL (SELECT http.get(t.raw(resp)) r) s;

-- the backend is still fine
SELECT (http.get(:'mock' || '/status/200')).status;
