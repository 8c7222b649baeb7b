-- pgsql_http_compat: pgsql-http 1.7's SQL surface on pg_http.  Every
-- function, the settings, and each deliberate difference (README, "From
-- pgsql-http").  The layer stays installed in schema phc for the suites
-- after this one (curl_transport, tls).
SELECT current_setting('pg_http_test.mock') AS mock,
       current_setting('pg_http_test.httpbin') AS httpbin \gset

-- pg_http's http_request(...) function and pgsql-http's http_request type
-- live side by side in one schema (pg_http's, public here): functions and
-- types are looked up apart, and a call with 8 arguments is the function
CREATE EXTENSION pgsql_http_compat;
SELECT (http_request('127.0.0.1', current_setting('pg_http_test.mock_port')::int,
                     '/status/200', 'GET', NULL, NULL, false, 5)).status AS function_call,
       (http(('GET', :'mock' || '/status/200', NULL, NULL, NULL)::http_request)).status AS type_use;
DROP EXTENSION pgsql_http_compat;

-- Installed beside pg_http, in the schema asked for; it needs pg_http.
CREATE SCHEMA phc;
CREATE EXTENSION pgsql_http_compat WITH SCHEMA phc;
SELECT e.extname, e.extversion, n.nspname, e.extrelocatable,
       (SELECT array_agg(r.extname ORDER BY r.extname) FROM pg_extension r
         WHERE r.oid = ANY (SELECT refobjid FROM pg_depend
                             WHERE objid = e.oid AND deptype = 'n' AND refclassid = 'pg_extension'::regclass)) AS requires
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'pgsql_http_compat';
-- pgsql-http's names, signatures and types, and who may run them: network
-- calls are granted, not PUBLIC
CREATE ROLE regress_compat_nobody;
SELECT p.oid::regprocedure AS function, pg_get_function_result(p.oid) AS returns,
       has_function_privilege('regress_compat_nobody', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p WHERE p.pronamespace = 'phc'::regnamespace ORDER BY p.oid::regprocedure::text COLLATE "C";
SELECT t.typname, t.typtype,
       coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
                   FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0),
                format_type(t.typbasetype, NULL)) AS shape
  FROM pg_type t WHERE t.typnamespace = 'phc'::regnamespace AND t.typname NOT LIKE '\_%' ORDER BY 1;
-- no function of the layer resolves names at run time through the caller's
-- search_path: C, a body parsed at creation, or a pinned search_path
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p
 WHERE p.pronamespace = 'phc'::regnamespace
   AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
   AND p.prosqlbody IS NULL AND NOT coalesce(p.proconfig::text LIKE '%search_path=pg_catalog, pg_temp%', false);

SET search_path = phc, public;

-- Status, content type, headers as the server sent them (case, order,
-- repeats), content as text
SELECT status, content_type, content,
       (SELECT array_agg(h.field || '=' || h.value) FROM unnest(headers) h) AS headers
  FROM http_get(t.raw(E'HTTP/1.1 201 Created\r\nX-First: 1\r\nset-cookie: a=1\r\nX-MiXed-Case: v\r\nSet-Cookie: b=2\r\nContent-Type: text/plain; charset=utf-8\r\nEmpty:\r\nContent-Length: 5\r\n\r\nhello'));
-- an empty body is NULL content; no Content-Type is NULL content_type
SELECT status, content_type IS NULL AS no_type, content IS NULL AS no_content
  FROM http_get(t.raw(E'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
-- every method and calling form (httpbin echoes method, query, body, form)
SELECT 'http_get' AS call, status, content::jsonb->>'method' AS method, content::jsonb->'args' AS args
  FROM http_get(:'httpbin' || '/anything?foo=bar')
UNION ALL
SELECT 'http_get data', status, content::jsonb->>'method', content::jsonb->'args'
  FROM http_get(:'httpbin' || '/anything', jsonb_build_object('this', 'that', 'sp ace', 'a&b=c'))
UNION ALL
SELECT 'http_delete', status, content::jsonb->>'method', content::jsonb->'args'
  FROM http_delete(:'httpbin' || '/anything?foo=bar');
SELECT 'http_post' AS call, status, content::jsonb->>'method' AS method, content::jsonb->>'data' AS data,
       content::jsonb->'form' AS form, content::jsonb->'headers'->>'Content-Type' AS sent_type
  FROM http_post(:'httpbin' || '/anything', 'payload', 'text/plain')
UNION ALL
SELECT 'http_post data', status, content::jsonb->>'method', content::jsonb->>'data',
       content::jsonb->'form', content::jsonb->'headers'->>'Content-Type'
  FROM http_post(:'httpbin' || '/anything', jsonb_build_object('this', 'that', 'n', 1.50, 'b', true, 'z', null, 'nested', '{"x": 1}'::jsonb))
UNION ALL
SELECT 'http_put', status, content::jsonb->>'method', content::jsonb->>'data', NULL,
       content::jsonb->'headers'->>'Content-Type'
  FROM http_put(:'httpbin' || '/anything', 'payload', 'text/plain')
UNION ALL
SELECT 'http_patch', status, content::jsonb->>'method', content::jsonb->>'data', NULL,
       content::jsonb->'headers'->>'Content-Type'
  FROM http_patch(:'httpbin' || '/anything', '{"this":"that"}', 'application/json')
UNION ALL
SELECT 'http_delete content', status, content::jsonb->>'method', content::jsonb->>'data', NULL,
       content::jsonb->'headers'->>'Content-Type'
  FROM http_delete(:'httpbin' || '/anything', 'payload', 'text/plain');
-- http(): a GET with a body, and request headers in their order;
-- Content-Type among them is left out with a NOTICE, as pgsql-http does
SELECT status, content::jsonb->>'method' AS method, content::jsonb->>'body' AS body,
       (SELECT array_agg(h->>0 || '=' || (h->>1)) FROM jsonb_array_elements(content::jsonb->'headers') h
         WHERE h->>0 NOT IN ('Host', 'User-Agent', 'Accept', 'Accept-Encoding', 'Content-Length')) AS sent
  FROM http(('GET', :'mock' || '/echo',
             ARRAY[http_header('X-A', '1'), http_header('Content-Type', 'text/html')]
               || http_headers('X-B', '2', 'x-b', '3'),
             'application/json', '{"search": "toto"}'));
-- HEAD: no content, and redirects are not followed; other methods follow
-- up to 5
SELECT status, content IS NULL AS no_content FROM http_head(:'httpbin' || '/redirect-to?url=/get');
SELECT status, content::jsonb->>'url' LIKE '%/get' AS landed FROM http_get(:'httpbin' || '/redirect/5');
SELECT t.errmsg(format('SELECT http_get(%L)', :'httpbin' || '/redirect/6'));

-- What pgsql-http refuses, refused the same way (with SQLSTATEs)
SELECT t.err($$SELECT http(NULL)$$);
SELECT t.err($$SELECT http((NULL, 'http://x/', NULL, NULL, NULL))$$);
SELECT t.err($$SELECT http(('GET', NULL, NULL, NULL, NULL))$$);
SELECT t.err(format('SELECT http_post(%L, NULL, %L)', :'mock' || '/echo', 'text/plain'));
SELECT t.err(format('SELECT http((%L, %L, NULL, NULL, %L))', 'PATCH', :'mock' || '/echo', 'x'));
SELECT t.err($$SELECT http_headers('A', '1', 'B')$$);
-- pg_http's own checks apply: a header value with a line break, a URL
-- pg_http would not send
SELECT t.err(format('SELECT http((%L, %L, ARRAY[http_header(%L, %L)], NULL, NULL))',
                    'GET', :'mock' || '/echo', 'X-Evil', E'a\r\nInjected: 1'));
SELECT t.err($$SELECT http_get('ftp://example.com/')$$);
-- deliberate difference: content that is not text in its charset is an
-- error (pgsql-http returned invalid text); bytea bodies: http.request_bytes()
SELECT t.err(format('SELECT http_get(%L)', :'mock' || '/bytes/16'));

-- Settings: http.timeout_msec, http.curlopt_* and http_set_curlopt()
SET http.timeout_msec = 200;
SELECT t.errmsg(format('SELECT http_get(%L)', :'mock' || '/delay/1000')) AS timeout_msec;
-- CURLOPT_TIMEOUT_MS wins over the older name, as its value in curl did
SET http.curlopt_timeout_ms = 3000;
SELECT status FROM http_get(:'mock' || '/delay/400');
RESET http.curlopt_timeout_ms;
RESET http.timeout_msec;
SELECT http_set_curlopt('CURLOPT_TIMEOUT', '1'), http_set_curlopt('curlopt_useragent', 'legacy-app/2'),
       http_set_curlopt('CURLOPT_USERPWD', 'ann:s3cret'), http_set_curlopt('CURLOPT_TCP_KEEPALIVE', '1');
SELECT * FROM http_list_curlopt() ORDER BY 1;
SHOW http.curlopt_useragent;
SELECT content::jsonb->'headers'->>'User-Agent' AS agent,
       content::jsonb->'headers'->>'Authorization' AS auth
  FROM http_get(:'httpbin' || '/headers');
SELECT t.errmsg(format('SELECT http_get(%L)', :'mock' || '/delay/1500')) AS timeout_seconds;
SELECT http_reset_curlopt();
SELECT count(*) AS still_set FROM http_list_curlopt();
SHOW http.curlopt_useragent;
-- bad names and values
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_NOPE', '1')$$);
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_TIMEOUT_MS', 'soon')$$);
SELECT http_set_curlopt(NULL, '1') AS null_is_false;
-- options pg_http cannot honour: refused by name, when set and when used
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_IPRESOLVE', '1')$$);
SET http.curlopt_dns_servers = '10.0.0.1';
SELECT t.err(format('SELECT http_get(%L)', :'mock' || '/status/200'));
RESET http.curlopt_dns_servers;
-- turning verification off is refused for everyone, superusers too: at
-- once through http_set_curlopt(), and for https calls when set
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_SSL_VERIFYPEER', '0')$$);
SET http.curlopt_ssl_verifyhost = '0';
SELECT t.err($$SELECT http_get('https://localhost:1/')$$);
SELECT status FROM http_get(:'mock' || '/status/200');
RESET http.curlopt_ssl_verifyhost;
SELECT http_set_curlopt('CURLOPT_SSL_VERIFYPEER', '1') AS verification_on_is_fine;
SELECT http_reset_curlopt();
-- a superuser's CA file, client certificate and proxy stand in for the
-- pg_http settings (tls and curl_transport suites); options pg_http cannot
-- take as given are refused by name
SELECT http_set_curlopt('CURLOPT_CAINFO', '/nonexistent/ca.pem');
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_SSLKEY_BLOB', 'x')$$);
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_SSLCERTTYPE', 'DER')$$);
SELECT http_reset_curlopt();

-- Non-superusers: the loosening options are refused (42501), with the
-- pg_http setting to use instead; the ACL and host policy judge their calls
CREATE ROLE regress_compat_user;
GRANT USAGE ON SCHEMA phc, t TO regress_compat_user;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA phc, t TO regress_compat_user;
SET ROLE regress_compat_user;
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_CAINFO', '/tmp/mine.pem')$$);
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_PROXY', 'http://127.0.0.1:3128')$$);
SELECT t.err($$SELECT http_set_curlopt('CURLOPT_SSLKEY', '/tmp/key.pem')$$);
SET http.curlopt_proxy = 'http://127.0.0.1:3128';
SELECT t.err(format('SELECT http_get(%L)', :'mock' || '/status/200'));
RESET http.curlopt_proxy;
SELECT status FROM http_get(:'mock' || '/status/200');
SELECT t.err($$SELECT http_get('http://10.0.0.1/')$$);
RESET ROLE;
-- nor can a role steer a superuser's call with values it set: a SECURITY
-- DEFINER function of a superuser refuses them rather than use them
CREATE FUNCTION t.fetch_as_owner(url text) RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
  BEGIN ATOMIC SELECT (phc.http_get(url)).status; END;
GRANT EXECUTE ON FUNCTION t.fetch_as_owner(text) TO regress_compat_user;
SET ROLE regress_compat_user;
SET http.curlopt_proxy = 'http://127.0.0.1:3128';
SELECT t.err(format('SELECT t.fetch_as_owner(%L)', :'mock' || '/status/200'));
SET http.curlopt_cainfo = '/tmp/mine.pem';
RESET http.curlopt_proxy;
SELECT t.err(format('SELECT t.fetch_as_owner(%L)', :'mock' || '/status/200'));
RESET http.curlopt_cainfo;
SELECT t.fetch_as_owner(:'mock' || '/status/200') AS without_them;
RESET ROLE;
DROP FUNCTION t.fetch_as_owner(text);
SELECT http.acl_grant('regress_compat_user', '127.0.0.2');
SET ROLE regress_compat_user;
SELECT t.err(format('SELECT http_get(%L)', :'mock' || '/status/200'));
RESET ROLE;
SELECT http.acl_revoke('regress_compat_user', '127.0.0.2');
SELECT http.acl_enforce(false);
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA phc, t FROM regress_compat_user;
REVOKE ALL ON SCHEMA phc, t FROM regress_compat_user;
DROP ROLE regress_compat_user;

-- urlencode (text, bytea, jsonb) and the bytea/text casts
SELECT urlencode('a b&c/é~'), urlencode('\x41200042'::bytea),
       urlencode('{"k": "v w", "n": 2, "": "skipped", "o": {"x": 1}}'::jsonb),
       urlencode('{}'::jsonb) IS NULL AS empty_is_null;
SELECT t.err($$SELECT urlencode('[1]'::jsonb)$$);
SELECT text_to_bytea('héllo'), bytea_to_text('\x68c3a96c6c6f');
SELECT t.err($$SELECT bytea_to_text('\x89504e470d0a1a0a00')$$);

RESET search_path;
DROP ROLE regress_compat_nobody;
