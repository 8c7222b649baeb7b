/*-------------------------------------------------------------------------
 *
 * url.c
 *	  Parsing and validation of http and https URLs (RFC 3986, with the
 *	  WHATWG URL Standard's reading of numeric IPv4 hosts).
 *
 * Hosts that "end in a number" are read as IPv4 addresses in every spelling
 * a resolver would accept (2130706433, 0177.0.0.1, 127.1, 0x7f.1), so that
 * the address guard sees the address that would really be used instead of a
 * name it cannot judge.  No PostgreSQL header may be included here.
 *
 *-------------------------------------------------------------------------
 */
#include "url.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const url_error_messages[] = {
	[HTTP_URL_OK] = "no error",
	[HTTP_URL_E_SCHEME_MISSING] = "URL must start with http:// or https://",
	[HTTP_URL_E_SCHEME] = "unsupported URL scheme",
	[HTTP_URL_E_HOST_EMPTY] = "URL has no host",
	[HTTP_URL_E_HOST_CHAR] = "invalid character in host name",
	[HTTP_URL_E_HOST_LENGTH] = "host name too long",
	[HTTP_URL_E_IPV6] = "invalid IPv6 address",
	[HTTP_URL_E_IPV6_ZONE] = "IPv6 zone identifiers are not supported",
	[HTTP_URL_E_IPV4] = "invalid IPv4 address",
	[HTTP_URL_E_PORT] = "invalid port",
	[HTTP_URL_E_USERINFO] = "invalid character in user information",
	[HTTP_URL_E_PATH_CHAR] = "invalid character in path or query",
	[HTTP_URL_E_PERCENT] = "invalid percent-encoding",
	[HTTP_URL_E_NUL] = "URL contains a NUL byte",
};

/* A static English description of an HttpUrlError. */
const char *
HttpUrlErrorMessage(HttpUrlError err)
{
	if ((int) err < 0 || (size_t) err >= sizeof(url_error_messages) / sizeof(url_error_messages[0]))
		return "invalid URL";
	return url_error_messages[err];
}

static inline bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 3986 unreserved and sub-delims, plus ':' (userinfo). */
static inline bool
is_userinfo_char(char c)
{
	return is_alpha(c) || is_digit(c) || (c != 0 && strchr("-._~!$&'()*+,;=:", c) != NULL);
}

/* Does s[i] start a valid "%XX"? */
static inline bool
valid_percent(const char *s, size_t len, size_t i)
{
	return i + 2 < len && is_hex(s[i + 1]) && is_hex(s[i + 2]);
}

/* Printable ASCII without '#', with valid percent-encoding. */
static HttpUrlError
check_target_chars(const char *s, size_t len, size_t *errpos)
{
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		*errpos = i;
		if (c == '\0')
			return HTTP_URL_E_NUL;
		if (c <= 0x20 || c >= 0x7f || c == '#')
			return HTTP_URL_E_PATH_CHAR;
		if (c == '%' && !valid_percent(s, len, i))
			return HTTP_URL_E_PERCENT;
	}
	return HTTP_URL_OK;
}

/* Validate an origin-form request target: "/" path [ "?" query ]. */
HttpUrlError
HttpUrlCheckTarget(const char *s, size_t len, size_t *errpos)
{
	*errpos = 0;
	if (len == 0 || s[0] != '/')
		return HTTP_URL_E_PATH_CHAR;
	return check_target_chars(s, len, errpos);
}

/*
 * Parse one IPv4 part the WHATWG way: "0x" hex, leading "0" octal, else
 * decimal.  Returns false if it is not a number at all.
 */
