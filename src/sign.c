/*-------------------------------------------------------------------------
 *
 * sign.c
 *	  Request signatures: Standard Webhooks, generic HMAC, AWS Signature
 *	  Version 4, and the hashing and encoding they share.
 *
 * HMAC and SHA-2 are PostgreSQL's own (common/hmac.h, common/cryptohash.h):
 * no new dependency.  When PostgreSQL is built with OpenSSL these contexts
 * are tracked by the current resource owner; a delivery worker signs
 * outside any transaction, so a resource owner of this file's own stands
 * in when there is none.  Secret bytes are wiped once used.
 *
 * Everything here works on bytes it is given (a request about to be sent,
 * a time, a key): credentials.c decides what is signed and with which
 * secret, per attempt and per hop.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "http1.h"
#include "request.h"

#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "pgtime.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

static ResourceOwner sign_owner = NULL;

/* Make sure a resource owner exists for the hash contexts; returns the old one. */
static ResourceOwner
sign_enter(void)
{
	ResourceOwner old = CurrentResourceOwner;

	if (old == NULL)
	{
		if (sign_owner == NULL)
			sign_owner = ResourceOwnerCreate(NULL, "pg_http signing");
		CurrentResourceOwner = sign_owner;
	}
	return old;
}

/* HMAC of data with key into out (32 or 64 bytes); throws on a library failure. */
void
HttpHmac(bool sha512, const void *key, size_t keylen, const void *data, size_t len,
		 uint8 *out)
{
	ResourceOwner old = sign_enter();
	pg_hmac_ctx *ctx = pg_hmac_create(sha512 ? PG_SHA512 : PG_SHA256);
	size_t		outlen = sha512 ? PG_SHA512_DIGEST_LENGTH : PG_SHA256_DIGEST_LENGTH;
	bool		ok;

	ok = ctx != NULL &&
		pg_hmac_init(ctx, key, keylen) == 0 &&
		pg_hmac_update(ctx, data, len) == 0 &&
		pg_hmac_final(ctx, out, outlen) == 0;
	pg_hmac_free(ctx);
	CurrentResourceOwner = old;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute an HMAC for a request signature")));
}

/* SHA-256 of data into out (32 bytes); throws on a library failure. */
void
HttpSha256(const void *data, size_t len, uint8 *out)
{
	ResourceOwner old = sign_enter();
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	bool		ok;

	ok = ctx != NULL &&
		pg_cryptohash_init(ctx) == 0 &&
		pg_cryptohash_update(ctx, data, len) == 0 &&
		pg_cryptohash_final(ctx, out, PG_SHA256_DIGEST_LENGTH) == 0;
	pg_cryptohash_free(ctx);
	CurrentResourceOwner = old;
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute a SHA-256 digest for a request signature")));
}

/* Lower-case hex of n bytes. */
char *
HttpHex(const uint8 *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char	   *s = palloc(n * 2 + 1);

	for (size_t i = 0; i < n; i++)
	{
		s[2 * i] = digits[b[i] >> 4];
		s[2 * i + 1] = digits[b[i] & 15];
	}
	s[n * 2] = '\0';
	return s;
}

/* Standard base64 of n bytes. */
char *
HttpBase64(const void *b, size_t n)
{
	int			cap = pg_b64_enc_len((int) n);
	char	   *s = palloc(cap + 1);
	int			len = HttpBase64Encode(b, (int) n, s, cap);

	s[Max(len, 0)] = '\0';
	return s;
}

/* ------------------------------------------------------------------ */
/* AWS Signature Version 4 */

static bool
aws_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		c == '-' || c == '_' || c == '.' || c == '~';
}

/* Append s[0..n) URI-encoded the AWS way (slash kept if keep_slash). */
static void
aws_encode(StringInfo out, const char *s, size_t n, bool keep_slash)
{
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (aws_unreserved(c) || (keep_slash && c == '/'))
			appendStringInfoChar(out, (char) c);
		else
			appendStringInfo(out, "%%%02X", c);
	}
}

