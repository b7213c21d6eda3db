/* test-deliver: the delivery engine: its one outcome table, and whole
 * deliveries of spooled events to real /bin/sh handlers, queue mode
 * (new/ -> cur/ -> done|retry|dead) and sync mode (tmp/ -> done/ or
 * away), with what they write to the history. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "deliver.h"
#include "dlog.h"
#include "spool.h"
#include "fixture.h"
#include "tap.h"

#define SEC	1000000LL

static char		 root[] = "/tmp/hookpipe-test-deliver.XXXXXX";
static char		 out[300];	/* what the handlers leave */
static struct conf	*conf;
static struct spool	*sp;
static struct dlog	 dl;

/* The body, byte for byte: NUL, bytes that are not UTF-8, CR LF. */
static const char	 BODY[] = "{\"k\":\"\0\xff\xfe\"}\r\n\ttail\xc3";
#define BODYLEN		(sizeof(BODY) - 1)



/* A /bin/sh handler; OUT in its text is the output folder. */
static void
handler(const char *name, const char *text)
{
	char		 sh[4096];
	const char	*p;
	size_t		 n = 0;

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
	(void)fx_put(fx_at(fx_at(root, "handlers"), name), sh, 0755);
}

/* Whole content of a file (NUL-terminated), or NULL. */
static char *
slurp(const char *path, size_t *len)
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
	if (len != NULL)
		*len = n;
	return p;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int
in_spool(enum spool_dir d, const char *name)
{
	char		path[1024];
	struct stat	st;

	(void)spool_entry_path(sp, d, name, path, sizeof(path));
	return lstat(path, &st) == 0;
}

/* The value of NAME in an env dump (NAME=value lines), or "". */
static const char *
env_of(const char *dump, const char *name)
{
	static char	v[1024];
	const char	*p = dump;
	size_t		n = strlen(name), k;

	v[0] = '\0';
	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			k = strcspn(p + n + 1, "\n");
			(void)snprintf(v, sizeof(v), "%.*s", (int)k, p + n + 1);
			break;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	return v;
}

/* Commit an event to new/ (or, sync, only write it to tmp/). */
static int
store(const char *event, const char *endpoint, const char *id, int sync,
    char name[SPOOL_NAME_MAX])
{
	struct envelope	env = { .endpoint = endpoint, .event = event,
	    .id = id, .request_id = "rq", .remote = "192.0.2.1",
	    .bytes = BODYLEN, .sync = sync };
	struct err	e;

	env.received_us = now_us();
	if (spool_newname(sp, name) == -1 ||
	    (sync ? spool_write(sp, &env, BODY, BODYLEN, name, &e) :
	    spool_commit(sp, &env, BODY, BODYLEN, name, NULL, &e)) == -1) {
		printf("Bail out! store %s: %s\n", event, e.msg);
		exit(1);
	}
	return 0;
}

struct result {
	enum spool_dir	to;
	enum outcome	out;
	long		delay;
	int64_t		finished;	/* now_us() after deliver_finish */
	int		status;		/* the row's, for sync */
	int		retry_after;
	char		types[256];	/* the history's record types */
	char		state[32];	/* its last state record */
	char		reason[256];
	int		attempts;
};

static void
read_history(const char *name, struct result *r)
{
	struct history	 h;
	struct err	 e;
	json_object	*o, *v;
	size_t		 i, n;

	r->types[0] = r->state[0] = r->reason[0] = '\0';
	r->attempts = -1;
	if (spool_hist_load(sp, name, &h, &e) == -1)
		return;
	r->attempts = h.attempts;
	n = json_object_array_length(h.records);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(h.records, i);
		if (json_object_object_get_ex(o, "type", &v)) {
			if (r->types[0] != '\0')
				(void)strncat(r->types, ",", sizeof(r->types) -
				    strlen(r->types) - 1);
			(void)strncat(r->types, json_object_get_string(v),
			    sizeof(r->types) - strlen(r->types) - 1);
			if (strcmp(json_object_get_string(v), "state") != 0)
				continue;
		} else
			continue;
		if (json_object_object_get_ex(o, "state", &v))
			(void)snprintf(r->state, sizeof(r->state), "%s",
			    json_object_get_string(v));
		r->reason[0] = '\0';
		if (json_object_object_get_ex(o, "reason", &v))
			(void)snprintf(r->reason, sizeof(r->reason), "%s",
			    json_object_get_string(v));
	}
	spool_hist_free(&h);
}

