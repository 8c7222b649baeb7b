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
 * 3. Per-role ACLs (http.acl): once any entry exists, a request must be
 *    covered by an entry for the current user, a role whose privileges it
 *    has, or PUBLIC; address and CIDR entries also open private addresses
 *    for those roles.  pg_http.allowed_hosts stays a ceiling for everyone
 *    and pg_http.denied_hosts still wins.
 *
 * The rule lists are parsed once, in the settings' check hooks; ACL entries
 * are read once per backend and again only after a change (a trigger on
 * http.acl sends a relcache invalidation), never per call.  Each request
 * carries a snapshot of its caller's ACL rules, because the address guard
 * runs inside transport callbacks where no catalog may be read.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "netaddr.h"

#include <arpa/inet.h>

#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* The parsed rule lists: the settings' "extra" (malloc'd, freed by guc). */
static HttpRuleList *allowed_rules = NULL;
static HttpRuleList *denied_rules = NULL;

/* The rules of http.acl that apply to one user. */
struct HttpAclSet
{
	Oid			user;
	NameData	role;			/* its name, for messages outside a transaction */
	int			n;
	HttpHostRule rules[FLEXIBLE_ARRAY_MEMBER];
};

/* Every entry of http.acl, cached per backend. */
typedef struct AclEntry
{
	Oid			role;			/* InvalidOid: PUBLIC */
	HttpHostRule rule;
} AclEntry;

static MemoryContext acl_cxt = NULL;
static bool acl_valid = false;
static Oid	acl_relid = InvalidOid;
static AclEntry *acl_entries = NULL;
static int	acl_count = 0;
static HttpAclSet *acl_user_set = NULL;	/* for acl_user_set->user */

static const HttpAclSet *acl_for_current_user(void);
static bool acl_covers_request(const HttpAclSet *acl, const HttpRequest *req);

/* Parse a rule list for a check hook; false with a GUC error on bad input. */
static bool
rules_check(char **newval, void **extra)
{
	const char *err = NULL;
	size_t		errpos = 0;
	int			n = HttpHostRulesParse(*newval, NULL, 0, &err, &errpos);
	HttpRuleList *r;

	if (n < 0)
	{
		size_t		len = strcspn(*newval + errpos, ",");

		GUC_check_errdetail("Entry \"%.*s\": %s.", (int) len, *newval + errpos, err);
		return false;
	}
	/* guc frees "extra" with free(): it must come from malloc */
	r = malloc(offsetof(HttpRuleList, rules) + sizeof(HttpHostRule) * Max(n, 1));
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
	HttpSettingsGeneration++;
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
	HttpSettingsGeneration++;
}

/*
 * The parsed pg_http.denied_hosts (denied) or pg_http.allowed_hosts, for
 * the settings snapshot; NULL when empty.  Valid until the setting changes.
 */
const HttpRuleList *
HttpPolicyRules(bool denied)
{
	return denied ? denied_rules : allowed_rules;
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
rules_cover_request(const HttpRuleList *r, const HttpRequest *req)
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
rules_cover_addr(const HttpRuleList *r, const HttpAddr *a, int port)
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
	REQUEST_NOT_ALLOWED,		/* not in pg_http.allowed_hosts */
	REQUEST_NOT_GRANTED			/* no ACL entry for the caller */
} RequestVerdict;

/* Judge a request by its host and port. */
static RequestVerdict
judge_request(const HttpRequest *req)
{
	if (rules_cover_request(req->set->denied, req))
		return REQUEST_DENIED;
	if (req->set->allowed->n > 0 && !rules_cover_request(req->set->allowed, req))
		return REQUEST_NOT_ALLOWED;
	if (req->acl != NULL && !acl_covers_request(req->acl, req))
		return REQUEST_NOT_GRANTED;
	return REQUEST_ALLOWED;
}

/*
 * The name of the role an ACL set is for.  Taken when the set was made: a
 * redirect hop is judged inside the engine, where a delivery worker is
 * outside any transaction and must not read the catalog.
 */
