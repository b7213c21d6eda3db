/* util: the error carrier and the small parsers and I/O helpers shared
 * by every module. */
#ifndef HOOKPIPE_UTIL_H
#define HOOKPIPE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct buf;

/* Why the last call failed; library code fills it, main decides. */
struct err {
	char	msg[1024];
	int	errnum;		/* errno of the failing call, or 0 */
};

/* Set the reason (printf format); also returns -1 for `return err_set()`. */
int	err_set(struct err *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Like err_set, and append ": strerror(errno)". */
int	err_sys(struct err *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

struct strlist {
	char	**v;
	size_t	  n;
};

/* Append a copy of s; -1 (the list unchanged) when out of memory. */
int	strlist_push(struct strlist *, const char *);
/* Split a comma list into trimmed, non-empty items. */
int	strlist_split(struct strlist *, const char *);
void	strlist_free(struct strlist *);

/* "1048576", "512K", "1M", "2G" -> bytes. */
int	parse_size(const char *, size_t *);
/* "30", "30s", "5m", "2h", "1d" -> seconds. */
int	parse_duration(const char *, long *);
/* yes/no, true/false, on/off, 1/0 -> 1/0; -1 when none. */
int	parse_bool(const char *);

/* CRC-32C (Castagnoli) of n bytes, continuing from crc (0 to start). */
uint32_t crc32c(uint32_t, const void *, size_t);
/* The shards of exchange_type = shard (hookpipe-amqp(7)): a message's
 * shard is CRC-32C(message_id) mod SHARDS, the same on every receiver. */
#define SHARDS	64
unsigned shard_of(const char *);
/* Write all n bytes, retrying short writes and EINTR. */
int	write_all(int, const void *, size_t);
/* Open a regular file (relative to dirfd, or AT_FDCWD) without waiting
 * on a FIFO and without a controlling tty: anything but a regular file
 * is refused (errno EINVAL). flags may add O_NOFOLLOW, O_CREAT, ... */
int	open_file(int, const char *, int, struct err *);
/* Read a whole file of at most max bytes into a malloc'd NUL-terminated
 * buffer. */
int	read_file(const char *, size_t, char **, size_t *, struct err *);
/* The same, relative to a folder descriptor, with open flags added
 * (O_NOFOLLOW for the spool's own files). */
int	read_fileat(int, const char *, int, size_t, char **, size_t *,
	    struct err *);
/* Fill the buffer with n random bytes written as 2n hex digits + NUL. */
int	random_hex(char *, size_t);
/* Microseconds since the epoch. */
int64_t	now_us(void);
/* Monotonic milliseconds. */
int64_t	mono_ms(void);
/* "2026-11-28T09:14:03.123456Z" from microseconds; out must hold 32. */
void	fmt_time_us(int64_t, char *, size_t);
/* The value of NAME in a NAME=VALUE array (CGI parameters), or NULL. */
const char *param_get(char *const *, const char *);
/* Overwrite memory that held a secret, in a way the compiler keeps. */
void	wipe(void *, size_t);
/* 1 when the n bytes at both are equal; the time depends on n only. */
int	ct_memeq(const void *, const void *, size_t);
/* Append n bytes for a terminal: C0 controls, DEL and each byte that is
 * not valid UTF-8 as \xHH, C1 controls (U+0080-U+009F) as \u00HH, the
 * rest as is; newline and tab are kept only when multiline is set. */
void	tty_escape(struct buf *, const char *, size_t, int);
/* A program of this package to start: the configured path, else the one
 * of that name beside the running program, else the installed one
 * (malloc'd; NULL when out of memory). */
char	*find_program(const char *, const char *);
/* Monotonic microseconds: system-wide, never stepped, reset at boot. */
int64_t	mono_us(void);
/* For tests and simulations only: every clock read above (now_us,
 * mono_ms, mono_us) asks this function for the nanoseconds of
 * CLOCK_REALTIME or CLOCK_MONOTONIC instead of the kernel; NULL puts
 * the kernel's clock back. Clocks read elsewhere (time(2), file times
 * the kernel sets) do not follow it. */
void	util_set_clock(int64_t (*)(clockid_t));


/*
 * Diagnostics: one line on stderr, "PROG: fatal: what: why" (the program
 * stops), "PROG: error: ..." (this item failed, the program goes on) or
 * "PROG: warning: ...". Only the programs' mains and cli/ print them; the
 * library fills a struct err and reads say_prog() at most.
 */
enum say_level {
	SAY_FATAL,
	SAY_ERROR,
	SAY_WARNING
};

/* Name the diagnostics after the program as invoked (argv[0], without
 * its folder); until then they say "hookpipe". */
void	say_init(const char *);
/* That name: also the one a handler that could not be started sees. */
const char *say_prog(void);
/* One diagnostic line, written with a single write(2). */
void	say(enum say_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Each line of a report of problems in a file (conf_load's diag text:
 * "FILE:LINE: what" or "FILE:LINE: warning: what") as an error or a
 * warning line. */
void	say_lines(const char *);
/* getopt's complaint, in the form (the mains set opterr = 0 and start
 * optstring with ':'): ch is what getopt returned, '?' or ':'. */
void	say_getopt(int, char *const *);
/* A long-running program's signals: SIGPIPE ignored; SIGTERM, SIGINT and
 * SIGHUP call fn (which sets a flag). */
void	stop_signals(void (*)(int));
/* 1 when the error is one that may pass by itself (I/O error, disk
 * full, out of memory or descriptors): exit EXIT_TEMP, not EXIT_FAIL. */
int	err_temporary(const struct err *);

/* Exit codes, one table for hookpipe, hookpipe-run and hookpipe.fcgi
 * (EXIT STATUS in their man pages). */
#define EXIT_OK		0	/* done */
#define EXIT_FAIL	1	/* failed: again, it fails again until the
				   cause (config, spool, argument) is fixed */
#define EXIT_USAGE	2	/* bad command line: nothing was done */
#define EXIT_BUSY	75	/* hookpipe-run: another runner holds the
				   spool's lock; it runs the events */
#define EXIT_TEMP	111	/* temporary failure: try again later */

#endif
