/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  Sessions of exchanges driven through the compiled-in transport.
 *
 * A session (HttpEngineBegin) holds the exchanges its caller added and not
 * yet took back.  HttpEngineNext starts them while fewer than max_active
 * run, waits in the loop (loop.c, the only wait), follows redirects hop by
 * hop (redirect.c), fails what runs past its deadline, and hands back each
 * exchange once it is over and released: a slow one holds up nothing else.
 *
 * Whatever way a session ends (success, error, cancel), every exchange it
 * started is handed back to the transport's release(), so no socket, TLS
 * context or library handle outlives it.  Work on one exchange (starting
 * it, a hop, a deadline) runs under a handler that turns an ERROR into that
 * exchange's failure (HttpExchangeAbsorbError).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "dns.h"
#include "engine.h"
#include "exchange.h"
#include "hostctl.h"
#include "stats.h"
#include "loop.h"
#include "redirect.h"
#include "request.h"
#include "settings.h"
#include "transport.h"

#include "miscadmin.h"
#include "utils/memutils.h"

struct HttpEngine
{
	int			max_active;		/* exchanges running at once, at most */
	int			active;			/* started and not yet released */
	HttpExchange **xs;			/* added and not yet taken back, in order */
	int			n;
	int			cap;
	bool		yield;			/* HttpEngineNext returns after this wait */
};

/* The session whose HttpEngineNext is running (they do not nest). */
static HttpEngine *current = NULL;

/*
 * Allocations made for an exchange go to its own context when it has one
 * (the delivery worker frees each exchange's memory on its own).
 */
static inline MemoryContext
exchange_enter(HttpExchange *x)
{
	return x->cxt ? MemoryContextSwitchTo(x->cxt) : CurrentMemoryContext;
}

/* Hand a finished or abandoned exchange back to the transport, once. */
static void
engine_release(HttpEngine *e, HttpExchange *x)
{
	if (x->released)
		return;
	x->released = true;
	e->active--;
	if (x->cred_state)
		HttpCredentialsRelease(x);
	HttpDnsAbandon(x);
	HttpTransportImpl.release(x);
}

