/*-------------------------------------------------------------------------
 *
 * api.c
 *	  SQL-callable functions: arguments -> HttpRequest, HttpResponse -> row.
 *
 * Every network function makes its request(s) (request.c, which also runs
 * the policy), runs them in one engine session, and turns the outcome into
 * a http.response row or, for a single call, an error.  In a batch, a
 * request that is refused or fails yields its error in its own row.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "api.h"
#include "engine.h"
#include "exchange.h"
#include "hostctl.h"
#include "stats.h"
#include "netaddr.h"
#include "policy.h"
#include "queue.h"
#include "request.h"
#include "settings.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "commands/trigger.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

PG_MODULE_MAGIC;

/* Columns of http.response and http.response_bytes (timings last). */
#define RESPONSE_NATTS	8

/* Columns of http.batch(): idx, the response's but timings, then the error's. */
#define BATCH_RESPONSE_NATTS	(RESPONSE_NATTS - 1)
#define BATCH_NATTS		(1 + BATCH_RESPONSE_NATTS + 3)

/*
 * Module load: define the settings, hook the ACL cache's invalidation and
 * the header model's allocator, register the delivery workers.
 */
void
_PG_init(void)
{
	HttpGucInit();
	HttpRequestInit();
	HttpPolicyInit();
	HttpQueueInit();
}

/* A text argument that must not be NULL, as a C string. */
static char *
arg_cstring(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

/* A new request with default options. */
static HttpRequest *
new_request(const char *method)
{
	HttpOptions base;

	HttpOptionsDefault(&base);
	return HttpRequestNew(pstrdup(method), &base);
}

/* Set the URL from text argument n. */
static void
set_url_arg(HttpRequest *req, FunctionCallInfo fcinfo, int n)
{
	text	   *t;

	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("url must not be null")));
	t = PG_GETARG_TEXT_PP(n);
	HttpRequestSetUrl(req, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

/* Headers and options from jsonb arguments (either may be NULL). */
static void
set_headers_options(HttpRequest *req, FunctionCallInfo fcinfo, int headers, int options)
{
	if (options >= 0 && !PG_ARGISNULL(options))
		HttpOptionsFromJsonb(&req->opt, PG_GETARG_JSONB_P(options), false);
	if (headers >= 0 && !PG_ARGISNULL(headers))
		HttpHeadersFromJsonb(&req->headers, PG_GETARG_JSONB_P(headers));
}

/*
 * A request of a SQL call: method, url[0..len), and the call's headers and
 * options arguments (-1: none); the caller finishes it.
 */
HttpRequest *
HttpCallRequest(FunctionCallInfo fcinfo, const char *method, const char *url, size_t len,
				int headers, int options)
{
	HttpRequest *req = new_request(method);

	HttpRequestSetUrl(req, url, len);
	set_headers_options(req, fcinfo, headers, options);
	return req;
}

/*
 * Do the URL argument (url_arg) or the headers argument (headers_arg, -1:
 * none) carry credentials?  Then the call's errors keep its statement out
 * of the log (HttpSecretGuardPush), from its first check on.
 */
bool
HttpCallHasSecrets(FunctionCallInfo fcinfo, int url_arg, int headers_arg)
{
	if (url_arg >= 0 && !PG_ARGISNULL(url_arg))
	{
		text	   *t = PG_GETARG_TEXT_PP(url_arg);

		if (HttpUrlHasCredentials(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)))
			return true;
	}
	return headers_arg >= 0 && !PG_ARGISNULL(headers_arg) &&
		HttpHeadersJsonbHaveCredentials(PG_GETARG_JSONB_P(headers_arg));
}

/* The (blessed) row type of the function's result, cached per call site. */
static TupleDesc
result_tupdesc(FunctionCallInfo fcinfo)
{
	TupleDesc	td = fcinfo->flinfo->fn_extra;

	if (td == NULL)
	{
		TupleDesc	t;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &t) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		td = CreateTupleDescCopy(t);
		BlessTupleDesc(td);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = td;
	}
	return td;
}

