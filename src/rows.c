/*-------------------------------------------------------------------------
 *
 * rows.c
 *	  Responses as rows while they stream: http.get_lines, http.get_json_rows
 *	  and http.get_pages.
 *
 * get_lines and get_json_rows are value-per-call set-returning functions
 * over one exchange whose body goes to a sink (HttpExchange.sink) instead
 * of being collected.  Each call takes the next row from what has arrived
 * and runs the engine only when no whole row is there; between calls the
 * exchange is held (HttpEngineHold), so nothing more is read while the
 * query works on the row.  A backend so holds one read's worth of bytes
 * and the longest row, whatever the size of the body: max_response_bytes
 * limits a row here, not the body, and timeout_ms is the longest wait for
 * the server (for the headers, then for each next piece of the body), not
 * for the whole body.
 *
 * The exchange lives in the function's multi-call context, and a callback
 * on that context ends it however the scan ends: every row read, a LIMIT,
 * a cancel, an error.  A body that ends early, a row that is not valid
 * text (or JSON), a status other than 2xx: the statement fails, never a
 * silent short result.
 *
 * get_pages follows a Link: <...>; rel="next" header from page to page, one
 * ordinary request per page (each judged by the policy), on the first
 * page's origin only.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "api.h"
#include "engine.h"
#include "exchange.h"
#include "redirect.h"
#include "request.h"

#include <ctype.h>

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* Bytes a sink may hold beyond the longest row: a few reads' worth. */
#define SINK_SLACK		(16 * 1024 * 1024)

/* The path to a JSON array is at most this deep. */
#define MAX_JSON_PATH	32

typedef enum RowKind
{
	ROWS_LINES,
	ROWS_JSON
} RowKind;

/*
 * A scan of a JSON document for the elements of one array, the one at a
 * path of object keys (none: the document is the array).  Levels are the
 * open containers, 0 the document's; the array is at level npath, its
 * elements at npath + 1.  Only levels up to npath are remembered: deeper
 * ones are inside an element, which jsonb_in checks whole.
 */
typedef struct JsonScan
{
	int			npath;
	char	  **path;
	int			depth;			/* containers open */
	bool		in_string;
	bool		escape;
	char		type[MAX_JSON_PATH + 1];	/* '{' or '[' per level */
	bool		on_path[MAX_JSON_PATH + 1];
	bool		expect_key[MAX_JSON_PATH + 1];	/* an object's next string is a key */
	bool		key_match[MAX_JSON_PATH + 1];	/* its current key is path[level] */
	bool		capturing_key;	/* the string being read is such a key */
	size_t		key_start;		/* offset of its first byte */
	bool		in_array;		/* inside the array (at npath) */
	bool		found;			/* the array was seen */
	bool		closed;			/* ... and its end */
	bool		element;		/* an element has started */
	size_t		element_start;
} JsonScan;

typedef struct RowStream
{
	RowKind		kind;
	MemoryContext cxt;			/* the multi-call context: all of the below */
	HttpEngine *e;
	HttpExchange *x;
	bool		over;			/* the engine handed x back */
	bool		secrets;		/* its arguments carry credentials */

	/* bytes arrived and not yet taken as rows: buf[pos..len) */
	char	   *buf;
	size_t		len;
	size_t		cap;
	size_t		pos;
	size_t		scan;			/* looked at up to here */
	size_t		max_row;		/* max_response_bytes */
	uint64		received;		/* bytes of body so far */
	const char *refused;		/* why the sink stopped taking bytes, or NULL */

	/* the body's charset, known at the first row */
	int			enc;
	const char *charset;
	bool		enc_known;

	JsonScan	js;
	MemoryContextCallback cb;
} RowStream;

/* The multi-call context goes: end the exchange, whatever state it is in. */
static void
rows_end(void *arg)
{
	RowStream  *rs = arg;

	if (rs->e != NULL)
	{
		HttpEngineEnd(rs->e);
		rs->e = NULL;
	}
}

/*
 * The sink: keep what arrived.  Runs inside a transport's callback (curl's
 * too): never throws, and says no (x fails) when the bytes not yet taken
 * would pass what the longest row and a few reads need.
 */
