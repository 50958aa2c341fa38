/* Unit tests for common/crypto: key parsing, AES-256-GCM seal/open, hashing, tokens. */
#include "crypto/oks_crypto.h"
#include "oks_test.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

static const char KEY_HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static bool contains(const uint8_t *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}

static void key(uint8_t k[32])
{
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_key_parse(KEY_HEX, k, &err) == 0);
}

OKS_TEST(key_parse_accepts_64_hex_either_case)
{
    uint8_t k[32];
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_key_parse(KEY_HEX, k, &err) == 0);
    OKS_ASSERT_EQ_INT(k[0], 0x00);
    OKS_ASSERT_EQ_INT(k[31], 0x1f);
    OKS_ASSERT(
        oks_crypto_key_parse("ABCDEFabcdef0000000000000000000000000000000000000000000000000000", k,
                             &err) == 0);
    OKS_ASSERT_EQ_INT(k[0], 0xab);
    OKS_ASSERT_EQ_INT(k[2], 0xef);
    OKS_ASSERT_EQ_INT(k[3], 0xab);
}

OKS_TEST(key_parse_rejects_bad_input)
{
    uint8_t k[32];
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_key_parse("", k, &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT(oks_crypto_key_parse(NULL, k, &err) == -1);
    OKS_ASSERT(oks_crypto_key_parse("abcd", k, &err) == -1);
    OKS_ASSERT_CONTAINS(err.msg, "4 characters");
    /* 65 chars */
    OKS_ASSERT(
        oks_crypto_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0", k,
                             &err) == -1);
    /* 64 chars with a non-hex one: message names the position, not the key */
    OKS_ASSERT(
        oks_crypto_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g", k,
                             &err) == -1);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "position 63");
    OKS_ASSERT(!strstr(err.msg, "0001020304"));
}

static const char TENANT_A[] = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9fa0b1c2";
static const char TENANT_B[] = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9fa0b1c3";

/* Sealed by the version 1 code (before issue 10; main at 85eb131) under key() for plaintext
 * "legacy-token": what databases hold until `oktasyncctl migrate` re-seals it. */
static const char V1_LEGACY_TOKEN_HEX[] =
    "01eea4e994cec665233731f86835ad23352d276830193487c58a418737db5e2e7728c040f531530870";

static size_t from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v = 0;
        OKS_ASSERT(sscanf(hex, "%2x", &v) == 1);
        out[n++] = (uint8_t)v;
    }
    return n;
}

OKS_TEST(seal_open_round_trip)
{
    uint8_t k[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    const char *secret = "00abcDEF-okta-api-token_with/odd+chars=";
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, secret, &sealed, &len, &err) == 0);
    OKS_ASSERT_EQ_INT(len, strlen(secret) + OKS_CRYPTO_SEAL_OVERHEAD);
    OKS_ASSERT_EQ_INT(sealed[0], 2);
    /* the plaintext does not appear in the sealed bytes, nor does the tenant id */
    OKS_ASSERT(!contains(sealed, len, "okta-api-token"));
    OKS_ASSERT(!contains(sealed, len, "6f1c2a3b"));
    char *back = oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err);
    OKS_ASSERT_EQ_STR(back, secret);
    free(back);
    free(sealed);
}

OKS_TEST(seal_empty_string_round_trips)
{
    uint8_t k[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "", &sealed, &len, &err) == 0);
    OKS_ASSERT_EQ_INT(len, OKS_CRYPTO_SEAL_OVERHEAD);
    char *back = oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err);
    OKS_ASSERT_EQ_STR(back, "");
    free(back);
    free(sealed);
}

OKS_TEST(seal_uses_fresh_nonce_each_time)
{
    uint8_t k[32], *a = NULL, *b = NULL;
    size_t la = 0, lb = 0;
    oks_err err = {0};
    key(k);
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "same", &a, &la, &err) == 0);
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "same", &b, &lb, &err) == 0);
    OKS_ASSERT_EQ_INT(la, lb);
    OKS_ASSERT(memcmp(a, b, la) != 0);
    OKS_ASSERT(memcmp(a + 1, b + 1, OKS_CRYPTO_NONCE_LEN) != 0);
    free(a);
    free(b);
}

