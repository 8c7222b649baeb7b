-- Secrets by name, bound to hosts, granted to roles; signed requests.
-- The cluster's pg_http.secrets_dir holds the files tests/run.py wrote
-- (TEST_SECRETS); this suite writes more with COPY (the server's umask
-- makes them 0600, owned by its user, as the checks want).
SELECT current_setting('pg_http_test.httpbin') AS httpbin,
       current_setting('pg_http_test.httpbin_port') AS httpbin_port,
       current_setting('pg_http_test.mock') AS mock,
       current_setting('pg_http_test.mock_port') AS mock_port,
       current_setting('pg_http_test.secrets_dir') AS dir \gset
\set rotating :dir/rotating
CREATE ROLE regress_sec_app;
CREATE ROLE regress_sec_group;
CREATE ROLE regress_sec_member IN ROLE regress_sec_group;
CREATE ROLE regress_sec_other;
GRANT USAGE ON SCHEMA t TO regress_sec_app, regress_sec_member, regress_sec_other;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t TO regress_sec_app, regress_sec_member, regress_sec_other;
GRANT EXECUTE ON FUNCTION http.get(text, jsonb, jsonb), http.post(text, jsonb, jsonb, jsonb),
      http.request(jsonb)
   TO regress_sec_app, regress_sec_member, regress_sec_other;
-- what httpbin saw of one header
CREATE FUNCTION t.seen(r http.response, h text) RETURNS text LANGUAGE sql AS $$
  SELECT r.status || ' ' || coalesce((r.body::jsonb)->'headers'->>h, '(none)')
$$;

-- 1. Defining: superusers only, names are file names, bindings are host patterns
SELECT http.secret_define('test_token', ARRAY['127.0.0.1'], '1-65535', allow_http => true);
SELECT http.secret_define('hmac_key', ARRAY['127.0.0.1', '*.example.com'], '1-65535', allow_http => true);
SELECT http.secret_define('webhook_key', ARRAY['127.0.0.1'], '1-65535', allow_http => true);
SELECT t.err($$SELECT http.secret_define('../etc/passwd', ARRAY['127.0.0.1'])$$);
SELECT t.err($$SELECT http.secret_define('.hidden', ARRAY['127.0.0.1'])$$);
SELECT t.err($$SELECT http.secret_define('x', ARRAY[]::text[])$$);
SELECT t.err($$SELECT http.secret_define('x', ARRAY['bad host'])$$);
SELECT t.err($$SELECT http.secret_define('x', ARRAY['127.0.0.1'], '0-5')$$);
SELECT t.err($$SELECT http.secret_grant('no_such_secret', 'regress_sec_app')$$);
SELECT t.err($$SELECT http.secret_grant('test_token', 'no_such_role')$$);
SELECT name, hosts, ports, grantees FROM http.secrets ORDER BY name;
SET ROLE regress_sec_app;
SELECT t.err($$SELECT http.secret_define('mine', ARRAY['*'])$$);
SELECT t.err($$SELECT http.secret_grant('test_token', 'regress_sec_app')$$);
SELECT t.err($$SELECT * FROM http.secret$$);
SELECT t.err($$SELECT * FROM http.secret_grant$$);
SELECT t.err($$SELECT http.sign_preview('{"url": "http://127.0.0.1/"}')$$);
-- nothing granted: the view shows nothing, a request naming it is refused
SELECT count(*) FROM http.secrets;
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin') || '/anything',
                              '{"X-Api-Key": {"secret": "test_token"}}')$$);
RESET ROLE;

-- 2. Using: a header value, with a prefix, bearer and basic auth
SELECT t.seen(http.get(:'httpbin' || '/anything', '{"X-Api-Key": {"secret": "test_token"}}'), 'X-Api-Key');
SELECT t.seen(http.get(:'httpbin' || '/anything',
                       '{"Authorization": {"secret": "test_token", "prefix": "Token "}}'), 'Authorization');
SELECT t.seen(http.get(:'httpbin' || '/anything', NULL,
                       '{"auth": {"type": "bearer", "token": {"secret": "test_token"}}}'), 'Authorization');
SELECT (http.get(:'httpbin' || '/basic-auth/api/tok-Zq8XvKp3Lm7Rn2Wd', NULL,
                 '{"auth": {"type": "basic", "username": "api", "password": {"secret": "test_token"}}}')).status
       AS basic_auth_accepted;