static bool
rows_sink(HttpExchange *x, const char *data, size_t len)
{
	RowStream  *rs = x->sink_arg;

	if (rs->pos > 0 && rs->pos >= rs->len / 2)
	{
		/* move what is left to the front (offsets kept are relative) */
		memmove(rs->buf, rs->buf + rs->pos, rs->len - rs->pos);
		rs->len -= rs->pos;
		rs->scan -= rs->pos;
		if (rs->js.capturing_key)
			rs->js.key_start -= rs->pos;
		if (rs->js.element)
			rs->js.element_start -= rs->pos;
		rs->pos = 0;
	}
	if (rs->len - rs->pos + len > rs->max_row + SINK_SLACK)
	{
		rs->refused = "row";
		return false;
	}
	if (rs->len + len + 1 > rs->cap)
	{
		size_t		cap = Max(rs->cap * 2, 65536);
		char	   *grown;

		while (cap < rs->len + len + 1)
			cap *= 2;
		grown = MemoryContextAllocExtended(rs->cxt, cap, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
		if (grown == NULL)
		{
			rs->refused = "memory";
			return false;
		}
		if (rs->buf)
		{
			memcpy(grown, rs->buf, rs->len);
			pfree(rs->buf);
		}
		rs->buf = grown;
		rs->cap = cap;
	}
	memcpy(rs->buf + rs->len, data, len);
	rs->len += len;
	rs->received += len;
	/* the timeout is a wait for the next bytes, not for the whole body */
	x->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), x->req->opt.timeout_ms);
	HttpEngineYield(rs->e);
	return true;
}

/* Fail the statement: a row longer than the limit. */
pg_noreturn static void
row_too_long(RowStream *rs)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("HTTP response row longer than %zu bytes", rs->max_row),
			 errdetail("A row of the body of %s passed max_response_bytes, which limits each row of the streaming functions.",
					   rs->x->req->url),
			 errhint("Raise the \"max_response_bytes\" option, or pg_http.max_response_bytes (superuser)."),
			 errhidestmt(rs->secrets)));
}

/* The next whole line (without its LF or CRLF), or false. */
static bool
next_line(RowStream *rs, const char **row, size_t *n)
{
	char	   *nl = rs->scan < rs->len ? memchr(rs->buf + rs->scan, '\n', rs->len - rs->scan) : NULL;

	if (nl == NULL)
	{
		rs->scan = rs->len;
		if (rs->len - rs->pos > rs->max_row)
			row_too_long(rs);
		return false;
	}
	*row = rs->buf + rs->pos;
	*n = nl - *row;
	if (*n > 0 && (*row)[*n - 1] == '\r')
		(*n)--;
	if (*n > rs->max_row)
		row_too_long(rs);
	rs->pos = rs->scan = nl - rs->buf + 1;
	return true;
}

/* Does the key at buf[start..end) (raw JSON string text) equal want? */
static bool
json_key_is(const char *start, size_t n, const char *want)
{
	if (memchr(start, '\\', n) == NULL)
		return strlen(want) == n && memcmp(start, want, n) == 0;
	else
	{
		/* escapes: let the JSON parser read the string */
		char	   *quoted = palloc(n + 3);
		Jsonb	   *jb;
		JsonbValue	v;
		bool		same;

		quoted[0] = '"';
		memcpy(quoted + 1, start, n);
		quoted[n + 1] = '"';
		quoted[n + 2] = '\0';
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(quoted)));
		if (!JsonbExtractScalar(&jb->root, &v) || v.type != jbvString)
			return false;
		same = strlen(want) == (size_t) v.val.string.len &&
			memcmp(v.val.string.val, want, v.val.string.len) == 0;
		pfree(quoted);
		return same;
	}
}

/* Fail the statement: the body is not the JSON the call asked for. */
pg_noreturn static void
json_refused(RowStream *rs, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("HTTP response body is not the JSON array asked for"),
			 errdetail("%s (%s, at byte %llu).", why, rs->x->req->url,
					   (unsigned long long) (rs->received - (rs->len - rs->scan))),
			 errhint("The path names object keys from the top of the document down to the array; NULL: the document is the array."),
			 errhidestmt(rs->secrets)));
}

