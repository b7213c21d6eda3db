/* deliver: the one delivery engine: the handlers of one event in order,
 * recorded as they run, and one table from their outcome to the event's
 * next state and to the HTTP answer of a sync event. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "metrics.h"

#define RETRY_SYNC	30	/* Retry-After of a sync event to retry */

/* The one mapping from what a handler did to what becomes of the event
 * and what a sync sender is told. */
static const struct outcome_row rows[OUT_NOUT] = {
	{ OUT_OK, SP_DONE, 200, 0, NULL, NULL },
	{ OUT_TEMPFAIL, SP_RETRY, 503, RETRY_SYNC,
	    "handler asked for a retry (75)", "handler asked for a retry" },
	{ OUT_PERM, SP_DEAD, 500, 0,
	    "handler exited 100 (permanent failure)", "handler failed" },
	{ OUT_FAIL, SP_RETRY, 500, 0, "temporary failure", "handler failed" },
	{ OUT_SIGNAL, SP_RETRY, 500, 0, "handler killed by a signal",
	    "handler failed" },
	{ OUT_TIMEOUT, SP_RETRY, 504, 0, "timeout", "handler timed out" },
	{ OUT_NORUN, SP_RETRY, 503, RETRY_SYNC, "cannot start the handler",
	    "cannot run the handler right now" },
};

const struct outcome_row *
deliver_row(enum outcome o)
{
	return &rows[o < OUT_NOUT ? o : OUT_FAIL];
}

enum outcome
deliver_outcome(const struct handler_result *r)
{
	if (r->timed_out)
		return OUT_TIMEOUT;
	if (!r->exited)
		return OUT_SIGNAL;
	switch (r->code) {
	case HANDLER_EXIT_OK:
		return OUT_OK;
	case HANDLER_EXIT_TEMPFAIL:
		return OUT_TEMPFAIL;
	case HANDLER_EXIT_PERMFAIL:
		return OUT_PERM;
	default:
		return OUT_FAIL;
	}
}

/* Before Linux 3.17 (CentOS 7 hosts) there is no memfd: an unlinked
 * temporary file, handed on read-only, does the same but for the seal. */
static int
body_tmpfile(struct err *e)
{
	const char	*dir = getenv("TMPDIR");
	char		 path[PATH_MAX];
	int		 fd;

	if (dir == NULL || *dir != '/')
		dir = "/tmp";
	if (snprintf(path, sizeof(path), "%s/hookpipe-body.XXXXXX", dir) >=
	    (int)sizeof(path))
		return err_set(e, "TMPDIR too long");
	if ((fd = mkostemp(path, O_CLOEXEC)) == -1)
		return err_sys(e, "unable to create %s", path);
	(void)unlink(path);
	return fd;
}

/* The body alone in a sealed memory file: handlers get exactly the
 * payload on a seekable stdin, and none can change it for the next. */
int
deliver_body(int fd, off_t off, struct err *e)
{
	char	b[65536];
	ssize_t	n;
	int	mfd, ro, sealed = 1;

	if ((mfd = memfd_create("hookpipe-body", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1) {
		if (errno != ENOSYS && errno != EINVAL)
			return err_sys(e, "memfd_create");
		if ((mfd = body_tmpfile(e)) == -1)
			return -1;
		sealed = 0;
	}
	for (;;) {
		n = pread(fd, b, sizeof(b), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			err_sys(e, "unable to read the event body");
			goto fail;
		}
		if (n == 0)
			break;
		if (write_all(mfd, b, (size_t)n) == -1) {
			err_sys(e, "unable to copy the event body");
			goto fail;
		}
		off += n;
	}
	if (!sealed) {
		/* No seal: hand on a descriptor that cannot write. */
		(void)snprintf(b, sizeof(b), "/proc/self/fd/%d", mfd);
		ro = open(b, O_RDONLY | O_CLOEXEC);
		(void)close(mfd);
		return ro != -1 ? ro : err_sys(e, "unable to reopen the body");
	}
	if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW |
	    F_SEAL_SHRINK | F_SEAL_SEAL) == -1) {
		err_sys(e, "unable to seal the event body");
		goto fail;
	}
	return mfd;
fail:
	(void)close(mfd);
	return -1;
}

void
deliver_log_error(struct dlog *log, const char *key, const char *value,
    const char *reason)
{
	struct buf line = { 0 };

	dlog_begin(&line, "error");
	buf_printf(&line, ",\"%s\":", key);
	buf_json_cstr(&line, value);
	buf_json_kv(&line, "reason", reason);
	dlog_end(log, &line);
	buf_free(&line);
}

