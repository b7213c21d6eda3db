/* test-form: the application/x-www-form-urlencoded decoder: escapes,
 * '+', empty and valueless pairs, sorting by name then value, bytes after
 * %00, and what it refuses. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "tap.h"

static int
pair_is(const struct form *f, size_t i, const char *name, const char *value)
{
	return i < f->n && f->v[i].namelen == strlen(name) &&
	    f->v[i].valuelen == strlen(value) &&
	    strcmp(f->v[i].name, name) == 0 &&
	    strcmp(f->v[i].value, value) == 0;
}

static void
test_decode(void)
{
	const char	*s = "To=%2B18005551212&Body=Hello+W%C3%B6rld%21&"
	    "Caller=&Digits&&=x&b=2&b=1&a%3Db=c%26d";
	struct form	 f;
	struct err	 e;

	is_int(form_parse(s, strlen(s), &f, &e), 0, "a form parses");
	is_int(f.n, 8, "8 pairs (the empty one skipped)");
	/* Sorted by the bytes of the name, then of the value. */
	ok(pair_is(&f, 0, "", "x"), "'=x': an empty name, first");
	ok(pair_is(&f, 1, "Body", "Hello W\xc3\xb6rld!"), "'+' is a space, "
	    "%%XX a byte (UTF-8 kept as bytes)");
	ok(pair_is(&f, 2, "Caller", ""), "'Caller=': an empty value");
	ok(pair_is(&f, 3, "Digits", ""), "'Digits' without '=': an empty "
	    "value");
	ok(pair_is(&f, 4, "To", "+18005551212"), "%%2B is '+'");
	ok(pair_is(&f, 5, "a=b", "c&d"), "escaped '=' and '&' are data");
	ok(pair_is(&f, 6, "b", "1") && pair_is(&f, 7, "b", "2"),
	    "a name twice: both, values sorted");
	ok(form_get(&f, "To") == &f.v[4], "form_get finds a name");
	ok(form_get(&f, "to") == NULL, "names are case-sensitive");
	form_free(&f);
	is_int(f.n, 0, "form_free empties it");
}

static void
test_bytes(void)
{
	struct form	 f;
	struct err	 e;

	is_int(form_parse("k=a%00b", 7, &f, &e), 0, "%%00 decodes");
	ok(f.n == 1 && f.v[0].valuelen == 3 && memcmp(f.v[0].value, "a\0b",
	    3) == 0, "to a NUL byte, the length kept");
	form_free(&f);
	is_int(form_parse("k=ab&z=1", 4, &f, &e), 0, "only len bytes read");
	ok(f.n == 1 && pair_is(&f, 0, "k", "ab"), "the rest ignored");
	form_free(&f);
	is_int(form_parse("", 0, &f, &e), 0, "an empty form parses");
	is_int(f.n, 0, "to no pairs");
	form_free(&f);
	is_int(form_parse("Zb=1&Za=1&a=1", 13, &f, &e), 0, "upper case sorts");
	ok(pair_is(&f, 0, "Za", "1") && pair_is(&f, 2, "a", "1"),
	    "before lower case (byte order)");
	form_free(&f);
}

static void
test_refused(void)
{
	static const char *const bad[] = { "a=%", "a=%4", "a=%zz", "%g0=1",
	    "a=1&b=%2" };
	struct form	 f;
	struct err	 e;
	char		*many;
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		is_int(form_parse(bad[i], strlen(bad[i]), &f, &e), -1,
		    "'%s' refused", bad[i]);
		ok(f.n == 0 && f.v == NULL, "and the form left empty");
	}
	ok(strstr(e.msg, "hexadecimal") != NULL, "the reason: %s", e.msg);
	many = malloc(2 * FORM_MAX_PAIRS + 1);
	for (i = 0; i < FORM_MAX_PAIRS; i++)
		memcpy(many + 2 * i, "a&", 2);
	many[2 * FORM_MAX_PAIRS - 1] = '\0';
	is_int(form_parse(many, strlen(many), &f, &e), 0,
	    "%d pairs parse", FORM_MAX_PAIRS);
	is_int(f.n, FORM_MAX_PAIRS, "all of them");
	form_free(&f);
	many[2 * FORM_MAX_PAIRS - 1] = '&';
	many[2 * FORM_MAX_PAIRS] = '\0';
	is_int(form_parse(many, strlen(many), &f, &e), -1,
	    "one more '&' is refused");
	free(many);
}

int
main(void)
{
	test_decode();
	test_bytes();
	test_refused();
	return tap_done();
}
