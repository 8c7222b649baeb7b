/*
 * fuzz_http1.c
 *	  libFuzzer target: the HTTP/1.1 response parser, chunked decoder included.
 *
 * Input: one flag byte, one seed byte for the splits, then the response.
 * The response is parsed whole and again cut into pieces chosen by the seed;
 * both must reach the same verdict, headers and body (the parser is meant to
 * be split-proof).  Limits are small so that every limit path is reached.
 */
#include "http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct Out
{
	int			err;
	bool		done;
	int			status;
	int			nfields;
	size_t		body_len;
	uint64_t	body_hash;
	int64_t		content_length;
	Http1Framing framing;
} Out;

static int
on_status(void *ctx, int minor, int status, const char *reason, size_t len)
{
	((Out *) ctx)->status = status;
	if (status < 100 || status > 999 || minor < 0 || minor > 9)
		abort();
	return 0;
}

static int
on_header(void *ctx, const char *name, size_t nlen, const char *value, size_t vlen, bool trailer)
{
	Out		   *o = ctx;

	/* values are trimmed and never carry CR or LF */
	if (memchr(value, '\r', vlen) || memchr(value, '\n', vlen))
		abort();
	if (name != NULL && !Http1IsToken(name, nlen))
		abort();
	o->nfields++;
	return 0;
}

static int
on_headers_done(void *ctx)
{
	return 0;
}

static int
on_body(void *ctx, const char *data, size_t len)
{
	Out		   *o = ctx;

	for (size_t i = 0; i < len; i++)
		o->body_hash = o->body_hash * 31 + (unsigned char) data[i];
	o->body_len += len;
	return 0;
}

static const Http1Callbacks cb = {on_status, on_header, on_headers_done, on_body};

static void
parse(const uint8_t *data, size_t len, bool head, bool eof, uint8_t seed, bool split, Out *o)
{
	Http1Limits lim = {.max_line = 200, .max_header_bytes = 600, .max_headers = 12, .max_interim = 3};
	char		linebuf[201];
	Http1Parser p;
	size_t		pos = 0;
	uint32_t	rng = seed * 2654435761u + 1;

	memset(o, 0, sizeof(*o));
	Http1ParserInit(&p, &cb, o, &lim, linebuf, head);
	while (pos < len)
	{
		size_t		n = len - pos;
		ssize_t		used;
		char	   *piece;

		if (split)
		{
			rng = rng * 1103515245u + 12345u;
			n = 1 + (rng >> 16) % 17;
			if (n > len - pos)
				n = len - pos;
		}
		/* each piece in its own allocation: reads past it are caught by ASan */
		piece = malloc(n);
		memcpy(piece, data + pos, n);
		used = Http1Parse(&p, piece, n);
		free(piece);
		if (used < 0)
		{
			o->err = (int) used;
			break;
		}
		if ((size_t) used > n)
			abort();
		pos += (size_t) used;
		if (p.done)
			break;
		if ((size_t) used != n)
			abort();			/* only a finished message leaves bytes over */
	}
	if (o->err == 0 && !p.done && eof)
		o->err = Http1ParseEof(&p);
	o->done = p.done;
	o->framing = p.framing;
	o->content_length = p.content_length;
	if (p.done && p.framing == HTTP1_FRAMING_LENGTH && o->body_len != (size_t) p.content_length)
		abort();
	if (p.framing == HTTP1_FRAMING_NONE && o->body_len != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Out			whole,
				pieces;
	bool		head,
				eof;

	if (size < 2)
		return 0;
	head = data[0] & 1;
	eof = data[0] & 2;
	parse(data + 2, size - 2, head, eof, data[1], false, &whole);
	parse(data + 2, size - 2, head, eof, data[1], true, &pieces);
	if (whole.err != pieces.err || whole.done != pieces.done || whole.status != pieces.status ||
		whole.nfields != pieces.nfields || whole.body_len != pieces.body_len ||
		whole.body_hash != pieces.body_hash)
		abort();
	(void) Http1ErrorMessage(whole.err);
	return 0;
}
