/* test-spool: the Maildir-style store, entry names, byte-exact commits,
 * state moves and the dedupe index, including a second process; the
 * envelope format, histories, the runner lock, due times, tmp/ clean-up,
 * pruning, purging and finding an entry while it moves. */
#include "config.h"

#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"
#include "fixture.h"
#include "tap.h"

static char	root[] = "/tmp/hookpipe-test-spool.XXXXXX";
static char	spath[256];

static struct envelope	 ENVS = { .event = "booking.updated", .id = "b-1",
    .request_id = "0123456789abcdef", .received_us = 1796000000123456LL,
    .bytes = 20 };
static struct envelope	*ENV = &ENVS;
static struct buf	 envline;	/* ENV encoded */
static const char	 BODY[] = "{\"a\":\"\0\xff\xfe\r\n\"}\0tail\xff";
#define BODYLEN		(sizeof(BODY) - 1)

/* Whole content of spath/dir/name, or NULL. */
static char *
slurp(const char *dir, const char *name, size_t *len)
{
	char	 path[512], *p;
	ssize_t	 r;
	int	 fd;

	(void)snprintf(path, sizeof(path), "%s/%s/%s", spath, dir, name);
	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	p = malloc(1 << 20);
	*len = 0;
	while (p != NULL && (r = read(fd, p + *len, (1 << 20) - *len)) > 0)
		*len += (size_t)r;
	(void)close(fd);
	return p;
}

static int
exists(const char *dir, const char *name)
{
	char		path[512];
	struct stat	st;

	(void)snprintf(path, sizeof(path), "%s/%s/%s", spath, dir, name);
	return stat(path, &st) == 0;
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

static void
test_open(struct spool **s)
{
	static const char *const dirs[] = { "tmp", "new", "cur", "retry",
	    "done", "dead", "ids", "hist", NULL };
	struct spool	*t;
	struct err	 e;
	struct stat	 st;
	char		 path[512];
	size_t		 i;

	memset(&e, 0, sizeof(e));
	(void)snprintf(path, sizeof(path), "%s/absent", root);
	ok(spool_open(path, 0, &e) == NULL,
	    "spool_open without create on a missing folder fails");
	ok(strstr(e.msg, path) != NULL, "message names the spool (%s)", e.msg);

	ok((*s = spool_open(spath, SPOOL_CREATE, &e)) != NULL,
	    "spool_open with create");
	if (*s == NULL)
		exit(tap_done());
	ok(strcmp(spool_path(*s), spath) == 0, "path kept");
	for (i = 0; dirs[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", spath, dirs[i]);
		ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		    (st.st_mode & 07777) == 0700, "%s/ created, mode 0700",
		    dirs[i]);
		is_str(spool_dirname((enum spool_dir)i), dirs[i],
		    "spool_dirname(%zu) = %s", i, dirs[i]);
	}
	(void)snprintf(path, sizeof(path), "%s/run.lock", spath);
	ok(stat(path, &st) == 0 && S_ISREG(st.st_mode), "run.lock created");

	ok((t = spool_open(spath, 0, &e)) != NULL, "reopen without create");
	spool_close(t);
}

static void
test_names(struct spool *s)
{
	static char	names[1000][SPOOL_NAME_MAX];
	char		**sorted;
	size_t		i, dups = 0, misorder = 0, bad = 0;

	for (i = 0; i < 1000; i++)
		if (spool_newname(s, names[i]) == -1)
			bad++;
	is_int(bad, 0, "1000 names made");
	for (i = 0; i < 1000; i++)
		if (strchr(names[i], '/') != NULL || names[i][0] == '.' ||
		    strlen(names[i]) >= SPOOL_NAME_MAX)
			bad++;
	is_int(bad, 0, "names hold no '/', do not start with '.'");

	sorted = malloc(1000 * sizeof(*sorted));
	for (i = 0; i < 1000; i++)
		sorted[i] = names[i];
	for (i = 1; i < 1000; i++) {
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			dups++;
		if (strcmp(sorted[i - 1], sorted[i]) > 0) {
			if (misorder++ == 0)
				printf("#   \"%s\" made before \"%s\"\n",
				    sorted[i - 1], sorted[i]);
		}
	}
	is_int(dups, 0, "1000 names: adjacent names all distinct");
	/* The counter is not zero-padded: two names made within one
	 * microsecond as it gains a digit ("...9.x", "...10.x") would sort
	 * backwards. Here each name takes over a microsecond (getrandom),
	 * so this holds; see the report. */
	is_int(misorder, 0, "1000 names: byte order = creation order");
	free(sorted);
}

static void
test_commit(struct spool *s)
{
	char		 name[SPOOL_NAME_MAX], *p, rest[256];
	struct envelope	 env;
	struct envelope	 empty = { .event = "e" };
	struct err	 e;
	struct stat	 st;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd;

	(void)spool_newname(s, name);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e), 0,
	    "commit a binary body");
	ok(exists("new", name), "entry is in new/");
	ok(!exists("tmp", name), "entry is not in tmp/");
	is_int(count(s, SP_TMP), 0, "tmp/ is empty");
	p = slurp("new", name, &len);
	is_int(len, envline.len + 1 + BODYLEN, "file length = env + 1 + body");
	ok(p != NULL && len == envline.len + 1 + BODYLEN &&
	    memcmp(p, envline.p, envline.len) == 0 && p[envline.len] == '\n' &&
	    memcmp(p + envline.len + 1, BODY, BODYLEN) == 0,
	    "file = envelope, newline, body, byte-exact");
	free(p);
	{
		char path[512];

		(void)snprintf(path, sizeof(path), "%s/new/%s", spath, name);
		ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600,
		    "entry mode 0600");
	}

	fd = spool_open_entry(s, SP_NEW, name, &env, &e);
	ok(fd >= 0, "spool_open_entry opens");
	is_str(env.event, "booking.updated", "envelope: event");
	is_str(env.id, "b-1", "envelope: id");
	ok(env.endpoint == NULL, "envelope: the default endpoint");
	is_str(env.request_id, "0123456789abcdef", "envelope: request id");
	ok(env.received_us == 1796000000123456LL, "envelope: received_us");
	is_str(env.received_at, "2026-11-30T00:53:20.123456Z",
	    "envelope: received_at");
	is_int(env.bytes, BODYLEN, "envelope: bytes, as the spool counted them");
	ok(env.has_crc && env.crc == crc32c(0, BODY, BODYLEN),
	    "envelope: the body's CRC-32C");
	ok(!env.sync, "envelope: queue mode");
	len = 0;
	while (fd >= 0 && (r = read(fd, rest + len, sizeof(rest) - len)) > 0)
		len += (size_t)r;
	is_int(len, BODYLEN, "reading on yields the body length");
	ok(len == BODYLEN && memcmp(rest, BODY, BODYLEN) == 0,
	    "reading on yields exactly the body");
	if (fd >= 0)
		(void)close(fd);
	envelope_free(&env);

	/* An empty body. */
	(void)spool_newname(s, name);
	is_int(spool_commit(s, &empty, "", 0, name, NULL, &e), 0,
	    "commit an empty body");
	fd = spool_open_entry(s, SP_NEW, name, &env, &e);
	is_str(env.event, "e", "empty body: envelope");
	ok(fd >= 0 && read(fd, rest, sizeof(rest)) == 0,
	    "empty body: nothing after the envelope");
	if (fd >= 0)
		(void)close(fd);
	envelope_free(&env);
	is_int(spool_remove(s, SP_NEW, name, &e), 0, "spool_remove");
	ok(!exists("new", name), "removed");
	is_int(spool_remove(s, SP_NEW, name, &e), -1, "remove again fails");

	/* An entry without an envelope line. */
	{
		char path[512];

		(void)snprintf(path, sizeof(path), "%s/new/broken", spath);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ok(fd != -1 && write(fd, "no newline", 10) == 10 &&
		    close(fd) == 0, "write an entry without a newline");
		is_int(spool_open_entry(s, SP_NEW, "broken", &env, &e), -1,
		    "entry without an envelope line refused");
		ok(env.obj == NULL, "no envelope returned");
		ok(strstr(e.msg, "no envelope line") != NULL, "said so (%s)",
		    e.msg);
		(void)unlink(path);
	}
	is_int(spool_open_entry(s, SP_NEW, "missing", &env, &e), -1,
	    "missing entry refused");
}

static void
test_moves(struct spool *s)
{
	char		 name[SPOOL_NAME_MAX], out[512], want[512];
	char		 small[8];
	struct err	 e;

	(void)spool_newname(s, name);
	if (spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e) == -1) {
		ok(0, "commit for moves: %s", e.msg);
		return;
	}
	is_int(spool_move(s, SP_NEW, SP_CUR, name, &e), 0, "move new -> cur");
	ok(!exists("new", name) && exists("cur", name), "now only in cur/");
	is_int(spool_move(s, SP_CUR, SP_DONE, name, &e), 0, "move cur -> done");
	ok(!exists("cur", name) && exists("done", name), "now only in done/");
	errno = 0;
	is_int(spool_move(s, SP_CUR, SP_DONE, name, &e), -1,
	    "moving a gone entry fails");
	is_int(errno, ENOENT, "... with ENOENT");
	is_int(e.errnum, ENOENT, "... recorded in the err");

	is_int(spool_entry_path(s, SP_DONE, name, out, sizeof(out)), 0,
	    "spool_entry_path");
	(void)snprintf(want, sizeof(want), "%s/done/%s", spath, name);
	is_str(out, want, "entry path exact");
	is_int(spool_entry_path(s, SP_DONE, name, small, sizeof(small)), -1,
	    "entry path too long for the buffer");
}

