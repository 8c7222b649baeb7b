/*-------------------------------------------------------------------------
 *
 * hostctl.h
 *	  Per-host controls: rate limits, concurrency caps, pauses and the
 *	  circuit breaker, shared by the delivery workers and (preloaded) by
 *	  every backend's synchronous calls.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_HOSTCTL_H
#define PG_HTTP_HOSTCTL_H

#include "pg_http.h"
#include "netaddr.h"

/* Longest host key, "host:port" or "[v6]:port", with its NUL. */
#define HTTP_HOST_KEY_LEN 300

/* What HttpHostAdmit says. */
typedef enum HttpAdmit
{
	HTTP_ADMIT_OK,				/* go: a token taken, counted in flight */
	HTTP_ADMIT_WAIT,			/* not yet: try again at *retry_at (0: soon) */
	HTTP_ADMIT_PAUSED,			/* http.pause() covers it */
	HTTP_ADMIT_OPEN				/* its circuit breaker is open until *retry_at */
} HttpAdmit;

extern Size HttpHostCtlShmemSize(void);
extern void HttpHostCtlShmemInit(void);
extern void HttpHostKey(const HttpRequest *req, char *key);
extern bool HttpHostKeyMatches(const HttpHostRule *r, const char *key);
extern void HttpHostCtlLoad(void);
extern bool HttpHostCtlActive(void);
extern HttpAdmit HttpHostAdmit(const char *key, TimestampTz *retry_at, bool *counted);
extern void HttpHostRelease(const char *key);
extern void HttpHostOutcome(const char *key, const HttpExchange *x);
extern const char *HttpAdmitWhy(HttpAdmit a);

/* A host's state, as http.host_states shows it. */
typedef struct HttpHostState
{
	char		key[HTTP_HOST_KEY_LEN];
	double		rps;			/* its limit (0: none) */
	int			burst;
	int			max_conc;
	bool		paused;
	double		tokens;			/* now (-1: never used) */
	TimestampTz refilled;
	int			inflight;
	TimestampTz blocked_until;	/* 0: not held back by a Retry-After */
	int			fails;
	const char *breaker;		/* "closed", "open", "half-open" */
	TimestampTz open_until;
} HttpHostState;

extern int	HttpHostCtlStates(HttpHostState **out);

#endif							/* PG_HTTP_HOSTCTL_H */
