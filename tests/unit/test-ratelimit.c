/* test-ratelimit: the token buckets: burst and refill, stamps that mean
 * nothing on this clock (ahead of it, another boot), a file truncated or
 * overwritten under an open limiter, a planted symlink. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ratelimit.h"
#include "tap.h"

#define S	1000000LL	/* microseconds */

static char dir[] = "/tmp/hookpipe-rl.XXXXXX";
static char path[64];

static void
test_refill(void)
{
	struct ratelimit	rl;
	struct err		e;
	int64_t			t = 1000 * S;

	is_int(ratelimit_open(&rl, path, &e), 0, "open creates the file");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "ep", 2, 2, t), 0,
	    "first request passes");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "ep", 2, 2, t), 0,
	    "second passes (burst 2)");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "ep", 2, 2, t), 1,
	    "third in the same instant waits 1 s");
	is_int(ratelimit_take_at(&rl, "192.0.2.2", "ep", 2, 2, t), 0,
	    "another address has its own bucket");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "other", 2, 2, t), 0,
	    "another endpoint has its own bucket");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "ep", 2, 2, t + S / 2), 0,
	    "half a second later one token is back");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "ep", 2, 2, t + S / 2), 1,
	    "and only one");
	ratelimit_close(&rl);
	is_int(rl.fd, -1, "close forgets the descriptor");
	is_int(ratelimit_take_at(&rl, "192.0.2.1", "ep", 2, 2, t), 0,
	    "a closed limiter lets requests through");
}

static void
test_stamps(void)
{
	struct ratelimit	rl;
	struct err		e;
	int64_t			t = 5000 * S;
	int			i;

	(void)unlink(path);
	is_int(ratelimit_open(&rl, path, &e), 0, "open");
	for (i = 0; i < 3; i++)
		(void)ratelimit_take_at(&rl, "192.0.2.9", "ep", 1, 2, t);
	is_int(ratelimit_take_at(&rl, "192.0.2.9", "ep", 1, 2, t), 1,
	    "bucket empty");
	/* An earlier time than the stamp: a stamp ahead of the clock (a
	 * reboot without a readable boot id). */
	is_int(ratelimit_take_at(&rl, "192.0.2.9", "ep", 1, 2, t - 3600 * S),
	    0, "a stamp ahead of the clock: the bucket is full");
	is_int(ratelimit_take_at(&rl, "192.0.2.9", "ep", 1, 2, t - 3600 * S),
	    0, "second token of the refilled bucket");
	is_int(ratelimit_take_at(&rl, "192.0.2.9", "ep", 1, 2, t - 3600 * S),
	    1, "then the rate holds again on the new clock");
	/* Another boot (or host): its stamps say nothing here. */
	rl.boot ^= 1;
	is_int(ratelimit_take_at(&rl, "192.0.2.9", "ep", 1, 2, t - 3600 * S),
	    0, "a stamp of another boot: the bucket is full");
	ratelimit_close(&rl);
}

static void
test_truncated(void)
{
	struct ratelimit	rl;
	struct stat		st;
	struct err		e;
	int64_t			t = 9000 * S;
	int			fd, i;

	(void)unlink(path);
	is_int(ratelimit_open(&rl, path, &e), 0, "open");
	if (stat(path, &st) == -1)
		st.st_size = -1;
	ok(st.st_size > 4096 * 40, "the table is written out (%lld bytes)",
	    (long long)st.st_size);
	for (i = 0; i < 2; i++)
		(void)ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t);
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 1,
	    "bucket empty before the truncation");
	ok(truncate(path, 0) == 0, "truncate to 0 under the open limiter");
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 0,
	    "truncated to 0: no fault, the table starts afresh (fail open)");
	is_int(rl.resets, 1, "the reset is counted");
	ok(stat(path, &st) == 0 && st.st_size > 4096 * 40,
	    "the table is written out again");
	ok(truncate(path, 5) == 0, "truncate to 5 bytes");
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 0,
	    "truncated to 5 bytes: no fault, fail open");
	is_int(rl.resets, 2, "counted");
	ok(truncate(path, 100) == 0, "truncate into the slots");
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 0,
	    "header intact, slots gone: they read as free");
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 0,
	    "second token");
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 1,
	    "and the limit holds again");
	is_int(rl.resets, 2, "no reset for a short table with a good header");
	fd = open(path, O_WRONLY);
	ok(fd != -1 && write(fd, "garbage!garbage!", 16) == 16 && close(fd) == 0,
	    "overwrite the header");
	is_int(ratelimit_take_at(&rl, "192.0.2.5", "ep", 1, 2, t), 0,
	    "a foreign header: the table starts afresh");
	is_int(rl.resets, 3, "counted");
	ratelimit_close(&rl);
}

static void
test_symlink(void)
{
	struct ratelimit	rl;
	struct stat		st;
	struct err		e;
	char			target[80];

	(void)snprintf(target, sizeof(target), "%s/target", dir);
	(void)unlink(path);
	ok(symlink(target, path) == 0, "plant a symlink at the bucket file");
	is_int(ratelimit_open(&rl, path, &e), -1, "open refuses it");
	is_int(e.errnum, ELOOP, "with ELOOP");
	ok(stat(target, &st) == -1 && errno == ENOENT,
	    "and created nothing at its target");
	(void)unlink(path);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	(void)snprintf(path, sizeof(path), "%s/ratelimit", dir);
	test_refill();
	test_stamps();
	test_truncated();
	test_symlink();
	(void)unlink(path);
	(void)rmdir(dir);
	return tap_done();
}
