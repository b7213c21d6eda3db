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
	buf_puts(&line, ",\"reason\":");
	buf_json_cstr(&line, reason);
	dlog_end(log, &line);
	buf_free(&line);
}

enum outcome
deliver_event(const struct conf *c, struct dlog *log,
    const struct handler_meta *m, int fd, off_t off,
    struct handler_result *last)
{
	const struct endpoint	*ep;
	struct handler_limits	 lim;
	struct handler_result	 r;
	struct strlist		 progs;
	struct buf		 line = { 0 };
	struct err		 e;
	enum outcome		 out = OUT_OK;
	char			**envp = NULL;
	size_t			 i;
	int			 body = -1;

	memset(last, 0, sizeof(*last));
	if ((ep = conf_endpoint(c, m->endpoint)) == NULL) {
		deliver_log_error(log, "spool", m->spool_file, "its endpoint "
		    "is not in the configuration (any more)");
		return OUT_TEMP;
	}
	handler_limits(c, ep, conf_event(c, m->event), &lim);
	if (handler_resolve(c, ep, m->event, &progs, &e) == -1) {
		deliver_log_error(log, "spool", m->spool_file, e.msg);
		return OUT_TEMP;
	}
	if (progs.n > 0 && ((envp = handler_env(c, m)) == NULL ||
	    (body = deliver_body(fd, off, &e)) == -1)) {
		if (envp != NULL)
			deliver_log_error(log, "spool", m->spool_file, e.msg);
		handler_env_free(envp);
		strlist_free(&progs);
		return OUT_TEMP;
	}
	for (i = 0; i < progs.n; i++) {
		if (handler_run(progs.v[i], body, 0, envp, &lim, &r, &e) ==
		    -1) {
			deliver_log_error(log, "handler", progs.v[i], e.msg);
			out = OUT_TEMP;
			break;
		}
		dlog_begin(&line, "handler");
		dlog_handler_fields(&line, m, NULL, progs.v[i], &r);
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

