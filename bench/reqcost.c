/* reqcost: the CPU one accepted request costs the responder, measured in
 * process (receiver_handle, the very code hookpipe.fcgi runs, without the
 * web server, the network or a runner). Each request is a ~1 KB JSON
 * event with a new id, stored in the configuration's spool with its
 * durability (the flush waits for the disk, which is not CPU; the
 * kernel's work for it is). Prints the CPU µs per request of one block
 * (process CPU time around the block only, after a warm-up); the counters
 * of [metrics] are per process, so bench/reqcost.sh runs one process per
 * block, A and B in turn.
 *   usage: REQCOST_TOKEN=T reqcost CONFIG [REQUESTS]   (default 500) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "receive.h"

struct fake {
	char	*params[16];
	char	 len[32], token[300];
	char	 body[1400];
	size_t	 n, off;
};

static long
fake_read(void *io, char *out, size_t n)
{
	struct fake	*f = io;
	size_t		 k = f->n - f->off;

	if (k > n)
		k = n;
	memcpy(out, f->body + f->off, k);
	f->off += k;
	return (long)k;
}

static double
cpu_us(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* One block of k requests to r; CPU µs per request; -1 when any answer
 * was not 200. */
static double
block(struct receiver *r, struct fake *f, const char *tag, int k,
    unsigned long *seq)
{
	struct answer	a;
	struct request	req;
	double		t;
	int		i, bad = 0;

	memset(&a, 0, sizeof(a));
	req.params = f->params;
	req.read = fake_read;
	req.io = f;
	t = cpu_us();
	for (i = 0; i < k; i++) {
		f->n = (size_t)snprintf(f->body, sizeof(f->body),
		    "{\"event\":\"bench.event\",\"id\":\"%s-%lu\",\"data\":"
		    "{\"pad\":\"%0900d\"}}", tag, (*seq)++, 0);
		(void)snprintf(f->len, sizeof(f->len), "CONTENT_LENGTH=%zu",
		    f->n);
		f->off = 0;
		receiver_handle(r, &req, &a);
		if (a.status != 200 && bad++ == 0)
			fprintf(stderr, "reqcost: %d %s\n", a.status,
			    buf_cstr(&a.body));
	}
	t = (cpu_us() - t) / k;
	answer_free(&a);
	return bad ? -1 : t;
}

int
main(int argc, char **argv)
{
	struct receiver	 r;
	struct fake	 f;
	unsigned long	 seq = 0;
	const char	*token;
	char		 tag[64];
	double		 t;
	int		 k, i;

	if (argc < 2) {
		fprintf(stderr, "usage: reqcost CONFIG [REQUESTS]\n");
		return 2;
	}
	k = argc > 2 ? atoi(argv[2]) : 500;
	if (k < 1 || (token = getenv("REQCOST_TOKEN")) == NULL) {
		fprintf(stderr, "reqcost: REQUESTS > 0; the token in "
		    "REQCOST_TOKEN\n");
		return 2;
	}
	memset(&f, 0, sizeof(f));
	(void)snprintf(f.token, sizeof(f.token), "HTTP_X_AUTH_TOKEN=%s", token);
	i = 0;
	f.params[i++] = (char *)(uintptr_t)"GATEWAY_INTERFACE=CGI/1.1";
	f.params[i++] = (char *)(uintptr_t)"REQUEST_METHOD=POST";
	f.params[i++] = (char *)(uintptr_t)"SCRIPT_NAME=/hooks";
	f.params[i++] = (char *)(uintptr_t)"REMOTE_ADDR=127.0.0.1";
	f.params[i++] = (char *)(uintptr_t)"CONTENT_TYPE=application/json";
	f.params[i++] = (char *)(uintptr_t)"HTTP_USER_AGENT=reqcost";
	f.params[i++] = f.len;
	f.params[i++] = f.token;
	f.params[i] = NULL;
	receiver_init(&r);
	if (receiver_load(&r, argv[1]) == -1) {
		fprintf(stderr, "reqcost: cannot load %s: %s\n", argv[1],
		    r.conf_error);
		return 1;
	}
	(void)snprintf(tag, sizeof(tag), "rc%ld-%ld", (long)time(NULL),
	    (long)getpid());
	/* A warm-up block of a tenth, not counted (first files, caches). */
	if (block(&r, &f, tag, k / 10 + 1, &seq) < 0 ||
	    (t = block(&r, &f, tag, k, &seq)) < 0)
		return 1;
	printf("%.2f\n", t);
	receiver_free(&r);
	return 0;
}
