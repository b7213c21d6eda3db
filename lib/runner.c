/* runner: the delivery engine. One runner per spool (flock on run.lock);
 * events move new|retry -> cur -> done|retry|dead; every attempt and every
 * handler run is appended to hist/NAME before the move, so a killed runner
 * loses at most the result of the handlers that were running. */
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

#include "deliver.h"
#include "handler.h"
#include "payload.h"
#include "runner.h"

#define STALE_TMP_SECONDS	3600
#define PRUNE_EVERY		3600	/* seconds between prunes */
#define RESCAN_MS		60000	/* watch mode: look anyway */
#define MAX_SLOTS		64
#define HOLD_MIN_MS		1000	/* first pause after a spool failure */
#define HOLD_MAX_MS		60000	/* the pause doubles up to this */
#define GIVE_UP_MS		300000	/* still failing this long after the
					   first failure: stop (exit 111) */

struct slot {
	int			 used;
	char			 name[SPOOL_NAME_MAX];
	char			 path[PATH_MAX];
	json_object		*env;
	const struct event_conf	*ev;
	const struct endpoint	*ep;		/* NULL: not configured */
	char			 event[EVENT_NAME_MAX + 1];
	struct strlist		 progs;		/* still to run, in order */
	size_t			 next;
	int			 body;		/* sealed memfd */
	char			**envp;
	int			 attempt;
	struct handler_job	 job;
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
	unsigned		 claims;
	long			 due_bound;	/* seconds: a retry due later
						   than this is due now */
	/* The spool failing (a rename refused with EIO, EROFS...): claims
	 * pause, and the pause doubles while it goes on. */
	int64_t			 fault_since;	/* mono ms; 0: it works */
	int64_t			 hold_until;	/* mono ms: no claim before */
	int64_t			 hold_ms;
	int			 gave_up;
	char			 fault[1024];	/* what failed first (err.msg) */
};

void
history_free(struct history *h)
{
	strlist_free(&h->ok);
	h->attempts = h->replays = 0;
}

int
history_load(struct spool *s, const char *name, struct history *h,
    struct err *e)
{
	json_object	*o;
	const char	*type, *res, *handler;
	char		*text, *line, *nl, **nv;

	memset(h, 0, sizeof(*h));
	if (spool_hist_read(s, name, &text, e) == -1)
		return -1;
	if (text == NULL)
		return 0;
	for (line = text; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* a torn last line: ignore it */
		*nl = '\0';
		if ((o = json_tokener_parse(line)) == NULL)
			continue;
		type = json_str(o, "type");
		if (type == NULL)
			;
		else if (strcmp(type, "attempt") == 0)
			h->attempts++;
		else if (strcmp(type, "replay") == 0) {
			/* A replay is a fresh delivery. */
			strlist_free(&h->ok);
			h->attempts = 0;
			h->replays++;
		} else if (strcmp(type, "handler") == 0 &&
		    (res = json_str(o, "result")) != NULL &&
		    strcmp(res, "exit 0") == 0 &&
		    (handler = json_str(o, "handler")) != NULL) {
			nv = reallocarray(h->ok.v, h->ok.n + 1, sizeof(*nv));
			if (nv != NULL) {
				h->ok.v = nv;
				if ((nv[h->ok.n] = strdup(handler)) != NULL)
					h->ok.n++;
			}
		}
		json_object_put(o);
	}
	free(text);
	return 0;
}

int
history_add(struct spool *s, const char *name, const char *type,
    const char *fields, struct err *e)
{
	struct buf	b = { 0 };
	int		rc;

	dlog_begin(&b, type);
	if (fields != NULL)
		buf_puts(&b, fields);
	buf_puts(&b, "}\n");
	rc = b.oom ? err_set(e, "out of memory") :
	    spool_hist_append(s, name, b.p, b.len, e);
	buf_free(&b);
	return rc;
}

static void
log_event(struct run *r, const char *name, const char *event, const char *id,
    const char *state, const char *reason, int attempt)
{
	struct buf	line = { 0 };
	struct err	e;
	size_t		start;

	dlog_begin(&line, "event");
	start = line.len;
	dlog_event_fields(&line, name, event, id, state, reason, attempt);
	if (!line.oom && strcmp(state, "cur") != 0) {
		buf_putc(&line, '\0');
		(void)history_add(r->s, name, "state", line.p + start, &e);
		line.len--;
	}
	dlog_end(r->log, &line);
	buf_free(&line);
}

