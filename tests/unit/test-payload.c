/* test-payload: strict JSON parsing of bodies, dotted lookups and the
 * event name / event id syntax. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "tap.h"

static char last_msg[1024];

/* payload_parse of n bytes: 0 or -1; the message is kept in last_msg. */
static int
parse_n(const char *s, size_t n)
{
	json_object	*o = (json_object *)&o;	/* must be reset */
	struct err	 e;
	int		 rc;

	memset(&e, 0, sizeof(e));
	rc = payload_parse(s, n, PAYLOAD_MAX_DEPTH, &o, &e);
	(void)snprintf(last_msg, sizeof(last_msg), "%s", rc == 0 ? "" : e.msg);
	if (rc == 0 && o == NULL)
		return -2;	/* success without an object */
	if (rc == -1 && o != NULL)
		return -3;	/* failure that leaves an object behind */
	if (o != NULL)
		json_object_put(o);
	return rc;
}

static int
parse(const char *s)
{
	return parse_n(s, strlen(s));
}

static void
accept(const char *s, const char *what)
{
	is_int(parse(s), 0, "accepted: %s", what);
}

static void
reject(const char *s, const char *what)
{
	is_int(parse(s), -1, "rejected: %s", what);
}

/* {"a":{"a":...}} with `levels` objects, the top one counted as 1; the
 * innermost holds "a":1 when `scalar` is set, else nothing. */
static char *
nested(int levels, int scalar)
{
	char	*p = malloc((size_t)levels * 6 + 16), *q = p;
	int	 i;

	for (i = 0; i < levels; i++)
		q += sprintf(q, i == 0 ? "{" : "\"a\":{");
	if (scalar)
		q += sprintf(q, "\"a\":1");
	for (i = 0; i < levels; i++)
		*q++ = '}';
	*q = '\0';
	return p;
}

static void
test_basic(void)
{
	accept("{\"event\":\"booking.updated\",\"id\":\"evt_01\","
	    "\"data\":{\"n\":[1,2.5,-3e2,true,false,null],\"s\":\"\\u00e9\"}}",
	    "a typical object");
	accept("{}", "empty object");
	accept(" \r\n\t{}", "leading white space");
	accept("{} \n", "trailing white space");
	accept("{}\r\n\t ", "trailing CR LF TAB SP");
	accept("{\"a\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
	    "valid UTF-8 in a string");
	accept("{\"a\":\"a\\\\u0000\"}",
	    "escaped backslash then the text u0000");
	accept("{\"a\\\\u0000\":1}", "key: escaped backslash then u0000");

	reject("{} x", "trailing garbage");
	reject("{}{}", "two objects");
	reject("{}\n{}", "two objects on two lines");
	reject("{\"a\":\"\xff\"}", "invalid UTF-8 (0xff) in a string");
	reject("{\"\xff\":1}", "invalid UTF-8 (0xff) in a key");
	reject("{\"a\":\"\\u0000\"}", "\\u0000 in a value");
	reject("{\"a\":\"x\\u0000y\",\"b\":1}", "\\u0000 inside a value");
	reject("{\"\\u0000\":1}", "\\u0000 in a key");
	ok(strstr(last_msg, "u0000") != NULL, "\\u0000 key: message (%s)",
	    last_msg);
	reject("{\"a\":\"\\\\\\u0000\"}", "escaped backslash then \\u0000");
	is_int(parse_n("{\"a\":\"\0\"}", 8), -1, "rejected: raw NUL byte");
	ok(strstr(last_msg, "NUL") != NULL, "raw NUL: message (%s)", last_msg);
	is_int(parse_n("{}\0", 3), -1, "rejected: NUL after the object");

	reject("[]", "top-level array");
	ok(strstr(last_msg, "not an object") != NULL,
	    "top-level array: message (%s)", last_msg);
	reject("[{}]", "top-level array of objects");
	reject("\"x\"", "top-level string");
	reject("1", "top-level number");
	reject("1 ", "top-level number and a space");
	reject("null", "top-level null");
	reject("true ", "top-level true");
	is_int(parse_n("", 0), -1, "rejected: empty body");
	ok(strstr(last_msg, "empty") != NULL, "empty: message (%s)", last_msg);
	reject(" ", "only white space");
	reject("{\"a\":", "truncated {\"a\":");
	reject("{\"a\":\"x", "truncated inside a string");
	reject("{", "lone {");

	/* Strict mode. */
	reject("{\"a\":'x'}", "single-quoted value");
	reject("{\"a\":1 /* c */}", "block comment");
	reject("{\"a\":1} // c", "line comment after the object");
	reject("{/*c*/\"a\":1}", "comment at object start");
	reject("{\"a\":1,}", "trailing comma in an object");
	reject("{\"a\":[1,]}", "trailing comma in an array");
	reject("{\"a\":01}", "leading zero");
	reject("{\"a\":+1}", "leading plus");
	reject("{\"a\":True}", "True");
	reject("{a:1}", "unquoted key");
	reject("{\"a\":\"\\x41\"}", "\\x escape");
}

