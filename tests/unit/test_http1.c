/*
 * test_http1.c
 *	  Unit tests of the HTTP/1.1 codec (lib/http1.c).
 *
 * Every response is parsed whole, byte by byte, in every split into two
 * pieces, and in random splits, each piece ending at a guard page; all ways
 * must agree on the outcome.  Built with ASan and UBSan by meson.
 */
#include "http1.h"
#include "unit.h"

#include <stdbool.h>

#define MAX_BODY (1 << 20)

/* What a parse produced. */
typedef struct Result
{
	int			err;			/* HTTP1_OK or the error */
	int			status;
	int			minor;
	bool		keep_alive;
	bool		done;
	Http1Framing framing;
	int			nheaders;
	int			ntrailers;
	char		headers[8192];	/* "name: value\n"..., folds appended */
	size_t		hlen;
	char	   *body;
	size_t		body_len;
	size_t		leftover;		/* bytes after the end of the message */
	long		body_limit;		/* on_body fails past this (-1: none) */
} Result;

static int
cb_status(void *ctx, int minor, int status, const char *reason, size_t reason_len)
{
	Result	   *r = ctx;

	r->status = status;
	r->minor = minor;
	return 0;
}

static int
cb_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen, bool trailer)
{
	Result	   *r = ctx;
	int			n;

	if (trailer)
	{
		r->ntrailers++;
		return 0;
	}
	if (name == NULL)
	{
		/* fold: replace the last "\n" with " value\n" */
		if (r->hlen > 0)
			r->hlen--;
		n = snprintf(r->headers + r->hlen, sizeof(r->headers) - r->hlen, " %.*s\n",
					 (int) vlen, value);
	}
	else
	{
		r->nheaders++;
		n = snprintf(r->headers + r->hlen, sizeof(r->headers) - r->hlen, "%.*s: %.*s\n",
					 (int) nlen, name, (int) vlen, value);
	}
	if (n > 0 && r->hlen + n < sizeof(r->headers))
		r->hlen += n;
	return 0;
}

static int
cb_headers_done(void *ctx)
{
	return 0;
}

static int
cb_body(void *ctx, const char *data, size_t len)
{
	Result	   *r = ctx;

	if (r->body_limit >= 0 && (long) (r->body_len + len) > r->body_limit)
		return 1;
	if (r->body_len + len > MAX_BODY)
		return 1;
	memcpy(r->body + r->body_len, data, len);
	r->body_len += len;
	return 0;
}

static const Http1Callbacks callbacks = {cb_status, cb_header, cb_headers_done, cb_body};

static Http1Limits
default_limits(void)
{
	Http1Limits l = {.max_line = 256, .max_header_bytes = 1024, .max_headers = 10, .max_interim = 3};

	return l;
}

/*
 * Parse data cut at the given offsets (cuts ascending, inside (0, len)).
 * eof: tell the parser the stream ended after the last byte.
 */
static void
parse_pieces(const char *data, size_t len, const size_t *cuts, int ncuts, bool head,
			 bool eof, const Http1Limits *lim, long body_limit, Result *r)
{
	Http1Parser p;
	char		linebuf[65536 + 1];
	size_t		start = 0;

	memset(r, 0, sizeof(*r));
	r->body = malloc(MAX_BODY);
	r->body_limit = body_limit;
	Http1ParserInit(&p, &callbacks, r, lim, linebuf, head);

	for (int i = 0; i <= ncuts; i++)
	{
		size_t		end = i < ncuts ? cuts[i] : len;
		char	   *piece = guard_copy(data + start, end - start);
		ssize_t		used = Http1Parse(&p, piece, end - start);

		guard_free(piece, end - start);
		if (used < 0)
		{
			r->err = (int) used;
			goto out;
		}
		if (p.done)
		{
			r->leftover = (end - start - (size_t) used) + (len - end);
			break;
		}
		start = end;
	}
	if (!p.done && eof)
		r->err = Http1ParseEof(&p);
out:
	r->status = p.status ? p.status : r->status;
	r->keep_alive = p.keep_alive;
	r->done = p.done;
	r->framing = p.framing;
}

static bool
same_result(const Result *a, const Result *b)
{
	/* where a callback stopped the parse depends on how the input was cut */
	if (a->err == HTTP1_E_CALLBACK || b->err == HTTP1_E_CALLBACK)
		return a->err == b->err;
	return a->err == b->err && a->status == b->status && a->keep_alive == b->keep_alive &&
		a->done == b->done && a->nheaders == b->nheaders && a->ntrailers == b->ntrailers &&
		a->hlen == b->hlen && memcmp(a->headers, b->headers, a->hlen) == 0 &&
		a->body_len == b->body_len && memcmp(a->body, b->body, a->body_len) == 0 &&
		a->leftover == b->leftover;
}

