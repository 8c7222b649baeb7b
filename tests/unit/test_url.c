/*
 * test_url.c
 *	  Unit tests of URL parsing (lib/url.c), the address classifier and the
 *	  host rules (lib/netaddr.c).
 *
 * The classifier is tested here, with no network at all, for every refused
 * range: a test must never be able to send a packet to a non-loopback
 * address, so only loopback is exercised end to end.
 */
#include "netaddr.h"
#include "url.h"
#include "unit.h"

#include <arpa/inet.h>
#include <stdbool.h>

static HttpUrlError
parse(const char *s, HttpUrl *u)
{
	size_t		errpos;
	char	   *g = guard_copy(s, strlen(s));
	HttpUrlError e = HttpUrlParse(g, strlen(s), u, &errpos);

	/* pointers into the guard copy die with it: keep only the verdict */
	if (e == HTTP_URL_OK)
	{
		static char keep[4096];

		memcpy(keep, g, strlen(s));
		u->host = keep + (u->host - g);
		u->target = keep + (u->target - g);
		if (u->userinfo)
			u->userinfo = keep + (u->userinfo - g);
	}
	guard_free(g, strlen(s));
	return e;
}

#define SPAN_IS(p, len, lit) \
	do { \
		CHECK_EQ_INT((len), strlen(lit)); \
		CHECK(memcmp((p), (lit), (len)) == 0); \
	} while (0)

static void
test_basic_urls(void)
{
	HttpUrl		u;

	CHECK_EQ_INT(parse("http://example.com", &u), HTTP_URL_OK);
	SPAN_IS(u.host, u.host_len, "example.com");
	CHECK_EQ_INT(u.port, 80);
	CHECK(!u.tls);
	CHECK(!u.port_given);
	CHECK_EQ_INT(u.target_len, 0);
	CHECK_EQ_INT(u.host_kind, HTTP_HOST_NAME);

	CHECK_EQ_INT(parse("HTTPS://Example.COM:8443/a/b?c=d&e=%41#frag", &u), HTTP_URL_OK);
	CHECK(u.tls);
	CHECK_EQ_INT(u.port, 8443);
	CHECK(u.port_given);
	SPAN_IS(u.target, u.target_len, "/a/b?c=d&e=%41");

	CHECK_EQ_INT(parse("https://h", &u), HTTP_URL_OK);
	CHECK_EQ_INT(u.port, 443);

	CHECK_EQ_INT(parse("http://h:/x", &u), HTTP_URL_OK);
	CHECK_EQ_INT(u.port, 80);

	CHECK_EQ_INT(parse("http://h?q=1", &u), HTTP_URL_OK);
	SPAN_IS(u.target, u.target_len, "?q=1");

	CHECK_EQ_INT(parse("http://ex_ample-1.com./", &u), HTTP_URL_OK);
}

static void
test_ipv6_literals(void)
{
	HttpUrl		u;
	unsigned char one[16] = {0};

	one[15] = 1;
	CHECK_EQ_INT(parse("http://[::1]:8080/x", &u), HTTP_URL_OK);
	CHECK_EQ_INT(u.host_kind, HTTP_HOST_IPV6);
	CHECK(memcmp(u.addr, one, 16) == 0);
	CHECK_EQ_INT(u.port, 8080);
	SPAN_IS(u.host, u.host_len, "::1");

	CHECK_EQ_INT(parse("http://[::ffff:127.0.0.1]/", &u), HTTP_URL_OK);
	CHECK_EQ_INT(u.host_kind, HTTP_HOST_IPV6);

	CHECK_EQ_INT(parse("http://[fe80::1%25eth0]/", &u), HTTP_URL_E_IPV6_ZONE);
	CHECK_EQ_INT(parse("http://[::1/", &u), HTTP_URL_E_IPV6);
	CHECK_EQ_INT(parse("http://[1::2::3]/", &u), HTTP_URL_E_IPV6);
	CHECK_EQ_INT(parse("http://[example.com]/", &u), HTTP_URL_E_IPV6);
	CHECK_EQ_INT(parse("http://[::1]x/", &u), HTTP_URL_E_PORT);
}

