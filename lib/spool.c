/* spool: the Maildir-style event store and everything on its disk: the
 * folders and their ownership, the commit (tmp -> rename into new/ ->
 * one shared flush), the dedupe index, state moves and the histories.
 * A successful spool_commit is the only thing that allows a 200. */
#include "config.h"

#include <sys/mman.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spoolint.h"

#define LOCK_WAIT_MS	1000	/* for a lock being handed over */
#define LOCK_TICK_MS	10


static const char *const dirnames[SP_NDIRS] = {
	"tmp", "new", "cur", "retry", "done", "dead", "ids", "hist",
	"quarantine"
};

const char *
spool_dirname(enum spool_dir d)
{
	return dirnames[d];
}

/*
 * The spool is private to the user hookpipe runs as. A folder or file of
 * it that another user owns, that group or others may write, or that
 * lies on another file system was not made by hookpipe: a spool_dir
 * created first by another local user (under a shared or /tmp folder)
 * would let that user read every payload and forge events, and a state
 * folder elsewhere breaks the renames that move entries. Refused, every
 * time the spool is opened, not only by `hookpipe check`.
 */
static int
vet(int fd, const char *path, const char *name, dev_t *dev, struct err *e)
{
	struct stat	st;
	const char	*sep = name != NULL ? "/" : "";

	if (name == NULL)
		name = "";
	if (fstat(fd, &st) == -1)
		return err_sys(e, "unable to stat %s%s%s", path, sep, name);
	if (st.st_uid != geteuid())
		return err_set(e, "%s%s%s belongs to uid %lu, not to uid %lu "
		    "that hookpipe runs as: refused (another user may have "
		    "made it; remove it and let hookpipe create it, or run "
		    "hookpipe as its owner)", path, sep, name,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, "%s%s%s is writable by %s: refused (chmod "
		    "go-w %s%s%s)", path, sep, name, st.st_mode & S_IWOTH ?
		    "others" : "its group", path, sep, name);
	if (*dev == 0)
		*dev = st.st_dev;
	else if (st.st_dev != *dev)
		return err_set(e, "%s%s%s is on another file system than %s: "
		    "refused (entries move between the spool's folders by "
		    "rename: keep them all on one file system)", path, sep,
		    name, path);
	return 0;
}

/* The spool folder itself. A symbolic link naming it must be the
 * operator's (ours or root's), not one planted beside it. */
