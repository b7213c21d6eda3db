/* handler: find the programs for an event and run one with the payload
 * on stdin, a clean environment, its own process group and a deadline. */
#ifndef HOOKPIPE_HANDLER_H
#define HOOKPIPE_HANDLER_H

#include <sys/types.h>

#include <limits.h>
#include <poll.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "spool.h"
#include "util.h"

#define HANDLER_TAIL	512		/* bytes of stderr kept */
#define HANDLER_OUT_MAX	(64 * 1024)	/* stdout kept for sync answers */

/* Exit codes with a meaning (qmail's convention, sysexits' TEMPFAIL). */
#define HANDLER_EXIT_OK		0
#define HANDLER_EXIT_TEMPFAIL	75
#define HANDLER_EXIT_PERMFAIL	100

/* What a handler is told about the event, as HOOKPIPE_* variables. */
struct handler_meta {
	const char	*endpoint;	/* NULL: the default */
	const char	*event;
	const char	*id;
	const char	*request_id;
	const char	*received_at;
	const char	*remote_addr;
	const char	*spool_file;
	const char	*mode;
	const char	*content_type;	/* as the sender wrote it; NULL: none */
	const char	*traceparent;	/* W3C trace context; NULL: none */
	int		 attempt;
};

struct handler_result {
	int		exited;		/* 1: exit code valid */
	int		code;
	int		signo;		/* killing signal, when not exited */
	int		timed_out;
	int64_t		ms;
	struct buf	out;		/* stdout, up to HANDLER_OUT_MAX */
	char		tail[HANDLER_TAIL + 1];	/* end of stderr */
	size_t		taillen;
};

/* One running handler, for callers that supervise several at once. */
struct handler_job {
	pid_t			pid;
	int			pidfd;		/* -1: poll for the exit */
	int			outfd;
	int			errfd;
	int64_t			start;
	int64_t			deadline;	/* monotonic ms: TERM, then KILL */
	long			grace;
	int			termed;
	int			done;
	struct handler_result	res;
};

/* How a handler runs: its folder, deadline and resource limits. */
struct handler_limits {
	const char	*cwd;
	long		 timeout;	/* seconds, then SIGTERM to the group */
	long		 grace;		/* seconds, then SIGKILL */
	size_t		 as;		/* RLIMIT_AS bytes; 0 = inherit */
	long		 cpu;		/* RLIMIT_CPU seconds; 0 = inherit */
	long		 nofile;	/* RLIMIT_NOFILE; 0 = inherit */
};

/* The programs for an event of an endpoint, by resolved path: the
 * [event] handler (absolute, or under handlers_dir), handlers_dir/EVENT,
 * or the executables of handlers_dir/EVENT.d in lexical order. An empty
 * list means the event is unknown. A program that resolves outside
 * handlers_dir (a symlink leading out), that group or others may
 * write, or that belongs to another user than this one or root, and a
 * handlers_dir or EVENT.d that group or others may write, are refused:
 * -1 with the reason, nothing runs. */
int	handler_resolve(const struct conf *, const struct endpoint *,
	    const char *, struct strlist *, struct err *);
/* Is this program one hookpipe may run for the endpoint (anywhere: it
 * was named by absolute path in the INI, so it need not be inside
 * handlers_dir)? 0 with its resolved path in real, or -1 with the
 * reason. */
int	handler_safe(const struct endpoint *, const char *, int,
	    char[PATH_MAX], struct err *);
/* The limits of [delivery] and the event, in the endpoint's folder. */
void	handler_limits(const struct conf *, const struct endpoint *,
	    const struct event_conf *, struct handler_limits *);
/* The environment for a handler: allow-list, [env], HOOKPIPE_*; with no
 * meta (NULL), the allow-list and [env] only (an alert program). */
char	**handler_env(const struct conf *, const struct handler_meta *);
void	handler_env_free(char **);
/* Run one program (a resolved path, from handler_resolve): it is opened
 * once and run from that descriptor after its owner, mode and path are
 * checked on it. stdin is fd at offset, timeout then SIGTERM to the
 * group, grace, SIGKILL. Returns -1 only when it could not be run. */
int	handler_run(const char *, int, off_t, char *const *,
	    const struct handler_limits *, struct handler_result *,
	    struct err *);
void	handler_result_free(struct handler_result *);
/* Start a handler without waiting for it. */
/* When note is a descriptor (spool_hist_open), the child appends the
 * "run" record (spool_hist_run) with its pgid and start time to it
 * before it execs. */
int	handler_start(struct handler_job *, const char *, int, off_t,
	    char *const *, const struct handler_limits *, int, struct err *);
/* The descriptors to poll for this job (at most 3); returns how many. */
int	handler_pollfds(const struct handler_job *, struct pollfd *);
/* When (monotonic ms) the job wants to be stepped even without events. */
int64_t	handler_wake(const struct handler_job *);
/* Read output, enforce the deadline, reap; 1 when finished (res set). */
int	handler_step(struct handler_job *);
/* The kernel start time of a process (clock ticks after boot), 0 if gone. */
unsigned long long handler_starttime(pid_t);
/* Kill what is left of a handler's process group from an earlier run
 * (a killed runner's): members of group pgid started from `start` to
 * `span` seconds later; wait for them to go. 1 when one was killed. */
int	handler_reap_group(pid_t, unsigned long long, long);
/* SIGKILL the job's process group (shutdown). */
void	handler_kill(struct handler_job *);
/* "exit 0", "exit 3", "signal 9", "timeout" for logs. */
void	handler_result_str(const struct handler_result *, char *, size_t);

#endif
