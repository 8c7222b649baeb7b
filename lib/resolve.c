/*-------------------------------------------------------------------------
 *
 * resolve.c
 *	  Host name resolution in helper threads (see resolve.h).
 *
 * A thread fills in its resolver and then writes the resolver's address to
 * the completion pipe: a write of a pointer is atomic (it is below
 * PIPE_BUF), and the write/read pair orders the thread's stores before the
 * backend's loads, so no lock is needed.  Only the backend frees resolvers,
 * when it reads them back, abandoned or not.  No PostgreSQL header may be
 * included here: nothing in this file may call into the server from a
 * helper thread.
 *
 *-------------------------------------------------------------------------
 */
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct HttpResolver
{
	void	   *owner;			/* backend side only; NULL when abandoned */
	unsigned int tenant;		/* whose it counts as (0: nobody's) */
	int			rc;				/* getaddrinfo's result */
	struct addrinfo *res;
	char		host[];
};

static int	done_pipe[2] = {-1, -1};
static int	pending = 0;

/* Resolutions outstanding per tenant (at most one entry per pending one). */
typedef struct TenantCount
{
	unsigned int tenant;
	int			n;
} TenantCount;

static TenantCount tenants[HTTP_RESOLVE_MAX_PENDING];

/* The entry of a tenant with resolutions outstanding, or NULL. */
static TenantCount *
tenant_find(unsigned int tenant)
{
	for (int i = 0; i < HTTP_RESOLVE_MAX_PENDING; i++)
		if (tenants[i].n > 0 && tenants[i].tenant == tenant)
			return &tenants[i];
	return NULL;
}

/*
 * May tenant start one more?  With k other tenants waiting on lookups, a
 * tenant may hold 1/(k+2) of the slots: whatever the tenants already
 * waiting do (a resolver that hangs on their names, say), a tenant that
 * arrives later still finds a slot.
 */
static bool
tenant_may_start(unsigned int tenant)
{
	int			others = 0;
	TenantCount *mine = NULL;

	if (tenant == 0)
		return true;
	for (int i = 0; i < HTTP_RESOLVE_MAX_PENDING; i++)
		if (tenants[i].n > 0)
		{
			if (tenants[i].tenant == tenant)
				mine = &tenants[i];
			else
				others++;
		}
	return (mine ? mine->n : 0) < HTTP_RESOLVE_MAX_PENDING / (others + 2);
}

/* Count one more (delta 1) or one fewer (-1) resolution of tenant. */
static void
tenant_count(unsigned int tenant, int delta)
{
	TenantCount *t;

	if (tenant == 0)
		return;
	t = tenant_find(tenant);
	if (t == NULL && delta > 0)
	{
		for (int i = 0; i < HTTP_RESOLVE_MAX_PENDING && t == NULL; i++)
			if (tenants[i].n == 0)
				t = &tenants[i];
		t->tenant = tenant;
	}
	if (t != NULL)
		t->n += delta;
}

/*
 * The completion descriptor (readable when a resolution finished), made on
 * first call; -1 with errno if it could not be.  It is never closed.
 */
int
HttpResolveFd(void)
{
	int			flags;

	if (done_pipe[0] >= 0)
		return done_pipe[0];
	if (pipe2(done_pipe, O_CLOEXEC) != 0)
		return -1;
	/* the backend never waits on it; threads may wait to write */
	flags = fcntl(done_pipe[0], F_GETFL);
	fcntl(done_pipe[0], F_SETFL, flags | O_NONBLOCK);
	return done_pipe[0];
}

/* The helper thread: resolve, then report the resolver itself. */
static void *
resolver_main(void *arg)
{
	HttpResolver *r = arg;
	struct addrinfo hints;
	ssize_t		w;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* no AI_ADDRCONFIG: it hides loopback answers on loopback-only hosts */
	r->rc = getaddrinfo(r->host, NULL, &hints, &r->res);

	do
		w = write(done_pipe[1], &r, sizeof(r));
	while (w < 0 && errno == EINTR);
	return NULL;
}

/*
 * Start resolving host (for TCP) on behalf of owner, counted as tenant's
 * (0: no tenant; a delivery worker passes the role that queued the
 * request).  Returns NULL with errno set if no thread could be started,
 * EAGAIN when HTTP_RESOLVE_MAX_PENDING resolutions are already outstanding,
 * or EDQUOT when tenant holds its share of them (abandoned ones count until
 * they return).
 */
HttpResolver *
HttpResolveStart(const char *host, void *owner, unsigned int tenant)
{
	size_t		len = strlen(host);
	HttpResolver *r;
	pthread_attr_t attr;
	pthread_t	tid;
	sigset_t	all,
				old;
	int			err;

	if (pending >= HTTP_RESOLVE_MAX_PENDING)
	{
		errno = EAGAIN;
		return NULL;
	}
	if (!tenant_may_start(tenant))
	{
		errno = EDQUOT;
		return NULL;
	}
	if (HttpResolveFd() < 0)
		return NULL;
	r = malloc(sizeof(HttpResolver) + len + 1);
	if (r == NULL)
		return NULL;
	r->owner = owner;
	r->tenant = tenant;
	r->rc = 0;
	r->res = NULL;
	memcpy(r->host, host, len + 1);

	/* the thread inherits our signal mask: let it receive no signal at all */
	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&tid, &attr, resolver_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (err != 0)
	{
		free(r);
		errno = err;
		return NULL;
	}
	pending++;
	tenant_count(tenant, 1);
	return r;
}

/* The next finished resolution, or NULL when none is waiting. */
HttpResolver *
HttpResolveNextDone(void)
{
	HttpResolver *r;
	ssize_t		n;

	if (done_pipe[0] < 0)
		return NULL;
	do
		n = read(done_pipe[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(r))
		return NULL;
	pending--;
	tenant_count(r->tenant, -1);
	if (r->owner == NULL)
	{
		/* nobody wants it any more */
		if (r->res)
			freeaddrinfo(r->res);
		free(r);
		return HttpResolveNextDone();
	}
	return r;
}

/* Who asked for it: NULL once abandoned. */
void *
HttpResolveOwner(HttpResolver *r)
{
	return r->owner;
}

/*
 * Take the answer of a finished resolution: getaddrinfo's result code, and
 * the list in *res (for freeaddrinfo).  Frees the resolver.
 */
int
HttpResolveTake(HttpResolver *r, struct addrinfo **res)
{
	int			rc = r->rc;

	*res = r->res;
	free(r);
	return rc;
}

/* Give up on a resolution; it is freed once it finishes. */
void
HttpResolveAbandon(HttpResolver *r)
{
	r->owner = NULL;
}

/* Resolutions started and not yet collected. */
int
HttpResolvePending(void)
{
	return pending;
}
