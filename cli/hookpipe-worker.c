/* hookpipe-worker: consume the [worker] queue of a RabbitMQ broker into
 * the local spool (lib/worker.c), and keep a `hookpipe-run --watch` on
 * that spool running, the one delivery engine: handlers, retries,
 * dead-letter, history and the CLI are a single host's. */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dlog.h"
#include "spool.h"
#include "worker.h"

#define STEP_MS		500	/* how often a stop is looked at */
#define BACKOFF_MAX	30000	/* ms: the longest pause */

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
	fprintf(f, "usage: hookpipe-worker [-q] [-c FILE]\n"
	    "  -c, --config FILE  configuration (default: $HOOKPIPE_CONFIG, "
	    "then " SYSCONFDIR "/hookpipe.ini)\n"
	    "  -q, --quiet        no line per connection\n"
	    "Consumes the [worker] queue into the spool, acknowledging each "
	    "message once\n"
	    "stored, and runs hookpipe-run --watch on the spool. SIGTERM "
	    "stops: the channel\n"
	    "closes, the running handlers finish.\n"
	    "Exit: 0 stopped; 1 failure: fix the configuration or the spool; "
	    "2 usage.\n");
}

/* The runner, in a process of its own: it takes SIGTERM when we die (a
 * kill -9 included), finishes its running handlers and lets the lock
 * go for the next worker's runner. */
static pid_t
start_runner(const char *runner, const char *cfg)
{
	sigset_t	none;
	pid_t		pid, parent = getpid();

	if ((pid = fork()) == -1) {
		say(SAY_ERROR, "unable to start %s: %s", runner,
		    strerror(errno));
		return -1;
	}
	if (pid > 0)
		return pid;
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	(void)signal(SIGPIPE, SIG_DFL);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != parent)
		_exit(EXIT_TEMP);
	execl(runner, runner, "--watch", "-q", "-c", cfg, (char *)NULL);
	say(SAY_ERROR, "unable to start %s: %s", runner, strerror(errno));
	_exit(EXIT_TEMP);
}

static void
pause_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	(void)nanosleep(&ts, NULL);
}

static long
backoff_next(long ms)
{
	return ms == 0 ? 1000 : ms * 2 > BACKOFF_MAX ? BACKOFF_MAX : ms * 2;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct conf		*c;
	struct spool		*s;
	struct worker		*w;
	struct dlog		 log;
	struct err		 e;
	const char		*cfg = NULL;
	char			*runner;
	pid_t			 rpid = -1;
	int64_t			 next_conn = 0, next_run = 0, now;
	long			 wait_conn = 0, wait_run = 0;
	int			 ch, quiet = 0, status, rc, connected = 0;

	say_init(argc > 0 ? argv[0] : "hookpipe-worker");
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:qhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'V':
			printf("hookpipe-worker %s\n", PACKAGE_VERSION);
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
	if (!c->worker.on) {
		say(SAY_FATAL, "%s has no [worker] section: name the broker "
		    "and the queue there (hookpipe-worker(8))", cfg);
		conf_free(c);
		return EXIT_FAIL;
	}
	if ((s = spool_open(c->spool_dir, SPOOL_CREATE | (c->durability ==
	    DURABLE_PROCESS ? SPOOL_NOSYNC : 0), &e)) == NULL) {
		say(SAY_FATAL, "%s", e.msg);
		conf_free(c);
		return err_temporary(&e) ? EXIT_TEMP : EXIT_FAIL;
	}
	spool_journal_limit(s, c->journal_max);
	if (dlog_open(&log, c->log_file, &e) == -1)
		say(SAY_WARNING, "%s; logging to stderr", e.msg);
	if ((runner = find_program(c->runner, "hookpipe-run")) == NULL ||
	    (w = worker_new(c, s, &log)) == NULL) {
		say(SAY_FATAL, "out of memory");
		return EXIT_TEMP;
	}

	while (!stopping) {
		now = mono_ms();
		/* The runner: restarted when it ends. 75: a runner left by
		 * a killed worker still finishes its handlers. */
		if (rpid > 0 && waitpid(rpid, &status, WNOHANG) == rpid) {
			rpid = -1;
			if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_BUSY)
				wait_run = 1000;
			else {
				wait_run = backoff_next(wait_run);
				say(SAY_WARNING, "%s ended (%s %d): starting it "
				    "again in %lds", runner, WIFEXITED(status) ?
				    "exit" : "signal", WIFEXITED(status) ?
				    WEXITSTATUS(status) : WTERMSIG(status),
				    wait_run / 1000);
			}
			next_run = now + wait_run;
		}
		if (rpid == -1 && now >= next_run &&
		    (rpid = start_runner(runner, cfg)) == -1)
			next_run = now + (wait_run = backoff_next(wait_run));
		if (!connected && now >= next_conn) {
			if (worker_connect(w, &e) == 0) {
				connected = 1;
				if (!quiet)
					printf("%s: consuming %s from %s:%d\n",
					    say_prog(), c->worker.queue,
					    c->worker.host, c->worker.port);
				(void)fflush(stdout);
			} else {
				worker_close(w);
				wait_conn = backoff_next(wait_conn);
				next_conn = now + wait_conn;
				say(SAY_ERROR, "%s; trying again in %lds",
				    e.msg, wait_conn / 1000);
			}
		}
		if (!connected) {
			pause_ms(STEP_MS);
			continue;
		}
		/* The pause grows until a message is taken again: a spool
		 * that stays full is not retried every second. */
		if ((rc = worker_step(w, STEP_MS, &e)) == WORKER_TOOK)
			wait_conn = 0;
		else if (rc == WORKER_LOST || rc == WORKER_FULL) {
			/* Closing gives back what was delivered and not
			 * stored; a failing spool pauses consuming. */
			worker_close(w);
			connected = 0;
			wait_conn = backoff_next(wait_conn);
			next_conn = mono_ms() + wait_conn;
			say(SAY_ERROR, "%s: %s; consuming again in %lds",
			    rc == WORKER_FULL ? "unable to store a message, "
			    "not acknowledged" : "broker", e.msg,
			    wait_conn / 1000);
		}
	}
	worker_close(w);
	if (rpid > 0) {
		(void)kill(rpid, SIGTERM);
		while (waitpid(rpid, &status, 0) == -1 && errno == EINTR)
			;
	}
	if (!quiet)
		printf("%s: stopped: %lu stored, %lu duplicates, %lu "
		    "rejected\n", say_prog(), worker_stats(w)->stored,
		    worker_stats(w)->duplicates, worker_stats(w)->rejected);
	worker_free(w);
	free(runner);
	dlog_close(&log);
	spool_close(s);
	conf_free(c);
	return EXIT_OK;
}
