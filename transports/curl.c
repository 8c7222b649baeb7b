/*-------------------------------------------------------------------------
 *
 * curl.c
 *	  The "curl" transport: libcurl's multi-socket interface driven by the
 *	  engine.  TLS, HTTP/2 over ALPN, proxies, decompression.
 *
 * One multi handle per backend, kept between calls: its connection cache is
 * the keep-alive pool.  curl tells us which sockets to watch and when to
 * call it back (CURLMOPT_SOCKETFUNCTION / TIMERFUNCTION); the engine waits
 * and reports readiness through curl_multi_socket_action.  Nothing here ever
 * calls curl_easy_perform or lets curl wait.
 *
 * curl's callbacks run inside libcurl, so they must never ereport: a
 * longjmp out of them would leave curl's state broken.  They record what
 * happened in the exchange's CurlX, allocate only with MCXT_ALLOC_NO_OOM,
 * and the outcome is turned into errors after control is back here.
 *
 * Security hooks: CURLOPT_OPENSOCKETFUNCTION judges every address before a
 * socket exists (so the connection goes to the judged address: no DNS
 * rebinding window), and CURLOPT_PREREQFUNCTION judges the address of a
 * reused connection again before each request, and stops curl from
 * silently re-sending a non-idempotent request on a fresh connection.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "dns.h"
#include "exchange.h"
#include "http1.h"
#include "netaddr.h"
#include "policy.h"
#include "request.h"
#include "transport.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>

#include <curl/curl.h>

#include "storage/fd.h"
#include "utils/memutils.h"

#define MAX_IDLE_EASY	16		/* easy handles kept for reuse */

/*
 * What an easy handle was set up for beyond the request itself: a handle
 * kept for reuse serves the next request with the same profile with only
 * that request's options set (no curl_easy_reset, no thirty setopt calls,
 * no strings copied again); another profile resets it first.
 */
typedef struct EasyProfile
{
	char	   *ca_file;		/* the snapshot's strings, copied */
	char	   *client_cert;
	char	   *client_key;
	char	   *proxy;			/* "" for none */
	long		http_version;
	bool		decompress;
	bool		keepalive;
	long		max_age_s;
} EasyProfile;

typedef struct IdleEasy
{
	CURL	   *easy;
	EasyProfile profile;
	CURLU	   *uh;				/* the last URL it was given, parsed */
	char	   *url;			/* that URL (malloc'd), or NULL */
} IdleEasy;

static void curl_socket_ready(void *arg, pgsocket sock, uint32 ready);
static void curl_timer_fired(void);

/* What one transfer saw; x->tp. */
typedef struct CurlX
{
	HttpExchange *x;
	CURL	   *easy;
	EasyProfile profile;		/* what easy is set up for */
	CURLU	   *uh;				/* easy's parsed URL, kept with it */
	char	   *url;			/* the URL uh holds (malloc'd), or NULL */
	int			user_agent;		/* index of the User-Agent field curl writes, or -1 */
	int			accept_default; /* index of an Accept of any type, which curl
								 * writes itself, or -1 */
	struct curl_slist *hdrs;
	struct curl_slist *resolve; /* our answer for the host name */
	bool		added;			/* in the multi handle */
	char		errbuf[CURL_ERROR_SIZE];

	/* header lines of the current response, "name: value\n" each */
	char	   *hbuf;
	size_t		hlen;
	size_t		hcap;
	bool		in_headers;		/* between a status line and its empty line */
	int			nheaders;		/* fields of the current header section */
	size_t		trailer_bytes;	/* after the final header section */

	/*
	 * HTTP/1.x header sections also go through the codec's parser, which
	 * only validates here (no callbacks that allocate): a response the
	 * mock and mbedtls transports refuse is refused here too, with the same
	 * error.  The body is curl's business.
	 */
	Http1Parser parser;
	char	   *linebuf;
	bool		decided;		/* saw the first status line */
	bool		parsing;		/* feeding the parser (HTTP/1.x) */
	bool		final_headers;	/* the final response's header section ended */

	/* why curl was stopped, if we stopped it */
	bool		too_large;		/* body over the limit */
	int			sinking;		/* body to x's sink: -1 not yet known, 0, 1 */
	bool		paused;			/* held by the sink's caller (curl_resume) */
	int			header_error;	/* HTTP1_E_* the codec found, or 0 */
	bool		oom;
	bool		no_fds;
	bool		resend_refused; /* curl wanted to re-send a non-idempotent request */
	int			prereq_calls;
	int			sockets_opened;
	struct sockaddr_storage last_addr;	/* last address a socket was opened for */
	TimestampTz added_at;		/* handed to curl: its phase times count from here */
} CurlX;

static CURLM *multi = NULL;
static IdleEasy idle_easy[MAX_IDLE_EASY];
static int	n_idle_easy = 0;
static long multi_maxconnects = -1;

/* Is it safe to send this request twice? */
static bool
method_idempotent(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "PUT") == 0 ||
		strcmp(m, "DELETE") == 0 || strcmp(m, "OPTIONS") == 0 || strcmp(m, "TRACE") == 0;
}

/*
 * Grow a palloc'd buffer of an exchange without ever throwing; false when
 * out of memory.  It lives where the exchange's state does (cxt), not in
 * whatever context curl's callback happens to run in.
 */