void
deliver_log_state(struct spool *s, struct dlog *log, const char *name,
    const struct envelope *env, const char *state, const char *reason,
    int attempt)
{
	struct buf	line = { 0 };
	struct err	e;
	size_t		start;

	dlog_begin(&line, "event");
	start = line.len;
	dlog_event_fields(&line, name, env != NULL ? env->event : NULL,
	    env != NULL ? env->id : NULL, state, reason, attempt);
	/* A move that failed leaves nothing to record; a dropped sync
	 * event leaves no history to record it in. */
	if (!line.oom && strcmp(state, "cur") != 0 &&
	    strcmp(state, "dropped") != 0) {
		buf_putc(&line, '\0');
		(void)spool_hist_add(s, name, "state", line.p + start, &e);
		line.len--;
	}
	dlog_end(log, &line);
	buf_free(&line);
}

int
deliver_replay(struct spool *s, struct dlog *log, const char *name,
    enum spool_dir from, const char *by, struct err *e)
{
	struct buf	 fields = { 0 };
	struct envelope	 env;
	struct err	 e2;
	char		 why[32];
	int		 fd;

	if (from != SP_RETRY && from != SP_DEAD && from != SP_DONE)
		return err_set(e, "unable to replay %s: it is in %s/, %s "
		    "already", name, spool_dirname(from), from == SP_CUR ?
		    "running" : "waiting to run");
	buf_json_kv(&fields, "by", by);
	buf_json_kv(&fields, "from", spool_dirname(from));
	if (fields.oom) {
		buf_free(&fields);
		return err_set(e, "unable to replay %s: out of memory", name);
	}
	/* Through cur/, where no runner picks it up, so the replay record
	 * is in place before the entry is seen again in new/. */
	if (spool_move(s, from, SP_CUR, name, e) == -1) {
		buf_free(&fields);
		return -1;
	}
	if (spool_hist_add(s, name, "replay", buf_cstr(&fields), e) == -1) {
		buf_free(&fields);
		(void)spool_move(s, SP_CUR, from, name, &e2);
		return -1;
	}
	buf_free(&fields);
	if (spool_move(s, SP_CUR, SP_NEW, name, e) == -1 && errno != ENOENT)
		return -1;
	if ((fd = spool_open_entry(s, SP_NEW, name, &env, &e2)) == -1)
		memset(&env, 0, sizeof(env));
	else
		(void)close(fd);
	(void)snprintf(why, sizeof(why), "replay from %s",
	    spool_dirname(from));
	deliver_log_state(s, log, name, &env, "new", why, 0);
	metrics_replay(1);
	envelope_free(&env);
	return 0;
}

/* Does the body after the envelope have the length and checksum the
 * envelope gives? The descriptor is left where it was. */
static int
body_intact(int fd, const struct envelope *env)
{
	char		b[65536];
	uint32_t	crc = 0;
	size_t		len = 0;
	off_t		at;
	ssize_t		n;

	if ((at = lseek(fd, 0, SEEK_CUR)) == -1)
		return 0;
	while ((n = pread(fd, b, sizeof(b), at + (off_t)len)) > 0 ||
	    (n == -1 && errno == EINTR))
		if (n > 0) {
			crc = crc32c(crc, b, (size_t)n);
			len += (size_t)n;
		}
	return n == 0 && len == env->bytes && (!env->has_crc ||
	    crc == env->crc);
}

int
deliver_open(struct delivery *d, const struct conf *c, struct spool *s,
    struct dlog *log, enum spool_dir from, const char *name, struct err *e)
{
	memset(d, 0, sizeof(*d));
	d->c = c;
	d->s = s;
	d->log = log;
	d->fd = d->body = -1;
	d->dir = from;
	(void)snprintf(d->name, sizeof(d->name), "%s", name);
	if ((d->fd = spool_open_entry(s, from, name, &d->env, e)) == -1)
		return -1;
	if (!body_intact(d->fd, &d->env))
		return err_set(e, "%s/%s/%s is torn: its body does not match "
		    "its envelope (a crash before it was flushed; it was "
		    "never acknowledged): set aside, never run",
		    spool_path(s), spool_dirname(from), name);
	d->ev = conf_event(c, d->env.event);
	return 0;
}

static int
finished(struct delivery *d, enum outcome out, const char *why)
{
	d->out = out;
	(void)snprintf(d->why, sizeof(d->why), "%.*s", (int)sizeof(d->why) -
	    1, why != NULL ? why : "");
	d->running = 0;
	return 0;
}

