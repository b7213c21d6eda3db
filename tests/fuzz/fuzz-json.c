/* fuzz-json: the JSON validation of a webhook body (payload_parse at the
 * depth limit the receiver uses), the dotted-path lookups the router
 * makes, and the event name and id checks, on arbitrary bytes. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzutil.h"
#include "payload.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Containers on the deepest path: what the depth limit counts. */
static int
depth_of(json_object *o)
{
	struct json_object_iterator	it, end;
	int				d, max = 0;
	size_t				i, n;

	if (json_object_is_type(o, json_type_object)) {
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		for (; !json_object_iter_equal(&it, &end);
		    json_object_iter_next(&it)) {
			d = depth_of(json_object_iter_peek_value(&it));
			max = d > max ? d : max;
		}
		return max + 1;
	}
	if (json_object_is_type(o, json_type_array)) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++) {
			d = depth_of(json_object_array_get_idx(o, i));
			max = d > max ? d : max;
		}
		return max + 1;
	}
	return 0;
}

/* The documented grammar, written independently of payload.c. */
static int
chars_ok(const char *s, const char *first, const char *rest, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max || strchr(first, s[0]) == NULL)
		return 0;
	for (i = 1; i < n; i++)
		if (strchr(rest, s[i]) == NULL)
			return 0;
	return 1;
}

#define AN "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {
		"event", "id", "type", "data.id", "data.booking_id",
		"data.object.id", "a.b.c.d.e.f.g.h", "meta.event_id", ".",
		"a..b",
	};
	json_object	*root = NULL, *v;
	struct err	 e;
	char		 pfx[256], path[64];
	size_t		 i, n;

	if (payload_parse((const char *)data, size, PAYLOAD_MAX_DEPTH, &root,
	    &e) == 0) {
		FZ_CHECK(root != NULL);
		FZ_CHECK(json_object_is_type(root, json_type_object));
		FZ_CHECK(depth_of(root) <= PAYLOAD_MAX_DEPTH);
		FZ_CHECK(memchr(data, '\0', size) == NULL);
		for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			v = payload_get(root, paths[i]);
			if (v != NULL)
				(void)json_object_get_string(v);
			if (!payload_path_ok(paths[i]))
				FZ_CHECK(v == NULL);
		}
		(void)json_str(root, "event");
		/* A path taken from the input itself. */
		n = size < sizeof(path) - 1 ? size : sizeof(path) - 1;
		memcpy(path, data, n);
		path[n] = '\0';
		v = payload_get(root, path);
		if (v != NULL)
			FZ_CHECK(payload_path_ok(path));
		json_object_put(root);
	} else {
		FZ_CHECK(root == NULL);
		FZ_CHECK(e.msg[0] != '\0');
	}

	n = size < sizeof(pfx) - 1 ? size : sizeof(pfx) - 1;
	memcpy(pfx, data, n);
	pfx[n] = '\0';
	FZ_CHECK(event_name_ok(pfx) == chars_ok(pfx, AN, AN "._-",
	    EVENT_NAME_MAX));
	FZ_CHECK(event_id_ok(pfx) == chars_ok(pfx, AN "_:-", AN "._:-",
	    EVENT_ID_MAX));
	(void)payload_path_ok(pfx);
	return 0;
}