/*
 * Parse s whole, then byte by byte, in every two-piece split (short
 * inputs) and in random splits, and check that they all agree.  The whole
 * parse's result is returned in *out (caller frees out->body).
 */
static void
parse_all_ways(const char *s, size_t len, bool head, bool eof, const Http1Limits *lim,
			   long body_limit, Result *out)
{
	Result		other;
	size_t	   *cuts = calloc(len + 1, sizeof(size_t));

	parse_pieces(s, len, NULL, 0, head, eof, lim, body_limit, out);

	/* byte by byte */
	for (size_t i = 1; i < len; i++)
		cuts[i - 1] = i;
	parse_pieces(s, len, cuts, len > 0 ? (int) len - 1 : 0, head, eof, lim, body_limit, &other);
	CHECK(same_result(out, &other));
	free(other.body);

	/* every split into two */
	if (len <= 2048)
		for (size_t k = 1; k < len; k++)
		{
			cuts[0] = k;
			parse_pieces(s, len, cuts, 1, head, eof, lim, body_limit, &other);
			if (!same_result(out, &other))
			{
				fprintf(stderr, "  split at %zu differs\n", k);
				CHECK(same_result(out, &other));
			}
			free(other.body);
		}

	/* random splits */
	srand(42);
	for (int round = 0; round < 20 && len > 2; round++)
	{
		int			n = 0;

		for (size_t i = 1; i < len; i++)
			if (rand() % 7 == 0)
				cuts[n++] = i;
		parse_pieces(s, len, cuts, n, head, eof, lim, body_limit, &other);
		CHECK(same_result(out, &other));
		free(other.body);
	}
	free(cuts);
}

/* Parse a NUL-terminated response with default limits. */
static Result
parse_str(const char *s, bool head, bool eof)
{
	Result		r;
	Http1Limits lim = default_limits();

	parse_all_ways(s, strlen(s), head, eof, &lim, -1, &r);
	return r;
}

#define BODY_IS(r, lit) \
	do { \
		CHECK_EQ_INT((r).body_len, strlen(lit)); \
		CHECK(memcmp((r).body, (lit), (r).body_len) == 0); \
	} while (0)

static void
test_content_length(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(r.done);
	CHECK_EQ_INT(r.status, 200);
	CHECK(r.keep_alive);
	CHECK_EQ_INT(r.framing, HTTP1_FRAMING_LENGTH);
	CHECK_EQ_INT(r.nheaders, 2);
	BODY_IS(r, "hello");
	CHECK(strstr(r.headers, "Content-Type: text/plain\n") != NULL);
	free(r.body);
}

static void
test_chunked_with_extensions_and_trailers(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
							  "5;name=value\r\nhello\r\n6 ; x\r\n world\r\n0\r\nX-Trailer: 1\r\nX-T2: 2\r\n\r\n",
							  false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(r.done);
	CHECK_EQ_INT(r.framing, HTTP1_FRAMING_CHUNKED);
	BODY_IS(r, "hello world");
	CHECK_EQ_INT(r.ntrailers, 2);
	CHECK_EQ_INT(r.nheaders, 1);
	CHECK(r.keep_alive);
	free(r.body);
}

static void
test_chunked_uppercase_hex_and_leading_zeros(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n"
							  "000A\r\n0123456789\r\n0000\r\n\r\n", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	BODY_IS(r, "0123456789");
	free(r.body);
}

static void
test_close_delimited(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nX: y\r\n\r\nuntil close", false, true);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(r.done);
	CHECK(!r.keep_alive);
	CHECK_EQ_INT(r.framing, HTTP1_FRAMING_CLOSE);
	BODY_IS(r, "until close");
	free(r.body);

	/* without the end of stream it is not done */
	r = parse_str("HTTP/1.1 200 OK\r\n\r\nabc", false, false);
	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(!r.done);
	free(r.body);
}