static bool
grow_no_throw(MemoryContext cxt, char **buf, size_t *cap, size_t used, size_t need)
{
	char	   *n;
	size_t		newcap;

	if (used + need <= *cap)
		return true;
	newcap = Max(*cap * 2, used + need);
	if (newcap > MaxAllocSize)
		newcap = used + need;
	if (newcap > MaxAllocSize)
		return false;
	n = MemoryContextAllocExtended(cxt, newcap, MCXT_ALLOC_NO_OOM);
	if (n == NULL)
		return false;
	if (*buf)
	{
		memcpy(n, *buf, used);
		pfree(*buf);
	}
	*buf = n;
	*cap = newcap;
	return true;
}

/* The engine's arg for a socket curl is waiting on (idle ones have NULL). */
#define CURL_WATCHED ((void *) &multi)

/*
 * Sockets opened by opensocket_cb, which curl closes through closesocket_cb:
 * only these may stay registered while idle.  curl closes others (its
 * resolver's socketpair) itself, and those must really be removed, or a new
 * descriptor with the same number would look registered already.
 */
#define OWN_SOCKETS_MAX 65536
static uint8 own_sockets[OWN_SOCKETS_MAX / 8];

static inline bool
own_socket(curl_socket_t s)
{
	return s >= 0 && s < OWN_SOCKETS_MAX && (own_sockets[s / 8] & (1 << (s % 8)));
}

static inline void
set_own_socket(curl_socket_t s, bool own)
{
	if (s < 0 || s >= OWN_SOCKETS_MAX)
		return;
	if (own)
		own_sockets[s / 8] |= (uint8) (1 << (s % 8));
	else
		own_sockets[s / 8] &= (uint8) ~(1 << (s % 8));
}

/*
 * CURLMOPT_SOCKETFUNCTION: watch what curl asks for.  When curl stops
 * watching a socket (after every transfer on a kept-alive connection), the
 * socket stays registered as idle rather than being removed and added back
 * for the next transfer.
 */
