/*-------------------------------------------------------------------------
 *
 * marshal.c
 *	  SQL values <-> the core model: headers, options, request documents,
 *	  URLs, response bodies.
 *
 * Every check that can refuse a request runs here, before the engine is
 * involved, so nothing is sent for a request with a bad URL, a header with
 * CR/LF, or an unknown option.  Header values are never echoed in errors:
 * they may carry credentials.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "pgcompat.h"
#include "transport.h"
#include "http1.h"
#include "netaddr.h"

#include <arpa/inet.h>

#include "catalog/namespace.h"
#include "common/base64.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* A copy of s with ASCII letters folded (names here are ASCII tokens). */
static char *
ascii_case(const char *s, bool upper)
{
	size_t		n = strlen(s);
	char	   *out = palloc(n + 1);

	for (size_t i = 0; i <= n; i++)
		out[i] = upper ? pg_ascii_toupper((unsigned char) s[i])
			: pg_ascii_tolower((unsigned char) s[i]);
	return out;
}

/* See pg_http.h. */
void
HttpHeaderAdd(HttpHeaderList *l, const char *name, size_t name_len,
			  const char *value, size_t value_len)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = l->items ? repalloc(l->items, l->cap * sizeof(HttpHeader))
			: palloc(l->cap * sizeof(HttpHeader));
	}
	l->items[l->n].name = pnstrdup(name, name_len);
	l->items[l->n].value = pnstrdup(value, value_len);
	l->n++;
}

/* See pg_http.h. */
const char *
HttpHeaderGet(const HttpHeaderList *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (pg_strcasecmp(l->items[i].name, name) == 0)
			return l->items[i].value;
	return NULL;
}

/* Remove every field called name; returns the first value, or NULL. */
static char *
header_take(HttpHeaderList *l, const char *name)
{
	char	   *first = NULL;
	int			k = 0;

	for (int i = 0; i < l->n; i++)
	{
		if (pg_strcasecmp(l->items[i].name, name) == 0)
		{
			if (first == NULL)
				first = l->items[i].value;
			continue;
		}
		l->items[k++] = l->items[i];
	}
	l->n = k;
	return first;
}

/* Validate and add one request header given as SQL input. */
static void
add_request_header(HttpHeaderList *l, const char *name, int name_len,
				   const char *value, int value_len)
{
	if (!Http1IsToken(name, name_len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid HTTP header name \"%.*s\"", Min(name_len, 64), name),
				 errdetail("Header names must be non-empty and consist of letters, digits and !#$%%&'*+-.^_`|~ only.")));
	if (!Http1IsFieldValue(value, value_len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for HTTP header \"%.*s\"", name_len, name),
				 errdetail("Header values must not contain CR, LF, NUL or other control characters."),
				 errhidestmt(true)));
	HttpHeaderAdd(l, name, name_len, value, value_len);
}

/* See pg_http.h. */
void
HttpHeadersFromJsonb(HttpHeaderList *l, Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	JsonbValue	key;
	bool		in_array = false;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("headers must be a JSON object"),
				 errhint("Write headers as {\"Name\": \"value\"}, or {\"Name\": [\"v1\", \"v2\"]} to repeat a header.")));

	memset(&key, 0, sizeof(key));
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_KEY:
				key = v;
				break;
			case WJB_VALUE:
			case WJB_ELEM:
				if (v.type != jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("value of HTTP header \"%.*s\" must be a string or an array of strings",
									key.val.string.len, key.val.string.val)));
				add_request_header(l, key.val.string.val, key.val.string.len,
								   v.val.string.val, v.val.string.len);
				break;
			case WJB_BEGIN_ARRAY:
				if (in_array)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("value of HTTP header \"%.*s\" must be a string or an array of strings",
									key.val.string.len, key.val.string.val)));
				in_array = true;
				break;
			case WJB_END_ARRAY:
				in_array = false;
				break;
			case WJB_BEGIN_OBJECT:
				/* the root; a nested object shows up as a value */
				if (key.type == jbvString)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("value of HTTP header \"%.*s\" must be a string or an array of strings",
									key.val.string.len, key.val.string.val)));
				break;
			default:
				break;
		}
	}
}