/*
 * Fill the response columns (status, headers, body, content_type, url,
 * http_version, elapsed_ms, and with timings, timings).  Returns false,
 * with x failed, if the body could not be decoded as text.
 */
static bool
response_values(HttpExchange *x, bool bytes, Datum *values, bool *nulls, bool timings)
{
	HttpResponse *r = &x->resp;
	const char *ct = HttpContentType(r);

	memset(nulls, 0, sizeof(bool) * (timings ? RESPONSE_NATTS : BATCH_RESPONSE_NATTS));
	if (timings)
		values[7] = JsonbPGetDatum(HttpTimingsToJsonb(x));
	if (bytes)
	{
		bytea	   *b = palloc(VARHDRSZ + r->body.len);

		SET_VARSIZE(b, VARHDRSZ + r->body.len);
		memcpy(VARDATA(b), r->body.data, r->body.len);
		values[2] = PointerGetDatum(b);
	}
	else
	{
		text	   *t = HttpBodyToText(x);

		if (t == NULL)
			return false;
		values[2] = PointerGetDatum(t);
	}
	values[0] = Int32GetDatum(r->status);
	values[1] = JsonbPGetDatum(HttpHeadersToJsonb(&r->headers));
	if (ct)
		values[3] = CStringGetTextDatum(ct);
	else
		nulls[3] = true;
	values[4] = CStringGetTextDatum(r->url ? r->url : x->req->url);
	values[5] = CStringGetTextDatum(r->version == 20 ? "2" : r->version == 10 ? "1.0" : "1.1");
	values[6] = Float8GetDatum((double) (x->finished - x->started) / 1000.0);
	return true;
}

/*
 * The response row (of row type td) of x, which is over; its failure is
 * raised.
 */
