/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Who may call what: host allow and deny lists, the address guard.
 *
 * Three checks, all before a byte is sent:
 *
 * 1. HttpPolicyJudge, on the request as written (and on each redirect
 *    hop): the host (name or numeric address) and port, and a Host header
 *    that names another host, against pg_http.denied_hosts, then
 *    pg_http.allowed_hosts.  It words a refusal without throwing;
 *    HttpPolicyCheckRequest raises it, HttpPolicyCheckExchange fails the
 *    exchange with it.
 * 2. HttpPolicyCheckAddress, by the transport on every address it is about
 *    to connect to (after resolution, so a name cannot smuggle a private
 *    address past check 1, and the connection goes to the address judged
 *    here): denied ranges, then the reserved-range guard, which only an
 *    address or CIDR entry of pg_http.allowed_hosts can open.
 * 3. Per-role ACLs (http.acl): while they are in force (http.acl_mode: the
 *    first grant turns them on, only http.acl_enforce(false) off again), a
 *    request must be covered by an entry for the current user, a role whose
 *    privileges it has, or PUBLIC; address and CIDR entries also open
 *    private addresses for those roles.  pg_http.allowed_hosts stays a
 *    ceiling for everyone and pg_http.denied_hosts still wins.  They fail
 *    closed: with no entry left, or an entry that no longer parses, the
 *    ACLs stay in force and grant nothing more.
 *
 * The rule lists are parsed once, in the settings' check hooks; ACL entries
 * are read once per backend and again only after a change (a trigger on
 * http.acl and http.acl_mode sends a relcache invalidation; a role or
 * membership change makes the user's set be worked out again), never per
 * call.  Each request carries a copy of its caller's ACL rules, because
 * the address guard runs inside transport callbacks where no catalog may be
 * read.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "netaddr.h"
#include "policy.h"
#include "settings.h"

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
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/* An entry of http.acl. */
typedef struct AclEntry
{
	Oid			role;			/* InvalidOid: PUBLIC */
	HttpHostRule rule;
} AclEntry;

/* The entries of http.acl that apply to one user. */
struct HttpAclSet
{
	Oid			user;
	NameData	role;			/* its name, for messages outside a transaction */
	int			n;
	AclEntry	entries[FLEXIBLE_ARRAY_MEMBER];
};

static MemoryContext acl_cxt = NULL;
static bool acl_valid = false;
static Oid	acl_relid = InvalidOid;
static Oid	acl_mode_relid = InvalidOid;
static bool acl_enforced = false;	/* http.acl_mode says so */
static AclEntry *acl_entries = NULL;
static int	acl_count = 0;
static HttpAclSet *acl_user_set = NULL;	/* for acl_user_set->user */
static bool acl_user_valid = false;	/* roles have not changed since */

static HttpAclSet *acl_for_role(Oid user);
static int	acl_covers_request(const HttpAclSet *acl, const HttpRequest *req);

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

/* Does the rule cover the request's host and port? */
static bool
rule_covers_request(const HttpHostRule *rule, const HttpRequest *req)
{
	HttpAddr	a;

	/* a numeric host is matched by address rules (and "*"), a name by name rules */
	if (request_addr(req, &a) && rule->kind != HTTP_RULE_ANY)
		return HttpHostRuleMatchAddr(rule, &a, req->port);
	return HttpHostRuleMatchName(rule, req->host, req->port);
}

/*
 * The first rule of the list that covers the request's host and port (its
 * index: the explanation names it), or -1.
 */
static int
rules_cover_request(const HttpRuleList *r, const HttpRequest *req)
{
	for (int i = 0; r != NULL && i < r->n; i++)
		if (rule_covers_request(&r->rules[i], req))
			return i;
	return -1;
}

/* rules_cover_request for other modules (a secret's binding, say). */
bool
HttpRulesCoverRequest(const HttpRuleList *r, const HttpRequest *req)
{
	return rules_cover_request(r, req) >= 0;
}

/* The first address rule of the list that covers this address and port, or -1. */
static int
rules_cover_addr(const HttpRuleList *r, const HttpAddr *a, int port)
{
	for (int i = 0; r != NULL && i < r->n; i++)
		if (HttpHostRuleMatchAddr(&r->rules[i], a, port))
			return i;
	return -1;
}

/* Note in why (if any) the ACL entry at index i of the request's set. */
static void
explain_acl(HttpPolicyWhy *why, const HttpRequest *req, int i)
{
	if (why != NULL && i >= 0)
	{
		why->acl = &req->acl->entries[i].rule;
		why->acl_role = req->acl->entries[i].role;
	}
}

/* Why a request was refused by the host lists, if it was. */
typedef enum RequestVerdict
{
	REQUEST_ALLOWED,
	REQUEST_DENIED,				/* by pg_http.denied_hosts */
	REQUEST_NOT_ALLOWED,		/* not in pg_http.allowed_hosts */
	REQUEST_NOT_GRANTED			/* no ACL entry for the caller */
} RequestVerdict;

/*
 * Judge a request by its host and port; why (if not NULL) is told the
 * entries that decided.
 */
static RequestVerdict
judge_request(const HttpRequest *req, HttpPolicyWhy *why)
{
	int			i;

	if ((i = rules_cover_request(req->set->denied, req)) >= 0)
	{
		if (why)
			why->denied = &req->set->denied->rules[i];
		return REQUEST_DENIED;
	}
	if (req->set->allowed->n > 0)
	{
		if ((i = rules_cover_request(req->set->allowed, req)) < 0)
			return REQUEST_NOT_ALLOWED;
		if (why)
			why->allowed = &req->set->allowed->rules[i];
	}
	if (req->acl != NULL)
	{
		if ((i = acl_covers_request(req->acl, req)) < 0)
			return REQUEST_NOT_GRANTED;
		explain_acl(why, req, i);
	}
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

static int	acl_covers_addr(const HttpAclSet *acl, const HttpAddr *a, int port);

/*
 * Is address a (port) refused: denied, or reserved and opened by no
 * address entry of pg_http.allowed_hosts or of the caller's ACLs?  NULL if
 * not; else "denied", or the reserved range's description.  why (if not
 * NULL) is told its range and the entry that denied or opened it.
 */
static const char *
address_refused(const HttpRequest *req, const HttpAddr *a, int port, HttpPolicyWhy *why)
{
	const char *reserved;
	int			i;

	if ((i = rules_cover_addr(req->set->denied, a, port)) >= 0)
	{
		if (why)
			why->denied = &req->set->denied->rules[i];
		return "denied";
	}
	reserved = HttpAddrReserved(a);
	if (why)
		why->reserved = reserved;
	if (reserved == NULL)
		return NULL;
	if ((i = rules_cover_addr(req->set->allowed, a, port)) >= 0)
	{
		if (why)
			why->allowed = &req->set->allowed->rules[i];
		return NULL;
	}
	if ((i = acl_covers_addr(req->acl, a, port)) >= 0)
	{
		explain_acl(why, req, i);
		return NULL;
	}
	return reserved;
}

/*
 * Word the verdict of the host lists and ACLs on host (port) of req; what
 * names what was judged ("host", "Host header").
 */
static bool
word_verdict(const HttpRequest *req, const HttpRequest *judged, const char *what, HttpFailure *r,
			 HttpPolicyWhy *why)
{
	switch (judge_request(judged, why))
	{
		case REQUEST_ALLOWED:
			return true;
		case REQUEST_DENIED:
			if (why)
				why->refused_by = "pg_http.denied_hosts";
			r->msg = psprintf("%s \"%s\" is denied by pg_http.denied_hosts", what, judged->host);
			r->detail = psprintf("The request was for %s.", req->url);
			break;
		case REQUEST_NOT_ALLOWED:
			if (why)
				why->refused_by = "pg_http.allowed_hosts";
			r->msg = psprintf("%s \"%s\" is not allowed by pg_http.allowed_hosts", what, judged->host);
			r->detail = psprintf("The request was for %s on port %d.", req->url, judged->port);
			r->hint = "A superuser can add the host to pg_http.allowed_hosts.";
			break;
		case REQUEST_NOT_GRANTED:
			if (why)
				why->refused_by = "http.acl";
			r->msg = psprintf("%s \"%s\" is not granted to role \"%s\" by any pg_http ACL entry",
							  what, judged->host, acl_role_name(req));
			r->detail = psprintf("The request was for %s on port %d.", req->url, judged->port);
			r->hint = "A superuser can grant it with http.acl_grant().";
			break;
	}
	r->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	return false;
}

/* Word the refusal of a literal address that would be handed on unchecked. */
static bool
word_address(const HttpRequest *req, const HttpRequest *judged, const char *what,
			 const char *why, HttpFailure *r, HttpPolicyWhy *explain)
{
	HttpAddr	a;
	const char *refused;

	a.family = judged->host_kind == HTTP_HOST_IPV4 ? 4 : 6;
	memcpy(a.a, judged->addr, 16);
	if ((refused = address_refused(judged, &a, judged->port, explain)) == NULL)
		return true;
	if (explain)
		explain->refused_by = strcmp(refused, "denied") == 0 ?
			"pg_http.denied_hosts" : "the private-address guard";
	r->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
	r->msg = strcmp(refused, "denied") == 0 ?
		psprintf("%s address %s is denied by pg_http.denied_hosts", what, judged->host) :
		psprintf("%s address %s is refused by the private-address guard", what, judged->host);
	r->detail = strcmp(refused, "denied") == 0 ?
		psprintf("The request was for %s; %s.", req->url, why) :
		psprintf("The request was for %s; the address is %s, and %s.", req->url, refused, why);
	r->hint = "A superuser can allow the address or its range in pg_http.allowed_hosts, or grant it to the role with http.acl_grant().";
	return false;
}

/*
 * Parse a Host header value (host[:port], IPv6 in brackets) into judged's
 * host fields; the port defaults to the request's.  false if it is not one.
 */
static bool
parse_host_header(const char *v, HttpRequest *judged)
{
	HttpUrl		u;
	size_t		errpos;
	size_t		len = strlen(v);
	const char *host = v;
	size_t		hlen = len;
	const char *colon = NULL;

	if (v[0] == '[')
	{
		const char *close = strchr(v, ']');

		if (close == NULL)
			return false;
		host = v + 1;
		hlen = close - v - 1;
		if (close[1] == ':')
			colon = close + 1;
		else if (close[1] != '\0')
			return false;
	}
	else if ((colon = strrchr(v, ':')) != NULL)
		hlen = colon - v;
	if (colon != NULL)
	{
		char	   *end;
		long		port = strtol(colon + 1, &end, 10);

		if (end == colon + 1 || *end != '\0' || port < 1 || port > 65535)
			return false;
		judged->port = (int) port;
	}
	memset(&u, 0, sizeof(u));
	if (hlen == 0 || HttpUrlParseHost(host, hlen, &u, &errpos) != HTTP_URL_OK)
		return false;
	judged->host_kind = u.host_kind;
	memcpy(judged->addr, u.addr, sizeof(judged->addr));
	if (u.host_kind == HTTP_HOST_NAME)
	{
		char	   *h = pnstrdup(u.host, u.host_len);

		for (char *p = h; *p; p++)
			*p = pg_ascii_tolower((unsigned char) *p);
		if (hlen > 1 && h[hlen - 1] == '.')
			h[hlen - 1] = '\0';
		judged->host = h;
	}
	else
	{
		char		text[HTTP_URL_MAX_HOST + 2];

		HttpUrlHostText(&u, text, sizeof(text));
		judged->host = pstrdup(text);
	}
	return true;
}

/*
 * Judge a request before anything is sent (and each redirect hop): its host and port by the host
 * lists and ACLs; a literal address handed to a proxy (which would connect
 * to it unchecked) by the address guard too; and a Host header that
 * replaces the URL's authority like a host of its own (it can reach
 * another virtual host of a shared load balancer).  false with *r filled
 * when refused.  why (if not NULL) is told what was judged last and the
 * entries that decided.  Allocates only to word a refusal; reads no catalog.
 */
static bool
policy_judge(const HttpRequest *req, HttpFailure *r, HttpPolicyWhy *why)
{
	memset(r, 0, sizeof(*r));
	if (why)
	{
		memset(why, 0, sizeof(*why));
		why->judged = "host";
	}
	if (!word_verdict(req, req, "host", r, why))
		return false;
	if (req->proxy != NULL && req->host_kind != HTTP_HOST_NAME &&
		!word_address(req, req, "host", "it would be handed to the proxy unchecked", r, why))
		return false;
	if (req->host_overridden)
	{
		HttpRequest judged = *req;
		HttpPolicyWhy host_why;

		if (why)
		{
			/* the host's entries explain an allowed request, the header's a refusal */
			host_why = *why;
			memset(why, 0, sizeof(*why));
			why->judged = "Host header";
		}

		if (!parse_host_header(req->authority, &judged))
		{
			if (why)
				why->refused_by = "the Host header";
			r->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
			r->msg = pstrdup("invalid Host header");
			r->detail = psprintf("\"%s\" is not a host with an optional port.", req->authority);
			return false;
		}
		if (!word_verdict(req, &judged, "Host header", r, why))
			return false;
		if (judged.host_kind != HTTP_HOST_NAME &&
			!word_address(req, &judged, "Host header", "a server may route to it by this header", r, why))
			return false;
		if (why)
			*why = host_why;
	}
	return true;
}

/* policy_judge, for the engine and the redirect path: no explanation. */
bool
HttpPolicyJudge(const HttpRequest *req, HttpFailure *r)
{
	return policy_judge(req, r, NULL);
}

/*
 * Judge a request as role would be judged making it now (http.check): the
 * same judgement as HttpPolicyCheckRequest's, with req given role's ACL
 * rules, and why told what decided.  false with *r filled when refused.
 * May read http.acl.
 */
bool
HttpPolicyExplain(HttpRequest *req, Oid role, HttpFailure *r, HttpPolicyWhy *why)
{
	req->acl = acl_for_role(role);
	return policy_judge(req, r, why);
}

/*
 * Judge a request made from SQL values, as the current user (whose ACL
 * rules it keeps a copy of); throws 42501 (22023 for a bad Host header)
 * when refused, hiding the statement if the request carries credentials.
 */
void
HttpPolicyCheckRequest(HttpRequest *req)
{
	HttpFailure r;

	req->acl = acl_for_role(GetUserId());
	if (!HttpPolicyJudge(req, &r))
		HttpFailureRaise(&r, req->has_secrets);
}

/*
 * Judge an exchange's request again (a redirect hop, with the ACL rules it
 * already carries): false with x failed when refused.  Reads no catalog:
 * it runs inside the engine.
 */
bool
HttpPolicyCheckExchange(HttpExchange *x)
{
	HttpFailure r;

	if (HttpPolicyJudge(x->req, &r))
		return true;
	HttpExchangeFailWith(x, &r);
	return false;
}

/*
 * Remember sa as refused, for x's error.  Of several refused addresses the
 * first IPv4 one is kept (else the first one): resolvers and transports
 * order addresses differently, and the error should not depend on that.
 * Never throws.
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

/*
 * Fail x with the refusal HttpPolicyNoteRefusal kept (there must be one).
 * May throw (out of memory).
 */
void
HttpPolicyReportRefusal(HttpExchange *x)
{
	if (x->refused.ss_family == AF_UNSPEC)
		elog(ERROR, "no refused address to report");
	(void) HttpPolicyCheckAddress(x, (struct sockaddr *) &x->refused, true);
}

/* Relcache callback: http.acl or http.acl_mode changed (or everything did). */
static void
acl_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == acl_relid || relid == acl_mode_relid)
		acl_valid = false;
}

