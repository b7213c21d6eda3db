/* test-metrics: the counters file SPOOL/metrics: counts and their text,
 * kept across a detach (a restart), exact under concurrent processes,
 * a slot left mid-claim (waited for, then summed),
 * endpoints past the table, a file truncated under a mapping (no
 * SIGBUS), a foreign file and a planted link refused; the traceparent
 * grammar. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deliver.h"
#include "metrics.h"
#include "tap.h"

static char dir[] = "/tmp/hookpipe-mx.XXXXXX";
static char path[64];

/* The value of a rendered line "NAME VALUE", or -1. */
static long long
value(const char *name)
{
	struct buf	 b = { 0 };
	const char	*p;
	long long	 v = -1;
	size_t		 n = strlen(name);

	metrics_render(&b, NULL, NULL);
	for (p = buf_cstr(&b); p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ') {
			v = strtoll(p + n + 1, NULL, 10);
			break;
		}
	buf_free(&b);
	return v;
}

static void
test_counts(void)
{
	struct err	e;
	struct stat	st;

	is_int(metrics_attach(dir, 0, &e), -1, "not created unless asked");
	is_int(metrics_attach(dir, 1, &e), 0, "attach creates the file");
	ok(stat(path, &st) == 0 && st.st_size >= 4096 && (st.st_mode & 077)
	    == 0, "sized before use, private");
	is_int(metrics_runner_last(), 0, "no runner stamp yet");
	metrics_request(NULL, 200, MR_NONE, 100, 0, 300);
	metrics_request(NULL, 200, MR_NONE, 50, 0, 300);
	metrics_request(NULL, 200, MR_NONE, 50, 1, 300);
	metrics_request("github", 401, MR_AUTH, 10, 0, 2000);
	metrics_request("", 404, MR_REQUEST, 0, 0, 10);
	metrics_request("github", 418, MR_REQUEST, 0, 0, 10);
	is_int(value("hookpipe_requests_total{endpoint=\"_default\","
	    "code=\"200\"}"), 3, "requests by endpoint and code");
	is_int(value("hookpipe_requests_total{endpoint=\"github\","
	    "code=\"401\"}"), 1, "another endpoint has its own slot");
	is_int(value("hookpipe_requests_total{endpoint=\"_none\","
	    "code=\"404\"}"), 1, "no endpoint: _none");
	is_int(value("hookpipe_requests_total{endpoint=\"github\","
	    "code=\"other\"}"), 1, "a code not in the table: other");
	is_int(value("hookpipe_refusals_total{reason=\"auth\"}"), 1,
	    "refusal by class");
	is_int(value("hookpipe_duplicates_total"), 1, "duplicates");
	is_int(value("hookpipe_accepted_bytes_total"), 150,
	    "accepted bytes (not the duplicate's)");
	is_int(value("hookpipe_request_duration_seconds_bucket{le="
	    "\"0.000250\"}"), 2, "histogram bucket, cumulative");
	is_int(value("hookpipe_request_duration_seconds_bucket{le="
	    "\"0.000500\"}"), 5, "next bucket holds the earlier ones");
	is_int(value("hookpipe_request_duration_seconds_count"), 6,
	    "histogram count");
	metrics_handler(OUT_TIMEOUT, 1500);
	metrics_handler(OUT_OK, 3);
	metrics_handler(OUT_NORUN, 0);
	is_int(value("hookpipe_handler_runs_total{result=\"timeout\"}"), 1,
	    "handler run by result");
	is_int(value("hookpipe_handler_runs_total{result=\"not_runnable\"}"),
	    1, "not runnable");
	is_int(value("hookpipe_handler_duration_seconds_bucket{le="
	    "\"1.000000\"}"), 2, "1.5 s is past the 1 s bucket");
	metrics_settled(SP_DEAD, 0);
	metrics_settled(SP_DONE, now_us() - 2000000);
	metrics_settled(SP_RETRY, 0);
	metrics_replay(2);
	is_int(value("hookpipe_events_dead_total"), 1, "dead-lettered");
	is_int(value("hookpipe_events_done_total"), 1, "done");
	is_int(value("hookpipe_event_latency_seconds_bucket{le="
	    "\"1.000000\"}"), 0, "latency of 2 s not under 1 s");
	is_int(value("hookpipe_event_latency_seconds_bucket{le="
	    "\"5.000000\"}"), 1, "latency of 2 s under 5 s");
	is_int(value("hookpipe_replays_total"), 2, "replays");
	metrics_runner_stamp();
	ok(metrics_runner_last() > now_us() - 60000000, "runner stamp set");
	metrics_detach();
	metrics_request(NULL, 200, MR_NONE, 1, 0, 1);	/* not counted */
	is_int(metrics_attach(dir, 0, &e), 0, "attach again (a restart)");
	is_int(value("hookpipe_requests_total{endpoint=\"_default\","
	    "code=\"200\"}"), 3, "counts survive; none while detached");
	ok(metrics_runner_last() > 0, "the stamp survives too");
}

static void
test_processes(void)
{
	pid_t	pid[4];
	int	i, j, st, good = 1;

	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) == 0) {
			for (j = 0; j < 20000; j++)
				metrics_request("race", 200, MR_NONE, 1, 0, 1);
			_exit(0);
		}
	}
	for (i = 0; i < 4; i++)
		good &= pid[i] > 0 && waitpid(pid[i], &st, 0) == pid[i] &&
		    WIFEXITED(st) && WEXITSTATUS(st) == 0;
	ok(good, "4 processes counted");
	is_int(value("hookpipe_requests_total{endpoint=\"race\","
	    "code=\"200\"}"), 80000, "no count lost between processes");
}

