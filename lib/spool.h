/* spool: the event store and everything on its disk. An entry is one
 * file: a JSON envelope on the first line, then the body exactly as
 * received; its history is hist/NAME, one JSON record a line. Every
 * on-disk format is read and written here only, and described in
 * hookpipe-spool(5). */
#ifndef HOOKPIPE_SPOOL_H
#define HOOKPIPE_SPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "util.h"

enum spool_dir {
	SP_TMP, SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD, SP_IDS, SP_HIST,
	SP_QUAR,	/* quarantine/: files that are no events (torn by a
			   crash, no envelope, not a regular file) */
	SP_NDIRS
};

#define SPOOL_NAME_MAX	64
#define SPOOL_KEY_MAX	256		/* an ids/ key: [ENDPOINT+]ID */
#define SPOOL_ENVELOPE_MAX (64 * 1024)
#define SPOOL_HIST_MAX	(16 * 1024 * 1024)

#define SPOOL_CREATE	0x01	/* make the folders that are missing */
#define SPOOL_NOSYNC	0x02	/* durability = process: no flush */

struct spool;

/* The journal's shared state in SPOOL/journal.state, mapped by every
 * responder: the generation appended to, how many of its bytes a flush
 * has covered, the bytes of the older generations not yet retired, and
 * counters (flushes, records appended, commits that found the journal
 * full and flushed their entry themselves). A state file of an older
 * version, shorter, is grown with zeros. */
struct spool_sync {
	uint64_t	gen;
	uint64_t	synced;
	uint64_t	flushes;
	uint64_t	records;
	uint64_t	older;
	uint64_t	direct;
};

/* What the journal holds now, for status and metrics. */
struct spool_journal {
	uint64_t	bytes;		/* in its generation files */
	size_t		generations;
	uint64_t	limit;		/* spool_journal_limit */
	uint64_t	flushes, records, direct;
};

/* The journal's default limit: past it, commits do not wait for the
 * runner to retire generations but flush their own entry. */
#define SPOOL_JOURNAL_MAX	(64 * 1024 * 1024)


/* Name of a state folder ("new", "cur", ...). */
const char *spool_dirname(enum spool_dir);
/* Open the spool. Refused when the spool, a folder or a file of its
 * own belongs to another user, is writable by group or others, or lies
 * on another file system than the spool; its own files are never
 * opened through a link. NULL with the reason. */
struct spool *spool_open(const char *, int, struct err *);
void	spool_close(struct spool *);
/* The path it was opened with, for messages. */
const char *spool_path(const struct spool *);
/* Every reason spool_open would refuse an existing spool, each told to
 * report(); returns how many (for `hookpipe check`). */
int	spool_audit(const char *, void (*)(void *, const char *), void *);

/* The envelope: the first line of an entry, what hookpipe knows of the
 * request beside the body. Strings of a parsed envelope live as long as
 * it does (envelope_free). */
struct envelope {
	const char	*endpoint;	/* NULL: the default endpoint */
	const char	*event;
	const char	*id;		/* NULL: the sender gave none */
	const char	*request_id;
	const char	*remote;
	const char	*content_type;
	const char	*user_agent;
	const char	*traceparent;	/* W3C trace context, or NULL */
	int64_t		 received_us;
	size_t		 bytes;
	uint32_t	 crc;		/* CRC-32C of the body */
	int		 has_crc;	/* parsed: the line carried one */
	int		 sync;		/* mode = sync */
	char		 received_at[32];	/* set by parse and encode */
	json_object	*obj;		/* the parsed line */
};

/* The line (without its '\n') for an envelope. */
void	envelope_encode(struct buf *, struct envelope *);
/* Parse an envelope line; -1 with the reason when it is not one. */
int	envelope_parse(const char *, struct envelope *, struct err *);
void	envelope_free(struct envelope *);

/* A name unique across processes and hosts: time, pid, counter, random. */
int	spool_newname(struct spool *, char[SPOOL_NAME_MAX]);
/* The time (µs) encoded at the start of an entry name, when it was named
 * (stored), within a millisecond of its envelope's received_us; 0 if
 * none. */
int64_t	spool_name_time(const char *);
/* Write envelope + '\n' + body to tmp/NAME and nothing more: a sync
 * event, whose sender's retry is its durability. */
