/*-------------------------------------------------------------------------
 *
 * delivery.c
 *	  What becomes of a delivery worker's attempts: judge each one (retry,
 *	  backoff, Retry-After), record outcomes, recover after a crash, put
 *	  requests back on a stop, delete old outcomes.  Claiming and making
 *	  the requests is claim.c's.
 *
 * - Outcomes are written in chunks bounded in rows and bytes, so the memory
 *   a cycle needs does not grow with the sizes of all its responses; a
 *   chunk that cannot be written is written row by row, and a row that
 *   still cannot is recorded as failed with the reason.
 * - A request is counted as an attempt before it is sent; after a worker
 *   died while sending it, it is sent again (a possible duplicate) unless
 *   its attempts are used up or it was in flight at three such deaths:
 *   then it fails, and a worker that keeps dying waits before it sends.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "exchange.h"
#include "queue.h"
#include "request.h"
#include "settings.h"
#include "worker.h"

#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

/* A chunk of outcomes written by one statement: at most this many rows... */
#define CHUNK_ROWS		256
/* ... or about this many bytes of bodies and headers. */
#define CHUNK_BYTES		(8 * 1024 * 1024)

/* A worker that died this often with a request in flight gives it up. */
#define MAX_INTERRUPTIONS 3

/* Outcome of one attempt, as written to http.queue. */
typedef enum Outcome
{
	OUT_DELIVERED,
	OUT_FAILED,
	OUT_RETRY
} Outcome;

/* The columns of one chunk of outcomes, one array element per delivery. */
#define RECORD_COLS 15
typedef struct RecordChunk
{
	Delivery   *d[CHUNK_ROWS];
	Datum		v[RECORD_COLS][CHUNK_ROWS];
	bool		null[RECORD_COLS][CHUNK_ROWS];
	int			n;
	Size		bytes;
} RecordChunk;

static const Oid record_elem[RECORD_COLS] = {INT8OID, TEXTOID, INT4OID, JSONBOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID, TIMESTAMPTZOID,
TEXTOID, FLOAT8OID, JSONBOID};

/* ------------------------------------------------------------------ */
/* Plans */

