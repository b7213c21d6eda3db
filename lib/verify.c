/* verify: the signature schemes, as one table of rows (what each sender
 * signs, where and how) and one function that walks a row. The MAC comes
 * from libcrypto (through lib/crypto.c) and the comparison is ct_memeq on
 * decoded bytes; every secret and every offered signature is tried,
 * whatever matched first, so timing says nothing about which. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "crypto.h"
#include "form.h"
#include "payload.h"
#include "verify.h"

#define MAC_MAX		CRYPTO_MAC_MAX
#define SIGNED_MAX	256	/* the head: id and timestamp */
#define PARAM_MAX	160	/* a header's CGI name */
#define MAX_SIGS	8	/* signatures tried per request and kind */

const char *const verify_schemes[] = {
	"token", "standard-webhooks", "github", "stripe", "hmac", "shopify",
	"slack", "twilio", "gitlab", "paddle", "zoom", "meta", "mailgun",
	"svix", NULL
};
_Static_assert(sizeof(verify_schemes) / sizeof(verify_schemes[0]) ==
    VERIFY_NSCHEMES + 1, "one name per scheme");

const struct verify_key verify_keys[] = {
	{ "header", VERIFY_K_HEADER, "the header holding the token" },
	{ "signature_header", VERIFY_K_SIGHEADER,
	  "the header that carries the signature" },
	{ "algorithm", VERIFY_K_ALGORITHM, "the hash of the HMAC" },
	{ "encoding", VERIFY_K_ENCODING, "how the signature is written" },
	{ "prefix", VERIFY_K_PREFIX, "the text before the signature" },
	{ "tolerance", VERIFY_K_TOLERANCE,
	  "how far the signed timestamp may lie from the clock" },
	{ "public_url", VERIFY_K_PUBLIC_URL,
	  "the URL the sender posts to, as the sender writes it (the one "
	  "configured there, not the one a proxy passes on)" },
	{ NULL, 0, NULL }
};

#define TS_KEYS		VERIFY_K_TOLERANCE

/*
 * The schemes. A row is data only: verify_signature() walks it, conf.c
 * reads its keys, needs and event and id sources, and hookpipe.ini(5)
 * describes each. Where the senders document them:
 *   standard-webhooks  the Standard Webhooks specification, v1 and v1a
 *   github             "Validating webhook deliveries"
 *   stripe             "Verify webhook signatures manually"
 *   shopify            "Verify a webhook" (HMAC of the raw body, base64)
 *   slack              "Verifying requests from Slack"
 *   twilio             "Webhooks security" (and its helper libraries for
 *                      bodySHA256 and the port spellings)
 *   gitlab             "Webhooks": the secret token, sent as is
 *   paddle             "Verify webhook signatures" (Paddle Billing)
 *   zoom               "Using webhooks": x-zm-signature
 *   meta               "Webhooks, event notifications": the app secret
 *   mailgun            "Securing webhooks"
 *   svix               "Verifying payloads manually" (Standard Webhooks)
 */
