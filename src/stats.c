/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  http.stats: what HTTP is doing, per database, role, host:port and
 *	  kind (calls and deliveries), like pg_stat_statements.
 *
 * Every exchange the engine hands back is counted once (HttpStatsCount):
 * a call, an error by SQLSTATE class, a timeout, body bytes sent and
 * received, connections opened and reused, and its time in a histogram
 * whose buckets give p50, p95 and p99.  With pg_http preloaded the table
 * is in shared memory, for the whole server; otherwise each backend
 * counts only its own exchanges (http.stats says which in its scope
 * column).  A full table drops the least used entry.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "hostctl.h"
#include "stats.h"

#include <math.h>

#include "miscadmin.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/memutils.h"

#define STAT_SLOTS 1024
#define LOCAL_STAT_SLOTS 128

/* The SQLSTATE classes counted apart (the last count is every other). */
const int	HttpStatClasses[HTTP_STAT_CLASSES - 1] = {
	ERRCODE_CONNECTION_EXCEPTION, ERRCODE_DATA_EXCEPTION,
	ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION, ERRCODE_SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
	ERRCODE_INSUFFICIENT_RESOURCES, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
	ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE, ERRCODE_OPERATOR_INTERVENTION,
};

/* Upper bounds of the latency buckets, in ms (the last is open). */
static const double bucket_ms[HTTP_STAT_BUCKETS] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, 60000, 1e300
};

typedef struct StatSlot
{
	Oid			db;				/* InvalidOid: free */
	Oid			role;
	bool		delivery;
	char		host[HTTP_HOST_KEY_LEN];
	HttpStat	s;
} StatSlot;

typedef struct StatTable
{
	slock_t		mutex;
	int			n;
	TimestampTz reset_at;
	StatSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} StatTable;

static StatTable *shared = NULL;
static StatTable *local = NULL;
static int	last_slot = -1;		/* where this backend counted last */

Size
HttpStatsShmemSize(void)
{
	return add_size(offsetof(StatTable, slots), mul_size(STAT_SLOTS, sizeof(StatSlot)));
}

/* In the shmem startup hook (AddinShmemInitLock held). */
void
HttpStatsShmemInit(void)
{
	bool		found;

	shared = ShmemInitStruct("pg_http stats", HttpStatsShmemSize(), &found);
	if (!found)
	{
		memset(shared, 0, HttpStatsShmemSize());
		SpinLockInit(&shared->mutex);
		shared->n = STAT_SLOTS;
		shared->reset_at = GetCurrentTimestamp();
	}
}

static StatTable *
table(void)
{
	if (shared)
		return shared;
	if (local == NULL)
	{
		local = MemoryContextAllocZero(TopMemoryContext,
									   offsetof(StatTable, slots) + LOCAL_STAT_SLOTS * sizeof(StatSlot));
		SpinLockInit(&local->mutex);
		local->n = LOCAL_STAT_SLOTS;
		local->reset_at = GetCurrentTimestamp();
	}
	return local;
}

/* Is the table the server's (preloaded) or this backend's own? */
bool
HttpStatsShared(void)
{
	return shared != NULL;
}

