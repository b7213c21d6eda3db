/* test-receive: the request decision in-process. Every row of DESIGN.md's
 * HTTP answers table and each signature scheme's accept and refuse go
 * through receiver_handle() with a request made in memory, against a
 * real configuration, spool, handlers folder and delivery log. */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "receive.h"
#include "fixture.h"
#include "tap.h"

static char	root[] = "/tmp/hookpipe-test-receive.XXXXXX";
static char	spooldir[512];	/* of the configuration in use */

static const char TOKEN[] = "test-token-0123456789abcdef";
static const char TOKEN2[] = "test-token-rotated-0123456789";
static const char KEY[] = "test-secret-0123456789abcdef";
static const char STDKEY[] = "test-standard-webhooks-key";

static struct receiver	rx;

/* ---- the folder: configurations, secrets, handlers ------------------ */

static void
put(const char *name, const char *text, mode_t mode)
{
	char	path[512];
	int	fd;

	(void)snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd == -1 || write_all(fd, text, strlen(text)) == -1 ||
	    fchmod(fd, mode) == -1 || close(fd) == -1) {
		printf("Bail out! cannot write %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

static const char MAIN_INI[] =
    "[hookpipe]\n"
    "spool_dir = spool\n"
    "handlers_dir = handlers\n"
    "log_file = delivery.log\n"
    "durability = process\n"
    "max_body = 4K\n"
    "max_depth = 4\n"
    "unknown_events = reject\n"
    "[auth]\n"
    "token_file = token\n"
    "allow_from = 127.0.0.0/8, 10.0.0.0/8\n"
    "trusted_proxies = 10.0.0.1\n"
    "[delivery]\n"
    "runner = /nonexistent/hookpipe-run\n"
    "[event booking.updated]\n"
    "required = data.booking_id\n"
    "[event sync.ok]\nhandler = sync-ok\nmode = sync\nsync_output = yes\n"
    "[event sync.fail]\nhandler = sync-fail\nmode = sync\n"
    "[event sync.retry]\nhandler = sync-retry\nmode = sync\n"
    "[event sync.slow]\nhandler = sync-slow\nmode = sync\ntimeout = 1\n"
    "[endpoint github]\n"
    "verify = github\nsecret_file = secret\nhandlers_dir = handlers\n"
    "[endpoint stripe]\n"
    "verify = stripe\nsecret_file = secret\nhandlers_dir = handlers\n"
    "event_field = type\n"
    "[endpoint stdwh]\n"
    "verify = standard-webhooks\nsecret_file = whsec\n"
    "handlers_dir = handlers\nevent_field = type\n"
    "[endpoint hmac]\n"
    "verify = hmac\nsecret_file = secret\nhandlers_dir = handlers\n"
    "signature_header = X-Signature\nalgorithm = sha512\n"
    "encoding = base64\nprefix = sha512=\n"
    "event_field = header:X-Event\nid_field = data.ref\n"
    "[endpoint slack]\n"
    "verify = slack\nsecret_file = secret\nhandlers_dir = handlers\n"
    "[endpoint zoom]\n"
    "verify = zoom\nsecret_file = secret\nhandlers_dir = handlers\n"
    "[endpoint twilio]\n"
    "verify = twilio\nsecret_file = secret\nhandlers_dir = handlers\n"
    "public_url = https://example.com/hook/twilio\n"
    "[endpoint mailgun]\n"
    "verify = mailgun\nsecret_file = secret\nhandlers_dir = handlers\n"
    "[endpoint meta]\n"
    "verify = meta\nsecret_file = secret\nhandlers_dir = handlers\n"
    "verify_token_file = vtok\nmax_depth = 8\nunknown_events = accept\n"
    "[endpoint limited]\n"
    "token_file = token\nhandlers_dir = handlers\nrate_limit = 1/h\n"
    "[endpoint few]\n"
    "token_file = token\nhandlers_dir = handlers\nmax_headers = 8\n";

/* A spool of its own whose folders are taken away under the receiver. */
static const char LOST_INI[] =
    "[hookpipe]\nspool_dir = lost\nhandlers_dir = handlers\n"
    "log_file = lost.log\n[auth]\ntoken_file = token\n";

static const char BAD_INI[] =
    "[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
    "no_such_key = 1\n[auth]\ntoken_file = token\n";

static void
setup(void)
{
	unsigned char	whsec[64];
	char		path[512], text[256];

	if (mkdtemp(root) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	(void)snprintf(text, sizeof(text), "%s\n%s\n", TOKEN, TOKEN2);
	put("token", text, 0600);
	(void)snprintf(text, sizeof(text), "%s\n", KEY);
	put("secret", text, 0600);
	(void)EVP_EncodeBlock(whsec, (const unsigned char *)STDKEY,
	    (int)strlen(STDKEY));
	(void)snprintf(text, sizeof(text), "whsec_%s\n", whsec);
	put("whsec", text, 0600);
	put("vtok", "first-verify-token\nmeta-verify-token\n", 0600);
	put("main.ini", MAIN_INI, 0600);
	put("lost.ini", LOST_INI, 0600);
	put("bad.ini", BAD_INI, 0600);
	(void)snprintf(path, sizeof(path), "%s/handlers", root);
	if (mkdir(path, 0755) == -1) {
		printf("Bail out! mkdir %s: %s\n", path, strerror(errno));
		exit(1);
	}
	/* Queue handlers are never run here (no runner is started). */
	put("handlers/booking.updated", "#!/bin/sh\nexit 0\n", 0755);
	put("handlers/twilio", "#!/bin/sh\nexit 0\n", 0755);
	put("handlers/meeting.started", "#!/bin/sh\nexit 0\n", 0755);
	put("handlers/delivered", "#!/bin/sh\nexit 0\n", 0755);
	put("handlers/sync-ok", "#!/bin/sh\ncat >/dev/null\n"
	    "echo handled\n", 0755);
	put("handlers/sync-fail", "#!/bin/sh\nexit 2\n", 0755);
	put("handlers/sync-retry", "#!/bin/sh\nexit 75\n", 0755);
	put("handlers/sync-slow", "#!/bin/sh\nexec sleep 20\n", 0755);
}


/* Use this configuration from the next request on. */
static void
use(const char *ini, const char *spool)
{
	char path[512];

	(void)snprintf(path, sizeof(path), "%s/%s", root, ini);
	if (setenv("HOOKPIPE_CONFIG", path, 1) == -1)
		exit(1);
	(void)snprintf(spooldir, sizeof(spooldir), "%s/%s", root, spool);
}

/* ---- a request in memory --------------------------------------------- */

#define MAXP	64
#define NAMELEN	256	/* a directory entry name and its NUL */

struct fake {
	char		*p[MAXP + 1];	/* NAME=VALUE, NULL-terminated */
	size_t		 n;
	const char	*body;
	size_t		 len;
	size_t		 off;		/* bytes the receiver read */
	size_t		 chunk;		/* most bytes a read gives; 0: all */
};

static long
fake_read(void *io, char *out, size_t n)
{
	struct fake	*f = io;
	size_t		 k = f->len - f->off;

	if (k > n)
		k = n;
	if (f->chunk > 0 && k > f->chunk)
		k = f->chunk;
	memcpy(out, f->body + f->off, k);
	f->off += k;
	return (long)k;
}

/* Add NAME=VALUE, even when NAME is there already. */
static void
add(struct fake *f, const char *name, const char *value)
{
	if (f->n == MAXP || asprintf(&f->p[f->n], "%s=%s", name, value) ==
	    -1) {
		printf("Bail out! too many parameters\n");
		exit(1);
	}
	f->p[++f->n] = NULL;
}

static void
del(struct fake *f, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < f->n; i++)
		if (strncmp(f->p[i], name, n) == 0 && f->p[i][n] == '=') {
			free(f->p[i]);
			memmove(&f->p[i], &f->p[i + 1],
			    (f->n - i) * sizeof(f->p[0]));
			f->n--;
			return;
		}
}

/* Set NAME to VALUE, in place of any value it had. */
static void
set(struct fake *f, const char *name, const char *value)
{
	del(f, name);
	add(f, name, value);
}

static void
setf(struct fake *f, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
setf(struct fake *f, const char *name, const char *fmt, ...)
{
	va_list	ap;
	char	v[1024];

	va_start(ap, fmt);
	(void)vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	set(f, name, v);
}

static void
fake_free(struct fake *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->p[i]);
	f->n = 0;
	f->p[0] = NULL;
}

/* A request the default endpoint accepts, once the body is right. */
static void
fake(struct fake *f, const char *path_info, const char *body)
{
	memset(f, 0, sizeof(*f));
	f->body = body;
	f->len = strlen(body);
	add(f, "GATEWAY_INTERFACE", "CGI/1.1");
	add(f, "REQUEST_METHOD", "POST");
	if (path_info != NULL)
		add(f, "PATH_INFO", path_info);
	add(f, "HTTPS", "on");
	add(f, "REMOTE_ADDR", "127.0.0.1");
	add(f, "CONTENT_TYPE", "application/json");
	setf(f, "CONTENT_LENGTH", "%zu", f->len);
	add(f, "HTTP_USER_AGENT", "test-receive");
	add(f, "HTTP_X_AUTH_TOKEN", TOKEN);
}

/* ---- signatures, made here with libcrypto ---------------------------- */

/* HMAC(key, head || body), hex or base64, into out. */
static void
sign(int sha512, const char *key, const char *head, const char *body,
    int b64, char *out)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], *msg;
	unsigned int	 maclen = 0, i;
	size_t		 hl = strlen(head), bl = strlen(body);

	if ((msg = malloc(hl + bl + 1)) == NULL)
		exit(1);
	memcpy(msg, head, hl);
	memcpy(msg + hl, body, bl);
	if (HMAC(sha512 ? EVP_sha512() : EVP_sha256(), key, (int)strlen(key),
	    msg, hl + bl, mac, &maclen) == NULL) {
		printf("Bail out! HMAC failed\n");
		exit(1);
	}
	free(msg);
	if (b64)
		(void)EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	else
		for (i = 0; i < maclen; i++)
			(void)snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* ---- one request, and what it left ----------------------------------- */

struct got {
	struct answer	 a;
	json_object	*body;		/* the answer */
	json_object	*log;		/* its line in the delivery log */
	int		 added;		/* entries new/ gained */
	char		 entry[NAMELEN];	/* the one it gained */
};

static struct got	g;
static int		nreq;
static int64_t		reqtime;	/* µs spent in receiver_handle */

static int
count(const char *sub)
{
	char		 path[600];
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	(void)snprintf(path, sizeof(path), "%s/%s", spooldir, sub);
	if ((d = opendir(path)) == NULL)
		return 0;	/* not made yet, or taken away */
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	(void)closedir(d);
	return n;
}

/* The name in new/ that is not in the list before. */
static void
added_name(char before[][NAMELEN], int nb)
{
	char		 path[600];
	struct dirent	*de;
	DIR		*d;
	int		 i;

	g.entry[0] = '\0';
	(void)snprintf(path, sizeof(path), "%s/new", spooldir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		for (i = 0; i < nb; i++)
			if (strcmp(before[i], de->d_name) == 0)
				break;
		if (i == nb)
			(void)snprintf(g.entry, sizeof(g.entry), "%s",
			    de->d_name);
	}
	(void)closedir(d);
}

static void
list_new(char names[][NAMELEN], int max, int *n)
{
	char		 path[600];
	struct dirent	*de;
	DIR		*d;

	*n = 0;
	(void)snprintf(path, sizeof(path), "%s/new", spooldir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && *n < max)
		if (de->d_name[0] != '.')
			(void)snprintf(names[(*n)++], NAMELEN, "%s",
			    de->d_name);
	(void)closedir(d);
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
jint(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int(v);
}

static int
jtrue(json_object *o, const char *key)
{
	json_object *v;

	return o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_get_boolean(v);
}

/* The last line of a file, or NULL. */
static char *
last_line(const char *path)
{
	struct err	 e;
	char		*text, *p, *line;
	size_t		 n;

	if (read_file(path, 64 << 20, &text, &n, &e) == -1)
		return NULL;
	while (n > 0 && text[n - 1] == '\n')
		text[--n] = '\0';
	p = strrchr(text, '\n');
	line = strdup(p != NULL ? p + 1 : text);
	free(text);
	return line;
}

static void
run(struct fake *f)
{
	static char	 before[256][NAMELEN];
	struct request	 req;
	char		*line;
	int		 nb;
	int64_t		 t;

	json_object_put(g.body);
	json_object_put(g.log);
	g.body = g.log = NULL;
	list_new(before, 256, &nb);
	req.params = f->p;
	req.read = fake_read;
	req.io = f;
	f->off = 0;
	t = now_us();
	receiver_handle(&rx, &req, &g.a);
	reqtime += now_us() - t;
	nreq++;
	g.added = count("new") - nb;
	added_name(before, nb);
	g.body = json_tokener_parse(buf_cstr(&g.a.body));
	/* The line as made; when the log is open, the file's last line. */
	g.log = json_tokener_parse(buf_cstr(&rx.line));
	if (rx.log.fd != -1) {
		line = last_line(rx.log.path);
		if (!ok(line != NULL && strlen(line) + 1 == rx.line.len &&
		    strncmp(line, rx.line.p, strlen(line)) == 0,
		    "the request line is the delivery log's last"))
			printf("#   got \"%s\"\n", line ? line : "(null)");
		free(line);
	}
}

/* The stored entry: an envelope naming the request, then the body
 * byte for byte. */
static void
check_entry(const struct fake *f, const char *what)
{
	char		 path[1024], *text, *nl;
	json_object	*env = NULL;
	struct err	 e;
	size_t		 n;

	(void)snprintf(path, sizeof(path), "%s/new/%s", spooldir, g.entry);
	if (!ok(read_file(path, 1 << 20, &text, &n, &e) == 0,
	    "%s: the entry is readable", what))
		return;
	nl = memchr(text, '\n', n);
	if (nl != NULL) {
		*nl = '\0';
		env = json_tokener_parse(text);
	}
	is_str(jstr(env, "request_id"), g.a.request_id,
	    "%s: the envelope names the request", what);
	is_str(jstr(env, "event"), jstr(g.body, "event"),
	    "%s: and the event", what);
	ok(nl != NULL && n - (size_t)(nl + 1 - text) == f->len &&
	    memcmp(nl + 1, f->body, f->len) == 0,
	    "%s: the body is stored byte for byte", what);
	json_object_put(env);
	free(text);
}

enum { NONE, STORED };

/*
 * One row: the status; the reason, "accepted" for a 200, or the start of
 * the error's reason; Retry-After exactly with 429 and 503, Allow exactly
 * with 405; the log line agrees; new/ gained one entry exactly when
 * `stored`, holding the request; tmp/ is left empty.
 */
static void
row(const char *what, struct fake *f, int status, const char *reason,
    int stored)
{
	run(f);
	is_int(g.a.status, status, "%s: %d", what, status);
	ok(g.body != NULL, "%s: the answer is JSON", what);
	if (status == 200)
		is_str(jstr(g.body, "status"), "accepted", "%s: accepted",
		    what);
	else if (!ok(jstr(g.body, "reason") != NULL &&
	    strncmp(jstr(g.body, "reason"), reason, strlen(reason)) == 0,
	    "%s: reason '%s'", what, reason))
		printf("#   got %s\n", buf_cstr(&g.a.body));
	is_str(jstr(g.body, "request_id"), g.a.request_id,
	    "%s: the answer names its request id", what);
	is_int(g.a.retry_after > 0, status == 429 || status == 503,
	    "%s: %s", what, status == 429 || status == 503 ?
	    "Retry-After" : "no Retry-After");
	is_int(g.a.allow_post, status == 405, "%s: %s", what, status == 405 ?
	    "Allow: POST" : "no Allow");
	ok(jstr(g.log, "type") != NULL &&
	    strcmp(jstr(g.log, "type"), "request") == 0 &&
	    jint(g.log, "status") == status, "%s: the log line says %d",
	    what, status);
	is_str(jstr(g.log, "request_id"), g.a.request_id,
	    "%s: with the request id", what);
	is_int(g.added, stored == STORED, "%s: %s", what, stored == STORED ?
	    "one entry in new/" : "nothing in new/");
	is_int(count("tmp"), 0, "%s: nothing left in tmp/", what);
	if (stored == STORED && g.added == 1) {
		is_str(jstr(g.log, "spool"), g.entry,
		    "%s: the log names the entry", what);
		check_entry(f, what);
	}
}

/* The reason in the log line (never told to the client). */
static void
log_reason(const char *what, const char *want)
{
	const char *r = jstr(g.log, "reason");

	if (!ok(r != NULL && strstr(r, want) != NULL, "%s: the log says '%s'",
	    what, want))
		printf("#   got \"%s\"\n", r ? r : "(null)");
}

/* The dedupe record of an id key: the entry's name and a newline once
 * stored, empty once given back; "(none)" when there is no record. */
static void
id_record(const char *what, const char *key, const char *want)
{
	char		 path[1024], *text = NULL;
	struct err	 e;
	size_t		 n;

	(void)snprintf(path, sizeof(path), "%s/ids/%s", spooldir, key);
	if (read_file(path, 4096, &text, &n, &e) == -1)
		text = strdup("(none)");
	else if (n > 0 && text[n - 1] == '\n')
		text[n - 1] = '\0';
	is_str(text, want, "%s: ids/%s", what, key);
	free(text);
}

/* ---- the rows -------------------------------------------------------- */

static const char BOOKING[] =
    "{\"event\":\"booking.updated\",\"id\":\"b-1\","
    "\"data\":{\"booking_id\":7}}";

static void
test_accepted(void)
{
	struct fake	f;

	fake(&f, NULL, BOOKING);
	row("200 stored", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "b-1", "200: the answer gives the id");
	is_str(jstr(g.body, "event"), "booking.updated",
	    "200: and the event");
	ok(g.a.kick, "200: a runner is to be started");
	ok(!jtrue(g.log, "duplicate"), "200: the log says not a duplicate");
	is_int(jint(g.log, "bytes"), (int)f.len, "200: the log counts the "
	    "bytes");
	id_record("200", "b-1", g.entry);
	row("200 duplicate", &f, 200, "accepted", NONE);
	ok(jtrue(g.body, "duplicate"), "duplicate: the answer says so");
	ok(jtrue(g.log, "duplicate"), "duplicate: the log says so");
	ok(!g.a.kick, "duplicate: no runner to start");
	fake_free(&f);

	fake(&f, "/", "{\"event\":\"booking.updated\","
	    "\"data\":{\"booking_id\":8}}");
	row("200 without an id (PATH_INFO /)", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), g.entry, "no id: the answer's id is the "
	    "entry's name");
	row("200 without an id, again: stored again", &f, 200, "accepted",
	    STORED);
	fake_free(&f);

	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":42,"
	    "\"data\":{\"booking_id\":9}}");
	del(&f, "HTTPS");
	add(&f, "REQUEST_SCHEME", "https");
	set(&f, "HTTP_X_AUTH_TOKEN", TOKEN2);
	set(&f, "CONTENT_TYPE", "Application/JSON; charset=utf-8");
	f.chunk = 1;
	row("200: integer id, REQUEST_SCHEME, rotated token, charset, "
	    "byte-wise body", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "42", "integer id: as text");
	fake_free(&f);

	/* Behind the trusted proxy, the client is in X-Forwarded-For. */
	fake(&f, NULL, "{\"event\":\"booking.updated\","
	    "\"data\":{\"booking_id\":10}}");
	set(&f, "REMOTE_ADDR", "10.0.0.1");
	add(&f, "HTTP_X_FORWARDED_FOR", "192.0.2.9, 127.0.0.9");
	row("200 through the trusted proxy", &f, 200, "accepted", STORED);
	is_str(jstr(g.log, "remote"), "127.0.0.9", "the log names the "
	    "client, not the proxy");
	fake_free(&f);
}

