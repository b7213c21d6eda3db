/* hookpipe-run: run the handlers of spooled events. Once (started by the
 * responder after an accepted event, or by cron every minute), or with
 * --watch as a long-running process. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "dlog.h"
#include "runner.h"
#include "spool.h"

#define EXIT_TEMPFAIL	111	/* qmail's temporary failure: try again */

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: hookpipe-run [-qw] [-c FILE]\n"
	    "  -c, --config FILE  configuration (default: $HOOKPIPE_CONFIG, "
	    "then " SYSCONFDIR "/hookpipe.ini)\n"
	    "  -q, --quiet        print nothing when all went well\n"
	    "  -w, --watch        keep running: new events at once (inotify), "
	    "retries when due;\n"
	    "                     SIGTERM stops after the running handlers "
	    "finish\n"
	    "Runs every due event in the spool, then exits (unless --watch).\n"
	    "Exit: 0 ok (or another runner is at work), 1 failure, 2 usage,\n"
	    "      111 the spool kept failing (I/O errors): try again later.\n");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "watch", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct runner_stats	 st;
	struct sigaction	 sa;
	struct diag		 d = { { 0 }, 0, 0 };
	struct conf		*c;
	struct spool		*s;
	struct dlog		 log;
	struct err		 e;
	const char		*cfg = NULL;
	int			 ch, quiet = 0, flags = 0, rc;

	while ((ch = getopt_long(argc, argv, "c:qwhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'w':
			flags |= RUNNER_WATCH;
			break;
		case 'V':
			printf("hookpipe-run %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGHUP, &sa, NULL);

	cfg = conf_locate(cfg);
	if ((c = conf_load(cfg, &d)) == NULL) {
		fprintf(stderr, "%s", buf_cstr(&d.text));
		fprintf(stderr, "hookpipe-run: fatal: %s has errors: fix them "
		    "(hookpipe check -c %s)\n", cfg, cfg);
		diag_free(&d);
		return 1;
	}
	diag_free(&d);
	if ((s = spool_open(c->spool_dir, SPOOL_CREATE, &e)) == NULL) {
		fprintf(stderr, "hookpipe-run: fatal: %s\n", e.msg);
		conf_free(c);
		return 1;
	}
	if (dlog_open(&log, c->log_file, &e) == -1)
		fprintf(stderr, "hookpipe-run: warning: %s; logging to "
		    "stderr\n", e.msg);
	rc = runner_run(c, s, &log, flags, &stopping, &st, &e);
	if (rc == -1)
		fprintf(stderr, "hookpipe-run: fatal: %s\n", e.msg);
	else if (st.busy && (flags & RUNNER_WATCH))
		fprintf(stderr, "hookpipe-run: another runner is at work on "
		    "%s; not watching\n", c->spool_dir);
	else if (!quiet && st.busy && st.done + st.retry + st.dead == 0)
		printf("hookpipe-run: another runner is at work on %s\n",
		    c->spool_dir);
	else if (!quiet) {
		printf("hookpipe-run: %u done, %u retry, %u dead, %u "
		    "re-queued", st.done, st.retry, st.dead, st.recovered);
		if (st.next_due >= 0)
			printf("; next retry in %ds", st.next_due);
		printf("\n");
	}
	dlog_close(&log);
	spool_close(s);
	conf_free(c);
	if (rc == -1)
		return st.failing ? EXIT_TEMPFAIL : 1;
	return st.busy && (flags & RUNNER_WATCH) ? 1 : 0;
}
