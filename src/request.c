/*-------------------------------------------------------------------------
 *
 * request.c
 *	  The request model: a request made from SQL values, checked before
 *	  anything is sent.
 *
 * Every check that can refuse a request runs before the engine is
 * involved, so nothing is sent for a request with a bad URL, a header with
 * CR/LF or a feature the transport lacks.  The checks a redirect hop needs
 * too (the URL, the transport's features, the limits) are one no-throw
 * function, HttpRequestCheck, whose failure the SQL entry points raise and
 * the redirect path attaches to its exchange.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "http1.h"
#include "hostctl.h"
#include "policy.h"
#include "request.h"
#include "settings.h"

#include "common/base64.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* The header model allocates with palloc, in CurrentMemoryContext. */
static void *
header_alloc(size_t size)
{
	return palloc(size);
}

static void *
header_grow(void *ptr, size_t size)
{
	return repalloc(ptr, size);
}

static const HttpAllocator header_allocator = {header_alloc, header_grow};

/* Set up the header model for this process; from _PG_init.  Never throws. */
void
HttpRequestInit(void)
{
	HttpHeadersSetAllocator(&header_allocator);
}

/* Decode %XX in s[0..len) into a new string. */
static char *
percent_decode(const char *s, size_t len)
{
	char	   *out = palloc(len + 1);
	size_t		k = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '%' && i + 2 < len)
		{
			char		hex[3] = {s[i + 1], s[i + 2], '\0'};

			out[k++] = (char) strtol(hex, NULL, 16);
			i += 2;
		}
		else
			out[k++] = s[i];
	}
	out[k] = '\0';
	return out;
}

/*
 * The errdetail for a URL or host error: a sentence, with the position of
 * the offending character where that helps.
 */
static char *
url_error_detail(HttpUrlError err, size_t errpos)
{
	const char *m = HttpUrlErrorMessage(err);

	if (err == HTTP_URL_E_SCHEME_MISSING || err == HTTP_URL_E_SCHEME)
		return psprintf("%c%s.", pg_ascii_toupper((unsigned char) m[0]), m + 1);
	return psprintf("%c%s at character %zu.", pg_ascii_toupper((unsigned char) m[0]), m + 1,
					errpos + 1);
}

/* Append a port number as decimal (no printf: this runs on every call). */
static void
append_port(StringInfo s, int port)
{
	char		digits[8];
	int			n = 0;

	do
		digits[n++] = (char) ('0' + port % 10);
	while ((port /= 10) > 0);
	appendStringInfoChar(s, ':');
	while (n > 0)
		appendStringInfoChar(s, digits[--n]);
}

/* Fill host, authority and display URL of req from a parsed host. */
static void
set_host(HttpRequest *req, const HttpUrl *u, int port, bool tls)
{
	bool		default_port = port == (tls ? 443 : 80);
	StringInfoData auth;

	if (u->host_kind == HTTP_HOST_NAME)
	{
		size_t		n = u->host_len;
		char	   *h;

		/* names compare lower-case and without the root's dot */
		if (n > 1 && u->host[n - 1] == '.')
			n--;
		h = palloc(n + 1);
		for (size_t i = 0; i < n; i++)
			h[i] = pg_ascii_tolower((unsigned char) u->host[i]);
		h[n] = '\0';
		req->host = h;
	}
	else
	{
		char		text[HTTP_URL_MAX_HOST + 2];

		HttpUrlHostText(u, text, sizeof(text));
		req->host = pstrdup(text);
	}
	req->host_kind = u->host_kind;
	memcpy(req->addr, u->addr, sizeof(req->addr));
	req->port = port;
	req->tls = tls;

	initStringInfo(&auth);
	if (u->host_kind == HTTP_HOST_IPV6)
		appendStringInfoChar(&auth, '[');
	appendStringInfoString(&auth, req->host);
	if (u->host_kind == HTTP_HOST_IPV6)
		appendStringInfoChar(&auth, ']');
	if (!default_port)
		append_port(&auth, port);
	req->authority = auth.data;
}