static void
test_userinfo(void)
{
	HttpUrl		u;

	CHECK_EQ_INT(parse("http://user:pa%20ss@host/", &u), HTTP_URL_OK);
	SPAN_IS(u.userinfo, u.userinfo_len, "user:pa%20ss");
	SPAN_IS(u.host, u.host_len, "host");

	/* the last @ ends the userinfo */
	CHECK_EQ_INT(parse("http://user:p@ss@host/", &u), HTTP_URL_E_USERINFO);
	CHECK_EQ_INT(parse("http://us er@host/", &u), HTTP_URL_E_USERINFO);
	CHECK_EQ_INT(parse("http://user:%zz@host/", &u), HTTP_URL_E_USERINFO);
}

static void
test_url_errors(void)
{
	HttpUrl		u;

	CHECK_EQ_INT(parse("ftp://x/", &u), HTTP_URL_E_SCHEME);
	CHECK_EQ_INT(parse("file:///etc/passwd", &u), HTTP_URL_E_SCHEME);
	CHECK_EQ_INT(parse("example.com/x", &u), HTTP_URL_E_SCHEME_MISSING);
	CHECK_EQ_INT(parse("http:/x", &u), HTTP_URL_E_SCHEME_MISSING);
	CHECK_EQ_INT(parse("", &u), HTTP_URL_E_SCHEME_MISSING);
	CHECK_EQ_INT(parse("http://", &u), HTTP_URL_E_HOST_EMPTY);
	CHECK_EQ_INT(parse("http://:80/", &u), HTTP_URL_E_HOST_EMPTY);
	CHECK_EQ_INT(parse("http://h:0/", &u), HTTP_URL_E_PORT);
	CHECK_EQ_INT(parse("http://h:65536/", &u), HTTP_URL_E_PORT);
	CHECK_EQ_INT(parse("http://h:8a/", &u), HTTP_URL_E_PORT);
	CHECK_EQ_INT(parse("http://h:99999999999999999999/", &u), HTTP_URL_E_PORT);
	CHECK_EQ_INT(parse("http://h/a b", &u), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(parse("http://h/a\r\nHost: evil", &u), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(parse("http://h/%zz", &u), HTTP_URL_E_PERCENT);
	CHECK_EQ_INT(parse("http://h/%4", &u), HTTP_URL_E_PERCENT);
	CHECK_EQ_INT(parse("http://h/caf\xc3\xa9", &u), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(parse("http://h/#frag ment", &u), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(parse("http://exa mple.com/", &u), HTTP_URL_E_HOST_CHAR);
	CHECK_EQ_INT(parse("http://a..b/", &u), HTTP_URL_E_HOST_CHAR);
	CHECK_EQ_INT(parse("http://.a/", &u), HTTP_URL_E_HOST_CHAR);
	CHECK_EQ_INT(parse("http://caf\xc3\xa9.com/", &u), HTTP_URL_E_HOST_CHAR);
	CHECK_EQ_INT(parse("http://ex%41mple.com/", &u), HTTP_URL_E_HOST_CHAR);

	{
		char		s[400];

		snprintf(s, sizeof(s), "http://%0*d.com/", 64, 0);
		CHECK_EQ_INT(parse(s, &u), HTTP_URL_E_HOST_LENGTH);
		snprintf(s, sizeof(s), "http://%0*d.com/", 63, 0);
		CHECK_EQ_INT(parse(s, &u), HTTP_URL_OK);	/* a 63-byte label is fine */
	}
}

static void
test_error_positions(void)
{
	HttpUrl		u;
	size_t		pos;

	CHECK_EQ_INT(HttpUrlParse("http://h/a b", 12, &u, &pos), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(pos, 10);
	CHECK_EQ_INT(HttpUrlParse("http://h:8x/", 12, &u, &pos), HTTP_URL_E_PORT);
	CHECK_EQ_INT(pos, 10);
	CHECK_EQ_INT(HttpUrlParse("http://a\0b/", 11, &u, &pos), HTTP_URL_E_NUL);
	CHECK_EQ_INT(pos, 8);
}

/* Parse host s, expect an IPv4 address a.b.c.d */
static void
expect_v4(const char *s, int a, int b, int c, int d)
{
	HttpUrl		u;
	size_t		pos;

	memset(&u, 0, sizeof(u));
	if (HttpUrlParseHost(s, strlen(s), &u, &pos) != HTTP_URL_OK || u.host_kind != HTTP_HOST_IPV4 ||
		u.addr[0] != a || u.addr[1] != b || u.addr[2] != c || u.addr[3] != d)
	{
		fprintf(stderr, "  host \"%s\" not read as %d.%d.%d.%d\n", s, a, b, c, d);
		unit_current_failed = 1;
	}
}

static void
test_numeric_ipv4_spellings(void)
{
	HttpUrl		u;
	size_t		pos;
	char		text[64];

	expect_v4("127.0.0.1", 127, 0, 0, 1);
	expect_v4("2130706433", 127, 0, 0, 1);
	expect_v4("0177.0.0.1", 127, 0, 0, 1);
	expect_v4("127.1", 127, 0, 0, 1);
	expect_v4("0x7f.1", 127, 0, 0, 1);
	expect_v4("0x7F000001", 127, 0, 0, 1);
	expect_v4("0x7f.0.0.0x1", 127, 0, 0, 1);
	expect_v4("127.0.0.1.", 127, 0, 0, 1);
	expect_v4("169.254.43518", 169, 254, 169, 254);
	expect_v4("10.1", 10, 0, 0, 1);
	expect_v4("0", 0, 0, 0, 0);
	expect_v4("4294967295", 255, 255, 255, 255);

	CHECK_EQ_INT(HttpUrlParseHost("256.0.0.1", 9, &u, &pos), HTTP_URL_E_IPV4);
	CHECK_EQ_INT(HttpUrlParseHost("1.2.3.4.5", 9, &u, &pos), HTTP_URL_E_IPV4);
	CHECK_EQ_INT(HttpUrlParseHost("08.0.0.1", 8, &u, &pos), HTTP_URL_E_IPV4);
	CHECK_EQ_INT(HttpUrlParseHost("4294967296", 10, &u, &pos), HTTP_URL_E_IPV4);
	CHECK_EQ_INT(HttpUrlParseHost("example.123", 11, &u, &pos), HTTP_URL_E_IPV4);
	expect_v4("1.2.3.0x", 1, 2, 3, 0);	/* WHATWG reads a bare "0x" as 0 */

	/* names that merely contain digits stay names */
	CHECK_EQ_INT(HttpUrlParseHost("123.example", 11, &u, &pos), HTTP_URL_OK);
	CHECK_EQ_INT(u.host_kind, HTTP_HOST_NAME);
	CHECK_EQ_INT(HttpUrlParseHost("0x7g", 4, &u, &pos), HTTP_URL_OK);
	CHECK_EQ_INT(u.host_kind, HTTP_HOST_NAME);

	/* canonical text */
	CHECK_EQ_INT(HttpUrlParseHost("0177.1", 6, &u, &pos), HTTP_URL_OK);
	HttpUrlHostText(&u, text, sizeof(text));
	CHECK(strcmp(text, "127.0.0.1") == 0);
	CHECK_EQ_INT(HttpUrlParseHost("0:0::1", 6, &u, &pos), HTTP_URL_OK);
	HttpUrlHostText(&u, text, sizeof(text));
	CHECK(strcmp(text, "::1") == 0);
}

static void
test_check_target(void)
{
	size_t		pos;

	CHECK_EQ_INT(HttpUrlCheckTarget("/x?y=1", 6, &pos), HTTP_URL_OK);
	CHECK_EQ_INT(HttpUrlCheckTarget("x", 1, &pos), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(HttpUrlCheckTarget("", 0, &pos), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(HttpUrlCheckTarget("/a\nb", 4, &pos), HTTP_URL_E_PATH_CHAR);
	CHECK_EQ_INT(pos, 2);
	CHECK_EQ_INT(HttpUrlCheckTarget("/a#b", 4, &pos), HTTP_URL_E_PATH_CHAR);
	CHECK(strcmp(HttpUrlErrorMessage(HTTP_URL_E_PORT), "invalid port") == 0);
}

/* Classify a textual address. */
static const char *
classify(const char *s)
{
	HttpAddr	a;

	memset(&a, 0, sizeof(a));
	if (strchr(s, ':'))
	{
		a.family = 6;
		if (inet_pton(AF_INET6, s, a.a) != 1)
			abort();
	}
	else
	{
		a.family = 4;
		if (inet_pton(AF_INET, s, a.a) != 1)
			abort();
	}
	return HttpAddrReserved(&a);
}

#define REFUSED(s, what) \
	do { \
		const char *_r = classify(s); \
		if (_r == NULL || strstr(_r, what) == NULL) \
		{ \
			fprintf(stderr, "  %s classified as %s, expected %s\n", s, _r ? _r : "public", what); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define PUBLIC(s) \
	do { \
		const char *_r = classify(s); \
		if (_r != NULL) \
		{ \
			fprintf(stderr, "  %s classified as %s, expected public\n", s, _r); \
			unit_current_failed = 1; \
		} \
	} while (0)

static void
test_ipv4_reserved_ranges(void)
{
	/* first and last address of each range, and neighbours outside */
	REFUSED("0.0.0.0", "0.0.0.0/8");
	REFUSED("0.255.255.255", "0.0.0.0/8");
	PUBLIC("1.0.0.0");
	REFUSED("10.0.0.0", "10.0.0.0/8");
	REFUSED("10.255.255.255", "10.0.0.0/8");
	PUBLIC("11.0.0.0");
	PUBLIC("100.63.255.255");
	REFUSED("100.64.0.0", "100.64.0.0/10");
	REFUSED("100.127.255.255", "100.64.0.0/10");
	PUBLIC("100.128.0.0");
	REFUSED("127.0.0.1", "127.0.0.0/8");
	REFUSED("127.255.255.254", "127.0.0.0/8");
	REFUSED("169.254.169.254", "169.254.0.0/16");
	REFUSED("169.254.0.0", "169.254.0.0/16");
	PUBLIC("169.255.0.0");
	PUBLIC("172.15.255.255");
	REFUSED("172.16.0.0", "172.16.0.0/12");
	REFUSED("172.31.255.255", "172.16.0.0/12");
	PUBLIC("172.32.0.0");
	REFUSED("192.0.0.0", "192.0.0.0/24");
	REFUSED("192.0.0.255", "192.0.0.0/24");
	PUBLIC("192.0.1.0");
	REFUSED("192.168.0.1", "192.168.0.0/16");
	REFUSED("192.168.255.255", "192.168.0.0/16");
	PUBLIC("192.169.0.0");
	PUBLIC("198.17.255.255");
	REFUSED("198.18.0.0", "198.18.0.0/15");
	REFUSED("198.19.255.255", "198.18.0.0/15");
	PUBLIC("198.20.0.0");
	PUBLIC("223.255.255.255");
	REFUSED("224.0.0.1", "224.0.0.0/4");
	REFUSED("239.255.255.255", "224.0.0.0/4");
	REFUSED("240.0.0.0", "240.0.0.0/4");
	REFUSED("255.255.255.254", "240.0.0.0/4");
	REFUSED("255.255.255.255", "broadcast");
	PUBLIC("8.8.8.8");
	PUBLIC("93.184.216.34");
	/* Azure's platform address, alone: its neighbours are public */
	REFUSED("168.63.129.16", "Azure");
	PUBLIC("168.63.129.15");
	PUBLIC("168.63.129.17");
}

static void
test_ipv6_reserved_ranges(void)
{
	REFUSED("::", "unspecified");
	REFUSED("::1", "loopback (::1)");
	REFUSED("fc00::1", "fc00::/7");
	REFUSED("fdff:ffff::1", "fc00::/7");
	REFUSED("fe80::1", "fe80::/10");
	REFUSED("febf::1", "fe80::/10");
	REFUSED("fec0::1", "fec0::/10");
	REFUSED("ff02::1", "ff00::/8");
	REFUSED("2001::1", "Teredo");
	PUBLIC("2001:db8::1");
	PUBLIC("2606:4700::1111");
	PUBLIC("2a00:1450:4001::1");

	/* IPv4 embedded in IPv6 is judged by the embedded address */
	REFUSED("::ffff:127.0.0.1", "127.0.0.0/8");
	REFUSED("::ffff:169.254.169.254", "169.254.0.0/16");
	REFUSED("::ffff:10.1.2.3", "10.0.0.0/8");
	PUBLIC("::ffff:8.8.8.8");
	REFUSED("64:ff9b::10.0.0.1", "10.0.0.0/8");
	REFUSED("64:ff9b::127.0.0.1", "127.0.0.0/8");
	PUBLIC("64:ff9b::8.8.8.8");
	REFUSED("64:ff9b:1::1", "NAT64");
	REFUSED("2002:7f00:1::", "127.0.0.0/8");
	REFUSED("2002:a9fe:a9fe::1", "169.254.0.0/16");
	PUBLIC("2002:808:808::1");
	REFUSED("::127.0.0.1", "127.0.0.0/8");
	REFUSED("::10.0.0.1", "10.0.0.0/8");
}

/* Parse rules from s; returns the count or -1. */
static int
rules(const char *s, HttpHostRule *r, int max)
{
	const char *err = NULL;
	size_t		pos;

	return HttpHostRulesParse(s, r, max, &err, &pos);
}

static HttpAddr
addr(const char *s)
{
	HttpAddr	a;

	memset(&a, 0, sizeof(a));
	a.family = strchr(s, ':') ? 6 : 4;
	if (inet_pton(a.family == 4 ? AF_INET : AF_INET6, s, a.a) != 1)
		abort();
	return a;
}

static void
test_host_rules(void)
{
	HttpHostRule r[16];
	HttpAddr	a;
	int			n = rules(" *:443 , Example.COM, *.corp.example, 10.0.0.0/8:8000-8999,"
						  " [::1]:5432, fc00::/7, 127.0.0.1, [2001:db8::]/32:80, 0x7f.2", r, 16);

	CHECK_EQ_INT(n, 9);
	CHECK_EQ_INT(r[0].kind, HTTP_RULE_ANY);
	CHECK(HttpHostRuleMatchName(&r[0], "anything.example", 443));
	CHECK(!HttpHostRuleMatchName(&r[0], "anything.example", 80));

	CHECK_EQ_INT(r[1].kind, HTTP_RULE_NAME);
	CHECK(HttpHostRuleMatchName(&r[1], "example.com", 80));
	CHECK(!HttpHostRuleMatchName(&r[1], "www.example.com", 80));

	CHECK_EQ_INT(r[2].kind, HTTP_RULE_SUFFIX);
	CHECK(HttpHostRuleMatchName(&r[2], "a.corp.example", 1));
	CHECK(HttpHostRuleMatchName(&r[2], "a.b.corp.example", 1));
	CHECK(!HttpHostRuleMatchName(&r[2], "corp.example", 1));
	CHECK(!HttpHostRuleMatchName(&r[2], "evilcorp.example", 1));

	a = addr("10.20.30.40");
	CHECK(HttpHostRuleMatchAddr(&r[3], &a, 8080));
	CHECK(!HttpHostRuleMatchAddr(&r[3], &a, 80));
	a = addr("::ffff:10.1.1.1");
	CHECK(HttpHostRuleMatchAddr(&r[3], &a, 8000));	/* mapped form */
	a = addr("64:ff9b::a01:101");
	CHECK(HttpHostRuleMatchAddr(&r[3], &a, 8000));	/* NAT64 form of 10.1.1.1 */
	a = addr("2002:a01:101::1");
	CHECK(HttpHostRuleMatchAddr(&r[3], &a, 8000));	/* 6to4 form */
	a = addr("::a01:101");
	CHECK(HttpHostRuleMatchAddr(&r[3], &a, 8000));	/* IPv4-compatible form */
	a = addr("64:ff9b::b00:1");
	CHECK(!HttpHostRuleMatchAddr(&r[3], &a, 8000));	/* NAT64 form of 11.0.0.1 */
	a = addr("2001:db8::a01:101");
	CHECK(!HttpHostRuleMatchAddr(&r[3], &a, 8000));	/* no IPv4 embedded there */
	a = addr("11.0.0.1");
	CHECK(!HttpHostRuleMatchAddr(&r[3], &a, 8080));

	a = addr("::1");
	CHECK(HttpHostRuleMatchAddr(&r[4], &a, 5432));
	CHECK(!HttpHostRuleMatchAddr(&r[4], &a, 5433));
	a = addr("fd12::1");
	CHECK(HttpHostRuleMatchAddr(&r[5], &a, 1));
	a = addr("127.0.0.1");
	CHECK(HttpHostRuleMatchAddr(&r[6], &a, 9));
	CHECK(!HttpHostRuleMatchAddr(&r[0], &a, 443));	/* "*" never covers an address */
	a = addr("2001:db8:1::5");
	CHECK(HttpHostRuleMatchAddr(&r[7], &a, 80));
	a = addr("127.0.0.2");
	CHECK(HttpHostRuleMatchAddr(&r[8], &a, 80));	/* 0x7f.2 is 127.0.0.2 */

	CHECK_EQ_INT(rules("", r, 16), 0);
	CHECK_EQ_INT(rules(" , ,", r, 16), 0);
}

static void
test_host_rule_errors(void)
{
	HttpHostRule r[4];
	const char *bad[] = {
		"a:0", "a:70000", "a:5-3", "a:", "a:x", "[::1", "[::1]x", "1.2.3.4/33",
		"::1/129", "*.1.2.3.4", "*/8", "bad host", "example.com/8", "a..b", "[::1]/",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rules(bad[i], r, 4) != -1)
		{
			fprintf(stderr, "  rule \"%s\" was accepted\n", bad[i]);
			unit_current_failed = 1;
		}
}

/* pgsql-http's urlencode() and pg_net's: unreserved kept, the rest %XX, stop at NUL */
static void
test_form_encoding(void)
{
	char		out[HTTP_URL_ENCODED_MAX(32)];
	const char	all[] = "aZ09-._~ /?&=+%\xc3\xa9";

	CHECK_EQ_INT(HttpUrlEncode(all, strlen(all), true, out), 33);
	CHECK(strcmp(out, "aZ09-._~+%2F%3F%26%3D%2B%25%C3%A9") == 0);
	CHECK_EQ_INT(HttpUrlEncode("", 0, true, out), 0);
	CHECK(out[0] == '\0');
	/* bytes past a NUL are not encoded (bytea input) */
	CHECK_EQ_INT(HttpUrlEncode("a\0b", 3, true, out), 1);
	CHECK(strcmp(out, "a") == 0);
	/* the bound holds for the worst case */
	CHECK_EQ_INT(HttpUrlEncode("\x01\x02\xff", 3, true, out), 9);
	CHECK(strcmp(out, "%01%02%FF") == 0);
	/* curl_escape()'s form (pg_net): a space is %20 */
	CHECK_EQ_INT(HttpUrlEncode("a b+c", 5, false, out), 9);
	CHECK(strcmp(out, "a%20b%2Bc") == 0);
}

int
main(void)
{
	RUN(test_basic_urls);
	RUN(test_ipv6_literals);
	RUN(test_userinfo);
	RUN(test_url_errors);
	RUN(test_error_positions);
	RUN(test_numeric_ipv4_spellings);
	RUN(test_check_target);
	RUN(test_ipv4_reserved_ranges);
	RUN(test_ipv6_reserved_ranges);
	RUN(test_host_rules);
	RUN(test_host_rule_errors);
	RUN(test_form_encoding);
	return unit_done();
}
