/*-------------------------------------------------------------------------
 *
 * stream.c
 *	  HTTP/1.1 exchanges over raw sockets, shared by mock and mbedtls.
 *
 * An exchange walks RESOLVE -> CONNECT -> HANDSHAKE -> SEND -> RECV, never
 * blocking: each phase either makes progress or tells the engine which
 * socket event it waits for.  Every address is judged by the policy before
 * it is connected to, and the connection goes to that very address (no
 * second resolution).  Finished connections that may be reused go to a
 * small per-backend pool keyed by host, port and TLS.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "dns.h"
#include "exchange.h"
#include "http1.h"
#include "netaddr.h"
#include "policy.h"
#include "stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/uio.h>
#include <unistd.h>

#include "storage/fd.h"
#include "utils/memutils.h"

/* Phases of an exchange. */
typedef enum Phase
{
	PH_RESOLVE,
	PH_CONNECT,
	PH_HANDSHAKE,
	PH_SEND,
	PH_RECV
} Phase;

#define MAX_ADDRS		16		/* addresses tried per exchange */
#define INLINE_BODY		16384	/* bodies up to this go out with the head */
#define READ_CHUNK		65536
#define READ_BUDGET		(4 * 1024 * 1024)	/* bytes per wake before yielding */
#define MAX_INTERIM		16		/* 1xx responses skipped */

typedef struct Addr
{
	struct sockaddr_storage sa;
	socklen_t	len;
} Addr;

/* The transport state of one exchange (x->tp). */
typedef struct StreamX
{
	HttpExchange *x;
	Phase		phase;
	Addr	   *addrs;
	int			naddrs;
	int			next_addr;
	int			last_errno;		/* of the last failed connect */
	HttpConn   *conn;
	bool		reused;			/* conn came from the pool */
	bool		retried;		/* already retried once on a fresh connection */
	char	   *out;			/* request head, and the body if small */
	size_t		out_len;
	const char *body;			/* the body, if sent separately */
	size_t		body_len;
	size_t		sent;
	bool		sent_all;
	Http1Parser parser;
	char	   *linebuf;
	int64		limit;			/* body byte limit */
	bool		too_large;		/* a limit stopped the parser */
	bool		sinking;		/* this response's body goes to x's sink */
	bool		parked;			/* held: the socket is not watched (resume) */
} StreamX;

static dlist_head pool = DLIST_STATIC_INIT(pool);
static int	pool_count = 0;
static MemoryContext conn_cxt = NULL;
static char read_buf[READ_CHUNK];

static void stream_send(StreamX *sx);
static void stream_recv(StreamX *sx);
static void connect_next(StreamX *sx);
static void stream_ready(void *arg, pgsocket sock, uint32 ready);
static void pool_idle_ready(void *arg, pgsocket sock, uint32 ready);

/* Watch the exchange's connection socket for events. */
static inline void
sx_watch(StreamX *sx, uint32 events)
{
	if (!HttpLoopWatch(sx->conn->sock, events, stream_ready, sx))
		elog(ERROR, "could not watch socket %d: %m", sx->conn->sock);
}

/* Read from a connection through its byte layer: TLS or the socket itself. */
static inline ssize_t
conn_read(HttpConn *c, HttpExchange *x, char *buf, size_t len)
{
	return c->tls ? HttpStreamImpl.read(c, x, buf, len) : HttpStreamPlainRead(c, x, buf, len);
}

/* Write to a connection through its byte layer. */
static inline ssize_t
conn_write(HttpConn *c, HttpExchange *x, const char *buf, size_t len)
{
	return c->tls ? HttpStreamImpl.write(c, x, buf, len) : HttpStreamPlainWrite(c, x, buf, len);
}

/* Close a connection and free it; it must not be watched afterwards. */
static void
conn_close(HttpConn *c, bool orderly)
{
	HttpLoopForget(c->sock);	/* close() takes it out of epoll */
	if (c->tls && HttpStreamImpl.close)
		HttpStreamImpl.close(c, orderly);
	close(c->sock);
	HttpLoopReleaseSocket();
	pfree(c->host);
	pfree(c);
}