static bool
ipv4_number(const char *s, size_t len, uint64_t *out)
{
	int			base = 10;
	uint64_t	v = 0;

	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
	{
		base = 16;
		s += 2;
		len -= 2;
	}
	else if (len >= 2 && s[0] == '0')
	{
		base = 8;
		s++;
		len--;
	}
	for (size_t i = 0; i < len; i++)
	{
		int			d;

		if (is_digit(s[i]))
			d = s[i] - '0';
		else if (base == 16 && is_hex(s[i]))
			d = (s[i] | 0x20) - 'a' + 10;
		else
			return false;
		if (d >= base)
			return false;
		v = v * (uint64_t) base + (uint64_t) d;
		if (v > UINT64_C(0xffffffffff))
			v = UINT64_C(0xffffffffff); /* saturate: surely out of range */
	}
	*out = v;
	return true;
}

/*
 * Does the host "end in a number" (WHATWG): its last non-empty label is all
 * digits, or a 0x hex number?  Such a host must be a valid IPv4 address.
 */
static bool
ends_in_number(const char *h, size_t len)
{
	size_t		end = len,
				start;
	uint64_t	dummy;

	if (end > 0 && h[end - 1] == '.')
		end--;
	start = end;
	while (start > 0 && h[start - 1] != '.')
		start--;
	if (start == end)
		return false;
	for (size_t i = start; i < end; i++)
		if (!is_digit(h[i]))
			return (end - start >= 2 && h[start] == '0' &&
					(h[start + 1] == 'x' || h[start + 1] == 'X') &&
					ipv4_number(h + start, end - start, &dummy));
	return true;
}

/* Parse a host that ends in a number into 4 address bytes. */
static HttpUrlError
parse_ipv4(const char *h, size_t len, unsigned char *addr)
{
	uint64_t	parts[4];
	int			n = 0;
	size_t		i = 0;
	uint64_t	v;

	if (len > 0 && h[len - 1] == '.')
		len--;
	while (i <= len)
	{
		size_t		start = i;

		while (i < len && h[i] != '.')
			i++;
		if (n == 4 || i == start || !ipv4_number(h + start, i - start, &parts[n]))
			return HTTP_URL_E_IPV4;
		n++;
		i++;
	}
	for (int k = 0; k < n - 1; k++)
		if (parts[k] > 255)
			return HTTP_URL_E_IPV4;
	if (parts[n - 1] >= (UINT64_C(1) << (8 * (5 - n))))
		return HTTP_URL_E_IPV4;
	v = parts[n - 1];
	for (int k = 0; k < n - 1; k++)
		v += parts[k] << (8 * (3 - k));
	addr[0] = (unsigned char) (v >> 24);
	addr[1] = (unsigned char) (v >> 16);
	addr[2] = (unsigned char) (v >> 8);
	addr[3] = (unsigned char) v;
	return HTTP_URL_OK;
}

/* Validate a DNS host name: LDH labels and '_', label and total lengths. */
static HttpUrlError
check_name(const char *h, size_t len, size_t *errpos)
{
	size_t		label = 0;

	if (len > HTTP_URL_MAX_HOST + 1 || (len > HTTP_URL_MAX_HOST && h[len - 1] != '.'))
	{
		*errpos = 0;
		return HTTP_URL_E_HOST_LENGTH;
	}
	for (size_t i = 0; i < len; i++)
	{
		char		c = h[i];

		*errpos = i;
		if (c == '.')
		{
			/* no empty label, except the root after a trailing dot */
			if (label == 0)
				return HTTP_URL_E_HOST_CHAR;
			label = 0;
			continue;
		}
		if (c == '\0')
			return HTTP_URL_E_NUL;
		if (!(is_alpha(c) || is_digit(c) || c == '-' || c == '_'))
			return HTTP_URL_E_HOST_CHAR;
		if (++label > HTTP_URL_MAX_LABEL)
			return HTTP_URL_E_HOST_LENGTH;
	}
	return HTTP_URL_OK;
}

/*
 * Classify a bare host (no brackets needed around IPv6) the same way
 * HttpUrlParse does, filling host, host_len, host_kind and addr of u.
 */