/* Hand x to the transport; whatever goes wrong there fails x alone. */
static void
engine_start_one(HttpEngine *e, HttpExchange *x)
{
	MemoryContext old = exchange_enter(x);

	x->state = HTTP_X_RUNNING;
	x->released = false;
	x->connected = false;
	/* each start (a hop, a token phase) has its own time to connect, and phases */
	x->hop_started = GetCurrentTimestamp();
	x->t_dns = x->t_connect = x->t_tls = x->t_first_byte = 0;
	x->connect_deadline = TimestampTzPlusMilliseconds(x->hop_started,
													  x->req->opt.connect_timeout_ms);
	if (x->connect_deadline > x->deadline)
		x->connect_deadline = x->deadline;
	e->active++;
	PG_TRY();
	{
		/* a hop's credentials first (it may become an OAuth token request) */
		if (x->req->cred == NULL || HttpCredentialsApply(x))
			HttpTransportImpl.start(x);
	}
	PG_CATCH();
	{
		HttpExchangeAbsorbError(x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
}

/*
 * May x start, as far as its host's controls go (a synchronous call's: a
 * delivery worker's exchanges were admitted when claimed)?  A paused host
 * or an open breaker fails x at once; a rate limit, a cap or a Retry-After
 * holds it back until x->admit_at (within its deadline).
 */
static bool
engine_admit(HttpExchange *x)
{
	char		key[HTTP_HOST_KEY_LEN];
	TimestampTz at;
	bool		counted;
	HttpAdmit	a;
	MemoryContext old;

	if (!HttpHostCtlActive())
	{
		x->host_checked = true;
		return true;
	}
	HttpHostKey(x->req, key);
	a = HttpHostAdmit(key, &at, &counted);
	if (a == HTTP_ADMIT_OK)
	{
		x->host_checked = true;
		x->held_back = 0;
		if (counted)
			x->host_admitted = MemoryContextStrdup(x->cxt ? x->cxt : CurrentMemoryContext, key);
		return true;
	}
	x->held_back = a;
	x->admit_at = at;
	if (a == HTTP_ADMIT_WAIT)
		return false;
	old = exchange_enter(x);
	if (a == HTTP_ADMIT_PAUSED)
	{
		HttpExchangeFail(x, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						 psprintf("host %s is paused", key),
						 "http.pause() stopped requests to it; http.resume() lets them go again.");
	}
	else
	{
		HttpExchangeFail(x, ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
						 psprintf("circuit breaker of host %s is open", key),
						 "It failed pg_http.breaker_failures times in a row; it is tried again after %s.",
						 timestamptz_to_str(at));
	}
	MemoryContextSwitchTo(old);
	x->released = true;			/* never started */
	return false;
}

/* Start pending exchanges while there is room. */
static void
engine_start_more(HttpEngine *e)
{
	for (int i = 0; i < e->n && e->active < e->max_active; i++)
	{
		HttpExchange *x = e->xs[i];
		TimestampTz now;

		if (x->state != HTTP_X_PENDING)
			continue;
		if (x->started == 0)
		{
			/* its time starts now, even if it waits for a token first */
			now = GetCurrentTimestamp();
			x->started = now;
			x->deadline = TimestampTzPlusMilliseconds(now, x->req->opt.timeout_ms);
			x->connect_deadline = x->deadline;	/* set again when it starts */
		}
		if (!x->host_checked && !engine_admit(x))
			continue;			/* held back by its host's controls, or failed */
		if (x->req->cred && !HttpCredentialsReady(x))
			continue;			/* its OAuth token is being fetched */
		engine_start_one(e, x);
	}
}

/*
 * x is over: release it, and start its redirect's next hop if it has one
 * to follow (within the first request's deadline).  A hop that cannot be
 * prepared fails x alone.  Returns true if x runs again.
 */
static bool
engine_next_hop(HttpEngine *e, HttpExchange *x)
{
	MemoryContext old = exchange_enter(x);
	volatile bool again = false;

	engine_release(e, x);
	PG_TRY();
	{
		again = HttpCredentialsNextStep(x) || HttpRedirectPrepare(x);
	}
	PG_CATCH();
	{
		HttpExchangeAbsorbError(x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (again)
	{
		memset(&x->refused, 0, sizeof(x->refused));
		x->resp.status = 0;
		x->resp.headers.n = 0;
		if (x->req->cred && !HttpCredentialsReady(x))
		{
			/* another exchange is fetching the token it needs: wait for it */
			x->state = HTTP_X_PENDING;
			return true;
		}
		engine_start_one(e, x);
	}
	return again;
}

/*
 * Start what can be started and release what finished (following
 * redirects), until neither changes anything: an exchange may fail inside
 * start() and free its slot for the next.
 */
static void
engine_progress(HttpEngine *e)
{
	bool		changed;

	do
	{
		changed = false;
		engine_start_more(e);
		for (int i = 0; i < e->n; i++)
		{
			HttpExchange *x = e->xs[i];

			while ((x->state == HTTP_X_DONE || x->state == HTTP_X_FAILED) && !x->released)
			{
				changed = true;
				if (!engine_next_hop(e, x))
					break;
			}
		}
	} while (changed && e->active < e->max_active);
}

/* Take back the first exchange that is over, or NULL. */
static HttpExchange *
engine_take_finished(HttpEngine *e)
{
	for (int i = 0; i < e->n; i++)
	{
		HttpExchange *x = e->xs[i];

		if (x->released && x->state != HTTP_X_PENDING && x->state != HTTP_X_RUNNING)
		{
			if (x->host_admitted)
			{
				HttpHostOutcome(x->host_admitted, x);
				x->host_admitted = NULL;
			}
			HttpStatsCount(x);
			memmove(&e->xs[i], &e->xs[i + 1], sizeof(HttpExchange *) * (e->n - i - 1));
			e->n--;
			return x;
		}
	}
	return NULL;
}

/* x's deadline passed, or its connect deadline: fail it (in its context). */
static void
engine_timeout_one(HttpExchange *x, TimestampTz now)
{
	MemoryContext old = exchange_enter(x);

	PG_TRY();
	{
		if (!x->connected && now >= x->connect_deadline && x->connect_deadline < x->deadline)
			HttpFailConnectTimeout(x);
		else if (now >= x->deadline && x->state == HTTP_X_PENDING && x->held_back)
		{
			HttpExchangeFail(x, ERRCODE_HTTP_TIMEOUT, "HTTP request held back by its host's limits past its timeout",
							 "%s %s waited %d ms for the rate limit, concurrency cap or Retry-After of host \"%s\" port %d.",
							 x->req->method, x->req->url, x->req->opt.timeout_ms, x->req->host, x->req->port);
			HttpExchangeSetHint(x, "See http.host_states and http.host_limits; raise the timeout, or the limit.");
		}
		else if (now >= x->deadline)
			HttpFailTimedOut(x);
	}
	PG_CATCH();
	{
		HttpExchangeAbsorbError(x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
}

/* The nearest deadline of a running exchange, the loop's timer, or until. */
static TimestampTz
engine_next_deadline(HttpEngine *e, TimestampTz until)
{
	TimestampTz next = HttpLoopTimer();

	if (until != 0 && (next == 0 || until < next))
		next = until;
	for (int i = 0; i < e->n; i++)
	{
		HttpExchange *x = e->xs[i];
		TimestampTz d;

		if (x->state == HTTP_X_PENDING && x->started != 0 && x->held_back)
			d = Min(x->deadline, x->admit_at ? x->admit_at :
					TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 20));
		else if (x->state == HTTP_X_PENDING && x->started != 0)
			d = x->deadline;	/* waiting for a token */
		else if (x->state != HTTP_X_RUNNING)
			continue;
		else
			d = x->connected ? x->deadline : x->connect_deadline;
		if (next == 0 || d < next)
			next = d;
	}
	return next;
}

/* Milliseconds from now until t (0 if past), rounded up; -1 for t == 0. */
static long
ms_until(TimestampTz now, TimestampTz t)
{
	long		secs;
	int			usecs;

	if (t == 0)
		return -1;
	if (t <= now)
		return 0;
	TimestampDifference(now, t, &secs, &usecs);
	/* round up, or we wake just before the deadline and spin */
	return secs * 1000 + (usecs + 999) / 1000;
}

/*
 * Release every exchange of e still held by the transport, and every
 * admission of its hosts' controls still held.
 */
static void
engine_release_all(HttpEngine *e)
{
	for (int i = 0; i < e->n; i++)
	{
		if (e->xs[i]->state != HTTP_X_PENDING && !e->xs[i]->released)
			engine_release(e, e->xs[i]);
		if (e->xs[i]->host_admitted)
		{
			HttpHostRelease(e->xs[i]->host_admitted);
			e->xs[i]->host_admitted = NULL;
		}
	}
}

/*
 * A new session, in CurrentMemoryContext, running at most max_active
 * exchanges at once.  May throw.
 */
HttpEngine *
HttpEngineBegin(int max_active)
{
	HttpEngine *e = palloc0(sizeof(HttpEngine));

	HttpLoopInit();
	e->max_active = Max(max_active, 1);
	e->cap = 16;
	e->xs = palloc(sizeof(HttpExchange *) * e->cap);
	return e;
}

/*
 * Add x to the session: it starts when a slot is free.  x must be PENDING
 * with its request made, or already failed (refused before the engine ran:
 * it is simply handed back).  May throw (out of memory).
 */
void
HttpEngineAdd(HttpEngine *e, HttpExchange *x)
{
	if (e->n == e->cap)
	{
		e->cap *= 2;
		e->xs = repalloc(e->xs, sizeof(HttpExchange *) * e->cap);
	}
	if (x->state != HTTP_X_PENDING)
		x->released = true;
	e->xs[e->n++] = x;
}

/* Exchanges added and not yet taken back.  Never throws. */
int
HttpEngineCount(const HttpEngine *e)
{
	return e->n;
}

/*
 * Run the session until an exchange is over, and hand it back (released:
 * its outcome is in its state, response and err_* fields).  Returns NULL
 * when max_ms (>= 0) passes first, when nothing is left to run, or, if
 * woken is not NULL, when the latch is set (then *woken is true: a
 * backend's commit woke a delivery worker).  Throws on a cancel or
 * postmaster death, after releasing every exchange of the session.
 */
HttpExchange *
HttpEngineNext(HttpEngine *e, long max_ms, bool *woken)
{
	TimestampTz until = max_ms >= 0 ? TimestampTzPlusMilliseconds(GetCurrentTimestamp(), max_ms) : 0;
	HttpExchange *volatile found = NULL;

	if (woken)
		*woken = false;
	if (current != NULL)
		elog(ERROR, "pg_http engine is already running");
	/* idle connections past their limit go; all of them with keep-alive off */
	HttpTransportImpl.prune(!http_keepalive);

	current = e;
	PG_TRY();
	{
		for (;;)
		{
			TimestampTz now;
			bool		latch;

			engine_progress(e);
			if ((found = engine_take_finished(e)) != NULL)
				break;
			if (e->n == 0 && max_ms < 0 && woken == NULL)
				break;			/* nothing to wait for */
			if (e->yield)
			{
				/* a sink got bytes before the wait (a resumed exchange's) */
				e->yield = false;
				break;
			}
			now = GetCurrentTimestamp();
			if (until != 0 && now >= until)
				break;
			latch = HttpLoopWait(ms_until(now, engine_next_deadline(e, until)));
			now = GetCurrentTimestamp();
			for (int i = 0; i < e->n; i++)
				if (e->xs[i]->state == HTTP_X_RUNNING)
					engine_timeout_one(e->xs[i], now);
				else if (e->xs[i]->state == HTTP_X_PENDING && e->xs[i]->started != 0 &&
						 now >= e->xs[i]->deadline)
				{
					/* it waited for a token past its deadline: never started */
					e->xs[i]->connect_deadline = e->xs[i]->deadline;
					engine_timeout_one(e->xs[i], now);
					e->xs[i]->released = true;
				}
			if (e->yield)
			{
				/* a sink has rows for its caller: hand control back */
				e->yield = false;
				engine_progress(e);
				found = engine_take_finished(e);
				break;
			}
			if (latch && woken != NULL)
			{
				*woken = true;
				engine_progress(e);
				found = engine_take_finished(e);
				break;
			}
		}
	}
	PG_CATCH();
	{
		engine_release_all(e);
		current = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	current = NULL;
	return found;
}

/*
 * Make e's running HttpEngineNext return after the wait it is in (NULL if
 * nothing is over): a body sink has rows for its caller.  Never throws.
 */
void
HttpEngineYield(HttpEngine *e)
{
	e->yield = true;
}

/*
 * Hold x's streamed body (its caller is not taking rows: the transport
 * reads no more of it), or resume it.  Time held does not count against
 * the exchange: resuming gives it its timeout again from now.  The
 * transport's resume may deliver what it kept back to the sink at once.
 */
void
HttpEngineHold(HttpExchange *x, bool held)
{
	if (x->sink_held == held)
		return;
	x->sink_held = held;
	if (held || x->state != HTTP_X_RUNNING || x->released)
		return;
	x->deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), x->req->opt.timeout_ms);
	if (HttpTransportImpl.resume)
		HttpTransportImpl.resume(x);
}

/*
 * End the session: every exchange still in it is released (a half-used
 * connection is closed, never pooled) and forgotten.  Never throws.
 */
void
HttpEngineEnd(HttpEngine *e)
{
	engine_release_all(e);
	pfree(e->xs);
	pfree(e);
}

/*
 * Run xs[0..n) to their ends, at most max_active at once: the synchronous
 * calls' and batches' use of a session.  Their outcomes are in xs.  Throws
 * on a cancel, with every exchange released.
 */
void
HttpEngineRunAll(HttpExchange **xs, int n, int max_active)
{
	HttpEngine *e = HttpEngineBegin(max_active);

	for (int i = 0; i < n; i++)
		HttpEngineAdd(e, xs[i]);
	while (HttpEngineCount(e) > 0)
		(void) HttpEngineNext(e, -1, NULL);
	HttpEngineEnd(e);
}
