/* send: post an event exactly as a sender would (the test mode), with
 * libcurl: the body as given, JSON content type, and the token header or,
 * with --sign (or an endpoint that verifies a scheme), the headers its
 * sender signs with, made by verify_sign from the scheme's row. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_CURL
#include <curl/curl.h>
#endif
#include <json-c/json.h>

#include "auth.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "crypto.h"
#include "payload.h"
#include "verify.h"

#ifdef HAVE_CURL
/* The command line. */
struct opts {
	const char	*url;
	const char	*epname;	/* --endpoint */
	const char	*event;		/* --event */
	const char	*id;		/* --id */
	const char	*file;		/* --file, "-": stdin */
	const char	*secfile;	/* --secret-file (--token-file) */
	const char	*header;	/* --header */
	int		 sign;		/* --sign's scheme; -1: not given */
	int		 insecure;
};

/* What the request is made of: the scheme with its secrets and keys
 * (the token too), and where the receiver reads the event and id. */
struct plan {
	struct verify	 v;
	char		*token_header;
	char		*event_field;
	char		*id_field;
};

/* The headers and body sent, and what the answer wrote. */
struct request {
	struct verify_signed	 sg;
	struct curl_slist	*hdrs;
	struct buf		 body;
	struct buf		 resp;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return ((struct buf *)arg)->oom ? 0 : size * n;
}

/* Read all of a file or of stdin ("-"). */
static int
slurp(const char *path, struct buf *b)
{
	char	chunk[65536];
	ssize_t	n;
	int	fd = 0;

	if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY |
	    O_CLOEXEC)) == -1)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(b, chunk, (size_t)n);
	if (fd != 0)
		(void)close(fd);
	return n == -1 || b->oom ? -1 : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: hookpipe send URL [--event E] [--id ID] "
	    "[--file F] [--sign SCHEME]\n    [--secret-file F | --token-file "
	    "F] [--header NAME] [--endpoint NAME] [--insecure]\n"
	    "  posts the body (file or stdin) as a sender would, with its "
	    "token or signed;\n  prints the status and body; exit 0 on 2xx, "
	    "1 otherwise\n");
}

/* The options into o: 0, or -1 (said why). */
static int
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "id", required_argument, NULL, 'i' },
		{ "file", required_argument, NULL, 'f' },
		{ "token-file", required_argument, NULL, 't' },
		{ "secret-file", required_argument, NULL, 't' },
		{ "header", required_argument, NULL, 'H' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ "sign", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->file = "-";
	o->sign = -1;
	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":e:i:f:t:H:kE:S:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'E':
			o->epname = optarg;
			break;
		case 'e':
			o->event = optarg;
			break;
		case 'i':
			o->id = optarg;
			break;
		case 'f':
			o->file = optarg;
			break;
		case 't':
			o->secfile = optarg;
			break;
		case 'H':
			o->header = optarg;
			break;
		case 'k':
			o->insecure = 1;
			break;
		case 'S':
			if ((o->sign = verify_scheme_parse(optarg)) == -1) {
				say(SAY_FATAL, "--sign %s: no such scheme: "
				    "write one of hookpipe.ini(5)'s verify = "
				    "names", optarg);
				return -1;
			}
			break;
		default:
			say_getopt(ch, argv);
			return -1;
		}
	}
	if (optind + 1 != argc) {
		if (optind == argc)
			say(SAY_FATAL, "no URL given");
		else
			say(SAY_FATAL, "unexpected argument %s",
			    argv[optind + 1]);
		return -1;
	}
	o->url = argv[optind];
	if (o->event != NULL && !event_name_ok(o->event)) {
		say(SAY_FATAL, "--event %s is not a valid event name: letters, "
		    "digits, '.', '_' and '-', not first a '.'", o->event);
		return -1;
	}
	if (o->id != NULL && !event_id_ok(o->id)) {
		say(SAY_FATAL, "--id %s is not a valid event id: 1-200 of "
		    "letters, digits, '.', '_', ':' and '-', not first a '.'",
		    o->id);
		return -1;
	}
	return 0;
}

static void
plan_free(struct plan *p)
{
	verify_free(&p->v);
	free(p->token_header);
	free(p->event_field);
	free(p->id_field);
	memset(p, 0, sizeof(*p));
}

/* The row's default source of the event name or id where it is one
 * send can set (a header or a path), else def. */
