/*-------------------------------------------------------------------------
 *
 * compat.c
 *	  The C half of the drop-in layer for pgsql-http code (compat/, the
 *	  extension pgsql_http_compat): http(http_request) and the calls hot
 *	  enough to skip it, urlencode(), the text/bytea casts and pgsql-http's
 *	  CURLOPT_* settings, all on pg_http's request model, engine and policy.
 *
 * pgsql-http's types live in whatever schema the layer is installed in:
 * the functions here find them through their own argument and result
 * types, never by name.  Its settings (http.curlopt_*, http.timeout_msec,
 * http.keepalive) stay GUC placeholders that pg_http never defines, so a
 * server that also loads pgsql-http keeps working; every call reads them
 * and judges them: an option that would loosen security is refused
 * (42501) unless a superuser sets one pg_http can honour, turning TLS
 * verification off is refused for everyone, and an option pg_http cannot
 * honour is refused by name (0A000).  The pg_net layer's encoder lives
 * here too (net._urlencode_string).
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "engine.h"
#include "exchange.h"
#include "request.h"
#include "settings.h"

#include "access/htup_details.h"
#include "common/base64.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

/* What pg_http makes of one of pgsql-http's CURLOPT_* settings. */
typedef enum CurloptKind
{
	CO_TIMEOUT_S,				/* the request's timeout */
	CO_TIMEOUT_MS,
	CO_CONNECT_S,				/* its connect timeout */
	CO_CONNECT_MS,
	CO_USERAGENT,				/* a User-Agent header */
	CO_USERPWD,					/* basic authentication */
	CO_KEEPALIVE,				/* pg_http always keeps connections: no effect */
	CO_VERIFY,					/* 0 refused for everyone, else the default */
	CO_CERTTYPE,				/* superusers: PEM only */
	CO_SUPERUSER,				/* superusers: honoured as the pg_http setting */
	CO_SUPERUSER_ONLY_NAME,		/* refused (42501, or 0A000 for superusers) */
	CO_UNSUPPORTED				/* refused for everyone (0A000) */
} CurloptKind;

typedef struct Curlopt
{
	const char *name;			/* as pgsql-http spells it */
	const char *guc;			/* its placeholder setting */
	CurloptKind kind;
	const char *setting;		/* the pg_http setting that does its job */
} Curlopt;

/* pgsql-http 1.7's settable options, in its order. */
static const Curlopt curlopts[] = {
	{"CURLOPT_CAINFO", "http.curlopt_cainfo", CO_SUPERUSER, "pg_http.ca_file"},
	{"CURLOPT_TIMEOUT", "http.curlopt_timeout", CO_TIMEOUT_S, NULL},
	{"CURLOPT_TIMEOUT_MS", "http.curlopt_timeout_ms", CO_TIMEOUT_MS, NULL},
	{"CURLOPT_CONNECTTIMEOUT", "http.curlopt_connecttimeout", CO_CONNECT_S, NULL},
	{"CURLOPT_CONNECTTIMEOUT_MS", "http.curlopt_connecttimeout_ms", CO_CONNECT_MS, NULL},
	{"CURLOPT_USERAGENT", "http.curlopt_useragent", CO_USERAGENT, NULL},
	{"CURLOPT_USERPWD", "http.curlopt_userpwd", CO_USERPWD, NULL},
	{"CURLOPT_IPRESOLVE", "http.curlopt_ipresolve", CO_UNSUPPORTED, NULL},
	{"CURLOPT_SSLCERTTYPE", "http.curlopt_sslcerttype", CO_CERTTYPE, "pg_http.client_cert"},
	{"CURLOPT_PROXY", "http.curlopt_proxy", CO_SUPERUSER, "pg_http.proxy"},
	{"CURLOPT_PROXYPORT", "http.curlopt_proxyport", CO_SUPERUSER, "pg_http.proxy"},
	{"CURLOPT_PROXYUSERNAME", "http.curlopt_proxyusername", CO_SUPERUSER, "pg_http.proxy"},
	{"CURLOPT_PROXYPASSWORD", "http.curlopt_proxypassword", CO_SUPERUSER, "pg_http.proxy"},
	{"CURLOPT_TLSAUTH_USERNAME", "http.curlopt_tlsauth_username", CO_UNSUPPORTED, NULL},
	{"CURLOPT_TLSAUTH_PASSWORD", "http.curlopt_tlsauth_password", CO_UNSUPPORTED, NULL},
	{"CURLOPT_TLSAUTH_TYPE", "http.curlopt_tlsauth_type", CO_UNSUPPORTED, NULL},
	{"CURLOPT_DNS_SERVERS", "http.curlopt_dns_servers", CO_UNSUPPORTED, NULL},
	{"CURLOPT_TCP_KEEPALIVE", "http.curlopt_tcp_keepalive", CO_KEEPALIVE, NULL},
	{"CURLOPT_TCP_KEEPIDLE", "http.curlopt_tcp_keepidle", CO_UNSUPPORTED, NULL},
	{"CURLOPT_SSL_VERIFYHOST", "http.curlopt_ssl_verifyhost", CO_VERIFY, NULL},
	{"CURLOPT_SSL_VERIFYPEER", "http.curlopt_ssl_verifypeer", CO_VERIFY, NULL},
	{"CURLOPT_SSLCERT", "http.curlopt_sslcert", CO_SUPERUSER, "pg_http.client_cert"},
	{"CURLOPT_SSLKEY", "http.curlopt_sslkey", CO_SUPERUSER, "pg_http.client_key"},
	{"CURLOPT_PRE_PROXY", "http.curlopt_pre_proxy", CO_SUPERUSER_ONLY_NAME, "pg_http.proxy"},
	{"CURLOPT_PROXY_CAINFO", "http.curlopt_proxy_cainfo", CO_SUPERUSER_ONLY_NAME, "pg_http.ca_file"},
	{"CURLOPT_PROXY_TLSAUTH_USERNAME", "http.curlopt_proxy_tlsauth_username", CO_UNSUPPORTED, NULL},
	{"CURLOPT_PROXY_TLSAUTH_PASSWORD", "http.curlopt_proxy_tlsauth_password", CO_UNSUPPORTED, NULL},
	{"CURLOPT_PROXY_TLSAUTH_TYPE", "http.curlopt_proxy_tlsauth_type", CO_UNSUPPORTED, NULL},
	{"CURLOPT_SSLKEY_BLOB", "http.curlopt_sslkey_blob", CO_SUPERUSER_ONLY_NAME, "pg_http.client_key"},
	{"CURLOPT_SSLCERT_BLOB", "http.curlopt_sslcert_blob", CO_SUPERUSER_ONLY_NAME, "pg_http.client_cert"},
};

