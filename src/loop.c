/*-------------------------------------------------------------------------
 *
 * loop.c
 *	  The one wait of pg_http, and the watches it dispatches.
 *
 * Each backend has one WaitEventSet, built on first use, holding MyLatch,
 * postmaster death and an epoll descriptor (the "mux") into which every
 * watched socket is added and removed as its owner asks.  Sockets thus come
 * and go without rebuilding the WaitEventSet, and statement_timeout,
 * pg_cancel_backend and postmaster death interrupt any wait at once: every
 * latch wake runs CHECK_FOR_INTERRUPTS(), which raises the standard 57014.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "exchange.h"
#include "loop.h"

#include <sys/epoll.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"

/* What its owner asked for on one socket. */
typedef struct Watch
{
	uint32		events;			/* HTTP_WATCH_*; 0: not watched */
	HttpWatchFn fn;
	void	   *arg;
} Watch;

#define MUX_EVENTS 64

static WaitEventSet *loop_set = NULL;
static uint32 loop_wait_event = 0;
static int	mux_fd = -1;
static Watch *watches = NULL;	/* indexed by socket */
static int	nwatches = 0;
static TimestampTz timer_at = 0;	/* 0: none */
static void (*timer_fn) (void) = NULL;

/* Build the per-backend WaitEventSet and mux on first use.  May throw. */
static void
loop_init(void)
{
	if (loop_set != NULL)
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
		loop_set = HttpCreateWaitEventSet(3, &loop_wait_event);
		AddWaitEventToSet(loop_set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		/* a single-user backend has no postmaster to watch */
		if (IsUnderPostmaster)
			AddWaitEventToSet(loop_set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		AddWaitEventToSet(loop_set, WL_SOCKET_READABLE, mux_fd, NULL, NULL);
	}
	PG_CATCH();
	{
		if (loop_set != NULL)
			FreeWaitEventSet(loop_set);
		loop_set = NULL;
		close(mux_fd);
		ReleaseExternalFD();
		mux_fd = -1;
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Watch sock for events (HTTP_WATCH_* bits), calling fn(arg, sock, ready)
 * when it is ready; events 0 stops watching it.  Changing only fn or arg
 * costs no system call.  Never throws (curl calls this from inside its
 * callbacks, where a longjmp would leave libcurl in pieces); false if the
 * socket could not be watched.
 */
bool
HttpLoopWatch(pgsocket sock, uint32 events, HttpWatchFn fn, void *arg)
{
	struct epoll_event ev;
	Watch	   *w;
	int			op;

	if (sock < 0 || (mux_fd < 0 && events != 0))
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

	/* the callback lives here, not in the kernel: no syscall for it */
	if (events == w->events)
	{
		w->fn = events ? fn : NULL;
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
	w->fn = events ? fn : NULL;
	w->arg = events ? arg : NULL;
	return true;
}

/*
 * Keep sock registered for what it is, but call fn(NULL, sock, ready) when
 * it fires: its owner no longer waits on it (an idle pooled connection,
 * whose readiness means the server closed it).  Saves the remove-and-add
 * pair when the socket is used again.  Never throws.
 */
void
HttpLoopIdle(pgsocket sock, HttpWatchFn fn)
{
	if (sock >= 0 && sock < nwatches && watches[sock].events != 0)
	{
		watches[sock].fn = fn;
		watches[sock].arg = NULL;
	}
}

/*
 * Forget sock without a system call: for a socket about to be closed, which
 * takes it out of epoll anyway.  Never throws.
 */
void
HttpLoopForget(pgsocket sock)
{
	if (sock >= 0 && sock < nwatches)
	{
		watches[sock].events = 0;
		watches[sock].fn = NULL;
		watches[sock].arg = NULL;
	}
}

/*
 * Call fn after ms milliseconds (one timer per backend: curl's); -1
 * cancels it.  Never throws.
 */
void
HttpLoopSetTimer(long ms, void (*fn) (void))
{
	if (ms < 0)
	{
		timer_at = 0;
		timer_fn = NULL;
	}
	else
	{
		timer_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);
		timer_fn = fn;
	}
}

/* When the timer fires (0: no timer), for the engine's next wait. */
TimestampTz
HttpLoopTimer(void)
{
	return timer_at;
}

/*
 * Account a new socket against the backend's descriptor budget
 * (max_files_per_process); false with x failed (53000) when there is no
 * room.  Never throws.
 */
bool
HttpLoopAcquireSocket(HttpExchange *x)
{
	if (AcquireExternalFD())
		return true;
	HttpFailNoDescriptors(x);
	return false;
}

/* Give back what HttpLoopAcquireSocket took.  Never throws. */
void
HttpLoopReleaseSocket(void)
{
	ReleaseExternalFD();
}

/* Call the owners of every ready socket in the mux. */
static void
loop_dispatch(void)
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
			if (fd >= nwatches || (w = &watches[fd])->events == 0 || w->fn == NULL)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				ready |= HTTP_WATCH_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				ready |= HTTP_WATCH_WRITE;
			ready &= w->events;
			if (ready)
				w->fn(w->arg, fd, ready);
		}
	} while (n == MUX_EVENTS);
}

/*
 * Wait once (at most timeout_ms; -1: until something happens) for the
 * latch, watched sockets or the timer, and call back what is ready.
 * Returns true if the latch was set.  Throws on a cancel (57014) or
 * postmaster death, as CHECK_FOR_INTERRUPTS does.
 */
bool
HttpLoopWait(long timeout_ms)
{
	WaitEvent	ev[3];
	int			nev;
	bool		latch = false;

	loop_init();
	CHECK_FOR_INTERRUPTS();
	nev = WaitEventSetWait(loop_set, timeout_ms, ev, lengthof(ev), loop_wait_event);
	for (int i = 0; i < nev; i++)
	{
		if (ev[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			latch = true;
		}
		if (ev[i].events & WL_SOCKET_READABLE)
			loop_dispatch();
	}
	if (timer_at != 0 && GetCurrentTimestamp() >= timer_at)
	{
		void		(*fn) (void) = timer_fn;

		timer_at = 0;
		timer_fn = NULL;
		if (fn)
			fn();
	}
	return latch;
}

/*
 * Make sure the mux exists before anything is watched.  May throw.  (The
 * engine calls it when a session begins; watching needs the mux.)
 */
void
HttpLoopInit(void)
{
	loop_init();
}
