/* handler: run-parts style resolution and a careful spawn: fixed argv,
 * no shell, allow-listed environment, no inherited descriptors, its own
 * process group so a timeout can stop everything it started. */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handler.h"

static int
is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 when path lies in dir (both resolved, no symlinks). */
static int
path_within(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return 1;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* A folder programs are taken from: writable by group or others, a
 * program in it could be swapped between the check and the run. */
static int
dir_safe(const char *what, const char *dir, struct err *e)
{
	struct stat st;

	if (stat(dir, &st) == -1)
		return err_sys(e, "%s %s", what, dir);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, "%s %s is writable by %s: refused (chmod "
		    "go-w %s)", what, dir, st.st_mode & S_IWOTH ? "others" :
		    "its group", dir);
	return 0;
}

int
handler_safe(const struct endpoint *ep, const char *path, int anywhere,
    char real[PATH_MAX], struct err *e)
{
	struct stat	st;
	char		dir[PATH_MAX];

	if (realpath(path, real) == NULL)
		return err_sys(e, "handler %s", path);
	/* A program named in the INI by absolute path may live anywhere;
	 * everything else must stay inside handlers_dir. */
	if (!anywhere) {
		if (realpath(ep->handlers_dir, dir) == NULL)
			return err_sys(e, "handlers_dir %s", ep->handlers_dir);
		if (!path_within(dir, real))
			return err_set(e, "handler %s resolves to %s, outside "
			    "handlers_dir %s: refused (move it in, or name it "
			    "by absolute path in [event] handler)", path, real,
			    dir);
		if (dir_safe("handlers_dir", dir, e) == -1)
			return -1;
	}
	if (stat(real, &st) == -1)
		return err_sys(e, "handler %s", real);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(e, "handler %s is writable by %s: refused "
		    "(chmod go-w %s)", real, st.st_mode & S_IWOTH ? "others" :
		    "its group", real);
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return err_set(e, "handler %s belongs to uid %lu, neither this "
		    "user (%lu) nor root: refused (chown it)", real,
		    (unsigned long)st.st_uid, (unsigned long)geteuid());
	return 0;
}

int
handler_resolve(const struct conf *c, const struct endpoint *ep,
    const char *event, struct strlist *l, struct err *e)
{
	const struct event_conf	*ev;
	struct dirent		*de;
	struct stat		 st;
	DIR			*dir;
	char			 path[PATH_MAX], sub[PATH_MAX];
	char			 real[PATH_MAX];
	size_t			 i;

	l->v = NULL;
	l->n = 0;
	if ((ev = conf_event(c, event)) != NULL && ev->handler != NULL) {
		if (ev->handler[0] == '/')
			(void)snprintf(path, sizeof(path), "%s", ev->handler);
		else if (snprintf(path, sizeof(path), "%s/%s",
		    ep->handlers_dir, ev->handler) >= (int)sizeof(path))
			return err_set(e, "handler path too long");
		if (handler_safe(ep, path, ev->handler[0] == '/', real, e) ==
		    -1)
			return -1;
		return strlist_push(l, real) == -1 ? err_sys(e, "handler list") : 0;
	}
	if (snprintf(path, sizeof(path), "%s/%s", ep->handlers_dir, event) >=
	    (int)sizeof(path))
		return err_set(e, "handler path too long");
	if (is_exec_file(path)) {
		if (handler_safe(ep, path, 0, real, e) == -1)
			return -1;
		return strlist_push(l, real) == -1 ? err_sys(e, "handler list") : 0;
	}
	if (snprintf(path, sizeof(path), "%s/%s.d", ep->handlers_dir, event) >=
	    (int)sizeof(path))
		return err_set(e, "handler path too long");
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))
		return 0;
	if (dir_safe("handler folder", path, e) == -1)
		return -1;
	if ((dir = opendir(path)) == NULL)
		return err_sys(e, "unable to read %s", path);
	while ((de = readdir(dir)) != NULL) {
		size_t n = strlen(de->d_name);

		/* Skip hidden files and editor or package-manager leftovers. */
		if (de->d_name[0] == '.' || de->d_name[n - 1] == '~' ||
		    strstr(de->d_name, ".dpkg-") != NULL)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub) || !is_exec_file(sub))
			continue;
		if (strlist_push(l, sub) == -1) {
			err_sys(e, "handler list");
			goto fail;
		}
	}
	(void)closedir(dir);
	dir = NULL;
	/* In the order of their names; then each by its resolved path, the
	 * one that runs (a link in EVENT.d keeps its place). */
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (i = 0; i < l->n; i++) {
		if (handler_safe(ep, l->v[i], 0, real, e) == -1)
			goto fail;
		free(l->v[i]);
		if ((l->v[i] = strdup(real)) == NULL) {
			err_sys(e, "handler list");
			goto fail;
		}
	}
	return 0;
