/*-------------------------------------------------------------------------
 *
 * credentials.c
 *	  Secrets by name, bound to hosts; signed requests; OAuth 2.0 tokens.
 *
 * A secret is a file in pg_http.secrets_dir (one per secret, permissions
 * checked like the server's key files), defined by a superuser with the
 * host patterns and ports it may be sent to (http.secret), and usable by
 * the roles it is granted to (http.secret_grant).  SQL names it, never
 * holds it: {"secret": "stripe"} as a header value, or in the "auth" and
 * "sign" options.  The queue stores the names; values are read from the
 * file when a request is about to go out, so a changed file takes effect
 * on the next request and no value reaches a table, an error or the log.
 *
 * When a request is made (in a transaction: a call, http.enqueue, a
 * delivery worker's claim) HttpCredentialsPrepare takes the references out
 * of it, checks the grants and that the first hop's host is bound, and
 * keeps the bindings with the request.  Before every start of an exchange
 * (each hop, each attempt) HttpCredentialsApply makes the hop's copy of
 * the request with the values and signatures put in, where no catalog is
 * read.  A redirect to a host a secret's binding does not cover goes on
 * without that secret's headers (and without a signature made with it);
 * a first hop there is refused.
 *
 * OAuth 2.0 client credentials: the token endpoint is asked once, the
 * token kept per process until shortly before it expires, shared by
 * requests running at the same time (one fetch, the rest wait for it), and
 * fetched again once when an API answers 401.  The token request runs as a
 * phase of the same exchange, so it shares its deadline, its cancel and
 * the policy checks of every request.
 *
 *-------------------------------------------------------------------------
 */
#include "pg_http.h"
#include "exchange.h"
#include "http1.h"
#include "netaddr.h"
#include "policy.h"
#include "request.h"
#include "settings.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#define MAX_SECRET_BYTES 65536
#define MAX_TOKENS 32
/* a token is used until this long before it expires */
#define TOKEN_MARGIN_S 30

/* A secret a request uses: its name and binding (host rules). */
typedef struct SecretUse
{
	char	   *name;
	HttpRuleList *binding;
	char	   *binding_text;	/* for errors */
	bool		allow_http;		/* may go over plain http too */
	bool		needs_grant;	/* false: the proxy's, an administrator's */
} SecretUse;

/* A header whose value is (a prefix and) a secret. */
typedef struct HeaderRef
{
	char	   *header;
	int			secret;
	char	   *prefix;
} HeaderRef;

typedef enum AuthKind
{
	AUTH_NONE, AUTH_BASIC, AUTH_BEARER, AUTH_OAUTH2
} AuthKind;

typedef enum SignKind
{
	SIGN_NONE, SIGN_WEBHOOK, SIGN_HMAC, SIGN_AWS
} SignKind;

typedef struct HttpCredentials HttpCredentials;

struct HttpCredentials
{
	int			nuses;
	SecretUse  *uses;
	int			nheaders;
	HeaderRef  *headers;

	AuthKind	auth;
	char	   *username;		/* basic */
	int			auth_secret;	/* basic password, bearer token, OAuth client secret */
	char	   *token_url;		/* oauth2 */
	char	   *client_id;
	int			client_id_secret;
	char	   *scope;
	char	   *audience;
	bool		client_auth_body;
	char	   *token_key;		/* the token cache's key */

	SignKind	sign;
	int			sign_secret;	/* webhook and hmac key; AWS secret access key */
	char	   *msg_id;			/* webhook-id, {id} */
	bool		msg_id_given;
	HttpHmacSpec hmac;
	char	   *region;			/* aws */
	char	   *service;
	char	   *access_key;
	int			access_key_secret;
	int			session_token_secret;
	bool		unsigned_payload;

	int			proxy_secret;
};

/* An exchange's progress through the token phase. */
typedef struct CredState
{
	bool		token_phase;	/* x->req is the token request */
	HttpRequest *main;			/* the request the token is for */
	int			redirects;		/* main's hops, kept over the token phase */
	bool		refreshed;		/* fetched again after a 401 once */
	char	   *used_token;		/* the token the last attempt carried */
	char	   *fresh_token;	/* the token its own token phase just got */
	uint64		my_fetch;		/* the fetch its token phase is */
	uint64		waited_for;		/* the fetch (of another exchange) it waited for */
} CredState;

/* A cached OAuth token, in TopMemoryContext. */
typedef struct TokenEntry
{
	char	   *key;
	char	   *token;			/* NULL: none yet */
	TimestampTz refresh_at;		/* fetch again from then on */
	HttpExchange *fetcher;		/* a token request in flight, or NULL */
	uint64		fetches;		/* token requests started so far */
	uint64		failed_fetch;	/* the last of them that failed (0: none) */
	int			fail_code;		/* and how: its waiters fail the same way */
	char	   *fail_msg;
	char	   *fail_detail;
	uint64		used;			/* LRU clock */
} TokenEntry;

static TokenEntry tokens[MAX_TOKENS];
static int	ntokens = 0;
static uint64 token_clock = 0;

static const char *const ref_hint =
"A secret is referred to as {\"secret\": \"name\"}; a superuser defines it with http.secret_define().";

/* ------------------------------------------------------------------ */
/* Reading a secret's value */

static void secret_forget(char *v, size_t len);
static char *proxy_with_credentials(const HttpRequest *w, const HttpCredentials *c,
									HttpFailure *f, bool preview);

static void
fail(HttpFailure *f, int sqlstate, char *msg, char *detail, const char *hint)
{
	f->sqlstate = sqlstate;
	f->msg = msg;
	f->detail = detail;
	f->hint = hint;
}

/*
 * The value of secret name (palloc'd, *len bytes, one trailing newline
 * dropped), or NULL with f filled.  The file must be a regular file owned
 * by the server's user with no group or other access, or owned by root
 * with at most group read, as PostgreSQL asks of its key files.  Never
 * throws for the file's sake; no descriptor outlives the call.
 */