/* Plans are prepared once per worker (and re-planned by SPI as needed). */
static SPIPlanPtr
prepare(const char *sql, int nargs, Oid *types)
{
	SPIPlanPtr	p = SPI_prepare(sql, nargs, types);

	if (p == NULL)
		elog(ERROR, "pg_http worker: could not prepare \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(p);
	return p;
}

/* Prepare the worker's statements, once. */
void
DeliveryPreparePlans(WorkerState *ws)
{
	Oid			cand_types[3] = {OIDARRAYOID, INT4ARRAYOID, TEXTARRAYOID};
	Oid			take_types[2] = {INT4OID, INT8ARRAYOID};
	Oid			record_types[RECORD_COLS + 1] = {INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
		JSONBARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
		TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, BOOLARRAYOID, TIMESTAMPTZARRAYOID,
	TEXTARRAYOID, FLOAT8ARRAYOID, JSONBARRAYOID, INT4OID};
	Oid			ret_types[1] = {TIMESTAMPTZOID};

	if (ws->owners_plan)
		return;

	/*
	 * The roles with queued rows: a loose scan of the owner-first index, one
	 * probe per role however long its backlog.
	 */
	ws->owners_plan = prepare(
		"WITH RECURSIVE o(owner) AS ("
		"  (SELECT owner FROM http.queue WHERE state = 'queued' ORDER BY owner LIMIT 1)"
		"  UNION ALL"
		"  SELECT (SELECT q.owner FROM http.queue q WHERE q.state = 'queued'"
		"            AND q.owner OPERATOR(pg_catalog.>) o.owner ORDER BY q.owner LIMIT 1)"
		"    FROM o WHERE o.owner IS NOT NULL)"
		" SELECT owner FROM o WHERE owner IS NOT NULL",
		0, NULL);

	/*
	 * Each role's first due rows (at most its window, $2), in its own queue
	 * order, past those to hosts with no room ($3: at their share, or held
	 * back by their controls): a role's backlog only ever stands in front
	 * of its own requests, and one host's in front of no other host's.  They are locked (until this
	 * cycle commits), so that another worker looks past them.
	 */
	ws->candidates_plan = prepare(
		"SELECT c.id, c.owner, c.host"
		" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS w(owner, win)"
		" CROSS JOIN LATERAL (SELECT q.id, q.owner, q.host, q.next_at FROM http.queue q"
		"   WHERE q.owner OPERATOR(pg_catalog.=) w.owner AND q.state = 'queued'"
		"     AND q.next_at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()"
		/* one at a time per ordering key: not while an earlier one of its owner's is pending */
		"     AND (q.ordering_key IS NULL OR NOT EXISTS (SELECT FROM http.queue p"
		"       WHERE p.owner OPERATOR(pg_catalog.=) q.owner"
		"         AND p.ordering_key OPERATOR(pg_catalog.=) q.ordering_key"
		"         AND p.id OPERATOR(pg_catalog.<) q.id AND p.state IN ('queued', 'sending')))"
		/* past the hosts with no room: their rows must not fill the window */
		"     AND q.host OPERATOR(pg_catalog.<>) ALL ($3)"
		"   ORDER BY q.next_at, q.id LIMIT w.win FOR UPDATE SKIP LOCKED) c"
		" ORDER BY c.next_at, c.id",
		3, cand_types);

	/*
	 * Take the chosen rows that are still queued and not locked by another
	 * worker, marking them 'sending' and counting the attempt before
	 * anything is sent: after a crash, only 'sending' rows are suspects.
	 */
	ws->take_plan = prepare(
		"UPDATE http.queue q SET state = 'sending', worker = $1, attempts = q.attempts + 1"
		" WHERE q.id IN (SELECT id FROM http.queue WHERE id OPERATOR(pg_catalog.=) ANY ($2)"
		"                  AND state = 'queued' FOR UPDATE SKIP LOCKED)"
		" RETURNING q.id, q.owner, q.request, q.host, q.attempts, q.max_attempts,"
		"   q.backoff_ms, q.backoff_max_ms, q.retry_4xx, q.idempotency_key,"
		"   q.callback IS NOT NULL",
		2, take_types);

	/* a chunk of outcomes in one statement; only rows this worker still holds */
	ws->record_plan = prepare(
		"UPDATE http.queue q SET state = u.state, status = u.status, response_headers = u.headers,"
		" response_body = u.body, response_version = u.version, error_code = u.error_code,"
		" error = u.error, next_at = coalesce(u.next_at, q.next_at), finished_at = u.finished_at,"
		" worker = NULL, possible_duplicate = q.possible_duplicate OR u.dup,"
		" last_sent_at = coalesce(u.started, q.last_sent_at),"
		" first_sent_at = coalesce(q.first_sent_at, u.started),"
		" response_url = u.url, elapsed_ms = u.elapsed, timings = u.timings,"
		" callback_pending = u.state OPERATOR(pg_catalog.<>) 'queued' AND q.callback IS NOT NULL,"
		/* a finished request keeps no credentials: they live as long as it may be sent */
		" request = CASE WHEN u.state OPERATOR(pg_catalog.<>) 'queued'"
		"   THEN http.redact_request(q.request) ELSE q.request END,"
		" credentials_removed = q.credentials_removed OR (u.state OPERATOR(pg_catalog.<>) 'queued'"
		"   AND http.redact_request(q.request) OPERATOR(pg_catalog.<>) q.request)"
		" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
		"   pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6),"
		"   pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9),"
		"   pg_catalog.unnest($10), pg_catalog.unnest($11), pg_catalog.unnest($12),"
		"   pg_catalog.unnest($13), pg_catalog.unnest($14), pg_catalog.unnest($15))"
		"   AS u(id, state, status, headers, body, version, error_code, error, next_at,"
		"        finished_at, dup, started, url, elapsed, timings)"
		" WHERE q.id OPERATOR(pg_catalog.=) u.id AND q.worker OPERATOR(pg_catalog.=) $16"
		" RETURNING q.id",
		RECORD_COLS + 1, record_types);
	ws->due_plan = prepare("SELECT min(next_at) FROM http.queue WHERE state = 'queued'", 0, NULL);
	ws->retention_plan = prepare(
		"DELETE FROM http.queue WHERE id IN (SELECT id FROM http.queue"
		" WHERE state IN ('delivered', 'failed', 'cancelled') AND NOT callback_pending"
		"   AND finished_at OPERATOR(pg_catalog.<) $1 LIMIT 10000)",
		1, ret_types);
}

/* ------------------------------------------------------------------ */
/* Judging an attempt */

/* Exponential backoff with jitter: half fixed, half random, capped. */
static int64
backoff_ms(const Delivery *d)
{
	double		ms = (double) d->backoff_ms * (double) ((int64) 1 << Min(Max(d->attempts - 1, 0), 30));

	if (ms > d->backoff_max_ms)
		ms = d->backoff_max_ms;
	return (int64) (ms / 2 + pg_prng_double(&pg_global_prng_state) * ms / 2);
}

/* Is a failure worth another attempt (the network, not the request)? */
static bool
error_retryable(int sqlstate)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlstate);

	return cls == ERRCODE_CONNECTION_EXCEPTION ||
		cls == ERRCODE_INSUFFICIENT_RESOURCES ||
		sqlstate == ERRCODE_PROTOCOL_VIOLATION;
}

