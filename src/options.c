/*-------------------------------------------------------------------------
 *
 * options.c
 *	  The "options" of a request, from one table.
 *
 * Every option is one row of the table below: its name, its type and range,
 * the setting that caps it (options can only tighten what the settings
 * allow), and whether it is a delivery option of a queued request.  The
 * synchronous calls, http.batch and http.enqueue all read options through
 * it, and the hint that lists the valid options is made from it.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "request.h"
#include "settings.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

typedef enum OptionKind
{
	OPT_INT,					/* an integer in [min, max] */
	OPT_BOOL,
	OPT_STRING,					/* a palloc'd C string */
	OPT_HTTP_VERSION,			/* "1.1" or "2" */
	OPT_OBJECT					/* a JSON object, kept as a Jsonb (credentials.c reads it) */
} OptionKind;

typedef struct OptionDef
{
	const char *name;
	OptionKind	kind;
	bool		queued;			/* a delivery option (HttpQueueOptions) */
	size_t		offset;			/* of the field it sets */
	size_t		width;			/* of an integer field: 4 or 8 */
	int64		min;
	int64		max;
	const char *cap_setting;	/* the superuser setting that caps it */
	int64		(*cap) (void);	/* that setting's value */
} OptionDef;

static int64
cap_max_response_bytes(void)
{
	return http_max_response_bytes;
}

static int64
cap_max_redirects(void)
{
	return http_max_redirects;
}

#define PLAIN(f) false, offsetof(HttpOptions, f), sizeof(((HttpOptions *) 0)->f)
#define QUEUED(f) true, offsetof(HttpQueueOptions, f), sizeof(((HttpQueueOptions *) 0)->f)
#define DAY_MS (INT64CONST(24) * 3600 * 1000)

static const OptionDef options[] = {
	{"timeout_ms", OPT_INT, PLAIN(timeout_ms), 1, INT_MAX},
	{"connect_timeout_ms", OPT_INT, PLAIN(connect_timeout_ms), 1, INT_MAX},
	{"max_response_bytes", OPT_INT, PLAIN(max_response_bytes), 0, PG_INT64_MAX,
	"pg_http.max_response_bytes", cap_max_response_bytes},
	{"keepalive", OPT_BOOL, PLAIN(keepalive)},
	{"max_redirects", OPT_INT, PLAIN(max_redirects), 0, INT_MAX,
	"pg_http.max_redirects", cap_max_redirects},
	{"http_version", OPT_HTTP_VERSION, PLAIN(http_version)},
	{"decompress", OPT_BOOL, PLAIN(decompress)},
	{"auth", OPT_OBJECT, PLAIN(auth)},
	{"sign", OPT_OBJECT, PLAIN(sign)},
	{"max_attempts", OPT_INT, QUEUED(max_attempts), 1, 100},
	{"backoff_ms", OPT_INT, QUEUED(backoff_ms), 1, DAY_MS},
	{"backoff_max_ms", OPT_INT, QUEUED(backoff_max_ms), 1, DAY_MS},
	{"retry_4xx", OPT_BOOL, QUEUED(retry_4xx)},
	{"not_before", OPT_STRING, QUEUED(not_before)},
	{"delay_ms", OPT_INT, QUEUED(delay_ms), 0, HTTP_QUEUE_MAX_DELAY_MS},
	{"idempotency_key", OPT_STRING, QUEUED(idempotency_key)},
	{"callback", OPT_STRING, QUEUED(callback)},
	{"tag", OPT_STRING, QUEUED(tag)},
	{"ordering_key", OPT_STRING, QUEUED(ordering_key)},
};

/*
 * "Valid options are a, b and c.": the options of a synchronous call, or
 * (queued) of a queued request.
 */
static char *
options_hint(bool queued)
{
	StringInfoData s;
	int			n = 0;
	int			total = 0;

	for (size_t i = 0; i < lengthof(options); i++)
		total += !options[i].queued || queued;
	initStringInfo(&s);
	appendStringInfoString(&s, "Valid options are ");
	for (size_t i = 0; i < lengthof(options); i++)
	{
		if (options[i].queued && !queued)
			continue;
		if (n > 0)
			appendStringInfoString(&s, n == total - 1 ? " and " : ", ");
		appendStringInfoString(&s, options[i].name);
		n++;
	}
	appendStringInfoChar(&s, '.');
	return s.data;
}

/* An integer option value in [min, max].  Throws 22023. */
static int64
option_int(const char *name, JsonbValue *v, int64 min, int64 max)
{
	int64		n = 0;
	bool		ok = false;

	if (v->type == jbvNumeric)
	{
		Datum		d = DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric));

		/* numeric_int8 rounds: insist on an integral value */
		ok = DatumGetBool(DirectFunctionCall2(numeric_eq, NumericGetDatum(v->val.numeric),
											  DirectFunctionCall1(int8_numeric, d)));
		n = DatumGetInt64(d);
	}
	if (!ok || n < min || n > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be an integer between " INT64_FORMAT " and " INT64_FORMAT,
						name, min, max)));
	return n;
}

