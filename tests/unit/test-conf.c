/* test-conf: conf_load on INI files written into a temporary folder:
 * the loaded values, the defaults, and each diagnostic. */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

#define TOKEN	"0123456789abcdef0123"
/* Lines 1-5 of most test files. */
#define BASE	"[hookpipe]\n"			\
		"spool_dir = spool\n"		\
		"handlers_dir = handlers\n"	\
		"[auth]\n"			\
		"token_file = tokens\n"
/* The same with [hookpipe] last, for more [hookpipe] keys on line 6. */
#define BASE_H	"[auth]\n"			\
		"token_file = tokens\n"		\
		"[hookpipe]\n"			\
		"spool_dir = spool\n"		\
		"handlers_dir = handlers\n"

static char	tdir[] = "/tmp/hookpipe-test-conf.XXXXXX";
static char	ini[512];	/* path of the file last written by put() */
static char	expect[1024];

static const char *
at(const char *name)
{
	static char p[512];

	(void)snprintf(p, sizeof(p), "%s/%s", tdir, name);
	return p;
}

/* Write a file of the test folder with the given mode. */
static void
put_n(const char *name, const char *text, size_t len, mode_t mode)
{
	int fd;

	(void)snprintf(ini, sizeof(ini), "%s", at(name));
	fd = open(ini, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, len) != (ssize_t)len ||
	    fchmod(fd, mode) == -1 || close(fd) == -1)
		printf("# cannot write %s\n", ini);
}

static void
put(const char *name, const char *text, mode_t mode)
{
	put_n(name, text, strlen(text), mode);
}

/* Load `text` as t.ini (mode 0600); the diag is reset first. */
static struct conf *
load(const char *text, struct diag *d)
{
	diag_free(d);
	put("t.ini", text, 0600);
	return conf_load(ini, d);
}

static int
has(struct diag *d, const char *s)
{
	return strstr(buf_cstr(&d->text), s) != NULL;
}

/* "PATH:LINE: " followed by msg, in expect[]. */
static const char *
at_line(int line, const char *msg)
{
	(void)snprintf(expect, sizeof(expect), "%s/t.ini:%d: %s", tdir, line,
	    msg);
	return expect;
}

/* The file must be refused with exactly one error whose text holds
 * `want`. */
static void
refused(const char *text, const char *want, const char *what)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c = load(text, &d);

	ok(c == NULL, "%s: refused", what);
	is_int(d.nerr, 1, "%s: one error", what);
	ok(has(&d, want), "%s: diag holds \"%s\"", what, want);
	if (!has(&d, want))
		printf("#   diag: %s", buf_cstr(&d.text));
	conf_free(c);
	diag_free(&d);
}

static void
test_minimal(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;
	char		 want[512];

	c = load(BASE, &d);
	ok(c != NULL, "minimal config loads");
	is_int(d.nerr, 0, "minimal: no error");
	is_int(d.nwarn, 0, "minimal: no warning");
	is_str(buf_cstr(&d.text), "", "minimal: empty diag");
	if (c == NULL) {
		printf("#   diag: %s", buf_cstr(&d.text));
		diag_free(&d);
		return;
	}
	is_str(c->path, ini, "path kept");
	(void)snprintf(want, sizeof(want), "%s/spool", tdir);
	is_str(c->spool_dir, want, "relative spool_dir resolved");
	(void)snprintf(want, sizeof(want), "%s/handlers", tdir);
	is_str(c->ep[0].handlers_dir, want, "relative handlers_dir resolved");
	(void)snprintf(want, sizeof(want), "%s/tokens", tdir);
	is_str(c->ep[0].token_file, want, "relative token_file resolved");
	(void)snprintf(want, sizeof(want), "%s/spool/delivery.log", tdir);
	is_str(c->log_file, want, "log_file defaults to SPOOL/delivery.log");

	is_int(c->ep[0].max_body, 1048576, "default max_body 1048576");
	is_int(c->ep[0].require_https, 1, "default require_https 1");
	is_str(c->ep[0].event_field, "event", "default event_field");
	is_str(c->ep[0].id_field, "id", "default id_field");
	is_int(c->ep[0].required.n, 0, "default required: none");
	is_int(c->ep[0].unknown_reject, 0, "default unknown_events accept");
	is_str(c->ep[0].auth_header, "x-auth-token", "default header");
	is_str(c->ep[0].auth_param, "HTTP_X_AUTH_TOKEN", "default auth_param");
	is_int(c->ep[0].insecure_permissions, 0, "default insecure_permissions 0");
	is_int(c->ep[0].allow_from.n, 0, "default allow_from: any");
	is_int(c->timeout, 30, "default timeout 30");
	is_int(c->kill_grace, 5, "default kill_grace 5");
	is_str(c->handler_path, CONF_DEFAULT_PATH, "default handler path");
	ok(c->runner == NULL, "default runner: unset");
	is_int(c->ep[0].tokens.n, 1, "one token loaded");
	is_str(c->ep[0].tokens.n == 1 ? c->ep[0].tokens.v[0].p : NULL, TOKEN,
	    "token exact");
	is_int(c->nenv, 0, "no [env]");
	is_int(c->nevents, 0, "no [event]");
	is_int(conf_timeout(c, NULL), 30, "conf_timeout without event");
	conf_free(c);
	diag_free(&d);
}