/* Deliver an entry as the runner does: open it where it waits, claim
 * it into cur/, begin, wait, finish. */
static void
deliver_queued(const char *name, enum spool_dir from, struct result *r)
{
	struct delivery	d;
	struct err	e;

	memset(r, 0, sizeof(*r));
	r->to = SP_NDIRS;
	if (deliver_open(&d, conf, sp, &dl, from, name, &e) == -1) {
		ok(0, "deliver_open %s: %s", name, e.msg);
		deliver_free(&d);
		return;
	}
	if (spool_move(sp, from, SP_CUR, name, &e) == -1) {
		ok(0, "claim %s: %s", name, e.msg);
		deliver_free(&d);
		return;
	}
	if (deliver_begin(&d, SP_CUR) == 1)
		deliver_wait(&d);
	r->out = d.out;
	r->to = deliver_finish(&d, &r->delay, &e);
	r->finished = now_us();
	deliver_free(&d);
	read_history(name, r);
}

/* A sync delivery, as the responder does it. */
static void
deliver_sync(const char *name, struct result *r)
{
	const struct outcome_row	*row;
	struct delivery			 d;
	struct err			 e;

	memset(r, 0, sizeof(*r));
	r->to = SP_CUR;
	if (deliver_open(&d, conf, sp, &dl, SP_TMP, name, &e) == -1) {
		ok(0, "deliver_open %s: %s", name, e.msg);
		deliver_free(&d);
		return;
	}
	if (deliver_begin(&d, SP_TMP) == 1)
		deliver_wait(&d);
	r->out = d.out;
	row = deliver_row(d.out);
	r->status = row->status;
	r->retry_after = row->retry_after;
	r->to = deliver_finish(&d, &r->delay, &e);
	deliver_free(&d);
	read_history(name, r);
}

