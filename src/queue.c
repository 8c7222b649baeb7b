/*-------------------------------------------------------------------------
 *
 * queue.c
 *	  The outbox, SQL side: http.enqueue(), http.await(), the shared state
 *	  the delivery workers (worker.c) and the backends use to wake each other.
 *
 * http.enqueue() checks a request as the caller (URL, options, host policy,
 * ACLs), then inserts it into http.queue in the caller's transaction; the
 * workers of the database are woken when that transaction commits, and a
 * rolled-back transaction or savepoint leaves nothing to send.
 *
 * http.await() waits on its latch: a worker that records outcomes sets the
 * latch of every backend awaiting one of them, so no one polls.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "hostctl.h"
#include "stats.h"
#include "netaddr.h"
#include "queue.h"
#include "request.h"
#include "settings.h"

#include "access/htup_details.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "commands/dbcommands.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

HttpQueueShared *HttpQueue = NULL;

static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static shmem_request_hook_type prev_shmem_request_hook = NULL;

static int	queue_nslots = 0;		/* databases x workers, fixed at startup */
static int	queue_ncallback = 0;	/* callback workers: one per database */
static bool queued_in_xact = false; /* this transaction called http.enqueue */
static bool callbacks_in_xact = false;	/* ... or finished one with a callback */
static bool xact_callback_registered = false;
static bool warned_no_worker = false;

/* Slots for procs that may await (every PGPROC has a number below this). */
static int
await_slots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

static Size
queue_shmem_size(void)
{
	Size		sz = offsetof(HttpQueueShared, slots);

	sz = add_size(sz, mul_size(queue_nslots + queue_ncallback, sizeof(HttpWorkerSlot)));
	sz = MAXALIGN(sz);
	sz = add_size(sz, mul_size(await_slots(), sizeof(pg_atomic_uint64)));
	return sz;
}

static void
queue_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(queue_shmem_size());
	RequestAddinShmemSpace(HttpHostCtlShmemSize());
	RequestAddinShmemSpace(HttpStatsShmemSize());
}

static void
queue_shmem_startup(void)
{
	bool		found;
	Size		sz = queue_shmem_size();

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	HttpQueue = ShmemInitStruct("pg_http queue", sz, &found);
	if (!found)
	{
		memset(HttpQueue, 0, sz);
		SpinLockInit(&HttpQueue->mutex);
		HttpQueue->nslots = queue_nslots;
		HttpQueue->ncallback = queue_ncallback;
		HttpQueue->nawait = await_slots();
		HttpQueue->awaiting = (pg_atomic_uint64 *)
			((char *) HttpQueue + MAXALIGN(offsetof(HttpQueueShared, slots) +
										   (queue_nslots + queue_ncallback) * sizeof(HttpWorkerSlot)));
		for (int i = 0; i < HttpQueue->nawait; i++)
			pg_atomic_init_u64(&HttpQueue->awaiting[i], 0);
	}
	HttpHostCtlShmemInit();
	HttpStatsShmemInit();
	LWLockRelease(AddinShmemInitLock);
}

/* The databases named by pg_http.worker_databases (a list of C strings). */
List *
HttpQueueDatabases(void)
{
	char	   *copy = pstrdup(http_worker_databases ? http_worker_databases : "");
	List	   *names = NIL;

	if (!SplitGUCList(copy, ',', &names))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in pg_http.worker_databases")));
	return names;
}

/*
 * From _PG_init while shared_preload_libraries loads: ask for the shared
 * state and register the delivery workers, pg_http.workers per database.
 */
