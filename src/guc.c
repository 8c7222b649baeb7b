/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Every pg_http setting, in one place.
 *
 * All settings are named pg_http.* (the http.* prefix belongs to another
 * extension users may have beside this one), and the prefix is reserved.
 * Settings that would loosen the security policy or raise a resource limit
 * are PGC_SUSET: only a superuser may change them; a caller can tighten a
 * limit per request through the options argument.  Values SET before the
 * library was loaded, or by ALTER ROLE / ALTER DATABASE, are picked up when
 * it loads: that is how PostgreSQL treats placeholder settings.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "http1.h"
#include "settings.h"

#include <limits.h>

#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"

int			http_timeout_ms = 30000;
int			http_connect_timeout_ms = 10000;
char	   *http_user_agent = NULL;
int			http_max_response_bytes = 64 * 1024 * 1024;
int			http_max_header_bytes = 64 * 1024;
int			http_max_headers = 100;
int			http_max_redirects = 10;
int			http_max_concurrency = 128;
bool		http_keepalive = true;
int			http_keepalive_idle_ms = 30000;
int			http_pool_size = 16;
char	   *http_allowed_hosts = NULL;
char	   *http_denied_hosts = NULL;
char	   *http_ca_file = NULL;
char	   *http_client_cert = NULL;
char	   *http_client_key = NULL;
char	   *http_proxy = NULL;
char	   *http_proxy_secret = NULL;
char	   *http_secrets_dir = NULL;
int			http_breaker_failures = 0;
int			http_breaker_open_ms = 30000;
bool		http_proxy_from_environment = false;
bool		http_acl_superuser_bypass = false;
int			http_max_timeout_ms = 300000;
int			http_max_url_length = 8192;
int			http_dns_cache_ttl_ms = 30000;
char	   *http_worker_databases = NULL;
int			http_workers = 1;
int			http_worker_max_inflight = 128;
int			http_worker_host_concurrency = 64;
int			http_queue_retention_s = 7 * 24 * 3600;
int			http_queue_max_attempts = 5;
int			http_queue_max_per_role = 0;
int			http_callback_timeout_ms = 5000;
char	   *http_traceparent = NULL;
char	   *http_tracestate = NULL;

/*
 * A secret's name: 1 to 63 of A-Z a-z 0-9 _ . -, not starting with a dot
 * (it is a file name in pg_http.secrets_dir, never a path).
 */
bool
HttpSecretNameValid(const char *name)
{
	size_t		len = strlen(name);

	if (len == 0 || len > 63 || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
			  (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '.' ||
			  name[i] == '-'))
			return false;
	return true;
}

/* pg_http.proxy_secret: empty, or a secret's name. */
static bool
secret_name_check(char **newval, void **extra, GucSource source)
{
	if (**newval == '\0' || HttpSecretNameValid(*newval))
		return true;
	GUC_check_errdetail("A secret's name is 1 to 63 letters, digits, \"_\", \".\" or \"-\", not starting with \".\".");
	return false;
}
/*
 * Assign hooks of the settings a request snapshot holds (settings.c): a
 * change, a reload or the end of a SET LOCAL makes the next request take a
 * fresh snapshot.
 */
static void
snapshot_int_assign(int newval, void *extra)
{
	HttpSettingsGeneration++;
}

static void
snapshot_bool_assign(bool newval, void *extra)
{
	HttpSettingsGeneration++;
}

static void
snapshot_string_assign(const char *newval, void *extra)
{
	HttpSettingsGeneration++;
}

/*
 * Check hook of pg_http.user_agent: it goes on the wire as a header value,
 * so it obeys the rules request headers do (a CR or LF in it would let any
 * role that can SET it smuggle headers, or whole requests, onto a pooled
 * connection).
 */
static bool
user_agent_check(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && !Http1IsFieldValue(*newval, strlen(*newval)))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("It is sent as the User-Agent header and must not contain CR, LF, NUL or other control characters.");
		return false;
	}
	return true;
}

/* Are s[0..n) lower-case hex digits, not all zero (when nonzero says so)? */
static bool
lower_hex(const char *s, int n, bool nonzero)
{
	bool		zero = true;

	for (int i = 0; i < n; i++)
	{
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
		zero &= s[i] == '0';
	}
	return !(nonzero && zero);
}