static char *
secret_read(const HttpSettings *set, const char *name, size_t *len, HttpFailure *f)
{
	char		path[MAXPGPATH];
	struct stat st;
	int			fd;
	char	   *buf;
	ssize_t		n;
	size_t		got = 0;

	memset(f, 0, sizeof(*f));
	if (set->secrets_dir[0] == '\0')
	{
		fail(f, ERRCODE_CONFIG_FILE_ERROR, psprintf("pg_http secret \"%s\" has no value", name),
			 pstrdup("pg_http.secrets_dir is not set."),
			 "Set pg_http.secrets_dir in postgresql.conf to a directory of secret files, one per secret.");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/%s", set->secrets_dir, name);
	/* non-blocking: a FIFO planted there must not hang us (it is refused below) */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
	{
		int			e = errno;

		fail(f, e == ENOENT ? ERRCODE_UNDEFINED_FILE : ERRCODE_IO_ERROR,
			 psprintf("pg_http secret \"%s\" has no value", name),
			 e == ENOENT ? psprintf("There is no file \"%s\" in pg_http.secrets_dir.", name)
			 : psprintf("Its file in pg_http.secrets_dir could not be opened: %s.", strerror(e)),
			 "A superuser puts the value in a file of that name in pg_http.secrets_dir, mode 0600.");
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		fail(f, ERRCODE_CONFIG_FILE_ERROR, psprintf("pg_http secret \"%s\" has no value", name),
			 psprintf("Its file in pg_http.secrets_dir is not a regular file."), NULL);
		return NULL;
	}
	if (st.st_uid == geteuid() ? (st.st_mode & (S_IRWXG | S_IRWXO)) != 0 :
		st.st_uid == 0 ? (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) != 0 : true)
	{
		close(fd);
		fail(f, ERRCODE_CONFIG_FILE_ERROR,
			 psprintf("pg_http secret \"%s\" has unsafe permissions", name),
			 st.st_uid == geteuid() || st.st_uid == 0 ?
			 psprintf("Its file has mode %04o.", (unsigned) (st.st_mode & 07777)) :
			 pstrdup("Its file is owned by neither the server's user nor root."),
			 "It must be owned by the server's user with mode 0600 or less, or by root with mode 0640 or less.");
		return NULL;
	}
	if (st.st_size > MAX_SECRET_BYTES ||
		(buf = palloc_extended(st.st_size + 1, MCXT_ALLOC_NO_OOM)) == NULL)
	{
		close(fd);
		fail(f, ERRCODE_PROGRAM_LIMIT_EXCEEDED, psprintf("pg_http secret \"%s\" is too large", name),
			 psprintf("Its file has %lld bytes; the limit is %d.", (long long) st.st_size,
					  MAX_SECRET_BYTES), NULL);
		return NULL;
	}
	while (got < (size_t) st.st_size &&
		   ((n = read(fd, buf + got, st.st_size - got)) > 0 || (n < 0 && errno == EINTR)))
		got += Max(n, 0);
	close(fd);
	if (got < (size_t) st.st_size)
	{
		secret_forget(buf, got);
		fail(f, ERRCODE_IO_ERROR, psprintf("pg_http secret \"%s\" could not be read", name),
			 pstrdup("Its file changed or could not be read while it was read."), NULL);
		return NULL;
	}
	if (got > 0 && buf[got - 1] == '\n')
		got--;
	if (got > 0 && buf[got - 1] == '\r')
		got--;
	buf[got] = '\0';
	*len = got;
	return buf;
}

/* Wipe and free a value. */
static void
secret_forget(char *v, size_t len)
{
	if (v)
	{
		explicit_bzero(v, len);
		pfree(v);
	}
}

/* ------------------------------------------------------------------ */
/* Preparing: references out of the request, grants and bindings checked */

/* The index of secret name among c's uses, added if new. */
static int
use_secret(HttpCredentials *c, const char *name, bool needs_grant)
{
	if (!HttpSecretNameValid(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid secret name \"%s\"", name),
				 errdetail("A secret's name is 1 to 63 letters, digits, \"_\", \".\" or \"-\", not starting with \".\".")));
	for (int i = 0; i < c->nuses; i++)
		if (strcmp(c->uses[i].name, name) == 0)
		{
			c->uses[i].needs_grant |= needs_grant;
			return i;
		}
	c->uses = c->uses ? repalloc(c->uses, sizeof(SecretUse) * (c->nuses + 1))
		: palloc(sizeof(SecretUse));
	memset(&c->uses[c->nuses], 0, sizeof(SecretUse));
	c->uses[c->nuses].name = pstrdup(name);
	c->uses[c->nuses].needs_grant = needs_grant;
	return c->nuses++;
}

/* A string member of an option object, or NULL when absent. */
static char *
member_string(JsonbContainer *obj, const char *opt, const char *field, bool required)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, field, strlen(field), NULL);

	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" needs \"%s\"", opt, field)));
		return NULL;
	}
	if (v->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" of option \"%s\" must be a string", field, opt)));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * A member that must be a secret reference {"secret": "name"} (or, where
 * literal_ok, may be a plain string: then *literal is set and -1 returned).
 * -1 when absent and not required.
 */
static int
member_secret(HttpCredentials *c, JsonbContainer *obj, const char *opt, const char *field,
			  bool required, bool literal_ok, char **literal)
{
	JsonbValue *v = getKeyJsonValueFromContainer(obj, field, strlen(field), NULL);
	JsonbValue *name;

	if (literal)
		*literal = NULL;
	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" needs \"%s\"", opt, field),
					 errhint("%s", ref_hint)));
		return -1;
	}
	if (v->type == jbvString && literal_ok)
	{
		*literal = pnstrdup(v->val.string.val, v->val.string.len);
		return -1;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data) ||
		(name = getKeyJsonValueFromContainer(v->val.binary.data, "secret", 6, NULL)) == NULL ||
		name->type != jbvString)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" of option \"%s\" must be a secret reference", field, opt),
				 errdetail("Credentials are never written into SQL; they are read from secrets."),
				 errhint("%s", ref_hint)));
	return use_secret(c, pnstrdup(name->val.string.val, name->val.string.len), true);
}

/* Refuse members of an option object that are not in the list. */
static void
only_members(JsonbContainer *obj, const char *opt, const char *const *allowed, int n)
{
	JsonbIterator *it = JsonbIteratorInit(obj);
	JsonbValue	v;
	char	   *key = NULL;

	while (HttpJsonbNextMember(&it, &key, &v))
	{
		bool		ok = false;

		for (int i = 0; i < n && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
		{
			StringInfoData s;

			initStringInfo(&s);
			for (int i = 0; i < n; i++)
				appendStringInfo(&s, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ", allowed[i]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unrecognized field \"%s\" in option \"%s\"", key, opt),
					 errhint("Valid fields here are %s.", s.data)));
		}
	}
}

static void
parse_auth(HttpCredentials *c, Jsonb *jb)
{
	JsonbContainer *o = &jb->root;
	char	   *type = member_string(o, "auth", "type", true);

	if (strcmp(type, "basic") == 0)
	{
		static const char *const f[] = {"type", "username", "password"};

		only_members(o, "auth", f, lengthof(f));
		c->auth = AUTH_BASIC;
		c->username = member_string(o, "auth", "username", true);
		if (strchr(c->username, ':'))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a basic auth username must not contain \":\"")));
		c->auth_secret = member_secret(c, o, "auth", "password", true, false, NULL);
	}
	else if (strcmp(type, "bearer") == 0)
	{
		static const char *const f[] = {"type", "token"};

		only_members(o, "auth", f, lengthof(f));
		c->auth = AUTH_BEARER;
		c->auth_secret = member_secret(c, o, "auth", "token", true, false, NULL);
	}
	else if (strcmp(type, "oauth2") == 0)
	{
		static const char *const f[] = {"type", "token_url", "client_id", "client_secret",
		"scope", "audience", "client_auth"};
		char	   *ca;

		only_members(o, "auth", f, lengthof(f));
		c->auth = AUTH_OAUTH2;
		c->token_url = member_string(o, "auth", "token_url", true);
		c->client_id_secret = member_secret(c, o, "auth", "client_id", true, true, &c->client_id);
		c->auth_secret = member_secret(c, o, "auth", "client_secret", true, false, NULL);
		c->scope = member_string(o, "auth", "scope", false);
		c->audience = member_string(o, "auth", "audience", false);
		ca = member_string(o, "auth", "client_auth", false);
		if (ca && strcmp(ca, "body") != 0 && strcmp(ca, "basic") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"client_auth\" of option \"auth\" must be \"basic\" or \"body\"")));
		c->client_auth_body = ca && strcmp(ca, "body") == 0;
		{
			/* the cache key: each field with its length, so none can pose as two */
			const char *fields[5] = {c->token_url,
				c->client_id ? c->client_id : c->uses[c->client_id_secret].name,
			c->uses[c->auth_secret].name, c->scope ? c->scope : "", c->audience ? c->audience : ""};
			StringInfoData k;

			initStringInfo(&k);
			appendStringInfo(&k, "%c", c->client_id ? 'l' : 's');
			for (int i = 0; i < 5; i++)
				appendStringInfo(&k, "%zu:%s;", strlen(fields[i]), fields[i]);
			c->token_key = k.data;
		}
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown auth type \"%s\"", type),
				 errhint("Auth types are basic, bearer and oauth2.")));
}

