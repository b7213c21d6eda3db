/* fixture.h: what the unit tests that build a folder on disk share: a
 * path joiner, a file writer that bails out, and a tree remover. */
#ifndef HOOKPIPE_FIXTURE_H
#define HOOKPIPE_FIXTURE_H

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DIR/NAME in one of four rotating buffers (so two can be nested). */
static __attribute__((unused)) const char *
fx_at(const char *dir, const char *name)
{
	static char	p[4][1024];
	static int	i;

	i = (i + 1) % 4;
	(void)snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* Write text to path with the mode; a test that cannot set up stops. */
static __attribute__((unused)) void
fx_put(const char *path, const char *text, mode_t mode)
{
	size_t	len = strlen(text);
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || write(fd, text, len) != (ssize_t)len ||
	    fchmod(fd, mode) == -1 || close(fd) == -1) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static __attribute__((unused)) int
fx_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* Remove a folder and all it holds (FIFOs and all); 0 or -1. */
static __attribute__((unused)) int
fx_rm_tree(const char *path)
{
	return nftw(path, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