/* Indexes of the options read by name below (checked against the table). */
#define OPT_CAINFO			0
#define OPT_TIMEOUT			1
#define OPT_TIMEOUT_MS		2
#define OPT_CONNECT			3
#define OPT_CONNECT_MS		4
#define OPT_PROXY			9
#define OPT_PROXYPORT		10
#define OPT_PROXYUSERNAME	11
#define OPT_PROXYPASSWORD	12
#define OPT_TCP_KEEPALIVE	17
#define OPT_SSLCERT			21
#define OPT_SSLKEY			22

/* pgsql-http's older names, sharing an option's value. */
typedef struct CurloptAlias
{
	const char *guc;
	int			option;			/* index in curlopts */
} CurloptAlias;

static const CurloptAlias curlopt_aliases[] = {
	{"http.timeout_msec", OPT_TIMEOUT_MS},
	{"http.keepalive", OPT_TCP_KEEPALIVE},
};

#define COMPAT_TIMEOUT_MS			5000	/* pgsql-http's defaults */
#define COMPAT_CONNECT_TIMEOUT_MS	1000
#define COMPAT_MAX_REDIRECTS		5

/* The options in effect for one call, judged. */
typedef struct CompatOptions
{
	int			timeout_ms;
	int			connect_timeout_ms;
	const char *user_agent;
	const char *userpwd;
	const char *verify_off;		/* the option that turns verification off */
	const char *values[lengthof(curlopts)]; /* set values (NULL: unset) */
	bool		overrides;		/* a superuser set a pg_http setting's job */
} CompatOptions;

/* The value of a placeholder setting, NULL when unset or empty. */
static const char *
setting_value(const char *guc)
{
	const char *v = GetConfigOption(guc, true, false);

	return v && v[0] ? v : NULL;
}

/* The value of option i: its own setting, else an alias's. */
static const char *
curlopt_value(int i)
{
	const char *v = setting_value(curlopts[i].guc);

	for (int a = 0; v == NULL && a < (int) lengthof(curlopt_aliases); a++)
		if (curlopt_aliases[a].option == i)
			v = setting_value(curlopt_aliases[a].guc);
	return v;
}

/* An integer option's value; 22023 when it is not one. */
static int64
curlopt_int(const Curlopt *o, const char *value)
{
	char	   *end;
	long long	n;

	errno = 0;
	n = strtoll(value, &end, 10);
	while (*end == ' ')
		end++;
	if (errno != 0 || end == value || *end != '\0' || n < 0 || n > INT_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for %s: \"%s\"", o->name, value),
				 errdetail("It must be a whole number from 0 to %d.", INT_MAX)));
	return n;
}

