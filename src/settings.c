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
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "netaddr.h"

#include "utils/memutils.h"

/* Bumped by the assign hook of every setting a snapshot holds. */
uint64		HttpSettingsGeneration = 1;

static HttpSettings *current = NULL;
static uint64 current_generation = 0;

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
	const HttpRuleList *allowed = HttpPolicyRules(false);
	const HttpRuleList *denied = HttpPolicyRules(true);
	const char *strings[] = {http_ca_file, http_client_cert, http_client_key, http_proxy};
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
	s->keepalive_idle_ms = http_keepalive_idle_ms;
	s->pool_size = http_pool_size;
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
	c->allowed = REBASE(c, s, s->allowed);
	c->denied = REBASE(c, s, s->denied);
	return c;
}
