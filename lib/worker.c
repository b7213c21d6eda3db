/* worker: consume the [worker] queue into the local spool. Each message
 * is committed (spool_commit: journaled, group flush) before its ack, and
 * deduped through ids/ exactly as the responder does (spool_id_reserve,
 * note, done), so a redelivery after a crash between commit and ack, or
 * a second receiver's copy routed to the same queue, is acknowledged
 * without being stored twice. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "buf.h"
#include "payload.h"
#include "worker.h"

#define HDR_MAX		256	/* longest header string we take */
#define SECRET_MAX	1024
#define RPC_TIMEOUT	10	/* seconds: a broker that stops answering */
#define HEARTBEAT	30	/* seconds */

struct worker {
	const struct conf	*c;
	struct spool		*s;
	struct dlog		*log;
	amqp_connection_state_t	 conn;
	amqp_channel_t		 ch;
	int			 open;		/* channel open */
	struct worker_stats	 st;
};

/* A message's hookpipe headers, as NUL-terminated copies. */
struct hdrs {
	char	 event[HDR_MAX], endpoint[HDR_MAX], id[HDR_MAX];
	char	 request_id[HDR_MAX], content_type[HDR_MAX];
	char	 message_id[HDR_MAX];
	int	 has_event, has_endpoint, has_id, has_request_id;
	int	 has_content_type, has_message_id, has_received;
	int64_t	 received_us;
};

struct worker *
worker_new(const struct conf *c, struct spool *s, struct dlog *log)
{
	struct worker *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->c = c;
	w->s = s;
	w->log = log;
	return w;
}

const struct worker_stats *
worker_stats(const struct worker *w)
{
	return &w->st;
}

/* One line in the delivery log: {"type":"worker","state":...}. */
static void
wlog(struct worker *w, const char *state, const struct hdrs *h,
    const char *spool, const char *reason)
{
	struct buf b = { 0 };

	dlog_begin(&b, "worker");
	buf_json_kv(&b, "state", state);
	buf_json_kv(&b, "queue", w->c->worker.queue);
	if (h != NULL) {
		if (h->has_message_id)
			buf_json_kv(&b, "message_id", h->message_id);
		if (h->has_event)
			buf_json_kv(&b, "event", h->event);
		if (h->has_id)
			buf_json_kv(&b, "id", h->id);
	}
	if (spool != NULL)
		buf_json_kv(&b, "spool", spool);
	if (reason != NULL)
		buf_json_kv(&b, "reason", reason);
	dlog_end(w->log, &b);
	buf_free(&b);
}

/* The reason of a failed RPC; a close from the broker is answered with
 * close-ok so that the connection (or channel) ends cleanly. */
static int
rpc_err(struct worker *w, amqp_rpc_reply_t r, const char *what,
    struct err *e)
{
	amqp_connection_close_t	*cc;
	amqp_channel_close_t	*chc;
	amqp_channel_close_ok_t	 chok;
	amqp_connection_close_ok_t cok;

	switch (r.reply_type) {
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		return err_set(e, "%s: %s", what,
		    amqp_error_string2(r.library_error));
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			cc = r.reply.decoded;
			(void)amqp_send_method(w->conn, 0,
			    AMQP_CONNECTION_CLOSE_OK_METHOD, &cok);
			w->open = 0;
			return err_set(e, "%s: the broker closed the "
			    "connection: %u %.*s", what, cc->reply_code,
			    (int)cc->reply_text.len,
			    (const char *)cc->reply_text.bytes);
		}
		if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			chc = r.reply.decoded;
			(void)amqp_send_method(w->conn, w->ch,
			    AMQP_CHANNEL_CLOSE_OK_METHOD, &chok);
			w->open = 0;
			return err_set(e, "%s: %u %.*s", what, chc->reply_code,
			    (int)chc->reply_text.len,
			    (const char *)chc->reply_text.bytes);
		}
		return err_set(e, "%s: the broker answered with method "
		    "0x%08x", what, (unsigned)r.reply.id);
	default:
		return err_set(e, "%s: no answer from the broker", what);
	}
}