int	spool_write(struct spool *, struct envelope *, const char *, size_t,
	    const char *, struct err *);
/* The commit, under a name from spool_newname: write the entry to tmp/,
 * rename it into new/, then (unless SPOOL_NOSYNC) append it with its
 * ids/ keys (NULL-terminated, or NULL) to the journal and wait for a
 * flush of the journal shared with concurrent commits. On failure
 * nothing is left in tmp/ or new/. */
int	spool_commit(struct spool *, struct envelope *, const char *, size_t,
	    const char *, const char *const *, struct err *);
/* The most bytes the journal may hold before commits bypass it
 * (journal_max; SPOOL_JOURNAL_MAX unless set): a commit that finds the
 * generations not yet retired at least this large flushes its entry
 * and ids/ records where they are, with their folders, as a spool
 * without a journal would. The journal cannot then outgrow the disk
 * when the intake outruns the runner's retiring, or no runner runs;
 * 0: every commit does so. */
void	spool_journal_limit(struct spool *, uint64_t);
/* Fill in what the journal holds now. */
int	spool_journal_stat(struct spool *, struct spool_journal *,
	    struct err *);
/* After a crash: every entry the journal holds that is missing or torn
 * is written again (with its ids/ records), then spool_checkpoint.
 * For the runner, under its lock, before anything runs. How many were
 * restored goes to *restored. */
int	spool_recover(struct spool *, unsigned *, struct err *);
/* Start a new journal generation when the current one holds at least
 * `min` bytes (0: any) or the journal limit, then retire the older
 * ones: each entry one names, wherever it is now, is flushed, then the
 * generation goes; for
 * at most 200 ms a call (a long backlog's generations go over several
 * calls, delivery going on between them). */
int	spool_checkpoint(struct spool *, size_t, struct err *);
/* Move an entry between state folders; 0, or -1 (ENOENT: gone). */
int	spool_move(struct spool *, enum spool_dir, enum spool_dir, const char *,
	    struct err *);
/* Remove an entry and its history. */
int	spool_remove(struct spool *, enum spool_dir, const char *, struct err *);
/* The state folder holding an entry (looked at twice, as entries move
 * on), or SP_NDIRS when none does. */
enum spool_dir spool_find(struct spool *, const char *);
/* Call fn for each entry name of a state folder, unsorted and without
 * copying them (for counts over a large backlog); fn returns non-zero
 * to stop. */
int	spool_each(struct spool *, enum spool_dir,
	    int (*)(void *, const char *), void *, struct err *);
/* Sorted entry names of a state folder (oldest first); free with
 * strlist_free. */
int	spool_list(struct spool *, enum spool_dir, struct strlist *,
	    struct err *);
/* Open an entry and parse its envelope: the descriptor, positioned at
 * the body, or -1 (anything but a regular file, an entry whose first
 * line is no envelope). */
/* Is the entry whole: an envelope, then a body of its length and
 * checksum? 1, or 0 (torn by a crash: never acknowledged, never to be
 * run, never a duplicate's original). */
int	spool_entry_intact(struct spool *, const char *);
int	spool_open_entry(struct spool *, enum spool_dir, const char *,
	    struct envelope *, struct err *);
/* Path of an entry, for messages and HOOKPIPE_SPOOL_FILE. */
int	spool_entry_path(struct spool *, enum spool_dir, const char *, char *,
	    size_t);

/* retry/: an entry's due time is its mtime (an operator can `touch` it
 * to make it due now). Set it after the move into retry/. */
int	spool_retry_set(struct spool *, const char *, int64_t, struct err *);
/* The due time (µs) of an entry of retry/, 0 when unknown. One further
 * ahead of `now` (µs) than `bound` seconds was set while the clock ran
 * ahead: now. */
int64_t	spool_retry_due(struct spool *, const char *, long, int64_t);
/* tmp/ files older than `stale` seconds (a responder killed mid-write)
 * go; one written while the clock ran ahead ages from now. */
void	spool_clean_tmp(struct spool *, long);
/* done/ entries (by receive time) and ids/ records older than `keep`
 * seconds go, with their histories, at most once in `every` seconds
 * (SPOOL/prune.stamp). Returns how many entries went. */
unsigned spool_prune(struct spool *, long, long);
/* Remove the entries of a folder received before `before` (µs since
 * the epoch; 0: all) with their histories; returns how many. */