/* Does an idle socket look usable: no EOF, no error, no unexpected bytes? */
static bool
socket_idle_ok(pgsocket sock)
{
	char		b;
	ssize_t		n = recv(sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Take a live pooled connection to host:port usable for req, or NULL. */
static HttpConn *
pool_take(const HttpRequest *req)
{
	dlist_mutable_iter iter;
	TimestampTz now = GetCurrentTimestamp();

	dlist_foreach_modify(iter, &pool)
	{
		HttpConn   *c = dlist_container(HttpConn, node, iter.cur);

		if (c->port != req->port || c->tls != req->tls || strcmp(c->host, req->host) != 0)
			continue;
		/* set up under other TLS settings: another request's, not this one's */
		if (c->tls && HttpStreamImpl.idle_ok && !HttpStreamImpl.idle_ok(c, req->set))
			continue;
		dlist_delete(&c->node);
		pool_count--;
		if (TimestampDifferenceExceeds(c->idle_since, now, Min(c->idle_max_ms, req->set->keepalive_idle_ms)) ||
			!socket_idle_ok(c->sock))
		{
			conn_close(c, true);
			continue;
		}
		return c;
	}
	return NULL;
}

/*
 * Park an idle connection, to be reused within the idle limit of the
 * request it served; the oldest go when the pool is full.  It stays watched
 * for reading: an idle socket turning readable is the server closing it,
 * and pool_idle_ready evicts it then.  Keeping it in the mux saves two
 * epoll_ctl calls per reuse.
 */
static void
pool_put(HttpConn *c, const HttpSettings *set)
{
	if (!HttpLoopWatch(c->sock, HTTP_WATCH_READ, pool_idle_ready, c))
	{
		conn_close(c, true);
		return;
	}
	c->idle_since = GetCurrentTimestamp();
	c->idle_max_ms = set->keepalive_idle_ms;
	dlist_push_head(&pool, &c->node);
	pool_count++;
	while (pool_count > set->pool_size)
	{
		HttpConn   *old = dlist_container(HttpConn, node, dlist_tail_node(&pool));

		dlist_delete(&old->node);
		pool_count--;
		conn_close(old, true);
	}
}

/*
 * The transport's prune(): close idle connections, all or those idle past
 * the limit they were pooled with.  Never throws.
 */
void
HttpStreamPrune(bool all)
{
	dlist_mutable_iter iter;
	TimestampTz now = GetCurrentTimestamp();

	dlist_foreach_modify(iter, &pool)
	{
		HttpConn   *c = dlist_container(HttpConn, node, iter.cur);

		if (all || TimestampDifferenceExceeds(c->idle_since, now, c->idle_max_ms))
		{
			dlist_delete(&c->node);
			pool_count--;
			conn_close(c, true);
		}
	}
}

/* Is it safe to send this request again after a stale pooled connection? */
static bool
method_idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
		strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0 || strcmp(m, "TRACE") == 0;
}

/* Parser callbacks: build x->resp. */
static int
on_status(void *ctx, int minor, int status, const char *reason, size_t reason_len)
{
	StreamX    *sx = ctx;

	sx->x->resp.status = status;
	sx->x->resp.version = 10 + minor;
	return 0;
}

static int
on_header(void *ctx, const char *name, size_t name_len, const char *value,
		  size_t value_len, bool trailer)
{
	HttpHeaderList *l = &((StreamX *) ctx)->x->resp.headers;

	if (trailer)
		return 0;				/* trailers are framing detail, not headers */
	if (name == NULL)
	{
		/* obs-fold: append to the previous field's value */
		HttpHeader *h = &l->items[l->n - 1];
		size_t		old = strlen(h->value);
		char	   *v = palloc(old + 1 + value_len + 1);

		memcpy(v, h->value, old);
		v[old] = ' ';
		memcpy(v + old + 1, value, value_len);
		v[old + 1 + value_len] = '\0';
		pfree(h->value);
		h->value = v;
		return 0;
	}
	HttpHeaderAdd(l, name, name_len, value, value_len);
	return 0;
}

static int
on_headers_done(void *ctx)
{
	StreamX    *sx = ctx;
	int64		cl = sx->parser.content_length;

	/* a streamed body has no limit of its own: its sink limits rows */
	sx->sinking = HttpExchangeSinks(sx->x, sx->x->resp.status);
	if (sx->sinking)
		return 0;
	if (cl > sx->limit)
	{
		sx->too_large = true;
		return 1;
	}
	/* one allocation for a body of known size */
	if (cl > 0 && cl + 1 > sx->x->resp.body.maxlen)
		enlargeStringInfo(&sx->x->resp.body, (int) cl);
	return 0;
}

static int
on_body(void *ctx, const char *data, size_t len)
{
	StreamX    *sx = ctx;
	StringInfo	body = &sx->x->resp.body;

	if (sx->sinking)
		return sx->x->sink(sx->x, data, len) ? 0 : 1;
	if ((int64) body->len + (int64) len > sx->limit)
	{
		sx->too_large = true;
		return 1;
	}
	appendBinaryStringInfo(body, data, (int) len);
	return 0;
}

static const Http1Callbacks parser_callbacks = {
	.on_status = on_status,
	.on_header = on_header,
	.on_headers_done = on_headers_done,
	.on_body = on_body,
};

/* Start reading a fresh response. */
static void
reset_response(StreamX *sx)
{
	HttpExchange *x = sx->x;
	Http1Limits limits;

	limits.max_line = x->req->set->max_header_bytes;
	limits.max_header_bytes = x->req->set->max_header_bytes;
	limits.max_headers = x->req->set->max_headers;
	limits.max_interim = MAX_INTERIM;
	Http1ParserInit(&sx->parser, &parser_callbacks, sx, &limits, sx->linebuf,
					strcmp(x->req->method, "HEAD") == 0);
	x->resp.status = 0;
	x->resp.headers.n = 0;
	resetStringInfo(&x->resp.body);
	sx->too_large = false;
	sx->sinking = false;
	sx->sent = 0;
	sx->sent_all = false;
}

/* Build the request head (and inline a small body) once per exchange. */
static void
build_request(StreamX *sx)
{
	HttpRequest *req = sx->x->req;
	Http1Request r;
	Http1Header *hs = palloc(sizeof(Http1Header) * Max(req->headers.n, 1));
	size_t		head;
	bool		inline_body;

	for (int i = 0; i < req->headers.n; i++)
	{
		hs[i].name = req->headers.items[i].name;
		hs[i].name_len = strlen(hs[i].name);
		hs[i].value = req->headers.items[i].value;
		hs[i].value_len = strlen(hs[i].value);
	}
	r.method = req->method;
	r.target = req->target;
	r.host = req->authority;
	r.headers = hs;
	r.nheaders = req->headers.n;
	r.content_length = req->body != NULL;
	r.body_len = req->body_len;
	r.close = !req->opt.keepalive;

	head = Http1RequestSize(&r);
	inline_body = req->body != NULL && req->body_len <= INLINE_BODY;
	sx->out = palloc(head + (inline_body ? req->body_len : 0));
	sx->out_len = Http1WriteRequest(&r, sx->out);
	Assert(sx->out_len == head);
	if (inline_body)
	{
		memcpy(sx->out + head, req->body, req->body_len);
		sx->out_len += req->body_len;
	}
	else if (req->body != NULL)
	{
		sx->body = req->body;
		sx->body_len = req->body_len;
	}
	pfree(hs);
}

/*
 * A pooled connection turned out dead before the response began.  Retry on
 * a fresh connection to the same address when that cannot repeat a request
 * the server may have acted on; when it could, fail x saying so.  Returns
 * false (doing nothing) if the connection was not a pooled one or already
 * a retry: then the caller reports the failure as it is.
 */
static bool
retry_fresh(StreamX *sx, bool request_maybe_received)
{
	HttpExchange *x = sx->x;
	HttpConn   *c = sx->conn;

	if (!sx->reused || sx->retried || sx->parser.any_input)
		return false;
	if (request_maybe_received && !method_idempotent(x->req->method))
	{
		HttpFailResendRefused(x);
		return true;
	}

	sx->addrs = palloc(sizeof(Addr));
	memcpy(&sx->addrs[0].sa, &c->peer, c->peer_len);
	sx->addrs[0].len = c->peer_len;
	sx->naddrs = 1;
	sx->next_addr = 0;
	conn_close(c, false);
	sx->conn = NULL;
	sx->reused = false;
	sx->retried = true;
	reset_response(sx);
	connect_next(sx);
	return true;
}

/* The connection is ready for the request (TCP up, TLS done). */
static void
ready_to_send(StreamX *sx)
{
	sx->x->connected = true;
	if (sx->reused)
		sx->x->conns_reused++;
	else
		sx->x->conns_opened++;
	sx->phase = PH_SEND;
	stream_send(sx);
}

/* Run the byte layer's handshake. */
static void
do_handshake(StreamX *sx)
{
	int			rc = HttpStreamImpl.handshake(sx->conn, sx->x);

	if (rc == 0)
	{
		sx->x->t_tls = GetCurrentTimestamp();
		ready_to_send(sx);
	}
	else if (rc == HTTP_IO_WANT_READ)
		sx_watch(sx, HTTP_WATCH_READ);
	else if (rc == HTTP_IO_WANT_WRITE)
		sx_watch(sx, HTTP_WATCH_WRITE);
	/* else x was failed by the byte layer */
}

/* The TCP connection is up. */
static void
tcp_connected(StreamX *sx)
{
	HttpExchange *x = sx->x;
	HttpConn   *c = sx->conn;

	x->t_connect = GetCurrentTimestamp();
	if (c->tls)
	{
		if (!HttpStreamImpl.open(c, x))
			return;
		sx->phase = PH_HANDSHAKE;
		do_handshake(sx);
	}
	else
		ready_to_send(sx);
}

/* Try the remaining addresses in order until a connect starts. */
static void
connect_next(StreamX *sx)
{
	HttpExchange *x = sx->x;
	MemoryContext old;

	while (sx->next_addr < sx->naddrs)
	{
		Addr	   *a = &sx->addrs[sx->next_addr++];
		HttpConn   *c;
		pgsocket	sock;
		int			one = 1;

		if (!HttpLoopAcquireSocket(x))
			return;
		sock = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
		if (sock < 0)
		{
			sx->last_errno = errno;
			HttpLoopReleaseSocket();
			continue;
		}
		(void) setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

		if (conn_cxt == NULL)
			conn_cxt = AllocSetContextCreate(TopMemoryContext, "pg_http connections",
											 ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(conn_cxt);
		c = palloc0(sizeof(HttpConn));
		c->host = pstrdup(x->req->host);
		MemoryContextSwitchTo(old);
		c->sock = sock;
		c->tls = x->req->tls;
		c->port = x->req->port;
		memcpy(&c->peer, &a->sa, a->len);
		c->peer_len = a->len;
		sx->conn = c;
		sx->phase = PH_CONNECT;

		if (connect(sock, (struct sockaddr *) &a->sa, a->len) == 0)
		{
			tcp_connected(sx);
			return;
		}
		if (errno == EINPROGRESS || errno == EINTR)
		{
			sx_watch(sx, HTTP_WATCH_WRITE);
			return;
		}
		sx->last_errno = errno;
		conn_close(c, false);
		sx->conn = NULL;
	}

	{
		char		addr[INET6_ADDRSTRLEN + 8];

		HttpSockaddrText((struct sockaddr *) &sx->addrs[sx->naddrs - 1].sa, addr, sizeof(addr));
		HttpFailConnect(x, addr, strerror(sx->last_errno ? sx->last_errno : ECONNREFUSED));
	}
}

/* A non-blocking connect finished: see how. */
static void
connect_done(StreamX *sx)
{
	int			err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(sx->conn->sock, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == 0)
	{
		tcp_connected(sx);
		return;
	}
	if (err == EINPROGRESS || err == EALREADY)
		return;					/* spurious wake */
	sx->last_errno = err;
	conn_close(sx->conn, false);
	sx->conn = NULL;
	connect_next(sx);
}

/* dns.c callback: add one allowed address to the list to try. */
static void
add_address(HttpExchange *x, const struct sockaddr *sa, socklen_t len, void *arg)
{
	StreamX    *sx = arg;
	Addr	   *a = &sx->addrs[sx->naddrs++];

	memcpy(&a->sa, sa, len);
	a->len = len;
}

/* Try the addresses the policy allows; fail x if none is left. */
static void
use_addresses(StreamX *sx, struct addrinfo *res)
{
	sx->addrs = palloc(sizeof(Addr) * MAX_ADDRS);
	sx->naddrs = 0;
	sx->next_addr = 0;
	if (HttpDnsFilter(sx->x, res, sx->x->req->port, add_address, sx, MAX_ADDRS) > 0)
		connect_next(sx);
}

/* dns.c callback: the name resolved (or did not). */
static void
resolved(HttpExchange *x, int rc, struct addrinfo *res)
{
	StreamX    *sx = x->tp;

	if (rc != 0)
	{
		HttpFailResolve(x, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return;
	}
	use_addresses(sx, res);
}

/* The response is complete: pool or close the connection, finish x. */
static void
stream_complete(StreamX *sx, bool leftover)
{
	HttpExchange *x = sx->x;
	HttpConn   *c = sx->conn;

	sx->conn = NULL;
	if (sx->parser.keep_alive && !leftover && sx->sent_all &&
		x->req->opt.keepalive && x->req->set->pool_size > 0)
		pool_put(c, x->req->set);
	else
		conn_close(c, true);
	HttpExchangeDone(x);
}

/* Report a parser error against x. */
static void
parse_failed(StreamX *sx, int err)
{
	if (sx->too_large)
		HttpFailTooLarge(sx->x);
	else if (HttpIsHeaderLimit(err))
		HttpFailHeaderLimit(sx->x, err);
	else
		HttpFailProtocol(sx->x, Http1ErrorMessage(err));
}

/* The peer ended the stream. */
static void
stream_eof(StreamX *sx)
{
	int			rc = Http1ParseEof(&sx->parser);

	/* a body that only the close ends, closed without TLS's goodbye */
	if (rc == HTTP1_OK && sx->conn->tls && HttpStreamImpl.clean_eof &&
		!HttpStreamImpl.clean_eof(sx->conn))
		rc = HTTP1_E_TRUNCATED;
	if (rc == HTTP1_OK)
		stream_complete(sx, false);
	else if (rc == HTTP1_E_EMPTY)
	{
		if (!retry_fresh(sx, true))
			HttpFailNoResponse(sx->x);
	}
	else
		HttpFailTruncated(sx->x);
}

/* Read and parse what is there. */
static void
stream_recv(StreamX *sx)
{
	size_t		budget = 0;

	while (sx->x->state == HTTP_X_RUNNING)
	{
		ssize_t		n;
		ssize_t		used;

		if (sx->sinking && sx->x->sink_held)
		{
			/* its caller takes no rows now: read nothing until it resumes */
			sx_watch(sx, 0);
			sx->parked = true;
			return;
		}
		n = conn_read(sx->conn, sx->x, read_buf, sizeof(read_buf));

		if (n > 0)
		{
			if (sx->x->t_first_byte == 0)
				sx->x->t_first_byte = GetCurrentTimestamp();
			used = Http1Parse(&sx->parser, read_buf, (size_t) n);
			if (used < 0)
			{
				parse_failed(sx, (int) used);
				return;
			}
			if (sx->parser.done)
			{
				stream_complete(sx, used < n);
				return;
			}
			/* yield now and then on a fast stream; level-triggered, we'll be back */
			budget += (size_t) n;
			if (budget >= READ_BUDGET &&
				!(sx->conn->tls && HttpStreamImpl.pending(sx->conn)))
				return;
			continue;
		}
		if (n == 0)
			stream_eof(sx);
		else if (n == HTTP_IO_WANT_READ)
			sx_watch(sx, sx->sent_all ? HTTP_WATCH_READ : HTTP_WATCH_READ | HTTP_WATCH_WRITE);
		else if (n == HTTP_IO_WANT_WRITE)
			sx_watch(sx, HTTP_WATCH_WRITE);
		else if (!retry_fresh(sx, true))
			HttpFailRecv(sx->x, sx->conn->error);
		return;
	}
}

/* Write what remains of the request. */
static void
stream_send(StreamX *sx)
{
	while (sx->sent < sx->out_len + sx->body_len)
	{
		const char *p;
		size_t		len;
		ssize_t		n;

		if (sx->sent < sx->out_len)
		{
			p = sx->out + sx->sent;
			len = sx->out_len - sx->sent;
		}
		else
		{
			p = sx->body + (sx->sent - sx->out_len);
			len = sx->body_len - (sx->sent - sx->out_len);
		}
		n = conn_write(sx->conn, sx->x, p, len);
		if (n > 0)
		{
			sx->sent += (size_t) n;
			continue;
		}
		if (n == HTTP_IO_WANT_WRITE)
			sx_watch(sx, HTTP_WATCH_READ | HTTP_WATCH_WRITE);
		else if (n == HTTP_IO_WANT_READ)
			sx_watch(sx, HTTP_WATCH_READ);
		/* a write error on a stale pooled connection: nothing was received */
		else if (!retry_fresh(sx, false))
			HttpFailSend(sx->x, sx->conn->error);
		return;
	}
	sx->sent_all = true;
	sx->phase = PH_RECV;
	sx_watch(sx, HTTP_WATCH_READ);
}

/*
 * The transport's start(): a pooled connection the policy still allows, or
 * resolution (numeric hosts skip it) and a fresh connection.  Never blocks;
 * may fail x at once.
 */
void
HttpStreamStart(HttpExchange *x)
{
	HttpRequest *req = x->req;
	StreamX    *sx = palloc0(sizeof(StreamX));

	sx->x = x;
	sx->linebuf = HttpLineBufferGet(req->set->max_header_bytes + 1);
	sx->limit = req->opt.max_response_bytes;
	x->tp = sx;
	initStringInfo(&x->resp.body);
	reset_response(sx);
	build_request(sx);

	/* a pooled connection whose address the policy still allows */
	if (req->opt.keepalive && (sx->conn = pool_take(req)) != NULL)
	{
		if (HttpPolicyCheckAddress(x, (struct sockaddr *) &sx->conn->peer, false))
		{
			sx->reused = true;
			ready_to_send(sx);
			return;
		}
		conn_close(sx->conn, true);
		sx->conn = NULL;
	}

	if (req->host_kind != HTTP_HOST_NAME)
	{
		/* numeric host: no resolution, the address is judged as it is */
		struct addrinfo ai;
		struct sockaddr_storage ss;

		memset(&ai, 0, sizeof(ai));
		memset(&ss, 0, sizeof(ss));
		if (req->host_kind == HTTP_HOST_IPV4)
		{
			struct sockaddr_in *in = (struct sockaddr_in *) &ss;

			in->sin_family = AF_INET;
			memcpy(&in->sin_addr, req->addr, 4);
			ai.ai_addrlen = sizeof(*in);
		}
		else
		{
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

			in6->sin6_family = AF_INET6;
			memcpy(&in6->sin6_addr, req->addr, 16);
			ai.ai_addrlen = sizeof(*in6);
		}
		ai.ai_family = ss.ss_family;
		ai.ai_addr = (struct sockaddr *) &ss;
		use_addresses(sx, &ai);
		return;
	}

	/* the answer may come at once, from the cache */
	sx->phase = PH_RESOLVE;
	(void) HttpDnsStart(x, resolved);
}

/*
 * The loop's callback for an idle pooled connection (arg): it became
 * readable, so the server closed it (or misbehaves).  Never throws.
 */
static void
pool_idle_ready(void *arg, pgsocket sock, uint32 ready)
{
	HttpConn   *c = arg;

	dlist_delete(&c->node);
	pool_count--;
	conn_close(c, false);
}

/*
 * The loop's callback for an exchange's socket (arg: its StreamX): advance
 * the exchange's phase.  An ERROR here fails that exchange only.
 */
static void
stream_ready(void *arg, pgsocket sock, uint32 ready)
{
	StreamX    *sx = arg;
	MemoryContext old;

	if (sx->x->state != HTTP_X_RUNNING)
		return;
	/* allocate where the exchange lives (see HttpExchange.cxt) */
	old = MemoryContextSwitchTo(GetMemoryChunkContext(sx));
	PG_TRY();
	{
		switch (sx->phase)
		{
			case PH_RESOLVE:
				break;			/* answers come through the resolver's descriptor */
			case PH_CONNECT:
				connect_done(sx);
				break;
			case PH_HANDSHAKE:
				do_handshake(sx);
				break;
			case PH_SEND:
				/* the server may answer (and close) before reading the whole body */
				if (ready & HTTP_WATCH_READ)
					stream_recv(sx);
				if ((ready & HTTP_WATCH_WRITE) && sx->x->state == HTTP_X_RUNNING &&
					sx->phase == PH_SEND)
					stream_send(sx);
				break;
			case PH_RECV:
				stream_recv(sx);
				break;
		}
	}
	PG_CATCH();
	{
		/* an error on this exchange's socket fails this exchange only */
		HttpExchangeAbsorbError(sx->x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
}

/*
 * The transport's release(): a connection still attached is half-used and
 * closed, never pooled.  Never throws.
 */
void
HttpStreamRelease(HttpExchange *x)
{
	StreamX    *sx = x->tp;

	if (sx == NULL)
		return;
	if (sx->conn != NULL)
	{
		/* half-used: never back to the pool */
		conn_close(sx->conn, false);
		sx->conn = NULL;
	}
	HttpLineBufferPut(sx->linebuf, x->req->set->max_header_bytes + 1);
	sx->linebuf = NULL;
	x->tp = NULL;
}

/*
 * The transport's resume(): x's sink takes rows again.  A parked exchange
 * reads at once (a TLS layer may hold bytes no socket event announces),
 * then watches its socket again.  Never throws: an error fails x.
 */
void
HttpStreamResume(HttpExchange *x)
{
	StreamX    *sx = x->tp;

	if (sx == NULL || !sx->parked || sx->conn == NULL)
		return;
	sx->parked = false;
	/* watched again first: a read that stops at its budget relies on it */
	(void) HttpLoopWatch(sx->conn->sock, HTTP_WATCH_READ, stream_ready, sx);
	stream_ready(sx, sx->conn->sock, HTTP_WATCH_READ);
}

/* Plain TCP read: bytes, 0 at end of stream, or HTTP_IO_*.  Never throws. */
ssize_t
HttpStreamPlainRead(HttpConn *c, HttpExchange *x, char *buf, size_t len)
{
	for (;;)
	{
		ssize_t		n = recv(c->sock, buf, len, 0);

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return HTTP_IO_WANT_READ;
		strlcpy(c->error, strerror(errno), sizeof(c->error));
		return HTTP_IO_ERROR;
	}
}

/* Plain TCP write: bytes or HTTP_IO_*.  Never throws. */
ssize_t
HttpStreamPlainWrite(HttpConn *c, HttpExchange *x, const char *buf, size_t len)
{
	for (;;)
	{
		ssize_t		n = send(c->sock, buf, len, MSG_NOSIGNAL);

		if (n > 0)
			return n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return HTTP_IO_WANT_WRITE;
		strlcpy(c->error, strerror(n == 0 ? EPIPE : errno), sizeof(c->error));
		return HTTP_IO_ERROR;
	}
}