/* Set the display URL from what is set. */
static void
set_display_url(HttpRequest *req)
{
	StringInfoData url;

	initStringInfo(&url);
	appendStringInfoString(&url, req->tls ? "https://" : "http://");
	appendStringInfoString(&url, req->authority);
	appendStringInfoString(&url, req->target);
	req->url = url.data;
}

/* "scheme://authority" of req, the real one (not a Host override).  May throw. */
char *
HttpRequestOrigin(const HttpRequest *req)
{
	const char *scheme = req->tls ? "https" : "http";
	bool		default_port = req->port == (req->tls ? 443 : 80);

	if (req->host_kind == HTTP_HOST_IPV6)
		return default_port ? psprintf("%s://[%s]", scheme, req->host)
			: psprintf("%s://[%s]:%d", scheme, req->host, req->port);
	return default_port ? psprintf("%s://%s", scheme, req->host)
		: psprintf("%s://%s:%d", scheme, req->host, req->port);
}

/*
 * Set the request's URL, or say why it cannot be: too long for the
 * request's pg_http.max_url_length (54000), or not an http or https URL
 * (22023, with the parser's verdict in *url_error).  Userinfo becomes Basic credentials
 * (added by HttpRequestFinish).  Allocates, but does not throw for a bad
 * URL: a redirect hop uses it inside the engine.
 */
bool
HttpRequestSetUrlChecked(HttpRequest *req, const char *url, size_t len, HttpFailure *f,
						 HttpUrlError *url_error)
{
	HttpUrl		u;
	size_t		errpos = 0;
	HttpUrlError err;

	memset(f, 0, sizeof(*f));
	*url_error = HTTP_URL_OK;
	if (len > (size_t) req->set->max_url_length)
	{
		f->sqlstate = ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		f->msg = pstrdup("URL too long");
		f->detail = psprintf("The URL has %zu bytes; the limit is %d.", len, req->set->max_url_length);
		f->hint = "A superuser can raise pg_http.max_url_length.";
		return false;
	}
	err = HttpUrlParse(url, len, &u, &errpos);
	if (err != HTTP_URL_OK)
	{
		*url_error = err;
		f->sqlstate = ERRCODE_INVALID_PARAMETER_VALUE;
		f->msg = pstrdup("invalid URL");
		f->detail = url_error_detail(err, errpos);
		if (err == HTTP_URL_E_PATH_CHAR || err == HTTP_URL_E_PERCENT)
			f->hint = "Percent-encode spaces, control characters and non-ASCII characters in the path and query.";
		return false;
	}

	set_host(req, &u, u.port, u.tls);
	req->proxy = HttpProxyFor(req->set, req->tls, req->host);
	if (u.target_len == 0)
		req->target = pstrdup("/");
	else if (u.target[0] == '?')
		req->target = psprintf("/%.*s", (int) u.target_len, u.target);
	else
		req->target = pnstrdup(u.target, u.target_len);
	set_display_url(req);
	req->basic_auth = NULL;
	if (u.userinfo != NULL)
	{
		char	   *plain = percent_decode(u.userinfo, u.userinfo_len);
		int			plen = strlen(plain);
		char	   *b64 = palloc(pg_b64_enc_len(plen) + 1);
		int			n = HttpBase64Encode(plain, plen, b64, pg_b64_enc_len(plen));

		b64[Max(n, 0)] = '\0';
		req->basic_auth = psprintf("Basic %s", b64);
		explicit_bzero(plain, plen);
		pfree(plain);
	}
	return true;
}

/* RFC 3986 5.2.4: remove "." and ".." segments from an absolute path. */
char *
HttpRemoveDotSegments(const char *path)
{
	size_t		len = strlen(path);
	char	   *out = palloc(len + 2);
	size_t		o = 0;
	const char *in = path;

	while (*in)
	{
		if (strncmp(in, "../", 3) == 0)
			in += 3;
		else if (strncmp(in, "./", 2) == 0)
			in += 2;
		else if (strncmp(in, "/./", 3) == 0)
			in += 2;
		else if (strcmp(in, "/.") == 0)
			in = "/";
		else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0)
		{
			in = in[3] ? in + 3 : "/";
			while (o > 0 && out[--o] != '/')
				;
		}
		else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0)
			break;
		else
		{
			do
				out[o++] = *in++;
			while (*in && *in != '/');
		}
	}
	out[o] = '\0';
	return out;
}

