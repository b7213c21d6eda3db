/* receive: the pipeline of DESIGN.md for one request, one st_* function
 * per step (admit, auth, read, validate, route, dedupe, store, answer)
 * that receiver_handle runs in order. Cheap refusals come first so a
 * flood of bad requests costs little; nothing is acknowledged before
 * spool_commit returned. */
#include "config.h"

#include <sys/file.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "form.h"
#include "handler.h"
#include "metrics.h"
#include "payload.h"
#include "receive.h"
#include "status.h"
#include "verify.h"

extern char **environ;

#define RETRY_STORE	30	/* Retry-After when the spool fails */
#define RETRY_CONFIG	60	/* Retry-After when the config is broken */
#define CONF_RETRY_MS	5000	/* how soon a broken config is tried again */

void
receiver_init(struct receiver *r)
{
	memset(r, 0, sizeof(*r));
	r->log.fd = -1;
	r->rate.fd = -1;
}

static void
receiver_unload(struct receiver *r)
{
	conf_free(r->conf);
	r->conf = NULL;
	spool_close(r->spool);
	r->spool = NULL;
	dlog_close(&r->log);
	ratelimit_close(&r->rate);
}

void
receiver_free(struct receiver *r)
{
	receiver_unload(r);
	free(r->conf_path);
	free(r->body);
	free(r->runner);
	buf_free(&r->line);
	r->conf_path = NULL;
	r->body = NULL;
	r->runner = NULL;
}

int
receiver_load(struct receiver *r, const char *path)
{
	struct diag	 d = { { 0 }, 0, 0 };
	struct stat	 st;
	struct err	 e;
	char		*nl, rpath[PATH_MAX];
	size_t		 i;

	if (r->conf != NULL && strcmp(r->conf_path, path) == 0 &&
	    !conf_stale(r->conf))
		return 0;
	/* A broken configuration is tried again when the file changed, or
	 * after a pause (the cause may be the token file or the spool). */
	if (r->conf == NULL && r->conf_path != NULL &&
	    strcmp(r->conf_path, path) == 0 && stat(path, &st) == 0 &&
	    st.st_ino == r->failed.st_ino && st.st_size == r->failed.st_size &&
	    st.st_mtim.tv_sec == r->failed.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == r->failed.st_mtim.tv_nsec &&
	    mono_ms() - r->failed_ms < CONF_RETRY_MS)
		return -1;
	receiver_unload(r);
	free(r->conf_path);
	free(r->runner);
	r->runner = NULL;
	if ((r->conf_path = strdup(path)) == NULL)
		return -1;
	if (stat(path, &r->failed) == -1)
		memset(&r->failed, 0, sizeof(r->failed));
	if ((r->conf = conf_load(path, &d)) == NULL) {
		(void)snprintf(r->conf_error, sizeof(r->conf_error), "%s",
		    d.nerr ? buf_cstr(&d.text) : "cannot load");
		if ((nl = strrchr(r->conf_error, '\n')) != NULL && nl[1] == 0)
			*nl = '\0';
		diag_free(&d);
		goto fail;
	}
	diag_free(&d);
	if ((r->spool = spool_open(r->conf->spool_dir, SPOOL_CREATE |
	    (r->conf->durability == DURABLE_PROCESS ? SPOOL_NOSYNC : 0),
	    &e)) == NULL) {
		(void)snprintf(r->conf_error, sizeof(r->conf_error), "%s", e.msg);
		goto fail;
	}
	spool_journal_limit(r->spool, r->conf->journal_max);
	if (dlog_open(&r->log, r->conf->log_file, &e) == -1) {
		(void)snprintf(r->conf_error, sizeof(r->conf_error), "%s", e.msg);
		goto fail;
	}
	for (i = 0; i < r->conf->nep; i++)
		if (r->conf->ep[i].rate > 0)
			break;
	if (i < r->conf->nep) {
		if (snprintf(rpath, sizeof(rpath), "%s/ratelimit",
		    r->conf->spool_dir) >= (int)sizeof(rpath)) {
			(void)snprintf(r->conf_error, sizeof(r->conf_error),
			    "spool_dir path too long");
			goto fail;
		}
		if (ratelimit_open(&r->rate, rpath, &e) == -1) {
			(void)snprintf(r->conf_error, sizeof(r->conf_error),
			    "%s", e.msg);
			goto fail;
		}
	}
	if ((r->runner = find_program(r->conf->runner, "hookpipe-run")) == NULL)
		goto fail;
	/* Counters are kept only when asked for; a file that cannot be
	 * used costs the counts, not the requests (_metrics says why). */
	if (metrics_conf_attach(r->conf, &e) == -1)
		(void)snprintf(r->metrics_error, sizeof(r->metrics_error),
		    "%s", e.msg);
	else
		r->metrics_error[0] = '\0';
	r->conf_error[0] = '\0';
	return 0;
fail:
	receiver_unload(r);
	r->failed_ms = mono_ms();
	return -1;
}

static void
answer_error(struct answer *a, int status, const char *reason)
{
	a->status = status;
	(void)snprintf(a->reason, sizeof(a->reason), "%s", reason);
	buf_reset(&a->body);
	buf_puts(&a->body, "{\"status\":\"error\",\"reason\":");
	buf_json_cstr(&a->body, reason);
	buf_json_kv(&a->body, "request_id", a->request_id);
	buf_puts(&a->body, "}");
}

/* What the request log line says beyond the answer. */
struct reqlog {
	const char	*endpoint;
	const char	*remote;
	const char	*method;
	const char	*event;
	const char	*id;
	const char	*spool;
	const char	*reason;	/* detail for the log only */
	const char	*handshake;	/* answered a sender's handshake */
	size_t		 bytes;
	int		 duplicate;
};

static void
log_request(struct receiver *r, const struct answer *a,
    const struct reqlog *rl, int64_t t0)
{
	struct buf *b = &r->line;

	dlog_begin(b, "request");
	buf_json_kv(b, "request_id", a->request_id);
	buf_json_kv(b, "endpoint", rl->endpoint);
	buf_json_kv(b, "remote", rl->remote);
	buf_json_kv(b, "method", rl->method);
	buf_printf(b, ",\"status\":%d,\"reason\":", a->status);
	buf_json_cstr(b, rl->reason);
	buf_json_kv(b, "event", rl->event);
	buf_json_kv(b, "id", rl->id);
	buf_json_kv(b, "spool", rl->spool);
	if (rl->handshake != NULL)
		buf_json_kv(b, "handshake", rl->handshake);
	buf_printf(b, ",\"bytes\":%zu,\"duplicate\":%s,\"us\":%" PRId64,
	    rl->bytes, rl->duplicate ? "true" : "false",
	    (now_us() - t0));
	dlog_end(r->log.fd != -1 ? &r->log : NULL, b);
}