static void
test_depth(void)
{
	char *s;

	s = nested(32, 1);
	is_int(parse(s), 0, "32 levels (innermost {\"a\":1}) accepted");
	free(s);
	s = nested(32, 0);
	is_int(parse(s), 0, "32 levels (innermost {}) accepted");
	free(s);
	s = nested(33, 1);
	is_int(parse(s), -1, "33 levels (innermost {\"a\":1}) rejected");
	ok(strstr(last_msg, "deeper") != NULL, "33 levels: message (%s)",
	    last_msg);
	free(s);
	/* json-c counts a scalar value as a level: the depth must not
	 * depend on what the innermost value is. */
	s = nested(33, 0);
	is_int(parse(s), -1, "33 levels (innermost {}) rejected");
	free(s);
	s = nested(40, 0);
	is_int(parse(s), -1, "40 levels rejected");
	ok(strstr(last_msg, "deeper") != NULL, "40 levels: message (%s)",
	    last_msg);
	free(s);
}

/* payload.h promises "RFC 8259 only, valid UTF-8"; json-c 0.16's
 * STRICT and VALIDATE_UTF8 flags alone let these through. */
static void
test_strict_holes(void)
{
	reject("{'a':1}", "single-quoted key");
	reject("{\"a\":NaN}", "NaN");
	reject("{\"a\":Infinity}", "Infinity");
	reject("{\"a\":1.}", "number 1.");
	reject("{\"a\":\"x\x01y\"}", "raw control byte 0x01 in a string "
	    "");
	reject("{\"a\":\"x\ty\"}", "raw TAB in a string");
	reject("{\"a\":\"\xc0\x80\"}",
	    "overlong C0 80 in a string");
	reject("{\"a\":\"\xed\xa0\x80\"}", "UTF-8-encoded surrogate ED A0 80 "
	    "");
}

static void
test_get(void)
{
	json_object	*o, *v;
	struct err	 e;
	const char	*body = "{\"event\":\"booking.updated\",\"data\":"
	    "{\"unit\":{\"type\":\"flat\"},\"n\":1,\"arr\":[{\"x\":1}],"
	    "\"nul\":null},\"a.b\":2}";

	if (payload_parse(body, strlen(body), PAYLOAD_MAX_DEPTH, &o, &e) != 0) {
		ok(0, "parse the lookup fixture: %s", e.msg);
		return;
	}
	v = payload_get(o, "data.unit.type");
	ok(v != NULL && json_object_is_type(v, json_type_string),
	    "data.unit.type found");
	is_str(v ? json_object_get_string(v) : NULL, "flat",
	    "data.unit.type = flat");
	v = payload_get(o, "event");
	is_str(v ? json_object_get_string(v) : NULL, "booking.updated",
	    "event = booking.updated");
	v = payload_get(o, "data.unit");
	ok(v != NULL && json_object_is_type(v, json_type_object),
	    "data.unit is the object");
	v = payload_get(o, "data.n");
	is_int(v ? json_object_get_int(v) : -1, 1, "data.n = 1");
	ok(payload_get(o, "data.missing") == NULL, "data.missing -> NULL");
	ok(payload_get(o, "missing") == NULL, "missing -> NULL");
	ok(payload_get(o, "missing.x") == NULL, "missing.x -> NULL");
	ok(payload_get(o, "data.n.x") == NULL, "through a number -> NULL");
	ok(payload_get(o, "event.x") == NULL, "through a string -> NULL");
	ok(payload_get(o, "data.arr.0") == NULL, "through an array -> NULL");
	ok(payload_get(o, "data.arr.x") == NULL, "array by name -> NULL");
	ok(payload_get(o, "data.nul.x") == NULL, "through null -> NULL");
	ok(payload_get(o, "") == NULL, "\"\" -> NULL");
	ok(payload_get(o, "data.") == NULL, "\"data.\" -> NULL");
	ok(payload_get(o, ".data") == NULL, "\".data\" -> NULL");
	ok(payload_get(o, "data..unit") == NULL, "\"data..unit\" -> NULL");
	ok(payload_get(o, "a.b") == NULL, "key with a dot is not reachable");
	ok(payload_get(NULL, "data") == NULL, "NULL object -> NULL");
	json_object_put(o);
}

