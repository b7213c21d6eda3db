/* fuzz-verify: every row of the scheme table (lib/verify.c): the
 * signature header parsers, the timestamps, Twilio's form canonical text,
 * Mailgun's body fields, Ed25519 (v1a); the token list parser and
 * comparison, and the whsec_/whpk_ secret decoder.
 *
 * Input: one flag byte, then lines (LF):
 *   0 webhook-id (svix-id, Mailgun's token)
 *   1 webhook-timestamp (Slack's, Zoom's; Twilio's query string)
 *   2 webhook-signature (svix-signature, X-Slack-Signature,
 *     x-zm-signature, X-Shopify-Hmac-Sha256, X-Twilio-Signature)
 *   3 Stripe-Signature (Paddle-Signature)
 *   4 X-Hub-Signature-256 (github, meta)   5 X-Signature (hmac)
 *   6 a token list ('|' stands for a line break) or secrets to decode
 *     (X-Gitlab-Token)
 *   then the body (the rest, any bytes).
 * Flag bits: 1 sign: the harness puts a valid signature first in each
 * header (the rest of the header stays as fuzzed where the scheme has a
 * list) and expects it to verify; 2 hmac sha512; 4 hmac base64; 8 hmac
 * prefix "sig="; 16 upper case hex; 32 Twilio: a JSON body, through
 * bodySHA256. Without bit 1, a signature that verifies must be one the
 * harness computes itself, independently of lib/verify.c. */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>
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
static struct verify	 vrow[VERIFY_NSCHEMES];	/* the other rows */
static struct verify	 v1a;	/* standard-webhooks with a whpk_ key */
static EVP_PKEY		*edkey;	/* its private key */

/* The rows checked by check_row, each with two secrets. */
static const enum verify_scheme rowschemes[] = {
	VERIFY_SHOPIFY, VERIFY_SLACK, VERIFY_TWILIO, VERIFY_GITLAB,
	VERIFY_PADDLE, VERIFY_ZOOM, VERIFY_META, VERIFY_MAILGUN, VERIFY_SVIX
};
#define FZ_URL		"https://fuzz.example/hook"
#define FZ_URL443	"https://fuzz.example:443/hook"
#define FORM_PAIRS_MAX	4096	/* form.h's FORM_MAX_PAIRS, written here */

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
	struct err	 e;
	unsigned char	 seed[32], pub[32];
	char		 text[200];
	size_t		 i, publen = sizeof(pub);

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
	for (i = 0; i < sizeof(rowschemes) / sizeof(rowschemes[0]); i++)
		secrets(&vrow[rowschemes[i]], rowschemes[i],
		    rowschemes[i] == VERIFY_SVIX ?
		    "whsec_b2xkLXNlY3JldC1vbGQtc2VjcmV0\n"
		    "whsec_ZnV6ei1zdGFuZGFyZC13ZWJob29rcy1rZXk=\n" :
		    "old-secret-old-secret\nfuzz-secret-0123456789abcdef\n");
	vrow[VERIFY_TWILIO].public_url = strdup(FZ_URL);
	/* Ed25519: a fixed seed, its public key as whpk_ beside a whsec_. */
	memset(seed, 7, sizeof(seed));
	FZ_CHECK((edkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
	    seed, sizeof(seed))) != NULL);
	FZ_CHECK(EVP_PKEY_get_raw_public_key(edkey, pub, &publen) == 1 &&
	    publen == 32);
	memcpy(text, "whsec_ZnV6ei1zdGFuZGFyZC13ZWJob29rcy1rZXk=\nwhpk_", 48);
	(void)EVP_EncodeBlock((unsigned char *)text + 48, pub, 32);
	strcat(text, "\n");
	secrets(&v1a, VERIFY_STDWH, text);
	FZ_CHECK(v1a.secrets.n == 1 && v1a.pubkeys.n == 1);
	return 0;
}

static void	sign_md(const EVP_MD *, const char *, size_t, const char *,
		    const char *, size_t, int, int, char *, size_t);

