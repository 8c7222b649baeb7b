/*-------------------------------------------------------------------------
 *
 * dns.c
 *	  Host name resolution for every transport, through the engine.
 *
 * Names are resolved by lib/resolve.c's helper threads; this file connects
 * them to exchanges.  The completion descriptor is watched in the loop
 * (loop.c) with dns_ready as its callback; each finished resolution goes to
 * the exchange that asked for it, or is dropped if that exchange has gone.  The
 * curl transport uses this too (and gives curl the addresses), so every
 * transport resolves the same way: bounded, cancellable, judged once.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "dns.h"
#include "exchange.h"
#include "loop.h"
#include "policy.h"
#include "resolve.h"

#include "storage/fd.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#define DNS_CACHE_SLOTS		32
#define DNS_CACHE_ADDRS		16

/* A resolved name, kept for pg_http.dns_cache_ttl. */
typedef struct DnsCacheEntry
{
	char		host[HTTP_URL_MAX_HOST + 1];
	TimestampTz expires;		/* 0: free slot */
	int			n;
	struct sockaddr_storage addr[DNS_CACHE_ADDRS];
	socklen_t	len[DNS_CACHE_ADDRS];
} DnsCacheEntry;

static DnsCacheEntry *dns_cache = NULL;

/* One resolution asked for by an exchange. */
typedef struct DnsRequest
{
	HttpExchange *x;
	HttpDnsCallback done;
	HttpResolver *resolver;
} DnsRequest;

static bool dns_watched = false;

static void dns_collect(void);
static void dns_ready(void *arg, pgsocket sock, uint32 ready);

/* A fresh cached answer for host, or NULL (ttl_ms 0: the cache is off). */
static DnsCacheEntry *
cache_lookup(const char *host, int ttl_ms)
{
	TimestampTz now;

	if (dns_cache == NULL || ttl_ms <= 0)
		return NULL;
	now = GetCurrentTimestamp();
	for (int i = 0; i < DNS_CACHE_SLOTS; i++)
		if (dns_cache[i].expires > now && strcmp(dns_cache[i].host, host) == 0)
			return &dns_cache[i];
	return NULL;
}

/* Remember an answer (the soonest-expiring slot makes room). */
static void
cache_store(const char *host, struct addrinfo *res, int ttl_ms)
{
	DnsCacheEntry *e;

	if (ttl_ms <= 0 || strlen(host) > HTTP_URL_MAX_HOST)
		return;
	if (dns_cache == NULL)
		dns_cache = MemoryContextAllocZero(TopMemoryContext, sizeof(DnsCacheEntry) * DNS_CACHE_SLOTS);
	e = &dns_cache[0];
	for (int i = 0; i < DNS_CACHE_SLOTS; i++)
	{
		if (strcmp(dns_cache[i].host, host) == 0)
		{
			e = &dns_cache[i];
			break;
		}
		if (dns_cache[i].expires < e->expires)
			e = &dns_cache[i];
	}
	strlcpy(e->host, host, sizeof(e->host));
	e->n = 0;
	for (struct addrinfo *ai = res; ai != NULL && e->n < DNS_CACHE_ADDRS; ai = ai->ai_next)
	{
		if (ai->ai_addrlen > sizeof(e->addr[0]))
			continue;
		memcpy(&e->addr[e->n], ai->ai_addr, ai->ai_addrlen);
		e->len[e->n++] = ai->ai_addrlen;
	}
	e->expires = e->n > 0 ? TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ttl_ms) : 0;
}

/* Answer from the cache: the same callback, at once. */
static void
answer_from_cache(HttpExchange *x, HttpDnsCallback done, DnsCacheEntry *e)
{
	struct addrinfo *ais = palloc0(sizeof(struct addrinfo) * e->n);

	for (int i = 0; i < e->n; i++)
	{
		ais[i].ai_family = e->addr[i].ss_family;
		ais[i].ai_socktype = SOCK_STREAM;
		ais[i].ai_protocol = IPPROTO_TCP;
		ais[i].ai_addrlen = e->len[i];
		ais[i].ai_addr = (struct sockaddr *) &e->addr[i];
		ais[i].ai_next = i + 1 < e->n ? &ais[i + 1] : NULL;
	}
	x->t_dns = GetCurrentTimestamp();
	done(x, 0, ais);
	pfree(ais);
}

/*
 * Resolve x's host for the policy to judge, then call done(x, rc, res):
 * before this returns for an answer from the cache, else from the loop.
 * False with x failed when no resolution could start (descriptors, the
 * pending limit, the role's share of it).  May throw (out of memory).
 */