static const struct verify_row rows[VERIFY_NSCHEMES] = {
	[VERIFY_TOKEN] = {
		.recipe = VERIFY_R_TOKEN, .keys = VERIFY_K_HEADER,
	},
	[VERIFY_STDWH] = {
		.sig_header = "webhook-signature",
		.ts_header = "webhook-timestamp", .id_header = "webhook-id",
		.recipe = VERIFY_R_BODY, .head = "{id}.{ts}.",
		.alg = VERIFY_SHA256, .enc = VERIFY_BASE64, .sep = ' ',
		.sig_tag = "v1,", .asym_tag = "v1a,",
		.ts = VERIFY_TS_HEADER, .tolerance = 300, .keys = TS_KEYS,
		.flags = VERIFY_F_WHSEC,
		.id = { "header:webhook-id" },
	},
	[VERIFY_GITHUB] = {
		.sig_header = "X-Hub-Signature-256",
		.recipe = VERIFY_R_BODY, .alg = VERIFY_SHA256,
		.enc = VERIFY_HEX, .sig_tag = "sha256=",
		.keys = VERIFY_K_SIGHEADER | VERIFY_K_PREFIX,
		.event = { "header:X-GitHub-Event" },
		.id = { "header:X-GitHub-Delivery" },
	},
	[VERIFY_STRIPE] = {
		/* Stripe names the event in "type": the default stays the
		 * one hookpipe always had ("event"), set event_field. */
		.sig_header = "Stripe-Signature",
		.recipe = VERIFY_R_BODY, .head = "{ts}.",
		.alg = VERIFY_SHA256, .enc = VERIFY_HEX, .sep = ',',
		.sig_tag = "v1=", .ts = VERIFY_TS_ITEM, .ts_tag = "t=",
		.tolerance = 300, .keys = TS_KEYS,
	},
	[VERIFY_HMAC] = {
		.recipe = VERIFY_R_BODY,
		.keys = VERIFY_K_SIGHEADER | VERIFY_K_ALGORITHM |
		    VERIFY_K_ENCODING | VERIFY_K_PREFIX,
		.needs = VERIFY_K_SIGHEADER,
	},
	[VERIFY_SHOPIFY] = {
		.sig_header = "X-Shopify-Hmac-Sha256",
		.recipe = VERIFY_R_BODY, .alg = VERIFY_SHA256,
		.enc = VERIFY_BASE64,
		.event = { "header:X-Shopify-Topic" },
		.id = { "header:X-Shopify-Webhook-Id" },
	},
	[VERIFY_SLACK] = {
		.sig_header = "X-Slack-Signature",
		.ts_header = "X-Slack-Request-Timestamp",
		.recipe = VERIFY_R_BODY, .head = "v0:{ts}:",
		.alg = VERIFY_SHA256, .enc = VERIFY_HEX, .sig_tag = "v0=",
		.ts = VERIFY_TS_HEADER, .tolerance = 300, .keys = TS_KEYS,
		.event = { "event.type", "type" },
		.id = { "event_id" },
	},
	[VERIFY_TWILIO] = {
		.sig_header = "X-Twilio-Signature",
		.recipe = VERIFY_R_URL_FORM, .alg = VERIFY_SHA1,
		.enc = VERIFY_BASE64,
		.keys = VERIFY_K_PUBLIC_URL, .needs = VERIFY_K_PUBLIC_URL,
		.event = { "EventType", "=twilio" },
		.id = { "header:I-Twilio-Idempotency-Token", "MessageSid",
		    "CallSid" },
	},
	[VERIFY_GITLAB] = {
		.sig_header = "X-Gitlab-Token", .recipe = VERIFY_R_TOKEN,
		/* X-Gitlab-Event says "Push Hook", which is no event name
		 * (a space); the body's object_kind says "push". */
		.event = { "object_kind", "header:X-Gitlab-Event" },
		.id = { "header:X-Gitlab-Event-UUID",
		    "header:Idempotency-Key" },
	},
	[VERIFY_PADDLE] = {
		.sig_header = "Paddle-Signature",
		.recipe = VERIFY_R_BODY, .head = "{ts}:",
		.alg = VERIFY_SHA256, .enc = VERIFY_HEX, .sep = ';',
		.sig_tag = "h1=", .ts = VERIFY_TS_ITEM, .ts_tag = "ts=",
		.tolerance = 300, .keys = TS_KEYS,
		.event = { "event_type" }, .id = { "event_id" },
	},
	[VERIFY_ZOOM] = {
		.sig_header = "x-zm-signature",
		.ts_header = "x-zm-request-timestamp",
		.recipe = VERIFY_R_BODY, .head = "v0:{ts}:",
		.alg = VERIFY_SHA256, .enc = VERIFY_HEX, .sig_tag = "v0=",
		.ts = VERIFY_TS_HEADER, .tolerance = 300, .keys = TS_KEYS,
		.event = { "event" }, .id = { "hash:" },
	},
	[VERIFY_META] = {
		.sig_header = "X-Hub-Signature-256",
		.recipe = VERIFY_R_BODY, .alg = VERIFY_SHA256,
		.enc = VERIFY_HEX, .sig_tag = "sha256=",
		.event = { "object" },
		.event_suffix = "entry.0.changes.0.field",
		.id = { "hash:entry" },
	},
	[VERIFY_MAILGUN] = {
		.recipe = VERIFY_R_BODY_FIELDS, .alg = VERIFY_SHA256,
		.enc = VERIFY_HEX, .ts = VERIFY_TS_BODY,
		.body_ts = "signature.timestamp",
		.body_token = "signature.token",
		.body_sig = "signature.signature",
		.tolerance = 300, .keys = TS_KEYS, .flags = VERIFY_F_ONCE,
		.event = { "event-data.event" }, .id = { "event-data.id" },
	},
	[VERIFY_SVIX] = {
		.sig_header = "svix-signature",
		.ts_header = "svix-timestamp", .id_header = "svix-id",
		.recipe = VERIFY_R_BODY, .head = "{id}.{ts}.",
		.alg = VERIFY_SHA256, .enc = VERIFY_BASE64, .sep = ' ',
		.sig_tag = "v1,", .asym_tag = "v1a,",
		.ts = VERIFY_TS_HEADER, .tolerance = 300, .keys = TS_KEYS,
		.flags = VERIFY_F_WHSEC,
		.id = { "header:svix-id" },
	},
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

const struct verify_row *
verify_row(enum verify_scheme s)
{
	return &rows[(unsigned)s < VERIFY_NSCHEMES ? s : VERIFY_TOKEN];
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

/* The value of a base64 digit; -1 for another character. */
static int
b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
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
	/* Nor may the bits that padding leaves unused be set: "YR==" would
	 * pass for "YQ==". */
	if (s[n - 1] == '=' && (b64val(s[n - (s[n - 2] == '=' ? 3 : 2)]) &
	    (s[n - 2] == '=' ? 0xf : 0x3)) != 0)
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

/* Move secret i (the k-th written) of v->secrets to v->pubkeys, decoded
 * from the base64 b64. */
static int
take_pubkey(struct verify *v, size_t i, size_t k, const char *b64,
    struct err *e)
{
	unsigned char	 raw[CRYPTO_ED25519_KEY_LEN];
	struct token	*nv, *t = &v->secrets.v[i];
	long		 n;

	n = verify_b64_decode(b64, strlen(b64), raw, sizeof(raw));
	if (n != CRYPTO_ED25519_KEY_LEN)
		return err_set(e, "secret %zu is not whpk_ followed by the "
		    "base64 of a 32-byte Ed25519 public key", k);
	nv = reallocarray(v->pubkeys.v, v->pubkeys.n + 1, sizeof(*nv));
	if (nv == NULL)
		return err_sys(e, "public key %zu", k);
	v->pubkeys.v = nv;
	nv[v->pubkeys.n] = *t;
	wipe(nv[v->pubkeys.n].p, t->n);
	memcpy(nv[v->pubkeys.n].p, raw, sizeof(raw));
	nv[v->pubkeys.n].n = sizeof(raw);
	wipe(nv[v->pubkeys.n].pad, sizeof(t->pad));
	v->pubkeys.n++;
	memmove(t, t + 1, (v->secrets.n - i - 1) * sizeof(*t));
	v->secrets.n--;
	return 0;
}

int
verify_decode_secrets(struct verify *v, struct err *e)
{
	unsigned char	 raw[512];
	struct token	*t;
	const char	*b64;
	long		 n;
	size_t		 i, k;

	if (!(verify_row(v->scheme)->flags & VERIFY_F_WHSEC))
		return 0;
	for (i = 0, k = 1; i < v->secrets.n; k++) {
		t = &v->secrets.v[i];
		if (strncmp(t->p, "whsk_", 5) == 0)
			return err_set(e, "secret %zu is a whsk_ private key: "
			    "the receiver needs the sender's whpk_ public key",
			    k);
		if (strncmp(t->p, "whpk_", 5) == 0) {
			if (take_pubkey(v, i, k, t->p + 5, e) == -1)
				return -1;
			continue;
		}
		b64 = strncmp(t->p, "whsec_", 6) == 0 ? t->p + 6 : t->p;
		n = verify_b64_decode(b64, strlen(b64), raw, sizeof(raw));
		if (n <= 0)
			return err_set(e, "secret %zu is not whsec_ followed "
			    "by base64", k);
		wipe(t->p, t->n);
		memcpy(t->p, raw, (size_t)n);
		t->n = (size_t)n;
		wipe(t->pad, sizeof(t->pad));
		memcpy(t->pad, raw, (size_t)n);
		wipe(raw, sizeof(raw));
		i++;
	}
	return 0;
}

int
verify_url_ok(const char *u, struct err *e)
{
	const char *host, *p;

	if (strncmp(u, "https://", 8) == 0)
		host = u + 8;
	else if (strncmp(u, "http://", 7) == 0)
		host = u + 7;
	else
		return err_set(e, "'%s' is not an http:// or https:// URL", u),
		    0;
	if (*host == '\0' || *host == '/' || *host == ':')
		return err_set(e, "'%s' names no host", u), 0;
	for (p = u; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return err_set(e, "'%s' holds a space or a control "
			    "character", u), 0;
	if (strpbrk(u, "?#") != NULL)
		return err_set(e, "'%s' has a query or a fragment: write the "
		    "URL without it (the request's own query string is "
		    "appended)", u), 0;
	return 1;
}

int
verify_load(struct verify *v, struct err *e)
{
	const struct verify_row *r = verify_row(v->scheme);

	if (r->recipe != VERIFY_R_TOKEN && crypto_load(e) == -1)
		return -1;
	return verify_decode_secrets(v, e) == -1 ? -2 : 0;
}

void
verify_free(struct verify *v)
{
	tokens_free(&v->secrets);
	tokens_free(&v->pubkeys);
	tokens_free(&v->privkeys);
	free(v->prefix);
	free(v->public_url);
	v->prefix = v->public_url = NULL;
}

/* Signatures offered by a request, decoded. */
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

/* What a request is checked against: the row, and the keys of the INI
 * where the row lets them override it. */
struct scheme {
	const struct verify_row	*r;
	const char		*digest;	/* "SHA256" ... */
	enum verify_enc		 enc;
	const char		*sig_tag;	/* or prefix = */
	char			 sig_param[PARAM_MAX];
	const char		*sig_name;	/* for the log */
};

static void
scheme_of(const struct verify *v, struct scheme *s)
{
	static const char *const digests[] = { "SHA256", "SHA512", "SHA1" };
	enum verify_alg alg;

	memset(s, 0, sizeof(*s));
	s->r = verify_row(v->scheme);
	alg = s->r->keys & VERIFY_K_ALGORITHM ? v->alg : s->r->alg;
	s->digest = digests[(unsigned)alg < 3 ? alg : 0];
	s->enc = s->r->keys & VERIFY_K_ENCODING ? v->enc : s->r->enc;
	s->sig_tag = s->r->sig_tag;
	if ((s->r->keys & VERIFY_K_PREFIX) && v->prefix != NULL)
		s->sig_tag = v->prefix;
	s->sig_name = s->r->sig_header;
	if ((s->r->keys & VERIFY_K_SIGHEADER) && v->param[0] != '\0') {
		(void)snprintf(s->sig_param, sizeof(s->sig_param), "%s",
		    v->param);
		s->sig_name = "signature_header";
	} else if (s->r->sig_header != NULL)
		(void)auth_header_param(s->r->sig_header, s->sig_param,
		    sizeof(s->sig_param));
}

/* The value of a header the row names, or NULL. */
static const char *
header(char *const *params, const char *name)
{
	char cgi[PARAM_MAX];

	if (name == NULL ||
	    auth_header_param(name, cgi, sizeof(cgi)) == -1)
		return NULL;
	return param_get(params, cgi);
}

/* 1 when one offered signature (decoded) equals the MAC of one secret
 * over a || b. */
static int
match(const struct verify *v, const struct scheme *s,
    const struct offered *o, const char *a, size_t alen, const char *b,
    size_t blen)
{
	unsigned char	mac[MAC_MAX];
	size_t		maclen, i, j;
	int		ok = 0;

	for (i = 0; i < v->secrets.n; i++) {
		maclen = crypto_hmac(s->digest, v->secrets.v[i].p,
		    v->secrets.v[i].n, a, alen, b, blen, mac);
		for (j = 0; maclen > 0 && j < o->n; j++)
			if (o->len[j] == maclen)
				ok |= ct_memeq(o->p[j], mac, maclen);
	}
	wipe(mac, sizeof(mac));
	return ok;
}

/* 1 when one offered Ed25519 signature is one of a public key's over
 * head || body. Public keys: no secret to hide, but all are tried too. */
static int
match_asym(const struct verify *v, const struct offered *o,
    const char *head, size_t headlen, const char *body, size_t len,
    struct err *e)
{
	char	*msg;
	size_t	 i, j;
	int	 ok = 0;

	if (o->n == 0 || v->pubkeys.n == 0)
		return 0;
	if ((msg = malloc(headlen + len + 1)) == NULL)
		return err_sys(e, "Ed25519 message"), 0;
	memcpy(msg, head, headlen);
	memcpy(msg + headlen, body, len);
	for (i = 0; i < v->pubkeys.n; i++)
		for (j = 0; j < o->n; j++)
			ok |= crypto_ed25519_verify((const unsigned char *)
			    v->pubkeys.v[i].p, o->p[j], o->len[j], msg,
			    headlen + len);
	free(msg);
	return ok;
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

/*
 * The signature header's items into sym (HMAC signatures) and asym
 * (Ed25519), and the timestamp item, if the row has one, into ts. A row
 * without a separator has one item, which must start with its tag.
 */
static int
parse_header(const struct scheme *s, const char *h, struct offered *sym,
    struct offered *asym, char *ts, size_t tslen, struct err *e)
{
	const struct verify_row	*r = s->r;
	const char		*p, *end;
	size_t			 n, tag;

	tag = s->sig_tag != NULL ? strlen(s->sig_tag) : 0;
	if (r->sep == '\0') {
		if (tag > 0 && strncmp(h, s->sig_tag, tag) != 0)
			return err_set(e, "signature without its prefix");
		offer(sym, h + tag, strlen(h + tag), s->enc);
		return 0;
	}
	for (p = h; *p != '\0'; p = *end ? end + 1 : end) {
		if ((end = strchr(p, r->sep)) == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		if (r->ts_tag != NULL && ts[0] == '\0' &&
		    strncmp(p, r->ts_tag, strlen(r->ts_tag)) == 0) {
			n -= strlen(r->ts_tag);
			if (n == 0 || n >= tslen || n >= 24)
				return err_set(e, "bad %s", r->ts_tag);
			memcpy(ts, p + strlen(r->ts_tag), n);
			ts[n] = '\0';
		} else if (tag > 0 && n > tag && strncmp(p, s->sig_tag,
		    tag) == 0)
			offer(sym, p + tag, n - tag, s->enc);
		else if (r->asym_tag != NULL && n > strlen(r->asym_tag) &&
		    strncmp(p, r->asym_tag, strlen(r->asym_tag)) == 0)
			offer(asym, p + strlen(r->asym_tag),
			    n - strlen(r->asym_tag), VERIFY_BASE64);
	}
	return 0;
}

/* The row's head with {id} and {ts} filled in; its length, or -1. */
static int
expand(const char *tpl, const char *id, long long ts, char *out,
    size_t size)
{
	size_t	o = 0;
	int	n;

	for (; tpl != NULL && *tpl != '\0'; tpl++) {
		if (strncmp(tpl, "{id}", 4) == 0) {
			n = snprintf(out + o, size - o, "%s", id);
			tpl += 3;
		} else if (strncmp(tpl, "{ts}", 4) == 0) {
			n = snprintf(out + o, size - o, "%lld", ts);
			tpl += 3;
		} else
			n = snprintf(out + o, size - o, "%c", *tpl);
		if (n < 0 || (size_t)n >= size - o)
			return -1;
		o += (size_t)n;
	}
	out[o] = '\0';
	return (int)o;
}

/*
 * Twilio's URL, as public_url with the request's query string, in its
 * two spellings: Twilio's helper libraries accept the signature of the
 * URL with the default port written out (":443") and without any port,
 * since Twilio's own signing has used both. 2 spellings, or 1.
 */
static int
twilio_urls(const char *base, const char *query, struct buf u[2])
{
	const char	*auth, *path, *colon, *p;
	int		 https = strncmp(base, "https://", 8) == 0;
	size_t		 hostend;

	auth = base + (https ? 8 : 7);
	path = auth + strcspn(auth, "/");
	hostend = (size_t)(path - base);
	/* A port: the digits after the last ':' of the authority, past any
	 * user@ and [IPv6]. */
	colon = NULL;
	for (p = auth; p < path; p++)
		if (*p == ':')
			colon = p;
		else if (*p == '@' || *p == ']')
			colon = NULL;
	if (colon != NULL && (colon + 1 == path ||
	    strspn(colon + 1, "0123456789") != (size_t)(path - colon - 1)))
		colon = NULL;
	buf_puts(&u[0], base);
	if (colon != NULL) {	/* as written, and without the port */
		buf_add(&u[1], base, (size_t)(colon - base));
		buf_puts(&u[1], path);
	} else {		/* as written, and with the default port */
		buf_add(&u[1], base, hostend);
		buf_puts(&u[1], https ? ":443" : ":80");
		buf_puts(&u[1], path);
	}
	if (query != NULL && *query != '\0') {
		buf_putc(&u[0], '?');
		buf_puts(&u[0], query);
		buf_putc(&u[1], '?');
		buf_puts(&u[1], query);
	}
	return u[0].oom || u[1].oom ? -1 : 2;
}

/* Twilio's signed text after the URL: each name and value of the form,
 * sorted; a pair repeated whole counts once, as in Twilio's helper
 * libraries. verify_twilio and verify_sign both make it here. */
static int
twilio_form(const char *body, size_t len, struct buf *text, struct err *e)
{
	const struct form_pair	*prev = NULL;
	struct form		 f;
	size_t			 i;

	if (form_parse(body, len, &f, e) == -1)
		return -1;
	for (i = 0; i < f.n; prev = &f.v[i], i++) {
		if (prev != NULL && prev->namelen == f.v[i].namelen &&
		    prev->valuelen == f.v[i].valuelen &&
		    memcmp(prev->name, f.v[i].name, prev->namelen) == 0 &&
		    memcmp(prev->value, f.v[i].value, prev->valuelen) == 0)
			continue;
		buf_add(text, f.v[i].name, f.v[i].namelen);
		buf_add(text, f.v[i].value, f.v[i].valuelen);
	}
	form_free(&f);
	return 0;
}

/* Twilio: the MAC of the URL followed by the form's sorted parameters;
 * a JSON body comes with ?bodySHA256=<hex>, covered by the URL, and
 * must have that SHA-256. */
static int
verify_twilio(const struct verify *v, const struct scheme *s,
    char *const *params, const char *body, size_t len,
    const struct offered *o, struct err *e)
{
	const struct form_pair	*hp;
	unsigned char		 want[CRYPTO_SHA256_LEN];
	unsigned char		 got[CRYPTO_SHA256_LEN];
	struct form		 q;
	struct buf		 u[2], text;
	const char		*query = param_get(params, "QUERY_STRING");
	size_t			 i;
	int			 ok = 0, n;

	memset(u, 0, sizeof(u));
	memset(&text, 0, sizeof(text));
	if (v->public_url == NULL)
		return err_set(e, "public_url is not set"), 0;
	if (form_parse(query ? query : "", query ? strlen(query) : 0, &q,
	    e) == -1)
		return 0;
	if ((hp = form_get(&q, "bodySHA256")) != NULL) {
		if (verify_hex_decode(hp->value, hp->valuelen, want,
		    sizeof(want)) != CRYPTO_SHA256_LEN ||
		    crypto_sha256(body, len, got) == -1 ||
		    !ct_memeq(want, got, sizeof(got))) {
			form_free(&q);
			return err_set(e, "bodySHA256 is not the body's "
			    "SHA-256"), 0;
		}
	} else if (twilio_form(body, len, &text, e) == -1) {
		form_free(&q);
		return 0;
	}
	form_free(&q);
	if (text.oom || (n = twilio_urls(v->public_url, query, u)) < 0)
		err_set(e, "out of memory");
	else {
		for (i = 0; i < (size_t)n; i++)
			ok |= match(v, s, o, u[i].p, u[i].len,
			    text.p != NULL ? text.p : "", text.len);
		if (!ok)
			err_set(e, "no signature matched");
	}
	buf_free(&u[0]);
	buf_free(&u[1]);
	buf_free(&text);
	return ok;
}

/* The string (or integer, as written) at a dotted path of the body. */
static const char *
body_str(json_object *root, const char *path)
{
	json_object *o = payload_get(root, path);

	if (o == NULL || !(json_object_is_type(o, json_type_string) ||
	    json_object_is_type(o, json_type_int)))
		return NULL;
	return json_object_get_string(o);
}

/* Mailgun: the JSON body's signature object; the MAC covers its
 * timestamp followed by its token. */
static int
verify_fields(const struct verify *v, const struct scheme *s,
    const char *body, size_t len, time_t now, struct err *e)
{
	const struct verify_row	*r = s->r;
	struct offered		 o;
	json_object		*root;
	const char		*ts, *token, *sig;
	long long		 t;
	char			 head[SIGNED_MAX];
	int			 ok = 0, n;

	if (payload_parse(body, len, PAYLOAD_MAX_DEPTH, &root, e) == -1)
		return 0;
	memset(&o, 0, sizeof(o));
	ts = body_str(root, r->body_ts);
	token = body_str(root, r->body_token);
	sig = body_str(root, r->body_sig);
	if (token == NULL || sig == NULL || !event_id_ok(token))
		err_set(e, "%s or %s missing, or not a token like an event id",
		    r->body_token, r->body_sig);
	else if (timestamp_ok(ts, now, v->tolerance, &t, e) &&
	    (n = snprintf(head, sizeof(head), "%lld", t)) > 0 &&
	    (size_t)n < sizeof(head)) {
		offer(&o, sig, strlen(sig), s->enc);
		ok = match(v, s, &o, head, (size_t)n, token, strlen(token));
		if (!ok)
			err_set(e, "no signature matched");
	}
	json_object_put(root);
	wipe(&o, sizeof(o));
	return ok;
}

int
verify_signature(const struct verify *v, char *const *params,
    const char *body, size_t len, time_t now, struct err *e)
{
	struct offered		 sym, asym;
	struct scheme		 s;
	const struct verify_row	*r;
	const char		*h, *id = "", *tsv = NULL;
	char			 head[SIGNED_MAX], ts[24];
	long long		 t = 0;
	int			 n, ok = 0;

	if (v->scheme == VERIFY_TOKEN)
		return err_set(e, "not a signature scheme"), 0;
	scheme_of(v, &s);
	r = s.r;
	if (r->recipe == VERIFY_R_BODY_FIELDS)
		return verify_fields(v, &s, body, len, now, e);
	h = s.sig_param[0] != '\0' ? param_get(params, s.sig_param) : NULL;
	if (h == NULL)
		return err_set(e, "signature header missing (%s)",
		    s.sig_name != NULL ? s.sig_name : "signature_header"), 0;
	if (r->recipe == VERIFY_R_TOKEN) {
		if (!auth_token_ok(&v->secrets, h))
			return err_set(e, "no token matched"), 0;
		return 1;
	}
	if (r->head != NULL && strstr(r->head, "{id}") != NULL) {
		id = header(params, r->id_header);
		if (id == NULL || *id == '\0' || strchr(id, '.') != NULL)
			return err_set(e, "%s missing, empty or holding a dot",
			    r->id_header), 0;
	}
	memset(&sym, 0, sizeof(sym));
	memset(&asym, 0, sizeof(asym));
	ts[0] = '\0';
	if (parse_header(&s, h, &sym, &asym, ts, sizeof(ts), e) == -1)
		goto out;
	if (r->ts == VERIFY_TS_HEADER)
		tsv = header(params, r->ts_header);
	else if (r->ts == VERIFY_TS_ITEM)
		tsv = ts[0] != '\0' ? ts : NULL;
	if (r->ts != VERIFY_TS_NONE &&
	    !timestamp_ok(tsv, now, v->tolerance, &t, e))
		goto out;
	if (r->recipe == VERIFY_R_URL_FORM) {
		ok = verify_twilio(v, &s, params, body, len, &sym, e);
		goto out;
	}
	if ((n = expand(r->head, id, t, head, sizeof(head))) < 0) {
		err_set(e, "%s too long", r->id_header ? r->id_header : "head");
		goto out;
	}
	ok = match(v, &s, &sym, head, (size_t)n, body, len);
	ok |= match_asym(v, &asym, head, (size_t)n, body, len, e);
	if (!ok)
		err_set(e, "no signature matched");
out:
	wipe(&sym, sizeof(sym));
	wipe(&asym, sizeof(asym));
	return ok;
}

int
verify_once(const struct verify *v, char *const *params, const char *body,
    size_t len, char *buf, size_t size)
{
	const struct verify_row	*r = verify_row(v->scheme);
	json_object		*root;
	const char		*token;
	struct err		 e;
	int			 rc = -1;

	(void)params;
	if (!(r->flags & VERIFY_F_ONCE))
		return 0;
	if (payload_parse(body, len, PAYLOAD_MAX_DEPTH, &root, &e) == -1)
		return -1;
	token = body_str(root, r->body_token);
	if (token != NULL && event_id_ok(token) && strlen(token) < size) {
		(void)snprintf(buf, size, "%s", token);
		rc = 1;
	}
	json_object_put(root);
	return rc;
}

static void
hex_of(const unsigned char *p, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
verify_hmac_hex(const struct verify *v, const char *text, size_t len,
    char *out)
{
	unsigned char	mac[CRYPTO_MAC_MAX];
	size_t		maclen;

	if (v->secrets.n == 0)
		return -1;
	maclen = crypto_hmac("SHA256", v->secrets.v[0].p, v->secrets.v[0].n,
	    text, len, "", 0, mac);
	if (maclen != CRYPTO_SHA256_LEN) {
		wipe(mac, sizeof(mac));
		return -1;
	}
	hex_of(mac, maclen, out);
	wipe(mac, sizeof(mac));
	return 0;
}

int
verify_sha256_hex(const void *p, size_t len, char *out)
{
	unsigned char d[CRYPTO_SHA256_LEN];

	if (crypto_sha256(p, len, d) == -1)
		return -1;
	hex_of(d, sizeof(d), out);
	return 0;
}

/*
 * The sender's side: verify_sign walks the same row verify_signature
 * reads (header names, head, hash, encoding, tags, separator, where the
 * timestamp goes), so that what hookpipe send signs and what the
 * receiver checks cannot drift apart.
 */

static void
b64_of(const unsigned char *p, size_t n, struct buf *out)
{
	static const char	digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long		w;
	size_t			i;

	for (i = 0; i < n; i += 3) {
		w = (unsigned long)p[i] << 16;
		if (i + 1 < n)
			w |= (unsigned long)p[i + 1] << 8;
		if (i + 2 < n)
			w |= p[i + 2];
		buf_putc(out, digits[w >> 18 & 63]);
		buf_putc(out, digits[w >> 12 & 63]);
		buf_putc(out, i + 1 < n ? digits[w >> 6 & 63] : '=');
		buf_putc(out, i + 2 < n ? digits[w & 63] : '=');
	}
}

static void
encode(const unsigned char *p, size_t n, enum verify_enc enc,
    struct buf *out)
{
	char hex[2 * MAC_MAX + 1];

	if (enc == VERIFY_BASE64) {
		b64_of(p, n, out);
		return;
	}
	hex_of(p, n < MAC_MAX ? n : MAC_MAX, hex);
	buf_puts(out, hex);
}

static int
add_header(struct verify_signed *out, const char *name, const char *value,
    struct err *e)
{
	struct buf *h;

	if (out->nhdr == VERIFY_SIGN_HEADERS)
		return err_set(e, "too many headers");
	h = &out->hdr[out->nhdr++];
	buf_printf(h, "%s: %s", name, value);
	return h->oom ? err_set(e, "out of memory") : 0;
}

/* The header a CGI name stands for: HTTP_X_SIGNATURE -> X-Signature
 * (the names are case-blind; '_' was '-'). */
static void
header_of_param(const char *param, char *out, size_t size)
{
	size_t	i;
	int	up = 1;

	if (strncmp(param, "HTTP_", 5) == 0)
		param += 5;
	for (i = 0; param[i] != '\0' && i + 1 < size; i++) {
		out[i] = param[i] == '_' ? '-' : up ? param[i] :
		    (char)tolower((unsigned char)param[i]);
		up = param[i] == '_';
	}
	out[i] = '\0';
}

/* Move the whsk_ secrets of v to privkeys, as 32-byte seeds. */
static int
take_privkeys(struct verify *v, struct err *e)
{
	unsigned char	 raw[64];
	struct token	*nv, *t;
	long		 n;
	size_t		 i, k;

	for (i = 0, k = 1; i < v->secrets.n; k++) {
		t = &v->secrets.v[i];
		if (strncmp(t->p, "whsk_", 5) != 0) {
			i++;
			continue;
		}
		n = verify_b64_decode(t->p + 5, strlen(t->p + 5), raw,
		    sizeof(raw));
		if (n != 32 && n != 64) {
			wipe(raw, sizeof(raw));
			return err_set(e, "secret %zu is not whsk_ followed "
			    "by the base64 of an Ed25519 private key (32 "
			    "bytes, or libsodium's 64)", k);
		}
		nv = reallocarray(v->privkeys.v, v->privkeys.n + 1,
		    sizeof(*nv));
		if (nv == NULL) {
			wipe(raw, sizeof(raw));
			return err_sys(e, "private key %zu", k);
		}
		v->privkeys.v = nv;
		nv[v->privkeys.n] = *t;
		wipe(nv[v->privkeys.n].p, t->n);
		memcpy(nv[v->privkeys.n].p, raw, CRYPTO_ED25519_KEY_LEN);
		nv[v->privkeys.n].n = CRYPTO_ED25519_KEY_LEN;
		wipe(nv[v->privkeys.n].pad, sizeof(t->pad));
		wipe(raw, sizeof(raw));
		v->privkeys.n++;
		memmove(t, t + 1, (v->secrets.n - i - 1) * sizeof(*t));
		v->secrets.n--;
	}
	return 0;
}

int
verify_sign_secrets(struct verify *v, struct err *e)
{
	if (!(verify_row(v->scheme)->flags & VERIFY_F_WHSEC))
		return 0;
	if (take_privkeys(v, e) == -1)
		return -1;
	return verify_decode_secrets(v, e);
}

void
verify_signed_free(struct verify_signed *out)
{
	size_t i;

	for (i = 0; i < VERIFY_SIGN_HEADERS; i++) {
		if (out->hdr[i].p != NULL)
			wipe(out->hdr[i].p, out->hdr[i].len);
		buf_free(&out->hdr[i]);
	}
	buf_free(&out->body);
	buf_free(&out->url);
	out->nhdr = 0;
}

/* Set the string at a dotted path, making the objects on the way. */
static int
set_path(json_object *root, const char *path, const char *value)
{
	json_object	*o = root, *next;
	const char	*dot;
	char		 key[128];
	size_t		 n;

	for (;;) {
		dot = strchr(path, '.');
		n = dot != NULL ? (size_t)(dot - path) : strlen(path);
		if (n == 0 || n >= sizeof(key) ||
		    !json_object_is_type(o, json_type_object))
			return -1;
		memcpy(key, path, n);
		key[n] = '\0';
		if (dot == NULL)
			return json_object_object_add(o, key,
			    json_object_new_string(value));
		if (!json_object_object_get_ex(o, key, &next)) {
			next = json_object_new_object();
			if (json_object_object_add(o, key, next) != 0)
				return -1;
		}
		o = next;
		path = dot + 1;
	}
}

/* The first member name of a dotted path, in key (128 bytes). */
static void
first_key(const char *path, char *key)
{
	size_t n = strcspn(path, ".");

	(void)snprintf(key, 128, "%.*s", (int)(n < 127 ? n : 127), path);
}

/*
 * Mailgun: the signature object goes into the body. Where the body has
 * none of the row's top-level members, the object's members are written
 * after the body's opening brace, and the rest of the body stays byte
 * for byte as given; else the body is rewritten by json-c.
 */
static int
sign_fields(const struct verify *v, const struct scheme *s,
    const struct verify_req *in, struct verify_signed *out, struct err *e)
{
	const struct verify_row	*r = s->r;
	json_object		*root = NULL, *sig = NULL, *tgt;
	unsigned char		 mac[MAC_MAX];
	struct buf		 hex = { 0 };
	const char		*text, *brace;
	char			 ts[24], token[51], key[128];
	size_t			 maclen;
	int			 rc = -1, whole = 0;

	if (payload_parse(in->body, in->len, PAYLOAD_MAX_DEPTH, &root, e) ==
	    -1)
		return -1;
	if (!json_object_is_type(root, json_type_object)) {
		err_set(e, "the body is not a JSON object: %s signs into it",
		    verify_scheme_name(v->scheme));
		goto fail;
	}
	(void)snprintf(ts, sizeof(ts), "%lld", in->ts);
	if (random_hex(token, 25) == -1) {
		err_sys(e, "random token");
		goto fail;
	}
	maclen = crypto_hmac(s->digest, v->secrets.v[0].p, v->secrets.v[0].n,
	    ts, strlen(ts), token, strlen(token), mac);
	if (maclen == 0) {
		err_set(e, "HMAC failed (libcrypto)");
		goto fail;
	}
	encode(mac, maclen, s->enc, &hex);
	first_key(r->body_ts, key);
	whole |= json_object_object_get_ex(root, key, NULL);
	first_key(r->body_token, key);
	whole |= json_object_object_get_ex(root, key, NULL);
	first_key(r->body_sig, key);
	whole |= json_object_object_get_ex(root, key, NULL);
	tgt = whole ? root : (sig = json_object_new_object());
	if (tgt == NULL || set_path(tgt, r->body_ts, ts) != 0 ||
	    set_path(tgt, r->body_token, token) != 0 ||
	    set_path(tgt, r->body_sig, buf_cstr(&hex)) != 0) {
		err_set(e, "unable to write the signature into the body");
		goto fail;
	}
	text = json_object_to_json_string_ext(tgt, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	buf_reset(&out->body);
	if (whole)
		buf_puts(&out->body, text);
	else {
		/* {"signature":{...}} without its braces, after the body's. */
		brace = memchr(in->body, '{', in->len);
		buf_add(&out->body, in->body, (size_t)(brace - in->body) + 1);
		buf_add(&out->body, text + 1, strlen(text) - 2);
		if (json_object_object_length(root) > 0)
			buf_putc(&out->body, ',');
		buf_add(&out->body, brace + 1,
		    in->len - (size_t)(brace + 1 - in->body));
	}
	rc = out->body.oom ? err_set(e, "out of memory") : 0;
fail:
	wipe(mac, sizeof(mac));
	buf_free(&hex);
	json_object_put(sig);
	json_object_put(root);
	return rc;
}

/* Twilio: the URL (a JSON body's SHA-256 added to its query as
 * bodySHA256) followed by the sorted form, into text; the URL to post
 * to into out->url. */
static int
sign_twilio_text(const struct verify_req *in, struct verify_signed *out,
    struct buf *text, struct err *e)
{
	char hash[2 * CRYPTO_SHA256_LEN + 1];

	if (in->url == NULL || strncmp(in->url, "http", 4) != 0)
		return err_set(e, "twilio signs the URL: none given");
	if (!in->form) {
		if (verify_sha256_hex(in->body, in->len, hash) == -1)
			return err_set(e, "SHA-256 failed (libcrypto)");
		buf_printf(&out->url, "%cbodySHA256=%s",
		    strchr(in->url, '?') != NULL ? '&' : '?', hash);
	}
	buf_add(text, out->url.p, out->url.len);
	if (in->form && twilio_form(in->body, in->len, text, e) == -1)
		return -1;
	return text->oom || out->url.oom ? err_set(e, "out of memory") : 0;
}

/* The signature header's value: the timestamp item, the HMAC of the
 * first secret over a || b, the Ed25519 signature of the first private
 * key, each with its tag, separated as the row says. */
static int
sign_value(const struct verify *v, const struct scheme *s,
    const char *ts, const char *a, size_t alen, const char *b, size_t blen,
    struct buf *val, struct err *e)
{
	const struct verify_row	*r = s->r;
	unsigned char		 mac[MAC_MAX], *msg;
	size_t			 maclen;

	if (r->ts == VERIFY_TS_ITEM)
		buf_printf(val, "%s%s%c", r->ts_tag, ts, r->sep);
	if (v->secrets.n > 0) {
		maclen = crypto_hmac(s->digest, v->secrets.v[0].p,
		    v->secrets.v[0].n, a, alen, b, blen, mac);
		if (maclen == 0)
			return err_set(e, "HMAC failed (libcrypto)");
		buf_puts(val, s->sig_tag != NULL ? s->sig_tag : "");
		encode(mac, maclen, s->enc, val);
		wipe(mac, sizeof(mac));
	}
	if (v->privkeys.n > 0 && r->asym_tag != NULL) {
		if ((msg = malloc(alen + blen + 1)) == NULL)
			return err_sys(e, "Ed25519 message");
		memcpy(msg, a, alen);
		memcpy(msg + alen, b, blen);
		if (crypto_ed25519_sign((const unsigned char *)
		    v->privkeys.v[0].p, msg, alen + blen, mac) == -1) {
			free(msg);
			return err_set(e, "Ed25519 signing failed (libcrypto)");
		}
		free(msg);
		if (v->secrets.n > 0)
			buf_putc(val, r->sep);
		buf_puts(val, r->asym_tag);
		encode(mac, CRYPTO_ED25519_SIG_LEN, VERIFY_BASE64, val);
	}
	return val->oom ? err_set(e, "out of memory") : 0;
}

static int
sign_request(const struct verify *v, const struct verify_req *in,
    struct verify_signed *out, struct err *e)
{
	const struct verify_row	*r;
	struct scheme		 s;
	struct buf		 val = { 0 }, text = { 0 };
	const char		*id = in->id, *a;
	char			 ts[24], idbuf[40], name[PARAM_MAX];
	char			 head[SIGNED_MAX];
	size_t			 alen;
	int			 n, rc = -1;

	memset(out, 0, sizeof(*out));
	scheme_of(v, &s);
	r = s.r;
	buf_add(&out->body, in->body, in->len);
	buf_puts(&out->url, in->url != NULL ? in->url : "");
	if (v->secrets.n == 0 && (v->privkeys.n == 0 || r->asym_tag == NULL))
		return err_set(e, "no secret to sign with%s",
		    v->pubkeys.n > 0 ? " (a whpk_ public key only verifies: "
		    "give the whsk_ private key)" : "");
	if (s.sig_param[0] != '\0')
		header_of_param(s.sig_param, name, sizeof(name));
	else
		(void)snprintf(name, sizeof(name), "%s", in->token_header ?
		    in->token_header : "x-auth-token");
	if (r->recipe == VERIFY_R_TOKEN)
		return add_header(out, name, v->secrets.v[0].p, e);
	if (r->recipe == VERIFY_R_BODY_FIELDS)
		return sign_fields(v, &s, in, out, e);
	(void)snprintf(ts, sizeof(ts), "%lld", in->ts);
	if (r->ts == VERIFY_TS_HEADER &&
	    add_header(out, r->ts_header, ts, e) == -1)
		goto fail;
	if (r->head != NULL && strstr(r->head, "{id}") != NULL) {
		if (id == NULL) {
			memcpy(idbuf, "msg_", 4);
			if (random_hex(idbuf + 4, 12) == -1) {
				err_sys(e, "random id");
				goto fail;
			}
			id = idbuf;
		}
		if (*id == '\0' || strchr(id, '.') != NULL) {
			err_set(e, "%s '%s' is empty or holds a dot",
			    r->id_header, id);
			goto fail;
		}
		if (add_header(out, r->id_header, id, e) == -1)
			goto fail;
	}
	if (r->recipe == VERIFY_R_URL_FORM) {
		if (sign_twilio_text(in, out, &text, e) == -1)
			goto fail;
		a = text.p;
		alen = text.len;
	} else if ((n = expand(r->head, id, in->ts, head, sizeof(head))) <
	    0) {
		err_set(e, "%s too long", r->id_header);
		goto fail;
	} else {
		a = head;
		alen = (size_t)n;
	}
	if (r->recipe == VERIFY_R_URL_FORM)
		rc = sign_value(v, &s, ts, a, alen, "", 0, &val, e);
	else
		rc = sign_value(v, &s, ts, a, alen, in->body, in->len, &val, e);
	if (rc == 0)
		rc = add_header(out, name, buf_cstr(&val), e);
fail:
	buf_free(&val);
	buf_free(&text);
	return rc;
}

int
verify_sign(const struct verify *v, const struct verify_req *in,
    struct verify_signed *out, struct err *e)
{
	if (sign_request(v, in, out, e) == 0)
		return 0;
	verify_signed_free(out);
	return -1;
}