/* The password: secret_file's first line, the file private to us. */
static int
read_secret(const char *path, char *out, size_t size, struct err *e)
{
	struct stat	st;
	ssize_t		n;
	size_t		len;
	int		fd;

	if ((fd = open_file(AT_FDCWD, path, O_RDONLY, e)) == -1)
		return err_set(e, "[worker] secret_file %s cannot be read: %s",
		    path, e->msg);
	if (fstat(fd, &st) == -1) {
		err_sys(e, "[worker] secret_file %s", path);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		err_set(e, "[worker] secret_file %s may be read by others "
		    "(mode %03o): chmod 600 it", path,
		    (unsigned)(st.st_mode & 0777));
		goto fail;
	}
	if ((n = read(fd, out, size - 1)) == -1) {
		err_sys(e, "unable to read [worker] secret_file %s", path);
		goto fail;
	}
	(void)close(fd);
	out[n] = '\0';
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len == 0)
		return err_set(e, "[worker] secret_file %s is empty: write the "
		    "broker password in it", path);
	return 0;
fail:
	(void)close(fd);
	return -1;
}

static amqp_bytes_t
bytes(const char *s)
{
	return amqp_cstring_bytes(s);
}

/* The queue: a quorum queue where the broker has them (replicated,
 * poison-message handling), else a classic durable queue, said once. A
 * refusal closes the channel, so the fallback opens the next one. */
static int
declare_queue(struct worker *w, struct err *e)
{
	amqp_table_entry_t	 arg;
	amqp_table_t		 args;
	amqp_rpc_reply_t	 r;
	char			 why[sizeof(e->msg) + 64];

	arg.key = bytes("x-queue-type");
	arg.value.kind = AMQP_FIELD_KIND_UTF8;
	arg.value.value.bytes = bytes("quorum");
	args.num_entries = 1;
	args.entries = &arg;
	(void)amqp_queue_declare(w->conn, w->ch, bytes(w->c->worker.queue), 0,
	    1, 0, 0, args);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type ==
	    AMQP_RESPONSE_NORMAL)
		return 0;
	if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION ||
	    r.reply.id != AMQP_CHANNEL_CLOSE_METHOD)
		return rpc_err(w, r, "unable to declare the queue", e);
	(void)rpc_err(w, r, "quorum queue refused", e);
	(void)snprintf(why, sizeof(why), "%s; declared a classic durable "
	    "queue", e->msg);
	wlog(w, "classic", NULL, NULL, why);
	w->ch++;
	(void)amqp_channel_open(w->conn, w->ch);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL)
		return rpc_err(w, r, "unable to open a channel", e);
	w->open = 1;
	(void)amqp_queue_declare(w->conn, w->ch, bytes(w->c->worker.queue), 0,
	    1, 0, 0, amqp_empty_table);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL)
		return rpc_err(w, r, "unable to declare the queue", e);
	return 0;
}

/* The exchange, durable: topic routes on the event name; shard is a
 * headers exchange on the hookpipe-shard header the runners set, a
 * number the same on every receiver for one id (shard_of). */
static int
declare_exchange(struct worker *w, struct err *e)
{
	const struct worker_conf	*wc = &w->c->worker;
	amqp_rpc_reply_t		 r;

	(void)amqp_exchange_declare(w->conn, w->ch, bytes(wc->exchange),
	    bytes(wc->exchange_type == WX_SHARD ? "headers" : "topic"), 0, 1,
	    0, 0, amqp_empty_table);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type ==
	    AMQP_RESPONSE_NORMAL)
		return 0;
	(void)rpc_err(w, r, "unable to declare the exchange", e);
	return err_set(e, "%s (exchange %s exists with another type: give "
	    "this exchange_type its own exchange)", e->msg, wc->exchange);
}

/* Each shard this worker owns is claimed by an exclusive queue, which
 * the broker lets one connection hold: a second worker given the same
 * shard is refused until the first is gone, so one id never reaches two
 * live workers. The broker deletes the claims with the connection. */
static int
claim_shards(struct worker *w, struct err *e)
{
	const struct worker_conf	*wc = &w->c->worker;
	amqp_rpc_reply_t		 r;
	char				 name[300];
	unsigned			 k;
	int				 locked;

	for (k = 0; k < SHARDS; k++) {
		if (!(wc->shards & (uint64_t)1 << k))
			continue;
		(void)snprintf(name, sizeof(name), "%s.shard.%u", wc->exchange,
		    k);
		(void)amqp_queue_declare(w->conn, w->ch, bytes(name), 0, 0, 1,
		    1, amqp_empty_table);
		if ((r = amqp_get_rpc_reply(w->conn)).reply_type ==
		    AMQP_RESPONSE_NORMAL)
			continue;
		/* Read before rpc_err answers the close. */
		locked = r.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
		    r.reply.id == AMQP_CHANNEL_CLOSE_METHOD &&
		    ((amqp_channel_close_t *)r.reply.decoded)->reply_code ==
		    AMQP_RESOURCE_LOCKED;
		(void)rpc_err(w, r, "unable to claim the shard", e);
		if (locked)
			return err_set(e, "shard %u is held by another worker "
			    "connected to the broker (queue %s): give each "
			    "shard to one worker in bindings", k, name);
		return -1;
	}
	return 0;
}

