/*-------------------------------------------------------------------------
 *
 * body.c
 *	  Response bodies and server text as text in the database encoding.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "request.h"

#include "catalog/namespace.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"

/*
 * s[0..len) as a string valid in the database encoding: s itself when it
 * is (and ends at len), else a palloc'd copy.  What a server sends is not
 * always valid: in a UTF-8 database a byte that does not start a valid
 * UTF-8 sequence is read as ISO-8859-1 (what header bytes beyond ASCII
 * historically are, RFC 9110 5.5); in other encodings, or for NUL, it
 * becomes '?'.  So a response can always be stored, dumped and restored.
 */
char *
HttpTextForDatabase(const char *s, size_t len)
{
	int			db = GetDatabaseEncoding();
	StringInfoData out;
	size_t		i = 0;

	if (pg_verify_mbstr(db, s, (int) len, true) && s[len] == '\0')
		return (char *) s;
	initStringInfo(&out);
	while (i < len)
	{
		unsigned char b = (unsigned char) s[i];

		if (b == 0)
		{
			appendStringInfoChar(&out, '?');
			i++;
		}
		else if (b < 0x80 || db == PG_SQL_ASCII)
		{
			appendStringInfoChar(&out, (char) b);
			i++;
		}
		else if (db == PG_UTF8)
		{
			int			n = pg_utf_mblen((const unsigned char *) s + i);

			if (i + n <= len && pg_utf8_islegal((const unsigned char *) s + i, n))
			{
				appendBinaryStringInfo(&out, s + i, n);
				i += n;
			}
			else
			{
				appendStringInfoChar(&out, (char) (0xC0 | (b >> 6)));
				appendStringInfoChar(&out, (char) (0x80 | (b & 0x3F)));
				i++;
			}
		}
		else
		{
			int			n = pg_encoding_verifymbchar(db, s + i, (int) (len - i));

			if (n > 0)
			{
				appendBinaryStringInfo(&out, s + i, n);
				i += n;
			}
			else
			{
				appendStringInfoChar(&out, '?');
				i++;
			}
		}
	}
	return out.data;
}

/* The response's Content-Type value, or NULL.  Never throws. */
const char *
HttpContentType(const HttpResponse *resp)
{
	return HttpHeaderGet(&resp->headers, "Content-Type");
}

/* The charset parameter of a Content-Type value, or NULL. */
static char *
content_type_charset(const char *ct)
{
	const char *p = ct;

	while (ct && (p = strchr(p, ';')) != NULL)
	{
		const char *e;

		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (pg_strncasecmp(p, "charset=", 8) != 0)
			continue;
		p += 8;
		if (*p == '"')
		{
			p++;
			e = strchr(p, '"');
		}
		else
		{
			e = p;
			while (*e && *e != ';' && *e != ' ' && *e != '\t')
				e++;
		}
		return e ? pnstrdup(p, e - p) : pstrdup(p);
	}
	return NULL;
}

/* Word a body decoding failure into f; returns NULL for the caller to return. */
static text *
fail_decode(HttpFailure *f, int sqlstate, char *msg, char *detail)
{
	f->sqlstate = sqlstate;
	f->msg = msg;
	f->detail = detail;
	f->hint = "Use http.request_bytes() to receive the body as bytea.";
	return NULL;
}

/*
 * The encoding of a body with this Content-Type (NULL: none): the charset
 * it declares, UTF-8 when none; -1 with f worded when PostgreSQL has no
 * such encoding.
 */
int
HttpBodyEncoding(const char *content_type, const char **declared, HttpFailure *f)
{
	char	   *charset = content_type_charset(content_type);
	int			enc;

	*declared = charset;
	if (charset == NULL)
		return PG_UTF8;
	if (pg_strcasecmp(charset, "us-ascii") == 0 || pg_strcasecmp(charset, "ascii") == 0)
		return PG_SQL_ASCII;
	if ((enc = pg_char_to_encoding(charset)) < 0 || !PG_VALID_ENCODING(enc))
	{
		fail_decode(f, ERRCODE_INVALID_PARAMETER_VALUE,
					psprintf("unsupported charset \"%s\" in HTTP response", charset),
					pstrdup("PostgreSQL has no encoding of that name."));
		return -1;
	}
	return enc;
}

