/* dest_http: the destinations sent with libcurl's multi interface,
 * without blocking (the runner polls their sockets beside its handlers'
 * pipes): https:// (a POST of the body byte for byte, signed with
 * Standard Webhooks) and sqs:// (SendMessage of the JSON protocol,
 * signed with SigV4 by libcurl). Only the programs that forward link it
 * (dest_net_init); the responder never maps libcurl. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"

#ifdef HAVE_CURL
#include <curl/curl.h>
#include <json-c/json.h>

#include "auth.h"
#include "crypto.h"
#include "verify.h"

#define RESP_MAX	(64 * 1024)	/* response bytes kept */
#define BODY_MAX	(1024L * 1024 * 1024)
#define CREDS_MAX	4096

enum kind { K_HTTPS, K_SQS };

struct cjob {
	enum kind		 kind;
	CURLM			*multi;
	CURL			*easy;
	struct curl_slist	*hdrs;
	struct buf		 post;		/* the request body */
	struct buf		 resp;
	struct {
		curl_socket_t	 fd;
		short		 events;
	}			 socks[DEST_POLLFDS];
	int			 nsocks;
	int			 overflow;	/* more sockets than polled */
	int64_t			 timer;		/* mono ms curl wants; or
						   INT64_MAX */
	int64_t			 deadline;
	long			 timeout;
	char			 user[256];	/* sqs: access key id */
	char			 pass[256];	/* sqs: secret key */
	char			 errbuf[CURL_ERROR_SIZE];
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct buf	*b = arg;
	size_t		 len = size * n;

	if (b->len < RESP_MAX)
		buf_add(b, p, len < RESP_MAX - b->len ? len : RESP_MAX - b->len);
	return len;
}

/* libcurl says which sockets to wait on: kept for pollfds(). */
static int
on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct cjob	*c = arg;
	int		 i;
	short		 ev = 0;

	(void)easy;
	(void)sockp;
	for (i = 0; i < c->nsocks && c->socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < c->nsocks)
			c->socks[i] = c->socks[--c->nsocks];
		return 0;
	}
	if (what & CURL_POLL_IN)
		ev |= POLLIN;
	if (what & CURL_POLL_OUT)
		ev |= POLLOUT;
	if (i == c->nsocks) {
		if (c->nsocks == DEST_POLLFDS) {
			c->overflow = 1;	/* stepped on a short timer */
			return 0;
		}
		c->nsocks++;
	}
	c->socks[i].fd = fd;
	c->socks[i].events = ev;
	return 0;
}

static int
on_timer(CURLM *multi, long ms, void *arg)
{
	struct cjob *c = arg;

	(void)multi;
	c->timer = ms < 0 ? INT64_MAX : mono_ms() + ms;
	return 0;
}

static int
add_header(struct cjob *c, const char *h, struct err *e)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(c->hdrs, h)) == NULL)
		return err_set(e, "out of memory");
	c->hdrs = l;
	return 0;
}

/* The easy handle as both schemes want it: a POST of c->post, no
 * redirect, TLS as configured, the deadline. */
static int
setup(struct cjob *c, const char *url, const struct dest_url *u,
    const struct dest_msg *m, struct err *e)
{
	CURL	*h;
	int	 rc = 0;

	if ((c->multi = curl_multi_init()) == NULL ||
	    (c->easy = h = curl_easy_init()) == NULL)
		return err_set(e, "unable to start libcurl");
	rc |= curl_easy_setopt(h, CURLOPT_URL, url);
	rc |= curl_easy_setopt(h, CURLOPT_POST, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->post.p != NULL ?
	    c->post.p : "");
	rc |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)c->post.len);
	rc |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
	rc |= curl_easy_setopt(h, CURLOPT_USERAGENT, "hookpipe/"
	    PACKAGE_VERSION);
	/* A redirect is an answer, not a new destination: whoever moved
	 * the receiver changes forward =. */
	rc |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	rc |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, u->loopback ?
	    "http,https" : "https");
	rc |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	rc |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, m->timeout * 1000L);
	rc |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	rc |= curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->resp);
	if (m->ev->ca_file != NULL)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, m->ev->ca_file);
	if (!m->ev->tls_verify) {
		rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		rc |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	rc |= curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	rc |= curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	rc |= curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	rc |= curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	if (rc != 0)
		return err_set(e, "libcurl refused an option (libcurl 7.85 or "
		    "later is needed)");
	c->timeout = m->timeout;
	c->timer = mono_ms();
	c->deadline = mono_ms() + m->timeout * 1000 + 1000;
	if (curl_multi_add_handle(c->multi, h) != CURLM_OK)
		return err_set(e, "libcurl: unable to add the request");
	return 0;
}

