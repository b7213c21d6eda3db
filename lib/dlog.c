/* dlog: append-only JSON lines. Each line is written with one write()
 * on an O_APPEND descriptor so concurrent writers never interleave. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dlog.h"

int
dlog_target_ok(const struct stat *st)
{
	struct stat null;

	if (S_ISREG(st->st_mode))
		return 1;
	/* /dev/null: no log, on purpose (the fuzz harness does it). */
	return S_ISCHR(st->st_mode) && stat("/dev/null", &null) == 0 &&
	    S_ISCHR(null.st_mode) && null.st_rdev == st->st_rdev;
}

int
dlog_open(struct dlog *l, const char *path, struct err *e)
{
	struct stat	st;
	int		fl;

	l->fd = -1;
	l->path = NULL;
	if (path == NULL)
		return 0;
	/*
	 * Not open_file(): that creates files 0600, and the log is 0640 by
	 * contract. The same care, though: O_NONBLOCK, because opening a
	 * FIFO for writing waits for a reader (without one it now fails
	 * with ENXIO), and then only a regular file (or /dev/null) is
	 * kept, because a FIFO with a slow reader would stall every writer
	 * once its buffer is full. Symbolic links are followed, as for every file the
	 * configuration names.
	 */
	l->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY | O_NONBLOCK, 0640);
	if (l->fd == -1) {
		if (errno == ENXIO)
			return err_set(e, "unable to open log %s: not a "
			    "regular file (a FIFO or device with no reader)",
			    path);
		return err_sys(e, "unable to open log %s", path);
	}
	if (fstat(l->fd, &st) == -1) {
		err_sys(e, "unable to stat log %s", path);
		goto fail;
	}
	if (!dlog_target_ok(&st)) {
		err_set(e, "unable to open log %s: not a regular file", path);
		goto fail;
	}
	if ((fl = fcntl(l->fd, F_GETFL)) == -1 ||
	    fcntl(l->fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		err_sys(e, "unable to set up log %s", path);
		goto fail;
	}
	if ((l->path = strdup(path)) == NULL) {
		err_sys(e, "log %s", path);
		goto fail;
	}
	return 0;
fail:
	(void)close(l->fd);
	l->fd = -1;
	return -1;
}

void
dlog_close(struct dlog *l)
{
	if (l->fd != -1)
		(void)close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
}

void
dlog_begin(struct buf *b, const char *type)
{
	char t[40];

	fmt_time_us(now_us(), t, sizeof(t));
	buf_reset(b);
	buf_puts(b, "{\"time\":");
	buf_json_cstr(b, t);
	buf_json_kv(b, "type", type);
}

void
dlog_end(struct dlog *l, struct buf *b)
{
	buf_puts(b, "}\n");
	if (b->oom)
		return;
	if (l != NULL && l->fd != -1 && write_all(l->fd, b->p, b->len) == 0)
		return;
	/* The web server's error log is the last resort. */
	(void)write_all(2, b->p, b->len);
}

void
dlog_handler_fields(struct buf *b, const struct handler_meta *m,
    const char *spool, const char *path, const struct handler_result *r)
{
	char res[32];

	if (spool != NULL) {
		buf_json_kv(b, "spool", spool);
	}
	buf_json_kv(b, "request_id", m->request_id);
	buf_json_kv(b, "event", m->event);
	buf_json_kv(b, "id", m->id);
	buf_json_kv(b, "mode", m->mode);
	buf_printf(b, ",\"attempt\":%d", m->attempt);
	if (m->traceparent != NULL && strlen(m->traceparent) > 35)
		buf_printf(b, ",\"trace_id\":\"%.32s\"", m->traceparent + 3);
	handler_result_str(r, res, sizeof(res));
	buf_json_kv(b, "handler", path);
	buf_json_kv(b, "result", res);
	if (r->exited)
		buf_printf(b, ",\"exit\":%d", r->code);
	else
		buf_printf(b, ",\"signal\":%d", r->signo);
	buf_printf(b, ",\"timeout\":%s,\"ms\":%lld,\"stderr\":",
	    r->timed_out ? "true" : "false", (long long)r->ms);
	buf_json_str(b, r->tail, r->taillen);
}

void
dlog_event_fields(struct buf *b, const char *spool, const char *event,
    const char *id, const char *state, const char *reason, int attempt)
{
	buf_json_kv(b, "spool", spool);
	buf_json_kv(b, "event", event);
	buf_json_kv(b, "id", id);
	buf_json_kv(b, "state", state);
	if (attempt > 0)
		buf_printf(b, ",\"attempt\":%d", attempt);
	if (reason != NULL) {
		buf_json_kv(b, "reason", reason);
	}
}

int
dlog_failures(const char *path, int64_t since)
{
	struct stat	 st;
	json_object	*o, *v;
	const char	*res, *t;
	char		*text = NULL, *p, *nl, cut[40];
	off_t		 from;
	ssize_t		 n;
	size_t		 len = 0, want;
	int		 fd, count = 0;

	fmt_time_us(since, cut, sizeof(cut));
	if (path == NULL || (fd = open_file(AT_FDCWD, path, O_RDONLY,
	    NULL)) == -1)
		return 0;
	if (fstat(fd, &st) == -1) {
		(void)close(fd);
		return 0;
	}
	/* The last 4 MiB: enough for an hour of a busy receiver. */
	from = st.st_size > 4 * 1024 * 1024 ? st.st_size - 4 * 1024 * 1024 : 0;
	want = (size_t)(st.st_size - from);
	if ((text = malloc(want + 1)) == NULL) {
		(void)close(fd);
		return 0;
	}
	while (len < want && (n = pread(fd, text + len, want - len,
	    from + (off_t)len)) > 0)
		len += (size_t)n;
	(void)close(fd);
	text[len] = '\0';
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		*nl = '\0';
		if (strstr(p, "\"type\":\"handler\"") == NULL ||
		    (o = json_tokener_parse(p)) == NULL)
			continue;
		res = json_object_object_get_ex(o, "result", &v) ?
		    json_object_get_string(v) : NULL;
		t = json_object_object_get_ex(o, "time", &v) ?
		    json_object_get_string(v) : NULL;
		if (res != NULL && t != NULL && strcmp(res, "exit 0") != 0 &&
		    strcmp(t, cut) >= 0)
			count++;
		json_object_put(o);
	}
	free(text);
	return count;
}
