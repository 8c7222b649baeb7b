-- pg_http 0.1.0 -> 0.2.0
\echo Use "ALTER EXTENSION pg_http UPDATE TO '0.2.0'" to load this file. \quit

-- The outbox: attempts a crashed worker used up, callbacks run after the
-- outcome commits (by the callback worker), the final URL and time of the
-- last attempt (for callbacks), and an owner-first index for a claim that
-- is fair between roles.
ALTER TABLE http.queue
	ADD COLUMN interrupted integer NOT NULL DEFAULT 0,
	ADD COLUMN callback_pending boolean NOT NULL DEFAULT false,
	ADD COLUMN response_url text,
	ADD COLUMN elapsed_ms double precision;
CREATE INDEX queue_owner_due ON http.queue (owner, next_at, id) WHERE state = 'queued';
CREATE INDEX queue_callbacks ON http.queue (owner, finished_at) WHERE callback_pending;

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

CREATE OR REPLACE VIEW http.results WITH (security_invoker = true) AS
	SELECT id, pg_catalog.pg_get_userbyid(owner) AS owner, state, status,
		   response_headers AS headers, response_body AS body, response_version AS version,
		   attempts, possible_duplicate, error_code, error, callback_error,
		   created_at, first_sent_at, finished_at,
		   finished_at - created_at AS delivery_time,
		   request->>'method' AS method, http.redact_url(request->>'url') AS url,
		   http.redact_url(response_url) AS final_url, interrupted, callback_pending
	  FROM http.queue;

-- ACLs in force by an explicit switch, not by "some entry exists": revoking
-- the last entry no longer opens everything.  In force after the upgrade
-- exactly when they were before.
CREATE TABLE http.acl_mode (
	enforced boolean NOT NULL,
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton)
);
REVOKE ALL ON TABLE http.acl_mode FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('http.acl_mode', '');
COMMENT ON TABLE http.acl_mode IS 'Whether pg_http per-role ACLs are in force (use http.acl_enforce)';
CREATE TRIGGER acl_mode_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON http.acl_mode
	FOR EACH STATEMENT EXECUTE FUNCTION http.acl_changed();
INSERT INTO http.acl_mode (enforced) SELECT true WHERE EXISTS (SELECT FROM http.acl);

-- Every SQL and PL/pgSQL function here pins its search_path: a superuser
-- calling it must not run a function or operator another role planted.
CREATE OR REPLACE FUNCTION http.acl_grant(role name, host_pattern text, ports text DEFAULT '1-65535')
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

CREATE OR REPLACE FUNCTION http.acl_revoke(role name, host_pattern text, ports text DEFAULT NULL)
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

REVOKE ALL ON FUNCTION http.acl_enforce(boolean) FROM PUBLIC;
