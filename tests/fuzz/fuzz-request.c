/* fuzz-request: the whole request decision, receiver_handle(), with a
 * real configuration, a real spool and a handlers folder on disk (made
 * once), one receiver per auth scheme. receiver_kick is never called:
 * accepted events stay in new/ and are cleared every CLEAN_EVERY runs.
 *
 * Input framing (text, easy to write by hand):
 *   line 1: option letters. Scheme: T token (default), W standard-
 *     webhooks, G github, S stripe, H hmac (the first one found).
 *     s = authentic (the right token, or a valid signature made by the
 *     harness over the body the receiver will read), h = HTTPS=on,
 *     p = REQUEST_METHOD=POST, j = CONTENT_TYPE=application/json,
 *     l = CONTENT_LENGTH = the body's length, c = the body arrives one
 *     byte per read.
 *   then NAME=VALUE lines, the CGI parameters, up to an empty line;
 *     they come before the ones the options add, so they win
 *     (except the harness's signature headers with s);
 *   the rest is the body.
 * REMOTE_ADDR=127.0.0.1 is added last (a given one wins).
 * FUZZ_TRACE=1 prints the status and reason of every input. */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzzutil.h"
#include "payload.h"
#include "receive.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define CLEAN_EVERY	64
#define MAX_PARAMS	48
#define MAX_NEW		(CLEAN_EVERY + 8)

enum { S_TOKEN, S_STDWH, S_GITHUB, S_STRIPE, S_HMAC, S_N };

static const char token[] = "fuzz-token-0123456789abcdef0123";
static const char token_old[] = "fuzz-token-old-0123456789abcd";
static const char key[] = "fuzz-secret-0123456789abcdef";
static const char stdkey[] = "fuzz-standard-webhooks-key";

static const char *const ini[S_N] = {
	/* token: HTTPS, address lists, required fields, unknown rejected */
	"[hookpipe]\nspool_dir = spool-token\nhandlers_dir = handlers\n"
	"log_file = /dev/null\nmax_body = 16K\nrequire_https = yes\n"
	"event_field = event\nid_field = id\nrequired = data\n"
	"unknown_events = reject\n"
	"[auth]\ntoken_file = token\n"
	"allow_from = 127.0.0.0/8, 192.0.2.0/24, 2001:db8::/32\n"
	"trusted_proxies = 10.0.0.0/8, ::1\n"
	"[event payment.processed]\nrequired = data.payment_id\n"
	"[event order.created]\n",
	"[hookpipe]\nspool_dir = spool-stdwh\nhandlers_dir = handlers\n"
	"log_file = /dev/null\nrequire_https = no\nevent_field = type\n"
	"[auth]\nverify = standard-webhooks\nsecret_file = whsec\n",
	"[hookpipe]\nspool_dir = spool-github\nhandlers_dir = handlers\n"
	"log_file = /dev/null\nrequire_https = no\nunknown_events = reject\n"
	"[auth]\nverify = github\nsecret_file = secret\n",
	"[hookpipe]\nspool_dir = spool-stripe\nhandlers_dir = handlers\n"
	"log_file = /dev/null\nrequire_https = no\nevent_field = type\n"
	"id_field = id\nrequired = data.object\n"
	"[auth]\nverify = stripe\nsecret_file = secret\n",
	"[hookpipe]\nspool_dir = spool-hmac\nhandlers_dir = handlers\n"
	"log_file = /dev/null\nrequire_https = no\n"
	"event_field = header:X-Event-Name\nid_field = data.object.id\n"
	"[auth]\nverify = hmac\nsecret_file = secret\n"
	"signature_header = X-Signature\nalgorithm = sha512\n"
	"prefix = sha512=\n",
};
static const char *const sname[S_N] = {
	"token", "stdwh", "github", "stripe", "hmac"
};