static int
is_https(char *const *params)
{
	const char *v;

	if ((v = param_get(params, "HTTPS")) != NULL &&
	    strcasecmp(v, "on") == 0)
		return 1;
	if ((v = param_get(params, "REQUEST_SCHEME")) != NULL &&
	    strcasecmp(v, "https") == 0)
		return 1;
	return 0;
}

/* Is the content type `type`, optionally with parameters ("; charset=
 * utf-8")? */
static int
is_type(const char *ct, const char *type)
{
	size_t n = strlen(type);

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* The schemes whose senders post forms: Twilio, and Slack's interactive
 * messages and slash commands. */
static int
takes_form(enum verify_scheme s)
{
	return s == VERIFY_TWILIO || s == VERIFY_SLACK;
}

/* Read exactly len bytes; 0, or -1 when the body ended early. */
static int
read_body(struct receiver *r, const struct request *req, size_t len)
{
	size_t	got = 0;
	long	n;
	char	*nb;

	if (len + 1 > r->bodycap) {
		if ((nb = realloc(r->body, len + 1)) == NULL)
			return -2;
		r->body = nb;
		r->bodycap = len + 1;
	}
	while (got < len) {
		n = req->read(req->io, r->body + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	r->body[len] = '\0';
	return 0;
}

/* The id as text: a JSON string, or an integer. NULL if absent; sets
 * *bad when present but unusable. */
static const char *
id_text(json_object *v, char *tmp, size_t len, int *bad)
{
	const char *s;

	*bad = 0;
	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_int)) {
		/* json-c keeps integers as int64 or uint64 and saturates
		 * beyond: an id at either bound may stand for a larger one,
		 * and two different ids must never become one. */
		int64_t		i64 = json_object_get_int64(v);
		uint64_t	u64 = json_object_get_uint64(v);

		if (i64 > INT64_MIN && i64 < INT64_MAX)
			(void)snprintf(tmp, len, "%" PRId64, i64);
		else if (i64 == INT64_MAX && u64 < UINT64_MAX)
			(void)snprintf(tmp, len, "%" PRIu64, u64);
		else {
			*bad = 1;
			return NULL;
		}
		s = tmp;
	} else if (json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);
	else {
		*bad = 1;
		return NULL;
	}
	if (!event_id_ok(s)) {
		*bad = 1;
		return NULL;
	}
	return s;
}

static void
answer_accepted(struct answer *a, const char *event, const char *id,
    int duplicate)
{
	a->status = 200;
	buf_reset(&a->body);
	buf_puts(&a->body, "{\"status\":\"accepted\",\"id\":");
	buf_json_cstr(&a->body, id);
	buf_json_kv(&a->body, "event", event);
	if (duplicate)
		buf_puts(&a->body, ",\"duplicate\":true");
	buf_json_kv(&a->body, "request_id", a->request_id);
}

/* The first HTTP_* parameter whose name appears again, or NULL. */
static const char *
dup_header(char *const *params)
{
	size_t i, j, n;

	for (i = 0; params[i] != NULL; i++) {
		if (strncmp(params[i], "HTTP_", 5) != 0)
			continue;
		n = strcspn(params[i], "=");
		for (j = i + 1; params[j] != NULL; j++)
			if (strncmp(params[j], params[i], n) == 0 &&
			    params[j][n] == '=')
				return params[i];
	}
	return NULL;
}

/*
 * The CGI parameters the stages read, taken from the list once at the
 * edge (slowcgi's parse_params): the stages read these fields, never the
 * list. Only the signature check and the envelope get the list itself,
 * for the headers of their own (verify.c, and the selected headers).
 */
struct req {
	char *const	*params;
	const char	*config;	/* HOOKPIPE_CONFIG, a .htaccess SetEnv */
	const char	*path_info;
	const char	*method;
	const char	*remote;	/* REMOTE_ADDR */
	const char	*forwarded;	/* X-Forwarded-For */
	const char	*content_length;
	const char	*content_type;
	const char	*query;		/* QUERY_STRING */
	const char	*dup;		/* a header sent twice, or NULL */
	size_t		 nheaders;	/* HTTP_* parameters */
	int		 https;
	/* Under the names the endpoint configures, once it is known. */
	const char	*token;		/* verify = token */
	const char	*event;		/* event_field = header:NAME */
	const char	*id;		/* id_field = header:NAME */
};

static void
req_parse(struct req *q, char *const *params)
{
	size_t i;

	memset(q, 0, sizeof(*q));
	q->params = params;
	q->config = param_get(params, "HOOKPIPE_CONFIG");
	q->path_info = param_get(params, "PATH_INFO");
	q->method = param_get(params, "REQUEST_METHOD");
	q->remote = param_get(params, "REMOTE_ADDR");
	q->forwarded = param_get(params, "HTTP_X_FORWARDED_FOR");
	q->content_length = param_get(params, "CONTENT_LENGTH");
	q->content_type = param_get(params, "CONTENT_TYPE");
	q->query = param_get(params, "QUERY_STRING");
	q->https = is_https(params);
	q->dup = dup_header(params);
	for (i = 0; params[i] != NULL; i++)
		q->nheaders += strncmp(params[i], "HTTP_", 5) == 0;
}

/* The headers whose names the endpoint chooses. */
static void
req_endpoint(struct req *q, const struct endpoint *ep)
{
	if (ep->verify.scheme == VERIFY_TOKEN)
		q->token = param_get(q->params, ep->auth_param);
	if (ep->event_param[0] != '\0')
		q->event = param_get(q->params, ep->event_param);
	if (ep->id_param[0] != '\0')
		q->id = param_get(q->params, ep->id_param);
}

/* One request on its way through the stages: what each found, the
 * answer being made and the fields of its line in the request log. */
struct ctx {
	struct receiver		*r;
	const struct request	*req;
	struct answer		*a;
	struct req		 in;
	const struct endpoint	*ep;
	const struct event_conf	*ev;	/* its [event] section, or NULL */
	json_object		*root;
	struct form		 form;	/* a form body's fields */
	int			 isform;
	int			 oncefd;	/* the mailgun token's record */
	const char		*event;
	const char		*id;	/* NULL: not deduplicated */
	size_t			 len;	/* body bytes, in r->body */
	int			 idfd;	/* the id lock, from dedupe to store */
	char			 idtmp[32];
	char			 hash[65];	/* an id from a body hash */
	char			 onekey[SPOOL_KEY_MAX];
	char			 idkey[SPOOL_KEY_MAX];
	char			 evbuf[EVENT_NAME_MAX + 1];	/* from a header */
	char			 why[300];	/* a sync failure, for the log */
	char			 name[SPOOL_NAME_MAX];
	char			 client[INET6_ADDRSTRLEN + 8];
	struct err		 e;	/* rl.reason may point here */
	struct reqlog		 rl;
	int64_t			 t0;
	int			 reserved;	/* an operator path */
	int			(*last)(struct ctx *);	/* the stage that
							   answered */
};

/* Every stage returns 0 to go on, or -1 once the answer is final. */
static int
refuse(struct ctx *c, int status, const char *reason)
{
	answer_error(c->a, status, reason);
	return -1;
}

static int
refuse_store(struct ctx *c, const char *why)
{
	c->rl.reason = why;
	answer_error(c->a, 503, "cannot store the event right now");
	c->a->retry_after = RETRY_STORE;
	return -1;
}

/* The configuration: the process environment's, else a .htaccess
 * SetEnv, which arrives as a request parameter. */
static int
st_config(struct ctx *c)
{
	const char *path;

	if ((path = getenv("HOOKPIPE_CONFIG")) == NULL || *path == '\0')
		path = c->in.config;
	if (path == NULL || *path == '\0') {
		c->rl.reason = "HOOKPIPE_CONFIG is not set";
		c->a->retry_after = RETRY_CONFIG;
		return refuse(c, 503, "receiver not configured");
	}
	if (receiver_load(c->r, path) == -1) {
		c->rl.reason = c->r->conf_error;
		c->a->retry_after = RETRY_CONFIG;
		return refuse(c, 503, "receiver configuration error");
	}
	return 0;
}

/* Meta's subscription check, a GET with hub.mode=subscribe,
 * hub.verify_token and hub.challenge: the challenge goes back as text
 * when the token is one of verify_token_file's (compared in constant
 * time), read here as such GETs are rare. Never stored. */
static int
meta_subscribe(struct ctx *c)
{
	const struct form_pair	*mode, *tok, *ch;
	struct tokens		 t = { NULL, 0 };
	struct form		 q;
	int			 good;

	memset(&q, 0, sizeof(q));
	c->rl.handshake = "meta subscribe";
	if (form_parse(c->in.query != NULL ? c->in.query : "",
	    c->in.query != NULL ? strlen(c->in.query) : 0, &q, &c->e) == -1) {
		c->rl.reason = c->e.msg;
		return refuse(c, 400, "query string is not a form");
	}
	mode = form_get(&q, "hub.mode");
	tok = form_get(&q, "hub.verify_token");
	ch = form_get(&q, "hub.challenge");
	if (mode == NULL || strcmp(mode->value, "subscribe") != 0 ||
	    tok == NULL || ch == NULL || !event_id_ok(ch->value)) {
		form_free(&q);
		return refuse(c, 400, "not a subscription check: "
		    "hub.mode=subscribe, hub.verify_token, hub.challenge");
	}
	if (c->ep->verify_token_file == NULL) {
		c->rl.reason = "verify_token_file is not set";
		good = 0;
	} else if (tokens_load(c->ep->verify_token_file, &t, &c->e) == -1) {
		c->rl.reason = c->e.msg;
		good = 0;
	} else
		good = memchr(tok->value, '\0', tok->valuelen) == NULL &&
		    auth_token_ok(&t, tok->value);
	tokens_free(&t);
	if (!good) {
		form_free(&q);
		return refuse(c, 403, "verify token does not match");
	}
	c->a->status = 200;
	c->a->content_type = "text/plain";
	buf_reset(&c->a->body);
	buf_puts(&c->a->body, ch->value);
	form_free(&q);
	return -1;
}

/* admit: the path picks the sender's endpoint, whose rules say whether
 * this client may send at all; nothing here compares a secret. */
static int
st_admit(struct ctx *c)
{
	const struct endpoint	*ep;
	int			 rc;

	if ((ep = conf_endpoint_path(c->r->conf, c->in.path_info)) == NULL)
		return refuse(c, 404, "no such endpoint");
	c->ep = ep;
	c->rl.endpoint = ep->name;
	req_endpoint(&c->in, ep);
	/* A header sent twice under names a server maps to one parameter
	 * (lighttpd turns X_Auth_Token and X-Auth-Token both into
	 * HTTP_X_AUTH_TOKEN) is ambiguous: which one a proxy or this
	 * program believes must not be the client's choice. */
	if (c->in.dup != NULL) {
		(void)snprintf(c->e.msg, sizeof(c->e.msg), "header %.*s "
		    "appears twice (under names with - and _)",
		    (int)strcspn(c->in.dup, "="), c->in.dup);
		c->rl.reason = c->e.msg;
		return refuse(c, 400, "ambiguous request headers");
	}
	/* Behind a trusted proxy the client is in X-Forwarded-For;
	 * otherwise that header is ignored entirely. An entry there that
	 * is not an address is refused: kept, it would reach the log, the
	 * CLI and handlers as the client; replaced by the proxy's address,
	 * it would pass an allow_from that lists the proxy. */
	if (cidr_client(&ep->trusted_proxies, c->rl.remote, c->in.forwarded,
	    c->client, sizeof(c->client), &c->rl.remote) == -1) {
		c->rl.reason = "X-Forwarded-For from a trusted proxy has an "
		    "entry that is not an address";
		return refuse(c, 400, "X-Forwarded-For is not a list of "
		    "addresses");
	}
	if (ep->require_https && !c->in.https)
		return refuse(c, 403, "HTTPS required");
	if (ep->allow_from.n > 0 && !cidr_list_match(&ep->allow_from,
	    c->rl.remote))
		return refuse(c, 403, "source address not allowed");
	if (ep->rate > 0) {
		unsigned resets = c->r->rate.resets;

		rc = ratelimit_take(&c->r->rate, c->rl.remote, ep->name,
		    ep->rate, ep->burst);
		if (c->r->rate.resets != resets)
			deliver_log_error(&c->r->log, "spool",
			    c->r->conf->spool_dir, "the rate_limit table "
			    "(ratelimit) was damaged and started afresh");
		if (rc > 0) {
			c->a->retry_after = rc;
			return refuse(c, 429, "too many requests from this "
			    "address");
		}
	}
	if (c->in.method != NULL && strcmp(c->in.method, "GET") == 0 &&
	    ep->verify.scheme == VERIFY_META)
		return meta_subscribe(c);
	if (c->in.method == NULL || strcmp(c->in.method, "POST") != 0) {
		c->a->allow_post = 1;
		return refuse(c, 405, "method not allowed: use POST");
	}
	if (c->in.nheaders > (size_t)ep->max_headers)
		return refuse(c, 431, "too many request headers");
	return 0;
}

/* authenticate, a token: checked before the body is read. */
static int
st_token(struct ctx *c)
{
	if (c->ep->verify.scheme == VERIFY_TOKEN &&
	    !auth_token_ok(&c->ep->tokens, c->in.token))
		return refuse(c, 401, "authentication failed");
	return 0;
}

/* read: the length is known and within max_body before a byte is read. */
static int
st_read(struct ctx *c)
{
	const char		*cl = c->in.content_length;
	char			*end;
	unsigned long long	 len;
	int			 rc;

	if (cl == NULL || *cl == '\0')
		return refuse(c, 411, "Content-Length required");
	errno = 0;
	len = strtoull(cl, &end, 10);
	if (*cl < '0' || *cl > '9' || *end != '\0' || errno != 0)
		return refuse(c, 400, "Content-Length is not a number");
	if (len > c->ep->max_body)
		return refuse(c, 413, "body larger than the limit");
	c->isform = takes_form(c->ep->verify.scheme) &&
	    is_type(c->in.content_type,
	    "application/x-www-form-urlencoded");
	if (!c->isform && !is_type(c->in.content_type, "application/json"))
		return refuse(c, 415, "Content-Type must be application/json");
	c->len = c->rl.bytes = (size_t)len;
	if ((rc = read_body(c->r, c->req, c->len)) == -2) {
		c->a->retry_after = RETRY_STORE;
		return refuse(c, 503, "out of memory");
	}
	if (rc != 0)
		return refuse(c, 400, "body shorter than Content-Length");
	return 0;
}

/* authenticate, a signature: over the raw bytes, before parsing. */
static int
st_signature(struct ctx *c)
{
	if (c->ep->verify.scheme != VERIFY_TOKEN &&
	    !verify_signature(&c->ep->verify, c->in.params, c->r->body,
	    c->len, time(NULL), &c->e)) {
		c->rl.reason = c->e.msg;	/* why, for the log only */
		return refuse(c, 401, "authentication failed");
	}
	return 0;
}

/* Mailgun signs a token meant to be accepted once: once verified, it is
 * kept in the ids/ index (naming the entry stored with it, as an event
 * id is), so that a replay within the tolerance is refused; after the
 * tolerance the signature itself is refused. */
static int
st_once(struct ctx *c)
{
	char	tok[SPOOL_KEY_MAX];
	int	rc;

	if ((rc = verify_once(&c->ep->verify, c->in.params, c->r->body,
	    c->len, tok, sizeof(tok))) == 0)
		return 0;
	if (rc == -1) {
		c->rl.reason = "the signed token is missing or not usable";
		return refuse(c, 401, "authentication failed");
	}
	/* '@' is in no sender's id: the key cannot be an event's. */
	if (spool_id_key(c->ep->name, "@mailgun-token", c->onekey) == -1 ||
	    strlen(c->onekey) + 1 + strlen(tok) >= sizeof(c->onekey))
		return refuse(c, 401, "authentication failed");
	(void)strcat(c->onekey, "+");
	(void)strcat(c->onekey, tok);
	if ((rc = spool_id_reserve(c->r->spool, c->onekey, &c->oncefd,
	    &c->e)) == -1)
		return refuse_store(c, c->e.msg);
	if (rc == 0) {
		c->rl.reason = "the signed token was accepted before";
		return refuse(c, 401, "token replayed");
	}
	return 0;
}

static int
is_string(json_object *v)
{
	return v != NULL && json_object_is_type(v, json_type_string);
}

/* Handshakes, answered once the signature is checked and never stored:
 * Slack's url_verification echoes the challenge; Zoom's
 * endpoint.url_validation wants plainToken and its HMAC-SHA256 under the
 * secret, in hex. */
static int
st_handshake(struct ctx *c)
{
	enum verify_scheme	 s = c->ep->verify.scheme;
	json_object		*v;
	char			 mac[65];

	if ((s != VERIFY_SLACK && s != VERIFY_ZOOM) || c->isform)
		return 0;
	if (payload_parse(c->r->body, c->len, c->ep->max_depth, &c->root,
	    &c->e) == -1)
		return refuse(c, 400, c->e.msg);
	if (s == VERIFY_SLACK) {
		v = payload_get(c->root, "type");
		if (!is_string(v) || strcmp(json_object_get_string(v),
		    "url_verification") != 0)
			return 0;
		if (!is_string(v = payload_get(c->root, "challenge")))
			return refuse(c, 400, "url_verification without a "
			    "challenge");
		c->rl.handshake = "slack url_verification";
		buf_reset(&c->a->body);
		buf_puts(&c->a->body, "{\"challenge\":");
	} else {
		v = payload_get(c->root, "event");
		if (!is_string(v) || strcmp(json_object_get_string(v),
		    "endpoint.url_validation") != 0)
			return 0;
		if (!is_string(v = payload_get(c->root, "payload.plainToken")))
			return refuse(c, 400, "endpoint.url_validation without "
			    "payload.plainToken");
		if (verify_hmac_hex(&c->ep->verify, json_object_get_string(v),
		    (size_t)json_object_get_string_len(v), mac) == -1) {
			c->rl.reason = "HMAC-SHA256 failed (libcrypto)";
			return refuse(c, 500, "cannot answer the validation");
		}
		c->rl.handshake = "zoom endpoint.url_validation";
		buf_reset(&c->a->body);
		buf_puts(&c->a->body, "{\"plainToken\":");
	}
	buf_json_str(&c->a->body, json_object_get_string(v),
	    (size_t)json_object_get_string_len(v));
	if (s == VERIFY_ZOOM)
		buf_json_kv(&c->a->body, "encryptedToken", mac);
	buf_puts(&c->a->body, "}");
	c->a->status = 200;
	return -1;
}

/* A row's source of the event name or id that hookpipe.ini cannot hold
 * (a fixed name, a hash) or that is where the configured one is not:
 * "header:NAME", "=NAME", "hash:" (of the body), "hash:PATH" (of that
 * member, as json-c writes it), "form:NAME" or, in a form, NAME; else a
 * dotted JSON path. Ids must pass event_id_ok (else *bad); a JSON event
 * must be a string. */
static const char *
source(struct ctx *c, const char *src, int isid, int *bad)
{
	const struct form_pair	*f;
	json_object		*v;
	const char		*j, *val = NULL;
	char			 param[160];

	*bad = 0;
	if (strncmp(src, "header:", 7) == 0) {
		if (auth_header_param(src + 7, param, sizeof(param)) == 0)
			val = param_get(c->in.params, param);
	} else if (src[0] == '=')
		val = src + 1;
	else if (strncmp(src, "hash:", 5) == 0) {
		if (src[5] == '\0') {
			if (verify_sha256_hex(c->r->body, c->len, c->hash) == 0)
				val = c->hash;
		} else if ((v = payload_get(c->root, src + 5)) != NULL &&
		    (j = json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN)) != NULL &&
		    verify_sha256_hex(j, strlen(j), c->hash) == 0)
			val = c->hash;
	} else if (c->isform && (c->root == NULL ||
	    strncmp(src, "form:", 5) == 0)) {
		if (strncmp(src, "form:", 5) == 0)
			src += 5;
		if ((f = form_get(&c->form, src)) != NULL &&
		    memchr(f->value, '\0', f->valuelen) == NULL)
			val = f->value;
	} else if (isid)
		return id_text(payload_get(c->root, src), c->idtmp,
		    sizeof(c->idtmp), bad);
	else if (is_string(v = payload_get(c->root, src)))
		val = json_object_get_string(v);
	if (val != NULL && isid && !event_id_ok(val)) {
		*bad = 1;
		return NULL;
	}
	return val;
}

