/* metrics: the counters every responder and runner of a spool shares in
 * SPOOL/metrics (a small mapped file of fixed layout, hookpipe-spool(5)),
 * the runner's last-run stamp, and the Prometheus text that
 * /hooks/_metrics and `hookpipe metrics` print. One file per process:
 * the hooks in receive.c, deliver.c and runner.c call the functions
 * below with no handle, and they do nothing while none is attached. */
#ifndef HOOKPIPE_METRICS_H
#define HOOKPIPE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "spool.h"
#include "util.h"

#define METRICS_ENDPOINTS	64	/* endpoint slots; names past them
					   count under endpoint="_other" */
#define METRICS_TRACEPARENT_MAX	55	/* 00-32hex-16hex-2hex */

/* Why a request was refused: the reason label of
 * hookpipe_refusals_total. */
enum metrics_refusal {
	MR_AUTH,		/* token, signature, replayed token: 401 */
	MR_HTTPS,		/* plain HTTP where HTTPS is required */
	MR_ADDRESS,		/* allow_from */
	MR_RATE,		/* rate_limit: 429 */
	MR_SIZE,		/* no length, body over max_body, headers */
	MR_TYPE,		/* Content-Type */
	MR_JSON,		/* body is not JSON (or the form) */
	MR_FIELD,		/* event name, required field, id */
	MR_UNKNOWN_EVENT,	/* unknown_events = reject */
	MR_METHOD,		/* not POST */
	MR_REQUEST,		/* any other bad request: no endpoint,
				   ambiguous headers, Content-Length */
	MR_UNAVAILABLE,		/* 503: spool or configuration */
	MR_NONE			/* not a refusal */
};

/* Attach the process to SPOOL/metrics (created when `create`, sized,
 * mapped). Another spool's file is let go first; the same one is kept.
 * -1 with the reason (the hooks then count nothing). */
int	metrics_attach(const char *, int, struct err *);
/* Let the file go (the hooks count nothing). */
void	metrics_detach(void);
/* 1 while a file is attached. */
int	metrics_attached(void);

/* The hooks, one line each where the counts happen. */
/* A request answered: its endpoint (NULL: the default, "" none matched),
 * status, refusal class, accepted bytes, duplicate, time taken (µs). */
void	metrics_request(const char *, int, enum metrics_refusal, size_t, int,
	    int64_t);
/* A handler finished with this deliver.h outcome after ms. */
void	metrics_handler(int, int64_t);
/* An event reached done/ (its acceptance time, µs since the epoch) or
 * dead/. */
void	metrics_done(int64_t);
void	metrics_dead(void);
/* An event settled into a state folder: done/ or dead/ count. */
void	metrics_settled(enum spool_dir, int64_t);
/* Attach to the configuration's spool when [metrics] or [health] is
 * there (creating the file), else let any file go. */
int	metrics_conf_attach(const struct conf *, struct err *);
/* Events replayed. */
void	metrics_replay(unsigned);
/* The runner is at work now (its last-run stamp). */
void	metrics_runner_stamp(void);
/* When a runner was last at work (µs since the epoch), 0: never, -1: no
 * file attached. */
int64_t	metrics_runner_last(void);

/* The requests each endpoint refused (answered 4xx) so far, for the
 * refusals alert: fn(arg, name, count) per endpoint slot ("_other":
 * those past the table; a name may come twice, to be summed). -1 when
 * no file is attached. */
int	metrics_refused_each(void (*)(void *, const char *, uint64_t), void *);

/* The Prometheus text: the counters (when attached), then the gauges
 * read from the spool now. */
void	metrics_render(struct buf *, const struct conf *, struct spool *);

/* The health checks of /hooks/_health, as its JSON body: 0 when all
 * pass, -1 when one fails (each failing check says why). Cheap: two
 * access(2), a statvfs(2), the runner's stamp. */
int	metrics_health(struct buf *, const struct conf *, struct spool *);

/* Is this a W3C traceparent (version 00, non-zero ids, lowercase hex)? */
int	metrics_traceparent_ok(const char *);

#endif
