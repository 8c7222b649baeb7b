/*-------------------------------------------------------------------------
 *
 * claim.c
 *	  How a delivery worker takes queued requests: claim them fairly and
 *	  make them as their owners.
 *
 * The worker is a server for many roles at once, so everything here keeps
 * one request's trouble to that request:
 *
 * - The claim shares the worker's slots between the roles with due work:
 *   each gets at most its share of the requests in flight, and rows are
 *   taken from each role's own backlog, so one role's 100,000 requests to
 *   a host that never answers do not stand in front of another's.
 * - A request is made, and judged by the policy, under the settings its
 *   owner would have in a new session now (HttpSettingsApplyRole) and as
 *   that role; whatever fails there fails that request (each in its own
 *   subtransaction), or that owner's requests.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "engine.h"
#include "exchange.h"
#include "hostctl.h"
#include "queue.h"
#include "request.h"
#include "settings.h"
#include "worker.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"

/* ------------------------------------------------------------------ */
/* Shares: requests in flight per host and per owner */

static ShareCount *
share_get(HTAB *h, const char *key, bool create)
{
	bool		found;
	ShareCount *s = hash_search(h, key, create ? HASH_ENTER : HASH_FIND, &found);

	if (s != NULL && !found)
		s->n = 0;
	return s;
}

static int
share_of(HTAB *h, const char *key)
{
	ShareCount *s = share_get(h, key, false);

	return s ? s->n : 0;
}

static void
share_drop(HTAB *h, const char *key)
{
	ShareCount *s = share_get(h, key, false);

	if (s && --s->n <= 0)
		hash_search(h, key, HASH_REMOVE, NULL);
}

/* The owner's key in WorkerState.owners. */
static void
owner_key(Oid owner, char *key)
{
	memset(key, 0, HOST_KEY_LEN);
	snprintf(key, HOST_KEY_LEN, "%u", owner);
}

/* A delivery no longer counts in its host's and owner's shares. */
static void
share_leave(WorkerState *ws, Delivery *d)
{
	char		key[HOST_KEY_LEN];

	if (!d->counted)
		return;
	d->counted = false;
	if (share_of(ws->hosts, d->host) >= http_worker_host_concurrency)
		ws->freed_full_host = true;
	share_drop(ws->hosts, d->host);
	owner_key(d->owner, key);
	share_drop(ws->owners, key);
}

/* Forget a delivery: its memory, and its place in the shares. */
void
DeliveryFree(WorkerState *ws, Delivery *d)
{
	share_leave(ws, d);
	MemoryContextDelete(d->x.cxt);
}

/* ------------------------------------------------------------------ */
/* Making the requests, as their owners */

/* Fail d (unsent) with a copied error; a failure it has already stands. */
static void
fail_with_error(Delivery *d, ErrorData *e)
{
	MemoryContext old = MemoryContextSwitchTo(d->x.cxt);

	HttpExchangeFail(&d->x, e->sqlerrcode, e->message, e->detail ? "%s" : NULL, e->detail);
	if (e->hint)
		HttpExchangeSetHint(&d->x, e->hint);
	MemoryContextSwitchTo(old);
}

/*
 * Make one claimed row's request (settings and user are the owner's
 * already), in a subtransaction of its own: a document that no longer
 * passes fails this request only.
 */
static void
build_one(Delivery *d, Jsonb *doc, const char *idempotency_key)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		HttpOptions base;
		HttpRequest *req;

		MemoryContextSwitchTo(d->x.cxt);
		HttpOptionsDefault(&base);
		req = HttpRequestFromDocument(doc, &base, true);
		req->tenant = d->owner;
		if (req->cred)
		{
			/* the same webhook-id for every attempt, unique across databases and clusters */
			char		id[80];

			snprintf(id, sizeof(id), "msg_" UINT64_FORMAT "_%u_" INT64_FORMAT,
					 GetSystemIdentifier(), MyDatabaseId, d->id);
			HttpCredentialsSetMessageId(req, id);
		}
		if (idempotency_key && HttpHeaderGet(&req->headers, "Idempotency-Key") == NULL)
			HttpHeaderAdd(&req->headers, "Idempotency-Key", strlen("Idempotency-Key"),
						  idempotency_key, strlen(idempotency_key));
		d->x.req = req;
		MemoryContextSwitchTo(outer);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *e;

		MemoryContextSwitchTo(outer);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		fail_with_error(d, e);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	CurrentResourceOwner = owner;
}