static void
test_400(void)
{
	struct fake f;

	fake(&f, NULL, "{\"event\":\"booking.updated\",");
	row("400 not JSON", &f, 400, "invalid JSON at byte 27", NONE);
	fake_free(&f);
	fake(&f, NULL, "[\"booking.updated\"]");
	row("400 not an object", &f, 400, "JSON top level is not an object",
	    NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"data\":{\"booking_id\""
	    ":1,\"a\":{\"b\":{\"c\":{}}}}}");
	row("400 too deep (max_depth 4)", &f, 400, "JSON nested deeper than 4",
	    NONE);
	fake_free(&f);
	fake(&f, NULL, BOOKING);
	set(&f, "CONTENT_LENGTH", "12x");
	row("400 Content-Length not a number", &f, 400,
	    "Content-Length is not a number", NONE);
	setf(&f, "CONTENT_LENGTH", "%zu", f.len + 10);
	row("400 body shorter than Content-Length", &f, 400,
	    "body shorter than Content-Length", NONE);
	setf(&f, "CONTENT_LENGTH", "%zu", f.len);
	add(&f, "HTTP_X_AUTH_TOKEN", "another");
	row("400 a header twice", &f, 400, "ambiguous request headers", NONE);
	log_reason("400 a header twice", "HTTP_X_AUTH_TOKEN appears twice");
	is_int(f.off, 0, "400 a header twice: no byte of the body read");
	del(&f, "HTTP_X_AUTH_TOKEN");
	set(&f, "REMOTE_ADDR", "10.0.0.1");
	add(&f, "HTTP_X_FORWARDED_FOR", "127.0.0.2, not-an-address");
	row("400 X-Forwarded-For with a non-address", &f, 400,
	    "X-Forwarded-For is not a list of addresses", NONE);
	is_str(jstr(g.log, "remote"), "10.0.0.1", "the log names the proxy");
	fake_free(&f);
}