static void
test_http10_keep_alive_rules(void)
{
	Result		r = parse_str("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(!r.keep_alive);
	free(r.body);
	r = parse_str("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", false, false);
	CHECK(r.keep_alive);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\nx", false, false);
	CHECK(!r.keep_alive);
	CHECK(r.done);
	free(r.body);
}

static void
test_no_body_for_head_204_304(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(r.done);
	CHECK_EQ_INT(r.body_len, 0);
	CHECK(r.keep_alive);
	free(r.body);

	r = parse_str("HTTP/1.1 204 No Content\r\nX: 1\r\n\r\n", false, false);
	CHECK(r.done);
	CHECK_EQ_INT(r.framing, HTTP1_FRAMING_NONE);
	free(r.body);

	r = parse_str("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", false, false);
	CHECK(r.done);
	CHECK_EQ_INT(r.body_len, 0);
	free(r.body);
}

static void
test_interim_responses_skipped(void)
{
	Result		r = parse_str("HTTP/1.1 100 Continue\r\n\r\n"
							  "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
							  "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK_EQ_INT(r.status, 201);
	CHECK_EQ_INT(r.nheaders, 1);	/* the 103's Link is not reported */
	BODY_IS(r, "ok");
	free(r.body);
}

static void
test_interim_storm_refused(void)
{
	Result		r = parse_str("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
							  "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
							  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, false);

	CHECK_EQ_INT(r.err, HTTP1_E_TOO_MANY_INTERIM);
	free(r.body);
}

static void
test_switching_protocols_refused(void)
{
	Result		r = parse_str("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", false, false);

	CHECK_EQ_INT(r.err, HTTP1_E_SWITCHING);
	free(r.body);
}

static void
test_bare_lf_and_empty_lines_before_status(void)
{
	Result		r = parse_str("\r\n\nHTTP/1.1 200 OK\nContent-Length: 3\n\nabc", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	BODY_IS(r, "abc");
	free(r.body);
}

static void
test_obs_fold(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\n\tthree\r\nContent-Length: 0\r\n\r\n",
							  false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(strstr(r.headers, "X-Long: one two three\n") != NULL);
	CHECK_EQ_INT(r.nheaders, 2);
	free(r.body);

	/* a fold with nothing to continue is malformed */
	r = parse_str("HTTP/1.1 200 OK\r\n folded\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_HEADER_SYNTAX);
	free(r.body);
}

static void
test_value_whitespace_trimmed(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nA:\t  spaced value \t\r\nB:\r\nContent-Length: 0\r\n\r\n",
							  false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(strstr(r.headers, "A: spaced value\n") != NULL);
	CHECK(strstr(r.headers, "B: \n") != NULL);
	free(r.body);
}

static void
test_status_line_variants(void)
{
	Result		r = parse_str("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK_EQ_INT(r.status, 200);
	free(r.body);

	r = parse_str("HTTP/1.1 20 OK\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_STATUS_LINE);
	free(r.body);
	r = parse_str("HTTP/1.1 2000 OK\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_STATUS_LINE);
	free(r.body);
	r = parse_str("HTTP/1.1 099 Low\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_STATUS_LINE);
	free(r.body);
	r = parse_str("HTTP/2.0 200 OK\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_VERSION);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\x01\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_STATUS_LINE);
	free(r.body);
}

static void
test_http09_refused_before_line_end(void)
{
	/* no LF ever comes: the prefix alone must be enough to refuse */
	Result		r = parse_str("<html>no status line", false, false);

	CHECK_EQ_INT(r.err, HTTP1_E_STATUS_LINE);
	free(r.body);
	r = parse_str("HTTX", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_STATUS_LINE);
	free(r.body);
}

static void
test_header_syntax_errors(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nName : v\r\n\r\n", false, false);

	CHECK_EQ_INT(r.err, HTTP1_E_HEADER_SYNTAX);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_HEADER_SYNTAX);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_HEADER_SYNTAX);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_BARE_CR);
	free(r.body);
}

static void
test_nul_in_header_refused(void)
{
	static const char s[] = "HTTP/1.1 200 OK\r\nA: b\0c\r\nContent-Length: 0\r\n\r\n";
	Result		r;
	Http1Limits lim = default_limits();

	parse_all_ways(s, sizeof(s) - 1, false, false, &lim, -1, &r);
	CHECK_EQ_INT(r.err, HTTP1_E_HEADER_SYNTAX);
	free(r.body);
}

static void
test_limits(void)
{
	char		buf[4096];
	Result		r;
	int			n;

	/* a line of max_line bytes passes, one more does not */
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX: %0*d\r\nContent-Length: 0\r\n\r\n", 256 - 3, 0);
	r = parse_str(buf, false, false);
	CHECK_EQ_INT(r.err, HTTP1_OK);
	free(r.body);
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nX: %0*d\r\nContent-Length: 0\r\n\r\n", 256 - 2, 0);
	r = parse_str(buf, false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_LINE_TOO_LONG);
	free(r.body);

	/* a long line with no end in sight is refused without waiting */
	memset(buf, 'a', 1000);
	memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
	buf[1000] = '\0';
	r = parse_str(buf, false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_LINE_TOO_LONG);
	free(r.body);

	/* header count */
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 11; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "H%d: v\r\n", i);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	r = parse_str(buf, false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_TOO_MANY_HEADERS);
	free(r.body);

	/* header section size */
	n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
	for (int i = 0; i < 8; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "H%d: %0150d\r\n", i, 0);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");
	r = parse_str(buf, false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_HEADERS_TOO_LARGE);
	free(r.body);
}

static void
test_content_length_errors(void)
{
	const char *bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		Result		r = parse_str(bad[i], false, false);

		if (r.err != HTTP1_E_CONTENT_LENGTH)
			fprintf(stderr, "  case %zu\n", i);
		CHECK_EQ_INT(r.err, HTTP1_E_CONTENT_LENGTH);
		free(r.body);
	}
}

static void
test_content_length_repeats_agree(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok",
							  false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	BODY_IS(r, "ok");
	free(r.body);
}

static void
test_transfer_encoding_wins_over_content_length(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
							  "2\r\nok\r\n0\r\n\r\n", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	BODY_IS(r, "ok");
	CHECK(!r.keep_alive);		/* never reuse after such a message */
	free(r.body);
}

static void
test_transfer_coding_errors(void)
{
	const char *bad[] = {
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	{
		Result		r = parse_str(bad[i], false, false);

		CHECK_EQ_INT(r.err, HTTP1_E_TRANSFER_CODING);
		free(r.body);
	}
}

static void
test_chunk_errors(void)
{
	Result		r;

	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_CHUNK_SIZE);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_CHUNK_SIZE);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_CHUNK_SIZE);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_CHUNK_SIZE);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_CHUNK_DATA);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\rX", false, false);
	CHECK_EQ_INT(r.err, HTTP1_E_CHUNK_DATA);
	free(r.body);
	/* missing last chunk, then the server closes */
	r = parse_str("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", false, true);
	CHECK_EQ_INT(r.err, HTTP1_E_TRUNCATED);
	free(r.body);
}

