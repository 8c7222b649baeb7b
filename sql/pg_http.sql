-- pg_http: call HTTP and REST APIs from SQL.
-- Installed as pg_http--<version>.sql; the version lives in meson.build.

\echo Use "CREATE EXTENSION pg_http" to load this file. \quit

CREATE SCHEMA http;
GRANT USAGE ON SCHEMA http TO PUBLIC;
COMMENT ON SCHEMA http IS 'pg_http: HTTP client functions';

CREATE TYPE http.response AS (
	status integer,				-- HTTP status code; 4xx/5xx are rows, not errors
	headers jsonb,				-- lower-case names; a repeated name maps to an array
	body text,					-- decoded from the declared charset (UTF-8 default)
	content_type text,			-- the Content-Type header, NULL if absent
	url text,					-- final URL (no credentials)
	http_version text,			-- '1.0', '1.1' or '2'
	elapsed_ms double precision -- whole exchange, connecting included
);
COMMENT ON TYPE http.response IS 'An HTTP response with a text body';

CREATE TYPE http.response_bytes AS (
	status integer,
	headers jsonb,
	body bytea,					-- the body exactly as received
	content_type text,
	url text,
	http_version text,
	elapsed_ms double precision
);
COMMENT ON TYPE http.response_bytes IS 'An HTTP response with a bytea body';

-- The seed call: parts instead of a URL; timeout in seconds.
CREATE FUNCTION http_request(host text, port integer, path text, method text,
							 body text, headers jsonb, tls boolean, timeout integer)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_request_parts'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http_request(text, integer, text, text, text, jsonb, boolean, integer)
IS 'Send one HTTP request given as host, port, path, method, body, headers, tls, timeout (s)';

