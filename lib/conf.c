/* conf: load hookpipe.ini with iniparser and validate it. iniparser
 * neither reports line numbers nor rejects unknown keys, so a small
 * scanner reads the file's structure first; values come from iniparser,
 * always as "section:key" and always checked for NULL (CVE-2023-33461). */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_INIPARSER_SUBDIR
#include <iniparser/iniparser.h>
#else
#include <iniparser.h>
#endif

#include "conf.h"
#include "crypto.h"
#include "dlog.h"
#include "payload.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

#define CONF_FILE_MAX	(1024 * 1024)
#define LINE_MAX_LEN	1000	/* iniparser refuses lines over 1024 */

/* One line of structure: a section header or a key. */
struct item {
	char	*sect;		/* lowercased, as iniparser stores it */
	char	*key;		/* lowercased; NULL for a section header */
	char	*orig;		/* the section name or key as written */
	int	 line;
};

struct scan {
	struct item	*v;
	size_t		 n;
};

/* [hookpipe] keys beyond those an endpoint has too. */
static const char *const global_keys[] = {
	"spool_dir", "log_file", "durability", NULL
};
/* The request side of an endpoint: in [hookpipe] or [endpoint NAME]. */
static const char *const field_keys[] = {
	"handlers_dir", "max_body", "max_depth", "max_headers",
	"require_https", "event_field", "id_field", "required",
	"unknown_events", NULL
};
/* Verification and source rules: in [auth] or [endpoint NAME]. */
static const char *const auth_keys[] = {
	"header", "token_file", "token", "allow_from", "insecure_permissions",
	"verify", "secret_file", "secret", "tolerance", "signature_header",
	"algorithm", "encoding", "prefix", "trusted_proxies", "rate_limit",
	"rate_burst", NULL
};
static const char *const delivery_keys[] = {
	"timeout", "kill_grace", "runner", "path", "retries", "backoff",
	"concurrency", "keep", "rlimit_as", "rlimit_cpu", "rlimit_nofile",
	NULL
};
static const char *const event_keys[] = {
	"handler", "required", "mode", "timeout", "sync_output", "retries",
	"backoff", "serialize", NULL
};

static void
diag_add(struct diag *d, int warn, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
diag_add(struct diag *d, int warn, const char *file, int line,
    const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		buf_printf(&d->text, "%s:%d: %s%s\n", file, line,
		    warn ? "warning: " : "", msg);
	else
		buf_printf(&d->text, "%s: %s%s\n", file,
		    warn ? "warning: " : "", msg);
	if (warn)
		d->nwarn++;
	else
		d->nerr++;
}

void
diag_free(struct diag *d)
{
	buf_free(&d->text);
	d->nerr = d->nwarn = 0;
}

/*
 * What a path is when a regular file was expected. Every file the
 * configuration names (the INI, token_file, secret_file, log_file) must
 * be one (log_file may also be /dev/null): a FIFO would hang whoever
 * opens it, a device is no place for secrets or a log. Symbolic links
 * are followed, on purpose (no O_NOFOLLOW): operators link their
 * configuration into place, and Kubernetes mounts secrets as links into
 * a folder of the current version.
 */
static const char *
file_kind(mode_t m)
{
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISDIR(m))
		return "a folder";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a file";
}

static char *
lower_dup(const char *s, size_t n)
{
	char	*p;
	size_t	 i;

	if ((p = strndup(s, n)) == NULL)
		return NULL;
	for (i = 0; p[i] != '\0'; i++)
		p[i] = (char)tolower((unsigned char)p[i]);
	return p;
}

static void
scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].sect);
		free(s->v[i].key);
		free(s->v[i].orig);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int
scan_push(struct scan *s, const char *sect, const char *key, size_t keylen,
    const char *orig, size_t origlen, int line)
{
	struct item *nv;

	if ((nv = reallocarray(s->v, s->n + 1, sizeof(*s->v))) == NULL)
		return -1;
	s->v = nv;
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n].line = line;
	if ((s->v[s->n].sect = strdup(sect)) == NULL)
		return -1;
	s->n++;
	if (key != NULL &&
	    (s->v[s->n - 1].key = lower_dup(key, keylen)) == NULL)
		return -1;
	if ((s->v[s->n - 1].orig = strndup(orig, origlen)) == NULL)
		return -1;
	return 0;
}

/* Read the structure: which sections and keys stand on which line. */
static int
scan_file(const char *path, const char *text, struct scan *s, struct diag *d)
{
	const char	*p, *nl, *next, *b, *e, *eq, *k;
	char		*sect = NULL;
	int		 line = 0, cont = 0, bad = 0;

	for (p = text; *p != '\0'; p = next) {
		line++;
		nl = strchr(p, '\n');
		next = nl ? nl + 1 : p + strlen(p);
		b = p;
		e = nl ? nl : next;
		if ((size_t)(e - b) > LINE_MAX_LEN) {
			diag_add(d, 0, path, line, "line longer than %d bytes",
			    LINE_MAX_LEN);
			bad = 1;
			continue;
		}
		while (b < e && isspace((unsigned char)*b))
			b++;
		while (e > b && isspace((unsigned char)e[-1]))
			e--;
		if (cont) {	/* continuation of the previous value */
			cont = e > b && e[-1] == '\\';
			continue;
		}
		if (b == e)
			continue;
		if (*b == ';' || *b == '#') {
			/* iniparser would join the next line into the comment
			 * and the key there would vanish without a word. */
			if (e[-1] == '\\') {
				diag_add(d, 0, path, line, "a comment ends in "
				    "'\\': the next line would be swallowed; "
				    "remove the backslash");
				bad = 1;
			}
			continue;
		}
		if (*b == '[') {
			if (e[-1] != ']' || e - b < 3) {
				diag_add(d, 0, path, line, "malformed section "
				    "header: write [name]");
				bad = 1;
				continue;
			}
			b++, e--;
			while (b < e && isspace((unsigned char)*b))
				b++;
			while (e > b && isspace((unsigned char)e[-1]))
				e--;
			free(sect);
			if ((sect = lower_dup(b, (size_t)(e - b))) == NULL ||
			    scan_push(s, sect, NULL, 0, b, (size_t)(e - b),
			    line) == -1)
				goto oom;
			continue;
		}
		cont = e[-1] == '\\';
		if ((eq = memchr(b, '=', (size_t)(e - b))) == NULL) {
			diag_add(d, 0, path, line, "expected 'key = value'");
			bad = 1;
			continue;
		}
		k = eq;
		while (k > b && isspace((unsigned char)k[-1]))
			k--;
		if (k == b) {
			diag_add(d, 0, path, line, "missing key before '='");
			bad = 1;
			continue;
		}
		if (sect == NULL) {
			diag_add(d, 0, path, line, "key '%.*s' outside a "
			    "section: put it under [hookpipe], [auth], "
			    "[delivery], [env], [event NAME] or [endpoint NAME]",
			    (int)(k - b), b);
			bad = 1;
			continue;
		}
		if (scan_push(s, sect, b, (size_t)(k - b), b, (size_t)(k - b),
		    line) == -1)
			goto oom;
	}
	free(sect);
	return bad ? -1 : 0;
oom:
	free(sect);
	diag_add(d, 0, path, 0, "out of memory");
	return -1;
}

