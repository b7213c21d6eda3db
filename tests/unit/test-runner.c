/* test-runner: runner_run once over real spools and /bin/sh handlers:
 * what it counts, a busy lock, recovery after a killed runner (its
 * handler's process group still alive), serialized events, and the
 * retry schedule under a clock that the test moves (util_set_clock). */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "dlog.h"
#include "handler.h"
#include "runner.h"
#include "spool.h"
#include "fixture.h"
#include "tap.h"

#define SEC	1000000LL

static char		 root[] = "/tmp/hookpipe-test-runner.XXXXXX";
static char		 out[300];
static struct conf	*conf;
static struct dlog	 dl;



/* A /bin/sh handler; OUT in its text is the output folder. */
static void
handler(const char *name, const char *text)
{
	char		 sh[4096];
	const char	*p;
	size_t		 n;

	n = (size_t)snprintf(sh, sizeof(sh), "#!/bin/sh\n");
	for (p = text; *p != '\0' && n < sizeof(sh) - 300; p++) {
		if (strncmp(p, "OUT", 3) == 0) {
			n += (size_t)snprintf(sh + n, sizeof(sh) - n, "%s",
			    out);
			p += 2;
		} else
			sh[n++] = *p;
	}
	sh[n++] = '\n';
	sh[n] = '\0';
	fx_put(fx_at(fx_at(root, "handlers"), name), sh, 0755);
}

static char *
slurp(const char *path)
{
	char	*p;
	ssize_t	 r;
	int	 fd;
	size_t	 n = 0;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	p = malloc(1 << 20);
	while (p != NULL && (r = read(fd, p + n, (1 << 20) - 1 - n)) > 0)
		n += (size_t)r;
	(void)close(fd);
	if (p != NULL)
		p[n] = '\0';
	return p;
}

/* A spool of its own for each test. */
static struct spool *
fresh_spool(const char *name)
{
	struct spool	*s;
	struct err	 e;

	if ((s = spool_open(fx_at(root, name), SPOOL_CREATE | SPOOL_NOSYNC,
	    &e)) == NULL) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	return s;
}

static void
store(struct spool *s, const char *event, const char *id,
    char name[SPOOL_NAME_MAX])
{
	struct envelope	env = { .event = event, .id = id,
	    .request_id = "rq", .remote = "192.0.2.1", .bytes = 2 };
	struct err	e;

	env.received_us = now_us();
	if (spool_newname(s, name) == -1 ||
	    spool_commit(s, &env, "{}", 2, name, NULL, &e) == -1) {
		printf("Bail out! store %s: %s\n", event, e.msg);
		exit(1);
	}
}

static size_t
count(struct spool *s, enum spool_dir d)
{
	struct strlist	l;
	struct err	e;
	size_t		n;

	if (spool_list(s, d, &l, &e) == -1)
		return (size_t)-1;
	n = l.n;
	strlist_free(&l);
	return n;
}

static int
run(struct spool *s, struct runner_stats *st)
{
	struct err	e;
	int		rc;

	memset(&e, 0, sizeof(e));
	rc = runner_run(conf, s, &dl, 0, NULL, st, &e);
	if (rc != 0)
		printf("# runner_run: %s\n", e.msg);
	return rc;
}

/* The most lines "+ X" without their "- X" at any point of a log. */
static int
most_at_once(const char *log)
{
	const char	*p;
	int		 n = 0, max = 0;

	for (p = log; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (*p == '+' && ++n > max)
			max = n;
		else if (*p == '-')
			n--;
	}
	return max;
}

