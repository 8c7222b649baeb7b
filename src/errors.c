/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  The failures transports report, worded once.
 *
 * A user who switches transports keeps their error handling: the same
 * failure gets the same SQLSTATE, message and hint from every transport.
 * Only the text a library or the kernel gave (the "why") differs, and it
 * goes into the detail.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "http1.h"

/* See pg_http.h. */
void
HttpFailResolve(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					 "could not resolve host name",
					 "Host \"%s\": %s.", x->req->host, why);
}

/* See pg_http.h. */
void
HttpFailConnect(HttpExchange *x, const char *address, const char *why)
{
	HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					 "could not connect to HTTP server",
					 "Connection to host \"%s\" port %d (address %s) failed: %s.",
					 x->req->host, x->req->port, address, why);
}

/* See pg_http.h. */
void
HttpFailSend(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE, "could not send HTTP request",
					 "Connection to host \"%s\" port %d: %s.",
					 x->req->host, x->req->port, why);
}

/* See pg_http.h. */
void
HttpFailRecv(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE, "could not receive HTTP response",
					 "Connection to host \"%s\" port %d: %s.",
					 x->req->host, x->req->port, why);
}

/* See pg_http.h. */
void
HttpFailNoResponse(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE,
					 "server closed the connection without a response",
					 "Host \"%s\" port %d closed the connection before sending any response byte.",
					 x->req->host, x->req->port);
}

/* See pg_http.h. */
void
HttpFailResendRefused(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE,
					 "server closed the connection without a response",
					 "The server closed a reused connection to host \"%s\" port %d after the %s request was sent; "
					 "it was not sent again because the server may have acted on it.",
					 x->req->host, x->req->port, x->req->method);
	HttpExchangeSetHint(x, "Repeat the call if the request is safe to repeat, or set the \"keepalive\" option to false.");
}

/* See pg_http.h. */
void
HttpFailTruncated(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE,
					 "server closed the connection before the response was complete",
					 "Host \"%s\" port %d: %s.", x->req->host, x->req->port,
					 Http1ErrorMessage(HTTP1_E_TRUNCATED));
}

/* See pg_http.h. */
void
HttpFailProtocol(HttpExchange *x, const char *what)
{
	HttpExchangeFail(x, ERRCODE_PROTOCOL_VIOLATION, "invalid HTTP response",
					 "Host \"%s\": %s.", x->req->host, what);
}

/* See pg_http.h. */
void
HttpFailTooLarge(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_PROGRAM_LIMIT_EXCEEDED, "HTTP response too large",
					 "The response body from host \"%s\" exceeds the limit of " INT64_FORMAT " bytes.",
					 x->req->host, x->req->opt.max_response_bytes);
	HttpExchangeSetHint(x, "Raise the \"max_response_bytes\" option, or pg_http.max_response_bytes (superuser).");
}

/* See pg_http.h. */
void
HttpFailHeaderLimit(HttpExchange *x, int http1_error)
{
	HttpExchangeFail(x, ERRCODE_PROGRAM_LIMIT_EXCEEDED, "HTTP response header section too large",
					 "Host \"%s\": %s (limits: %d bytes, %d fields).",
					 x->req->host, Http1ErrorMessage(http1_error),
					 x->req->set->max_header_bytes, x->req->set->max_headers);
	HttpExchangeSetHint(x, "A superuser can raise pg_http.max_header_bytes or pg_http.max_headers.");
}

/* See pg_http.h. */
bool
HttpIsHeaderLimit(int http1_error)
{
	return http1_error == HTTP1_E_LINE_TOO_LONG || http1_error == HTTP1_E_HEADERS_TOO_LARGE ||
		http1_error == HTTP1_E_TOO_MANY_HEADERS;
}

/* See pg_http.h. */
void
HttpFailNoDescriptors(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_INSUFFICIENT_RESOURCES,
					 "too many open descriptors for another HTTP connection",
					 "This backend has no descriptor left within max_files_per_process.");
	HttpExchangeSetHint(x, "Lower pg_http.max_concurrency or the size of the batch.");
}

/* See pg_http.h. */
void
HttpFailTlsVerify(HttpExchange *x, HttpTlsFailure why)
{
	switch (why)
	{
		case HTTP_TLS_UNTRUSTED:
			HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
							 "TLS certificate of the server is not trusted",
							 "Host \"%s\" port %d presented a certificate that does not chain to a trusted authority.",
							 x->req->host, x->req->port);
			HttpExchangeSetHint(x, "Set pg_http.ca_file to the certificates of the authority that signed it (superuser).");
			break;
		case HTTP_TLS_EXPIRED:
			HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
							 "TLS certificate of the server has expired or is not yet valid",
							 "Host \"%s\" port %d presented a certificate outside its validity period.",
							 x->req->host, x->req->port);
			break;
		case HTTP_TLS_WRONG_NAME:
			HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
							 "TLS certificate of the server does not match the host name",
							 "Host \"%s\" port %d presented a certificate that is not valid for \"%s\".",
							 x->req->host, x->req->port, x->req->host);
			break;
	}
}

/* See pg_http.h. */
void
HttpFailTlsHandshake(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					 "TLS handshake failed",
					 "Host \"%s\" port %d: %s.", x->req->host, x->req->port, why);
}

/* See pg_http.h. */
void
HttpFailTlsSetup(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_CONFIG_FILE_ERROR, "could not set up TLS", "%s.", why);
	HttpExchangeSetHint(x, "Check pg_http.ca_file, pg_http.client_cert and pg_http.client_key.");
}
