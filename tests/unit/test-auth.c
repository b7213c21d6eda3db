/* test-auth: constant-time compare, token files and the header name. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "tap.h"

#define TOK_A	"0123456789abcdefOLD"
#define TOK_B	"fedcba9876543210NEW"

static void
test_ct_equal(void)
{
	is_int(ct_equal("secret", 6, "secret", 6), 1, "equal");
	is_int(ct_equal("secreT", 6, "secret", 6), 0, "last byte differs");
	is_int(ct_equal("Secret", 6, "secret", 6), 0, "first byte differs");
	is_int(ct_equal("secre", 5, "secret", 6), 0, "given shorter");
	is_int(ct_equal("secrets", 7, "secret", 6), 0, "given longer");
	is_int(ct_equal("", 0, "secret", 6), 0, "given empty");
	is_int(ct_equal("secret", 6, "", 0), 0, "expected empty");
	is_int(ct_equal("", 0, "", 0), 1, "both empty");
	is_int(ct_equal("a\0b", 3, "a\0b", 3), 1, "embedded NUL equal");
	is_int(ct_equal("a\0b", 3, "a\0c", 3), 0, "differs after a NUL");
	/* A shorter given value never matches, even when the rest of the
	 * expected value is NUL bytes. */
	is_int(ct_equal("sec", 3, "sec\0\0\0", 6), 0, "prefix vs NUL-padded");
}

static void
test_parse(void)
{
	struct tokens	t;
	struct err	e;
	const char	*text = "# tokens for the booking service\r\n"
	    "\r\n"
	    "   \t\r\n"
	    TOK_A "\r\n"
	    "  # the new one, during rotation\r\n"
	    "  " TOK_B "  \r\n";

	is_int(tokens_parse(text, "test", &t, &e), 0,
	    "comments, blank lines, CRLF, two tokens: parses");
	is_int(t.n, 2, "two tokens");
	if (t.n == 2) {
		is_str(t.v[0].p, TOK_A, "first token exact (no \\r)");
		is_int(t.v[0].n, strlen(TOK_A), "first token length");
		is_str(t.v[1].p, TOK_B, "second token trimmed");
		is_int(t.v[1].n, strlen(TOK_B), "second token length");
	}
	is_int(auth_token_ok(&t, TOK_A), 1, "old token accepted");
	is_int(auth_token_ok(&t, TOK_B), 1, "new token accepted");
	is_int(auth_token_ok(&t, "0123456789abcdefXXX"), 0,
	    "other token refused");
	is_int(auth_token_ok(&t, "0123456789abcdef"), 0, "prefix refused");
	is_int(auth_token_ok(&t, TOK_A "x"), 0, "token plus one char refused");
	is_int(auth_token_ok(&t, TOK_A "\r"), 0, "token plus \\r refused");
	is_int(auth_token_ok(&t, ""), 0, "empty string refused");
	is_int(auth_token_ok(&t, NULL), 0, "NULL refused");
	is_int(auth_token_ok(&t, TOK_A "\n" TOK_B), 0,
	    "two tokens joined refused");
	tokens_free(&t);
	is_int(t.n, 0, "tokens_free empties");
	ok(t.v == NULL, "tokens_free releases");

	is_int(tokens_parse("last-line-no-newline", "x", &t, &e), 0,
	    "token without final newline");
	is_int(t.n, 1, "one token");
	if (t.n == 1)
		is_str(t.v[0].p, "last-line-no-newline", "token exact");
	tokens_free(&t);
}

