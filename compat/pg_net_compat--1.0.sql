-- pg_net_compat: pg_net 0.20's SQL surface in schema net, over pg_http's
-- outbox.  net.http_get/post/delete queue a request with http.enqueue()
-- (sent after commit by pg_http's delivery workers, tagged "pg_net");
-- net._http_response and net.http_request_queue are views of those rows of
-- http.queue, so each role sees, and may delete, only its own.  Functions
-- pin their search_path or are parsed here (BEGIN ATOMIC).

\echo Use "CREATE EXTENSION pg_net_compat" to load this file. \quit

-- The schema is the extension's (DROP EXTENSION removes it); an existing
-- "net" (pg_net's) is an error here, not something to share.
CREATE SCHEMA net;
GRANT USAGE ON SCHEMA net TO PUBLIC;

CREATE DOMAIN net.http_method AS text
	CHECK (VALUE OPERATOR(pg_catalog.~~*) 'get' OR VALUE OPERATOR(pg_catalog.~~*) 'post'
		   OR VALUE OPERATOR(pg_catalog.~~*) 'delete');

CREATE TYPE net.request_status AS ENUM ('PENDING', 'SUCCESS', 'ERROR');

CREATE TYPE net.http_response AS (
	status_code integer,
	headers jsonb,
	body text
);

CREATE TYPE net.http_response_result AS (
	status net.request_status,
	message text,
	response net.http_response
);

-- The requests net.* queued that are not finished yet.
CREATE VIEW net.http_request_queue WITH (security_invoker = true) AS
	SELECT q.id,
		   (q.request OPERATOR(pg_catalog.->>) 'method')::net.http_method AS method,
		   http.redact_url(q.request OPERATOR(pg_catalog.->>) 'url') AS url,
		   q.request OPERATOR(pg_catalog.->) 'headers' AS headers,
		   pg_catalog.convert_to(q.request OPERATOR(pg_catalog.->>) 'body', 'UTF8') AS body,
		   ((q.request OPERATOR(pg_catalog.->) 'options') OPERATOR(pg_catalog.->>) 'timeout_ms')::integer
			   AS timeout_milliseconds
	  FROM http.queue q
	 WHERE q.state OPERATOR(pg_catalog.=) ANY ('{queued,sending}'::text[])
	   AND (q.request OPERATOR(pg_catalog.->) 'options') OPERATOR(pg_catalog.->>) 'tag'
		   OPERATOR(pg_catalog.=) 'pg_net';
COMMENT ON VIEW net.http_request_queue IS 'Requests queued by net.http_get/post/delete and not finished (a view of http.queue)';

-- Their outcomes: one row per finished request, as pg_net's table had them.
-- Header names are lower-case; a repeated header keeps its last value.
CREATE VIEW net._http_response WITH (security_invoker = true) AS
	SELECT q.id,
		   q.status AS status_code,
		   CASE pg_catalog.jsonb_typeof(q.response_headers OPERATOR(pg_catalog.->) 'content-type')
			   WHEN 'array' THEN (q.response_headers OPERATOR(pg_catalog.->) 'content-type') OPERATOR(pg_catalog.->>) -1
			   ELSE q.response_headers OPERATOR(pg_catalog.->>) 'content-type' END AS content_type,
		   (SELECT pg_catalog.jsonb_object_agg(h.key,
					   CASE pg_catalog.jsonb_typeof(h.value) WHEN 'array'
						   THEN h.value OPERATOR(pg_catalog.->) -1 ELSE h.value END)
			  FROM pg_catalog.jsonb_each(q.response_headers) AS h) AS headers,
		   NULLIF(q.response_body, '') AS content,
		   coalesce(q.error_code OPERATOR(pg_catalog.=) '08T00', false) AS timed_out,
		   CASE WHEN q.status IS NULL THEN q.error END AS error_msg,
		   q.finished_at AS created
	  FROM http.queue q
	 WHERE q.state OPERATOR(pg_catalog.=) ANY ('{delivered,failed}'::text[])
	   AND (q.request OPERATOR(pg_catalog.->) 'options') OPERATOR(pg_catalog.->>) 'tag'
		   OPERATOR(pg_catalog.=) 'pg_net';
COMMENT ON VIEW net._http_response IS 'Outcomes of the requests net.http_get/post/delete queued (a view of http.queue; DELETE forgets them)';

GRANT SELECT, DELETE ON net.http_request_queue, net._http_response TO PUBLIC;

-- pg_net's (curl's) percent-encoding: %20 for a space
CREATE FUNCTION net._urlencode_string(string varchar)
RETURNS text
AS 'MODULE_PATHNAME', 'pg_http_compat_escape'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

-- url with "name=value" parameters appended to its query (a fragment is dropped)
CREATE FUNCTION net._encode_url_with_params_array(url text, params_array text[])
RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
	SELECT pg_catalog.split_part(url, '#', 1) OPERATOR(pg_catalog.||)
		   CASE WHEN pg_catalog.cardinality(pg_catalog.array_remove(params_array, NULL))
					 OPERATOR(pg_catalog.=) 0 THEN ''
				WHEN pg_catalog.strpos(pg_catalog.split_part(url, '#', 1), '?') OPERATOR(pg_catalog.=) 0
					THEN '?'
				WHEN pg_catalog.right(pg_catalog.split_part(url, '#', 1), 1)
					 OPERATOR(pg_catalog.=) ANY ('{?,&}'::text[]) THEN ''
				ELSE '&' END
		   OPERATOR(pg_catalog.||) pg_catalog.array_to_string(params_array, '&');
END;

-- The request document http.enqueue() gets: one attempt, as pg_net makes
-- (pg_net_compat.max_attempts, if set, allows retries); redirects followed,
-- as pg_net has curl do, up to pg_http.max_redirects.
CREATE FUNCTION net._request(method text, url text, params jsonb, headers jsonb,
							 body text, timeout_milliseconds integer)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	attempts integer := coalesce(nullif(current_setting('pg_net_compat.max_attempts', true), '')::integer, 1);
BEGIN
	RETURN jsonb_build_object(
		'method', method,
		'url', net._encode_url_with_params_array(url,
				   ARRAY(SELECT net._urlencode_string(p.key) || '=' || net._urlencode_string(p.value)
						   FROM jsonb_each_text(coalesce(params, '{}'::jsonb)) AS p)),
		'headers', (SELECT jsonb_object_agg(h.key, h.value) FROM jsonb_each_text(headers) AS h),
		'body', body,
		'options', jsonb_build_object('timeout_ms', timeout_milliseconds, 'max_attempts', attempts,
									  'max_redirects', current_setting('pg_http.max_redirects')::integer,
									  'tag', 'pg_net'));
END;
$$;

CREATE FUNCTION net.http_get(url text, params jsonb DEFAULT '{}'::jsonb,
							 headers jsonb DEFAULT '{}'::jsonb,
							 timeout_milliseconds integer DEFAULT 5000)
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT http.enqueue(net._request('GET', url, params, headers, NULL, timeout_milliseconds));
END;

CREATE FUNCTION net.http_post(url text, body jsonb DEFAULT '{}'::jsonb,
							  params jsonb DEFAULT '{}'::jsonb,
							  headers jsonb DEFAULT '{"Content-Type": "application/json"}'::jsonb,
							  timeout_milliseconds integer DEFAULT 5000)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	content_type text;
BEGIN
	SELECT h.value INTO content_type
	  FROM jsonb_each_text(coalesce(headers, '{}'::jsonb)) AS h
	 WHERE lower(h.key) = 'content-type'
	 LIMIT 1;
	IF content_type IS NULL THEN
		headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
	ELSIF content_type <> 'application/json' THEN
		RAISE EXCEPTION 'Content-Type header must be "application/json"'
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'net.http_post sends a JSON body; http.enqueue() sends any.';
	END IF;
	RETURN http.enqueue(net._request('POST', url, params, headers, body::text, timeout_milliseconds));
END;
$$;

CREATE FUNCTION net.http_delete(url text, params jsonb DEFAULT '{}'::jsonb,
								headers jsonb DEFAULT '{}'::jsonb,
								timeout_milliseconds integer DEFAULT 5000,
								body jsonb DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT http.enqueue(net._request('DELETE', url, params, headers, body::text, timeout_milliseconds));
END;

-- Wait for a request's outcome (it must have been committed).  One read
-- per look, so a request that finishes between two reads is not missed.
CREATE FUNCTION net._await_response(request_id bigint)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	st text;
BEGIN
	LOOP
		SELECT q.state INTO st FROM http.queue q
		 WHERE q.id = request_id AND (q.request -> 'options') ->> 'tag' = 'pg_net';
		IF st IN ('delivered', 'failed') THEN
			RETURN true;
		ELSIF st IS NULL THEN
			RAISE EXCEPTION 'request matching request_id not found'
				USING ERRCODE = 'no_data_found',
					  DETAIL = format('No request %s queued by net.* is visible to this role.', request_id);
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
END;
$$;

CREATE FUNCTION net._http_collect_response(request_id bigint, async boolean DEFAULT true)
RETURNS net.http_response_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rec net._http_response;
BEGIN
	IF NOT async THEN
		PERFORM net._await_response(request_id);
	END IF;
	SELECT * INTO rec FROM net._http_response WHERE id = request_id;
	IF rec IS NULL OR rec.error_msg IS NOT NULL THEN
		RETURN ('ERROR', coalesce(rec.error_msg, 'request matching request_id not found'),
				NULL)::net.http_response_result;
	END IF;
	RETURN ('SUCCESS', 'ok', (rec.status_code, rec.headers, rec.content)::net.http_response)
		   ::net.http_response_result;
END;
$$;

CREATE FUNCTION net.http_collect_response(request_id bigint, async boolean DEFAULT true)
RETURNS net.http_response_result
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE NOTICE 'The net.http_collect_response function is deprecated.';
	RETURN net._http_collect_response(request_id, async);
END;
$$;

-- The delivery workers of this database (pg_http's, by PostgreSQL's backend type).
CREATE FUNCTION net.check_worker_is_up()
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_stat_activity
					WHERE backend_type = 'pg_http worker' AND datname = current_database()) THEN
		RAISE EXCEPTION 'the pg_http delivery worker is not up'
			USING DETAIL = 'No pg_http worker serves this database.',
				  HINT = 'Add pg_http to shared_preload_libraries and this database to pg_http.worker_databases, then restart.';
	END IF;
END;
$$;

CREATE FUNCTION net.wait_until_running()
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	FOR i IN 1..600 LOOP
		PERFORM pg_stat_clear_snapshot();	-- see workers started since the last look
		IF EXISTS (SELECT 1 FROM pg_stat_activity
					WHERE backend_type = 'pg_http worker' AND datname = current_database()) THEN
			RETURN;
		END IF;
		PERFORM pg_sleep(0.05);
	END LOOP;
	PERFORM net.check_worker_is_up();
END;
$$;

-- pg_http wakes its workers when a transaction that queued work commits.
CREATE FUNCTION net.wake()
RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT;
END;

-- Stop this database's delivery workers; the postmaster starts them again.
CREATE FUNCTION net.worker_restart()
RETURNS boolean
LANGUAGE sql VOLATILE
BEGIN ATOMIC
	SELECT coalesce(pg_catalog.bool_or(pg_catalog.pg_terminate_backend(a.pid)), false)
	  FROM pg_catalog.pg_stat_activity a
	 WHERE a.backend_type OPERATOR(pg_catalog.=) 'pg_http worker'
	   AND a.datname OPERATOR(pg_catalog.=) pg_catalog.current_database();
END;

-- Queuing requests and restarting workers are not for everyone: grant them.
REVOKE ALL ON FUNCTION
	net.http_get(text, jsonb, jsonb, integer),
	net.http_post(text, jsonb, jsonb, jsonb, integer),
	net.http_delete(text, jsonb, jsonb, integer, jsonb),
	net.worker_restart()
FROM PUBLIC;