/*
 * Decide what the attempt came to, and when to retry: a response by its
 * status (429 and 503 wait as Retry-After asks, up to a day), a failure
 * (err_code) by whether the network or the request is to blame.
 */
static Outcome
judge(Delivery *d, bool responded, int err_code, int64 *delay_ms)
{
	HttpExchange *x = &d->x;
	bool		retry;

	*delay_ms = -1;
	if (responded)
	{
		int			s = x->resp.status;

		retry = s == 429 || s >= 500 || (d->retry_4xx && s >= 400);
		if (!retry)
			return s < 400 ? OUT_DELIVERED : OUT_FAILED;
		if (d->attempts >= d->max_attempts)
			return OUT_FAILED;
		if (s == 429 || s == 503)
		{
			double		ra = HttpRetryAfterSeconds(HttpHeaderGet(&x->resp.headers, "Retry-After"),
												   time(NULL));

			if (ra >= 0)
				*delay_ms = (int64) (Min(ra, 86400.0) * 1000);
		}
		if (*delay_ms < 0)
			*delay_ms = backoff_ms(d);
		return OUT_RETRY;
	}
	if (error_retryable(err_code) && d->attempts < d->max_attempts)
	{
		*delay_ms = backoff_ms(d);
		return OUT_RETRY;
	}
	return OUT_FAILED;
}

/* ------------------------------------------------------------------ */
/* Recording */

/* "message: detail" of a failure, valid in the database encoding. */
static char *
error_text(const char *msg, const char *detail)
{
	char	   *t = detail ? psprintf("%s: %s", msg, detail) : pstrdup(msg);

	return HttpTextForDatabase(t, strlen(t));
}

/*
 * Judge one attempt and put its outcome in the chunk; failure, when not
 * NULL, replaces the attempt's own outcome.  Everything that goes into the
 * row is made valid in the database encoding here, so the row can always be
 * written, dumped and restored.
 */