static void
test_parse_errors(void)
{
	struct tokens	t;
	struct err	e;

	memset(&e, 0, sizeof(e));
	is_int(tokens_parse("# only\n\n  # comments\n", "tok.txt", &t, &e), -1,
	    "only comments: error");
	is_int(t.n, 0, "only comments: no tokens");
	ok(strstr(e.msg, "tok.txt") != NULL &&
	    strstr(e.msg, "no token") != NULL,
	    "only comments: message names the origin (%s)", e.msg);

	memset(&e, 0, sizeof(e));
	is_int(tokens_parse("", "empty.txt", &t, &e), -1, "empty text: error");

	{
		char	 big[TOKEN_MAX + 3];

		memset(big, 'k', TOKEN_MAX);
		big[TOKEN_MAX] = '\0';
		is_int(tokens_parse(big, "max.txt", &t, &e), 0,
		    "a token of TOKEN_MAX characters is accepted");
		ok(t.n == 1 && auth_token_ok(&t, big),
		    "and matches itself");
		big[TOKEN_MAX - 1] = '\0';
		ok(!auth_token_ok(&t, big), "one character short: no match");
		tokens_free(&t);
		memset(big, 'k', TOKEN_MAX + 1);
		big[TOKEN_MAX + 1] = '\0';
		is_int(tokens_parse(big, "max.txt", &t, &e), -1,
		    "a token longer than TOKEN_MAX is refused");
		ok(strstr(e.msg, "at most 512") != NULL, "saying the limit");
	}

	memset(&e, 0, sizeof(e));
	is_int(tokens_parse("# c\ngood-token-1234567\nbad token\n", "tok.txt",
	    &t, &e), -1, "token with a space inside: error");
	is_int(t.n, 0, "space inside: no tokens kept");
	ok(t.v == NULL, "space inside: memory released");
	ok(strstr(e.msg, "tok.txt:3:") != NULL,
	    "space inside: message names line 3 (%s)", e.msg);

	memset(&e, 0, sizeof(e));
	is_int(tokens_parse("tab\there\n", "t", &t, &e), -1,
	    "token with a tab inside: error");
	ok(strstr(e.msg, "t:1:") != NULL, "tab inside: line 1 (%s)", e.msg);

	memset(&e, 0, sizeof(e));
	is_int(tokens_parse("caf\xc3\xa9-token\n", "t", &t, &e), -1,
	    "token with non-ASCII: error");
}

static void
test_load(void)
{
	char		 dir[] = "/tmp/hookpipe-test-auth.XXXXXX";
	char		 path[256];
	struct tokens	 t;
	struct err	 e;
	int		 fd;
	const char	*text = "# rotation\n" TOK_A "\n" TOK_B "\n";

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	(void)snprintf(path, sizeof(path), "%s/tokens", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd != -1 && write(fd, text, strlen(text)) ==
	    (ssize_t)strlen(text) && close(fd) == 0, "write token file");
	is_int(tokens_load(path, &t, &e), 0, "tokens_load reads the file");
	is_int(t.n, 2, "tokens_load: two tokens");
	is_int(auth_token_ok(&t, TOK_B), 1, "loaded token accepted");
	is_int(auth_token_ok(&t, "nope"), 0, "other refused");
	tokens_free(&t);

	fd = open(path, O_WRONLY | O_TRUNC);
	ok(fd != -1 && write(fd, "abc\0def\n", 8) == 8 && close(fd) == 0,
	    "write token file with a NUL");
	memset(&e, 0, sizeof(e));
	is_int(tokens_load(path, &t, &e), -1, "NUL byte in the file: error");
	ok(strstr(e.msg, "NUL") != NULL, "NUL: message says so (%s)", e.msg);

	(void)unlink(path);
	memset(&e, 0, sizeof(e));
	is_int(tokens_load(path, &t, &e), -1, "missing file: error");
	ok(strstr(e.msg, path) != NULL, "missing file: message names it");
	(void)rmdir(dir);
}

