/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The settings snapshot a request carries.
 *
 * Settings are read once, when a request is made, and copied into it
 * (HttpRequest.set): the policy, redirects, the resolver and the transports
 * read that copy, never the settings themselves.  A request therefore ends
 * under the rules it started with, even in a delivery worker where a reload
 * lands between two steps of the engine with exchanges in flight.
 *
 * The backend keeps one current snapshot, rebuilt only when a pg_http
 * setting changed (every assign hook bumps HttpSettingsGeneration), so
 * making a request costs one copy of a small flat block.
 *
 * A delivery worker makes requests for many roles: before it makes one
 * role's, HttpSettingsApplyRole gives the settings the values a new session
 * of that role in this database would have now, so the policy that judges
 * a queued request is the one that would judge the same call made by its
 * owner today.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "netaddr.h"
#include "settings.h"

#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

/* Bumped by the assign hook of every setting a snapshot holds. */
uint64		HttpSettingsGeneration = 1;

static HttpSettings *current = NULL;
static uint64 current_generation = 0;

/* The fewest idle connections a snapshot keeps (a delivery worker's). */
static int	pool_min = 0;

/* The parsed host lists: the settings' "extra" (freed by guc). */
static HttpRuleList *allowed_rules = NULL;
static HttpRuleList *denied_rules = NULL;

/*
 * Check hook of pg_http.allowed_hosts and pg_http.denied_hosts: parse the
 * rule list once, into the setting's "extra"; false with a GUC error on bad
 * input.
 */
