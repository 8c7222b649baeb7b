-- pg_http GET on a new connection each call (shows the handshake cost)
SELECT (http.get(:url, NULL, '{"keepalive": false}')).status;
