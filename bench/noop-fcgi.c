/* noop-fcgi: the floor of what a FastCGI webhook receiver can cost here.
 * Reads the whole body and answers 200 with a small JSON body; with
 * NOOP_SPOOL=DIR set it also stores each body the naive durable way
 * (write, fsync, rename into DIR/new, fsync DIR/new) before answering.
 * Built and run by bench/peers.sh only; not installed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include <fcgiapp.h>

#define BODY_MAX	(1024 * 1024)

static char	 body[BODY_MAX];
static int	 tmpfd = -1, newfd = -1;
static unsigned long counter;

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One durable store, Maildir style; -1 with errno set on failure. */
static int
store(const char *p, size_t n)
{
	char	name[64];
	int	fd;

	(void)snprintf(name, sizeof(name), "%ld.%lu", (long)getpid(),
	    ++counter);
	if ((fd = openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	if (write_all(fd, p, n) == -1 || fsync(fd) == -1) {
		(void)close(fd);
		return -1;
	}
	if (close(fd) == -1)
		return -1;
	if (renameat(tmpfd, name, newfd, name) == -1)
		return -1;
	return fsync(newfd);
}

static int
open_spool(const char *dir)
{
	char path[4096];

	(void)snprintf(path, sizeof(path), "%s/tmp", dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((tmpfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	(void)snprintf(path, sizeof(path), "%s/new", dir);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((newfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	return 0;
}

int
main(void)
{
	FCGX_Stream	*in, *out, *err;
	FCGX_ParamArray	 envp;
	const char	*spool;
	size_t		 n;
	int		 r;

	spool = getenv("NOOP_SPOOL");
	if (spool != NULL && *spool != '\0' && open_spool(spool) == -1) {
		fprintf(stderr, "noop-fcgi: fatal: unable to open spool %s: %s\n",
		    spool, strerror(errno));
		return 111;
	}
	while (FCGX_Accept(&in, &out, &err, &envp) >= 0) {
		n = 0;
		while (n < sizeof(body) &&
		    (r = FCGX_GetStr(body + n, (int)(sizeof(body) - n), in)) > 0)
			n += (size_t)r;
		if (tmpfd != -1 && store(body, n) == -1) {
			FCGX_FPrintF(err, "noop-fcgi: unable to store: %s\n",
			    strerror(errno));
			FCGX_FPrintF(out, "Status: 503 Service Unavailable\r\n"
			    "Content-Type: application/json\r\n\r\n"
			    "{\"status\":\"error\"}\n");
			continue;
		}
		FCGX_FPrintF(out, "Status: 200 OK\r\n"
		    "Content-Type: application/json\r\n\r\n"
		    "{\"status\":\"accepted\",\"bytes\":%lu}\n", (unsigned long)n);
	}
	return 0;
}
