/* deliver: run the handlers of one spooled event, and drain the spool
 * (the body of hookpipe-run). */
#ifndef HOOKPIPE_DELIVER_H
#define HOOKPIPE_DELIVER_H

#include <sys/types.h>

#include "conf.h"
#include "dlog.h"
#include "handler.h"
#include "spool.h"

enum outcome {
	OUT_OK,		/* every handler exited 0 (or there was none) */
	OUT_TEMP,	/* a handler failed in a way worth retrying */
	OUT_PERM,	/* a handler exited 100: do not retry */
	OUT_TIMEOUT	/* a handler ran past its timeout */
};

/* Run the handlers for meta->event one after another, each with the
 * body (fd from offset) on stdin; stops at the first failure. `last`
 * receives the last run's result (stdout for sync answers). */
enum outcome deliver_event(const struct conf *, struct dlog *,
	    const struct handler_meta *, long, int, off_t,
	    struct handler_result *);

struct drain_stats {
	unsigned	done, retry, dead, recovered, errors;
	int		busy;	/* another runner held the lock */
};

/* Take the runner lock (or return 0 at once when another runner holds
 * it), re-queue what a crashed runner left in cur/, then run every
 * event in new/ in arrival order until none is left. */
int	deliver_drain(const struct conf *, struct spool *, struct dlog *,
	    struct drain_stats *, struct err *);

#endif