static char *
row_field(const char *src, const char *def)
{
	if (src == NULL || src[0] == '=' || strncmp(src, "hash:", 5) == 0)
		src = def;
	return strdup(src);
}

/* The endpoint's scheme, keys, secrets (unless --secret-file), header
 * and fields, from the configuration: 0, or -1 (said why). */
static int
plan_from_conf(const char *cfg, const struct opts *o, struct plan *p)
{
	struct diag		 d = { { 0 }, 0, 0 };
	const struct endpoint	*cep;
	struct endpoint		*ep;
	struct conf		*c;
	int			 rc = -1;

	if ((c = conf_load(cfg, &d)) == NULL) {
		say_lines(buf_cstr(&d.text));
		say(SAY_FATAL, "unable to load %s: %d error%s: fix %s, or give "
		    "--secret-file", cfg, d.nerr, d.nerr == 1 ? "" : "s",
		    d.nerr == 1 ? "it" : "them");
		diag_free(&d);
		return -1;
	}
	diag_free(&d);
	if ((cep = conf_endpoint(c, o->epname)) == NULL) {
		say(SAY_FATAL, "%s has no %s%s%s: give --endpoint NAME", cfg,
		    o->epname ? "[endpoint " : "default endpoint",
		    o->epname ? o->epname : "", o->epname ? "]" : "");
		goto out;
	}
	ep = &c->ep[cep - c->ep];	/* ours: its secrets move */
	if (o->sign != -1 && (enum verify_scheme)o->sign != ep->verify.scheme) {
		say(SAY_FATAL, "--sign %s, but %s's %s%s%s verifies %s: sign "
		    "with its scheme, or give --secret-file",
		    verify_scheme_name(o->sign), cfg, o->epname ? "[endpoint " :
		    "default endpoint", o->epname ? o->epname : "", o->epname ?
		    "]" : "", verify_scheme_name(ep->verify.scheme));
		goto out;
	}
	p->v.scheme = ep->verify.scheme;
	p->v.alg = ep->verify.alg;
	p->v.enc = ep->verify.enc;
	memcpy(p->v.param, ep->verify.param, sizeof(p->v.param));
	if (ep->verify.prefix != NULL &&
	    (p->v.prefix = strdup(ep->verify.prefix)) == NULL)
		goto oom;
	if (o->secfile == NULL) {
		/* A token endpoint keeps its tokens apart from secrets. */
		p->v.secrets = p->v.scheme == VERIFY_TOKEN ? ep->tokens :
		    ep->verify.secrets;
		p->v.pubkeys = ep->verify.pubkeys;
		memset(&ep->tokens, 0, sizeof(ep->tokens));
		memset(&ep->verify.secrets, 0, sizeof(ep->verify.secrets));
		memset(&ep->verify.pubkeys, 0, sizeof(ep->verify.pubkeys));
	}
	if ((p->token_header = strdup(o->header ? o->header :
	    ep->auth_header)) == NULL ||
	    (p->event_field = strdup(ep->event_field)) == NULL ||
	    (p->id_field = strdup(ep->id_field)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	say(SAY_FATAL, "out of memory");
out:
	conf_free(c);
	return rc;
}

/* Without a configuration: the scheme of --sign (token by default),
 * its row's fields; hmac's signature header is --header. */
static int
plan_from_opts(const struct opts *o, struct plan *p)
{
	const struct verify_row *r;

	p->v.scheme = o->sign == -1 ? VERIFY_TOKEN :
	    (enum verify_scheme)o->sign;
	r = verify_row(p->v.scheme);
	if (p->v.scheme == VERIFY_HMAC) {
		if (o->header == NULL) {
			say(SAY_FATAL, "--sign hmac needs the endpoint's "
			    "signature_header, algorithm, encoding and prefix: "
			    "give -c CONFIG (and --endpoint NAME), or --header "
			    "NAME for SHA-256 in hex without a prefix");
			return -1;
		}
		(void)auth_header_param(o->header, p->v.param,
		    sizeof(p->v.param));
	}
	p->token_header = strdup(o->header ? o->header : "x-auth-token");
	p->event_field = row_field(r->event[0], "event");
	p->id_field = row_field(r->id[0], "id");
	if (p->token_header == NULL || p->event_field == NULL ||
	    p->id_field == NULL) {
		say(SAY_FATAL, "out of memory");
		return -1;
	}
	return 0;
}

/* The secrets of --secret-file, ready to sign with (whsec_ decoded,
 * whsk_ keys as Ed25519 private keys). */
static int
plan_secrets(const struct opts *o, struct plan *p)
{
	struct err e;

	tokens_free(&p->v.secrets);
	if (tokens_load(o->secfile, &p->v.secrets, &e) == -1) {
		say(SAY_FATAL, "%s", e.msg);
		return -1;
	}
	if (verify_row(p->v.scheme)->recipe != VERIFY_R_TOKEN &&
	    crypto_load(&e) == -1) {
		say(SAY_FATAL, "%s", e.msg);
		return -1;
	}
	if (verify_sign_secrets(&p->v, &e) == -1) {
		say(SAY_FATAL, "%s: %s", o->secfile, e.msg);
		return -1;
	}
	return 0;
}

/*
 * The plan: the configuration's endpoint, unless --secret-file names
 * the secrets of a scheme that needs nothing else from it (hmac takes
 * its header, hash, encoding and prefix from there when it can).
 */
static int
make_plan(const char *cfg, const struct opts *o, struct plan *p)
{
	int have = cfg != NULL && access(cfg, R_OK) == 0;

	memset(p, 0, sizeof(*p));
	if (have && (o->secfile == NULL || (o->sign == VERIFY_HMAC &&
	    o->header == NULL))) {
		if (plan_from_conf(cfg, o, p) == -1)
			return -1;
	} else if (plan_from_opts(o, p) == -1)
		return -1;
	if (o->secfile != NULL)
		return plan_secrets(o, p);
	if (p->v.secrets.n == 0 && p->v.pubkeys.n == 0) {
		say(SAY_FATAL, "no %s: give --secret-file FILE or -c CONFIG",
		    p->v.scheme == VERIFY_TOKEN ? "token" : "secret");
		return -1;
	}
	return 0;
}

/* Set (or add) the member at a dotted path of a JSON object body to a
 * string, making the objects on the way; the body re-serialized. */
static int
set_member(struct buf *b, const char *path, const char *value,
    const char *opt)
{
	json_object	*root = NULL, *o, *next;
	struct err	 e;
	const char	*s, *dot;
	char		 key[256];
	size_t		 n;
	int		 rc = -1;

	if (payload_parse(b->p, b->len, PAYLOAD_MAX_DEPTH, &root, &e) == -1 ||
	    !json_object_is_type(root, json_type_object)) {
		say(SAY_FATAL, "send %s needs a JSON object body%s%s", opt,
		    root == NULL ? ": " : "", root == NULL ? e.msg : "");
		json_object_put(root);
		return -1;
	}
	for (o = root; (dot = strchr(path, '.')) != NULL; o = next) {
		n = (size_t)(dot - path);
		(void)snprintf(key, sizeof(key), "%.*s", (int)n, path);
		if (!json_object_object_get_ex(o, key, &next)) {
			next = json_object_new_object();
			json_object_object_add(o, key, next);
		}
		if (!json_object_is_type(next, json_type_object)) {
			say(SAY_FATAL, "unable to set %s: %s is in a member "
			    "that is no object", opt, path);
			goto out;
		}
		path = dot + 1;
	}
	json_object_object_add(o, path, json_object_new_string(value));
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	buf_reset(b);
	buf_puts(b, s);
	rc = b->oom ? -1 : 0;
out:
	json_object_put(root);
	return rc;
}

/* --event or --id where the receiver reads it: a header, or a member
 * of the body. */
static int
set_field(struct request *q, const char *field, const char *value,
    const char *opt)
{
	struct buf	h = { 0 };
	int		rc = 0;

	if (strncmp(field, "header:", 7) != 0)
		return set_member(&q->body, field, value, opt);
	buf_printf(&h, "%s: %s", field + 7, value);
	if (h.oom || (q->hdrs = curl_slist_append(q->hdrs,
	    buf_cstr(&h))) == NULL)
		rc = -1;
	buf_free(&h);
	return rc;
}

/* The --event and --id fields, then the signature (or the token) over
 * the final body. */
static int
build(const struct opts *o, const struct plan *p, struct request *q)
{
	const struct verify_row	*r = verify_row(p->v.scheme);
	struct verify_req	 in;
	struct err		 e;
	const char		*id = NULL;
	char			 idsrc[200];
	size_t			 i;

	if (slurp(o->file, &q->body) == -1) {
		say(SAY_FATAL, "unable to read %s: %s", strcmp(o->file, "-") ==
		    0 ? "stdin" : o->file, strerror(errno));
		return -1;
	}
	if (o->event != NULL &&
	    set_field(q, p->event_field, o->event, "--event") == -1)
		return -1;
	/* An id the scheme signs ({id}) goes in by verify_sign. */
	(void)snprintf(idsrc, sizeof(idsrc), "header:%s", r->id_header ?
	    r->id_header : "");
	if (o->id != NULL && r->id_header != NULL &&
	    strcasecmp(p->id_field, idsrc) == 0)
		id = o->id;
	else if (o->id != NULL &&
	    set_field(q, p->id_field, o->id, "--id") == -1)
		return -1;
	memset(&in, 0, sizeof(in));
	in.body = q->body.p != NULL ? q->body.p : "";
	in.len = q->body.len;
	in.url = o->url;
	in.id = id;
	in.ts = (long long)time(NULL);
	in.token_header = p->token_header;
	if (verify_sign(&p->v, &in, &q->sg, &e) == -1) {
		say(SAY_FATAL, "unable to sign for %s: %s",
		    verify_scheme_name(p->v.scheme), e.msg);
		return -1;
	}
	q->hdrs = curl_slist_append(q->hdrs, "Content-Type: application/json");
	for (i = 0; i < q->sg.nhdr; i++)
		q->hdrs = curl_slist_append(q->hdrs, buf_cstr(&q->sg.hdr[i]));
	q->hdrs = curl_slist_append(q->hdrs, "Expect:");
	return q->hdrs == NULL ? -1 : 0;
}

/* POST it; print the status and the answer; EXIT_OK on 2xx. */
static int
post(const struct opts *o, struct request *q)
{
	struct buf	 shown = { 0 };
	const char	*url = buf_cstr(&q->sg.url);
	CURLcode	 cc;
	CURL		*curl;
	long		 status = 0;
	int		 rc = EXIT_FAIL;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (curl = curl_easy_init()) == NULL) {
		say(SAY_FATAL, "unable to start libcurl");
		return EXIT_FAIL;
	}
	(void)curl_easy_setopt(curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(curl, CURLOPT_POST, 1L);
	(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, q->sg.body.p ?
	    q->sg.body.p : "");
	(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)q->sg.body.len);
	(void)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, q->hdrs);
	(void)curl_easy_setopt(curl, CURLOPT_USERAGENT, "hookpipe-send/"
	    PACKAGE_VERSION);
	(void)curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, &q->resp);
	if (o->insecure) {
		(void)curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		(void)curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	cc = curl_easy_perform(curl);
	if (cc != CURLE_OK)
		say(SAY_FATAL, "unable to post to %s: %s", url,
		    curl_easy_strerror(cc));
	else {
		(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
		/* Whatever answers at URL wrote the body: escaped for the
		 * terminal like every text hookpipe did not write itself. */
		tty_escape(&shown, q->resp.p ? q->resp.p : "", q->resp.len, 1);
		printf("%ld\n%s%s", status, buf_cstr(&shown),
		    shown.len && shown.p[shown.len - 1] == '\n' ? "" : "\n");
		rc = status >= 200 && status < 300 ? EXIT_OK : EXIT_FAIL;
	}
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	buf_free(&shown);
	return rc;
}

int
cmd_send(const char *cfg, int argc, char **argv)
{
	struct opts	o;
	struct plan	p;
	struct request	q;
	int		rc = EXIT_FAIL;

	if (parse_opts(argc, argv, &o) == -1) {
		usage();
		return EXIT_USAGE;
	}
	memset(&q, 0, sizeof(q));
	if (make_plan(cfg, &o, &p) == 0 && build(&o, &p, &q) == 0)
		rc = post(&o, &q);
	curl_slist_free_all(q.hdrs);
	verify_signed_free(&q.sg);
	buf_free(&q.body);
	buf_free(&q.resp);
	plan_free(&p);
	return rc;
}
#else	/* !HAVE_CURL */
/* Built --without-curl (the static bundle): name the way round. */
int
cmd_send(const char *cfg, int argc, char **argv)
{
	(void)cfg;
	(void)argc;
	(void)argv;
	say(SAY_FATAL, "send is not in this build (configured "
	    "--without-curl): post the event with curl instead, see "
	    "hookpipe(1)");
	return EXIT_FAIL;
}
#endif	/* HAVE_CURL */
