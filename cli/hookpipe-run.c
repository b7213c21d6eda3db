/* hookpipe-run: run the handlers of spooled events. Once (started by the
 * responder after an accepted event, with --linger, or by cron every
 * minute), or with --watch as a long-running process. */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "dlog.h"
#include "runner.h"
#include "spool.h"

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
	fprintf(f, "usage: hookpipe-run [-lqw] [-c FILE]\n"
	    "  -c, --config FILE  configuration (default: $HOOKPIPE_CONFIG, "
	    "then " SYSCONFDIR "/hookpipe.ini)\n"
	    "  -l, --linger       once drained, wait [delivery] linger "
	    "seconds for new events\n"
	    "                     (the responder starts the runner so)\n"
	    "  -q, --quiet        print nothing when all went well\n"
	    "  -w, --watch        keep running: new events at once (inotify), "
	    "retries when due;\n"
	    "                     SIGTERM stops after the running handlers "
	    "finish\n"
	    "Runs every due event in the spool, then exits (unless --watch).\n"
	    "Exit: 0 ok (handlers that failed included); 1 failure: fix the "
	    "configuration\n"
	    "      or the spool; 2 usage; 75 another runner holds the lock "
	    "and runs the\n"
	    "      events; 111 the spool kept failing (I/O errors): try again "
	    "later.\n");
}

/* The exit code of a failure: temporary (111) when the spool kept
 * failing or the cause may pass by itself (EIO, ENOSPC...), else 1. */
static int
exit_for(const struct runner_stats *st, const struct err *e)
{
	return st->failing || err_temporary(e) ? EXIT_TEMP : EXIT_FAIL;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "linger", no_argument, NULL, 'l' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "watch", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct runner_stats	 st;
	struct conf		*c;
	struct spool		*s;
	struct dlog		 log;
	struct err		 e, ae;
	const char		*cfg = NULL;
	int			 ch, quiet = 0, flags = 0, rc, busy, adopted;

	say_init(argc > 0 ? argv[0] : "hookpipe-run");
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:lqwhV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'l':
			flags |= RUNNER_LINGER;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'w':
			flags |= RUNNER_WATCH;
			break;
		case 'V':
			printf("hookpipe-run %s\n", PACKAGE_VERSION);
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
	if (optind != argc) {
		say(SAY_FATAL, "unexpected argument %s", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	stop_signals(on_term);

	cfg = conf_locate(cfg);
	if ((c = conf_load_say(cfg)) == NULL)
		return EXIT_FAIL;
	if ((s = spool_open(c->spool_dir, SPOOL_CREATE, &e)) == NULL) {
		say(SAY_FATAL, "%s", e.msg);
		conf_free(c);
		return err_temporary(&e) ? EXIT_TEMP : EXIT_FAIL;
	}
	/* Its checkpoints start a new generation once the current one
	 * holds journal_max, however small: else a journal that commits
	 * bypass would stay full. */
	spool_journal_limit(s, c->journal_max);
	adopted = spool_lock_adopt(s, &ae);
	if (dlog_open(&log, c->log_file, &e) == -1)
		say(SAY_WARNING, "%s; logging to stderr", e.msg);
	if (adopted == -1) {
		say(SAY_WARNING, "%s", ae.msg);
		deliver_log_error(&log, "lock", spool_path(s), ae.msg);
	}
	rc = runner_run(c, s, &log, flags, &stopping, &st, &e);
	/* Busy: another runner holds the lock and runs the events; this
	 * one ran none (a pass that did run some is a success). */
	busy = rc == 0 && st.busy && ((flags & RUNNER_WATCH) ||
	    st.done + st.retry + st.dead == 0);
	if (rc == -1)
		say(SAY_FATAL, "%s", e.msg);
	else if (busy && (flags & RUNNER_WATCH))
		say(SAY_FATAL, "not watching %s: another runner is at work on "
		    "it", c->spool_dir);
	else if (busy && !quiet)
		printf("%s: another runner is at work on %s\n", say_prog(),
		    c->spool_dir);
	else if (!quiet) {
		printf("%s: %u done, %u retry, %u dead, %u re-queued",
		    say_prog(), st.done, st.retry, st.dead, st.recovered);
		if (st.restored > 0)
			printf(", %u restored from the journal", st.restored);
		if (st.quarantined > 0)
			printf(", %u quarantined (no event)", st.quarantined);
		if (st.next_due >= 0)
			printf("; next retry in %ds", st.next_due);
		printf("\n");
	}
	dlog_close(&log);
	spool_close(s);
	conf_free(c);
	if (rc == -1)
		return exit_for(&st, &e);
	return busy ? EXIT_BUSY : EXIT_OK;
}
