/*-------------------------------------------------------------------------
 *
 * check.c
 *	  http.check(): whether a role may reach a URL now, and which rule
 *	  decides, without sending anything.
 *
 * Nothing here restates a rule.  The URL is parsed by the request builder
 * (HttpRequestSetUrlChecked) and checked by HttpRequestCheck, the host and
 * port are judged by the policy's own judgement (HttpPolicyExplain: the
 * one HttpPolicyCheckRequest makes, with the entries that decided written
 * down), and the host name is resolved the way a request resolves it (the
 * DNS cache, then the resolver threads) and its addresses are judged by
 * the address guard a transport calls (HttpDnsFilter), so the verdict and
 * the error are the ones a request would meet.  What lies beyond the
 * policy (the server, host pauses and breakers) is not judged.
 *
 * A role may check itself; checking another role needs superuser or the
 * privileges of that role (what http.acls shows the caller is then all the
 * checked role's entries could be).  Another role is judged under this
 * session's settings, as if it made the request here after SET ROLE.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "dns.h"
#include "policy.h"
#include "request.h"
#include "settings.h"

#include <arpa/inet.h>

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

/* What the check of one URL found out, as it goes. */
typedef struct Check
{
	StringInfoData addrs;		/* the "addresses" array's members */
	int			naddrs;
	char	   *opened;			/* the first reserved address let through, and by what */
} Check;

/* A rule as it is written in a list: "pattern[:ports]". */
static char *
rule_text(const HttpHostRule *r)
{
	StringInfoData s;
	bool		ports = r->port_lo != 1 || r->port_hi != 65535;

	initStringInfo(&s);
	switch (r->kind)
	{
		case HTTP_RULE_ANY:
			appendStringInfoChar(&s, '*');
			break;
		case HTTP_RULE_NAME:
			appendStringInfoString(&s, r->name);
			break;
		case HTTP_RULE_SUFFIX:
			appendStringInfo(&s, "*.%s", r->name);
			break;
		case HTTP_RULE_NET:
			{
				char		text[INET6_ADDRSTRLEN];

				HttpAddrText(&r->net, text, sizeof(text));
				if (r->net.family == 6 && ports)
					appendStringInfo(&s, "[%s]", text);
				else
					appendStringInfoString(&s, text);
				if (r->prefix != (r->net.family == 4 ? 32 : 128))
					appendStringInfo(&s, "/%d", r->prefix);
				break;
			}
	}
	if (ports && r->port_lo == r->port_hi)
		appendStringInfo(&s, ":%d", r->port_lo);
	else if (ports)
		appendStringInfo(&s, ":%d-%d", r->port_lo, r->port_hi);
	return s.data;
}

/* The name of an ACL entry's role. */
static const char *
acl_role_text(Oid role)
{
	if (!OidIsValid(role))
		return "PUBLIC";
	return GetUserNameFromId(role, true) ?: "?";
}

/* Append "key": "value" (value NULL: null), with a comma unless first. */
static void
add_string(StringInfo s, const char *key, const char *value)
{
	if (s->data[s->len - 1] != '{')
		appendStringInfoString(s, ", ");
	escape_json(s, key);
	appendStringInfoString(s, ": ");
	if (value)
		escape_json(s, value);
	else
		appendStringInfoString(s, "null");
}

/* Append "key": raw JSON, with a comma unless first. */
static void
add_raw(StringInfo s, const char *key, const char *json)
{
	if (s->data[s->len - 1] != '{')
		appendStringInfoString(s, ", ");
	escape_json(s, key);
	appendStringInfo(s, ": %s", json);
}

/*
 * The entry that decided, in words and as {"list", "entry"[, "role"]}: of
 * a refusal, the entry that refused; of an allowance, the most specific
 * one that took part (an ACL entry, then an allow-list entry).
 */
static const char *
why_rule(const HttpPolicyWhy *why, bool allowed, char **words)
{
	StringInfoData r;
	const char *list;
	const HttpHostRule *rule;
	char	   *entry;

	if (why->denied)
	{
		list = "pg_http.denied_hosts";
		rule = why->denied;
	}
	else if (allowed && why->acl)
	{
		list = "http.acl";
		rule = why->acl;
	}
	else if (allowed && why->allowed)
	{
		list = "pg_http.allowed_hosts";
		rule = why->allowed;
	}
	else
	{
		*words = NULL;
		return "null";
	}
	entry = rule_text(rule);
	initStringInfo(&r);
	appendStringInfoChar(&r, '{');
	add_string(&r, "list", list);
	add_string(&r, "entry", entry);
	if (rule == why->acl)
		add_string(&r, "role", acl_role_text(why->acl_role));
	appendStringInfoChar(&r, '}');
	*words = rule == why->acl ?
		psprintf("%s entry \"%s\" granted to %s", list, entry, acl_role_text(why->acl_role)) :
		psprintf("%s entry \"%s\"", list, entry);
	return r.data;
}

