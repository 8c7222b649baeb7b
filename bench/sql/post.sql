-- pg_http POST of a JSON body (body: 1 KB of JSON)
SELECT (http.post(:url, :body::jsonb)).status;
