/* verify: request authentication on the raw body, before any parsing:
 * the shared-secret token and the signature schemes senders use, each
 * scheme one row of a table (lib/verify.c) that says which headers it
 * reads, what it signs and how, and where its events name themselves. */
#ifndef HOOKPIPE_VERIFY_H
#define HOOKPIPE_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "buf.h"
#include "util.h"

enum verify_scheme {
	VERIFY_TOKEN,		/* a shared secret in a header */
	VERIFY_STDWH,		/* Standard Webhooks: webhook-id, -timestamp,
				   -signature */
	VERIFY_GITHUB,		/* X-Hub-Signature-256: sha256=<hex> */
	VERIFY_STRIPE,		/* Stripe-Signature: t=...,v1=<hex>... */
	VERIFY_HMAC,		/* a header, sha256|sha512, hex|base64,
				   prefix */
	VERIFY_SHOPIFY,		/* X-Shopify-Hmac-Sha256: <base64> */
	VERIFY_SLACK,		/* X-Slack-Signature: v0=<hex> */
	VERIFY_TWILIO,		/* X-Twilio-Signature: URL + form, SHA-1 */
	VERIFY_GITLAB,		/* X-Gitlab-Token: the secret itself */
	VERIFY_PADDLE,		/* Paddle-Signature: ts=...;h1=<hex> */
	VERIFY_ZOOM,		/* x-zm-signature: v0=<hex> */
	VERIFY_META,		/* X-Hub-Signature-256, the app secret */
	VERIFY_MAILGUN,		/* the body's signature object */
	VERIFY_SVIX,		/* Standard Webhooks under svix-* names */
	VERIFY_NSCHEMES
};

/* The first two are the values of algorithm = in their order. */
enum verify_alg { VERIFY_SHA256, VERIFY_SHA512, VERIFY_SHA1 };
enum verify_enc { VERIFY_HEX, VERIFY_BASE64 };

/* What a scheme's MAC covers. */
enum verify_recipe {
	VERIFY_R_TOKEN,		/* nothing: the header holds a secret itself,
				   compared in constant time */
	VERIFY_R_BODY,		/* the row's head (with {id} and {ts} filled
				   in) followed by the raw body */
	VERIFY_R_URL_FORM,	/* public_url, '?' and QUERY_STRING, then each
				   form parameter's name and value, sorted; a
				   body sent with ?bodySHA256= (JSON) instead
				   has that SHA-256 */
	VERIFY_R_BODY_FIELDS	/* the timestamp then the token, both read
				   from the JSON body, as is the signature */
};

/* Where a scheme's timestamp is. */
enum verify_ts {
	VERIFY_TS_NONE,
	VERIFY_TS_HEADER,	/* ts_header */
	VERIFY_TS_ITEM,		/* the item of the signature list after ts_tag */
	VERIFY_TS_BODY		/* the JSON body's field body_ts */
};

/* The [auth] keys that only some schemes use. A row says which it takes
 * (keys) and which it must have (needs); hookpipe check refuses the
 * others, so that a key is never silently ignored. */
#define VERIFY_K_HEADER		0x01
#define VERIFY_K_SIGHEADER	0x02
#define VERIFY_K_ALGORITHM	0x04
#define VERIFY_K_ENCODING	0x08
#define VERIFY_K_PREFIX		0x10
#define VERIFY_K_TOLERANCE	0x20
#define VERIFY_K_PUBLIC_URL	0x40

struct verify_key {
	const char	*name;		/* the INI key */
	unsigned	 bit;		/* VERIFY_K_* */
	const char	*what;		/* what it says, for "needs" errors */
};
/* Those keys, NULL-name-terminated. */
extern const struct verify_key verify_keys[];

#define VERIFY_F_WHSEC	0x1	/* secrets are whsec_ + base64; whpk_ ones
				   are Ed25519 public keys (v1a) */
#define VERIFY_F_ONCE	0x2	/* a value of the request is to be accepted
				   once only: verify_once() */

#define VERIFY_SOURCES	3

/* One scheme. Header names are as HTTP writes them. */
struct verify_row {
	const char	*sig_header;	/* the signature; NULL: signature_header */
	const char	*ts_header;	/* VERIFY_TS_HEADER's */
	const char	*id_header;	/* the id that {id} stands for */
	enum verify_recipe recipe;
	const char	*head;		/* VERIFY_R_BODY: before the body, e.g.
					   "{id}.{ts}." or "v0:{ts}:" */
	enum verify_alg	 alg;		/* the HMAC's hash */
	enum verify_enc	 enc;		/* how each signature is written */
	char		 sep;		/* between the items of the signature
					   header; 0: the header is one item */
	const char	*sig_tag;	/* before each signature: "sha256=",
					   "v0=", "v1=", "h1=", "v1,"; NULL: none
					   (or prefix = for hmac) */
	const char	*asym_tag;	/* before each Ed25519 signature
					   ("v1a,"), base64; NULL: none */
	enum verify_ts	 ts;
	const char	*ts_tag;	/* VERIFY_TS_ITEM: "t=", "ts=" */
	const char	*body_ts;	/* VERIFY_R_BODY_FIELDS: dotted paths */
	const char	*body_token;
	const char	*body_sig;
	long		 tolerance;	/* default seconds, with a timestamp */
	unsigned	 keys;		/* VERIFY_K_* it takes */
	unsigned	 needs;		/* VERIFY_K_* it must have */
	unsigned	 flags;		/* VERIFY_F_* */
	/* Where the event name and the event id are, in order of
	 * preference, NULL-terminated: "header:NAME", a dotted JSON path,
	 * "=NAME" a fixed name, "hash:" a hash of the raw body, "hash:PATH"
	 * a hash of that member. The first is the default of event_field
	 * and id_field where it is a header or a path; hookpipe.fcgi reads
	 * only those for now (the others are for the receiver to add). */
	const char	*event[VERIFY_SOURCES];
	const char	*id[VERIFY_SOURCES];
	/* Meta: the event name is event[0]'s value, a dot and this path's
	 * (arrays indexed by number), like "page.feed", while event_field
	 * is event[0]; event[0]'s alone where the path holds no string. */
	const char	*event_suffix;
};