/* Set one option from its value into target.  Throws 22023 or 42501. */
static void
option_apply(const OptionDef *d, JsonbValue *v, void *target)
{
	char	   *field = (char *) target + d->offset;

	switch (d->kind)
	{
		case OPT_INT:
			{
				int64		n = option_int(d->name, v, d->min, d->max);

				if (d->cap && n > d->cap())
					ereport(ERROR,
							(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
							 errmsg("option \"%s\" cannot exceed %s", d->name, d->cap_setting),
							 errdetail("Requested " INT64_FORMAT ", limit " INT64_FORMAT ".", n, d->cap()),
							 errhint("Options can only tighten limits; a superuser can raise %s.",
									 d->cap_setting)));
				if (d->width == sizeof(int64))
					*(int64 *) field = n;
				else
					*(int *) field = (int) n;
				break;
			}
		case OPT_BOOL:
			if (v->type != jbvBool)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be true or false", d->name)));
			*(bool *) field = v->val.boolean;
			break;
		case OPT_STRING:
			if (v->type != jbvString)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be a string", d->name)));
			*(char **) field = pnstrdup(v->val.string.val, v->val.string.len);
			break;
		case OPT_HTTP_VERSION:
			if (v->type == jbvString && v->val.string.len == 3 &&
				memcmp(v->val.string.val, "1.1", 3) == 0)
				*(int *) field = 11;
			else if (v->type == jbvString && v->val.string.len == 1 && v->val.string.val[0] == '2')
				*(int *) field = 20;
			else
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"http_version\" must be \"1.1\" or \"2\"")));
			break;
		case OPT_OBJECT:
			if (v->type == jbvNull)
			{
				*(Jsonb **) field = NULL;
				break;
			}
			if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"%s\" must be a JSON object", d->name)));
			*(Jsonb **) field = JsonbValueToJsonb(v);
			break;
	}
}

/*
 * Read an options object: the request options into o (NULL: skip them),
 * the delivery options into q (NULL: skip them).  Delivery options are
 * refused unless queued.  Throws 22023 on an unknown or bad option, 42501
 * on one above the setting that caps it.
 */
static void
options_read(Jsonb *jb, HttpOptions *o, HttpQueueOptions *q, bool queued)
{
	JsonbIterator *it;
	JsonbValue	v;
	char	   *key = NULL;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a JSON object")));
	it = JsonbIteratorInit(&jb->root);
	while (HttpJsonbNextMember(&it, &key, &v))
	{
		const OptionDef *d = NULL;

		for (size_t i = 0; i < lengthof(options) && d == NULL; i++)
			if (strcmp(key, options[i].name) == 0)
				d = &options[i];
		if (d == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized option \"%s\"", key),
					 errhint("%s", options_hint(queued))));
		if (d->queued && !queued)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" applies only to queued requests", key),
					 errhint("Pass it to http.enqueue().")));
		if (d->queued ? q != NULL : o != NULL)
			option_apply(d, &v, d->queued ? (void *) q : (void *) o);
	}
}

/* The options a request has when it names none: the settings'.  Never throws. */
void
HttpOptionsDefault(HttpOptions *o)
{
	o->timeout_ms = http_timeout_ms;
	o->connect_timeout_ms = http_connect_timeout_ms;
	o->max_response_bytes = http_max_response_bytes;
	o->keepalive = http_keepalive;
	o->max_redirects = 0;
	o->http_version = 0;
	o->decompress = false;
	o->auth = NULL;
	o->sign = NULL;
}

/*
 * Overlay an options object (NULL: none) on o; the delivery options of a
 * queued request are skipped when queued, refused otherwise.  Throws 22023
 * or 42501.
 */
void
HttpOptionsFromJsonb(HttpOptions *o, Jsonb *jb, bool queued)
{
	if (jb == NULL)
		return;
	options_read(jb, o, NULL, queued);
	/* keep-alive only where the setting allows it */
	o->keepalive = o->keepalive && http_keepalive;
}

/*
 * The delivery options of a queued request document (its "options"), with
 * the defaults for those it does not name.  The request options in it are
 * checked by HttpRequestFromDocument, not here.  Throws 22023.
 */
void
HttpQueueOptionsFromDocument(HttpQueueOptions *q, Jsonb *doc)
{
	JsonbValue *opts;

	q->max_attempts = http_queue_max_attempts;
	q->backoff_ms = 1000;
	q->backoff_max_ms = 300000;
	q->retry_4xx = false;
	q->delay_ms = 0;
	q->not_before = NULL;
	q->idempotency_key = NULL;
	q->callback = NULL;
	q->tag = NULL;
	q->ordering_key = NULL;

	if (!JB_ROOT_IS_OBJECT(doc) || JB_ROOT_IS_SCALAR(doc))
		return;					/* HttpRequestFromDocument says why */
	opts = getKeyJsonValueFromContainer(&doc->root, "options", 7, NULL);
	if (opts == NULL || opts->type != jbvBinary ||
		!JsonContainerIsObject(opts->val.binary.data))
		return;
	options_read(JsonbValueToJsonb(opts), NULL, q, true);
	if (q->backoff_max_ms < q->backoff_ms)
		q->backoff_max_ms = q->backoff_ms;
}
