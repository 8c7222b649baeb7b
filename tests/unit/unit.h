/*
 * unit.h
 *	  A tiny test harness for pg_http's PostgreSQL-free code.
 *
 * Each TEST prints one "ok N - name" or "not ok N - name" line (TAP), and
 * unit_done() prints "N passed, M failed" and returns the exit code, which
 * the test runner and meson both read.
 */
#ifndef PG_HTTP_UNIT_H
#define PG_HTTP_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int	unit_passed,
			unit_failed,
			unit_current_failed;
static const char *unit_current;

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "  %s:%d: %s: check failed: %s\n", __FILE__, __LINE__, \
					unit_current, #cond); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define CHECK_EQ_INT(a, b) \
	do { \
		long long _a = (long long) (a), _b = (long long) (b); \
		if (_a != _b) \
		{ \
			fprintf(stderr, "  %s:%d: %s: %s == %lld, expected %lld\n", __FILE__, \
					__LINE__, unit_current, #a, _a, _b); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define RUN(fn) \
	do { \
		unit_current = #fn; \
		unit_current_failed = 0; \
		fn(); \
		if (unit_current_failed) \
			unit_failed++; \
		else \
			unit_passed++; \
		printf("%s %d - %s\n", unit_current_failed ? "not ok" : "ok", \
			   unit_passed + unit_failed, #fn); \
	} while (0)

static inline int
unit_done(void)
{
	printf("1..%d\n", unit_passed + unit_failed);
	printf("%d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

/*
 * Copy len bytes so that they end exactly where an inaccessible page
 * begins: a read past the end faults even without ASan.  Free with
 * guard_free(p, len).
 */
static inline char *
guard_copy(const char *data, size_t len)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		span = (len + page - 1) / page * page + page;
	char	   *base = mmap(NULL, span, PROT_READ | PROT_WRITE,
							MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char	   *p;

	if (base == MAP_FAILED)
		abort();
	if (mprotect(base + span - page, page, PROT_NONE) != 0)
		abort();
	p = base + span - page - len;
	memcpy(p, data, len);
	return p;
}

static inline void
guard_free(char *p, size_t len)
{
	size_t		page = (size_t) sysconf(_SC_PAGESIZE);
	size_t		span = (len + page - 1) / page * page + page;
	char	   *base = p + len + page - span;

	munmap(base, span);
}

#endif
