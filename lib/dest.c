/* dest: the table of forward schemes (how each URL is checked), the
 * checks of hookpipe check, and the dispatch from the delivery engine to
 * a scheme's ops. No libcurl here: the responder links this file and
 * never maps libcurl (its ops are in lib/dest_http.c, registered by the
 * programs that forward). */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dest.h"

#define MAX_OPS	8

/* Options a scheme needs: DEST_O_* */
#define DEST_O_SECRET	0x1	/* secret_file */
#define DEST_O_CREDS	0x2	/* credentials_file */
#define DEST_O_TLS	0x4	/* ca_file, tls_verify */
#define DEST_O_ENDPOINT	0x8	/* endpoint_url */
#define DEST_O_AMQP	0x10	/* exchange, routing_key */

/* One scheme: its URL syntax and the options it takes. To add one
 * (amqp://): a row here, its parse function, and lib/dest_SCHEME.c with
 * its struct dest_ops, listed in dest_net_init (amqp:// is in
 * lib/dest_amqp.c). */
struct dest_scheme {
	const char	*name;
	int		(*parse)(const char *, struct dest_url *, struct err *);
	unsigned	 takes;		/* DEST_O_* */
	unsigned	 needs;
	int		 curl;		/* sent with libcurl */
	int		 rabbitmq;	/* sent with librabbitmq */
	int		 publish;	/* to a queue or a broker */
};

static int	parse_http(const char *, struct dest_url *, struct err *);
static int	parse_sqs(const char *, struct dest_url *, struct err *);
static int	parse_amqp(const char *, struct dest_url *, struct err *);

static const struct dest_scheme schemes[] = {
	{ "https", parse_http, DEST_O_SECRET | DEST_O_TLS, DEST_O_SECRET, 1,
	    0, 0 },
	{ "http", parse_http, DEST_O_SECRET | DEST_O_TLS, DEST_O_SECRET, 1,
	    0, 0 },
	{ "sqs", parse_sqs, DEST_O_CREDS | DEST_O_TLS | DEST_O_ENDPOINT,
	    DEST_O_CREDS, 1, 0, 1 },
	{ "amqps", parse_amqp, DEST_O_SECRET | DEST_O_TLS | DEST_O_AMQP,
	    DEST_O_SECRET, 0, 1, 1 },
	{ "amqp", parse_amqp, DEST_O_SECRET | DEST_O_AMQP, DEST_O_SECRET, 0,
	    1, 1 },
};

static const struct dest_ops *ops[MAX_OPS];

static const struct dest_scheme *
scheme_of(const char *url, size_t *len)
{
	size_t i, n;

	for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		n = strlen(schemes[i].name);
		if (strncasecmp(url, schemes[i].name, n) == 0 &&
		    strncmp(url + n, "://", 3) == 0) {
			*len = n + 3;
			return &schemes[i];
		}
	}
	return NULL;
}

static int
host_loopback(const char *h)
{
	return strcasecmp(h, "localhost") == 0 || strcmp(h, "::1") == 0 ||
	    (strncmp(h, "127.", 4) == 0 && strspn(h, "0123456789.") ==
	    strlen(h));
}

/* The host and port of an authority, up to the first '/' (or end). */
static int
parse_authority(const char *p, struct dest_url *u, const char **rest,
    struct err *e)
{
	const char	*end = p + strcspn(p, "/?#"), *colon;
	char		*stop;
	size_t		 n;
	long		 port;

	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return err_set(e, "a user or password in the URL would be "
		    "logged with it: leave it out (secrets go in "
		    "secret_file or credentials_file)");
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (close == NULL)
			return err_set(e, "an IPv6 address lacks its ']'");
		n = (size_t)(close - p - 1);
		if (n == 0 || n >= sizeof(u->host))
			return err_set(e, "bad IPv6 address");
		memcpy(u->host, p + 1, n);
		u->host[n] = '\0';
		colon = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		if (close + 1 < end && colon == NULL)
			return err_set(e, "text after the IPv6 address");
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		n = (size_t)((colon != NULL ? colon : end) - p);
		if (n == 0 || n >= sizeof(u->host))
			return err_set(e, "the URL has no host");
		memcpy(u->host, p, n);
		u->host[n] = '\0';
		if (strspn(u->host, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != n)
			return err_set(e, "the host '%s' has a character a "
			    "host name cannot", u->host);
	}
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &stop, 10);
		if (errno != 0 || stop != end || port < 1 || port > 65535)
			return err_set(e, "the port is not a number from 1 to "
			    "65535");
		u->port = (int)port;
	}
	u->loopback = host_loopback(u->host);
	*rest = end;
	return 0;
}

