-- pgsql-http code on pg_http: http_get() of pgsql_http_compat (keep-alive)
SELECT (phc.http_get(:url)).status;
