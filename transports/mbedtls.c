/*-------------------------------------------------------------------------
 *
 * mbedtls.c
 *	  The "mbedtls" transport: raw sockets, mbedTLS and the HTTP/1.1 codec.
 *
 * Everything but the TLS byte layer is stream.c, shared with mock: the
 * threaded resolver, the address guard, non-blocking connect, the pool,
 * the codec.  This file adds TLS: one configuration per backend (entropy,
 * DRBG, the CA chain parsed once from pg_http.ca_file or the system bundle,
 * the client certificate), a non-blocking handshake whose WANT_READ /
 * WANT_WRITE become socket events for the engine, verification REQUIRED,
 * SNI and name checking with mbedtls_ssl_set_hostname, close_notify on
 * orderly close, and a small per-host session cache so that a new
 * connection to a host resumes the previous session.
 *
 * mbedTLS allocates with calloc/free, never with palloc.  Debian 12 ships
 * 2.28; the few 3.x differences are behind MBEDTLS_VERSION_MAJOR.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "storage/ipc.h"

#define SYSTEM_CA_BUNDLE	"/etc/ssl/certs/ca-certificates.crt"
#define SESSION_SLOTS		16

/* The per-backend TLS configuration. */
typedef struct TlsConfig
{
	bool		ready;
	uint64		generation;		/* bumped whenever it is rebuilt */
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	mbedtls_x509_crt own_cert;
	mbedtls_pk_context own_key;
	char	   *ca_file;		/* the settings it was built from (malloc'd) */
	char	   *cert_file;
	char	   *key_file;
} TlsConfig;

/* A TLS connection's state: HttpConn.sp. */
typedef struct TlsConn
{
	mbedtls_ssl_context ssl;
	uint64		generation;
	int			last_errno;		/* from the socket, for messages */
} TlsConn;

/* A session to resume with a host. */
typedef struct SessionSlot
{
	bool		valid;
	uint64		generation;
	uint64		used;			/* for least-recently-used eviction */
	int			port;
	char		host[HTTP_URL_MAX_HOST + 1];
	mbedtls_ssl_session session;
} SessionSlot;

static TlsConfig tls;
static SessionSlot sessions[SESSION_SLOTS];
static uint64 session_clock = 0;
static const char *alpn_protocols[] = {"http/1.1", NULL};

/* mbedTLS's words for an error code. */
static const char *
tls_strerror(int rc, char *buf, size_t len)
{
	mbedtls_strerror(rc, buf, len);
	return buf;
}

/* Free the configuration (for a rebuild, or at exit). */
static void
config_free(void)
{
	if (!tls.ready)
		return;
	mbedtls_ssl_config_free(&tls.conf);
	mbedtls_x509_crt_free(&tls.ca);
	mbedtls_x509_crt_free(&tls.own_cert);
	mbedtls_pk_free(&tls.own_key);
	mbedtls_ctr_drbg_free(&tls.drbg);
	mbedtls_entropy_free(&tls.entropy);
	free(tls.ca_file);
	free(tls.cert_file);
	free(tls.key_file);
	tls.ca_file = tls.cert_file = tls.key_file = NULL;
	tls.ready = false;
}

/* At backend exit: say goodbye on pooled connections, free the rest. */
static void
tls_atexit(int code, Datum arg)
{
	HttpStreamPrune(true);
	for (int i = 0; i < SESSION_SLOTS; i++)
		if (sessions[i].valid)
			mbedtls_ssl_session_free(&sessions[i].session);
	config_free();
}

/* Does the configuration match the settings? */
static bool
config_current(void)
{
	return tls.ready && strcmp(tls.ca_file, http_ca_file) == 0 &&
		strcmp(tls.cert_file, http_client_cert) == 0 &&
		strcmp(tls.key_file, http_client_key) == 0;
}

/*
 * Build (or rebuild, after the settings changed) the configuration.  On
 * failure x is failed with the reason and false is returned.
 */
