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
#include "netaddr.h"

/*
 * What decided a verdict of the policy (http.check): pointers into the
 * judged request's settings snapshot and ACL set, NULL where nothing of
 * that kind took part.
 */
typedef struct HttpPolicyWhy
{
	const char *judged;			/* "host", "Host header" or "address" */
	const HttpHostRule *denied; /* the pg_http.denied_hosts entry that covers it */
	const HttpHostRule *allowed;	/* the pg_http.allowed_hosts entry that does */
	const HttpHostRule *acl;	/* the http.acl entry that does ... */
	Oid			acl_role;		/* ... granted to this role (InvalidOid: PUBLIC) */
	const char *reserved;		/* an address: its reserved range (NULL: public) */
	const char *refused_by;		/* a refusal: "pg_http.denied_hosts",
								 * "pg_http.allowed_hosts", "http.acl", "the
								 * private-address guard" or "the Host header" */
} HttpPolicyWhy;

extern void HttpPolicyInit(void);
extern bool HttpPolicyJudge(const HttpRequest *req, HttpFailure *f);
extern bool HttpPolicyExplain(HttpRequest *req, Oid role, HttpFailure *f, HttpPolicyWhy *why);
extern const char *HttpPolicyExplainAddress(const HttpRequest *req, const struct sockaddr *sa,
											HttpPolicyWhy *why);
extern void HttpPolicyCheckRequest(HttpRequest *req);
extern bool HttpPolicyCheckExchange(HttpExchange *x);
extern bool HttpPolicyCheckAddress(HttpExchange *x, const struct sockaddr *sa, bool report);
extern void HttpPolicyNoteRefusal(HttpExchange *x, const struct sockaddr *sa);
extern void HttpPolicyReportRefusal(HttpExchange *x);
extern bool HttpPolicyAclEnforced(void);
extern char *HttpAclEntryText(const char *pattern, const char *ports);
extern bool HttpRulesCoverRequest(const struct HttpRuleList *r, const HttpRequest *req);

#endif							/* PG_HTTP_POLICY_H */