void
HttpQueueInit(void)
{
	List	   *dbs;
	ListCell   *lc;
	int			d = 0;

	if (!process_shared_preload_libraries_in_progress)
		return;

	dbs = HttpQueueDatabases();
	queue_nslots = list_length(dbs) * http_workers;
	queue_ncallback = http_workers > 0 ? list_length(dbs) : 0;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = queue_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = queue_shmem_startup;

	foreach(lc, dbs)
	{
		const char *db = lfirst(lc);

		if (strlen(db) >= BGW_EXTRALEN)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("database name \"%s\" in pg_http.worker_databases is too long", db)));
		for (int i = 0; i < http_workers; i++)
		{
			BackgroundWorker w;
			int			slot = d * http_workers + i;

			memset(&w, 0, sizeof(w));
			w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
			w.bgw_start_time = BgWorkerStart_RecoveryFinished;
			w.bgw_restart_time = 5;
			snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_http");
			snprintf(w.bgw_function_name, BGW_MAXLEN, "pg_http_worker_main");
			snprintf(w.bgw_name, BGW_MAXLEN, "pg_http worker %d for database %s", i, db);
			snprintf(w.bgw_type, BGW_MAXLEN, "pg_http worker");
			w.bgw_main_arg = Int32GetDatum(slot);
			/* the slot range of this database follows the name */
			strlcpy(w.bgw_extra, db, BGW_EXTRALEN);
			RegisterBackgroundWorker(&w);
		}
		if (queue_ncallback > 0)
		{
			BackgroundWorker w;

			/* the database's callbacks run in a process of their own */
			memset(&w, 0, sizeof(w));
			w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
			w.bgw_start_time = BgWorkerStart_RecoveryFinished;
			w.bgw_restart_time = 5;
			snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_http");
			snprintf(w.bgw_function_name, BGW_MAXLEN, "pg_http_callback_main");
			snprintf(w.bgw_name, BGW_MAXLEN, "pg_http callback worker for database %s", db);
			snprintf(w.bgw_type, BGW_MAXLEN, "pg_http callback worker");
			w.bgw_main_arg = Int32GetDatum(queue_nslots + d);
			strlcpy(w.bgw_extra, db, BGW_EXTRALEN);
			RegisterBackgroundWorker(&w);
		}
		d++;
	}
}

/* At a worker's exit: its slot is free. */
static void
queue_detach(int code, Datum arg)
{
	int			slot = DatumGetInt32(arg);

	SpinLockAcquire(&HttpQueue->mutex);
	HttpQueue->slots[slot].dboid = InvalidOid;
	HttpQueue->slots[slot].pid = 0;
	HttpQueue->slots[slot].latch = NULL;
	SpinLockRelease(&HttpQueue->mutex);
}

/*
 * A worker (delivery or callback) takes its slot: backends of its database
 * can wake it from now on, until it exits.
 */
void
HttpQueueAttach(int slot)
{
	if (HttpQueue == NULL || slot < 0 || slot >= HttpQueue->nslots + HttpQueue->ncallback)
		elog(FATAL, "pg_http worker: no shared state for slot %d", slot);
	SpinLockAcquire(&HttpQueue->mutex);
	HttpQueue->slots[slot].dboid = MyDatabaseId;
	HttpQueue->slots[slot].pid = MyProcPid;
	HttpQueue->slots[slot].latch = MyLatch;
	SpinLockRelease(&HttpQueue->mutex);
	on_shmem_exit(queue_detach, Int32GetDatum(slot));
}

/* Set the latches of slots [from, to) that serve database dboid. */
static void
wake_slots(Oid dboid, int from, int to)
{
	for (int i = from; i < to; i++)
	{
		Latch	   *latch = NULL;

		SpinLockAcquire(&HttpQueue->mutex);
		if (HttpQueue->slots[i].dboid == dboid)
			latch = HttpQueue->slots[i].latch;
		SpinLockRelease(&HttpQueue->mutex);
		if (latch)
			SetLatch(latch);
	}
}

/* Wake every delivery worker serving database dboid. */
void
HttpQueueWake(Oid dboid)
{
	if (HttpQueue != NULL)
		wake_slots(dboid, 0, HttpQueue->nslots);
}