static void
test_path_ok(void)
{
	char long_part[300];

	is_int(payload_path_ok("data.booking_id"), 1, "data.booking_id ok");
	is_int(payload_path_ok("id"), 1, "id ok");
	is_int(payload_path_ok("a.b.c.d"), 1, "a.b.c.d ok");
	is_int(payload_path_ok(""), 0, "\"\" refused");
	is_int(payload_path_ok("."), 0, "\".\" refused");
	is_int(payload_path_ok("a."), 0, "\"a.\" refused");
	is_int(payload_path_ok(".a"), 0, "\".a\" refused");
	is_int(payload_path_ok("a..b"), 0, "\"a..b\" refused");
	memset(long_part, 'k', 255);
	long_part[255] = '\0';
	is_int(payload_path_ok(long_part), 1, "255-byte part ok");
	memset(long_part, 'k', 256);
	long_part[256] = '\0';
	is_int(payload_path_ok(long_part), 0, "256-byte part refused");
}

static void
test_names(void)
{
	char s[256];

	is_int(event_name_ok("booking.updated"), 1, "name booking.updated");
	is_int(event_name_ok("a"), 1, "name a");
	is_int(event_name_ok("x-_.9"), 1, "name x-_.9");
	is_int(event_name_ok("Booking.Updated"), 1, "name Booking.Updated");
	is_int(event_name_ok("9"), 1, "name 9");
	memset(s, 'n', 128);
	s[128] = '\0';
	is_int(event_name_ok(s), 1, "name of 128 chars");
	s[128] = 'n';
	s[129] = '\0';
	is_int(event_name_ok(s), 0, "name of 129 chars refused");
	is_int(event_name_ok(".hidden"), 0, "name .hidden refused");
	is_int(event_name_ok("../x"), 0, "name ../x refused");
	is_int(event_name_ok("a/b"), 0, "name a/b refused");
	is_int(event_name_ok("a b"), 0, "name \"a b\" refused");
	is_int(event_name_ok(""), 0, "name \"\" refused");
	is_int(event_name_ok("-x"), 0, "name -x refused");
	is_int(event_name_ok("_x"), 0, "name _x refused");
	is_int(event_name_ok("a:b"), 0, "name a:b refused");
	is_int(event_name_ok("caf\xc3\xa9"), 0, "name with UTF-8 refused");
	is_int(event_name_ok("a\n"), 0, "name with newline refused");

	is_int(event_id_ok("evt_01"), 1, "id evt_01");
	is_int(event_id_ok("123"), 1, "id 123");
	is_int(event_id_ok("a:b"), 1, "id a:b");
	is_int(event_id_ok("_x"), 1, "id _x");
	is_int(event_id_ok("-x"), 1, "id -x");
	is_int(event_id_ok("a.b"), 1, "id a.b");
	memset(s, 'i', 200);
	s[200] = '\0';
	is_int(event_id_ok(s), 1, "id of 200 chars");
	s[200] = 'i';
	s[201] = '\0';
	is_int(event_id_ok(s), 0, "id of 201 chars refused");
	is_int(event_id_ok(".x"), 0, "id .x refused");
	is_int(event_id_ok("../x"), 0, "id ../x refused");
	is_int(event_id_ok("a/b"), 0, "id a/b refused");
	is_int(event_id_ok(""), 0, "id \"\" refused");
	is_int(event_id_ok("a b"), 0, "id \"a b\" refused");
	is_int(event_id_ok("."), 0, "id . refused");
	is_int(event_id_ok(".."), 0, "id .. refused");
}

/* At most PAYLOAD_MAX_VALUES values: json-c's cost per value is large. */
static void
test_values(void)
{
	struct err	 e;
	json_object	*o = NULL;
	char		*b;
	size_t		 n, i, len;

	/* {"a":[0,0,...]}: the object, the array and n numbers. */
	for (n = PAYLOAD_MAX_VALUES - 2; n <= PAYLOAD_MAX_VALUES - 1; n++) {
		len = 6 + 2 * n + 1;
		if ((b = malloc(len + 1)) == NULL)
			return;
		memcpy(b, "{\"a\":[", 6);
		for (i = 0; i < n; i++) {
			b[6 + 2 * i] = '0';
			b[7 + 2 * i] = i + 1 < n ? ',' : ']';
		}
		b[len - 1] = '}';
		b[len] = '\0';
		if (n + 2 <= PAYLOAD_MAX_VALUES) {
			is_int(payload_parse(b, len, 32, &o, &e), 0,
			    "%zu values: accepted", n + 2);
		} else {
			is_int(payload_parse(b, len, 32, &o, &e), -1,
			    "%zu values: refused", n + 2);
			ok(strstr(e.msg, "more than 100000 values") != NULL,
			    "says the limit (%s)", e.msg);
		}
		json_object_put(o);
		o = NULL;
		free(b);
	}
}

int
main(void)
{
	test_basic();
	test_depth();
	test_strict_holes();
	test_get();
	test_path_ok();
	test_names();
	test_values();
	return tap_done();
}