/* A message id: 1 to 128 of A-Z a-z 0-9 _ . : - (it goes into headers). */
static void
check_msg_id(const char *id)
{
	size_t		n = strlen(id);

	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) id[i]) && !strchr("_.:-", id[i]))
			n = 0;
	if (n == 0 || n > 128)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"id\" of option \"sign\" must be 1 to 128 letters, digits, \"_\", \".\", \":\" or \"-\"")));
}

/* A header a signature goes into: a token, and none the client manages. */
static void
check_sign_header(const char *name, const char *field)
{
	if (!Http1IsToken(name, strlen(name)) || HttpIsManagedHeader(name, strlen(name)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" of option \"sign\" cannot be \"%s\"", field, name),
				 errdetail("It must be a header name, and not one that frames or routes the request.")));
}

/* How many times "{word}" is in a template. */
static int
template_count(const char *tmpl, const char *word)
{
	int			n = 0;
	char	   *w = psprintf("{%s}", word);

	for (const char *p = strstr(tmpl, w); p; p = strstr(p + 1, w))
		n++;
	return n;
}

static void
parse_sign(HttpCredentials *c, Jsonb *jb)
{
	JsonbContainer *o = &jb->root;
	char	   *type = member_string(o, "sign", "type", true);

	if (strcmp(type, "webhook") == 0)
	{
		static const char *const f[] = {"type", "secret", "id"};

		only_members(o, "sign", f, lengthof(f));
		c->sign = SIGN_WEBHOOK;
		c->sign_secret = use_secret(c, member_string(o, "sign", "secret", true), true);
		c->msg_id = member_string(o, "sign", "id", false);
		if (c->msg_id)
			check_msg_id(c->msg_id);
	}
	else if (strcmp(type, "hmac") == 0)
	{
		static const char *const f[] = {"type", "secret", "header", "algorithm", "encoding",
		"payload", "value", "timestamp_header", "id"};
		char	   *alg;
		char	   *enc;

		only_members(o, "sign", f, lengthof(f));
		c->sign = SIGN_HMAC;
		c->sign_secret = use_secret(c, member_string(o, "sign", "secret", true), true);
		c->hmac.header = member_string(o, "sign", "header", true);
		alg = member_string(o, "sign", "algorithm", false);
		enc = member_string(o, "sign", "encoding", false);
		c->hmac.payload = member_string(o, "sign", "payload", false);
		c->hmac.value = member_string(o, "sign", "value", false);
		c->hmac.timestamp_header = member_string(o, "sign", "timestamp_header", false);
		c->msg_id = member_string(o, "sign", "id", false);
		if (alg && strcmp(alg, "sha256") != 0 && strcmp(alg, "sha512") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"algorithm\" of option \"sign\" must be \"sha256\" or \"sha512\"")));
		if (enc && strcmp(enc, "hex") != 0 && strcmp(enc, "base64") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"encoding\" of option \"sign\" must be \"hex\" or \"base64\"")));
		c->hmac.sha512 = alg && strcmp(alg, "sha512") == 0;
		c->hmac.base64 = enc && strcmp(enc, "base64") == 0;
		if (c->hmac.payload == NULL)
			c->hmac.payload = "{body}";
		if (c->hmac.value == NULL)
			c->hmac.value = "{signature}";
		if (c->msg_id)
			check_msg_id(c->msg_id);
		check_sign_header(c->hmac.header, "header");
		if (c->hmac.timestamp_header)
			check_sign_header(c->hmac.timestamp_header, "timestamp_header");
		if (strlen(c->hmac.payload) > 1024 || strlen(c->hmac.value) > 1024)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("templates of option \"sign\" are limited to 1024 bytes")));
		if (template_count(c->hmac.payload, "body") > 1 || template_count(c->hmac.value, "body") > 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("{body} may appear once in \"payload\" of option \"sign\", and not in \"value\"")));
		if (!Http1IsFieldValue(c->hmac.value, strlen(c->hmac.value)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"value\" of option \"sign\" must not contain control characters")));
	}
	else if (strcmp(type, "aws") == 0)
	{
		static const char *const f[] = {"type", "region", "service", "access_key_id",
		"secret_access_key", "session_token", "unsigned_payload"};
		JsonbValue *u;

		only_members(o, "sign", f, lengthof(f));
		c->sign = SIGN_AWS;
		c->region = member_string(o, "sign", "region", true);
		c->service = member_string(o, "sign", "service", true);
		c->access_key_secret = member_secret(c, o, "sign", "access_key_id", true, true, &c->access_key);
		c->sign_secret = member_secret(c, o, "sign", "secret_access_key", true, false, NULL);
		c->session_token_secret = member_secret(c, o, "sign", "session_token", false, false, NULL);
		u = getKeyJsonValueFromContainer(o, "unsigned_payload", 16, NULL);
		if (u && u->type != jbvBool && u->type != jbvNull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"unsigned_payload\" of option \"sign\" must be true or false")));
		c->unsigned_payload = u && u->type == jbvBool && u->val.boolean;
		for (const char *p = c->region; *p; p++)
			if (!isalnum((unsigned char) *p) && *p != '-')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid AWS region \"%s\"", c->region)));
		for (const char *p = c->service; *p; p++)
			if (!isalnum((unsigned char) *p) && *p != '-')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("invalid AWS service \"%s\"", c->service)));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown signature type \"%s\"", type),
				 errhint("Signature types are webhook, hmac and aws.")));
}

/*
 * Read the bindings of c's secrets and whether the current user may use
 * each (a grant to it, a role whose privileges it has, or PUBLIC; a
 * superuser may use any).  As the bootstrap superuser (the tables are not
 * readable by others), with the latest snapshot: a grant or revoke
 * committed a moment ago counts.  Throws 42704 for an unknown secret,
 * 42501 for one not granted.
 */