/* HMAC over head || body, encoded; the independent reference. */
static void
sign(const char *k, size_t klen, int sha512, const char *head,
    const char *body, size_t len, int b64, int upper, char *out,
    size_t outlen)
{
	sign_md(sha512 ? EVP_sha512() : EVP_sha256(), k, klen, head, body,
	    len, b64, upper, out, outlen);
}

static void
sign_md(const EVP_MD *md, const char *k, size_t klen, const char *head,
    const char *body, size_t len, int b64, int upper, char *out,
    size_t outlen)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE], *msg;
	unsigned int	 maclen = 0;
	size_t		 hlen = strlen(head), i;

	FZ_CHECK((msg = malloc(hlen + len + 1)) != NULL);
	memcpy(msg, head, hlen);
	memcpy(msg + hlen, body, len);
	FZ_CHECK(HMAC(md, k, (int)klen, msg, hlen + len, mac, &maclen) !=
	    NULL);
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

/* ---- Twilio's canonical text, written here again ---------------------- */

struct fzpair {
	char	*n, *v;
	size_t	 nl, vl;
};

static int
fz_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) into a new string; its length in *out, or NULL
 * when a '%' is not followed by two hex digits. */
static char *
fz_unescape(const char *s, size_t n, size_t *out)
{
	char	*d = malloc(n + 1);
	size_t	 i, o = 0;

	FZ_CHECK(d != NULL);
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3 || fz_hex((unsigned char)s[i + 1]) < 0 ||
			    fz_hex((unsigned char)s[i + 2]) < 0) {
				free(d);
				return NULL;
			}
			d[o++] = (char)(fz_hex((unsigned char)s[i + 1]) * 16 +
			    fz_hex((unsigned char)s[i + 2]));
			i += 2;
		} else
			d[o++] = s[i] == '+' ? ' ' : s[i];
	}
	*out = o;
	return d;
}

static int
fz_cmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);

	return c != 0 ? c : (al > bl) - (al < bl);
}

static int
fz_paircmp(const void *x, const void *y)
{
	const struct fzpair *a = x, *b = y;
	int c = fz_cmp(a->n, a->nl, b->n, b->nl);

	return c != 0 ? c : fz_cmp(a->v, a->vl, b->v, b->vl);
}

/*
 * The name-value text Twilio signs for a form: pairs split at '&' and
 * '=', decoded, sorted by name then value, a pair repeated whole once.
 * Into a new buffer (length in *outlen); NULL when the form is not one;
 * *bodysha set when a pair is named bodySHA256.
 */
static char *
fz_canon(const char *s, size_t len, size_t *outlen, int *bodysha)
{
	struct fzpair	*p;
	const char	*a, *e, *amp, *eq;
	char		*out;
	size_t		 n = 1, i, k = 0, o = 0;
	int		 bad = 0;

	for (i = 0; i < len; i++)
		n += s[i] == '&';
	*bodysha = 0;
	if (n > FORM_PAIRS_MAX)
		return NULL;
	FZ_CHECK((p = calloc(n, sizeof(*p))) != NULL);
	for (a = s, e = s + len; a < e && !bad; a = amp + 1) {
		amp = memchr(a, '&', (size_t)(e - a));
		if (amp == NULL)
			amp = e;
		if (amp == a)
			continue;
		eq = memchr(a, '=', (size_t)(amp - a));
		if (eq == NULL)
			eq = amp;
		p[k].n = fz_unescape(a, (size_t)(eq - a), &p[k].nl);
		p[k].v = fz_unescape(eq < amp ? eq + 1 : amp, eq < amp ?
		    (size_t)(amp - eq - 1) : 0, &p[k].vl);
		bad = p[k].n == NULL || p[k].v == NULL;
		if (!bad && p[k].nl == 10 && memcmp(p[k].n, "bodySHA256",
		    10) == 0)
			*bodysha = 1;
		k++;
	}
	out = NULL;
	if (!bad) {
		qsort(p, k, sizeof(*p), fz_paircmp);
		FZ_CHECK((out = malloc(len + 1)) != NULL);
		for (i = 0; i < k; i++) {
			if (i > 0 && fz_paircmp(&p[i - 1], &p[i]) == 0)
				continue;
			memcpy(out + o, p[i].n, p[i].nl);
			o += p[i].nl;
			memcpy(out + o, p[i].v, p[i].vl);
			o += p[i].vl;
		}
		*outlen = o;
	}
	for (i = 0; i < k; i++) {
		free(p[i].n);
		free(p[i].v);
	}
	free(p);
	return out;
}

