/* hookpipe.fcgi: the responder. FastCGI when the web server spawns it
 * on a socket, plain CGI otherwise; the work is receiver_handle(). */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "receive.h"

extern char **environ;

static const char *
status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

/* The CGI response: headers, blank line, JSON body. */
static void
format_answer(struct buf *out, struct answer *a)
{
	buf_reset(out);
	buf_printf(out, "Status: %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Request-Id: %s\r\n", a->status, status_text(a->status),
	    a->content_type ? a->content_type : "application/json",
	    a->request_id);
	if (a->retry_after > 0)
		buf_printf(out, "Retry-After: %d\r\n", a->retry_after);
	if (a->allow_post)
		buf_puts(out, "Allow: POST\r\n");
	buf_add(out, a->headers.p, a->headers.len);
	/* Text (Meta's challenge) goes back exactly; JSON ends a line. */
	buf_printf(out, "Content-Length: %zu\r\n\r\n", a->body.len +
	    (a->content_type == NULL));
	if (a->head)		/* HEAD: GET's headers, no body */
		return;
	buf_add(out, a->body.p, a->body.len);
	if (a->content_type == NULL)
		buf_putc(out, '\n');
}

static long
fcgi_read(void *io, char *p, size_t n)
{
	if (n > INT_MAX)
		n = INT_MAX;
	return FCGX_GetStr(p, (int)n, io);
}

static long
cgi_read(void *io, char *p, size_t n)
{
	ssize_t r;

	(void)io;
	while ((r = read(0, p, n)) == -1 && errno == EINTR)
		;
	return (long)r;
}

/*
 * mod_cgid joins a CGI program's stdin and stdout in one unix socket:
 * exiting with request bytes still unread there resets it, and Apache
 * drops the answer it already has ("apr_bucket_read() failed"). So when
 * stdin is a socket, read and drop what is left of the body. Refusals
 * that come before the body (401, 413) then reach the sender too. A pipe
 * (mod_cgi, a shell) needs none of this.
 *
 * This runs before any authentication, so it is bounded: at most
 * max_body + DRAIN_SLACK bytes (a 413 is for a body over max_body), and
 * at most DRAIN_GRACE_MS plus the time those bytes take at DRAIN_RATE
 * on the monotonic clock, so a client trickling a byte now and then
 * cannot keep the process. Past either bound the sender may see a reset
 * instead of the answer: a sender that slow or that large gets no 413.
 */
#define DRAIN_SLACK	(1024 * 1024)
#define DRAIN_GRACE_MS	5000
#define DRAIN_RATE	(64 * 1024)	/* bytes per second, at least */

