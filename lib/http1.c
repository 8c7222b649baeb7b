/*-------------------------------------------------------------------------
 *
 * http1.c
 *	  HTTP/1.1 request writer and incremental response parser (RFC 9112).
 *
 * No PostgreSQL header may be included here: see http1.h.
 *
 *-------------------------------------------------------------------------
 */
#include "http1.h"

#include <string.h>

/* Parser states. */
enum
{
	ST_STATUS,					/* status line (or empty lines before it) */
	ST_HEADERS,					/* header field lines */
	ST_BODY_LENGTH,				/* remaining bytes of a Content-Length body */
	ST_CHUNK_SIZE,				/* chunk-size line */
	ST_CHUNK_DATA,				/* remaining bytes of a chunk */
	ST_CHUNK_CR,				/* CR (or bare LF) after chunk data */
	ST_CHUNK_LF,				/* LF after that CR */
	ST_TRAILERS,				/* trailer field lines */
	ST_BODY_CLOSE,				/* everything until the server closes */
	ST_DONE
};

/* Largest chunk size or Content-Length we accept: 2^60, far above any limit. */
#define HTTP1_MAX_LENGTH	(UINT64_C(1) << 60)

static const char *const error_messages[] = {
	[0] = "no error",
	[-HTTP1_E_STATUS_LINE] = "invalid status line",
	[-HTTP1_E_VERSION] = "unsupported HTTP version",
	[-HTTP1_E_HEADER_SYNTAX] = "malformed header field",
	[-HTTP1_E_LINE_TOO_LONG] = "header line too long",
	[-HTTP1_E_TOO_MANY_HEADERS] = "too many header fields",
	[-HTTP1_E_HEADERS_TOO_LARGE] = "header section too large",
	[-HTTP1_E_CONTENT_LENGTH] = "invalid Content-Length",
	[-HTTP1_E_TRANSFER_CODING] = "unsupported Transfer-Encoding",
	[-HTTP1_E_CHUNK_SIZE] = "invalid chunk size",
	[-HTTP1_E_CHUNK_DATA] = "chunk data not terminated by CRLF",
	[-HTTP1_E_TOO_MANY_INTERIM] = "too many 1xx interim responses",
	[-HTTP1_E_SWITCHING] = "unexpected 101 Switching Protocols",
	[-HTTP1_E_TRUNCATED] = "connection closed before the response was complete",
	[-HTTP1_E_CALLBACK] = "response processing stopped",
	[-HTTP1_E_EMPTY] = "connection closed before any response byte",
	[-HTTP1_E_BARE_CR] = "bare CR in header section",
};

/* RFC 9110 tchar, indexed by byte. */
static bool
is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static inline char
lower_ascii(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c + ('a' - 'A')) : c;
}

/* RFC 9110 token (method, field name): non-empty, tchar only. */
bool
Http1IsToken(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char) s[i]))
			return false;
	return true;
}

