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

/* One delivery worker, as the backends that wake it see it. */
typedef struct HttpWorkerSlot
{
	Oid			dboid;			/* database it serves (InvalidOid: not running) */
	int			pid;
	Latch	   *latch;			/* set to wake it */
} HttpWorkerSlot;

typedef struct HttpQueueShared
{
	slock_t		mutex;			/* protects slots */
	int			nslots;
	int			nawait;
	pg_atomic_uint64 *awaiting; /* per PGPROC number: id awaited, or 0 */
	HttpWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} HttpQueueShared;

/* NULL unless pg_http was loaded by shared_preload_libraries. */
extern HttpQueueShared *HttpQueue;

extern void HttpQueueInit(void);
extern List *HttpQueueDatabases(void);
extern void HttpQueueWake(Oid dboid);
extern void HttpQueueNotifyAwaiters(int64 *ids, int n);
extern int	HttpQueueIdCompare(const void *a, const void *b);	/* qsort order of ids */
extern Oid	HttpResponseTypeOid(void);
extern char *HttpQueueHostKey(const HttpRequest *req);

/* api.c: the http.response row of a finished exchange (NULL on decode failure) */
extern HeapTupleHeader HttpResponseRow(HttpExchange *x, TupleDesc td);

#endif							/* PG_HTTP_QUEUE_H */
