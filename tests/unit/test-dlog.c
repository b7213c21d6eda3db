/* test-dlog: the delivery log: what it opens and refuses, one whole
 * JSON line per call even from two processes at once, the fall-back to
 * stderr, and the fields of a handler run and of a state change. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "dlog.h"
#include "tap.h"

#define NLINES	2000

static char	root[] = "/tmp/hookpipe-test-dlog.XXXXXX";

static const char *
at(const char *name)
{
	static char	p[2][512];
	static int	i;

	i = (i + 1) % 2;
	(void)snprintf(p[i], sizeof(p[i]), "%s/%s", root, name);
	return p[i];
}

static char *
slurp(const char *path, size_t *len)
{
	char	*p;
	ssize_t	 r;
	int	 fd;
	size_t	 n = 0, cap = 1 << 16;

	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	p = malloc(cap);
	while (p != NULL && (r = read(fd, p + n, cap - 1 - n)) > 0) {
		n += (size_t)r;
		if (cap - 1 - n == 0) {
			char *q = realloc(p, cap * 2);

			if (q == NULL) {
				free(p);
				p = NULL;
				break;
			}
			p = q;
			cap *= 2;
		}
	}
	(void)close(fd);
	if (p != NULL)
		p[n] = '\0';
	if (len != NULL)
		*len = n;
	return p;
}

/* The only line of a text as a JSON object, or NULL (not one line, not
 * an object). */
