/* util: error carrier, parsers for sizes, durations and booleans, and
 * careful I/O helpers. */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#include "buf.h"
#include "util.h"

#ifndef BINDIR
#define BINDIR "/usr/local/bin"
#endif

int
err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	e->errnum = 0;
	return -1;
}

int
err_sys(struct err *e, const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;
	size_t	 n;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	(void)snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
	    strerror(saved));
	e->errnum = saved;
	errno = saved;
	return -1;
}

void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

int
strlist_push(struct strlist *l, const char *s)
{
	char **nv, *item;

	if ((item = strdup(s)) == NULL)
		return -1;
	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL) {
		free(item);
		return -1;
	}
	l->v = nv;
	l->v[l->n++] = item;
	return 0;
}

int
strlist_split(struct strlist *l, const char *s)
{
	const char	*p, *start, *end;
	char		**nv, *item;

	l->v = NULL;
	l->n = 0;
	for (p = s; ; p++) {
		start = p;
		while (*p != '\0' && *p != ',')
			p++;
		end = p;
		while (start < end && isspace((unsigned char)*start))
			start++;
		while (end > start && isspace((unsigned char)end[-1]))
			end--;
		if (end > start) {
			if ((item = strndup(start, (size_t)(end - start))) ==
			    NULL)
				goto fail;
			nv = reallocarray(l->v, l->n + 1, sizeof(*l->v));
			if (nv == NULL) {
				free(item);
				goto fail;
			}
			l->v = nv;
			l->v[l->n++] = item;
		}
		if (*p == '\0')
			break;
	}
	return 0;
fail:
	strlist_free(l);
	return -1;
}

int
parse_size(const char *s, size_t *out)
{
	unsigned long long	 v, mul = 1;
	char			*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
		break;
	case 'k': case 'K':
		mul = 1024ULL;
		end++;
		break;
	case 'm': case 'M':
		mul = 1024ULL * 1024;
		end++;
		break;
	case 'g': case 'G':
		mul = 1024ULL * 1024 * 1024;
		end++;
		break;
	default:
		return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end != '\0' || v > SIZE_MAX / mul)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

int
parse_duration(const char *s, long *out)
{
	long long	 v, mul = 1;
	char		*end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	if (v > 100LL * 365 * 86400 / mul)
		return -1;
	*out = (long)(v * mul);
	return 0;
}

int
parse_bool(const char *s)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcasecmp(s, "on") == 0 || strcmp(s, "1") == 0)
		return 1;
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcasecmp(s, "off") == 0 || strcmp(s, "0") == 0)
		return 0;
	return -1;
}

uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	static uint32_t	table[256];
	const unsigned char *b = p;
	uint32_t	c;
	int		i, j;

	if (table[1] == 0)
		for (i = 0; i < 256; i++) {
			for (c = (uint32_t)i, j = 0; j < 8; j++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78U : c >> 1;
			table[i] = c;
		}
	crc = ~crc;
	while (n-- > 0)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

unsigned
shard_of(const char *id)
{
	return crc32c(0, id, strlen(id)) % SHARDS;
}

int
write_all(int fd, const void *p, size_t n)
{
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int
open_file(int dirfd, const char *path, int flags, struct err *e)
{
	struct stat	st;
	int		fd, fl;

	/* O_NONBLOCK: opening a FIFO for reading would wait for a writer. */
	fd = openat(dirfd, path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
	    0600);
	if (fd == -1)
		return err_sys(e, "unable to open %s", path);
	if (fstat(fd, &st) == -1) {
		err_sys(e, "unable to stat %s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		err_set(e, "%s is not a regular file", path);
		goto fail;
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		err_sys(e, "unable to set up %s", path);
		goto fail;
	}
	return fd;
fail:
	fl = errno;
	(void)close(fd);
	errno = fl;
	if (e != NULL)
		e->errnum = fl;
	return -1;
}

int
read_file(const char *path, size_t max, char **out, size_t *outlen,
    struct err *e)
{
	return read_fileat(AT_FDCWD, path, 0, max, out, outlen, e);
}

int
read_fileat(int dirfd, const char *path, int flags, size_t max, char **out,
    size_t *outlen, struct err *e)
{
	struct stat	 st;
	char		*p = NULL, *np;
	size_t		 len = 0, cap;
	ssize_t		 r;
	int		 fd;

	if ((fd = open_file(dirfd, path, O_RDONLY | flags, e)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		err_sys(e, "unable to stat %s", path);
		goto fail;
	}
	if ((uintmax_t)st.st_size > max) {
		err_set(e, "%s is larger than %zu bytes", path, max);
		goto fail;
	}
	/* Sized from the file, not from the limit: a history read must not
	 * cost the limit's megabytes. One byte more shows growth. */
	cap = (size_t)st.st_size + 1;
	if ((p = malloc(cap + 1)) == NULL) {
		err_sys(e, "unable to read %s", path);
		goto fail;
	}
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				err_set(e, "%s is larger than %zu bytes", path,
				    max);
				goto fail;
			}
			cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			if ((np = malloc(cap + 1)) == NULL) {
				err_sys(e, "unable to read %s", path);
				goto fail;
			}
			memcpy(np, p, len);
			wipe(p, len);
			free(p);
			p = np;
		}
		r = read(fd, p + len, cap - len);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			err_sys(e, "unable to read %s", path);
			goto fail;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			err_set(e, "%s is larger than %zu bytes", path, max);
			goto fail;
		}
	}
	if (close(fd) == -1) {
		fd = -1;
		err_sys(e, "unable to close %s", path);
		goto fail;
	}
	p[len] = '\0';
	*out = p;
	if (outlen != NULL)
		*outlen = len;
	return 0;
fail:
	if (p != NULL) {
		wipe(p, len);
		free(p);
	}
	if (fd != -1)
		(void)close(fd);
	return -1;
}

