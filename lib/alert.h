/* alert: [alert]: four conditions of a spool (dead events, a backlog,
 * no runner, refusals) evaluated against the spool and the counters
 * file; a program run when one starts and once when it clears, its
 * state in SPOOL/alerts.state (hookpipe-spool(5)). */
#ifndef HOOKPIPE_ALERT_H
#define HOOKPIPE_ALERT_H

#include <stdint.h>

#include "conf.h"
#include "dlog.h"
#include "spool.h"
#include "util.h"

enum alert_kind {
	AL_DEAD,	/* an event in dead/ */
	AL_BACKLOG,	/* the oldest pending event older than backlog_age */
	AL_RUNNER,	/* no runner for longer than [health] runner_max_age */
	AL_REFUSALS,	/* refused requests a minute on an endpoint */
	AL_NKINDS
};

/* One condition's state, as alerts.state keeps it (µs since the epoch;
 * 0: never). */
struct alert_cond {
	int	 active;	/* fired, not yet resolved */
	int64_t	 since;		/* when it fired, or resolved */
	int64_t	 notified;	/* the program's last successful run for it */
	int64_t	 pending;	/* holds, not fired yet: since when */
};

enum alert_action {
	ALERT_NONE,
	ALERT_FIRE,		/* it starts: HOOKPIPE_ALERT=firing */
	ALERT_REMIND,		/* it still holds after repeat: firing again */
	ALERT_RESOLVE		/* it cleared: HOOKPIPE_ALERT=resolved */
};

/* What an evaluation did. */
struct alert_stats {
	unsigned	fired, reminded, resolved;
	unsigned	failed;		/* program runs that failed */
	int		busy;		/* another process was evaluating */
	int		skipped;	/* within interval of the last one */
};

#define ALERT_FORCE	0x01	/* evaluate even within interval */

/* The name of a condition ("dead", ...). */
const char *alert_name(enum alert_kind);
/* The state machine: what to do for a condition that holds (or not) at
 * `now`, with a batching window and a reminder period (µs, 0: none).
 * It notes when a condition started to hold; the rest of the state
 * changes only through alert_done, after the program ran. */
enum alert_action alert_step(struct alert_cond *, int, int64_t, int64_t,
	    int64_t);
/* The program ran successfully for this action at `now`. */
void	alert_done(struct alert_cond *, enum alert_action, int64_t);
/* Evaluate every condition, run the program for each change, and save
 * the state; nothing when [alert] is off. A failing program is logged
 * and counted, and its change is tried again at the next evaluation.
 * -1 only when the state could not be kept (the reason in err). */
int	alert_evaluate(const struct conf *, struct spool *, struct dlog *,
	    int, struct alert_stats *, struct err *);
/* For the runner: evaluate when [alert] is on and this process has not
 * in the last `interval` (force: at the end of a pass); failures go to
 * the delivery log only. Never affects delivery. */
void	alert_runner(const struct conf *, struct spool *, struct dlog *, int);

#endif