static char		 dir[PATH_MAX];
static char		 inipath[S_N][PATH_MAX];
static char		 newdir[S_N][PATH_MAX];
static struct receiver	 rx[S_N];
static unsigned long	 runs;
static int		 trace;	/* FUZZ_TRACE=1: one line per input */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char	path[PATH_MAX], text[200];
	int	i;

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TRACE") != NULL;
	(void)snprintf(dir, sizeof(dir), "%s", fz_tmpdir("hookpipe-fuzz-req"));
	(void)snprintf(text, sizeof(text), "%s\n%s\n", token, token_old);
	fz_writeat(dir, "token", text, 0600);
	(void)snprintf(text, sizeof(text), "%s\n", key);
	fz_writeat(dir, "secret", text, 0600);
	/* whsec_ + base64("fuzz-standard-webhooks-key") */
	fz_writeat(dir, "whsec", "whsec_ZnV6ei1zdGFuZGFyZC13ZWJob29rcy1rZXk=\n",
	    0600);
	(void)snprintf(path, sizeof(path), "%s/handlers", dir);
	if (mkdir(path, 0755) == -1)
		exit(1);
	/* Handlers by name and by folder, for the routing; never run. */
	fz_writeat(path, "order.created", "#!/bin/sh\nexit 0\n", 0755);
	fz_writeat(path, "push", "#!/bin/sh\nexit 0\n", 0755);
	(void)snprintf(path, sizeof(path), "%s/handlers/invoice.paid.d", dir);
	if (mkdir(path, 0755) == -1)
		exit(1);
	fz_writeat(path, "10-log", "#!/bin/sh\nexit 0\n", 0755);
	for (i = 0; i < S_N; i++) {
		(void)snprintf(inipath[i], sizeof(inipath[i]), "%s/%s.ini",
		    dir, sname[i]);
		fz_write(inipath[i], ini[i], strlen(ini[i]), 0600);
		(void)snprintf(newdir[i], sizeof(newdir[i]), "%s/spool-%s/new",
		    dir, sname[i]);
		receiver_init(&rx[i]);
		/* Loaded here, so the spool exists before the first run. */
		if (receiver_load(&rx[i], inipath[i]) == -1) {
			fprintf(stderr, "fuzz-request: %s: %s\n", inipath[i],
			    rx[i].conf_error);
			exit(1);
		}
	}
	return 0;
}

struct body_io {
	const char	*p;
	size_t		 len, off;
	int		 bytewise;
};

static long
body_read(void *io, char *out, size_t n)
{
	struct body_io	*b = io;
	size_t		 k = b->len - b->off;

	if (k > n)
		k = n;
	if (b->bytewise && k > 1)
		k = 1;
	memcpy(out, b->p + b->off, k);
	b->off += k;
	return (long)k;
}

static void
hexenc(const unsigned char *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* HMAC over head || body; hex (or base64) into out. */
static void
sign(const char *k, int sha512, const char *head, const char *body,
    size_t len, int b64, char *out)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], *msg;
	unsigned int	 maclen = 0;
	size_t		 hlen = strlen(head);

	FZ_CHECK((msg = malloc(hlen + len + 1)) != NULL);
	memcpy(msg, head, hlen);
	memcpy(msg + hlen, body, len);
	FZ_CHECK(HMAC(sha512 ? EVP_sha512() : EVP_sha256(), k,
	    (int)strlen(k), msg, hlen + len, mac, &maclen) != NULL);
	free(msg);
	if (b64)
		(void)EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	else
		hexenc(mac, maclen, out);
}

/* Names in new/, at most MAX_NEW; -1 when more. */
static int
list_new(int s, char names[][SPOOL_NAME_MAX + 1])
{
	struct dirent	*de;
	DIR		*d;
	int		 n = 0;

	FZ_CHECK((d = opendir(newdir[s])) != NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == MAX_NEW) {
			n = -1;
			break;
		}
		(void)snprintf(names[n++], SPOOL_NAME_MAX + 1, "%s",
		    de->d_name);
	}
	(void)closedir(d);
	return n;
}

static int
dir_empty(int s, const char *sub)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	int		 empty = 1;

	(void)snprintf(path, sizeof(path), "%s/spool-%s/%s", dir, sname[s],
	    sub);
	if ((d = opendir(path)) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			empty = 0;
	(void)closedir(d);
	return empty;
}

static void
clean_spools(void)
{
	static const char *const sub[] = {
		"tmp", "new", "cur", "retry", "done", "dead", "ids", "hist"
	};
	char	path[PATH_MAX];
	size_t	i;
	int	s;

	for (s = 0; s < S_N; s++)
		for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
			(void)snprintf(path, sizeof(path), "%s/spool-%s/%s",
			    dir, sname[s], sub[i]);
			fz_empty(path);
		}
}

/* The stored entry: one JSON envelope line, then the body exactly. */
static void
check_entry(int s, const char *name, const char *body, size_t len)
{
	char		 path[PATH_MAX], *text, *nl;
	json_object	*env = NULL;
	struct err	 e;
	size_t		 n;

	(void)snprintf(path, sizeof(path), "%s/%s", newdir[s], name);
	FZ_CHECK(read_file(path, 1024 * 1024, &text, &n, &e) == 0);
	FZ_CHECK((nl = memchr(text, '\n', n)) != NULL);
	FZ_CHECK(payload_parse(text, (size_t)(nl - text), 4, &env, &e) == 0);
	json_object_put(env);
	FZ_CHECK(n - (size_t)(nl + 1 - text) == len);
	FZ_CHECK(memcmp(nl + 1, body, len) == 0);
	free(text);
}

