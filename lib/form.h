/* form: application/x-www-form-urlencoded bodies and query strings,
 * decoded into pairs sorted by name (then value), as the schemes that
 * sign form parameters (Twilio) need them. */
#ifndef HOOKPIPE_FORM_H
#define HOOKPIPE_FORM_H

#include <stddef.h>

#include "util.h"

#define FORM_MAX_PAIRS	4096

struct form_pair {
	const char	*name;		/* decoded, NUL-terminated; may hold */
	size_t		 namelen;	/* NUL bytes (%00): use the lengths */
	const char	*value;
	size_t		 valuelen;
};

struct form {
	struct form_pair *v;
	size_t		  n;
	char		 *buf;		/* the decoded text of every pair */
};

/* Decode "a=1&b=%20x+y" ('+' is a space, %XX a byte; a pair without '='
 * has an empty value; empty pairs are skipped) into pairs sorted by the
 * bytes of the name, then of the value. 0; -1 with the reason in err (a
 * bad %-escape, more than FORM_MAX_PAIRS pairs, out of memory), and the
 * form then empty. */
int	form_parse(const char *, size_t, struct form *, struct err *);
/* The first pair of that name, or NULL. */
const struct form_pair *form_get(const struct form *, const char *);
void	form_free(struct form *);

#endif
