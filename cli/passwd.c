/* passwd: write the status page's password file, one crypt(3) hash
 * (yescrypt, as mkpasswd makes) for [status] password_file. */
#include "config.h"

#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

#define PASSWORD_MAX	1024

/* One line from fd without its newline; -1 at EOF before any byte, or
 * when it is longer than the buffer. */
static int
read_line(int fd, char *p, size_t len)
{
	size_t	n = 0;
	ssize_t	r;
	char	ch;

	for (;;) {
		if ((r = read(fd, &ch, 1)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return n > 0 ? 0 : -1;
		if (ch == '\n')
			break;
		if (n + 1 >= len)
			return -1;
		p[n++] = ch;
	}
	if (n > 0 && p[n - 1] == '\r')
		n--;
	p[n] = '\0';
	return 0;
}

/* Ask on the terminal with echo off; restored whatever happens. */
static int
ask(int tty, const char *prompt, char *p, size_t len)
{
	struct termios	old, quiet;
	int		rc;

	if (write_all(tty, prompt, strlen(prompt)) == -1 ||
	    tcgetattr(tty, &old) == -1)
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	if (tcsetattr(tty, TCSAFLUSH, &quiet) == -1)
		return -1;
	rc = read_line(tty, p, len);
	(void)tcsetattr(tty, TCSAFLUSH, &old);
	(void)write_all(tty, "\n", 1);
	return rc;
}

/* The hash into FILE.tmp (0600, never through a link), then renamed
 * over FILE: a reader sees the old hash or the new one. */
static int
write_hash(const char *path, const char *hash)
{
	char	tmp[4096];
	int	fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		say(SAY_FATAL, "%s: path too long", path);
		return -1;
	}
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		say(SAY_FATAL, "unable to create %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, hash, strlen(hash)) == -1 ||
	    write_all(fd, "\n", 1) == -1 || fsync(fd) == -1) {
		say(SAY_FATAL, "unable to write %s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		say(SAY_FATAL, "unable to write %s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
cmd_passwd(const char *cfg, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stdin", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	struct crypt_data	*cd = NULL;
	char			 pw[PASSWORD_MAX], again[PASSWORD_MAX];
	char			 salt[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h;
	int			 ch, fromstdin = 0, tty = -1, rc = EXIT_FAIL;

	(void)cfg;
	optind = 0;	/* glibc: start afresh (permute again) */
	while ((ch = getopt_long(argc, argv, ":s", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			fromstdin = 1;
			break;
		default:
			say_getopt(ch, argv);
			goto usage;
		}
	}
	if (optind + 1 != argc)
		goto usage;
	if (fromstdin) {
		if (read_line(0, pw, sizeof(pw)) == -1) {
			say(SAY_FATAL, "no password on stdin (one line, at "
			    "most %d bytes)", PASSWORD_MAX - 1);
			goto out;
		}
	} else {
		if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC)) == -1) {
			say(SAY_FATAL, "unable to open the terminal: %s (give "
			    "the password on stdin with --stdin)",
			    strerror(errno));
			goto out;
		}
		if (ask(tty, "Password: ", pw, sizeof(pw)) == -1 ||
		    ask(tty, "Again: ", again, sizeof(again)) == -1) {
			say(SAY_FATAL, "unable to read the password from the "
			    "terminal");
			goto out;
		}
		if (strcmp(pw, again) != 0) {
			say(SAY_FATAL, "the passwords differ: nothing written");
			goto out;
		}
	}
	if (pw[0] == '\0') {
		say(SAY_FATAL, "an empty password: nothing written");
		goto out;
	}
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL ||
	    (cd = calloc(1, sizeof(*cd))) == NULL ||
	    (h = crypt_r(pw, salt, cd)) == NULL || h[0] != '$') {
		say(SAY_FATAL, "unable to hash the password with yescrypt: %s",
		    strerror(errno));
		goto out;
	}
	if (write_hash(argv[optind], h) == 0) {
		printf("wrote %s: name it in [status] password_file\n",
		    argv[optind]);
		rc = EXIT_OK;
	}
out:
	wipe(pw, sizeof(pw));
	wipe(again, sizeof(again));
	if (cd != NULL) {
		wipe(cd, sizeof(*cd));
		free(cd);
	}
	if (tty != -1)
		(void)close(tty);
	return rc;
usage:
	fprintf(stderr, "usage: hookpipe passwd [--stdin] FILE\n");
	return EXIT_USAGE;
}
