-- Settings: set before the library loads, defaults, reserved prefix.
-- This is a fresh session: pg_http is not loaded yet when this runs.
SET pg_http.timeout = '300ms';
SELECT current_setting('pg_http_test.mock') AS mock \gset
SELECT t.err($$SELECT http.get('$$ || :'mock' || $$/delay/3000')$$);
RESET pg_http.timeout;

-- defaults
SELECT name,
       CASE WHEN name = 'pg_http.ca_file' AND setting <> '' THEN '(the test CA)'
            WHEN name = 'pg_http.secrets_dir' AND setting <> '' THEN '(the test secrets)'
            WHEN name = 'pg_http.user_agent' THEN replace(setting, http.version(), '<version>')
            ELSE setting END AS setting,
       unit, context
  FROM pg_settings WHERE name LIKE 'pg\_http.%' ORDER BY name;

-- the prefix is reserved
SELECT t.err('SET pg_http.no_such_setting = 1');

-- bad host lists are refused when set
SELECT t.err($$SET pg_http.allowed_hosts = 'bad host'$$);
SELECT t.err($$SET pg_http.denied_hosts = '10.0.0.0/33'$$);
SELECT t.err($$SET pg_http.allowed_hosts = 'a:70000'$$);

-- ALTER DATABASE / ROLE settings reach new sessions
ALTER DATABASE pg_http_regress SET pg_http.user_agent = 'from-alter-database';
\c
SELECT current_setting('pg_http_test.mock') AS mock \gset
SELECT jsonb_path_query_first((http.get(:'mock' || '/echo')).body::jsonb,
                              'strict $.headers[*] ? (@[0] == "User-Agent")') AS ua;
ALTER DATABASE pg_http_regress RESET pg_http.user_agent;
\c
SELECT current_setting('pg_http_test.mock') AS mock \gset
SELECT jsonb_path_query_first((http.get(:'mock' || '/echo')).body::jsonb,
                              'strict $.headers[*] ? (@[0] == "User-Agent")')->>1 = 'pg_http/' || http.version() AS default_ua;
