/* redis:// URL parser: bytes in, struct out, no I/O (unit-tested in tests/redis). */
#include "redis/oks_redis.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#define URL_MAX 2048

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decode [s, s+n) into out (cap bytes incl. NUL). */
static int url_decode(const char *s, size_t n, char *out, size_t cap, const char *what,
                      oks_err *err)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return oks_err_set(err, OKS_E_INVALID, "redis url: bad %%-escape in %s", what);
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return oks_err_set(err, OKS_E_INVALID, "redis url: bad %%-escape in %s", what);
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0)
            return oks_err_set(err, OKS_E_INVALID, "redis url: NUL byte in %s", what);
        if (o + 1 >= cap)
            return oks_err_set(err, OKS_E_INVALID, "redis url: %s longer than %zu bytes", what,
                               cap - 1);
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Decimal in [min,max] from exactly [s, s+n). */
static bool parse_num(const char *s, size_t n, long min, long max, int *out)
{
    if (n == 0 || n > 9)
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = (int)v;
    return true;
}

/* "user:password" (user may be empty); a userinfo without ':' is a password, as redis-cli. */
static int parse_userinfo(const char *s, size_t n, oks_redis_url *u, oks_err *err)
{
    const char *colon = memchr(s, ':', n);
    const char *pw = colon ? colon + 1 : s;
    size_t user_n = colon ? (size_t)(colon - s) : 0;
    if (url_decode(s, user_n, u->user, sizeof(u->user), "user", err) != 0 ||
        url_decode(pw, n - (size_t)(pw - s), u->password, sizeof(u->password), "password", err) !=
            0)
        return -1;
    u->has_password = true;
    return 0;
}

/* "host[:port]" or "[v6][:port]". */
static int parse_hostport(const char *s, size_t n, oks_redis_url *u, oks_err *err)
{
    const char *host = s, *port = NULL;
    size_t host_n = n;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return oks_err_set(err, OKS_E_INVALID, "redis url: unclosed '[' in host");
        host = s + 1;
        host_n = (size_t)(close - host);
        if (close + 1 < s + n) {
            if (close[1] != ':')
                return oks_err_set(err, OKS_E_INVALID, "redis url: junk after ']'");
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon) {
            host_n = (size_t)(colon - s);
            port = colon + 1;
        }
    }
    if (host_n == 0)
        return oks_err_set(err, OKS_E_INVALID, "redis url: empty host");
    if (host_n >= sizeof(u->host))
        return oks_err_set(err, OKS_E_INVALID, "redis url: host too long");
    for (size_t i = 0; i < host_n; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':'))
            return oks_err_set(err, OKS_E_INVALID, "redis url: bad character '%c' in host",
                               isprint(c) ? c : '?');
    }
    memcpy(u->host, host, host_n);
    u->host[host_n] = '\0';
    if (port && !parse_num(port, (size_t)(s + n - port), 1, 65535, &u->port))
        return oks_err_set(err, OKS_E_INVALID, "redis url: port must be a number in 1..65535");
    return 0;
}

int oks_redis_url_parse(const char *url, oks_redis_url *out, oks_err *err)
{
    static const char scheme[] = "redis://";
    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (!url || !*url)
        return oks_err_set(err, OKS_E_INVALID, "redis url is empty");
    size_t len = strnlen(url, URL_MAX + 1);
    if (len > URL_MAX)
        return oks_err_set(err, OKS_E_INVALID, "redis url longer than %d bytes", URL_MAX);
    if (strncmp(url, "rediss://", 9) == 0)
        return oks_err_set(err, OKS_E_INVALID,
                           "redis url: rediss:// (TLS) is not supported by this build");
    if (strncmp(url, scheme, sizeof(scheme) - 1) != 0)
        return oks_err_set(err, OKS_E_INVALID, "redis url must start with redis://");
    const char *p = url + sizeof(scheme) - 1, *end = url + len;
    if (strpbrk(p, "?#"))
        return oks_err_set(err, OKS_E_INVALID, "redis url: query/fragment not supported");
    /* The password may contain '@' or '/' only percent-encoded; the last '@' ends it. */
    const char *at = strrchr(p, '@');
    if (at) {
        if (parse_userinfo(p, (size_t)(at - p), out, err) != 0)
            return -1;
        p = at + 1;
    }
    const char *slash = memchr(p, '/', (size_t)(end - p));
    if (parse_hostport(p, (size_t)((slash ? slash : end) - p), out, err) != 0)
        return -1;
    if (slash && slash + 1 < end &&
        !parse_num(slash + 1, (size_t)(end - slash - 1), 0, 100000, &out->db))
        return oks_err_set(err, OKS_E_INVALID, "redis url: database must be a number in 0..100000");
    return 0;
}
