/*-------------------------------------------------------------------------
 *
 * api.h
 *	  What the SQL functions' files share: requests of a call's arguments
 *	  and response rows (api.c), for the streaming functions (rows.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_API_H
#define PG_HTTP_API_H

#include "pg_http.h"

#include "access/tupdesc.h"
#include "fmgr.h"

extern HttpRequest *HttpCallRequest(FunctionCallInfo fcinfo, const char *method,
									const char *url, size_t len, int headers, int options);
extern bool HttpCallHasSecrets(FunctionCallInfo fcinfo, int url_arg, int headers_arg);
extern Datum HttpResponseDatum(HttpExchange *x, TupleDesc td, bool bytes);

#endif							/* PG_HTTP_API_H */
