/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The delivery worker: sends what http.queue holds, records outcomes.
 *
 * Each worker serves one database.  It keeps up to
 * pg_http.worker_max_inflight requests in flight in the same engine as a
 * backend's calls, and goes around one loop:
 *
 *   one transaction: record the outcomes that came in (and run their
 *     callbacks), claim due requests with FOR UPDATE SKIP LOCKED (marking
 *     them 'sending' before anything is sent), commit;
 *   wait in the engine until an exchange finishes, a backend's commit sets
 *     the latch, or the next retry falls due.
 *
 * A request is marked 'sending' and committed before it is sent, so a
 * crash at any moment leaves it either 'queued' (never sent) or 'sending'
 * (perhaps sent): a worker that starts in a slot puts the 'sending' rows of
 * its dead predecessor back in the queue as possible duplicates.
 *
 * Every request is re-checked at send time as the role that queued it: its
 * privilege on http.enqueue, the host policy and the role's ACLs.  Callbacks
 * run as that role too.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "queue.h"

#include <time.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/pg_prng.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PGDLLEXPORT void pg_http_worker_main(Datum arg);

/* One queued request this worker holds. */
typedef struct Delivery
{
	HttpExchange x;				/* x.cxt holds everything of this delivery */
	int64		id;
	Oid			owner;
	int			attempts;		/* including this one */
	int			max_attempts;
	int			backoff_ms;
	int			backoff_max_ms;
	bool		retry_4xx;
	Oid			callback;
	char		host[300];		/* host:port */
	bool		sent;			/* counted in its host's share (in the engine) */
	/* the outcome, once recorded */
	bool		final;			/* delivered or failed, not retried */
	bool		has_body;		/* a response whose body is text */
	char	   *error;			/* "message: detail", or NULL */
} Delivery;

/* The columns of one cycle's outcomes, one array element per delivery. */
#define RECORD_COLS 12
typedef struct RecordBatch
{
	Datum	   *v[RECORD_COLS];
	bool	   *null[RECORD_COLS];
} RecordBatch;

static const Oid record_elem[RECORD_COLS] = {INT8OID, TEXTOID, INT4OID, JSONBOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, BOOLOID, TIMESTAMPTZOID};

/* Outcome of one attempt, as written to http.queue. */
typedef enum Outcome
{
	OUT_DELIVERED,
	OUT_FAILED,
	OUT_RETRY
} Outcome;

/* Requests sent to one host:port right now (per-host cap). */
typedef struct HostCount
{
	char		host[300];
	int			n;
} HostCount;

static int	my_slot;
static int	db_first_slot;		/* this database's slots: [first, first + n) */
static MemoryContext worker_cxt;
static Delivery **inflight;		/* sent, in the engine's order */
static int	n_inflight;
static Delivery **done;			/* outcome known, not yet recorded */
static HttpExchange **engine_xs;	/* inflight's exchanges, for the engine */
static int64 *final_ids;		/* ids whose outcome a cycle made final */
static int	n_done;
static int	max_slots;
static HTAB *host_counts;
static TimestampTz next_due = 0;	/* 0: nothing queued for later */
static bool more_work = true;	/* the queue may hold due requests */
static bool freed_full_host = false;	/* a host at its share has room again */
static TimestampTz claim_not_before = 0;	/* after a claim that scanned past
										 * full hosts' rows: not again at once */
static int	n_full_hosts;		/* in the last claim's exclusion list */
static int	n_skipped;			/* last claim: candidates beyond a share */
static TimestampTz next_retention = 0;
static Oid	enqueue_fn = InvalidOid;
static TupleDesc response_td = NULL;

static SPIPlanPtr claim_plan, take_plan, record_plan, cb_error_plan, due_plan, retention_plan;

/* ------------------------------------------------------------------ */

static HostCount *
host_count(const char *host, bool create)
{
	bool		found;
	HostCount  *h = hash_search(host_counts, host, create ? HASH_ENTER : HASH_FIND, &found);

	if (h != NULL && !found)
		h->n = 0;
	return h;
}

/* A delivery no longer counts in its host's share. */
static void
host_leave(Delivery *d)
{
	HostCount  *h;

	if (!d->sent)
		return;
	d->sent = false;
	h = host_count(d->host, false);
	if (h && h->n >= http_worker_host_concurrency)
		freed_full_host = true;
	if (h && --h->n <= 0)
		hash_search(host_counts, d->host, HASH_REMOVE, NULL);
}

