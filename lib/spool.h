/* spool: the Maildir-style event store. An entry is one file: a JSON
 * envelope on the first line, then the body exactly as received. */
#ifndef HOOKPIPE_SPOOL_H
#define HOOKPIPE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum spool_dir {
	SP_TMP, SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD, SP_IDS, SP_HIST,
	SP_NDIRS
};

#define SPOOL_NAME_MAX	64
#define SPOOL_ENVELOPE_MAX (64 * 1024)
#define SPOOL_HIST_MAX	(16 * 1024 * 1024)

/* The group commit's shared state in SPOOL/sync.state, mapped by every
 * responder: tickets handed out after an entry is in new/, the highest
 * ticket a flush has covered, and how many flushes there were. */
struct spool_sync {
	uint64_t	issued;
	uint64_t	done;
	uint64_t	flushes;
};

struct spool {
	char		*path;
	int		 top;		/* the spool folder */
	int		 fd[SP_NDIRS];	/* O_DIRECTORY descriptors */
	int		 lockfd;	/* run.lock, for the runner */
	unsigned	 counter;
	int		 nosync;	/* durability = process: no flush */
	int		 syncfd;	/* sync.state: the group commit */
	struct spool_sync *sync;	/* mapped from it */
};

/* Name of a state folder ("new", "cur", ...). */
const char *spool_dirname(enum spool_dir);
/* Open the spool, creating the folders when `create` is set. Refused
 * when the spool, a folder or a file of its own belongs to another
 * user, is writable by group or others, or lies on another file system
 * than the spool; its own files are never opened through a link. */
int	spool_open(struct spool *, const char *, int, struct err *);
/* Every reason spool_open would refuse an existing spool, each told to
 * report(); returns how many (for `hookpipe check`). */
int	spool_audit(const char *, void (*)(void *, const char *), void *);
void	spool_close(struct spool *);
/* A name unique across processes and hosts: time, pid, counter, random. */
int	spool_newname(struct spool *, char[SPOOL_NAME_MAX]);
/* Write envelope + '\n' + body to tmp/NAME (fsync'd when durable); the
 * name comes from spool_newname. */
int	spool_write(struct spool *, const char *, size_t, const char *, size_t,
	    int, const char *, struct err *);
/* The commit, under a name from spool_newname: write envelope + '\n' +
 * body to tmp/, rename into new/, then (unless nosync) a group flush of
 * the file system shared with concurrent commits. On failure nothing is
 * left in tmp/ or new/. */
int	spool_commit(struct spool *, const char *, size_t, const char *, size_t,
	    const char *, struct err *);
/* Move an entry between state folders; 0, or -1 (ENOENT: gone). */
int	spool_move(struct spool *, enum spool_dir, enum spool_dir, const char *,
	    struct err *);
/* Remove an entry. */
int	spool_remove(struct spool *, enum spool_dir, const char *, struct err *);

/* Dedupe. Reserve an event id: 1 = ours (fd holds the locked record),
 * 0 = a stored event already has this id, -1 = error. A record naming
 * an entry that is not stored (a crash before the commit) is ours. */
int	spool_id_reserve(struct spool *, const char *, int *, struct err *);
/* Name the entry in the record, keeping the lock (before the commit, so
 * a crash right after the commit still leaves a duplicate detectable). */
int	spool_id_note(int, const char *, struct err *);
/* Note the name and drop the lock. */
int	spool_id_commit(int, const char *, struct err *);
/* Give the id back (storing failed) and drop the lock. */
void	spool_id_release(int);

/* Append a line (with its '\n') to hist/NAME, the event's history. */
int	spool_hist_append(struct spool *, const char *, const char *, size_t,
	    struct err *);
/* The history text of an entry (malloc'd), or NULL when it has none. */
int	spool_hist_read(struct spool *, const char *, char **, struct err *);
/* The state folder holding an entry, or SP_NDIRS when none does. */
enum spool_dir spool_find(struct spool *, const char *);
/* The receive time (µs) encoded at the start of an entry name; 0 if none. */
int64_t	spool_name_time(const char *);
/* Sorted entry names of a state folder (oldest first); free with
 * strlist_free. */
int	spool_list(struct spool *, enum spool_dir, struct strlist *,
	    struct err *);
/* Open an entry; returns the fd positioned at the body and the
 * envelope line (malloc'd, NUL-terminated) in *env. */
int	spool_open_entry(struct spool *, enum spool_dir, const char *, char **,
	    struct err *);
/* Path of an entry, for messages and HOOKPIPE_SPOOL_FILE. */
int	spool_entry_path(struct spool *, enum spool_dir, const char *, char *,
	    size_t);

#endif
