/* ratelimit: token buckets in a fixed table of RATELIMIT_SLOTS slots,
 * open addressing over a short probe; when every probed slot is taken
 * the least recently used one is reused (that source starts full: the
 * table fails open under an address flood, never closed). */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cidr.h"
#include "ratelimit.h"

#define PROBE		8
#define RL_MAGIC	0x68707231u	/* "hpr1" */

struct rl_slot {
	unsigned char	addr[16];
	uint64_t	scope;		/* hash of the endpoint name */
	int64_t		last_us;	/* 0: free */
	double		tokens;
};

struct rl_file {
	uint32_t	magic;
	uint32_t	nslots;
	uint64_t	pad;
	struct rl_slot	slot[RATELIMIT_SLOTS];
};

int
ratelimit_open(struct ratelimit *rl, const char *path, struct err *e)
{
	struct stat	st;
	struct rl_file	*f;

	rl->map = NULL;
	rl->len = sizeof(struct rl_file);
	rl->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (rl->fd == -1)
		return err_sys(e, "unable to open %s", path);
	if (fstat(rl->fd, &st) == -1 || ((size_t)st.st_size < rl->len &&
	    ftruncate(rl->fd, (off_t)rl->len) == -1)) {
		err_sys(e, "unable to size %s", path);
		goto fail;
	}
	rl->map = mmap(NULL, rl->len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    rl->fd, 0);
	if (rl->map == MAP_FAILED) {
		rl->map = NULL;
		err_sys(e, "unable to map %s", path);
		goto fail;
	}
	f = rl->map;
	if (flock(rl->fd, LOCK_EX) == 0) {
		if (f->magic != RL_MAGIC || f->nslots != RATELIMIT_SLOTS) {
			memset(f, 0, rl->len);
			f->magic = RL_MAGIC;
			f->nslots = RATELIMIT_SLOTS;
		}
		(void)flock(rl->fd, LOCK_UN);
	}
	return 0;
fail:
	(void)close(rl->fd);
	rl->fd = -1;
	return -1;
}

void
ratelimit_close(struct ratelimit *rl)
{
	if (rl->map != NULL)
		(void)munmap(rl->map, rl->len);
	if (rl->fd != -1)
		(void)close(rl->fd);
	rl->map = NULL;
	rl->fd = -1;
}

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

int
ratelimit_take(struct ratelimit *rl, const char *addr, const char *scope,
    double rate, double burst, int64_t now)
{
	struct rl_file	*f = rl->map;
	struct rl_slot	*s, *victim = NULL;
	unsigned char	 key[16];
	uint64_t	 sc, h;
	double		 wait;
	size_t		 i, at;
	int		 rc = 0;

	if (f == NULL || rate <= 0)
		return 0;
	memset(key, 0, sizeof(key));
	if (addr != NULL)
		(void)cidr_addr(addr, key);
	sc = fnv(0xcbf29ce484222325ULL, scope ? scope : "", scope ?
	    strlen(scope) : 0);
	h = fnv(sc, key, sizeof(key));
	if (flock(rl->fd, LOCK_EX) == -1)
		return 0;
	for (i = 0; i < PROBE; i++) {
		at = (size_t)((h + i) % RATELIMIT_SLOTS);
		s = &f->slot[at];
		if (s->last_us != 0 && s->scope == sc &&
		    memcmp(s->addr, key, sizeof(key)) == 0)
			break;
		if (victim == NULL || s->last_us < victim->last_us)
			victim = s;
		s = NULL;
	}
	if (s == NULL) {
		s = victim;
		memcpy(s->addr, key, sizeof(key));
		s->scope = sc;
		s->tokens = burst;
		s->last_us = now;
	}
	if (now > s->last_us)
		s->tokens += (double)(now - s->last_us) / 1e6 * rate;
	if (s->tokens > burst || !isfinite(s->tokens))
		s->tokens = burst;
	s->last_us = now > s->last_us ? now : s->last_us;
	if (s->tokens >= 1)
		s->tokens -= 1;
	else {
		wait = (1 - s->tokens) / rate;
		rc = wait > 86400 ? 86400 : (int)wait;
		if (rc < wait || rc < 1)
			rc++;
	}
	(void)flock(rl->fd, LOCK_UN);
	return rc;
}
