/*
 * journal: what makes a 200 durable in the default durability = full.
 *
 * A commit writes its entry to tmp/ and renames it into new/ as before,
 * without any fsync, and then appends a copy of the entry (name,
 * envelope, body, CRC) to the spool's journal: a file of JOURNAL_SIZE
 * bytes written full of zeros and flushed when it was made, so that
 * writing into it changes no metadata and fdatasync(2) flushes data
 * only, with no file system journal commit. Room is reserved with one
 * atomic add on the mapped sync.state, so concurrent responders write
 * their records side by side; the group commit (spool.c) then flushes
 * the journal once for every record written so far.
 *
 * A full journal is rotated under the flush lock: a new generation is
 * made and published, then syncfs(2) makes every entry written to the
 * spool so far durable in its own right (each was in new/ before its
 * record was reserved), and only then are the older generations
 * removed. So a generation that cannot be opened any more held only
 * entries already on disk.
 *
 * After a crash of the machine the unflushed new/ files may be lost or
 * empty. The first process to open sync.state under a new boot id
 * moves the journal on to a new generation without removing anything;
 * the runner then replays the generations below the live ones: every
 * record whose entry is not stored with exactly its bytes is written
 * again, and the dedupe record of its id is restored.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

#define JOURNAL_MAGIC	0x4a504b48u	/* "HKPJ" */
#define JOURNAL_ALIGN	512
#define JOURNAL_HEAD	24u

/* A record: this header, the entry name, then the entry's bytes
 * (envelope, '\n', body), padded with zeros to JOURNAL_ALIGN. */
struct jhead {
	uint32_t	magic;
	uint32_t	len;		/* header + name + entry */
	uint64_t	gen;
	uint32_t	crc;		/* CRC-32C of gen, len, name, entry */
	uint16_t	namelen;
	uint16_t	zero;
};

_Static_assert(sizeof(struct jhead) == JOURNAL_HEAD, "journal record header");

static uint32_t crctab[256];

static void
crc_init(void)
{
	uint32_t	c;
	unsigned	i, k;

	if (crctab[1] != 0)
		return;
	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crctab[i] = c;
	}
}

static uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;

	crc = ~crc;
	while (n-- > 0)
		crc = crctab[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static uint32_t
record_crc(const struct jhead *h, const char *name, const struct iovec *v,
    int nv)
{
	uint32_t	c;
	int		i;

	crc_init();
	c = crc32c(0, &h->gen, sizeof(h->gen));
	c = crc32c(c, &h->len, sizeof(h->len));
	c = crc32c(c, name, h->namelen);
	for (i = 0; i < nv; i++)
		c = crc32c(c, v[i].iov_base, v[i].iov_len);
	return c;
}

static size_t
journal_size(const struct spool *s)
{
	return s->jsize != 0 ? s->jsize : JOURNAL_SIZE;
}

static int
journal_name(uint64_t gen, char *out, size_t len)
{
	int n = snprintf(out, len, "journal.%llu", (unsigned long long)gen);

	return n > 0 && (size_t)n < len ? 0 : -1;
}

/* The boot this machine is in, as a number; 1 when /proc cannot say
 * (then only a new sync.state triggers a replay). */
static uint64_t
boot_id(void)
{
	char		b[64];
	uint64_t	h = 1469598103934665603ull;
	ssize_t		n;
	int		fd, i;

	if ((fd = open("/proc/sys/kernel/random/boot_id",
	    O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, b, sizeof(b));
	(void)close(fd);
	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)b[i]) * 1099511628211ull;
	return n > 0 && h > 1 ? h : 1;
}

/* Make generation gen: JOURNAL_SIZE zeros, flushed, with its name.
 * Never over an existing one (another process made it first: that one
 * is complete, and writers may hold it open). */
static int
journal_make(struct spool *s, uint64_t gen, struct err *e)
{
	static const char	zeros[64 * 1024];
	char			name[64], tmp[80];
	size_t			size = journal_size(s), off, n;
	struct stat		st;
	ssize_t			w;
	int			fd;

	if (journal_name(gen, name, sizeof(name)) == -1 ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", name, (long)getpid()) >=
	    (int)sizeof(tmp))
		return err_set(e, "journal name too long");
	if (faccessat(s->top, name, F_OK, AT_EACCESS) == 0)
		return 0;
	fd = openat(s->top, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600);
	if (fd == -1)
		return err_sys(e, "unable to create %s/%s", s->path, tmp);
	/* Made by root (hookpipe purge, a runner from root's crontab): it
	 * still belongs to the spool's owner, whom the responders run as. */
	if (geteuid() == 0 && fstat(s->top, &st) == 0 &&
	    fchown(fd, st.st_uid, st.st_gid) == -1) {
		err_sys(e, "unable to give %s/%s to the spool's owner",
		    s->path, tmp);
		goto fail;
	}
	for (off = 0; off < size; off += (size_t)w) {
		n = size - off < sizeof(zeros) ? size - off : sizeof(zeros);
		if ((w = pwrite(fd, zeros, n, (off_t)off)) <= 0) {
			if (w == 0)
				errno = ENOSPC;
			else if (errno == EINTR) {
				w = 0;
				continue;
			}
			err_sys(e, "unable to write %s/%s", s->path, tmp);
			goto fail;
		}
	}
	if (fsync(fd) == -1) {
		err_sys(e, "unable to fsync %s/%s", s->path, tmp);
		goto fail;
	}
	(void)close(fd);
	if (renameat2(s->top, tmp, s->top, name, RENAME_NOREPLACE) == -1) {
		if (errno == EEXIST) {
			(void)unlinkat(s->top, tmp, 0);
			return 0;
		}
		err_sys(e, "unable to rename %s/%s", s->path, tmp);
		(void)unlinkat(s->top, tmp, 0);
		return -1;
	}
	if (fsync(s->top) == -1)
		return err_sys(e, "unable to fsync %s", s->path);
	return 0;
fail:
	(void)close(fd);
	(void)unlinkat(s->top, tmp, 0);
	return -1;
}

/* The descriptor of generation gen (cached for the live one); -1 with
 * errno ENOENT when it is gone. */
static int
journal_fd(struct spool *s, uint64_t gen, int *owned, struct err *e)
{
	char	name[64];
	int	fd;

	*owned = 0;
	if (s->jfd != -1 && s->jgen == gen)
		return s->jfd;
	if (journal_name(gen, name, sizeof(name)) == -1)
		return err_set(e, "journal name too long");
	fd = openat(s->top, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd == -1) {
		if (errno != ENOENT)
			err_sys(e, "unable to open %s/%s", s->path, name);
		return -1;
	}
	if (gen == (s->sync->pos >> 32)) {
		if (s->jfd != -1)
			(void)close(s->jfd);
		s->jfd = fd;
		s->jgen = gen;
	} else
		*owned = 1;
	return fd;
}

int
journal_lock(struct spool *s, struct err *e)
{
	while (flock(s->syncfd, LOCK_EX) == -1)
		if (errno != EINTR)
			return err_sys(e, "unable to lock %s/sync.state",
			    s->path);
	return 0;
}

void
journal_unlock(struct spool *s)
{
	(void)flock(s->syncfd, LOCK_UN);
}

/* The highest generation on disk (0: none). */
static uint64_t
journal_highest(struct spool *s)
{
	struct dirent	*d;
	DIR		*dir;
	uint64_t	 g, max = 0;
	char		*end;
	int		 fd;

	if ((fd = dup(s->top)) == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			(void)close(fd);
		return 0;
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, "journal.", 8) != 0)
			continue;
		g = strtoull(d->d_name + 8, &end, 10);
		if (*end == '\0' && g > max)
			max = g;
	}
	(void)closedir(dir);
	return max;
}

/* Under the flush lock: start the generation after the live one (a
 * new boot: after every one on disk, keeping them for the replay). */
static int
journal_switch(struct spool *s, int boot, uint64_t *to, struct err *e)
{
	uint64_t gen = (s->sync->pos >> 32) + 1, g;

	if (boot && (g = journal_highest(s)) >= gen)
		gen = g + 1;
	if (journal_make(s, gen, e) == -1)
		return -1;
	__atomic_store_n(&s->sync->pos, gen << 32, __ATOMIC_SEQ_CST);
	if (boot)
		__atomic_store_n(&s->sync->low, gen, __ATOMIC_SEQ_CST);
	/* A preparer killed midway would otherwise stop the next ones. */
	__atomic_store_n(&s->sync->preparing, 0, __ATOMIC_SEQ_CST);
	*to = gen;
	return 0;
}

