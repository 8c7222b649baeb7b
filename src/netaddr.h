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

/* Convert a socket address; false if it is neither IPv4 nor IPv6. */
extern bool HttpAddrFromSockaddr(const struct sockaddr *sa, HttpAddr *out, int *port);

/*
 * NULL for an ordinary public unicast address; otherwise a description of
 * the reserved range it falls in, e.g. "loopback (127.0.0.0/8)".  IPv4
 * embedded in IPv6 (mapped, NAT64, 6to4, compatible) is judged by the
 * embedded IPv4 address.
 */
extern const char *HttpAddrReserved(const HttpAddr *a);

/* Text form of an address into buf (INET6_ADDRSTRLEN is enough). */
extern void HttpAddrText(const HttpAddr *a, char *buf, size_t len);

/*
 * Parse a comma-separated rule list.  Returns the number of rules (up to
 * max are stored; call with max 0 to count), or -1 with *err and *errpos
 * describing the first bad entry.
 */
extern int	HttpHostRulesParse(const char *s, HttpHostRule *rules, int max,
							   const char **err, size_t *errpos);

/* Does the rule cover this host name (lower case, no trailing dot)? */
extern bool HttpHostRuleMatchName(const HttpHostRule *r, const char *host, int port);

/* Does the rule cover this address?  ANY rules never do. */
extern bool HttpHostRuleMatchAddr(const HttpHostRule *r, const HttpAddr *a, int port);

#endif							/* PG_HTTP_NETADDR_H */
