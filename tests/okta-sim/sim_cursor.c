/*
 * Opaque pagination cursors. Okta's `after` values are opaque (spec: "treat as an opaque value
 * and obtain it through the next link"), so the simulator does not hand out item ids: a cursor
 * is 64 bits (position, listing kind, check bits) scrambled with the org's seed and written as
 * 11 base62 characters. Anything a client builds by hand fails the check and gets a 400.
 */
#include "sim.h"

#include <string.h>

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#define CURSOR_CHARS 11

static uint64_t mask(const sim_org *org)
{
    return sim_mix64(org->seed ^ 0x6375727330723031ULL);
}

static uint64_t check_bits(const sim_org *org, uint64_t low40)
{
    return sim_mix64(org->seed + low40 * 0x9e3779b97f4a7c15ULL) & 0xffffffULL;
}

void sim_cursor_encode(const sim_org *org, int kind, uint32_t pos, char *out)
{
    uint64_t low = (uint64_t)pos | ((uint64_t)(kind & 0xff) << 32);
    uint64_t v = (low | check_bits(org, low) << 40) ^ mask(org);
    for (int i = CURSOR_CHARS - 1; i >= 0; i--) {
        out[i] = b62[v % 62];
        v /= 62;
    }
    out[CURSOR_CHARS] = '\0';
}

bool sim_cursor_decode(const sim_org *org, int kind, const char *s, uint32_t *pos)
{
    uint64_t v = 0;
    if (strlen(s) != CURSOR_CHARS)
        return false;
    for (int i = 0; i < CURSOR_CHARS; i++) {
        const char *c = s[i] ? strchr(b62, s[i]) : NULL;
        if (!c || v > (UINT64_MAX - (uint64_t)(c - b62)) / 62)
            return false;
        v = v * 62 + (uint64_t)(c - b62);
    }
    v ^= mask(org);
    uint64_t low = v & 0xffffffffffULL;
    if ((v >> 40) != check_bits(org, low) || (int)((low >> 32) & 0xff) != (kind & 0xff))
        return false;
    *pos = (uint32_t)low;
    return true;
}