static void
test_values(void)
{
	struct diag		 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf		*c;
	const struct event_conf	*ev;
	char			 want[512];

	c = load("; comment\n"
	    "# another\n"
	    "[HookPipe]\n"
	    "  Spool_Dir   =   /abs/spool   \n"
	    "handlers_dir = handlers\n"
	    "max_body = 512K\n"
	    "require_https = no\n"
	    "event_field = meta.type\n"
	    "id_field = meta.event_id\n"
	    "required = event, data.booking_id\n"
	    "unknown_events = reject\n"
	    "log_file = /var/log/hp.log\n"
	    "[auth]\n"
	    "header = X-Hook-Token\n"
	    "token_file = /nonexistent/ignored\n"
	    "allow_from = 127.0.0.1, ::1, 10.0.0.0/8\n"
	    "[delivery]\n"
	    "timeout = 2m\n"
	    "kill_grace = 0\n"
	    "path = /opt/bin:/bin\n"
	    "runner = bin/hookpipe-run\n"
	    "[env]\n"
	    "FOO = bar\n"
	    "Mixed_Case = \"a#b;c\"\n"
	    "[event booking.updated]\n"
	    "handler = notify.sh\n"
	    "mode = sync\n"
	    "timeout = 5s\n"
	    "sync_output = yes\n"
	    "required = data.id, data.unit.type\n"
	    "[event payment.processed]\n"
	    "handler = /usr/local/bin/pay\n"
	    "required =\n"
	    "[event Booking.Created]\n", &d);
	/* The only error must be the missing token file. */
	ok(c == NULL, "values: refused because of the token file");
	is_int(d.nerr, 1, "values: only the token file is wrong");
	ok(has(&d, "/nonexistent/ignored"), "values: token file named");
	diag_free(&d);

	/* Same file with a real token file. */
	c = load("[HookPipe]\n"
	    "  Spool_Dir   =   /abs/spool   \n"
	    "handlers_dir = handlers\n"
	    "max_body = 512K\n"
	    "require_https = no\n"
	    "event_field = meta.type\n"
	    "id_field = meta.event_id\n"
	    "required = event, data.booking_id\n"
	    "unknown_events = reject\n"
	    "log_file = /var/log/hp.log\n"
	    "[auth]\n"
	    "header = X-Hook-Token\n"
	    "token_file = tokens\n"
	    "allow_from = 127.0.0.1, ::1, 10.0.0.0/8\n"
	    "[delivery]\n"
	    "timeout = 2m\n"
	    "kill_grace = 0\n"
	    "path = /opt/bin:/bin\n"
	    "runner = bin/hookpipe-run\n"
	    "[env]\n"
	    "FOO = bar\n"
	    "Mixed_Case = \"a#b;c\"\n"
	    "[event booking.updated]\n"
	    "handler = notify.sh\n"
	    "mode = sync\n"
	    "timeout = 5s\n"
	    "sync_output = yes\n"
	    "required = data.id, data.unit.type\n"
	    "[event payment.processed]\n"
	    "handler = /usr/local/bin/pay\n"
	    "required =\n"
	    "[event Booking.Created]\n", &d);
	ok(c != NULL, "values: loads");
	is_int(d.nerr, 0, "values: no error");
	if (c == NULL) {
		printf("#   diag: %s", buf_cstr(&d.text));
		diag_free(&d);
		return;
	}
	is_str(c->spool_dir, "/abs/spool",
	    "case-insensitive section and key, value trimmed");
	is_int(c->ep[0].max_body, 512 * 1024, "max_body 512K");
	is_int(c->ep[0].require_https, 0, "require_https no");
	is_str(c->ep[0].event_field, "meta.type", "event_field");
	is_str(c->ep[0].id_field, "meta.event_id", "id_field");
	is_int(c->ep[0].required.n, 2, "required: 2 items");
	is_str(c->ep[0].required.n == 2 ? c->ep[0].required.v[1] : NULL, "data.booking_id",
	    "required item 2");
	is_int(c->ep[0].unknown_reject, 1, "unknown_events reject");
	is_str(c->log_file, "/var/log/hp.log", "log_file");
	is_str(c->ep[0].auth_param, "HTTP_X_HOOK_TOKEN", "header -> auth_param");
	is_int(c->ep[0].allow_from.n, 3, "allow_from: 3 ranges");
	is_int(cidr_list_match(&c->ep[0].allow_from, "10.1.2.3"), 1,
	    "allow_from matches 10.1.2.3");
	is_int(c->timeout, 120, "timeout 2m");
	is_int(c->kill_grace, 0, "kill_grace 0");
	is_str(c->handler_path, "/opt/bin:/bin", "[delivery] path");
	(void)snprintf(want, sizeof(want), "%s/bin/hookpipe-run", tdir);
	is_str(c->runner, want, "runner relative to the INI folder");

	is_int(c->nenv, 2, "[env]: 2 variables");
	if (c->nenv == 2) {
		is_str(c->env[0].name, "FOO", "[env] FOO keeps its case");
		is_str(c->env[0].value, "bar", "[env] FOO = bar");
		is_str(c->env[1].name, "Mixed_Case", "[env] Mixed_Case kept");
		is_str(c->env[1].value, "a#b;c", "quoted value keeps # and ;");
	}

	is_int(c->nevents, 3, "3 events");
	ev = conf_event(c, "booking.updated");
	ok(ev != NULL, "[event booking.updated] found");
	if (ev != NULL) {
		is_str(ev->handler, "notify.sh", "relative handler kept as "
		    "written (resolved under the endpoint's handlers_dir)");
		is_int(ev->mode, MODE_SYNC, "mode = sync");
		is_int(ev->timeout, 5, "timeout = 5s");
		is_int(conf_timeout(c, ev), 5, "conf_timeout of the event");
		is_int(ev->sync_output, 1, "sync_output = yes");
		is_int(ev->has_required, 1, "has_required");
		is_int(ev->required.n, 2, "required: 2 items");
		is_str(ev->required.n == 2 ? ev->required.v[0] : NULL,
		    "data.id", "required item 1");
		is_str(ev->required.n == 2 ? ev->required.v[1] : NULL,
		    "data.unit.type", "required item 2");
	}
	ev = conf_event(c, "payment.processed");
	ok(ev != NULL, "[event payment.processed] found");
	if (ev != NULL) {
		is_str(ev->handler, "/usr/local/bin/pay", "absolute handler");
		is_int(ev->mode, MODE_QUEUE, "default mode queue");
		is_int(ev->timeout, 0, "no own timeout");
		is_int(conf_timeout(c, ev), 120, "conf_timeout falls back");
		is_int(ev->has_required, 1, "empty required: has_required");
		is_int(ev->required.n, 0, "empty required: nothing");
	}
	ev = conf_event(c, "Booking.Created");
	ok(ev != NULL, "[event Booking.Created] found by its own case");
	if (ev != NULL) {
		ok(ev->handler == NULL, "no handler: by name");
		is_int(ev->has_required, 0, "no required key");
	}
	ok(conf_event(c, "booking.created") == NULL,
	    "booking.created does not match [event Booking.Created]");
	ok(conf_event(c, "BOOKING.UPDATED") == NULL,
	    "BOOKING.UPDATED does not match [event booking.updated]");
	ok(conf_event(c, "nope") == NULL, "unknown event: NULL");
	conf_free(c);
	diag_free(&d);
}

