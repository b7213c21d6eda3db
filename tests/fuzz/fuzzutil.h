/* fuzzutil: the scratch folder and file helpers the harnesses share. */
#ifndef HOOKPIPE_FUZZUTIL_H
#define HOOKPIPE_FUZZUTIL_H

#include <stddef.h>
#include <sys/types.h>

#define FZ_CHECK(c)	do { if (!(c)) fz_broken(__FILE__, __LINE__, #c); \
	} while (0)

/* Report a broken invariant and abort (libFuzzer saves the input). */
void	fz_broken(const char *, int, const char *) __attribute__((noreturn));
/* A fresh folder under $TMPDIR (or /tmp), removed at exit; exits on
 * failure (only ever called from LLVMFuzzerInitialize). */
const char *fz_tmpdir(const char *);
/* Write a whole file with the given mode; exits on failure. */
void	fz_write(const char *, const void *, size_t, mode_t);
/* Like fz_write, to DIR/NAME. */
void	fz_writeat(const char *, const char *, const char *, mode_t);
/* Remove every entry of a folder (not the folder), recursively. */
void	fz_empty(const char *);

#endif
