/*-------------------------------------------------------------------------
 *
 * resolve.h
 *	  Host name resolution that never blocks the backend.
 *
 * getaddrinfo() can block for as long as the system resolver likes, which
 * would make a statement deaf to cancels and timeouts.  It runs instead in a
 * short-lived helper thread that has every signal blocked and touches no
 * PostgreSQL state.  Finished resolutions are announced on one completion
 * descriptor per backend, which the backend watches like any socket; it may
 * walk away from a resolution at any time, and an abandoned one holds no
 * descriptor while its thread finishes.  Numeric hosts never get here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_RESOLVE_H
#define PG_HTTP_RESOLVE_H

#include <netdb.h>

/* Most resolutions (abandoned ones included) outstanding at once. */
#define HTTP_RESOLVE_MAX_PENDING 64

typedef struct HttpResolver HttpResolver;
extern int	HttpResolveFd(void);
extern HttpResolver *HttpResolveStart(const char *host, void *owner, unsigned int tenant);
extern HttpResolver *HttpResolveNextDone(void);
extern void *HttpResolveOwner(HttpResolver *r);
extern int	HttpResolveTake(HttpResolver *r, struct addrinfo **res);
extern void HttpResolveAbandon(HttpResolver *r);
extern int	HttpResolvePending(void);

#endif							/* PG_HTTP_RESOLVE_H */
