/*
 * Secrets at rest and webhook secrets (OpenSSL libcrypto EVP only; nothing hand-rolled).
 *
 * - Okta API token and OIDC client secret are sealed with AES-256-GCM under OKTASYNC_SECRET_KEY
 *   (64 hex chars = 32 bytes). Sealed format, stored as bytea:
 *       version byte 0x01 | 12-byte random nonce | ciphertext | 16-byte tag
 *   The version byte is authenticated (it is the GCM AAD), so a future format can coexist.
 * - Webhook secrets are never stored: only SHA-256 of the exact Authorization header value,
 *   compared in constant time.
 */
#ifndef OKS_CRYPTO_H
#define OKS_CRYPTO_H

#include "core/oks_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OKS_CRYPTO_KEY_LEN 32
#define OKS_CRYPTO_HASH_LEN 32
#define OKS_CRYPTO_SEAL_VERSION 1
#define OKS_CRYPTO_NONCE_LEN 12
#define OKS_CRYPTO_TAG_LEN 16
/* Bytes a sealed value adds to its plaintext. */
#define OKS_CRYPTO_SEAL_OVERHEAD (1 + OKS_CRYPTO_NONCE_LEN + OKS_CRYPTO_TAG_LEN)

/* Parse exactly 64 hex digits (either case) into key. OKS_E_INVALID otherwise; the message
 * never contains the key material. */
int oks_crypto_key_parse(const char *hex64, uint8_t key[OKS_CRYPTO_KEY_LEN], oks_err *err)
    __attribute__((warn_unused_result));

/* Seal a NUL-terminated plaintext. *out is malloc'd (caller frees), *out_len its length. */
int oks_crypto_seal(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *plaintext, uint8_t **out,
                    size_t *out_len, oks_err *err) __attribute__((warn_unused_result));

/* Open a sealed value; returns a malloc'd NUL-terminated plaintext or NULL with err set:
 * OKS_E_INVALID for a wrong key, tampered/truncated data or an unknown version. */
char *oks_crypto_open(const uint8_t key[OKS_CRYPTO_KEY_LEN], const uint8_t *in, size_t in_len,
                      oks_err *err) __attribute__((warn_unused_result));

/* SHA-256 of the secret's bytes (the exact Authorization header value). */
void oks_crypto_secret_hash(const char *secret, uint8_t out[OKS_CRYPTO_HASH_LEN]);

/* SHA-256 of arbitrary bytes (migration checksums). */
void oks_crypto_sha256(const void *data, size_t len, uint8_t out[OKS_CRYPTO_HASH_LEN]);

/* Constant-time comparison of two hashes (CRYPTO_memcmp). */
bool oks_crypto_hash_equal(const uint8_t a[OKS_CRYPTO_HASH_LEN],
                           const uint8_t b[OKS_CRYPTO_HASH_LEN]);

/* Lower-case hex of len bytes into out (cap >= 2*len+1). Returns false when it does not fit. */
bool oks_crypto_hex(const uint8_t *in, size_t len, char *out, size_t cap);

/* Random token from nbytes of RAND_bytes, URL-safe base64 without padding (RFC 4648 §5),
 * written NUL-terminated to out. OKS_E_INVALID when cap is too small or nbytes is 0. */
int oks_crypto_random_token(char *out, size_t cap, size_t nbytes, oks_err *err)
    __attribute__((warn_unused_result));

#endif