int
random_hex(char *out, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 raw[64];
	size_t			 i, got = 0;
	ssize_t			 r;

	if (n > sizeof(raw))
		return -1;
	while (got < n) {
#ifdef HAVE_GETRANDOM
		r = getrandom(raw + got, n - got, 0);
#else
		r = -1;
		errno = ENOSYS;
#endif
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)r;
	}
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[2 * n] = '\0';
	return 0;
}

/* Nanoseconds of a clock, as the kernel tells them. */
static int64_t
clock_real(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The one clock read of the library (now_us, mono_ms, mono_us): the
 * kernel's, unless a test or a simulation put its own in place. */
static int64_t (*clock_ns)(clockid_t) = clock_real;

void
util_set_clock(int64_t (*fn)(clockid_t))
{
	clock_ns = fn != NULL ? fn : clock_real;
}

int64_t
now_us(void)
{
	return clock_ns(CLOCK_REALTIME) / 1000;
}

int64_t
mono_ms(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

void
fmt_time_us(int64_t us, char *out, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(us / 1000000);
	char		tmp[24];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		(void)snprintf(out, len, "?");
		return;
	}
	(void)snprintf(out, len, "%s.%06ldZ", tmp, (long)(us % 1000000));
}

const char *
param_get(char *const *params, const char *name)
{
	size_t n = strlen(name);

	for (; *params != NULL; params++)
		if (strncmp(*params, name, n) == 0 && (*params)[n] == '=')
			return *params + n + 1;
	return NULL;
}

void
wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

int
ct_memeq(const void *a, const void *b, size_t n)
{
	const volatile unsigned char	*x = a, *y = b;
	unsigned			 diff = 0;
	size_t				 i;

	/* Every byte is read and OR-ed into one accumulator: no early exit.
	 * The volatile reads keep the compiler from proving that diff, once
	 * non-zero, stays so and leaving the loop there, and from turning
	 * the loop into a call to memcmp or bcmp, which stop at the first
	 * difference. */
	for (i = 0; i < n; i++)
		diff |= (unsigned)(x[i] ^ y[i]);
	/* diff is 0..255; diff - 1 sets bit 8 only when it is 0: no branch. */
	return (int)(((diff - 1) >> 8) & 1);
}

void
tty_escape(struct buf *b, const char *str, size_t n, int multiline)
{
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i, k;

	/* Text a sender or a handler wrote must not drive the operator's
	 * terminal (title, screen, colours, fake lines): every byte that a
	 * terminal could act on shows as an escape instead. */
	for (i = 0; i < n; i += k) {
		k = 1;
		if (multiline && (s[i] == '\n' || s[i] == '\t'))
			buf_putc(b, s[i]);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			buf_printf(b, "\\x%02x", s[i]);
		else if (s[i] < 0x80)
			buf_putc(b, s[i]);
		else if ((k = utf8_len(s + i, n - i)) == 0) {
			/* Raw 0x80-0x9f act as C1 on 8-bit terminals. */
			buf_printf(b, "\\x%02x", s[i]);
			k = 1;
		} else if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)
			buf_printf(b, "\\u00%02x", s[i + 1]);
		else
			buf_add(b, s + i, k);
	}
}