/*
 * Make the requests of one owner's claimed rows: its settings as a new
 * session of it would have them now, as that role, with its privilege to
 * queue checked again.  What fails for the owner (its role is gone, it lost
 * EXECUTE on http.enqueue, a setting of its no longer parses) fails all of
 * them, unsent.
 */
static void
build_for_owner(WorkerState *ws, Oid owner, Delivery **ds, Jsonb **docs, char **keys, int n)
{
	MemoryContext outer = CurrentMemoryContext;
	ResourceOwner resowner = CurrentResourceOwner;
	Oid			save_user;
	int			save_sec;

	GetUserIdAndSecContext(&save_user, &save_sec);
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		int			level;

		MemoryContextSwitchTo(outer);
		if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("the role that queued the request (oid %u) no longer exists", owner)));
		level = HttpSettingsApplyRole(owner);
		SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		if (!OidIsValid(ws->enqueue_fn))
			ws->enqueue_fn = LookupFuncName(list_make2(makeString("http"), makeString("enqueue")),
											1, (Oid[]) {JSONBOID}, false);
		if (HttpFunctionAclCheck(ws->enqueue_fn, owner) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" may no longer queue HTTP requests",
							GetUserNameFromId(owner, false)),
					 errdetail("It lost EXECUTE on http.enqueue(jsonb) after queuing the request.")));
		for (int i = 0; i < n; i++)
			build_one(ds[i], docs[i], keys[i]);
		AtEOXact_GUC(false, level);
		SetUserIdAndSecContext(save_user, save_sec);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *e;

		SetUserIdAndSecContext(save_user, save_sec);
		MemoryContextSwitchTo(outer);
		e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		for (int i = 0; i < n; i++)
			if (ds[i]->x.state != HTTP_X_FAILED)
			{
				ds[i]->x.req = NULL;
				fail_with_error(ds[i], e);
			}
	}
	PG_END_TRY();
	MemoryContextSwitchTo(outer);
	CurrentResourceOwner = resowner;
}

/* ------------------------------------------------------------------ */
/* Claiming */

/* A candidate row of the claim. */
typedef struct Candidate
{
	int64		id;
	char		host[HOST_KEY_LEN];
	bool		taken;
	bool		admitted;		/* holds an admission of its host's controls */
} Candidate;

/* One role's part in a claim. */
typedef struct OwnerClaim
{
	Oid			owner;
	int			room;			/* more requests it may have in flight now */
	Candidate  *cands;			/* its candidates, in queue order */
	int			ncands;
	int			window;			/* rows asked for in the last read */
	int			next;			/* first candidate not yet looked at */
} OwnerClaim;

/* Order owner claims by owner oid (for bsearch). */
static int
owner_claim_cmp(const void *a, const void *b)
{
	Oid			x = ((const OwnerClaim *) a)->owner;
	Oid			y = ((const OwnerClaim *) b)->owner;

	return x < y ? -1 : x > y;
}

/*
 * The hosts a claim skips: those at their share of this worker, and those
 * their controls hold back, until they may go again.
 */