static void
test_stats(void)
{
	struct spool		*s = fresh_spool("stats");
	struct runner_stats	 st;
	char			 name[SPOOL_NAME_MAX], id[16], *log;
	int			 i, rc;

	for (i = 0; i < 3; i++) {
		(void)snprintf(id, sizeof(id), "ok-%d", i);
		store(s, "ok", id, name);
	}
	store(s, "fail3", "f-1", name);
	store(s, "perm", "p-1", name);
	for (i = 0; i < 4; i++) {
		(void)snprintf(id, sizeof(id), "c-%d", i);
		store(s, "conc", id, name);
	}
	rc = run(s, &st);
	is_int(rc, 0, "runner_run returns 0");
	is_int(st.busy, 0, "not busy");
	is_int(st.done, 7, "7 done (3 ok, 4 conc)");
	is_int(st.retry, 1, "1 to retry (exit 3)");
	is_int(st.dead, 1, "1 dead (exit 100)");
	is_int(st.runs, 9, "9 handler runs");
	is_int(st.recovered, 0, "nothing to recover");
	ok(st.next_due >= 89 && st.next_due <= 111,
	    "next_due: the retry's backoff, 100 s +-10%% (%d)", st.next_due);
	ok(count(s, SP_NEW) == 0 && count(s, SP_CUR) == 0,
	    "new/ and cur/ are empty");
	ok(count(s, SP_DONE) == 7 && count(s, SP_RETRY) == 1 &&
	    count(s, SP_DEAD) == 1, "done/ 7, retry/ 1, dead/ 1");
	log = slurp(fx_at(out, "conc.log"));
	is_int(most_at_once(log), 2, "concurrency 2: two handlers at once, "
	    "never more");
	free(log);
	log = slurp(fx_at(out, "ok-2.runs"));
	is_str(log, "1\n", "each ok handler ran once");
	free(log);

	rc = run(s, &st);
	ok(rc == 0 && st.done == 0 && st.retry == 0 && st.runs == 0,
	    "a second run finds nothing due");
	ok(st.next_due >= 80 && st.next_due <= 111,
	    "... and tells when the retry is (%d)", st.next_due);
	spool_close(s);
}

/* Another process holds run.lock: the runner leaves at once. */
static void
test_busy(void)
{
	struct spool		*s = fresh_spool("busy");
	struct runner_stats	 st;
	char			 name[SPOOL_NAME_MAX], c = 0, *p;
	int			 go[2], back[2], status, rc;
	pid_t			 pid;

	store(s, "ok", "busy-1", name);
	if (pipe(go) == -1 || pipe(back) == -1 || (pid = fork()) == -1) {
		ok(0, "pipe/fork");
		return;
	}
	if (pid == 0) {
		struct spool	*mine;
		struct err	 e;

		/* Its own open file: its own lock. */
		if ((mine = spool_open(fx_at(root, "busy"), 0, &e)) == NULL ||
		    spool_lock(mine, &e) != 1)
			_exit(1);
		(void)write(back[1], "L", 1);
		(void)read(go[0], &c, 1);
		_exit(0);
	}
	ok(read(back[0], &c, 1) == 1 && c == 'L', "a child holds run.lock");
	rc = run(s, &st);
	is_int(rc, 0, "busy: runner_run returns 0");
	is_int(st.busy, 1, "busy: st.busy is set");
	ok(st.done == 0 && st.runs == 0 && st.retry == 0 && st.dead == 0,
	    "busy: nothing ran");
	ok(count(s, SP_NEW) == 1 && count(s, SP_CUR) == 0,
	    "busy: the event is still in new/");
	is_int(count(s, SP_HIST), 0, "busy: no history written");
	ok(access(fx_at(out, "busy-1.runs"), F_OK) == -1,
	    "busy: the handler did not run");
	(void)write(go[1], "g", 1);
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "the child let go");
	rc = run(s, &st);
	ok(rc == 0 && st.busy == 0 && st.done == 1,
	    "once it is free the event runs");
	p = slurp(fx_at(out, "busy-1.runs"));
	is_str(p, "1\n", "... its handler once");
	free(p);
	(void)close(go[0]);
	(void)close(go[1]);
	(void)close(back[0]);
	(void)close(back[1]);
	spool_close(s);
}

/*
 * A `sleep 60` leading a process group of its own, as a handler's child
 * left behind by a killed runner. A holder process is its parent and
 * reaps it at once, so that a killed one does not linger as our zombie;
 * the holder exits with the signal that ended it.
 */
