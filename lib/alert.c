/* alert: the conditions of [alert] read from the spool (dead/, the
 * pending folders) and from the counters file (the runner's stamp, the
 * refusals per endpoint), a small state machine per condition kept in
 * SPOOL/alerts.state, and the alert program, spawned as a handler is
 * (lib/handler.c) with a JSON summary on stdin. */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "alert.h"
#include "deliver.h"
#include "handler.h"
#include "metrics.h"

#define STATE_FILE	"alerts.state"
#define LOCK_FILE	"alerts.lock"
#define STATE_MAX	(256 * 1024)
#define STATE_DEPTH	6
#define FIRST_IDS	10		/* dead events named in the summary */
#define MAX_ENDPOINTS	(METRICS_ENDPOINTS + 1)
#define MINUTE_US	60000000LL
#define SEC_US		1000000LL

static const char *const names[AL_NKINDS] = {
	"dead", "backlog", "runner", "refusals"
};

/* The reading of an endpoint's refusal count a rate is taken from. */
struct reading {
	char		name[64];
	uint64_t	count;
};

struct state {
	int64_t			evaluated;	/* last evaluation */
	int64_t			first;		/* first evaluation */
	struct alert_cond	cond[AL_NKINDS];
	int64_t			rtime;		/* refusal readings' time */
	struct reading		r[MAX_ENDPOINTS];
	size_t			nr;
};

/* What an evaluation found for one condition. */
struct finding {
	int		 holds;		/* 1, 0, -1: not known yet */
	long long	 count;		/* HOOKPIPE_ALERT_COUNT */
	struct buf	 detail;	/* JSON members for the summary */
};

const char *
alert_name(enum alert_kind k)
{
	return k < AL_NKINDS ? names[k] : "?";
}

enum alert_action
alert_step(struct alert_cond *c, int holds, int64_t now, int64_t window,
    int64_t repeat)
{
	if (!holds) {
		c->pending = 0;
		return c->active ? ALERT_RESOLVE : ALERT_NONE;
	}
	if (c->active)
		return repeat > 0 && now - c->notified >= repeat ?
		    ALERT_REMIND : ALERT_NONE;
	/* A clock set back would hold the window open for as long. */
	if (c->pending == 0 || c->pending > now)
		c->pending = now;
	return now - c->pending >= window ? ALERT_FIRE : ALERT_NONE;
}

void
alert_done(struct alert_cond *c, enum alert_action a, int64_t now)
{
	switch (a) {
	case ALERT_FIRE:
		c->active = 1;
		c->since = now;
		c->pending = 0;
		break;
	case ALERT_RESOLVE:
		c->active = 0;
		c->since = now;
		c->pending = 0;
		break;
	case ALERT_REMIND:
	case ALERT_NONE:
		break;
	}
	if (a != ALERT_NONE)
		c->notified = now;
}

/* The state file. JSON, so that an operator can read it; anything
 * unreadable starts afresh (at worst a condition fires once more). */