static int
open_top(const char *path, int create, dev_t *dev, struct err *e)
{
	struct stat	st;
	int		top;

	if (create && mkdir(path, 0700) == -1 && errno != EEXIST)
		return err_sys(e, "unable to create spool %s", path);
	if (lstat(path, &st) == -1)
		return err_sys(e, "unable to open spool %s", path);
	if (S_ISLNK(st.st_mode) && st.st_uid != geteuid() && st.st_uid != 0)
		return err_set(e, "spool %s is a symbolic link of uid %lu: "
		    "refused (another user may have made it; remove it)",
		    path, (unsigned long)st.st_uid);
	if ((top = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_sys(e, "unable to open spool %s", path);
	if (vet(top, path, NULL, dev, e) == -1) {
		(void)close(top);
		return -1;
	}
	return top;
}

static int
open_sub(int top, const char *path, const char *name, int create,
    dev_t *dev, struct err *e)
{
	int fd;

	if (create && mkdirat(top, name, 0700) == -1 && errno != EEXIST)
		return err_sys(e, "unable to create %s/%s", path, name);
	if ((fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return err_sys(e, "unable to open %s/%s", path, name);
	if (vet(fd, path, name, dev, e) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* A file of the spool's own (run.lock, sync.state): never through a
 * symbolic link, never anything but a regular file of ours. */
static int
open_own(int top, const char *path, const char *name, dev_t *dev,
    struct err *e)
{
	int fd;

	if ((fd = open_file(top, name, O_RDWR | O_CREAT | O_NOFOLLOW, e)) ==
	    -1) {
		if (errno == ELOOP)
			err_set(e, "%s/%s is a symbolic link: refused (remove "
			    "it)", path, name);
		else if (errno != EINVAL)
			err_sys(e, "unable to open %s/%s", path, name);
		else
			err_set(e, "%s/%s is not a regular file: refused "
			    "(remove it)", path, name);
		return -1;
	}
	if (vet(fd, path, name, dev, e) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

struct spool *
spool_open(const char *path, int flags, struct err *e)
{
	struct spool	*s;
	dev_t		 dev = 0;
	int		 i, create = flags & SPOOL_CREATE;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		err_sys(e, "spool %s", path);
		return NULL;
	}
	for (i = 0; i < SP_NDIRS; i++)
		s->fd[i] = -1;
	s->lockfd = s->jdir = s->jfd = s->statefd = -1;
	s->nosync = (flags & SPOOL_NOSYNC) != 0;
	s->jmax = SPOOL_JOURNAL_MAX;
	if ((s->path = strdup(path)) == NULL) {
		err_sys(e, "spool %s", path);
		goto fail;
	}
	if ((s->top = open_top(path, create, &dev, e)) == -1)
		goto fail;
	s->dev = dev;
	/* quarantine/ and journal/ came with a later version: made when missing
	 * in a spool an older one made. */
	for (i = 0; i < SP_NDIRS; i++)
		if ((s->fd[i] = open_sub(s->top, path, dirnames[i],
		    create || i == SP_QUAR, &dev, e)) == -1)
			goto fail;
	if ((s->jdir = open_sub(s->top, path, "journal", 1, &dev, e)) == -1)
		goto fail;
	if ((s->lockfd = open_own(s->top, path, "run.lock", &dev, e)) == -1)
		goto fail;
	return s;
fail:
	spool_close(s);
	return NULL;
}

const char *
spool_path(const struct spool *s)
{
	return s->path;
}

int
spool_audit(const char *path, void (*report)(void *, const char *),
    void *arg)
{
	static const char *const own[] = { "run.lock", "journal.state",
	    "ratelimit", "prune.stamp", "metrics", "alerts.state",
	    "alerts.lock" };
	struct stat	st;
	struct err	e;
	dev_t		dev = 0;
	size_t		i;
	int		top, fd, n = 0;

	if ((top = open_top(path, 0, &dev, &e)) == -1) {
		report(arg, e.msg);
		return 1;
	}
	for (i = 0; i <= SP_NDIRS; i++) {
		if ((fd = open_sub(top, path, i < SP_NDIRS ? dirnames[i] :
		    "journal", 0, &dev, &e)) == -1) {
			if (e.errnum != ENOENT) {
				report(arg, e.msg);
				n++;
			}
		} else
			(void)close(fd);
	}
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
		if (fstatat(top, own[i], &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if ((fd = open_own(top, path, own[i], &dev, &e)) == -1) {
			report(arg, e.msg);
			n++;
		} else
			(void)close(fd);
	}
	(void)close(top);
	return n;
}

void
spool_close(struct spool *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < SP_NDIRS; i++)
		if (s->fd[i] != -1)
			(void)close(s->fd[i]);
	if (s->lockfd != -1)
		(void)close(s->lockfd);
	journal_close(s);
	if (s->jdir != -1)
		(void)close(s->jdir);
	if (s->top > 0)
		(void)close(s->top);
	free(s->path);
	free(s);
}

int
spool_newname(struct spool *s, char name[SPOOL_NAME_MAX])
{
	char	rnd[17];
	int64_t	us = now_us();
	int	n;

	if (random_hex(rnd, 8) == -1)
		return -1;
	n = snprintf(name, SPOOL_NAME_MAX, "%010lld.%06lld.%ld.%06u.%s",
	    (long long)(us / 1000000), (long long)(us % 1000000),
	    (long)getpid(), ++s->counter, rnd);
	return n > 0 && n < SPOOL_NAME_MAX ? 0 : -1;
}

int
spool_entry_path(struct spool *s, enum spool_dir d, const char *name,
    char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s/%s", s->path, dirnames[d], name);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

int
entry_bytes(struct envelope *env, const char *body, size_t len,
    struct entry_bytes *eb, struct err *e)
{
	/* The body's length and checksum are the spool's to say: a reader
	 * tells a whole entry from one a crash tore by them. */
	env->bytes = len;
	env->crc = crc32c(0, body, len);
	memset(eb, 0, sizeof(*eb));
	envelope_encode(&eb->line, env);
	if (eb->line.oom) {
		buf_free(&eb->line);
		return err_set(e, "out of memory");
	}
	eb->iov[0].iov_base = eb->line.p;
	eb->iov[0].iov_len = eb->line.len;
	eb->iov[1].iov_base = (void *)(uintptr_t)"\n";
	eb->iov[1].iov_len = 1;
	eb->iov[2].iov_base = (void *)(uintptr_t)body;
	eb->iov[2].iov_len = len;
	eb->len = eb->line.len + 1 + len;
	return 0;
}

void
entry_bytes_free(struct entry_bytes *eb)
{
	buf_free(&eb->line);
}

int
write_iov(int fd, const struct iovec *in, int n)
{
	struct iovec	iov[8];
	size_t		off;
	ssize_t		w;
	int		i = 0;

	if (n > 8) {
		errno = EINVAL;
		return -1;
	}
	memcpy(iov, in, (size_t)n * sizeof(*iov));
	while (i < n) {
		if (iov[i].iov_len == 0) {
			i++;
			continue;
		}
		w = writev(fd, iov + i, n - i);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (off = (size_t)w; i < n && off >= iov[i].iov_len; i++)
			off -= iov[i].iov_len;
		if (i < n) {
			iov[i].iov_base = (char *)iov[i].iov_base + off;
			iov[i].iov_len -= off;
		}
	}
	return 0;
}

/* Write bytes to tmp/NAME (flushed when asked); the file is closed. */
static int
write_tmp(struct spool *s, const struct iovec *iov, int n, int flush,
    const char *name, struct err *e)
{
	int fd, saved;

	fd = openat(s->fd[SP_TMP], name,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return err_sys(e, "unable to create %s/tmp/%s", s->path, name);
	if (write_iov(fd, iov, n) == -1) {
		err_sys(e, "unable to write %s/tmp/%s", s->path, name);
		goto fail;
	}
	if (flush && fdatasync(fd) == -1) {
		err_sys(e, "unable to flush %s/tmp/%s", s->path, name);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_sys(e, "unable to close %s/tmp/%s", s->path, name);
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		(void)close(fd);
	(void)unlinkat(s->fd[SP_TMP], name, 0);
	errno = saved;
	return -1;
}

int
spool_place(struct spool *s, const struct iovec *iov, int n, int flush,
    const char *tmpname, enum spool_dir d, const char *name, struct err *e)
{
	int saved;

	if (write_tmp(s, iov, n, flush, tmpname, e) == -1)
		return -1;
	if (renameat(s->fd[SP_TMP], tmpname, s->fd[d], name) == -1) {
		err_sys(e, "unable to move %s into %s/%s", name, s->path,
		    dirnames[d]);
		saved = errno;
		(void)unlinkat(s->fd[SP_TMP], tmpname, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

int
spool_write(struct spool *s, struct envelope *env, const char *body,
    size_t len, const char *name, struct err *e)
{
	struct entry_bytes	eb;
	int			rc;

	if (entry_bytes(env, body, len, &eb, e) == -1)
		return -1;
	rc = write_tmp(s, eb.iov, 3, 0, name, e);
	entry_bytes_free(&eb);
	return rc;
}

int
spool_commit(struct spool *s, struct envelope *env, const char *body,
    size_t len, const char *name, const char *const *keys, struct err *e)
{
	struct entry_bytes	eb;
	int			rc, saved;

	if (entry_bytes(env, body, len, &eb, e) == -1)
		return -1;
	if (!s->nosync && ((rc = journal_open(s, e)) == -1 ||
	    journal_full(s))) {
		if (rc == 0)
			rc = journal_bypass(s, name, keys, eb.iov, 3, e);
		entry_bytes_free(&eb);
		return rc;
	}
	/* The entry first, unflushed: a journal record is only ever
	 * appended for an entry already in new/, so whoever retires the
	 * record finds the entry to flush. */
	rc = spool_place(s, eb.iov, 3, 0, name, SP_NEW, name, e);
	if (rc == 0 && !s->nosync &&
	    (rc = journal_commit(s, name, keys, eb.iov, 3, eb.len, e)) == -1) {
		/* Not known to be durable: take it back so a 503 means "not
		 * ours". A runner may have claimed it already; then it runs,
		 * and the sender's retry is a duplicate (at least once). */
		saved = errno;
		(void)unlinkat(s->fd[SP_NEW], name, 0);
		errno = saved;
	}
	entry_bytes_free(&eb);
	return rc;
}

void
spool_journal_limit(struct spool *s, uint64_t max)
{
	s->jmax = max;
}

int
spool_move(struct spool *s, enum spool_dir from, enum spool_dir to,
    const char *name, struct err *e)
{
	if (renameat(s->fd[from], name, s->fd[to], name) == -1)
		return err_sys(e, "unable to move %s/%s/%s to %s/", s->path,
		    dirnames[from], name, dirnames[to]);
	return 0;
}

int
spool_remove(struct spool *s, enum spool_dir d, const char *name,
    struct err *e)
{
	if (unlinkat(s->fd[d], name, 0) == -1)
		return err_sys(e, "unable to remove %s/%s/%s", s->path,
		    dirnames[d], name);
	if (d != SP_HIST && d != SP_IDS)
		(void)unlinkat(s->fd[SP_HIST], name, 0);
	return 0;
}

enum spool_dir
spool_find(struct spool *s, const char *name)
{
	/* Entries only move forward through these folders except retry ->
	 * cur and cur -> new: two passes make a move between the looks
	 * harmless. tmp/ (a sync event running) last. */
	static const enum spool_dir order[] = {
		SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD
	};
	struct stat	st;
	size_t		i;
	int		pass;

	if (*name == '\0' || strchr(name, '/') != NULL || name[0] == '.')
		return SP_NDIRS;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
			if (fstatat(s->fd[order[i]], name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
				return order[i];
	if (fstatat(s->fd[SP_TMP], name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(st.st_mode))
		return SP_TMP;
	return SP_NDIRS;
}

/* A stored entry: committed, in one of the states after tmp/
 * (quarantine/ holds no events). */
int
spool_stored(struct spool *s, const char *name)
{
	enum spool_dir d = spool_find(s, name);

	return d != SP_NDIRS && d != SP_TMP;
}

int
spool_id_key(const char *endpoint, const char *id, char key[SPOOL_KEY_MAX])
{
	int n;

	/* Ids are per sender: an endpoint's are kept apart as NAME+ID
	 * ('+' is never part of an id nor of an endpoint name). */
	if (endpoint != NULL)
		n = snprintf(key, SPOOL_KEY_MAX, "%s+%s", endpoint, id);
	else
		n = snprintf(key, SPOOL_KEY_MAX, "%s", id);
	return n > 0 && n < SPOOL_KEY_MAX ? 0 : -1;
}

int
spool_id_reserve(struct spool *s, const char *id, int *out, struct err *e)
{
	char	tmpname[SPOOL_NAME_MAX + 4], rec[SPOOL_NAME_MAX + 2];
	ssize_t	r;
	int	fd;

	*out = -1;
	/* Create and lock under a private name, then link it into place:
	 * whoever finds ids/ID finds it locked until it is decided. */
	if (spool_newname(s, tmpname) == -1)
		return err_sys(e, "unable to make a spool name");
	(void)strcat(tmpname, ".id");
	fd = openat(s->fd[SP_TMP], tmpname,
	    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return err_sys(e, "unable to create %s/tmp/%s", s->path,
		    tmpname);
	if (flock(fd, LOCK_EX) == -1) {
		err_sys(e, "unable to lock %s/tmp/%s", s->path, tmpname);
		goto fail;
	}
	if (linkat(s->fd[SP_TMP], tmpname, s->fd[SP_IDS], id, 0) == 0) {
		(void)unlinkat(s->fd[SP_TMP], tmpname, 0);
		*out = fd;
		return 1;
	}
	if (errno != EEXIST) {
		err_sys(e, "unable to record id in %s/ids", s->path);
		goto fail;
	}
	(void)unlinkat(s->fd[SP_TMP], tmpname, 0);
	(void)close(fd);

	/* Seen before: wait for whoever holds it to decide. */
	fd = open_file(s->fd[SP_IDS], id, O_RDWR | O_NOFOLLOW, e);
	if (fd == -1)
		return err_sys(e, "unable to open %s/ids/%s", s->path, id);
	if (flock(fd, LOCK_EX) == -1) {
		err_sys(e, "unable to lock %s/ids/%s", s->path, id);
		(void)close(fd);
		return -1;
	}
	while ((r = pread(fd, rec, sizeof(rec) - 1, 0)) == -1 && errno == EINTR)
		;
	if (r == -1) {
		err_sys(e, "unable to read %s/ids/%s", s->path, id);
		(void)close(fd);
		return -1;
	}
	rec[r] = '\0';
	rec[strcspn(rec, "\n")] = '\0';
	/* A record naming a stored entry makes a duplicate, unless that
	 * entry was torn by a crash before its commit was flushed: then it
	 * was never acknowledged, and this retry is the event. */
	if (rec[0] != '\0' && spool_stored(s, rec) &&
	    spool_entry_intact(s, rec)) {
		(void)close(fd);
		return 0;
	}
	/* Empty, or naming an entry that never reached new/: an earlier
	 * attempt failed or crashed before its commit. Ours now. */
	if (ftruncate(fd, 0) == -1) {
		err_sys(e, "unable to reset %s/ids/%s", s->path, id);
		(void)close(fd);
		return -1;
	}
	*out = fd;
	return 1;
fail:
	(void)unlinkat(s->fd[SP_TMP], tmpname, 0);
	(void)close(fd);
	return -1;
}

int
spool_id_note(int fd, const char *name, struct err *e)
{
	char	line[SPOOL_NAME_MAX + 1];
	size_t	n = strlen(name);

	if (n >= SPOOL_NAME_MAX)
		return err_set(e, "spool name too long");
	memcpy(line, name, n);
	line[n] = '\n';
	if (pwrite(fd, line, n + 1, 0) != (ssize_t)(n + 1))
		return err_sys(e, "unable to record the event id");
	return 0;
}

void
spool_id_done(int fd, int keep)
{
	if (!keep)
		(void)ftruncate(fd, 0);
	(void)close(fd);
}

int
spool_id_lookup(struct spool *s, const char *key, char name[SPOOL_NAME_MAX],
    struct err *e)
{
	char	rec[SPOOL_NAME_MAX + 2];
	ssize_t	n;
	int	fd;

	if (*key == '\0' || strchr(key, '/') != NULL || key[0] == '.')
		return 0;
	/* open_file: a FIFO planted in ids/ must not hang anyone. */
	if ((fd = open_file(s->fd[SP_IDS], key, O_RDONLY | O_NOFOLLOW, e)) ==
	    -1)
		return errno == ENOENT ? 0 : -1;
	while ((n = pread(fd, rec, sizeof(rec) - 1, 0)) == -1 && errno == EINTR)
		;
	(void)close(fd);
	if (n == -1)
		return err_sys(e, "unable to read %s/ids/%s", s->path, key);
	rec[n] = '\0';
	rec[strcspn(rec, "\n")] = '\0';
	if (strlen(rec) >= SPOOL_NAME_MAX || !spool_stored(s, rec))
		return 0;
	memcpy(name, rec, strlen(rec) + 1);
	return 1;
}

/* The opening of every history record: {"time":"...","type":"TYPE" */
static void
hist_begin(struct buf *b, const char *type)
{
	char t[40];

	fmt_time_us(now_us(), t, sizeof(t));
	buf_puts(b, "{\"time\":");
	buf_json_cstr(b, t);
	buf_json_kv(b, "type", type);
}

int
spool_hist_open(struct spool *s, const char *name, struct err *e)
{
	int fd;

	fd = open_file(s->fd[SP_HIST], name, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW, e);
	if (fd == -1)
		return err_sys(e, "unable to open %s/hist/%s", s->path, name);
	return fd;
}

int
spool_hist_add(struct spool *s, const char *name, const char *type,
    const char *fields, struct err *e)
{
	struct buf	b = { 0 };
	struct stat	st;
	char		last;
	size_t		skip;
	int		fd, rc = -1;

	buf_putc(&b, '\n');	/* dropped below unless a torn line needs it */
	hist_begin(&b, type);
	if (fields != NULL)
		buf_puts(&b, fields);
	buf_puts(&b, "}\n");
	if (b.oom) {
		buf_free(&b);
		return err_set(e, "out of memory");
	}
	/* One write of the whole line (O_APPEND): a reader never sees half
	 * a record but the last, after a crash, which it skips. Opened to
	 * read too: its last byte is looked at. */
	fd = open_file(s->fd[SP_HIST], name, O_RDWR | O_APPEND | O_CREAT |
	    O_NOFOLLOW, e);
	if (fd == -1)
		err_sys(e, "unable to open %s/hist/%s", s->path, name);
	else {
		/* A crash (or a full disk) may have left the last record
		 * without its newline: end that line first, or this record
		 * would be glued to it and lost with it. */
		skip = 1;
		if (fstat(fd, &st) == 0 && st.st_size > 0 &&
		    pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
			skip = 0;
		if (write_all(fd, b.p + skip, b.len - skip) == -1)
			err_sys(e, "unable to write %s/hist/%s", s->path, name);
		else
			rc = 0;
		if (close(fd) == -1 && rc == 0)
			rc = err_sys(e, "unable to close %s/hist/%s", s->path,
			    name);
	}
	buf_free(&b);
	return rc;
}

/* Append the decimal digits of v at p; the end. */
static char *
put_ull(char *p, unsigned long long v)
{
	char	d[24];
	size_t	n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = d[--n];
	return p;
}

static char *
put_str(char *p, const char *str, size_t max)
{
	size_t n;

	for (n = 0; n < max && str[n] != '\0'; n++)
		;
	memcpy(p, str, n);
	return p + n;
}

size_t
spool_hist_run(char *out, const char *time, unsigned long pgid,
    unsigned long long start)
{
	char *p = out;

	/* At most 12 + 40 + 24 + 20 + 9 + 20 + 2 bytes: < SPOOL_RUN_MAX. */
	p = put_str(p, "{\"time\":\"", 12);
	p = put_str(p, time, 40);
	p = put_str(p, "\",\"type\":\"run\",\"pgid\":", 24);
	p = put_ull(p, pgid);
	p = put_str(p, ",\"start\":", 9);
	p = put_ull(p, start);
	p = put_str(p, "}\n", 2);
	return (size_t)(p - out);
}

void
spool_hist_free(struct history *h)
{
	strlist_free(&h->ok);
	free(h->runs);
	json_object_put(h->records);
	memset(h, 0, sizeof(*h));
}

static const char *
rec_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
rec_int(json_object *o, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return 0;
	*out = json_object_get_int64(v);
	return 1;
}

/* Fold one record into what the runner needs of the history. */
static int
hist_fold(struct history *h, json_object *o)
{
	const char	*type = rec_str(o, "type"), *res, *handler;
	struct hist_run	*nr;
	int64_t		 pgid, start;

	if (type == NULL)
		return 0;
	if (strcmp(type, "attempt") == 0) {
		h->attempts++;
		h->nruns = 0;	/* only the runs of the last attempt */
	} else if (strcmp(type, "replay") == 0) {
		/* A replay is a fresh delivery. */
		strlist_free(&h->ok);
		h->attempts = 0;
		h->nruns = 0;
		h->replays++;
	} else if (strcmp(type, "handler") == 0 &&
	    (res = rec_str(o, "result")) != NULL &&
	    strcmp(res, "exit 0") == 0 &&
	    (handler = rec_str(o, "handler")) != NULL) {
		if (strlist_push(&h->ok, handler) == -1)
			return -1;
	} else if (strcmp(type, "run") == 0 && rec_int(o, "pgid", &pgid) &&
	    rec_int(o, "start", &start) && pgid > 1) {
		if ((nr = reallocarray(h->runs, h->nruns + 1,
		    sizeof(*nr))) == NULL)
			return -1;
		h->runs = nr;
		h->runs[h->nruns].pgid = (pid_t)pgid;
		h->runs[h->nruns++].start = (unsigned long long)start;
	}
	return 0;
}

int64_t
spool_hist_mtime(struct spool *s, const char *name)
{
	struct stat st;

	if (fstatat(s->fd[SP_HIST], name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return 0;
	return (int64_t)st.st_mtim.tv_sec * 1000000 +
	    st.st_mtim.tv_nsec / 1000;
}

int
spool_hist_load(struct spool *s, const char *name, struct history *h,
    struct err *e)
{
	json_object	*o;
	struct stat	 st;
	char		*text, *line, *nl, msg[sizeof(e->msg)];
	int		 saved, rc = 0;

	memset(h, 0, sizeof(*h));
	if ((h->records = json_object_new_array()) == NULL)
		return err_set(e, "out of memory");
	if (fstatat(s->fd[SP_HIST], name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;	/* no history yet */
	if (read_fileat(s->fd[SP_HIST], name, O_NOFOLLOW, SPOOL_HIST_MAX,
	    &text, NULL, e) == -1) {
		saved = e->errnum;
		(void)snprintf(msg, sizeof(msg), "%s", e->msg);
		err_set(e, "%s/hist/: %s", s->path, msg);
		e->errnum = saved;
		return -1;
	}
	for (line = text; *line != '\0' && rc == 0; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			break;		/* a torn last line: ignore it */
		*nl = '\0';
		if ((o = json_tokener_parse(line)) == NULL)
			continue;
		if (!json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			continue;
		}
		if (hist_fold(h, o) == -1 ||
		    json_object_array_add(h->records, o) == -1) {
			json_object_put(o);
			rc = err_set(e, "out of memory");
		}
	}
	free(text);
	if (rc == -1)
		spool_hist_free(h);
	return rc;
}

int64_t
spool_name_time(const char *name)
{
	long long	 sec, usec;
	char		*end;

	sec = strtoll(name, &end, 10);
	if (*end != '.')
		return 0;
	usec = strtoll(end + 1, &end, 10);
	return (int64_t)sec * 1000000 + usec;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_each(struct spool *s, enum spool_dir d, int (*fn)(void *, const char *),
    void *arg, struct err *e)
{
	struct dirent	*de;
	DIR		*dir;
	int		 fd;

	if ((fd = openat(s->fd[d], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return err_sys(e, "unable to open %s/%s", s->path, dirnames[d]);
	if ((dir = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return err_sys(e, "unable to read %s/%s", s->path, dirnames[d]);
	}
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] != '.' && fn(arg, de->d_name) != 0)
			break;
		errno = 0;
	}
	if (de == NULL && errno != 0) {
		err_sys(e, "unable to read %s/%s", s->path, dirnames[d]);
		(void)closedir(dir);
		return -1;
	}
	(void)closedir(dir);
	return 0;
}

int
spool_list(struct spool *s, enum spool_dir d, struct strlist *l,
    struct err *e)
{
	struct dirent	 *de;
	DIR		 *dir;
	char		**nv;
	size_t		  cap = 0;
	int		  fd;

	l->v = NULL;
	l->n = 0;
	if ((fd = openat(s->fd[d], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return err_sys(e, "unable to open %s/%s", s->path, dirnames[d]);
	if ((dir = fdopendir(fd)) == NULL) {
		(void)close(fd);
		return err_sys(e, "unable to read %s/%s", s->path, dirnames[d]);
	}
	errno = 0;
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (l->n == cap) {
			cap = cap ? cap * 2 : 32;
			if ((nv = reallocarray(l->v, cap, sizeof(*nv))) ==
			    NULL)
				goto fail;
			l->v = nv;
		}
		if ((l->v[l->n] = strdup(de->d_name)) == NULL)
			goto fail;
		l->n++;
		errno = 0;
	}
	if (errno != 0)
		goto fail;
	(void)closedir(dir);
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	return 0;
fail:
	err_sys(e, "unable to read %s/%s", s->path, dirnames[d]);
	(void)closedir(dir);
	strlist_free(l);
	return -1;
}

int
spool_open_entry(struct spool *s, enum spool_dir d, const char *name,
    struct envelope *env, struct err *e)
{
	char	*p, *nl, msg[sizeof(e->msg)];
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd;

	memset(env, 0, sizeof(*env));
	/* Anything but a regular file (a FIFO would block the runner for
	 * ever) is refused here, and set aside by the runner. */
	fd = open_file(s->fd[d], name, O_RDONLY | O_NOFOLLOW, e);
	if (fd == -1) {
		int saved = errno;

		if (saved == EINVAL || saved == ELOOP)
			err_set(e, "%s/%s/%s is not a regular file", s->path,
			    dirnames[d], name);
		else
			err_sys(e, "unable to open %s/%s/%s", s->path,
			    dirnames[d], name);
		e->errnum = saved;
		return -1;
	}
	if ((p = malloc(SPOOL_ENVELOPE_MAX + 1)) == NULL) {
		err_sys(e, "unable to read %s", name);
		goto fail;
	}
	for (;;) {
		r = pread(fd, p + len, SPOOL_ENVELOPE_MAX - len, (off_t)len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			err_sys(e, "unable to read %s/%s/%s", s->path,
			    dirnames[d], name);
			goto fail;
		}
		len += (size_t)r;
		p[len] = '\0';
		if ((nl = memchr(p, '\n', len)) != NULL || r == 0 ||
		    len == SPOOL_ENVELOPE_MAX)
			break;
	}
	if ((nl = memchr(p, '\n', len)) == NULL) {
		err_set(e, "%s/%s/%s has no envelope line", s->path,
		    dirnames[d], name);
		goto fail;
	}
	*nl = '\0';
	if (lseek(fd, (off_t)(nl - p) + 1, SEEK_SET) == -1) {
		err_sys(e, "unable to seek in %s", name);
		goto fail;
	}
	if (envelope_parse(p, env, e) == -1) {
		(void)snprintf(msg, sizeof(msg), "%s", e->msg);
		err_set(e, "%s/%s/%s: %s", s->path, dirnames[d], name, msg);
		goto fail;
	}
	free(p);
	return fd;
fail:
	free(p);
	(void)close(fd);
	return -1;
}

int
spool_retry_set(struct spool *s, const char *name, int64_t due,
    struct err *e)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = (time_t)(due / 1000000);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(due % 1000000) * 1000;
	if (utimensat(s->fd[SP_RETRY], name, ts, AT_SYMLINK_NOFOLLOW) == -1)
		return err_sys(e, "unable to set the due time of %s/retry/%s",
		    s->path, name);
	return 0;
}

int64_t
spool_retry_due(struct spool *s, const char *name, long bound, int64_t now)
{
	struct stat	st;
	int64_t		due;

	if (fstatat(s->fd[SP_RETRY], name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;
	due = (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
	if (due <= 0)
		return 1;	/* touched to the epoch: long due (0 is "gone") */
	/* Further ahead than any backoff: set while the clock ran ahead
	 * (or by hand). Due now, rather than when the clock gets there. */
	if (due - now > (int64_t)bound * 1000000)
		return now;
	return due;
}

void
spool_clean_tmp(struct spool *s, long stale)
{
	struct strlist	l;
	struct stat	st;
	struct err	e;
	time_t		now = time(NULL);
	size_t		i;

	if (spool_list(s, SP_TMP, &l, &e) == -1)
		return;
	for (i = 0; i < l.n; i++) {
		if (fstatat(s->fd[SP_TMP], l.v[i], &st,
		    AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (now - st.st_mtime > stale)
			(void)unlinkat(s->fd[SP_TMP], l.v[i], 0);
		else if (st.st_mtime - now > stale)
			/* Written while the clock ran ahead: its age counts
			 * from now, not from when the clock gets there. */
			(void)utimensat(s->fd[SP_TMP], l.v[i], NULL,
			    AT_SYMLINK_NOFOLLOW);
	}
	strlist_free(&l);
}

/* Is it time to prune? The stamp's mtime says when it last ran; a stamp
 * more than `every` ahead of the clock was set while the clock ran
 * ahead and does not hold pruning back until the clock gets there. */
static int
prune_due(struct spool *s, long every)
{
	struct stat	st;
	struct err	e;
	time_t		now = time(NULL);
	int		fd, due;

	if ((fd = open_own(s->top, s->path, "prune.stamp", &s->dev, &e)) ==
	    -1)
		return 0;
	due = fstat(fd, &st) == -1 || st.st_size == 0 ||
	    now - st.st_mtime >= every || st.st_mtime - now > every;
	if (due) {
		(void)futimens(fd, NULL);
		if (st.st_size == 0)
			(void)write_all(fd, "x", 1);
	}
	(void)close(fd);
	return due;
}

unsigned
spool_prune(struct spool *s, long keep, long every)
{
	struct strlist	l;
	struct stat	st;
	struct err	e;
	int64_t		cut = now_us() - (int64_t)keep * 1000000;
	unsigned	n = 0;
	size_t		i;

	if (!prune_due(s, every))
		return 0;
	if (spool_list(s, SP_DONE, &l, &e) == 0) {
		for (i = 0; i < l.n; i++)
			if (spool_name_time(l.v[i]) < cut &&
			    spool_remove(s, SP_DONE, l.v[i], &e) == 0)
				n++;
		strlist_free(&l);
	}
	if (spool_list(s, SP_IDS, &l, &e) == 0) {
		for (i = 0; i < l.n; i++)
			if (fstatat(s->fd[SP_IDS], l.v[i], &st,
			    AT_SYMLINK_NOFOLLOW) == 0 &&
			    (int64_t)st.st_mtime * 1000000 < cut)
				(void)unlinkat(s->fd[SP_IDS], l.v[i], 0);
		strlist_free(&l);
	}
	return n;
}

int
spool_purge(struct spool *s, enum spool_dir d, int64_t before, unsigned *n,
    struct err *e)
{
	struct strlist	l;
	size_t		i;

	*n = 0;
	if (spool_list(s, d, &l, e) == -1)
		return -1;
	for (i = 0; i < l.n; i++)
		if ((before == 0 || spool_name_time(l.v[i]) < before) &&
		    spool_remove(s, d, l.v[i], e) == 0)
			(*n)++;
	strlist_free(&l);
	return 0;
}

int
spool_lock(struct spool *s, struct err *e)
{
	const struct timespec	 tick = { 0, LOCK_TICK_MS * 1000000L };
	char			 b[32];
	int			 n, tries;

	/* Held with no pid in the file: a lock that a responder took for
	 * the runner it starts, until that runner writes its pid (or the
	 * `runner` program, not one that adopts it, exits): moments. Wait
	 * for it; a runner started by hand or by cron right after a
	 * request would find the lock busy and leave. Held with a pid: a
	 * runner at work: busy at once. */
	for (tries = 0; flock(s->lockfd, LOCK_EX | LOCK_NB) == -1; tries++) {
		if (errno != EWOULDBLOCK)
			return err_sys(e, "unable to lock %s/run.lock",
			    s->path);
		if (tries == LOCK_WAIT_MS / LOCK_TICK_MS ||
		    pread(s->lockfd, b, 1, 0) != 0)
			return 0;
		(void)nanosleep(&tick, NULL);
	}
	/* The holder's pid, for `hookpipe status` (spool_runner). */
	n = snprintf(b, sizeof(b), "%ld\n", (long)getpid());
	if (ftruncate(s->lockfd, 0) == 0)
		(void)pwrite(s->lockfd, b, (size_t)n, 0);
	return 1;
}

void
spool_lock_idle(struct spool *s, int idle)
{
	char	b[40];
	int	n;

	/* One pwrite of the whole line, never shorter than the one before
	 * it without the truncate: a reader sees one or the other. */
	n = snprintf(b, sizeof(b), "%ld%s\n", (long)getpid(),
	    idle ? " idle" : "");
	if (!idle)
		(void)ftruncate(s->lockfd, n);
	(void)pwrite(s->lockfd, b, (size_t)n, 0);
}

int
spool_unlock(struct spool *s, struct err *e)
{
	(void)ftruncate(s->lockfd, 0);
	if (flock(s->lockfd, LOCK_UN) == -1)
		return err_sys(e, "unable to unlock %s/run.lock", s->path);
	return 0;
}

int
spool_lock_free(struct spool *s)
{
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) == -1)
		return 0;
	(void)flock(s->lockfd, LOCK_UN);
	return 1;
}

int
spool_lock_handoff(struct spool *s)
{
	struct err	e;
	int		fd;

	if ((fd = open_file(s->top, "run.lock", O_RDWR | O_NOFOLLOW, &e)) ==
	    -1)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
spool_lock_adopt(struct spool *s, struct err *e)
{
	struct stat	 a, b;
	const char	*v;
	char		*end;
	long		 fd;
	int		 rc = 0;

	if ((v = getenv(SPOOL_LOCK_FD)) == NULL)
		return 0;
	errno = 0;
	fd = strtol(v, &end, 10);
	/* Only the run.lock of this spool (the same file), never ours. */
	if (errno == 0 && *v != '\0' && *end == '\0' && fd > 2 &&
	    fd < 1024 && fd != s->lockfd && fstat((int)fd, &a) == 0 &&
	    fstat(s->lockfd, &b) == 0 && a.st_dev == b.st_dev &&
	    a.st_ino == b.st_ino && dup3((int)fd, s->lockfd, O_CLOEXEC) != -1) {
		(void)close((int)fd);
		/* The lock names the process that took it (/proc/locks):
		 * converted to shared here and back to exclusive by
		 * spool_lock, it names this one. Everyone else asks for it
		 * exclusive, so the shared one turns them away too; were it
		 * lost in a conversion, spool_lock finds it busy. */
		(void)flock(s->lockfd, LOCK_SH | LOCK_NB);
	} else
		rc = err_set(e, "%s=%s is not a descriptor open on %s/run.lock:"
		    " the lock its starter took is not handed over, and is "
		    "asked for again", SPOOL_LOCK_FD, v, s->path);
	/* Not for the handlers, nor for a runner they would start. */
	(void)unsetenv(SPOOL_LOCK_FD);
	return rc;
}

pid_t
spool_runner(struct spool *s)
{
	char	b[32];
	ssize_t	n;
	long	pid;

	/* Read, never taken: a probe holding the lock for a moment would
	 * turn away a runner starting then. The pid goes at unlock; a
	 * killed runner's stays, and its process is gone. */
	if ((n = pread(s->lockfd, b, sizeof(b) - 1, 0)) <= 0)
		return 0;
	b[n] = '\0';
	pid = strtol(b, NULL, 10);
	if (pid <= 0 || (kill((pid_t)pid, 0) == -1 && errno == ESRCH))
		return 0;
	return (pid_t)pid;
}

int
spool_entry_intact(struct spool *s, const char *name)
{
	struct envelope	env;
	struct err	e;
	char		b[16384];	/* a responder's, on a duplicate:
					   stack it touches stays resident */
	uint32_t	crc = 0;
	size_t		len = 0;
	ssize_t		n;
	int		fd = -1, tries, ok;

	/* The entry may move on between the look and the open (a runner
	 * at work): look again, as spool_find does. */
	for (tries = 0; tries < 3 && fd == -1; tries++) {
		enum spool_dir d = spool_find(s, name);

		if (d == SP_NDIRS)
			return 0;
		fd = spool_open_entry(s, d, name, &env, &e);
		if (fd == -1 && e.errnum != ENOENT)
			return 0;	/* there, but no envelope: torn */
	}
	if (fd == -1)
		return 0;
	while ((n = read(fd, b, sizeof(b))) > 0 || (n == -1 && errno == EINTR))
		if (n > 0) {
			crc = crc32c(crc, b, (size_t)n);
			len += (size_t)n;
		}
	ok = n == 0 && len == env.bytes && (!env.has_crc || crc == env.crc);
	(void)close(fd);
	envelope_free(&env);
	return ok;
}
