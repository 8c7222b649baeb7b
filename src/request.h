/*-------------------------------------------------------------------------
 *
 * request.h
 *	  Making requests from SQL values, and what comes back as SQL values:
 *	  the request model (request.c), options (options.c), headers and
 *	  documents as jsonb (fields.c), response bodies as text (body.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_REQUEST_H
#define PG_HTTP_REQUEST_H

#include "pg_http.h"
#include "exchange.h"

#include "pgtime.h"

/* request.c */
extern void HttpRequestInit(void);
extern HttpRequest *HttpRequestNew(const char *method, const HttpOptions *base);
extern bool HttpRequestSetUrlChecked(HttpRequest *req, const char *url, size_t len,
									 HttpFailure *f, HttpUrlError *url_error);
extern void HttpRequestSetUrl(HttpRequest *req, const char *url, size_t len);
extern void HttpRequestSetParts(HttpRequest *req, const char *host, int port,
								const char *path, bool tls);
extern bool HttpRequestCheck(const HttpRequest *req, HttpFailure *f);
extern void HttpRequestFinish(HttpRequest *req, const char *content_type);
extern HttpRequest *HttpRequestFromDocument(Jsonb *doc, const HttpOptions *base, bool queued);
extern char *HttpRequestOrigin(const HttpRequest *req);

extern char *HttpRemoveDotSegments(const char *path);

/* credentials.c */
#define HTTP_SECRET_REF_MARK '\x01'	/* a header value that names a secret */
extern void HttpCredentialsPrepare(HttpRequest *req);
extern void HttpCredentialsSetMessageId(HttpRequest *req, const char *id);
extern bool HttpCredentialsReady(HttpExchange *x);
extern bool HttpCredentialsApply(HttpExchange *x);
extern bool HttpCredentialsNextStep(HttpExchange *x);
extern void HttpCredentialsRelease(HttpExchange *x);
extern HttpRequest *HttpCredentialsPreview(HttpRequest *req, pg_time_t t);

/* sign.c */
typedef struct HttpAwsKey
{
	const char *region;
	const char *service;
	const char *access_key;
	const char *secret_key;
	const char *session_token;	/* NULL: none */
	bool		unsigned_payload;
} HttpAwsKey;

typedef struct HttpHmacSpec
{
	const char *header;			/* the signature's header */
	bool		sha512;			/* else SHA-256 */
	bool		base64;			/* else hex */
	const char *payload;		/* what is signed: a template */
	const char *value;			/* the header's value: a template with {signature} */
	const char *timestamp_header;	/* the timestamp goes here too, or NULL */
} HttpHmacSpec;

extern void HttpHmac(bool sha512, const void *key, size_t keylen, const void *data,
					 size_t len, uint8 *out);
extern void HttpSha256(const void *data, size_t len, uint8 *out);
extern char *HttpHex(const uint8 *b, size_t n);
extern int	HttpHexDigit(char c);
extern char *HttpBase64(const void *b, size_t n);
extern void HttpSignAws(HttpRequest *req, const HttpAwsKey *k, pg_time_t t);
extern void HttpSignWebhook(HttpRequest *req, const char *secret, size_t secret_len,
							const char *msg_id, pg_time_t t);
extern void HttpSignHmac(HttpRequest *req, const HttpHmacSpec *h, const char *secret,
						 size_t secret_len, const char *msg_id, pg_time_t t);

/* options.c */
extern void HttpOptionsDefault(HttpOptions *o);
extern void HttpOptionsFromJsonb(HttpOptions *o, Jsonb *jb, bool queued);
extern void HttpQueueOptionsFromDocument(HttpQueueOptions *q, Jsonb *doc);

/* fields.c */
extern bool HttpJsonbNextMember(JsonbIterator **it, char **key, JsonbValue *v);
extern void HttpRequestHeaderAdd(HttpHeaderList *l, const char *name, int name_len,
								 const char *value, int value_len);
extern void HttpHeadersFromJsonb(HttpHeaderList *l, Jsonb *jb);
extern Jsonb *HttpHeadersToJsonb(const HttpHeaderList *l);
extern Jsonb *HttpTimingsToJsonb(const HttpExchange *x);
extern bool HttpUrlHasCredentials(const char *url, size_t len);
extern char *HttpUrlWithoutCredentials(const char *url, size_t len);
extern bool HttpHeadersJsonbHaveCredentials(Jsonb *jb);
extern bool HttpDocumentHasCredentials(Jsonb *doc);
extern Jsonb *HttpDocumentWithoutCredentials(Jsonb *doc);
extern Jsonb *HttpDocumentWithTraceContext(Jsonb *doc, const HttpRequest *req);
extern void HttpSecretGuardPush(ErrorContextCallback *cb, bool has_secrets);
extern void HttpSecretGuardPop(ErrorContextCallback *cb, bool has_secrets);

/* forms.c */
typedef enum HttpParamEncoding
{
	HTTP_ENCODE_QUERY,			/* RFC 3986: unreserved kept, space %20 */
	HTTP_ENCODE_FORM,			/* WHATWG urlencoded: alnum *-._ kept, space + */
	HTTP_ENCODE_PGSQL_HTTP,		/* pgsql-http's urlencode(): unreserved kept, space + */
} HttpParamEncoding;

extern void HttpParamsEncode(StringInfo out, Jsonb *params, HttpParamEncoding enc,
							 const char *what);
extern char *HttpUrlWithQuery(const char *base, size_t len, const char *query, size_t qlen);
extern void HttpMultipartBody(Jsonb *parts, char **body, size_t *body_len,
							  char **content_type);

/* body.c */
extern text *HttpBodyDecode(const HttpResponse *resp, HttpFailure *f);
extern int	HttpBodyEncoding(const char *content_type, const char **declared, HttpFailure *f);
extern text *HttpTextDecode(int enc, const char *charset, const char *data, int len,
							HttpFailure *f);
extern text *HttpBodyToText(HttpExchange *x);
extern char *HttpTextForDatabase(const char *s, size_t len);
extern const char *HttpContentType(const HttpResponse *resp);

#endif							/* PG_HTTP_REQUEST_H */
