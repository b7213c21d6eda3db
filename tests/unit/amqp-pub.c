/* amqp-pub: publish test messages in hookpipe's message format (the one
 * hookpipe-worker(8) documents), as a receiver's runner forwarding with
 * forward = amqp:// would: persistent, with publisher confirms. For
 * tests/integration/worker.sh and bench/worker.sh.
 *
 *   amqp-pub HOST PORT USER PASSWORD EXCHANGE < SPEC
 *
 * SPEC: one message a line, tab-separated: event ("-": no hookpipe
 * headers at all), endpoint ("-": the default), id ("-": none),
 * message_id, body (the rest of the line, byte for byte). The routing
 * key is the event name; every message has the hookpipe-shard header of
 * its message_id, as the runner sets it. Exit 0 once the broker
 * confirmed every one. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>

#include "util.h"

static void
die(const char *what)
{
	fprintf(stderr, "amqp-pub: %s\n", what);
	exit(1);
}

static void
rpc(amqp_connection_state_t c, const char *what)
{
	if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
		die(what);
}

/* Wait for the broker's confirms up to tag `last`. */
static void
confirms(amqp_connection_state_t c, uint64_t last, uint64_t *acked)
{
	amqp_frame_t		 f;
	amqp_basic_ack_t	*a;

	while (*acked < last) {
		if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
			die("lost the broker waiting for confirms");
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_NACK_METHOD)
			die("the broker refused a message (nack)");
		if (f.payload.method.id == AMQP_BASIC_RETURN_METHOD)
			continue;
		if (f.payload.method.id != AMQP_BASIC_ACK_METHOD)
			continue;
		a = f.payload.method.decoded;
		if (a->multiple || a->delivery_tag > *acked)
			*acked = a->delivery_tag > *acked ? a->delivery_tag :
			    *acked;
	}
}

int
main(int argc, char *argv[])
{
	amqp_connection_state_t	 c;
	amqp_socket_t		*s;
	amqp_basic_properties_t	 p;
	amqp_table_entry_t	 h[9];
	char			*line = NULL, *f[5], *q;
	char			 req[300];
	char			 shard[8];
	size_t			 cap = 0;
	ssize_t			 n;
	uint64_t		 tag = 0, acked = 0;
	int			 i, nh;

	if (argc != 6)
		die("usage: amqp-pub HOST PORT USER PASSWORD EXCHANGE < SPEC");
	if ((c = amqp_new_connection()) == NULL ||
	    (s = amqp_tcp_socket_new(c)) == NULL)
		die("out of memory");
	if (amqp_socket_open(s, argv[1], atoi(argv[2])) != AMQP_STATUS_OK)
		die("unable to connect");
	if (amqp_login(c, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0,
	    AMQP_SASL_METHOD_PLAIN, argv[3], argv[4]).reply_type !=
	    AMQP_RESPONSE_NORMAL)
		die("unable to log in");
	(void)amqp_channel_open(c, 1);
	rpc(c, "unable to open a channel");
	(void)amqp_confirm_select(c, 1);
	rpc(c, "unable to select confirms");
	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		for (i = 0, q = line; i < 4; i++) {
			f[i] = q;
			if ((q = strchr(q, '\t')) == NULL)
				die("a SPEC line has fewer than 5 fields");
			*q++ = '\0';
		}
		f[4] = q;
		memset(&p, 0, sizeof(p));
		p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG |
		    AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
		    AMQP_BASIC_TIMESTAMP_FLAG;
		p.delivery_mode = 2;
		p.content_type = amqp_cstring_bytes("application/json");
		p.message_id = amqp_cstring_bytes(f[3]);
		p.timestamp = (uint64_t)(now_us() / 1000000);
		(void)snprintf(shard, sizeof(shard), "%u", shard_of(f[3]));
		h[0].key = amqp_cstring_bytes("hookpipe-shard");
		h[0].value.kind = AMQP_FIELD_KIND_UTF8;
		h[0].value.value.bytes = amqp_cstring_bytes(shard);
		nh = 1;
		p._flags |= AMQP_BASIC_HEADERS_FLAG;
		p.headers.entries = h;
		if (strcmp(f[0], "-") != 0) {
			(void)snprintf(req, sizeof(req), "req-%s", f[3]);
			h[nh].key = amqp_cstring_bytes("hookpipe-event");
			h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
			h[nh++].value.value.bytes = amqp_cstring_bytes(f[0]);
			if (strcmp(f[1], "-") != 0) {
				h[nh].key = amqp_cstring_bytes(
				    "hookpipe-endpoint");
				h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
				h[nh++].value.value.bytes =
				    amqp_cstring_bytes(f[1]);
			}
			if (strcmp(f[2], "-") != 0) {
				h[nh].key = amqp_cstring_bytes("hookpipe-id");
				h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
				h[nh++].value.value.bytes =
				    amqp_cstring_bytes(f[2]);
			}
			h[nh].key = amqp_cstring_bytes("hookpipe-request-id");
			h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
			h[nh++].value.value.bytes = amqp_cstring_bytes(req);
			h[nh].key = amqp_cstring_bytes("hookpipe-received-us");
			h[nh].value.kind = AMQP_FIELD_KIND_I64;
			h[nh++].value.value.i64 = now_us();
			h[nh].key = amqp_cstring_bytes("hookpipe-attempt");
			h[nh].value.kind = AMQP_FIELD_KIND_I32;
			h[nh++].value.value.i32 = 1;
			h[nh].key = amqp_cstring_bytes("hookpipe-spool-name");
			h[nh].value.kind = AMQP_FIELD_KIND_UTF8;
			h[nh++].value.value.bytes = amqp_cstring_bytes(f[3]);
		}
		p.headers.num_entries = nh;
		if (amqp_basic_publish(c, 1, amqp_cstring_bytes(argv[5]),
		    amqp_cstring_bytes(strcmp(f[0], "-") != 0 ? f[0] :
		    "none"), 0, 0, &p, amqp_cstring_bytes(f[4])) !=
		    AMQP_STATUS_OK)
			die("unable to publish");
		/* A window of confirms keeps memory and latency bounded. */
		if (++tag - acked >= 500)
			confirms(c, tag - 250, &acked);
	}
	confirms(c, tag, &acked);
	free(line);
	(void)amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	(void)amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	(void)amqp_destroy_connection(c);
	printf("%llu\n", (unsigned long long)tag);
	return 0;
}