static void
test_trailers_limited(void)
{
	char		buf[4096];
	int			n = snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");

	for (int i = 0; i < 8; i++)
		n += snprintf(buf + n, sizeof(buf) - n, "T%d: %0150d\r\n", i, 0);
	snprintf(buf + n, sizeof(buf) - n, "\r\n");

	Result		r = parse_str(buf, false, false);

	CHECK_EQ_INT(r.err, HTTP1_E_HEADERS_TOO_LARGE);
	free(r.body);
}

static void
test_truncation_and_empty(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", false, true);

	CHECK_EQ_INT(r.err, HTTP1_E_TRUNCATED);
	free(r.body);
	r = parse_str("HTTP/1.1 200 OK\r\nContent-", false, true);
	CHECK_EQ_INT(r.err, HTTP1_E_TRUNCATED);
	free(r.body);
	r = parse_str("", false, true);
	CHECK_EQ_INT(r.err, HTTP1_E_EMPTY);
	free(r.body);
}

static void
test_leftover_after_message(void)
{
	Result		r = parse_str("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA", false, false);

	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK(r.done);
	BODY_IS(r, "hi");
	CHECK_EQ_INT(r.leftover, 5);
	free(r.body);
}

static void
test_callback_stops_parser(void)
{
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
	Http1Limits lim = default_limits();
	Result		r;

	parse_all_ways(s, strlen(s), false, false, &lim, 5, &r);
	CHECK_EQ_INT(r.err, HTTP1_E_CALLBACK);
	free(r.body);
}

