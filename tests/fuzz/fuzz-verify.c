/* fuzz-verify: the signature header parsers of every scheme, the token
 * list parser and comparison, and the whsec_ secret decoder.
 *
 * Input: one flag byte, then lines (LF):
 *   0 webhook-id   1 webhook-timestamp   2 webhook-signature
 *   3 Stripe-Signature   4 X-Hub-Signature-256   5 X-Signature (hmac)
 *   6 a token list ('|' stands for a line break) or secrets to decode
 *   then the body (the rest, any bytes).
 * Flag bits: 1 sign: the harness puts a valid signature first in each
 * header (the rest of the header stays as fuzzed) and expects it to
 * verify; 2 hmac sha512; 4 hmac base64; 8 hmac prefix "sig="; 16 upper
 * case hex. Without bit 1, a signature that verifies must be one the
 * harness computes itself, independently of lib/verify.c. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth.h"
#include "crypto.h"
#include "fuzzutil.h"
#include "verify.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW		1764320000	/* a fixed "now": inputs replay alike */
#define NLINES		7
#define LINE_MAX_FZ	600

static const char key[] = "fuzz-secret-0123456789abcdef";
static const char stdkey[] = "fuzz-standard-webhooks-key";
static char		 sigprefix[] = "sig=";
static struct verify	 vstd, vstripe, vgithub, vhmac, vtoken;

static void
secrets(struct verify *v, enum verify_scheme s, const char *text)
{
	struct err e;

	memset(v, 0, sizeof(*v));
	v->scheme = s;
	v->tolerance = 300;
	if (tokens_parse(text, "fuzz", &v->secrets, &e) == -1 ||
	    verify_decode_secrets(v, &e) == -1) {
		fprintf(stderr, "fuzz-verify: setup: %s\n", e.msg);
		exit(1);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e;

	(void)argc;
	(void)argv;
	if (crypto_load(&e) == -1) {
		fprintf(stderr, "fuzz-verify: setup: %s\n", e.msg);
		exit(1);
	}
	/* Two secrets each (a rotation); the harness signs with the second. */
	secrets(&vstd, VERIFY_STDWH, "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0\n"
	    "whsec_ZnV6ei1zdGFuZGFyZC13ZWJob29rcy1rZXk=\n");
	FZ_CHECK(vstd.secrets.v[1].n == strlen(stdkey) &&
	    memcmp(vstd.secrets.v[1].p, stdkey, strlen(stdkey)) == 0);
	secrets(&vstripe, VERIFY_STRIPE, "old-secret-old-secret\n"
	    "fuzz-secret-0123456789abcdef\n");
	secrets(&vgithub, VERIFY_GITHUB, "old-secret-old-secret\n"
	    "fuzz-secret-0123456789abcdef\n");
	(void)snprintf(vgithub.param, sizeof(vgithub.param),
	    "HTTP_X_HUB_SIGNATURE_256");
	vgithub.prefix = strdup("sha256=");
	secrets(&vhmac, VERIFY_HMAC, "fuzz-secret-0123456789abcdef\n");
	(void)snprintf(vhmac.param, sizeof(vhmac.param), "HTTP_X_SIGNATURE");
	secrets(&vtoken, VERIFY_TOKEN, "fuzz-secret-0123456789abcdef\n");
	return 0;
}

/* HMAC over head || body, encoded; the independent reference. */
static void
sign(const char *k, size_t klen, int sha512, const char *head,
    const char *body, size_t len, int b64, int upper, char *out,
    size_t outlen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], *msg;
	unsigned int	 maclen = 0;
	size_t		 hlen = strlen(head), i;

	FZ_CHECK((msg = malloc(hlen + len + 1)) != NULL);
	memcpy(msg, head, hlen);
	memcpy(msg + hlen, body, len);
	FZ_CHECK(HMAC(sha512 ? EVP_sha512() : EVP_sha256(), k, (int)klen,
	    msg, hlen + len, mac, &maclen) != NULL);
	free(msg);
	FZ_CHECK(outlen > 4 * maclen / 3 + 4 && outlen > 2 * maclen);
	if (b64) {
		(void)EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
		return;
	}
	for (i = 0; i < maclen; i++)
		(void)snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", mac[i]);
}

struct input {
	char		 line[NLINES][LINE_MAX_FZ];
	const char	*body;
	size_t		 len;
	int		 flags;
};