/*
 * s[0..len) as a string valid in the database encoding: s itself when it
 * is (and ends at len), else a palloc'd copy.  What a server sends is not
 * always valid: in a UTF-8 database a byte that does not start a valid
 * UTF-8 sequence is read as ISO-8859-1 (what header bytes beyond ASCII
 * historically are, RFC 9110 5.5); in other encodings, or for NUL, it
 * becomes '?'.  So a response can always be stored, dumped and restored.
 */
char *
HttpTextForDatabase(const char *s, size_t len)
{
	int			db = GetDatabaseEncoding();
	StringInfoData out;
	size_t		i = 0;

	if (pg_verify_mbstr(db, s, (int) len, true) && s[len] == '\0')
		return (char *) s;
	initStringInfo(&out);
	while (i < len)
	{
		unsigned char b = (unsigned char) s[i];

		if (b == 0)
		{
			appendStringInfoChar(&out, '?');
			i++;
		}
		else if (b < 0x80 || db == PG_SQL_ASCII)
		{
			appendStringInfoChar(&out, (char) b);
			i++;
		}
		else if (db == PG_UTF8)
		{
			int			n = pg_utf_mblen((const unsigned char *) s + i);

			if (i + n <= len && pg_utf8_islegal((const unsigned char *) s + i, n))
			{
				appendBinaryStringInfo(&out, s + i, n);
				i += n;
			}
			else
			{
				appendStringInfoChar(&out, (char) (0xC0 | (b >> 6)));
				appendStringInfoChar(&out, (char) (0x80 | (b & 0x3F)));
				i++;
			}
		}
		else
		{
			int			n = pg_encoding_verifymbchar(db, s + i, (int) (len - i));

			if (n > 0)
			{
				appendBinaryStringInfo(&out, s + i, n);
				i += n;
			}
			else
			{
				appendStringInfoChar(&out, '?');
				i++;
			}
		}
	}
	return out.data;
}

/*
 * jsonb's key order: shorter first, then bytewise; equal names keep their
 * arrival order (the sort below is stable).
 */
static inline bool
header_key_before(const char *a, size_t alen, const char *b, size_t blen)
{
	if (alen != blen)
		return alen < blen;
	return memcmp(a, b, alen) < 0;
}

/*
 * See pg_http.h.  Names are lower-cased (HTTP names are case-insensitive,
 * and HTTP/2 sends them lower-case anyway); a name seen once maps to its
 * string value, a repeated name to an array of its values in arrival order.
 *
 * The object is built already in jsonb's key order, with each name once, and
 * handed to JsonbValueToJsonb directly: pushJsonbValue would sort and
 * de-duplicate the keys again, and this runs on every response.
 */
Jsonb *
HttpHeadersToJsonb(const HttpHeaderList *l)
{
	int			n = l->n;
	char	  **names = palloc(sizeof(char *) * Max(n, 1));
	size_t	   *lens = palloc(sizeof(size_t) * Max(n, 1));
	int		   *order = palloc(sizeof(int) * Max(n, 1));
	JsonbPair  *pairs = palloc(sizeof(JsonbPair) * Max(n, 1));
	int			npairs = 0;
	JsonbValue	obj;

	/* lower-cased names, and an insertion sort of their indexes (n is small) */
	for (int i = 0; i < n; i++)
	{
		int			j;

		names[i] = ascii_case(l->items[i].name, false);
		lens[i] = strlen(names[i]);
		names[i] = HttpTextForDatabase(names[i], lens[i]);
		lens[i] = strlen(names[i]);
		for (j = i; j > 0 && header_key_before(names[i], lens[i], names[order[j - 1]], lens[order[j - 1]]); j--)
			order[j] = order[j - 1];
		order[j] = i;
	}

	for (int i = 0; i < n;)
	{
		int			first = order[i];
		int			j = i + 1;
		JsonbPair  *p = &pairs[npairs++];

		while (j < n && lens[order[j]] == lens[first] &&
			   memcmp(names[order[j]], names[first], lens[first]) == 0)
			j++;
		p->key.type = jbvString;
		p->key.val.string.val = names[first];
		p->key.val.string.len = (int) lens[first];
		p->order = npairs - 1;
		if (j - i == 1)
		{
			const char *v = l->items[first].value;

			p->value.type = jbvString;
			p->value.val.string.val = HttpTextForDatabase(v, strlen(v));
			p->value.val.string.len = (int) strlen(p->value.val.string.val);
		}
		else
		{
			JsonbValue *elems = palloc(sizeof(JsonbValue) * (j - i));

			for (int k = i; k < j; k++)
			{
				const char *v = l->items[order[k]].value;

				v = HttpTextForDatabase(v, strlen(v));
				elems[k - i].type = jbvString;
				elems[k - i].val.string.val = (char *) v;
				elems[k - i].val.string.len = (int) strlen(v);
			}
			p->value.type = jbvArray;
			p->value.val.array.nElems = j - i;
			p->value.val.array.elems = elems;
			p->value.val.array.rawScalar = false;
		}
		i = j;
	}

	obj.type = jbvObject;
	obj.val.object.nPairs = npairs;
	obj.val.object.pairs = pairs;
	return JsonbValueToJsonb(&obj);
}