static int
in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return 1;
	return 0;
}

static int
env_name_ok(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]) && s[0] != '_')
		return 0;
	for (i = 1; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int
is_endpoint_sect(const char *sect)
{
	return strncmp(sect, "endpoint", 8) == 0 &&
	    isspace((unsigned char)sect[8]);
}

/* 1 when NAME can be the last part of a URL path: A-Z a-z 0-9 . _ -,
 * starting with a letter or digit, at most CONF_ENDPOINT_MAX. */
static int
endpoint_name_ok(const char *s)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return 0;
	return i <= CONF_ENDPOINT_MAX;
}

/* The line of a key (or of the section when key is NULL), 0 if absent. */
static int
line_of(const struct scan *s, const char *sect, const char *key)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].sect, sect) != 0)
			continue;
		if (key == NULL ? s->v[i].key == NULL :
		    s->v[i].key != NULL && strcmp(s->v[i].key, key) == 0)
			return s->v[i].line;
	}
	return 0;
}

/* A section name after its kind ("event", "endpoint") and blanks. */
static const char *
sect_arg(const char *orig, size_t kind)
{
	orig += kind;
	while (isspace((unsigned char)*orig))
		orig++;
	return orig;
}

/* Check the structure against the known sections and keys. */
static void
check_structure(const char *path, const struct scan *s, struct diag *d)
{
	const struct item	*it;
	const char *const	*keys, *const *keys2;
	size_t			 i, j;

	for (i = 0; i < s->n; i++) {
		it = &s->v[i];
		for (j = 0; j < i; j++) {
			if (strcmp(s->v[j].sect, it->sect) != 0)
				continue;
			if (it->key == NULL && s->v[j].key == NULL) {
				diag_add(d, 0, path, it->line, "section [%s] "
				    "appears again (first on line %d; names "
				    "are case-insensitive): merge them",
				    it->orig, s->v[j].line);
				break;
			}
			if (it->key != NULL && s->v[j].key != NULL &&
			    strcmp(s->v[j].key, it->key) == 0) {
				diag_add(d, 0, path, it->line, "[%s] %s is "
				    "set again (first on line %d): keep one",
				    it->sect, it->orig, s->v[j].line);
				break;
			}
		}
		keys2 = NULL;
		if (strcmp(it->sect, "hookpipe") == 0) {
			keys = global_keys;
			keys2 = field_keys;
		} else if (strcmp(it->sect, "auth") == 0)
			keys = auth_keys;
		else if (strcmp(it->sect, "delivery") == 0)
			keys = delivery_keys;
		else if (strncmp(it->sect, "event", 5) == 0 &&
		    isspace((unsigned char)it->sect[5]))
			keys = event_keys;
		else if (is_endpoint_sect(it->sect)) {
			keys = field_keys;
			keys2 = auth_keys;
		} else if (strcmp(it->sect, "env") == 0) {
			if (it->key != NULL && (!env_name_ok(it->orig) ||
			    strncmp(it->orig, "HOOKPIPE_", 9) == 0 ||
			    strcmp(it->orig, "PATH") == 0))
				diag_add(d, 0, path, it->line, "[env] %s: not "
				    "a usable variable name (letters, digits, "
				    "_; not PATH, which is [delivery] path, "
				    "nor HOOKPIPE_*)", it->orig);
			continue;
		} else {
			if (it->key != NULL)
				continue;
			if (strcmp(it->sect, "event") == 0)
				diag_add(d, 0, path, it->line, "[event] needs "
				    "a name: [event booking.updated]");
			else if (strcmp(it->sect, "endpoint") == 0)
				diag_add(d, 0, path, it->line, "[endpoint] "
				    "needs a name, the last part of its URL: "
				    "[endpoint github] for /hooks/github");
			else
				diag_add(d, 0, path, it->line, "unknown "
				    "section [%s]: known are [hookpipe], "
				    "[auth], [delivery], [env], [event NAME] "
				    "and [endpoint NAME]", it->orig);
			continue;
		}
		if (it->key == NULL) {
			if (keys == event_keys &&
			    !event_name_ok(sect_arg(it->orig, 5)))
				diag_add(d, 0, path, it->line, "[event %s]: an "
				    "event name is 1-128 of A-Z a-z 0-9 . _ - "
				    "and starts with a letter or digit",
				    sect_arg(it->orig, 5));
			if (keys2 == auth_keys &&
			    !endpoint_name_ok(sect_arg(it->orig, 8)))
				diag_add(d, 0, path, it->line, "[endpoint %s]: "
				    "an endpoint name is 1-%d of A-Z a-z 0-9 . "
				    "_ - and starts with a letter or digit",
				    sect_arg(it->orig, 8), CONF_ENDPOINT_MAX);
			continue;
		}
		if (!in_list(keys, it->key) &&
		    (keys2 == NULL || !in_list(keys2, it->key)))
			diag_add(d, 0, path, it->line, "unknown key '%s' in "
			    "[%s]: see hookpipe.ini(5) for the keys of this "
			    "section", it->orig, it->sect);
	}
}