static int64_t
jint(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

static void
state_parse(struct state *st, const char *text)
{
	struct json_tokener	*tok;
	json_object		*o, *a, *c, *eps;
	size_t			 i;

	memset(st, 0, sizeof(*st));
	if ((tok = json_tokener_new_ex(STATE_DEPTH)) == NULL)
		return;
	o = json_tokener_parse_ex(tok, text, (int)strlen(text));
	json_tokener_free(tok);
	if (o == NULL)
		return;
	if (!json_object_is_type(o, json_type_object) || jint(o,
	    "version") != 1) {
		json_object_put(o);
		return;
	}
	st->evaluated = jint(o, "evaluated");
	st->first = jint(o, "first");
	if (json_object_object_get_ex(o, "alerts", &a) &&
	    json_object_is_type(a, json_type_object))
		for (i = 0; i < AL_NKINDS; i++) {
			if (!json_object_object_get_ex(a, names[i], &c) ||
			    !json_object_is_type(c, json_type_object))
				continue;
			st->cond[i].active = jint(c, "active") != 0;
			st->cond[i].since = jint(c, "since");
			st->cond[i].notified = jint(c, "notified");
			st->cond[i].pending = jint(c, "pending");
		}
	if (json_object_object_get_ex(o, "refusals", &a) &&
	    json_object_is_type(a, json_type_object)) {
		st->rtime = jint(a, "time");
		if (json_object_object_get_ex(a, "endpoints", &eps) &&
		    json_object_is_type(eps, json_type_object)) {
			json_object_object_foreach(eps, k, v) {
				if (st->nr == MAX_ENDPOINTS)
					break;
				(void)snprintf(st->r[st->nr].name,
				    sizeof(st->r[st->nr].name), "%s", k);
				st->r[st->nr++].count =
				    (uint64_t)json_object_get_int64(v);
			}
		}
	}
	json_object_put(o);
}

static void
state_encode(const struct state *st, struct buf *b)
{
	size_t i;

	buf_printf(b, "{\"version\":1,\"evaluated\":%" PRId64 ",\"first\":%"
	    PRId64 ",\"alerts\":{", st->evaluated, st->first);
	for (i = 0; i < AL_NKINDS; i++)
		buf_printf(b, "%s\"%s\":{\"active\":%d,\"since\":%" PRId64
		    ",\"notified\":%" PRId64 ",\"pending\":%" PRId64 "}",
		    i > 0 ? "," : "", names[i], st->cond[i].active,
		    st->cond[i].since, st->cond[i].notified,
		    st->cond[i].pending);
	buf_printf(b, "},\"refusals\":{\"time\":%" PRId64 ",\"endpoints\":{",
	    st->rtime);
	for (i = 0; i < st->nr; i++) {
		buf_puts(b, i > 0 ? "," : "");
		buf_json_cstr(b, st->r[i].name);
		buf_printf(b, ":%" PRIu64, st->r[i].count);
	}
	buf_puts(b, "}}}\n");
}

/* A file of the spool's own: no link, ours, not writable by others. */
static int
own_file(int fd, const char *path, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return err_sys(e, "unable to stat %s", path);
	if ((st.st_uid != geteuid() && geteuid() != 0) ||
	    (st.st_mode & 022) != 0)
		return err_set(e, "%s belongs to uid %lu or is writable by "
		    "others: refused (remove it; it is made again)", path,
		    (unsigned long)st.st_uid);
	return 0;
}

static int
state_load(struct spool *s, struct state *st, struct err *e)
{
	char	 path[PATH_MAX], *text = NULL;
	size_t	 len;
	int	 fd;

	memset(st, 0, sizeof(*st));
	if (snprintf(path, sizeof(path), "%s/" STATE_FILE, spool_path(s)) >=
	    (int)sizeof(path))
		return err_set(e, "%s/" STATE_FILE ": path too long",
		    spool_path(s));
	if ((fd = open_file(AT_FDCWD, path, O_RDONLY | O_NOFOLLOW, e)) == -1)
		return errno == ENOENT ? 0 : err_sys(e, "unable to open %s "
		    "(remove whatever is there; it is made again)", path);
	if (own_file(fd, path, e) == -1) {
		(void)close(fd);
		return -1;
	}
	(void)close(fd);
	if (read_file(path, STATE_MAX, &text, &len, e) == -1)
		return -1;
	state_parse(st, text);
	free(text);
	return 0;
}

/* tmp + fsync + rename: a reader sees the old state or the new one.
 * The folder is not flushed: after a power cut the old state may come
 * back, and a condition then fires or resolves once more. */
static int
state_save(struct spool *s, const struct state *st, struct err *e)
{
	struct buf	 b = { 0 };
	char		 path[PATH_MAX], tmp[PATH_MAX];
	int		 fd = -1, rc = -1;

	if (snprintf(path, sizeof(path), "%s/" STATE_FILE, spool_path(s)) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp), "%s/" STATE_FILE
	    ".tmp", spool_path(s)) >= (int)sizeof(tmp))
		return err_set(e, "%s/" STATE_FILE ": path too long",
		    spool_path(s));
	state_encode(st, &b);
	if (b.oom) {
		err_set(e, "%s: out of memory", path);
		goto out;
	}
	/* Under alerts.lock: nobody else writes the tmp file now. */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		err_sys(e, "unable to remove %s", tmp);
		goto out;
	}
	if ((fd = open_file(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW, e)) == -1) {
		err_sys(e, "unable to create %s", tmp);
		goto out;
	}
	if (fchmod(fd, 0600) == -1 || write_all(fd, b.p, b.len) == -1 ||
	    fsync(fd) == -1) {
		err_sys(e, "unable to write %s", tmp);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		err_sys(e, "unable to write %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		err_sys(e, "unable to rename %s to %s", tmp, path);
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	if (rc == -1)
		(void)unlink(tmp);
	buf_free(&b);
	return rc;
}

/* SPOOL/alerts.lock: one evaluation at a time. Not blocking: a runner
 * must not wait behind an alert program another process runs. 1 taken
 * (fd set), 0 busy, -1 error. */
static int
lock_take(struct spool *s, int *fdp, struct err *e)
{
	char	path[PATH_MAX];
	int	fd;

	if (snprintf(path, sizeof(path), "%s/" LOCK_FILE, spool_path(s)) >=
	    (int)sizeof(path))
		return err_set(e, "%s/" LOCK_FILE ": path too long",
		    spool_path(s));
	if ((fd = open_file(AT_FDCWD, path, O_RDWR | O_CREAT | O_NOFOLLOW,
	    e)) == -1)
		return err_sys(e, "unable to open %s (remove whatever is "
		    "there; it is made again)", path);
	if (own_file(fd, path, e) == -1 || fchmod(fd, 0600) == -1) {
		if (e->msg[0] == '\0')
			err_sys(e, "unable to set the mode of %s", path);
		(void)close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		(void)close(fd);
		if (errno == EWOULDBLOCK)
			return 0;
		return err_sys(e, "unable to lock %s", path);
	}
	*fdp = fd;
	return 1;
}

/* The conditions. */

static void
find_dead(struct spool *s, struct finding *f)
{
	struct envelope	 env;
	struct strlist	 l;
	struct err	 e;
	size_t		 i;
	int		 fd;

	if (spool_list(s, SP_DEAD, &l, &e) == -1) {
		f->holds = -1;		/* not known: nothing changes */
		return;
	}
	f->holds = l.n > 0;
	f->count = (long long)l.n;
	buf_printf(&f->detail, ",\"detail\":\"%zu event%s in dead/\","
	    "\"events\":[", l.n, l.n == 1 ? "" : "s");
	for (i = 0; i < l.n && i < FIRST_IDS; i++) {
		buf_printf(&f->detail, "%s{\"entry\":", i > 0 ? "," : "");
		buf_json_cstr(&f->detail, l.v[i]);
		if ((fd = spool_open_entry(s, SP_DEAD, l.v[i], &env, &e)) !=
		    -1) {
			buf_json_kv(&f->detail, "endpoint", env.endpoint);
			buf_json_kv(&f->detail, "event", env.event);
			buf_json_kv(&f->detail, "id", env.id);
			buf_json_kv(&f->detail, "received_at",
			    env.received_at);
			envelope_free(&env);
			(void)close(fd);
		}
		buf_putc(&f->detail, '}');
	}
	buf_putc(&f->detail, ']');
	strlist_free(&l);
}

struct oldest {
	int64_t		t;
	const char	*dir;
	char		name[SPOOL_NAME_MAX];
	long long	n;
};

static int
oldest_cb(void *arg, const char *name)
{
	struct oldest	*o = arg;
	int64_t		 t = spool_name_time(name);

	o->n++;
	if (t > 0 && (o->t == 0 || t < o->t)) {
		o->t = t;
		(void)snprintf(o->name, sizeof(o->name), "%s", name);
	}
	return 0;
}

/* The oldest event of new/, cur/ or retry/ (as the gauge
 * oldest_pending_age_seconds of hookpipe metrics). */
static void
find_backlog(const struct conf *c, struct spool *s, int64_t now,
    struct finding *f)
{
	static const enum spool_dir dirs[] = { SP_NEW, SP_CUR, SP_RETRY };
	struct oldest	o;
	struct err	e;
	int64_t		t;
	size_t		i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		t = o.t;
		if (spool_each(s, dirs[i], oldest_cb, &o, &e) == -1) {
			f->holds = -1;
			return;
		}
		if (o.t != t)
			o.dir = spool_dirname(dirs[i]);
	}
	t = o.t > 0 && now > o.t ? (now - o.t) / SEC_US : 0;
	f->holds = o.t > 0 && t > c->alert.backlog_age;
	f->count = o.n;
	buf_printf(&f->detail, ",\"detail\":\"%lld event%s pending, the "
	    "oldest for %llds (backlog_age %lds)\",\"pending\":%lld,"
	    "\"age\":%lld,\"limit\":%ld,\"oldest\":", o.n, o.n == 1 ? "" :
	    "s", (long long)t, c->alert.backlog_age, o.n, (long long)t,
	    c->alert.backlog_age);
	if (o.t > 0) {
		buf_json_cstr(&f->detail, o.name);
		buf_json_kv(&f->detail, "folder", o.dir);
	} else
		buf_puts(&f->detail, "null");
}

