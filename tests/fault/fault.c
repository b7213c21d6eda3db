/* fault.c: an LD_PRELOAD shim that makes one system call of the spool
 * commit fail, for the fault-injection tests.
 *   HOOKPIPE_FAULT=CALL:ERRNO[:N]   fail the Nth call (default 1st) of CALL
 * with ERRNO; N = 0 fails every call (a kernel without it). CALL is one
 * of writev, fsync, fdatasync (the journal's group flush), syncfs,
 * renameat, openat_excl (an openat with O_CREAT|O_EXCL, how
 * spool files are made), memfd_create (a kernel before 3.17). */
#define _GNU_SOURCE
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char	call[32];
static int	err, nth = 1, seen, parsed;

static void
parse(void)
{
	const char	*v = getenv("HOOKPIPE_FAULT"), *c1, *c2;
	char		 name[32];
	size_t		 n;

	parsed = 1;
	if (v == NULL || (c1 = strchr(v, ':')) == NULL)
		return;
	n = (size_t)(c1 - v);
	if (n >= sizeof(call))
		return;
	memcpy(call, v, n);
	call[n] = '\0';
	c2 = strchr(c1 + 1, ':');
	n = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);
	if (n >= sizeof(name))
		return;
	memcpy(name, c1 + 1, n);
	name[n] = '\0';
	err = strcmp(name, "EIO") == 0 ? EIO : strcmp(name, "ENOSPC") == 0 ?
	    ENOSPC : strcmp(name, "EACCES") == 0 ? EACCES :
	    strcmp(name, "EDQUOT") == 0 ? EDQUOT :
	    strcmp(name, "ENOSYS") == 0 ? ENOSYS : EIO;
	if (c2 != NULL)
		nth = atoi(c2 + 1);
}

/* 1 when this call of `name` is the one to fail. */
static int
hit(const char *name)
{
	if (!parsed)
		parse();
	if (call[0] == '\0' || strcmp(call, name) != 0)
		return 0;
	return nth == 0 || ++seen == nth;
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	static ssize_t (*real)(int, const struct iovec *, int);

	if (hit("writev")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (ssize_t (*)(int, const struct iovec *, int))
		    dlsym(RTLD_NEXT, "writev");
	return real(fd, iov, n);
}

int
fsync(int fd)
{
	static int (*real)(int);

	if (hit("fsync")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	return real(fd);
}

int
memfd_create(const char *name, unsigned int flags)
{
	static int (*real)(const char *, unsigned int);

	if (hit("memfd_create")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(const char *, unsigned int))
		    dlsym(RTLD_NEXT, "memfd_create");
	return real(name, flags);
}

int
syncfs(int fd)
{
	static int (*real)(int);

	if (hit("syncfs")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
	return real(fd);
}

int
fdatasync(int fd)
{
	static int (*real)(int);

	if (hit("fdatasync")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	return real(fd);
}

int
renameat(int ofd, const char *o, int nfd, const char *n)
{
	static int (*real)(int, const char *, int, const char *);

	if (hit("renameat")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int, const char *, int, const char *))
		    dlsym(RTLD_NEXT, "renameat");
	return real(ofd, o, nfd, n);
}

int
openat(int dfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t	mode = 0;
	va_list	ap;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL) &&
	    strstr(path, ".id") == NULL && hit("openat_excl")) {
		errno = err;
		return -1;
	}
	if (real == NULL)
		real = (int (*)(int, const char *, int, ...))
		    dlsym(RTLD_NEXT, "openat");
	return real(dfd, path, flags, mode);
}
