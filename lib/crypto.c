/* crypto: HMAC, SHA-256, Ed25519 and base64 blocks from libcrypto for
 * lib/verify.c (Ed25519 signing for hookpipe send only). A
 * linked libcrypto costs every responder 1.4 MiB of resident pages
 * (relocations and constructors run at start-up) though the shared token
 * needs none of it; so, by default, it is loaded with dlopen when a
 * configuration names a signature scheme, and the responder of a token
 * configuration never maps it. --with-crypto=link links it instead (a
 * static build cannot dlopen). Either way the calls go through one table. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#ifdef CRYPTO_DLOPEN
#include <dlfcn.h>
#endif

#include <openssl/evp.h>
#include <openssl/params.h>

#include "crypto.h"

#ifndef CRYPTO_SONAME
#define CRYPTO_SONAME	"libcrypto.so.3"
#endif

/* The prototypes come from the OpenSSL headers, so a resolved symbol is
 * called with the very type the library declares. */
struct fns {
	__typeof__(EVP_MAC_fetch)			*mac_fetch;
	__typeof__(EVP_MAC_free)			*mac_free;
	__typeof__(EVP_MAC_CTX_new)			*ctx_new;
	__typeof__(EVP_MAC_CTX_free)			*ctx_free;
	__typeof__(EVP_MAC_init)			*init;
	__typeof__(EVP_MAC_update)			*update;
	__typeof__(EVP_MAC_final)			*final;
	__typeof__(OSSL_PARAM_construct_utf8_string)	*param_utf8;
	__typeof__(OSSL_PARAM_construct_end)		*param_end;
	__typeof__(EVP_DecodeBlock)			*decode_block;
	__typeof__(EVP_Digest)				*digest;
	__typeof__(EVP_sha256)				*sha256;
	__typeof__(EVP_PKEY_new_raw_public_key)		*pkey_raw_public;
	__typeof__(EVP_PKEY_free)			*pkey_free;
	__typeof__(EVP_MD_CTX_new)			*md_ctx_new;
	__typeof__(EVP_MD_CTX_free)			*md_ctx_free;
	__typeof__(EVP_DigestVerifyInit)		*verify_init;
	__typeof__(EVP_DigestVerify)			*verify;
	__typeof__(EVP_PKEY_new_raw_private_key)	*pkey_raw_private;
	__typeof__(EVP_DigestSignInit)			*sign_init;
	__typeof__(EVP_DigestSign)			*sign;
};

#ifdef CRYPTO_DLOPEN
_Static_assert(sizeof(void *) == sizeof(void (*)(void)),
    "dlsym's void * must hold a function pointer");

static struct fns	 fn;
static int		 ready;

static const struct {
	const char	*name;
	size_t		 off;
} syms[] = {
	{ "EVP_MAC_fetch", offsetof(struct fns, mac_fetch) },
	{ "EVP_MAC_free", offsetof(struct fns, mac_free) },
	{ "EVP_MAC_CTX_new", offsetof(struct fns, ctx_new) },
	{ "EVP_MAC_CTX_free", offsetof(struct fns, ctx_free) },
	{ "EVP_MAC_init", offsetof(struct fns, init) },
	{ "EVP_MAC_update", offsetof(struct fns, update) },
	{ "EVP_MAC_final", offsetof(struct fns, final) },
	{ "OSSL_PARAM_construct_utf8_string",
	    offsetof(struct fns, param_utf8) },
	{ "OSSL_PARAM_construct_end", offsetof(struct fns, param_end) },
	{ "EVP_DecodeBlock", offsetof(struct fns, decode_block) },
	{ "EVP_Digest", offsetof(struct fns, digest) },
	{ "EVP_sha256", offsetof(struct fns, sha256) },
	{ "EVP_PKEY_new_raw_public_key",
	    offsetof(struct fns, pkey_raw_public) },
	{ "EVP_PKEY_free", offsetof(struct fns, pkey_free) },
	{ "EVP_MD_CTX_new", offsetof(struct fns, md_ctx_new) },
	{ "EVP_MD_CTX_free", offsetof(struct fns, md_ctx_free) },
	{ "EVP_DigestVerifyInit", offsetof(struct fns, verify_init) },
	{ "EVP_DigestVerify", offsetof(struct fns, verify) },
	{ "EVP_PKEY_new_raw_private_key",
	    offsetof(struct fns, pkey_raw_private) },
	{ "EVP_DigestSignInit", offsetof(struct fns, sign_init) },
	{ "EVP_DigestSign", offsetof(struct fns, sign) },
};

