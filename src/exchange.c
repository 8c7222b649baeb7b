/*-------------------------------------------------------------------------
 *
 * exchange.c
 *	  How an exchange ends: its failure (the first one stands), its outcome,
 *	  and the parser line buffers the transports borrow.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "exchange.h"

#include "utils/memutils.h"

/*
 * Fail x with sqlstate, msg and a detail from detail_fmt (NULL: none),
 * copied into CurrentMemoryContext.  The first failure of an exchange
 * stands: a later one is ignored.  May throw (out of memory).
 */
void
HttpExchangeFail(HttpExchange *x, int sqlstate, const char *msg,
				 const char *detail_fmt,...)
{
	if (x->state == HTTP_X_FAILED)
		return;
	x->state = HTTP_X_FAILED;
	x->finished = GetCurrentTimestamp();
	x->err_code = sqlstate;
	x->err_msg = pstrdup(msg);
	if (detail_fmt != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (;;)
		{
			va_list		args;
			int			needed;

			va_start(args, detail_fmt);
			needed = appendStringInfoVA(&buf, detail_fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&buf, needed);
		}
		x->err_detail = buf.data;
	}
}

/* Fail x with a worded failure (its hint too).  May throw (out of memory). */
void
HttpExchangeFailWith(HttpExchange *x, const HttpFailure *f)
{
	HttpExchangeFail(x, f->sqlstate, f->msg, f->detail ? "%s" : NULL, f->detail);
	if (f->hint)
		HttpExchangeSetHint(x, f->hint);
}

/* Add a hint to x's failure, unless it has one.  May throw. */
void
HttpExchangeSetHint(HttpExchange *x, const char *hint)
{
	if (x->err_hint == NULL)
		x->err_hint = pstrdup(hint);
}

/* A running exchange got its whole response.  Never throws. */
void
HttpExchangeDone(HttpExchange *x)
{
	if (x->state == HTTP_X_RUNNING)
	{
		x->state = HTTP_X_DONE;
		x->finished = GetCurrentTimestamp();
	}
}

/* Did x end with a response (of any status)?  Never throws. */
bool
HttpExchangeSucceeded(const HttpExchange *x)
{
	return x->state == HTTP_X_DONE;
}

/*
 * Does the body of x's response with this status go to x's sink?  Only a
 * final success's: a redirect, an error status or an OAuth token answer is
 * collected as usual (the caller words its error, the engine follows it).
 * Never throws.
 */
bool
HttpExchangeSinks(const HttpExchange *x, int status)
{
	return x->sink != NULL && !x->req->token_request && status >= 200 && status < 300;
}

/*
 * Turn the ERROR being handled (in a PG_CATCH) into x's failure: its
 * SQLSTATE, message, detail and hint.  For the code that works on one
 * exchange alone (starting it, a redirect hop, a resolver answer, a socket
 * event): what goes wrong there fails that request and nothing else, which
 * in a delivery worker, outside any transaction, is the difference between
 * one failed request and a dead worker.  That code holds no lock, buffer
 * pin or catalog state, so nothing but the error itself needs cleaning up.
 * A cancel (class 57) is not about x: it is re-thrown.  cxt is the memory
 * context to go back to.
 */
void
HttpExchangeAbsorbError(HttpExchange *x, MemoryContext cxt)
{
	ErrorData  *e;

	MemoryContextSwitchTo(x->cxt ? x->cxt : cxt);
	e = CopyErrorData();
	if (ERRCODE_TO_CATEGORY(e->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
	{
		MemoryContextSwitchTo(cxt);
		PG_RE_THROW();
	}
	FlushErrorState();
	if (x->state != HTTP_X_FAILED)
	{
		x->state = HTTP_X_FAILED;
		x->finished = GetCurrentTimestamp();
		x->err_code = e->sqlerrcode;
		x->err_msg = e->message;
		x->err_detail = e->detail;
		x->err_hint = e->hint;
	}
	MemoryContextSwitchTo(cxt);
}

/*
 * Raise the error a failed exchange ended with.  Text from servers and
 * libraries is in the detail, never the message template.  The statement is
 * kept out of the log when the request carries credentials.
 */
void
HttpExchangeRaise(const HttpExchange *x)
{
	ereport(ERROR,
			(errcode(x->err_code),
			 errmsg_internal("%s", x->err_msg),
			 x->err_detail ? errdetail_internal("%s", x->err_detail) : 0,
			 x->err_hint ? errhint("%s", x->err_hint) : 0,
			 errhidestmt(x->req != NULL && x->req->has_secrets)));
	pg_unreachable();
}

/* Raise a worded failure as an ERROR. */
void
HttpFailureRaise(const HttpFailure *f, bool hide_statement)
{
	ereport(ERROR,
			(errcode(f->sqlstate),
			 errmsg_internal("%s", f->msg),
			 f->detail ? errdetail_internal("%s", f->detail) : 0,
			 f->hint ? errhint("%s", f->hint) : 0,
			 errhidestmt(hide_statement)));
	pg_unreachable();
}

/*
 * Line buffers for the HTTP/1.1 parser (max_header_bytes + 1 bytes each, the
 * limit of the request's snapshot), kept for reuse: allocating and freeing
 * 64 kB per call made malloc move the heap top up and down with two brk()
 * calls every time.  Buffers of one size are cached: the size of the last
 * request that asked.
 */
#define LINEBUF_CACHE 8
static char *linebuf_cache[LINEBUF_CACHE];
static int	linebuf_cached = 0;
static int	linebuf_size = 0;

/*
 * A line buffer of size bytes (in TopMemoryContext); give it back with
 * HttpLineBufferPut and the same size.  May throw (out of memory).
 */
char *
HttpLineBufferGet(int size)
{
	if (linebuf_size != size)
	{
		/* another limit: drop buffers of the old size */
		while (linebuf_cached > 0)
			pfree(linebuf_cache[--linebuf_cached]);
		linebuf_size = size;
	}
	if (linebuf_cached > 0)
		return linebuf_cache[--linebuf_cached];
	return MemoryContextAlloc(TopMemoryContext, size);
}

/* Give back a buffer of size bytes from HttpLineBufferGet (NULL: nothing). */
void
HttpLineBufferPut(char *buf, int size)
{
	if (buf == NULL)
		return;
	if (linebuf_cached < LINEBUF_CACHE && size == linebuf_size)
		linebuf_cache[linebuf_cached++] = buf;
	else
		pfree(buf);
}