static int
socket_cb(CURL *easy, curl_socket_t s, int what, void *clientp, void *socketp)
{
	uint32		events = 0;

	if (what == CURL_POLL_REMOVE)
	{
		if (own_socket(s))
			HttpLoopIdle(s, curl_socket_ready);
		else
			(void) HttpLoopWatch(s, 0, NULL, NULL);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= HTTP_WATCH_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= HTTP_WATCH_WRITE;
	return HttpLoopWatch(s, events, curl_socket_ready, CURL_WATCHED) ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: curl wants to be called back after ms. */
static int
timer_cb(CURLM *m, long timeout_ms, void *clientp)
{
	HttpLoopSetTimer(timeout_ms, curl_timer_fired);
	return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: the address guard, before any socket exists. */
static curl_socket_t
opensocket_cb(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	CurlX	   *cx = clientp;
	curl_socket_t s;

	/* through a proxy, the address is the proxy's: an administrator's choice */
	if (cx->x->req->proxy == NULL &&
		!HttpPolicyCheckAddress(cx->x, &addr->addr, false))
	{
		HttpPolicyNoteRefusal(cx->x, &addr->addr);
		return CURL_SOCKET_BAD;
	}
	if (!AcquireExternalFD())
	{
		cx->no_fds = true;
		return CURL_SOCKET_BAD;
	}
	s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (s < 0)
	{
		ReleaseExternalFD();
		return CURL_SOCKET_BAD;
	}
	cx->sockets_opened++;
	set_own_socket(s, true);
	memcpy(&cx->last_addr, &addr->addr,
		   Min((size_t) addr->addrlen, sizeof(cx->last_addr)));
	return s;
}

/* CURLOPT_CLOSESOCKETFUNCTION: give the descriptor back. */
static int
closesocket_cb(void *clientp, curl_socket_t s)
{
	HttpLoopForget(s);			/* close() takes it out of epoll */
	set_own_socket(s, false);
	close(s);
	ReleaseExternalFD();
	return 0;
}

/*
 * CURLOPT_PREREQFUNCTION: the connection (new or reused) is up, the request
 * is about to go out.  A second call means curl is retrying on a fresh
 * connection after a reused one died: fine for an idempotent request, not
 * for one the server may already have acted on.
 */
static int
prereq_cb(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	CurlX	   *cx = clientp;
	struct sockaddr_storage ss;

	if (++cx->prereq_calls > 1 && !method_idempotent(cx->x->req->method))
	{
		cx->resend_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}

	/* a reused connection was judged when it was made: judge it again now */
	memset(&ss, 0, sizeof(ss));
	if (cx->x->req->proxy == NULL)
	{
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		if (inet_pton(AF_INET, primary_ip, &in->sin_addr) == 1)
		{
			in->sin_family = AF_INET;
			in->sin_port = htons(primary_port);
		}
		else if (inet_pton(AF_INET6, primary_ip, &in6->sin6_addr) == 1)
		{
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(primary_port);
		}
		if (ss.ss_family != AF_UNSPEC &&
			!HttpPolicyCheckAddress(cx->x, (struct sockaddr *) &ss, false))
		{
			HttpPolicyNoteRefusal(cx->x, (struct sockaddr *) &ss);
			return CURL_PREREQFUNC_ABORT;
		}
	}
	cx->x->connected = true;
	return CURL_PREREQFUNC_OK;
}

/*
 * Parser callback: the final response's header section is complete.  A body
 * announced larger than the limit is refused now, as the other transports
 * do (not with decompression, where the limit is on decoded bytes).
 */
static int
parser_headers_done(void *ctx)
{
	CurlX	   *cx = ctx;

	cx->final_headers = true;
	if (cx->x->sink != NULL && HttpExchangeSinks(cx->x, cx->parser.status))
		return 0;				/* a streamed body: its sink limits rows */
	if (!cx->x->req->opt.decompress &&
		cx->parser.content_length > cx->x->req->opt.max_response_bytes)
	{
		cx->too_large = true;
		return 1;
	}
	return 0;
}

static const Http1Callbacks validate_only = {
	.on_headers_done = parser_headers_done,
};

/*
 * CURLOPT_HEADERFUNCTION: collect the final response's header lines, and
 * run HTTP/1.x header sections through the codec for validation and limits.
 */
static size_t
header_cb(char *buf, size_t size, size_t nitems, void *userdata)
{
	CurlX	   *cx = userdata;
	size_t		len = size * nitems;
	size_t		n = len;

	/* curl writes "HTTP/2 200" for HTTP/2, which it only speaks over TLS here */
	if (!cx->decided)
	{
		const HttpSettings *set = cx->x->req->set;
		Http1Limits limits = {
			.max_line = set->max_header_bytes,
			.max_header_bytes = set->max_header_bytes,
			.max_headers = set->max_headers,
			.max_interim = 16,
		};

		cx->decided = true;
		cx->parsing = !(cx->x->req->tls && len >= 7 &&
						(memcmp(buf, "HTTP/2 ", 7) == 0 || memcmp(buf, "HTTP/3 ", 7) == 0));
		if (cx->parsing)
			Http1ParserInit(&cx->parser, &validate_only, cx, &limits, cx->linebuf,
							strcmp(cx->x->req->method, "HEAD") == 0);
	}

	if (cx->parsing && !cx->final_headers)
	{
		ssize_t		used = Http1Parse(&cx->parser, buf, len);

		if (used < 0)
		{
			cx->header_error = (int) used;
			return 0;
		}
	}

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;

	/* a status line starts a new response: 1xx ones are forgotten */
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0)
	{
		cx->hlen = 0;
		cx->nheaders = 0;
		cx->in_headers = true;
		return len;
	}
	if (!cx->in_headers)
	{
		/* trailers after a chunked body: not reported, but limited like headers */
		cx->trailer_bytes += len;
		if (cx->trailer_bytes > (size_t) cx->x->req->set->max_header_bytes)
		{
			cx->header_error = HTTP1_E_HEADERS_TOO_LARGE;
			return 0;
		}
		return len;
	}
	if (n == 0)
	{
		cx->in_headers = false;
		return len;
	}

	/* HTTP/2 sections are not parsed: apply the same limits by hand */
	if (!cx->parsing)
	{
		size_t		limit = (size_t) cx->x->req->set->max_header_bytes;

		if (n > limit || cx->hlen + len > limit)
		{
			cx->header_error = n > limit ? HTTP1_E_LINE_TOO_LONG : HTTP1_E_HEADERS_TOO_LARGE;
			return 0;
		}
		if (++cx->nheaders > cx->x->req->set->max_headers)
		{
			cx->header_error = HTTP1_E_TOO_MANY_HEADERS;
			return 0;
		}
	}

	if (!grow_no_throw(GetMemoryChunkContext(cx), &cx->hbuf, &cx->hcap, cx->hlen, n + 1))
	{
		cx->oom = true;
		return 0;
	}
	memcpy(cx->hbuf + cx->hlen, buf, n);
	cx->hlen += n;
	cx->hbuf[cx->hlen++] = '\n';
	return len;
}

/* CURLOPT_WRITEFUNCTION: the (decoded) body, within the limit. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
	CurlX	   *cx = userdata;
	StringInfo	body = &cx->x->resp.body;
	size_t		len = size * nmemb;
	size_t		cap = body->maxlen;

	if (cx->x->sink != NULL)
	{
		if (cx->sinking < 0)
		{
			long		status = 0;

			curl_easy_getinfo(cx->easy, CURLINFO_RESPONSE_CODE, &status);
			cx->sinking = HttpExchangeSinks(cx->x, (int) status);
			if (cx->sinking)
			{
				/* the sink's caller reads the charset before the headers are parsed */
				char	   *ct = NULL;

				curl_easy_getinfo(cx->easy, CURLINFO_CONTENT_TYPE, &ct);
				if (ct != NULL)
				{
					size_t		n = strlen(ct) + 1;

					cx->x->sink_content_type = MemoryContextAllocExtended(GetMemoryChunkContext(cx),
																		  n, MCXT_ALLOC_NO_OOM);
					if (cx->x->sink_content_type == NULL)
					{
						cx->oom = true;
						return 0;
					}
					memcpy(cx->x->sink_content_type, ct, n);
				}
			}
		}
		if (cx->sinking)
		{
			/* held: curl keeps this piece and stops reading until curl_resume */
			if (cx->x->sink_held)
			{
				cx->paused = true;
				return CURL_WRITEFUNC_PAUSE;
			}
			return cx->x->sink(cx->x, data, len) ? len : 0;
		}
	}
	if ((int64) body->len + (int64) len > cx->x->req->opt.max_response_bytes)
	{
		cx->too_large = true;
		return 0;
	}
	if (!grow_no_throw(GetMemoryChunkContext(cx), &body->data, &cap, body->len, len + 1))
	{
		cx->oom = true;
		return 0;
	}
	body->maxlen = (int) cap;
	memcpy(body->data + body->len, data, len);
	body->len += (int) len;
	body->data[body->len] = '\0';
	return len;
}

