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
	elapsed_ms double precision, -- whole exchange, connecting included
	timings jsonb				-- phases of the last hop in ms; they add up to total_ms
);
COMMENT ON TYPE http.response IS 'An HTTP response with a text body';

CREATE TYPE http.response_bytes AS (
	status integer,
	headers jsonb,
	body bytea,					-- the body exactly as received
	content_type text,
	url text,
	http_version text,
	elapsed_ms double precision,
	timings jsonb
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

-- Whether the ACLs are in force: the first http.acl_grant turns them on,
-- only http.acl_enforce(false) turns them off.  Revoking every entry leaves
-- them on (granting nothing), so that a mistake never opens everything.
-- No row: not in force.
CREATE TABLE http.acl_mode (
	enforced boolean NOT NULL,
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
REVOKE ALL ON TABLE http.acl_mode FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.acl_mode', '');
COMMENT ON TABLE http.acl_mode IS 'Whether pg_http per-role ACLs are in force (use http.acl_enforce)';
CREATE TRIGGER acl_mode_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON http.acl_mode
	FOR EACH STATEMENT EXECUTE FUNCTION http.acl_changed();

-- Every SQL and PL/pgSQL function here pins its search_path: a superuser
-- calling it must not run a function or operator another role planted.
CREATE FUNCTION http.acl_grant(role name, host_pattern text, ports text DEFAULT '1-65535')
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
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
	IF pg_catalog.lower(role::pg_catalog.text) = 'public' THEN
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
	INSERT INTO http.acl_mode (enforced) VALUES (true)
		ON CONFLICT (singleton) DO UPDATE SET enforced = true;
END
$$;
COMMENT ON FUNCTION http.acl_grant(name, text, text)
IS 'Let a role (or PUBLIC) reach hosts matching a pattern on some ports; puts the ACLs in force (superuser only)';

CREATE FUNCTION http.acl_revoke(role name, host_pattern text, ports text DEFAULT NULL)
RETURNS integer LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r oid;
	n integer;
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can revoke pg_http ACL entries'
			USING ERRCODE = '42501';
	END IF;
	IF pg_catalog.lower(role::pg_catalog.text) = 'public' THEN
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
IS 'Remove ACL entries of a role for a pattern (all ports unless given); returns how many; the ACLs stay in force (superuser only)';

CREATE FUNCTION http.acl_enforce(enforced boolean)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can turn pg_http ACLs on or off'
			USING ERRCODE = '42501';
	END IF;
	IF enforced IS NULL THEN
		RAISE EXCEPTION 'enforced must not be null' USING ERRCODE = '22004';
	END IF;
	INSERT INTO http.acl_mode (enforced) VALUES (acl_enforce.enforced)
		ON CONFLICT (singleton) DO UPDATE SET enforced = EXCLUDED.enforced;
END
$$;
COMMENT ON FUNCTION http.acl_enforce(boolean)
IS 'Put the per-role ACLs in force (true) or take them out of force (false); superuser only';

CREATE FUNCTION http.acl_enforced() RETURNS boolean
AS 'MODULE_PATHNAME', 'pg_http_acl_enforced'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION http.acl_enforced() IS 'Whether the per-role ACLs are in force';

-- What is granted: all entries for superusers, one's own (and PUBLIC's) for others.
CREATE VIEW http.acls WITH (security_barrier) AS
	SELECT CASE WHEN a.role = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.role) END AS role,
		   a.pattern, a.ports, pg_catalog.pg_get_userbyid(a.granted_by) AS granted_by, a.granted_at
	  FROM http.acl a
	 WHERE a.role = 0 OR pg_catalog.pg_has_role(current_user, a.role, 'USAGE')
		OR (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
GRANT SELECT ON http.acls TO PUBLIC;
COMMENT ON VIEW http.acls IS 'pg_http ACL entries visible to the current user';

-- The outbox: requests queued by http.enqueue(), sent by the delivery workers
-- after the queuing transaction commits, and their outcomes.  WAL-logged, so
-- a crash loses nothing that committed.  Rows are written only by pg_http's
-- own code; each role reads its own rows (row security), superusers all.
CREATE TABLE http.queue (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	owner oid NOT NULL,			-- the role that queued it; sent with its rights
	request jsonb NOT NULL,		-- the request document (as http.request(jsonb))
	host text NOT NULL,			-- host:port, for per-host caps and stats
	state text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'sending', 'delivered', 'failed', 'cancelled')),
	max_attempts integer NOT NULL,
	backoff_ms integer NOT NULL,
	backoff_max_ms integer NOT NULL,
	retry_4xx boolean NOT NULL DEFAULT false,
	idempotency_key text,
	callback regprocedure,
	attempts integer NOT NULL DEFAULT 0,	-- counted before each is sent
	next_at timestamptz NOT NULL,	-- not sent before this
	worker integer,				-- the worker slot sending it (state 'sending')
	possible_duplicate boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	first_sent_at timestamptz,
	last_sent_at timestamptz,
	finished_at timestamptz,	-- when the final outcome was known
	status integer,
	response_headers jsonb,
	response_body text,
	response_version text,
	error_code text,
	error text,
	callback_error text,
	interrupted integer NOT NULL DEFAULT 0, -- times a worker stopped while sending it
	callback_pending boolean NOT NULL DEFAULT false, -- final, its callback not yet run
	response_url text,			-- the final URL (after redirects)
	elapsed_ms double precision, -- of the last attempt
	redriven integer NOT NULL DEFAULT 0,	-- times sent again by http.retry / retry_failed
	credentials_removed boolean NOT NULL DEFAULT false, -- literal credentials taken out when it finished
	ordering_key text,			-- sent one at a time, in id order, with its owner's others of this key
	timings jsonb				-- phases of the last attempt's last hop (ms)
);
CREATE INDEX queue_due ON http.queue (next_at, id) WHERE state = 'queued';
CREATE INDEX queue_owner_due ON http.queue (owner, next_at, id) WHERE state = 'queued';
CREATE INDEX queue_callbacks ON http.queue (owner, finished_at) WHERE callback_pending;
CREATE INDEX queue_sending ON http.queue (worker) WHERE state = 'sending';
CREATE INDEX queue_finished ON http.queue (finished_at) WHERE state IN ('delivered', 'failed', 'cancelled');
CREATE INDEX queue_ordering ON http.queue (owner, ordering_key, id)
	WHERE ordering_key IS NOT NULL AND state IN ('queued', 'sending');