static void
test_refusals(void)
{
	struct fake f;

	fake(&f, NULL, BOOKING);
	del(&f, "HTTP_X_AUTH_TOKEN");
	row("401 no token", &f, 401, "authentication failed", NONE);
	is_int(f.off, 0, "401 no token: no byte of the body read");
	set(&f, "HTTP_X_AUTH_TOKEN", "test-token-0123456789abcdeX");
	row("401 wrong token", &f, 401, "authentication failed", NONE);
	is_int(f.off, 0, "401 wrong token: no byte of the body read");
	set(&f, "HTTP_X_AUTH_TOKEN", TOKEN);

	del(&f, "HTTPS");
	row("403 plain HTTP", &f, 403, "HTTPS required", NONE);
	set(&f, "HTTPS", "off");
	row("403 HTTPS=off", &f, 403, "HTTPS required", NONE);
	set(&f, "HTTPS", "on");
	set(&f, "REMOTE_ADDR", "192.0.2.1");
	row("403 address", &f, 403, "source address not allowed", NONE);
	add(&f, "HTTP_X_FORWARDED_FOR", "127.0.0.1");
	row("403 address (X-Forwarded-For from an untrusted proxy is "
	    "ignored)", &f, 403, "source address not allowed", NONE);
	set(&f, "REMOTE_ADDR", "10.0.0.1");
	set(&f, "HTTP_X_FORWARDED_FOR", "192.0.2.1");
	row("403 address behind the trusted proxy", &f, 403,
	    "source address not allowed", NONE);
	del(&f, "HTTP_X_FORWARDED_FOR");
	set(&f, "REMOTE_ADDR", "127.0.0.1");

	set(&f, "PATH_INFO", "/nosuch");
	row("404 endpoint", &f, 404, "no such endpoint", NONE);
	set(&f, "PATH_INFO", "/github/x");
	row("404 endpoint with a tail", &f, 404, "no such endpoint", NONE);
	del(&f, "PATH_INFO");

	set(&f, "REQUEST_METHOD", "GET");
	row("405 GET", &f, 405, "method not allowed: use POST", NONE);
	ok(g.a.allow_post, "405: Allow: POST");
	is_int(g.a.retry_after, 0, "405: no Retry-After");
	del(&f, "REQUEST_METHOD");
	row("405 no method", &f, 405, "method not allowed: use POST", NONE);
	ok(g.a.allow_post, "405 no method: Allow: POST");
	set(&f, "REQUEST_METHOD", "POST");

	del(&f, "CONTENT_LENGTH");
	row("411 no Content-Length", &f, 411, "Content-Length required",
	    NONE);
	set(&f, "CONTENT_LENGTH", "");
	row("411 empty Content-Length", &f, 411, "Content-Length required",
	    NONE);
	set(&f, "CONTENT_LENGTH", "4097");
	row("413 one byte over max_body", &f, 413,
	    "body larger than the limit", NONE);
	is_int(f.off, 0, "413: no byte of the body read");
	set(&f, "CONTENT_LENGTH", "99999999999999999999999");
	row("400 Content-Length out of range", &f, 400,
	    "Content-Length is not a number", NONE);
	setf(&f, "CONTENT_LENGTH", "%zu", f.len);

	set(&f, "CONTENT_TYPE", "text/plain");
	row("415 text/plain", &f, 415, "Content-Type must be "
	    "application/json", NONE);
	is_int(f.off, 0, "415: no byte of the body read");
	set(&f, "CONTENT_TYPE", "application/jsonp");
	row("415 application/jsonp", &f, 415, "Content-Type must be", NONE);
	del(&f, "CONTENT_TYPE");
	row("415 no Content-Type", &f, 415, "Content-Type must be", NONE);
	fake_free(&f);
}