/* A settled generation becomes the next one, as it is: its blocks are
 * written, so writing into it again changes no metadata, and its old
 * records carry the old generation, which the replay skips. Not while
 * a writer may still be writing an old record into it (it would land
 * among the new ones), nor over a next generation already made. */
static int
journal_recycle(struct spool *s, uint64_t g, const char *name,
    uint64_t next)
{
	char to[64];

	if (__atomic_load_n(&s->sync->inflight[g & 3], __ATOMIC_SEQ_CST) != 0 ||
	    __atomic_load_n(&s->sync->prepared, __ATOMIC_SEQ_CST) >= next ||
	    journal_name(next, to, sizeof(to)) == -1 ||
	    renameat2(s->top, name, s->top, to, RENAME_NOREPLACE) == -1)
		return 0;
	__atomic_store_n(&s->sync->prepared, next, __ATOMIC_SEQ_CST);
	return 1;
}

/* After a switch to generation gen: every record of the older ones
 * belongs to an entry that was in new/ before the record was reserved,
 * so before the switch; a syncfs that begins now makes them all
 * durable, and the older generations can go. Without the flush lock
 * (`locked` 0) the syncfs does not hold up the group commit, whose
 * leaders flush every generation from low up meanwhile. */
static int
journal_settle_to(struct spool *s, uint64_t gen, int locked, struct err *e)
{
	char		name[64];
	uint64_t	g;

	if (syncfs(s->top) == -1)
		return err_sys(e, "unable to flush the file system of %s",
		    s->path);
	if (!locked && journal_lock(s, e) == -1)
		return -1;
	for (g = s->sync->low; g < gen; g++)
		if (journal_name(g, name, sizeof(name)) == 0 &&
		    !journal_recycle(s, g, name, gen + 1))
			(void)unlinkat(s->top, name, 0);
	if (s->sync->low < gen)
		__atomic_store_n(&s->sync->low, gen, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&s->sync->rotations, 1, __ATOMIC_SEQ_CST);
	if (!locked)
		journal_unlock(s);
	return 0;
}

/* Make the next generation ahead of need, once the live one is half
 * full, so a rotation does not wait for JOURNAL_SIZE bytes of zeros. */