static void
test_errors(void)
{
	char		 line[1200], text[1400];
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;

	refused(BASE "spool_dri = x\n", at_line(6, "unknown key 'spool_dri'"),
	    "unknown key");
	refused("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "Spool_Dri = x\n[auth]\ntoken_file = tokens\n",
	    at_line(4, "unknown key 'Spool_Dri' in [hookpipe]"),
	    "unknown key: named as written, section named");
	refused(BASE "[hookpipe2]\n", at_line(6, "unknown section [hookpipe2]"),
	    "unknown section");
	refused(BASE "[event]\n", at_line(6, "[event] needs a name"),
	    "[event] without a name");
	refused(BASE "[eventx]\n", at_line(6, "unknown section [eventx]"),
	    "[eventx]");
	refused(BASE_H "spool_dir = other\n",
	    at_line(6, "[hookpipe] spool_dir is set again (first on line 4)"),
	    "duplicate key");
	refused(BASE "[Auth]\n",
	    at_line(6, "section [Auth] appears again (first on line 4"),
	    "duplicate section, other case");
	refused(BASE "[event a.b]\n[event a.b]\n",
	    at_line(7, "section [event a.b] appears again (first on line 6): "
	    "merge them"), "an event section twice");
	refused(BASE "[endpoint x]\ntoken_file = tokens\n[endpoint X]\n"
	    "token_file = tokens\n", at_line(8, "section [endpoint X] appears "
	    "again (first on line 6; names are case-insensitive)"),
	    "endpoint names differing only in case are duplicates");
	refused("spool_dir = x\n" BASE,
	    at_line(1, "key 'spool_dir' outside a section"), "key outside");
	refused("[hookpipe\n" BASE, at_line(1, "malformed section header"),
	    "header without ]");
	refused(BASE "[]\n", at_line(6, "malformed section header"),
	    "empty header []");
	refused(BASE "[auth] ; comment\n",
	    at_line(6, "malformed section header"),
	    "header with a trailing comment");
	refused(BASE "just words\n", at_line(6, "expected 'key = value'"),
	    "line without =");
	/* iniparser drops a value continued past the end of the file: the
	 * allow-list would vanish without a word. */
	refused(BASE "allow_from = 192.0.2.0/24 \\\n",
	    at_line(6, "the last line ends in '\\'"),
	    "a value continued past the last line");
	refused(BASE "= value\n", at_line(6, "missing key before '='"),
	    "= without a key");
	memset(line, 'a', sizeof(line) - 1);
	line[0] = '#';
	line[1001] = '\n';
	line[1002] = '\0';
	(void)snprintf(text, sizeof(text), "%s%s", BASE, line);
	refused(text, at_line(6, "line longer than 1000 bytes"),
	    "line over 1000 bytes");
	refused(BASE_H "require_https = maybe\n",
	    at_line(6, "[hookpipe] require_https: 'maybe' is not a boolean"),
	    "bad boolean");
	refused(BASE_H "max_body = lots\n",
	    at_line(6, "[hookpipe] max_body: 'lots' is not a size"),
	    "bad max_body");
	refused(BASE_H "max_body = 0\n", at_line(6, "[hookpipe] max_body: '0'"),
	    "max_body 0");
	refused(BASE_H "max_body = 2G\n",
	    at_line(6, "[hookpipe] max_body: '2G'"),
	    "max_body over 1G");
	refused(BASE "allow_from = 1.2.3.4, nope\n",
	    at_line(6, "[auth] allow_from: item 2 is not"), "bad allow_from");
	refused(BASE "allow_from = 10.0.0.1/8\n",
	    at_line(6, "[auth] allow_from: item 1"), "allow_from host bits");
	refused(BASE "header = x_token\n", at_line(6, "[auth] header:"),
	    "bad header");
	refused(BASE "[delivery]\ntimeout = 0\n",
	    at_line(7, "[delivery] timeout: '0' is not a duration"),
	    "timeout 0");
	refused(BASE "[delivery]\ntimeout = 2d\n", at_line(7,
	    "[delivery] timeout: '2d'"),
	    "timeout over 1d");
	refused(BASE "[delivery]\nkill_grace = 5x\n",
	    at_line(7, "[delivery] kill_grace: '5x'"), "bad kill_grace");
	refused(BASE_H "event_field = a..b\n",
	    at_line(6, "[hookpipe] event_field: 'a..b'"),
	    "bad event_field");
	refused(BASE_H "required = id, .x\n",
	    at_line(6, "[hookpipe] required: '.x'"),
	    "bad required item");
	refused(BASE_H "unknown_events = Reject\n",
	    at_line(6, "[hookpipe] unknown_events: 'Reject'"),
	    "unknown_events case");
	refused(BASE "[event a]\nmode = later\n", at_line(7,
	    "[event a] mode: 'later'"),
	    "bad mode");
	refused(BASE "[event a]\nhandlr = x\n",
	    at_line(7, "unknown key 'handlr' in [event a]"),
	    "unknown key in [event]");
	refused(BASE "[event Bad/Name]\n", at_line(6, "[event Bad/Name]:"),
	    "[event Bad/Name]");
	refused(BASE "[event .hidden]\n", at_line(6, "[event .hidden]:"),
	    "[event .hidden]");
	refused(BASE "[env]\nPATH = /evil\n", at_line(7, "[env] PATH: not"),
	    "[env] PATH");
	refused(BASE "[env]\nHOOKPIPE_EVENT = x\n",
	    at_line(7, "[env] HOOKPIPE_EVENT: not"), "[env] HOOKPIPE_*");
	refused(BASE "[env]\n1BAD = x\n", at_line(7, "[env] 1BAD: not"),
	    "[env] name starting with a digit");
	refused("[hookpipe]\nhandlers_dir = h\n[auth]\ntoken_file = tokens\n",
	    at_line(1, "[hookpipe] spool_dir is not set"), "spool_dir missing");
	refused("[hookpipe]\nspool_dir = s\n[auth]\ntoken_file = tokens\n",
	    at_line(1, "[hookpipe] handlers_dir is not set"),
	    "handlers_dir missing");
	refused("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n",
	    at_line(4, "[auth] token_file is not set"), "no token at all");
	refused("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n"
	    "[auth]\ntoken_file = tokens\ntoken = " TOKEN "\n",
	    "set either token or token_file", "token and token_file");

	/* Every problem is reported at once. */
	c = load(BASE_H "max_body = lots\nrequire_https = maybe\n"
	    "[delivery]\ntimeout = never\n[event a]\nmode = x\n", &d);
	ok(c == NULL, "several errors: refused");
	is_int(d.nerr, 4, "several errors: all 4 reported");
	conf_free(c);

	/* Embedded NUL. */
	diag_free(&d);
	put_n("t.ini", BASE "x\0 = y\n", sizeof(BASE "x\0 = y\n") - 1, 0600);
	c = conf_load(ini, &d);
	ok(c == NULL, "NUL byte: refused");
	is_int(d.nerr, 1, "NUL byte: one error");
	ok(has(&d, "NUL byte"), "NUL byte: said so");
	conf_free(c);

	/* Missing file. */
	diag_free(&d);
	c = conf_load(at("does-not-exist.ini"), &d);
	ok(c == NULL, "missing file: refused");
	is_int(d.nerr, 1, "missing file: one error");
	ok(has(&d, "does-not-exist.ini"), "missing file: named");
	diag_free(&d);
}

