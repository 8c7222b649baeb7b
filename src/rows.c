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

#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"

/* Bytes a sink may hold beyond the longest row: a few reads' worth. */
#define SINK_SLACK		(16 * 1024 * 1024)

/* The path to a JSON array is at most this deep. */
#define MAX_JSON_PATH	32

/* Containers open around the array's elements, at most (inside an element, jsonb_in judges). */
#define MAX_JSON_DEPTH	10000

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
	bool		key_string;		/* the string being read is a key of an object on the path */
	bool		capturing_key;	/* ... whose text is kept to compare */
	size_t		key_start;		/* offset of its first byte */
	bool		in_array;		/* inside the array (at npath) */
	bool		after_comma;	/* ... right after a comma between elements */
	bool		top_done;		/* the document's value ended */
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
	bool		no_memory;		/* the sink could not grow its buffer */

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
 * too): never throws; says no (x fails) only when out of memory.
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
	if (rs->len + len + 1 > rs->cap)
	{
		size_t		cap = Max(rs->cap * 2, 65536);
		char	   *grown;

		while (cap < rs->len + len + 1)
			cap *= 2;
		grown = MemoryContextAllocExtended(rs->cxt, cap, MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
		if (grown == NULL)
		{
			rs->no_memory = true;
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
	/*
	 * Full (a decompressed piece can be large): take no more until the rows
	 * are taken.  The transports hold at their next piece; a row longer
	 * than the limit is refused when the scan finds no end to it.
	 */
	if (rs->len - rs->pos > rs->max_row + SINK_SLACK)
		x->sink_held = true;
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

/* The value of n hex digits at s, or -1. */
static int
hex_value(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		int			d = HttpHexDigit(s[i]);

		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/*
 * Does the raw JSON string text s[0..n) (quotes off, escapes in) equal
 * want?  Escapes are read here, allocating nothing (a body may hold any
 * number of keys); \u escapes are UTF-8.  Never throws.
 */
static bool
json_key_is(const char *s, size_t n, const char *want)
{
	size_t		wl = strlen(want);
	size_t		j = 0;

	for (size_t i = 0; i < n;)
	{
		unsigned char out[4];
		int			olen = 1;

		if (s[i] != '\\')
			out[0] = (unsigned char) s[i++];
		else if (i + 1 >= n)
			return false;
		else
		{
			char		e = s[i + 1];

			i += 2;
			switch (e)
			{
				case '"':
				case '\\':
				case '/':
					out[0] = (unsigned char) e;
					break;
				case 'b':
					out[0] = '\b';
					break;
				case 'f':
					out[0] = '\f';
					break;
				case 'n':
					out[0] = '\n';
					break;
				case 'r':
					out[0] = '\r';
					break;
				case 't':
					out[0] = '\t';
					break;
				case 'u':
					{
						int			cp = i + 4 <= n ? hex_value(s + i, 4) : -1;

						if (cp < 0)
							return false;
						i += 4;
						if (cp >= 0xD800 && cp <= 0xDBFF && i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u')
						{
							int			lo = hex_value(s + i + 2, 4);

							if (lo >= 0xDC00 && lo <= 0xDFFF)
							{
								cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
								i += 6;
							}
						}
						if (cp < 0x80)
							out[0] = (unsigned char) cp;
						else if (cp < 0x800)
						{
							out[0] = 0xC0 | (cp >> 6);
							out[1] = 0x80 | (cp & 0x3F);
							olen = 2;
						}
						else if (cp < 0x10000)
						{
							out[0] = 0xE0 | (cp >> 12);
							out[1] = 0x80 | ((cp >> 6) & 0x3F);
							out[2] = 0x80 | (cp & 0x3F);
							olen = 3;
						}
						else
						{
							out[0] = 0xF0 | (cp >> 18);
							out[1] = 0x80 | ((cp >> 12) & 0x3F);
							out[2] = 0x80 | ((cp >> 6) & 0x3F);
							out[3] = 0x80 | (cp & 0x3F);
							olen = 4;
						}
					}
					break;
				default:
					return false;
			}
		}
		if (j + olen > wl || memcmp(want + j, out, olen) != 0)
			return false;
		j += olen;
	}
	return j == wl;
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
		bool		want_key;		/* an object on the path expects a key */

		if (js->in_string)
		{
			if (js->escape)
				js->escape = false;
			else if (c == '\\')
				js->escape = true;
			else if (c == '"')
			{
				js->in_string = false;
				if (js->key_string)
					js->expect_key[level] = false;	/* a ':' and a value next */
				js->key_string = false;
				if (js->capturing_key)
				{
					js->capturing_key = false;
					js->key_match[level] = level < js->npath &&
						json_key_is(rs->buf + js->key_start, i - js->key_start, js->path[level]);
				}
			}
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (js->top_done)
			json_refused(rs, "Text follows the document");
		want_key = level >= 0 && level <= js->npath && js->type[level] == '{' &&
			js->expect_key[level];
		if (want_key && c != '"' && c != '}')
			json_refused(rs, "An object key is not a string");
		if (at_elements && c != ',' && c != ']')
			js->after_comma = false;
		switch (c)
		{
			case '"':
				js->in_string = true;
				js->key_string = want_key;
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
				if (++js->depth > MAX_JSON_DEPTH)
					json_refused(rs, "Arrays and objects are nested too deep around the elements");
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
				js->top_done = js->depth == 0;
				if (at_elements && c == ']')
				{
					if (js->after_comma)
						json_refused(rs, "An element of the array is empty");
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
					js->after_comma = true;
					rs->pos = rs->scan;
					return true;
				}
				if (level >= 0 && level <= js->npath && js->type[level] == '{')
				{
					js->expect_key[level] = true;
					js->key_match[level] = false;
				}
				break;
			case ':':
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

/*
 * The body's charset, from its Content-Type (curl's, as the transfer goes,
 * is x->sink_content_type: x->resp has its headers only at the end).  JSON
 * is scanned byte by byte, so its charset must be one whose multibyte
 * characters hold no ASCII bytes (a server encoding), and the path's keys
 * are compared in it.
 */
static void
rows_encoding(RowStream *rs)
{
	HttpExchange *x = rs->x;
	HttpFailure f;
	MemoryContext old = MemoryContextSwitchTo(rs->cxt);
	int			db = GetDatabaseEncoding();

	rs->enc = HttpBodyEncoding(x->sink_content_type ? x->sink_content_type :
							   HttpContentType(&x->resp), &rs->charset, &f);
	if (rs->enc < 0)
		HttpFailureRaise(&f, rs->secrets);
	if (rs->kind == ROWS_JSON && !PG_VALID_BE_ENCODING(rs->enc))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("http.get_json_rows cannot read JSON in charset \"%s\"", rs->charset),
				 errdetail("Its multibyte characters may hold bytes that look like JSON's brackets and quotes."),
				 errhint("Use http.get() for the whole body, or ask the server for UTF-8.")));
	if (rs->kind == ROWS_JSON && rs->enc != db && rs->enc != PG_SQL_ASCII && db != PG_SQL_ASCII)
	{
		for (int i = 0; i < rs->js.npath; i++)
			rs->js.path[i] = (char *) pg_do_encoding_conversion((unsigned char *) rs->js.path[i],
																strlen(rs->js.path[i]), db, rs->enc);
	}
	MemoryContextSwitchTo(old);
	rs->enc_known = true;
}

/* row[0..n) as text in the database encoding, from the body's charset. */
static text *
row_text(RowStream *rs, const char *row, size_t n)
{
	HttpFailure f;
	text	   *t;

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

	if (rs->no_memory)
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
				(errcode(MAKE_SQLSTATE('W', 'H', '0' + (s / 100) % 10, '0' + (s / 10) % 10, '0' + s % 10)),
				 errmsg("HTTP status %d from %s", s, x->resp.url ? x->resp.url : x->req->url),
				 excerpt[0] ? errdetail("The body begins: %s", excerpt) : errdetail("The body is empty."),
				 errhint("The streaming functions take rows from a 2xx response only; SQLSTATE WH000 catches every status."),
				 errhidestmt(rs->secrets)));
	}
}

/*
 * Start a stream of rows for the call's url (argument 0), headers and
 * options (arguments headers, options).  In the multi-call context.
 */
static RowStream *
rows_begin(FunctionCallInfo fcinfo, FuncCallContext *fctx, RowKind kind, int headers, int options,
		   bool secrets)
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
	rs->secrets = secrets;
	req = HttpCallRequest(fcinfo, "GET", VARDATA_ANY(url), VARSIZE_ANY_EXHDR(url), headers, options);
	HttpRequestFinish(req, NULL);
	rs->max_row = (size_t) Min(req->opt.max_response_bytes, (int64) MaxAllocSize - 1);

	rs->x = palloc0(sizeof(HttpExchange));
	rs->x->req = req;
	rs->x->cxt = rs->cxt;
	rs->x->sink = rows_sink;
	rs->x->sink_arg = rs;
	rs->x->sink_held = true;	/* held but while the engine runs (rows_next) */
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
		const char *row = NULL;
		size_t		n = 0;
		bool		got;
		HttpExchange *found;

		if (!rs->enc_known && rs->len > 0)
			rows_encoding(rs);
		got = rs->len > 0 &&
			(rs->kind == ROWS_LINES ? next_line(rs, &row, &n) : next_json(rs, &row, &n));
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
		/* read on, and hold again whatever happens next (an error in a row) */
		HttpEngineHold(rs->x, false);
		found = HttpEngineNext(rs->e, -1, NULL);
		HttpEngineHold(rs->x, true);
		if (found != NULL)
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
		bool		secrets = HttpCallHasSecrets(fcinfo, 0, headers);

		/* from the first check on, an error keeps the statement out of the log */
		HttpSecretGuardPush(&guard, secrets);
		fctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(fctx->multi_call_memory_ctx);
		rs = rows_begin(fcinfo, fctx, kind, headers, options, secrets);
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
		HttpSecretGuardPop(&guard, secrets);
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

/* Skip spaces and tabs. */
static const char *
link_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Skip to the ',' ending a Link member (outside quoted strings), or the end. */
static const char *
link_member_end(const char *p)
{
	while (*p && *p != ',')
	{
		if (*p++ == '"')
		{
			while (*p && *p != '"')
				p += (*p == '\\' && p[1]) ? 2 : 1;
			if (*p)
				p++;
		}
	}
	return p;
}

/*
 * The target of the first Link field member whose rel parameter has the
 * relation type "next" (RFC 8288: `<uri>; rel="next"` or `rel=next`, among
 * other types and parameters), or NULL.  One pass over each value.
 */
static char *
link_next(const HttpHeaderList *headers)
{
	for (int h = 0; h < headers->n; h++)
	{
		const char *p = headers->items[h].value;

		if (pg_strcasecmp(headers->items[h].name, "link") != 0)
			continue;
		while (*p)
		{
			const char *uri;
			const char *end;
			bool		next = false;
			bool		seen_rel = false;

			p = link_ws(p);
			if (*p == ',')
			{
				p++;
				continue;
			}
			if (*p != '<' || (end = strchr(p + 1, '>')) == NULL)
			{
				p = link_member_end(p);
				continue;
			}
			uri = p + 1;
			p = link_ws(end + 1);
			while (*p == ';')
			{
				const char *name = p = link_ws(p + 1);
				const char *val = NULL;
				size_t		nlen,
							vlen = 0;

				while (*p && !strchr("=;, \t", *p))
					p++;
				nlen = p - name;
				p = link_ws(p);
				if (*p == '=')
				{
					p = link_ws(p + 1);
					if (*p == '"')
					{
						val = ++p;
						while (*p && *p != '"')
							p += (*p == '\\' && p[1]) ? 2 : 1;
						vlen = p - val;
						if (*p)
							p++;
					}
					else
					{
						val = p;
						while (*p && !strchr(";, \t", *p))
							p++;
						vlen = p - val;
					}
					p = link_ws(p);
				}
				/* only a member's first rel counts (RFC 8288 3.3) */
				if (nlen == 3 && pg_strncasecmp(name, "rel", 3) == 0 && val != NULL && !seen_rel)
				{
					seen_rel = true;
					for (size_t k = 0; k < vlen;)
					{
						size_t		t = k;

						while (t < vlen && val[t] != ' ' && val[t] != '\t')
							t++;
						if (t - k == 4 && pg_strncasecmp(val + k, "next", 4) == 0)
							next = true;
						k = t + 1;
					}
				}
			}
			if (next)
				return pnstrdup(uri, end - uri);
			p = link_member_end(p);
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
		bool		secrets = HttpCallHasSecrets(fcinfo, 0, 2);

		HttpSecretGuardPush(&guard, secrets);
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
		w->secrets = secrets;
		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		w->td = BlessTupleDesc(CreateTupleDescCopy(td));
		fctx->user_fctx = w;
		MemoryContextSwitchTo(old);
		HttpSecretGuardPop(&guard, secrets);
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

	/* the next page: where this one's final URL says (kept; the rest goes with the call) */
	{
		char	   *link = link_next(&x->resp.headers);
		char	   *prev = w->next;

		w->next = NULL;
		if (link != NULL && x->resp.status >= 200 && x->resp.status < 300)
		{
			HttpRequest *at = req;

			if (x->resp.url != NULL && strcmp(x->resp.url, req->url) != 0)
			{
				/* redirected: resolve against where the page was found */
				at = HttpCallRequest(fcinfo, "GET", x->resp.url, strlen(x->resp.url), -1, -1);
			}
			w->next = MemoryContextStrdup(fctx->multi_call_memory_ctx, HttpResolveReference(at, link));
		}
		pfree(prev);
	}
	HttpSecretGuardPop(&guard, w->secrets);
	SRF_RETURN_NEXT(fctx, result);
}
