/* hookpipe-run: run the handlers of spooled events until none is left.
 * Started by the responder after an accepted event, or by cron. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "dlog.h"
#include "spool.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: hookpipe-run [-q] [-c FILE]\n"
	    "  -c FILE  configuration (default: $HOOKPIPE_CONFIG, then "
	    SYSCONFDIR "/hookpipe.ini)\n"
	    "  -q       print nothing when all went well\n"
	    "Runs every event waiting in the spool's new/ folder, then "
	    "exits.\nExit: 0 drained (or another runner is at work), "
	    "1 failure, 2 usage.\n");
}

int
main(int argc, char *argv[])
{
	struct drain_stats	 st;
	struct diag		 d = { { 0 }, 0, 0 };
	struct conf		*c;
	struct spool		 s;
	struct dlog		 log;
	struct err		 e;
	const char		*cfg = NULL;
	int			 ch, quiet = 0, rc;

	while ((ch = getopt(argc, argv, "c:qhV")) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'q':
			quiet = 1;
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
	cfg = conf_locate(cfg);
	if ((c = conf_load(cfg, &d)) == NULL) {
		fprintf(stderr, "%s", buf_cstr(&d.text));
		fprintf(stderr, "hookpipe-run: fatal: %s has errors: fix them "
		    "(hookpipe check -c %s)\n", cfg, cfg);
		diag_free(&d);
		return 1;
	}
	diag_free(&d);
	if (spool_open(&s, c->spool_dir, 1, &e) == -1) {
		fprintf(stderr, "hookpipe-run: fatal: %s\n", e.msg);
		conf_free(c);
		return 1;
	}
	if (dlog_open(&log, c->log_file, &e) == -1)
		fprintf(stderr, "hookpipe-run: warning: %s; logging to "
		    "stderr\n", e.msg);
	rc = deliver_drain(c, &s, &log, &st, &e);
	if (rc == -1)
		fprintf(stderr, "hookpipe-run: fatal: %s\n", e.msg);
	else if (!quiet && st.busy && st.done + st.retry + st.dead == 0)
		printf("hookpipe-run: another runner is at work on %s\n",
		    c->spool_dir);
	else if (!quiet)
		printf("hookpipe-run: %u done, %u retry, %u dead, %u "
		    "re-queued\n", st.done, st.retry, st.dead, st.recovered);
	dlog_close(&log);
	spool_close(&s);
	conf_free(c);
	return rc == -1 ? 1 : 0;
}
