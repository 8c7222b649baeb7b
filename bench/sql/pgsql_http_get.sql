-- pgsql-http, measured only if the "http" extension is installed
SELECT status FROM http_get(:url);
