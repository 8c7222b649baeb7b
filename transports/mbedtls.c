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
#include "exchange.h"
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
#define CONFIG_SLOTS		4

/*
 * A TLS configuration: the CA chain and client certificate of one set of
 * settings (pg_http.ca_file, client_cert, client_key), parsed once.  Each
 * request names its files in its settings snapshot, and requests of
 * different roles in a delivery worker may name different ones, so a few
 * are kept; a configuration is freed only when no connection uses it.
 */
typedef struct TlsConfig
{
	int			refs;			/* connections set up with it */
	uint64		generation;		/* unique per build: sessions belong to one */
	uint64		used;			/* for least-recently-used eviction */
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
	TlsConfig  *cfg;			/* holds a reference */
	int			last_errno;		/* from the socket, for messages */
	bool		close_notify;	/* the peer ended the session properly */
} TlsConn;

/* A session to resume with a host. */
typedef struct SessionSlot
{
	bool		valid;
	uint64		generation;		/* of the configuration it was made with */
	uint64		used;			/* for least-recently-used eviction */
	int			port;
	char		host[HTTP_URL_MAX_HOST + 1];
	mbedtls_ssl_session session;
} SessionSlot;

static TlsConfig *configs[CONFIG_SLOTS];
static uint64 config_generation = 0;
static uint64 config_clock = 0;
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

/* Free a configuration (unused, or at exit). */
static void
config_free(TlsConfig *cfg)
{
	mbedtls_ssl_config_free(&cfg->conf);
	mbedtls_x509_crt_free(&cfg->ca);
	mbedtls_x509_crt_free(&cfg->own_cert);
	mbedtls_pk_free(&cfg->own_key);
	mbedtls_ctr_drbg_free(&cfg->drbg);
	mbedtls_entropy_free(&cfg->entropy);
	free(cfg->ca_file);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg);
}

/* At backend exit: say goodbye on pooled connections, free the rest. */
static void
tls_atexit(int code, Datum arg)
{
	HttpStreamPrune(true);
	for (int i = 0; i < SESSION_SLOTS; i++)
		if (sessions[i].valid)
			mbedtls_ssl_session_free(&sessions[i].session);
	for (int i = 0; i < CONFIG_SLOTS; i++)
		if (configs[i] != NULL)
		{
			config_free(configs[i]);
			configs[i] = NULL;
		}
}

/* Was cfg built from the files these settings name? */
static bool
config_matches(const TlsConfig *cfg, const HttpSettings *set)
{
	return strcmp(cfg->ca_file, set->ca_file) == 0 &&
		strcmp(cfg->cert_file, set->client_cert) == 0 &&
		strcmp(cfg->key_file, set->client_key) == 0;
}

