/*-------------------------------------------------------------------------
 *
 * resolve.c
 *	  Host name resolution in a helper thread (see resolve.h).
 *
 * The resolver is shared by the backend and the thread and freed by
 * whichever lets go of it last.  The thread reports through a pipe: the
 * backend owns the read end, the thread the write end.  No PostgreSQL
 * header may be included here: nothing in this file may call into the
 * server from the helper thread.
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
	pthread_mutex_t lock;
	int			refs;			/* 2 while both sides hold it */
	int			rfd;			/* read end: the backend's */
	int			wfd;			/* write end: the thread's */
	int			rc;				/* getaddrinfo's result */
	struct addrinfo *res;
	char		host[];
};

/* Drop one reference; the last one frees everything left. */
static void
resolver_unref(HttpResolver *r)
{
	bool		last;

	pthread_mutex_lock(&r->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->lock);
	if (!last)
		return;
	if (r->res)
		freeaddrinfo(r->res);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* The helper thread: resolve, report, let go. */
static void *
resolver_main(void *arg)
{
	HttpResolver *r = arg;
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int			rc;
	ssize_t		w;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	/* no AI_ADDRCONFIG: it hides loopback answers on loopback-only hosts */
	rc = getaddrinfo(r->host, NULL, &hints, &res);

	pthread_mutex_lock(&r->lock);
	r->rc = rc;
	r->res = res;
	pthread_mutex_unlock(&r->lock);

	/* EPIPE if the backend gave up: harmless, SIGPIPE is blocked here */
	do
		w = write(r->wfd, "", 1);
	while (w < 0 && errno == EINTR);
	close(r->wfd);
	resolver_unref(r);
	return NULL;
}

/* See resolve.h. */
HttpResolver *
HttpResolveStart(const char *host, int *fd)
{
	size_t		len = strlen(host);
	HttpResolver *r = malloc(sizeof(HttpResolver) + len + 1);
	int			p[2];
	pthread_attr_t attr;
	pthread_t	tid;
	sigset_t	all,
				old;
	int			err;

	if (r == NULL)
		return NULL;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
	{
		err = errno;
		free(r);
		errno = err;
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->refs = 2;
	r->rfd = p[0];
	r->wfd = p[1];
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
		close(p[0]);
		close(p[1]);
		pthread_mutex_destroy(&r->lock);
		free(r);
		errno = err;
		return NULL;
	}
	*fd = p[0];
	return r;
}

/* See resolve.h. */
int
HttpResolveFinish(HttpResolver *r, struct addrinfo **res)
{
	int			rc;

	pthread_mutex_lock(&r->lock);
	rc = r->rc;
	*res = r->res;
	r->res = NULL;				/* now the caller's */
	pthread_mutex_unlock(&r->lock);
	close(r->rfd);
	resolver_unref(r);
	return rc;
}

/* See resolve.h. */
void
HttpResolveAbandon(HttpResolver *r)
{
	close(r->rfd);
	resolver_unref(r);
}