static void
test_list(struct spool *s)
{
	static const char *const files[] = { "c", "a", ".hidden", "b10", "b9",
	    NULL };
	char		 n[3][SPOOL_NAME_MAX], path[512];
	struct strlist	 l;
	struct err	 e;
	size_t		 i;
	int		 fd;

	for (i = 0; files[i] != NULL; i++) {
		(void)snprintf(path, sizeof(path), "%s/retry/%s", spath,
		    files[i]);
		if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1)
			(void)close(fd);
	}
	is_int(spool_list(s, SP_RETRY, &l, &e), 0, "list retry/");
	is_int(l.n, 4, "4 entries, .hidden skipped");
	if (l.n == 4) {
		is_str(l.v[0], "a", "sorted 1: a");
		is_str(l.v[1], "b10", "sorted 2: b10");
		is_str(l.v[2], "b9", "sorted 3: b9 (byte order)");
		is_str(l.v[3], "c", "sorted 4: c");
	}
	strlist_free(&l);
	is_int(spool_list(s, SP_DEAD, &l, &e), 0, "list empty dead/");
	is_int(l.n, 0, "dead/: 0 entries");
	strlist_free(&l);

	/* Entries committed one after another list in that order. */
	if (spool_list(s, SP_NEW, &l, &e) == 0) {
		for (i = 0; i < l.n; i++)
			(void)spool_remove(s, SP_NEW, l.v[i], &e);
		strlist_free(&l);
	}
	is_int(count(s, SP_NEW), 0, "new/ emptied");
	for (i = 0; i < 3; i++)
		if (spool_newname(s, n[i]) == -1 ||
		    spool_commit(s, ENV, "x", 1, n[i], NULL, &e) == -1)
			ok(0, "commit %zu: %s", i, e.msg);
	is_int(spool_list(s, SP_NEW, &l, &e), 0, "list new/");
	is_int(l.n, 3, "new/: 3 entries");
	if (l.n == 3) {
		is_str(l.v[0], n[0], "new/ oldest first");
		is_str(l.v[1], n[1], "new/ second");
		is_str(l.v[2], n[2], "new/ newest last");
	}
	strlist_free(&l);
}

static void
test_ids(struct spool *s)
{
	char		 name[SPOOL_NAME_MAX], ghost[SPOOL_NAME_MAX];
	char		*p;
	struct err	 e;
	size_t		 len = 0;
	int		 fd = -2;

	(void)spool_newname(s, name);
	(void)spool_commit(s, ENV, "x", 1, name, NULL, &e);
	is_int(spool_id_reserve(s, "evt_1", &fd, &e), 1, "fresh id: reserved");
	ok(fd >= 0, "fresh id: fd returned");
	is_int(spool_id_note(fd, name, &e), 0, "id noted");
	spool_id_done(fd, 1);
	p = slurp("ids", "evt_1", &len);
	ok(p != NULL && len == strlen(name) + 1 &&
	    memcmp(p, name, strlen(name)) == 0 && p[len - 1] == '\n',
	    "ids/evt_1 holds the entry name and a newline");
	free(p);
	fd = -2;
	is_int(spool_id_reserve(s, "evt_1", &fd, &e), 0,
	    "same id again: duplicate");
	is_int(fd, -1, "duplicate: no fd");

	fd = -2;
	is_int(spool_id_reserve(s, "evt_2", &fd, &e), 1, "evt_2 reserved");
	spool_id_done(fd, 0);
	fd = -2;
	is_int(spool_id_reserve(s, "evt_2", &fd, &e), 1,
	    "evt_2 after release: reserved again (retry not blocked)");
	ok(fd >= 0, "evt_2 again: fd returned");
	is_int(spool_id_note(fd, name, &e), 0, "evt_2 noted");
	spool_id_done(fd, 1);
	is_int(spool_id_reserve(s, "evt_2", &fd, &e), 0, "evt_2 now duplicate");

	/* A record naming an entry that never got stored (a crash between
	 * the record and the commit) does not block the sender's retry. */
	(void)spool_newname(s, ghost);
	fd = -2;
	is_int(spool_id_reserve(s, "evt_3", &fd, &e), 1, "evt_3 reserved");
	is_int(spool_id_note(fd, ghost, &e), 0, "evt_3 names an entry");
	(void)close(fd);	/* "crash": the commit never happened */
	fd = -2;
	is_int(spool_id_reserve(s, "evt_3", &fd, &e), 1,
	    "a record naming nothing stored is taken over");
	p = slurp("ids", "evt_3", &len);
	is_int((long long)len, 0, "and reset");
	free(p);
	(void)close(fd);

	is_int(count(s, SP_TMP), 0, "no .id leftovers in tmp/");

	/* Torn entries, as a power cut leaves them: a record naming one
	 * is no duplicate's original; the sender's retry is the event. */
	{
		static const char *const how[] = { "zeroed body",
		    "short body", "NUL-filled", "empty" };
		char	path[512], id[32], zeros[BODYLEN];
		size_t	k;

		memset(zeros, 0, sizeof(zeros));
		for (k = 0; k < 4; k++) {
			(void)spool_newname(s, name);
			(void)snprintf(id, sizeof(id), "torn-%zu", k);
			fd = -2;
			if (spool_id_reserve(s, id, &fd, &e) != 1 ||
			    spool_id_note(fd, name, &e) == -1 ||
			    spool_commit(s, ENV, BODY, BODYLEN, name,
			    NULL, &e) == -1) {
				ok(0, "torn: set up %s", how[k]);
				continue;
			}
			spool_id_done(fd, 1);
			ok(spool_entry_intact(s, name), "a whole entry is "
			    "intact (before: %s)", how[k]);
			(void)snprintf(path, sizeof(path), "%s/new/%s", spath,
			    name);
			p = slurp("new", name, &len);
			fd = open(path, O_WRONLY | O_TRUNC);
			if (fd == -1 || p == NULL) {
				ok(0, "torn: rewrite %s", how[k]);
				free(p);
				continue;
			}
			if (k == 0) {	/* the envelope survived, not the body */
				(void)write(fd, p, len - BODYLEN);
				(void)write(fd, zeros, BODYLEN);
			} else if (k == 1)
				(void)write(fd, p, len - 3);
			else if (k == 2) {
				memset(p, 0, len);
				(void)write(fd, p, len);
			}
			(void)close(fd);
			free(p);
			ok(!spool_entry_intact(s, name), "%s: not intact",
			    how[k]);
			fd = -2;
			is_int(spool_id_reserve(s, id, &fd, &e), 1,
			    "%s: the id's retry is ours, not a duplicate",
			    how[k]);
			if (fd >= 0)
				spool_id_done(fd, 0);
		}
	}
}

/* Another process holds the id for 300 ms, then commits (or releases):
 * our reserve must wait for it and see its decision. */
static void
test_ids_fork(struct spool *s, int commit)
{
	const char	*id = commit ? "evt_fork_c" : "evt_fork_r";
	char		 c = 0, *p, entry[SPOOL_NAME_MAX], want[SPOOL_NAME_MAX + 1];
	struct err	 e;
	size_t		 len = 0;
	pid_t		 pid;
	int		 pfd[2], fd = -2, status = -1, rc;

	(void)spool_newname(s, entry);
	(void)spool_commit(s, ENV, "x", 1, entry, NULL, &e);
	(void)snprintf(want, sizeof(want), "%s\n", entry);
	if (pipe(pfd) == -1 || (pid = fork()) == -1) {
		ok(0, "pipe/fork");
		return;
	}
	if (pid == 0) {
		int cfd = -1, ok_ = 1;

		(void)close(pfd[0]);
		if (spool_id_reserve(s, id, &cfd, &e) != 1)
			ok_ = 0;
		(void)write(pfd[1], ok_ ? "r" : "x", 1);
		(void)usleep(300 * 1000);
		if (commit) {
			if (ok_ && spool_id_note(cfd, entry, &e) != 0)
				ok_ = 0;
			if (ok_)
				spool_id_done(cfd, 1);
		} else if (ok_)
			spool_id_done(cfd, 0);
		_exit(ok_ ? 0 : 1);
	}
	(void)close(pfd[1]);
	ok(read(pfd[0], &c, 1) == 1 && c == 'r', "child reserved %s", id);
	(void)close(pfd[0]);
	rc = spool_id_reserve(s, id, &fd, &e);
	if (commit) {
		is_int(rc, 0, "parent waited: child committed -> duplicate");
		p = slurp("ids", id, &len);
		ok(p != NULL && len == strlen(want) &&
		    memcmp(p, want, len) == 0,
		    "the child's decision was in place when we returned");
		free(p);
	} else {
		is_int(rc, 1, "parent waited: child released -> ours");
		ok(fd >= 0, "parent holds the id");
		if (fd >= 0) {
			is_int(spool_id_note(fd, "parent-entry", &e), 0,
			    "parent notes its entry");
			spool_id_done(fd, 1);
		}
	}
	ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "child exited 0");
}

/* ---- The envelope, the history, the lock, and the upkeep. ---- */