Datum
HttpResponseDatum(HttpExchange *x, TupleDesc td, bool bytes)
{
	Datum		values[RESPONSE_NATTS];
	bool		nulls[RESPONSE_NATTS];

	if (!HttpExchangeSucceeded(x) || !response_values(x, bytes, values, nulls, true))
		HttpExchangeRaise(x);
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

/* Run one request and return its response row; errors are raised. */
static Datum
run_one(FunctionCallInfo fcinfo, HttpRequest *req, bool bytes)
{
	HttpExchange *x = palloc0(sizeof(HttpExchange));

	x->req = req;
	HttpEngineRunAll(&x, 1, 1);
	return HttpResponseDatum(x, result_tupdesc(fcinfo), bytes);
}

/* url, headers, options: the shape of get, head, delete. */
static Datum
simple_call(FunctionCallInfo fcinfo, const char *method)
{
	bool		secrets = HttpCallHasSecrets(fcinfo, 0, 1);
	ErrorContextCallback guard;
	HttpRequest *req;
	Datum		result;

	HttpSecretGuardPush(&guard, secrets);
	req = new_request(method);
	set_url_arg(req, fcinfo, 0);
	set_headers_options(req, fcinfo, 1, 2);
	HttpRequestFinish(req, NULL);
	result = run_one(fcinfo, req, false);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

/* url, body jsonb, headers, options: post, put, patch with JSON. */
static Datum
jsonb_call(FunctionCallInfo fcinfo, const char *method)
{
	bool		secrets = HttpCallHasSecrets(fcinfo, 0, 2);
	ErrorContextCallback guard;
	HttpRequest *req;
	Datum		result;

	HttpSecretGuardPush(&guard, secrets);
	req = new_request(method);
	set_url_arg(req, fcinfo, 0);
	if (!PG_ARGISNULL(1))
	{
		Jsonb	   *jb = PG_GETARG_JSONB_P(1);

		req->body = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
		req->body_len = strlen(req->body);
	}
	set_headers_options(req, fcinfo, 2, 3);
	HttpRequestFinish(req, "application/json");
	result = run_one(fcinfo, req, false);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

/* url, body text, content_type, headers, options: post, put, patch with text. */
static Datum
text_call(FunctionCallInfo fcinfo, const char *method)
{
	bool		secrets = HttpCallHasSecrets(fcinfo, 0, 3);
	ErrorContextCallback guard;
	HttpRequest *req;
	char	   *ct = NULL;
	Datum		result;

	HttpSecretGuardPush(&guard, secrets);
	req = new_request(method);
	set_url_arg(req, fcinfo, 0);
	if (!PG_ARGISNULL(1))
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		req->body = VARDATA_ANY(t);
		req->body_len = VARSIZE_ANY_EXHDR(t);
	}
	if (!PG_ARGISNULL(2))
		ct = text_to_cstring(PG_GETARG_TEXT_PP(2));
	set_headers_options(req, fcinfo, 3, 4);
	HttpRequestFinish(req, ct);
	result = run_one(fcinfo, req, false);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

PG_FUNCTION_INFO_V1(pg_http_get);
/* http.get(url, headers, options) */
Datum
pg_http_get(PG_FUNCTION_ARGS)
{
	return simple_call(fcinfo, "GET");
}

PG_FUNCTION_INFO_V1(pg_http_head);
/* http.head(url, headers, options) */
Datum
pg_http_head(PG_FUNCTION_ARGS)
{
	return simple_call(fcinfo, "HEAD");
}

PG_FUNCTION_INFO_V1(pg_http_delete);
/* http.delete(url, headers, options) */
Datum
pg_http_delete(PG_FUNCTION_ARGS)
{
	return simple_call(fcinfo, "DELETE");
}

PG_FUNCTION_INFO_V1(pg_http_post_jsonb);
/* http.post(url, body jsonb, headers, options) */
Datum
pg_http_post_jsonb(PG_FUNCTION_ARGS)
{
	return jsonb_call(fcinfo, "POST");
}

PG_FUNCTION_INFO_V1(pg_http_put_jsonb);
/* http.put(url, body jsonb, headers, options) */
Datum
pg_http_put_jsonb(PG_FUNCTION_ARGS)
{
	return jsonb_call(fcinfo, "PUT");
}

PG_FUNCTION_INFO_V1(pg_http_patch_jsonb);
/* http.patch(url, body jsonb, headers, options) */
Datum
pg_http_patch_jsonb(PG_FUNCTION_ARGS)
{
	return jsonb_call(fcinfo, "PATCH");
}

PG_FUNCTION_INFO_V1(pg_http_post_text);
/* http.post(url, body text, content_type, headers, options) */
Datum
pg_http_post_text(PG_FUNCTION_ARGS)
{
	return text_call(fcinfo, "POST");
}

PG_FUNCTION_INFO_V1(pg_http_put_text);
/* http.put(url, body text, content_type, headers, options) */
Datum
pg_http_put_text(PG_FUNCTION_ARGS)
{
	return text_call(fcinfo, "PUT");
}

PG_FUNCTION_INFO_V1(pg_http_patch_text);
/* http.patch(url, body text, content_type, headers, options) */
Datum
pg_http_patch_text(PG_FUNCTION_ARGS)
{
	return text_call(fcinfo, "PATCH");
}

PG_FUNCTION_INFO_V1(pg_http_request);
/* http.request(method, url, body text, headers, options) */
Datum
pg_http_request(PG_FUNCTION_ARGS)
{
	bool		secrets = HttpCallHasSecrets(fcinfo, 1, 3);
	ErrorContextCallback guard;
	HttpRequest *req;
	Datum		result;

	HttpSecretGuardPush(&guard, secrets);
	req = new_request(arg_cstring(fcinfo, 0, "method"));
	set_url_arg(req, fcinfo, 1);
	if (!PG_ARGISNULL(2))
	{
		text	   *t = PG_GETARG_TEXT_PP(2);

		req->body = VARDATA_ANY(t);
		req->body_len = VARSIZE_ANY_EXHDR(t);
	}
	set_headers_options(req, fcinfo, 3, 4);
	HttpRequestFinish(req, NULL);
	result = run_one(fcinfo, req, false);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

PG_FUNCTION_INFO_V1(pg_http_request_bytes);
/* http.request_bytes(method, url, body bytea, headers, options) */
Datum
pg_http_request_bytes(PG_FUNCTION_ARGS)
{
	bool		secrets = HttpCallHasSecrets(fcinfo, 1, 3);
	ErrorContextCallback guard;
	HttpRequest *req;
	Datum		result;

	HttpSecretGuardPush(&guard, secrets);
	req = new_request(arg_cstring(fcinfo, 0, "method"));
	set_url_arg(req, fcinfo, 1);
	if (!PG_ARGISNULL(2))
	{
		bytea	   *b = PG_GETARG_BYTEA_PP(2);

		req->body = VARDATA_ANY(b);
		req->body_len = VARSIZE_ANY_EXHDR(b);
	}
	set_headers_options(req, fcinfo, 3, 4);
	HttpRequestFinish(req, NULL);
	result = run_one(fcinfo, req, true);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

PG_FUNCTION_INFO_V1(pg_http_request_doc);
/* http.request(request jsonb) */
Datum
pg_http_request_doc(PG_FUNCTION_ARGS)
{
	HttpOptions base;
	bool		secrets;
	ErrorContextCallback guard;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("request must not be null")));
	secrets = HttpDocumentHasCredentials(PG_GETARG_JSONB_P(0));
	HttpSecretGuardPush(&guard, secrets);
	HttpOptionsDefault(&base);
	result = run_one(fcinfo, HttpRequestFromDocument(PG_GETARG_JSONB_P(0), &base, false), false);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

PG_FUNCTION_INFO_V1(pg_http_request_parts);
/* http_request(host, port, path, method, body, headers, tls, timeout) */
Datum
pg_http_request_parts(PG_FUNCTION_ARGS)
{
	bool		secrets = HttpCallHasSecrets(fcinfo, -1, 5);
	ErrorContextCallback guard;
	char	   *host;
	char	   *path;
	HttpRequest *req;
	bool		tls;
	int			port;
	Datum		result;

	HttpSecretGuardPush(&guard, secrets);
	host = arg_cstring(fcinfo, 0, "host");
	path = PG_ARGISNULL(2) ? "/" : text_to_cstring(PG_GETARG_TEXT_PP(2));
	req = new_request(PG_ARGISNULL(3) ? "GET" : text_to_cstring(PG_GETARG_TEXT_PP(3)));

	if (PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("tls must not be null"),
				 errhint("Pass true for https, false for http.")));
	tls = PG_GETARG_BOOL(6);
	port = PG_ARGISNULL(1) ? (tls ? 443 : 80) : PG_GETARG_INT32(1);
	HttpRequestSetParts(req, host, port, path, tls);

	if (!PG_ARGISNULL(4))
	{
		text	   *t = PG_GETARG_TEXT_PP(4);

		req->body = VARDATA_ANY(t);
		req->body_len = VARSIZE_ANY_EXHDR(t);
	}
	set_headers_options(req, fcinfo, 5, -1);
	if (!PG_ARGISNULL(7))
	{
		int32		secs = PG_GETARG_INT32(7);

		if (secs <= 0 || secs > INT_MAX / 1000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must be between 1 and %d seconds", INT_MAX / 1000)));
		req->opt.timeout_ms = secs * 1000;
	}
	HttpRequestFinish(req, NULL);
	result = run_one(fcinfo, req, false);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

/*
 * Build one batch element's request inside a subtransaction, so that a bad
 * element becomes an error in its own row instead of aborting the batch.
 * Errors that are not about the element (cancel, out of memory) propagate.
 */
static void
batch_prepare(HttpExchange *x, Jsonb *doc, const HttpOptions *base)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		x->req = HttpRequestFromDocument(doc, base, false);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *ed;

		MemoryContextSwitchTo(cxt);
		ed = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;

		if (ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION ||
			ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_INSUFFICIENT_RESOURCES ||
			ERRCODE_TO_CATEGORY(ed->sqlerrcode) == ERRCODE_INTERNAL_ERROR)
			ReThrowError(ed);

		HttpExchangeFail(x, ed->sqlerrcode, ed->message, ed->detail ? "%s" : NULL, ed->detail);
		if (ed->hint)
			HttpExchangeSetHint(x, ed->hint);
	}
	PG_END_TRY();
}

PG_FUNCTION_INFO_V1(pg_http_batch);
/* http.batch(requests jsonb, options jsonb): one row per request, in order */
Datum
pg_http_batch(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Jsonb	   *reqs;
	HttpOptions base;
	HttpExchange **xs;
	int			n;
	TupleDesc	td;
	Tuplestorestate *store;
	MemoryContext old;
	bool		secrets = false;
	ErrorContextCallback guard;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("http.batch() must be called where a set is accepted")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("requests must not be null")));
	reqs = PG_GETARG_JSONB_P(0);
	if (!JB_ROOT_IS_ARRAY(reqs) || JB_ROOT_IS_SCALAR(reqs))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("requests must be a JSON array of request documents"),
				 errhint("Build it with jsonb_agg(jsonb_build_object('url', ...)).")));
	n = JB_ROOT_COUNT(reqs);
	for (int i = 0; i < n && !secrets; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&reqs->root, i);

		secrets = elem->type == jbvBinary && HttpDocumentHasCredentials(JsonbValueToJsonb(elem));
	}
	HttpSecretGuardPush(&guard, secrets);
	HttpOptionsDefault(&base);
	if (!PG_ARGISNULL(1))
		HttpOptionsFromJsonb(&base, PG_GETARG_JSONB_P(1), false);

	xs = palloc0(sizeof(HttpExchange *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(&reqs->root, i);

		xs[i] = palloc0(sizeof(HttpExchange));
		if (elem->type != jbvBinary)
		{
			HttpExchangeFail(xs[i], ERRCODE_INVALID_PARAMETER_VALUE,
							 "a request document must be a JSON object", NULL);
			continue;
		}
		batch_prepare(xs[i], JsonbValueToJsonb(elem), &base);
	}

	HttpEngineRunAll(xs, n, http_max_concurrency);

	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	td = CreateTupleDescCopy(td);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);

	for (int i = 0; i < n; i++)
	{
		HttpExchange *x = xs[i];
		Datum		values[BATCH_NATTS];
		bool		nulls[BATCH_NATTS];

		memset(nulls, true, sizeof(nulls));
		values[0] = Int32GetDatum(i + 1);
		nulls[0] = false;
		if (!HttpExchangeSucceeded(x) || !response_values(x, false, values + 1, nulls + 1, false))
		{
			/* the response columns stay NULL, the error ones say why */
			memset(nulls + 1, true, BATCH_RESPONSE_NATTS);
			values[1 + BATCH_RESPONSE_NATTS] = CStringGetTextDatum(unpack_sql_state(x->err_code));
			values[2 + BATCH_RESPONSE_NATTS] = CStringGetTextDatum(x->err_msg);
			nulls[1 + BATCH_RESPONSE_NATTS] = nulls[2 + BATCH_RESPONSE_NATTS] = false;
			if (x->err_detail)
			{
				values[3 + BATCH_RESPONSE_NATTS] = CStringGetTextDatum(x->err_detail);
				nulls[3 + BATCH_RESPONSE_NATTS] = false;
			}
		}
		tuplestore_putvalues(store, td, values, nulls);
	}

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = td;
	HttpSecretGuardPop(&guard, secrets);
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pg_http_acl_changed);
/* Trigger on http.acl: every backend's ACL cache reloads after commit. */
Datum
pg_http_acl_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "http.acl_changed() must be called as a trigger");
	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(pg_http_acl_check_entry);