struct verify {
	enum verify_scheme	 scheme;
	struct tokens		 secrets;	/* raw key bytes, rotation: several */
	struct tokens		 pubkeys;	/* Ed25519 public keys (whpk_) */
	struct tokens		 privkeys;	/* Ed25519 private keys (whsk_),
						   sender side only */
	long			 tolerance;	/* seconds, for timestamped schemes */
	char			 param[160];	/* CGI name of signature_header */
	enum verify_alg		 alg;		/* algorithm = (hmac) */
	enum verify_enc		 enc;		/* encoding = (hmac) */
	char			*prefix;	/* prefix = (hmac, github) */
	char			*public_url;	/* public_url = (twilio) */
};

/* The scheme names, in enum order, NULL-terminated: row s is named
 * verify_schemes[s]. */
extern const char *const verify_schemes[];
/* "token", "standard-webhooks", ... -> scheme; -1 when unknown. */
int	verify_scheme_parse(const char *);
const char *verify_scheme_name(enum verify_scheme);
/* The row of a scheme. */
const struct verify_row *verify_row(enum verify_scheme);
/* Standard Webhooks and Svix secrets are "whsec_" + base64: decode them
 * in place; "whpk_" + base64 ones move to pubkeys. */
int	verify_decode_secrets(struct verify *, struct err *);
/* 1 when the text is a URL public_url may hold (http:// or https://, a
 * host, no query, fragment, space or control character); 0 with the
 * reason in err. */
int	verify_url_ok(const char *, struct err *);
/* Ready a scheme when the configuration is loaded: libcrypto mapped (a
 * missing one is then a configuration error, and no request waits for a
 * dlopen), the secrets decoded. 0; -1 when libcrypto cannot be loaded,
 * -2 when a secret does not decode; the reason in err. */
int	verify_load(struct verify *, struct err *);
/* Wipe the secrets and free what the struct holds. */
void	verify_free(struct verify *);
/* 1 when the request carries a valid signature by one of the secrets
 * (and, where the scheme has one, a timestamp within tolerance of now);
 * 0 otherwise, with the reason (for the log, never the client) in err. */
int	verify_signature(const struct verify *, char *const *, const char *,
	    size_t, time_t, struct err *);
/* For a VERIFY_F_ONCE scheme (mailgun: signature.token), the value that
 * must not be accepted twice, into buf: 1; 0 when the scheme has none;
 * -1 when the request lacks it. Call it once verify_signature accepted
 * the request; the caller keeps the values for the tolerance and
 * refuses a request whose value it has kept. */
int	verify_once(const struct verify *, char *const *, const char *,
	    size_t, char *, size_t);
/* HMAC-SHA256 of the text under the first secret, as 64 hex digits + NUL
 * (Zoom's endpoint.url_validation answer): 0, or -1. */
int	verify_hmac_hex(const struct verify *, const char *, size_t, char *);
/* SHA-256 of the bytes as 64 hex digits + NUL (an id from a body hash):
 * 0, or -1 when libcrypto is not loaded. */
int	verify_sha256_hex(const void *, size_t, char *);
/* Decoders, exported for the tests: bytes written, or -1. */
long	verify_hex_decode(const char *, size_t, unsigned char *, size_t);
long	verify_b64_decode(const char *, size_t, unsigned char *, size_t);

/* What verify_sign is to sign: a request as its sender would post it. */
struct verify_req {
	const char	*body;
	size_t		 len;
	const char	*url;		/* where it goes; Twilio signs it */
	int		 form;		/* the body is a form (Twilio) */
	const char	*id;		/* the row's {id}; NULL: one is made */
	long long	 ts;		/* the timestamp signed */
	const char	*token_header;	/* the header of verify = token */
};

#define VERIFY_SIGN_HEADERS	4
/* The request signed: headers to add, and the body and URL to post
 * (changed where the scheme signs into them: Mailgun, Twilio). */
struct verify_signed {
	struct buf	 hdr[VERIFY_SIGN_HEADERS];	/* "Name: value" */
	size_t		 nhdr;
	struct buf	 body;
	struct buf	 url;
};

/* Sender side of verify_decode_secrets: "whsk_" + base64 Ed25519
 * private keys (a 32-byte seed, or libsodium's 64 bytes) move to
 * privkeys; whsec_ ones decode. */
int	verify_sign_secrets(struct verify *, struct err *);
/* Sign a request as the scheme's sender does, walking the same row
 * verify_signature reads, with the first secret (and, for v1a, the
 * first private key): 0, or -1 with the reason in err. */
int	verify_sign(const struct verify *, const struct verify_req *,
	    struct verify_signed *, struct err *);
/* Wipe and free what verify_sign made. */
void	verify_signed_free(struct verify_signed *);

#endif
