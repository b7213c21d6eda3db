/* test-handler: handler lookup and the spawn: stdin from an offset, exit
 * status, signals, stderr tail, stdout, timeout of the whole process
 * group, clean environment, descriptors, umask and working folder. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "handler.h"
#include "tap.h"

static char		 root[] = "/tmp/hookpipe-test-handler.XXXXXX";
static char		 hdir[256], work[256];
static struct conf	*conf;
static struct endpoint	*ep;
static char		**envp;
static struct handler_limits limits;

/* Limits for one run: in the work folder, no rlimits. */
static const struct handler_limits *
lim(long timeout, long grace)
{
	memset(&limits, 0, sizeof(limits));
	limits.cwd = work;
	limits.timeout = timeout;
	limits.grace = grace;
	return &limits;
}

static const char *
in_dir(const char *dir, const char *name)
{
	static char	p[4][1024];
	static int	i;

	i = (i + 1) % 4;
	(void)snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static int
put(const char *path, const void *text, size_t len, mode_t mode)
{
	int fd;

	(void)unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, len) != (ssize_t)len ||
	    fchmod(fd, mode) == -1 || close(fd) == -1) {
		printf("# cannot write %s\n", path);
		return -1;
	}
	return 0;
}

/* A /bin/sh handler in handlers_dir. */
static const char *
script(const char *name, const char *body)
{
	char		 text[4096];
	const char	*path = in_dir(hdir, name);

	(void)snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	(void)put(path, text, strlen(text), 0755);
	return path;
}

/* Whole content of work/NAME (NUL-terminated), or NULL. */
static char *
slurp(const char *name, size_t *len)
{
	char	*p;
	ssize_t	 r;
	int	 fd;

	if ((fd = open(in_dir(work, name), O_RDONLY)) == -1)
		return NULL;
	p = malloc(1 << 20);
	*len = 0;
	while (p != NULL && (r = read(fd, p + *len, (1 << 20) - 1 - *len)) > 0)
		*len += (size_t)r;
	(void)close(fd);
	if (p != NULL)
		p[*len] = '\0';
	return p;
}

/* Run a handler script with stdin from /dev/null. */
static int
run(const char *name, const char *body, long timeout,
    struct handler_result *r)
{
	struct err	e;
	int		in = open("/dev/null", O_RDONLY | O_CLOEXEC), rc;

	rc = handler_run(script(name, body), in, 0, envp, lim(timeout,
	    conf->kill_grace), r, &e);
	if (rc == -1)
		printf("# handler_run: %s\n", e.msg);
	(void)close(in);
	return rc;
}

static void
test_resolve(void)
{
	static const char *const execs[] = { "20-b", "10-a", ".hidden",
	    "backup~", "x.dpkg-old", NULL };
	struct strlist	 l;
	struct err	 e;
	char		 d[300];
	size_t		 i;

	(void)script("booking.updated", "exit 0");
	is_int(handler_resolve(conf, ep, "booking.updated", &l, &e), 0,
	    "resolve a file EVENT");
	is_int(l.n, 1, "file EVENT: one program");
	is_str(l.n == 1 ? l.v[0] : NULL, in_dir(hdir, "booking.updated"),
	    "file EVENT: handlers_dir/EVENT");
	strlist_free(&l);

	(void)snprintf(d, sizeof(d), "%s/multi.d", hdir);
	(void)mkdir(d, 0755);
	for (i = 0; execs[i] != NULL; i++)
		(void)put(in_dir(d, execs[i]), "#!/bin/sh\n", 10, 0755);
	(void)put(in_dir(d, "30-noexec"), "#!/bin/sh\n", 10, 0644);
	(void)mkdir(in_dir(d, "40-dir"), 0755);
	is_int(handler_resolve(conf, ep, "multi", &l, &e), 0, "resolve EVENT.d");
	is_int(l.n, 2, "EVENT.d: exactly two programs");
	is_str(l.n == 2 ? l.v[0] : NULL, in_dir(d, "10-a"),
	    "EVENT.d: 10-a first");
	is_str(l.n == 2 ? l.v[1] : NULL, in_dir(d, "20-b"),
	    "EVENT.d: 20-b second");
	strlist_free(&l);

	(void)put(in_dir(hdir, "multi"), "#!/bin/sh\n", 10, 0644);
	is_int(handler_resolve(conf, ep, "multi", &l, &e), 0,
	    "non-executable EVENT next to EVENT.d");
	is_int(l.n, 2, "non-executable EVENT is passed over for EVENT.d");
	strlist_free(&l);

	l.n = 99;
	is_int(handler_resolve(conf, ep, "nothing.here", &l, &e), 0,
	    "resolve an event without handlers");
	is_int(l.n, 0, "no handler: 0 programs");
	strlist_free(&l);
}

