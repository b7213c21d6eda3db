/* deliver: the state machine of one event (new -> cur -> done | retry |
 * dead) and the runner loop with its lock. Exactly one runner drains a
 * spool at a time; flock makes a killed runner's lock vanish with it. */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "deliver.h"

#define STALE_TMP_SECONDS	3600

/* The body alone in a sealed memory file: handlers get exactly the
 * payload on a seekable stdin, and none can change it for the next. */
static int
body_copy(int fd, off_t off, struct err *e)
{
	char	b[65536];
	ssize_t	n;
	int	mfd;

	if ((mfd = memfd_create("hookpipe-body", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return err_sys(e, "memfd_create");
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

static void
log_error(struct dlog *log, const char *key, const char *value,
    const char *reason)
{
	struct buf line = { 0 };

	dlog_begin(&line, "error");
	buf_printf(&line, ",\"%s\":", key);
	buf_json_cstr(&line, value);
	buf_puts(&line, ",\"reason\":");
	buf_json_cstr(&line, reason);
	dlog_end(log, &line);
	buf_free(&line);
}

enum outcome
deliver_event(const struct conf *c, struct dlog *log,
    const struct handler_meta *m, long timeout, int fd, off_t off,
    struct handler_result *last)
{
	struct handler_result	 r;
	struct strlist		 progs;
	struct buf		 line = { 0 };
	struct err		 e;
	enum outcome		 out = OUT_OK;
	char			**envp = NULL;
	size_t			 i;
	int			 body = -1;

	memset(last, 0, sizeof(*last));
	if (handler_resolve(c, m->event, &progs, &e) == -1) {
		log_error(log, "spool", m->spool_file, e.msg);
		return OUT_TEMP;
	}
	if (progs.n > 0 && ((envp = handler_env(c, m)) == NULL ||
	    (body = body_copy(fd, off, &e)) == -1)) {
		if (envp != NULL)
			log_error(log, "spool", m->spool_file, e.msg);
		handler_env_free(envp);
		strlist_free(&progs);
		return OUT_TEMP;
	}
	for (i = 0; i < progs.n; i++) {
		if (handler_run(progs.v[i], body, 0, envp, c->handlers_dir,
		    timeout, c->kill_grace, &r, &e) == -1) {
			log_error(log, "handler", progs.v[i], e.msg);
			out = OUT_TEMP;
			break;
		}
		dlog_begin(&line, "handler");
		buf_puts(&line, ",\"request_id\":");
		buf_json_cstr(&line, m->request_id);
		buf_puts(&line, ",\"event\":");
		buf_json_cstr(&line, m->event);
		buf_puts(&line, ",\"id\":");
		buf_json_cstr(&line, m->id);
		buf_puts(&line, ",\"mode\":");
		buf_json_cstr(&line, m->mode);
		buf_printf(&line, ",\"attempt\":%d", m->attempt);
		dlog_handler_fields(&line, progs.v[i], &r);
		dlog_end(log, &line);
		handler_result_free(last);
		*last = r;
		if (r.timed_out)
			out = OUT_TIMEOUT;
		else if (r.exited && r.code == HANDLER_EXIT_OK)
			continue;
		else if (r.exited && r.code == HANDLER_EXIT_PERMFAIL)
			out = OUT_PERM;
		else
			out = OUT_TEMP;
		break;
	}
	if (body != -1)
		(void)close(body);
	handler_env_free(envp);
	strlist_free(&progs);
	buf_free(&line);
	return out;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
log_state(struct dlog *log, const char *name, const char *event,
    const char *id, const char *state, const char *reason)
{
	struct buf line = { 0 };

	dlog_begin(&line, "event");
	buf_puts(&line, ",\"spool\":");
	buf_json_cstr(&line, name);
	buf_puts(&line, ",\"event\":");
	buf_json_cstr(&line, event);
	buf_puts(&line, ",\"id\":");
	buf_json_cstr(&line, id);
	buf_puts(&line, ",\"state\":");
	buf_json_cstr(&line, state);
	if (reason != NULL) {
		buf_puts(&line, ",\"reason\":");
		buf_json_cstr(&line, reason);
	}
	dlog_end(log, &line);
	buf_free(&line);
}

/* Run one claimed event (in cur/) and move it to its next state. */
static void
run_one(const struct conf *c, struct spool *s, struct dlog *log,
    const char *name, struct drain_stats *st)
{
	struct handler_result	 last;
	struct handler_meta	 m;
	struct err		 e;
	json_object		*env = NULL;
	enum outcome		 out;
	enum spool_dir		 to;
	const char		*state;
	char			*line = NULL, path[PATH_MAX];
	off_t			 off;
	int			 fd;

	if ((fd = spool_open_entry(s, SP_CUR, name, &line, &e)) == -1 ||
	    (env = json_tokener_parse(line)) == NULL ||
	    !json_object_is_type(env, json_type_object) ||
	    jstr(env, "event") == NULL) {
		/* Unreadable entries are kept for a person to look at. */
		log_state(log, name, NULL, NULL, "dead", fd == -1 ? e.msg :
		    "envelope is not readable");
		(void)spool_move(s, SP_CUR, SP_DEAD, name, &e);
		st->dead++;
		goto out;
	}
	off = (off_t)strlen(line) + 1;
	(void)spool_entry_path(s, SP_CUR, name, path, sizeof(path));
	memset(&m, 0, sizeof(m));
	m.event = jstr(env, "event");
	m.id = jstr(env, "id");
	m.request_id = jstr(env, "request_id");
	m.received_at = jstr(env, "received_at");
	m.remote_addr = jstr(env, "remote");
	m.spool_file = path;
	m.mode = "queue";
	m.attempt = 1;
	out = deliver_event(c, log, &m, conf_timeout(c, conf_event(c,
	    m.event)), fd, off, &last);
	handler_result_free(&last);
	switch (out) {
	case OUT_OK:
		to = SP_DONE, state = "done";
		st->done++;
		break;
	case OUT_PERM:
		to = SP_DEAD, state = "dead";
		st->dead++;
		break;
	default:
		to = SP_RETRY, state = "retry";
		st->retry++;
		break;
	}
	if (spool_move(s, SP_CUR, to, name, &e) == -1) {
		st->errors++;
		log_state(log, name, m.event, m.id, "cur", e.msg);
	} else
		log_state(log, name, m.event, m.id, state, NULL);
out:
	if (fd != -1)
		(void)close(fd);
	json_object_put(env);
	free(line);
}

/* Entries a crashed runner left in cur/ go back to new/; stale tmp/
 * files (a responder killed mid-write) are removed. */
static void
recover(struct spool *s, struct dlog *log, struct drain_stats *st)
{
	struct strlist	l;
	struct stat	sb;
	struct err	e;
	time_t		now = time(NULL);
	size_t		i;

	if (spool_list(s, SP_CUR, &l, &e) == 0) {
		for (i = 0; i < l.n; i++) {
			if (spool_move(s, SP_CUR, SP_NEW, l.v[i], &e) == 0) {
				st->recovered++;
				log_state(log, l.v[i], NULL, NULL, "new",
				    "re-queued after an interrupted run");
			}
		}
		strlist_free(&l);
	}
	if (spool_list(s, SP_TMP, &l, &e) == 0) {
		for (i = 0; i < l.n; i++)
			if (fstatat(s->fd[SP_TMP], l.v[i], &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    now - sb.st_mtime > STALE_TMP_SECONDS)
				(void)unlinkat(s->fd[SP_TMP], l.v[i], 0);
		strlist_free(&l);
	}
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

int
deliver_drain(const struct conf *c, struct spool *s, struct dlog *log,
    struct drain_stats *st, struct err *e)
{
	struct strlist	l;
	size_t		i;

	memset(st, 0, sizeof(*st));
	for (;;) {
		if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1) {
			if (errno == EWOULDBLOCK) {
				st->busy = 1;	/* it looks again when done */
				return 0;
			}
			return err_sys(e, "unable to lock %s/run.lock",
			    s->path);
		}
		recover(s, log, st);
		for (;;) {
			if (spool_list(s, SP_NEW, &l, e) == -1) {
				(void)flock(s->lockfd, LOCK_UN);
				return -1;
			}
			if (l.n == 0) {
				strlist_free(&l);
				break;
			}
			for (i = 0; i < l.n; i++) {
				if (spool_move(s, SP_NEW, SP_CUR, l.v[i], e) ==
				    -1)
					continue;	/* claimed elsewhere */
				run_one(c, s, log, l.v[i], st);
			}
			strlist_free(&l);
		}
		if (flock(s->lockfd, LOCK_UN) == -1)
			return err_sys(e, "unable to unlock %s/run.lock",
			    s->path);
		/* An event committed while we held the lock found a runner
		 * busy and did not start one: look once more. */
		if (!pending(s))
			return 0;
	}
}