static Datum
exclusion_list(WorkerState *ws)
{
	HASH_SEQ_STATUS seq;
	ShareCount *s;
	Datum	   *full = palloc(sizeof(Datum) * (hash_get_num_entries(ws->hosts) + ws->n_blocked + 1));
	int			nfull = 0;
	TimestampTz now = GetCurrentTimestamp();

	hash_seq_init(&seq, ws->hosts);
	while ((s = hash_seq_search(&seq)) != NULL)
		if (s->n >= http_worker_host_concurrency)
			full[nfull++] = CStringGetTextDatum(s->key);
	ws->host_wake_at = 0;
	for (int i = 0; i < ws->n_blocked;)
	{
		if (ws->blocked[i].until <= now)
		{
			ws->blocked[i] = ws->blocked[--ws->n_blocked];
			continue;
		}
		full[nfull++] = CStringGetTextDatum(ws->blocked[i].key);
		if (ws->host_wake_at == 0 || ws->blocked[i].until < ws->host_wake_at)
			ws->host_wake_at = ws->blocked[i].until;
		i++;
	}
	ws->n_full_hosts = nfull;
	return PointerGetDatum(construct_array(full, nfull, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * The hosts with no room left (args[0]), and the roles with queued rows and
 * how much each may take (claims).  Returns the number of roles.
 */
static int
claim_shares(WorkerState *ws, int nfree, Datum *full_hosts, OwnerClaim **claims)
{
	HASH_SEQ_STATUS seq;
	ShareCount *s;
	int			nowners;
	int			active;
	int			share;
	OwnerClaim *oc;

	*full_hosts = exclusion_list(ws);

	if (SPI_execute_plan(ws->owners_plan, NULL, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_http worker: could not list the roles with queued requests");
	nowners = (int) SPI_processed;
	oc = palloc0(sizeof(OwnerClaim) * Max(nowners, 1));
	for (int i = 0; i < nowners; i++)
	{
		bool		isnull;

		oc[i].owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
	}

	/*
	 * Every role with work, queued or in flight, gets an equal share of the
	 * worker's slots.  A role alone may use all but an eighth of them: a
	 * role that turns up later finds slots free at once rather than one
	 * slot's turn later.
	 */
	active = nowners;
	hash_seq_init(&seq, ws->owners);
	while ((s = hash_seq_search(&seq)) != NULL)
	{
		OwnerClaim	key = {.owner = (Oid) strtoul(s->key, NULL, 10)};

		if (bsearch(&key, oc, nowners, sizeof(OwnerClaim), owner_claim_cmp) == NULL)
			active++;
	}
	if (active <= 1)
		share = Max(http_worker_max_inflight - http_worker_max_inflight / 8, 1);
	else
		share = (http_worker_max_inflight + active - 1) / active;
	for (int i = 0; i < nowners; i++)
	{
		char		key[HOST_KEY_LEN];

		owner_key(oc[i].owner, key);
		oc[i].room = Min(Max(share - share_of(ws->owners, key), 0), nfree);
	}
	*claims = oc;
	return nowners;
}

/*
 * Read the candidates of the roles with room into their claims: a window
 * of each role's due rows, past the hosts in full_hosts.  A second read in
 * the same claim (after hosts turned out to be held back by their
 * controls) appends the rows not already there.
 */
static void
claim_candidates(WorkerState *ws, OwnerClaim *oc, int nowners, Datum full_hosts)
{
	Datum		args[3];
	Datum	   *owners = palloc(sizeof(Datum) * Max(nowners, 1));
	Datum	   *windows = palloc(sizeof(Datum) * Max(nowners, 1));
	int		   *first = palloc(sizeof(int) * Max(nowners, 1));
	int			n = 0;
	uint64		rows;

	for (int i = 0; i < nowners; i++)
	{
		first[i] = oc[i].ncands;
		if (oc[i].room > 0)
		{
			int			window = oc[i].room * 2 + 8;

			owners[n] = ObjectIdGetDatum(oc[i].owner);
			/* look a little past rows whose host turns out to be full */
			windows[n++] = Int32GetDatum(window);
			oc[i].cands = oc[i].cands ?
				repalloc(oc[i].cands, sizeof(Candidate) * (oc[i].ncands + window)) :
				palloc(sizeof(Candidate) * window);
			oc[i].window = window;
		}
		else
			oc[i].window = 0;
	}
	if (n == 0)
		return;
	args[0] = PointerGetDatum(construct_array(owners, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
	args[1] = PointerGetDatum(construct_array(windows, n, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	args[2] = full_hosts;
	if (SPI_execute_plan(ws->candidates_plan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_http worker: could not read due requests");
	rows = SPI_processed;
	for (uint64 r = 0; r < rows; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		OwnerClaim	key = {.owner = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull))};
		OwnerClaim *o = bsearch(&key, oc, nowners, sizeof(OwnerClaim), owner_claim_cmp);
		int64		id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		Candidate  *c;
		bool		seen = false;

		if (o == NULL || o->cands == NULL || o->ncands - first[o - oc] >= o->window)
			continue;
		for (int k = 0; k < first[o - oc] && !seen; k++)
			seen = o->cands[k].id == id;
		if (seen)
			continue;			/* read (and perhaps picked) in an earlier round */
		c = &o->cands[o->ncands++];
		c->id = id;
		text_to_cstring_buffer(DatumGetTextPP(SPI_getbinval(tup, td, 3, &isnull)),
							   c->host, sizeof(c->host));
		c->taken = false;
		c->admitted = false;
	}
}

/* Note that host's controls hold it back until then (a claim skips it till then). */
static void
host_blocked(WorkerState *ws, const char *host, TimestampTz until)
{
	int			i;

	for (i = 0; i < ws->n_blocked; i++)
		if (strcmp(ws->blocked[i].key, host) == 0)
			break;
	if (i == ws->n_blocked)
	{
		if (ws->n_blocked == lengthof(ws->blocked))
			return;				/* it is asked again, row by row */
		strlcpy(ws->blocked[ws->n_blocked++].key, host, HOST_KEY_LEN);
	}
	ws->blocked[i].until = until;
	ws->blocks_noted++;
	if (ws->host_wake_at == 0 || until < ws->host_wake_at)
		ws->host_wake_at = until;
}

/*
 * Pick up to nfree candidates, the roles taking turns one row at a time,
 * each within its room, each host within its own (host_picks counts this
 * claim's picks per host, over its rounds) and its controls.  Returns how
 * many; their ids go to ids.
 */
static int
claim_pick(WorkerState *ws, OwnerClaim *oc, int nowners, int nfree, Datum *ids,
		   bool *held_back, HTAB *host_picks)
{
	int			picked = 0;
	bool		progress = true;
	bool		controlled;

	*held_back = false;
	HttpHostCtlLoad();
	controlled = HttpHostCtlActive();

	while (progress && picked < nfree)
	{
		progress = false;
		for (int i = 0; i < nowners && picked < nfree; i++)
		{
			OwnerClaim *o = &oc[i];

			while (o->room > 0 && o->next < o->ncands)
			{
				Candidate  *c = &o->cands[o->next++];
				ShareCount *hp = share_get(host_picks, c->host, true);

				if (share_of(ws->hosts, c->host) + hp->n >= http_worker_host_concurrency)
				{
					*held_back = true;	/* its host filled up in this claim */
					continue;
				}
				if (controlled)
				{
					TimestampTz at;
					HttpAdmit	a = HttpHostAdmit(c->host, &at, &c->admitted);

					if (a != HTTP_ADMIT_OK)
					{
						/* it stays queued, no attempt spent; asked again then */
						TimestampTz now = GetCurrentTimestamp();

						host_blocked(ws, c->host,
									 a == HTTP_ADMIT_PAUSED ? TimestampTzPlusMilliseconds(now, 1000) :
									 at != 0 ? at : TimestampTzPlusMilliseconds(now, 50));
						continue;
					}
				}
				hp->n++;
				c->taken = true;
				o->room--;
				ids[picked++] = Int64GetDatum(c->id);
				progress = true;
				break;
			}
		}
	}
	return picked;
}

/*
 * Claim up to nfree due requests, shared fairly between their owners and
 * within each host's room; make their requests (unsent: the engine starts
 * them after this transaction commits).  Returns how many were taken.
 */
int
DeliveryClaim(WorkerState *ws, int nfree)
{
	Datum		full_hosts;
	OwnerClaim *oc;
	int			nowners;
	Datum	   *ids;
	int			picked;
	int			blocks;
	bool		held_back;
	HTAB	   *host_picks;
	HASHCTL		hctl;
	Datum		targs[2];
	SPITupleTable *tt;
	int			ntaken;
	Delivery  **ds;
	Jsonb	  **docs;
	char	  **keys;
	Oid		   *owners;

	nowners = claim_shares(ws, nfree, &full_hosts, &oc);
	if (nowners == 0)
	{
		ws->more_work = false;
		return 0;
	}
	claim_candidates(ws, oc, nowners, full_hosts);
	ids = palloc(sizeof(Datum) * Max(nfree, 1));
	blocks = ws->blocks_noted;
	memset(&hctl, 0, sizeof(hctl));
	hctl.keysize = HOST_KEY_LEN;
	hctl.entrysize = sizeof(ShareCount);
	hctl.hcxt = CurrentMemoryContext;
	host_picks = hash_create("pg_http claim hosts", 64, &hctl,
							 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	picked = claim_pick(ws, oc, nowners, nfree, ids, &held_back, host_picks);

	/*
	 * Hosts their controls held back in this claim may have filled a role's
	 * window (its queue order put a limited host's rows first): read again
	 * past them, twice at most, so that its other hosts' rows go now.
	 */
	for (int round = 0; round < 2 && picked < nfree && ws->blocks_noted != blocks; round++)
	{
		bool		more_held;

		blocks = ws->blocks_noted;
		claim_candidates(ws, oc, nowners, exclusion_list(ws));
		picked += claim_pick(ws, oc, nowners, nfree - picked, ids + picked, &more_held, host_picks);
		held_back |= more_held;
	}

	/*
	 * A full window with room left: there may be more.  Rows held back by a
	 * full host come up again when it has room (a finish says so); rows
	 * beyond a role's window are looked for again shortly.
	 */
	ws->more_work = picked >= nfree;
	for (int i = 0; i < nowners; i++)
		if (oc[i].cands && oc[i].ncands >= oc[i].room * 2 + 8 && oc[i].room > 0)
			ws->more_work = true;
	ws->claim_not_before = held_back && picked < nfree ?
		TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 100) : 0;
	if (picked == 0)
		return 0;

	targs[0] = Int32GetDatum(ws->slot);
	targs[1] = PointerGetDatum(construct_array(ids, picked, INT8OID, sizeof(int64),
											   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (SPI_execute_plan(ws->take_plan, targs, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
		elog(ERROR, "pg_http worker: could not mark claimed requests as sending");
	tt = SPI_tuptable;
	ntaken = (int) SPI_processed;
	ds = palloc(sizeof(Delivery *) * Max(ntaken, 1));
	docs = palloc(sizeof(Jsonb *) * Max(ntaken, 1));
	keys = palloc(sizeof(char *) * Max(ntaken, 1));
	owners = palloc(sizeof(Oid) * Max(ntaken, 1));

	for (int r = 0; r < ntaken; r++)
	{
		HeapTuple	tup = tt->vals[r];
		TupleDesc	td = tt->tupdesc;
		bool		isnull;
		MemoryContext cxt;
		MemoryContext old;
		Delivery   *d;
		Datum		idem;
		char		key[HOST_KEY_LEN];

		cxt = AllocSetContextCreate(ws->cxt, "pg_http delivery", ALLOCSET_DEFAULT_SIZES);
		d = MemoryContextAllocZero(cxt, sizeof(Delivery));
		d->x.cxt = cxt;
		d->id = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		d->owner = DatumGetObjectId(SPI_getbinval(tup, td, 2, &isnull));
		text_to_cstring_buffer(DatumGetTextPP(SPI_getbinval(tup, td, 4, &isnull)),
							   d->host, sizeof(d->host));
		d->attempts = DatumGetInt32(SPI_getbinval(tup, td, 5, &isnull));
		d->max_attempts = DatumGetInt32(SPI_getbinval(tup, td, 6, &isnull));
		d->backoff_ms = DatumGetInt32(SPI_getbinval(tup, td, 7, &isnull));
		d->backoff_max_ms = DatumGetInt32(SPI_getbinval(tup, td, 8, &isnull));
		d->retry_4xx = DatumGetBool(SPI_getbinval(tup, td, 9, &isnull));
		d->has_callback = DatumGetBool(SPI_getbinval(tup, td, 11, &isnull));
		idem = SPI_getbinval(tup, td, 10, &isnull);
		old = MemoryContextSwitchTo(cxt);
		keys[r] = isnull ? NULL : TextDatumGetCString(idem);
		docs[r] = DatumGetJsonbPCopy(SPI_getbinval(tup, td, 3, &isnull));
		MemoryContextSwitchTo(old);

		share_get(ws->hosts, d->host, true)->n++;
		owner_key(d->owner, key);
		share_get(ws->owners, key, true)->n++;
		d->counted = true;
		ds[r] = d;
		owners[r] = d->owner;
		d->x.host_checked = true;	/* its host's controls were asked when picked */
	}

	/* admissions go with the rows taken; those another worker took first give theirs back */
	for (int i = 0; i < nowners; i++)
		for (int j = 0; j < oc[i].ncands; j++)
		{
			Candidate  *c = &oc[i].cands[j];
			Delivery   *d = NULL;

			if (!c->taken || !c->admitted)
				continue;
			for (int r = 0; r < ntaken && d == NULL; r++)
				if (ds[r]->id == c->id)
					d = ds[r];
			if (d)
				d->x.host_admitted = MemoryContextStrdup(d->x.cxt, c->host);
			else
				HttpHostRelease(c->host);
		}

	/* make them owner by owner, under each owner's settings */
	for (int r = 0; r < ntaken; r++)
	{
		int			k = 0;
		Delivery  **gd;
		Jsonb	  **gdocs;
		char	  **gkeys;

		if (owners[r] == InvalidOid)
			continue;			/* made with an earlier owner's group */
		gd = palloc(sizeof(Delivery *) * (ntaken - r));
		gdocs = palloc(sizeof(Jsonb *) * (ntaken - r));
		gkeys = palloc(sizeof(char *) * (ntaken - r));
		for (int j = r; j < ntaken; j++)
			if (owners[j] == ds[r]->owner)
			{
				gd[k] = ds[j];
				gdocs[k] = docs[j];
				gkeys[k++] = keys[j];
				owners[j] = InvalidOid;
			}
		build_for_owner(ws, ds[r]->owner, gd, gdocs, gkeys, k);
	}

	for (int r = 0; r < ntaken; r++)
	{
		Delivery   *d = ds[r];

		if (d->x.state == HTTP_X_PENDING)
		{
			/* the engine starts it in the worker's next wait, after commit */
			HttpEngineAdd(ws->engine, &d->x);
			ws->inflight[ws->n_inflight++] = d;
		}
		else
		{
			if (d->x.host_admitted)
			{
				HttpHostRelease(d->x.host_admitted);
				d->x.host_admitted = NULL;
			}
			share_leave(ws, d);
			ws->done[ws->n_done++] = d; /* recorded as failed, never sent */
		}
	}
	return ntaken;
}

/*
 * The engine handed back x, a delivery's exchange: move the delivery from
 * inflight to done (to be recorded), out of its shares.
 */
void
DeliveryFinished(WorkerState *ws, HttpExchange *x)
{
	Delivery   *d = (Delivery *) x;	/* x is its first member */

	for (int i = 0; i < ws->n_inflight; i++)
		if (ws->inflight[i] == d)
		{
			memmove(&ws->inflight[i], &ws->inflight[i + 1],
					sizeof(Delivery *) * (ws->n_inflight - i - 1));
			ws->n_inflight--;
			break;
		}
	share_leave(ws, d);
	ws->done[ws->n_done++] = d;
}

