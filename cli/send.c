/* send: post an event exactly as a sender would (the test mode), with
 * libcurl: the body as given, the token header, JSON content type. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_CURL
#include <curl/curl.h>
#endif
#include <json-c/json.h>

#include "auth.h"
#include "buf.h"
#include "cli.h"
#include "conf.h"
#include "payload.h"

#ifdef HAVE_CURL
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

/* Set (or add) the top-level event field of a JSON object body. */
static int
set_event(struct buf *b, const char *field, const char *event)
{
	json_object	*root;
	struct err	 e;
	const char	*s;

	if (payload_parse(b->p, b->len, PAYLOAD_MAX_DEPTH, &root, &e) == -1) {
		say(SAY_FATAL, "send --event needs a JSON object body: %s",
		    e.msg);
		return -1;
	}
	json_object_object_add(root, field, json_object_new_string(event));
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	buf_reset(b);
	buf_puts(b, s);
	json_object_put(root);
	return b->oom ? -1 : 0;
}

int
cmd_send(const char *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "event", required_argument, NULL, 'e' },
		{ "file", required_argument, NULL, 'f' },
		{ "token-file", required_argument, NULL, 't' },
		{ "header", required_argument, NULL, 'H' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "endpoint", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 }
	};
	struct curl_slist	*hdrs = NULL;
	struct tokens		 toks = { NULL, 0 };
	struct buf		 body = { 0 }, resp = { 0 }, h = { 0 };
	struct buf		 evh = { 0 }, shown = { 0 };
	struct err		 e;
	struct diag		 d = { { 0 }, 0, 0 };
	struct conf		*c = NULL;
	const struct endpoint	*cep;
	struct endpoint		*ep;
	const char		*epname = NULL;
	const char		*event = NULL, *file = "-", *tokfile = NULL;
	const char		*header = "x-auth-token", *url, *field = "event";
	CURLcode		 cc;
	CURL			*curl;
	long			 status = 0;
	int			 ch, insecure = 0, header_set = 0;
	int			 rc = EXIT_FAIL;

	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":e:f:t:H:kE:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'E':
			epname = optarg;
			break;
		case 'e':
			event = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 't':
			tokfile = optarg;
			break;
		case 'H':
			header = optarg;
			header_set = 1;
			break;
		case 'k':
			insecure = 1;
			break;
		default:
			say_getopt(ch, argv);
			goto usage;
		}
	}
	if (optind + 1 != argc) {
		if (optind == argc)
			say(SAY_FATAL, "no URL given");
		else
			say(SAY_FATAL, "unexpected argument %s",
			    argv[optind + 1]);
		goto usage;
	}
	url = argv[optind];
	if (event != NULL && !event_name_ok(event)) {
		say(SAY_FATAL, "--event %s is not a valid event name: letters, "
		    "digits, '.', '_' and '-', not first a '.'", event);
		return EXIT_USAGE;
	}
	/* The token: --token-file, else the configuration's own. */
	if (tokfile != NULL) {
		if (tokens_load(tokfile, &toks, &e) == -1) {
			say(SAY_FATAL, "%s", e.msg);
			return EXIT_FAIL;
		}
	} else if (cfg != NULL && access(cfg, R_OK) == 0) {
		if ((c = conf_load(cfg, &d)) == NULL) {
			say_lines(buf_cstr(&d.text));
			say(SAY_FATAL, "unable to load %s: %d error%s: fix "
			    "%s, or give --token-file", cfg, d.nerr,
			    d.nerr == 1 ? "" : "s", d.nerr == 1 ? "it" : "them");
			diag_free(&d);
			return EXIT_FAIL;
		}
		if ((cep = conf_endpoint(c, epname)) == NULL) {
			say(SAY_FATAL, "%s has no %s%s%s: give --endpoint "
			    "NAME", cfg, epname ? "[endpoint " :
			    "default endpoint", epname ? epname : "", epname ?
			    "]" : "");
			goto out;
		}
		ep = &c->ep[cep - c->ep];	/* ours: its tokens move */
		if (ep->verify.scheme != VERIFY_TOKEN) {
			say(SAY_FATAL, "unable to send to this endpoint: it "
			    "verifies %s signatures and send signs nothing: use "
			    "the sender's own tools",
			    verify_scheme_name(ep->verify.scheme));
			goto out;
		}
		toks = ep->tokens;
		ep->tokens.v = NULL;
		ep->tokens.n = 0;
		if (!header_set)
			header = ep->auth_header;
		field = ep->event_field;
	}
	diag_free(&d);
	if (toks.n == 0) {
		say(SAY_FATAL, "no token: give --token-file FILE or -c CONFIG");
		goto out;
	}
	if (slurp(file, &body) == -1) {
		say(SAY_FATAL, "unable to read %s: %s",
		    strcmp(file, "-") == 0 ? "stdin" : file, strerror(errno));
		goto out;
	}
	if (event != NULL && strncmp(field, "header:", 7) == 0) {
		/* The sender names the event in a header (GitHub style). */
		buf_printf(&evh, "%s: %s", field + 7, event);
		hdrs = curl_slist_append(hdrs, buf_cstr(&evh));
	} else if (event != NULL && (strchr(field, '.') != NULL ?
	    (say(SAY_FATAL, "unable to set --event: it sets a top-level "
	    "field, and event_field is %s", field), -1) :
	    set_event(&body, field, event)) == -1)
		goto out;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (curl = curl_easy_init()) == NULL) {
		say(SAY_FATAL, "unable to start libcurl");
		goto out;
	}
	buf_printf(&h, "%s: %s", header, toks.v[0].p);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, buf_cstr(&h));
	hdrs = curl_slist_append(hdrs, "Expect:");
	(void)curl_easy_setopt(curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(curl, CURLOPT_POST, 1L);
	(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.p ? body.p : "");
	(void)curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)body.len);
	(void)curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	(void)curl_easy_setopt(curl, CURLOPT_USERAGENT, "hookpipe-send/"
	    PACKAGE_VERSION);
	(void)curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	(void)curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
	if (insecure) {
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
		tty_escape(&shown, resp.p ? resp.p : "", resp.len, 1);
		printf("%ld\n%s%s", status, buf_cstr(&shown),
		    shown.len && shown.p[shown.len - 1] == '\n' ? "" : "\n");
		rc = status >= 200 && status < 300 ? EXIT_OK : EXIT_FAIL;
	}
	curl_easy_cleanup(curl);
	curl_global_cleanup();
out:
	curl_slist_free_all(hdrs);
	wipe(h.p ? h.p : (char *)&h, h.p ? h.len : 0);
	buf_free(&h);
	buf_free(&body);
	buf_free(&resp);
	buf_free(&evh);
	buf_free(&shown);
	tokens_free(&toks);
	conf_free(c);
	return rc;
usage:
	fprintf(stderr, "usage: hookpipe send URL [--event E] [--file F] "
	    "[--token-file F] [--header NAME] [--endpoint NAME] [--insecure]\n"
	    "  posts the body (file or stdin) as a sender would; prints the "
	    "status and body;\n  exit 0 on 2xx, 1 otherwise\n");
	return EXIT_USAGE;
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