static void
test_envelope(void)
{
	struct envelope	 in = { .endpoint = "github", .event = "push",
	    .id = NULL, .request_id = "rq-1", .remote = "192.0.2.7",
	    .content_type = "application/json; charset=\"utf-8\"",
	    .user_agent = "GitHub-Hookshot/1 \\ \xc3\xa9",
	    .received_us = 1796000000000042LL, .bytes = 4242, .sync = 1 };
	struct envelope	 q = { .event = "e", .request_id = "r",
	    .received_us = 5 };
	struct envelope	 out;
	struct buf	 b = { 0 };
	struct err	 e;
	json_object	*o, *v;
	size_t		 i;
	static const struct {
		const char	*line;
		const char	*why;
	} bad[] = {
		{ "not json", "not JSON" },
		{ "{\"v\":1,\"event\":\"e\"} x", "trailing garbage" },
		{ "{\"v\":1,\"event\":\"e\"}{}", "a second object after it" },
		{ "[{\"v\":1,\"event\":\"e\"}]", "an array, not an object" },
		{ "\"v\"", "a string, not an object" },
		{ "", "empty" },
		{ "{\"v\":2,\"event\":\"e\"}", "v = 2" },
		{ "{\"v\":\"1\",\"event\":\"e\"}", "v a string" },
		{ "{\"event\":\"e\"}", "no v" },
		{ "{\"v\":1}", "no event" },
		{ "{\"v\":1,\"event\":null}", "event null" },
		{ "{\"v\":1,\"event\":5}", "event a number" },
		{ "{\"v\":1,\"event\":\"e\",\"id\":7}", "id a number" },
		{ "{\"v\":1,\"event\":\"e\",\"endpoint\":[]}", "endpoint an array" },
		{ "{\"v\":1,\"event\":\"e\",\"mode\":1}", "mode a number" },
		{ "{\"v\":1,\"event\":\"e\",\"headers\":{\"user-agent\":1}}",
		    "a header not a string" },
		{ "{\"v\":1,\"event\":\"\xff\xfe\"}", "invalid UTF-8" },
		{ "{\"v\":1,\"event\":\"e\",\"x\":\"\xc3\"}",
		    "a truncated UTF-8 sequence" },
		{ "{\"v\":1,\"event\":\"e\",\"x\":[[[[1]]]]}", "too deep (5)" },
		{ "{\"v\":1,\"event\":'e'}", "not strict JSON" },
		{ "{\"v\":1,\"event\":\"../x\"}", "an event naming ../" },
		{ "{\"v\":1,\"event\":\".e\"}", "an event starting with ." },
		{ "{\"v\":1,\"event\":\"e\",\"id\":\"a/b\"}", "an id with /" },
	};

	envelope_encode(&b, &in);
	ok(!b.oom && memchr(b.p, '\n', b.len) == NULL,
	    "envelope_encode: one line, no newline");
	is_str(in.received_at, "2026-11-30T00:53:20.000042Z",
	    "envelope_encode sets received_at");
	o = b.oom ? NULL : json_tokener_parse(buf_cstr(&b));
	ok(o != NULL && json_object_object_get_ex(o, "id", &v) && v == NULL,
	    "a missing id is written as null");
	ok(o != NULL && json_object_object_get_ex(o, "mode", &v) &&
	    strcmp(json_object_get_string(v), "sync") == 0,
	    "sync written as mode \"sync\"");
	json_object_put(o);
	is_int(envelope_parse(buf_cstr(&b), &out, &e), 0,
	    "envelope_parse reads it back");
	is_str(out.endpoint, "github", "round trip: endpoint");
	is_str(out.event, "push", "round trip: event");
	ok(out.id == NULL, "round trip: null id stays NULL");
	is_str(out.request_id, "rq-1", "round trip: request_id");
	is_str(out.remote, "192.0.2.7", "round trip: remote");
	is_str(out.content_type, in.content_type,
	    "round trip: content-type with quotes");
	is_str(out.user_agent, in.user_agent,
	    "round trip: user-agent with backslash and UTF-8");
	is_int(out.received_us, in.received_us, "round trip: received_us");
	is_str(out.received_at, in.received_at, "round trip: received_at");
	is_int(out.bytes, 4242, "round trip: bytes");
	is_int(out.sync, 1, "round trip: sync mode");
	ok(out.obj != NULL, "the parsed object is kept");
	envelope_free(&out);
	ok(out.obj == NULL && out.event == NULL, "envelope_free clears it");

	envelope_encode(&b, &q);
	is_int(envelope_parse(buf_cstr(&b), &out, &e), 0,
	    "a bare envelope (default endpoint, no headers) parses");
	ok(out.endpoint == NULL, "bare: default endpoint is NULL");
	ok(out.content_type == NULL && out.user_agent == NULL,
	    "bare: null headers are NULL");
	is_int(out.sync, 0, "bare: queue mode");
	is_int(out.received_us, 5, "bare: received_us");
	envelope_free(&out);

	is_int(envelope_parse("{\"v\":1,\"event\":\"e\",\"x\":{\"y\":{}},"
	    "\"received_us\":2000000,\"mode\":\"other\"}", &out, &e), 0,
	    "nesting 3 deep and unknown members are accepted");
	is_int(out.sync, 0, "a mode other than \"sync\" is queue");
	is_str(out.received_at, "1970-01-01T00:00:02.000000Z",
	    "received_at made from received_us when absent");
	envelope_free(&out);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0, sizeof(e));
		out.obj = (json_object *)&out;	/* must be cleared */
		is_int(envelope_parse(bad[i].line, &out, &e), -1,
		    "envelope_parse refuses %s", bad[i].why);
		ok(out.obj == NULL && out.event == NULL && e.msg[0] != '\0',
		    "... returns nothing, says why (%s)", e.msg);
	}
	buf_free(&b);
}

/* The lines of hist/NAME. */
static size_t
hist_lines(const char *name, char lines[][512], size_t max)
{
	char	*p, *q, *nl;
	size_t	 len = 0, n = 0;

	if ((p = slurp("hist", name, &len)) == NULL)
		return 0;
	p[len] = '\0';
	for (q = p; n < max && (nl = strchr(q, '\n')) != NULL; q = nl + 1) {
		*nl = '\0';
		(void)snprintf(lines[n++], 512, "%s", q);
	}
	free(p);
	return n;
}

static void
put_hist(struct spool *s, const char *name, const char *text)
{
	struct err	e;
	int		fd = spool_hist_open(s, name, &e);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)
	    || close(fd) == -1)
		ok(0, "write hist/%s: %s", name, e.msg);
}

