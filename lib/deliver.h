/* deliver: the one delivery engine. The handlers of an event run one
 * after another, each with the body on stdin; every start and result
 * goes to the event's history and to the delivery log; the outcome
 * decides, through one table, the entry's next state (queue mode) and
 * the HTTP answer (sync mode). The runner drives many deliveries at
 * once from its slots; the responder drives one to its end. */
#ifndef HOOKPIPE_DELIVER_H
#define HOOKPIPE_DELIVER_H

#include <sys/types.h>

#include <limits.h>

#include "conf.h"
#include "dest.h"
#include "dlog.h"
#include "handler.h"
#include "spool.h"

enum outcome {
	OUT_OK,		/* every handler exited 0 (or there was none) */
	OUT_TEMPFAIL,	/* a handler exited 75: try again later */
	OUT_PERM,	/* a handler exited 100: do not try again */
	OUT_FAIL,	/* any other exit status */
	OUT_SIGNAL,	/* a handler was killed by a signal */
	OUT_TIMEOUT,	/* a handler ran past its timeout */
	OUT_NORUN,	/* a handler could not be started */
	OUT_NOUT
};

/* What an outcome means, for both modes. */
struct outcome_row {
	enum outcome	 out;
	enum spool_dir	 to;		/* queue: SP_DONE, SP_RETRY (SP_DEAD
					   once the retries are spent) or
					   SP_DEAD */
	int		 status;	/* sync: the HTTP status */
	int		 retry_after;	/* sync: Retry-After seconds, or 0 */
	const char	*reason;	/* history and log; NULL for OK */
	const char	*answer;	/* sync: the answer's reason */
};

/* The row of an outcome. */
const struct outcome_row *deliver_row(enum outcome);
/* The outcome of one handler's result. */
enum outcome deliver_outcome(const struct handler_result *);

/* One event being delivered. */
struct delivery {
	const struct conf	*c;
	struct spool		*s;
	struct dlog		*log;
	enum spool_dir		 dir;		/* SP_CUR (queue), SP_TMP (sync) */
	char			 name[SPOOL_NAME_MAX];
	char			 path[PATH_MAX];
	struct envelope		 env;
	int			 fd;		/* the entry, at its body */
	const struct endpoint	*ep;		/* NULL: not configured */
	const struct event_conf	*ev;
	struct strlist		 handlers;	/* its programs, resolved */
	int			 resolved;	/* ... once */
	struct strlist		 progs;		/* still to run, in order */
	size_t			 next;
	int			 body;		/* sealed memfd */
	char			**envp;
	int			 attempt;
	int			 running;	/* job (or dest) is at work */
	struct handler_job	 job;
	int			 forwarding;	/* dest, not job, runs: the
						   last of progs, ev->forward */
	struct dest_job		 dest;
	int64_t			 due_us;	/* the destination asked for
						   this retry time; 0: none */
	char			 fwd_err[256];	/* why it could not start */
	struct handler_result	 last;		/* the last handler's result */
	enum outcome		 out;		/* once finished */
	char			 why[256];	/* said with the outcome */
};

/* Open an entry for delivery (its envelope parsed, d->env). -1 with the
 * reason: e.errnum ENOENT when it is gone. */
int	deliver_open(struct delivery *, const struct conf *, struct spool *,
	    struct dlog *, enum spool_dir, const char *, struct err *);
/* Whether the opened entry takes one of `concurrency`: handler programs
 * to run or an HTTPS endpoint to call do; nothing to run, or only a
 * queue or a broker to publish to, does not. */
int	deliver_takes_proc(struct delivery *);
/* Start delivering the opened entry, now in `at` (SP_CUR, or SP_TMP for
 * a sync event): record the attempt, find the handlers still to run
 * (those without a success since the last replay) and start the first.
 * 1 while a handler runs, 0 when finished at once (d->out). */
int	deliver_begin(struct delivery *, enum spool_dir);
/* The running handler finished (handler_step said so): record it, then
 * start the next or finish. 1 while a handler runs, 0 when finished. */
int	deliver_step(struct delivery *);
/* What the runner waits on for a running delivery, handler or
 * destination alike: descriptors to poll (at most DELIVER_POLLFDS), the
 * monotonic ms to step by anyway, a step (1: its run finished, call
 * deliver_step), and the kill at shutdown. */
#define DELIVER_POLLFDS	3
int	deliver_pollfds(struct delivery *, struct pollfd *);
int64_t	deliver_wake(const struct delivery *);
int	deliver_poll(struct delivery *);
void	deliver_kill(struct delivery *);
/* Run a begun delivery to its end, waiting for each handler (sync). */
void	deliver_wait(struct delivery *);
/* Settle a finished delivery: a queued event moves to the state its
 * outcome leads to (retry with a backoff, dead once the retries are
 * spent), a sync event to done/ or away (its sender's retry is its
 * durability). Says so in the history and the log. Returns the state
 * (SP_NDIRS: a sync event dropped; SP_CUR: the move failed, the entry
 * stays for the next runner, e says why) and, for retry/, the delay in
 * seconds. */
enum spool_dir deliver_finish(struct delivery *, long *, struct err *);
/* Free what a delivery holds (kills nothing: see handler_kill). */
void	deliver_free(struct delivery *);

/* The body (from offset) alone in a sealed memory file: handlers get
 * exactly the payload on a seekable stdin, and none can change it. */
int	deliver_body(int, off_t, struct err *);
/* A {"type":"error"} line naming what failed. */
void	deliver_log_error(struct dlog *, const char *, const char *,
	    const char *);
/* One line for a state change of an event, also written to its history
 * (but for "cur", which the history does not need). */
void	deliver_log_state(struct spool *, struct dlog *, const char *,
	    const struct envelope *, const char *, const char *, int);
/* Replay: put an entry of retry/, dead/ or done/ back into new/ as a
 * fresh delivery, through cur/ so that its "replay" record (by: who
 * asked) is in place before a runner sees it; logged as a state change.
 * The one replay of `hookpipe replay` and the status page. -1 with the
 * reason (an entry in new/ or cur/ is refused: it runs already). */
int	deliver_replay(struct spool *, struct dlog *, const char *,
	    enum spool_dir, const char *, struct err *);

#endif
