/*-------------------------------------------------------------------------
 *
 * exchange.h
 *	  How an exchange ends: failures, worded once, and outcomes.
 *
 * This layer sits below everything that can fail an exchange (the policy,
 * the resolver, redirects, the transports, the engine), so none of them
 * depends on the wait loop.  An HttpFailure is a failure not yet attached
 * to anything: the checks that run both before a request is made (raised
 * as an ERROR) and inside the engine (failing an exchange) word it once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_EXCHANGE_H
#define PG_HTTP_EXCHANGE_H

#include "pg_http.h"

/* A failure, worded: SQLSTATE, message, detail and hint (NULL: none). */
typedef struct HttpFailure
{
	int			sqlstate;
	char	   *msg;
	char	   *detail;
	const char *hint;
} HttpFailure;

/* exchange.c */
extern void HttpExchangeFail(HttpExchange *x, int sqlstate, const char *msg,
							 const char *detail_fmt,...) pg_attribute_printf(4, 5);
extern void HttpExchangeFailWith(HttpExchange *x, const HttpFailure *f);
extern void HttpExchangeSetHint(HttpExchange *x, const char *hint);
extern void HttpExchangeDone(HttpExchange *x);
extern void HttpExchangeAbsorbError(HttpExchange *x, MemoryContext cxt);
extern bool HttpExchangeSucceeded(const HttpExchange *x);
extern bool HttpExchangeSinks(const HttpExchange *x, int status);
pg_noreturn extern void HttpExchangeRaise(const HttpExchange *x);
pg_noreturn extern void HttpFailureRaise(const HttpFailure *f, bool hide_statement);
extern char *HttpLineBufferGet(int size);
extern void HttpLineBufferPut(char *buf, int size);

/* errors.c: failures every transport words the same way */
typedef enum HttpTlsFailure
{
	HTTP_TLS_UNTRUSTED,
	HTTP_TLS_EXPIRED,
	HTTP_TLS_WRONG_NAME
} HttpTlsFailure;

extern void HttpFailResolve(HttpExchange *x, const char *why);
extern void HttpFailConnect(HttpExchange *x, const char *address, const char *why);
extern void HttpFailSend(HttpExchange *x, const char *why);
extern void HttpFailRecv(HttpExchange *x, const char *why);
extern void HttpFailNoResponse(HttpExchange *x);
extern void HttpFailConnectTimeout(HttpExchange *x);
extern void HttpFailTimedOut(HttpExchange *x);
extern void HttpFailResendRefused(HttpExchange *x);
extern void HttpFailTruncated(HttpExchange *x);
extern void HttpFailProtocol(HttpExchange *x, const char *what);
extern void HttpFailTooLarge(HttpExchange *x);
extern void HttpFailHeaderLimit(HttpExchange *x, int http1_error);
extern bool HttpIsHeaderLimit(int http1_error);
extern void HttpFailNoDescriptors(HttpExchange *x);
extern void HttpFailTlsVerify(HttpExchange *x, HttpTlsFailure why);
extern void HttpFailTlsHandshake(HttpExchange *x, const char *why);
extern void HttpFailTlsSetup(HttpExchange *x, const char *why);

#endif							/* PG_HTTP_EXCHANGE_H */
