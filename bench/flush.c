/* flush: what one durable write of about 1 KiB costs on this disk, by
 * the way it is written. One process, a loop for SECONDS, each turn
 * timed alone; prints p50, p90, p99 and the largest, in ms.
 *   append     write at the end of a file, fdatasync (the journal today)
 *   overwrite  pwrite into a 64 MiB file written whole beforehand,
 *              fdatasync (no size, block or extent change)
 *   falloc     pwrite into a 64 MiB fallocate'd file, fdatasync
 *   keepsize   append into 64 MiB reserved past the end
 *              (fallocate FALLOC_FL_KEEP_SIZE), fdatasync: the size
 *              still grows, but no block is allocated at the flush
 *   maildir    create a file, write, fsync, rename it, fsync the
 *              folder (noop-spool's sequence)
 * Run it beside a writer (dd of gigabytes into the same file system) to
 * see what the writer does to each.
 *   usage: cc -O2 -o flush bench/flush.c && ./flush MODE DIR [SECONDS] */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RECORD		1024
#define FILE_BYTES	(64L * 1024 * 1024)
#define MAX_TURNS	1000000

static double	lat[MAX_TURNS];

static double
now_ms(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

/* The 64 MiB file of overwrite (written, flushed) or falloc. */
static int
sized(const char *path, int written)
{
	static char	zero[1 << 20];
	long		off;
	int		fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		die(path);
	if (!written) {
		if (fallocate(fd, 0, 0, FILE_BYTES) == -1)
			die("fallocate");
	} else
		for (off = 0; off < FILE_BYTES; off += sizeof(zero))
			if (write(fd, zero, sizeof(zero)) != sizeof(zero))
				die("write");
	if (fsync(fd) == -1)
		die("fsync");
	return fd;
}

/* One maildir turn: the entry n made durable under DIR. */
static void
maildir(const char *dir, int dfd, size_t n, const char *rec)
{
	char	tmp[4096], fin[4096];
	int	fd;

	(void)snprintf(tmp, sizeof(tmp), "%s/tmp.%zu", dir, n);
	(void)snprintf(fin, sizeof(fin), "%s/new.%zu", dir, n);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		die(tmp);
	if (write(fd, rec, RECORD) != RECORD || fsync(fd) == -1)
		die("write");
	(void)close(fd);
	if (rename(tmp, fin) == -1 || fsync(dfd) == -1)
		die("rename");
}

int
main(int argc, char **argv)
{
	char		 rec[RECORD], path[4096];
	const char	*mode, *dir;
	double		 end, t0;
	size_t		 n = 0, i;
	off_t		 off = 0;
	int		 fd = -1, dfd;

	if (argc < 3) {
		fprintf(stderr, "usage: flush append|keepsize|overwrite|falloc|maildir "
		    "DIR [SECONDS]\n");
		return 2;
	}
	mode = argv[1];
	dir = argv[2];
	memset(rec, 'x', sizeof(rec));
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		die(dir);
	(void)snprintf(path, sizeof(path), "%s/flush.%s", dir, mode);
	if (strcmp(mode, "append") == 0 || strcmp(mode, "keepsize") == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
		    0600)) == -1)
			die(path);
		if (strcmp(mode, "keepsize") == 0 && (fallocate(fd,
		    FALLOC_FL_KEEP_SIZE, 0, FILE_BYTES) == -1 ||
		    fsync(fd) == -1))
			die("fallocate");
	} else if (strcmp(mode, "overwrite") == 0)
		fd = sized(path, 1);
	else if (strcmp(mode, "falloc") == 0)
		fd = sized(path, 0);
	else if (strcmp(mode, "maildir") != 0) {
		fprintf(stderr, "flush: no mode %s\n", mode);
		return 2;
	}
	end = now_ms() + 1e3 * (argc > 3 ? atof(argv[3]) : 5);
	while (n < MAX_TURNS && (t0 = now_ms()) < end) {
		if (fd == -1)
			maildir(dir, dfd, n, rec);
		else {
			if ((fcntl(fd, F_GETFL) & O_APPEND ?
			    write(fd, rec, sizeof(rec)) :
			    pwrite(fd, rec, sizeof(rec), off)) != RECORD)
				die("write");
			off = (off + RECORD) % FILE_BYTES;
			if (fdatasync(fd) == -1)
				die("fdatasync");
		}
		lat[n++] = now_ms() - t0;
	}
	if (n == 0)
		return 1;
	qsort(lat, n, sizeof(*lat), cmp);
	printf("%-9s turns %zu  p50 %.3f  p90 %.3f  p99 %.3f  max %.3f ms\n",
	    mode, n, lat[n / 2], lat[n * 9 / 10], lat[n * 99 / 100],
	    lat[n - 1]);
	if (fd != -1)
		(void)unlink(path);
	else
		for (i = 0; i < n; i++) {
			(void)snprintf(path, sizeof(path), "%s/new.%zu", dir, i);
			(void)unlink(path);
		}
	return 0;
}