/* http.acl_check_entry(pattern, ports): the rule text, or 22023. */
Datum
pg_http_acl_check_entry(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *ports = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *rule = HttpAclEntryText(pattern, ports);
	const char *err = NULL;
	size_t		errpos = 0;

	if (strchr(pattern, ',') || strchr(ports, ',') ||
		HttpHostRulesParse(rule, NULL, 0, &err, &errpos) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pg_http ACL entry \"%s\" for ports \"%s\"", pattern, ports),
				 err ? errdetail("%c%s.", pg_ascii_toupper((unsigned char) err[0]), err + 1)
				 : errdetail("An entry is one host pattern and one port or port range."),
				 errhint("Patterns are host names, *.domain, *, addresses or CIDR ranges; ports are N or N-M.")));
	PG_RETURN_TEXT_P(cstring_to_text(rule));
}

PG_FUNCTION_INFO_V1(pg_http_redact_url);
/* http.redact_url(url): the URL without user:password@ */
Datum
pg_http_redact_url(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(cstring_to_text(HttpUrlWithoutCredentials(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t))));
}

PG_FUNCTION_INFO_V1(pg_http_redact_request);
/* http.redact_request(doc): the request document without its credentials */
Datum
pg_http_redact_request(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(HttpDocumentWithoutCredentials(PG_GETARG_JSONB_P(0)));
}

