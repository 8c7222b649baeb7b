/*
 * fuzz_url.c
 *	  libFuzzer target: URL parsing and host classification.
 */
#include "url.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *) data;
	HttpUrl		u,
				h;
	size_t		errpos = 0;
	char		text[HTTP_URL_MAX_HOST + 2];
	HttpUrlError err = HttpUrlParse(s, size, &u, &errpos);

	if (err != HTTP_URL_OK)
	{
		if (errpos > size)
			abort();
		(void) HttpUrlErrorMessage(err);
		return 0;
	}
	/* every span lies inside the input */
	if (u.host < s || u.host + u.host_len > s + size ||
		u.target < s || u.target + u.target_len > s + size ||
		(u.userinfo && (u.userinfo < s || u.userinfo + u.userinfo_len > s + size)))
		abort();
	if (u.port < 1 || u.port > 65535 || u.host_len == 0)
		abort();
	/* the target holds no byte that could split a request line */
	for (size_t i = 0; i < u.target_len; i++)
		if ((unsigned char) u.target[i] <= 0x20 || u.target[i] == 0x7f || u.target[i] == '#')
			abort();
	HttpUrlHostText(&u, text, sizeof(text));
	/* the host, read again on its own, is the same kind of host */
	memset(&h, 0, sizeof(h));
	if (HttpUrlParseHost(u.host, u.host_len, &h, &errpos) != HTTP_URL_OK ||
		h.host_kind != u.host_kind || memcmp(h.addr, u.addr, 16) != 0)
		abort();
	return 0;
}
