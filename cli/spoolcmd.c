/* spoolcmd: the operator's view of the spool: status, ls, show, replay,
 * purge. They read the same files the runner writes and move entries
 * with the same renames, so they are safe while a runner works. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "cli.h"
#include "metrics.h"
#include "dlog.h"
#include "payload.h"
#include "deliver.h"
#include "dest.h"
#include "runner.h"

static const enum spool_dir states[] = {
	SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD, SP_QUAR
};
#define NSTATES	(sizeof(states) / sizeof(states[0]))

struct conf *
cli_open(const char *cfg, struct spool **s)
{
	struct conf	*c;
	struct err	 e;
	struct stat	 st;

	if ((c = conf_load_say(cfg)) == NULL)
		return NULL;
	if (stat(c->spool_dir, &st) == -1) {
		say(SAY_FATAL, "unable to open the spool %s: %s (has any "
		    "event been received yet?)", c->spool_dir,
		    strerror(errno));
		conf_free(c);
		return NULL;
	}
	/* Never create folders here: run as another user (root) they would
	 * lock the web server out of its own spool. */
	if ((*s = spool_open(c->spool_dir, 0, &e)) == NULL) {
		say(SAY_FATAL, "%s", e.msg);
		conf_free(c);
		return NULL;
	}
	spool_journal_limit(*s, c->journal_max);
	return c;
}

int64_t
cli_parse_since(const char *s)
{
	struct tm	 tm;
	const char	*end;
	long		 secs;

	if (parse_duration(s, &secs) == 0)
		return now_us() - (int64_t)secs * 1000000;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) != NULL) {
		if (*end == 'Z')
			end++;
	} else {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL || *end != '\0')
		return -1;
	return (int64_t)timegm(&tm) * 1000000;
}

static enum spool_dir
state_of(const char *name)
{
	size_t i;

	for (i = 0; i < NSTATES; i++)
		if (strcmp(spool_dirname(states[i]), name) == 0)
			return states[i];
	return SP_NDIRS;
}

/* The envelope of an entry: 0 (and the descriptor at the body in *fdp,
 * when asked), or -1. */
static int
envelope_of(struct spool *s, enum spool_dir d, const char *name,
    struct envelope *env, int *fdp)
{
	struct err	e;
	int		fd;

	if ((fd = spool_open_entry(s, d, name, env, &e)) == -1)
		return -1;
	if (fdp != NULL)
		*fdp = fd;
	else
		(void)close(fd);
	return 0;
}

/* Text from a sender, a handler or the spool, made safe to print on
 * one line (tty_escape) in b; dflt when s is NULL. */
static const char *
cli_safe(struct buf *b, const char *s, const char *dflt)
{
	buf_reset(b);
	if (s == NULL)
		s = dflt;
	tty_escape(b, s, strlen(s), 0);
	return b->oom ? "?" : buf_cstr(b);
}

/* The entry an ids/ record names, when it is still stored: 1 and the
 * name and its state, or 0. */
static int
id_record(struct spool *s, const char *key, char name[SPOOL_NAME_MAX],
    enum spool_dir *d)
{
	struct err e;

	if (spool_id_lookup(s, key, name, &e) != 1)
		return 0;
	*d = spool_find(s, name);
	return *d != SP_NDIRS;
}

static const char *
ep_label(const struct endpoint *ep, char *out, size_t len)
{
	if (ep->name == NULL)
		return "the default endpoint";
	(void)snprintf(out, len, "[endpoint %s]", ep->name);
	return out;
}

/* An entry name; or a sender's event id, looked up in ids/ for the
 * endpoint given (epname; "" is the default one) or for every endpoint
 * of the configuration; or an ids/ key NAME+ID. Says why on failure, at
 * that level (fatal when the command stops there). */
static int
resolve(struct spool *s, const struct conf *c, const char *arg,
    const char *epname, enum say_level lvl, char name[SPOOL_NAME_MAX],
    enum spool_dir *d)
{
	const struct endpoint	*ep = NULL;
	struct buf		 b = { 0 }, hits = { 0 };
	char			 key[SPOOL_KEY_MAX];
	char			 lbl[CONF_ENDPOINT_MAX + 16];
	char			 n1[SPOOL_NAME_MAX];
	enum spool_dir		 d1;
	const char		*plus;
	size_t			 i, nhit = 0;
	int			 rc = -1;