static void
record_add(Delivery *d, RecordChunk *c, const HttpFailure *failure)
{
	HttpExchange *x = &d->x;
	bool		responded = failure == NULL && HttpExchangeSucceeded(x);
	int64		delay;
	Outcome		out;
	text	   *body = NULL;
	int			err_code = 0;
	char	   *error = NULL;
	TimestampTz now = GetCurrentTimestamp();
	Datum	   *v;
	bool	   *null;
	int			i = c->n;
	Datum		vals[RECORD_COLS];
	bool		nulls[RECORD_COLS];

	v = vals;
	null = nulls;
	if (responded)
	{
		HttpFailure f;

		body = HttpBodyDecode(&x->resp, &f);
		if (body == NULL)
		{
			/* delivered all the same: the body just cannot be text */
			err_code = f.sqlstate;
			error = error_text(f.msg, f.detail);
		}
	}
	else if (failure != NULL)
	{
		err_code = failure->sqlstate;
		error = error_text(failure->msg, failure->detail);
	}
	else
	{
		err_code = x->err_code;
		error = error_text(x->err_msg ? x->err_msg : "request failed", x->err_detail);
	}
	out = judge(d, responded, err_code, &delay);
	d->final = out != OUT_RETRY;

	memset(null, 0, sizeof(bool) * RECORD_COLS);
	v[0] = Int64GetDatum(d->id);
	v[1] = CStringGetTextDatum(out == OUT_DELIVERED ? "delivered" :
							   out == OUT_FAILED ? "failed" : "queued");
	if (responded)
	{
		v[2] = Int32GetDatum(x->resp.status);
		v[3] = JsonbPGetDatum(HttpHeadersToJsonb(&x->resp.headers));
		v[4] = PointerGetDatum(body);
		null[4] = body == NULL;
		v[5] = CStringGetTextDatum(x->resp.version == 20 ? "2" :
								   x->resp.version == 10 ? "1.0" : "1.1");
		v[12] = CStringGetTextDatum(x->resp.url ? x->resp.url : x->req->url);
		v[13] = Float8GetDatum((double) (x->finished - x->started) / 1000.0);
		v[14] = JsonbPGetDatum(HttpTimingsToJsonb(x));
		c->bytes += (body ? VARSIZE_ANY(body) : 0) + VARSIZE_ANY(DatumGetPointer(v[3]));
	}
	else
		null[2] = null[3] = null[4] = null[5] = null[12] = null[13] = null[14] = true;
	if (error)
	{
		v[6] = CStringGetTextDatum(unpack_sql_state(err_code));
		v[7] = CStringGetTextDatum(error);
	}
	else
		null[6] = null[7] = true;
	if (out == OUT_RETRY)
	{
		d->retry_at = TimestampTzPlusMilliseconds(now, delay);
		v[8] = TimestampTzGetDatum(d->retry_at);
		null[9] = true;
	}
	else
	{
		null[8] = true;
		v[9] = TimestampTzGetDatum(now);
	}

	/*
	 * Sent again after a failure the server may have seen the request
	 * through (a timeout, a connection lost after sending): the next attempt
	 * may duplicate it.  Failing to connect at all (08001) is not that.
	 */
	v[10] = BoolGetDatum(out == OUT_RETRY && !responded &&
						 err_code != ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION);
	v[11] = TimestampTzGetDatum(x->started);
	null[11] = x->started == 0; /* refused before sending */

	for (int k = 0; k < RECORD_COLS; k++)
	{
		c->v[k][i] = null[k] ? (Datum) 0 : v[k];
		c->null[k][i] = null[k];
	}
	c->d[i] = d;
	c->n++;
}

/*
 * An outcome that could not be put in a chunk or written (the reason is
 * the error being handled): recorded as failed with that reason.
 */
static void
record_add_failure(Delivery *d, RecordChunk *c, ErrorData *e)
{
	HttpFailure f = {
		.sqlstate = e->sqlerrcode,
		.msg = psprintf("could not record the outcome: %s", e->message),
	};

	d->max_attempts = d->attempts;	/* no retry: the same would happen again */
	record_add(d, c, &f);
}

/*
 * Write the chunk's outcomes in one statement, in a subtransaction: true if
 * the statement ran.  The rows it updated are marked recorded (a row
 * another worker took back, thinking this one dead, is not ours).
 */
