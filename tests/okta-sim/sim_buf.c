/* Growable output buffer used to render responses without per-field allocations. */
#include "sim.h"

#include "core/oks_json_escape.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sim_buf_reserve(sim_buf *b, size_t extra)
{
    if (b->oom || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = true;
        return;
    }
    b->data = p;
    b->cap = cap;
}

void sim_buf_adds(sim_buf *b, const char *s)
{
    sim_buf_add(b, s, strlen(s));
}

void sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    va_list ap;
    sim_buf_reserve(b, 256);
    if (b->oom)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        sim_buf_reserve(b, (size_t)n + 1);
        if (b->oom)
            return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

void sim_buf_jstr(sim_buf *b, const char *s)
{
    if (!s) {
        sim_buf_add(b, "null", 4);
        return;
    }
    /* Most values need no escaping: copy them as they are (what oks_json_escape writes). */
    const unsigned char *p = (const unsigned char *)s;
    while (*p >= 0x20 && *p != '"' && *p != '\\')
        p++;
    size_t len = (size_t)(p - (const unsigned char *)s);
    size_t need = *p ? len + strlen((const char *)p) * 6 + 3 : len + 3;
    sim_buf_reserve(b, need);
    if (b->oom)
        return;
    b->data[b->len++] = '"';
    memcpy(b->data + b->len, s, len);
    b->len += len;
    if (*p)
        b->len += oks_json_escape(b->data + b->len, b->cap - b->len, (const char *)p);
    b->data[b->len++] = '"';
    b->data[b->len] = '\0';
}

void sim_buf_jtime(sim_buf *b, int64_t ms)
{
    char t[SIM_ISO8601_CAP + 2];
    if (ms < 0) {
        sim_buf_add(b, "null", 4);
        return;
    }
    size_t n = sim_iso8601(ms, t + 1);
    t[0] = '"';
    t[n + 1] = '"';
    sim_buf_add(b, t, n + 2);
}

void sim_buf_free(sim_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *sim_buf_steal(sim_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    memset(b, 0, sizeof *b);
    return p;
}