/* The event's destination, run as its last "handler": 1 started, -1. */
static int
start_dest(struct delivery *d)
{
	struct dest_msg	m;
	struct err	e;

	memset(&m, 0, sizeof(m));
	m.c = d->c;
	m.ev = d->ev;
	m.env = &d->env;
	m.name = d->name;
	m.body = d->body;
	m.attempt = d->attempt;
	m.timeout = conf_timeout(d->c, d->ev);
	if (dest_start(&d->dest, d->ev->forward, &m, &e) == -1) {
		deliver_log_error(d->log, "forward", d->ev->forward, e.msg);
		(void)snprintf(d->fwd_err, sizeof(d->fwd_err), "cannot "
		    "forward: %.200s", e.msg);
		dest_cancel(&d->dest);
		return -1;
	}
	d->forwarding = d->running = 1;
	return 1;
}

/* Start the next handler still to run: 1 started, 0 none left, -1. */
static int
start_next(struct delivery *d)
{
	struct handler_limits	lim;
	struct err		e;
	int			note, rc;

	if (d->next >= d->progs.n)
		return 0;
	if (d->ev != NULL && d->ev->forward != NULL &&
	    d->next == d->progs.n - 1 &&
	    strcmp(d->progs.v[d->next], d->ev->forward) == 0)
		return start_dest(d);
	/* The child notes who runs in the history before it execs, so a
	 * runner recovering after a crash can stop what is left. */
	if ((note = spool_hist_open(d->s, d->name, &e)) == -1) {
		deliver_log_error(d->log, "spool", d->name, e.msg);
		return -1;
	}
	handler_limits(d->c, d->ep, d->ev, &lim);
	rc = handler_start(&d->job, d->progs.v[d->next], d->body, 0, d->envp,
	    &lim, note, &e);
	(void)close(note);
	if (rc == -1) {
		metrics_handler(OUT_NORUN, 0);
		deliver_log_error(d->log, "handler", d->progs.v[d->next],
		    e.msg);
		return -1;
	}
	d->running = 1;
	return 1;
}

/* The event's handler programs, looked up once per delivery (the runner
 * asks before the claim, deliver_begin after). */
static int
handlers_of(struct delivery *d, struct err *e)
{
	if (d->resolved)
		return 0;
	if (handler_resolve(d->c, d->ep, d->env.event, &d->handlers, e) == -1)
		return -1;
	d->resolved = 1;
	return 0;
}

int
deliver_takes_proc(struct delivery *d)
{
	struct err	 e;
	const char	*f = d->ev != NULL ? d->ev->forward : NULL;

	if (f != NULL && !dest_publishes(f))
		return 1;
	if (d->ep == NULL &&
	    (d->ep = conf_endpoint(d->c, d->env.endpoint)) == NULL)
		return 0;
	/* Unreadable handlers_dir: deliver_begin says so and settles it as
	 * a handler that could not start, in the place of one. */
	if (handlers_of(d, &e) == -1)
		return 1;
	return d->handlers.n > 0;
}

/* The handlers of the event without a success since the last replay,
 * in their order; -1 with the reason. */
static int
still_to_run(struct delivery *d, const struct history *h, int *unknown,
    struct err *e)
{
	const struct strlist	*all = &d->handlers;
	size_t			 i, j;
	int			 done;

	if (handlers_of(d, e) == -1)
		return -1;
	for (i = 0; i < all->n; i++) {
		for (done = 0, j = 0; j < h->ok.n && !done; j++)
			done = strcmp(all->v[i], h->ok.v[j]) == 0;
		if (!done && strlist_push(&d->progs, all->v[i]) == -1)
			return err_sys(e, "handler list");
	}
	/* The destination goes last: handlers can act on an event before
	 * it leaves the host, and their failure holds it back. */
	if (d->ev != NULL && d->ev->forward != NULL) {
		for (done = 0, j = 0; j < h->ok.n && !done; j++)
			done = strcmp(d->ev->forward, h->ok.v[j]) == 0;
		if (!done && strlist_push(&d->progs, d->ev->forward) == -1)
			return err_sys(e, "handler list");
	}
	*unknown = all->n == 0 && d->ev == NULL;
	return 0;
}

static void
meta_of(const struct delivery *d, struct handler_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->endpoint = d->env.endpoint;
	m->event = d->env.event;
	m->id = d->env.id;
	m->request_id = d->env.request_id;
	m->received_at = d->env.received_at;
	m->remote_addr = d->env.remote;
	m->content_type = d->env.content_type;
	m->spool_file = d->path;
	m->mode = d->dir == SP_TMP ? "sync" : "queue";
	m->attempt = d->attempt;
	m->traceparent = d->env.traceparent;
}

