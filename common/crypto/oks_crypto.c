/* AES-256-GCM sealing, SHA-256 hashing and random tokens on top of OpenSSL's EVP API. */
#include "crypto/oks_crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int oks_crypto_key_parse(const char *hex64, uint8_t key[OKS_CRYPTO_KEY_LEN], oks_err *err)
{
    if (!hex64 || !*hex64)
        return oks_err_set(err, OKS_E_INVALID, "secret key is empty (want 64 hex characters)");
    size_t len = strlen(hex64);
    if (len != 2 * OKS_CRYPTO_KEY_LEN)
        return oks_err_set(err, OKS_E_INVALID,
                           "secret key has %zu characters (want exactly 64 hex characters)", len);
    for (size_t i = 0; i < OKS_CRYPTO_KEY_LEN; i++) {
        int hi = hex_nibble(hex64[2 * i]), lo = hex_nibble(hex64[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            OPENSSL_cleanse(key, OKS_CRYPTO_KEY_LEN);
            return oks_err_set(err, OKS_E_INVALID,
                               "secret key has a non-hex character at position %zu",
                               (size_t)(hi < 0 ? 2 * i : 2 * i + 1));
        }
        key[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Associated data: the version byte, then (version 2) the tenant id. */
typedef struct seal_aad {
    uint8_t bytes[1 + OKS_CRYPTO_TENANT_ID_LEN];
    int len;
} seal_aad;

/* aad for version (1 or 2); tenant_id is required for 2 and must be a UUID (either case: the
 * bound form is lower case, as PostgreSQL prints uuid). */
static int make_aad(uint8_t version, const char *tenant_id, seal_aad *aad, oks_err *err)
{
    aad->bytes[0] = version;
    aad->len = 1;
    if (version == OKS_CRYPTO_SEAL_V1)
        return 0;
    size_t len = tenant_id ? strlen(tenant_id) : 0;
    bool ok = len == OKS_CRYPTO_TENANT_ID_LEN;
    for (size_t i = 0; ok && i < len; i++) {
        char c = tenant_id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23)
            ok = c == '-';
        else
            ok = hex_nibble(c) >= 0;
        aad->bytes[1 + i] = (uint8_t)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    if (!ok)
        return oks_err_set(err, OKS_E_INVALID,
                           "tenant id \"%.40s\" is not a UUID: a sealed value is bound to its "
                           "tenant's id",
                           tenant_id ? tenant_id : "");
    aad->len = 1 + OKS_CRYPTO_TENANT_ID_LEN;
    return 0;
}

/* The associated data is authenticated: changing the version byte or opening under another
 * tenant id breaks the tag. */
static int gcm_init(EVP_CIPHER_CTX *ctx, bool enc, const uint8_t *key, const uint8_t *nonce,
                    const seal_aad *aad)
{
    int outl = 0;
    int (*init)(EVP_CIPHER_CTX *, const EVP_CIPHER *, ENGINE *, const unsigned char *,
                const unsigned char *) = enc ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
    int (*update)(EVP_CIPHER_CTX *, unsigned char *, int *, const unsigned char *, int) =
        enc ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    if (init(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1)
        return -1;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, OKS_CRYPTO_NONCE_LEN, NULL) != 1)
        return -1;
    if (init(ctx, NULL, NULL, key, nonce) != 1)
        return -1;
    if (update(ctx, NULL, &outl, aad->bytes, aad->len) != 1)
        return -1;
    return 0;
}

int oks_crypto_seal_tenant(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                           const char *plaintext, uint8_t **out, size_t *out_len, oks_err *err)
{
    int rc = -1;
    uint8_t *buf = NULL;
    EVP_CIPHER_CTX *ctx = NULL;
    size_t pt_len = plaintext ? strlen(plaintext) : 0;
    seal_aad aad;
    *out = NULL;
    *out_len = 0;
    if (!plaintext || pt_len > INT_MAX / 2) {
        oks_err_set(err, OKS_E_INVALID, "nothing to seal or plaintext too long");
        goto out;
    }
    if (make_aad(OKS_CRYPTO_SEAL_VERSION, tenant_id, &aad, err) != 0)
        goto out;
    buf = malloc(pt_len + OKS_CRYPTO_SEAL_OVERHEAD);
    ctx = EVP_CIPHER_CTX_new();
    if (!buf || !ctx) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory while sealing");
        goto out;
    }
    buf[0] = OKS_CRYPTO_SEAL_VERSION;
    uint8_t *nonce = buf + 1, *ct = buf + 1 + OKS_CRYPTO_NONCE_LEN;
    if (RAND_bytes(nonce, OKS_CRYPTO_NONCE_LEN) != 1) {
        oks_err_set(err, OKS_E_PERMANENT, "RAND_bytes failed: no randomness for the nonce");
        goto out;
    }
    int outl = 0, finl = 0;
    if (gcm_init(ctx, true, key, nonce, &aad) != 0 ||
        EVP_EncryptUpdate(ctx, ct, &outl, (const uint8_t *)plaintext, (int)pt_len) != 1 ||
        EVP_EncryptFinal_ex(ctx, ct + outl, &finl) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, OKS_CRYPTO_TAG_LEN, ct + pt_len) != 1) {
        oks_err_set(err, OKS_E_PERMANENT, "AES-256-GCM encryption failed");
        goto out;
    }
    *out = buf;
    *out_len = pt_len + OKS_CRYPTO_SEAL_OVERHEAD;
    buf = NULL;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(ctx);
    free(buf);
    return rc;
}

/* Open a value of the given version (its first byte must match). */
static char *open_version(const uint8_t key[OKS_CRYPTO_KEY_LEN], uint8_t version,
                          const char *tenant_id, const uint8_t *in, size_t in_len, oks_err *err)
{
    char *pt = NULL, *result = NULL;
    size_t ct_len = 0;
    EVP_CIPHER_CTX *ctx = NULL;
    seal_aad aad;
    if (!in || in_len < OKS_CRYPTO_SEAL_OVERHEAD || in_len > INT_MAX / 2) {
        oks_err_set(err, OKS_E_INVALID, "sealed value is truncated (%zu bytes)", in_len);
        goto out;
    }
    if (in[0] == OKS_CRYPTO_SEAL_V1 && version != OKS_CRYPTO_SEAL_V1) {
        oks_err_set(err, OKS_E_INVALID,
                    "sealed value is in the old format (version 1, not bound to its tenant): "
                    "run `oktasyncctl migrate` with the secret key to re-seal it");
        goto out;
    }
    if (in[0] != version) {
        oks_err_set(err, OKS_E_INVALID, "sealed value has format version %u, expected %u",
                    (unsigned)in[0], (unsigned)version);
        goto out;
    }
    if (make_aad(version, tenant_id, &aad, err) != 0)
        goto out;
    ct_len = in_len - OKS_CRYPTO_SEAL_OVERHEAD;
    const uint8_t *nonce = in + 1, *ct = in + 1 + OKS_CRYPTO_NONCE_LEN;
    uint8_t tag[OKS_CRYPTO_TAG_LEN];
    memcpy(tag, ct + ct_len, sizeof tag);
    pt = malloc(ct_len + 1);
    ctx = EVP_CIPHER_CTX_new();
    if (!pt || !ctx) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory while opening a sealed value");
        goto out;
    }
    int outl = 0, finl = 0;
    if (gcm_init(ctx, false, key, nonce, &aad) != 0 ||
        EVP_DecryptUpdate(ctx, (uint8_t *)pt, &outl, ct, (int)ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, OKS_CRYPTO_TAG_LEN, tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, (uint8_t *)pt + outl, &finl) != 1) {
        if (version == OKS_CRYPTO_SEAL_V1)
            oks_err_set(err, OKS_E_INVALID,
                        "cannot decrypt sealed value: wrong secret key or the data was altered");
        else
            oks_err_set(err, OKS_E_INVALID,
                        "cannot decrypt sealed value for tenant %s: wrong secret key, sealed "
                        "for another tenant, or the data was altered",
                        tenant_id);
        goto out;
    }
    pt[ct_len] = '\0';
    if (memchr(pt, '\0', ct_len)) {
        oks_err_set(err, OKS_E_INVALID, "sealed value contains a NUL byte");
        goto out;
    }
    result = pt;
    pt = NULL;
out:
    EVP_CIPHER_CTX_free(ctx);
    if (pt)
        OPENSSL_cleanse(pt, ct_len + 1); /* do not leave a half-decrypted secret behind */
    free(pt);
    return result;
}