static bool
chunk_write(WorkerState *ws, RecordChunk *c, ErrorData **error)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = false;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		Datum		args[RECORD_COLS + 1];
		int			dims[1] = {c->n};
		int			lbs[1] = {1};

		MemoryContextSwitchTo(outer);
		for (int k = 0; k < RECORD_COLS; k++)
		{
			int16		len;
			bool		byval;
			char		align;

			get_typlenbyvalalign(record_elem[k], &len, &byval, &align);
			args[k] = PointerGetDatum(construct_md_array(c->v[k], c->null[k], 1, dims, lbs,
														 record_elem[k], len, byval, align));
		}
		args[RECORD_COLS] = Int32GetDatum(ws->slot);
		if (SPI_execute_plan(ws->record_plan, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "pg_http worker: could not record outcomes");
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[r],
														 SPI_tuptable->tupdesc, 1, &isnull));

			for (int i = 0; i < c->n; i++)
				if (c->d[i]->id == id)
					c->d[i]->recorded = true;
		}
		MemoryContextSwitchTo(outer);
		ReleaseCurrentSubTransaction();
		ok = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(outer);
		*error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	CurrentResourceOwner = owner;
	return ok;
}

/*
 * Write a chunk; if it cannot be written, write its rows one by one, and a
 * row that still cannot be written as a failure saying why.
 */
static void
chunk_flush(WorkerState *ws, RecordChunk *c)
{
	ErrorData  *e = NULL;
	RecordChunk *one;

	if (c->n == 0 || chunk_write(ws, c, &e))
		return;
	ereport(LOG,
			(errmsg("pg_http worker: could not record %d outcomes at once, recording them one by one: %s",
					c->n, e->message)));
	one = palloc(sizeof(RecordChunk));
	for (int i = 0; i < c->n; i++)
	{
		Delivery   *d = c->d[i];

		one->n = 0;
		for (int k = 0; k < RECORD_COLS; k++)
		{
			one->v[k][0] = c->v[k][i];
			one->null[k][0] = c->null[k][i];
		}
		one->d[0] = d;
		one->n = 1;
		if (chunk_write(ws, one, &e))
			continue;
		one->n = 0;
		record_add_failure(d, one, e);
		if (!chunk_write(ws, one, &e))
			ereport(LOG,
					(errmsg("pg_http worker: could not record the outcome of queued request " INT64_FORMAT ": %s",
							d->id, e->message),
					 errdetail("It stays in state 'sending' and is sent again after the worker restarts.")));
	}
}

/* Bytes an outcome brings to its row: what bounds a chunk. */
static Size
outcome_bytes(const Delivery *d)
{
	const HttpExchange *x = &d->x;
	Size		n = 0;

	if (!HttpExchangeSucceeded(x))
		return 0;
	n += x->resp.body.len;
	for (int i = 0; i < x->resp.headers.n; i++)
		n += strlen(x->resp.headers.items[i].name) + strlen(x->resp.headers.items[i].value);
	return n;
}

