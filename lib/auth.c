/* auth: load shared-secret tokens and compare them without leaking,
 * through timing, how much of a guess was right, or how long a token is:
 * each token is kept zero-padded to TOKEN_MAX bytes, a guess is padded
 * the same way, and ct_memeq (lib/util.c) compares all TOKEN_MAX bytes.
 * No libcrypto: a responder with a token only never maps it (a digest
 * would do too, but libcrypto costs each responder 1.4 MiB and more). */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"

#define TOKEN_FILE_MAX	(64 * 1024)

void
tokens_free(struct tokens *t)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		wipe(t->v[i].p, t->v[i].n);
		wipe(t->v[i].pad, sizeof(t->v[i].pad));
		free(t->v[i].p);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

int
tokens_parse(const char *text, const char *origin, struct tokens *t,
    struct err *e)
{
	const char	*p, *next, *nl, *line, *end;
	struct token	*nv;
	size_t		 lineno = 0, i;

	t->v = NULL;
	t->n = 0;
	for (p = text; *p != '\0'; p = next) {
		lineno++;
		nl = strchr(p, '\n');
		next = nl != NULL ? nl + 1 : p + strlen(p);
		line = p;
		end = nl != NULL ? nl : next;
		while (line < end && isspace((unsigned char)*line))
			line++;
		while (end > line && isspace((unsigned char)end[-1]))
			end--;
		if (line == end || *line == '#')
			continue;
		if ((size_t)(end - line) > TOKEN_MAX) {
			tokens_free(t);
			return err_set(e, "%s:%zu: a token is at most %d "
			    "characters", origin, lineno, TOKEN_MAX);
		}
		for (i = 0; line + i < end; i++) {
			if (!isgraph((unsigned char)line[i])) {
				tokens_free(t);
				return err_set(e, "%s:%zu: a token may hold only "
				    "printable ASCII without spaces", origin,
				    lineno);
			}
		}
		nv = reallocarray(t->v, t->n + 1, sizeof(*t->v));
		if (nv == NULL)
			goto oom;
		t->v = nv;
		if ((t->v[t->n].p = strndup(line, (size_t)(end - line))) == NULL)
			goto oom;
		t->v[t->n].n = (size_t)(end - line);
		memset(t->v[t->n].pad, 0, sizeof(t->v[t->n].pad));
		memcpy(t->v[t->n].pad, t->v[t->n].p, t->v[t->n].n);
		t->n++;
	}
	if (t->n == 0)
		return err_set(e, "%s holds no token: write one token per line",
		    origin);
	return 0;
oom:
	tokens_free(t);
	return err_sys(e, "%s", origin);
}

int
tokens_load(const char *path, struct tokens *t, struct err *e)
{
	char	*text;
	size_t	 len;
	int	 rc;

	if (read_file(path, TOKEN_FILE_MAX, &text, &len, e) == -1)
		return -1;
	if (memchr(text, '\0', len) != NULL) {
		rc = err_set(e, "%s holds a NUL byte", path);
	} else
		rc = tokens_parse(text, path, t, e);
	wipe(text, len);
	free(text);
	return rc;
}

int
auth_load_secrets(const struct secret_src *s, struct tokens *t,
    struct err *e)
{
	const char *env;

	if (s->file != NULL) {
		if ((s->file_mode & S_IROTH) && !s->insecure)
			return err_set(e, "%s is readable by others: chmod "
			    "o-rwx %s (or set insecure_permissions = yes)",
			    s->file, s->file);
		return tokens_load(s->file, t, e);
	}
	if (strncmp(s->value, "env:", 4) == 0) {
		/* The web server's environment: the INI may stay readable. */
		if ((env = getenv(s->value + 4)) == NULL || *env == '\0')
			return err_set(e, "the environment variable %s is not "
			    "set for this process (set it where the web "
			    "server starts hookpipe: FcgidInitialEnv, "
			    "bin-environment, Environment=)", s->value + 4);
		return tokens_parse(env, s->value, t, e);
	}
	if ((s->ini_mode & S_IROTH) && !s->insecure)
		return err_set(e, "%s holds a secret and is readable by "
		    "others: chmod o-rwx %s, or move it to a private %s_file, "
		    "or write env:NAME", s->ini, s->ini, s->key);
	return tokens_parse(s->value, s->key, t, e);
}

int
ct_equal(const void *given, size_t glen, const void *expect, size_t elen)
{
	const volatile unsigned char	*g = given, *x = expect;
	unsigned char			 diff = 0, mask, c;
	size_t				 i, in;

	diff |= (unsigned char)((glen ^ elen) != 0);
	for (i = 0; i < elen; i++) {
		/* No branch on the guess's length either: in is 1 while i is
		 * inside it (both far below 2^63), and past its end the byte
		 * read is its first (a string has at least its NUL) and the
		 * complement of the expected one is compared instead. */
		in = (i - glen) >> (sizeof(size_t) * 8 - 1);
		mask = (unsigned char)(0U - (unsigned)in);
		c = g[i * in];
		diff |= x[i] ^ (unsigned char)((c & mask) |
		    ((unsigned char)~x[i] & (unsigned char)~mask));
	}
	return diff == 0;
}

int
auth_token_ok(const struct tokens *t, const char *given)
{
	unsigned char	g[TOKEN_MAX];
	size_t		i, glen;
	int		ok = 0;

	if (given == NULL || (glen = strlen(given)) > TOKEN_MAX)
		return 0;	/* the time depends on the guess only */
	memset(g, 0, sizeof(g));
	memcpy(g, given, glen);
	for (i = 0; i < t->n; i++)
		ok |= ct_memeq(g, t->v[i].pad, sizeof(g)) &
		    (int)((glen ^ t->v[i].n) == 0);
	wipe(g, sizeof(g));
	return ok;
}

int
auth_header_param(const char *h, char *out, size_t len)
{
	size_t i, n = strlen(h);

	if (n == 0 || n + 6 > len)
		return -1;
	memcpy(out, "HTTP_", 5);
	for (i = 0; i < n; i++) {
		if (h[i] == '-')
			out[5 + i] = '_';
		else if (isalnum((unsigned char)h[i]))
			out[5 + i] = (char)toupper((unsigned char)h[i]);
		else
			return -1;
	}
	out[5 + n] = '\0';
	return 0;
}
