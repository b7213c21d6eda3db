/* payload: strict JSON parsing with json-c. json-c accepts trailing
 * bytes, invalid UTF-8 and NUL escapes unless told otherwise, so every
 * one of those is checked here. */
#include "config.h"

#include <string.h>

#include "payload.h"

/* The body is valid JSON when this runs, so a backslash only occurs
 * inside a string and starts an escape. */
static int
has_nul_escape(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && i + 5 < n &&
		    memcmp(s + i + 2, "0000", 4) == 0)
			return 1;
		i++;
	}
	return 0;
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
	if ((tok = json_tokener_new_ex(depth + 1)) == NULL)
		return err_set(e, "out of memory");
	json_tokener_set_flags(tok,
	    JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue) {
		json_object_put(root);
		return err_set(e, "invalid JSON: unexpected end of body");
	}
	if (jerr != json_tokener_success || root == NULL) {
		json_object_put(root);
		if (jerr == json_tokener_error_depth)
			return err_set(e, "JSON nested deeper than %d", depth);
		return err_set(e, "invalid JSON at byte %zu: %s", end,
		    json_tokener_error_desc(jerr));
	}
	/* Trailing white space is part of the JSON text; anything else is
	 * not. */
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
	if (has_nul_escape(body, len)) {
		json_object_put(root);
		return err_set(e, "JSON string holds \\u0000");
	}
	*out = root;
	return 0;
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