	if (strlen(arg) < SPOOL_NAME_MAX && strchr(arg, '/') == NULL &&
	    (*d = spool_find(s, arg)) != SP_NDIRS) {
		(void)snprintf(name, SPOOL_NAME_MAX, "%s", arg);
		return 0;
	}
	if (epname != NULL) {
		for (i = 0; i < c->nep && ep == NULL; i++)
			if (*epname == '\0' ? c->ep[i].name == NULL :
			    c->ep[i].name != NULL &&
			    strcmp(c->ep[i].name, epname) == 0)
				ep = &c->ep[i];
		if (ep == NULL) {
			say(lvl, "%s has no [endpoint %s]: name one of its "
			    "endpoints, or '' for the default one", c->path,
			    cli_safe(&b, epname, ""));
			goto out;
		}
	}
	plus = strchr(arg, '+');
	if (plus != NULL && ep != NULL) {
		say(lvl, "%s names its endpoint already: give the id alone "
		    "with --endpoint", cli_safe(&b, arg, ""));
		goto out;
	}
	/* NAME+ID, the ids/ key itself ('+' is never part of an id). */
	if (plus != NULL && plus > arg && plus - arg <= CONF_ENDPOINT_MAX &&
	    strchr(arg, '/') == NULL && arg[0] != '.' &&
	    event_id_ok(plus + 1) && id_record(s, arg, name, d)) {
		rc = 0;
		goto out;
	}
	for (i = 0; plus == NULL && event_id_ok(arg) && i < c->nep; i++) {
		if (ep != NULL && ep != &c->ep[i])
			continue;
		if (spool_id_key(c->ep[i].name, arg, key) == -1 ||
		    !id_record(s, key, n1, &d1))
			continue;
		if (nhit++ == 0) {
			memcpy(name, n1, sizeof(n1));
			*d = d1;
		}
		buf_printf(&hits, "%s%s", nhit > 1 ? ", " : "",
		    ep_label(&c->ep[i], lbl, sizeof(lbl)));
	}
	if (nhit == 1)
		rc = 0;
	else if (nhit > 1)
		/* Ids are per sender: which sender is the operator's call. */
		say(lvl, "event id '%s' is in %zu endpoints: %s; pick one "
		    "with --endpoint NAME ('' for the default endpoint)",
		    cli_safe(&b, arg, ""), nhit, buf_cstr(&hits));
	else if (ep != NULL)
		say(lvl, "no event '%s' of %s in %s: list them with hookpipe "
		    "ls", cli_safe(&b, arg, ""), ep_label(ep, lbl, sizeof(lbl)),
		    c->spool_dir);
	else
		say(lvl, "no event '%s' in %s: list them with hookpipe ls",
		    cli_safe(&b, arg, ""), c->spool_dir);
out:
	buf_free(&b);
	buf_free(&hits);
	return rc;
}

static void
fmt_age(int64_t secs, char *out, size_t len)
{
	if (secs < 120)
		(void)snprintf(out, len, "%llds", (long long)secs);
	else if (secs < 7200)
		(void)snprintf(out, len, "%lldm", (long long)(secs / 60));
	else if (secs < 172800)
		(void)snprintf(out, len, "%lldh", (long long)(secs / 3600));
	else
		(void)snprintf(out, len, "%lldd", (long long)(secs / 86400));
}

/* hookpipe status counts without sorting or copying names: a backlog
 * of a million entries is one pass of readdir. */
struct tally {
	struct spool	*s;
	enum spool_dir	 d;
	size_t		 n;
	long		 bound;
	int64_t		 now, oldest;
	time_t		 next;
};

static int
tally_one(void *arg, const char *name)
{
	struct tally	*t = arg;
	int64_t		 v;

	t->n++;
	if (t->d == SP_NEW || t->d == SP_CUR || t->d == SP_RETRY) {
		v = spool_name_time(name);
		if (v > 0 && (t->oldest == 0 || v < t->oldest))
			t->oldest = v;
	}
	if (t->d == SP_RETRY && (v = spool_retry_due(t->s, name, t->bound,
	    t->now) / 1000000) > 0 && (t->next == 0 || v < t->next))
		t->next = (time_t)v;
	return 0;
}

/* hookpipe status per destination (forward = URL): the backlog is the
 * entries of new/ cur/ retry/ whose event forwards there (their
 * envelopes are read only when some event forwards); the last error is
 * the newest failed "handler" record of that URL in those entries'
 * histories. Those are read newest file first, and no further once a
 * file is older than the failure found: most often one read. */
#define NDEST_MAX	32

struct dcand {
	int64_t		 mtime;
	char		 name[SPOOL_NAME_MAX];
};

struct dstat {
	const char	*url;			/* the forward as written */
	size_t		 backlog;
	struct dcand	*cand;			/* entries with a history */
	size_t		 ncand, cap;
	char		 when[40];		/* "": none */
	char		*why;
};