/*
 * Check hook of pg_http.traceparent: empty, or a W3C trace context
 * traceparent, "version-traceid-parentid-flags" in lower-case hex: a
 * 32-digit trace id and a 16-digit parent id, neither all zeros, and a
 * version other than ff (version 00 is exactly 55 characters; a later
 * version may append fields after another "-").  Requests send version 00
 * with its trace id and flags.
 */
static bool
traceparent_check(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	size_t		len = v ? strlen(v) : 0;

	if (len == 0)
		return true;
	if (len < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-' ||
		!lower_hex(v, 2, false) || !lower_hex(v + 3, 32, false) ||
		!lower_hex(v + 36, 16, false) || !lower_hex(v + 53, 2, false) ||
		(len > 55 && (strncmp(v, "00", 2) == 0 || v[55] != '-')))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("A traceparent is \"00-\" followed by a 32-digit trace id, \"-\", a 16-digit parent id, \"-\" and 2 digits of flags, in lower-case hexadecimal.");
		return false;
	}
	if (strncmp(v, "ff", 2) == 0 || !lower_hex(v + 3, 32, true) || !lower_hex(v + 36, 16, true))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("Version ff, an all-zero trace id and an all-zero parent id are invalid.");
		return false;
	}
	return true;
}

/*
 * Check hook of pg_http.tracestate: sent as a header value, at most 512
 * characters (the W3C limit), no control characters.
 */
static bool
tracestate_check(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL &&
		(strlen(*newval) > 512 || !Http1IsFieldValue(*newval, strlen(*newval))))
	{
		GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
		GUC_check_errdetail("It is sent as the tracestate header: at most 512 characters, without CR, LF, NUL or other control characters.");
		return false;
	}
	return true;
}

/*
 * Check hook of pg_http.proxy: empty, or a proxy URL (http, https, socks4,
 * socks4a, socks5, socks5h, or a bare host:port) of printable ASCII.  Its
 * user:password@ goes on the wire as Proxy-Authorization.
 */
static bool
proxy_check(char **newval, void **extra, GucSource source)
{
	static const char *const schemes[] = {"http://", "https://", "socks4://", "socks4a://",
	"socks5://", "socks5h://"};
	const char *v = *newval;
	const char *colon;

	if (v == NULL || v[0] == '\0')
		return true;
	for (const char *p = v; *p; p++)
		if ((unsigned char) *p <= 0x20 || (unsigned char) *p >= 0x7f)
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("A proxy URL is printable ASCII without spaces.");
			return false;
		}
	if ((colon = strstr(v, "://")) != NULL)
	{
		bool		known = false;

		for (size_t i = 0; i < lengthof(schemes); i++)
			known |= pg_strncasecmp(v, schemes[i], strlen(schemes[i])) == 0;
		if (!known)
		{
			GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
			GUC_check_errdetail("The proxy scheme must be http, https, socks4, socks4a, socks5 or socks5h.");
			return false;
		}
	}
	return true;
}