/* Turn the collected header lines into x->resp.headers (outside curl). */
static void
parse_header_lines(CurlX *cx)
{
	HttpHeaderList *l = &cx->x->resp.headers;
	size_t		i = 0;

	l->n = 0;
	while (i < cx->hlen)
	{
		char	   *line = cx->hbuf + i;
		char	   *end = memchr(line, '\n', cx->hlen - i);
		size_t		n = end - line;
		char	   *colon;

		i += n + 1;
		if (line[0] == ' ' || line[0] == '\t')
		{
			/* obs-fold: continue the previous field */
			if (l->n > 0)
			{
				HttpHeader *h = &l->items[l->n - 1];
				size_t		k = 0;

				while (k < n && (line[k] == ' ' || line[k] == '\t'))
					k++;
				h->value = psprintf("%s %.*s", h->value, (int) (n - k), line + k);
			}
			continue;
		}
		colon = memchr(line, ':', n);
		if (colon == NULL)
			continue;
		{
			char	   *v = colon + 1;
			char	   *ve = line + n;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			HttpHeaderAdd(l, line, colon - line, v, ve - v);
		}
	}
}

/* Start of curl's error text after a "Recv failure: "-style prefix. */
static const char *
error_text(CurlX *cx, CURLcode rc)
{
	const char *t = cx->errbuf[0] ? cx->errbuf : curl_easy_strerror(rc);
	const char *colon = strstr(t, "failure: ");

	return colon ? colon + strlen("failure: ") : t;
}

/* A TLS verification failure, told apart the way users need. */
static void
fail_tls_verify(CurlX *cx)
{
	long		verify = 0;

	curl_easy_getinfo(cx->easy, CURLINFO_SSL_VERIFYRESULT, &verify);

	/*
	 * OpenSSL's X509_V_ERR_* says why the chain failed (9/10: not yet
	 * valid/expired); a host name mismatch is found by libcurl itself after
	 * the chain verified, and only its message ("... target host name ...")
	 * tells it apart.
	 */
	if (strstr(cx->errbuf, "target host name") != NULL || verify == 62 || verify == 64)
		HttpFailTlsVerify(cx->x, HTTP_TLS_WRONG_NAME);
	else if (verify == 9 || verify == 10)
		HttpFailTlsVerify(cx->x, HTTP_TLS_EXPIRED);
	else
		HttpFailTlsVerify(cx->x, HTTP_TLS_UNTRUSTED);
}

