/* receive: the pipeline of DESIGN.md for one request: admit, auth,
 * validate, route, dedupe, store, answer. Cheap refusals come first so
 * a flood of bad requests costs little; nothing is acknowledged before
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
#include "handler.h"
#include "payload.h"
#include "receive.h"
#include "verify.h"

#ifndef BINDIR
#define BINDIR "/usr/local/bin"
#endif

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
	if (r->spool_open)
		spool_close(&r->spool);
	r->spool_open = 0;
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

/* The hookpipe-run to start: [delivery] runner, else the one beside
 * this program, else the installed one. */
static char *
find_runner(const struct conf *c)
{
	char	self[PATH_MAX], *slash, *p;
	ssize_t	n;

	if (c->runner != NULL)
		return strdup(c->runner);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (asprintf(&p, "%s/hookpipe-run", self) != -1) {
				if (access(p, X_OK) == 0)
					return p;
				free(p);
			}
		}
	}
	return strdup(BINDIR "/hookpipe-run");
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
	if (spool_open(&r->spool, r->conf->spool_dir, 1, &e) == -1) {
		(void)snprintf(r->conf_error, sizeof(r->conf_error), "%s", e.msg);
		goto fail;
	}
	r->spool_open = 1;
	r->spool.nosync = r->conf->durability == DURABLE_PROCESS;
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
	if ((r->runner = find_runner(r->conf)) == NULL)
		goto fail;
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
	buf_puts(&a->body, ",\"request_id\":");
	buf_json_cstr(&a->body, a->request_id);
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
	size_t		 bytes;
	int		 duplicate;
};

