/* ratelimit: a token bucket per source address and endpoint, shared by
 * every responder process through a small file in the spool. */
#ifndef HOOKPIPE_RATELIMIT_H
#define HOOKPIPE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define RATELIMIT_SLOTS	4096	/* sources tracked at once */

struct ratelimit {
	int		fd;
	uint32_t	boot;		/* hash of this boot's id */
	unsigned	resets;		/* tables found damaged (truncated,
					   overwritten) and started afresh */
};

/* Open (creating it, mode 0600; never through a symlink) the bucket
 * file. */
int	ratelimit_open(struct ratelimit *, const char *, struct err *);
void	ratelimit_close(struct ratelimit *);
/* Take one token from the bucket of (address, scope) that refills at
 * rate per second up to burst. 0 when allowed, else the whole seconds
 * until a token is there (at least 1). A file that cannot be locked,
 * read or written lets the request through, and a damaged one starts
 * afresh (counted in resets): a limiter must not stop the service. The
 * buckets run on the monotonic clock, which a step of the wall clock
 * does not move. */
int	ratelimit_take(struct ratelimit *, const char *, const char *, double,
	    double);
/* The same at a given time on CLOCK_MONOTONIC, in microseconds. */
int	ratelimit_take_at(struct ratelimit *, const char *, const char *,
	    double, double, int64_t);

#endif
