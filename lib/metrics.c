/* metrics: SPOOL/metrics, the counters of every responder and runner
 * of a spool in one mapped file of fixed layout (hookpipe-spool(5)),
 * bumped with atomic adds, so no lock is taken on the request path; and
 * the Prometheus text exposition of them and of gauges read from the
 * spool at scrape time. */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "metrics.h"
#include "runner.h"

#define MX_MAGIC	0x68706d31u	/* "hpm1" */
#define MX_NAME		56		/* endpoint name, NUL-padded */
#define MX_CLAIMING	1		/* hash of a slot being claimed */
#define MX_BUCKETS	15		/* finite bounds; one more: +Inf */
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* The status codes counted per endpoint; any other counts as the last. */
static const int codes[] = {
	200, 400, 401, 403, 404, 405, 411, 413, 415, 422, 429, 431, 500,
	503, 504, 0
};
#define MX_CODES	16
_Static_assert(NITEMS(codes) == MX_CODES, "codes");

static const char *const refusals[] = {
	"auth", "https", "address", "rate", "size", "type", "json", "field",
	"unknown_event", "method", "request", "unavailable"
};
#define MX_REFUSALS	16
_Static_assert(NITEMS(refusals) == MR_NONE, "refusal names");

/* By deliver.h's enum outcome. */
static const char *const results[] = {
	"ok", "temporary", "permanent", "failed", "signal", "timeout",
	"not_runnable"
};
#define MX_RESULTS	8
_Static_assert(NITEMS(results) == OUT_NOUT, "outcome names");

/* Bucket bounds in microseconds, for each histogram. */
static const int64_t req_bounds[MX_BUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000
};
static const int64_t run_bounds[MX_BUCKETS] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
	2500000, 5000000, 10000000, 30000000, 60000000, 300000000,
	900000000
};
static const int64_t e2e_bounds[MX_BUCKETS] = {
	10000, 50000, 100000, 500000, 1000000, 5000000, 10000000,
	30000000, 60000000, 300000000, 900000000, 3600000000LL,
	21600000000LL, 86400000000LL, 604800000000LL
};

struct mx_hist {
	uint64_t	bucket[MX_BUCKETS + 1];	/* not cumulative */
	uint64_t	count;
	uint64_t	sum_us;
};

struct mx_endpoint {
	uint64_t	hash;			/* 0: free */
	char		name[MX_NAME];		/* written before hash */
	uint64_t	requests[MX_CODES];
};

/*
 * The file. It only grows: a responder of this version may have it
 * mapped, and a mapping past the end of a shrunk file takes SIGBUS, so
 * the size is checked (and the file sized again) before each use. A
 * new file is zero (posix_fallocate), and zero is a valid state: the
 * magic is set by the first process that finds it zero.
 */
struct mx_file {
	uint32_t		magic;
	uint32_t		nendpoints;	/* METRICS_ENDPOINTS */
	int64_t			created_us;
	int64_t			runner_us;	/* the runner's last pass */
	uint64_t		refusals[MX_REFUSALS];
	uint64_t		duplicates;
	uint64_t		accepted_bytes;
	uint64_t		runs[MX_RESULTS];
	uint64_t		dead;
	uint64_t		done;
	uint64_t		replays;
	uint64_t		spare[16];
	struct mx_hist		request;
	struct mx_hist		handler;
	struct mx_hist		e2e;
	/* Slot 0 is "_other": endpoints past the table. */
	struct mx_endpoint	ep[METRICS_ENDPOINTS];
};

/* hookpipe-spool(5) gives these offsets. */
_Static_assert(sizeof(struct mx_file) == 13104, "layout: hookpipe-spool(5)");
_Static_assert(offsetof(struct mx_file, ep) == 816, "layout");

static struct {
	int		 fd;
	struct mx_file	*m;
	char		 path[4096];
} mx = { -1, NULL, "" };

