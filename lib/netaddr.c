/*-------------------------------------------------------------------------
 *
 * netaddr.c
 *	  Address classification and host rules for the policy.
 *
 * No PostgreSQL header may be included here: see netaddr.h.
 *
 *-------------------------------------------------------------------------
 */
#include "netaddr.h"
#include "url.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct Range
{
	unsigned char net[16];
	int			prefix;
	const char *what;
} Range;

/* Refused IPv4 ranges (address bytes in the first four). */
static const Range v4_reserved[] = {
	{{0}, 8, "\"this network\" (0.0.0.0/8)"},
	{{10}, 8, "private (10.0.0.0/8)"},
	{{100, 64}, 10, "shared address space (100.64.0.0/10)"},
	{{127}, 8, "loopback (127.0.0.0/8)"},
	{{169, 254}, 16, "link-local or cloud metadata (169.254.0.0/16)"},
	{{172, 16}, 12, "private (172.16.0.0/12)"},
	{{192, 0, 0}, 24, "IETF protocol assignments (192.0.0.0/24)"},
	{{192, 168}, 16, "private (192.168.0.0/16)"},
	{{198, 18}, 15, "benchmarking (198.18.0.0/15)"},

	/*
	 * Azure's platform address (wire server, instance metadata and DNS for
	 * every VM; Microsoft Learn, "What is IP address 168.63.129.16?").  The
	 * other clouds' metadata services sit in ranges above: 169.254.169.254
	 * (AWS, GCP, Azure IMDS, Oracle, DigitalOcean), 169.254.0.23 (Tencent),
	 * 100.100.100.200 (Alibaba, in 100.64.0.0/10), fd00:ec2::254 (AWS IPv6,
	 * in fc00::/7).
	 */
	{{168, 63, 129, 16}, 32, "cloud platform address (Azure, 168.63.129.16)"},
	{{224}, 4, "multicast (224.0.0.0/4)"},
	{{240}, 4, "reserved (240.0.0.0/4)"},
};

/* Refused IPv6 ranges that carry no IPv4 address. */
static const Range v6_reserved[] = {
	{{0}, 128, "unspecified (::)"},
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "loopback (::1)"},
	{{0xfc}, 7, "unique local (fc00::/7)"},
	{{0xfe, 0x80}, 10, "link-local (fe80::/10)"},
	{{0xfe, 0xc0}, 10, "site-local (fec0::/10)"},
	{{0xff}, 8, "multicast (ff00::/8)"},
	{{0x20, 0x01, 0, 0}, 32, "Teredo (2001::/32)"},
	{{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local-use NAT64 (64:ff9b:1::/48)"},
};

/* IPv6 ranges that embed an IPv4 address, and where it sits. */
typedef struct Embedded
{
	unsigned char net[16];
	int			prefix;
	int			offset;			/* byte offset of the IPv4 address */
} Embedded;

static const Embedded v6_embedded[] = {
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96, 12},	/* ::ffff:0:0/96 mapped */
	{{0x00, 0x64, 0xff, 0x9b}, 96, 12}, /* 64:ff9b::/96 NAT64 */
	{{0x20, 0x02}, 16, 2},		/* 2002::/16 6to4 */
	{{0}, 96, 12},				/* ::/96 IPv4-compatible (deprecated) */
};

/* Do the first prefix bits of a and net agree? */
static bool
prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
	int			full = prefix / 8,
				rest = prefix % 8;

	if (memcmp(a, net, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (0xff << (8 - rest)) & 0xff) == 0;
}

/* Convert a socket address; false if it is neither IPv4 nor IPv6. */
bool
HttpAddrFromSockaddr(const struct sockaddr *sa, HttpAddr *out, int *port)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

		out->family = 4;
		memcpy(out->a, &in->sin_addr, 4);
		if (port)
			*port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

		out->family = 6;
		memcpy(out->a, &in6->sin6_addr, 16);
		if (port)
			*port = ntohs(in6->sin6_port);
		return true;
	}
	return false;
}

/* Classify 4 IPv4 bytes. */
static const char *
v4_reserved_range(const unsigned char *a)
{
	static const unsigned char bcast[4] = {255, 255, 255, 255};

	if (memcmp(a, bcast, 4) == 0)
		return "broadcast (255.255.255.255)";
	for (size_t i = 0; i < sizeof(v4_reserved) / sizeof(v4_reserved[0]); i++)
		if (prefix_match(a, v4_reserved[i].net, v4_reserved[i].prefix))
			return v4_reserved[i].what;
	return NULL;
}

