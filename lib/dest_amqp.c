/* dest_amqp: forward = amqp[s]://USER@HOST[:PORT][/VHOST], publishing
 * each event to RabbitMQ as a persistent, mandatory message on a channel
 * in confirm mode; the event counts as sent only once the broker's
 * basic.ack for its delivery tag arrived (a basic.return before it, a
 * basic.nack, a closed channel or connection: try again later). One
 * connection per destination and process, kept across events: every
 * event of the runner's slots is published at once and their confirms
 * are read as they come (a publish window of the runner's 64 slots: an
 * event that only publishes takes no place of `concurrency`).
 * The message format is hookpipe-amqp(7). Linked by the runner only. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dest.h"

#ifdef HAVE_RABBITMQ
#include <amqp.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#define MAX_CONNS	8
#define BODY_MAX	(128L * 1024 * 1024)	/* RabbitMQ's own limit */
#define PASS_MAX	1024
#define FRAME_MAX	131072
#define CONNECT_MAX_MS	10000	/* connect + login, at most */
#define BACKOFF_MIN_MS	1000	/* after a failed connect ... */
#define BACKOFF_MAX_MS	30000	/* ... doubling up to this */
#define NHEADERS	8
#define CHANNEL		1

enum ajstate { AJ_QUEUED, AJ_SENT, AJ_DONE };

struct aconn;

/* One event being published. */
struct ajob {
	struct aconn		*ac;
	struct ajob		*next;		/* the connection's jobs */
	enum ajstate		 state;
	uint64_t		 tag;		/* delivery tag once sent */
	int			 returned;	/* a basic.return came */
	char			 retwhy[160];
	int			 code;		/* once AJ_DONE */
	int			 timed_out;
	char			 why[384];
	int64_t			 deadline;	/* mono ms */
	long			 timeout;
	struct buf		 body;
	char			*exchange;
	char			*rkey;
	char			 msgid[SPOOL_KEY_MAX];
	char			*ctype;
	char			*event, *endpoint, *id, *reqid, *name;
	int64_t			 received_us;
	int			 attempt;
};

/* One broker connection (per URL, vhost and credentials), kept for the
 * life of the process. */
struct aconn {
	char			 key[1600];
	struct dest_url		 u;
	char			*secret_file;
	char			*ca_file;
	int			 tls_verify;
	amqp_connection_state_t	 conn;		/* NULL: not connected */
	uint64_t		 next_tag;
	struct ajob		*jobs;
	int64_t			 retry_at;	/* mono ms: no connect before */
	int64_t			 backoff;	/* ms */
	char			 lasterr[256];
	/* a basic.return being read: its header, then its body */
	int			 ret_state;	/* 0 none, 1 header, 2 body */
	uint64_t		 ret_left;
	char			 ret_name[SPOOL_NAME_MAX];
	char			 ret_why[160];
};

static struct aconn	*conns[MAX_CONNS];