SELECT t.seen(http.request(jsonb_build_object('url', :'httpbin' || '/anything',
              'headers', '{"X-Api-Key": {"secret": "test_token"}}'::jsonb)), 'X-Api-Key') AS from_document;
-- a bad reference, or a literal where only a secret may go
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"X-Api-Key": {"secret": "a/b"}}')$$);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"X-Api-Key": {"name": "test_token"}}')$$);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), NULL,
                              '{"auth": {"type": "bearer", "token": "literal-token"}}')$$);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), NULL, '{"auth": {"type": "digest"}}')$$);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), NULL,
                              '{"sign": {"type": "hmac", "secret": "hmac_key"}}')$$);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"X-Api-Key": {"secret": "no_such"}}')$$);

-- 3. Bound to hosts: another host is refused before anything is sent ...
SELECT t.err(format($$SELECT http.get('http://localhost:%s/anything', '{"X-Api-Key": {"secret": "test_token"}}')$$,
                    :'httpbin_port'));
-- ... and a redirect to it goes on without the secret; to the same host it keeps it
SELECT t.seen(http.get(:'httpbin' || '/redirect-to?url=' ||
                       'http://localhost:' || :'httpbin_port' || '/anything',
                       '{"X-Api-Key": {"secret": "test_token"}}', '{"max_redirects": 2}'), 'X-Api-Key')
       AS redirected_to_localhost;
SELECT t.seen(http.get(:'httpbin' || '/redirect-to?url=/anything',
                       '{"X-Api-Key": {"secret": "test_token"}}', '{"max_redirects": 2}'), 'X-Api-Key')
       AS redirected_to_same_host;
-- rebinding applies to the next request
SELECT http.secret_define('test_token', ARRAY['127.0.0.1'], '1-1024', allow_http => true);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin') || '/anything',
                              '{"X-Api-Key": {"secret": "test_token"}}')$$);
SELECT http.secret_define('test_token', ARRAY['127.0.0.1'], '1-65535', allow_http => true);

-- 4. Grants: to a role, through membership, to PUBLIC; revokes apply at once
SELECT http.secret_grant('test_token', 'regress_sec_app');
SELECT http.secret_grant('test_token', 'regress_sec_group');
SELECT name, grantees FROM http.secrets WHERE name = 'test_token';
SET ROLE regress_sec_app;
SELECT name, grantees FROM http.secrets;
SELECT t.seen(http.get(:'httpbin' || '/anything', '{"X-Api-Key": {"secret": "test_token"}}'), 'X-Api-Key');
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin') || '/anything',
                              '{"X-Api-Key": {"secret": "hmac_key"}}')$$);
RESET ROLE;
SET ROLE regress_sec_member;
SELECT t.seen(http.get(:'httpbin' || '/anything', '{"X-Api-Key": {"secret": "test_token"}}'), 'X-Api-Key') AS via_group;
RESET ROLE;
SELECT http.secret_revoke('test_token', 'regress_sec_app');
SET ROLE regress_sec_app;
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin') || '/anything',
                              '{"X-Api-Key": {"secret": "test_token"}}')$$);
RESET ROLE;
SELECT http.secret_grant('test_token', 'public');
SET ROLE regress_sec_other;
SELECT t.seen(http.get(:'httpbin' || '/anything', '{"X-Api-Key": {"secret": "test_token"}}'), 'X-Api-Key') AS via_public;
RESET ROLE;
SELECT http.secret_revoke('test_token', 'public');
SELECT http.secret_revoke('test_token', 'regress_sec_group');

-- 5. Values are read when used; a missing file, or one others may read,
-- is an error naming the secret, never showing a value.  (COPY writes files
-- others may read: refused.  A changed file counting at once is tested by
-- the scenarios, which write files as an administrator would.)
SELECT http.secret_define('rotating', ARRAY['127.0.0.1'], '1-65535', allow_http => true);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin') || '/anything',
                              '{"X-Api-Key": {"secret": "rotating"}}')$$);
COPY (SELECT 'readable-by-others') TO :'rotating';
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin') || '/anything',
                              '{"X-Api-Key": {"secret": "rotating"}}')$$);
SELECT http.secret_drop('rotating');
SELECT http.secret_drop('rotating');

