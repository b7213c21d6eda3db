/* runner: the scheduler around the delivery engine. One runner per
 * spool (the run.lock); it claims due events (new|retry -> cur) into at
 * most `concurrency` slots, each a delivery of deliver.c, waits for
 * their handlers, settles them, and keeps the spool (recovery after a
 * crash, tmp/ clean-up, pruning). */
#include "config.h"

#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alert.h"
#include "deliver.h"
#include "handler.h"
#include "payload.h"
#include "metrics.h"
#include "runner.h"

#define STALE_TMP_SECONDS	3600
#define PRUNE_EVERY		3600	/* seconds between prunes */
#define RESCAN_MS		60000	/* watch mode: look anyway */
#define CHECKPOINT_MS		1000	/* journal: retire at most this often */
#define CHECKPOINT_BYTES	(1024 * 1024) /* ... once it holds this much */
#define MAX_SLOTS		64
#define HOLD_MIN_MS		1000	/* first pause after a spool failure */
#define HOLD_MAX_MS		60000	/* the pause doubles up to this */
#define GIVE_UP_MS		300000	/* still failing this long after the
					   first failure: stop (exit 111) */

struct slot {
	int			 used;
	int			 procs;		/* counts against concurrency */
	struct delivery		 d;
};

/* A sorted listing of new/ or retry/ consumed from pos: relisting after
 * every finished event would cost O(backlog) each time. */
struct queue {
	struct strlist		 l;
	size_t			 pos;
	int64_t			 at;		/* mono ms of the listing; 0 */
};

struct run {
	struct queue		 qnew;
	struct queue		 qretry;	/* only those due at listing */
	int64_t			 retry_due;	/* mono ms the next retry is
						   due; 0: none known */
	const struct conf	*c;
	struct spool		*s;
	struct dlog		*log;
	struct runner_stats	*st;
	struct slot		 slots[MAX_SLOTS];
	int			 nslots;
	int			 active;
	int			 procs;		/* slots with procs set */
	int			 proc_wait;	/* the oldest due waits for one */
	unsigned		 claims;
	long			 due_bound;	/* seconds: a retry due later
						   than this is due now */
	/* The spool failing (a rename refused with EIO, EROFS...): claims
	 * pause, and the pause doubles while it goes on. */
	int64_t			 fault_since;	/* mono ms; 0: it works */
	int64_t			 hold_until;	/* mono ms: no claim before */
	int64_t			 hold_ms;
	int			 gave_up;
	/* How this run goes: once or --watch, and its stop signals. */
	int			 watch;
	int64_t			 linger_ms;	/* once drained, wait this long
						   for more (0: exit at once) */
	int64_t			 idle_since;	/* mono ms since nothing ran
						   nor was claimed; 0: busy */
	volatile sig_atomic_t	*stop;
	int			 infd;		/* inotify on new/, or -1 */
	int64_t			 upkeep;	/* mono ms of the last clean-up */
	int64_t			 checkpoint;	/* ... of the last checkpoint */
	sigset_t		 stopsigs;
	sigset_t		 oldmask;
	char			 fault[1024];	/* what failed first (err.msg) */
};

static void
slot_free(struct run *r, struct slot *sl)
{
	if (!sl->used)
		return;
	deliver_free(&sl->d);
	sl->used = 0;
	r->active--;
	if (sl->procs) {
		r->procs--;
		r->proc_wait = 0;
	}
	sl->procs = 0;
}

#define RELIST_MS	1000	/* new arrivals and due retries wait at most */

/* One line for the spool as a whole: {"type":"spool","state":...}. */
static void
log_spool(struct run *r, const char *state, const char *reason)
{
	struct buf	line = { 0 };

	dlog_begin(&line, "spool");
	buf_json_kv(&line, "spool", spool_path(r->s));
	buf_json_kv(&line, "state", state);
	buf_json_kv(&line, "reason", reason);
	dlog_end(r->log, &line);
	buf_free(&line);
}

/*
 * A spool operation failed for a reason other than the entry being gone
 * (a disk that shut down answers EIO to every open and rename while its
 * folders still list). Claiming again at once would fail again, as fast
 * as the loop can go: pause claims instead, 1 s, then twice as long at
 * each failure after a pause, up to a minute. Said once in the log, not
 * at each failure; after GIVE_UP_MS of failures the runner stops, so
 * that its supervisor starts a new one on the file system as it is then
 * (this one's folder descriptors may point into one that is gone).
 */
