-- Failures on the wire: each has its SQLSTATE, and the backend goes on.
SELECT current_setting('pg_http_test.mock') AS mock \gset

-- nothing listens on port 1
SELECT t.err('SELECT http.get(''http://127.0.0.1:1/'')');
SELECT t.err('SELECT http_request(''127.0.0.1'', 1, ''/'', ''GET'', NULL, NULL, false, 5)');
SELECT t.err('SELECT http.get(''http://[::1]:1/'')');
-- a name that cannot resolve (the resolver's wording varies by machine)
SELECT t.errmsg('SELECT http.get(''http://nonexistent.invalid/'')');

-- the server misbehaves
SELECT p, t.err(format('SELECT http.get(%L)', :'mock' || p))
  FROM unnest(ARRAY['/close-before-response', '/reset-before-response', '/reset-headers',
                    '/reset-body', '/long-header?n=70000', '/many-headers?n=200']) p;
-- the backend is still fine
SELECT (http.get(:'mock' || '/status/200')).status;
