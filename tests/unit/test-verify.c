/* test-verify: the signature schemes against published vectors (the
 * Standard Webhooks specification's example, GitHub's documentation
 * example) and the ways a signature can be wrong. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "verify.h"
#include "tap.h"

static struct verify
make(enum verify_scheme s, const char *secret)
{
	struct verify	v;
	struct err	e;

	memset(&v, 0, sizeof(v));
	v.scheme = s;
	v.tolerance = 300;
	if (tokens_parse(secret, "test", &v.secrets, &e) == -1)
		printf("# tokens_parse: %s\n", e.msg);
	return v;
}

static void
test_stdwh(void)
{
	struct verify	 v = make(VERIFY_STDWH,
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
	struct err	 e;
	const char	*body = "{\"test\": 2432232314}";
	char		*good[] = { "HTTP_WEBHOOK_ID=msg_p5jXN8AQM9LWM0D4loKWxJek",
	    "HTTP_WEBHOOK_TIMESTAMP=1614265330",
	    "HTTP_WEBHOOK_SIGNATURE=v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	    NULL };
	char		*several[] = { "HTTP_WEBHOOK_ID=msg_p5jXN8AQM9LWM0D4loKWxJek",
	    "HTTP_WEBHOOK_TIMESTAMP=1614265330",
	    "HTTP_WEBHOOK_SIGNATURE=v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/rtbNoiE8Bz9vuy74= "
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	    NULL };
	char		*wrongid[] = { "HTTP_WEBHOOK_ID=msg_other",
	    "HTTP_WEBHOOK_TIMESTAMP=1614265330",
	    "HTTP_WEBHOOK_SIGNATURE=v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	    NULL };
	char		*v2[] = { "HTTP_WEBHOOK_ID=msg_p5jXN8AQM9LWM0D4loKWxJek",
	    "HTTP_WEBHOOK_TIMESTAMP=1614265330",
	    "HTTP_WEBHOOK_SIGNATURE=v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	    NULL };

	is_int(verify_decode_secrets(&v, &e), 0, "whsec_ secret decodes");
	is_int(v.secrets.v[0].n, 24, "to 24 bytes");
	is_int(verify_signature(&v, good, body, strlen(body), 1614265330, &e),
	    1, "Standard Webhooks: the specification's example verifies");
	is_int(verify_signature(&v, several, body, strlen(body), 1614265330,
	    &e), 1, "one good signature among several is enough");
	is_int(verify_signature(&v, good, body, strlen(body) - 1, 1614265330,
	    &e), 0, "a changed body does not");
	is_int(verify_signature(&v, wrongid, body, strlen(body), 1614265330,
	    &e), 0, "another webhook-id does not");
	is_int(verify_signature(&v, v2, body, strlen(body), 1614265330, &e), 0,
	    "an unknown version tag does not");
	is_int(verify_signature(&v, good, body, strlen(body),
	    1614265330 - 300, &e), 1, "timestamp 300 s ahead: accepted");
	is_int(verify_signature(&v, good, body, strlen(body),
	    1614265330 - 301, &e), 0, "timestamp 301 s ahead: refused");
	is_int(verify_signature(&v, good, body, strlen(body),
	    1614265330 + 301, &e), 0, "timestamp 301 s old: refused");
	ok(strstr(e.msg, "tolerance") != NULL, "and says why (%s)", e.msg);
	tokens_free(&v.secrets);

	v = make(VERIFY_STDWH, "whsec_c2VjcmV0LW9sZA==\n"
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
	(void)verify_decode_secrets(&v, &e);
	is_int(verify_signature(&v, good, body, strlen(body), 1614265330, &e),
	    1, "rotation: the second secret verifies");
	tokens_free(&v.secrets);
	v = make(VERIFY_STDWH, "whsec_***not-base64***\n");
	is_int(verify_decode_secrets(&v, &e), -1, "a bad whsec_ secret is "
	    "an error");
	is_int(verify_load(&v, &e), -2, "verify_load: -2 for the secret");
	tokens_free(&v.secrets);
	v = make(VERIFY_STDWH, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n");
	is_int(verify_load(&v, &e), 0, "verify_load: a good secret");
	is_int(v.secrets.n == 1 ? (long long)v.secrets.v[0].n : -1, 24,
	    "decoded");
	tokens_free(&v.secrets);
}

static void
test_github(void)
{
	struct verify	 v = make(VERIFY_GITHUB, "It's-a-Secret-to-Everybody\n");
	struct err	 e;
	char		*good[] = { "HTTP_X_HUB_SIGNATURE_256=sha256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	    NULL };
	char		*upper[] = { "HTTP_X_HUB_SIGNATURE_256=sha256="
	    "757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17",
	    NULL };
	char		*noprefix[] = { "HTTP_X_HUB_SIGNATURE_256="
	    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
	    NULL };
	char		*none[] = { NULL };

	/* GitHub's documented example secret has spaces: set it directly. */
	tokens_free(&v.secrets);
	v.secrets.v = calloc(1, sizeof(*v.secrets.v));
	v.secrets.v[0].p = strdup("It's a Secret to Everybody");
	v.secrets.v[0].n = strlen(v.secrets.v[0].p);
	v.secrets.n = 1;
	(void)snprintf(v.param, sizeof(v.param), "HTTP_X_HUB_SIGNATURE_256");
	v.prefix = strdup("sha256=");
	is_int(verify_signature(&v, good, "Hello, World!", 13, 0, &e), 1,
	    "GitHub: the documentation's example verifies");
	is_int(verify_signature(&v, upper, "Hello, World!", 13, 0, &e), 1,
	    "upper-case hex verifies too");
	is_int(verify_signature(&v, good, "Hello, World?", 13, 0, &e), 0,
	    "a changed body does not");
	is_int(verify_signature(&v, noprefix, "Hello, World!", 13, 0, &e), 0,
	    "without sha256= it does not");
	is_int(verify_signature(&v, none, "Hello, World!", 13, 0, &e), 0,
	    "no header: refused");
	free(v.prefix);
	tokens_free(&v.secrets);
}