static void
add(uint64_t *p, uint64_t n)
{
	(void)__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

/* Whether the mapping may be touched: the file still covers it (grown
 * back when someone shrank it). */
static int
usable(void)
{
	struct stat st;

	if (mx.m == NULL)
		return 0;
	if (fstat(mx.fd, &st) == -1)
		return 0;
	if ((size_t)st.st_size >= sizeof(*mx.m))
		return 1;
	return posix_fallocate(mx.fd, 0, sizeof(*mx.m)) == 0;
}

void
metrics_detach(void)
{
	if (mx.m != NULL)
		(void)munmap(mx.m, sizeof(*mx.m));
	if (mx.fd != -1)
		(void)close(mx.fd);
	mx.m = NULL;
	mx.fd = -1;
	mx.path[0] = '\0';
}

int
metrics_attached(void)
{
	return mx.m != NULL;
}

int
metrics_attach(const char *spool_dir, int create, struct err *e)
{
	struct stat	 st;
	char		 path[sizeof(mx.path)];
	void		*m;
	uint32_t	 zero = 0;
	int		 fd, rc;

	if (snprintf(path, sizeof(path), "%s/metrics", spool_dir) >=
	    (int)sizeof(path))
		return err_set(e, "%s/metrics: path too long", spool_dir);
	if (mx.m != NULL && strcmp(path, mx.path) == 0)
		return 0;
	metrics_detach();
	/* O_NOFOLLOW: a link planted in the spool is refused. */
	if ((fd = open_file(AT_FDCWD, path, O_RDWR | O_NOFOLLOW |
	    (create ? O_CREAT : 0), e)) == -1)
		return err_sys(e, "unable to open %s (a regular file of the "
		    "spool's own: remove whatever is there)", path);
	if (fstat(fd, &st) == -1) {
		err_sys(e, "unable to stat %s", path);
		goto fail;
	}
	if ((st.st_uid != geteuid() && geteuid() != 0) ||
	    (st.st_mode & 022) != 0) {
		err_set(e, "%s belongs to uid %lu or is writable by others: "
		    "refused (remove it; it is made again)", path,
		    (unsigned long)st.st_uid);
		goto fail;
	}
	if ((size_t)st.st_size < sizeof(*mx.m) &&
	    (rc = posix_fallocate(fd, 0, sizeof(*mx.m))) != 0) {
		errno = rc;
		err_sys(e, "unable to size %s", path);
		goto fail;
	}
	if ((m = mmap(NULL, sizeof(*mx.m), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0)) == MAP_FAILED) {
		err_sys(e, "unable to map %s", path);
		goto fail;
	}
	mx.m = m;
	mx.fd = fd;
	(void)snprintf(mx.path, sizeof(mx.path), "%s", path);
	if (__atomic_compare_exchange_n(&mx.m->magic, &zero, MX_MAGIC, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		mx.m->nendpoints = METRICS_ENDPOINTS;
		__atomic_store_n(&mx.m->created_us, now_us(),
		    __ATOMIC_RELAXED);
	} else if (zero != MX_MAGIC) {
		metrics_detach();
		return err_set(e, "%s is not a counters file of this version "
		    "(magic %08x): remove it; it is made again", path,
		    (unsigned)zero);
	}
	return 0;
fail:
	(void)close(fd);
	return -1;
}

static uint64_t
fnv(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h > MX_CLAIMING ? h : h + 2;
}

/* A slot's hash once its name is complete: 0 while free or claimed. */
static uint64_t
ep_hash(const struct mx_endpoint *s)
{
	uint64_t h = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);

	return h > MX_CLAIMING ? h : 0;
}

/*
 * The slot of an endpoint name: found, or claimed (0 is swapped for
 * MX_CLAIMING, the name written, then the hash published); slot 0 when
 * the table is full. A slot being claimed is waited for, up to 50 ms:
 * it is this name as often as not, and two slots for one name would
 * waste the table. A claimer that died in those few instructions
 * leaves its slot claimed for good, and one preempted longer than the
 * wait may give a name two slots; the readers sum a name's slots.
 */
static struct mx_endpoint *
slot(const char *name)
{
	struct mx_endpoint	*s;
	uint64_t		 h = fnv(name), cur;
	size_t			 i, n = METRICS_ENDPOINTS - 1, at;
	int64_t			 until = 0;

	for (i = 0; i < n; i++) {
		at = 1 + (size_t)((h + i) % n);
		s = &mx.m->ep[at];
		cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
		if (cur == 0) {
			if (__atomic_compare_exchange_n(&s->hash, &cur,
			    MX_CLAIMING, 0, __ATOMIC_ACQ_REL,
			    __ATOMIC_ACQUIRE)) {
				(void)snprintf(s->name, sizeof(s->name), "%s",
				    name);
				__atomic_store_n(&s->hash, h, __ATOMIC_RELEASE);
				return s;
			}
		}
		while (cur == MX_CLAIMING) {
			if (until == 0)
				until = mono_us() + 50000;
			else if (mono_us() > until)
				break;
			(void)sched_yield();
			cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
		}
		if (cur == h && strncmp(s->name, name, sizeof(s->name)) == 0)
			return s;
	}
	return &mx.m->ep[0];
}

/* Whether slot i is the first of its name (slot 0 is "_other"). */
static int
ep_first(size_t i)
{
	const struct mx_endpoint	*s = &mx.m->ep[i];
	uint64_t			 h = ep_hash(s);
	size_t				 k;

	if (i == 0)
		return 1;
	if (h == 0 || s->name[0] == '\0')
		return 0;
	for (k = 1; k < i; k++)
		if (ep_hash(&mx.m->ep[k]) == h && strncmp(mx.m->ep[k].name,
		    s->name, sizeof(s->name)) == 0)
			return 0;
	return 1;
}

/* Requests with code index j of slot i's name, over all its slots. */
static uint64_t
ep_requests(size_t i, size_t j)
{
	const struct mx_endpoint	*s = &mx.m->ep[i];
	uint64_t			 n = get(&s->requests[j]);
	size_t				 k;

	if (i == 0)
		return n;
	for (k = i + 1; k < METRICS_ENDPOINTS; k++)
		if (ep_hash(&mx.m->ep[k]) == ep_hash(s) && strncmp(
		    mx.m->ep[k].name, s->name, sizeof(s->name)) == 0)
			n += get(&mx.m->ep[k].requests[j]);
	return n;
}

static void
observe(struct mx_hist *hi, const int64_t *bounds, int64_t us)
{
	size_t i;

	if (us < 0)
		us = 0;
	for (i = 0; i < MX_BUCKETS && us > bounds[i]; i++)
		;
	add(&hi->bucket[i], 1);
	add(&hi->count, 1);
	add(&hi->sum_us, (uint64_t)us);
}

void
metrics_request(const char *endpoint, int status, enum metrics_refusal why,
    size_t bytes, int duplicate, int64_t us)
{
	struct mx_endpoint	*s;
	size_t			 i;

	if (!usable())
		return;
	s = slot(endpoint == NULL ? "_default" : *endpoint == '\0' ?
	    "_none" : endpoint);
	for (i = 0; i < MX_CODES - 1 && codes[i] != status; i++)
		;
	add(&s->requests[i], 1);
	if (why < MR_NONE)
		add(&mx.m->refusals[why], 1);
	if (duplicate)
		add(&mx.m->duplicates, 1);
	else if (status == 200)
		add(&mx.m->accepted_bytes, bytes);
	observe(&mx.m->request, req_bounds, us);
}

void
metrics_handler(int out, int64_t ms)
{
	if (!usable() || out < 0 || out >= OUT_NOUT)
		return;
	add(&mx.m->runs[out], 1);
	observe(&mx.m->handler, run_bounds, ms * 1000);
}

void
metrics_done(int64_t received_us)
{
	if (!usable())
		return;
	add(&mx.m->done, 1);
	if (received_us > 0)
		observe(&mx.m->e2e, e2e_bounds, now_us() - received_us);
}

void
metrics_dead(void)
{
	if (usable())
		add(&mx.m->dead, 1);
}

void
metrics_settled(enum spool_dir to, int64_t received_us)
{
	if (to == SP_DONE)
		metrics_done(received_us);
	else if (to == SP_DEAD)
		metrics_dead();
}

int
metrics_conf_attach(const struct conf *c, struct err *e)
{
	if (!c->metrics.on && !c->health.on && !c->alert.on) {
		metrics_detach();
		return 0;
	}
	return metrics_attach(c->spool_dir, 1, e);
}

void
metrics_replay(unsigned n)
{
	if (usable())
		add(&mx.m->replays, n);
}

void
metrics_runner_stamp(void)
{
	if (usable())
		__atomic_store_n(&mx.m->runner_us, now_us(), __ATOMIC_RELAXED);
}

int64_t
metrics_runner_last(void)
{
	if (!usable())
		return -1;
	return __atomic_load_n(&mx.m->runner_us, __ATOMIC_RELAXED);
}

int
metrics_refused_each(void (*fn)(void *, const char *, uint64_t), void *arg)
{
	const struct mx_endpoint	*s;
	uint64_t			 n;
	size_t				 i, j;

	if (!usable())
		return -1;
	for (i = 0; i < METRICS_ENDPOINTS; i++) {
		s = &mx.m->ep[i];
		if (!ep_first(i))
			continue;
		for (j = n = 0; j < MX_CODES; j++)
			if (codes[j] >= 400 && codes[j] < 500)
				n += ep_requests(i, j);
		fn(arg, i == 0 ? "_other" : s->name, n);
	}
	return 0;
}

int
metrics_traceparent_ok(const char *s)
{
	static const char shape[] = "00-................................-"
	    "................-..";
	size_t	i;
	int	tz = 1, pz = 1;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] != '.') {
			if (s[i] != shape[i])
				return 0;
			continue;
		}
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
		if (i < 35 && s[i] != '0')
			tz = 0;
		else if (i > 35 && i < 52 && s[i] != '0')
			pz = 0;
	}
	return !tz && !pz;
}

