-- pg_http 0.4.0 -> 0.5.0
\echo Use "ALTER EXTENSION pg_http UPDATE TO '0.5.0'" to load this file. \quit

-- Forms, query strings and multipart bodies (0.5.0).  The request document
-- takes "query", "form" and "multipart" too; these build the same encodings
-- for use anywhere.  No network: every role may call them.
CREATE FUNCTION http.urlencode(params jsonb) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_urlencode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION http.urlencode(jsonb)
IS 'An application/x-www-form-urlencoded body (WHATWG) from a jsonb object or [key, value] pairs; arrays repeat the key';

CREATE FUNCTION http.url(base text, params jsonb) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_url'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION http.url(text, jsonb)
IS 'base with params appended as its query string (RFC 3986 percent-encoding), before any #fragment';

-- Policy explain and trace context (0.5.0).  http.check judges a URL as a
-- request would be judged, without sending it; it resolves the host name,
-- so it is a network function: not granted to PUBLIC.  The trace context
-- is a setting (pg_http.traceparent), with no SQL object.
CREATE FUNCTION http.check(url text, role name DEFAULT current_user) RETURNS jsonb
AS 'MODULE_PATHNAME', 'pg_http_check'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.check(text, name)
IS 'Whether role may reach url now and which rule decides (allow and deny lists, http.acl, the address guard), without sending anything';
REVOKE ALL ON FUNCTION http.check(text, name) FROM PUBLIC;

-- Responses as rows while they stream (0.5.0).  The body is read as rows
-- are taken, in bounded memory: max_response_bytes limits a row, not the
-- body, and timeout_ms is the longest wait for the next bytes.  A body that
-- breaks off, or a status other than 2xx (SQLSTATE HTxxx), fails the
-- statement.  Network functions: not granted to PUBLIC.
CREATE FUNCTION http.get_lines(url text, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'pg_http_get_lines'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION http.get_lines(text, jsonb, jsonb)
IS 'GET url and return its body one line per row (LF or CRLF), read as the rows are taken';

CREATE FUNCTION http.get_json_rows(url text, path text[] DEFAULT NULL, headers jsonb DEFAULT NULL,
								   options jsonb DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'pg_http_get_json_rows'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION http.get_json_rows(text, text[], jsonb, jsonb)
IS 'GET url and return the elements of its JSON array (the document, or the array at path, a list of object keys) one per row, read as the rows are taken';

CREATE FUNCTION http.get_pages(url text, max_pages integer DEFAULT 10, headers jsonb DEFAULT NULL,
							   options jsonb DEFAULT NULL)
RETURNS SETOF http.response
AS 'MODULE_PATHNAME', 'pg_http_get_pages'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;
COMMENT ON FUNCTION http.get_pages(text, integer, jsonb, jsonb)
IS 'GET url and the pages its Link rel="next" headers lead to, on the same origin, up to max_pages; one response per page';

REVOKE ALL ON FUNCTION
	http.get_lines(text, jsonb, jsonb),
	http.get_json_rows(text, text[], jsonb, jsonb),
	http.get_pages(text, integer, jsonb, jsonb)
FROM PUBLIC;