/* Build a configuration from the settings; NULL with x failed. */
static TlsConfig *
config_build(HttpExchange *x)
{
	const HttpSettings *set = x->req->set;
	const char *ca = set->ca_file[0] ? set->ca_file : SYSTEM_CA_BUNDLE;
	TlsConfig  *cfg = calloc(1, sizeof(TlsConfig));
	char		err[256];
	int			rc;

	if (cfg == NULL)
	{
		HttpFailTlsSetup(x, "out of memory");
		return NULL;
	}
	mbedtls_entropy_init(&cfg->entropy);
	mbedtls_ctr_drbg_init(&cfg->drbg);
	mbedtls_ssl_config_init(&cfg->conf);
	mbedtls_x509_crt_init(&cfg->ca);
	mbedtls_x509_crt_init(&cfg->own_cert);
	mbedtls_pk_init(&cfg->own_key);
	cfg->generation = ++config_generation;
	cfg->ca_file = strdup(set->ca_file);
	cfg->cert_file = strdup(set->client_cert);
	cfg->key_file = strdup(set->client_key);
	if (!cfg->ca_file || !cfg->cert_file || !cfg->key_file)
	{
		config_free(cfg);
		HttpFailTlsSetup(x, "out of memory");
		return NULL;
	}

	if ((rc = mbedtls_ctr_drbg_seed(&cfg->drbg, mbedtls_entropy_func, &cfg->entropy,
									(const unsigned char *) "pg_http", 7)) != 0 ||
		(rc = mbedtls_ssl_config_defaults(&cfg->conf, MBEDTLS_SSL_IS_CLIENT,
										  MBEDTLS_SSL_TRANSPORT_STREAM,
										  MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
	{
		HttpFailTlsSetup(x, tls_strerror(rc, err, sizeof(err)));
		config_free(cfg);
		return NULL;
	}

	/* a bundle may hold certificates mbedTLS cannot read: > 0 is fine */
	rc = mbedtls_x509_crt_parse_file(&cfg->ca, ca);
	if (rc < 0)
	{
		HttpFailTlsSetup(x, psprintf("could not load the CA certificates in \"%s\": %s", ca,
									 tls_strerror(rc, err, sizeof(err))));
		config_free(cfg);
		return NULL;
	}

	if (set->client_cert[0] || set->client_key[0])
	{
		rc = mbedtls_x509_crt_parse_file(&cfg->own_cert, set->client_cert);
		if (rc == 0)
#if MBEDTLS_VERSION_MAJOR >= 3
			rc = mbedtls_pk_parse_keyfile(&cfg->own_key, set->client_key, NULL,
										  mbedtls_ctr_drbg_random, &cfg->drbg);
#else
			rc = mbedtls_pk_parse_keyfile(&cfg->own_key, set->client_key, NULL);
#endif
		if (rc == 0)
			rc = mbedtls_ssl_conf_own_cert(&cfg->conf, &cfg->own_cert, &cfg->own_key);
		if (rc != 0)
		{
			HttpFailTlsSetup(x, psprintf("could not load the client certificate \"%s\" or key \"%s\": %s",
										 set->client_cert, set->client_key,
										 tls_strerror(rc, err, sizeof(err))));
			config_free(cfg);
			return NULL;
		}
	}

	mbedtls_ssl_conf_authmode(&cfg->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&cfg->conf, &cfg->ca, NULL);
	mbedtls_ssl_conf_rng(&cfg->conf, mbedtls_ctr_drbg_random, &cfg->drbg);
	/* HTTP/1.1 only: never let a server pick h2 for a codec that cannot speak it */
	mbedtls_ssl_conf_alpn_protocols(&cfg->conf, alpn_protocols);
#if MBEDTLS_VERSION_MAJOR >= 3
	mbedtls_ssl_conf_min_tls_version(&cfg->conf, MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&cfg->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
#endif
#if defined(MBEDTLS_SSL_SESSION_TICKETS)
	mbedtls_ssl_conf_session_tickets(&cfg->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
#endif
	return cfg;
}

/*
 * The configuration for x's settings, with a reference taken for a new
 * connection: an existing one if it matches, else a new one in the slot of
 * the least recently used configuration no connection holds.  NULL with x
 * failed.
 */
static TlsConfig *
config_get(HttpExchange *x)
{
	static bool exit_hook = false;
	TlsConfig **slot = NULL;

	if (!exit_hook)
	{
		on_proc_exit(tls_atexit, (Datum) 0);
		exit_hook = true;
	}
	for (int i = 0; i < CONFIG_SLOTS; i++)
	{
		TlsConfig  *cfg = configs[i];

		if (cfg != NULL && config_matches(cfg, x->req->set))
		{
			cfg->refs++;
			cfg->used = ++config_clock;
			return cfg;
		}
		if (cfg == NULL)
		{
			if (slot == NULL || *slot != NULL)
				slot = &configs[i];
		}
		else if (cfg->refs == 0 && (slot == NULL || (*slot != NULL && cfg->used < (*slot)->used)))
			slot = &configs[i];
	}
	if (slot == NULL)
	{
		HttpFailTlsSetup(x, psprintf("more than %d TLS configurations (CA file, client certificate) are in use at once",
									 CONFIG_SLOTS));
		return NULL;
	}
	if (*slot != NULL)
	{
		config_free(*slot);
		*slot = NULL;
	}
	if ((*slot = config_build(x)) == NULL)
		return NULL;
	(*slot)->refs = 1;
	(*slot)->used = ++config_clock;
	return *slot;
}

/* The session slot for host:port under a configuration, or NULL. */
static SessionSlot *
session_find(const TlsConfig *cfg, const char *host, int port)
{
	for (int i = 0; i < SESSION_SLOTS; i++)
		if (sessions[i].valid && sessions[i].port == port &&
			sessions[i].generation == cfg->generation && strcmp(sessions[i].host, host) == 0)
			return &sessions[i];
	return NULL;
}

/* Keep the session of a finished handshake for the next connection. */
static void
session_store(const TlsConfig *cfg, mbedtls_ssl_context *ssl, const char *host, int port)
{
	SessionSlot *slot = session_find(cfg, host, port);

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
	slot->generation = cfg->generation;
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

/* open(): TLS with SNI and verification for x's host; false with x failed. */
static bool
tls_open(HttpConn *c, HttpExchange *x)
{
	TlsConn    *t;
	SessionSlot *slot;
	char		err[256];
	int			rc;

	t = calloc(1, sizeof(TlsConn));
	if (t == NULL)
	{
		HttpFailTlsSetup(x, "out of memory");
		return false;
	}
	mbedtls_ssl_init(&t->ssl);
	c->sp = t;
	if ((t->cfg = config_get(x)) == NULL)
		return false;

	if ((rc = mbedtls_ssl_setup(&t->ssl, &t->cfg->conf)) != 0 ||
		(rc = mbedtls_ssl_set_hostname(&t->ssl, x->req->host)) != 0)
	{
		HttpFailTlsSetup(x, tls_strerror(rc, err, sizeof(err)));
		return false;
	}
	mbedtls_ssl_set_bio(&t->ssl, c, bio_send, bio_recv, NULL);
	if ((slot = session_find(t->cfg, x->req->host, x->req->port)) != NULL)
	{
		(void) mbedtls_ssl_set_session(&t->ssl, &slot->session);
		slot->used = ++session_clock;
	}
	return true;
}

/* handshake(): 0 when done, HTTP_IO_WANT_* or HTTP_IO_ERROR (x failed, worded by what verification found). */
static int
tls_handshake(HttpConn *c, HttpExchange *x)
{
	TlsConn    *t = c->sp;
	char		err[256];
	int			rc = mbedtls_ssl_handshake(&t->ssl);

	if (rc == 0)
	{
		session_store(t->cfg, &t->ssl, x->req->host, x->req->port);
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

/* read(): decrypted bytes, 0 at end of stream, or HTTP_IO_* (c->error says why). */
static ssize_t
tls_read(HttpConn *c, HttpExchange *x, char *buf, size_t len)
{
	TlsConn    *t = c->sp;
	int			rc = mbedtls_ssl_read(&t->ssl, (unsigned char *) buf, len);

	if (rc > 0)
		return rc;
	/* 0: the transport ended without close_notify (tls_clean_eof says so) */
	if (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		t->close_notify = true;
	if (rc == 0 || rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
		return 0;
	if (rc == MBEDTLS_ERR_SSL_WANT_READ)
		return HTTP_IO_WANT_READ;
	if (rc == MBEDTLS_ERR_SSL_WANT_WRITE)
		return HTTP_IO_WANT_WRITE;
	io_error(c, rc);
	return HTTP_IO_ERROR;
}

/* write(): plaintext bytes taken, or HTTP_IO_* (c->error says why). */
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

/* close(): close_notify when orderly (never waiting for it), then free.  Never throws. */
static void
tls_close(HttpConn *c, bool orderly)
{
	TlsConn    *t = c->sp;

	if (t == NULL)
		return;
	if (orderly && t->cfg != NULL)
		(void) mbedtls_ssl_close_notify(&t->ssl);
	mbedtls_ssl_free(&t->ssl);
	if (t->cfg != NULL)
		t->cfg->refs--;
	free(t);
	c->sp = NULL;
}

/*
 * idle_ok(): a pooled connection serves a request whose settings name
 * the files it was set up with, no other.
 */
static bool
tls_idle_ok(HttpConn *c, const HttpSettings *set)
{
	TlsConn    *t = c->sp;

	return t != NULL && t->cfg != NULL && config_matches(t->cfg, set);
}

/* pending(): decrypted bytes that the socket no longer shows. */
static bool
tls_pending(HttpConn *c)
{
	TlsConn    *t = c->sp;

	return t != NULL && mbedtls_ssl_get_bytes_avail(&t->ssl) > 0;
}

/* clean_eof(): the stream ended with close_notify. */
static bool
tls_clean_eof(HttpConn *c)
{
	TlsConn    *t = c->sp;

	return t != NULL && t->close_notify;
}

const HttpStreamOps HttpStreamImpl = {
	.open = tls_open,
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.close = tls_close,
	.idle_ok = tls_idle_ok,
	.pending = tls_pending,
	.clean_eof = tls_clean_eof,
};

const HttpTransportInfo HttpTransportAbout = {
	.name = "mbedtls",
	.features = HTTP_FEATURE_TLS,
};

const HttpTransport HttpTransportImpl = {
	.start = HttpStreamStart,
	.release = HttpStreamRelease,
	.prune = HttpStreamPrune,
	.resume = HttpStreamResume,
};