/* Set the request's URL; throws what HttpRequestSetUrlChecked finds. */
void
HttpRequestSetUrl(HttpRequest *req, const char *url, size_t len)
{
	HttpFailure f;
	HttpUrlError err;

	if (!HttpRequestSetUrlChecked(req, url, len, &f, &err))
		HttpFailureRaise(&f, memchr(url, '@', len) != NULL);
}

/*
 * Set the request's URL from parts (http_request()): a host, with or
 * without brackets around IPv6, a port, a path and query, and tls.
 * Throws 22023 or 54000 (too long).
 */
void
HttpRequestSetParts(HttpRequest *req, const char *host, int port,
					const char *path, bool tls)
{
	HttpUrl		u;
	size_t		errpos = 0;
	size_t		hlen = strlen(host);
	HttpUrlError err;

	/* accept "[::1]" as well as "::1" */
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']')
	{
		host++;
		hlen -= 2;
	}
	memset(&u, 0, sizeof(u));
	err = HttpUrlParseHost(host, hlen, &u, &errpos);
	if (err != HTTP_URL_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid host \"%s\"", host),
				 errdetail_internal("%s", url_error_detail(err, errpos))));
	if (port < 1 || port > 65535)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("port %d is out of range", port),
				 errdetail("Ports go from 1 to 65535.")));
	if (strlen(host) + strlen(path) + 16 > (size_t) req->set->max_url_length)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("URL too long"),
				 errdetail("The host and path have %zu bytes; the limit is %d.",
						   strlen(host) + strlen(path), req->set->max_url_length),
				 errhint("A superuser can raise pg_http.max_url_length.")));
	err = HttpUrlCheckTarget(path, strlen(path), &errpos);
	if (err != HTTP_URL_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid path"),
				 path[0] != '/' ? errdetail("The path must start with \"/\".")
				 : errdetail_internal("%s", url_error_detail(err, errpos)),
				 errhint("Percent-encode spaces, control characters and non-ASCII characters in the path and query.")));
	set_host(req, &u, port, tls);
	req->proxy = HttpProxyFor(req->set, req->tls, req->host);
	req->target = pstrdup(path);
	set_display_url(req);
}

/*
 * The checks a request must pass before it is sent, and again at every
 * redirect hop: the transport has what it needs (https, HTTP/2,
 * decompression, a proxy the settings send it through), and its timeout is
 * within pg_http.max_timeout.  false with f filled when it does not.
 * Allocates only to word a failure; never throws for the request's sake.
 */
bool
HttpRequestCheck(const HttpRequest *req, HttpFailure *f)
{
	const char *t = HttpTransportAbout.name;
	uint32		features = HttpTransportAbout.features;

	memset(f, 0, sizeof(*f));
	f->sqlstate = ERRCODE_FEATURE_NOT_SUPPORTED;
	if (req->tls && !(features & HTTP_FEATURE_TLS))
	{
		f->msg = psprintf("HTTPS is not supported by the \"%s\" transport", t);
		f->detail = psprintf("The request was for %s.", req->url);
		f->hint = "Rebuild pg_http with -Dtransport=curl or -Dtransport=mbedtls.";
		return false;
	}
	if (req->opt.http_version == 20 && !(features & HTTP_FEATURE_HTTP2))
	{
		f->msg = psprintf("HTTP/2 is not supported by the \"%s\" transport", t);
		f->hint = "Rebuild pg_http with -Dtransport=curl, or leave out \"http_version\".";
		return false;
	}
	if (req->opt.decompress && !(features & HTTP_FEATURE_DECOMPRESS))
	{
		f->msg = psprintf("response decompression is not supported by the \"%s\" transport", t);
		f->hint = "Rebuild pg_http with -Dtransport=curl, or leave out \"decompress\".";
		return false;
	}
	if (req->proxy && !(features & HTTP_FEATURE_PROXY))
	{
		f->msg = req->set->proxy[0] ?
			psprintf("pg_http.proxy is set, but the \"%s\" transport cannot use a proxy", t) :
			psprintf("the server's environment names a proxy for this request, but the \"%s\" transport cannot use one", t);
		f->detail = pstrdup("Sending the request directly could bypass what the proxy is there for.");
		f->hint = "Rebuild pg_http with -Dtransport=curl, or reset pg_http.proxy and pg_http.proxy_from_environment.";
		return false;
	}
	if (req->opt.timeout_ms > req->set->max_timeout_ms)
	{
		f->sqlstate = ERRCODE_INSUFFICIENT_PRIVILEGE;
		f->msg = psprintf("timeout of %d ms exceeds pg_http.max_timeout", req->opt.timeout_ms);
		f->detail = psprintf("The limit is %d ms; it covers pg_http.timeout, the timeout argument and the \"timeout_ms\" option.",
							 req->set->max_timeout_ms);
		f->hint = "Ask for less, or have a superuser raise pg_http.max_timeout.";
		return false;
	}
	return true;
}

