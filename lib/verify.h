/* verify: request authentication on the raw body, before any parsing:
 * the shared-secret token and the HMAC signature schemes senders use. */
#ifndef HOOKPIPE_VERIFY_H
#define HOOKPIPE_VERIFY_H

#include <stddef.h>
#include <time.h>

#include "auth.h"
#include "util.h"

enum verify_scheme {
	VERIFY_TOKEN,		/* a shared secret in a header */
	VERIFY_STDWH,		/* Standard Webhooks (webhook-id/-timestamp/-signature) */
	VERIFY_GITHUB,		/* X-Hub-Signature-256: sha256=<hex> */
	VERIFY_STRIPE,		/* Stripe-Signature: t=...,v1=<hex>... */
	VERIFY_HMAC		/* a header, sha256|sha512, hex|base64, prefix */
};

enum verify_alg { VERIFY_SHA256, VERIFY_SHA512 };
enum verify_enc { VERIFY_HEX, VERIFY_BASE64 };

struct verify {
	enum verify_scheme	 scheme;
	struct tokens		 secrets;	/* raw key bytes, rotation: several */
	long			 tolerance;	/* seconds, for timestamped schemes */
	char			 param[160];	/* CGI name of the signature header */
	enum verify_alg		 alg;
	enum verify_enc		 enc;
	char			*prefix;	/* before the signature, e.g. sha256= */
};

/* The scheme names, in enum order, NULL-terminated. */
extern const char *const verify_schemes[];
/* "token", "standard-webhooks", ... -> scheme; -1 when unknown. */
int	verify_scheme_parse(const char *);
const char *verify_scheme_name(enum verify_scheme);
/* Standard Webhooks secrets are "whsec_" + base64: decode them in place. */
int	verify_decode_secrets(struct verify *, struct err *);
/* Ready a scheme when the configuration is loaded: libcrypto mapped (a
 * missing one is then a configuration error, and no request waits for a
 * dlopen), the secrets decoded. 0; -1 when libcrypto cannot be loaded,
 * -2 when a secret does not decode; the reason in err. */
int	verify_load(struct verify *, struct err *);
/* 1 when the request carries a valid signature by one of the secrets
 * (and, where the scheme has one, a timestamp within tolerance of now);
 * 0 otherwise, with the reason (for the log, never the client) in err. */
int	verify_signature(const struct verify *, char *const *, const char *,
	    size_t, time_t, struct err *);
/* Decoders, exported for the tests: bytes written, or -1. */
long	verify_hex_decode(const char *, size_t, unsigned char *, size_t);
long	verify_b64_decode(const char *, size_t, unsigned char *, size_t);

#endif
