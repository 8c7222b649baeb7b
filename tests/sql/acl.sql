-- Per-role ACLs: http.acl_grant / http.acl_revoke, enforced per current user.
SELECT current_setting('pg_http_test.mock') AS mock,
       current_setting('pg_http_test.mock_port') AS mock_port \gset
CREATE ROLE regress_acl_app;
CREATE ROLE regress_acl_group;
CREATE ROLE regress_acl_member IN ROLE regress_acl_group;
GRANT USAGE ON SCHEMA t TO regress_acl_app, regress_acl_member;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t TO regress_acl_app, regress_acl_member;
GRANT EXECUTE ON FUNCTION http.get(text, jsonb, jsonb) TO regress_acl_app, regress_acl_member;

-- no entries: ACLs are not in force, the global lists decide
SELECT count(*) FROM http.acl;
SELECT http.acl_enforced();
SET ROLE regress_acl_app;
SELECT (http.get(:'mock' || '/status/200')).status;
-- only superusers manage entries, and nobody else reads the table
SELECT t.err('SELECT http.acl_grant(''regress_acl_app'', ''*'')');
SELECT t.err('SELECT http.acl_revoke(''regress_acl_app'', ''*'')');
SELECT t.err('SELECT http.acl_enforce(false)');
SELECT t.err('SELECT * FROM http.acl');
SELECT t.err('SELECT * FROM http.acl_mode');
RESET ROLE;

-- bad entries are refused
SELECT t.err($$SELECT http.acl_grant('regress_acl_app', 'bad host')$$);
SELECT t.err($$SELECT http.acl_grant('regress_acl_app', 'example.com', '0-5')$$);
SELECT t.err($$SELECT http.acl_grant('regress_acl_app', 'a.com, b.com')$$);
SELECT t.err($$SELECT http.acl_grant('no_such_role', 'example.com')$$);

-- the first entry puts ACLs in force: an entry for one port of the mock server
SELECT http.acl_grant('regress_acl_app', '127.0.0.1', :'mock_port');
SELECT http.acl_enforced();
SELECT role, pattern, ports = :'mock_port' AS mock_port, granted_by FROM http.acls ORDER BY 1, 2;
-- the address entry also opens loopback for this role, with no global allowance
SET pg_http.allowed_hosts = '';
SET ROLE regress_acl_app;
SELECT (http.get(:'mock' || '/status/200')).status AS opened_by_acl;
RESET ROLE;
RESET pg_http.allowed_hosts;
SET ROLE regress_acl_app;
-- another port, another host: not granted
SELECT t.err(format('SELECT http.get(%L)', 'http://127.0.0.1:1/'));
SELECT t.err(format('SELECT http.get(%L)', 'http://localhost:' || :'mock_port' || '/status/200'));
SELECT role, pattern FROM http.acls;
RESET ROLE;