static void
test_422(void)
{
	struct fake f;

	fake(&f, NULL, "{\"id\":\"x-1\",\"data\":{\"booking_id\":1}}");
	row("422 no event field", &f, 422, "event field 'event' is missing",
	    NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":7,\"data\":{\"booking_id\":1}}");
	row("422 event not a string", &f, 422, "event field 'event' is "
	    "missing or not a string", NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\".hidden\",\"data\":{\"booking_id\":1}}");
	row("422 bad event name", &f, 422, "event name must be", NONE);
	ok(jstr(g.log, "event") == NULL, "bad event name: not logged");
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":\"x-2\","
	    "\"data\":{}}");
	row("422 required field", &f, 422, "required field "
	    "'data.booking_id' is missing", NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":\".x\","
	    "\"data\":{\"booking_id\":1}}");
	row("422 bad id", &f, 422, "id field 'id' must be", NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":1.5,"
	    "\"data\":{\"booking_id\":1}}");
	row("422 id not an integer", &f, 422, "id field 'id' must be", NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\"booking.updated\","
	    "\"id\":18446744073709551615,\"data\":{\"booking_id\":1}}");
	row("422 id at the integer bound", &f, 422, "id field", NONE);
	fake_free(&f);
	fake(&f, NULL, "{\"event\":\"no.handler\",\"id\":\"x-3\"}");
	row("422 unknown event", &f, 422, "unknown event", NONE);
	ok(jstr(g.log, "id") != NULL, "unknown event: the log has its id");
	fake_free(&f);
}