/*
 * Add the W3C trace context of pg_http.traceparent (which must be set): a
 * traceparent with its trace id and flags and a new random span id, the
 * request's own (its redirect hops and retries share it), and tracestate
 * from pg_http.tracestate unless the request has one.  A traceparent the
 * caller wrote wins: the caller is then not given a second one.  Throws
 * only if no random bytes can be had.
 */
static void
add_trace_context(HttpHeaderList *l)
{
	static const char hex[] = "0123456789abcdef";
	uint8		span[8];
	char		value[56];
	bool		zero;

	if (HttpHeaderGet(l, "traceparent") != NULL)
		return;
	do
	{
		if (!pg_strong_random(span, sizeof(span)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random span id")));
		zero = true;
		for (int i = 0; i < 8; i++)
			zero &= span[i] == 0;
	} while (zero);

	/* version 00, the session's trace id, our span id, the session's flags */
	memcpy(value, "00-", 3);
	memcpy(value + 3, http_traceparent + 3, 32);
	value[35] = '-';
	for (int i = 0; i < 8; i++)
	{
		value[36 + 2 * i] = hex[span[i] >> 4];
		value[37 + 2 * i] = hex[span[i] & 15];
	}
	value[52] = '-';
	memcpy(value + 53, http_traceparent + 53, 2);
	value[55] = '\0';
	HttpHeaderAdd(l, "traceparent", 11, value, 55);
	if (http_tracestate && http_tracestate[0] && HttpHeaderGet(l, "tracestate") == NULL)
		HttpHeaderAdd(l, "tracestate", 10, http_tracestate, strlen(http_tracestate));
}

/*
 * Complete a request made from SQL values and check it: the method (case
 * folded), headers pg_http manages (Host replaces the authority, a
 * Connection: close turns keep-alive off, Content-Length and
 * Transfer-Encoding are refused), the default headers, then
 * HttpRequestCheck and the policy (as the current user).  Throws on
 * anything it refuses (22023, 0A000, 42501), hiding the statement when the
 * request carries credentials.
 */
void
HttpRequestFinish(HttpRequest *req, const char *content_type)
{
	HttpHeaderList *l = &req->headers;
	char	   *v;
	size_t		mlen = strlen(req->method);
	HttpFailure f;

	/* methods are case-sensitive, but everyone means GET by "get" */
	if (!Http1IsToken(req->method, mlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid HTTP method \"%s\"", req->method),
				 errdetail("A method is a token such as GET, POST or PROPFIND.")));
	req->method = asc_toupper(req->method, mlen);

	/* a content type given as an argument is a header value like any other */
	if (content_type && !Http1IsFieldValue(content_type, strlen(content_type)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid content type"),
				 errdetail("Header values must not contain CR, LF, NUL or other control characters.")));

	/* credentials in the request: keep the statement out of the server log */
	for (int i = 0; i < l->n && !req->has_secrets; i++)
		req->has_secrets = HttpIsCredentialHeader(l->items[i].name, strlen(l->items[i].name));
	req->has_secrets |= req->basic_auth != NULL;

	/* framing is ours: the body decides its length */
	if (HttpHeaderGet(l, "Content-Length") || HttpHeaderGet(l, "Transfer-Encoding"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request headers must not set Content-Length or Transfer-Encoding"),
				 errdetail("pg_http frames the request body itself.")));

	/* Host replaces the authority; Connection is ours to manage */
	if ((v = HttpHeaderTake(l, "Host")) != NULL)
	{
		req->host_overridden = pg_strcasecmp(v, req->authority) != 0;
		req->authority = v;
	}
	if ((v = HttpHeaderTake(l, "Connection")) != NULL && pg_strcasecmp(v, "close") == 0)
		req->opt.keepalive = false;

	if (!HttpHeaderGet(l, "User-Agent") && http_user_agent && http_user_agent[0])
		HttpHeaderAdd(l, "User-Agent", 10, http_user_agent, strlen(http_user_agent));
	if (!HttpHeaderGet(l, "Accept"))
		HttpHeaderAdd(l, "Accept", 6, "*/*", 3);
	if (content_type && req->body && !HttpHeaderGet(l, "Content-Type"))
		HttpHeaderAdd(l, "Content-Type", 12, content_type, strlen(content_type));
	if (req->basic_auth && !HttpHeaderGet(l, "Authorization"))
		HttpHeaderAdd(l, "Authorization", 13, req->basic_auth, strlen(req->basic_auth));
	if (http_traceparent && http_traceparent[0])
		add_trace_context(l);

	/* POST, PUT and PATCH say "no body" explicitly (RFC 9110 8.6) */
	if (req->body == NULL &&
		(strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
		 strcmp(req->method, "PATCH") == 0))
	{
		req->body = "";
		req->body_len = 0;
	}

	if (!HttpRequestCheck(req, &f))
		HttpFailureRaise(&f, req->has_secrets);
	HttpPolicyCheckRequest(req);
	HttpCredentialsPrepare(req);
	HttpHostCtlLoad();			/* the host controls as they are now */
}

/*
 * A new request in CurrentMemoryContext: the method, options from base, and
 * a snapshot of the settings as they are now (everything below this layer
 * reads that snapshot).  May throw.
 */
HttpRequest *
HttpRequestNew(const char *method, const HttpOptions *base)
{
	HttpRequest *req = palloc0(sizeof(HttpRequest));

	req->method = (char *) method;
	req->opt = *base;
	req->set = HttpSettingsCopy(HttpSettingsCurrent());
	req->role = GetUserId();
	return req;
}

/* Text of a string-valued document field. */
static char *
doc_string(JsonbValue *v, const char *field)
{
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request field \"%s\" must be a string", field)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* A container-valued field as a Jsonb of its own. */
static Jsonb *
doc_jsonb(JsonbValue *v)
{
	return JsonbValueToJsonb(v);
}

/* A field of parameters or parts (forms.c judges its shape). */
static Jsonb *
doc_params(JsonbValue *v, const char *field)
{
	if (v->type != jbvBinary)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request field \"%s\" must be a JSON %s", field,
						strcmp(field, "multipart") == 0 ? "array" : "object")));
	return doc_jsonb(v);
}

