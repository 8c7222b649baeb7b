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

CREATE OR REPLACE VIEW http.results WITH (security_invoker = true) AS
	SELECT id, pg_catalog.pg_get_userbyid(owner) AS owner, state, status,
		   response_headers AS headers, response_body AS body, response_version AS version,
		   attempts, possible_duplicate, error_code, error, callback_error,
		   created_at, first_sent_at, finished_at,
		   finished_at - created_at AS delivery_time,
		   request->>'method' AS method, request->>'url' AS url,
		   response_url AS final_url, interrupted, callback_pending
	  FROM http.queue;