/* No runner within [health] runner_max_age: the one limit /_health and
 * the alert share. A spool no runner ever ran counts from the first
 * evaluation. */
static void
find_runner(const struct conf *c, const struct state *st, int64_t now,
    struct finding *f)
{
	int64_t	last = metrics_runner_last(), from;
	char	t[40];

	if (last == -1) {
		f->holds = -1;		/* no counters file: not known */
		return;
	}
	from = last > 0 ? last : st->first;
	f->count = now > from ? (now - from) / SEC_US : 0;
	f->holds = f->count > c->health.runner_max_age;
	buf_printf(&f->detail, ",\"detail\":\"%s%llds ago (runner_max_age "
	    "%lds)\",\"age\":%lld,\"limit\":%ld,\"last_run\":", last > 0 ?
	    "a runner was last at work " : "no runner has run; alerts began ",
	    f->count, c->health.runner_max_age, f->count,
	    c->health.runner_max_age);
	if (last > 0) {
		fmt_time_us(last, t, sizeof(t));
		buf_json_cstr(&f->detail, t);
	} else
		buf_puts(&f->detail, "null");
}

static void
reading_cb(void *arg, const char *name, uint64_t n)
{
	struct state	*now = arg;
	size_t		 i;

	if (strcmp(name, "_none") == 0)		/* no endpoint matched */
		return;
	for (i = 0; i < now->nr; i++)
		if (strcmp(now->r[i].name, name) == 0) {
			now->r[i].count += n;
			return;
		}
	if (now->nr == MAX_ENDPOINTS)
		return;
	(void)snprintf(now->r[now->nr].name, sizeof(now->r[now->nr].name),
	    "%s", name);
	now->r[now->nr++].count = n;
}

