-- Objects the benchmark needs in its database.
CREATE EXTENSION IF NOT EXISTS pg_http;
CREATE EXTENSION IF NOT EXISTS plpython3u;
CREATE SCHEMA IF NOT EXISTS bench;
-- The PL/Python way of calling HTTP, as the seed did it: urllib in a plpython3u
-- function.  The TLS context is cached per session to be fair to it.
CREATE OR REPLACE FUNCTION bench.py_http(url text, method text, body text)
RETURNS int LANGUAGE plpython3u AS $$
import ssl
import urllib.request
if "ctx" not in GD:
    GD["ctx"] = ssl.create_default_context(cafile=plpy.execute(
        "SELECT current_setting('pg_http.ca_file') AS f")[0]["f"] or None)
data = body.encode() if body is not None else None
headers = {"Content-Type": "application/json"} if data is not None else {}
req = urllib.request.Request(url, data=data, method=method, headers=headers)
with urllib.request.urlopen(req, context=GD["ctx"] if url.startswith("https") else None,
                            timeout=30) as r:
    r.read()
    return r.status
$$;
-- pgsql-http's surface on pg_http, in a schema of its own (pgsql-http
-- itself, with --peers, is in public)
CREATE SCHEMA IF NOT EXISTS phc;
CREATE EXTENSION IF NOT EXISTS pgsql_http_compat WITH SCHEMA phc;