/* Rendering. Seconds from microseconds, exactly enough for Prometheus. */
static void
put_seconds(struct buf *b, int64_t us)
{
	buf_printf(b, "%s%" PRId64 ".%06" PRId64, us < 0 ? "-" : "",
	    (us < 0 ? -us : us) / 1000000, (us < 0 ? -us : us) % 1000000);
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP hookpipe_%s %s\n# TYPE hookpipe_%s %s\n", name,
	    help, name, type);
}

static void
put_hist(struct buf *b, const char *name, const char *help,
    const struct mx_hist *hi, const int64_t *bounds)
{
	uint64_t	cum = 0;
	size_t		i;

	head(b, name, "histogram", help);
	for (i = 0; i <= MX_BUCKETS; i++) {
		cum += get(&hi->bucket[i]);
		buf_printf(b, "hookpipe_%s_bucket{le=\"", name);
		if (i < MX_BUCKETS)
			put_seconds(b, bounds[i]);
		else
			buf_puts(b, "+Inf");
		buf_printf(b, "\"} %" PRIu64 "\n", cum);
	}
	buf_printf(b, "hookpipe_%s_sum ", name);
	put_seconds(b, (int64_t)get(&hi->sum_us));
	/* The count is the +Inf bucket: both from the same reads. */
	buf_printf(b, "\nhookpipe_%s_count %" PRIu64 "\n", name, cum);
}