/*
 * Syscache callback: a role or a role membership changed.  Which entries
 * apply to a user depends on both (REVOKE app FROM alice, ALTER ROLE ...
 * NOINHERIT, a role dropped): work it out again.
 */
static void
acl_roles_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	acl_user_valid = false;
}

/* Register the ACL cache's invalidation callbacks; from _PG_init. */
void
HttpPolicyInit(void)
{
	CacheRegisterRelcacheCallback(acl_invalidate, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, acl_roles_changed, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, acl_roles_changed, (Datum) 0);
}

/*
 * The rule text for an ACL entry, "pattern:ports", with a bare
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

/*
 * (Re)read http.acl and http.acl_mode into the cache.  Read with the latest
 * snapshot, not the transaction's: in a REPEATABLE READ transaction that
 * began before a revoke, the transaction snapshot would bring the revoked
 * entry back.
 */
static void
acl_read(void)
{
	Oid			nsp = get_namespace_oid("http", true);
	MemoryContext old;
	HttpSpiScope spi;
	int			rc;
	bool		isnull;

	if (acl_cxt == NULL)
		acl_cxt = AllocSetContextCreate(TopMemoryContext, "pg_http ACL", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(acl_cxt);
	acl_entries = NULL;
	acl_count = 0;
	acl_enforced = false;
	acl_user_set = NULL;
	acl_relid = OidIsValid(nsp) ? get_relname_relid("acl", nsp) : InvalidOid;
	acl_mode_relid = OidIsValid(nsp) ? get_relname_relid("acl_mode", nsp) : InvalidOid;
	if (!OidIsValid(acl_relid))
		return;

	/*
	 * Callers may not read http.acl (only its owner may); the policy must.
	 * Read it as the bootstrap superuser, in a restricted context, with
	 * nobody's functions on the search_path.
	 */
	HttpSpiEnter(&spi);
	PushActiveSnapshot(GetLatestSnapshot());
	rc = SPI_execute(OidIsValid(acl_mode_relid) ?
					 "SELECT coalesce((SELECT bool_or(enforced) FROM http.acl_mode), false)" :
					 "SELECT EXISTS (SELECT FROM http.acl)", true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read http.acl_mode");
	acl_enforced = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	rc = SPI_execute("SELECT role, pattern, ports FROM http.acl", true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read http.acl");
	old = MemoryContextSwitchTo(acl_cxt);
	acl_entries = palloc(sizeof(AclEntry) * Max(SPI_processed, 1));
	MemoryContextSwitchTo(old);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		Oid			role = DatumGetObjectId(SPI_getbinval(tup, td, 1, &isnull));
		char	   *text = HttpAclEntryText(SPI_getvalue(tup, td, 2), SPI_getvalue(tup, td, 3));
		const char *err;
		size_t		errpos;

		/*
		 * Entries were checked when granted.  One that no longer parses
		 * (after an upgrade changed the rules, say) grants nothing; it does
		 * not turn the ACLs off.
		 */
		if (HttpHostRulesParse(text, &acl_entries[acl_count].rule, 1, &err, &errpos) == 1)
			acl_entries[acl_count++].role = role;
		else
			ereport(WARNING,
					(errmsg("pg_http ACL entry \"%s\" no longer parses; it grants nothing", text),
					 errdetail("%c%s.", pg_ascii_toupper((unsigned char) err[0]), err + 1)));
	}
	PopActiveSnapshot();
	HttpSpiLeave(&spi);
}

/*
 * Make the cache current.  An invalidation that arrives while it is read
 * (reading takes locks, which processes invalidations) reads it again.
 */
static void
acl_load(void)
{
	while (!acl_valid)
	{
		Oid			save_userid;
		int			save_sec;

		acl_valid = true;
		GetUserIdAndSecContext(&save_userid, &save_sec);
		PG_TRY();
		{
			acl_read();
		}
		PG_CATCH();
		{
			/* half read is not read: never judge by a partial cache */
			acl_valid = false;
			SetUserIdAndSecContext(save_userid, save_sec);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
}

/* Are the per-role ACLs in force?  (Reads the cache; may read http.acl.) */
bool
HttpPolicyAclEnforced(void)
{
	acl_load();
	return acl_enforced;
}

/*
 * A copy (in CurrentMemoryContext) of the ACL rules of user (the current
 * user, or the role http.check asks about), or NULL when ACLs are not in
 * force or a superuser may bypass them.  A copy: the cache may be read
 * again while the request that holds it is running.
 */
static HttpAclSet *
acl_for_role(Oid user)
{
	Size		sz;
	HttpAclSet *copy;

	/*
	 * A grant, revoke or membership change committed elsewhere applies to
	 * this request, even inside a long transaction that takes no new lock
	 * (which is when invalidations would otherwise be read).  Cheap when
	 * there is none.
	 */
	AcceptInvalidationMessages();
	acl_load();
	if (!acl_enforced || (http_acl_superuser_bypass && superuser_arg(user)))
		return NULL;
	if (acl_user_set == NULL || acl_user_set->user != user || !acl_user_valid)
	{
		MemoryContext old;

		if (acl_user_set != NULL)
			pfree(acl_user_set);
		acl_user_valid = true;
		old = MemoryContextSwitchTo(acl_cxt);
		acl_user_set = palloc(offsetof(HttpAclSet, entries) + sizeof(AclEntry) * Max(acl_count, 1));
		MemoryContextSwitchTo(old);
		acl_user_set->user = user;
		namestrcpy(&acl_user_set->role, GetUserNameFromId(user, true) ?: "?");
		acl_user_set->n = 0;
		for (int i = 0; i < acl_count; i++)
			if (acl_entries[i].role == InvalidOid || has_privs_of_role(user, acl_entries[i].role))
				acl_user_set->entries[acl_user_set->n++] = acl_entries[i];
	}
	sz = offsetof(HttpAclSet, entries) + sizeof(AclEntry) * acl_user_set->n;
	copy = palloc(sz);
	memcpy(copy, acl_user_set, sz);
	return copy;
}

/* The first entry of the ACL set that covers the request's host and port, or -1. */
static int
acl_covers_request(const HttpAclSet *acl, const HttpRequest *req)
{
	for (int i = 0; i < acl->n; i++)
		if (rule_covers_request(&acl->entries[i].rule, req))
			return i;
	return -1;
}

/* The first entry of the ACL set that opens this (reserved) address, or -1. */
static int
acl_covers_addr(const HttpAclSet *acl, const HttpAddr *a, int port)
{
	for (int i = 0; acl != NULL && i < acl->n; i++)
		if (HttpHostRuleMatchAddr(&acl->entries[i].rule, a, port))
			return i;
	return -1;
}

/*
 * May x connect to address sa (the policy of x's snapshot and ACL set)?
 * With report false it neither allocates nor throws, so curl's socket
 * callbacks can ask; with report true a refusal fails x, worded.
 */
bool
HttpPolicyCheckAddress(HttpExchange *x, const struct sockaddr *sa, bool report)
{
	HttpAddr	a;
	int			port = 0;
	const char *refused;
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

	refused = address_refused(x->req, &a, port, NULL);
	if (refused != NULL && report)
	{
		HttpAddrText(&a, text, sizeof(text));
		if (strcmp(refused, "denied") == 0)
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "address is denied by pg_http.denied_hosts",
							 "Host \"%s\" resolved to %s.", x->req->host, text);
		else
		{
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "address is refused by the private-address guard",
							 "Host \"%s\" resolved to %s, which is %s.",
							 x->req->host, text, refused);
			HttpExchangeSetHint(x, "A superuser can allow the address or its range in pg_http.allowed_hosts, or grant it to the role with http.acl_grant().");
		}
	}
	if (refused != NULL)
		return false;
	return true;
}

/*
 * The address guard's verdict on sa for req, as HttpPolicyCheckAddress
 * gives it, explained (http.check): NULL if allowed, else "denied" or the
 * reserved range's description; why is told the address's range (NULL:
 * public) and the entry that denied or opened it.  Never throws.
 */
const char *
HttpPolicyExplainAddress(const HttpRequest *req, const struct sockaddr *sa, HttpPolicyWhy *why)
{
	HttpAddr	a;
	int			port = 0;
	const char *refused;

	memset(why, 0, sizeof(*why));
	why->judged = "address";
	if (!HttpAddrFromSockaddr(sa, &a, &port))
		return "not IPv4 or IPv6";
	refused = address_refused(req, &a, port, why);
	why->reserved = HttpAddrReserved(&a);	/* a denied one's too */
	if (refused != NULL)
		why->refused_by = strcmp(refused, "denied") == 0 ?
			"pg_http.denied_hosts" : "the private-address guard";
	return refused;
}