/* The element that ends at buf[end] (a ',' or the array's ']'). */
static void
json_element(RowStream *rs, size_t end, const char **row, size_t *n)
{
	JsonScan   *js = &rs->js;
	size_t		e = end;

	while (e > js->element_start && (rs->buf[e - 1] == ' ' || rs->buf[e - 1] == '\t' ||
									 rs->buf[e - 1] == '\n' || rs->buf[e - 1] == '\r'))
		e--;
	*row = rs->buf + js->element_start;
	*n = e - js->element_start;
	js->element = false;
}

/*
 * Scan on for the next element of the array: true with it in row/n, false
 * when the bytes that arrived end first.  Bytes no row needs are let go.
 */
static bool
next_json(RowStream *rs, const char **row, size_t *n)
{
	JsonScan   *js = &rs->js;

	while (rs->scan < rs->len)
	{
		size_t		i = rs->scan++;
		char		c = rs->buf[i];
		int			level = js->depth - 1;	/* the innermost open container */
		bool		at_elements = js->in_array && js->depth == js->npath + 1;

		if (js->in_string)
		{
			if (js->escape)
				js->escape = false;
			else if (c == '\\')
				js->escape = true;
			else if (c == '"')
			{
				js->in_string = false;
				if (js->capturing_key)
				{
					js->capturing_key = false;
					js->key_match[level] = level < js->npath &&
						json_key_is(rs->buf + js->key_start, i - js->key_start, js->path[level]);
				}
			}
			continue;
		}
		switch (c)
		{
			case ' ':
			case '\t':
			case '\n':
			case '\r':
				break;
			case '"':
				js->in_string = true;
				if (at_elements && !js->element)
				{
					js->element = true;
					js->element_start = i;
				}
				else if (level >= 0 && level <= js->npath && js->type[level] == '{' &&
						 js->expect_key[level] && js->on_path[level])
				{
					js->capturing_key = true;
					js->key_start = i + 1;
				}
				break;
			case '{':
			case '[':
				if (at_elements && !js->element)
				{
					js->element = true;
					js->element_start = i;
				}
				js->depth++;
				level++;
				if (level <= js->npath)
				{
					bool		on = level == 0 ||
						(js->on_path[level - 1] && js->type[level - 1] == '{' &&
						 !js->expect_key[level - 1] && js->key_match[level - 1]);

					js->type[level] = c;
					js->on_path[level] = on;
					js->expect_key[level] = c == '{';
					js->key_match[level] = false;
					if (on && level == js->npath)
					{
						if (c != '[')
							json_refused(rs, js->npath == 0 ? "The document is not an array" :
										 "The value at the path is not an array");
						if (js->found)
							json_refused(rs, "The path names two arrays (a key repeated)");
						js->found = true;
						js->in_array = true;
					}
				}
				break;
			case '}':
			case ']':
				if (js->depth == 0 || (level <= js->npath && js->type[level] != (c == '}' ? '{' : '[')))
					json_refused(rs, "A bracket closes what was not open");
				js->depth--;
				if (at_elements && c == ']')
				{
					js->in_array = false;
					js->closed = true;
					if (js->element)
					{
						json_element(rs, i, row, n);
						rs->pos = rs->scan;
						return true;
					}
				}
				break;
			case ',':
				if (at_elements)
				{
					if (!js->element)
						json_refused(rs, "An element of the array is empty");
					json_element(rs, i, row, n);
					rs->pos = rs->scan;
					return true;
				}
				if (level >= 0 && level <= js->npath && js->type[level] == '{')
					js->expect_key[level] = true;
				break;
			case ':':
				if (level >= 0 && level <= js->npath && js->type[level] == '{')
					js->expect_key[level] = false;
				break;
			default:
				if (at_elements && !js->element)
				{
					js->element = true;
					js->element_start = i;
				}
				break;
		}
	}
	/* nothing whole yet: keep only what a row or a key still needs */
	if (js->element)
		rs->pos = js->element_start;
	else if (js->capturing_key)
		rs->pos = js->key_start;
	else
		rs->pos = rs->scan;
	if (rs->len - rs->pos > rs->max_row)
		row_too_long(rs);
	return false;
}

