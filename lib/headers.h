/*-------------------------------------------------------------------------
 *
 * headers.h
 *	  Header fields in order, repeats kept; the names that carry
 *	  credentials; Retry-After.
 *
 * PostgreSQL-free: memory comes from an allocator the process sets once
 * (palloc in the server, malloc in the unit tests and fuzzers), so the
 * model is tested without a server.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_HEADERS_H
#define PG_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* How the header model allocates: both must return memory or not return. */
typedef struct HttpAllocator
{
	void	   *(*alloc) (size_t size);
	void	   *(*grow) (void *ptr, size_t size);
} HttpAllocator;

/* A header field: NUL-terminated name and value. */
typedef struct HttpHeader
{
	char	   *name;
	char	   *value;
} HttpHeader;

/* Header fields in order, repeats kept.  All zeros is an empty list. */
typedef struct HttpHeaderList
{
	int			n;
	int			cap;
	HttpHeader *items;
} HttpHeaderList;

extern void HttpHeadersSetAllocator(const HttpAllocator *mem);
extern void HttpHeaderAdd(HttpHeaderList *l, const char *name, size_t name_len,
						  const char *value, size_t value_len);
extern const char *HttpHeaderGet(const HttpHeaderList *l, const char *name);
extern char *HttpHeaderTake(HttpHeaderList *l, const char *name);
extern bool HttpIsCredentialHeader(const char *name, size_t len);
extern bool HttpIsManagedHeader(const char *name, size_t len);
extern double HttpRetryAfterSeconds(const char *value, time_t now);

#endif							/* PG_HTTP_HEADERS_H */