static void
spool_failed(struct run *r, const struct err *e)
{
	int64_t now = mono_ms();
	char	why[1024 + 96];

	if (r->fault_since == 0) {
		r->fault_since = now;
		r->hold_ms = HOLD_MIN_MS;
		r->hold_until = now + r->hold_ms;
		(void)snprintf(r->fault, sizeof(r->fault), "%s", e->msg);
		(void)snprintf(why, sizeof(why), "%s; no event is claimed "
		    "for a while (pauses from 1s to 60s)", e->msg);
		log_spool(r, "failing", why);
		return;
	}
	if (now < r->hold_until)
		return;		/* a failure of something started before */
	r->hold_ms = r->hold_ms * 2 > HOLD_MAX_MS ? HOLD_MAX_MS :
	    r->hold_ms * 2;
	r->hold_until = now + r->hold_ms;
	if (now - r->fault_since >= GIVE_UP_MS)
		r->gave_up = 1;
}

/* A spool operation worked: the failure, if any, is over. */
static void
spool_works(struct run *r)
{
	char	why[64];

	if (r->fault_since == 0)
		return;
	(void)snprintf(why, sizeof(why), "failed for %llds",
	    (long long)((mono_ms() - r->fault_since) / 1000));
	log_spool(r, "working", why);
	r->fault_since = r->hold_until = r->hold_ms = 0;
}

/* A retry falls due in `secs`: keep the earliest. */
static void
note_due(struct run *r, long secs)
{
	int64_t due = mono_ms() + (int64_t)secs * 1000;

	if (r->retry_due == 0 || due < r->retry_due)
		r->retry_due = due;
}

/* A delivery finished: settle its entry and free the slot. */
static void
settle(struct run *r, struct slot *sl)
{
	struct err	e;
	long		delay;

	e.errnum = 0;
	switch (deliver_finish(&sl->d, &delay, &e)) {
	case SP_CUR:
		if (e.errnum != ENOENT)
			spool_failed(r, &e);
		break;
	case SP_RETRY:
		spool_works(r);
		note_due(r, delay);
		r->st->retry++;
		break;
	case SP_DONE:
		spool_works(r);
		r->st->done++;
		break;
	default:
		spool_works(r);
		r->st->dead++;
		break;
	}
	slot_free(r, sl);
}

/* A handler finished: record it, then run the next one or settle. */
static void
advance(struct run *r, struct slot *sl)
{
	if (deliver_step(&sl->d) == 1)
		r->st->runs++;
	else
		settle(r, sl);
}

/* A file of new/ or retry/ that is no event (torn by a crash before its
 * commit was flushed, without an envelope, not a regular file) moves to
 * quarantine/: never run, never counted as a failed event. */
static int
set_aside(struct run *r, enum spool_dir from, const char *name,
    const char *why)
{
	struct err e;

	if (spool_move(r->s, from, SP_QUAR, name, &e) == -1) {
		if (e.errnum != ENOENT)
			spool_failed(r, &e);
		return -1;
	}
	spool_works(r);
	deliver_log_state(r->s, r->log, name, NULL, "quarantine", why, 0);
	return 0;
}

/* Is an event of this serialized type running in another slot? */
static int
serialized_busy(const struct run *r, const struct slot *sl)
{
	int k;

	if (sl->d.ev == NULL || !sl->d.ev->serialize)
		return 0;
	for (k = 0; k < r->nslots; k++)
		if (r->slots[k].used && &r->slots[k] != sl &&
		    strcmp(r->slots[k].d.env.event, sl->d.env.event) == 0)
			return 1;
	return 0;
}

/* Claim one event (new/ or retry/ -> cur/) and start its first handler
 * still to run. 0 claimed, 1 skipped (no slot, or serialized type busy),
 * 2 its handlers wait for one of `concurrency` (it keeps its place),
 * -1 gone. */