static void
test_resolve_event_conf(void)
{
	struct event_conf	ev[1];
	struct strlist		l;
	struct err		e;
	char			out[300], abs[320];

	(void)snprintf(out, sizeof(out), "%s/outside", root);
	(void)mkdir(out, 0755);
	(void)snprintf(abs, sizeof(abs), "%s/booking", out);
	(void)put(abs, "#!/bin/sh\n", 10, 0755);
	memset(ev, 0, sizeof(ev));
	ev[0].name = (char *)(uintptr_t)"booking.updated";
	ev[0].handler = abs;
	conf->events = ev;
	conf->nevents = 1;
	is_int(handler_resolve(conf, ep, "booking.updated", &l, &e), 0,
	    "resolve with an absolute [event] handler outside handlers_dir");
	is_int(l.n, 1, "[event] handler: one program");
	is_str(l.n == 1 ? l.v[0] : NULL, abs,
	    "[event] handler wins over handlers_dir/EVENT");
	strlist_free(&l);

	(void)script("rel-handler", "exit 0");
	ev[0].handler = (char *)(uintptr_t)"rel-handler";
	is_int(handler_resolve(conf, ep, "booking.updated", &l, &e), 0,
	    "relative [event] handler");
	is_str(l.n == 1 ? l.v[0] : NULL, in_dir(hdir, "rel-handler"),
	    "relative [event] handler: under handlers_dir");
	strlist_free(&l);

	ev[0].handler = (char *)(uintptr_t)"../outside/booking";
	is_int(handler_resolve(conf, ep, "booking.updated", &l, &e), -1,
	    "relative [event] handler climbing out: refused");
	ok(strstr(e.msg, "outside handlers_dir") != NULL, "refusal names the rule");
	strlist_free(&l);

	ev[0].handler = NULL;
	is_int(handler_resolve(conf, ep, "booking.updated", &l, &e), 0,
	    "resolve with an [event] section without handler");
	is_str(l.n == 1 ? l.v[0] : NULL, in_dir(hdir, "booking.updated"),
	    "no [event] handler: handlers_dir/EVENT");
	strlist_free(&l);
	conf->events = NULL;
	conf->nevents = 0;
}

/* The rules a program must pass before it runs. */
static void
test_resolve_safety(void)
{
	struct strlist	l;
	struct err	e;
	char		out[320], d[300];

	(void)snprintf(out, sizeof(out), "%s/outside/evil", root);
	(void)put(out, "#!/bin/sh\n", 10, 0755);
	(void)symlink(out, in_dir(hdir, "link.out"));
	is_int(handler_resolve(conf, ep, "link.out", &l, &e), -1,
	    "symlink leaving handlers_dir: refused");
	ok(strstr(e.msg, "resolves to") != NULL &&
	    strstr(e.msg, "outside handlers_dir") != NULL,
	    "symlink refusal says where it leads");
	strlist_free(&l);

	(void)script("link.target", "exit 0");
	(void)symlink(in_dir(hdir, "link.target"), in_dir(hdir, "link.in"));
	is_int(handler_resolve(conf, ep, "link.in", &l, &e), 0,
	    "symlink within handlers_dir: allowed");
	strlist_free(&l);

	(void)script("gw", "exit 0");
	(void)chmod(in_dir(hdir, "gw"), 0775);
	is_int(handler_resolve(conf, ep, "gw", &l, &e), -1,
	    "group-writable handler: refused");
	ok(strstr(e.msg, "writable by its group") != NULL, "says group-writable");
	strlist_free(&l);
	(void)script("ow", "exit 0");
	(void)chmod(in_dir(hdir, "ow"), 0757);
	is_int(handler_resolve(conf, ep, "ow", &l, &e), -1,
	    "world-writable handler: refused");
	ok(strstr(e.msg, "writable by others") != NULL, "says writable by others");
	strlist_free(&l);

	(void)snprintf(d, sizeof(d), "%s/bad.d", hdir);
	(void)mkdir(d, 0755);
	(void)put(in_dir(d, "10-ok"), "#!/bin/sh\n", 10, 0755);
	(void)put(in_dir(d, "20-gw"), "#!/bin/sh\n", 10, 0777);
	(void)chmod(in_dir(d, "20-gw"), 0777);
	is_int(handler_resolve(conf, ep, "bad", &l, &e), -1,
	    "EVENT.d with one writable program: the whole event refused");
	is_int(l.n, 0, "refused EVENT.d: nothing to run");
	strlist_free(&l);

	if (geteuid() == 0) {
		(void)script("foreign", "exit 0");
		if (chown(in_dir(hdir, "foreign"), 65534, 65534) == 0) {
			is_int(handler_resolve(conf, ep, "foreign", &l, &e),
			    -1, "handler of another user: refused");
			ok(strstr(e.msg, "belongs to uid 65534") != NULL,
			    "says whose it is");
			strlist_free(&l);
		} else
			ok(0, "chown for the foreign-owner case");
	} else {
		ok(1, "# SKIP foreign owner needs root");
		ok(1, "# SKIP foreign owner needs root");
	}
}