static void
slot_free(struct run *r, struct slot *sl)
{
	if (!sl->used)
		return;
	json_object_put(sl->env);
	strlist_free(&sl->progs);
	handler_env_free(sl->envp);
	if (sl->body != -1)
		(void)close(sl->body);
	handler_result_free(&sl->job.res);
	memset(sl, 0, sizeof(*sl));
	sl->body = -1;
	r->active--;
}

#define RELIST_MS	1000	/* new arrivals and due retries wait at most */

/* One line for the spool as a whole: {"type":"spool","state":...}. */
static void
log_spool(struct run *r, const char *state, const char *reason)
{
	struct buf	line = { 0 };

	dlog_begin(&line, "spool");
	buf_puts(&line, ",\"spool\":");
	buf_json_cstr(&line, r->s->path);
	buf_puts(&line, ",\"state\":");
	buf_json_cstr(&line, state);
	buf_puts(&line, ",\"reason\":");
	buf_json_cstr(&line, reason);
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

/* Move the claimed entry to its next state and free the slot. */
static void
finish(struct run *r, struct slot *sl, enum spool_dir to, const char *reason,
    long delay)
{
	struct timespec	 ts[2];
	struct err	 e;
	const char	*state = spool_dirname(to);
	char		 why[256];
	int64_t		 due;

	if (spool_move(r->s, SP_CUR, to, sl->name, &e) == -1) {
		if (e.errnum != ENOENT)
			spool_failed(r, &e);
		log_event(r, sl->name, sl->event, json_str(sl->env, "id"), "cur",
		    e.msg, sl->attempt);
		slot_free(r, sl);
		return;
	}
	spool_works(r);
	if (to == SP_RETRY) {
		/* The due time is the entry's mtime: cheap to scan, and an
		 * operator can `touch` an entry to make it due now. */
		due = now_us() + (int64_t)delay * 1000000;
		note_due(r, delay);
		ts[0].tv_sec = ts[1].tv_sec = (time_t)(due / 1000000);
		ts[0].tv_nsec = ts[1].tv_nsec = (long)(due % 1000000) * 1000;
		(void)utimensat(r->s->fd[SP_RETRY], sl->name, ts,
		    AT_SYMLINK_NOFOLLOW);
		(void)snprintf(why, sizeof(why), "%s; next attempt in %lds",
		    reason ? reason : "temporary failure", delay);
		reason = why;
		r->st->retry++;
	} else if (to == SP_DONE)
		r->st->done++;
	else
		r->st->dead++;
	log_event(r, sl->name, sl->event, json_str(sl->env, "id"), state, reason,
	    sl->attempt);
	slot_free(r, sl);
}

/* Seconds before the next attempt: the schedule, with +-10% jitter so a
 * burst of failures does not come back as a burst. */
static long
backoff(const struct run *r, const struct slot *sl)
{
	long		base = conf_backoff(r->c, sl->ev, sl->attempt);
	uint32_t	rnd;
	char		hex[9];

	if (base < 10 || random_hex(hex, 4) == -1)
		return base;
	rnd = (uint32_t)strtoul(hex, NULL, 16);
	return base - base / 10 + (long)(rnd % (uint32_t)(base / 5 + 1));
}

static int
start_next(struct run *r, struct slot *sl)
{
	struct handler_limits	lim;
	struct err		e;
	int			note, rc;

	while (sl->next < sl->progs.n) {
		/* The child notes who runs in the history before it execs, so
		 * a runner recovering after a crash can stop what is left. */
		note = openat(r->s->fd[SP_HIST], sl->name, O_WRONLY | O_APPEND |
		    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (note == -1) {
			err_sys(&e, "unable to open %s/hist/%s", r->s->path,
			    sl->name);
			deliver_log_error(r->log, "spool", sl->name, e.msg);
			return -1;
		}
		handler_limits(r->c, sl->ep, sl->ev, &lim);
		rc = handler_start(&sl->job, sl->progs.v[sl->next], sl->body, 0,
		    sl->envp, &lim, note, &e);
		(void)close(note);
		if (rc == 0) {
			r->st->runs++;
			return 0;
		}
		deliver_log_error(r->log, "handler", sl->progs.v[sl->next],
		    e.msg);
		return -1;
	}
	return 1;	/* nothing left to run */
}

/* A handler finished: record it, then run the next one or settle. */
static void
advance(struct run *r, struct slot *sl)
{
	struct handler_result	*res = &sl->job.res;
	struct handler_meta	 m;
	struct buf		 line = { 0 };
	struct err		 e;
	size_t			 start;
	int			 max = conf_retries(r->c, sl->ev) + 1;

	memset(&m, 0, sizeof(m));
	m.event = sl->event;
	m.id = json_str(sl->env, "id");
	m.request_id = json_str(sl->env, "request_id");
	m.mode = "queue";
	m.attempt = sl->attempt;
	dlog_begin(&line, "handler");
	start = line.len;
	dlog_handler_fields(&line, &m, sl->name, sl->progs.v[sl->next], res);
	if (!line.oom) {
		buf_putc(&line, '\0');
		(void)history_add(r->s, sl->name, "handler", line.p + start, &e);
		line.len--;
	}
	dlog_end(r->log, &line);
	buf_free(&line);

	if (!res->timed_out && res->exited && res->code == HANDLER_EXIT_OK) {
		handler_result_free(res);
		sl->next++;
		switch (start_next(r, sl)) {
		case 0:
			return;
		case 1:
			finish(r, sl, SP_DONE, NULL, 0);
			return;
		default:
			break;
		}
	} else if (!res->timed_out && res->exited &&
	    res->code == HANDLER_EXIT_PERMFAIL) {
		finish(r, sl, SP_DEAD, "handler exited 100 (permanent failure)",
		    0);
		return;
	}
	if (sl->attempt >= max)
		finish(r, sl, SP_DEAD, "retries exhausted", 0);
	else
		finish(r, sl, SP_RETRY, res->timed_out ? "timeout" :
		    "temporary failure", backoff(r, sl));
}

/* An entry that cannot be run moves to dead/. */
static int
set_aside(struct run *r, enum spool_dir from, const char *name,
    const char *why)
{
	struct err e;

	if (spool_move(r->s, from, SP_DEAD, name, &e) == -1) {
		if (e.errnum != ENOENT)
			spool_failed(r, &e);
		return -1;
	}
	spool_works(r);
	log_event(r, name, NULL, NULL, "dead", why, 0);
	return 0;
}

/* Claim one event (new/ or retry/ -> cur/) and start its first handler
 * still to run. 0 claimed, 1 skipped (serialized type busy), -1 gone. */
static int
claim(struct run *r, enum spool_dir from, const char *name)
{
	struct handler_meta	 m;
	struct history		 h;
	struct strlist		 all;
	struct slot		*sl = NULL;
	struct err		 e;
	const char		*ev;
	char			*line, fields[64];
	size_t			 i, j;
	int			 fd, k, max, done;

	if ((fd = spool_open_entry(r->s, from, name, &line, &e)) == -1) {
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
			r->st->dead++;
		return -1;
	}
	for (k = 0; k < r->nslots; k++)
		if (!r->slots[k].used) {
			sl = &r->slots[k];
			break;
		}
	if (sl == NULL) {
		(void)close(fd);
		free(line);
		return 1;
	}
	memset(sl, 0, sizeof(*sl));
	sl->body = -1;
	sl->env = json_tokener_parse(line);
	free(line);
	ev = json_str(sl->env, "event");
	if (ev == NULL || strlen(ev) >= sizeof(sl->event)) {
		(void)close(fd);
		json_object_put(sl->env);
		if (set_aside(r, from, name, "envelope is not readable") == 0)
			r->st->dead++;
		return -1;
	}
	(void)snprintf(sl->event, sizeof(sl->event), "%s", ev);
	sl->ev = conf_event(r->c, sl->event);
	if (sl->ev != NULL && sl->ev->serialize)
		for (k = 0; k < r->nslots; k++)
			if (r->slots[k].used && &r->slots[k] != sl &&
			    strcmp(r->slots[k].event, sl->event) == 0) {
				(void)close(fd);
				json_object_put(sl->env);
				sl->env = NULL;
				return 1;
			}
	if (spool_move(r->s, from, SP_CUR, name, &e) == -1) {
		if (e.errnum != ENOENT)
			spool_failed(r, &e);
		(void)close(fd);
		json_object_put(sl->env);
		sl->env = NULL;
		return -1;
	}
	spool_works(r);
	sl->used = 1;
	r->active++;
	r->claims++;
	(void)snprintf(sl->name, sizeof(sl->name), "%s", name);
	(void)spool_entry_path(r->s, SP_CUR, name, sl->path, sizeof(sl->path));

	if (history_load(r->s, name, &h, &e) == -1)
		memset(&h, 0, sizeof(h));
	max = conf_retries(r->c, sl->ev) + 1;
	sl->attempt = h.attempts + 1;
	if (h.attempts >= max) {
		/* Interrupted attempts count: a handler that kills its
		 * runner every time must not run for ever. */
		history_free(&h);
		(void)close(fd);
		finish(r, sl, SP_DEAD, "retries exhausted (interrupted "
		    "attempts count)", 0);
		return 0;
	}
	(void)snprintf(fields, sizeof(fields), ",\"attempt\":%d", sl->attempt);
	if (history_add(r->s, name, "attempt", fields, &e) == -1) {
		/* Unrecorded attempts could repeat for ever: do not run. */
		deliver_log_error(r->log, "spool", name, e.msg);
		history_free(&h);
		(void)close(fd);
		finish(r, sl, SP_RETRY, "cannot write the history", 60);
		return 0;
	}

	/* The handlers still to run: those without a success since the
	 * last replay, in their order. */
	sl->ep = conf_endpoint(r->c, json_str(sl->env, "endpoint"));
	if (sl->ep == NULL) {
		history_free(&h);
		(void)close(fd);
		finish(r, sl, SP_RETRY, "its endpoint is not in the "
		    "configuration", backoff(r, sl));
		return 0;
	}
	if (handler_resolve(r->c, sl->ep, sl->event, &all, &e) == -1) {
		deliver_log_error(r->log, "spool", name, e.msg);
		history_free(&h);
		(void)close(fd);
		finish(r, sl, SP_RETRY, "cannot list handlers",
		    backoff(r, sl));
		return 0;
	}
	for (i = 0; i < all.n; i++) {
		for (done = 0, j = 0; j < h.ok.n && !done; j++)
			done = strcmp(all.v[i], h.ok.v[j]) == 0;
		if (!done) {
			sl->progs.v = reallocarray(sl->progs.v, sl->progs.n + 1,
			    sizeof(*sl->progs.v));
			if (sl->progs.v == NULL)
				break;
			sl->progs.v[sl->progs.n++] = all.v[i];
			all.v[i] = NULL;
		}
	}
	strlist_free(&all);
	history_free(&h);
	if (sl->progs.n == 0) {
		(void)close(fd);
		finish(r, sl, SP_DONE, all.n == 0 && sl->ev == NULL ?
		    "no handler for this event" : NULL, 0);
		return 0;
	}

	memset(&m, 0, sizeof(m));
	m.endpoint = json_str(sl->env, "endpoint");
	m.event = sl->event;
	m.id = json_str(sl->env, "id");
	m.request_id = json_str(sl->env, "request_id");
	m.received_at = json_str(sl->env, "received_at");
	m.remote_addr = json_str(sl->env, "remote");
	m.spool_file = sl->path;
	m.mode = "queue";
	m.attempt = sl->attempt;
	sl->envp = handler_env(r->c, &m);
	sl->body = deliver_body(fd, lseek(fd, 0, SEEK_CUR), &e);
	(void)close(fd);
	if (sl->envp == NULL || sl->body == -1 || start_next(r, sl) != 0) {
		if (sl->body == -1)
			deliver_log_error(r->log, "spool", name, e.msg);
		finish(r, sl, SP_RETRY, "cannot start the handler",
		    backoff(r, sl));
	}
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
	struct stat	st;
	struct err	e;
	time_t		now = time(NULL);
	size_t		i, n;
	long		wait;

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
		if (fstatat(r->s->fd[SP_RETRY], l.v[i], &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			free(l.v[i]);
			continue;
		}
		/* A due time further ahead than any backoff was set while
		 * the clock ran ahead (or by hand): due now, rather than
		 * when the clock gets there. */
		if (st.st_mtime > now && st.st_mtime - now <= r->due_bound) {
			wait = (long)(st.st_mtime - now);
			note_due(r, wait);
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

	if (r->active >= r->nslots || now < r->hold_until)
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

static json_object *
envelope_of_cur(struct run *r, const char *name)
{
	json_object	*env;
	struct err	 e;
	char		*line;
	int		 fd;

	if ((fd = spool_open_entry(r->s, SP_CUR, name, &line, &e)) == -1)
		return NULL;
	(void)close(fd);
	env = json_tokener_parse(line);
	free(line);
	return env;
}

/* The handlers a killed runner was running die with it (PDEATHSIG);
 * their own children may not. Stop them before the event runs again. */
static void
stop_leftovers(struct run *r, const char *name)
{
	const struct event_conf	*ev;
	json_object	*o, *v, *env;
	const char	*type;
	char		*text, *line, *nl, *last;
	struct err	 e;
	pid_t		 pgid;
	long		 span;

	if (spool_hist_read(r->s, name, &text, &e) == -1 || text == NULL)
		return;
	/* Only the runs of the last attempt: the one interrupted. */
	for (last = text, line = text; (nl = strchr(line, '\n')) != NULL;
	    line = nl + 1)
		if (strstr(line, "\"type\":\"attempt\"") != NULL &&
		    strstr(line, "\"type\":\"attempt\"") < nl)
			last = line;
	env = envelope_of_cur(r, name);
	ev = conf_event(r->c, json_str(env, "event") ? json_str(env, "event") : "");
	span = conf_timeout(r->c, ev) + r->c->kill_grace + 5;
	json_object_put(env);
	for (line = last; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		if ((o = json_tokener_parse(line)) == NULL)
			continue;
		type = json_str(o, "type");
		if (type != NULL && strcmp(type, "run") == 0 &&
		    json_object_object_get_ex(o, "pgid", &v) &&
		    (pgid = (pid_t)json_object_get_int64(v)) > 1 &&
		    json_object_object_get_ex(o, "start", &v) &&
		    handler_reap_group(pgid,
		    (unsigned long long)json_object_get_int64(v), span) > 0)
			log_event(r, name, NULL, NULL, "cur", "stopped what was "
			    "left of an interrupted handler", 0);
		json_object_put(o);
	}
	free(text);
}

/* tmp/ files of a responder killed mid-write (older than any write). */
static void
recover_tmp(struct run *r)
{
	struct strlist	l;
	struct stat	sb;
	struct err	e;
	time_t		now = time(NULL);
	size_t		i;

	if (spool_list(r->s, SP_TMP, &l, &e) == -1)
		return;
	for (i = 0; i < l.n; i++) {
		if (fstatat(r->s->fd[SP_TMP], l.v[i], &sb,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (now - sb.st_mtime > STALE_TMP_SECONDS)
			(void)unlinkat(r->s->fd[SP_TMP], l.v[i], 0);
		else if (sb.st_mtime - now > STALE_TMP_SECONDS)
			/* Written while the clock ran ahead: its age counts
			 * from now, not from when the clock gets there. */
			(void)utimensat(r->s->fd[SP_TMP], l.v[i], NULL,
			    AT_SYMLINK_NOFOLLOW);
	}
	strlist_free(&l);
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
				log_event(r, l.v[i], NULL, NULL, "new",
				    "re-queued after an interrupted run", 0);
			} else if (e.errnum != ENOENT) {
				spool_failed(r, &e);
				break;
			}
		}
		strlist_free(&l);
	} else
		spool_failed(r, &e);
	recover_tmp(r);
}

/* done/ entries and ids/ records older than `keep` go, at most once an
 * hour (the stamp's mtime says when it last ran; a stamp more than that
 * ahead of the clock was set while the clock ran ahead and does not hold
 * pruning back until the clock gets there). dead/ stays. */
static void
prune(struct run *r)
{
	struct strlist	l;
	struct stat	st;
	struct err	e;
	int64_t		cut = now_us() - (int64_t)r->c->keep * 1000000;
	time_t		now = time(NULL);
	size_t		i;
	int		fd;

	if (fstatat(r->s->fd[SP_HIST], "..", &st, 0) == -1)
		return;
	fd = openat(r->s->fd[SP_HIST], "../prune.stamp",
	    O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return;
	if (fstat(fd, &st) == 0 && st.st_size > 0 &&
	    now - st.st_mtime < PRUNE_EVERY &&
	    st.st_mtime - now <= PRUNE_EVERY) {
		(void)close(fd);
		return;
	}
	(void)futimens(fd, NULL);
	(void)write_all(fd, "x", 1);
	(void)ftruncate(fd, 1);
	(void)close(fd);
	if (spool_list(r->s, SP_DONE, &l, &e) == 0) {
		for (i = 0; i < l.n; i++) {
			if (spool_name_time(l.v[i]) >= cut)
				continue;
			if (unlinkat(r->s->fd[SP_DONE], l.v[i], 0) == 0) {
				(void)unlinkat(r->s->fd[SP_HIST], l.v[i], 0);
				r->st->pruned++;
			}
		}
		strlist_free(&l);
	}
	if (spool_list(r->s, SP_IDS, &l, &e) == 0) {
		for (i = 0; i < l.n; i++)
			if (fstatat(r->s->fd[SP_IDS], l.v[i], &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    (int64_t)st.st_mtime * 1000000 < cut)
				(void)unlinkat(r->s->fd[SP_IDS], l.v[i], 0);
		strlist_free(&l);
	}
}

/* How far ahead a retry/ entry's due time may be, in seconds: the
 * longest backoff of the configuration with its +10% jitter, and at
 * least a day, for entries set by hand or under an earlier backoff. */
static long
due_bound(const struct conf *c)
{
	long	max = 0;
	size_t	i, j;

	for (i = 0; i < c->nbackoff; i++)
		if (c->backoff[i] > max)
			max = c->backoff[i];
	for (i = 0; i < c->nevents; i++)
		for (j = 0; j < c->events[i].nbackoff; j++)
			if (c->events[i].backoff[j] > max)
				max = c->events[i].backoff[j];
	max += max / 10 + 1;
	return max > 86400 ? max : 86400;
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

/* Note the lock holder's pid in run.lock, for `hookpipe status`. */
static void
note_pid(struct spool *s)
{
	char	b[32];
	int	n = snprintf(b, sizeof(b), "%ld\n", (long)getpid());

	if (ftruncate(s->lockfd, 0) == 0)
		(void)pwrite(s->lockfd, b, (size_t)n, 0);
}

static void
drain_inotify(int fd)
{
	char	b[4096];

	while (read(fd, b, sizeof(b)) > 0)
		;
}

int
runner_run(const struct conf *c, struct spool *s, struct dlog *log,
    int flags, volatile sig_atomic_t *stop, struct runner_stats *st,
    struct err *e)
{
	static struct run	 r;
	struct pollfd		 pfd[MAX_SLOTS * 3 + 1];
	int64_t			 wake, now;
	long			 next;
	int			 n, k, infd = -1, watch = flags & RUNNER_WATCH;
	int			 waitms, failed = 0, halt, idle = 0;
	unsigned		 before, start;
	struct timespec		 ts;
	sigset_t		 stopsigs, oldmask;
	int64_t			 upkeep;

	(void)sigemptyset(&stopsigs);
	(void)sigaddset(&stopsigs, SIGTERM);
	(void)sigaddset(&stopsigs, SIGINT);
	(void)sigaddset(&stopsigs, SIGHUP);
	(void)sigprocmask(SIG_BLOCK, &stopsigs, &oldmask);
	upkeep = mono_ms();
	memset(st, 0, sizeof(*st));
	memset(&r, 0, sizeof(r));
	r.c = c;
	r.s = s;
	r.log = log;
	r.st = st;
	r.nslots = c->concurrency < MAX_SLOTS ? c->concurrency : MAX_SLOTS;
	r.due_bound = due_bound(c);
	for (k = 0; k < MAX_SLOTS; k++)
		r.slots[k].body = -1;
	st->next_due = -1;
relock:
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			st->busy = 1;
		else
			failed = err_sys(e, "unable to lock %s/run.lock",
			    s->path);
		if (infd != -1)
			(void)close(infd);
		(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
		return failed ? -1 : 0;
	}
	note_pid(s);
	start = r.claims;
	recover(&r);
	prune(&r);
	if (watch && infd == -1) {
		/* Without inotify the periodic rescan still finds events. */
		infd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (infd != -1) {
			char p[PATH_MAX];

			(void)snprintf(p, sizeof(p), "%s/new", s->path);
			if (inotify_add_watch(infd, p, IN_MOVED_TO |
			    IN_CLOSE_WRITE) == -1) {
				(void)close(infd);
				infd = -1;
			}
		}
	}
	for (;;) {
		halt = (stop != NULL && *stop) || r.gave_up;
		before = r.claims;
		next = halt ? -1 : fill(&r);
		st->next_due = (int)next;
		if (r.active == 0 && (!watch || halt)) {
			/* Events that settled at once may have left others
			 * waiting for a slot: look again before leaving. */
			if (r.claims != before && !halt) {
				take_signals(&oldmask, &stopsigs);
				continue;
			}
			break;
		}
		/* Wait for a handler event, a new event, a due retry, the
		 * end of a pause after a spool failure. */
		n = 0;
		now = mono_ms();
		wake = now + (watch ? RESCAN_MS : 1000);
		if (next >= 0 && now + next * 1000 < wake)
			wake = now + next * 1000;
		if (!halt && r.hold_until > now && r.hold_until < wake)
			wake = r.hold_until;
		for (k = 0; k < r.nslots; k++) {
			if (!r.slots[k].used)
				continue;
			n += handler_pollfds(&r.slots[k].job, pfd + n);
			if (handler_wake(&r.slots[k].job) < wake)
				wake = handler_wake(&r.slots[k].job);
		}
		if (infd != -1) {
			pfd[n].fd = infd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		waitms = wake - mono_ms() < 0 ? 0 : (int)(wake - mono_ms());
		ts.tv_sec = waitms / 1000;
		ts.tv_nsec = (long)(waitms % 1000) * 1000000;
		/* The stop signals are blocked outside this wait, so one that
		 * arrives after the check above still ends the wait. */
		if (ppoll(pfd, (nfds_t)n, &ts, &oldmask) == -1 &&
		    errno != EINTR) {
			err_sys(e, "poll");
			failed = 1;
			for (k = 0; k < r.nslots; k++)
				if (r.slots[k].used)
					handler_kill(&r.slots[k].job);
			break;
		}
		if (watch && mono_ms() - upkeep > RESCAN_MS) {
			recover_tmp(&r);
			prune(&r);
			upkeep = mono_ms();
		}
		if (infd != -1)
			drain_inotify(infd);
		for (k = 0; k < r.nslots; k++)
			if (r.slots[k].used && handler_step(&r.slots[k].job))
				advance(&r, &r.slots[k]);
	}
	queue_drop(&r.qnew);
	queue_drop(&r.qretry);
	if (flock(s->lockfd, LOCK_UN) == -1 && !failed)
		failed = err_sys(e, "unable to unlock %s/run.lock", s->path);
	/* An event committed while we held the lock found a runner busy and
	 * did not start one: look once more. Not while the spool fails (the
	 * next pass would fail as this one did, at once), nor after two
	 * passes in a row that claimed nothing: what new/ holds then cannot
	 * be claimed now, and the next runner will try. */
	idle = r.claims == start ? idle + 1 : 0;
	if (!failed && r.fault_since == 0 && idle < 2) {
		take_signals(&oldmask, &stopsigs);
		if (!(stop != NULL && *stop) && pending(s))
			goto relock;
	}
	if (infd != -1)
		(void)close(infd);
	(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (!failed && r.fault_since != 0) {
		st->failing = 1;
		failed = err_set(e, "the spool %s keeps failing: %s; check its "
		    "disk and file system (dmesg), then start hookpipe-run "
		    "again", s->path, r.fault);
	}
	return failed ? -1 : 0;
}
