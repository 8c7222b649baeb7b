/*
 * fuzz_policy.c
 *	  libFuzzer target: host rule lists, rule matching, the address classifier.
 *
 * Input: 16 address bytes, then a rule list.  The address is classified as
 * IPv4 and IPv6; an IPv4 address and its IPv4-mapped IPv6 form must get the
 * same verdict, and rules must agree on both forms.
 */
#include "netaddr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 32

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	HttpAddr	v4,
				v6,
				mapped;
	HttpHostRule rules[MAX_RULES];
	char	   *list;
	const char *err = NULL;
	size_t		errpos = 0;
	int			n;
	static const char *names[] = {"example.com", "a.example.com", "localhost", "x", ""};

	if (size < 16)
		return 0;
	memset(&v4, 0, sizeof(v4));
	v4.family = 4;
	memcpy(v4.a, data, 4);
	memset(&v6, 0, sizeof(v6));
	v6.family = 6;
	memcpy(v6.a, data, 16);
	memset(&mapped, 0, sizeof(mapped));
	mapped.family = 6;
	mapped.a[10] = mapped.a[11] = 0xff;
	memcpy(mapped.a + 12, data, 4);

	if ((HttpAddrReserved(&v4) == NULL) != (HttpAddrReserved(&mapped) == NULL))
		abort();
	(void) HttpAddrReserved(&v6);

	list = malloc(size - 16 + 1);
	memcpy(list, data + 16, size - 16);
	list[size - 16] = '\0';
	n = HttpHostRulesParse(list, rules, MAX_RULES, &err, &errpos);
	if (n < 0)
	{
		if (err == NULL || errpos > size - 16)
			abort();
	}
	for (int i = 0; i < n && i < MAX_RULES; i++)
	{
		int			port = 1 + data[4] * 256 % 65535;

		if (rules[i].port_lo < 1 || rules[i].port_hi > 65535 || rules[i].port_lo > rules[i].port_hi)
			abort();
		for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			(void) HttpHostRuleMatchName(&rules[i], names[k], port);
		/* an IPv4 rule covers an address exactly when it covers its mapped form */
		if (rules[i].kind == HTTP_RULE_NET && rules[i].net.family == 4 &&
			HttpHostRuleMatchAddr(&rules[i], &v4, port) != HttpHostRuleMatchAddr(&rules[i], &mapped, port))
			abort();
		(void) HttpHostRuleMatchAddr(&rules[i], &v6, port);
	}
	free(list);
	return 0;
}
