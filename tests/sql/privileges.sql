-- Who may do what.
SELECT current_setting('pg_http_test.mock') AS mock \gset
CREATE ROLE regress_http_user;
GRANT USAGE ON SCHEMA t TO regress_http_user;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t TO regress_http_user;

SET ROLE regress_http_user;
-- without a grant, network functions are refused
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/status/200')$$);
SELECT t.err($$SELECT http_request('127.0.0.1', 1, '/', 'GET', NULL, NULL, false, 5)$$);
SELECT t.err($$SELECT * FROM http.batch('[]')$$);
-- the harmless ones are open
SELECT http.transport() IS NOT NULL AS transport, http.version() IS NOT NULL AS version;
RESET ROLE;

GRANT EXECUTE ON FUNCTION http.get(text, jsonb, jsonb) TO regress_http_user;
SET ROLE regress_http_user;
SELECT (http.get(:'mock' || '/status/200')).status;
-- settings that loosen the policy or raise limits are superuser-only
SELECT s, t.err(format('SET %s = %L', s, v))
  FROM (VALUES ('pg_http.allowed_hosts', '*'), ('pg_http.denied_hosts', ''),
               ('pg_http.max_response_bytes', '1GB'), ('pg_http.max_header_bytes', '1MB'),
               ('pg_http.max_headers', '1000'), ('pg_http.max_redirects', '50')) v(s, v);
-- and per-request options can only tighten
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/status/200', NULL, '{"max_response_bytes": 1000000000}')$$);
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/status/200', NULL, '{"max_redirects": 11}')$$);
-- user-level settings are the user's
SET pg_http.timeout = '5s';
SET pg_http.user_agent = 'mine';
RESET ROLE;

REVOKE ALL ON SCHEMA t FROM regress_http_user;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA t FROM regress_http_user;
REVOKE ALL ON FUNCTION http.get(text, jsonb, jsonb) FROM regress_http_user;
DROP ROLE regress_http_user;
