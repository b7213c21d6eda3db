/* status: the status page, server-rendered HTML without JavaScript.
 * Every string that comes from the spool goes through html() (the one
 * escaper); every POST needs the session, a same-origin request and the
 * CSRF token derived from the session. Replay is deliver_replay, the
 * one `hookpipe replay` uses. */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "auth.h"
#include "crypto.h"
#include "deliver.h"
#include "form.h"
#include "payload.h"
#include "status.h"

#define COOKIE		"hookpipe_status"
#define FORM_MAX	8192		/* a login or replay form */
#define PASSWORD_MAX	1024
#define HASH_MAX	512
#define LIST_MAX	100		/* rows of a list */
#define PAYLOAD_SHOWN	(64 * 1024)	/* bytes of a payload on the page */
#define RAW_MAX		(64L * 1024 * 1024)
#define KEY_HEX		64		/* the session key: 32 random bytes */
#define LOGIN_WINDOW	900.0		/* login_attempts per this many s */

static const enum spool_dir states[] = {
	SP_NEW, SP_CUR, SP_RETRY, SP_DONE, SP_DEAD
};
#define NSTATES	(sizeof(states) / sizeof(states[0]))

/* One request to the page, parsed once. */
struct sreq {
	struct receiver		*r;
	const struct request	*req;
	struct answer		*a;
	const struct conf	*c;
	const char		*sub;		/* PATH_INFO after /_status */
	const char		*method;
	const char		*remote;
	int			 https;
	char			 base[512];	/* URL path of /_status */
	char			 key[KEY_HEX + 1];
	char			 session[128];	/* the valid cookie, or "" */
	char			 csrf[2 * CRYPTO_SHA256_LEN + 1];
	struct form		 query;
	struct form		 body;
	struct buf		 h;		/* the page */
};

/* The one HTML escaper: & < > " ' as entities, invalid UTF-8 and
 * control characters (but tab and newline) as U+FFFD. */
static void
html(struct buf *b, const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k;

	for (i = 0; i < n; i += k) {
		k = 1;
		switch (p[i]) {
		case '&': buf_puts(b, "&amp;"); continue;
		case '<': buf_puts(b, "&lt;"); continue;
		case '>': buf_puts(b, "&gt;"); continue;
		case '"': buf_puts(b, "&quot;"); continue;
		case '\'': buf_puts(b, "&#39;"); continue;
		case '\t': case '\n': buf_putc(b, p[i]); continue;
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			buf_puts(b, "\xef\xbf\xbd");
			continue;
		}
		if (p[i] < 0x80) {
			buf_putc(b, p[i]);
			continue;
		}
		if ((k = utf8_len(p + i, n - i)) == 0) {
			buf_puts(b, "\xef\xbf\xbd");
			k = 1;
		} else if (p[i] == 0xc2 && p[i + 1] < 0xa0)
			buf_puts(b, "\xef\xbf\xbd");	/* C1 controls */
		else
			buf_add(b, p + i, k);
	}
}

static void
htmls(struct buf *b, const char *s)
{
	if (s != NULL)
		html(b, s, strlen(s));
}

/* A query value: unreserved characters as they are, the rest %XX. */
static void
urlenc(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~')
			buf_putc(b, ch);
		else
			buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
}

static const char *
qget(const struct form *f, const char *name)
{
	const struct form_pair *p = form_get(f, name);

	if (p == NULL || memchr(p->value, '\0', p->valuelen) != NULL)
		return NULL;
	return p->value;
}

/* Headers every answer of the page carries. */
static void
secure_headers(struct answer *a)
{
	buf_puts(&a->headers, "Content-Security-Policy: default-src 'none'; "
	    "style-src 'self' 'unsafe-inline'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "X-Frame-Options: DENY\r\n");
}

static int
refuse(struct sreq *x, int status, const char *reason)
{
	struct answer *a = x->a;

	a->status = status;
	a->content_type = NULL;
	(void)snprintf(a->reason, sizeof(a->reason), "%s", reason);
	buf_reset(&a->body);
	buf_puts(&a->body, "{\"status\":\"error\",\"reason\":");
	buf_json_cstr(&a->body, reason);
	buf_json_kv(&a->body, "request_id", a->request_id);
	buf_puts(&a->body, "}");
	return status;
}

static int
redirect(struct sreq *x, const char *to)
{
	x->a->status = 303;
	x->a->content_type = "text/plain; charset=utf-8";
	buf_reset(&x->a->body);
	buf_printf(&x->a->headers, "Location: %s%s\r\n", x->base, to);
	return 303;
}

/* The URL path of /_status: the request URI's path without PATH_INFO's
 * tail, so that links hold behind a rewrite (the .htaccess recipe maps
 * /hooks to hookpipe.fcgi, which is not reachable itself); else
 * SCRIPT_NAME. Only plain path characters: it goes into headers. */
static void
find_base(struct sreq *x, const char *path_info)
{
	const char	*uri = param_get(x->req->params, "REQUEST_URI");
	const char	*sn = param_get(x->req->params, "SCRIPT_NAME");
	size_t		 n = 0, pl = strlen(path_info), i;

	if (uri != NULL) {
		n = strcspn(uri, "?");
		if (n >= pl && memcmp(uri + n - pl, path_info, pl) == 0)
			n -= pl;
		else
			uri = NULL;
	}
	if (uri == NULL) {
		uri = sn != NULL ? sn : "";
		n = strlen(uri);
	}
	for (i = 0; i < n; i++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
		    "YZ0123456789-._~/%", uri[i]) == NULL)
			break;
	if (i < n || n + sizeof("/_status") > sizeof(x->base))
		n = 0;
	(void)snprintf(x->base, sizeof(x->base), "%.*s/_status", (int)n,
	    uri);
}

