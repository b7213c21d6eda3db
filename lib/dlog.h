/* dlog: the delivery log, one JSON object per line, appended. */
#ifndef HOOKPIPE_DLOG_H
#define HOOKPIPE_DLOG_H

#include <sys/stat.h>

#include "buf.h"
#include "handler.h"
#include "util.h"

struct dlog {
	int	 fd;
	char	*path;
};

/* 1 when the log may be kept in a file like this one: a regular file,
 * or /dev/null for none; a FIFO or another device is refused. */
int	dlog_target_ok(const struct stat *);
/* Open (create, append) the log; -1 with the reason in err. */
int	dlog_open(struct dlog *, const char *, struct err *);
void	dlog_close(struct dlog *);
/* Start a line: {"time":"...","type":"<type>" */
void	dlog_begin(struct buf *, const char *);
/* Finish the line and append it in one write; falls back to stderr when
 * the log is not open or the write fails. */
void	dlog_end(struct dlog *, struct buf *);
/* The fields of one handler run: the event (meta), its spool entry name
 * when known, the program and its result. */
void	dlog_handler_fields(struct buf *, const struct handler_meta *,
	    const char *, const char *, const struct handler_result *);
/* The fields of an event's state change (attempt 0: not shown). */
void	dlog_event_fields(struct buf *, const char *, const char *,
	    const char *, const char *, const char *, int);

/* How many handler runs failed (a result other than "exit 0") since a
 * time (µs), read from the end of the log at path (its last 4 MiB). */
int	dlog_failures(const char *, int64_t);

#endif