/* Put one outcome in the chunk; a failure to do so is its outcome. */
static void
chunk_add(Delivery *d, RecordChunk *c, MemoryContext chunk_cxt)
{
	MemoryContext outer = CurrentMemoryContext;

	MemoryContextSwitchTo(chunk_cxt);
	PG_TRY();
	{
		record_add(d, c, NULL);
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(chunk_cxt);
		e = CopyErrorData();
		FlushErrorState();
		record_add_failure(d, c, e);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
}

/*
 * Write outcomes of done[0..n) to http.queue, in chunks of bounded rows
 * and bytes.  Small outcomes go first, all of them; large ones (a body of
 * CHUNK_BYTES or more) follow until about CHUNK_BYTES are written, at
 * least one: a cycle that must write 17 bodies of 64 MB writes one, and
 * the worker goes back to its other requests between them.  The ones
 * written are moved to the front of done; *recorded says how many.  The
 * ids of the final ones go to final_ids (room for n); returns how many.
 * ws->wake_callbacks says whether a final one has a callback to run.
 */
int
DeliveryRecord(WorkerState *ws, int n, int *recorded, int64 *final_ids)
{
	MemoryContext chunk_cxt;
	RecordChunk *c;
	Delivery  **order;
	int			nsmall = 0;
	int			k = 0;
	Size		big_bytes = 0;
	int			n_final = 0;

	*recorded = 0;
	if (n == 0)
		return 0;

	/* small ones first, in their order; then the large ones */
	order = palloc(sizeof(Delivery *) * n);
	for (int i = 0; i < n; i++)
		if (outcome_bytes(ws->done[i]) < CHUNK_BYTES)
			order[nsmall++] = ws->done[i];
	k = nsmall;
	for (int i = 0; i < n; i++)
		if (outcome_bytes(ws->done[i]) >= CHUNK_BYTES)
			order[k++] = ws->done[i];
	memcpy(ws->done, order, sizeof(Delivery *) * n);

	chunk_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_http record chunk",
									  ALLOCSET_DEFAULT_SIZES);
	c = palloc0(sizeof(RecordChunk));
	for (k = 0; k < n; k++)
	{
		Delivery   *d = ws->done[k];

		if (k >= nsmall)
		{
			if (k > nsmall && big_bytes >= CHUNK_BYTES)
				break;			/* the rest in the next cycles */
			big_bytes += outcome_bytes(d);
		}
		chunk_add(d, c, chunk_cxt);
		if (c->n == CHUNK_ROWS || c->bytes >= CHUNK_BYTES)
		{
			chunk_flush(ws, c);
			c->n = 0;
			c->bytes = 0;
			MemoryContextReset(chunk_cxt);
		}
	}
	chunk_flush(ws, c);
	MemoryContextDelete(chunk_cxt);
	*recorded = k;

	for (int i = 0; i < k; i++)
	{
		Delivery   *d = ws->done[i];

		if (!d->recorded)
			continue;
		if (!d->final)
		{
			/* a retry: the worker looks for due work again when it falls due */
			if (ws->next_due == 0 || d->retry_at < ws->next_due)
				ws->next_due = d->retry_at;
			continue;
		}
		final_ids[n_final++] = d->id;
		if (d->has_callback)
			ws->wake_callbacks = true;
	}
	return n_final;
}

/* ------------------------------------------------------------------ */
/* Crashes, shutdowns, retention */

/*
 * Put back in the queue what this slot's previous worker was sending when
 * it died (the database's first worker also takes back rows of slots that
 * no longer exist): it may or may not have reached the server.  A request
 * whose attempts are used up, or that was in flight at MAX_INTERRUPTIONS
 * such deaths, fails instead: a request that kills its worker (or a worker
 * that keeps dying) must not be sent forever.  Returns the highest number
 * of deaths a requeued request has seen (0: none was in flight).
 */
int
DeliveryRecover(WorkerState *ws)
{
	Datum		args[4];
	Oid			types[4] = {INT4OID, INT4OID, INT4OID, INT4OID};
	int			ret;
	int			requeued = 0;
	int			failed = 0;
	int			worst = 0;

	args[0] = Int32GetDatum(ws->slot);
	args[1] = Int32GetDatum(ws->db_first_slot);
	args[2] = Int32GetDatum(ws->db_first_slot + http_workers);
	args[3] = Int32GetDatum(MAX_INTERRUPTIONS);
	ret = SPI_execute_with_args(
		"WITH s AS (SELECT id, attempts OPERATOR(pg_catalog.>=) max_attempts"
		"             OR interrupted OPERATOR(pg_catalog.+) 1 OPERATOR(pg_catalog.>=) $4 AS give_up"
		"           FROM http.queue"
		"           WHERE state = 'sending' AND (worker OPERATOR(pg_catalog.=) $1"
		"             OR ($1 OPERATOR(pg_catalog.=) $2 AND (worker OPERATOR(pg_catalog.<) $2"
		"                 OR worker OPERATOR(pg_catalog.>=) $3)))"
		"           FOR UPDATE)"
		" UPDATE http.queue q SET worker = NULL, possible_duplicate = true,"
		"   interrupted = q.interrupted OPERATOR(pg_catalog.+) 1,"
		"   state = CASE WHEN s.give_up THEN 'failed' ELSE 'queued' END,"
		"   next_at = pg_catalog.clock_timestamp(),"
		"   finished_at = CASE WHEN s.give_up THEN pg_catalog.clock_timestamp() END,"
		"   error_code = CASE WHEN s.give_up THEN '57P02' ELSE q.error_code END,"
		"   error = CASE WHEN NOT s.give_up THEN q.error"
		"     WHEN q.attempts OPERATOR(pg_catalog.>=) q.max_attempts THEN pg_catalog.format("
		"       'a delivery worker stopped while sending this request, and its attempts are used up (%s of %s)',"
		"       q.attempts, q.max_attempts)"
		"     ELSE pg_catalog.format("
		"       'a delivery worker stopped while sending this request %s times; it is not sent again',"
		"       q.interrupted OPERATOR(pg_catalog.+) 1) END,"
		"   callback_pending = s.give_up AND q.callback IS NOT NULL,"
		"   request = CASE WHEN s.give_up THEN http.redact_request(q.request) ELSE q.request END"
		" FROM s WHERE q.id OPERATOR(pg_catalog.=) s.id"
		" RETURNING q.state, q.interrupted",
		4, types, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "pg_http worker: could not recover interrupted deliveries");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		char	   *state = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		int			k = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc,
												   2, &isnull));

		if (strcmp(state, "failed") == 0)
			failed++;
		else
		{
			requeued++;
			worst = Max(worst, k);
		}
	}
	if (failed > 0)
	{
		ws->wake_callbacks = true;
		ereport(LOG,
				(errmsg("pg_http worker: %d requests in flight when a delivery worker stopped abnormally are failed",
						failed),
				 errdetail("Their attempts were used up, or a worker stopped with them in flight %d times.",
						   MAX_INTERRUPTIONS)));
	}
	if (requeued > 0)
		ereport(LOG,
				(errmsg("pg_http worker: %d interrupted deliveries queued again as possible duplicates",
						requeued)));
	return worst;
}

