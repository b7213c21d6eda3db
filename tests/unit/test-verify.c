/* test-verify: every row of the scheme table against requests signed
 * here with libcrypto's HMAC() by code of the test's own (not
 * lib/verify.c's), the providers' published examples (Standard Webhooks,
 * GitHub, Slack, Twilio), an Ed25519 vector made with Python's
 * cryptography, and the ways a signature can be wrong. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

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
	is_int(verify_b64_decode("YR==", 4, b, sizeof(b)), -1,
	    "unused bits set before '==' refused (one MAC, one spelling)");
	is_int(verify_b64_decode("YWJ=", 4, b, sizeof(b)), -1,
	    "unused bits set before '=' refused");
	is_int(verify_b64_decode("YWI=", 4, b, sizeof(b)), 2,
	    "the canonical spelling decodes");
	is_int(verify_scheme_parse("stripe"), VERIFY_STRIPE, "scheme names");
	is_int(verify_scheme_parse("md5"), -1, "unknown scheme refused");
}

/* ---- every row of the table ------------------------------------------- */

#define TS		1700000000LL	/* the timestamp the requests carry */
#define KEY_OLD		"old-secret-0123456789abcdef"
#define KEY		"the-signing-key-0123456789"
/* The same two keys as Standard Webhooks writes them. */
#define WHSEC_OLD	"whsec_b2xkLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"
#define WHSEC		"whsec_dGhlLXNpZ25pbmcta2V5LTAxMjM0NTY3ODk="
#define TWILIO_URL	"https://hooks.example.com/hooks/twilio"
#define TWILIO_SIGNED	"BodyAAAA hiCallSidCA1From+15551234567"

struct req {
	char	 p[8][700];
	char	*params[9];
	size_t	 n;
	char	 body[2048];
	size_t	 len;
};

static void
req_init(struct req *q, const char *body)
{
	memset(q, 0, sizeof(*q));
	(void)snprintf(q->body, sizeof(q->body), "%s", body);
	q->len = strlen(q->body);
}

