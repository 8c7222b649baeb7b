-- http.check: the policy's verdict on a URL, and what decided it, with
-- nothing sent.  Only loopback and refused addresses: check connects to
-- nothing, and names other than localhost are *.invalid.
CREATE FUNCTION pg_temp.chk(u text, r name DEFAULT current_user,
                            OUT allowed boolean, OUT decided_by text, OUT sqlstate text, OUT message text)
LANGUAGE sql AS $$
  SELECT (c->>'allowed')::boolean, t.scrub(c->>'decided_by'), c->>'sqlstate', t.scrub(c->>'message')
    FROM http.check(u, r) c
$$;

-- a network function: not for PUBLIC, granted like http.get
SELECT has_function_privilege('public', 'http.check(text, name)', 'EXECUTE') AS public_execute;

-- the whole document, for an allowed literal address
SET pg_http.allowed_hosts = '*, 127.0.0.1';
SELECT jsonb_pretty(http.check('http://127.0.0.1:8080/x?y=1'));

-- the allow list: names, suffixes, ports
-- (an allowed name goes on to resolution: *.invalid names never resolve; plain
-- http on port 443 keeps the output the same for transports without TLS)
SET pg_http.allowed_hosts = 'svc.invalid, *.corp.invalid:443, 127.0.0.1:1-2';
SELECT u, (pg_temp.chk(u)).*
  FROM unnest(ARRAY['http://svc.invalid/', 'http://a.corp.invalid:443/', 'http://a.corp.invalid/',
                    'http://example.org/', 'http://127.0.0.1:1/', 'http://127.0.0.1:3/']) u;
SELECT http.check('http://a.corp.invalid:443/')->'rule' AS rule;

-- the deny list wins, for names and addresses
SET pg_http.allowed_hosts = '*';
SET pg_http.denied_hosts = '*.internal, 10.0.0.0/8, [fd00::]/8:80';
SELECT u, (pg_temp.chk(u)).*
  FROM unnest(ARRAY['http://db.internal/', 'http://10.1.2.3/', 'http://[fd00::1]/',
                    'http://[fd00::1]:8080/']) u;
RESET pg_http.denied_hosts;

-- the private-address guard: reserved ranges, and the entries that open them
SELECT u, (pg_temp.chk(u)).*
  FROM unnest(ARRAY['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.5/',
                    'http://192.168.1.1/', 'http://[::1]/', 'http://[fd00::1]/',
                    'http://[::ffff:127.0.0.1]/', 'http://0x7f000001/', 'http://localhost:8080/']) u;
SELECT a->>'address' AS address, a->>'class' AS class, a->>'allowed' AS allowed, a->>'why' AS why
  FROM jsonb_array_elements(http.check('http://169.254.169.254/')->'addresses') a;
SET pg_http.allowed_hosts = '*, 10.0.0.0/8, [::1]:8080';
SELECT u, (pg_temp.chk(u)).*
  FROM unnest(ARRAY['http://10.0.0.5/', 'http://[::1]:8080/', 'http://[::1]:8081/']) u;
SELECT a->>'address' AS address, a->>'class' AS class, a->>'why' AS why, a->'rule' AS rule
  FROM jsonb_array_elements(http.check('http://10.9.9.9/')->'addresses') a;
-- a name rule opens a name, never the private address it resolves to
SET pg_http.allowed_hosts = 'localhost';
SELECT (pg_temp.chk('http://localhost:8080/')).*;
SET pg_http.allowed_hosts = 'localhost, 127.0.0.1, [::1]';
SELECT (pg_temp.chk('http://localhost:8080/')).*;
-- a name that does not resolve: the error a request would get
SET pg_http.allowed_hosts = '*';
SELECT c->>'allowed' AS allowed, c->>'decided_by' AS decided_by, c->>'sqlstate' AS sqlstate,
       c->>'message' AS message, c->'addresses' AS addresses
  FROM http.check('http://nothing.invalid/') c;

-- schemes, malformed URLs and limits are refused as a request refuses them
SELECT u, (pg_temp.chk(u)).*
  FROM unnest(ARRAY['ftp://example.com/', 'file:///etc/passwd', 'gopher://127.0.0.1:70/',
                    'http://', 'http://example.com:99999/', 'example.com']) u;