static void
test_table(void)
{
	static const struct {
		enum outcome	 out;
		enum spool_dir	 to;
		int		 status, retry_after;
		const char	*reason;
	} want[OUT_NOUT] = {
		{ OUT_OK, SP_DONE, 200, 0, NULL },
		{ OUT_TEMPFAIL, SP_RETRY, 503, 30,
		    "handler asked for a retry (75)" },
		{ OUT_PERM, SP_DEAD, 500, 0,
		    "handler exited 100 (permanent failure)" },
		{ OUT_FAIL, SP_RETRY, 500, 0, "temporary failure" },
		{ OUT_SIGNAL, SP_RETRY, 500, 0, "handler killed by a signal" },
		{ OUT_TIMEOUT, SP_RETRY, 504, 0, "timeout" },
		{ OUT_NORUN, SP_RETRY, 503, 30, "cannot start the handler" },
	};
	static const char *const name[OUT_NOUT] = { "OK", "TEMPFAIL", "PERM",
	    "FAIL", "SIGNAL", "TIMEOUT", "NORUN" };
	const struct outcome_row	*row;
	struct handler_result		 r;
	int				 i;

	for (i = 0; i < OUT_NOUT; i++) {
		row = deliver_row(want[i].out);
		ok(row->out == want[i].out && row->to == want[i].to &&
		    row->status == want[i].status &&
		    row->retry_after == want[i].retry_after,
		    "row %s: %s/, HTTP %d, Retry-After %d", name[i],
		    spool_dirname(want[i].to), want[i].status,
		    want[i].retry_after);
		is_str(row->reason, want[i].reason, "row %s: reason", name[i]);
		ok(i == OUT_OK ? row->answer == NULL : row->answer != NULL &&
		    row->answer[0] != '\0', "row %s: an answer for sync "
		    "failures only", name[i]);
	}
	ok(deliver_row(OUT_NOUT)->out == OUT_FAIL &&
	    deliver_row((enum outcome)1000)->out == OUT_FAIL,
	    "an outcome out of range reads as FAIL");

	memset(&r, 0, sizeof(r));
	r.exited = 1;
	r.code = 0;
	is_int(deliver_outcome(&r), OUT_OK, "exit 0: OK");
	r.code = 75;
	is_int(deliver_outcome(&r), OUT_TEMPFAIL, "exit 75: TEMPFAIL");
	r.code = 100;
	is_int(deliver_outcome(&r), OUT_PERM, "exit 100: PERM");
	r.code = 3;
	is_int(deliver_outcome(&r), OUT_FAIL, "exit 3: FAIL");
	r.code = 111;
	is_int(deliver_outcome(&r), OUT_FAIL, "exit 111: FAIL");
	r.exited = 0;
	r.code = 0;
	r.signo = SIGKILL;
	is_int(deliver_outcome(&r), OUT_SIGNAL, "killed by a signal: SIGNAL");
	r.timed_out = 1;
	is_int(deliver_outcome(&r), OUT_TIMEOUT, "timed out and killed: "
	    "TIMEOUT");
	r.exited = 1;
	r.code = 0;
	is_int(deliver_outcome(&r), OUT_TIMEOUT, "timed out, then exit 0: "
	    "still TIMEOUT");
}

static void
test_body(void)
{
	char		 path[512], b[256];
	size_t		 n = 0;
	ssize_t		 r;
	struct err	 e;
	int		 fd, mfd;

	(void)snprintf(path, sizeof(path), "%s/entry", root);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, "envelope\n", 9) != 9 ||
	    write(fd, BODY, BODYLEN) != (ssize_t)BODYLEN) {
		ok(0, "write %s", path);
		return;
	}
	mfd = deliver_body(fd, 9, &e);
	ok(mfd >= 0, "deliver_body");
	(void)close(fd);
	if (mfd < 0)
		return;
	while ((r = pread(mfd, b + n, sizeof(b) - n, (off_t)n)) > 0)
		n += (size_t)r;
	ok(n == BODYLEN && memcmp(b, BODY, BODYLEN) == 0,
	    "deliver_body: the body from the offset, byte for byte");
	ok(pwrite(mfd, "x", 1, 0) == -1, "deliver_body: it cannot be written");
	ok(ftruncate(mfd, 1) == -1, "deliver_body: nor shortened");
	(void)close(mfd);
}

/* exit 0: done/, the records in order, exactly the body, the
 * environment. */
