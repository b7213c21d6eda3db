/* worker: the consumer side of forwarding to RabbitMQ. Takes messages
 * from the [worker] queue, commits each into the local spool (deduped
 * through ids/) and only then acknowledges it; the spool's runner runs
 * the events. The message format is the one hookpipe-worker(8)
 * documents. Linked by hookpipe-worker only (librabbitmq). */
#ifndef HOOKPIPE_WORKER_H
#define HOOKPIPE_WORKER_H

#include "conf.h"
#include "dlog.h"
#include "spool.h"
#include "util.h"

struct worker;

struct worker_stats {
	unsigned long	stored;		/* committed, then acknowledged */
	unsigned long	duplicates;	/* acknowledged, not stored */
	unsigned long	rejected;	/* not ours: basic.reject */
};

/* What worker_step did. */
#define WORKER_IDLE	0	/* nothing came in the time given */
#define WORKER_TOOK	1	/* a message was stored, a duplicate or
				   rejected, and acknowledged so */
#define WORKER_LOST	(-1)	/* the connection or channel is gone */
#define WORKER_FULL	(-2)	/* the spool refused the commit: the
				   message went back (requeue); pause */

struct worker *worker_new(const struct conf *, struct spool *,
	    struct dlog *);
/* Connect, log in, declare the exchange and the queue (quorum, else a
 * classic durable one, logged), bind it, set the prefetch and consume.
 * 0, or -1 with the reason (then worker_close). */
int	worker_connect(struct worker *, struct err *);
/* Wait up to ms milliseconds for a message and take it: WORKER_*. */
int	worker_step(struct worker *, int, struct err *);
/* Close the channel and the connection (what was delivered and not
 * acknowledged goes back to the queue); harmless when not connected. */
void	worker_close(struct worker *);
/* Counts since worker_new. */
const struct worker_stats *worker_stats(const struct worker *);
void	worker_free(struct worker *);

#endif