/* row[0..n) as text in the database encoding; the charset the body declared. */
static text *
row_text(RowStream *rs, const char *row, size_t n)
{
	HttpFailure f;
	text	   *t;

	if (!rs->enc_known)
	{
		MemoryContext old = MemoryContextSwitchTo(rs->cxt);

		rs->enc = HttpBodyEncoding(&rs->x->resp, &rs->charset, &f);
		MemoryContextSwitchTo(old);
		if (rs->enc < 0)
			HttpFailureRaise(&f, rs->secrets);
		rs->enc_known = true;
	}
	t = HttpTextDecode(rs->enc, rs->charset, row, (int) n, &f);
	if (t == NULL)
		HttpFailureRaise(&f, rs->secrets);
	return t;
}

/* The exchange is over: raise its failure, or an error status. */
static void
rows_outcome(RowStream *rs)
{
	HttpExchange *x = rs->x;
	int			s = x->resp.status;

	if (rs->refused != NULL && strcmp(rs->refused, "row") == 0)
		row_too_long(rs);
	if (rs->refused != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for a row of HTTP response %s", x->req->url),
				 errhidestmt(rs->secrets)));
	if (!HttpExchangeSucceeded(x))
		HttpExchangeRaise(x);
	if (!HttpExchangeSinks(x, s))
	{
		char	   *excerpt = HttpTextForDatabase(x->resp.body.data ? x->resp.body.data : "",
												  x->resp.body.data ? Min(x->resp.body.len, 200) : 0);

		ereport(ERROR,
				(errcode(MAKE_SQLSTATE('H', 'T', '0' + (s / 100) % 10, '0' + (s / 10) % 10, '0' + s % 10)),
				 errmsg("HTTP status %d from %s", s, x->resp.url ? x->resp.url : x->req->url),
				 excerpt[0] ? errdetail("The body begins: %s", excerpt) : errdetail("The body is empty."),
				 errhint("The streaming functions take rows from a 2xx response only; SQLSTATE HT000 catches every status."),
				 errhidestmt(rs->secrets)));
	}
}

/*
 * Start a stream of rows for the call's url (argument 0), headers and
 * options (arguments headers, options).  In the multi-call context.
 */
static RowStream *
rows_begin(FunctionCallInfo fcinfo, FuncCallContext *fctx, RowKind kind, int headers, int options)
{
	RowStream  *rs = palloc0(sizeof(RowStream));
	text	   *url;
	HttpRequest *req;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("url must not be null")));
	url = PG_GETARG_TEXT_PP(0);
	rs->kind = kind;
	rs->cxt = fctx->multi_call_memory_ctx;
	rs->secrets = HttpCallHasSecrets(fcinfo, 0, headers);
	req = HttpCallRequest(fcinfo, "GET", VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), headers, options);
	HttpRequestFinish(req, NULL);
	rs->max_row = (size_t) Min(req->opt.max_response_bytes, (int64) MaxAllocSize - 1);

	rs->x = palloc0(sizeof(HttpExchange));
	rs->x->req = req;
	rs->x->cxt = rs->cxt;
	rs->x->sink = rows_sink;
	rs->x->sink_arg = rs;
	rs->e = HttpEngineBegin(1);
	rs->cb.func = rows_end;
	rs->cb.arg = rs;
	MemoryContextRegisterResetCallback(rs->cxt, &rs->cb);
	HttpEngineAdd(rs->e, rs->x);
	return rs;
}

/*
 * The next row of the stream (in the caller's context), or false at its
 * end.  Runs the engine while no whole row has arrived.
 */