/*
 * NULL for an ordinary public unicast address; otherwise a description of
 * the reserved range it falls in, e.g. "loopback (127.0.0.0/8)".  IPv4
 * embedded in IPv6 (mapped, NAT64, 6to4, compatible) is judged by the
 * embedded IPv4 address.
 */
const char *
HttpAddrReserved(const HttpAddr *a)
{
	if (a->family == 4)
		return v4_reserved_range(a->a);

	/* :: and ::1 first: they also fall inside ::/96 */
	for (size_t i = 0; i < sizeof(v6_reserved) / sizeof(v6_reserved[0]); i++)
		if (prefix_match(a->a, v6_reserved[i].net, v6_reserved[i].prefix))
			return v6_reserved[i].what;
	for (size_t i = 0; i < sizeof(v6_embedded) / sizeof(v6_embedded[0]); i++)
		if (prefix_match(a->a, v6_embedded[i].net, v6_embedded[i].prefix))
		{
			const char *what = v4_reserved_range(a->a + v6_embedded[i].offset);

			/* a public IPv4 address behind one of these forms is public */
			return what;
		}
	return NULL;
}

/* Text form of an address into buf (INET6_ADDRSTRLEN is enough). */
void
HttpAddrText(const HttpAddr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family == 4 ? AF_INET : AF_INET6, a->a, buf, (socklen_t) len) == NULL)
		snprintf(buf, len, "?");
}

/* A socket address's address as text ("?" if not IPv4 or IPv6), into buf. */
void
HttpSockaddrText(const struct sockaddr *sa, char *buf, size_t len)
{
	HttpAddr	a;
	int			port;

	if (!HttpAddrFromSockaddr(sa, &a, &port))
		snprintf(buf, len, "?");
	else
		HttpAddrText(&a, buf, len);
}

/* Parse "N" or "N-M" (1..65535) at s[0..len). */
static bool
parse_ports(const char *s, size_t len, int *lo, int *hi)
{
	long		v[2] = {0, 0};
	int			n = 0;
	size_t		digits = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (s[i] == '-' && n == 0 && digits > 0)
		{
			n = 1;
			digits = 0;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return false;
		v[n] = v[n] * 10 + (s[i] - '0');
		if (v[n] > 65535)
			return false;
		digits++;
	}
	if (digits == 0)
		return false;
	*lo = (int) v[0];
	*hi = n == 1 ? (int) v[1] : (int) v[0];
	return *lo >= 1 && *lo <= *hi;
}

/* How many times c occurs in s[0..len). */
static int
count_char(const char *s, size_t len, char c)
{
	int			n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == c;
	return n;
}

/* Parse one entry s[0..len) (already trimmed) into r; NULL or an error. */
static const char *
parse_rule(const char *s, size_t len, HttpHostRule *r)
{
	const char *host = s;
	size_t		hlen = len;
	const char *ports = NULL;
	size_t		plen = 0;
	const char *slash;
	int			prefix = -1;
	HttpUrl		u;
	size_t		errpos;

	memset(r, 0, sizeof(*r));
	r->port_lo = 1;
	r->port_hi = 65535;

	if (len > 0 && s[0] == '[')
	{
		const char *close = memchr(s, ']', len);
		const char *after;

		if (close == NULL)
			return "missing \"]\"";
		host = s + 1;
		hlen = (size_t) (close - host);
		after = close + 1;
		if (after < s + len && *after == '/')
		{
			const char *p = after + 1;

			prefix = 0;
			while (p < s + len && *p >= '0' && *p <= '9' && prefix <= 128)
				prefix = prefix * 10 + (*p++ - '0');
			if (p == after + 1)
				return "invalid prefix length";
			after = p;
		}
		if (after < s + len)
		{
			if (*after != ':')
				return "unexpected text after \"]\"";
			ports = after + 1;
			plen = (size_t) (s + len - ports);
		}
	}
	else if (count_char(s, len, ':') >= 2)
	{
		/* a bare IPv6 address: it cannot carry a port (use brackets) */
	}
	else
	{
		const char *colon = memchr(s, ':', len);

		if (colon != NULL)
		{
			hlen = (size_t) (colon - s);
			ports = colon + 1;
			plen = (size_t) (s + len - ports);
		}
	}

	if (ports != NULL && !parse_ports(ports, plen, &r->port_lo, &r->port_hi))
		return "invalid port or port range";

	/* CIDR suffix outside brackets */
	if (prefix < 0 && (slash = memchr(host, '/', hlen)) != NULL)
	{
		const char *p = slash + 1;

		prefix = 0;
		if (p == host + hlen)
			return "invalid prefix length";
		while (p < host + hlen)
		{
			if (*p < '0' || *p > '9' || prefix > 128)
				return "invalid prefix length";
			prefix = prefix * 10 + (*p++ - '0');
		}
		hlen = (size_t) (slash - host);
	}

	if (hlen == 1 && host[0] == '*')
	{
		if (prefix >= 0)
			return "\"*\" cannot have a prefix length";
		r->kind = HTTP_RULE_ANY;
		return NULL;
	}
	if (hlen > 2 && host[0] == '*' && host[1] == '.')
	{
		host += 2;
		hlen -= 2;
		r->kind = HTTP_RULE_SUFFIX;
	}
	else
		r->kind = HTTP_RULE_NAME;

	if (HttpUrlParseHost(host, hlen, &u, &errpos) != HTTP_URL_OK)
		return "invalid host name or address";

	if (u.host_kind == HTTP_HOST_NAME)
	{
		size_t		n = hlen;

		if (prefix >= 0)
			return "a prefix length needs an address";
		if (n > 0 && host[n - 1] == '.')
			n--;
		for (size_t i = 0; i < n; i++)
			r->name[i] = (host[i] >= 'A' && host[i] <= 'Z') ? host[i] + 32 : host[i];
		r->name[n] = '\0';
		return NULL;
	}

	if (r->kind == HTTP_RULE_SUFFIX)
		return "\"*.\" needs a domain name";
	r->kind = HTTP_RULE_NET;
	r->net.family = u.host_kind == HTTP_HOST_IPV4 ? 4 : 6;
	memcpy(r->net.a, u.addr, 16);
	if (prefix < 0)
		prefix = r->net.family == 4 ? 32 : 128;
	if (prefix > (r->net.family == 4 ? 32 : 128))
		return "invalid prefix length";
	r->prefix = prefix;
	return NULL;
}