/* See pg_http.h. */
void
HttpOptionsDefault(HttpOptions *o)
{
	o->timeout_ms = http_timeout_ms;
	o->connect_timeout_ms = http_connect_timeout_ms;
	o->max_response_bytes = http_max_response_bytes;
	o->keepalive = http_keepalive;
	o->max_redirects = 0;
	o->http_version = 0;
	o->decompress = false;
}

/* An integer option value in [min, max]. */
static int64
option_int(const char *name, JsonbValue *v, int64 min, int64 max)
{
	int64		n = 0;
	bool		ok = false;

	if (v->type == jbvNumeric)
	{
		Datum		d = DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric));

		/* numeric_int8 rounds: insist on an integral value */
		ok = DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(v->val.numeric),
											  DirectFunctionCall1(int8_numeric, d)));
		n = DatumGetInt64(d);
	}
	if (!ok || n < min || n > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be an integer between " INT64_FORMAT " and " INT64_FORMAT,
						name, min, max)));
	return n;
}

/* A boolean option value. */
static bool
option_bool(const char *name, JsonbValue *v)
{
	if (v->type != jbvBool)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be true or false", name)));
	return v->val.boolean;
}

/* Refuse an option that would go past a superuser's limit. */
static void
option_cap(const char *name, int64 value, int64 cap, const char *setting)
{
	if (value > cap)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("option \"%s\" cannot exceed %s", name, setting),
				 errdetail("Requested " INT64_FORMAT ", limit " INT64_FORMAT ".", value, cap),
				 errhint("Options can only tighten limits; a superuser can raise %s.", setting)));
}