static bool
rows_next(RowStream *rs, Datum *result)
{
	for (;;)
	{
		const char *row;
		size_t		n;
		bool		got;

		got = rs->kind == ROWS_LINES ? next_line(rs, &row, &n) : next_json(rs, &row, &n);
		if (!got && rs->over && rs->kind == ROWS_LINES && rs->pos < rs->len)
		{
			/* the last line, with no LF after it */
			row = rs->buf + rs->pos;
			n = rs->len - rs->pos;
			if (n > 0 && row[n - 1] == '\r')
				n--;
			rs->pos = rs->scan = rs->len;
			got = true;
		}
		if (got)
		{
			text	   *t = row_text(rs, row, n);

			if (rs->kind == ROWS_LINES)
				*result = PointerGetDatum(t);
			else
				*result = DirectFunctionCall1(jsonb_in, CStringGetDatum(text_to_cstring(t)));
			HttpEngineHold(rs->x, true);
			return true;
		}
		if (rs->over)
		{
			if (rs->kind == ROWS_JSON && (!rs->js.closed || rs->js.depth != 0 || rs->js.in_string))
				json_refused(rs, !rs->js.found ? "The body ended before the array began" :
							 !rs->js.closed ? "The body ended inside the array" :
							 "The body ended inside the document");
			return false;
		}
		HttpEngineHold(rs->x, false);
		if (HttpEngineNext(rs->e, -1, NULL) != NULL)
		{
			rs->over = true;
			rows_outcome(rs);
		}
	}
}

/* The value-per-call body of get_lines and get_json_rows. */
static Datum
rows_call(FunctionCallInfo fcinfo, RowKind kind, int path_arg, int headers, int options)
{
	FuncCallContext *fctx;
	RowStream  *rs;
	Datum		result;
	ErrorContextCallback guard;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;

		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		rs = rows_begin(fcinfo, fctx, kind, headers, options);
		if (path_arg >= 0 && !PG_ARGISNULL(path_arg))
		{
			ArrayType  *a = PG_GETARG_ARRAYTYPE_P(path_arg);
			Datum	   *keys;
			bool	   *knulls;
			int			nkeys;

			deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &keys, &knulls, &nkeys);
			if (nkeys > MAX_JSON_PATH)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("JSON path has %d keys; at most %d are allowed", nkeys, MAX_JSON_PATH)));
			rs->js.path = palloc(sizeof(char *) * Max(nkeys, 1));
			for (int i = 0; i < nkeys; i++)
			{
				if (knulls[i])
					ereport(ERROR,
							(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
							 errmsg("JSON path keys must not be null")));
				rs->js.path[i] = TextDatumGetCString(keys[i]);
			}
			rs->js.npath = nkeys;
		}
		fctx->user_fctx = rs;
		MemoryContextSwitchTo(old);
	}
	fctx = SRF_PERCALL_SETUP();
	rs = fctx->user_fctx;
	HttpSecretGuardPush(&guard, rs->secrets);
	if (rows_next(rs, &result))
	{
		HttpSecretGuardPop(&guard, rs->secrets);
		SRF_RETURN_NEXT(fctx, result);
	}
	HttpSecretGuardPop(&guard, rs->secrets);
	SRF_RETURN_DONE(fctx);
}

PG_FUNCTION_INFO_V1(pg_http_get_lines);
/* http.get_lines(url, headers, options): one row per line of the body */
Datum
pg_http_get_lines(PG_FUNCTION_ARGS)
{
	return rows_call(fcinfo, ROWS_LINES, -1, 1, 2);
}

PG_FUNCTION_INFO_V1(pg_http_get_json_rows);
/* http.get_json_rows(url, path, headers, options): one row per element */
Datum
pg_http_get_json_rows(PG_FUNCTION_ARGS)
{
	return rows_call(fcinfo, ROWS_JSON, 1, 2, 3);
}

/*
 * The target of the first Link field member with rel "next" (RFC 8288):
 * `<uri>; rel="next"` or `rel=next`, among other relations and params, or
 * NULL.
 */
static char *
link_next(const HttpHeaderList *headers)
{
	for (int h = 0; h < headers->n; h++)
	{
		const char *p = headers->items[h].value;

		if (pg_strcasecmp(headers->items[h].name, "link") != 0)
			continue;
		while ((p = strchr(p, '<')) != NULL)
		{
			const char *uri = p + 1;
			const char *end = strchr(uri, '>');
			const char *q;
			const char *stop;

			if (end == NULL)
				break;
			/* this member's params run to the next ",<" (or the end) */
			stop = strchr(end, '<');
			if (stop == NULL)
				stop = end + strlen(end);
			for (q = end + 1; q < stop; q++)
			{
				const char *v;
				size_t		vlen;

				if (pg_strncasecmp(q, "rel=", 4) != 0 || (q > end + 1 && isalnum((unsigned char) q[-1])))
					continue;
				v = q + 4;
				if (*v == '"')
				{
					const char *close = strchr(++v, '"');

					vlen = close && close < stop ? (size_t) (close - v) : 0;
				}
				else
					vlen = strcspn(v, ";, \t");
				/* rel may hold several relation types, space-separated */
				for (const char *t = v; t < v + vlen;)
				{
					size_t		tl = strcspn(t, " \t\"");

					if (tl > (size_t) (v + vlen - t))
						tl = v + vlen - t;
					if (tl == 4 && pg_strncasecmp(t, "next", 4) == 0)
						return pnstrdup(uri, end - uri);
					t += tl;
					while (t < v + vlen && (*t == ' ' || *t == '\t'))
						t++;
				}
			}
			p = end + 1;
		}
	}
	return NULL;
}