/* Whether the row's other sources stand in for a field that is absent:
 * the configured field is the row's first source, or that source is one
 * the INI cannot hold (so the field is the global default). */
static int
row_sources(const char *const *src, const char *field)
{
	if (src[0] == NULL)
		return 0;
	return strcmp(src[0], field) == 0 || src[0][0] == '=' ||
	    strncmp(src[0], "hash:", 5) == 0;
}

/* The first value of the row's sources, after the configured one. */
static const char *
from_row(struct ctx *c, const char *const *src, int isid, int *bad)
{
	const char	*val = NULL;
	size_t		 i;

	for (i = src[0][0] == '=' || strncmp(src[0], "hash:", 5) == 0 ? 0 :
	    1; i < VERIFY_SOURCES && src[i] != NULL && val == NULL &&
	    !*bad; i++)
		val = source(c, src[i], isid, bad);
	return val;
}

/* The member at a dotted path whose parts may also index arrays
 * ("entry.0.changes.0.field"), or NULL. */
static json_object *
get_indexed(json_object *o, const char *path)
{
	char		 part[64], *end;
	const char	*dot;
	size_t		 n;
	long		 i;

	for (; o != NULL; path = dot + 1) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n == 0 || n >= sizeof(part))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		if (json_object_is_type(o, json_type_array)) {
			i = strtol(part, &end, 10);
			if (*end != '\0' || i < 0 ||
			    (size_t)i >= json_object_array_length(o))
				return NULL;
			o = json_object_array_get_idx(o, (size_t)i);
		} else if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, part, &o))
			return NULL;
		if (dot == NULL)
			return o;
	}
	return NULL;
}