PG_FUNCTION_INFO_V1(pg_http_acl_enforced);
/* http.acl_enforced(): are the per-role ACLs in force? */
Datum
pg_http_acl_enforced(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(HttpPolicyAclEnforced());
}

PG_FUNCTION_INFO_V1(pg_http_transport);
/* http.transport(): the compiled-in transport */
Datum
pg_http_transport(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(HttpTransportAbout.name));
}

PG_FUNCTION_INFO_V1(pg_http_version);
/* http.version(): the extension's version */
Datum
pg_http_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(PG_HTTP_VERSION));
}

PG_FUNCTION_INFO_V1(pg_http_sign_preview);
/*
 * http.sign_preview(request, at): the headers the request's first hop would
 * carry at that time, signed, with secret values shown as [secret name].
 * Superusers only: a signature is proof of a secret, not to be minted for
 * whoever asks.
 */
Datum
pg_http_sign_preview(PG_FUNCTION_ARGS)
{
	HttpOptions base;
	HttpRequest *req;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only superusers can preview signed requests")));
	HttpOptionsDefault(&base);
	req = HttpRequestFromDocument(PG_GETARG_JSONB_P(0), &base, false);
	req = HttpCredentialsPreview(req, timestamptz_to_time_t(PG_GETARG_TIMESTAMPTZ(1)));
	PG_RETURN_JSONB_P(HttpHeadersToJsonb(&req->headers));
}