/*
 * Judge option o set to value, as the current user: throws what pg_http
 * refuses (see the file header), returns quietly otherwise.  A verification
 * option set to 0 is refused at once when set (at_set); set as a setting,
 * it is refused by the calls it would weaken (https).
 */
static void
curlopt_judge(const Curlopt *o, const char *value, bool at_set)
{
	switch (o->kind)
	{
		case CO_TIMEOUT_S:
		case CO_TIMEOUT_MS:
		case CO_CONNECT_S:
		case CO_CONNECT_MS:
			(void) curlopt_int(o, value);
			break;
		case CO_VERIFY:
			if (curlopt_int(o, value) == 0 && at_set)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("pg_http does not turn TLS verification off"),
						 errdetail("%s = 0 would accept any certificate.", o->name),
						 errhint("Have a superuser name the server's CA in pg_http.ca_file instead.")));
			break;
		case CO_CERTTYPE:
		case CO_SUPERUSER:
		case CO_SUPERUSER_ONLY_NAME:
			if (!superuser())
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied to use %s", o->name),
						 errdetail("It changes how pg_http verifies servers, authenticates to them or routes requests, which only superusers may."),
						 errhint("Ask a superuser to set %s instead.", o->setting)));
			if (o->kind == CO_SUPERUSER_ONLY_NAME ||
				(o->kind == CO_CERTTYPE && pg_strcasecmp(value, "PEM") != 0))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("pgsql_http_compat cannot honour %s", o->name),
						 errhint("Use %s (a PEM file) instead.", o->setting)));
			break;
		case CO_UNSUPPORTED:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("pgsql_http_compat cannot honour %s", o->name),
					 errdetail("pg_http has no equivalent of this curl option."),
					 errhint("Reset it: RESET %s, or SELECT http_reset_curlopt().", o->guc)));
			break;
		case CO_USERAGENT:
		case CO_USERPWD:
		case CO_KEEPALIVE:
			break;
	}
}

/* Read and judge every option set now (see curlopt_judge). */
static void
compat_options(CompatOptions *c)
{
	StaticAssertStmt(OPT_TCP_KEEPALIVE < lengthof(curlopts) && OPT_SSLKEY < lengthof(curlopts),
					 "option indexes out of the table");
	Assert(strcmp(curlopts[OPT_PROXY].name, "CURLOPT_PROXY") == 0 &&
		   strcmp(curlopts[OPT_TCP_KEEPALIVE].name, "CURLOPT_TCP_KEEPALIVE") == 0 &&
		   strcmp(curlopts[OPT_SSLKEY].name, "CURLOPT_SSLKEY") == 0);
	memset(c, 0, sizeof(*c));
	c->timeout_ms = COMPAT_TIMEOUT_MS;
	c->connect_timeout_ms = COMPAT_CONNECT_TIMEOUT_MS;
	for (int i = 0; i < (int) lengthof(curlopts); i++)
	{
		const Curlopt *o = &curlopts[i];
		const char *v = curlopt_value(i);

		if (v == NULL)
			continue;
		curlopt_judge(o, v, false);
		/*
		 * A superuser's call honours a loosening option only if a superuser
		 * (or the configuration) set it: a role that sets it in its session,
		 * its database or its role must not steer a SECURITY DEFINER
		 * function of a superuser, or a superuser's session.
		 */
		if ((o->kind == CO_SUPERUSER || o->kind == CO_CERTTYPE) &&
			!HttpSettingSetBySuperuser(o->guc))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("%s was set by a role that is not a superuser", o->name),
					 errdetail("A superuser's call uses it only when a superuser set it."),
					 errhint("RESET %s, or set it again as a superuser (or use %s).",
							 o->guc, o->setting)));
		c->values[i] = v;
		switch (o->kind)
		{
			case CO_VERIFY:
				if (curlopt_int(o, v) == 0)
					c->verify_off = o->name;
				break;
			case CO_USERAGENT:
				c->user_agent = v;
				break;
			case CO_USERPWD:
				c->userpwd = v;
				break;
			case CO_SUPERUSER:
				c->overrides = true;
				break;
			default:
				break;
		}
	}
	/* curl applies them in this order: milliseconds win over seconds */
	if (c->values[OPT_TIMEOUT])
		c->timeout_ms = (int) Min(curlopt_int(&curlopts[OPT_TIMEOUT], c->values[OPT_TIMEOUT]) * 1000, INT_MAX);
	if (c->values[OPT_TIMEOUT_MS])
		c->timeout_ms = (int) curlopt_int(&curlopts[OPT_TIMEOUT_MS], c->values[OPT_TIMEOUT_MS]);
	if (c->values[OPT_CONNECT])
		c->connect_timeout_ms = (int) Min(curlopt_int(&curlopts[OPT_CONNECT], c->values[OPT_CONNECT]) * 1000, INT_MAX);
	if (c->values[OPT_CONNECT_MS])
		c->connect_timeout_ms = (int) curlopt_int(&curlopts[OPT_CONNECT_MS], c->values[OPT_CONNECT_MS]);
}