/* The row's event suffix (Meta: the object, a dot, the first change's
 * field: "page.feed"), where the event comes from the row's own source;
 * the name alone when the body has no such member. */
static const char *
event_suffixed(struct ctx *c, const struct verify_row *row, const char *ev)
{
	json_object	*v;
	int		 n;

	if (ev == NULL || row->event_suffix == NULL || c->root == NULL ||
	    row->event[0] == NULL ||
	    strcmp(c->ep->event_field, row->event[0]) != 0 ||
	    !is_string(v = get_indexed(c->root, row->event_suffix)))
		return ev;
	n = snprintf(c->evbuf, sizeof(c->evbuf), "%s.%s", ev,
	    json_object_get_string(v));
	/* Too long for an event name: "" is no name either, so the request
	 * gets the same 422 as any name past EVENT_NAME_MAX. */
	if (n < 0 || (size_t)n >= sizeof(c->evbuf))
		c->evbuf[0] = '\0';
	return c->evbuf;
}

/* The body, parsed: JSON, or a form (whose payload field is JSON in
 * Slack's interactive messages). */
static int
parse_body(struct ctx *c)
{
	const struct form_pair *f;

	if (!c->isform)
		return c->root != NULL ? 0 : payload_parse(c->r->body, c->len,
		    c->ep->max_depth, &c->root, &c->e);
	if (form_parse(c->r->body, c->len, &c->form, &c->e) == -1)
		return -1;
	if (c->ep->verify.scheme == VERIFY_SLACK &&
	    (f = form_get(&c->form, "payload")) != NULL)
		return payload_parse(f->value, f->valuelen, c->ep->max_depth,
		    &c->root, &c->e);
	return 0;
}