/* The value of a hex digit, or -1. */
int
HttpHexDigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* s[0..n) percent-decoded ("+" stays "+"), into a palloc'd buffer; *outlen set. */
static char *
pct_decode(const char *s, size_t n, size_t *outlen)
{
	char	   *o = palloc(n + 1);
	size_t		k = 0;

	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '%' && i + 2 < n && HttpHexDigit(s[i + 1]) >= 0 && HttpHexDigit(s[i + 2]) >= 0)
		{
			o[k++] = (char) (HttpHexDigit(s[i + 1]) * 16 + HttpHexDigit(s[i + 2]));
			i += 2;
		}
		else
			o[k++] = s[i];
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

typedef struct AwsPair
{
	char	   *name;			/* encoded */
	char	   *value;
} AwsPair;

static int
aws_pair_cmp(const void *a, const void *b)
{
	const AwsPair *x = a;
	const AwsPair *y = b;
	int			c = strcmp(x->name, y->name);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* The canonical query string of a query (without "?"). */
static void
aws_canonical_query(StringInfo out, const char *q)
{
	int			n = 0;
	int			cap = 8;
	AwsPair    *pairs = palloc(sizeof(AwsPair) * cap);
	const char *p = q;

	while (*p)
	{
		const char *amp = strchr(p, '&');
		size_t		len = amp ? (size_t) (amp - p) : strlen(p);
		const char *eq = memchr(p, '=', len);
		size_t		nlen = eq ? (size_t) (eq - p) : len;
		size_t		dlen;
		char	   *d;
		StringInfoData e;

		if (len > 0)
		{
			if (n == cap)
			{
				cap *= 2;
				pairs = repalloc(pairs, sizeof(AwsPair) * cap);
			}
			initStringInfo(&e);
			d = pct_decode(p, nlen, &dlen);
			aws_encode(&e, d, dlen, false);
			pairs[n].name = e.data;
			initStringInfo(&e);
			if (eq)
			{
				d = pct_decode(eq + 1, len - nlen - 1, &dlen);
				aws_encode(&e, d, dlen, false);
			}
			pairs[n].value = e.data;
			n++;
		}
		p += len;
		if (*p == '&')
			p++;
	}
	qsort(pairs, n, sizeof(AwsPair), aws_pair_cmp);
	for (int i = 0; i < n; i++)
		appendStringInfo(out, "%s%s=%s", i ? "&" : "", pairs[i].name, pairs[i].value);
}

/* The value of a header, trimmed, inner runs of spaces folded to one. */
static void
aws_header_value(StringInfo out, const char *v)
{
	bool		space = false;

	while (*v == ' ' || *v == '\t')
		v++;
	for (; *v; v++)
	{
		if (*v == ' ' || *v == '\t')
			space = true;
		else
		{
			if (space)
				appendStringInfoChar(out, ' ');
			space = false;
			appendStringInfoChar(out, *v);
		}
	}
}

/* Headers left out of the signature: added or changed on the way, or ours. */
static bool
aws_unsigned_header(const char *lname)
{
	static const char *const skip[] = {
		"authorization", "user-agent", "accept", "expect", "connection",
		"content-length", "transfer-encoding", "x-amzn-trace-id", "traceparent",
	};

	for (size_t i = 0; i < lengthof(skip); i++)
		if (strcmp(lname, skip[i]) == 0)
			return true;
	return false;
}

typedef struct AwsHeader
{
	char	   *lname;
	StringInfoData value;
} AwsHeader;

static int
aws_header_cmp(const void *a, const void *b)
{
	return strcmp(((const AwsHeader *) a)->lname, ((const AwsHeader *) b)->lname);
}

/*
 * Sign req for AWS (SigV4) at time t: adds X-Amz-Date, X-Amz-Security-Token
 * (with a session token), X-Amz-Content-Sha256 (S3, or an unsigned
 * payload) and Authorization to req->headers.  Signed are host and every
 * header but those aws_unsigned_header names.  S3 paths are encoded once,
 * other services' normalized and encoded again, as AWS specifies.
 */
void
HttpSignAws(HttpRequest *req, const HttpAwsKey *k, pg_time_t t)
{
	struct pg_tm *tm = pg_gmtime(&t);
	char		amz_date[17];
	char		date[9];
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	uint8		kdate[PG_SHA256_DIGEST_LENGTH];
	uint8		kregion[PG_SHA256_DIGEST_LENGTH];
	uint8		kservice[PG_SHA256_DIGEST_LENGTH];
	uint8		ksigning[PG_SHA256_DIGEST_LENGTH];
	char	   *payload_hash;
	bool		s3 = strcmp(k->service, "s3") == 0;
	StringInfoData cr;
	StringInfoData signed_names;
	StringInfoData sts;
	StringInfoData secret;
	const char *q;
	size_t		plen;
	AwsHeader  *hs;
	int			nh = 0;
	char	   *scope;

	snprintf(amz_date, sizeof(amz_date), "%04d%02d%02dT%02d%02d%02dZ",
			 tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec);
	memcpy(date, amz_date, 8);
	date[8] = '\0';

	if (k->unsigned_payload)
		payload_hash = "UNSIGNED-PAYLOAD";
	else if (HttpHeaderGet(&req->headers, "X-Amz-Content-Sha256"))
		payload_hash = (char *) HttpHeaderGet(&req->headers, "X-Amz-Content-Sha256");
	else
	{
		HttpSha256(req->body ? req->body : "", req->body ? req->body_len : 0, digest);
		payload_hash = HttpHex(digest, sizeof(digest));
	}

	/* the headers pg_http adds for AWS, before any is signed */
	HttpHeaderTake(&req->headers, "X-Amz-Date");
	HttpHeaderAdd(&req->headers, "X-Amz-Date", 10, amz_date, strlen(amz_date));
	if (k->session_token)
	{
		HttpHeaderTake(&req->headers, "X-Amz-Security-Token");
		HttpHeaderAdd(&req->headers, "X-Amz-Security-Token", 20, k->session_token,
					  strlen(k->session_token));
	}
	if (k->unsigned_payload)
		HttpHeaderTake(&req->headers, "X-Amz-Content-Sha256");	/* what is signed is sent */
	if ((s3 || k->unsigned_payload) && !HttpHeaderGet(&req->headers, "X-Amz-Content-Sha256"))
		HttpHeaderAdd(&req->headers, "X-Amz-Content-Sha256", 20, payload_hash, strlen(payload_hash));

	/* canonical request: method, path, query */
	initStringInfo(&cr);
	appendStringInfo(&cr, "%s\n", req->method);
	q = strchr(req->target, '?');
	plen = q ? (size_t) (q - req->target) : strlen(req->target);
	if (s3)
	{
		size_t		dlen;
		char	   *d = pct_decode(req->target, plen, &dlen);

		aws_encode(&cr, d, dlen, true);
	}
	else
	{
		char	   *path = HttpRemoveDotSegments(pnstrdup(req->target, plen));
		char	   *o = path;

		/* normalized: no empty segments either ("//a//" is "/a/") */
		for (char *p = path; *p; p++)
			if (!(*p == '/' && o > path && o[-1] == '/'))
				*o++ = *p;
		*o = '\0';
		aws_encode(&cr, path, strlen(path), true);
	}
	appendStringInfoChar(&cr, '\n');
	aws_canonical_query(&cr, q ? q + 1 : "");
	appendStringInfoChar(&cr, '\n');

	/* canonical headers: host and the rest, lower-cased, sorted, repeats joined */
	hs = palloc(sizeof(AwsHeader) * (req->headers.n + 1));
	hs[nh].lname = "host";
	initStringInfo(&hs[nh].value);
	appendStringInfoString(&hs[nh].value, req->authority);
	nh++;
	for (int i = 0; i < req->headers.n; i++)
	{
		char	   *l = pstrdup(req->headers.items[i].name);
		int			j;

		for (char *c = l; *c; c++)
			*c = pg_ascii_tolower((unsigned char) *c);
		if (aws_unsigned_header(l) || strcmp(l, "host") == 0)
			continue;
		for (j = 0; j < nh && strcmp(hs[j].lname, l) != 0; j++)
			;
		if (j == nh)
		{
			hs[nh].lname = l;
			initStringInfo(&hs[nh].value);
			nh++;
		}
		else
			appendStringInfoChar(&hs[j].value, ',');
		aws_header_value(&hs[j].value, req->headers.items[i].value);
	}
	qsort(hs, nh, sizeof(AwsHeader), aws_header_cmp);
	initStringInfo(&signed_names);
	for (int i = 0; i < nh; i++)
	{
		appendStringInfo(&cr, "%s:%s\n", hs[i].lname, hs[i].value.data);
		appendStringInfo(&signed_names, "%s%s", i ? ";" : "", hs[i].lname);
	}
	appendStringInfo(&cr, "\n%s\n%s", signed_names.data, payload_hash);

	/* string to sign, signing key, signature */
	scope = psprintf("%s/%s/%s/aws4_request", date, k->region, k->service);
	HttpSha256(cr.data, cr.len, digest);
	initStringInfo(&sts);
	appendStringInfo(&sts, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope,
					 HttpHex(digest, sizeof(digest)));
	initStringInfo(&secret);
	appendStringInfo(&secret, "AWS4%s", k->secret_key);
	HttpHmac(false, secret.data, secret.len, date, strlen(date), kdate);
	explicit_bzero(secret.data, secret.len);
	HttpHmac(false, kdate, sizeof(kdate), k->region, strlen(k->region), kregion);
	HttpHmac(false, kregion, sizeof(kregion), k->service, strlen(k->service), kservice);
	HttpHmac(false, kservice, sizeof(kservice), "aws4_request", 12, ksigning);
	HttpHmac(false, ksigning, sizeof(ksigning), sts.data, sts.len, digest);
	explicit_bzero(kdate, sizeof(kdate));
	explicit_bzero(ksigning, sizeof(ksigning));

	HttpHeaderTake(&req->headers, "Authorization");
	{
		char	   *auth = psprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
									k->access_key, scope, signed_names.data,
									HttpHex(digest, sizeof(digest)));

		HttpHeaderAdd(&req->headers, "Authorization", 13, auth, strlen(auth));
	}
}