static void
param(struct req *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
param(struct req *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(q->p[q->n], sizeof(q->p[q->n]), fmt, ap);
	va_end(ap);
	q->params[q->n] = q->p[q->n];
	q->n++;
	q->params[q->n] = NULL;
}

/* The request without its parameter i. */
static void
req_without(const struct req *q, size_t i, struct req *out)
{
	size_t j;

	*out = *q;
	out->n = 0;
	for (j = 0; j < q->n; j++)
		if (j != i) {
			memcpy(out->p[out->n], q->p[j], sizeof(q->p[j]));
			out->params[out->n] = out->p[out->n];
			out->n++;
		}
	out->params[out->n] = NULL;
}

/* HMAC(md, KEY, a || b), hex or base64: the reference signer. */
static void
mac(const char *md, const char *a, const char *b, size_t blen, int b64,
    char *out)
{
	unsigned char	 m[EVP_MAX_MD_SIZE], *msg;
	unsigned int	 n = 0, i;
	size_t		 alen = strlen(a);

	msg = malloc(alen + blen + 1);
	memcpy(msg, a, alen);
	memcpy(msg + alen, b, blen);
	(void)HMAC(EVP_get_digestbyname(md), KEY, (int)strlen(KEY), msg,
	    alen + blen, m, &n);
	free(msg);
	if (b64) {
		(void)EVP_EncodeBlock((unsigned char *)out, m, (int)n);
		return;
	}
	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", m[i]);
}

/* A request of scheme s signed with KEY, written the way its sender
 * documents; "AAAA" in the body is a signed place to change. */
static void
sign_request(enum verify_scheme s, struct req *q)
{
	char sig[200], head[300];

	req_init(q, "{\"event\":\"booking.updated\",\"id\":\"AAAA\"}");
	switch (s) {
	case VERIFY_STDWH:
	case VERIFY_SVIX:
		(void)snprintf(head, sizeof(head), "msg_1.%lld.", TS);
		mac("SHA256", head, q->body, q->len, 1, sig);
		param(q, "HTTP_%s_ID=msg_1", s == VERIFY_SVIX ? "SVIX" :
		    "WEBHOOK");
		param(q, "HTTP_%s_TIMESTAMP=%lld", s == VERIFY_SVIX ? "SVIX" :
		    "WEBHOOK", TS);
		param(q, "HTTP_%s_SIGNATURE=v1,%s", s == VERIFY_SVIX ? "SVIX" :
		    "WEBHOOK", sig);
		break;
	case VERIFY_GITHUB:
	case VERIFY_META:
		mac("SHA256", "", q->body, q->len, 0, sig);
		param(q, "HTTP_X_HUB_SIGNATURE_256=sha256=%s", sig);
		break;
	case VERIFY_STRIPE:
		(void)snprintf(head, sizeof(head), "%lld.", TS);
		mac("SHA256", head, q->body, q->len, 0, sig);
		param(q, "HTTP_STRIPE_SIGNATURE=t=%lld,v1=%s", TS, sig);
		break;
	case VERIFY_HMAC:	/* as test_table configures it */
		mac("SHA512", "", q->body, q->len, 1, sig);
		param(q, "HTTP_X_SIGNATURE=sha512=%s", sig);
		break;
	case VERIFY_SHOPIFY:
		mac("SHA256", "", q->body, q->len, 1, sig);
		param(q, "HTTP_X_SHOPIFY_HMAC_SHA256=%s", sig);
		break;
	case VERIFY_SLACK:
	case VERIFY_ZOOM:
		(void)snprintf(head, sizeof(head), "v0:%lld:", TS);
		mac("SHA256", head, q->body, q->len, 0, sig);
		if (s == VERIFY_SLACK) {
			param(q, "HTTP_X_SLACK_REQUEST_TIMESTAMP=%lld", TS);
			param(q, "HTTP_X_SLACK_SIGNATURE=v0=%s", sig);
		} else {
			param(q, "HTTP_X_ZM_REQUEST_TIMESTAMP=%lld", TS);
			param(q, "HTTP_X_ZM_SIGNATURE=v0=%s", sig);
		}
		break;
	case VERIFY_TWILIO:
		/* The URL and query, then the parameters sorted by name,
		 * decoded: Body, CallSid, From. */
		req_init(q, "From=%2B15551234567&Body=AAAA+hi&CallSid=CA1");
		mac("SHA1", TWILIO_URL "?x=1&y=2", TWILIO_SIGNED,
		    strlen(TWILIO_SIGNED), 1, sig);
		param(q, "QUERY_STRING=x=1&y=2");
		param(q, "HTTP_X_TWILIO_SIGNATURE=%s", sig);
		break;
	case VERIFY_GITLAB:
		param(q, "HTTP_X_GITLAB_TOKEN=%s", KEY);
		break;
	case VERIFY_PADDLE:
		(void)snprintf(head, sizeof(head), "%lld:", TS);
		mac("SHA256", head, q->body, q->len, 0, sig);
		param(q, "HTTP_PADDLE_SIGNATURE=ts=%lld;h1=%s", TS, sig);
		break;
	case VERIFY_MAILGUN:
		(void)snprintf(head, sizeof(head), "%lld", TS);
		mac("SHA256", head, "tokAAAA0123456789abcdef", 23, 0, sig);
		(void)snprintf(q->body, sizeof(q->body), "{\"signature\":{"
		    "\"timestamp\":\"%lld\",\"token\":\"tokAAAA0123456789abcdef\","
		    "\"signature\":\"%s\"},\"event-data\":{\"event\":"
		    "\"delivered\",\"id\":\"ev-1\"}}", TS, sig);
		q->len = strlen(q->body);
		break;
	default:
		break;
	}
}

/* The verify struct of scheme s, as conf.c makes it; the secrets text. */
static int
setup(enum verify_scheme s, const char *secrets, struct verify *v)
{
	const struct verify_row	*r = verify_row(s);
	struct err		 e;

	memset(v, 0, sizeof(*v));
	v->scheme = s;
	v->tolerance = r->tolerance > 0 ? r->tolerance : 300;
	if (s == VERIFY_HMAC) {
		(void)snprintf(v->param, sizeof(v->param), "HTTP_X_SIGNATURE");
		v->alg = VERIFY_SHA512;
		v->enc = VERIFY_BASE64;
		v->prefix = strdup("sha512=");
	}
	if (s == VERIFY_TWILIO)
		v->public_url = strdup(TWILIO_URL);
	if (tokens_parse(secrets, "test", &v->secrets, &e) == -1 ||
	    verify_load(v, &e) != 0) {
		printf("# setup %s: %s\n", verify_scheme_name(s), e.msg);
		return -1;
	}
	return 0;
}

static int
check(const struct verify *v, const struct req *q, long long now,
    struct err *e)
{
	memset(e, 0, sizeof(*e));
	return verify_signature(v, q->params, q->body, q->len, (time_t)now, e);
}

static void
test_row(enum verify_scheme s)
{
	const struct verify_row	*r = verify_row(s);
	const char		*name = verify_scheme_name(s);
	int			 whsec = (r->flags & VERIFY_F_WHSEC) != 0;
	struct verify		 v, old, one;
	struct req		 q, m;
	struct err		 e;
	char			*p;
	size_t			 i;
	long			 tol;

	sign_request(s, &q);
	if (setup(s, whsec ? WHSEC_OLD "\n" WHSEC "\n" : KEY_OLD "\n" KEY "\n",
	    &v) == -1 || setup(s, whsec ? WHSEC_OLD "\n" : KEY_OLD "\n",
	    &old) == -1 || setup(s, whsec ? WHSEC "\n" : KEY "\n", &one) == -1) {
		ok(0, "%s: set up", name);
		return;
	}
	tol = v.tolerance;
	is_int(check(&one, &q, TS, &e), 1, "%s: signed with its secret: "
	    "accepted%s%s", name, e.msg[0] ? ": " : "", e.msg);
	is_int(check(&v, &q, TS, &e), 1, "%s: rotation: two secrets, the "
	    "second matches: accepted%s%s", name, e.msg[0] ? ": " : "", e.msg);
	is_int(check(&old, &q, TS, &e), 0, "%s: only another secret: "
	    "refused (%s)", name, e.msg);
	m = q;
	if ((p = strstr(m.body, "AAAA")) != NULL)
		p[3] = 'B';
	if (r->recipe == VERIFY_R_TOKEN)
		is_int(check(&v, &m, TS, &e), 1, "%s: the token does not "
		    "cover the body: a changed body passes", name);
	else
		is_int(check(&v, &m, TS, &e), 0, "%s: a changed body: refused "
		    "(%s)", name, e.msg);
	m = q;
	m.len--;
	if (r->recipe != VERIFY_R_TOKEN)
		is_int(check(&v, &m, TS, &e), 0, "%s: a body cut by a byte: "
		    "refused (%s)", name, e.msg);
	for (i = 0; i < q.n; i++) {
		req_without(&q, i, &m);
		is_int(check(&v, &m, TS, &e), 0, "%s: without %.*s: refused "
		    "(%s)", name, (int)strcspn(q.p[i], "="), q.p[i], e.msg);
	}
	if (r->recipe == VERIFY_R_BODY_FIELDS) {
		req_init(&m, "{\"event-data\":{\"event\":\"delivered\"}}");
		is_int(check(&v, &m, TS, &e), 0, "%s: a body without its "
		    "signature: refused (%s)", name, e.msg);
	}
	if (r->ts != VERIFY_TS_NONE) {
		is_int(check(&v, &q, TS - tol, &e), 1, "%s: timestamp %ld s "
		    "ahead: accepted", name, tol);
		is_int(check(&v, &q, TS + tol, &e), 1, "%s: timestamp %ld s "
		    "old: accepted", name, tol);
		is_int(check(&v, &q, TS - tol - 1, &e), 0, "%s: timestamp "
		    "%ld s ahead: refused (%s)", name, tol + 1, e.msg);
		is_int(check(&v, &q, TS + tol + 1, &e), 0, "%s: timestamp "
		    "%ld s old: refused (%s)", name, tol + 1, e.msg);
	} else
		is_int(check(&v, &q, TS + 86400 * 365, &e), 1, "%s: no "
		    "timestamp: a year later still verifies (the id "
		    "deduplicates)", name);
	verify_free(&v);
	verify_free(&old);
	verify_free(&one);
}

/* Each row is consistent: what it reads, it has; what it takes, it uses. */
static void
test_table(void)
{
	const struct verify_row	*r;
	const char		*src;
	size_t			 i, j;
	int			 good;

	for (i = 0; i < VERIFY_NSCHEMES; i++) {
		r = verify_row((enum verify_scheme)i);
		good = verify_scheme_parse(verify_schemes[i]) == (int)i;
		good &= (r->ts != VERIFY_TS_NONE) == (r->tolerance > 0);
		good &= (r->ts != VERIFY_TS_NONE) ==
		    ((r->keys & VERIFY_K_TOLERANCE) != 0);
		good &= (r->needs & ~r->keys) == 0;
		good &= r->ts != VERIFY_TS_HEADER || r->ts_header != NULL;
		good &= r->ts != VERIFY_TS_ITEM || (r->ts_tag && r->sep);
		good &= r->head == NULL || strstr(r->head, "{id}") == NULL ||
		    r->id_header != NULL;
		good &= i == VERIFY_TOKEN || r->recipe ==
		    VERIFY_R_BODY_FIELDS || r->sig_header != NULL ||
		    (r->needs & VERIFY_K_SIGHEADER);
		for (j = 0; j < VERIFY_SOURCES; j++) {
			src = r->event[j] ? r->event[j] : r->id[j];
			good &= src == NULL || *src != '\0';
		}
		ok(good, "row %s is consistent", verify_schemes[i]);
	}
	is_int(verify_row(VERIFY_NSCHEMES) == verify_row(VERIFY_TOKEN), 1,
	    "an out-of-range scheme reads as token");
}

static void
test_rows(void)
{
	size_t i;

	for (i = 1; i < VERIFY_NSCHEMES; i++)
		test_row((enum verify_scheme)i);
}

/* Slack's "Verifying requests from Slack": a slash command. */
static void
test_slack_doc(void)
{
	struct verify	 v;
	struct req	 q;
	struct err	 e;

	if (setup(VERIFY_SLACK, "8f742231b10e8888abcd99yyyzzz85a5\n",
	    &v) == -1)
		return;
	req_init(&q, "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&"
	    "team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&"
	    "user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&"
	    "text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F"
	    "T1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id="
	    "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c");
	param(&q, "HTTP_X_SLACK_REQUEST_TIMESTAMP=1531420618");
	param(&q, "HTTP_X_SLACK_SIGNATURE=v0=a2114d57b48eac39b9ad189dd8316235"
	    "a7b4a8d21a10bd27519666489c69b503");
	is_int(check(&v, &q, 1531420618, &e), 1, "Slack: the documented "
	    "example verifies%s%s", e.msg[0] ? ": " : "", e.msg);
	is_int(check(&v, &q, 1531420618 + 301, &e), 0, "Slack: 301 s later "
	    "it does not");
	q.p[1][strlen(q.p[1]) - 1] = '4';
	is_int(check(&v, &q, 1531420618, &e), 0, "Slack: nor with a digit "
	    "of its signature changed");
	verify_free(&v);
}

/*
 * Twilio's "Webhooks security" example (auth token 12345) and the
 * vectors of its Python helper library's tests (tests/unit/
 * test_request_validator.py: duplicate parameters, the URL with the port
 * written out, a JSON body through bodySHA256).
 */
static void
twilio(const char *url, const char *query, const char *body,
    const char *sig, int want, const char *what)
{
	struct verify	 v;
	struct req	 q;
	struct err	 e;

	if (setup(VERIFY_TWILIO, "12345\n", &v) == -1)
		return;
	free(v.public_url);
	v.public_url = strdup(url);
	req_init(&q, body);
	param(&q, "QUERY_STRING=%s", query);
	param(&q, "HTTP_X_TWILIO_SIGNATURE=%s", sig);
	is_int(check(&v, &q, 0, &e), want, "Twilio: %s%s%s", what,
	    e.msg[0] ? ": " : "", e.msg);
	verify_free(&v);
}

static void
test_twilio_doc(void)
{
	const char *docbody = "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&"
	    "Digits=1234&From=%2B14158675310&To=%2B18005551212";
	const char *json = "{\"property\": \"value\", \"boolean\": true}";
	const char *hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf1"
	    "9632632f96e6620";
	char q[200];

	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2", docbody,
	    "GvWf1cFY/Q7PnoempGyD5oXAezc=", 1, "the documented example");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2",
	    "To=%2B18005551212&From=%2B14158675310&Digits=1234&"
	    "Caller=%2B14158675310&CallSid=CA1234567890ABCDE",
	    "GvWf1cFY/Q7PnoempGyD5oXAezc=", 1, "the parameters in another "
	    "order");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=3", docbody,
	    "GvWf1cFY/Q7PnoempGyD5oXAezc=", 0, "another query string: "
	    "refused");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2",
	    "CallSid=CA1234567890ABCDE&Caller=%2B14158675310&Digits=1235&"
	    "From=%2B14158675310&To=%2B18005551212",
	    "GvWf1cFY/Q7PnoempGyD5oXAezc=", 0, "another Digits: refused");
	twilio("http://mycompany.com/myapp.php", "foo=1&bar=2", docbody,
	    "GvWf1cFY/Q7PnoempGyD5oXAezc=", 0, "http:// for https://: "
	    "refused");
	twilio("https://mycompany.com:1234/myapp.php", "foo=1&bar=2",
	    docbody, "GvWf1cFY/Q7PnoempGyD5oXAezc=", 1, "public_url with a "
	    "port, signed without it (helper library: removes the port)");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2",
	    "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&"
	    "To=%2B18005551212&Caller=%2B14158675309",
	    "kvajT1Ptam85bY51eRf/AJRuM3w=", 1, "signed with :443 written "
	    "(helper library: adds the port)");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2",
	    "CallSid=CA1234567890ABCDE&Digits=1234&From=%2B14158675309&"
	    "To=%2B18005551212&Caller=%2B14158675309",
	    "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 1, "the helper library's own "
	    "example");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2",
	    "Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234",
	    "IK+Dwps556ElfBT0I3Rgjkr1wJU=", 1, "a parameter twice: its "
	    "values sorted");
	(void)snprintf(q, sizeof(q), "foo=1&bar=2&bodySHA256=%s", hash);
	twilio("https://mycompany.com/myapp.php", q, json,
	    "a9nBmqA0ju/hNViExpshrM61xv4=", 1, "a JSON body with "
	    "bodySHA256");
	twilio("https://mycompany.com/myapp.php", q, "{\"property\": "
	    "\"value\", \"boolean\": false}", "a9nBmqA0ju/hNViExpshrM61xv4=",
	    0, "a JSON body that is not the bodySHA256's: refused");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2", json,
	    "a9nBmqA0ju/hNViExpshrM61xv4=", 0, "a JSON body without "
	    "bodySHA256: refused");
	twilio("https://mycompany.com/myapp.php", "foo=1&bar=2",
	    "CallSid=%ZZ", "GvWf1cFY/Q7PnoempGyD5oXAezc=", 0, "a body that is "
	    "no form: refused");
}

