/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  Running exchanges: one session API for every caller.
 *
 * A synchronous call, a batch and a delivery worker all do the same: begin
 * a session (with how many exchanges may run at once), add exchanges, take
 * them back one by one as they finish, end it.  Nobody outside engine.c
 * starts, releases or follows redirects of an exchange.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_ENGINE_H
#define PG_HTTP_ENGINE_H

#include "pg_http.h"

typedef struct HttpEngine HttpEngine;

extern HttpEngine *HttpEngineBegin(int max_active);
extern void HttpEngineAdd(HttpEngine *e, HttpExchange *x);
extern HttpExchange *HttpEngineNext(HttpEngine *e, long max_ms, bool *woken);
extern int	HttpEngineCount(const HttpEngine *e);
extern void HttpEngineEnd(HttpEngine *e);
extern void HttpEngineYield(HttpEngine *e);
extern void HttpEngineHold(HttpExchange *x, bool held);
extern void HttpEngineRunAll(HttpExchange **xs, int n, int max_active);

#endif							/* PG_HTTP_ENGINE_H */
