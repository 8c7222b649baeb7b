/*-------------------------------------------------------------------------
 *
 * pg_http.h
 *	  The core model of pg_http: requests, responses, exchanges, settings.
 *
 * Data flows once, top to bottom: api.c turns SQL arguments into
 * HttpRequests (marshal.c, url.c), policy.c judges them, engine.c drives
 * them through the compiled-in transport as HttpExchanges, and api.c turns
 * the HttpResponses back into SQL values.
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

#include "url.h"

/*
 * SQLSTATE of a request that ran out of time (not a statement cancel, which
 * is 57014).  Class 08 so that "WHEN connection_exception" catches it with
 * the other network failures; a subclass of its own so it can be told apart.
 */
#define ERRCODE_HTTP_TIMEOUT	MAKE_SQLSTATE('0','8','T','0','0')

/* A header field: NUL-terminated name and value. */
typedef struct HttpHeader
{
	char	   *name;
	char	   *value;
} HttpHeader;

/* Header fields in order, repeats kept. */
typedef struct HttpHeaderList
{
	int			n;
	int			cap;
	HttpHeader *items;
} HttpHeaderList;

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
	int			keepalive_idle_ms;	/* a pooled connection older is not reused */
	int			pool_size;		/* idle connections kept */
	int			dns_cache_ttl_ms;
	bool		proxy_from_environment;
	const char *ca_file;		/* "" when unset */
	const char *client_cert;
	const char *client_key;
	const char *proxy;
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
	Oid			tenant;			/* the role a delivery worker sends it for,
								 * sharing resolver slots fairly (0: none) */
	bool		has_secrets;	/* credentials in URL or headers: keep the
								 * statement out of the server log */
	const HttpAclSet *acl;		/* the caller's ACL rules (NULL: none in use) */
} HttpRequest;

typedef struct HttpResponse
{
	int			status;
	int			version;		/* 10, 11, 20 */
	HttpHeaderList headers;
	StringInfoData body;
	char	   *url;			/* final URL (after redirects) */
	struct sockaddr_storage peer;	/* address actually used */
	socklen_t	peer_len;
	bool		reused;			/* came over a pooled connection */
} HttpResponse;

/* Life of an exchange. */
typedef enum HttpExchangeState
{
	HTTP_X_PENDING,				/* not started (waiting for a slot) */
	HTTP_X_RUNNING,
	HTTP_X_DONE,				/* response complete */
	HTTP_X_FAILED				/* err_* set */
} HttpExchangeState;

/* One request in flight. */
typedef struct HttpExchange
{
	HttpRequest *req;
	HttpResponse resp;
	HttpExchangeState state;
	bool		released;		/* transport release() ran */
	bool		connected;		/* transport: the connection is up */
	int			redirects;		/* hops followed so far */
	TimestampTz started;
	TimestampTz connect_deadline;
	TimestampTz deadline;
	TimestampTz finished;
	void	   *tp;				/* transport's private state */
	MemoryContext cxt;			/* NULL: the caller's; else everything of
								 * this exchange is allocated here */
	void	   *dns;			/* name resolution in progress (dns.c) */
	struct sockaddr_storage refused;	/* an address the guard refused */

	/* failure, for ereport or a batch row */
	int			err_code;		/* SQLSTATE */
	char	   *err_msg;
	char	   *err_detail;
	char	   *err_hint;
} HttpExchange;

/* guc.c */
extern int	http_timeout_ms;
extern int	http_connect_timeout_ms;
extern char *http_user_agent;
extern int	http_max_response_bytes;
extern int	http_max_header_bytes;
extern int	http_max_headers;
extern int	http_max_redirects;
extern int	http_max_concurrency;
extern bool http_keepalive;
extern int	http_keepalive_idle_ms;
extern int	http_pool_size;
extern char *http_allowed_hosts;
extern char *http_denied_hosts;
extern char *http_ca_file;
extern char *http_client_cert;
extern char *http_client_key;
extern char *http_proxy;
extern bool http_proxy_from_environment;
extern bool http_acl_superuser_bypass;
extern int	http_max_timeout_ms;
extern int	http_max_url_length;
extern int	http_dns_cache_ttl_ms;
extern char *http_worker_databases;
extern int	http_workers;
extern int	http_worker_max_inflight;
extern int	http_worker_host_concurrency;
extern int	http_queue_retention_s;
extern int	http_queue_max_attempts;
extern int	http_queue_max_per_role;
extern int	http_callback_timeout_ms;
extern void HttpGucInit(void);

/* settings.c */
extern uint64 HttpSettingsGeneration;
extern const HttpSettings *HttpSettingsCurrent(void);
extern HttpSettings *HttpSettingsCopy(const HttpSettings *s);
extern void HttpSettingsBaseStale(void);
extern const char *HttpProxyFor(const HttpSettings *set, bool tls, const char *host);
extern int	HttpSettingsApplyRole(Oid role);
extern int	HttpPinSearchPath(void);
extern void HttpUnpinSearchPath(int level);

/* engine.c */
extern void HttpEngineRun(HttpExchange **xs, int n);
extern int	HttpEngineStep(HttpExchange **xs, int n, long max_ms, bool *woken);
extern void HttpExchangeFail(HttpExchange *x, int sqlstate, const char *msg,
							 const char *detail_fmt,...) pg_attribute_printf(4, 5);
extern void HttpExchangeSetHint(HttpExchange *x, const char *hint);
extern void HttpExchangeDone(HttpExchange *x);
extern const char *HttpTransportName(void);
extern char *HttpLineBufferGet(int size);
extern void HttpLineBufferPut(char *buf, int size);
extern void HttpExchangeAbsorbError(HttpExchange *x, MemoryContext cxt);
extern uint32 HttpTransportFeatures(void);

