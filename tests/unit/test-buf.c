/* test-buf: growth of the byte buffer and the JSON string writer. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tap.h"

/* The JSON literal buf_json_str makes of n bytes of s. */
static const char *
json(struct buf *b, const char *s, size_t n)
{
	buf_reset(b);
	buf_json_str(b, s, n);
	return buf_cstr(b);
}

static void
test_growth(void)
{
	struct buf	b = { NULL, 0, 0, 0 };
	char		want[1024];
	size_t		i;

	is_str(buf_cstr(&b), "", "empty buffer reads as \"\"");

	/* 300 one-byte appends cross the first 256-byte allocation. */
	for (i = 0; i < 300; i++) {
		buf_putc(&b, 'a' + (int)(i % 26));
		want[i] = (char)('a' + i % 26);
	}
	want[300] = '\0';
	is_int(b.len, 300, "300 putc: length 300");
	ok(b.cap > 300, "300 putc: capacity grew past 300 (cap %zu)", b.cap);
	is_int(b.oom, 0, "300 putc: no oom");
	is_str(buf_cstr(&b), want,
	    "300 putc: content exact and NUL-terminated");

	/* One large append. */
	buf_reset(&b);
	is_int(b.len, 0, "reset: length 0");
	is_str(buf_cstr(&b), "", "reset: reads as \"\"");
	memset(want, 'x', 600);
	want[600] = '\0';
	buf_add(&b, want, 600);
	is_int(b.len, 600, "add 600: length 600");
	is_str(buf_cstr(&b), want, "add 600: content exact");
	buf_free(&b);

	/* printf output longer than 256 bytes into a fresh buffer. */
	buf_puts(&b, "head:");
	buf_printf(&b, "%0300d|%s", 7, "tail");
	is_int(b.len, 5 + 300 + 5, "printf 300+: length");
	ok(b.len == strlen(buf_cstr(&b)), "printf 300+: NUL right after");
	ok(strncmp(buf_cstr(&b), "head:000", 8) == 0,
	    "printf 300+: starts with the earlier content");
	is_str(buf_cstr(&b) + 5 + 299, "7|tail", "printf 300+: ends exactly");

	/* Many printf calls, each re-growing. */
	buf_reset(&b);
	for (i = 0; i < 100; i++)
		buf_printf(&b, "%03zu,", i);
	is_int(b.len, 400, "100 printf: length 400");
	is_str(buf_cstr(&b) + 392, "098,099,", "100 printf: last items exact");
	ok(strncmp(buf_cstr(&b), "000,001,002,", 12) == 0,
	    "100 printf: first items exact");
	buf_free(&b);
	is_int(b.len, 0, "free: length 0");
	ok(b.p == NULL, "free: memory released");
}

static void
test_json_escapes(void)
{
	struct buf b = { NULL, 0, 0, 0 };

	is_str(json(&b, "plain", 5), "\"plain\"", "plain text quoted");
	is_str(json(&b, "", 0), "\"\"", "empty string");
	is_str(json(&b, "a\"b", 3), "\"a\\\"b\"", "quote escaped");
	is_str(json(&b, "a\\b", 3), "\"a\\\\b\"", "backslash escaped");
	is_str(json(&b, "\n\r\t", 3), "\"\\n\\r\\t\"", "\\n \\r \\t escaped");
	is_str(json(&b, "\x01", 1), "\"\\u0001\"", "0x01 -> \\u0001");
	is_str(json(&b, "\x1f", 1), "\"\\u001f\"", "0x1f -> \\u001f");
	is_str(json(&b, "\x7f", 1), "\"\\u007f\"", "0x7f -> \\u007f");
	is_str(json(&b, "a\0b", 3), "\"a\\u0000b\"",
	    "embedded NUL with explicit length -> \\u0000");
	is_str(json(&b, "/<>'", 4), "\"/<>'\"", "/ < > ' pass unchanged");
	buf_free(&b);
}

