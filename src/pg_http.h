/*-------------------------------------------------------------------------
 *
 * pg_http.h
 *	  The core model of pg_http: requests, responses, exchanges, and the
 *	  settings snapshot a request carries.  Types only: each module's
 *	  functions are declared in its own header.
 *
 * Data flows once, top to bottom: api.c turns SQL arguments into
 * HttpRequests (request.c, options.c, fields.c), policy.c judges them,
 * engine.c drives them through the compiled-in transport as HttpExchanges,
 * and api.c turns the HttpResponses back into SQL values.  The layers, and
 * which may include which, are drawn in the README (Layout) and checked by
 * tests/layers.py.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_H
#define PG_HTTP_H

#include "postgres.h"
#include "pgcompat.h"

#include <netdb.h>
#include <sys/socket.h>

#include "lib/stringinfo.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "headers.h"
#include "url.h"

/*
 * SQLSTATE of a request that ran out of time (not a statement cancel, which
 * is 57014).  Class 08 so that "WHEN connection_exception" catches it with
 * the other network failures; a subclass of its own so it can be told apart.
 */
#define ERRCODE_HTTP_TIMEOUT	MAKE_SQLSTATE('0','8','T','0','0')

/* Capability bits of a transport. */
#define HTTP_FEATURE_TLS		0x0001	/* https */
#define HTTP_FEATURE_HTTP2		0x0002	/* HTTP/2 over ALPN */
#define HTTP_FEATURE_PROXY		0x0004	/* pg_http.proxy */
#define HTTP_FEATURE_DECOMPRESS 0x0008	/* gzip/deflate response decoding */

/* The compiled-in transport's name and HTTP_FEATURE_* bits (it defines it). */
typedef struct HttpTransportInfo
{
	const char *name;			/* "curl", "mbedtls", "mock" */
	uint32		features;
} HttpTransportInfo;

extern PGDLLIMPORT const HttpTransportInfo HttpTransportAbout;

/* What a caller may set per request (the "options" jsonb). */
typedef struct HttpOptions
{
	int			timeout_ms;		/* whole exchange */
	int			connect_timeout_ms; /* until the connection is up */
	int64		max_response_bytes; /* body limit */
	bool		keepalive;		/* may use and return pooled connections */
	int			max_redirects;	/* 0: redirects are returned, not followed */
	int			http_version;	/* 0: best available, 11: HTTP/1.1 only, 20: HTTP/2 */
	bool		decompress;		/* ask for and decode gzip/deflate/br/zstd */
	Jsonb	   *auth;			/* "auth": basic or oauth2 credentials, or NULL */
	Jsonb	   *sign;			/* "sign": how to sign each attempt, or NULL */
} HttpOptions;

/* The latest a queued request may be due: a year from now (delay_ms, not_before). */
#define HTTP_QUEUE_MAX_DELAY_MS (INT64CONST(365) * 24 * 3600 * 1000)

/* The delivery options of a queued request (http.enqueue). */
typedef struct HttpQueueOptions
{
	int			max_attempts;
	int			backoff_ms;		/* first retry after about this long */
	int			backoff_max_ms; /* retries never wait longer */
	bool		retry_4xx;		/* retry 4xx answers too (429 always is) */
	int64		delay_ms;		/* not sent before now + delay */
	char	   *not_before;		/* timestamptz text, or NULL */
	char	   *idempotency_key;	/* sent as Idempotency-Key, or NULL */
	char	   *callback;		/* function name, or NULL */
	char	   *tag;			/* a label kept with the request (e.g. "pg_net"), or NULL */
	char	   *ordering_key;	/* sent one at a time with its owner's others of this key */
} HttpQueueOptions;

/* The ACL rules that apply to one user (policy.c), snapshot for a request. */
typedef struct HttpAclSet HttpAclSet;

struct HttpRuleList;

/*
 * What everything below the SQL layer needs of the settings, copied into a
 * request when it is made (settings.c): a reload or a SET while the request
 * runs changes nothing about it.  One flat block; strings and rule lists
 * live inside it.
 */
typedef struct HttpSettings
{
	Size		size;			/* bytes of the whole block */
	int			max_header_bytes;	/* header section and line limit */
	int			max_headers;	/* header field count limit */
	int			max_url_length; /* redirect targets too */
	int			max_timeout_ms; /* the longest timeout a request may have */
	int			keepalive_idle_ms;	/* a pooled connection older is not reused */
	int			pool_size;		/* idle connections kept */
	int			dns_cache_ttl_ms;
	bool		proxy_from_environment;
	const char *ca_file;		/* "" when unset */
	const char *client_cert;
	const char *client_key;
	const char *proxy;
	const char *proxy_secret;	/* secret holding the proxy's user:password */
	const char *secrets_dir;	/* "" when secrets are off */
	const struct HttpRuleList *allowed; /* pg_http.allowed_hosts (never NULL) */
	const struct HttpRuleList *denied;	/* pg_http.denied_hosts (never NULL) */
} HttpSettings;

