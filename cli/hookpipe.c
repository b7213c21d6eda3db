/* hookpipe: the operator's command. `check` validates the configuration
 * and everything a request would touch, so mistakes show at deploy time. */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "cli.h"
#include "conf.h"
#include "dest.h"
#include "handler.h"
#include "metrics.h"
#include "payload.h"
#include "spool.h"

static int	cmd_check(const char *, int, char **);

static const struct command {
	const char	*name;
	int		(*fn)(const char *, int, char **);
	const char	*usage;
} commands[] = {
	{ "check", cmd_check, "check [--suexec PROGRAM] [--connect] | check "
	    "--alerts\n"
	    "  validate the configuration, folders, token and handlers;\n"
	    "  prints \"configuration OK\" or every problem found;\n"
	    "  --connect: log in to each amqp:// destination and [worker] "
	    "broker;\n"
	    "  --alerts: evaluate the [alert] conditions now (for cron)" },
	{ "status", cmd_status, "status [--json]\n"
	    "  events per state, oldest pending, next retry, failures in "
	    "the last hour,\n  whether a runner is at work" },
	{ "ls", cmd_ls, "ls [new|cur|retry|done|dead ...] [--event E] "
	    "[--since T]\n  list events (all states by default); T is 2h, 3d "
	    "or 2026-11-28[T10:00:00Z]" },
	{ "show", cmd_show, "show [--raw] [--endpoint NAME] ENTRY|EVENT-ID\n"
	    "  envelope, attempts with exit codes and stderr, payload "
	    "(--raw: exact bytes);\n  --endpoint: the id of that endpoint "
	    "('' the default one)" },
	{ "replay", cmd_replay, "replay [--run] [--endpoint NAME] "
	    "ENTRY|EVENT-ID ... | --dead [--since T] | --event E [--since T]\n"
	    "  put events back in new/ as fresh deliveries (bypasses dedupe); "
	    "--run runs them now" },
	{ "metrics", cmd_metrics, "metrics [--textfile DIR]\n"
	    "  the counters and spool gauges in Prometheus text format; "
	    "--textfile: into\n  DIR/hookpipe.prom (write, rename) for "
	    "node_exporter" },
	{ "purge", cmd_purge, "purge --older-than AGE [--state done|dead|"
	    "retry]\n  delete old events (default state done)" },
	{ "send", cmd_send, "send URL [--event E] [--id ID] [--file F] "
	    "[--sign SCHEME] [--secret-file F]\n    [--header NAME] "
	    "[--endpoint NAME] [--insecure]\n"
	    "  post an event as a sender would, token or signed; exit 0 on "
	    "2xx, 1 otherwise" },
	{ "passwd", cmd_passwd, "passwd [--stdin] FILE\n"
	    "  write the status page's password hash (yescrypt) to FILE; the "
	    "password\n  is asked twice on the terminal, or read from stdin" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: hookpipe [-c FILE] command [args]\n"
	    "  -c FILE  configuration (default: $HOOKPIPE_CONFIG, then "
	    SYSCONFDIR "/hookpipe.ini)\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  hookpipe %s\n", commands[i].usage);
	fprintf(f, "Exit: 0 ok, 1 failure, 2 usage, 111 temporary failure "
	    "(replay --run: the spool\n      kept failing). See hookpipe(1).\n");
}

struct report {
	const char	*file;
	int		 nerr;
	int		 nwarn;
};

static void
problem(struct report *r, int warn, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct report *r, int warn, const char *fmt, ...)
{
	va_list	ap;
	char	msg[PATH_MAX * 2 + 512];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say(warn ? SAY_WARNING : SAY_ERROR, "%s: %s", r->file, msg);
	if (warn)
		r->nwarn++;
	else
		r->nerr++;
}

static void
spool_problem(void *arg, const char *msg)
{
	problem(arg, 0, "spool_dir: %s", msg);
}

/* A folder the responder writes into: it exists and is writable, or it
 * can be created. */