int
crypto_load(struct err *e)
{
	struct fns	 got;
	const char	*why;
	void		*h, *p;
	size_t		 i;

	if (ready)
		return 0;
	/* RTLD_NOW: a missing symbol shows here, not in a request. The
	 * handle stays open for the life of the process. */
	if ((h = dlopen(CRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		why = dlerror();
		return err_set(e, "cannot load %s (%s): the signature "
		    "schemes need it: install it with 'apt-get install "
		    "libssl3', or use a shared token (verify = token)",
		    CRYPTO_SONAME, why != NULL ? why : "dlopen failed");
	}
	memset(&got, 0, sizeof(got));
	for (i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		(void)dlerror();
		if ((p = dlsym(h, syms[i].name)) == NULL) {
			why = dlerror();
			err_set(e, "%s has no %s (%s): the signature schemes "
			    "need OpenSSL 3: install it with 'apt-get install "
			    "libssl3'", CRYPTO_SONAME, syms[i].name,
			    why != NULL ? why : "dlsym failed");
			(void)dlclose(h);
			return -1;
		}
		/* POSIX: a void * holds a function's address (dlsym). */
		memcpy((char *)&got + syms[i].off, &p, sizeof(p));
	}
	fn = got;
	ready = 1;
	return 0;
}

int
crypto_ready(void)
{
	return ready;
}
#else
static const struct fns fn = {
	EVP_MAC_fetch, EVP_MAC_free, EVP_MAC_CTX_new, EVP_MAC_CTX_free,
	EVP_MAC_init, EVP_MAC_update, EVP_MAC_final,
	OSSL_PARAM_construct_utf8_string, OSSL_PARAM_construct_end,
	EVP_DecodeBlock, EVP_Digest, EVP_sha256, EVP_PKEY_new_raw_public_key,
	EVP_PKEY_free, EVP_MD_CTX_new, EVP_MD_CTX_free, EVP_DigestVerifyInit,
	EVP_DigestVerify, EVP_PKEY_new_raw_private_key, EVP_DigestSignInit,
	EVP_DigestSign
};
static const int ready = 1;

int
crypto_load(struct err *e)
{
	(void)e;
	return 0;
}

int
crypto_ready(void)
{
	return 1;
}
#endif

size_t
crypto_hmac(const char *digest, const void *key, size_t keylen,
    const void *a, size_t alen, const void *b, size_t blen,
    unsigned char *mac)
{
	OSSL_PARAM	 params[2];
	EVP_MAC		*hmac;
	EVP_MAC_CTX	*ctx = NULL;
	size_t		 maclen = 0;

	if (!ready)
		return 0;
	params[0] = fn.param_utf8("digest", (char *)(uintptr_t)digest, 0);
	params[1] = fn.param_end();
	if ((hmac = fn.mac_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = fn.ctx_new(hmac)) == NULL ||
	    fn.init(ctx, key, keylen, params) != 1 ||
	    (alen > 0 && fn.update(ctx, a, alen) != 1) ||
	    fn.update(ctx, b, blen) != 1 ||
	    fn.final(ctx, mac, &maclen, CRYPTO_MAC_MAX) != 1)
		maclen = 0;
	if (ctx != NULL)
		fn.ctx_free(ctx);
	if (hmac != NULL)
		fn.mac_free(hmac);
	return maclen;
}

int
crypto_sha256(const void *p, size_t n, unsigned char *md)
{
	unsigned int len = 0;

	if (!ready || fn.digest(p, n, md, &len, fn.sha256(), NULL) != 1 ||
	    len != CRYPTO_SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_ed25519_verify(const unsigned char *pub, const unsigned char *sig,
    size_t siglen, const void *msg, size_t len)
{
	EVP_PKEY	*key;
	EVP_MD_CTX	*ctx;
	int		 ok = 0;

	if (!ready || siglen != CRYPTO_ED25519_SIG_LEN)
		return 0;
	if ((key = fn.pkey_raw_public(EVP_PKEY_ED25519, NULL, pub,
	    CRYPTO_ED25519_KEY_LEN)) == NULL)
		return 0;
	/* Ed25519 is one-shot: no digest to name, the message whole. */
	if ((ctx = fn.md_ctx_new()) != NULL &&
	    fn.verify_init(ctx, NULL, NULL, NULL, key) == 1)
		ok = fn.verify(ctx, sig, siglen, msg, len) == 1;
	if (ctx != NULL)
		fn.md_ctx_free(ctx);
	fn.pkey_free(key);
	return ok;
}

int
crypto_ed25519_sign(const unsigned char *seed, const void *msg, size_t len,
    unsigned char *sig)
{
	EVP_PKEY	*key;
	EVP_MD_CTX	*ctx;
	size_t		 siglen = CRYPTO_ED25519_SIG_LEN;
	int		 rc = -1;

	if (!ready || (key = fn.pkey_raw_private(EVP_PKEY_ED25519, NULL, seed,
	    CRYPTO_ED25519_KEY_LEN)) == NULL)
		return -1;
	if ((ctx = fn.md_ctx_new()) != NULL &&
	    fn.sign_init(ctx, NULL, NULL, NULL, key) == 1 &&
	    fn.sign(ctx, sig, &siglen, msg, len) == 1 &&
	    siglen == CRYPTO_ED25519_SIG_LEN)
		rc = 0;
	if (ctx != NULL)
		fn.md_ctx_free(ctx);
	fn.pkey_free(key);
	return rc;
}

int
crypto_b64_block(unsigned char *out, const char *in, int n)
{
	if (!ready)
		return -1;
	return fn.decode_block(out, (const unsigned char *)in, n);
}