/* auth_load_secrets: where the configuration says the tokens are. */
static void
test_load_secrets(void)
{
	char			 dir[] = "/tmp/hookpipe-test-auth.XXXXXX";
	char			 path[256];
	struct secret_src	 src;
	struct tokens		 t;
	struct err		 e;
	int			 fd;

	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp");
		return;
	}
	(void)snprintf(path, sizeof(path), "%s/tokens", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ok(fd != -1 && write(fd, TOK_A "\n", strlen(TOK_A) + 1) ==
	    (ssize_t)strlen(TOK_A) + 1 && close(fd) == 0, "write token file");
	memset(&src, 0, sizeof(src));
	src.key = "token";
	src.ini = "/etc/hp.ini";
	src.file = path;
	src.file_mode = 0100600;
	is_int(auth_load_secrets(&src, &t, &e), 0, "a private file: loads");
	is_int(t.n, 1, "its token");
	tokens_free(&t);
	src.file_mode = 0100644;
	is_int(auth_load_secrets(&src, &t, &e), -1, "a file others may read: "
	    "refused");
	ok(strstr(e.msg, "is readable by others: chmod o-rwx") != NULL,
	    "with the fix (%s)", e.msg);
	src.insecure = 1;
	is_int(auth_load_secrets(&src, &t, &e), 0, "unless insecure");
	tokens_free(&t);
	(void)unlink(path);
	(void)rmdir(dir);

	memset(&src, 0, sizeof(src));
	src.key = "token";
	src.ini = "/etc/hp.ini";
	src.value = TOK_B;
	src.ini_mode = 0100640;
	is_int(auth_load_secrets(&src, &t, &e), 0, "inline in a private INI");
	is_str(t.n == 1 ? t.v[0].p : NULL, TOK_B, "the token written");
	tokens_free(&t);
	src.ini_mode = 0100644;
	is_int(auth_load_secrets(&src, &t, &e), -1, "inline in an INI others "
	    "may read: refused");
	ok(strstr(e.msg, "/etc/hp.ini holds a secret and is readable by "
	    "others: chmod o-rwx /etc/hp.ini, or move it to a private "
	    "token_file") != NULL, "saying where it could go (%s)", e.msg);
	(void)setenv("HP_TEST_AUTH", TOK_A, 1);
	src.value = "env:HP_TEST_AUTH";
	is_int(auth_load_secrets(&src, &t, &e), 0, "env:NAME: from the "
	    "environment, whoever may read the INI");
	is_str(t.n == 1 ? t.v[0].p : NULL, TOK_A, "the variable's token");
	tokens_free(&t);
	(void)unsetenv("HP_TEST_AUTH");
	is_int(auth_load_secrets(&src, &t, &e), -1, "env:NAME unset: refused");
	ok(strstr(e.msg, "HP_TEST_AUTH is not set") != NULL, "and named (%s)",
	    e.msg);
}

static void
test_header_param(void)
{
	char	out[160], small[12];
	char	longname[200];

	is_int(auth_header_param("x-auth-token", out, sizeof(out)), 0,
	    "x-auth-token accepted");
	is_str(out, "HTTP_X_AUTH_TOKEN", "x-auth-token -> HTTP_X_AUTH_TOKEN");
	is_int(auth_header_param("X-Hook-Secret2", out, sizeof(out)), 0,
	    "X-Hook-Secret2 accepted");
	is_str(out, "HTTP_X_HOOK_SECRET2", "mixed case and digit");
	is_int(auth_header_param("x_auth", out, sizeof(out)), -1,
	    "underscore refused");
	is_int(auth_header_param("", out, sizeof(out)), -1, "empty refused");
	is_int(auth_header_param("x auth", out, sizeof(out)), -1,
	    "space refused");
	is_int(auth_header_param("x-auth:", out, sizeof(out)), -1,
	    "colon refused");

	/* small[12] holds "HTTP_" + 6 + NUL exactly. */
	is_int(auth_header_param("abcdef", small, sizeof(small)), 0,
	    "6 chars fit in 12 bytes");
	is_str(small, "HTTP_ABCDEF", "6 chars exact");
	is_int(auth_header_param("abcdefg", small, sizeof(small)), -1,
	    "7 chars do not fit in 12 bytes");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	is_int(auth_header_param(longname, out, sizeof(out)), -1,
	    "199-char name refused for a 160-byte buffer");
}

int
main(void)
{
	test_ct_equal();
	test_parse();
	test_parse_errors();
	test_load();
	test_load_secrets();
	test_header_param();
	return tap_done();
}