static void
split(const uint8_t *data, size_t size, struct input *in)
{
	size_t	i, n, k;

	memset(in, 0, sizeof(*in));
	in->flags = size > 0 ? data[0] : 0;
	i = size > 0 ? 1 : 0;
	for (k = 0; k < NLINES; k++) {
		for (n = 0; i < size && data[i] != '\n'; i++)
			if (n < LINE_MAX_FZ - 1 && data[i] != '\0')
				in->line[k][n++] = (char)data[i];
		if (i < size)
			i++;
	}
	in->body = (const char *)data + i;
	in->len = size - i;
}

/* Does the header hold the reference signature? */
static int
holds(const char *h, const char *sig)
{
	return strcasestr(h, sig) != NULL;
}

static void
check_scheme(struct verify *v, struct input *in, int which)
{
	char		 p0[LINE_MAX_FZ + 40], p1[LINE_MAX_FZ + 40];
	char		 p2[2 * LINE_MAX_FZ], hdr[2 * LINE_MAX_FZ + 200];
	char		 head[LINE_MAX_FZ + 40], sig[200], ts[40];
	char		*params[4] = { p0, p1, p2, NULL };
	const char	*k = key, *t;
	struct err	 e;
	size_t		 klen = strlen(key), n;
	int		 signing = in->flags & 1, ok, alg, b64, idok;

	memset(sig, 0, sizeof(sig));
	switch (which) {
	case VERIFY_STDWH:
		k = stdkey;
		klen = strlen(stdkey);
		t = in->line[1];
		if (signing) {
			(void)snprintf(ts, sizeof(ts), "%d", NOW - 7);
			t = ts;
		}
		(void)snprintf(head, sizeof(head), "%s.%lld.", in->line[0],
		    strtoll(t, NULL, 10));
		sign(k, klen, 0, head, in->body, in->len, 1, 0, sig,
		    sizeof(sig));
		(void)snprintf(p0, sizeof(p0), "HTTP_WEBHOOK_ID=%s",
		    in->line[0]);
		(void)snprintf(p1, sizeof(p1), "HTTP_WEBHOOK_TIMESTAMP=%s", t);
		if (signing)
			(void)snprintf(hdr, sizeof(hdr), "v1,%s %s", sig,
			    in->line[2]);
		else
			(void)snprintf(hdr, sizeof(hdr), "%s", in->line[2]);
		(void)snprintf(p2, sizeof(p2), "HTTP_WEBHOOK_SIGNATURE=%s",
		    hdr);
		break;
	case VERIFY_STRIPE:
		t = in->line[3];
		if (signing) {
			(void)snprintf(ts, sizeof(ts), "%d", NOW + 5);
			t = ts;
		} else {
			/* The reference reads the first t= item too. */
			for (t = in->line[3]; *t != '\0'; t++)
				if ((t == in->line[3] || t[-1] == ',') &&
				    strncmp(t, "t=", 2) == 0)
					break;
			n = strcspn(t + (*t ? 2 : 0), ",");
			(void)snprintf(ts, sizeof(ts), "%.*s", (int)(n < 30 ?
			    n : 30), t + (*t ? 2 : 0));
			t = ts;
		}
		(void)snprintf(head, sizeof(head), "%lld.", strtoll(t, NULL,
		    10));
		sign(k, klen, 0, head, in->body, in->len, 0, in->flags & 16,
		    sig, sizeof(sig));
		if (signing)
			(void)snprintf(hdr, sizeof(hdr), "t=%s,v1=%s,%s", ts,
			    sig, in->line[3]);
		else
			(void)snprintf(hdr, sizeof(hdr), "%s", in->line[3]);
		(void)snprintf(p0, sizeof(p0), "HTTP_STRIPE_SIGNATURE=%s", hdr);
		params[1] = NULL;
		break;
	case VERIFY_GITHUB:
		sign(k, klen, 0, "", in->body, in->len, 0, in->flags & 16, sig,
		    sizeof(sig));
		(void)snprintf(p0, sizeof(p0), "HTTP_X_HUB_SIGNATURE_256=%s%s",
		    signing ? "sha256=" : "", signing ? sig : in->line[4]);
		params[1] = NULL;
		break;
	case VERIFY_HMAC:
		alg = (in->flags & 2) != 0;
		b64 = (in->flags & 4) != 0;
		v->alg = alg ? VERIFY_SHA512 : VERIFY_SHA256;
		v->enc = b64 ? VERIFY_BASE64 : VERIFY_HEX;
		v->prefix = in->flags & 8 ? sigprefix : NULL;
		sign(k, klen, alg, "", in->body, in->len, b64, in->flags & 16,
		    sig, sizeof(sig));
		(void)snprintf(p0, sizeof(p0), "HTTP_X_SIGNATURE=%s%s",
		    signing && (in->flags & 8) ? "sig=" : "", signing ? sig :
		    in->line[5]);
		params[1] = NULL;
		break;
	default:
		(void)snprintf(p0, sizeof(p0), "HTTP_X_AUTH_TOKEN=%s",
		    in->line[6]);
		params[1] = NULL;
		break;
	}
	memset(&e, 0, sizeof(e));
	ok = verify_signature(v, params, in->body, in->len, NOW, &e);
	FZ_CHECK(ok == 0 || ok == 1);
	if (!ok)
		FZ_CHECK(e.msg[0] != '\0');
	if (which == VERIFY_TOKEN)
		FZ_CHECK(!ok);
	else if (ok && !signing)
		FZ_CHECK(sig[0] != '\0' && holds(params[0 + (which ==
		    VERIFY_STDWH ? 2 : 0)], sig));
	else if (signing) {
		/* A good signature first verifies, whatever follows it,
		 * as long as the rest of the request is well formed. */
		idok = in->line[0][0] != '\0' && strchr(in->line[0], '.') ==
		    NULL && strlen(in->line[0]) < 200;
		if (which != VERIFY_STDWH || idok)
			FZ_CHECK(ok);
	}
	if (which == VERIFY_HMAC)
		v->prefix = NULL;
}