ALTER TABLE http.queue ENABLE ROW LEVEL SECURITY;
CREATE POLICY queue_owner ON http.queue FOR SELECT
	USING (owner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user));
-- A role may delete its own rows that no worker holds: cancel what is still
-- queued, forget outcomes (callbacks not yet run are kept).
CREATE POLICY queue_owner_delete ON http.queue FOR DELETE
	USING (owner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
		   AND state <> 'sending' AND NOT callback_pending);
REVOKE ALL ON TABLE http.queue FROM PUBLIC;
GRANT SELECT, DELETE ON TABLE http.queue TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.queue', '');
COMMENT ON TABLE http.queue IS 'pg_http outbox: queued requests and their outcomes (written by http.enqueue and the delivery workers)';

CREATE FUNCTION http.enqueue(request jsonb) RETURNS bigint
AS 'MODULE_PATHNAME', 'pg_http_enqueue'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION http.enqueue(jsonb)
IS 'Queue a request document; it is sent after this transaction commits. Returns its id';

CREATE FUNCTION http.enqueue(method text, url text, body text DEFAULT NULL,
							 headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS bigint LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT http.enqueue(pg_catalog.jsonb_build_object('method', method, 'url', url, 'body', body,
													  'headers', headers, 'options', options));
END;
COMMENT ON FUNCTION http.enqueue(text, text, text, jsonb, jsonb)
IS 'Queue a request; it is sent after this transaction commits. Returns its id';

-- Credentials out of sight: a URL without user:password@, a request
-- document without Authorization, Proxy-Authorization, Cookie or URL
-- credentials.  A finished queued request keeps only the latter.
CREATE FUNCTION http.redact_url(url text) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_redact_url'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION http.redact_url(text) IS 'The URL without its user:password@ part';

CREATE FUNCTION http.redact_request(request jsonb) RETURNS jsonb
AS 'MODULE_PATHNAME', 'pg_http_redact_request'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION http.redact_request(jsonb)
IS 'The request document without credential headers (Authorization, Proxy-Authorization, Cookie) or URL credentials';

-- Outcomes, for the role that queued them.
CREATE VIEW http.results WITH (security_invoker = true) AS
	SELECT id, pg_catalog.pg_get_userbyid(owner) AS owner, state, status,
		   response_headers AS headers, response_body AS body, response_version AS version,
		   attempts, possible_duplicate, error_code, error, callback_error,
		   created_at, first_sent_at, finished_at,
		   finished_at - created_at AS delivery_time,
		   request->>'method' AS method, http.redact_url(request->>'url') AS url,
		   http.redact_url(response_url) AS final_url, interrupted, callback_pending, redriven, timings
	  FROM http.queue;
GRANT SELECT ON http.results TO PUBLIC;
COMMENT ON VIEW http.results IS 'Queued requests and their outcomes, one row per request';

CREATE FUNCTION http.await(id bigint, timeout_ms integer DEFAULT 30000) RETURNS http.results
AS 'MODULE_PATHNAME', 'pg_http_await'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.await(bigint, integer)
IS 'Wait until a queued request is delivered, failed or cancelled (or the timeout passes); returns its row';

CREATE VIEW http.queue_stats WITH (security_invoker = true) AS
	SELECT host,
		   count(*) FILTER (WHERE state = 'queued') AS queued,
		   count(*) FILTER (WHERE state = 'sending') AS in_flight,
		   count(*) FILTER (WHERE state = 'delivered') AS delivered,
		   count(*) FILTER (WHERE state = 'failed') AS failed,
		   coalesce(sum(greatest(attempts - 1, 0)), 0) AS retries,
		   count(*) FILTER (WHERE possible_duplicate) AS possible_duplicates,
		   min(next_at) FILTER (WHERE state = 'queued') AS next_attempt_at,
		   count(*) FILTER (WHERE state = 'cancelled') AS cancelled,
		   pg_catalog.now() - min(next_at) FILTER (WHERE state = 'queued' AND next_at <= pg_catalog.now())
			 AS oldest_due_waiting
	  FROM http.queue
	 GROUP BY ROLLUP (host);
GRANT SELECT ON http.queue_stats TO PUBLIC;
COMMENT ON VIEW http.queue_stats IS 'Queue counts per host:port (host NULL: all hosts)';

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
	http.enqueue(jsonb),
	http.enqueue(text, text, text, jsonb, jsonb),
	http.await(bigint, integer),
	http.acl_grant(name, text, text),
	http.acl_revoke(name, text, text),
	http.acl_enforce(boolean),
	http.acl_changed()
FROM PUBLIC;
-- Secrets by name, bound to hosts (0.4.0).  A secret's value is a file in
-- pg_http.secrets_dir, never a row: these tables hold names, bindings and
-- grants only, and pg_dump keeps them (no value can be in the dump).
CREATE TABLE http.secret (
	name text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,62}$'),
	hosts text[] NOT NULL,		-- host patterns it may be sent to
	ports text NOT NULL DEFAULT '443',
	allow_http boolean NOT NULL DEFAULT false,	-- may go over plain http too
	defined_by oid NOT NULL DEFAULT 0,
	defined_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON TABLE http.secret FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.secret', '');
COMMENT ON TABLE http.secret IS 'pg_http secrets: names and host bindings, never values (use http.secret_define)';

CREATE TABLE http.secret_grant (
	secret text NOT NULL REFERENCES http.secret (name) ON DELETE CASCADE,
	role oid NOT NULL,			-- 0: PUBLIC
	granted_by oid NOT NULL DEFAULT 0,
	granted_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (secret, role)
);
REVOKE ALL ON TABLE http.secret_grant FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.secret_grant', '');
COMMENT ON TABLE http.secret_grant IS 'Roles that may use a pg_http secret (use http.secret_grant)';

CREATE FUNCTION http.secret_define(name text, hosts text[], ports text DEFAULT '443',
									allow_http boolean DEFAULT false)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can define pg_http secrets' USING ERRCODE = '42501';
	END IF;
	IF name IS NULL OR hosts IS NULL OR ports IS NULL OR allow_http IS NULL
	   OR pg_catalog.array_position(hosts, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'name, hosts (and each of them), ports and allow_http must not be null'
			USING ERRCODE = '22004';
	END IF;
	IF name !~ '^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,62}$' THEN
		RAISE EXCEPTION 'invalid secret name "%"', name USING ERRCODE = '22023',
			DETAIL = 'A secret''s name is 1 to 63 letters, digits, "_", "." or "-", not starting with ".".';
	END IF;
	IF pg_catalog.cardinality(hosts) = 0 THEN
		RAISE EXCEPTION 'a secret must be bound to at least one host pattern' USING ERRCODE = '22023';
	END IF;
	PERFORM http.acl_check_entry(h, ports) FROM pg_catalog.unnest(hosts) AS h;
	INSERT INTO http.secret (name, hosts, ports, allow_http, defined_by)
		VALUES (secret_define.name, secret_define.hosts, secret_define.ports, secret_define.allow_http,
				(SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))
		ON CONFLICT ON CONSTRAINT secret_pkey DO UPDATE
		SET hosts = EXCLUDED.hosts, ports = EXCLUDED.ports, allow_http = EXCLUDED.allow_http,
			defined_by = EXCLUDED.defined_by, defined_at = now();
END
$$;
COMMENT ON FUNCTION http.secret_define(text, text[], text, boolean)
IS 'Define (or rebind) a secret whose value is the file of that name in pg_http.secrets_dir, sent only to these hosts and ports, over https unless allow_http (superuser only)';

CREATE FUNCTION http.secret_drop(name text)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can drop pg_http secrets' USING ERRCODE = '42501';
	END IF;
	DELETE FROM http.secret s WHERE s.name = secret_drop.name;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION http.secret_drop(text)
IS 'Forget a secret''s binding and grants (its file stays); superuser only';

CREATE FUNCTION http.secret_grant(name text, role name)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r oid;
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can grant pg_http secrets' USING ERRCODE = '42501';
	END IF;
	IF NOT EXISTS (SELECT FROM http.secret s WHERE s.name = secret_grant.name) THEN
		RAISE EXCEPTION 'pg_http secret "%" does not exist', name USING ERRCODE = '42704';
	END IF;
	IF pg_catalog.lower(role::pg_catalog.text) = 'public' THEN
		r := 0;
	ELSE
		SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = role;
		IF r IS NULL THEN
			RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '42704';
		END IF;
	END IF;
	INSERT INTO http.secret_grant (secret, role, granted_by)
		VALUES (name, r, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user))
		ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION http.secret_grant(text, name)
IS 'Let a role (or PUBLIC) use a secret in its requests (superuser only)';

CREATE FUNCTION http.secret_revoke(name text, role name)
RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r oid;
	n integer;
BEGIN
	IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
		RAISE EXCEPTION 'only superusers can revoke pg_http secrets' USING ERRCODE = '42501';
	END IF;
	IF pg_catalog.lower(role::pg_catalog.text) = 'public' THEN
		r := 0;
	ELSE
		SELECT oid INTO r FROM pg_catalog.pg_roles WHERE rolname = role;
		IF r IS NULL THEN
			RAISE EXCEPTION 'role "%" does not exist', role USING ERRCODE = '42704';
		END IF;
	END IF;
	DELETE FROM http.secret_grant g WHERE g.secret = secret_revoke.name AND g.role = r;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION http.secret_revoke(text, name)
IS 'Take back a role''s use of a secret; requests made or sent from now on are refused (superuser only)';

-- Names, bindings and grantees, never values: all secrets for superusers,
-- those a role may use for others.
CREATE VIEW http.secrets WITH (security_barrier) AS
	SELECT s.name, s.hosts, s.ports, s.allow_http,
		   ARRAY(SELECT CASE WHEN g.role = 0 THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(g.role) END
				   FROM http.secret_grant g WHERE g.secret = s.name
					AND (g.role = 0 OR EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = g.role))
				  ORDER BY 1) AS grantees,
		   pg_catalog.pg_get_userbyid(s.defined_by) AS defined_by, s.defined_at
	  FROM http.secret s
	 WHERE (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
		OR EXISTS (SELECT FROM http.secret_grant g WHERE g.secret = s.name
					AND CASE WHEN g.role = 0 THEN true
							 WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.oid = g.role) THEN false
							 ELSE pg_catalog.pg_has_role(current_user, g.role, 'USAGE') END);