/* validate: a JSON object (or a form), its event name, required fields
 * and id. */
static int
st_validate(struct ctx *c)
{
	const struct endpoint	*ep = c->ep;
	const struct verify_row	*row = verify_row(ep->verify.scheme);
	const struct strlist	*required;
	size_t			 i;
	int			 badid, found;

	if (parse_body(c) == -1)
		return refuse(c, 400, c->e.msg);
	if (ep->event_param[0] != '\0' && c->in.event != NULL &&
	    strlen(c->in.event) < sizeof(c->evbuf)) {
		/* A topic in a header may be a path (Shopify's
		 * orders/create): its '/' reads as '.', the event is
		 * orders.create. */
		for (i = 0; c->in.event[i] != '\0'; i++)
			c->evbuf[i] = c->in.event[i] == '/' ? '.' :
			    c->in.event[i];
		c->evbuf[i] = '\0';
		c->event = c->evbuf;
	} else if (ep->event_param[0] != '\0')
		c->event = c->in.event;
	else
		c->event = event_suffixed(c, row,
		    source(c, ep->event_field, 0, &badid));
	badid = 0;
	if (c->event == NULL && row_sources(row->event, ep->event_field))
		c->event = from_row(c, row->event, 0, &badid);
	if (c->event == NULL) {
		(void)snprintf(c->e.msg, sizeof(c->e.msg), "event field '%s' "
		    "is missing or not a string", ep->event_field);
		return refuse(c, 422, c->e.msg);
	}
	if (!event_name_ok(c->event)) {
		c->event = NULL;
		return refuse(c, 422, "event name must be 1-128 of "
		    "A-Z a-z 0-9 . _ - starting with a letter or digit");
	}
	c->rl.event = c->event;
	c->ev = conf_event(c->r->conf, c->event);
	required = c->ev != NULL && c->ev->has_required ? &c->ev->required :
	    &ep->required;
	for (i = 0; i < required->n; i++) {
		if (c->root == NULL)
			found = form_get(&c->form, required->v[i]) != NULL;
		else
			found = payload_get(c->root, required->v[i]) != NULL;
		if (!found) {
			(void)snprintf(c->e.msg, sizeof(c->e.msg), "required "
			    "field '%s' is missing", required->v[i]);
			return refuse(c, 422, c->e.msg);
		}
	}
	if (ep->id_param[0] != '\0') {
		c->id = c->in.id;
		badid = c->id != NULL && !event_id_ok(c->id);
		if (badid)
			c->id = NULL;
	} else
		c->id = source(c, ep->id_field, 1, &badid);
	if (c->id == NULL && !badid && row_sources(row->id, ep->id_field))
		c->id = from_row(c, row->id, 1, &badid);
	if (badid) {
		(void)snprintf(c->e.msg, sizeof(c->e.msg), "id field '%s' must "
		    "be an integer or 1-200 of A-Z a-z 0-9 . _ : - not "
		    "starting with a dot", ep->id_field);
		return refuse(c, 422, c->e.msg);
	}
	c->rl.id = c->id;
	return 0;
}

