/*
 * fuzz_headers.c
 *	  libFuzzer target: the header model's parsers (Retry-After in its three
 *	  date forms, credential header names).
 */
#include "headers.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);
	double		secs;

	memcpy(s, data, size);
	s[size] = '\0';
	secs = HttpRetryAfterSeconds(s, (time_t) 1700000000);
	if (secs < -1)
		abort();				/* -1 or a wait, never anything else */
	(void) HttpIsCredentialHeader(s, size);
	free(s);
	return 0;
}