GRANT SELECT ON http.secrets TO PUBLIC;
COMMENT ON VIEW http.secrets IS 'pg_http secrets visible to the current user: names, host bindings and grantees, never values';

CREATE FUNCTION http.sign_preview(request jsonb, at timestamptz DEFAULT now()) RETURNS jsonb
AS 'MODULE_PATHNAME', 'pg_http_sign_preview'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.sign_preview(jsonb, timestamptz)
IS 'The headers a request''s first hop would carry at a time, signatures made and secret values shown as [secret name]; sends nothing (superuser only)';

REVOKE ALL ON FUNCTION
	http.secret_define(text, text[], text, boolean),
	http.secret_drop(text),
	http.secret_grant(text, name),
	http.secret_revoke(text, name),
	http.sign_preview(jsonb, timestamptz)
FROM PUBLIC;

-- Cancel and redrive (0.4.0): a role's own queued requests (superusers: any).
CREATE FUNCTION http.cancel(id bigint) RETURNS boolean
AS 'MODULE_PATHNAME', 'pg_http_cancel'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.cancel(bigint)
IS 'Cancel a queued request not yet being sent: true if it was cancelled, false if it was already in flight or finished';

CREATE FUNCTION http.retry(id bigint) RETURNS boolean
AS 'MODULE_PATHNAME', 'pg_http_retry'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.retry(bigint)
IS 'Send a failed or cancelled request again, with fresh attempts (counted in redriven); false if it is not failed or cancelled';

