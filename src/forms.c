/*-------------------------------------------------------------------------
 *
 * forms.c
 *	  Request bodies and query strings built from jsonb: query strings
 *	  (RFC 3986), application/x-www-form-urlencoded bodies (the WHATWG URL
 *	  standard's serializer), multipart/form-data bodies (RFC 7578), and the
 *	  SQL functions http.urlencode() and http.url().
 *
 * One parameter encoder serves the request document ("query", "form"),
 * the SQL functions and the pgsql-http layer's urlencode(jsonb) in
 * compat.c; what differs between them is only the byte encoding and how
 * strictly the input is judged (HttpParamEncoding).
 *
 * Parameters come as a jsonb object, in jsonb's key order (shorter keys
 * first, then bytewise: jsonb does not keep insertion order), or as an
 * array of [key, value] pairs, in the order given.  An array value repeats
 * its key; strings are sent as they are, numbers and booleans as their
 * JSON text, and null as the key with an empty value ("a=").  A nested
 * object has no standard encoding, so it is refused rather than guessed.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "http1.h"
#include "request.h"

#include "common/base64.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

/* Attempts at a boundary absent from every part before giving up. */
#define MULTIPART_BOUNDARY_TRIES 8

/* "pg_http-" and 24 random bytes in hex: 56 characters, RFC 2046 allows 70. */
#define MULTIPART_BOUNDARY_PREFIX "pg_http-"
#define MULTIPART_BOUNDARY_RANDOM 24

/*
 * s[0..len) encoded as enc says, appended to out.  The query and pgsql-http
 * encodings are lib/url.c's HttpUrlEncode (which the credentials code uses
 * too); the form encoding is the WHATWG application/x-www-form-urlencoded
 * byte serializer: letters, digits and *-._ kept, a space as "+", every
 * other byte as %XX (so "~" is %7E there, unlike RFC 3986).
 */
static void
append_encoded(StringInfo out, const char *s, size_t len, HttpParamEncoding enc)
{
	static const char hex[] = "0123456789ABCDEF";

	if (len > (size_t) (MaxAllocSize - out->len - 1) / 3)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value too long to URL-encode")));
	enlargeStringInfo(out, (int) (3 * len));
	if (enc != HTTP_ENCODE_FORM)
	{
		out->len += (int) HttpUrlEncode(s, len, enc == HTTP_ENCODE_PGSQL_HTTP,
										out->data + out->len);
		return;
	}
	for (size_t i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '*' || c == '-' || c == '.' || c == '_')
			out->data[out->len++] = (char) c;
		else if (c == ' ')
			out->data[out->len++] = '+';
		else
		{
			out->data[out->len++] = '%';
			out->data[out->len++] = hex[c >> 4];
			out->data[out->len++] = hex[c & 0x0F];
		}
	}
	out->data[out->len] = '\0';
}

/*
 * The text a scalar parameter value is sent as, or NULL for a container.
 * pgsql-http prints numbers normalized (1.50 as 1.5); everything else as
 * the JSON text jsonb prints.
 */
static const char *
scalar_text(const JsonbValue *v, HttpParamEncoding enc, int *len)
{
	const char *s;

	switch (v->type)
	{
		case jbvString:
			*len = v->val.string.len;
			return v->val.string.val;
		case jbvNumeric:
			s = enc == HTTP_ENCODE_PGSQL_HTTP ? numeric_normalize(v->val.numeric)
				: DatumGetCString(DirectFunctionCall1(numeric_out,
													  NumericGetDatum(v->val.numeric)));
			break;
		case jbvBool:
			s = v->val.boolean ? "true" : "false";
			break;
		case jbvNull:
			s = "";
			break;
		default:
			return NULL;
	}
	*len = (int) strlen(s);
	return s;
}

/* Refuse a parameter value that has no encoding (what names the input). */
pg_noreturn static void
refuse_nested(const char *what, const char *key, int keylen)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s parameter \"%.*s\" has a nested value", what, keylen, key),
			 errdetail("Values must be strings, numbers, booleans, null or arrays of those."),
			 errhint("Encode the nested value as a string yourself, for example with ::text.")));
}