static void
test_limits(void)
{
	struct fake	f;
	char		name[16];
	int		i;

	fake(&f, "/limited", "{\"event\":\"booking.updated\","
	    "\"data\":{\"booking_id\":1}}");
	set(&f, "REMOTE_ADDR", "127.0.0.77");
	row("rate_limit 1/h: the first", &f, 200, "accepted", STORED);
	row("429 the second", &f, 429, "too many requests from this address",
	    NONE);
	ok(g.a.retry_after > 0 && g.a.retry_after <= 3600,
	    "429: Retry-After %d", g.a.retry_after);
	set(&f, "REMOTE_ADDR", "127.0.0.78");
	row("rate_limit: another address has its own bucket", &f, 200,
	    "accepted", STORED);
	fake_free(&f);

	/* fake() sends 2 HTTP_* parameters; max_headers = 8. */
	fake(&f, "/few", "{\"event\":\"booking.updated\","
	    "\"data\":{\"booking_id\":1}}");
	for (i = 0; i < 6; i++) {
		(void)snprintf(name, sizeof(name), "HTTP_X_%d", i);
		add(&f, name, "v");
	}
	row("8 headers of max_headers 8", &f, 200, "accepted", STORED);
	add(&f, "HTTP_X_LAST", "v");
	row("431 9 headers", &f, 431, "too many request headers", NONE);
	fake_free(&f);
}

static void
test_sync(void)
{
	struct fake	f;
	char		body[200];
	int		done0;
	int64_t		t;

	fake(&f, NULL, "{\"event\":\"sync.ok\",\"id\":\"s-1\"}");
	done0 = count("done");
	row("sync 200", &f, 200, "accepted", NONE);
	is_str(jstr(g.body, "output"), "handled\n", "sync 200: the output");
	id_record("sync 200", "s-1", jstr(g.log, "spool"));
	is_int(count("done"), done0 + 1, "sync 200: in done/");
	ok(!g.a.kick, "sync 200: no runner to start");
	row("sync 200 duplicate", &f, 200, "accepted", NONE);
	ok(jtrue(g.body, "duplicate"), "sync duplicate: said so");
	fake_free(&f);

	fake(&f, NULL, "{\"event\":\"sync.fail\",\"id\":\"s-2\"}");
	row("sync 500", &f, 500, "handler failed", NONE);
	log_reason("sync 500", "sync handler: temporary failure");
	id_record("sync 500", "s-2", "");
	row("sync 500 again: the failure gave the id back", &f, 500,
	    "handler failed", NONE);
	fake_free(&f);

	fake(&f, NULL, "{\"event\":\"sync.retry\",\"id\":\"s-3\"}");
	row("sync 503 (exit 75)", &f, 503, "handler asked for a retry", NONE);
	id_record("sync 503", "s-3", "");
	is_int(g.a.retry_after, 30, "sync 503: Retry-After 30");
	row("sync 503 again: not a duplicate", &f, 503,
	    "handler asked for a retry", NONE);
	fake_free(&f);

	(void)snprintf(body, sizeof(body), "{\"event\":\"sync.slow\"}");
	fake(&f, NULL, body);
	t = now_us();
	row("sync 504 (timeout = 1)", &f, 504, "handler timed out", NONE);
	reqtime -= now_us() - t;	/* the handler's second is not ours */
	nreq--;
	fake_free(&f);
	is_int(count("done"), done0 + 1,
	    "only the successful sync run is in done/");
}

/* A signed Meta POST of body: stored as event want. */
static void
meta_event(const char *body, const char *want, const char *what)
{
	struct fake	f;
	char		sig[200];

	fake(&f, "/meta", body);
	del(&f, "HTTP_X_AUTH_TOKEN");
	sign(0, KEY, "", body, 0, sig);
	setf(&f, "HTTP_X_HUB_SIGNATURE_256", "sha256=%s", sig);
	row("meta: signed", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "event"), want, "meta event: %s", what);
	fake_free(&f);
}

