/* ratelimit: a token bucket per source address and endpoint, shared by
 * every responder process through a small mapped file in the spool. */
#ifndef HOOKPIPE_RATELIMIT_H
#define HOOKPIPE_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define RATELIMIT_SLOTS	4096	/* sources tracked at once */

struct ratelimit {
	int	 fd;
	void	*map;
	size_t	 len;
};

/* Open (creating it, mode 0600) the bucket file. */
int	ratelimit_open(struct ratelimit *, const char *, struct err *);
void	ratelimit_close(struct ratelimit *);
/* Take one token from the bucket of (address, scope) that refills at
 * rate per second up to burst. 0 when allowed, else the whole seconds
 * until a token is there (at least 1). A file that cannot be locked
 * lets the request through: a limiter must not stop the service. */
int	ratelimit_take(struct ratelimit *, const char *, const char *, double,
	    double, int64_t);

#endif