static void
log_request(struct receiver *r, const struct answer *a,
    const struct reqlog *rl, int64_t t0)
{
	struct buf *b = &r->line;

	dlog_begin(b, "request");
	buf_puts(b, ",\"request_id\":");
	buf_json_cstr(b, a->request_id);
	buf_puts(b, ",\"endpoint\":");
	buf_json_cstr(b, rl->endpoint);
	buf_puts(b, ",\"remote\":");
	buf_json_cstr(b, rl->remote);
	buf_puts(b, ",\"method\":");
	buf_json_cstr(b, rl->method);
	buf_printf(b, ",\"status\":%d,\"reason\":", a->status);
	buf_json_cstr(b, rl->reason);
	buf_puts(b, ",\"event\":");
	buf_json_cstr(b, rl->event);
	buf_puts(b, ",\"id\":");
	buf_json_cstr(b, rl->id);
	buf_puts(b, ",\"spool\":");
	buf_json_cstr(b, rl->spool);
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

/* application/json, optionally with parameters ("; charset=utf-8"). */
static int
is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, "application/json", n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
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
envelope(struct buf *b, const char *endpoint, const char *event,
    const char *id, const char *reqid, int64_t received, const char *remote,
    char *const *params, size_t bytes, const char *mode)
{
	char t[40];

	fmt_time_us(received, t, sizeof(t));
	buf_reset(b);
	buf_puts(b, "{\"v\":1,\"endpoint\":");
	buf_json_cstr(b, endpoint);
	buf_puts(b, ",\"event\":");
	buf_json_cstr(b, event);
	buf_puts(b, ",\"id\":");
	buf_json_cstr(b, id);
	buf_puts(b, ",\"request_id\":");
	buf_json_cstr(b, reqid);
	buf_puts(b, ",\"received_at\":");
	buf_json_cstr(b, t);
	buf_printf(b, ",\"received_us\":%" PRId64 ",\"remote\":", received);
	buf_json_cstr(b, remote);
	buf_puts(b, ",\"mode\":");
	buf_json_cstr(b, mode);
	buf_printf(b, ",\"bytes\":%zu,\"headers\":{\"content-type\":", bytes);
	buf_json_cstr(b, param_get(params, "CONTENT_TYPE"));
	buf_puts(b, ",\"user-agent\":");
	buf_json_cstr(b, param_get(params, "HTTP_USER_AGENT"));
	buf_puts(b, "}}");
}

static void
answer_accepted(struct answer *a, const char *event, const char *id,
    int duplicate)
{
	a->status = 200;
	buf_reset(&a->body);
	buf_puts(&a->body, "{\"status\":\"accepted\",\"id\":");
	buf_json_cstr(&a->body, id);
	buf_puts(&a->body, ",\"event\":");
	buf_json_cstr(&a->body, event);
	if (duplicate)
		buf_puts(&a->body, ",\"duplicate\":true");
	buf_puts(&a->body, ",\"request_id\":");
	buf_json_cstr(&a->body, a->request_id);
}

/* mode = sync: run now, answer with the outcome. The entry was written
 * to tmp/ (the sender's retry is the durability); it moves to done/ on
 * success and is dropped otherwise. 0 when handled. */
static int
run_sync(struct receiver *r, const struct endpoint *ep,
    const struct event_conf *ev, const char *event, const char *id, const char *name, const char *remote,
    int64_t received, size_t envlen, struct answer *a, struct reqlog *rl)
{
	struct handler_result	last;
	struct handler_meta	m;
	struct err		e;
	enum outcome		out;
	char			path[PATH_MAX], t[40];
	int			fd;

	(void)spool_entry_path(&r->spool, SP_TMP, name, path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		rl->reason = "cannot reopen the stored event";
		answer_error(a, 503, "cannot store the event right now");
		a->retry_after = RETRY_STORE;
		(void)spool_remove(&r->spool, SP_TMP, name, &e);
		return -1;
	}
	fmt_time_us(received, t, sizeof(t));
	memset(&m, 0, sizeof(m));
	m.endpoint = ep->name;
	m.event = event;
	m.id = id;
	m.request_id = a->request_id;
	m.received_at = t;
	m.remote_addr = remote;
	m.spool_file = path;
	m.mode = "sync";
	m.attempt = 1;
	out = deliver_event(r->conf, &r->log, &m, fd, (off_t)envlen + 1, &last);
	(void)close(fd);
	switch (out) {
	case OUT_OK:
		if (spool_move(&r->spool, SP_TMP, SP_DONE, name, &e) == -1)
			rl->reason = "handled, but not moved to done/";
		answer_accepted(a, event, id ? id : name, 0);
		if (ev->sync_output) {
			buf_puts(&a->body, ",\"output\":");
			buf_json_str(&a->body, last.out.p ? last.out.p : "",
			    last.out.len);
		}
		buf_puts(&a->body, "}");
		break;
	case OUT_TIMEOUT:
		rl->reason = "sync handler timed out";
		answer_error(a, 504, "handler timed out");
		break;
	case OUT_TEMP:
		if (last.exited && last.code == HANDLER_EXIT_TEMPFAIL) {
			rl->reason = "sync handler asked for a retry (75)";
			answer_error(a, 503, "handler asked for a retry");
			a->retry_after = RETRY_STORE;
			break;
		}
		/* FALLTHROUGH */
	case OUT_PERM:
		rl->reason = "sync handler failed";
		answer_error(a, 500, "handler failed");
		break;
	}
	if (out != OUT_OK)
		(void)spool_remove(&r->spool, SP_TMP, name, &e);
	handler_result_free(&last);
	return out == OUT_OK ? 0 : -1;
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

void
receiver_handle(struct receiver *r, const struct request *req,
    struct answer *a)
{
	const struct event_conf	*ev;
	const struct endpoint	*ep;
	struct reqlog		 rl;
	const struct strlist	*required;
	struct strlist		 progs;
	struct err		 e;
	json_object		*root = NULL, *v;
	const char		*path, *cl, *event = NULL, *id = NULL, *dup;
	char			 name[SPOOL_NAME_MAX], idtmp[32], *end;
	char			 idkey[CONF_ENDPOINT_MAX + 1 + EVENT_ID_MAX + 1];
	char			 client[INET6_ADDRSTRLEN + 8];
	unsigned long long	 len;
	int64_t			 t0 = now_us();
	size_t			 i, n;
	int			 idfd = -1, rc, badid;

	memset(&rl, 0, sizeof(rl));
	a->status = 500;
	a->retry_after = a->allow_post = a->kick = 0;
	a->reason[0] = '\0';
	if (random_hex(a->request_id, 8) == -1)
		(void)snprintf(a->request_id, sizeof(a->request_id), "%016llx",
		    (unsigned long long)t0);
	rl.remote = param_get(req->params, "REMOTE_ADDR");
	rl.method = param_get(req->params, "REQUEST_METHOD");

	/* The process environment wins; a .htaccess SetEnv arrives as a
	 * request parameter. */
	if ((path = getenv("HOOKPIPE_CONFIG")) == NULL || *path == '\0')
		path = param_get(req->params, "HOOKPIPE_CONFIG");
	if (path == NULL || *path == '\0') {
		rl.reason = "HOOKPIPE_CONFIG is not set";
		answer_error(a, 503, "receiver not configured");
		a->retry_after = RETRY_CONFIG;
		goto out;
	}
	if (receiver_load(r, path) == -1) {
		rl.reason = r->conf_error;
		answer_error(a, 503, "receiver configuration error");
		a->retry_after = RETRY_CONFIG;
		goto out;
	}

	/* The path picks the sender's endpoint: its rules apply. */
	if ((ep = conf_endpoint_path(r->conf, param_get(req->params,
	    "PATH_INFO"))) == NULL) {
		answer_error(a, 404, "no such endpoint");
		goto out;
	}
	rl.endpoint = ep->name;
	/* A header sent twice under names a server maps to one parameter
	 * (lighttpd turns X_Auth_Token and X-Auth-Token both into
	 * HTTP_X_AUTH_TOKEN) is ambiguous: which one a proxy or this
	 * program believes must not be the client's choice. */
	if ((dup = dup_header(req->params)) != NULL) {
		(void)snprintf(e.msg, sizeof(e.msg), "header %.*s appears "
		    "twice (under names with - and _)", (int)strcspn(dup, "="),
		    dup);
		rl.reason = e.msg;
		answer_error(a, 400, "ambiguous request headers");
		goto out;
	}
	/* Behind a trusted proxy the client is in X-Forwarded-For;
	 * otherwise that header is ignored entirely. An entry there that
	 * is not an address is refused: kept, it would reach the log, the
	 * CLI and handlers as the client; replaced by the proxy's address,
	 * it would pass an allow_from that lists the proxy. */
	if (cidr_client(&ep->trusted_proxies, rl.remote, param_get(req->params,
	    "HTTP_X_FORWARDED_FOR"), client, sizeof(client), &rl.remote) ==
	    -1) {
		rl.reason = "X-Forwarded-For from a trusted proxy has an entry "
		    "that is not an address";
		answer_error(a, 400, "X-Forwarded-For is not a list of "
		    "addresses");
		goto out;
	}
	if (ep->require_https && !is_https(req->params)) {
		answer_error(a, 403, "HTTPS required");
		goto out;
	}
	if (ep->allow_from.n > 0 && !cidr_list_match(&ep->allow_from,
	    rl.remote)) {
		answer_error(a, 403, "source address not allowed");
		goto out;
	}
	if (ep->rate > 0 && (rc = ratelimit_take(&r->rate, rl.remote,
	    ep->name, ep->rate, ep->burst, t0)) > 0) {
		answer_error(a, 429, "too many requests from this address");
		a->retry_after = rc;
		goto out;
	}
	if (rl.method == NULL || strcmp(rl.method, "POST") != 0) {
		answer_error(a, 405, "method not allowed: use POST");
		a->allow_post = 1;
		goto out;
	}
	for (i = 0, n = 0; req->params[i] != NULL; i++)
		n += strncmp(req->params[i], "HTTP_", 5) == 0;
	if (n > (size_t)ep->max_headers) {
		answer_error(a, 431, "too many request headers");
		goto out;
	}
	/* A token is checked before the body is read; signatures need it. */
	if (ep->verify.scheme == VERIFY_TOKEN && !auth_token_ok(&ep->tokens,
	    param_get(req->params, ep->auth_param))) {
		answer_error(a, 401, "authentication failed");
		goto out;
	}
	if ((cl = param_get(req->params, "CONTENT_LENGTH")) == NULL ||
	    *cl == '\0') {
		answer_error(a, 411, "Content-Length required");
		goto out;
	}
	errno = 0;
	len = strtoull(cl, &end, 10);
	if (*cl < '0' || *cl > '9' || *end != '\0' || errno != 0) {
		answer_error(a, 400, "Content-Length is not a number");
		goto out;
	}
	if (len > ep->max_body) {
		answer_error(a, 413, "body larger than the limit");
		goto out;
	}
	if (!is_json_type(param_get(req->params, "CONTENT_TYPE"))) {
		answer_error(a, 415, "Content-Type must be application/json");
		goto out;
	}
	rl.bytes = (size_t)len;
	if ((rc = read_body(r, req, (size_t)len)) != 0) {
		if (rc == -2) {
			answer_error(a, 503, "out of memory");
			a->retry_after = RETRY_STORE;
		} else
			answer_error(a, 400, "body shorter than "
			    "Content-Length");
		goto out;
	}
	if (ep->verify.scheme != VERIFY_TOKEN &&
	    !verify_signature(&ep->verify, req->params, r->body,
	    (size_t)len, time(NULL), &e)) {
		answer_error(a, 401, "authentication failed");
		rl.reason = e.msg;	/* why, for the log only */
		goto out;
	}
	if (payload_parse(r->body, (size_t)len, ep->max_depth, &root, &e) ==
	    -1) {
		answer_error(a, 400, e.msg);
		goto out;
	}

	if (ep->event_param[0] != '\0')
		event = param_get(req->params, ep->event_param);
	else if ((v = payload_get(root, ep->event_field)) != NULL &&
	    json_object_is_type(v, json_type_string))
		event = json_object_get_string(v);
	if (event == NULL) {
		(void)snprintf(e.msg, sizeof(e.msg), "event field '%s' is "
		    "missing or not a string", ep->event_field);
		answer_error(a, 422, e.msg);
		goto out;
	}
	if (!event_name_ok(event)) {
		rl.event = NULL;
		answer_error(a, 422, "event name must be 1-128 of "
		    "A-Z a-z 0-9 . _ - starting with a letter or digit");
		event = NULL;
		goto out;
	}
	rl.event = event;
	ev = conf_event(r->conf, event);
	required = ev != NULL && ev->has_required ? &ev->required :
	    &ep->required;
	for (i = 0; i < required->n; i++) {
		if (payload_get(root, required->v[i]) == NULL) {
			(void)snprintf(e.msg, sizeof(e.msg), "required field "
			    "'%s' is missing", required->v[i]);
			answer_error(a, 422, e.msg);
			goto out;
		}
	}
	if (ep->id_param[0] != '\0') {
		id = param_get(req->params, ep->id_param);
		badid = id != NULL && !event_id_ok(id);
		if (badid)
			id = NULL;
	} else
		id = id_text(payload_get(root, ep->id_field), idtmp,
		    sizeof(idtmp), &badid);
	if (badid) {
		(void)snprintf(e.msg, sizeof(e.msg), "id field '%s' must be an "
		    "integer or 1-200 of A-Z a-z 0-9 . _ : - not starting with "
		    "a dot", ep->id_field);
		answer_error(a, 422, e.msg);
		goto out;
	}
	rl.id = id;
	if (ev == NULL) {
		/* A handler refused (its permissions) is still known:
		 * the event waits in the spool until it is fixed. */
		if ((rc = handler_resolve(r->conf, ep, event, &progs, &e)) ==
		    -1)
			rl.reason = e.msg;
		if (rc == 0 && progs.n == 0 && ep->unknown_reject) {
			answer_error(a, 422, "unknown event");
			goto out;
		}
		strlist_free(&progs);
	}

	if (id != NULL) {
		/* Ids are per sender: an endpoint's are kept apart as
		 * NAME+ID ('+' is never part of an id). */
		if (ep->name != NULL)
			(void)snprintf(idkey, sizeof(idkey), "%s+%s", ep->name,
			    id);
		else
			(void)snprintf(idkey, sizeof(idkey), "%s", id);
		rc = spool_id_reserve(&r->spool, idkey, &idfd, &e);
		if (rc == -1) {
			rl.reason = e.msg;
			answer_error(a, 503, "cannot store the event right now");
			a->retry_after = RETRY_STORE;
			goto out;
		}
		if (rc == 0) {
			rl.duplicate = 1;
			answer_accepted(a, event, id, 1);
			buf_puts(&a->body, "}");
			goto out;
		}
	}
	/* The id record names the entry before the commit: a crash after
	 * the commit then still leaves the sender's retry a duplicate, and
	 * a crash before it leaves a record naming nothing stored. */
	if (spool_newname(&r->spool, name) == -1)
		rc = err_sys(&e, "unable to make a spool name");
	else if (idfd != -1 && spool_id_note(idfd, name, &e) == -1)
		rc = -1;
	else
		rc = 0;
	envelope(&r->line, ep->name, event, id, a->request_id, t0, rl.remote,
	    req->params, (size_t)len, ev && ev->mode == MODE_SYNC ? "sync" :
	    "queue");
	if (rc == -1)
		;
	else if (r->line.oom)
		rc = err_set(&e, "out of memory");
	else if (ev != NULL && ev->mode == MODE_SYNC)
		rc = spool_write(&r->spool, r->line.p, r->line.len, r->body,
		    (size_t)len, 0, name, &e);
	else
		rc = spool_commit(&r->spool, r->line.p, r->line.len, r->body,
		    (size_t)len, name, &e);
	if (rc == -1) {
		if (idfd != -1)
			spool_id_release(idfd);
		idfd = -1;
		rl.reason = e.msg;
		answer_error(a, 503, "cannot store the event right now");
		a->retry_after = RETRY_STORE;
		goto out;
	}
	rl.spool = name;
	if (ev != NULL && ev->mode == MODE_SYNC) {
		/* A duplicate arriving meanwhile waits on the id lock for the
		 * outcome: a failure releases the id, so the duplicate runs
		 * it again instead of being told it was accepted. */
		if (run_sync(r, ep, ev, event, id, name, rl.remote, t0, r->line.len,
		    a, &rl) == 0 && idfd != -1)
			(void)close(idfd);	/* in done/: duplicates see it */
		else if (idfd != -1)
			spool_id_release(idfd);
		idfd = -1;
		goto out;
	}
	if (idfd != -1)
		(void)close(idfd);	/* the lock goes; the record stays */
	idfd = -1;
	answer_accepted(a, event, id ? id : name, 0);
	buf_puts(&a->body, "}");
	a->kick = 1;
out:
	if (a->body.oom) {
		buf_reset(&a->body);
		buf_puts(&a->body, "{\"status\":\"error\"}");
	}
	if (rl.reason == NULL && a->status != 200)
		rl.reason = a->reason;
	log_request(r, a, &rl, t0);
	json_object_put(root);
}

void
receiver_kick(struct receiver *r, int keep_stderr)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		at;
	sigset_t			all, none;
	char				*argv[5];
	pid_t				pid;
	int				rc;

	/* Reap runners started earlier that are done (sync handlers are
	 * reaped where they run, so only runners can be waiting here). */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (r->conf == NULL || !r->spool_open || r->runner == NULL)
		return;
	/* A runner holds the lock for as long as it works and looks at new/
	 * once more after letting go, so a held lock means no start. */
	if (flock(r->spool.lockfd, LOCK_EX | LOCK_NB) == -1)
		return;
	(void)flock(r->spool.lockfd, LOCK_UN);

	/* posix_spawn (vfork-like, no page-table copy) in a session of its
	 * own, with default signals and only stdin/stdout/stderr open. */
	if (posix_spawn_file_actions_init(&fa) != 0)
		return;
	if (posix_spawnattr_init(&at) != 0) {
		(void)posix_spawn_file_actions_destroy(&fa);
		return;
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
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	rc |= posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	argv[0] = r->runner;
	argv[1] = (char *)(uintptr_t)"-q";
	argv[2] = (char *)(uintptr_t)"-c";
	argv[3] = r->conf_path;
	argv[4] = NULL;
	if (rc == 0 && (rc = posix_spawn(&pid, r->runner, &fa, &at, argv,
	    environ)) != 0)
		fprintf(stderr, "hookpipe.fcgi: warning: unable to start %s: %s;"
		    " events wait for cron or hookpipe-run --watch\n", r->runner,
		    strerror(rc));
	(void)posix_spawnattr_destroy(&at);
	(void)posix_spawn_file_actions_destroy(&fa);
}

void
answer_free(struct answer *a)
{
	buf_free(&a->body);
}