/* curl's phase times (microseconds from the hand-over), as the exchange's. */
static void
phase_times(CurlX *cx)
{
	HttpExchange *x = cx->x;
	curl_off_t	connect_us = 0;
	curl_off_t	tls_us = 0;
	curl_off_t	first_us = 0;

	curl_easy_getinfo(cx->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
	curl_easy_getinfo(cx->easy, CURLINFO_APPCONNECT_TIME_T, &tls_us);
	curl_easy_getinfo(cx->easy, CURLINFO_STARTTRANSFER_TIME_T, &first_us);
	/* a connection curl reused has no connect or handshake of its own */
	if (cx->sockets_opened > 0 && connect_us > 0)
		x->t_connect = cx->added_at + connect_us;
	if (cx->sockets_opened > 0 && tls_us > 0)
		x->t_tls = cx->added_at + tls_us;
	if (first_us > 0)
		x->t_first_byte = cx->added_at + first_us;
}

/* Record the outcome of a finished transfer on x. */
static void
finish(CurlX *cx, CURLcode rc)
{
	HttpExchange *x = cx->x;
	HttpRequest *req = x->req;
	long		l = 0;
	char		addr[INET6_ADDRSTRLEN + 8];

	/* no socket of its own: it went over a connection already open */
	if (cx->sockets_opened == 0 && rc == CURLE_OK)
		x->conns_reused++;
	phase_times(cx);

	if (rc == CURLE_OK)
	{
		curl_easy_getinfo(cx->easy, CURLINFO_RESPONSE_CODE, &l);
		x->resp.status = (int) l;
		curl_easy_getinfo(cx->easy, CURLINFO_HTTP_VERSION, &l);
		x->resp.version = l == CURL_HTTP_VERSION_2_0 ? 20 : l == CURL_HTTP_VERSION_1_0 ? 10 :
			l == CURL_HTTP_VERSION_3 ? 30 : 11;
		parse_header_lines(cx);
		HttpExchangeDone(x);
		return;
	}

	if (cx->too_large || rc == CURLE_FILESIZE_EXCEEDED)
		HttpFailTooLarge(x);
	else if (HttpIsHeaderLimit(cx->header_error))
		HttpFailHeaderLimit(x, cx->header_error);
	else if (cx->header_error)
		HttpFailProtocol(x, Http1ErrorMessage(cx->header_error));
	else if (cx->resend_refused)
		HttpFailResendRefused(x);
	else if (x->refused.ss_family != AF_UNSPEC &&
			 (cx->sockets_opened == 0 || rc == CURLE_ABORTED_BY_CALLBACK))
		HttpPolicyReportRefusal(x);
	else if (cx->no_fds)
		HttpFailNoDescriptors(x);
	else if (cx->oom || rc == CURLE_OUT_OF_MEMORY)
		HttpExchangeFail(x, ERRCODE_OUT_OF_MEMORY, "out of memory",
						 "Failed while receiving the response from host \"%s\".", req->host);
	else
		switch (rc)
		{
			case CURLE_COULDNT_RESOLVE_HOST:
				HttpFailResolve(x, error_text(cx, rc));
				break;
			case CURLE_COULDNT_CONNECT:
				curl_easy_getinfo(cx->easy, CURLINFO_OS_ERRNO, &l);
				HttpSockaddrText((struct sockaddr *) &cx->last_addr, addr, sizeof(addr));
				HttpFailConnect(x, addr, l ? strerror((int) l) : error_text(cx, rc));
				break;
			case CURLE_GOT_NOTHING:
				HttpFailNoResponse(x);
				break;
			case CURLE_PARTIAL_FILE:
				HttpFailTruncated(x);
				break;
			case CURLE_RECV_ERROR:
				/* libcurl reports a broken chunked body as a receive error */
				if (strstr(cx->errbuf, "chunked-encoding") != NULL)
					HttpFailProtocol(x, error_text(cx, rc));
				else
					HttpFailRecv(x, error_text(cx, rc));
				break;
			case CURLE_SEND_ERROR:
				HttpFailSend(x, error_text(cx, rc));
				break;
			case CURLE_PEER_FAILED_VERIFICATION:
				fail_tls_verify(cx);
				break;
			case CURLE_SSL_CACERT_BADFILE:
			case CURLE_SSL_CERTPROBLEM:
			case CURLE_SSL_CIPHER:
			case CURLE_SSL_ENGINE_NOTFOUND:
				HttpFailTlsSetup(x, error_text(cx, rc));
				break;
			case CURLE_SSL_CONNECT_ERROR:
				HttpFailTlsHandshake(x, error_text(cx, rc));
				break;
			case CURLE_WEIRD_SERVER_REPLY:
			case CURLE_UNSUPPORTED_PROTOCOL:
			case CURLE_HTTP2:
			case CURLE_HTTP2_STREAM:
			case CURLE_BAD_CONTENT_ENCODING:
				HttpFailProtocol(x, error_text(cx, rc));
				break;
			default:
				HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE, "HTTP request failed",
								 "Host \"%s\" port %d: %s.", req->host, req->port, error_text(cx, rc));
				break;
		}
}

/* Hand finished transfers to their exchanges. */
static void
drain_messages(void)
{
	CURLMsg    *msg;
	int			left;

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
	{
		CurlX	   *cx = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &cx);
		if (cx != NULL && cx->x->state == HTTP_X_RUNNING)
		{
			/* allocate where the exchange lives (see HttpExchange.cxt) */
			MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(cx));

			PG_TRY();
			{
				finish(cx, msg->data.result);
			}
			PG_CATCH();
			{
				/* e.g. out of memory reading this response: it alone fails */
				HttpExchangeAbsorbError(cx->x, old);
			}
			PG_END_TRY();
			MemoryContextSwitchTo(old);
		}
	}
}

static void curl_launch(CurlX *cx);
static void curl_resolved(HttpExchange *x, int rc, struct addrinfo *res);

/*
 * Set up curl and the multi handle once per backend; the connection cache
 * follows the pool size of the request being started.
 */
static void
curl_init(const HttpSettings *set)
{
	static bool global_done = false;

	if (!global_done)
	{
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not initialize libcurl")));
		global_done = true;
	}
	if (multi == NULL)
	{
		multi = curl_multi_init();
		if (multi == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not create a libcurl multi handle")));
		curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
		curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
		curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long) CURLPIPE_MULTIPLEX);
		multi_maxconnects = -1;
	}
	if (multi_maxconnects != set->pool_size)
	{
		/* the connection cache is the pool: bounded by pg_http.pool_size */
		curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long) Max(set->pool_size, 1));
		multi_maxconnects = set->pool_size;
	}
}

/* Append one header line to the list; false when out of memory. */
static bool
add_header(CurlX *cx, const char *line)
{
	struct curl_slist *n = curl_slist_append(cx->hdrs, line);

	if (n == NULL)
		return false;
	cx->hdrs = n;
	return true;
}

/*
 * Which of the request's fields curl can write itself: the User-Agent (if
 * there is one, and only one) and an Accept of any type (curl's own
 * default).
 */
static void
find_builtin_headers(CurlX *cx)
{
	HttpHeaderList *l = &cx->x->req->headers;
	int			n_ua = 0,
				n_accept = 0;

	cx->user_agent = cx->accept_default = -1;
	for (int i = 0; i < l->n; i++)
	{
		if (pg_strcasecmp(l->items[i].name, "User-Agent") == 0 && n_ua++ == 0)
			cx->user_agent = i;
		else if (pg_strcasecmp(l->items[i].name, "Accept") == 0 && n_accept++ == 0)
			cx->accept_default = strcmp(l->items[i].value, "*/*") == 0 ? i : -1;
	}
	/* an empty one is sent as it is ("User-Agent:"), which curl would drop */
	if (n_ua > 1 || (cx->user_agent >= 0 && l->items[cx->user_agent].value[0] == '\0'))
		cx->user_agent = -1;
	if (n_accept > 1)
		cx->accept_default = -1;
}

