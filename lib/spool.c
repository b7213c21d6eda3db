/* spool: Maildir discipline (tmp -> fsync -> rename -> fsync dir), the
 * dedupe index and state moves. A successful spool_commit is the only
 * thing that allows a 200. */
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

int
spool_open(struct spool *s, const char *path, int create, struct err *e)
{
	int	top, i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < SP_NDIRS; i++)
		s->fd[i] = -1;
	s->lockfd = s->syncfd = -1;
	if (create && mkdir(path, 0700) == -1 && errno != EEXIST)
		return err_sys(e, "unable to create spool %s", path);
	if ((top = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_sys(e, "unable to open spool %s", path);
	for (i = 0; i < SP_NDIRS; i++) {
		if (create && mkdirat(top, dirnames[i], 0700) == -1 &&
		    errno != EEXIST) {
			err_sys(e, "unable to create %s/%s", path, dirnames[i]);
			goto fail;
		}
		s->fd[i] = openat(top, dirnames[i],
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (s->fd[i] == -1) {
			err_sys(e, "unable to open %s/%s", path, dirnames[i]);
			goto fail;
		}
	}
	s->lockfd = openat(top, "run.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd == -1) {
		err_sys(e, "unable to open %s/run.lock", path);
		goto fail;
	}
	if ((s->path = strdup(path)) == NULL) {
		err_sys(e, "spool %s", path);
		goto fail;
	}
	if (close(top) == -1) {
		top = -1;
		err_sys(e, "close %s", path);
		goto fail;
	}
	return 0;
fail:
	if (top != -1)
		(void)close(top);
	spool_close(s);
	return -1;
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

static int
sync_open(struct spool *s, struct err *e)
{
	char		path[PATH_MAX];
	struct stat	st;
	void		*m;

	if (snprintf(path, sizeof(path), "%s/sync.state", s->path) >=
	    (int)sizeof(path))
		return err_set(e, "spool path too long");
	s->syncfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (s->syncfd == -1)
		return err_sys(e, "unable to open %s", path);
	if (fstat(s->syncfd, &st) == -1 || ((size_t)st.st_size <
	    sizeof(*s->sync) && ftruncate(s->syncfd, sizeof(*s->sync)) == -1))
		return err_sys(e, "unable to size %s", path);
	m = mmap(NULL, sizeof(*s->sync), PROT_READ | PROT_WRITE, MAP_SHARED,
	    s->syncfd, 0);
	if (m == MAP_FAILED)
		return err_sys(e, "unable to map %s", path);
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
	fd = openat(s->fd[SP_IDS], id, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
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

	fd = openat(s->fd[SP_HIST], name, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
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
	char path[PATH_MAX];

	*text = NULL;
	if (spool_entry_path(s, SP_HIST, name, path, sizeof(path)) == -1)
		return err_set(e, "path too long");
	if (faccessat(s->fd[SP_HIST], name, F_OK, 0) == -1)
		return 0;	/* no history yet */
	return read_file(path, SPOOL_HIST_MAX, text, NULL, e);
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
	fd = openat(s->fd[d], name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1)
		return err_sys(e, "unable to open %s/%s/%s", s->path,
		    dirnames[d], name);
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