/* SPOOL/status.key, made (0600, through a link so a reader never sees
 * it half-written) on first use. */
static int
load_key(struct sreq *x, struct err *e)
{
	const char	*sp = spool_path(x->r->spool);
	char		 path[PATH_MAX], tmp[PATH_MAX], hex[KEY_HEX + 1];
	char		*text = NULL;
	size_t		 len;
	int		 fd;

	if (snprintf(path, sizeof(path), "%s/status.key", sp) >=
	    (int)sizeof(path) || snprintf(tmp, sizeof(tmp),
	    "%s/tmp/.status.key.%ld", sp, (long)getpid()) >= (int)sizeof(tmp))
		return err_set(e, "%s: path too long", sp);
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		if (random_hex(hex, KEY_HEX / 2) == -1)
			return err_sys(e, "unable to make %s", path);
		(void)unlink(tmp);
		if ((fd = open_file(AT_FDCWD, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW, e)) == -1)
			return -1;
		if (fchmod(fd, 0600) == -1 || write_all(fd, hex, KEY_HEX) ==
		    -1 || fsync(fd) == -1) {
			err_sys(e, "unable to write %s", tmp);
			(void)close(fd);
			(void)unlink(tmp);
			return -1;
		}
		wipe(hex, sizeof(hex));
		if (close(fd) == -1) {
			(void)unlink(tmp);
			return err_sys(e, "unable to write %s", tmp);
		}
		/* Another process may have won: its key stays. */
		if (link(tmp, path) == -1 && errno != EEXIST) {
			err_sys(e, "unable to make %s", path);
			(void)unlink(tmp);
			return -1;
		}
		(void)unlink(tmp);
	}
	if (read_fileat(AT_FDCWD, path, O_NOFOLLOW, 4096, &text, &len, e) ==
	    -1)
		return -1;
	if (len != KEY_HEX) {
		wipe(text, len);
		free(text);
		return err_set(e, "%s is not a key of %d hex digits: remove it "
		    "(a new one is made; every login ends)", path, KEY_HEX);
	}
	memcpy(x->key, text, KEY_HEX);
	x->key[KEY_HEX] = '\0';
	wipe(text, len);
	free(text);
	return 0;
}

