/* ratelimit: token buckets in a fixed table of RATELIMIT_SLOTS slots,
 * open addressing over a short probe; when every probed slot is taken
 * the least recently used one is reused (that source starts full: the
 * table fails open under an address flood, never closed). */
#include "config.h"

#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "ratelimit.h"

#define PROBE		8
#define RL_MAGIC	0x68707232u	/* "hpr2": monotonic stamps */
#define BOOT_ID		"/proc/sys/kernel/random/boot_id"

/*
 * The file is a header and RATELIMIT_SLOTS slots, read and written with
 * pread/pwrite under an flock, never mapped. A mapping takes SIGBUS at
 * its next access once the file is shrunk, and re-checking the size
 * under our lock would not cover whoever shrinks it without taking the
 * lock (an operator's truncate, a restore, another program of the same
 * user): a pread of a short file is just a short read, which reads as
 * free slots. The price is three small system calls per request beside
 * the flock, which was there already. The file is never shrunk either:
 * a responder of the previous version ("hpr1") may still have it mapped;
 * it keeps that version's size and slot layout, and a slot of either
 * version reads as a full bucket to the other (that one found its keys
 * by a 64-bit scope and stamped the wall clock).
 *
 * Stamps are CLOCK_MONOTONIC, which is system-wide on Linux, so every
 * responder process shares it, and which a step of the wall clock (NTP,
 * an operator) does not move. It starts again at boot: a slot keeps (a
 * hash of) the boot it was stamped in, and a slot of another boot (or of
 * another host sharing the spool) or stamped in the future is taken as
 * full.
 */
struct rl_head {
	uint32_t	magic;
	uint32_t	nslots;
	uint64_t	pad;
};

struct rl_slot {
	unsigned char	addr[16];
	uint32_t	scope;		/* hash of the endpoint name */
	uint32_t	boot;		/* hash of the boot id of last_us */
	int64_t		last_us;	/* CLOCK_MONOTONIC; 0: free */
	double		tokens;
};

/* The previous version's slot size: see above. */
_Static_assert(sizeof(struct rl_slot) == 40, "rl_slot layout changed");

#define SLOT_OFF(i)	((off_t)sizeof(struct rl_head) + \
			    (off_t)(i) * (off_t)sizeof(struct rl_slot))

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Bytes read, up to n; the rest of the buffer is zeroed (a short file
 * reads as free slots). -1 on an error. */
