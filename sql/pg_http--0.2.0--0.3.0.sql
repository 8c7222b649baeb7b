-- pg_http 0.2.0 -> 0.3.0
\echo Use "ALTER EXTENSION pg_http UPDATE TO '0.3.0'" to load this file. \quit

-- A role may delete its own rows that no worker holds: cancel what is still
-- queued, forget outcomes (callbacks not yet run are kept).  The drop-in
-- layer for pg_net code deletes from its response view this way.
CREATE POLICY queue_owner_delete ON http.queue FOR DELETE
	USING (owner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
		   AND state <> 'sending' AND NOT callback_pending);
GRANT DELETE ON TABLE http.queue TO PUBLIC;
