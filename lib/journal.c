/*
 * journal: what makes a commit durable without flushing anything the
 * spool does not own. Every commit appends one record (the entry's
 * name, its ids/ keys and its bytes) to the current generation file of
 * SPOOL/journal/ and waits until an fdatasync of that one file has
 * covered it; responders that commit together share the flush (group
 * commit). The entry files in new/ are written but not flushed: after a
 * power cut the runner restores from the journal every entry that is
 * missing or torn (spool_recover). A generation is only needed until
 * the entries it names are durable another way: the runner starts a
 * new one and retires the old (spool_checkpoint), flushing each entry
 * it names, in the background of no request.
 *
 * Record: a header line "HPJ1 NAME KEYSLEN LEN CRC\n", then KEYSLEN
 * bytes of ids/ keys (each ending in '\0'), then the LEN bytes of the
 * entry; CRC is the CRC-32C of keys and entry, in hex. A reader stops
 * at the first record that is not whole: what a crash left after the
 * last flush (hookpipe-spool(5)).
 *
 * Locks: appends to journal/ are serialized by flock on the folder
 * (a record is one contiguous run of bytes, and a failed append is cut
 * off before anyone appends after it); the flush by flock on
 * journal.state. A new generation is made under both, after a flush of
 * the old, so a waiter that finds the generation changed knows its
 * record durable.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoolint.h"

#define JHDR_MAX	160		/* a header line, with its '\n' */
#define JROTATE		(64 * 1024 * 1024) /* responders start anew */
#define JKEYS_MAX	4		/* ids/ keys a record carries */
#define RETIRE_CHUNK	256		/* records flushed together */
#define RETIRE_MS	200		/* a checkpoint's time for retiring */
#define RETIRE_BEHIND	4		/* past this many waiting, */
#define RETIRE_LONG_MS	800		/* ... it takes this long */

struct jrec {
	char		 name[SPOOL_NAME_MAX];
	const char	*keys[JKEYS_MAX + 1];
	const char	*entry;
	size_t		 len;
};

static int
lock(int fd, int op, const char *what, struct spool *s, struct err *e)
{
	while (flock(fd, op) == -1)
		if (errno != EINTR)
			return err_sys(e, "unable to lock %s/%s", s->path,
			    what);
	return 0;
}

static void
unlock(int fd)
{
	(void)flock(fd, LOCK_UN);
}

/* The shared state. Every writer holds the file at its full size; a
 * shorter one (a crash while it was made, an operator's truncate) is
 * grown with its blocks allocated, so no page of the map is a hole
 * whose first write could fault on a full disk. Touching a page past
 * the end of the file raises SIGBUS: checked before every use. */
static int
state_size(struct spool *s, struct err *e)
{
	struct stat	st;
	int		rc;

	if (fstat(s->statefd, &st) == -1)
		return err_sys(e, "unable to stat %s/journal.state", s->path);
	if ((size_t)st.st_size >= sizeof(*s->sync))
		return 0;
	if ((rc = posix_fallocate(s->statefd, 0, sizeof(*s->sync))) != 0) {
		errno = rc;
		return err_sys(e, "unable to size %s/journal.state", s->path);
	}
	return 0;
}

int
journal_open(struct spool *s, struct err *e)
{
	void *m;

	if (s->sync != NULL)
		return state_size(s, e);
	s->statefd = open_file(s->top, "journal.state",
	    O_RDWR | O_CREAT | O_NOFOLLOW, e);
	if (s->statefd == -1)
		return err_sys(e, "unable to open %s/journal.state (a regular "
		    "file of the spool's own: remove whatever is there)",
		    s->path);
	if (state_size(s, e) == -1)
		return -1;
	m = mmap(NULL, sizeof(*s->sync), PROT_READ | PROT_WRITE, MAP_SHARED,
	    s->statefd, 0);
	if (m == MAP_FAILED)
		return err_sys(e, "unable to map %s/journal.state", s->path);
	s->sync = m;
	return 0;
}

