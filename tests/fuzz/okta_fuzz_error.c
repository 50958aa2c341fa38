/* libFuzzer target: Okta error body parser + classification. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "okta/oks_okta_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    oks_okta_error_body e;
    int rc = oks_okta__error_parse((const char *)data, size, &e);
    /* Every field is NUL-terminated inside its buffer whatever the input. */
    if (memchr(e.code, 0, sizeof e.code) == NULL ||
        memchr(e.summary, 0, sizeof e.summary) == NULL || memchr(e.id, 0, sizeof e.id) == NULL)
        __builtin_trap();
    if (rc != 0 && e.code[0])
        __builtin_trap();
    long status = size > 0 ? 400 + data[0] % 200 : 500;
    oks_errcode c = oks_okta__classify_status(status, e.code);
    if (c <= OKS_OK || c >= OKS_E__LAST)
        __builtin_trap();
    return 0;
}