static void
test_large_body_many_reads(void)
{
	size_t		n = 300000;
	char	   *s = malloc(n + 100);
	int			h = snprintf(s, 100, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
	Http1Limits lim = default_limits();
	Result		r;
	size_t		cuts[1000];
	int			nc = 0;

	for (size_t i = 0; i < n; i++)
		s[h + i] = (char) (i * 31 + 7);
	for (size_t at = 1; at < (size_t) h + n && nc < 1000; at += 997)
		cuts[nc++] = at;
	parse_pieces(s, h + n, cuts, nc, false, false, &lim, -1, &r);
	CHECK_EQ_INT(r.err, HTTP1_OK);
	CHECK_EQ_INT(r.body_len, n);
	CHECK(memcmp(r.body, s + h, n) == 0);
	free(r.body);
	free(s);
}

static void
test_request_writer(void)
{
	Http1Header hs[] = {
		{"User-Agent", 10, "pg_http/test", 12},
		{"X-Repeat", 8, "1", 1},
		{"X-Repeat", 8, "2", 1},
	};
	Http1Request req = {
		.method = "POST", .target = "/a/b?c=d", .host = "example.com:8080",
		.headers = hs, .nheaders = 3, .content_length = true, .body_len = 1234567,
		.close = true,
	};
	const char *expect = "POST /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n"
		"User-Agent: pg_http/test\r\nX-Repeat: 1\r\nX-Repeat: 2\r\n"
		"Content-Length: 1234567\r\nConnection: close\r\n\r\n";
	size_t		size = Http1RequestSize(&req);
	char	   *out = malloc(size + 1);
	size_t		n = Http1WriteRequest(&req, out);

	CHECK_EQ_INT(n, size);
	CHECK_EQ_INT(n, strlen(expect));
	CHECK(memcmp(out, expect, n) == 0);
	free(out);

	/* zero-length body still says so; no headers at all works */
	req.nheaders = 0;
	req.body_len = 0;
	req.close = false;
	size = Http1RequestSize(&req);
	out = malloc(size);
	n = Http1WriteRequest(&req, out);
	CHECK_EQ_INT(n, size);
	CHECK(memcmp(out, "POST /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\nContent-Length: 0\r\n\r\n", n) == 0);
	free(out);
}

static void
test_token_and_value_checks(void)
{
	CHECK(Http1IsToken("X-Custom_1.a~", 13));
	CHECK(!Http1IsToken("", 0));
	CHECK(!Http1IsToken("Bad Name", 8));
	CHECK(!Http1IsToken("Bad:Name", 8));
	CHECK(!Http1IsToken("Bad\r\n", 5));
	CHECK(Http1IsFieldValue("Bearer abc\tdef", 14));
	CHECK(Http1IsFieldValue("caf\xc3\xa9", 5));
	CHECK(!Http1IsFieldValue("a\r\nInjected: 1", 14));
	CHECK(!Http1IsFieldValue("a\nb", 3));
	CHECK(!Http1IsFieldValue("a\0b", 3));
	CHECK(!Http1IsFieldValue("a\x7f", 2));
	CHECK(Http1NameIs("Content-LENGTH", 14, "content-length"));
	CHECK(!Http1NameIs("Content-Len", 11, "content-length"));
	CHECK(!Http1NameIs("Content-Lengths", 15, "content-length"));
}

static void
test_error_messages(void)
{
	for (int e = HTTP1_E_BARE_CR; e <= 0; e++)
		CHECK(strcmp(Http1ErrorMessage(e), "unknown HTTP/1.1 parser error") != 0);
	CHECK(strcmp(Http1ErrorMessage(-100), "unknown HTTP/1.1 parser error") == 0);
	CHECK(strcmp(Http1ErrorMessage(5), "unknown HTTP/1.1 parser error") == 0);
}

int
main(void)
{
	RUN(test_content_length);
	RUN(test_chunked_with_extensions_and_trailers);
	RUN(test_chunked_uppercase_hex_and_leading_zeros);
	RUN(test_close_delimited);
	RUN(test_http10_keep_alive_rules);
	RUN(test_no_body_for_head_204_304);
	RUN(test_interim_responses_skipped);
	RUN(test_interim_storm_refused);
	RUN(test_switching_protocols_refused);
	RUN(test_bare_lf_and_empty_lines_before_status);
	RUN(test_obs_fold);
	RUN(test_value_whitespace_trimmed);
	RUN(test_status_line_variants);
	RUN(test_http09_refused_before_line_end);
	RUN(test_header_syntax_errors);
	RUN(test_nul_in_header_refused);
	RUN(test_limits);
	RUN(test_content_length_errors);
	RUN(test_content_length_repeats_agree);
	RUN(test_transfer_encoding_wins_over_content_length);
	RUN(test_transfer_coding_errors);
	RUN(test_chunk_errors);
	RUN(test_trailers_limited);
	RUN(test_truncation_and_empty);
	RUN(test_leftover_after_message);
	RUN(test_callback_stops_parser);
	RUN(test_large_body_many_reads);
	RUN(test_request_writer);
	RUN(test_token_and_value_checks);
	RUN(test_error_messages);
	return unit_done();
}
