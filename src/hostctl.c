/*-------------------------------------------------------------------------
 *
 * hostctl.c
 *	  Per-host controls: rate limits (a token bucket), concurrency caps,
 *	  Retry-After, pauses and an automatic circuit breaker.
 *
 * What an administrator sets lives in two tables of each database,
 * http.host_limits (pattern, requests per second, burst, concurrency) and
 * http.host_pauses (pattern); every process keeps them parsed and reads
 * them again after a change (a trigger sends a relcache invalidation).
 * What the hosts do to us (tokens left, requests in flight, a Retry-After,
 * consecutive failures, the breaker's state) lives in one slot per
 * database and host:port: in shared memory when pg_http is preloaded, so
 * that every delivery worker and every backend's synchronous calls share
 * one bucket; in the process's own memory otherwise.
 *
 * A request is admitted (HttpHostAdmit) before it starts: a delivery
 * worker asks when it claims rows (a row held back stays queued, costing
 * no attempt), the engine asks for synchronous calls (which wait up to
 * their deadline).  Every admission is ended once: by its outcome
 * (HttpHostOutcome, which feeds the breaker and Retry-After), or by
 * HttpHostRelease; a process that exits ends those it holds.
 *
 * The breaker (pg_http.breaker_failures consecutive connection failures or
 * 5xx from one host:port, 0: off) opens for pg_http.breaker_open; then one
 * request is let through as a probe: success closes it, failure opens it
 * again.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "hostctl.h"
#include "netaddr.h"
#include "settings.h"

#include <math.h>

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#define HOST_SLOTS 512
#define LOCAL_SLOTS 64

typedef enum BreakerState
{
	BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN
} BreakerState;

/* What one host:port of one database has done to us. */
typedef struct HostSlot
{
	Oid			db;				/* InvalidOid: free */
	char		key[HTTP_HOST_KEY_LEN];
	double		tokens;
	TimestampTz refilled;
	int			inflight;
	TimestampTz blocked_until;	/* Retry-After */
	int			fails;			/* consecutive */
	BreakerState state;
	TimestampTz open_until;
	bool		probing;		/* half open: the probe is out */
	TimestampTz used;			/* last admission (for reuse of slots) */
} HostSlot;

typedef struct HostCtlShared
{
	slock_t		mutex;
	int			n;
	HostSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} HostCtlShared;

static HostCtlShared *shared = NULL;	/* preloaded */
static HostCtlShared *local = NULL; /* otherwise */

/* A parsed definition: a limit or a pause for the hosts a pattern covers. */
typedef struct HostDef
{
	HttpHostRule rule;
	double		rps;			/* 0: no rate limit */
	int			burst;
	int			max_conc;		/* 0: no cap */
	bool		pause;
} HostDef;

static HostDef *defs = NULL;
static int	ndefs = 0;
static bool defs_valid = false;
static bool callback_registered = false;

/* Admissions this process holds (ended at exit). */
typedef struct Held
{
	Oid			db;
	char		key[HTTP_HOST_KEY_LEN];
	int			n;
} Held;

static Held *held = NULL;
static int	nheld = 0;
static int	held_cap = 0;
static bool exit_registered = false;


/* ------------------------------------------------------------------ */
/* Shared memory */

Size
HttpHostCtlShmemSize(void)
{
	return add_size(offsetof(HostCtlShared, slots), mul_size(HOST_SLOTS, sizeof(HostSlot)));
}

/* In the shmem startup hook (AddinShmemInitLock held). */
void
HttpHostCtlShmemInit(void)
{
	bool		found;

	shared = ShmemInitStruct("pg_http hosts", HttpHostCtlShmemSize(), &found);
	if (!found)
	{
		memset(shared, 0, HttpHostCtlShmemSize());
		SpinLockInit(&shared->mutex);
		shared->n = HOST_SLOTS;
	}
}

static HostCtlShared *
table(void)
{
	if (shared)
		return shared;
	if (local == NULL)
	{
		local = MemoryContextAllocZero(TopMemoryContext,
									   offsetof(HostCtlShared, slots) + LOCAL_SLOTS * sizeof(HostSlot));
		SpinLockInit(&local->mutex);
		local->n = LOCAL_SLOTS;
	}
	return local;
}