/* See pg_http.h. */
bool
HttpIsQueueOption(const char *key)
{
	static const char *const keys[] = {
		"max_attempts", "backoff_ms", "backoff_max_ms", "retry_4xx",
		"not_before", "delay_ms", "idempotency_key", "callback"
	};

	for (size_t i = 0; i < lengthof(keys); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

static void options_from_jsonb(HttpOptions *o, Jsonb *jb, bool queued);

/* The next member of an object being iterated; false at its end. */
static bool
next_member(JsonbIterator **it, char **key, JsonbValue *v)
{
	JsonbIteratorToken tok;

	while ((tok = JsonbIteratorNext(it, v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			*key = pnstrdup(v->val.string.val, v->val.string.len);
		else if (tok == WJB_VALUE)
			return true;
	}
	return false;
}


/* See pg_http.h. */
void
HttpQueueOptionsFromDocument(HttpQueueOptions *q, Jsonb *doc)
{
	JsonbValue *opts;
	JsonbIterator *it;
	JsonbValue	v;
	char	   *key = NULL;

	q->max_attempts = http_queue_max_attempts;
	q->backoff_ms = 1000;
	q->backoff_max_ms = 300000;
	q->retry_4xx = false;
	q->delay_ms = 0;
	q->not_before = NULL;
	q->idempotency_key = NULL;
	q->callback = NULL;

	if (!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		return;					/* HttpRequestFromDocument says why */
	opts = getKeyJsonValueFromContainer(&doc->root, "options", 7, NULL);
	if (opts == NULL || opts->type != jbvBinary ||
		!JsonContainerIsObject(opts->val.binary.data))
		return;

	it = JsonbIteratorInit(opts->val.binary.data);
	while (next_member(&it, &key, &v))
	{
		if (strcmp(key, "max_attempts") == 0)
			q->max_attempts = (int) option_int(key, &v, 1, 100);
		else if (strcmp(key, "backoff_ms") == 0)
			q->backoff_ms = (int) option_int(key, &v, 1, 24 * 3600 * 1000);
		else if (strcmp(key, "backoff_max_ms") == 0)
			q->backoff_max_ms = (int) option_int(key, &v, 1, 24 * 3600 * 1000);
		else if (strcmp(key, "retry_4xx") == 0)
			q->retry_4xx = option_bool(key, &v);
		else if (strcmp(key, "delay_ms") == 0)
			q->delay_ms = option_int(key, &v, 0, HTTP_QUEUE_MAX_DELAY_MS);
		else if (strcmp(key, "not_before") == 0 || strcmp(key, "idempotency_key") == 0 ||
				 strcmp(key, "callback") == 0)
		{
			char	   *str;

			if (v.type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be a string", key)));
			str = pnstrdup(v.val.string.val, v.val.string.len);
			if (key[0] == 'n')
				q->not_before = str;
			else if (key[0] == 'i')
				q->idempotency_key = str;
			else
				q->callback = str;
		}
	}
	if (q->backoff_max_ms < q->backoff_ms)
		q->backoff_max_ms = q->backoff_ms;
}

/* See pg_http.h. */
void
HttpOptionsFromJsonb(HttpOptions *o, Jsonb *jb)
{
	options_from_jsonb(o, jb, false);
}

/*
 * Read the "options" object into o.  The delivery options of a queued
 * request (queue.c reads them) are skipped when queued, refused otherwise.
 */
static void
options_from_jsonb(HttpOptions *o, Jsonb *jb, bool queued)
{
	JsonbIterator *it;
	JsonbValue	v;
	char	   *key = NULL;

	if (jb == NULL)
		return;
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));

	it = JsonbIteratorInit(&jb->root);
	while (next_member(&it, &key, &v))
	{
		if (strcmp(key, "timeout_ms") == 0)
			o->timeout_ms = (int) option_int(key, &v, 1, INT_MAX);
		else if (strcmp(key, "connect_timeout_ms") == 0)
			o->connect_timeout_ms = (int) option_int(key, &v, 1, INT_MAX);
		else if (strcmp(key, "max_response_bytes") == 0)
		{
			o->max_response_bytes = option_int(key, &v, 0, PG_INT64_MAX);
			option_cap(key, o->max_response_bytes, http_max_response_bytes,
					   "pg_http.max_response_bytes");
		}
		else if (strcmp(key, "keepalive") == 0)
			o->keepalive = option_bool(key, &v) && http_keepalive;
		else if (strcmp(key, "max_redirects") == 0)
		{
			o->max_redirects = (int) option_int(key, &v, 0, INT_MAX);
			option_cap(key, o->max_redirects, http_max_redirects, "pg_http.max_redirects");
		}
		else if (strcmp(key, "http_version") == 0)
		{
			if (v.type == jbvString && v.val.string.len == 3 &&
				memcmp(v.val.string.val, "1.1", 3) == 0)
				o->http_version = 11;
			else if (v.type == jbvString && v.val.string.len == 1 && v.val.string.val[0] == '2')
				o->http_version = 20;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"http_version\" must be \"1.1\" or \"2\"")));
		}
		else if (strcmp(key, "decompress") == 0)
			o->decompress = option_bool(key, &v);
		else if (HttpIsQueueOption(key))
		{
			if (!queued)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" applies only to queued requests", key),
						 errhint("Pass it to http.enqueue().")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized option \"%s\"", key),
					 errhint("Valid options are timeout_ms, connect_timeout_ms, max_response_bytes, keepalive, max_redirects, http_version and decompress.")));
	}
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

/* See pg_http.h: "scheme://authority", the real one (not a Host override). */
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