/*
 * The body of a document's "form" or "multipart" (forms.c) into req, and
 * the Content-Type it needs.  Either one replaces "body", so a document
 * with two of them is refused rather than one silently chosen.  The
 * multipart Content-Type names the boundary, so the caller cannot set one.
 */
static const char *
doc_form_body(HttpRequest *req, Jsonb *form, Jsonb *multipart)
{
	char	   *content_type;
	size_t		len;

	if (req->body != NULL || (form != NULL && multipart != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request fields \"%s\" and \"%s\" cannot be combined",
						req->body != NULL ? "body" : "form",
						multipart != NULL ? "multipart" : "form"),
				 errdetail("\"body\", \"form\" and \"multipart\" each give the whole request body."),
				 errhint("Keep one of them; put other values into the form or into a part.")));
	if (form != NULL)
	{
		StringInfoData s;

		initStringInfo(&s);
		HttpParamsEncode(&s, form, HTTP_ENCODE_FORM, "form");
		req->body = s.data;
		req->body_len = s.len;
		return "application/x-www-form-urlencoded";
	}
	if (HttpHeaderGet(&req->headers, "Content-Type"))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a multipart request must not set Content-Type"),
				 errdetail("pg_http sets it to multipart/form-data with the boundary it chose."),
				 errhint("Remove the Content-Type header.")));
	HttpMultipartBody(multipart, (char **) &req->body, &len, &content_type);
	req->body_len = len;
	return content_type;
}

