/*
 * fuzz_request.c
 *	  libFuzzer target: header validation and the request writer.
 *
 * Input: NUL-separated fields: method, target, host, then name/value pairs.
 * Whatever passes the validators must write exactly the predicted number of
 * bytes, with one CRLF per line and no other CR or LF: no header injection.
 */
#include "http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FIELDS 40

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *buf = malloc(size + 1);
	char	   *fields[MAX_FIELDS];
	int			nf = 0;
	Http1Header hs[MAX_FIELDS / 2];
	int			nh = 0;
	Http1Request r;
	size_t		want,
				got,
				crlf = 0,
				cr = 0,
				lf = 0;
	char	   *out;

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (char *p = buf; nf < MAX_FIELDS && p <= buf + size;)
	{
		fields[nf++] = p;
		p += strlen(p) + 1;
	}
	if (nf < 3 || !Http1IsToken(fields[0], strlen(fields[0])))
		goto done;
	/* targets and hosts come from the URL parser, which allows no CTL or space */
	for (int k = 1; k <= 2; k++)
		for (const char *c = fields[k]; *c; c++)
			if ((unsigned char) *c <= 0x20 || *c == 0x7f)
				goto done;
	for (int i = 3; i + 1 < nf; i += 2)
	{
		if (!Http1IsToken(fields[i], strlen(fields[i])) ||
			!Http1IsFieldValue(fields[i + 1], strlen(fields[i + 1])))
			continue;
		hs[nh].name = fields[i];
		hs[nh].name_len = strlen(fields[i]);
		hs[nh].value = fields[i + 1];
		hs[nh].value_len = strlen(fields[i + 1]);
		nh++;
	}
	memset(&r, 0, sizeof(r));
	r.method = fields[0];
	r.target = fields[1];
	r.host = fields[2];
	r.headers = hs;
	r.nheaders = nh;
	r.content_length = size & 1;
	r.body_len = size * 7919;
	r.close = size & 2;
	want = Http1RequestSize(&r);
	out = malloc(want);
	got = Http1WriteRequest(&r, out);
	if (got != want)
		abort();
	for (size_t i = 0; i < got; i++)
	{
		if (out[i] == '\r' && i + 1 < got && out[i + 1] == '\n')
			crlf++;
		cr += out[i] == '\r';
		lf += out[i] == '\n';
	}
	/* request line, Host, each header, Content-Length, Connection, the end */
	if (crlf != cr || crlf != lf ||
		crlf != (size_t) (2 + nh + (r.content_length ? 1 : 0) + (r.close ? 1 : 0) + 1))
		abort();
	free(out);
done:
	free(buf);
	return 0;
}