static void
test_token_permissions(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;
	char		 want[1024];

	put("tokens", "# t\n" TOKEN "\n", 0644);
	(void)snprintf(want, sizeof(want), "chmod o-rwx %s", at("tokens"));
	refused(BASE, want, "token file mode 644");
	c = load(BASE "insecure_permissions = yes\n", &d);
	ok(c != NULL, "token file 644 with insecure_permissions = yes loads");
	is_int(d.nerr, 0, "insecure_permissions: no error");
	conf_free(c);
	put("tokens", "# t\n" TOKEN "\n", 0640);
	c = load(BASE, &d);
	ok(c != NULL, "token file 640 (group only) loads");
	conf_free(c);

	put("tokens", "short\n", 0600);
	c = load(BASE, &d);
	ok(c != NULL, "short token: loads");
	is_int(d.nwarn, 1, "short token: one warning");
	ok(has(&d, "warning: token 1 is shorter than 16"), "short token warned");
	conf_free(c);

	put("tokens", "# only a comment\n", 0600);
	refused(BASE, "holds no token", "token file without a token");
	put("tokens", "has space\n", 0600);
	refused(BASE, "tokens:1:", "token with a space: file and line");
	put("tokens", "# t\n" TOKEN "\n", 0600);
	refused("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "[auth]\ntoken_file = nothere\n",
	    at_line(5, "[auth] token_file: "), "missing token file");

	/* A token in the INI itself. */
	c = load("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = " TOKEN "\n", &d);
	ok(c != NULL, "inline token, INI mode 600: loads");
	is_int(d.nerr, 0, "inline token 600: no error");
	is_int(c != NULL ? (long long)c->ep[0].tokens.n : -1, 1, "inline: one token");
	is_str(c != NULL && c->ep[0].tokens.n == 1 ? c->ep[0].tokens.v[0].p : NULL, TOKEN,
	    "inline token exact");
	ok(c == NULL || c->ep[0].token_file == NULL, "inline: no token_file");
	conf_free(c);

	c = load("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = \"" TOKEN "#;x\"\n", &d);
	is_str(c != NULL && c->ep[0].tokens.n == 1 ? c->ep[0].tokens.v[0].p : NULL,
	    TOKEN "#;x", "quoted inline token keeps # and ;");
	conf_free(c);

	diag_free(&d);
	put("t.ini", "[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = " TOKEN "\n", 0644);
	c = conf_load(ini, &d);
	ok(c == NULL, "inline token, INI mode 644: refused");
	is_int(d.nerr, 1, "inline token 644: one error");
	ok(has(&d, "readable by others: chmod o-rwx"),
	    "inline token 644: says chmod");
	conf_free(c);
	diag_free(&d);
	put("t.ini", "[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = " TOKEN "\ninsecure_permissions = yes\n", 0644);
	c = conf_load(ini, &d);
	ok(c != NULL, "inline token 644 with insecure_permissions: loads");
	conf_free(c);
	diag_free(&d);
}

/* Every file the INI names, and the INI itself, must be a regular file:
 * a FIFO would hang whoever opens it. Symbolic links are followed. */