/* Field value we are willing to send: no CR, LF, NUL or other CTL but HTAB. */
bool
Http1IsFieldValue(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* Case-insensitive comparison of a counted string with a C string. */
bool
Http1NameIs(const char *name, size_t len, const char *lit)
{
	size_t		i;

	for (i = 0; i < len; i++)
		if (lit[i] == '\0' || lower_ascii(name[i]) != lower_ascii(lit[i]))
			return false;
	return lit[i] == '\0';
}

/* A static English description of an Http1Error. */
const char *
Http1ErrorMessage(int err)
{
	if (err > 0 || -err >= (int) (sizeof(error_messages) / sizeof(error_messages[0])) ||
		error_messages[-err] == NULL)
		return "unknown HTTP/1.1 parser error";
	return error_messages[-err];
}

/* Reset per-section counters before a header or trailer section. */
static void
start_section(Http1Parser *p)
{
	p->section_bytes = 0;
	p->nfields = 0;
	p->saw_field = false;
}

/* Reset what the header fields of one response told us. */
static void
start_response(Http1Parser *p)
{
	start_section(p);
	p->status = 0;
	p->minor = 0;
	p->framing = HTTP1_FRAMING_CLOSE;
	p->content_length = -1;
	p->keep_alive = false;
	p->conn_close = false;
	p->conn_keep_alive = false;
	p->saw_te = false;
	p->te_chunked_last = false;
	p->te_unsupported = false;
	p->state = ST_STATUS;
}

/* Prepare p for a new response.  linebuf must hold limits->max_line + 1 bytes. */
void
Http1ParserInit(Http1Parser *p, const Http1Callbacks *cb, void *ctx,
				const Http1Limits *limits, char *linebuf, bool head_request)
{
	memset(p, 0, sizeof(*p));
	p->cb = cb;
	p->ctx = ctx;
	p->limits = *limits;
	p->linebuf = linebuf;
	p->head_request = head_request;
	start_response(p);
}

/*
 * Take the next line from data.  On success *line and *linelen describe it
 * without its terminator (LF, or CRLF), and *used says how many input bytes
 * it took.  Returns 1 for a line, 0 when all input was buffered waiting for
 * the end of the line, or an error.  linebuf holds max_line + 1 bytes: a
 * line of the maximum length and its CR.
 */
static int
next_line(Http1Parser *p, const char *data, size_t len, size_t *used,
		  const char **line, size_t *linelen, size_t *raw)
{
	const char *lf = memchr(data, '\n', len);
	size_t		take = lf ? (size_t) (lf - data) + 1 : len;
	const char *l;
	size_t		n;

	*used = take;
	if (lf == NULL)
	{
		if (p->linelen + take > p->limits.max_line + 1)
			return HTTP1_E_LINE_TOO_LONG;
		memcpy(p->linebuf + p->linelen, data, take);
		p->linelen += take;
		return 0;
	}

	*raw = p->linelen + take;	/* the whole line as it came, terminator included */
	n = p->linelen + take - 1;	/* without the LF */
	if (n > p->limits.max_line + 1)
		return HTTP1_E_LINE_TOO_LONG;
	if (p->linelen == 0)
		l = data;				/* whole line in the caller's buffer: no copy */
	else
	{
		memcpy(p->linebuf + p->linelen, data, take - 1);
		l = p->linebuf;
	}
	if (n > 0 && l[n - 1] == '\r')
		n--;
	if (n > p->limits.max_line)
		return HTTP1_E_LINE_TOO_LONG;

	*line = l;
	*linelen = n;
	p->linelen = 0;
	return 1;
}

/*
 * Refuse early a reply that does not start with "HTTP/" (an HTTP/0.9-style
 * body, or garbage), without waiting for a line end that may never come.
 * Empty lines before the status line are tolerated.
 */
static int
check_status_prefix(const Http1Parser *p, const char *data, size_t len)
{
	for (size_t k = 0; k < 5; k++)
	{
		char		c;

		if (k < p->linelen)
			c = p->linebuf[k];
		else if (k - p->linelen < len)
			c = data[k - p->linelen];
		else
			break;
		if (k == 0 && (c == '\r' || c == '\n'))
			break;
		if (c != "HTTP/"[k])
			return HTTP1_E_STATUS_LINE;
	}
	return HTTP1_OK;
}

/* Parse a decimal Content-Length value list ("5" or "5, 5"). */
static int
parse_content_length(Http1Parser *p, const char *v, size_t len)
{
	size_t		i = 0;

	if (len == 0)
		return HTTP1_E_CONTENT_LENGTH;
	while (i < len)
	{
		uint64_t	n = 0;
		size_t		start;

		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		start = i;
		while (i < len && v[i] >= '0' && v[i] <= '9')
		{
			n = n * 10 + (uint64_t) (v[i] - '0');
			if (n > HTTP1_MAX_LENGTH)
				return HTTP1_E_CONTENT_LENGTH;
			i++;
		}
		if (i == start)
			return HTTP1_E_CONTENT_LENGTH;
		while (i < len && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < len && v[i] != ',')
			return HTTP1_E_CONTENT_LENGTH;
		i++;					/* skip the comma */
		/* differing values are a framing attack: refuse them */
		if (p->content_length >= 0 && (uint64_t) p->content_length != n)
			return HTTP1_E_CONTENT_LENGTH;
		p->content_length = (int64_t) n;
	}
	if (len > 0 && v[len - 1] == ',')
		return HTTP1_E_CONTENT_LENGTH;
	return HTTP1_OK;
}

/*
 * Call fn for each comma-separated element of a field value, trimmed;
 * empty elements are skipped as RFC 9110 5.6.1 asks.
 */
static int
for_each_element(Http1Parser *p, const char *v, size_t len,
				 int (*fn) (Http1Parser *p, const char *e, size_t elen))
{
	size_t		i = 0;

	while (i < len)
	{
		size_t		start,
					end;
		int			rc;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end > start && (rc = fn(p, v + start, end - start)) != HTTP1_OK)
			return rc;
	}
	return HTTP1_OK;
}

