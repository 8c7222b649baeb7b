/*-------------------------------------------------------------------------
 *
 * pgcompat.h
 *	  Differences between the PostgreSQL majors pg_http builds against, in
 *	  one place (15 is the oldest).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_PGCOMPAT_H
#define PG_HTTP_PGCOMPAT_H

#include "catalog/pg_proc.h"
#include "storage/proc.h"
#include "utils/acl.h"

/* This backend's PGPROC number (17 made it a variable of its own). */
#if PG_VERSION_NUM >= 170000
#define HttpMyProcNumber() MyProcNumber
#else
#define HttpMyProcNumber() (MyProc->pgprocno)
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

#endif							/* PG_HTTP_PGCOMPAT_H */