/* Hex HMAC-SHA256 under the session key of a purpose and a text. */
static int
mac_hex(struct sreq *x, const char *purpose, const char *text,
    char out[2 * CRYPTO_SHA256_LEN + 1])
{
	unsigned char	mac[CRYPTO_MAC_MAX];
	size_t		i, n;

	n = crypto_hmac("SHA256", x->key, KEY_HEX, purpose, strlen(purpose),
	    text, strlen(text), mac);
	if (n != CRYPTO_SHA256_LEN)
		return -1;
	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

/* The session cookie, EXPIRY.NONCE.MAC: valid when the MAC is ours
 * and EXPIRY is in the future but no further than session_max_age. */
static void
check_session(struct sreq *x)
{
	const char	*ck = param_get(x->req->params, "HTTP_COOKIE");
	const char	*p, *v = NULL;
	char		 val[128], *dot, mac[2 * CRYPTO_SHA256_LEN + 1], *end;
	size_t		 n;
	long long	 exp;
	time_t		 now = time(NULL);

	for (p = ck; p != NULL && *p != '\0'; p += strcspn(p, ";")) {
		while (*p == ';' || *p == ' ')
			p++;
		if (strncmp(p, COOKIE "=", sizeof(COOKIE)) == 0) {
			v = p + sizeof(COOKIE);
			break;
		}
	}
	if (v == NULL || (n = strcspn(v, "; ")) >= sizeof(val))
		return;
	memcpy(val, v, n);
	val[n] = '\0';
	if ((dot = strrchr(val, '.')) == NULL)
		return;
	errno = 0;
	exp = strtoll(val, &end, 10);
	if (errno != 0 || end == val || *end != '.' || exp <= (long long)now ||
	    exp > (long long)now + x->c->status_max_age)
		return;
	*dot = '\0';
	if (mac_hex(x, "session:", val, mac) == -1)
		return;
	if (!ct_equal(mac, strlen(mac), dot + 1, strlen(dot + 1)))
		return;
	*dot = '.';
	(void)snprintf(x->session, sizeof(x->session), "%s", val);
	if (mac_hex(x, "csrf:", x->session, x->csrf) == -1)
		x->session[0] = '\0';
}

static void
set_cookie(struct sreq *x, const char *value, long age)
{
	buf_printf(&x->a->headers, "Set-Cookie: " COOKIE "=%s; Path=%s; "
	    "Max-Age=%ld; HttpOnly; SameSite=Strict%s\r\n", value, x->base,
	    age, x->https ? "; Secure" : "");
}

static int
new_session(struct sreq *x)
{
	char	val[128], nonce[33], mac[2 * CRYPTO_SHA256_LEN + 1];

	if (random_hex(nonce, 16) == -1)
		return -1;
	(void)snprintf(val, sizeof(val), "%lld.%s",
	    (long long)time(NULL) + x->c->status_max_age, nonce);
	if (mac_hex(x, "session:", val, mac) == -1)
		return -1;
	buf_reset(&x->h);
	buf_printf(&x->h, "%s.%s", val, mac);
	set_cookie(x, buf_cstr(&x->h), x->c->status_max_age);
	buf_reset(&x->h);
	return 0;
}

/* A POST must come from this page: a foreign Origin or a cross-site
 * fetch is refused (the CSRF token is the other half). Under
 * Referrer-Policy: no-referrer a browser sends "Origin: null" with a
 * form; then its Sec-Fetch-Site must say same-origin. */
static int
same_origin(struct sreq *x)
{
	const char	*o = param_get(x->req->params, "HTTP_ORIGIN");
	const char	*site = param_get(x->req->params,
	    "HTTP_SEC_FETCH_SITE");
	const char	*host = param_get(x->req->params, "HTTP_HOST");
	const char	*scheme = x->https ? "https://" : "http://";
	size_t		 sl = strlen(scheme);

	if (site != NULL && strcmp(site, "same-origin") != 0 &&
	    strcmp(site, "none") != 0)
		return 0;
	if (o == NULL)
		return 1;
	if (strcmp(o, "null") == 0)
		return site != NULL && strcmp(site, "same-origin") == 0;
	return host != NULL && strncmp(o, scheme, sl) == 0 &&
	    strcmp(o + sl, host) == 0;
}

static int
read_form(struct sreq *x, struct err *e)
{
	const char	*cl = param_get(x->req->params, "CONTENT_LENGTH");
	char		 body[FORM_MAX], *end;
	long long	 len;
	size_t		 got = 0;
	long		 n;

	errno = 0;
	len = cl != NULL ? strtoll(cl, &end, 10) : 0;
	if (cl == NULL || errno != 0 || end == cl || *end != '\0' || len < 0)
		return err_set(e, "no Content-Length");
	if (len >= (long long)sizeof(body))
		return err_set(e, "form too large");
	while (got < (size_t)len) {
		if ((n = x->req->read(x->req->io, body + got, (size_t)len -
		    got)) <= 0)
			return err_set(e, "form cut short");
		got += (size_t)n;
	}
	n = form_parse(body, got, &x->body, e);
	wipe(body, got);
	return (int)n;
}

/* The password against the hash in password_file (crypt_r: yescrypt
 * and whatever else libxcrypt knows), the result compared in constant
 * time. 1 right, 0 wrong, -1 the file is unusable. */
static int
password_ok(struct sreq *x, const char *pw, struct err *e)
{
	struct crypt_data	*cd;
	const char		*h;
	char			*text = NULL;
	size_t			 len;
	int			 ok;

	if (read_file(x->c->status_password_file, HASH_MAX, &text, &len,
	    e) == -1)
		return -1;
	text[strcspn(text, "\r\n")] = '\0';
	if (text[0] != '$') {
		free(text);
		return err_set(e, "%s holds no crypt(3) hash: write one with "
		    "hookpipe passwd", x->c->status_password_file);
	}
	if ((cd = calloc(1, sizeof(*cd))) == NULL) {
		free(text);
		return err_sys(e, "status page");
	}
	h = crypt_r(pw, text, cd);
	ok = h != NULL && h[0] == '$' && ct_equal(h, strlen(h), text,
	    strlen(text));
	wipe(cd, sizeof(*cd));
	free(cd);
	free(text);
	return ok;
}

/* The page around the content. */
static void
page_begin(struct sreq *x, const char *title)
{
	struct buf *h = &x->h;

	buf_reset(h);
	buf_puts(h, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\"><title>");
	htmls(h, title);
	buf_puts(h, " - hookpipe</title><style>"
	    "body{font-family:system-ui,sans-serif;margin:0 auto;"
	    "max-width:70em;padding:.5em;line-height:1.4}"
	    "table{border-collapse:collapse;width:100%;margin:.5em 0}"
	    "td,th{border-bottom:1px solid #ccc;padding:.2em .4em;"
	    "text-align:left;vertical-align:top;word-break:break-all}"
	    "pre{background:#f4f4f4;padding:.5em;overflow-x:auto;"
	    "white-space:pre-wrap;word-break:break-all}"
	    ".dead{color:#a00}.done{color:#070}.retry{color:#a60}"
	    ".counts td{font-size:1.3em}"
	    "form.inline{display:inline}"
	    "header{display:flex;justify-content:space-between;"
	    "align-items:center;flex-wrap:wrap}"
	    "input,select,button{font-size:1em;margin:.1em}"
	    "</style></head><body><header><h1><a href=\"");
	htmls(h, x->base);
	buf_puts(h, "/\">hookpipe</a></h1>");
	if (x->session[0] != '\0') {
		buf_puts(h, "<form class=\"inline\" method=\"post\" action=\"");
		htmls(h, x->base);
		buf_puts(h, "/logout\"><input type=\"hidden\" name=\"csrf\" "
		    "value=\"");
		htmls(h, x->csrf);
		buf_puts(h, "\"><button type=\"submit\">Log out</button>"
		    "</form>");
	}
	buf_puts(h, "</header><main>\n");
}

static int
page_end(struct sreq *x, int status)
{
	buf_puts(&x->h, "</main></body></html>\n");
	if (x->h.oom)
		return refuse(x, 500, "out of memory");
	x->a->status = status;
	x->a->content_type = "text/html; charset=utf-8";
	buf_reset(&x->a->body);
	buf_add(&x->a->body, x->h.p, x->h.len);
	return status;
}

static int
login_page(struct sreq *x, int status, const char *msg)
{
	struct buf *h = &x->h;

	page_begin(x, "Log in");
	buf_puts(h, "<h2>Log in</h2>");
	if (msg != NULL) {
		buf_puts(h, "<p class=\"dead\" id=\"msg\">");
		htmls(h, msg);
		buf_puts(h, "</p>");
	}
	buf_puts(h, "<form method=\"post\" action=\"");
	htmls(h, x->base);
	buf_puts(h, "/login\"><label>Password <input type=\"password\" "
	    "name=\"password\" id=\"password\" autocomplete=\"current-password\""
	    " required autofocus></label> <button type=\"submit\" id=\"login\">"
	    "Log in</button></form>\n");
	return page_end(x, status);
}

/* A hidden CSRF field and the start of a POST form to base/what. */
static void
post_form(struct sreq *x, const char *what, const char *label,
    const char *name, const char *value, const char *id)
{
	struct buf *h = &x->h;

	buf_puts(h, "<form class=\"inline\" method=\"post\" action=\"");
	htmls(h, x->base);
	buf_printf(h, "/%s\"><input type=\"hidden\" name=\"csrf\" value=\"",
	    what);
	htmls(h, x->csrf);
	buf_printf(h, "\"><input type=\"hidden\" name=\"%s\" value=\"", name);
	htmls(h, value);
	buf_puts(h, "\"><button type=\"submit\"");
	if (id != NULL) {
		buf_puts(h, " id=\"");
		htmls(h, id);
		buf_puts(h, "\"");
	}
	buf_puts(h, ">");
	htmls(h, label);
	buf_puts(h, "</button></form>");
}

static void
event_link(struct sreq *x, const char *name, const char *text)
{
	buf_puts(&x->h, "<a href=\"");
	htmls(&x->h, x->base);
	buf_puts(&x->h, "/event?n=");
	urlenc(&x->h, name);
	buf_puts(&x->h, "\">");
	htmls(&x->h, text);
	buf_puts(&x->h, "</a>");
}

static void
fmt_when(int64_t us, char *out, size_t len)
{
	if (us <= 0)
		(void)snprintf(out, len, "?");
	else
		fmt_time_us(us, out, len);
}

/* One candidate of a listing. */
struct item {
	const char	*name;
	enum spool_dir	 d;
};

static int
item_newest(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return strcmp(y->name, x->name);
}

/* A table of entries, newest first, that match the filters (NULL or ""
 * matches any): state, endpoint ("-" is the default one), event. */
static void
list_table(struct sreq *x, const enum spool_dir *ds, size_t nd,
    const char *fendp, const char *fevent, const char *id)
{
	struct spool	*s = x->r->spool;
	struct strlist	 l[NSTATES];
	struct item	*it = NULL;
	struct envelope	 env;
	struct err	 e;
	struct buf	*h = &x->h;
	size_t		 i, j, n = 0, shown = 0, k = 0;
	char		 when[40];
	int		 fd;

	memset(l, 0, sizeof(l));
	for (i = 0; i < nd && i < NSTATES; i++) {
		if (spool_list(s, ds[i], &l[i], &e) == -1)
			memset(&l[i], 0, sizeof(l[i]));
		n += l[i].n;
	}
	if (n > 0 && (it = calloc(n, sizeof(*it))) == NULL)
		n = 0;
	for (i = 0; it != NULL && i < nd && i < NSTATES; i++)
		for (j = 0; j < l[i].n; j++) {
			it[k].name = l[i].v[j];
			it[k++].d = ds[i];
		}
	if (it != NULL)
		qsort(it, n, sizeof(*it), item_newest);
	buf_puts(h, "<table");
	if (id != NULL)
		buf_printf(h, " id=\"%s\"", id);
	buf_puts(h, "><tr><th>received</th><th>state</th><th>endpoint</th>"
	    "<th>event</th><th>id</th></tr>\n");
	for (i = 0; i < n && shown < LIST_MAX; i++) {
		if ((fd = spool_open_entry(s, it[i].d, it[i].name, &env,
		    &e)) == -1)
			continue;
		(void)close(fd);
		if ((fendp != NULL && *fendp != '\0' && strcmp(fendp,
		    env.endpoint != NULL ? env.endpoint : "-") != 0) ||
		    (fevent != NULL && *fevent != '\0' && strcmp(fevent,
		    env.event) != 0)) {
			envelope_free(&env);
			continue;
		}
		shown++;
		fmt_when(env.received_us, when, sizeof(when));
		buf_puts(h, "<tr><td>");
		event_link(x, it[i].name, when);
		buf_printf(h, "</td><td class=\"%s\">%s</td><td>",
		    spool_dirname(it[i].d), spool_dirname(it[i].d));
		htmls(h, env.endpoint != NULL ? env.endpoint : "-");
		buf_puts(h, "</td><td class=\"event\">");
		htmls(h, env.event);
		buf_puts(h, "</td><td>");
		htmls(h, env.id != NULL ? env.id : "-");
		buf_puts(h, "</td></tr>\n");
		envelope_free(&env);
	}
	if (shown == 0)
		buf_puts(h, "<tr><td colspan=\"5\">none</td></tr>\n");
	buf_puts(h, "</table>\n");
	free(it);
	for (i = 0; i < nd && i < NSTATES; i++)
		strlist_free(&l[i]);
}

/* The distinct event names of dead/, each with a replay-all button. */
static void
dead_names(struct sreq *x)
{
	struct strlist	 l, names;
	struct buf	 label = { 0 };
	struct envelope	 env;
	struct err	 e;
	size_t		 i, j;
	int		 fd;

	memset(&names, 0, sizeof(names));
	if (spool_list(x->r->spool, SP_DEAD, &l, &e) == -1)
		return;
	for (i = 0; i < l.n; i++) {
		if ((fd = spool_open_entry(x->r->spool, SP_DEAD, l.v[i], &env,
		    &e)) == -1)
			continue;
		(void)close(fd);
		for (j = 0; j < names.n; j++)
			if (strcmp(names.v[j], env.event) == 0)
				break;
		if (j == names.n && names.n < LIST_MAX)
			(void)strlist_push(&names, env.event);
		envelope_free(&env);
	}
	strlist_free(&l);
	if (names.n > 0)
		buf_puts(&x->h, "<p>Replay every dead event of a name: ");
	for (j = 0; j < names.n; j++) {
		buf_reset(&label);
		buf_puts(&label, "all dead ");
		buf_puts(&label, names.v[j]);
		post_form(x, "replay", buf_cstr(&label), "event", names.v[j],
		    NULL);
		buf_puts(&x->h, " ");
	}
	buf_free(&label);
	if (names.n > 0)
		buf_puts(&x->h, "</p>\n");
	strlist_free(&names);
}

static void
text_input(struct sreq *x, const char *name, const char *label)
{
	const char *v = qget(&x->query, name);

	buf_printf(&x->h, "<label>%s <input type=\"text\" name=\"%s\" "
	    "size=\"14\" value=\"", label, name);
	htmls(&x->h, v != NULL ? v : "");
	buf_puts(&x->h, "\"></label> ");
}

static void
flash(struct sreq *x)
{
	const char	*v = qget(&x->query, "replayed");
	long		 n;
	char		*end;

	if (v == NULL)
		return;
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < 0)
		return;
	buf_printf(&x->h, "<p class=\"done\" id=\"flash\">%ld event%s "
	    "replayed</p>\n", n, n == 1 ? "" : "s");
}