typedef struct PageWalk
{
	char	   *next;			/* the next page's URL, NULL: done */
	char	   *origin;			/* the first page's */
	int			pages;			/* taken so far */
	int			max_pages;
	bool		secrets;
	TupleDesc	td;
} PageWalk;

PG_FUNCTION_INFO_V1(pg_http_get_pages);
/*
 * http.get_pages(url, max_pages, headers, options): the responses of a
 * paginated resource, first page first, following Link rel="next" while
 * on the first page's origin, up to max_pages.
 */
Datum
pg_http_get_pages(PG_FUNCTION_ARGS)
{
	FuncCallContext *fctx;
	PageWalk   *w;
	ErrorContextCallback guard;
	HttpRequest *req;
	HttpExchange *x;
	Datum		result;
	MemoryContext old;

	if (SRF_IS_FIRSTCALL())
	{
		TupleDesc	td;

		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		w = palloc0(sizeof(PageWalk));
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("url must not be null")));
		w->next = text_to_cstring(PG_GETARG_TEXT_PP(0));
		w->max_pages = PG_ARGISNULL(1) ? 10 : PG_GETARG_INT32(1);
		if (w->max_pages < 1 || w->max_pages > 100000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_pages must be between 1 and 100000")));
		w->secrets = HttpCallHasSecrets(fcinfo, 0, 2);
		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		w->td = BlessTupleDesc(CreateTupleDescCopy(td));
		fctx->user_fctx = w;
		MemoryContextSwitchTo(old);
	}
	fctx = SRF_PERCALL_SETUP();
	w = fctx->user_fctx;
	if (w->next == NULL || w->pages >= w->max_pages)
		SRF_RETURN_DONE(fctx);

	HttpSecretGuardPush(&guard, w->secrets);
	req = HttpCallRequest(fcinfo, "GET", w->next, strlen(w->next), 2, 3);
	HttpRequestFinish(req, NULL);
	if (w->origin == NULL)
		w->origin = MemoryContextStrdup(fctx->multi_call_memory_ctx, HttpRequestOrigin(req));
	else if (strcmp(w->origin, HttpRequestOrigin(req)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("next page is on another origin: %s", req->url),
				 errdetail("Page %d's Link rel=\"next\" leaves %s; the pages of one call stay on the first page's origin, so its headers go nowhere else.",
						   w->pages, w->origin),
				 errhint("Call http.get_pages again with that URL if it is to be followed."),
				 errhidestmt(w->secrets)));
	x = palloc0(sizeof(HttpExchange));
	x->req = req;
	HttpEngineRunAll(&x, 1, 1);
	result = HttpResponseDatum(x, w->td, false);
	w->pages++;

	/* the next page: where this one's final URL says */
	old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
	{
		char	   *link = link_next(&x->resp.headers);

		if (link != NULL && x->resp.status >= 200 && x->resp.status < 300)
		{
			HttpRequest *at = req;

			if (x->resp.url != NULL && strcmp(x->resp.url, req->url) != 0)
			{
				/* redirected: resolve against where the page was found */
				at = HttpCallRequest(fcinfo, "GET", x->resp.url, strlen(x->resp.url), -1, -1);
			}
			w->next = HttpResolveReference(at, link);
		}
		else
			w->next = NULL;
	}
	MemoryContextSwitchTo(old);
	HttpSecretGuardPop(&guard, w->secrets);
	SRF_RETURN_NEXT(fctx, result);
}
