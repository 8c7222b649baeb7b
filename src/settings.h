/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  Every pg_http setting (guc.c), the snapshot a request carries and a
 *	  role's settings as a new session of it would have them (settings.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_SETTINGS_H
#define PG_HTTP_SETTINGS_H

#include "pg_http.h"
#include "netaddr.h"

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
extern char *http_proxy_secret;
extern char *http_secrets_dir;
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
extern int	http_breaker_failures;
extern int	http_breaker_open_ms;
extern char *http_traceparent;
extern char *http_tracestate;
extern void HttpGucInit(void);
extern bool HttpSecretNameValid(const char *name);
extern void HttpAdoptPgNetSettings(void);

/* settings.c */
extern uint64 HttpSettingsGeneration;
extern bool HttpHostListCheck(char **newval, void **extra, GucSource source);
extern void HttpAllowedHostsAssign(const char *newval, void *extra);
extern void HttpDeniedHostsAssign(const char *newval, void *extra);
extern const HttpSettings *HttpSettingsCurrent(void);
extern HttpSettings *HttpSettingsCopy(const HttpSettings *s);
extern void HttpSettingsSetPoolMin(int n);
extern void HttpSettingsBaseStale(void);
extern int	HttpSettingsApplyRole(Oid role);
extern int	HttpPinSearchPath(void);

/* SPI as pg_http's own code (HttpSpiEnter / HttpSpiLeave) */
typedef struct HttpSpiScope
{
	Oid			userid;
	int			sec;
	int			level;
} HttpSpiScope;

extern void HttpSpiEnter(HttpSpiScope *s);
extern void HttpSpiLeave(HttpSpiScope *s);
extern void HttpUnpinSearchPath(int level);
extern const char *HttpProxyFor(const HttpSettings *set, bool tls, const char *host);

#endif							/* PG_HTTP_SETTINGS_H */