static int
overview(struct sreq *x)
{
	static const enum spool_dir dead[] = { SP_DEAD };
	static const enum spool_dir retry[] = { SP_RETRY };
	struct strlist	 l;
	struct err	 e;
	struct buf	*h = &x->h;
	enum spool_dir	 fst[NSTATES];
	const char	*st = qget(&x->query, "state");
	size_t		 i, nst = 0;

	page_begin(x, "Status");
	flash(x);
	buf_puts(h, "<h2>Counts</h2><table class=\"counts\" id=\"counts\"><tr>");
	for (i = 0; i < NSTATES; i++)
		buf_printf(h, "<th>%s</th>", spool_dirname(states[i]));
	buf_puts(h, "</tr><tr>");
	for (i = 0; i < NSTATES; i++) {
		if (spool_list(x->r->spool, states[i], &l, &e) == -1) {
			buf_puts(h, "<td>?</td>");
			continue;
		}
		buf_printf(h, "<td class=\"%s\" id=\"count-%s\">%zu</td>",
		    spool_dirname(states[i]), spool_dirname(states[i]), l.n);
		strlist_free(&l);
	}
	buf_puts(h, "</tr></table>\n<h2>Dead</h2>\n");
	dead_names(x);
	list_table(x, dead, 1, NULL, NULL, "dead");
	buf_puts(h, "<h2>Retry</h2>\n");
	list_table(x, retry, 1, NULL, NULL, "retry");
	buf_puts(h, "<h2>Recent events</h2><form method=\"get\" action=\"");
	htmls(h, x->base);
	buf_puts(h, "/\"><label>state <select name=\"state\">"
	    "<option value=\"\">any</option>");
	for (i = 0; i < NSTATES; i++) {
		buf_printf(h, "<option%s>%s</option>", st != NULL &&
		    strcmp(st, spool_dirname(states[i])) == 0 ?
		    " selected" : "", spool_dirname(states[i]));
		if (st == NULL || *st == '\0' || strcmp(st,
		    spool_dirname(states[i])) == 0)
			fst[nst++] = states[i];
	}
	buf_puts(h, "</select></label> ");
	text_input(x, "endpoint", "endpoint");
	text_input(x, "event", "event");
	buf_puts(h, "<button type=\"submit\">Filter</button></form>\n");
	list_table(x, fst, nst, qget(&x->query, "endpoint"),
	    qget(&x->query, "event"), "recent");
	return page_end(x, 200);
}

