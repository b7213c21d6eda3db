/* conf: the INI configuration, from one table of keys: its parsing,
 * its validation and where each key stands in the file, so every error
 * names file, line and the fix. */
#ifndef HOOKPIPE_CONF_H
#define HOOKPIPE_CONF_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "cidr.h"
#include "util.h"
#include "verify.h"

/* The other defaults are in the key table (lib/conf.c). */
#define CONF_DEFAULT_MAX_BODY	(1024 * 1024)	/* the table's "1M" */
#define CONF_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define CONF_SYNC_TIMEOUT_MAX	900	/* below the runner's stale tmp/ age */
#define CONF_ENDPOINT_MAX	48	/* name length; with an id, a file name */

enum ev_mode { MODE_QUEUE, MODE_SYNC };

struct event_conf {
	char		*name;		/* as written, case kept */
	char		*handler;	/* absolute path, or NULL: by name */
	struct strlist	 required;
	int		 has_required;
	enum ev_mode	 mode;
	long		 timeout;	/* seconds; 0 = [delivery] timeout */
	int		 sync_output;	/* return the handler's stdout */
	int		 serialize;	/* one at a time, in arrival order */
	int		 retries;	/* -1 = [delivery] retries */
	long		*backoff;	/* NULL = [delivery] backoff */
	size_t		 nbackoff;
	/* forward = URL (lib/dest.c) and its options */
	char		*forward;	/* NULL: none */
	char		*secret_file;	/* https: whsec_ signing secret */
	char		*credentials_file;	/* sqs: access key, secret */
	char		*ca_file;	/* TLS: trust this CA file only */
	int		 tls_verify;	/* 0 only for tests */
	char		*endpoint_url;	/* sqs: instead of AWS's host */
	char		*exchange;	/* amqp: NULL: the default exchange */
	char		*routing_key;	/* amqp: NULL: the event's name */
};

struct envvar {
	char	*name;
	char	*value;
};

/* Where requests arrive: the default endpoint ([hookpipe] + [auth],
 * PATH_INFO empty or "/") or an [endpoint NAME] section (PATH_INFO
 * "/NAME"). Each has its own verification, fields, limits, handlers. */
struct endpoint {
	char		*name;		/* NULL for the default endpoint */
	int		 enabled;	/* the default is off when [auth] is
					   absent and endpoints exist */
	char		*handlers_dir;
	size_t		 max_body;
	int		 max_depth;	/* JSON nesting, containers */
	int		 max_headers;	/* HTTP_* parameters considered */
	int		 require_https;
	char		*event_field;	/* dotted JSON path, or header:NAME */
	char		*id_field;
	char		 event_param[160];	/* CGI name when from a header */
	char		 id_param[160];
	struct strlist	 required;
	int		 unknown_reject;

	char		*auth_header;
	char		 auth_param[160];	/* HTTP_X_AUTH_TOKEN */
	char		*token_file;		/* the token or secret file, or
						   NULL: inline or env: */
	char		*verify_token_file;	/* Meta's subscription tokens */
	struct timespec	 token_mtime;
	struct tokens	 tokens;
	struct verify	 verify;		/* scheme; secrets if not token */
	struct cidr_list allow_from;
	struct cidr_list trusted_proxies;	/* whose X-Forwarded-For counts */
	int		 insecure_permissions;
	double		 rate;			/* requests/s per source; 0 off */
	double		 burst;			/* bucket size */
};

enum durability {
	DURABLE_FULL,		/* fsync'd file and folder before any 200 */
	DURABLE_PROCESS		/* written, not fsync'd: survives a crash of
				   any process, not a power loss */
};

/* [health]: /hooks/_health, on when the section is there. */
struct health_conf {
	int		 on;
	struct cidr_list allow_from;
	size_t		 min_free;		/* bytes free on the spool */
	long		 min_inodes;		/* inodes free on the spool */
	long		 runner_max_age;	/* seconds; 0: not checked */
};

/* [metrics]: /hooks/_metrics and the counters file, on when the section
 * is there. */
struct metrics_conf {
	int		 on;
	struct cidr_list allow_from;
	char		*token_file;		/* bearer tokens; NULL: none */
};

/* [alert]: a program run when a condition (dead events, backlog, no
 * runner, refusals) starts and when it clears (lib/alert.c); on when
 * the section is there. The runner condition's limit is [health]
 * runner_max_age. */
struct alert_conf {
	int		 on;
	char		*program;		/* absolute; required */
	long		 timeout;		/* seconds, then SIGTERM */
	long		 repeat;		/* seconds between reminders; 0 */
	long		 interval;		/* least seconds between the
						   runner's evaluations */
	long		 dead_window;		/* seconds dead events gather */
	long		 backlog_age;		/* seconds; 0: off */
	long		 refusals_per_minute;	/* per endpoint; 0: off */
};

/* [worker]: hookpipe-worker's side of the broker, on when the section is
 * there. The broker URL is kept as written and in parts. */