/* Wake the callback worker of database dboid. */
void
HttpQueueWakeCallbacks(Oid dboid)
{
	if (HttpQueue != NULL)
		wake_slots(dboid, HttpQueue->nslots, HttpQueue->nslots + HttpQueue->ncallback);
}

/* qsort comparator of int64 queue ids, ascending. */
int
HttpQueueIdCompare(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * After a worker committed the outcomes of ids[0..n) (sorted here): wake
 * every backend awaiting one of them.
 */
void
HttpQueueNotifyAwaiters(int64 *ids, int n)
{
	if (HttpQueue == NULL || n == 0)
		return;
	qsort(ids, n, sizeof(int64), HttpQueueIdCompare);
	pg_memory_barrier();
	for (int p = 0; p < HttpQueue->nawait; p++)
	{
		int64		id = (int64) pg_atomic_read_u64(&HttpQueue->awaiting[p]);

		if (id != 0 && bsearch(&id, ids, n, sizeof(int64), HttpQueueIdCompare) != NULL)
			SetLatch(&ProcGlobal->allProcs[p].procLatch);
	}
}

/* Wake the workers when a transaction that queued requests commits. */
static void
queue_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_PREPARE:
			if (queued_in_xact)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that queued HTTP requests"),
						 errdetail("pg_http wakes its delivery workers when the queuing transaction commits.")));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (queued_in_xact)
				HttpQueueWake(MyDatabaseId);
			if (callbacks_in_xact)
				HttpQueueWakeCallbacks(MyDatabaseId);
			queued_in_xact = callbacks_in_xact = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			queued_in_xact = callbacks_in_xact = false;
			break;
		default:
			break;
	}
}

/* Wake the delivery (queued) or callback workers when this transaction commits. */
static void
wake_at_commit(bool queued, bool callbacks)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(queue_xact_callback, NULL);
		xact_callback_registered = true;
	}
	queued_in_xact |= queued;
	callbacks_in_xact |= callbacks;
}

/* Is there a worker for this database?  If not, say so once per session. */
static void
warn_if_no_worker(void)
{
	bool		served = false;
	List	   *dbs;
	ListCell   *lc;
	const char *me;

	if (warned_no_worker)
		return;
	warned_no_worker = true;
	me = get_database_name(MyDatabaseId);
	if (HttpQueue != NULL && http_workers > 0)
	{
		dbs = HttpQueueDatabases();
		foreach(lc, dbs)
			if (me && strcmp(lfirst(lc), me) == 0)
				served = true;
	}
	if (!served)
		ereport(WARNING,
				(errmsg("no pg_http delivery worker serves database \"%s\"", me ? me : "?"),
				 errdetail("Queued requests wait in http.queue until one does."),
				 errhint("Add pg_http to shared_preload_libraries and the database to pg_http.worker_databases, then restart the server.")));
}

/* The oid of type http.response. */
static Oid
HttpResponseTypeOid(void)
{
	Oid			nsp = get_namespace_oid("http", false);

	return GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
						   CStringGetDatum("response"), ObjectIdGetDatum(nsp));
}

/* Resolve a callback name to a function f(bigint, http.response, text). */
static Oid
resolve_callback(const char *name)
{
	Oid			argtypes[3] = {INT8OID, HttpResponseTypeOid(), TEXTOID};
	List	   *names = HttpQualifiedName(name);
	Oid			fn = LookupFuncName(names, 3, argtypes, true);
	AclResult	aclresult;

	if (!OidIsValid(fn))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("callback function %s(bigint, http.response, text) does not exist", name),
				 errhint("A callback takes the request id, the response (NULL if none) and the error (NULL if none).")));
	aclresult = HttpFunctionAclCheck(fn, GetUserId());
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, name);
	return fn;
}

/* "host:port" of a request, IPv6 in brackets: the key of per-host caps. */
char *
HttpQueueHostKey(const HttpRequest *req)
{
	if (req->host_kind == HTTP_HOST_IPV6)
		return psprintf("[%s]:%d", req->host, req->port);
	return psprintf("%s:%d", req->host, req->port);
}