/*
 * Standard Webhooks v1a: no published vector has its key, so this one
 * was made with Python's cryptography (Debian's python3-cryptography)
 * over the specification's example message, with the private key of
 * RFC 8032's test 1:
 *   Ed25519PrivateKey.from_private_bytes(bytes.fromhex("9d61...7f60"))
 *       .sign(b'msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.'
 *       b'{"test": 2432232314}')
 */
#define PK1	"whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
/* RFC 8032 test 2's public key: another sender. */
#define PK2	"whpk_PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="
#define SIG1A	"v1a,fldxM4gAKugP6nnt1hdz3sgGfZ6d99nzrMFnZOELIxbzEHoVmAb2ADpk" \
		"JK7zgPePmPsle0zV9jSeGlHFG2NVAw=="
#define SIG1	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void
ed25519(const char *keys, const char *sig, const char *body, long long now,
    int want, const char *what)
{
	struct verify	 v;
	struct req	 q;
	struct err	 e;

	if (setup(VERIFY_STDWH, keys, &v) == -1) {
		ok(0, "v1a: %s: set up", what);
		return;
	}
	req_init(&q, body);
	param(&q, "HTTP_WEBHOOK_ID=msg_p5jXN8AQM9LWM0D4loKWxJek");
	param(&q, "HTTP_WEBHOOK_TIMESTAMP=1614265330");
	param(&q, "HTTP_WEBHOOK_SIGNATURE=%s", sig);
	is_int(check(&v, &q, now, &e), want, "v1a: %s%s%s", what,
	    e.msg[0] ? ": " : "", e.msg);
	verify_free(&v);
}