/* The bindings: topic patterns as written; with shard, one binding per
 * owned shard and none for the others (a binding left from an earlier
 * configuration would copy those ids to this queue too). */
static int
bind_queue(struct worker *w, struct err *e)
{
	const struct worker_conf	*wc = &w->c->worker;
	amqp_table_entry_t		 arg[2];
	amqp_table_t			 args;
	amqp_rpc_reply_t		 r;
	char				 num[8];
	unsigned			 k;
	size_t				 i;

	if (wc->exchange_type == WX_TOPIC) {
		for (i = 0; i < wc->binding.n; i++) {
			(void)amqp_queue_bind(w->conn, w->ch, bytes(wc->queue),
			    bytes(wc->exchange), bytes(wc->binding.v[i]),
			    amqp_empty_table);
			if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
			    AMQP_RESPONSE_NORMAL)
				return rpc_err(w, r, "unable to bind the "
				    "queue", e);
		}
		return 0;
	}
	arg[0].key = bytes("x-match");
	arg[0].value.kind = AMQP_FIELD_KIND_UTF8;
	arg[0].value.value.bytes = bytes("all");
	arg[1].key = bytes("hookpipe-shard");
	arg[1].value.kind = AMQP_FIELD_KIND_UTF8;
	args.num_entries = 2;
	args.entries = arg;
	for (k = 0; k < SHARDS; k++) {
		(void)snprintf(num, sizeof(num), "%u", k);
		arg[1].value.value.bytes = bytes(num);
		if (wc->shards & (uint64_t)1 << k)
			(void)amqp_queue_bind(w->conn, w->ch, bytes(wc->queue),
			    bytes(wc->exchange), amqp_empty_bytes, args);
		else
			(void)amqp_queue_unbind(w->conn, w->ch,
			    bytes(wc->queue), bytes(wc->exchange),
			    amqp_empty_bytes, args);
		if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
		    AMQP_RESPONSE_NORMAL)
			return rpc_err(w, r, "unable to bind the queue", e);
	}
	return 0;
}

int
worker_connect(struct worker *w, struct err *e)
{
	const struct worker_conf	*wc = &w->c->worker;
	amqp_socket_t			*sock;
	amqp_rpc_reply_t		 r;
	struct timeval			 tv = { RPC_TIMEOUT, 0 };
	char				 pass[SECRET_MAX];
	int				 rc;

	worker_close(w);
	if (wc->secret_file == NULL)
		(void)snprintf(pass, sizeof(pass), "guest");
	else if (read_secret(wc->secret_file, pass, sizeof(pass), e) == -1)
		return -1;
	if ((w->conn = amqp_new_connection()) == NULL ||
	    (sock = amqp_tcp_socket_new(w->conn)) == NULL) {
		wipe(pass, sizeof(pass));
		return err_set(e, "out of memory");
	}
	(void)amqp_set_handshake_timeout(w->conn, &tv);
	(void)amqp_set_rpc_timeout(w->conn, &tv);
	if ((rc = amqp_socket_open_noblock(sock, wc->host, wc->port, &tv)) !=
	    AMQP_STATUS_OK) {
		wipe(pass, sizeof(pass));
		return err_set(e, "unable to connect to %s:%d: %s", wc->host,
		    wc->port, amqp_error_string2(rc));
	}
	r = amqp_login(w->conn, wc->vhost, 0, AMQP_DEFAULT_FRAME_SIZE,
	    HEARTBEAT, AMQP_SASL_METHOD_PLAIN, wc->user, pass);
	wipe(pass, sizeof(pass));
	if (r.reply_type != AMQP_RESPONSE_NORMAL)
		return rpc_err(w, r, "unable to log in to the broker (user, "
		    "secret_file, vhost)", e);
	w->ch = 1;
	(void)amqp_channel_open(w->conn, w->ch);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL)
		return rpc_err(w, r, "unable to open a channel", e);
	w->open = 1;
	if (declare_exchange(w, e) == -1 ||
	    (wc->exchange_type == WX_SHARD && claim_shards(w, e) == -1) ||
	    declare_queue(w, e) == -1 || bind_queue(w, e) == -1)
		return -1;
	(void)amqp_basic_qos(w->conn, w->ch, 0, (uint16_t)(wc->prefetch > 0 ?
	    wc->prefetch : w->c->concurrency), 0);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL)
		return rpc_err(w, r, "unable to set the prefetch", e);
	(void)amqp_basic_consume(w->conn, w->ch, bytes(wc->queue),
	    amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
	if ((r = amqp_get_rpc_reply(w->conn)).reply_type !=
	    AMQP_RESPONSE_NORMAL)
		return rpc_err(w, r, "unable to consume from the queue", e);
	wlog(w, "connected", NULL, NULL, NULL);
	return 0;
}

