/*-------------------------------------------------------------------------
 *
 * mock.c
 *	  The "mock" transport: plain TCP, no TLS, no library.
 *
 * Everything but the byte layer lives in stream.c, which mbedtls shares;
 * the byte layer here is the socket itself.  A request for https fails
 * before it reaches this file (api.c checks HTTP_FEATURE_TLS).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "stream.h"

const HttpStreamOps HttpStreamImpl = {
	.open = NULL,				/* no handshake: the TCP connection is the stream */
	.read = HttpStreamPlainRead,
	.write = HttpStreamPlainWrite,
};

const HttpTransport HttpTransportImpl = {
	.name = "mock",
	.features = 0,
	.start = HttpStreamStart,
	.socket_ready = HttpStreamSocketReady,
	.release = HttpStreamRelease,
	.prune = HttpStreamPrune,
};
