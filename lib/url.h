/*-------------------------------------------------------------------------
 *
 * url.h
 *	  Parsing and validation of http and https URLs.
 *
 * PostgreSQL-free (no allocation, results point into the input), so every
 * transport can use it and it can be unit-tested and fuzzed on its own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_URL_H
#define PG_HTTP_URL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest host name (RFC 1035) and label. */
#define HTTP_URL_MAX_HOST	253
#define HTTP_URL_MAX_LABEL	63

typedef enum HttpUrlError
{
	HTTP_URL_OK = 0,
	HTTP_URL_E_SCHEME_MISSING,
	HTTP_URL_E_SCHEME,
	HTTP_URL_E_HOST_EMPTY,
	HTTP_URL_E_HOST_CHAR,
	HTTP_URL_E_HOST_LENGTH,
	HTTP_URL_E_IPV6,
	HTTP_URL_E_IPV6_ZONE,
	HTTP_URL_E_IPV4,
	HTTP_URL_E_PORT,
	HTTP_URL_E_USERINFO,
	HTTP_URL_E_PATH_CHAR,
	HTTP_URL_E_PERCENT,
	HTTP_URL_E_NUL
} HttpUrlError;

/* Kinds of host. */
typedef enum HttpHostKind
{
	HTTP_HOST_NAME,				/* a DNS name: must be resolved */
	HTTP_HOST_IPV4,				/* numeric IPv4, in any WHATWG spelling */
	HTTP_HOST_IPV6				/* bracketed IPv6 literal */
} HttpHostKind;

typedef struct HttpUrl
{
	bool		tls;			/* https */
	const char *userinfo;		/* "user:pass" or NULL (never echo it) */
	size_t		userinfo_len;
	const char *host;			/* as written, without brackets */
	size_t		host_len;
	HttpHostKind host_kind;
	unsigned char addr[16];		/* address for IPV4 (4 bytes) / IPV6 */
	int			port;			/* given or the scheme's default */
	bool		port_given;
	const char *target;			/* path and query; "" or "?..." lack the "/" */
	size_t		target_len;
} HttpUrl;
extern HttpUrlError HttpUrlParse(const char *s, size_t len, HttpUrl *u,
								 size_t *errpos);
extern HttpUrlError HttpUrlParseHost(const char *s, size_t len, HttpUrl *u,
									 size_t *errpos);
extern HttpUrlError HttpUrlCheckTarget(const char *s, size_t len, size_t *errpos);
extern const char *HttpUrlErrorMessage(HttpUrlError err);
extern void HttpUrlHostText(const HttpUrl *u, char *buf, size_t buflen);

/* Room HttpUrlEncode needs for len input bytes, the NUL included. */
#define HTTP_URL_ENCODED_MAX(len) (3 * (len) + 1)
extern size_t HttpUrlEncode(const char *s, size_t len, bool space_as_plus, char *out);

#endif							/* PG_HTTP_URL_H */