/* [delivery] rlimit_* reach the handler. */
static void
test_rlimits(void)
{
	struct handler_limits	 l;
	struct handler_result	 r;
	struct err		 e;
	char			*out;
	size_t			 len;
	int			 in = open("/dev/null", O_RDONLY | O_CLOEXEC);

	memset(&l, 0, sizeof(l));
	l.cwd = work;
	l.timeout = 10;
	l.grace = 1;
	l.nofile = 37;
	l.cpu = 7;
	l.as = 512UL * 1024 * 1024;
	is_int(handler_run(script("limits", "{ ulimit -n; ulimit -t; "
	    "ulimit -v; } > limits.out"), in, 0, envp, &l, &r, &e), 0,
	    "rlimits: ran");
	is_int(r.exited && r.code == 0, 1, "rlimits: exit 0");
	handler_result_free(&r);
	out = slurp("limits.out", &len);
	is_str(out, "37\n7\n524288\n",
	    "rlimit_nofile 37, rlimit_cpu 7s, rlimit_as 512M seen by it");
	free(out);
	(void)close(in);
}

static void
test_stdin_offset(void)
{
	static const char	 input[] = "HEADER\nBODY\0\xff";
	struct handler_result	 r;
	struct err		 e;
	char			*p;
	size_t			 len = 0;
	int			 in, rc;

	(void)put(in_dir(work, "input"), input, sizeof(input) - 1, 0600);
	in = open(in_dir(work, "input"), O_RDONLY | O_CLOEXEC);
	rc = handler_run(script("cat", "cat > out"), in, 7, envp, lim(10, 1),
	    &r, &e);
	(void)close(in);
	is_int(rc, 0, "stdin: handler ran");
	is_int(r.exited, 1, "stdin: exited");
	is_int(r.code, 0, "stdin: exit 0");
	p = slurp("out", &len);
	is_int(len, 6, "stdin from offset 7: 6 bytes");
	ok(p != NULL && len == 6 && memcmp(p, "BODY\0\xff", 6) == 0,
	    "stdin from offset 7: exactly BODY NUL 0xff");
	free(p);
	handler_result_free(&r);
}