/* route: an event without an [event] section needs a handler, unless
 * the endpoint accepts unknown events. A handler refused (its
 * permissions) is still known: the event waits in the spool until it
 * is fixed. */
static int
st_route(struct ctx *c)
{
	struct strlist	progs;
	int		rc;

	if (c->ev != NULL)
		return 0;
	if ((rc = handler_resolve(c->r->conf, c->ep, c->event, &progs,
	    &c->e)) == -1)
		c->rl.reason = c->e.msg;
	rc = rc == 0 && progs.n == 0 && c->ep->unknown_reject;
	strlist_free(&progs);
	return rc ? refuse(c, 422, "unknown event") : 0;
}

/* dedupe: an id seen before is answered 200, a duplicate, and nothing
 * runs again. A new id is locked here; st_store hands the lock back. */
static int
st_dedupe(struct ctx *c)
{
	int rc;

	if (c->id == NULL)
		return 0;
	if (spool_id_key(c->ep->name, c->id, c->idkey) == -1)
		return refuse_store(c, "id key too long");
	if ((rc = spool_id_reserve(c->r->spool, c->idkey, &c->idfd,
	    &c->e)) == -1)
		return refuse_store(c, c->e.msg);
	if (rc == 0) {
		c->rl.duplicate = 1;
		answer_accepted(c->a, c->event, c->id, 1);
		buf_puts(&c->a->body, "}");
		return -1;
	}
	return 0;
}

/* The one place the id lock ends. Stored: the lock goes and the record
 * stays, so duplicates see it. Not stored, or a sync run failed: the id
 * is given back, and the sender's retry (or a duplicate waiting on the
 * lock) runs it again instead of being told it was accepted. */
static void
id_done(struct ctx *c, int stored)
{
	if (c->oncefd != -1)
		spool_id_done(c->oncefd, stored);
	c->oncefd = -1;
	if (c->idfd == -1)
		return;
	spool_id_done(c->idfd, stored);
	c->idfd = -1;
}

/* The entry, written: committed to new/, or to tmp/ for a sync run. */
static int
store_entry(struct ctx *c, int sync)
{
	struct receiver	*r = c->r;
	struct envelope	 env;
	const char	*keys[3];
	int		 nkeys = 0;

	/* The id record names the entry before the commit: a crash after
	 * the commit then still leaves the sender's retry a duplicate, and
	 * a crash before it leaves a record naming nothing stored. */
	if (spool_newname(r->spool, c->name) == -1)
		return err_sys(&c->e, "unable to make a spool name");
	if (c->idfd != -1 && spool_id_note(c->idfd, c->name, &c->e) == -1)
		return -1;
	if (c->oncefd != -1 && spool_id_note(c->oncefd, c->name, &c->e) == -1)
		return -1;
	memset(&env, 0, sizeof(env));
	env.endpoint = c->ep->name;
	env.event = c->event;
	env.id = c->id;
	env.request_id = c->a->request_id;
	env.received_us = c->t0;
	env.remote = c->rl.remote;
	env.content_type = c->in.content_type;
	env.user_agent = param_get(c->in.params, "HTTP_USER_AGENT");
	env.traceparent = param_get(c->in.params, "HTTP_TRACEPARENT");
	if (!metrics_traceparent_ok(env.traceparent))
		env.traceparent = NULL;
	env.bytes = c->len;
	env.sync = sync;
	if (sync)
		return spool_write(r->spool, &env, r->body, c->len, c->name,
		    &c->e);
	/* The keys go into the journal with the entry: recovery after a
	 * power cut restores the records that make retries duplicates. */
	if (c->idfd != -1)
		keys[nkeys++] = c->idkey;
	if (c->oncefd != -1)
		keys[nkeys++] = c->onekey;
	keys[nkeys] = NULL;
	return spool_commit(r->spool, &env, r->body, c->len, c->name, keys,
	    &c->e);
}

/* mode = sync: run now through the delivery engine, answer with the
 * outcome (deliver_row). The entry is in tmp/: the sender's retry is
 * its durability; handled, it moves to done/ with its history. 0 when
 * handled. */
static int
run_sync(struct ctx *c)
{
	const struct outcome_row	*row;
	struct delivery			 d;
	struct err			 e;
	long				 delay;
	int				 rc;

	if (deliver_open(&d, c->r->conf, c->r->spool, &c->r->log, SP_TMP,
	    c->name, &e) == -1) {
		deliver_free(&d);
		(void)spool_remove(c->r->spool, SP_TMP, c->name, &e);
		return refuse_store(c, "cannot reopen the stored event");
	}
	if (deliver_begin(&d, SP_TMP) == 1)
		deliver_wait(&d);
	row = deliver_row(d.out);
	if (d.out == OUT_OK) {
		answer_accepted(c->a, c->event, c->id ? c->id : c->name, 0);
		if (c->ev->sync_output) {
			buf_puts(&c->a->body, ",\"output\":");
			buf_json_str(&c->a->body, d.last.out.p ? d.last.out.p :
			    "", d.last.out.len);
		}
		buf_puts(&c->a->body, "}");
	} else {
		(void)snprintf(c->why, sizeof(c->why), "sync handler: %s",
		    d.why[0] != '\0' ? d.why : row->reason);
		c->rl.reason = c->why;
		answer_error(c->a, row->status, row->answer);
		c->a->retry_after = row->retry_after;
	}
	(void)deliver_finish(&d, &delay, &e);
	rc = d.out == OUT_OK ? 0 : -1;
	deliver_free(&d);
	return rc;
}

