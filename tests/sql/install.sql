-- Installation, object membership and default privileges.
CREATE EXTENSION pg_http;

SELECT http.transport() IN ('curl', 'mbedtls', 'mock') AS known_transport;
SELECT http.version() = extversion AS version_matches
  FROM pg_extension WHERE extname = 'pg_http';
SELECT extrelocatable FROM pg_extension WHERE extname = 'pg_http';

-- Every function of the extension, and whether a role with no grants may
-- execute it: network functions are not executable by PUBLIC.
CREATE ROLE regress_http_nobody;
SELECT p.oid::regprocedure AS function,
       has_function_privilege('regress_http_nobody', p.oid, 'EXECUTE') AS public_execute
  FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.classid = 'pg_proc'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_http')
 ORDER BY 1::text;
SELECT has_schema_privilege('regress_http_nobody', 'http', 'USAGE') AS schema_usage;
DROP ROLE regress_http_nobody;

-- The response types convert cleanly to JSON.
SELECT to_jsonb(ROW(200, '{}'::jsonb, 'b', 'text/plain', 'http://x/', '1.1', 1.5, '{"total_ms": 1.5}')::http.response);

-- DROP removes everything, including the http schema; CREATE works again.
DROP EXTENSION pg_http;
SELECT count(*) FROM pg_namespace WHERE nspname = 'http';
CREATE EXTENSION pg_http;

-- Test helpers used by the suites that follow: run a statement and report
-- its error as SQLSTATE, message, detail and hint, with the random ports of
-- this run replaced by names.
CREATE SCHEMA t;
CREATE FUNCTION t.scrub(s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  p text;
BEGIN
  FOREACH p IN ARRAY ARRAY['httpbin_port', 'mock_port', 'httpbin_tls_port', 'mock_tls_port',
                           'expired_port', 'untrusted_port', 'h2_port', 'mtls_port',
                           'tls_garbage_port', 'tls_drop_port'] LOOP
    s := replace(s, current_setting('pg_http_test.' || p), upper(p));
  END LOOP;
  RETURN s;
END $$;
CREATE FUNCTION t.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text; det text; hnt text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                          det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
  RETURN t.scrub(st || ': ' || msg
                 || CASE WHEN det <> '' THEN E'\nDETAIL: ' || det ELSE '' END
                 || CASE WHEN hnt <> '' THEN E'\nHINT: ' || hnt ELSE '' END);
END $$;
-- The same, but only SQLSTATE and message (for details that vary by machine).
CREATE FUNCTION t.errmsg(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  st text; msg text;
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN t.scrub(st || ': ' || msg);
END $$;
-- Counters of the mock server.  Each helper call uses a connection of its
-- own, closed after it: after t.mock_reset(), t.mock_stats() counts 2
-- connections plus those opened by the statements under test.
CREATE FUNCTION t.mock_stats() RETURNS jsonb LANGUAGE sql AS $$
  SELECT ((http.get(current_setting('pg_http_test.mock') || '/__stats', NULL,
                    '{"keepalive": false}')).body)::jsonb
$$;
CREATE FUNCTION t.mock_reset() RETURNS void LANGUAGE sql AS $$
  SELECT null::void FROM http.get(current_setting('pg_http_test.mock') || '/__reset', NULL,
                                  '{"keepalive": false}')
$$;
-- A mock URL that answers with exactly these bytes, then closes.
CREATE FUNCTION t.raw(response text, hold float8 DEFAULT 0) RETURNS text LANGUAGE sql AS $$
  SELECT current_setting('pg_http_test.mock') || '/raw?b='
         || translate(encode(convert_to(response, 'UTF8'), 'base64'), E'+/\n', '-_')
         || CASE WHEN hold > 0 THEN '&hold=' || hold ELSE '' END
$$;
-- Counters of the TLS mock server (its own connection per call, like above).
CREATE FUNCTION t.mock_tls_stats() RETURNS jsonb LANGUAGE sql AS $$
  SELECT ((http.get('https://localhost:' || current_setting('pg_http_test.mock_tls_port') || '/__stats', NULL,
                    '{"keepalive": false}')).body)::jsonb
$$;
CREATE FUNCTION t.mock_tls_reset() RETURNS void LANGUAGE sql AS $$
  SELECT null::void FROM http.get('https://localhost:' || current_setting('pg_http_test.mock_tls_port') || '/__reset',
                                  NULL, '{"keepalive": false}')
$$;