static void
load_bindings(HttpCredentials *c)
{
	Oid			user = GetUserId();
	bool		is_super = superuser();
	HttpSpiScope spi;
	Datum	   *names = palloc(sizeof(Datum) * c->nuses);
	Datum		args[3];
	Oid			types[3] = {OIDOID, BOOLOID, TEXTARRAYOID};
	MemoryContext outer = CurrentMemoryContext;

	for (int i = 0; i < c->nuses; i++)
		names[i] = CStringGetTextDatum(c->uses[i].name);
	args[0] = ObjectIdGetDatum(user);
	args[1] = BoolGetDatum(is_super);
	args[2] = PointerGetDatum(construct_array(names, c->nuses, TEXTOID, -1, false, TYPALIGN_INT));

	HttpSpiEnter(&spi);
	PushActiveSnapshot(GetLatestSnapshot());
	if (SPI_execute_with_args(
							  "SELECT s.name, s.hosts, s.ports, $2 OR EXISTS ("
							  "  SELECT FROM http.secret_grant g WHERE g.secret = s.name"
							  "   AND CASE WHEN g.role = 0 THEN true"
		/* a grantee dropped since: nobody's grant (pg_has_role would throw) */
							  "    WHEN NOT EXISTS (SELECT FROM pg_catalog.pg_authid a WHERE a.oid = g.role) THEN false"
							  "    ELSE pg_catalog.pg_has_role($1, g.role, 'USAGE') END),"
							  "  s.allow_http"
							  "  FROM http.secret s WHERE s.name = ANY ($3)",
							  3, types, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read http.secret");
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(tup, td, 1);
		char	   *ports = SPI_getvalue(tup, td, 3);
		bool		isnull;
		bool		granted = DatumGetBool(SPI_getbinval(tup, td, 4, &isnull));
		bool		allow_http = DatumGetBool(SPI_getbinval(tup, td, 5, &isnull));
		ArrayType  *hosts = DatumGetArrayTypeP(SPI_getbinval(tup, td, 2, &isnull));
		Datum	   *hv;
		int			nh;
		MemoryContext old;

		deconstruct_array(hosts, TEXTOID, -1, false, TYPALIGN_INT, &hv, NULL, &nh);
		for (int i = 0; i < c->nuses; i++)
		{
			SecretUse  *u = &c->uses[i];
			StringInfoData btext;
			const char *err;
			size_t		errpos;
			int			n;

			if (strcmp(u->name, name) != 0)
				continue;
			if (u->needs_grant && !granted)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("permission denied for pg_http secret \"%s\"", name),
						 errhint("A superuser can grant it: SELECT http.secret_grant('%s', '<role>').", name)));
			old = MemoryContextSwitchTo(outer);
			initStringInfo(&btext);
			for (int h = 0; h < nh; h++)
				appendStringInfo(&btext, "%s%s", h ? ", " : "",
								 HttpAclEntryText(TextDatumGetCString(hv[h]), ports));
			u->binding_text = btext.data;
			u->allow_http = allow_http;
			u->binding = palloc(offsetof(HttpRuleList, rules) + sizeof(HttpHostRule) * Max(nh, 1));
			n = HttpHostRulesParse(btext.data, u->binding->rules, Max(nh, 1), &err, &errpos);
			/* an entry that no longer parses binds nothing */
			u->binding->n = Min(Max(n, 0), Max(nh, 1));
			MemoryContextSwitchTo(old);
		}
	}
	PopActiveSnapshot();
	HttpSpiLeave(&spi);

	/* unknown: said as such to superusers; to others, as not granted */
	for (int i = 0; i < c->nuses; i++)
		if (c->uses[i].binding == NULL && is_super)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("pg_http secret \"%s\" does not exist", c->uses[i].name),
					 errhint("A superuser defines secrets with http.secret_define().")));
		else if (c->uses[i].binding == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for pg_http secret \"%s\"", c->uses[i].name),
					 errhint("A superuser can grant it: SELECT http.secret_grant('%s', '<role>').",
							 c->uses[i].name)));
}

/*
 * Does a binding cover req's host and port?  Names match name rules,
 * addresses address rules of their own family only (a binding is an allow
 * list: an IPv4 entry does not open the IPv6 forms that embed it).
 */
static bool
binding_covers(const HttpRuleList *b, const HttpRequest *req)
{
	for (int i = 0; i < b->n; i++)
	{
		const HttpHostRule *r = &b->rules[i];

		if (req->host_kind == HTTP_HOST_NAME || r->kind == HTTP_RULE_ANY)
		{
			if (HttpHostRuleMatchName(r, req->host, req->port))
				return true;
		}
		else if (r->kind == HTTP_RULE_NET &&
				 r->net.family == (req->host_kind == HTTP_HOST_IPV4 ? 4 : 6))
		{
			HttpAddr	a;

			a.family = r->net.family;
			memcpy(a.a, req->addr, 16);
			if (HttpHostRuleMatchAddr(r, &a, req->port))
				return true;
		}
	}
	return false;
}

/*
 * May the secret go to req's host and port?  Over https only, unless its
 * binding allows plain http; the proxy's credentials go to the proxy
 * however its URL says.
 */
static bool
bound(const HttpCredentials *c, int secret, const HttpRequest *req)
{
	const SecretUse *u = &c->uses[secret];

	if (!req->tls && !u->allow_http && secret != c->proxy_secret)
		return false;
	return binding_covers(u->binding, req);
}

static void
unbound_failure(const HttpCredentials *c, int secret, const HttpRequest *req, HttpFailure *f)
{
	const SecretUse *u = &c->uses[secret];

	if (binding_covers(u->binding, req))
		fail(f, ERRCODE_INSUFFICIENT_PRIVILEGE,
			 psprintf("pg_http secret \"%s\" is only sent over https", u->name),
			 psprintf("The request to host \"%s\" port %d is plain http.", req->host, req->port),
			 "Use https, or have a superuser allow plain http for it: http.secret_define(name, hosts, ports, allow_http => true).");
	else
		fail(f, ERRCODE_INSUFFICIENT_PRIVILEGE,
			 psprintf("pg_http secret \"%s\" is not bound to host \"%s\" port %d",
					  u->name, req->host, req->port),
			 psprintf("Its binding covers %s.", u->binding_text[0] ? u->binding_text : "nothing"),
			 "A superuser binds a secret to hosts with http.secret_define(name, hosts, ports).");
}

/*
 * Does secret go to the request's own host?  All but the proxy's, and an
 * OAuth client id kept in a secret (which goes to the token endpoint only);
 * the OAuth client secret's binding covers the API's host too, where the
 * token it buys is sent.
 */
static bool
goes_to_host(const HttpCredentials *c, int secret)
{
	for (int i = 0; i < c->nheaders; i++)
		if (c->headers[i].secret == secret)
			return true;
	if (secret == c->auth_secret)
		return true;
	return c->sign != SIGN_NONE && (secret == c->sign_secret || secret == c->access_key_secret ||
									secret == c->session_token_secret);
}

/*
 * Take the secret references out of a request being made (header values,
 * the "auth" and "sign" options, the proxy's secret), check that its role
 * may use them and that the first hop's host is bound, and keep what the
 * engine needs in req->cred.  Throws (22023, 42501, 42704).  A request with
 * none is left as it is.
 */