static void
test_hist(struct spool *s)
{
	static char	 lines[16][512];
	char		 run[SPOOL_RUN_MAX + 1], big[80];
	struct history	 h;
	struct err	 e;
	json_object	*o, *v;
	size_t		 n;
	const char	*name = "hist-a";

	n = spool_hist_run(run, "2026-11-30T00:53:20.000042Z", 4321,
	    1234567890123ULL);
	run[n] = '\0';
	is_str(run, "{\"time\":\"2026-11-30T00:53:20.000042Z\",\"type\":\"run\","
	    "\"pgid\":4321,\"start\":1234567890123}\n",
	    "spool_hist_run: one JSON line");
	memset(big, '9', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n = spool_hist_run(run, big, (unsigned long)-1, (unsigned long long)-1);
	ok(n <= SPOOL_RUN_MAX && run[n - 1] == '\n',
	    "spool_hist_run: largest values and a long time fit in "
	    "SPOOL_RUN_MAX (%zu)", n);
	run[n] = '\0';
	o = json_tokener_parse(run);
	ok(o != NULL && json_object_object_get_ex(o, "start", &v) &&
	    json_object_get_uint64(v) == (uint64_t)-1,
	    "spool_hist_run: the largest start is written in full");
	json_object_put(o);

	is_int(spool_hist_load(s, "no-such", &h, &e), 0,
	    "spool_hist_load without a history: 0");
	ok(h.attempts == 0 && h.ok.n == 0 && h.nruns == 0 &&
	    h.records != NULL && json_object_array_length(h.records) == 0,
	    "... and an empty history");
	spool_hist_free(&h);

	/* Attempt 1: a ran and succeeded, b failed; attempt 2 started
	 * two handlers (two run records) and was cut short. */
	(void)spool_hist_add(s, name, "attempt", ",\"attempt\":1", &e);
	n = spool_hist_run(run, "t", 101, 11);
	run[n] = '\0';
	put_hist(s, name, run);
	(void)spool_hist_add(s, name, "handler",
	    ",\"handler\":\"/h/a\",\"result\":\"exit 0\"", &e);
	(void)spool_hist_add(s, name, "handler",
	    ",\"handler\":\"/h/b\",\"result\":\"exit 3\"", &e);
	(void)spool_hist_add(s, name, "handler",
	    ",\"handler\":\"/h/c\",\"result\":\"exit 00\"", &e);
	(void)spool_hist_add(s, name, "handler",
	    ",\"handler\":\"/h/d\",\"result\":\"exit 0 \"", &e);
	(void)spool_hist_add(s, name, "handler", ",\"result\":\"exit 0\"", &e);
	(void)spool_hist_add(s, name, "state", ",\"state\":\"retry\"", &e);
	put_hist(s, name, "[\"not\",\"an\",\"object\"]\nnot json at all\n"
	    "{\"type\":7}\n\n");
	is_int(spool_hist_add(s, name, "attempt", ",\"attempt\":2", &e), 0,
	    "spool_hist_add");
	n = spool_hist_run(run, "t", 202, 22);
	run[n] = '\0';
	put_hist(s, name, run);
	put_hist(s, name, "{\"time\":\"t\",\"type\":\"run\",\"pgid\":1,"
	    "\"start\":5}\n{\"time\":\"t\",\"type\":\"run\",\"pgid\":\"303\","
	    "\"start\":5}\n");
	n = spool_hist_run(run, "t", 303, 33);
	run[n] = '\0';
	put_hist(s, name, run);
	n = hist_lines(name, lines, 16);
	ok(n >= 1 && strncmp(lines[0], "{\"time\":\"", 9) == 0 &&
	    strstr(lines[0], "\",\"type\":\"attempt\",\"attempt\":1}") != NULL,
	    "spool_hist_add: {\"time\":..,\"type\":..,fields} (%s)",
	    n >= 1 ? lines[0] : "");
	/* A crash in the middle of the last write: the whole record but
	 * its newline. */
	put_hist(s, name, "{\"time\":\"t\",\"type\":\"attempt\"}");

	is_int(spool_hist_load(s, name, &h, &e), 0, "spool_hist_load");
	is_int(h.attempts, 2, "two attempts counted; the torn third ignored");
	is_int(h.replays, 0, "no replay");
	is_int(h.ok.n, 1, "ok: one handler");
	is_str(h.ok.n > 0 ? h.ok.v[0] : NULL, "/h/a",
	    "ok: only the one with result exactly \"exit 0\"");
	is_int(h.nruns, 2, "runs: those of the last attempt, pgid > 1, "
	    "numbers only");
	ok(h.nruns == 2 && h.runs[0].pgid == 202 && h.runs[0].start == 22 &&
	    h.runs[1].pgid == 303 && h.runs[1].start == 33,
	    "runs: (202, 22) and (303, 33) from spool_hist_run lines");
	is_int(json_object_array_length(h.records), 14,
	    "records: every object line, none of the skipped ones");
	spool_hist_free(&h);
	ok(h.records == NULL && h.runs == NULL && h.ok.n == 0,
	    "spool_hist_free clears it");

	/* A record added after the torn line starts a line of its own:
	 * the torn line stays ignored, the new record counts. */
	is_int(spool_hist_add(s, name, "replay", NULL, &e), 0,
	    "spool_hist_add after a torn last line");
	is_int(spool_hist_load(s, name, &h, &e), 0, "spool_hist_load again");
	is_int(h.replays, 1, "the replay after the torn line is read");
	is_int(h.attempts, 0, "and starts the count afresh");
	spool_hist_free(&h);

	/* A replay starts afresh; what follows counts again. */
	name = "hist-b";
	(void)spool_hist_add(s, name, "attempt", ",\"attempt\":1", &e);
	n = spool_hist_run(run, "t", 101, 11);
	run[n] = '\0';
	put_hist(s, name, run);
	(void)spool_hist_add(s, name, "handler",
	    ",\"handler\":\"/h/a\",\"result\":\"exit 0\"", &e);
	(void)spool_hist_add(s, name, "attempt", ",\"attempt\":2", &e);
	(void)spool_hist_add(s, name, "replay", NULL, &e);
	is_int(spool_hist_load(s, name, &h, &e), 0, "load after a replay");
	ok(h.attempts == 0 && h.ok.n == 0 && h.nruns == 0 && h.replays == 1,
	    "a replay resets attempts, ok and runs (%d, %zu, %zu, %d)",
	    h.attempts, h.ok.n, h.nruns, h.replays);
	spool_hist_free(&h);
	(void)spool_hist_add(s, name, "attempt", ",\"attempt\":1", &e);
	(void)spool_hist_add(s, name, "handler",
	    ",\"handler\":\"/h/b\",\"result\":\"exit 0\"", &e);
	(void)spool_hist_add(s, name, "replay", NULL, &e);
	(void)spool_hist_add(s, name, "attempt", ",\"attempt\":1", &e);
	is_int(spool_hist_load(s, name, &h, &e), 0, "load after two replays");
	ok(h.attempts == 1 && h.ok.n == 0 && h.replays == 2,
	    "second replay: 1 attempt since, ok empty, 2 replays");
	spool_hist_free(&h);
}

/* A child process opens the spool on its own (a lock of its own open
 * file) and runs fn; its exit status is fn's. */
static int
in_child(int (*fn)(struct spool *, long), long arg)
{
	struct spool	*c;
	struct err	 e;
	pid_t		 pid;
	int		 status;

	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((c = spool_open(spath, 0, &e)) == NULL)
			_exit(99);
		_exit(fn(c, arg));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int
child_lock(struct spool *c, long unused)
{
	struct err e;

	(void)unused;
	return spool_lock(c, &e);
}

static int
child_lock_free(struct spool *c, long unused)
{
	(void)unused;
	return spool_lock_free(c);
}

static int
child_runner_is(struct spool *c, long pid)
{
	return spool_runner(c) == (pid_t)pid;
}

/* Take the lock and leave without letting go: a killed runner. */
static int
child_lock_exit(struct spool *c, long unused)
{
	struct err e;

	(void)unused;
	return spool_lock(c, &e) == 1 ? 0 : 1;
}

static void
test_lock(struct spool *s)
{
	struct err	e;
	char		path[512];
	pid_t		pid;
	int		fd, status;

	is_int(spool_runner(s), 0, "spool_runner: 0 before any runner");
	is_int(in_child(child_lock_free, 0), 1,
	    "spool_lock_free: 1 when nobody holds it");
	is_int(spool_lock(s, &e), 1, "spool_lock: 1, taken");
	is_int(spool_runner(s), getpid(), "spool_runner: the holder's pid");
	is_int(in_child(child_lock, 0), 0,
	    "spool_lock from another process: 0, busy");
	is_int(in_child(child_lock_free, 0), 0,
	    "spool_lock_free from another process: 0 while held");
	is_int(in_child(child_runner_is, (long)getpid()), 1,
	    "another process's spool_runner names the holder");
	is_int(spool_unlock(s, &e), 0, "spool_unlock");
	is_int(spool_runner(s), 0, "spool_runner: 0 after spool_unlock");
	is_int(in_child(child_lock, 0), 1,
	    "another process takes it after the unlock");
	is_int(in_child(child_lock_free, 0), 1,
	    "spool_lock_free: 1 again (it let go of its own test)");
	is_int(spool_lock(s, &e), 1, "and so do we");
	(void)spool_unlock(s, &e);

	/* Held with no pid noted: a lock a responder took for the runner
	 * it starts. spool_lock waits for it (up to 1 s), where it finds
	 * a runner at work (above) busy at once. */
	fd = spool_lock_handoff(s);
	ok(fd != -1, "spool_lock_handoff takes it, noting no pid");
	if ((pid = fork()) == 0) {
		struct spool *c;

		(void)close(fd);	/* the parent's, to let go */
		c = spool_open(spath, 0, &e);
		_exit(c != NULL ? spool_lock(c, &e) : 99);
	}
	(void)usleep(100000);
	(void)close(fd);
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 1, "a lock being handed over is waited "
	    "for: taken once let go");
	fd = spool_lock_handoff(s);
	is_int(in_child(child_lock, 0), 0, "held so for over 1 s: busy");
	(void)close(fd);

	/* A runner killed while holding it leaves its pid behind. */
	if ((pid = fork()) == 0) {
		struct spool *c = spool_open(spath, 0, &e);

		_exit(c != NULL ? child_lock_exit(c, 0) : 99);
	}
	ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0, "a child takes the lock and exits");
	(void)snprintf(path, sizeof(path), "%s/run.lock", spath);
	{
		char	b[32] = { 0 };
		size_t	len = 0;
		char	*p = slurp(".", "run.lock", &len);

		if (p != NULL)
			(void)snprintf(b, sizeof(b), "%.*s", (int)len, p);
		free(p);
		is_int(atol(b), pid, "run.lock still names the dead child");
	}
	is_int(spool_runner(s), 0, "spool_runner: 0 for a dead pid");
	fd = open(path, O_WRONLY | O_TRUNC);
	ok(fd != -1 && write(fd, "junk\n", 5) == 5 && close(fd) == 0,
	    "write junk into run.lock");
	is_int(spool_runner(s), 0, "spool_runner: 0 for junk");
	is_int(spool_lock(s, &e), 1, "the lock is free after the dead child");
	(void)spool_unlock(s, &e);
}

/* Make an entry NAME in a state folder (through tmp/), with or without
 * a history. */
static int
mkentry(struct spool *s, enum spool_dir d, const char *name, int hist)
{
	struct err e;

	if (spool_write(s, ENV, "x", 1, name, &e) == -1 ||
	    (d != SP_TMP && spool_move(s, SP_TMP, d, name, &e) == -1) ||
	    (hist && spool_hist_add(s, name, "attempt", NULL, &e) == -1)) {
		ok(0, "make %s/%s: %s", spool_dirname(d), name, e.msg);
		return -1;
	}
	return 0;
}

/* Set the mtime of spath/dir/name (seconds, µs). */
static int
set_mtime(const char *dir, const char *name, int64_t us)
{
	char		path[512];
	struct timespec	ts[2];

	(void)snprintf(path, sizeof(path), "%s/%s/%s", spath, dir, name);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)(us / 1000000);
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(us % 1000000) * 1000;
	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

static int64_t
mtime_us(const char *dir, const char *name)
{
	char		path[512];
	struct stat	st;

	(void)snprintf(path, sizeof(path), "%s/%s/%s", spath, dir, name);
	if (lstat(path, &st) == -1)
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000 + st.st_mtim.tv_nsec / 1000;
}

#define YEAR	(365LL * 86400 * 1000000)
#define SEC	1000000LL