/* Lines of the text that hold s. */
static int
lines_with(const char *s)
{
	struct buf	 b = { 0 };
	const char	*p;
	int		 n = 0;

	metrics_render(&b, NULL, NULL);
	for (p = buf_cstr(&b); (p = strstr(p, s)) != NULL; p += strlen(s))
		n++;
	buf_free(&b);
	return n;
}

/*
 * A slot left in the middle of its claim (the claimer preempted, or
 * killed between two instructions): the same name waits, then takes
 * another slot; once the first claim completes, the name has two
 * slots and the text sums them in one series.
 */
static void
test_claim(void)
{
	static const char	 name[] = "stall";
	unsigned char		*m, *at;
	uint64_t		 h, claiming = 1;
	struct stat		 st;
	int			 fd;

	metrics_request(name, 200, MR_NONE, 0, 0, 1);
	fd = open(path, O_RDWR);
	ok(fd != -1 && fstat(fd, &st) == 0, "open the file");
	m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	ok(m != MAP_FAILED, "map it");
	if (m == MAP_FAILED)
		return;
	at = memmem(m, (size_t)st.st_size, name, sizeof(name));
	ok(at != NULL && (at - m) % 8 == 0, "the name is in the file");
	if (at == NULL)
		return;
	memcpy(&h, at - 8, 8);
	ok(h > 1, "its hash precedes it");
	memcpy(at - 8, &claiming, 8);
	memset(at, 0, sizeof(name));
	is_int(lines_with("endpoint=\"stall\""), 0,
	    "a slot being claimed is not shown");
	metrics_request(name, 200, MR_NONE, 0, 0, 1);
	is_int(value("hookpipe_requests_total{endpoint=\"stall\","
	    "code=\"200\"}"), 1, "the wait ended; another slot counts");
	memcpy(at, name, sizeof(name));
	memcpy(at - 8, &h, 8);
	is_int(value("hookpipe_requests_total{endpoint=\"stall\","
	    "code=\"200\"}"), 2, "the claim completes: both slots summed");
	is_int(lines_with("endpoint=\"stall\""), 1, "in one series");
	(void)munmap(m, (size_t)st.st_size);
	(void)close(fd);
}

static void
test_overflow(void)
{
	char	name[32];
	int	i;

	/* 6 slots are taken already ("stall" has 2); 63 in all. */
	for (i = 0; i < 70; i++) {
		(void)snprintf(name, sizeof(name), "ep%d", i);
		metrics_request(name, 200, MR_NONE, 0, 0, 1);
	}
	is_int(value("hookpipe_requests_total{endpoint=\"ep0\","
	    "code=\"200\"}"), 1, "an endpoint in the table");
	is_int(value("hookpipe_requests_total{endpoint=\"_other\","
	    "code=\"200\"}"), 70 - (63 - 6), "names past the table: _other");
}

static void
test_damage(void)
{
	struct err	e;
	struct stat	st;
	int		fd;

	/* Shrunk under the mapping: grown back before the next touch. */
	ok(truncate(path, 0) == 0, "truncate the file under the mapping");
	metrics_request(NULL, 200, MR_NONE, 1, 0, 1);
	ok(stat(path, &st) == 0 && st.st_size >= 4096,
	    "no SIGBUS; the file is sized again");
	is_int(value("hookpipe_requests_total{endpoint=\"_default\","
	    "code=\"200\"}"), 1, "counting goes on from zero");
	metrics_detach();
	fd = open(path, O_WRONLY);
	ok(fd != -1 && write(fd, "XXXX", 4) == 4 && close(fd) == 0,
	    "overwrite the magic");
	is_int(metrics_attach(dir, 1, &e), -1, "a foreign file is refused");
	ok(strstr(e.msg, "not a counters file") != NULL &&
	    strstr(e.msg, path) != NULL, "the error names the file: %s",
	    e.msg);
	metrics_request(NULL, 200, MR_NONE, 1, 0, 1);	/* no crash */
	ok(unlink(path) == 0 && symlink("/etc/passwd", path) == 0,
	    "plant a link");
	is_int(metrics_attach(dir, 1, &e), -1, "a link is refused");
	(void)unlink(path);
}

static void
test_traceparent(void)
{
	ok(metrics_traceparent_ok("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01"), "the W3C example");
	ok(!metrics_traceparent_ok("00-00000000000000000000000000000000-"
	    "00f067aa0ba902b7-01"), "zero trace id");
	ok(!metrics_traceparent_ok("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "0000000000000000-01"), "zero parent id");
	ok(!metrics_traceparent_ok("00-4BF92F3577B34DA6A3CE929D0E0E4736-"
	    "00f067aa0ba902b7-01"), "uppercase");
	ok(!metrics_traceparent_ok("01-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01"), "another version");
	ok(!metrics_traceparent_ok("00-4bf92f3577b34da6a3ce929d0e0e4736-"
	    "00f067aa0ba902b7-01\n"), "trailing bytes");
	ok(!metrics_traceparent_ok(NULL), "none");
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	(void)snprintf(path, sizeof(path), "%s/metrics", dir);
	umask(077);
	test_counts();
	test_processes();
	test_claim();
	test_overflow();
	test_damage();
	test_traceparent();
	(void)unlink(path);
	(void)rmdir(dir);
	return tap_done();
}
