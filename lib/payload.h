/* payload: strict JSON validation of a webhook body and the lookups
 * the router needs (event name, event id, required fields). */
#ifndef HOOKPIPE_PAYLOAD_H
#define HOOKPIPE_PAYLOAD_H

#include <stddef.h>

#include <json-c/json.h>

#include "util.h"

#define PAYLOAD_MAX_DEPTH	32
#define PAYLOAD_MAX_VALUES	100000	/* strings, numbers, containers... */
#define EVENT_NAME_MAX		128
#define EVENT_ID_MAX		200

/* Parse the body strictly: RFC 8259 only, valid UTF-8, nesting at most
 * `depth`, nothing after the value, no NUL in any string or key, an
 * object at the top. */
int	payload_parse(const char *, size_t, int, json_object **, struct err *);
/* Follow a dotted path ("data.booking_id") through objects; NULL when
 * any step is missing. */
json_object *payload_get(json_object *, const char *);
/* The string member `key` of object o, or NULL (absent, not a string). */
const char *json_str(json_object *, const char *);
/* 1 when the name is a valid event name: [A-Za-z0-9][A-Za-z0-9._-]{0,127}. */
int	event_name_ok(const char *);
/* 1 when the id is usable as a dedupe key: [A-Za-z0-9_:-][A-Za-z0-9._:-]{0,199}. */
int	event_id_ok(const char *);
/* 1 when a dotted path is well formed (non-empty parts). */
int	payload_path_ok(const char *);

#endif
