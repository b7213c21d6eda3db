/* buf: a growable byte buffer and the JSON string writer every answer,
 * envelope and log line goes through. */
#ifndef HOOKPIPE_BUF_H
#define HOOKPIPE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;		/* an append failed; the content is truncated */
};

/* Release the memory and reset to empty. */
void	buf_free(struct buf *);
/* Forget the content, keep the memory. */
void	buf_reset(struct buf *);
/* Make room for n more bytes; 0 or -1 (and oom set). */
int	buf_reserve(struct buf *, size_t);
/* Append n bytes. */
void	buf_add(struct buf *, const void *, size_t);
/* Append a C string. */
void	buf_puts(struct buf *, const char *);
/* Append one byte. */
void	buf_putc(struct buf *, int);
/* Append printf-formatted text. */
void	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Length (1-4) of the valid UTF-8 sequence at s, of at most n bytes; 0
 * when invalid (overlong, surrogate, past U+10FFFF, truncated). */
size_t	utf8_len(const unsigned char *, size_t);
/* Append a JSON string literal (quotes included) of n bytes: control
 * characters are escaped and invalid UTF-8 becomes U+FFFD. */
void	buf_json_str(struct buf *, const char *, size_t);
/* buf_json_str of a C string, or `null` when s is NULL. */
void	buf_json_cstr(struct buf *, const char *);
/* ,"key":value with value as buf_json_cstr writes it: one member of an
 * object being written. */
void	buf_json_kv(struct buf *, const char *, const char *);
/* NUL-terminated view of the content (never NULL). */
const char *buf_cstr(struct buf *);

#endif
