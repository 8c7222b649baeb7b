-- The mock transport has no TLS: https fails clearly, before anything is sent.
SELECT current_setting('pg_http_test.mock_port') AS mock_port \gset
SELECT t.err(format('SELECT http_request(''127.0.0.1'', %s, ''/headers'', ''GET'', NULL, ''{"Authorization":"Bearer demo-token"}''::jsonb, true, 30)', :'mock_port'));
SELECT t.err('SELECT http.get(''https://127.0.0.1/'')');
SELECT idx, sqlstate, error FROM http.batch('[{"url": "https://127.0.0.1/"}]');
-- nor HTTP/2 or decompression
SELECT t.err('SELECT http.get(''http://127.0.0.1/'', NULL, ''{"http_version": "2"}'')');
SELECT t.err('SELECT http.get(''http://127.0.0.1/'', NULL, ''{"decompress": true}'')');
SELECT (http.get(current_setting('pg_http_test.mock') || '/status/200', NULL, '{"http_version": "1.1"}')).http_version;
-- and a redirect to https stops at that hop
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"max_redirects": 2}'')',
                    current_setting('pg_http_test.mock') || '/redir/x?to=https://127.0.0.1/'));
-- a proxy it cannot use is not silently bypassed
SET pg_http.proxy = 'http://127.0.0.1:3128';
SELECT t.err('SELECT http.get(''http://127.0.0.1/'')');
RESET pg_http.proxy;
SELECT http.transport();