/* Standard Webhooks: webhook-id, -timestamp, -signature by verify's own
 * row, with the whsec_ secret read now (rotation needs no restart). */
static int
sign_https(struct cjob *c, const struct dest_msg *m, struct err *e)
{
	struct verify		v;
	struct verify_req	in;
	struct verify_signed	sg;
	char			id[SPOOL_NAME_MAX + 80];
	size_t			i;
	int			rc = -1;

	memset(&v, 0, sizeof(v));
	memset(&sg, 0, sizeof(sg));
	v.scheme = VERIFY_STDWH;
	if (tokens_load(m->ev->secret_file, &v.secrets, e) == -1)
		goto out;
	if (v.secrets.n == 0) {
		err_set(e, "%s holds no secret", m->ev->secret_file);
		goto out;
	}
	if (crypto_load(e) == -1 || verify_sign_secrets(&v, e) == -1)
		goto out;
	memset(&in, 0, sizeof(in));
	in.body = c->post.p != NULL ? c->post.p : "";
	in.len = c->post.len;
	/* webhook-id: the same at every attempt, so that the receiver
	 * can drop a second copy. The scheme signs "id.ts.body": an id
	 * with a dot goes by its hash, a spool name with '_' for dots. */
	if (m->env->id != NULL && strchr(m->env->id, '.') == NULL &&
	    strlen(m->env->id) < sizeof(id))
		(void)snprintf(id, sizeof(id), "%s", m->env->id);
	else if (m->env->id != NULL) {
		(void)snprintf(id, sizeof(id), "sha256_");
		if (verify_sha256_hex(m->env->id, strlen(m->env->id), id +
		    7) == -1) {
			err_set(e, "cannot hash the event id");
			goto out;
		}
	} else {
		(void)snprintf(id, sizeof(id), "%s", m->name);
		for (i = 0; id[i] != '\0'; i++)
			if (id[i] == '.')
				id[i] = '_';
	}
	in.id = id;
	in.ts = (long long)time(NULL);
	if (verify_sign(&v, &in, &sg, e) == -1)
		goto out;
	for (i = 0; i < sg.nhdr; i++)
		if (add_header(c, buf_cstr(&sg.hdr[i]), e) == -1)
			goto out;
	rc = 0;
out:
	verify_signed_free(&sg);
	verify_free(&v);
	return rc;
}

static int
start_https(struct dest_job *j, const struct dest_url *u,
    const struct dest_msg *m, struct err *e)
{
	struct cjob	*c;
	struct buf	 ct = { 0 };

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_sys(e, "out of memory");
	j->st = c;
	c->kind = K_HTTPS;
	if (dest_read_body(m->body, &c->post, BODY_MAX, "forward", e) == -1 ||
	    sign_https(c, m, e) == -1)
		return -1;
	buf_printf(&ct, "Content-Type: %s", m->env->content_type != NULL ?
	    m->env->content_type : "application/json");
	if (ct.oom || add_header(c, buf_cstr(&ct), e) == -1 ||
	    add_header(c, "Expect:", e) == -1) {
		buf_free(&ct);
		return err_set(e, "out of memory");
	}
	buf_free(&ct);
	return setup(c, m->ev->forward, u, m, e);
}

/* aws_access_key_id, aws_secret_access_key (and aws_session_token) as
 * ~/.aws/credentials writes them; [sections] and comments skipped. */
static int
load_creds(const char *path, struct cjob *c, char *token, size_t tlen,
    struct err *e)
{
	char	*text = NULL, *line, *save, *eq, *k, *v, *end;
	size_t	 len;
	int	 rc = -1;

