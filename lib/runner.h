/* runner: drain the spool: run due events with at most `concurrency`
 * handlers at once, record every attempt, retry with backoff, dead-letter.
 * The body of hookpipe-run (once, from cron or the responder, or --watch). */
#ifndef HOOKPIPE_RUNNER_H
#define HOOKPIPE_RUNNER_H

#include <signal.h>

#include "conf.h"
#include "dlog.h"
#include "spool.h"

struct runner_stats {
	unsigned	done, retry, dead, recovered, pruned, runs;
	unsigned	quarantined;	/* files of new/ that are no events */
	unsigned	restored;	/* entries the journal brought back */
	int		busy;		/* another runner held the lock */
	int		next_due;	/* seconds to the next retry, -1: none */
	int		failing;	/* returned -1 as the spool kept
					   failing: a temporary failure */
};

#define RUNNER_WATCH	0x01	/* keep running: inotify on new/, timers */
#define RUNNER_LINGER	0x02	/* without RUNNER_WATCH: once drained, wait
				   [delivery] linger seconds for new events
				   (inotify on new/) and due retries */

/* Take the runner lock (or return 0 at once, busy, when another runner
 * holds it), recover what a killed runner left, then run every due event.
 * Without RUNNER_WATCH it returns when nothing is due (with
 * RUNNER_LINGER, once nothing was due for the linger time); with it, when
 * *stop becomes non-zero (after the running handlers finished). When the
 * spool fails (EIO...), claims pause; without RUNNER_WATCH it returns -1
 * with failing set once nothing runs; with it, when *stop is set or the
 * failure has gone on for five minutes. */
int	runner_run(const struct conf *, struct spool *, struct dlog *, int,
	    volatile sig_atomic_t *, struct runner_stats *, struct err *);


#endif