static void
test_ok(void)
{
	char		 name[SPOOL_NAME_MAX], want[1024];
	char		*env, *body, *log;
	struct result	 r;
	size_t		 len = 0;

	store("ok", NULL, "q-ok", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_DONE, "exit 0: deliver_finish says done/");
	is_int(r.out, OUT_OK, "exit 0: outcome OK");
	ok(in_spool(SP_DONE, name) && !in_spool(SP_CUR, name),
	    "exit 0: the entry is in done/, not in cur/");
	is_int(r.delay, 0, "exit 0: no delay");
	is_str(r.types, "attempt,run,handler,state",
	    "exit 0: history: attempt, run, handler, state, in that order");
	is_str(r.state, "done", "exit 0: the state record says done");
	is_int(r.attempts, 1, "exit 0: one attempt");
	body = slurp(fx_at(out, "q-ok.1.body"), &len);
	ok(body != NULL && len == BODYLEN && memcmp(body, BODY, BODYLEN) == 0,
	    "the handler got exactly the body bytes on stdin (%zu)", len);
	free(body);
	env = slurp(fx_at(out, "q-ok.1.env"), NULL);
	is_str(env_of(env, "HOOKPIPE_MODE"), "queue", "HOOKPIPE_MODE=queue");
	is_str(env_of(env, "HOOKPIPE_ATTEMPT"), "1", "HOOKPIPE_ATTEMPT=1");
	(void)spool_entry_path(sp, SP_CUR, name, want, sizeof(want));
	is_str(env_of(env, "HOOKPIPE_SPOOL_FILE"), want,
	    "HOOKPIPE_SPOOL_FILE: the entry in cur/");
	is_str(env_of(env, "HOOKPIPE_EVENT"), "ok", "HOOKPIPE_EVENT");
	is_str(env_of(env, "HOOKPIPE_ID"), "q-ok", "HOOKPIPE_ID");
	is_str(env_of(env, "HOOKPIPE_REQUEST_ID"), "rq", "HOOKPIPE_REQUEST_ID");
	is_str(env_of(env, "HOOKPIPE_REMOTE_ADDR"), "192.0.2.1",
	    "HOOKPIPE_REMOTE_ADDR");
	free(env);
	log = slurp(dl.path, NULL);
	(void)snprintf(want, sizeof(want), "\"type\":\"handler\",\"spool\":\"%s\"",
	    name);
	ok(log != NULL && strstr(log, want) != NULL,
	    "the delivery log has the handler line");
	(void)snprintf(want, sizeof(want), "\"type\":\"event\",\"spool\":\"%s\","
	    "\"event\":\"ok\",\"id\":\"q-ok\",\"state\":\"done\"", name);
	ok(log != NULL && strstr(log, want) != NULL,
	    "the delivery log has the state line");
	free(log);
}

static void
test_failures(void)
{
	char		 name[SPOOL_NAME_MAX], want[300], *p;
	struct result	 r;
	int64_t		 due;

	/* exit 3: retry/, due about the backoff (100 s, +-10%) ahead. */
	store("fail3", NULL, "q-f3", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_RETRY, "exit 3: retry/");
	is_int(r.out, OUT_FAIL, "exit 3: outcome FAIL");
	ok(in_spool(SP_RETRY, name) && !in_spool(SP_CUR, name),
	    "exit 3: the entry is in retry/");
	ok(r.delay >= 90 && r.delay <= 110, "exit 3: delay %ld s, the "
	    "backoff 100 s +-10%%", r.delay);
	due = spool_retry_due(sp, name, 86400, now_us());
	ok(due > r.finished + (r.delay - 2) * SEC &&
	    due <= r.finished + r.delay * SEC,
	    "exit 3: due time = end + delay (%lld µs off)",
	    (long long)(due - r.finished - r.delay * SEC));
	(void)snprintf(want, sizeof(want), "temporary failure; next attempt "
	    "in %lds", r.delay);
	is_str(r.reason, want, "exit 3: the state reason says when");
	is_str(r.state, "retry", "exit 3: the state record says retry");
	is_str(r.types, "attempt,run,handler,state", "exit 3: records");

	/* The same event again, twice more: retries = 2, then dead. */
	deliver_queued(name, SP_RETRY, &r);
	is_int(r.to, SP_RETRY, "exit 3, attempt 2 of 3: retry/ again");
	deliver_queued(name, SP_RETRY, &r);
	is_int(r.to, SP_DEAD, "exit 3, attempt 3 of 3: dead/");
	ok(in_spool(SP_DEAD, name) && !in_spool(SP_RETRY, name),
	    "after the last retry the entry is in dead/");
	is_str(r.reason, "retries exhausted", "... \"retries exhausted\"");
	is_int(r.delay, 0, "... no delay");
	p = slurp(fx_at(out, "q-f3.attempts"), NULL);
	is_str(p, "1\n2\n3\n", "the handler saw HOOKPIPE_ATTEMPT 1, 2, 3");
	free(p);

	/* An attempt interrupted too often: nothing runs any more. */
	store("ok", NULL, "q-int", 0, name);
	{
		struct err	e;
		int		i;

		for (i = 1; i <= 3; i++)
			(void)spool_hist_add(sp, name, "attempt", NULL, &e);
	}
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_DEAD, "3 interrupted attempts (retries = 2): dead/");
	is_str(r.reason, "retries exhausted (interrupted attempts count)",
	    "... saying so");
	ok(access(fx_at(out, "q-int.4.env"), F_OK) == -1,
	    "... without running the handler");

	store("perm", NULL, "q-perm", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_DEAD, "exit 100: dead/");
	ok(in_spool(SP_DEAD, name), "exit 100: the entry is in dead/");
	is_str(r.reason, "handler exited 100 (permanent failure)",
	    "exit 100: reason");
	is_int(r.delay, 0, "exit 100: no delay");

	store("temp", NULL, "q-temp", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_RETRY, "exit 75: retry/");
	ok(in_spool(SP_RETRY, name), "exit 75: the entry is in retry/");
	ok(starts(r.reason, "handler asked for a retry (75); next attempt "
	    "in "), "exit 75: reason (%s)", r.reason);

	store("sig", NULL, "q-sig", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_RETRY, "killed by a signal: retry/");
	is_int(r.out, OUT_SIGNAL, "killed by a signal: outcome SIGNAL");

	store("slow", NULL, "q-slow", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_RETRY, "timeout: retry/");
	is_int(r.out, OUT_TIMEOUT, "timeout: outcome TIMEOUT");
	ok(in_spool(SP_RETRY, name), "timeout: the entry is in retry/");
	ok(starts(r.reason, "timeout; next attempt in "),
	    "timeout: reason (%s)", r.reason);
}

