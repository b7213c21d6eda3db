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

/* Run the handlers for meta->event of meta->endpoint one after another,
 * each with the body (fd from offset) on stdin; stops at the first
 * failure. `last` receives the last run's result (stdout for sync
 * answers). */
enum outcome deliver_event(const struct conf *, struct dlog *,
	    const struct handler_meta *, int, off_t, struct handler_result *);

/* The body (from offset) alone in a sealed memory file: handlers get
 * exactly the payload on a seekable stdin, and none can change it. */
int	deliver_body(int, off_t, struct err *);
/* A {"type":"error"} line naming what failed. */
void	deliver_log_error(struct dlog *, const char *, const char *,
	    const char *);

#endif
