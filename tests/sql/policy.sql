-- The host policy and the private-address guard, on loopback only.
SELECT current_setting('pg_http_test.mock') AS mock,
       current_setting('pg_http_test.mock_port') AS mock_port \gset

-- with no allow list, loopback is refused in every spelling, before any byte is sent
SELECT t.mock_reset();
SET pg_http.allowed_hosts = '';
SELECT h, t.err(format('SELECT http.get(%L)', 'http://' || h || ':' || :'mock_port' || '/status/200'))
  FROM unnest(ARRAY['127.0.0.1', 'localhost', '2130706433', '0177.0.0.1', '127.1', '0x7f.0.0.1',
                    '0x7f000001', '127.0.0.1.', '[::1]', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]',
                    '[0:0:0:0:0:ffff:127.0.0.1]']) h;
SELECT t.err(format('SELECT http_request(%L, %s, ''/'', ''GET'', NULL, NULL, false, 5)', '127.0.0.1', :'mock_port'));
SELECT t.err(format('SELECT http_request(%L, %s, ''/'', ''GET'', NULL, NULL, false, 5)', '::1', :'mock_port'));
RESET pg_http.allowed_hosts;
-- the two connections are the helpers' own: none of the refused requests connected
SELECT (t.mock_stats()->>'connections')::int AS connections, t.mock_stats()->'requests' AS requests;

-- a name rule does not open a private address; only an address rule does
SET pg_http.allowed_hosts = 'localhost';
SELECT t.err(format('SELECT http.get(%L)', 'http://localhost:' || :'mock_port' || '/status/200'));
SET pg_http.allowed_hosts = 'localhost, 127.0.0.0/8, [::1]';
SELECT (http.get('http://localhost:' || :'mock_port' || '/status/200')).status;

-- the allow list limits names and ports
SET pg_http.allowed_hosts = 'example.com, 127.0.0.1';
SELECT t.err(format('SELECT http.get(%L)', 'http://localhost:' || :'mock_port' || '/'));
SELECT (http.get(:'mock' || '/status/200')).status;
SET pg_http.allowed_hosts = '127.0.0.1:1-2';
SELECT t.err(format('SELECT http.get(%L)', :'mock' || '/status/200'));
SELECT set_config('pg_http.allowed_hosts', '127.0.0.1:' || :'mock_port', false) IS NOT NULL AS set;
SELECT (http.get(:'mock' || '/status/200')).status;

-- deny wins over allow
SET pg_http.allowed_hosts = '*, 127.0.0.1';
SET pg_http.denied_hosts = '127.0.0.0/8';
SELECT t.err(format('SELECT http.get(%L)', :'mock' || '/status/200'));
SET pg_http.denied_hosts = 'localhost';
SELECT t.err(format('SELECT http.get(%L)', 'http://localhost:' || :'mock_port' || '/'));
SET pg_http.denied_hosts = '*.invalid';
SELECT t.err('SELECT http.get(''http://anything.invalid/'')');
RESET pg_http.denied_hosts;
RESET pg_http.allowed_hosts;

-- a refused request in a batch refuses only its row
SET pg_http.allowed_hosts = '';
SELECT idx, sqlstate, error FROM http.batch(jsonb_build_array(
  jsonb_build_object('url', :'mock' || '/status/200'),
  jsonb_build_object('url', 'http://[::1]:' || :'mock_port' || '/')));
RESET pg_http.allowed_hosts;