#define ENQUEUE_NARGS 11

/*
 * Refuse a request beyond pg_http.queue_max_per_role unfinished ones of the
 * role (queued or being sent), counted as this transaction sees them (in
 * SPI, as the superuser the insert runs as): one role cannot fill the
 * outbox that every role's deliveries go through.
 */
static void
check_role_quota(Oid owner)
{
	static SPIPlanPtr plan = NULL;
	Datum		args[2];
	bool		isnull;
	int64		n;

	if (plan == NULL)
	{
		Oid			types[2] = {OIDOID, INT4OID};
		SPIPlanPtr	p = SPI_prepare("SELECT count(*) FROM (SELECT 1 FROM http.queue"
									" WHERE owner OPERATOR(pg_catalog.=) $1"
									"   AND state IN ('queued', 'sending') LIMIT $2) s",
									2, types);

		if (p == NULL)
			elog(ERROR, "could not prepare the http.queue quota check");
		SPI_keepplan(p);
		plan = p;
	}
	args[0] = ObjectIdGetDatum(owner);
	args[1] = Int32GetDatum(http_queue_max_per_role);
	if (SPI_execute_plan(plan, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the role's queued requests");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (n >= http_queue_max_per_role)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("role \"%s\" has %d queued HTTP requests not yet finished",
						GetUserNameFromId(owner, false), http_queue_max_per_role),
				 errdetail("pg_http.queue_max_per_role is %d.", http_queue_max_per_role),
				 errhint("Wait for them to be delivered, or ask a superuser to raise pg_http.queue_max_per_role.")));
}

