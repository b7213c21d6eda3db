/* spoolfmt: the envelope, the first line of every spool entry: one
 * encoder, one parser (the spool module's; see hookpipe-spool(5)). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "payload.h"
#include "spool.h"

#define ENVELOPE_VERSION	1
#define ENVELOPE_DEPTH		4	/* {"headers":{...}} and some room */

void
envelope_encode(struct buf *b, struct envelope *env)
{
	fmt_time_us(env->received_us, env->received_at,
	    sizeof(env->received_at));
	buf_reset(b);
	buf_printf(b, "{\"v\":%d,\"endpoint\":", ENVELOPE_VERSION);
	buf_json_cstr(b, env->endpoint);
	buf_json_kv(b, "event", env->event);
	buf_json_kv(b, "id", env->id);
	buf_json_kv(b, "request_id", env->request_id);
	buf_json_kv(b, "received_at", env->received_at);
	buf_printf(b, ",\"received_us\":%" PRId64 ",\"remote\":",
	    env->received_us);
	buf_json_cstr(b, env->remote);
	buf_json_kv(b, "mode", env->sync ? "sync" : "queue");
	buf_printf(b, ",\"bytes\":%zu,\"crc32c\":\"%08x\",\"headers\":"
	    "{\"content-type\":", env->bytes, (unsigned)env->crc);
	buf_json_cstr(b, env->content_type);
	buf_json_kv(b, "user-agent", env->user_agent);
	if (env->traceparent != NULL)
		buf_json_kv(b, "traceparent", env->traceparent);
	buf_puts(b, "}}");
}

/* A string member, or NULL (absent or null); -1 when of another type. */
static int
member(json_object *o, const char *key, const char **out)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

int
envelope_parse(const char *line, struct envelope *env, struct err *e)
{
	struct json_tokener	*tok;
	json_object		*o, *v, *h;
	const char		*mode;
	size_t			 len = strlen(line);

	memset(env, 0, sizeof(*env));
	if ((tok = json_tokener_new_ex(ENVELOPE_DEPTH)) == NULL)
		return err_set(e, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return err_set(e, "the envelope is not a JSON object");
	}
	env->obj = o;
	if (!json_object_object_get_ex(o, "v", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != ENVELOPE_VERSION) {
		envelope_free(env);
		return err_set(e, "the envelope is not of version %d",
		    ENVELOPE_VERSION);
	}
	if (member(o, "event", &env->event) == -1 || env->event == NULL ||
	    member(o, "endpoint", &env->endpoint) == -1 ||
	    member(o, "id", &env->id) == -1 ||
	    member(o, "request_id", &env->request_id) == -1 ||
	    member(o, "remote", &env->remote) == -1 ||
	    member(o, "mode", &mode) == -1) {
		envelope_free(env);
		return err_set(e, "the envelope has no event, or a field of "
		    "another type");
	}
	/* What the responder let through, and nothing else: an entry
	 * written by another hand must not name ../ as its event. */
	if (!event_name_ok(env->event) ||
	    (env->id != NULL && !event_id_ok(env->id))) {
		envelope_free(env);
		return err_set(e, "the envelope's event name or id is not one "
		    "hookpipe accepts");
	}
	env->sync = mode != NULL && strcmp(mode, "sync") == 0;
	if (json_object_object_get_ex(o, "received_us", &v) &&
	    json_object_is_type(v, json_type_int))
		env->received_us = json_object_get_int64(v);
	if (json_object_object_get_ex(o, "bytes", &v) &&
	    json_object_is_type(v, json_type_int) &&
	    json_object_get_int64(v) >= 0)
		env->bytes = (size_t)json_object_get_int64(v);
	if (member(o, "crc32c", &mode) == 0 && mode != NULL &&
	    strlen(mode) == 8 && strspn(mode, "0123456789abcdef") == 8) {
		env->crc = (uint32_t)strtoul(mode, NULL, 16);
		env->has_crc = 1;
	}
	if (json_object_object_get_ex(o, "headers", &h) &&
	    json_object_is_type(h, json_type_object) &&
	    (member(h, "content-type", &env->content_type) == -1 ||
	    member(h, "user-agent", &env->user_agent) == -1 ||
	    member(h, "traceparent", &env->traceparent) == -1)) {
		envelope_free(env);
		return err_set(e, "the envelope's headers are not strings");
	}
	/* It reaches handlers' environment: only the W3C shape. */
	if (env->traceparent != NULL &&
	    !metrics_traceparent_ok(env->traceparent))
		env->traceparent = NULL;
	if (member(o, "received_at", &mode) == 0 && mode != NULL)
		(void)snprintf(env->received_at, sizeof(env->received_at),
		    "%s", mode);
	else
		fmt_time_us(env->received_us, env->received_at,
		    sizeof(env->received_at));
	return 0;
}

void
envelope_free(struct envelope *env)
{
	json_object_put(env->obj);
	memset(env, 0, sizeof(*env));
}