static void
finish(struct ajob *aj, int code, int timed_out, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
finish(struct ajob *aj, int code, int timed_out, const char *fmt, ...)
{
	va_list ap;

	if (aj->state == AJ_DONE)
		return;
	aj->state = AJ_DONE;
	aj->code = code;
	aj->timed_out = timed_out;
	va_start(ap, fmt);
	(void)vsnprintf(aj->why, sizeof(aj->why), fmt, ap);
	va_end(ap);
}

static const char *
rpc_why(amqp_rpc_reply_t r, char *out, size_t len)
{
	amqp_connection_close_t	*cc;
	amqp_channel_close_t	*ch;

	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		(void)snprintf(out, len, "no error");
		break;
	case AMQP_RESPONSE_NONE:
		(void)snprintf(out, len, "no answer from the broker");
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		(void)snprintf(out, len, "%s",
		    amqp_error_string2(r.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			cc = r.reply.decoded;
			(void)snprintf(out, len, "the broker closed the "
			    "connection: %u %.*s", cc->reply_code,
			    (int)cc->reply_text.len,
			    (const char *)cc->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			ch = r.reply.decoded;
			(void)snprintf(out, len, "the broker closed the "
			    "channel: %u %.*s", ch->reply_code,
			    (int)ch->reply_text.len,
			    (const char *)ch->reply_text.bytes);
		} else
			(void)snprintf(out, len, "broker error (method "
			    "0x%08x)", r.reply.id);
		break;
	}
	return out;
}

/* The connection is gone or unusable: every event on it that is not
 * confirmed is a temporary failure (it stays in the spool), and the next
 * connect waits `wait` ms. */
static void
conn_fail(struct aconn *ac, int64_t wait, const char *why)
{
	struct ajob	*aj;

	(void)snprintf(ac->lasterr, sizeof(ac->lasterr), "%s", why);
	for (aj = ac->jobs; aj != NULL; aj = aj->next)
		finish(aj, HANDLER_EXIT_TEMPFAIL, 0, "%s %s:%d: %s",
		    aj->state == AJ_SENT ? "not confirmed by" : "not sent to",
		    ac->u.host, ac->u.port, why);
	if (ac->conn != NULL) {
		/* No goodbye: the broker may be gone; the socket closes. */
		(void)amqp_destroy_connection(ac->conn);
		ac->conn = NULL;
	}
	ac->ret_state = 0;
	ac->retry_at = mono_ms() + wait;
}

/* The password: the first line of secret_file, read at each connect (a
 * rotation needs no restart). */
static int
read_pass(const char *path, char *pass, size_t len, struct err *e)
{
	char	*text = NULL;
	size_t	 n, i;

	if (read_file(path, PASS_MAX, &text, &n, e) == -1)
		return -1;
	for (i = 0; i < n && text[i] != '\n' && text[i] != '\r'; i++)
		;
	if (i == 0 || i >= len) {
		wipe(text, n);
		free(text);
		return err_set(e, "%s: the password must be its first line, "
		    "1 to %zu bytes", path, len - 1);
	}
	memcpy(pass, text, i);
	pass[i] = '\0';
	wipe(text, n);
	free(text);
	return 0;
}

/* Connect, log in, open the channel, confirm.select: blocking, bounded
 * by `ms` (a connect to a broker that is down fails at once on
 * loopback; a silent host costs at most that long). */
static int
conn_open(struct aconn *ac, int64_t ms, struct err *e)
{
	amqp_socket_t		*sock;
	amqp_rpc_reply_t	 r;
	struct timeval		 tv;
	char			 pass[PASS_MAX], why[256];
	int			 rc;

	if (ms < 500)
		ms = 500;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	if (ac->secret_file == NULL)
		(void)snprintf(pass, sizeof(pass), "guest");
	else if (read_pass(ac->secret_file, pass, sizeof(pass), e) == -1)
		return -1;
	if ((ac->conn = amqp_new_connection()) == NULL) {
		wipe(pass, sizeof(pass));
		return err_set(e, "out of memory");
	}
	sock = ac->u.tls ? amqp_ssl_socket_new(ac->conn) :
	    amqp_tcp_socket_new(ac->conn);
	if (sock == NULL) {
		wipe(pass, sizeof(pass));
		return err_set(e, "unable to make a%s socket", ac->u.tls ?
		    " TLS" : "");
	}
	if (ac->u.tls) {
		if (ac->ca_file != NULL &&
		    amqp_ssl_socket_set_cacert(sock, ac->ca_file) !=
		    AMQP_STATUS_OK) {
			wipe(pass, sizeof(pass));
			return err_set(e, "ca_file %s: cannot load it",
			    ac->ca_file);
		}
		amqp_ssl_socket_set_verify_peer(sock, ac->tls_verify);
		amqp_ssl_socket_set_verify_hostname(sock, ac->tls_verify);
	}
	(void)amqp_set_handshake_timeout(ac->conn, &tv);
	(void)amqp_set_rpc_timeout(ac->conn, &tv);
	if ((rc = amqp_socket_open_noblock(sock, ac->u.host, ac->u.port,
	    &tv)) != AMQP_STATUS_OK) {
		wipe(pass, sizeof(pass));
		return err_set(e, "cannot connect: %s", amqp_error_string2(rc));
	}
	r = amqp_login(ac->conn, ac->u.vhost, 0, FRAME_MAX, 0,
	    AMQP_SASL_METHOD_PLAIN, ac->u.user, pass);
	wipe(pass, sizeof(pass));
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return err_set(e, "login as %s to vhost %s: %s", ac->u.user,
		    ac->u.vhost, rpc_why(r, why, sizeof(why)));
	if (amqp_channel_open(ac->conn, CHANNEL) == NULL) {
		r = amqp_get_rpc_reply(ac->conn);
		return err_set(e, "channel.open: %s", rpc_why(r, why,
		    sizeof(why)));
	}
	if (amqp_confirm_select(ac->conn, CHANNEL) == NULL) {
		r = amqp_get_rpc_reply(ac->conn);
		return err_set(e, "confirm.select: %s", rpc_why(r, why,
		    sizeof(why)));
	}
	/* Confirms come as the broker makes them: rpc waits are over. */
	ac->next_tag = 1;
	ac->ret_state = 0;
	return 0;
}

static void
hdr_str(amqp_table_entry_t *t, const char *k, const char *v)
{
	t->key = amqp_cstring_bytes(k);
	t->value.kind = AMQP_FIELD_KIND_UTF8;
	t->value.value.bytes = amqp_cstring_bytes(v != NULL ? v : "");
}

static void
hdr_int(amqp_table_entry_t *t, const char *k, int64_t v)
{
	t->key = amqp_cstring_bytes(k);
	t->value.kind = AMQP_FIELD_KIND_I64;
	t->value.value.i64 = v;
}

/* basic.publish of one event (the contract of hookpipe-amqp(7)). */
static int
publish(struct aconn *ac, struct ajob *aj)
{
	amqp_basic_properties_t	p;
	amqp_table_entry_t	h[NHEADERS];
	amqp_bytes_t		body;
	char			shard[8];

	memset(&p, 0, sizeof(p));
	hdr_str(&h[0], "hookpipe-event", aj->event);
	hdr_str(&h[1], "hookpipe-endpoint", aj->endpoint);
	hdr_str(&h[2], "hookpipe-id", aj->id);
	hdr_str(&h[3], "hookpipe-request-id", aj->reqid);
	hdr_int(&h[4], "hookpipe-received-us", aj->received_us);
	hdr_int(&h[5], "hookpipe-attempt", aj->attempt);
	hdr_str(&h[6], "hookpipe-spool-name", aj->name);
	/* What a shard exchange routes on: one id, one worker's queue. */
	(void)snprintf(shard, sizeof(shard), "%u", shard_of(aj->msgid));
	hdr_str(&h[7], "hookpipe-shard", shard);
	p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
	    AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TIMESTAMP_FLAG |
	    AMQP_BASIC_HEADERS_FLAG;
	p.content_type = amqp_cstring_bytes(aj->ctype);
	p.delivery_mode = AMQP_DELIVERY_PERSISTENT;
	p.message_id = amqp_cstring_bytes(aj->msgid);
	p.timestamp = (uint64_t)(aj->received_us / 1000000);
	p.headers.num_entries = NHEADERS;
	p.headers.entries = h;
	body.len = aj->body.len;
	body.bytes = aj->body.p != NULL ? aj->body.p : (void *)"";
	return amqp_basic_publish(ac->conn, CHANNEL,
	    amqp_cstring_bytes(aj->exchange), amqp_cstring_bytes(aj->rkey),
	    1, 0, &p, body);
}

/* A basic.return's properties name the entry it was (our header). */
static void
ret_header(struct aconn *ac, const amqp_frame_t *f)
{
	const amqp_basic_properties_t	*p = f->payload.properties.decoded;
	const amqp_table_entry_t	*t;
	int				 i;

	ac->ret_name[0] = '\0';
	ac->ret_left = f->payload.properties.body_size;
	ac->ret_state = ac->ret_left > 0 ? 2 : 0;
	if (p == NULL || !(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		goto mark;
	for (i = 0; i < p->headers.num_entries; i++) {
		t = &p->headers.entries[i];
		if (t->key.len == strlen("hookpipe-spool-name") &&
		    memcmp(t->key.bytes, "hookpipe-spool-name", t->key.len) ==
		    0 && (t->value.kind == AMQP_FIELD_KIND_UTF8 ||
		    t->value.kind == AMQP_FIELD_KIND_BYTES) &&
		    t->value.value.bytes.len > 0 &&
		    t->value.value.bytes.len < sizeof(ac->ret_name)) {
			memcpy(ac->ret_name, t->value.value.bytes.bytes,
			    t->value.value.bytes.len);
			ac->ret_name[t->value.value.bytes.len] = '\0';
		}
	}
mark:
	{
		struct ajob *aj;

		/* Its basic.ack follows; the event is then retried. */
		for (aj = ac->jobs; aj != NULL; aj = aj->next)
			if (aj->state == AJ_SENT && strcmp(aj->name,
			    ac->ret_name) == 0) {
				aj->returned = 1;
				(void)snprintf(aj->retwhy, sizeof(aj->retwhy),
				    "%s", ac->ret_why);
			}
	}
}

/* basic.ack / basic.nack for tag (and every earlier one: multiple). */
static void
confirm(struct aconn *ac, uint64_t tag, int multiple, int ack)
{
	struct ajob *aj;

	for (aj = ac->jobs; aj != NULL; aj = aj->next) {
		if (aj->state != AJ_SENT ||
		    !(aj->tag == tag || (multiple && aj->tag < tag)))
			continue;
		if (!ack)
			finish(aj, HANDLER_EXIT_TEMPFAIL, 0, "basic.nack: the "
			    "broker did not take it (a queue full with "
			    "overflow = reject-publish?)");
		else if (aj->returned)
			finish(aj, HANDLER_EXIT_TEMPFAIL, 0, "unroutable: "
			    "returned by the broker (%s): exchange '%s' has "
			    "no queue bound for routing key '%s'", aj->retwhy,
			    aj->exchange, aj->rkey);
		else
			finish(aj, HANDLER_EXIT_OK, 0, "confirmed by %s:%d, "
			    "delivery tag %llu", ac->u.host, ac->u.port,
			    (unsigned long long)aj->tag);
	}
}

/* One frame from the broker. */
static void
frame(struct aconn *ac, const amqp_frame_t *f)
{
	char			 why[256];
	amqp_channel_close_t	*ch;
	amqp_connection_close_t	*cc;
	amqp_basic_return_t	*rt;
	amqp_basic_ack_t	*a;
	amqp_basic_nack_t	*n;

	if (f->frame_type == AMQP_FRAME_HEADER && ac->ret_state == 1) {
		ret_header(ac, f);
		return;
	}
	if (f->frame_type == AMQP_FRAME_BODY && ac->ret_state == 2) {
		ac->ret_left -= f->payload.body_fragment.len <
		    ac->ret_left ? f->payload.body_fragment.len : ac->ret_left;
		if (ac->ret_left == 0)
			ac->ret_state = 0;
		return;
	}
	if (f->frame_type != AMQP_FRAME_METHOD)
		return;		/* heartbeats */
	switch (f->payload.method.id) {
	case AMQP_BASIC_ACK_METHOD:
		a = f->payload.method.decoded;
		confirm(ac, a->delivery_tag, a->multiple, 1);
		break;
	case AMQP_BASIC_NACK_METHOD:
		n = f->payload.method.decoded;
		confirm(ac, n->delivery_tag, n->multiple, 0);
		break;
	case AMQP_BASIC_RETURN_METHOD:
		rt = f->payload.method.decoded;
		(void)snprintf(ac->ret_why, sizeof(ac->ret_why), "%u %.*s",
		    rt->reply_code, (int)rt->reply_text.len,
		    (const char *)rt->reply_text.bytes);
		ac->ret_state = 1;
		break;
	case AMQP_CHANNEL_CLOSE_METHOD:
		ch = f->payload.method.decoded;
		(void)snprintf(why, sizeof(why), "the broker closed the "
		    "channel: %u %.*s", ch->reply_code,
		    (int)ch->reply_text.len, (const char *)ch->reply_text.bytes);
		/* The broker is there: connect again at the next event. */
		conn_fail(ac, 0, why);
		break;
	case AMQP_CONNECTION_CLOSE_METHOD:
		cc = f->payload.method.decoded;
		(void)snprintf(why, sizeof(why), "the broker closed the "
		    "connection: %u %.*s", cc->reply_code,
		    (int)cc->reply_text.len, (const char *)cc->reply_text.bytes);
		conn_fail(ac, BACKOFF_MIN_MS, why);
		break;
	default:
		break;		/* connection.blocked and the like */
	}
}

/* Read every frame there is, without waiting. */
static void
conn_read(struct aconn *ac)
{
	amqp_frame_t	f;
	struct timeval	zero = { 0, 0 };
	int		rc;
	char		why[160];

	while (ac->conn != NULL) {
		rc = amqp_simple_wait_frame_noblock(ac->conn, &f, &zero);
		if (rc == AMQP_STATUS_TIMEOUT)
			break;
		if (rc != AMQP_STATUS_OK) {
			(void)snprintf(why, sizeof(why), "connection lost: %s",
			    amqp_error_string2(rc));
			conn_fail(ac, BACKOFF_MIN_MS, why);
			return;
		}
		frame(ac, &f);
	}
	if (ac->conn != NULL)
		amqp_maybe_release_buffers(ac->conn);
}

/* Move the connection on: connect if events wait (and the backoff
 * allows), publish what is queued, read the confirms that came. */
static void
conn_pump(struct aconn *ac)
{
	struct ajob	*aj;
	struct err	 e;
	int64_t		 now = mono_ms(), ms = CONNECT_MAX_MS;
	int		 queued = 0, rc;
	char		 why[300];

	for (aj = ac->jobs; aj != NULL; aj = aj->next)
		if (aj->state == AJ_QUEUED) {
			queued = 1;
			if (aj->deadline - now < ms)
				ms = aj->deadline - now;
		}
	if (ac->conn == NULL && queued && now >= ac->retry_at) {
		if (conn_open(ac, ms, &e) == -1) {
			ac->backoff = ac->backoff == 0 ? BACKOFF_MIN_MS :
			    ac->backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS :
			    ac->backoff * 2;
			conn_fail(ac, ac->backoff, e.msg);
			return;
		}
		ac->backoff = 0;
		ac->lasterr[0] = '\0';
	}
	if (ac->conn == NULL) {
		/* In the backoff: the event goes back to the spool at once,
		 * where the runner's own rules (retry/, backoff, dead
		 * letter) apply; it does not sit in cur/ for the broker. */
		for (aj = ac->jobs; aj != NULL; aj = aj->next)
			if (aj->state == AJ_QUEUED)
				finish(aj, HANDLER_EXIT_TEMPFAIL, 0, "broker %s:%d "
				    "unreachable (%s); next connect in %llds",
				    ac->u.host, ac->u.port, ac->lasterr,
				    (long long)(ac->retry_at - now + 999) /
				    1000);
		return;
	}
	for (aj = ac->jobs; aj != NULL && ac->conn != NULL; aj = aj->next) {
		if (aj->state != AJ_QUEUED)
			continue;
		if ((rc = publish(ac, aj)) != AMQP_STATUS_OK) {
			(void)snprintf(why, sizeof(why), "basic.publish: %s",
			    amqp_error_string2(rc));
			conn_fail(ac, BACKOFF_MIN_MS, why);
			return;
		}
		aj->state = AJ_SENT;
		aj->tag = ac->next_tag++;
	}
	conn_read(ac);
}

/* The connection for this destination, made on first use. */
static struct aconn *
conn_get(const struct dest_url *u, const struct dest_msg *m, struct err *e)
{
	char	key[sizeof(((struct aconn *)0)->key)];
	int	i, n;

	n = snprintf(key, sizeof(key), "%s://%s@%s:%d/%s|%s|%s|%d", u->scheme,
	    u->user, u->host, u->port, u->vhost, m->ev->secret_file,
	    m->ev->ca_file != NULL ? m->ev->ca_file : "", m->ev->tls_verify);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		err_set(e, "the destination is too long");
		return NULL;
	}
	for (i = 0; i < MAX_CONNS && conns[i] != NULL; i++)
		if (strcmp(conns[i]->key, key) == 0)
			return conns[i];
	if (i == MAX_CONNS) {
		err_set(e, "more than %d AMQP destinations in one runner",
		    MAX_CONNS);
		return NULL;
	}
	if ((conns[i] = calloc(1, sizeof(*conns[i]))) == NULL ||
	    (conns[i]->secret_file = strdup(m->ev->secret_file)) == NULL ||
	    (m->ev->ca_file != NULL && (conns[i]->ca_file =
	    strdup(m->ev->ca_file)) == NULL)) {
		if (conns[i] != NULL)
			free(conns[i]->secret_file);
		free(conns[i]);
		conns[i] = NULL;
		err_sys(e, "out of memory");
		return NULL;
	}
	(void)snprintf(conns[i]->key, sizeof(conns[i]->key), "%s", key);
	conns[i]->u = *u;
	conns[i]->tls_verify = m->ev->tls_verify;
	return conns[i];
}

static char *
dupe(const char *s, int *oom)
{
	char *d = strdup(s != NULL ? s : "");

	if (d == NULL)
		*oom = 1;
	return d;
}

static int
a_start(struct dest_job *j, const struct dest_url *u,
    const struct dest_msg *m, struct err *e)
{
	struct ajob	*aj, **pp;
	struct aconn	*ac;
	int		 oom = 0;

	if ((ac = conn_get(u, m, e)) == NULL)
		return -1;
	if ((aj = calloc(1, sizeof(*aj))) == NULL)
		return err_sys(e, "out of memory");
	j->st = aj;
	if (dest_read_body(m->body, &aj->body, BODY_MAX, "publish", e) == -1)
		return -1;
	/* Without `exchange`, the one hookpipe-worker declares by default
	 * ([worker] exchange): a receiver and its workers configured with
	 * no exchange at all meet there. */
	aj->exchange = dupe(m->ev->exchange != NULL ? m->ev->exchange :
	    DEST_AMQP_EXCHANGE, &oom);
	aj->rkey = dupe(m->ev->routing_key != NULL ? m->ev->routing_key :
	    m->env->event, &oom);
	aj->ctype = dupe(m->env->content_type != NULL ?
	    m->env->content_type : "application/json", &oom);
	aj->event = dupe(m->env->event, &oom);
	aj->endpoint = dupe(m->env->endpoint, &oom);
	aj->id = dupe(m->env->id, &oom);
	aj->reqid = dupe(m->env->request_id, &oom);
	aj->name = dupe(m->name, &oom);
	if (oom)
		return err_set(e, "out of memory");
	/* The dedupe key a consumer drops a second copy by: the sender's
	 * id (per endpoint), or the entry, unique, when it gave none. */
	if (m->env->id == NULL || spool_id_key(m->env->endpoint, m->env->id,
	    aj->msgid) == -1)
		(void)snprintf(aj->msgid, sizeof(aj->msgid), "%s", m->name);
	aj->received_us = m->env->received_us;
	aj->attempt = m->attempt;
	aj->timeout = m->timeout;
	aj->deadline = mono_ms() + m->timeout * 1000;
	aj->state = AJ_QUEUED;
	aj->ac = ac;
	/* At the end: published in the order the runner started them. */
	for (pp = &ac->jobs; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = aj;
	return 0;
}

static int
a_pollfds(struct dest_job *j, struct pollfd *p)
{
	struct ajob *aj = j->st;

	if (aj->state != AJ_SENT || aj->ac->conn == NULL)
		return 0;
	p[0].fd = amqp_get_sockfd(aj->ac->conn);
	p[0].events = POLLIN;
	p[0].revents = 0;
	return p[0].fd >= 0 ? 1 : 0;
}

static int64_t
a_wake(const struct dest_job *j)
{
	const struct ajob	*aj = j->st;
	const struct aconn	*ac = aj->ac;
	int64_t			 now = mono_ms();

	if (aj->state == AJ_DONE)
		return now;
	if (aj->state == AJ_QUEUED)
		return now;
	/* Frames a publish read while it waited to write are queued in
	 * the library, not on the socket. */
	if (ac->conn != NULL && (amqp_frames_enqueued(ac->conn) ||
	    amqp_data_in_buffer(ac->conn)))
		return now;
	return aj->deadline;
}

static int
a_step(struct dest_job *j)
{
	struct ajob	*aj = j->st;
	struct aconn	*ac = aj->ac;

	if (aj->state != AJ_DONE)
		conn_pump(ac);
	if (aj->state == AJ_SENT && mono_ms() >= aj->deadline) {
		/* A confirm that does not come: the connection is not to
		 * be trusted; its other events are tried again too. */
		conn_fail(ac, 0, "no confirm in time: the connection is "
		    "dropped");
		aj->timed_out = 1;
	} else if (aj->state == AJ_QUEUED && mono_ms() >= aj->deadline) {
		finish(aj, 1, 1, "not sent: %s", ac->lasterr[0] != '\0' ?
		    ac->lasterr : "no connection");
		aj->timed_out = 1;
	}
	if (aj->state != AJ_DONE)
		return 0;
	if (aj->timed_out)
		return dest_done(j, 1, 1, "no broker confirm within %lds: %s",
		    aj->timeout, aj->why);
	return dest_done(j, aj->code, 0, "%s", aj->why);
}

static void
a_cancel(struct dest_job *j)
{
	struct ajob	*aj = j->st, **pp;

	if (aj == NULL)
		return;
	if (aj->ac != NULL)
		for (pp = &aj->ac->jobs; *pp != NULL; pp = &(*pp)->next)
			if (*pp == aj) {
				*pp = aj->next;
				break;
			}
	/* A confirm still to come for its tag finds no job: ignored. */
	buf_free(&aj->body);
	free(aj->exchange);
	free(aj->rkey);
	free(aj->ctype);
	free(aj->event);
	free(aj->endpoint);
	free(aj->id);
	free(aj->reqid);
	free(aj->name);
	free(aj);
	j->st = NULL;
}

int
dest_amqp_probe(const struct dest_url *u, const char *secret_file,
    const char *ca_file, int tls_verify, struct err *e)
{
	struct aconn	*ac;
	int		 rc;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return err_sys(e, "out of memory");
	ac->u = *u;
	/* conn_open only reads them. */
	ac->secret_file = (char *)(uintptr_t)secret_file;
	ac->ca_file = (char *)(uintptr_t)ca_file;
	ac->tls_verify = tls_verify;
	rc = conn_open(ac, CONNECT_MAX_MS, e);
	if (ac->conn != NULL) {
		if (rc == 0) {
			(void)amqp_channel_close(ac->conn, CHANNEL,
			    AMQP_REPLY_SUCCESS);
			(void)amqp_connection_close(ac->conn,
			    AMQP_REPLY_SUCCESS);
		}
		(void)amqp_destroy_connection(ac->conn);
	}
	free(ac);
	return rc;
}

static const struct dest_ops amqp_ops = {
	"amqp", a_start, a_pollfds, a_wake, a_step, a_cancel
};
static const struct dest_ops amqps_ops = {
	"amqps", a_start, a_pollfds, a_wake, a_step, a_cancel
};

void
dest_amqp_init(void)
{
	dest_register(&amqp_ops);
	dest_register(&amqps_ops);
}
#endif /* HAVE_RABBITMQ */