CREATE FUNCTION http.retry_failed(host_pattern text DEFAULT '*', since timestamptz DEFAULT '-infinity')
RETURNS integer
AS 'MODULE_PATHNAME', 'pg_http_retry_failed'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.retry_failed(text, timestamptz)
IS 'Send again the failed requests (the caller''s own; superusers: all) to hosts matching a pattern that finished since a time; returns how many';

REVOKE ALL ON FUNCTION http.cancel(bigint), http.retry(bigint), http.retry_failed(text, timestamptz)
FROM PUBLIC;

-- Host controls (0.4.0): rate limits, concurrency caps and pauses per host
-- pattern, shared by the delivery workers and (preloaded) every backend.
CREATE TABLE http.host_limits (
	pattern text PRIMARY KEY,	-- as in pg_http.allowed_hosts, :port or :N-M allowed
	requests_per_second double precision CHECK (requests_per_second > 0),
	burst integer NOT NULL DEFAULT 1 CHECK (burst >= 1),
	max_concurrency integer CHECK (max_concurrency >= 1),
	set_by oid NOT NULL DEFAULT 0,
	set_at timestamptz NOT NULL DEFAULT now(),
	CHECK (requests_per_second IS NOT NULL OR max_concurrency IS NOT NULL)
);
CREATE TABLE http.host_pauses (
	pattern text PRIMARY KEY,
	paused_by oid NOT NULL DEFAULT 0,
	paused_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON TABLE http.host_limits, http.host_pauses FROM PUBLIC;
GRANT SELECT ON TABLE http.host_limits, http.host_pauses TO PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.host_limits', '');
SELECT pg_catalog.pg_extension_config_dump('http.host_pauses', '');
COMMENT ON TABLE http.host_limits IS 'Rate limits and concurrency caps per host pattern (use http.host_limit / http.host_unlimit)';
COMMENT ON TABLE http.host_pauses IS 'Host patterns nothing is sent to (use http.pause / http.resume)';
-- every process reads them again after a change
CREATE TRIGGER host_limits_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON http.host_limits
	FOR EACH STATEMENT EXECUTE FUNCTION http.acl_changed();
CREATE TRIGGER host_pauses_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON http.host_pauses
	FOR EACH STATEMENT EXECUTE FUNCTION http.acl_changed();

-- Check a host pattern the way the controls read it; raises 22023 if they cannot.
CREATE FUNCTION http.check_host_pattern(pattern text) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_check_host_pattern'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- The controls: superusers, or roles granted EXECUTE on them.
CREATE FUNCTION http.host_limit(pattern text, requests_per_second double precision,
								burst integer DEFAULT 1, max_concurrency integer DEFAULT NULL)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF pattern IS NULL OR burst IS NULL THEN
		RAISE EXCEPTION 'pattern and burst must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM http.check_host_pattern(pattern);
	INSERT INTO http.host_limits (pattern, requests_per_second, burst, max_concurrency, set_by)
		VALUES (host_limit.pattern, host_limit.requests_per_second, host_limit.burst,
				host_limit.max_concurrency, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user))
		ON CONFLICT ON CONSTRAINT host_limits_pkey DO UPDATE
		SET requests_per_second = EXCLUDED.requests_per_second, burst = EXCLUDED.burst,
			max_concurrency = EXCLUDED.max_concurrency, set_by = EXCLUDED.set_by, set_at = now();