/*
 * Refusals a minute on one endpoint, from the counters file: the
 * reading a minute (or more) old is kept in the state; a rate is known
 * once a minute has passed since it (then the reading moves on), or at
 * once when more than the limit came since it in less than a minute.
 * Otherwise the condition is not known yet and stays as it is. A
 * counter below its reading (the file was made again) starts afresh.
 */
static void
find_refusals(const struct conf *c, struct state *st, int64_t now,
    struct finding *f)
{
	struct state	*cur;
	uint64_t	 prev, d;
	int64_t		 span;
	size_t		 i, j;
	long long	 total = 0;
	int		 over = 0, n = 0;

	f->holds = -1;
	if ((cur = calloc(1, sizeof(*cur))) == NULL)
		return;
	if (metrics_refused_each(reading_cb, cur) == -1)
		goto out;
	span = now - st->rtime;
	if (st->rtime == 0 || span < 0) {
		st->rtime = now;
		memcpy(st->r, cur->r, sizeof(st->r));
		st->nr = cur->nr;
		goto out;
	}
	buf_puts(&f->detail, ",\"endpoints\":[");
	for (i = 0; i < cur->nr; i++) {
		for (j = 0, prev = 0; j < st->nr; j++)
			if (strcmp(st->r[j].name, cur->r[i].name) == 0)
				prev = st->r[j].count;
		d = cur->r[i].count >= prev ? cur->r[i].count - prev : 0;
		/* Over the limit: per minute, or already within less. */
		if ((span >= MINUTE_US && d * (uint64_t)MINUTE_US >
		    (uint64_t)c->alert.refusals_per_minute * (uint64_t)span) ||
		    d > (uint64_t)c->alert.refusals_per_minute) {
			over = 1;
			total += (long long)d;
			buf_printf(&f->detail, "%s{\"endpoint\":", n++ > 0 ?
			    "," : "");
			buf_json_cstr(&f->detail, cur->r[i].name);
			buf_printf(&f->detail, ",\"refused\":%" PRIu64
			    ",\"seconds\":%lld}", d, (long long)(span /
			    SEC_US));
		}
	}
	buf_printf(&f->detail, "],\"limit\":%ld,\"detail\":\"%lld request%s "
	    "refused in %llds on %d endpoint%s over refusals_per_minute "
	    "(%ld)\"", c->alert.refusals_per_minute, total, total == 1 ? "" :
	    "s", (long long)(span / SEC_US), n, n == 1 ? "" : "s",
	    c->alert.refusals_per_minute);
	f->count = total;
	if (span >= MINUTE_US) {
		f->holds = over;
		st->rtime = now;
		memcpy(st->r, cur->r, sizeof(st->r));
		st->nr = cur->nr;
	} else if (over)
		f->holds = 1;
out:
	free(cur);
}