/* Append s percent-encoded for the userinfo of a URL (HttpUrlEncode, %20 for a space). */
static void
append_userinfo(StringInfo out, const char *s)
{
	size_t		len = strlen(s);
	char	   *enc = palloc(HTTP_URL_ENCODED_MAX(len));

	appendBinaryStringInfo(out, enc, (int) HttpUrlEncode(s, len, false, enc));
	pfree(enc);
}

/* A superuser's pg_http.proxy from CURLOPT_PROXY and its companions. */
static char *
compat_proxy(const CompatOptions *c)
{
	const char *proxy = c->values[OPT_PROXY];
	const char *port = c->values[OPT_PROXYPORT];
	const char *user = c->values[OPT_PROXYUSERNAME];
	const char *pass = c->values[OPT_PROXYPASSWORD];
	const char *rest;
	StringInfoData s;

	if (proxy == NULL)
		return NULL;
	initStringInfo(&s);
	rest = strstr(proxy, "://");
	if (rest)
	{
		appendBinaryStringInfo(&s, proxy, rest + 3 - proxy);
		rest += 3;
	}
	else
	{
		appendStringInfoString(&s, "http://");
		rest = proxy;
	}
	if (user && strchr(rest, '@') == NULL)
	{
		append_userinfo(&s, user);
		if (pass)
		{
			appendStringInfoChar(&s, ':');
			append_userinfo(&s, pass);
		}
		appendStringInfoChar(&s, '@');
	}
	appendStringInfoString(&s, rest);
	/* a port only when the proxy names none (after any ]) */
	if (port && strchr(strrchr(rest, ']') ? strrchr(rest, ']') : rest, ':') == NULL)
		appendStringInfo(&s, ":%d", (int) curlopt_int(&curlopts[OPT_PROXYPORT], port));
	return s.data;
}

/*
 * A new request for method, with the settings as the options make them: a
 * superuser's CA, client certificate and proxy options stand in for the
 * pg_http settings for this request only.
 */