/* Append key=value, with the "&" before it when out has pairs already. */
static void
append_pair(StringInfo out, int start, const char *key, int keylen, const char *val,
			int vallen, HttpParamEncoding enc)
{
	if (out->len > start)
		appendStringInfoChar(out, '&');
	append_encoded(out, key, keylen, enc);
	appendStringInfoChar(out, '=');
	append_encoded(out, val, vallen, enc);
}

/*
 * Append key=value for v: one pair for a scalar, one per element for an
 * array.  The pgsql-http encoding leaves out what it cannot encode, as
 * pgsql-http does; the others refuse it (22023).
 */
static void
append_member(StringInfo out, int start, const char *key, int keylen, JsonbValue *v,
			  HttpParamEncoding enc, const char *what)
{
	const char *s;
	int			len;

	if ((s = scalar_text(v, enc, &len)) != NULL)
	{
		append_pair(out, start, key, keylen, s, len, enc);
		return;
	}
	if (enc == HTTP_ENCODE_PGSQL_HTTP)
		return;
	if (v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(v->val.binary.data);
		JsonbValue	e;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok != WJB_ELEM)
				continue;
			if ((s = scalar_text(&e, enc, &len)) == NULL)
				refuse_nested(what, key, keylen);
			append_pair(out, start, key, keylen, s, len, enc);
		}
		return;
	}
	refuse_nested(what, key, keylen);
}

/* Refuse a params document of the wrong shape. */
pg_noreturn static void
refuse_shape(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s parameters must be a JSON object or an array of [key, value] pairs", what),
			 errhint("Write them as {\"name\": \"value\", \"tag\": [\"a\", \"b\"]}, or as [[\"name\", \"value\"], ...] to keep their order.")));
}

/*
 * Append params (a jsonb object, or an array of [key, value] pairs) to out
 * as key=value&... in encoding enc; what names the input in errors ("query",
 * "form").  Appends nothing for no parameters.  Throws 22023 on a nested
 * value or a params document of another shape, except in the pgsql-http
 * encoding, which skips nested values and empty keys (pgsql-http's
 * urlencode(jsonb)) and takes objects only.
 */
void
HttpParamsEncode(StringInfo out, Jsonb *params, HttpParamEncoding enc, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			start = out->len;

	if (JB_ROOT_IS_SCALAR(params))
		refuse_shape(what);
	it = JsonbIteratorInit(&params->root);
	if (JB_ROOT_IS_OBJECT(params))
	{
		char	   *key;

		while (HttpJsonbNextMember(&it, &key, &v))
		{
			if (key[0] == '\0' && enc == HTTP_ENCODE_PGSQL_HTTP)
				continue;
			append_member(out, start, key, (int) strlen(key), &v, enc, what);
		}
		return;
	}
	if (enc == HTTP_ENCODE_PGSQL_HTTP)
		refuse_shape(what);

	/* [[key, value], ...]: the order is the caller's */
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		JsonbValue *k;
		JsonbValue *val;

		if (tok != WJB_ELEM)
			continue;
		if (v.type != jbvBinary || !JsonContainerIsArray(v.val.binary.data) ||
			JsonContainerSize(v.val.binary.data) != 2 ||
			(k = getIthJsonbValueFromContainer(v.val.binary.data, 0))->type != jbvString)
			refuse_shape(what);
		val = getIthJsonbValueFromContainer(v.val.binary.data, 1);
		append_member(out, start, k->val.string.val, k->val.string.len, val, enc, what);
	}
}

/*
 * base with query appended: after "?" (or "&" when base has a query
 * already, nothing when it ends in "?" or "&"), before any "#fragment".
 * base itself (a copy) for an empty query.  palloc'd; throws only on out
 * of memory.
 */