/* See pg_http.h. */
void
HttpRequestSetUrl(HttpRequest *req, const char *url, size_t len)
{
	HttpUrl		u;
	size_t		errpos = 0;
	HttpUrlError err;

	if (len > (size_t) req->set->max_url_length)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("URL too long"),
				 errdetail("The URL has %zu bytes; the limit is %d.", len, req->set->max_url_length),
				 errhint("A superuser can raise pg_http.max_url_length."),
				 errhidestmt(memchr(url, '@', len) != NULL)));
	err = HttpUrlParse(url, len, &u, &errpos);
	if (err != HTTP_URL_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid URL"),
				 errdetail_internal("%s", url_error_detail(err, errpos)),
				 errhidestmt(memchr(url, '@', len) != NULL),
				 err == HTTP_URL_E_PATH_CHAR || err == HTTP_URL_E_PERCENT ?
				 errhint("Percent-encode spaces, control characters and non-ASCII characters in the path and query.") : 0));

	set_host(req, &u, u.port, u.tls);
	req->proxy = HttpProxyFor(req->set, req->tls, req->host);
	if (u.target_len == 0)
		req->target = pstrdup("/");
	else if (u.target[0] == '?')
		req->target = psprintf("/%.*s", (int) u.target_len, u.target);
	else
		req->target = pnstrdup(u.target, u.target_len);
	set_display_url(req);

	/* userinfo becomes Basic credentials (added by HttpRequestFinish) */
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
}

/* See pg_http.h. */
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

/* See pg_http.h. */
void
HttpRequestFinish(HttpRequest *req, const char *content_type)
{
	HttpHeaderList *l = &req->headers;
	char	   *v;
	size_t		mlen = strlen(req->method);

	/* methods are case-sensitive, but everyone means GET by "get" */
	if (!Http1IsToken(req->method, mlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid HTTP method \"%s\"", req->method),
				 errdetail("A method is a token such as GET, POST or PROPFIND.")));
	req->method = ascii_case(req->method, true);

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
	if ((v = header_take(l, "Host")) != NULL)
	{
		req->host_overridden = pg_strcasecmp(v, req->authority) != 0;
		req->authority = v;
	}
	if ((v = header_take(l, "Connection")) != NULL && pg_strcasecmp(v, "close") == 0)
		req->opt.keepalive = false;

	if (!HttpHeaderGet(l, "User-Agent") && http_user_agent && http_user_agent[0])
		HttpHeaderAdd(l, "User-Agent", 10, http_user_agent, strlen(http_user_agent));
	if (!HttpHeaderGet(l, "Accept"))
		HttpHeaderAdd(l, "Accept", 6, "*/*", 3);
	if (content_type && req->body && !HttpHeaderGet(l, "Content-Type"))
		HttpHeaderAdd(l, "Content-Type", 12, content_type, strlen(content_type));
	if (req->basic_auth && !HttpHeaderGet(l, "Authorization"))
		HttpHeaderAdd(l, "Authorization", 13, req->basic_auth, strlen(req->basic_auth));

	/* POST, PUT and PATCH say "no body" explicitly (RFC 9110 8.6) */
	if (req->body == NULL &&
		(strcmp(req->method, "POST") == 0 || strcmp(req->method, "PUT") == 0 ||
		 strcmp(req->method, "PATCH") == 0))
	{
		req->body = "";
		req->body_len = 0;
	}

	if (req->opt.http_version == 20 && !(HttpTransportFeatures() & HTTP_FEATURE_HTTP2))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("HTTP/2 is not supported by the \"%s\" transport", HttpTransportName()),
				 errhint("Rebuild pg_http with -Dtransport=curl, or leave out \"http_version\".")));
	if (req->opt.decompress && !(HttpTransportFeatures() & HTTP_FEATURE_DECOMPRESS))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("response decompression is not supported by the \"%s\" transport", HttpTransportName()),
				 errhint("Rebuild pg_http with -Dtransport=curl, or leave out \"decompress\".")));
	if (req->proxy && !(HttpTransportFeatures() & HTTP_FEATURE_PROXY))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 req->set->proxy[0] ?
				 errmsg("pg_http.proxy is set, but the \"%s\" transport cannot use a proxy", HttpTransportName()) :
				 errmsg("the server's environment names a proxy for this request, but the \"%s\" transport cannot use one", HttpTransportName()),
				 errdetail("Sending the request directly could bypass what the proxy is there for."),
				 errhint("Rebuild pg_http with -Dtransport=curl, or reset pg_http.proxy and pg_http.proxy_from_environment.")));
	if (req->tls && !(HttpTransportFeatures() & HTTP_FEATURE_TLS))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("HTTPS is not supported by the \"%s\" transport", HttpTransportName()),
				 errdetail("The request was for %s.", req->url),
				 errhint("Rebuild pg_http with -Dtransport=curl or -Dtransport=mbedtls.")));

	if (req->opt.timeout_ms > http_max_timeout_ms)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("timeout of %d ms exceeds pg_http.max_timeout", req->opt.timeout_ms),
				 errdetail("The limit is %d ms; it covers pg_http.timeout, the timeout argument and the \"timeout_ms\" option.",
						   http_max_timeout_ms),
				 errhint("Ask for less, or have a superuser raise pg_http.max_timeout.")));

	HttpPolicyCheckRequest(req);
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