static void
test_ed25519(void)
{
	static const unsigned char rfc_pk[32] = {
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b,
		0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3,
		0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07,
		0x51, 0x1a };
	unsigned char	 sig[64];
	const char	*body = "{\"test\": 2432232314}";
	const char	*hex = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974"
	    "d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe246"
	    "55141438e7a100b";
	struct verify	 v;
	struct err	 e;

	/* The primitive, on RFC 8032 7.1 test 1 (the empty message). */
	(void)verify_hex_decode(hex, strlen(hex), sig, sizeof(sig));
	is_int(crypto_ed25519_verify(rfc_pk, sig, 64, "", 0), 1,
	    "Ed25519: RFC 8032 test 1 verifies");
	is_int(crypto_ed25519_verify(rfc_pk, sig, 64, "x", 1), 0,
	    "Ed25519: not over another message");
	is_int(crypto_ed25519_verify(rfc_pk, sig, 63, "", 0), 0,
	    "Ed25519: a short signature is refused");

	ed25519(PK1 "\n", SIG1A, body, 1614265330, 1, "a whpk_ key "
	    "verifies the v1a signature");
	ed25519(PK2 "\n" PK1 "\n", SIG1A, body, 1614265330, 1, "rotation: "
	    "the second public key matches");
	ed25519(PK2 "\n", SIG1A, body, 1614265330, 0, "another public key: "
	    "refused");
	ed25519(PK1 "\n", SIG1A, "{\"test\": 2432232315}", 1614265330, 0,
	    "a changed body: refused");
	ed25519(PK1 "\n", "v1," SIG1A + 4, body, 1614265330, 0, "the "
	    "signature tagged v1: not an HMAC: refused");
	ed25519("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", SIG1A, body,
	    1614265330, 0, "a whsec_ secret does not verify v1a");
	ed25519(PK1 "\n", SIG1A, body, 1614265330 - 300, 1, "timestamp "
	    "300 s ahead: accepted");
	ed25519(PK1 "\n", SIG1A, body, 1614265330 + 300, 1, "timestamp "
	    "300 s old: accepted");
	ed25519(PK1 "\n", SIG1A, body, 1614265330 - 301, 0, "timestamp "
	    "301 s ahead: refused");
	ed25519(PK1 "\n", SIG1A, body, 1614265330 + 301, 0, "timestamp "
	    "301 s old: refused");
	/* Mixed lists: keys of both kinds, signatures of both kinds. */
	ed25519("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n" PK2 "\n",
	    SIG1 " " SIG1A, body, 1614265330, 1, "mixed: the v1 matches a "
	    "whsec_ secret");
	ed25519(WHSEC "\n" PK1 "\n", SIG1 " " SIG1A, body, 1614265330, 1,
	    "mixed: the v1a matches a whpk_ key");
	ed25519(WHSEC "\n" PK2 "\n", SIG1 " " SIG1A, body, 1614265330, 0,
	    "mixed: neither matches: refused");

	memset(&v, 0, sizeof(v));
	v.scheme = VERIFY_STDWH;
	(void)tokens_parse("whsk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
	    "\n", "t", &v.secrets, &e);
	is_int(verify_load(&v, &e), -2, "a whsk_ private key is refused");
	ok(strstr(e.msg, "whpk_") != NULL, "saying what to write (%s)",
	    e.msg);
	verify_free(&v);
	(void)tokens_parse("whpk_AAAA\n", "t", &v.secrets, &e);
	is_int(verify_load(&v, &e), -2, "a whpk_ key of 3 bytes is refused");
	verify_free(&v);
	(void)tokens_parse(WHSEC "\n" PK1 "\n", "t", &v.secrets, &e);
	is_int(verify_load(&v, &e), 0, "a list of both kinds loads");
	ok(v.secrets.n == 1 && v.pubkeys.n == 1 && v.pubkeys.v[0].n == 32,
	    "one HMAC secret and one 32-byte public key");
	verify_free(&v);
}