/* The program: a memory file holds the summary for its stdin. */
static int
run_program(const struct conf *c, struct dlog *log, enum alert_kind k,
    enum alert_action a, const struct finding *f, const struct state *st,
    struct spool *s, int64_t now, struct err *e)
{
	struct handler_limits	 lim;
	struct handler_result	 res;
	struct buf		 in = { 0 }, line = { 0 };
	const char		*state = a == ALERT_RESOLVE ? "resolved" :
				    "firing";
	char			 real[PATH_MAX], t[40], res_s[32];
	char			 host[256], count[32], **env = NULL, **nv;
	size_t			 ne;
	int			 fd = -1, rc = -1, ran = 0;

	memset(&res, 0, sizeof(res));
	if (gethostname(host, sizeof(host)) == -1)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	fmt_time_us(now, t, sizeof(t));
	buf_puts(&in, "{\"alert\":");
	buf_json_cstr(&in, names[k]);
	buf_json_kv(&in, "state", state);
	buf_printf(&in, ",\"reminder\":%s,\"count\":%lld",
	    a == ALERT_REMIND ? "true" : "false", f->count);
	buf_json_kv(&in, "time", t);
	if (a != ALERT_FIRE && st->cond[k].since > 0) {
		fmt_time_us(st->cond[k].since, t, sizeof(t));
		buf_json_kv(&in, "since", t);
	}
	buf_json_kv(&in, "host", host);
	buf_json_kv(&in, "spool", spool_path(s));
	buf_add(&in, f->detail.p, f->detail.len);
	buf_puts(&in, "}\n");
	(void)snprintf(count, sizeof(count), "%lld", f->count);

	if (handler_safe(&c->ep[0], c->alert.program, 1, real, e) == -1)
		goto out;
	if ((fd = memfd_create("hookpipe-alert", MFD_CLOEXEC)) == -1) {
		err_sys(e, "unable to make the alert's stdin");
		goto out;
	}
	if (in.oom || write_all(fd, in.p, in.len) == -1) {
		err_sys(e, "unable to write the alert's stdin");
		goto out;
	}
	if ((env = handler_env(c, NULL)) == NULL) {
		err_sys(e, "unable to make the alert's environment");
		goto out;
	}
	for (ne = 0; env[ne] != NULL; ne++)
		;
	if ((nv = reallocarray(env, ne + 4, sizeof(*env))) == NULL) {
		err_sys(e, "unable to make the alert's environment");
		goto out;
	}
	env = nv;
	env[ne] = env[ne + 1] = env[ne + 2] = env[ne + 3] = NULL;
	if (asprintf(&env[ne], "HOOKPIPE_ALERT=%s", state) == -1 ||
	    asprintf(&env[ne + 1], "HOOKPIPE_ALERT_NAME=%s", names[k]) == -1 ||
	    asprintf(&env[ne + 2], "HOOKPIPE_ALERT_COUNT=%s", count) == -1) {
		env[ne] = env[ne + 1] = env[ne + 2] = NULL;
		err_sys(e, "unable to make the alert's environment");
		goto out;
	}
	handler_limits(c, &c->ep[0], NULL, &lim);
	lim.timeout = c->alert.timeout;
	if (handler_run(real, fd, 0, env, &lim, &res, e) == -1)
		goto out;
	ran = 1;
	if (res.exited && res.code == 0)
		rc = 0;
	else {
		handler_result_str(&res, res_s, sizeof(res_s));
		err_set(e, "alert program %s: %s", real, res_s);
	}
out:
	dlog_begin(&line, "alert");
	buf_json_kv(&line, "spool", spool_path(s));
	buf_json_kv(&line, "alert", names[k]);
	buf_json_kv(&line, "state", state);
	buf_printf(&line, ",\"reminder\":%s,\"count\":%lld",
	    a == ALERT_REMIND ? "true" : "false", f->count);
	buf_json_kv(&line, "program", c->alert.program);
	if (ran) {
		handler_result_str(&res, res_s, sizeof(res_s));
		buf_json_kv(&line, "result", res_s);
		buf_printf(&line, ",\"timeout\":%s,\"ms\":%lld,\"stderr\":",
		    res.timed_out ? "true" : "false", (long long)res.ms);
		buf_json_str(&line, res.tail, res.taillen);
	} else {
		buf_json_kv(&line, "result", "not_runnable");
		buf_json_kv(&line, "reason", e->msg);
	}
	if (rc == -1)
		buf_json_kv(&line, "retry", "at the next evaluation");
	dlog_end(log, &line);
	buf_free(&line);
	buf_free(&in);
	handler_result_free(&res);
	handler_env_free(env);
	if (fd != -1)
		(void)close(fd);
	return rc;
}