static int
claim(struct run *r, enum spool_dir from, const char *name)
{
	struct slot	*sl = NULL;
	struct err	 e;
	int		 k;

	for (k = 0; k < r->nslots && sl == NULL; k++)
		if (!r->slots[k].used)
			sl = &r->slots[k];
	if (sl == NULL)
		return 1;
	if (deliver_open(&sl->d, r->c, r->s, r->log, from, name, &e) == -1) {
		deliver_free(&sl->d);
		/* Gone (claimed or replayed elsewhere) is fine; short of
		 * descriptors or memory, it is our failure, not the
		 * entry's; anything else would be looked at for ever: set
		 * it aside. */
		if (e.errnum == ENOENT)
			return -1;
		if (e.errnum == EMFILE || e.errnum == ENFILE ||
		    e.errnum == ENOMEM) {
			spool_failed(r, &e);
			return -1;
		}
		if (set_aside(r, from, name, e.msg) == 0)
			r->st->quarantined++;
		return -1;
	}
	if (serialized_busy(r, sl)) {
		deliver_free(&sl->d);
		return 1;
	}
	/* One that takes no process (only a publish, or nothing to run)
	 * takes any free slot of MAX_SLOTS: the publish window is wider
	 * than the handlers' concurrency. */
	if ((sl->procs = deliver_takes_proc(&sl->d)) &&
	    r->procs >= r->c->concurrency) {
		deliver_free(&sl->d);
		sl->procs = 0;
		return 2;
	}
	if (spool_move(r->s, from, SP_CUR, name, &e) == -1) {
		if (e.errnum != ENOENT)
			spool_failed(r, &e);
		deliver_free(&sl->d);
		return -1;
	}
	spool_works(r);
	sl->used = 1;
	r->active++;
	r->procs += sl->procs;
	r->claims++;
	if (deliver_begin(&sl->d, SP_CUR) == 1)
		r->st->runs++;
	else
		settle(r, sl);
	return 0;
}

static void
queue_drop(struct queue *q)
{
	strlist_free(&q->l);
	q->pos = 0;
	q->at = 0;
}

/* List new/ again; retry/ too, keeping the entries due now and noting
 * when the next one falls due. */
static void
relist(struct run *r, int retry)
{
	struct strlist	l;
	struct err	e;
	int64_t		now = now_us(), due;
	size_t		i, n;

	if (!retry) {
		queue_drop(&r->qnew);
		if (spool_list(r->s, SP_NEW, &r->qnew.l, &e) == 0)
			r->qnew.at = mono_ms();
		else
			spool_failed(r, &e);
		return;
	}
	queue_drop(&r->qretry);
	r->retry_due = 0;
	if (spool_list(r->s, SP_RETRY, &l, &e) == -1) {
		spool_failed(r, &e);
		return;
	}
	for (i = n = 0; i < l.n; i++) {
		due = spool_retry_due(r->s, l.v[i], r->due_bound, now);
		if (due == 0) {		/* gone */
			free(l.v[i]);
			continue;
		}
		if (due > now) {
			note_due(r, (long)((due - now + 999999) / 1000000));
			free(l.v[i]);
			continue;
		}
		l.v[n++] = l.v[i];
	}
	l.n = n;
	r->qretry.l = l;
	r->qretry.at = mono_ms();
}

/* Seconds until the next retry falls due (-1: none known). */
static long
retry_wait(const struct run *r)
{
	int64_t ms;

	if (r->retry_due == 0)
		return -1;
	ms = r->retry_due - mono_ms();
	return ms <= 0 ? 0 : (long)((ms + 999) / 1000);
}

/* Start due events until every slot is busy, oldest first (names start
 * with the receive time, so the listings merge in arrival order).
 * Returns the seconds until the next retry falls due (-1: none known). */
static long
fill(struct run *r)
{
	struct queue	*q;
	int64_t		 now = mono_ms();
	int		 from_new, cmp, rc;

	if (r->active >= r->nslots || now < r->hold_until || r->proc_wait)
		return retry_wait(r);
	if (r->qnew.pos >= r->qnew.l.n || now - r->qnew.at >= RELIST_MS)
		relist(r, 0);
	if (now - r->qretry.at >= RELIST_MS ||
	    (r->retry_due != 0 && now >= r->retry_due))
		relist(r, 1);
	if (now < r->hold_until)
		return retry_wait(r);
	while (r->active < r->nslots && (r->qnew.pos < r->qnew.l.n ||
	    r->qretry.pos < r->qretry.l.n)) {
		if (r->qnew.pos < r->qnew.l.n && r->qretry.pos < r->qretry.l.n)
			cmp = strcmp(r->qnew.l.v[r->qnew.pos],
			    r->qretry.l.v[r->qretry.pos]);
		else
			cmp = r->qnew.pos < r->qnew.l.n ? -1 : 1;
		from_new = cmp <= 0;
		q = from_new ? &r->qnew : &r->qretry;
		rc = claim(r, from_new ? SP_NEW : SP_RETRY, q->l.v[q->pos]);
		/* Oldest first: it waits at the head for a handler to end. */
		if (rc == 2) {
			r->proc_wait = 1;
			break;
		}
		q->pos++;
		/* One of a serialized type waits for the one running: look
		 * at the whole listing again next time, so it keeps its
		 * place ahead of later ones. */
		if (rc == 1)
			r->qnew.at = r->qretry.at = 0;
		/* The spool fails: the rest of the listing would too. */
		if (now < r->hold_until) {
			r->qnew.at = r->qretry.at = 0;
			break;
		}
	}
	return retry_wait(r);
}

