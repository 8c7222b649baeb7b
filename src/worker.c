/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The delivery worker: its life and its loop.
 *
 * Each worker serves one database.  It keeps up to
 * pg_http.worker_max_inflight requests in flight in one engine session
 * (the same engine as a backend's calls) that lasts as long as it does,
 * and goes around one loop:
 *
 *   one transaction: record the outcomes that came in (delivery.c), delete
 *     old ones, claim due requests (claim.c: fairly between roles, marking
 *     them 'sending' before anything is sent), commit; wake the callback
 *     worker and the backends awaiting what became final;
 *   wait in the engine until an exchange finishes, a backend's commit sets
 *     the latch, or the next retry falls due.
 *
 * Callbacks do not run here (callback.c has a process of its own): nothing
 * a role's code does can hold up, or change the engine of, the deliveries
 * of others.  No role's code runs in this process at all.
 *
 * A request is marked 'sending' and committed before it is sent, so a
 * crash at any moment leaves it either 'queued' (never sent) or 'sending'
 * (perhaps sent); the next worker in the slot puts the latter back
 * (DeliveryRecover).  An orderly stop (SIGTERM) puts its requests in
 * flight back itself first, so only a worker that dies counts against
 * them.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "engine.h"
#include "queue.h"
#include "settings.h"
#include "worker.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void pg_http_worker_main(Datum arg);

/* The longest a worker that keeps dying waits before it sends again. */
#define MAX_CRASH_BACKOFF_MS (60 * 1000)

static WorkerState ws;
static volatile sig_atomic_t stop_requested = false;

/* SIGTERM: stop at the top of the loop, after putting requests back. */
static void
worker_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	stop_requested = true;
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Start a transaction with SPI and a snapshot, for one cycle's work. */
static void
cycle_begin(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, activity);
}

