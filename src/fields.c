/*-------------------------------------------------------------------------
 *
 * fields.c
 *	  Headers and request documents as jsonb, and the credentials in them.
 *
 * Header values are never echoed in errors: they may carry credentials.
 * Requests whose arguments carry credentials keep their statement out of
 * the log for every error they raise (HttpSecretGuardPush), and a finished
 * queued request keeps none (HttpDocumentWithoutCredentials).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "http1.h"
#include "request.h"
#include "settings.h"

#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/json.h"
#include "utils/jsonb.h"

/*
 * Validate and add one request header given as SQL input: 22023 for a name
 * that is not a token or a value with a control character (never echoed).
 */
void
HttpRequestHeaderAdd(HttpHeaderList *l, const char *name, int name_len,
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

/*
 * A header whose value is a secret, {"secret": "name", "prefix": "Bearer "},
 * read from the iterator (just inside the object) to its end.  It goes into
 * l as a reference (HTTP_SECRET_REF_MARK, the name, the mark, the prefix),
 * which no valid value can look like; HttpCredentialsPrepare takes it out.
 */
static void
header_secret_ref(HttpHeaderList *l, JsonbIterator **it, const JsonbValue *hkey)
{
	JsonbIteratorToken tok;
	JsonbValue	v;
	char	   *k = NULL;
	char	   *name = NULL;
	char	   *prefix = "";
	int			nlen = hkey->val.string.len;
	const char *hname = hkey->val.string.val;
	char	   *ref;

	while ((tok = JsonbIteratorNext(it, &v, false)) != WJB_END_OBJECT)
	{
		if (tok == WJB_KEY)
		{
			k = pnstrdup(v.val.string.val, v.val.string.len);
			continue;
		}
		if (tok != WJB_VALUE || v.type != jbvString ||
			(strcmp(k, "secret") != 0 && strcmp(k, "prefix") != 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("value of HTTP header \"%.*s\" must be a string, an array of strings or a secret reference",
							nlen, hname),
					 errhint("A secret reference is {\"secret\": \"name\"} or {\"secret\": \"name\", \"prefix\": \"Bearer \"}.")));
		if (strcmp(k, "secret") == 0)
			name = pnstrdup(v.val.string.val, v.val.string.len);
		else
			prefix = pnstrdup(v.val.string.val, v.val.string.len);
	}
	if (name == NULL || !HttpSecretNameValid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secret reference in HTTP header \"%.*s\"", nlen, hname),
				 errdetail("A secret's name is 1 to 63 letters, digits, \"_\", \".\" or \"-\", not starting with \".\"."),
				 errhint("A secret reference is {\"secret\": \"name\"} or {\"secret\": \"name\", \"prefix\": \"Bearer \"}.")));
	if (!Http1IsToken(hname, nlen))
		HttpRequestHeaderAdd(l, hname, nlen, "", 0);	/* says why */
	if (HttpIsManagedHeader(hname, nlen))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("HTTP header \"%.*s\" cannot be a secret", nlen, hname),
				 errdetail("It frames or routes the request, or belongs to the proxy.")));
	if (!Http1IsFieldValue(prefix, strlen(prefix)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid prefix for HTTP header \"%.*s\"", nlen, hname),
				 errdetail("Header values must not contain CR, LF, NUL or other control characters.")));
	ref = psprintf("%c%s%c%s", HTTP_SECRET_REF_MARK, name, HTTP_SECRET_REF_MARK, prefix);
	HttpHeaderAdd(l, hname, nlen, ref, strlen(ref));
}