static void
test_signatures(void)
{
	struct fake	 f;
	char		 sig[200], head[200], ts[32];
	const char	*body = "{\"type\":\"booking.updated\",\"id\":\"evt_1\","
	    "\"data\":{\"booking_id\":1}}";
	const char	*other = "{\"type\":\"booking.updated\",\"id\":\"evt_2\","
	    "\"data\":{\"booking_id\":1}}";

	/* github: X-Hub-Signature-256 = sha256=hex(HMAC-SHA256(body)). */
	fake(&f, "/github", body);
	del(&f, "HTTP_X_AUTH_TOKEN");
	add(&f, "HTTP_X_GITHUB_EVENT", "booking.updated");
	add(&f, "HTTP_X_GITHUB_DELIVERY", "gh-1");
	sign(0, KEY, "", body, 0, sig);
	setf(&f, "HTTP_X_HUB_SIGNATURE_256", "sha256=%s", sig);
	row("github: signed", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "gh-1", "github: id from X-GitHub-Delivery");
	id_record("github", "github+gh-1", g.entry);
	sign(0, KEY, "", other, 0, sig);
	setf(&f, "HTTP_X_HUB_SIGNATURE_256", "sha256=%s", sig);
	set(&f, "HTTP_X_GITHUB_DELIVERY", "gh-2");
	row("github: another body's signature", &f, 401,
	    "authentication failed", NONE);
	log_reason("github refused", "no signature matched");
	is_int(f.off, f.len, "github: the body was read to be verified");
	del(&f, "HTTP_X_HUB_SIGNATURE_256");
	row("github: no signature", &f, 401, "authentication failed", NONE);
	log_reason("github unsigned", "signature header missing");
	add(&f, "HTTP_X_AUTH_TOKEN", TOKEN);
	row("github: a token is no signature", &f, 401,
	    "authentication failed", NONE);
	fake_free(&f);

	/* stripe: Stripe-Signature = t=TS,v1=hex(HMAC-SHA256("TS." body)). */
	fake(&f, "/stripe", body);
	del(&f, "HTTP_X_AUTH_TOKEN");
	(void)snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	(void)snprintf(head, sizeof(head), "%s.", ts);
	sign(0, KEY, head, body, 0, sig);
	setf(&f, "HTTP_STRIPE_SIGNATURE", "t=%s,v1=%s,v0=00", ts, sig);
	row("stripe: signed", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "evt_1", "stripe: id from the body");
	(void)snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL) - 1000);
	(void)snprintf(head, sizeof(head), "%s.", ts);
	sign(0, KEY, head, body, 0, sig);
	setf(&f, "HTTP_STRIPE_SIGNATURE", "t=%s,v1=%s", ts, sig);
	row("stripe: signed 1000 s ago", &f, 401, "authentication failed",
	    NONE);
	log_reason("stripe stale", "timestamp outside the tolerance");
	(void)snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	(void)snprintf(head, sizeof(head), "%s.", ts);
	sign(0, "another-secret-0123456789", head, body, 0, sig);
	setf(&f, "HTTP_STRIPE_SIGNATURE", "t=%s,v1=%s", ts, sig);
	row("stripe: another secret", &f, 401, "authentication failed", NONE);
	log_reason("stripe wrong", "no signature matched");
	fake_free(&f);

	/* standard-webhooks: v1,base64(HMAC-SHA256("ID.TS." body)). */
	fake(&f, "/stdwh", body);
	del(&f, "HTTP_X_AUTH_TOKEN");
	add(&f, "HTTP_WEBHOOK_ID", "msg_1");
	(void)snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	add(&f, "HTTP_WEBHOOK_TIMESTAMP", ts);
	(void)snprintf(head, sizeof(head), "msg_1.%s.", ts);
	sign(0, STDKEY, head, body, 1, sig);
	setf(&f, "HTTP_WEBHOOK_SIGNATURE", "v2,abcd v1,%s", sig);
	row("standard-webhooks: signed", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "msg_1", "standard-webhooks: id from "
	    "webhook-id");
	set(&f, "HTTP_WEBHOOK_ID", "msg_2");
	row("standard-webhooks: the signature of another id", &f, 401,
	    "authentication failed", NONE);
	log_reason("standard-webhooks refused", "no signature matched");
	set(&f, "HTTP_WEBHOOK_ID", "msg_1");
	del(&f, "HTTP_WEBHOOK_TIMESTAMP");
	row("standard-webhooks: no timestamp", &f, 401,
	    "authentication failed", NONE);
	log_reason("standard-webhooks no timestamp", "timestamp");
	fake_free(&f);

	/* hmac: X-Signature = sha512= base64(HMAC-SHA512(body)). */
	fake(&f, "/hmac", "{\"data\":{\"ref\":\"r-1\",\"booking_id\":2}}");
	del(&f, "HTTP_X_AUTH_TOKEN");
	add(&f, "HTTP_X_EVENT", "booking.updated");
	sign(1, KEY, "", f.body, 1, sig);
	setf(&f, "HTTP_X_SIGNATURE", "sha512=%s", sig);
	row("hmac sha512 base64: signed", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "r-1", "hmac: id from data.ref");
	is_str(jstr(g.body, "event"), "booking.updated", "hmac: event from "
	    "X-Event");
	set(&f, "HTTP_X_SIGNATURE", sig);
	row("hmac: without its prefix", &f, 401, "authentication failed",
	    NONE);
	log_reason("hmac no prefix", "signature without its prefix");
	sign(0, KEY, "", f.body, 1, sig);
	setf(&f, "HTTP_X_SIGNATURE", "sha512=%s", sig);
	row("hmac: a SHA-256 signature", &f, 401, "authentication failed",
	    NONE);
	log_reason("hmac sha256", "no signature matched");
	fake_free(&f);
}

/* A handshake: answered 200 with what the sender wants back, logged as
 * a handshake, nothing spooled. */
static void
handshake(const char *what, struct fake *f, const char *key,
    const char *want, const char *logged)
{
	run(f);
	is_int(g.a.status, 200, "%s: 200", what);
	is_str(jstr(g.body, key), want, "%s: %s echoed", what, key);
	is_int(g.added, 0, "%s: nothing in new/", what);
	is_str(jstr(g.log, "handshake"), logged, "%s: logged as a handshake",
	    what);
}