END
$$;
COMMENT ON FUNCTION http.host_limit(text, double precision, integer, integer)
IS 'Limit requests to hosts matching a pattern: requests per second (a token bucket of burst), and at most max_concurrency at once; effective at once';

CREATE FUNCTION http.host_unlimit(pattern text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM http.host_limits l WHERE l.pattern = host_unlimit.pattern;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION http.host_unlimit(text) IS 'Remove the limit set for a pattern; returns whether there was one';

CREATE FUNCTION http.pause(host_pattern text)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF host_pattern IS NULL THEN
		RAISE EXCEPTION 'host_pattern must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM http.check_host_pattern(host_pattern);
	INSERT INTO http.host_pauses (pattern, paused_by)
		VALUES (host_pattern, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = session_user))
		ON CONFLICT DO NOTHING;
END
$$;
COMMENT ON FUNCTION http.pause(text)
IS 'Send nothing to hosts matching a pattern: queued requests wait (no attempt spent), calls fail (55000); effective at once';

CREATE FUNCTION http.resume(host_pattern text)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM http.host_pauses p WHERE p.pattern = resume.host_pattern;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n > 0;
END
$$;
COMMENT ON FUNCTION http.resume(text) IS 'Undo http.pause for a pattern; returns whether it was paused';

CREATE FUNCTION http.host_state_rows(
	OUT host text, OUT requests_per_second double precision, OUT burst integer,
	OUT max_concurrency integer, OUT paused boolean, OUT tokens double precision,
	OUT in_flight integer, OUT retry_after_until timestamptz, OUT consecutive_failures integer,
	OUT breaker text, OUT open_until timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_http_host_states'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.host_state_rows() IS 'The rows of http.host_states';
CREATE VIEW http.host_states AS SELECT * FROM http.host_state_rows();
COMMENT ON VIEW http.host_states
IS 'The hosts this database''s requests went to lately, as their controls see them: limit, tokens, in flight, Retry-After, paused, breaker (shared when preloaded, else this backend''s)';

REVOKE ALL ON FUNCTION http.host_limit(text, double precision, integer, integer),
	http.host_unlimit(text), http.pause(text), http.resume(text), http.host_state_rows()
FROM PUBLIC;
REVOKE ALL ON http.host_states FROM PUBLIC;

-- http.stats (0.4.0): what HTTP is doing per database, role, host:port and
-- kind; in shared memory when preloaded (scope 'server'), else per backend.
CREATE FUNCTION http.stats_rows(
	OUT scope text, OUT role text, OUT host text, OUT kind text, OUT calls bigint,
	OUT errors jsonb, OUT timeouts bigint, OUT responses jsonb, OUT bytes_sent bigint,
	OUT bytes_received bigint, OUT connections_opened bigint, OUT connections_reused bigint,
	OUT mean_ms double precision, OUT p50_ms double precision, OUT p95_ms double precision,
	OUT p99_ms double precision, OUT max_ms double precision, OUT since timestamptz,
	OUT histogram jsonb)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pg_http_stats_rows'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.stats_rows() IS 'The rows of http.stats';
CREATE VIEW http.stats AS SELECT * FROM http.stats_rows();
GRANT SELECT ON http.stats TO PUBLIC;
COMMENT ON VIEW http.stats
IS 'Requests per role, host:port and kind (call or delivery): calls, errors by SQLSTATE class, timeouts, responses by class, body bytes, connections opened and reused, latency (the caller''s own rows; superusers: all)';

CREATE FUNCTION http.stats_reset() RETURNS void
AS 'MODULE_PATHNAME', 'pg_http_stats_reset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION http.stats_reset() IS 'Forget the counts of http.stats (superuser only)';
REVOKE ALL ON FUNCTION http.stats_reset() FROM PUBLIC;

-- Forms, query strings and multipart bodies (0.5.0).  The request document
-- takes "query", "form" and "multipart" too; these build the same encodings
-- for use anywhere.  No network: every role may call them.
CREATE FUNCTION http.urlencode(params jsonb) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_urlencode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION http.urlencode(jsonb)
IS 'An application/x-www-form-urlencoded body (WHATWG) from a jsonb object or [key, value] pairs; arrays repeat the key';

CREATE FUNCTION http.url(base text, params jsonb) RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_url'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION http.url(text, jsonb)
IS 'base with params appended as its query string (RFC 3986 percent-encoding), before any #fragment';

-- Policy explain and trace context (0.5.0).  http.check judges a URL as a
-- request would be judged, without sending it; it resolves the host name,
-- so it is a network function: not granted to PUBLIC.  The trace context
-- is a setting (pg_http.traceparent), with no SQL object.
CREATE FUNCTION http.check(url text, role name DEFAULT current_user) RETURNS jsonb
AS 'MODULE_PATHNAME', 'pg_http_check'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION http.check(text, name)
IS 'Whether role may reach url now and which rule decides (allow and deny lists, http.acl, the address guard), without sending anything';
REVOKE ALL ON FUNCTION http.check(text, name) FROM PUBLIC;

-- Responses as rows while they stream (0.5.0).  The body is read as rows
-- are taken, in bounded memory: max_response_bytes limits a row, not the
-- body, and timeout_ms is the longest wait for the next bytes.  A body that
-- breaks off, or a status other than 2xx (SQLSTATE HTxxx), fails the
-- statement.  Network functions: not granted to PUBLIC.
CREATE FUNCTION http.get_lines(url text, headers jsonb DEFAULT NULL, options jsonb DEFAULT NULL)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'pg_http_get_lines'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION http.get_lines(text, jsonb, jsonb)
IS 'GET url and return its body one line per row (LF or CRLF), read as the rows are taken';

CREATE FUNCTION http.get_json_rows(url text, path text[] DEFAULT NULL, headers jsonb DEFAULT NULL,
								   options jsonb DEFAULT NULL)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'pg_http_get_json_rows'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 1000;
COMMENT ON FUNCTION http.get_json_rows(text, text[], jsonb, jsonb)
IS 'GET url and return the elements of its JSON array (the document, or the array at path, a list of object keys) one per row, read as the rows are taken';

CREATE FUNCTION http.get_pages(url text, max_pages integer DEFAULT 10, headers jsonb DEFAULT NULL,
							   options jsonb DEFAULT NULL)
RETURNS SETOF http.response
AS 'MODULE_PATHNAME', 'pg_http_get_pages'
LANGUAGE C VOLATILE PARALLEL UNSAFE ROWS 10;
COMMENT ON FUNCTION http.get_pages(text, integer, jsonb, jsonb)
IS 'GET url and the pages its Link rel="next" headers lead to, on the same origin, up to max_pages; one response per page';

REVOKE ALL ON FUNCTION
	http.get_lines(text, jsonb, jsonb),
	http.get_json_rows(text, text[], jsonb, jsonb),
	http.get_pages(text, integer, jsonb, jsonb)
FROM PUBLIC;
