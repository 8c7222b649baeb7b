/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Who may call what: host allow and deny lists, the address guard.
 *
 * Two checks, both before a byte is sent:
 *
 * 1. HttpPolicyCheckRequest, on the request as written: the host (name or
 *    numeric address) and port against pg_http.denied_hosts, then
 *    pg_http.allowed_hosts.
 * 2. HttpPolicyCheckAddress, by the transport on every address it is about
 *    to connect to (after resolution, so a name cannot smuggle a private
 *    address past check 1, and the connection goes to the address judged
 *    here): denied ranges, then the reserved-range guard, which only an
 *    address or CIDR entry of pg_http.allowed_hosts can open.
 *
 * The rule lists are parsed once, in the settings' check hooks.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "netaddr.h"

#include <arpa/inet.h>

#include "utils/guc.h"

/* A parsed rule list, kept as the setting's "extra" (malloc'd by guc). */
typedef struct HostRules
{
	int			n;
	HttpHostRule rules[FLEXIBLE_ARRAY_MEMBER];
} HostRules;

static HostRules *allowed_rules = NULL;
static HostRules *denied_rules = NULL;

/* Parse a rule list for a check hook; false with a GUC error on bad input. */
static bool
rules_check(char **newval, void **extra)
{
	const char *err = NULL;
	size_t		errpos = 0;
	int			n = HttpHostRulesParse(*newval, NULL, 0, &err, &errpos);
	HostRules  *r;

	if (n < 0)
	{
		size_t		len = strcspn(*newval + errpos, ",");

		GUC_check_errdetail("Entry \"%.*s\": %s.", (int) len, *newval + errpos, err);
		return false;
	}
	/* guc frees "extra" with free(): it must come from malloc */
	r = malloc(offsetof(HostRules, rules) + sizeof(HttpHostRule) * Max(n, 1));
	if (r == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	r->n = HttpHostRulesParse(*newval, r->rules, n, &err, &errpos);
	*extra = r;
	return true;
}

/* GUC check hook for pg_http.allowed_hosts. */
bool
HttpAllowedHostsCheck(char **newval, void **extra, GucSource source)
{
	return rules_check(newval, extra);
}

/* GUC assign hook for pg_http.allowed_hosts. */
void
HttpAllowedHostsAssign(const char *newval, void *extra)
{
	allowed_rules = extra;
}

/* GUC check hook for pg_http.denied_hosts. */
bool
HttpDeniedHostsCheck(char **newval, void **extra, GucSource source)
{
	return rules_check(newval, extra);
}

/* GUC assign hook for pg_http.denied_hosts. */
void
HttpDeniedHostsAssign(const char *newval, void *extra)
{
	denied_rules = extra;
}

/* The request's host as an address, if it is numeric. */
static bool
request_addr(const HttpRequest *req, HttpAddr *a)
{
	if (req->host_kind == HTTP_HOST_NAME)
		return false;
	a->family = req->host_kind == HTTP_HOST_IPV4 ? 4 : 6;
	memcpy(a->a, req->addr, 16);
	return true;
}

/*
 * Does any rule of the list cover the request's host and port?  A numeric
 * host is matched by address rules (and "*"), a name by name rules.
 */
static bool
rules_cover_request(const HostRules *r, const HttpRequest *req)
{
	HttpAddr	a;
	bool		numeric = request_addr(req, &a);

	for (int i = 0; r != NULL && i < r->n; i++)
	{
		const HttpHostRule *rule = &r->rules[i];

		if (numeric && rule->kind != HTTP_RULE_ANY ?
			HttpHostRuleMatchAddr(rule, &a, req->port) :
			HttpHostRuleMatchName(rule, req->host, req->port))
			return true;
	}
	return false;
}

/* Does any address rule of the list cover this address and port? */
static bool
rules_cover_addr(const HostRules *r, const HttpAddr *a, int port)
{
	for (int i = 0; r != NULL && i < r->n; i++)
		if (HttpHostRuleMatchAddr(&r->rules[i], a, port))
			return true;
	return false;
}

/* Why a request was refused by the host lists, if it was. */
typedef enum RequestVerdict
{
	REQUEST_ALLOWED,
	REQUEST_DENIED,				/* by pg_http.denied_hosts */
	REQUEST_NOT_ALLOWED			/* not in pg_http.allowed_hosts */
} RequestVerdict;

/* Judge a request by its host and port. */
static RequestVerdict
judge_request(const HttpRequest *req)
{
	if (rules_cover_request(denied_rules, req))
		return REQUEST_DENIED;
	if (allowed_rules != NULL && allowed_rules->n > 0 &&
		!rules_cover_request(allowed_rules, req))
		return REQUEST_NOT_ALLOWED;
	return REQUEST_ALLOWED;
}

/* See pg_http.h. */
void
HttpPolicyCheckRequest(HttpRequest *req)
{
	switch (judge_request(req))
	{
		case REQUEST_ALLOWED:
			break;
		case REQUEST_DENIED:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("host \"%s\" is denied by pg_http.denied_hosts", req->host),
					 errdetail("The request was for %s.", req->url)));
			break;
		case REQUEST_NOT_ALLOWED:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("host \"%s\" is not allowed by pg_http.allowed_hosts", req->host),
					 errdetail("The request was for %s on port %d.", req->url, req->port),
					 errhint("A superuser can add the host to pg_http.allowed_hosts.")));
			break;
	}
}

