/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  The one wait loop: drives N exchanges through the transport.
 *
 * Only this file waits.  It waits on one WaitEventSet, built once per
 * backend, holding MyLatch, postmaster death and an epoll descriptor (the
 * "mux") into which every socket of every exchange is added and removed as
 * the transport asks.  Sockets thus come and go without rebuilding the
 * WaitEventSet, and statement_timeout, pg_cancel_backend and postmaster
 * death interrupt any phase of any exchange at once: every latch wake runs
 * CHECK_FOR_INTERRUPTS(), which raises the standard 57014 error.
 *
 * Whatever way the loop ends (success, error, cancel), every exchange it
 * started is handed back to the transport's release(), so no socket, TLS
 * context or library handle outlives the call.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "pgcompat.h"
#include "transport.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

/* What the transport asked for on one socket. */
typedef struct Watch
{
	void	   *arg;
	uint32		events;			/* HTTP_WATCH_*; 0: not watched */
} Watch;

/* One call of HttpEngineRun. */
typedef struct EngineRun
{
	HttpExchange **xs;
	int			n;
	int			next;			/* first exchange not yet started */
	int			active;			/* started and not yet released */
	int			finished;		/* released for good (no redirect to follow) */
} EngineRun;

static WaitEventSet *engine_set = NULL;
static int	mux_fd = -1;
static Watch *watches = NULL;	/* indexed by socket */
static int	nwatches = 0;
static TimestampTz transport_timer = 0; /* 0: none */
static EngineRun *current_run = NULL;
static uint32 engine_wait_event = PG_WAIT_EXTENSION;

/* Marks the resolver's completion descriptor among the watches (dns.c). */
char		HttpDnsWatchMark;

#define MUX_EVENTS 64