OKS_TEST(open_rejects_any_flipped_bit)
{
    uint8_t k[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "tamper me", &sealed, &len, &err) == 0);
    for (size_t i = 0; i < len; i++) {
        sealed[i] ^= 0x01;
        oks_err_clear(&err);
        char *back = oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err);
        if (back)
            oks_test_fail(__FILE__, __LINE__, "byte %zu flipped but open succeeded", i);
        OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
        sealed[i] ^= 0x01;
    }
    char *back = oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err);
    OKS_ASSERT_EQ_STR(back, "tamper me");
    free(back);
    free(sealed);
}

OKS_TEST(open_rejects_wrong_key_and_truncation)
{
    uint8_t k[32], other[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    memcpy(other, k, sizeof other);
    other[5] ^= 0x80;
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "secret", &sealed, &len, &err) == 0);
    OKS_ASSERT(oks_crypto_open_tenant(other, TENANT_A, sealed, len, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "wrong secret key");
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_A, sealed, len - 1, &err) == NULL);
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_A, sealed, OKS_CRYPTO_SEAL_OVERHEAD - 1, &err) ==
               NULL);
    OKS_ASSERT_CONTAINS(err.msg, "truncated");
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_A, NULL, 0, &err) == NULL);
    sealed[0] = 3;
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "version 3");
    free(sealed);
}

OKS_TEST(value_copied_to_another_tenant_does_not_open)
{
    uint8_t k[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "tenant-a-token", &sealed, &len, &err) == 0);
    /* ids differ in the last character only */
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_B, sealed, len, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "sealed for another tenant");
    OKS_ASSERT_CONTAINS(err.msg, TENANT_B);
    /* the id is compared as a UUID: upper case is the same tenant */
    char upper[OKS_CRYPTO_TENANT_ID_LEN + 1];
    for (size_t i = 0; i <= OKS_CRYPTO_TENANT_ID_LEN; i++)
        upper[i] = (char)toupper((unsigned char)TENANT_A[i]);
    char *back = oks_crypto_open_tenant(k, upper, sealed, len, &err);
    OKS_ASSERT_EQ_STR(back, "tenant-a-token");
    free(back);
    free(sealed);
}

/* The hex form PostgreSQL's encode(col, 'hex') gives opens like the bytes; bad hex is refused
 * before any decryption, and the tenant binding holds through it. */
OKS_TEST(open_tenant_hex_reads_encoded_values)
{
    uint8_t k[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "hex-token", &sealed, &len, &err) == 0);
    char *hex = malloc(2 * len + 1);
    OKS_ASSERT(hex && oks_crypto_hex(sealed, len, hex, 2 * len + 1));
    char *back = oks_crypto_open_tenant_hex(k, TENANT_A, hex, &err);
    OKS_ASSERT_EQ_STR(back, "hex-token");
    free(back);
    OKS_ASSERT(oks_crypto_open_tenant_hex(k, TENANT_B, hex, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "sealed for another tenant");
    hex[3] = 'g';
    OKS_ASSERT(oks_crypto_open_tenant_hex(k, TENANT_A, hex, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "not hex");
    OKS_ASSERT(oks_crypto_open_tenant_hex(k, TENANT_A, "abc", &err) == NULL);
    OKS_ASSERT(oks_crypto_open_tenant_hex(k, TENANT_A, "", &err) == NULL);
    free(hex);
    free(sealed);
}

OKS_TEST(tenant_id_must_be_a_uuid)
{
    uint8_t k[32], *sealed = NULL;
    size_t len = 0;
    oks_err err = {0};
    key(k);
    static const char *const bad[] = {NULL,
                                      "",
                                      "acme",
                                      "6f1c2a3b0d4e4f5a8b6c7d8e9fa0b1c2",
                                      "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9fa0b1cz",
                                      "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9fa0b1c2x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        oks_err_clear(&err);
        OKS_ASSERT(oks_crypto_seal_tenant(k, bad[i], "x", &sealed, &len, &err) == -1);
        OKS_ASSERT(sealed == NULL);
        OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
        OKS_ASSERT_CONTAINS(err.msg, "is not a UUID");
    }
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, "x", &sealed, &len, &err) == 0);
    OKS_ASSERT(oks_crypto_open_tenant(k, "acme", sealed, len, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "is not a UUID");
    free(sealed);
}