/* Forget a delivery: its memory, and its place in its host's count. */
static void
delivery_free(Delivery *d)
{
	host_leave(d);
	MemoryContextDelete(d->x.cxt);
}

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

static void
prepare_plans(void)
{
	Oid			claim_types[6] = {INT4OID, TEXTARRAYOID, TEXTARRAYOID, INT4ARRAYOID, INT4OID, INT4OID};
	Oid			take_types[2] = {INT4OID, INT8ARRAYOID};
	Oid			record_types[RECORD_COLS + 1] = {INT8ARRAYOID, TEXTARRAYOID, INT4ARRAYOID,
		JSONBARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, BOOLARRAYOID, TIMESTAMPTZARRAYOID, INT4OID};
	Oid			cb_types[2] = {INT8OID, TEXTOID};
	Oid			ret_types[1] = {TIMESTAMPTZOID};

	if (claim_plan)
		return;
	/*
	 * Due rows in queue order, at most each host's room ($2: hosts with
	 * none, $3/$4: hosts with some, others $5), looked for among the first
	 * $6 due rows, and only those locked: what stays queued is not touched.
	 */
	claim_plan = prepare(
		"SELECT q.id, q.owner, q.request, q.host, q.attempts + 1, q.max_attempts,"
		"  q.backoff_ms, q.backoff_max_ms, q.retry_4xx, q.idempotency_key, q.callback::oid,"
		"  q.state"
		" FROM http.queue q"
		" WHERE q.id = ANY (ARRAY("
		"   SELECT c.id FROM (SELECT w.id, w.next_at,"
		"            pg_catalog.row_number() OVER (PARTITION BY w.host ORDER BY w.next_at, w.id) AS rn,"
		"            coalesce(r.room, $5) AS room"
		"          FROM (SELECT id, host, next_at FROM http.queue"
		"                WHERE state = 'queued' AND next_at <= pg_catalog.statement_timestamp()"
		"                  AND host <> ALL ($2)"
		"                ORDER BY next_at, id LIMIT $6) w"
		"          LEFT JOIN ROWS FROM (pg_catalog.unnest($3), pg_catalog.unnest($4)) AS r(host, room)"
		"            ON r.host = w.host) c"
		"    WHERE c.rn <= c.room ORDER BY c.next_at, c.id LIMIT $1))"
		/* no state test here: the partial index must not be a candidate */
		" FOR UPDATE SKIP LOCKED",
		6, claim_types);
	take_plan = prepare(
		"UPDATE http.queue SET state = 'sending', worker = $1, attempts = attempts + 1"
		" WHERE id = ANY ($2)",
		2, take_types);
	/* every outcome of a cycle in one statement */
	record_plan = prepare(
		"UPDATE http.queue q SET state = u.state, status = u.status, response_headers = u.headers,"
		" response_body = u.body, response_version = u.version, error_code = u.error_code,"
		" error = u.error, next_at = coalesce(u.next_at, q.next_at), finished_at = u.finished_at,"
		" worker = NULL, possible_duplicate = q.possible_duplicate OR u.dup,"
		" last_sent_at = coalesce(u.started, q.last_sent_at),"
		" first_sent_at = coalesce(q.first_sent_at, u.started)"
		" FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
		"   pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6),"
		"   pg_catalog.unnest($7), pg_catalog.unnest($8), pg_catalog.unnest($9),"
		"   pg_catalog.unnest($10), pg_catalog.unnest($11), pg_catalog.unnest($12))"
		"   AS u(id, state, status, headers, body, version, error_code, error, next_at,"
		"        finished_at, dup, started)"
		" WHERE q.id = u.id AND q.worker = $13"
		" RETURNING q.id",
		RECORD_COLS + 1, record_types);
	cb_error_plan = prepare("UPDATE http.queue SET callback_error = $2 WHERE id = $1",
							2, cb_types);
	due_plan = prepare("SELECT min(next_at) FROM http.queue WHERE state = 'queued'", 0, NULL);
	retention_plan = prepare(
		"DELETE FROM http.queue WHERE id IN (SELECT id FROM http.queue"
		" WHERE state IN ('delivered', 'failed') AND finished_at < $1 LIMIT 10000)",
		1, ret_types);
}

/* ------------------------------------------------------------------ */
/* Outcomes */

/* Seconds of a Retry-After value (delta-seconds or HTTP-date), or -1. */
static double
retry_after_seconds(const char *v)
{
	char	   *end;
	long		secs;
	struct tm	tm;

	if (v == NULL)
		return -1;
	while (*v == ' ')
		v++;
	secs = strtol(v, &end, 10);
	if (end != v && (*end == '\0' || *end == ' ') && secs >= 0)
		return (double) secs;
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end != NULL)
	{
		double		d = difftime(timegm(&tm), time(NULL));

		return d > 0 ? d : 0;
	}
	return -1;
}

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