CREATE FUNCTION http.request(method text, url text, body text DEFAULT NULL,
							 headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_request'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.request(text, text, text, jsonb, jsonb)
IS 'Send one HTTP request with any method';

CREATE FUNCTION http.request(request jsonb)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_request_doc'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.request(jsonb)
IS 'Send one HTTP request given as a document {method, url, headers, body, options}';

CREATE FUNCTION http.request_bytes(method text, url text, body bytea DEFAULT NULL,
								   headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response_bytes
AS 'MODULE_PATHNAME', 'pg_http_request_bytes'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.request_bytes(text, text, bytea, jsonb, jsonb)
IS 'Send one HTTP request with a binary body; the response body is bytea';

CREATE FUNCTION http.get(url text, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.get(text, jsonb, jsonb) IS 'HTTP GET';

CREATE FUNCTION http.head(url text, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_head'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.head(text, jsonb, jsonb) IS 'HTTP HEAD';

CREATE FUNCTION http.delete(url text, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.delete(text, jsonb, jsonb) IS 'HTTP DELETE';

CREATE FUNCTION http.post(url text, body jsonb, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_post_jsonb'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.post(text, jsonb, jsonb, jsonb)
IS 'HTTP POST of a JSON body (Content-Type application/json unless given)';

CREATE FUNCTION http.post(url text, body text, content_type text,
						  headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_post_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.post(text, text, text, jsonb, jsonb)
IS 'HTTP POST of a text body with the given Content-Type';

CREATE FUNCTION http.put(url text, body jsonb, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_put_jsonb'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.put(text, jsonb, jsonb, jsonb)
IS 'HTTP PUT of a JSON body (Content-Type application/json unless given)';

CREATE FUNCTION http.put(url text, body text, content_type text,
						 headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_put_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.put(text, text, text, jsonb, jsonb)
IS 'HTTP PUT of a text body with the given Content-Type';

CREATE FUNCTION http.patch(url text, body jsonb, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_patch_jsonb'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.patch(text, jsonb, jsonb, jsonb)
IS 'HTTP PATCH of a JSON body (Content-Type application/json unless given)';

CREATE FUNCTION http.patch(url text, body text, content_type text,
						   headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS http.response
AS 'MODULE_PATHNAME', 'pg_http_patch_text'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION http.patch(text, text, text, jsonb, jsonb)
IS 'HTTP PATCH of a text body with the given Content-Type';

CREATE FUNCTION http.batch(requests jsonb, options jsonb DEFAULT NULL)
RETURNS TABLE (idx integer, status integer, headers jsonb, body text,
			   content_type text, url text, http_version text,
			   elapsed_ms double precision,
			   sqlstate text, error text, error_detail text)
AS 'MODULE_PATHNAME', 'pg_http_batch'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;
COMMENT ON FUNCTION http.batch(jsonb, jsonb)
IS 'Send many requests concurrently; one row per request in input order, errors in their row';

CREATE FUNCTION http.transport() RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_transport'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION http.transport() IS 'The transport pg_http was built with';

CREATE FUNCTION http.version() RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_version'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION http.version() IS 'The version of the pg_http library';

-- Per-role host ACLs.  Once any entry exists, every request must be covered
-- by an entry for the current user, a role it has the privileges of, or
-- PUBLIC (role 0).  Managed by superusers through http.acl_grant and
-- http.acl_revoke; read through http.acls.
CREATE TABLE http.acl (
	role oid NOT NULL,			-- 0: PUBLIC
	pattern text NOT NULL,		-- host, *.domain, *, address or CIDR range
	ports text NOT NULL DEFAULT '1-65535',
	granted_by oid NOT NULL DEFAULT 0,
	granted_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (role, pattern, ports)
);
REVOKE ALL ON TABLE http.acl FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.acl', '');
COMMENT ON TABLE http.acl IS 'pg_http per-role host ACL entries (use http.acl_grant / http.acl_revoke)';

-- Every backend caches the entries; this tells them all to reload at commit.
CREATE FUNCTION http.acl_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'pg_http_acl_changed'
LANGUAGE C;
CREATE TRIGGER acl_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON http.acl
	FOR EACH STATEMENT EXECUTE FUNCTION http.acl_changed();

-- Check an entry the way the policy will read it; raises 22023 if it cannot.
CREATE FUNCTION http.acl_check_entry(pattern text, ports text) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_acl_check_entry'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION http.acl_grant(role name, host_pattern text, ports text DEFAULT '1-65535')
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	r oid;
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can grant pg_http ACL entries'
			USING ERRCODE = '42501';
	END IF;
	IF role IS NULL OR host_pattern IS NULL OR ports IS NULL THEN
		RAISE EXCEPTION 'role, host_pattern and ports must not be null' USING ERRCODE = '22004';
	END IF;
	IF lower(role) = 'public' THEN
		r := 0;
	ELSE
		SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = role;
		IF r IS NULL THEN
			RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '42704';
		END IF;
	END IF;
	PERFORM http.acl_check_entry(host_pattern, ports);
	INSERT INTO http.acl (role, pattern, ports, granted_by)
		VALUES (r, host_pattern, ports,
				(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))
		ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION http.acl_grant(name, text, text)
IS 'Let a role (or PUBLIC) reach hosts matching a pattern on some ports (superuser only)';

CREATE FUNCTION http.acl_revoke(role name, host_pattern text, ports text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	r oid;
	n integer;
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can revoke pg_http ACL entries'
			USING ERRCODE = '42501';
	END IF;
	IF lower(role) = 'public' THEN
		r := 0;
	ELSE
		SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = role;
		IF r IS NULL THEN
			RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '42704';
		END IF;
	END IF;
	DELETE FROM http.acl a
	 WHERE a.role = r AND a.pattern = host_pattern AND (acl_revoke.ports IS NULL OR a.ports = acl_revoke.ports);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
COMMENT ON FUNCTION http.acl_revoke(name, text, text)
IS 'Remove ACL entries of a role for a pattern (all ports unless given); returns how many (superuser only)';

-- What is granted: all entries for superusers, one's own (and PUBLIC's) for others.
CREATE VIEW http.acls WITH (security_barrier) AS
	SELECT CASE WHEN a.role = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.role) END AS role,
		   a.pattern, a.ports, pg_catalog.pg_get_userbyid(a.granted_by) AS granted_by, a.granted_at
	  FROM http.acl a
	 WHERE a.role = 0 OR pg_catalog.pg_has_role(current_user, a.role, 'USAGE')
		OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
GRANT SELECT ON http.acls TO PUBLIC;
COMMENT ON VIEW http.acls IS 'pg_http ACL entries visible to the current user';

-- Network functions are not for everyone: grant them explicitly.
REVOKE ALL ON FUNCTION
	http_request(text, integer, text, text, text, jsonb, boolean, integer),
	http.request(text, text, text, jsonb, jsonb),
	http.request(jsonb),
	http.request_bytes(text, text, bytea, jsonb, jsonb),
	http.get(text, jsonb, jsonb),
	http.head(text, jsonb, jsonb),
	http.delete(text, jsonb, jsonb),
	http.post(text, jsonb, jsonb, jsonb),
	http.post(text, text, text, jsonb, jsonb),
	http.put(text, jsonb, jsonb, jsonb),
	http.put(text, text, text, jsonb, jsonb),
	http.patch(text, jsonb, jsonb, jsonb),
	http.patch(text, text, text, jsonb, jsonb),
	http.batch(jsonb, jsonb),
	http.acl_grant(name, text, text),
	http.acl_revoke(name, text, text),
	http.acl_changed()
FROM PUBLIC;
