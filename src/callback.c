/*-------------------------------------------------------------------------
 *
 * callback.c
 *	  The callback worker: runs the callbacks of finished queued requests.
 *
 * A callback is a role's own code.  It runs here, in a process of its own
 * (one per database served), never in a delivery worker: a callback that
 * sleeps, waits, raises or changes settings delays or disturbs no
 * delivery.  Each callback runs
 *
 * - after its request's outcome has committed (the delivery worker marks
 *   the row callback_pending in the same statement that records the
 *   outcome),
 * - in a transaction of its own, which also clears callback_pending: the
 *   callback's effects and "it ran" commit together, so after a crash a
 *   callback whose effects did not commit runs again, and one whose effects
 *   did does not,
 * - as the role that queued the request, as a security-restricted
 *   operation (no SET ROLE, no temporary objects, no deferred triggers),
 *   with that role's pg_http settings as a new session would have them,
 *   search_path pinned to pg_catalog, pg_temp (a function that needs
 *   another sets its own), and a time limit, pg_http.callback_timeout,
 *   enforced as a statement timeout;
 * - fairly: the role whose callback ran longest ago goes first, so one
 *   role's slow callbacks hold up another role's at most one callback at a
 *   time, each within its time limit.
 *
 * A callback that raises, or runs out of time, is rolled back; its error
 * goes to callback_error and the outcome stands.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "queue.h"
#include "request.h"
#include "settings.h"
#include "worker.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgcompat.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"

PGDLLEXPORT void pg_http_callback_main(Datum arg);

/* When each role's last callback ran, for turns between roles. */
typedef struct RoleTurn
{
	Oid			role;
	uint64		last;			/* turn counter at its last callback */
} RoleTurn;

static HTAB *turns = NULL;
static uint64 turn_clock = 0;
static SPIPlanPtr roles_plan = NULL;
static SPIPlanPtr next_plan = NULL;
static SPIPlanPtr done_plan = NULL;

/* Prepare the statements, once. */
static void
prepare_plans(void)
{
	Oid			next_types[1] = {OIDOID};
	Oid			done_types[2] = {INT8OID, TEXTOID};

	if (roles_plan)
		return;
	/* the roles with callbacks to run: one probe per role */
	roles_plan = SPI_prepare(
		"WITH RECURSIVE o(owner) AS ("
		"  (SELECT owner FROM http.queue WHERE callback_pending ORDER BY owner LIMIT 1)"
		"  UNION ALL"
		"  SELECT (SELECT q.owner FROM http.queue q WHERE q.callback_pending"
		"            AND q.owner OPERATOR(pg_catalog.>) o.owner ORDER BY q.owner LIMIT 1)"
		"    FROM o WHERE o.owner IS NOT NULL)"
		" SELECT owner FROM o WHERE owner IS NOT NULL",
		0, NULL);
	/* that role's oldest, with what the callback is given */
	next_plan = SPI_prepare(
		"SELECT q.id, q.owner, q.callback::pg_catalog.oid,"
		"  CASE WHEN q.status IS NULL THEN NULL ELSE"
		"    ROW(q.status, q.response_headers, q.response_body,"
		"        q.response_headers OPERATOR(pg_catalog.->>) 'content-type',"
		"        q.response_url, q.response_version, q.elapsed_ms, q.timings)::http.response END,"
		"  q.error"
		" FROM http.queue q WHERE q.owner OPERATOR(pg_catalog.=) $1 AND q.callback_pending"
		" ORDER BY q.finished_at, q.id LIMIT 1 FOR UPDATE SKIP LOCKED",
		1, next_types);
	done_plan = SPI_prepare(
		"UPDATE http.queue SET callback_pending = false, callback_error = $2"
		" WHERE id OPERATOR(pg_catalog.=) $1",
		2, done_types);
	if (roles_plan == NULL || next_plan == NULL || done_plan == NULL)
		elog(ERROR, "pg_http callback worker: could not prepare its statements");
	SPI_keepplan(roles_plan);
	SPI_keepplan(next_plan);
	SPI_keepplan(done_plan);
}

/* The role with callbacks to run whose turn it is, or InvalidOid. */
static Oid
next_role(void)
{
	Oid			best = InvalidOid;
	uint64		best_last = PG_UINT64_MAX;

	if (SPI_execute_plan(roles_plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_http callback worker: could not read http.queue");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Oid			role = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[r],
														  SPI_tuptable->tupdesc, 1, &isnull));
		RoleTurn   *t = hash_search(turns, &role, HASH_FIND, NULL);
		uint64		last = t ? t->last : 0;

		if (last < best_last)
		{
			best = role;
			best_last = last;
		}
	}
	return best;
}

/*
 * Call callback f(id, response, error) as owner, restricted, with its
 * settings, a pinned search_path and the time limit, in a subtransaction.
 * Returns NULL, or the message of the error that ended it.
 */