static const char *
acl_role_name(const HttpRequest *req)
{
	return NameStr(req->acl->role);
}

/* See pg_http.h. */
void
HttpPolicyCheckRequest(HttpRequest *req)
{
	req->acl = acl_for_current_user();
	switch (judge_request(req))
	{
		case REQUEST_ALLOWED:
			break;
		case REQUEST_DENIED:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("host \"%s\" is denied by pg_http.denied_hosts", req->host),
					 errdetail("The request was for %s.", req->url),
					 errhidestmt(req->has_secrets)));
			break;
		case REQUEST_NOT_ALLOWED:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("host \"%s\" is not allowed by pg_http.allowed_hosts", req->host),
					 errdetail("The request was for %s on port %d.", req->url, req->port),
					 errhint("A superuser can add the host to pg_http.allowed_hosts."),
					 errhidestmt(req->has_secrets)));
			break;
		case REQUEST_NOT_GRANTED:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("host \"%s\" is not granted to role \"%s\" by any pg_http ACL entry",
							req->host, acl_role_name(req)),
					 errdetail("The request was for %s on port %d.", req->url, req->port),
					 errhint("A superuser can grant it with http.acl_grant()."),
					 errhidestmt(req->has_secrets)));
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
		case REQUEST_NOT_GRANTED:
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 psprintf("host \"%s\" is not granted to role \"%s\" by any pg_http ACL entry",
									  req->host, acl_role_name(req)),
							 "The request was for %s on port %d.", req->url, req->port);
			HttpExchangeSetHint(x, "A superuser can grant it with http.acl_grant().");
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

/* Relcache callback: http.acl changed (or everything is being reset). */
static void
acl_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == acl_relid)
		acl_valid = false;
}

/* See pg_http.h: register the ACL cache's invalidation; from _PG_init. */
void
HttpPolicyInit(void)
{
	CacheRegisterRelcacheCallback(acl_invalidate, (Datum) 0);
}

/*
 * See pg_http.h: the rule text for an ACL entry, "pattern:ports", with a bare
 * IPv6 pattern bracketed so that it can carry ports.
 */
char *
HttpAclEntryText(const char *pattern, const char *ports)
{
	const char *colon = strchr(pattern, ':');

	if (colon != NULL && pattern[0] != '[')
	{
		const char *slash = strchr(pattern, '/');

		if (slash)
			return psprintf("[%.*s]%s:%s", (int) (slash - pattern), pattern, slash, ports);
		return psprintf("[%s]:%s", pattern, ports);
	}
	return psprintf("%s:%s", pattern, ports);
}

/* (Re)read http.acl into the cache. */
static void
acl_load(void)
{
	Oid			nsp = get_namespace_oid("http", true);
	MemoryContext old;

	if (acl_cxt == NULL)
		acl_cxt = AllocSetContextCreate(TopMemoryContext, "pg_http ACL", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(acl_cxt);
	acl_entries = NULL;
	acl_count = 0;
	acl_user_set = NULL;
	acl_relid = OidIsValid(nsp) ? get_relname_relid("acl", nsp) : InvalidOid;

	if (OidIsValid(acl_relid))
	{
		Oid			save_userid;
		int			save_sec;
		volatile int rc = 0;

		/*
		 * Callers may not read http.acl (only its owner may); the policy
		 * must.  Read it as the bootstrap superuser, in a restricted context.
		 */
		GetUserIdAndSecContext(&save_userid, &save_sec);
		SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
							   save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
		PG_TRY();
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			rc = SPI_execute("SELECT role, pattern, ports FROM http.acl", true, 0);
		}
		PG_FINALLY();
		{
			SetUserIdAndSecContext(save_userid, save_sec);
		}
		PG_END_TRY();
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read http.acl");
		old = MemoryContextSwitchTo(acl_cxt);
		acl_entries = palloc(sizeof(AclEntry) * Max(SPI_processed, 1));
		MemoryContextSwitchTo(old);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			Oid			role = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
			char	   *text = HttpAclEntryText(SPI_getvalue(tup, td, 2), SPI_getvalue(tup, td, 3));
			const char *err;
			size_t		errpos;

			/* entries were checked when granted; skip one that no longer parses */
			if (HttpHostRulesParse(text, &acl_entries[acl_count].rule, 1, &err, &errpos) == 1)
				acl_entries[acl_count++].role = role;
		}
		SPI_finish();
	}
	acl_valid = true;
}