fail:
	if (dir != NULL)
		(void)closedir(dir);
	strlist_free(l);
	return -1;
}

void
handler_limits(const struct conf *c, const struct endpoint *ep,
    const struct event_conf *ev, struct handler_limits *lim)
{
	memset(lim, 0, sizeof(*lim));
	lim->cwd = ep != NULL ? ep->handlers_dir : NULL;
	lim->timeout = conf_timeout(c, ev);
	lim->grace = c->kill_grace;
	lim->as = c->rlimit_as;
	lim->cpu = c->rlimit_cpu;
	lim->nofile = c->rlimit_nofile;
}

static int
env_push(char ***v, size_t *n, const char *name, const char *value)
{
	char **nv;

	if ((nv = reallocarray(*v, *n + 2, sizeof(**v))) == NULL)
		return -1;
	*v = nv;
	if (asprintf(&nv[*n], "%s=%s", name, value ? value : "") == -1)
		return -1;
	(*n)++;
	nv[*n] = NULL;
	return 0;
}

static int
env_has(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nenv; i++)
		if (strcmp(c->env[i].name, name) == 0)
			return 1;
	return 0;
}

char **
handler_env(const struct conf *c, const struct handler_meta *m)
{
	struct passwd	*pw;
	const char	*home = "/", *lang;
	char		**v = NULL, attempt[16];
	size_t		  n = 0, i;
	int		  rc = 0;

	/* getpwuid only when needed: in a static build it reads NSS. */
	if (!env_has(c, "HOME") && ((home = getenv("HOME")) == NULL ||
	    *home == '\0'))
		home = (pw = getpwuid(getuid())) != NULL ? pw->pw_dir : "/";
	if ((lang = getenv("LANG")) == NULL || *lang == '\0')
		lang = "C.UTF-8";
	rc |= env_push(&v, &n, "PATH", c->handler_path);
	if (!env_has(c, "HOME"))
		rc |= env_push(&v, &n, "HOME", home);
	if (!env_has(c, "LANG"))
		rc |= env_push(&v, &n, "LANG", lang);
	for (i = 0; i < c->nenv; i++)
		rc |= env_push(&v, &n, c->env[i].name, c->env[i].value);
	if (m == NULL)		/* an alert program: no event */
		return rc != 0 ? (handler_env_free(v), NULL) : v;
	(void)snprintf(attempt, sizeof(attempt), "%d", m->attempt);
	rc |= env_push(&v, &n, "HOOKPIPE_EVENT", m->event);
	if (m->endpoint != NULL)
		rc |= env_push(&v, &n, "HOOKPIPE_ENDPOINT", m->endpoint);
	rc |= env_push(&v, &n, "HOOKPIPE_ID", m->id);
	rc |= env_push(&v, &n, "HOOKPIPE_REQUEST_ID", m->request_id);
	rc |= env_push(&v, &n, "HOOKPIPE_RECEIVED_AT", m->received_at);
	rc |= env_push(&v, &n, "HOOKPIPE_ATTEMPT", attempt);
	rc |= env_push(&v, &n, "HOOKPIPE_SPOOL_FILE", m->spool_file);
	rc |= env_push(&v, &n, "HOOKPIPE_MODE", m->mode);
	rc |= env_push(&v, &n, "HOOKPIPE_REMOTE_ADDR", m->remote_addr);
	if (m->content_type != NULL)
		rc |= env_push(&v, &n, "HOOKPIPE_CONTENT_TYPE",
		    m->content_type);
	if (m->traceparent != NULL)
		rc |= env_push(&v, &n, "TRACEPARENT", m->traceparent);
	if (rc != 0) {
		handler_env_free(v);
		return NULL;
	}
	return v;
}