/* EVENT.d: a handler that succeeded once does not run again. */
static void
test_multi(void)
{
	char		 name[SPOOL_NAME_MAX], *p;
	struct result	 r;

	store("multi", NULL, "q-multi", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_RETRY, "EVENT.d, attempt 1: a ok, b exit 3: retry/");
	is_str(r.types, "attempt,run,handler,run,handler,state",
	    "attempt 1: two runs, two handler records");
	deliver_queued(name, SP_RETRY, &r);
	is_int(r.to, SP_DONE, "EVENT.d, attempt 2: done/");
	p = slurp(fx_at(out, "q-multi.multi"), NULL);
	is_str(p, "a 1\nb 1\nb 2\n",
	    "attempt 2 ran only the handler that had not succeeded");
	free(p);
	is_str(r.types, "attempt,run,handler,run,handler,state,"
	    "attempt,run,handler,state", "attempt 2: one run");
}

static void
test_unrunnable(void)
{
	char		 name[SPOOL_NAME_MAX];
	struct result	 r;

	store("nohandler", NULL, "q-none", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_DONE, "no handler: done/");
	ok(in_spool(SP_DONE, name), "no handler: the entry is in done/");
	is_str(r.reason, "no handler for this event", "no handler: reason");
	is_str(r.types, "attempt,state", "no handler: attempt, state");

	store("ok", "other", "q-ep", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_DONE, "a configured endpoint: done/");

	store("ok", "gone", "q-gone", 0, name);
	deliver_queued(name, SP_NEW, &r);
	is_int(r.to, SP_RETRY, "an endpoint missing from the config: retry/");
	is_int(r.out, OUT_NORUN, "... outcome NORUN");
	ok(in_spool(SP_RETRY, name), "... the entry is in retry/");
	ok(starts(r.reason, "its endpoint is not in the configuration; "
	    "next attempt in "), "... reason (%s)", r.reason);
	ok(access(fx_at(out, "q-gone.1.env"), F_OK) == -1,
	    "... and no handler ran");
}