void
journal_close(struct spool *s)
{
	if (s->sync != NULL)
		(void)munmap(s->sync, sizeof(*s->sync));
	s->sync = NULL;
	if (s->statefd != -1)
		(void)close(s->statefd);
	if (s->jfd != -1)
		(void)close(s->jfd);
	s->statefd = s->jfd = -1;
	s->jgen = 0;
}

static uint64_t
load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void
store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static void
gen_name(uint64_t gen, char b[24])
{
	(void)snprintf(b, 24, "%016" PRIx64, gen);
}

/* A generation's number from its file name; 0 for anything else. */
static uint64_t
gen_of(const char *name)
{
	char		*end;
	uint64_t	 g;

	if (strlen(name) != 16 || name[0] == '-' || name[0] == '+')
		return 0;
	errno = 0;
	g = strtoull(name, &end, 16);
	return errno == 0 && *end == '\0' ? g : 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The generations in journal/, oldest first; free *out. */
static int
gens(struct spool *s, uint64_t **out, size_t *n, struct err *e)
{
	struct dirent	*de;
	DIR		*dir;
	uint64_t	*v = NULL, *nv, g;
	size_t		 cap = 0;
	int		 fd;

	*out = NULL;
	*n = 0;
	if ((fd = openat(s->jdir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			(void)close(fd);
		return err_sys(e, "unable to read %s/journal", s->path);
	}
	while ((de = readdir(dir)) != NULL) {
		if ((g = gen_of(de->d_name)) == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				(void)closedir(dir);
				return err_sys(e, "out of memory");
			}
			v = nv;
		}
		v[(*n)++] = g;
	}
	(void)closedir(dir);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_u64);
	*out = v;
	return 0;
}

/* The bytes of the generations in v (from gens) numbered below `upto`;
 * one removed meanwhile counts nothing. */
static uint64_t
held(struct spool *s, const uint64_t *v, size_t n, uint64_t upto)
{
	struct stat	st;
	uint64_t	sum = 0;
	size_t		i;
	char		b[24];

	for (i = 0; i < n && v[i] < upto; i++) {
		gen_name(v[i], b);
		if (fstatat(s->jdir, b, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	}
	return sum;
}

static int
open_gen(struct spool *s, uint64_t gen, int flags, struct err *e)
{
	char	b[24];
	int	fd;

	gen_name(gen, b);
	fd = openat(s->jdir, b, flags | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		err_sys(e, "unable to open %s/journal/%s", s->path, b);
	return fd;
}

/*
 * A new generation, under the append lock: the old one is flushed whole
 * first (so a waiter that finds the generation changed knows its record
 * durable) and its bytes counted as waiting to retire, the new file
 * made and its name flushed into journal/, then the state points at
 * it. Its number is past every file there, whatever the state says (an
 * operator may have removed journal.state).
 */
static int
rotate(struct spool *s, struct err *e)
{
	struct stat	 st;
	uint64_t	*v, old, next, oldsize = 0;
	size_t		 n;
	char		 b[24];
	int		 fd, rc = -1;

	if (lock(s->statefd, LOCK_EX, "journal.state", s, e) == -1)
		return -1;
	old = load(&s->sync->gen);
	if (old != 0) {
		fd = s->jfd != -1 && s->jgen == old ? s->jfd :
		    open_gen(s, old, O_RDONLY, e);
		if (fd == -1 && errno != ENOENT)
			goto out;
		if (fd != -1 && (fdatasync(fd) == -1 || fstat(fd, &st) ==
		    -1)) {
			err_sys(e, "unable to flush %s/journal", s->path);
			if (fd != s->jfd)
				(void)close(fd);
			goto out;
		}
		if (fd != -1)
			oldsize = (uint64_t)st.st_size;
		if (fd != -1 && fd != s->jfd)
			(void)close(fd);
	}
	if (gens(s, &v, &n, e) == -1)
		goto out;
	next = (n > 0 && v[n - 1] > old ? v[n - 1] : old) + 1;
	free(v);
	if ((fd = open_gen(s, next, O_WRONLY | O_APPEND | O_CREAT | O_EXCL,
	    e)) == -1)
		goto out;
	if (fsync(s->jdir) == -1) {
		err_sys(e, "unable to flush %s/journal", s->path);
		(void)close(fd);
		gen_name(next, b);
		(void)unlinkat(s->jdir, b, 0);
		goto out;
	}
	if (s->jfd != -1)
		(void)close(s->jfd);
	s->jfd = fd;
	s->jgen = next;
	/* Raised before synced falls: a lock-free reader (journal_full)
	 * may count the old generation twice for a moment, never not. */
	__atomic_add_fetch(&s->sync->older, oldsize, __ATOMIC_SEQ_CST);
	store(&s->sync->synced, 0);
	store(&s->sync->gen, next);
	rc = 0;
out:
	unlock(s->statefd);
	return rc;
}

/* The current generation open for appending, under the append lock;
 * started anew when it has grown past `max` (0: never). */
static int
current(struct spool *s, size_t max, struct err *e)
{
	struct stat	st;
	uint64_t	gen = load(&s->sync->gen);

	if (gen != 0 && s->jgen != gen) {
		if (s->jfd != -1)
			(void)close(s->jfd);
		s->jgen = 0;
		if ((s->jfd = open_gen(s, gen, O_WRONLY | O_APPEND, e)) == -1 &&
		    errno != ENOENT)
			return -1;
		if (s->jfd != -1)
			s->jgen = gen;
	}
	if (gen == 0 || s->jfd == -1)
		return rotate(s, e);
	if (fstat(s->jfd, &st) == -1)
		return err_sys(e, "unable to stat %s/journal", s->path);
	if (max != 0 && (size_t)st.st_size >= max)
		return rotate(s, e);
	return 0;
}

/* Append one record: its generation and where it ends. */
static int
append(struct spool *s, const char *name, const char *const *keys,
    const struct iovec *entry, int n, size_t len, uint64_t *gen,
    uint64_t *end, struct err *e)
{
	struct iovec	iov[8];
	struct stat	st;
	char		hdr[JHDR_MAX], kb[JKEYS_MAX * SPOOL_KEY_MAX];
	size_t		klen = 0, k;
	uint32_t	crc;
	int		i, hl, rc = -1;

	if (n > 6)
		return err_set(e, "journal record for %s: too many parts",
		    name);
	for (k = 0; keys != NULL && keys[k] != NULL && k < JKEYS_MAX; k++) {
		memcpy(kb + klen, keys[k], strlen(keys[k]) + 1);
		klen += strlen(keys[k]) + 1;
	}
	crc = crc32c(0, kb, klen);
	for (i = 0; i < n; i++)
		crc = crc32c(crc, entry[i].iov_base, entry[i].iov_len);
	hl = snprintf(hdr, sizeof(hdr), "HPJ1 %s %zu %zu %08" PRIx32 "\n",
	    name, klen, len, crc);
	if (hl < 0 || (size_t)hl >= sizeof(hdr))
		return err_set(e, "journal record for %s too long", name);
	iov[0].iov_base = hdr;
	iov[0].iov_len = (size_t)hl;
	iov[1].iov_base = kb;
	iov[1].iov_len = klen;
	if (n > 0)
		memcpy(iov + 2, entry, (size_t)n * sizeof(*iov));

	if (lock(s->jdir, LOCK_EX, "journal", s, e) == -1)
		return -1;
	if (current(s, JROTATE, e) == -1)
		goto out;
	if (fstat(s->jfd, &st) == -1) {
		err_sys(e, "unable to stat %s/journal", s->path);
		goto out;
	}
	if (write_iov(s->jfd, iov, n + 2) == -1) {
		err_sys(e, "unable to append to %s/journal", s->path);
		/* No one appends while we hold the lock: cut the partial
		 * record off, or a reader would stop at it. */
		(void)ftruncate(s->jfd, st.st_size);
		goto out;
	}
	*gen = s->jgen;
	*end = (uint64_t)st.st_size + (uint64_t)hl + klen + len;
	__atomic_add_fetch(&s->sync->records, 1, __ATOMIC_SEQ_CST);
	rc = 0;
out:
	unlock(s->jdir);
	return rc;
}

/*
 * Wait until a flush covers our record: one that began after it was
 * appended, by us or by whoever took the flush lock first. The leader
 * flushes everything appended so far, so one fdatasync serves all the
 * commits that arrived meanwhile. A failed flush covers nobody; each
 * waiter tries (and fails) on its own, so every 200 follows a flush
 * that succeeded.
 */
static int
await_flush(struct spool *s, uint64_t gen, uint64_t end, struct err *e)
{
	struct stat	st;
	int		rc = 0;

	if (load(&s->sync->gen) != gen || load(&s->sync->synced) >= end)
		return 0;
	if (lock(s->statefd, LOCK_EX, "journal.state", s, e) == -1)
		return -1;
	if (load(&s->sync->gen) == gen && load(&s->sync->synced) < end) {
		if (fstat(s->jfd, &st) == -1)
			rc = err_sys(e, "unable to stat %s/journal", s->path);
		else if (fdatasync(s->jfd) == -1)
			rc = err_sys(e, "unable to flush %s/journal", s->path);
		else {
			if ((uint64_t)st.st_size > load(&s->sync->synced))
				store(&s->sync->synced, (uint64_t)st.st_size);
			__atomic_add_fetch(&s->sync->flushes, 1,
			    __ATOMIC_SEQ_CST);
		}
	}
	unlock(s->statefd);
	return rc;
}

int
journal_commit(struct spool *s, const char *name, const char *const *keys,
    const struct iovec *entry, int n, size_t len, struct err *e)
{
	struct err	ignored;
	uint64_t	gen, end;

	if (append(s, name, keys, entry, n, len, &gen, &end, e) == -1)
		return -1;
	if (await_flush(s, gen, end, e) == 0)
		return 0;
	/* Answered 503, taken back from new/: a tombstone (a record with
	 * nothing in it) keeps recovery from bringing it back beside the
	 * sender's retry. Should it not reach the disk, a crash may: then
	 * the event runs twice, never lost. */
	(void)append(s, name, NULL, NULL, 0, 0, &gen, &end, &ignored);
	return -1;
}

/* The record at p (n bytes left): its length, or 0 at the end and at
 * the first record that is not whole. */
static size_t
parse_rec(const char *p, size_t n, struct jrec *r)
{
	char		 h[JHDR_MAX], *f[5], *save, *end;
	const char	*nl, *k;
	unsigned long long klen, len, crc;
	size_t		 hl, i, nk;

	if (n < 5 || memcmp(p, "HPJ1 ", 5) != 0 ||
	    (nl = memchr(p, '\n', n < JHDR_MAX ? n : JHDR_MAX)) == NULL)
		return 0;
	hl = (size_t)(nl - p) + 1;
	memcpy(h, p, hl - 1);
	h[hl - 1] = '\0';
	for (i = 0, end = h; i < 5; i++, end = NULL)
		if ((f[i] = strtok_r(end, " ", &save)) == NULL)
			return 0;
	if (strtok_r(NULL, " ", &save) != NULL ||
	    strlen(f[1]) >= SPOOL_NAME_MAX || f[1][0] == '.' ||
	    strchr(f[1], '/') != NULL)
		return 0;
	errno = 0;
	klen = strtoull(f[2], &end, 10);
	if (*end != '\0' || errno != 0)
		return 0;
	len = strtoull(f[3], &end, 10);
	if (*end != '\0' || errno != 0)
		return 0;
	crc = strtoull(f[4], &end, 16);
	if (*end != '\0' || errno != 0 || strlen(f[4]) != 8)
		return 0;
	if (klen > n - hl || len > n - hl - klen)
		return 0;
	if (crc32c(0, p + hl, (size_t)(klen + len)) != (uint32_t)crc)
		return 0;
	if (klen > 0 && p[hl + klen - 1] != '\0')
		return 0;
	(void)snprintf(r->name, sizeof(r->name), "%s", f[1]);
	for (k = p + hl, nk = 0; k < p + hl + klen && nk < JKEYS_MAX; nk++) {
		r->keys[nk] = k;
		k += strlen(k) + 1;
	}
	r->keys[nk] = NULL;
	r->entry = p + hl + klen;
	r->len = (size_t)len;
	return hl + (size_t)(klen + len);
}

/* A generation mapped for reading: *map (munmap *len after) or NULL
 * when it is empty or gone. */
static int
map_gen(struct spool *s, uint64_t gen, char **map, size_t *len,
    struct err *e)
{
	struct stat	st;
	void		*m;
	int		fd;

	*map = NULL;
	*len = 0;
	if ((fd = open_gen(s, gen, O_RDONLY, e)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1) {
		(void)close(fd);
		return err_sys(e, "unable to stat %s/journal", s->path);
	}
	if (st.st_size == 0) {
		(void)close(fd);
		return 0;
	}
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	(void)close(fd);
	if (m == MAP_FAILED)
		return err_sys(e, "unable to map %s/journal", s->path);
	*map = m;
	*len = (size_t)st.st_size;
	return 0;
}

/* Flush a file of a folder, where it still is; gone is fine. */
static int
flush_at(int dir, const char *name, int start_only)
{
	int fd, rc = 0;

	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT || errno == ELOOP ? 0 : -1;
	if (start_only)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	else
		rc = fdatasync(fd);
	(void)close(fd);
	return rc;
}

static int
flush_entry(struct spool *s, const struct jrec *r, int start_only)
{
	enum spool_dir	d = spool_find(s, r->name);
	size_t		k;

	if (d != SP_NDIRS && d != SP_TMP &&
	    flush_at(s->fd[d], r->name, start_only) == -1)
		return -1;
	for (k = 0; r->keys[k] != NULL; k++)
		if (flush_at(s->fd[SP_IDS], r->keys[k], start_only) == -1)
			return -1;
	return 0;
}

int
journal_full(struct spool *s)
{
	return s->jmax == 0 ||
	    load(&s->sync->older) + load(&s->sync->synced) >= s->jmax;
}

/* The commit a spool without a journal makes, for a journal that is
 * full: the ids/ records were written before it (spool_id_note) and
 * are flushed here with it. */
int
journal_bypass(struct spool *s, const char *name, const char *const *keys,
    const struct iovec *entry, int n, struct err *e)
{
	enum spool_dir	d;
	size_t		k;
	int		saved;

	if (spool_place(s, entry, n, 1, name, SP_NEW, name, e) == -1)
		return -1;
	for (k = 0; keys != NULL && keys[k] != NULL; k++)
		if (flush_at(s->fd[SP_IDS], keys[k], 0) == -1) {
			err_sys(e, "unable to flush %s/ids/%s", s->path,
			    keys[k]);
			goto fail;
		}
	if (k > 0 && fsync(s->fd[SP_IDS]) == -1) {
		err_sys(e, "unable to flush %s/ids", s->path);
		goto fail;
	}
	if (fsync(s->fd[SP_NEW]) == -1) {
		err_sys(e, "unable to flush %s/new", s->path);
		goto fail;
	}
	/* A runner may have claimed it since the rename (it watches new/):
	 * the folder it is in now is flushed too, as retire would. (On
	 * ext4 one transaction carries both sides of a rename; not on
	 * every file system.) A later move is the runner's, after the
	 * handler ran. */
	if ((d = spool_find(s, name)) != SP_NEW && d != SP_NDIRS &&
	    fsync(s->fd[d]) == -1) {
		err_sys(e, "unable to flush %s/%s", s->path,
		    spool_dirname(d));
		goto fail;
	}
	__atomic_add_fetch(&s->sync->direct, 1, __ATOMIC_SEQ_CST);
	return 0;
fail:
	/* As after a failed journal commit: a 503 means "not ours". */
	saved = errno;
	(void)unlinkat(s->fd[SP_NEW], name, 0);
	errno = saved;
	return -1;
}

/*
 * Retire a generation: every entry it names, wherever it has moved
 * since, and its ids/ records are flushed, then the folders, then the
 * generation goes. Entries purged since are simply not there. Done in
 * chunks (writeback started for a chunk, then waited for, so the
 * flushes share the file system's commits) until `deadline` (mono ms):
 * a generation of a long backlog is retired over several calls, from
 * where the last one stopped (s->rgen, s->roff), and delivery goes on
 * meanwhile. 1 when the time ran out first.
 */
static int
retire(struct spool *s, uint64_t gen, int64_t deadline, struct err *e)
{
	static const enum spool_dir dirs[] = {
		SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD, SP_IDS
	};
	struct jrec	r;
	char		*map, b[24];
	size_t		 len, off, end, l, i, k;
	int		 pass, rc = 0;

	if (map_gen(s, gen, &map, &len, e) == -1)
		return -1;
	off = s->rgen == gen ? s->roff : 0;
	while (off < len && rc == 0) {
		if (mono_ms() >= deadline) {
			rc = 1;
			break;
		}
		for (pass = 0, end = off; pass < 2 && rc == 0; pass++)
			for (end = off, k = 0; k < RETIRE_CHUNK && end < len &&
			    (l = parse_rec(map + end, len - end, &r)) > 0;
			    end += l, k++)
				if (flush_entry(s, &r, pass == 0) == -1)
					rc = err_sys(e, "unable to flush %s's "
					    "entry %s", s->path, r.name);
		if (end == off)		/* a torn tail: nothing more */
			break;
		off = end;
	}
	if (map != NULL)
		(void)munmap(map, len);
	s->rgen = gen;
	s->roff = off;
	if (rc != 0)
		return rc;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (fsync(s->fd[dirs[i]]) == -1)
			return err_sys(e, "unable to flush %s/%s", s->path,
			    spool_dirname(dirs[i]));
	gen_name(gen, b);
	if (unlinkat(s->jdir, b, 0) == -1 && errno != ENOENT)
		return err_sys(e, "unable to remove %s/journal/%s", s->path,
		    b);
	s->rgen = 0;
	s->roff = 0;
	return 0;
}

int
spool_checkpoint(struct spool *s, size_t min, struct err *e)
{
	struct err	 ignored;
	struct stat	 st;
	uint64_t	*v, cur;
	int64_t		 deadline;
	size_t		 n, i;
	int		 rc = 0;

	if (s->nosync)
		return 0;
	if (journal_open(s, e) == -1)
		return -1;
	if (lock(s->jdir, LOCK_EX, "journal", s, e) == -1)
		return -1;
	if (current(s, 0, e) == -1)
		rc = -1;
	else if (fstat(s->jfd, &st) == -1)
		rc = err_sys(e, "unable to stat %s/journal", s->path);
	else if (st.st_size > 0 && ((size_t)st.st_size >= min ||
	    (s->jmax > 0 && (uint64_t)st.st_size >= s->jmax)))
		rc = rotate(s, e);
	cur = s->jgen;
	unlock(s->jdir);
	if (rc == -1)
		return -1;
	if (gens(s, &v, &n, e) == -1)
		return -1;
	/* More than a few waiting: the intake outruns the retiring (an
	 * entry's flush costs about 0.1 ms, a request's commit less), and
	 * journal/ would grow with the load. Take most of the second (a
	 * runner checkpoints once a second at most) until it catches up. */
	for (i = 0; i < n && v[i] < cur; i++)
		;
	deadline = mono_ms() + (i > RETIRE_BEHIND ? RETIRE_LONG_MS :
	    RETIRE_MS);
	for (i = 0; i < n && v[i] < cur && rc == 0; i++)
		rc = retire(s, v[i], deadline, e);
	free(v);
	/* What is left to retire, counted again under the append lock
	 * (where rotate adds to it), whatever retiring came to: a commit
	 * that bypassed the journal because of it finds room again. */
	if (lock(s->jdir, LOCK_EX, "journal", s, &ignored) == 0) {
		if (gens(s, &v, &n, &ignored) == 0) {
			store(&s->sync->older, held(s, v, n,
			    load(&s->sync->gen)));
			free(v);
		}
		unlock(s->jdir);
	}
	return rc == -1 ? -1 : 0;
}

int
spool_journal_stat(struct spool *s, struct spool_journal *j,
    struct err *e)
{
	uint64_t		*v;
	size_t			 n;
	struct spool_sync	 st;
	ssize_t			 r;
	char			 why[sizeof(e->msg)];
	int			 fd;

	memset(j, 0, sizeof(*j));
	j->limit = s->jmax;
	if (gens(s, &v, &n, e) == -1)
		return -1;
	j->bytes = held(s, v, n, UINT64_MAX);
	j->generations = n;
	free(v);
	/* Read, not mapped: journal.state is not made here (`hookpipe
	 * status` run as root must leave the spool as it found it). */
	memset(&st, 0, sizeof(st));
	fd = open_file(s->top, "journal.state", O_RDONLY | O_NOFOLLOW, e);
	if (fd == -1 && e->errnum != ENOENT) {
		(void)snprintf(why, sizeof(why), "%s", e->msg);
		return err_set(e, "%s/%s", s->path, why);
	}
	if (fd != -1) {
		while ((r = pread(fd, &st, sizeof(st), 0)) == -1 &&
		    errno == EINTR)
			;
		(void)close(fd);
		if (r == -1)
			return err_sys(e, "unable to read %s/journal.state",
			    s->path);
	}
	j->flushes = st.flushes;
	j->records = st.records;
	j->direct = st.direct;
	return 0;
}

/* An ids/ record naming the entry again, unless it names another entry
 * that is stored (then that one holds the key). */
static int
restore_key(struct spool *s, const char *key, const char *name,
    struct err *e)
{
	char		rec[SPOOL_NAME_MAX + 2], tmp[SPOOL_NAME_MAX + 8];
	struct iovec	iov[2];
	ssize_t		n = 0;
	int		fd;

	if (*key == '\0' || key[0] == '.' || strchr(key, '/') != NULL)
		return 0;
	if ((fd = open_file(s->fd[SP_IDS], key, O_RDONLY | O_NOFOLLOW, e)) !=
	    -1) {
		while ((n = pread(fd, rec, sizeof(rec) - 1, 0)) == -1 &&
		    errno == EINTR)
			;
		(void)close(fd);
		rec[n > 0 ? n : 0] = '\0';
		rec[strcspn(rec, "\n")] = '\0';
		if (strcmp(rec, name) == 0 || (rec[0] != '\0' &&
		    spool_stored(s, rec) && spool_entry_intact(s, rec)))
			return 0;
	}
	(void)snprintf(tmp, sizeof(tmp), "%s.key", name);
	(void)unlinkat(s->fd[SP_TMP], tmp, 0);	/* an earlier recovery's */
	iov[0].iov_base = (void *)(uintptr_t)name;
	iov[0].iov_len = strlen(name);
	iov[1].iov_base = (void *)(uintptr_t)"\n";
	iov[1].iov_len = 1;
	return spool_place(s, iov, 2, 1, tmp, SP_IDS, key, e);
}

/* An entry of the journal that is missing or torn, written again where
 * it is (quarantined or nowhere: new/). */
static int
restore(struct spool *s, const struct jrec *r, unsigned *restored,
    struct err *e)
{
	enum spool_dir	d = spool_find(s, r->name);
	struct iovec	iov;
	struct stat	st;
	char		tmp[SPOOL_NAME_MAX + 8];
	size_t		k;

	/* In tmp/: the rename into new/ was lost with the cut (a sync
	 * event, the only other entry of tmp/, has no record). */
	if (d == SP_NDIRS || d == SP_TMP || !spool_entry_intact(s, r->name)) {
		enum spool_dir was = d;

		if (d == SP_NDIRS || d == SP_TMP)
			d = SP_NEW;
		/* Only recovery makes NAME.rec, under the runner lock: one
		 * left there is from a recovery a crash cut short. */
		(void)snprintf(tmp, sizeof(tmp), "%s.rec", r->name);
		(void)unlinkat(s->fd[SP_TMP], tmp, 0);
		iov.iov_base = (void *)(uintptr_t)r->entry;
		iov.iov_len = r->len;
		if (spool_place(s, &iov, 1, 1, tmp, d, r->name, e) == -1)
			return -1;
		if (was == SP_TMP)
			(void)unlinkat(s->fd[SP_TMP], r->name, 0);
		if (fstatat(s->fd[SP_QUAR], r->name, &st,
		    AT_SYMLINK_NOFOLLOW) == 0)
			(void)unlinkat(s->fd[SP_QUAR], r->name, 0);
		(*restored)++;
	}
	for (k = 0; r->keys[k] != NULL; k++)
		if (restore_key(s, r->keys[k], r->name, e) == -1)
			return -1;
	return 0;
}

/* The names the journal's tombstones (records with nothing in them)
 * took back, across every generation. */
static int
tombstones(struct spool *s, const uint64_t *v, size_t n, struct strlist *l,
    struct err *e)
{
	struct jrec	 r;
	char		*map;
	size_t		 i, len, off, k;

	for (i = 0; i < n; i++) {
		if (map_gen(s, v[i], &map, &len, e) == -1)
			return -1;
		for (off = 0; off < len && (k = parse_rec(map + off,
		    len - off, &r)) > 0; off += k)
			if (r.len == 0 && strlist_push(l, r.name) == -1) {
				(void)munmap(map, len);
				return err_sys(e, "out of memory");
			}
		if (map != NULL)
			(void)munmap(map, len);
	}
	return 0;
}

static int
taken_back(const struct strlist *l, const char *name)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

int
spool_recover(struct spool *s, unsigned *restored, struct err *e)
{
	struct strlist	 dead = { 0 };
	struct jrec	 r;
	uint64_t	*v;
	char		*map;
	size_t		 n, i, len, off, l;
	int		 rc = 0;

	*restored = 0;
	if (s->nosync)
		return 0;
	if (gens(s, &v, &n, e) == -1)
		return -1;
	rc = tombstones(s, v, n, &dead, e);
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = map_gen(s, v[i], &map, &len, e)) == -1)
			break;
		for (off = 0; off < len && rc == 0 && (l = parse_rec(map + off,
		    len - off, &r)) > 0; off += l)
			if (r.len > 0 && !taken_back(&dead, r.name))
				rc = restore(s, &r, restored, e);
		if (map != NULL)
			(void)munmap(map, len);
	}
	free(v);
	strlist_free(&dead);
	if (rc == 0 && *restored > 0 && (fsync(s->fd[SP_NEW]) == -1 ||
	    fsync(s->fd[SP_IDS]) == -1))
		rc = err_sys(e, "unable to flush %s", s->path);
	return rc == 0 ? spool_checkpoint(s, 0, e) : -1;
}