char *oks_crypto_open_tenant(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                             const uint8_t *in, size_t in_len, oks_err *err)
{
    return open_version(key, OKS_CRYPTO_SEAL_V2, tenant_id, in, in_len, err);
}

char *oks_crypto_open_v1(const uint8_t key[OKS_CRYPTO_KEY_LEN], const uint8_t *in, size_t in_len,
                         oks_err *err)
{
    return open_version(key, OKS_CRYPTO_SEAL_V1, NULL, in, in_len, err);
}

void oks_crypto_sha256(const void *data, size_t len, uint8_t out[OKS_CRYPTO_HASH_LEN])
{
    unsigned int outl = 0;
    /* EVP_Digest with SHA-256 cannot fail short of memory exhaustion inside OpenSSL; zero the
     * output then so a failure can never match a stored hash of real data by accident. */
    if (EVP_Digest(data, len, out, &outl, EVP_sha256(), NULL) != 1 || outl != OKS_CRYPTO_HASH_LEN)
        memset(out, 0, OKS_CRYPTO_HASH_LEN);
}

void oks_crypto_secret_hash(const char *secret, uint8_t out[OKS_CRYPTO_HASH_LEN])
{
    oks_crypto_sha256(secret ? secret : "", secret ? strlen(secret) : 0, out);
}