static bool
config_build(HttpExchange *x)
{
	static bool exit_hook = false;
	const char *ca = http_ca_file[0] ? http_ca_file : SYSTEM_CA_BUNDLE;
	char		err[256];
	int			rc;

	if (config_current())
		return true;
	config_free();
	if (!exit_hook)
	{
		on_proc_exit(tls_atexit, (Datum) 0);
		exit_hook = true;
	}

	mbedtls_entropy_init(&tls.entropy);
	mbedtls_ctr_drbg_init(&tls.drbg);
	mbedtls_ssl_config_init(&tls.conf);
	mbedtls_x509_crt_init(&tls.ca);
	mbedtls_x509_crt_init(&tls.own_cert);
	mbedtls_pk_init(&tls.own_key);
	tls.ca_file = strdup(http_ca_file);
	tls.cert_file = strdup(http_client_cert);
	tls.key_file = strdup(http_client_key);
	tls.ready = true;
	tls.generation++;
	if (!tls.ca_file || !tls.cert_file || !tls.key_file)
	{
		config_free();
		HttpFailTlsSetup(x, "out of memory");
		return false;
	}

	if ((rc = mbedtls_ctr_drbg_seed(&tls.drbg, mbedtls_entropy_func, &tls.entropy,
									(const unsigned char *) "pg_http", 7)) != 0 ||
		(rc = mbedtls_ssl_config_defaults(&tls.conf, MBEDTLS_SSL_IS_CLIENT,
										  MBEDTLS_SSL_TRANSPORT_STREAM,
										  MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
	{
		HttpFailTlsSetup(x, tls_strerror(rc, err, sizeof(err)));
		config_free();
		return false;
	}

	/* a bundle may hold certificates mbedTLS cannot read: > 0 is fine */
	rc = mbedtls_x509_crt_parse_file(&tls.ca, ca);
	if (rc < 0)
	{
		HttpFailTlsSetup(x, psprintf("could not load the CA certificates in \"%s\": %s", ca,
									 tls_strerror(rc, err, sizeof(err))));
		config_free();
		return false;
	}

	if (http_client_cert[0] || http_client_key[0])
	{
		rc = mbedtls_x509_crt_parse_file(&tls.own_cert, http_client_cert);
		if (rc == 0)
#if MBEDTLS_VERSION_MAJOR >= 3
			rc = mbedtls_pk_parse_keyfile(&tls.own_key, http_client_key, NULL,
										  mbedtls_ctr_drbg_random, &tls.drbg);
#else
			rc = mbedtls_pk_parse_keyfile(&tls.own_key, http_client_key, NULL);
#endif
		if (rc == 0)
			rc = mbedtls_ssl_conf_own_cert(&tls.conf, &tls.own_cert, &tls.own_key);
		if (rc != 0)
		{
			HttpFailTlsSetup(x, psprintf("could not load the client certificate \"%s\" or key \"%s\": %s",
										 http_client_cert, http_client_key,
										 tls_strerror(rc, err, sizeof(err))));
			config_free();
			return false;
		}
	}

	mbedtls_ssl_conf_authmode(&tls.conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&tls.conf, &tls.ca, NULL);
	mbedtls_ssl_conf_rng(&tls.conf, mbedtls_ctr_drbg_random, &tls.drbg);
	/* HTTP/1.1 only: never let a server pick h2 for a codec that cannot speak it */
	mbedtls_ssl_conf_alpn_protocols(&tls.conf, alpn_protocols);
#if MBEDTLS_VERSION_MAJOR >= 3
	mbedtls_ssl_conf_min_tls_version(&tls.conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&tls.conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
	mbedtls_ssl_conf_session_tickets(&tls.conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#endif
	return true;
}

/* The session slot for host:port, or NULL. */
static SessionSlot *
session_find(const char *host, int port)
{
	for (int i = 0; i < SESSION_SLOTS; i++)
		if (sessions[i].valid && sessions[i].port == port &&
			sessions[i].generation == tls.generation && strcmp(sessions[i].host, host) == 0)
			return &sessions[i];
	return NULL;
}

/* Keep the session of a finished handshake for the next connection. */
static void
session_store(mbedtls_ssl_context *ssl, const char *host, int port)
{
	SessionSlot *slot = session_find(host, port);

	if (slot == NULL)
	{
		slot = &sessions[0];
		for (int i = 0; i < SESSION_SLOTS; i++)
			if (!sessions[i].valid || sessions[i].used < slot->used)
				slot = &sessions[i];
	}
	if (slot->valid)
		mbedtls_ssl_session_free(&slot->session);
	mbedtls_ssl_session_init(&slot->session);
	slot->valid = mbedtls_ssl_get_session(ssl, &slot->session) == 0;
	slot->generation = tls.generation;
	slot->used = ++session_clock;
	slot->port = port;
	strlcpy(slot->host, host, sizeof(slot->host));
}

/* BIO: send on the non-blocking socket. */
static int
bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	HttpConn   *c = ctx;
	ssize_t		n;

	do
		n = send(c->sock, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int) n;
	((TlsConn *) c->sp)->last_errno = errno;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* BIO: receive from the non-blocking socket; 0 is the end of the stream. */
static int
bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	HttpConn   *c = ctx;
	ssize_t		n;

	do
		n = recv(c->sock, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n >= 0)
		return (int) n;
	((TlsConn *) c->sp)->last_errno = errno;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* Describe a failed TLS read or write in c->error. */
static void
io_error(HttpConn *c, int rc)
{
	TlsConn    *t = c->sp;

	if ((rc == MBEDTLS_ERR_NET_CONN_RESET || rc == MBEDTLS_ERR_NET_SEND_FAILED ||
		 rc == MBEDTLS_ERR_NET_RECV_FAILED) && t->last_errno != 0)
		strlcpy(c->error, strerror(t->last_errno), sizeof(c->error));
	else
		tls_strerror(rc, c->error, sizeof(c->error));
}

/* See stream.h: set up TLS on a fresh TCP connection for x. */
static bool
tls_open(HttpConn *c, HttpExchange *x)
{
	TlsConn    *t;
	SessionSlot *slot;
	char		err[256];
	int			rc;

	if (!config_build(x))
		return false;
	t = calloc(1, sizeof(TlsConn));
	if (t == NULL)
	{
		HttpFailTlsSetup(x, "out of memory");
		return false;
	}
	mbedtls_ssl_init(&t->ssl);
	t->generation = tls.generation;
	c->sp = t;

	if ((rc = mbedtls_ssl_setup(&t->ssl, &tls.conf)) != 0 ||
		(rc = mbedtls_ssl_set_hostname(&t->ssl, x->req->host)) != 0)
	{
		HttpFailTlsSetup(x, tls_strerror(rc, err, sizeof(err)));
		return false;
	}
	mbedtls_ssl_set_bio(&t->ssl, c, bio_send, bio_recv, NULL);
	if ((slot = session_find(x->req->host, x->req->port)) != NULL)
	{
		(void) mbedtls_ssl_set_session(&t->ssl, &slot->session);
		slot->used = ++session_clock;
	}
	return true;
}

/* See stream.h: drive the handshake; classify what verification found. */
static int
tls_handshake(HttpConn *c, HttpExchange *x)
{
	TlsConn    *t = c->sp;
	char		err[256];
	int			rc = mbedtls_ssl_handshake(&t->ssl);

	if (rc == 0)
	{
		session_store(&t->ssl, x->req->host, x->req->port);
		return 0;
	}
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return HTTP_IO_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return HTTP_IO_WANT_WRITE;

	if (rc == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED)
	{
		uint32_t	flags = mbedtls_ssl_get_verify_result(&t->ssl);

		/* the chain first, then the dates, then the name: as OpenSSL and curl do */
		if (flags & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING |
					 MBEDTLS_X509_BADCERT_REVOKED | MBEDTLS_X509_BADCERT_OTHER |
					 MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
					 MBEDTLS_X509_BADCERT_BAD_KEY | MBEDTLS_X509_BADCERT_KEY_USAGE |
					 MBEDTLS_X509_BADCERT_EXT_KEY_USAGE | MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
			HttpFailTlsVerify(x, HTTP_TLS_UNTRUSTED);
		else if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
			HttpFailTlsVerify(x, HTTP_TLS_EXPIRED);
		else if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
			HttpFailTlsVerify(x, HTTP_TLS_WRONG_NAME);
		else
			HttpFailTlsVerify(x, HTTP_TLS_UNTRUSTED);
		return HTTP_IO_ERROR;
	}

	if (rc == MBEDTLS_ERR_NET_CONN_RESET || rc == MBEDTLS_ERR_SSL_CONN_EOF)
		HttpFailTlsHandshake(x, rc == MBEDTLS_ERR_SSL_CONN_EOF ?
							 "connection closed during the handshake" :
							 strerror(t->last_errno ? t->last_errno : ECONNRESET));
	else
		HttpFailTlsHandshake(x, tls_strerror(rc, err, sizeof(err)));
	return HTTP_IO_ERROR;
}

/* See stream.h. */
static ssize_t
tls_read(HttpConn *c, HttpExchange *x, char *buf, size_t len)
{
	TlsConn    *t = c->sp;
	int			rc = mbedtls_ssl_read(&t->ssl, (unsigned char *) buf, len);

	if (rc > 0)
		return rc;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return HTTP_IO_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return HTTP_IO_WANT_WRITE;
	io_error(c, rc);
	return HTTP_IO_ERROR;
}

/* See stream.h. */
static ssize_t
tls_write(HttpConn *c, HttpExchange *x, const char *buf, size_t len)
{
	TlsConn    *t = c->sp;
	int			rc = mbedtls_ssl_write(&t->ssl, (const unsigned char *) buf, len);

	if (rc > 0)
		return rc;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return HTTP_IO_WANT_WRITE;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return HTTP_IO_WANT_READ;
	io_error(c, rc);
	return HTTP_IO_ERROR;
}

/* See stream.h: close_notify when orderly (never waiting for it), then free. */
static void
tls_close(HttpConn *c, bool orderly)
{
	TlsConn    *t = c->sp;

	if (t == NULL)
		return;
	if (orderly)
		(void) mbedtls_ssl_close_notify(&t->ssl);
	mbedtls_ssl_free(&t->ssl);
	free(t);
	c->sp = NULL;
}

/* See stream.h: a pooled connection made under an older configuration is stale. */
static bool
tls_idle_ok(HttpConn *c)
{
	TlsConn    *t = c->sp;

	return t != NULL && t->generation == tls.generation && config_current();
}

/* See stream.h: decrypted bytes that the socket no longer shows. */
static bool
tls_pending(HttpConn *c)
{
	TlsConn    *t = c->sp;

	return t != NULL && mbedtls_ssl_get_bytes_avail(&t->ssl) > 0;
}

const HttpStreamOps HttpStreamImpl = {
	.open = tls_open,
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
	.idle_ok = tls_idle_ok,
	.pending = tls_pending,
};

const HttpTransport HttpTransportImpl = {
	.name = "mbedtls",
	.features = HTTP_FEATURE_TLS,
	.start = HttpStreamStart,
	.socket_ready = HttpStreamSocketReady,
	.release = HttpStreamRelease,
	.prune = HttpStreamPrune,
};
