-- pg_http 0.3.0 -> 0.4.0
\echo Use "ALTER EXTENSION pg_http UPDATE TO '0.4.0'" to load this file. \quit

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
