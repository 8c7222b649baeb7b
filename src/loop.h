/*-------------------------------------------------------------------------
 *
 * loop.h
 *	  The event loop under the engine: one wait for the latch, postmaster
 *	  death and every socket pg_http watches, and who is called back.
 *
 * A watch carries its callback and argument, so the loop knows nothing of
 * who registered it: the resolver's completion pipe, a transport's sockets
 * and an idle pooled connection are all just watches.  Only the engine
 * waits (HttpLoopWait); transports and the resolver register what they
 * wait for and are called back, never block, never sleep.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_LOOP_H
#define PG_HTTP_LOOP_H

#include "pg_http.h"

/* Readiness bits of a watch. */
#define HTTP_WATCH_READ			0x01
#define HTTP_WATCH_WRITE		0x02

/* Called when a watched socket is ready (ready: HTTP_WATCH_* bits). */
typedef void (*HttpWatchFn) (void *arg, pgsocket sock, uint32 ready);

extern void HttpLoopInit(void);
extern bool HttpLoopWatch(pgsocket sock, uint32 events, HttpWatchFn fn, void *arg);
extern void HttpLoopIdle(pgsocket sock, HttpWatchFn fn);
extern void HttpLoopForget(pgsocket sock);
extern void HttpLoopSetTimer(long ms, void (*fn) (void));
extern bool HttpLoopAcquireSocket(HttpExchange *x);
extern void HttpLoopReleaseSocket(void);
extern bool HttpLoopWait(long timeout_ms);
extern TimestampTz HttpLoopTimer(void);

#endif							/* PG_HTTP_LOOP_H */