int64_t
mono_us(void)
{
	return clock_ns(CLOCK_MONOTONIC) / 1000;
}

/* The program's name as invoked; static storage (argv[0]) lives as long
 * as the process. */
static const char *prog_name = "hookpipe";

void
say_init(const char *argv0)
{
	const char *slash;

	if (argv0 == NULL || *argv0 == '\0')
		return;
	if ((slash = strrchr(argv0, '/')) != NULL && slash[1] != '\0')
		argv0 = slash + 1;
	prog_name = argv0;
}

const char *
say_prog(void)
{
	return prog_name;
}

static void
say_v(enum say_level, const char *, va_list)
    __attribute__((format(printf, 2, 0)));

static void
say_v(enum say_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "fatal", "error", "warning" };
	char	line[8192];
	int	saved = errno, n, m;

	n = snprintf(line, sizeof(line), "%s: %s: ", prog_name,
	    names[level]);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = 0;
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	/* A message longer than the line is cut, with a mark. */
	if ((size_t)n >= sizeof(line) - 1) {
		n = (int)sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	/* One write: lines of processes sharing a log do not interleave. */
	(void)write_all(2, line, (size_t)n);
	errno = saved;
}

void
say(enum say_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_v(level, fmt, ap);
	va_end(ap);
}

void
say_lines(const char *text)
{
	const char	*p, *nl, *w;
	int		 len;

	for (p = text; p != NULL && *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		len = (int)(nl - p);
		if (len == 0)
			continue;
		/* "LOCATION: warning: what": the level moves to the front. */
		w = memmem(p, (size_t)len, ": warning: ", 11);
		if (w != NULL)
			say(SAY_WARNING, "%.*s: %.*s", (int)(w - p), p,
			    (int)(nl - w - 11), w + 11);
		else
			say(SAY_ERROR, "%.*s", len, p);
	}
}

void
stop_signals(void (*fn)(int))
{
	struct sigaction sa;

	(void)signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);
}

void
say_getopt(int ch, char *const *argv)
{
	const char	*arg = optind > 0 ? argv[optind - 1] : NULL;
	char		 shortopt[3] = { '-', (char)optopt, '\0' };
	int		 n;

	if (arg == NULL || strncmp(arg, "--", 2) != 0) {
		/* -x, or -x in a cluster such as -qx */
		if (ch == ':')
			say(SAY_FATAL, "option %s needs a value", shortopt);
		else
			say(SAY_FATAL, "unknown option %s", optopt ? shortopt :
			    arg != NULL ? arg : "?");
		return;
	}
	n = (int)strcspn(arg, "=");
	if (ch == ':')
		say(SAY_FATAL, "option %.*s needs a value", n, arg);
	else if (optopt != 0 && arg[n] == '=')
		say(SAY_FATAL, "option %.*s takes no value", n, arg);
	else
		say(SAY_FATAL, "unknown or ambiguous option %.*s", n, arg);
}

int
err_temporary(const struct err *e)
{
	switch (e->errnum) {
	case EIO:
	case ENOSPC:
	case EDQUOT:
	case ENOMEM:
	case EMFILE:
	case ENFILE:
	case EAGAIN:
	case EINTR:
		return 1;
	default:
		return 0;
	}
}

char *
find_program(const char *configured, const char *name)
{
	char	self[PATH_MAX], *slash, *p;
	ssize_t	n;

	if (configured != NULL)
		return strdup(configured);
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if (asprintf(&p, "%s/%s", self, name) != -1) {
				if (access(p, X_OK) == 0)
					return p;
				free(p);
			}
		}
	}
	if (asprintf(&p, "%s/%s", BINDIR, name) == -1)
		return NULL;
	return p;
}