struct dwalk {
	struct spool		*s;
	const struct conf	*c;
	enum spool_dir		 d;
	struct dstat		*ds;
	size_t			 nds;
};

static int
dwalk_one(void *arg, const char *name)
{
	struct dwalk			*w = arg;
	const struct event_conf		*ev;
	struct envelope			 env;
	struct dstat			*ds;
	struct dcand			*nc;
	int64_t				 mt;
	size_t				 i;

	/* Gone since the listing (a runner at work): not waiting. */
	if (envelope_of(w->s, w->d, name, &env, NULL) == -1)
		return 0;
	ev = env.event != NULL ? conf_event(w->c, env.event) : NULL;
	envelope_free(&env);
	if (ev == NULL || ev->forward == NULL)
		return 0;
	for (i = 0; i < w->nds; i++)
		if (strcmp(w->ds[i].url, ev->forward) == 0)
			break;
	if (i == w->nds)
		return 0;
	ds = &w->ds[i];
	ds->backlog++;
	if ((mt = spool_hist_mtime(w->s, name)) == 0)
		return 0;
	if (ds->ncand == ds->cap) {
		if ((nc = reallocarray(ds->cand, ds->cap ? ds->cap * 2 : 64,
		    sizeof(*nc))) == NULL)
			return 0;	/* the last error may be missed */
		ds->cand = nc;
		ds->cap = ds->cap ? ds->cap * 2 : 64;
	}
	ds->cand[ds->ncand].mtime = mt;
	(void)snprintf(ds->cand[ds->ncand].name, SPOOL_NAME_MAX, "%s", name);
	ds->ncand++;
	return 0;
}

static int
cmp_cand(const void *a, const void *b)
{
	const struct dcand *x = a, *y = b;

	return x->mtime < y->mtime ? 1 : x->mtime > y->mtime ? -1 : 0;
}