struct loader {
	const char	*path;
	dictionary	*ini;
	struct scan	*scan;
	struct diag	*diag;
	char		 dir[PATH_MAX];	/* the config file's folder */
};

/* The value of sect:key or NULL when absent. */
static const char *
get(struct loader *l, const char *sect, const char *key)
{
	char	 full[512];
	int	 n;

	n = snprintf(full, sizeof(full), "%s:%s", sect, key);
	if (n < 0 || (size_t)n >= sizeof(full))
		return NULL;
	if (line_of(l->scan, sect, key) == 0)
		return NULL;	/* never ask iniparser for what is not a key */
	return iniparser_getstring(l->ini, full, NULL);
}

static void
bad(struct loader *l, const char *sect, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static void
bad(struct loader *l, const char *sect, const char *key, const char *fmt, ...)
{
	char	msg[900];
	va_list	ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(l->diag, 0, l->path, line_of(l->scan, sect, key),
	    "[%s] %s: %s", sect, key, msg);
}

/* A path value, made absolute against the config file's folder. */
static char *
get_path(struct loader *l, const char *sect, const char *key,
    const char *base)
{
	const char	*v = get(l, sect, key);
	char		*p;

	if (v == NULL || *v == '\0')
		return NULL;
	if (v[0] == '/')
		return strdup(v);
	if (asprintf(&p, "%s/%s", base ? base : l->dir, v) == -1)
		return NULL;
	return p;
}

static int
get_bool(struct loader *l, const char *sect, const char *key, int def)
{
	const char	*v = get(l, sect, key);
	int		 b;

	if (v == NULL)
		return def;
	if ((b = parse_bool(v)) == -1) {
		bad(l, sect, key, "'%s' is not a boolean: write yes or no", v);
		return def;
	}
	return b;
}

static long
get_duration(struct loader *l, const char *sect, const char *key, long def,
    long min, long max)
{
	const char	*v = get(l, sect, key);
	long		 t;

	if (v == NULL)
		return def;
	if (parse_duration(v, &t) == -1 || t < min || t > max) {
		bad(l, sect, key, "'%s' is not a duration from %lds to %lds "
		    "(write 30, 30s, 5m or 2h)", v, min, max);
		return def;
	}
	return t;
}

static void
get_required(struct loader *l, const char *sect, struct strlist *out,
    int *has)
{
	const char	*v = get(l, sect, "required");
	size_t		 i;

	if (has != NULL)
		*has = v != NULL;
	if (v == NULL)
		return;
	if (strlist_split(out, v) == -1) {
		bad(l, sect, "required", "out of memory");
		return;
	}
	for (i = 0; i < out->n; i++)
		if (!payload_path_ok(out->v[i]))
			bad(l, sect, "required", "'%s' is not a dotted JSON "
			    "path like data.booking_id", out->v[i]);
}

static long
get_int(struct loader *l, const char *sect, const char *key, long def,
    long min, long max)
{
	const char	*v = get(l, sect, key);
	char		*end;
	long		 n;

	if (v == NULL)
		return def;
	errno = 0;
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < min || n > max) {
		bad(l, sect, key, "'%s' is not a whole number from %ld to %ld",
		    v, min, max);
		return def;
	}
	return n;
}

/* A header as a source of the event name or id: "header:X-GitHub-Event". */
static void
header_field(struct loader *l, const char *sect, const char *key,
    const char *v, char *param, size_t len)
{
	if (auth_header_param(v + 7, param, len) == -1)
		bad(l, sect, key, "'%s' does not name a header (letters, "
		    "digits and -)", v);
}

/* event_field or id_field: a dotted JSON path or header:NAME. */
static char *
get_field(struct loader *l, const char *sect, const char *key,
    const char *def, char *param, size_t len)
{
	const char	*v = get(l, sect, key);
	char		*f;

	if ((f = strdup(v != NULL ? v : def)) == NULL)
		return NULL;
	if (strncmp(f, "header:", 7) == 0)
		header_field(l, sect, key, f, param, len);
	else if (!payload_path_ok(f))
		bad(l, sect, key, "'%s' is not a dotted JSON path like %s or "
		    "meta.%s, nor header:NAME", f, def, def);
	return f;
}

static void
load_global(struct loader *l, struct conf *c)
{
	struct stat	 st;
	const char	*v;

	c->spool_dir = get_path(l, "hookpipe", "spool_dir", NULL);
	if (c->spool_dir == NULL)
		diag_add(l->diag, 0, l->path, line_of(l->scan, "hookpipe",
		    NULL), "[hookpipe] spool_dir is not set: name the folder "
		    "where accepted events are stored");
	c->log_file = get_path(l, "hookpipe", "log_file", NULL);
	if (c->log_file == NULL && c->spool_dir != NULL &&
	    asprintf(&c->log_file, "%s/delivery.log", c->spool_dir) == -1)
		c->log_file = NULL;
	/* Missing is fine (it is created); dlog_open checks again. */
	if (c->log_file != NULL && stat(c->log_file, &st) == 0 &&
	    !dlog_target_ok(&st))
		bad(l, "hookpipe", "log_file", "%s is not a regular file (%s): "
		    "name a file to append to (or /dev/null for no log)",
		    c->log_file, file_kind(st.st_mode));
	c->durability = DURABLE_FULL;
	if ((v = get(l, "hookpipe", "durability")) != NULL) {
		if (strcmp(v, "process") == 0)
			c->durability = DURABLE_PROCESS;
		else if (strcmp(v, "full") != 0)
			bad(l, "hookpipe", "durability", "'%s': write full "
			    "(fsync before answering: survives power loss) or "
			    "process (no fsync: survives crashes only)", v);
	}
}

/* The request side of an endpoint: where its handlers are, its limits
 * and fields. sect holds the keys ([hookpipe] or [endpoint NAME]); an
 * endpoint starts from the default's limits (dflt). */