HttpUrlError
HttpUrlParseHost(const char *s, size_t len, HttpUrl *u, size_t *errpos)
{
	HttpUrlError err;

	*errpos = 0;
	u->host = s;
	u->host_len = len;
	if (len == 0)
		return HTTP_URL_E_HOST_EMPTY;

	if (memchr(s, ':', len) != NULL)
	{
		char		buf[64];

		if (memchr(s, '%', len) != NULL)
			return HTTP_URL_E_IPV6_ZONE;
		if (len >= sizeof(buf))
			return HTTP_URL_E_IPV6;
		memcpy(buf, s, len);
		buf[len] = '\0';
		if (inet_pton(AF_INET6, buf, u->addr) != 1)
			return HTTP_URL_E_IPV6;
		u->host_kind = HTTP_HOST_IPV6;
		return HTTP_URL_OK;
	}

	if ((err = check_name(s, len, errpos)) != HTTP_URL_OK)
		return err;
	if (ends_in_number(s, len))
	{
		*errpos = 0;			/* a bad address is wrong as a whole */
		u->host_kind = HTTP_HOST_IPV4;
		return parse_ipv4(s, len, u->addr);
	}
	u->host_kind = HTTP_HOST_NAME;
	return HTTP_URL_OK;
}

/*
 * Parse an absolute http or https URL of len bytes.  The fragment, if any,
 * is dropped.  On error, *errpos is the byte offset of the offending part.
 */
HttpUrlError
HttpUrlParse(const char *s, size_t len, HttpUrl *u, size_t *errpos)
{
	size_t		i = 0,
				auth_start,
				auth_end,
				host_start,
				host_end,
				target_end;
	const char *at;
	HttpUrlError err;

	memset(u, 0, sizeof(*u));
	*errpos = 0;

	if (memchr(s, '\0', len) != NULL)
	{
		*errpos = (size_t) ((const char *) memchr(s, '\0', len) - s);
		return HTTP_URL_E_NUL;
	}

	/* scheme ":" "//" */
	while (i < len && (is_alpha(s[i]) || (i > 0 && (is_digit(s[i]) || s[i] == '+' ||
													 s[i] == '-' || s[i] == '.'))))
		i++;
	if (i == 0 || i + 3 > len || s[i] != ':' || s[i + 1] != '/' || s[i + 2] != '/')
		return HTTP_URL_E_SCHEME_MISSING;
	if (i == 4 && strncasecmp(s, "http", 4) == 0)
		u->tls = false;
	else if (i == 5 && strncasecmp(s, "https", 5) == 0)
		u->tls = true;
	else
		return HTTP_URL_E_SCHEME;
	i += 3;

	/* authority: up to the first '/', '?' or '#' */
	auth_start = i;
	while (i < len && s[i] != '/' && s[i] != '?' && s[i] != '#')
		i++;
	auth_end = i;

	/* userinfo: everything before the last '@' */
	host_start = auth_start;
	at = NULL;
	for (size_t k = auth_start; k < auth_end; k++)
		if (s[k] == '@')
			at = s + k;
	if (at != NULL)
	{
		u->userinfo = s + auth_start;
		u->userinfo_len = (size_t) (at - u->userinfo);
		for (size_t k = 0; k < u->userinfo_len; k++)
		{
			char		c = u->userinfo[k];

			/* positions inside userinfo are not reported: it may be a secret */
			*errpos = auth_start;
			if (c == '%' ? !valid_percent(u->userinfo, u->userinfo_len, k)
				: !is_userinfo_char(c))
				return HTTP_URL_E_USERINFO;
		}
		host_start = (size_t) (at - s) + 1;
	}

	/* host, then optional ":" port */
	if (host_start < auth_end && s[host_start] == '[')
	{
		const char *close = memchr(s + host_start, ']', auth_end - host_start);

		if (close == NULL)
		{
			*errpos = host_start;
			return HTTP_URL_E_IPV6;
		}
		host_end = (size_t) (close - s);
		err = HttpUrlParseHost(s + host_start + 1, host_end - host_start - 1, u, errpos);
		*errpos += host_start + 1;
		if (err != HTTP_URL_OK)
			return err;
		if (u->host_kind != HTTP_HOST_IPV6)
		{
			*errpos = host_start;
			return HTTP_URL_E_IPV6;
		}
		host_end++;				/* past ']' */
		if (host_end < auth_end && s[host_end] != ':')
		{
			*errpos = host_end;
			return HTTP_URL_E_PORT;
		}
	}
	else
	{
		const char *colon = memchr(s + host_start, ':', auth_end - host_start);

		host_end = colon ? (size_t) (colon - s) : auth_end;
		err = HttpUrlParseHost(s + host_start, host_end - host_start, u, errpos);
		*errpos += host_start;
		if (err != HTTP_URL_OK)
			return err;
	}

	u->port = u->tls ? 443 : 80;
	if (host_end < auth_end)
	{
		long		port = 0;

		/* s[host_end] is ':'; an empty port means the default (RFC 3986 3.2.3) */
		for (size_t k = host_end + 1; k < auth_end; k++)
		{
			*errpos = k;
			if (!is_digit(s[k]))
				return HTTP_URL_E_PORT;
			port = port * 10 + (s[k] - '0');
			if (port > 65535)
				return HTTP_URL_E_PORT;
		}
		if (auth_end > host_end + 1)
		{
			if (port == 0)
				return HTTP_URL_E_PORT;
			u->port = (int) port;
			u->port_given = true;
		}
	}

	/* path and query, up to the fragment */
	target_end = i;
	while (target_end < len && s[target_end] != '#')
		target_end++;
	u->target = s + i;
	u->target_len = target_end - i;
	/* "http://h" and "http://h?q" have an empty path: the caller sends "/" */
	err = check_target_chars(u->target, u->target_len, errpos);
	if (err != HTTP_URL_OK)
	{
		*errpos += i;
		return err;
	}
	/* the fragment is never sent, but must not smuggle control bytes either */
	for (size_t k = target_end; k < len; k++)
	{
		unsigned char c = (unsigned char) s[k];

		if (c <= 0x20 || c >= 0x7f)
		{
			*errpos = k;
			return HTTP_URL_E_PATH_CHAR;
		}
	}
	return HTTP_URL_OK;
}

