/* libFuzzer target: bytes -> JSON -> Okta AppUser parser (with _embedded.user). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "okta/oks_okta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, 0, &jerr);
    if (!j)
        return 0;
    oks_okta_app_user a;
    oks_err err = {0};
    if (oks_okta_app_user_parse(j, &a, &err) == 0) {
        if (!a.id || (a.has_user && strcmp(a.id, a.user.id) != 0))
            __builtin_trap();
        oks_okta_app_user_free(&a);
    }
    json_decref(j);
    return 0;
}