bool oks_crypto_hash_equal(const uint8_t a[OKS_CRYPTO_HASH_LEN],
                           const uint8_t b[OKS_CRYPTO_HASH_LEN])
{
    return CRYPTO_memcmp(a, b, OKS_CRYPTO_HASH_LEN) == 0;
}

bool oks_crypto_hex(const uint8_t *in, size_t len, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    if (cap < 2 * len + 1)
        return false;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
    return true;
}

int oks_crypto_random_token(char *out, size_t cap, size_t nbytes, oks_err *err)
{
    int rc = -1;
    uint8_t raw[256];
    unsigned char b64[4 * (sizeof raw / 3 + 1) + 1];
    size_t need = (nbytes * 4 + 2) / 3 + 1; /* unpadded base64 length + NUL */
    if (nbytes == 0 || nbytes > sizeof raw)
        return oks_err_set(err, OKS_E_INVALID, "token size %zu out of range 1..%zu", nbytes,
                           sizeof raw);
    if (!out || cap < need)
        return oks_err_set(err, OKS_E_INVALID, "token buffer too small (%zu < %zu)", cap, need);
    if (RAND_bytes(raw, (int)nbytes) != 1) {
        oks_err_set(err, OKS_E_PERMANENT, "RAND_bytes failed: no randomness for a token");
        goto out;
    }
    int n = EVP_EncodeBlock(b64, raw, (int)nbytes);
    size_t j = 0;
    for (int i = 0; i < n && b64[i] != '='; i++) {
        char c = (char)b64[i];
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c; /* RFC 4648 section 5 alphabet */
    }
    out[j] = '\0';
    rc = 0;
out:
    OPENSSL_cleanse(raw, sizeof raw);
    OPENSSL_cleanse(b64, sizeof b64);
    return rc;
}

char *oks_crypto_open_tenant_hex(const uint8_t key[OKS_CRYPTO_KEY_LEN], const char *tenant_id,
                                 const char *hex, oks_err *err)
{
    size_t len = hex ? strlen(hex) : 0;
    if (len == 0 || len % 2 != 0) {
        oks_err_set(err, OKS_E_INVALID, "sealed value is not hex");
        return NULL;
    }
    size_t n = len / 2;
    uint8_t *raw = malloc(n);
    if (!raw) {
        oks_err_set(err, OKS_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(raw);
            oks_err_set(err, OKS_E_INVALID, "sealed value is not hex");
            return NULL;
        }
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    char *pt = oks_crypto_open_tenant(key, tenant_id, raw, n, err);
    free(raw);
    return pt;
}
