/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  http.stats: counts per database, role, host:port and kind.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HTTP_STATS_H
#define PG_HTTP_STATS_H

#include "pg_http.h"
#include "hostctl.h"

#define HTTP_STAT_BUCKETS 16
#define HTTP_STAT_CLASSES 9

/* The SQLSTATE classes counted apart, in err_count order. */
extern const int HttpStatClasses[HTTP_STAT_CLASSES - 1];

typedef struct HttpStat
{
	int64		calls;
	int64		timeouts;		/* 08T00 */
	int64		err_count[HTTP_STAT_CLASSES];	/* per HttpStatClasses, then others */
	int64		status_class[5];	/* 1xx .. 5xx answers */
	int64		bytes_sent;		/* request bodies */
	int64		bytes_received; /* response bodies */
	int64		conns_opened;
	int64		conns_reused;
	int64		hist[HTTP_STAT_BUCKETS];
	double		total_ms;
	double		max_ms;
} HttpStat;

typedef struct HttpStatRow
{
	Oid			role;
	bool		delivery;
	char		host[HTTP_HOST_KEY_LEN];
	HttpStat	s;
} HttpStatRow;

extern Size HttpStatsShmemSize(void);
extern void HttpStatsShmemInit(void);
extern bool HttpStatsShared(void);
extern void HttpStatsCount(const HttpExchange *x);
extern int	HttpStatsRead(HttpStatRow **out, TimestampTz *reset_at);
extern void HttpStatsReset(void);
extern double HttpStatsQuantile(const HttpStat *s, double q);
extern const char *HttpStatsBucketName(int b);

#endif							/* PG_HTTP_STATS_H */