/* Count x, over and handed back, for role (a call's caller, a delivery's owner). */
void
HttpStatsCount(const HttpExchange *x)
{
	const HttpRequest *req = x->req;
	char		host[HTTP_HOST_KEY_LEN];
	StatTable  *t;
	StatSlot   *slot = NULL;
	StatSlot   *least = NULL;
	bool		delivery;
	Oid			role;
	double		ms = 0;
	int			b;

	if (req == NULL)
		return;
	/* the host it was made for: a redirect's or a token phase's is its own URL's */
	HttpHostKey(req->plain ? req->plain : req, host);
	delivery = req->tenant != InvalidOid;
	role = delivery ? req->tenant : req->role;
	if (x->started != 0 && x->finished >= x->started)
		ms = (double) (x->finished - x->started) / 1000.0;
	for (b = 0; b < HTTP_STAT_BUCKETS - 1 && ms > bucket_ms[b]; b++)
		;

	t = table();
	SpinLockAcquire(&t->mutex);
	/* a backend mostly calls the same host again: try the slot it used last */
	if (last_slot >= 0 && last_slot < t->n)
	{
		StatSlot   *s = &t->slots[last_slot];

		if (s->db == MyDatabaseId && s->role == role && s->delivery == delivery &&
			strcmp(s->host, host) == 0)
			slot = s;
	}
	for (int i = 0; i < t->n && slot == NULL; i++)
	{
		StatSlot   *s = &t->slots[i];

		if (s->db == MyDatabaseId && s->role == role && s->delivery == delivery &&
			strcmp(s->host, host) == 0)
		{
			slot = s;
			break;
		}
		if (least == NULL || s->db == InvalidOid ||
			(least->db != InvalidOid && s->s.calls < least->s.calls))
			least = s;
	}
	if (slot == NULL)
	{
		slot = least;
		memset(slot, 0, sizeof(StatSlot));
		slot->db = MyDatabaseId;
		slot->role = role;
		slot->delivery = delivery;
		strlcpy(slot->host, host, HTTP_HOST_KEY_LEN);
	}
	last_slot = slot - t->slots;
	slot->s.calls++;
	if (x->state == HTTP_X_FAILED)
	{
		int			cls = ERRCODE_TO_CATEGORY(x->err_code);
		int			k;

		if (x->err_code == ERRCODE_HTTP_TIMEOUT)
			slot->s.timeouts++;
		for (k = 0; k < HTTP_STAT_CLASSES - 1 && HttpStatClasses[k] != cls; k++)
			;
		slot->s.err_count[k]++;	/* the last: any other class */
	}
	else if (x->resp.status >= 100)
		slot->s.status_class[Min(x->resp.status / 100, 5) - 1]++;
	slot->s.bytes_sent += req->body ? req->body_len : 0;
	slot->s.bytes_received += x->resp.body.data ? x->resp.body.len : 0;
	slot->s.conns_opened += x->conns_opened;
	slot->s.conns_reused += x->conns_reused;
	slot->s.hist[b]++;
	slot->s.total_ms += ms;
	slot->s.max_ms = Max(slot->s.max_ms, ms);
	SpinLockRelease(&t->mutex);
}

/*
 * A copy of the entries of this database (all of them for a superuser,
 * the role's own otherwise) into *out; returns how many.
 */
int
HttpStatsRead(HttpStatRow **out, TimestampTz *reset_at)
{
	StatTable  *t = table();
	HttpStatRow *rows = palloc0(sizeof(HttpStatRow) * t->n);
	int			n = 0;
	bool		su = superuser();
	Oid			me = GetUserId();

	SpinLockAcquire(&t->mutex);
	*reset_at = t->reset_at;
	for (int i = 0; i < t->n; i++)
	{
		StatSlot   *s = &t->slots[i];

		if (s->db != MyDatabaseId || (!su && s->role != me))
			continue;
		rows[n].role = s->role;
		rows[n].delivery = s->delivery;
		strlcpy(rows[n].host, s->host, HTTP_HOST_KEY_LEN);
		rows[n].s = s->s;
		n++;
	}
	SpinLockRelease(&t->mutex);
	*out = rows;
	return n;
}

/* Forget every entry (of every database). */
void
HttpStatsReset(void)
{
	StatTable  *t = table();

	SpinLockAcquire(&t->mutex);
	for (int i = 0; i < t->n; i++)
		t->slots[i].db = InvalidOid;
	t->reset_at = GetCurrentTimestamp();
	SpinLockRelease(&t->mutex);
}

/* The latency below which a fraction q of the calls took, from the buckets (ms). */
double
HttpStatsQuantile(const HttpStat *s, double q)
{
	int64		need = (int64) ceil(q * (double) s->calls);
	int64		seen = 0;

	if (s->calls == 0)
		return 0;
	need = Max(need, 1);
	for (int b = 0; b < HTTP_STAT_BUCKETS; b++)
	{
		seen += s->hist[b];
		if (seen >= need)
			return b == HTTP_STAT_BUCKETS - 1 ? s->max_ms : Min(bucket_ms[b], s->max_ms);
	}
	return s->max_ms;
}

/* A bucket's name in http.stats.histogram: its upper bound in ms, or "inf". */
const char *
HttpStatsBucketName(int b)
{
	static char buf[32];

	if (b >= HTTP_STAT_BUCKETS - 1)
		return "inf";
	snprintf(buf, sizeof(buf), "%g", bucket_ms[b]);
	return buf;
}