/* store: nothing is acknowledged before this succeeded. A sync event
 * runs here, and its outcome is the answer. */
static int
st_store(struct ctx *c)
{
	int rc, sync = c->ev != NULL && c->ev->mode == MODE_SYNC;

	if ((rc = store_entry(c, sync)) == -1)
		refuse_store(c, c->e.msg);
	else {
		c->rl.spool = c->name;
		if (sync)
			rc = run_sync(c);
	}
	id_done(c, rc == 0);
	return sync ? -1 : rc;
}

/* answer: accepted; a runner is started once the answer is out. */
static int
st_answer(struct ctx *c)
{
	answer_accepted(c->a, c->event, c->id ? c->id : c->name, 0);
	buf_puts(&c->a->body, "}");
	c->a->kick = 1;
	return 0;
}


/*
 * The operator paths: MOUNT/_NAME, which no endpoint can take (their
 * names start with a letter or digit). Each is off (404, as any path
 * without an endpoint) unless its section is in the INI, and guards
 * itself: its own allow_from (REMOTE_ADDR as the server gives it; no
 * X-Forwarded-For) and, for _metrics, its own bearer token.
 */
static int
reserved_allowed(struct answer *a, char *const *params,
    const struct cidr_list *allow)
{
	if (!cidr_list_match(allow, param_get(params, "REMOTE_ADDR"))) {
		answer_error(a, 403, "source address not allowed");
		return 0;
	}
	return 1;
}

/* GET and HEAD only; HEAD gets the headers of GET. */
static int
reserved_method(struct answer *a, char *const *params)
{
	const char *m = param_get(params, "REQUEST_METHOD");

	if (m != NULL && strcmp(m, "HEAD") == 0)
		a->head = 1;
	else if (m == NULL || strcmp(m, "GET") != 0) {
		answer_error(a, 405, "method not allowed: use GET or HEAD");
		return 0;
	}
	return 1;
}

static int
serve_health(struct receiver *r, const struct request *req,
    struct answer *a)
{
	const struct health_conf *h = &r->conf->health;

	if (!h->on) {
		answer_error(a, 404, "no such endpoint");
		return a->status;
	}
	if (!reserved_allowed(a, req->params, &h->allow_from) ||
	    !reserved_method(a, req->params))
		return a->status;
	buf_reset(&a->body);
	a->status = metrics_health(&a->body, r->conf, r->spool) == 0 ? 200 :
	    503;
	return a->status;
}

/* "Authorization: Bearer TOKEN", one of token_file's (read at each
 * scrape: scrapes are rare, and a rotated file takes effect at once). */
static int
bearer_ok(const struct metrics_conf *m, char *const *params, struct err *e)
{
	struct tokens	 t = { NULL, 0 };
	const char	*v = param_get(params, "HTTP_AUTHORIZATION");
	int		 good;

	if (m->token_file == NULL)
		return 1;
	if (tokens_load(m->token_file, &t, e) == -1)
		return 0;
	good = v != NULL && strncasecmp(v, "Bearer ", 7) == 0 &&
	    auth_token_ok(&t, v + 7);
	tokens_free(&t);
	return good;
}

static int
serve_metrics(struct receiver *r, const struct request *req,
    struct answer *a)
{
	const struct metrics_conf	*m = &r->conf->metrics;
	struct err			 e;

	if (!m->on) {
		answer_error(a, 404, "no such endpoint");
		return a->status;
	}
	if (!reserved_allowed(a, req->params, &m->allow_from))
		return a->status;
	e.msg[0] = '\0';
	if (!bearer_ok(m, req->params, &e)) {
		(void)snprintf(a->reason, sizeof(a->reason), "%s", e.msg);
		answer_error(a, 401, "authentication failed");
		return a->status;
	}
	if (!reserved_method(a, req->params))
		return a->status;
	if (r->metrics_error[0] != '\0') {
		answer_error(a, 503, "the counters file is not usable");
		a->retry_after = RETRY_CONFIG;
		return a->status;
	}
	a->status = 200;
	a->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&a->body);
	metrics_render(&a->body, r->conf, r->spool);
	return a->status;
}

/* The reserved names, each with what serves it. */
static const struct reserved {
	const char	*name;		/* PATH_INFO: /NAME or /NAME/... */
	int		 subpaths;	/* /NAME/... is its too */
	int		(*serve)(struct receiver *, const struct request *,
			    struct answer *);
} reserved[] = {
	{ "_health", 0, serve_health },
	{ "_metrics", 0, serve_metrics },
	{ "_status", 1, status_serve },
};

/* A path under MOUNT/_ is an operator path, never an endpoint. */
static int
st_reserved(struct ctx *c)
{
	const char	*p = c->in.path_info;
	size_t		 i, n;

	if (p == NULL || p[0] != '/' || p[1] != '_')
		return 0;
	c->rl.endpoint = p + 1;
	c->reserved = 1;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		n = strlen(reserved[i].name);
		if (strncmp(p + 1, reserved[i].name, n) != 0 ||
		    !(p[n + 1] == '\0' || (p[n + 1] == '/' &&
		    (reserved[i].subpaths || p[n + 2] == '\0'))))
			continue;
		c->rl.endpoint = reserved[i].name;
		(void)reserved[i].serve(c->r, c->req, c->a);
		return -1;
	}
	return refuse(c, 404, "no such endpoint");
}

/* DESIGN.md's pipeline, in order: cheap refusals come first. */
static int (*const stages[])(struct ctx *) = {
	st_config,
	st_reserved,
	st_admit,
	st_token,
	st_read,
	st_signature,
	st_once,
	st_handshake,
	st_validate,
	st_route,
	st_dedupe,
	st_store,
	st_answer,
};

static void
begin(struct ctx *c, struct receiver *r, const struct request *req,
    struct answer *a)
{
	memset(c, 0, sizeof(*c));
	c->r = r;
	c->req = req;
	c->a = a;
	c->idfd = -1;
	c->oncefd = -1;
	c->t0 = now_us();
	a->status = 500;
	a->retry_after = a->allow_post = a->kick = a->head = 0;
	a->content_type = NULL;
	a->reason[0] = '\0';
	buf_reset(&a->headers);
	if (random_hex(a->request_id, 8) == -1)
		(void)snprintf(a->request_id, sizeof(a->request_id), "%016llx",
		    (unsigned long long)c->t0);
	req_parse(&c->in, req->params);
	c->rl.remote = c->in.remote;
	c->rl.method = c->in.method;
}

