/*-------------------------------------------------------------------------
 *
 * queue.h
 *	  Shared state of the outbox: delivery worker slots and awaiting procs.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_QUEUE_H
#define PG_HTTP_QUEUE_H

#include "nodes/pg_list.h"
#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/spin.h"

/* One worker (delivery or callback), as the backends that wake it see it. */
typedef struct HttpWorkerSlot
{
	Oid			dboid;			/* database it serves (InvalidOid: not running) */
	int			pid;
	Latch	   *latch;			/* set to wake it */
} HttpWorkerSlot;

/*
 * Slots [0, nslots) are the delivery workers' (pg_http.workers per
 * database), [nslots, nslots + ncallback) the callback workers' (one per
 * database).
 */
typedef struct HttpQueueShared
{
	slock_t		mutex;			/* protects slots */
	int			nslots;
	int			ncallback;
	int			nawait;
	pg_atomic_uint64 *awaiting; /* per PGPROC number: id awaited, or 0 */
	HttpWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} HttpQueueShared;

/* NULL unless pg_http was loaded by shared_preload_libraries. */
extern HttpQueueShared *HttpQueue;

extern void HttpQueueInit(void);
extern List *HttpQueueDatabases(void);
extern void HttpQueueWake(Oid dboid);
extern void HttpQueueWakeCallbacks(Oid dboid);
extern void HttpQueueAttach(int slot);
extern void HttpQueueNotifyAwaiters(int64 *ids, int n);
extern int	HttpQueueIdCompare(const void *a, const void *b);	/* qsort order of ids */
extern char *HttpQueueHostKey(const HttpRequest *req);

#endif							/* PG_HTTP_QUEUE_H */
