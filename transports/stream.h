/*-------------------------------------------------------------------------
 *
 * stream.h
 *	  HTTP/1.1 over a byte stream: the transport shared by mock and mbedtls.
 *
 * stream.c owns everything about an exchange over a raw socket: resolution
 * (resolve.c), the address guard, non-blocking connect, the keep-alive pool,
 * writing the request and parsing the response (http1.c).  A transport only
 * supplies HttpStreamOps, the byte layer: plain TCP for mock, mbedTLS for
 * mbedtls.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_STREAM_H
#define PG_HTTP_STREAM_H

#include "transport.h"

#include "lib/ilist.h"

/* Results of the byte layer besides a byte count. */
#define HTTP_IO_WANT_READ	(-1)
#define HTTP_IO_WANT_WRITE	(-2)
#define HTTP_IO_ERROR		(-3)	/* the exchange was failed with details */

/* A connection, attached to one exchange or idle in the pool. */
typedef struct HttpConn
{
	dlist_node	node;			/* in the pool while idle */
	pgsocket	sock;
	bool		tls;
	char	   *host;			/* pool key: host, port, tls */
	int			port;
	struct sockaddr_storage peer;
	socklen_t	peer_len;
	TimestampTz idle_since;
	int			idle_max_ms;	/* reused only while idle less than this */
	void	   *sp;				/* the byte layer's state (TLS session) */
	char		error[256];		/* why the last read or write failed */
} HttpConn;

typedef struct HttpStreamOps
{
	/*
	 * A TCP connection for x is up: set up TLS (a session with SNI and
	 * verification for x's host).  false: x was failed.
	 */
	bool		(*open) (HttpConn *c, HttpExchange *x);

	/* Drive the handshake: 0 when done, HTTP_IO_WANT_*, or HTTP_IO_ERROR. */
	int			(*handshake) (HttpConn *c, HttpExchange *x);

	/*
	 * Read: bytes (> 0), 0 at orderly end of stream, or HTTP_IO_*.  On
	 * HTTP_IO_ERROR, read and write leave a description in c->error.
	 */
	ssize_t		(*read) (HttpConn *c, HttpExchange *x, char *buf, size_t len);

	/* Write: bytes (> 0) or HTTP_IO_*. */
	ssize_t		(*write) (HttpConn *c, HttpExchange *x, const char *buf, size_t len);

	/* Free the byte layer; orderly: say goodbye first if it costs no wait. */
	void		(*close) (HttpConn *c, bool orderly);

	/*
	 * May the idle connection serve a request with these settings?  (stream.c
	 * has checked the socket.)
	 */
	bool		(*idle_ok) (HttpConn *c, const HttpSettings *set);

	/* Does the layer hold read data that the socket no longer shows? */
	bool		(*pending) (HttpConn *c);

	/*
	 * After read returned 0: did the peer end the stream properly (TLS:
	 * with close_notify)?  An end without it may be an attacker cutting the
	 * connection: it must not complete a body whose end only the close
	 * marks.
	 */
	bool		(*clean_eof) (HttpConn *c);
} HttpStreamOps;

/*
 * The TLS byte layer of the compiled-in transport (all NULL without TLS).
 * Plain connections use HttpStreamPlainRead/Write directly.
 */
extern const HttpStreamOps HttpStreamImpl;

/* The vtable entries that mock.c and mbedtls.c put in HttpTransportImpl. */
extern void HttpStreamStart(HttpExchange *x);
extern void HttpStreamRelease(HttpExchange *x);
extern void HttpStreamPrune(bool all);
extern void HttpStreamResume(HttpExchange *x);

/* Plain TCP read and write, for byte layers that add nothing to them. */
extern ssize_t HttpStreamPlainRead(HttpConn *c, HttpExchange *x, char *buf, size_t len);
extern ssize_t HttpStreamPlainWrite(HttpConn *c, HttpExchange *x, const char *buf, size_t len);

#endif							/* PG_HTTP_STREAM_H */
