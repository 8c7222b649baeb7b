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

/*
 * The completion descriptor (readable when a resolution finished), made on
 * first call; -1 with errno if it could not be.  It is never closed.
 */
extern int	HttpResolveFd(void);

/*
 * Start resolving host (for TCP) on behalf of owner, counted as tenant's
 * (0: no tenant; a delivery worker passes the role that queued the
 * request).  Returns NULL with errno set if no thread could be started,
 * EAGAIN when HTTP_RESOLVE_MAX_PENDING resolutions are already outstanding,
 * or EDQUOT when tenant holds its share of them (abandoned ones count until
 * they return).
 */
extern HttpResolver *HttpResolveStart(const char *host, void *owner, unsigned int tenant);

/* The next finished resolution, or NULL when none is waiting. */
extern HttpResolver *HttpResolveNextDone(void);

/* Who asked for it: NULL once abandoned. */
extern void *HttpResolveOwner(HttpResolver *r);

/*
 * Take the answer of a finished resolution: getaddrinfo's result code, and
 * the list in *res (for freeaddrinfo).  Frees the resolver.
 */
extern int	HttpResolveTake(HttpResolver *r, struct addrinfo **res);

/* Give up on a resolution; it is freed once it finishes. */
extern void HttpResolveAbandon(HttpResolver *r);

/* Resolutions started and not yet collected. */
extern int	HttpResolvePending(void);

#endif							/* PG_HTTP_RESOLVE_H */
