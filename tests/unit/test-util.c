/* test-util: size/duration/boolean parsers, comma lists, random names,
 * timestamps, read_file and the diagnostics' one form. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"
#include "tap.h"

static void
size_ok(const char *s, size_t want)
{
	size_t v = 12345;

	is_int(parse_size(s, &v), 0, "parse_size(\"%s\") accepted", s);
	is_int(v, want, "parse_size(\"%s\") = %zu", s, want);
}

static void
size_bad(const char *s)
{
	size_t v = 12345;

	is_int(parse_size(s, &v), -1, "parse_size(\"%s\") rejected", s);
	is_int(v, 12345, "parse_size(\"%s\") leaves the output alone", s);
}

static void
test_parse_size(void)
{
	size_ok("1048576", 1048576);
	size_ok("0", 0);
	size_ok("512K", 512 * 1024);
	size_ok("512k", 512 * 1024);
	size_ok("1M", 1024 * 1024);
	size_ok("2G", (size_t)2 * 1024 * 1024 * 1024);
	size_ok("1MB", 1024 * 1024);
	size_ok("64KB", 64 * 1024);
	size_bad("");
	size_bad("-1");
	size_bad("+1");
	size_bad(" 1");
	size_bad("1X");
	size_bad("K");
	size_bad("1 M");
	size_bad("1MBB");
	size_bad("1.5M");
	size_bad("99999999999999999999");
	size_bad("17179869184G");	/* 2^34 * 2^30 = 2^64 overflows */
}

static void
dur_ok(const char *s, long want)
{
	long v = 12345;

	is_int(parse_duration(s, &v), 0, "parse_duration(\"%s\") accepted", s);
	is_int(v, want, "parse_duration(\"%s\") = %ld", s, want);
}

static void
dur_bad(const char *s)
{
	long v = 12345;

	is_int(parse_duration(s, &v), -1, "parse_duration(\"%s\") rejected", s);
	is_int(v, 12345, "parse_duration(\"%s\") leaves the output alone", s);
}

static void
test_parse_duration(void)
{
	dur_ok("30", 30);
	dur_ok("30s", 30);
	dur_ok("5m", 300);
	dur_ok("2h", 7200);
	dur_ok("1d", 86400);
	dur_ok("0", 0);
	dur_bad("1x");
	dur_bad("s");
	dur_bad("");
	dur_bad("5mm");
	dur_bad("-5");
	dur_bad("5 m");
	dur_bad("5M");
	dur_bad("99999999999999999999");
	dur_bad("36501d");	/* beyond the 100-year bound */
}

static void
test_parse_bool(void)
{
	static const char *const yes[] = { "yes", "YES", "Yes", "true", "TRUE",
	    "on", "On", "1", NULL };
	static const char *const no[] = { "no", "NO", "false", "False", "off",
	    "OFF", "0", NULL };
	static const char *const neither[] = { "", "y", "n", "2", "yess",
	    " yes", "yes ", "enable", "01", NULL };
	size_t i;

	for (i = 0; yes[i] != NULL; i++)
		is_int(parse_bool(yes[i]), 1, "parse_bool(\"%s\") = 1", yes[i]);
	for (i = 0; no[i] != NULL; i++)
		is_int(parse_bool(no[i]), 0, "parse_bool(\"%s\") = 0", no[i]);
	for (i = 0; neither[i] != NULL; i++)
		is_int(parse_bool(neither[i]), -1, "parse_bool(\"%s\") = -1",
		    neither[i]);
}

