-- pg_http GET (url: plain or https, keep-alive)
SELECT (http.get(:url)).status;
