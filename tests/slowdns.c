/*
 * slowdns.c
 *	  LD_PRELOAD shim for the test cluster only: getaddrinfo() of a name
 *	  ending in ".slow.test" sleeps 5 s, then fails; every other name goes to
 *	  the real resolver.  It stands in for a resolver that hangs, so tests can
 *	  show that timeouts and cancels do not wait for it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>

int
getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
			struct addrinfo **res)
{
	static int	(*real) (const char *, const char *, const struct addrinfo *, struct addrinfo **);
	size_t		len = node ? strlen(node) : 0;

	if (len >= 10 && strcmp(node + len - 10, ".slow.test") == 0)
	{
		sleep(5);
		return EAI_NONAME;
	}
	if (real == NULL)
		real = dlsym(RTLD_NEXT, "getaddrinfo");
	return real(node, service, hints, res);
}