static void
row(struct buf *h, const char *k, const char *v)
{
	buf_puts(h, "<tr><th>");
	htmls(h, k);
	buf_puts(h, "</th><td>");
	htmls(h, v != NULL ? v : "-");
	buf_puts(h, "</td></tr>\n");
}

static long long
jint(json_object *o, const char *key)
{
	json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return -1;
	return (long long)json_object_get_int64(v);
}

/* The history, from spool_hist_load, as `hookpipe show` reads it. */
static void
history(struct sreq *x, const char *name)
{
	struct history	 hi;
	struct err	 e;
	struct buf	*h = &x->h;
	json_object	*o;
	const char	*type, *tail;
	size_t		 i, n = 0;

	buf_puts(h, "<h2>History</h2><table id=\"history\"><tr><th>time</th>"
	    "<th>record</th></tr>\n");
	if (spool_hist_load(x->r->spool, name, &hi, &e) == 0)
		n = json_object_array_length(hi.records);
	for (i = 0; i < n; i++) {
		o = json_object_array_get_idx(hi.records, i);
		type = json_str(o, "type");
		buf_puts(h, "<tr><td>");
		htmls(h, json_str(o, "time"));
		buf_puts(h, "</td><td>");
		if (type == NULL)
			buf_puts(h, "?");
		else if (strcmp(type, "attempt") == 0)
			buf_printf(h, "<b>attempt %lld</b>", jint(o,
			    "attempt"));
		else if (strcmp(type, "handler") == 0) {
			buf_puts(h, "handler ");
			htmls(h, json_str(o, "handler"));
			buf_puts(h, ": ");
			htmls(h, json_str(o, "result"));
			if (jint(o, "exit") >= 0)
				buf_printf(h, ", exit code %lld",
				    jint(o, "exit"));
			buf_printf(h, ", %lld ms", jint(o, "ms"));
			if ((tail = json_str(o, "stderr")) != NULL &&
			    *tail != '\0') {
				buf_puts(h, "<pre class=\"stderr\">");
				htmls(h, tail);
				buf_puts(h, "</pre>");
			}
		} else if (strcmp(type, "state") == 0) {
			buf_puts(h, "&rarr; ");
			htmls(h, json_str(o, "state"));
			if (json_str(o, "reason") != NULL) {
				buf_puts(h, ": ");
				htmls(h, json_str(o, "reason"));
			}
		} else if (strcmp(type, "replay") == 0) {
			buf_puts(h, "replayed by ");
			htmls(h, json_str(o, "by"));
		} else if (strcmp(type, "run") == 0)
			buf_printf(h, "started (process group %lld)",
			    jint(o, "pgid"));
		else
			htmls(h, type);
		buf_puts(h, "</td></tr>\n");
	}
	if (n == 0)
		buf_puts(h, "<tr><td colspan=\"2\">none</td></tr>\n");
	buf_puts(h, "</table>\n");
	spool_hist_free(&hi);
}