void
worker_close(struct worker *w)
{
	if (w->conn == NULL)
		return;
	/* Closing hands every delivered, unacknowledged message back to
	 * the queue: none of them was stored (each stored one was acked
	 * before the next was taken). */
	if (w->open)
		(void)amqp_channel_close(w->conn, w->ch, AMQP_REPLY_SUCCESS);
	(void)amqp_connection_close(w->conn, AMQP_REPLY_SUCCESS);
	(void)amqp_destroy_connection(w->conn);
	w->conn = NULL;
	w->open = 0;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	worker_close(w);
	free(w);
}

/* A header string: printable ASCII, no longer than HDR_MAX - 1. */
static int
hdr_str(const amqp_field_value_t *v, char *out)
{
	size_t i;

	if (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES)
		return -1;
	if (v->value.bytes.len >= HDR_MAX)
		return -1;
	for (i = 0; i < v->value.bytes.len; i++)
		if (((const unsigned char *)v->value.bytes.bytes)[i] < 0x20 ||
		    ((const unsigned char *)v->value.bytes.bytes)[i] >= 0x7f)
			return -1;
	if (v->value.bytes.len > 0)	/* an empty one may carry NULL */
		memcpy(out, v->value.bytes.bytes, v->value.bytes.len);
	out[v->value.bytes.len] = '\0';
	return 0;
}

static int
hdr_int(const amqp_field_value_t *v, int64_t *out)
{
	switch (v->kind) {
	case AMQP_FIELD_KIND_I8: *out = v->value.i8; return 0;
	case AMQP_FIELD_KIND_U8: *out = v->value.u8; return 0;
	case AMQP_FIELD_KIND_I16: *out = v->value.i16; return 0;
	case AMQP_FIELD_KIND_U16: *out = v->value.u16; return 0;
	case AMQP_FIELD_KIND_I32: *out = v->value.i32; return 0;
	case AMQP_FIELD_KIND_U32: *out = v->value.u32; return 0;
	case AMQP_FIELD_KIND_I64: *out = v->value.i64; return 0;
	case AMQP_FIELD_KIND_U64:
		if (v->value.u64 > INT64_MAX)
			return -1;
		*out = (int64_t)v->value.u64;
		return 0;
	default:
		return -1;
	}
}

/* A name of the spool or a dedupe key part: what ids/ may hold. */
static int
name_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && s[0] != '.' && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

/* The headers and properties into h; NULL, or why the message is not a
 * hookpipe event (it is rejected, for the broker's dead-letter
 * exchange). */
