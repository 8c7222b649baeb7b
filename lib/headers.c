/*-------------------------------------------------------------------------
 *
 * headers.c
 *	  The header model (see headers.h).  No PostgreSQL header may be
 *	  included here.
 *
 *-------------------------------------------------------------------------
 */
#include "headers.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static const HttpAllocator *mem = NULL;

/* Headers that carry credentials. */
static const char *const credential_headers[] = {
	"Authorization", "Proxy-Authorization", "Cookie",
};

/* Framing, routing and hop-by-hop fields: the client's to manage. */
static const char *const managed_headers[] = {
	"Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive",
	"Proxy-Connection", "Proxy-Authorization", "Proxy-Authenticate", "TE", "Trailer",
	"Upgrade", "Expect",
};

/*
 * Set the allocator every list of the process uses, once, before any add:
 * its functions must return memory or not return.
 */
void
HttpHeadersSetAllocator(const HttpAllocator *m)
{
	mem = m;
}

/* A NUL-terminated copy of s[0..len) from the allocator. */
static char *
copy(const char *s, size_t len)
{
	char	   *out = mem->alloc(len + 1);

	memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

/* Append a field: copies of name[0..name_len) and value[0..value_len). */
void
HttpHeaderAdd(HttpHeaderList *l, const char *name, size_t name_len,
			  const char *value, size_t value_len)
{
	if (l->n == l->cap)
	{
		l->cap = l->cap ? l->cap * 2 : 16;
		l->items = l->items ? mem->grow(l->items, l->cap * sizeof(HttpHeader))
			: mem->alloc(l->cap * sizeof(HttpHeader));
	}
	l->items[l->n].name = copy(name, name_len);
	l->items[l->n].value = copy(value, value_len);
	l->n++;
}

/* The value of the first field called name (ASCII case-insensitive), or NULL. */
const char *
HttpHeaderGet(const HttpHeaderList *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (strcasecmp(l->items[i].name, name) == 0)
			return l->items[i].value;
	return NULL;
}

/* Remove every field called name; returns the first one's value, or NULL. */
char *
HttpHeaderTake(HttpHeaderList *l, const char *name)
{
	char	   *first = NULL;
	int			k = 0;

	for (int i = 0; i < l->n; i++)
	{
		if (strcasecmp(l->items[i].name, name) == 0)
		{
			if (first == NULL)
				first = l->items[i].value;
			continue;
		}
		l->items[k++] = l->items[i];
	}
	l->n = k;
	return first;
}

/*
 * Is name[0..len) a header that carries credentials (Authorization,
 * Proxy-Authorization, Cookie)?  Such headers are kept out of errors and
 * logs, not sent on to another origin, and not kept once a queued request
 * is finished.
 */
bool
HttpIsCredentialHeader(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(credential_headers) / sizeof(credential_headers[0]); i++)
		if (strlen(credential_headers[i]) == len &&
			strncasecmp(name, credential_headers[i], len) == 0)
			return true;
	return false;
}

/*
 * Is this a field the client manages (framing, routing, the connection, the
 * proxy)?  Values pg_http computes or reads from secrets never go there.
 */
bool
HttpIsManagedHeader(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(managed_headers) / sizeof(managed_headers[0]); i++)
		if (strlen(managed_headers[i]) == len &&
			strncasecmp(name, managed_headers[i], len) == 0)
			return true;
	return false;
}