/* See pg_http.h. */
HttpRequest *
HttpRequestFromDocument(Jsonb *doc, const HttpOptions *base)
{
	return HttpRequestFromQueuedDocument(doc, base, false);
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
	return req;
}

/* See pg_http.h. */
HttpRequest *
HttpRequestFromQueuedDocument(Jsonb *doc, const HttpOptions *base, bool queued)
{
	HttpRequest *req;
	JsonbIterator *it;
	JsonbValue	v;
	char	   *key = NULL;
	char	   *url = NULL;
	const char *content_type = NULL;
	Jsonb	   *options = NULL;

	if (!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a request document must be a JSON object"),
				 errhint("Write it as {\"method\": \"GET\", \"url\": \"https://...\", \"headers\": {...}, \"body\": ..., \"options\": {...}}.")));

	req = HttpRequestNew("GET", base);

	it = JsonbIteratorInit(&doc->root);
	while (next_member(&it, &key, &v))
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
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized request field \"%s\"", key),
					 errhint("Valid fields are method, url, headers, body and options.")));
	}

	if (url == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request document has no \"url\"")));
	options_from_jsonb(&req->opt, options, queued);
	HttpRequestSetUrl(req, url, strlen(url));
	HttpRequestFinish(req, content_type);
	return req;
}

/* See pg_http.h. */
const char *
HttpContentType(const HttpResponse *resp)
{
	return HttpHeaderGet(&resp->headers, "Content-Type");
}

/* The charset parameter of a Content-Type value, or NULL. */
static char *
content_type_charset(const char *ct)
{
	const char *p = ct;

	while (ct && (p = strchr(p, ';')) != NULL)
	{
		const char *e;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (pg_strncasecmp(p, "charset=", 8) != 0)
			continue;
		p += 8;
		if (*p == '"')
		{
			p++;
			e = strchr(p, '"');
		}
		else
		{
			e = p;
			while (*e && *e != ';' && *e != ' ' && *e != '\t')
				e++;
		}
		return e ? pnstrdup(p, e - p) : pstrdup(p);
	}
	return NULL;
}

/* Record a body decoding failure on x (it may already be DONE). */
static void
fail_decode(HttpExchange *x, int sqlstate, char *msg, char *detail)
{
	x->state = HTTP_X_FAILED;
	x->err_code = sqlstate;
	x->err_msg = msg;
	x->err_detail = detail;
	x->err_hint = pstrdup("Use http.request_bytes() to receive the body as bytea.");
}

/*
 * See pg_http.h.  The body is decoded from the charset its Content-Type
 * declares (UTF-8 when none) into the database encoding.  On failure x is
 * marked failed with the reason and NULL is returned.
 */
