/* receive: the request decision, from CGI parameters and body to the
 * HTTP answer, with the event stored before any 200. */
#ifndef HOOKPIPE_RECEIVE_H
#define HOOKPIPE_RECEIVE_H

#include <sys/stat.h>

#include <stddef.h>

#include "buf.h"
#include "conf.h"
#include "dlog.h"
#include "ratelimit.h"
#include "spool.h"

/* One request as the responder sees it. */
struct request {
	char *const	*params;	/* NAME=VALUE, NULL-terminated */
	/* Read up to n body bytes; returns bytes read, 0 at EOF, -1. */
	long		(*read)(void *, char *, size_t);
	void		*io;
};

struct answer {
	int		status;
	int		retry_after;	/* seconds; 0 = no header */
	int		allow_post;	/* send Allow: POST */
	int		kick;		/* start a runner after answering */
	int		head;		/* HEAD: the headers, no body */
	const char	*content_type;	/* of the body; NULL: JSON */
	char		request_id[17];
	char		reason[512];	/* of an error answer */
	struct buf	body;		/* JSON */
	struct buf	headers;	/* more header lines, each with its
					   CRLF (the status page's) */
};

/* Per-process state: the loaded configuration, the open spool and log,
 * a reusable body buffer. */
struct receiver {
	struct conf	*conf;
	char		*conf_path;
	struct stat	 failed;	/* the config file as last refused */
	int64_t		 failed_ms;	/* when (monotonic) */
	char		 conf_error[2048];
	char		 metrics_error[1024];	/* SPOOL/metrics unusable */
	struct spool	*spool;
	struct dlog	 log;
	struct ratelimit rate;		/* open when an endpoint limits */
	char		*body;
	size_t		 bodycap;
	char		*runner;	/* hookpipe-run to start */
	struct buf	 line;
};

void	receiver_init(struct receiver *);
void	receiver_free(struct receiver *);
/* Load the configuration (again, when it changed since); 0 when usable,
 * else -1 with the reason in conf_error. */
int	receiver_load(struct receiver *, const char *);
/* Decide one request. Always fills the answer; never exits. */
void	receiver_handle(struct receiver *, const struct request *,
	    struct answer *);
/* After the answer went out: start hookpipe-run unless one is running;
 * its stderr is the responder's when keep_stderr is set, else /dev/null.
 * -1 (and why) when it could not be started. */
int	receiver_kick(struct receiver *, int, struct err *);
void	answer_free(struct answer *);

#endif