SET pg_http.max_url_length = 64;
SELECT (pg_temp.chk('http://127.0.0.1/' || repeat('x', 64))).*;
RESET pg_http.max_url_length;
-- credentials in the URL are not echoed
SELECT http.check('http://user:secret@127.0.0.1:8080/')->>'url' AS url;
-- a NULL URL: NULL
SELECT http.check(NULL) IS NULL AS null_in_null_out;
RESET pg_http.allowed_hosts;

-- per-role ACLs: which entry, of which role, decides
CREATE ROLE regress_check_app;
CREATE ROLE regress_check_group;
CREATE ROLE regress_check_member IN ROLE regress_check_group;
CREATE ROLE regress_check_other;
GRANT USAGE ON SCHEMA t TO regress_check_app, regress_check_member, regress_check_other, regress_check_group;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t
  TO regress_check_app, regress_check_member, regress_check_other, regress_check_group;
GRANT EXECUTE ON FUNCTION http.check(text, name)
  TO regress_check_app, regress_check_member, regress_check_other, regress_check_group;
SELECT http.acl_grant('regress_check_app', '127.0.0.1', '8080');
SELECT http.acl_grant('regress_check_group', '*.partner.invalid', '443');
SELECT http.acl_grant('public', '[::1]');
SELECT r, u, (pg_temp.chk(u, r)).*
  FROM unnest(ARRAY['regress_check_app', 'regress_check_member', 'regress_check_other']::name[]) r,
       unnest(ARRAY['http://127.0.0.1:8080/', 'http://127.0.0.1:8081/', 'http://api.partner.invalid:443/',
                    'http://[::1]:5/']) u
 ORDER BY 1, 2;
SELECT http.check('http://api.partner.invalid:443/', 'regress_check_member')->'rule' AS rule;
-- superusers are judged by the ACLs too, unless they may bypass them
SELECT (pg_temp.chk('http://127.0.0.1:8080/')).*;
SET pg_http.acl_superuser_bypass = on;
SELECT (pg_temp.chk('http://127.0.0.1:8080/')).*;
RESET pg_http.acl_superuser_bypass;

-- who may check whom: oneself; a role whose privileges one has; superusers all
SET ROLE regress_check_app;
SELECT (pg_temp.chk('http://127.0.0.1:8080/')).*;
SELECT t.err($$SELECT http.check('http://127.0.0.1:8080/', 'regress_check_member')$$);
SELECT t.err($$SELECT http.check('http://127.0.0.1:8080/', 'no_such_role')$$);
RESET ROLE;
SET ROLE regress_check_member;
SELECT (pg_temp.chk('http://api.partner.invalid:443/', 'regress_check_group')).*;
RESET ROLE;
SET ROLE regress_check_group;
SELECT t.err($$SELECT http.check('http://api.partner.invalid:443/', 'regress_check_member')$$);
RESET ROLE;
SET ROLE regress_check_other;
SELECT t.err($$SELECT http.check('http://127.0.0.1:8080/', 'regress_check_app')$$);
RESET ROLE;
SELECT t.err($$SELECT http.check('http://127.0.0.1:8080/', 'no_such_role')$$);

SELECT http.acl_revoke('regress_check_app', '127.0.0.1', '8080')
     + http.acl_revoke('regress_check_group', '*.partner.invalid', '443')
     + http.acl_revoke('public', '[::1]') AS revoked;
SELECT http.acl_enforce(false);
REVOKE ALL ON SCHEMA t FROM regress_check_app, regress_check_member, regress_check_other, regress_check_group;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA t
  FROM regress_check_app, regress_check_member, regress_check_other, regress_check_group;
REVOKE ALL ON FUNCTION http.check(text, name)
  FROM regress_check_app, regress_check_member, regress_check_other, regress_check_group;
DROP ROLE regress_check_app, regress_check_member, regress_check_group, regress_check_other;

-- pg_http.traceparent: validated when set (22023), then sent
SELECT s, t.err(format('SET pg_http.traceparent = %L', s))
  FROM unnest(ARRAY['bad', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
                    '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
                    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
                    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
                    'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
                    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
                    '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x']) s;
SELECT t.err($$SET pg_http.tracestate = E'a=b\r\nX-Injected: 1'$$);
SHOW pg_http.traceparent;