/* Build the request's header list the way curl needs it. */
static bool
build_headers(CurlX *cx, const char *url_authority)
{
	HttpRequest *req = cx->x->req;

	find_builtin_headers(cx);

	for (int i = 0; i < req->headers.n; i++)
	{
		HttpHeader *h = &req->headers.items[i];

		/*
		 * curl writes a User-Agent (CURLOPT_USERAGENT) and its default Accept
		 * in its request line's format; a custom header costs a formatting pass
		 * of its own.  The same fields go out either way.
		 */
		if (i == cx->user_agent || i == cx->accept_default)
			continue;
		/* "Name;" is curl's way to send a header with an empty value */
		if (!add_header(cx, h->value[0] ? psprintf("%s: %s", h->name, h->value)
						: psprintf("%s;", h->name)))
			return false;
	}
	/* no default Content-Type for a body, no Expect: 100-continue wait */
	if (req->body && !HttpHeaderGet(&req->headers, "Content-Type") &&
		!add_header(cx, "Content-Type:"))
		return false;
	if (req->body && !add_header(cx, "Expect:"))
		return false;
	if (strcmp(req->authority, url_authority) != 0 &&
		!add_header(cx, psprintf("Host: %s", req->authority)))
		return false;
	if (!req->opt.keepalive && !add_header(cx, "Connection: close"))
		return false;
	return true;
}

/* Hand the transfer to curl and let it start at once. */
static void
curl_launch(CurlX *cx)
{
	if (curl_multi_add_handle(multi, cx->easy) != CURLM_OK)
	{
		HttpExchangeFail(cx->x, ERRCODE_OUT_OF_MEMORY, "out of memory", "Could not add a libcurl transfer.");
		return;
	}
	cx->added = true;
	cx->added_at = GetCurrentTimestamp();

	/*
	 * curl now wants a 0 ms timer: run it at once, so that the request goes
	 * out (on a kept-alive connection) before the engine's first wait,
	 * rather than after a trip through it.
	 */
	curl_timer_fired();
}

/* dns.c callback: one allowed address for CURLOPT_RESOLVE. */
static void
add_resolved(HttpExchange *x, const struct sockaddr *sa, socklen_t len, void *arg)
{
	StringInfo	list = arg;
	char		text[INET6_ADDRSTRLEN + 8];

	HttpSockaddrText(sa, text, sizeof(text));
	appendStringInfo(list, sa->sa_family == AF_INET6 ? "%s[%s]" : "%s%s",
					 list->data[list->len - 1] == ':' ? "" : ",", text);
}

/* dns.c callback: the name resolved (or did not); give curl what is allowed. */
static void
curl_resolved(HttpExchange *x, int rc, struct addrinfo *res)
{
	CurlX	   *cx = x->tp;
	StringInfoData list;

	if (rc != 0)
	{
		HttpFailResolve(x, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return;
	}
	initStringInfo(&list);
	appendStringInfo(&list, "%s:%d:", x->req->host, x->req->port);
	if (HttpDnsFilter(x, res, x->req->port, add_resolved, &list, 16) == 0)
		return;
	cx->resolve = curl_slist_append(NULL, list.data);
	if (cx->resolve == NULL)
	{
		HttpExchangeFail(x, ERRCODE_OUT_OF_MEMORY, "out of memory", "Could not pass the addresses to libcurl.");
		return;
	}
	curl_easy_setopt(cx->easy, CURLOPT_RESOLVE, cx->resolve);
	curl_launch(cx);
}

/* The profile an easy handle needs for req. */
static void
profile_of(const HttpRequest *req, EasyProfile *p)
{
	p->ca_file = (char *) req->set->ca_file;
	p->client_cert = (char *) req->set->client_cert;
	p->client_key = (char *) req->set->client_key;
	p->proxy = (char *) (req->proxy ? req->proxy : "");
	p->http_version = req->opt.http_version == 11 ? CURL_HTTP_VERSION_1_1 : CURL_HTTP_VERSION_2TLS;
	p->decompress = req->opt.decompress;
	p->keepalive = req->opt.keepalive;
	p->max_age_s = Max(req->set->keepalive_idle_ms / 1000, 1);
}

static bool
profile_equal(const EasyProfile *a, const EasyProfile *b)
{
	return a->http_version == b->http_version && a->decompress == b->decompress &&
		a->keepalive == b->keepalive && a->max_age_s == b->max_age_s &&
		strcmp(a->ca_file, b->ca_file) == 0 && strcmp(a->client_cert, b->client_cert) == 0 &&
		strcmp(a->client_key, b->client_key) == 0 && strcmp(a->proxy, b->proxy) == 0;
}

/*
 * Set up a fresh (or reset) easy handle: the options every transfer has,
 * then those of profile p.  curl copies the strings.
 */
static void
easy_configure(CURL *e, const EasyProfile *p)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* never wait for a resolver thread when a transfer is abandoned */
	curl_easy_setopt(e, CURLOPT_QUICK_EXIT, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);	/* redirect.c follows */
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, opensocket_cb);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, closesocket_cb);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, NULL);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);

	/* TLS: verification on; CA, client certificate from superuser settings */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (p->ca_file[0])
		curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_file);
	if (p->client_cert[0])
		curl_easy_setopt(e, CURLOPT_SSLCERT, p->client_cert);
	if (p->client_key[0])
		curl_easy_setopt(e, CURLOPT_SSLKEY, p->client_key);

	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, p->http_version);
	if (p->decompress)
		curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");

	/*
	 * pg_http decided the proxy (HttpProxyFor); curl reads no environment:
	 * an empty CURLOPT_PROXY means none, and an empty CURLOPT_NOPROXY keeps
	 * no_proxy from sending a host around the proxy, unjudged.
	 */
	curl_easy_setopt(e, CURLOPT_PROXY, p->proxy);
	curl_easy_setopt(e, CURLOPT_NOPROXY, "");
	/* the header callback sees the origin's headers only, so its limits hold */
	curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);

	if (!p->keepalive)
	{
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	}
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, p->max_age_s);
}