static const char *
rec_str(json_object *o, const char *k)
{
	json_object *v;

	if (!json_object_object_get_ex(o, k, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static void
dest_last_error(struct spool *s, struct dstat *ds)
{
	struct history	 h;
	struct err	 e;
	json_object	*o;
	const char	*t, *res, *why;
	char		 cut[40];
	size_t		 i, j;

	if (ds->ncand > 1)	/* qsort of NULL, 0 is undefined */
		qsort(ds->cand, ds->ncand, sizeof(*ds->cand), cmp_cand);
	for (i = 0; i < ds->ncand; i++) {
		fmt_time_us(ds->cand[i].mtime, cut, sizeof(cut));
		/* Nothing in this history (or an older one) is newer. */
		if (ds->when[0] != '\0' && strcmp(cut, ds->when) < 0)
			break;
		if (spool_hist_load(s, ds->cand[i].name, &h, &e) == -1)
			continue;
		for (j = 0; j < json_object_array_length(h.records); j++) {
			o = json_object_array_get_idx(h.records, j);
			if ((t = rec_str(o, "time")) == NULL ||
			    (res = rec_str(o, "result")) == NULL ||
			    strcmp(res, "exit 0") == 0 ||
			    rec_str(o, "type") == NULL ||
			    strcmp(rec_str(o, "type"), "handler") != 0 ||
			    rec_str(o, "handler") == NULL ||
			    strcmp(rec_str(o, "handler"), ds->url) != 0 ||
			    strcmp(t, ds->when) <= 0)
				continue;
			why = rec_str(o, "stderr");
			free(ds->why);
			ds->why = strdup(why != NULL && *why != '\0' ? why :
			    res);
			(void)snprintf(ds->when, sizeof(ds->when), "%s", t);
		}
		spool_hist_free(&h);
	}
}

/* The destinations of the configuration (each URL once) with their
 * backlog and last error; how many. */
static size_t
dest_stats(struct spool *s, const struct conf *c, struct dstat *ds)
{
	static const enum spool_dir	 pend[] = { SP_NEW, SP_CUR, SP_RETRY };
	struct dwalk			 w;
	struct err			 e;
	size_t				 i, j;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.c = c;
	w.ds = ds;
	for (i = 0; i < c->nevents && w.nds < NDEST_MAX; i++) {
		if (c->events[i].forward == NULL)
			continue;
		for (j = 0; j < w.nds; j++)
			if (strcmp(ds[j].url, c->events[i].forward) == 0)
				break;
		if (j == w.nds) {
			memset(&ds[j], 0, sizeof(ds[j]));
			ds[w.nds++].url = c->events[i].forward;
		}
	}
	if (w.nds == 0)
		return 0;
	for (i = 0; i < sizeof(pend) / sizeof(pend[0]); i++) {
		w.d = pend[i];
		if (spool_each(s, pend[i], dwalk_one, &w, &e) == -1)
			say(SAY_ERROR, "%s", e.msg);
	}
	for (i = 0; i < w.nds; i++)
		dest_last_error(s, &ds[i]);
	return w.nds;
}

static void
dest_stats_free(struct dstat *ds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(ds[i].cand);
		free(ds[i].why);
	}
}

/* A size for people: 1536 -> "1.5 KiB". */
static void
fmt_bytes(uint64_t n, char *b, size_t len)
{
	static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
	double	v = (double)n;
	size_t	i = 0;

	if (n < 1024) {
		(void)snprintf(b, len, "%llu bytes", (unsigned long long)n);
		return;
	}
	for (v /= 1024; v >= 1024 && i + 1 < sizeof(unit) / sizeof(*unit);
	    i++)
		v /= 1024;
	(void)snprintf(b, len, "%.1f %s", v, unit[i]);
}

int
cmd_status(const char *cfg, int argc, char **argv)
{
	struct spool_journal	 jr;
	char			 jb[32], jl[32];
	struct tally	 tally;
	struct spool	*s;
	struct conf	*c;
	struct err	 e;
	int64_t		 oldest = 0, now = now_us();
	time_t		 next = 0;
	size_t		 counts[NSTATES], i;
	char		 age[32];
	long		 pid = 0;
	int		 json = 0, running, failures;
	struct dstat	 ds[NDEST_MAX];
	struct buf	 ob = { 0 };
	char		 url[1024];
	size_t		 nds;

	if (argc == 2 && strcmp(argv[1], "--json") == 0)
		json = 1;
	else if (argc != 1) {
		i = strcmp(argv[1], "--json") == 0 ? 2 : 1;
		say(SAY_FATAL, "%s %s", argv[i][0] == '-' ? "unknown option" :
		    "unexpected argument", argv[i]);
		fprintf(stderr, "usage: hookpipe status [--json]\n");
		return EXIT_USAGE;
	}
	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	memset(&tally, 0, sizeof(tally));
	tally.s = s;
	tally.bound = conf_due_bound(c);
	tally.now = now;
	for (i = 0; i < NSTATES; i++) {
		tally.d = states[i];
		tally.n = 0;
		if (spool_each(s, states[i], tally_one, &tally, &e) == -1)
			say(SAY_ERROR, "%s", e.msg);
		counts[i] = tally.n;
	}
	oldest = tally.oldest;
	next = tally.next;
	pid = (long)spool_runner(s);
	running = pid > 0;
	failures = dlog_failures(c->log_file, now - 3600LL * 1000000);
	nds = dest_stats(s, c, ds);
	if (spool_journal_stat(s, &jr, &e) == -1) {
		say(SAY_ERROR, "%s", e.msg);
		memset(&jr, 0, sizeof(jr));
	}
	if (json) {
		printf("{\"spool\":");
		{
			struct buf b = { 0 };

			buf_json_cstr(&b, c->spool_dir);
			printf("%s", buf_cstr(&b));
			buf_free(&b);
		}
		for (i = 0; i < NSTATES; i++)
			printf(",\"%s\":%zu", spool_dirname(states[i]),
			    counts[i]);
		printf(",\"oldest_pending_seconds\":");
		if (oldest)
			printf("%lld", (long long)((now - oldest) / 1000000));
		else
			printf("null");
		printf(",\"next_retry_seconds\":");
		if (next)
			printf("%lld", (long long)(next - time(NULL) > 0 ?
			    next - time(NULL) : 0));
		else
			printf("null");
		printf(",\"failures_last_hour\":%d,\"runner\":{\"running\":%s",
		    failures, running ? "true" : "false");
		if (pid > 0)
			printf(",\"pid\":%ld", pid);
		printf("},\"journal\":{\"bytes\":%llu,\"generations\":%zu,"
		    "\"limit\":%llu,\"bypassed\":%llu}",
		    (unsigned long long)jr.bytes, jr.generations,
		    (unsigned long long)jr.limit,
		    (unsigned long long)jr.direct);
		printf(",\"destinations\":[");
		for (i = 0; i < nds; i++) {
			buf_reset(&ob);
			buf_printf(&ob, "%s{\"url\":", i > 0 ? "," : "");
			buf_json_cstr(&ob, dest_public(ds[i].url, url,
			    sizeof(url)));
			buf_printf(&ob, ",\"backlog\":%zu,\"last_error\":",
			    ds[i].backlog);
			if (ds[i].why != NULL)
				buf_json_cstr(&ob, ds[i].why);
			else
				buf_puts(&ob, "null");
			buf_puts(&ob, ",\"last_error_time\":");
			if (ds[i].why != NULL)
				buf_json_cstr(&ob, ds[i].when);
			else
				buf_puts(&ob, "null");
			buf_putc(&ob, '}');
			printf("%s", ob.oom ? "" : buf_cstr(&ob));
		}
		printf("]}\n");
	} else {
		printf("spool    %s\n", c->spool_dir);
		for (i = 0; i < NSTATES; i++)
			printf("%-10s %zu\n", spool_dirname(states[i]),
			    counts[i]);
		if (oldest) {
			fmt_age((now - oldest) / 1000000, age, sizeof(age));
			printf("oldest pending   %s ago\n", age);
		} else
			printf("oldest pending   none\n");
		if (next) {
			fmt_age(next - time(NULL) > 0 ? next - time(NULL) : 0,
			    age, sizeof(age));
			printf("next retry       in %s\n", age);
		} else
			printf("next retry       none\n");
		printf("failures (1h)    %d\n", failures);
		if (running && pid > 0)
			printf("runner           running (pid %ld)\n", pid);
		else
			printf("runner           %s\n", running ? "running" :
			    "idle");
		if (c->durability != DURABLE_PROCESS) {
			fmt_bytes(jr.bytes, jb, sizeof(jb));
			fmt_bytes(jr.limit, jl, sizeof(jl));
			printf("journal          %s in %zu generation%s, limit "
			    "%s", jb, jr.generations, jr.generations == 1 ?
			    "" : "s", jl);
			if (jr.direct > 0)
				printf(", %llu commit%s bypassed it",
				    (unsigned long long)jr.direct,
				    jr.direct == 1 ? "" : "s");
			printf("\n");
		}
		for (i = 0; i < nds; i++) {
			printf("forward          %s  backlog %zu\n",
			    dest_public(ds[i].url, url, sizeof(url)),
			    ds[i].backlog);
			if (ds[i].why != NULL)
				printf("  last error     %s %s\n", ds[i].when,
				    cli_safe(&ob, ds[i].why, ""));
		}
	}
	dest_stats_free(ds, nds);
	buf_free(&ob);
	spool_close(s);
	conf_free(c);
	return EXIT_OK;
}

int
cmd_ls(const char *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct history	 h;
	struct strlist	 l;
	struct spool	*s;
	struct conf	*c;
	struct err	 e;
	struct buf	 b1 = { 0 }, b2 = { 0 }, b3 = { 0 };
	struct envelope	 env;
	const char	*event = NULL, *ev, *id;
	enum spool_dir	 want[NSTATES];
	size_t		 nwant = 0, i, j;
	int64_t		 since = 0, t;
	char		 when[40];
	int		 ch;

	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":e:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			event = optarg;
			break;
		case 's':
			if ((since = cli_parse_since(optarg)) == -1) {
				say(SAY_FATAL, "--since %s: write a duration "
				    "(2h, 3d) or a date (2026-11-28, "
				    "2026-11-28T10:00:00Z)", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			say_getopt(ch, argv);
			fprintf(stderr, "usage: hookpipe ls [new|cur|retry|done|"
			    "dead ...] [--event E] [--since T]\n");
			return EXIT_USAGE;
		}
	}
	for (; optind < argc; optind++) {
		if ((want[nwant] = state_of(argv[optind])) == SP_NDIRS ||
		    nwant == NSTATES) {
			say(SAY_FATAL, "'%s' is not a state: new, cur, "
			    "retry, done, dead or quarantine", argv[optind]);
			return EXIT_USAGE;
		}
		nwant++;
	}
	if (nwant == 0)
		for (; nwant < NSTATES; nwant++)
			want[nwant] = states[nwant];
	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	printf("%-50s %-6s %-24s %-28s %s\n", "ENTRY", "STATE", "EVENT", "ID",
	    "TRIES");
	for (i = 0; i < nwant; i++) {
		if (spool_list(s, want[i], &l, &e) == -1) {
			say(SAY_ERROR, "%s", e.msg);
			continue;
		}
		for (j = 0; j < l.n; j++) {
			t = spool_name_time(l.v[j]);
			if (since && t < since)
				continue;
			if (envelope_of(s, want[i], l.v[j], &env, NULL) == -1)
				memset(&env, 0, sizeof(env));
			ev = env.event;
			id = env.id;
			if (event != NULL && (ev == NULL || strcmp(ev, event)))
			{
				envelope_free(&env);
				continue;
			}
			if (spool_hist_load(s, l.v[j], &h, &e) == -1)
				memset(&h, 0, sizeof(h));
			fmt_time_us(t, when, sizeof(when));
			printf("%-50s %-6s %-24s %-28s %d\n",
			    cli_safe(&b1, l.v[j], ""), spool_dirname(want[i]),
			    cli_safe(&b2, ev, "?"), cli_safe(&b3, id, "-"),
			    h.attempts);
			spool_hist_free(&h);
			envelope_free(&env);
		}
		strlist_free(&l);
	}
	buf_free(&b1);
	buf_free(&b2);
	buf_free(&b3);
	spool_close(s);
	conf_free(c);
	return EXIT_OK;
}

/* Print the body: pretty JSON (or the text) made safe for a terminal,
 * or the bytes as they are with --raw. */
static int
print_body(int fd, int raw)
{
	struct buf	 b = { 0 }, out = { 0 };
	json_object	*o;
	const char	*text;
	char		 chunk[65536];
	ssize_t		 n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	if (n == -1 || b.oom) {
		buf_free(&b);
		return -1;
	}
	if (raw) {
		(void)fflush(stdout);
		n = write_all(1, b.p ? b.p : "", b.len);
	} else {
		/* json-c writes C0 as \u00XX but DEL and C1 as they are;
		 * a body that is not JSON is whatever the sender sent. */
		o = json_tokener_parse(buf_cstr(&b));
		text = o != NULL ? json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
		    JSON_C_TO_STRING_NOSLASHESCAPE) : buf_cstr(&b);
		tty_escape(&out, text, o != NULL ? strlen(text) : b.len, 1);
		printf("%s\n", out.oom ? "(out of memory)" : buf_cstr(&out));
		json_object_put(o);
		buf_free(&out);
	}
	buf_free(&b);
	return (int)n;
}

static long long
jint(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return -1;
	return (long long)json_object_get_int64(v);
}

/* The handler's stderr tail, line by line, each marked as such: a
 * handler cannot write a line that passes for one of the history. */
static void
print_tail(const char *tail)
{
	struct buf	 b = { 0 };
	const char	*p, *nl;

	for (p = tail; *p != '\0'; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		buf_reset(&b);
		tty_escape(&b, p, (size_t)(nl - p), 1);	/* keeps tabs */
		printf("      stderr: %s\n", buf_cstr(&b));
	}
	buf_free(&b);
}

static void
print_hist_line(json_object *o)
{
	struct buf	 b1 = { 0 }, b2 = { 0 };
	const char	*type = json_str(o, "type"), *tail, *why;

	printf("  %s  ", cli_safe(&b1, json_str(o, "time"), "?"));
	if (type == NULL)
		printf("?\n");
	else if (strcmp(type, "attempt") == 0)
		printf("attempt %lld\n", jint(o, "attempt"));
	else if (strcmp(type, "handler") == 0) {
		printf("%s: ", cli_safe(&b1, json_str(o, "handler"), "?"));
		printf("%s (%lld ms)\n", cli_safe(&b2, json_str(o, "result"),
		    "?"), jint(o, "ms"));
		if ((tail = json_str(o, "stderr")) != NULL)
			print_tail(tail);
	} else if (strcmp(type, "state") == 0) {
		why = json_str(o, "reason");
		printf("-> %s%s", cli_safe(&b1, json_str(o, "state"), "?"),
		    why ? ": " : "");
		printf("%s\n", cli_safe(&b2, why, ""));
	} else if (strcmp(type, "replay") == 0)
		printf("replayed by %s\n", cli_safe(&b1, json_str(o, "by"),
		    "?"));
	else if (strcmp(type, "run") == 0)
		printf("started (process group %lld)\n", jint(o, "pgid"));
	else
		printf("%s\n", cli_safe(&b1, type, ""));
	buf_free(&b1);
	buf_free(&b2);
}

int
cmd_show(const char *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "raw", no_argument, NULL, 'r' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 }
	};
	struct spool	*s;
	struct conf	*c;
	struct err	 e;
	struct buf	 b = { 0 };
	struct envelope	 env;
	struct history	 h;
	enum spool_dir	 d;
	const char	*epname = NULL;
	char		 name[SPOOL_NAME_MAX];
	size_t		 i, n;
	int		 raw = 0, fd = -1, ch, rc = EXIT_OK;

	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":rE:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			raw = 1;
			break;
		case 'E':
			epname = optarg;
			break;
		default:
			say_getopt(ch, argv);
			goto usage;
		}
	}
	if (optind + 1 != argc) {
		say(SAY_FATAL, "%s", optind == argc ? "no entry or event id "
		    "given" : "one entry or event id at a time");
		goto usage;
	}
	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	if (resolve(s, c, argv[optind], epname, SAY_FATAL, name, &d) == -1) {
		rc = EXIT_FAIL;
		goto out;
	}
	if (envelope_of(s, d, name, &env, &fd) == -1) {
		say(SAY_FATAL, "unable to read %s/%s/%s: it has no readable "
		    "envelope", c->spool_dir, spool_dirname(d),
		    cli_safe(&b, name, ""));
		rc = EXIT_FAIL;
		goto out;
	}
	if (raw) {
		rc = print_body(fd, 1) == -1 ? EXIT_FAIL : EXIT_OK;
		envelope_free(&env);
		goto out;
	}
	/* Every value below may come from the sender (or a hand-edited
	 * entry): each goes through cli_safe. */
	printf("entry      %s\n", cli_safe(&b, name, ""));
	printf("state      %s\n", spool_dirname(d));
	printf("file       %s/%s/", c->spool_dir, spool_dirname(d));
	printf("%s\n", cli_safe(&b, name, ""));
	if (env.endpoint != NULL)
		printf("endpoint   %s\n", cli_safe(&b, env.endpoint, ""));
	printf("event      %s\n", cli_safe(&b, env.event, "?"));
	printf("id         %s\n", cli_safe(&b, env.id, "-"));
	printf("received   %s\n", cli_safe(&b, env.received_at, "?"));
	printf("request    %s\n", cli_safe(&b, env.request_id, "?"));
	printf("remote     %s\n", cli_safe(&b, env.remote, "?"));
	printf("mode       %s\n", env.sync ? "sync" : "queue");
	printf("bytes      %zu\n", env.bytes);
	printf("history\n");
	if (spool_hist_load(s, name, &h, &e) == 0 &&
	    (n = json_object_array_length(h.records)) > 0) {
		for (i = 0; i < n; i++)
			print_hist_line(json_object_array_get_idx(h.records,
			    i));
	} else
		printf("  (none)\n");
	spool_hist_free(&h);
	printf("payload\n");
	if (print_body(fd, 0) == -1)
		rc = EXIT_FAIL;
	envelope_free(&env);
