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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

static const char *const dirnames[SP_NDIRS] = {
	"tmp", "new", "cur", "retry", "done", "dead", "ids", "hist"
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

int
spool_open(struct spool *s, const char *path, int create, struct err *e)
{
	dev_t	dev = 0;
	int	i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < SP_NDIRS; i++)
		s->fd[i] = -1;
	s->lockfd = s->syncfd = -1;
	if ((s->top = open_top(path, create, &dev, e)) == -1)
		return -1;
	for (i = 0; i < SP_NDIRS; i++)
		if ((s->fd[i] = open_sub(s->top, path, dirnames[i], create,
		    &dev, e)) == -1)
			goto fail;
	if ((s->lockfd = open_own(s->top, path, "run.lock", &dev, e)) == -1)
		goto fail;
	if ((s->path = strdup(path)) == NULL) {
		err_sys(e, "spool %s", path);
		goto fail;
	}
	return 0;
fail:
	spool_close(s);
	return -1;
}

int
spool_audit(const char *path, void (*report)(void *, const char *),
    void *arg)
{
	static const char *const own[] = { "run.lock", "sync.state",
	    "ratelimit", "prune.stamp" };
	struct stat	st;
	struct err	e;
	dev_t		dev = 0;
	size_t		i;
	int		top, fd, n = 0;

	if ((top = open_top(path, 0, &dev, &e)) == -1) {
		report(arg, e.msg);
		return 1;
	}
	for (i = 0; i < SP_NDIRS; i++) {
		if ((fd = open_sub(top, path, dirnames[i], 0, &dev, &e)) ==
		    -1) {
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

	for (i = 0; i < SP_NDIRS; i++) {
		if (s->fd[i] != -1)
			(void)close(s->fd[i]);
		s->fd[i] = -1;
	}
	if (s->lockfd != -1)
		(void)close(s->lockfd);
	s->lockfd = -1;
	if (s->sync != NULL)
		(void)munmap(s->sync, sizeof(*s->sync));
	s->sync = NULL;
	if (s->syncfd != -1)
		(void)close(s->syncfd);
	s->syncfd = -1;
	if (s->top != -1)
		(void)close(s->top);
	s->top = -1;
	free(s->path);
	s->path = NULL;
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
spool_write(struct spool *s, const char *env, size_t envlen,
    const char *body, size_t len, int durable, const char *name,
    struct err *e)
{
	struct iovec	 iov[3];
	size_t		 left = envlen + 1 + len, off, i;
	ssize_t		 w;
	int		 fd, saved;

	fd = openat(s->fd[SP_TMP], name,
	    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return err_sys(e, "unable to create %s/tmp/%s", s->path, name);
	iov[0].iov_base = (void *)(uintptr_t)env;
	iov[0].iov_len = envlen;
	iov[1].iov_base = (void *)(uintptr_t)"\n";
	iov[1].iov_len = 1;
	iov[2].iov_base = (void *)(uintptr_t)body;
	iov[2].iov_len = len;
	i = 0;
	while (left > 0) {
		w = writev(fd, iov + i, (int)(3 - i));
		if (w == -1) {
			if (errno == EINTR)
				continue;
			err_sys(e, "unable to write %s/tmp/%s", s->path, name);
			goto fail;
		}
		left -= (size_t)w;
		for (off = (size_t)w; i < 3 && off >= iov[i].iov_len; i++)
			off -= iov[i].iov_len;
		if (i < 3) {
			iov[i].iov_base = (char *)iov[i].iov_base + off;
			iov[i].iov_len -= off;
		}
	}
	/* After a failed fsync the page cache may already be clean: never
	 * retry it, fail the commit (PostgreSQL's lesson). */
	if (durable && fsync(fd) == -1) {
		err_sys(e, "unable to fsync %s/tmp/%s", s->path, name);
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

/* The group commit's shared state. Every writer holds the file at its
 * full size; a shorter one (a crash while it was made, or an operator's
 * truncate) is grown with its blocks allocated, so no page of the map
 * is a hole whose first write could fault on a full disk. */
static int
sync_size(struct spool *s, struct err *e)
{
	struct stat	st;
	int		rc;

	if (fstat(s->syncfd, &st) == -1)
		return err_sys(e, "unable to stat %s/sync.state", s->path);
	if ((size_t)st.st_size >= sizeof(*s->sync))
		return 0;
	if ((rc = posix_fallocate(s->syncfd, 0, sizeof(*s->sync))) != 0) {
		errno = rc;
		return err_sys(e, "unable to size %s/sync.state", s->path);
	}
	return 0;
}

static int
sync_open(struct spool *s, struct err *e)
{
	dev_t	 dev = 0;
	void	*m;

	if ((s->syncfd = open_own(s->top, s->path, "sync.state", &dev, e)) ==
	    -1)
		return -1;
	if (sync_size(s, e) == -1)
		return -1;
	m = mmap(NULL, sizeof(*s->sync), PROT_READ | PROT_WRITE, MAP_SHARED,
	    s->syncfd, 0);
	if (m == MAP_FAILED)
		return err_sys(e, "unable to map %s/sync.state", s->path);
	s->sync = m;
	return 0;
}

/* Make everything written to the spool's file system so far durable,
 * sharing the flush with every responder that arrives meanwhile: take
 * a ticket (after our rename), then under the flush lock either find
 * it covered by a flush that began after it was issued, or flush for
 * everyone holding a ticket so far. One syncfs serves the whole batch;
 * a failed flush covers nobody, and each waiter tries (and fails) on
 * its own, so every 200 follows a flush that succeeded. */
static int
group_sync(struct spool *s, struct err *e)
{
	uint64_t	mine, upto;
	int		rc = 0;

	if (s->sync == NULL && sync_open(s, e) == -1)
		return -1;
	/* Touching a page past the end of the file raises SIGBUS: check the
	 * size before every use (one fstat beside a flush). */
	if (sync_size(s, e) == -1)
		return -1;
	mine = __atomic_add_fetch(&s->sync->issued, 1, __ATOMIC_SEQ_CST);
	while (flock(s->syncfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return err_sys(e, "unable to lock %s/sync.state",
			    s->path);
	if (__atomic_load_n(&s->sync->done, __ATOMIC_SEQ_CST) < mine) {
		upto = __atomic_load_n(&s->sync->issued, __ATOMIC_SEQ_CST);
		if (syncfs(s->fd[SP_NEW]) == -1)
			rc = err_sys(e, "unable to flush the file system of %s",
			    s->path);
		else {
			__atomic_store_n(&s->sync->done, upto,
			    __ATOMIC_SEQ_CST);
			__atomic_add_fetch(&s->sync->flushes, 1,
			    __ATOMIC_SEQ_CST);
		}
	}
	(void)flock(s->syncfd, LOCK_UN);
	return rc;
}

int
spool_commit(struct spool *s, const char *env, size_t envlen,
    const char *body, size_t len, const char *name, struct err *e)
{
	int saved;

	if (spool_write(s, env, envlen, body, len, 0, name, e) == -1)
		return -1;
	if (renameat(s->fd[SP_TMP], name, s->fd[SP_NEW], name) == -1) {
		err_sys(e, "unable to move %s into %s/new", name, s->path);
		saved = errno;
		(void)unlinkat(s->fd[SP_TMP], name, 0);
		errno = saved;
		return -1;
	}
	if (!s->nosync && group_sync(s, e) == -1) {
		/* Not known to be durable: take it back so a 503 means "not
		 * ours". A runner may have claimed it already; then it runs,
		 * and the sender's retry is a duplicate (at least once). */
		saved = errno;
		(void)unlinkat(s->fd[SP_NEW], name, 0);
		errno = saved;
		return -1;
	}
	return 0;
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
	return 0;
}

/* 1 when the entry is in one of the committed states. Entries only move
 * forward through these folders except retry -> cur and cur -> new; two
 * passes make a move between the looks harmless. */
static int
stored(struct spool *s, const char *name)
{
	static const enum spool_dir dirs[] = {
		SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD
	};
	struct stat	st;
	size_t		i;
	int		pass;

	if (strchr(name, '/') != NULL || name[0] == '.')
		return 0;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
			if (fstatat(s->fd[dirs[i]], name, &st,
			    AT_SYMLINK_NOFOLLOW) == 0)
				return 1;
	return 0;
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
	fd = open_file(s->fd[SP_IDS], id, O_RDWR | O_NOFOLLOW, NULL);
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
	if (rec[0] != '\0' && stored(s, rec)) {
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

int
spool_id_commit(int fd, const char *name, struct err *e)
{
	if (spool_id_note(fd, name, e) == -1) {
		(void)close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return err_sys(e, "unable to record the event id");
	return 0;
}

void
spool_id_release(int fd)
{
	(void)ftruncate(fd, 0);
	(void)close(fd);
}

int
spool_hist_append(struct spool *s, const char *name, const char *line,
    size_t len, struct err *e)
{
	int fd;

	fd = open_file(s->fd[SP_HIST], name, O_WRONLY | O_APPEND | O_CREAT |
	    O_NOFOLLOW, e);
	if (fd == -1)
		return err_sys(e, "unable to open %s/hist/%s", s->path, name);
	if (write_all(fd, line, len) == -1) {
		err_sys(e, "unable to write %s/hist/%s", s->path, name);
		(void)close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return err_sys(e, "unable to close %s/hist/%s", s->path, name);
	return 0;
}

int
spool_hist_read(struct spool *s, const char *name, char **text,
    struct err *e)
{
	struct stat	st;
	char		msg[sizeof(e->msg)];

	*text = NULL;
	if (fstatat(s->fd[SP_HIST], name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return 0;	/* no history yet */
	if (read_fileat(s->fd[SP_HIST], name, O_NOFOLLOW, SPOOL_HIST_MAX,
	    text, NULL, e) == -1) {
		int saved = e->errnum;

		(void)snprintf(msg, sizeof(msg), "%s", e->msg);
		err_set(e, "%s/hist/: %s", s->path, msg);
		e->errnum = saved;
		return -1;
	}
	return 0;
}

enum spool_dir
spool_find(struct spool *s, const char *name)
{
	static const enum spool_dir order[] = {
		SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD, SP_TMP
	};
	struct stat	st;
	size_t		i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (fstatat(s->fd[order[i]], name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			return order[i];
	return SP_NDIRS;
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
    char **env, struct err *e)
{
	char	*p, *nl;
	size_t	 len = 0;
	ssize_t	 r;
	int	 fd;

	*env = NULL;
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
	*env = p;
	return fd;
fail:
	free(p);
	(void)close(fd);
	return -1;
}
