/*-------------------------------------------------------------------------
 *
 * redirect.h
 *	  Following redirects, hop by hop, through the checks of the first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_REDIRECT_H
#define PG_HTTP_REDIRECT_H

#include "pg_http.h"

extern bool HttpRedirectPrepare(HttpExchange *x);
extern char *HttpResolveReference(const HttpRequest *req, const char *loc);

#endif							/* PG_HTTP_REDIRECT_H */