void
HttpCredentialsPrepare(HttpRequest *req)
{
	HttpCredentials *c;
	HttpHeaderList *l = &req->headers;
	bool		any = req->opt.auth || req->opt.sign;
	bool		proxied = req->set->proxy_secret[0] &&
		(req->proxy || req->set->proxy[0] || req->set->proxy_from_environment);
	HttpFailure f;

	for (int i = 0; i < l->n && !any; i++)
		any = l->items[i].value[0] == HTTP_SECRET_REF_MARK;
	if (!any && !proxied)
		return;

	c = palloc0(sizeof(HttpCredentials));
	c->auth_secret = c->client_id_secret = c->sign_secret = -1;
	c->access_key_secret = c->session_token_secret = c->proxy_secret = -1;

	/* header references, out of the list */
	for (int i = 0; i < l->n;)
	{
		char	   *v = l->items[i].value;

		if (v[0] != HTTP_SECRET_REF_MARK)
		{
			i++;
			continue;
		}
		{
			char	   *end = strchr(v + 1, HTTP_SECRET_REF_MARK);
			HeaderRef  *h;

			/* only header_secret_ref makes these (values are checked) */
			if (end == NULL)
				elog(ERROR, "malformed pg_http secret reference in header \"%s\"",
					 l->items[i].name);
			c->headers = c->headers ? repalloc(c->headers, sizeof(HeaderRef) * (c->nheaders + 1))
				: palloc(sizeof(HeaderRef));
			h = &c->headers[c->nheaders++];
			h->header = l->items[i].name;
			h->secret = use_secret(c, pnstrdup(v + 1, end - v - 1), true);
			h->prefix = pstrdup(end + 1);
			memmove(&l->items[i], &l->items[i + 1], sizeof(HttpHeader) * (l->n - i - 1));
			l->n--;
		}
	}
	if (req->opt.auth)
		parse_auth(c, req->opt.auth);
	if (req->opt.sign)
		parse_sign(c, req->opt.sign);
	c->msg_id_given = c->msg_id != NULL;
	if ((c->sign == SIGN_WEBHOOK || c->sign == SIGN_HMAC) && c->msg_id == NULL)
	{
		uint8		r[12];

		if (!pg_strong_random(r, sizeof(r)))
			ereport(ERROR, (errmsg("could not generate a message id for a signature")));
		c->msg_id = psprintf("msg_%s", HttpHex(r, sizeof(r)));
	}
	if (proxied)
		c->proxy_secret = use_secret(c, req->set->proxy_secret, false);

	load_bindings(c);

	/* a Host header would route a secret past its binding (shared front ends) */
	for (int i = 0; i < c->nuses && req->host_overridden; i++)
		if (goes_to_host(c, i))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("a request that carries pg_http secret \"%s\" cannot set its own Host header",
							c->uses[i].name),
					 errdetail("The Host header names \"%s\"; the secret is bound to the URL's host.",
							   req->authority)));

	/* a first hop to a host a secret is not bound to is refused now */
	for (int i = 0; i < c->nuses; i++)
		if (goes_to_host(c, i) && !bound(c, i, req))
		{
			unbound_failure(c, i, req, &f);
			HttpFailureRaise(&f, false);
		}
	if (c->auth == AUTH_OAUTH2)
	{
		HttpRequest *tr = palloc(sizeof(HttpRequest));
		HttpUrlError uerr;

		memcpy(tr, req, sizeof(HttpRequest));
		if (!HttpRequestSetUrlChecked(tr, c->token_url, strlen(c->token_url), &f, &uerr))
		{
			f.msg = psprintf("invalid OAuth 2.0 token_url: %s", f.msg);
			HttpFailureRaise(&f, false);
		}
		for (int i = 0; i < c->nuses; i++)
			if ((i == c->auth_secret || i == c->client_id_secret) && !bound(c, i, tr))
			{
				unbound_failure(c, i, tr, &f);
				HttpFailureRaise(&f, false);
			}
	}
	req->cred = c;
}

/*
 * The webhook-id of a queued request, the same for every attempt (a
 * delivery worker sets it from the queue row); an id the request names
 * stands.
 */
void
HttpCredentialsSetMessageId(HttpRequest *req, const char *id)
{
	if (req->cred && !req->cred->msg_id_given)
		((HttpCredentials *) req->cred)->msg_id = pstrdup(id);
}

/* ------------------------------------------------------------------ */
/* OAuth 2.0 tokens */

static void token_forget(TokenEntry *t);

static TokenEntry *
token_entry(const char *key, bool create)
{
	int			oldest = -1;

	for (int i = 0; i < ntokens; i++)
	{
		if (strcmp(tokens[i].key, key) == 0)
		{
			tokens[i].used = ++token_clock;
			return &tokens[i];
		}
		/* an entry whose token is being fetched stays */
		if (tokens[i].fetcher == NULL && (oldest < 0 || tokens[i].used < tokens[oldest].used))
			oldest = i;
	}
	if (!create)
		return NULL;
	if (ntokens < MAX_TOKENS)
		oldest = ntokens++;
	else
	{
		oldest = Max(oldest, 0);
		pfree(tokens[oldest].key);
		token_forget(&tokens[oldest]);
		if (tokens[oldest].fail_msg)
			pfree(tokens[oldest].fail_msg);
		if (tokens[oldest].fail_detail)
			pfree(tokens[oldest].fail_detail);
	}
	memset(&tokens[oldest], 0, sizeof(TokenEntry));
	tokens[oldest].key = MemoryContextStrdup(TopMemoryContext, key);
	tokens[oldest].used = ++token_clock;
	return &tokens[oldest];
}

/* A token fetch failed: remember how, for the exchanges that waited for it. */
static void
token_fetch_failed(TokenEntry *t, uint64 fetch, const HttpExchange *x)
{
	t->failed_fetch = fetch;
	t->fail_code = x->err_code;
	if (t->fail_msg)
		pfree(t->fail_msg);
	if (t->fail_detail)
		pfree(t->fail_detail);
	t->fail_msg = MemoryContextStrdup(TopMemoryContext, x->err_msg ? x->err_msg : "");
	t->fail_detail = x->err_detail ? MemoryContextStrdup(TopMemoryContext, x->err_detail) : NULL;
}

static bool
token_valid(const TokenEntry *t)
{
	return t != NULL && t->token != NULL && GetCurrentTimestamp() < t->refresh_at;
}

static void
token_forget(TokenEntry *t)
{
	if (t->token)
	{
		explicit_bzero(t->token, strlen(t->token));
		pfree(t->token);
		t->token = NULL;
	}
}

/* Append k=v, form-encoded (WHATWG application/x-www-form-urlencoded). */
static void
form_add(StringInfo s, const char *k, const char *v, size_t vlen)
{
	char	   *e = palloc(HTTP_URL_ENCODED_MAX(vlen));

	HttpUrlEncode(v, vlen, true, e);
	appendStringInfo(s, "%s%s=%s", s->len ? "&" : "", k, e);
	explicit_bzero(e, strlen(e));
	pfree(e);
}

/*
 * The token request for base (a POST of the client credentials grant to
 * the token endpoint, RFC 6749 4.4), or NULL with f filled.  It inherits
 * base's options, settings and ACL rules; it follows no redirect.
 */