text *
HttpBodyToText(HttpExchange *x)
{
	StringInfo	body = &x->resp.body;
	char	   *charset = content_type_charset(HttpContentType(&x->resp));
	int			enc = PG_UTF8;
	int			db = GetDatabaseEncoding();
	text	   *t;

	if (body->len == 0)
		return cstring_to_text_with_len("", 0);

	if (charset != NULL)
	{
		if (pg_strcasecmp(charset, "us-ascii") == 0 || pg_strcasecmp(charset, "ascii") == 0)
			enc = PG_SQL_ASCII;
		else if ((enc = pg_char_to_encoding(charset)) < 0 || !PG_VALID_ENCODING(enc))
		{
			fail_decode(x, ERRCODE_INVALID_PARAMETER_VALUE,
						psprintf("unsupported charset \"%s\" in HTTP response", charset),
						pstrdup("PostgreSQL has no encoding of that name."));
			return NULL;
		}
	}

	if (enc == PG_SQL_ASCII)
	{
		for (int i = 0; i < body->len; i++)
			if ((unsigned char) body->data[i] >= 0x80 || body->data[i] == '\0')
			{
				fail_decode(x, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
							pstrdup("HTTP response body is not valid US-ASCII"),
							psprintf("Byte %d is 0x%02x.", i + 1, (unsigned char) body->data[i]));
				return NULL;
			}
		return cstring_to_text_with_len(body->data, body->len);
	}

	if (!pg_verify_mbstr(enc, body->data, body->len, true))
	{
		fail_decode(x, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
					psprintf("HTTP response body is not valid %s", pg_encoding_to_char(enc)),
					charset ? psprintf("The response declares charset \"%s\".", charset)
					: pstrdup("The response declares no charset, so UTF-8 was expected."));
		return NULL;
	}
	if (enc == db || db == PG_SQL_ASCII)
		return cstring_to_text_with_len(body->data, body->len);

	/* convert into the database encoding, refusing what it cannot hold */
	{
		Oid			proc = FindDefaultConversionProc(enc, db);
		int			cap;
		unsigned char *out;
		int			used;

		if (!OidIsValid(proc))
		{
			fail_decode(x, ERRCODE_UNDEFINED_FUNCTION,
						psprintf("no conversion from %s to the database encoding %s",
								 pg_encoding_to_char(enc), pg_encoding_to_char(db)),
						NULL);
			return NULL;
		}
		if ((Size) body->len >= (MaxAllocSize / MAX_CONVERSION_GROWTH) - 1)
			cap = MaxAllocSize - 1;
		else
			cap = body->len * MAX_CONVERSION_GROWTH + 1;
		out = palloc(cap);
		used = pg_do_encoding_conversion_buf(proc, enc, db, (unsigned char *) body->data,
											 body->len, out, cap, true);
		if (used < body->len)
		{
			fail_decode(x, ERRCODE_UNTRANSLATABLE_CHARACTER,
						psprintf("HTTP response body has characters the database encoding %s cannot hold",
								 pg_encoding_to_char(db)),
						psprintf("Conversion from %s stopped at byte %d.", pg_encoding_to_char(enc), used + 1));
			return NULL;
		}
		t = cstring_to_text((char *) out);
		pfree(out);
		return t;
	}
}

/* See pg_http.h. */
void
HttpFormatAddress(const struct sockaddr *sa, char *buf, size_t len)
{
	HttpAddr	a;
	int			port;

	if (!HttpAddrFromSockaddr(sa, &a, &port))
	{
		strlcpy(buf, "?", len);
		return;
	}
	HttpAddrText(&a, buf, len);
}


/* ------------------------------------------------------------------ */
/* Credentials in requests */

/* Headers that carry credentials. */
static const char *const credential_headers[] = {
	"Authorization", "Proxy-Authorization", "Cookie",
};

/* Is name (of len bytes) one of the credential headers? */
bool
HttpIsCredentialHeader(const char *name, size_t len)
{
	for (size_t i = 0; i < lengthof(credential_headers); i++)
		if (strlen(credential_headers[i]) == len &&
			pg_strncasecmp(name, credential_headers[i], len) == 0)
			return true;
	return false;
}

/*
 * The userinfo part of an absolute URL's authority (between "//" and "@"),
 * as an offset and length; false if it has none.  Works on any text, valid
 * URL or not.
 */
static bool
url_userinfo(const char *url, size_t len, size_t *start, size_t *n)
{
	const char *p = memchr(url, '/', len);
	size_t		i;

	if (p == NULL || (size_t) (p - url) + 1 >= len || p[1] != '/')
		return false;
	i = (p - url) + 2;
	for (size_t k = i; k < len; k++)
	{
		if (url[k] == '/' || url[k] == '?' || url[k] == '#')
			return false;
		if (url[k] == '@')
		{
			*start = i;
			*n = k + 1 - i;
			return true;
		}
	}
	return false;
}

/* Does this URL text carry user:password@? */
bool
HttpUrlHasCredentials(const char *url, size_t len)
{
	size_t		start,
				n;

	return url_userinfo(url, len, &start, &n);
}

/* The URL without its userinfo (a palloc'd copy, or url itself). */
char *
HttpUrlWithoutCredentials(const char *url, size_t len)
{
	size_t		start,
				n;
	char	   *out;

	if (!url_userinfo(url, len, &start, &n))
		return pnstrdup(url, len);
	out = palloc(len - n + 1);
	memcpy(out, url, start);
	memcpy(out + start, url + start + n, len - start - n);
	out[len - n] = '\0';
	return out;
}