int	spool_purge(struct spool *, enum spool_dir, int64_t, unsigned *,
	    struct err *);

/* The runner lock (run.lock): one runner per spool. 1 taken (our pid is
 * noted in it), 0 another runner holds it, -1 error. Held with no pid
 * noted (being handed to a runner starting), it is waited for, up to
 * 1 s. */
int	spool_lock(struct spool *, struct err *);
int	spool_unlock(struct spool *, struct err *);
/* The holder says it is lingering with nothing running ("PID idle"), or
 * at work again ("PID"): `hookpipe status` and the tests read it. */
void	spool_lock_idle(struct spool *, int);
/* 1 when no runner holds the lock (taken and let go at once: a runner
 * starting in that instant finds it busy, so the caller starts one).
 * Not for the holder: the trial would let its own lock go. */
int	spool_lock_free(struct spool *);
/* A runner started on demand gets its lock from the one who started it,
 * so that two starters cannot both see the lock free: spool_lock_handoff
 * opens run.lock anew and locks it (the descriptor, or -1 when another
 * holds it or on error); the starter passes it to the runner as a
 * descriptor named by SPOOL_LOCK_FD in the environment and closes its
 * own; the runner's spool_lock_adopt makes it the spool's lock, so its
 * spool_lock keeps what it has (-1 when the variable names something
 * else: then the lock is asked for as usual). */
#define SPOOL_LOCK_FD	"HOOKPIPE_LOCK_FD"
int	spool_lock_handoff(struct spool *);
int	spool_lock_adopt(struct spool *, struct err *);
/* The pid of the runner at work, 0 when none (nothing is taken). */
pid_t	spool_runner(struct spool *);

/* Dedupe: the ids/ index, one record per [ENDPOINT+]ID key. */
/* The key for an id of an endpoint (NULL: the default). */
int	spool_id_key(const char *, const char *, char[SPOOL_KEY_MAX]);
/* Reserve a key: 1 = ours (fd holds the locked record), 0 = a stored
 * event already has it, -1 = error. A record naming an entry that is
 * not stored (a crash before the commit) is ours. */
int	spool_id_reserve(struct spool *, const char *, int *, struct err *);
/* Name the entry in the record, keeping the lock (before the commit, so
 * a crash right after the commit still leaves a duplicate detectable). */
int	spool_id_note(int, const char *, struct err *);
/* Done with a reserved key: kept (the entry is stored) or given back
 * (storing failed, the sender's retry must not be a duplicate); the
 * lock goes either way. */
void	spool_id_done(int, int);
/* The entry a key's record names: 1 found, 0 none, -1 error. */
int	spool_id_lookup(struct spool *, const char *, char[SPOOL_NAME_MAX],
	    struct err *);

/* History (hist/NAME): one JSON record a line, {"time":..,"type":..,..}.
 * Types: attempt, run, handler, state, replay. */
/* Append a record of a type with its further fields (",\"k\":v..."). */
int	spool_hist_add(struct spool *, const char *, const char *,
	    const char *, struct err *);
/* Open the history for appending, for a process about to start a
 * handler (spool_hist_run writes into it). */
int	spool_hist_open(struct spool *, const char *, struct err *);
/* The "run" record of a handler that is starting: its process group and
 * kernel start time. No allocation, no lock: for the child between
 * clone and exec. Returns the length (at most SPOOL_RUN_MAX). */
#define SPOOL_RUN_MAX	160
size_t	spool_hist_run(char *, const char *, unsigned long,
	    unsigned long long);

/* An event's history as the runner and the CLI read it. */
struct hist_run {
	pid_t			pgid;
	unsigned long long	start;
};
struct history {
	int		 attempts;	/* since the last replay */
	int		 replays;
	struct strlist	 ok;		/* handlers that exited 0, since */
	struct hist_run	*runs;		/* handler starts of the last attempt */
	size_t		 nruns;
	json_object	*records;	/* every record (an array), for
					   `hookpipe show` */
};
/* When hist/NAME was last appended to (µs since the epoch; 0: no
 * history): no record in it is newer. */
int64_t	spool_hist_mtime(struct spool *, const char *);
/* Read hist/NAME (none: an empty history). */
int	spool_hist_load(struct spool *, const char *, struct history *,
	    struct err *);
void	spool_hist_free(struct history *);

#endif