out:
	if (fd != -1)
		(void)close(fd);
	buf_free(&b);
	spool_close(s);
	conf_free(c);
	return rc;
usage:
	fprintf(stderr, "usage: hookpipe show [--raw] [--endpoint NAME] "
	    "ENTRY|EVENT-ID\n");
	return EXIT_USAGE;
}

/* Put one entry back into new/ as a fresh delivery (deliver_replay). */
static int
replay_one(struct spool *s, struct dlog *log, const char *name,
    enum spool_dir from)
{
	struct buf	 b1 = { 0 }, b2 = { 0 };
	struct envelope	 env;
	struct err	 e;
	char		 by[64];

	(void)snprintf(by, sizeof(by), "hookpipe replay (uid %ld)",
	    (long)getuid());
	if (deliver_replay(s, log, name, from, by, &e) == -1) {
		buf_reset(&b1);
		tty_escape(&b1, e.msg, strlen(e.msg), 0);
		say(SAY_ERROR, "%s", buf_cstr(&b1));
		buf_free(&b1);
		return -1;
	}
	if (envelope_of(s, SP_NEW, name, &env, NULL) == -1)
		memset(&env, 0, sizeof(env));
	printf("replayed %s (%s, from %s)\n", cli_safe(&b1, name, ""),
	    cli_safe(&b2, env.event, "?"), spool_dirname(from));
	envelope_free(&env);
	buf_free(&b1);
	buf_free(&b2);
	return 0;
}