static void
test_retry_due(struct spool *s)
{
	const int64_t	due = 1796000000123456LL;
	struct err	e;
	int64_t		now = now_us();

	if (mkentry(s, SP_RETRY, "rd", 0) == -1)
		return;
	is_int(spool_retry_set(s, "rd", due, &e), 0, "spool_retry_set");
	is_int(mtime_us("retry", "rd"), due, "the due time is the mtime, "
	    "to the µs");
	is_int(spool_retry_due(s, "rd", 86400, due - 3600 * SEC), due,
	    "spool_retry_due: exact µs, an hour ahead");
	is_int(spool_retry_due(s, "rd", 86400, due + 5), due,
	    "spool_retry_due: exact when past");
	is_int(spool_retry_due(s, "rd", 86400, due - 86400 * SEC), due,
	    "spool_retry_due: exactly `bound` ahead is kept");
	is_int(spool_retry_due(s, "rd", 86400, due - 86400 * SEC - 1),
	    due - 86400 * SEC - 1, "spool_retry_due: 1 µs past the bound: now");
	(void)spool_retry_set(s, "rd", now + YEAR, &e);
	is_int(spool_retry_due(s, "rd", 86400, now), now,
	    "spool_retry_due: a year ahead with bound 86400 is now");
	is_int(spool_retry_due(s, "rd", 400 * 86400, now), now + YEAR,
	    "... but kept under a bound of 400 days");
	is_int(spool_retry_due(s, "gone", 86400, now), 0,
	    "spool_retry_due: 0 for a missing entry");
	ok(set_mtime("retry", "rd", 0) == 0 &&
	    spool_retry_due(s, "rd", 86400, now) == 1,
	    "spool_retry_due: touched to the epoch, long due (1, not 0)");
	memset(&e, 0, sizeof(e));
	is_int(spool_retry_set(s, "gone", due, &e), -1,
	    "spool_retry_set on a missing entry: -1");
	ok(strstr(e.msg, "retry/gone") != NULL && e.errnum == ENOENT,
	    "... naming it (%s)", e.msg);
	(void)spool_remove(s, SP_RETRY, "rd", &e);
}

static void
test_clean_tmp(struct spool *s)
{
	int64_t now = now_us(), m;

	(void)mkentry(s, SP_TMP, "old", 0);
	(void)mkentry(s, SP_TMP, "fresh", 0);
	(void)mkentry(s, SP_TMP, "ahead", 0);
	(void)mkentry(s, SP_TMP, "edge", 0);
	ok(set_mtime("tmp", "old", now - 3700 * SEC) == 0 &&
	    set_mtime("tmp", "fresh", now - 3500 * SEC) == 0 &&
	    set_mtime("tmp", "ahead", now + YEAR) == 0 &&
	    set_mtime("tmp", "edge", now + 3500 * SEC) == 0,
	    "tmp/: files aged 3700 s, 3500 s, -1 year, -3500 s");
	spool_clean_tmp(s, 3600);
	ok(!exists("tmp", "old"), "spool_clean_tmp: the stale one goes");
	ok(exists("tmp", "fresh"), "spool_clean_tmp: a fresh one stays");
	ok(exists("tmp", "ahead"), "spool_clean_tmp: one a year ahead stays");
	m = mtime_us("tmp", "ahead");
	ok(m >= now - 5 * SEC && m <= now_us() + 5 * SEC,
	    "... with its mtime reset to now (%lld s off)",
	    (long long)((m - now) / SEC));
	is_int(mtime_us("tmp", "edge"), now + 3500 * SEC,
	    "spool_clean_tmp: one less than `stale` ahead is left alone");
	spool_clean_tmp(s, 3600);
	ok(exists("tmp", "ahead"), "the reset one is not stale after it");
	{
		struct err e;

		(void)spool_remove(s, SP_TMP, "fresh", &e);
		(void)spool_remove(s, SP_TMP, "ahead", &e);
		(void)spool_remove(s, SP_TMP, "edge", &e);
	}
}

/* An entry name received at `us`. */
static const char *
name_at(int64_t us, const char *tag)
{
	static char	n[4][SPOOL_NAME_MAX];
	static int	i;

	i = (i + 1) % 4;
	(void)snprintf(n[i], sizeof(n[i]), "%010lld.%06lld.1.000001.%s",
	    (long long)(us / SEC), (long long)(us % SEC), tag);
	return n[i];
}

static void
test_prune(struct spool *s)
{
	const long	keep = 7 * 86400;
	char		old[SPOOL_NAME_MAX], young[SPOOL_NAME_MAX];
	char		old2[SPOOL_NAME_MAX], deadold[SPOOL_NAME_MAX];
	char		stamp[512];
	struct err	e;
	int64_t		now = now_us();
	int		fd;

	(void)snprintf(stamp, sizeof(stamp), "%s/prune.stamp", spath);
	(void)unlink(stamp);
	(void)snprintf(old, sizeof(old), "%s", name_at(now - (keep + 60) * SEC,
	    "old"));
	(void)snprintf(young, sizeof(young), "%s", name_at(now - (keep - 60) *
	    SEC, "young"));
	(void)snprintf(old2, sizeof(old2), "%s", name_at(now - (keep + 60) *
	    SEC, "old2"));
	(void)snprintf(deadold, sizeof(deadold), "%s", name_at(now - (keep +
	    60) * SEC, "dead"));
	(void)mkentry(s, SP_DONE, old, 1);
	(void)mkentry(s, SP_DONE, young, 1);
	(void)mkentry(s, SP_DEAD, deadold, 1);
	/* ids/ records: by their mtime, whatever they name. */
	{
		char p[512];

		(void)snprintf(p, sizeof(p), "%s/ids/id-old", spath);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		(void)close(fd);
		(void)snprintf(p, sizeof(p), "%s/ids/id-young", spath);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		(void)close(fd);
	}
	(void)set_mtime("ids", "id-old", now - (keep + 60) * SEC);
	(void)set_mtime("ids", "id-young", now - (keep - 60) * SEC);

	is_int(spool_prune(s, keep, 3600), 1, "spool_prune: one entry went");
	ok(!exists("done", old) && !exists("hist", old),
	    "an old done/ entry goes with its hist/");
	ok(exists("done", young) && exists("hist", young),
	    "a younger one stays with its hist/");
	ok(exists("dead", deadold) && exists("hist", deadold),
	    "dead/ is not pruned");
	ok(!exists("ids", "id-old"), "an old ids/ record goes");
	ok(exists("ids", "id-young"), "a younger ids/ record stays");
	ok(exists(".", "prune.stamp"), "prune.stamp made");

	(void)mkentry(s, SP_DONE, old2, 1);
	is_int(spool_prune(s, keep, 3600), 0,
	    "spool_prune right after: held back by the stamp");
	ok(exists("done", old2), "... the old entry is still there");
	ok(set_mtime(".", "prune.stamp", now - 3500 * SEC) == 0 &&
	    spool_prune(s, keep, 3600) == 0 && exists("done", old2),
	    "a stamp 3500 s old still holds it back (every 3600)");
	ok(set_mtime(".", "prune.stamp", now - 3601 * SEC) == 0 &&
	    spool_prune(s, keep, 3600) == 1 && !exists("done", old2),
	    "a stamp 3601 s old lets it run");
	(void)mkentry(s, SP_DONE, old2, 1);
	ok(set_mtime(".", "prune.stamp", now + YEAR) == 0,
	    "stamp set a year ahead");
	is_int(spool_prune(s, keep, 3600), 1,
	    "a stamp a year ahead does not hold pruning back");
	ok(!exists("done", old2) && !exists("hist", old2), "... it went");
	ok(mtime_us(".", "prune.stamp") <= now_us() + 5 * SEC,
	    "and the stamp is now again");
	(void)mkentry(s, SP_DONE, old2, 1);
	ok(spool_prune(s, keep, 3600) == 0 && exists("done", old2),
	    "and holds the next one back");
	(void)spool_remove(s, SP_DONE, old2, &e);
	(void)spool_remove(s, SP_DONE, young, &e);
	(void)spool_remove(s, SP_DEAD, deadold, &e);
	(void)spool_remove(s, SP_IDS, "id-young", &e);
}

static void
test_purge(struct spool *s)
{
	char		a[SPOOL_NAME_MAX], b[SPOOL_NAME_MAX], c[SPOOL_NAME_MAX];
	struct err	e;
	unsigned	n = 99;
	int64_t		t = 1796000000000000LL;

	(void)snprintf(a, sizeof(a), "%s", name_at(t, "a"));
	(void)snprintf(b, sizeof(b), "%s", name_at(t + 10 * SEC, "b"));
	(void)snprintf(c, sizeof(c), "%s", name_at(t + 20 * SEC, "c"));
	(void)mkentry(s, SP_DEAD, a, 1);
	(void)mkentry(s, SP_DEAD, b, 1);
	(void)mkentry(s, SP_DEAD, c, 1);
	(void)mkentry(s, SP_RETRY, name_at(t, "r"), 0);
	is_int(spool_purge(s, SP_DEAD, t + 10 * SEC, &n, &e), 0,
	    "spool_purge before t+10");
	is_int(n, 1, "one entry received before it went");
	ok(!exists("dead", a) && !exists("hist", a), "a went with its hist/");
	ok(exists("dead", b) && exists("dead", c) && exists("hist", b),
	    "b (received at the cut) and c stay");
	is_int(spool_purge(s, SP_DEAD, 0, &n, &e), 0, "spool_purge all");
	is_int(n, 2, "the two others went");
	ok(!exists("hist", b) && !exists("hist", c), "with their hist/");
	is_int(count(s, SP_DEAD), 0, "dead/ is empty");
	ok(exists("retry", name_at(t, "r")), "retry/ untouched");
	(void)spool_remove(s, SP_RETRY, name_at(t, "r"), &e);
}