/*
 * An easy handle set up for profile p: a kept one with the same profile
 * as it is, else a kept one reset, else a new one; NULL when out of
 * memory.  Never throws.
 */
static CURL *
easy_take(const EasyProfile *p, CURLU **uh, char **url)
{
	CURL	   *e;

	for (int i = n_idle_easy - 1; i >= 0; i--)
		if (profile_equal(&idle_easy[i].profile, p))
		{
			e = idle_easy[i].easy;
			*uh = idle_easy[i].uh;
			*url = idle_easy[i].url;
			pfree(idle_easy[i].profile.ca_file);
			idle_easy[i] = idle_easy[--n_idle_easy];
			return e;
		}
	if (n_idle_easy > 0)
	{
		IdleEasy   *k = &idle_easy[--n_idle_easy];

		e = k->easy;
		*uh = k->uh;
		*url = k->url;
		pfree(k->profile.ca_file);
		curl_easy_reset(e);
	}
	else
	{
		e = curl_easy_init();
		*uh = curl_url();
		*url = NULL;
		if (e == NULL || *uh == NULL)
		{
			curl_easy_cleanup(e);
			curl_url_cleanup(*uh);
			*uh = NULL;
			return NULL;
		}
	}
	easy_configure(e, p);
	return e;
}

/*
 * Keep e, set up for profile p, for the next request; pointers into the
 * finished request's memory are cleared first.  Never throws: with no room
 * (or no memory for the profile's copy) the handle is freed.
 */
static void
easy_put(CURL *e, const EasyProfile *p, CURLU *uh, char *url)
{
	size_t		n[4];
	char	   *buf;
	const char *src[4] = {p->ca_file, p->client_cert, p->client_key, p->proxy};
	size_t		total = 0;

	curl_easy_setopt(e, CURLOPT_PRIVATE, NULL);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(e, CURLOPT_RESOLVE, NULL);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, NULL);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, NULL);
	for (int i = 0; i < 4; i++)
		total += (n[i] = strlen(src[i])) + 1;
	if (n_idle_easy >= MAX_IDLE_EASY ||
		(buf = MemoryContextAllocExtended(TopMemoryContext, total, MCXT_ALLOC_NO_OOM)) == NULL)
	{
		curl_easy_cleanup(e);
		curl_url_cleanup(uh);
		free(url);
		return;
	}
	/* one block for the four strings; ca_file owns it */
	{
		IdleEasy   *k = &idle_easy[n_idle_easy++];
		char	   *q = buf;
		char	  **dst[4] = {&k->profile.ca_file, &k->profile.client_cert,
			&k->profile.client_key, &k->profile.proxy};

		k->easy = e;
		k->profile = *p;
		k->uh = uh;
		k->url = url;
		for (int i = 0; i < 4; i++)
		{
			memcpy(q, src[i], n[i] + 1);
			*dst[i] = q;
			q += n[i] + 1;
		}
	}
}