-- 6. Signatures, checked by the mock server's own implementation (Python's
-- hmac): Standard Webhooks, GitHub-, Stripe- and Slack-style HMAC
SELECT (http.post(:'mock' || '/signed/webhook?keyfile=' || :'dir' || '/webhook_key', '{"event": "paid"}'::jsonb, NULL,
                  '{"sign": {"type": "webhook", "secret": "webhook_key"}}')).body::jsonb->'ok' AS webhook;
SELECT (http.post(:'mock' || '/signed/webhook?keyfile=' || :'dir' || '/webhook_key', '{"event": "paid"}'::jsonb, NULL,
                  '{"sign": {"type": "webhook", "secret": "webhook_key", "id": "msg_fixed_1"}}')).body::jsonb->>'id' AS webhook_id;
SELECT (http.post(:'mock' || '/signed/webhook?keyfile=' || :'dir' || '/webhook_key', '{"event": "paid"}'::jsonb,
                  '{"webhook-signature": "v1,forged"}')).status AS unsigned_is_refused;
SELECT (http.post(:'mock' || '/signed/hmac?keyfile=' || :'dir' || '/hmac_key&header=X-Hub-Signature-256&prefix=sha256%3D&payload=body',
                  '{"action": "opened"}'::jsonb, NULL,
                  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Hub-Signature-256",
                             "value": "sha256={signature}"}}')).body::jsonb->'ok' AS github_style;
SELECT (http.post(:'mock' || '/signed/hmac?keyfile=' || :'dir' || '/hmac_key&header=X-Sig&algo=sha512&encoding=base64&payload=body',
                  '{"action": "opened"}'::jsonb, NULL,
                  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Sig",
                             "algorithm": "sha512", "encoding": "base64"}}')).body::jsonb->'ok' AS sha512_base64;
SELECT (http.post(:'mock' || '/signed/hmac?keyfile=' || :'dir' || '/hmac_key&payload=stripe',
                  '{"type": "charge.succeeded"}'::jsonb, NULL,
                  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "Stripe-Signature",
                             "payload": "{timestamp}.{body}", "value": "t={timestamp},v1={signature}"}}')).body::jsonb->'ok' AS stripe_style;
SELECT (http.post(:'mock' || '/signed/hmac?keyfile=' || :'dir' || '/hmac_key&payload=slack',
                  '{"text": "hi"}'::jsonb, NULL,
                  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Slack-Signature",
                             "payload": "v0:{timestamp}:{body}", "value": "v0={signature}",
                             "timestamp_header": "X-Slack-Request-Timestamp"}}')).body::jsonb->'ok' AS slack_style;
-- a signature is made per send: the same request twice carries what its own time gives
SELECT (http.sign_preview(jsonb_build_object('method', 'POST', 'url', :'mock' || '/x', 'body', 'b',
          'options', '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "S", "payload": "{timestamp}.{body}", "value": "{timestamp} {signature}"}}'::jsonb),
          '2024-01-01 00:00:00+00'))->>'s' AS at_2024;

-- 7. AWS Signature Version 4, against the examples AWS publishes: the SigV4
-- test suite's get-vanilla, the IAM ListUsers example and the S3 GET object
-- example with a Range header (expected signatures as published; over http
-- here, so that every transport, TLS or not, computes them: the scheme is
-- not part of what is signed)
SELECT http.secret_define('aws_example_key', ARRAY['example.amazonaws.com', 'iam.amazonaws.com', '127.0.0.1'], '1-65535', true);
SELECT http.secret_define('aws_example_id', ARRAY['example.amazonaws.com', 'iam.amazonaws.com', '127.0.0.1'], '1-65535', true);
SELECT http.secret_define('aws_s3_example_key', ARRAY['examplebucket.s3.amazonaws.com'], '80', true);
SELECT http.sign_preview('{"url": "http://example.amazonaws.com/",
  "options": {"sign": {"type": "aws", "region": "us-east-1", "service": "service",
    "access_key_id": "AKIDEXAMPLE", "secret_access_key": {"secret": "aws_example_key"}}}}',
  '2015-08-30 12:36:00+00')->>'authorization' AS get_vanilla;