/* Commit what cycle_begin started. */
static void
cycle_end(void)
{
	PopActiveSnapshot();
	SPI_finish();
	CommitTransactionCommand();
	/* as a backend does when idle: autovacuum must see what the queue churns */
	pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * One transaction: record what finished, delete old outcomes, claim what is
 * due.  Awaiting backends and the callback worker learn of the outcomes
 * once it has committed.
 */
static void
cycle(void)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		retention = ws.slot == ws.db_first_slot && http_queue_retention_s > 0 &&
		now >= ws.next_retention;
	bool		due = ws.next_due != 0 && now >= ws.next_due;
	int			nfree = http_worker_max_inflight - ws.n_inflight;
	int			n_final;
	int			n_recorded;
	bool		hosts_due = ws.host_wake_at != 0 && now >= ws.host_wake_at;
	bool		want = (ws.more_work || due || ws.freed_full_host || hosts_due) && nfree > 0;

	/*
	 * A claim while some hosts are at their share scans past their queued
	 * rows: after one that came back short, wait a moment before the next,
	 * unless a full host has room again.
	 */
	if (want && !ws.freed_full_host && !hosts_due && now < ws.claim_not_before)
		want = false;
	if (ws.n_done == 0 && !retention && !want)
		return;

	cycle_begin("pg_http: recording and claiming queued requests");
	DeliveryPreparePlans(&ws);
	ws.wake_callbacks = false;
	/* the claim may add refused ones after these */
	n_final = DeliveryRecord(&ws, ws.n_done, &n_recorded, ws.final_ids);
	if (retention)
		DeliveryRetention(&ws, now);
	if (want)
	{
		bool		isnull;
		Datum		min_at;

		(void) DeliveryClaim(&ws, nfree);
		ws.freed_full_host = false;
		/* not read-only: it must see this transaction's retries */
		if (SPI_execute_plan(ws.due_plan, NULL, NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "pg_http worker: could not read http.queue");
		min_at = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		ws.next_due = isnull ? 0 : DatumGetTimestampTz(min_at);
	}
	cycle_end();

	for (int i = 0; i < n_recorded; i++)
		DeliveryFree(&ws, ws.done[i]);
	ws.n_done -= n_recorded;
	memmove(ws.done, ws.done + n_recorded, sizeof(Delivery *) * ws.n_done);
	HttpQueueNotifyAwaiters(ws.final_ids, n_final);
	if (ws.wake_callbacks)
		HttpQueueWakeCallbacks(MyDatabaseId);
}

/*
 * An orderly stop: record what finished, put what is in flight back in the
 * queue, and exit (with 1, so that a worker stopped by
 * pg_terminate_backend() is started again; at shutdown nothing restarts).
 */
static void
worker_stop(void)
{
	int			n_final = 0;
	int			n_recorded;

	cycle_begin("pg_http: stopping");
	DeliveryPreparePlans(&ws);
	/* what finished is recorded (large ones a few at a time), then it goes */
	while (ws.n_done > 0)
	{
		n_final += DeliveryRecord(&ws, ws.n_done, &n_recorded, ws.final_ids + n_final);
		ws.n_done -= n_recorded;
		memmove(ws.done, ws.done + n_recorded, sizeof(Delivery *) * ws.n_done);
	}
	DeliveryRequeueInflight(&ws);
	cycle_end();
	HttpQueueNotifyAwaiters(ws.final_ids, n_final);
	ereport(LOG,
			(errmsg("pg_http worker %d for database \"%s\" stopping; %d requests in flight queued again",
					ws.slot - ws.db_first_slot, MyBgworkerEntry->bgw_extra, ws.n_inflight)));
	proc_exit(1);
}

/*
 * Take back what this slot's previous worker was sending when it died.  If
 * requests it had in flight were in flight at an earlier death too, this
 * is a worker that keeps dying: wait (longer each time) before sending
 * again, and say so, rather than restart in a storm.
 */
static void
worker_recover(void)
{
	int			worst;

	cycle_begin("pg_http: recovering interrupted deliveries");
	worst = DeliveryRecover(&ws);
	cycle_end();
	if (ws.wake_callbacks)
		HttpQueueWakeCallbacks(MyDatabaseId);
	if (worst >= 2)
	{
		long		ms = Min((long) 5000 << Min(worst - 2, 10), MAX_CRASH_BACKOFF_MS);

		ereport(LOG,
				(errmsg("pg_http worker %d for database \"%s\" stopped abnormally %d times in a row with the same requests in flight; waiting %ld ms before sending again",
						ws.slot - ws.db_first_slot, MyBgworkerEntry->bgw_extra, worst, ms)));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * Wait until CREATE EXTENSION pg_http has run in this database (the
 * callback worker too).  Exits on SIGTERM; reloads the configuration.
 */
void
HttpWorkerWaitForExtension(void)
{
	for (;;)
	{
		bool		ready;

		CHECK_FOR_INTERRUPTS();
		if (stop_requested)
			proc_exit(1);
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			HttpAdoptPgNetSettings();
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

/*
 * Keep as many idle connections as requests may be in flight: a worker
 * talks to the same hosts over and over.
 */
static void
worker_pool_size(void)
{
	HttpSettingsSetPoolMin(http_worker_max_inflight);
}

/* How long the loop may sleep (-1: until something happens). */
static long
worker_sleep_ms(void)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz until = ws.next_due;
	long		secs;
	int			usecs;

	if (ws.n_done > 0 || (ws.n_inflight < http_worker_max_inflight &&
						  (ws.freed_full_host || (ws.more_work && now >= ws.claim_not_before))))
		return 0;

	/*
	 * Due but not claimed: held back by the shares (a finish wakes us) or by
	 * another worker's locks on the rows this one looked at (look again
	 * soon).
	 */
	if (until != 0 && until <= now)
		until = TimestampTzPlusMilliseconds(now, http_workers > 1 ? 20 : 1000);
	if (ws.more_work && ws.claim_not_before > now &&
		(until == 0 || ws.claim_not_before < until))
		until = ws.claim_not_before;
	/* a host held back by its controls may go again then */
	if (ws.host_wake_at != 0 && (until == 0 || ws.host_wake_at < until))
		until = Max(ws.host_wake_at, now);
	if (ws.slot == ws.db_first_slot && http_queue_retention_s > 0 &&
		(until == 0 || ws.next_retention < until))
		until = ws.next_retention;
	if (until == 0)
		return -1;
	TimestampDifference(now, until, &secs, &usecs);
	return secs * 1000 + (usecs + 999) / 1000;
}

/* Entry point of a delivery worker (bgw_main_arg: its slot). */
void
pg_http_worker_main(Datum arg)
{
	HASHCTL		hctl;

	memset(&ws, 0, sizeof(ws));
	ws.slot = DatumGetInt32(arg);
	ws.db_first_slot = ws.slot - ws.slot % Max(http_workers, 1);
	ws.more_work = true;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	/* nothing here is a statement to cancel: a stray cancel must not kill it */
	pqsignal(SIGINT, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(MyBgworkerEntry->bgw_extra, NULL, 0);
	pgstat_report_appname("pg_http worker");
	HttpQueueAttach(ws.slot);

	worker_pool_size();
	/* a claim must be durable before its request leaves */
	SetConfigOption("synchronous_commit", "on", PGC_SUSET, PGC_S_OVERRIDE);
	/* its SQL runs as a superuser: no role's functions may stand in for built-ins */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	ws.cxt = AllocSetContextCreate(TopMemoryContext, "pg_http worker", ALLOCSET_DEFAULT_SIZES);
	ws.max_slots = 256;
	ws.inflight = MemoryContextAlloc(ws.cxt, sizeof(Delivery *) * ws.max_slots);
	ws.done = MemoryContextAlloc(ws.cxt, sizeof(Delivery *) * ws.max_slots * 2);
	ws.final_ids = MemoryContextAlloc(ws.cxt, sizeof(int64) * ws.max_slots * 2);
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = HOST_KEY_LEN;
	hctl.entrysize = sizeof(ShareCount);
	hctl.hcxt = ws.cxt;
	ws.hosts = hash_create("pg_http worker hosts", 64, &hctl,
						   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	ws.owners = hash_create("pg_http worker owners", 16, &hctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	HttpWorkerWaitForExtension();
	worker_recover();
	ereport(LOG, (errmsg("pg_http worker %d started for database \"%s\"",
						 ws.slot - ws.db_first_slot, MyBgworkerEntry->bgw_extra)));

	/*
	 * The claims never put more than pg_http.worker_max_inflight in flight,
	 * so the session may run all it holds.
	 */
	{
		MemoryContext old = MemoryContextSwitchTo(ws.cxt);

		ws.engine = HttpEngineBegin(ws.max_slots);
		MemoryContextSwitchTo(old);
	}

	for (;;)
	{
		bool		woken = false;
		HttpExchange *x;

		CHECK_FOR_INTERRUPTS();
		if (stop_requested)
			worker_stop();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			HttpAdoptPgNetSettings();
			HttpSettingsBaseStale();
			ws.next_retention = 0;	/* a new retention applies now */
			worker_pool_size();
		}

		cycle();

		/* wait for the first to finish, then take what else finished */
		x = HttpEngineNext(ws.engine, worker_sleep_ms(), &woken);
		if (woken)
			ws.more_work = true;
		for (; x != NULL; x = HttpEngineNext(ws.engine, 0, NULL))
		{
			DeliveryFinished(&ws, x);
			ws.more_work = true;	/* room for more, and perhaps for a capped host */
		}
	}
}