static void
test_id_key(void)
{
	char	key[SPOOL_KEY_MAX], id[SPOOL_KEY_MAX + 8];

	is_int(spool_id_key("github", "abc-1", key), 0, "spool_id_key");
	is_str(key, "github+abc-1", "an endpoint's key: NAME+ID");
	is_int(spool_id_key(NULL, "abc-1", key), 0, "default endpoint");
	is_str(key, "abc-1", "the default endpoint's key: ID");
	memset(id, 'i', sizeof(id));
	id[SPOOL_KEY_MAX - 1] = '\0';
	is_int(spool_id_key(NULL, id, key), 0, "an id of %d bytes fits",
	    SPOOL_KEY_MAX - 1);
	id[SPOOL_KEY_MAX - 1] = 'i';
	id[SPOOL_KEY_MAX] = '\0';
	is_int(spool_id_key(NULL, id, key), -1, "an id of %d is too long",
	    SPOOL_KEY_MAX);
	id[SPOOL_KEY_MAX - 8] = '\0';
	is_int(spool_id_key("endpoint", id, key), -1,
	    "endpoint+id too long together");
}

static void
test_id_lookup(struct spool *s)
{
	char		 name[SPOOL_NAME_MAX], ghost[SPOOL_NAME_MAX];
	char		 got[SPOOL_NAME_MAX], path[512];
	struct err	 e;
	int64_t		 t0;
	int		 fd, rc;

	(void)spool_newname(s, name);
	(void)spool_newname(s, ghost);
	(void)spool_commit(s, ENV, "x", 1, name, NULL, &e);
	if (spool_id_reserve(s, "ep+lk-1", &fd, &e) == 1) {
		(void)spool_id_note(fd, name, &e);
		spool_id_done(fd, 1);
	}
	if (spool_id_reserve(s, "ep+lk-2", &fd, &e) == 1) {
		(void)spool_id_note(fd, ghost, &e);
		spool_id_done(fd, 1);
	}
	memset(got, 0, sizeof(got));
	is_int(spool_id_lookup(s, "ep+lk-1", got, &e), 1,
	    "spool_id_lookup: 1 for a stored entry");
	is_str(got, name, "... with its name");
	(void)spool_move(s, SP_NEW, SP_DEAD, name, &e);
	is_int(spool_id_lookup(s, "ep+lk-1", got, &e), 1,
	    "... wherever it moved (dead/)");
	is_int(spool_id_lookup(s, "ep+lk-2", got, &e), 0,
	    "0 for a record naming nothing stored");
	is_int(spool_id_lookup(s, "ep+nope", got, &e), 0,
	    "0 for a missing key");
	is_int(spool_id_lookup(s, "../new", got, &e), 0, "0 for a key with /");
	is_int(spool_id_lookup(s, ".hidden", got, &e), 0,
	    "0 for a key starting with .");
	(void)spool_move(s, SP_DEAD, SP_TMP, name, &e);
	is_int(spool_id_lookup(s, "ep+lk-1", got, &e), 0,
	    "0 for an entry back in tmp/ (not stored)");
	(void)spool_remove(s, SP_TMP, name, &e);

	(void)snprintf(path, sizeof(path), "%s/ids/fifo", spath);
	if (mkfifo(path, 0600) == -1) {
		ok(0, "mkfifo %s: %s", path, strerror(errno));
		return;
	}
	/* A hang would stop the whole test: bounded by an alarm. */
	(void)alarm(10);
	t0 = mono_ms();
	memset(&e, 0, sizeof(e));
	rc = spool_id_lookup(s, "fifo", got, &e);
	(void)alarm(0);
	ok(rc != 1, "a FIFO in ids/ names no entry (%d)", rc);
	is_int(rc, -1, "... -1, an error, as the header says");
	ok(strstr(e.msg, "not a regular file") != NULL, "... saying why (%s)",
	    e.msg);
	ok(mono_ms() - t0 < 2000, "... at once, without waiting for a writer");
	(void)unlink(path);
	(void)spool_remove(s, SP_IDS, "ep+lk-1", &e);
	(void)spool_remove(s, SP_IDS, "ep+lk-2", &e);
}

static void
test_find(struct spool *s)
{
	enum { N = 300 };
	char		path[512], name[32], c;
	struct err	e;
	enum spool_dir	d;
	int		i, pfd[2], qfd[2], misses = 0, raced = 0, status;
	long		looks;
	int64_t		t0;
	pid_t		pid;

	(void)mkentry(s, SP_RETRY, "f-tmp", 0);
	is_int(spool_find(s, "f-tmp"), SP_RETRY, "spool_find: retry/");
	(void)mkentry(s, SP_TMP, "f-tmp", 0);
	is_int(spool_find(s, "f-tmp"), SP_RETRY,
	    "spool_find: tmp/ is looked at last");
	(void)spool_remove(s, SP_RETRY, "f-tmp", &e);
	is_int(spool_find(s, "f-tmp"), SP_TMP, "spool_find: tmp/ is found");
	(void)spool_remove(s, SP_TMP, "f-tmp", &e);
	(void)mkentry(s, SP_DONE, "f-done", 0);
	is_int(spool_find(s, "f-done"), SP_DONE, "spool_find: done/");
	(void)spool_remove(s, SP_DONE, "f-done", &e);
	is_int(spool_find(s, "f-done"), SP_NDIRS, "spool_find: gone");
	is_int(spool_find(s, ""), SP_NDIRS, "spool_find: empty name");
	is_int(spool_find(s, "../spool/new"), SP_NDIRS, "spool_find: a path");
	is_int(spool_find(s, "."), SP_NDIRS, "spool_find: .");

	(void)snprintf(path, sizeof(path), "%s/new/f-fifo", spath);
	ok(mkfifo(path, 0600) == 0, "a FIFO in new/");
	is_int(spool_find(s, "f-fifo"), SP_NDIRS, "a FIFO is not an entry");
	(void)mkentry(s, SP_DEAD, "f-fifo", 0);
	is_int(spool_find(s, "f-fifo"), SP_DEAD,
	    "a FIFO in new/ does not hide the entry in dead/");
	(void)unlink(path);
	(void)spool_remove(s, SP_DEAD, "f-fifo", &e);
	(void)snprintf(path, sizeof(path), "%s/cur/f-dir", spath);
	(void)mkdir(path, 0700);
	is_int(spool_find(s, "f-dir"), SP_NDIRS, "a folder is not an entry");
	(void)rmdir(path);

	/*
	 * Looking while an entry moves back (retry/ -> cur/, as a runner
	 * claims it): one look at each folder can miss it, between the look
	 * at cur/ and the one at retry/. A child makes exactly one such move
	 * per entry while we look again and again: the second pass must
	 * find it every time.
	 */
	for (i = 0; i < N; i++) {
		(void)snprintf(name, sizeof(name), "race-%03d", i);
		if (mkentry(s, SP_RETRY, name, 0) == -1)
			return;
	}
	if (pipe(pfd) == -1 || pipe(qfd) == -1 || (pid = fork()) == -1) {
		ok(0, "pipe/fork");
		return;
	}
	if (pid == 0) {
		(void)close(pfd[1]);
		(void)close(qfd[0]);
		for (i = 0; i < N && read(pfd[0], &c, 1) == 1; i++) {
			(void)snprintf(name, sizeof(name), "race-%03d", i);
			/* Move while the parent is looking. */
			(void)usleep(50);
			(void)spool_move(s, SP_RETRY, SP_CUR, name, &e);
			(void)write(qfd[1], "m", 1);
		}
		_exit(0);
	}
	(void)close(pfd[0]);
	(void)close(qfd[1]);
	for (i = 0; i < N; i++) {
		(void)snprintf(name, sizeof(name), "race-%03d", i);
		if (write(pfd[1], "g", 1) != 1)
			break;
		looks = 0;
		t0 = mono_ms();
		do {
			d = spool_find(s, name);
			looks++;
			if (d == SP_NDIRS)
				misses++;
		} while (d == SP_RETRY && (looks % 1024 != 0 ||
		    mono_ms() - t0 < 2000));
		raced += looks > 1;
		(void)read(qfd[0], &c, 1);
	}
	(void)close(pfd[1]);
	(void)close(qfd[0]);
	(void)waitpid(pid, &status, 0);
	printf("# %d of %d moves happened while we looked\n",
	    raced, N);
	is_int(misses, 0, "spool_find never misses an entry moving from "
	    "retry/ back to cur/");
	for (i = 0; i < N; i++) {
		(void)snprintf(name, sizeof(name), "race-%03d", i);
		(void)spool_remove(s, SP_CUR, name, &e);
	}
}

static void
test_remove_hist(struct spool *s)
{
	struct err e;

	(void)mkentry(s, SP_DEAD, "rm-1", 1);
	ok(exists("hist", "rm-1"), "an entry with a history");
	is_int(spool_remove(s, SP_DEAD, "rm-1", &e), 0, "spool_remove");
	ok(!exists("dead", "rm-1") && !exists("hist", "rm-1"),
	    "spool_remove takes hist/NAME with it");
	(void)mkentry(s, SP_DONE, "rm-2", 1);
	is_int(spool_remove(s, SP_DONE, "rm-2", &e), 0,
	    "spool_remove of a done/ entry");
	ok(!exists("hist", "rm-2"), "... its hist/ too");
	(void)mkentry(s, SP_DONE, "rm-3", 1);
	{
		char	p[512];
		int	fd;

		(void)snprintf(p, sizeof(p), "%s/ids/rm-3", spath);
		if ((fd = open(p, O_WRONLY | O_CREAT, 0600)) != -1)
			(void)close(fd);
	}
	ok(spool_remove(s, SP_IDS, "rm-3", &e) == 0 && !exists("ids", "rm-3")
	    && exists("hist", "rm-3"),
	    "removing an ids/ record leaves a history of that name alone");
	(void)spool_remove(s, SP_DONE, "rm-3", &e);
	ok(!exists("hist", "rm-3"), "removing the entry takes it");
}