static void
journal_prepare(struct spool *s, uint64_t gen)
{
	uint64_t zero = 0;

	if (__atomic_load_n(&s->sync->prepared, __ATOMIC_SEQ_CST) > gen ||
	    !__atomic_compare_exchange_n(&s->sync->preparing, &zero, 1, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	if (journal_make(s, gen + 1, NULL) == 0)
		__atomic_store_n(&s->sync->prepared, gen + 1,
		    __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->sync->preparing, 0, __ATOMIC_SEQ_CST);
}

#define NOROOM_SECONDS	60

static int
no_room(int err)
{
	return err == ENOSPC || err == EDQUOT || err == EFBIG;
}

/* Making a journal failed for room: stop trying for a minute, so a full
 * disk does not cost every request a journal's worth of writes. */
static void
no_room_note(struct spool *s)
{
	__atomic_store_n(&s->sync->noroom, (uint64_t)time(NULL) +
	    NOROOM_SECONDS, __ATOMIC_SEQ_CST);
}

static int
no_room_now(const struct spool *s)
{
	return (uint64_t)time(NULL) < __atomic_load_n(&s->sync->noroom,
	    __ATOMIC_SEQ_CST);
}

int
journal_open(struct spool *s, struct err *e)
{
	uint64_t	boot = boot_id(), gen;
	int		rc = 0;

	if (__atomic_load_n(&s->sync->boot, __ATOMIC_SEQ_CST) == boot) {
		s->jok = 1;
		return 0;
	}
	if (no_room_now(s)) {
		s->jok = 0;
		return 0;
	}
	if (journal_lock(s, e) == -1)
		return -1;
	if (s->sync->boot != boot) {
		/* Sync.state is new, or from before a crash of the
		 * machine: what it says of the journal cannot be trusted.
		 * Start above every generation on disk and leave those to
		 * the runner's replay. */
		if ((rc = journal_switch(s, 1, &gen, e)) == 0)
			__atomic_store_n(&s->sync->boot, boot,
			    __ATOMIC_SEQ_CST);
	}
	journal_unlock(s);
	s->jok = rc == 0;
	/* No room for a journal: commits flush the file system instead. */
	if (rc == -1 && no_room(errno)) {
		no_room_note(s);
		rc = 0;
	}
	return rc;
}

int
journal_append(struct spool *s, const char *name, const char *env,
    size_t envlen, const char *body, size_t len, struct err *e)
{
	struct jhead	h;
	struct iovec	v[5];
	uint64_t	cur, gen, off, reclen, to;
	size_t		size = journal_size(s);
	ssize_t		w;
	int		fd, owned;

	memset(&h, 0, sizeof(h));
	h.magic = JOURNAL_MAGIC;
	h.namelen = (uint16_t)strlen(name);
	reclen = JOURNAL_HEAD + h.namelen + envlen + 1 + len;
	if (reclen > size / 4 || !s->jok)
		return 1;		/* the caller flushes it by itself */
	h.len = (uint32_t)reclen;
	reclen = (reclen + JOURNAL_ALIGN - 1) & ~(uint64_t)(JOURNAL_ALIGN - 1);
	for (;;) {
		cur = __atomic_load_n(&s->sync->pos, __ATOMIC_SEQ_CST);
		gen = cur >> 32;
		off = cur & 0xffffffffu;
		if (gen != 0 && off + reclen <= size) {
			/* Counted before the reservation, so a settled
			 * generation is never recycled under a writer. */
			__atomic_add_fetch(&s->sync->inflight[gen & 3], 1,
			    __ATOMIC_SEQ_CST);
			if (__atomic_compare_exchange_n(&s->sync->pos, &cur,
			    cur + reclen, 0, __ATOMIC_SEQ_CST,
			    __ATOMIC_SEQ_CST))
				break;
			__atomic_sub_fetch(&s->sync->inflight[gen & 3], 1,
			    __ATOMIC_SEQ_CST);
			continue;
		}
		/* Full: whoever gets the lock first moves it on. */
		if (no_room_now(s))
			return 1;
		if (journal_lock(s, e) == -1)
			return -1;
		if (__atomic_load_n(&s->sync->pos, __ATOMIC_SEQ_CST) != cur) {
			journal_unlock(s);
			continue;
		}
		if (journal_switch(s, 0, &to, e) == -1) {
			journal_unlock(s);
			if (!no_room(errno))
				return -1;
			no_room_note(s);
			return 1;
		}
		journal_unlock(s);
		(void)journal_settle_to(s, to, 0, NULL);
	}
	if (off + reclen > size / 2)
		journal_prepare(s, gen);
	h.gen = gen;
	v[0].iov_base = &h;
	v[0].iov_len = sizeof(h);
	v[1].iov_base = (void *)(uintptr_t)name;
	v[1].iov_len = h.namelen;
	v[2].iov_base = (void *)(uintptr_t)env;
	v[2].iov_len = envlen;
	v[3].iov_base = (void *)(uintptr_t)"\n";
	v[3].iov_len = 1;
	v[4].iov_base = (void *)(uintptr_t)body;
	v[4].iov_len = len;
	h.crc = record_crc(&h, name, v + 2, 3);
	if ((fd = journal_fd(s, gen, &owned, e)) == -1) {
		__atomic_sub_fetch(&s->sync->inflight[gen & 3], 1,
		    __ATOMIC_SEQ_CST);
		/* Rotated away: removed only after a syncfs that began
		 * after our entry was in new/. */
		return errno == ENOENT ? 0 : -1;
	}
	/* Into allocated blocks: a short write is an error, not a retry. */
	w = pwritev(fd, v, 5, (off_t)off);
	if (w != -1 && w != (ssize_t)h.len)
		errno = EIO;
	__atomic_sub_fetch(&s->sync->inflight[gen & 3], 1, __ATOMIC_SEQ_CST);
	if (owned)
		(void)close(fd);
	if (w != (ssize_t)h.len)
		return err_sys(e, "unable to write the journal of %s",
		    s->path);
	return 0;
}

int
journal_flush(struct spool *s, struct err *e)
{
	uint64_t	gen = s->sync->pos >> 32, g;
	int		fd, owned;

	/* The live generation, and any older one a failed rotation left. */
	for (g = s->sync->low; g <= gen; g++) {
		if ((fd = journal_fd(s, g, &owned, e)) == -1) {
			if (errno == ENOENT && g < gen)
				continue;
			return err_sys(e, "unable to open the journal of %s",
			    s->path);
		}
		if (fdatasync(fd) == -1) {
			err_sys(e, "unable to flush the journal of %s",
			    s->path);
			if (owned)
				(void)close(fd);
			return -1;
		}
		if (owned)
			(void)close(fd);
	}
	return 0;
}

/* Under the flush lock: a new generation and a syncfs, now. */
int
journal_settle(struct spool *s, struct err *e)
{
	uint64_t	gen;
	int		saved;

	if (journal_switch(s, 0, &gen, e) == -1 ||
	    journal_settle_to(s, gen, 1, e) == -1) {
		saved = errno;
		s->sync->poisoned = 1;
		errno = saved;
		return -1;
	}
	s->sync->poisoned = 0;
	return 0;
}

int
journal_checkpoint(struct spool *s, struct err *e)
{
	int rc = 0;

	if (s->sync == NULL && spool_sync_open(s, e) == -1)
		return -1;
	if (journal_lock(s, e) == -1)
		return -1;
	if ((s->sync->pos & 0xffffffffu) != 0 || s->sync->poisoned ||
	    s->sync->low != s->sync->pos >> 32)
		rc = journal_settle(s, e);
	journal_unlock(s);
	return rc;
}

/* Is the entry stored with exactly these bytes? Its folder, or
 * SP_NDIRS; *same tells whether the bytes match. */
static enum spool_dir
entry_state(struct spool *s, const char *name, const char *data,
    size_t len, int *same)
{
	static const enum spool_dir dirs[] = {
		SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD
	};
	struct stat	st;
	char		b[8192];
	size_t		i, off;
	ssize_t		n;
	int		fd;

	*same = 0;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fd = openat(s->fd[dirs[i]], name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd == -1)
			continue;
		if (fstat(fd, &st) == 0 && (size_t)st.st_size == len) {
			for (off = 0; off < len; off += (size_t)n) {
				n = pread(fd, b, sizeof(b), (off_t)off);
				if (n <= 0 || (size_t)n > len - off ||
				    memcmp(b, data + off, (size_t)n) != 0)
					break;
			}
			*same = off == len;
		}
		(void)close(fd);
		return dirs[i];
	}
	return SP_NDIRS;
}

/* Write one entry back into folder d (tmp/, then a rename over what
 * is there). */
static int
entry_restore(struct spool *s, enum spool_dir d, const char *name,
    const char *data, size_t len, struct err *e)
{
	const char	*nl = memchr(data, '\n', len);

	if (nl == NULL)
		return err_set(e, "journal record of %s has no envelope",
		    name);
	if (spool_write(s, data, (size_t)(nl - data), nl + 1,
	    len - (size_t)(nl - data) - 1, 0, name, e) == -1)
		return -1;
	if (renameat(s->fd[SP_TMP], name, s->fd[d], name) == -1) {
		err_sys(e, "unable to move %s into %s/%s", name, s->path,
		    spool_dirname(d));
		(void)unlinkat(s->fd[SP_TMP], name, 0);
		return -1;
	}
	return 0;
}

static int
valid_name(const char *name, size_t n)
{
	size_t i;

	if (n == 0 || n >= SPOOL_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] == '/' || name[i] == '\0')
			return 0;
	return 1;
}