-- more of the suite (same credentials and time): query order, repeated
-- keys, empty and dot segments, a form POST
SELECT v.name, (http.sign_preview(jsonb_build_object('method', v.method,
          'url', 'http://example.amazonaws.com' || v.target, 'headers', v.headers, 'body', v.body,
          'options', '{"sign": {"type": "aws", "region": "us-east-1", "service": "service",
             "access_key_id": "AKIDEXAMPLE", "secret_access_key": {"secret": "aws_example_key"}}}'::jsonb),
          '2015-08-30 12:36:00+00')->>'authorization') ~ ('Signature=' || v.expected || '$') AS matches
  FROM (VALUES
    ('get-vanilla-query-order-key-case', 'GET', '/?Param2=value2&Param1=value1', '{}'::jsonb, NULL,
     'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'),
    ('get-vanilla-query-order-key', 'GET', '/?Param1=value2&Param1=Value1', '{}', NULL,
     'eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1'),
    ('get-vanilla-query-order-value', 'GET', '/?Param1=value2&Param1=value1', '{}', NULL,
     '5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694'),
    ('get-relative-relative', 'GET', '/example1/example2/../..', '{}', NULL,
     '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'),
    ('get-slashes', 'GET', '//example//', '{}', NULL,
     '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84'),
    ('post-vanilla-query', 'POST', '/?Param1=value1', '{}', NULL,
     '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11'),
    ('post-x-www-form-urlencoded', 'POST', '/', '{"Content-Type": "application/x-www-form-urlencoded"}',
     'Param1=value1', 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a')
  ) AS v(name, method, target, headers, body, expected);
SELECT http.sign_preview('{"url": "http://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
  "headers": {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
  "options": {"sign": {"type": "aws", "region": "us-east-1", "service": "iam",
    "access_key_id": {"secret": "aws_example_id"}, "secret_access_key": {"secret": "aws_example_key"}}}}',
  '2015-08-30 12:36:00+00')->>'authorization' AS iam_list_users;
SELECT h->>'authorization' AS s3_get_object, h->>'x-amz-content-sha256' AS payload_hash, h->>'x-amz-date' AS amz_date
  FROM http.sign_preview('{"url": "http://examplebucket.s3.amazonaws.com/test.txt",
  "headers": {"Range": "bytes=0-9"},
  "options": {"sign": {"type": "aws", "region": "us-east-1", "service": "s3",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": {"secret": "aws_s3_example_key"}}}}',
  '2013-05-24 00:00:00+00') AS h;
-- sent for real, with a body, a query and a session token, checked by the mock server
SELECT http.secret_define('aws_session', ARRAY['127.0.0.1'], '1-65535', allow_http => true);
SELECT r.status, r.body::jsonb->'ok' AS ok, r.body::jsonb->'signed_headers' AS signed
  FROM http.request(jsonb_build_object('method', 'PUT',
         'url', :'mock' || '/signed/aws/bucket/key%20one.txt?keyfile=' || :'dir' || '/aws_example_key&b=2&a=1',
         'headers', '{"Content-Type": "text/plain"}'::jsonb, 'body', 'hello, s3',
         'options', '{"sign": {"type": "aws", "region": "eu-west-1", "service": "s3",
            "access_key_id": "AKIDEXAMPLE", "secret_access_key": {"secret": "aws_example_key"},
            "session_token": {"secret": "aws_session"}}}'::jsonb)) AS r;
SELECT http.secret_drop('aws_session');

-- the bound host decides for signatures too
SELECT t.err($$SELECT http.sign_preview('{"url": "http://other.amazonaws.com/",
  "options": {"sign": {"type": "aws", "region": "us-east-1", "service": "service",
    "access_key_id": "AKIDEXAMPLE", "secret_access_key": {"secret": "aws_example_key"}}}}')$$);

-- 8. What a role could try: values and signatures stay where they belong
-- a content type is a header value: no control characters (no marker, no CRLF)
SELECT t.err(format('SELECT http.post(%L, %L, %L)', :'httpbin' || '/anything', 'x', E'\x01test_token\x01'));
SELECT t.err(format('SELECT http.post(%L, %L, %L)', :'httpbin' || '/anything', 'x', E'text/plain\r\nX-Injected: 1'));
-- no secret in a header that frames or routes the request
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"Host": {"secret": "test_token"}}')$$);
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"Content-Length": {"secret": "test_token"}}')$$);
-- a Host header cannot route a secret to another virtual host
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'),
                              '{"Host": "other.example", "X-Api-Key": {"secret": "test_token"}}')$$);