static void
load_fields(struct loader *l, struct endpoint *ep, const char *sect,
    const struct endpoint *dflt)
{
	const char	*v;

	ep->handlers_dir = get_path(l, sect, "handlers_dir", NULL);
	if (ep->handlers_dir == NULL && dflt != NULL &&
	    dflt->handlers_dir != NULL && asprintf(&ep->handlers_dir, "%s/%s",
	    dflt->handlers_dir, ep->name) == -1)
		ep->handlers_dir = NULL;
	if (ep->handlers_dir == NULL && dflt == NULL)
		diag_add(l->diag, 0, l->path, line_of(l->scan, sect, NULL),
		    "[%s] handlers_dir is not set: name the folder of handler "
		    "programs", sect);

	ep->max_body = dflt ? dflt->max_body : CONF_DEFAULT_MAX_BODY;
	if ((v = get(l, sect, "max_body")) != NULL &&
	    (parse_size(v, &ep->max_body) == -1 || ep->max_body == 0 ||
	    ep->max_body > 1024UL * 1024 * 1024))
		bad(l, sect, "max_body", "'%s' is not a size from 1 byte to 1G "
		    "(write 65536, 512K or 1M)", v);
	ep->max_depth = (int)get_int(l, sect, "max_depth", dflt ?
	    dflt->max_depth : PAYLOAD_MAX_DEPTH, 1, PAYLOAD_MAX_DEPTH);
	ep->max_headers = (int)get_int(l, sect, "max_headers", dflt ?
	    dflt->max_headers : CONF_DEFAULT_MAX_HEADERS, 8, 1000);
	ep->require_https = get_bool(l, sect, "require_https", dflt ?
	    dflt->require_https : 1);
	ep->event_field = get_field(l, sect, "event_field", "event",
	    ep->event_param, sizeof(ep->event_param));
	ep->id_field = get_field(l, sect, "id_field", "id", ep->id_param,
	    sizeof(ep->id_param));
	get_required(l, sect, &ep->required, NULL);

	ep->unknown_reject = dflt ? dflt->unknown_reject : 0;
	if ((v = get(l, sect, "unknown_events")) != NULL) {
		if (strcmp(v, "accept") == 0)
			ep->unknown_reject = 0;
		else if (strcmp(v, "reject") == 0)
			ep->unknown_reject = 1;
		else
			bad(l, sect, "unknown_events", "'%s': write accept "
			    "(store and log) or reject (answer 422)", v);
	}
}

/* The secret(s) of a scheme: from FILEKEY (a private file, one per line),
 * or INLINEKEY: "env:NAME" (the responder's environment) or the value
 * itself (only when the INI is private). */
static void
load_secrets(struct loader *l, struct endpoint *ep, const char *sect,
    const char *filekey, const char *inlinekey, struct tokens *out)
{
	struct err	 e;
	struct stat	 st;
	const char	*inl, *env;
	size_t		 i;

	ep->token_file = get_path(l, sect, filekey, NULL);
	inl = get(l, sect, inlinekey);
	if (ep->token_file != NULL && inl != NULL) {
		bad(l, sect, inlinekey, "set either %s or %s, not both",
		    inlinekey, filekey);
	} else if (ep->token_file != NULL) {
		if (stat(ep->token_file, &st) == -1)
			bad(l, sect, filekey, "%s: %s", ep->token_file,
			    strerror(errno));
		else if (!S_ISREG(st.st_mode))
			bad(l, sect, filekey, "%s is not a regular file (%s): "
			    "name a file holding the %s(s), one per line",
			    ep->token_file, file_kind(st.st_mode),
			    ep->verify.scheme == VERIFY_TOKEN ? "token" :
			    "secret");
		else {
			ep->token_mtime = st.st_mtim;
			if ((st.st_mode & S_IROTH) && !ep->insecure_permissions)
				bad(l, sect, filekey, "%s is readable "
				    "by others: chmod o-rwx %s (or set "
				    "insecure_permissions = yes)",
				    ep->token_file, ep->token_file);
			else if (tokens_load(ep->token_file, out, &e) == -1)
				bad(l, sect, filekey, "%s", e.msg);
		}
	} else if (inl != NULL && strncmp(inl, "env:", 4) == 0) {
		if (!env_name_ok(inl + 4))
			bad(l, sect, inlinekey, "'%s' does not name an "
			    "environment variable", inl);
		else if ((env = getenv(inl + 4)) == NULL || *env == '\0')
			bad(l, sect, inlinekey, "the environment variable %s is "
			    "not set for this process (set it where the web "
			    "server starts hookpipe: FcgidInitialEnv, "
			    "bin-environment, Environment=)", inl + 4);
		else if (tokens_parse(env, inl, out, &e) == -1)
			bad(l, sect, inlinekey, "%s", e.msg);
	} else if (inl != NULL) {
		if (stat(l->path, &st) == 0 && (st.st_mode & S_IROTH) &&
		    !ep->insecure_permissions)
			bad(l, sect, inlinekey, "%s holds a secret and is "
			    "readable by others: chmod o-rwx %s, or move it to "
			    "a private %s, or write env:NAME", l->path, l->path,
			    filekey);
		else if (tokens_parse(inl, inlinekey, out, &e) == -1)
			bad(l, sect, inlinekey, "%s", e.msg);
	} else
		diag_add(l->diag, 0, l->path, line_of(l->scan, sect, NULL),
		    "[%s] %s is not set: name a file holding the %s(s), one "
		    "per line (or %s = env:NAME)", sect, filekey,
		    ep->verify.scheme == VERIFY_TOKEN ? "shared token" :
		    "signing secret", inlinekey);
	for (i = 0; i < out->n; i++)
		if (out->v[i].n < 16)
			diag_add(l->diag, 1, l->path, line_of(l->scan, sect,
			    ep->token_file ? filekey : inlinekey),
			    "%s %zu is shorter than 16 characters: easy to "
			    "guess", ep->verify.scheme == VERIFY_TOKEN ?
			    "token" : "secret", i + 1);
}

