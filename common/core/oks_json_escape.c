#include "oks_json_escape.h"

#include <stdio.h>
#include <string.h>

size_t oks_json_escape(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        size_t len;
        switch (*p) {
        case '"':
            memcpy(tmp, "\\\"", len = 2);
            break;
        case '\\':
            memcpy(tmp, "\\\\", len = 2);
            break;
        case '\n':
            memcpy(tmp, "\\n", len = 2);
            break;
        case '\r':
            memcpy(tmp, "\\r", len = 2);
            break;
        case '\t':
            memcpy(tmp, "\\t", len = 2);
            break;
        default:
            if (*p < 0x20) {
                len = (size_t)snprintf(tmp, sizeof tmp, "\\u%04x", *p);
            } else {
                tmp[0] = (char)*p;
                len = 1;
            }
        }
        if (n + len + 1 > cap)
            return 0;
        memcpy(buf + n, tmp, len);
        n += len;
    }
    if (cap == 0)
        return 0;
    buf[n] = '\0';
    return n;
}

size_t oks_json_escape_field(char *buf, size_t cap, const char *key, const char *value)
{
    size_t n = 0;
    size_t k, v;
    if (cap < 8)
        return 0;
    buf[n++] = ',';
    buf[n++] = '"';
    if ((k = oks_json_escape(buf + n, cap - n, key)) == 0 && *key)
        goto full;
    n += k;
    if (n + 4 > cap)
        goto full;
    memcpy(buf + n, "\":\"", 3);
    n += 3;
    v = oks_json_escape(buf + n, cap - n, value);
    if (v == 0 && *value) {
        /* Value too long: keep what fits of it rather than dropping the field. */
        size_t room = cap - n;
        if (room < 8)
            goto full;
        char cut[4096];
        size_t want = room / 6 < sizeof cut - 1 ? room / 6 : sizeof cut - 1;
        memcpy(cut, value, want);
        cut[want] = '\0';
        v = oks_json_escape(buf + n, cap - n, cut);
    }
    n += v;
    if (n + 2 > cap)
        goto full;
    buf[n++] = '"';
    buf[n] = '\0';
    return n;
full:
    buf[0] = '\0';
    return 0;
}