static const char *const day_names[7][2] = {
	{"Mon", "Monday"}, {"Tue", "Tuesday"}, {"Wed", "Wednesday"}, {"Thu", "Thursday"},
	{"Fri", "Friday"}, {"Sat", "Saturday"}, {"Sun", "Sunday"},
};
static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Consume literal lit at *p; false if it is not there. */
static bool
take(const char **p, const char *lit)
{
	size_t		n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Consume exactly n digits at *p (a leading space counts as 0 if pad). */
static bool
take_digits(const char **p, int n, bool pad, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		char		c = (*p)[i];

		if (pad && i == 0 && c == ' ')
			c = '0';
		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* Consume a day name (short, or long if allow_long); false if none. */
static bool
take_day(const char **p, bool allow_long)
{
	for (int i = 0; i < 7; i++)
		if ((allow_long && take(p, day_names[i][1])) || take(p, day_names[i][0]))
			return true;
	return false;
}

/* Consume a month name into tm_mon; false if none. */
static bool
take_month(const char **p, struct tm *tm)
{
	for (int i = 0; i < 12; i++)
		if (take(p, month_names[i]))
		{
			tm->tm_mon = i;
			return true;
		}
	return false;
}

/* Consume "HH:MM:SS" into tm. */
static bool
take_time(const char **p, struct tm *tm)
{
	return take_digits(p, 2, false, &tm->tm_hour) && take(p, ":") &&
		take_digits(p, 2, false, &tm->tm_min) && take(p, ":") &&
		take_digits(p, 2, false, &tm->tm_sec) &&
		tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
}

/*
 * Parse an HTTP-date (RFC 9110 5.6.7) in any of its three forms into *t:
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", the obsolete RFC 850 form
 * "Sunday, 06-Nov-94 08:49:37 GMT" (a two-digit year more than 50 years
 * ahead of now is in the past century) and asctime "Sun Nov  6 08:49:37
 * 1994".  False if v is none of them.
 */
static bool
parse_http_date(const char *v, time_t now, time_t *t)
{
	const char *p = v;
	struct tm	tm;
	int			year;

	memset(&tm, 0, sizeof(tm));
	if (take_day(&p, false) && take(&p, " "))
	{
		/* asctime */
		if (!take_month(&p, &tm) || !take(&p, " ") || !take_digits(&p, 2, true, &tm.tm_mday) ||
			!take(&p, " ") || !take_time(&p, &tm) || !take(&p, " ") ||
			!take_digits(&p, 4, false, &year))
			return false;
	}
	else
	{
		bool		fixdate;

		p = v;
		if (!take_day(&p, true) || !take(&p, ", ") || !take_digits(&p, 2, false, &tm.tm_mday))
			return false;
		fixdate = take(&p, " ");
		if (!fixdate && !take(&p, "-"))
			return false;
		if (!take_month(&p, &tm) || !take(&p, fixdate ? " " : "-"))
			return false;
		if (fixdate)
		{
			if (!take_digits(&p, 4, false, &year))
				return false;
		}
		else
		{
			struct tm	now_tm;
			int			this_year;

			if (!take_digits(&p, 2, false, &year) || gmtime_r(&now, &now_tm) == NULL)
				return false;
			this_year = now_tm.tm_year + 1900;
			year += this_year - this_year % 100;
			if (year > this_year + 50)
				year -= 100;
		}
		if (!take(&p, " ") || !take_time(&p, &tm) || !take(&p, " GMT"))
			return false;
	}
	if (*p != '\0' || tm.tm_mday < 1 || tm.tm_mday > 31)
		return false;
	tm.tm_year = year - 1900;
	*t = timegm(&tm);
	return *t != (time_t) -1;
}

/*
 * Seconds a Retry-After value asks to wait, as of now: delta-seconds, or an
 * HTTP-date in any of its three forms (RFC 9110 10.2.3; a date in the past
 * is 0).  -1 when it is neither, or NULL.
 */
double
HttpRetryAfterSeconds(const char *v, time_t now)
{
	char	   *end;
	long		secs;
	time_t		t;
	size_t		len;
	char		buf[64];

	if (v == NULL)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9')
	{
		secs = strtol(v, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		return *end == '\0' && secs >= 0 ? (double) secs : -1;
	}
	/* trailing whitespace is not part of the value */
	len = strlen(v);
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (!parse_http_date(buf, now, &t))
		return -1;
	return t > now ? difftime(t, now) : 0;
}