	*token = '\0';
	if (read_file(path, CREDS_MAX, &text, &len, e) == -1)
		return -1;
	for (line = strtok_r(text, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if ((eq = strchr(line, '=')) == NULL)
			continue;
		*eq = '\0';
		for (k = line; *k == ' ' || *k == '\t'; k++)
			;
		for (end = eq; end > k && (end[-1] == ' ' ||
		    end[-1] == '\t'); end--)
			*(end - 1) = '\0';
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		for (end = v + strlen(v); end > v && (end[-1] == ' ' ||
		    end[-1] == '\t' || end[-1] == '\r'); end--)
			*(end - 1) = '\0';
		if (strcmp(k, "aws_access_key_id") == 0)
			(void)snprintf(c->user, sizeof(c->user), "%s", v);
		else if (strcmp(k, "aws_secret_access_key") == 0)
			(void)snprintf(c->pass, sizeof(c->pass), "%s", v);
		else if (strcmp(k, "aws_session_token") == 0)
			(void)snprintf(token, tlen, "%s", v);
	}
	if (c->user[0] == '\0' || c->pass[0] == '\0')
		err_set(e, "%s lacks aws_access_key_id or "
		    "aws_secret_access_key", path);
	else
		rc = 0;
	wipe(text, len);
	free(text);
	return rc;
}

static void
attr(json_object *attrs, const char *name, const char *type,
    const char *value)
{
	json_object *a;

	if (value == NULL || *value == '\0')
		return;		/* SQS refuses an empty value */
	a = json_object_new_object();
	json_object_object_add(a, "DataType", json_object_new_string(type));
	json_object_object_add(a, "StringValue",
	    json_object_new_string(value));
	json_object_object_add(attrs, name, a);
}

/* SendMessage's JSON: the body as MessageBody, the envelope as
 * attributes, and on a FIFO queue the event id as the deduplication id
 * (SQS drops a second copy within 5 minutes). */
static int
sqs_json(struct cjob *c, const struct dest_url *u, const char *queue_url,
    const struct dest_msg *m, struct err *e)
{
	json_object	*o, *attrs;
	const char	*text, *dedup;
	char		 n[16], hash[65];
	int		 rc = 0;

	o = json_object_new_object();
	attrs = json_object_new_object();
	json_object_object_add(o, "QueueUrl",
	    json_object_new_string(queue_url));
	json_object_object_add(o, "MessageBody", json_object_new_string_len(
	    c->post.p != NULL ? c->post.p : "", (int)c->post.len));
	attr(attrs, "event", "String", m->env->event);
	attr(attrs, "endpoint", "String", m->env->endpoint);
	attr(attrs, "id", "String", m->env->id);
	attr(attrs, "request_id", "String", m->env->request_id);
	attr(attrs, "received_at", "String", m->env->received_at);
	attr(attrs, "content_type", "String", m->env->content_type);
	(void)snprintf(n, sizeof(n), "%d", m->attempt);
	attr(attrs, "attempt", "Number", n);
	json_object_object_add(o, "MessageAttributes", attrs);
	if (u->fifo) {
		dedup = m->env->id != NULL ? m->env->id : m->name;
		/* At most 128 characters: a longer id by its hash. */
		if (strlen(dedup) > 128) {
			if (verify_sha256_hex(dedup, strlen(dedup), hash) == -1)
				rc = err_set(e, "cannot hash the event id");
			dedup = hash;
		}
		json_object_object_add(o, "MessageDeduplicationId",
		    json_object_new_string(dedup));
		json_object_object_add(o, "MessageGroupId",
		    json_object_new_string(m->env->event));
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	buf_reset(&c->post);
	buf_puts(&c->post, text);
	if (c->post.oom)
		rc = err_set(e, "out of memory");
	json_object_put(o);
	return rc;
}

static int
start_sqs(struct dest_job *j, const struct dest_url *u,
    const struct dest_msg *m, struct err *e)
{
	struct cjob	*c;
	struct buf	 base = { 0 }, qurl = { 0 }, post = { 0 }, sigv4 = { 0 };
	char		 token[2048];
	size_t		 n;
	int		 rc = -1;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_sys(e, "out of memory");
	j->st = c;
	c->kind = K_SQS;
	if (load_creds(m->ev->credentials_file, c, token, sizeof(token), e) ==
	    -1 ||
	    dest_read_body(m->body, &c->post, BODY_MAX, "forward", e) == -1)
		goto out;
	if (m->ev->endpoint_url != NULL) {
		buf_puts(&base, m->ev->endpoint_url);
		n = base.len;
		while (n > 0 && base.p[n - 1] == '/')
			n--;
		base.len = n;
	} else
		buf_printf(&base, "https://%s", u->host);
	buf_printf(&qurl, "%s%s", buf_cstr(&base), u->path);
	buf_printf(&post, "%s/", buf_cstr(&base));
	buf_printf(&sigv4, "aws:amz:%s:sqs", u->region);
	if (base.oom || qurl.oom || post.oom || sigv4.oom) {
		err_set(e, "out of memory");
		goto out;
	}
	/* No "Expect:" here: libcurl would sign the header it removes,
	 * and AWS would not find it in the request. */
	if (sqs_json(c, u, buf_cstr(&qurl), m, e) == -1 ||
	    add_header(c, "Content-Type: application/x-amz-json-1.0", e) ==
	    -1 || add_header(c, "X-Amz-Target: AmazonSQS.SendMessage", e) ==
	    -1)
		goto out;
	if (token[0] != '\0') {
		struct buf h = { 0 };

		buf_printf(&h, "X-Amz-Security-Token: %s", token);
		rc = h.oom ? err_set(e, "out of memory") :
		    add_header(c, buf_cstr(&h), e);
		wipe(h.p, h.len);
		buf_free(&h);
		if (rc == -1)
			goto out;
		rc = -1;
	}
	{
		/* The URL checks of endpoint_url are those of forward. */
		struct dest_url	eu = *u;
		struct err	e2;

		if (m->ev->endpoint_url != NULL &&
		    dest_parse(m->ev->endpoint_url, &eu, &e2) == -1) {
			err_set(e, "endpoint_url: %s", e2.msg);
			goto out;
		}
		if (setup(c, buf_cstr(&post), &eu, m, e) == -1)
			goto out;
	}
	if (curl_easy_setopt(c->easy, CURLOPT_AWS_SIGV4, buf_cstr(&sigv4)) !=
	    CURLE_OK || curl_easy_setopt(c->easy, CURLOPT_USERNAME, c->user) !=
	    CURLE_OK || curl_easy_setopt(c->easy, CURLOPT_PASSWORD, c->pass) !=
	    CURLE_OK) {
		err_set(e, "libcurl cannot sign with SigV4 (7.75 or later)");
		goto out;
	}
	rc = 0;
out:
	wipe(token, sizeof(token));
	buf_free(&base);
	buf_free(&qurl);
	buf_free(&post);
	buf_free(&sigv4);
	return rc;
}

static int
c_pollfds(struct dest_job *j, struct pollfd *p)
{
	struct cjob	*c = j->st;
	int		 i;

	for (i = 0; i < c->nsocks; i++) {
		p[i].fd = c->socks[i].fd;
		p[i].events = c->socks[i].events;
		p[i].revents = 0;
	}
	return c->nsocks;
}

static int64_t
c_wake(const struct dest_job *j)
{
	const struct cjob	*c = j->st;
	int64_t			 w = c->timer < c->deadline ? c->timer :
				    c->deadline;

	if (c->overflow && mono_ms() + 50 < w)
		w = mono_ms() + 50;
	return w;
}

/* The printable start of an answer, for the log. */
static void
snippet(const struct buf *b, char *out, size_t len)
{
	size_t	i, n = 0;

	for (i = 0; i < b->len && n + 1 < len && n < 160; i++)
		out[n++] = (b->p[i] >= ' ' && b->p[i] < 0x7f) ? b->p[i] : ' ';
	out[n] = '\0';
}

/* 429, 503 and the like: retry, at the time the answer named. */
static void
retry_after(struct dest_job *j, CURL *h, char *note, size_t len)
{
	curl_off_t secs = -1;

	*note = '\0';
	/* libcurl says 0 for no (or a past) Retry-After: the backoff. */
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &secs) == CURLE_OK &&
	    secs > 0) {
		j->due_us = now_us() + (int64_t)secs * 1000000;
		(void)snprintf(note, len, "; Retry-After %llds",
		    (long long)secs);
	}
}