/* Write the canonical text of u's host into buf (at least 64 bytes). */
void
HttpUrlHostText(const HttpUrl *u, char *buf, size_t buflen)
{
	switch (u->host_kind)
	{
		case HTTP_HOST_IPV4:
			snprintf(buf, buflen, "%u.%u.%u.%u",
					 u->addr[0], u->addr[1], u->addr[2], u->addr[3]);
			break;
		case HTTP_HOST_IPV6:
			if (inet_ntop(AF_INET6, u->addr, buf, (socklen_t) buflen) == NULL)
				snprintf(buf, buflen, "::");
			break;
		case HTTP_HOST_NAME:
			snprintf(buf, buflen, "%.*s", (int) u->host_len, u->host);
			break;
	}
}

/*
 * s[0..len) percent-encoded for a query string or a form body: RFC 3986's
 * unreserved characters (letters, digits, -._~) as they are, a space as
 * "+" when space_as_plus (pgsql-http's urlencode()) or else %20 (pg_net's,
 * curl's), every other byte as %XX in upper-case hex; the input ends at
 * its first NUL.  out must hold HTTP_URL_ENCODED_MAX(len) bytes; it is
 * NUL-terminated and its length returned.
 */
size_t
HttpUrlEncode(const char *s, size_t len, bool space_as_plus, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t		n = 0;

	for (size_t i = 0; i < len && s[i] != '\0'; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == '~')
			out[n++] = (char) c;
		else if (c == ' ' && space_as_plus)
			out[n++] = '+';
		else
		{
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 0x0F];
		}
	}
	out[n] = '\0';
	return n;
}