/* The entry named by ?n=, with its state; -1 when there is none. */
static int
find_entry(struct sreq *x, const char *n, enum spool_dir *d)
{
	if (n == NULL || *n == '\0' || *n == '.' || strchr(n, '/') != NULL ||
	    strlen(n) >= SPOOL_NAME_MAX)
		return -1;
	if ((*d = spool_find(x->r->spool, n)) == SP_NDIRS || *d == SP_TMP ||
	    *d == SP_QUAR || *d == SP_IDS || *d == SP_HIST)
		return -1;
	return 0;
}

static int
event_page(struct sreq *x)
{
	struct envelope	 env;
	struct err	 e;
	struct buf	*h = &x->h;
	json_object	*hd;
	enum spool_dir	 d;
	const char	*name;
	char		 num[64], chunk[PAYLOAD_SHOWN];
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if (find_entry(x, name = qget(&x->query, "n"), &d) == -1)
		return refuse(x, 404, "no such entry");
	if ((fd = spool_open_entry(x->r->spool, d, name, &env, &e)) == -1)
		return refuse(x, 404, "no such entry");
	page_begin(x, env.event);
	flash(x);
	buf_puts(h, "<h2>Event <span class=\"event\">");
	htmls(h, env.event);
	buf_puts(h, "</span></h2><table id=\"envelope\">\n");
	row(h, "entry", name);
	buf_printf(h, "<tr><th>state</th><td id=\"state\" class=\"%s\">%s"
	    "</td></tr>\n", spool_dirname(d), spool_dirname(d));
	row(h, "endpoint", env.endpoint);
	row(h, "event", env.event);
	row(h, "id", env.id);
	row(h, "received", env.received_at);
	row(h, "request", env.request_id);
	row(h, "remote", env.remote);
	row(h, "mode", env.sync ? "sync" : "queue");
	(void)snprintf(num, sizeof(num), "%zu", env.bytes);
	row(h, "bytes", num);
	buf_puts(h, "</table>\n");
	if (d == SP_RETRY || d == SP_DEAD || d == SP_DONE) {
		post_form(x, "replay", "Replay", "n", name, "replay");
		buf_puts(h, "\n");
	}
	buf_puts(h, "<h2>Headers kept</h2><table id=\"headers\">\n");
	if (json_object_object_get_ex(env.obj, "headers", &hd) &&
	    json_object_is_type(hd, json_type_object)) {
		json_object_object_foreach(hd, k, v)
			row(h, k, json_object_get_string(v));
	}
	buf_puts(h, "</table>\n");
	history(x, name);
	buf_puts(h, "<h2>Payload</h2><p><a id=\"raw\" href=\"");
	htmls(h, x->base);
	buf_puts(h, "/raw?n=");
	urlenc(h, name);
	buf_puts(h, "\">download the raw body</a></p><pre id=\"payload\">");
	while (got < sizeof(chunk) && (n = read(fd, chunk + got,
	    sizeof(chunk) - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			break;
		got += (size_t)n;
	}
	html(h, chunk, got);
	buf_puts(h, "</pre>\n");
	if (env.bytes > got)
		buf_printf(h, "<p id=\"truncated\">(%zu of %zu bytes shown)"
		    "</p>\n", got, env.bytes);
	(void)close(fd);
	envelope_free(&env);
	return page_end(x, 200);
}

static int
raw_body(struct sreq *x)
{
	struct envelope	 env;
	struct err	 e;
	enum spool_dir	 d;
	const char	*name;
	char		 chunk[65536];
	ssize_t		 n;
	int		 fd;

	if (find_entry(x, name = qget(&x->query, "n"), &d) == -1)
		return refuse(x, 404, "no such entry");
	if ((fd = spool_open_entry(x->r->spool, d, name, &env, &e)) == -1)
		return refuse(x, 404, "no such entry");
	envelope_free(&env);
	buf_reset(&x->a->body);
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || x->a->body.len + (size_t)n > RAW_MAX) {
			(void)close(fd);
			return refuse(x, 500, "unable to read the entry");
		}
		buf_add(&x->a->body, chunk, (size_t)n);
	}
	(void)close(fd);
	if (x->a->body.oom)
		return refuse(x, 500, "out of memory");
	x->a->status = 200;
	x->a->content_type = "application/octet-stream";
	/* The name is [0-9a-f.] (spool_newname); checked again anyway. */
	buf_printf(&x->a->headers, "Content-Disposition: attachment; "
	    "filename=\"%s.body\"\r\n", name[strspn(name,
	    "0123456789abcdef.")] == '\0' ? name : "event");
	return 200;
}