/* Start a transfer for x. */
static void
curl_start(HttpExchange *x)
{
	HttpRequest *req = x->req;
	CurlX	   *cx = palloc0(sizeof(CurlX));
	CURL	   *e;
	char	   *origin = HttpRequestOrigin(req);
	char	   *url = psprintf("%s%s", origin, req->target);

	curl_init(req->set);
	x->tp = cx;
	cx->x = x;
	cx->sinking = -1;
	initStringInfo(&x->resp.body);

	cx->linebuf = HttpLineBufferGet(req->set->max_header_bytes + 1);

	profile_of(req, &cx->profile);
	e = easy_take(&cx->profile, &cx->uh, &cx->url);
	if (e == NULL)
	{
		HttpExchangeFail(x, ERRCODE_OUT_OF_MEMORY, "out of memory", "Could not create a libcurl handle.");
		return;
	}
	cx->easy = e;

	if (!build_headers(cx, origin + (req->tls ? 8 : 7)))
	{
		HttpExchangeFail(x, ERRCODE_OUT_OF_MEMORY, "out of memory", "Could not build the request headers.");
		return;
	}

	/* this request's own options; the rest is the handle's (easy_take) */
	curl_easy_setopt(e, CURLOPT_PRIVATE, cx);
	/*
	 * The URL, parsed by curl only when it is not the one this handle was
	 * last given (calls to one endpoint, over and over, are the usual case).
	 */
	if (cx->url == NULL || strcmp(cx->url, url) != 0)
	{
		CURLUcode	urc;

		free(cx->url);
		cx->url = NULL;
		urc = curl_url_set(cx->uh, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
		if (urc != CURLUE_OK)
		{
			HttpExchangeFail(x, ERRCODE_INVALID_PARAMETER_VALUE, "invalid URL",
							 "libcurl refused \"%s\": %s.", req->url, curl_url_strerror(urc));
			return;
		}
		cx->url = strdup(url);	/* NULL: parsed again next time, no harm */
	}
	curl_easy_setopt(e, CURLOPT_CURLU, cx->uh);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, cx->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, cx->hdrs);
	/* NULL: no User-Agent at all (an empty custom "User-Agent:" removes curl's) */
	curl_easy_setopt(e, CURLOPT_USERAGENT,
					 cx->user_agent >= 0 ? req->headers.items[cx->user_agent].value : NULL);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, cx);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, cx);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, cx);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, cx);

	/*
	 * Wait for a connection being set up to the same host, to multiplex
	 * over it, only over TLS: there its ALPN answers soon.  Over plain HTTP
	 * libcurl would wait for that connection's whole first response, and
	 * one slow request would hold up every other to its host.
	 */
	curl_easy_setopt(e, CURLOPT_PIPEWAIT, req->tls ? 1L : 0L);

	/* method and body: from a plain GET, as a reused handle may be anything */
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(req->method, "GET") != 0 || req->body != NULL)
	{
		if (strcmp(req->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method);
		if (req->body != NULL)
		{
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
		}
		else if (strcmp(req->method, "POST") == 0)
		{
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) 0);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		}
	}
	/*
	 * A name is resolved by pg_http (dns.c: bounded, abandonable, judged by
	 * the policy), and curl is given the addresses: it starts no resolver
	 * thread of its own.  Through a proxy, the proxy resolves the target.
	 */
	if (req->host_kind == HTTP_HOST_NAME && req->proxy == NULL)
		(void) HttpDnsStart(x, curl_resolved);
	else
		curl_launch(cx);
}

/*
 * The loop's callback for curl's sockets: tell curl what is ready, then
 * finish the transfers that completed.  An idle socket curl no longer waits
 * on (arg NULL) fired: the server closed a cached connection; stop watching
 * it, curl notices on its next use.
 */
static void
curl_socket_ready(void *arg, pgsocket sock, uint32 ready)
{
	int			mask = 0;
	int			running;

	if (arg == NULL)
	{
		(void) HttpLoopWatch(sock, 0, NULL, NULL);
		return;
	}
	if (ready & HTTP_WATCH_READ)
		mask |= CURL_CSELECT_IN;
	if (ready & HTTP_WATCH_WRITE)
		mask |= CURL_CSELECT_OUT;
	curl_multi_socket_action(multi, sock, mask, &running);
	drain_messages();
}

/* The loop's timer for curl expired: let curl run its timeouts. */
static void
curl_timer_fired(void)
{
	int			running;

	if (multi == NULL)
		return;
	curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain_messages();
}

/*
 * release(): removing an unfinished transfer makes curl close its
 * connection, so a half-used connection never goes back to the cache.
 * Never throws.
 */
static void
curl_release(HttpExchange *x)
{
	CurlX	   *cx = x->tp;

	if (cx == NULL)
		return;
	x->conns_opened += cx->sockets_opened;	/* finished or not (http.stats) */
	if (cx->easy != NULL)
	{
		if (cx->added)
			curl_multi_remove_handle(multi, cx->easy);
		if (cx->paused)
		{
			/* it holds a piece of body for a write that must never come */
			curl_easy_cleanup(cx->easy);
			curl_url_cleanup(cx->uh);
			free(cx->url);
		}
		else
			easy_put(cx->easy, &cx->profile, cx->uh, cx->url);
		cx->easy = NULL;
		cx->uh = NULL;
		cx->url = NULL;
	}
	curl_slist_free_all(cx->hdrs);
	curl_slist_free_all(cx->resolve);
	HttpLineBufferPut(cx->linebuf, x->req->set->max_header_bytes + 1);
	cx->linebuf = NULL;
	x->tp = NULL;
}

/*
 * resume(): x's sink takes rows again; curl delivers the piece it kept
 * (from inside curl_easy_pause) and reads on.  Never throws.
 */
static void
curl_resume(HttpExchange *x)
{
	CurlX	   *cx = x->tp;

	if (cx == NULL || !cx->paused || cx->easy == NULL)
		return;
	cx->paused = false;
	curl_easy_pause(cx->easy, CURLPAUSE_CONT);
}

/*
 * prune(): curl closes connections idle past CURLOPT_MAXAGE_CONN itself;
 * "all" drops the whole cache with the multi handle.  Never throws.
 */
static void
curl_prune(bool all)
{
	if (multi != NULL && all)
	{
		curl_multi_cleanup(multi);
		multi = NULL;
	}
}

const HttpTransportInfo HttpTransportAbout = {
	.name = "curl",
	.features = HTTP_FEATURE_TLS | HTTP_FEATURE_HTTP2 | HTTP_FEATURE_PROXY | HTTP_FEATURE_DECOMPRESS,
};

const HttpTransport HttpTransportImpl = {
	.start = curl_start,
	.release = curl_release,
	.prune = curl_prune,
	.resume = curl_resume,
};