/* ------------------------------------------------------------------ */
/* Standard Webhooks and generic HMAC */

/*
 * Standard Webhooks: webhook-id, webhook-timestamp and webhook-signature
 * "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".  A secret in the
 * spec's form "whsec_<base64>" is decoded; any other is used as it is.
 */
void
HttpSignWebhook(HttpRequest *req, const char *secret, size_t secret_len,
				const char *msg_id, pg_time_t t)
{
	StringInfoData content;
	uint8		mac[PG_SHA256_DIGEST_LENGTH];
	char		ts[24];
	char	   *key = (char *) secret;
	int			keylen = (int) secret_len;
	char	   *sig;

	if (secret_len > 6 && strncmp(secret, "whsec_", 6) == 0)
	{
		int			cap = pg_b64_dec_len((int) secret_len - 6);

		key = palloc(cap + 1);
		keylen = HttpBase64Decode(secret + 6, (int) secret_len - 6, key, cap);
		if (keylen < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("webhook signing secret is not valid base64 after \"whsec_\"")));
	}
	snprintf(ts, sizeof(ts), INT64_FORMAT, (int64) t);
	initStringInfo(&content);
	appendStringInfo(&content, "%s.%s.", msg_id, ts);
	if (req->body)
		appendBinaryStringInfo(&content, req->body, req->body_len);
	HttpHmac(false, key, keylen, content.data, content.len, mac);
	if (key != secret)
		explicit_bzero(key, keylen);
	sig = psprintf("v1,%s", HttpBase64(mac, sizeof(mac)));
	HttpHeaderTake(&req->headers, "webhook-id");
	HttpHeaderTake(&req->headers, "webhook-timestamp");
	HttpHeaderTake(&req->headers, "webhook-signature");
	HttpHeaderAdd(&req->headers, "webhook-id", 10, msg_id, strlen(msg_id));
	HttpHeaderAdd(&req->headers, "webhook-timestamp", 17, ts, strlen(ts));
	HttpHeaderAdd(&req->headers, "webhook-signature", 17, sig, strlen(sig));
}