PG_FUNCTION_INFO_V1(pg_http_check_host_pattern);
/* http.check_host_pattern(pattern): the pattern, or 22023 */
Datum
pg_http_check_host_pattern(PG_FUNCTION_ARGS)
{
	char	   *pattern = text_to_cstring(PG_GETARG_TEXT_PP(0));
	HttpHostRule rule;
	const char *err = NULL;
	size_t		errpos = 0;

	if (strchr(pattern, ',') || HttpHostRulesParse(pattern, &rule, 1, &err, &errpos) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid host pattern \"%s\"", pattern),
				 err ? errdetail("%c%s.", pg_ascii_toupper((unsigned char) err[0]), err + 1)
				 : errdetail("A pattern is one host name, *.domain, *, address or CIDR range."),
				 errhint("Add :port or :N-M to cover only those ports.")));
	PG_RETURN_TEXT_P(cstring_to_text(pattern));
}

PG_FUNCTION_INFO_V1(pg_http_host_states);
/* http.host_state_rows(): this database's hosts as their controls see them */
Datum
pg_http_host_states(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HttpHostState *st;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	HttpHostCtlLoad();
	n = HttpHostCtlStates(&st);
	for (int i = 0; i < n; i++)
	{
		Datum		values[11];
		bool		nulls[11];

		memset(nulls, 0, sizeof(nulls));
		values[0] = CStringGetTextDatum(st[i].key);
		values[1] = Float8GetDatum(st[i].rps);
		nulls[1] = st[i].rps <= 0;
		values[2] = Int32GetDatum(st[i].burst);
		nulls[2] = st[i].rps <= 0;
		values[3] = Int32GetDatum(st[i].max_conc);
		nulls[3] = st[i].max_conc <= 0;
		values[4] = BoolGetDatum(st[i].paused);
		values[5] = Float8GetDatum(st[i].tokens);
		nulls[5] = st[i].rps <= 0;
		values[6] = Int32GetDatum(st[i].inflight);
		values[7] = TimestampTzGetDatum(st[i].blocked_until);
		nulls[7] = st[i].blocked_until == 0;
		values[8] = Int32GetDatum(st[i].fails);
		values[9] = CStringGetTextDatum(st[i].breaker);
		values[10] = TimestampTzGetDatum(st[i].open_until);
		nulls[10] = st[i].open_until == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pg_http_stats_rows);
/* http.stats_rows(): the rows of http.stats (the caller's own; a superuser's: all) */
Datum
pg_http_stats_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HttpStatRow *rows;
	TimestampTz since;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	n = HttpStatsRead(&rows, &since);
	for (int i = 0; i < n; i++)
	{
		const HttpStat *s = &rows[i].s;
		Datum		values[19];
		bool		nulls[19];
		StringInfoData h;
		StringInfoData e;
		StringInfoData r;
		char	   *role = GetUserNameFromId(rows[i].role, true);
		bool		first = true;

		memset(nulls, 0, sizeof(nulls));
		initStringInfo(&e);
		appendStringInfoChar(&e, '{');
		for (int k = 0; k < HTTP_STAT_CLASSES; k++)
			if (s->err_count[k] > 0)
			{
				appendStringInfo(&e, "%s\"%s\": " INT64_FORMAT, first ? "" : ", ",
								 k < HTTP_STAT_CLASSES - 1 ? pnstrdup(unpack_sql_state(HttpStatClasses[k]), 2) : "other",
								 s->err_count[k]);
				first = false;
			}
		appendStringInfoChar(&e, '}');
		initStringInfo(&r);
		appendStringInfoChar(&r, '{');
		first = true;
		for (int k = 0; k < 5; k++)
			if (s->status_class[k] > 0)
			{
				appendStringInfo(&r, "%s\"%dxx\": " INT64_FORMAT, first ? "" : ", ", k + 1, s->status_class[k]);
				first = false;
			}
		appendStringInfoChar(&r, '}');

		values[0] = CStringGetTextDatum(HttpStatsShared() ? "server" : "backend");
		values[1] = CStringGetTextDatum(role ? role : psprintf("%u", rows[i].role));
		values[2] = CStringGetTextDatum(rows[i].host);
		values[3] = CStringGetTextDatum(rows[i].delivery ? "delivery" : "call");
		values[4] = Int64GetDatum(s->calls);
		values[5] = DirectFunctionCall1(jsonb_in, CStringGetDatum(e.data));
		values[6] = Int64GetDatum(s->timeouts);
		values[7] = DirectFunctionCall1(jsonb_in, CStringGetDatum(r.data));
		values[8] = Int64GetDatum(s->bytes_sent);
		values[9] = Int64GetDatum(s->bytes_received);
		values[10] = Int64GetDatum(s->conns_opened);
		values[11] = Int64GetDatum(s->conns_reused);
		values[12] = Float8GetDatum(s->calls ? s->total_ms / s->calls : 0);
		values[13] = Float8GetDatum(HttpStatsQuantile(s, 0.50));
		values[14] = Float8GetDatum(HttpStatsQuantile(s, 0.95));
		values[15] = Float8GetDatum(HttpStatsQuantile(s, 0.99));
		values[16] = Float8GetDatum(s->max_ms);
		values[17] = TimestampTzGetDatum(since);
		/* the histogram: calls per bucket, keyed by the bucket's upper bound in ms */
		initStringInfo(&h);
		appendStringInfoChar(&h, '{');
		first = true;
		for (int k = 0; k < HTTP_STAT_BUCKETS; k++)
			if (s->hist[k] > 0)
			{
				appendStringInfo(&h, "%s\"%s\": " INT64_FORMAT, first ? "" : ", ",
								 HttpStatsBucketName(k), s->hist[k]);
				first = false;
			}
		appendStringInfoChar(&h, '}');
		values[18] = DirectFunctionCall1(jsonb_in, CStringGetDatum(h.data));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pg_http_stats_reset);
/* http.stats_reset(): forget every count */
Datum
pg_http_stats_reset(PG_FUNCTION_ARGS)
{
	HttpStatsReset();
	PG_RETURN_VOID();
}