PG_FUNCTION_INFO_V1(pg_http_enqueue);
/* http.enqueue(request jsonb) RETURNS bigint */
Datum
pg_http_enqueue(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr plan = NULL;
	Jsonb	   *doc;
	HttpOptions base;
	HttpQueueOptions q;
	HttpRequest *req;
	Oid			callback = InvalidOid;
	TimestampTz next_at;
	Datum		values[ENQUEUE_NARGS];
	char		nulls[ENQUEUE_NARGS];
	Oid			owner = GetUserId();
	HttpSpiScope spi;
	int64		id;
	bool		isnull;
	bool		secrets;
	ErrorContextCallback guard;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("request must not be null")));
	/* a standby can neither store the request nor deliver it */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot queue HTTP requests on a standby"),
				 errdetail("http.enqueue() writes to http.queue, and a server in recovery is read-only."),
				 errhint("Queue the request on the primary; synchronous calls such as http.get() work here.")));
	doc = PG_GETARG_JSONB_P(0);
	secrets = HttpDocumentHasCredentials(doc);
	HttpSecretGuardPush(&guard, secrets);

	/* everything is judged now, as the caller, and again when sent */
	HttpOptionsDefault(&base);
	req = HttpRequestFromDocument(doc, &base, true);
	doc = HttpDocumentWithTraceContext(doc, req);	/* the worker sends it in this trace */
	HttpQueueOptionsFromDocument(&q, doc);
	if (q.callback)
		callback = resolve_callback(q.callback);
	if (q.idempotency_key)
	{
		for (const char *p = q.idempotency_key; *p; p++)
			if ((unsigned char) *p < 0x20 || *p == 0x7f)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"idempotency_key\" must not contain control characters")));
	}
	if (q.tag)
	{
		size_t		len = strlen(q.tag);
		bool		ok = len > 0 && len <= 63;

		for (const char *p = q.tag; ok && *p; p++)
			ok = (unsigned char) *p > 0x20 && (unsigned char) *p < 0x7f;
		if (!ok)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"tag\" must be 1 to 63 printable ASCII characters without spaces")));
	}
	if (q.ordering_key && (strlen(q.ordering_key) == 0 || strlen(q.ordering_key) > 200))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"ordering_key\" must be 1 to 200 bytes")));
	if (q.not_before)
	{
		next_at = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
														  CStringGetDatum(q.not_before),
														  ObjectIdGetDatum(InvalidOid),
														  Int32GetDatum(-1)));
		/* a year ahead at most: every timestamp it leads to stays printable */
		if (TIMESTAMP_NOT_FINITE(next_at) ||
			next_at > TimestampTzPlusMilliseconds(GetCurrentTimestamp(), HTTP_QUEUE_MAX_DELAY_MS))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"not_before\" must be a time at most a year from now"),
					 errdetail("It was \"%s\".", q.not_before)));
	}
	else
		next_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), q.delay_ms);

	memset(nulls, ' ', sizeof(nulls));
	values[0] = ObjectIdGetDatum(owner);
	values[1] = JsonbPGetDatum(doc);
	values[2] = CStringGetTextDatum(HttpQueueHostKey(req));
	values[3] = Int32GetDatum(q.max_attempts);
	values[4] = Int32GetDatum(q.backoff_ms);
	values[5] = Int32GetDatum(q.backoff_max_ms);
	values[6] = BoolGetDatum(q.retry_4xx);
	if (q.idempotency_key)
		values[7] = CStringGetTextDatum(q.idempotency_key);
	else
		nulls[7] = 'n';
	values[8] = ObjectIdGetDatum(callback);
	if (!OidIsValid(callback))
		nulls[8] = 'n';
	values[9] = TimestampTzGetDatum(next_at);
	if (q.ordering_key)
		values[10] = CStringGetTextDatum(q.ordering_key);
	else
		nulls[10] = 'n';

	/* only pg_http writes http.queue: insert as the bootstrap superuser */
	HttpSpiEnter(&spi);
	if (plan == NULL)
	{
		Oid			types[ENQUEUE_NARGS] = {OIDOID, JSONBOID, TEXTOID, INT4OID, INT4OID,
		INT4OID, BOOLOID, TEXTOID, OIDOID, TIMESTAMPTZOID, TEXTOID};
		SPIPlanPtr	p = SPI_prepare("INSERT INTO http.queue (owner, request, host, max_attempts, "
									"backoff_ms, backoff_max_ms, retry_4xx, idempotency_key, "
									"callback, next_at, ordering_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
									"$9::pg_catalog.regprocedure, $10, $11) RETURNING id",
									ENQUEUE_NARGS, types);

		if (p == NULL)
			elog(ERROR, "could not prepare the http.queue insert: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		plan = p;
	}
	if (http_queue_max_per_role > 0)
		check_role_quota(owner);
	if (SPI_execute_plan(plan, values, nulls, false, 1) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "could not insert into http.queue");
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	HttpSpiLeave(&spi);

	wake_at_commit(true, false);
	warn_if_no_worker();
	HttpSecretGuardPop(&guard, secrets);
	PG_RETURN_INT64(id);
}

PG_FUNCTION_INFO_V1(pg_http_await);
/*
 * http.await(id bigint, timeout_ms integer) RETURNS http.results: the
 * request's row once it is delivered or failed, or as it is when the
 * timeout passes.  Sleeps on the latch; the worker that records the outcome
 * sets it.
 */