static void
test_not_regular(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;
	char		 want[512];

	if (mkfifo(at("fifo"), 0600) == -1 || symlink("tokens",
	    at("tokens.link")) == -1)
		printf("# cannot make the FIFO or the link\n");
	(void)snprintf(want, sizeof(want), "[auth] token_file: %s/fifo is not "
	    "a regular file (a FIFO)", tdir);
	refused("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "[auth]\ntoken_file = fifo\n", at_line(5, want),
	    "token_file a FIFO");
	(void)snprintf(want, sizeof(want), "[auth] token_file: %s/handlers is "
	    "not a regular file (a folder)", tdir);
	refused("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "[auth]\ntoken_file = handlers\n", at_line(5, want),
	    "token_file a folder");
	(void)snprintf(want, sizeof(want), "[hookpipe] log_file: %s/fifo is "
	    "not a regular file (a FIFO)", tdir);
	refused(BASE_H "log_file = fifo\n", at_line(6, want),
	    "log_file a FIFO");
	refused(BASE_H "log_file = /dev/zero\n", at_line(6, "[hookpipe] "
	    "log_file: /dev/zero is not a regular file (a character device)"),
	    "log_file /dev/zero");
	c = load(BASE_H "log_file = /dev/null\n", &d);
	ok(c != NULL, "log_file = /dev/null (no log): loads");
	conf_free(c);

	c = load("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "[auth]\ntoken_file = tokens.link\n", &d);
	ok(c != NULL, "token_file a symbolic link to a regular file: loads");
	conf_free(c);

	diag_free(&d);
	c = conf_load(at("fifo"), &d);
	ok(c == NULL, "INI a FIFO: refused (and did not hang)");
	is_int(d.nerr, 1, "INI a FIFO: one error");
	(void)snprintf(want, sizeof(want), "%s/fifo: not a regular file (a "
	    "FIFO)", tdir);
	ok(has(&d, want), "INI a FIFO: named, and said what it is");
	conf_free(c);
	diag_free(&d);
	(void)unlink(at("fifo"));
	(void)unlink(at("tokens.link"));
}

/* CVE-2023-33461 came from iniparser values that are NULL; a section
 * named like "section:key" makes iniparser hold exactly such an entry. */
static void
test_colon_sections(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;

	c = load(BASE "[hookpipe:spool_dir]\n", &d);
	ok(c == NULL, "[hookpipe:spool_dir] after the key: refused");
	ok(d.nerr >= 1, "[hookpipe:spool_dir] after: error reported");
	ok(has(&d, at_line(6, "unknown section [hookpipe:spool_dir]")),
	    "[hookpipe:spool_dir] after: named with its line");
	conf_free(c);

	c = load("[hookpipe:spool_dir]\n" BASE, &d);
	ok(c == NULL, "[hookpipe:spool_dir] before the key: refused");
	ok(has(&d, at_line(1, "unknown section [hookpipe:spool_dir]")),
	    "[hookpipe:spool_dir] before: named");
	conf_free(c);

	c = load(BASE "[auth:token]\n[env:FOO]\n[env]\nFOO = x\n"
	    "[event a:handler]\n[event b]\nhandler = h\n[event b:handler]\n",
	    &d);
	ok(c == NULL, "several colon sections: refused, no crash");
	ok(has(&d, "unknown section [auth:token]"), "[auth:token] reported");
	ok(has(&d, "unknown section [env:FOO]"), "[env:FOO] reported");
	ok(has(&d, "[event a:handler]:"), "[event a:handler] reported");
	ok(has(&d, "[event b:handler]:"), "[event b:handler] reported");
	conf_free(c);
	diag_free(&d);
}

/* iniparser joins the line after any line ending in '\', a comment
 * included, so the key on that line would vanish into the comment: the
 * scanner must refuse such a comment. */
static void
test_comment_continuation(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;

	c = load(BASE "# office network only \\\n"
	    "allow_from = 192.0.2.0/24\n", &d);
	ok(c == NULL || c->ep[0].allow_from.n == 1,
	    "comment ending in \\ then allow_from: refused, or allow_from "
	    "kept");
	if (c != NULL)
		printf("#   loaded with allow_from.n = %zu, diag \"%s\"\n",
		    c->ep[0].allow_from.n, buf_cstr(&d.text));
	conf_free(c);
	diag_free(&d);
}

/* An INI named by a relative path: its folder is still the base. */
static void
test_relative_ini(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;
	char		 cwd[512], want[600];

	if (getcwd(cwd, sizeof(cwd)) == NULL || mkdir(at("sub"), 0700) == -1) {
		ok(0, "relative INI: setup");
		return;
	}
	put("sub/r.ini", "[hookpipe]\nspool_dir = spool\nhandlers_dir = ../h\n"
	    "[auth]\ntoken_file = ../tokens\n", 0600);
	if (chdir(tdir) == -1) {
		ok(0, "relative INI: chdir");
		return;
	}
	c = conf_load("sub/r.ini", &d);
	ok(c != NULL, "INI given as sub/r.ini loads");
	(void)snprintf(want, sizeof(want), "%s/sub/spool", tdir);
	is_str(c != NULL ? c->spool_dir : NULL, want,
	    "sub/r.ini: spool_dir under the INI's folder");
	(void)snprintf(want, sizeof(want), "%s/sub/../h", tdir);
	is_str(c != NULL ? c->ep[0].handlers_dir : NULL, want,
	    "sub/r.ini: ../h joined to the INI's folder");
	conf_free(c);
	diag_free(&d);
	if (chdir(at("sub")) == -1) {
		ok(0, "relative INI: chdir sub");
		return;
	}
	c = conf_load("r.ini", &d);
	ok(c != NULL, "INI given as r.ini loads");
	(void)snprintf(want, sizeof(want), "%s/sub/spool", tdir);
	is_str(c != NULL ? c->spool_dir : NULL, want,
	    "r.ini: spool_dir under the current folder");
	conf_free(c);
	diag_free(&d);
	if (chdir(cwd) == -1)
		printf("# cannot return to %s\n", cwd);
	(void)unlink(at("sub/r.ini"));
	(void)rmdir(at("sub"));
}

/* Event names are case-sensitive everywhere: [event Booking.Created]
 * and [event booking.created] are two events, each with its own keys,
 * although iniparser lowercases section names. */
static void
test_event_case(void)
{
	struct diag		 d = { { NULL, 0, 0, 0 }, 0, 0 };
	const struct event_conf	*up, *low;
	struct conf		*c;

	c = load(BASE "[event Booking.Created]\nhandler = /bin/upper\n"
	    "mode = sync\ntimeout = 5s\nrequired = data.a\n"
	    "[event booking.created]\nhandler = /bin/lower\nretries = 3\n",
	    &d);
	ok(c != NULL, "two events differing only in case: loads");
	if (c == NULL) {
		printf("#   diag: %s", buf_cstr(&d.text));
		diag_free(&d);
		return;
	}
	is_int(c->nevents, 2, "two events");
	up = conf_event(c, "Booking.Created");
	low = conf_event(c, "booking.created");
	ok(up != NULL && low != NULL && up != low, "each found by its name");
	if (up != NULL && low != NULL) {
		is_str(up->handler, "/bin/upper", "Booking.Created: its handler");
		is_int(up->mode, MODE_SYNC, "Booking.Created: mode sync");
		is_int(up->timeout, 5, "Booking.Created: timeout 5s");
		is_int(up->has_required, 1, "Booking.Created: its required");
		is_int(up->retries, -1, "Booking.Created: [delivery] retries");
		is_str(low->handler, "/bin/lower", "booking.created: its handler");
		is_int(low->mode, MODE_QUEUE, "booking.created: mode queue");
		is_int(low->timeout, 0, "booking.created: no timeout of its own");
		is_int(low->has_required, 0, "booking.created: no required");
		is_int(low->retries, 3, "booking.created: retries 3");
	}
	ok(conf_event(c, "BOOKING.CREATED") == NULL,
	    "BOOKING.CREATED is neither");
	conf_free(c);
	refused(BASE "[event Booking.Created]\nmode = later\n",
	    at_line(7, "[event Booking.Created] mode: 'later'"),
	    "an event's error names it as written");
	refused(BASE "[event A]\nhandler = /a\n[event a]\nhandler = /b\n"
	    "handler = /c\n", at_line(10, "[event a] handler is set again "
	    "(first on line 9)"), "a key twice in one of them is an error");
	diag_free(&d);
}

/* The text of a file of the source tree, or NULL. */
static char *
slurp_src(const char *rel)
{
	const char	*top = getenv("abs_top_srcdir");
	char		 path[1024], *text;
	FILE		*f;
	long		 n;

	(void)snprintf(path, sizeof(path), "%s/%s", top != NULL ? top : "..",
	    rel);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 || (text = calloc(1, (size_t)n + 1)) ==
	    NULL) {
		(void)fclose(f);
		return NULL;
	}
	if (fread(text, 1, (size_t)n, f) != (size_t)n)
		text[0] = '\0';
	(void)fclose(f);
	return text;
}

/* The line ".It Cm KEY No = ..." of the ".Ss [SECTION]" of the page,
 * NUL-terminated in line[], or NULL. */
static const char *
man_entry(const char *man, const char *section, const char *key,
    char *line, size_t len)
{
	char		 want[128];
	const char	*b, *e, *it;

	(void)snprintf(want, sizeof(want), "\n.Ss [%s]\n", section);
	if ((b = strstr(man, want)) == NULL)
		return NULL;
	b += strlen(want);
	if ((e = strstr(b, "\n.Ss ")) == NULL)
		e = b + strlen(b);
	(void)snprintf(want, sizeof(want), "\n.It Cm %s No = ", key);
	if ((it = strstr(b - 1, want)) == NULL || it >= e)
		return NULL;
	it++;
	(void)snprintf(line, len, "%.*s", (int)strcspn(it, "\n"), it);
	return line;
}

/* 1 when the words "w1 w2" stand in the line, as words. */
static int
has_words(const char *line, const char *w1, const char *w2)
{
	char		 want[128];
	const char	*p;
	size_t		 n;

	n = (size_t)snprintf(want, sizeof(want), " %s %s", w1, w2);
	for (p = line; (p = strstr(p, want)) != NULL; p += n)
		if (p[n] == '\0' || p[n] == ' ')
			return 1;
	return 0;
}

/* Every row of the key table (the one conf_load walks) is documented in
 * hookpipe.ini(5), in its section, with its type or its values. */