/* Mailgun: each token is to be accepted once: the receiver asks which. */
static void
test_mailgun_once(void)
{
	struct verify	 v;
	struct req	 q;
	char		 buf[64];

	sign_request(VERIFY_MAILGUN, &q);
	if (setup(VERIFY_MAILGUN, KEY "\n", &v) == -1)
		return;
	is_int(verify_once(&v, q.params, q.body, q.len, buf, sizeof(buf)), 1,
	    "mailgun: a once-only value");
	is_str(buf, "tokAAAA0123456789abcdef", "mailgun: the token");
	is_int(verify_once(&v, q.params, "{}", 2, buf, sizeof(buf)), -1,
	    "mailgun: a body without one: -1");
	is_int(verify_once(&v, q.params, q.body, q.len, buf, 8), -1,
	    "mailgun: a buffer too small: -1");
	verify_free(&v);
	if (setup(VERIFY_SLACK, KEY "\n", &v) == -1)
		return;
	is_int(verify_once(&v, q.params, q.body, q.len, buf, sizeof(buf)), 0,
	    "slack: none");
	verify_free(&v);
}

static void
test_urls(void)
{
	struct err e;

	is_int(verify_url_ok("https://example.com/hooks/twilio", &e), 1,
	    "public_url: https:// with a path");
	is_int(verify_url_ok("http://[2001:db8::1]:8080/x", &e), 1,
	    "public_url: http://, an IPv6 host and a port");
	is_int(verify_url_ok("https://example.com/x?a=1", &e), 0,
	    "public_url: a query is refused");
	ok(strstr(e.msg, "query") != NULL, "saying why (%s)", e.msg);
	is_int(verify_url_ok("https://example.com/x#f", &e), 0,
	    "public_url: a fragment is refused");
	is_int(verify_url_ok("ftp://example.com/", &e), 0,
	    "public_url: another scheme is refused");
	is_int(verify_url_ok("https:///x", &e), 0,
	    "public_url: no host is refused");
	is_int(verify_url_ok("https://example.com/a b", &e), 0,
	    "public_url: a space is refused");
}