Datum
pg_http_await(PG_FUNCTION_ARGS)
{
	static SPIPlanPtr state_plan = NULL;
	static SPIPlanPtr row_plan = NULL;
	int64		id = PG_GETARG_INT64(0);
	int			timeout_ms = PG_GETARG_INT32(1);
	TimestampTz deadline;
	TupleDesc	td;
	MemoryContext outer = CurrentMemoryContext;
	HeapTuple	result = NULL;
	int			me;
	int			level;

	if (HttpQueue == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("http.await() needs pg_http in shared_preload_libraries")));
	if (timeout_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_ms must not be negative")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("http.await() cannot wait in a REPEATABLE READ or SERIALIZABLE transaction"),
				 errdetail("Its snapshot would never show the outcome."),
				 errhint("Call it in a READ COMMITTED transaction.")));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	me = HttpMyProcNumber();

	level = HttpPinSearchPath();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (state_plan == NULL)
	{
		Oid			types[1] = {INT8OID};
		SPIPlanPtr	p1 = SPI_prepare("SELECT state, xmin FROM http.queue WHERE id = $1", 1, types);
		SPIPlanPtr	p2 = SPI_prepare("SELECT * FROM http.results WHERE id = $1", 1, types);

		if (p1 == NULL || p2 == NULL)
			elog(ERROR, "could not prepare the http.await queries");
		SPI_keepplan(p1);
		SPI_keepplan(p2);
		state_plan = p1;
		row_plan = p2;
	}

	/* from here on, a worker finishing this id sets our latch */
	(void) pg_atomic_exchange_u64(&HttpQueue->awaiting[me], (uint64) id);
	PG_TRY();
	{
		Datum		arg = Int64GetDatum(id);

		for (;;)
		{
			bool		isnull;
			char	   *state;
			TransactionId xmin;
			long		secs;
			int			usecs;
			TimestampTz now;

			if (SPI_execute_plan(state_plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "could not read http.queue");
			if (SPI_processed == 0)
				ereport(ERROR,
						(errcode(ERRCODE_NO_DATA_FOUND),
						 errmsg("no queued request with id " INT64_FORMAT, id),
						 errhint("Each role sees only the requests it queued; finished ones are removed after pg_http.queue_retention.")));
			state = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			xmin = DatumGetTransactionId(SPI_getbinval(SPI_tuptable->vals[0],
													   SPI_tuptable->tupdesc, 2, &isnull));
			if (strcmp(state, "queued") == 0 && TransactionIdIsCurrentTransactionId(xmin))
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("request " INT64_FORMAT " was queued by this transaction", id),
						 errdetail("It is sent only after the transaction commits."),
						 errhint("Await it in a later transaction.")));

			now = GetCurrentTimestamp();
			if (strcmp(state, "delivered") == 0 || strcmp(state, "failed") == 0 ||
				strcmp(state, "cancelled") == 0 || now >= deadline)
				break;

			TimestampDifference(now, deadline, &secs, &usecs);
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 secs * 1000 + (usecs + 999) / 1000, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}

		if (SPI_execute_plan(row_plan, &arg, NULL, false, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "could not read http.results");
		{
			int			natts = td->natts;
			Datum	   *values = palloc(sizeof(Datum) * natts);
			bool	   *nulls = palloc(sizeof(bool) * natts);
			MemoryContext old;

			for (int i = 0; i < natts; i++)
				values[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1,
										  &nulls[i]);
			old = MemoryContextSwitchTo(outer);
			result = heap_form_tuple(td, values, nulls);
			MemoryContextSwitchTo(old);
		}
	}
	PG_FINALLY();
	{
		pg_atomic_write_u64(&HttpQueue->awaiting[me], 0);
	}
	PG_END_TRY();
	SPI_finish();
	HttpUnpinSearchPath(level);
	PG_RETURN_DATUM(HeapTupleGetDatum(result));
}

/* ------------------------------------------------------------------ */
/* Cancel and redrive */

/*
 * Lock row id if it is user's (a superuser's: any), inside HttpSpiEnter
 * (user and su are the caller's, found before it), and return its state
 * and what a redrive needs to know.  P0002 when there is no such row:
 * another role's rows are as good as absent.
 */