char *
HttpUrlWithQuery(const char *base, size_t len, const char *query, size_t qlen)
{
	const char *hash = memchr(base, '#', len);
	size_t		head = hash ? (size_t) (hash - base) : len;
	const char *q = memchr(base, '?', head);
	StringInfoData s;

	initStringInfo(&s);
	appendBinaryStringInfo(&s, base, (int) head);
	if (qlen > 0)
	{
		if (q == NULL)
			appendStringInfoChar(&s, '?');
		else if (head > 0 && base[head - 1] != '?' && base[head - 1] != '&')
			appendStringInfoChar(&s, '&');
		appendBinaryStringInfo(&s, query, (int) qlen);
	}
	appendBinaryStringInfo(&s, base + head, (int) (len - head));
	return s.data;
}

/* One part of a multipart body, its header fields already escaped. */
typedef struct MultipartPart
{
	char	   *name;
	char	   *filename;		/* NULL: none */
	char	   *content_type;	/* NULL: none sent */
	const char *data;
	size_t		len;
} MultipartPart;

/*
 * s as a quoted-string parameter value of Content-Disposition, escaped as
 * browsers do (the HTML standard, RFC 7578 4.2): '"' as %22, CR as %0D, LF
 * as %0A, so that no name can end the parameter or the header line.
 */
static char *
disposition_escape(const char *s, int len)
{
	StringInfoData out;

	initStringInfo(&out);
	for (int i = 0; i < len; i++)
	{
		if (s[i] == '"')
			appendStringInfoString(&out, "%22");
		else if (s[i] == '\r')
			appendStringInfoString(&out, "%0D");
		else if (s[i] == '\n')
			appendStringInfoString(&out, "%0A");
		else
			appendStringInfoChar(&out, s[i]);
	}
	return out.data;
}

/* Refuse a malformed part: n counts from 1. */
pg_noreturn static void
refuse_part(int n, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("multipart part %d is invalid", n),
			 errdetail("%s", detail),
			 errhint("Write each part as {\"name\": \"...\", \"filename\": \"...\", \"content_type\": \"...\", and one of \"text\", \"base64\" or \"bytes\"}.")));
}

/* The string value of a part's field, or refuse it. */
static char *
part_string(int n, const char *field, JsonbValue *v, int *len)
{
	if (v->type != jbvString)
		refuse_part(n, psprintf("Its \"%s\" is not a string.", field));
	*len = v->val.string.len;
	return v->val.string.val;
}

/* One part from its jsonb object (the nth, from 1); throws 22023. */
static void
read_part(int n, JsonbValue *obj, MultipartPart *p)
{
	JsonbIterator *it;
	JsonbValue	v;
	char	   *key;
	int			len;
	const char *s;
	int			contents = 0;

	memset(p, 0, sizeof(*p));
	if (obj->type != jbvBinary || !JsonContainerIsObject(obj->val.binary.data))
		refuse_part(n, "It is not a JSON object.");
	it = JsonbIteratorInit(obj->val.binary.data);
	while (HttpJsonbNextMember(&it, &key, &v))
	{
		if (strcmp(key, "name") == 0)
		{
			s = part_string(n, key, &v, &len);
			p->name = disposition_escape(s, len);
		}
		else if (strcmp(key, "filename") == 0)
		{
			s = part_string(n, key, &v, &len);
			p->filename = disposition_escape(s, len);
		}
		else if (strcmp(key, "content_type") == 0)
		{
			s = part_string(n, key, &v, &len);
			if (!Http1IsFieldValue(s, len))
				refuse_part(n, "Its \"content_type\" contains CR, LF or other control characters.");
			p->content_type = pnstrdup(s, len);
		}
		else if (strcmp(key, "text") == 0)
		{
			p->data = part_string(n, key, &v, &len);
			p->len = len;
			contents++;
		}
		else if (strcmp(key, "base64") == 0)
		{
			char	   *dec;
			int			declen;

			s = part_string(n, key, &v, &len);
			dec = palloc(pg_b64_dec_len(len) + 1);
			declen = HttpBase64Decode(s, len, dec, pg_b64_dec_len(len));
			if (declen < 0)
				refuse_part(n, "Its \"base64\" is not valid base64.");
			p->data = dec;
			p->len = declen;
			contents++;
		}
		else if (strcmp(key, "bytes") == 0)
		{
			bytea	   *b;

			s = part_string(n, key, &v, &len);
			/* the bytea input syntax: '\x0102...' or the escape format */
			b = DatumGetByteaPP(DirectFunctionCall1(byteain,
													CStringGetDatum(pnstrdup(s, len))));
			p->data = VARDATA_ANY(b);
			p->len = VARSIZE_ANY_EXHDR(b);
			contents++;
		}
		else
			refuse_part(n, psprintf("It has an unknown field \"%s\"; parts have name, filename, content_type, and text, base64 or bytes.", key));
	}
	if (p->name == NULL)
		refuse_part(n, "It has no \"name\".");
	if (contents != 1)
		refuse_part(n, "It needs exactly one of \"text\", \"base64\" and \"bytes\".");
	/* RFC 7578 4.4: a file without a type is application/octet-stream */
	if (p->content_type == NULL && p->filename != NULL)
		p->content_type = "application/octet-stream";
}