/* ---- verify_sign: the sender's side of each row ------------------------ */

#define MG_BODY	"{\"event-data\":{\"event\":\"delivered\",\"id\":\"ev-1\"," \
		"\"x\":\"AAAA\"}}"
#define SK1	"whsk_nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="

/* A signed request as the receiver sees it: each "Name: value" header as
 * its CGI parameter, the URL's query as QUERY_STRING. */
static void
as_request(const struct verify_signed *sg, struct req *q)
{
	const char	*h, *colon, *query;
	char		 name[160];
	size_t		 i, j, n;

	req_init(q, "");
	memcpy(q->body, sg->body.p, sg->body.len);
	q->len = sg->body.len;
	for (i = 0; i < sg->nhdr; i++) {
		h = sg->hdr[i].p;
		colon = strchr(h, ':');
		n = (size_t)(colon - h);
		for (j = 0; j < n && j + 1 < sizeof(name); j++)
			name[j] = h[j] == '-' ? '_' :
			    (char)toupper((unsigned char)h[j]);
		name[j] = '\0';
		param(q, "HTTP_%s=%s", name, colon + 2);
	}
	if (sg->url.p != NULL && (query = strchr(sg->url.p, '?')) != NULL)
		param(q, "QUERY_STRING=%s", query + 1);
}