bool
HttpDnsStart(HttpExchange *x, HttpDnsCallback done)
{
	DnsRequest *d;
	DnsCacheEntry *cached = cache_lookup(x->req->host, x->req->set->dns_cache_ttl_ms);

	if (cached != NULL)
	{
		answer_from_cache(x, done, cached);
		return true;
	}

	if (HttpResolveFd() < 0)
	{
		HttpExchangeFail(x, ERRCODE_INSUFFICIENT_RESOURCES, "could not start host name resolution",
						 "%s.", strerror(errno));
		return false;
	}
	if (!dns_watched)
	{
		/* the completion pipe lives as long as the backend: two descriptors */
		ReserveExternalFD();
		ReserveExternalFD();
		if (!HttpLoopWatch(HttpResolveFd(), HTTP_WATCH_READ, dns_ready, NULL))
			elog(ERROR, "could not watch the resolver's descriptor: %m");
		dns_watched = true;
	}

	/* lookups that returned while nobody was waiting still count: collect them */
	if (HttpResolvePending() >= HTTP_RESOLVE_MAX_PENDING)
		dns_collect();

	d = palloc0(sizeof(DnsRequest));
	d->x = x;
	d->done = done;
	d->resolver = HttpResolveStart(x->req->host, d, x->req->tenant);
	if (d->resolver == NULL)
	{
		if (errno == EDQUOT)
		{
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_RESOURCES, "too many host name resolutions in progress for this role",
							 "The role that queued the request holds its share of the %d resolutions a worker may wait for; the system resolver may not answer for the names it uses.",
							 HTTP_RESOLVE_MAX_PENDING);
			HttpExchangeSetHint(x, "Other roles' requests are not held up by them; check the names this role's requests use.");
		}
		else if (errno == EAGAIN)
		{
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_RESOURCES, "too many host name resolutions in progress",
							 "%d resolutions have not returned yet; the system resolver may be unreachable.",
							 HttpResolvePending());
			HttpExchangeSetHint(x, "Check the DNS configuration of the database server, or use addresses.");
		}
		else
			HttpExchangeFail(x, ERRCODE_INSUFFICIENT_RESOURCES, "could not start host name resolution",
							 "%s.", strerror(errno));
		pfree(d);
		return false;
	}
	x->dns = d;
	return true;
}

/*
 * x no longer waits for its resolution: the answer, when it comes, is
 * dropped.  Never throws.
 */
void
HttpDnsAbandon(HttpExchange *x)
{
	DnsRequest *d = x->dns;

	if (d == NULL)
		return;
	HttpResolveAbandon(d->resolver);
	x->dns = NULL;
}

/*
 * Resolve x's host as HttpDnsStart does (the cache, then the resolver
 * threads), waiting here, outside the engine, at most timeout_ms for done
 * to be called (http.check: it sends nothing, so it runs no engine).  x
 * must be running; it is failed when no resolution could start.  false
 * when none came in time (x is left for the caller to fail, in the words of
 * the deadline it stands for).  Cancellable (throws 57014); may throw (out
 * of memory).
 */
bool
HttpDnsResolveNow(HttpExchange *x, HttpDnsCallback done, long timeout_ms)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);

	HttpLoopInit();				/* no engine made the loop yet, perhaps */
	if (!HttpDnsStart(x, done))
		return true;
	while (x->dns != NULL)
	{
		long		left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

		if (left <= 0)
		{
			HttpDnsAbandon(x);
			return false;
		}
		PG_TRY();
		{
			(void) HttpLoopWait(left);
		}
		PG_CATCH();
		{
			/* a cancel: the answer, when it comes, must find nobody */
			HttpDnsAbandon(x);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}
	return true;
}

/* Hand every finished resolution to its exchange. */
static void
dns_collect(void)
{
	HttpResolver *r;
	MemoryContext old = CurrentMemoryContext;

	while ((r = HttpResolveNextDone()) != NULL)
	{
		DnsRequest *d = HttpResolveOwner(r);
		HttpExchange *x = d->x;
		struct addrinfo *res = NULL;
		int			rc = HttpResolveTake(r, &res);

		/* an exchange that moved on abandoned it, so this one still waits */
		Assert(x->dns == d);
		x->dns = NULL;

		/* allocate where the exchange lives (see HttpExchange.cxt) */
		MemoryContextSwitchTo(GetMemoryChunkContext(d));
		PG_TRY();
		{
			if (rc == 0)
				cache_store(x->req->host, res, x->req->set->dns_cache_ttl_ms);
			if (x->state == HTTP_X_RUNNING)
			{
				x->t_dns = GetCurrentTimestamp();
				d->done(x, rc, res);
			}
		}
		PG_CATCH();
		{
			/* what goes wrong with this answer fails this exchange only */
			HttpExchangeAbsorbError(x, old);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		if (res)
			freeaddrinfo(res);
	}
}

/*
 * The loop's callback for the resolver's completion descriptor.  An ERROR
 * while handling one answer fails that answer's exchange only.
 */
static void
dns_ready(void *arg, pgsocket sock, uint32 ready)
{
	dns_collect();
}

/*
 * An IPv4 or IPv6 answer as a socket address with port; false for another
 * family.  Never throws.
 */
bool
HttpDnsAddress(const struct addrinfo *ai, int port, struct sockaddr_storage *ss)
{
	if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		ai->ai_addrlen > sizeof(*ss))
		return false;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *) ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *) ss)->sin6_port = htons(port);
	return true;
}

/*
 * Judge each address of res (with port) by the policy and call add for the
 * allowed ones, at most max; returns how many.  None allowed: x is failed
 * (the refusal, or no usable address).  May throw (out of memory).
 */
int
HttpDnsFilter(HttpExchange *x, struct addrinfo *res, int port,
			  void (*add) (HttpExchange *x, const struct sockaddr *sa, socklen_t len, void *arg),
			  void *arg, int max)
{
	int			n = 0;

	for (struct addrinfo *ai = res; ai != NULL && n < max; ai = ai->ai_next)
	{
		struct sockaddr_storage ss;

		if (!HttpDnsAddress(ai, port, &ss))
			continue;
		if (HttpPolicyCheckAddress(x, (struct sockaddr *) &ss, false))
		{
			add(x, (struct sockaddr *) &ss, ai->ai_addrlen, arg);
			n++;
		}
		else
			HttpPolicyNoteRefusal(x, (struct sockaddr *) &ss);
	}
	if (n == 0)
	{
		if (x->refused.ss_family != AF_UNSPEC)
			HttpPolicyReportRefusal(x);
		else
			HttpFailResolve(x, "no IPv4 or IPv6 address");
	}
	return n;
}
