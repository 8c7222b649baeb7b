/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  The failures transports report, worded once.
 *
 * A user who switches transports keeps their error handling: the same
 * failure gets the same SQLSTATE, message and hint from every transport.
 * Only the text a library or the kernel gave (the "why") differs, and it
 * goes into the detail.  Each one fails x the way HttpExchangeFail does:
 * the first failure of an exchange stands; may throw only out of memory.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "exchange.h"
#include "http1.h"

/* Fail x: its host name did not resolve (why: the resolver's words). */
void
HttpFailResolve(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					 "could not resolve host name",
					 "Host \"%s\": %s.", x->req->host, why);
}

/* Fail x: no connection to address (text) could be made (why: the kernel's words). */
void
HttpFailConnect(HttpExchange *x, const char *address, const char *why)
{
	HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					 "could not connect to HTTP server",
					 "Connection to host \"%s\" port %d (address %s) failed: %s.",
					 x->req->host, x->req->port, address, why);
}

/* Fail x: the request could not be written. */
void
HttpFailSend(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE, "could not send HTTP request",
					 "Connection to host \"%s\" port %d: %s.",
					 x->req->host, x->req->port, why);
}

/* Fail x: the response could not be read. */
void
HttpFailRecv(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE, "could not receive HTTP response",
					 "Connection to host \"%s\" port %d: %s.",
					 x->req->host, x->req->port, why);
}

/* Fail x: no connection (name resolved, TCP up) by its connect deadline. */
void
HttpFailConnectTimeout(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_HTTP_TIMEOUT, "HTTP connection timed out",
					 "No connection to host \"%s\" port %d within %d ms.",
					 x->req->host, x->req->port, x->req->opt.connect_timeout_ms);
	HttpExchangeSetHint(x, "Raise the \"connect_timeout_ms\" option or pg_http.connect_timeout.");
}

/* Fail x: it did not complete by its deadline. */
void
HttpFailTimedOut(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_HTTP_TIMEOUT, "HTTP request timed out",
					 "%s %s did not complete within %d ms.",
					 x->req->method, x->req->url, x->req->opt.timeout_ms);
	HttpExchangeSetHint(x, "Raise the timeout argument, the \"timeout_ms\" option or pg_http.timeout.");
}

/* Fail x: the connection closed before any response byte. */
void
HttpFailNoResponse(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE,
					 "server closed the connection without a response",
					 "Host \"%s\" port %d closed the connection before sending any response byte.",
					 x->req->host, x->req->port);
}

/*
 * Fail x: a reused connection died after a non-idempotent request went out,
 * which is not sent again.
 */
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

/* Fail x: the connection closed inside the response. */
void
HttpFailTruncated(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_CONNECTION_FAILURE,
					 "server closed the connection before the response was complete",
					 "Host \"%s\" port %d: %s.", x->req->host, x->req->port,
					 Http1ErrorMessage(HTTP1_E_TRUNCATED));
}

/* Fail x: the response broke HTTP (what: how). */
void
HttpFailProtocol(HttpExchange *x, const char *what)
{
	HttpExchangeFail(x, ERRCODE_PROTOCOL_VIOLATION, "invalid HTTP response",
					 "Host \"%s\": %s.", x->req->host, what);
}

/* Fail x: the body passed the request's max_response_bytes. */
void
HttpFailTooLarge(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_PROGRAM_LIMIT_EXCEEDED, "HTTP response too large",
					 "The response body from host \"%s\" exceeds the limit of " INT64_FORMAT " bytes.",
					 x->req->host, x->req->opt.max_response_bytes);
	HttpExchangeSetHint(x, "Raise the \"max_response_bytes\" option, or pg_http.max_response_bytes (superuser).");
}

/*
 * Fail x: the header section passed a limit of the request's snapshot
 * (http1_error: which, an HTTP1_E_* for which HttpIsHeaderLimit holds).
 */
void
HttpFailHeaderLimit(HttpExchange *x, int http1_error)
{
	HttpExchangeFail(x, ERRCODE_PROGRAM_LIMIT_EXCEEDED, "HTTP response header section too large",
					 "Host \"%s\": %s (limits: %d bytes, %d fields).",
					 x->req->host, Http1ErrorMessage(http1_error),
					 x->req->set->max_header_bytes, x->req->set->max_headers);
	HttpExchangeSetHint(x, "A superuser can raise pg_http.max_header_bytes or pg_http.max_headers.");
}

/* Is an HTTP1_E_* code one of the header limits?  Never throws. */
bool
HttpIsHeaderLimit(int http1_error)
{
	return http1_error == HTTP1_E_LINE_TOO_LONG || http1_error == HTTP1_E_HEADERS_TOO_LARGE ||
		http1_error == HTTP1_E_TOO_MANY_HEADERS;
}

/* Fail x: no descriptor left for another socket. */
void
HttpFailNoDescriptors(HttpExchange *x)
{
	HttpExchangeFail(x, ERRCODE_INSUFFICIENT_RESOURCES,
					 "too many open descriptors for another HTTP connection",
					 "This backend has no descriptor left within max_files_per_process.");
	HttpExchangeSetHint(x, "Lower pg_http.max_concurrency or the size of the batch.");
}

/* Fail x: the server's certificate failed verification, for why. */
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

/* Fail x: the TLS handshake failed otherwise. */
void
HttpFailTlsHandshake(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
					 "TLS handshake failed",
					 "Host \"%s\" port %d: %s.", x->req->host, x->req->port, why);
}

/* Fail x: TLS material (CA file, client certificate or key) is unusable. */
void
HttpFailTlsSetup(HttpExchange *x, const char *why)
{
	HttpExchangeFail(x, ERRCODE_CONFIG_FILE_ERROR, "could not set up TLS", "%s.", why);
	HttpExchangeSetHint(x, "Check pg_http.ca_file, pg_http.client_cert and pg_http.client_key.");
}
