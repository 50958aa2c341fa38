#include "core/oks_okta_domain.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* host[:port] with DNS characters only. */
static bool valid_host_port(const char *h, size_t len)
{
    const char *colon = memchr(h, ':', len);
    size_t hlen = colon ? (size_t)(colon - h) : len;
    if (hlen == 0 || hlen > 253 || h[0] == '.' || h[0] == '-' || h[hlen - 1] == '.' ||
        h[hlen - 1] == '-')
        return false;
    for (size_t i = 0; i < hlen; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.')
            return false;
    if (!colon)
        return true;
    size_t digits = len - hlen - 1;
    long port = 0;
    if (digits == 0 || digits > 5)
        return false;
    for (size_t j = hlen + 1; j < len; j++) {
        if (!isdigit((unsigned char)h[j]))
            return false;
        port = port * 10 + (h[j] - '0');
    }
    return port >= 1 && port <= 65535;
}

static bool fail(char *why, size_t why_cap, const char *msg)
{
    if (why && why_cap > 0)
        snprintf(why, why_cap, "%s", msg);
    return false;
}

bool oks_okta_domain_parse(const char *s, size_t *keep, bool *plain_http, char *why, size_t why_cap)
{
    const char *host = s;
    *plain_http = false;
    if (strncasecmp(s, "https://", 8) == 0) {
        host = s + 8;
    } else if (strncasecmp(s, "http://", 7) == 0) {
        host = s + 7; /* the Okta simulator in tests; real orgs are https */
        *plain_http = true;
    } else if (strstr(s, "://")) {
        return fail(why, why_cap, "only https:// (or http:// for a local simulator) is allowed");
    }
    size_t len = strlen(host);
    while (len > 0 && host[len - 1] == '/')
        len--;
    if (len == 0 || memchr(host, '/', len) || !valid_host_port(host, len))
        return fail(why, why_cap, "expected a host name like dev-123456.okta.com (no path)");
    *keep = (size_t)(host - s) + len;
    return true;
}

char *oks_okta_domain_base_url(const char *s)
{
    size_t keep;
    bool plain_http;
    if (!s || !oks_okta_domain_parse(s, &keep, &plain_http, NULL, 0))
        return NULL;
    const char *host = strstr(s, "://");
    host = host ? host + 3 : s;
    size_t n = keep - (size_t)(host - s);
    size_t cap = strlen("https://") + n + 1;
    char *out = malloc(cap);
    if (out)
        snprintf(out, cap, "%s%.*s", plain_http ? "http://" : "https://", (int)n, host);
    return out;
}
