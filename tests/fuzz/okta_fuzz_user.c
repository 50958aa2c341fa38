/* libFuzzer target: bytes -> JSON -> Okta User parser. Must never crash or leak. */
#include <stddef.h>
#include <stdint.h>

#include "okta/oks_okta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, 0, &jerr);
    if (!j)
        return 0;
    oks_okta_user u;
    oks_err err = {0};
    if (oks_okta_user_parse(j, &u, &err) == 0) {
        /* A parsed user always has an id and a profile object. */
        if (!u.id || !json_is_object(u.profile))
            __builtin_trap();
        oks_okta_user_free(&u);
    }
    json_decref(j);
    return 0;
}
