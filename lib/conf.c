/* conf: load hookpipe.ini with iniparser and validate it. iniparser
 * neither reports line numbers nor rejects unknown keys, so a small
 * scanner reads the file's structure first; values come from iniparser,
 * always as "section:key" and always checked for NULL (CVE-2023-33461). */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
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

static const char *const hookpipe_keys[] = {
	"spool_dir", "handlers_dir", "log_file", "max_body", "require_https",
	"event_field", "id_field", "required", "unknown_events", NULL
};
static const char *const auth_keys[] = {
	"header", "token_file", "token", "allow_from", "insecure_permissions",
	"verify", "secret_file", "secret", "tolerance", "signature_header",
	"algorithm", "encoding", "prefix", "trusted_proxies", NULL
};
static const char *const delivery_keys[] = {
	"timeout", "kill_grace", "runner", "path", "retries", "backoff",
	"concurrency", "keep", NULL
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
			    "[delivery], [env] or [event NAME]",
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

/* Check the structure against the known sections and keys. */
static void
check_structure(const char *path, const struct scan *s, struct diag *d)
{
	const struct item	*it;
	const char *const	*keys;
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
		if (strcmp(it->sect, "hookpipe") == 0)
			keys = hookpipe_keys;
		else if (strcmp(it->sect, "auth") == 0)
			keys = auth_keys;
		else if (strcmp(it->sect, "delivery") == 0)
			keys = delivery_keys;
		else if (strncmp(it->sect, "event", 5) == 0 &&
		    isspace((unsigned char)it->sect[5]))
			keys = event_keys;
		else if (strcmp(it->sect, "env") == 0) {
			if (it->key != NULL && (!env_name_ok(it->orig) ||
			    strncmp(it->orig, "HOOKPIPE_", 9) == 0 ||
			    strcmp(it->orig, "PATH") == 0))
				diag_add(d, 0, path, it->line, "[env] %s: not "
				    "a usable variable name (letters, digits, "
				    "_; not PATH, which is [delivery] path, "
				    "nor HOOKPIPE_*)", it->orig);
			continue;
		} else {
			if (it->key == NULL) {
				if (strcmp(it->sect, "event") == 0)
					diag_add(d, 0, path, it->line,
					    "[event] needs a name: "
					    "[event booking.updated]");
				else
					diag_add(d, 0, path, it->line,
					    "unknown section [%s]: known are "
					    "[hookpipe], [auth], [delivery], "
					    "[env] and [event NAME]", it->orig);
			}
			continue;
		}
		if (it->key == NULL) {
			if (keys == event_keys) {
				const char *name = it->orig + 5;

				while (isspace((unsigned char)*name))
					name++;
				if (!event_name_ok(name))
					diag_add(d, 0, path, it->line,
					    "[event %s]: an event name is "
					    "1-128 of A-Z a-z 0-9 . _ - and "
					    "starts with a letter or digit",
					    name);
			}
			continue;
		}
		if (!in_list(keys, it->key))
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

/* A header as a source of the event name or id: "header:X-GitHub-Event". */
static void
header_field(struct loader *l, const char *key, const char *v, char *param,
    size_t len)
{
	if (auth_header_param(v + 7, param, len) == -1)
		bad(l, "hookpipe", key, "'%s' does not name a header (letters, "
		    "digits and -)", v);
}

static void
load_hookpipe(struct loader *l, struct conf *c)
{
	const char	*v;

	c->spool_dir = get_path(l, "hookpipe", "spool_dir", NULL);
	if (c->spool_dir == NULL)
		diag_add(l->diag, 0, l->path, line_of(l->scan, "hookpipe",
		    NULL), "[hookpipe] spool_dir is not set: name the folder "
		    "where accepted events are stored");
	c->handlers_dir = get_path(l, "hookpipe", "handlers_dir", NULL);
	if (c->handlers_dir == NULL)
		diag_add(l->diag, 0, l->path, line_of(l->scan, "hookpipe",
		    NULL), "[hookpipe] handlers_dir is not set: name the "
		    "folder of handler programs");
	c->log_file = get_path(l, "hookpipe", "log_file", NULL);
	if (c->log_file == NULL && c->spool_dir != NULL &&
	    asprintf(&c->log_file, "%s/delivery.log", c->spool_dir) == -1)
		c->log_file = NULL;

	c->max_body = CONF_DEFAULT_MAX_BODY;
	if ((v = get(l, "hookpipe", "max_body")) != NULL &&
	    (parse_size(v, &c->max_body) == -1 || c->max_body == 0 ||
	    c->max_body > 1024UL * 1024 * 1024))
		bad(l, "hookpipe", "max_body", "'%s' is not a size from 1 "
		    "byte to 1G (write 65536, 512K or 1M)", v);
	c->require_https = get_bool(l, "hookpipe", "require_https", 1);

	v = get(l, "hookpipe", "event_field");
	c->event_field = strdup(v != NULL ? v : "event");
	if (c->event_field != NULL && strncmp(c->event_field, "header:", 7) ==
	    0)
		header_field(l, "event_field", c->event_field, c->event_param,
		    sizeof(c->event_param));
	else if (c->event_field != NULL && !payload_path_ok(c->event_field))
		bad(l, "hookpipe", "event_field", "'%s' is not a dotted JSON "
		    "path like event or meta.type, nor header:NAME",
		    c->event_field);
	v = get(l, "hookpipe", "id_field");
	c->id_field = strdup(v != NULL ? v : "id");
	if (c->id_field != NULL && strncmp(c->id_field, "header:", 7) == 0)
		header_field(l, "id_field", c->id_field, c->id_param,
		    sizeof(c->id_param));
	else if (c->id_field != NULL && !payload_path_ok(c->id_field))
		bad(l, "hookpipe", "id_field", "'%s' is not a dotted JSON "
		    "path like id or meta.event_id, nor header:NAME",
		    c->id_field);
	get_required(l, "hookpipe", &c->required, NULL);

	if ((v = get(l, "hookpipe", "unknown_events")) != NULL) {
		if (strcmp(v, "accept") == 0)
			c->unknown_reject = 0;
		else if (strcmp(v, "reject") == 0)
			c->unknown_reject = 1;
		else
			bad(l, "hookpipe", "unknown_events", "'%s': write "
			    "accept (store and log) or reject (answer 422)", v);
	}
}

/* The secret(s) of a scheme: from FILEKEY (a private file, one per line)
 * or INLINEKEY (only when the INI itself is private). */
static void
load_secrets(struct loader *l, struct conf *c, const char *filekey,
    const char *inlinekey, struct tokens *out)
{
	struct err	 e;
	struct stat	 st;
	const char	*inl;
	size_t		 i;

	c->token_file = get_path(l, "auth", filekey, NULL);
	inl = get(l, "auth", inlinekey);
	if (c->token_file != NULL && inl != NULL) {
		bad(l, "auth", inlinekey, "set either %s or %s, not both",
		    inlinekey, filekey);
	} else if (c->token_file != NULL) {
		if (stat(c->token_file, &st) == -1)
			bad(l, "auth", filekey, "%s: %s", c->token_file,
			    strerror(errno));
		else {
			c->token_mtime = st.st_mtim;
			if ((st.st_mode & S_IROTH) && !c->insecure_permissions)
				bad(l, "auth", filekey, "%s is readable "
				    "by others: chmod o-rwx %s (or set "
				    "insecure_permissions = yes)",
				    c->token_file, c->token_file);
			else if (tokens_load(c->token_file, out, &e) == -1)
				bad(l, "auth", filekey, "%s", e.msg);
		}
	} else if (inl != NULL) {
		if (stat(l->path, &st) == 0 && (st.st_mode & S_IROTH) &&
		    !c->insecure_permissions)
			bad(l, "auth", inlinekey, "%s holds a secret and is "
			    "readable by others: chmod o-rwx %s, or move it to "
			    "a private %s", l->path, l->path, filekey);
		else if (tokens_parse(inl, inlinekey, out, &e) == -1)
			bad(l, "auth", inlinekey, "%s", e.msg);
	} else
		diag_add(l->diag, 0, l->path, line_of(l->scan, "auth", NULL),
		    "[auth] %s is not set: name a file holding the shared "
		    "secret(s), one per line", filekey);
	for (i = 0; i < out->n; i++)
		if (out->v[i].n < 16)
			diag_add(l->diag, 1, l->path, line_of(l->scan, "auth",
			    c->token_file ? filekey : inlinekey),
			    "%s %zu is shorter than 16 characters: easy to "
			    "guess", c->verify.scheme == VERIFY_TOKEN ? "token" :
			    "secret", i + 1);
}

static void
load_auth(struct loader *l, struct conf *c)
{
	struct verify	*vf = &c->verify;
	struct err	 e;
	const char	*v;
	size_t		 badi = 0;
	int		 sch;

	v = get(l, "auth", "header");
	c->auth_header = strdup(v != NULL ? v : "x-auth-token");
	if (c->auth_header != NULL && auth_header_param(c->auth_header,
	    c->auth_param, sizeof(c->auth_param)) == -1)
		bad(l, "auth", "header", "'%s' is not a header name (letters, "
		    "digits and -)", c->auth_header);
	c->insecure_permissions = get_bool(l, "auth", "insecure_permissions",
	    0);

	vf->scheme = VERIFY_TOKEN;
	if ((v = get(l, "auth", "verify")) != NULL) {
		if ((sch = verify_scheme_parse(v)) == -1)
			bad(l, "auth", "verify", "'%s': write token, "
			    "standard-webhooks, github, stripe or hmac", v);
		else
			vf->scheme = (enum verify_scheme)sch;
	}
	vf->tolerance = get_duration(l, "auth", "tolerance", 300, 1, 86400);
	vf->alg = VERIFY_SHA256;
	vf->enc = VERIFY_HEX;
	if ((v = get(l, "auth", "algorithm")) != NULL) {
		if (strcmp(v, "sha512") == 0)
			vf->alg = VERIFY_SHA512;
		else if (strcmp(v, "sha256") != 0)
			bad(l, "auth", "algorithm", "'%s': write sha256 or "
			    "sha512", v);
	}
	if ((v = get(l, "auth", "encoding")) != NULL) {
		if (strcmp(v, "base64") == 0)
			vf->enc = VERIFY_BASE64;
		else if (strcmp(v, "hex") != 0)
			bad(l, "auth", "encoding", "'%s': write hex or base64",
			    v);
	}
	if ((v = get(l, "auth", "prefix")) != NULL && *v != '\0')
		vf->prefix = strdup(v);
	v = get(l, "auth", "signature_header");
	if (vf->scheme == VERIFY_GITHUB) {
		v = v != NULL ? v : "X-Hub-Signature-256";
		if (vf->prefix == NULL)
			vf->prefix = strdup("sha256=");
	}
	if (v != NULL && auth_header_param(v, vf->param, sizeof(vf->param)) ==
	    -1)
		bad(l, "auth", "signature_header", "'%s' is not a header name",
		    v);
	if (vf->scheme == VERIFY_HMAC && v == NULL)
		diag_add(l->diag, 0, l->path, line_of(l->scan, "auth", NULL),
		    "[auth] verify = hmac needs signature_header: the header "
		    "that carries the signature");

	/* Keys of another scheme would be ignored: say so instead. */
	if (vf->scheme != VERIFY_HMAC) {
		static const char *const hmac_only[] = {
			"algorithm", "encoding", NULL
		};
		const char *const *k;

		for (k = hmac_only; *k != NULL; k++)
			if (get(l, "auth", *k) != NULL)
				bad(l, "auth", *k, "applies to verify = hmac "
				    "only (%s fixes its own)",
				    verify_scheme_name(vf->scheme));
	}
	if (vf->scheme == VERIFY_STDWH || vf->scheme == VERIFY_STRIPE ||
	    vf->scheme == VERIFY_TOKEN) {
		if (get(l, "auth", "signature_header") != NULL)
			bad(l, "auth", "signature_header", "applies to verify "
			    "= hmac or github only");
		if (get(l, "auth", "prefix") != NULL)
			bad(l, "auth", "prefix", "applies to verify = hmac or "
			    "github only");
	}
	if (vf->scheme == VERIFY_TOKEN && (get(l, "auth", "secret_file") !=
	    NULL || get(l, "auth", "secret") != NULL))
		bad(l, "auth", get(l, "auth", "secret") ? "secret" :
		    "secret_file", "signing secrets need verify = "
		    "standard-webhooks, github, stripe or hmac; a shared "
		    "token goes in token_file");
	if (vf->scheme != VERIFY_TOKEN && (get(l, "auth", "token_file") !=
	    NULL || get(l, "auth", "token") != NULL))
		bad(l, "auth", get(l, "auth", "token") ? "token" :
		    "token_file", "verify = %s signs with secret_file (or "
		    "secret), not a token", verify_scheme_name(vf->scheme));

	if (vf->scheme == VERIFY_TOKEN)
		load_secrets(l, c, "token_file", "token", &c->tokens);
	else {
		load_secrets(l, c, "secret_file", "secret", &vf->secrets);
		if (verify_decode_secrets(vf, &e) == -1)
			bad(l, "auth", c->token_file ? "secret_file" : "secret",
			    "%s", e.msg);
	}

	if ((v = get(l, "auth", "trusted_proxies")) != NULL &&
	    cidr_list_parse(v, &c->trusted_proxies, &badi) == -1)
		bad(l, "auth", "trusted_proxies", "item %zu is not an IPv4/IPv6 "
		    "address or CIDR range with zero host bits", badi + 1);
	if ((v = get(l, "auth", "allow_from")) != NULL &&
	    cidr_list_parse(v, &c->allow_from, &badi) == -1)
		bad(l, "auth", "allow_from", "item %zu is not an IPv4/IPv6 "
		    "address or CIDR range with zero host bits (like "
		    "192.0.2.0/24 or 2001:db8::/32)", badi + 1);
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
		name = it->orig + 5;
		while (isspace((unsigned char)*name))
			name++;
		ev = &c->events[c->nevents++];
		ev->name = strdup(name);
		ev->handler = get_path(l, it->sect, "handler",
		    c->handlers_dir);
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
scheme_defaults(struct loader *l, struct conf *c)
{
	const char *ev = NULL, *id = NULL;

	if (c->verify.scheme == VERIFY_GITHUB) {
		ev = "header:X-GitHub-Event";
		id = "header:X-GitHub-Delivery";
	} else if (c->verify.scheme == VERIFY_STDWH)
		id = "header:webhook-id";
	if (ev != NULL && get(l, "hookpipe", "event_field") == NULL) {
		free(c->event_field);
		c->event_field = strdup(ev);
		header_field(l, "event_field", ev, c->event_param,
		    sizeof(c->event_param));
	}
	if (id != NULL && get(l, "hookpipe", "id_field") == NULL) {
		free(c->id_field);
		c->id_field = strdup(id);
		header_field(l, "id_field", id, c->id_param,
		    sizeof(c->id_param));
	}
}

/* The scanner reports syntax errors with line numbers already. */
static int
ini_silent(const char *fmt, ...)
{
	(void)fmt;
	return 0;
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
	if ((l.ini = iniparser_load(path)) == NULL) {
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
	load_hookpipe(&l, c);
	load_auth(&l, c);
	scheme_defaults(&l, c);
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
	free(c->handlers_dir);
	free(c->log_file);
	free(c->event_field);
	free(c->id_field);
	strlist_free(&c->required);
	free(c->auth_header);
	free(c->token_file);
	tokens_free(&c->tokens);
	tokens_free(&c->verify.secrets);
	free(c->verify.prefix);
	cidr_list_free(&c->allow_from);
	cidr_list_free(&c->trusted_proxies);
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
	struct stat st;

	if (stat(c->path, &st) == -1 || st.st_dev != c->dev ||
	    st.st_ino != c->ino || st.st_size != c->size ||
	    ts_differ(&st.st_mtim, &c->mtime))
		return 1;
	if (c->token_file != NULL && (stat(c->token_file, &st) == -1 ||
	    ts_differ(&st.st_mtim, &c->token_mtime)))
		return 1;
	return 0;
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
