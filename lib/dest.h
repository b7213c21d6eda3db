/* dest: destinations, where an event is forwarded beside (or instead of)
 * its handler programs: `forward = URL` in [event NAME]. The delivery
 * engine (deliver.c) drives a destination exactly like a handler: start
 * it, poll its descriptors, step it, and read a handler_result whose
 * exit code says what happened (0 done, 75 retry, 100 dead, other:
 * retry), so retries, backoff, dead-letter, replay, history and the
 * delivery log are the handlers' own. Each scheme is one row: how its
 * URL is checked (here, without libcurl) and its ops (lib/dest_*.c),
 * registered by the programs that forward (dest_net_init). */
#ifndef HOOKPIPE_DEST_H
#define HOOKPIPE_DEST_H

#include <poll.h>
#include <stdint.h>

#include "conf.h"
#include "handler.h"
#include "spool.h"
#include "util.h"

#define DEST_POLLFDS	3	/* descriptors a job asks to poll, at most */
/* forward = amqp:// without `exchange`: the exchange hookpipe-worker
 * declares without one (the default of [worker] exchange in conf.c). */
#define DEST_AMQP_EXCHANGE	"hookpipe"

/* A forward URL, parsed. */
struct dest_url {
	char	 scheme[16];		/* "https", "http", "sqs", ... */
	char	 host[256];		/* without brackets for IPv6 */
	int	 port;			/* 0: the scheme's */
	char	 path[1024];		/* from the first '/', query kept */
	int	 loopback;		/* host is 127.0.0.0/8, ::1, localhost */
	/* sqs://REGION/ACCOUNT/QUEUE */
	char	 region[32];
	char	 account[32];
	char	 queue[96];
	int	 fifo;			/* queue name ends in .fifo */
	/* amqp[s]://USER@HOST[:PORT][/VHOST] */
	char	 user[128];
	char	 vhost[256];		/* percent-decoded; "/" by default */
	int	 tls;			/* amqps */
};

/* What a destination is given: one event, its body and its options. */
struct dest_msg {
	const struct conf	*c;
	const struct event_conf	*ev;	/* forward and its options */
	const struct envelope	*env;
	const char		*name;	/* the spool entry's */
	int			 body;	/* the sealed body: pread from 0 */
	int			 attempt;
	long			 timeout;	/* seconds */
};

struct dest_ops;

/* One running forward, as handler_job is one running handler. */
struct dest_job {
	const struct dest_ops	*ops;
	void			*st;		/* the scheme's state */
	int64_t			 start;		/* mono ms */
	int			 done;
	struct handler_result	 res;		/* exit code as a handler's;
						   the reason in tail */
	int64_t			 due_us;	/* the destination named the
						   next attempt's time (Retry-
						   After): wall µs; 0: backoff */
};

/*
 * A scheme's delivery. start() begins sending (no blocking: connect and
 * TLS happen in step), pollfds() names the descriptors to wait on (at
 * most DEST_POLLFDS), wake() the monotonic ms by which step() must run
 * anyway (timers, the deadline), step() does what can be done without
 * blocking and returns 1 once finished with j->res (and j->due_us) set,
 * cancel() frees everything (also unfinished: shutdown). start() -1
 * means it could not start (the event is retried: OUT_NORUN).
 */
struct dest_ops {
	const char	*scheme;
	int		(*start)(struct dest_job *, const struct dest_url *,
			    const struct dest_msg *, struct err *);
	int		(*pollfds)(struct dest_job *, struct pollfd *);
	int64_t		(*wake)(const struct dest_job *);
	int		(*step)(struct dest_job *);
	void		(*cancel)(struct dest_job *);
};

/* Parse a forward URL: the scheme must have a row, the rest its syntax;
 * http:// only to a loopback host. 0, or -1 with what to write. */
int	dest_parse(const char *, struct dest_url *, struct err *);
/* 1 when the URL publishes to a queue or a broker (sqs://, amqp[s]://),
 * which takes no process and no receiver's capacity. */
int	dest_publishes(const char *);
/* hookpipe check: the event's forward and its files (secret_file,
 * credentials_file, ca_file readable, the secrets private), and whether
 * this build can forward to the scheme at all. 0, or -1 with why. */
int	dest_check(const struct event_conf *, struct err *);
/* conf_load's rules: the options the scheme needs, none it does not
 * take, none without forward. 0, or -1 with the key at fault in *key. */
int	dest_options(const struct event_conf *, const char **, struct err *);
/* The URL for display: without a user or password ("userinfo@"). */
const char *dest_public(const char *, char *, size_t);
/* amqp[s]://: connect, log in, open a channel, close again, declaring
 * nothing (hookpipe check --connect); the password is secret_file's
 * first line (NULL: guest). 0, or -1 with the reason. */
int	dest_amqp_probe(const struct dest_url *, const char *, const char *,
	    int, struct err *);
/* Make a scheme's ops available (dest_net_init does it for libcurl's). */
void	dest_register(const struct dest_ops *);
/* Register the schemes this build can send to: once, before any start. */
void	dest_net_init(void);
/* Register amqp:// and amqps:// (lib/dest_amqp.c; dest_net_init does). */
void	dest_amqp_init(void);

/* Start forwarding msg to url: 0 started, -1 with the reason. */
int	dest_start(struct dest_job *, const char *, const struct dest_msg *,
	    struct err *);
int	dest_pollfds(struct dest_job *, struct pollfd *);
int64_t	dest_wake(const struct dest_job *);
/* 1 once finished (j->res set). */
int	dest_step(struct dest_job *);
/* Stop and free (a finished job too). */
void	dest_cancel(struct dest_job *);
/* Finish a job: fill res as a handler with exit code `code` and the
 * reason, for the ops. Returns 1 (step's "finished"). */
int	dest_done(struct dest_job *, int, int, const char *, ...)
	    __attribute__((format(printf, 4, 5)));

/* An event's body, whole, from its descriptor (pread from 0) into b;
 * refused past max bytes ("the body is too large to VERB"). */
int	dest_read_body(int, struct buf *, size_t, const char *, struct err *);

#endif
