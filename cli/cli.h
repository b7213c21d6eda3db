/* cli.h: what the subcommands of `hookpipe` share. */
#ifndef HOOKPIPE_CLI_H
#define HOOKPIPE_CLI_H

#include "conf.h"
#include "spool.h"

int	cmd_status(const char *, int, char **);
int	cmd_ls(const char *, int, char **);
int	cmd_show(const char *, int, char **);
int	cmd_replay(const char *, int, char **);
int	cmd_purge(const char *, int, char **);
int	cmd_send(const char *, int, char **);
int	cmd_passwd(const char *, int, char **);
int	cmd_metrics(const char *, int, char **);

/* Load the configuration and open its spool; prints why on failure. */
struct conf *cli_open(const char *, struct spool **);
/* "2h" (ago) or "2026-11-28" or "2026-11-28T10:00:00Z" -> µs since the
 * epoch; -1 when neither. */
int64_t	cli_parse_since(const char *);

#endif