/* errors.c: failures every transport words the same way */
typedef enum HttpTlsFailure
{
	HTTP_TLS_UNTRUSTED,
	HTTP_TLS_EXPIRED,
	HTTP_TLS_WRONG_NAME
} HttpTlsFailure;

extern void HttpFailResolve(HttpExchange *x, const char *why);
extern void HttpFailConnect(HttpExchange *x, const char *address, const char *why);
extern void HttpFailSend(HttpExchange *x, const char *why);
extern void HttpFailRecv(HttpExchange *x, const char *why);
extern void HttpFailNoResponse(HttpExchange *x);
extern void HttpFailResendRefused(HttpExchange *x);
extern void HttpFailTruncated(HttpExchange *x);
extern void HttpFailProtocol(HttpExchange *x, const char *what);
extern void HttpFailTooLarge(HttpExchange *x);
extern void HttpFailHeaderLimit(HttpExchange *x, int http1_error);
extern bool HttpIsHeaderLimit(int http1_error);
extern void HttpFailNoDescriptors(HttpExchange *x);
extern void HttpFailTlsVerify(HttpExchange *x, HttpTlsFailure why);
extern void HttpFailTlsHandshake(HttpExchange *x, const char *why);
extern void HttpFailTlsSetup(HttpExchange *x, const char *why);

/* marshal.c */
extern void HttpHeaderAdd(HttpHeaderList *l, const char *name, size_t name_len,
						  const char *value, size_t value_len);
extern const char *HttpHeaderGet(const HttpHeaderList *l, const char *name);
extern void HttpHeadersFromJsonb(HttpHeaderList *l, Jsonb *jb);
extern Jsonb *HttpHeadersToJsonb(const HttpHeaderList *l);
extern char *HttpTextForDatabase(const char *s, size_t len);
extern bool HttpIsCredentialHeader(const char *name, size_t len);
extern bool HttpUrlHasCredentials(const char *url, size_t len);
extern char *HttpUrlWithoutCredentials(const char *url, size_t len);
extern bool HttpHeadersJsonbHaveCredentials(Jsonb *jb);
extern bool HttpDocumentHasCredentials(Jsonb *doc);
extern Jsonb *HttpDocumentWithoutCredentials(Jsonb *doc);
extern void HttpSecretGuardPush(ErrorContextCallback *cb, bool has_secrets);
extern void HttpSecretGuardPop(ErrorContextCallback *cb, bool has_secrets);
extern void HttpOptionsDefault(HttpOptions *o);
extern void HttpOptionsFromJsonb(HttpOptions *o, Jsonb *jb);
extern HttpRequest *HttpRequestNew(const char *method, const HttpOptions *base);
extern HttpRequest *HttpRequestFromDocument(Jsonb *doc, const HttpOptions *base);
extern HttpRequest *HttpRequestFromQueuedDocument(Jsonb *doc, const HttpOptions *base, bool queued);
extern bool HttpIsQueueOption(const char *key);
extern void HttpQueueOptionsFromDocument(HttpQueueOptions *q, Jsonb *doc);
extern void HttpRequestSetUrl(HttpRequest *req, const char *url, size_t len);
extern void HttpRequestSetParts(HttpRequest *req, const char *host, int port,
								const char *path, bool tls);
extern void HttpRequestFinish(HttpRequest *req, const char *content_type);
extern char *HttpRequestOrigin(const HttpRequest *req);
extern text *HttpBodyToText(HttpExchange *x);
extern const char *HttpContentType(const HttpResponse *resp);
extern void HttpFormatAddress(const struct sockaddr *sa, char *buf, size_t len);

/* dns.c: name resolution for every transport */
typedef void (*HttpDnsCallback) (HttpExchange *x, int rc, struct addrinfo *res);
struct addrinfo;

/* The engine's watch argument for the resolver's completion descriptor. */
extern char HttpDnsWatchMark;
#define HTTP_DNS_WATCH ((void *) &HttpDnsWatchMark)

extern bool HttpDnsStart(HttpExchange *x, HttpDnsCallback done);
extern void HttpDnsAbandon(HttpExchange *x);
extern void HttpDnsDispatch(void);
extern int	HttpDnsFilter(HttpExchange *x, struct addrinfo *res, int port,
						  void (*add) (HttpExchange *x, const struct sockaddr *sa, socklen_t len, void *arg),
						  void *arg, int max);

/* redirect.c */
extern bool HttpRedirectPrepare(HttpExchange *x);

/* policy.c */
extern void HttpPolicyCheckRequest(HttpRequest *req);
extern bool HttpPolicyCheckExchange(HttpExchange *x);
extern bool HttpPolicyCheckAddress(HttpExchange *x, const struct sockaddr *sa, bool report);
extern void HttpPolicyNoteRefusal(HttpExchange *x, const struct sockaddr *sa);
extern void HttpPolicyReportRefusal(HttpExchange *x);
extern void HttpPolicyInit(void);
extern bool HttpPolicyAclEnforced(void);
extern const struct HttpRuleList *HttpPolicyRules(bool denied);
extern char *HttpAclEntryText(const char *pattern, const char *ports);
extern bool HttpAllowedHostsCheck(char **newval, void **extra, GucSource source);
extern void HttpAllowedHostsAssign(const char *newval, void *extra);
extern bool HttpDeniedHostsCheck(char **newval, void **extra, GucSource source);
extern void HttpDeniedHostsAssign(const char *newval, void *extra);

#endif							/* PG_HTTP_H */