/*
 * Expand a template: {body}, {timestamp}, {id}, {method}, {target} and
 * (value templates) {signature}.  Unknown names are kept as they are.
 */
static void
expand(StringInfo out, const char *tmpl, const HttpRequest *req, const char *ts,
	   const char *id, const char *signature)
{
	for (const char *p = tmpl; *p; p++)
	{
		if (*p == '{')
		{
			const char *end = strchr(p, '}');
			size_t		n = end ? (size_t) (end - p - 1) : 0;

#define IS(word) (end && n == strlen(word) && strncmp(p + 1, word, n) == 0)
			if (IS("body"))
			{
				if (req->body)
					appendBinaryStringInfo(out, req->body, req->body_len);
			}
			else if (IS("timestamp"))
				appendStringInfoString(out, ts);
			else if (IS("id"))
				appendStringInfoString(out, id ? id : "");
			else if (IS("method"))
				appendStringInfoString(out, req->method);
			else if (IS("target"))
				appendStringInfoString(out, req->target);
			else if (IS("signature") && signature)
				appendStringInfoString(out, signature);
			else
			{
				appendStringInfoChar(out, *p);
				continue;
			}
#undef IS
			p = end;
		}
		else
			appendStringInfoChar(out, *p);
	}
}

/* Generic HMAC: header = value template with {signature} of the payload template. */
void
HttpSignHmac(HttpRequest *req, const HttpHmacSpec *h, const char *secret, size_t secret_len,
			 const char *msg_id, pg_time_t t)
{
	StringInfoData payload;
	StringInfoData value;
	uint8		mac[PG_SHA512_DIGEST_LENGTH];
	size_t		maclen = h->sha512 ? PG_SHA512_DIGEST_LENGTH : PG_SHA256_DIGEST_LENGTH;
	char		ts[24];
	char	   *sig;

	snprintf(ts, sizeof(ts), INT64_FORMAT, (int64) t);
	initStringInfo(&payload);
	expand(&payload, h->payload, req, ts, msg_id, NULL);
	HttpHmac(h->sha512, secret, secret_len, payload.data, payload.len, mac);
	sig = h->base64 ? HttpBase64(mac, maclen) : HttpHex(mac, maclen);
	initStringInfo(&value);
	expand(&value, h->value, req, ts, msg_id, sig);
	if (!Http1IsFieldValue(value.data, value.len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("signature header \"%s\" would not be a valid header value", h->header),
				 errdetail("What its \"value\" template expands to has a control character.")));
	HttpHeaderTake(&req->headers, h->header);
	HttpHeaderAdd(&req->headers, h->header, strlen(h->header), value.data, value.len);
	if (h->timestamp_header)
	{
		HttpHeaderTake(&req->headers, h->timestamp_header);
		HttpHeaderAdd(&req->headers, h->timestamp_header, strlen(h->timestamp_header),
					  ts, strlen(ts));
	}
}