bool
HttpHostListCheck(char **newval, void **extra, GucSource source)
{
	const char *err = NULL;
	size_t		errpos = 0;
	int			n = HttpHostRulesParse(*newval, NULL, 0, &err, &errpos);
	HttpRuleList *r;

	if (n < 0)
	{
		size_t		len = strcspn(*newval + errpos, ",");

		GUC_check_errdetail("Entry \"%.*s\": %s.", (int) len, *newval + errpos, err);
		return false;
	}
	/* guc frees "extra" itself: it must come from its allocator */
	r = HttpGucMalloc(offsetof(HttpRuleList, rules) + sizeof(HttpHostRule) * Max(n, 1));
	if (r == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	r->n = HttpHostRulesParse(*newval, r->rules, n, &err, &errpos);
	*extra = r;
	return true;
}

/* Assign hook of pg_http.allowed_hosts. */
void
HttpAllowedHostsAssign(const char *newval, void *extra)
{
	allowed_rules = extra;
	HttpSettingsGeneration++;
}

/* Assign hook of pg_http.denied_hosts. */
void
HttpDeniedHostsAssign(const char *newval, void *extra)
{
	denied_rules = extra;
	HttpSettingsGeneration++;
}

/* Bytes a rule list takes in a snapshot. */
static Size
rules_size(const HttpRuleList *r)
{
	return MAXALIGN(offsetof(HttpRuleList, rules) + sizeof(HttpHostRule) * (r ? r->n : 0));
}

/* Copy a rule list to *p (NULL copies as empty) and advance *p. */
static const HttpRuleList *
put_rules(char **p, const HttpRuleList *r)
{
	HttpRuleList *out = (HttpRuleList *) *p;

	out->n = r ? r->n : 0;
	if (out->n > 0)
		memcpy(out->rules, r->rules, sizeof(HttpHostRule) * r->n);
	*p += rules_size(r);
	return out;
}

/* Copy a string to *p ("" for NULL) and advance *p. */
static const char *
put_string(char **p, const char *s)
{
	size_t		n = s ? strlen(s) : 0;
	char	   *out = *p;

	memcpy(out, s ? s : "", n);
	out[n] = '\0';
	*p += n + 1;
	return out;
}

/* Build a snapshot of the settings as they are now, in TopMemoryContext. */
static HttpSettings *
settings_build(void)
{
	const HttpRuleList *allowed = allowed_rules;
	const HttpRuleList *denied = denied_rules;
	const char *strings[] = {http_ca_file, http_client_cert, http_client_key, http_proxy,
		http_proxy_secret, http_secrets_dir};
	Size		size = MAXALIGN(sizeof(HttpSettings)) + rules_size(allowed) + rules_size(denied);
	HttpSettings *s;
	char	   *p;

	for (size_t i = 0; i < lengthof(strings); i++)
		size += (strings[i] ? strlen(strings[i]) : 0) + 1;
	s = MemoryContextAllocZero(TopMemoryContext, size);
	s->size = size;
	s->max_header_bytes = http_max_header_bytes;
	s->max_headers = http_max_headers;
	s->max_url_length = http_max_url_length;
	s->max_timeout_ms = http_max_timeout_ms;
	s->keepalive_idle_ms = http_keepalive_idle_ms;
	s->pool_size = Max(http_pool_size, pool_min);
	s->dns_cache_ttl_ms = http_dns_cache_ttl_ms;
	s->proxy_from_environment = http_proxy_from_environment;

	/* rule lists first: they need the alignment the strings would spoil */
	p = (char *) s + MAXALIGN(sizeof(HttpSettings));
	s->allowed = put_rules(&p, allowed);
	s->denied = put_rules(&p, denied);
	s->ca_file = put_string(&p, http_ca_file);
	s->client_cert = put_string(&p, http_client_cert);
	s->client_key = put_string(&p, http_client_key);
	s->proxy = put_string(&p, http_proxy);
	s->proxy_secret = put_string(&p, http_proxy_secret);
	s->secrets_dir = put_string(&p, http_secrets_dir);
	Assert(p <= (char *) s + size);
	return s;
}

/*
 * The current settings as a snapshot, rebuilt only after a change.  The
 * result belongs to this file and changes with the next setting change:
 * a request keeps an HttpSettingsCopy of it, never the pointer itself.
 */
const HttpSettings *
HttpSettingsCurrent(void)
{
	if (current == NULL || current_generation != HttpSettingsGeneration)
	{
		HttpSettings *s = settings_build();

		if (current != NULL)
			pfree(current);
		current = s;
		current_generation = HttpSettingsGeneration;
	}
	return current;
}

/*
 * Make the pool of every request made from now on keep at least n idle
 * connections, whatever pg_http.pool_size says: a process parameter of the
 * delivery worker, not a setting.  Never throws.
 */
void
HttpSettingsSetPoolMin(int n)
{
	if (pool_min != n)
	{
		pool_min = n;
		HttpSettingsGeneration++;
	}
}

/* Rebase a pointer into src's block onto the same place in dst's. */
#define REBASE(dst, src, ptr) \
	((void *) ((char *) (dst) + ((const char *) (ptr) - (const char *) (src))))

/*
 * A copy of snapshot s in CurrentMemoryContext, with its inner pointers
 * pointing into the copy.  May throw (out of memory).
 */
HttpSettings *
HttpSettingsCopy(const HttpSettings *s)
{
	HttpSettings *c = palloc(s->size);

	memcpy(c, s, s->size);
	c->ca_file = REBASE(c, s, s->ca_file);
	c->client_cert = REBASE(c, s, s->client_cert);
	c->client_key = REBASE(c, s, s->client_key);
	c->proxy = REBASE(c, s, s->proxy);
	c->proxy_secret = REBASE(c, s, s->proxy_secret);
	c->secrets_dir = REBASE(c, s, s->secrets_dir);
	c->allowed = REBASE(c, s, s->allowed);
	c->denied = REBASE(c, s, s->denied);
	return c;
}

/* ------------------------------------------------------------------ */
/* A role's settings, as a new session of it would have them */

/*
 * The settings that shape or judge a request: a delivery worker (and the
 * callback worker) applies a role's values of these before making that
 * role's requests.  The rest (pool sizes, worker settings) belong to the
 * process that runs the engine.
 */
static const char *const role_settings[] = {
	"pg_http.timeout", "pg_http.connect_timeout", "pg_http.user_agent",
	"pg_http.max_response_bytes", "pg_http.max_header_bytes", "pg_http.max_headers",
	"pg_http.max_redirects", "pg_http.keepalive", "pg_http.keepalive_idle",
	"pg_http.dns_cache_ttl", "pg_http.allowed_hosts", "pg_http.denied_hosts",
	"pg_http.ca_file", "pg_http.client_cert", "pg_http.client_key", "pg_http.proxy",
	"pg_http.proxy_secret",
	"pg_http.proxy_from_environment", "pg_http.acl_superuser_bypass",
	"pg_http.max_timeout", "pg_http.max_url_length", "pg_http.callback_timeout",
};
#define N_ROLE_SETTINGS lengthof(role_settings)

/* Boot values overlaid with the configuration files', per role_settings. */
static char *base_values[N_ROLE_SETTINGS];
static bool base_valid = false;

/* Index of a setting name in role_settings, or -1. */
static int
role_setting_index(const char *name)
{
	for (size_t i = 0; i < N_ROLE_SETTINGS; i++)
		if (pg_strcasecmp(name, role_settings[i]) == 0)
			return (int) i;
	return -1;
}

/* The configuration files changed (a reload): read them again when needed. */
void
HttpSettingsBaseStale(void)
{
	base_valid = false;
}

/*
 * Read the value each setting has before any database or role setting: its
 * boot value, or what the configuration files (postgresql.conf, ALTER
 * SYSTEM) say now.  A worker's own values cannot serve: they include the
 * database settings as they were when it connected, and a value that a
 * later ALTER DATABASE ... RESET removed would stay with it forever.
 */
static void
base_load(void)
{
	MemoryContext old;
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	old = MemoryContextSwitchTo(TopMemoryContext);
	for (size_t i = 0; i < N_ROLE_SETTINGS; i++)
	{
		if (base_values[i])
			pfree(base_values[i]);
		base_values[i] = NULL;
	}
	MemoryContextSwitchTo(old);

	/* boot values, then the files' (last one wins, as the server reads them) */
	rc = SPI_execute("SELECT name, boot_val FROM pg_catalog.pg_settings"
					 " WHERE name OPERATOR(pg_catalog.~~) 'pg\\_http.%'"
					 " UNION ALL"
					 " SELECT * FROM (SELECT name, setting FROM pg_catalog.pg_file_settings"
					 "   WHERE name OPERATOR(pg_catalog.~~) 'pg\\_http.%' AND error IS NULL"
					 "   ORDER BY seqno) f",
					 true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read the pg_http settings' boot and file values");
	old = MemoryContextSwitchTo(TopMemoryContext);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1);
		char	   *value = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
		int			i = role_setting_index(name);

		if (i < 0)
			continue;
		if (base_values[i])
			pfree(base_values[i]);
		base_values[i] = pstrdup(value ? value : "");
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
	base_valid = true;
}

/*
 * Make the request settings what a new session of role would have in this
 * database now: the boot and configuration file values, then ALTER ROLE
 * ALL / ALTER DATABASE / ALTER ROLE / ALTER ROLE IN DATABASE settings, in
 * that order of precedence.  They are set at a new GUC nest level, whose
 * number is returned: AtEOXact_GUC(false, level) undoes them.  Must run in
 * a transaction; throws if a value no longer passes its setting's checks
 * (the role's requests then fail: a policy that cannot be read is not
 * loosened).
 */
int
HttpSettingsApplyRole(Oid role)
{
	const char *values[N_ROLE_SETTINGS];
	Datum		args[2];
	Oid			types[2] = {OIDOID, OIDOID};
	int			level;
	int			rc;

	if (!base_valid)
		base_load();
	for (size_t i = 0; i < N_ROLE_SETTINGS; i++)
		values[i] = base_values[i];

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	args[0] = ObjectIdGetDatum(MyDatabaseId);
	args[1] = ObjectIdGetDatum(role);
	/* lowest precedence first: each later array overrides */
	rc = SPI_execute_with_args("SELECT setconfig FROM pg_catalog.pg_db_role_setting"
							   " WHERE setdatabase OPERATOR(pg_catalog.=) ANY (ARRAY[0, $1]::pg_catalog.oid[])"
							   "   AND setrole OPERATOR(pg_catalog.=) ANY (ARRAY[0, $2]::pg_catalog.oid[])"
							   " ORDER BY setrole OPERATOR(pg_catalog.<>) 0, setdatabase OPERATOR(pg_catalog.<>) 0",
							   2, types, args, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_db_role_setting");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
		ArrayType  *a;
		Datum	   *elems;
		int			n;

		if (isnull)
			continue;
		a = DatumGetArrayTypeP(d);
		deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &n);
		for (int k = 0; k < n; k++)
		{
			char	   *name;
			char	   *value;
			int			i;

			ParseLongOption(TextDatumGetCString(elems[k]), &name, &value);
			if (value != NULL && (i = role_setting_index(name)) >= 0)
				values[i] = value;
		}
	}

	level = NewGUCNestLevel();
	for (size_t i = 0; i < N_ROLE_SETTINGS; i++)
		if (values[i] != NULL)
			(void) set_config_option(role_settings[i], values[i], PGC_SUSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, ERROR, false);
	SPI_finish();
	return level;
}