/*
 * At an orderly stop: put the requests still in flight back in the queue.
 * One the engine never started gives its attempt back; one that may have
 * been sent keeps it and is marked a possible duplicate.  Either way it is
 * not an interruption: only a worker that dies counts against a request.
 */
void
DeliveryRequeueInflight(WorkerState *ws)
{
	Datum		args[3];
	Oid			types[3] = {INT8ARRAYOID, BOOLARRAYOID, INT4OID};
	Datum	   *ids;
	Datum	   *sent;

	if (ws->n_inflight == 0)
		return;
	ids = palloc(sizeof(Datum) * ws->n_inflight);
	sent = palloc(sizeof(Datum) * ws->n_inflight);
	for (int i = 0; i < ws->n_inflight; i++)
	{
		ids[i] = Int64GetDatum(ws->inflight[i]->id);
		sent[i] = BoolGetDatum(ws->inflight[i]->x.started != 0);
	}
	args[0] = PointerGetDatum(construct_array(ids, ws->n_inflight, INT8OID, sizeof(int64),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array(sent, ws->n_inflight, BOOLOID, 1, true, TYPALIGN_CHAR));
	args[2] = Int32GetDatum(ws->slot);
	if (SPI_execute_with_args(
		"UPDATE http.queue q SET state = 'queued', worker = NULL,"
		"  next_at = pg_catalog.clock_timestamp(),"
		"  possible_duplicate = q.possible_duplicate OR u.sent,"
		"  attempts = CASE WHEN u.sent THEN q.attempts ELSE q.attempts OPERATOR(pg_catalog.-) 1 END"
		" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2)) AS u(id, sent)"
		" WHERE q.id OPERATOR(pg_catalog.=) u.id AND q.worker OPERATOR(pg_catalog.=) $3"
		"   AND q.state = 'sending'",
		3, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "pg_http worker: could not put requests in flight back in the queue");
}

/* Delete finished rows older than pg_http.queue_retention (a batch at a time). */
void
DeliveryRetention(WorkerState *ws, TimestampTz now)
{
	Datum		cutoff = TimestampTzGetDatum(now - (TimestampTz) http_queue_retention_s * USECS_PER_SEC);

	if (SPI_execute_plan(ws->retention_plan, &cutoff, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "pg_http worker: could not delete old outcomes");
	/* a full batch: there may be more to delete soon */
	ws->next_retention = TimestampTzPlusMilliseconds(now, SPI_processed >= 10000 ? 1000 : 60000);
}
