/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  The vtable every transport fills.
 *
 * Exactly one transport is compiled in (meson -Dtransport=...); it defines
 * HttpTransportImpl and HttpTransportAbout (its name and features).
 * Transports never block and never sleep: they register the sockets they
 * wait for, each with the function to call back, with the loop (loop.h),
 * and the engine, the only place that waits, runs the loop.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_TRANSPORT_H
#define PG_HTTP_TRANSPORT_H

#include "pg_http.h"
#include "loop.h"

typedef struct HttpTransport
{
	/* Begin x.  Never blocks.  May finish x at once (HttpExchangeFail). */
	void		(*start) (HttpExchange *x);

	/*
	 * x is over: finished, failed, timed out or abandoned by an error.  Free
	 * every non-palloc resource x still holds; a connection still attached
	 * to x is closed, never pooled.  Must not throw; may run in any state.
	 */
	void		(*release) (HttpExchange *x);

	/*
	 * Close idle pooled connections: all, or those idle past their limit
	 * (and all when pg_http.keepalive is off).  Must not throw.
	 */
	void		(*prune) (bool all);

	/*
	 * x's sink takes its body again (HttpExchange.sink_held went false):
	 * read on, delivering first what was held back.  Must not throw (an
	 * error fails x).
	 */
	void		(*resume) (HttpExchange *x);
} HttpTransport;

extern PGDLLIMPORT const HttpTransport HttpTransportImpl;

#endif							/* PG_HTTP_TRANSPORT_H */