/* Our own temporary tree, whatever the tests left in it (FIFOs too). */
static void
rm_rf_spool(void)
{
	if (fx_rm_tree(root) == -1)
		printf("# could not remove %s\n", root);
}

/* Group commit: N processes append their records while the flush lock
 * is held; none answers before it is released, and then one flush of
 * the journal covers them all. */
static void
test_group_commit(void)
{
	enum { NPROC = 6 };
	struct spool		*s;
	struct spool_sync	*st;
	struct err		 e;
	pid_t			 pid[NPROC];
	char			 path[300], name[SPOOL_NAME_MAX];
	uint64_t		 rec0, fl0;
	int			 fd, i, status, early = 0, okc = 0, tries;

	if ((s = spool_open(spath, SPOOL_CREATE, &e)) == NULL) {
		ok(0, "group commit: open (%s)", e.msg);
		return;
	}
	/* One commit first: the journal's generation exists, so the
	 * children below only append and wait for the flush. */
	(void)spool_newname(s, name);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e), 0,
	    "group commit: a first commit");
	(void)snprintf(path, sizeof(path), "%s/journal.state", spath);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd == -1 || (st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0)) == MAP_FAILED || flock(fd, LOCK_EX) == -1) {
		ok(0, "group commit: set up journal.state");
		return;
	}
	rec0 = st->records;
	fl0 = st->flushes;
	for (i = 0; i < NPROC; i++) {
		if ((pid[i] = fork()) == 0) {
			struct spool	*c;

			if ((c = spool_open(spath, 0, &e)) == NULL ||
			    spool_newname(c, name) == -1)
				_exit(2);
			_exit(spool_commit(c, ENV, BODY, BODYLEN, name, NULL,
			    &e) == 0 ? 0 : 1);
		}
	}
	/* Every child has its entry in new/ and its record appended,
	 * then waits. */
	for (tries = 0; tries < 500 && __atomic_load_n(&st->records,
	    __ATOMIC_SEQ_CST) < rec0 + NPROC; tries++)
		(void)usleep(10000);
	is_int((int)(st->records - rec0), NPROC,
	    "group commit: %d records appended", NPROC);
	(void)usleep(100000);
	for (i = 0; i < NPROC; i++)
		early += waitpid(pid[i], &status, WNOHANG) == pid[i];
	is_int(early, 0, "group commit: no commit returns before a flush");
	is_int((int)(st->flushes - fl0), 0,
	    "group commit: no flush while the lock is held");
	(void)flock(fd, LOCK_UN);
	for (i = 0; i < NPROC; i++)
		if (waitpid(pid[i], &status, 0) == pid[i] && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0)
			okc++;
	is_int(okc, NPROC, "group commit: every commit succeeded");
	is_int((int)(st->flushes - fl0), 1,
	    "group commit: one flush covered all %d", NPROC);
	(void)munmap(st, sizeof(*st));
	(void)close(fd);
	spool_close(s);

	/* durability = process: no journal record, no flush. */
	if ((s = spool_open(spath, SPOOL_NOSYNC, &e)) != NULL) {
		struct stat	sb;
		char		jp[320];
		off_t		before;
		unsigned	n;

		(void)snprintf(jp, sizeof(jp), "%s/journal", spath);
		before = stat(jp, &sb) == 0 ? sb.st_size : -1;
		(void)spool_newname(s, name);
		is_int(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e), 0,
		    "nosync commit");
		is_int(spool_recover(s, &n, &e), 0, "nosync: recover is a "
		    "no-op");
		ok(stat(jp, &sb) == 0 && sb.st_size == before,
		    "nosync: the journal is untouched");
		spool_close(s);
	} else
		ok(0, "nosync open (%s)", e.msg);
}

/* Count the generation files of journal/. */
static int
journal_files(void)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[320];
	int		 n = 0;

	(void)snprintf(p, sizeof(p), "%s/journal", spath);
	if ((d = opendir(p)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

/* journal_max: once the generations not yet retired reach the limit,
 * commits flush their own entry (and ids/ record) and append nothing;
 * a checkpoint that retires them lets commits use the journal again;
 * 0 turns the journal off. */
static void
test_journal_limit(void)
{
	enum { N = 20, LIMIT = 4096 };
	struct spool_journal	 j0, j;
	struct spool		*s;
	struct strlist		 l;
	struct err		 e;
	const char		*keys[2];
	char			 name[N][SPOOL_NAME_MAX], got[SPOOL_NAME_MAX];
	size_t			 i, innew = 0, intact = 0, before;
	int			 fd, okc = 0;

	if ((s = spool_open(spath, SPOOL_CREATE, &e)) == NULL) {
		ok(0, "journal limit: open (%s)", e.msg);
		return;
	}
	if (spool_list(s, SP_NEW, &l, &e) == -1) {
		ok(0, "journal limit: list new/ (%s)", e.msg);
		spool_close(s);
		return;
	}
	before = l.n;
	strlist_free(&l);
	is_int(spool_checkpoint(s, 0, &e), 0, "journal limit: checkpoint");
	is_int(spool_journal_stat(s, &j0, &e), 0, "journal limit: stat");
	ok(j0.bytes == 0 && j0.limit == SPOOL_JOURNAL_MAX,
	    "journal limit: empty after a checkpoint, default limit (%llu "
	    "bytes, limit %llu)", (unsigned long long)j0.bytes,
	    (unsigned long long)j0.limit);
	spool_journal_limit(s, LIMIT);
	for (i = 0; i < N; i++) {
		char key[32];

		(void)snprintf(key, sizeof(key), "lim-%zu", i);
		keys[0] = key;
		keys[1] = NULL;
		(void)spool_newname(s, name[i]);
		if (spool_id_reserve(s, key, &fd, &e) != 1 ||
		    spool_id_note(fd, name[i], &e) == -1)
			continue;
		okc += spool_commit(s, ENV, BODY, BODYLEN, name[i], keys,
		    &e) == 0;
		spool_id_done(fd, 1);
	}
	is_int(okc, N, "journal limit: %d commits", N);
	is_int(spool_journal_stat(s, &j, &e), 0, "journal limit: stat");
	ok(j.bytes >= LIMIT && j.bytes < LIMIT + 2 * BODYLEN + 512,
	    "journal limit: the journal stops at the limit (%llu bytes, "
	    "limit %d)", (unsigned long long)j.bytes, LIMIT);
	ok(j.direct - j0.direct > 0 && j.records - j0.records > 0,
	    "journal limit: the first commits journaled (%llu), the rest "
	    "bypassed it (%llu)", (unsigned long long)(j.records - j0.records),
	    (unsigned long long)(j.direct - j0.direct));
	is_int((int)(j.direct - j0.direct + j.records - j0.records), N,
	    "journal limit: every commit one or the other");
	for (i = 0; i < N; i++) {
		innew += spool_find(s, name[i]) == SP_NEW;
		intact += spool_entry_intact(s, name[i]);
	}
	is_int((int)innew, N, "journal limit: every entry in new/");
	is_int((int)intact, N, "journal limit: ... whole");
	is_int(spool_id_lookup(s, "lim-19", got, &e), 1,
	    "journal limit: a bypassing commit's ids/ record");
	is_str(got, name[N - 1], "journal limit: ... names its entry");

	/* Retired, the journal has room again: by a checkpoint as the
	 * runner makes them while events flow (a new generation only past
	 * 1 MiB, or past the limit). */
	is_int(spool_checkpoint(s, 1024 * 1024, &e), 0,
	    "journal limit: checkpoint");
	(void)spool_journal_stat(s, &j0, &e);
	is_int((int)j0.bytes, 0, "journal limit: retired, empty again");
	(void)spool_newname(s, name[0]);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name[0], NULL, &e), 0,
	    "journal limit: a commit after the checkpoint");
	(void)spool_journal_stat(s, &j, &e);
	ok(j.records == j0.records + 1 && j.direct == j0.direct,
	    "journal limit: ... journaled again");

	/* 0: no journal at all. */
	spool_journal_limit(s, 0);
	(void)spool_newname(s, name[1]);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name[1], NULL, &e), 0,
	    "journal limit 0: commit");
	(void)spool_journal_stat(s, &j0, &e);
	ok(j0.records == j.records && j0.direct == j.direct + 1 &&
	    j0.bytes == j.bytes, "journal limit 0: bypassed, nothing "
	    "appended");
	ok(spool_entry_intact(s, name[1]), "journal limit 0: entry whole");
	if (spool_list(s, SP_NEW, &l, &e) == 0) {
		is_int((int)(l.n - before), N + 2,
		    "journal limit: nothing left in new/ but the commits");
		strlist_free(&l);
	}
	spool_close(s);
}

/* Recovery: entries the journal holds come back when new/ lost them or
 * a crash tore them, with their ids/ records; a torn tail of the
 * journal ends the reading without an error; a checkpoint retires the
 * generations whose entries are flushed. */
