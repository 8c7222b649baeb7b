/*-------------------------------------------------------------------------
 *
 * dns.h
 *	  Host name resolution for every transport, judged by the policy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_DNS_H
#define PG_HTTP_DNS_H

#include "pg_http.h"

struct addrinfo;

/* Called with getaddrinfo's result code and list (freed after the call). */
typedef void (*HttpDnsCallback) (HttpExchange *x, int rc, struct addrinfo *res);

extern bool HttpDnsStart(HttpExchange *x, HttpDnsCallback done);
extern void HttpDnsAbandon(HttpExchange *x);
extern bool HttpDnsResolveNow(HttpExchange *x, HttpDnsCallback done, long timeout_ms);
extern bool HttpDnsAddress(const struct addrinfo *ai, int port, struct sockaddr_storage *ss);
extern int	HttpDnsFilter(HttpExchange *x, struct addrinfo *res, int port,
						  void (*add) (HttpExchange *x, const struct sockaddr *sa, socklen_t len, void *arg),
						  void *arg, int max);

#endif							/* PG_HTTP_DNS_H */