/* rate_limit = N/s, N/m or N/h: per source address, a token bucket. */
static void
load_rate(struct loader *l, struct endpoint *ep, const char *sect,
    const struct endpoint *dflt)
{
	const char	*v = get(l, sect, "rate_limit");
	char		*end;
	double		 n, per = 0;

	ep->rate = dflt ? dflt->rate : 0;
	ep->burst = dflt ? dflt->burst : 0;
	if (v != NULL) {
		errno = 0;
		n = strtod(v, &end);
		if (strcmp(end, "/s") == 0)
			per = 1;
		else if (strcmp(end, "/m") == 0)
			per = 60;
		else if (strcmp(end, "/h") == 0)
			per = 3600;
		if (end == v || errno != 0 || per == 0 || !(n >= 0) ||
		    n > 1e6 || (*v < '0' || *v > '9')) {
			bad(l, sect, "rate_limit", "'%s' is not a rate: write "
			    "requests per source address as 10/s, 600/m or "
			    "1000/h (0/s: off)", v);
			return;
		}
		ep->rate = n / per;
		ep->burst = ep->rate > 1 ? ep->rate : 1;
	}
	if (ep->rate > 0)
		ep->burst = (double)get_int(l, sect, "rate_burst",
		    (long)ep->burst, 1, 1000000);
	else if (get(l, sect, "rate_burst") != NULL)
		bad(l, sect, "rate_burst", "needs rate_limit");
}

static void
load_auth(struct loader *l, struct endpoint *ep, const char *sect,
    const struct endpoint *dflt)
{
	struct verify	*vf = &ep->verify;
	struct err	 e;
	const char	*v;
	size_t		 badi = 0;
	int		 sch;

	v = get(l, sect, "header");
	ep->auth_header = strdup(v != NULL ? v : "x-auth-token");
	if (ep->auth_header != NULL && auth_header_param(ep->auth_header,
	    ep->auth_param, sizeof(ep->auth_param)) == -1)
		bad(l, sect, "header", "'%s' is not a header name (letters, "
		    "digits and -)", ep->auth_header);
	ep->insecure_permissions = get_bool(l, sect, "insecure_permissions",
	    dflt ? dflt->insecure_permissions : 0);

	vf->scheme = VERIFY_TOKEN;
	if ((v = get(l, sect, "verify")) != NULL) {
		if ((sch = verify_scheme_parse(v)) == -1)
			bad(l, sect, "verify", "'%s': write token, "
			    "standard-webhooks, github, stripe or hmac", v);
		else
			vf->scheme = (enum verify_scheme)sch;
	}
	vf->tolerance = get_duration(l, sect, "tolerance", 300, 1, 86400);
	vf->alg = VERIFY_SHA256;
	vf->enc = VERIFY_HEX;
	if ((v = get(l, sect, "algorithm")) != NULL) {
		if (strcmp(v, "sha512") == 0)
			vf->alg = VERIFY_SHA512;
		else if (strcmp(v, "sha256") != 0)
			bad(l, sect, "algorithm", "'%s': write sha256 or "
			    "sha512", v);
	}
	if ((v = get(l, sect, "encoding")) != NULL) {
		if (strcmp(v, "base64") == 0)
			vf->enc = VERIFY_BASE64;
		else if (strcmp(v, "hex") != 0)
			bad(l, sect, "encoding", "'%s': write hex or base64",
			    v);
	}
	if ((v = get(l, sect, "prefix")) != NULL && *v != '\0')
		vf->prefix = strdup(v);
	v = get(l, sect, "signature_header");
	if (vf->scheme == VERIFY_GITHUB) {
		v = v != NULL ? v : "X-Hub-Signature-256";
		if (vf->prefix == NULL)
			vf->prefix = strdup("sha256=");
	}
	if (v != NULL && auth_header_param(v, vf->param, sizeof(vf->param)) ==
	    -1)
		bad(l, sect, "signature_header", "'%s' is not a header name",
		    v);
	if (vf->scheme == VERIFY_HMAC && v == NULL)
		diag_add(l->diag, 0, l->path, line_of(l->scan, sect, NULL),
		    "[%s] verify = hmac needs signature_header: the header "
		    "that carries the signature", sect);

	/* Keys of another scheme would be ignored: say so instead. */
	if (vf->scheme != VERIFY_HMAC) {
		static const char *const hmac_only[] = {
			"algorithm", "encoding", NULL
		};
		const char *const *k;

		for (k = hmac_only; *k != NULL; k++)
			if (get(l, sect, *k) != NULL)
				bad(l, sect, *k, "applies to verify = hmac "
				    "only (%s fixes its own)",
				    verify_scheme_name(vf->scheme));
	}
	if (vf->scheme == VERIFY_STDWH || vf->scheme == VERIFY_STRIPE ||
	    vf->scheme == VERIFY_TOKEN) {
		if (get(l, sect, "signature_header") != NULL)
			bad(l, sect, "signature_header", "applies to verify "
			    "= hmac or github only");
		if (get(l, sect, "prefix") != NULL)
			bad(l, sect, "prefix", "applies to verify = hmac or "
			    "github only");
	}
	if (vf->scheme == VERIFY_TOKEN && (get(l, sect, "secret_file") !=
	    NULL || get(l, sect, "secret") != NULL))
		bad(l, sect, get(l, sect, "secret") ? "secret" :
		    "secret_file", "signing secrets need verify = "
		    "standard-webhooks, github, stripe or hmac; a shared "
		    "token goes in token_file");
	if (vf->scheme != VERIFY_TOKEN && (get(l, sect, "token_file") !=
	    NULL || get(l, sect, "token") != NULL))
		bad(l, sect, get(l, sect, "token") ? "token" :
		    "token_file", "verify = %s signs with secret_file (or "
		    "secret), not a token", verify_scheme_name(vf->scheme));

	if (vf->scheme == VERIFY_TOKEN)
		load_secrets(l, ep, sect, "token_file", "token", &ep->tokens);
	else {
		load_secrets(l, ep, sect, "secret_file", "secret", &vf->secrets);
		/* Loaded now, with the configuration, so that a missing
		 * libcrypto is a configuration error and no request waits
		 * for a dlopen. */
		if (crypto_load(&e) == -1)
			bad(l, sect, "verify", "%s", e.msg);
		else if (verify_decode_secrets(vf, &e) == -1)
			bad(l, sect, ep->token_file ? "secret_file" : "secret",
			    "%s", e.msg);
	}

	if ((v = get(l, sect, "trusted_proxies")) == NULL && dflt != NULL &&
	    cidr_list_copy(&dflt->trusted_proxies, &ep->trusted_proxies) == -1)
		bad(l, sect, "trusted_proxies", "out of memory");
	if (v != NULL && cidr_list_parse(v, &ep->trusted_proxies, &badi) == -1)
		bad(l, sect, "trusted_proxies", "item %zu is not an IPv4/IPv6 "
		    "address or CIDR range with zero host bits", badi + 1);
	if ((v = get(l, sect, "allow_from")) == NULL && dflt != NULL &&
	    cidr_list_copy(&dflt->allow_from, &ep->allow_from) == -1)
		bad(l, sect, "allow_from", "out of memory");
	if (v != NULL && cidr_list_parse(v, &ep->allow_from, &badi) == -1)
		bad(l, sect, "allow_from", "item %zu is not an IPv4/IPv6 "
		    "address or CIDR range with zero host bits (like "
		    "192.0.2.0/24 or 2001:db8::/32)", badi + 1);
	load_rate(l, ep, sect, dflt);
}

