/*-------------------------------------------------------------------------
 *
 * mock.c
 *	  The "mock" transport: plain TCP, no TLS, no library.
 *
 * Everything but the byte layer lives in stream.c, which mbedtls shares;
 * the byte layer here is the socket itself.  A request for https fails
 * before it reaches this file (HttpRequestCheck in request.c refuses what
 * HTTP_FEATURE_* does not offer).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "stream.h"

/* No TLS: https never reaches stream.c under this transport. */
const HttpStreamOps HttpStreamImpl = {0};

const HttpTransportInfo HttpTransportAbout = {
	.name = "mock",
	.features = 0,
};

const HttpTransport HttpTransportImpl = {
	.start = HttpStreamStart,
	.release = HttpStreamRelease,
	.prune = HttpStreamPrune,
	.resume = HttpStreamResume,
};