static void
test_strlist(void)
{
	struct strlist l;

	is_int(strlist_split(&l, " a, b ,,c "), 0, "split \" a, b ,,c \"");
	is_int(l.n, 3, "split: 3 items");
	if (l.n == 3) {
		is_str(l.v[0], "a", "split: item 0 \"a\"");
		is_str(l.v[1], "b", "split: item 1 \"b\"");
		is_str(l.v[2], "c", "split: item 2 \"c\"");
	}
	strlist_free(&l);
	is_int(l.n, 0, "strlist_free empties");
	ok(l.v == NULL, "strlist_free releases");

	is_int(strlist_split(&l, ""), 0, "split \"\"");
	is_int(l.n, 0, "split \"\": 0 items");
	strlist_free(&l);

	is_int(strlist_split(&l, " , ,\t, "), 0, "split of blanks and commas");
	is_int(l.n, 0, "split of blanks and commas: 0 items");
	strlist_free(&l);

	is_int(strlist_split(&l, "one two"), 0, "split \"one two\"");
	is_int(l.n, 1, "inner space kept: 1 item");
	if (l.n == 1)
		is_str(l.v[0], "one two", "inner space kept");
	strlist_free(&l);
}

static int
all_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (strchr("0123456789abcdef", *s) == NULL)
			return 0;
	return 1;
}

static void
test_random_hex(void)
{
	char a[129], b[129], small[8];

	memset(a, 'Z', sizeof(a));
	is_int(random_hex(a, 16), 0, "random_hex 16 bytes");
	is_int(strlen(a), 32, "random_hex 16 bytes: 32 digits");
	ok(all_hex(a), "random_hex: lowercase hex only (%s)", a);
	is_int(random_hex(b, 16), 0, "random_hex again");
	ok(strcmp(a, b) != 0, "two calls differ");

	is_int(random_hex(a, 64), 0, "random_hex 64 bytes (the maximum)");
	is_int(strlen(a), 128, "random_hex 64 bytes: 128 digits");
	ok(all_hex(a), "random_hex 64: hex only");
	is_int(random_hex(a, 65), -1, "random_hex over 64 bytes refused");

	memset(small, 'Z', sizeof(small));
	is_int(random_hex(small, 0), 0, "random_hex 0 bytes");
	is_str(small, "", "random_hex 0 bytes: empty string");
}

static void
test_fmt_time(void)
{
	char out[32];

	fmt_time_us(0, out, sizeof(out));
	is_str(out, "1970-01-01T00:00:00.000000Z", "fmt_time_us(0)");
	fmt_time_us(INT64_C(1764320043123456), out, sizeof(out));
	is_str(out, "2025-11-28T08:54:03.123456Z",
	    "fmt_time_us(1764320043123456)");
	fmt_time_us(INT64_C(1764320043000001), out, sizeof(out));
	is_str(out, "2025-11-28T08:54:03.000001Z",
	    "fmt_time_us keeps leading zeros");
	fmt_time_us(INT64_C(951782400999999), out, sizeof(out));
	is_str(out, "2000-02-29T00:00:00.999999Z", "fmt_time_us leap day");
}

static void
test_read_file(void)
{
	char		 dir[] = "/tmp/hookpipe-test-util.XXXXXX";
	char		 path[256], big[256], *p = NULL;
	struct err	 e;
	size_t		 len = 999;
	int		 fd;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	(void)snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd != -1 && write(fd, "hello\0world", 11) == 11 && close(fd) == 0,
	    "write a test file");

	is_int(read_file(path, 100, &p, &len, &e), 0, "read_file reads");
	is_int(len, 11, "read_file: length 11");
	ok(p != NULL && memcmp(p, "hello\0world", 12) == 0,
	    "read_file: bytes exact and NUL-terminated");
	free(p);
	p = NULL;

	is_int(read_file(path, 11, &p, NULL, &e), 0,
	    "read_file at exactly max succeeds (outlen NULL allowed)");
	free(p);
	p = NULL;

	memset(&e, 0, sizeof(e));
	is_int(read_file(path, 10, &p, &len, &e), -1,
	    "read_file refuses a file over max");
	ok(p == NULL, "read_file over max: no buffer");
	ok(strstr(e.msg, path) != NULL, "over max: message names the path (%s)",
	    e.msg);
	ok(strstr(e.msg, "larger than 10 bytes") != NULL,
	    "over max: message gives the limit");

	memset(&e, 0, sizeof(e));
	is_int(read_file(dir, 100, &p, &len, &e), -1,
	    "read_file refuses a directory");
	ok(strstr(e.msg, dir) != NULL, "directory: message names the path (%s)",
	    e.msg);
	ok(strstr(e.msg, "not a regular file") != NULL,
	    "directory: message says why");

	(void)snprintf(big, sizeof(big), "%s/missing", dir);
	memset(&e, 0, sizeof(e));
	is_int(read_file(big, 100, &p, &len, &e), -1,
	    "read_file of a missing file fails");
	ok(strstr(e.msg, big) != NULL, "missing: message names the path (%s)",
	    e.msg);
	is_int(e.errnum, ENOENT, "missing: errnum is ENOENT");

	(void)unlink(path);
	(void)rmdir(dir);
}