static void
test_journal(void)
{
	struct spool	*s;
	struct err	 e;
	const char	*keys[2];
	char		 name[3][SPOOL_NAME_MAX], p[600], got[SPOOL_NAME_MAX];
	char		 jp[300];
	unsigned	 n;
	int		 i, fd;

	if ((s = spool_open(spath, SPOOL_CREATE, &e)) == NULL) {
		ok(0, "journal: open (%s)", e.msg);
		return;
	}
	is_int(spool_checkpoint(s, 0, &e), 0, "journal: checkpoint (%s)",
	    e.msg);
	is_int(journal_files(), 1, "journal: a checkpoint leaves one "
	    "generation");
	for (i = 0; i < 3; i++) {
		char key[32];

		(void)snprintf(key, sizeof(key), "jr-%d", i);
		keys[0] = key;
		keys[1] = NULL;
		(void)spool_newname(s, name[i]);
		if (spool_commit(s, ENV, BODY, BODYLEN, name[i], keys, &e) ==
		    -1)
			ok(0, "journal: commit %d (%s)", i, e.msg);
		(void)snprintf(p, sizeof(p), "%s/ids/%s", spath, key);
		if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600)) != -1) {
			(void)write_all(fd, name[i], strlen(name[i]));
			(void)close(fd);
		}
	}
	/* A crash: the first entry gone, the second zero-filled, the
	 * third's ids/ record lost; then a half-written record. */
	(void)snprintf(p, sizeof(p), "%s/new/%s", spath, name[0]);
	(void)unlink(p);
	(void)snprintf(p, sizeof(p), "%s/new/%s", spath, name[1]);
	if ((fd = open(p, O_WRONLY)) != -1) {
		char z[64] = { 0 };

		(void)pwrite(fd, z, sizeof(z), 10);
		(void)close(fd);
	}
	ok(!spool_entry_intact(s, name[1]), "journal: the zeroed entry is "
	    "torn");
	(void)snprintf(p, sizeof(p), "%s/ids/jr-2", spath);
	(void)unlink(p);
	(void)snprintf(jp, sizeof(jp), "%s/journal", spath);
	{
		struct dirent	*de;
		DIR		*d = opendir(jp);

		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.') {
				(void)snprintf(p, sizeof(p), "%s/%s", jp,
				    de->d_name);
				if ((fd = open(p, O_WRONLY | O_APPEND)) !=
				    -1) {
					(void)write_all(fd, "HPJ1 x 0 99 0", 13);
					(void)close(fd);
				}
			}
		if (d != NULL)
			(void)closedir(d);
	}
	is_int(spool_recover(s, &n, &e), 0, "journal: recover (%s)", e.msg);
	is_int((int)n, 2, "journal: two entries restored");
	for (i = 0; i < 3; i++)
		ok(spool_find(s, name[i]) == SP_NEW &&
		    spool_entry_intact(s, name[i]), "journal: entry %d whole in "
		    "new/", i);
	is_int(spool_id_lookup(s, "jr-2", got, &e), 1,
	    "journal: the lost ids/ record is back");
	is_str(got, name[2], "journal: ... naming its entry");
	is_int(journal_files(), 1, "journal: recovery ends with a checkpoint "
	    "(older generations retired)");
	spool_close(s);
}

/* A clock whose monotonic reading moves 50 ms at each look. */
static int64_t	tick_ns;

static int64_t
ticking(clockid_t id)
{
	struct timespec	ts;

	if (id == CLOCK_MONOTONIC)
		return tick_ns += 50000000;
	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Under a load that outruns the retiring, generations pile up: past 4
 * waiting, a checkpoint takes 800 ms instead of 200 ms. With 13 waiting,
 * each read of a clock that moves 50 ms at each look (one read a
 * generation), 200 ms would leave about 9; 800 ms retires them all.
 */
static void
test_retire_budget(void)
{
	struct spool	*s;
	struct err	 e;
	char		 name[SPOOL_NAME_MAX], p[400], rec[200];
	uint64_t	 g = 0;
	int		 i, fd, n;

	if ((s = spool_open(spath, SPOOL_CREATE, &e)) == NULL) {
		ok(0, "retire: open (%s)", e.msg);
		return;
	}
	(void)spool_newname(s, name);
	ok(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e) == 0,
	    "retire: a commit makes the current generation non-empty");
	{
		struct dirent	*de;
		DIR		*d;

		(void)snprintf(p, sizeof(p), "%s/journal", spath);
		if ((d = opendir(p)) != NULL) {
			while ((de = readdir(d)) != NULL)
				if (de->d_name[0] != '.' &&
				    strtoull(de->d_name, NULL, 16) > g)
					g = strtoull(de->d_name, NULL, 16);
			(void)closedir(d);
		}
	}
	/* 12 more, each one record (a tombstone of an entry not there). */
	n = snprintf(rec, sizeof(rec), "HPJ1 %s 0 0 00000000\n", name);
	for (i = 1; i <= 12; i++) {
		(void)snprintf(p, sizeof(p), "%s/journal/%016llx", spath,
		    (unsigned long long)(g + (uint64_t)i));
		if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600)) != -1) {
			(void)write_all(fd, rec, (size_t)n);
			(void)close(fd);
		}
	}
	is_int(journal_files(), 13, "retire: 13 generations waiting");
	util_set_clock(ticking);
	is_int(spool_checkpoint(s, 0, &e), 0, "retire: checkpoint (%s)",
	    e.msg);
	util_set_clock(NULL);
	is_int(journal_files(), 1, "retire: far behind, one checkpoint "
	    "retires them all (the longer budget)");
	spool_close(s);
}

/* A clock whose monotonic reading leaps 10 s at each look: a
 * checkpoint's retiring runs out of time before it starts. */
static int64_t	leap_ns;

static int64_t
leaping(clockid_t id)
{
	struct timespec	ts;

	if (id == CLOCK_MONOTONIC)
		return leap_ns += 10000000000LL;
	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The generations a checkpoint could not retire count against
 * journal_max (older); a journal.state of the older, 32-byte format is
 * grown and keeps its counters. */
static void
test_journal_older(void)
{
	struct spool_journal	 j0, j;
	struct spool		*s;
	struct stat		 sb;
	struct err		 e;
	char			 name[SPOOL_NAME_MAX], p[320];
	uint64_t		 b;
	int			 i;

	if ((s = spool_open(spath, SPOOL_CREATE, &e)) == NULL) {
		ok(0, "journal older: open (%s)", e.msg);
		return;
	}
	(void)spool_checkpoint(s, 0, &e);
	for (i = 0; i < 5; i++) {
		(void)spool_newname(s, name);
		(void)spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e);
	}
	(void)spool_journal_stat(s, &j0, &e);
	b = j0.bytes;
	ok(b > 0, "journal older: 5 commits, %llu bytes",
	    (unsigned long long)b);
	util_set_clock(leaping);
	is_int(spool_checkpoint(s, 0, &e), 0, "journal older: a checkpoint "
	    "out of time");
	util_set_clock(NULL);
	is_int(journal_files(), 2, "journal older: the old generation is "
	    "left beside the new");
	spool_journal_limit(s, b);
	(void)spool_newname(s, name);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e), 0,
	    "journal older: commit, limit = the old generation's size");
	(void)spool_journal_stat(s, &j, &e);
	ok(j.direct == j0.direct + 1 && j.records == j0.records,
	    "journal older: ... bypassed (the current generation is empty)");
	spool_journal_limit(s, b + 1);
	(void)spool_newname(s, name);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e), 0,
	    "journal older: commit, limit one byte more");
	(void)spool_journal_stat(s, &j0, &e);
	ok(j0.direct == j.direct && j0.records == j.records + 1,
	    "journal older: ... journaled");
	is_int(spool_checkpoint(s, 0, &e), 0, "journal older: checkpoint");
	is_int(journal_files(), 1, "journal older: retired");
	spool_close(s);

	/* An older version's journal.state: 32 bytes. */
	(void)snprintf(p, sizeof(p), "%s/journal.state", spath);
	is_int(truncate(p, 32), 0, "journal.state cut to 32 bytes");
	if ((s = spool_open(spath, 0, &e)) == NULL) {
		ok(0, "journal older: open again (%s)", e.msg);
		return;
	}
	(void)spool_journal_stat(s, &j, &e);
	ok(j.records == j0.records && j.direct == 0,
	    "32-byte journal.state: counters read, the new ones 0");
	(void)spool_newname(s, name);
	is_int(spool_commit(s, ENV, BODY, BODYLEN, name, NULL, &e), 0,
	    "32-byte journal.state: commit");
	ok(stat(p, &sb) == 0 && sb.st_size == 48,
	    "32-byte journal.state: grown to 48");
	(void)spool_journal_stat(s, &j, &e);
	ok(j.records == j0.records + 1, "32-byte journal.state: records "
	    "counted on (%llu)", (unsigned long long)j.records);
	spool_close(s);
}

int
main(void)
{
	struct spool *s;

	if (mkdtemp(root) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	(void)snprintf(spath, sizeof(spath), "%s/spool", root);
	/* As spool_write fills them in for this body. */
	ENV->bytes = BODYLEN;
	ENV->crc = crc32c(0, BODY, BODYLEN);
	envelope_encode(&envline, ENV);
	test_open(&s);
	test_names(s);
	test_commit(s);
	test_moves(s);
	test_list(s);
	test_ids(s);
	test_ids_fork(s, 1);
	test_ids_fork(s, 0);
	test_envelope();
	test_hist(s);
	test_lock(s);
	test_retry_due(s);
	test_clean_tmp(s);
	test_prune(s);
	test_purge(s);
	test_id_key();
	test_id_lookup(s);
	test_find(s);
	test_remove_hist(s);
	spool_close(s);
	buf_free(&envline);
	test_group_commit();
	test_journal();
	test_journal_limit();
	test_retire_budget();
	test_journal_older();
	rm_rf_spool();
	return tap_done();
}