/* Tokens: the parser, and auth_token_ok against plain strcmp. */
static void
check_tokens(struct input *in)
{
	struct tokens	 t;
	struct verify	 v;
	struct err	 e;
	char		 text[LINE_MAX_FZ], *p;
	size_t		 i, j;
	int		 want = 0;

	(void)snprintf(text, sizeof(text), "%s", in->line[6]);
	for (p = text; *p != '\0'; p++)
		if (*p == '|')
			*p = '\n';
	if (tokens_parse(text, "fuzz", &t, &e) == -1) {
		FZ_CHECK(t.n == 0 && t.v == NULL);
		return;
	}
	FZ_CHECK(t.n >= 1);
	for (i = 0; i < t.n; i++) {
		FZ_CHECK(t.v[i].n == strlen(t.v[i].p) && t.v[i].n > 0);
		for (j = 0; j < t.v[i].n; j++)
			FZ_CHECK(isgraph((unsigned char)t.v[i].p[j]));
		FZ_CHECK(auth_token_ok(&t, t.v[i].p));
		want |= strcmp(t.v[i].p, in->line[0]) == 0;
		FZ_CHECK(ct_equal(in->line[0], strlen(in->line[0]), t.v[i].p,
		    t.v[i].n) == (strcmp(t.v[i].p, in->line[0]) == 0));
	}
	FZ_CHECK(auth_token_ok(&t, in->line[0]) == want);
	FZ_CHECK(!auth_token_ok(&t, NULL));

	/* The same list as Standard Webhooks secrets. */
	memset(&v, 0, sizeof(v));
	v.scheme = VERIFY_STDWH;
	v.secrets = t;
	if (verify_decode_secrets(&v, &e) == 0)
		for (i = 0; i < v.secrets.n; i++)
			FZ_CHECK(v.secrets.v[i].n > 0 && v.secrets.v[i].n <=
			    512);
	tokens_free(&v.secrets);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input	in;
	unsigned char		out[600];
	long			n;

	split(data, size, &in);
	check_scheme(&vstd, &in, VERIFY_STDWH);
	check_scheme(&vstripe, &in, VERIFY_STRIPE);
	check_scheme(&vgithub, &in, VERIFY_GITHUB);
	check_scheme(&vhmac, &in, VERIFY_HMAC);
	check_scheme(&vtoken, &in, VERIFY_TOKEN);
	check_tokens(&in);
	/* The decoders directly, on the raw signature lines. */
	n = verify_hex_decode(in.line[4], strlen(in.line[4]), out, 64);
	FZ_CHECK(n == -1 || (n >= 0 && n <= 64));
	n = verify_b64_decode(in.line[2], strlen(in.line[2]), out, 64);
	FZ_CHECK(n == -1 || (n >= 0 && n <= 64));
	return 0;
}