static char *
lock_own_row(int64 id, Oid user, bool su, bool *has_callback, bool *callback_pending,
			 bool *creds_removed)
{
	Datum		args[3] = {Int64GetDatum(id), ObjectIdGetDatum(user), BoolGetDatum(su)};
	Oid			types[3] = {INT8OID, OIDOID, BOOLOID};
	bool		isnull;

	if (SPI_execute_with_args("SELECT state, callback IS NOT NULL, callback_pending, credentials_removed"
							  " FROM http.queue WHERE id OPERATOR(pg_catalog.=) $1"
							  "   AND ($3 OR owner OPERATOR(pg_catalog.=) $2) FOR UPDATE",
							  3, types, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read http.queue");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("no queued request with id " INT64_FORMAT, id),
				 errhint("Each role sees only the requests it queued; finished ones are removed after pg_http.queue_retention.")));
	*has_callback = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	*callback_pending = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	*creds_removed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull));
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

PG_FUNCTION_INFO_V1(pg_http_cancel);
/*
 * http.cancel(id): a queued request that no worker is sending becomes
 * 'cancelled' (57014, by whom), final: it is never sent, its callback runs,
 * its literal credentials go.  false when it is in flight or finished.
 */
Datum
pg_http_cancel(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	char	   *who = GetUserNameFromId(GetUserId(), false);
	HttpSpiScope spi;
	bool		cb;
	bool		pending;
	bool		removed;
	char	   *state;
	Datum		args[2] = {Int64GetDatum(id), CStringGetTextDatum(who)};
	Oid			types[2] = {INT8OID, TEXTOID};

	Oid			user = GetUserId();
	bool		su = superuser();

	HttpSpiEnter(&spi);
	state = lock_own_row(id, user, su, &cb, &pending, &removed);
	if (strcmp(state, "queued") != 0)
	{
		HttpSpiLeave(&spi);
		ereport(NOTICE,
				(errmsg("request " INT64_FORMAT " is %s, not queued: not cancelled", id,
						strcmp(state, "sending") == 0 ? "being sent" : state)));
		PG_RETURN_BOOL(false);
	}
	if (SPI_execute_with_args("UPDATE http.queue SET state = 'cancelled', next_at = pg_catalog.now(),"
							  " finished_at = pg_catalog.clock_timestamp(), error_code = '57014',"
							  " error = 'cancelled by ' OPERATOR(pg_catalog.||) $2,"
							  " callback_pending = callback IS NOT NULL,"
							  " request = http.redact_request(request),"
							  " credentials_removed = credentials_removed OR"
							  "   http.redact_request(request) OPERATOR(pg_catalog.<>) request"
							  " WHERE id OPERATOR(pg_catalog.=) $1",
							  2, types, args, NULL, false, 1) != SPI_OK_UPDATE)
		elog(ERROR, "could not update http.queue");
	HttpSpiLeave(&spi);
	wake_at_commit(false, cb);
	HttpQueueNotifyAwaiters(&id, 1);
	PG_RETURN_BOOL(true);
}