static void
test_status(void)
{
	struct handler_result	r;
	struct err		e;
	char			s[64];
	int			in = open("/dev/null", O_RDONLY | O_CLOEXEC);

	is_int(run("exit3", "exit 3", 10, &r), 0, "exit 3: ran");
	is_int(r.exited, 1, "exit 3: exited = 1");
	is_int(r.code, 3, "exit 3: code = 3");
	is_int(r.signo, 0, "exit 3: no signal");
	is_int(r.timed_out, 0, "exit 3: not timed out");
	handler_result_str(&r, s, sizeof(s));
	is_str(s, "exit 3", "exit 3: result string");
	handler_result_free(&r);

	is_int(run("kill9", "kill -9 $$\nexit 0", 10, &r), 0, "kill -9: ran");
	is_int(r.exited, 0, "kill -9: exited = 0");
	is_int(r.signo, 9, "kill -9: signo = 9");
	is_int(r.timed_out, 0, "kill -9: not timed out");
	handler_result_str(&r, s, sizeof(s));
	is_str(s, "signal 9", "kill -9: result string");
	handler_result_free(&r);

	/* The responder may ignore SIGTERM; a handler starts with the
	 * default disposition. */
	(void)signal(SIGTERM, SIG_IGN);
	is_int(run("term", "kill -TERM $$\nexit 0", 10, &r), 0, "TERM: ran");
	(void)signal(SIGTERM, SIG_DFL);
	is_int(r.signo, SIGTERM,
	    "SIGTERM ignored by us is default in the handler");
	handler_result_free(&r);

	/* The reason is said under the name of the program that spawned
	 * the handler. */
	say_init("/usr/bin/hookpipe-run");
	is_int(handler_run(in_dir(hdir, "does-not-exist"), in, 0, envp,
	    lim(10, 1), &r, &e), 0, "missing program: handler_run returns 0");
	is_int(r.exited, 1, "missing program: exited");
	is_int(r.code, 127, "missing program: code 127");
	ok(strncmp(r.tail, "hookpipe-run: fatal: unable to run ", 35) == 0 &&
	    strstr(r.tail, "does-not-exist: No such file or directory\n") !=
	    NULL, "missing program: reason on stderr, in the spawner's name");
	handler_result_free(&r);
	(void)put(in_dir(hdir, "noexec"), "#!/bin/sh\n", 10, 0644);
	is_int(handler_run(in_dir(hdir, "noexec"), in, 0, envp, lim(10, 1),
	    &r, &e), 0, "non-executable program: handler_run returns 0");
	is_int(r.code, 126, "non-executable program: code 126");
	handler_result_free(&r);
	(void)close(in);
}

static void
test_output(void)
{
	struct handler_result	 r;
	char			 full[2001], *big;
	size_t			 i;

	/* 200 lines of 10 bytes, written one printf at a time. */
	for (i = 0; i < 200; i++)
		(void)snprintf(full + i * 10, 11, "%09zu\n", i);
	is_int(run("stderr", "i=0\nwhile [ $i -lt 200 ]; do "
	    "printf '%09d\\n' $i; i=$((i+1)); done >&2", 10, &r), 0,
	    "stderr 2000 bytes: ran");
	is_int(r.taillen, 512, "stderr: taillen 512");
	ok(memcmp(r.tail, full + 2000 - 512, 512) == 0,
	    "stderr: the tail is the last 512 bytes");
	is_int(r.tail[512], 0, "stderr: tail NUL-terminated");
	is_int(r.out.len, 0, "stderr only: stdout empty");
	handler_result_free(&r);

	/* The same 2000 bytes in one write. */
	(void)put(in_dir(work, "big"), full, 2000, 0644);
	is_int(run("stderr1", "cat big >&2", 10, &r), 0,
	    "stderr one write: ran");
	is_int(r.taillen, 512, "stderr one write: taillen 512");
	ok(memcmp(r.tail, full + 2000 - 512, 512) == 0,
	    "stderr one write: the last 512 bytes");
	handler_result_free(&r);

	is_int(run("short", "printf 'oops' >&2", 10, &r), 0, "short stderr");
	is_int(r.taillen, 4, "short stderr: taillen 4");
	is_str(r.tail, "oops", "short stderr: kept whole");
	handler_result_free(&r);

	is_int(run("stdout", "printf 'hello\\nworld'\nprintf 'x' >&2", 10,
	    &r), 0, "stdout: ran");
	is_int(r.out.len, 11, "stdout: 11 bytes");
	is_str(buf_cstr(&r.out), "hello\nworld", "stdout captured exactly");
	is_str(r.tail, "x", "stdout and stderr kept apart");
	handler_result_free(&r);

	/* Over HANDLER_OUT_MAX: what is kept must be a prefix of what was
	 * written, never a splice of pieces. */
	big = malloc(65000 + 4000 + 3);
	memset(big, 'a', 65000);
	memset(big + 65000, 'b', 4000);
	memcpy(big + 69000, "END", 3);
	is_int(run("bigout", "head -c 65000 /dev/zero | tr '\\0' a\nsleep 0.3\n"
	    "head -c 4000 /dev/zero | tr '\\0' b\nsleep 0.3\nprintf END", 10,
	    &r), 0, "stdout over 64 KiB: ran");
	ok(r.out.len <= HANDLER_OUT_MAX, "stdout over 64 KiB: at most 64 KiB "
	    "kept (%zu)", r.out.len);
	ok(r.out.len >= 65000 && r.out.len <= HANDLER_OUT_MAX &&
	    memcmp(r.out.p, big, r.out.len) == 0,
	    "stdout over 64 KiB: kept bytes are a prefix of the output "
	    "");
	if (r.out.len >= 3)
		printf("#   kept %zu bytes ending \"%.3s\"\n", r.out.len,
		    r.out.p + r.out.len - 3);
	free(big);
	handler_result_free(&r);
}