/* Define the settings; called once from _PG_init. */
void
HttpGucInit(void)
{
	DefineCustomIntVariable("pg_http.timeout",
							"Time limit for a whole HTTP request.",
							"Covers connecting, sending and receiving; a request argument or the \"timeout_ms\" option overrides it.",
							&http_timeout_ms,
							30000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.connect_timeout",
							"Time limit for establishing a connection (TCP and TLS).",
							NULL,
							&http_connect_timeout_ms,
							10000, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_http.user_agent",
							   "User-Agent header sent when a request sets none.",
							   "An empty string sends no User-Agent header.",
							   &http_user_agent,
							   "pg_http/" PG_HTTP_VERSION,
							   PGC_USERSET, 0,
							   user_agent_check, NULL, NULL);

	DefineCustomIntVariable("pg_http.max_response_bytes",
							"Largest response body accepted.",
							"A larger response fails with SQLSTATE 54000. Requests may lower it with the \"max_response_bytes\" option.",
							&http_max_response_bytes,
							64 * 1024 * 1024, 0, MaxAllocSize - 1,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.max_header_bytes",
							"Largest response header section accepted, and longest header line.",
							NULL,
							&http_max_header_bytes,
							64 * 1024, 1024, 16 * 1024 * 1024,
							PGC_SUSET, GUC_UNIT_BYTE,
							NULL, snapshot_int_assign, NULL);

	DefineCustomIntVariable("pg_http.max_headers",
							"Largest number of response header fields accepted.",
							NULL,
							&http_max_headers,
							100, 1, 10000,
							PGC_SUSET, 0,
							NULL, snapshot_int_assign, NULL);

	DefineCustomIntVariable("pg_http.max_redirects",
							"Upper bound for the \"max_redirects\" option.",
							"Redirects are not followed unless a request asks for it.",
							&http_max_redirects,
							10, 0, 100,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.max_concurrency",
							"Requests of one batch that run at the same time in a backend.",
							"Each needs a socket; PostgreSQL lets a backend hold about a third of max_files_per_process for such descriptors.",
							&http_max_concurrency,
							128, 1, 256,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.dns_cache_ttl",
							"How long a backend reuses a host name's addresses.",
							"The addresses are still judged by the policy on every use. 0 resolves every time.",
							&http_dns_cache_ttl_ms,
							30000, 0, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, snapshot_int_assign, NULL);

	DefineCustomBoolVariable("pg_http.keepalive",
							 "Reuse connections between requests of the same backend.",
							 NULL,
							 &http_keepalive,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.keepalive_idle",
							"How long an idle connection is kept for reuse.",
							NULL,
							&http_keepalive_idle_ms,
							30000, 0, 3600 * 1000,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, snapshot_int_assign, NULL);

	DefineCustomIntVariable("pg_http.pool_size",
							"Largest number of idle connections a backend keeps.",
							NULL,
							&http_pool_size,
							16, 0, 256,
							PGC_USERSET, 0,
							NULL, snapshot_int_assign, NULL);

	DefineCustomStringVariable("pg_http.allowed_hosts",
							   "Hosts that requests may reach (empty: any public host).",
							   "Comma-separated host names, *.domain wildcards, \"*\", addresses and CIDR ranges, each with an optional :port or :low-high. Only an address or range entry allows a private or reserved address.",
							   &http_allowed_hosts,
							   "",
							   PGC_SUSET, GUC_LIST_INPUT,
							   HttpHostListCheck, HttpAllowedHostsAssign, NULL);

	DefineCustomStringVariable("pg_http.denied_hosts",
							   "Hosts that requests may never reach; wins over pg_http.allowed_hosts.",
							   "Same syntax as pg_http.allowed_hosts.",
							   &http_denied_hosts,
							   "",
							   PGC_SUSET, GUC_LIST_INPUT,
							   HttpHostListCheck, HttpDeniedHostsAssign, NULL);

	DefineCustomStringVariable("pg_http.ca_file",
							   "File of trusted CA certificates for https (PEM).",
							   "Empty: the system bundle.",
							   &http_ca_file,
							   "",
							   PGC_SUSET, 0,
							   NULL, snapshot_string_assign, NULL);

	DefineCustomStringVariable("pg_http.client_cert",
							   "Client certificate for https (PEM file).",
							   NULL,
							   &http_client_cert,
							   "",
							   PGC_SUSET, 0,
							   NULL, snapshot_string_assign, NULL);

	DefineCustomStringVariable("pg_http.client_key",
							   "Private key of pg_http.client_cert (PEM file).",
							   NULL,
							   &http_client_key,
							   "",
							   PGC_SUSET, 0,
							   NULL, snapshot_string_assign, NULL);

	/* it may hold user:password@: only superusers may read it */
	DefineCustomStringVariable("pg_http.proxy",
							   "Proxy for all requests, e.g. http://proxy:3128 (curl transport).",
							   "Empty: no proxy.",
							   &http_proxy,
							   "",
							   PGC_SUSET, GUC_SUPERUSER_ONLY,
							   proxy_check, snapshot_string_assign, NULL);

	DefineCustomStringVariable("pg_http.proxy_secret",
							   "Secret (in pg_http.secrets_dir) holding user:password for the proxy.",
							   "Empty: the proxy gets no credentials unless pg_http.proxy names them.",
							   &http_proxy_secret,
							   "",
							   PGC_SUSET, 0,
							   secret_name_check, snapshot_string_assign, NULL);

	/* where secret values live: only the server's configuration names it */
	DefineCustomStringVariable("pg_http.secrets_dir",
							   "Directory of secret files, one per secret (http.secret_define).",
							   "Empty: no secrets.  Files must be owned by the server's user with no group or other access, or by root with at most group read.",
							   &http_secrets_dir,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, snapshot_string_assign, NULL);

	DefineCustomBoolVariable("pg_http.proxy_from_environment",
							 "Let the server's environment (http_proxy, ...) choose a proxy when pg_http.proxy is empty.",
							 NULL,
							 &http_proxy_from_environment,
							 false,
							 PGC_SUSET, 0,
							 NULL, snapshot_bool_assign, NULL);

	DefineCustomBoolVariable("pg_http.acl_superuser_bypass",
							 "Let superusers reach hosts no pg_http ACL entry grants them.",
							 "Only matters once http.acl has entries.",
							 &http_acl_superuser_bypass,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.max_timeout",
							"Longest timeout a request may ask for.",
							"pg_http.timeout, the timeout argument and the \"timeout_ms\" option must stay within it.",
							&http_max_timeout_ms,
							300000, 1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, snapshot_int_assign, NULL);

	DefineCustomIntVariable("pg_http.max_url_length",
							"Longest URL accepted, in bytes.",
							NULL,
							&http_max_url_length,
							8192, 64, 1024 * 1024,
							PGC_SUSET, 0,
							NULL, snapshot_int_assign, NULL);

	/* the delivery workers (queue.c, worker.c) */
	/* settings read at server start exist only when preloaded */
	if (process_shared_preload_libraries_in_progress)
	{
		DefineCustomStringVariable("pg_http.worker_databases",
								   "Databases whose http.queue the delivery workers serve.",
								   "Comma-separated database names; needs pg_http in shared_preload_libraries.",
								   &http_worker_databases,
								   "postgres",
								   PGC_POSTMASTER, 0,
								   NULL, NULL, NULL);

		DefineCustomIntVariable("pg_http.workers",
								"Delivery workers per database.",
								"0 starts none; queued requests then wait.",
								&http_workers,
								1, 0, 16,
								PGC_POSTMASTER, 0,
								NULL, NULL, NULL);
	}

	DefineCustomIntVariable("pg_http.worker_max_inflight",
							"Queued requests one delivery worker sends at the same time.",
							NULL,
							&http_worker_max_inflight,
							128, 1, 256,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.worker_host_concurrency",
							"Queued requests one delivery worker sends to the same host and port at the same time.",
							NULL,
							&http_worker_host_concurrency,
							64, 1, 256,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.queue_retention",
							"How long delivered and failed requests stay in http.queue.",
							"0 keeps them until deleted by hand.",
							&http_queue_retention_s,
							7 * 24 * 3600, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.queue_max_attempts",
							"Attempts a queued request gets when its options name none.",
							NULL,
							&http_queue_max_attempts,
							5, 1, 100,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.queue_max_per_role",
							"Most queued requests one role may have unfinished (queued or being sent).",
							"0: no limit. http.enqueue() beyond it fails with SQLSTATE 54000.",
							&http_queue_max_per_role,
							0, 0, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.callback_timeout",
							"Time limit of one callback of a queued request.",
							"A callback that runs longer is cancelled and its error recorded in callback_error.",
							&http_callback_timeout_ms,
							5000, 1, 3600 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.breaker_failures",
							"Consecutive connection failures or 5xx from one host:port that open its circuit breaker.",
							"0: no breaker.  While open, nothing is sent there; then one request probes it.",
							&http_breaker_failures,
							0, 0, 1000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("pg_http.breaker_open",
							"How long an open circuit breaker stays open before one request probes the host.",
							NULL,
							&http_breaker_open_ms,
							30000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("pg_http.traceparent",
							   "W3C trace context of the caller: requests carry a traceparent header in this trace.",
							   "Each request gets the trace id and flags of this value and a new random span id. Empty: no trace context. Set it per transaction with SET LOCAL.",
							   &http_traceparent,
							   "",
							   PGC_USERSET, 0,
							   traceparent_check, NULL, NULL);

	DefineCustomStringVariable("pg_http.tracestate",
							   "W3C tracestate header sent beside the traceparent of pg_http.traceparent.",
							   "Sent only while pg_http.traceparent is set.",
							   &http_tracestate,
							   "",
							   PGC_USERSET, 0,
							   tracestate_check, NULL, NULL);

	MarkGUCPrefixReserved("pg_http");
	HttpAdoptPgNetSettings();
}

/*
 * The seconds of an interval written as text ("6 hours"), or -1 when it
 * is not one.  Never throws: it runs in the postmaster and in workers
 * outside any transaction.
 */
static int64
interval_text_seconds(const char *s)
{
	MemoryContext cxt = CurrentMemoryContext;
	int64		secs = -1;

	PG_TRY();
	{
		Interval   *iv = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(s),
															   ObjectIdGetDatum(InvalidOid),
															   Int32GetDatum(-1)));

		secs = ((int64) iv->month * DAYS_PER_MONTH + iv->day) * SECS_PER_DAY +
			iv->time / USECS_PER_SEC;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		secs = -1;
	}
	PG_END_TRY();
	return secs;
}

