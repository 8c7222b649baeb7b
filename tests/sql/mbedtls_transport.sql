-- What only the mbedtls transport does.
SELECT current_setting('pg_http_test.mock_tls_port') AS mock_tls_port \gset

-- a body that only the close ends, cut without TLS's close_notify (as an
-- attacker truncating it would): truncated, not complete
SELECT t.err(format('SELECT http.get(%L, NULL, ''{"keepalive": false}'')',
                    'https://localhost:' || :'mock_tls_port' || '/close-delimited-abort/5000')) AS cut_without_close_notify;
-- with close_notify it is complete
SELECT length((http.get('https://localhost:' || :'mock_tls_port' || '/close-delimited/5000', NULL, '{"keepalive": false}')).body) AS ended_properly;