/* Whether s occurs in data[0..len). */
static bool
contains(const char *data, size_t len, const char *s)
{
	return data != NULL && memmem(data, len, s, strlen(s)) != NULL;
}

/*
 * A random boundary that occurs nowhere in the parts, their header fields
 * included.  Random (pg_strong_random) so that content cannot be made to
 * collide with it ahead of time; checked anyway, since the body is only
 * parsed right if the delimiter is absent from it (RFC 2046 5.1.1).
 */
static char *
multipart_boundary(const MultipartPart *parts, int nparts)
{
	static const char hex[] = "0123456789abcdef";

	for (int attempt = 0; attempt < MULTIPART_BOUNDARY_TRIES; attempt++)
	{
		uint8		r[MULTIPART_BOUNDARY_RANDOM];
		char	   *b = palloc(sizeof(MULTIPART_BOUNDARY_PREFIX) + 2 * sizeof(r));
		char	   *p = b + strlen(MULTIPART_BOUNDARY_PREFIX);
		bool		clash = false;

		if (!pg_strong_random(r, sizeof(r)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a multipart boundary")));
		strcpy(b, MULTIPART_BOUNDARY_PREFIX);
		for (size_t i = 0; i < sizeof(r); i++)
		{
			*p++ = hex[r[i] >> 4];
			*p++ = hex[r[i] & 0x0F];
		}
		*p = '\0';
		for (int i = 0; i < nparts && !clash; i++)
			clash = contains(parts[i].data, parts[i].len, b) ||
				contains(parts[i].name, strlen(parts[i].name), b) ||
				(parts[i].filename && contains(parts[i].filename, strlen(parts[i].filename), b)) ||
				(parts[i].content_type && contains(parts[i].content_type, strlen(parts[i].content_type), b));
		if (!clash)
			return b;
		pfree(b);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("could not find a multipart boundary absent from the parts"),
			 errdetail("%d random boundaries all occurred in the content.", MULTIPART_BOUNDARY_TRIES)));
}

/* Fixed text around a part (see the layout in HttpMultipartBody). */
#define CD_PREFIX "Content-Disposition: form-data; name=\""
#define CD_FILENAME "\"; filename=\""
#define CT_PREFIX "\r\nContent-Type: "

/* Append the n bytes at s to *p and advance it. */
static inline void
put(char **p, const char *s, size_t n)
{
	memcpy(*p, s, n);
	*p += n;
}

/*
 * A multipart/form-data body (RFC 7578) from a jsonb array of parts
 * ({name, filename, content_type, and one of text, base64, bytes}), and
 * the Content-Type that names its boundary.  The body is sized first and
 * written once into one buffer.  palloc'd; throws 22023 on a malformed
 * part, 54000 when the body would pass 1 GB.
 *
 * Layout, every line ending in CRLF:
 *		--B
 *		Content-Disposition: form-data; name="n"; filename="f"
 *		Content-Type: t
 *		(empty line)
 *		content
 *		--B
 *		...
 *		--B--
 */
void
HttpMultipartBody(Jsonb *parts_doc, char **body, size_t *body_len, char **content_type)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	MultipartPart *parts;
	int			nparts = 0;
	char	   *boundary;
	size_t		blen;
	size_t		total;
	char	   *buf;
	char	   *p;

	if (!JB_ROOT_IS_ARRAY(parts_doc) || JB_ROOT_IS_SCALAR(parts_doc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("request field \"multipart\" must be a JSON array of parts"),
				 errhint("Write it as [{\"name\": \"purpose\", \"text\": \"...\"}, {\"name\": \"file\", \"filename\": \"a.jsonl\", \"text\": \"...\"}].")));

	parts = palloc0(sizeof(MultipartPart) * Max(JB_ROOT_COUNT(parts_doc), 1));
	it = JsonbIteratorInit(&parts_doc->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		read_part(nparts + 1, &v, &parts[nparts]);
		nparts++;
	}

	boundary = multipart_boundary(parts, nparts);
	blen = strlen(boundary);

	/* size it: every part, then the closing delimiter */
	total = 0;
	for (int i = 0; i < nparts; i++)
	{
		MultipartPart *pt = &parts[i];

		total += 2 + blen + 2;	/* --B CRLF */
		total += strlen(CD_PREFIX) + strlen(pt->name) + 1;
		if (pt->filename)
			total += strlen(CD_FILENAME) + strlen(pt->filename);
		if (pt->content_type)
			total += strlen(CT_PREFIX) + strlen(pt->content_type);
		total += 4;				/* CRLF CRLF */
		total += pt->len + 2;	/* content CRLF */
		if (total >= MaxAllocSize)
			break;
	}
	total += 2 + blen + 2 + 2;	/* --B-- CRLF */
	if (total >= MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("multipart body would be larger than 1 GB")));

	/* write it */
	buf = p = palloc(total + 1);
	for (int i = 0; i < nparts; i++)
	{
		MultipartPart *pt = &parts[i];

		put(&p, "--", 2);
		put(&p, boundary, blen);
		put(&p, "\r\n" CD_PREFIX, 2 + strlen(CD_PREFIX));
		put(&p, pt->name, strlen(pt->name));
		if (pt->filename)
		{
			put(&p, CD_FILENAME, strlen(CD_FILENAME));
			put(&p, pt->filename, strlen(pt->filename));
		}
		put(&p, "\"", 1);
		if (pt->content_type)
		{
			put(&p, CT_PREFIX, strlen(CT_PREFIX));
			put(&p, pt->content_type, strlen(pt->content_type));
		}
		put(&p, "\r\n\r\n", 4);
		if (pt->len > 0)
			put(&p, pt->data, pt->len);
		put(&p, "\r\n", 2);
	}
	put(&p, "--", 2);
	put(&p, boundary, blen);
	put(&p, "--\r\n", 4);
	Assert((size_t) (p - buf) == total);
	*p = '\0';

	*body = buf;
	*body_len = total;
	*content_type = psprintf("multipart/form-data; boundary=%s", boundary);
}

PG_FUNCTION_INFO_V1(pg_http_urlencode);
/* http.urlencode(params jsonb) RETURNS text: an application/x-www-form-urlencoded body */
Datum
pg_http_urlencode(PG_FUNCTION_ARGS)
{
	StringInfoData s;

	initStringInfo(&s);
	HttpParamsEncode(&s, PG_GETARG_JSONB_P(0), HTTP_ENCODE_FORM, "form");
	PG_RETURN_TEXT_P(cstring_to_text_with_len(s.data, s.len));
}

PG_FUNCTION_INFO_V1(pg_http_url);
/* http.url(base text, params jsonb) RETURNS text: base with params as its query (RFC 3986) */
Datum
pg_http_url(PG_FUNCTION_ARGS)
{
	text	   *base = PG_GETARG_TEXT_PP(0);
	StringInfoData q;

	initStringInfo(&q);
	HttpParamsEncode(&q, PG_GETARG_JSONB_P(1), HTTP_ENCODE_QUERY, "query");
	PG_RETURN_TEXT_P(cstring_to_text(HttpUrlWithQuery(VARDATA_ANY(base),
													  VARSIZE_ANY_EXHDR(base),
													  q.data, q.len)));
}