/* Judge one resolved (or literal) address as a transport would; note it. */
static void
note_address(Check *c, const HttpRequest *req, const struct sockaddr *sa)
{
	HttpPolicyWhy why;
	const char *refused = HttpPolicyExplainAddress(req, sa, &why);
	char		text[INET6_ADDRSTRLEN];
	char	   *words;
	const char *rule = why_rule(&why, refused == NULL, &words);
	StringInfo	s = &c->addrs;

	HttpSockaddrText(sa, text, sizeof(text));
	if (c->naddrs++ > 0)
		appendStringInfoString(s, ", ");
	appendStringInfoChar(s, '{');
	add_string(s, "address", text);
	add_string(s, "class", why.reserved ? why.reserved : "public");
	add_raw(s, "allowed", refused ? "false" : "true");
	if (refused && strcmp(refused, "denied") == 0)
		add_string(s, "why", words);
	else if (refused)
		add_string(s, "why", psprintf("%s addresses are refused by the private-address guard unless an address entry of pg_http.allowed_hosts or http.acl opens them",
									  refused));
	else if (why.reserved && words)
	{
		add_string(s, "why", psprintf("opened by %s", words));
		if (c->opened == NULL)
			c->opened = psprintf("address %s opened by %s", text, words);
	}
	else
		add_string(s, "why", "a public address");
	add_raw(s, "rule", rule);
	appendStringInfoChar(s, '}');
}

/* HttpDnsFilter's add callback: the transport would try it; nothing to do. */
static void
keep_address(HttpExchange *x, const struct sockaddr *sa, socklen_t len, void *arg)
{
}

/*
 * dns.c callback: judge every address, then let HttpDnsFilter give the
 * verdict (and, when it refuses them all, the error) a transport would.
 */
static void
resolved(HttpExchange *x, int rc, struct addrinfo *res)
{
	Check	   *c = (Check *) x->tp;

	if (rc != 0)
	{
		HttpFailResolve(x, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
	{
		struct sockaddr_storage ss;

		if (HttpDnsAddress(ai, x->req->port, &ss))
			note_address(c, x->req, (struct sockaddr *) &ss);
	}
	(void) HttpDnsFilter(x, res, x->req->port, keep_address, NULL, 16);
}

/* The literal address of req as a socket address with its port. */
static void
literal_sockaddr(const HttpRequest *req, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (req->host_kind == HTTP_HOST_IPV4)
	{
		struct sockaddr_in *in = (struct sockaddr_in *) ss;

		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, req->addr, 4);
		in->sin_port = htons(req->port);
	}
	else
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, req->addr, 16);
		in6->sin6_port = htons(req->port);
	}
}

PG_FUNCTION_INFO_V1(pg_http_check);
/*
 * http.check(url text, role name DEFAULT current_user) RETURNS jsonb:
 * {"allowed", "url", "role", "host", "port", "scheme", "decided_by",
 * "rule", "addresses", "sqlstate", "message", "detail", "hint"}.  "rule"
 * is the list entry that decided: the host's (the entry that refused it,
 * or the most specific that let it through), or, when the addresses were
 * all refused, the entry that refused the address the error names.  Throws
 * 42704 for an unknown role, 42501 for a role the caller may not check.
 */