/* The value of parameter name in q, or "". */
static const char *
param_of(const struct req *q, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < q->n; i++)
		if (strncmp(q->p[i], name, n) == 0 && q->p[i][n] == '=')
			return q->p[i] + n + 1;
	return "";
}

static int
sign_one(const struct verify *v, const struct req *ref, const char *id,
    struct verify_signed *sg, struct req *q)
{
	struct verify_req	 in;
	struct err		 e;

	memset(&in, 0, sizeof(in));
	in.body = ref->body;
	in.len = ref->len;
	in.ts = TS;
	in.id = id;
	in.url = v->scheme == VERIFY_TWILIO ? TWILIO_URL "?x=1&y=2" :
	    "http://127.0.0.1/hooks";
	in.form = v->scheme == VERIFY_TWILIO;
	if (verify_sign(v, &in, sg, &e) == -1) {
		printf("# verify_sign %s: %s\n", verify_scheme_name(v->scheme),
		    e.msg);
		return -1;
	}
	as_request(sg, q);
	return 0;
}

static void
test_sign_row(enum verify_scheme s)
{
	const struct verify_row	*r = verify_row(s);
	const char		*name = verify_scheme_name(s);
	int			 whsec = (r->flags & VERIFY_F_WHSEC) != 0;
	struct verify		 v, old, one;
	struct verify_signed	 sg;
	struct req		 ref, q, m;
	struct err		 e;
	char			*p;
	size_t			 i;

	sign_request(s, &ref);	/* the test's own signer, id msg_1 */
	if (r->recipe == VERIFY_R_BODY_FIELDS)	/* to be signed into */
		req_init(&ref, MG_BODY);
	if (setup(s, whsec ? WHSEC "\n" : KEY "\n", &one) == -1 ||
	    setup(s, whsec ? WHSEC_OLD "\n" : KEY_OLD "\n", &old) == -1 ||
	    setup(s, whsec ? WHSEC_OLD "\n" WHSEC "\n" : KEY_OLD "\n" KEY "\n",
	    &v) == -1 || sign_one(&one, &ref, "msg_1", &sg, &q) == -1) {
		ok(0, "%s: verify_sign", name);
		return;
	}
	is_int(check(&v, &q, TS, &e), 1, "%s: verify_sign's request "
	    "verifies%s%s", name, e.msg[0] ? ": " : "", e.msg);
	is_int(check(&old, &q, TS, &e), 0, "%s: not under another secret",
	    name);
	if (r->recipe != VERIFY_R_TOKEN) {
		m = q;
		if ((p = strstr(m.body, "AAAA")) != NULL)
			p[3] = 'B';
		if (r->recipe == VERIFY_R_BODY_FIELDS &&
		    (p = strstr(m.body, "\"token\":\"")) != NULL)
			p[9] ^= 1;	/* what Mailgun's MAC covers */
		is_int(check(&v, &m, TS, &e), 0, "%s: signed, then changed: "
		    "refused", name);
	}
	/* The same bytes as the test's own signer, where nothing random
	 * goes in (Mailgun's token is). */
	if (r->recipe != VERIFY_R_BODY_FIELDS)
		for (i = 0; i < ref.n; i++) {
			char pn[160];

			(void)snprintf(pn, sizeof(pn), "%.*s",
			    (int)strcspn(ref.p[i], "="), ref.p[i]);
			is_str(param_of(&q, pn), param_of(&ref, pn), "%s: %s "
			    "as the reference signer writes it", name, pn);
		}
	else
		ok(strncmp(q.body, "{\"signature\":{\"timestamp\":\"1700000000"
		    "\",\"token\":\"", 39) == 0 && q.len > strlen(MG_BODY) &&
		    strcmp(q.body + q.len - strlen(MG_BODY) + 1, MG_BODY + 1) ==
		    0 && q.body[q.len - strlen(MG_BODY)] == ',', "%s: the "
		    "signature object goes before the body's members, and the "
		    "body stays byte for byte (%s)", name, q.body);
	verify_signed_free(&sg);
	verify_free(&v);
	verify_free(&old);
	verify_free(&one);
}