static int
https_result(struct dest_job *j, struct cjob *c, long status)
{
	char	note[64], text[161], *loc = NULL;

	snippet(&c->resp, text, sizeof(text));
	if (status >= 200 && status < 300)
		return dest_done(j, HANDLER_EXIT_OK, 0, "HTTP %ld", status);
	if (status == 410)
		return dest_done(j, HANDLER_EXIT_PERMFAIL, 0, "HTTP 410 Gone: "
		    "the receiver wants no more events: %s", text);
	if (status == 429 || status >= 500) {
		retry_after(j, c->easy, note, sizeof(note));
		return dest_done(j, HANDLER_EXIT_TEMPFAIL, 0, "HTTP %ld%s: %s",
		    status, note, text);
	}
	if (status >= 300 && status < 400) {
		(void)curl_easy_getinfo(c->easy, CURLINFO_REDIRECT_URL, &loc);
		return dest_done(j, 1, 0, "HTTP %ld: a redirect (to %s) is not "
		    "followed: correct forward =", status, loc != NULL ? loc :
		    "nowhere");
	}
	if (status >= 400)
		return dest_done(j, HANDLER_EXIT_PERMFAIL, 0, "HTTP %ld "
		    "(permanent): %s", status, text);
	return dest_done(j, 1, 0, "HTTP %ld: not an answer to a POST",
	    status);
}