Datum
pg_http_check(PG_FUNCTION_ARGS)
{
	char	   *url = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Name		role_name = PG_GETARG_NAME(1);
	Oid			role = get_role_oid(NameStr(*role_name), false);
	HttpOptions base;
	HttpRequest *req;
	HttpFailure f;
	HttpUrlError url_error;
	HttpPolicyWhy why;
	HttpExchange *x = NULL;
	Check		c;
	StringInfoData out;
	const char *decided_by = NULL;
	const char *rule = "null";
	char	   *words = NULL;
	bool		allowed;
	bool		resolved_any = false;

	if (role != GetUserId() && !superuser() && !has_privs_of_role(GetUserId(), role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to check the HTTP policy of role \"%s\"",
						NameStr(*role_name)),
				 errdetail("Only superusers and roles with the privileges of role \"%s\" may check it.",
						   NameStr(*role_name))));

	memset(&c, 0, sizeof(c));
	initStringInfo(&c.addrs);
	HttpOptionsDefault(&base);
	req = HttpRequestNew("GET", &base);
	req->role = role;

	/* the checks a request meets, in its order: URL, transport and limits, policy, addresses */
	allowed = HttpRequestSetUrlChecked(req, url, strlen(url), &f, &url_error);
	if (!allowed)
		decided_by = "the URL";
	else if (!(allowed = HttpRequestCheck(req, &f)))
		decided_by = "the transport or the request's limits";
	else if (!(allowed = HttpPolicyExplain(req, role, &f, &why)))
	{
		rule = why_rule(&why, false, &words);
		if (words)
			decided_by = psprintf("%s (%s)", words, why.judged);
		else if (strcmp(why.refused_by, "http.acl") == 0)
			decided_by = psprintf("http.acl: no entry for role \"%s\" covers the %s",
								  NameStr(*role_name), why.judged);
		else if (strcmp(why.refused_by, "pg_http.allowed_hosts") == 0)
			decided_by = psprintf("pg_http.allowed_hosts: no entry covers the %s", why.judged);
		else if (why.reserved)
			decided_by = psprintf("%s: %s (%s)", why.refused_by, why.reserved, why.judged);
		else
			decided_by = why.refused_by;
	}
	else
	{
		rule = why_rule(&why, true, &words);
		if (words)
			decided_by = words;
		else if (req->acl == NULL && req->set->allowed->n == 0)
			decided_by = "no rule refuses it (pg_http.allowed_hosts is empty)";
		else
			decided_by = "no rule refuses it";

		/* the addresses a transport would connect to, judged as it judges them */
		if (req->proxy == NULL)
		{
			x = palloc0(sizeof(HttpExchange));
			x->req = req;
			x->state = HTTP_X_RUNNING;
			x->tp = &c;
			if (req->host_kind == HTTP_HOST_NAME)
			{
				/* a request waits for its name until its connect deadline */
				int			wait_ms = Min(req->opt.connect_timeout_ms, req->opt.timeout_ms);

				/* ... and fails as the engine fails it past that deadline */
				if (!HttpDnsResolveNow(x, resolved, wait_ms))
				{
					if (req->opt.connect_timeout_ms < req->opt.timeout_ms)
						HttpFailConnectTimeout(x);
					else
						HttpFailTimedOut(x);
				}
			}
			else
			{
				/* as a transport does: the literal address, judged like a resolved one */
				struct sockaddr_storage ss;
				struct addrinfo ai;

				literal_sockaddr(req, &ss);
				memset(&ai, 0, sizeof(ai));
				ai.ai_family = ss.ss_family;
				ai.ai_socktype = SOCK_STREAM;
				ai.ai_protocol = IPPROTO_TCP;
				ai.ai_addrlen = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
					sizeof(struct sockaddr_in6);
				ai.ai_addr = (struct sockaddr *) &ss;
				resolved(x, 0, &ai);
			}
			resolved_any = c.naddrs > 0;
			if (x->state != HTTP_X_FAILED && c.opened != NULL)
				decided_by = psprintf("%s; %s", decided_by, c.opened);
			if (x->state == HTTP_X_FAILED)
			{
				allowed = false;
				f.sqlstate = x->err_code;
				f.msg = x->err_msg;
				f.detail = x->err_detail;
				f.hint = x->err_hint;
				if (!resolved_any)
					decided_by = "host name resolution";	/* rule: the host's */
				else if (x->refused.ss_family != AF_UNSPEC)
				{
					/* the address the error names (of all refused) decides */
					char		text[INET6_ADDRSTRLEN];

					HttpSockaddrText((struct sockaddr *) &x->refused, text, sizeof(text));
					(void) HttpPolicyExplainAddress(req, (struct sockaddr *) &x->refused, &why);
					rule = why_rule(&why, false, &words);
					decided_by = words ?
						psprintf("%s (address %s)", words, text) :
						psprintf("%s: %s (address %s)", why.refused_by, why.reserved, text);
				}
				else
				{
					decided_by = "the address guard";
					rule = "null";
				}
			}
		}
	}

	initStringInfo(&out);
	appendStringInfoChar(&out, '{');
	add_raw(&out, "allowed", allowed ? "true" : "false");
	add_string(&out, "url", req->url ? req->url : HttpUrlWithoutCredentials(url, strlen(url)));
	add_string(&out, "role", NameStr(*role_name));
	add_string(&out, "host", req->host);
	if (req->host)
	{
		add_raw(&out, "port", psprintf("%d", req->port));
		add_string(&out, "scheme", req->tls ? "https" : "http");
	}
	else
	{
		add_raw(&out, "port", "null");
		add_raw(&out, "scheme", "null");
	}
	add_string(&out, "decided_by", decided_by);
	add_raw(&out, "rule", rule);
	if (req->proxy != NULL && allowed)
		add_raw(&out, "via_proxy", "true");
	add_raw(&out, "addresses", psprintf("[%s]", c.addrs.data));
	add_string(&out, "sqlstate", allowed ? NULL : unpack_sql_state(f.sqlstate));
	add_string(&out, "message", allowed ? NULL : f.msg);
	add_string(&out, "detail", allowed ? NULL : f.detail);
	add_string(&out, "hint", allowed ? NULL : f.hint);
	appendStringInfoChar(&out, '}');

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(out.data)));
}