/* A backoff list: "10s, 1m, 5m"; NULL when absent. */
static long *
get_backoff(struct loader *l, const char *sect, size_t *n)
{
	struct strlist	 items;
	const char	*v = get(l, sect, "backoff");
	long		*out;
	size_t		 i;

	*n = 0;
	if (v == NULL)
		return NULL;
	if (strlist_split(&items, v) == -1)
		return NULL;
	if (items.n == 0 || (out = calloc(items.n, sizeof(*out))) == NULL) {
		bad(l, sect, "backoff", "write a list of durations like "
		    "10s, 1m, 5m, 30m, 2h");
		strlist_free(&items);
		return NULL;
	}
	for (i = 0; i < items.n; i++) {
		if (parse_duration(items.v[i], &out[i]) == -1 || out[i] < 1 ||
		    out[i] > 30 * 86400) {
			bad(l, sect, "backoff", "item %zu '%s' is not a duration "
			    "from 1s to 30d", i + 1, items.v[i]);
			free(out);
			strlist_free(&items);
			return NULL;
		}
	}
	*n = items.n;
	strlist_free(&items);
	return out;
}

static void
load_delivery(struct loader *l, struct conf *c)
{
	static const long defbackoff[] = CONF_DEFAULT_BACKOFF;
	const char *v;

	c->retries = (int)get_int(l, "delivery", "retries",
	    CONF_DEFAULT_RETRIES, 0, 1000);
	c->concurrency = (int)get_int(l, "delivery", "concurrency",
	    CONF_DEFAULT_CONCURRENCY, 1, 64);
	c->keep = get_duration(l, "delivery", "keep", CONF_DEFAULT_KEEP, 3600,
	    3650L * 86400);
	if ((c->backoff = get_backoff(l, "delivery", &c->nbackoff)) == NULL &&
	    (c->backoff = malloc(sizeof(defbackoff))) != NULL) {
		memcpy(c->backoff, defbackoff, sizeof(defbackoff));
		c->nbackoff = sizeof(defbackoff) / sizeof(defbackoff[0]);
	}

	c->timeout = get_duration(l, "delivery", "timeout",
	    CONF_DEFAULT_TIMEOUT, 1, 86400);
	c->kill_grace = get_duration(l, "delivery", "kill_grace",
	    CONF_DEFAULT_GRACE, 0, 3600);
	c->runner = get_path(l, "delivery", "runner", NULL);
	v = get(l, "delivery", "path");
	c->handler_path = strdup(v != NULL && *v != '\0' ? v :
	    CONF_DEFAULT_PATH);
	if ((v = get(l, "delivery", "rlimit_as")) != NULL &&
	    (parse_size(v, &c->rlimit_as) == -1 || c->rlimit_as < 1048576))
		bad(l, "delivery", "rlimit_as", "'%s' is not a size of at "
		    "least 1M (write 512M or 2G; leave it out for no limit)", v);
	c->rlimit_cpu = get_duration(l, "delivery", "rlimit_cpu", 0, 1,
	    86400);
	c->rlimit_nofile = get_int(l, "delivery", "rlimit_nofile", 0, 16,
	    1048576);
}

static void
load_env_and_events(struct loader *l, struct conf *c)
{
	const struct item	*it;
	struct event_conf	*ev;
	const char		*v, *name;
	size_t			 i, nenv = 0, nev = 0;

	for (i = 0; i < l->scan->n; i++) {
		it = &l->scan->v[i];
		if (strcmp(it->sect, "env") == 0 && it->key != NULL)
			nenv++;
		else if (it->key == NULL && strncmp(it->sect, "event", 5) == 0 &&
		    isspace((unsigned char)it->sect[5]))
			nev++;
	}
	c->env = calloc(nenv + 1, sizeof(*c->env));
	c->events = calloc(nev + 1, sizeof(*c->events));
	if (c->env == NULL || c->events == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return;
	}
	for (i = 0; i < l->scan->n; i++) {
		it = &l->scan->v[i];
		if (strcmp(it->sect, "env") == 0 && it->key != NULL) {
			v = get(l, "env", it->key);
			c->env[c->nenv].name = strdup(it->orig);
			c->env[c->nenv].value = strdup(v ? v : "");
			c->nenv++;
			continue;
		}
		if (it->key != NULL || strncmp(it->sect, "event", 5) != 0 ||
		    !isspace((unsigned char)it->sect[5]))
			continue;
		name = sect_arg(it->orig, 5);
		ev = &c->events[c->nevents++];
		ev->name = strdup(name);
		/* As written: absolute, or under the endpoint's
		 * handlers_dir (checked where it runs). */
		if ((v = get(l, it->sect, "handler")) != NULL && *v != '\0')
			ev->handler = strdup(v);
		get_required(l, it->sect, &ev->required, &ev->has_required);
		ev->timeout = get_duration(l, it->sect, "timeout", 0, 1,
		    86400);
		ev->sync_output = get_bool(l, it->sect, "sync_output", 0);
		ev->serialize = get_bool(l, it->sect, "serialize", 0);
		ev->retries = (int)get_int(l, it->sect, "retries", -1, 0, 1000);
		ev->backoff = get_backoff(l, it->sect, &ev->nbackoff);
		if ((v = get(l, it->sect, "mode")) != NULL) {
			if (strcmp(v, "queue") == 0)
				ev->mode = MODE_QUEUE;
			else if (strcmp(v, "sync") == 0)
				ev->mode = MODE_SYNC;
			else
				bad(l, it->sect, "mode", "'%s': write queue "
				    "(answer, then run) or sync (run, then "
				    "answer with its result)", v);
		}
		if (ev->mode == MODE_SYNC &&
		    conf_timeout(c, ev) > CONF_SYNC_TIMEOUT_MAX)
			bad(l, it->sect, "timeout", "a sync event answers only "
			    "after its handler: %lds is longer than the %ds "
			    "allowed (senders give up much sooner)",
			    conf_timeout(c, ev), CONF_SYNC_TIMEOUT_MAX);
	}
}