static void
test_handshakes(void)
{
	struct fake	 f;
	char		 sig[200], head[200], ts[32], want[200];
	const char	*slack = "{\"token\":\"x\",\"challenge\":\"ch4ll\","
	    "\"type\":\"url_verification\"}";
	const char	*zoom = "{\"event\":\"endpoint.url_validation\","
	    "\"payload\":{\"plainToken\":\"qgg8vlvZRS6UYooatFL8Aw\"},"
	    "\"event_ts\":1}";

	(void)snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	(void)snprintf(head, sizeof(head), "v0:%s:", ts);
	fake(&f, "/slack", slack);
	del(&f, "HTTP_X_AUTH_TOKEN");
	add(&f, "HTTP_X_SLACK_REQUEST_TIMESTAMP", ts);
	sign(0, KEY, head, slack, 0, sig);
	setf(&f, "HTTP_X_SLACK_SIGNATURE", "v0=%s", sig);
	handshake("slack url_verification", &f, "challenge", "ch4ll",
	    "slack url_verification");
	del(&f, "HTTP_X_SLACK_SIGNATURE");
	row("slack url_verification unsigned", &f, 401,
	    "authentication failed", NONE);
	fake_free(&f);

	fake(&f, "/zoom", zoom);
	del(&f, "HTTP_X_AUTH_TOKEN");
	add(&f, "HTTP_X_ZM_REQUEST_TIMESTAMP", ts);
	sign(0, KEY, head, zoom, 0, sig);
	setf(&f, "HTTP_X_ZM_SIGNATURE", "v0=%s", sig);
	handshake("zoom endpoint.url_validation", &f, "plainToken",
	    "qgg8vlvZRS6UYooatFL8Aw", "zoom endpoint.url_validation");
	sign(0, KEY, "", "qgg8vlvZRS6UYooatFL8Aw", 0, want);
	is_str(jstr(g.body, "encryptedToken"), want,
	    "zoom: encryptedToken is hex HMAC-SHA256 of plainToken");
	sig[63] = sig[63] == '0' ? '1' : '0';	/* one digit wrong */
	setf(&f, "HTTP_X_ZM_SIGNATURE", "v0=%s", sig);
	row("zoom endpoint.url_validation badly signed", &f, 401,
	    "authentication failed", NONE);
	fake_free(&f);

	/* meta: a GET with the verify token gets the challenge, as text. */
	fake(&f, "/meta", "");
	del(&f, "HTTP_X_AUTH_TOKEN");
	del(&f, "CONTENT_TYPE");
	del(&f, "CONTENT_LENGTH");
	set(&f, "REQUEST_METHOD", "GET");
	add(&f, "QUERY_STRING", "hub.mode=subscribe&hub.challenge=1158201444"
	    "&hub.verify_token=meta-verify-token");
	run(&f);
	is_int(g.a.status, 200, "meta subscribe: 200");
	is_str(buf_cstr(&g.a.body), "1158201444", "meta subscribe: the "
	    "challenge is the body");
	is_str(g.a.content_type, "text/plain", "meta subscribe: as text");
	is_int(g.added, 0, "meta subscribe: nothing in new/");
	is_str(jstr(g.log, "handshake"), "meta subscribe",
	    "meta subscribe: logged as a handshake");
	set(&f, "QUERY_STRING", "hub.mode=subscribe&hub.challenge=1158201444"
	    "&hub.verify_token=meta-verify-tokeN");
	row("meta subscribe: another token", &f, 403, "verify token does not "
	    "match", NONE);
	set(&f, "REQUEST_METHOD", "POST");
	setf(&f, "CONTENT_LENGTH", "%zu", f.len);
	add(&f, "CONTENT_TYPE", "application/json");
	row("meta: a POST unsigned", &f, 401, "authentication failed", NONE);
	fake_free(&f);
	meta_event("{\"object\":\"page\",\"entry\":[{\"id\":\"1\",\"changes\":"
	    "[{\"field\":\"feed\",\"value\":{}}]}]}", "page.feed",
	    "the object and the change's field");
	meta_event("{\"object\":\"whatsapp_business_account\",\"entry\":[{"
	    "\"id\":\"2\",\"changes\":[{\"field\":\"messages\"}]}]}",
	    "whatsapp_business_account.messages", "WhatsApp's, the same shape");
	meta_event("{\"object\":\"instagram\",\"entry\":[{\"id\":\"3\","
	    "\"messaging\":[]}]}", "instagram", "no change field: the object "
	    "alone");
	meta_event("{\"object\":\"page\",\"entry\":[{\"id\":\"4\",\"changes\":"
	    "[{\"field\":7}]}]}", "page", "a field that is no string: the "
	    "object alone");
	fake(&f, "/github", "");
	set(&f, "REQUEST_METHOD", "GET");
	add(&f, "QUERY_STRING", "hub.mode=subscribe&hub.challenge=1"
	    "&hub.verify_token=meta-verify-token");
	row("github: a GET is still 405", &f, 405, "method not allowed", NONE);
	fake_free(&f);
}

/* Twilio's signature: base64(HMAC-SHA1(URL || each name value, sorted)),
 * here for pairs given already sorted and needing no escapes. */
static void
twilio_sign(const char *url, const char *const *kv, char *out)
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	unsigned int	maclen = 0;
	char		msg[1024];
	size_t		i;

	(void)snprintf(msg, sizeof(msg), "%s", url);
	for (i = 0; kv[i] != NULL; i++)
		(void)strncat(msg, kv[i], sizeof(msg) - strlen(msg) - 1);
	(void)HMAC(EVP_sha1(), KEY, (int)strlen(KEY), (unsigned char *)msg, strlen(msg), mac,
	    &maclen);
	(void)EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