static HttpRequest *
token_request(const HttpRequest *base, const HttpCredentials *c, HttpFailure *f)
{
	HttpRequest *tr = palloc(sizeof(HttpRequest));
	HttpUrlError uerr;
	char	   *id = c->client_id;
	size_t		idlen = id ? strlen(id) : 0;
	char	   *sec;
	size_t		seclen;
	StringInfoData body;

	memcpy(tr, base, sizeof(HttpRequest));
	memset(&tr->headers, 0, sizeof(tr->headers));
	tr->cred = NULL;
	tr->plain = NULL;
	tr->host_overridden = false;
	tr->method = "POST";
	tr->opt.max_redirects = 0;
	tr->opt.auth = tr->opt.sign = NULL;
	tr->has_secrets = true;
	if (!HttpRequestSetUrlChecked(tr, c->token_url, strlen(c->token_url), f, &uerr))
		return NULL;
	if (!bound(c, c->auth_secret, tr))
	{
		unbound_failure(c, c->auth_secret, tr, f);
		return NULL;
	}
	if (id == NULL)
	{
		if (!bound(c, c->client_id_secret, tr))
		{
			unbound_failure(c, c->client_id_secret, tr, f);
			return NULL;
		}
		if ((id = secret_read(base->set, c->uses[c->client_id_secret].name, &idlen, f)) == NULL)
			return NULL;
	}
	if ((sec = secret_read(base->set, c->uses[c->auth_secret].name, &seclen, f)) == NULL)
		return NULL;

	initStringInfo(&body);
	appendStringInfoString(&body, "grant_type=client_credentials");
	if (c->scope)
		form_add(&body, "scope", c->scope, strlen(c->scope));
	if (c->audience)
		form_add(&body, "audience", c->audience, strlen(c->audience));
	if (c->client_auth_body)
	{
		form_add(&body, "client_id", id, idlen);
		form_add(&body, "client_secret", sec, seclen);
	}
	else
	{
		/* RFC 6749 2.3.1: each form-encoded, then user:password in Basic */
		char	   *eid = palloc(HTTP_URL_ENCODED_MAX(idlen));
		char	   *esec = palloc(HTTP_URL_ENCODED_MAX(seclen));
		char	   *pair;
		char	   *auth;

		HttpUrlEncode(id, idlen, true, eid);
		HttpUrlEncode(sec, seclen, true, esec);
		pair = psprintf("%s:%s", eid, esec);
		auth = psprintf("Basic %s", HttpBase64(pair, strlen(pair)));
		HttpHeaderAdd(&tr->headers, "Authorization", 13, auth, strlen(auth));
		explicit_bzero(esec, strlen(esec));
		explicit_bzero(pair, strlen(pair));
	}
	secret_forget(sec, seclen);
	if (id != c->client_id)
		secret_forget(id, idlen);
	tr->body = body.data;
	tr->body_len = body.len;
	HttpHeaderAdd(&tr->headers, "Content-Type", 12, "application/x-www-form-urlencoded", 33);
	HttpHeaderAdd(&tr->headers, "Accept", 6, "application/json", 16);
	if (HttpHeaderGet(&base->headers, "User-Agent"))
		HttpHeaderAdd(&tr->headers, "User-Agent", 10, HttpHeaderGet(&base->headers, "User-Agent"),
					  strlen(HttpHeaderGet(&base->headers, "User-Agent")));
	if (tr->proxy && c->proxy_secret >= 0 &&
		(tr->proxy = proxy_with_credentials(tr, c, f, false)) == NULL)
		return NULL;
	if (!HttpRequestCheck(tr, f))
		return NULL;
	return tr;
}

/* Start x's token phase for base: false if x failed. */
static bool
token_phase_start(HttpExchange *x, CredState *st, HttpRequest *base, TokenEntry *t)
{
	const HttpCredentials *c = base->cred;
	HttpFailure f;
	HttpRequest *tr = token_request(base, c, &f);

	if (tr == NULL)
	{
		HttpExchangeFailWith(x, &f);
		return false;
	}
	st->token_phase = true;
	tr->token_request = true;
	st->main = base;
	st->redirects = x->redirects;
	st->my_fetch = ++t->fetches;
	x->req = tr;
	x->resp.url = tr->url;
	if (!HttpPolicyCheckExchange(x))
		return false;
	t->fetcher = x;
	return true;
}

/* s as jsonb, or NULL if it is not JSON. */
static Jsonb *
json_or_null(const char *s)
{
	MemoryContext mc = CurrentMemoryContext;
	Jsonb	   *volatile jb = NULL;

	PG_TRY();
	{
		jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(s)));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(mc);
		FlushErrorState();
		jb = NULL;
	}
	PG_END_TRY();
	return jb;
}

/* The token in a token endpoint's answer, kept in t; false with f filled. */
static bool
token_take(HttpExchange *x, TokenEntry *t, HttpFailure *f)
{
	const char *url = x->req->url;
	Jsonb	   *jb;
	JsonbValue *tok;
	JsonbValue *exp;
	JsonbValue *type;
	int64		secs = 3600;

	if (x->resp.status != 200)
	{
		fail(f, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
			 pstrdup("OAuth 2.0 token request failed"),
			 psprintf("The token endpoint %s answered %d.", url, x->resp.status),
			 "Check the client id, the client secret's file and the scope.");
		return false;
	}
	jb = json_or_null(x->resp.body.data);
	tok = jb && JB_ROOT_IS_OBJECT(jb) ?
		getKeyJsonValueFromContainer(&jb->root, "access_token", 12, NULL) : NULL;
	if (tok == NULL || tok->type != jbvString || tok->val.string.len == 0 ||
		!Http1IsFieldValue(tok->val.string.val, tok->val.string.len))
	{
		fail(f, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
			 pstrdup("OAuth 2.0 token response has no access token"),
			 psprintf("The answer of %s is not a JSON object with a usable \"access_token\".", url),
			 NULL);
		return false;
	}
	type = getKeyJsonValueFromContainer(&jb->root, "token_type", 10, NULL);
	if (type && (type->type != jbvString || type->val.string.len != 6 ||
				 pg_strncasecmp(type->val.string.val, "bearer", 6) != 0))
	{
		fail(f, ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION,
			 pstrdup("OAuth 2.0 token response has an unsupported token type"),
			 psprintf("%s answered a token that is not a bearer token.", url), NULL);
		return false;
	}
	exp = getKeyJsonValueFromContainer(&jb->root, "expires_in", 10, NULL);
	if (exp && exp->type == jbvNumeric)
	{
		double		d = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
														   NumericGetDatum(exp->val.numeric)));

		/* a year at most; NaN or less than nothing: use it once */
		secs = d >= 365.0 * 24 * 3600 ? 365 * 24 * 3600 : d > 0 ? (int64) d : 0;
	}
	secs = secs > 2 * TOKEN_MARGIN_S ? secs - TOKEN_MARGIN_S : secs / 2;
	token_forget(t);
	t->token = MemoryContextAllocZero(TopMemoryContext, tok->val.string.len + 1);
	memcpy(t->token, tok->val.string.val, tok->val.string.len);
	explicit_bzero(tok->val.string.val, tok->val.string.len);
	t->refresh_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Max(secs, 0) * 1000);
	return true;
}

/* ------------------------------------------------------------------ */
/* Applying: a hop's copy with values and signatures */

/*
 * The proxy URL with user:password (a secret) put in, or NULL with f filled.
 * Any scheme curl takes (http, https, socks*), or none; the binding is
 * judged on the proxy's host and port (1080, curl's default, when none).
 */
