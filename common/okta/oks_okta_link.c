/*
 * Link header parser (RFC 8288 subset Okta uses):
 *   Link: <https://org/api/v1/users?limit=200&after=00u1>; rel="next", <...>; rel="self"
 * Okta sends one header per link, but a single header may also carry several comma-separated
 * links, parameters may be unquoted or oddly spaced, and rel may hold a space-separated list.
 * Pure: bytes in, URL out, so it is unit-tested and fuzzed.
 */
#include "okta/oks_okta_int.h"

#include <string.h>
#include <strings.h>

typedef struct cursor {
    const char *p;
    const char *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static bool is_token_char(char ch)
{
    return ch > ' ' && ch < 127 && !strchr("()<>@,;:\\\"/[]?={}", ch);
}

/* Read a token or a quoted string into val (truncated silently: only "rel" values matter and
 * those are short). Returns false on malformed input (unterminated quote, empty value). */
static bool read_value(cursor *c, char *val, size_t cap)
{
    size_t n = 0;
    if (c->p < c->end && *c->p == '"') {
        c->p++;
        while (c->p < c->end && *c->p != '"') {
            if (*c->p == '\\' && c->p + 1 < c->end)
                c->p++;
            if (n + 1 < cap)
                val[n++] = *c->p;
            c->p++;
        }
        if (c->p >= c->end)
            return false;
        c->p++; /* closing quote */
    } else {
        while (c->p < c->end && is_token_char(*c->p)) {
            if (n + 1 < cap)
                val[n++] = *c->p;
            c->p++;
        }
        if (n == 0)
            return false;
    }
    val[n] = '\0';
    return true;
}

/* rel is a space-separated list of relation types, compared case-insensitively. */
static bool rel_has_next(const char *rel)
{
    const char *s = rel;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strcspn(s, " \t");
        if (n == 4 && strncasecmp(s, "next", 4) == 0)
            return true;
        s += n;
    }
    return false;
}

/* Parse the ";param=value" list after one <URI>. Sets *is_next when rel contains next.
 * Stops before the ',' that separates link values. */
static bool parse_params(cursor *c, bool *is_next)
{
    for (;;) {
        skip_ws(c);
        if (c->p >= c->end || *c->p == ',')
            return true;
        if (*c->p != ';')
            return false;
        c->p++;
        skip_ws(c);
        char name[32];
        if (c->p >= c->end || *c->p == '"' || !read_value(c, name, sizeof name))
            return false;
        skip_ws(c);
        if (c->p < c->end && *c->p == '=') {
            c->p++;
            skip_ws(c);
            char val[128];
            if (!read_value(c, val, sizeof val))
                return false;
            if (strcasecmp(name, "rel") == 0 && rel_has_next(val))
                *is_next = true;
        }
    }
}

int oks_okta__link_find_next(const char *value, size_t len, char *out, size_t cap)
{
    cursor c = {value, value + len};
    int found = 0;
    if (cap > 0)
        out[0] = '\0';
    for (;;) {
        while (c.p < c.end && (*c.p == ' ' || *c.p == '\t' || *c.p == ','))
            c.p++;
        if (c.p >= c.end)
            return found;
        if (*c.p != '<')
            return -1;
        const char *url = ++c.p;
        const char *gt = memchr(c.p, '>', (size_t)(c.end - c.p));
        if (!gt || gt == url)
            return -1;
        size_t url_len = (size_t)(gt - url);
        c.p = gt + 1;
        bool is_next = false;
        if (!parse_params(&c, &is_next))
            return -1;
        if (is_next && !found) {
            if (url_len + 1 > cap)
                return -1;
            for (size_t i = 0; i < url_len; i++)
                if ((unsigned char)url[i] <= ' ' || url[i] == 127)
                    return -1;
            memcpy(out, url, url_len);
            out[url_len] = '\0';
            found = 1;
        }
    }
}