/*
 * pg_net's settings, for servers moving their pg_net code to pg_net_compat:
 * while pg_net itself is not loaded (its settings are placeholders), a set
 * pg_net.database_name, pg_net.batch_size or pg_net.ttl becomes the
 * default of pg_http.worker_databases, pg_http.worker_max_inflight (at most
 * 256) or pg_http.queue_retention; one that is unset again gives the
 * default back.  Only a value from the configuration files counts: a
 * database owner's ALTER DATABASE ... SET pg_net.ttl, which a worker also
 * sees, must not shorten the retention of every role's outcomes.  A
 * pg_http setting given anywhere else wins (it has the higher source).
 * Called when the library loads and by the workers after each reload (worker_databases only while shared_preload_libraries
 * loads); a value that does not parse is logged and left out.
 */
void
HttpAdoptPgNetSettings(void)
{
	static const struct
	{
		const char *pg_net;
		const char *pg_http;
		const char *boot;		/* pg_http's default, as text */
		GucContext	context;
	}			map[] = {
		{"pg_net.database_name", "pg_http.worker_databases", "postgres", PGC_POSTMASTER},
		{"pg_net.batch_size", "pg_http.worker_max_inflight", "128", PGC_SIGHUP},
		{"pg_net.ttl", "pg_http.queue_retention", "604800", PGC_SIGHUP},
	};

	for (int i = 0; i < (int) lengthof(map); i++)
	{
		const char *v = GetConfigOption(map[i].pg_net, true, false);
		const char *value = map[i].boot;

		if (map[i].context == PGC_POSTMASTER && !process_shared_preload_libraries_in_progress)
			continue;
		/* pg_net itself is loaded: its settings are its own */
		if (v != NULL && !(GetConfigOptionFlags(map[i].pg_net, true) & GUC_CUSTOM_PLACEHOLDER))
			continue;
		if (v != NULL && v[0] != '\0' && !HttpSettingFromConfiguration(map[i].pg_net))
			elog(LOG, "pg_http: ignoring %s: only its value in the configuration files is used",
				 map[i].pg_net);
		else if (v != NULL && v[0] != '\0')
		{
			if (i == 1)
			{
				char	   *end;
				long		n = strtol(v, &end, 10);

				if (*end != '\0' || n < 1)
				{
					elog(LOG, "pg_http: ignoring pg_net.batch_size \"%s\": not a positive whole number", v);
					continue;
				}
				value = psprintf("%ld", Min(n, 256));
			}
			else if (i == 2)
			{
				int64		secs = interval_text_seconds(v);

				if (secs < 1 || secs > INT_MAX)
				{
					elog(LOG, "pg_http: ignoring pg_net.ttl \"%s\": not an interval from 1 s to 68 years", v);
					continue;
				}
				value = psprintf(INT64_FORMAT, secs);
			}
			else
				value = v;
		}
		(void) set_config_option(map[i].pg_http, value, map[i].context, PGC_S_DYNAMIC_DEFAULT,
								 GUC_ACTION_SET, true, WARNING, false);
	}
}