/* Does a headers object name a credential header? */
bool
HttpHeadersJsonbHaveCredentials(Jsonb *jb)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;

	if (jb == NULL || !JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		return false;
	it = JsonbIteratorInit(&jb->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY && HttpIsCredentialHeader(v.val.string.val, v.val.string.len))
			return true;
	return false;
}

/* Does a request document carry credentials (headers, or URL userinfo)? */
bool
HttpDocumentHasCredentials(Jsonb *doc)
{
	JsonbValue *v;

	if (!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		return false;
	v = getKeyJsonValueFromContainer(&doc->root, "url", 3, NULL);
	if (v != NULL && v->type == jbvString &&
		HttpUrlHasCredentials(v->val.string.val, v->val.string.len))
		return true;
	v = getKeyJsonValueFromContainer(&doc->root, "headers", 7, NULL);
	return v != NULL && v->type == jbvBinary &&
		HttpHeadersJsonbHaveCredentials(JsonbValueToJsonb(v));
}

/*
 * The document without its credentials: no Authorization,
 * Proxy-Authorization or Cookie header, no userinfo in the URL.  What a
 * finished queued request keeps: its credentials live only as long as it
 * may still be sent.  Returns doc itself when there is nothing to take.
 */
Jsonb *
HttpDocumentWithoutCredentials(Jsonb *doc)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbValue *res = NULL;
	JsonbIteratorToken tok;

	if (!HttpDocumentHasCredentials(doc))
		return doc;
	it = JsonbIteratorInit(&doc->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY && v.val.string.len == 3 && memcmp(v.val.string.val, "url", 3) == 0)
		{
			res = pushJsonbValue(&state, tok, &v);
			tok = JsonbIteratorNext(&it, &v, true);
			if (v.type == jbvString)
			{
				v.val.string.val = HttpUrlWithoutCredentials(v.val.string.val, v.val.string.len);
				v.val.string.len = strlen(v.val.string.val);
			}
		}
		else if (tok == WJB_KEY && v.val.string.len == 7 &&
				 memcmp(v.val.string.val, "headers", 7) == 0)
		{
			res = pushJsonbValue(&state, tok, &v);
			tok = JsonbIteratorNext(&it, &v, true);
			if (v.type == jbvBinary && JsonContainerIsObject(v.val.binary.data))
			{
				JsonbIterator *hit = JsonbIteratorInit(v.val.binary.data);
				JsonbValue	hv;
				JsonbIteratorToken htok;
				bool		skip = false;

				while ((htok = JsonbIteratorNext(&hit, &hv, true)) != WJB_DONE)
				{
					if (htok == WJB_KEY)
						skip = HttpIsCredentialHeader(hv.val.string.val, hv.val.string.len);
					if (!skip || htok == WJB_BEGIN_OBJECT || htok == WJB_END_OBJECT)
						res = pushJsonbValue(&state, htok,
											 htok == WJB_BEGIN_OBJECT || htok == WJB_END_OBJECT ? NULL : &hv);
				}
				continue;
			}
		}
		res = pushJsonbValue(&state, tok,
							 tok == WJB_BEGIN_OBJECT || tok == WJB_END_OBJECT ? NULL : &v);
	}
	return JsonbValueToJsonb(res);
}

/* Error context callback: keep the statement out of the server log. */
static void
hide_statement(void *arg)
{
	errhidestmt(true);
}

/*
 * While a call whose arguments carry credentials makes and runs its
 * requests, every error it raises is logged without the statement text
 * (which holds the credentials as literals).  Push the guard at the start
 * of the call, when it applies; it is popped with the call (or by the
 * error handling that unwinds it).
 */
void
HttpSecretGuardPush(ErrorContextCallback *cb, bool has_secrets)
{
	if (!has_secrets)
		return;
	cb->callback = hide_statement;
	cb->arg = NULL;
	cb->previous = error_context_stack;
	error_context_stack = cb;
}

/* Pop what HttpSecretGuardPush pushed. */
void
HttpSecretGuardPop(ErrorContextCallback *cb, bool has_secrets)
{
	if (has_secrets)
		error_context_stack = cb->previous;
}