static void
test_decoders(void)
{
	unsigned char	b[8];

	is_int(verify_hex_decode("00ff10", 6, b, sizeof(b)), 3, "hex decodes");
	ok(b[0] == 0 && b[1] == 0xff && b[2] == 0x10, "to the right bytes");
	is_int(verify_hex_decode("0g", 2, b, sizeof(b)), -1, "bad hex refused");
	is_int(verify_hex_decode("abc", 3, b, sizeof(b)), -1, "odd hex refused");
	is_int(verify_b64_decode("aGk=", 4, b, sizeof(b)), 2, "base64 decodes");
	ok(memcmp(b, "hi", 2) == 0, "to the right bytes");
	is_int(verify_b64_decode("aGk", 3, b, sizeof(b)), -1,
	    "unpadded base64 refused");
	is_int(verify_b64_decode("YW=j", 4, b, sizeof(b)), -1,
	    "an '=' inside base64 refused (it would read as 'A')");
	is_int(verify_b64_decode("Y=Jj", 4, b, sizeof(b)), -1,
	    "an '=' early in base64 refused");
	is_int(verify_b64_decode("YQ=j", 4, b, sizeof(b)), -1,
	    "'=' then a letter at the end refused");
	is_int(verify_b64_decode("YQ==", 4, b, sizeof(b)), 1,
	    "two '=' of padding decode");
	is_int(verify_scheme_parse("stripe"), VERIFY_STRIPE, "scheme names");
	is_int(verify_scheme_parse("md5"), -1, "unknown scheme refused");
}

int
main(void)
{
	unsigned char	b[8];
	struct verify	v;
	struct err	e;

	memset(&v, 0, sizeof(v));	/* verify = token */
#ifdef CRYPTO_DLOPEN
	/* Nothing loads libcrypto behind the caller's back. */
	is_int(crypto_ready(), 0, "libcrypto not loaded before crypto_load");
	is_int(verify_b64_decode("aGk=", 4, b, sizeof(b)), -1,
	    "no base64 before crypto_load");
	is_int(verify_load(&v, &e), 0, "verify_load of a token: nothing to "
	    "do");
	is_int(crypto_ready(), 0, "and libcrypto still not loaded");
#else
	(void)b;
#endif
	/* What conf_load does when an endpoint names a scheme. */
	is_int(crypto_load(&e), 0, "crypto_load: libcrypto loads");
	is_int(crypto_load(&e), 0, "crypto_load again: a no-op");
	is_int(crypto_ready(), 1, "crypto_ready after crypto_load");
	test_stdwh();
	test_github();
	test_decoders();
	return tap_done();
}