static void
test_keys_documented(void)
{
	struct conf_keydoc	 kd;
	char			*man, line[512];
	size_t			 n, i, bad = 0;
	int			 typed;

	if ((man = slurp_src("man/hookpipe.ini.5")) == NULL) {
		ok(0, "man/hookpipe.ini.5 is readable (abs_top_srcdir)");
		return;
	}
	for (n = 0; conf_key_doc(n, &kd) == 0; n++) {
		if (man_entry(man, kd.section, kd.key, line, sizeof(line)) ==
		    NULL) {
			ok(0, "[%s] %s is documented in hookpipe.ini(5)",
			    kd.section, kd.key);
			bad++;
			continue;
		}
		typed = 1;
		/* "Cm full | process", "Ar size" */
		if (kd.values != NULL) {
			typed = has_words(line, "Cm", kd.values[0]);
			for (i = 1; kd.values[i] != NULL; i++)
				typed &= has_words(line, "|", kd.values[i]);
		} else if (strcmp(kd.type, "rate") != 0)	/* Ar N Ns Cm /s */
			typed = has_words(line, "Ar", kd.type);
		if (!typed) {
			ok(0, "[%s] %s: the page says its type %s: %s",
			    kd.section, kd.key, kd.type, line);
			bad++;
		}
		ok(kd.doc != NULL && *kd.doc != '\0' && strchr(kd.doc, '\n') ==
		    NULL, "[%s] %s has one line of doc", kd.section, kd.key);
	}
	ok(n >= 47, "the key table has its %zu rows", n);
	is_int(bad, 0, "every row documented with its type in hookpipe.ini(5)");
	free(man);
}

static void
set_mtime(const char *path, time_t t)
{
	struct timespec ts[2];

	ts[0].tv_sec = ts[1].tv_sec = t;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, path, ts, 0) == -1)
		printf("# utimensat %s failed\n", path);
}

/* [endpoint NAME]: own verification and fields, the default's limits,
 * its handlers under handlers_dir/NAME unless set. */
static void
test_endpoints(void)
{
	struct diag		 d = { { NULL, 0, 0, 0 }, 0, 0 };
	const struct endpoint	*ep;
	struct conf		*c;
	char			 want[600];

	put("tokens", TOKEN "\n", 0600);
	put("gh.secret", "a-github-secret-of-some-length\n", 0600);
	c = load("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "max_body = 64K\n[auth]\ntoken_file = tokens\n"
	    "allow_from = 192.0.2.0/24\nrate_limit = 120/m\n"
	    "[endpoint github]\nverify = github\nsecret_file = gh.secret\n"
	    "[endpoint res-harmonics]\ntoken_file = tokens\n"
	    "handlers_dir = /srv/rh\nmax_body = 2M\nallow_from = 10.0.0.0/8\n"
	    "event_field = meta.type\nrate_limit = 0/s\n", &d);
	ok(c != NULL, "endpoints: loads");
	if (c == NULL) {
		printf("#   %s", buf_cstr(&d.text));
		diag_free(&d);
		return;
	}
	is_int(c->nep, 3, "default + 2 endpoints");
	ok(conf_endpoint_path(c, "") == &c->ep[0], "PATH_INFO empty: default");
	ok(conf_endpoint_path(c, NULL) == &c->ep[0], "no PATH_INFO: default");
	ok(conf_endpoint_path(c, "/") == &c->ep[0], "PATH_INFO /: default");
	ep = conf_endpoint_path(c, "/github");
	ok(ep != NULL && ep == &c->ep[1], "/github: [endpoint github]");
	ok(conf_endpoint_path(c, "/github/") == ep, "/github/: the same");
	ok(conf_endpoint_path(c, "/GitHub") == NULL, "names are exact");
	ok(conf_endpoint_path(c, "/github/x") == NULL, "/github/x: none");
	ok(conf_endpoint_path(c, "/..") == NULL, "/..: none");
	ok(conf_endpoint_path(c, "/nope") == NULL, "unknown: none");
	ok(conf_endpoint_path(c, "github") == NULL, "no leading /: none");
	if (ep != NULL) {
		is_int(ep->verify.scheme, VERIFY_GITHUB, "github: scheme");
		is_str(ep->event_param, "HTTP_X_GITHUB_EVENT",
		    "github: event from X-GitHub-Event");
		is_int(ep->max_body, 64 * 1024, "github: default's max_body");
		is_int(ep->allow_from.n, 1, "github: default's allow_from");
		ok(ep->rate > 1.99 && ep->rate < 2.01,
		    "github: default's rate_limit 120/m = 2/s");
		is_int((long)ep->burst, 2, "github: burst one second's worth");
		(void)snprintf(want, sizeof(want), "%s/handlers/github", tdir);
		is_str(ep->handlers_dir, want,
		    "github: handlers in handlers_dir/github");
	}
	ep = conf_endpoint(c, "res-harmonics");
	ok(ep != NULL, "conf_endpoint by name");
	if (ep != NULL) {
		is_int(ep->verify.scheme, VERIFY_TOKEN, "rh: token");
		is_int(ep->tokens.n, 1, "rh: its token");
		is_str(ep->handlers_dir, "/srv/rh", "rh: own handlers_dir");
		is_int(ep->max_body, 2 * 1024 * 1024, "rh: own max_body");
		ok(ep->allow_from.n == 1 && cidr_list_match(&ep->allow_from,
		    "10.1.2.3") && !cidr_list_match(&ep->allow_from,
		    "192.0.2.1"), "rh: own allow_from replaces the default's");
		is_str(ep->event_field, "meta.type", "rh: own event_field");
		ok(ep->rate == 0, "rh: rate_limit 0/s turns it off");
	}
	conf_free(c);

	/* Without [auth], the default endpoint is off. */
	c = load("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n"
	    "[endpoint a]\ntoken_file = tokens\n", &d);
	ok(c != NULL, "endpoints only: loads");
	ok(c != NULL && conf_endpoint_path(c, "") == NULL,
	    "endpoints only: no default endpoint");
	ok(c != NULL && conf_endpoint_path(c, "/a") != NULL,
	    "endpoints only: /a");
	conf_free(c);

	refused(BASE "[endpoint]\n", at_line(6, "[endpoint] needs a name"),
	    "[endpoint] without a name");
	refused(BASE "[endpoint a/b]\ntoken_file = tokens\n",
	    at_line(6, "[endpoint a/b]: an endpoint name is"), "[endpoint a/b]");
	refused(BASE "[endpoint x]\ntoken_file = tokens\nspool_dir = s\n",
	    at_line(8, "unknown key 'spool_dir' in [endpoint x]"),
	    "spool_dir is global");
	refused(BASE "[endpoint x]\nmax_body = 10\n",
	    at_line(6, "[endpoint x] token_file is not set"),
	    "an endpoint needs its own secret");
	refused(BASE "[endpoint x]\ntoken_file = tokens\nrate_limit = 5/d\n",
	    at_line(8, "[endpoint x] rate_limit: '5/d' is not a rate"), "rate_limit unit");
	refused(BASE "rate_burst = 3\n", at_line(6, "[auth] rate_burst: needs rate_limit"),
	    "rate_burst alone");
	diag_free(&d);
}