int
alert_evaluate(const struct conf *c, struct spool *s, struct dlog *log,
    int flags, struct alert_stats *as, struct err *e)
{
	struct state	 st;
	struct finding	 f[AL_NKINDS];
	struct err	 pe;
	enum alert_action a;
	int64_t		 now = now_us(), window, repeat;
	size_t		 k;
	int		 lockfd = -1, rc = -1;

	memset(as, 0, sizeof(*as));
	memset(f, 0, sizeof(f));
	if (!c->alert.on)
		return 0;
	switch (lock_take(s, &lockfd, e)) {
	case 0:
		as->busy = 1;
		return 0;
	case -1:
		return -1;
	}
	if (state_load(s, &st, e) == -1)
		goto out;
	if (!(flags & ALERT_FORCE) && st.evaluated > 0 && now >=
	    st.evaluated && now - st.evaluated < c->alert.interval * SEC_US) {
		as->skipped = 1;
		rc = 0;
		goto out;
	}
	if (st.first == 0 || st.first > now)
		st.first = now;
	for (k = 0; k < AL_NKINDS; k++)
		f[k].holds = 0;
	find_dead(s, &f[AL_DEAD]);
	if (c->alert.backlog_age > 0)
		find_backlog(c, s, now, &f[AL_BACKLOG]);
	if (c->health.runner_max_age > 0)
		find_runner(c, &st, now, &f[AL_RUNNER]);
	if (c->alert.refusals_per_minute > 0)
		find_refusals(c, &st, now, &f[AL_REFUSALS]);
	repeat = (int64_t)c->alert.repeat * SEC_US;
	for (k = 0; k < AL_NKINDS; k++) {
		if (f[k].holds == -1)
			continue;
		window = k == AL_DEAD ? (int64_t)c->alert.dead_window *
		    SEC_US : 0;
		if ((a = alert_step(&st.cond[k], f[k].holds, now, window,
		    repeat)) == ALERT_NONE)
			continue;
		pe.msg[0] = '\0';
		pe.errnum = 0;
		if (run_program(c, log, (enum alert_kind)k, a, &f[k], &st, s,
		    now, &pe) == -1) {
			as->failed++;
			continue;	/* the same change, next time */
		}
		alert_done(&st.cond[k], a, now);
		if (a == ALERT_FIRE)
			as->fired++;
		else if (a == ALERT_REMIND)
			as->reminded++;
		else
			as->resolved++;
	}
	st.evaluated = now;
	rc = state_save(s, &st, e);
out:
	for (k = 0; k < AL_NKINDS; k++)
		buf_free(&f[k].detail);
	if (lockfd != -1)
		(void)close(lockfd);
	return rc;
}

void
alert_runner(const struct conf *c, struct spool *s, struct dlog *log,
    int force)
{
	static int64_t		last;
	struct alert_stats	as;
	struct err		e;

	/* At least a second apart: an interval of 0 must not evaluate at
	 * each wake of a busy runner. */
	if (!c->alert.on || (!force && last != 0 && mono_ms() - last <
	    (c->alert.interval > 0 ? c->alert.interval * 1000 : 1000)))
		return;
	last = mono_ms();
	e.msg[0] = '\0';
	if (alert_evaluate(c, s, log, force ? ALERT_FORCE : 0, &as, &e) ==
	    -1)
		deliver_log_error(log, "alert", spool_path(s), e.msg);
}
