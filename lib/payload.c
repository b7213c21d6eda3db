/* payload: strict JSON parsing with json-c. json-c accepts trailing
 * bytes, invalid UTF-8 and NUL escapes unless told otherwise, so every
 * one of those is checked here. */
#include "config.h"

#include <string.h>

#include "buf.h"
#include "payload.h"

/* A strict RFC 8259 checker run before json-c builds the tree: json-c
 * lets NaN, single quotes, raw control characters, overlong UTF-8 and
 * lone surrogates through even in strict mode, and counts depth in a way
 * that depends on what the innermost value is. */
struct jcheck {
	const unsigned char	*p;
	const unsigned char	*start;
	const unsigned char	*end;
	int			 depth;
	int			 maxdepth;
	size_t			 values;	/* counted, at most
						   PAYLOAD_MAX_VALUES */
	const char		*why;
};

static int	jc_value(struct jcheck *);

static int
jc_fail(struct jcheck *j, const char *why)
{
	if (j->why == NULL)
		j->why = why;
	return -1;
}

static void
jc_ws(struct jcheck *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int
jc_hex4(struct jcheck *j, unsigned *out)
{
	unsigned	v = 0;
	int		i, c;

	if (j->end - j->p < 4)
		return jc_fail(j, "truncated \\u escape");
	for (i = 0; i < 4; i++) {
		c = j->p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return jc_fail(j, "bad \\u escape");
	}
	j->p += 4;
	*out = v;
	return 0;
}

/* One multi-byte UTF-8 sequence. */
static int
jc_utf8(struct jcheck *j)
{
	size_t len = utf8_len(j->p, (size_t)(j->end - j->p));

	if (len == 0)
		return jc_fail(j, "invalid UTF-8");
	j->p += len;
	return 0;
}

static int
jc_string(struct jcheck *j)
{
	unsigned u, lo;

	j->p++;		/* the opening quote */
	for (;;) {
		if (j->p >= j->end)
			return jc_fail(j, "unterminated string");
		if (*j->p == '"') {
			j->p++;
			return 0;
		}
		if (*j->p < 0x20)
			return jc_fail(j, "control character in a string");
		if (*j->p >= 0x80) {
			if (jc_utf8(j) == -1)
				return -1;
			continue;
		}
		if (*j->p != '\\') {
			j->p++;
			continue;
		}
		if (++j->p >= j->end)
			return jc_fail(j, "unterminated string");
		switch (*j->p++) {
		case '"': case '\\': case '/': case 'b': case 'f': case 'n':
		case 'r': case 't':
			break;
		case 'u':
			if (jc_hex4(j, &u) == -1)
				return -1;
			if (u == 0)
				return jc_fail(j, "\\u0000 in a string");
			if (u >= 0xdc00 && u <= 0xdfff)
				return jc_fail(j, "lone low surrogate");
			if (u >= 0xd800 && u <= 0xdbff) {
				if (j->end - j->p < 6 || j->p[0] != '\\' ||
				    j->p[1] != 'u')
					return jc_fail(j, "lone high surrogate");
				j->p += 2;
				if (jc_hex4(j, &lo) == -1)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return jc_fail(j, "lone high surrogate");
			}
			break;
		default:
			return jc_fail(j, "bad escape in a string");
		}
	}
}

static int
jc_digits(struct jcheck *j)
{
	const unsigned char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : jc_fail(j, "malformed number");
}

static int
jc_number(struct jcheck *j)
{
	if (*j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (jc_digits(j) == -1)
		return -1;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (jc_digits(j) == -1)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (jc_digits(j) == -1)
			return -1;
	}
	return 0;
}

static int
jc_word(struct jcheck *j, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return jc_fail(j, "unexpected character");
	j->p += n;
	return 0;
}

/* An object or array: the members, the separators, the depth. */
static int
jc_container(struct jcheck *j, int close)
{
	if (++j->depth > j->maxdepth)
		return jc_fail(j, "nested too deep");
	j->p++;
	jc_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		if (close == '}') {
			if (j->p >= j->end || *j->p != '"')
				return jc_fail(j, "expected a string key");
			if (jc_string(j) == -1)
				return -1;
			jc_ws(j);
			if (j->p >= j->end || *j->p != ':')
				return jc_fail(j, "expected ':'");
			j->p++;
			jc_ws(j);
		}
		if (jc_value(j) == -1)
			return -1;
		jc_ws(j);
		if (j->p >= j->end)
			return jc_fail(j, "unexpected end of body");
		if (*j->p == close) {
			j->p++;
			j->depth--;
			return 0;
		}
		if (*j->p != ',')
			return jc_fail(j, close == '}' ? "expected ',' or '}'" :
			    "expected ',' or ']'");
		j->p++;
		jc_ws(j);
	}
}