/* Replay one generation's file, mapped at m. */
static void
replay_file(struct spool *s, uint64_t gen, const char *m, size_t size,
    journal_restored_fn *fn, void *arg, struct journal_replay *st)
{
	struct jhead		 hd;
	struct iovec		 v;
	struct err		 e;
	char			 name[SPOOL_NAME_MAX];
	const char		*data;
	size_t			 off = 0, len;
	enum spool_dir		 d;
	int			 same;

	while (off + JOURNAL_HEAD <= size) {
		memcpy(&hd, m + off, sizeof(hd));
		if (hd.magic != JOURNAL_MAGIC || hd.gen != gen ||
		    hd.len < JOURNAL_HEAD + (uint32_t)hd.namelen ||
		    hd.len > size - off ||
		    !valid_name(m + off + JOURNAL_HEAD, hd.namelen)) {
			off += JOURNAL_ALIGN;
			continue;
		}
		data = m + off + JOURNAL_HEAD + hd.namelen;
		len = hd.len - JOURNAL_HEAD - hd.namelen;
		v.iov_base = (void *)(uintptr_t)data;
		v.iov_len = len;
		if (record_crc(&hd, m + off + JOURNAL_HEAD, &v, 1) != hd.crc) {
			st->torn++;	/* a crash mid-write, or damage */
			off += JOURNAL_ALIGN;
			continue;
		}
		memcpy(name, m + off + JOURNAL_HEAD, hd.namelen);
		name[hd.namelen] = '\0';
		st->records++;
		d = entry_state(s, name, data, len, &same);
		if (!same) {
			if (entry_restore(s, d == SP_NDIRS ? SP_NEW : d, name,
			    data, len, &e) == -1)
				st->failed++;
			else {
				st->restored++;
				if (fn != NULL)
					fn(arg, name, data, len);
			}
		}
		off += (hd.len + JOURNAL_ALIGN - 1) & ~(size_t)(JOURNAL_ALIGN - 1);
	}
}