static int
sqs_result(struct dest_job *j, struct cjob *c, long status)
{
	json_object	*o = NULL, *v;
	const char	*type = "";
	char		 note[64], text[161];
	int		 rc;

	snippet(&c->resp, text, sizeof(text));
	if (c->resp.len > 0)
		o = json_tokener_parse(buf_cstr(&c->resp));
	if (o != NULL && json_object_object_get_ex(o, "__type", &v) &&
	    json_object_is_type(v, json_type_string))
		type = json_object_get_string(v);
	if (status == 200 && o != NULL &&
	    json_object_object_get_ex(o, "MessageId", &v) &&
	    json_object_is_type(v, json_type_string))
		rc = dest_done(j, HANDLER_EXIT_OK, 0, "HTTP 200, MessageId %s",
		    json_object_get_string(v));
	else if (status == 200)
		rc = dest_done(j, 1, 0, "HTTP 200 without a MessageId: %s",
		    text);
	else if (status == 429 || status >= 500 ||
	    strstr(type, "Throttl") != NULL ||
	    strstr(type, "RequestThrottled") != NULL) {
		retry_after(j, c->easy, note, sizeof(note));
		rc = dest_done(j, HANDLER_EXIT_TEMPFAIL, 0, "HTTP %ld%s: %s",
		    status, note, text);
	} else if (status >= 400)
		rc = dest_done(j, HANDLER_EXIT_PERMFAIL, 0, "HTTP %ld "
		    "(permanent): %s", status, text);
	else
		rc = dest_done(j, 1, 0, "HTTP %ld: %s", status, text);
	if (o != NULL)
		json_object_put(o);
	return rc;
}

static int
c_step(struct dest_job *j)
{
	struct cjob	*c = j->st;
	CURLMsg		*msg;
	CURLcode	 cc;
	long		 status = 0;
	int		 running, left;

	if (curl_multi_perform(c->multi, &running) != CURLM_OK)
		return dest_done(j, 1, 0, "libcurl failed");
	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		cc = msg->data.result;
		if (cc == CURLE_OPERATION_TIMEDOUT)
			return dest_done(j, 1, 1, "no answer within %lds: %s",
			    c->timeout, c->errbuf);
		if (cc != CURLE_OK)
			return dest_done(j, 1, 0, "%s%s%s%s",
			    cc == CURLE_PEER_FAILED_VERIFICATION ||
			    cc == CURLE_SSL_CACERT_BADFILE ||
			    cc == CURLE_SSL_CONNECT_ERROR ? "TLS: " : "",
			    curl_easy_strerror(cc), c->errbuf[0] ? ": " : "",
			    c->errbuf);
		(void)curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE,
		    &status);
		return c->kind == K_SQS ? sqs_result(j, c, status) :
		    https_result(j, c, status);
	}
	if (mono_ms() >= c->deadline)
		return dest_done(j, 1, 1, "no answer within %lds", c->timeout);
	return 0;
}

static void
c_cancel(struct dest_job *j)
{
	struct cjob *c = j->st;

	if (c == NULL)
		return;
	if (c->multi != NULL && c->easy != NULL)
		(void)curl_multi_remove_handle(c->multi, c->easy);
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	if (c->multi != NULL)
		(void)curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->hdrs);
	buf_free(&c->post);
	buf_free(&c->resp);
	wipe(c->user, sizeof(c->user));
	wipe(c->pass, sizeof(c->pass));
	free(c);
	j->st = NULL;
}

static const struct dest_ops https_ops = {
	"https", start_https, c_pollfds, c_wake, c_step, c_cancel
};
static const struct dest_ops http_ops = {
	"http", start_https, c_pollfds, c_wake, c_step, c_cancel
};
static const struct dest_ops sqs_ops = {
	"sqs", start_sqs, c_pollfds, c_wake, c_step, c_cancel
};
#endif /* HAVE_CURL */

/* The schemes this build sends to (amqp:// from lib/dest_amqp.c). */
void
dest_net_init(void)
{
	static int	done;

	if (done++)
		return;
#ifdef HAVE_RABBITMQ
	dest_amqp_init();
#endif
#ifdef HAVE_CURL
	/* Before any other thread: there is none in hookpipe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return;		/* then dest_start says it cannot */
	dest_register(&https_ops);
	dest_register(&http_ops);
	dest_register(&sqs_ops);
#endif
}
