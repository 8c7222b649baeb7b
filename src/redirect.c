/*-------------------------------------------------------------------------
 *
 * redirect.c
 *	  Following redirects, hop by hop, through the same checks as the first.
 *
 * Redirects are followed here, above the transports (curl's own following
 * is off), so that every hop of every transport goes through the same URL
 * parser, scheme restriction, host lists and address guard as the first
 * request, and the whole chain shares the first request's deadline.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "exchange.h"
#include "policy.h"
#include "redirect.h"
#include "request.h"

/* Is this status a redirect with a Location we could follow? */
static bool
is_redirect(int status)
{
	return status == 301 || status == 302 || status == 303 ||
		status == 307 || status == 308;
}

/*
 * Resolve a URI reference (a Location value, a Link target) against the
 * request's URL (RFC 3986 5.2.2).
 */
char *
HttpResolveReference(const HttpRequest *req, const char *loc)
{
	const char *p = loc;
	const char *base_query;
	char	   *base_path;
	char	   *merged;
	char	   *q;

	/* a scheme makes it absolute */
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		   (p > loc && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')))
		p++;
	if (p > loc && *p == ':')
		return pstrdup(loc);

	if (loc[0] == '/' && loc[1] == '/')
		return psprintf("%s:%s", req->tls ? "https" : "http", loc);

	/* split the base target into path and query */
	base_query = strchr(req->target, '?');
	base_path = base_query ? pnstrdup(req->target, base_query - req->target)
		: pstrdup(req->target);

	if (loc[0] == '\0')
		return psprintf("%s%s", HttpRequestOrigin(req), req->target);
	if (loc[0] == '?')
		return psprintf("%s%s%s", HttpRequestOrigin(req), base_path, loc);

	/* keep the query (and fragment) of the reference out of dot removal */
	q = strpbrk(loc, "?#");
	if (loc[0] == '/')
		merged = q ? pnstrdup(loc, q - loc) : pstrdup(loc);
	else
	{
		char	   *slash = strrchr(base_path, '/');

		merged = psprintf("%.*s%.*s", (int) (slash - base_path) + 1, base_path,
						  q ? (int) (q - loc) : (int) strlen(loc), loc);
	}
	return psprintf("%s%s%s", HttpRequestOrigin(req), HttpRemoveDotSegments(merged), q ? q : "");
}

/* Same scheme, host and port? */
static bool
same_origin(const HttpRequest *a, const HttpRequest *b)
{
	return a->tls == b->tls && a->port == b->port && strcmp(a->host, b->host) == 0;
}

/*
 * x got a response: if it is a redirect to follow (a 301, 302, 303, 307 or
 * 308 with a Location, within max_redirects), make x's request the next
 * hop's and return true; the engine starts it again.  The hop goes through
 * the checks of the first request (HttpRequestCheck, the policy with the
 * ACL rules it carries); a hop they refuse fails x (false).  Does not
 * throw for anything a server sends; allocates (in x's context).
 */
bool
HttpRedirectPrepare(HttpExchange *x)
{
	HttpRequest *old = x->req;
	const HttpRequest *src = old->plain ? old->plain : old;	/* without credentials */
	HttpRequest *req;
	const char *loc;
	char	   *url;
	HttpFailure f;
	HttpUrlError url_err;
	bool		to_get;

	if (x->state != HTTP_X_DONE || x->redirects >= old->opt.max_redirects ||
		!is_redirect(x->resp.status) ||
		(loc = HttpHeaderGet(&x->resp.headers, "Location")) == NULL)
		return false;

	/* the next hop's request: same options and settings, headers filtered */
	url = HttpResolveReference(old, loc);
	req = palloc(sizeof(HttpRequest));
	memcpy(req, old, sizeof(HttpRequest));
	req->host_overridden = false;	/* a Host header applies to its own hop only */
	memset(&req->headers, 0, sizeof(req->headers));
	if (!HttpRequestSetUrlChecked(req, url, strlen(url), &f, &url_err))
	{
		if (url_err == HTTP_URL_E_SCHEME)
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_PRIVILEGE,
							 "redirect to a scheme other than http or https refused",
							 "Hop %d from %s was to a URL with another scheme.",
							 x->redirects + 1, old->url);
		else if (url_err != HTTP_URL_OK)
			HttpExchangeFail(x, ERRCODE_PROTOCOL_VIOLATION, "invalid redirect location",
							 "Hop %d from %s: the Location header does not make a valid URL (%s).",
							 x->redirects + 1, old->url, HttpUrlErrorMessage(url_err));
		else
		{
			f.detail = psprintf("Hop %d from %s was to a URL of %zu bytes; the limit is %d.",
								x->redirects + 1, old->url, strlen(url), old->set->max_url_length);
			HttpExchangeFailWith(x, &f);
		}
		return false;
	}

	/* 303, and 301/302 after a POST, continue as GET without a body */
	to_get = (x->resp.status == 303 && strcmp(old->method, "HEAD") != 0) ||
		((x->resp.status == 301 || x->resp.status == 302) && strcmp(old->method, "POST") == 0);
	if (to_get)
	{
		req->method = "GET";
		req->body = NULL;
		req->body_len = 0;
	}

	req->plain = NULL;
	for (int i = 0; i < src->headers.n; i++)
	{
		const HttpHeader *h = &src->headers.items[i];
		bool		drop = false;

		/* credentials are not sent on to another origin */
		if (!same_origin(old, req))
			drop = HttpIsCredentialHeader(h->name, strlen(h->name));
		if (to_get && pg_strcasecmp(h->name, "Content-Type") == 0)
			drop = true;
		if (!drop)
			HttpHeaderAdd(&req->headers, h->name, strlen(h->name), h->value, strlen(h->value));
	}
	if (req->basic_auth && !HttpHeaderGet(&req->headers, "Authorization"))
		HttpHeaderAdd(&req->headers, "Authorization", 13, req->basic_auth, strlen(req->basic_auth));

	x->req = req;
	x->resp.url = req->url;
	if (!HttpRequestCheck(req, &f))
	{
		f.detail = psprintf("Hop %d was to %s.", x->redirects + 1, req->url);
		HttpExchangeFailWith(x, &f);
		return false;
	}
	if (!HttpPolicyCheckExchange(x))
		return false;

	x->redirects++;
	return true;
}