static HttpRequest *
compat_new_request(const char *method, const CompatOptions *c)
{
	HttpOptions base;
	HttpRequest *req;
	int			level;

	HttpOptionsDefault(&base);
	base.timeout_ms = c->timeout_ms ? c->timeout_ms : http_max_timeout_ms;
	base.connect_timeout_ms = c->connect_timeout_ms ? c->connect_timeout_ms : base.timeout_ms;
	base.max_redirects = pg_strcasecmp(method, "HEAD") == 0 ? 0 :
		Min(COMPAT_MAX_REDIRECTS, http_max_redirects);
	base.decompress = (HttpTransportAbout.features & HTTP_FEATURE_DECOMPRESS) != 0;
	if (!c->overrides)
		return HttpRequestNew(pstrdup(method), &base);

	level = NewGUCNestLevel();
	if (c->values[OPT_CAINFO])
		(void) set_config_option("pg_http.ca_file", c->values[OPT_CAINFO], PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (c->values[OPT_SSLCERT])
		(void) set_config_option("pg_http.client_cert", c->values[OPT_SSLCERT], PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (c->values[OPT_SSLKEY])
		(void) set_config_option("pg_http.client_key", c->values[OPT_SSLKEY], PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (c->values[OPT_PROXY])
		(void) set_config_option("pg_http.proxy", compat_proxy(c), PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	req = HttpRequestNew(pstrdup(method), &base);
	AtEOXact_GUC(true, level);
	return req;
}

/* The cached types of the function's result: http_response, http_header. */
typedef struct CompatTypes
{
	TupleDesc	response;
	Oid			header_type;
	TupleDesc	header;
	int16		header_len;
	bool		header_byval;
	char		header_align;
} CompatTypes;

#define RESP_STATUS			0
#define RESP_CONTENT_TYPE	1
#define RESP_HEADERS		2
#define RESP_CONTENT		3

static CompatTypes *
compat_types(FunctionCallInfo fcinfo)
{
	CompatTypes *t = fcinfo->flinfo->fn_extra;

	if (t == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	td;

		t = palloc0(sizeof(CompatTypes));
		if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE ||
			td->natts != 4 ||
			!OidIsValid(t->header_type = get_element_type(TupleDescAttr(td, RESP_HEADERS)->atttypid)))
			elog(ERROR, "a pgsql_http_compat call must return http_response");
		t->response = CreateTupleDescCopy(td);
		BlessTupleDesc(t->response);
		t->header = lookup_rowtype_tupdesc_copy(t->header_type, -1);
		BlessTupleDesc(t->header);
		get_typlenbyvalalign(t->header_type, &t->header_len, &t->header_byval, &t->header_align);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = t;
	}
	return t;
}

/*
 * The fields of a composite value (natts of them at most): values and
 * nulls, as its own row type has them.  Returns how many it has.
 */
static int
composite_fields(HeapTupleHeader rec, Datum *values, bool *nulls, int natts)
{
	TupleDesc	td = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(rec),
											HeapTupleHeaderGetTypMod(rec));
	int			n = td->natts;
	Datum	   *v = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *nl = palloc(sizeof(bool) * Max(n, 1));
	HeapTupleData tup;

	tup.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tup.t_self);
	tup.t_tableOid = InvalidOid;
	tup.t_data = rec;
	/* deform, not heap_getattr: newer minor releases' headers make that call out */
	heap_deform_tuple(&tup, td, v, nl);
	for (int i = 0; i < natts; i++)
	{
		values[i] = i < n ? v[i] : (Datum) 0;
		nulls[i] = i < n ? nl[i] : true;
	}
	ReleaseTupleDesc(td);
	pfree(v);
	pfree(nl);
	return n;
}

/* One request header of an http_header[]: field and value (NULL: none). */
typedef struct CompatHeader
{
	char	   *field;
	text	   *value;
} CompatHeader;

/*
 * The headers of an http_header[] in order, NULL elements and fields left
 * out; *has_secrets says whether one carries credentials.
 */
static CompatHeader *
compat_headers(ArrayType *headers, int *n, bool *has_secrets)
{
	ArrayIterator it = array_create_iterator(headers, 0, NULL);
	CompatHeader *hs = palloc(sizeof(CompatHeader) * Max(ArrayGetNItems(ARR_NDIM(headers), ARR_DIMS(headers)), 1));
	Datum		d;
	bool		isnull;

	*n = 0;
	*has_secrets = false;
	while (array_iterate(it, &d, &isnull))
	{
		Datum		values[2];
		bool		nulls[2];

		if (isnull)
			continue;
		if (composite_fields(HttpDatumGetHeapTupleHeader(d), values, nulls, 2) < 2)
			elog(ERROR, "http_header must have a field and a value");
		if (nulls[0])
			continue;
		hs[*n].field = TextDatumGetCString(values[0]);
		hs[*n].value = nulls[1] ? NULL : DatumGetTextPP(values[1]);
		*has_secrets |= HttpIsCredentialHeader(hs[*n].field, strlen(hs[*n].field));
		(*n)++;
	}
	array_free_iterator(it);
	return hs;
}

/* Add request headers to req (NOTICE for Content-Type, as pgsql-http). */
static void
compat_add_headers(HttpRequest *req, const CompatHeader *hs, int n)
{
	for (int i = 0; i < n; i++)
	{
		const char *field = hs[i].field;

		if (field[0] == '\0' || pg_strncasecmp(field, "Content-Type", 12) == 0)
		{
			ereport(NOTICE,
					(errmsg("'Content-Type' is not supported as an optional header"),
					 errhint("Give the content type as http_request.content_type.")));
			continue;
		}
		if (hs[i].value == NULL)
			HttpRequestHeaderAdd(&req->headers, field, strlen(field), "", 0);
		else
			HttpRequestHeaderAdd(&req->headers, field, strlen(field),
								 VARDATA_ANY(hs[i].value), VARSIZE_ANY_EXHDR(hs[i].value));
	}
}

/* The http_response row of a finished exchange: headers as received, in order. */
static Datum
compat_response(FunctionCallInfo fcinfo, HttpExchange *x)
{
	CompatTypes *t = compat_types(fcinfo);
	HttpResponse *r = &x->resp;
	const char *ct = HttpContentType(r);
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	Datum	   *elems = palloc(sizeof(Datum) * Max(r->headers.n, 1));

	for (int i = 0; i < r->headers.n; i++)
	{
		const HttpHeader *h = &r->headers.items[i];
		Datum		hv[2];
		bool		hn[2] = {false, false};

		hv[0] = CStringGetTextDatum(HttpTextForDatabase(h->name, strlen(h->name)));
		hv[1] = CStringGetTextDatum(HttpTextForDatabase(h->value, strlen(h->value)));
		elems[i] = HeapTupleGetDatum(heap_form_tuple(t->header, hv, hn));
	}
	values[RESP_STATUS] = Int32GetDatum(r->status);
	if (ct)
		values[RESP_CONTENT_TYPE] = CStringGetTextDatum(HttpTextForDatabase(ct, strlen(ct)));
	else
		nulls[RESP_CONTENT_TYPE] = true;
	values[RESP_HEADERS] = PointerGetDatum(construct_array(elems, r->headers.n, t->header_type,
														   t->header_len, t->header_byval,
														   t->header_align));
	/* an empty body is NULL, as pgsql-http has it */
	if (r->body.len == 0)
		nulls[RESP_CONTENT] = true;
	else
	{
		text	   *body = HttpBodyToText(x);

		if (body == NULL)
			HttpExchangeRaise(x);
		values[RESP_CONTENT] = PointerGetDatum(body);
	}
	return HeapTupleGetDatum(heap_form_tuple(t->response, values, nulls));
}

/*
 * One pgsql-http call: method, uri, headers (NULL: none), content_type and
 * content (NULL: no body), with the CURLOPT_* options in effect.
 */
static Datum
compat_call(FunctionCallInfo fcinfo, const char *method, text *uri, ArrayType *headers,
			text *content_type, text *content)
{
	CompatOptions c;
	HttpRequest *req;
	HttpExchange *x;
	char	   *ct = NULL;
	CompatHeader *hs = NULL;
	int			nhs = 0;
	bool		header_secrets = false;
	bool		secrets;
	ErrorContextCallback guard;
	Datum		result;

	if (uri == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("http_request.uri is NULL")));
	compat_options(&c);
	if (headers)
		hs = compat_headers(headers, &nhs, &header_secrets);
	secrets = HttpUrlHasCredentials(VARDATA_ANY(uri), VARSIZE_ANY_EXHDR(uri)) ||
		c.userpwd != NULL || header_secrets;
	HttpSecretGuardPush(&guard, secrets);

	req = compat_new_request(method, &c);
	HttpRequestSetUrl(req, VARDATA_ANY(uri), VARSIZE_ANY_EXHDR(uri));
	if (c.verify_off && req->tls)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("pg_http does not turn TLS verification off"),
				 errdetail("%s is set to 0, which would accept any certificate for %s.",
						   c.verify_off, req->url),
				 errhint("Reset it, and have a superuser name the server's CA in pg_http.ca_file.")));
	compat_add_headers(req, hs, nhs);
	if (c.user_agent && !HttpHeaderGet(&req->headers, "User-Agent"))
		HttpRequestHeaderAdd(&req->headers, "User-Agent", 10, c.user_agent, strlen(c.user_agent));
	if (c.userpwd && req->basic_auth == NULL)
	{
		int			plen = strlen(c.userpwd);
		char	   *b64 = palloc(pg_b64_enc_len(plen) + 1);
		int			n = HttpBase64Encode(c.userpwd, plen, b64, pg_b64_enc_len(plen));

		b64[Max(n, 0)] = '\0';
		req->basic_auth = psprintf("Basic %s", b64);
	}
	if (content)
	{
		if (content_type == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("http_request.content_type is NULL"),
					 errhint("A request with content needs its content type.")));
		ct = text_to_cstring(content_type);
		req->body = VARDATA_ANY(content);
		req->body_len = VARSIZE_ANY_EXHDR(content);
	}
	else if (pg_strcasecmp(method, "POST") == 0 || pg_strcasecmp(method, "PUT") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("http_request.content is NULL"),
				 errhint("POST and PUT need content; give '' for an empty body.")));
	HttpRequestFinish(req, ct);

	x = palloc0(sizeof(HttpExchange));
	x->req = req;
	HttpEngineRunAll(&x, 1, 1);
	if (!HttpExchangeSucceeded(x))
		HttpExchangeRaise(x);
	/* pgsql-http fails where pg_http would return the last redirect */
	if (req->opt.max_redirects > 0 && x->redirects >= req->opt.max_redirects &&
		(x->resp.status == 301 || x->resp.status == 302 || x->resp.status == 303 ||
		 x->resp.status == 307 || x->resp.status == 308) &&
		HttpHeaderGet(&x->resp.headers, "Location") != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("maximum (%d) redirects followed", req->opt.max_redirects),
				 errdetail("The last one, from %s, was a %d.", x->resp.url ? x->resp.url : req->url,
						   x->resp.status),
				 errhint("http.get() with the option {\"max_redirects\": n} follows up to pg_http.max_redirects, and returns the last redirect as the row.")));
	result = compat_response(fcinfo, x);
	HttpSecretGuardPop(&guard, secrets);
	return result;
}