/* Queue rows ids (already locked, failed or cancelled) again: fresh attempts, redriven + 1. */
static void
requeue(int64 *ids, int n)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[1];
	Oid			types[1] = {INT8ARRAYOID};

	for (int i = 0; i < n; i++)
		d[i] = Int64GetDatum(ids[i]);
	args[0] = PointerGetDatum(construct_array(d, n, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_with_args("UPDATE http.queue SET state = 'queued', attempts = 0,"
							  " next_at = pg_catalog.now(), finished_at = NULL, status = NULL,"
							  " response_headers = NULL, response_body = NULL, response_version = NULL,"
							  " response_url = NULL, error_code = NULL, error = NULL,"
							  " callback_error = NULL, interrupted = 0, elapsed_ms = NULL,"
							  " redriven = redriven + 1"
							  " WHERE id OPERATOR(pg_catalog.=) ANY ($1)",
							  1, types, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update http.queue");
}

PG_FUNCTION_INFO_V1(pg_http_retry);
/*
 * http.retry(id): a failed or cancelled request is queued again with fresh
 * attempts, now; redriven counts it.  Refused when its literal credentials
 * were removed when it finished (it would go without them), or while its
 * callback has not run; false (with a notice) for any other state.
 */
Datum
pg_http_retry(PG_FUNCTION_ARGS)
{
	int64		id = PG_GETARG_INT64(0);
	HttpSpiScope spi;
	bool		cb;
	bool		pending;
	bool		removed;
	char	   *state;

	Oid			user = GetUserId();
	bool		su = superuser();

	HttpSpiEnter(&spi);
	state = lock_own_row(id, user, su, &cb, &pending, &removed);
	if (strcmp(state, "failed") != 0 && strcmp(state, "cancelled") != 0)
	{
		HttpSpiLeave(&spi);
		ereport(NOTICE,
				(errmsg("request " INT64_FORMAT " is %s: only failed or cancelled requests are sent again",
						id, strcmp(state, "sending") == 0 ? "being sent" : state)));
		PG_RETURN_BOOL(false);
	}
	if (removed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("request " INT64_FORMAT " no longer has its credentials", id),
				 errdetail("Its literal credential headers or URL credentials were removed when it finished."),
				 errhint("Queue it again; name secrets (http.secret_define) instead of literal credentials, and it can be retried.")));
	if (pending)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("request " INT64_FORMAT " has a callback that has not run yet", id),
				 errhint("Retry it once its callback has run (callback_pending is false).")));
	requeue(&id, 1);
	HttpSpiLeave(&spi);
	wake_at_commit(true, false);
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(pg_http_retry_failed);
/*
 * http.retry_failed(host_pattern, since): http.retry for every failed
 * request of the caller (a superuser's: everyone's) whose host:port matches
 * the pattern (as in pg_http.allowed_hosts: a name, *.domain, *, an address
 * or CIDR range, optionally :port) and that finished at or after since.
 * Those whose credentials were removed or whose callback is pending are
 * skipped (a notice counts them).  Returns how many are queued again.
 */
Datum
pg_http_retry_failed(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		since = PG_GETARG_DATUM(1);
	HttpHostRule rule;
	const char *err = NULL;
	size_t		errpos = 0;
	HttpSpiScope spi;
	Datum		args[3] = {ObjectIdGetDatum(GetUserId()), BoolGetDatum(superuser()), since};
	Oid			types[3] = {OIDOID, BOOLOID, TIMESTAMPTZOID};
	int64	   *ids;
	int			n = 0;
	int			skipped = 0;

	if (strchr(pattern, ',') || HttpHostRulesParse(pattern, &rule, 1, &err, &errpos) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid host pattern \"%s\"", pattern),
				 err ? errdetail("%c%s.", pg_ascii_toupper((unsigned char) err[0]), err + 1) : 0,
				 errhint("A pattern is a host name, *.domain, *, an address or CIDR range, with :port or :N-M if wanted.")));

	HttpSpiEnter(&spi);
	if (SPI_execute_with_args("SELECT id, host, callback_pending OR credentials_removed FROM http.queue"
							  " WHERE state = 'failed' AND ($2 OR owner OPERATOR(pg_catalog.=) $1)"
							  "   AND finished_at OPERATOR(pg_catalog.>=) $3"
							  " ORDER BY id FOR UPDATE",
							  3, types, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read http.queue");
	ids = palloc(sizeof(int64) * Max(SPI_processed, 1));
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;

		if (!HttpHostKeyMatches(&rule, SPI_getvalue(tup, td, 2)))
			continue;
		if (DatumGetBool(SPI_getbinval(tup, td, 3, &isnull)))
		{
			skipped++;
			continue;
		}
		ids[n++] = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
	}
	if (n > 0)
		requeue(ids, n);
	HttpSpiLeave(&spi);
	if (skipped > 0)
		ereport(NOTICE,
				(errmsg("%d failed requests matching \"%s\" were not sent again", skipped, pattern),
				 errdetail("Their literal credentials were removed when they finished, or their callbacks have not run yet.")));
	if (n > 0)
		wake_at_commit(true, false);
	PG_RETURN_INT32(n);
}