static json_object *
one_object(const char *text)
{
	const char	*nl;
	json_object	*o;

	if (text == NULL || (nl = strchr(text, '\n')) == NULL ||
	    nl[1] != '\0')
		return NULL;
	o = json_tokener_parse(text);
	if (o != NULL && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *
get_str(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
type_is(json_object *o, const char *type)
{
	const char *t = get_str(o, "type");

	return t != NULL && strcmp(t, type) == 0;
}

static int
has(json_object *o, const char *key)
{
	return o != NULL && json_object_object_get_ex(o, key, NULL);
}

static long long
get_int(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -999;
	return (long long)json_object_get_int64(v);
}

static int
is_null(json_object *o, const char *key)
{
	json_object *v;

	return o != NULL && json_object_object_get_ex(o, key, &v) && v == NULL;
}

static void
test_open(void)
{
	struct dlog	 l;
	struct err	 e;
	struct stat	 st;
	int		 rd;

	(void)umask(022);
	is_int(dlog_open(&l, at("d.log"), &e), 0, "dlog_open creates a log");
	ok(l.fd >= 0 && l.path != NULL && strcmp(l.path, at("d.log")) == 0,
	    "... open, with its path");
	if (stat(at("d.log"), &st) == -1)
		memset(&st, 0, sizeof(st));
	ok(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0640,
	    "... a regular file of mode 0640 (%o)",
	    (unsigned)(st.st_mode & 07777));
	ok((fcntl(l.fd, F_GETFL) & (O_APPEND | O_NONBLOCK)) == O_APPEND,
	    "... appending, blocking");
	ok((fcntl(l.fd, F_GETFD) & FD_CLOEXEC) != 0, "... close-on-exec");
	dlog_close(&l);
	is_int(l.fd, -1, "dlog_close forgets the descriptor");
	ok(l.path == NULL, "... and the path");

	is_int(dlog_open(&l, NULL, &e), 0, "dlog_open(NULL): no log, no error");
	is_int(l.fd, -1, "... nothing open");

	is_int(dlog_open(&l, "/dev/null", &e), 0, "/dev/null is accepted");
	dlog_close(&l);

	memset(&e, 0, sizeof(e));
	is_int(dlog_open(&l, root, &e), -1, "a folder is refused");
	ok(strstr(e.msg, root) != NULL, "... naming it (%s)", e.msg);
	is_int(l.fd, -1, "... nothing left open");

	if (mkfifo(at("fifo"), 0600) == -1) {
		ok(0, "mkfifo: %s", strerror(errno));
		return;
	}
	(void)alarm(10);	/* a hang would be the failure */
	memset(&e, 0, sizeof(e));
	is_int(dlog_open(&l, at("fifo"), &e), -1,
	    "a FIFO without a reader is refused, at once");
	ok(strstr(e.msg, "not a regular file") != NULL, "... saying so (%s)",
	    e.msg);
	rd = open(at("fifo"), O_RDONLY | O_NONBLOCK);
	memset(&e, 0, sizeof(e));
	is_int(dlog_open(&l, at("fifo"), &e), -1,
	    "a FIFO with a reader is refused too");
	ok(strstr(e.msg, "not a regular file") != NULL, "... saying so (%s)",
	    e.msg);
	is_int(l.fd, -1, "... nothing left open");
	(void)alarm(0);
	if (rd != -1)
		(void)close(rd);
	memset(&e, 0, sizeof(e));
	is_int(dlog_open(&l, "/dev/zero", &e), -1,
	    "a device other than /dev/null is refused");

	ok(stat("/dev/null", &st) == 0 && dlog_target_ok(&st),
	    "dlog_target_ok: /dev/null");
	ok(stat(at("d.log"), &st) == 0 && dlog_target_ok(&st),
	    "dlog_target_ok: a regular file");
	ok(stat(at("fifo"), &st) == 0 && !dlog_target_ok(&st),
	    "dlog_target_ok: not a FIFO");
	ok(stat(root, &st) == 0 && !dlog_target_ok(&st),
	    "dlog_target_ok: not a folder");
	ok(stat("/dev/zero", &st) == 0 && !dlog_target_ok(&st),
	    "dlog_target_ok: not /dev/zero");
	(void)unlink(at("fifo"));
}

static void
test_line(void)
{
	struct dlog	 l;
	struct buf	 b = { 0 };
	struct err	 e;
	json_object	*o;
	const char	*t;
	char		*text;
	size_t		 len = 0;

	(void)unlink(at("d.log"));
	if (dlog_open(&l, at("d.log"), &e) == -1) {
		ok(0, "dlog_open: %s", e.msg);
		return;
	}
	dlog_begin(&b, "test");
	buf_json_kv(&b, "k", "v \"q\"\n");
	dlog_end(&l, &b);
	text = slurp(at("d.log"), &len);
	o = one_object(text);
	ok(o != NULL, "dlog_begin + dlog_end: one line, one JSON object");
	if (o == NULL)
		printf("#   got: %s\n", text != NULL ? text : "(none)");
	ok(text != NULL && strncmp(text, "{\"time\":\"", 9) == 0,
	    "the line starts with the time");
	t = get_str(o, "time");
	ok(t != NULL && strlen(t) == 27 && t[4] == '-' && t[10] == 'T' &&
	    t[19] == '.' && t[26] == 'Z', "time: YYYY-MM-DDTHH:MM:SS.uuuuuuZ "
	    "(%s)", t != NULL ? t : "");
	is_str(get_str(o, "type"), "test", "type");
	is_str(get_str(o, "k"), "v \"q\"\n", "a field, escaped");
	json_object_put(o);
	free(text);

	/* dlog_begin starts afresh on a used buffer. */
	buf_puts(&b, "junk");
	dlog_begin(&b, "second");
	dlog_end(&l, &b);
	text = slurp(at("d.log"), &len);
	ok(text != NULL && strstr(text, "junk") == NULL &&
	    strstr(text, "\"type\":\"second\"}\n") != NULL &&
	    text[len - 1] == '\n', "dlog_begin resets the buffer; a second "
	    "line is appended");
	free(text);
	buf_free(&b);
	dlog_close(&l);
}

/* Two processes append NLINES lines each, at once: every line whole. */
static void
test_two_writers(void)
{
	struct dlog	 l;
	struct err	 e;
	json_object	*o;
	char		 pad[1500], *text, *p, *nl;
	pid_t		 pid[2];
	int		 i, k, status, good = 0, bad = 0;
	int		 next[2] = { 0, 0 }, order = 1;
	long long	 who, seq;

	(void)unlink(at("two.log"));
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (k = 0; k < 2; k++) {
		if ((pid[k] = fork()) == -1) {
			ok(0, "fork");
			return;
		}
		if (pid[k] == 0) {
			struct buf b = { 0 };

			if (dlog_open(&l, at("two.log"), &e) == -1)
				_exit(1);
			for (i = 0; i < NLINES; i++) {
				dlog_begin(&b, "w");
				buf_printf(&b, ",\"who\":%d,\"seq\":%d", k, i);
				/* Lines of different lengths, some long. */
				buf_json_kv(&b, "pad", pad + (i * 37 + k * 500)
				    % (sizeof(pad) - 1));
				dlog_end(&l, &b);
			}
			buf_free(&b);
			dlog_close(&l);
			_exit(0);
		}
	}
	for (k = 0; k < 2; k++)
		ok(waitpid(pid[k], &status, 0) == pid[k] &&
		    WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "writer %d done", k);
	text = slurp(at("two.log"), NULL);
	for (p = text; p != NULL && *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL) {
			bad++;
			break;
		}
		*nl = '\0';
		o = json_tokener_parse(p);
		who = get_int(o, "who");
		seq = get_int(o, "seq");
		if (o != NULL && (who == 0 || who == 1) && seq >= 0) {
			good++;
			if (seq != next[who])
				order = 0;
			next[who] = (int)seq + 1;
		} else
			bad++;
		json_object_put(o);
	}
	free(text);
	is_int(good, 2 * NLINES, "%d lines from two processes, each parses "
	    "as JSON", 2 * NLINES);
	is_int(bad, 0, "no torn or mixed line");
	ok(order && next[0] == NLINES && next[1] == NLINES,
	    "each writer's lines in its order, none lost");
}

/* dlog_end without a log, or when the write fails: stderr. */
static void
test_stderr(void)
{
	struct dlog	 l = { -1, NULL }, ro;
	struct buf	 b = { 0 };
	json_object	*o;
	char		*text;
	int		 saved, fd;

	fflush(stderr);
	if ((saved = dup(2)) == -1 ||
	    (fd = open(at("stderr"), O_WRONLY | O_CREAT | O_TRUNC, 0600)) ==
	    -1 || dup2(fd, 2) == -1) {
		ok(0, "redirect stderr");
		return;
	}
	(void)close(fd);
	dlog_begin(&b, "closed");
	dlog_end(&l, &b);
	text = slurp(at("stderr"), NULL);
	o = one_object(text);
	ok(type_is(o, "closed"),
	    "a log that is not open: the line goes to stderr");
	json_object_put(o);
	free(text);

	(void)ftruncate(2, 0);
	(void)lseek(2, 0, SEEK_SET);
	dlog_begin(&b, "none");
	dlog_end(NULL, &b);
	text = slurp(at("stderr"), NULL);
	o = one_object(text);
	ok(type_is(o, "none"),
	    "no log at all (NULL): stderr");
	json_object_put(o);
	free(text);

	/* A log whose write fails (a descriptor that cannot write). */
	(void)ftruncate(2, 0);
	(void)lseek(2, 0, SEEK_SET);
	ro.fd = open(at("d.log"), O_RDONLY);
	ro.path = NULL;
	dlog_begin(&b, "failed");
	dlog_end(&ro, &b);
	text = slurp(at("stderr"), NULL);
	o = one_object(text);
	ok(type_is(o, "failed"),
	    "a write that fails: stderr");
	json_object_put(o);
	free(text);
	if (ro.fd != -1)
		(void)close(ro.fd);

	(void)dup2(saved, 2);
	(void)close(saved);
	buf_free(&b);
}

static void
test_fields(void)
{
	struct handler_meta	m = { .endpoint = "github", .event = "push",
	    .id = "evt-1", .request_id = "rq-9", .received_at = "t",
	    .remote_addr = "192.0.2.3", .spool_file = "/s/cur/n",
	    .mode = "queue", .attempt = 3 };
	struct handler_result	r;
	struct buf		b = { 0 };
	json_object		*o;

	memset(&r, 0, sizeof(r));
	r.exited = 1;
	r.code = 3;
	r.ms = 1234;
	memcpy(r.tail, "oops\n\"x\"", 8);
	r.taillen = 8;
	dlog_begin(&b, "handler");
	dlog_handler_fields(&b, &m, "NAME", "/h/push", &r);
	buf_puts(&b, "}\n");
	o = one_object(buf_cstr(&b));
	ok(o != NULL, "handler fields: a JSON object");
	is_str(get_str(o, "type"), "handler", "handler fields: type");
	is_str(get_str(o, "spool"), "NAME", "handler fields: spool");
	is_str(get_str(o, "request_id"), "rq-9", "handler fields: request_id");
	is_str(get_str(o, "event"), "push", "handler fields: event");
	is_str(get_str(o, "id"), "evt-1", "handler fields: id");
	is_str(get_str(o, "mode"), "queue", "handler fields: mode");
	is_int(get_int(o, "attempt"), 3, "handler fields: attempt");
	is_str(get_str(o, "handler"), "/h/push", "handler fields: handler");
	is_str(get_str(o, "result"), "exit 3", "handler fields: result");
	is_int(get_int(o, "exit"), 3, "handler fields: exit");
	ok(!has(o, "signal"), "handler fields: no signal when it exited");
	ok(has(o, "timeout") && !json_object_get_boolean(
	    json_object_object_get(o, "timeout")), "handler fields: timeout "
	    "false");
	is_int(get_int(o, "ms"), 1234, "handler fields: ms");
	is_str(get_str(o, "stderr"), "oops\n\"x\"",
	    "handler fields: the stderr tail");
	json_object_put(o);

	m.id = NULL;
	memset(&r, 0, sizeof(r));
	r.signo = 9;
	dlog_begin(&b, "handler");
	dlog_handler_fields(&b, &m, NULL, "/h/push", &r);
	buf_puts(&b, "}\n");
	o = one_object(buf_cstr(&b));
	ok(o != NULL && !has(o, "spool"), "handler fields: no spool name, "
	    "no spool key");
	ok(is_null(o, "id"), "handler fields: no id, null");
	is_str(get_str(o, "result"), "signal 9", "handler fields: a signal");
	is_int(get_int(o, "signal"), 9, "handler fields: signal 9");
	ok(!has(o, "exit"), "handler fields: no exit when signalled");
	json_object_put(o);

	r.timed_out = 1;
	dlog_begin(&b, "handler");
	dlog_handler_fields(&b, &m, NULL, "/h/push", &r);
	buf_puts(&b, "}\n");
	o = one_object(buf_cstr(&b));
	is_str(get_str(o, "result"), "timeout", "handler fields: timeout");
	ok(o != NULL && json_object_get_boolean(json_object_object_get(o,
	    "timeout")), "handler fields: timeout true");
	json_object_put(o);

	dlog_begin(&b, "event");
	dlog_event_fields(&b, "NAME", "push", "evt-1", "retry",
	    "temporary failure", 2);
	buf_puts(&b, "}\n");
	o = one_object(buf_cstr(&b));
	ok(o != NULL, "event fields: a JSON object");
	is_str(get_str(o, "spool"), "NAME", "event fields: spool");
	is_str(get_str(o, "event"), "push", "event fields: event");
	is_str(get_str(o, "id"), "evt-1", "event fields: id");
	is_str(get_str(o, "state"), "retry", "event fields: state");
	is_str(get_str(o, "reason"), "temporary failure",
	    "event fields: reason");
	is_int(get_int(o, "attempt"), 2, "event fields: attempt");
	json_object_put(o);

	dlog_begin(&b, "event");
	dlog_event_fields(&b, "NAME", NULL, NULL, "dead", NULL, 0);
	buf_puts(&b, "}\n");
	o = one_object(buf_cstr(&b));
	ok(o != NULL && is_null(o, "event") && is_null(o, "id"),
	    "event fields: unknown event and id are null");
	ok(o != NULL && !has(o, "attempt"), "event fields: attempt 0 is not "
	    "shown");
	ok(o != NULL && !has(o, "reason"), "event fields: no reason, no key");
	json_object_put(o);
	buf_free(&b);
}

/* dlog_failures: failed handler runs since a time, from the log. */
static void
test_failures(void)
{
	char	t1[40], t2[40], line[256];
	FILE	*f;
	int64_t	now = 1796000000000000LL;

	fmt_time_us(now - 7200LL * 1000000, t1, sizeof(t1));
	fmt_time_us(now - 60LL * 1000000, t2, sizeof(t2));
	if ((f = fopen(at("f.log"), "w")) == NULL) {
		ok(0, "write f.log");
		return;
	}
	/* Two hours ago a failure, a minute ago two failures and a success,
	 * a request line, a torn line. */
	(void)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"type\":"
	    "\"handler\",\"result\":\"exit 3\"}\n", t1);
	(void)fputs(line, f);
	(void)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"type\":"
	    "\"handler\",\"result\":\"exit 3\"}\n", t2);
	(void)fputs(line, f);
	(void)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"type\":"
	    "\"handler\",\"result\":\"timeout\"}\n", t2);
	(void)fputs(line, f);
	(void)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"type\":"
	    "\"handler\",\"result\":\"exit 0\"}\n", t2);
	(void)fputs(line, f);
	(void)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"type\":"
	    "\"request\",\"status\":500}\n{\"time\":\"%s\",\"type\":"
	    "\"handler\",\"res", t2, t2);
	(void)fputs(line, f);
	(void)fclose(f);
	is_int(dlog_failures(at("f.log"), now - 3600LL * 1000000), 2,
	    "dlog_failures: the two failed runs of the last hour");
	is_int(dlog_failures(at("f.log"), now - 3 * 3600LL * 1000000), 3,
	    "dlog_failures: three in the last three hours");
	is_int(dlog_failures(at("absent.log"), 0), 0,
	    "dlog_failures: no log, no failures");
	(void)unlink(at("f.log"));
	if (mkfifo(at("fifo.log"), 0600) == 0) {
		is_int(dlog_failures(at("fifo.log"), 0), 0,
		    "dlog_failures: a FIFO is not read (no hang)");
		(void)unlink(at("fifo.log"));
	}
}

int
main(void)
{
	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_open();
	test_line();
	test_two_writers();
	test_stderr();
	test_fields();
	test_failures();

	(void)unlink(at("d.log"));
	(void)unlink(at("two.log"));
	(void)unlink(at("stderr"));
	if (rmdir(root) == -1)
		printf("# could not remove %s\n", root);
	return tap_done();
}