/* The handlers a killed runner was running die with it (PDEATHSIG);
 * their own children may not. Stop them before the event runs again. */
static void
stop_leftovers(struct run *r, const char *name)
{
	struct envelope	 env;
	struct history	 h;
	struct err	 e;
	size_t		 i;
	long		 span;
	int		 fd;

	if (spool_hist_load(r->s, name, &h, &e) == -1)
		return;
	/* Anything a handler of the interrupted attempt started ran at
	 * most its timeout and grace after it. */
	span = conf_timeout(r->c, NULL) + r->c->kill_grace + 5;
	if ((fd = spool_open_entry(r->s, SP_CUR, name, &env, &e)) != -1) {
		span = conf_timeout(r->c, conf_event(r->c, env.event)) +
		    r->c->kill_grace + 5;
		envelope_free(&env);
		(void)close(fd);
	}
	for (i = 0; i < h.nruns; i++)
		if (handler_reap_group(h.runs[i].pgid, h.runs[i].start,
		    span) > 0)
			deliver_log_state(r->s, r->log, name, NULL, "cur",
			    "stopped what was left of an interrupted handler",
			    0);
	spool_hist_free(&h);
}

static void
recover(struct run *r)
{
	struct strlist	l;
	struct err	e;
	size_t		i;

	if (spool_list(r->s, SP_CUR, &l, &e) == 0) {
		for (i = 0; i < l.n; i++) {
			stop_leftovers(r, l.v[i]);
			if (spool_move(r->s, SP_CUR, SP_NEW, l.v[i], &e) == 0) {
				spool_works(r);
				r->st->recovered++;
				deliver_log_state(r->s, r->log, l.v[i], NULL,
				    "new", "re-queued after an interrupted run",
				    0);
			} else if (e.errnum != ENOENT) {
				spool_failed(r, &e);
				break;
			}
		}
		strlist_free(&l);
	} else
		spool_failed(r, &e);
	spool_clean_tmp(r->s, STALE_TMP_SECONDS);
}

/* A stop signal that came while they were blocked, outside the wait,
 * runs its handler now: a pass that does not wait still sees it. */
static void
take_signals(const sigset_t *old, const sigset_t *stopsigs)
{
	(void)sigprocmask(SIG_SETMASK, old, NULL);
	(void)sigprocmask(SIG_BLOCK, stopsigs, NULL);
}

static int
pending(struct spool *s)
{
	struct strlist	l;
	struct err	e;
	int		n;

	if (spool_list(s, SP_NEW, &l, &e) == -1)
		return 0;
	n = l.n > 0;
	strlist_free(&l);
	return n;
}