OKS_TEST(version_1_value_is_recognised_and_refused_by_readers)
{
    uint8_t k[32], raw[128];
    oks_err err = {0};
    key(k);
    size_t n = from_hex(V1_LEGACY_TOKEN_HEX, raw, sizeof raw);
    OKS_ASSERT_EQ_INT(raw[0], OKS_CRYPTO_SEAL_V1);
    /* a reader (worker, CLI) refuses it with what to do */
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_A, raw, n, &err) == NULL);
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT_CONTAINS(err.msg, "old format (version 1");
    OKS_ASSERT_CONTAINS(err.msg, "oktasyncctl migrate");
    /* the re-seal step opens it, and re-seals it for a tenant */
    char *plain = oks_crypto_open_v1(k, raw, n, &err);
    OKS_ASSERT_EQ_STR(plain, "legacy-token");
    uint8_t *sealed = NULL;
    size_t len = 0;
    OKS_ASSERT(oks_crypto_seal_tenant(k, TENANT_A, plain, &sealed, &len, &err) == 0);
    char *back = oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err);
    OKS_ASSERT_EQ_STR(back, "legacy-token");
    /* open_v1 accepts only version 1 */
    OKS_ASSERT(oks_crypto_open_v1(k, sealed, len, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "version 2, expected 1");
    /* a version 1 value altered, or under another key, does not open either */
    raw[n - 1] ^= 1;
    OKS_ASSERT(oks_crypto_open_v1(k, raw, n, &err) == NULL);
    OKS_ASSERT_CONTAINS(err.msg, "wrong secret key or the data was altered");
    /* downgrading a version 2 value to the version 1 byte does not make it open anywhere */
    sealed[0] = OKS_CRYPTO_SEAL_V1;
    OKS_ASSERT(oks_crypto_open_v1(k, sealed, len, &err) == NULL);
    OKS_ASSERT(oks_crypto_open_tenant(k, TENANT_A, sealed, len, &err) == NULL);
    free(back);
    free(sealed);
    free(plain);
}

OKS_TEST(secret_hash_is_sha256)
{
    uint8_t h[32];
    char hex[65];
    oks_crypto_secret_hash("abc", h);
    OKS_ASSERT(oks_crypto_hex(h, sizeof h, hex, sizeof hex));
    OKS_ASSERT_EQ_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    oks_crypto_secret_hash("", h);
    OKS_ASSERT(oks_crypto_hex(h, sizeof h, hex, sizeof hex));
    OKS_ASSERT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    OKS_ASSERT(!oks_crypto_hex(h, sizeof h, hex, 64));
}

OKS_TEST(hash_equal_compares_all_bytes)
{
    uint8_t a[32], b[32];
    oks_crypto_secret_hash("Bearer one", a);
    oks_crypto_secret_hash("Bearer one", b);
    OKS_ASSERT(oks_crypto_hash_equal(a, b));
    b[31] ^= 1;
    OKS_ASSERT(!oks_crypto_hash_equal(a, b));
    b[31] ^= 1;
    b[0] ^= 1;
    OKS_ASSERT(!oks_crypto_hash_equal(a, b));
    oks_crypto_secret_hash("Bearer one ", b);
    OKS_ASSERT(!oks_crypto_hash_equal(a, b));
}

OKS_TEST(random_token_is_urlsafe_and_unique)
{
    char a[64], b[64];
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_random_token(a, sizeof a, 32, &err) == 0);
    OKS_ASSERT(oks_crypto_random_token(b, sizeof b, 32, &err) == 0);
    OKS_ASSERT_EQ_INT(strlen(a), 43);
    OKS_ASSERT(strcmp(a, b) != 0);
    for (const char *p = a; *p; p++)
        OKS_ASSERT((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    OKS_ASSERT(oks_crypto_random_token(a, sizeof a, 1, &err) == 0);
    OKS_ASSERT_EQ_INT(strlen(a), 2);
}

OKS_TEST(random_token_rejects_small_buffer_and_zero)
{
    char buf[43];
    oks_err err = {0};
    OKS_ASSERT(oks_crypto_random_token(buf, sizeof buf, 32, &err) == -1); /* needs 44 */
    OKS_ASSERT_EQ_INT(err.code, OKS_E_INVALID);
    OKS_ASSERT(oks_crypto_random_token(buf, sizeof buf, 0, &err) == -1);
    OKS_ASSERT(oks_crypto_random_token(buf, sizeof buf, 1000, &err) == -1);
}

int main(int argc, char **argv)
{
    return oks_test_main(argc, argv);
}
