/* buf: growable byte buffer and a JSON string writer that never emits
 * invalid UTF-8 or raw control characters. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void
buf_free(struct buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 ncap;
	char	*np;

	if (b->oom)
		return -1;
	if (n < b->cap - b->len && b->p != NULL)
		return 0;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = 1;
		return -1;
	}
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len <= n)
		ncap *= 2;
	if ((np = realloc(b->p, ncap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = ncap;
	return 0;
}

void
buf_add(struct buf *b, const void *s, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_putc(struct buf *b, int c)
{
	char ch = (char)c;

	buf_add(b, &ch, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || buf_reserve(b, (size_t)n + 1) == -1)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

size_t
utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t	 len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Shortest form only, no surrogates, nothing past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
buf_json_str(struct buf *b, const char *str, size_t n)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i, k;

	buf_putc(b, '"');
	for (i = 0; i < n; i += k) {
		k = 1;
		switch (s[i]) {
		case '"':
			buf_puts(b, "\\\"");
			continue;
		case '\\':
			buf_puts(b, "\\\\");
			continue;
		case '\n':
			buf_puts(b, "\\n");
			continue;
		case '\r':
			buf_puts(b, "\\r");
			continue;
		case '\t':
			buf_puts(b, "\\t");
			continue;
		default:
			break;
		}
		if (s[i] < 0x20 || s[i] == 0x7f) {
			buf_printf(b, "\\u%04x", s[i]);
			continue;
		}
		if ((k = utf8_len(s + i, n - i)) == 0) {
			buf_puts(b, "\\ufffd");
			k = 1;
			continue;
		}
		buf_add(b, s + i, k);
	}
	buf_putc(b, '"');
}

void
buf_json_cstr(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_puts(b, "null");
	else
		buf_json_str(b, s, strlen(s));
}

const char *
buf_cstr(struct buf *b)
{
	if (b->p == NULL)
		return "";
	return b->p;
}

void
buf_json_kv(struct buf *b, const char *key, const char *value)
{
	buf_putc(b, ',');
	buf_json_cstr(b, key);
	buf_putc(b, ':');
	buf_json_cstr(b, value);
}