static void
drain_inotify(int fd)
{
	char	b[4096];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

/* Watch new/ with inotify (--watch, and a lingering runner); -1 without:
 * the periodic rescan still finds events. */
static int
watch_new(struct spool *s)
{
	char	p[PATH_MAX];
	int	fd;

	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return -1;
	(void)snprintf(p, sizeof(p), "%s/new", spool_path(s));
	if (inotify_add_watch(fd, p, IN_MOVED_TO | IN_CLOSE_WRITE) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* Entries the journal holds that a crash lost or tore, restored; 1 when
 * that failed (the run stops: a temporary failure). */
static int
restore(struct run *r, struct err *e)
{
	unsigned	n;
	char		msg[96];

	if (spool_recover(r->s, &n, e) == -1) {
		r->st->failing = 1;
		return 1;
	}
	if (n > 0) {
		r->st->restored += n;
		(void)snprintf(msg, sizeof(msg), "restored %u entr%s a crash "
		    "had lost or torn", n, n == 1 ? "y" : "ies");
		deliver_log_error(r->log, "spool", "journal", msg);
	}
	return 0;
}

/* The journal's generations retire once their entries are flushed here,
 * in no request's time: at most once a second while events flow (when
 * the current one holds `min` bytes), and whenever the spool is drained. */
static void
checkpoint(struct run *r, size_t min)
{
	struct err	e;
	int64_t		now = mono_ms();

	if (min > 0 && now - r->checkpoint < CHECKPOINT_MS)
		return;
	r->checkpoint = now;
	if (spool_checkpoint(r->s, min, &e) == -1)
		spool_failed(r, &e);
}

/* Wait for a handler event, a new event, a due retry or the end of a
 * pause after a spool failure, then step the handlers that are done.
 * -1 when the wait itself failed (every handler is killed). */
static int
wait_round(struct run *r, long next, int halt, struct err *e)
{
	struct pollfd	pfd[MAX_SLOTS * DELIVER_POLLFDS + 1];
	struct timespec	ts;
	int64_t		wake, now = mono_ms();
	int		n = 0, k, waitms;

	wake = now + (r->watch ? RESCAN_MS : 1000);
	if (next >= 0 && now + next * 1000 < wake)
		wake = now + next * 1000;
	if (!halt && r->hold_until > now && r->hold_until < wake)
		wake = r->hold_until;
	if (r->idle_since != 0 && r->idle_since + r->linger_ms < wake)
		wake = r->idle_since + r->linger_ms;
	for (k = 0; k < r->nslots; k++) {
		if (!r->slots[k].used)
			continue;
		n += deliver_pollfds(&r->slots[k].d, pfd + n);
		if (deliver_wake(&r->slots[k].d) < wake)
			wake = deliver_wake(&r->slots[k].d);
	}
	if (r->infd != -1) {
		pfd[n].fd = r->infd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	/* One reading of the clock: with two, a wake due this very
	 * millisecond passed the first test and gave -1 ms to the second,
	 * and ppoll refused the negative time (EINVAL: the runner
	 * stopped). */
	now = mono_ms();
	waitms = wake <= now ? 0 : (int)(wake - now);
	ts.tv_sec = waitms / 1000;
	ts.tv_nsec = (long)(waitms % 1000) * 1000000;
	/* The stop signals are blocked outside this wait, so one that
	 * arrives after the caller's check still ends the wait. */
	if (ppoll(pfd, (nfds_t)n, &ts, &r->oldmask) == -1 && errno != EINTR) {
		err_sys(e, "poll");
		for (k = 0; k < r->nslots; k++)
			if (r->slots[k].used)
				deliver_kill(&r->slots[k].d);
		return -1;
	}
	if (r->watch && mono_ms() - r->upkeep > RESCAN_MS) {
		spool_clean_tmp(r->s, STALE_TMP_SECONDS);
		r->st->pruned += spool_prune(r->s, r->c->keep, PRUNE_EVERY);
		r->upkeep = mono_ms();
	}
	checkpoint(r, CHECKPOINT_BYTES);
	metrics_runner_stamp();		/* --watch, lingering: at work */
	alert_runner(r->c, r->s, r->log, 0);	/* at most every interval */
	if (r->infd != -1)
		drain_inotify(r->infd);
	for (k = 0; k < r->nslots; k++)
		if (r->slots[k].used && deliver_poll(&r->slots[k].d))
			advance(r, &r->slots[k]);
	return 0;
}

/*
 * Drained, without --watch: stay a while? A runner started on demand
 * waits linger ms after the last event settled, so that the next events
 * of a burst find its lock held and start no runner of their own; new/
 * is watched and the wait ends early for a due retry (wait_round), which
 * the next fill() claims. Not while the spool fails: the pass ends so
 * that the exit status says so.
 */
static int
linger(struct run *r)
{
	int64_t now = mono_ms();

	if (r->linger_ms == 0 || r->fault_since != 0)
		return 0;
	if (r->idle_since == 0) {
		/* Nothing runs: a good time to retire the journal, and to
		 * say so in run.lock (no handler of ours is at work). */
		checkpoint(r, 0);
		spool_lock_idle(r->s, 1);
		r->idle_since = now;
	}
	return now - r->idle_since < r->linger_ms;
}

/* One pass under the lock: claim and run until nothing is due (or, with
 * --watch, until stopped; lingering, until nothing was due for a while).
 * -1 when the wait failed. */
static int
drain(struct run *r, struct err *e)
{
	unsigned	before;
	long		next;
	int		halt;

	for (;;) {
		halt = (r->stop != NULL && *r->stop) || r->gave_up;
		before = r->claims;
		next = halt ? -1 : fill(r);
		r->st->next_due = (int)next;
		if ((r->active != 0 || r->claims != before) &&
		    r->idle_since != 0) {
			r->idle_since = 0;
			spool_lock_idle(r->s, 0);
		}
		if (r->active == 0 && (!r->watch || halt)) {
			/* Events that settled at once may have left others
			 * waiting for a slot: look again before leaving. */
			if (r->claims != before && !halt) {
				take_signals(&r->oldmask, &r->stopsigs);
				continue;
			}
			if (halt || !linger(r))
				return 0;
		}
		if (wait_round(r, next, halt, e) == -1)
			return -1;
	}
}

int
runner_run(const struct conf *c, struct spool *s, struct dlog *log,
    int flags, volatile sig_atomic_t *stop, struct runner_stats *st,
    struct err *e)
{
	static struct run	r;
	unsigned		start;
	int			k, failed, idle = 0;

	memset(st, 0, sizeof(*st));
	memset(&r, 0, sizeof(r));
	dest_net_init();
	r.c = c;
	r.s = s;
	r.log = log;
	r.st = st;
	r.stop = stop;
	r.watch = (flags & RUNNER_WATCH) != 0;
	if (!r.watch && (flags & RUNNER_LINGER))
		r.linger_ms = (int64_t)c->linger * 1000;
	r.infd = -1;
	r.upkeep = mono_ms();
	r.nslots = MAX_SLOTS;
	r.due_bound = conf_due_bound(c);
	st->next_due = -1;
	(void)sigemptyset(&r.stopsigs);
	(void)sigaddset(&r.stopsigs, SIGTERM);
	(void)sigaddset(&r.stopsigs, SIGINT);
	(void)sigaddset(&r.stopsigs, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &r.stopsigs, &r.oldmask);
	if (metrics_conf_attach(c, e) == -1)
		deliver_log_error(log, "spool", c->spool_dir, e->msg);
	for (;;) {
		if ((k = spool_lock(s, e)) != 1) {
			st->busy = k == 0;
			failed = k == -1;
			break;
		}
		start = r.claims;
		metrics_runner_stamp();
		/* After a power cut: what the journal holds and the entry
		 * files lost or tore comes back before anything runs, or
		 * nothing runs (a torn entry would be quarantined). */
		if ((failed = restore(&r, e)) != 0) {
			(void)spool_unlock(s, NULL);
			break;
		}
		recover(&r);
		st->pruned += spool_prune(s, c->keep, PRUNE_EVERY);
		if ((r.watch || r.linger_ms != 0) && r.infd == -1)
			r.infd = watch_new(s);
		r.idle_since = 0;
		failed = drain(&r, e) == -1;
		if (!failed)
			checkpoint(&r, 0);
		queue_drop(&r.qnew);
		queue_drop(&r.qretry);
		/* Under the lock, nothing running: events committed now wait
		 * for the pass below (bounded by [alert] timeout). */
		alert_runner(c, s, log, 1);
		if (spool_unlock(s, failed ? NULL : e) == -1)
			failed = 1;
		/* An event committed while we held the lock found a runner
		 * busy and did not start one: look once more. Not while the
		 * spool fails (the next pass would fail as this one did, at
		 * once), nor after two passes in a row that claimed nothing:
		 * what new/ holds then cannot be claimed now, and the next
		 * runner will try. */
		idle = r.claims == start ? idle + 1 : 0;
		if (failed || r.fault_since != 0 || idle >= 2)
			break;
		take_signals(&r.oldmask, &r.stopsigs);
		if ((stop != NULL && *stop) || !pending(s))
			break;
	}
	if (r.infd != -1)
		(void)close(r.infd);
	(void)sigprocmask(SIG_SETMASK, &r.oldmask, NULL);
	if (!failed && r.fault_since != 0) {
		st->failing = 1;
		failed = err_set(e, "the spool %s keeps failing: %s; check its "
		    "disk and file system (dmesg), then start hookpipe-run "
		    "again", spool_path(s), r.fault) == -1;
	}
	return failed ? -1 : 0;
}