static void
check_writable_dir(struct report *r, const char *key, const char *dir,
    int quiet_missing)
{
	struct stat	 st;
	char		 parent[PATH_MAX], *slash;

	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			problem(r, 0, "%s %s is not a folder", key, dir);
		else if (access(dir, W_OK | X_OK) == -1)
			problem(r, 0, "%s %s is not writable by uid %ld: the "
			    "web server's user must own it", key, dir,
			    (long)geteuid());
		return;
	}
	if (errno != ENOENT) {
		problem(r, 0, "%s %s: %s", key, dir, strerror(errno));
		return;
	}
	(void)snprintf(parent, sizeof(parent), "%s", dir);
	if ((slash = strrchr(parent, '/')) != NULL && slash != parent)
		*slash = '\0';
	if (access(parent, W_OK | X_OK) == 0 && quiet_missing)
		return;
	if (access(parent, W_OK | X_OK) == -1)
		problem(r, 0, "%s %s does not exist and %s is not writable: "
		    "create it (mkdir -m 700 %s)", key, dir, parent, dir);
	else
		problem(r, 1, "%s %s does not exist yet; it will be created "
		    "on the first request", key, dir);
}

static void
check_handler_file(struct report *r, const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		problem(r, 0, "%s %s: %s", what, path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode))
		problem(r, 0, "%s %s is not a regular file", what, path);
	else if (access(path, X_OK) == -1)
		problem(r, 0, "%s %s is not executable: chmod 755 %s", what,
		    path, path);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		problem(r, 1, "%s %s is writable by group or others: chmod "
		    "go-w %s", what, path, path);
}

/* Every program in an endpoint's handlers_dir (EVENT and EVENT.d/ *)
 * passes the rules the runner applies before it runs one. */