/* A text argument, or NULL. */
static text *
arg_text(FunctionCallInfo fcinfo, int n)
{
	return PG_ARGISNULL(n) ? NULL : PG_GETARG_TEXT_PP(n);
}

PG_FUNCTION_INFO_V1(pg_http_compat_http);
/* http(request http_request) RETURNS http_response */
Datum
pg_http_compat_http(PG_FUNCTION_ARGS)
{
	Datum		values[5];
	bool		nulls[5];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("An http_request must be provided")));
	if (composite_fields(HttpDatumGetHeapTupleHeader(PG_GETARG_DATUM(0)), values, nulls, 5) != 5)
		elog(ERROR, "http_request must have 5 fields");
	if (nulls[0])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("http_request.method is NULL")));
	return compat_call(fcinfo, TextDatumGetCString(values[0]),
					   nulls[1] ? NULL : DatumGetTextPP(values[1]),
					   nulls[2] ? NULL : DatumGetArrayTypeP(values[2]),
					   nulls[3] ? NULL : DatumGetTextPP(values[3]),
					   nulls[4] ? NULL : DatumGetTextPP(values[4]));
}

/* http_get(uri), http_head(uri), http_delete(uri) */
PG_FUNCTION_INFO_V1(pg_http_compat_get);
Datum
pg_http_compat_get(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "GET", arg_text(fcinfo, 0), NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(pg_http_compat_head);
Datum
pg_http_compat_head(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "HEAD", arg_text(fcinfo, 0), NULL, NULL, NULL);
}