/*
 * data[0..len), text in encoding enc (HttpBodyEncoding, which says the
 * charset the response declared, NULL: none; PG_SQL_ASCII: US-ASCII), as text in the database encoding; NULL with f worded when it
 * is not valid in enc or the database encoding cannot hold it.  May throw
 * (out of memory).  A whole body or one row of a streamed one (rows.c).
 */
text *
HttpTextDecode(int enc, const char *charset, const char *data, int len, HttpFailure *f)
{
	int			db = GetDatabaseEncoding();
	text	   *t;

	if (len == 0)
		return cstring_to_text_with_len("", 0);

	if (enc == PG_SQL_ASCII)
	{
		for (int i = 0; i < len; i++)
			if ((unsigned char) data[i] >= 0x80 || data[i] == '\0')
			{
				return fail_decode(f, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
							pstrdup("HTTP response body is not valid US-ASCII"),
							psprintf("Byte %d is 0x%02x.", i + 1, (unsigned char) data[i]));
			}
		return cstring_to_text_with_len(data, len);
	}

	if (!pg_verify_mbstr(enc, data, len, true))
	{
		return fail_decode(f, ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
					psprintf("HTTP response body is not valid %s", pg_encoding_to_char(enc)),
					charset ? psprintf("The response declares charset \"%s\".", charset)
					: pstrdup("The response declares no charset, so UTF-8 was expected."));
	}
	if (enc == db || db == PG_SQL_ASCII)
		return cstring_to_text_with_len(data, len);

	/* convert into the database encoding, refusing what it cannot hold */
	{
		Oid			proc = FindDefaultConversionProc(enc, db);
		int			cap;
		unsigned char *out;
		int			used;

		if (!OidIsValid(proc))
		{
			return fail_decode(f, ERRCODE_UNDEFINED_FUNCTION,
						psprintf("no conversion from %s to the database encoding %s",
								 pg_encoding_to_char(enc), pg_encoding_to_char(db)),
						NULL);
		}
		if ((Size) len >= (MaxAllocSize / MAX_CONVERSION_GROWTH) - 1)
			cap = MaxAllocSize - 1;
		else
			cap = len * MAX_CONVERSION_GROWTH + 1;
		out = palloc(cap);
		used = pg_do_encoding_conversion_buf(proc, enc, db, (unsigned char *) data,
											 len, out, cap, true);
		if (used < len)
		{
			return fail_decode(f, ERRCODE_UNTRANSLATABLE_CHARACTER,
						psprintf("HTTP response body has characters the database encoding %s cannot hold",
								 pg_encoding_to_char(db)),
						psprintf("Conversion from %s stopped at byte %d.", pg_encoding_to_char(enc), used + 1));
		}
		t = cstring_to_text((char *) out);
		pfree(out);
		return t;
	}
}

/*
 * The body of resp as text, decoded from the charset its Content-Type
 * declares (UTF-8 when none) into the database encoding; NULL with f
 * worded when it cannot be.  May throw (out of memory).
 */
text *
HttpBodyDecode(const HttpResponse *resp, HttpFailure *f)
{
	const char *charset;
	int			enc = HttpBodyEncoding(HttpContentType(resp), &charset, f);

	if (enc < 0)
		return NULL;
	return HttpTextDecode(enc, charset, resp->body.data, resp->body.len, f);
}

/*
 * The body of x's response as text (see HttpBodyDecode); NULL with x
 * failed when it cannot be.  May throw (out of memory).
 */
text *
HttpBodyToText(HttpExchange *x)
{
	HttpFailure f;
	text	   *t = HttpBodyDecode(&x->resp, &f);

	if (t == NULL)
		HttpExchangeFailWith(x, &f);
	return t;
}