static void
test_sync(void)
{
	char		 name[SPOOL_NAME_MAX], want[1024], *env, *body;
	struct result	 r;
	size_t		 len = 0;

	store("ok", NULL, "s-ok", 1, name);
	ok(in_spool(SP_TMP, name) && !in_spool(SP_NEW, name),
	    "a sync event is written to tmp/ only");
	deliver_sync(name, &r);
	is_int(r.out, OUT_OK, "sync OK: outcome OK");
	is_int(r.status, 200, "sync OK: 200");
	is_int(r.to, SP_DONE, "sync OK: deliver_finish says done/");
	ok(in_spool(SP_DONE, name) && !in_spool(SP_TMP, name),
	    "sync OK: the entry moved to done/");
	is_str(r.types, "attempt,run,handler,state",
	    "sync OK: with a history");
	is_str(r.state, "done", "sync OK: state done");
	env = slurp(fx_at(out, "s-ok.1.env"), NULL);
	is_str(env_of(env, "HOOKPIPE_MODE"), "sync", "sync: HOOKPIPE_MODE=sync");
	is_str(env_of(env, "HOOKPIPE_ATTEMPT"), "1", "sync: HOOKPIPE_ATTEMPT=1");
	(void)spool_entry_path(sp, SP_TMP, name, want, sizeof(want));
	is_str(env_of(env, "HOOKPIPE_SPOOL_FILE"), want,
	    "sync: HOOKPIPE_SPOOL_FILE is the entry in tmp/");
	free(env);
	body = slurp(fx_at(out, "s-ok.1.body"), &len);
	ok(body != NULL && len == BODYLEN && memcmp(body, BODY, BODYLEN) == 0,
	    "sync: the handler got exactly the body bytes");
	free(body);

	store("fail3", NULL, "s-f3", 1, name);
	deliver_sync(name, &r);
	is_int(r.status, 500, "sync, exit 3: 500");
	is_int(r.to, SP_NDIRS, "sync, exit 3: dropped");
	ok(!in_spool(SP_TMP, name) && !in_spool(SP_DONE, name) &&
	    !in_spool(SP_RETRY, name), "sync, exit 3: the entry is gone");
	ok(!in_spool(SP_HIST, name), "sync, exit 3: its history is gone");

	store("temp", NULL, "s-temp", 1, name);
	deliver_sync(name, &r);
	ok(r.status == 503 && r.retry_after == 30,
	    "sync, exit 75: 503 with Retry-After 30 (%d, %d)", r.status,
	    r.retry_after);
	ok(r.to == SP_NDIRS && !in_spool(SP_TMP, name) &&
	    !in_spool(SP_HIST, name), "sync, exit 75: entry and history gone");

	store("perm", NULL, "s-perm", 1, name);
	deliver_sync(name, &r);
	is_int(r.status, 500, "sync, exit 100: 500");
	ok(r.to == SP_NDIRS && !in_spool(SP_DEAD, name),
	    "sync, exit 100: dropped, not dead-lettered");

	store("slow", NULL, "s-slow", 1, name);
	deliver_sync(name, &r);
	is_int(r.status, 504, "sync, timeout: 504");
	ok(r.to == SP_NDIRS && !in_spool(SP_TMP, name) &&
	    !in_spool(SP_HIST, name), "sync, timeout: entry and history gone");
}