-- nor can a signature's header, id or template smuggle anything
SELECT t.err($$SELECT http.post(current_setting('pg_http_test.mock'), 'a', 'text/plain', NULL,
  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "Content-Length", "value": "0"}}')$$);
SELECT t.err($$SELECT http.post(current_setting('pg_http_test.mock'), 'a', 'text/plain', NULL,
  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Sig", "timestamp_header": "Host"}}')$$);
SELECT t.err($$SELECT http.post(current_setting('pg_http_test.mock'), 'a', 'text/plain', NULL,
  jsonb_build_object('sign', jsonb_build_object('type', 'webhook', 'secret', 'webhook_key',
                     'id', E'x\r\nContent-Length: 0')))$$);
SELECT t.err($$SELECT http.post(current_setting('pg_http_test.mock'), 'a', 'text/plain', NULL,
  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Sig", "value": "{signature} {body}"}}')$$);
SELECT t.err($$SELECT http.post(current_setting('pg_http_test.mock'), 'a', 'text/plain', NULL,
  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Sig", "payload": "{body}{body}"}}')$$);
SELECT t.err(format('SELECT http.post(%L, %L, %L, NULL, %L)', :'mock', 'a', 'text/plain',
  jsonb_build_object('sign', jsonb_build_object('type', 'hmac', 'secret', 'hmac_key', 'header', 'X-Sig',
                     'payload', repeat('x', 1025)))));
SELECT t.err(format('SELECT http.post(%L, %L, %L, NULL, %L)', :'mock' || '/echo', E'line\r\nX-Evil: 1', 'text/plain',
  '{"sign": {"type": "hmac", "secret": "hmac_key", "header": "X-Sig", "payload": "{body}", "value": "{signature}"}}'))
  AS body_is_not_in_the_header;
-- over https only, unless the binding allows plain http
SELECT http.secret_define('https_only', ARRAY['127.0.0.1'], '1-65535');
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"X-Api-Key": {"secret": "https_only"}}')$$);
-- an IPv4 binding is not an IPv6 one (the mapped form is another address)
SELECT t.err(format($$SELECT http.get('http://[::ffff:127.0.0.1]:%s/anything', '{"X-Api-Key": {"secret": "test_token"}}')$$,
                    :'httpbin_port'));
-- an OAuth token goes only where the client secret may go (the API's host too)
SELECT t.err(format($$SELECT http.get('http://localhost:%s/anything', NULL,
  '{"auth": {"type": "oauth2", "token_url": "%s/oauth/token", "client_id": "c",
             "client_secret": {"secret": "test_token"}}}')$$, :'httpbin_port', :'mock'));
-- to others, an unknown secret looks like one not granted (names are not listed)
SET ROLE regress_sec_other;
SELECT t.err($$SELECT http.get(current_setting('pg_http_test.httpbin'), '{"X-Api-Key": {"secret": "no_such"}}')$$);
RESET ROLE;
-- a dropped grantee leaves the other grants working
CREATE ROLE regress_sec_gone;
SELECT http.secret_grant('test_token', 'regress_sec_gone');
SELECT http.secret_grant('test_token', 'regress_sec_other');
DROP ROLE regress_sec_gone;
SET ROLE regress_sec_other;
SELECT t.seen(http.get(:'httpbin' || '/anything', '{"X-Api-Key": {"secret": "test_token"}}'), 'X-Api-Key') AS after_drop;
SELECT name, cardinality(grantees) AS grantees FROM http.secrets;
RESET ROLE;
SELECT http.secret_revoke('test_token', 'regress_sec_other');
SELECT t.err($$SELECT http.secret_define('x', ARRAY['127.0.0.1', NULL])$$);

DROP FUNCTION t.seen(http.response, text);
SELECT http.secret_drop(name) FROM http.secret ORDER BY name;
REVOKE ALL ON FUNCTION http.get(text, jsonb, jsonb), http.post(text, jsonb, jsonb, jsonb),
       http.request(jsonb)
  FROM regress_sec_app, regress_sec_member, regress_sec_other;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA t FROM regress_sec_app, regress_sec_member, regress_sec_other;
REVOKE ALL ON SCHEMA t FROM regress_sec_app, regress_sec_member, regress_sec_other;
DROP ROLE regress_sec_app, regress_sec_member, regress_sec_group, regress_sec_other;