static void
test_sign(void)
{
	struct verify		 v;
	struct verify_signed	 sg;
	struct verify_req	 in;
	struct req		 q;
	struct err		 e;
	const char		*body = "{\"test\": 2432232314}";
	size_t			 i;

	for (i = 1; i < VERIFY_NSCHEMES; i++)
		test_sign_row((enum verify_scheme)i);

	/* Mailgun: a body that has a signature object already gets it
	 * replaced (json-c writes the body anew). */
	v = make(VERIFY_MAILGUN, KEY "\n");
	req_init(&q, "{\"signature\":{\"token\":\"old\"},\"a\":1}");
	memset(&in, 0, sizeof(in));
	in.body = q.body;
	in.len = q.len;
	in.ts = TS;
	is_int(verify_sign(&v, &in, &sg, &e), 0, "mailgun: a body with a "
	    "signature object: signed");
	as_request(&sg, &q);
	is_int(verify_signature(&v, q.params, q.body, q.len, TS, &e), 1,
	    "mailgun: and verifies (%s)", q.body);
	verify_signed_free(&sg);
	verify_free(&v);

	/* token: the header named, the token as is. */
	memset(&v, 0, sizeof(v));
	(void)tokens_parse(KEY "\n", "test", &v.secrets, &e);
	memset(&in, 0, sizeof(in));
	in.body = body;
	in.len = strlen(body);
	in.token_header = "X-Auth-Token";
	is_int(verify_sign(&v, &in, &sg, &e), 0, "token: signed");
	is_str(sg.nhdr == 1 ? sg.hdr[0].p : "", "X-Auth-Token: " KEY,
	    "token: the header holds the token");
	verify_signed_free(&sg);
	verify_free(&v);

	/* v1a: the private key of RFC 8032 test 1 signs the Standard
	 * Webhooks example exactly as the published vector. */
	memset(&v, 0, sizeof(v));
	v.scheme = VERIFY_STDWH;
	(void)tokens_parse(SK1 "\n", "test", &v.secrets, &e);
	is_int(verify_sign_secrets(&v, &e), 0, "whsk_: decoded");
	is_int((long long)v.privkeys.n, 1, "whsk_: a private key");
	in.id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
	in.ts = 1614265330;
	is_int(verify_sign(&v, &in, &sg, &e), 0, "v1a: signed");
	as_request(&sg, &q);
	is_str(param_of(&q, "HTTP_WEBHOOK_SIGNATURE"), SIG1A, "v1a: the "
	    "published signature");
	verify_signed_free(&sg);
	verify_free(&v);
	v = make(VERIFY_STDWH, PK1 "\n");
	(void)verify_decode_secrets(&v, &e);
	is_int(verify_signature(&v, q.params, q.body, q.len, 1614265330, &e),
	    1, "v1a: verifies under its whpk_ key");
	tokens_free(&v.pubkeys);
	tokens_free(&v.secrets);

	/* A whpk_ key cannot sign, and says why. */
	v = make(VERIFY_STDWH, PK1 "\n");
	(void)verify_sign_secrets(&v, &e);
	is_int(verify_sign(&v, &in, &sg, &e), -1, "a whpk_ key alone: "
	    "cannot sign");
	ok(strstr(e.msg, "whsk_") != NULL, "and names the key needed (%s)",
	    e.msg);
	verify_free(&v);
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
	test_table();
	test_rows();
	test_slack_doc();
	test_twilio_doc();
	test_ed25519();
	test_mailgun_once();
	test_urls();
	test_sign();
	return tap_done();
}