static void
setup(void)
{
	struct diag	d = { 0 };
	char		ini[1024], hd[400];
	struct err	e;

	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	(void)snprintf(out, sizeof(out), "%s/out", root);
	(void)snprintf(hd, sizeof(hd), "%s/handlers", root);
	if (mkdir(out, 0700) == -1 || mkdir(hd, 0755) == -1 ||
	    mkdir(fx_at(hd, "multi.d"), 0755) == -1) {
		printf("Bail out! mkdir: %s\n", strerror(errno));
		exit(1);
	}
	(void)fx_put(fx_at(root, "token"), "0123456789abcdef0123\n", 0600);
	(void)fx_put(fx_at(root, "hookpipe.ini"),
	    "[hookpipe]\n"
	    "spool_dir = spool\n"
	    "handlers_dir = handlers\n"
	    "log_file = delivery.log\n"
	    "[auth]\n"
	    "token_file = token\n"
	    "[delivery]\n"
	    "timeout = 10\n"
	    "kill_grace = 0\n"
	    "retries = 2\n"
	    "backoff = 100\n"
	    "[event slow]\n"
	    "timeout = 1\n"
	    "[endpoint other]\n"
	    "token_file = token\n"
	    "handlers_dir = handlers\n", 0600);
	(void)snprintf(ini, sizeof(ini), "%s/hookpipe.ini", root);
	if ((conf = conf_load(ini, &d)) == NULL) {
		printf("Bail out! conf_load: %s\n", d.text.p != NULL ?
		    d.text.p : "?");
		exit(1);
	}
	diag_free(&d);
	if ((sp = spool_open(conf->spool_dir, SPOOL_CREATE | SPOOL_NOSYNC,
	    &e)) == NULL || dlog_open(&dl, conf->log_file, &e) == -1) {
		printf("Bail out! %s\n", e.msg);
		exit(1);
	}

#define RECORD	"cat > OUT/$HOOKPIPE_ID.$HOOKPIPE_ATTEMPT.body\n"	\
		"env > OUT/$HOOKPIPE_ID.$HOOKPIPE_ATTEMPT.env\n"
	handler("ok", RECORD "exit 0");
	handler("fail3", RECORD
	    "echo $HOOKPIPE_ATTEMPT >> OUT/$HOOKPIPE_ID.attempts\nexit 3");
	handler("perm", RECORD "exit 100");
	handler("temp", RECORD "exit 75");
	handler("sig", "kill -9 $$");
	handler("slow", "exec sleep 10");
	handler("multi.d/10-a", "echo a $HOOKPIPE_ATTEMPT >> "
	    "OUT/$HOOKPIPE_ID.multi");
	handler("multi.d/20-b", "echo b $HOOKPIPE_ATTEMPT >> "
	    "OUT/$HOOKPIPE_ID.multi\n[ $HOOKPIPE_ATTEMPT -ge 2 ] || exit 3");
}

/* An entry a power cut tore (its envelope whole, its body zeroed) is
 * never opened for delivery: it would run a handler on NUL bytes. */
static void
test_torn(void)
{
	struct delivery	 d;
	struct err	 e;
	char		 name[SPOOL_NAME_MAX], path[1024], zeros[BODYLEN];
	int		 fd;

	store("ok", NULL, "torn-1", 0, name);
	(void)spool_entry_path(sp, SP_NEW, name, path, sizeof(path));
	memset(zeros, 0, sizeof(zeros));
	if ((fd = open(path, O_WRONLY)) == -1 ||
	    lseek(fd, -(off_t)BODYLEN, SEEK_END) == -1 ||
	    write(fd, zeros, BODYLEN) != (ssize_t)BODYLEN || close(fd) == -1) {
		ok(0, "torn: zero the body");
		return;
	}
	is_int(deliver_open(&d, conf, sp, &dl, SP_NEW, name, &e), -1,
	    "torn: a zeroed body is not opened for delivery");
	ok(strstr(e.msg, "torn") != NULL, "torn: and says so (%s)", e.msg);
	deliver_free(&d);
	(void)spool_remove(sp, SP_NEW, name, &e);
}

int
main(void)
{
	setup();
	test_table();
	test_body();
	test_ok();
	test_failures();
	test_multi();
	test_unrunnable();
	test_sync();
	test_torn();

	dlog_close(&dl);
	spool_close(sp);
	conf_free(conf);
	if (fx_rm_tree(root) == -1)
		printf("# could not remove %s\n", root);
	return tap_done();
}