-- a role without entries gets nothing; PUBLIC and membership grant it
SET ROLE regress_acl_member;
SELECT t.err(format('SELECT http.get(%L)', :'mock' || '/status/200'));
RESET ROLE;
SELECT http.acl_grant('regress_acl_group', '127.0.0.0/8');
SET ROLE regress_acl_member;
SELECT (http.get(:'mock' || '/status/200')).status AS via_membership;
RESET ROLE;
-- a membership revoked, or no longer inherited, is seen at once by this session
REVOKE regress_acl_group FROM regress_acl_member;
SET ROLE regress_acl_member;
SELECT t.err(format('SELECT http.get(%L)', :'mock' || '/status/200')) AS membership_revoked;
RESET ROLE;
GRANT regress_acl_group TO regress_acl_member;
SET ROLE regress_acl_member;
SELECT (http.get(:'mock' || '/status/200')).status AS membership_back;
RESET ROLE;
-- membership without inheritance (15: the role's NOINHERIT; 16 and later:
-- the grant's INHERIT option) grants no ACL entry
DO $$ BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE 'GRANT regress_acl_group TO regress_acl_member WITH INHERIT FALSE';
  ELSE
    EXECUTE 'ALTER ROLE regress_acl_member NOINHERIT';
  END IF;
END $$;
SET ROLE regress_acl_member;
SELECT t.err(format('SELECT http.get(%L)', :'mock' || '/status/200')) AS noinherit;
RESET ROLE;
DO $$ BEGIN
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE 'GRANT regress_acl_group TO regress_acl_member WITH INHERIT TRUE';
  ELSE
    EXECUTE 'ALTER ROLE regress_acl_member INHERIT';
  END IF;
END $$;
SELECT http.acl_revoke('regress_acl_group', '127.0.0.0/8');
SELECT http.acl_grant('public', 'localhost');
SELECT http.acl_grant('public', '127.0.0.1');
SET ROLE regress_acl_member;
SELECT (http.get('http://localhost:' || :'mock_port' || '/status/200')).status AS via_public;
RESET ROLE;
SELECT http.acl_revoke('public', 'localhost') + http.acl_revoke('public', '127.0.0.1') AS revoked;

-- superusers are subject to ACLs too, unless pg_http.acl_superuser_bypass says otherwise
SELECT t.err(format('SELECT http.get(%L)', current_setting('pg_http_test.httpbin') || '/get'));
SET pg_http.acl_superuser_bypass = on;
SELECT (http.get(current_setting('pg_http_test.httpbin') || '/get')).status AS bypassed;
RESET pg_http.acl_superuser_bypass;

-- a grant is seen at once (the trigger invalidates every backend's cache)
SELECT http.acl_grant('public', '127.0.0.1', current_setting('pg_http_test.httpbin_port'));
SELECT (http.get(current_setting('pg_http_test.httpbin') || '/get')).status AS after_grant;
SELECT http.acl_revoke('public', '127.0.0.1', current_setting('pg_http_test.httpbin_port'));
SELECT t.errmsg(format('SELECT http.get(%L)', current_setting('pg_http_test.httpbin') || '/get'));
-- and by a new session
\c
SELECT t.errmsg(format('SELECT http.get(%L)', current_setting('pg_http_test.httpbin') || '/get'));

-- redirects are judged by the same ACL, hop by hop
SELECT http.acl_grant('public', '127.0.0.1', current_setting('pg_http_test.mock_port'));
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 2}'')',
                    current_setting('pg_http_test.mock') || '/redir/x?to=' || current_setting('pg_http_test.httpbin') || '/get'));

-- revoking everything does not switch the ACLs off: with no entry left,
-- nothing is granted (they fail closed)
SELECT http.acl_revoke('regress_acl_app', '127.0.0.1') + http.acl_revoke('public', '127.0.0.1') AS revoked;
SELECT count(*) FROM http.acl;
SELECT http.acl_enforced() AS still_enforced;
SELECT t.err(format('SELECT http.get(%L)', current_setting('pg_http_test.httpbin') || '/get')) AS nothing_granted;
-- nor does an entry that no longer parses: it grants nothing, with a warning
INSERT INTO http.acl (role, pattern, ports) VALUES (0, 'not a pattern', '80');
SELECT t.err(format('SELECT http.get(%L)', current_setting('pg_http_test.httpbin') || '/get')) AS unparsable_grants_nothing;
DELETE FROM http.acl;
-- only an explicit switch takes them out of force
SELECT http.acl_enforce(false);
SELECT http.acl_enforced();
SELECT (http.get(current_setting('pg_http_test.httpbin') || '/get')).status AS acl_off_again;

-- limits a superuser sets and callers cannot exceed
SET pg_http.max_timeout = '2s';
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"timeout_ms": 5000}'')', current_setting('pg_http_test.mock') || '/status/200'));
SET pg_http.timeout = '10s';
SELECT t.errmsg(format('SELECT http.get(%L)', current_setting('pg_http_test.mock') || '/status/200'));
RESET pg_http.timeout;
RESET pg_http.max_timeout;
SET pg_http.max_url_length = 100;
SELECT t.err(format('SELECT http.get(%L)', current_setting('pg_http_test.mock') || '/status/200?' || repeat('x', 100)));
SELECT t.err(format('SELECT http_request(''127.0.0.1'', 80, %L, ''GET'', NULL, NULL, false, 5)', '/' || repeat('y', 100)));
SELECT (http.get(current_setting('pg_http_test.mock') || '/status/200')).status AS short_urls_pass;
RESET pg_http.max_url_length;
SET ROLE regress_acl_app;
SELECT s, t.err(format('SET %s = %L', s, v))
  FROM (VALUES ('pg_http.max_timeout', '1h'), ('pg_http.max_url_length', '100000'),
               ('pg_http.acl_superuser_bypass', 'on')) v(s, v);
RESET ROLE;

REVOKE ALL ON SCHEMA t FROM regress_acl_app, regress_acl_member;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA t FROM regress_acl_app, regress_acl_member;
REVOKE ALL ON FUNCTION http.get(text, jsonb, jsonb) FROM regress_acl_app, regress_acl_member;
DROP ROLE regress_acl_app, regress_acl_member, regress_acl_group;
