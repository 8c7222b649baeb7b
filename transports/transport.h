/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  The vtable every transport fills, and what the engine offers it.
 *
 * Exactly one transport is compiled in (meson -Dtransport=...); it defines
 * the symbol HttpTransportImpl.  Transports never block and never sleep:
 * they say which sockets they wait for through HttpEngineWatch (and, if they
 * keep timers of their own, HttpEngineSetTimer), and the engine, the only
 * place that waits, calls them back when something is ready.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_TRANSPORT_H
#define PG_HTTP_TRANSPORT_H

#include "pg_http.h"

/* Capability bits. */
#define HTTP_FEATURE_TLS		0x0001	/* https */
#define HTTP_FEATURE_HTTP2		0x0002	/* HTTP/2 over ALPN */
#define HTTP_FEATURE_PROXY		0x0004	/* pg_http.proxy */
#define HTTP_FEATURE_DECOMPRESS 0x0008	/* gzip/deflate response decoding */

/* Readiness bits passed to socket_ready and HttpEngineWatch. */
#define HTTP_WATCH_READ			0x01
#define HTTP_WATCH_WRITE		0x02

typedef struct HttpTransport
{
	const char *name;			/* "curl", "mbedtls", "mock" */
	uint32		features;		/* HTTP_FEATURE_* */

	/* Begin x.  Never blocks.  May finish x at once (HttpExchangeFail). */
	void		(*start) (HttpExchange *x);

	/* A watched socket is ready; arg is what was given to HttpEngineWatch. */
	void		(*socket_ready) (void *arg, pgsocket sock, uint32 ready);

	/* The timer set with HttpEngineSetTimer expired (may be NULL). */
	void		(*timer_fired) (void);

	/*
	 * x is over: finished, failed, timed out or abandoned by an error.  Free
	 * every non-palloc resource x still holds; a connection still attached
	 * to x is closed, never pooled.  Must not throw; may run in any state.
	 */
	void		(*release) (HttpExchange *x);

	/* Close idle pooled connections: all, or those idle past their limit. */
	void		(*prune) (bool all);
} HttpTransport;

extern const HttpTransport HttpTransportImpl;

/*
 * Engine services for transports (engine.c).
 */

/*
 * Watch sock for ready (HTTP_WATCH_* bits); 0 stops watching it.  Never
 * throws; false if the socket could not be watched.  Changing only arg
 * costs no system call, so a transport may keep an idle socket watched
 * (with its own marker as arg) between exchanges.
 */
extern bool HttpEngineWatch(pgsocket sock, uint32 events, void *arg);

/*
 * Keep sock registered as it is, but with arg NULL: the transport no longer
 * waits on it, and will deregister it if it fires (socket_ready with arg
 * NULL).  Saves the remove-and-add pair when the socket is used again.
 */
extern void HttpEngineIdle(pgsocket sock);

/*
 * Forget sock without a system call: for a socket about to be closed, which
 * removes it from epoll anyway.
 */
extern void HttpEngineForget(pgsocket sock);

/* Call timer_fired after ms milliseconds; -1 cancels the timer. */
extern void HttpEngineSetTimer(long ms);

/* Account a socket against the backend's descriptor budget, or fail x. */
extern bool HttpEngineAcquireSocket(HttpExchange *x);

/* Give back what HttpEngineAcquireSocket took. */
extern void HttpEngineReleaseSocket(void);

#endif							/* PG_HTTP_TRANSPORT_H */