/* Decide what the attempt came to, and when to retry. */
static Outcome
judge(Delivery *d, int64 *delay_ms)
{
	HttpExchange *x = &d->x;
	bool		retry;

	*delay_ms = -1;
	if (x->state == HTTP_X_DONE)
	{
		int			s = x->resp.status;

		retry = s == 429 || s >= 500 || (d->retry_4xx && s >= 400);
		if (!retry)
			return s < 400 ? OUT_DELIVERED : OUT_FAILED;
		if (d->attempts >= d->max_attempts)
			return OUT_FAILED;
		if (s == 429 || s == 503)
		{
			double		ra = retry_after_seconds(HttpHeaderGet(&x->resp.headers, "Retry-After"));

			if (ra >= 0)
				*delay_ms = (int64) (Min(ra, 86400.0) * 1000);
		}
		if (*delay_ms < 0)
			*delay_ms = backoff_ms(d);
		return OUT_RETRY;
	}
	if (error_retryable(x->err_code) && d->attempts < d->max_attempts)
	{
		*delay_ms = backoff_ms(d);
		return OUT_RETRY;
	}
	return OUT_FAILED;
}

/* ------------------------------------------------------------------ */
/* Callbacks */

/*
 * Call the request's callback f(id, response, error) as the role that
 * queued it, in a subtransaction of the recording transaction: its effects
 * commit with the outcome, and its failure is recorded, not fatal.
 */
static void
run_callback(Delivery *d, HttpExchange *x, bool has_response, const char *error)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Oid			save_user;
	int			save_sec;
	int			save_nestlevel;

	GetUserIdAndSecContext(&save_user, &save_sec);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(outer);
	/* whatever the callback SETs ends with it (and is not the worker's) */
	save_nestlevel = NewGUCNestLevel();
	PG_TRY();
	{
		FmgrInfo	fl;
		LOCAL_FCINFO(fc, 3);
		HeapTupleHeader row = NULL;

		if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(d->callback)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("callback function %u no longer exists", d->callback)));
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(d->owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the role that queued the request (oid %u) no longer exists", d->owner)));
		/*
		 * As the owner, restricted like maintenance code running user
		 * functions: no SET ROLE, no temporary objects, and no deferred
		 * trigger that would fire in the worker's commit, not here.
		 */
		SetUserIdAndSecContext(d->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
#if PG_VERSION_NUM >= 160000
		if (object_aclcheck(ProcedureRelationId, d->callback, d->owner, ACL_EXECUTE) != ACLCHECK_OK)
#else
		if (pg_proc_aclcheck(d->callback, d->owner, ACL_EXECUTE) != ACLCHECK_OK)
#endif
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, get_func_name(d->callback));
		if (has_response)
		{
			if (response_td == NULL)
			{
				MemoryContext old = MemoryContextSwitchTo(worker_cxt);

				response_td = lookup_rowtype_tupdesc_copy(HttpResponseTypeOid(), -1);
				BlessTupleDesc(response_td);
				MemoryContextSwitchTo(old);
			}
			row = HttpResponseRow(x, response_td);
		}
		fmgr_info(d->callback, &fl);
		InitFunctionCallInfoData(*fc, &fl, 3, InvalidOid, NULL, NULL);
		fc->args[0].value = Int64GetDatum(d->id);
		fc->args[0].isnull = false;
		fc->args[1].value = PointerGetDatum(row);
		fc->args[1].isnull = row == NULL;
		fc->args[2].value = error ? CStringGetTextDatum(error) : (Datum) 0;
		fc->args[2].isnull = error == NULL;
		/* as SQL would: a STRICT callback is not called with a NULL */
		if (!fl.fn_strict || (row != NULL && error != NULL))
			(void) FunctionCallInvoke(fc);
		/* roll back every setting it changed, SET or SET LOCAL alike */
		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_user, save_sec);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *e;
		Datum		v[2];

		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_user, save_sec);
		MemoryContextSwitchTo(outer);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(outer);
		CurrentResourceOwner = owner;
		ereport(LOG,
				(errmsg("pg_http: callback of queued request " INT64_FORMAT " failed: %s",
						d->id, e->message)));
		v[0] = Int64GetDatum(d->id);
		v[1] = CStringGetTextDatum(e->message);
		if (SPI_execute_plan(cb_error_plan, v, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "pg_http worker: could not record a callback error");
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	CurrentResourceOwner = owner;
}