/* json-c's own reading of a body (not lib/payload.c's), or NULL. */
static json_object *
fz_json(const char *s, size_t len)
{
	struct json_tokener	*tok;
	json_object		*o;

	if (len > 8192 || (tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	json_tokener_free(tok);
	return o;
}

/* The rows other than the first five. The reference is this harness's
 * own: what each sender documents, written again. */
static void
check_row(enum verify_scheme which, struct input *in)
{
	struct verify	*v = &vrow[which];
	char		 p0[2 * LINE_MAX_FZ], p1[2 * LINE_MAX_FZ];
	char		 hdr[2 * LINE_MAX_FZ + 200], head[LINE_MAX_FZ + 80];
	char		 sig[200], sig2[200], ts[40], tok[128];
	char		*params[3] = { p0, p1, NULL }, *text, *qtext;
	char		*mbody = NULL;
	unsigned char	 md[32];
	const char	*k = key, *t, *body = in->body, *sigp = p0;
	const char	*query = in->line[1];
	json_object	*root = NULL, *o, *jt, *jk, *js;
	struct err	 e;
	size_t		 klen = strlen(key), n, len = in->len, tlen = 0, i;
	int		 signing = in->flags & 1, upper = in->flags & 16;
	int		 ok, expect = signing, bodysha = 0, qsha = 0, valid = 1;

	memset(sig, 0, sizeof(sig));
	memset(sig2, 0, sizeof(sig2));
	hdr[0] = '\0';
	switch (which) {
	case VERIFY_SHOPIFY:
		sign(k, klen, 0, "", body, len, 1, 0, sig, sizeof(sig));
		(void)snprintf(p0, sizeof(p0), "HTTP_X_SHOPIFY_HMAC_SHA256=%s",
		    signing ? sig : in->line[2]);
		params[1] = NULL;
		break;
	case VERIFY_META:
		sign(k, klen, 0, "", body, len, 0, upper, sig, sizeof(sig));
		(void)snprintf(p0, sizeof(p0), "HTTP_X_HUB_SIGNATURE_256=%s%s",
		    signing ? "sha256=" : "", signing ? sig : in->line[4]);
		params[1] = NULL;
		break;
	case VERIFY_SLACK:
	case VERIFY_ZOOM:
		t = in->line[1];
		if (signing) {
			(void)snprintf(ts, sizeof(ts), "%d", NOW - 299);
			t = ts;
		}
		(void)snprintf(head, sizeof(head), "v0:%lld:", strtoll(t, NULL,
		    10));
		sign(k, klen, 0, head, body, len, 0, upper, sig, sizeof(sig));
		(void)snprintf(p0, sizeof(p0), "%s=%s", which == VERIFY_SLACK ?
		    "HTTP_X_SLACK_REQUEST_TIMESTAMP" :
		    "HTTP_X_ZM_REQUEST_TIMESTAMP", t);
		(void)snprintf(p1, sizeof(p1), "%s=%s%s", which == VERIFY_SLACK ?
		    "HTTP_X_SLACK_SIGNATURE" : "HTTP_X_ZM_SIGNATURE",
		    signing ? "v0=" : "", signing ? sig : in->line[2]);
		sigp = p1;
		break;
	case VERIFY_PADDLE:
		t = in->line[3];
		if (signing) {
			(void)snprintf(ts, sizeof(ts), "%d", NOW + 300);
			t = ts;
		} else {
			/* The first ts= item, as the reference reads it. */
			for (t = in->line[3]; *t != '\0'; t++)
				if ((t == in->line[3] || t[-1] == ';') &&
				    strncmp(t, "ts=", 3) == 0)
					break;
			n = strcspn(t + (*t ? 3 : 0), ";");
			(void)snprintf(ts, sizeof(ts), "%.*s", (int)(n < 30 ?
			    n : 30), t + (*t ? 3 : 0));
		}
		(void)snprintf(head, sizeof(head), "%lld:", strtoll(ts, NULL,
		    10));
		sign(k, klen, 0, head, body, len, 0, upper, sig, sizeof(sig));
		if (signing)
			(void)snprintf(hdr, sizeof(hdr), "ts=%s;h1=%s;%s", ts,
			    sig, in->line[3]);
		else
			(void)snprintf(hdr, sizeof(hdr), "%s", in->line[3]);
		(void)snprintf(p0, sizeof(p0), "HTTP_PADDLE_SIGNATURE=%s", hdr);
		params[1] = NULL;
		break;
	case VERIFY_SVIX:
		k = stdkey;
		klen = strlen(stdkey);
		t = in->line[1];
		if (signing) {
			(void)snprintf(ts, sizeof(ts), "%d", NOW);
			t = ts;
		}
		(void)snprintf(head, sizeof(head), "%s.%lld.", in->line[0],
		    strtoll(t, NULL, 10));
		sign(k, klen, 0, head, body, len, 1, 0, sig, sizeof(sig));
		(void)snprintf(hdr, sizeof(hdr), "%s%s%s", signing ? "v1," : "",
		    signing ? sig : "", signing ? " " : "");
		(void)snprintf(hdr + strlen(hdr), sizeof(hdr) - strlen(hdr),
		    "%s", in->line[2]);
		/* Three parameters: p0, p1 and the signature in hdr. */
		(void)snprintf(p0, sizeof(p0), "HTTP_SVIX_ID=%s", in->line[0]);
		(void)snprintf(p1, sizeof(p1), "HTTP_SVIX_TIMESTAMP=%s", t);
		break;
	case VERIFY_GITLAB:
		(void)snprintf(p0, sizeof(p0), "HTTP_X_GITLAB_TOKEN=%s",
		    signing ? key : in->line[6]);
		params[1] = NULL;
		break;
	case VERIFY_TWILIO:
		if (signing && (in->flags & 32)) {
			FZ_CHECK(EVP_Digest(body, len, md, NULL, EVP_sha256(),
			    NULL) == 1);
			(void)snprintf(tok, sizeof(tok), "a=1&bodySHA256=");
			for (i = 0; i < 32; i++)
				(void)snprintf(tok + 15 + 2 * i, 3, "%02x",
				    md[i]);
			query = tok;
			text = strdup("");
		} else {
			/* valid: 1 the reference applies, 0 the request must
			 * be refused (a body or query that is no form), -1 no
			 * reference (a query naming bodySHA256: the unit
			 * tests have those). */
			text = fz_canon(body, len, &tlen, &bodysha);
			qtext = fz_canon(query, strlen(query), &n, &qsha);
			valid = qtext == NULL ? 0 : qsha ? -1 : text != NULL;
			free(qtext);
		}
		if (text != NULL) {
			(void)snprintf(head, sizeof(head), "%s%s%s", FZ_URL,
			    *query ? "?" : "", query);
			sign_md(EVP_sha1(), k, klen, head, text, tlen, 1, 0,
			    sig, sizeof(sig));
			(void)snprintf(head, sizeof(head), "%s%s%s", FZ_URL443,
			    *query ? "?" : "", query);
			sign_md(EVP_sha1(), k, klen, head, text, tlen, 1, 0,
			    sig2, sizeof(sig2));
			free(text);
		}
		(void)snprintf(p0, sizeof(p0), "QUERY_STRING=%s", query);
		(void)snprintf(p1, sizeof(p1), "HTTP_X_TWILIO_SIGNATURE=%s",
		    signing ? (in->flags & 4 ? sig2 : sig) : in->line[2]);
		sigp = p1;
		expect = signing && valid == 1;
		if (signing && valid == 0)
			expect = -1;	/* no form: must be refused */
		break;
	case VERIFY_MAILGUN:
		params[0] = NULL;
		if (signing) {
			/* A token like an event id, from line 0. */
			for (i = n = 0; in->line[0][i] != '\0' && n < 100; i++)
				if (strchr("abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
				    in->line[0][i]) != NULL)
					tok[n++] = in->line[0][i];
			tok[n] = '\0';
			if (n == 0)
				(void)snprintf(tok, sizeof(tok), "tok");
			(void)snprintf(ts, sizeof(ts), "%d", NOW - 300);
			sign(k, klen, 0, ts, tok, strlen(tok), 0, upper, sig,
			    sizeof(sig));
			FZ_CHECK(asprintf(&mbody, "{\"signature\":{\"timestamp\":"
			    "\"%s\",\"token\":\"%s\",\"signature\":\"%s\"},"
			    "\"event-data\":{\"event\":\"delivered\"}}", ts, tok,
			    sig) > 0);
			body = mbody;
			len = strlen(mbody);
		} else if ((root = fz_json(in->body, in->len)) != NULL &&
		    json_object_object_get_ex(root, "signature", &o) &&
		    json_object_object_get_ex(o, "timestamp", &jt) &&
		    json_object_object_get_ex(o, "token", &jk) &&
		    json_object_object_get_ex(o, "signature", &js)) {
			/* The reference over what the body says. */
			(void)snprintf(ts, sizeof(ts), "%lld", strtoll(
			    json_object_get_string(jt), NULL, 10));
			t = json_object_get_string(jk);
			sign(k, klen, 0, ts, t, strlen(t), 0, 0, sig,
			    sizeof(sig));
			(void)snprintf(hdr, sizeof(hdr), "%s",
			    json_object_get_string(js));
		}
		break;
	default:
		return;
	}
	if (which == VERIFY_SVIX) {
		char p2[sizeof(hdr) + 20];
		char *sp[4] = { p0, p1, p2, NULL };

		(void)snprintf(p2, sizeof(p2), "HTTP_SVIX_SIGNATURE=%s", hdr);
		memset(&e, 0, sizeof(e));
		ok = verify_signature(v, sp, body, len, NOW, &e);
		FZ_CHECK(ok == 0 || ok == 1);
		if (ok && !signing)
			FZ_CHECK(holds(p2, sig));
		if (signing && in->line[0][0] != '\0' &&
		    strchr(in->line[0], '.') == NULL &&
		    strlen(in->line[0]) < 200)
			FZ_CHECK(ok);
		return;
	}
	memset(&e, 0, sizeof(e));
	ok = verify_signature(v, params, body, len, NOW, &e);
	FZ_CHECK(ok == 0 || ok == 1);
	if (!ok)
		FZ_CHECK(e.msg[0] != '\0');
	if (which == VERIFY_GITLAB) {
		t = strchr(p0, '=') + 1;
		FZ_CHECK(ok == (strcmp(t, key) == 0 ||
		    strcmp(t, "old-secret-old-secret") == 0));
	} else if (which == VERIFY_MAILGUN && !signing) {
		/* A verified body holds the reference's signature. */
		if (ok)
			FZ_CHECK(sig[0] != '\0' && strcasecmp(hdr, sig) == 0);
	} else if (expect == 1)
		FZ_CHECK(ok);
	else if (expect == -1)
		FZ_CHECK(!ok);
	else if (ok) {
		FZ_CHECK(valid != 0);
		if (valid == 1)
			FZ_CHECK((sig[0] != '\0' && holds(sigp, sig)) ||
			    (sig2[0] != '\0' && holds(sigp, sig2)));
	}
	if (root != NULL)
		json_object_put(root);
	free(mbody);
}

/* Standard Webhooks v1a: an Ed25519 signature by the harness's key, and
 * a v1 HMAC with the whsec_ secret beside it. */
static void
check_v1a(struct input *in)
{
	char		 p0[LINE_MAX_FZ + 40], p1[LINE_MAX_FZ + 40];
	char		 p2[2 * LINE_MAX_FZ + 200], ts[40], hsig[200];
	char		 esig[100], *msg, *params[4] = { p0, p1, p2, NULL };
	unsigned char	 raw[64];
	EVP_MD_CTX	*ctx;
	struct err	 e;
	const char	*t = in->line[1];
	size_t		 hlen, rawlen = sizeof(raw);
	int		 signing = in->flags & 1, ok;

	if (signing) {
		(void)snprintf(ts, sizeof(ts), "%d", NOW - 300);
		t = ts;
	}
	(void)snprintf(p0, sizeof(p0), "%s.%lld.", in->line[0],
	    strtoll(t, NULL, 10));
	hlen = strlen(p0);
	FZ_CHECK((msg = malloc(hlen + in->len + 1)) != NULL);
	memcpy(msg, p0, hlen);
	memcpy(msg + hlen, in->body, in->len);
	FZ_CHECK((ctx = EVP_MD_CTX_new()) != NULL);
	FZ_CHECK(EVP_DigestSignInit(ctx, NULL, NULL, NULL, edkey) == 1 &&
	    EVP_DigestSign(ctx, raw, &rawlen, (unsigned char *)msg,
	    hlen + in->len) == 1 && rawlen == 64);
	EVP_MD_CTX_free(ctx);
	free(msg);
	(void)EVP_EncodeBlock((unsigned char *)esig, raw, 64);
	sign(stdkey, strlen(stdkey), 0, p0, in->body, in->len, 1, 0, hsig,
	    sizeof(hsig));
	(void)snprintf(p0, sizeof(p0), "HTTP_WEBHOOK_ID=%s", in->line[0]);
	(void)snprintf(p1, sizeof(p1), "HTTP_WEBHOOK_TIMESTAMP=%s", t);
	(void)snprintf(p2, sizeof(p2), "HTTP_WEBHOOK_SIGNATURE=%s%s%s%s",
	    signing ? "v1a," : "", signing ? esig : "", signing ? " " : "",
	    in->line[2]);
	memset(&e, 0, sizeof(e));
	ok = verify_signature(&v1a, params, in->body, in->len, NOW, &e);
	FZ_CHECK(ok == 0 || ok == 1);
	if (ok && !signing)
		FZ_CHECK(holds(p2, esig) || holds(p2, hsig));
	if (signing && in->line[0][0] != '\0' && strchr(in->line[0], '.') ==
	    NULL && strlen(in->line[0]) < 200)
		FZ_CHECK(ok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct input	in;
	unsigned char		out[600];
	long			n;
	size_t			i;

	split(data, size, &in);
	check_scheme(&vstd, &in, VERIFY_STDWH);
	check_scheme(&vstripe, &in, VERIFY_STRIPE);
	check_scheme(&vgithub, &in, VERIFY_GITHUB);
	check_scheme(&vhmac, &in, VERIFY_HMAC);
	check_scheme(&vtoken, &in, VERIFY_TOKEN);
	for (i = 0; i < sizeof(rowschemes) / sizeof(rowschemes[0]); i++)
		check_row(rowschemes[i], &in);
	check_v1a(&in);
	check_tokens(&in);
	/* The decoders directly, on the raw signature lines. */
	n = verify_hex_decode(in.line[4], strlen(in.line[4]), out, 64);
	FZ_CHECK(n == -1 || (n >= 0 && n <= 64));
	n = verify_b64_decode(in.line[2], strlen(in.line[2]), out, 64);
	FZ_CHECK(n == -1 || (n >= 0 && n <= 64));
	return 0;
}