enum worker_exchange { WX_TOPIC, WX_SHARD };

struct worker_conf {
	int		 on;
	char		*broker;		/* amqp://USER@HOST:PORT/VHOST */
	char		 user[128];
	char		 host[256];		/* without brackets for IPv6 */
	int		 port;
	char		 vhost[256];		/* percent-decoded */
	char		*secret_file;		/* the password; NULL: guest */
	char		*exchange;
	enum worker_exchange exchange_type;
	char		*queue;
	char		*bindings;		/* as written */
	struct strlist	 binding;		/* split */
	uint64_t	 shards;		/* shard: bit N, shard N owned */
	int		 prefetch;		/* 0: [delivery] concurrency */
};

struct conf {
	char		*path;
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
	off_t		 size;

	char		*spool_dir;
	char		*log_file;
	enum durability	 durability;
	size_t		 journal_max;		/* spool_journal_limit */
	struct endpoint	*ep;			/* ep[0] is the default */
	size_t		 nep;

	long		 timeout;
	long		 kill_grace;
	char		*runner;
	long		 linger;		/* seconds a started runner
						   waits idle (-l) */
	char		*handler_path;		/* PATH given to handlers */
	int		 retries;		/* after the first attempt */
	long		*backoff;		/* seconds before retry n */
	size_t		 nbackoff;
	int		 concurrency;		/* handler runs at once */
	long		 keep;			/* seconds done/ and ids/ stay */
	size_t		 rlimit_as;		/* bytes; 0 = inherit */
	long		 rlimit_cpu;		/* seconds; 0 = inherit */
	long		 rlimit_nofile;		/* 0 = inherit */

	struct envvar	*env;
	size_t		 nenv;
	struct event_conf *events;
	size_t		 nevents;
	/* [status]: the status page under MOUNT/_status, off without the
	 * section. */
	int		 status_on;
	char		*status_password_file;	/* one crypt(3) hash */
	long		 status_max_age;	/* seconds a login lasts */
	int		 status_login_attempts;	/* per 15 minutes and address */
	struct cidr_list status_allow_from;	/* empty: any address */

	struct health_conf  health;
	struct metrics_conf metrics;
	struct alert_conf   alert;
	struct worker_conf  worker;
};

/* Diagnostics of a load: one line per problem, "FILE:LINE: message". */
struct diag {
	struct buf	text;
	int		nerr;
	int		nwarn;
};

/* One row of the key table, as hookpipe.ini(5) documents it. */
struct conf_keydoc {
	const char	*section;	/* "hookpipe", "auth", "delivery",
					   "status" or
					   "event NAME"; [endpoint NAME] takes
					   those of [auth] and of [hookpipe]
					   but spool_dir, log_file and
					   durability */
	const char	*key;
	const char	*type;		/* a value type of hookpipe.ini(5), or
					   "choice" */
	const char *const *values;	/* a choice's values, else NULL */
	const char	*def;		/* the default as an INI would write
					   it; NULL: none, or the doc says */
	const char	*doc;		/* one line */
};

/* Load and validate the file. Returns NULL when it has any error; every
 * problem found (errors and warnings) is in the diag. */
struct conf	*conf_load(const char *, struct diag *);
/* conf_load for a program: on failure the problems and what to do are
 * said on standard error (say) and NULL is returned. */
struct conf	*conf_load_say(const char *);
void		 conf_free(struct conf *);
/* 1 when the file or the token file changed since the load. */
int		 conf_stale(const struct conf *);
/* The endpoint for a PATH_INFO ("", "/" or NULL: the default;
 * "/NAME" or "/NAME/"); NULL when there is none or it is off. */
const struct endpoint *conf_endpoint_path(const struct conf *, const char *);
/* The endpoint by name (NULL or "": the default), or NULL. */
const struct endpoint *conf_endpoint(const struct conf *, const char *);
/* The [event NAME] section for a name, or NULL. */
const struct event_conf *conf_event(const struct conf *, const char *);
/* Retries allowed after the first attempt. */
int		 conf_retries(const struct conf *, const struct event_conf *);
/* Seconds to wait after failed attempt n (1-based), before jitter. */
long		 conf_backoff(const struct conf *, const struct event_conf *, int);
/* Timeout in seconds for an event (its own or the default). */
long		 conf_timeout(const struct conf *, const struct event_conf *);
/* Where the config is: -c value, else $HOOKPIPE_CONFIG, else the
 * built-in default. */
const char	*conf_locate(const char *);
void		 diag_free(struct diag *);
/* Row n of the key table into the doc; -1 past the last row. */
int		 conf_key_doc(size_t, struct conf_keydoc *);

/* How far ahead (seconds) a retry/ entry's due time may be: the longest
 * backoff of the configuration with its jitter, at least a day; one
 * further ahead was set while the clock ran ahead, and is due now. */
long	conf_due_bound(const struct conf *);

#endif