/* ------------------------------------------------------------------ */
/* Recording */

/* "message: detail" of a failure. */
static char *
error_text(const char *msg, const char *detail)
{
	return detail ? psprintf("%s: %s", msg, detail) : pstrdup(msg);
}

/* Judge one attempt and add its outcome to the cycle's batch (element i). */
static void
record_add(Delivery *d, RecordBatch *b, int i)
{
	HttpExchange *x = &d->x;
	int64		delay;
	Outcome		out;
	text	   *body = NULL;
	int			err_code = 0;
	TimestampTz now = GetCurrentTimestamp();
	Datum		v[RECORD_COLS];
	bool		null[RECORD_COLS];

	d->error = NULL;
	if (x->state == HTTP_X_DONE)
	{
		body = HttpBodyToText(x);
		if (body == NULL)
		{
			/* delivered all the same: the body just cannot be text */
			err_code = x->err_code;
			d->error = error_text(x->err_msg, x->err_detail);
			x->state = HTTP_X_DONE;
		}
	}
	else
	{
		err_code = x->err_code;
		d->error = error_text(x->err_msg ? x->err_msg : "request failed", x->err_detail);
	}
	out = judge(d, &delay);
	d->final = out != OUT_RETRY;
	d->has_body = x->state == HTTP_X_DONE && body != NULL;

	memset(null, 0, sizeof(null));
	v[0] = Int64GetDatum(d->id);
	v[1] = CStringGetTextDatum(out == OUT_DELIVERED ? "delivered" :
							   out == OUT_FAILED ? "failed" : "queued");
	if (x->state == HTTP_X_DONE)
	{
		v[2] = Int32GetDatum(x->resp.status);
		v[3] = JsonbPGetDatum(HttpHeadersToJsonb(&x->resp.headers));
		v[4] = PointerGetDatum(body);
		null[4] = body == NULL;
		v[5] = CStringGetTextDatum(x->resp.version == 20 ? "2" :
								   x->resp.version == 10 ? "1.0" : "1.1");
	}
	else
		null[2] = null[3] = null[4] = null[5] = true;
	if (d->error)
	{
		v[6] = CStringGetTextDatum(unpack_sql_state(err_code));
		v[7] = CStringGetTextDatum(d->error);
	}
	else
		null[6] = null[7] = true;
	if (out == OUT_RETRY)
	{
		TimestampTz at = TimestampTzPlusMilliseconds(now, delay);

		v[8] = TimestampTzGetDatum(at);
		null[9] = true;
		if (next_due == 0 || at < next_due)
			next_due = at;
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
	v[10] = BoolGetDatum(out == OUT_RETRY && x->state == HTTP_X_FAILED &&
						 err_code != ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION);
	v[11] = TimestampTzGetDatum(x->started);
	null[11] = x->started == 0;		/* refused before sending */

	for (int c = 0; c < RECORD_COLS; c++)
	{
		b->v[c][i] = null[c] ? (Datum) 0 : v[c];
		b->null[c][i] = null[c];
	}
}

/*
 * Write the outcomes of done[0..n) to http.queue in one statement, then run
 * the callbacks of the final ones.  Their ids go to final_ids; returns how
 * many.
 */
static int
record_all(int n)
{
	RecordBatch b;
	Datum		args[RECORD_COLS + 1];
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int64	   *recorded;
	int			n_rec;
	int			n_final = 0;

	if (n == 0)
		return 0;
	for (int c = 0; c < RECORD_COLS; c++)
	{
		b.v[c] = palloc(sizeof(Datum) * n);
		b.null[c] = palloc(sizeof(bool) * n);
	}
	for (int i = 0; i < n; i++)
		record_add(done[i], &b, i);
	for (int c = 0; c < RECORD_COLS; c++)
	{
		int16		len;
		bool		byval;
		char		align;

		get_typlenbyvalalign(record_elem[c], &len, &byval, &align);
		args[c] = PointerGetDatum(construct_md_array(b.v[c], b.null[c], 1, dims, lbs,
													 record_elem[c], len, byval, align));
	}
	args[RECORD_COLS] = Int32GetDatum(my_slot);
	if (SPI_execute_plan(record_plan, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "pg_http worker: could not record outcomes");

	/* a row another worker took back (it thought us dead) is not ours */
	n_rec = (int) SPI_processed;
	recorded = palloc(sizeof(int64) * Max(n_rec, 1));
	for (int i = 0; i < n_rec; i++)
	{
		bool		isnull;

		recorded[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
												  1, &isnull));
	}
	qsort(recorded, n_rec, sizeof(int64), HttpQueueIdCompare);
	if (n_rec != n)
		ereport(LOG,
				(errmsg("pg_http worker: %d of %d outcomes were no longer this worker's to record",
						n - n_rec, n)));

	for (int i = 0; i < n; i++)
	{
		Delivery   *d = done[i];

		if (!d->final || bsearch(&d->id, recorded, n_rec, sizeof(int64), HttpQueueIdCompare) == NULL)
			continue;
		final_ids[n_final++] = d->id;
		if (OidIsValid(d->callback))
		{
			run_callback(d, &d->x, d->has_body, d->error);
			more_work = true;	/* it may have consumed a commit's wake-up */
		}
	}
	return n_final;
}

/* ------------------------------------------------------------------ */
/* Claiming */

/* The oid of http.enqueue(jsonb): who may still queue may still send. */
static Oid
enqueue_function(void)
{
	Oid			argtypes[1] = {JSONBOID};

	return LookupFuncName(list_make2(makeString("http"), makeString("enqueue")),
						  1, argtypes, false);
}

/*
 * Turn a claimed row into a request, checked now as the role that queued
 * it.  A request that no longer passes is failed without being sent.
 */
static bool
build_request(Delivery *d, Jsonb *doc, const char *idempotency_key)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	Oid			save_user;
	int			save_sec;
	volatile bool ok = false;

	GetUserIdAndSecContext(&save_user, &save_sec);
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		HttpOptions base;
		HttpRequest *req;
		AclResult	acl;

		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(d->owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the role that queued the request (oid %u) no longer exists", d->owner)));
		SetUserIdAndSecContext(d->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
#if PG_VERSION_NUM >= 160000
		acl = object_aclcheck(ProcedureRelationId, enqueue_fn, d->owner, ACL_EXECUTE);
#else
		acl = pg_proc_aclcheck(enqueue_fn, d->owner, ACL_EXECUTE);
#endif
		if (acl != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" may no longer queue HTTP requests",
							GetUserNameFromId(d->owner, false)),
					 errdetail("It lost EXECUTE on http.enqueue(jsonb) after queuing the request.")));

		MemoryContextSwitchTo(d->x.cxt);
		HttpOptionsDefault(&base);
		req = HttpRequestFromQueuedDocument(doc, &base, true);
		HttpPolicyCheckRequest(req);
		HttpPolicyDetachAcl(req);
		if (idempotency_key && HttpHeaderGet(&req->headers, "Idempotency-Key") == NULL)
			HttpHeaderAdd(&req->headers, "Idempotency-Key", strlen("Idempotency-Key"),
						  idempotency_key, strlen(idempotency_key));
		d->x.req = req;
		d->x.state = HTTP_X_PENDING;
		SetUserIdAndSecContext(save_user, save_sec);
		ReleaseCurrentSubTransaction();
		ok = true;
	}
	PG_CATCH();
	{
		ErrorData  *e;

		SetUserIdAndSecContext(save_user, save_sec);
		MemoryContextSwitchTo(d->x.cxt);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		d->x.state = HTTP_X_FAILED;
		d->x.err_code = e->sqlerrcode;
		d->x.err_msg = e->message;
		d->x.err_detail = e->detail;
		d->x.err_hint = e->hint;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	CurrentResourceOwner = owner;
	return ok;
}