/* One Transfer-Encoding element. */
static int
te_element(Http1Parser *p, const char *e, size_t len)
{
	/* chunked must be last, and only once (RFC 9112 6.1) */
	if (p->te_chunked_last)
		return HTTP1_E_TRANSFER_CODING;
	if (Http1NameIs(e, len, "chunked"))
		p->te_chunked_last = true;
	else if (!Http1NameIs(e, len, "identity"))
		p->te_unsupported = true;
	return HTTP1_OK;
}

/* One Connection element. */
static int
connection_element(Http1Parser *p, const char *e, size_t len)
{
	if (Http1NameIs(e, len, "close"))
		p->conn_close = true;
	else if (Http1NameIs(e, len, "keep-alive"))
		p->conn_keep_alive = true;
	return HTTP1_OK;
}

/* Parse the status line "HTTP/1.x NNN reason". */
static int
parse_status_line(Http1Parser *p, const char *l, size_t len)
{
	int			status;

	if (len < 12 || memcmp(l, "HTTP/", 5) != 0 ||
		l[5] < '0' || l[5] > '9' || l[6] != '.' || l[7] < '0' || l[7] > '9' ||
		l[8] != ' ')
		return HTTP1_E_STATUS_LINE;
	if (l[5] != '1')
		return HTTP1_E_VERSION;
	for (int i = 9; i < 12; i++)
		if (l[i] < '0' || l[i] > '9')
			return HTTP1_E_STATUS_LINE;
	status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (status < 100 || (len > 12 && l[12] != ' '))
		return HTTP1_E_STATUS_LINE;
	for (size_t i = 13; i < len; i++)
	{
		unsigned char c = (unsigned char) l[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return HTTP1_E_STATUS_LINE;
	}
	if (status == 101)
		return HTTP1_E_SWITCHING;

	p->status = status;
	p->minor = l[7] - '0';
	if (status >= 200 && p->cb->on_status &&
		p->cb->on_status(p->ctx, p->minor, status,
						 len > 13 ? l + 13 : "", len > 13 ? len - 13 : 0) != 0)
		return HTTP1_E_CALLBACK;
	return HTTP1_OK;
}

/* Parse one field line of the header or trailer section. */
static int
parse_field_line(Http1Parser *p, const char *l, size_t len, bool trailer)
{
	const char *colon;
	size_t		nlen,
				vstart,
				vend;
	bool		interim = p->status < 200;

	if (memchr(l, '\r', len) != NULL)
		return HTTP1_E_BARE_CR;
	if (memchr(l, '\0', len) != NULL)
		return HTTP1_E_HEADER_SYNTAX;

	if (++p->nfields > p->limits.max_headers)
		return HTTP1_E_TOO_MANY_HEADERS;

	/* obs-fold: a continuation of the previous field (RFC 9112 5.2) */
	if (l[0] == ' ' || l[0] == '\t')
	{
		if (!p->saw_field)
			return HTTP1_E_HEADER_SYNTAX;
		p->nfields--;			/* part of the previous field */
		vstart = 0;
		vend = len;
		while (vstart < vend && (l[vstart] == ' ' || l[vstart] == '\t'))
			vstart++;
		while (vend > vstart && (l[vend - 1] == ' ' || l[vend - 1] == '\t'))
			vend--;
		if (!interim && p->cb->on_header &&
			p->cb->on_header(p->ctx, NULL, 0, l + vstart, vend - vstart, trailer) != 0)
			return HTTP1_E_CALLBACK;
		return HTTP1_OK;
	}

	colon = memchr(l, ':', len);
	if (colon == NULL)
		return HTTP1_E_HEADER_SYNTAX;
	nlen = (size_t) (colon - l);
	/* no whitespace between name and colon (RFC 9112 5.1) */
	if (!Http1IsToken(l, nlen))
		return HTTP1_E_HEADER_SYNTAX;
	vstart = nlen + 1;
	vend = len;
	while (vstart < vend && (l[vstart] == ' ' || l[vstart] == '\t'))
		vstart++;
	while (vend > vstart && (l[vend - 1] == ' ' || l[vend - 1] == '\t'))
		vend--;
	p->saw_field = true;

	/* framing fields of the final response's header section */
	if (!trailer && !interim)
	{
		const char *v = l + vstart;
		size_t		vlen = vend - vstart;
		int			rc = HTTP1_OK;

		if (Http1NameIs(l, nlen, "content-length"))
			rc = parse_content_length(p, v, vlen);
		else if (Http1NameIs(l, nlen, "transfer-encoding"))
		{
			p->saw_te = true;
			rc = for_each_element(p, v, vlen, te_element);
		}
		else if (Http1NameIs(l, nlen, "connection"))
			rc = for_each_element(p, v, vlen, connection_element);
		if (rc != HTTP1_OK)
			return rc;
	}

	if (!interim && p->cb->on_header &&
		p->cb->on_header(p->ctx, l, nlen, l + vstart, vend - vstart, trailer) != 0)
		return HTTP1_E_CALLBACK;
	return HTTP1_OK;
}

/* The empty line ending the header section: decide how the body is framed. */
static int
end_of_headers(Http1Parser *p)
{
	if (p->status < 200)
	{
		/* an interim response: skip it and read the next status line */
		if (++p->ninterim > p->limits.max_interim)
			return HTTP1_E_TOO_MANY_INTERIM;
		start_response(p);
		return HTTP1_OK;
	}

	p->keep_alive = p->minor >= 1 ? !p->conn_close
		: (p->conn_keep_alive && !p->conn_close);

	if (p->head_request || p->status == 204 || p->status == 304)
		p->framing = HTTP1_FRAMING_NONE;
	else if (p->saw_te)
	{
		if (p->te_unsupported)
			return HTTP1_E_TRANSFER_CODING;
		if (!p->te_chunked_last)
			return HTTP1_E_TRANSFER_CODING;
		p->framing = HTTP1_FRAMING_CHUNKED;
		/* both framings: Transfer-Encoding wins, but never reuse (RFC 9112 6.3) */
		if (p->content_length >= 0)
		{
			p->keep_alive = false;
			p->content_length = -1;
		}
	}
	else if (p->content_length >= 0)
		p->framing = HTTP1_FRAMING_LENGTH;
	else
	{
		p->framing = HTTP1_FRAMING_CLOSE;
		p->keep_alive = false;
	}

	if (p->cb->on_headers_done && p->cb->on_headers_done(p->ctx) != 0)
		return HTTP1_E_CALLBACK;

	switch (p->framing)
	{
		case HTTP1_FRAMING_NONE:
			p->state = ST_DONE;
			break;
		case HTTP1_FRAMING_LENGTH:
			p->remaining = (uint64_t) p->content_length;
			p->state = p->remaining == 0 ? ST_DONE : ST_BODY_LENGTH;
			break;
		case HTTP1_FRAMING_CHUNKED:
			p->state = ST_CHUNK_SIZE;
			break;
		case HTTP1_FRAMING_CLOSE:
			p->state = ST_BODY_CLOSE;
			break;
	}
	return HTTP1_OK;
}

/* Parse a chunk-size line: 1*HEXDIG [ BWS ";" chunk-ext ]. */
static int
parse_chunk_size(Http1Parser *p, const char *l, size_t len)
{
	uint64_t	n = 0;
	size_t		i = 0;

	while (i < len)
	{
		char		c = l[i];
		int			d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		n = (n << 4) | (uint64_t) d;
		if (n > HTTP1_MAX_LENGTH)
			return HTTP1_E_CHUNK_SIZE;
		i++;
	}
	if (i == 0)
		return HTTP1_E_CHUNK_SIZE;
	while (i < len && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < len && l[i] != ';')
		return HTTP1_E_CHUNK_SIZE;
	if (memchr(l, '\r', len) != NULL || memchr(l, '\0', len) != NULL)
		return HTTP1_E_CHUNK_SIZE;

	p->remaining = n;
	if (n == 0)
	{
		start_section(p);
		p->state = ST_TRAILERS;
	}
	else
		p->state = ST_CHUNK_DATA;
	return HTTP1_OK;
}

/* Hand up to p->remaining body bytes to on_body. */
static int
emit_body(Http1Parser *p, const char *data, size_t len, size_t *used)
{
	size_t		n = len;

	if (p->state != ST_BODY_CLOSE && (uint64_t) n > p->remaining)
		n = (size_t) p->remaining;
	if (n > 0 && p->cb->on_body && p->cb->on_body(p->ctx, data, n) != 0)
		return HTTP1_E_CALLBACK;
	if (p->state != ST_BODY_CLOSE)
		p->remaining -= n;
	*used = n;
	return HTTP1_OK;
}

/* Account a line of the header or trailer section against the limits. */
static int
count_section_bytes(Http1Parser *p, size_t bytes)
{
	p->section_bytes += bytes;
	if (p->section_bytes > p->limits.max_header_bytes)
		return HTTP1_E_HEADERS_TOO_LARGE;
	return HTTP1_OK;
}

/*
 * Feed len bytes.  Returns the number of bytes consumed (all of them unless
 * the message ended inside the buffer: then p->done is set and the rest
 * belongs to no message), or a negative Http1Error.
 */
ssize_t
Http1Parse(Http1Parser *p, const char *data, size_t len)
{
	size_t		pos = 0;

	if (len > 0)
		p->any_input = true;

	while (pos < len && p->state != ST_DONE)
	{
		const char *line = NULL;
		size_t		linelen = 0;
		size_t		used = 0;
		size_t		raw = 0;
		int			rc;

		switch (p->state)
		{
			case ST_STATUS:
			case ST_HEADERS:
			case ST_TRAILERS:
			case ST_CHUNK_SIZE:
				if (p->state == ST_STATUS && p->linelen < 5 &&
					(rc = check_status_prefix(p, data + pos, len - pos)) != HTTP1_OK)
					return rc;
				rc = next_line(p, data + pos, len - pos, &used, &line, &linelen, &raw);
				if (rc < 0)
					return rc;
				pos += used;
				if (line == NULL)
					break;		/* need more input */

				/*
				 * Count a line against the section limit only once it is
				 * complete (a partial line is bounded by max_line): the
				 * verdict must not depend on how the bytes were split.
				 */
				if (p->state != ST_CHUNK_SIZE &&
					(rc = count_section_bytes(p, raw)) != HTTP1_OK)
					return rc;

				if (p->state == ST_STATUS)
				{
					if (linelen == 0)
						break;	/* tolerated empty line */
					if ((rc = parse_status_line(p, line, linelen)) != HTTP1_OK)
						return rc;
					p->state = ST_HEADERS;
				}
				else if (p->state == ST_CHUNK_SIZE)
				{
					if ((rc = parse_chunk_size(p, line, linelen)) != HTTP1_OK)
						return rc;
				}
				else if (linelen == 0)
				{
					if (p->state == ST_TRAILERS)
						p->state = ST_DONE;
					else if ((rc = end_of_headers(p)) != HTTP1_OK)
						return rc;
				}
				else if ((rc = parse_field_line(p, line, linelen,
												p->state == ST_TRAILERS)) != HTTP1_OK)
					return rc;
				break;

			case ST_BODY_LENGTH:
			case ST_CHUNK_DATA:
			case ST_BODY_CLOSE:
				if ((rc = emit_body(p, data + pos, len - pos, &used)) != HTTP1_OK)
					return rc;
				pos += used;
				if (p->state == ST_BODY_LENGTH && p->remaining == 0)
					p->state = ST_DONE;
				else if (p->state == ST_CHUNK_DATA && p->remaining == 0)
					p->state = ST_CHUNK_CR;
				break;

			case ST_CHUNK_CR:
				if (data[pos] == '\r')
					p->state = ST_CHUNK_LF;
				else if (data[pos] == '\n')
					p->state = ST_CHUNK_SIZE;
				else
					return HTTP1_E_CHUNK_DATA;
				pos++;
				break;

			case ST_CHUNK_LF:
				if (data[pos] != '\n')
					return HTTP1_E_CHUNK_DATA;
				p->state = ST_CHUNK_SIZE;
				pos++;
				break;
		}
	}

	if (p->state == ST_DONE)
		p->done = true;
	return (ssize_t) pos;
}

/*
 * Tell the parser the peer closed the connection.  Returns HTTP1_OK if that
 * completed the message (close-delimited body), else an error.
 */
int
Http1ParseEof(Http1Parser *p)
{
	if (p->state == ST_DONE)
		return HTTP1_OK;
	if (!p->any_input)
		return HTTP1_E_EMPTY;
	if (p->state == ST_BODY_CLOSE)
	{
		p->state = ST_DONE;
		p->done = true;
		return HTTP1_OK;
	}
	return HTTP1_E_TRUNCATED;
}

/* Length of the decimal representation of v. */
static size_t
decimal_len(uint64_t v)
{
	size_t		n = 1;

	while (v >= 10)
	{
		v /= 10;
		n++;
	}
	return n;
}

/* Exact size of the request head Http1WriteRequest will produce. */
size_t
Http1RequestSize(const Http1Request *r)
{
	size_t		n;

	n = strlen(r->method) + 1 + strlen(r->target) + sizeof(" HTTP/1.1\r\n") - 1;
	n += sizeof("Host: \r\n") - 1 + strlen(r->host);
	for (int i = 0; i < r->nheaders; i++)
		n += r->headers[i].name_len + 2 + r->headers[i].value_len + 2;
	if (r->content_length)
		n += sizeof("Content-Length: \r\n") - 1 + decimal_len(r->body_len);
	if (r->close)
		n += sizeof("Connection: close\r\n") - 1;
	return n + 2;
}

/* Append a counted string at *pos. */
static inline char *
put(char *out, const char *s, size_t len)
{
	memcpy(out, s, len);
	return out + len;
}

#define PUTLIT(out, lit) put((out), (lit), sizeof(lit) - 1)

/* Write the request head (no body) into out; returns bytes written. */
size_t
Http1WriteRequest(const Http1Request *r, char *out)
{
	char	   *o = out;

	o = put(o, r->method, strlen(r->method));
	*o++ = ' ';
	o = put(o, r->target, strlen(r->target));
	o = PUTLIT(o, " HTTP/1.1\r\nHost: ");
	o = put(o, r->host, strlen(r->host));
	o = PUTLIT(o, "\r\n");
	for (int i = 0; i < r->nheaders; i++)
	{
		o = put(o, r->headers[i].name, r->headers[i].name_len);
		o = PUTLIT(o, ": ");
		o = put(o, r->headers[i].value, r->headers[i].value_len);
		o = PUTLIT(o, "\r\n");
	}
	if (r->content_length)
	{
		char		digits[24];
		size_t		nd = decimal_len(r->body_len);
		uint64_t	v = r->body_len;

		for (size_t i = nd; i > 0; i--)
		{
			digits[i - 1] = (char) ('0' + v % 10);
			v /= 10;
		}
		o = PUTLIT(o, "Content-Length: ");
		o = put(o, digits, nd);
		o = PUTLIT(o, "\r\n");
	}
	if (r->close)
		o = PUTLIT(o, "Connection: close\r\n");
	o = PUTLIT(o, "\r\n");
	return (size_t) (o - out);
}
