-- Security, round two: what a hostile role could do with search_path,
-- settings that go on the wire, a Host header, and embedded IPv4 forms.
SELECT current_setting('pg_http_test.mock') AS mock,
       current_setting('pg_http_test.mock_port') AS mock_port \gset

-- 1. search_path: a role that may create in public plants functions and an
-- operator that would win over the built-ins a careless function calls
-- unqualified; a superuser calls every pg_http function with public first.
CREATE ROLE regress_sec_planter;
GRANT CREATE ON SCHEMA public TO regress_sec_planter;
CREATE TABLE public.hijack_log (what text);
GRANT INSERT ON public.hijack_log TO PUBLIC;
SET ROLE regress_sec_planter;
CREATE FUNCTION public.lower(name) RETURNS text LANGUAGE sql
  AS $$ INSERT INTO public.hijack_log VALUES ('lower(name)') RETURNING 'public' $$;
CREATE FUNCTION public.hijack_eq(oid, integer) RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO public.hijack_log VALUES ('oid = integer') RETURNING true $$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = integer, FUNCTION = public.hijack_eq);
CREATE FUNCTION public.hijack_texteq(text, text) RETURNS boolean LANGUAGE sql
  AS $$ INSERT INTO public.hijack_log VALUES ('text = text') RETURNING $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijack_texteq);
RESET ROLE;
-- the plants work: called unqualified with public first, they run
SET search_path = public, pg_catalog;
SELECT lower('x'::name) AS planted;
SELECT count(*) AS logged FROM public.hijack_log;
TRUNCATE public.hijack_log;
-- pg_http's functions and views run none of them
SELECT http.acl_grant('public', '127.0.0.1');
SELECT http.acl_revoke('public', '127.0.0.1');
SELECT http.acl_enforce(false);
SELECT http.acl_enforced();
SELECT count(*) >= 0 AS acls FROM http.acls;
SELECT count(*) >= 0 AS results FROM http.results;
SELECT count(*) >= 0 AS stats FROM http.queue_stats;
SET pg_http.queue_max_per_role = 1000;
SELECT http.enqueue('GET', :'mock' || '/sink/search-path') > 0 AS queued;
RESET pg_http.queue_max_per_role;
SELECT (http.get(:'mock' || '/status/200')).status;
SELECT count(*) AS hijacked FROM public.hijack_log;
RESET search_path;
DELETE FROM http.queue;
DROP OPERATOR public.= (oid, integer);
DROP OPERATOR public.= (text, text);
DROP FUNCTION public.lower(name), public.hijack_eq(oid, integer), public.hijack_texteq(text, text);
DROP TABLE public.hijack_log;
REVOKE CREATE ON SCHEMA public FROM regress_sec_planter;
DROP ROLE regress_sec_planter;

-- 2. settings that go on the wire are checked like request headers
SELECT t.err($$SET pg_http.user_agent = E'x\r\nX-Injected: 1'$$);
SELECT t.err($$SET pg_http.user_agent = E'x\nGET /admin HTTP/1.1'$$);
SELECT t.err($$SET pg_http.proxy = E'http://proxy:3128\r\nX: y'$$);
SELECT t.err($$SET pg_http.proxy = 'ftp://proxy:21'$$);
SET pg_http.user_agent = 'fine agent/1.0';
SELECT (http.get(:'mock' || '/echo')).body::jsonb -> 'headers' @> '[["User-Agent", "fine agent/1.0"]]' AS sent;
RESET pg_http.user_agent;
-- and one that may hold user:password@ is for superusers' eyes only
SET pg_http.proxy = 'http://user:secret@127.0.0.1:9';
CREATE ROLE regress_sec_reader;
GRANT USAGE ON SCHEMA t TO regress_sec_reader;
GRANT EXECUTE ON FUNCTION t.err(text) TO regress_sec_reader;
SET ROLE regress_sec_reader;
SELECT left(t.err('SHOW pg_http.proxy'), 5) AS sqlstate;
SELECT count(*) AS visible FROM pg_settings WHERE name = 'pg_http.proxy';
RESET ROLE;
RESET pg_http.proxy;
REVOKE ALL ON SCHEMA t FROM regress_sec_reader;
REVOKE ALL ON FUNCTION t.err(text) FROM regress_sec_reader;
DROP ROLE regress_sec_reader;

-- 3. a Host header that replaces the authority is judged like a host
SET pg_http.denied_hosts = 'internal.example';
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/status/200', '{"Host": "internal.example"}'));
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/status/200', '{"Host": "Internal.Example:8080"}'));
-- a literal address in it is judged by the address guard
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/status/200', '{"Host": "169.254.169.254"}'));
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/status/200', '{"Host": "[::ffff:10.0.0.1]:80"}'));
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/status/200', '{"Host": "bad host"}'));
-- the URL's own authority, or an allowed name, passes
SELECT (http.get(:'mock' || '/status/200', jsonb_build_object('Host', '127.0.0.1:' || :'mock_port'))).status AS same;
SELECT (http.get(:'mock' || '/echo', '{"Host": "public.example"}')).body::jsonb -> 'headers' @> '[["Host", "public.example"]]' AS other_name;
RESET pg_http.denied_hosts;
-- and by the caller's ACLs
SELECT http.acl_grant('public', '127.0.0.1', :'mock_port');
SELECT t.err(format('SELECT http.get(%L, %L)', :'mock' || '/status/200', '{"Host": "internal.example"}'));
DELETE FROM http.acl;
SELECT http.acl_enforce(false);

-- 4. a deny rule written as IPv4 covers the IPv6 forms that embed it
SET pg_http.denied_hosts = '127.0.0.1';
SELECT t.err(format('SELECT http.get(%L)', 'http://[::ffff:127.0.0.1]:' || :'mock_port' || '/'));
SELECT t.err(format('SELECT http.get(%L)', 'http://[::ffff:7f00:1]:' || :'mock_port' || '/'));
RESET pg_http.denied_hosts;

-- 5. results show no URL credentials; finished rows keep none
SELECT http.redact_url('https://user:pw@example.com:8443/p?q=1#f') AS redacted,
       http.redact_url('https://example.com/a@b') AS path_at_kept,
       http.redact_request('{"url": "http://u:p@h/x", "headers": {"Authorization": "Bearer t", "authorization": "x", "COOKIE": "c", "Accept": "*/*"}, "body": {"a": 1}}') AS redacted_doc,
       http.redact_request('{"url": "http://h/x"}') AS untouched;