/* POST replay: one entry (n=) or every dead entry of an event name
 * (event=), each through deliver_replay; then a runner is started. */
static int
replay(struct sreq *x)
{
	struct strlist	 l;
	struct envelope	 env;
	struct err	 e;
	enum spool_dir	 d;
	const char	*name = qget(&x->body, "n");
	const char	*event = qget(&x->body, "event");
	char		 by[128], to[256];
	size_t		 i;
	int		 fd, n = 0, k;

	(void)snprintf(by, sizeof(by), "status page (%s)",
	    x->remote != NULL ? x->remote : "?");
	if (name != NULL) {
		if (find_entry(x, name, &d) == -1)
			return refuse(x, 404, "no such entry");
		if (deliver_replay(x->r->spool, &x->r->log, name, d, by,
		    &e) == -1)
			return refuse(x, 409, "this entry cannot be replayed "
			    "now (it is waiting or running)");
		x->a->kick = 1;
		buf_reset(&x->h);
		urlenc(&x->h, name);
		(void)snprintf(to, sizeof(to), "/event?n=%s&replayed=1",
		    buf_cstr(&x->h));
		return redirect(x, to);
	}
	if (event == NULL || !event_name_ok(event))
		return refuse(x, 400, "name an entry (n) or an event (event)");
	if (spool_list(x->r->spool, SP_DEAD, &l, &e) == -1)
		return refuse(x, 503, "unable to read the spool");
	for (i = 0; i < l.n; i++) {
		if ((fd = spool_open_entry(x->r->spool, SP_DEAD, l.v[i], &env,
		    &e)) == -1)
			continue;
		(void)close(fd);
		k = strcmp(env.event, event);
		envelope_free(&env);
		if (k == 0 && deliver_replay(x->r->spool, &x->r->log, l.v[i],
		    SP_DEAD, by, &e) == 0)
			n++;
	}
	strlist_free(&l);
	x->a->kick = n > 0;
	(void)snprintf(to, sizeof(to), "/?replayed=%d", n);
	return redirect(x, to);
}