/* preset = NAME: every preset hookpipe.ini(5) lists loads, with its
 * keys; written keys win; [auth]'s gives the default endpoint's fields;
 * an unknown one is one error naming the presets. */
static void
test_presets(void)
{
	static const struct {
		const char	*name;
		int		 scheme;
		const char	*event, *id;	/* event_field, id_field */
		const char	*param;		/* verify.param, or NULL */
	} want[] = {
		{ "harmonics", VERIFY_TOKEN, "event", "id", NULL },
		{ "standard-webhooks", VERIFY_STDWH, "type",
		  "header:webhook-id", NULL },
		{ "svix", VERIFY_SVIX, "type", "header:svix-id", NULL },
		{ "github", VERIFY_GITHUB, "header:X-GitHub-Event",
		  "header:X-GitHub-Delivery", NULL },
		{ "stripe", VERIFY_STRIPE, "type", "id", NULL },
		{ "shopify", VERIFY_SHOPIFY, "header:X-Shopify-Topic",
		  "header:X-Shopify-Webhook-Id", NULL },
		{ "slack", VERIFY_SLACK, "event.type", "event_id", NULL },
		{ "twilio", VERIFY_TWILIO, "EventType",
		  "header:I-Twilio-Idempotency-Token", NULL },
		{ "gitlab", VERIFY_GITLAB, "object_kind",
		  "header:X-Gitlab-Event-UUID", NULL },
		{ "paddle", VERIFY_PADDLE, "event_type", "event_id", NULL },
		{ "zoom", VERIFY_ZOOM, "event", "id", NULL },
		{ "meta", VERIFY_META, "object", "id", NULL },
		{ "mailgun", VERIFY_MAILGUN, "event-data.event",
		  "event-data.id", NULL },
		{ "woocommerce", VERIFY_HMAC, "header:X-WC-Webhook-Topic",
		  "header:X-WC-Webhook-Delivery-ID",
		  "HTTP_X_WC_WEBHOOK_SIGNATURE" },
		{ "typeform", VERIFY_HMAC, "event_type", "event_id",
		  "HTTP_TYPEFORM_SIGNATURE" },
		{ "gitea", VERIFY_HMAC, "header:X-Gitea-Event",
		  "header:X-Gitea-Delivery", "HTTP_X_GITEA_SIGNATURE" },
	};
	struct diag		 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf_keydoc	 kd;
	const struct endpoint	*ep;
	struct conf		*c;
	char			 text[600];
	const char *const	*names = NULL;
	size_t			 n, i, j;

	/* whsec_ and base64, as Standard Webhooks and Svix want; any text
	 * for the others. */
	put("p.secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", 0600);
	for (n = 0; conf_key_doc(n, &kd) == 0; n++)
		if (strcmp(kd.key, "preset") == 0)
			names = kd.values;
	ok(names != NULL, "preset is a key of the table, with its values");
	for (i = 0; names != NULL && names[i] != NULL; i++) {
		for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
			if (strcmp(want[j].name, names[i]) == 0)
				break;
		if (j == sizeof(want) / sizeof(want[0])) {
			ok(0, "preset %s: the test knows it", names[i]);
			continue;
		}
		(void)snprintf(text, sizeof(text), BASE "[endpoint e]\n"
		    "preset = %s\n%s = %s\n%s", names[i],
		    want[j].scheme == VERIFY_TOKEN ? "token_file" :
		    "secret_file", want[j].scheme == VERIFY_TOKEN ? "tokens" :
		    "p.secret", want[j].scheme == VERIFY_TWILIO ?
		    "public_url = https://example.com/hooks/e\n" : "");
		c = load(text, &d);
		ok(c != NULL, "preset %s: loads", names[i]);
		if (c == NULL) {
			printf("#   %s", buf_cstr(&d.text));
			continue;
		}
		ep = conf_endpoint(c, "e");
		is_int(ep->verify.scheme, want[j].scheme, "preset %s: verify",
		    names[i]);
		is_str(ep->event_field, want[j].event, "preset %s: event_field",
		    names[i]);
		is_str(ep->id_field, want[j].id, "preset %s: id_field",
		    names[i]);
		if (want[j].param != NULL)
			is_str(ep->verify.param, want[j].param,
			    "preset %s: signature_header", names[i]);
		conf_free(c);
	}
	is_int(i, sizeof(want) / sizeof(want[0]), "every preset is listed");

	c = load(BASE "[endpoint e]\npreset = typeform\nsecret_file = "
	    "p.secret\nevent_field = form_response.form_id\n"
	    "signature_header = X-Sig\nprefix =\n", &d);
	ok(c != NULL, "preset and written keys: loads");
	if (c != NULL) {
		ep = conf_endpoint(c, "e");
		is_str(ep->event_field, "form_response.form_id",
		    "a written event_field wins over the preset's");
		is_str(ep->verify.param, "HTTP_X_SIG",
		    "a written signature_header wins over the preset's");
		ok(ep->verify.prefix == NULL,
		    "an empty written prefix wins over the preset's sha256=");
		is_int(ep->verify.enc, VERIFY_BASE64,
		    "an unwritten key is still the preset's (encoding)");
		is_str(ep->id_field, "event_id", "and id_field");
	}
	conf_free(c);

	c = load("[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "[auth]\npreset = stripe\nsecret_file = p.secret\n"
	    "[endpoint a]\ntoken_file = tokens\n", &d);
	ok(c != NULL, "preset in [auth]: loads");
	if (c != NULL) {
		is_int(c->ep[0].verify.scheme, VERIFY_STRIPE,
		    "[auth] preset: the default endpoint's verify");
		is_str(c->ep[0].event_field, "type",
		    "[auth] preset: the default endpoint's event_field");
		ep = conf_endpoint(c, "a");
		is_int(ep->verify.scheme, VERIFY_TOKEN,
		    "[auth] preset: not an endpoint's verify");
		is_str(ep->event_field, "event",
		    "[auth] preset: not an endpoint's event_field");
	}
	conf_free(c);
	c = load("[auth]\npreset = stripe\nsecret_file = p.secret\n"
	    "[hookpipe]\nspool_dir = spool\nhandlers_dir = handlers\n"
	    "event_field = kind\n", &d);
	ok(c != NULL && strcmp(c->ep[0].event_field, "kind") == 0,
	    "[auth] preset: [hookpipe]'s written event_field wins");
	conf_free(c);

	refused(BASE "[endpoint e]\npreset = Stripe\nsecret_file = "
	    "p.secret\n", at_line(7, "[endpoint e] preset: 'Stripe' is no "
	    "preset: write harmonics, standard-webhooks, svix, github, "
	    "stripe, "), "an unknown preset: one error, its line, the names");
	refused(BASE "[endpoint e]\npreset = nope\ntoken_file = tokens\n",
	    "or gitea (or leave preset", "the names end the list");
	refused(BASE_H "preset = github\n",
	    at_line(6, "unknown key 'preset' in [hookpipe]"),
	    "preset is not a [hookpipe] key");
	c = load(BASE "[endpoint e]\npreset = woocommerce\nverify = github\n"
	    "secret_file = p.secret\n", &d);
	ok(c == NULL && has(&d, at_line(7, "[endpoint e] algorithm (set by "
	    "preset = woocommerce): applies to verify = hmac only")),
	    "a preset's key the written verify does not take: named, at the "
	    "preset's line");
	conf_free(c);
	refused(BASE "[endpoint e]\npreset = twilio\nsecret_file = "
	    "p.secret\n", at_line(6, "[endpoint e] verify = twilio needs "
	    "public_url"), "a key the preset's scheme needs is still needed");
	(void)unlink(at("p.secret"));
	diag_free(&d);
}