int
deliver_begin(struct delivery *d, enum spool_dir at)
{
	struct handler_meta	m;
	struct history		h;
	struct err		e;
	char			fields[32];
	int			max, unknown = 0;

	d->dir = at;
	(void)spool_entry_path(d->s, at, d->name, d->path, sizeof(d->path));
	if (spool_hist_load(d->s, d->name, &h, &e) == -1) {
		deliver_log_error(d->log, "spool", d->name, e.msg);
		memset(&h, 0, sizeof(h));
	}
	max = conf_retries(d->c, d->ev) + 1;
	d->attempt = h.attempts + 1;
	if (h.attempts >= max) {
		/* Interrupted attempts count: a handler that kills its
		 * runner every time must not run for ever. */
		spool_hist_free(&h);
		return finished(d, OUT_PERM, "retries exhausted (interrupted "
		    "attempts count)");
	}
	(void)snprintf(fields, sizeof(fields), ",\"attempt\":%d", d->attempt);
	if (spool_hist_add(d->s, d->name, "attempt", fields, &e) == -1) {
		/* Unrecorded attempts could repeat for ever: do not run. */
		deliver_log_error(d->log, "spool", d->name, e.msg);
		spool_hist_free(&h);
		return finished(d, OUT_NORUN, "cannot write the history");
	}
	if ((d->ep = conf_endpoint(d->c, d->env.endpoint)) == NULL) {
		spool_hist_free(&h);
		return finished(d, OUT_NORUN, "its endpoint is not in the "
		    "configuration");
	}
	if (still_to_run(d, &h, &unknown, &e) == -1) {
		deliver_log_error(d->log, "spool", d->name, e.msg);
		spool_hist_free(&h);
		return finished(d, OUT_NORUN, "cannot list handlers");
	}
	spool_hist_free(&h);
	if (d->progs.n == 0)
		return finished(d, OUT_OK, unknown ? "no handler for this "
		    "event" : NULL);
	meta_of(d, &m);
	if ((d->envp = handler_env(d->c, &m)) == NULL)
		return finished(d, OUT_NORUN, "out of memory");
	if ((d->body = deliver_body(d->fd, lseek(d->fd, 0, SEEK_CUR), &e)) ==
	    -1) {
		deliver_log_error(d->log, "spool", d->name, e.msg);
		return finished(d, OUT_NORUN, NULL);
	}
	if (start_next(d) != 1)
		return finished(d, OUT_NORUN, d->fwd_err);
	return 1;
}

int
deliver_step(struct delivery *d)
{
	struct handler_result	*res = d->forwarding ? &d->dest.res :
				    &d->job.res;
	struct handler_meta	 m;
	struct buf		 line = { 0 };
	struct err		 e;
	enum outcome		 out;
	size_t			 start;

	d->running = 0;
	meta_of(d, &m);
	dlog_begin(&line, "handler");
	start = line.len;
	dlog_handler_fields(&line, &m, d->name, d->progs.v[d->next], res);
	if (!line.oom) {
		buf_putc(&line, '\0');
		(void)spool_hist_add(d->s, d->name, "handler", line.p + start,
		    &e);
		line.len--;
	}
	dlog_end(d->log, &line);
	buf_free(&line);

	handler_result_free(&d->last);
	d->last = *res;
	memset(res, 0, sizeof(*res));
	metrics_handler(deliver_outcome(&d->last), d->last.ms);
	if (d->forwarding) {
		/* Its reason (an HTTP status, a TLS error) says more than
		 * the row's; a Retry-After it got sets the retry's time. */
		d->due_us = d->dest.due_us;
		dest_cancel(&d->dest);
		d->forwarding = 0;
		if ((out = deliver_outcome(&d->last)) != OUT_OK)
			return finished(d, out, d->last.tail);
	}
	if ((out = deliver_outcome(&d->last)) != OUT_OK)
		return finished(d, out, NULL);
	d->next++;
	switch (start_next(d)) {
	case 1:
		return 1;
	case 0:
		return finished(d, OUT_OK, NULL);
	default:
		return finished(d, OUT_NORUN, d->fwd_err);
	}
}

int
deliver_pollfds(struct delivery *d, struct pollfd *p)
{
	if (!d->running)
		return 0;
	return d->forwarding ? dest_pollfds(&d->dest, p) :
	    handler_pollfds(&d->job, p);
}