void
handler_env_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Close the descriptors from lo up to, not including, hi. */
static void
close_fds(int lo, int hi)
{
	long fd, max;

	if (lo >= hi)
		return;
#ifdef HAVE_CLOSE_RANGE
	if (close_range((unsigned)lo, (unsigned)hi - 1, 0) == 0)
		return;
#endif
	max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	if (max > hi)
		max = hi;
	for (fd = lo; fd < max; fd++)
		(void)close((int)fd);
}

/* Lower a resource limit (0: leave it); never above the hard limit. */
static int
set_limit(int res, size_t v)
{
	struct rlimit rl;

	if (v == 0)
		return 0;
	if (getrlimit(res, &rl) == -1)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && (rlim_t)v > rl.rlim_max)
		v = (size_t)rl.rlim_max;
	rl.rlim_cur = (rlim_t)v;
	if (res == RLIMIT_CPU && rl.rlim_max == RLIM_INFINITY)
		rl.rlim_max = (rlim_t)v + 5;	/* SIGXCPU, then SIGKILL */
	else if (res != RLIMIT_CPU)
		rl.rlim_max = (rlim_t)v;
	return setrlimit(res, &rl);
}

/*
 * The spawn. fork() copies the runner's page tables and then takes a
 * copy-on-write fault for every page either side touches before the
 * exec: on a virtual machine that was most of the CPU a delivery cost.
 * The child here shares the runner's memory (CLONE_VM) on a stack of
 * its own, and the runner sleeps (CLONE_VFORK) until it has called
 * execve or exited. So the child keeps to system calls and to functions
 * that take no lock and allocate nothing; the messages are formatted by
 * the runner, from what the child reports through a close-on-exec pipe
 * (which also works where clone behaves as fork, as under valgrind).
 */
#define SPAWN_STACK	(128 * 1024)

/* AddressSanitizer cannot follow code on a stack it did not make: the
 * sanitizer build forks (the same child, the same report pipe). */
#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_FORK	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_FORK	1
#endif
#endif

enum spawn_stage {
	SPAWN_OK,
	SPAWN_PDEATHSIG,	/* the runner died before we could ask */
	SPAWN_NOTE,
	SPAWN_FDS,
	SPAWN_CWD,
	SPAWN_LIMITS,
	SPAWN_UNSAFE,		/* err: one of enum unsafe */
	SPAWN_EXEC
};

/* Why the program's descriptor was refused. */
enum unsafe {
	UNSAFE_TYPE = 1,	/* not a regular file */
	UNSAFE_MODE,		/* group or others may write it */
	UNSAFE_OWNER,		/* neither ours nor root's */
	UNSAFE_MOVED		/* its path now leads to another file */
};

/* The descriptor a program is run from, in the child. */
#define PROG_FD		3

struct spawn {
	pid_t				 parent;
	const char			*path;
	int				 in;
	off_t				 off;
	int				 out;
	int				 errfd;
	int				 report;	/* write end, close-on-exec */
	char *const			*envp;
	const struct handler_limits	*lim;
	int				 note;
	char				 time[40];	/* of the "run" record */
};

struct spawn_report {
	int	stage;
	int	err;
};

static int
spawn_report(int report, int stage, int err)
{
	struct spawn_report r;

	r.stage = stage;
	r.err = err;
	(void)write(report, &r, sizeof(r));
	if (stage == SPAWN_UNSAFE)
		return 126;
	return stage == SPAWN_EXEC ? (r.err == ENOENT ? 127 : 126) : 111;
}

static int
spawn_fail(int report, int stage)
{
	return spawn_report(report, stage, errno);
}

/* Is the program open at PROG_FD the one resolved (path, no links) and
 * one hookpipe may run? Checked on the descriptor, which is then what
 * runs: a file swapped in under the same name afterwards is never
 * executed. 0, or an enum unsafe. */
static int
prog_unsafe(const char *path)
{
	static const char	self[] = "/proc/self/fd/3";
	struct stat		st;
	char			at[PATH_MAX];
	ssize_t			n;

	if (fstat(PROG_FD, &st) == -1 || !S_ISREG(st.st_mode))
		return UNSAFE_TYPE;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return UNSAFE_MODE;
	if (st.st_uid != geteuid() && st.st_uid != 0)
		return UNSAFE_OWNER;
	/* O_NOFOLLOW guards the last name only: a folder of the path
	 * swapped for a link would lead elsewhere. The file opened must
	 * still be the one at the resolved path. */
	n = readlink(self, at, sizeof(at) - 1);
	if (n <= 0 || (size_t)n != strlen(path) ||
	    memcmp(at, path, (size_t)n) != 0)
		return UNSAFE_MOVED;
	return 0;
}

