-- The mock transport has no TLS: https fails clearly, before anything is sent.
SELECT current_setting('pg_http_test.mock_port') AS mock_port \gset
SELECT t.err(format('SELECT http_request(''127.0.0.1'', %s, ''/headers'', ''GET'', NULL, ''{"Authorization":"Bearer demo-token"}''::jsonb, true, 30)', :'mock_port'));
SELECT t.err('SELECT http.get(''https://127.0.0.1/'')');
SELECT idx, sqlstate, error FROM http.batch('[{"url": "https://127.0.0.1/"}]');
SELECT http.transport();