int
cmd_replay(const char *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "dead", no_argument, NULL, 'd' },
		{ "event", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ "run", no_argument, NULL, 'r' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 }
	};
	static const enum spool_dir from[] = { SP_RETRY, SP_DEAD, SP_DONE };
	struct runner_stats	 st;
	struct strlist		 l;
	struct spool		*s;
	struct conf		*c;
	struct dlog		 log;
	struct err		 e;
	struct envelope		 env;
	enum spool_dir		 d;
	const char		*event = NULL, *epname = NULL;
	char			 name[SPOOL_NAME_MAX];
	int64_t			 since = 0;
	size_t			 i, j;
	int			 ch, dead = 0, run = 0, n = 0, bad = 0, k;
	int			 temp = 0;

	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":de:s:rE:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dead = 1;
			break;
		case 'E':
			epname = optarg;
			break;
		case 'e':
			event = optarg;
			break;
		case 's':
			if ((since = cli_parse_since(optarg)) == -1) {
				say(SAY_FATAL, "--since %s: write a duration "
				    "(2h) or a date (2026-11-28)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			run = 1;
			break;
		default:
			say_getopt(ch, argv);
			goto usage;
		}
	}
	if ((optind < argc) == (dead || event != NULL) ||
	    (since && event == NULL && !dead) || (epname && optind == argc)) {
		say(SAY_FATAL, "replay takes entries or event ids, or --dead, "
		    "or --event E; --since goes with the last two, --endpoint "
		    "with ids");
		goto usage;
	}
	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	(void)metrics_attach(c->spool_dir, 0, &e);	/* counted if kept */
	if (dlog_open(&log, c->log_file, &e) == -1)
		say(SAY_WARNING, "%s", e.msg);
	for (; optind < argc; optind++) {
		if (resolve(s, c, argv[optind], epname, SAY_ERROR, name,
		    &d) == -1) {
			bad++;
			continue;
		}
		if (replay_one(s, &log, name, d) == -1)
			bad++;
		else
			n++;
	}
	for (i = 0; (dead || event != NULL) && i < 3; i++) {
		if (dead && from[i] != SP_DEAD)
			continue;
		if (spool_list(s, from[i], &l, &e) == -1)
			continue;
		for (j = 0; j < l.n; j++) {
			if (since && spool_name_time(l.v[j]) < since)
				continue;
			if (event != NULL) {
				if (envelope_of(s, from[i], l.v[j], &env,
				    NULL) == -1)
					continue;
				k = strcmp(env.event, event);
				envelope_free(&env);
				if (k != 0)
					continue;
			}
			if (replay_one(s, &log, l.v[j], from[i]) == 0)
				n++;
		}
		strlist_free(&l);
	}
	printf("%d event%s replayed\n", n, n == 1 ? "" : "s");
	if (run && n > 0) {
		if (runner_run(c, s, &log, 0, NULL, &st, &e) == -1) {
			say(SAY_ERROR, "%s", e.msg);
			/* hookpipe-run's code for a spool that kept failing */
			temp = st.failing;
			bad++;
		} else if (st.busy)
			printf("a runner is at work: it runs them\n");
		else
			printf("ran: %u done, %u retry, %u dead\n", st.done,
			    st.retry, st.dead);
	}
	dlog_close(&log);
	spool_close(s);
	conf_free(c);
	return temp ? EXIT_TEMP : bad ? EXIT_FAIL : EXIT_OK;