/*
 * The ACL rules of the current user, or NULL when ACLs are not in use (no
 * entry at all) or a superuser may bypass them.
 */
static const HttpAclSet *
acl_for_current_user(void)
{
	Oid			user = GetUserId();
	MemoryContext old;

	if (!acl_valid)
		acl_load();
	if (acl_count == 0 || (http_acl_superuser_bypass && superuser()))
		return NULL;
	if (acl_user_set != NULL && acl_user_set->user == user)
		return acl_user_set;

	/* requests hold the set only while this user's call runs (or a copy) */
	if (acl_user_set != NULL)
		pfree(acl_user_set);
	old = MemoryContextSwitchTo(acl_cxt);
	acl_user_set = palloc(offsetof(HttpAclSet, rules) + sizeof(HttpHostRule) * acl_count);
	MemoryContextSwitchTo(old);
	acl_user_set->user = user;
	namestrcpy(&acl_user_set->role, GetUserNameFromId(user, true) ?: "?");
	acl_user_set->n = 0;
	for (int i = 0; i < acl_count; i++)
		if (acl_entries[i].role == InvalidOid || has_privs_of_role(user, acl_entries[i].role))
			acl_user_set->rules[acl_user_set->n++] = acl_entries[i].rule;
	return acl_user_set;
}

/*
 * See pg_http.h.  The cached set changes with the user and with http.acl;
 * a request that outlives its caller's call (a queued one) keeps a copy.
 */
void
HttpPolicyDetachAcl(HttpRequest *req)
{
	if (req->acl != NULL)
	{
		Size		sz = offsetof(HttpAclSet, rules) + sizeof(HttpHostRule) * req->acl->n;
		HttpAclSet *copy = palloc(sz);

		memcpy(copy, req->acl, sz);
		req->acl = copy;
	}
}

/* Does the ACL set cover the request's host and port? */
static bool
acl_covers_request(const HttpAclSet *acl, const HttpRequest *req)
{
	HttpAddr	a;
	bool		numeric = request_addr(req, &a);

	for (int i = 0; i < acl->n; i++)
	{
		const HttpHostRule *rule = &acl->rules[i];

		if (numeric && rule->kind != HTTP_RULE_ANY ?
			HttpHostRuleMatchAddr(rule, &a, req->port) :
			HttpHostRuleMatchName(rule, req->host, req->port))
			return true;
	}
	return false;
}

/* Does the ACL set open this (reserved) address? */
static bool
acl_covers_addr(const HttpAclSet *acl, const HttpAddr *a, int port)
{
	for (int i = 0; acl != NULL && i < acl->n; i++)
		if (HttpHostRuleMatchAddr(&acl->rules[i], a, port))
			return true;
	return false;
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

	if (rules_cover_addr(x->req->set->denied, &a, port))
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
	if (reserved != NULL && !rules_cover_addr(x->req->set->allowed, &a, port) &&
		!acl_covers_addr(x->req->acl, &a, port))
	{
		if (report)
		{
			HttpAddrText(&a, text, sizeof(text));
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "address is refused by the private-address guard",
							 "Host \"%s\" resolved to %s, which is %s.",
							 x->req->host, text, reserved);
			HttpExchangeSetHint(x, "A superuser can allow the address or its range in pg_http.allowed_hosts, or grant it to the role with http.acl_grant().");
		}
		return false;
	}
	return true;
}