static int
jc_value(struct jcheck *j)
{
	if (j->p >= j->end)
		return jc_fail(j, "unexpected end of body");
	/* json-c spends up to ~800 bytes on each value ({} alone): a
	 * million of them in a 3 MB body would cost 780 MB. */
	if (++j->values > PAYLOAD_MAX_VALUES)
		return jc_fail(j, "too many values");
	switch (*j->p) {
	case '{':
		return jc_container(j, '}');
	case '[':
		return jc_container(j, ']');
	case '"':
		return jc_string(j);
	case 't':
		return jc_word(j, "true");
	case 'f':
		return jc_word(j, "false");
	case 'n':
		return jc_word(j, "null");
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return jc_number(j);
		return jc_fail(j, "unexpected character");
	}
}

/* 0 when the body is one strict JSON value (plus white space). */
static int
json_check(const char *body, size_t len, int depth, struct err *e)
{
	struct jcheck j;

	memset(&j, 0, sizeof(j));
	j.p = j.start = (const unsigned char *)body;
	j.end = j.p + len;
	j.maxdepth = depth;
	jc_ws(&j);
	if (jc_value(&j) == 0) {
		jc_ws(&j);
		if (j.p == j.end)
			return 0;
		j.why = "trailing bytes after the value";
	}
	if (j.why != NULL && strcmp(j.why, "nested too deep") == 0)
		return err_set(e, "JSON nested deeper than %d", depth);
	if (j.why != NULL && strcmp(j.why, "too many values") == 0)
		return err_set(e, "JSON holds more than %d values",
		    PAYLOAD_MAX_VALUES);
	return err_set(e, "invalid JSON at byte %zu: %s",
	    (size_t)(j.p - j.start), j.why);
}

int
payload_parse(const char *body, size_t len, int depth, json_object **out,
    struct err *e)
{
	struct json_tokener	*tok;
	json_object		*root;
	enum json_tokener_error	 jerr;
	size_t			 end;

	*out = NULL;
	if (len == 0)
		return err_set(e, "empty body");
	if (len > (size_t)0x7fffffff)
		return err_set(e, "body too large to parse");
	if (memchr(body, '\0', len) != NULL)
		return err_set(e, "body holds a NUL byte");
	if (json_check(body, len, depth, e) == -1)
		return -1;
	/* The checker's depth counts containers; json-c also counts the
	 * innermost scalar, hence the margin. */
	if ((tok = json_tokener_new_ex(depth + 2)) == NULL)
		return err_set(e, "out of memory");
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success || root == NULL) {
		json_object_put(root);
		return err_set(e, "invalid JSON at byte %zu: %s", end,
		    json_tokener_error_desc(jerr));
	}
	/* The checker accepted only white space after the value. */
	while (end < len && (body[end] == ' ' || body[end] == '\t' ||
	    body[end] == '\n' || body[end] == '\r'))
		end++;
	if (end != len) {
		json_object_put(root);
		return err_set(e, "invalid JSON: trailing bytes after the value "
		    "at byte %zu", end);
	}
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return err_set(e, "JSON top level is not an object");
	}
	*out = root;
	return 0;
}

const char *
json_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

json_object *
payload_get(json_object *o, const char *path)
{
	char		 part[256];
	const char	*p = path, *dot;
	size_t		 n;

	while (o != NULL) {
		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		if (n == 0 || n >= sizeof(part) ||
		    !json_object_is_type(o, json_type_object))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		if (!json_object_object_get_ex(o, part, &o))
			return NULL;
		if (dot == NULL)
			return o;
		p = dot + 1;
	}
	return NULL;
}

int
payload_path_ok(const char *path)
{
	const char	*p;
	size_t		 n = 0;

	if (*path == '\0')
		return 0;
	for (p = path; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (n == 0 || n > 255)
				return 0;
			if (*p == '\0')
				return 1;
			n = 0;
		} else
			n++;
	}
}

static int
name_chars_ok(const char *s, const char *first, const char *rest,
    size_t max)
{
	size_t i;

	if (s[0] == '\0' || strchr(first, s[0]) == NULL)
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (i >= max || strchr(rest, s[i]) == NULL)
			return 0;
	return 1;
}

#define ALNUM	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

int
event_name_ok(const char *s)
{
	return name_chars_ok(s, ALNUM, ALNUM "._-", EVENT_NAME_MAX);
}

int
event_id_ok(const char *s)
{
	return name_chars_ok(s, ALNUM "_:-", ALNUM "._:-", EVENT_ID_MAX);
}
