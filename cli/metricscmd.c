/* metrics: `hookpipe metrics`, the text /hooks/_metrics serves, on
 * stdout or into DIR/hookpipe.prom for node_exporter's textfile
 * collector (written beside it, then renamed: a scrape never reads half
 * a file). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "metrics.h"

#define PROM_FILE	"hookpipe.prom"

static int
write_textfile(const char *dir, const struct buf *b)
{
	char	tmp[4096], dst[4096];
	int	fd;

	if (snprintf(dst, sizeof(dst), "%s/" PROM_FILE, dir) >=
	    (int)sizeof(dst) || snprintf(tmp, sizeof(tmp), "%s/.%s.%ld", dir,
	    PROM_FILE, (long)getpid()) >= (int)sizeof(tmp)) {
		say(SAY_FATAL, "%s: path too long", dir);
		return -1;
	}
	/* A name node_exporter skips (it reads *.prom only). */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		say(SAY_FATAL, "unable to create %s: %s (is --textfile a "
		    "folder this user may write?)", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, b->p, b->len) == -1 || fsync(fd) == -1) {
		say(SAY_FATAL, "unable to write %s: %s", tmp, strerror(errno));
		(void)close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, dst) == -1) {
		say(SAY_FATAL, "unable to write %s: %s", dst, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
cmd_metrics(const char *cfg, int argc, char **argv)
{
	struct spool	*s;
	struct conf	*c;
	struct err	 e;
	struct buf	 b = { 0 };
	const char	*dir = NULL;
	int		 rc = EXIT_OK;

	if (argc == 3 && strcmp(argv[1], "--textfile") == 0)
		dir = argv[2];
	else if (argc != 1) {
		say(SAY_FATAL, "%s %s", argv[1][0] == '-' ? "unknown option" :
		    "unexpected argument", argv[1]);
		fprintf(stderr, "usage: hookpipe metrics [--textfile DIR]\n");
		return EXIT_USAGE;
	}
	if ((c = cli_open(cfg, &s)) == NULL)
		return EXIT_FAIL;
	/* Never created here (as root it would lock the responder out):
	 * without the file, the gauges alone. */
	if (metrics_attach(c->spool_dir, 0, &e) == -1 && e.errnum != ENOENT)
		say(SAY_WARNING, "%s; the counters are left out", e.msg);
	metrics_render(&b, c, s);
	if (b.oom) {
		say(SAY_FATAL, "out of memory");
		rc = EXIT_TEMP;
	} else if (dir != NULL)
		rc = write_textfile(dir, &b) == -1 ? EXIT_FAIL : EXIT_OK;
	else if (fwrite(b.p, 1, b.len, stdout) != b.len || fflush(stdout) != 0)
		rc = EXIT_FAIL;
	buf_free(&b);
	metrics_detach();
	spool_close(s);
	conf_free(c);
	return rc;
}