static pid_t
start_group(pid_t *sleeper)
{
	pid_t	holder, g;
	int	p[2], status;

	if (pipe(p) == -1 || (holder = fork()) == -1)
		return -1;
	if (holder == 0) {
		(void)close(p[0]);
		if ((g = fork()) == 0) {
			(void)setpgid(0, 0);
			(void)execl("/bin/sleep", "sleep", "60", (char *)NULL);
			_exit(127);
		}
		(void)setpgid(g, g);
		(void)write(p[1], &g, sizeof(g));
		(void)close(p[1]);
		if (waitpid(g, &status, 0) != g)
			_exit(100);
		_exit(WIFSIGNALED(status) ? WTERMSIG(status) : 101);
	}
	(void)close(p[1]);
	if (read(p[0], sleeper, sizeof(*sleeper)) != sizeof(*sleeper))
		*sleeper = -1;
	(void)close(p[0]);
	return holder;
}

/* The holder's exit status within a few seconds, or -1. */
static int
holder_status(pid_t holder, int seconds)
{
	int	status, i;

	for (i = 0; i < seconds * 50; i++) {
		if (waitpid(holder, &status, WNOHANG) == holder)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		(void)usleep(20000);
	}
	return -1;
}

/* An entry left in cur/ by a killed runner: attempt 1, with the run
 * record a handler's child writes before exec. */
static void
left_in_cur(struct spool *s, const char *id, pid_t pgid,
    unsigned long long start, char name[SPOOL_NAME_MAX])
{
	char		run[SPOOL_RUN_MAX];
	struct err	e;
	size_t		n;
	int		fd;

	store(s, "ok", id, name);
	(void)spool_move(s, SP_NEW, SP_CUR, name, &e);
	(void)spool_hist_add(s, name, "attempt", ",\"attempt\":1", &e);
	n = spool_hist_run(run, "2026-01-01T00:00:00.000000Z",
	    (unsigned long)pgid, start);
	if ((fd = spool_hist_open(s, name, &e)) == -1 ||
	    write(fd, run, n) != (ssize_t)n || close(fd) == -1)
		ok(0, "write the run record of %s", name);
}

static void
test_recovery(void)
{
	struct spool		*s = fresh_spool("recover");
	struct runner_stats	 st;
	struct history		 h;
	struct err		 e;
	char			 name[SPOOL_NAME_MAX], other[SPOOL_NAME_MAX];
	char			*p, *hist;
	pid_t			 holder, sleeper, holder2, sleeper2;
	unsigned long long	 start, start2;
	long			 tck = sysconf(_SC_CLK_TCK);
	int			 rc;

	if ((holder = start_group(&sleeper)) <= 0 || sleeper <= 0 ||
	    (holder2 = start_group(&sleeper2)) <= 0 || sleeper2 <= 0) {
		ok(0, "start the process groups");
		return;
	}
	start = handler_starttime(sleeper);
	start2 = handler_starttime(sleeper2);
	ok(start > 0 && start2 > 0, "two sleeping groups, %ld and %ld",
	    (long)sleeper, (long)sleeper2);
	left_in_cur(s, "rec-1", sleeper, start, name);
	/* The same group id, but its handler started long before: the
	 * group is some later process's (a reused pgid), left alone. */
	left_in_cur(s, "rec-2", sleeper2, start2 - (unsigned long long)
	    (60 * tck), other);

	rc = run(s, &st);
	is_int(rc, 0, "recovery: runner_run returns 0");
	is_int(st.recovered, 2, "recovery: both entries of cur/ re-queued");
	is_int(st.done, 2, "recovery: and then run to done/");
	rc = holder_status(holder, 5);
	is_int(rc, SIGKILL,
	    "the group named by the run record was killed (SIGKILL)");
	if (rc == -1) {
		/* Still running: ours to end. */
		(void)kill(sleeper, SIGKILL);
		(void)holder_status(holder, 5);
	}
	ok(kill(sleeper2, 0) == 0 && handler_starttime(sleeper2) == start2,
	    "a group whose start time does not match is left alone");
	ok(count(s, SP_CUR) == 0 && count(s, SP_DONE) == 2,
	    "cur/ empty, done/ 2");
	p = slurp(fx_at(out, "rec-1.runs"));
	is_str(p, "2\n", "the event ran again, as attempt 2");
	free(p);
	if (spool_hist_load(s, name, &h, &e) == 0) {
		is_int(h.attempts, 2, "the interrupted attempt counts");
		spool_hist_free(&h);
	} else
		ok(0, "history of %s: %s", name, e.msg);
	hist = slurp(fx_at(fx_at(fx_at(root, "recover"), "hist"), name));
	ok(hist != NULL && strstr(hist, "\"state\":\"new\",\"reason\":"
	    "\"re-queued after an interrupted run\"") != NULL,
	    "the history says it was re-queued");
	free(hist);
	p = slurp(dl.path);
	ok(p != NULL && strstr(p, "stopped what was left of an interrupted "
	    "handler") != NULL, "the log says what was stopped");
	free(p);
	/* Ours to end. */
	(void)kill(sleeper2, SIGKILL);
	is_int(holder_status(holder2, 5), SIGKILL, "(the other group ended "
	    "by the test)");
	spool_close(s);
}