static char *
proxy_with_credentials(const HttpRequest *w, const HttpCredentials *c, HttpFailure *f,
					   bool preview)
{
	HttpRequest *pr = palloc(sizeof(HttpRequest));
	HttpUrlError uerr;
	const char *p = strstr(w->proxy, "://");
	const char *rest = p ? p + 3 : w->proxy;
	size_t		alen = strcspn(rest, "/?#");
	const char *colon_port;
	char	   *probe;
	char	   *v;
	size_t		len;
	char	   *colon;
	char	   *user;
	char	   *pass;
	char	   *url;

	if (memchr(rest, '@', alen))
	{
		fail(f, ERRCODE_CONFIG_FILE_ERROR,
			 pstrdup("pg_http.proxy already names credentials"),
			 pstrdup("pg_http.proxy_secret would add others; the proxy URL must have no user:password@."),
			 "Remove the credentials from pg_http.proxy, or reset pg_http.proxy_secret.");
		return NULL;
	}
	/* the proxy's host and port, as an http URL the binding can judge */
	colon_port = memrchr(rest, ':', alen);
	if (colon_port && memchr(colon_port, ']', alen - (colon_port - rest)) == NULL)
		probe = psprintf("http://%.*s/", (int) alen, rest);
	else
		probe = psprintf("http://%.*s:1080/", (int) alen, rest);
	memcpy(pr, w, sizeof(HttpRequest));
	if (!HttpRequestSetUrlChecked(pr, probe, strlen(probe), f, &uerr))
		return NULL;
	if (!bound(c, c->proxy_secret, pr))
	{
		unbound_failure(c, c->proxy_secret, pr, f);
		return NULL;
	}
	if (preview)
		return psprintf("%.*s[secret %s]@%s", (int) (rest - w->proxy), w->proxy,
						c->uses[c->proxy_secret].name, rest);
	if ((v = secret_read(w->set, c->uses[c->proxy_secret].name, &len, f)) == NULL)
		return NULL;
	colon = strchr(v, ':');
	user = palloc(HTTP_URL_ENCODED_MAX(len));
	pass = palloc(HTTP_URL_ENCODED_MAX(len));
	HttpUrlEncode(v, colon ? (size_t) (colon - v) : len, false, user);
	HttpUrlEncode(colon ? colon + 1 : "", colon ? len - (colon - v) - 1 : 0, false, pass);
	secret_forget(v, len);
	url = psprintf("%.*s%s:%s@%s", (int) (rest - w->proxy), w->proxy, user, pass, rest);
	explicit_bzero(pass, strlen(pass));
	return url;
}

/*
 * Put c's values into w (a copy of the hop's request) for hop number hop at
 * time t: header secrets, basic or bearer auth, the OAuth token, the
 * proxy's credentials, then the signature over the result.  A secret whose
 * binding does not cover w's host fails a first hop and is left out of a
 * later one.  preview: secret values are shown as "[secret name]" and
 * nothing is read but signing keys.  false with f filled on a failure.
 */
static bool
apply_to(HttpRequest *w, const HttpCredentials *c, int hop, pg_time_t t, const char *token,
		 bool preview, HttpFailure *f)
{
	char	   *v;
	size_t		len;

	for (int i = 0; i < c->nheaders; i++)
	{
		const HeaderRef *h = &c->headers[i];
		char	   *value;

		if (!bound(c, h->secret, w))
		{
			if (hop == 0)
			{
				unbound_failure(c, h->secret, w, f);
				return false;
			}
			continue;
		}
		if (preview)
			value = psprintf("%s[secret %s]", h->prefix, c->uses[h->secret].name);
		else
		{
			if ((v = secret_read(w->set, c->uses[h->secret].name, &len, f)) == NULL)
				return false;
			if (!Http1IsFieldValue(v, len))
			{
				fail(f, ERRCODE_INVALID_PARAMETER_VALUE,
					 psprintf("pg_http secret \"%s\" cannot be a header value", c->uses[h->secret].name),
					 pstrdup("It contains CR, LF, NUL or another control character."), NULL);
				secret_forget(v, len);
				return false;
			}
			value = psprintf("%s%s", h->prefix, v);
			secret_forget(v, len);
		}
		HttpHeaderAdd(&w->headers, h->header, strlen(h->header), value, strlen(value));
	}

	if ((c->auth == AUTH_BASIC || c->auth == AUTH_BEARER) && bound(c, c->auth_secret, w))
	{
		char	   *value;

		if (preview)
			value = psprintf("%s [secret %s]", c->auth == AUTH_BASIC ? "Basic" : "Bearer",
							 c->uses[c->auth_secret].name);
		else
		{
			if ((v = secret_read(w->set, c->uses[c->auth_secret].name, &len, f)) == NULL)
				return false;
			if (c->auth == AUTH_BASIC)
			{
				char	   *pair = psprintf("%s:%s", c->username, v);

				value = psprintf("Basic %s", HttpBase64(pair, strlen(pair)));
				explicit_bzero(pair, strlen(pair));
			}
			else
			{
				if (!Http1IsFieldValue(v, len))
				{
					fail(f, ERRCODE_INVALID_PARAMETER_VALUE,
						 psprintf("pg_http secret \"%s\" cannot be a header value", c->uses[c->auth_secret].name),
						 pstrdup("It contains CR, LF, NUL or another control character."), NULL);
					secret_forget(v, len);
					return false;
				}
				value = psprintf("Bearer %s", v);
			}
			secret_forget(v, len);
		}
		HttpHeaderTake(&w->headers, "Authorization");
		HttpHeaderAdd(&w->headers, "Authorization", 13, value, strlen(value));
	}
	else if (c->auth == AUTH_BASIC || c->auth == AUTH_BEARER)
	{
		if (hop == 0)
		{
			unbound_failure(c, c->auth_secret, w, f);
			return false;
		}
	}
	else if (c->auth == AUTH_OAUTH2 && token && bound(c, c->auth_secret, w))
	{
		/* the token goes where the client secret may: the API's host */
		char	   *value = preview ? pstrdup("Bearer [OAuth 2.0 token]") : psprintf("Bearer %s", token);

		HttpHeaderTake(&w->headers, "Authorization");
		HttpHeaderAdd(&w->headers, "Authorization", 13, value, strlen(value));
	}
	else if (c->auth == AUTH_OAUTH2 && hop == 0)
	{
		unbound_failure(c, c->auth_secret, w, f);
		return false;
	}

	if (c->proxy_secret >= 0 && w->proxy)
	{
		if ((w->proxy = proxy_with_credentials(w, c, f, preview)) == NULL)
			return false;
	}

	if (c->sign != SIGN_NONE)
	{
		int			unbound = !bound(c, c->sign_secret, w) ? c->sign_secret :
			c->access_key_secret >= 0 && !bound(c, c->access_key_secret, w) ? c->access_key_secret :
			c->session_token_secret >= 0 && !bound(c, c->session_token_secret, w) ?
			c->session_token_secret : -1;

		if (unbound >= 0)
		{
			if (hop == 0)
			{
				unbound_failure(c, unbound, w, f);
				return false;
			}
			return true;		/* no signature to another host */
		}
		if ((v = secret_read(w->set, c->uses[c->sign_secret].name, &len, f)) == NULL)
			return false;
		if (c->sign == SIGN_WEBHOOK)
			HttpSignWebhook(w, v, len, c->msg_id, t);
		else if (c->sign == SIGN_HMAC)
			HttpSignHmac(w, &c->hmac, v, len, c->msg_id, t);
		else
		{
			HttpAwsKey k;
			char	   *ak = NULL;
			char	   *token = NULL;
			size_t		aklen = 0;
			size_t		toklen = 0;

			memset(&k, 0, sizeof(k));
			k.region = c->region;
			k.service = c->service;
			k.secret_key = v;
			k.unsigned_payload = c->unsigned_payload;
			k.access_key = c->access_key;
			if (c->access_key_secret >= 0 && preview)
				k.access_key = psprintf("[secret %s]", c->uses[c->access_key_secret].name);
			else if (c->access_key_secret >= 0 &&
					 (k.access_key = ak = secret_read(w->set, c->uses[c->access_key_secret].name,
													  &aklen, f)) == NULL)
			{
				secret_forget(v, len);
				return false;
			}
			if (c->session_token_secret >= 0)
			{
				if (preview)
					k.session_token = token = psprintf("[secret %s]", c->uses[c->session_token_secret].name);
				else if ((k.session_token = token =
						  secret_read(w->set, c->uses[c->session_token_secret].name, &toklen, f)) == NULL)
				{
					secret_forget(v, len);
					secret_forget(ak, aklen);
					return false;
				}
			}
			HttpSignAws(w, &k, t);
			secret_forget(ak, aklen);
			if (!preview)
				secret_forget(token, toklen);
		}
		secret_forget(v, len);
	}
	return true;
}