static int
post(struct sreq *x)
{
	struct err	 e;
	const char	*pw, *tok;
	int		 ok, wait;

	if (!same_origin(x))
		return refuse(x, 403, "cross-origin request refused");
	if (strcmp(x->sub, "/login") == 0) {
		if (x->r->rate.fd == -1) {
			char path[PATH_MAX];

			(void)snprintf(path, sizeof(path), "%s/ratelimit",
			    spool_path(x->r->spool));
			(void)ratelimit_open(&x->r->rate, path, &e);
		}
		/* Every attempt takes a token, so that the answer to a
		 * wrong password cannot tell a guesser more than 429. */
		wait = ratelimit_take(&x->r->rate, x->remote ? x->remote : "",
		    "_status", x->c->status_login_attempts / LOGIN_WINDOW,
		    x->c->status_login_attempts);
		if (wait > 0) {
			x->a->retry_after = wait;
			return refuse(x, 429, "too many login attempts from "
			    "this address");
		}
		if (read_form(x, &e) == -1)
			return refuse(x, 400, "not a login form");
		if ((pw = qget(&x->body, "password")) == NULL ||
		    strlen(pw) > PASSWORD_MAX)
			return login_page(x, 401, "wrong password");
		ok = password_ok(x, pw, &e);
		if (ok == -1) {
			x->a->retry_after = 60;
			refuse(x, 503, "the status page's password file is "
			    "unusable (see the delivery log)");
			deliver_log_error(&x->r->log, "status",
			    x->c->status_password_file, e.msg);
			return 503;
		}
		if (!ok)
			return login_page(x, 401, "wrong password");
		if (new_session(x) == -1)
			return refuse(x, 503, "unable to make a session");
		return redirect(x, "/");
	}
	if (strcmp(x->sub, "/replay") != 0 && strcmp(x->sub, "/logout") != 0)
		return refuse(x, 404, "no such page");
	if (x->session[0] == '\0')
		return refuse(x, 403, "not logged in");
	if (read_form(x, &e) == -1)
		return refuse(x, 400, "not a form");
	tok = qget(&x->body, "csrf");
	if (tok == NULL || !ct_equal(tok, strlen(tok), x->csrf,
	    strlen(x->csrf)))
		return refuse(x, 403, "CSRF token missing or wrong");
	if (strcmp(x->sub, "/logout") == 0) {
		set_cookie(x, "", 0);
		x->session[0] = '\0';
		return redirect(x, "/");
	}
	return replay(x);
}

int
status_serve(struct receiver *r, const struct request *req,
    struct answer *a)
{
	struct sreq	 x;
	struct err	 e;
	const char	*pi = param_get(req->params, "PATH_INFO");
	const char	*q = param_get(req->params, "QUERY_STRING");
	const char	*https = param_get(req->params, "HTTPS");
	int		 rc;

	memset(&x, 0, sizeof(x));
	x.r = r;
	x.req = req;
	x.a = a;
	x.c = r->conf;
	x.sub = pi + 8;
	x.method = param_get(req->params, "REQUEST_METHOD");
	x.remote = param_get(req->params, "REMOTE_ADDR");
	x.https = https != NULL && (strcasecmp(https, "on") == 0 ||
	    strcmp(https, "1") == 0);
	if (!x.c->status_on)
		return refuse(&x, 404, "no such endpoint");
	secure_headers(a);
	if (x.c->status_allow_from.n > 0 && (x.remote == NULL ||
	    !cidr_list_match(&x.c->status_allow_from, x.remote)))
		return refuse(&x, 403, "source address not allowed");
	find_base(&x, pi);
	if (crypto_load(&e) == -1 || load_key(&x, &e) == -1) {
		deliver_log_error(&r->log, "status", spool_path(r->spool),
		    e.msg);
		a->retry_after = 60;
		return refuse(&x, 503, "the status page cannot work now (see "
		    "the delivery log)");
	}
	if (form_parse(q != NULL ? q : "", q != NULL ? strlen(q) : 0,
	    &x.query, &e) == -1) {
		rc = refuse(&x, 400, "query string is not a form");
		goto out;
	}
	check_session(&x);
	if (x.method != NULL && strcmp(x.method, "POST") == 0)
		rc = post(&x);
	else if (x.method == NULL || (strcmp(x.method, "GET") != 0 &&
	    strcmp(x.method, "HEAD") != 0))
		rc = refuse(&x, 405, "method not allowed");
	else if (strcmp(x.sub, "/replay") == 0 || strcmp(x.sub, "/logout") ==
	    0 || strcmp(x.sub, "/login") == 0) {
		if (strcmp(x.sub, "/login") == 0)
			rc = login_page(&x, 200, NULL);
		else {
			a->allow_post = 1;
			rc = refuse(&x, 405, "method not allowed: use POST");
		}
	} else if (x.session[0] == '\0')
		rc = login_page(&x, 401, NULL);
	else if (strcmp(x.sub, "") == 0 || strcmp(x.sub, "/") == 0)
		rc = overview(&x);
	else if (strcmp(x.sub, "/event") == 0)
		rc = event_page(&x);
	else if (strcmp(x.sub, "/raw") == 0)
		rc = raw_body(&x);
	else
		rc = refuse(&x, 404, "no such page");
out:
	form_free(&x.query);
	form_free(&x.body);
	buf_free(&x.h);
	wipe(x.key, sizeof(x.key));
	wipe(x.csrf, sizeof(x.csrf));
	wipe(x.session, sizeof(x.session));
	return rc;
}
