/*
 * test_headers.c
 *	  Unit tests of the header model (lib/headers.c): the list, credential
 *	  header names and Retry-After in each of its forms.
 */
#include "headers.h"
#include "unit.h"

#include <stdbool.h>

/* An arena, as palloc is: the list drops fields without freeing them. */
static void *arena[1024];
static int	narena;

static void *
grow(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL || narena == 1024)
		abort();
	for (int i = 0; i < narena; i++)
		if (p != NULL && arena[i] == p)
		{
			arena[i] = q;
			return q;
		}
	arena[narena++] = q;
	return q;
}

static void *
alloc(size_t n)
{
	return grow(NULL, n);
}

static void
arena_free(void)
{
	while (narena > 0)
		free(arena[--narena]);
}

static const HttpAllocator mem = {alloc, grow};

/* Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example instant */
#define EXAMPLE ((time_t) 784111777)

static void
test_list(void)
{
	HttpHeaderList l = {0};
	char	   *v;

	for (int i = 0; i < 40; i++)
		HttpHeaderAdd(&l, "X-N", 3, "v", 1);
	HttpHeaderAdd(&l, "Content-Type", 12, "text/plain; charset=x", 21);
	HttpHeaderAdd(&l, "content-type", 12, "second", 6);
	CHECK_EQ_INT(l.n, 42);
	CHECK(strcmp(HttpHeaderGet(&l, "CONTENT-TYPE"), "text/plain; charset=x") == 0);
	CHECK(HttpHeaderGet(&l, "Content-Length") == NULL);
	v = HttpHeaderTake(&l, "Content-type");
	CHECK(v != NULL && strcmp(v, "text/plain; charset=x") == 0);
	CHECK_EQ_INT(l.n, 40);
	CHECK(HttpHeaderGet(&l, "content-type") == NULL);
	/* a name with NUL-free bytes past len is cut at len */
	HttpHeaderAdd(&l, "X-AbcDEF", 5, "1234", 2);
	CHECK(strcmp(l.items[l.n - 1].name, "X-Abc") == 0);
	CHECK(strcmp(l.items[l.n - 1].value, "12") == 0);
}

static void
test_credential_names(void)
{
	CHECK(HttpIsCredentialHeader("authorization", 13));
	CHECK(HttpIsCredentialHeader("Proxy-Authorization", 19));
	CHECK(HttpIsCredentialHeader("COOKIE", 6));
	CHECK(!HttpIsCredentialHeader("Cookie2", 7));
	CHECK(!HttpIsCredentialHeader("Authorization-X", 15));
	CHECK(HttpIsCredentialHeader("Authorization-X", 13));
	CHECK(!HttpIsCredentialHeader("Set-Cookie", 10));
}

static void
test_managed_names(void)
{
	CHECK(HttpIsManagedHeader("host", 4));
	CHECK(HttpIsManagedHeader("Content-Length", 14));
	CHECK(HttpIsManagedHeader("TRANSFER-ENCODING", 17));
	CHECK(HttpIsManagedHeader("te", 2));
	CHECK(HttpIsManagedHeader("Proxy-Authorization", 19));
	CHECK(!HttpIsManagedHeader("Authorization", 13));
	CHECK(!HttpIsManagedHeader("X-Hub-Signature-256", 19));
	CHECK(!HttpIsManagedHeader("Hostname", 8));
	CHECK(HttpIsManagedHeader("Hostname", 4));
}

static void
test_retry_after_seconds(void)
{
	CHECK(HttpRetryAfterSeconds("120", EXAMPLE) == 120);
	CHECK(HttpRetryAfterSeconds("  0 ", EXAMPLE) == 0);
	CHECK(HttpRetryAfterSeconds(NULL, EXAMPLE) == -1);
	CHECK(HttpRetryAfterSeconds("", EXAMPLE) == -1);
	CHECK(HttpRetryAfterSeconds("12s", EXAMPLE) == -1);
	CHECK(HttpRetryAfterSeconds("-5", EXAMPLE) == -1);
	CHECK(HttpRetryAfterSeconds("1.5", EXAMPLE) == -1);
}

static void
test_retry_after_dates(void)
{
	/* the same instant in the three forms: 90 s after "now" */
	time_t		now = EXAMPLE - 90;

	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", now) == 90);
	CHECK(HttpRetryAfterSeconds("Sunday, 06-Nov-94 08:49:37 GMT", now) == 90);
	CHECK(HttpRetryAfterSeconds("Sun Nov  6 08:49:37 1994", now) == 90);
	CHECK(HttpRetryAfterSeconds("Sun Nov 06 08:49:37 1994", now) == 90);
	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT  ", now) == 90);

	/* a date in the past asks for no wait */
	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT", EXAMPLE + 3600) == 0);

	/* a year later, day and month boundaries */
	CHECK(HttpRetryAfterSeconds("Mon, 06 Nov 1995 08:49:37 GMT", EXAMPLE) == 365 * 86400);
	CHECK(HttpRetryAfterSeconds("Wed, 01 Jan 2025 00:00:00 GMT", (time_t) 1735689600 - 1) == 1);

	/* two-digit years: more than 50 years ahead is the past century */
	CHECK(HttpRetryAfterSeconds("Thursday, 01-Jan-70 00:00:10 GMT", (time_t) 0) == 10);

	/* not dates */
	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 UTC", now) == -1);
	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 08:49 GMT", now) == -1);
	CHECK(HttpRetryAfterSeconds("Sun, 06 Foo 1994 08:49:37 GMT", now) == -1);
	CHECK(HttpRetryAfterSeconds("Sun, 32 Nov 1994 08:49:37 GMT", now) == -1);
	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 24:49:37 GMT", now) == -1);
	CHECK(HttpRetryAfterSeconds("Sun, 06 Nov 1994 08:49:37 GMT x", now) == -1);
	CHECK(HttpRetryAfterSeconds("Funday, 06-Nov-94 08:49:37 GMT", now) == -1);
	CHECK(HttpRetryAfterSeconds("Sun Nov  6 08:49:37 94", now) == -1);
	CHECK(HttpRetryAfterSeconds("tomorrow", now) == -1);
}

int
main(void)
{
	HttpHeadersSetAllocator(&mem);
	RUN(test_list);
	RUN(test_credential_names);
	RUN(test_managed_names);
	RUN(test_retry_after_seconds);
	RUN(test_retry_after_dates);
	arena_free();
	return unit_done();
}
