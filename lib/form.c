/* form: the application/x-www-form-urlencoded decoder. Names and values
 * are decoded into one buffer (never longer than the input), so a form
 * costs two allocations whatever its size. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "form.h"

static int
hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode s[0..n) into out, NUL-terminated; the decoded length, or -1. */
static long
decode(const char *s, size_t n, char *out)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] != '%')
			out[o++] = s[i];
		else {
			if (n - i < 3)
				return -1;
			if ((hi = hexdigit((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexdigit((unsigned char)s[i + 2])) < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	out[o] = '\0';
	return (long)o;
}

static int
bytecmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
paircmp(const void *a, const void *b)
{
	const struct form_pair	*x = a, *y = b;
	int			 c;

	if ((c = bytecmp(x->name, x->namelen, y->name, y->namelen)) != 0)
		return c;
	return bytecmp(x->value, x->valuelen, y->value, y->valuelen);
}

int
form_parse(const char *s, size_t len, struct form *f, struct err *e)
{
	const char	*p, *end, *amp, *eq;
	char		*out;
	size_t		 n = 0, i;
	long		 k, v;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < len; i++)
		n += s[i] == '&';
	if (n + 1 > FORM_MAX_PAIRS)
		return err_set(e, "form of more than %d pairs",
		    FORM_MAX_PAIRS);
	/* Each pair's name and value end in a NUL of their own. */
	if ((f->v = calloc(n + 1, sizeof(*f->v))) == NULL ||
	    (f->buf = malloc(len + 2 * (n + 1))) == NULL) {
		form_free(f);
		return err_sys(e, "form");
	}
	out = f->buf;
	for (p = s, end = s + len; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (amp == p)
			continue;
		if ((eq = memchr(p, '=', (size_t)(amp - p))) == NULL)
			eq = amp;
		if ((k = decode(p, (size_t)(eq - p), out)) < 0)
			goto bad;
		f->v[f->n].name = out;
		f->v[f->n].namelen = (size_t)k;
		out += k + 1;
		v = 0;
		if (eq < amp && (v = decode(eq + 1, (size_t)(amp - eq - 1),
		    out)) < 0)
			goto bad;
		if (eq == amp)
			*out = '\0';
		f->v[f->n].value = out;
		f->v[f->n].valuelen = (size_t)v;
		out += v + 1;
		f->n++;
	}
	qsort(f->v, f->n, sizeof(*f->v), paircmp);
	return 0;
bad:
	form_free(f);
	return err_set(e, "a %% not followed by two hexadecimal digits");
}

const struct form_pair *
form_get(const struct form *f, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < f->n; i++)
		if (f->v[i].namelen == n && memcmp(f->v[i].name, name, n) == 0)
			return &f->v[i];
	return NULL;
}

void
form_free(struct form *f)
{
	free(f->v);
	free(f->buf);
	memset(f, 0, sizeof(*f));
}
