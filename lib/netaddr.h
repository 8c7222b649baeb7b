/*-------------------------------------------------------------------------
 *
 * netaddr.h
 *	  Address classification and host rules for the policy.
 *
 * PostgreSQL-free, no allocation: unit-tested and fuzzed without a network,
 * which is how the refusal of non-loopback ranges is tested at all (a test
 * must never be able to send a packet to them).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_NETADDR_H
#define PG_HTTP_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct HttpAddr
{
	int			family;			/* 4 or 6 */
	unsigned char a[16];
} HttpAddr;

typedef enum HttpRuleKind
{
	HTTP_RULE_ANY,				/* "*": any host (never unlocks a reserved address) */
	HTTP_RULE_NAME,				/* exact host name */
	HTTP_RULE_SUFFIX,			/* "*.domain": any name below domain */
	HTTP_RULE_NET				/* address or CIDR range */
} HttpRuleKind;

typedef struct HttpHostRule
{
	HttpRuleKind kind;
	char		name[256];		/* NAME / SUFFIX: lower case, no trailing dot */
	HttpAddr	net;			/* NET */
	int			prefix;			/* NET: prefix length */
	int			port_lo;		/* ports covered, inclusive */
	int			port_hi;
} HttpHostRule;

/* A parsed rule list (a setting's or a snapshot's). */
typedef struct HttpRuleList
{
	int			n;
	HttpHostRule rules[];
} HttpRuleList;
extern bool HttpAddrFromSockaddr(const struct sockaddr *sa, HttpAddr *out, int *port);
extern const char *HttpAddrReserved(const HttpAddr *a);
extern void HttpAddrText(const HttpAddr *a, char *buf, size_t len);
extern void HttpSockaddrText(const struct sockaddr *sa, char *buf, size_t len);
extern int	HttpHostRulesParse(const char *s, HttpHostRule *rules, int max,
							   const char **err, size_t *errpos);
extern bool HttpHostRuleMatchName(const HttpHostRule *r, const char *host, int port);
extern bool HttpHostRuleMatchAddr(const HttpHostRule *r, const HttpAddr *a, int port);

#endif							/* PG_HTTP_NETADDR_H */
