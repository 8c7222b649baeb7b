/*-------------------------------------------------------------------------
 *
 * http1.h
 *	  HTTP/1.1 request writer and incremental response parser.
 *
 * This codec includes no PostgreSQL header and allocates nothing: the
 * caller owns every buffer.  That keeps it testable and fuzzable on its own
 * (tests/unit, tests/fuzz), and lets every transport that speaks HTTP/1.1
 * over a byte stream (mock, mbedtls) share one parser.
 *
 * The parser is fed bytes as they arrive, in any split.  Complete lines are
 * handed to callbacks straight out of the caller's buffer; only a line that
 * straddles two feeds is copied into the parser's line buffer, whose size is
 * the hard limit on line length.  Body bytes are never copied.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_HTTP1_H
#define PG_HTTP_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Result codes: 0 is success, errors are negative. */
typedef enum Http1Error
{
	HTTP1_OK = 0,
	HTTP1_E_STATUS_LINE = -1,	/* status line is not "HTTP/1.x NNN ..." */
	HTTP1_E_VERSION = -2,		/* HTTP major version other than 1 */
	HTTP1_E_HEADER_SYNTAX = -3, /* malformed header field line */
	HTTP1_E_LINE_TOO_LONG = -4, /* a line is longer than max_line */
	HTTP1_E_TOO_MANY_HEADERS = -5,	/* more fields than max_headers */
	HTTP1_E_HEADERS_TOO_LARGE = -6, /* header section over max_header_bytes */
	HTTP1_E_CONTENT_LENGTH = -7,	/* invalid or conflicting Content-Length */
	HTTP1_E_TRANSFER_CODING = -8,	/* Transfer-Encoding we cannot decode */
	HTTP1_E_CHUNK_SIZE = -9,	/* malformed or overflowing chunk size */
	HTTP1_E_CHUNK_DATA = -10,	/* chunk data not followed by CRLF */
	HTTP1_E_TOO_MANY_INTERIM = -11, /* more 1xx responses than max_interim */
	HTTP1_E_SWITCHING = -12,	/* 101 Switching Protocols: not supported */
	HTTP1_E_TRUNCATED = -13,	/* connection closed before the message ended */
	HTTP1_E_CALLBACK = -14,		/* a callback asked to stop */
	HTTP1_E_EMPTY = -15,		/* connection closed before any byte arrived */
	HTTP1_E_BARE_CR = -16		/* CR not followed by LF */
} Http1Error;

/* How the body of the response is delimited. */
typedef enum Http1Framing
{
	HTTP1_FRAMING_NONE,			/* no body: HEAD, 204, 304 */
	HTTP1_FRAMING_LENGTH,		/* Content-Length */
	HTTP1_FRAMING_CHUNKED,		/* Transfer-Encoding: chunked */
	HTTP1_FRAMING_CLOSE			/* read until the server closes */
} Http1Framing;

typedef struct Http1Limits
{
	size_t		max_line;		/* longest line (size of the line buffer) */
	size_t		max_header_bytes;	/* header section, and trailers, each */
	int			max_headers;	/* header fields (and trailer fields) */
	int			max_interim;	/* 1xx responses skipped before the final one */
} Http1Limits;

/*
 * Callbacks.  Each returns 0 to go on, anything else to stop the parser with
 * HTTP1_E_CALLBACK.  Pointers are valid only during the call.
 *
 * on_status: the final (non-1xx) status line.
 * on_header: one field line; name == NULL means an obsolete line folding that
 *	continues the previous field (append " " + value to it).  trailer is true
 *	for fields that follow a chunked body.
 * on_headers_done: the header section ended; framing and content_length in
 *	the parser are set.
 * on_body: body bytes, already de-chunked.
 */
typedef struct Http1Callbacks
{
	int			(*on_status) (void *ctx, int minor, int status,
							  const char *reason, size_t reason_len);
	int			(*on_header) (void *ctx, const char *name, size_t name_len,
							  const char *value, size_t value_len, bool trailer);
	int			(*on_headers_done) (void *ctx);
	int			(*on_body) (void *ctx, const char *data, size_t len);
} Http1Callbacks;

typedef struct Http1Parser
{
	/* configuration */
	const Http1Callbacks *cb;
	void	   *ctx;
	Http1Limits limits;
	bool		head_request;	/* response to HEAD: never a body */
	char	   *linebuf;		/* caller's buffer of limits.max_line + 1 bytes */

	/* results, valid once on_headers_done ran */
	int			status;
	int			minor;			/* HTTP/1.<minor> */
	Http1Framing framing;
	int64_t		content_length; /* -1 when not given */
	bool		keep_alive;		/* connection reusable after this message */
	bool		done;			/* whole message parsed */

	/* internal state */
	int			state;
	size_t		linelen;		/* bytes held in linebuf */
	size_t		section_bytes;	/* bytes of the current header section */
	int			nfields;		/* fields in the current section */
	int			ninterim;		/* 1xx responses seen */
	bool		any_input;		/* at least one byte arrived */
	bool		saw_field;		/* a field line was seen in this section */
	bool		conn_close;		/* Connection: close */
	bool		conn_keep_alive;	/* Connection: keep-alive */
	bool		saw_te;			/* Transfer-Encoding present */
	bool		te_chunked_last;	/* ... and its last coding is chunked */
	bool		te_unsupported; /* ... with a coding other than chunked */
	uint64_t	remaining;		/* bytes left in body or chunk */
} Http1Parser;

/* A header for the request writer. */
typedef struct Http1Header
{
	const char *name;
	size_t		name_len;
	const char *value;
	size_t		value_len;
} Http1Header;

/* Everything the writer needs to produce a request head. */
typedef struct Http1Request
{
	const char *method;
	const char *target;			/* origin-form: path and query */
	const char *host;			/* Host field value, e.g. "a.b:8080" */
	const Http1Header *headers;
	int			nheaders;
	bool		content_length; /* emit Content-Length: body_len */
	uint64_t	body_len;
	bool		close;			/* emit Connection: close */
} Http1Request;
extern void Http1ParserInit(Http1Parser *p, const Http1Callbacks *cb, void *ctx,
							const Http1Limits *limits, char *linebuf,
							bool head_request);
extern ssize_t Http1Parse(Http1Parser *p, const char *data, size_t len);
extern int	Http1ParseEof(Http1Parser *p);
extern const char *Http1ErrorMessage(int err);
extern size_t Http1RequestSize(const Http1Request *r);
extern size_t Http1WriteRequest(const Http1Request *r, char *out);
extern bool Http1IsToken(const char *s, size_t len);
extern bool Http1IsFieldValue(const char *s, size_t len);
extern bool Http1NameIs(const char *name, size_t len, const char *lit);

#endif							/* PG_HTTP_HTTP1_H */