static void
check_endpoint(struct report *r, const struct conf *c,
    const struct endpoint *ep, const char *label)
{
	struct strlist	 progs;
	struct dirent	*de;
	struct stat	 st;
	struct err	 e;
	DIR		*dir;
	char		 path[PATH_MAX];
	size_t		 i, j;

	if (stat(ep->handlers_dir, &st) == -1) {
		problem(r, 0, "%shandlers_dir %s: %s (mkdir -m 755 it)", label,
		    ep->handlers_dir, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		problem(r, 0, "%shandlers_dir %s is not a folder", label,
		    ep->handlers_dir);
		return;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		problem(r, 0, "%shandlers_dir %s is writable by group or "
		    "others: anyone there could add a handler (chmod go-w %s)",
		    label, ep->handlers_dir, ep->handlers_dir);
	if ((dir = opendir(ep->handlers_dir)) != NULL) {
		while ((de = readdir(dir)) != NULL) {
			if (de->d_name[0] == '.' || !event_name_ok(de->d_name))
				continue;
			if (handler_resolve(c, ep, de->d_name, &progs, &e) ==
			    -1)
				problem(r, 0, "%s%s", label, e.msg);
			else
				for (j = 0; j < progs.n; j++)
					check_handler_file(r, "handler",
					    progs.v[j]);
			strlist_free(&progs);
		}
		(void)closedir(dir);
	}
	for (i = 0; i < c->nevents; i++) {
		if (handler_resolve(c, ep, c->events[i].name, &progs, &e) == -1)
			problem(r, 0, "%s[event %s]: %s", label,
			    c->events[i].name, e.msg);
		else if (progs.n == 0 && c->events[i].forward == NULL) {
			(void)snprintf(path, sizeof(path), "%s/%s",
			    ep->handlers_dir, c->events[i].name);
			problem(r, ep->unknown_reject ? 0 : 1, "%s[event %s] "
			    "has no handler: add %s (executable) or set "
			    "handler =", label, c->events[i].name, path);
		} else if (c->events[i].handler != NULL)
			check_handler_file(r, "handler", progs.v[0]);
		strlist_free(&progs);
	}
	if (ep->verify.scheme == VERIFY_TOKEN && ep->require_https == 0)
		problem(r, 1, "%srequire_https = no: the token crosses the "
		    "network in clear unless a proxy in front terminates TLS",
		    label);
}

/* What Apache's suexec demands before it runs PROGRAM as its owner:
 * below /var/www or a public_html, owned by a user (not root) with the
 * folder, not writable by group or others, not set-id; and the files
 * hookpipe then touches belong to that same user. */
static void
check_suexec(struct report *r, const struct conf *c, const char *prog)
{
	struct stat	 st, dst;
	char		 real[PATH_MAX], dir[PATH_MAX], *slash;
	const char	*own[3];
	size_t		 i;

	if (realpath(prog, real) == NULL || stat(real, &st) == -1) {
		problem(r, 0, "suexec: %s: %s", prog, strerror(errno));
		return;
	}
	(void)snprintf(dir, sizeof(dir), "%s", real);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (strncmp(real, "/var/www/", 9) != 0 &&
	    strstr(real, "/public_html/") == NULL)
		problem(r, 0, "suexec: %s is neither below /var/www nor in a "
		    "public_html: suexec refuses it (\"command not in docroot\")",
		    real);
	if (st.st_uid == 0 || st.st_uid < 100)
		problem(r, 0, "suexec: %s belongs to uid %lu: suexec runs "
		    "only programs of ordinary users (uid 100 and up): chown "
		    "it to the site owner", real, (unsigned long)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		problem(r, 0, "suexec: %s is writable by group or others: "
		    "chmod go-w %s", real, real);
	if (st.st_mode & (S_ISUID | S_ISGID))
		problem(r, 0, "suexec: %s is set-id: chmod ug-s %s", real,
		    real);
	if (stat(dir, &dst) == -1 || dst.st_uid != st.st_uid ||
	    (dst.st_mode & (S_IWGRP | S_IWOTH)))
		problem(r, 0, "suexec: the folder %s must belong to uid %lu "
		    "and not be writable by group or others", dir,
		    (unsigned long)st.st_uid);
	if (st.st_uid != geteuid())
		problem(r, 1, "suexec: %s runs as uid %lu, but this check runs "
		    "as uid %lu: run it as the site owner to see what the "
		    "responder sees", real, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
	own[0] = c->spool_dir;
	own[1] = c->ep[0].handlers_dir;
	own[2] = c->log_file;
	for (i = 0; i < 3; i++)
		if (own[i] != NULL && stat(own[i], &dst) == 0 &&
		    dst.st_uid != st.st_uid)
			problem(r, 0, "suexec: %s belongs to uid %lu, not to "
			    "the site owner (uid %lu) the responder runs as: "
			    "chown -R it", own[i], (unsigned long)dst.st_uid,
			    (unsigned long)st.st_uid);
}

/* check --alerts: one evaluation of [alert], for cron where no runner
 * runs. 0 whatever the alert program did (the delivery log says). */
static int
check_alerts(const char *cfg)
{
	struct alert_stats	 as;
	struct dlog		 log = { -1, NULL };
	struct spool		*s;
	struct conf		*c;
	struct stat		 st;
	struct err		 e;
	int			 rc = EXIT_OK;

	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	if (!c->alert.on) {
		say(SAY_FATAL, "%s has no [alert] section: nothing to "
		    "evaluate (hookpipe.ini(5))", cfg);
		rc = EXIT_FAIL;
		goto out;
	}
	/* Files made here as another user (root) would lock the runner
	 * and the responder out of them. */
	if (stat(c->spool_dir, &st) == 0 && st.st_uid != geteuid()) {
		say(SAY_FATAL, "the spool %s belongs to uid %lu: run hookpipe "
		    "check --alerts as that user, not as uid %lu", c->spool_dir,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
		rc = EXIT_FAIL;
		goto out;
	}
	if (metrics_conf_attach(c, &e) == -1)
		say(SAY_WARNING, "%s: the runner and refusals alerts are not "
		    "evaluated", e.msg);
	if (dlog_open(&log, c->log_file, &e) == -1)
		say(SAY_WARNING, "%s", e.msg);
	if (alert_evaluate(c, s, &log, ALERT_FORCE, &as, &e) == -1) {
		say(SAY_FATAL, "%s", e.msg);
		rc = err_temporary(&e) ? EXIT_TEMP : EXIT_FAIL;
	} else if (as.failed > 0)
		say(SAY_WARNING, "the alert program %s failed %u time%s (the "
		    "delivery log %s says how); it runs again at the next "
		    "evaluation", c->alert.program, as.failed, as.failed == 1 ?
		    "" : "s", c->log_file);
	dlog_close(&log);
	metrics_detach();
out:
	spool_close(s);
	conf_free(c);
	return rc;
}

/* check --connect: each amqp[s]:// destination (once per URL and
 * password file) and the [worker] broker: connect, log in, open a
 * channel, close; OK or the reason, each on its line. */
static void
check_connect(struct report *r, const struct conf *c)
{
	const struct event_conf	*ev;
	struct dest_url		 u;
	struct err		 e;
	char			 url[1024];
	size_t			 i, j;
	int			 seen;

	for (i = 0; i < c->nevents; i++) {
		ev = &c->events[i];
		if (ev->forward == NULL ||
		    dest_parse(ev->forward, &u, &e) == -1 ||
		    (strcmp(u.scheme, "amqp") != 0 &&
		    strcmp(u.scheme, "amqps") != 0))
			continue;
		for (j = 0, seen = 0; j < i && !seen; j++)
			seen = c->events[j].forward != NULL &&
			    strcmp(c->events[j].forward, ev->forward) == 0 &&
			    (c->events[j].secret_file == NULL ?
			    ev->secret_file == NULL :
			    ev->secret_file != NULL &&
			    strcmp(c->events[j].secret_file,
			    ev->secret_file) == 0);
		if (seen)
			continue;
		(void)dest_public(ev->forward, url, sizeof(url));
#ifdef HAVE_RABBITMQ
		if (dest_amqp_probe(&u, ev->secret_file, ev->ca_file,
		    ev->tls_verify, &e) == -1)
			problem(r, 0, "[event %s] %s: %s", ev->name, url,
			    e.msg);
		else
			printf("%s: OK\n", url);
#else
		problem(r, 0, "[event %s] %s: cannot connect: this hookpipe "
		    "was built without librabbitmq", ev->name, url);
#endif
	}
	if (!c->worker.on)
		return;
	(void)dest_public(c->worker.broker, url, sizeof(url));
#ifdef HAVE_RABBITMQ
	memset(&u, 0, sizeof(u));
	(void)snprintf(u.scheme, sizeof(u.scheme), "amqp");
	(void)snprintf(u.host, sizeof(u.host), "%s", c->worker.host);
	(void)snprintf(u.user, sizeof(u.user), "%s", c->worker.user);
	(void)snprintf(u.vhost, sizeof(u.vhost), "%s", c->worker.vhost);
	u.port = c->worker.port;
	if (dest_amqp_probe(&u, c->worker.secret_file, NULL, 1, &e) == -1)
		problem(r, 0, "[worker] broker %s: %s", url, e.msg);
	else
		printf("[worker] broker %s: OK\n", url);
#else
	problem(r, 0, "[worker] broker %s: cannot connect: this hookpipe was "
	    "built without librabbitmq", url);
#endif
}

static int
cmd_check(const char *cfg, int argc, char **argv)
{
	struct report	 r = { cfg, 0, 0 };
	struct diag	 d = { { 0 }, 0, 0 };
	struct stat	 st;
	struct conf	*c;
	const char	*suexec = NULL;
	char		 dir[PATH_MAX], label[80], *slash;
	size_t		 i;
	int		 ch;

	static const struct option longopts[] = {
		{ "suexec", required_argument, NULL, 's' },
		{ "alerts", no_argument, NULL, 'a' },
		{ "connect", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	int alerts = 0, connect = 0;

	optind = 0;
	while ((ch = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (ch == 'a') {
			alerts = 1;
			continue;
		}
		if (ch == 'C') {
			connect = 1;
			continue;
		}
		if (ch != 's') {
			say_getopt(ch, argv);
			goto usage;
		}
		suexec = optarg;
	}
	if (optind != argc) {
		say(SAY_FATAL, "unexpected argument %s", argv[optind]);
		goto usage;
	}
	if (alerts && (suexec != NULL || connect)) {
		say(SAY_FATAL, "--alerts goes alone");
		goto usage;
	}
	if (alerts)
		return check_alerts(cfg);
	c = conf_load(cfg, &d);
	say_lines(buf_cstr(&d.text));
	r.nerr = d.nerr;
	r.nwarn = d.nwarn;
	diag_free(&d);
	if (c == NULL) {
		say(SAY_FATAL, "%d error%s in %s", r.nerr, r.nerr == 1 ? "" :
		    "s", cfg);
		return EXIT_FAIL;
	}

	check_writable_dir(&r, "spool_dir", c->spool_dir, 0);
	if (stat(c->spool_dir, &st) == 0) {
		for (i = 0; i < SP_NDIRS; i++) {
			(void)snprintf(dir, sizeof(dir), "%s/%s", c->spool_dir,
			    spool_dirname((enum spool_dir)i));
			check_writable_dir(&r, "spool folder", dir, 1);
		}
		/* What the responder and the runner would refuse (under
		 * suexec the owner is the site's, checked above). */
		if (suexec == NULL)
			(void)spool_audit(c->spool_dir, spool_problem, &r);
	}
	(void)snprintf(dir, sizeof(dir), "%s", c->log_file);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	/* The default log lives in the spool, made with it. */
	if (access(c->log_file, W_OK) == -1 && access(dir, W_OK) == -1 &&
	    !(errno == ENOENT && strcmp(dir, c->spool_dir) == 0))
		problem(&r, errno == ENOENT ? 1 : 0, "log_file %s cannot be "
		    "written: %s", c->log_file, strerror(errno));
	if (c->runner != NULL)
		check_handler_file(&r, "[delivery] runner", c->runner);
	if (c->alert.on) {
		char		real[PATH_MAX];
		struct err	e;

		check_handler_file(&r, "[alert] program", c->alert.program);
		if (handler_safe(&c->ep[0], c->alert.program, 1, real, &e) ==
		    -1)
			problem(&r, 0, "[alert] %s", e.msg);
		if (!c->health.on || c->health.runner_max_age == 0)
			problem(&r, 1, "[alert]: the runner alert is off: set "
			    "[health] runner_max_age (its one limit)");
	}
	for (i = 0; i < c->nep; i++) {
		if (!c->ep[i].enabled)
			continue;
		if (c->ep[i].name != NULL)
			(void)snprintf(label, sizeof(label), "[endpoint %s] ",
			    c->ep[i].name);
		else
			label[0] = '\0';
		check_endpoint(&r, c, &c->ep[i], label);
	}
	for (i = 0; i < c->nevents; i++) {
		struct err e;

		if (dest_check(&c->events[i], &e) == -1)
			problem(&r, 0, "[event %s] %s", c->events[i].name,
			    e.msg);
	}
	for (i = 0; i < c->nevents; i++)
		if (c->events[i].mode == MODE_SYNC &&
		    conf_timeout(c, &c->events[i]) > 300)
			problem(&r, 1, "[event %s] is sync with a timeout over "
			    "300s: senders and web servers give up sooner",
			    c->events[i].name);
	{
		long	total = 0;
		int	k;

		for (k = 1; k <= c->retries; k++)
			total += conf_backoff(c, NULL, k);
		if (total > c->keep)
			problem(&r, 1, "[delivery] keep (%lds) is shorter than "
			    "the retry schedule (%lds): dedupe ids of events "
			    "still retrying get pruned", c->keep, total);
	}
	/* [worker]: its password file, read by hookpipe-worker at each
	 * connection, must be there and private. */
	if (c->worker.on && c->worker.secret_file != NULL) {
		struct stat	wst;
		struct err	e;
		int		fd;

		if ((fd = open_file(AT_FDCWD, c->worker.secret_file, O_RDONLY,
		    &e)) == -1)
			problem(&r, 0, "[worker] secret_file %s cannot be read: "
			    "%s", c->worker.secret_file, e.msg);
		else {
			if (fstat(fd, &wst) == 0 && (wst.st_mode & 077) != 0)
				problem(&r, 0, "[worker] secret_file %s may be "
				    "read by others (mode %03o): chmod 600 it",
				    c->worker.secret_file,
				    (unsigned)(wst.st_mode & 0777));
			(void)close(fd);
		}
	}
#ifndef HAVE_RABBITMQ
	if (c->worker.on)
		problem(&r, 1, "[worker] is set, but this hookpipe was built "
		    "without librabbitmq: there is no hookpipe-worker "
		    "(apt-get install librabbitmq-dev, then build again)");
#endif
	if (c->durability == DURABLE_PROCESS)
		problem(&r, 1, "[hookpipe] durability = process: events "
		    "acknowledged in the last seconds before a power loss or "
		    "kernel crash can be lost");
	if (suexec != NULL)
		check_suexec(&r, c, suexec);
	if (connect)
		check_connect(&r, c);
	conf_free(c);
	if (r.nerr > 0) {
		say(SAY_FATAL, "%d error%s in %s", r.nerr, r.nerr == 1 ? "" :
		    "s", cfg);
		return EXIT_FAIL;
	}
	printf("configuration OK%s\n", r.nwarn ? " (with warnings)" : "");
	return EXIT_OK;
usage:
	fprintf(stderr, "usage: hookpipe check [--suexec PROGRAM] [--connect] "
	    "| check --alerts\n");
	return EXIT_USAGE;
}

int
main(int argc, char *argv[])
{
	const char	*cfg = NULL;
	size_t		 i;
	int		 ch, j;

	say_init(argc > 0 ? argv[0] : "hookpipe");
	/* Each command reports its own bad options in the same form. */
	opterr = 0;
	while ((ch = getopt(argc, argv, "+:c:hV")) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'V':
			printf("hookpipe %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			say_getopt(ch, argv);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		for (j = optind + 1; j < argc; j++)
			if (strcmp(argv[j], "--help") == 0 ||
			    strcmp(argv[j], "-h") == 0) {
				printf("usage: hookpipe [-c FILE] %s\n",
				    commands[i].usage);
				return EXIT_OK;
			}
		return commands[i].fn(conf_locate(cfg), argc - optind,
		    argv + optind);
	}
	say(SAY_FATAL, "unknown command '%s'", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