/* The reason class of hookpipe_refusals_total, from the stage that
 * answered and the status it chose. */
static enum metrics_refusal
refusal(const struct ctx *c)
{
	int st = c->a->status;

	if (st == 200)
		return MR_NONE;
	if (c->last == st_store && c->rl.spool != NULL)
		return MR_NONE;		/* stored; a sync handler's answer */
	if (st == 503)
		return MR_UNAVAILABLE;
	if (st == 401 || c->last == st_token || c->last == st_signature ||
	    c->last == st_once)
		return MR_AUTH;
	if (st == 403)
		return strcmp(c->a->reason, "HTTPS required") == 0 ? MR_HTTPS :
		    strcmp(c->a->reason, "source address not allowed") == 0 ?
		    MR_ADDRESS : MR_AUTH;
	if (st == 429)
		return MR_RATE;
	if (st == 411 || st == 413 || st == 431)
		return MR_SIZE;
	if (st == 415)
		return MR_TYPE;
	if (st == 405)
		return MR_METHOD;
	if (c->last == st_route)
		return MR_UNKNOWN_EVENT;
	if (st == 422)
		return MR_FIELD;
	if (st == 400 && (c->last == st_validate ||
	    c->last == st_handshake))
		return MR_JSON;
	return MR_REQUEST;
}

/* Every request, answered or refused, gets its line in the log. */
static void
finish(struct ctx *c)
{
	struct answer *a = c->a;

	if (a->body.oom) {
		buf_reset(&a->body);
		buf_puts(&a->body, "{\"status\":\"error\"}");
	}
	if (c->rl.reason == NULL && a->status != 200)
		c->rl.reason = a->reason;
	id_done(c, 0);		/* refused after the token was kept */
	log_request(c->r, a, &c->rl, c->t0);
	if (!c->reserved)
		metrics_request(c->ep != NULL ? c->ep->name : "", a->status,
		    refusal(c), c->rl.bytes, c->rl.duplicate, now_us() - c->t0);
	json_object_put(c->root);
	form_free(&c->form);
}

void
receiver_handle(struct receiver *r, const struct request *req,
    struct answer *a)
{
	struct ctx	c;
	size_t		i;

	begin(&c, r, req, a);
	for (i = 0; i < sizeof(stages) / sizeof(stages[0]); i++)
		if ((c.last = stages[i])(&c) == -1)
			break;
	finish(&c);
}

int
receiver_kick(struct receiver *r, int keep_stderr, struct err *e)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		at;
	sigset_t			all, none;
	char				*argv[6], **envp = NULL;
	char				 lockenv[] = SPOOL_LOCK_FD "=3";
	pid_t				pid;
	size_t				n, i;
	int				rc, lfd, fd;

	/* Reap runners started earlier that are done (sync handlers are
	 * reaped where they run, so only runners can be waiting here). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (r->conf == NULL || r->spool == NULL || r->runner == NULL)
		return 0;
	/* A runner holds the lock for as long as it works and looks at new/
	 * once more after letting go, so a held lock means no start. */
	if (!spool_lock_free(r->spool))
		return 0;
	/* Free: take it, on a descriptor of its own that the runner gets
	 * as its descriptor 3, so that the other responders seeing the
	 * same free lock now find it held and start no second runner. */
	if ((lfd = spool_lock_handoff(r->spool)) == -1)
		return 0;
	/* Above the runner's 0-3: in CGI mode standard output is closed
	 * by now, so the open took descriptor 1, which the spawn sets to
	 * /dev/null before it would copy it to 3. */
	if (lfd < 4) {
		fd = fcntl(lfd, F_DUPFD_CLOEXEC, 4);
		(void)close(lfd);
		if ((lfd = fd) == -1)
			return err_sys(e, "unable to start %s", r->runner);
	}
	for (n = 0; environ[n] != NULL; n++)
		;
	if ((envp = reallocarray(NULL, n + 2, sizeof(*envp))) == NULL) {
		(void)close(lfd);
		return err_sys(e, "unable to start %s", r->runner);
	}
	/* Ours only, should the environment hold one already. */
	for (i = n = 0; environ[i] != NULL; i++)
		if (strncmp(environ[i], SPOOL_LOCK_FD "=",
		    sizeof(SPOOL_LOCK_FD)) != 0)
			envp[n++] = environ[i];
	envp[n] = lockenv;
	envp[n + 1] = NULL;

	/* posix_spawn (vfork-like, no page-table copy) in a session of its
	 * own, with default signals and only stdin/stdout/stderr open. */
	if ((rc = posix_spawn_file_actions_init(&fa)) != 0) {
		errno = rc;
		err_sys(e, "unable to start %s", r->runner);
		goto out;
	}
	if ((rc = posix_spawnattr_init(&at)) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		errno = rc;
		err_sys(e, "unable to start %s", r->runner);
		goto out;
	}
	(void)sigfillset(&all);
	(void)sigemptyset(&none);
	rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	rc |= posix_spawnattr_setsigdefault(&at, &all);
	rc |= posix_spawnattr_setsigmask(&at, &none);
	rc |= posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	rc |= posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	if (!keep_stderr)
		rc |= posix_spawn_file_actions_addopen(&fa, 2, "/dev/null",
		    O_WRONLY, 0);
	rc |= posix_spawn_file_actions_adddup2(&fa, lfd, 3);
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	rc |= posix_spawn_file_actions_addclosefrom_np(&fa, 4);
#endif
	argv[0] = r->runner;
	/* --linger: the runner waits a while once drained, so that the
	 * rest of a burst finds its lock held and starts no other one. */
	argv[1] = (char *)(uintptr_t)"-q";
	argv[2] = (char *)(uintptr_t)"--linger";
	argv[3] = (char *)(uintptr_t)"-c";
	argv[4] = r->conf_path;
	argv[5] = NULL;
	if (rc != 0)
		err_set(e, "unable to start %s: its spawn attributes cannot be "
		    "set", r->runner);
	else if ((rc = posix_spawn(&pid, r->runner, &fa, &at, argv,
	    envp)) != 0) {
		errno = rc;
		err_sys(e, "unable to start %s", r->runner);
	}
	(void)posix_spawnattr_destroy(&at);
	(void)posix_spawn_file_actions_destroy(&fa);
out:
	/* The runner holds the lock now (or, not started, nobody does). */
	(void)close(lfd);
	free(envp);
	return rc != 0 ? -1 : 0;
}

void
answer_free(struct answer *a)
{
	buf_free(&a->body);
	buf_free(&a->headers);
}