/* GitHub names the event and the delivery in headers; Standard Webhooks
 * the message id: they are the defaults unless the INI says otherwise. */
static void
scheme_defaults(struct loader *l, struct endpoint *ep, const char *sect)
{
	const char *ev = NULL, *id = NULL;

	if (ep->verify.scheme == VERIFY_GITHUB) {
		ev = "header:X-GitHub-Event";
		id = "header:X-GitHub-Delivery";
	} else if (ep->verify.scheme == VERIFY_STDWH)
		id = "header:webhook-id";
	if (ev != NULL && get(l, sect, "event_field") == NULL) {
		free(ep->event_field);
		ep->event_field = strdup(ev);
		header_field(l, sect, "event_field", ev, ep->event_param,
		    sizeof(ep->event_param));
	}
	if (id != NULL && get(l, sect, "id_field") == NULL) {
		free(ep->id_field);
		ep->id_field = strdup(id);
		header_field(l, sect, "id_field", id, ep->id_param,
		    sizeof(ep->id_param));
	}
}

/* The default endpoint from [hookpipe] + [auth], then one per
 * [endpoint NAME] section. Without [auth], the default endpoint is off
 * when there are others (each sender its own path). */
static void
load_endpoints(struct loader *l, struct conf *c)
{
	const struct item	*it;
	struct endpoint		*ep;
	const char		*name;
	size_t			 i, n = 1;

	for (i = 0; i < l->scan->n; i++)
		if (l->scan->v[i].key == NULL &&
		    is_endpoint_sect(l->scan->v[i].sect))
			n++;
	if ((c->ep = calloc(n, sizeof(*c->ep))) == NULL) {
		diag_add(l->diag, 0, l->path, 0, "out of memory");
		return;
	}
	ep = &c->ep[0];
	c->nep = 1;
	load_fields(l, ep, "hookpipe", NULL);
	ep->enabled = n == 1 || line_of(l->scan, "auth", NULL) != 0;
	if (ep->enabled) {
		load_auth(l, ep, "auth", NULL);
		scheme_defaults(l, ep, "hookpipe");
	} else {
		/* Off, but its limits are what endpoints start from. */
		ep->insecure_permissions = get_bool(l, "auth",
		    "insecure_permissions", 0);
	}
	for (i = 0; i < l->scan->n; i++) {
		it = &l->scan->v[i];
		if (it->key != NULL || !is_endpoint_sect(it->sect))
			continue;
		name = sect_arg(it->orig, 8);
		ep = &c->ep[c->nep++];
		ep->enabled = 1;
		if ((ep->name = strdup(name)) == NULL)
			continue;
		load_fields(l, ep, it->sect, &c->ep[0]);
		load_auth(l, ep, it->sect, &c->ep[0]);
		scheme_defaults(l, ep, it->sect);
	}
}

static void
endpoint_free(struct endpoint *ep)
{
	free(ep->name);
	free(ep->handlers_dir);
	free(ep->event_field);
	free(ep->id_field);
	strlist_free(&ep->required);
	free(ep->auth_header);
	free(ep->token_file);
	tokens_free(&ep->tokens);
	tokens_free(&ep->verify.secrets);
	free(ep->verify.prefix);
	cidr_list_free(&ep->allow_from);
	cidr_list_free(&ep->trusted_proxies);
}

