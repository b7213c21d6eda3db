/* auth: shared-secret tokens, loaded from where the configuration
 * names them and compared in constant time. */
#ifndef HOOKPIPE_AUTH_H
#define HOOKPIPE_AUTH_H

#include <sys/types.h>

#include <stddef.h>

#include "util.h"

#define TOKEN_MAX	512	/* longest token or secret, in bytes */

struct token {
	char		*p;
	size_t		 n;
	unsigned char	 pad[TOKEN_MAX];	/* p, zero-padded */
};

struct tokens {
	struct token	*v;
	size_t		 n;
};

/* Parse tokens, one per line ('#' comments, blank lines skipped);
 * `origin` names the source in errors. */
int	tokens_parse(const char *, const char *, struct tokens *, struct err *);
/* Read a token file (at most 64 KiB) and parse it. */
int	tokens_load(const char *, struct tokens *, struct err *);
/* Where an endpoint's tokens (or signing secrets) are, as its
 * configuration says: a file, or a value in the INI itself. */
struct secret_src {
	const char	*file;		/* a regular file, or NULL: value */
	mode_t		 file_mode;	/* its mode */
	const char	*value;		/* "env:NAME", or the secrets written */
	const char	*key;		/* the value's: "token" or "secret" */
	const char	*ini;		/* the INI that holds the value, */
	mode_t		 ini_mode;	/* and its mode */
	int		 insecure;	/* insecure_permissions = yes */
};
/* Load them: a file, or an INI holding them, that others may read is
 * refused unless insecure; "env:NAME" is the variable of this process.
 * 0, or -1 with the reason in err. */
int	auth_load_secrets(const struct secret_src *, struct tokens *,
	    struct err *);
/* Wipe and free. */
void	tokens_free(struct tokens *);
/* Constant-time equality; time depends only on the expected length.
 * The given bytes must have at least one readable byte (a C string). */
int	ct_equal(const void *, size_t, const void *, size_t);
/* 1 when the given value equals one of the tokens; every token is
 * compared whatever the outcome, over TOKEN_MAX zero-padded bytes, so the
 * time depends neither on how much of the guess is right nor on a
 * token's length. */
int	auth_token_ok(const struct tokens *, const char *);
/* "x-auth-token" -> "HTTP_X_AUTH_TOKEN", the CGI parameter name. */
int	auth_header_param(const char *, char *, size_t);

#endif
