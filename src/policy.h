/*-------------------------------------------------------------------------
 *
 * policy.h
 *	  Who may reach what: host lists, per-role ACLs, the address guard.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_POLICY_H
#define PG_HTTP_POLICY_H

#include "pg_http.h"
#include "exchange.h"

extern void HttpPolicyInit(void);
extern bool HttpPolicyJudge(const HttpRequest *req, HttpFailure *f);
extern void HttpPolicyCheckRequest(HttpRequest *req);
extern bool HttpPolicyCheckExchange(HttpExchange *x);
extern bool HttpPolicyCheckAddress(HttpExchange *x, const struct sockaddr *sa, bool report);
extern void HttpPolicyNoteRefusal(HttpExchange *x, const struct sockaddr *sa);
extern void HttpPolicyReportRefusal(HttpExchange *x);
extern bool HttpPolicyAclEnforced(void);
extern char *HttpAclEntryText(const char *pattern, const char *ports);
extern bool HttpRulesCoverRequest(const struct HttpRuleList *r, const HttpRequest *req);

#endif							/* PG_HTTP_POLICY_H */
