/*
 * Secrets at rest and webhook secrets (OpenSSL libcrypto EVP only; nothing hand-rolled).
 *
 * - Okta API token and OIDC client secret are sealed with AES-256-GCM under OKTASYNC_SECRET_KEY
 *   (64 hex chars = 32 bytes) and bound to their tenant. Sealed format, stored as bytea:
 *       version byte | 12-byte random nonce | ciphertext | 16-byte tag
 *   Version 2 (written now): the GCM associated data is the version byte followed by the
 *   tenant id (36-character lower-case UUID text), so a value copied to another tenant's row
 *   does not open there. Version 1 (written before issue 10): associated data was the version
 *   byte alone. Readers refuse version 1 with an error telling the operator to run
 *   `oktasyncctl migrate`, which re-seals version 1 values as version 2 (oks_crypto_open_v1 is
 *   for that re-seal step only).
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
#define OKS_CRYPTO_SEAL_V1 1 /* unbound (before issue 10): read only to re-seal */
#define OKS_CRYPTO_SEAL_V2 2 /* bound to the tenant id */
#define OKS_CRYPTO_SEAL_VERSION OKS_CRYPTO_SEAL_V2
/* Length of a tenant id as text (a UUID with hyphens). */
#define OKS_CRYPTO_TENANT_ID_LEN 36
#define OKS_CRYPTO_NONCE_LEN 12
#define OKS_CRYPTO_TAG_LEN 16
/* Bytes a sealed value adds to its plaintext. */
#define OKS_CRYPTO_SEAL_OVERHEAD (1 + OKS_CRYPTO_NONCE_LEN + OKS_CRYPTO_TAG_LEN)

/* Parse exactly 64 hex digits (either case) into key. OKS_E_INVALID otherwise; the message
 * never contains the key material. */
int oks_crypto_key_parse(const char *hex64, uint8_t key[OKS_CRYPTO_KEY_LEN], oks_err *err)
    __attribute__((warn_unused_result));

/* Seal a NUL-terminated plaintext for tenant_id (UUID text, either case). *out is malloc'd
 * (caller frees), *out_len its length. OKS_E_INVALID when tenant_id is not a UUID. */
int oks_crypto_seal_tenant(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                           const char *plaintext, uint8_t **out, size_t *out_len, oks_err *err)
    __attribute__((warn_unused_result));

/* Open a value sealed for tenant_id; returns a malloc'd NUL-terminated plaintext or NULL with
 * err set (OKS_E_INVALID): wrong key, sealed for another tenant, tampered/truncated data, a
 * version 1 value (not yet re-sealed: run `oktasyncctl migrate`) or an unknown version. */
char *oks_crypto_open_tenant(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                             const uint8_t *in, size_t in_len, oks_err *err)
    __attribute__((warn_unused_result));

/* The same for a value as PostgreSQL's encode(col, 'hex') gives it: the form the programs that
 * select sealed columns as text read. A string that is not hex is OKS_E_INVALID. */
char *oks_crypto_open_tenant_hex(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                                 const char *hex, oks_err *err) __attribute__((warn_unused_result));

/* Open a version 1 (unbound) value. Only the re-seal step of `oktasyncctl migrate` calls
 * this; everything else uses oks_crypto_open_tenant. */
char *oks_crypto_open_v1(const uint8_t key[OKS_CRYPTO_KEY_LEN], const uint8_t *in, size_t in_len,
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