/*
 * Parse a comma-separated rule list.  Returns the number of rules (up to
 * max are stored; call with max 0 to count), or -1 with *err and *errpos
 * describing the first bad entry.
 */
int
HttpHostRulesParse(const char *s, HttpHostRule *rules, int max,
				   const char **err, size_t *errpos)
{
	int			n = 0;
	size_t		i = 0,
				len = strlen(s);

	while (i < len)
	{
		size_t		start,
					end;

		while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
			i++;
		start = i;
		while (i < len && s[i] != ',')
			i++;
		end = i;
		while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
			end--;
		if (end == start)
			continue;
		if (n < max)
		{
			const char *e = parse_rule(s + start, end - start, &rules[n]);

			if (e != NULL)
			{
				*err = e;
				*errpos = start;
				return -1;
			}
		}
		else
		{
			HttpHostRule scratch;
			const char *e = parse_rule(s + start, end - start, &scratch);

			if (e != NULL)
			{
				*err = e;
				*errpos = start;
				return -1;
			}
		}
		n++;
	}
	return n;
}

/* Does the rule cover this host name (lower case, no trailing dot)? */
bool
HttpHostRuleMatchName(const HttpHostRule *r, const char *host, int port)
{
	size_t		hl,
				nl;

	if (port < r->port_lo || port > r->port_hi)
		return false;
	switch (r->kind)
	{
		case HTTP_RULE_ANY:
			return true;
		case HTTP_RULE_NAME:
			return strcmp(r->name, host) == 0;
		case HTTP_RULE_SUFFIX:
			hl = strlen(host);
			nl = strlen(r->name);
			return hl > nl + 1 && host[hl - nl - 1] == '.' &&
				strcmp(host + hl - nl, r->name) == 0;
		case HTTP_RULE_NET:
			return false;
	}
	return false;
}

/* Does the rule cover this address?  ANY rules never do. */
bool
HttpHostRuleMatchAddr(const HttpHostRule *r, const HttpAddr *a, int port)
{
	if (r->kind != HTTP_RULE_NET || port < r->port_lo || port > r->port_hi)
		return false;
	if (r->net.family == a->family)
		return prefix_match(a->a, r->net.a, r->prefix);

	/*
	 * An IPv4 rule also covers every IPv6 form that embeds its addresses
	 * (mapped, NAT64, 6to4, compatible): "deny 10.0.0.0/8" must not be
	 * walked around by writing [::ffff:10.0.0.1] or [64:ff9b::a00:1].
	 */
	if (r->net.family == 4 && a->family == 6)
	{
		for (size_t i = 0; i < sizeof(v6_embedded) / sizeof(v6_embedded[0]); i++)
			if (prefix_match(a->a, v6_embedded[i].net, v6_embedded[i].prefix))
				return prefix_match(a->a + v6_embedded[i].offset, r->net.a, r->prefix);
	}
	return false;
}