/* 1 when the process is gone: no such pid, or a zombie. Our PID 1 may
 * not reap orphans, so a dead grandchild can linger as a zombie. */
static int
gone(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	int	 dead = 0;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return errno == ENOENT;
	if (fgets(buf, sizeof(buf), f) != NULL &&
	    (p = strrchr(buf, ')')) != NULL)
		dead = p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
	(void)fclose(f);
	return dead;
}

static void
test_timeout(void)
{
	struct handler_result	 r;
	struct timespec		 t0, t1;
	char			*p, s[64];
	size_t			 len = 0;
	long			 ms;
	pid_t			 bg = 0;
	int			 i;

	(void)unlink(in_dir(work, "pidfile"));
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(run("slow", "sleep 30 &\necho $! > pidfile\nsleep 30", 1, &r), 0,
	    "timeout: ran");
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	is_int(r.timed_out, 1, "timeout: timed_out = 1");
	is_int(r.exited, 0, "timeout: not exited");
	is_int(r.signo, SIGTERM, "timeout: stopped by SIGTERM");
	ok(ms < 5000, "timeout 1 s, grace 1 s: back within 5 s (%ld ms)", ms);
	handler_result_str(&r, s, sizeof(s));
	is_str(s, "timeout", "timeout: result string");
	handler_result_free(&r);

	p = slurp("pidfile", &len);
	if (p != NULL)
		bg = (pid_t)atol(p);
	free(p);
	ok(bg > 1, "timeout: background pid recorded (%ld)", (long)bg);
	for (i = 0; bg > 1 && i < 40 && !gone(bg); i++)
		(void)usleep(50 * 1000);
	ok(bg > 1 && gone(bg), "timeout: the background sleep is gone too");

	/* A handler that ignores SIGTERM is killed after the grace. */
	is_int(run("stubborn", "trap '' TERM\nsleep 30", 1, &r), 0,
	    "stubborn: ran");
	is_int(r.timed_out, 1, "stubborn: timed_out = 1");
	is_int(r.signo, SIGKILL, "stubborn: SIGKILL after the grace");
	handler_result_free(&r);
}