static int
is_hex16(const char *s)
{
	size_t i;

	for (i = 0; i < 16; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[16] == '\0';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 names0[MAX_NEW][SPOOL_NAME_MAX + 1];
	static char	 names1[MAX_NEW][SPOOL_NAME_MAX + 1];
	char		*params[MAX_PARAMS + 16], *owned[MAX_PARAMS + 16];
	char		 sig[200], head[400], ts[32], clbuf[32];
	const char	*p, *end, *opts, *body, *v, *id;
	struct body_io	 io;
	struct request	 req;
	struct answer	 a;
	struct err	 e;
	json_object	*ans = NULL, *dup;
	size_t		 len, optlen, np = 0, no = 0, signlen, i;
	unsigned long long cl;
	int		 s = S_TOKEN, authentic, duplicate, n0, n1, k, found;

	if (runs++ % CLEAN_EVERY == 0)
		clean_spools();

	/* Options, then parameters, then the body. */
	p = (const char *)data;
	end = p + size;
	opts = p;
	while (p < end && *p != '\n')
		p++;
	optlen = (size_t)(p - opts);
	if (p < end)
		p++;
	for (i = 0; i < optlen; i++) {
		const char *sc = strchr("TWGSH", opts[i]);

		if (opts[i] != '\0' && sc != NULL) {
			s = (int)(sc - "TWGSH");
			break;
		}
	}
#define OPT(c)	(memchr(opts, (c), optlen) != NULL)
	/* The harness's signature headers go first: they must win. */
	np = 4;
	while (p < end && *p != '\n' && no < MAX_PARAMS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		FZ_CHECK((owned[no] = strndup(p, len)) != NULL);
		params[np++] = owned[no++];
		p += len;
		if (p < end)
			p++;
	}
	if (p < end && *p == '\n')
		p++;
	body = p;
	len = (size_t)(end - p);
	if (OPT('p'))
		params[np++] = "REQUEST_METHOD=POST";
	if (OPT('j'))
		params[np++] = "CONTENT_TYPE=application/json";
	if (OPT('h'))
		params[np++] = "HTTPS=on";
	if (OPT('l')) {
		(void)snprintf(clbuf, sizeof(clbuf), "CONTENT_LENGTH=%zu", len);
		params[np++] = clbuf;
	}
	params[np++] = "REMOTE_ADDR=127.0.0.1";
	if (s == S_STDWH)
		params[np++] = "HTTP_WEBHOOK_ID=msg_fuzz";
	params[np] = NULL;

	/* What the receiver will read, hence what a signature covers. */
	signlen = len;
	v = param_get(params + 4, "CONTENT_LENGTH");
	if (v != NULL && *v >= '0' && *v <= '9') {
		errno = 0;
		cl = strtoull(v, NULL, 10);
		if (errno == 0 && cl < len)
			signlen = (size_t)cl;
	}

	/* params[0..3]: the harness's own headers, or nothing. */
	k = 0;
	authentic = 0;
	if (OPT('s')) {
		char *h;

		authentic = 1;
		switch (s) {
		case S_TOKEN:
			FZ_CHECK(asprintf(&h, "HTTP_X_AUTH_TOKEN=%s", token) >
			    0);
			owned[no++] = params[k++] = h;
			break;
		case S_STDWH:
			id = param_get(params + 4, "HTTP_WEBHOOK_ID");
			(void)snprintf(ts, sizeof(ts), "%lld",
			    (long long)time(NULL));
			(void)snprintf(head, sizeof(head), "%.300s.%s.", id,
			    ts);
			sign(stdkey, 0, head, body, signlen, 1, sig);
			FZ_CHECK(asprintf(&h, "HTTP_WEBHOOK_TIMESTAMP=%s",
			    ts) > 0);
			owned[no++] = params[k++] = h;
			FZ_CHECK(asprintf(&h, "HTTP_WEBHOOK_SIGNATURE=v1,%s",
			    sig) > 0);
			owned[no++] = params[k++] = h;
			/* An id the receiver refuses cannot verify. */
			authentic = id != NULL && *id != '\0' &&
			    strchr(id, '.') == NULL && strlen(id) < 200;
			break;
		case S_STRIPE:
			(void)snprintf(ts, sizeof(ts), "%lld",
			    (long long)time(NULL));
			(void)snprintf(head, sizeof(head), "%s.", ts);
			sign(key, 0, head, body, signlen, 0, sig);
			FZ_CHECK(asprintf(&h,
			    "HTTP_STRIPE_SIGNATURE=t=%s,v1=%s", ts, sig) > 0);
			owned[no++] = params[k++] = h;
			break;
		case S_GITHUB:
			sign(key, 0, "", body, signlen, 0, sig);
			FZ_CHECK(asprintf(&h, "HTTP_X_HUB_SIGNATURE_256="
			    "sha256=%s", sig) > 0);
			owned[no++] = params[k++] = h;
			break;
		case S_HMAC:
			sign(key, 1, "", body, signlen, 0, sig);
			FZ_CHECK(asprintf(&h, "HTTP_X_SIGNATURE=sha512=%s",
			    sig) > 0);
			owned[no++] = params[k++] = h;
			break;
		}
	} else if (s == S_TOKEN) {
		/* A seed or the dictionary may carry the token itself. */
		v = param_get(params + 4, "HTTP_X_AUTH_TOKEN");
		authentic = v != NULL && (strcmp(v, token) == 0 ||
		    strcmp(v, token_old) == 0);
	} else if (s == S_GITHUB || s == S_HMAC) {
		/* No timestamp: a signature copied with its body verifies. */
		sign(key, s == S_HMAC, "", body, signlen, 0, sig);
		v = param_get(params + 4, s == S_HMAC ? "HTTP_X_SIGNATURE" :
		    "HTTP_X_HUB_SIGNATURE_256");
		authentic = v != NULL && strncmp(v, s == S_HMAC ? "sha512=" :
		    "sha256=", 7) == 0 && strcasecmp(v + 7, sig) == 0;
	}
	/* Close the gap the harness's headers left. */
	memmove(params + k, params + 4, (np + 1 - 4) * sizeof(*params));

	FZ_CHECK(setenv("HOOKPIPE_CONFIG", inipath[s], 1) == 0);
	io.p = body;
	io.len = len;
	io.off = 0;
	io.bytewise = OPT('c');
	req.params = params;
	req.read = body_read;
	req.io = &io;
	memset(&a, 0, sizeof(a));

	n0 = list_new(s, names0);
	FZ_CHECK(n0 >= 0);
	receiver_handle(&rx[s], &req, &a);
	n1 = list_new(s, names1);
	if (trace)
		fprintf(stderr, "fuzz-request: %s %d %s%s\n", sname[s],
		    a.status, a.status == 200 ? buf_cstr(&a.body) : a.reason,
		    authentic ? " (authentic)" : "");

	/* A working receiver: the configuration loaded. */
	FZ_CHECK(rx[s].conf != NULL);
	switch (a.status) {
	case 200: case 400: case 401: case 403: case 404: case 405: case 411:
	case 413: case 415: case 422: case 431:
		break;
	default:
		fprintf(stderr, "fuzz-request: status %d: %s\n", a.status,
		    a.reason);
		FZ_CHECK(!"a status the design does not list for this setup");
	}
	FZ_CHECK(is_hex16(a.request_id));
	FZ_CHECK(a.status != 405 || a.allow_post);
	/* Every answer and every log line is one strict JSON object. */
	FZ_CHECK(!a.body.oom && a.body.len > 0);
	FZ_CHECK(payload_parse(a.body.p, a.body.len, 4, &ans, &e) == 0);
	FZ_CHECK(json_str(ans, "status") != NULL);
	FZ_CHECK(json_str(ans, "request_id") != NULL &&
	    strcmp(json_str(ans, "request_id"), a.request_id) == 0);
	duplicate = json_object_object_get_ex(ans, "duplicate", &dup) &&
	    json_object_get_boolean(dup);
	json_object_put(ans);
	FZ_CHECK(rx[s].line.len > 1 && rx[s].line.p[rx[s].line.len - 1] ==
	    '\n');
	FZ_CHECK(payload_parse(rx[s].line.p, rx[s].line.len - 1, 4, &ans,
	    &e) == 0);
	json_object_put(ans);

	/* No 200 without the secret: the heart of the matter. */
	if (a.status == 200 && !authentic) {
		fprintf(stderr, "fuzz-request: 200 for an unauthenticated "
		    "request (scheme %s)\n", sname[s]);
		FZ_CHECK(!"accepted without authentication");
	}
	/* A 200 means stored (or a duplicate of a stored event); anything
	 * else leaves new/ as it was, and tmp/ is always left empty. */
	FZ_CHECK(dir_empty(s, "tmp"));
	if (a.status == 200 && !duplicate) {
		FZ_CHECK(a.kick);
		FZ_CHECK(n1 == n0 + 1);
		for (i = 0, found = 0; i < (size_t)n1 && !found; i++) {
			for (k = 0; k < n0; k++)
				if (strcmp(names1[i], names0[k]) == 0)
					break;
			if (k == n0) {
				check_entry(s, names1[i], body, signlen);
				found = 1;
			}
		}
		FZ_CHECK(found);
	} else {
		FZ_CHECK(!a.kick);
		FZ_CHECK(n1 == n0);
	}
	answer_free(&a);
	for (i = 0; i < no; i++)
		free(owned[i]);
	return 0;
}