typedef struct HttpRequest
{
	char	   *method;
	char	   *url;			/* as shown to users: no userinfo, no fragment */
	bool		tls;
	char	   *host;			/* canonical host text, no brackets */
	HttpHostKind host_kind;
	unsigned char addr[16];		/* for a numeric host */
	int			port;
	char	   *authority;		/* Host field value: host[:port], IPv6 in [] */
	char	   *target;			/* origin-form request target */
	HttpHeaderList headers;		/* final list, defaults included (no Host) */
	char	   *basic_auth;		/* Authorization from URL userinfo, or NULL */
	const char *body;			/* NULL: no body */
	size_t		body_len;
	HttpOptions opt;
	const HttpSettings *set;	/* the settings as the request was made */
	const char *proxy;			/* the proxy it goes through; NULL: direct */
	bool		host_overridden;	/* a Host header replaced the authority */
	bool		token_request;	/* an OAuth token request: its body is never
								 * streamed to a sink */
	Oid			role;			/* the role that made it (http.stats) */
	Oid			tenant;			/* the role a delivery worker sends it for,
								 * sharing resolver slots fairly (0: none) */
	bool		has_secrets;	/* credentials in URL or headers: keep the
								 * statement out of the server log */
	const HttpAclSet *acl;		/* the caller's ACL rules (NULL: none in use) */
	const struct HttpCredentials *cred; /* secrets it names, signing, OAuth
										 * (credentials.c; NULL: none) */
	const struct HttpRequest *plain;	/* the request this hop's copy with
										 * credentials applied was made from
										 * (NULL: this is no such copy) */
} HttpRequest;

/*
 * Where a streaming caller (rows.c) takes a response body: handed each piece
 * of the final 2xx response's body instead of x->resp.body collecting it
 * (see HttpExchangeSinks).  Returns false, with x failed, to stop.
 */
struct HttpExchange;
typedef bool (*HttpBodySink) (struct HttpExchange *x, const char *data, size_t len);

typedef struct HttpResponse
{
	int			status;
	int			version;		/* 10, 11, 20 */
	HttpHeaderList headers;
	StringInfoData body;
	char	   *url;			/* final URL (after redirects) */
} HttpResponse;

/* Life of an exchange. */
typedef enum HttpExchangeState
{
	HTTP_X_PENDING,				/* not started (waiting for a slot) */
	HTTP_X_RUNNING,
	HTTP_X_DONE,				/* response complete */
	HTTP_X_FAILED				/* err_* set */
} HttpExchangeState;

/*
 * One request in flight.  Its caller sets req and cxt, and reads the
 * outcome (state, resp, err_*, started, finished) once the engine hands it
 * back; the rest belongs to the engine, the transport and the resolver.
 */
typedef struct HttpExchange
{
	/* set by the caller */
	HttpRequest *req;
	MemoryContext cxt;			/* NULL: the caller's; else everything of
								 * this exchange is allocated here */

	/* the outcome */
	HttpExchangeState state;
	HttpResponse resp;
	TimestampTz started;
	TimestampTz finished;
	int			err_code;		/* SQLSTATE, when FAILED */
	char	   *err_msg;
	char	   *err_detail;
	char	   *err_hint;

	/* the engine's, the transport's and the resolver's */
	bool		released;		/* transport release() ran */
	bool		connected;		/* transport: the connection is up */
	int			redirects;		/* hops followed so far */
	TimestampTz connect_deadline;
	TimestampTz deadline;
	void	   *tp;				/* transport's private state */
	void	   *dns;			/* name resolution in progress (dns.c) */
	struct sockaddr_storage refused;	/* an address the guard refused */
	void	   *cred_state;		/* credentials.c: OAuth phase, per exchange */
	bool		host_checked;	/* hostctl.c was asked (by the engine or a claim) */
	char	   *host_admitted;	/* the host key it holds an admission of, or NULL */
	TimestampTz admit_at;		/* held back: ask again then (0: soon) */
	int			held_back;		/* held back: why (an HttpAdmit), 0: not */
	int			conns_opened;	/* transports: connections it opened */
	int			conns_reused;	/* ... and pooled ones it used (http.stats) */

	/*
	 * When the phases of its last hop ended (0: the hop had no such phase,
	 * e.g. a pooled connection needs no connect): set by the resolver and
	 * the transports, read for the response's timings.
	 */
	TimestampTz hop_started;	/* the engine: this hop's start */
	TimestampTz t_dns;			/* name resolved */
	TimestampTz t_connect;		/* TCP connection up */
	TimestampTz t_tls;			/* TLS handshake done */
	TimestampTz t_first_byte;	/* first byte of the response */

	/*
	 * A streamed body (rows.c): the sink takes it.  While sink_held, the
	 * caller is not taking rows: the transports read no more of the body
	 * (curl pauses the transfer, the stream transports stop watching the
	 * socket) until the engine resumes x (HttpEngineHold).
	 */
	HttpBodySink sink;
	void	   *sink_arg;
	bool		sink_held;
	char	   *sink_content_type;	/* curl: the Content-Type as the body streams
									 * (x->resp.headers come at the end) */
} HttpExchange;

#endif							/* PG_HTTP_H */