/* serialize = yes: never two of a type at once, in arrival order. */
static void
test_serialize(void)
{
	struct spool		*s = fresh_spool("serial");
	struct runner_stats	 st;
	char			 name[SPOOL_NAME_MAX], *log;
	int			 rc;

	store(s, "par", "p1", name);
	store(s, "par", "p2", name);
	store(s, "ser", "s1", name);
	store(s, "ser", "s2", name);
	store(s, "ser", "s3", name);
	rc = run(s, &st);
	ok(rc == 0 && st.done == 5, "serialize: all 5 done (%u)", st.done);
	log = slurp(fx_at(out, "ser.log"));
	is_str(log, "+ s1\n- s1\n+ s2\n- s2\n+ s3\n- s3\n",
	    "serialize: one at a time, in arrival order");
	free(log);
	/* The control: the same handler, not serialized, overlaps. */
	log = slurp(fx_at(out, "par.log"));
	is_int(most_at_once(log), 2, "without serialize two of a type "
	    "overlap");
	free(log);
	spool_close(s);
}

/*
 * The retry schedule, with the clock moved by the test. Every clock
 * read of the library goes through util_set_clock's function: the due
 * time deliver_finish writes as the entry's mtime (utimensat, from
 * now_us()) and the runner's comparison of it (now_us() again) both see
 * the moved clock, and so do the runner's monotonic waits. What stays
 * real: the kernel's own times (a file's mtime when written, a
 * handler's start time) and time(2) in spool_clean_tmp and
 * prune.stamp, which these runs do not depend on. The clock is put
 * ten days ahead from the start, so that a due time taken from the
 * real clock could not pass during the test.
 */
static int64_t skew_ns;

static int64_t
moved_clock(clockid_t id)
{
	struct timespec ts;

	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + skew_ns;
}

