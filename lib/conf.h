/* conf: the INI configuration, its validation and where each key stands
 * in the file, so every error names file, line and the fix. */
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

#define CONF_DEFAULT_MAX_BODY	(1024 * 1024)
#define CONF_DEFAULT_TIMEOUT	30
#define CONF_DEFAULT_GRACE	5
#define CONF_DEFAULT_RETRIES	8
#define CONF_DEFAULT_BACKOFF	{ 10, 60, 300, 1800, 7200, 21600, 43200, 86400 }
#define CONF_DEFAULT_CONCURRENCY 2
#define CONF_DEFAULT_KEEP	(7 * 86400)
#define CONF_SYNC_TIMEOUT_MAX	900	/* below the runner's stale tmp/ age */
#define CONF_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"

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
};

struct envvar {
	char	*name;
	char	*value;
};

struct conf {
	char		*path;
	dev_t		 dev;
	ino_t		 ino;
	struct timespec	 mtime;
	off_t		 size;

	char		*spool_dir;
	char		*handlers_dir;
	char		*log_file;
	size_t		 max_body;
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
						   NULL: inline in the INI */
	struct timespec	 token_mtime;
	struct tokens	 tokens;
	struct verify	 verify;		/* scheme; secrets if not token */
	struct cidr_list allow_from;
	struct cidr_list trusted_proxies;	/* whose X-Forwarded-For counts */
	int		 insecure_permissions;

	long		 timeout;
	long		 kill_grace;
	char		*runner;
	char		*handler_path;		/* PATH given to handlers */
	int		 retries;		/* after the first attempt */
	long		*backoff;		/* seconds before retry n */
	size_t		 nbackoff;
	int		 concurrency;		/* handler runs at once */
	long		 keep;			/* seconds done/ and ids/ stay */

	struct envvar	*env;
	size_t		 nenv;
	struct event_conf *events;
	size_t		 nevents;
};

/* Diagnostics of a load: one line per problem, "FILE:LINE: message". */
struct diag {
	struct buf	text;
	int		nerr;
	int		nwarn;
};

/* Load and validate the file. Returns NULL when it has any error; every
 * problem found (errors and warnings) is in the diag. */
struct conf	*conf_load(const char *, struct diag *);
void		 conf_free(struct conf *);
/* 1 when the file or the token file changed since the load. */
int		 conf_stale(const struct conf *);
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

#endif