static char *
call_one(int64 id, Oid owner, Oid fn, Datum response, bool response_null,
		 Datum error, bool error_null)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner resowner = CurrentResourceOwner;
	Oid			save_user;
	int			save_sec;
	char	   *volatile failure = NULL;

	GetUserIdAndSecContext(&save_user, &save_sec);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(outer);
	PG_TRY();
	{
		FmgrInfo	fl;
		LOCAL_FCINFO(fc, 3);
		int			level;

		if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fn)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("callback function %u no longer exists", fn)));
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the role that queued the request (oid %u) no longer exists", owner)));
		level = HttpSettingsApplyRole(owner);
		(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		if (HttpFunctionAclCheck(fn, owner) != ACLCHECK_OK)
			aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_FUNCTION, get_func_name(fn));
		fmgr_info(fn, &fl);
		InitFunctionCallInfoData(*fc, &fl, 3, InvalidOid, NULL, NULL);
		fc->args[0].value = Int64GetDatum(id);
		fc->args[0].isnull = false;
		fc->args[1].value = response;
		fc->args[1].isnull = response_null;
		fc->args[2].value = error;
		fc->args[2].isnull = error_null;
		enable_timeout_after(STATEMENT_TIMEOUT, http_callback_timeout_ms);
		/* as SQL would: a STRICT callback is not called with a NULL */
		if (!fl.fn_strict || (!response_null && !error_null))
			(void) FunctionCallInvoke(fc);
		disable_timeout(STATEMENT_TIMEOUT, false);
		AtEOXact_GUC(false, level);
		SetUserIdAndSecContext(save_user, save_sec);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *e;

		disable_timeout(STATEMENT_TIMEOUT, false);
		SetUserIdAndSecContext(save_user, save_sec);
		MemoryContextSwitchTo(outer);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		failure = e->message;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	CurrentResourceOwner = resowner;
	return failure;
}

/*
 * Run the next callback whose turn it is, in one transaction with clearing
 * its callback_pending.  Returns false when there was none to run.
 */
static bool
run_next(void)
{
	Oid			role;
	bool		ran = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	prepare_plans();

	role = next_role();
	if (OidIsValid(role))
	{
		Datum		arg = ObjectIdGetDatum(role);
		RoleTurn   *t = hash_search(turns, &role, HASH_ENTER, NULL);

		t->last = ++turn_clock;
		if (SPI_execute_plan(next_plan, &arg, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "pg_http callback worker: could not read http.queue");
		if (SPI_processed == 1)
		{
			HeapTuple	tup = SPI_copytuple(SPI_tuptable->vals[0]);
			TupleDesc	td = CreateTupleDescCopy(SPI_tuptable->tupdesc);
			bool		n[5];
			Datum		v[5];
			char	   *failure;
			Datum		done[2];
			char		done_null[2] = {' ', ' '};

			for (int i = 0; i < 5; i++)
				v[i] = SPI_getbinval(tup, td, i + 1, &n[i]);
			pgstat_report_activity(STATE_RUNNING, "pg_http: running a callback");
			failure = call_one(DatumGetInt64(v[0]), DatumGetObjectId(v[1]), DatumGetObjectId(v[2]),
							   v[3], n[3], v[4], n[4]);
			if (failure)
				ereport(LOG,
						(errmsg("pg_http: callback of queued request " INT64_FORMAT " failed: %s",
								DatumGetInt64(v[0]), failure)));
			done[0] = v[0];
			if (failure)
				done[1] = CStringGetTextDatum(HttpTextForDatabase(failure, strlen(failure)));
			else
				done_null[1] = 'n';
			if (SPI_execute_plan(done_plan, done, done_null, false, 0) != SPI_OK_UPDATE)
				elog(ERROR, "pg_http callback worker: could not record a callback");
		}
		/* none: another callback worker has it, or it went; look again */
		ran = true;
	}

	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
	return ran;
}

/* Entry point of a callback worker (bgw_main_arg: its slot). */
void
pg_http_callback_main(Datum arg)
{
	HASHCTL		hctl;
	MemoryContext loop_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	/* the statement timeout of a callback arrives as SIGINT */
	pqsignal(SIGINT, StatementCancelHandler);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(MyBgworkerEntry->bgw_extra, NULL, 0);
	pgstat_report_appname("pg_http callback worker");
	HttpQueueAttach(DatumGetInt32(arg));
	/* its own SQL runs as a superuser: no role's functions may stand in for built-ins */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = sizeof(Oid);
	hctl.entrysize = sizeof(RoleTurn);
	turns = hash_create("pg_http callback turns", 16, &hctl, HASH_ELEM | HASH_BLOBS);
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "pg_http callback loop",
									 ALLOCSET_DEFAULT_SIZES);

	HttpWorkerWaitForExtension();
	ereport(LOG, (errmsg("pg_http callback worker started for database \"%s\"",
						 MyBgworkerEntry->bgw_extra)));

	for (;;)
	{
		bool		ran;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			HttpSettingsBaseStale();
		}
		old = MemoryContextSwitchTo(loop_cxt);
		ran = run_next();
		MemoryContextSwitchTo(old);
		MemoryContextReset(loop_cxt);
		if (ran)
			continue;
		/* woken by a delivery worker that recorded outcomes with callbacks */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