/* A label value as the exposition format writes it. Endpoint names are
 * [A-Za-z0-9._-], but a damaged file may hold anything. */
static void
put_label(struct buf *b, const char *s, size_t max)
{
	size_t i;

	for (i = 0; i < max && s[i] != '\0'; i++)
		if (s[i] == '"' || s[i] == '\\' || s[i] == '\n')
			buf_putc(b, '_');
		else
			buf_putc(b, s[i]);
}

static void
render_counters(struct buf *b)
{
	const struct mx_file	*m = mx.m;
	const struct mx_endpoint *s;
	uint64_t		 n;
	size_t			 i, j;

	head(b, "requests_total", "counter",
	    "Requests answered, by endpoint and HTTP status.");
	for (i = 0; i < METRICS_ENDPOINTS; i++) {
		s = &m->ep[i];
		if (!ep_first(i))
			continue;
		for (j = 0; j < MX_CODES; j++) {
			if ((n = ep_requests(i, j)) == 0)
				continue;
			buf_puts(b, "hookpipe_requests_total{endpoint=\"");
			put_label(b, i == 0 ? "_other" : s->name, MX_NAME);
			if (codes[j] != 0)
				buf_printf(b, "\",code=\"%d", codes[j]);
			else
				buf_puts(b, "\",code=\"other");
			buf_printf(b, "\"} %" PRIu64 "\n", n);
		}
	}
	head(b, "refusals_total", "counter",
	    "Requests refused, by reason class.");
	for (i = 0; i < NITEMS(refusals); i++)
		buf_printf(b, "hookpipe_refusals_total{reason=\"%s\"} %" PRIu64
		    "\n", refusals[i], get(&m->refusals[i]));
	head(b, "duplicates_total", "counter",
	    "Requests answered 200 as duplicates of a stored event.");
	buf_printf(b, "hookpipe_duplicates_total %" PRIu64 "\n",
	    get(&m->duplicates));
	head(b, "accepted_bytes_total", "counter",
	    "Body bytes of the events accepted.");
	buf_printf(b, "hookpipe_accepted_bytes_total %" PRIu64 "\n",
	    get(&m->accepted_bytes));
	head(b, "handler_runs_total", "counter",
	    "Handler runs, by result.");
	for (i = 0; i < NITEMS(results); i++)
		buf_printf(b, "hookpipe_handler_runs_total{result=\"%s\"} %"
		    PRIu64 "\n", results[i], get(&m->runs[i]));
	head(b, "events_done_total", "counter", "Events handled (done/).");
	buf_printf(b, "hookpipe_events_done_total %" PRIu64 "\n",
	    get(&m->done));
	head(b, "events_dead_total", "counter",
	    "Events dead-lettered (dead/).");
	buf_printf(b, "hookpipe_events_dead_total %" PRIu64 "\n",
	    get(&m->dead));
	head(b, "replays_total", "counter", "Events replayed.");
	buf_printf(b, "hookpipe_replays_total %" PRIu64 "\n",
	    get(&m->replays));
	put_hist(b, "request_duration_seconds",
	    "Time the responder took for a request.", &m->request,
	    req_bounds);
	put_hist(b, "handler_duration_seconds", "Run time of a handler.",
	    &m->handler, run_bounds);
	put_hist(b, "event_latency_seconds",
	    "Time from acceptance to done/.", &m->e2e, e2e_bounds);
}