/*
 * A request from a request document {method, url, query, headers, body,
 * form, multipart, options}: a body that is not a string is sent as JSON;
 * "query" is appended to the URL, "form" and "multipart" make the body
 * (forms.c), built anew each time, so a queued document gets its body
 * (and a fresh boundary) when it is delivered.  The delivery options of a
 * queued request are left for HttpQueueOptionsFromDocument when queued,
 * refused otherwise.  Checked and judged as HttpRequestFinish does: throws
 * on anything it refuses.
 */
HttpRequest *
HttpRequestFromDocument(Jsonb *doc, const HttpOptions *base, bool queued)
{
	HttpRequest *req;
	JsonbIterator *it;
	JsonbValue	v;
	char	   *key = NULL;
	char	   *url = NULL;
	const char *content_type = NULL;
	Jsonb	   *options = NULL;
	Jsonb	   *query = NULL;
	Jsonb	   *form = NULL;
	Jsonb	   *multipart = NULL;

	if (!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a request document must be a JSON object"),
				 errhint("Write it as {\"method\": \"GET\", \"url\": \"https://...\", \"headers\": {...}, \"body\": ..., \"options\": {...}}.")));

	req = HttpRequestNew("GET", base);

	it = JsonbIteratorInit(&doc->root);
	while (HttpJsonbNextMember(&it, &key, &v))
	{
		if (strcmp(key, "method") == 0)
			req->method = doc_string(&v, key);
		else if (strcmp(key, "url") == 0)
			url = doc_string(&v, key);
		else if (strcmp(key, "headers") == 0)
		{
			if (v.type != jbvNull)
				HttpHeadersFromJsonb(&req->headers, doc_jsonb(&v));
		}
		else if (strcmp(key, "body") == 0)
		{
			if (v.type == jbvString)
			{
				req->body = pnstrdup(v.val.string.val, v.val.string.len);
				req->body_len = v.val.string.len;
			}
			else if (v.type != jbvNull)
			{
				/* any other JSON value is sent as JSON */
				Jsonb	   *jb = doc_jsonb(&v);

				req->body = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
				req->body_len = strlen(req->body);
				content_type = "application/json";
			}
		}
		else if (strcmp(key, "options") == 0)
		{
			if (v.type != jbvNull)
				options = doc_jsonb(&v);
		}
		else if (strcmp(key, "query") == 0)
		{
			if (v.type != jbvNull)
				query = doc_params(&v, key);
		}
		else if (strcmp(key, "form") == 0)
		{
			if (v.type != jbvNull)
				form = doc_params(&v, key);
		}
		else if (strcmp(key, "multipart") == 0)
		{
			if (v.type != jbvNull)
				multipart = doc_params(&v, key);
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized request field \"%s\"", key),
					 errhint("Valid fields are method, url, query, headers, body, form, multipart and options.")));
	}

	if (url == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request document has no \"url\"")));
	if (query != NULL)
	{
		StringInfoData q;

		initStringInfo(&q);
		HttpParamsEncode(&q, query, HTTP_ENCODE_QUERY, "query");
		url = HttpUrlWithQuery(url, strlen(url), q.data, q.len);
	}
	if (form != NULL || multipart != NULL)
		content_type = doc_form_body(req, form, multipart);
	HttpOptionsFromJsonb(&req->opt, options, queued);
	HttpRequestSetUrl(req, url, strlen(url));
	HttpRequestFinish(req, content_type);
	return req;
}