/*
 * Pin search_path to pg_catalog, pg_temp at a new GUC nest level, for SQL
 * that pg_http runs with rights the caller does not have (as the bootstrap
 * superuser, or in a worker): no function or operator a role created can
 * stand in for a built-in one there.  Returns the level, for
 * HttpUnpinSearchPath; an error in between undoes it with the transaction.
 */
int
HttpPinSearchPath(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/* Give search_path back after HttpPinSearchPath. */
void
HttpUnpinSearchPath(int level)
{
	AtEOXact_GUC(true, level);
}

/*
 * Run SPI as pg_http's own code: as the bootstrap superuser, in a
 * restricted context (callers may not read or write pg_http's tables; its
 * code must), with search_path pinned, connected to SPI.  An error before
 * HttpSpiLeave is undone with the (sub)transaction.
 */
void
HttpSpiEnter(HttpSpiScope *s)
{
	GetUserIdAndSecContext(&s->userid, &s->sec);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID,
						   s->sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	s->level = HttpPinSearchPath();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/* Back to the caller's user and search_path, SPI finished. */
void
HttpSpiLeave(HttpSpiScope *s)
{
	SPI_finish();
	HttpUnpinSearchPath(s->level);
	SetUserIdAndSecContext(s->userid, s->sec);
}

/* ------------------------------------------------------------------ */
/* Proxies */

/* The first of two environment variables that is set and not empty. */
static const char *
env_either(const char *a, const char *b)
{
	const char *v = getenv(a);

	if (v == NULL || v[0] == '\0')
		v = getenv(b);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * Does a no_proxy list name host?  Entries are separated by commas or
 * spaces; "*" names every host; any other entry names that host and every
 * name below it (a leading dot changes nothing; "example.com" covers
 * "api.example.com"), and an address entry that literal address.  Ranges
 * (CIDR) are not understood: such an entry names nothing.
 */
static bool
no_proxy_covers(const char *list, const char *host)
{
	size_t		hlen = strlen(host);
	const char *p = list;

	while (*p)
	{
		size_t		n;
		const char *e;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		n = strcspn(p, ", \t");
		e = p;
		p += n;
		if (n == 0)
			continue;
		if (n == 1 && e[0] == '*')
			return true;
		if (e[0] == '.')
		{
			e++;
			n--;
		}
		if (n >= 2 && e[0] == '[' && e[n - 1] == ']')
		{
			e++;
			n -= 2;
		}
		if (n == 0 || memchr(e, '/', n) != NULL)
			continue;
		if ((hlen == n && pg_strncasecmp(host, e, n) == 0) ||
			(hlen > n && host[hlen - n - 1] == '.' && pg_strncasecmp(host + hlen - n, e, n) == 0))
			return true;
	}
	return false;
}

/*
 * The proxy a request to host goes through, or NULL to connect directly
 * (and be judged by the address guard like any direct connection).
 * pg_http.proxy, when set, serves every request: the environment is not
 * read at all, NO_PROXY included.  Otherwise, only with
 * pg_http.proxy_from_environment on, the server's environment decides, the
 * same way for every transport: http_proxy or HTTP_PROXY for http,
 * https_proxy or HTTPS_PROXY for https, else all_proxy or ALL_PROXY; and
 * no_proxy or NO_PROXY names hosts reached directly.
 */
const char *
HttpProxyFor(const HttpSettings *set, bool tls, const char *host)
{
	const char *proxy;
	const char *no_proxy;

	if (set->proxy[0] != '\0')
		return set->proxy;
	if (!set->proxy_from_environment)
		return NULL;
	proxy = tls ? env_either("https_proxy", "HTTPS_PROXY") : env_either("http_proxy", "HTTP_PROXY");
	if (proxy == NULL)
		proxy = env_either("all_proxy", "ALL_PROXY");
	if (proxy == NULL)
		return NULL;
	no_proxy = env_either("no_proxy", "NO_PROXY");
	if (no_proxy != NULL && no_proxy_covers(no_proxy, host))
		return NULL;
	return proxy;
}
