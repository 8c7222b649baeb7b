-- pgsql_http_compat: pgsql-http 1.7's SQL surface, in the schema it is
-- created in, over pg_http's engine, policy and settings.  The network
-- calls are C functions of pg_http (src/compat.c); the rest is SQL whose
-- body is parsed here (BEGIN ATOMIC) or that pins its search_path.

\echo Use "CREATE EXTENSION pgsql_http_compat" to load this file. \quit

CREATE DOMAIN @extschema@.http_method AS text;
CREATE DOMAIN @extschema@.content_type AS text
	CHECK (VALUE OPERATOR(pg_catalog.~) '^\S+\/\S+');

CREATE TYPE @extschema@.http_header AS (
	field varchar,
	value varchar
);

CREATE TYPE @extschema@.http_response AS (
	status integer,
	content_type varchar,
	headers @extschema@.http_header[],
	content varchar
);

CREATE TYPE @extschema@.http_request AS (
	method @extschema@.http_method,
	uri varchar,
	headers @extschema@.http_header[],
	content_type varchar,
	content varchar
);

-- pgsql-http's CURLOPT_* options, as session settings (http.curlopt_*)
CREATE FUNCTION @extschema@.http_set_curlopt(curlopt varchar, value varchar)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pg_http_compat_set_curlopt'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_reset_curlopt()
RETURNS boolean
AS 'MODULE_PATHNAME', 'pg_http_compat_reset_curlopt'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_list_curlopt()
RETURNS TABLE (curlopt text, value text)
AS 'MODULE_PATHNAME', 'pg_http_compat_list_curlopt'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_header(field varchar, value varchar)
RETURNS @extschema@.http_header
LANGUAGE sql IMMUTABLE
BEGIN ATOMIC
	SELECT ROW(field, value)::@extschema@.http_header;
END;

CREATE FUNCTION @extschema@.http_headers(VARIADIC args text[])
RETURNS @extschema@.http_header[]
LANGUAGE plpgsql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF coalesce(cardinality(args), 0) % 2 <> 0 THEN
		RAISE EXCEPTION 'Arguments must be provided in key-value pairs'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Give http_headers(''Name1'', ''value1'', ''Name2'', ''value2'', ...).';
	END IF;
	RETURN ARRAY(SELECT ROW(args[i], args[i + 1])::@extschema@.http_header
				   FROM generate_series(1, coalesce(cardinality(args), 0), 2) AS i
				  ORDER BY i);
END;
$$;

CREATE FUNCTION @extschema@.http(request @extschema@.http_request)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_http'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_get(uri varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_get'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_post(uri varchar, content varchar, content_type varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_post'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_put(uri varchar, content varchar, content_type varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_put'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_patch(uri varchar, content varchar, content_type varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_patch'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_delete(uri varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_delete'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_delete(uri varchar, content varchar, content_type varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_delete_body'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.http_head(uri varchar)
RETURNS @extschema@.http_response
AS 'MODULE_PATHNAME', 'pg_http_compat_head'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.urlencode(string varchar)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_compat_urlencode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.urlencode(string bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_compat_urlencode'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.urlencode(data jsonb)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_compat_urlencode_jsonb'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- the query string of a GET and the form body of a POST, as pgsql-http builds them
CREATE FUNCTION @extschema@.http_get(uri varchar, data jsonb)
RETURNS @extschema@.http_response
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT @extschema@.http(ROW('GET', uri OPERATOR(pg_catalog.||) '?'
								OPERATOR(pg_catalog.||) @extschema@.urlencode(data),
								NULL, NULL, NULL)::@extschema@.http_request);
END;

CREATE FUNCTION @extschema@.http_post(uri varchar, data jsonb)
RETURNS @extschema@.http_response
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT @extschema@.http(ROW('POST', uri, NULL, 'application/x-www-form-urlencoded',
								@extschema@.urlencode(data))::@extschema@.http_request);
END;

CREATE FUNCTION @extschema@.text_to_bytea(data text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pg_http_compat_text_to_bytea'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.bytea_to_text(data bytea)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_compat_bytea_to_text'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- Network calls are not for everyone (as pg_http's own): grant them.
REVOKE ALL ON FUNCTION
	@extschema@.http(@extschema@.http_request),
	@extschema@.http_get(varchar),
	@extschema@.http_get(varchar, jsonb),
	@extschema@.http_post(varchar, varchar, varchar),
	@extschema@.http_post(varchar, jsonb),
	@extschema@.http_put(varchar, varchar, varchar),
	@extschema@.http_patch(varchar, varchar, varchar),
	@extschema@.http_delete(varchar),
	@extschema@.http_delete(varchar, varchar, varchar),
	@extschema@.http_head(varchar)
FROM PUBLIC;