static void
test_env(void)
{
	struct handler_meta	 m;
	struct handler_result	 r;
	struct envvar		 ev[2];
	char			**v, *p, *line;
	struct err		 e;
	size_t			 len = 0, n;
	int			 http = 0, in;

	memset(&m, 0, sizeof(m));
	m.event = "booking.updated";
	m.id = "evt_01";
	m.request_id = "req-1";
	m.received_at = "2025-11-28T08:54:03.123456Z";
	m.remote_addr = "192.0.2.1";
	m.spool_file = "/spool/cur/x";
	m.mode = "queue";
	m.attempt = 2;
	ev[0].name = (char *)(uintptr_t)"FOO";
	ev[0].value = (char *)(uintptr_t)"bar";
	conf->env = ev;
	conf->nenv = 1;
	(void)setenv("HOME", "/home/test", 1);
	(void)unsetenv("LANG");
	(void)setenv("HTTP_X_AUTH_TOKEN", "secret", 1);
	(void)setenv("HTTP_PROXY", "http://evil", 1);

	v = handler_env(conf, &m);
	ok(v != NULL, "handler_env builds");
	for (n = 0; v != NULL && v[n] != NULL; n++)
		;
	is_int(n, 12, "12 variables");
	if (n == 12) {
		is_str(v[0], "PATH=/usr/bin:/bin", "PATH from the conf");
		is_str(v[1], "HOME=/home/test", "HOME from our environment");
		is_str(v[2], "LANG=C.UTF-8", "LANG defaults to C.UTF-8");
		is_str(v[3], "FOO=bar", "[env] FOO");
		is_str(v[4], "HOOKPIPE_EVENT=booking.updated",
		    "HOOKPIPE_EVENT");
		is_str(v[5], "HOOKPIPE_ID=evt_01", "HOOKPIPE_ID");
		is_str(v[6], "HOOKPIPE_REQUEST_ID=req-1",
		    "HOOKPIPE_REQUEST_ID");
		is_str(v[7], "HOOKPIPE_RECEIVED_AT=2025-11-28T08:54:03.123456Z",
		    "HOOKPIPE_RECEIVED_AT");
		is_str(v[8], "HOOKPIPE_ATTEMPT=2", "HOOKPIPE_ATTEMPT");
		is_str(v[9], "HOOKPIPE_SPOOL_FILE=/spool/cur/x",
		    "HOOKPIPE_SPOOL_FILE");
		is_str(v[10], "HOOKPIPE_MODE=queue", "HOOKPIPE_MODE");
		is_str(v[11], "HOOKPIPE_REMOTE_ADDR=192.0.2.1",
		    "HOOKPIPE_REMOTE_ADDR");
	}

	in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	is_int(handler_run(script("env", "env > out"), in, 0, v, lim(10, 1),
	    &r, &e), 0, "env: ran");
	(void)close(in);
	handler_result_free(&r);
	p = slurp("out", &len);
	ok(p != NULL && strstr(p, "HOOKPIPE_EVENT=booking.updated\n") != NULL,
	    "handler sees HOOKPIPE_EVENT=booking.updated");
	ok(p != NULL && strstr(p, "\nPATH=/usr/bin:/bin\n") != NULL,
	    "handler sees PATH=/usr/bin:/bin");
	ok(p != NULL && strstr(p, "FOO=bar\n") != NULL, "handler sees FOO=bar");
	for (line = p; line != NULL && *line != '\0'; ) {
		if (strncmp(line, "HTTP_", 5) == 0) {
			http++;
			printf("#   leaked: %.40s\n", line);
		}
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	ok(p != NULL, "env output read");
	is_int(http, 0, "no HTTP_* variable reaches the handler");
	ok(p != NULL && strstr(p, "secret") == NULL,
	    "the token value is absent");
	free(p);
	handler_env_free(v);

	/* [env] may override HOME and LANG. */
	ev[0].name = (char *)(uintptr_t)"HOME";
	ev[0].value = (char *)(uintptr_t)"/custom";
	ev[1].name = (char *)(uintptr_t)"LANG";
	ev[1].value = (char *)(uintptr_t)"de_DE.UTF-8";
	conf->nenv = 2;
	m.id = NULL;
	v = handler_env(conf, &m);
	for (n = 0; v != NULL && v[n] != NULL; n++)
		;
	is_int(n, 11, "with [env] HOME and LANG: 11 variables");
	if (n == 11) {
		is_str(v[1], "HOME=/custom", "[env] HOME replaces ours");
		is_str(v[2], "LANG=de_DE.UTF-8",
		    "[env] LANG replaces the default");
		is_str(v[4], "HOOKPIPE_ID=", "NULL id: empty HOOKPIPE_ID");
	}
	handler_env_free(v);
	conf->env = NULL;
	conf->nenv = 0;
	(void)unsetenv("HTTP_X_AUTH_TOKEN");
	(void)unsetenv("HTTP_PROXY");
}

static void
test_process(void)
{
	struct handler_result	 r;
	char			*p, want[600];
	size_t			 len = 0;
	long			 pgid = -1, pid = -2;
	int			 extra;

	/* A descriptor without O_CLOEXEC, well above the low numbers. */
	extra = open("/dev/null", O_RDONLY);
	if (extra != -1 && dup2(extra, 40) == 40) {
		(void)close(extra);
		extra = 40;
	}
	is_int(run("fds", "ls /proc/self/fd > out", 10, &r), 0, "fds: ran");
	handler_result_free(&r);
	p = slurp("out", &len);
	ok(p != NULL && strstr(p, "40\n") == NULL,
	    "our descriptor 40 is not inherited");
	/* A script is read by its interpreter from /dev/fd/3, the program
	 * hookpipe checked and ran; ls opens 4 for /proc/self/fd. */
	is_str(p, "0\n1\n2\n3\n4\n",
	    "a script: 0 1 2, the program on 3, and the one ls opens");
	free(p);
	is_int(run("fd3", "readlink /proc/self/fd/3 > out; echo $0 >> out; "
	    "echo $HOOKPIPE_HANDLER >> out", 10, &r), 0, "fd3: ran");
	handler_result_free(&r);
	p = slurp("out", &len);
	(void)snprintf(want, sizeof(want), "%s\n/dev/fd/3\n%s\n",
	    in_dir(hdir, "fd3"), in_dir(hdir, "fd3"));
	is_str(p, want, "a script: descriptor 3 is its own program, $0 "
	    "/dev/fd/3, its path in HOOKPIPE_HANDLER");
	free(p);
	{
		/* A binary keeps nothing open: ls run from its folder. */
		struct handler_limits	l;
		struct err		e;
		int			in = open("/dev/null", O_RDONLY |
					    O_CLOEXEC);
		char			ls[PATH_MAX];

		memset(&l, 0, sizeof(l));
		l.cwd = "/proc/self/fd";
		l.timeout = 10;
		l.grace = 1;
		if (realpath("/bin/ls", ls) == NULL)
			(void)snprintf(ls, sizeof(ls), "/bin/ls");
		is_int(handler_run(ls, in, 0, envp, &l, &r, &e), 0,
		    "binary: ran");
		is_str(buf_cstr(&r.out), "0\n1\n2\n3\n",
		    "a binary: only 0 1 2 and the one ls opens");
		handler_result_free(&r);
		(void)close(in);
	}
	(void)close(extra);

	(void)umask(022);
	is_int(run("umask", "umask > out", 10, &r), 0, "umask: ran");
	handler_result_free(&r);
	p = slurp("out", &len);
	is_str(p, "0077\n", "umask 077 in the handler");
	free(p);

	is_int(run("cwd", "pwd > out", 10, &r), 0, "cwd: ran");
	handler_result_free(&r);
	p = slurp("out", &len);
	(void)snprintf(want, sizeof(want), "%s\n", work);
	is_str(p, want, "working folder is the one given");
	free(p);

	/* Field 5 of /proc/PID/stat is the process group ("sh" has no
	 * space in its name). */
	is_int(run("pgrp", "cut -d' ' -f5 /proc/$$/stat > out\necho $$ >> out",
	    10, &r), 0, "process group: ran");
	handler_result_free(&r);
	p = slurp("out", &len);
	ok(p != NULL && sscanf(p, "%ld %ld", &pgid, &pid) == 2 && pgid == pid,
	    "handler leads its own process group");
	ok(pgid != (long)getpgrp(), "not our process group");
	free(p);
}

int
main(void)
{
	struct stat st;

	if (mkdtemp(root) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	(void)snprintf(hdir, sizeof(hdir), "%s/handlers", root);
	(void)snprintf(work, sizeof(work), "%s/work", root);
	if (mkdir(hdir, 0755) == -1 || mkdir(work, 0700) == -1 ||
	    stat(work, &st) == -1) {
		ok(0, "setup");
		return tap_done();
	}
	conf = calloc(1, sizeof(*conf));
	conf->ep = calloc(1, sizeof(*conf->ep));
	conf->nep = 1;
	ep = &conf->ep[0];
	ep->enabled = 1;
	ep->handlers_dir = strdup(hdir);
	conf->handler_path = strdup("/usr/bin:/bin");
	conf->timeout = 10;
	conf->kill_grace = 1;
	{
		struct handler_meta m;

		memset(&m, 0, sizeof(m));
		m.event = "test";
		envp = handler_env(conf, &m);
	}

	test_resolve();
	test_resolve_event_conf();
	test_resolve_safety();
	test_rlimits();
	test_stdin_offset();
	test_status();
	test_output();
	test_timeout();
	test_env();
	test_process();

	handler_env_free(envp);
	conf_free(conf);
	{
		char cmd[600];

		/* Our own temporary tree only. */
		(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
		if (system(cmd) != 0)
			printf("# could not remove %s\n", root);
	}
	return tap_done();
}