/* A copy of base for one hop: the same, with base's headers copied. */
static HttpRequest *
hop_copy(HttpRequest *base)
{
	HttpRequest *w = palloc(sizeof(HttpRequest));

	memcpy(w, base, sizeof(HttpRequest));
	w->plain = base;
	memset(&w->headers, 0, sizeof(w->headers));
	for (int i = 0; i < base->headers.n; i++)
		HttpHeaderAdd(&w->headers, base->headers.items[i].name, strlen(base->headers.items[i].name),
					  base->headers.items[i].value, strlen(base->headers.items[i].value));
	return w;
}

/* x's credential state, made on first use (in x's context). */
static CredState *
cred_state(HttpExchange *x)
{
	if (x->cred_state == NULL)
		x->cred_state = MemoryContextAllocZero(x->cxt ? x->cxt : CurrentMemoryContext,
											   sizeof(CredState));
	return x->cred_state;
}

/*
 * May x start now?  Not while another exchange of this process fetches the
 * OAuth token x needs: x waits for that token rather than fetching its own
 * (and, should that fetch fail, fails the same way).  Never throws but for
 * memory.
 */
bool
HttpCredentialsReady(HttpExchange *x)
{
	const HttpCredentials *c = x->req->cred;
	TokenEntry *t;

	if (c == NULL || c->auth != AUTH_OAUTH2)
		return true;
	t = token_entry(c->token_key, false);
	if (t == NULL || t->fetcher == NULL || t->fetcher == x || token_valid(t))
		return true;
	cred_state(x)->waited_for = t->fetches;
	return false;
}

/*
 * Before x starts (a first hop, a redirect's hop, another attempt): make
 * the hop's copy of its request with the credentials applied, or start the
 * token phase when an OAuth token is needed.  false: x failed.  Called by
 * the engine with x's context current, under HttpExchangeAbsorbError.
 */
bool
HttpCredentialsApply(HttpExchange *x)
{
	HttpRequest *base = x->req->plain ? (HttpRequest *) x->req->plain : x->req;
	const HttpCredentials *c = base->cred;
	CredState  *st;
	HttpRequest *w;
	const char *token = NULL;
	HttpFailure f;

	if (c == NULL)
		return true;
	st = cred_state(x);
	if (c->auth == AUTH_OAUTH2)
	{
		TokenEntry *t = token_entry(c->token_key, true);

		if (st->fresh_token)
		{
			/* its own token phase just got it: use it, however short-lived */
			token = st->used_token = st->fresh_token;
			st->fresh_token = NULL;
		}
		else if (token_valid(t))
			token = st->used_token = pstrdup(t->token);
		else if (st->waited_for != 0 && st->waited_for == t->failed_fetch)
		{
			/* the fetch it waited for failed: so does it, the same way */
			st->waited_for = 0;
			HttpExchangeFail(x, t->fail_code, t->fail_msg, t->fail_detail ? "%s" : NULL,
							 t->fail_detail);
			return false;
		}
		else
			return token_phase_start(x, st, base, t);
	}
	w = hop_copy(base);
	if (!apply_to(w, c, x->redirects, timestamptz_to_time_t(GetCurrentTimestamp()), token, false, &f))
	{
		HttpExchangeFailWith(x, &f);
		return false;
	}
	x->req = w;
	return true;
}

/*
 * x is over (and released): does it run again for its credentials?  After
 * the token phase, with the token, the request it was for; after a 401
 * with an OAuth token, once more with a token fetched again.  false: x's
 * outcome stands (a failed token phase fails it).
 */
bool
HttpCredentialsNextStep(HttpExchange *x)
{
	CredState  *st = x->cred_state;
	const HttpCredentials *c;
	HttpRequest *base;
	TokenEntry *t;
	HttpFailure f;

	if (st == NULL)
		return false;
	if (st->token_phase)
	{
		base = st->main;
		c = base->cred;
		st->token_phase = false;
		t = token_entry(c->token_key, true);
		if (t->fetcher == x)
			t->fetcher = NULL;
		if (x->state == HTTP_X_FAILED)
		{
			x->err_msg = psprintf("OAuth 2.0 token request failed: %s", x->err_msg);
			token_fetch_failed(t, st->my_fetch, x);
			return false;
		}
		if (!token_take(x, t, &f))
		{
			x->req = base;
			HttpExchangeFailWith(x, &f);
			token_fetch_failed(t, st->my_fetch, x);
			return false;
		}
		st->fresh_token = pstrdup(t->token);
	}
	else
	{
		base = x->req->plain ? (HttpRequest *) x->req->plain : x->req;
		c = base->cred;
		if (c == NULL || c->auth != AUTH_OAUTH2 || x->state != HTTP_X_DONE ||
			x->resp.status != 401 || st->refreshed)
			return false;
		st->refreshed = true;
		st->redirects = x->redirects;
		t = token_entry(c->token_key, true);
		if (t->token && st->used_token && strcmp(t->token, st->used_token) == 0)
			token_forget(t);
	}
	if (st->used_token)
		explicit_bzero(st->used_token, strlen(st->used_token));
	x->req = base;
	x->redirects = st->redirects;
	x->resp.url = base->url;
	x->state = HTTP_X_PENDING;
	if (x->resp.body.data)
		resetStringInfo(&x->resp.body);
	return true;
}

/* x is released: a token fetch it was making is no longer in flight. */
void
HttpCredentialsRelease(HttpExchange *x)
{
	for (int i = 0; i < ntokens; i++)
		if (tokens[i].fetcher == x)
			tokens[i].fetcher = NULL;
}

/*
 * The request as its first hop would go at time t, with secret values
 * shown as "[secret name]" and signatures made (http.sign_preview: for
 * administrators checking a signing setup).  Throws what a send would fail
 * with.
 */
HttpRequest *
HttpCredentialsPreview(HttpRequest *req, pg_time_t t)
{
	HttpRequest *w;
	HttpFailure f;

	if (req->cred == NULL)
		return req;
	w = hop_copy(req);
	if (!apply_to(w, req->cred, 0, t, "", true, &f))
		HttpFailureRaise(&f, false);
	return w;
}