static void
render_gauges(struct buf *b, const struct conf *c, struct spool *s)
{
	static const enum spool_dir states[] = {
		SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD, SP_QUAR
	};
	struct spool_journal jr;
	struct statvfs	 vfs;
	struct strlist	 l;
	struct err	 e;
	int64_t		 oldest = 0, next = 0, t, now = now_us(), last;
	size_t		 i, j, n[NITEMS(states)];
	pid_t		 pid;

	for (i = 0; i < NITEMS(states); i++) {
		n[i] = 0;
		if (spool_list(s, states[i], &l, &e) == -1)
			continue;
		n[i] = l.n;
		for (j = 0; j < l.n; j++) {
			if ((states[i] == SP_NEW || states[i] == SP_CUR ||
			    states[i] == SP_RETRY) && (t =
			    spool_name_time(l.v[j])) > 0 && (oldest == 0 ||
			    t < oldest))
				oldest = t;
			if (states[i] == SP_RETRY && (t = spool_retry_due(s,
			    l.v[j], conf_due_bound(c), now)) > 0 &&
			    (next == 0 || t < next))
				next = t;
		}
		strlist_free(&l);
	}
	head(b, "events", "gauge", "Events in the spool, by state folder.");
	for (i = 0; i < NITEMS(states); i++)
		buf_printf(b, "hookpipe_events{state=\"%s\"} %zu\n",
		    spool_dirname(states[i]), n[i]);
	head(b, "oldest_pending_age_seconds", "gauge",
	    "Age of the oldest event in new/, cur/ or retry/; 0: none.");
	buf_puts(b, "hookpipe_oldest_pending_age_seconds ");
	put_seconds(b, oldest > 0 && now > oldest ? now - oldest : 0);
	buf_putc(b, '\n');
	head(b, "next_retry_seconds", "gauge",
	    "Time until the next retry is due; 0: due now or none.");
	buf_puts(b, "hookpipe_next_retry_seconds ");
	put_seconds(b, next > now ? next - now : 0);
	buf_putc(b, '\n');
	pid = spool_runner(s);
	head(b, "runner_running", "gauge", "1 when a runner holds the lock.");
	buf_printf(b, "hookpipe_runner_running %d\n", pid > 0);
	if ((last = metrics_runner_last()) > 0) {
		head(b, "runner_last_run_age_seconds", "gauge",
		    "Time since a runner was last at work.");
		buf_puts(b, "hookpipe_runner_last_run_age_seconds ");
		put_seconds(b, now > last ? now - last : 0);
		buf_putc(b, '\n');
	}
	if (spool_journal_stat(s, &jr, &e) == 0) {
		head(b, "journal_bytes", "gauge",
		    "Bytes in the journal's generations, not yet retired.");
		buf_printf(b, "hookpipe_journal_bytes %llu\n",
		    (unsigned long long)jr.bytes);
		head(b, "journal_limit_bytes", "gauge",
		    "journal_max: past it, commits bypass the journal.");
		buf_printf(b, "hookpipe_journal_limit_bytes %llu\n",
		    (unsigned long long)jr.limit);
		head(b, "journal_commits_total", "counter",
		    "Commits made durable by the journal's group flush.");
		buf_printf(b, "hookpipe_journal_commits_total %llu\n",
		    (unsigned long long)jr.records);
		head(b, "journal_flushes_total", "counter",
		    "Flushes of the journal, each shared by the commits "
		    "waiting.");
		buf_printf(b, "hookpipe_journal_flushes_total %llu\n",
		    (unsigned long long)jr.flushes);
		head(b, "journal_bypassed_total", "counter",
		    "Commits that found the journal full and flushed their "
		    "own entry.");
		buf_printf(b, "hookpipe_journal_bypassed_total %llu\n",
		    (unsigned long long)jr.direct);
	}
	if (statvfs(spool_path(s), &vfs) == 0) {
		head(b, "spool_free_bytes", "gauge",
		    "Space left to unprivileged users on the spool's file "
		    "system.");
		buf_printf(b, "hookpipe_spool_free_bytes %llu\n",
		    (unsigned long long)vfs.f_bavail *
		    (unsigned long long)vfs.f_frsize);
		head(b, "spool_free_inodes", "gauge",
		    "Inodes left on the spool's file system.");
		buf_printf(b, "hookpipe_spool_free_inodes %llu\n",
		    (unsigned long long)vfs.f_favail);
	}
}

