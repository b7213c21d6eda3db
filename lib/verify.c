/* verify: HMAC signature schemes on the raw body. The MAC comes from
 * libcrypto (through lib/crypto.c) and the comparison is ct_memeq on
 * decoded bytes; every secret and every offered signature is tried,
 * whatever matched first, so timing says nothing about which. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "verify.h"

#define MAC_MAX		CRYPTO_MAC_MAX
#define SIGNED_MAX	256	/* id + timestamp prefix of the signed text */

const char *const verify_schemes[] = {
	"token", "standard-webhooks", "github", "stripe", "hmac", NULL
};

int
verify_scheme_parse(const char *s)
{
	size_t i;

	for (i = 0; verify_schemes[i] != NULL; i++)
		if (strcmp(s, verify_schemes[i]) == 0)
			return (int)i;
	return -1;
}

const char *
verify_scheme_name(enum verify_scheme s)
{
	return verify_schemes[s];
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long
verify_hex_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
	size_t	i;
	int	hi, lo;

	if (n % 2 != 0 || n / 2 > max)
		return -1;
	for (i = 0; i < n; i += 2) {
		if ((hi = hexval((unsigned char)s[i])) < 0 ||
		    (lo = hexval((unsigned char)s[i + 1])) < 0)
			return -1;
		out[i / 2] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

long
verify_b64_decode(const char *s, size_t n, unsigned char *out, size_t max)
{
	unsigned char	*tmp;
	const char	*eq;
	int		 len;
	size_t		 pad = 0;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > max + 2 || n > 4096)
		return -1;
	/* EVP_DecodeBlock reads an '=' inside the text as a zero: "YW=j"
	 * would pass for "YWAj". Padding is at the end or nowhere, so one
	 * MAC has one spelling. */
	if ((eq = memchr(s, '=', n)) != NULL && (eq < s + n - 2 ||
	    (eq == s + n - 2 && s[n - 1] != '=')))
		return -1;
	if ((tmp = malloc(n / 4 * 3 + 1)) == NULL)
		return -1;
	len = crypto_b64_block(tmp, s, (int)n);
	if (s[n - 1] == '=')
		pad++;
	if (s[n - 2] == '=')
		pad++;
	if (len < 0 || (size_t)len < pad || (size_t)len - pad > max) {
		wipe(tmp, n / 4 * 3 + 1);	/* may be part of a secret */
		free(tmp);
		return -1;
	}
	len -= (int)pad;
	memcpy(out, tmp, (size_t)len);
	wipe(tmp, n / 4 * 3 + 1);
	free(tmp);
	return len;
}

int
verify_decode_secrets(struct verify *v, struct err *e)
{
	unsigned char	 raw[512];
	struct token	*t;
	const char	*b64;
	long		 n;
	size_t		 i;

	if (v->scheme != VERIFY_STDWH)
		return 0;
	for (i = 0; i < v->secrets.n; i++) {
		t = &v->secrets.v[i];
		b64 = strncmp(t->p, "whsec_", 6) == 0 ? t->p + 6 : t->p;
		n = verify_b64_decode(b64, strlen(b64), raw, sizeof(raw));
		if (n <= 0)
			return err_set(e, "secret %zu is not whsec_ followed by "
			    "base64", i + 1);
		wipe(t->p, t->n);
		memcpy(t->p, raw, (size_t)n);
		t->n = (size_t)n;
		wipe(raw, sizeof(raw));
	}
	return 0;
}

int
verify_load(struct verify *v, struct err *e)
{
	if (v->scheme != VERIFY_TOKEN && crypto_load(e) == -1)
		return -1;
	return verify_decode_secrets(v, e) == -1 ? -2 : 0;
}

/* HMAC(secret, head || body) into mac; its length, or 0. */
static unsigned
mac_of(const struct verify *v, const struct token *key, const char *head,
    size_t headlen, const char *body, size_t len, unsigned char *mac)
{
	return (unsigned)crypto_hmac(v->alg == VERIFY_SHA512, key->p, key->n,
	    head, headlen, body, len, mac);
}

/* 1 when one offered signature (decoded) equals the MAC of one secret. */
static int
match(const struct verify *v, const unsigned char **sigs,
    const size_t *siglens, size_t nsig, const char *head, size_t headlen,
    const char *body, size_t len)
{
	unsigned char	mac[MAC_MAX];
	unsigned	maclen;
	size_t		i, j;
	int		ok = 0;

	for (i = 0; i < v->secrets.n; i++) {
		maclen = mac_of(v, &v->secrets.v[i], head, headlen, body, len,
		    mac);
		for (j = 0; maclen > 0 && j < nsig; j++)
			if (siglens[j] == maclen)
				ok |= ct_memeq(sigs[j], mac, maclen);
	}
	wipe(mac, sizeof(mac));
	return ok;
}

#define MAX_SIGS	8

struct offered {
	unsigned char	 buf[MAX_SIGS][MAC_MAX];
	const unsigned char *p[MAX_SIGS];
	size_t		 len[MAX_SIGS];
	size_t		 n;
};

static void
offer(struct offered *o, const char *s, size_t n, enum verify_enc enc)
{
	long r;

	if (o->n == MAX_SIGS)
		return;
	r = enc == VERIFY_HEX ? verify_hex_decode(s, n, o->buf[o->n], MAC_MAX) :
	    verify_b64_decode(s, n, o->buf[o->n], MAC_MAX);
	if (r <= 0)
		return;
	o->p[o->n] = o->buf[o->n];
	o->len[o->n] = (size_t)r;
	o->n++;
}

static int
timestamp_ok(const char *ts, time_t now, long tolerance, long long *out,
    struct err *e)
{
	long long	 t;
	char		*end;

	if (ts == NULL || *ts < '0' || *ts > '9')
		return err_set(e, "timestamp missing or not a number"), 0;
	errno = 0;
	t = strtoll(ts, &end, 10);
	if (errno != 0 || *end != '\0')
		return err_set(e, "timestamp is not a number"), 0;
	if (t < (long long)now - tolerance || t > (long long)now + tolerance)
		return err_set(e, "timestamp outside the tolerance of %lds",
		    tolerance), 0;
	*out = t;
	return 1;
}

int
verify_signature(const struct verify *v, char *const *params,
    const char *body, size_t len, time_t now, struct err *e)
{
	struct offered	 o;
	const char	*h, *id, *ts, *p, *end;
	char		 head[SIGNED_MAX];
	long long	 t;
	size_t		 plen;
	int		 n, ok;

	memset(&o, 0, sizeof(o));
	switch (v->scheme) {
	case VERIFY_STDWH:
		id = param_get(params, "HTTP_WEBHOOK_ID");
		ts = param_get(params, "HTTP_WEBHOOK_TIMESTAMP");
		h = param_get(params, "HTTP_WEBHOOK_SIGNATURE");
		if (id == NULL || h == NULL || *id == '\0' ||
		    strchr(id, '.') != NULL)
			return err_set(e, "webhook-id or webhook-signature "
			    "missing"), 0;
		if (!timestamp_ok(ts, now, v->tolerance, &t, e))
			return 0;
		n = snprintf(head, sizeof(head), "%s.%lld.", id, t);
		if (n < 0 || (size_t)n >= sizeof(head))
			return err_set(e, "webhook-id too long"), 0;
		/* "v1,<base64> v1,<base64> ..." */
		for (p = h; *p != '\0'; p = *end ? end + 1 : end) {
			end = strchr(p, ' ');
			if (end == NULL)
				end = p + strlen(p);
			if (end - p > 3 && strncmp(p, "v1,", 3) == 0)
				offer(&o, p + 3, (size_t)(end - p - 3),
				    VERIFY_BASE64);
		}
		ok = match(v, o.p, o.len, o.n, head, (size_t)n, body, len);
		break;
	case VERIFY_STRIPE:
		if ((h = param_get(params, "HTTP_STRIPE_SIGNATURE")) == NULL)
			return err_set(e, "Stripe-Signature missing"), 0;
		ts = NULL;
		/* "t=...,v1=...,v1=...,v0=..." */
		for (p = h; *p != '\0'; p = *end ? end + 1 : end) {
			end = strchr(p, ',');
			if (end == NULL)
				end = p + strlen(p);
			if (strncmp(p, "t=", 2) == 0 && ts == NULL) {
				plen = (size_t)(end - p - 2);
				if (plen == 0 || plen >= 24)
					return err_set(e, "bad t="), 0;
				memcpy(head, p + 2, plen);
				head[plen] = '\0';
				ts = head;
			} else if (strncmp(p, "v1=", 3) == 0)
				offer(&o, p + 3, (size_t)(end - p - 3),
				    VERIFY_HEX);
		}
		if (!timestamp_ok(ts, now, v->tolerance, &t, e))
			return 0;
		n = snprintf(head, sizeof(head), "%lld.", t);
		ok = match(v, o.p, o.len, o.n, head, (size_t)n, body, len);
		break;
	case VERIFY_GITHUB:
	case VERIFY_HMAC:
		h = param_get(params, v->param);
		if (h == NULL)
			return err_set(e, "signature header missing"), 0;
		plen = v->prefix != NULL ? strlen(v->prefix) : 0;
		if (plen > 0 && strncmp(h, v->prefix, plen) != 0)
			return err_set(e, "signature without its prefix"), 0;
		offer(&o, h + plen, strlen(h + plen), v->enc);
		ok = match(v, o.p, o.len, o.n, NULL, 0, body, len);
		break;
	default:
		return err_set(e, "not a signature scheme"), 0;
	}
	wipe(&o, sizeof(o));
	if (!ok)
		err_set(e, "no signature matched");
	return ok;
}