static void
exec_prog(char *const *argv, char *const *envp)
{
#if defined(SYS_execveat)
	(void)syscall(SYS_execveat, PROG_FD, "", argv, envp, AT_EMPTY_PATH);
#else
	(void)fexecve(PROG_FD, argv, envp);
#endif
}

/* In the child, on the spawn stack: returns only to exit. */
static int
child(void *arg)
{
	const struct spawn	*a = arg;
	struct sigaction	 sa;
	sigset_t		 none;
	char			*argv[2];
	int			 sig, report = a->report, prog, why;

	(void)setpgid(0, 0);
	/* A handler does not outlive the process running it: a killed
	 * runner's handler must not run on beside its re-queued event. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != a->parent)
		return spawn_fail(report, SPAWN_PDEATHSIG);
	/* Say who runs before anything runs: whatever this handler starts
	 * is then findable by a runner recovering after a crash. */
	if (a->note != -1) {
		char	line[SPOOL_RUN_MAX];
		pid_t	me = getpid();
		size_t	n = spool_hist_run(line, a->time,
			    (unsigned long)me, handler_starttime(me));

		if (write_all(a->note, line, n) == -1)
			return spawn_fail(report, SPAWN_NOTE);
	}
	/* The web server may ignore SIGPIPE or block signals; a handler
	 * starts with the defaults. (The runner blocked every signal
	 * before the clone, so none of its handlers runs in here.) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	if (lseek(a->in, a->off, SEEK_SET) == -1 || dup2(a->in, 0) == -1 ||
	    dup2(a->out, 1) == -1 || dup2(a->errfd, 2) == -1)
		return spawn_fail(report, SPAWN_FDS);
	/* The program is opened once, here, and run from its descriptor:
	 * the file checked is the file run (no swap between a check by
	 * name and an exec by name). */
	if (report == PROG_FD &&
	    (report = fcntl(PROG_FD, F_DUPFD_CLOEXEC, PROG_FD + 1)) == -1)
		return spawn_fail(a->report, SPAWN_FDS);
	if ((prog = open(a->path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return spawn_fail(report, errno == ELOOP ? SPAWN_UNSAFE :
		    SPAWN_EXEC);
	if (prog != PROG_FD && dup3(prog, PROG_FD, O_CLOEXEC) == -1)
		return spawn_fail(report, SPAWN_FDS);
	/* Everything else from 3 up, but the report pipe (close-on-exec). */
	close_fds(PROG_FD + 1, report);
	close_fds(report + 1, INT_MAX);
	if ((why = prog_unsafe(a->path)) != 0)
		return spawn_report(report, SPAWN_UNSAFE, why);
	(void)umask(077);
	if (a->lim->cwd != NULL && chdir(a->lim->cwd) == -1)
		return spawn_fail(report, SPAWN_CWD);
	if (set_limit(RLIMIT_AS, a->lim->as) == -1 ||
	    set_limit(RLIMIT_CPU, (size_t)a->lim->cpu) == -1 ||
	    set_limit(RLIMIT_NOFILE, (size_t)a->lim->nofile) == -1)
		return spawn_fail(report, SPAWN_LIMITS);
	(void)sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	argv[0] = (char *)(uintptr_t)a->path;
	argv[1] = NULL;
	exec_prog(argv, a->envp);
	/* A script (#!) is read by its interpreter through /dev/fd/3,
	 * which a close-on-exec descriptor would not outlive: the kernel
	 * says ENOENT before anything is replaced. Keep it open for that. */
	if (errno == ENOENT && fcntl(PROG_FD, F_SETFD, 0) == 0)
		exec_prog(argv, a->envp);
	return spawn_fail(report, SPAWN_EXEC);
}

/* The child's failure, as the handler's stderr would have said it: in
 * the diagnostics' form, under the name of the program that spawned it
 * (hookpipe-run, hookpipe.fcgi, hookpipe replay --run), which this
 * parent, not the child, knows. */
static void
spawn_message(int errfd, const char *path, const struct spawn_report *r)
{
	const char	*prog = say_prog();
	char		 msg[PATH_MAX + 320];

	switch (r->stage) {
	case SPAWN_LIMITS:
		(void)snprintf(msg, sizeof(msg), "%s: fatal: unable to set "
		    "the [delivery] rlimit_* limits: %s\n", prog,
		    strerror(r->err));
		break;
	case SPAWN_CWD:
		(void)snprintf(msg, sizeof(msg), "%s: fatal: unable to enter "
		    "the handler's folder: %s\n", prog, strerror(r->err));
		break;
	case SPAWN_EXEC:
		(void)snprintf(msg, sizeof(msg), "%s: fatal: unable to run "
		    "%s: %s\n", prog, path, strerror(r->err));
		break;
	case SPAWN_UNSAFE:
		(void)snprintf(msg, sizeof(msg), "%s: fatal: refused to run "
		    "%s: %s\n", prog, path,
		    r->err == UNSAFE_MODE ? "group or others may write it" :
		    r->err == UNSAFE_OWNER ? "it belongs to another user" :
		    r->err == UNSAFE_MOVED ? "its path now leads to another "
		    "file (changed since it was checked)" :
		    r->err == ELOOP ? "it became a symbolic link since it was "
		    "checked" : "it is not a regular file");
		break;
	default:
		return;		/* nothing was said before either */
	}
	(void)write_all(errfd, msg, strlen(msg));
}

static void
tail_add(struct handler_result *r, const char *p, size_t n)
{
	if (n >= HANDLER_TAIL) {
		memcpy(r->tail, p + n - HANDLER_TAIL, HANDLER_TAIL);
		r->taillen = HANDLER_TAIL;
	} else if (r->taillen + n <= HANDLER_TAIL) {
		memcpy(r->tail + r->taillen, p, n);
		r->taillen += n;
	} else {
		size_t keep = HANDLER_TAIL - n;

		memmove(r->tail, r->tail + r->taillen - keep, keep);
		memcpy(r->tail + keep, p, n);
		r->taillen = HANDLER_TAIL;
	}
	r->tail[r->taillen] = '\0';
}

/* Read what is there; 0 at EOF, 1 when more may come. */
static int
pump(int fd, struct handler_result *r, int is_err)
{
	char	b[4096];
	ssize_t	n;

	for (;;) {
		n = read(fd, b, sizeof(b));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno == EAGAIN ? 1 : 0;
		if (n == 0)
			return 0;
		if (is_err)
			tail_add(r, b, (size_t)n);
		else if (r->out.len < HANDLER_OUT_MAX)	/* a prefix, never a splice */
			buf_add(&r->out, b, (size_t)n < HANDLER_OUT_MAX -
			    r->out.len ? (size_t)n : HANDLER_OUT_MAX - r->out.len);
	}
}

static int
open_pidfd(pid_t pid)
{
#if defined(SYS_pidfd_open)
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	errno = ENOSYS;
	return -1;
#endif
}

/* The stack the children run on before their exec: one at a time, as
 * the runner waits for each. */
static void *
spawn_stack(struct err *e)
{
	static void *stack;

	if (stack == NULL) {
		stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
		if (stack == MAP_FAILED) {
			stack = NULL;
			err_sys(e, "unable to map a stack for the handlers");
		}
	}
	return stack;
}

static void
close_pair(int p[2])
{
	if (p[0] != -1)
		(void)close(p[0]);
	if (p[1] != -1)
		(void)close(p[1]);
	p[0] = p[1] = -1;
}

int
handler_start(struct handler_job *j, const char *path, int in, off_t off,
    char *const *envp, const struct handler_limits *lim, int note,
    struct err *e)
{
	int			outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int			rep[2] = { -1, -1 };
	struct spawn		a;
	struct spawn_report	r;
	sigset_t		all, old;
	char			*stack, **env = NULL, *self = NULL;
	size_t			ne;
	ssize_t			n;

	memset(j, 0, sizeof(*j));
	j->outfd = j->errfd = j->pidfd = -1;
	if ((stack = spawn_stack(e)) == NULL)
		return -1;
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1 ||
	    pipe2(rep, O_CLOEXEC) == -1) {
		err_sys(e, "unable to make pipes for %s", path);
		goto fail;
	}
	/* Started with stdio closed: the report pipe must not be where the
	 * child puts the handler's stdin, stdout or stderr. */
	if (rep[1] < 3) {
		int fd = fcntl(rep[1], F_DUPFD_CLOEXEC, 3);

		(void)close(rep[1]);
		if ((rep[1] = fd) == -1) {
			err_sys(e, "unable to make pipes for %s", path);
			goto fail;
		}
	}
	memset(&a, 0, sizeof(a));
	a.parent = getpid();
	a.path = path;
	a.in = in;
	a.off = off;
	a.out = outp[1];
	a.errfd = errp[1];
	a.report = rep[1];
	/* A script's $0 is /dev/fd/3 (it runs from the descriptor checked):
	 * its own path comes in HOOKPIPE_HANDLER. */
	for (ne = 0; envp[ne] != NULL; ne++)
		;
	if ((env = reallocarray(NULL, ne + 2, sizeof(*env))) == NULL ||
	    asprintf(&self, "HOOKPIPE_HANDLER=%s", path) == -1) {
		self = NULL;
		err_sys(e, "unable to start %s", path);
		goto fail;
	}
	memcpy(env, envp, ne * sizeof(*env));
	env[ne] = self;
	env[ne + 1] = NULL;
	a.envp = env;
	a.lim = lim;
	a.note = note;
	fmt_time_us(now_us(), a.time, sizeof(a.time));
	j->start = mono_ms();
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, &old);
#ifdef SPAWN_FORK
	(void)stack;
	if ((j->pid = fork()) == 0)
		_exit(child(&a));
#else
	j->pid = clone(child, stack + SPAWN_STACK,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
#endif
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (j->pid == -1) {
		err_sys(e, "unable to start a process for %s", path);
		goto fail;
	}
	(void)setpgid(j->pid, j->pid);	/* both sides: no race with kill(-pid) */
	/* The child has called execve or exited; under a clone that
	 * behaved as fork this read waits for that. */
	(void)close(rep[1]);
	rep[1] = -1;
	do
		n = read(rep[0], &r, sizeof(r));
	while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(r))
		spawn_message(errp[1], path, &r);
	free(env);
	free(self);
	close_pair(rep);
	(void)close(outp[1]);
	(void)close(errp[1]);
	j->outfd = outp[0];
	j->errfd = errp[0];
	(void)fcntl(j->outfd, F_SETFL, O_NONBLOCK);
	(void)fcntl(j->errfd, F_SETFL, O_NONBLOCK);
	j->pidfd = open_pidfd(j->pid);
	j->deadline = j->start + lim->timeout * 1000;
	j->grace = lim->grace;
	return 0;
fail:
	free(env);
	free(self);
	close_pair(outp);
	close_pair(errp);
	close_pair(rep);
	return -1;
}

int
handler_pollfds(const struct handler_job *j, struct pollfd *p)
{
	int n = 0;

	if (j->outfd != -1) {
		p[n].fd = j->outfd;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	if (j->errfd != -1) {
		p[n].fd = j->errfd;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	if (j->pidfd != -1) {
		p[n].fd = j->pidfd;
		p[n].events = POLLIN;
		p[n++].revents = 0;
	}
	return n;
}

int64_t
handler_wake(const struct handler_job *j)
{
	/* Without a pidfd the exit is noticed by polling. */
	if (j->pidfd == -1 && j->deadline > mono_ms() + 50)
		return mono_ms() + 50;
	return j->deadline;
}

static void
job_close(struct handler_job *j)
{
	if (j->outfd != -1)
		(void)close(j->outfd);
	if (j->errfd != -1)
		(void)close(j->errfd);
	if (j->pidfd != -1)
		(void)close(j->pidfd);
	j->outfd = j->errfd = j->pidfd = -1;
}

int
handler_step(struct handler_job *j)
{
	struct handler_result	*r = &j->res;
	int			 status;

	if (j->done)
		return 1;
	if (j->outfd != -1 && pump(j->outfd, r, 0) == 0) {
		(void)close(j->outfd);
		j->outfd = -1;
	}
	if (j->errfd != -1 && pump(j->errfd, r, 1) == 0) {
		(void)close(j->errfd);
		j->errfd = -1;
	}
	if (waitpid(j->pid, &status, WNOHANG) == j->pid) {
		/* What the handler left in its pipes before it exited. */
		if (j->outfd != -1)
			(void)pump(j->outfd, r, 0);
		if (j->errfd != -1)
			(void)pump(j->errfd, r, 1);
		/* A timed-out handler's children go with it. */
		if (r->timed_out)
			(void)kill(-j->pid, SIGKILL);
		r->ms = mono_ms() - j->start;
		if (WIFEXITED(status)) {
			r->exited = 1;
			r->code = WEXITSTATUS(status);
		} else if (WIFSIGNALED(status))
			r->signo = WTERMSIG(status);
		job_close(j);
		j->done = 1;
		return 1;
	}
	if (mono_ms() >= j->deadline) {
		if (!j->termed) {
			r->timed_out = 1;
			(void)kill(-j->pid, SIGTERM);
			j->termed = 1;
			j->deadline = mono_ms() + j->grace * 1000;
		} else {
			(void)kill(-j->pid, SIGKILL);
			j->deadline = mono_ms() + 1000;
		}
	}
	return 0;
}

/* The process group and kernel start time (clock ticks after boot) of
 * a process, from /proc/PID/stat; -1 when it is gone. */
static int
proc_stat(long pid, pid_t *pgrp, unsigned long long *start)
{
	char	path[64], b[1024], *p, *end;
	ssize_t	n;
	int	fd, field;

	(void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, b, sizeof(b) - 1);
	(void)close(fd);
	/* After the command name in parentheses (which may hold anything):
	 * ") S ppid pgrp ...": pgrp is field 5, starttime 22. */
	if (n <= 0 || (b[n] = '\0', p = strrchr(b, ')')) == NULL)
		return -1;
	for (field = 2; *p != '\0' && field < 5; p++)
		if (*p == ' ')
			field++;
	*pgrp = (pid_t)strtol(p, &end, 10);
	for (p = end; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	*start = strtoull(p, NULL, 10);
	return 0;
}

unsigned long long
handler_starttime(pid_t pid)
{
	unsigned long long	start;
	pid_t			pgrp;

	return proc_stat((long)pid, &pgrp, &start) == 0 ? start : 0;
}

int
handler_reap_group(pid_t pgid, unsigned long long start, long span)
{
	unsigned long long	 st, end;
	struct dirent		*de;
	pid_t			 g;
	DIR			*d;
	int			 found, round;

	/* A pid names the same process only while its start time says so:
	 * members of that group started after its leader and before the
	 * leader's deadline; a reused pgid started later than that. */
	end = start + (unsigned long long)span *
	    (unsigned long long)sysconf(_SC_CLK_TCK);
	for (round = 0; round < 50; round++) {
		if ((d = opendir("/proc")) == NULL)
			return -1;
		found = 0;
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] < '1' || de->d_name[0] > '9')
				continue;
			if (proc_stat(atol(de->d_name), &g, &st) == 0 &&
			    g == pgid && st >= start && st <= end) {
				(void)kill((pid_t)atol(de->d_name), SIGKILL);
				found++;
			}
		}
		(void)closedir(d);
		if (found == 0)
			return round > 0;
		(void)usleep(20000);
	}
	return 1;
}

void
handler_kill(struct handler_job *j)
{
	if (!j->done)
		(void)kill(-j->pid, SIGKILL);
}

int
handler_run(const char *path, int in, off_t off, char *const *envp,
    const struct handler_limits *lim, struct handler_result *r,
    struct err *e)
{
	struct handler_job	j;
	struct pollfd		pfd[3];
	int64_t			wait;
	int			n;

	if (handler_start(&j, path, in, off, envp, lim, -1, e) == -1) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	while (!handler_step(&j)) {
		n = handler_pollfds(&j, pfd);
		wait = handler_wake(&j) - mono_ms();
		if (poll(pfd, (nfds_t)n, wait < 0 ? 0 : (int)wait) == -1 &&
		    errno != EINTR) {
			err_sys(e, "poll");
			handler_kill(&j);
		}
	}
	*r = j.res;
	return 0;
}

void
handler_result_free(struct handler_result *r)
{
	buf_free(&r->out);
}

void
handler_result_str(const struct handler_result *r, char *out, size_t len)
{
	if (r->timed_out)
		(void)snprintf(out, len, "timeout");
	else if (r->exited)
		(void)snprintf(out, len, "exit %d", r->code);
	else
		(void)snprintf(out, len, "signal %d", r->signo);
}