/* See pg_http.h. */
bool
HttpPolicyCheckExchange(HttpExchange *x)
{
	HttpRequest *req = x->req;

	switch (judge_request(req))
	{
		case REQUEST_ALLOWED:
			return true;
		case REQUEST_DENIED:
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 psprintf("host \"%s\" is denied by pg_http.denied_hosts", req->host),
							 "The request was for %s.", req->url);
			return false;
		case REQUEST_NOT_ALLOWED:
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 psprintf("host \"%s\" is not allowed by pg_http.allowed_hosts", req->host),
							 "The request was for %s on port %d.", req->url, req->port);
			HttpExchangeSetHint(x, "A superuser can add the host to pg_http.allowed_hosts.");
			return false;
	}
	return false;
}

/*
 * See pg_http.h.  Of several refused addresses the first IPv4 one is kept
 * (else the first one): resolvers and transports order addresses
 * differently, and the error should not depend on that.
 */
void
HttpPolicyNoteRefusal(HttpExchange *x, const struct sockaddr *sa)
{
	size_t		len = sa->sa_family == AF_INET ? sizeof(struct sockaddr_in)
		: sizeof(struct sockaddr_in6);

	if (x->refused.ss_family == AF_INET ||
		(x->refused.ss_family != AF_UNSPEC && sa->sa_family != AF_INET))
		return;
	memcpy(&x->refused, sa, len);
}

/* See pg_http.h. */
void
HttpPolicyReportRefusal(HttpExchange *x)
{
	if (x->refused.ss_family == AF_UNSPEC)
		elog(ERROR, "no refused address to report");
	(void) HttpPolicyCheckAddress(x, (struct sockaddr *) &x->refused, true);
}

/* See pg_http.h. */
bool
HttpPolicyCheckAddress(HttpExchange *x, const struct sockaddr *sa, bool report)
{
	HttpAddr	a;
	int			port = 0;
	const char *reserved;
	char		text[INET6_ADDRSTRLEN];

	if (!HttpAddrFromSockaddr(sa, &a, &port))
	{
		if (report)
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "address family not allowed",
							 "Host \"%s\" resolved to an address that is neither IPv4 nor IPv6.",
							 x->req->host);
		return false;
	}

	if (rules_cover_addr(denied_rules, &a, port))
	{
		if (report)
		{
			HttpAddrText(&a, text, sizeof(text));
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "address is denied by pg_http.denied_hosts",
							 "Host \"%s\" resolved to %s.", x->req->host, text);
		}
		return false;
	}

	reserved = HttpAddrReserved(&a);
	if (reserved != NULL && !rules_cover_addr(allowed_rules, &a, port))
	{
		if (report)
		{
			HttpAddrText(&a, text, sizeof(text));
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "address is refused by the private-address guard",
							 "Host \"%s\" resolved to %s, which is %s.",
							 x->req->host, text, reserved);
			HttpExchangeSetHint(x, "A superuser can allow the address or its range in pg_http.allowed_hosts.");
		}
		return false;
	}
	return true;
}