PG_FUNCTION_INFO_V1(pg_http_compat_delete);
Datum
pg_http_compat_delete(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "DELETE", arg_text(fcinfo, 0), NULL, NULL, NULL);
}

/* http_post, http_put, http_patch, http_delete (uri, content, content_type) */
PG_FUNCTION_INFO_V1(pg_http_compat_post);
Datum
pg_http_compat_post(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "POST", arg_text(fcinfo, 0), NULL, arg_text(fcinfo, 2),
					   arg_text(fcinfo, 1));
}

PG_FUNCTION_INFO_V1(pg_http_compat_put);
Datum
pg_http_compat_put(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "PUT", arg_text(fcinfo, 0), NULL, arg_text(fcinfo, 2),
					   arg_text(fcinfo, 1));
}

PG_FUNCTION_INFO_V1(pg_http_compat_patch);
Datum
pg_http_compat_patch(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "PATCH", arg_text(fcinfo, 0), NULL, arg_text(fcinfo, 2),
					   arg_text(fcinfo, 1));
}

PG_FUNCTION_INFO_V1(pg_http_compat_delete_body);
Datum
pg_http_compat_delete_body(PG_FUNCTION_ARGS)
{
	return compat_call(fcinfo, "DELETE", arg_text(fcinfo, 0), NULL, arg_text(fcinfo, 2),
					   arg_text(fcinfo, 1));
}

/* Percent-encode s[0..len) into a new text (see HttpUrlEncode). */
static text *
url_encoded(const char *s, size_t len, bool space_as_plus)
{
	text	   *t;
	size_t		n;

	if (len > (MaxAllocSize - VARHDRSZ - 1) / 3)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value too long to URL-encode")));
	t = palloc(VARHDRSZ + HTTP_URL_ENCODED_MAX(len));
	n = HttpUrlEncode(s, len, space_as_plus, VARDATA(t));
	SET_VARSIZE(t, VARHDRSZ + n);
	return t;
}

PG_FUNCTION_INFO_V1(pg_http_compat_urlencode);
/* urlencode(varchar) and urlencode(bytea): pgsql-http's encoding (HttpUrlEncode, + for space) */
Datum
pg_http_compat_urlencode(PG_FUNCTION_ARGS)
{
	struct varlena *v = PG_GETARG_VARLENA_PP(0);

	PG_RETURN_TEXT_P(url_encoded(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), true));
}

PG_FUNCTION_INFO_V1(pg_http_compat_escape);
/* net._urlencode_string(varchar): pg_net's (curl's) encoding, %20 for space */
Datum
pg_http_compat_escape(PG_FUNCTION_ARGS)
{
	text	   *v = PG_GETARG_TEXT_PP(0);

	PG_RETURN_TEXT_P(url_encoded(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), false));
}

