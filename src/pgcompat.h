/*-------------------------------------------------------------------------
 *
 * pgcompat.h
 *	  Differences between the PostgreSQL majors pg_http builds against, in
 *	  one place: 15 (the oldest supported), 16, 17 and 18.  Code elsewhere
 *	  calls these and has no #if on PG_VERSION_NUM.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_PGCOMPAT_H
#define PG_HTTP_PGCOMPAT_H

#include "postgres.h"

#include "catalog/pg_proc.h"
#include "common/base64.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/wait_event.h"

#if PG_VERSION_NUM < 150000
#error "pg_http needs PostgreSQL 15 or later"
#endif

/*
 * Headers of a server built against a newer glibc than this system's say
 * strlcpy is declared (HAVE_DECL_STRLCPY 1) and so do not declare it, but
 * glibc declares it only from 2.38 on.  The server binary exports its own
 * (src/port), so a declaration is all that is missing.
 */
#if defined(HAVE_DECL_STRLCPY) && HAVE_DECL_STRLCPY && defined(__GLIBC__) && \
	!(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 38))
extern size_t strlcpy(char *dst, const char *src, size_t siz);
#endif

/* 16 declares _PG_init with PGDLLEXPORT itself; 15 expects the module to. */
/*
 * A function that does not return: PostgreSQL 18 replaced the postfix
 * pg_attribute_noreturn() with the prefix pg_noreturn (C11 _Noreturn),
 * which is what pg_http uses, on every major.
 */
#ifndef pg_noreturn
#define pg_noreturn _Noreturn
#endif

#if PG_VERSION_NUM < 160000
extern void _PG_init(void);
#endif

/* May role execute function fn?  (16 folded the per-object checks into one.) */
static inline AclResult
HttpFunctionAclCheck(Oid fn, Oid role)
{
#if PG_VERSION_NUM >= 160000
	return object_aclcheck(ProcedureRelationId, fn, role, ACL_EXECUTE);
#else
	return pg_proc_aclcheck(fn, role, ACL_EXECUTE);
#endif
}

/* A qualified name as a list (16 gave the parser a soft-error context). */
static inline List *
HttpQualifiedName(const char *name)
{
#if PG_VERSION_NUM >= 160000
	return stringToQualifiedNameList(name, NULL);
#else
	return stringToQualifiedNameList(name);
#endif
}

/*
 * Memory for a GUC check hook's "extra": 16 and later free it with pfree
 * (guc_malloc), 15 with free.  NULL when out of memory.
 */
static inline void *
HttpGucMalloc(size_t size)
{
#if PG_VERSION_NUM >= 160000
	return guc_malloc(LOG, size);
#else
	return malloc(size);
#endif
}

/* Base64 of len bytes into dst (18 types the source as bytes). */
static inline int
HttpBase64Encode(const char *src, int len, char *dst, int dstlen)
{
#if PG_VERSION_NUM >= 180000
	return pg_b64_encode((const uint8 *) src, len, dst, dstlen);
#else
	return pg_b64_encode(src, len, dst, dstlen);
#endif
}

/* Decode base64; the length, or -1 (18 made the output bytes uint8). */
static inline int
HttpBase64Decode(const char *src, int len, char *dst, int dstlen)
{
#if PG_VERSION_NUM >= 180000
	return pg_b64_decode(src, len, (uint8 *) dst, dstlen);
#else
	return pg_b64_decode(src, len, dst, dstlen);
#endif
}

/* This backend's PGPROC number (17 made it a variable of its own). */
#if PG_VERSION_NUM >= 170000
#define HttpMyProcNumber() MyProcNumber
#else
#define HttpMyProcNumber() (MyProc->pgprocno)
#endif

/*
 * The WaitEventSet of a backend's engine, living as long as the backend,
 * and the wait event it reports while waiting: 17 lets an extension name
 * its own ("HttpRequest" in pg_stat_activity.wait_event); before, it is
 * the generic "Extension".
 */
static inline WaitEventSet *
HttpCreateWaitEventSet(int nevents, uint32 *wait_event)
{
#if PG_VERSION_NUM >= 170000
	*wait_event = WaitEventExtensionNew("HttpRequest");
	return CreateWaitEventSet(NULL, nevents);
#else
	*wait_event = PG_WAIT_EXTENSION;
	return CreateWaitEventSet(TopMemoryContext, nevents);
#endif
}

/*
 * The tuple header of a composite argument.  Recent minor releases turned
 * DatumGetHeapTupleHeader from a macro into a function (it checks versioned
 * datums); a module built with such headers must still load into an
 * earlier minor release of its major (the CI's 17 server predates its
 * headers), where the function does not exist.  So it is referenced
 * weakly, and when the server has none the macro's work is done: that
 * server has no versioned datums to check.
 */
#ifdef DatumGetHeapTupleHeader
#define HttpDatumGetHeapTupleHeader(d) DatumGetHeapTupleHeader(d)
#else
extern struct HeapTupleHeaderData *DatumGetHeapTupleHeader(Datum t) __attribute__((weak));
#define HttpDatumGetHeapTupleHeader(d) \
	(DatumGetHeapTupleHeader != NULL ? DatumGetHeapTupleHeader(d) : \
	 (struct HeapTupleHeaderData *) PG_DETOAST_DATUM(d))
#endif

/* The record of setting name (a placeholder too), or NULL.  16 exports find_option; 15 only the array. */
static inline struct config_generic *
HttpFindSetting(const char *name)
{
#if PG_VERSION_NUM >= 160000
	return find_option(name, false, true, DEBUG1);
#else
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return vars[i];
	return NULL;
#endif
}

/*
 * Whether setting name has its current value from a superuser or the
 * server: the context that set it records whether the role that did was a
 * superuser (SET, connection options).  false when it does not exist.
 */
static inline bool
HttpSettingSetBySuperuser(const char *name)
{
	struct config_generic *rec = HttpFindSetting(name);

	return rec != NULL && rec->scontext != PGC_USERSET && rec->scontext != PGC_BACKEND;
}

/*
 * Whether setting name has its current value from the configuration files
 * or the server's command line, nowhere else (not ALTER ROLE or ALTER
 * DATABASE, whose placeholder values 15 applies as a superuser's whoever
 * set them).
 */
static inline bool
HttpSettingFromConfiguration(const char *name)
{
	struct config_generic *rec = HttpFindSetting(name);

	return rec != NULL && rec->source <= PGC_S_ARGV;
}

#endif							/* PG_HTTP_PGCOMPAT_H */