/* https://HOST[:PORT]/PATH; http:// only to this host. */
static int
parse_http(const char *url, struct dest_url *u, struct err *e)
{
	const char	*rest = "";
	size_t		 n;

	if (parse_authority(url + strlen(u->scheme) + 3, u, &rest, e) == -1)
		return -1;
	if (*rest == '#' || strchr(rest, '#') != NULL)
		return err_set(e, "a fragment (#...) is never sent: leave it "
		    "out");
	n = strlen(rest);
	if (n + 2 > sizeof(u->path))
		return err_set(e, "the path is too long");
	(void)snprintf(u->path, sizeof(u->path), "%s%s", *rest == '/' ? "" :
	    "/", rest);
	if (strcmp(u->scheme, "http") == 0 && !u->loopback)
		return err_set(e, "plain http:// would send events and their "
		    "signatures in clear: write https://, or forward to a "
		    "loopback host (127.0.0.1, ::1, localhost) only");
	return 0;
}

/* sqs://REGION/ACCOUNT/QUEUE */
static int
parse_sqs(const char *url, struct dest_url *u, struct err *e)
{
	const char	*p = url + strlen(u->scheme) + 3, *a, *q;
	size_t		 n;

	a = strchr(p, '/');
	q = a != NULL ? strchr(a + 1, '/') : NULL;
	if (a == NULL || q == NULL || strchr(q + 1, '/') != NULL)
		return err_set(e, "write sqs://REGION/ACCOUNT/QUEUE, like "
		    "sqs://eu-west-1/123456789012/hooks.fifo");
	n = (size_t)(a - p);
	if (n == 0 || n >= sizeof(u->region) ||
	    strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789-") < n)
		return err_set(e, "the region is not like eu-west-1");
	memcpy(u->region, p, n);
	u->region[n] = '\0';
	n = (size_t)(q - a - 1);
	if (n != 12 || strspn(a + 1, "0123456789") < n)
		return err_set(e, "the account is not 12 digits");
	memcpy(u->account, a + 1, n);
	u->account[n] = '\0';
	n = strlen(q + 1);
	/* SQS queue names: 1 to 80 of letters, digits, - and _ (and
	 * .fifo at the end of a FIFO queue's). */
	if (n == 0 || n > 80 || n >= sizeof(u->queue))
		return err_set(e, "the queue name is not 1 to 80 characters");
	memcpy(u->queue, q + 1, n + 1);
	u->fifo = n > 5 && strcmp(u->queue + n - 5, ".fifo") == 0;
	if (strspn(u->queue, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n - (u->fifo ? 5 : 0))
		return err_set(e, "the queue name may hold letters, digits, - "
		    "and _ (and end in .fifo)");
	(void)snprintf(u->host, sizeof(u->host), "sqs.%s.amazonaws.com",
	    u->region);
	(void)snprintf(u->path, sizeof(u->path), "/%s/%s", u->account,
	    u->queue);
	return 0;
}

/* One %XX of a vhost: -1 when it is not two hex digits. */
static int
unhex(const char *p)
{
	int	i, v = 0, c;

	for (i = 0; i < 2; i++) {
		c = (unsigned char)p[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + c - '0';
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* amqp[s]://USER@HOST[:PORT][/VHOST] as RabbitMQ's URI spec has it (the
 * vhost percent-encoded: %2F is "/", the default), but the password is
 * never in the URL: it would be logged with it (secret_file holds it). */
static int
parse_amqp(const char *url, struct dest_url *u, struct err *e)
{
	const char	*p = url + strlen(u->scheme) + 3, *at, *rest, *v;
	size_t		 n;
	int		 c;

	u->tls = strcmp(u->scheme, "amqps") == 0;
	at = memchr(p, '@', strcspn(p, "/?#"));
	if (at == NULL)
		return err_set(e, "write %s://USER@HOST[:PORT][/VHOST]: the "
		    "user is missing (its password goes in secret_file)",
		    u->scheme);
	n = (size_t)(at - p);
	if (memchr(p, ':', n) != NULL)
		return err_set(e, "a password in the URL would be logged with "
		    "it: leave it out (write it in secret_file)");
	if (n == 0 || n >= sizeof(u->user) || strspn(p,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	    ".-_~") < n)
		return err_set(e, "the user is not 1 to 127 letters, digits, "
		    "'.', '-', '_' or '~'");
	memcpy(u->user, p, n);
	u->user[n] = '\0';
	if (parse_authority(at + 1, u, &rest, e) == -1)
		return -1;
	if (u->port == 0)
		u->port = u->tls ? 5671 : 5672;
	if (*rest == '?' || *rest == '#')
		return err_set(e, "query options (?...) and fragments are not "
		    "read: the options are keys of the section (exchange, "
		    "routing_key, timeout)");
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		(void)snprintf(u->vhost, sizeof(u->vhost), "/");
		return 0;
	}
	for (v = rest + 1, n = 0; *v != '\0'; v++) {
		if (*v == '/' || *v == '?' || *v == '#')
			return err_set(e, "the vhost holds '%c': percent-encode "
			    "it (%%2F for '/')", *v);
		c = (unsigned char)*v;
		if (c == '%') {
			if ((c = unhex(v + 1)) <= 0)
				return err_set(e, "the vhost has a bad %%XX");
			v += 2;
		}
		if (n + 1 >= sizeof(u->vhost))
			return err_set(e, "the vhost is too long");
		u->vhost[n++] = (char)c;
	}
	u->vhost[n] = '\0';
	(void)snprintf(u->path, sizeof(u->path), "%s", rest);
	return 0;
}

const char *
dest_public(const char *url, char *out, size_t len)
{
	const char	*auth, *end, *at = NULL, *p;

	if ((auth = strstr(url, "://")) == NULL) {
		(void)snprintf(out, len, "%s", url);
		return out;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		(void)snprintf(out, len, "%s", url);
	else
		(void)snprintf(out, len, "%.*s%s", (int)(auth - url), url,
		    at + 1);
	return out;
}

int
dest_publishes(const char *url)
{
	const struct dest_scheme	*s;
	size_t				 n;

	return (s = scheme_of(url, &n)) != NULL && s->publish;
}

int
dest_parse(const char *url, struct dest_url *u, struct err *e)
{
	const struct dest_scheme	*s;
	size_t				 i, n;

	memset(u, 0, sizeof(*u));
	if ((s = scheme_of(url, &n)) == NULL)
		return err_set(e, "'%s' is no destination: write https://..., "
		    "sqs://REGION/ACCOUNT/QUEUE, amqp[s]://USER@HOST/VHOST "
		    "(or http:// to this host)", url);
	for (i = 0; url[i] != '\0'; i++)
		if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
			return err_set(e, "the URL holds a space or control "
			    "character: percent-encode it");
	(void)snprintf(u->scheme, sizeof(u->scheme), "%s", s->name);
	return s->parse(url, u, e);
}

/* A file the destination reads at each attempt: readable now, and
 * private when it holds a secret. */
static int
check_file(const char *key, const char *path, int secret, struct err *e)
{
	struct stat	st;
	int		fd;

	if ((fd = open_file(AT_FDCWD, path, O_RDONLY, e)) == -1)
		return err_set(e, "%s %s cannot be read: %s", key, path,
		    e->msg);
	if (fstat(fd, &st) == -1) {
		err_sys(e, "%s %s", key, path);
		(void)close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return err_sys(e, "%s %s", key, path);
	if (secret && (st.st_mode & 077) != 0)
		return err_set(e, "%s %s may be read by others (mode %03o): "
		    "chmod 600 it", key, path, (unsigned)(st.st_mode & 0777));
	return 0;
}

int
dest_check(const struct event_conf *ev, struct err *e)
{
	const struct dest_scheme	*s;
	struct dest_url			 u;
	size_t				 n;

	if (ev->forward == NULL)
		return 0;
	if (dest_parse(ev->forward, &u, e) == -1 ||
	    (s = scheme_of(ev->forward, &n)) == NULL)
		return -1;
#ifndef HAVE_CURL
	if (s->curl)
		return err_set(e, "forward = %s: this hookpipe was built "
		    "without libcurl (--without-curl), so it cannot forward "
		    "to %s://; build it with libcurl4-openssl-dev", ev->forward,
		    s->name);
#endif
#ifndef HAVE_RABBITMQ
	if (s->rabbitmq)
		return err_set(e, "forward = %s: this hookpipe was built "
		    "without librabbitmq, so it cannot forward to %s://; "
		    "build it with librabbitmq-dev", ev->forward, s->name);
#endif
	if (ev->secret_file != NULL && check_file("secret_file",
	    ev->secret_file, 1, e) == -1)
		return -1;
	if (ev->credentials_file != NULL && check_file("credentials_file",
	    ev->credentials_file, 1, e) == -1)
		return -1;
	if (ev->ca_file != NULL && check_file("ca_file", ev->ca_file, 0, e) ==
	    -1)
		return -1;
	return 0;
}

int
dest_options(const struct event_conf *ev, const char **key, struct err *e)
{
	const struct dest_scheme	*s;
	size_t				 n;
	const struct {
		unsigned	 bit;
		const char	*key;
		int		 set;
	} opt[] = {
		{ DEST_O_SECRET, "secret_file", ev->secret_file != NULL },
		{ DEST_O_CREDS, "credentials_file",
		    ev->credentials_file != NULL },
		{ DEST_O_TLS, "ca_file", ev->ca_file != NULL },
		{ DEST_O_TLS, "tls_verify", !ev->tls_verify },
		{ DEST_O_ENDPOINT, "endpoint_url", ev->endpoint_url != NULL },
		{ DEST_O_AMQP, "exchange", ev->exchange != NULL },
		{ DEST_O_AMQP, "routing_key", ev->routing_key != NULL },
	};
	size_t				 i;

	s = ev->forward != NULL ? scheme_of(ev->forward, &n) : NULL;
	for (i = 0; i < sizeof(opt) / sizeof(opt[0]); i++) {
		*key = opt[i].key;
		if (opt[i].set && s == NULL)
			return err_set(e, "%s is an option of forward =, which "
			    "this section does not set", opt[i].key);
		if (s == NULL)
			continue;
		if (opt[i].set && !(s->takes & opt[i].bit))
			return err_set(e, "forward = %s:// does not take %s",
			    s->name, opt[i].key);
		if (!opt[i].set && (s->needs & opt[i].bit))
			return err_set(e, "forward = %s:// needs %s", s->name,
			    opt[i].key);
	}
	return 0;
}

void
dest_register(const struct dest_ops *o)
{
	size_t i;

	for (i = 0; i < MAX_OPS; i++)
		if (ops[i] == NULL || ops[i] == o) {
			ops[i] = o;
			return;
		}
}

int
dest_start(struct dest_job *j, const char *url, const struct dest_msg *m,
    struct err *e)
{
	struct dest_url	u;
	size_t		i;

	memset(j, 0, sizeof(*j));
	j->start = mono_ms();
	if (dest_parse(url, &u, e) == -1)
		return -1;
	for (i = 0; i < MAX_OPS && ops[i] != NULL; i++)
		if (strcmp(ops[i]->scheme, u.scheme) == 0)
			break;
	if (i == MAX_OPS || ops[i] == NULL)
		return err_set(e, "this program cannot forward to %s:// (built "
		    "without libcurl or librabbitmq, or not a runner)",
		    u.scheme);
	j->ops = ops[i];
	if (j->ops->start(j, &u, m, e) == -1) {
		dest_cancel(j);
		return -1;
	}
	return 0;
}

int
dest_pollfds(struct dest_job *j, struct pollfd *p)
{
	return j->ops != NULL && !j->done ? j->ops->pollfds(j, p) : 0;
}

int64_t
dest_wake(const struct dest_job *j)
{
	return j->ops != NULL && !j->done ? j->ops->wake(j) : INT64_MAX;
}

int
dest_step(struct dest_job *j)
{
	if (j->done)
		return 1;
	if (j->ops == NULL)
		return dest_done(j, 75, 0, "not started");
	return j->ops->step(j);
}

void
dest_cancel(struct dest_job *j)
{
	if (j->ops != NULL)
		j->ops->cancel(j);
	j->ops = NULL;
	j->st = NULL;
	handler_result_free(&j->res);
}

int
dest_done(struct dest_job *j, int code, int timed_out, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	j->done = 1;
	j->res.exited = 1;
	j->res.code = code;
	j->res.timed_out = timed_out;
	j->res.ms = mono_ms() - j->start;
	va_start(ap, fmt);
	n = vsnprintf(j->res.tail, sizeof(j->res.tail), fmt, ap);
	va_end(ap);
	j->res.taillen = n < 0 ? 0 : (size_t)n >= sizeof(j->res.tail) ?
	    sizeof(j->res.tail) - 1 : (size_t)n;
	return 1;
}

int
dest_read_body(int fd, struct buf *b, size_t max, const char *verb,
    struct err *e)
{
	char	chunk[65536];
	ssize_t	n;
	off_t	off = 0;

	for (;;) {
		n = pread(fd, chunk, sizeof(chunk), off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return err_sys(e, "unable to read the event body");
		if (n == 0)
			break;
		buf_add(b, chunk, (size_t)n);
		if (b->oom || b->len > max)
			return err_set(e, "the body is too large to %s", verb);
		off += n;
	}
	return 0;
}