static void
test_form_and_ids(void)
{
	struct fake	 f;
	char		 sig[200], head[200], ts[32], body[600];
	static const char *const kv[] = { "AccountSid", "AC1", "Body",
	    "hi there", "From", "+15550001", "MessageSid", "SM42", NULL };
	const char	*form = "MessageSid=SM42&Body=hi+there&From=%2B15550001"
	    "&AccountSid=AC1";
	const char	*zoom = "{\"event\":\"meeting.started\","
	    "\"payload\":{\"object\":{\"id\":9}}}";

	fake(&f, "/twilio", form);
	del(&f, "HTTP_X_AUTH_TOKEN");
	set(&f, "CONTENT_TYPE", "application/x-www-form-urlencoded");
	twilio_sign("https://example.com/hook/twilio", kv, sig);
	add(&f, "HTTP_X_TWILIO_SIGNATURE", sig);
	row("twilio: a form body", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "event"), "twilio", "twilio: the row's fixed "
	    "event name without EventType");
	is_str(jstr(g.body, "id"), "SM42", "twilio: id from MessageSid");
	add(&f, "HTTP_I_TWILIO_IDEMPOTENCY_TOKEN", "idem-1");
	row("twilio: with an idempotency token", &f, 200, "accepted", STORED);
	is_str(jstr(g.body, "id"), "idem-1", "twilio: id from "
	    "I-Twilio-Idempotency-Token first");
	fake_free(&f);

	fake(&f, "/github", form);
	del(&f, "HTTP_X_AUTH_TOKEN");
	set(&f, "CONTENT_TYPE", "application/x-www-form-urlencoded");
	row("github: a form body is still 415", &f, 415,
	    "Content-Type must be application/json", NONE);
	fake_free(&f);

	/* zoom: no id in the body: the SHA-256 of the body is the id. */
	(void)snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	(void)snprintf(head, sizeof(head), "v0:%s:", ts);
	fake(&f, "/zoom", zoom);
	del(&f, "HTTP_X_AUTH_TOKEN");
	add(&f, "HTTP_X_ZM_REQUEST_TIMESTAMP", ts);
	sign(0, KEY, head, zoom, 0, sig);
	setf(&f, "HTTP_X_ZM_SIGNATURE", "v0=%s", sig);
	row("zoom: an event", &f, 200, "accepted", STORED);
	ok(jstr(g.body, "id") != NULL && strlen(jstr(g.body, "id")) == 64,
	    "zoom: the id is a SHA-256 in hex");
	run(&f);
	is_int(g.a.status, 200, "zoom: the same body again: 200");
	ok(jtrue(g.body, "duplicate"), "zoom: a duplicate by its body hash");
	is_int(g.added, 0, "zoom: nothing new stored");
	fake_free(&f);

	/* mailgun: the signed token is accepted once. */
	(void)snprintf(head, sizeof(head), "%stok-%s-1", ts, ts);
	sign(0, KEY, "", head, 0, sig);
	(void)snprintf(body, sizeof(body), "{\"signature\":{\"timestamp\":"
	    "\"%s\",\"token\":\"tok-%s-1\",\"signature\":\"%s\"},"
	    "\"event-data\":{\"event\":\"delivered\",\"id\":\"m-1\"}}",
	    ts, ts, sig);
	fake(&f, "/mailgun", body);
	del(&f, "HTTP_X_AUTH_TOKEN");
	row("mailgun: signed", &f, 200, "accepted", STORED);
	row("mailgun: the same token again", &f, 401, "token replayed", NONE);
	fake_free(&f);
}

/* 503: the spool cannot take the event. Root writes through any mode,
 * so the folders are taken away under the open spool instead: a rename
 * into a removed folder fails whoever the caller is. */
static void
test_503_spool(void)
{
	struct fake	f;
	char		path[1024];

	use("lost.ini", "lost");
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":\"l-1\"}");
	row("lost spool: first accepted", &f, 200, "accepted", STORED);
	fake_free(&f);

	/* new/ gone: the commit's rename fails, and the id is given back. */
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":\"l-9\"}");
	(void)snprintf(path, sizeof(path), "%s/new/%s", spooldir, g.entry);
	ok(unlink(path) == 0, "new/ is emptied");
	(void)snprintf(path, sizeof(path), "%s/new", spooldir);
	ok(rmdir(path) == 0, "new/ is removed under the receiver");
	row("503 spool: new/ gone", &f, 503,
	    "cannot store the event right now", NONE);
	is_int(g.a.retry_after, 30, "503 spool: Retry-After 30");
	id_record("503 spool", "l-9", "");
	ok(!g.a.kick, "503 spool: no runner to start");
	ok(jstr(g.log, "reason") != NULL &&
	    strcmp(jstr(g.log, "reason"), "cannot store the event right now")
	    != 0, "503 spool: the log has the cause (%s)",
	    jstr(g.log, "reason"));
	fake_free(&f);

	/* ids/ gone: the id cannot be reserved. */
	fake(&f, NULL, "{\"event\":\"booking.updated\",\"id\":\"l-2\"}");
	(void)snprintf(path, sizeof(path), "%s/ids", spooldir);
	ok(fx_rm_tree(path) == 0,
	    "ids/ is removed under the receiver");
	row("503 spool: ids/ gone", &f, 503,
	    "cannot store the event right now", NONE);
	is_int(g.a.retry_after, 30, "503 ids: Retry-After 30");
	fake_free(&f);
	use("main.ini", "spool");
}

static void
test_503_config(void)
{
	struct fake	 f;
	const char	*r;

	fake(&f, NULL, BOOKING);
	use("bad.ini", "spool");
	row("503 configuration error", &f, 503,
	    "receiver configuration error", NONE);
	is_int(g.a.retry_after, 60, "503 config: Retry-After 60");
	r = jstr(g.log, "reason");
	ok(r != NULL && strstr(r, "bad.ini:4") != NULL && strstr(r,
	    "no_such_key") != NULL, "503 config: the log names file, line "
	    "and key (%s)", r ? r : "(null)");
	ok(strstr(buf_cstr(&g.a.body), "no_such_key") == NULL,
	    "503 config: the client is not told the detail");

	if (unsetenv("HOOKPIPE_CONFIG") == -1)
		exit(1);
	row("503 HOOKPIPE_CONFIG not set", &f, 503, "receiver not configured",
	    NONE);
	is_int(g.a.retry_after, 60, "503 not configured: Retry-After 60");
	log_reason("503 not configured", "HOOKPIPE_CONFIG is not set");

	/* A .htaccess SetEnv arrives as a request parameter... */
	use("main.ini", "spool");
	(void)unsetenv("HOOKPIPE_CONFIG");
	setf(&f, "HOOKPIPE_CONFIG", "%s/main.ini", root);
	set(&f, "CONTENT_LENGTH", "x");
	row("HOOKPIPE_CONFIG as a request parameter", &f, 400,
	    "Content-Length is not a number", NONE);
	/* ...and the process environment wins over it. */
	use("main.ini", "spool");
	setf(&f, "HOOKPIPE_CONFIG", "%s/bad.ini", root);
	row("HOOKPIPE_CONFIG: the environment wins", &f, 400,
	    "Content-Length is not a number", NONE);
	fake_free(&f);
}

int
main(void)
{
	setup();
	receiver_init(&rx);
	use("main.ini", "spool");

	test_accepted();
	test_400();
	test_refusals();
	test_422();
	test_limits();
	test_sync();
	test_signatures();
	test_handshakes();
	test_form_and_ids();
	test_503_spool();
	test_503_config();

	printf("# %d requests in %.1f ms (%.3f ms each, the sync timeout's "
	    "second left out)\n", nreq, reqtime / 1000.0,
	    nreq ? reqtime / 1000.0 / nreq : 0.0);
	json_object_put(g.body);
	json_object_put(g.log);
	answer_free(&g.a);
	receiver_free(&rx);
	if (fx_rm_tree(root) == -1)
		printf("# cannot remove %s\n", root);
	return tap_done();
}