static ssize_t
pread_full(int fd, void *p, size_t n, off_t off)
{
	char	*s = p;
	size_t	 got = 0;
	ssize_t	 r;

	while (got < n) {
		r = pread(fd, s + got, n - got, off + (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	memset(s + got, 0, n - got);
	return (ssize_t)got;
}

static int
pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const char	*s = p;
	ssize_t		 w;

	while (n > 0) {
		w = pwrite(fd, s, n, off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return -1;
		s += w;
		n -= (size_t)w;
		off += (off_t)w;
	}
	return 0;
}

/* The hash of this boot's id; 0 when it cannot be read (then only the
 * stamps in the future show a reboot). */
static uint32_t
boot_hash(void)
{
	struct err	e;
	char		b[64];
	ssize_t		n;
	int		fd;

	if ((fd = open_file(AT_FDCWD, BOOT_ID, O_RDONLY, &e)) == -1)
		return 0;
	n = read(fd, b, sizeof(b));
	(void)close(fd);
	if (n <= 0)
		return 0;
	return (uint32_t)fnv(0xcbf29ce484222325ULL, b, (size_t)n);
}

/* Under the lock: a fresh table. The slots are zeroed before the header
 * is written, so a reset cut short (a full disk) is done again. */
static int
rl_reset(struct ratelimit *rl)
{
	static const char	zero[4096];
	struct rl_head		h;
	off_t			off, end = SLOT_OFF(RATELIMIT_SLOTS);
	size_t			n;

	for (off = SLOT_OFF(0); off < end; off += (off_t)n) {
		n = end - off < (off_t)sizeof(zero) ? (size_t)(end - off) :
		    sizeof(zero);
		if (pwrite_all(rl->fd, zero, n, off) == -1)
			return -1;
	}
	memset(&h, 0, sizeof(h));
	h.magic = RL_MAGIC;
	h.nslots = RATELIMIT_SLOTS;
	return pwrite_all(rl->fd, &h, sizeof(h), 0);
}

/* Under the lock: 1 when the header is not ours (a new, truncated or
 * foreign file) and the table was reset, 0 when it is, -1 on an error. */
static int
rl_check(struct ratelimit *rl)
{
	struct rl_head	h;
	ssize_t		n;

	if ((n = pread_full(rl->fd, &h, sizeof(h), 0)) == -1)
		return -1;
	if ((size_t)n == sizeof(h) && h.magic == RL_MAGIC &&
	    h.nslots == RATELIMIT_SLOTS)
		return 0;
	return rl_reset(rl) == -1 ? -1 : 1;
}

int
ratelimit_open(struct ratelimit *rl, const char *path, struct err *e)
{
	rl->resets = 0;
	rl->boot = boot_hash();
	/* O_NOFOLLOW: a symlink planted in the spool is refused. */
	rl->fd = open_file(AT_FDCWD, path, O_RDWR | O_CREAT | O_NOFOLLOW, e);
	if (rl->fd == -1)
		return -1;
	/* A table that cannot be set up now is set up at the first request
	 * that can; until then requests pass (the limiter fails open). */
	if (flock(rl->fd, LOCK_EX) == 0) {
		(void)rl_check(rl);
		(void)flock(rl->fd, LOCK_UN);
	}
	return 0;
}

void
ratelimit_close(struct ratelimit *rl)
{
	if (rl->fd != -1)
		(void)close(rl->fd);
	rl->fd = -1;
}

int
ratelimit_take(struct ratelimit *rl, const char *addr, const char *scope,
    double rate, double burst)
{
	return ratelimit_take_at(rl, addr, scope, rate, burst, mono_us());
}

int
ratelimit_take_at(struct ratelimit *rl, const char *addr, const char *scope,
    double rate, double burst, int64_t now)
{
	struct rl_slot	 sl[PROBE], *s = NULL, *victim = NULL;
	unsigned char	 key[16];
	uint64_t	 h;
	uint32_t	 sc;
	double		 wait;
	size_t		 i, first;
	int		 rc = 0, stale, vstale = 0;

	if (rl->fd == -1 || rate <= 0)
		return 0;
	memset(key, 0, sizeof(key));
	if (addr != NULL)
		(void)cidr_addr(addr, key);
	h = fnv(0xcbf29ce484222325ULL, scope ? scope : "", scope ?
	    strlen(scope) : 0);
	sc = (uint32_t)h;
	h = fnv(h, key, sizeof(key));
	if (flock(rl->fd, LOCK_EX) == -1)
		return 0;
	switch (rl_check(rl)) {
	case -1:
		goto out;
	case 1:
		rl->resets++;
		break;
	default:
		break;
	}
	/* The probe does not wrap: one read covers it. */
	first = (size_t)(h % (RATELIMIT_SLOTS - PROBE + 1));
	if (pread_full(rl->fd, sl, sizeof(sl), SLOT_OFF(first)) == -1)
		goto out;
	for (i = 0; i < PROBE; i++) {
		s = &sl[i];
		if (s->last_us != 0 && s->scope == sc &&
		    memcmp(s->addr, key, sizeof(key)) == 0)
			break;
		/* Reuse a free slot first, then one whose stamp means
		 * nothing on this clock, then the least recently used. */
		stale = s->last_us == 0 || s->boot != rl->boot ||
		    s->last_us > now;
		if (victim == NULL || (stale && !vstale) || (stale == vstale &&
		    s->last_us < victim->last_us)) {
			victim = s;
			vstale = stale;
		}
		s = NULL;
	}
	if (s == NULL) {
		s = victim;
		memcpy(s->addr, key, sizeof(key));
		s->scope = sc;
		s->tokens = burst;
		s->last_us = now;
		s->boot = rl->boot;
	}
	/* A stamp of another boot or host, or one ahead of the clock, says
	 * nothing about how long ago the last request was: the bucket is
	 * full. */
	if (s->boot != rl->boot || s->last_us > now) {
		s->tokens = burst;
		s->last_us = now;
		s->boot = rl->boot;
	}
	s->tokens += (double)(now - s->last_us) / 1e6 * rate;
	if (!isfinite(s->tokens) || s->tokens < 0 || s->tokens > burst)
		s->tokens = burst;
	s->last_us = now;
	if (s->tokens >= 1)
		s->tokens -= 1;
	else {
		wait = (1 - s->tokens) / rate;
		rc = wait > 86400 ? 86400 : (int)wait;
		if (rc < wait || rc < 1)
			rc++;
	}
	/* A slot that cannot be written loses this request's count only. */
	(void)pwrite_all(rl->fd, s, sizeof(*s), SLOT_OFF(first +
	    (size_t)(s - sl)));
out:
	(void)flock(rl->fd, LOCK_UN);
	return rc;
}