/* tty_escape of n bytes (one line, or multiline), as a C string. */
static const char *
esc(struct buf *b, const char *s, size_t n, int multiline)
{
	buf_reset(b);
	tty_escape(b, s, n, multiline);
	return buf_cstr(b);
}

/* Of a string literal, embedded NULs included. */
#define ESC(lit, multiline) esc(&b, (lit), sizeof(lit) - 1, (multiline))

static void
test_tty_escape(void)
{
	struct buf	 b = { 0 };
	size_t		 i;
	int		 clean;

	is_str(ESC("plain text 1.2, ok", 0), "plain text 1.2, ok",
	    "printable ASCII is kept");
	is_str(ESC("a\\x1b", 0), "a\\x1b",
	    "a backslash is kept as it is");
	is_str(ESC("\033]0;pwned\007", 0), "\\x1b]0;pwned\\x07",
	    "ESC and BEL (window title) escaped");
	is_str(ESC("\033[2J\033[31m", 0), "\\x1b[2J\\x1b[31m",
	    "clear screen and colour escaped");
	is_str(ESC("a\rb\bc\x7f", 0), "a\\x0db\\x08c\\x7f",
	    "CR, BS and DEL escaped");
	is_str(ESC("a\0b", 0), "a\\x00b", "NUL escaped");
	is_str(ESC("a\nb\tc", 0), "a\\x0ab\\x09c",
	    "one line: newline and tab escaped");
	is_str(ESC("a\nb\tc\r", 1), "a\nb\tc\\x0d",
	    "multiline: newline and tab kept, CR escaped");
	is_str(ESC("\xc2\x9b" "31m", 0), "\\u009b31m",
	    "C1 CSI as UTF-8 (U+009B) escaped");
	is_str(ESC("\xc2\x80\xc2\x9f", 0), "\\u0080\\u009f",
	    "both ends of C1 as UTF-8 escaped");
	is_str(ESC("\x9b" "31m\x85", 0), "\\x9b31m\\x85",
	    "C1 as raw bytes escaped");
	is_str(ESC("\xff\xfe", 0), "\\xff\\xfe", "0xff 0xfe escaped");
	is_str(ESC("\xc0\xaf", 0), "\\xc0\\xaf",
	    "overlong '/' escaped byte by byte");
	is_str(ESC("\xe0\x80\x9b", 0), "\\xe0\\x80\\x9b",
	    "overlong U+001B escaped byte by byte");
	is_str(ESC("\xed\xa0\x80", 0), "\\xed\\xa0\\x80",
	    "surrogate escaped");
	is_str(ESC("x\xe2\x82", 0), "x\\xe2\\x82",
	    "truncated sequence at the end escaped");
	is_str(ESC("\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 0),
	    "\xc2\xa0\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
	    "valid UTF-8 (U+00A0, e-acute, euro, emoji) kept");
	/* Whatever comes in, nothing a terminal acts on comes out. */
	buf_reset(&b);
	for (i = 0; i < 256; i++) {
		char c = (char)i;

		tty_escape(&b, &c, 1, 0);
	}
	clean = !b.oom;
	for (i = 0; i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20 || (unsigned char)b.p[i] >= 0x7f)
			clean = 0;
	ok(clean, "every single byte comes out as printable ASCII");
	buf_free(&b);
}

/* What say() and say_lines() write on stderr, read back from a file. */
static char said[4096];

static void
capture(int begin)
{
	static int	saved = -1, fd = -1;
	ssize_t		n;

	if (begin) {
		fd = open("/tmp", O_RDWR | O_TMPFILE, 0600);
		saved = dup(2);
		ok(fd != -1 && saved != -1 && dup2(fd, 2) == 2,
		    "stderr to a temporary file");
		return;
	}
	(void)dup2(saved, 2);
	(void)close(saved);
	n = pread(fd, said, sizeof(said) - 1, 0);
	said[n > 0 ? n : 0] = '\0';
	(void)close(fd);
}

static void
test_say(void)
{
	struct err e;

	is_str(say_prog(), "hookpipe", "the name before say_init");
	say_init("/usr/local/bin/hookpipe-run");
	is_str(say_prog(), "hookpipe-run", "say_init keeps the last part");
	say_init("");
	is_str(say_prog(), "hookpipe-run", "say_init(\"\") changes nothing");
	capture(1);
	errno = EBADF;
	say(SAY_FATAL, "unable to open %s: %s", "spool/new/X",
	    "Permission denied");
	is_int(errno, EBADF, "say keeps errno");
	say(SAY_ERROR, "one item failed");
	say(SAY_WARNING, "look at this");
	say_lines("/etc/h.ini:3: unknown key 'x'\n"
	    "/etc/h.ini:9: warning: token 1 is shorter than 16 bytes\n"
	    "/etc/h.ini: spool_dir /s: Permission denied\n");
	capture(0);
	is_str(said, "hookpipe-run: fatal: unable to open spool/new/X: "
	    "Permission denied\n"
	    "hookpipe-run: error: one item failed\n"
	    "hookpipe-run: warning: look at this\n"
	    "hookpipe-run: error: /etc/h.ini:3: unknown key 'x'\n"
	    "hookpipe-run: warning: /etc/h.ini:9: token 1 is shorter than 16 "
	    "bytes\n"
	    "hookpipe-run: error: /etc/h.ini: spool_dir /s: Permission "
	    "denied\n", "one form: PROG: fatal|error|warning: what: why");
	e.errnum = EIO;
	ok(err_temporary(&e), "EIO is temporary");
	e.errnum = EACCES;
	ok(!err_temporary(&e), "EACCES is not");
	e.errnum = 0;
	ok(!err_temporary(&e), "no errno is not");
}

/* CRC-32C's check value, and the shard every receiver and amqp-pub
 * compute from it (hookpipe-amqp(7)). */
static void
test_shard(void)
{
	unsigned	seen[SHARDS] = { 0 };
	char		id[16];
	unsigned	i, empty = 0;

	ok(crc32c(0, "123456789", 9) == 0xe3069283U, "crc32c check value");
	ok(shard_of("123456789") == 0x83 % 64, "shard_of: CRC-32C mod 64");
	for (i = 0; i < 6400; i++) {
		(void)snprintf(id, sizeof(id), "e%u", i);
		seen[shard_of(id)]++;
	}
	for (i = 0; i < SHARDS; i++)
		empty += seen[i] < 50;
	ok(empty == 0, "6400 ids: every shard gets at least 50");
}

int
main(void)
{
	test_parse_size();
	test_parse_duration();
	test_parse_bool();
	test_strlist();
	test_random_hex();
	test_fmt_time();
	test_read_file();
	test_tty_escape();
	test_say();
	test_shard();
	return tap_done();
}