/*
 * Append the headers of a jsonb object ({"Name": "value"}, an array value
 * repeating the header) to l.  Throws 22023 for anything else, a name that
 * is not a token or a value with a control character (never echoing it).
 */
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
				HttpRequestHeaderAdd(l, key.val.string.val, key.val.string.len,
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
				/* the root; a nested object is a secret reference */
				if (key.type == jbvString)
					header_secret_ref(l, &it, &key);
				break;
			default:
				break;
		}
	}
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
 * The response headers as a jsonb object.  Names are lower-cased (HTTP names are case-insensitive,
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

		names[i] = asc_tolower(l->items[i].name, strlen(l->items[i].name));
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

/*
 * The next member of an object being iterated (skipping nested containers):
 * its key (palloc'd) and value; false at the object's end.
 */
bool
HttpJsonbNextMember(JsonbIterator **it, char **key, JsonbValue *v)
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

/* Does a headers object name header (ASCII case-insensitive)? */
static bool
headers_name(JsonbValue *headers, const char *header)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	size_t		len = strlen(header);

	if (headers == NULL || headers->type != jbvBinary)
		return false;
	it = JsonbIteratorInit(headers->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		if (tok == WJB_KEY && (size_t) v.val.string.len == len &&
			pg_strncasecmp(v.val.string.val, header, len) == 0)
			return true;
	return false;
}

/*
 * The request document of a queued request with the trace context its
 * request was given (pg_http.traceparent, at http.enqueue) written into its
 * headers: the delivery worker sends what the document says, in the trace
 * the request was queued in, with one span id for all its attempts.
 * Returns doc itself when no trace context is set or the document names a
 * traceparent of its own (which wins).  May throw.
 */
Jsonb *
HttpDocumentWithTraceContext(Jsonb *doc, const HttpRequest *req)
{
	JsonbValue *headers;
	const char *tp = HttpHeaderGet(&req->headers, "traceparent");
	const char *ts = HttpHeaderGet(&req->headers, "tracestate");
	StringInfoData add;
	Datum		merged;
	Jsonb	   *mj;

	if (http_traceparent == NULL || http_traceparent[0] == '\0' || tp == NULL ||
		!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		return doc;
	headers = getKeyJsonValueFromContainer(&doc->root, "headers", 7, NULL);
	if (headers_name(headers, "traceparent"))
		return doc;

	initStringInfo(&add);
	appendStringInfoString(&add, "{\"traceparent\": ");
	escape_json(&add, tp);
	if (ts != NULL && !headers_name(headers, "tracestate"))
	{
		appendStringInfoString(&add, ", \"tracestate\": ");
		escape_json(&add, ts);
	}
	appendStringInfoChar(&add, '}');
	merged = DirectFunctionCall1(jsonb_in, CStringGetDatum(add.data));
	if (headers != NULL && headers->type == jbvBinary)
		merged = DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(JsonbValueToJsonb(headers)),
									 merged);
	resetStringInfo(&add);
	appendStringInfoString(&add, "{\"headers\": ");
	mj = DatumGetJsonbP(merged);
	appendStringInfoString(&add, JsonbToCString(NULL, &mj->root, VARSIZE(mj)));
	appendStringInfoChar(&add, '}');
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(doc),
											  DirectFunctionCall1(jsonb_in, CStringGetDatum(add.data))));
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
 * Proxy-Authorization or Cookie header (but a secret reference there, which
 * is only a name, stays), no userinfo in the URL.  What a
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
				JsonbValue	hkey;
				JsonbIteratorToken htok;

				memset(&hkey, 0, sizeof(hkey));
				while ((htok = JsonbIteratorNext(&hit, &hv, true)) != WJB_DONE)
				{
					if (htok == WJB_KEY)
						hkey = hv;	/* pushed with its value, or not at all */
					else if (htok == WJB_VALUE)
					{
						/* a secret reference is a name, not a credential: it stays */
						bool		ref = hv.type == jbvBinary &&
							JsonContainerIsObject(hv.val.binary.data);

						if (ref || !HttpIsCredentialHeader(hkey.val.string.val, hkey.val.string.len))
						{
							res = pushJsonbValue(&state, WJB_KEY, &hkey);
							res = pushJsonbValue(&state, WJB_VALUE, &hv);
						}
					}
					else
						res = pushJsonbValue(&state, htok, NULL);
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

/*
 * The phases of x's last hop as jsonb, in ms: before_ms (earlier hops, a
 * token fetch, waiting for its host's controls), dns_ms, connect_ms,
 * tls_ms, first_byte_ms (sending and waiting for the first byte),
 * transfer_ms (the rest of the response), and total_ms.  A phase the hop
 * did not have (a pooled connection, a numeric host, plain http) is 0;
 * the marks are taken in order, so the phases add up to the total.
 */
Jsonb *
HttpTimingsToJsonb(const HttpExchange *x)
{
	static const char *const names[] = {"before_ms", "dns_ms", "connect_ms", "tls_ms",
	"first_byte_ms", "transfer_ms"};
	TimestampTz marks[7];
	StringInfoData s;

	marks[0] = x->started;
	marks[1] = Max(x->hop_started, marks[0]);
	marks[2] = x->t_dns ? Max(x->t_dns, marks[1]) : marks[1];
	marks[3] = x->t_connect ? Max(x->t_connect, marks[2]) : marks[2];
	marks[4] = x->t_tls ? Max(x->t_tls, marks[3]) : marks[3];
	marks[5] = x->t_first_byte ? Max(x->t_first_byte, marks[4]) : marks[4];
	marks[6] = Max(x->finished, marks[5]);
	initStringInfo(&s);
	appendStringInfoChar(&s, '{');
	for (int i = 0; i < 6; i++)
		appendStringInfo(&s, "\"%s\": %.3f, ", names[i], (double) (marks[i + 1] - marks[i]) / 1000.0);
	appendStringInfo(&s, "\"total_ms\": %.3f}", (double) (marks[6] - marks[0]) / 1000.0);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s.data)));
}
