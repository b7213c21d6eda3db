/* spoolint: what spool.c and journal.c share and nobody else sees. */
#ifndef HOOKPIPE_SPOOLINT_H
#define HOOKPIPE_SPOOLINT_H

#include <sys/types.h>
#include <sys/uio.h>

#include "spool.h"

struct spool {
	char			*path;
	int			 top;		/* the spool folder */
	dev_t			 dev;		/* its file system */
	int			 fd[SP_NDIRS];	/* its state folders */
	int			 lockfd;	/* run.lock */
	unsigned		 counter;
	int			 nosync;	/* durability = process */
	int			 jdir;		/* journal/ */
	int			 jfd;		/* the generation appended to */
	uint64_t		 jgen;		/* which one */
	uint64_t		 rgen;		/* the generation being retired */
	size_t			 roff;		/* ... and how far */
	int			 statefd;	/* journal.state */
	struct spool_sync	*sync;		/* mapped from it */
	uint64_t		 jmax;		/* spool_journal_limit */
};

/* An entry's bytes as they go to disk: envelope line, '\n', body. */
struct entry_bytes {
	struct buf	line;
	struct iovec	iov[3];
	size_t		len;
};

/* Fill in the entry's bytes (the envelope gets the body's length and
 * checksum); entry_bytes_free after. */
int	entry_bytes(struct envelope *, const char *, size_t,
	    struct entry_bytes *, struct err *);
void	entry_bytes_free(struct entry_bytes *);
/* Write iovecs whole (a copy is advanced, not the caller's). */
int	write_iov(int, const struct iovec *, int);
/* Write bytes to tmp/TMPNAME, flushed when asked, and rename them to
 * DIR/NAME; on failure nothing is left in tmp/. */
int	spool_place(struct spool *, const struct iovec *, int, int,
	    const char *, enum spool_dir, const char *, struct err *);
/* An entry after tmp/: in one of the states a runner or operator sees. */
int	spool_stored(struct spool *, const char *);
/* Open (and create) journal/ and journal.state. */
int	journal_open(struct spool *, struct err *);
void	journal_close(struct spool *);
/* 1 when a commit must bypass the journal (spool_journal_limit); the
 * journal open. */
int	journal_full(struct spool *);
/* Commit an entry without the journal: written and flushed, renamed into
 * new/, the folder flushed; its ids/ records and ids/ too. On failure
 * nothing is left in tmp/ or new/. */
int	journal_bypass(struct spool *, const char *, const char *const *,
	    const struct iovec *, int, struct err *);
/* Append an entry's record (its name, its ids/ keys, its bytes) and
 * return once a flush shared with concurrent commits has covered it;
 * the journal open (journal_open). */
int	journal_commit(struct spool *, const char *, const char *const *,
	    const struct iovec *, int, size_t, struct err *);

#endif
