/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The delivery worker's state, shared by its loop (worker.c), its
 *	  claims (claim.c) and its outcomes (delivery.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_WORKER_H
#define PG_HTTP_WORKER_H

#include "pg_http.h"

#include "executor/spi.h"
#include "utils/hsearch.h"

/* A host key: "host:port", IPv6 in brackets. */
#define HOST_KEY_LEN 300

/* One queued request this worker holds. */
typedef struct Delivery
{
	HttpExchange x;				/* first: the engine hands back &x; x.cxt
								 * holds everything of this delivery */
	int64		id;
	Oid			owner;
	int			attempts;		/* including this one */
	int			max_attempts;
	int			backoff_ms;
	int			backoff_max_ms;
	bool		retry_4xx;
	bool		has_callback;
	char		host[HOST_KEY_LEN];
	bool		counted;		/* counted in its host's and owner's shares */
	/* the outcome, once recorded */
	bool		final;			/* delivered or failed, not retried */
	TimestampTz retry_at;		/* not final: when it is due again */
	bool		recorded;		/* its row took the outcome */
} Delivery;

/* Requests in flight to one host:port, or of one owner. */
typedef struct ShareCount
{
	char		key[HOST_KEY_LEN];	/* host key, or the owner's oid as text */
	int			n;
} ShareCount;

/* Everything a delivery worker keeps between cycles. */
typedef struct WorkerState
{
	int			slot;			/* in HttpQueue->slots */
	int			db_first_slot;	/* this database's slots: [first, first + workers) */
	MemoryContext cxt;			/* lives as long as the worker */
	struct HttpEngine *engine;	/* the session every delivery runs in */

	Delivery  **inflight;		/* claimed, in the engine's session */
	int			n_inflight;
	Delivery  **done;			/* outcome known, not yet recorded */
	int			n_done;
	int64	   *final_ids;		/* ids whose outcome the last cycle made final */
	int			max_slots;		/* capacity of the arrays above */

	HTAB	   *hosts;			/* ShareCount per host key */
	HTAB	   *owners;			/* ShareCount per owner */

	TimestampTz next_due;		/* 0: nothing queued for later */
	bool		more_work;		/* the queue may hold due requests */
	bool		freed_full_host;	/* a host at its share has room again */
	TimestampTz claim_not_before;	/* after a claim that scanned past full
									 * hosts' rows: not again at once */
	int			n_full_hosts;	/* in the last claim's exclusion list */
	struct
	{
		char		key[HOST_KEY_LEN];
		TimestampTz until;
	}			blocked[64];	/* hosts their controls hold back: not
								 * claimed from until then */
	int			n_blocked;
	int			blocks_noted;	/* counts the times a host was held back */
	TimestampTz host_wake_at;	/* the first of those times (0: none) */
	TimestampTz next_retention;
	bool		wake_callbacks; /* the last cycle left callbacks to run */
	Oid			enqueue_fn;		/* http.enqueue(jsonb): who may queue may send */

	SPIPlanPtr	owners_plan,
				candidates_plan,
				take_plan,
				record_plan,
				due_plan,
				retention_plan;
} WorkerState;

/* claim.c */
extern int	DeliveryClaim(WorkerState *ws, int nfree);
extern void DeliveryFinished(WorkerState *ws, HttpExchange *x);
extern void DeliveryFree(WorkerState *ws, Delivery *d);

/* delivery.c */
extern void DeliveryPreparePlans(WorkerState *ws);
extern int	DeliveryRecord(WorkerState *ws, int n, int *recorded, int64 *final_ids);
extern void DeliveryRetention(WorkerState *ws, TimestampTz now);
extern int	DeliveryRecover(WorkerState *ws);
extern void DeliveryRequeueInflight(WorkerState *ws);

/* worker.c: wait until CREATE EXTENSION pg_http has run in this database */
extern void HttpWorkerWaitForExtension(void);

#endif							/* PG_HTTP_WORKER_H */