/* The scanner reports syntax errors with line numbers already. */
static int
ini_silent(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

/*
 * iniparser 4.1 reads only a path, with a plain fopen (iniparser_load_file
 * on a FILE * came with 4.2): a FIFO swapped in after the checks above
 * would hang it, and a file rewritten in between would give values that
 * do not match the structure the scanner saw. So it gets the bytes
 * already read and checked, in a memfd, under its /proc/self/fd name.
 * Without memfd_create or /proc, it reads the path again: a regular file
 * a moment ago, and only who can write the INI can swap it.
 */
static dictionary *
ini_load_text(const char *path, const char *text, size_t len)
{
#ifdef MFD_CLOEXEC
	dictionary	*ini;
	char		 name[64];
	int		 fd, probe;

	if ((fd = memfd_create("hookpipe.ini", MFD_CLOEXEC)) != -1) {
		(void)snprintf(name, sizeof(name), "/proc/self/fd/%d", fd);
		if (write_all(fd, text, len) == 0 && (probe = open(name,
		    O_RDONLY | O_CLOEXEC)) != -1) {
			(void)close(probe);
			ini = iniparser_load(name);
			(void)close(fd);
			return ini;
		}
		(void)close(fd);
	}
#else
	(void)text;
	(void)len;
#endif
	return iniparser_load(path);
}

struct conf *
conf_load(const char *path, struct diag *d)
{
	struct loader	 l;
	struct scan	 scan = { NULL, 0 };
	struct conf	*c = NULL;
	struct stat	 st;
	struct err	 e;
	char		*text = NULL, *tmp;
	size_t		 len;
	int		 nerr0 = d->nerr;

	memset(&l, 0, sizeof(l));
	l.path = path;
	l.scan = &scan;
	l.diag = d;
	if (stat(path, &st) == -1) {
		diag_add(d, 0, path, 0, "cannot read the configuration: %s",
		    strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_add(d, 0, path, 0, "not a regular file (%s): name the "
		    "INI file itself (or a symbolic link to it)",
		    file_kind(st.st_mode));
		return NULL;
	}
	/* Read once, without waiting on a FIFO swapped in since the stat;
	 * iniparser gets these same bytes (ini_load_text). */
	if (read_file(path, CONF_FILE_MAX, &text, &len, &e) == -1) {
		diag_add(d, 0, path, 0, "%s", e.msg);
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		diag_add(d, 0, path, 0, "holds a NUL byte: is it a text file?");
		goto out;
	}
	if (scan_file(path, text, &scan, d) == -1)
		goto out;
	check_structure(path, &scan, d);
	if ((tmp = strdup(path)) == NULL)
		goto out;
	(void)snprintf(l.dir, sizeof(l.dir), "%s", dirname(tmp));
	free(tmp);
	if (l.dir[0] != '/') {
		char cwd[PATH_MAX];

		if (getcwd(cwd, sizeof(cwd)) != NULL) {
			if (strcmp(l.dir, ".") == 0)
				(void)snprintf(l.dir, sizeof(l.dir), "%s", cwd);
			else {
				char rel[PATH_MAX];

				(void)snprintf(rel, sizeof(rel), "%s", l.dir);
				if (snprintf(l.dir, sizeof(l.dir), "%s/%s",
				    cwd, rel) >= (int)sizeof(l.dir))
					goto out;
			}
		}
	}

	iniparser_set_error_callback(ini_silent);
	if ((l.ini = ini_load_text(path, text, len)) == NULL) {
		diag_add(d, 0, path, 0, "iniparser could not read the file");
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) ==
	    NULL) {
		diag_add(d, 0, path, 0, "out of memory");
		goto out;
	}
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->mtime = st.st_mtim;
	c->size = st.st_size;
	load_global(&l, c);
	load_endpoints(&l, c);
	load_delivery(&l, c);
	load_env_and_events(&l, c);
out:
	if (l.ini != NULL)
		iniparser_freedict(l.ini);
	scan_free(&scan);
	free(text);
	if (c != NULL && d->nerr > nerr0) {
		conf_free(c);
		c = NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->spool_dir);
	free(c->log_file);
	for (i = 0; i < c->nep; i++)
		endpoint_free(&c->ep[i]);
	free(c->ep);
	free(c->runner);
	free(c->handler_path);
	free(c->backoff);
	for (i = 0; i < c->nenv; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
	}
	free(c->env);
	for (i = 0; i < c->nevents; i++) {
		free(c->events[i].name);
		free(c->events[i].handler);
		free(c->events[i].backoff);
		strlist_free(&c->events[i].required);
	}
	free(c->events);
	free(c);
}

static int
ts_differ(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec || a->tv_nsec != b->tv_nsec;
}

int
conf_stale(const struct conf *c)
{
	struct stat	st;
	size_t		i;

	if (stat(c->path, &st) == -1 || st.st_dev != c->dev ||
	    st.st_ino != c->ino || st.st_size != c->size ||
	    ts_differ(&st.st_mtim, &c->mtime))
		return 1;
	for (i = 0; i < c->nep; i++)
		if (c->ep[i].token_file != NULL && (stat(c->ep[i].token_file,
		    &st) == -1 || ts_differ(&st.st_mtim, &c->ep[i].token_mtime)))
			return 1;
	return 0;
}

const struct endpoint *
conf_endpoint(const struct conf *c, const char *name)
{
	size_t i;

	if (name == NULL || *name == '\0')
		return c->ep[0].enabled ? &c->ep[0] : NULL;
	for (i = 1; i < c->nep; i++)
		if (strcmp(c->ep[i].name, name) == 0)
			return &c->ep[i];
	return NULL;
}

const struct endpoint *
conf_endpoint_path(const struct conf *c, const char *pathinfo)
{
	char	name[CONF_ENDPOINT_MAX + 1];
	size_t	n;

	if (pathinfo == NULL || *pathinfo == '\0' ||
	    strcmp(pathinfo, "/") == 0)
		return conf_endpoint(c, NULL);
	if (*pathinfo != '/')
		return NULL;
	pathinfo++;
	n = strlen(pathinfo);
	if (n > 0 && pathinfo[n - 1] == '/')
		n--;
	if (n == 0 || n > CONF_ENDPOINT_MAX)
		return NULL;
	memcpy(name, pathinfo, n);
	name[n] = '\0';
	if (!endpoint_name_ok(name))
		return NULL;
	return conf_endpoint(c, name);
}

const struct event_conf *
conf_event(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nevents; i++)
		if (strcmp(c->events[i].name, name) == 0)
			return &c->events[i];
	return NULL;
}

int
conf_retries(const struct conf *c, const struct event_conf *ev)
{
	return ev != NULL && ev->retries >= 0 ? ev->retries : c->retries;
}

long
conf_backoff(const struct conf *c, const struct event_conf *ev, int attempt)
{
	const long	*v = c->backoff;
	size_t		 n = c->nbackoff;

	if (ev != NULL && ev->backoff != NULL) {
		v = ev->backoff;
		n = ev->nbackoff;
	}
	if (n == 0)
		return 60;
	if (attempt < 1)
		attempt = 1;
	return v[(size_t)attempt - 1 < n ? (size_t)attempt - 1 : n - 1];
}

long
conf_timeout(const struct conf *c, const struct event_conf *ev)
{
	if (ev != NULL && ev->timeout > 0)
		return ev->timeout;
	return c->timeout;
}

const char *
conf_locate(const char *flag)
{
	const char *env;

	if (flag != NULL)
		return flag;
	if ((env = getenv("HOOKPIPE_CONFIG")) != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/hookpipe.ini";
}