static void
test_clock(void)
{
	struct spool		*s = fresh_spool("clock");
	struct runner_stats	 st;
	struct stat		 sb;
	char			 name[SPOOL_NAME_MAX], *log;
	int64_t			 due, real;
	int			 rc, first;

	skew_ns = 10LL * 86400 * 1000000000;
	util_set_clock(moved_clock);
	real = (int64_t)time(NULL) * SEC;
	ok(now_us() - real > 9 * 86400 * SEC, "now_us() follows the clock "
	    "set by util_set_clock");

	store(s, "later", "l-1", name);
	rc = run(s, &st);
	ok(rc == 0 && st.retry == 1 && st.runs == 1,
	    "clock: attempt 1 failed, retry/");
	first = st.next_due;
	ok(first >= 3240 && first <= 3961,
	    "clock: due in the backoff, 3600 s +-10%% (%d)", first);
	due = spool_retry_due(s, name, conf_due_bound(conf), now_us());
	ok(due - now_us() > (first - 2) * SEC && due - now_us() <= first * SEC,
	    "clock: the entry's due time is read back on the moved clock");
	ok(stat(fx_at(fx_at(fx_at(root, "clock"), "retry"), name), &sb) == 0 &&
	    (int64_t)sb.st_mtime * SEC - real > 9 * 86400 * SEC,
	    "clock: its mtime is set from the moved clock, days ahead of "
	    "the real one");

	skew_ns += 3000LL * 1000000000;
	rc = run(s, &st);
	ok(rc == 0 && st.runs == 0 && st.done == 0 && st.retry == 0 &&
	    st.dead == 0, "clock +3000 s: not retried yet");
	ok(count(s, SP_RETRY) == 1, "clock +3000 s: still in retry/");
	ok(st.next_due >= first - 3000 - 2 && st.next_due <= first - 3000 + 1,
	    "clock +3000 s: due %d s later (%d - 3000)", st.next_due, first);
	log = slurp(fx_at(out, "later.log"));
	is_str(log, "1\n", "clock +3000 s: the handler ran once so far");
	free(log);

	skew_ns += 1000LL * 1000000000;
	rc = run(s, &st);
	ok(rc == 0 && st.runs == 1 && st.done == 1,
	    "clock +4000 s: past the due time, retried and done");
	ok(count(s, SP_RETRY) == 0 && count(s, SP_DONE) == 1,
	    "clock +4000 s: in done/");
	log = slurp(fx_at(out, "later.log"));
	is_str(log, "1\n2\n", "clock +4000 s: attempt 2 ran");
	free(log);
	util_set_clock(NULL);
	ok(now_us() - (int64_t)time(NULL) * SEC < 2 * SEC,
	    "util_set_clock(NULL) puts the real clock back");
	spool_close(s);
}


static void
setup(void)
{
	struct diag	d = { 0 };
	struct err	e;

	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	(void)snprintf(out, sizeof(out), "%s/out", root);
	if (mkdir(out, 0700) == -1 || mkdir(fx_at(root, "handlers"), 0755) ==
	    -1) {
		printf("Bail out! mkdir: %s\n", strerror(errno));
		exit(1);
	}
	fx_put(fx_at(root, "token"), "0123456789abcdef0123\n", 0600);
	fx_put(fx_at(root, "hookpipe.ini"),
	    "[hookpipe]\n"
	    "spool_dir = spool\n"
	    "handlers_dir = handlers\n"
	    "log_file = delivery.log\n"
	    "[auth]\n"
	    "token_file = token\n"
	    "[delivery]\n"
	    "timeout = 10\n"
	    "kill_grace = 1\n"
	    "retries = 2\n"
	    "backoff = 100\n"
	    "concurrency = 2\n"
	    "[event ser]\n"
	    "serialize = yes\n"
	    "[event later]\n"
	    "backoff = 3600\n"
	    "retries = 3\n", 0600);
	if ((conf = conf_load(fx_at(root, "hookpipe.ini"), &d)) == NULL) {
		printf("Bail out! conf_load: %s\n", d.text.p != NULL ?
		    d.text.p : "?");
		exit(1);
	}
	diag_free(&d);
	if (dlog_open(&dl, conf->log_file, &e) == -1) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}
	handler("ok", "echo $HOOKPIPE_ATTEMPT >> OUT/$HOOKPIPE_ID.runs");
	handler("fail3", "exit 3");
	handler("perm", "exit 100");
	handler("conc", "echo + $HOOKPIPE_ID >> OUT/conc.log\nsleep 0.3\n"
	    "echo - $HOOKPIPE_ID >> OUT/conc.log");
	handler("ser", "echo + $HOOKPIPE_ID >> OUT/ser.log\nsleep 0.2\n"
	    "echo - $HOOKPIPE_ID >> OUT/ser.log");
	handler("par", "echo + $HOOKPIPE_ID >> OUT/par.log\nsleep 0.2\n"
	    "echo - $HOOKPIPE_ID >> OUT/par.log");
	handler("later", "echo $HOOKPIPE_ATTEMPT >> OUT/later.log\n"
	    "[ $HOOKPIPE_ATTEMPT -ge 2 ] || exit 3");
}

int
main(void)
{
	setup();
	test_stats();
	test_busy();
	test_recovery();
	test_serialize();
	test_clock();

	dlog_close(&dl);
	conf_free(conf);
	if (fx_rm_tree(root) == -1)
		printf("# could not remove %s\n", root);
	return tap_done();
}
