// COpenSSL: libcrypto's EVP digest and EVP_MAC APIs for Swift (OpenSSL 3).
// Only KilnCrypto imports this module (internal import); nothing here leaves it.
#ifndef KILN_COPENSSL_SHIM_H
#define KILN_COPENSSL_SHIM_H

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/// EVP_MAC_init for HMAC-SHA-256: builds the OSSL_PARAM list (digest = "SHA256") in C,
/// where the OSSL_PARAM macros and string constants are at home.
static inline int kiln_hmac_sha256_init(EVP_MAC_CTX *ctx, const unsigned char *key, size_t keylen) {
    char digest[] = "SHA256";
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_MAC_init(ctx, key, keylen, params);
}

#endif