/* Build the per-backend WaitEventSet and mux on first use. */
static void
engine_init(void)
{
	if (engine_set != NULL)
		return;

	ReserveExternalFD();
	mux_fd = epoll_create1(EPOLL_CLOEXEC);
	if (mux_fd < 0)
	{
		int			save_errno = errno;

		ReleaseExternalFD();
		errno = save_errno;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not create epoll descriptor for pg_http: %m")));
	}

	PG_TRY();
	{
		engine_set = HttpCreateWaitEventSet(3, &engine_wait_event);
		AddWaitEventToSet(engine_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		/* a single-user backend has no postmaster to watch */
		if (IsUnderPostmaster)
			AddWaitEventToSet(engine_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		AddWaitEventToSet(engine_set, WL_SOCKET_READABLE, mux_fd, NULL, NULL);
	}
	PG_CATCH();
	{
		if (engine_set != NULL)
			FreeWaitEventSet(engine_set);
		engine_set = NULL;
		close(mux_fd);
		ReleaseExternalFD();
		mux_fd = -1;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * See transport.h.  Never throws: curl calls this from inside its callbacks,
 * where a longjmp would leave libcurl in pieces.
 */
bool
HttpEngineWatch(pgsocket sock, uint32 events, void *arg)
{
	struct epoll_event ev;
	Watch	   *w;
	int			op;

	if (sock < 0)
		return false;
	if (sock >= nwatches)
	{
		int			n = Max(64, nwatches);
		Watch	   *grown;

		if (events == 0)
			return true;		/* never watched */
		while (n <= sock)
			n *= 2;
		grown = MemoryContextAllocExtended(TopMemoryContext, n * sizeof(Watch),
										   MCXT_ALLOC_NO_OOM | MCXT_ALLOC_ZERO);
		if (grown == NULL)
			return false;
		if (watches != NULL)
		{
			memcpy(grown, watches, nwatches * sizeof(Watch));
			pfree(watches);
		}
		watches = grown;
		nwatches = n;
	}
	w = &watches[sock];

	/* the callback argument lives here, not in the kernel: no syscall for it */
	if (events == w->events)
	{
		w->arg = events ? arg : NULL;
		return true;
	}
	if (events == 0)
		op = EPOLL_CTL_DEL;
	else if (w->events == 0)
		op = EPOLL_CTL_ADD;
	else
		op = EPOLL_CTL_MOD;

	memset(&ev, 0, sizeof(ev));
	ev.data.fd = sock;
	if (events & HTTP_WATCH_READ)
		ev.events |= EPOLLIN;
	if (events & HTTP_WATCH_WRITE)
		ev.events |= EPOLLOUT;

	/*
	 * DEL of a socket the kernel already forgot (closed elsewhere) fails
	 * with EBADF/ENOENT: nothing is watched any more, which is all we want.
	 * ADD or MOD can fail only on a bad descriptor or out of memory.
	 */
	if (epoll_ctl(mux_fd, op, sock, &ev) != 0 && op != EPOLL_CTL_DEL)
	{
		/*
		 * The table and the kernel disagree if a descriptor was closed and
		 * its number reused behind our back: believe the kernel.
		 */
		if (op == EPOLL_CTL_MOD && errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else if (op == EPOLL_CTL_ADD && errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else
			return false;
		if (epoll_ctl(mux_fd, op, sock, &ev) != 0)
			return false;
	}

	w->events = events;
	w->arg = events ? arg : NULL;
	return true;
}

/* See transport.h. */
void
HttpEngineIdle(pgsocket sock)
{
	if (sock >= 0 && sock < nwatches)
		watches[sock].arg = NULL;
}

/* See transport.h. */
void
HttpEngineForget(pgsocket sock)
{
	if (sock >= 0 && sock < nwatches)
	{
		watches[sock].events = 0;
		watches[sock].arg = NULL;
	}
}

/* See transport.h. */
void
HttpEngineSetTimer(long ms)
{
	if (ms < 0)
		transport_timer = 0;
	else
		transport_timer = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
}

/* See transport.h. */
bool
HttpEngineAcquireSocket(HttpExchange *x)
{
	if (AcquireExternalFD())
		return true;
	HttpFailNoDescriptors(x);
	return false;
}

/* See transport.h. */
void
HttpEngineReleaseSocket(void)
{
	ReleaseExternalFD();
}

/* See pg_http.h. */
void
HttpExchangeFail(HttpExchange *x, int sqlstate, const char *msg,
				 const char *detail_fmt,...)
{
	if (x->state == HTTP_X_FAILED)
		return;					/* the first failure stands */
	x->state = HTTP_X_FAILED;
	x->finished = GetCurrentTimestamp();
	x->err_code = sqlstate;
	x->err_msg = pstrdup(msg);
	if (detail_fmt != NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (;;)
		{
			va_list		args;
			int			needed;

			va_start(args, detail_fmt);
			needed = appendStringInfoVA(&buf, detail_fmt, args);
			va_end(args);
			if (needed == 0)
				break;
			enlargeStringInfo(&buf, needed);
		}
		x->err_detail = buf.data;
	}
}

/* See pg_http.h. */
void
HttpExchangeSetHint(HttpExchange *x, const char *hint)
{
	if (x->err_hint == NULL)
		x->err_hint = pstrdup(hint);
}

/* See pg_http.h. */
void
HttpExchangeDone(HttpExchange *x)
{
	if (x->state == HTTP_X_RUNNING)
	{
		x->state = HTTP_X_DONE;
		x->finished = GetCurrentTimestamp();
	}
}

/*
 * Turn the ERROR being handled (in a PG_CATCH) into x's failure: its
 * SQLSTATE, message, detail and hint.  For the code that works on one
 * exchange alone (starting it, a redirect hop, a resolver answer, a socket
 * event): what goes wrong there fails that request and nothing else, which
 * in a delivery worker, outside any transaction, is the difference between
 * one failed request and a dead worker.  That code holds no lock, buffer
 * pin or catalog state, so nothing but the error itself needs cleaning up.
 * A cancel (class 57) is not about x: it is re-thrown.  cxt is the memory
 * context to go back to.
 */
void
HttpExchangeAbsorbError(HttpExchange *x, MemoryContext cxt)
{
	ErrorData  *e;

	MemoryContextSwitchTo(x->cxt ? x->cxt : cxt);
	e = CopyErrorData();
	if (ERRCODE_TO_CATEGORY(e->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION)
	{
		MemoryContextSwitchTo(cxt);
		PG_RE_THROW();
	}
	FlushErrorState();
	if (x->state != HTTP_X_FAILED)
	{
		x->state = HTTP_X_FAILED;
		x->finished = GetCurrentTimestamp();
		x->err_code = e->sqlerrcode;
		x->err_msg = e->message;
		x->err_detail = e->detail;
		x->err_hint = e->hint;
	}
	MemoryContextSwitchTo(cxt);
}

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
engine_release(EngineRun *run, HttpExchange *x)
{
	if (x->released)
		return;
	x->released = true;
	run->active--;
	HttpDnsAbandon(x);
	HttpTransportImpl.release(x);
}

/* Hand x to the transport; whatever goes wrong there fails x alone. */
static void
engine_start_one(HttpExchange *x)
{
	MemoryContext old = exchange_enter(x);

	PG_TRY();
	{
		HttpTransportImpl.start(x);
	}
	PG_CATCH();
	{
		HttpExchangeAbsorbError(x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
}

/* Start pending exchanges while there is room under the concurrency cap. */
static void
engine_start_more(EngineRun *run)
{
	while (run->next < run->n && run->active < http_max_concurrency)
	{
		HttpExchange *x = run->xs[run->next++];
		TimestampTz now;

		if (x->state != HTTP_X_PENDING)
		{
			x->released = true; /* refused before the engine ran */
			continue;
		}

		now = GetCurrentTimestamp();
		x->state = HTTP_X_RUNNING;
		x->started = now;
		x->deadline = TimestampTzPlusMilliseconds(now, x->req->opt.timeout_ms);
		x->connect_deadline = TimestampTzPlusMilliseconds(now, x->req->opt.connect_timeout_ms);
		if (x->connect_deadline > x->deadline)
			x->connect_deadline = x->deadline;
		x->released = false;
		run->active++;
		engine_start_one(x);
	}
}

/* x's deadline passed, or its connect deadline: fail it (in its context). */
static void
engine_timeout_one(HttpExchange *x, TimestampTz now)
{
	MemoryContext old = exchange_enter(x);

	PG_TRY();
	{
		if (!x->connected && now >= x->connect_deadline && x->connect_deadline < x->deadline)
		{
			HttpExchangeFail(x, ERRCODE_HTTP_TIMEOUT, "HTTP connection timed out",
							 "No connection to host \"%s\" port %d within %d ms.",
							 x->req->host, x->req->port, x->req->opt.connect_timeout_ms);
			HttpExchangeSetHint(x, "Raise the \"connect_timeout_ms\" option or pg_http.connect_timeout.");
		}
		else if (now >= x->deadline)
		{
			HttpExchangeFail(x, ERRCODE_HTTP_TIMEOUT, "HTTP request timed out",
							 "%s %s did not complete within %d ms.",
							 x->req->method, x->req->url, x->req->opt.timeout_ms);
			HttpExchangeSetHint(x, "Raise the timeout argument, the \"timeout_ms\" option or pg_http.timeout.");
		}
	}
	PG_CATCH();
	{
		HttpExchangeAbsorbError(x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
}

/* Fail every running exchange whose deadline passed. */
static void
engine_check_deadlines(EngineRun *run, TimestampTz now)
{
	for (int i = 0; i < run->next; i++)
		if (run->xs[i]->state == HTTP_X_RUNNING)
			engine_timeout_one(run->xs[i], now);
}

/* Start x (again, for a redirect's next hop) within its deadline. */
static void
engine_restart(EngineRun *run, HttpExchange *x)
{
	x->state = HTTP_X_RUNNING;
	x->released = false;
	x->connected = false;
	memset(&x->refused, 0, sizeof(x->refused));
	x->resp.status = 0;
	x->resp.headers.n = 0;
	run->active++;
	engine_start_one(x);
}

/*
 * x is over: release it, and start its redirect's next hop if it has one
 * to follow.  Returns true if it is running again.  A hop that cannot be
 * prepared fails x alone.
 */
static bool
engine_next_hop(EngineRun *run, HttpExchange *x)
{
	MemoryContext old = exchange_enter(x);
	volatile bool again = false;

	engine_release(run, x);
	PG_TRY();
	{
		again = HttpRedirectPrepare(x);
	}
	PG_CATCH();
	{
		HttpExchangeAbsorbError(x, old);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (again)
		engine_restart(run, x);
	return again;
}

/*
 * Release finished exchanges, sending those that got a redirect to follow
 * on to their next hop.  Returns how many are still unfinished.
 */
static int
engine_reap(EngineRun *run)
{
	int			left = run->n - run->next;

	for (int i = 0; i < run->next; i++)
	{
		HttpExchange *x = run->xs[i];

		if (x->state == HTTP_X_RUNNING || x->released)
		{
			if (x->state == HTTP_X_RUNNING)
				left++;
			continue;
		}
		while (x->state != HTTP_X_RUNNING && !x->released)
		{
			if (!engine_next_hop(run, x))
			{
				run->finished++;
				break;
			}
		}
		if (x->state == HTTP_X_RUNNING)
			left++;
	}
	return left;
}

/*
 * Start what can be started and release what finished, until neither
 * changes anything (an exchange may fail inside start() and free its slot).
 * Returns how many exchanges are still unfinished.
 */
static int
engine_progress(EngineRun *run)
{
	int			left;

	do
	{
		engine_start_more(run);
		left = engine_reap(run);
	} while (run->next < run->n && run->active < http_max_concurrency);
	return left;
}

/* Milliseconds until the nearest deadline or transport timer (>= 0). */
static long
engine_timeout(EngineRun *run, TimestampTz now)
{
	TimestampTz next = transport_timer;
	long		secs;
	int			usecs;

	for (int i = 0; i < run->next; i++)
	{
		HttpExchange *x = run->xs[i];
		TimestampTz d;

		if (x->state != HTTP_X_RUNNING)
			continue;
		d = x->connected ? x->deadline : x->connect_deadline;
		if (next == 0 || d < next)
			next = d;
	}
	if (next == 0)
		return -1;
	if (next <= now)
		return 0;
	TimestampDifference(now, next, &secs, &usecs);
	/* round up, or we wake just before the deadline and spin */
	return secs * 1000 + (usecs + 999) / 1000;
}

/* Dispatch every ready socket in the mux to the transport. */
static void
engine_dispatch(void)
{
	struct epoll_event evs[MUX_EVENTS];
	int			n;

	do
	{
		n = epoll_wait(mux_fd, evs, MUX_EVENTS, 0);
		if (n < 0)
		{
			if (errno == EINTR)
				return;			/* the outer wait will come back */
			elog(ERROR, "epoll_wait failed on the pg_http mux: %m");
		}
		for (int i = 0; i < n; i++)
		{
			int			fd = evs[i].data.fd;
			uint32		ready = 0;
			Watch	   *w;

			/* an earlier callback of this batch may have dropped the socket */
			if (fd >= nwatches || (w = &watches[fd])->events == 0)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				ready |= HTTP_WATCH_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				ready |= HTTP_WATCH_WRITE;
			ready &= w->events;
			if (ready && w->arg == HTTP_DNS_WATCH)
				HttpDnsDispatch();
			else if (ready)
				HttpTransportImpl.socket_ready(w->arg, fd, ready);
		}
	} while (n == MUX_EVENTS);
}

/*
 * Wait once for sockets, timers, deadlines or the latch (at most max_ms if
 * that is >= 0) and act on what happened.  Returns true if the latch was set.
 */
static bool
engine_wait(EngineRun *run, long max_ms)
{
	WaitEvent	ev[3];
	int			nev;
	TimestampTz now;
	long		timeout;
	bool		latch = false;

	CHECK_FOR_INTERRUPTS();

	now = GetCurrentTimestamp();
	timeout = engine_timeout(run, now);
	if (max_ms >= 0 && (timeout < 0 || max_ms < timeout))
		timeout = max_ms;
	nev = WaitEventSetWait(engine_set, timeout, ev, lengthof(ev), engine_wait_event);
	for (int i = 0; i < nev; i++)
	{
		if (ev[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			latch = true;
		}
		if (ev[i].events & WL_SOCKET_READABLE)
			engine_dispatch();
	}

	now = GetCurrentTimestamp();
	if (transport_timer != 0 && now >= transport_timer)
	{
		transport_timer = 0;
		if (HttpTransportImpl.timer_fired)
			HttpTransportImpl.timer_fired();
	}
	engine_check_deadlines(run, now);
	return latch;
}

/* See pg_http.h. */
int
HttpEngineStep(HttpExchange **xs, int n, long max_ms, bool *woken)
{
	EngineRun	run = {xs, n, 0, 0, 0};
	TimestampTz until = max_ms >= 0 ? TimestampTzPlusMilliseconds(GetCurrentTimestamp(), max_ms) : 0;

	*woken = false;
	if (current_run != NULL)
		elog(ERROR, "pg_http engine is already running");
	engine_init();

	/*
	 * The started ones come first; find the first pending.  One may have
	 * finished since the last step (a callback's synchronous call drives the
	 * same sockets): it is still held until reaped here.
	 */
	while (run.next < n && xs[run.next]->state != HTTP_X_PENDING)
	{
		if (!xs[run.next]->released)
			run.active++;
		run.next++;
	}
	if (HttpTransportImpl.prune)
		HttpTransportImpl.prune(false);

	current_run = &run;
	PG_TRY();
	{
		for (;;)
		{
			long		left_ms = -1;

			if (engine_progress(&run) == 0 || run.finished > 0)
			{
				/*
				 * Back to the caller once something finished; with nothing in
				 * flight it is a plain wait for the latch or max_ms.
				 */
				if (run.finished > 0 || max_ms == 0)
					break;
			}
			if (until != 0)
			{
				TimestampTz now = GetCurrentTimestamp();
				long		secs;
				int			usecs;

				if (now >= until)
					break;
				TimestampDifference(now, until, &secs, &usecs);
				left_ms = secs * 1000 + (usecs + 999) / 1000;
			}
			if (engine_wait(&run, left_ms))
			{
				*woken = true;
				(void) engine_progress(&run);
				break;
			}
		}
	}
	PG_CATCH();
	{
		for (int i = 0; i < run.next; i++)
			if (!xs[i]->released && xs[i]->state != HTTP_X_PENDING)
				engine_release(&run, xs[i]);
		current_run = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	current_run = NULL;
	return run.finished;
}

/* See pg_http.h. */
void
HttpEngineRun(HttpExchange **xs, int n)
{
	EngineRun	run = {xs, n, 0, 0, 0};

	if (current_run != NULL)
		elog(ERROR, "pg_http engine is already running");
	engine_init();

	if (HttpTransportImpl.prune)
		HttpTransportImpl.prune(false);

	current_run = &run;
	PG_TRY();
	{
		while (engine_progress(&run) > 0)
			(void) engine_wait(&run, -1);
	}
	PG_FINALLY();
	{
		/* on every path: nothing the transport holds for these outlives us */
		for (int i = 0; i < run.next; i++)
			if (!xs[i]->released && xs[i]->state != HTTP_X_PENDING)
				engine_release(&run, xs[i]);
		current_run = NULL;
	}
	PG_END_TRY();
}

/*
 * Line buffers for the HTTP/1.1 parser (max_header_bytes + 1 bytes each, the
 * limit of the request's snapshot), kept for reuse: allocating and freeing
 * 64 kB per call made malloc move the heap top up and down with two brk()
 * calls every time.  Buffers of one size are cached: the size of the last
 * request that asked.
 */
#define LINEBUF_CACHE 8
static char *linebuf_cache[LINEBUF_CACHE];
static int	linebuf_cached = 0;
static int	linebuf_size = 0;

/*
 * A line buffer of size bytes (in TopMemoryContext); give it back with
 * HttpLineBufferPut and the same size.  May throw (out of memory).
 */
char *
HttpLineBufferGet(int size)
{
	if (linebuf_size != size)
	{
		/* another limit: drop buffers of the old size */
		while (linebuf_cached > 0)
			pfree(linebuf_cache[--linebuf_cached]);
		linebuf_size = size;
	}
	if (linebuf_cached > 0)
		return linebuf_cache[--linebuf_cached];
	return MemoryContextAlloc(TopMemoryContext, size);
}

/* Give back a buffer of size bytes from HttpLineBufferGet (NULL: nothing). */
void
HttpLineBufferPut(char *buf, int size)
{
	if (buf == NULL)
		return;
	if (linebuf_cached < LINEBUF_CACHE && size == linebuf_size)
		linebuf_cache[linebuf_cached++] = buf;
	else
		pfree(buf);
}

/* See pg_http.h. */
const char *
HttpTransportName(void)
{
	return HttpTransportImpl.name;
}

/* See pg_http.h. */
uint32
HttpTransportFeatures(void)
{
	return HttpTransportImpl.features;
}