/*
 * The hosts this worker sends to: those at their share (args[1]) and the
 * others with the room they have left (args[2], args[3]).
 */
static void
host_shares(Datum *args)
{
	HASH_SEQ_STATUS seq;
	HostCount  *h;
	long		nh = hash_get_num_entries(host_counts) + 1;
	Datum	   *full = palloc(sizeof(Datum) * nh);
	Datum	   *part = palloc(sizeof(Datum) * nh);
	Datum	   *room = palloc(sizeof(Datum) * nh);
	int			nfull = 0;
	int			npart = 0;

	hash_seq_init(&seq, host_counts);
	while ((h = hash_seq_search(&seq)) != NULL)
	{
		if (h->n >= http_worker_host_concurrency)
			full[nfull++] = CStringGetTextDatum(h->host);
		else
		{
			part[npart] = CStringGetTextDatum(h->host);
			room[npart++] = Int32GetDatum(http_worker_host_concurrency - h->n);
		}
	}
	n_full_hosts = nfull;
	args[0] = PointerGetDatum(construct_array(full, nfull, TEXTOID, -1, false, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(part, npart, TEXTOID, -1, false, TYPALIGN_INT));
	args[2] = PointerGetDatum(construct_array(room, npart, INT4OID, sizeof(int32), true,
											  TYPALIGN_INT));
}

/*
 * Claim up to nfree due requests, each host's within its room; returns how
 * many came back.  They are locked (FOR UPDATE SKIP LOCKED) and marked
 * 'sending' in this transaction, so 'sending' only ever means sent or about
 * to be, and only those are suspects after a crash.
 */
static int
claim(int nfree)
{
	Datum		args[6];
	SPITupleTable *tt;
	uint64		rows;
	Datum	   *take;
	int			ntake = 0;

	n_skipped = 0;
	args[0] = Int32GetDatum(nfree);
	host_shares(&args[1]);
	args[4] = Int32GetDatum(http_worker_host_concurrency);
	args[5] = Int32GetDatum(nfree * 4);	/* how far past a busy host to look */
	if (SPI_execute_plan(claim_plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_http worker: could not claim queued requests");
	tt = SPI_tuptable;
	rows = SPI_processed;
	if (rows == 0)
		return 0;
	enqueue_fn = enqueue_function();
	take = palloc(sizeof(Datum) * rows);

	for (uint64 r = 0; r < rows; r++)
	{
		HeapTuple	tup = tt->vals[r];
		TupleDesc	td = tt->tupdesc;
		bool		isnull;
		MemoryContext cxt;
		Delivery   *d;
		Datum		idem;
		char	   *key = NULL;
		Jsonb	   *doc;
		MemoryContext old;
		char	   *host = TextDatumGetCString(SPI_getbinval(tup, td, 4, &isnull));
		HostCount  *h;

		/* another worker took it between our look and our lock */
		if (strcmp(TextDatumGetCString(SPI_getbinval(tup, td, 12, &isnull)), "queued") != 0)
			continue;
		h = host_count(host, true);

		if (h->n >= http_worker_host_concurrency)
		{
			n_skipped++;		/* not expected: the query keeps to the rooms */
			continue;
		}
		h->n++;

		cxt = AllocSetContextCreate(worker_cxt, "pg_http delivery", ALLOCSET_DEFAULT_SIZES);
		d = MemoryContextAllocZero(cxt, sizeof(Delivery));
		d->x.cxt = cxt;
		d->sent = true;
		d->id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		d->owner = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
		strlcpy(d->host, host, sizeof(d->host));
		d->attempts = DatumGetInt32(SPI_getbinval(tup, td, 5, &isnull));
		d->max_attempts = DatumGetInt32(SPI_getbinval(tup, td, 6, &isnull));
		d->backoff_ms = DatumGetInt32(SPI_getbinval(tup, td, 7, &isnull));
		d->backoff_max_ms = DatumGetInt32(SPI_getbinval(tup, td, 8, &isnull));
		d->retry_4xx = DatumGetBool(SPI_getbinval(tup, td, 9, &isnull));
		idem = SPI_getbinval(tup, td, 10, &isnull);
		old = MemoryContextSwitchTo(cxt);
		if (!isnull)
			key = TextDatumGetCString(idem);
		doc = DatumGetJsonbPCopy(SPI_getbinval(tup, td, 3, &isnull));
		MemoryContextSwitchTo(old);
		d->callback = DatumGetObjectId(SPI_getbinval(tup, td, 11, &isnull));
		if (isnull)
			d->callback = InvalidOid;
		take[ntake++] = Int64GetDatum(d->id);

		if (build_request(d, doc, key))
			inflight[n_inflight++] = d;		/* the engine starts it after commit */
		else
		{
			host_leave(d);
			done[n_done++] = d;			/* recorded as failed, never sent */
		}
	}
	if (ntake > 0)
	{
		Datum		targs[2];

		targs[0] = Int32GetDatum(my_slot);
		targs[1] = PointerGetDatum(construct_array(take, ntake, INT8OID, sizeof(int64),
												   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_plan(take_plan, targs, NULL, false, 0) != SPI_OK_UPDATE ||
			SPI_processed != (uint64) ntake)
			elog(ERROR, "pg_http worker: could not mark claimed requests as sending");
	}
	return (int) rows;
}

/* Move finished exchanges from inflight to done, keeping the order. */
static int
collect_finished(void)
{
	int			kept = 0;
	int			found = 0;

	for (int i = 0; i < n_inflight; i++)
	{
		Delivery   *d = inflight[i];

		if ((d->x.state == HTTP_X_DONE || d->x.state == HTTP_X_FAILED) && d->x.released)
		{
			host_leave(d);
			done[n_done++] = d;
			found++;
		}
		else
			inflight[kept++] = d;
	}
	n_inflight = kept;
	return found;
}

/* ------------------------------------------------------------------ */
/* The loop */

/*
 * One transaction: record what finished, delete old outcomes, claim what is
 * due.  Awaiting backends learn of the outcomes once it has committed.
 */
static void
cycle(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		retention = my_slot == db_first_slot && http_queue_retention_s > 0 &&
		now >= next_retention;
	bool		due = next_due != 0 && now >= next_due;
	int			nfree = http_worker_max_inflight - n_inflight;
	int			n_final = 0;
	int			n_recorded = n_done;	/* claim() may add refused ones */
	bool		want = (more_work || due || freed_full_host) && nfree > 0;

	/*
	 * A claim while some hosts are at their share scans past their queued
	 * rows, which costs as much as their backlog: after one that came back
	 * short, wait a moment before the next, unless a full host has room
	 * again (then its rows come first and the scan is short).
	 */
	if (want && !freed_full_host && now < claim_not_before)
		want = false;
	if (n_done == 0 && !retention && !want)
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "pg_http: recording and claiming queued requests");
	prepare_plans();
	if (response_td != NULL)
		FreeTupleDesc(response_td);	/* the type may have been re-created */
	response_td = NULL;

	n_final = record_all(n_recorded);

	if (retention)
	{
		Datum		cutoff = TimestampTzGetDatum(now - (TimestampTz) http_queue_retention_s * USECS_PER_SEC);

		if (SPI_execute_plan(retention_plan, &cutoff, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "pg_http worker: could not delete old outcomes");
		/* a full batch: there may be more to delete soon */
		next_retention = TimestampTzPlusMilliseconds(now, SPI_processed >= 10000 ? 1000 : 60000);
	}

	if (want)
	{
		bool		isnull;
		Datum		min_at;
		int			rows = claim(nfree);

		/* a full window with nothing left behind: there may be more */
		more_work = rows >= nfree && n_skipped == 0;
		freed_full_host = false;
		claim_not_before = n_full_hosts > 0 && rows < nfree ?
			TimestampTzPlusMilliseconds(now, 100) : 0;
		/* not read-only: it must see this transaction's retries */
		if (SPI_execute_plan(due_plan, NULL, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "pg_http worker: could not read http.queue");
		min_at = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		next_due = isnull ? 0 : DatumGetTimestampTz(min_at);
	}

	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	/* as a backend does when idle: autovacuum must see what the queue churns */
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);

	for (int i = 0; i < n_recorded; i++)
		delivery_free(done[i]);
	n_done -= n_recorded;
	memmove(done, done + n_recorded, sizeof(Delivery *) * n_done);
	HttpQueueNotifyAwaiters(final_ids, n_final);
}

/*
 * Put back in the queue what this slot's previous worker was sending when
 * it died: it may or may not have reached the server.  The database's first
 * worker also takes back rows of slots that no longer exist.
 */
static void
recover(void)
{
	Datum		args[3];
	Oid			types[3] = {INT4OID, INT4OID, INT4OID};
	int			ret;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "pg_http: recovering interrupted deliveries");
	args[0] = Int32GetDatum(my_slot);
	args[1] = Int32GetDatum(db_first_slot);
	args[2] = Int32GetDatum(db_first_slot + http_workers);
	ret = SPI_execute_with_args(
		"UPDATE http.queue SET state = 'queued', worker = NULL, possible_duplicate = true,"
		" next_at = pg_catalog.clock_timestamp()"
		" WHERE state = 'sending' AND (worker = $1 OR ($1 = $2 AND (worker < $2 OR worker >= $3)))",
		3, types, args, NULL, false, 0);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "pg_http worker: could not recover interrupted deliveries");
	if (SPI_processed > 0)
		ereport(LOG,
				(errmsg("pg_http worker: %llu interrupted deliveries queued again as possible duplicates",
						(unsigned long long) SPI_processed)));
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Wait until CREATE EXTENSION pg_http has run in this database. */
static void
wait_for_extension(void)
{
	for (;;)
	{
		bool		ready;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		StartTransactionCommand();
		{
			Oid			nsp = get_namespace_oid("http", true);

			ready = OidIsValid(nsp) && OidIsValid(get_relname_relid("queue", nsp));
		}
		CommitTransactionCommand();
		if (ready)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 5000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

static void
clear_slot(int code, Datum arg)
{
	SpinLockAcquire(&HttpQueue->mutex);
	HttpQueue->slots[my_slot].dboid = InvalidOid;
	HttpQueue->slots[my_slot].pid = 0;
	HttpQueue->slots[my_slot].latch = NULL;
	SpinLockRelease(&HttpQueue->mutex);
}

/* Entry point of a delivery worker (bgw_main_arg: its slot). */
void
pg_http_worker_main(Datum arg)
{
	HASHCTL		hctl;
	char		n[16];

	my_slot = DatumGetInt32(arg);
	db_first_slot = my_slot - my_slot % Max(http_workers, 1);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(MyBgworkerEntry->bgw_extra, NULL, 0);
	pgstat_report_appname("pg_http worker");

	if (HttpQueue == NULL || my_slot < 0 || my_slot >= HttpQueue->nslots)
		elog(FATAL, "pg_http worker: no shared state for slot %d", my_slot);
	SpinLockAcquire(&HttpQueue->mutex);
	HttpQueue->slots[my_slot].dboid = MyDatabaseId;
	HttpQueue->slots[my_slot].pid = MyProcPid;
	HttpQueue->slots[my_slot].latch = MyLatch;
	SpinLockRelease(&HttpQueue->mutex);
	on_shmem_exit(clear_slot, (Datum) 0);

	/* the worker's own engine limits follow its settings */
	snprintf(n, sizeof(n), "%d", http_worker_max_inflight);
	SetConfigOption("pg_http.max_concurrency", n, PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("pg_http.pool_size", n, PGC_SUSET, PGC_S_OVERRIDE);
	/* a claim must be durable before its request leaves */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);

	worker_cxt = AllocSetContextCreate(TopMemoryContext, "pg_http worker", ALLOCSET_DEFAULT_SIZES);
	max_slots = 256;
	inflight = MemoryContextAlloc(worker_cxt, sizeof(Delivery *) * max_slots);
	done = MemoryContextAlloc(worker_cxt, sizeof(Delivery *) * max_slots * 2);
	engine_xs = MemoryContextAlloc(worker_cxt, sizeof(HttpExchange *) * max_slots);
	final_ids = MemoryContextAlloc(worker_cxt, sizeof(int64) * max_slots * 2);
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(((HostCount *) 0)->host);
	hctl.entrysize = sizeof(HostCount);
	hctl.hcxt = worker_cxt;
	host_counts = hash_create("pg_http worker hosts", 64, &hctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	wait_for_extension();
	recover();
	ereport(LOG, (errmsg("pg_http worker %d started for database \"%s\"",
						 my_slot - db_first_slot, MyBgworkerEntry->bgw_extra)));

	for (;;)
	{
		long		max_ms = -1;
		bool		woken = false;
		TimestampTz now;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			next_retention = 0;		/* a new retention applies now */
			snprintf(n, sizeof(n), "%d", http_worker_max_inflight);
			SetConfigOption("pg_http.max_concurrency", n, PGC_SUSET, PGC_S_OVERRIDE);
			SetConfigOption("pg_http.pool_size", n, PGC_SUSET, PGC_S_OVERRIDE);
		}

		cycle();

		/* sleep until something finishes, a commit wakes us, or work falls due */
		now = GetCurrentTimestamp();
		if (n_done > 0 || (n_inflight < http_worker_max_inflight &&
						   (freed_full_host || (more_work && now >= claim_not_before))))
			max_ms = 0;
		else
		{
			TimestampTz until = next_due;

			/*
			 * Due but not claimed: held back by the hosts' shares (a finish
			 * wakes us) or by another worker's locks on the rows this one
			 * looked at (look again soon).
			 */
			if (until != 0 && until <= now)
				until = TimestampTzPlusMilliseconds(now, http_workers > 1 ? 20 : 1000);
			if (more_work && claim_not_before > now &&
				(until == 0 || claim_not_before < until))
				until = claim_not_before;
			if (my_slot == db_first_slot && http_queue_retention_s > 0 &&
				(until == 0 || next_retention < until))
				until = next_retention;
			if (until != 0)
			{
				long		secs;
				int			usecs;

				TimestampDifference(now, until, &secs, &usecs);
				max_ms = secs * 1000 + (usecs + 999) / 1000;
			}
		}

		for (int i = 0; i < n_inflight; i++)
			engine_xs[i] = &inflight[i]->x;
		(void) HttpEngineStep(engine_xs, n_inflight, max_ms, &woken);
		if (woken)
			more_work = true;
		if (collect_finished() > 0)
			more_work = true;	/* room for more, and perhaps for a capped host */
	}
}
