/* libFuzzer target: Link header parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "okta/oks_okta_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[256];
    memset(out, 'Z', sizeof out);
    int rc = oks_okta__link_find_next((const char *)data, size, out, sizeof out);
    if (rc < -1 || rc > 1)
        __builtin_trap();
    if (rc == 1) {
        size_t n = strnlen(out, sizeof out);
        /* A found URL is non-empty, fits, and has no whitespace or control characters. */
        if (n == 0 || n == sizeof out)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)out[i] <= ' ')
                __builtin_trap();
    }
    return 0;
}