static const char *
parse_hdrs(const amqp_basic_properties_t *p, struct hdrs *h)
{
	const amqp_table_entry_t	*t;
	const amqp_field_value_t	*v;
	int				 i;

	memset(h, 0, sizeof(*h));
	if ((p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) &&
	    p->message_id.len > 0 && p->message_id.len < HDR_MAX) {
		memcpy(h->message_id, p->message_id.bytes, p->message_id.len);
		h->message_id[p->message_id.len] = '\0';
		h->has_message_id = strlen(h->message_id) ==
		    p->message_id.len && name_ok(h->message_id) &&
		    strchr(h->message_id, '+') == NULL;
	}
	if (!(p->_flags & AMQP_BASIC_HEADERS_FLAG))
		return "no hookpipe-event header: not a hookpipe message";
	for (i = 0; i < p->headers.num_entries; i++) {
		t = &p->headers.entries[i];
		v = &t->value;
#define IS(k)	(t->key.len == sizeof(k) - 1 && \
		 memcmp(t->key.bytes, (k), sizeof(k) - 1) == 0)
		if (IS("hookpipe-event")) {
			if (hdr_str(v, h->event) == -1 ||
			    !event_name_ok(h->event))
				return "hookpipe-event is no valid event name";
			h->has_event = 1;
		} else if (IS("hookpipe-endpoint")) {
			if (hdr_str(v, h->endpoint) == -1)
				return "hookpipe-endpoint is not a string";
			h->has_endpoint = 1;
		} else if (IS("hookpipe-id")) {
			if (hdr_str(v, h->id) == -1 || (h->id[0] != '\0' &&
			    !event_id_ok(h->id)))
				return "hookpipe-id is no valid event id";
			/* Empty: the sender gave none (hookpipe-amqp(7)). */
			h->has_id = h->id[0] != '\0';
		} else if (IS("hookpipe-request-id")) {
			if (hdr_str(v, h->request_id) == -1)
				return "hookpipe-request-id is not a string";
			h->has_request_id = 1;
		} else if (IS("hookpipe-received-us")) {
			if (hdr_int(v, &h->received_us) == -1 ||
			    h->received_us <= 0)
				return "hookpipe-received-us is not a positive "
				    "integer";
			h->has_received = 1;
		}
#undef IS
	}
	if (!h->has_event)
		return "no hookpipe-event header: not a hookpipe message";
	if ((p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) &&
	    p->content_type.len > 0 && p->content_type.len < HDR_MAX) {
		memcpy(h->content_type, p->content_type.bytes,
		    p->content_type.len);
		h->content_type[p->content_type.len] = '\0';
		h->has_content_type = strlen(h->content_type) ==
		    p->content_type.len;
	}
	if (!h->has_received && (p->_flags & AMQP_BASIC_TIMESTAMP_FLAG) &&
	    p->timestamp > 0 && p->timestamp < (uint64_t)INT64_MAX / 1000000)
		h->received_us = (int64_t)p->timestamp * 1000000;
	else if (!h->has_received)
		h->received_us = now_us();
	return NULL;
}

static int
ack(struct worker *w, uint64_t tag, struct err *e)
{
	int rc;

	if ((rc = amqp_basic_ack(w->conn, w->ch, tag, 0)) != AMQP_STATUS_OK)
		return err_set(e, "unable to acknowledge a message: %s",
		    amqp_error_string2(rc));
	return 0;
}

/* Not a hookpipe event: rejected without requeue, so that a dead-letter
 * exchange of the queue can keep it; logged. */
static int
reject(struct worker *w, uint64_t tag, const struct hdrs *h,
    const char *why, struct err *e)
{
	int rc;

	wlog(w, "rejected", h, NULL, why);
	w->st.rejected++;
	if ((rc = amqp_basic_reject(w->conn, w->ch, tag, 0)) !=
	    AMQP_STATUS_OK)
		return err_set(e, "unable to reject a message: %s",
		    amqp_error_string2(rc));
	return WORKER_TOOK;
}

/* Store one message: the dedupe key reserved, the entry named in its
 * record, committed, the key kept; then the ack. Without an id, the key
 * is the message_id (the receiver's spool name), which catches the
 * broker's redelivery of this very message, not another receiver's
 * copy. */