/* The host key of a request: host:port, an IPv6 address in brackets. */
void
HttpHostKey(const HttpRequest *req, char *key)
{
	if (req->host_kind == HTTP_HOST_IPV6)
		snprintf(key, HTTP_HOST_KEY_LEN, "[%s]:%d", req->host, req->port);
	else
		snprintf(key, HTTP_HOST_KEY_LEN, "%s:%d", req->host, req->port);
}

/* ------------------------------------------------------------------ */
/* Definitions */

static void
defs_invalidate(Datum arg, Oid relid)
{
	defs_valid = false;
}

/*
 * Read this database's definitions if they changed (or were never read).
 * In a transaction; cheap when nothing changed.  Tables that do not exist
 * (an older pg_http, or none in this database) define nothing.
 */
void
HttpHostCtlLoad(void)
{
	Oid			nsp;
	HttpSpiScope spi;
	MemoryContext old;

	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(defs_invalidate, (Datum) 0);
		callback_registered = true;
	}
	AcceptInvalidationMessages();
	if (defs_valid)
		return;
	defs_valid = true;
	if (defs)
		pfree(defs);
	defs = NULL;
	ndefs = 0;
	nsp = get_namespace_oid("http", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("host_limits", nsp)) ||
		!OidIsValid(get_relname_relid("host_pauses", nsp)))
		return;
	PG_TRY();
	{
		HttpSpiEnter(&spi);
		PushActiveSnapshot(GetLatestSnapshot());
		if (SPI_execute("SELECT pattern, requests_per_second, burst, max_concurrency, false"
						"  FROM http.host_limits"
						" UNION ALL SELECT pattern, NULL, NULL, NULL, true FROM http.host_pauses",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read http.host_limit");
		old = MemoryContextSwitchTo(TopMemoryContext);
		defs = palloc0(sizeof(HostDef) * Max(SPI_processed, 1));
		MemoryContextSwitchTo(old);
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			HostDef    *d = &defs[ndefs];
			const char *err;
			size_t		errpos;
			Datum		v;

			if (HttpHostRulesParse(SPI_getvalue(tup, td, 1), &d->rule, 1, &err, &errpos) != 1)
				continue;		/* checked when set; one that no longer parses sets nothing */
			v = SPI_getbinval(tup, td, 2, &isnull);
			d->rps = isnull ? 0 : DatumGetFloat8(v);
			v = SPI_getbinval(tup, td, 3, &isnull);
			d->burst = isnull ? 1 : DatumGetInt32(v);
			v = SPI_getbinval(tup, td, 4, &isnull);
			d->max_conc = isnull ? 0 : DatumGetInt32(v);
			d->pause = DatumGetBool(SPI_getbinval(tup, td, 5, &isnull));
			ndefs++;
		}
		PopActiveSnapshot();
		HttpSpiLeave(&spi);
	}
	PG_CATCH();
	{
		defs_valid = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Is anything controlled at all (a definition, or the breaker)? */
bool
HttpHostCtlActive(void)
{
	return ndefs > 0 || http_breaker_failures > 0;
}

/* How specific a rule is: an exact name or address beats *.domain beats *. */
static int
rule_rank(const HttpHostRule *r)
{
	switch (r->kind)
	{
		case HTTP_RULE_NAME:
			return 3000;
		case HTTP_RULE_NET:
			return 2000 + r->prefix;
		case HTTP_RULE_SUFFIX:
			return 1000 + (int) strlen(r->name);
		default:
			return 0;
	}
}

/* Does rule r cover host key key ("host:port", "[v6]:port")? */
bool
HttpHostKeyMatches(const HttpHostRule *r, const char *key)
{
	char		host[HTTP_HOST_KEY_LEN];
	const char *colon = strrchr(key, ':');
	int			port = colon ? atoi(colon + 1) : 0;
	size_t		len = colon ? (size_t) (colon - key) : strlen(key);
	HttpUrl		u;
	size_t		epos;

	if (key[0] == '[' && len >= 2)
	{
		key++;
		len -= 2;
	}
	memcpy(host, key, len);
	host[len] = '\0';
	memset(&u, 0, sizeof(u));
	if (HttpUrlParseHost(host, len, &u, &epos) != HTTP_URL_OK)
		return false;
	if (u.host_kind == HTTP_HOST_NAME || r->kind == HTTP_RULE_ANY)
		return HttpHostRuleMatchName(r, host, port);
	else
	{
		HttpAddr	a;

		a.family = u.host_kind == HTTP_HOST_IPV4 ? 4 : 6;
		memcpy(a.a, u.addr, 16);
		return HttpHostRuleMatchAddr(r, &a, port);
	}
}

/* The limit that applies to key (the most specific), and whether a pause covers it. */
static const HostDef *
limit_for(const char *key, bool *paused)
{
	const HostDef *best = NULL;

	*paused = false;
	for (int i = 0; i < ndefs; i++)
	{
		const HostDef *d = &defs[i];

		if (!HttpHostKeyMatches(&d->rule, key))
			continue;
		if (d->pause)
			*paused = true;
		else if (best == NULL || rule_rank(&d->rule) > rule_rank(&best->rule))
			best = d;
	}
	return best;
}

/* ------------------------------------------------------------------ */
/* Slots (mutex held) */

static HostSlot *
slot_find(HostCtlShared *t, const char *key, bool create, TimestampTz now)
{
	HostSlot   *free_slot = NULL;
	HostSlot   *oldest = NULL;

	for (int i = 0; i < t->n; i++)
	{
		HostSlot   *s = &t->slots[i];

		if (s->db == MyDatabaseId && strcmp(s->key, key) == 0)
			return s;
		if (s->db == InvalidOid)
		{
			if (free_slot == NULL)
				free_slot = s;
		}
		else if (s->inflight == 0 && s->state == BREAKER_CLOSED && s->blocked_until <= now &&
				 (oldest == NULL || s->used < oldest->used))
			oldest = s;			/* nothing of it would be lost */
	}
	if (!create)
		return NULL;
	if (free_slot == NULL)
		free_slot = oldest;
	if (free_slot == NULL)
		return NULL;			/* all busy: not controlled (fails open) */
	memset(free_slot, 0, sizeof(HostSlot));
	free_slot->db = MyDatabaseId;
	strlcpy(free_slot->key, key, HTTP_HOST_KEY_LEN);
	free_slot->refilled = now;
	free_slot->tokens = -1;		/* a full bucket at the first admission */
	return free_slot;
}

/* ------------------------------------------------------------------ */
/* Admissions held by this process */

static void
release_all_held(int code, Datum arg)
{
	HostCtlShared *t = shared;

	if (t == NULL)
		return;
	SpinLockAcquire(&t->mutex);
	for (int i = 0; i < nheld; i++)
		for (int j = 0; j < t->n; j++)
			if (t->slots[j].db == held[i].db && strcmp(t->slots[j].key, held[i].key) == 0)
			{
				t->slots[j].inflight = Max(t->slots[j].inflight - held[i].n, 0);
				t->slots[j].probing = false;
				break;
			}
	SpinLockRelease(&t->mutex);
	nheld = 0;
}

static void
held_add(const char *key, int delta)
{
	int			i;

	for (i = 0; i < nheld; i++)
		if (held[i].db == MyDatabaseId && strcmp(held[i].key, key) == 0)
			break;
	if (i == nheld)
	{
		if (delta < 0)
			return;
		if (nheld == held_cap)
		{
			held_cap = Max(16, held_cap * 2);
			held = held ? repalloc(held, sizeof(Held) * held_cap)
				: MemoryContextAlloc(TopMemoryContext, sizeof(Held) * held_cap);
		}
		held[nheld].db = MyDatabaseId;
		strlcpy(held[nheld].key, key, HTTP_HOST_KEY_LEN);
		held[nheld].n = 0;
		nheld++;
	}
	held[i].n += delta;
	if (held[i].n <= 0)
		held[i] = held[--nheld];
	if (!exit_registered && shared)
	{
		before_shmem_exit(release_all_held, (Datum) 0);
		exit_registered = true;
	}
}

/* ------------------------------------------------------------------ */
/* Admitting and ending */

/*
 * May a request to key start now?  OK takes a token and counts it in
 * flight when anything controls the host (*counted: end it with
 * HttpHostOutcome or HttpHostRelease); WAIT says when
 * to ask again (0: when a request in flight ends, or soon); PAUSED and
 * OPEN say why not.  Never throws but for memory.
 */
HttpAdmit
HttpHostAdmit(const char *key, TimestampTz *retry_at, bool *counted)
{
	HostCtlShared *t;
	HostSlot   *s;
	bool		paused;
	const HostDef *lim = limit_for(key, &paused);
	TimestampTz now = GetCurrentTimestamp();
	HttpAdmit	a = HTTP_ADMIT_OK;

	*retry_at = 0;
	*counted = false;
	if (!paused && lim == NULL && http_breaker_failures <= 0)
		return HTTP_ADMIT_OK;	/* nothing to count */

	t = table();
	SpinLockAcquire(&t->mutex);
	s = slot_find(t, key, true, now);
	if (s == NULL || paused)
	{
		/* a paused host gets a slot too, so that http.host_states shows it */
		if (s)
			s->used = now;
		SpinLockRelease(&t->mutex);
		return paused ? HTTP_ADMIT_PAUSED : HTTP_ADMIT_OK;
	}
	if (s->state == BREAKER_OPEN && http_breaker_failures > 0)
	{
		if (now < s->open_until)
		{
			*retry_at = s->open_until;
			a = HTTP_ADMIT_OPEN;
		}
		else
			s->state = BREAKER_HALF_OPEN;
	}
	else if (http_breaker_failures <= 0)
		s->state = BREAKER_CLOSED;
	if (a == HTTP_ADMIT_OK && s->state == BREAKER_HALF_OPEN && s->probing)
	{
		*retry_at = TimestampTzPlusMilliseconds(now, 100);	/* the probe decides */
		a = HTTP_ADMIT_WAIT;
	}
	if (a == HTTP_ADMIT_OK && s->blocked_until > now)
	{
		*retry_at = s->blocked_until;
		a = HTTP_ADMIT_WAIT;
	}
	if (a == HTTP_ADMIT_OK && lim && lim->max_conc > 0 && s->inflight >= lim->max_conc)
		a = HTTP_ADMIT_WAIT;
	if (a == HTTP_ADMIT_OK && lim && lim->rps > 0)
	{
		double		burst = Max(lim->burst, 1);
		long		secs;
		int			usecs;

		TimestampDifference(s->refilled, now, &secs, &usecs);
		s->tokens = s->tokens < 0 ? burst :
			Min(burst, s->tokens + (secs + usecs / 1e6) * lim->rps);
		s->refilled = now;
		if (s->tokens < 1.0)
		{
			*retry_at = TimestampTzPlusMilliseconds(now, (int64) ceil((1.0 - s->tokens) * 1000.0 / lim->rps));
			a = HTTP_ADMIT_WAIT;
		}
		else
			s->tokens -= 1.0;
	}
	if (a == HTTP_ADMIT_OK)
	{
		s->inflight++;
		s->used = now;
		if (s->state == BREAKER_HALF_OPEN)
			s->probing = true;
	}
	SpinLockRelease(&t->mutex);
	if (a == HTTP_ADMIT_OK)
	{
		held_add(key, 1);
		*counted = true;
	}
	return a;
}

/* End an admission without an outcome (a claimed row not taken, say). */
void
HttpHostRelease(const char *key)
{
	HostCtlShared *t = table();
	HostSlot   *s;

	SpinLockAcquire(&t->mutex);
	s = slot_find(t, key, false, 0);
	if (s)
	{
		s->inflight = Max(s->inflight - 1, 0);
		if (s->state == BREAKER_HALF_OPEN)
			s->probing = false;
	}
	SpinLockRelease(&t->mutex);
	held_add(key, -1);
}

/*
 * End an admission with x's outcome: a connection failure (class 08, a
 * timeout included) or a 5xx counts against the breaker, anything else
 * closes it; a 429 or 503 with Retry-After holds the host back that long
 * (an hour at most), and empties its bucket; a 429 without one empties it.
 */
void
HttpHostOutcome(const char *key, const HttpExchange *x)
{
	HostCtlShared *t = table();
	HostSlot   *s;
	TimestampTz now = GetCurrentTimestamp();
	/* the host's failures: no connection, or a 5xx; a refusal of ours is neither */
	bool		failed = x->state == HTTP_X_FAILED ?
		ERRCODE_TO_CATEGORY(x->err_code) == ERRCODE_CONNECTION_EXCEPTION :
		x->resp.status >= 500;
	bool		neutral = x->state == HTTP_X_FAILED && !failed;
	double		retry_after = -1;

	if (x->state == HTTP_X_DONE && (x->resp.status == 429 || x->resp.status == 503))
		retry_after = HttpRetryAfterSeconds(HttpHeaderGet(&x->resp.headers, "Retry-After"),
											(time_t) timestamptz_to_time_t(now));

	SpinLockAcquire(&t->mutex);
	s = slot_find(t, key, false, now);
	if (s)
	{
		s->inflight = Max(s->inflight - 1, 0);
		if (retry_after >= 0)
		{
			s->blocked_until = TimestampTzPlusMilliseconds(now, (int64) (Min(retry_after, 3600) * 1000));
			s->tokens = 0;
			s->refilled = s->blocked_until;
		}
		else if (x->state == HTTP_X_DONE && x->resp.status == 429)
		{
			/* too many, with no time given: the bucket starts again empty */
			s->tokens = 0;
			s->refilled = now;
		}
		if (http_breaker_failures > 0 && failed)
		{
			s->fails++;
			if (s->state == BREAKER_HALF_OPEN || s->fails >= http_breaker_failures)
			{
				s->state = BREAKER_OPEN;
				s->open_until = TimestampTzPlusMilliseconds(now, http_breaker_open_ms);
			}
			s->probing = false;
		}
		else if (!failed && !neutral)
		{
			s->fails = 0;
			s->state = BREAKER_CLOSED;
			s->probing = false;
		}
	}
	SpinLockRelease(&t->mutex);
	held_add(key, -1);
}

const char *
HttpAdmitWhy(HttpAdmit a)
{
	switch (a)
	{
		case HTTP_ADMIT_PAUSED:
			return "paused";
		case HTTP_ADMIT_OPEN:
			return "circuit open";
		case HTTP_ADMIT_WAIT:
			return "rate limited";
		default:
			return "admitted";
	}
}

/*
 * The slots of this database, with the definitions that apply, into *out
 * (palloc'd); returns how many.  For http.host_states.
 */
int
HttpHostCtlStates(HttpHostState **out)
{
	HostCtlShared *t = table();
	HttpHostState *st = palloc0(sizeof(HttpHostState) * t->n);
	int			n = 0;
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&t->mutex);
	for (int i = 0; i < t->n; i++)
	{
		HostSlot   *s = &t->slots[i];

		if (s->db != MyDatabaseId)
			continue;
		strlcpy(st[n].key, s->key, HTTP_HOST_KEY_LEN);
		st[n].tokens = s->tokens;
		st[n].refilled = s->refilled;
		st[n].inflight = s->inflight;
		st[n].blocked_until = s->blocked_until > now ? s->blocked_until : 0;
		st[n].fails = s->fails;
		st[n].breaker = s->state == BREAKER_OPEN && now >= s->open_until ? "half-open" :
			s->state == BREAKER_OPEN ? "open" : s->state == BREAKER_HALF_OPEN ? "half-open" : "closed";
		st[n].open_until = s->state == BREAKER_OPEN ? s->open_until : 0;
		n++;
	}
	SpinLockRelease(&t->mutex);
	for (int i = 0; i < n; i++)
	{
		bool		paused;
		const HostDef *d = limit_for(st[i].key, &paused);

		st[i].paused = paused;
		st[i].rps = d ? d->rps : 0;
		st[i].burst = d ? d->burst : 0;
		st[i].max_conc = d ? d->max_conc : 0;
		/* the bucket as it is now, not as it was at the last admission */
		if (d && d->rps > 0 && st[i].tokens >= 0)
		{
			long		secs;
			int			usecs;

			TimestampDifference(st[i].refilled, now, &secs, &usecs);
			st[i].tokens = Min((double) Max(d->burst, 1), st[i].tokens + (secs + usecs / 1e6) * d->rps);
		}
		else if (d && d->rps > 0)
			st[i].tokens = Max(d->burst, 1);
	}
	*out = st;
	return n;
}
