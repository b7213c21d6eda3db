/* fuzzutil: the scratch folder and file helpers the harnesses share.
 * Setup failures exit: a harness without its files would only find
 * its own mistakes. */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzutil.h"

static char	tmpdir[PATH_MAX];

void
fz_broken(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line,
	    what);
	abort();
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == -1 ? -1 : 0;
	return unlink(path) == -1 ? -1 : 0;
}

static void
rm_tmpdir(void)
{
	if (tmpdir[0] != '\0')
		(void)nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fz_tmpdir(const char *prefix)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (snprintf(tmpdir, sizeof(tmpdir), "%s/%s.XXXXXX", base, prefix) >=
	    (int)sizeof(tmpdir) || mkdtemp(tmpdir) == NULL) {
		fprintf(stderr, "fuzz: cannot make a folder in %s: %s\n", base,
		    strerror(errno));
		exit(1);
	}
	if (atexit(rm_tmpdir) != 0)
		exit(1);
	return tmpdir;
}

void
fz_write(const char *path, const void *p, size_t n, mode_t mode)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) ==
	    -1 || fchmod(fd, mode) == -1 || write(fd, p, n) != (ssize_t)n ||
	    close(fd) == -1) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

void
fz_writeat(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path)) {
		fprintf(stderr, "fuzz: path too long: %s/%s\n", dir, name);
		exit(1);
	}
	fz_write(path, text, strlen(text), mode);
}

void
fz_empty(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 path[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") ==
		    0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (unlink(path) == -1 && errno == EISDIR)
			(void)nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	(void)closedir(d);
}