static int
take(struct worker *w, const amqp_envelope_t *m, struct err *e)
{
	const amqp_basic_properties_t	*p = &m->message.properties;
	const struct endpoint		*ep;
	struct envelope			 env;
	struct hdrs			 h;
	const char			*why, *keys[2] = { NULL, NULL };
	char				 key[SPOOL_KEY_MAX], alt[HDR_MAX + 1];
	char				 name[SPOOL_NAME_MAX];
	int				 fd = -1, rc;

	if ((why = parse_hdrs(p, &h)) != NULL)
		return reject(w, m->delivery_tag, &h, why, e);
	if ((ep = conf_endpoint(w->c, h.has_endpoint ? h.endpoint : NULL)) ==
	    NULL)
		return reject(w, m->delivery_tag, &h, "its endpoint is not in "
		    "this worker's configuration", e);
	if (m->message.body.len > ep->max_body)
		return reject(w, m->delivery_tag, &h, "the body is larger than "
		    "the endpoint's max_body", e);
	if (h.has_id)
		rc = spool_id_key(ep->name, h.id, key);
	else if (h.has_message_id) {
		(void)snprintf(alt, sizeof(alt), "@%s", h.message_id);
		rc = spool_id_key(ep->name, alt, key);
	} else
		rc = 1;
	if (rc == 0) {
		keys[0] = key;
		if ((rc = spool_id_reserve(w->s, key, &fd, e)) == -1)
			goto full;
		if (rc == 0) {
			wlog(w, "duplicate", &h, NULL, NULL);
			w->st.duplicates++;
			return ack(w, m->delivery_tag, e) == -1 ? WORKER_LOST :
			    WORKER_TOOK;
		}
	}
	if (spool_newname(w->s, name) == -1) {
		err_sys(e, "unable to make a spool name");
		goto full;
	}
	if (fd != -1 && spool_id_note(fd, name, e) == -1)
		goto full;
	memset(&env, 0, sizeof(env));
	env.endpoint = ep->name;
	env.event = h.event;
	env.id = h.has_id ? h.id : NULL;
	env.request_id = h.has_request_id ? h.request_id : NULL;
	env.received_us = h.received_us;
	env.content_type = h.has_content_type ? h.content_type : NULL;
	env.bytes = m->message.body.len;
	if (spool_commit(w->s, &env, m->message.body.bytes,
	    m->message.body.len, name, keys, e) == -1)
		goto full;
	if (fd != -1)
		spool_id_done(fd, 1);
	w->st.stored++;
	wlog(w, "stored", &h, name, NULL);
	return ack(w, m->delivery_tag, e) == -1 ? WORKER_LOST : WORKER_TOOK;
full:
	/* Not stored: the id is given back and the message goes back to
	 * the queue; the caller pauses before it takes messages again. */
	if (fd != -1)
		spool_id_done(fd, 0);
	wlog(w, "not-stored", &h, NULL, e->msg);
	(void)amqp_basic_nack(w->conn, w->ch, m->delivery_tag, 0, 1);
	return WORKER_FULL;
}

/* Something other than a delivery arrived: a close or a cancel ends the
 * consumer (the caller reconnects); anything else is ignored. */
static int
other_frame(struct worker *w, struct err *e)
{
	amqp_frame_t		 f;
	amqp_channel_close_ok_t	 chok;
	amqp_connection_close_ok_t cok;
	amqp_channel_close_t	*chc;
	amqp_connection_close_t	*cc;
	int			 rc;

	if ((rc = amqp_simple_wait_frame(w->conn, &f)) != AMQP_STATUS_OK)
		return err_set(e, "lost the broker: %s",
		    amqp_error_string2(rc)), WORKER_LOST;
	if (f.frame_type != AMQP_FRAME_METHOD)
		return WORKER_IDLE;
	switch (f.payload.method.id) {
	case AMQP_CHANNEL_CLOSE_METHOD:
		chc = f.payload.method.decoded;
		(void)amqp_send_method(w->conn, w->ch,
		    AMQP_CHANNEL_CLOSE_OK_METHOD, &chok);
		w->open = 0;
		err_set(e, "the broker closed the channel: %u %.*s",
		    chc->reply_code, (int)chc->reply_text.len,
		    (const char *)chc->reply_text.bytes);
		return WORKER_LOST;
	case AMQP_CONNECTION_CLOSE_METHOD:
		cc = f.payload.method.decoded;
		(void)amqp_send_method(w->conn, 0,
		    AMQP_CONNECTION_CLOSE_OK_METHOD, &cok);
		w->open = 0;
		err_set(e, "the broker closed the connection: %u %.*s",
		    cc->reply_code, (int)cc->reply_text.len,
		    (const char *)cc->reply_text.bytes);
		return WORKER_LOST;
	case AMQP_BASIC_CANCEL_METHOD:
		err_set(e, "the broker cancelled the consumer (was the queue "
		    "deleted?)");
		return WORKER_LOST;
	default:
		return WORKER_IDLE;
	}
}

int
worker_step(struct worker *w, int ms, struct err *e)
{
	amqp_envelope_t		m;
	amqp_rpc_reply_t	r;
	struct timeval		tv;
	int			rc;

	if (w->conn == NULL || !w->open)
		return err_set(e, "not connected"), WORKER_LOST;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	amqp_maybe_release_buffers(w->conn);
	r = amqp_consume_message(w->conn, &m, &tv, 0);
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_TIMEOUT)
		return WORKER_IDLE;
	if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
	    r.library_error == AMQP_STATUS_UNEXPECTED_STATE)
		return other_frame(w, e);
	if (r.reply_type != AMQP_RESPONSE_NORMAL) {
		(void)rpc_err(w, r, "lost the broker", e);
		return WORKER_LOST;
	}
	rc = take(w, &m, e);
	amqp_destroy_envelope(&m);
	return rc;
}
