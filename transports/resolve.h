/*-------------------------------------------------------------------------
 *
 * resolve.h
 *	  Host name resolution that never blocks the backend.
 *
 * getaddrinfo() can block for as long as the system resolver likes, which
 * would make a statement deaf to cancels and timeouts.  It runs instead in a
 * short-lived helper thread that has every signal blocked and touches no
 * PostgreSQL state; the backend waits on a descriptor like on any socket and
 * may walk away at any time.  Numeric hosts never get here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_RESOLVE_H
#define PG_HTTP_RESOLVE_H

#include <netdb.h>

typedef struct HttpResolver HttpResolver;

/*
 * Start resolving host (for TCP).  On success *fd becomes readable once the
 * answer is in.  Returns NULL with errno set if no thread could be started.
 */
extern HttpResolver *HttpResolveStart(const char *host, int *fd);

/*
 * Take the answer (only after *fd became readable): returns getaddrinfo's
 * result code and the list in *res (for freeaddrinfo).  Closes *fd and
 * frees the resolver.
 */
extern int	HttpResolveFinish(HttpResolver *r, struct addrinfo **res);

/* Give up waiting: closes *fd; the thread frees the rest when it ends. */
extern void HttpResolveAbandon(HttpResolver *r);

#endif							/* PG_HTTP_RESOLVE_H */
