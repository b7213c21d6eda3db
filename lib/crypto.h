/* crypto: the few libcrypto calls the signature schemes make, through
 * dlopen (unless built --with-crypto=link), so that a responder whose
 * configuration names no scheme never maps libcrypto. */
#ifndef HOOKPIPE_CRYPTO_H
#define HOOKPIPE_CRYPTO_H

#include <stddef.h>

#include "util.h"

#define CRYPTO_MAC_MAX		64	/* SHA-512, and an Ed25519 signature */
#define CRYPTO_SHA256_LEN	32
#define CRYPTO_ED25519_KEY_LEN	32
#define CRYPTO_ED25519_SIG_LEN	64

/* Load libcrypto and resolve what the other calls need, once; 0, or -1
 * with the library, dlerror() and the remedy in err. Call it when a
 * configuration is loaded: requests must not be the first to need it. */
int	crypto_load(struct err *);
/* 1 when crypto_load succeeded (always in a --with-crypto=link build). */
int	crypto_ready(void);
/* HMAC with the digest named ("SHA1", "SHA256", "SHA512") of a || b
 * into mac (at least CRYPTO_MAC_MAX bytes); the MAC's length, or 0 on
 * failure or before crypto_load. */
size_t	crypto_hmac(const char *, const void *, size_t, const void *, size_t,
	    const void *, size_t, unsigned char *);
/* SHA-256 of the bytes into md (CRYPTO_SHA256_LEN); 0, or -1. */
int	crypto_sha256(const void *, size_t, unsigned char *);
/* 1 when sig is the Ed25519 signature of msg by the raw public key pub
 * (CRYPTO_ED25519_KEY_LEN bytes); 0 otherwise, or before crypto_load. */
int	crypto_ed25519_verify(const unsigned char *, const unsigned char *,
	    size_t, const void *, size_t);
/* The Ed25519 signature (CRYPTO_ED25519_SIG_LEN bytes) of msg by the
 * raw private key seed (CRYPTO_ED25519_KEY_LEN bytes): 0, or -1. */
int	crypto_ed25519_sign(const unsigned char *, const void *, size_t,
	    unsigned char *);
/* EVP_DecodeBlock: n base64 characters (n % 4 == 0) into out (n / 4 * 3
 * bytes), padding counted as zero bytes; the bytes written, or -1. */
int	crypto_b64_block(unsigned char *, const char *, int);

#endif