/* token = env:NAME, secret = env:NAME: from the process environment. */
static void
test_env_secrets(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;

	(void)setenv("HP_TEST_TOKEN", TOKEN, 1);
	put("t.ini", "[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = env:HP_TEST_TOKEN\n", 0644);
	diag_free(&d);
	c = conf_load(ini, &d);
	ok(c != NULL, "token = env:NAME in a world-readable INI loads");
	is_str(c != NULL && c->ep[0].tokens.n == 1 ? c->ep[0].tokens.v[0].p :
	    NULL, TOKEN, "token = env:NAME: the variable's value");
	conf_free(c);
	(void)unsetenv("HP_TEST_TOKEN");
	refused("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = env:HP_TEST_TOKEN\n", at_line(5, "[auth] token: the "
	    "environment variable HP_TEST_TOKEN is not set"), "env: variable unset");
	refused("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "token = env:9x\n", at_line(5, "[auth] token: 'env:9x' does not name an"),
	    "env: bad name");
	(void)setenv("HP_TEST_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
	    1);
	c = load("[hookpipe]\nspool_dir = s\nhandlers_dir = h\n[auth]\n"
	    "verify = standard-webhooks\nsecret = env:HP_TEST_SECRET\n", &d);
	ok(c != NULL && c->ep[0].verify.secrets.n == 1,
	    "secret = env:NAME (standard-webhooks)");
	conf_free(c);
	(void)unsetenv("HP_TEST_SECRET");
	diag_free(&d);
}

/* [delivery] rlimit_*, [hookpipe] durability, max_depth, max_headers. */
static void
test_limits(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;

	put("tokens", TOKEN "\n", 0600);
	c = load(BASE_H "durability = process\nmax_depth = 8\nmax_headers = 20\n"
	    "[delivery]\nrlimit_as = 256M\nrlimit_cpu = 2m\n"
	    "rlimit_nofile = 64\n", &d);
	ok(c != NULL, "limits: loads");
	if (c != NULL) {
		is_int(c->durability, DURABLE_PROCESS, "durability = process");
		is_int(c->ep[0].max_depth, 8, "max_depth 8");
		is_int(c->ep[0].max_headers, 20, "max_headers 20");
		is_int(c->rlimit_as, 256L * 1024 * 1024, "rlimit_as 256M");
		is_int(c->rlimit_cpu, 120, "rlimit_cpu 2m");
		is_int(c->rlimit_nofile, 64, "rlimit_nofile 64");
	}
	conf_free(c);
	c = load(BASE, &d);
	ok(c != NULL && c->durability == DURABLE_FULL && c->rlimit_as == 0 &&
	    c->ep[0].max_depth == 32, "defaults: full, no rlimits, depth 32");
	conf_free(c);
	refused(BASE_H "durability = none\n", at_line(6, "[hookpipe] durability: "
	    "'none': write full"),
	    "durability value");
	refused(BASE_H "max_depth = 33\n", at_line(6, "[hookpipe] max_depth: "
	    "'33' is not a whole number from 1 to 32"),
	    "max_depth above 32");
	refused(BASE "[delivery]\nrlimit_as = 10K\n",
	    at_line(7, "[delivery] rlimit_as: '10K' is not a size of at least "
	    "1M"), "rlimit_as too small");
	diag_free(&d);
}

static void
test_stale(void)
{
	struct diag	 d = { { NULL, 0, 0, 0 }, 0, 0 };
	struct conf	*c;
	char		 path[512];

	c = load(BASE, &d);
	ok(c != NULL, "stale: loads");
	if (c == NULL)
		return;
	(void)snprintf(path, sizeof(path), "%s", ini);
	is_int(conf_stale(c), 0, "stale: 0 right after the load");
	is_int(conf_stale(c), 0, "stale: still 0");
	put("t.ini", BASE "; changed\n", 0600);
	set_mtime(path, time(NULL) + 100);
	is_int(conf_stale(c), 1, "stale: 1 after rewriting the INI");
	conf_free(c);

	c = load(BASE, &d);
	set_mtime(path, 1000000000);
	conf_free(c);
	c = conf_load(path, &d);
	ok(c != NULL, "stale: reloaded");
	if (c == NULL)
		return;
	is_int(conf_stale(c), 0, "stale: 0 after the reload");
	put("t.ini", BASE, 0600);	/* same bytes, new mtime */
	set_mtime(path, 1000000001);
	is_int(conf_stale(c), 1, "stale: 1 after same-size rewrite, new mtime");
	conf_free(c);

	c = conf_load(path, &d);
	ok(c != NULL, "stale: reloaded again");
	if (c == NULL)
		return;
	is_int(conf_stale(c), 0, "stale: 0 again");
	set_mtime(at("tokens"), time(NULL) + 200);
	is_int(conf_stale(c), 1, "stale: 1 after touching the token file");
	conf_free(c);
	diag_free(&d);
}

int
main(void)
{
	if (mkdtemp(tdir) == NULL) {
		ok(0, "mkdtemp");
		return tap_done();
	}
	put("tokens", "# test token\n" TOKEN "\n", 0600);
	if (mkdir(at("handlers"), 0755) == -1)
		printf("# mkdir handlers failed\n");

	test_minimal();
	test_values();
	test_errors();
	test_token_permissions();
	test_not_regular();
	test_colon_sections();
	test_comment_continuation();
	test_relative_ini();
	test_stale();
	test_endpoints();
	test_presets();
	test_env_secrets();
	test_limits();
	test_event_case();
	test_keys_documented();

	(void)unlink(at("t.ini"));
	(void)unlink(at("tokens"));
	(void)unlink(at("gh.secret"));
	(void)rmdir(at("handlers"));
	if (rmdir(tdir) == -1)
		printf("# could not remove %s\n", tdir);
	return tap_done();
}