static void
test_json_utf8(void)
{
	struct buf b = { NULL, 0, 0, 0 };

	/* Valid UTF-8 passes through unchanged. */
	is_str(json(&b, "\xc3\xa9", 2), "\"\xc3\xa9\"",
	    "e-acute (2 bytes) kept");
	is_str(json(&b, "\xe2\x82\xac", 3), "\"\xe2\x82\xac\"",
	    "euro sign (3 bytes) kept");
	is_str(json(&b, "\xf0\x9f\x98\x80", 4), "\"\xf0\x9f\x98\x80\"",
	    "emoji (4 bytes) kept");
	is_str(json(&b, "\xf4\x8f\xbf\xbf", 4), "\"\xf4\x8f\xbf\xbf\"",
	    "U+10FFFF kept");
	is_str(json(&b, "\xef\xbf\xbf", 3), "\"\xef\xbf\xbf\"", "U+FFFF kept");

	/* Invalid UTF-8: each byte that starts no valid sequence becomes
	 * one U+FFFD, and the bytes after it are examined again. */
	is_str(json(&b, "\xff", 1), "\"\\ufffd\"", "lone 0xff -> \\ufffd");
	is_str(json(&b, "a\xff" "b", 3), "\"a\\ufffdb\"",
	    "0xff between ASCII -> a\\ufffdb");
	is_str(json(&b, "\x80", 1), "\"\\ufffd\"",
	    "lone continuation byte -> \\ufffd");
	is_str(json(&b, "\xe2\x82", 2), "\"\\ufffd\\ufffd\"",
	    "truncated euro at end -> \\ufffd per byte");
	is_str(json(&b, "\xe2\x82" "A", 3), "\"\\ufffd\\ufffdA\"",
	    "truncated euro before ASCII: the ASCII byte survives");
	is_str(json(&b, "\xf0\x9f\x98", 3), "\"\\ufffd\\ufffd\\ufffd\"",
	    "truncated 4-byte sequence -> \\ufffd per byte");
	is_str(json(&b, "\xc0\x80", 2), "\"\\ufffd\\ufffd\"",
	    "overlong C0 80 -> \\ufffd\\ufffd");
	is_str(json(&b, "\xe0\x80\xaf", 3), "\"\\ufffd\\ufffd\\ufffd\"",
	    "overlong E0 80 AF -> \\ufffd x3");
	is_str(json(&b, "\xf0\x80\x80\x80", 4),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "overlong F0 80 80 80 -> x4");
	is_str(json(&b, "\xed\xa0\x80", 3), "\"\\ufffd\\ufffd\\ufffd\"",
	    "surrogate ED A0 80 -> \\ufffd x3");
	is_str(json(&b, "\xf4\x90\x80\x80", 4),
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"", "above U+10FFFF -> x4");
	is_str(json(&b, "\xc3\xa9\xff\xc3\xa9", 5),
	    "\"\xc3\xa9\\ufffd\xc3\xa9\"", "valid around invalid kept");
	buf_free(&b);
}

static void
test_json_cstr(void)
{
	struct buf b = { NULL, 0, 0, 0 };

	buf_json_cstr(&b, NULL);
	is_str(buf_cstr(&b), "null", "json_cstr(NULL) -> null");
	buf_reset(&b);
	buf_json_cstr(&b, "");
	is_str(buf_cstr(&b), "\"\"", "json_cstr(\"\") -> \"\"");
	buf_reset(&b);
	buf_json_cstr(&b, "k\"v");
	is_str(buf_cstr(&b), "\"k\\\"v\"", "json_cstr escapes");
	buf_reset(&b);
	buf_puts(&b, "{\"a\":");
	buf_json_cstr(&b, "x");
	buf_putc(&b, '}');
	is_str(buf_cstr(&b), "{\"a\":\"x\"}", "json_cstr appends");
	buf_free(&b);
}

int
main(void)
{
	test_growth();
	test_json_escapes();
	test_json_utf8();
	test_json_cstr();
	return tap_done();
}