int
journal_replay(struct spool *s, journal_restored_fn *fn, void *arg,
    struct journal_replay *st, struct err *e)
{
	struct dirent	*d;
	struct stat	 sb;
	DIR		*dir;
	uint64_t	 low, g;
	char		*end;
	void		*m;
	int		 fd, dfd;

	memset(st, 0, sizeof(*st));
	if (s->sync == NULL && spool_sync_open(s, e) == -1)
		return -1;
	low = __atomic_load_n(&s->sync->low, __ATOMIC_SEQ_CST);
	if ((dfd = dup(s->top)) == -1 || (dir = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			(void)close(dfd);
		return err_sys(e, "unable to list %s", s->path);
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, "journal.", 8) != 0)
			continue;
		g = strtoull(d->d_name + 8, &end, 10);
		if (*end != '\0' || g >= low)
			continue;
		fd = openat(s->top, d->d_name, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW);
		if (fd == -1)
			continue;
		if (fstat(fd, &sb) == 0 && sb.st_size > 0 &&
		    (m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
		    fd, 0)) != MAP_FAILED) {
			replay_file(s, g, m, (size_t)sb.st_size, fn, arg, st);
			(void)munmap(m, (size_t)sb.st_size);
		}
		(void)close(fd);
		st->files++;
	}
	(void)closedir(dir);
	if (st->files == 0)
		return 0;
	if (st->failed > 0)
		return err_set(e, "%zu of the journal's entries could not be "
		    "written back into %s; the journal is kept",
		    st->failed, s->path);
	/* What was written back is on disk before the journal goes; under
	 * the flush lock, so no rotation is making a generation meanwhile
	 * (a .tmp left now is one a crash interrupted). */
	if (syncfs(s->top) == -1)
		return err_sys(e, "unable to flush the file system of %s",
		    s->path);
	if (journal_lock(s, e) == -1)
		return -1;
	if ((dfd = dup(s->top)) == -1 || (dir = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			(void)close(dfd);
		journal_unlock(s);
		return err_sys(e, "unable to list %s", s->path);
	}
	rewinddir(dir);
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, "journal.", 8) != 0)
			continue;
		g = strtoull(d->d_name + 8, &end, 10);
		if ((*end == '\0' && g < low) || strncmp(end, ".tmp.", 5) == 0)
			(void)unlinkat(s->top, d->d_name, 0);
	}
	journal_unlock(s);
	(void)closedir(dir);
	return 0;
}
