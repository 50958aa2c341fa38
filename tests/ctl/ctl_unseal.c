/* Test tool for tests/ctl: `ctl_unseal TENANT_ID` reads a sealed value as hex on stdin, opens
 * it with OKTASYNC_SECRET_KEY for TENANT_ID through the same oks_crypto_open_tenant the worker
 * uses, prints the plaintext. Exit 1 when it does not open (wrong key, another tenant's value,
 * old format, tampered), with the library's one-line error on stderr. */
#include "crypto/oks_crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int nibble(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int main(int argc, char **argv)
{
    char hex[8192];
    uint8_t raw[4096], key[OKS_CRYPTO_KEY_LEN];
    oks_err err = {0};
    if (argc != 2 || !fgets(hex, sizeof hex, stdin))
        return 2;
    size_t len = strcspn(hex, "\r\n"), n = 0;
    const char *p = strncmp(hex, "\\x", 2) == 0 ? hex + 2 : hex;
    for (; p + 1 < hex + len && n < sizeof raw; p += 2) {
        int hi = nibble(p[0]), lo = nibble(p[1]);
        if (hi < 0 || lo < 0)
            return 2;
        raw[n++] = (uint8_t)(hi << 4 | lo);
    }
    if (oks_crypto_key_parse(getenv("OKTASYNC_SECRET_KEY"), key, &err) != 0) {
        fprintf(stderr, "ctl_unseal: %s\n", err.msg);
        return 2;
    }
    char *pt = oks_crypto_open_tenant(key, argv[1], raw, n, &err);
    if (!pt) {
        fprintf(stderr, "ctl_unseal: %s\n", err.msg);
        return 1;
    }
    puts(pt);
    free(pt);
    return 0;
}