static void
cgi_drain(size_t max_body)
{
	struct stat	 st;
	struct pollfd	 pfd;
	char		 junk[16384], *end;
	const char	*cl;
	long long	 left;
	int64_t		 deadline, wait;
	ssize_t		 r;
	int		 n;

	if (fstat(0, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    (cl = getenv("CONTENT_LENGTH")) == NULL)
		return;
	errno = 0;
	left = strtoll(cl, &end, 10);
	if (errno != 0 || end == cl || *end != '\0')
		return;
	if (max_body > (size_t)LLONG_MAX - DRAIN_SLACK)
		max_body = (size_t)LLONG_MAX - DRAIN_SLACK;
	if (left > (long long)(max_body + DRAIN_SLACK))
		left = (long long)(max_body + DRAIN_SLACK);
	deadline = mono_ms() + DRAIN_GRACE_MS +
	    (left > 0 ? left : 0) * 1000 / DRAIN_RATE;
	pfd.fd = 0;
	pfd.events = POLLIN;
	while (left > 0) {
		if ((wait = deadline - mono_ms()) <= 0)
			break;
		if ((n = poll(&pfd, 1, (int)wait)) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r = read(0, junk, left < (long long)sizeof(junk) ?
		    (size_t)left : sizeof(junk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		left -= r;
	}
}

/* The largest body of the request's endpoint (the default one when the
 * configuration did not load or names no such endpoint). */
static size_t
drain_max(const struct receiver *rcv, char *const *params)
{
	const struct endpoint *ep;

	if (rcv->conf != NULL && (ep = conf_endpoint_path(rcv->conf,
	    param_get(params, "PATH_INFO"))) != NULL)
		return ep->max_body;
	return CONF_DEFAULT_MAX_BODY;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: hookpipe.fcgi [-c FILE]\n"
	    "Run by a web server as FastCGI or CGI; see hookpipe.fcgi(8).\n"
	    "Exit: 0 the request was answered (any HTTP status) or the "
	    "FastCGI loop ended;\n"
	    "      2 usage; 111 FastCGI could not start: try again later.\n");
}

/* A broken configuration does not stop the responder (the web server
 * would only start it again): it answers 503 and says why here, once
 * per process, in the server's error log. */
static void
say_conf_error(const struct receiver *rcv, const char *cfg)
{
	say_lines(rcv->conf_error);
	say(SAY_ERROR, "unable to load %s: every request will be answered "
	    "503 until it is fixed (hookpipe check -c %s)", cfg, cfg);
}

int
main(int argc, char *argv[])
{
	struct receiver	 rcv;
	struct request	 req;
	struct answer	 a;
	struct buf	 out = { 0 };
	struct err	 e;
	FCGX_Request	 fr;
	const char	*cfg;
	int		 ch;

	say_init(argc > 0 ? argv[0] : "hookpipe.fcgi");
	opterr = 0;
	while ((ch = getopt(argc, argv, ":c:hV")) != -1) {
		switch (ch) {
		case 'c':
			if (setenv("HOOKPIPE_CONFIG", optarg, 1) == -1) {
				say(SAY_FATAL, "unable to set HOOKPIPE_CONFIG "
				    "for -c %s: %s", optarg, strerror(errno));
				return EXIT_TEMP;
			}
			break;
		case 'V':
			printf("hookpipe.fcgi %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			say_getopt(ch, argv);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	/* A sender that hangs up must not kill the responder. */
	(void)signal(SIGPIPE, SIG_IGN);
	receiver_init(&rcv);
	memset(&a, 0, sizeof(a));

	/* Report a broken configuration at start-up, in the server log. */
	cfg = getenv("HOOKPIPE_CONFIG");
	if (cfg != NULL && *cfg != '\0' && receiver_load(&rcv, cfg) == -1)
		say_conf_error(&rcv, cfg);

	if (FCGX_IsCGI()) {
		req.params = environ;
		req.read = cgi_read;
		req.io = NULL;
		receiver_handle(&rcv, &req, &a);
		format_answer(&out, &a);
		if (!out.oom)
			(void)write_all(1, out.p, out.len);
		cgi_drain(drain_max(&rcv, environ));
		(void)close(1);
		/* The server waits for stderr to close too. */
		if (a.kick && receiver_kick(&rcv, 0, &e) == -1)
			say(SAY_WARNING, "%s; events wait for cron or "
			    "hookpipe-run --watch", e.msg);
		goto done;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0) {
		say(SAY_FATAL, "unable to start FastCGI on the socket on "
		    "stdin: libfcgi failed to initialise");
		return EXIT_TEMP;
	}
	while (FCGX_Accept_r(&fr) >= 0) {
		req.params = fr.envp;
		req.read = fcgi_read;
		req.io = fr.in;
		receiver_handle(&rcv, &req, &a);
		format_answer(&out, &a);
		if (!out.oom)
			(void)FCGX_PutStr(out.p, (int)out.len, fr.out);
		FCGX_Finish_r(&fr);
		if (a.kick && receiver_kick(&rcv, 1, &e) == -1)
			say(SAY_WARNING, "%s; events wait for cron or "
			    "hookpipe-run --watch", e.msg);
	}
done:
	answer_free(&a);
	buf_free(&out);
	receiver_free(&rcv);
	return EXIT_OK;
}
