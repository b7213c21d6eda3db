/* crypto: the few libcrypto calls the signature schemes make, through
 * dlopen (unless built --with-crypto=link), so that a responder whose
 * configuration names no scheme never maps libcrypto. */
#ifndef HOOKPIPE_CRYPTO_H
#define HOOKPIPE_CRYPTO_H

#include <stddef.h>

#include "util.h"

#define CRYPTO_MAC_MAX	64	/* SHA-512 */

/* Load libcrypto and resolve what the other calls need, once; 0, or -1
 * with the library, dlerror() and the remedy in err. Call it when a
 * configuration is loaded: requests must not be the first to need it. */
int	crypto_load(struct err *);
/* 1 when crypto_load succeeded (always in a --with-crypto=link build). */
int	crypto_ready(void);
/* HMAC with SHA-256 (sha512 0) or SHA-512 (1) of a || b into mac (at
 * least CRYPTO_MAC_MAX bytes); the MAC's length, or 0 on failure or
 * before crypto_load. */
size_t	crypto_hmac(int, const void *, size_t, const void *, size_t,
	    const void *, size_t, unsigned char *);
/* EVP_DecodeBlock: n base64 characters (n % 4 == 0) into out (n / 4 * 3
 * bytes), padding counted as zero bytes; the bytes written, or -1. */
int	crypto_b64_block(unsigned char *, const char *, int);

#endif