int64_t
deliver_wake(const struct delivery *d)
{
	if (!d->running)
		return INT64_MAX;
	return d->forwarding ? dest_wake(&d->dest) : handler_wake(&d->job);
}

int
deliver_poll(struct delivery *d)
{
	if (!d->running)
		return 0;
	return d->forwarding ? dest_step(&d->dest) : handler_step(&d->job);
}

void
deliver_kill(struct delivery *d)
{
	if (d->forwarding)
		dest_cancel(&d->dest);
	else if (d->running)
		handler_kill(&d->job);
}

void
deliver_wait(struct delivery *d)
{
	struct pollfd	pfd[DELIVER_POLLFDS];
	int64_t		wait;
	int		n;

	while (d->running) {
		if (!deliver_poll(d)) {
			n = deliver_pollfds(d, pfd);
			wait = deliver_wake(d) - mono_ms();
			if (poll(pfd, (nfds_t)n, wait < 0 ? 0 : wait > 1000 ?
			    1000 : (int)wait) == -1 && errno != EINTR)
				deliver_kill(d);
			continue;
		}
		(void)deliver_step(d);
	}
}

/* Seconds before the next attempt: the schedule, with +-10% jitter so a
 * burst of failures does not come back as a burst. */
static long
backoff(const struct delivery *d)
{
	long		base = conf_backoff(d->c, d->ev, d->attempt);
	uint32_t	rnd;
	char		hex[9];

	if (base < 10 || random_hex(hex, 4) == -1)
		return base;
	rnd = (uint32_t)strtoul(hex, NULL, 16);
	return base - base / 10 + (long)(rnd % (uint32_t)(base / 5 + 1));
}

enum spool_dir
deliver_finish(struct delivery *d, long *delay, struct err *e)
{
	const struct outcome_row	*row = deliver_row(d->out);
	enum spool_dir			 to = row->to;
	const char			*state;
	char				 why[512];

	*delay = 0;
	(void)snprintf(why, sizeof(why), "%s", d->why[0] != '\0' ? d->why :
	    row->reason != NULL ? row->reason : "");
	if (d->dir == SP_TMP) {
		/* Sync: handled, or answered with a failure that the
		 * sender retries: nothing of it is kept but the log. */
		if (d->out == OUT_OK &&
		    spool_move(d->s, SP_TMP, SP_DONE, d->name, e) == 0) {
			metrics_settled(SP_DONE, d->env.received_us);
			deliver_log_state(d->s, d->log, d->name, &d->env,
			    "done", why[0] ? why : NULL, d->attempt);
			return SP_DONE;
		}
		deliver_log_state(d->s, d->log, d->name, &d->env, "dropped",
		    d->out == OUT_OK ? "handled, but not moved to done/" :
		    why, d->attempt);
		(void)spool_remove(d->s, SP_TMP, d->name, e);
		return SP_NDIRS;
	}
	if (to == SP_RETRY && d->attempt >= conf_retries(d->c, d->ev) + 1) {
		to = SP_DEAD;
		(void)snprintf(why, sizeof(why), "retries exhausted");
	}
	if (spool_move(d->s, SP_CUR, to, d->name, e) == -1) {
		deliver_log_state(d->s, d->log, d->name, &d->env, "cur", e->msg,
		    d->attempt);
		return SP_CUR;
	}
	if (to == SP_RETRY) {
		/* A destination's Retry-After, within the longest wait a
		 * runner believes (conf_due_bound's day). */
		if (d->due_us > 0)
			*delay = (long)((d->due_us - now_us() + 999999) /
			    1000000);
		if (d->due_us <= 0 || *delay < 0 || *delay > 86400)
			*delay = backoff(d);
		if (spool_retry_set(d->s, d->name, now_us() +
		    (int64_t)*delay * 1000000, e) == -1)
			deliver_log_error(d->log, "spool", d->name, e->msg);
		(void)snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    "; next attempt in %lds", *delay);
	}
	metrics_settled(to, d->env.received_us);
	state = spool_dirname(to);
	deliver_log_state(d->s, d->log, d->name, &d->env, state,
	    why[0] ? why : NULL, d->attempt);
	return to;
}

void
deliver_free(struct delivery *d)
{
	envelope_free(&d->env);
	if (d->fd != -1)
		(void)close(d->fd);
	strlist_free(&d->handlers);
	strlist_free(&d->progs);
	handler_env_free(d->envp);
	if (d->body != -1)
		(void)close(d->body);
	handler_result_free(&d->job.res);
	handler_result_free(&d->last);
	dest_cancel(&d->dest);
	memset(d, 0, sizeof(*d));
	d->fd = d->body = -1;
}