void
metrics_render(struct buf *b, const struct conf *c, struct spool *s)
{
	if (usable())
		render_counters(b);
	if (c != NULL && s != NULL)
		render_gauges(b, c, s);
}

static int
check(struct buf *b, int *n, const char *name, const char *fail)
{
	buf_printf(b, "%s\"%s\":", (*n)++ > 0 ? "," : "", name);
	buf_json_cstr(b, fail != NULL ? fail : "ok");
	return fail != NULL ? -1 : 0;
}

int
metrics_health(struct buf *b, const struct conf *c, struct spool *s)
{
	const struct health_conf	*h = &c->health;
	struct statvfs			 vfs;
	struct buf			 checks = { 0 };
	char				 why[256], p[4096];
	const char			*sub[] = { "tmp", "new" };
	unsigned long long		 free_b;
	int64_t				 last, now = now_us();
	size_t				 i;
	int				 n = 0, rc = 0;

	rc |= check(&checks, &n, "config", NULL);
	for (i = 0, why[0] = '\0'; i < NITEMS(sub) && why[0] == '\0'; i++)
		if (snprintf(p, sizeof(p), "%s/%s", spool_path(s), sub[i]) >=
		    (int)sizeof(p) || access(p, W_OK) == -1)
			(void)snprintf(why, sizeof(why), "%s/ is not "
			    "writable: %s", sub[i], strerror(errno));
	if (why[0] == '\0' && statvfs(spool_path(s), &vfs) == -1)
		(void)snprintf(why, sizeof(why), "statvfs: %s",
		    strerror(errno));
	else if (why[0] == '\0' && (vfs.f_flag & ST_RDONLY))
		(void)snprintf(why, sizeof(why), "read-only file system");
	rc |= check(&checks, &n, "spool", why[0] ? why : NULL);
	if (why[0] == '\0') {
		free_b = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
		(void)snprintf(why, sizeof(why), "%llu bytes free, below "
		    "min_free (%zu)", free_b, h->min_free);
		rc |= check(&checks, &n, "space", free_b < h->min_free ? why :
		    NULL);
		/* File systems without an inode table say 0 of 0. */
		(void)snprintf(why, sizeof(why), "%llu inodes free, below "
		    "min_inodes (%ld)", (unsigned long long)vfs.f_favail,
		    h->min_inodes);
		rc |= check(&checks, &n, "inodes", vfs.f_files > 0 &&
		    vfs.f_favail < (fsfilcnt_t)h->min_inodes ? why : NULL);
	}
	if (h->runner_max_age > 0) {
		last = metrics_runner_last();
		if (last == -1)
			(void)snprintf(why, sizeof(why), "the counters file "
			    "(SPOOL/metrics) is not usable");
		else if (last == 0)
			(void)snprintf(why, sizeof(why), "no runner has run "
			    "yet");
		else
			(void)snprintf(why, sizeof(why), "last run %llds ago, "
			    "more than runner_max_age (%lds)",
			    (long long)((now - last) / 1000000),
			    h->runner_max_age);
		rc |= check(&checks, &n, "runner", last > 0 && now - last <=
		    (int64_t)h->runner_max_age * 1000000 ? NULL : why);
	}
	buf_printf(b, "{\"status\":\"%s\",\"checks\":{%s}}", rc == 0 ? "ok" :
	    "fail", buf_cstr(&checks));
	buf_free(&checks);
	return rc;
}