PG_FUNCTION_INFO_V1(pg_http_compat_urlencode_jsonb);
/*
 * urlencode(jsonb): the top-level members of an object as key=value&...,
 * strings as they are, numbers and booleans as text, null as empty; empty
 * keys and nested values are left out; NULL when nothing is left.
 */
Datum
pg_http_compat_urlencode_jsonb(PG_FUNCTION_ARGS)
{
	Jsonb	   *jb = PG_GETARG_JSONB_P(0);
	StringInfoData s;

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("urlencode() needs a JSON object"),
				 errhint("Give the parameters as {\"name\": \"value\", ...}.")));
	/* the shared encoder, in pgsql-http's encoding and leniency (forms.c) */
	initStringInfo(&s);
	HttpParamsEncode(&s, jb, HTTP_ENCODE_PGSQL_HTTP, "urlencode()");
	if (s.len == 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(s.data, s.len));
}

PG_FUNCTION_INFO_V1(pg_http_compat_text_to_bytea);
/* text_to_bytea(text): the bytes of the text */
Datum
pg_http_compat_text_to_bytea(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	bytea	   *b = palloc(VARHDRSZ + VARSIZE_ANY_EXHDR(t));

	SET_VARSIZE(b, VARHDRSZ + VARSIZE_ANY_EXHDR(t));
	memcpy(VARDATA(b), VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	PG_RETURN_BYTEA_P(b);
}

PG_FUNCTION_INFO_V1(pg_http_compat_bytea_to_text);
/*
 * bytea_to_text(bytea): the bytes as text, when they are text in the
 * database encoding (22021 otherwise: text that is not valid breaks
 * comparisons, dumps and restores).
 */
Datum
pg_http_compat_bytea_to_text(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(b);
	int			len = VARSIZE_ANY_EXHDR(b);

	if (!pg_verify_mbstr(GetDatabaseEncoding(), p, len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("bytea_to_text: the bytes are not valid %s text",
						GetDatabaseEncodingName()),
				 errdetail("pgsql_http_compat does not make text values that are not valid in the database encoding."),
				 errhint("Send binary bodies with http.request_bytes(), which takes bytea.")));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(p, len));
}

/* The option named name (any case), or NULL. */
static const Curlopt *
curlopt_find(const char *name)
{
	for (int i = 0; i < (int) lengthof(curlopts); i++)
		if (pg_strcasecmp(curlopts[i].name, name) == 0)
			return &curlopts[i];
	return NULL;
}

PG_FUNCTION_INFO_V1(pg_http_compat_set_curlopt);
/* http_set_curlopt(curlopt, value): judged now, kept as the session's setting */
Datum
pg_http_compat_set_curlopt(PG_FUNCTION_ARGS)
{
	const Curlopt *o;
	char	   *name;
	char	   *value;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_BOOL(false);
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	value = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if ((o = curlopt_find(name)) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("curl option '%s' is not available for run-time configuration", name),
				 errhint("SELECT * FROM http_list_curlopt() shows the options set; pgsql-http's README lists those it knows.")));
	curlopt_judge(o, value, true);
	/* as SET does: a superuser's value is recorded as one (see compat_options) */
	(void) set_config_option(o->guc, value, superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(pg_http_compat_reset_curlopt);
/* http_reset_curlopt(): every option (and its older names) back to unset */
Datum
pg_http_compat_reset_curlopt(PG_FUNCTION_ARGS)
{
	for (int i = 0; i < (int) lengthof(curlopts); i++)
		if (GetConfigOption(curlopts[i].guc, true, false) != NULL)
			(void) set_config_option(curlopts[i].guc, NULL, PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SET, true, 0, false);
	for (int a = 0; a < (int) lengthof(curlopt_aliases); a++)
		if (GetConfigOption(curlopt_aliases[a].guc, true, false) != NULL)
			(void) set_config_option(curlopt_aliases[a].guc, NULL, PGC_USERSET, PGC_S_SESSION,
									 GUC_ACTION_SET, true, 0, false);
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(pg_http_compat_list_curlopt);
/* http_list_curlopt(): (curlopt, value) of every option set */
Datum
pg_http_compat_list_curlopt(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < (int) lengthof(curlopts); i++)
	{
		const char *v = curlopt_value(i);
		Datum		values[2];
		bool		nulls[2] = {false, false};

		if (v == NULL)
			continue;
		values[0] = CStringGetTextDatum(curlopts[i].name);
		values[1] = CStringGetTextDatum(v);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