usage:
	fprintf(stderr, "usage: hookpipe replay [--run] [--endpoint NAME] "
	    "ENTRY|EVENT-ID ...\n"
	    "       hookpipe replay [--run] --dead [--since T]\n"
	    "       hookpipe replay [--run] --event E [--since T]\n");
	return EXIT_USAGE;
}

int
cmd_purge(const char *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "older-than", required_argument, NULL, 'o' },
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct spool	*s;
	struct conf	*c;
	struct err	 e;
	enum spool_dir	 d = SP_DONE;
	int64_t		 cut = -1;
	long		 age;
	unsigned	 n = 0;
	int		 ch, bad = 0;

	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":o:s:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			if (parse_duration(optarg, &age) == -1) {
				say(SAY_FATAL, "--older-than %s: write a "
				    "duration (30d, 12h)", optarg);
				goto usage;
			}
			cut = now_us() - (int64_t)age * 1000000;
			break;
		case 's':
			d = state_of(optarg);
			if (d != SP_DONE && d != SP_DEAD && d != SP_RETRY) {
				say(SAY_FATAL, "--state %s: purge takes done, "
				    "dead or retry", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			say_getopt(ch, argv);
			goto usage;
		}
	}
	if (cut == -1 || optind != argc) {
		if (cut == -1)
			say(SAY_FATAL, "--older-than AGE is required");
		else
			say(SAY_FATAL, "unexpected argument %s", argv[optind]);
		goto usage;
	}
	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	if (spool_purge(s, d, cut, &n, &e) == -1) {
		say(SAY_ERROR, "%s", e.msg);
		bad++;
	}
	printf("%u event%s purged from %s/\n", n, n == 1 ? "" : "s",
	    spool_dirname(d));
	spool_close(s);
	conf_free(c);
	return bad ? EXIT_FAIL : EXIT_OK;
usage:
	fprintf(stderr, "usage: hookpipe purge --older-than AGE [--state "
	    "done|dead|retry]\n  AGE: 30d, 12h, ...; the default state is "
	    "done\n");
	return EXIT_USAGE;
}
